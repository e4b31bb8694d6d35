/*
 * migrate.c - migration entries (Linux's mm/migrate.c): putting back the
 * ptes that try_to_migrate() replaced (remove_migration_ptes), and a
 * fault's wait while a folio is under migration (migration_entry_wait).
 * mmlab makes migration entries only to split a large folio in place
 * (huge_split.c); moving folios between frames comes with NUMA.
 */
#include "mm/internal.h"

/*
 * remove_migration_pte(): every migration entry of vma naming a page of
 * folio becomes a pte again, with the rights and bits the entry kept: a
 * writable entry writable (as the VMA allows), an exclusive or writable
 * one PG_anon_exclusive; the mapping and its reference come back.
 */
static bool remove_migration_pte(struct folio *folio, struct vm_area_struct *vma, uint64_t addr, void *arg)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	DEFINE_FOLIO_VMA_WALK(pvmw, folio, vma, addr);

	(void)arg;
	pvmw.flags = PVMW_MIGRATION;
	while (page_vma_mapped_walk(&pvmw)) {
		pte_t old = ptep_get(pvmw.pte), pte;
		swp_entry_t entry = pte_to_swp_entry(old);
		struct page *page = pfn_to_page(m, swp_offset_pfn(entry));
		rmap_t flags = RMAP_NONE;

		folio_get(folio);
		pte = pte_mkold(mk_pte(m, page, vma->vm_page_prot));
		if (is_migration_entry_young(entry))
			pte = pte_mkyoung(pte);
		if (folio_test_dirty(folio) && is_migration_entry_dirty(entry))
			pte = pte_mkdirty(pte);
		pte = pte_swp_soft_dirty(old) ? pte_mksoft_dirty(pte) : pte_clear_soft_dirty(pte);
		if (is_writable_migration_entry(entry))
			pte = maybe_mkwrite(pte, vma);
		else if (pte_swp_uffd_wp(old))
			pte = pte_mkuffd_wp(pte);
		if (folio_test_anon(folio) && (is_writable_migration_entry(entry) ||
					       is_readable_exclusive_migration_entry(entry)))
			flags |= RMAP_EXCLUSIVE;
		folio_add_anon_rmap_pte(folio, page, vma, pvmw.address, flags);
		set_pte_at(mm, pvmw.address, pvmw.pte, pte);
	}
	return true;
}

/*
 * remove_migration_ptes(): the migration entries of src's pages, now
 * dst's, map dst (mmlab: src == dst, a folio split in place).  dst is
 * locked; rmap_locked: the caller holds the anon_vma lock.
 */
void remove_migration_ptes(struct folio *src, struct folio *dst, bool rmap_locked)
{
	struct rmap_walk_control rwc = { .rmap_one = remove_migration_pte, .arg = src };

	VM_BUG_ON(src != dst);
	if (rmap_locked)
		rmap_walk_locked(dst, &rwc);
	else
		rmap_walk(dst, &rwc);
}

/*
 * migration_entry_wait(): a fault met a migration entry.  If it is still
 * there, wait until its folio is unlocked (the migration or split is
 * over), then let the fault retry.  No reference is taken: the struct
 * page outlives any folio, and a wait on a reused one only ends later.
 */
void migration_entry_wait(struct mm_struct *mm, pmd_t *pmd, uint64_t address)
{
	struct mml_machine *m = mm->machine;
	struct folio *folio;
	spinlock_t *ptl;
	pte_t *ptep, pte;

	ptep = pte_offset_map_lock(mm, pmd, address, &ptl);
	if (!ptep)
		return;
	pte = ptep_get(ptep);
	if (!is_migration_pte(pte)) {
		pte_unmap_unlock(ptep, ptl);
		return;
	}
	folio = page_folio(pfn_to_page(m, swp_offset_pfn(pte_to_swp_entry(pte))));
	pte_unmap_unlock(ptep, ptl);
	bit_wait(PG_locked, &folio->flags);
}
