/*
 * test_mremap.c - mremap(2): shrink and grow in place, moves (MAYMOVE,
 * FIXED over a mapping, DONTUNMAP) with the bytes, swap entries, pins and
 * THPs carried along, and Linux's errors; the checker after each.
 */
#include <sys/mman.h>

#include "../harness.h"
#include "mm/internal.h"

#ifndef MREMAP_MAYMOVE
#define MREMAP_MAYMOVE		1
#define MREMAP_FIXED		2
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP	4
#endif

#define A1	0x10000000ULL
#define A2	0x20000000ULL
#define HUGE	(2ULL << 20)

TEST(grow_and_shrink_in_place_or_move)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);
	long r;

	REQUIRE(t);
	h_map(t, A1, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(h_fill(t, A1, 4 * H_PAGE, 0x11));
	/* Grow in place: the space after is free. */
	CHECK_EQ(mml_mremap(t, A1, 4 * H_PAGE, 8 * H_PAGE, 0, 0), (long)A1);
	CHECK(h_expect(t, A1, 4 * H_PAGE, 0x11));
	CHECK(h_expect(t, A1 + 4 * H_PAGE, 4 * H_PAGE, 0));
	/* Shrink in place: the tail goes. */
	CHECK_EQ(mml_mremap(t, A1, 8 * H_PAGE, 2 * H_PAGE, 0, 0), (long)A1);
	CHECK_EQ(h_poke(t, A1 + 3 * H_PAGE, 1), -EFAULT);
	/* Something right after: growing needs MREMAP_MAYMOVE. */
	h_map(t, A1 + 2 * H_PAGE, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	CHECK_EQ(mml_mremap(t, A1, 2 * H_PAGE, 4 * H_PAGE, 0, 0), -ENOMEM);
	r = mml_mremap(t, A1, 2 * H_PAGE, 4 * H_PAGE, MREMAP_MAYMOVE, 0);
	CHECK(r > 0 && (uint64_t)r != A1);
	CHECK(h_expect(t, (uint64_t)r, 2 * H_PAGE, 0x11));
	CHECK(h_expect(t, (uint64_t)r + 2 * H_PAGE, 2 * H_PAGE, 0));
	CHECK_EQ(h_poke(t, A1, 1), -EFAULT);
	CHECK_EQ(mml_vmstat(m, "nr_anon_pages"), 2);
	CHECK_EQ(mml_check(m), 0);
	H_END(m);
}

TEST(fixed_replaces_and_dontunmap_leaves_the_old_range_empty)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);

	REQUIRE(t);
	h_map(t, A1, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	h_map(t, A2, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(h_fill(t, A1, 4 * H_PAGE, 0x31));
	REQUIRE(h_fill(t, A2, 4 * H_PAGE, 0x32));
	CHECK_EQ(mml_mremap(t, A1, 4 * H_PAGE, 4 * H_PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, A2), (long)A2);
	CHECK(h_expect(t, A2, 4 * H_PAGE, 0x31));
	CHECK_EQ(h_poke(t, A1, 1), -EFAULT);
	/* DONTUNMAP: the old range stays mapped, empty (zero-filled on access). */
	CHECK_EQ(mml_mremap(t, A2, 4 * H_PAGE, 4 * H_PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP | MREMAP_FIXED, A1),
		 (long)A1);
	CHECK(h_expect(t, A1, 4 * H_PAGE, 0x31));
	CHECK(h_expect(t, A2, 4 * H_PAGE, 0));
	CHECK_EQ(mml_check(m), 0);
	H_END(m);
}

TEST(errors_as_linux)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);

	REQUIRE(t);
	h_map(t, A1, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	CHECK_EQ(mml_mremap(t, A1 + 1, H_PAGE, H_PAGE, 0, 0), -EINVAL);
	CHECK_EQ(mml_mremap(t, A1, H_PAGE, 0, 0, 0), -EINVAL);
	CHECK_EQ(mml_mremap(t, A1, H_PAGE, H_PAGE, 8, 0), -EINVAL);
	CHECK_EQ(mml_mremap(t, A1, H_PAGE, H_PAGE, MREMAP_FIXED, A2), -EINVAL);
	CHECK_EQ(mml_mremap(t, A1, H_PAGE, 2 * H_PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0), -EINVAL);
	CHECK_EQ(mml_mremap(t, A1, 2 * H_PAGE, 2 * H_PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, A1 + H_PAGE), -EINVAL);
	CHECK_EQ(mml_mremap(t, A2, H_PAGE, 2 * H_PAGE, MREMAP_MAYMOVE, 0), -EFAULT);
	CHECK_EQ(mml_mremap(t, A1, 8 * H_PAGE, 16 * H_PAGE, MREMAP_MAYMOVE, 0), -EFAULT);
	CHECK_EQ(mml_mremap(t, A1, 0, H_PAGE, MREMAP_MAYMOVE, 0), -EINVAL);	/* duplicating private memory */
	CHECK_EQ(mml_check(m), 0);
	H_END(m);
}

/*
 * 6.16's check_mremap_params() and check_prep_vma() run before anything is
 * unmapped: lengths page-aligned first, the new address checked only where
 * one is implied (6.17 fixed a regression that refused junk there), overlap
 * before EFAULT, and a refused FIXED move (the old range leaves its VMA)
 * leaves its target mapped.
 */
TEST(parameters_and_vma_checked_before_anything_is_unmapped)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);

	REQUIRE(t);
	h_map(t, A1, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	h_map(t, A2, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(h_fill(t, A2, 4 * H_PAGE, 0x51));
	CHECK_EQ(mml_mremap(t, A1, H_PAGE, 1ULL << 47, MREMAP_MAYMOVE, 0), -EINVAL);
	h_map(t, A1 + 0x200000, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	h_map(t, A1 + 0x201000, H_PAGE, PROT_READ, H_ANON | MAP_FIXED);
	CHECK(mml_mremap(t, A1 + 0x200000, H_PAGE, 2 * H_PAGE, MREMAP_MAYMOVE, ~0ULL << 20) > 0);
	CHECK_EQ(mml_mremap(t, A1 + 8 * H_PAGE, H_PAGE, H_PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, A1 + 8 * H_PAGE),
		 -EINVAL);	/* overlap before the missing VMA */
	/* DONTUNMAP compares the aligned lengths */
	CHECK_EQ(mml_mremap(t, A1, 10, H_PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP | MREMAP_FIXED, A1 + 0x100000),
		 (long)(A1 + 0x100000));
	/* across the VMA's end: EFAULT, and the target is still there */
	CHECK_EQ(mml_mremap(t, A1 + H_PAGE, 8 * H_PAGE, H_PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, A2), -EFAULT);
	CHECK(h_expect(t, A2, 4 * H_PAGE, 0x51));
	CHECK_EQ(mml_check(m), 0);
	H_END(m);
}

/* Linux 6.17: MREMAP_FIXED with equal lengths moves every VMA of the range, holes kept. */
TEST(a_fixed_move_spans_vmas_and_holes)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);

	REQUIRE(t);
	h_map(t, A1, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	h_map(t, A1 + 2 * H_PAGE, H_PAGE, PROT_READ, H_ANON | MAP_FIXED);	/* another VMA */
	h_map(t, A1 + 4 * H_PAGE, H_PAGE, H_RW, H_ANON | MAP_FIXED);		/* after a hole */
	h_map(t, A2 + 3 * H_PAGE, H_PAGE, H_RW, H_ANON | MAP_FIXED);		/* in the target's hole */
	REQUIRE(h_fill(t, A1, 2 * H_PAGE, 0x61));
	REQUIRE(h_fill(t, A1 + 4 * H_PAGE, H_PAGE, 0x62));
	REQUIRE(h_fill(t, A2 + 3 * H_PAGE, H_PAGE, 0x63));
	CHECK_EQ(mml_mremap(t, A1, 6 * H_PAGE, 6 * H_PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, A2), (long)A2);
	CHECK(h_expect(t, A2, 2 * H_PAGE, 0x61));
	CHECK(h_expect(t, A2 + 2 * H_PAGE, H_PAGE, 0));
	CHECK(h_expect(t, A2 + 3 * H_PAGE, H_PAGE, 0x63));	/* the hole's target untouched */
	CHECK(h_expect(t, A2 + 4 * H_PAGE, H_PAGE, 0x62));
	CHECK_EQ(h_poke(t, A2 + 5 * H_PAGE, 1), -EFAULT);
	CHECK_EQ(h_poke(t, A1, 1), -EFAULT);
	CHECK_EQ(h_poke(t, A1 + 4 * H_PAGE, 1), -EFAULT);
	/* A hole at the start is EFAULT; a resize across VMAs still is. */
	CHECK_EQ(mml_mremap(t, A2 - H_PAGE, 2 * H_PAGE, 2 * H_PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, A1), -EFAULT);
	CHECK_EQ(mml_mremap(t, A2, 3 * H_PAGE, 4 * H_PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, A1), -EFAULT);
	CHECK_EQ(mml_check(m), 0);
	H_END(m);
}

/* __get_unmapped_area()'s security_mmap_addr(): a new address below mmap_min_addr is EPERM. */
TEST(a_new_address_below_mmap_min_addr_is_eperm)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);

	REQUIRE(t);
	h_map(t, A1, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(h_fill(t, A1, 4 * H_PAGE, 0x41));
	CHECK_EQ(mml_mremap(t, A1, H_PAGE, H_PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, 0), -EPERM);
	CHECK_EQ(mml_mremap(t, A1, H_PAGE, H_PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, H_PAGE), -EPERM);
	/* A free hint below it is returned by the search, then refused, as Linux (mmap rounds it up). */
	CHECK_EQ(mml_mremap(t, A1, H_PAGE, H_PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 2 * H_PAGE), -EPERM);
	CHECK(h_expect(t, A1, 4 * H_PAGE, 0x41));
	CHECK_EQ(mml_check(m), 0);
	H_END(m);
}

TEST(swap_entries_and_pins_move_with_the_range)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);
	struct mml_pin *pin;
	uint8_t b = 0x77;

	REQUIRE(t);
	REQUIRE(mml_swapon(m, NULL, 1 << 20, 0) >= 0);
	h_map(t, A1, 8 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(h_fill(t, A1, 8 * H_PAGE, 0x41));
	REQUIRE_EQ(mml_madvise(t, A1, 4 * H_PAGE, MADV_PAGEOUT), 0);
	REQUIRE((h_pagemap(t, A1) & MML_PM_SWAP) != 0);
	REQUIRE_EQ(mml_pin_user_pages(t, A1 + 6 * H_PAGE, 1, MML_FOLL_WRITE | MML_FOLL_LONGTERM, &pin), 1);
	CHECK_EQ(mml_mremap(t, A1, 8 * H_PAGE, 8 * H_PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, A2), (long)A2);
	CHECK((h_pagemap(t, A2) & MML_PM_SWAP) != 0);
	CHECK_EQ(mml_check(m), 0);
	CHECK(h_expect(t, A2, 8 * H_PAGE, 0x41));
	CHECK_EQ(mml_dma_write(pin, 0, &b, 1), 0);
	CHECK(h_expect(t, A2 + 6 * H_PAGE, 1, 0x77));
	mml_unpin(pin);
	CHECK_EQ(mml_check(m), 0);
	H_END(m);
}

TEST(a_thp_moves_whole_and_half_of_one_moves_by_ptes)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);
	pmd_t *pmd;

	REQUIRE(t);
	h_map(t, A1, HUGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE_EQ(mml_madvise(t, A1, HUGE, MADV_HUGEPAGE), 0);
	REQUIRE(h_fill(t, A1, HUGE, 0x51));
	CHECK_EQ(mml_mremap(t, A1, HUGE, HUGE, MREMAP_MAYMOVE | MREMAP_FIXED, A2), (long)A2);
	pmd = mm_find_pmd(t->mm, A2);
	CHECK(pmd && pmd_trans_huge(pmdp_get(pmd)));
	CHECK(h_expect(t, A2, HUGE, 0x51));
	CHECK_EQ(mml_check(m), 0);
	/* Half of it elsewhere (cow.c's mremap'd half THP): split, the pages move by ptes. */
	CHECK_EQ(mml_mremap(t, A2 + HUGE / 2, HUGE / 2, HUGE / 2, MREMAP_MAYMOVE | MREMAP_FIXED, A1), (long)A1);
	CHECK(h_expect(t, A1, HUGE / 2, 0x51));
	CHECK(h_expect(t, A2, HUGE / 2, 0x51));
	CHECK_EQ(mml_check(m), 0);
	H_END(m);
}

/*
 * Both ends 2 MiB-aligned, a whole pmd's worth of small pages: the pte
 * table itself moves (move_normal_pmd), the same frame under the new pmd;
 * one end off by a page: the ptes move into a new table.
 */
TEST(aligned_moves_take_the_pte_table_along)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);
	unsigned long table;
	pmd_t *pmd;

	REQUIRE(t);
	h_map(t, A1, HUGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE_EQ(mml_madvise(t, A1, HUGE, MADV_NOHUGEPAGE), 0);
	REQUIRE(h_fill(t, A1, HUGE, 0x61));
	pmd = mm_find_pmd(t->mm, A1);
	REQUIRE(pmd && !pmd_trans_huge(pmdp_get(pmd)));
	table = pmd_pfn(pmdp_get(pmd));
	CHECK_EQ(mml_mremap(t, A1, HUGE, HUGE, MREMAP_MAYMOVE | MREMAP_FIXED, A2), (long)A2);
	pmd = mm_find_pmd(t->mm, A2);
	CHECK(pmd && pmd_pfn(pmdp_get(pmd)) == table);
	CHECK(h_expect(t, A2, HUGE, 0x61));
	CHECK_EQ(h_poke(t, A1, 1), -EFAULT);
	CHECK_EQ(mml_check(m), 0);
	/* Off by a page: no table can move whole. */
	CHECK_EQ(mml_mremap(t, A2, HUGE, HUGE, MREMAP_MAYMOVE | MREMAP_FIXED, A1 + H_PAGE), (long)(A1 + H_PAGE));
	pmd = mm_find_pmd(t->mm, A1 + H_PAGE);
	CHECK(pmd && pmd_pfn(pmdp_get(pmd)) != table);
	CHECK(h_expect(t, A1 + H_PAGE, HUGE, 0x61));
	CHECK_EQ(mml_check(m), 0);
	H_END(m);
}

TEST(shared_memory_moves_and_stays_shared)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m), *c;

	REQUIRE(t);
	h_map(t, A1, 4 * H_PAGE, H_RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED);
	REQUIRE(h_fill(t, A1, 4 * H_PAGE, 0x61));
	c = h_fork(t);
	REQUIRE(c);
	CHECK_EQ(mml_mremap(t, A1, 4 * H_PAGE, 8 * H_PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, A2), (long)A2);
	CHECK(h_expect(t, A2, 4 * H_PAGE, 0x61));
	REQUIRE(h_fill(t, A2, H_PAGE, 0x62));
	CHECK(h_expect(c, A1, H_PAGE, 0x62));	/* the same shmem pages */
	CHECK_EQ(mml_check(m), 0);
	H_END(m);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
