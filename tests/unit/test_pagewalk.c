/*
 * test_pagewalk.c - walk_page_range(): holes inside and outside VMAs at
 * each level, the callbacks in address order, test_walk and
 * ACTION_CONTINUE, a callback's error stopping the walk, and a pmd leaf
 * (THP) split for a walk that wants ptes, as Linux's (internal API).
 */
#include <string.h>

#include "../harness.h"
#include "mm/internal.h"
#include "mm/pagewalk.h"

#define GB	(1ULL << 30)
#define MB2	(1ULL << 21)

/* What a walk saw, in order. */
struct trace {
	char log[4096];
	size_t len;
	int ptes, present, pmds, holes;
	uint64_t hole_bytes[5];		/* by depth + 1: -1 (no VMA), 0 pgd, 1, 2 pud, 3 pmd */
	uint64_t skip_vma_start;	/* test_walk skips the VMA starting here */
	bool continue_pmds;		/* pmd_entry asks to skip the ptes */
	int stop_after_ptes;		/* pte_entry returns -EIO after this many present ones */
};

static void note(struct trace *tr, const char *fmt, uint64_t a, uint64_t b, int d)
{
	if (tr->len < sizeof(tr->log) - 64)
		tr->len += (size_t)snprintf(tr->log + tr->len, sizeof(tr->log) - tr->len, fmt,
					    (unsigned long long)a, (unsigned long long)b, d);
}

static int t_pte_hole(uint64_t addr, uint64_t next, int depth, struct mm_walk *walk)
{
	struct trace *tr = walk->private;

	tr->holes++;
	tr->hole_bytes[depth + 1] += next - addr;
	note(tr, "hole %llx-%llx depth %d\n", addr, next, depth);
	return 0;
}

static int t_pmd_entry(pmd_t *pmd, uint64_t addr, uint64_t next, struct mm_walk *walk)
{
	struct trace *tr = walk->private;

	tr->pmds++;
	if (tr->continue_pmds)
		walk->action = ACTION_CONTINUE;
	return 0;
}

static int t_pte_entry(pte_t *pte, uint64_t addr, uint64_t next, struct mm_walk *walk)
{
	struct trace *tr = walk->private;
	pte_t ptent = ptep_get(pte);

	tr->ptes++;
	if (pte_none(ptent))
		return 0;
	tr->present++;
	note(tr, "pte %llx-%llx %d\n", addr, next, walk->vma != NULL);
	if (tr->stop_after_ptes && tr->present == tr->stop_after_ptes)
		return -EIO;
	return 0;
}

static int t_test_walk(uint64_t addr, uint64_t next, struct mm_walk *walk)
{
	struct trace *tr = walk->private;

	return walk->vma->vm_start == tr->skip_vma_start;
}

static const struct mm_walk_ops ops = {
	.pmd_entry = t_pmd_entry,
	.pte_entry = t_pte_entry,
	.pte_hole = t_pte_hole,
	.test_walk = t_test_walk,
};

static int walk(struct mml_task *t, uint64_t start, uint64_t end, struct trace *tr)
{
	int ret;

	down_read(&t->mm->mmap_lock);
	ret = walk_page_range(t->mm, start, end, &ops, tr);
	up_read(&t->mm->mmap_lock);
	return ret;
}

/* Two VMAs a GiB apart (different pud entries), a page written in each. */
static struct mml_task *two_vmas(struct mml_machine *m)
{
	struct mml_task *t = h_spawn(m);

	if (!t)
		return NULL;
	h_map(t, GB, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	h_map(t, 2 * GB, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	h_poke(t, GB + H_PAGE, 1);
	h_poke(t, 2 * GB + 2 * H_PAGE, 2);
	return t;
}

TEST(walk_visits_tables_level_by_level_and_reports_holes)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = two_vmas(m);
	struct trace tr = { .skip_vma_start = 1 };

	REQUIRE(t);
	CHECK_EQ(walk(t, GB - 2 * H_PAGE, 2 * GB + 4 * H_PAGE, &tr), 0);
	/* In address order: a hole below the first VMA, its ptes, the gap, the second. */
	CHECK(strcmp(tr.log,
		     "hole 3fffe000-40000000 depth -1\n"
		     "pte 40001000-40002000 1\n"
		     "hole 40004000-80000000 depth -1\n"
		     "pte 80002000-80003000 1\n") == 0);
	CHECKF(tr.ptes == 8 && tr.pmds == 2, "%d ptes, %d pmds\n%s", tr.ptes, tr.pmds, tr.log);
	CHECK_EQ(tr.holes, 2);
	H_END(m);
}

TEST(walk_reports_missing_levels_inside_a_vma)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);
	struct trace tr = { .skip_vma_start = 1 };
	uint8_t byte;

	REQUIRE(t);
	/* Two GiB of VMA, one page read: no pud entry above, no pmd entry past it. */
	h_map(t, GB, 2 * GB, PROT_READ, H_ANON | MAP_FIXED | MAP_NORESERVE);
	CHECK_EQ(h_peek(t, GB + 3 * MB2, &byte), 0);
	CHECK_EQ(walk(t, GB, 3 * GB, &tr), 0);
	/* A hole per none pmd entry but the one read, a hole for the none pud entry. */
	CHECK_EQ(tr.hole_bytes[3 + 1], GB - MB2);
	CHECK_EQ(tr.hole_bytes[2 + 1], GB);
	CHECK_EQ(tr.holes, 511 + 1);
	CHECK(strstr(tr.log, "hole 40000000-40200000 depth 3\n") != NULL);
	/* The zero page is mapped: one present pte, the rest of its table none. */
	CHECK_EQ(tr.present, 1);
	CHECK_EQ(tr.ptes, 512);
	H_END(m);
}

TEST(test_walk_skips_a_vma_and_action_continue_skips_ptes)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = two_vmas(m);
	struct trace skip = { .skip_vma_start = GB }, cont = { .skip_vma_start = 1, .continue_pmds = true };

	REQUIRE(t);
	CHECK_EQ(walk(t, GB, 2 * GB + 4 * H_PAGE, &skip), 0);
	CHECKF(skip.present == 1 && strstr(skip.log, "pte 80002000"), "%s", skip.log);
	CHECK_EQ(walk(t, GB, 2 * GB + 4 * H_PAGE, &cont), 0);
	CHECK_EQ(cont.pmds, 2);
	CHECK_EQ(cont.ptes, 0);
	H_END(m);
}

TEST(a_callback_error_stops_the_walk)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = two_vmas(m);
	struct trace tr = { .skip_vma_start = 1, .stop_after_ptes = 1 };

	REQUIRE(t);
	CHECK_EQ(walk(t, GB, 2 * GB + 4 * H_PAGE, &tr), -EIO);
	CHECK_EQ(tr.present, 1);
	CHECK(strstr(tr.log, "80002000") == NULL);
	CHECK_EQ(walk(t, GB, GB, &tr), -EINVAL);	/* an empty range */
	H_END(m);
}

/*
 * A THP's pmd leaf: pmd_entry sees it as it is; left to the ptes (no
 * ACTION_CONTINUE), the walker splits it and walks its 512 ptes, each
 * mapping the same page as before, and the bytes stay.
 */
TEST(a_pmd_leaf_left_to_the_ptes_is_split)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);
	struct trace tr = { .skip_vma_start = 1 };
	uint64_t pfn;
	pmd_t *pmd;

	REQUIRE(t);
	h_map(t, GB, MB2, H_RW, H_ANON | MAP_FIXED);
	REQUIRE_EQ(mml_madvise(t, GB, MB2, MADV_HUGEPAGE), 0);
	REQUIRE(h_fill(t, GB, MB2, 7));
	pmd = mm_find_pmd(t->mm, GB);
	REQUIRE(pmd && pmd_trans_huge(pmdp_get(pmd)));
	pfn = H_PFN(h_pagemap(t, GB));
	CHECK_EQ(walk(t, GB, GB + MB2, &tr), 0);
	CHECK_EQ(tr.pmds, 1);
	CHECK_EQ(tr.present, 512);
	CHECK(pmd_table(pmdp_get(pmd)));
	CHECK_EQ(mml_vmstat(m, "thp_split_pmd"), 1);
	CHECK_EQ(H_PFN(h_pagemap(t, GB + 511 * H_PAGE)), pfn + 511);
	CHECK(h_expect(t, GB, MB2, 7));
	CHECK_EQ(mml_check(m), 0);
	H_END(m);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
