/*
 * test_oom.c - the OOM killer through the public API: the largest process
 * is chosen, every operation of its threads fails with EINTR from then on
 * and changes nothing, its memory comes back, pins keep their pages, and
 * the other processes keep every byte.
 */
#include <string.h>

#include "../harness.h"

#define BASE	0x100000000ULL
#define RAM	(2ULL << 20)

/* A process with len bytes of written memory at BASE. */
static struct mml_task *grown(struct mml_machine *m, uint64_t len, int byte)
{
	struct mml_task *t = h_spawn(m);

	if (!t || !h_map(t, BASE, len, H_RW, H_ANON | MAP_FIXED) || !h_fill(t, BASE, len, byte))
		return NULL;
	return t;
}

TEST(oom_kills_the_largest_and_spares_the_rest)
{
	struct mml_machine *m = h_machine_flags(RAM, MML_QUIET);
	struct mml_task *small = grown(m, 64 << 10, 0x11);
	struct mml_task *big = grown(m, 1 << 20, 0x22);
	struct mml_task *c = h_spawn(m);
	long free_before;

	REQUIRE(small && big && c);
	REQUIRE(h_map(c, BASE, 1 << 20, H_RW, H_ANON | MAP_FIXED));
	free_before = mml_meminfo(m, "MemFree");
	CHECK(h_fill(c, BASE, 1 << 20, 0x33));
	CHECK_EQ(mml_vmstat(m, "oom_kill"), 1);
	CHECK_EQ(mml_task_killed(big), 9);
	CHECK_EQ(mml_task_killed(c), 0);
	CHECK_EQ(mml_task_killed(small), 0);
	CHECK(h_expect(c, BASE, 1 << 20, 0x33));
	CHECK(h_expect(small, BASE, 64 << 10, 0x11));
	/* Reaped at once: its pages are free, not merely unmapped later. */
	CHECK(mml_meminfo(m, "MemFree") > free_before - 1024);
	CHECK_EQ(mml_exit(big), 0);
	H_END(m);
}

TEST(oom_victim_operations_fail_with_eintr)
{
	struct mml_machine *m = h_machine_flags(RAM, MML_QUIET);
	struct mml_task *hog = h_spawn(m), *t2 = NULL, *child = NULL;
	struct mml_pin *pin = NULL;
	uint8_t b = 0;
	long anon;

	REQUIRE(hog);
	REQUIRE_EQ(mml_thread_new(hog, &t2), 0);
	/* More than RAM and swap: the default overcommit guess would refuse the mapping itself. */
	REQUIRE_EQ(mml_sys_write(m, "/proc/sys/vm/overcommit_memory", "1"), 0);
	REQUIRE(h_map(hog, BASE, 4 << 20, H_RW, H_ANON | MAP_FIXED));
	/* More than RAM: it is the largest, so it is the one chosen. */
	CHECK_EQ(mml_write(hog, BASE, (uint8_t[4096]){ 0 }, 4096), 0);
	for (uint64_t off = 0; off < (4 << 20) && !mml_task_killed(hog); off += 4096) {
		int ret = mml_write(hog, BASE + off, "x", 1);

		CHECK(ret == 0 || ret == -EINTR);
	}
	REQUIRE_EQ(mml_task_killed(hog), 9);
	CHECK_EQ(mml_task_killed(t2), 9);	/* every thread of the process */
	anon = mml_meminfo(m, "AnonPages");
	CHECK_EQ(anon, 0);			/* its memory is back */
	CHECK_EQ(mml_read(hog, BASE, &b, 1), -EINTR);
	CHECK_EQ(mml_write(t2, BASE, &b, 1), -EINTR);
	CHECK_EQ(mml_mmap(hog, 0, 4096, H_RW, H_ANON, -1, 0), -EINTR);
	CHECK_EQ(mml_munmap(hog, BASE, 4096), -EINTR);
	CHECK_EQ(mml_mprotect(hog, BASE, 4096, PROT_READ), -EINTR);
	CHECK_EQ(mml_madvise(hog, BASE, 4096, MADV_DONTNEED), -EINTR);
	CHECK_EQ(mml_pin_user_pages(hog, BASE, 1, MML_FOLL_WRITE, &pin), -EINTR);
	CHECK(pin == NULL);
	CHECK_EQ(mml_fork(hog, &child), -EINTR);
	CHECK(child == NULL);
	CHECK_EQ(mml_thread_new(hog, &child), -EINTR);
	CHECK_EQ(mml_exit(t2), 0);
	CHECK_EQ(mml_exit(hog), 0);
	H_END(m);
}

TEST(oom_reaped_pin_keeps_its_page)
{
	struct mml_machine *m = h_machine_flags(RAM, MML_QUIET);
	struct mml_task *victim = grown(m, 1 << 20, 0x44);
	struct mml_task *c = h_spawn(m);
	struct mml_pin *pin;
	uint8_t got[64], want[64];

	REQUIRE(victim && c);
	REQUIRE_EQ(mml_pin_user_pages(victim, BASE, 1, MML_FOLL_WRITE | MML_FOLL_LONGTERM, &pin), 1);
	REQUIRE(h_map(c, BASE, 1 << 20, H_RW, H_ANON | MAP_FIXED));
	CHECK(h_fill(c, BASE, 1 << 20, 0x55));
	CHECK_EQ(mml_task_killed(victim), 9);
	/* The device still holds the pinned page, with its bytes. */
	memset(want, 0x44, sizeof(want));
	CHECK_EQ(mml_dma_read(pin, 0, got, sizeof(got)), 0);
	CHECK(!memcmp(got, want, sizeof(got)));
	mml_unpin(pin);
	CHECK_EQ(mml_exit(victim), 0);
	CHECK(h_expect(c, BASE, 1 << 20, 0x55));
	H_END(m);
}

TEST(oom_not_while_swap_has_room)
{
	struct mml_machine *m = h_machine_flags(RAM, MML_QUIET);
	struct mml_task *t = h_spawn(m);

	REQUIRE(t);
	REQUIRE(mml_swapon(m, NULL, 4 << 20, -1) >= 0);
	REQUIRE(h_map(t, BASE, 3 << 20, H_RW, H_ANON | MAP_FIXED));
	CHECK(h_fill(t, BASE, 3 << 20, 0x66));
	CHECK(mml_vmstat(m, "pswpout") > 0);
	CHECK_EQ(mml_vmstat(m, "oom_kill"), 0);	/* swap had room */
	CHECK_EQ(mml_exit(t), 0);
	CHECK_EQ(mml_swapoff(m, 0), 0);	/* nothing left to bring back */
	H_END(m);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
