/*
 * page_vma_mapped.c - page_vma_mapped_walk(): the ptes of one VMA that map
 * a folio (Linux's mm/page_vma_mapped.c), the way rmap's per-VMA callbacks
 * (folio_referenced_one, try_to_unmap_one) find what they work on.
 *
 * The walk goes down to the pte table of the current address once, then
 * along it, and down again only when it crosses into the next table; a
 * large folio's pages are found one after another, each under the table's
 * pte lock.  A pmd leaf mapping the folio is returned once, with pte NULL
 * and the pmd lock held.  PVMW_MIGRATION looks for migration entries
 * instead (remove_migration_ptes).  Differs from Linux: no device-private
 * entries, pmd migration entries or hugetlb.
 */
#include "mm/internal.h"
#include "mm/pagewalk.h"

/*
 * Does the pte at pvmw->pte map one of the walked frames?  A
 * device-exclusive entry maps its frame too (it keeps the mapping).
 */
static bool check_pte(struct page_vma_mapped_walk *pvmw)
{
	pte_t pte = ptep_get(pvmw->pte);
	unsigned long pfn;

	if (pvmw->flags & PVMW_MIGRATION) {
		if (!is_migration_pte(pte))
			return false;
		pfn = swp_offset_pfn(pte_to_swp_entry(pte));
	} else if (pte_present(pte))
		pfn = pte_pfn(pte);
	else if (is_device_exclusive_pte(pte))
		pfn = swp_offset_pfn(pte_to_swp_entry(pte));
	else
		return false;
	return pfn - pvmw->pfn < pvmw->nr_pages;
}

/* The last address of the VMA the walked frames can be mapped at, + 1. */
static uint64_t vma_walk_end(struct page_vma_mapped_walk *pvmw)
{
	struct vm_area_struct *vma = pvmw->vma;
	uint64_t end;

	/* One page (a KSM page's index means nothing): just the address given. */
	if (pvmw->nr_pages == 1)
		return min(pvmw->address + PAGE_SIZE, vma->vm_end);
	/* Past the VMA's first page index: the frames end here, or the VMA does. */
	if (pvmw->pgoff + pvmw->nr_pages <= vma->vm_pgoff)
		return vma->vm_start;
	end = vma->vm_start + ((uint64_t)(pvmw->pgoff + pvmw->nr_pages - vma->vm_pgoff) << PAGE_SHIFT);
	return min(end, vma->vm_end);
}

void page_vma_mapped_walk_done(struct page_vma_mapped_walk *pvmw)
{
	if (pvmw->pte)
		pte_unmap_unlock(pvmw->pte, pvmw->ptl);
	else if (pvmw->ptl)
		spin_unlock(pvmw->ptl);	/* a pmd leaf was handed out */
	pvmw->pte = NULL;
	pvmw->ptl = NULL;
}

/* Map and lock the pte table for pvmw->address; false if there is none. */
static bool map_pte(struct page_vma_mapped_walk *pvmw)
{
	struct mm_struct *mm = pvmw->vma->vm_mm;

	pvmw->pte = pte_offset_map_lock(mm, pvmw->pmd, pvmw->address, &pvmw->ptl);
	return pvmw->pte != NULL;
}

bool page_vma_mapped_walk(struct page_vma_mapped_walk *pvmw)
{
	struct mm_struct *mm = pvmw->vma->vm_mm;
	uint64_t end = vma_walk_end(pvmw);

	/* Resuming: step past the pte handed out last time; a pmd leaf was the only mapping. */
	if (pvmw->pte)
		goto next_pte;
	if (pvmw->ptl) {
		page_vma_mapped_walk_done(pvmw);
		return false;
	}
	for (;;) {
		pgd_t *pgd = pgd_offset(mm, pvmw->address);
		pud_t *pud;
		pmd_t pmde;

		if (pvmw->address >= end)
			return false;
		if (!pgd_present(pgdp_get(pgd))) {
			pvmw->address = pgd_addr_end(pvmw->address, end);
			continue;
		}
		pud = pud_offset(mm->machine, pgd, pvmw->address);
		if (pud_no_table(mm, pudp_get(pud), pvmw->address, "page_vma_mapped_walk")) {
			pvmw->address = pud_addr_end(pvmw->address, end);
			continue;
		}
		pvmw->pmd = pmd_offset(mm->machine, pud, pvmw->address);
		/*
		 * Read once for each decision: without mmap_lock a fault may put a
		 * leaf in an empty pmd, a split or retract_page_tables empty it, at
		 * any time.  A pmd that holds no table by the time map_pte looks
		 * is looked at again, unless it is empty (Linux's restart).
		 */
		pmde = pmdp_get(pvmw->pmd);
		if (pmd_trans_huge(pmde)) {
			pvmw->ptl = pmd_lock(mm, pvmw->pmd);
			pmde = pmdp_get(pvmw->pmd);
			if (pmd_trans_huge(pmde)) {
				if (!(pvmw->flags & PVMW_MIGRATION) && pmd_pfn(pmde) - pvmw->pfn < pvmw->nr_pages)
					return true;
				spin_unlock(pvmw->ptl);
				pvmw->ptl = NULL;
				pvmw->address = pmd_addr_end(pvmw->address, end);
				continue;
			}
			/* Split meanwhile: its ptes are walked below. */
			spin_unlock(pvmw->ptl);
			pvmw->ptl = NULL;
		}
		if (pmd_no_table(mm, pmde, pvmw->address, "page_vma_mapped_walk")) {
			pvmw->address = pmd_addr_end(pvmw->address, end);
			continue;
		}
		if (!map_pte(pvmw)) {
			if (pmd_none(pmdp_get(pvmw->pmd)))
				pvmw->address = pmd_addr_end(pvmw->address, end);
			continue;
		}
		/* Along this table, until a match or its end. */
		for (;;) {
			if (check_pte(pvmw))
				return true;
next_pte:
			pvmw->address += PAGE_SIZE;
			if (pvmw->address >= end) {
				page_vma_mapped_walk_done(pvmw);
				return false;
			}
			if (pte_index(pvmw->address) == 0) {
				/* The next table: down from the top again. */
				page_vma_mapped_walk_done(pvmw);
				break;
			}
			pvmw->pte++;
		}
	}
}
