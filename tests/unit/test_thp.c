/*
 * test_thp.c - transparent huge pages for anonymous memory: the PMD fault
 * and the huge zero folio, fork and COW of a PMD-mapped THP, partial
 * unmap and the deferred split, mprotect across a PMD, pins, reclaim,
 * MADV_COLLAPSE and khugepaged, with every count checked (internal API
 * where the public views do not reach).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../harness.h"
#include "mm/internal.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

#define HUGE	(2ULL << 20)
#define BASE	0x40000000ULL	/* 2 MiB aligned */

/* A 4 MiB region, MADV_HUGEPAGE'd (enabled is "madvise" by default). */
static struct mml_task *thp_task(struct mml_machine *m)
{
	struct mml_task *t = h_spawn(m);

	if (!t)
		return NULL;
	h_map(t, BASE, 2 * HUGE, H_RW, H_ANON | MAP_FIXED);
	if (mml_madvise(t, BASE, 2 * HUGE, MADV_HUGEPAGE))
		return NULL;
	return t;
}

static struct page *page_at(struct mml_machine *m, struct mml_task *t, uint64_t addr)
{
	uint64_t e = h_pagemap(t, addr);

	return (e & MML_PM_PRESENT) ? pfn_to_page(m, (unsigned long)H_PFN(e)) : NULL;
}

static struct folio *folio_at(struct mml_machine *m, struct mml_task *t, uint64_t addr)
{
	struct page *p = page_at(m, t, addr);

	return p ? page_folio(p) : NULL;
}

/* Is the 2 MiB at addr one PMD leaf? */
static bool pmd_mapped(struct mml_task *t, uint64_t addr)
{
	pmd_t *pmd = mm_find_pmd(t->mm, addr);

	return pmd && pmd_trans_huge(pmdp_get(pmd));
}

/* The 512 frames behind [addr, addr + 2 MiB) are consecutive, from an aligned one. */
static bool frames_contiguous(struct mml_task *t, uint64_t addr)
{
	uint64_t first = H_PFN(h_pagemap(t, addr));

	if (first % 512)
		return false;
	for (unsigned i = 1; i < 512; i++)
		if (H_PFN(h_pagemap(t, addr + i * H_PAGE)) != first + i)
			return false;
	return true;
}

static long smaps_kb(struct mml_task *t, const char *field)
{
	char *s = h_show_smaps(t), *p;
	long kb = 0, sum = 0;

	for (p = s; p && (p = strstr(p, field)); p++)
		if (sscanf(p + strlen(field), ": %ld kB", &kb) == 1)
			sum += kb;
	free(s);
	return sum;
}

TEST(write_fault_maps_a_thp_with_one_pmd)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = thp_task(m);
	struct folio *folio;

	REQUIRE(t);
	REQUIRE(h_fill(t, BASE, HUGE, 0x5a));
	CHECK(pmd_mapped(t, BASE));
	CHECK(frames_contiguous(t, BASE));
	folio = folio_at(m, t, BASE);
	CHECK_EQ(folio_order(folio), HPAGE_PMD_ORDER);
	CHECK_EQ(folio_entire_mapcount(folio), 1);
	CHECK_EQ(folio_mapcount(folio), 1);
	CHECK_EQ(folio_ref_count(folio), 1);
	CHECK(PageAnonExclusive(&folio->page));
	CHECK_EQ(mml_vmstat(m, "thp_fault_alloc"), 1);
	CHECK_EQ(mml_vmstat(m, "nr_anon_transparent_hugepages"), 1);
	CHECK_EQ(mml_meminfo(m, "AnonHugePages"), 2048);
	CHECK_EQ(smaps_kb(t, "AnonHugePages"), 2048);
	CHECK_EQ(mml_vmstat(m, "nr_anon_pages"), 512);
	CHECK((h_pagemap(t, BASE + 7 * H_PAGE) & MML_PM_MMAP_EXCLUSIVE) != 0);
	CHECK(h_expect(t, BASE, HUGE, 0x5a));
	CHECK_EQ(mml_check(m), 0);
	/* Without MADV_HUGEPAGE, with enabled "madvise": small pages. */
	CHECK_EQ(mml_madvise(t, BASE + HUGE, HUGE, MADV_NOHUGEPAGE), 0);
	CHECK(h_fill(t, BASE + HUGE, H_PAGE, 1));
	CHECK(!pmd_mapped(t, BASE + HUGE));
	H_END(m);
}

TEST(read_fault_maps_the_huge_zero_folio_and_a_write_replaces_it)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = thp_task(m);
	uint8_t v = 1;

	REQUIRE(t);
	REQUIRE_EQ(h_peek(t, BASE + 5000, &v), 0);
	CHECK_EQ(v, 0);
	CHECK(pmd_mapped(t, BASE));
	CHECK(is_huge_zero_folio(m, folio_at(m, t, BASE)));
	CHECK_EQ(mml_vmstat(m, "thp_zero_page_alloc"), 1);
	CHECK_EQ(smaps_kb(t, "Rss"), 0);
	CHECK_EQ(mml_check(m), 0);
	REQUIRE_EQ(h_poke(t, BASE + 4096 * 3, 7), 0);
	CHECK(pmd_mapped(t, BASE));
	CHECK(!is_huge_zero_folio(m, folio_at(m, t, BASE)));
	CHECK(h_expect(t, BASE + 4096 * 3, 1, 7));
	CHECK(h_expect(t, BASE, 4096, 0));
	CHECK_EQ(mml_vmstat(m, "thp_fault_alloc"), 1);
	CHECK_EQ(mml_check(m), 0);
	H_END(m);
}

TEST(fork_shares_the_pmd_and_a_write_splits_it_and_copies_one_page)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = thp_task(m), *c;
	struct folio *folio;

	REQUIRE(t);
	REQUIRE(h_fill(t, BASE, HUGE, 0x11));
	folio = folio_at(m, t, BASE);
	c = h_fork(t);
	REQUIRE(c);
	CHECK(pmd_mapped(c, BASE));
	CHECK_EQ(folio_entire_mapcount(folio), 2);
	CHECK_EQ(folio_ref_count(folio), 2);
	CHECK(!PageAnonExclusive(&folio->page));
	CHECK_EQ(mml_check(m), 0);
	/* The child writes: its pmd is split, the page it wrote copied. */
	REQUIRE_EQ(h_poke(c, BASE + 10 * H_PAGE, 0x22), 0);
	CHECK(!pmd_mapped(c, BASE));
	CHECK(pmd_mapped(t, BASE));
	CHECK_EQ(mml_vmstat(m, "thp_split_pmd"), 1);
	CHECK(page_at(m, c, BASE + 10 * H_PAGE) != folio_page(folio, 10));
	CHECK(page_at(m, c, BASE + 11 * H_PAGE) == folio_page(folio, 11));
	CHECK_EQ(folio_mapcount(folio), 1 + 511);
	CHECK(h_expect(t, BASE + 10 * H_PAGE, 1, 0x11));
	CHECK(h_expect(c, BASE + 10 * H_PAGE, 1, 0x22));
	CHECK_EQ(mml_check(m), 0);
	/* The parent writes: shared by the child's ptes, so it may not reuse: split and copy. */
	REQUIRE_EQ(h_poke(t, BASE + 11 * H_PAGE, 0x33), 0);
	CHECK(!pmd_mapped(t, BASE));
	CHECK(h_expect(c, BASE + 11 * H_PAGE, 1, 0x11));
	CHECK(h_expect(t, BASE + 11 * H_PAGE, 1, 0x33));
	CHECK_EQ(mml_check(m), 0);
	/*
	 * The child exits: the parent alone maps the folio and nothing else
	 * holds it, so a write reuses its page in place (Linux 6.15+'s mm ids,
	 * __wp_can_reuse_large_anon_folio).
	 */
	mml_exit(c);
	REQUIRE_EQ(h_poke(t, BASE + 12 * H_PAGE, 0x44), 0);
	CHECK(page_at(m, t, BASE + 12 * H_PAGE) == folio_page(folio, 12));
	CHECK(h_expect(t, BASE + 12 * H_PAGE, 1, 0x44));
	CHECK(h_expect(t, BASE + 13 * H_PAGE, 1, 0x11));
	CHECK_EQ(mml_check(m), 0);
	H_END(m);
}

TEST(partial_munmap_splits_the_pmd_and_the_shrinker_splits_the_folio)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = thp_task(m);
	struct folio *folio;
	long free0;

	REQUIRE(t);
	REQUIRE(h_fill(t, BASE, HUGE, 0x77));
	folio = folio_at(m, t, BASE);
	CHECK_EQ(mml_munmap(t, BASE + HUGE / 2, HUGE / 2), 0);
	CHECK(!pmd_mapped(t, BASE));
	CHECK_EQ(folio_mapcount(folio), 256);
	CHECK_EQ(mml_vmstat(m, "thp_deferred_split_page"), 1);
	CHECK_EQ(mml_vmstat(m, "nr_anon_transparent_hugepages"), 0);
	CHECK_EQ(mml_check(m), 0);
	free0 = mml_vmstat(m, "nr_free_pages");
	CHECK_EQ(deferred_split_scan(m, 16), 1);
	CHECK_EQ(mml_vmstat(m, "nr_free_pages") - free0, 256);
	CHECK_EQ(mml_vmstat(m, "thp_split_page"), 1);
	CHECK(!folio_test_large(folio_at(m, t, BASE)));
	CHECK(h_expect(t, BASE, HUGE / 2, 0x77));
	CHECK_EQ(mml_check(m), 0);
	H_END(m);
}

TEST(mprotect_of_part_splits_the_pmd_and_keeps_pages_exclusive)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = thp_task(m);

	REQUIRE(t);
	REQUIRE(h_fill(t, BASE, HUGE, 0x12));
	CHECK_EQ(mml_mprotect(t, BASE, H_PAGE, PROT_READ), 0);
	CHECK(!pmd_mapped(t, BASE));
	for (unsigned i = 0; i < 512; i += 73)
		CHECK(PageAnonExclusive(page_at(m, t, BASE + i * H_PAGE)));
	/* Writable again without a copy: the pages are still ours alone. */
	CHECK_EQ(mml_mprotect(t, BASE, H_PAGE, H_RW), 0);
	CHECK(page_at(m, t, BASE) == folio_page(folio_at(m, t, BASE + H_PAGE), 0));
	REQUIRE_EQ(h_poke(t, BASE, 0x13), 0);
	CHECK(page_at(m, t, BASE) == folio_page(folio_at(m, t, BASE + H_PAGE), 0));
	/* mprotect of a whole THP keeps the pmd. */
	REQUIRE(h_fill(t, BASE + HUGE, HUGE, 0x14));
	CHECK_EQ(mml_mprotect(t, BASE + HUGE, HUGE, PROT_READ), 0);
	CHECK(pmd_mapped(t, BASE + HUGE));
	CHECK_EQ(h_poke(t, BASE + HUGE, 1), -EFAULT);
	CHECK_EQ(mml_check(m), 0);
	H_END(m);
}

TEST(fork_of_a_pinned_thp_splits_and_copies_the_pinned_pages)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = thp_task(m), *c;
	struct mml_pin *pin;
	uint8_t b = 0x99;

	REQUIRE(t);
	REQUIRE(h_fill(t, BASE, HUGE, 0x21));
	REQUIRE_EQ(mml_pin_user_pages(t, BASE + 3 * H_PAGE, 1, MML_FOLL_WRITE | MML_FOLL_LONGTERM, &pin), 1);
	c = h_fork(t);
	REQUIRE(c);
	CHECK(!pmd_mapped(t, BASE));
	/* The pinned page stays the parent's; the child got a copy of it. */
	CHECK(page_at(m, t, BASE + 3 * H_PAGE) != page_at(m, c, BASE + 3 * H_PAGE));
	REQUIRE_EQ(mml_dma_write(pin, 0, &b, 1), 0);
	CHECK(h_expect(t, BASE + 3 * H_PAGE, 1, 0x99));
	CHECK(h_expect(c, BASE + 3 * H_PAGE, 1, 0x21));
	CHECK_EQ(mml_check(m), 0);
	mml_unpin(pin);
	H_END(m);
}

TEST(madv_collapse_makes_one_thp_of_small_pages)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);

	REQUIRE(t);
	h_map(t, BASE, HUGE, H_RW, H_ANON | MAP_FIXED);
	for (unsigned i = 0; i < 512; i += 2)
		REQUIRE_EQ(h_poke(t, BASE + i * H_PAGE, (uint8_t)i), 0);
	CHECK(!pmd_mapped(t, BASE));
	/* MADV_COLLAPSE ignores the sysfs mode and max_ptes_none. */
	CHECK_EQ(mml_madvise(t, BASE, HUGE, MADV_COLLAPSE), 0);
	CHECK(pmd_mapped(t, BASE));
	CHECK(frames_contiguous(t, BASE));
	for (unsigned i = 0; i < 512; i++)
		CHECK(h_expect(t, BASE + i * H_PAGE, 1, i % 2 ? 0 : (uint8_t)i));
	CHECK_EQ(mml_vmstat(m, "thp_collapse_alloc"), 1);
	CHECK_EQ(smaps_kb(t, "AnonHugePages"), 2048);
	CHECK_EQ(mml_check(m), 0);
	/* Collapsing a THP again: nothing to do, success. */
	CHECK_EQ(mml_madvise(t, BASE, HUGE, MADV_COLLAPSE), 0);
	CHECK_EQ(mml_vmstat(m, "thp_collapse_alloc"), 1);
	H_END(m);
}

TEST(madv_collapse_refuses_a_range_with_a_pinned_page)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);
	struct mml_pin *pin;

	REQUIRE(t);
	h_map(t, BASE, HUGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(h_fill(t, BASE, HUGE, 3));
	REQUIRE_EQ(mml_pin_user_pages(t, BASE + 9 * H_PAGE, 1, MML_FOLL_WRITE | MML_FOLL_LONGTERM, &pin), 1);
	CHECK_EQ(mml_madvise(t, BASE, HUGE, MADV_COLLAPSE), -EAGAIN);
	CHECK(!pmd_mapped(t, BASE));
	CHECK_EQ(mml_check(m), 0);
	mml_unpin(pin);
	CHECK_EQ(mml_madvise(t, BASE, HUGE, MADV_COLLAPSE), 0);
	CHECK(h_expect(t, BASE, HUGE, 3));
	CHECK_EQ(mml_check(m), 0);
	H_END(m);
}

TEST(khugepaged_collapses_a_registered_range_within_max_ptes_none)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = thp_task(m);

	REQUIRE(t);
	REQUIRE_EQ(mml_madvise(t, BASE, 2 * HUGE, MADV_NOHUGEPAGE), 0);
	REQUIRE(h_fill(t, BASE, HUGE / 2, 9));
	CHECK(!pmd_mapped(t, BASE));
	REQUIRE_EQ(mml_madvise(t, BASE, 2 * HUGE, MADV_HUGEPAGE), 0);
	m->thp.khugepaged_max_ptes_none = 255;
	CHECK_EQ(mml_khugepaged_scan(m, 4096), 0);	/* 256 none > 255 */
	CHECK(!pmd_mapped(t, BASE));
	REQUIRE_EQ(h_poke(t, BASE + HUGE / 2, 9), 0);
	CHECK_EQ(mml_khugepaged_scan(m, 4096), 1);
	CHECK(pmd_mapped(t, BASE));
	CHECK(h_expect(t, BASE, HUGE / 2 + 1, 9));
	CHECK(h_expect(t, BASE + HUGE / 2 + 1, HUGE / 2 - 1, 0));
	/* 256 none in the first range, 512 in the second, in the first pass. */
	CHECK_EQ(khugepaged_scan_result_count(m, "SCAN_EXCEED_NONE_PTE"), 2);
	CHECK(m->thp.khugepaged_full_scans >= 1);
	CHECK_EQ(mml_check(m), 0);
	H_END(m);
}

TEST(pageout_of_a_thp_splits_it_and_swaps_every_page)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = thp_task(m);

	REQUIRE(t);
	REQUIRE(mml_swapon(m, NULL, 8 << 20, 0) >= 0);
	REQUIRE(h_fill(t, BASE, HUGE, 0x66));
	CHECK_EQ(mml_madvise(t, BASE, HUGE, MADV_PAGEOUT), 0);
	CHECK_EQ(mml_vmstat(m, "thp_swpout_fallback"), 1);
	CHECK_EQ(mml_vmstat(m, "pswpout"), 512);
	CHECK((h_pagemap(t, BASE + 100 * H_PAGE) & MML_PM_SWAP) != 0);
	CHECK_EQ(mml_check(m), 0);
	CHECK(h_expect(t, BASE, HUGE, 0x66));
	CHECK_EQ(mml_check(m), 0);
	H_END(m);
}

TEST(split_huge_pages_splits_the_folio_in_place)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = thp_task(m);
	struct page *p;

	REQUIRE(t);
	REQUIRE(h_fill(t, BASE, HUGE, 0x31));
	p = page_at(m, t, BASE + 5 * H_PAGE);
	CHECK_EQ(split_huge_pages_pid(m, t->mm->tgid, BASE, BASE + HUGE), 0);
	CHECK(!pmd_mapped(t, BASE));
	CHECK(page_at(m, t, BASE + 5 * H_PAGE) == p);
	CHECK(!folio_test_large(page_folio(p)));
	CHECK(PageAnonExclusive(p));
	CHECK_EQ(mml_vmstat(m, "thp_split_page"), 1);
	CHECK(h_expect(t, BASE, HUGE, 0x31));
	CHECK_EQ(mml_check(m), 0);
	H_END(m);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
