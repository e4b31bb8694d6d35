/*
 * pagewalk.c - walk_page_range() and friends (Linux's mm/pagewalk.c): the
 * walker every range operation that is not fork, unmap or mprotect uses,
 * level by level, a table at a time (see pagewalk.h for the callbacks).
 *
 * Differs from Linux: no hugetlb walk, no kernel-range or VMA-less walk.
 * A pmd leaf that pmd_entry leaves to the ptes is split (split_huge_pmd),
 * as Linux does.  With install_pte, missing tables are allocated on the
 * way down (Linux 6.13's walk_page_range_mm for guard markers).
 */
#include "mm/internal.h"
#include "mm/pagewalk.h"

static int walk_pte_range(pmd_t *pmd, uint64_t addr, uint64_t end, struct mm_walk *walk)
{
	const struct mm_walk_ops *ops = walk->ops;
	spinlock_t *ptl;
	pte_t *pte;
	int err = 0;

	pte = pte_offset_map_lock(walk->mm, pmd, addr, &ptl);
	if (!pte) {
		/* The table went away after the pmd was read: look at the pmd again. */
		walk->action = ACTION_AGAIN;
		return 0;
	}
	for (pte_t *p = pte; addr < end; p++, addr += PAGE_SIZE) {
		if (ops->install_pte && pte_none(ptep_get(p))) {
			pte_t new;

			err = ops->install_pte(addr, addr + PAGE_SIZE, &new, walk);
			if (err)
				break;
			set_pte_at(walk->mm, addr, p, new);
			continue;
		}
		err = ops->pte_entry(p, addr, addr + PAGE_SIZE, walk);
		if (err)
			break;
	}
	pte_unmap_unlock(pte, ptl);
	return err;
}

static int walk_pmd_range(pud_t *pud, uint64_t addr, uint64_t end, struct mm_walk *walk)
{
	const struct mm_walk_ops *ops = walk->ops;
	pmd_t *pmd = pmd_offset(walk->mm->machine, pud, addr);
	uint64_t next;
	int err = 0;

	do {
		pmd_t pmdval;
again:
		next = pmd_addr_end(addr, end);
		pmdval = pmdp_get(pmd);
		if (pmd_none(pmdval)) {
			if (ops->install_pte)
				err = __pte_alloc(walk->mm, pmd);
			else if (ops->pte_hole)
				err = ops->pte_hole(addr, next, 3, walk);
			if (err)
				break;
			if (!ops->install_pte)
				continue;
		}
		walk->action = ACTION_SUBTREE;
		if (ops->pmd_entry)
			err = ops->pmd_entry(pmd, addr, next, walk);
		if (err)
			break;
		if (walk->action == ACTION_AGAIN)
			goto again;
		if (walk->action == ACTION_CONTINUE || !ops->pte_entry)
			continue;
		/* A leaf the pmd_entry did not take: split, as Linux, to walk its ptes. */
		if (walk->vma && pmd_trans_huge(pmdp_get(pmd)))
			split_huge_pmd(walk->vma, pmd, addr);
		if (pmd_no_table(walk->mm, pmdp_get(pmd), addr, "walk_page_range"))
			continue;
		err = walk_pte_range(pmd, addr, next, walk);
		if (err)
			break;
		if (walk->action == ACTION_AGAIN)
			goto again;
	} while (pmd++, addr = next, addr != end);
	return err;
}

static int walk_pud_range(pgd_t *pgd, uint64_t addr, uint64_t end, struct mm_walk *walk)
{
	const struct mm_walk_ops *ops = walk->ops;
	pud_t *pud = pud_offset(walk->mm->machine, pgd, addr);
	uint64_t next;
	int err = 0;

	do {
		next = pud_addr_end(addr, end);
		if (pud_none(pudp_get(pud))) {
			if (ops->install_pte)
				err = __pmd_alloc(walk->mm, pud);
			else if (ops->pte_hole)
				err = ops->pte_hole(addr, next, 2, walk);
			if (err)
				break;
			if (!ops->install_pte)
				continue;
		}
		walk->action = ACTION_SUBTREE;
		if (ops->pud_entry)
			err = ops->pud_entry(pud, addr, next, walk);
		if (err)
			break;
		if (walk->action == ACTION_CONTINUE)
			continue;
		if (pud_no_table(walk->mm, pudp_get(pud), addr, "walk_page_range"))
			continue;
		if (ops->pmd_entry || ops->pte_entry)
			err = walk_pmd_range(pud, addr, next, walk);
		if (err)
			break;
	} while (pud++, addr = next, addr != end);
	return err;
}

static int walk_pgd_range(uint64_t addr, uint64_t end, struct mm_walk *walk)
{
	const struct mm_walk_ops *ops = walk->ops;
	pgd_t *pgd = pgd_offset(walk->mm, addr);
	uint64_t next;
	int err = 0;

	do {
		next = pgd_addr_end(addr, end);
		if (pgd_none(pgdp_get(pgd))) {
			if (ops->install_pte)
				err = __pud_alloc(walk->mm, pgd);
			else if (ops->pte_hole)
				err = ops->pte_hole(addr, next, 0, walk);
			if (err)
				break;
			if (!ops->install_pte)
				continue;
		}
		walk->action = ACTION_SUBTREE;
		if (ops->pgd_entry)
			err = ops->pgd_entry(pgd, addr, next, walk);
		if (err)
			break;
		if (walk->action == ACTION_CONTINUE)
			continue;
		if (ops->pud_entry || ops->pmd_entry || ops->pte_entry)
			err = walk_pud_range(pgd, addr, next, walk);
		if (err)
			break;
	} while (pgd++, addr = next, addr != end);
	return err;
}

/* walk_page_test(): walk this VMA (0), skip it (1), or stop (< 0)? */
static int walk_page_test(uint64_t start, uint64_t end, struct mm_walk *walk)
{
	const struct mm_walk_ops *ops = walk->ops;

	if (ops->test_walk)
		return ops->test_walk(start, end, walk);
	/* No struct page behind a VM_PFNMAP range: a hole to whoever wants holes. */
	if (walk->vma->vm_flags & VM_PFNMAP) {
		int err = ops->pte_hole ? ops->pte_hole(start, end, -1, walk) : 0;

		return err ? err : 1;
	}
	return 0;
}

int walk_page_range(struct mm_struct *mm, uint64_t start, uint64_t end,
		    const struct mm_walk_ops *ops, void *private)
{
	struct mm_walk walk = { .ops = ops, .mm = mm, .private = private };
	struct vm_area_struct *vma;
	uint64_t next;
	int err = 0;

	if (start >= end)
		return -EINVAL;
	mmap_assert_locked(mm);
	vma = find_vma(mm, start);
	do {
		if (!vma || start < vma->vm_start) {
			/* Outside any VMA, up to the next one. */
			walk.vma = NULL;
			next = vma ? min(end, vma->vm_start) : end;
			if (ops->pte_hole)
				err = ops->pte_hole(start, next, -1, &walk);
		} else {
			walk.vma = vma;
			next = min(end, vma->vm_end);
			vma = vma_next(vma);
			err = walk_page_test(start, next, &walk);
			if (err > 0) {
				err = 0;
				continue;
			}
			if (err < 0)
				break;
			err = walk_pgd_range(start, next, &walk);
		}
		if (err)
			break;
	} while (start = next, start < end);
	return err;
}

int walk_page_range_vma(struct vm_area_struct *vma, uint64_t start, uint64_t end,
			const struct mm_walk_ops *ops, void *private)
{
	struct mm_walk walk = { .ops = ops, .mm = vma->vm_mm, .vma = vma, .private = private };
	int err;

	if (start >= end || start < vma->vm_start || end > vma->vm_end)
		return -EINVAL;
	mmap_assert_locked(vma->vm_mm);
	err = walk_page_test(start, end, &walk);
	if (err > 0)
		return 0;
	if (err < 0)
		return err;
	return walk_pgd_range(start, end, &walk);
}

int walk_page_vma(struct vm_area_struct *vma, const struct mm_walk_ops *ops, void *private)
{
	return walk_page_range_vma(vma, vma->vm_start, vma->vm_end, ops, private);
}

/*
 * Models folio_walk_start() as move_pages uses it: the page mapped at
 * addr of vma, by a pte or a pmd leaf, with a reference on its folio.
 * NULL with *err = -ENOENT when nothing is present there (none, swap,
 * migration), -EFAULT for the zero page or the huge zero folio.
 * mmap_lock held.
 */
struct page *folio_walk_page(struct vm_area_struct *vma, uint64_t addr, int *err)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	struct page *page = NULL;
	pmd_t *pmd = mm_find_pmd(mm, addr);
	spinlock_t *ptl;
	pte_t *ptep, pte;

	*err = -ENOENT;
	if (!pmd)
		return NULL;
	ptl = pmd_trans_huge_lock(pmd, vma);
	if (ptl) {
		pmd_t pmdval = pmdp_get(pmd);

		if (is_huge_zero_pmd(m, pmdval))
			*err = -EFAULT;
		else if (pmd_present(pmdval))
			page = pmd_page(m, pmdval) + pte_index(addr);
		if (page)
			folio_get(page_folio(page));
		spin_unlock(ptl);
		return page;
	}
	ptep = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!ptep)
		return NULL;
	pte = ptep_get(ptep);
	if (pte_present(pte)) {
		page = vm_normal_page(vma, addr, pte);
		if (!page && is_zero_pfn(m, pte_pfn(pte)))
			*err = -EFAULT;
		if (page)
			folio_get(page_folio(page));
	}
	pte_unmap_unlock(ptep, ptl);
	return page;
}
