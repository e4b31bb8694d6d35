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
#include <stdlib.h>

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
	tlb->local = (struct mmu_gather_batch){ .max = MMU_GATHER_BUNDLE, .pages = tlb->__pages };
	tlb->active = &tlb->local;
	tlb->batch_count = 0;
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

/* The CPU whose batches the gather may keep: the calling task, if of this machine. */
static struct mml_task *gather_cpu(struct mmu_gather *tlb)
{
	return current && current->machine == tlb->mm->machine ? current : NULL;
}

/*
 * Models tlb_next_batch(): the next batch to fill, chained when there is
 * none yet; false when the gather holds all it may (or no memory is to
 * be had) and must be flushed first.
 */
static bool tlb_next_batch(struct mmu_gather *tlb)
{
	struct mmu_gather_batch *batch = tlb->active->next;

	if (!batch) {
		struct mml_task *cpu = gather_cpu(tlb);

		if (tlb->batch_count == MAX_GATHER_BATCH_COUNT)
			return false;
		if (cpu && cpu->tlb_batches) {
			batch = cpu->tlb_batches;
			cpu->tlb_batches = batch->next;
		} else {
			batch = malloc(PAGE_SIZE);
			if (!batch)
				return false;
		}
		*batch = (struct mmu_gather_batch){ .max = MAX_GATHER_BATCH, .pages = (void *)(batch + 1) };
		tlb->batch_count++;
		tlb->active->next = batch;
	}
	tlb->active = batch;
	return true;
}

/* Models tlb_batch_pages_flush(): every batch's folios, one free_pages_and_swap_cache each. */
static void tlb_batch_pages_flush(struct mmu_gather *tlb)
{
	for (struct mmu_gather_batch *batch = &tlb->local; batch && batch->nr; batch = batch->next) {
		free_pages_and_swap_cache(tlb->mm->machine, batch->pages, batch->nr);
		batch->nr = 0;
	}
	tlb->active = &tlb->local;
}

static void tlb_free_batched(struct mmu_gather *tlb)
{
	struct mml_machine *m = tlb->mm->machine;

	tlb_batch_pages_flush(tlb);
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
 * cleared); true when the gather is full and the caller must flush before
 * queueing more.  Consecutive ptes of one folio share an entry (Linux
 * encodes them as one page with its nr_pages).
 */
bool __tlb_remove_folio_pages(struct mmu_gather *tlb, struct folio *folio, int nr)
{
	struct mmu_gather_batch *batch = tlb->active;

	if (batch->nr && batch->pages[batch->nr - 1].folio == folio) {
		batch->pages[batch->nr - 1].refs += nr;
		return false;
	}
	batch->pages[batch->nr++] = (struct mmu_gather_page){ .folio = folio, .refs = nr };
	return batch->nr == batch->max && !tlb_next_batch(tlb);
}

/* Models tlb_remove_table(): the table is unlinked; free it after flush + RCU. */
void tlb_remove_table(struct mmu_gather *tlb, struct ptdesc *pt)
{
	tlb->freed_tables = true;
	if (tlb->nr_tables == MMU_GATHER_TABLES)
		tlb_flush_mmu(tlb);
	tlb->tables[tlb->nr_tables++] = pt;
}

/* Models tlb_finish_mmu(): the last flush; the chained batches go back to the CPU (or the host). */
void tlb_finish_mmu(struct mmu_gather *tlb)
{
	struct mmu_gather_batch *batch, *next;

	struct mml_task *cpu = gather_cpu(tlb);

	tlb_flush_mmu(tlb);
	for (batch = tlb->local.next; batch; batch = next) {
		next = batch->next;
		if (cpu) {
			batch->next = cpu->tlb_batches;
			cpu->tlb_batches = batch;
		} else {
			free(batch);
		}
	}
	tlb->local.next = NULL;
	tlb->batch_count = 0;
}

void tlb_batches_free(struct mml_task *t)
{
	struct mmu_gather_batch *batch, *next;

	for (batch = t->tlb_batches; batch; batch = next) {
		next = batch->next;
		free(batch);
	}
	t->tlb_batches = NULL;
}
