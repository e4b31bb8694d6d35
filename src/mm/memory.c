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

/* Models vm_normal_page(): the struct page behind a pte, NULL for special ones. */
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

/* Models ptep_clear_flush(): the entry is gone from every TLB on return. */
static pte_t ptep_clear_flush(struct vm_area_struct *vma, uint64_t addr, pte_t *ptep)
{
	pte_t pte = ptep_get_and_clear(ptep);

	if (pte_hw_valid(pte))
		flush_tlb_page(vma, addr);
	return pte;
}

/* ---- anonymous faults --------------------------------------------------------- */

/*
 * Models do_anonymous_page(): a read maps the shared zero page, a write maps
 * a new zeroed folio that this VMA alone owns (PG_anon_exclusive).
 */
static vm_fault_t do_anonymous_page(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	struct folio *folio;
	pte_t entry;

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
	folio = vma_alloc_folio(vma, __GFP_ZERO, 0, vmf->address);
	if (!folio)
		return VM_FAULT_OOM;
	folio_set_uptodate(folio);

	entry = mk_pte(m, &folio->page, vma->vm_page_prot);
	entry = pte_mkyoung(entry);
	if (vma->vm_flags & VM_WRITE)
		entry = maybe_mkwrite(pte_mkdirty(entry), vma);

	vmf->pte = pte_offset_map_lock(mm, vmf->pmd, vmf->address, &vmf->ptl);
	if (!vmf->pte || !pte_none(ptep_get(vmf->pte))) {
		/* Another thread faulted it in first; nobody saw our folio. */
		if (vmf->pte)
			pte_unmap_unlock(vmf->pte, vmf->ptl);
		folio_put(m, folio);
		return 0;
	}
	add_mm_counter(mm, MM_ANONPAGES, 1);
	folio_add_new_anon_rmap(folio, vma, vmf->address);
	folio_add_lru(m, folio);
	set_pte_at(mm, vmf->address, vmf->pte, entry);
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
	struct folio *new_folio;
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
		folio_add_new_anon_rmap(new_folio, vma, vmf->address);
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

/*
 * Models do_swap_page(): bring a swapped-out page back, through the swap
 * cache.  It maps exclusive (and may be mapped writable at once) when the
 * swap pte says it was exclusive, or when ours is the only reference;
 * otherwise it is mapped read-only and a write goes through do_wp_page.
 */
static vm_fault_t do_swap_page(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	swp_entry_t entry = pte_to_swp_entry(vmf->orig_pte);
	struct folio *folio;
	vm_fault_t ret = 0;
	bool exclusive;
	pte_t pte;

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
	if (!folio_test_swapcache(folio) || folio->swap.val != entry.val)
		goto out_page;
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
	pte = pfn_pte(folio_pfn(m, folio), vma->vm_page_prot);
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
	folio_add_anon_rmap_pte(folio, &folio->page, vma, vmf->address, exclusive);
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

/* Models handle_pte_fault(). */
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

/* Models __handle_mm_fault(): build the upper levels, then the pte fault. */
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
	vmf.pmd = pmd_alloc(mm, pud, address);
	if (!vmf.pmd)
		return VM_FAULT_OOM;
	if (pmd_none(pmdp_get(vmf.pmd)) && __pte_alloc(mm, vmf.pmd))
		return VM_FAULT_OOM;
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

/* ---- fork: copy_page_range ---------------------------------------------------- */

/*
 * Models copy_present_page(): a page that may be pinned is not shared with
 * the child; the child gets its own copy now.
 */
static int copy_present_page(struct vm_area_struct *dst_vma, pte_t *dst_pte, uint64_t addr,
			     struct page *page, struct folio *new_folio)
{
	struct mml_machine *m = dst_vma->vm_mm->machine;
	pte_t pte;

	copy_user_highpage(m, &new_folio->page, page);
	folio_set_uptodate(new_folio);
	folio_add_new_anon_rmap(new_folio, dst_vma, addr);
	folio_add_lru(m, new_folio);
	add_mm_counter(dst_vma->vm_mm, MM_ANONPAGES, 1);
	pte = mk_pte(m, &new_folio->page, dst_vma->vm_page_prot);
	pte = maybe_mkwrite(pte_mkdirty(pte), dst_vma);
	set_pte_at(dst_vma->vm_mm, addr, dst_pte, pte);
	return 0;
}

/*
 * Models copy_present_pte(): share the page with the child, write-protecting
 * both sides of a COW mapping.  -EAGAIN: the page must be copied and the
 * caller has to allocate first (*prealloc).
 */
static int copy_present_pte(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma,
			    pte_t *dst_pte, pte_t *src_pte, uint64_t addr, struct folio **prealloc)
{
	struct mm_struct *src_mm = src_vma->vm_mm;
	struct mml_machine *m = src_mm->machine;
	pte_t pte = ptep_get(src_pte);
	struct page *page = vm_normal_page(src_vma, addr, pte);
	struct folio *folio = page ? page_folio(page) : NULL;

	if (folio && folio_test_anon(folio)) {
		folio_get(folio);
		if (folio_try_dup_anon_rmap_pte(folio, page, src_vma)) {
			folio_put(m, folio);
			if (!*prealloc)
				return -EAGAIN;
			copy_present_page(dst_vma, dst_pte, addr, page, *prealloc);
			*prealloc = NULL;
			return 0;
		}
		add_mm_counter(dst_vma->vm_mm, MM_ANONPAGES, 1);
	} else if (folio) {
		folio_get(folio);
		atomic_inc(&page->_mapcount);
		add_mm_counter(dst_vma->vm_mm, MM_FILEPAGES, 1);
	}

	if (is_cow_mapping(src_vma->vm_flags) && pte_write(pte)) {
		if (!bug_enabled(m, BUG_FORK_NO_WRPROTECT))
			ptep_set_wrprotect(src_pte);
		pte = pte_wrprotect(pte);
	}
	if (src_vma->vm_flags & VM_SHARED)
		pte = pte_mkclean(pte);
	pte = pte_mkold(pte);
	if (!(dst_vma->vm_flags & VM_UFFD_WP))
		pte = pte_clear_uffd_wp(pte);
	set_pte(dst_pte, pte);
	return 0;
}

/*
 * Models copy_nonpresent_pte() for swap entries: the child names the same
 * slot (swap_duplicate), and neither side may assume exclusivity any more.
 */
static int copy_nonpresent_pte(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma,
			       pte_t *dst_pte, pte_t *src_pte, uint64_t addr)
{
	struct mml_machine *m = src_vma->vm_mm->machine;
	pte_t pte = ptep_get(src_pte);
	swp_entry_t entry = pte_to_swp_entry(pte);

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
	struct folio *prealloc = NULL;
	spinlock_t *src_ptl, *dst_ptl;
	pte_t *src_pte, *dst_pte;
	int ret = 0;

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
	for (; addr < end; addr += PAGE_SIZE, src_pte++, dst_pte++) {
		pte_t ptent = ptep_get(src_pte);

		if (pte_none(ptent))
			continue;
		if (unlikely(!pte_present(ptent))) {
			ret = copy_nonpresent_pte(dst_vma, src_vma, dst_pte, src_pte, addr);
			if (ret)
				break;
			continue;
		}
		ret = copy_present_pte(dst_vma, src_vma, dst_pte, src_pte, addr, &prealloc);
		if (ret == -EAGAIN)
			break;
	}
	pte_unmap_unlock(src_pte, src_ptl);
	pte_unmap_unlock(dst_pte, dst_ptl);
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

/* Models copy_page_range() down through copy_pmd_range(). */
int copy_page_range(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma)
{
	struct mm_struct *dst_mm = dst_vma->vm_mm, *src_mm = src_vma->vm_mm;
	uint64_t addr = src_vma->vm_start, end = src_vma->vm_end, next;

	bool is_cow = is_cow_mapping(src_vma->vm_flags);
	int err = 0;

	/* Nothing to copy where no anon page was ever faulted. */
	if (!src_vma->anon_vma && vma_is_anonymous(src_vma))
		return 0;

	/*
	 * GUP-fast takes no lock: it must not pin a page we are about to
	 * share.  It backs off while the count is odd or has moved.
	 */
	if (is_cow)
		raw_write_seqcount_begin(&src_mm->write_protect_seq);
	for (; addr < end && !err; addr = next) {
		pmd_t *src_pmd, *dst_pmd;
		pud_t *dst_pud;

		next = pmd_addr_end(addr, end);
		src_pmd = mm_find_pmd(src_mm, addr);
		if (!src_pmd || !pmd_table(pmdp_get(src_pmd)))
			continue;
		dst_pud = pud_alloc(dst_mm, pgd_offset(dst_mm, addr), addr);
		dst_pmd = dst_pud ? pmd_alloc(dst_mm, dst_pud, addr) : NULL;
		if (!dst_pmd)
			err = -ENOMEM;
		else
			err = copy_pte_range(dst_vma, src_vma, dst_pmd, src_pmd, addr, next);
	}
	if (is_cow)
		raw_write_seqcount_end(&src_mm->write_protect_seq);
	return err;
}

/* ---- unmap: zap_pte_range and friends ------------------------------------------ */

/* Models zap_pte_range(): returns where it stopped (end unless a flush was due). */
static uint64_t zap_pte_range(struct mmu_gather *tlb, struct vm_area_struct *vma, pmd_t *pmd,
			      uint64_t addr, uint64_t end)
{
	struct mm_struct *mm = tlb->mm;
	bool force_flush = false;
	long rss_anon = 0, rss_file = 0, rss_swap = 0;
	spinlock_t *ptl;
	pte_t *pte;

	pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!pte)
		return end;
	for (; addr < end; pte++, addr += PAGE_SIZE) {
		pte_t ptent = ptep_get(pte);
		struct page *page;
		struct folio *folio;

		if (pte_none(ptent))
			continue;
		if (unlikely(!pte_present(ptent))) {
			/* A swap entry: the slot loses a user; maybe the cache its folio. */
			pte_clear(pte);
			if (is_swap_entry_pte(ptent)) {
				rss_swap--;
				free_swap_and_cache(mm->machine, pte_to_swp_entry(ptent));
			} else {
				mml_report(mm->machine, "zap: a non-present pte %#llx that names no swap slot at %#llx",
					   (unsigned long long)pte_val(ptent), (unsigned long long)addr);
			}
			continue;
		}
		page = vm_normal_page(vma, addr, ptent);
		ptent = ptep_get_and_clear(pte);
		tlb_flush_pte_range(tlb, addr, PAGE_SIZE);
		if (!page)
			continue;	/* the zero page */
		folio = page_folio(page);
		if (folio_test_anon(folio))
			rss_anon--;
		else
			rss_file--;
		folio_remove_rmap_pte(folio, page, vma);
		if (__tlb_remove_folio(tlb, folio)) {
			force_flush = true;
			addr += PAGE_SIZE;
			break;
		}
	}
	add_mm_counter(mm, MM_ANONPAGES, rss_anon);
	add_mm_counter(mm, MM_FILEPAGES, rss_file);
	add_mm_counter(mm, MM_SWAPENTS, rss_swap);
	pte_unmap_unlock(pte, ptl);
	/* The batch is full: flush the TLBs, then free, before going on. */
	if (force_flush)
		tlb_flush_mmu(tlb);
	return addr;
}

/* Models unmap_page_range() down through zap_pmd_range(). */
void unmap_single_vma(struct mmu_gather *tlb, struct vm_area_struct *vma, uint64_t start, uint64_t end)
{
	uint64_t addr = max(start, vma->vm_start), next;

	end = min(end, vma->vm_end);
	while (addr < end) {
		pmd_t *pmd;

		next = pmd_addr_end(addr, end);
		pmd = mm_find_pmd(tlb->mm, addr);
		if (!pmd || !pmd_table(pmdp_get(pmd))) {
			addr = next;
			continue;
		}
		addr = zap_pte_range(tlb, vma, pmd, addr, next);
	}
}

/* Models zap_page_range_single(): MADV_DONTNEED's unmap of one VMA's range. */
void zap_page_range_single(struct vm_area_struct *vma, uint64_t addr, uint64_t size)
{
	struct mmu_gather tlb;

	tlb_gather_mmu(&tlb, vma->vm_mm);
	unmap_single_vma(&tlb, vma, addr, addr + size);
	tlb_finish_mmu(&tlb);
}
