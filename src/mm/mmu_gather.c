/*
 * mmu_gather.c - batching of TLB flushes and frees during unmap, as Linux's
 * mm/mmu_gather.c.
 *
 * The rule it enforces: a frame or page table whose translation was removed
 * is freed only after the TLB flush that covers it.  zap_pte_range() clears
 * entries and queues the folios here; tlb_flush_mmu() flushes every CPU of
 * the mm, then drops the queued references; page tables additionally wait
 * for an RCU grace period (lockless walkers).
 */
#include "mm/internal.h"

static void __tlb_reset_range(struct mmu_gather *tlb)
{
	tlb->start = UINT64_MAX;
	tlb->end = 0;
}

void tlb_gather_mmu(struct mmu_gather *tlb, struct mm_struct *mm)
{
	tlb->mm = mm;
	tlb->fullmm = false;
	tlb->freed_tables = false;
	tlb->nr = 0;
	tlb->nr_tables = 0;
	__tlb_reset_range(tlb);
}

void tlb_gather_mmu_fullmm(struct mmu_gather *tlb, struct mm_struct *mm)
{
	tlb_gather_mmu(tlb, mm);
	tlb->fullmm = true;
}

static void tlb_flush_tlbs(struct mmu_gather *tlb)
{
	if (tlb->end <= tlb->start && !tlb->freed_tables)
		return;
	if (tlb->fullmm || tlb->freed_tables)
		flush_tlb_mm(tlb->mm);
	else
		flush_tlb_mm_range(tlb->mm, tlb->start, tlb->end);
	__tlb_reset_range(tlb);
}

static void tlb_free_batched(struct mmu_gather *tlb)
{
	struct mml_machine *m = tlb->mm->machine;

	for (unsigned int i = 0; i < tlb->nr; i++) {
		/* free_pages_and_swap_cache(): an unmapped folio need not stay cached. */
		free_swap_cache(m, tlb->batch[i].folio);
		folio_put_refs(m, tlb->batch[i].folio, tlb->batch[i].refs);
	}
	tlb->nr = 0;
	/*
	 * MMU_GATHER_RCU_TABLE_FREE: the flush above sends no interrupt that
	 * a lockless walker (GUP-fast, a CPU's walker) would hold off, so
	 * only a grace period proves it left the tables.
	 */
	for (unsigned int i = 0; i < tlb->nr_tables; i++) {
		if (bug_enabled(m, BUG_TABLE_FREE_NO_RCU))
			pagetable_free(tlb->mm, tlb->tables[i]);
		else
			pagetable_free_rcu(tlb->mm, tlb->tables[i]);
	}
	tlb->nr_tables = 0;
}

/* Models tlb_flush_mmu(): flush, then free what the flush made unreachable. */
void tlb_flush_mmu(struct mmu_gather *tlb)
{
	if (bug_enabled(tlb->mm->machine, BUG_FREE_BEFORE_FLUSH)) {
		/* The defect: frames go back to the allocator while TLBs map them. */
		tlb_free_batched(tlb);
		tlb_flush_tlbs(tlb);
		return;
	}
	tlb_flush_tlbs(tlb);
	tlb_free_batched(tlb);
}

/*
 * __tlb_remove_folio_pages(): queue nr references of folio (one per pte
 * cleared); true when the batch is full and the caller must flush before
 * queueing more.
 */
bool __tlb_remove_folio_pages(struct mmu_gather *tlb, struct folio *folio, int nr)
{
	if (tlb->nr && tlb->batch[tlb->nr - 1].folio == folio) {
		tlb->batch[tlb->nr - 1].refs += nr;
		return false;
	}
	tlb->batch[tlb->nr].folio = folio;
	tlb->batch[tlb->nr].refs = nr;
	tlb->nr++;
	return tlb->nr == MMU_GATHER_BATCH;
}

/* Models tlb_remove_table(): the table is unlinked; free it after flush + RCU. */
void tlb_remove_table(struct mmu_gather *tlb, struct ptdesc *pt)
{
	tlb->freed_tables = true;
	if (tlb->nr_tables == MMU_GATHER_BATCH)
		tlb_flush_mmu(tlb);
	tlb->tables[tlb->nr_tables++] = pt;
}

void tlb_finish_mmu(struct mmu_gather *tlb)
{
	tlb_flush_mmu(tlb);
}
