/*
 * test_api_madvise.c - mml_madvise: Linux's exact semantics and errors.
 *
 * Linux source read: mm/madvise.c.
 *   do_madvise() / is_valid_madvise(): unknown advice -> -EINVAL (checked
 *   first, so even with len 0); start not page aligned -> -EINVAL;
 *   len_in != 0 but PAGE_ALIGN(len_in) == 0 -> -EINVAL; start + len wraps ->
 *   -EINVAL; len 0 -> 0.
 *   madvise_walk_vmas(): VMAs in the range are visited in order; a gap
 *   before or between them sets unmapped_error = -ENOMEM and the walk goes
 *   on; running past the last VMA returns -ENOMEM.  So the advice IS applied
 *   to every mapped part, and the call still returns -ENOMEM.
 *   madvise_vma_behavior(): MADV_DONTFORK sets VM_DONTCOPY, MADV_DOFORK
 *   clears it; MADV_WIPEONFORK sets VM_WIPEONFORK and is -EINVAL on a file
 *   or shared mapping; MADV_KEEPONFORK clears it.
 * kernel/fork.c dup_mmap(): a VM_DONTCOPY VMA is not copied (the child has
 * nothing there); a VM_WIPEONFORK VMA is copied without its pages (the
 * child reads zeros).
 */
#define _GNU_SOURCE
#include "../harness.h"

#include <stdlib.h>
#include <string.h>

#define RAM	(16ULL << 20)
#define BASE	0x100000000ULL

TEST(madvise_argument_errors)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	uint64_t a = h_map(t, BASE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(t, a, 2 * H_PAGE, 0x3a);

	CHECK_EQ(mml_madvise(t, a, H_PAGE, 12345), -EINVAL);
	CHECK_EQ(mml_madvise(t, a, H_PAGE, -1), -EINVAL);
	CHECK_EQ(mml_madvise(t, a, H_PAGE, 5), -EINVAL);	/* 5 is not an advice */
	CHECK_EQ(mml_madvise(t, a, 0, 12345), -EINVAL);		/* advice checked before len */
	CHECK_EQ(mml_madvise(t, a + 1, H_PAGE, MADV_DONTNEED), -EINVAL);
	CHECK_EQ(mml_madvise(t, a + 1, 0, MADV_DONTNEED), -EINVAL);	/* alignment before len */
	CHECK_EQ(mml_madvise(t, a, UINT64_MAX, MADV_DONTNEED), -EINVAL);	/* rounds to 0 */
	CHECK_EQ(mml_madvise(t, a, 0 - a + 10 * H_PAGE, MADV_DONTNEED), -EINVAL); /* end wraps */
	/* None of them touched the data. */
	h_expect(t, a, 2 * H_PAGE, 0x3a);
	H_END(m);
}

TEST(madvise_len_zero_is_success)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);

	CHECK_EQ(mml_madvise(t, BASE, 0, MADV_DONTNEED), 0);	/* even where nothing is mapped */
	uint64_t a = h_map(t, BASE, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(t, a, H_PAGE, 0x3b);
	CHECK_EQ(mml_madvise(t, a, 0, MADV_DONTNEED), 0);
	h_expect(t, a, H_PAGE, 0x3b);
	H_END(m);
}

TEST(madvise_plain_hints_accepted)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	uint64_t a = h_map(t, BASE, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(t, a, 4 * H_PAGE, 0x3c);

	CHECK_EQ(mml_madvise(t, a, 4 * H_PAGE, MADV_NORMAL), 0);
	CHECK_EQ(mml_madvise(t, a, 2 * H_PAGE, MADV_RANDOM), 0);
	CHECK_EQ(mml_madvise(t, a + 2 * H_PAGE, 2 * H_PAGE, MADV_SEQUENTIAL), 0);
	CHECK_EQ(mml_madvise(t, a, 4 * H_PAGE, MADV_WILLNEED), 0);
	CHECK_EQ(mml_madvise(t, a, 4 * H_PAGE, MADV_NORMAL), 0);
	h_expect(t, a, 4 * H_PAGE, 0x3c);
	H_END(m);
}

TEST(madvise_dontneed_reads_back_zeros)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	uint64_t a = h_map(t, BASE, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	long anon0 = mml_meminfo(m, "AnonPages");

	h_fill(t, a, 4 * H_PAGE, 0x4d);
	CHECK_EQ(mml_meminfo(m, "AnonPages"), anon0 + 16);
	/* Length rounded up: 1 byte means the whole second page. */
	CHECK_EQ(mml_madvise(t, a + H_PAGE, 1, MADV_DONTNEED), 0);
	h_expect(t, a, H_PAGE, 0x4d);
	CHECK(!(h_pagemap(t, a + H_PAGE) & MML_PM_PRESENT));
	CHECK_EQ(mml_meminfo(m, "AnonPages"), anon0 + 12);
	h_expect(t, a + H_PAGE, H_PAGE, 0);
	h_expect(t, a + 2 * H_PAGE, 2 * H_PAGE, 0x4d);

	CHECK_EQ(mml_madvise(t, a, 4 * H_PAGE, MADV_DONTNEED), 0);
	h_expect(t, a, 4 * H_PAGE, 0);
	CHECK_EQ(mml_meminfo(m, "AnonPages"), anon0);
	/* The mapping is still there and usable. */
	h_fill(t, a, 4 * H_PAGE, 0x4e);
	h_expect(t, a, 4 * H_PAGE, 0x4e);
	H_END(m);
}

TEST(madvise_hole_applies_to_mapped_parts_then_enomem)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	/* [hole][A: 2 pages][hole][B: 2 pages][hole] */
	uint64_t a = h_map(t, BASE + H_PAGE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	uint64_t b = h_map(t, BASE + 4 * H_PAGE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a && b);

	h_fill(t, a, 2 * H_PAGE, 0xa5);
	h_fill(t, b, 2 * H_PAGE, 0xb5);
	CHECK_EQ(mml_madvise(t, a, 5 * H_PAGE, MADV_DONTNEED), -ENOMEM);
	h_expect(t, a, 2 * H_PAGE, 0);
	h_expect(t, b, 2 * H_PAGE, 0);

	/* Starting in a hole. */
	h_fill(t, a, 2 * H_PAGE, 0xa6);
	h_fill(t, b, 2 * H_PAGE, 0xb6);
	CHECK_EQ(mml_madvise(t, BASE, 4 * H_PAGE, MADV_DONTNEED), -ENOMEM);
	h_expect(t, a, 2 * H_PAGE, 0);
	h_expect(t, b, 2 * H_PAGE, 0xb6);

	/* Running past the last VMA. */
	h_fill(t, a, 2 * H_PAGE, 0xa7);
	CHECK_EQ(mml_madvise(t, b + H_PAGE, 3 * H_PAGE, MADV_DONTNEED), -ENOMEM);
	h_expect(t, b, H_PAGE, 0xb6);
	h_expect(t, b + H_PAGE, H_PAGE, 0);
	h_expect(t, a, 2 * H_PAGE, 0xa7);

	/* Entirely in a hole, and entirely past every VMA. */
	CHECK_EQ(mml_madvise(t, a + 2 * H_PAGE, H_PAGE, MADV_DONTNEED), -ENOMEM);
	CHECK_EQ(mml_madvise(t, BASE + 100 * H_PAGE, H_PAGE, MADV_NORMAL), -ENOMEM);
	h_expect(t, a, 2 * H_PAGE, 0xa7);

	/* Flag-changing advice also goes through to the mapped parts. */
	CHECK_EQ(mml_madvise(t, BASE, 8 * H_PAGE, MADV_DONTFORK), -ENOMEM);
	h_fill(t, a, 2 * H_PAGE, 0xa8);
	struct mml_task *c = h_fork(t);
	REQUIRE(c);
	CHECK_EQ(h_peek(c, a, NULL), -EFAULT);
	CHECK_EQ(h_peek(c, b, NULL), -EFAULT);
	h_expect(t, a, 2 * H_PAGE, 0xa8);
	CHECK_EQ(mml_exit(c), 0);
	H_END(m);
}

TEST(madvise_wipeonfork)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *p = h_spawn(m);
	REQUIRE(p);
	uint64_t a = h_map(p, BASE, 3 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(p, a, 3 * H_PAGE, 0x70);

	CHECK_EQ(mml_madvise(p, a, 3 * H_PAGE, MADV_WIPEONFORK), 0);
	struct mml_task *c = h_fork(p);
	REQUIRE(c);
	h_expect(c, a, 3 * H_PAGE, 0);			/* child: zeros */
	h_expect(p, a, 3 * H_PAGE, 0x70);		/* parent keeps its data */
	h_fill(c, a, H_PAGE, 0x71);			/* the child's area is usable */
	h_expect(c, a, H_PAGE, 0x71);
	h_expect(p, a, H_PAGE, 0x70);
	h_fill(p, a + H_PAGE, H_PAGE, 0x72);
	h_expect(c, a + H_PAGE, H_PAGE, 0);

	/* VM_WIPEONFORK is inherited by the child's VMA: a grandchild gets zeros too. */
	struct mml_task *g = h_fork(c);
	REQUIRE(g);
	h_expect(g, a, 3 * H_PAGE, 0);
	CHECK_EQ(mml_exit(g), 0);
	CHECK_EQ(mml_exit(c), 0);
	h_expect(p, a, H_PAGE, 0x70);
	h_expect(p, a + H_PAGE, H_PAGE, 0x72);
	H_END(m);
}

TEST(madvise_wipeonfork_part_of_a_vma)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *p = h_spawn(m);
	REQUIRE(p);
	uint64_t a = h_map(p, BASE, 3 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	for (int i = 0; i < 3; i++)
		h_fill(p, a + i * H_PAGE, H_PAGE, 0x80 + i);

	CHECK_EQ(mml_madvise(p, a + H_PAGE, H_PAGE, MADV_WIPEONFORK), 0);
	struct mml_task *c = h_fork(p);
	REQUIRE(c);
	h_expect(c, a, H_PAGE, 0x80);
	h_expect(c, a + H_PAGE, H_PAGE, 0);
	h_expect(c, a + 2 * H_PAGE, H_PAGE, 0x82);
	for (int i = 0; i < 3; i++)
		h_expect(p, a + i * H_PAGE, H_PAGE, 0x80 + i);
	CHECK_EQ(mml_exit(c), 0);
	H_END(m);
}

TEST(madvise_keeponfork_undoes_wipeonfork)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *p = h_spawn(m);
	REQUIRE(p);
	uint64_t a = h_map(p, BASE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(p, a, 2 * H_PAGE, 0x90);

	CHECK_EQ(mml_madvise(p, a, 2 * H_PAGE, MADV_WIPEONFORK), 0);
	CHECK_EQ(mml_madvise(p, a, 2 * H_PAGE, MADV_KEEPONFORK), 0);
	struct mml_task *c = h_fork(p);
	REQUIRE(c);
	h_expect(c, a, 2 * H_PAGE, 0x90);
	CHECK_EQ(mml_exit(c), 0);

	/* KEEPONFORK on part of it: only the other part is wiped. */
	CHECK_EQ(mml_madvise(p, a, 2 * H_PAGE, MADV_WIPEONFORK), 0);
	CHECK_EQ(mml_madvise(p, a + H_PAGE, H_PAGE, MADV_KEEPONFORK), 0);
	c = h_fork(p);
	REQUIRE(c);
	h_expect(c, a, H_PAGE, 0);
	h_expect(c, a + H_PAGE, H_PAGE, 0x90);
	CHECK_EQ(mml_exit(c), 0);
	H_END(m);
}

TEST(madvise_wipeonfork_shared_is_einval)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *p = h_spawn(m);
	REQUIRE(p);

	/* Only private anonymous memory can be wiped on fork. */
	long s = mml_mmap(p, BASE, H_PAGE, H_RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	REQUIRE_EQ(s, (long)BASE);
	h_fill(p, BASE, H_PAGE, 0x1f);
	CHECK_EQ(mml_madvise(p, BASE, H_PAGE, MADV_WIPEONFORK), -EINVAL);
	struct mml_task *c = h_fork(p);
	REQUIRE(c);
	h_expect(c, BASE, H_PAGE, 0x1f);
	CHECK_EQ(mml_exit(c), 0);
	H_END(m);
}

TEST(madvise_dontfork_child_faults)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *p = h_spawn(m);
	REQUIRE(p);
	uint64_t a = h_map(p, BASE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	uint64_t k = h_map(p, BASE + 4 * H_PAGE, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a && k);
	h_fill(p, a, 2 * H_PAGE, 0x61);
	h_fill(p, k, H_PAGE, 0x62);

	CHECK_EQ(mml_madvise(p, a, 2 * H_PAGE, MADV_DONTFORK), 0);
	struct mml_task *c = h_fork(p);
	REQUIRE(c);
	uint8_t v;

	CHECK_EQ(h_peek(c, a, &v), -EFAULT);
	CHECK_EQ(h_poke(c, a + H_PAGE, 1), -EFAULT);
	h_expect(c, k, H_PAGE, 0x62);			/* the other VMA is copied */
	h_expect(p, a, 2 * H_PAGE, 0x61);
	/* The range is free in the child. */
	CHECK_EQ(mml_mmap(c, a, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED_NOREPLACE, -1, 0), (long)a);
	h_expect(c, a, 2 * H_PAGE, 0);
	h_fill(c, a, H_PAGE, 0x63);
	h_expect(p, a, 2 * H_PAGE, 0x61);
	CHECK_EQ(mml_exit(c), 0);

	/* The parent's pages were never shared: still exclusive. */
	CHECK(h_pagemap(p, a) & MML_PM_MMAP_EXCLUSIVE);
	H_END(m);
}

TEST(madvise_dofork_undoes_dontfork)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *p = h_spawn(m);
	REQUIRE(p);
	uint64_t a = h_map(p, BASE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(p, a, 2 * H_PAGE, 0x64);

	CHECK_EQ(mml_madvise(p, a, 2 * H_PAGE, MADV_DONTFORK), 0);
	CHECK_EQ(mml_madvise(p, a, 2 * H_PAGE, MADV_DOFORK), 0);
	struct mml_task *c = h_fork(p);
	REQUIRE(c);
	h_expect(c, a, 2 * H_PAGE, 0x64);
	CHECK_EQ(mml_exit(c), 0);

	/* DONTFORK on the first page only. */
	CHECK_EQ(mml_madvise(p, a, H_PAGE, MADV_DONTFORK), 0);
	c = h_fork(p);
	REQUIRE(c);
	CHECK_EQ(h_peek(c, a, NULL), -EFAULT);
	h_expect(c, a + H_PAGE, H_PAGE, 0x64);
	CHECK_EQ(mml_exit(c), 0);
	H_END(m);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
