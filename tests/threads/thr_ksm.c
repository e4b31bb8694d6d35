/*
 * thr_ksm.c - KSM's races, threads of two processes on host threads:
 *
 *   ksmd_races_writers     ksmd as a thread (MML_KSMD, run 1, a batch
 *                          every millisecond) and mml_ksm_scan from
 *                          another thread merge pages whose bytes
 *                          writers keep changing among a few values (so
 *                          that many are identical at any time); another
 *                          thread toggles MADV_UNMERGEABLE/MERGEABLE, and
 *                          one reclaims to swap: every byte a writer reads
 *                          is the last it wrote, whatever page it shares
 *                          meanwhile; every invariant at the end
 *   ksmd_races_fork_exit   a process forks children that write and exit
 *                          while ksmd merges them with the parent
 *
 * Each writer owns its pages and keeps a host shadow of them.  Bounded
 * iterations, fixed seeds, no timing assertions.
 */
#define _GNU_SOURCE
#include "../harness.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef MADV_MERGEABLE
#define MADV_MERGEABLE		12
#define MADV_UNMERGEABLE	13
#endif

#define KSM		"/sys/kernel/mm/ksm/"
#define NWRITERS	3
#define PAGES		24		/* each writer's */
#define ITERS		600
#define BASE		0x40000000ULL

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

struct writer {
	struct mml_task *t;
	uint64_t base;
	uint8_t shadow[PAGES];
	uint64_t seed;
};

static void *writer_thread(void *arg)
{
	struct writer *w = arg;
	uint8_t *buf = malloc(H_PAGE);

	for (int i = 0; buf && i < ITERS; i++) {
		uint64_t r = rnd(&w->seed), p = r % PAGES;
		struct timespec pause = { 0, 200 * 1000 };

		/* Let the scans see pages stay the same for a while: merges, then COWs. */
		nanosleep(&pause, NULL);
		uint8_t v = (uint8_t)(1 + (r >> 20) % 3);

		if ((r >> 8) & 1) {
			memset(buf, v, H_PAGE);
			if (!CHECK_EQ(mml_write(w->t, w->base + p * H_PAGE, buf, H_PAGE), 0))
				break;
			w->shadow[p] = v;
		} else {
			if (!CHECK_EQ(mml_read(w->t, w->base + p * H_PAGE, buf, H_PAGE), 0))
				break;
			for (uint64_t b = 0; b < H_PAGE; b += 512)
				if (!CHECKF(buf[b] == w->shadow[p], "page %llu byte %llu is %u, wrote %u",
					    (unsigned long long)p, (unsigned long long)b, buf[b], w->shadow[p]))
					goto out;
		}
	}
out:
	free(buf);
	return NULL;
}

struct churn {
	struct mml_machine *m;
	struct mml_task *t;
	uint64_t base, len;
	int stop;		/* atomic: the writers are done */
};

static void *scanner_thread(void *arg)
{
	struct churn *c = arg;

	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE))
		CHECK(mml_ksm_scan(c->m, 16) >= 0);
	return NULL;
}

static void *toggler_thread(void *arg)
{
	struct churn *c = arg;
	uint64_t s = 7;

	for (int i = 0; !__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE) && i < 200; i++) {
		uint64_t off = (rnd(&s) % (c->len / H_PAGE)) * H_PAGE;
		int r = mml_madvise(c->t, c->base + off, H_PAGE * 2 <= c->len - off ? 2 * H_PAGE : H_PAGE,
				    i & 1 ? MADV_MERGEABLE : MADV_UNMERGEABLE);

		CHECKF(r == 0 || r == -ENOMEM || r == -EAGAIN, "madvise: %d", r);
		if (i % 16 == 0)
			mml_reclaim(c->m, 8);
	}
	return NULL;
}

static void fill_and_advise(struct writer *w, uint64_t seed)
{
	uint8_t buf[H_PAGE];

	w->seed = seed;
	for (int p = 0; p < PAGES; p++) {
		w->shadow[p] = (uint8_t)(1 + p % 3);
		memset(buf, w->shadow[p], sizeof(buf));
		CHECK_EQ(mml_write(w->t, w->base + (uint64_t)p * H_PAGE, buf, H_PAGE), 0);
	}
}

TEST(ksmd_races_writers)
{
	struct mml_machine *m = mml_machine_new(&(struct mml_config){ .ram_bytes = 16ULL << 20, .flags = MML_KSMD });
	struct writer w[NWRITERS];
	struct churn c = { 0 };
	pthread_t th[NWRITERS + 2];
	struct mml_task *a, *b;

	REQUIRE(m);
	REQUIRE(mml_swapon(m, NULL, 8 << 20, 0) >= 0);
	REQUIRE_EQ(mml_spawn(m, &a), 0);
	REQUIRE_EQ(mml_spawn(m, &b), 0);
	REQUIRE_EQ(mml_mmap(a, BASE, 2 * PAGES * H_PAGE, H_RW, H_ANON | MAP_FIXED, -1, 0), (long)BASE);
	REQUIRE_EQ(mml_mmap(b, BASE, PAGES * H_PAGE, H_RW, H_ANON | MAP_FIXED, -1, 0), (long)BASE);
	REQUIRE_EQ(mml_thread_new(a, &w[1].t), 0);
	w[0].t = a;
	w[0].base = BASE;
	w[1].base = BASE + PAGES * H_PAGE;
	w[2].t = b;
	w[2].base = BASE;
	for (int i = 0; i < NWRITERS; i++)
		fill_and_advise(&w[i], 0x1234567ULL + (uint64_t)i);
	CHECK_EQ(mml_madvise(a, BASE, 2 * PAGES * H_PAGE, MADV_MERGEABLE), 0);
	CHECK_EQ(mml_madvise(b, BASE, PAGES * H_PAGE, MADV_MERGEABLE), 0);
	CHECK_EQ(mml_sys_write(m, KSM "sleep_millisecs", "1"), 0);
	CHECK_EQ(mml_sys_write(m, KSM "pages_to_scan", "32"), 0);
	CHECK_EQ(mml_sys_write(m, KSM "run", "1"), 0);
	c.m = m;
	c.t = a;
	c.base = BASE;
	c.len = 2 * PAGES * H_PAGE;
	for (int i = 0; i < NWRITERS; i++)
		pthread_create(&th[i], NULL, writer_thread, &w[i]);
	pthread_create(&th[NWRITERS], NULL, scanner_thread, &c);
	pthread_create(&th[NWRITERS + 1], NULL, toggler_thread, &c);
	for (int i = 0; i < NWRITERS; i++)
		pthread_join(th[i], NULL);
	__atomic_store_n(&c.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th[NWRITERS], NULL);
	pthread_join(th[NWRITERS + 1], NULL);
	CHECK_EQ(mml_sys_write(m, KSM "run", "0"), 0);
	for (int i = 0; i < NWRITERS; i++)
		for (int p = 0; p < PAGES; p++) {
			uint8_t v = 0;

			CHECK_EQ(mml_read(w[i].t, w[i].base + (uint64_t)p * H_PAGE + 100, &v, 1), 0);
			CHECKF(v == w[i].shadow[p], "writer %d page %d: %u, wrote %u", i, p, v, w[i].shadow[p]);
		}
	{
		char buf[32];

		/* The scans ran and merged something, or the test proved nothing. */
		CHECK(mml_sys_read(m, KSM "full_scans", buf, sizeof(buf)) > 0 && atol(buf) > 0);
		CHECK(mml_vmstat(m, "cow_ksm") > 0);
	}
	CHECK_EQ(mml_sys_write(m, KSM "run", "2"), 0);
	CHECK_EQ(mml_report_count(m), 0);
	CHECK_EQ(mml_check(m), 0);
	CHECK_EQ(mml_machine_free(m), 0);
}

struct forker {
	struct mml_task *t;
};

static void *forker_thread(void *arg)
{
	struct forker *f = arg;
	uint8_t buf[H_PAGE];

	for (int i = 0; i < 40; i++) {
		struct mml_task *child;

		if (!CHECK_EQ(mml_fork(f->t, &child), 0))
			break;
		memset(buf, 1 + i % 2, sizeof(buf));
		CHECK_EQ(mml_write(child, BASE + (uint64_t)(i % PAGES) * H_PAGE, buf, H_PAGE), 0);
		CHECK_EQ(mml_read(child, BASE, buf, 1), 0);
		CHECK_EQ(mml_exit(child), 0);
	}
	return NULL;
}

TEST(ksmd_races_fork_exit)
{
	struct mml_machine *m = mml_machine_new(&(struct mml_config){ .ram_bytes = 16ULL << 20, .flags = MML_KSMD });
	struct writer w = { 0 };
	struct forker f = { 0 };
	pthread_t th[2];

	REQUIRE(m);
	REQUIRE_EQ(mml_spawn(m, &w.t), 0);
	REQUIRE_EQ(mml_mmap(w.t, BASE, PAGES * H_PAGE, H_RW, H_ANON | MAP_FIXED, -1, 0), (long)BASE);
	w.base = BASE;
	fill_and_advise(&w, 99);
	CHECK_EQ(mml_prctl(w.t, 67, 1), 0);	/* PR_SET_MEMORY_MERGE: children inherit it */
	CHECK_EQ(mml_sys_write(m, KSM "sleep_millisecs", "1"), 0);
	CHECK_EQ(mml_sys_write(m, KSM "run", "1"), 0);
	REQUIRE_EQ(mml_thread_new(w.t, &f.t), 0);
	pthread_create(&th[0], NULL, writer_thread, &w);
	pthread_create(&th[1], NULL, forker_thread, &f);
	pthread_join(th[0], NULL);
	pthread_join(th[1], NULL);
	CHECK_EQ(mml_sys_write(m, KSM "run", "0"), 0);
	CHECK_EQ(mml_report_count(m), 0);
	CHECK_EQ(mml_check(m), 0);
	CHECK_EQ(mml_machine_free(m), 0);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
