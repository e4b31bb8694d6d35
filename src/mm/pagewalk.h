/*
 * pagewalk.h - the one generic page-table walker (Linux's
 * include/linux/pagewalk.h), and the one place a pmd that is not a table
 * is met.
 *
 * walk_page_range() goes level by level over [start, end) of an mm,
 * VMA by VMA, and calls back:
 *
 *   test_walk(addr, next, walk)   per VMA before it is walked: 0 walk it,
 *                                 1 skip it, < 0 stop with that error.
 *                                 Without one, VM_PFNMAP VMAs are skipped
 *                                 (as holes, if pte_hole is set).
 *   pgd_entry, pud_entry          per present entry of that level.
 *   pmd_entry(pmd, addr, next)    per pmd that is not none: a table, or a
 *                                 leaf (a THP) it may handle itself (under
 *                                 pmd_trans_huge_lock) and skip with
 *                                 ACTION_CONTINUE; a leaf left to the ptes
 *                                 is split first, as Linux does.  Called without
 *                                 the pte lock: it may map the pte table
 *                                 itself (pte_offset_map_lock) and sleep.
 *                                 walk->action = ACTION_CONTINUE skips the
 *                                 ptes; ACTION_AGAIN calls it again.
 *   pte_entry(pte, addr, next)    per pte of a table, none or not, with the
 *                                 pte lock held; never for a leaf pmd.
 *   install_pte(addr, next, &pte) per pte that is none, instead of pte_entry:
 *                                 the entry to set there (set_pte_at, under
 *                                 the pte lock).  With it, missing tables
 *                                 are allocated on the way down (-ENOMEM
 *                                 stops the walk) and pte_hole is never
 *                                 called inside a VMA.
 *   pte_hole(addr, next, depth)   per range with nothing mapped: depth -1
 *                                 outside any VMA, 0 no pgd entry, 2 no pud
 *                                 entry, 3 no pmd entry (p4d is folded).
 *
 * A callback returning nonzero stops the walk with that value.  The caller
 * holds mmap_lock (read or write); callbacks may not change VMAs.
 *
 * Linux's hugetlb_entry, pre_vma/post_vma, and the walks of kernel or
 * VMA-less ranges are not here: mmlab has none of them yet.
 */
#ifndef MML_MM_PAGEWALK_H
#define MML_MM_PAGEWALK_H

#include "mm/mm.h"

enum page_walk_action {
	ACTION_SUBTREE,		/* go down to the next level (the default) */
	ACTION_CONTINUE,	/* go on with the next entry of this level */
	ACTION_AGAIN,		/* call this entry's callback again */
};

struct mm_walk;

struct mm_walk_ops {
	int (*pgd_entry)(pgd_t *pgd, uint64_t addr, uint64_t next, struct mm_walk *walk);
	int (*pud_entry)(pud_t *pud, uint64_t addr, uint64_t next, struct mm_walk *walk);
	int (*pmd_entry)(pmd_t *pmd, uint64_t addr, uint64_t next, struct mm_walk *walk);
	int (*pte_entry)(pte_t *pte, uint64_t addr, uint64_t next, struct mm_walk *walk);
	int (*pte_hole)(uint64_t addr, uint64_t next, int depth, struct mm_walk *walk);
	int (*install_pte)(uint64_t addr, uint64_t next, pte_t *ptep, struct mm_walk *walk);
	int (*test_walk)(uint64_t addr, uint64_t next, struct mm_walk *walk);
};

struct mm_walk {
	const struct mm_walk_ops *ops;
	struct mm_struct *mm;
	struct vm_area_struct *vma;	/* the VMA being walked; NULL in a hole */
	enum page_walk_action action;	/* set by pgd/pud/pmd_entry */
	void *private;
};

int walk_page_range(struct mm_struct *mm, uint64_t start, uint64_t end,
		    const struct mm_walk_ops *ops, void *private);
/* [start, end) inside one VMA. */
int walk_page_range_vma(struct vm_area_struct *vma, uint64_t start, uint64_t end,
			const struct mm_walk_ops *ops, void *private);
int walk_page_vma(struct vm_area_struct *vma, const struct mm_walk_ops *ops, void *private);

/*
 * The one place an upper entry that is neither none nor a table is met
 * where it is not expected: a pud leaf (nothing makes one yet), or a pmd
 * leaf where every caller handles or splits them first.  A bug, reported
 * with the address and who met it.
 */
/* The page mapped at addr (a reference taken), or NULL with *err -ENOENT or -EFAULT (the zero page). */
struct page *folio_walk_page(struct vm_area_struct *vma, uint64_t addr, int *err);

void huge_entry_unsupported(struct mm_struct *mm, uint64_t addr, uint64_t val, const char *level,
			    const char *who);

/*
 * No pte table to work on under this pmd (read once)?  True if it is none,
 * or if it is not a table, which goes through huge_entry_unsupported().
 */
static inline bool pmd_no_table(struct mm_struct *mm, pmd_t pmdval, uint64_t addr, const char *who)
{
	if (likely(pmd_table(pmdval)))
		return false;
	if (!pmd_none(pmdval))
		huge_entry_unsupported(mm, addr, pmd_val(pmdval), "pmd", who);
	return true;
}

/* The same one level up: no pmd table under this pud. */
static inline bool pud_no_table(struct mm_struct *mm, pud_t pudval, uint64_t addr, const char *who)
{
	if (likely(pud_table(pudval)))
		return false;
	if (!pud_none(pudval))
		huge_entry_unsupported(mm, addr, pud_val(pudval), "pud", who);
	return true;
}

#endif /* MML_MM_PAGEWALK_H */
