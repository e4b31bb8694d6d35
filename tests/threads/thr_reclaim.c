/*
 * thr_reclaim.c - background reclaim and the OOM killer against running
 * processes.
 *
 * kswapd: processes on their own host threads write and read back twice
 * the RAM, through swap, while kswapd reclaims behind their backs; every
 * byte must come back.  And so while another process locks and unlocks
 * its memory, a third at a time.
 *
 * OOM: with no swap, processes on their own threads each grow until memory
 * runs out; the OOM killer chooses some of them, possibly while one of
 * their threads holds the mmap_lock.  A killed process's operations return
 * -EINTR; the survivors' data is intact; nothing leaks.
 *
 * Bounded work, fixed data, no timing assertions.
 */
#include "../harness.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NPROCS	3

struct worker {
	struct mml_task *t;
	uint64_t base, len;
	uint8_t byte;
	int killed;	/* the process was chosen by the OOM killer */
};

/* Write the whole region a page at a time, then read every page back. */
static void *write_read(void *arg)
{
	struct worker *w = arg;
	uint8_t page[4096], want[4096];

	memset(want, w->byte, sizeof(want));
	for (uint64_t off = 0; off < w->len; off += sizeof(page)) {
		int ret = mml_write(w->t, w->base + off, want, sizeof(want));

		if (ret == -EINTR && mml_task_killed(w->t)) {
			w->killed = 1;
			return NULL;
		}
		if (!CHECK_EQ(ret, 0))
			return NULL;
	}
	for (uint64_t off = 0; off < w->len; off += sizeof(page)) {
		int ret = mml_read(w->t, w->base + off, page, sizeof(page));

		if (ret == -EINTR && mml_task_killed(w->t)) {
			w->killed = 1;
			return NULL;
		}
		if (!CHECK_EQ(ret, 0) || !CHECK(!memcmp(page, want, sizeof(page))))
			return NULL;
	}
	return NULL;
}

static void run_workers(struct mml_machine *m, struct worker *w, uint64_t len)
{
	pthread_t th[NPROCS];

	for (int i = 0; i < NPROCS; i++) {
		REQUIRE_EQ(mml_spawn(m, &w[i].t), 0);
		w[i].len = len;
		w[i].byte = (uint8_t)(0x40 + i);
		w[i].base = (uint64_t)mml_mmap(w[i].t, 0, len, H_RW, H_ANON, -1, 0);
		REQUIRE(w[i].base < (1ULL << 47));
	}
	for (int i = 0; i < NPROCS; i++)
		pthread_create(&th[i], NULL, write_read, &w[i]);
	for (int i = 0; i < NPROCS; i++)
		pthread_join(th[i], NULL);
}

TEST(thr_kswapd_keeps_every_byte)
{
	struct mml_machine *m = mml_machine_new(&(struct mml_config){
		.ram_bytes = 4ULL << 20, .flags = MML_KSWAPD | MML_QUIET });
	struct worker w[NPROCS] = { 0 };

	REQUIRE(m);
	REQUIRE(mml_swapon(m, NULL, 16ULL << 20, -1) >= 0);
	run_workers(m, w, 3ULL << 20);	/* 9M of data in 4M of RAM */
	for (int i = 0; i < NPROCS; i++) {
		CHECK_EQ(w[i].killed, 0);	/* swap had room: nobody is killed */
		CHECK_EQ(mml_exit(w[i].t), 0);
	}
	CHECK(mml_vmstat(m, "pswpout") > 0);
	CHECK_EQ(mml_vmstat(m, "oom_kill"), 0);
	CHECK_EQ(mml_check(m), 0);
	CHECK_EQ(mml_machine_free(m), 0);
}

/*
 * Lock a third of the region, read it back, unlock it, the next third,
 * and so on: mlock's walk, populate and munlock run while kswapd's rmap
 * walks meet the same folios (and mlock the ones a locked VMA maps).
 */
static void *lock_churn(void *arg)
{
	struct worker *w = arg;
	uint64_t third = w->len / 3;
	uint8_t page[4096];

	for (int round = 0; round < 6; round++) {
		uint64_t start = w->base + (uint64_t)(round % 3) * third;

		if (!CHECK_EQ(mml_mlock(w->t, start, third), 0))
			return NULL;
		for (uint64_t off = 0; off < third; off += sizeof(page))
			if (!CHECK_EQ(mml_read(w->t, start + off, page, sizeof(page)), 0) ||
			    !CHECK_EQ(page[0], w->byte) || !CHECK_EQ(page[sizeof(page) - 1], w->byte))
				return NULL;
		if (!CHECK_EQ(mml_munlock(w->t, start, third), 0))
			return NULL;
	}
	return NULL;
}

TEST(thr_kswapd_and_mlock_keep_every_byte)
{
	struct mml_machine *m = mml_machine_new(&(struct mml_config){
		.ram_bytes = 4ULL << 20, .flags = MML_KSWAPD | MML_QUIET });
	struct worker w[NPROCS] = { 0 }, lk = { 0 };
	pthread_t th;

	REQUIRE(m);
	REQUIRE(mml_swapon(m, NULL, 16ULL << 20, -1) >= 0);
	REQUIRE_EQ(mml_spawn(m, &lk.t), 0);
	lk.len = 1536ULL << 10;
	lk.byte = 0x3f;
	lk.base = (uint64_t)mml_mmap(lk.t, 0, lk.len, H_RW, H_ANON, -1, 0);
	REQUIRE(lk.base < (1ULL << 47));
	REQUIRE(h_fill(lk.t, lk.base, lk.len, lk.byte));
	pthread_create(&th, NULL, lock_churn, &lk);
	run_workers(m, w, 2ULL << 20);	/* 6M more in 4M of RAM, while a third of 1.5M is locked */
	pthread_join(th, NULL);
	for (int i = 0; i < NPROCS; i++) {
		CHECK_EQ(w[i].killed, 0);
		CHECK_EQ(mml_exit(w[i].t), 0);
	}
	CHECK_EQ(mml_meminfo(m, "Mlocked"), 0);
	CHECK_EQ(mml_exit(lk.t), 0);
	CHECK_EQ(mml_check(m), 0);
	CHECK_EQ(mml_machine_free(m), 0);
}

TEST(thr_oom_kill_under_contention)
{
	struct mml_machine *m = mml_machine_new(&(struct mml_config){
		.ram_bytes = 4ULL << 20, .flags = MML_KSWAPD | MML_QUIET });
	struct worker w[NPROCS] = { 0 };
	int killed = 0;

	REQUIRE(m);
	run_workers(m, w, 2ULL << 20);	/* 6M wanted of 4M, no swap */
	for (int i = 0; i < NPROCS; i++) {
		/* A process may also be chosen after its thread finished: it is the largest. */
		killed += !!mml_task_killed(w[i].t);
		if (w[i].killed)
			CHECK_EQ(mml_task_killed(w[i].t), 9);
		if (mml_task_killed(w[i].t))
			CHECK_EQ(mml_write(w[i].t, w[i].base, "x", 1), -EINTR);
		CHECK_EQ(mml_exit(w[i].t), 0);
	}
	CHECK(killed >= 1);
	CHECK(killed < NPROCS);		/* the survivors read all their bytes back */
	CHECK_EQ(mml_vmstat(m, "oom_kill"), killed);
	CHECK_EQ(mml_check(m), 0);
	CHECK_EQ(mml_machine_free(m), 0);
}

/* A second thread of the process keeps taking its mmap_lock for write. */
struct churner {
	struct mml_task *t;
	int *stop;
};

static void *churn(void *arg)
{
	struct churner *c = arg;

	for (int i = 0; i < 2000 && !__atomic_load_n(c->stop, __ATOMIC_ACQUIRE); i++) {
		long a = mml_mmap(c->t, 0, 8192, H_RW, H_ANON, -1, 0);

		if (a == -EINTR)
			break;	/* killed */
		if (a >= 0)
			CHECK(mml_munmap(c->t, (uint64_t)a, 8192) == 0 || mml_task_killed(c->t));
	}
	return NULL;
}

/*
 * The victim's own threads hold its mmap_lock (for write) while others run
 * memory out and swapoff brings pages back: no allocator may wait forever
 * for a reap only a blocked thread could do (the OOM killer gives up and
 * chooses again), and no victim may be forgotten when it exits meanwhile.
 */
TEST(thr_oom_victim_busy_with_its_lock)
{
	struct mml_machine *m = mml_machine_new(&(struct mml_config){
		.ram_bytes = 4ULL << 20, .flags = MML_QUIET });
	struct worker w[NPROCS] = { 0 };
	struct churner ch[NPROCS];
	pthread_t th[NPROCS];
	int stop = 0, swap, ret;

	REQUIRE(m);
	swap = mml_swapon(m, NULL, 2ULL << 20, -1);
	REQUIRE(swap >= 0);
	run_workers(m, w, 2ULL << 20);	/* 6M wanted of 4M + 2M swap: tight */
	for (int i = 0; i < NPROCS; i++) {
		ch[i].stop = &stop;
		if (mml_task_killed(w[i].t) || mml_thread_new(w[i].t, &ch[i].t))
			ch[i].t = NULL;
		else
			pthread_create(&th[i], NULL, churn, &ch[i]);
	}
	/* Bring every page back into RAM that cannot hold them: kills, or ENOMEM. */
	ret = mml_swapoff(m, swap);
	CHECK(ret == 0 || ret == -ENOMEM);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < NPROCS; i++) {
		if (ch[i].t) {
			pthread_join(th[i], NULL);
			CHECK_EQ(mml_exit(ch[i].t), 0);
		}
		CHECK_EQ(mml_exit(w[i].t), 0);
	}
	CHECK_EQ(mml_check(m), 0);
	CHECK_EQ(mml_machine_free(m), 0);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
