/*
 * test_api_cow.c - copy-on-write meeting mprotect, madvise, munmap and
 * MAP_FIXED; page reuse versus copy, as Linux decides it.
 *
 * Linux sources read (mm/memory.c, mm/mprotect.c, mm/madvise.c):
 *  - copy_present_pte(): fork write-protects private anon PTEs in both mms
 *    and clears PG_anon_exclusive on the (now shared) page.
 *  - change_pte_range()/can_change_pte_writable(): mprotect(PROT_WRITE)
 *    makes a private anon PTE writable only if the page is
 *    PageAnonExclusive; a page shared with a child stays write-protected,
 *    so the next write copies it.
 *  - do_wp_page()/wp_can_reuse_anon_folio(): a write fault on a
 *    write-protected anon page reuses it when the folio's refcount is 1
 *    (nobody else maps it any more, e.g. the child zapped or unmapped it),
 *    and copies it otherwise.
 *  - madvise_free_pte_range(): MADV_FREE marks exclusive anon pages lazily
 *    freeable; until reclaim discards one, it reads back its old data, and a
 *    page written after MADV_FREE is never discarded.  smaps "LazyFree:"
 *    counts anon, !swapbacked, clean pages (smaps_account()).
 *  - zap_pte_range() via MADV_DONTNEED/munmap only drops this mm's mapping.
 */
#define _GNU_SOURCE
#include "../harness.h"

#include <stdlib.h>
#include <string.h>

#define RAM	(16ULL << 20)
#define BASE	0x100000000ULL

TEST(cow_mprotect_rw_after_fork_still_copies)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *p = h_spawn(m);
	REQUIRE(p);
	uint64_t a = h_map(p, BASE, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(p, a, H_PAGE, 0x10);
	struct mml_task *c = h_fork(p);
	REQUIRE(c);

	/* R then RW again: the page is shared, so the PTE must stay read-only. */
	CHECK_EQ(mml_mprotect(p, a, H_PAGE, PROT_READ), 0);
	CHECK_EQ(mml_mprotect(p, a, H_PAGE, H_RW), 0);
	h_fill(p, a, H_PAGE, 0x11);
	h_expect(c, a, H_PAGE, 0x10);
	h_expect(p, a, H_PAGE, 0x11);
	CHECK_NE(H_PFN(h_pagemap(p, a)), H_PFN(h_pagemap(c, a)));

	/* The same in the child. */
	CHECK_EQ(mml_mprotect(c, a, H_PAGE, PROT_NONE), 0);
	CHECK_EQ(mml_mprotect(c, a, H_PAGE, H_RW), 0);
	h_fill(c, a, 8, 0x12);
	h_expect(p, a, H_PAGE, 0x11);
	CHECK_EQ(mml_exit(c), 0);
	H_END(m);
}

TEST(cow_reuse_after_child_drops_the_page)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *p = h_spawn(m);
	REQUIRE(p);
	uint64_t a = h_map(p, BASE, 3 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(p, a, 3 * H_PAGE, 0x20);
	uint64_t f0 = H_PFN(h_pagemap(p, a));
	uint64_t f1 = H_PFN(h_pagemap(p, a + H_PAGE));
	uint64_t f2 = H_PFN(h_pagemap(p, a + 2 * H_PAGE));
	struct mml_task *c = h_fork(p);
	REQUIRE(c);

	/* The child lets go of page 0 (DONTNEED) and page 1 (munmap) but keeps page 2. */
	CHECK_EQ(mml_madvise(c, a, H_PAGE, MADV_DONTNEED), 0);
	CHECK_EQ(mml_munmap(c, a + H_PAGE, H_PAGE), 0);
	h_expect(c, a, H_PAGE, 0);

	/* The parent's writes: pages 0 and 1 are its alone again -> reused;
	 * page 2 is still shared -> copied. */
	h_fill(p, a, 3 * H_PAGE, 0x21);
	CHECK_EQ(H_PFN(h_pagemap(p, a)), f0);
	CHECK_EQ(H_PFN(h_pagemap(p, a + H_PAGE)), f1);
	CHECK_NE(H_PFN(h_pagemap(p, a + 2 * H_PAGE)), f2);
	CHECK_EQ(H_PFN(h_pagemap(c, a + 2 * H_PAGE)), f2);
	h_expect(c, a + 2 * H_PAGE, H_PAGE, 0x20);
	CHECK_EQ(mml_exit(c), 0);
	H_END(m);
}

TEST(cow_parent_drops_child_keeps)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *p = h_spawn(m);
	REQUIRE(p);
	uint64_t a = h_map(p, BASE, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(p, a, 4 * H_PAGE, 0x30);
	struct mml_task *c = h_fork(p);
	REQUIRE(c);
	long anon = mml_meminfo(m, "AnonPages");

	CHECK_EQ(mml_madvise(p, a, H_PAGE, MADV_DONTNEED), 0);
	CHECK_EQ(mml_munmap(p, a + H_PAGE, H_PAGE), 0);
	CHECK_EQ(mml_mmap(p, a + 2 * H_PAGE, H_PAGE, H_RW, H_ANON | MAP_FIXED, -1, 0),
		 (long)(a + 2 * H_PAGE));
	/* The pages are still mapped by the child: nothing was freed. */
	CHECK_EQ(mml_meminfo(m, "AnonPages"), anon);
	h_expect(c, a, 4 * H_PAGE, 0x30);
	h_expect(p, a, H_PAGE, 0);
	h_expect(p, a + 2 * H_PAGE, H_PAGE, 0);
	h_expect(p, a + 3 * H_PAGE, H_PAGE, 0x30);
	/* The child is now the only user of pages 0-2: its writes reuse them. */
	uint64_t f = H_PFN(h_pagemap(c, a + 2 * H_PAGE));

	h_fill(c, a + 2 * H_PAGE, H_PAGE, 0x31);
	CHECK_EQ(H_PFN(h_pagemap(c, a + 2 * H_PAGE)), f);
	CHECK_EQ(mml_exit(c), 0);
	CHECK_EQ(mml_meminfo(m, "AnonPages"), 4 * 1);	/* page 3 only */
	H_END(m);
}

TEST(cow_of_the_zero_page)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *p = h_spawn(m);
	REQUIRE(p);
	/* A: only read-faulted (zero page, so no anon_vma); B: one page written
	 * (anon_vma) and one read-faulted. */
	uint64_t a = h_map(p, BASE, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	uint64_t b = h_map(p, BASE + 4 * H_PAGE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a && b);
	h_expect(p, a, H_PAGE, 0);
	h_fill(p, b, H_PAGE, 0x3f);
	h_expect(p, b + H_PAGE, H_PAGE, 0);
	uint64_t z = H_PFN(h_pagemap(p, a));

	CHECK_EQ(H_PFN(h_pagemap(p, b + H_PAGE)), z);
	struct mml_task *c = h_fork(p);
	REQUIRE(c);

	/* kernel/fork.c + mm/memory.c vma_needs_copy(): a VMA without an
	 * anon_vma has its page tables left behind (a fault refills them). */
	CHECK(!(h_pagemap(c, a) & MML_PM_PRESENT));
	/* A VMA with an anon_vma is copied, zero-page PTEs included. */
	uint64_t ce = h_pagemap(c, b + H_PAGE);
	CHECK(ce & MML_PM_PRESENT);
	CHECK_EQ(H_PFN(ce), z);
	CHECK(!(ce & MML_PM_MMAP_EXCLUSIVE));

	h_expect(c, a, H_PAGE, 0);
	h_fill(c, a, 16, 0x40);
	CHECK_NE(H_PFN(h_pagemap(c, a)), z);
	h_expect(c, a + 16, H_PAGE - 16, 0);
	h_fill(c, b + H_PAGE, 16, 0x41);
	CHECK_NE(H_PFN(h_pagemap(c, b + H_PAGE)), z);
	CHECK_EQ(H_PFN(h_pagemap(p, a)), z);
	CHECK_EQ(H_PFN(h_pagemap(p, b + H_PAGE)), z);
	h_expect(p, a, H_PAGE, 0);
	h_expect(p, b + H_PAGE, H_PAGE, 0);
	/* Anonymous pages: the parent's one (shared with the child) + the child's two. */
	CHECK_EQ(mml_meminfo(m, "AnonPages"), 3 * 4);
	CHECK_EQ(mml_exit(c), 0);
	CHECK_EQ(mml_meminfo(m, "AnonPages"), 4);
	H_END(m);
}

TEST(cow_write_only_mapping)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *p = h_spawn(m);
	REQUIRE(p);
	uint64_t a = h_map(p, BASE, H_PAGE, PROT_WRITE, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(p, a, H_PAGE, 0x50);
	struct mml_task *c = h_fork(p);
	REQUIRE(c);
	h_fill(c, a, H_PAGE, 0x51);
	h_expect(p, a, H_PAGE, 0x50);
	h_expect(c, a, H_PAGE, 0x51);
	CHECK_EQ(mml_exit(c), 0);
	H_END(m);
}

TEST(fork_from_a_non_leader_thread)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *p = h_spawn(m);
	REQUIRE(p);
	struct mml_task *th = NULL;

	REQUIRE_EQ(mml_thread_new(p, &th), 0);
	uint64_t a = h_map(p, BASE, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(th, a, H_PAGE, 0x60);
	struct mml_task *c = h_fork(th);
	REQUIRE(c);
	CHECK_NE(mml_task_pid(c), mml_task_pid(p));
	CHECK_EQ(mml_task_tid(c), mml_task_pid(c));
	h_expect(c, a, H_PAGE, 0x60);
	h_fill(p, a, H_PAGE, 0x61);
	h_expect(c, a, H_PAGE, 0x60);
	h_expect(th, a, H_PAGE, 0x61);
	CHECK_EQ(mml_exit(c), 0);
	CHECK_EQ(mml_exit(th), 0);
	H_END(m);
}

TEST(madvise_dontneed_on_prot_none)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	uint64_t a = h_map(t, BASE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(t, a, 2 * H_PAGE, 0x70);
	CHECK_EQ(mml_mprotect(t, a, 2 * H_PAGE, PROT_NONE), 0);
	CHECK_EQ(mml_madvise(t, a, H_PAGE, MADV_DONTNEED), 0);
	CHECK_EQ(mml_mprotect(t, a, 2 * H_PAGE, H_RW), 0);
	h_expect(t, a, H_PAGE, 0);
	h_expect(t, a + H_PAGE, H_PAGE, 0x70);
	H_END(m);
}

/* Every byte of the page is old, or every byte is 0 (discarded). */
static bool page_old_or_zero(struct mml_task *t, uint64_t addr, uint8_t old)
{
	uint8_t buf[4096];

	if (!CHECK_EQ(mml_read(t, addr, buf, sizeof(buf)), 0))
		return false;
	bool all_old = true, all_zero = true;

	for (size_t i = 0; i < sizeof(buf); i++) {
		all_old &= buf[i] == old;
		all_zero &= buf[i] == 0;
	}
	return CHECKF(all_old || all_zero, "page 0x%llx is neither all 0x%02x nor all zero",
		      (unsigned long long)addr, old);
}

TEST(madvise_free_keeps_data_until_reclaim)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	uint64_t a = h_map(t, BASE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(t, a, 2 * H_PAGE, 0x80);

	CHECK_EQ(mml_madvise(t, a, 2 * H_PAGE, MADV_FREE), 0);
	h_fill(t, a, 100, 0x81);		/* written after MADV_FREE: never discarded */
	h_expect(t, a, 100, 0x81);
	h_expect(t, a + 100, H_PAGE - 100, 0x80);
	page_old_or_zero(t, a + H_PAGE, 0x80);

	char *s = h_show_smaps(t);
	if (s) {
		const char *l = strstr(s, "\nLazyFree:");
		long v = -1;

		CHECK(l != NULL);
		if (l)
			v = strtol(l + strlen("\nLazyFree:"), NULL, 10);
		/* Page 1 is lazily free (4 kB) unless already discarded (then not present). */
		if (h_pagemap(t, a + H_PAGE) & MML_PM_PRESENT)
			CHECK_EQ(v, 4);
		else
			CHECK_EQ(v, 0);
		free(s);
	}
	/* MADV_FREE on a hole: applied to the mapping, then -ENOMEM. */
	CHECK_EQ(mml_madvise(t, a, 4 * H_PAGE, MADV_FREE), -ENOMEM);
	h_expect(t, a, 100, 0x81);
	H_END(m);
}

TEST(madvise_free_of_a_shared_page_is_ignored)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *p = h_spawn(m);
	REQUIRE(p);
	uint64_t a = h_map(p, BASE, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(p, a, H_PAGE, 0x90);
	struct mml_task *c = h_fork(p);
	REQUIRE(c);
	/* madvise_free_pte_range() skips a folio mapped by more than one mm. */
	CHECK_EQ(mml_madvise(p, a, H_PAGE, MADV_FREE), 0);
	h_expect(p, a, H_PAGE, 0x90);
	h_expect(c, a, H_PAGE, 0x90);
	CHECK_EQ(mml_exit(c), 0);
	h_expect(p, a, H_PAGE, 0x90);
	H_END(m);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
