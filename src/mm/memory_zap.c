/*
 * memory_zap.c - unmapping a range of a VMA's page tables, zap_page_range
 * and friends (the part of Linux's mm/memory.c that munmap, exit,
 * MADV_DONTNEED, the OOM reaper and truncate use; kept apart for size, as
 * memory_copy.c is for fork).
 *
 * Each pte table is cleared under its pte lock; the frames go into the
 * caller's mmu_gather and are freed only after the TLBs are flushed.
 */
#include "mm/internal.h"
#include "mm/ksm.h"
#include "mm/userfaultfd_k.h"
#include "mm/mmu_notifier.h"
#include "mm/pagewalk.h"

/*
 * zap_present_ptes(): clear a batch of present ptes mapping one folio (or
 * the zero page) and queue the folio's references for after the flush.
 * Returns how many ptes it cleared; *force_flush when the batch is full.
 */
static int zap_present_ptes(struct mmu_gather *tlb, struct vm_area_struct *vma, pte_t *pte, pte_t ptent,
			    int max_nr, uint64_t addr, long *rss, bool *force_flush,
			    const struct zap_details *details)
{
	struct mml_machine *m = tlb->mm->machine;
	struct page *page = vm_normal_page(vma, addr, ptent);
	struct folio *folio;
	bool dirty = false;
	int nr = 1;

	if (!page) {
		/* The zero page: nothing to free; one KSM put there is counted. */
		ksm_might_unmap_zero_page(vma->vm_mm, ptent);
		ptep_get_and_clear(pte);
		tlb_flush_pte_range(tlb, addr, PAGE_SIZE);
		return 1;
	}
	folio = page_folio(page);
	/* Truncate's first pass, or a hole punch, leaves private copies alone. */
	if (!should_zap_folio(details, folio))
		return 1;
	if (folio_test_large(folio) && max_nr > 1)
		nr = folio_pte_batch(m, folio, pte, ptent, max_nr, NULL, NULL, NULL);
	/* Each pte's dirty bit as it is cleared: a CPU may set one until then. */
	for (int i = 0; i < nr; i++) {
		pte_t old = ptep_get_and_clear(pte + i);

		dirty |= pte_dirty(old);
		/* zap_install_uffd_wp_if_needed(): a file page's protection outlives MADV_DONTNEED. */
		if (!should_zap_markers(details))
			pte_install_uffd_wp_if_needed(vma, addr + ((uint64_t)i << PAGE_SHIFT), pte + i, old);
	}
	tlb_flush_pte_range(tlb, addr, (uint64_t)nr << PAGE_SHIFT);
	/* A file page written through this pte must be written back. */
	if (!folio_test_anon(folio) && dirty)
		folio_mark_dirty(folio);
	rss[folio_test_anon(folio) ? MM_ANONPAGES : mm_counter_file(folio)] -= nr;
	folio_remove_rmap_ptes(folio, page, nr, vma);
	if (__tlb_remove_folio_pages(tlb, folio, nr))
		*force_flush = true;
	return nr;
}

/*
 * zap_pte_range(): returns where it stopped: end, unless a full batch
 * forced a flush, or addr itself when the pmd holds no table any more
 * (emptied by retract_page_tables, or a huge leaf put in by a fault
 * meanwhile): the caller looks at the pmd again, as Linux's does.
 */
static uint64_t zap_pte_range(struct mmu_gather *tlb, struct vm_area_struct *vma, pmd_t *pmd,
			      uint64_t addr, uint64_t end, const struct zap_details *details)
{
	struct mm_struct *mm = tlb->mm;
	bool force_flush = false;
	long rss[NR_MM_COUNTERS] = { 0 };
	spinlock_t *ptl;
	pte_t *pte;
	int nr;

	pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!pte)
		return addr;
	for (; addr < end; pte += nr, addr += (uint64_t)nr << PAGE_SHIFT) {
		pte_t ptent = ptep_get(pte);

		nr = 1;
		if (pte_none(ptent))
			continue;
		if (unlikely(!pte_present(ptent))) {
			/*
			 * A guard marker stays through MADV_DONTNEED and truncate:
			 * it goes with its VMA only.  It names nothing to free.
			 */
			if (is_pte_marker(ptent)) {
				/* uffd-wp markers of anon memory go with the (never populated) page. */
				if (should_zap_markers(details) || bug_enabled(mm->machine, BUG_DONTNEED_DROPS_GUARD) ||
				    (vma_is_anonymous(vma) && !is_guard_pte_marker(ptent)))
					pte_clear(pte);
				continue;
			}
			/* Swap and device-exclusive entries are private anon pages. */
			if (!should_zap_cows(details))
				continue;
			/* A swap entry: the slot loses a user; maybe the cache its folio. */
			pte_clear(pte);
			if (is_swap_entry_pte(ptent)) {
				rss[MM_SWAPENTS]--;
				free_swap_and_cache(mm->machine, pte_to_swp_entry(ptent));
			} else if (is_migration_pte(ptent)) {
				/* The folio is being split: the entry holds no reference, the rss counts it. */
				rss[MM_ANONPAGES]--;
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
				      &force_flush, details);
		if (force_flush) {
			addr += (uint64_t)nr << PAGE_SHIFT;
			pte += nr;
			break;
		}
	}
	for (int i = 0; i < NR_MM_COUNTERS; i++)
		if (rss[i])
			add_mm_counter(mm, i, rss[i]);
	pte_unmap_unlock(pte, ptl);
	/* The batch is full: flush the TLBs, then free, before going on. */
	if (force_flush)
		tlb_flush_mmu(tlb);
	return addr;
}

static void zap_pmd_range(struct mmu_gather *tlb, struct vm_area_struct *vma, pud_t *pud,
			  uint64_t addr, uint64_t end, const struct zap_details *details)
{
	pmd_t *pmd = pmd_offset(tlb->mm->machine, pud, addr);
	uint64_t next;

	do {
		uint64_t done;
		pmd_t pmdval;

		next = pmd_addr_end(addr, end);
		/*
		 * Under mmap_lock held for read (MADV_DONTNEED) a file fault may
		 * put a huge leaf in an empty pmd at any time, and a split or
		 * retract_page_tables may empty it: the pmd is read once for each
		 * decision, and looked at again when zap_pte_range finds no table.
		 */
again:
		pmdval = pmdp_get(pmd);
		if (pmd_trans_huge(pmdval)) {
			if (next - addr != HPAGE_PMD_SIZE)
				__split_huge_pmd(vma, pmd, addr, false);
			else if (zap_huge_pmd(tlb, vma, pmd, addr))
				continue;
			goto again;
		}
		if (pmd_no_table(tlb->mm, pmdval, addr, "zap_page_range"))
			continue;
		/* Again from where a full batch stopped, until the whole table is done. */
		do {
			done = zap_pte_range(tlb, vma, pmd, addr, next, details);
			if (done == addr)
				goto again;
			addr = done;
		} while (addr != next);
	} while (pmd++, addr = next, addr != end);
}

static void zap_pud_range(struct mmu_gather *tlb, struct vm_area_struct *vma, pgd_t *pgd,
			  uint64_t addr, uint64_t end, const struct zap_details *details)
{
	pud_t *pud = pud_offset(tlb->mm->machine, pgd, addr);
	uint64_t next;

	do {
		next = pud_addr_end(addr, end);
		if (pud_no_table(tlb->mm, pudp_get(pud), addr, "zap_page_range"))
			continue;
		zap_pmd_range(tlb, vma, pud, addr, next, details);
	} while (pud++, addr = next, addr != end);
}

/* unmap_page_range(): every mapping of [start, end) in vma goes into the mmu_gather. */
static void unmap_page_range(struct mmu_gather *tlb, struct vm_area_struct *vma, uint64_t addr, uint64_t end,
			     const struct zap_details *details)
{
	pgd_t *pgd = pgd_offset(tlb->mm, addr);
	uint64_t next;

	do {
		next = pgd_addr_end(addr, end);
		if (pgd_none(pgdp_get(pgd)))
			continue;
		zap_pud_range(tlb, vma, pgd, addr, next, details);
	} while (pgd++, addr = next, addr != end);
}

/* unmap_single_vma(): the part of [start, end) that lies in vma. */
void unmap_single_vma(struct mmu_gather *tlb, struct vm_area_struct *vma, uint64_t start, uint64_t end,
		      const struct zap_details *details)
{
	start = max(start, vma->vm_start);
	end = min(end, vma->vm_end);
	if (start < end)
		unmap_page_range(tlb, vma, start, end, details);
}

/*
 * zap_page_range_single(): MADV_DONTNEED's unmap of one VMA's range.  The
 * secondary MMUs learn of it before and after (MMU_NOTIFY_CLEAR: the VMA
 * stays); the pages go only after the TLB flush.
 */
void zap_page_range_single(struct vm_area_struct *vma, uint64_t addr, uint64_t size,
			   const struct zap_details *details)
{
	struct mmu_notifier_range range;
	struct mmu_gather tlb;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, vma->vm_mm, addr, addr + size);
	lru_add_drain(vma->vm_mm->machine);
	tlb_gather_mmu(&tlb, vma->vm_mm);
	mmu_notifier_invalidate_range_start(&range);
	unmap_single_vma(&tlb, vma, addr, addr + size, details);
	mmu_notifier_invalidate_range_end(&range);
	tlb_finish_mmu(&tlb);
}

/*
 * unmap_mapping_range(): every pte of every process mapping the pages
 * [holebegin, holebegin + holelen) of the file (holelen 0: to the end),
 * found through i_mmap.  even_cows: private copies made from those pages
 * go too (truncate: they lie beyond the end now); a hole punch keeps
 * them.  Takes i_mmap_rwsem for read; no mmap_lock is needed, since a
 * VMA leaves i_mmap before its page tables are freed.
 */
void unmap_mapping_range(struct address_space *mapping, int64_t holebegin, int64_t holelen, bool even_cows)
{
	unsigned long first = (unsigned long)(holebegin >> PAGE_SHIFT);
	unsigned long last = holelen ? (unsigned long)((holebegin + holelen - 1) >> PAGE_SHIFT) : ~0UL;
	struct zap_details details = { .even_cows = even_cows };
	struct vm_area_struct *vma;

	if (bug_enabled(mapping->host->i_sb->machine, BUG_TRUNCATE_KEEPS_COWS))
		details.even_cows = false;
	down_read(&mapping->i_mmap_rwsem);
	list_for_each_entry(vma, &mapping->i_mmap, shared) {
		unsigned long vstart = vma->vm_pgoff, vlast = vma->vm_pgoff + vma_pages(vma) - 1;
		unsigned long from = max(first, vstart), to = min(last, vlast);

		if (from > to)
			continue;
		zap_page_range_single(vma, vma->vm_start + ((uint64_t)(from - vstart) << PAGE_SHIFT),
				      (uint64_t)(to - from + 1) << PAGE_SHIFT, &details);
	}
	up_read(&mapping->i_mmap_rwsem);
}
