/*
 * memory_copy.c - fork's copy of a VMA's page tables, copy_page_range (the
 * part of Linux's mm/memory.c that fork uses; kept apart for size).
 *
 * Runs with both mms' mmap_lock held for write; each pte table is copied
 * under both tables' pte locks, allocating only outside them.
 */
#include "mm/internal.h"
#include "mm/userfaultfd_k.h"
#include "mm/mmu_notifier.h"
#include "mm/pagewalk.h"

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
	folio_add_lru_vma(new_folio, dst_vma);
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
		/*
		 * The zero page: nothing to count, but a KSM zero pte (dirty)
		 * stays one in the child, whose zap will uncount it.
		 */
		__copy_present_ptes(dst_vma, src_vma, dst_pte, src_pte, pte, 1);
		if (pte_present(pte) && is_zero_pfn(m, pte_pfn(pte)) && pte_dirty(pte)) {
			atomic_long_add(1, &m->ksm_counters.zero_pages);
			atomic_long_add(1, &dst_vma->vm_mm->ksm_zero_pages);
		}
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
		add_mm_counter(dst_vma->vm_mm, mm_counter_file(folio), nr);
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
	if (is_migration_entry(entry)) {
		/*
		 * A folio being split or migrated: the child gets the entry
		 * too, read-only and not exclusive on both sides as for a
		 * present COW page; remove_migration_ptes() maps both when the
		 * migration is done.
		 */
		struct folio *folio = page_folio(pfn_to_page(m, swp_offset_pfn(entry)));

		add_mm_counter(dst_vma->vm_mm, folio_test_anon(folio) ? MM_ANONPAGES : mm_counter_file(folio), 1);
		if (!is_readable_migration_entry(entry) && !bug_enabled(m, BUG_FORK_MIGRATION_WRITABLE)) {
			pte_t ro = swp_entry_to_pte(make_readable_migration_entry(swp_offset(entry)));

			if (pte_swp_soft_dirty(pte))
				ro = pte_swp_mksoft_dirty(ro);
			if (pte_swp_uffd_wp(pte))
				ro = pte_swp_mkuffd_wp(ro);
			set_pte(src_pte, ro);
			pte = ro;
		}
		if (!(dst_vma->vm_flags & VM_UFFD_WP))
			pte = pte_swp_clear_uffd_wp(pte);
		set_pte(dst_pte, pte);
		return 0;
	}
	if (is_pte_marker_entry(entry)) {
		/*
		 * copy_pte_marker(): a guard marker goes to the child as it is
		 * (6.13; before, only uffd-wp markers were copied, and only to
		 * a uffd-wp VMA).  The parent's install prepared an anon_vma so
		 * that vma_needs_copy() brings fork here.
		 */
		pte_marker marker = pte_marker_get(entry) & PTE_MARKER_GUARD;

		if (bug_enabled(m, BUG_FORK_DROPS_GUARD))
			marker = 0;
		/* A uffd-wp marker only into a uffd-wp VMA (EVENT_FORK): else the child's page is just none. */
		if ((pte_marker_get(entry) & PTE_MARKER_UFFD_WP) &&
		    (userfaultfd_wp(dst_vma) || bug_enabled(m, BUG_FORK_KEEPS_UFFD_WP_MARKER)))
			marker |= PTE_MARKER_UFFD_WP;
		if (marker)
			set_pte_at(dst_vma->vm_mm, addr, dst_pte, make_pte_marker(marker));
		return 0;
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
		prealloc = vma_alloc_folio(dst_vma, GFP_HIGHUSER_MOVABLE, 0, addr);
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
		if (pmd_trans_huge(pmdp_get(src_pmd))) {
			int err = copy_huge_pmd(dst_vma, src_vma, dst_pmd, src_pmd, addr);

			if (err == -ENOMEM)
				return -ENOMEM;
			if (!err)
				continue;
			/* -EAGAIN: split (pinned, or by a racing split): copy its ptes. */
		}
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
	bool is_cow = is_cow_mapping(src_vma->vm_flags), seq;
	struct mmu_notifier_range range;
	int err = 0;

	/*
	 * vma_needs_copy(): only private anon pages must be copied now; the
	 * child faults a file's pages in from the page cache itself -- unless
	 * the child's VMA is uffd-wp, whose bits and markers only the page
	 * tables hold.
	 */
	if (!src_vma->anon_vma && !userfaultfd_wp(dst_vma))
		return 0;

	/*
	 * The parent's ptes are write-protected below: its secondary MMUs
	 * must drop their writable translations first (seed 002: "generating
	 * mm corruption in fork").
	 */
	mmu_notifier_range_init(&range, MMU_NOTIFY_PROTECTION_PAGE, 0, src_mm, addr, end);
	if (is_cow && !bug_enabled(src_mm->machine, BUG_FORK_NO_NOTIFY))
		mmu_notifier_invalidate_range_start(&range);
	/*
	 * A GUP-fast pin that read a pte before copy_present_ptes() found the
	 * page unpinned, and took it before the pte went read-only, is on a
	 * page the child now shares: gup_fast() sees the count move and gives
	 * it back.  mmap_lock keeps the slow path out.
	 */
	seq = is_cow && !bug_enabled(src_mm->machine, BUG_FORK_NO_WRITE_PROTECT_SEQ);
	if (seq)
		raw_write_seqcount_begin(&src_mm->write_protect_seq);
	do {
		next = pgd_addr_end(addr, end);
		if (pgd_none(pgdp_get(src_pgd)))
			continue;
		err = copy_pud_range(dst_vma, src_vma, dst_pgd, src_pgd, addr, next);
		if (err)
			break;
	} while (dst_pgd++, src_pgd++, addr = next, addr != end);
	if (seq)
		raw_write_seqcount_end(&src_mm->write_protect_seq);
	if (is_cow && !bug_enabled(src_mm->machine, BUG_FORK_NO_NOTIFY))
		mmu_notifier_invalidate_range_end(&range);
	return err;
}

