/*
 * khugepaged_file.c - collapsing a range of a shmem or read-only file's
 * page cache into one huge folio (Linux's collapse_file and its helpers
 * in mm/khugepaged.c, apart here for size): hpage_collapse_scan_file
 * decides, collapse_file builds the huge folio in the cache in place of
 * the small ones, retract_page_tables removes the page tables that
 * mapped them from every process, and collapse_pte_mapped_thp maps the
 * huge folio with a pmd in the caller's VMA.
 *
 * retract_page_tables is the seed-004 design (Linux 6.6+): it holds
 * neither mmap_lock nor a VMA lock, only i_mmap_rwsem for read, the pmd
 * lock with the pte lock nested inside, and it rechecks vma->anon_vma and
 * userfaultfd_wp() under those locks, with an mmu notifier range around
 * the change; the table goes through pte_free_defer (pagetable_free_rcu),
 * so that walkers still inside it under RCU alone (pte_offset_map,
 * GUP-fast, page_vma_mapped_walk before it takes the pte lock) never read
 * freed memory, and pte_offset_map_lock's recheck of the pmd sends them
 * back.
 */
#include <string.h>

#include "mm/khugepaged.h"
#include "mm/mmu_notifier.h"
#include "mm/userfaultfd_k.h"

/*
 * The locks under which a pte table may be taken away: the pmd lock, the
 * pmd read again under it (it may have changed since the caller looked),
 * and, if it still points to a table, that table's pte lock nested
 * inside (a racing pte_offset_map_lock holds only the latter).  Returns
 * the pmd lock with *pgt_pmd and *ptl set, or NULL, holding nothing, if
 * there is no table any more.
 */
static spinlock_t *lock_pte_table(struct mm_struct *mm, pmd_t *pmd, pmd_t *pgt_pmd, spinlock_t **ptl)
{
	spinlock_t *pml = pmd_lock(mm, pmd);

	*pgt_pmd = pmdp_get(pmd);
	if (!pmd_table(*pgt_pmd)) {
		spin_unlock(pml);
		return NULL;
	}
	*ptl = pte_lockptr(mm->machine, *pgt_pmd);
	if (bug_enabled(mm->machine, BUG_RETRACT_PTL_NOT_NESTED))
		*ptl = pml;	/* the table's own lock left alone */
	if (*ptl != pml)
		spin_lock(*ptl);
	return pml;
}

static void unlock_pte_table(spinlock_t *pml, spinlock_t *ptl)
{
	if (ptl != pml)
		spin_unlock(ptl);
	spin_unlock(pml);
}

/*
 * retract_page_tables(): after collapse_file put the huge folio at pgoff
 * in the cache, every VMA that maps the whole aligned range through an
 * empty pte table loses that table, so that its next fault maps the
 * folio with a pmd.  Skipped: VMAs with an anon_vma (a private mapping
 * that was written: its COW pages live in that table), misaligned ones,
 * exiting mms, uffd-wp ones (their markers live in the table).
 */
static void retract_page_tables(struct address_space *mapping, unsigned long pgoff)
{
	struct vm_area_struct *vma;

	down_read(&mapping->i_mmap_rwsem);
	list_for_each_entry(vma, &mapping->i_mmap, shared) {
		struct mm_struct *mm = vma->vm_mm;
		struct mml_machine *m = mm->machine;
		struct mmu_notifier_range range;
		spinlock_t *pml, *ptl;
		pmd_t *pmd, pgt_pmd;
		bool success = false;
		uint64_t addr;

		if (pgoff < vma->vm_pgoff || pgoff - vma->vm_pgoff >= vma_pages(vma))
			continue;
		if (READ_ONCE(vma->anon_vma))
			continue;
		addr = vma->vm_start + ((uint64_t)(pgoff - vma->vm_pgoff) << PAGE_SHIFT);
		if ((addr & ~HPAGE_PMD_MASK) || vma->vm_end < addr + HPAGE_PMD_SIZE)
			continue;
		if (find_pmd_or_thp_or_none(mm, addr, &pmd) != SCAN_SUCCEED)
			continue;
		if (hpage_collapse_test_exit(mm))
			continue;
		if (userfaultfd_wp(vma) && !bug_enabled(m, BUG_RETRACT_IGNORES_UFFD_WP))
			continue;

		mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, addr, addr + HPAGE_PMD_SIZE);
		mmu_notifier_invalidate_range_start(&range);
		pml = lock_pte_table(mm, pmd, &pgt_pmd, &ptl);
		if (!pml) {
			mmu_notifier_invalidate_range_end(&range);
			continue;
		}
		/*
		 * Without mmap_lock a fault or a UFFDIO ioctl may have put a
		 * COW page (and an anon_vma) or a uffd-wp marker here since
		 * the checks above; under the table's locks nothing more can.
		 */
		if (likely((!READ_ONCE(vma->anon_vma) || bug_enabled(m, BUG_RETRACT_NO_ANON_VMA_RECHECK)) &&
			   (!userfaultfd_wp(vma) || bug_enabled(m, BUG_RETRACT_IGNORES_UFFD_WP)))) {
			pte_t *pte = pte_table_of(m, pgt_pmd);
			int first = -1, n = 0;

			for (int i = 0; i < PTRS_PER_PTE; i++)
				if (!pte_none(ptep_get(&pte[i])) && n++ == 0)
					first = i;
			if (n)
				mml_report(m, "retract_page_tables: mm %d: the pte table at %#llx still holds %d "
					   "entries, the first %#llx at entry %d", mm->tgid, (unsigned long long)addr, n,
					   (unsigned long long)pte_val(ptep_get(&pte[first])), first);
			pgt_pmd = pmdp_collapse_flush(vma, addr, pmd);
			success = true;
		}
		unlock_pte_table(pml, ptl);
		mmu_notifier_invalidate_range_end(&range);
		if (success && bug_enabled(m, BUG_RETRACT_NO_PTE_FREE_DEFER))
			pagetable_free(mm, virt_to_ptdesc(m, pte_table_of(m, pgt_pmd)));
		else if (success)
			pagetable_free_rcu(mm, virt_to_ptdesc(m, pte_table_of(m, pgt_pmd)));	/* pte_free_defer */
	}
	up_read(&mapping->i_mmap_rwsem);
}

/*
 * set_huge_pmd(): map the locked huge folio at haddr with a pmd, the pmd
 * being none; the mapping's reference is taken here.  mmap_lock held.
 */
static enum scan_result set_huge_pmd(struct vm_area_struct *vma, uint64_t haddr, pmd_t *pmd, struct folio *folio)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	spinlock_t *pml = pmd_lock(mm, pmd);

	if (!pmd_none(pmdp_get(pmd))) {
		spin_unlock(pml);
		return SCAN_FAIL;
	}
	folio_get(folio);
	folio_add_file_rmap_pmd(folio, &folio->page, vma);
	add_mm_counter(mm, mm_counter_file(folio), HPAGE_PMD_NR);
	set_pmd_at(mm, haddr, pmd, pmd_mkyoung(mk_huge_pmd(m, &folio->page, vma->vm_page_prot)));
	spin_unlock(pml);
	return SCAN_SUCCEED;
}

/*
 * collapse_pte_mapped_thp(): the range at addr of the caller's VMA maps
 * (pages of) the huge folio now in the cache by ptes, or by nothing: its
 * table goes (as retract_page_tables would, but under mmap_lock) and,
 * with install_pmd, a pmd maps the folio.  Every pte must be none or map
 * the right page of the folio; a COW page or a swap entry keeps the
 * table.  mmap_lock held for read.
 */
enum scan_result collapse_pte_mapped_thp(struct mm_struct *mm, uint64_t addr, bool install_pmd)
{
	struct mml_machine *m = mm->machine;
	uint64_t haddr = addr & HPAGE_PMD_MASK;
	struct vm_area_struct *vma = vma_lookup(mm, haddr);
	struct mmu_notifier_range range;
	enum scan_result result;
	int nr_mapped_ptes = 0;
	spinlock_t *pml, *ptl;
	struct folio *folio;
	pmd_t *pmd, pgt_pmd;
	pte_t *start_pte;

	mmap_assert_locked(mm);
	if (!vma || !vma->vm_file || !thp_vma_suitable_order(vma, haddr, HPAGE_PMD_ORDER))
		return SCAN_VMA_CHECK;
	result = find_pmd_or_thp_or_none(mm, haddr, &pmd);
	if (result == SCAN_PMD_MAPPED)
		return result;
	/* A uffd-wp VMA keeps its ptes (markers); its pages stay mapped small. */
	if (userfaultfd_wp(vma))
		return SCAN_PTE_UFFD_WP;
	folio = filemap_get_folio(vma->vm_file->f_mapping, linear_page_index(vma, haddr));
	if (!folio)
		return SCAN_PAGE_NULL;
	folio_lock(folio);
	if (folio->mapping != vma->vm_file->f_mapping || folio_order(folio) != HPAGE_PMD_ORDER ||
	    folio->index != linear_page_index(vma, haddr)) {
		result = SCAN_PAGE_COMPOUND;
		goto drop_folio;
	}
	result = find_pmd_or_thp_or_none(mm, haddr, &pmd);
	if (result == SCAN_PMD_NONE)
		goto maybe_install_pmd;	/* retract_page_tables took the table already */
	if (result != SCAN_SUCCEED)
		goto drop_folio;

	/* Step 1: every pte none or mapping its page of the folio. */
	result = SCAN_FAIL;
	start_pte = pte_offset_map_lock(mm, pmd, haddr, &ptl);
	if (!start_pte)
		goto drop_folio;
	for (int i = 0; i < HPAGE_PMD_NR; i++) {
		pte_t ptent = ptep_get(start_pte + i);

		if (pte_none(ptent))
			continue;
		if (!pte_present(ptent) || vm_normal_page(vma, haddr + ((uint64_t)i << PAGE_SHIFT), ptent) !=
					     folio_page(folio, i)) {
			result = pte_present(ptent) ? SCAN_FAIL : SCAN_PTE_NON_PRESENT;
			pte_unmap_unlock(start_pte, ptl);
			goto drop_folio;
		}
	}
	pte_unmap_unlock(start_pte, ptl);

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, haddr, haddr + HPAGE_PMD_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	/* Step 2: the ptes go, under the pmd lock with the pte lock nested, as retract_page_tables. */
	pml = lock_pte_table(mm, pmd, &pgt_pmd, &ptl);
	if (!pml) {
		mmu_notifier_invalidate_range_end(&range);
		goto drop_folio;
	}
	start_pte = pte_table_of(m, pgt_pmd);
	for (int i = 0; i < HPAGE_PMD_NR; i++) {
		pte_t ptent = ptep_get(start_pte + i);
		struct page *page;

		if (pte_none(ptent))
			continue;
		/* Since step 1 a COW fault or reclaim may have changed an entry (the folio lock stops only new mappings). */
		page = pte_present(ptent) ? vm_normal_page(vma, haddr + ((uint64_t)i << PAGE_SHIFT), ptent) : NULL;
		if (page != folio_page(folio, i)) {
			unlock_pte_table(pml, ptl);
			/* The ptes cleared so far: flushed, their references dropped; the table stays. */
			flush_tlb_range(vma, haddr, haddr + HPAGE_PMD_SIZE);
			mmu_notifier_invalidate_range_end(&range);
			folio_ref_add(folio, -nr_mapped_ptes);
			add_mm_counter(mm, mm_counter_file(folio), -nr_mapped_ptes);
			result = SCAN_FAIL;
			goto drop_folio;
		}
		if (pte_dirty(ptep_get_and_clear(start_pte + i)))
			folio_mark_dirty(folio);
		folio_remove_rmap_pte(folio, page, vma);
		nr_mapped_ptes++;
	}
	/* Step 3: the empty table goes, flushed, freed after a grace period. */
	pgt_pmd = pmdp_collapse_flush(vma, haddr, pmd);
	unlock_pte_table(pml, ptl);
	mmu_notifier_invalidate_range_end(&range);
	folio_ref_add(folio, -nr_mapped_ptes);
	add_mm_counter(mm, mm_counter_file(folio), -nr_mapped_ptes);
	pagetable_free_rcu(mm, virt_to_ptdesc(m, pte_table_of(m, pgt_pmd)));
maybe_install_pmd:
	/* Step 4: the folio by one pmd. */
	result = install_pmd ? set_huge_pmd(vma, haddr, pmd, folio) : SCAN_SUCCEED;
drop_folio:
	folio_unlock(folio);
	folio_put(m, folio);
	return result;
}

/*
 * A small folio of the range, locked and referenced, taken by
 * collapse_file: shmem's swapped in, a file's read in; NULL with
 * *result when the collapse must stop.  For shmem a hole is no folio and
 * no failure (*result SCAN_SUCCEED).
 */
static struct folio *collapse_file_get_folio(struct file *file, unsigned long index, bool is_shmem,
					     enum scan_result *result)
{
	struct address_space *mapping = file->f_mapping;
	struct mml_machine *m = mapping->host->i_sb->machine;
	void *entry = xa_load(&mapping->i_pages, index);
	struct folio *folio;
	int err;

	*result = SCAN_SUCCEED;
	if (is_shmem && (!entry || xa_is_value(entry) || !folio_test_uptodate((struct folio *)entry))) {
		if (!entry)
			return NULL;
		folio = shmem_get_folio_noalloc(mapping->host, index, &err);
		if (!folio)
			*result = SCAN_FAIL;
		else
			lru_add_drain(m);	/* a page swapped in waits in this CPU's batch: isolatable after */
		return folio;
	}
	if (!is_shmem && (!entry || xa_is_value(entry))) {
		folio = read_cache_folio(file, index, &err);
		if (!folio) {
			*result = SCAN_FAIL;
			return NULL;
		}
		lru_add_drain(m);	/* as after Linux's readahead: the new page isolatable */
		folio_lock(folio);
		return folio;
	}
	if (!is_shmem && (folio_test_dirty((struct folio *)entry) || folio_test_writeback((struct folio *)entry))) {
		*result = SCAN_PAGE_DIRTY_OR_WRITEBACK;
		return NULL;
	}
	folio = filemap_get_folio(mapping, index);
	if (!folio) {
		*result = SCAN_TRUNCATED;	/* it went meanwhile */
		return NULL;
	}
	if (!folio_trylock(folio)) {
		folio_put(m, folio);
		*result = SCAN_PAGE_LOCK;
		return NULL;
	}
	return folio;
}

/*
 * collapse_file(): the 512 pages at start of file become one huge folio
 * in its page cache, as Linux 6.18 does it.  The new folio, locked, is
 * filled while the old small folios stay in the cache, locked, isolated
 * and unmapped from every process (so no one can map or change them);
 * holes of shmem are claimed by storing the new locked folio in them (a
 * racing fault waits on its lock); only then does every slot get the new
 * folio, and the old ones are freed.  Any failure leaves the file as it
 * was: each old folio put back, the holes empty again, the charge given
 * back.
 */
static enum scan_result collapse_file(struct mm_struct *mm, uint64_t addr, struct file *file, unsigned long start,
				      struct collapse_control *cc)
{
	struct address_space *mapping = file->f_mapping;
	struct inode *inode = mapping->host;
	struct mml_machine *m = mm->machine;
	unsigned long index, end = start + HPAGE_PMD_NR;
	bool is_shmem = shmem_mapping(mapping), charged = false;
	enum scan_result result = SCAN_SUCCEED;
	struct folio *new_folio, *folio, *tmp;
	unsigned long nr_none = 0, filled = 0;
	LIST_HEAD(pagelist);

	new_folio = folio_alloc(m, collapse_gfp(m, cc), HPAGE_PMD_ORDER);
	if (!new_folio) {
		count_vm_event(m, THP_COLLAPSE_ALLOC_FAILED);
		trace_mm_khugepaged_collapse_file(m, mm, NULL, start, addr, is_shmem, file, HPAGE_PMD_NR,
						  SCAN_ALLOC_HUGE_PAGE_FAIL);
		return SCAN_ALLOC_HUGE_PAGE_FAIL;
	}
	count_vm_event(m, THP_COLLAPSE_ALLOC);
	__folio_set_locked(new_folio);
	if (is_shmem)
		__folio_set_swapbacked(new_folio);
	new_folio->index = start;
	new_folio->mapping = mapping;

	for (index = start; index < end;) {
		folio = collapse_file_get_folio(file, index, is_shmem, &result);
		if (!folio) {
			if (result != SCAN_SUCCEED)
				goto rollback;
			/* A shmem hole; a range that is all holes was truncated or punched. */
			if (index == start) {
				unsigned long next = start;

				if (!xa_find(&mapping->i_pages, &next, end - 1)) {
					result = SCAN_TRUNCATED;
					goto rollback;
				}
			}
			nr_none++;
			index++;
			continue;
		}
		if (!folio_test_uptodate(folio)) {
			result = SCAN_FAIL;
			goto out_unlock;
		}
		/* Truncated and refilled before we locked it: maybe a huge folio is there already. */
		if (folio_order(folio) == HPAGE_PMD_ORDER && folio->index == start) {
			result = SCAN_PTE_MAPPED_HUGEPAGE;
			goto out_unlock;
		}
		if (folio->mapping != mapping || folio->index != index) {
			result = folio->mapping != mapping ? SCAN_TRUNCATED : SCAN_PAGE_COMPOUND;
			goto out_unlock;
		}
		if (!is_shmem && (folio_test_dirty(folio) || folio_test_writeback(folio))) {
			result = SCAN_PAGE_DIRTY_OR_WRITEBACK;
			goto out_unlock;
		}
		if (!folio_isolate_lru(m, folio)) {
			result = SCAN_DEL_PAGE_LRU;
			goto out_unlock;
		}
		if (folio_mapped(folio))
			unmap_mapping_range(mapping, (int64_t)index << PAGE_SHIFT, PAGE_SIZE, false);
		/*
		 * Ours, the isolation's and the cache's, and nothing else: any
		 * new user must look the folio up in the cache and lock it,
		 * which waits for us.
		 */
		xa_lock(&mapping->i_pages);
		if (folio_ref_count(folio) != 2 + folio_nr_pages(folio) || folio_mapped(folio)) {
			xa_unlock(&mapping->i_pages);
			result = SCAN_PAGE_COUNT;
			folio_putback_lru(m, folio);
			goto out_unlock;
		}
		xa_unlock(&mapping->i_pages);
		list_add_tail(&folio->lru, &pagelist);
		index += (unsigned long)folio_nr_pages(folio);
		continue;
out_unlock:
		folio_unlock(folio);
		folio_put(m, folio);
		goto rollback;
	}

	if (!is_shmem) {
		/* Paired with drop_file_thps: one of us sees the other. */
		atomic_add(1, &mapping->nr_thps);
		smp_mb();
		if (atomic_read(&inode->i_writecount)) {
			atomic_add(-1, &mapping->nr_thps);
			result = SCAN_FAIL;
			goto rollback;
		}
	}
	if (nr_none) {
		if (!shmem_charge(inode, (long)nr_none)) {
			result = SCAN_FAIL;
			goto rollback_thps;
		}
		charged = true;
	}

	/* The old folios are locked and unmapped: they cannot change any more. */
	index = start;
	list_for_each_entry(folio, &pagelist, lru) {
		for (; index < folio->index; index++)
			memset(page_address(m, folio_page(new_folio, index - start)), 0, PAGE_SIZE);
		copy_user_highpage(m, folio_page(new_folio, index - start), &folio->page);
		index++;
	}
	for (; index < end; index++)
		memset(page_address(m, folio_page(new_folio, index - start)), 0, PAGE_SIZE);

	xa_lock(&mapping->i_pages);
	if (nr_none) {
		struct vm_area_struct *vma;

		/*
		 * Claim the holes: the new folio, locked, stands in them (Linux
		 * stores XA_RETRY_ENTRY), so nothing fills one from now on.  A
		 * hole filled since we looked fails the collapse.
		 */
		for (index = start; index < end; index++) {
			void *old = xa_load(&mapping->i_pages, index);

			if (old)
				continue;
			old = __xa_cmpxchg(&mapping->i_pages, index, NULL, new_folio);
			if (xa_is_err(old)) {
				result = SCAN_STORE_FAILED;
				break;
			}
			filled++;
		}
		if (result == SCAN_SUCCEED && filled != nr_none)
			result = SCAN_PAGE_FILLED;
		/*
		 * A process that saw a missing page in a VMA with a MISSING
		 * userfaultfd expects a fault event for it: keep the hole.
		 */
		if (result == SCAN_SUCCEED) {
			xa_unlock(&mapping->i_pages);
			down_read(&mapping->i_mmap_rwsem);
			list_for_each_entry(vma, &mapping->i_mmap, shared)
				if (userfaultfd_missing(vma) && start < vma->vm_pgoff + vma_pages(vma) &&
				    vma->vm_pgoff < end)
					result = SCAN_EXCEED_NONE_PTE;
			up_read(&mapping->i_mmap_rwsem);
			xa_lock(&mapping->i_pages);
		}
		if (result != SCAN_SUCCEED) {
			for (index = start; index < end; index++)
				if (xa_load(&mapping->i_pages, index) == new_folio)
					__xa_store(&mapping->i_pages, index, NULL);
			xa_unlock(&mapping->i_pages);
			goto rollback_thps;
		}
	}

	/* The cache's counts: the holes' pages are new to it, and a huge folio. */
	mod_vm_stat(m, is_shmem ? NR_SHMEM_THPS : NR_FILE_THPS, 1);
	if (nr_none) {
		mod_vm_stat(m, NR_FILE_PAGES, (long)nr_none);
		mod_vm_stat(m, NR_SHMEM, (long)nr_none);	/* only shmem has holes */
		mapping->nrpages += nr_none;
	}
	/* Up to date before it is the cache's: not mistaken for an fallocated page. */
	folio_mark_uptodate(new_folio);
	folio_ref_add(new_folio, HPAGE_PMD_NR - 1);	/* with ours: the cache's references */
	if (is_shmem)
		__folio_set_dirty(new_folio);
	for (index = start; index < end; index++)
		__xa_store(&mapping->i_pages, index, new_folio);
	xa_unlock(&mapping->i_pages);
	folio_add_lru(m, new_folio);

	/* No process maps the old pages: their tables may go, and faults map the pmd. */
	retract_page_tables(mapping, start);
	if (!cc->is_khugepaged)
		result = SCAN_PTE_MAPPED_HUGEPAGE;	/* MADV_COLLAPSE maps it in the caller's VMA */
	folio_unlock(new_folio);

	/* The old folios: no longer the cache's; our, the isolation's and the cache's references go. */
	list_for_each_entry_safe(folio, tmp, &pagelist, lru) {
		list_del(&folio->lru);
		folio->mapping = NULL;
		folio_clear_active(folio);
		folio_clear_unevictable(folio);
		folio_unlock(folio);
		folio_put_refs(m, folio, 2 + (int)folio_nr_pages(folio));
	}
	trace_mm_khugepaged_collapse_file(m, mm, new_folio, index, addr, is_shmem, file, HPAGE_PMD_NR, result);
	return result;

rollback_thps:
	if (!is_shmem)
		atomic_add(-1, &mapping->nr_thps);
rollback:
	if (charged)
		shmem_uncharge(inode, (long)nr_none);
	list_for_each_entry_safe(folio, tmp, &pagelist, lru) {
		list_del(&folio->lru);
		if (bug_enabled(m, BUG_COLLAPSE_ROLLBACK_CLEAN))
			folio_clear_dirty(folio);
		folio_unlock(folio);
		folio_putback_lru(m, folio);
		folio_put(m, folio);
	}
	new_folio->mapping = NULL;
	folio_unlock(new_folio);
	folio_put(m, new_folio);
	/* Freed: only its pfn is printed. */
	trace_mm_khugepaged_collapse_file(m, mm, new_folio, index, addr, is_shmem, file, HPAGE_PMD_NR, result);
	return result;
}

/*
 * hpage_collapse_scan_file(): look at the 512 cache slots at start and
 * collapse them if Linux would: not already a huge folio, no other
 * large folio, every folio on the LRU with no reference beyond its
 * mappings and the cache, no more swap entries than max_ptes_swap and
 * holes than max_ptes_none (khugepaged's limits; MADV_COLLAPSE has
 * none).  mmap_lock is not held.
 */
enum scan_result hpage_collapse_scan_file(struct mm_struct *mm, uint64_t addr, struct file *file,
					  unsigned long start, struct collapse_control *cc)
{
	struct address_space *mapping = file->f_mapping;
	struct mml_machine *m = mm->machine;
	unsigned int present = 0, swap = 0;
	enum scan_result result = SCAN_SUCCEED;
	struct folio *folio = NULL;

	for (unsigned long index = start; index < start + HPAGE_PMD_NR; index++) {
		void *entry = filemap_get_entry(mapping, index);

		if (!entry)
			continue;
		if (xa_is_value(entry)) {
			if (cc->is_khugepaged && ++swap > READ_ONCE(m->thp.khugepaged_max_ptes_swap)) {
				result = SCAN_EXCEED_SWAP_PTE;
				break;
			}
			continue;
		}
		folio = entry;
		if (folio_order(folio) == HPAGE_PMD_ORDER && folio->index == start)
			result = SCAN_PTE_MAPPED_HUGEPAGE;	/* collapsed already: maybe not PMD-mapped here */
		else if (folio_test_large(folio))
			result = SCAN_PAGE_COMPOUND;
		else if (!folio_test_lru(folio))
			result = SCAN_PAGE_LRU;
		/* The cache's and ours beside the mappings: anything more is a pin or a GUP reference. */
		else if (folio_ref_count(folio) != 1 + folio_mapcount(folio) + 1)
			result = SCAN_PAGE_COUNT;
		folio_put(m, folio);
		if (result != SCAN_SUCCEED)
			break;
		present++;
	}
	if (result == SCAN_SUCCEED) {
		if (cc->is_khugepaged && present < HPAGE_PMD_NR - READ_ONCE(m->thp.khugepaged_max_ptes_none))
			result = SCAN_EXCEED_NONE_PTE;
		else
			result = collapse_file(mm, addr, file, start, cc);
	}
	/* folio: the last one looked at, its reference gone (only its pfn is printed). */
	trace_mm_khugepaged_scan_file(m, mm, folio, file, (int)present, (int)swap, result);
	return result;
}
