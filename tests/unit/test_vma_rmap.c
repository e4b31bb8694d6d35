/*
 * test_vma_rmap.c - VMA split and merge, anon_vma chains across fork, the
 * reverse map, and page-table freeing (internal API).
 */
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "mm/internal.h"

static unsigned long nr_vmas(struct mml_task *t)
{
	return t->mm->map_count;
}

TEST(adjacent_mmaps_merge_and_mprotect_splits_then_remerges)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);
	uint64_t a;

	REQUIRE(t);
	a = h_map(t, 0x10000000, 3 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	h_map(t, 0x10000000 + 3 * H_PAGE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	CHECK_EQ(nr_vmas(t), 1);
	CHECK(h_fill(t, a, 5 * H_PAGE, 0x11));
	CHECK_EQ(mml_mprotect(t, a + H_PAGE, H_PAGE, PROT_READ), 0);
	CHECK_EQ(nr_vmas(t), 3);
	CHECK_EQ(mml_mprotect(t, a + H_PAGE, H_PAGE, H_RW), 0);
	CHECK_EQ(nr_vmas(t), 1);
	CHECK(h_expect(t, a, 5 * H_PAGE, 0x11));
	H_END(m);
}

TEST(different_flags_do_not_merge)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);

	REQUIRE(t);
	h_map(t, 0x10000000, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	h_map(t, 0x10001000, H_PAGE, PROT_READ, H_ANON | MAP_FIXED);
	CHECK_EQ(nr_vmas(t), 2);
	CHECK_EQ(mml_madvise(t, 0x10000000, H_PAGE, MADV_DONTFORK), 0);
	CHECK_EQ(mml_mprotect(t, 0x10001000, H_PAGE, H_RW), 0);
	CHECK_EQ(nr_vmas(t), 2);	/* VM_DONTCOPY still differs */
	CHECK_EQ(mml_madvise(t, 0x10001000, H_PAGE, MADV_DONTFORK), 0);
	CHECK_EQ(nr_vmas(t), 1);
	H_END(m);
}

struct walk_count {
	int vmas;
	struct mm_struct *mms[8];
};

static bool count_one(struct folio *folio, struct vm_area_struct *vma, uint64_t addr, void *arg)
{
	struct walk_count *w = arg;

	if (w->vmas < 8)
		w->mms[w->vmas] = vma->vm_mm;
	w->vmas++;
	return true;
}

static struct folio *folio_at(struct mml_task *t, uint64_t addr)
{
	uint64_t e = h_pagemap(t, addr);

	if (!(e & MML_PM_PRESENT))
		return NULL;
	return page_folio(pfn_to_page(t->machine, H_PFN(e)));
}

TEST(rmap_walk_finds_every_process_sharing_a_page)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *p = h_spawn(m), *c, *g;
	struct rmap_walk_control rwc = { 0 };
	struct walk_count w = { 0 };
	struct folio *f;
	uint64_t a;

	REQUIRE(p);
	a = h_map(p, 0, 2 * H_PAGE, H_RW, H_ANON);
	CHECK(h_fill(p, a, 2 * H_PAGE, 1));
	c = h_fork(p);
	REQUIRE(c);
	g = h_fork(c);
	REQUIRE(g);
	f = folio_at(p, a);
	REQUIRE(f);
	CHECK(folio_at(g, a) == f);
	CHECK_EQ(folio_mapcount(f), 3);
	CHECK(!PageAnonExclusive(&f->page));
	rwc.arg = &w;
	rwc.rmap_one = count_one;
	rmap_walk(f, &rwc);
	CHECK_EQ(w.vmas, 3);
	/* The grandchild's own copy is found from the grandchild alone. */
	CHECK(h_fill(g, a, 1, 2));
	f = folio_at(g, a);
	REQUIRE(f);
	CHECK(PageAnonExclusive(&f->page));
	memset(&w, 0, sizeof(w));
	rmap_walk(f, &rwc);
	CHECK_EQ(w.vmas, 1);
	CHECK(w.mms[0] == g->mm);
	CHECK(h_expect(p, a, 1, 1));
	CHECK(h_expect(c, a, 1, 1));
	H_END(m);
}

TEST(anon_vma_objects_are_freed_with_their_vmas)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *p = h_spawn(m);
	long av0, avc0;
	uint64_t a;

	REQUIRE(p);
	a = h_map(p, 0, H_PAGE, H_RW, H_ANON);
	CHECK(h_fill(p, a, H_PAGE, 1));
	av0 = atomic_long_read(&m->objs[OBJ_ANON_VMA]);
	avc0 = atomic_long_read(&m->objs[OBJ_AVC]);
	for (int i = 0; i < 10; i++) {
		struct mml_task *c = h_fork(p);

		REQUIRE(c);
		CHECK(h_fill(c, a, 1, 3));
		CHECK_EQ(mml_exit(c), 0);
	}
	rcu_batch_flush(&m->rcu);
	CHECK_EQ(atomic_long_read(&m->objs[OBJ_ANON_VMA]), av0);
	CHECK_EQ(atomic_long_read(&m->objs[OBJ_AVC]), avc0);
	H_END(m);
}

/*
 * The checker recounts what anon_vma_fork and unlink_anon_vmas keep: a
 * count off by one (the anon_vma degree bugs) is reported, and a clean
 * fork tree is not.
 */
TEST(checker_recounts_anon_vma_children_and_vmas)
{
	/* Not h_machine(): the reports below are wanted, and this test frees it. */
	struct mml_machine *m = mml_machine_new(&(struct mml_config){ .flags = MML_QUIET });
	struct mml_task *t, *c = NULL;
	struct anon_vma *av;
	long reports;

	REQUIRE(m);
	REQUIRE_EQ(mml_spawn(m, &t), 0);
	h_map(t, 0x10000000, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	CHECK(h_fill(t, 0x10000000, 2 * H_PAGE, 0x11));
	REQUIRE_EQ(mml_fork(t, &c), 0);
	CHECK(h_fill(c, 0x10000000, H_PAGE, 0x22));	/* the child's own anon_vma in use */
	CHECK_EQ(mml_check(m), 0);
	av = t->mm->vmas[0]->anon_vma;
	REQUIRE(av);
	CHECK_EQ(av->num_children, 2);			/* itself and the child's */
	CHECK_EQ(av->num_active_vmas, 1);
	av->num_children--;
	CHECK_EQ(mml_check(m), -EUCLEAN);
	av->num_children++;
	av->num_active_vmas++;
	CHECK_EQ(mml_check(m), -EUCLEAN);
	av->num_active_vmas--;
	/* Put right, the walk finds nothing new (the earlier reports still stand). */
	reports = mml_report_count(m);
	CHECK_EQ(mml_check(m), -EUCLEAN);
	CHECK_EQ(mml_report_count(m), reports);
	CHECK_EQ(mml_exit(c), 0);
	CHECK_EQ(mml_exit(t), 0);
	CHECK_EQ(mml_machine_free(m), -EBUSY);		/* for the reports, not a leak */
}

/*
 * The tree keeps each VMA's end beside it (the pivots find_vma searches):
 * a split, a merge and an expansion in place move it with the VMA, and
 * the checker reports an end the tree has wrong.
 */
TEST(vma_tree_ends_follow_splits_merges_and_expansion)
{
	struct mml_machine *m = mml_machine_new(&(struct mml_config){ .flags = MML_QUIET });
	struct mml_task *t;
	uint64_t a = 0x10000000;

	REQUIRE(m);
	REQUIRE_EQ(mml_spawn(m, &t), 0);
	h_map(t, a, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	CHECK_EQ(mml_mprotect(t, a + 2 * H_PAGE, H_PAGE, PROT_READ), 0);	/* split twice */
	CHECK_EQ(nr_vmas(t), 3);
	CHECK_EQ(t->mm->vma_ends[0], a + 2 * H_PAGE);
	CHECK(find_vma(t->mm, a + 2 * H_PAGE) == t->mm->vmas[1]);
	CHECK_EQ(mml_check(m), 0);
	CHECK_EQ(mml_mprotect(t, a + 2 * H_PAGE, H_PAGE, H_RW), 0);	/* merged again */
	CHECK_EQ(nr_vmas(t), 1);
	CHECK_EQ(t->mm->vma_ends[0], a + 4 * H_PAGE);
	CHECK_EQ(mml_mremap(t, a, 4 * H_PAGE, 6 * H_PAGE, 0, 0), (long)a);	/* in place */
	CHECK_EQ(t->mm->vma_ends[0], a + 6 * H_PAGE);
	CHECK(vma_lookup(t->mm, a + 5 * H_PAGE) == t->mm->vmas[0]);
	CHECK_EQ(mml_check(m), 0);
	t->mm->vma_ends[0] -= H_PAGE;
	CHECK_EQ(mml_check(m), -EUCLEAN);
	t->mm->vma_ends[0] += H_PAGE;
	CHECK_EQ(mml_exit(t), 0);
	CHECK_EQ(mml_machine_free(m), -EBUSY);		/* for the report, not a leak */
}

TEST(page_tables_are_counted_and_freed_with_their_range)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);
	long base;

	REQUIRE(t);
	base = mml_vmstat(m, "nr_page_table_pages");
	CHECK_EQ(base, 1);	/* the pgd */
	h_map(t, 0x40000000, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	h_map(t, 0x40001000, H_PAGE, PROT_READ, H_ANON | MAP_FIXED);
	CHECK(h_fill(t, 0x40000000, 1, 1));
	CHECK_EQ(mml_vmstat(m, "nr_page_table_pages"), 4);	/* pgd, pud, pmd, pte */
	CHECK_EQ(mml_meminfo(m, "PageTables"), 16);
	/* The neighbour still lies in the same pte table: it stays. */
	CHECK_EQ(mml_munmap(t, 0x40000000, H_PAGE), 0);
	rcu_batch_flush(&m->rcu);
	CHECK_EQ(mml_vmstat(m, "nr_page_table_pages"), 4);
	CHECK_EQ(mml_munmap(t, 0x40001000, H_PAGE), 0);
	rcu_batch_flush(&m->rcu);
	CHECK_EQ(mml_vmstat(m, "nr_page_table_pages"), 1);
	H_END(m);
}

TEST(exclusive_page_survives_mprotect_round_trip_without_copy)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);
	uint64_t a, e0, e1;
	long reuse0;

	REQUIRE(t);
	a = h_map(t, 0, H_PAGE, H_RW, H_ANON);
	CHECK(h_fill(t, a, H_PAGE, 7));
	e0 = h_pagemap(t, a);
	CHECK_EQ(mml_mprotect(t, a, H_PAGE, PROT_READ), 0);
	CHECK_EQ(h_poke(t, a, 8), -EFAULT);
	CHECK_EQ(mml_mprotect(t, a, H_PAGE, H_RW), 0);
	reuse0 = mml_vmstat(m, "pgreuse");
	CHECK_EQ(h_poke(t, a, 8), 0);
	e1 = h_pagemap(t, a);
	CHECK_EQ(H_PFN(e1), H_PFN(e0));
	/* mprotect made the pte writable at once: not even a reuse fault. */
	CHECK_EQ(mml_vmstat(m, "pgreuse"), reuse0);
	H_END(m);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
