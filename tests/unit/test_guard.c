/*
 * test_guard.c - guard regions: MADV_GUARD_INSTALL and MADV_GUARD_REMOVE.
 *
 * Linux source read: mm/madvise.c (madvise_guard_install,
 * madvise_guard_remove, is_valid_guard_vma), mm/memory.c
 * (handle_pte_marker, copy_nonpresent_pte, zap_nonpresent_ptes),
 * fs/proc/task_mmu.c (PM_GUARD_REGION) and
 * tools/testing/selftests/mm/guard-regions.c.
 *   An install zaps what the range maps and puts a marker in every pte;
 *   any access there is SIGSEGV (-EFAULT here), GUP fails with EFAULT.
 *   Installing over markers is a no-op.  A removal clears markers only.
 *   MADV_DONTNEED and MADV_FREE leave them; munmap takes them; fork copies
 *   them, but not into a VM_WIPEONFORK VMA.  VM_LOCKED refuses an install
 *   (EINVAL), not a removal.  Own-process process_madvise may install.
 *   A marker is no page: no rss, no swap; pagemap shows bit 58 with the
 *   swap bit (Linux reports it as a non-present swap-format entry).
 */
#define _GNU_SOURCE
#include "../harness.h"

#include <string.h>
#include <sys/uio.h>

#define RAM	(16ULL << 20)
#define BASE	0x100000000ULL

static bool guarded(struct mml_task *t, uint64_t addr)
{
	uint64_t e = h_pagemap(t, addr);

	return (e & MML_PM_GUARD_REGION) && (e & MML_PM_SWAP) && !(e & MML_PM_PRESENT);
}

TEST(guard_install_faults_and_discards)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	char c = 0;
	REQUIRE(t);
	uint64_t a = h_map(t, BASE, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(t, a, 4 * H_PAGE, 0x3a);
	long anon = mml_meminfo(m, "AnonPages");

	CHECK_EQ(mml_madvise(t, a + H_PAGE, 2 * H_PAGE, MADV_GUARD_INSTALL), 0);
	CHECK(guarded(t, a + H_PAGE) && guarded(t, a + 2 * H_PAGE));
	CHECK(!guarded(t, a) && !guarded(t, a + 3 * H_PAGE));
	CHECK_EQ(mml_meminfo(m, "AnonPages"), anon - 8);	/* the two pages went */
	CHECK_EQ(mml_read(t, a + H_PAGE, &c, 1), -EFAULT);
	CHECK_EQ(mml_write(t, a + 2 * H_PAGE + 100, &c, 1), -EFAULT);
	/* An access across a guard is refused whole. */
	CHECK_EQ(mml_read(t, a + H_PAGE - 1, &c, 1), 0);
	CHECK_EQ(mml_write(t, a, "xx", 2), 0);
	{
		char buf[2 * H_PAGE];

		CHECK_EQ(mml_read(t, a, buf, sizeof(buf)), -EFAULT);
	}
	h_expect(t, a + 3 * H_PAGE, H_PAGE, 0x3a);
	/* Again, and over a range half guarded: markers stay, the rest is zapped. */
	CHECK_EQ(mml_madvise(t, a + H_PAGE, 2 * H_PAGE, MADV_GUARD_INSTALL), 0);
	CHECK_EQ(mml_madvise(t, a + 2 * H_PAGE, 2 * H_PAGE, MADV_GUARD_INSTALL), 0);
	CHECK(guarded(t, a + 3 * H_PAGE));
	CHECK_EQ(mml_meminfo(m, "AnonPages"), anon - 12);
	H_END(m);
}

TEST(guard_remove_clears_markers_only)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	uint64_t a = h_map(t, BASE, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(t, a, 4 * H_PAGE, 0x3b);
	CHECK_EQ(mml_madvise(t, a + H_PAGE, H_PAGE, MADV_GUARD_INSTALL), 0);
	CHECK_EQ(mml_madvise(t, a, 4 * H_PAGE, MADV_GUARD_REMOVE), 0);
	CHECK(!guarded(t, a + H_PAGE));
	h_expect(t, a, H_PAGE, 0x3b);
	h_expect(t, a + H_PAGE, H_PAGE, 0);	/* the install discarded it */
	h_expect(t, a + 2 * H_PAGE, 2 * H_PAGE, 0x3b);
	CHECK_EQ(mml_madvise(t, a, 4 * H_PAGE, MADV_GUARD_REMOVE), 0);	/* nothing to remove */
	H_END(m);
}

TEST(guard_kept_by_dontneed_free_mprotect_dropped_by_munmap)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	char c = 0;
	REQUIRE(t);
	uint64_t a = h_map(t, BASE, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(t, a, 4 * H_PAGE, 0x3c);
	CHECK_EQ(mml_madvise(t, a + H_PAGE, H_PAGE, MADV_GUARD_INSTALL), 0);
	CHECK_EQ(mml_madvise(t, a, 4 * H_PAGE, MADV_DONTNEED), 0);
	CHECK(guarded(t, a + H_PAGE));
	CHECK_EQ(mml_madvise(t, a, 4 * H_PAGE, MADV_FREE), 0);
	CHECK(guarded(t, a + H_PAGE));
	CHECK_EQ(mml_mprotect(t, a, 4 * H_PAGE, PROT_READ), 0);
	CHECK(guarded(t, a + H_PAGE));
	CHECK_EQ(mml_read(t, a + H_PAGE, &c, 1), -EFAULT);
	CHECK_EQ(mml_munmap(t, a, 4 * H_PAGE), 0);
	REQUIRE(h_map(t, a, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED) == a);
	CHECK(!guarded(t, a + H_PAGE));
	h_expect(t, a, 4 * H_PAGE, 0);
	H_END(m);
}

TEST(guard_fork_copies_but_not_into_wipeonfork)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	char c = 0;
	REQUIRE(t);
	uint64_t a = h_map(t, BASE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	uint64_t w = h_map(t, BASE + 16 * H_PAGE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a && w);
	/* Never touched: the install's anon_vma is what makes fork copy the tables. */
	CHECK_EQ(mml_madvise(t, a, H_PAGE, MADV_GUARD_INSTALL), 0);
	CHECK_EQ(mml_madvise(t, w, 2 * H_PAGE, MADV_WIPEONFORK), 0);
	CHECK_EQ(mml_madvise(t, w, H_PAGE, MADV_GUARD_INSTALL), 0);
	struct mml_task *k = h_fork(t);
	REQUIRE(k);
	CHECK(guarded(k, a));
	CHECK_EQ(mml_read(k, a, &c, 1), -EFAULT);
	CHECK(!guarded(k, w));
	CHECK_EQ(mml_read(k, w, &c, 1), 0);
	CHECK_EQ(mml_read(t, w, &c, 1), -EFAULT);
	CHECK_EQ(mml_exit(k), 0);
	H_END(m);
}

TEST(guard_gup_fails_and_locked_refuses_install)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	struct mml_pin *pin = NULL;
	REQUIRE(t);
	uint64_t a = h_map(t, BASE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	uint64_t l = h_map(t, BASE + 16 * H_PAGE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED | MAP_LOCKED);
	REQUIRE(a && l);
	CHECK_EQ(mml_madvise(t, a, H_PAGE, MADV_GUARD_INSTALL), 0);
	CHECK_EQ(mml_pin_user_pages(t, a, 1, MML_FOLL_WRITE, &pin), -EFAULT);
	CHECK_EQ(mml_pin_user_pages(t, a, 1, MML_FOLL_FAST, &pin), -EFAULT);
	CHECK_EQ(mml_madvise(t, a, 2 * H_PAGE, MADV_POPULATE_READ), -EFAULT);
	CHECK_EQ(mml_madvise(t, l, H_PAGE, MADV_GUARD_INSTALL), -EINVAL);
	CHECK_EQ(mml_madvise(t, l, H_PAGE, MADV_GUARD_REMOVE), 0);
	/* Own memory through process_madvise: the bytes advised. */
	struct iovec iov = { .iov_base = (void *)(uintptr_t)(a + H_PAGE), .iov_len = H_PAGE };
	CHECK_EQ(mml_process_madvise(t, t, &iov, 1, MADV_GUARD_INSTALL, 0), (long)H_PAGE);
	CHECK(guarded(t, a + H_PAGE));
	H_END(m);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
