/*
 * memory.c - page faults, copy-on-write and batches of ptes (Linux's
 * mm/memory.c; fork's copy is in memory_copy.c, unmap in memory_zap.c,
 * the file faults in memory_file.c).
 *
 * Faults run under mmap_lock held for read, or a CPU's under its VMA's
 * read lock alone (FAULT_FLAG_VMA_LOCK, mmap_lock.c); page-table entries
 * change under the split pte lock.  The pattern throughout, as in Linux: read the entry
 * without the lock, allocate what is needed outside it, take the lock,
 * re-check with pte_same() and either install or back out and retry.
 */
#include <string.h>

#include "mm/internal.h"
#include "mm/ksm.h"
#include "mm/userfaultfd_k.h"
#include "mm/mmu_notifier.h"
#include "mm/pagewalk.h"
#include "mm/userfaultfd_k.h"

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
bool pte_range_none(pte_t *pte, int nr)
{
	for (int i = 0; i < nr; i++)
		if (!pte_none(ptep_get(pte + i)))
			return false;
	return true;
}

/*
 * alloc_anon_folio(): the folio a write fault maps, zeroed.  The mTHP
 * orders below PMD size the VMA may use (thp_vma_allowable_orders: the
 * hugepages-<size>kB/enabled files) whose aligned range lies in the VMA
 * are looked at with the page table mapped, from the largest down, and
 * the first whose ptes are all none is tried first; then the smaller
 * ones (inside it, so none too), as the defrag knob lets them try
 * (vma_thp_gfp_mask); then a small folio.  NULL with *retry when the
 * page table went away meanwhile (the fault is retried), else NULL when
 * out of memory.
 */
static struct folio *alloc_anon_folio(struct vm_fault *vmf, bool *retry)
{
	struct vm_area_struct *vma = vmf->vma;
	unsigned long orders = thp_vma_allowable_orders(vma, vma->vm_flags, TVA_IN_PF | TVA_ENFORCE_SYSFS,
							((1UL << HPAGE_PMD_ORDER) - 1) & ~3UL);
	unsigned order = HPAGE_PMD_ORDER;
	gfp_t gfp;
	pte_t *pte;

	*retry = false;
	/* A registered VMA faults page by page: each missing page is reported alone. */
	if (!orders || userfaultfd_armed(vma))
		return vma_alloc_folio(vma, GFP_HIGHUSER_MOVABLE | __GFP_ZERO, 0, vmf->address);
	pte = pte_offset_map(vma->vm_mm, vmf->pmd, vmf->address & PMD_MASK, NULL);
	if (!pte) {
		*retry = true;
		return NULL;
	}
	while (--order > 0) {
		uint64_t size = PAGE_SIZE << order, addr = vmf->address & ~(size - 1);

		if (!(orders & (1UL << order)))
			continue;
		if (addr >= vma->vm_start && addr + size <= vma->vm_end &&
		    pte_range_none(pte + pte_index(addr), 1 << order))
			break;
		orders &= ~(1UL << order);
	}
	pte_unmap(pte);
	/* No page-table lock or RCU held here: the allocation may reclaim and compact. */
	gfp = vma_thp_gfp_mask(vma) | __GFP_ZERO;
	for (; order > 0; order--) {
		uint64_t addr = vmf->address & ~((PAGE_SIZE << order) - 1);
		struct folio *folio;

		if (!(orders & (1UL << order)))
			continue;
		folio = vma_alloc_folio(vma, gfp, order, addr);
		if (folio)
			return folio;
	}
	return vma_alloc_folio(vma, GFP_HIGHUSER_MOVABLE | __GFP_ZERO, 0, vmf->address);
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
	vm_fault_t ret;
	bool retry;
	int nr;

	/* Linux asks under the pte lock; the same answer, since handle_userfault looks again. */
	if (userfaultfd_missing(vma))
		return handle_userfault(vmf, VM_UFFD_MISSING);
	if (!(vmf->flags & FAULT_FLAG_WRITE)) {
		entry = pte_mkspecial(pfn_pte(m->zero_pfn, vma->vm_page_prot));
		/* A uffd-wp marker's page keeps the protection once populated (vmf_orig_pte_uffd_wp). */
		if (pte_marker_uffd_wp(vmf->orig_pte))
			entry = pte_mkuffd_wp(entry);
		vmf->pte = pte_offset_map_lock(mm, vmf->pmd, vmf->address, &vmf->ptl);
		if (!vmf->pte)
			return 0;
		if (pte_same(ptep_get(vmf->pte), vmf->orig_pte))
			set_pte_at(mm, vmf->address, vmf->pte, entry);
		pte_unmap_unlock(vmf->pte, vmf->ptl);
		return 0;
	}

	if ((ret = vmf_anon_prepare(vmf)))
		return ret;
	folio = alloc_anon_folio(vmf, &retry);
	if (!folio)
		return retry ? 0 : VM_FAULT_OOM;
	/* Its zeros visible before the pte that maps it (set_ptes' release). */
	__folio_mark_uptodate(folio);
	nr = (int)folio_nr_pages(folio);
	addr = vmf->address & ~(((uint64_t)nr << PAGE_SHIFT) - 1);

	entry = mk_pte(m, &folio->page, vma->vm_page_prot);
	entry = pte_mkyoung(entry);
	if (vma->vm_flags & VM_WRITE)
		entry = maybe_mkwrite(pte_mkdirty(entry), vma);
	if (pte_marker_uffd_wp(vmf->orig_pte))
		entry = pte_mkuffd_wp(entry);

	vmf->pte = pte_offset_map_lock(mm, vmf->pmd, addr, &vmf->ptl);
	if (!vmf->pte || (nr == 1 ? !pte_same(ptep_get(vmf->pte), vmf->orig_pte) : !pte_range_none(vmf->pte, nr))) {
		/* Another thread faulted in first; nobody saw our folio. */
		if (vmf->pte)
			pte_unmap_unlock(vmf->pte, vmf->ptl);
		folio_put(m, folio);
		return 0;
	}
	folio_ref_add(folio, nr - 1);
	add_mm_counter(mm, MM_ANONPAGES, nr);
	folio_add_new_anon_rmap(folio, vma, addr, RMAP_EXCLUSIVE);
	folio_add_lru_vma(folio, vma);
	set_ptes(mm, addr, vmf->pte, entry, (unsigned)nr);
	pte_unmap_unlock(vmf->pte, vmf->ptl);
	return 0;
}

/*
 * Models __wp_can_reuse_large_anon_folio() (Linux 6.15+, CONFIG_MM_ID): a
 * large folio is ours to reuse when this mm alone maps it (its mm-id
 * slots say so) and every reference to it is one of those mappings (no
 * GUP, no swap cache).  A folio mapped by a single pte is copied instead,
 * so that the rest of it can be freed.
 */
static bool wp_can_reuse_large_anon_folio(struct folio *folio, struct vm_area_struct *vma)
{
	struct mml_machine *m = vma->vm_mm->machine;
	bool exclusive;

	if (folio_mapcount(folio) <= 1 || folio_mm_ids_shared(folio))
		return false;
	if (folio_test_swapcache(folio)) {
		if (!folio_trylock(folio))
			return false;
		folio_free_swap(m, folio);
		folio_unlock(folio);
	}
	if (folio_mapcount(folio) != folio_ref_count(folio))
		return false;
	/* Again with the mappings held still: a fork or an unmap may be under way. */
	folio_lock_large_mapcount(folio);
	exclusive = !folio_mm_ids_shared(folio) && folio_mapcount(folio) == folio_ref_count(folio);
	VM_WARN_ON_PAGE(exclusive && folio_mm_id(folio, 0) != vma->vm_mm->mm_id &&
			folio_mm_id(folio, 1) != vma->vm_mm->mm_id, m, &folio->page);
	folio_unlock_large_mapcount(folio);
	return exclusive;
}

/*
 * Models wp_can_reuse_anon_folio(): a page that is not marked exclusive may
 * still be reused when ours is provably the only reference (the other side
 * of a fork went away).  Never on mapcount alone: a GUP reference counts.
 */
static bool wp_can_reuse_anon_folio(struct folio *folio, struct vm_area_struct *vma)
{
	if (folio_test_large(folio))
		return wp_can_reuse_large_anon_folio(folio, vma);
	/*
	 * A KSM page is never reused: the stable tree hands it to whoever
	 * has its contents next.  The zoo's switch reuses one mapped once,
	 * in place, still on its stable node.
	 */
	if (folio_test_ksm(folio))
		return bug_enabled(vma->vm_mm->machine, BUG_KSM_COW_REUSE) && folio_mapcount(folio) == 1 &&
		       folio_ref_count(folio) == 1 + folio_test_swapcache(folio);
	/* The pre-5.8 rule: mapped once means ours, whoever else holds it. */
	if (bug_enabled(vma->vm_mm->machine, BUG_COW_REUSE_MAPCOUNT))
		return folio_mapcount(folio) == 1;
	/* Ours, the swap cache's and a CPU's lru_add batch's: any more and it is shared. */
	if (folio_ref_count(folio) > 3)
		return false;
	/*
	 * A folio not yet on the LRU may sit in a batch with a reference.
	 * Linux drains only this CPU's batch, so a folio another CPU added
	 * is copied; mmlab drains every CPU's (deviation 21), so that the
	 * answer does not depend on which task added it.
	 */
	if (!folio_test_lru(folio))
		lru_add_drain_all(vma->vm_mm->machine);
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
vm_fault_t wp_page_reuse(struct vm_fault *vmf)
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
 * The zoo's wp-copy-no-pte-same: the copy goes in over whatever anon page
 * the pte maps by now -- another thread's copy, with what that thread
 * wrote to it.  *gone becomes that page, unmapped below as the one the
 * copy replaces; Linux without the recheck would unmap the old page a
 * second time instead and break its counts, which the zoo spares the
 * machine so that it lives to show the lost write.
 */
static bool wp_page_copy_over(struct vm_fault *vmf, struct page **gone)
{
	pte_t pte = ptep_get(vmf->pte);
	struct page *page = pte_present(pte) ? vm_normal_page(vmf->vma, vmf->address, pte) : NULL;

	if (!page || !folio_test_anon(page_folio(page)))
		return false;
	*gone = page;
	return true;
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
	struct page *gone = vmf->page;	/* the page the copy replaces */
	vm_fault_t ret;
	struct mmu_notifier_range range;
	struct folio *new_folio;
	bool notify, early_end, install;
	pte_t entry;

	if ((ret = vmf_anon_prepare(vmf))) {
		if (old_folio)
			folio_put(m, old_folio);
		return ret;
	}
	if (!old_folio) {
		new_folio = vma_alloc_folio(vma, GFP_HIGHUSER_MOVABLE | __GFP_ZERO, 0, vmf->address);
		if (!new_folio)
			goto oom;
	} else {
		bool lose = unshare && folio_test_ksm(old_folio) && bug_enabled(m, BUG_KSM_UNMERGE_LOSES_DATA);

		new_folio = vma_alloc_folio(vma, GFP_HIGHUSER_MOVABLE | (lose ? __GFP_ZERO : 0), 0, vmf->address);
		if (!new_folio)
			goto oom;
		if (!lose)
			copy_user_highpage(m, &new_folio->page, vmf->page);
	}
	__folio_mark_uptodate(new_folio);

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
	/*
	 * Again under the lock we dropped to allocate and copy: another
	 * thread's fault may have given this address its own copy meanwhile
	 * (and written to it), or an unmap taken the page away.
	 */
	vmf->pte = pte_offset_map_lock(mm, vmf->pmd, vmf->address, &vmf->ptl);
	install = vmf->pte && pte_same(ptep_get(vmf->pte), vmf->orig_pte);
	if (vmf->pte && !install && old_folio && folio_test_anon(old_folio) && bug_enabled(m, BUG_WP_COPY_NO_PTE_SAME))
		install = wp_page_copy_over(vmf, &gone);
	if (likely(install)) {
		if (old_folio) {
			if (!folio_test_anon(old_folio)) {
				add_mm_counter(mm, mm_counter_file(old_folio), -1);
				add_mm_counter(mm, MM_ANONPAGES, 1);
			}
		} else {
			/* A zero page KSM put there leaves its count. */
			ksm_might_unmap_zero_page(mm, vmf->orig_pte);
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
		folio_add_lru_vma(new_folio, vma);
		set_pte_at(mm, vmf->address, vmf->pte, entry);
		if (old_folio) {
			folio_remove_rmap_pte(page_folio(gone), gone, vma);
			/* The old mapping's reference; ours is dropped below. */
			folio_put(m, page_folio(gone));
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

	/* A write to a page the userfaultfd write-protected reports (an unshare is no write). */
	if (!unshare && userfaultfd_pte_wp(vma, ptep_get(vmf->pte))) {
		pte_unmap_unlock(vmf->pte, vmf->ptl);
		return handle_userfault(vmf, VM_UFFD_WP);
	}
	vmf->page = vm_normal_page(vma, vmf->address, vmf->orig_pte);
	if (vmf->page)
		folio = page_folio(vmf->page);

	/* A shared mapping writes the page itself: no copy. */
	if ((vma->vm_flags & (VM_SHARED | VM_MAYSHARE)) && folio)
		return wp_page_shared(vmf, folio);
	/* wp_pfn_shared(): no page behind the pte (a DAX hole's zero page): the file system decides. */
	if ((vma->vm_flags & (VM_SHARED | VM_MAYSHARE)) && vma->vm_ops && vma->vm_ops->pfn_mkwrite) {
		pte_unmap_unlock(vmf->pte, vmf->ptl);
		return vma->vm_ops->pfn_mkwrite(vmf);
	}

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
	if (folio) {
		if (folio_test_ksm(folio))
			count_vm_event(m, COW_KSM);
		folio_get(folio);
	}
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
 * Models pte_marker_handle_uffd_wp(): a uffd-wp marker is a none pte that
 * remembers the protection: the missing-page path runs and maps the new
 * page with uffd-wp.  Outside a uffd-wp VMA the marker is stale and
 * simply cleared (pte_marker_clear), then the fault runs again.
 */
static vm_fault_t pte_marker_handle_uffd_wp(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;

	if (!userfaultfd_wp(vma)) {
		vmf->pte = pte_offset_map_lock(vma->vm_mm, vmf->pmd, vmf->address, &vmf->ptl);
		if (!vmf->pte)
			return 0;
		if (pte_same(ptep_get(vmf->pte), vmf->orig_pte))
			pte_clear(vmf->pte);
		pte_unmap_unlock(vmf->pte, vmf->ptl);
		return 0;
	}
	return vma_is_anonymous(vma) ? do_anonymous_page(vmf) : do_fault(vmf);
}

/*
 * handle_pte_marker(): a marker names no page.  Touching a guard one is
 * SIGSEGV (read or write, GUP's fault too); a uffd-wp one is a none pte
 * that remembers its protection.
 */
static vm_fault_t handle_pte_marker(struct vm_fault *vmf)
{
	pte_marker marker = pte_marker_get(pte_to_swp_entry(vmf->orig_pte));

	if (marker & PTE_MARKER_GUARD)
		return VM_FAULT_SIGSEGV;
	if (marker & PTE_MARKER_UFFD_WP)
		return pte_marker_handle_uffd_wp(vmf);
	mml_report(vmf->vma->vm_mm->machine, "fault on a pte marker %#lx that mmlab never makes at %#llx", marker,
		   (unsigned long long)vmf->address);
	return VM_FAULT_SIGBUS;
}

/*
 * do_swap_page(): bring a swapped-out page back, through the swap cache.
 * It maps exclusive (and may be mapped writable at once) when the swap pte
 * says it was exclusive, or when ours is the only reference; otherwise it
 * is mapped read-only and a write goes through do_wp_page.  The page is the
 * one of the cached folio that holds the entry's slot.  Linux may map a
 * whole large folio at once; mmlab swaps in small folios only.  An entry
 * whose device is gone while the pte still names it is reported (Linux
 * prints "Bad swap file entry" and faults again).
 */
static vm_fault_t do_swap_page(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	swp_entry_t entry = pte_to_swp_entry(vmf->orig_pte);
	struct swap_info_struct *si;
	struct folio *folio, *swapcache;
	struct page *page;
	vm_fault_t ret = 0;
	bool exclusive;
	pte_t pte;

	if (is_device_exclusive_entry(entry))
		return remove_device_exclusive_entry(vmf);
	if (is_pte_marker_entry(entry))
		return handle_pte_marker(vmf);
	if (is_migration_entry(entry)) {
		/* A folio being split: wait for its lock, then fault again. */
		migration_entry_wait(mm, vmf->pmd, vmf->address);
		return 0;
	}
	/* Prevent swapoff from happening to us. */
	si = non_swap_entry(entry) ? NULL : get_swap_device(m, entry);
	if (!si) {
		/* swapoff brought the page back since the pte was read: fault again.  Else a stale entry. */
		vmf->pte = pte_offset_map_lock(mm, vmf->pmd, vmf->address, &vmf->ptl);
		if (vmf->pte && pte_same(ptep_get(vmf->pte), vmf->orig_pte)) {
			mml_report(m, "fault on a non-present pte %#llx that names no swap slot at %#llx",
				   (unsigned long long)pte_val(vmf->orig_pte), (unsigned long long)vmf->address);
			ret = VM_FAULT_SIGBUS;
		}
		if (vmf->pte)
			pte_unmap_unlock(vmf->pte, vmf->ptl);
		return ret;
	}
	if ((ret = vmf_anon_prepare(vmf)))
		goto out;
	/* A folio readahead (or another fault) brought in is a minor fault: only a read is major. */
	folio = swap_cache_get_folio(m, entry);
	if (folio) {
		swap_update_readahead(m, folio, vma, vmf->address);
	} else {
		folio = swapin_readahead(m, entry, vmf);
		if (folio) {
			ret = VM_FAULT_MAJOR;
			count_vm_event(m, PGMAJFAULT);
		}
	}
	if (!folio) {
		/* Another thread may have swapped it in (or zapped it): look again. */
		vmf->pte = pte_offset_map_lock(mm, vmf->pmd, vmf->address, &vmf->ptl);
		if (vmf->pte && pte_same(ptep_get(vmf->pte), vmf->orig_pte))
			ret = VM_FAULT_OOM;	/* memory, or the read failed: SIGBUS in Linux for I/O */
		if (vmf->pte)
			pte_unmap_unlock(vmf->pte, vmf->ptl);
		goto out;
	}
	folio_lock(folio);
	/*
	 * It may have left the swap cache (and its slot) while we waited, and
	 * the slot may hold another page's data by now: the reference we hold
	 * does not keep the folio in the cache, and pte_same below cannot
	 * tell a pte that names the slot again from one that never changed.
	 */
	if (!folio_matches_swap_entry(folio, entry) && !bug_enabled(m, BUG_SWAPIN_NO_SWAPCACHE_RECHECK))
		goto out_page;
	page = folio_file_page(folio, swp_offset(entry));
	/* A KSM page whose stable node went is copied (ksm_might_need_to_copy). */
	swapcache = folio;
	folio = ksm_might_need_to_copy(folio, vma, vmf->address);
	if (!folio) {
		folio = swapcache;
		ret = VM_FAULT_OOM;
		goto out_page;
	}
	if (folio != swapcache)
		page = &folio->page;
	vmf->pte = pte_offset_map_lock(mm, vmf->pmd, vmf->address, &vmf->ptl);
	if (!vmf->pte || !pte_same(ptep_get(vmf->pte), vmf->orig_pte))
		goto out_nomap;

	/* A KSM page is shared whatever the entry says; a fresh copy is ours alone. */
	exclusive = folio != swapcache || (pte_swp_exclusive(vmf->orig_pte) && !folio_test_ksm(folio));
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
	if (exclusive || (folio_ref_count(folio) == 1 && !folio_test_ksm(folio))) {
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
	if (folio != swapcache) {
		/* The copy is new: its reference becomes the mapping's, the swap cache's folio is let go. */
		folio_add_new_anon_rmap(folio, vma, vmf->address, RMAP_EXCLUSIVE);
		folio_add_lru_vma(folio, vma);
		set_pte_at(mm, vmf->address, vmf->pte, pte);
		folio_unlock(folio);
		folio_unlock(swapcache);
		folio_put(m, swapcache);
		folio_get(folio);	/* for the common ending's put */
	} else {
		folio_get(folio);	/* the mapping's reference */
		folio_add_anon_rmap_pte(folio, page, vma, vmf->address, exclusive ? RMAP_EXCLUSIVE : RMAP_NONE);
		set_pte_at(mm, vmf->address, vmf->pte, pte);
		folio_unlock(folio);
	}
	if (vmf->flags & FAULT_FLAG_WRITE) {
		/* Still a write to a page that may be shared: copy-on-write as usual. */
		vmf->orig_pte = ptep_get(vmf->pte);
		ret |= do_wp_page(vmf);
		folio_put(m, folio);
		goto out;
	}
	pte_unmap_unlock(vmf->pte, vmf->ptl);
	folio_put(m, folio);
	goto out;
out_nomap:
	if (vmf->pte)
		pte_unmap_unlock(vmf->pte, vmf->ptl);
	if (folio != swapcache) {
		folio_unlock(folio);
		folio_put(m, folio);
		folio = swapcache;
	}
out_page:
	folio_unlock(folio);
	folio_put(m, folio);
out:
	put_swap_device(si);
	return ret;
}

/*
 * handle_pte_fault(): read the pte without the lock, dispatch on what it
 * is, and recheck under the lock before changing it.  No NUMA hinting
 * faults.
 */
static vm_fault_t handle_pte_fault(struct vm_fault *vmf)
{
	struct mm_struct *mm = vmf->vma->vm_mm;
	pte_t entry;

	if (pmd_none(pmdp_get(vmf->pmd))) {
		/* A file's fault makes the table itself: it may map a pmd instead (finish_fault). */
		vmf->orig_pte = __pte(0);
	} else {
		struct pte_stay stay;
		pmd_t pmdval;

		vmf->pte = pte_offset_map(mm, vmf->pmd, vmf->address, &pmdval);
		if (!vmf->pte)
			return 0;	/* the table went away: retry */
		/* Under RCU alone (retract_page_tables takes no mmap_lock): checked as GUP-fast is. */
		pte_table_enter(mm->machine, pmdval, &stay, "a fault", vmf->address);
		vmf->orig_pte = ptep_get(vmf->pte);
		pte_table_leave(mm->machine, &stay, "a fault", vmf->address);
		pte_unmap(vmf->pte);
		vmf->pte = NULL;
	}

	if (pte_none(vmf->orig_pte)) {
		if (vma_is_anonymous(vmf->vma))
			return do_anonymous_page(vmf);
		return do_fault(vmf);
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
 * __handle_mm_fault(): build the upper levels; where the pmd is none and
 * the VMA may use the PMD size, try a huge pmd fault; on a pmd leaf,
 * handle the fault there (a write through a read-only leaf, or just the
 * accessed bit); else, or when the huge path falls back, the pte fault.
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
	vmf.orig_pmd = pmdp_get(vmf.pmd);
	/* A registered VMA takes small pages (Linux asks the userfaultfd from the huge path too). */
	if (pmd_none(vmf.orig_pmd) && !userfaultfd_armed(vma) &&
	    thp_vma_allowable_order(vma, vma->vm_flags, TVA_IN_PF | TVA_ENFORCE_SYSFS, HPAGE_PMD_ORDER)) {
		/* create_huge_pmd(): anon's own, or the file's huge_fault (DAX). */
		vm_fault_t ret = vma_is_anonymous(vma) ? do_huge_pmd_anonymous_page(&vmf) :
				 vma->vm_ops->huge_fault ? vma->vm_ops->huge_fault(&vmf, HPAGE_PMD_ORDER) :
				 VM_FAULT_FALLBACK;

		if (!(ret & VM_FAULT_FALLBACK))
			return ret;
	} else if (pmd_trans_huge(vmf.orig_pmd)) {
		if ((flags & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE)) && !pmd_write(vmf.orig_pmd)) {
			/* wp_huge_pmd(): a shared DAX leaf is made writable by the file system. */
			vm_fault_t ret = (flags & FAULT_FLAG_WRITE) && (vma->vm_flags & (VM_SHARED | VM_MAYSHARE)) &&
					 vma->vm_ops && vma->vm_ops->huge_fault ?
					 vma->vm_ops->huge_fault(&vmf, HPAGE_PMD_ORDER) : VM_FAULT_FALLBACK;

			if (!(ret & VM_FAULT_FALLBACK))
				return ret;
			ret = do_huge_pmd_wp_page(&vmf);

			if (!(ret & VM_FAULT_FALLBACK))
				return ret;
		} else {
			huge_pmd_set_accessed(&vmf);
			return 0;
		}
	}
	/* A file's fault makes its table in finish_fault or fault-around, where a pmd may do instead. */
	if (pmd_none(pmdp_get(vmf.pmd)) && (vma_is_anonymous(vma) || !vma->vm_ops || !vma->vm_ops->fault)) {
		if (__pte_alloc(mm, vmf.pmd))
			return VM_FAULT_OOM;
	}
	/*
	 * A leaf made meanwhile (another thread's fault, or a collapse that
	 * retracted the table): fault again, on it.  Read once: the pmd may
	 * change under us, no lock is held here.
	 */
	pmd_t pmdval = pmdp_get(vmf.pmd);

	if (pmd_trans_huge(pmdval))
		return 0;
	if (!pmd_none(pmdval) && pmd_no_table(mm, pmdval, address, "handle_mm_fault"))
		return VM_FAULT_SIGBUS;
	return handle_pte_fault(&vmf);
}

/*
 * vmf_anon_prepare(): the VMA's anon_vma before its first anonymous page.
 * Making one may look at the neighbours (find_mergeable_anon_vma), which
 * a VMA lock alone does not keep still: under one, mmap_lock is tried for
 * read, and if a writer holds it the VMA lock is dropped and the fault
 * retried under mmap_lock (VM_FAULT_RETRY).
 */
vm_fault_t vmf_anon_prepare(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	vm_fault_t ret = 0;

	if (likely(smp_load_acquire(&vma->anon_vma)))
		return 0;
	if (vmf->flags & FAULT_FLAG_VMA_LOCK) {
		if (!down_read_trylock(&mm->mmap_lock)) {
			vma_end_read(vma);
			return VM_FAULT_RETRY;
		}
	}
	if (anon_vma_prepare(vma))
		ret = VM_FAULT_OOM;
	if (vmf->flags & FAULT_FLAG_VMA_LOCK)
		up_read(&mm->mmap_lock);
	return ret;
}

/*
 * Models handle_mm_fault(): mmap_lock held for read, or with
 * FAULT_FLAG_VMA_LOCK the VMA's read lock; VM_FAULT_RETRY under the latter
 * means the handler dropped it (Linux also returns VM_FAULT_COMPLETED so;
 * no mmlab handler does).
 */
vm_fault_t handle_mm_fault(struct vm_area_struct *vma, uint64_t address, unsigned int flags)
{
	/* check_stable_address_space(): an OOM victim's memory is being taken away. */
	if (test_bit(MMF_OOM_VICTIM, &vma->vm_mm->flags))
		return VM_FAULT_SIGBUS;
	if (flags & FAULT_FLAG_VMA_LOCK)
		vma_assert_locked(vma);
	else
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
