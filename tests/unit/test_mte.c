/*
 * test_mte.c - memory tags (MML_PROT_MTE) through the public API: the
 * errors of mmap, mprotect and the tag calls, tags that start at zero and
 * survive copy-on-write, fork, swap-out and swap-in, swapoff and exit;
 * tag records that go with their swap slots; an injected failure to save
 * tags that leaves everything as it was; mremap of swapped-out pages,
 * whose records go with their swap entries; and three of seed 000's zoo
 * bugs.
 */
#include <stdlib.h>
#include <string.h>

#include "../harness.h"

/* Linux's values (<linux/mman.h>); the C library names them only with _GNU_SOURCE. */
#ifndef MREMAP_MAYMOVE
#define MREMAP_MAYMOVE		1
#define MREMAP_FIXED		2
#endif

#define BASE	0x100000000ULL
#define MOVED	(BASE + 64 * H_PAGE)	/* where mremap moves the BASE mapping */
#define NPAGES	4
#define H_RWM	(H_RW | MML_PROT_MTE)

static unsigned tag_of(struct mml_task *t, uint64_t addr)
{
	unsigned tag = 99;

	CHECK_EQ(mml_get_tag(t, addr, &tag), 0);
	return tag;
}

/* Page i gets tag (i + g) % 16 in granule g, and data byte 0x30 + i. */
static void fill_tagged(struct mml_task *t, uint64_t base, int npages)
{
	for (int i = 0; i < npages; i++) {
		h_fill(t, base + i * H_PAGE, H_PAGE, 0x30 + i);
		for (unsigned g = 0; g < H_PAGE / 16; g++)
			mml_set_tag(t, base + i * H_PAGE + g * 16, (i + g) % 16);
	}
}

/* Pages [first, first + n) of the BASE mapping still hold what fill_tagged put there. */
static bool tags_intact(struct mml_task *t, uint64_t base, int first, int n)
{
	for (int i = first; i < first + n; i++) {
		if (!h_expect(t, base + i * H_PAGE, H_PAGE, 0x30 + i))
			return false;
		for (unsigned g = 0; g < H_PAGE / 16; g++) {
			unsigned tag = 99;

			if (!CHECK_EQ(mml_get_tag(t, base + i * H_PAGE + g * 16 + (g % 16), &tag), 0) ||
			    !CHECKF(tag == (i + g) % 16, "page %d granule %u: tag %u, expected %u", i, g, tag,
				    (i + g) % 16))
				return false;
		}
	}
	return true;
}

static struct mml_task *setup(struct mml_machine **mp, uint64_t swap)
{
	struct mml_machine *m = h_machine(16 << 20);
	struct mml_task *t = m ? h_spawn(m) : NULL;

	*mp = m;
	if (!t || (swap && mml_swapon(m, NULL, swap, -1) < 0))
		return NULL;
	if (!h_map(t, BASE, NPAGES * H_PAGE, H_RWM, H_ANON | MAP_FIXED))
		return NULL;
	fill_tagged(t, BASE, NPAGES);
	return t;
}

TEST(tag_calls_fault_like_accesses_and_say_linux_errors)
{
	struct mml_machine *m = h_machine(16 << 20);
	struct mml_task *t = m ? h_spawn(m) : NULL;
	unsigned tag = 99;
	char *smaps;

	REQUIRE(t);
	REQUIRE(h_map(t, BASE, 2 * H_PAGE, H_RWM, H_ANON | MAP_FIXED));
	REQUIRE(h_map(t, BASE + 4 * H_PAGE, H_PAGE, H_RW, H_ANON | MAP_FIXED));
	REQUIRE(h_map(t, BASE + 6 * H_PAGE, H_PAGE, PROT_READ | MML_PROT_MTE, H_ANON | MAP_FIXED));
	/* A read maps the zero page, whose tags are zero; a tag store breaks COW. */
	CHECK_EQ(tag_of(t, BASE), 0);
	CHECK(h_pagemap(t, BASE) & MML_PM_PRESENT);
	CHECK(!(h_pagemap(t, BASE) & MML_PM_MMAP_EXCLUSIVE));
	CHECK_EQ(mml_set_tag(t, BASE + 17, 9), 0);
	CHECK(h_pagemap(t, BASE) & MML_PM_MMAP_EXCLUSIVE);
	CHECK_EQ(tag_of(t, BASE + 16), 9);
	CHECK_EQ(tag_of(t, BASE + 31), 9);
	CHECK_EQ(tag_of(t, BASE + 15), 0);
	CHECK_EQ(tag_of(t, BASE + 32), 0);
	CHECK(h_expect(t, BASE, H_PAGE, 0));		/* tags are not data */
	CHECK_EQ(mml_set_tag(t, BASE, 16), -EINVAL);
	CHECK_EQ(mml_set_tag(t, BASE + 2 * H_PAGE, 1), -EFAULT);	/* nothing mapped */
	CHECK_EQ(mml_get_tag(t, BASE + 2 * H_PAGE, &tag), -EFAULT);
	CHECK_EQ(mml_set_tag(t, BASE + 4 * H_PAGE, 1), -EINVAL);	/* no PROT_MTE */
	CHECK_EQ(mml_get_tag(t, BASE + 4 * H_PAGE, &tag), -EINVAL);
	CHECK_EQ(mml_set_tag(t, BASE + 6 * H_PAGE, 1), -EFAULT);	/* read-only */
	CHECK_EQ(mml_get_tag(t, BASE + 6 * H_PAGE, &tag), 0);
	CHECK_EQ(mml_get_tag(t, H_TASK_SIZE, &tag), -EFAULT);
	/* PROT_MTE is sticky, as on arm64: an mprotect without it keeps the tags. */
	CHECK_EQ(mml_mprotect(t, BASE, H_PAGE, H_RW), 0);
	CHECK_EQ(tag_of(t, BASE + 16), 9);
	CHECK_EQ(mml_mprotect(t, BASE, H_PAGE, PROT_NONE), 0);
	CHECK_EQ(mml_get_tag(t, BASE, &tag), -EFAULT);
	CHECK_EQ(mml_mprotect(t, BASE, H_PAGE, PROT_READ), 0);
	CHECK_EQ(tag_of(t, BASE + 16), 9);
	CHECK_EQ(mml_mprotect(t, BASE, H_PAGE, H_RWM), 0);
	/* A page written before PROT_MTE starts with zero tags. */
	CHECK(h_fill(t, BASE + 4 * H_PAGE, H_PAGE, 0x44));
	CHECK_EQ(mml_mprotect(t, BASE + 4 * H_PAGE, H_PAGE, H_RWM), 0);
	CHECK_EQ(tag_of(t, BASE + 4 * H_PAGE + 100), 0);
	CHECK_EQ(mml_mprotect(t, BASE, H_PAGE, H_RW | 0x40), -EINVAL);
	smaps = h_show_smaps(t);
	REQUIRE(smaps);
	CHECK(strstr(smaps, " mt"));
	free(smaps);
	H_END(m);
}

TEST(tags_survive_cow_and_fork)
{
	struct mml_machine *m;
	struct mml_task *t = setup(&m, 0), *c;

	REQUIRE(t);
	c = h_fork(t);
	REQUIRE(c);
	CHECK(tags_intact(c, BASE, 0, NPAGES));
	/* The child's tag store copies the page: the parent keeps its tags. */
	CHECK_EQ(mml_set_tag(c, BASE, 0xf), 0);
	CHECK_EQ(tag_of(t, BASE), 0);
	CHECK_EQ(tag_of(c, BASE), 0xf);
	CHECK_EQ(mml_set_tag(c, BASE, 0), 0);
	/* A data write copies the tags with the bytes (copy_user_highpage). */
	CHECK(h_fill(t, BASE + H_PAGE, 1, 0x31));
	CHECK(tags_intact(t, BASE, 0, NPAGES));
	CHECK(tags_intact(c, BASE, 0, NPAGES));
	CHECK_EQ(mml_exit(c), 0);
	H_END(m);
}

TEST(tags_survive_swap_out_and_in_fork_and_swapoff)
{
	struct mml_machine *m;
	struct mml_task *t = setup(&m, 4 << 20), *c;

	REQUIRE(t);
	CHECK_EQ(mml_madvise(t, BASE, NPAGES * H_PAGE, MADV_PAGEOUT), 0);
	for (int i = 0; i < NPAGES; i++)
		CHECK(h_pagemap(t, BASE + i * H_PAGE) & MML_PM_SWAP);
	CHECK_EQ(mml_check(m), 0);
	/* Fork shares the swap entries, and with them the saved tags. */
	c = h_fork(t);
	REQUIRE(c);
	CHECK(tags_intact(t, BASE, 0, 2));		/* do_swap_page */
	CHECK_EQ(mml_madvise(t, BASE, NPAGES * H_PAGE, MADV_PAGEOUT), 0);
	CHECK_EQ(mml_swapoff(m, 0), 0);		/* unuse_pte, in both */
	CHECK(tags_intact(c, BASE, 0, NPAGES));
	CHECK(tags_intact(t, BASE, 0, NPAGES));
	CHECK_EQ(mml_exit(c), 0);
	H_END(m);
}

TEST(tag_records_go_with_their_slots)
{
	struct mml_machine *m;
	struct mml_task *t = setup(&m, 4 << 20), *c;

	REQUIRE(t);
	c = h_fork(t);
	REQUIRE(c);
	CHECK_EQ(mml_exit(c), 0);
	CHECK_EQ(mml_madvise(t, BASE, NPAGES * H_PAGE, MADV_PAGEOUT), 0);
	c = h_fork(t);
	REQUIRE(c);
	CHECK_EQ(mml_exit(c), 0);	/* zap of the child's swap entries */
	CHECK_EQ(mml_munmap(t, BASE, H_PAGE), 0);
	CHECK(tags_intact(t, BASE, 1, 1));
	CHECK_EQ(mml_check(m), 0);	/* records only in slots in use, all counted */
	CHECK_EQ(mml_exit(t), 0);
	H_END(m);	/* and none left after exit */
}

TEST(tags_move_with_swapped_out_pages)
{
	struct mml_machine *m;
	struct mml_task *t = setup(&m, 4 << 20), *c;

	REQUIRE(t);
	CHECK_EQ(mml_madvise(t, BASE, NPAGES * H_PAGE, MADV_PAGEOUT), 0);
	c = h_fork(t);	/* the child's swap ptes name the same slots */
	REQUIRE(c);
	CHECK_EQ(mml_mremap(t, BASE, NPAGES * H_PAGE, NPAGES * H_PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, MOVED),
		 (long)MOVED);
	for (int i = 0; i < NPAGES; i++)
		CHECK(h_pagemap(t, MOVED + i * H_PAGE) & MML_PM_SWAP);
	CHECK_EQ(mml_check(m), 0);	/* each record still in its slot, none left behind */
	CHECK(tags_intact(t, MOVED, 0, NPAGES));
	CHECK(tags_intact(c, BASE, 0, NPAGES));
	CHECK_EQ(mml_exit(c), 0);
	H_END(m);
}

TEST(failing_to_save_tags_leaves_the_page_mapped)
{
	struct mml_machine *m;
	struct mml_task *t = setup(&m, 4 << 20);
	struct mml_fail f = { .sites = MML_FAIL_TAG, .countdown = 1, .repeat = 0 };

	REQUIRE(t);
	REQUIRE_EQ(mml_fail_set(m, &f), 0);
	CHECK_EQ(mml_madvise(t, BASE, NPAGES * H_PAGE, MADV_PAGEOUT), 0);
	CHECK_EQ(mml_fail_injected(m), 1);
	CHECK(h_pagemap(t, BASE) & MML_PM_PRESENT);
	CHECK(h_pagemap(t, BASE + H_PAGE) & MML_PM_SWAP);
	CHECK_EQ(mml_check(m), 0);	/* swap_free undid swap_duplicate */
	CHECK(tags_intact(t, BASE, 0, NPAGES));
	mml_fail_set(m, NULL);
	H_END(m);
}

TEST(zoo_no_swap_free_on_arch_unmap_failure_leaks_the_slot)
{
	struct mml_machine *m;
	struct mml_task *t = setup(&m, 4 << 20);
	struct mml_fail f = { .sites = MML_FAIL_TAG, .countdown = 1, .repeat = 0 };

	REQUIRE(t);
	REQUIRE_EQ(mml_bug_inject(m, "no-swap-free-on-arch-unmap-failure"), 0);
	REQUIRE_EQ(mml_fail_set(m, &f), 0);
	CHECK_EQ(mml_madvise(t, BASE, NPAGES * H_PAGE, MADV_PAGEOUT), 0);
	CHECK_EQ(mml_check(m), -EUCLEAN);
	h_forget_machine(m);
	CHECK_EQ(mml_machine_free(m), -EBUSY);
}

TEST(zoo_swapoff_no_tag_restore_loses_the_tags)
{
	struct mml_machine *m;
	struct mml_task *t = setup(&m, 4 << 20);
	unsigned tag = 99;

	REQUIRE(t);
	REQUIRE_EQ(mml_bug_inject(m, "swapoff-no-tag-restore"), 0);
	CHECK_EQ(mml_madvise(t, BASE, NPAGES * H_PAGE, MADV_PAGEOUT), 0);
	CHECK_EQ(mml_swapoff(m, 0), 0);
	CHECK_EQ(mml_get_tag(t, BASE + 16, &tag), 0);
	CHECK_EQ(tag, 0);	/* the saved tag was 1 */
	H_END(m);	/* nothing else breaks: the loss is the process's */
}

TEST(zoo_mremap_drops_swap_tags_loses_the_tags)
{
	struct mml_machine *m;
	struct mml_task *t = setup(&m, 4 << 20);
	unsigned tag = 99;

	REQUIRE(t);
	REQUIRE_EQ(mml_bug_inject(m, "mremap-drops-swap-tags"), 0);
	CHECK_EQ(mml_madvise(t, BASE, NPAGES * H_PAGE, MADV_PAGEOUT), 0);
	CHECK_EQ(mml_mremap(t, BASE, NPAGES * H_PAGE, NPAGES * H_PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, MOVED),
		 (long)MOVED);
	CHECK_EQ(mml_get_tag(t, MOVED + 16, &tag), 0);
	CHECK_EQ(tag, 0);	/* the saved tag was 1 */
	H_END(m);	/* nothing else breaks: a slot without a record is a page that had no tags */
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
