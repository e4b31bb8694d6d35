/*
 * tlb.c - software TLBs and shootdown (Linux's arch/x86/mm/tlb.c).
 *
 * See tlb.h for the contract.  A remote flush takes the remote TLB's lock,
 * which the owning CPU holds on its slow path from lookup to the end of its
 * memory access, and waits out its lockless hit path (tlb->access) where
 * the CPU could be using what it dropped: when a flush returns, no CPU can
 * still use a flushed translation.
 */
#include "mm/mm.h"

/* Beyond this many pages a range flush drops the whole TLB (x86's ceiling). */
#define TLB_SINGLE_PAGE_FLUSH_CEILING 33

void tlb_init(struct tlb *tlb)
{
	spin_lock_init(&tlb->lock);
	tlb->access.seq = 0;
	tlb->access.thread = 0;
	for (int i = 0; i < TLB_ENTRIES; i++)
		tlb->e[i].vpn = TLB_INVALID_VPN;
	tlb->hits = tlb->fills = tlb->flushes = 0;
	memset(tlb->pfn_filter, 0, sizeof(tlb->pfn_filter));
}

void tlb_destroy(struct tlb *tlb)
{
	spin_lock_destroy(&tlb->lock);
}

/* Both return whether they dropped an entry: a remote CPU may be using only one it had. */
static bool __flush_tlb_all_local(struct tlb *tlb)
{
	bool dropped = false;

	for (int i = 0; i < TLB_ENTRIES; i++) {
		if (tlb->e[i].vpn == TLB_INVALID_VPN)
			continue;
		WRITE_ONCE(tlb->e[i].vpn, TLB_INVALID_VPN);
		dropped = true;
	}
	return dropped;
}

static bool __flush_tlb_one(struct tlb *tlb, uint64_t vpn)
{
	struct tlb_entry *e = &tlb->e[vpn & (TLB_ENTRIES - 1)];

	if (e->vpn != vpn)
		return false;
	WRITE_ONCE(e->vpn, TLB_INVALID_VPN);
	return true;
}

/* After drops, the filter of the entries left (tlb->lock held): one that only grew would fill up. */
static void tlb_filter_rebuild(struct tlb *tlb)
{
	uint64_t f[ARRAY_SIZE(tlb->pfn_filter)] = { 0 };

	for (int i = 0; i < TLB_ENTRIES; i++) {
		unsigned long pfn = pte_pfn(__pte(tlb->e[i].pte));

		if (tlb->e[i].vpn != TLB_INVALID_VPN)
			f[(pfn % TLB_PFN_FILTER_BITS) / 64] |= 1ULL << (pfn % 64);
	}
	for (size_t w = 0; w < ARRAY_SIZE(f); w++)
		WRITE_ONCE(tlb->pfn_filter[w], f[w]);
}

/*
 * Models flush_tlb_mm_range(): every CPU of the mm, local or by "IPI".
 * Unlike Linux, which cannot see a remote TLB and waits for every CPU in
 * mm_cpumask, the wait for remote CPUs (a membarrier(2), 2 us on a VM)
 * is skipped when none of their TLBs held an entry this flush dropped: a
 * CPU can be using a translation only from an entry it still had, since
 * one dropped earlier was dropped by a flush that waited for it, under
 * mm->tasks_lock as this one (or by the CPU itself, which is not inside
 * an access then).  The drops, events and trace points are Linux's.
 */
void flush_tlb_mm_range(struct mm_struct *mm, uint64_t start, uint64_t end)
{
	struct mml_machine *m = mm->machine;
	uint64_t nr = (end - start + PAGE_SIZE - 1) >> PAGE_SHIFT;
	bool all = nr > TLB_SINGLE_PAGE_FLUSH_CEILING;
	bool remote = false, remote_dropped = false;
	struct mml_task *t;

	spin_lock(&mm->tasks_lock);
	list_for_each_entry(t, &mm->tasks, mm_node) {
		bool dropped = false;

		/* native_flush_tlb_multi() sends the IPIs, flush_tlb_func() runs on each CPU. */
		if (t != current && !remote)
			trace_tlb_flush(m, NULL, TLB_REMOTE_SEND_IPI, all ? TLB_FLUSH_ALL : (long)nr);
		trace_tlb_flush(m, t, t == current ? TLB_LOCAL_SHOOTDOWN : TLB_REMOTE_SHOOTDOWN,
				all ? TLB_FLUSH_ALL : (long)nr);
		spin_lock(&t->tlb.lock);
		if (all) {
			dropped = __flush_tlb_all_local(&t->tlb);
		} else {
			for (uint64_t v = start >> PAGE_SHIFT; v < (end + PAGE_SIZE - 1) >> PAGE_SHIFT; v++)
				dropped |= __flush_tlb_one(&t->tlb, v);
		}
		if (dropped)
			tlb_filter_rebuild(&t->tlb);
		t->tlb.flushes++;
		spin_unlock(&t->tlb.lock);
		if (t == current) {
			count_vm_events(m, all ? NR_TLB_LOCAL_FLUSH_ALL : NR_TLB_LOCAL_FLUSH_ONE, all ? 1 : (long)nr);
		} else {
			count_vm_event(m, NR_TLB_REMOTE_FLUSH_RECEIVED);
			remote = true;
			remote_dropped |= dropped;
		}
	}
	/*
	 * A remote CPU may have looked an entry up locklessly before it was
	 * dropped: make the drop visible to it, then wait until it is past
	 * that access, as flush_tlb_multi() waits for its IPIs.  Unless this
	 * host thread ran every remote CPU's last access (the fuzzer runs
	 * every task on one): none can be inside one now.
	 */
	if (remote_dropped && !bug_enabled(m, BUG_TLB_FLUSH_NO_WAIT)) {
		bool foreign = false;

		smp_mb();	/* the drops before the sections' threads: pairs with cpu_section_enter's taking */
		list_for_each_entry(t, &mm->tasks, mm_node)
			foreign |= t != current && cpu_section_foreign(&t->tlb.access);
		if (foreign) {
			membarrier_heavy();
			list_for_each_entry(t, &mm->tasks, mm_node)
				if (t != current)
					cpu_section_wait(&t->tlb.access);
		}
	}
	spin_unlock(&mm->tasks_lock);
	if (remote)
		count_vm_event(m, NR_TLB_REMOTE_FLUSH);
}

void flush_tlb_mm(struct mm_struct *mm)
{
	flush_tlb_mm_range(mm, 0, TASK_SIZE);
}

void flush_tlb_range(struct vm_area_struct *vma, uint64_t start, uint64_t end)
{
	flush_tlb_mm_range(vma->vm_mm, start, end);
}

void flush_tlb_page(struct vm_area_struct *vma, uint64_t addr)
{
	flush_tlb_mm_range(vma->vm_mm, addr, addr + PAGE_SIZE);
}

/* Debug: is a translation to pfn cached anywhere?  For the free path. */
bool tlb_any_maps_pfn(struct mml_machine *m, unsigned long pfn, struct mml_task **who, uint64_t *vaddr)
{
	struct mm_struct *mm;
	struct mml_task *t;
	bool found = false;

	spin_lock(&m->tasks_lock);
	list_for_each_entry(mm, &m->mms, mm_node) {
		spin_lock(&mm->tasks_lock);
		list_for_each_entry(t, &mm->tasks, mm_node) {
			/* Not locked: its owner fills an entry only after setting the bit, under its lock. */
			if (!(READ_ONCE(t->tlb.pfn_filter[(pfn % TLB_PFN_FILTER_BITS) / 64]) & 1ULL << (pfn % 64)))
				continue;
			spin_lock(&t->tlb.lock);
			for (int i = 0; i < TLB_ENTRIES && !found; i++) {
				struct tlb_entry *e = &t->tlb.e[i];

				if (e->vpn != TLB_INVALID_VPN && pte_pfn(__pte(e->pte)) == pfn) {
					*who = t;
					*vaddr = e->vpn << PAGE_SHIFT;
					found = true;
				}
			}
			spin_unlock(&t->tlb.lock);
			if (found)
				break;
		}
		spin_unlock(&mm->tasks_lock);
		if (found)
			break;
	}
	spin_unlock(&m->tasks_lock);
	return found;
}
