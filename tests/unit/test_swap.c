/*
 * test_swap.c - swap devices, the swap cache, reclaim and MADV_FREE /
 * MADV_PAGEOUT through the public API: the data always comes back, slots
 * are counted and given back, pinned pages stay, and a lazily freed page
 * is dropped only if nobody wrote it since (seed 003).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../harness.h"

#define BASE	0x100000000ULL
#define NPAGES	8

static struct mml_task *setup(struct mml_machine **mp, const char *path)
{
	struct mml_machine *m = h_machine(16 << 20);
	struct mml_task *t = m ? h_spawn(m) : NULL;

	*mp = m;
	if (!t || mml_swapon(m, path, 4 << 20, -1) < 0)
		return NULL;
	if (!h_map(t, BASE, NPAGES * H_PAGE, H_RW, H_ANON | MAP_FIXED))
		return NULL;
	for (int i = 0; i < NPAGES; i++)
		h_fill(t, BASE + i * H_PAGE, H_PAGE, 0x10 + i);
	return t;
}

TEST(pageout_then_fault_back_from_memory_and_file)
{
	char path[] = "/tmp/mmlab-swap-test.XXXXXX";
	int fd = mkstemp(path);

	for (int file = 0; file < 2; file++) {
		struct mml_machine *m;
		struct mml_task *t = setup(&m, file ? path : NULL);
		long free0;

		REQUIRE(t);
		free0 = mml_meminfo(m, "SwapFree");
		CHECK_EQ(mml_meminfo(m, "SwapTotal"), (4 << 10) - 4);
		CHECK_EQ(mml_madvise(t, BASE, NPAGES * H_PAGE, MADV_PAGEOUT), 0);
		for (int i = 0; i < NPAGES; i++)
			CHECK(h_pagemap(t, BASE + i * H_PAGE) & MML_PM_SWAP);
		CHECK_EQ(mml_meminfo(m, "SwapFree"), free0 - NPAGES * 4);
		CHECK_EQ(mml_vmstat(m, "pswpout"), NPAGES);
		CHECK_EQ(mml_meminfo(m, "AnonPages"), 0);
		for (int i = 0; i < NPAGES; i++)
			CHECK(h_expect(t, BASE + i * H_PAGE, H_PAGE, 0x10 + i));
		CHECK_EQ(mml_vmstat(m, "pswpin"), NPAGES);
		/* Swapped in exclusive: a write needs no copy. */
		CHECK(h_pagemap(t, BASE) & MML_PM_MMAP_EXCLUSIVE);
		CHECK(h_fill(t, BASE, 1, 0x77));
		CHECK(h_expect(t, BASE + 1, H_PAGE - 1, 0x10));
		CHECK_EQ(mml_munmap(t, BASE, NPAGES * H_PAGE), 0);
		CHECK_EQ(mml_meminfo(m, "SwapFree"), free0);
		H_END(m);
	}
	if (fd >= 0)
		close(fd);
	unlink(path);
}

TEST(fork_shares_swap_entries_and_cow_still_holds)
{
	struct mml_machine *m;
	struct mml_task *t = setup(&m, NULL), *c;

	REQUIRE(t);
	CHECK_EQ(mml_madvise(t, BASE, NPAGES * H_PAGE, MADV_PAGEOUT), 0);
	c = h_fork(t);
	REQUIRE(c);
	CHECK(h_pagemap(c, BASE) & MML_PM_SWAP);
	CHECK(h_fill(c, BASE, H_PAGE, 0x99));
	CHECK(h_expect(t, BASE, H_PAGE, 0x10));
	CHECK(h_expect(c, BASE + H_PAGE, H_PAGE, 0x11));
	CHECK(h_expect(t, BASE + H_PAGE, H_PAGE, 0x11));
	CHECK_EQ(mml_exit(c), 0);
	CHECK(h_expect(t, BASE + 2 * H_PAGE, H_PAGE, 0x12));
	H_END(m);
}

TEST(swapoff_brings_every_page_back)
{
	struct mml_machine *m;
	struct mml_task *t = setup(&m, NULL), *c;
	int id;

	REQUIRE(t);
	c = h_fork(t);
	REQUIRE(c);
	CHECK_EQ(mml_madvise(t, BASE, NPAGES * H_PAGE, MADV_PAGEOUT), 0);
	CHECK_EQ(mml_madvise(c, BASE, NPAGES * H_PAGE, MADV_PAGEOUT), 0);
	/* Shared after fork: pageout leaves pages mapped by both alone. */
	CHECK(h_pagemap(t, BASE) & MML_PM_PRESENT);
	CHECK_EQ(mml_exit(c), 0);
	CHECK_EQ(mml_madvise(t, BASE, NPAGES * H_PAGE, MADV_PAGEOUT), 0);
	CHECK(h_pagemap(t, BASE) & MML_PM_SWAP);
	id = 0;
	CHECK_EQ(mml_swapoff(m, id), 0);
	CHECK_EQ(mml_meminfo(m, "SwapTotal"), 0);
	for (int i = 0; i < NPAGES; i++) {
		CHECK(h_pagemap(t, BASE + i * H_PAGE) & MML_PM_PRESENT);
		CHECK(h_expect(t, BASE + i * H_PAGE, H_PAGE, 0x10 + i));
	}
	CHECK_EQ(mml_swapoff(m, id), -EINVAL);
	H_END(m);
}

/* ---- races under the deterministic scheduler ---------------------------------------- */

/* A deterministic machine with a swap device and a process whose NPAGES pages are swapped out. */
static struct mml_machine *det_swapped(uint64_t seed, const char *strategy, struct mml_task **proc)
{
	struct mml_config cfg = { .ram_bytes = 4 << 20, .seed = seed, .flags = MML_DETERMINISTIC | MML_QUIET };
	struct mml_machine *m = mml_machine_new(&cfg);

	if (!m || mml_sched_set(m, strategy, 3) || mml_swapon(m, NULL, 1 << 20, -1) || mml_spawn(m, proc) ||
	    !h_map(*proc, BASE, NPAGES * H_PAGE, H_RW, H_ANON | MAP_FIXED))
		return NULL;
	for (int i = 0; i < NPAGES; i++)
		h_fill(*proc, BASE + i * H_PAGE, H_PAGE, 0x10 + i);
	if (mml_madvise(*proc, BASE, NPAGES * H_PAGE, MADV_PAGEOUT))
		return NULL;
	return m;
}

struct swap_race {
	struct mml_machine *m;
	struct mml_task *child;
	int swapoff, fork, read;
};

static void swapoff_fn(struct mml_task *t, void *arg)
{
	struct swap_race *r = arg;

	(void)t;
	r->swapoff = mml_swapoff(r->m, 0);
}

static void fork_fn(struct mml_task *t, void *arg)
{
	struct swap_race *r = arg;

	r->fork = mml_fork(t, &r->child);
}

static void read_fn(struct mml_task *t, void *arg)
{
	struct swap_race *r = arg;

	for (int i = 0; i < NPAGES && !r->read; i++) {
		uint8_t v = 0;

		r->read = h_peek(t, BASE + i * H_PAGE, &v);
		if (!r->read && v != 0x10 + i)
			r->read = -EIO;
	}
}

/*
 * A fork while swapoff walks the address spaces copies swap ptes into a
 * child the walk never held: try_to_unuse goes round again, as Linux's
 * does, and swapoff succeeds (one pass left the child's slots in use and
 * failed with ENOMEM in seeds 2, 6 and 18 here).
 */
TEST(swapoff_racing_fork_unuses_the_child_too)
{
	for (uint64_t seed = 1; seed <= 20; seed++) {
		struct mml_task *tasks[2];
		struct mml_machine *m = det_swapped(seed, "random", &tasks[1]);
		struct swap_race r = { .m = m };
		mml_thread_fn fns[2] = { swapoff_fn, fork_fn };
		void *args[2] = { &r, &r };

		REQUIRE(m);
		REQUIRE_EQ(mml_spawn(m, &tasks[0]), 0);
		REQUIRE_EQ(mml_sched_run(m, 2, tasks, fns, args), 0);
		CHECKF(r.swapoff == 0, "seed %llu: swapoff returned %d", (unsigned long long)seed, r.swapoff);
		REQUIRE_EQ(r.fork, 0);
		for (int i = 0; i < NPAGES; i++) {
			CHECK(h_pagemap(r.child, BASE + i * H_PAGE) & MML_PM_PRESENT);
			CHECK(h_expect(r.child, BASE + i * H_PAGE, H_PAGE, 0x10 + i));
			CHECK(h_expect(tasks[1], BASE + i * H_PAGE, H_PAGE, 0x10 + i));
		}
		CHECK_EQ(mml_machine_free(m), 0);
	}
}

/*
 * A fault that read a swap pte just before swapoff brought the page back
 * keeps the device until it is done (get_swap_device), and finds the pte
 * changed: it faults again.  Without that hold swapoff freed the device
 * under it (PCT seed 43 here: the fault's swapcache_prepare waited for
 * the freed device's lock for good; mmlab stress swapoff-fault, PCT seed
 * 52: the entry taken for a bad one).
 */
TEST(swap_fault_racing_swapoff_keeps_the_device)
{
	for (uint64_t seed = 1; seed <= 80; seed++) {
		struct mml_task *tasks[2];
		struct mml_machine *m = det_swapped(seed, "pct", &tasks[1]);
		struct swap_race r = { .m = m };
		mml_thread_fn fns[2] = { swapoff_fn, read_fn };
		void *args[2] = { &r, &r };

		REQUIRE(m);
		REQUIRE_EQ(mml_spawn(m, &tasks[0]), 0);
		REQUIRE_EQ(mml_sched_run(m, 2, tasks, fns, args), 0);
		CHECKF(!r.swapoff && !r.read && !mml_report_count(m), "seed %llu: swapoff %d, read %d, %ld report(s)",
		       (unsigned long long)seed, r.swapoff, r.read, mml_report_count(m));
		CHECK_EQ(mml_machine_free(m), 0);
	}
}

/*
 * Two threads faulting the same swapped pages: one finds the slot taken
 * for the swap cache by the other, whose folio is not there yet, and
 * waits a jiffy before it looks again (msleep), as Linux does.  Retrying
 * at once, PCT let the retrier run for good and the other never (a
 * livelock: seed 10 here).
 */
TEST(swap_faults_on_one_slot_let_each_other_on)
{
	for (uint64_t seed = 1; seed <= 40; seed++) {
		struct mml_task *tasks[2];
		struct mml_machine *m = det_swapped(seed, "pct", &tasks[0]);
		struct swap_race r[2] = { { .m = m }, { .m = m } };
		mml_thread_fn fns[2] = { read_fn, read_fn };
		void *args[2] = { &r[0], &r[1] };
		int ret;

		REQUIRE(m);
		REQUIRE_EQ(mml_thread_new(tasks[0], &tasks[1]), 0);
		ret = mml_sched_run(m, 2, tasks, fns, args);
		CHECKF(!ret && !r[0].read && !r[1].read, "seed %llu: run %d, reads %d %d", (unsigned long long)seed,
		       ret, r[0].read, r[1].read);
		if (ret)
			return;	/* the machine's threads are parked for good */
		CHECK_EQ(mml_machine_free(m), 0);
	}
}

TEST(pinned_pages_are_not_reclaimed)
{
	struct mml_machine *m;
	struct mml_task *t = setup(&m, NULL);
	struct mml_pin *p;

	REQUIRE(t);
	REQUIRE_EQ(mml_pin_user_pages(t, BASE, 1, MML_FOLL_WRITE | MML_FOLL_LONGTERM, &p), 1);
	CHECK_EQ(mml_madvise(t, BASE, NPAGES * H_PAGE, MADV_PAGEOUT), 0);
	CHECK(h_pagemap(t, BASE) & MML_PM_PRESENT);
	CHECK(h_pagemap(t, BASE + H_PAGE) & MML_PM_SWAP);
	CHECK_EQ(mml_dma_write(p, 0, "\x42", 1), 0);
	CHECK(h_expect(t, BASE, 1, 0x42));
	mml_unpin(p);
	H_END(m);
}

TEST(madv_free_discards_only_unwritten_pages)
{
	struct mml_machine *m;
	struct mml_task *t = setup(&m, NULL);
	struct mml_pin *p;

	REQUIRE(t);
	CHECK_EQ(mml_madvise(t, BASE, 3 * H_PAGE, MADV_FREE), 0);
	CHECK_EQ(mml_vmstat(m, "pglazyfree"), 3);
	/* Page 1 written by the CPU, page 2 by a device through a pin. */
	CHECK(h_fill(t, BASE + H_PAGE, 1, 0x61));
	REQUIRE_EQ(mml_pin_user_pages(t, BASE + 2 * H_PAGE, 1, MML_FOLL_WRITE, &p), 1);
	CHECK_EQ(mml_dma_write(p, 0, "\x62", 1), 0);
	mml_unpin(p);
	CHECK_EQ(mml_madvise(t, BASE, 3 * H_PAGE, MADV_PAGEOUT), 0);
	CHECK(h_expect(t, BASE, H_PAGE, 0));		/* dropped */
	CHECK(h_expect(t, BASE + H_PAGE, 1, 0x61));	/* kept: written */
	CHECK(h_expect(t, BASE + H_PAGE + 1, 1, 0x11));
	CHECK(h_expect(t, BASE + 2 * H_PAGE, 1, 0x62));	/* kept: the device wrote it */
	CHECK(h_expect(t, BASE + 2 * H_PAGE + 1, 1, 0x12));
	CHECK(mml_vmstat(m, "pglazyfreed") >= 1);
	H_END(m);
}

TEST(reclaim_under_pressure_keeps_every_byte)
{
	struct mml_machine *m = h_machine(4 << 20);
	struct mml_task *t = m ? h_spawn(m) : NULL;
	uint64_t n = 512;	/* 2 MiB of data in 4 MiB of RAM */

	REQUIRE(t);
	REQUIRE(mml_swapon(m, NULL, 8 << 20, -1) >= 0);
	REQUIRE(h_map(t, BASE, n * H_PAGE, H_RW, H_ANON | MAP_FIXED));
	for (uint64_t i = 0; i < n; i++) {
		uint8_t v = (uint8_t)(i * 7 + 1);

		REQUIRE_EQ(mml_write(t, BASE + i * H_PAGE, &v, 1), 0);
		if (i % 64 == 63)
			CHECK(mml_reclaim(m, 64) >= 0);
	}
	CHECK(mml_vmstat(m, "pswpout") > 0);
	for (uint64_t i = 0; i < n; i++) {
		uint8_t v = 0;

		CHECK_EQ(mml_read(t, BASE + i * H_PAGE, &v, 1), 0);
		if (!CHECK_EQ(v, (uint8_t)(i * 7 + 1)))
			break;
	}
	H_END(m);
}

/* No explicit reclaim: the faults themselves must make room (direct reclaim). */
TEST(working_set_twice_the_ram_by_direct_reclaim)
{
	struct mml_machine *m = h_machine(4 << 20);
	struct mml_task *t = m ? h_spawn(m) : NULL, *c;
	uint64_t n = 2048;	/* 8 MiB of data in 4 MiB of RAM */

	REQUIRE(t);
	REQUIRE(mml_swapon(m, NULL, 16 << 20, -1) >= 0);
	REQUIRE(h_map(t, BASE, n * H_PAGE, H_RW, H_ANON | MAP_FIXED));
	for (uint64_t i = 0; i < n; i++) {
		uint8_t v = (uint8_t)(i * 13 + 5);

		if (!CHECK_EQ(mml_write(t, BASE + i * H_PAGE + (i % 4000), &v, 1), 0))
			break;
	}
	CHECK(mml_vmstat(m, "pgsteal_direct") > 0);
	c = h_fork(t);	/* and a fork of a half-swapped process */
	REQUIRE(c);
	for (uint64_t i = 0; i < n; i++) {
		uint8_t v = 0;

		CHECK_EQ(mml_read(i % 2 ? c : t, BASE + i * H_PAGE + (i % 4000), &v, 1), 0);
		if (!CHECK_EQ(v, (uint8_t)(i * 13 + 5)))
			break;
	}
	CHECK_EQ(mml_exit(c), 0);
	H_END(m);
}

static uint64_t swap_offset_at(struct mml_task *t, uint64_t addr)
{
	return (h_pagemap(t, addr) & MML_PM_PFRAME_MASK) >> MML_PM_SWAP_OFFSET_SHIFT;
}

/*
 * One task's pageout lands in a run of slots of one cluster, written
 * SWAP_CLUSTER_MAX (32) slots at a time: when the first write fails, the
 * whole first run stays dirty in the swap cache (read back with no I/O)
 * and the second goes out.
 */
TEST(pageout_writes_a_run_of_slots_at_once)
{
	enum { N = 64 };
	struct mml_fail fail = { .sites = MML_FAIL_SWAP_IO, .countdown = 1 };
	struct mml_machine *m = h_machine(16 << 20);
	struct mml_task *t = m ? h_spawn(m) : NULL;

	REQUIRE(t);
	REQUIRE(mml_swapon(m, NULL, 4 << 20, -1) >= 0);
	REQUIRE(h_map(t, BASE, N * H_PAGE, H_RW, H_ANON | MAP_FIXED));
	for (int i = 0; i < N; i++)
		h_fill(t, BASE + i * H_PAGE, H_PAGE, 0x10 + i);
	CHECK_EQ(mml_fail_set(m, &fail), 0);
	CHECK_EQ(mml_madvise(t, BASE, N * H_PAGE, MADV_PAGEOUT), 0);
	CHECK_EQ(mml_fail_set(m, NULL), 0);
	CHECK_EQ(mml_vmstat(m, "pswpout"), N / 2);
	CHECK(h_pagemap(t, BASE) & MML_PM_SWAP);
	for (int i = 1; i < N; i++)
		CHECK_EQ(swap_offset_at(t, BASE + i * H_PAGE), swap_offset_at(t, BASE + (i - 1) * H_PAGE) + 1);
	CHECK_EQ(mml_meminfo(m, "SwapCached"), N / 2 * 4);
	for (int i = 0; i < N; i++)
		CHECK(h_expect(t, BASE + i * H_PAGE, H_PAGE, 0x10 + i));
	CHECK_EQ(mml_vmstat(m, "pswpin"), N / 2);
	H_END(m);
}

/*
 * Read faults in order on pages swapped out in order: swap_vma_readahead's
 * window grows with the hits (1, 2, 4, then 8 = 2^page-cluster pages) and
 * stops at the VMA's end, each window one read of contiguous slots; every
 * page read besides the faulting one is readahead, and each is hit: a
 * minor fault, the reads alone major.  With page-cluster 0 there is none.
 */
TEST(swap_readahead_follows_sequential_faults)
{
	enum { N = 64 };
	/* Faults 0, 1, 3, 7, 15, 23, ..., 55 and 63 read; the other 53 find readahead's pages. */
	static const long ra[2] = { 0, N - 11 };

	for (int on = 0; on < 2; on++) {
		struct mml_machine *m = h_machine(16 << 20);
		struct mml_task *t = m ? h_spawn(m) : NULL;

		REQUIRE(t);
		REQUIRE(mml_swapon(m, NULL, 4 << 20, -1) >= 0);
		if (!on)
			CHECK_EQ(mml_sys_write(m, "/proc/sys/vm/page-cluster", "0"), 0);
		REQUIRE(h_map(t, BASE, N * H_PAGE, H_RW, H_ANON | MAP_FIXED));
		for (int i = 0; i < N; i++)
			h_fill(t, BASE + i * H_PAGE, H_PAGE, 0x10 + i);
		CHECK_EQ(mml_madvise(t, BASE, N * H_PAGE, MADV_PAGEOUT), 0);
		CHECK_EQ(mml_vmstat(m, "pswpout"), N);
		for (int i = 0; i < N; i++)
			CHECK(h_expect(t, BASE + i * H_PAGE, H_PAGE, 0x10 + i));
		CHECK_EQ(mml_vmstat(m, "pswpin"), N);
		CHECK_EQ(mml_vmstat(m, "swap_ra"), ra[on]);
		CHECK_EQ(mml_vmstat(m, "swap_ra_hit"), ra[on]);
		/* Only a fault that had to read is major: do_swap_page's VM_FAULT_MAJOR. */
		CHECK_EQ(mml_vmstat(m, "pgmajfault"), N - ra[on]);
		CHECK_EQ(mml_meminfo(m, "SwapCached"), N * 4);
		H_END(m);
	}
}

/* A fault far from the last one reads around itself, the readahead pages left unmapped in the swap cache. */
TEST(swap_readahead_pages_wait_unmapped_in_the_swap_cache)
{
	enum { N = 32 };
	struct mml_machine *m = h_machine(16 << 20);
	struct mml_task *t = m ? h_spawn(m) : NULL;

	REQUIRE(t);
	REQUIRE(mml_swapon(m, NULL, 4 << 20, -1) >= 0);
	REQUIRE(h_map(t, BASE, N * H_PAGE, H_RW, H_ANON | MAP_FIXED));
	for (int i = 0; i < N; i++)
		h_fill(t, BASE + i * H_PAGE, H_PAGE, 0x10 + i);
	CHECK_EQ(mml_madvise(t, BASE, N * H_PAGE, MADV_PAGEOUT), 0);
	/* Fault 0 (no history), then 1 next to it: a window of 2 after it. */
	CHECK(h_expect(t, BASE, H_PAGE, 0x10));
	CHECK(h_expect(t, BASE + H_PAGE, H_PAGE, 0x11));
	CHECK_EQ(mml_vmstat(m, "pswpin"), 3);
	CHECK_EQ(mml_vmstat(m, "swap_ra"), 1);
	CHECK(h_pagemap(t, BASE + 2 * H_PAGE) & MML_PM_SWAP);
	CHECK_EQ(mml_meminfo(m, "SwapCached"), 3 * 4);
	/* Its fault finds it: a hit, no read. */
	CHECK(h_expect(t, BASE + 2 * H_PAGE, H_PAGE, 0x12));
	CHECK_EQ(mml_vmstat(m, "pswpin"), 3);
	CHECK_EQ(mml_vmstat(m, "swap_ra_hit"), 1);
	/* Unmapping drops the readahead pages no fault took, with their slots. */
	CHECK_EQ(mml_munmap(t, BASE, N * H_PAGE), 0);
	CHECK_EQ(mml_meminfo(m, "SwapCached"), 0);
	H_END(m);
}

TEST(swapon_errors)
{
	struct mml_machine *m = h_machine(0);

	REQUIRE(m);
	CHECK_EQ(mml_swapon(m, NULL, 4096, -1), -EINVAL);	/* no room past the header */
	CHECK_EQ(mml_swapon(m, "/nonexistent-dir/x", 1 << 20, -1), -ENOENT);
	CHECK_EQ(mml_swapoff(m, 3), -EINVAL);
	CHECK(mml_swapon(m, NULL, 1 << 20, 5) >= 0);
	H_END(m);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
