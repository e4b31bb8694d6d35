/*
 * memory_file.c - faults of file and shmem mappings (the part of Linux's
 * mm/memory.c that do_fault starts: read faults with fault-around, a
 * private write's copy, a shared write's page_mkwrite, finish_fault and
 * set_pte_range, do_set_pmd for a PMD-sized page-cache folio), and
 * wp_page_shared for a write to a clean shared page; kept apart from
 * memory.c for size, as memory_copy.c and memory_zap.c are.
 */
#include "mm/internal.h"
#include "mm/mmu_notifier.h"
#include "mm/userfaultfd_k.h"

/*
 * set_pte_range(): nr ptes from ptep map nr pages of folio from page,
 * young, writable and dirty for a write fault as the VMA allows.  A
 * private copy (do_cow_fault) becomes this VMA's anon folio; anything
 * else is the file's page.  The caller's references become the
 * mappings'.  pte lock held.
 */
void set_pte_range(struct vm_fault *vmf, struct folio *folio, struct page *page, unsigned int nr,
		   uint64_t addr, pte_t *ptep)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	pte_t entry = pte_mkyoung(mk_pte(m, page, vma->vm_page_prot));

	if (write)
		entry = maybe_mkwrite(pte_mkdirty(entry), vma);
	if (pte_marker_uffd_wp(vmf->orig_pte))
		entry = pte_mkuffd_wp(entry);
	if (write && !(vma->vm_flags & VM_SHARED)) {
		add_mm_counter(mm, MM_ANONPAGES, nr);
		folio_add_new_anon_rmap(folio, vma, addr, RMAP_EXCLUSIVE);
		folio_add_lru_vma(folio, vma);
	} else {
		add_mm_counter(mm, mm_counter_file(folio), nr);
		folio_add_file_rmap_ptes(folio, page, (int)nr, vma);
	}
	set_ptes(mm, addr, ptep, entry, nr);
}

/*
 * do_set_pmd(): map a PMD-sized page-cache folio with one pmd where the
 * pmd is still none: writable and dirty for a write, else as the VMA's
 * protection says.  The caller's reference becomes the mapping's.  0,
 * VM_FAULT_NOPAGE if another thread mapped something there meanwhile,
 * VM_FAULT_FALLBACK where the VMA cannot take it (ptes then).
 */
vm_fault_t do_set_pmd(struct vm_fault *vmf, struct folio *folio)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	uint64_t haddr = vmf->address & HPAGE_PMD_MASK;
	pmd_t entry;

	/* THP disabled for the VMA: no leaf, though the folio is large already. */
	if ((vma->vm_flags & VM_NOHUGEPAGE) || test_bit(MMF_DISABLE_THP, &mm->flags))
		return VM_FAULT_FALLBACK;
	if (folio_order(folio) != HPAGE_PMD_ORDER || !thp_vma_suitable_order(vma, haddr, HPAGE_PMD_ORDER))
		return VM_FAULT_FALLBACK;
	vmf->ptl = pmd_lock(mm, vmf->pmd);
	if (unlikely(!pmd_none(pmdp_get(vmf->pmd)))) {
		spin_unlock(vmf->ptl);
		return VM_FAULT_NOPAGE;
	}
	entry = pmd_mkyoung(mk_huge_pmd(m, &folio->page, vma->vm_page_prot));
	if (vmf->flags & FAULT_FLAG_WRITE)
		entry = maybe_pmd_mkwrite(pmd_mkdirty(entry), vma);
	add_mm_counter(mm, mm_counter_file(folio), HPAGE_PMD_NR);
	folio_add_file_rmap_pmd(folio, &folio->page, vma);
	set_pmd_at(mm, haddr, vmf->pmd, entry);
	count_vm_event(m, THP_FILE_MAPPED);
	spin_unlock(vmf->ptl);
	return 0;
}

/*
 * finish_fault(): map vmf->page (or the private copy, vmf->cow_page) at
 * the faulting address if its pte is still none; VM_FAULT_NOPAGE if
 * another thread got there first, VM_FAULT_OOM if no table could be
 * had (either way the caller drops its reference).
 * Where no pte table is there yet, a PMD-sized page-cache folio gets a
 * pmd (do_set_pmd); else a table is made.  A large shmem folio that
 * lies wholly in the VMA and the table is mapped whole, as Linux 6.18
 * does (one reference per pte), unless userfaultfd watches the VMA.
 */
static vm_fault_t finish_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	bool cow = (vmf->flags & FAULT_FLAG_WRITE) && !(vma->vm_flags & VM_SHARED);
	struct page *page = cow ? vmf->cow_page : vmf->page;
	struct folio *folio = page_folio(page);
	uint64_t addr = vmf->address;
	unsigned int nr = 1;
	vm_fault_t ret = 0;
	bool whole;

	if (pmd_none(pmdp_get(vmf->pmd))) {
		/* A registered VMA faults page by page: its uffd-wp bits and markers live in ptes. */
		if (!cow && folio_order(folio) == HPAGE_PMD_ORDER && !userfaultfd_armed(vma)) {
			ret = do_set_pmd(vmf, folio);
			if (ret != VM_FAULT_FALLBACK)
				return ret;
			ret = 0;
		}
		if (__pte_alloc(vma->vm_mm, vmf->pmd))
			return VM_FAULT_OOM;
		if (pmd_trans_huge(pmdp_get(vmf->pmd)))
			return VM_FAULT_NOPAGE;	/* a leaf made meanwhile */
	}
	whole = !cow && folio_test_large(folio) && vma_is_shmem(vma) && !userfaultfd_armed(vma);
again:
	if (whole) {
		uint64_t start = vmf->address - ((uint64_t)(vmf->pgoff - folio->index) << PAGE_SHIFT);
		uint64_t end = start + ((uint64_t)folio_nr_pages(folio) << PAGE_SHIFT);

		if (start >= vma->vm_start && end <= vma->vm_end && (start & PMD_MASK) == ((end - 1) & PMD_MASK)) {
			nr = (unsigned int)folio_nr_pages(folio);
			addr = start;
			page = folio_page(folio, 0);
		}
	}
	vmf->pte = pte_offset_map_lock(vma->vm_mm, vmf->pmd, addr, &vmf->ptl);
	if (!vmf->pte)
		return VM_FAULT_NOPAGE;
	if (nr > 1 && !pte_range_none(vmf->pte, (int)nr)) {
		/* Part of the folio is mapped already: just the faulting page, as Linux falls back. */
		pte_unmap_unlock(vmf->pte, vmf->ptl);
		whole = false;
		nr = 1;
		addr = vmf->address;
		page = vmf->page;
		goto again;
	}
	/*
	 * vmf_pte_changed(): the pte must still be what the fault read.  A
	 * uffd-wp marker read then must still be there: were it cleared since
	 * (an unprotect, an unregister), the page would be mapped with a
	 * protection nobody asked for any more.
	 */
	if (nr == 1 && unlikely(pte_none(vmf->orig_pte) ? !pte_none(ptep_get(vmf->pte))
							 : !pte_same(ptep_get(vmf->pte), vmf->orig_pte))) {
		ret = VM_FAULT_NOPAGE;
	} else {
		folio_ref_add(folio, (int)nr - 1);
		set_pte_range(vmf, folio, page, nr, addr, vmf->pte);
	}
	pte_unmap_unlock(vmf->pte, vmf->ptl);
	vmf->pte = NULL;
	return ret;
}

/* __do_fault(): the file system's ->fault; on success vmf->page is locked and referenced. */
static vm_fault_t __do_fault(struct vm_fault *vmf)
{
	vm_fault_t ret = vmf->vma->vm_ops->fault(vmf);

	if (unlikely(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY | VM_FAULT_DONE_COW)))
		return ret;
	VM_BUG_ON(!(ret & VM_FAULT_LOCKED));
	return ret;
}

/* Linux's default fault_around_bytes, 64 KiB: pages mapped around a read fault. */
#define FAULT_AROUND_PAGES	16

/*
 * do_fault_around(): the window of FAULT_AROUND_PAGES aligned around the
 * fault, clipped to the VMA and the pte table, mapped from the cache.
 */
static vm_fault_t do_fault_around(struct vm_fault *vmf)
{
	unsigned long pte_off = pte_index(vmf->address);
	unsigned long vma_off = vmf->pgoff - vmf->vma->vm_pgoff;
	unsigned long from = max(pte_off & ~(unsigned long)(FAULT_AROUND_PAGES - 1), pte_off - min(pte_off, vma_off));
	unsigned long to = min(min(from + FAULT_AROUND_PAGES, (unsigned long)PTRS_PER_PTE),
			       pte_off + vma_pages(vmf->vma) - vma_off) - 1;

	return vmf->vma->vm_ops->map_pages(vmf, vmf->pgoff + from - pte_off, vmf->pgoff + to - pte_off);
}

/* do_read_fault(): map the file's page read-only (its neighbours too, if cached). */
static vm_fault_t do_read_fault(struct vm_fault *vmf)
{
	struct mml_machine *m = vmf->vma->vm_mm->machine;
	struct folio *folio;
	vm_fault_t ret;

	/* should_fault_around(): never where uffd must see each page (WP markers, MINOR faults). */
	if (vmf->vma->vm_ops->map_pages && !uffd_disable_fault_around(vmf->vma)) {
		ret = do_fault_around(vmf);
		if (ret)
			return ret;
	}
	ret = __do_fault(vmf);
	if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY))
		return ret;
	if ((ret & VM_FAULT_MAJOR) && vmf->vma->vm_ops->map_pages && !uffd_disable_fault_around(vmf->vma)) {
		/*
		 * Linux drops mmap_lock while it reads and retries the fault
		 * (VM_FAULT_RETRY); the retry's fault-around maps the window
		 * the read-around just brought in.  Retried here in place.
		 */
		vm_fault_t again;

		folio = page_folio(vmf->page);
		folio_unlock(folio);
		folio_put(m, folio);
		again = do_fault_around(vmf);
		if (again)
			return again | VM_FAULT_MAJOR;
		ret = __do_fault(vmf) | VM_FAULT_MAJOR;
		if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY))
			return ret;
	}
	folio = page_folio(vmf->page);
	ret |= finish_fault(vmf);
	folio_unlock(folio);
	if (unlikely(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY)))
		folio_put(m, folio);	/* not mapped: no pte took our reference */
	return ret;
}

/*
 * do_cow_fault(): a write to a file page of a private mapping maps a
 * private anon copy.  A DAX file copies into it itself (VM_FAULT_DONE_COW:
 * it has no page of its own to hand back).
 */
static vm_fault_t do_cow_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mml_machine *m = vma->vm_mm->machine;
	struct folio *cow, *folio = NULL;
	vm_fault_t ret;

	if ((ret = vmf_anon_prepare(vmf)))
		return ret;
	cow = vma_alloc_folio(vma, GFP_HIGHUSER_MOVABLE, 0, vmf->address);
	if (!cow)
		return VM_FAULT_OOM;
	vmf->cow_page = &cow->page;
	ret = __do_fault(vmf);
	if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY)) {
		folio_put(m, cow);
		return ret;
	}
	if (!(ret & VM_FAULT_DONE_COW)) {
		folio = page_folio(vmf->page);
		copy_user_highpage(m, &cow->page, vmf->page);
	}
	folio_mark_uptodate(cow);
	ret |= finish_fault(vmf);
	if (folio) {
		folio_unlock(folio);
		folio_put(m, folio);
	}
	if (unlikely(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY)))
		folio_put(m, cow);
	return ret;
}

/*
 * do_page_mkwrite(): let the file system dirty the page before a pte may
 * write it.  Returns with the folio locked, or an error / NOPAGE (retry).
 */
static vm_fault_t do_page_mkwrite(struct vm_fault *vmf, struct folio *folio)
{
	unsigned int old_flags = vmf->flags;
	vm_fault_t ret;

	vmf->flags = FAULT_FLAG_WRITE | (old_flags & FAULT_FLAG_USER);
	ret = vmf->vma->vm_ops->page_mkwrite(vmf);
	vmf->flags = old_flags;
	if (unlikely(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE)))
		return ret;
	if (!(ret & VM_FAULT_LOCKED)) {
		folio_lock(folio);
		if (!folio->mapping) {
			folio_unlock(folio);
			return VM_FAULT_NOPAGE;
		}
		ret |= VM_FAULT_LOCKED;
	}
	return ret;
}

/* fault_dirty_shared_page(): the locked folio was written through a shared mapping. */
static void fault_dirty_shared_page(struct vm_fault *vmf, struct folio *folio)
{
	folio_mark_dirty(folio);
	folio_unlock(folio);
}

/* do_shared_fault(): a write to a shared mapping maps the file's page writable, dirtied. */
static vm_fault_t do_shared_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mml_machine *m = vma->vm_mm->machine;
	struct folio *folio;
	vm_fault_t ret, tmp;

	ret = __do_fault(vmf);
	if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY))
		return ret;
	folio = page_folio(vmf->page);
	if (vma->vm_ops->page_mkwrite) {
		folio_unlock(folio);
		tmp = do_page_mkwrite(vmf, folio);
		if (unlikely(tmp & (VM_FAULT_ERROR | VM_FAULT_NOPAGE))) {
			folio_put(m, folio);
			return tmp;
		}
	}
	ret |= finish_fault(vmf);
	if (unlikely(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY))) {
		folio_unlock(folio);
		folio_put(m, folio);
		return ret;
	}
	fault_dirty_shared_page(vmf, folio);
	return ret;
}

/* do_fault(): a none pte of a file mapping (or shmem: shared anonymous memory). */
vm_fault_t do_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;

	if (!vma->vm_ops || !vma->vm_ops->fault)
		return VM_FAULT_SIGBUS;
	if (!(vmf->flags & FAULT_FLAG_WRITE))
		return do_read_fault(vmf);
	if (!(vma->vm_flags & VM_SHARED))
		return do_cow_fault(vmf);
	return do_shared_fault(vmf);
}

/*
 * wp_page_shared(): a write to a present, write-protected page of a
 * shared mapping (clean since writeback, or mapped by a read fault):
 * dirty it through page_mkwrite, then make the pte writable in place.
 * Entered with the pte lock held.
 */
vm_fault_t wp_page_shared(struct vm_fault *vmf, struct folio *folio)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mml_machine *m = vma->vm_mm->machine;
	vm_fault_t ret;

	folio_get(folio);
	if (vma->vm_ops && vma->vm_ops->page_mkwrite) {
		pte_unmap_unlock(vmf->pte, vmf->ptl);
		ret = do_page_mkwrite(vmf, folio);
		if (unlikely(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE))) {
			folio_put(m, folio);
			return ret;
		}
		/* finish_mkwrite_fault(): the pte may have changed meanwhile. */
		vmf->pte = pte_offset_map_lock(vma->vm_mm, vmf->pmd, vmf->address, &vmf->ptl);
		if (!vmf->pte || !pte_same(ptep_get(vmf->pte), vmf->orig_pte)) {
			if (vmf->pte)
				pte_unmap_unlock(vmf->pte, vmf->ptl);
			folio_unlock(folio);
			folio_put(m, folio);
			return VM_FAULT_NOPAGE;
		}
		wp_page_reuse(vmf);
	} else {
		wp_page_reuse(vmf);
		folio_lock(folio);
	}
	fault_dirty_shared_page(vmf, folio);
	folio_put(m, folio);
	return 0;
}
