/*
 * memory.c - page faults, copy-on-write, fork's page-table copy and unmap
 * (Linux's mm/memory.c).
 *
 * Faults run under mmap_lock held for read; page-table entries change under
 * the split pte lock.  The pattern throughout, as in Linux: read the entry
 * without the lock, allocate what is needed outside it, take the lock,
 * re-check with pte_same() and either install or back out and retry.
 */
#include <string.h>

#include "mm/internal.h"
#include "mm/mmu_notifier.h"
#include "mm/pagewalk.h"

/* vm_normal_page(): the struct page behind a pte, NULL for special ones (the zero page). */
struct page *vm_normal_page(struct vm_area_struct *vma, uint64_t addr, pte_t pte)
{
	struct mml_machine *m = vma->vm_mm->machine;
	unsigned long pfn = pte_pfn(pte);

	if (pte_special(pte) || is_zero_pfn(m, pfn))
		return NULL;
	VM_BUG_ON_VMA(!pfn_valid(m, pfn), vma);
	return pfn_to_page(m, pfn);
}

struct folio *vm_normal_folio(struct vm_area_struct *vma, uint64_t addr, pte_t pte)
{
	struct page *page = vm_normal_page(vma, addr, pte);

	return page ? page_folio(page) : NULL;
}

static pte_t mk_pte(struct mml_machine *m, struct page *page, pgprot_t prot)
{
	return pfn_pte(page_to_pfn(m, page), prot);
}

/* ptep_clear_flush(): the entry is gone from every TLB on return. */
static pte_t ptep_clear_flush(struct vm_area_struct *vma, uint64_t addr, pte_t *ptep)
{
	pte_t pte = ptep_get_and_clear(ptep);

	if (pte_hw_valid(pte))
		flush_tlb_page(vma, addr);
	return pte;
}

/* ---- anonymous faults --------------------------------------------------------- */

/* Are all nr ptes from pte none? (pte_range_none) */
static bool pte_range_none(pte_t *pte, int nr)
{
	for (int i = 0; i < nr; i++)
		if (!pte_none(ptep_get(pte + i)))
			return false;
	return true;
}

/*
 * alloc_anon_folio(): the folio a write fault maps.  The largest order the
 * machine allows for anonymous memory (mTHP: machine->huge_anon_orders,
 * below PMD size) whose aligned range lies in the VMA with every pte still
 * none; else a small one.  Zeroed.
 */
static struct folio *alloc_anon_folio(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	unsigned long orders = READ_ONCE(vma->vm_mm->machine->huge_anon_orders) & ((1UL << HPAGE_PMD_ORDER) - 1);
	pte_t *pte;

	if (!orders || (vma->vm_flags & VM_NOHUGEPAGE))
		return vma_alloc_folio(vma, __GFP_ZERO, 0, vmf->address);
	pte = pte_offset_map(vma->vm_mm, vmf->pmd, vmf->address & PMD_MASK, NULL);
	if (!pte)
		return NULL;	/* the table went away: the fault is retried */
	for (unsigned order = HPAGE_PMD_ORDER - 1; order > 0; order--) {
		uint64_t size = PAGE_SIZE << order, addr = vmf->address & ~(size - 1);
		struct folio *folio;

		if (!(orders & (1UL << order)) || addr < vma->vm_start || addr + size > vma->vm_end ||
		    !pte_range_none(pte + pte_index(addr), 1 << order))
			continue;
		folio = vma_alloc_folio(vma, __GFP_ZERO | __GFP_NOWARN, order, addr);
		if (folio) {
			pte_unmap(pte);
			return folio;
		}
	}
	pte_unmap(pte);
	return vma_alloc_folio(vma, __GFP_ZERO, 0, vmf->address);
}

/*
 * do_anonymous_page(): a read maps the shared zero page, a write maps a
 * new zeroed folio, small or large, that this VMA alone owns
 * (PG_anon_exclusive), one pte and one reference per page.
 */
static vm_fault_t do_anonymous_page(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	struct folio *folio;
	uint64_t addr;
	pte_t entry;
	int nr;

	if (vma->vm_flags & VM_SHARED)
		return VM_FAULT_SIGBUS;	/* shared anon is shmem's */

	if (!(vmf->flags & FAULT_FLAG_WRITE)) {
		entry = pte_mkspecial(pfn_pte(m->zero_pfn, vma->vm_page_prot));
		vmf->pte = pte_offset_map_lock(mm, vmf->pmd, vmf->address, &vmf->ptl);
		if (!vmf->pte)
			return 0;
		if (pte_none(ptep_get(vmf->pte)))
			set_pte_at(mm, vmf->address, vmf->pte, entry);
		pte_unmap_unlock(vmf->pte, vmf->ptl);
		return 0;
	}

	if (anon_vma_prepare(vma))
		return VM_FAULT_OOM;
	folio = alloc_anon_folio(vmf);
	if (!folio)
		return VM_FAULT_OOM;
	folio_set_uptodate(folio);
	nr = (int)folio_nr_pages(folio);
	addr = vmf->address & ~(((uint64_t)nr << PAGE_SHIFT) - 1);

	entry = mk_pte(m, &folio->page, vma->vm_page_prot);
	entry = pte_mkyoung(entry);
	if (vma->vm_flags & VM_WRITE)
		entry = maybe_mkwrite(pte_mkdirty(entry), vma);

	vmf->pte = pte_offset_map_lock(mm, vmf->pmd, addr, &vmf->ptl);
	if (!vmf->pte || !pte_range_none(vmf->pte, nr)) {
		/* Another thread faulted in first; nobody saw our folio. */
		if (vmf->pte)
			pte_unmap_unlock(vmf->pte, vmf->ptl);
		folio_put(m, folio);
		return 0;
	}
	folio_ref_add(folio, nr - 1);
	add_mm_counter(mm, MM_ANONPAGES, nr);
	folio_add_new_anon_rmap(folio, vma, addr, RMAP_EXCLUSIVE);
	folio_add_lru(m, folio);
	set_ptes(mm, addr, vmf->pte, entry, (unsigned)nr);
	pte_unmap_unlock(vmf->pte, vmf->ptl);
	return 0;
}

/*
 * Models wp_can_reuse_anon_folio(): a page that is not marked exclusive may
 * still be reused when ours is provably the only reference (the other side
 * of a fork went away).  Never on mapcount alone: a GUP reference counts.
 */
static bool wp_can_reuse_anon_folio(struct folio *folio, struct vm_area_struct *vma)
{
	if (folio_test_large(folio))
		return false;
	/* The pre-5.8 rule: mapped once means ours, whoever else holds it. */
	if (bug_enabled(vma->vm_mm->machine, BUG_COW_REUSE_MAPCOUNT))
		return folio_mapcount(folio) == 1;
	if (folio_ref_count(folio) > 1 + folio_test_swapcache(folio))
		return false;
	if (!folio_trylock(folio))
		return false;
	if (folio_ref_count(folio) != 1) {
		folio_unlock(folio);
		return false;
	}
	folio_move_anon_rmap(folio, vma);
	folio_unlock(folio);
	return true;
}

/* Models wp_page_reuse(): make the existing page writable in place. */
static vm_fault_t wp_page_reuse(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	pte_t entry;

	entry = pte_mkyoung(vmf->orig_pte);
	entry = maybe_mkwrite(pte_mkdirty(entry), vma);
	ptep_set_access_flags(vmf->pte, entry);
	pte_unmap_unlock(vmf->pte, vmf->ptl);
	count_vm_event(vma->vm_mm->machine, PGREUSE);
	return 0;
}

/*
 * Models wp_page_copy(): give this mapping its own copy of the page (or a
 * zeroed page in place of the zero page).  Entered without the pte lock,
 * holding a reference on the old folio if there is one.
 */
static vm_fault_t wp_page_copy(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	bool unshare = vmf->flags & FAULT_FLAG_UNSHARE;
	struct folio *old_folio = vmf->page ? page_folio(vmf->page) : NULL;
	struct mmu_notifier_range range;
	struct folio *new_folio;
	bool notify, early_end;
	pte_t entry;

	if (anon_vma_prepare(vma))
		goto oom;
	if (!old_folio) {
		new_folio = vma_alloc_folio(vma, __GFP_ZERO, 0, vmf->address);
		if (!new_folio)
			goto oom;
	} else {
		new_folio = vma_alloc_folio(vma, 0, 0, vmf->address);
		if (!new_folio)
			goto oom;
		copy_user_highpage(m, &new_folio->page, vmf->page);
	}
	folio_set_uptodate(new_folio);

	/*
	 * Seed 002's case: a secondary MMU still reading or writing the old
	 * page after the process's pte moved to the copy sees stale data or
	 * loses writes.  It stops before the pte changes, and may map again
	 * only after (end).
	 */
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, vmf->address, vmf->address + PAGE_SIZE);
	notify = !bug_enabled(m, BUG_WP_COPY_NO_NOTIFY);
	early_end = notify && bug_enabled(m, BUG_NOTIFY_END_BEFORE_FLUSH);
	if (notify)
		mmu_notifier_invalidate_range_start(&range);
	if (early_end) {
		mmu_notifier_invalidate_range_end(&range);
		/* The window a preemption here opens: a secondary MMU may fault the old page back. */
		mml_preempt_point();
	}
	vmf->pte = pte_offset_map_lock(mm, vmf->pmd, vmf->address, &vmf->ptl);
	if (likely(vmf->pte && pte_same(ptep_get(vmf->pte), vmf->orig_pte))) {
		if (old_folio) {
			if (!folio_test_anon(old_folio)) {
				add_mm_counter(mm, MM_FILEPAGES, -1);
				add_mm_counter(mm, MM_ANONPAGES, 1);
			}
		} else {
			add_mm_counter(mm, MM_ANONPAGES, 1);
		}
		entry = mk_pte(m, &new_folio->page, vma->vm_page_prot);
		entry = pte_mkyoung(entry);
		if (unlikely(unshare)) {
			if (pte_soft_dirty(vmf->orig_pte))
				entry = pte_mksoft_dirty(entry);
			if (pte_uffd_wp(vmf->orig_pte))
				entry = pte_mkuffd_wp(entry);
		} else {
			entry = maybe_mkwrite(pte_mkdirty(entry), vma);
		}
		/* No CPU may keep writing the old page once the new one is mapped. */
		ptep_clear_flush(vma, vmf->address, vmf->pte);
		folio_add_new_anon_rmap(new_folio, vma, vmf->address, RMAP_EXCLUSIVE);
		folio_add_lru(m, new_folio);
		set_pte_at(mm, vmf->address, vmf->pte, entry);
		if (old_folio) {
			folio_remove_rmap_pte(old_folio, vmf->page, vma);
			/* The old mapping's reference; ours is dropped below. */
			folio_put(m, old_folio);
		}
		new_folio = NULL;
	}
	if (vmf->pte)
		pte_unmap_unlock(vmf->pte, vmf->ptl);
	if (notify && !early_end)
		mmu_notifier_invalidate_range_end(&range);
	if (new_folio)
		folio_put(m, new_folio);
	if (old_folio)
		folio_put(m, old_folio);
	return 0;
oom:
	if (old_folio)
		folio_put(m, old_folio);
	return VM_FAULT_OOM;
}

/*
 * Models do_wp_page(): a write (or unshare) fault on a present read-only
 * pte of a private mapping.  Entered with the pte lock held.
 *
 * The reuse rule of the COW fixes series: reuse only a page that is
 * PageAnonExclusive, or that wp_can_reuse_anon_folio() proves nobody else
 * can reach; everything else is copied.
 */
static vm_fault_t do_wp_page(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mml_machine *m = vma->vm_mm->machine;
	bool unshare = vmf->flags & FAULT_FLAG_UNSHARE;
	struct folio *folio = NULL;

	vmf->page = vm_normal_page(vma, vmf->address, vmf->orig_pte);
	if (vmf->page)
		folio = page_folio(vmf->page);

	if (folio && folio_test_anon(folio) &&
	    (PageAnonExclusive(vmf->page) || bug_enabled(m, BUG_COW_REUSE_SHARED) ||
	     wp_can_reuse_anon_folio(folio, vma))) {
		if (!PageAnonExclusive(vmf->page))
			SetPageAnonExclusive(vmf->page);
		if (unlikely(unshare)) {
			pte_unmap_unlock(vmf->pte, vmf->ptl);
			return 0;
		}
		return wp_page_reuse(vmf);
	}
	if (folio)
		folio_get(folio);
	pte_unmap_unlock(vmf->pte, vmf->ptl);
	return wp_page_copy(vmf);
}

/*
 * Models should_try_to_free_swap(): mapping a swap-cache folio writable
 * needs proof that we are its only user; dropping the cache's reference
 * first makes that proof (refcount) possible.
 */
static bool should_try_to_free_swap(struct folio *folio, struct vm_area_struct *vma, unsigned flags)
{
	if (!folio_test_swapcache(folio))
		return false;
	if ((vma->vm_flags & VM_LOCKED) || folio_test_mlocked(folio))
		return true;
	return (flags & FAULT_FLAG_WRITE) && folio_ref_count(folio) == 2;
}

/* ---- device-exclusive entries --------------------------------------------------- */

/*
 * restore_exclusive_pte(): the device-exclusive entry at ptep becomes the
 * present pte it replaced, old, writable only if the VMA and the page
 * allow (the entry kept the page's reference and mapping).  pte lock and
 * folio lock held.
 */
void restore_exclusive_pte(struct vm_area_struct *vma, struct folio *folio, struct page *page,
			   uint64_t addr, pte_t *ptep, pte_t orig)
{
	struct mml_machine *m = vma->vm_mm->machine;
	pte_t pte = pte_mkold(mk_pte(m, page, vma->vm_page_prot));

	VM_BUG_ON_FOLIO(!folio_test_locked(folio), m, folio);
	if (pte_swp_soft_dirty(orig))
		pte = pte_mksoft_dirty(pte);
	if (pte_swp_uffd_wp(orig))
		pte = pte_mkuffd_wp(pte);
	if ((vma->vm_flags & VM_WRITE) && can_change_pte_writable(vma, addr, pte)) {
		if (folio_test_dirty(folio))
			pte = pte_mkdirty(pte);
		pte = maybe_mkwrite(pte, vma);
	}
	set_pte_at(vma->vm_mm, addr, ptep, pte);
}

/*
 * remove_device_exclusive_entry(): the CPU touches a page a device holds
 * for atomics: the device lets go (MMU_NOTIFY_CLEAR, as Linux 6.15+: the
 * exclusive event is for making the entry), the pte comes back.  The
 * entry is not ours to trust without the folio lock: a racing zap may
 * free the page, so take a reference only if it still has one.
 */
static vm_fault_t remove_device_exclusive_entry(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mml_machine *m = vma->vm_mm->machine;
	unsigned long pfn = swp_offset_pfn(pte_to_swp_entry(vmf->orig_pte));
	struct mmu_notifier_range range;
	struct folio *folio;

	if (!pfn_valid(m, pfn))
		return VM_FAULT_SIGBUS;
	vmf->page = pfn_to_page(m, pfn);
	folio = page_folio(vmf->page);
	if (!folio_try_get(folio))
		return 0;
	folio_lock(folio);
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, vma->vm_mm, vmf->address,
				vmf->address + PAGE_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	vmf->pte = pte_offset_map_lock(vma->vm_mm, vmf->pmd, vmf->address, &vmf->ptl);
	if (likely(vmf->pte && pte_same(ptep_get(vmf->pte), vmf->orig_pte)))
		restore_exclusive_pte(vma, folio, vmf->page, vmf->address, vmf->pte, vmf->orig_pte);
	if (vmf->pte)
		pte_unmap_unlock(vmf->pte, vmf->ptl);
	folio_unlock(folio);
	folio_put(m, folio);
	mmu_notifier_invalidate_range_end(&range);
	return 0;
}

/*
 * do_swap_page(): bring a swapped-out page back, through the swap cache.
 * It maps exclusive (and may be mapped writable at once) when the swap pte
 * says it was exclusive, or when ours is the only reference; otherwise it
 * is mapped read-only and a write goes through do_wp_page.  The page is the
 * one of the cached folio that holds the entry's slot.  Linux may map a
 * whole large folio at once; mmlab swaps in small folios only.
 */
static vm_fault_t do_swap_page(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	swp_entry_t entry = pte_to_swp_entry(vmf->orig_pte);
	struct folio *folio;
	struct page *page;
	vm_fault_t ret = 0;
	bool exclusive;
	pte_t pte;

	if (is_device_exclusive_entry(entry))
		return remove_device_exclusive_entry(vmf);
	if (non_swap_entry(entry) || !swap_info_get(m, entry)) {
		mml_report(m, "fault on a non-present pte %#llx that names no swap slot at %#llx",
			   (unsigned long long)pte_val(vmf->orig_pte), (unsigned long long)vmf->address);
		return VM_FAULT_SIGBUS;
	}
	if (anon_vma_prepare(vma))
		return VM_FAULT_OOM;
	folio = swapin_folio(m, entry, vma, vmf->address);
	if (!folio) {
		/* Another thread may have swapped it in (or zapped it): look again. */
		vmf->pte = pte_offset_map_lock(mm, vmf->pmd, vmf->address, &vmf->ptl);
		if (vmf->pte && pte_same(ptep_get(vmf->pte), vmf->orig_pte))
			ret = VM_FAULT_OOM;	/* memory, or the read failed: SIGBUS in Linux for I/O */
		if (vmf->pte)
			pte_unmap_unlock(vmf->pte, vmf->ptl);
		return ret;
	}
	count_vm_event(m, PGMAJFAULT);
	folio_lock(folio);
	/* It may have left the swap cache (and its slot) while we waited. */
	if (!folio_matches_swap_entry(folio, entry))
		goto out_page;
	page = folio_page(folio, swp_offset(entry) - swp_offset(folio->swap));
	vmf->pte = pte_offset_map_lock(mm, vmf->pmd, vmf->address, &vmf->ptl);
	if (!vmf->pte || !pte_same(ptep_get(vmf->pte), vmf->orig_pte))
		goto out_nomap;

	exclusive = pte_swp_exclusive(vmf->orig_pte);
	/* The tags saved with the slot go back before the slot may be freed. */
	arch_swap_restore(m, entry, folio);
	swap_free(m, entry);
	if (should_try_to_free_swap(folio, vma, vmf->flags))
		folio_free_swap(m, folio);
	add_mm_counter(mm, MM_ANONPAGES, 1);
	add_mm_counter(mm, MM_SWAPENTS, -1);
	pte = mk_pte(m, page, vma->vm_page_prot);
	if (pte_swp_soft_dirty(vmf->orig_pte))
		pte = pte_mksoft_dirty(pte);
	if (pte_swp_uffd_wp(vmf->orig_pte))
		pte = pte_mkuffd_wp(pte);
	/* As in do_wp_page: certainly not shared if the entry says so or nobody else holds it. */
	if (exclusive || folio_ref_count(folio) == 1) {
		if ((vma->vm_flags & VM_WRITE) && !pte_uffd_wp(pte) &&
		    ((vma->vm_flags & VM_SOFTDIRTY) || pte_soft_dirty(pte))) {
			pte = maybe_mkwrite(pte, vma);
			if (vmf->flags & FAULT_FLAG_WRITE) {
				pte = pte_mkdirty(pte);
				vmf->flags &= ~FAULT_FLAG_WRITE;
			}
		}
		exclusive = true;
	}
	folio_get(folio);	/* the mapping's reference */
	folio_add_anon_rmap_pte(folio, page, vma, vmf->address, exclusive ? RMAP_EXCLUSIVE : RMAP_NONE);
	set_pte_at(mm, vmf->address, vmf->pte, pte);
	folio_unlock(folio);
	if (vmf->flags & FAULT_FLAG_WRITE) {
		/* Still a write to a page that may be shared: copy-on-write as usual. */
		vmf->orig_pte = ptep_get(vmf->pte);
		ret = do_wp_page(vmf);
		folio_put(m, folio);
		return ret;
	}
	pte_unmap_unlock(vmf->pte, vmf->ptl);
	folio_put(m, folio);
	return 0;
out_nomap:
	if (vmf->pte)
		pte_unmap_unlock(vmf->pte, vmf->ptl);
out_page:
	folio_unlock(folio);
	folio_put(m, folio);
	return 0;
}

/*
 * handle_pte_fault(): read the pte without the lock, dispatch on what it
 * is, and recheck under the lock before changing it.  No NUMA hinting
 * faults, no file or shmem faults yet.
 */
static vm_fault_t handle_pte_fault(struct vm_fault *vmf)
{
	struct mm_struct *mm = vmf->vma->vm_mm;
	pte_t entry;

	vmf->pte = pte_offset_map(mm, vmf->pmd, vmf->address, NULL);
	if (!vmf->pte)
		return 0;	/* the table went away: retry */
	vmf->orig_pte = ptep_get(vmf->pte);
	pte_unmap(vmf->pte);
	vmf->pte = NULL;

	if (pte_none(vmf->orig_pte)) {
		if (vma_is_anonymous(vmf->vma))
			return do_anonymous_page(vmf);
		return VM_FAULT_SIGBUS;	/* file faults arrive with the page cache */
	}
	if (!pte_present(vmf->orig_pte))
		return do_swap_page(vmf);
	/*
	 * A PROT_NONE pte: mmlab has no NUMA hinting, so it only exists in a
	 * PROT_NONE VMA, which only FOLL_FORCE GUP reaches; it is handled like
	 * any other pte, as Linux does outside do_numa_page().
	 */

	vmf->pte = pte_offset_map_lock(mm, vmf->pmd, vmf->address, &vmf->ptl);
	if (!vmf->pte)
		return 0;
	entry = vmf->orig_pte;
	if (unlikely(!pte_same(ptep_get(vmf->pte), entry))) {
		pte_unmap_unlock(vmf->pte, vmf->ptl);
		return 0;	/* changed under us: retry */
	}
	if (vmf->flags & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE)) {
		if (!pte_write(entry))
			return do_wp_page(vmf);
		if (vmf->flags & FAULT_FLAG_WRITE)
			entry = pte_mkdirty(entry);
	}
	entry = pte_mkyoung(entry);
	if (!ptep_set_access_flags(vmf->pte, entry) && (vmf->flags & FAULT_FLAG_WRITE))
		flush_tlb_page(vmf->vma, vmf->address);	/* spurious: drop a stale entry */
	pte_unmap_unlock(vmf->pte, vmf->ptl);
	return 0;
}

/*
 * __handle_mm_fault(): build the upper levels, then the pte fault.  Linux
 * tries a huge pmd fault where the pmd is none and handles a fault on a
 * huge pmd; mmlab builds only pte tables so far.
 */
static vm_fault_t __handle_mm_fault(struct vm_area_struct *vma, uint64_t address, unsigned int flags)
{
	struct mm_struct *mm = vma->vm_mm;
	struct vm_fault vmf = {
		.vma = vma,
		.address = address & PAGE_MASK,
		.flags = flags,
		.pgoff = linear_page_index(vma, address),
	};
	pgd_t *pgd = pgd_offset(mm, address);
	pud_t *pud;

	pud = pud_alloc(mm, pgd, address);
	if (!pud)
		return VM_FAULT_OOM;
	if (!pud_none(pudp_get(pud)) && pud_no_table(mm, pudp_get(pud), address, "handle_mm_fault"))
		return VM_FAULT_SIGBUS;
	vmf.pmd = pmd_alloc(mm, pud, address);
	if (!vmf.pmd)
		return VM_FAULT_OOM;
	if (pmd_none(pmdp_get(vmf.pmd)) && __pte_alloc(mm, vmf.pmd))
		return VM_FAULT_OOM;
	if (pmd_no_table(mm, pmdp_get(vmf.pmd), address, "handle_mm_fault"))
		return VM_FAULT_SIGBUS;
	return handle_pte_fault(&vmf);
}

/* Models handle_mm_fault(); mmap_lock held for read. */
vm_fault_t handle_mm_fault(struct vm_area_struct *vma, uint64_t address, unsigned int flags)
{
	/* check_stable_address_space(): an OOM victim's memory is being taken away. */
	if (test_bit(MMF_OOM_VICTIM, &vma->vm_mm->flags))
		return VM_FAULT_SIGBUS;
	mmap_assert_locked(vma->vm_mm);
	count_vm_event(vma->vm_mm->machine, PGFAULT);
	return __handle_mm_fault(vma, address, flags);
}

/* ---- batches of ptes ------------------------------------------------------------ */

/* The bits two ptes of one batch may differ in, besides the frame (Linux's defaults). */
static pte_t pte_batch_clear_ignored(pte_t pte)
{
	return pte_mkold(pte_mkclean(pte_clear_soft_dirty(pte_wrprotect(pte))));
}

/*
 * folio_pte_batch(): how many ptes from ptep (the first being pte) map
 * consecutive pages of folio alike, at most max_nr; 1 for a small folio.
 * Accessed, dirty, soft-dirty and write bits may differ between them:
 * whether any had one is told through the flags that are not NULL.
 */
int folio_pte_batch(struct mml_machine *m, struct folio *folio, pte_t *ptep, pte_t pte, int max_nr,
		    bool *any_writable, bool *any_young, bool *any_dirty)
{
	unsigned long left = folio_pfn(m, folio) + (unsigned long)folio_nr_pages(folio) - pte_pfn(pte);
	pte_t expected = pte_batch_clear_ignored(pte);
	bool writable = pte_write(pte), young = pte_young(pte), dirty = pte_dirty(pte);
	int nr = 1;

	if ((unsigned long)max_nr > left)
		max_nr = (int)left;
	for (; nr < max_nr; nr++) {
		pte_t next = ptep_get(ptep + nr);

		expected = pte_advance_pfn(expected, 1);
		if (!pte_same(pte_batch_clear_ignored(next), expected))
			break;
		writable |= pte_write(next);
		young |= pte_young(next);
		dirty |= pte_dirty(next);
	}
	if (any_writable)
		*any_writable = writable;
	if (any_young)
		*any_young = young;
	if (any_dirty)
		*any_dirty = dirty;
	return nr;
}

/* ---- fork: copy_page_range ------------------------------------------------------ */

/*
 * copy_present_page(): a page that may be pinned is not shared with the
 * child; the child gets its own copy now, in the folio the caller
 * allocated outside the locks.
 */
static void copy_present_page(struct vm_area_struct *dst_vma, pte_t *dst_pte, uint64_t addr,
			      struct page *page, struct folio *new_folio)
{
	struct mml_machine *m = dst_vma->vm_mm->machine;
	pte_t pte;

	copy_user_highpage(m, &new_folio->page, page);
	folio_set_uptodate(new_folio);
	folio_add_new_anon_rmap(new_folio, dst_vma, addr, RMAP_EXCLUSIVE);
	folio_add_lru(m, new_folio);
	add_mm_counter(dst_vma->vm_mm, MM_ANONPAGES, 1);
	pte = mk_pte(m, &new_folio->page, dst_vma->vm_page_prot);
	pte = maybe_mkwrite(pte_mkdirty(pte), dst_vma);
	set_pte_at(dst_vma->vm_mm, addr, dst_pte, pte);
}

/*
 * __copy_present_ptes(): nr ptes of the parent become the child's, both
 * sides write-protected in a COW mapping; the child's start old and, in
 * a shared mapping, clean.
 */
static void __copy_present_ptes(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma,
				pte_t *dst_pte, pte_t *src_pte, pte_t pte, int nr)
{
	struct mml_machine *m = src_vma->vm_mm->machine;

	if (is_cow_mapping(src_vma->vm_flags) && !bug_enabled(m, BUG_FORK_NO_WRPROTECT))
		for (int i = 0; i < nr; i++)
			ptep_set_wrprotect(src_pte + i);
	if (is_cow_mapping(src_vma->vm_flags))
		pte = pte_wrprotect(pte);
	if (src_vma->vm_flags & VM_SHARED)
		pte = pte_mkclean(pte);
	pte = pte_mkold(pte);
	if (!(dst_vma->vm_flags & VM_UFFD_WP))
		pte = pte_clear_uffd_wp(pte);
	for (int i = 0; i < nr; i++, pte = pte_advance_pfn(pte, 1))
		set_pte(dst_pte + i, pte);
}

/*
 * copy_present_ptes(): share up to max_nr present ptes with the child, a
 * batch of one large folio at once; returns how many were copied.
 * -EAGAIN: a page that may be pinned must be copied and the caller has to
 * allocate first (*prealloc), then come back, when only that one page is
 * looked at.
 */
static int copy_present_ptes(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma,
			     pte_t *dst_pte, pte_t *src_pte, uint64_t addr, int max_nr, struct folio **prealloc)
{
	struct mml_machine *m = src_vma->vm_mm->machine;
	pte_t pte = ptep_get(src_pte);
	struct page *page = vm_normal_page(src_vma, addr, pte);
	struct folio *folio = page ? page_folio(page) : NULL;
	int nr = 1;

	if (!folio) {
		/* The zero page: nothing to count. */
		__copy_present_ptes(dst_vma, src_vma, dst_pte, src_pte, pte, 1);
		return 1;
	}
	if (folio_test_large(folio) && max_nr > 1 && !*prealloc) {
		bool any_writable;

		nr = folio_pte_batch(m, folio, src_pte, pte, max_nr, &any_writable, NULL, NULL);
		if (any_writable)
			pte = pte_mkwrite_novma(pte);
	}
	folio_ref_add(folio, nr);
	if (folio_test_anon(folio)) {
		if (folio_try_dup_anon_rmap_ptes(folio, page, nr, dst_vma, src_vma)) {
			folio_put_refs(m, folio, nr);
			if (nr > 1 || !*prealloc)
				return -EAGAIN;
			copy_present_page(dst_vma, dst_pte, addr, page, *prealloc);
			*prealloc = NULL;
			return 1;
		}
		add_mm_counter(dst_vma->vm_mm, MM_ANONPAGES, nr);
	} else {
		folio_dup_file_rmap_ptes(folio, page, nr, dst_vma);
		add_mm_counter(dst_vma->vm_mm, MM_FILEPAGES, nr);
	}
	__copy_present_ptes(dst_vma, src_vma, dst_pte, src_pte, pte, nr);
	return nr;
}

/*
 * copy_nonpresent_pte() for swap entries: the child names the same slot
 * (swap_duplicate), and neither side may assume exclusivity any more.
 */
static int copy_nonpresent_pte(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma,
			       pte_t *dst_pte, pte_t *src_pte, uint64_t addr)
{
	struct mml_machine *m = src_vma->vm_mm->machine;
	pte_t pte = ptep_get(src_pte);
	swp_entry_t entry = pte_to_swp_entry(pte);

	if (is_device_exclusive_entry(entry)) {
		/*
		 * The parent's pte comes back first (the device is told by the
		 * write-protect range around the whole copy), then it is copied
		 * as a present one: -ENOENT.  -EBUSY: its folio is locked, wait.
		 */
		struct folio *folio = page_folio(pfn_to_page(m, swp_offset_pfn(entry)));

		if (!folio_trylock(folio))
			return -EBUSY;
		restore_exclusive_pte(src_vma, folio, pfn_to_page(m, swp_offset_pfn(entry)), addr, src_pte, pte);
		folio_unlock(folio);
		return -ENOENT;
	}
	if (non_swap_entry(entry) || !swap_info_get(m, entry)) {
		mml_report(m, "fork: a non-present pte %#llx that names no swap slot at %#llx",
			   (unsigned long long)pte_val(pte), (unsigned long long)addr);
		return 0;
	}
	if (!bug_enabled(m, BUG_FORK_NO_SWAP_DUP) && swap_duplicate(m, entry) < 0)
		return -ENOMEM;
	if (pte_swp_exclusive(pte) && !bug_enabled(m, BUG_FORK_SWAP_KEEP_EXCLUSIVE)) {
		pte = pte_swp_clear_exclusive(pte);
		set_pte(src_pte, pte);
	}
	add_mm_counter(dst_vma->vm_mm, MM_SWAPENTS, 1);
	if (!(dst_vma->vm_flags & VM_UFFD_WP))
		pte = pte_swp_clear_uffd_wp(pte);
	set_pte(dst_pte, pte);
	return 0;
}

static int copy_pte_range(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma,
			  pmd_t *dst_pmd, pmd_t *src_pmd, uint64_t addr, uint64_t end)
{
	struct mm_struct *dst_mm = dst_vma->vm_mm, *src_mm = src_vma->vm_mm;
	struct mml_machine *m = src_mm->machine;
	struct folio *prealloc = NULL, *busy;
	spinlock_t *src_ptl, *dst_ptl;
	pte_t *src_pte, *dst_pte;
	int ret = 0, nr;

again:
	if (pmd_none(pmdp_get(dst_pmd)) && __pte_alloc(dst_mm, dst_pmd)) {
		ret = -ENOMEM;
		goto out;
	}
	dst_pte = pte_offset_map_lock(dst_mm, dst_pmd, addr, &dst_ptl);
	src_pte = pte_offset_map_lock(src_mm, src_pmd, addr, &src_ptl);
	if (!src_pte) {
		pte_unmap_unlock(dst_pte, dst_ptl);
		goto out;
	}
	for (; addr < end; addr += (uint64_t)nr << PAGE_SHIFT, src_pte += nr, dst_pte += nr) {
		pte_t ptent = ptep_get(src_pte);

		nr = 1;
		if (pte_none(ptent))
			continue;
		if (unlikely(!pte_present(ptent))) {
			ret = copy_nonpresent_pte(dst_vma, src_vma, dst_pte, src_pte, addr);
			if (ret == -ENOENT) {
				/* A device-exclusive entry, present again: copy it as such. */
				ret = 0;
				ptent = ptep_get(src_pte);
			} else if (ret) {
				break;
			} else {
				continue;
			}
		}
		ret = copy_present_ptes(dst_vma, src_vma, dst_pte, src_pte, addr,
					(int)((end - addr) >> PAGE_SHIFT), &prealloc);
		if (ret == -EAGAIN)
			break;
		nr = ret;
		ret = 0;
	}
	if (ret == -EBUSY) {
		/* Wait for the folio lock outside ours, then look again. */
		busy = page_folio(pfn_to_page(m, swp_offset_pfn(pte_to_swp_entry(ptep_get(src_pte)))));
		folio_get(busy);
	}
	pte_unmap_unlock(src_pte, src_ptl);
	pte_unmap_unlock(dst_pte, dst_ptl);
	if (ret == -EBUSY) {
		folio_lock(busy);
		folio_unlock(busy);
		folio_put(m, busy);
		ret = 0;
		goto again;
	}
	if (ret == -EAGAIN) {
		/* Allocate outside the locks, then redo this entry. */
		prealloc = vma_alloc_folio(dst_vma, 0, 0, addr);
		if (!prealloc) {
			ret = -ENOMEM;
			goto out;
		}
		ret = 0;
		goto again;
	}
out:
	if (prealloc)
		folio_put(m, prealloc);
	return ret;
}

static int copy_pmd_range(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma,
			  pud_t *dst_pud, pud_t *src_pud, uint64_t addr, uint64_t end)
{
	struct mm_struct *dst_mm = dst_vma->vm_mm, *src_mm = src_vma->vm_mm;
	pmd_t *src_pmd = pmd_offset(src_mm->machine, src_pud, addr), *dst_pmd;
	uint64_t next;

	dst_pmd = pmd_alloc(dst_mm, dst_pud, addr);
	if (!dst_pmd)
		return -ENOMEM;
	do {
		next = pmd_addr_end(addr, end);
		/* Linux copies a huge pmd here (copy_huge_pmd). */
		if (pmd_no_table(src_mm, pmdp_get(src_pmd), addr, "copy_page_range"))
			continue;
		if (copy_pte_range(dst_vma, src_vma, dst_pmd, src_pmd, addr, next))
			return -ENOMEM;
	} while (dst_pmd++, src_pmd++, addr = next, addr != end);
	return 0;
}

static int copy_pud_range(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma,
			  pgd_t *dst_pgd, pgd_t *src_pgd, uint64_t addr, uint64_t end)
{
	struct mm_struct *dst_mm = dst_vma->vm_mm, *src_mm = src_vma->vm_mm;
	pud_t *src_pud = pud_offset(src_mm->machine, src_pgd, addr), *dst_pud;
	uint64_t next;

	dst_pud = pud_alloc(dst_mm, dst_pgd, addr);
	if (!dst_pud)
		return -ENOMEM;
	do {
		next = pud_addr_end(addr, end);
		if (pud_no_table(src_mm, pudp_get(src_pud), addr, "copy_page_range"))
			continue;
		if (copy_pmd_range(dst_vma, src_vma, dst_pud, src_pud, addr, next))
			return -ENOMEM;
	} while (dst_pud++, src_pud++, addr = next, addr != end);
	return 0;
}

/* copy_page_range(): the child's page tables for one VMA (mmap_lock of both held for write). */
int copy_page_range(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma)
{
	struct mm_struct *dst_mm = dst_vma->vm_mm, *src_mm = src_vma->vm_mm;
	uint64_t addr = src_vma->vm_start, end = src_vma->vm_end, next;
	pgd_t *src_pgd = pgd_offset(src_mm, addr), *dst_pgd = pgd_offset(dst_mm, addr);
	bool is_cow = is_cow_mapping(src_vma->vm_flags);
	struct mmu_notifier_range range;
	int err = 0;

	/* Nothing to copy where no anon page was ever faulted. */
	if (!src_vma->anon_vma && vma_is_anonymous(src_vma))
		return 0;

	/*
	 * The parent's ptes are write-protected below: its secondary MMUs
	 * must drop their writable translations first (seed 002: "generating
	 * mm corruption in fork").  GUP-fast takes no lock: it must not pin a
	 * page we are about to share; it backs off while the count is odd or
	 * has moved.
	 */
	mmu_notifier_range_init(&range, MMU_NOTIFY_PROTECTION_PAGE, 0, src_mm, addr, end);
	if (is_cow && !bug_enabled(src_mm->machine, BUG_FORK_NO_NOTIFY))
		mmu_notifier_invalidate_range_start(&range);
	if (is_cow)
		raw_write_seqcount_begin(&src_mm->write_protect_seq);
	do {
		next = pgd_addr_end(addr, end);
		if (pgd_none(pgdp_get(src_pgd)))
			continue;
		err = copy_pud_range(dst_vma, src_vma, dst_pgd, src_pgd, addr, next);
		if (err)
			break;
	} while (dst_pgd++, src_pgd++, addr = next, addr != end);
	if (is_cow)
		raw_write_seqcount_end(&src_mm->write_protect_seq);
	if (is_cow && !bug_enabled(src_mm->machine, BUG_FORK_NO_NOTIFY))
		mmu_notifier_invalidate_range_end(&range);
	return err;
}

/* ---- unmap: zap_page_range and friends ---------------------------------------- */

/*
 * zap_present_ptes(): clear a batch of present ptes mapping one folio (or
 * the zero page) and queue the folio's references for after the flush.
 * Returns how many ptes it cleared; *force_flush when the batch is full.
 */
static int zap_present_ptes(struct mmu_gather *tlb, struct vm_area_struct *vma, pte_t *pte, pte_t ptent,
			    int max_nr, uint64_t addr, long *rss, bool *force_flush)
{
	struct mml_machine *m = tlb->mm->machine;
	struct page *page = vm_normal_page(vma, addr, ptent);
	struct folio *folio;
	int nr = 1;

	if (!page) {
		/* The zero page: nothing to free. */
		ptep_get_and_clear(pte);
		tlb_flush_pte_range(tlb, addr, PAGE_SIZE);
		return 1;
	}
	folio = page_folio(page);
	if (folio_test_large(folio) && max_nr > 1)
		nr = folio_pte_batch(m, folio, pte, ptent, max_nr, NULL, NULL, NULL);
	for (int i = 0; i < nr; i++)
		ptep_get_and_clear(pte + i);
	tlb_flush_pte_range(tlb, addr, (uint64_t)nr << PAGE_SHIFT);
	rss[folio_test_anon(folio) ? MM_ANONPAGES : MM_FILEPAGES] -= nr;
	folio_remove_rmap_ptes(folio, page, nr, vma);
	if (__tlb_remove_folio_pages(tlb, folio, nr))
		*force_flush = true;
	return nr;
}

/* zap_pte_range(): returns where it stopped (end, unless a full batch forced a flush). */
static uint64_t zap_pte_range(struct mmu_gather *tlb, struct vm_area_struct *vma, pmd_t *pmd,
			      uint64_t addr, uint64_t end)
{
	struct mm_struct *mm = tlb->mm;
	bool force_flush = false;
	long rss[3] = { 0 };
	spinlock_t *ptl;
	pte_t *pte;
	int nr;

	pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!pte)
		return end;
	for (; addr < end; pte += nr, addr += (uint64_t)nr << PAGE_SHIFT) {
		pte_t ptent = ptep_get(pte);

		nr = 1;
		if (pte_none(ptent))
			continue;
		if (unlikely(!pte_present(ptent))) {
			/* A swap entry: the slot loses a user; maybe the cache its folio. */
			pte_clear(pte);
			if (is_swap_entry_pte(ptent)) {
				rss[MM_SWAPENTS]--;
				free_swap_and_cache(mm->machine, pte_to_swp_entry(ptent));
			} else if (is_device_exclusive_pte(ptent)) {
				/* It kept the page's mapping and reference; no TLB holds it. */
				struct page *page = pfn_to_page(mm->machine, swp_offset_pfn(pte_to_swp_entry(ptent)));

				rss[MM_ANONPAGES]--;
				folio_remove_rmap_pte(page_folio(page), page, vma);
				folio_put(mm->machine, page_folio(page));
			} else {
				mml_report(mm->machine, "zap: a non-present pte %#llx that names no swap slot at %#llx",
					   (unsigned long long)pte_val(ptent), (unsigned long long)addr);
			}
			continue;
		}
		nr = zap_present_ptes(tlb, vma, pte, ptent, (int)((end - addr) >> PAGE_SHIFT), addr, rss,
				      &force_flush);
		if (force_flush) {
			addr += (uint64_t)nr << PAGE_SHIFT;
			pte += nr;
			break;
		}
	}
	add_mm_counter(mm, MM_ANONPAGES, rss[MM_ANONPAGES]);
	add_mm_counter(mm, MM_FILEPAGES, rss[MM_FILEPAGES]);
	add_mm_counter(mm, MM_SWAPENTS, rss[MM_SWAPENTS]);
	pte_unmap_unlock(pte, ptl);
	/* The batch is full: flush the TLBs, then free, before going on. */
	if (force_flush)
		tlb_flush_mmu(tlb);
	return addr;
}

static void zap_pmd_range(struct mmu_gather *tlb, struct vm_area_struct *vma, pud_t *pud,
			  uint64_t addr, uint64_t end)
{
	pmd_t *pmd = pmd_offset(tlb->mm->machine, pud, addr);
	uint64_t next;

	do {
		next = pmd_addr_end(addr, end);
		/* Linux zaps or splits a huge pmd here (zap_huge_pmd). */
		if (pmd_no_table(tlb->mm, pmdp_get(pmd), addr, "zap_page_range"))
			continue;
		/* Again from where a full batch stopped, until the whole table is done. */
		do {
			addr = zap_pte_range(tlb, vma, pmd, addr, next);
		} while (addr != next);
	} while (pmd++, addr = next, addr != end);
}

static void zap_pud_range(struct mmu_gather *tlb, struct vm_area_struct *vma, pgd_t *pgd,
			  uint64_t addr, uint64_t end)
{
	pud_t *pud = pud_offset(tlb->mm->machine, pgd, addr);
	uint64_t next;

	do {
		next = pud_addr_end(addr, end);
		if (pud_no_table(tlb->mm, pudp_get(pud), addr, "zap_page_range"))
			continue;
		zap_pmd_range(tlb, vma, pud, addr, next);
	} while (pud++, addr = next, addr != end);
}

/* unmap_page_range(): every mapping of [start, end) in vma goes into the mmu_gather. */
static void unmap_page_range(struct mmu_gather *tlb, struct vm_area_struct *vma, uint64_t addr, uint64_t end)
{
	pgd_t *pgd = pgd_offset(tlb->mm, addr);
	uint64_t next;

	do {
		next = pgd_addr_end(addr, end);
		if (pgd_none(pgdp_get(pgd)))
			continue;
		zap_pud_range(tlb, vma, pgd, addr, next);
	} while (pgd++, addr = next, addr != end);
}

/* unmap_single_vma(): the part of [start, end) that lies in vma. */
void unmap_single_vma(struct mmu_gather *tlb, struct vm_area_struct *vma, uint64_t start, uint64_t end)
{
	start = max(start, vma->vm_start);
	end = min(end, vma->vm_end);
	if (start < end)
		unmap_page_range(tlb, vma, start, end);
}

/*
 * zap_page_range_single(): MADV_DONTNEED's unmap of one VMA's range.  The
 * secondary MMUs learn of it before and after (MMU_NOTIFY_CLEAR: the VMA
 * stays); the pages go only after the TLB flush.
 */
void zap_page_range_single(struct vm_area_struct *vma, uint64_t addr, uint64_t size)
{
	struct mmu_notifier_range range;
	struct mmu_gather tlb;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, vma->vm_mm, addr, addr + size);
	tlb_gather_mmu(&tlb, vma->vm_mm);
	mmu_notifier_invalidate_range_start(&range);
	unmap_single_vma(&tlb, vma, addr, addr + size);
	mmu_notifier_invalidate_range_end(&range);
	tlb_finish_mmu(&tlb);
}
