/*
 * huge_memory.c - transparent huge pages (Linux's mm/huge_memory.c): the
 * knobs' defaults and which VMAs may use which orders; PMD-mapped anon
 * folios are built in the next commits.  The tripwire remains for what no
 * mechanism makes yet (a pud leaf).
 */
#include "mm/internal.h"
#include "mm/pagewalk.h"

void huge_entry_unsupported(struct mm_struct *mm, uint64_t addr, uint64_t val, const char *level,
			    const char *who)
{
	mml_report(mm->machine, "%s: %s %#llx at %#llx is neither none nor a table: huge %ss are not built yet",
		   who, level, (unsigned long long)val, (unsigned long long)addr, level);
}

/* ---- the knobs ------------------------------------------------------------------ */

/*
 * hugepage_init(): Linux's defaults with CONFIG_TRANSPARENT_HUGEPAGE_MADVISE,
 * a common distribution's: enabled and defrag "madvise", the huge zero
 * page on, the PMD size inheriting `enabled`, khugepaged's limits.
 */
void hugepage_init(struct mml_machine *m)
{
	struct thp_globals *g = &m->thp;

	g->transparent_hugepage_flags = (1UL << TRANSPARENT_HUGEPAGE_REQ_MADV_FLAG) |
					(1UL << TRANSPARENT_HUGEPAGE_DEFRAG_REQ_MADV_FLAG) |
					(1UL << TRANSPARENT_HUGEPAGE_DEFRAG_KHUGEPAGED_FLAG) |
					(1UL << TRANSPARENT_HUGEPAGE_USE_ZERO_PAGE_FLAG);
	g->huge_anon_orders_inherit = 1UL << HPAGE_PMD_ORDER;
	g->khugepaged_pages_to_scan = HPAGE_PMD_NR * 8;
	g->khugepaged_max_ptes_none = HPAGE_PMD_NR - 1;
	g->khugepaged_max_ptes_swap = HPAGE_PMD_NR / 8;
	g->khugepaged_max_ptes_shared = HPAGE_PMD_NR / 2;
	g->khugepaged_scan_sleep_millisecs = 10000;
	g->khugepaged_alloc_sleep_millisecs = 60000;
	spin_lock_init(&m->split_queue.split_queue_lock);
	INIT_LIST_HEAD(&m->split_queue.split_queue);
}

/* Power-off, every process gone: nothing may be left on the split queue. */
void hugepage_exit(struct mml_machine *m)
{
	if (m->split_queue.split_queue_len)
		mml_report(m, "leak: %lu folio(s) left on the deferred split queue", m->split_queue.split_queue_len);
}

static bool thp_flag(struct mml_machine *m, enum transparent_hugepage_flag f)
{
	return test_bit(f, &m->thp.transparent_hugepage_flags);
}

/* hugepage_global_enabled(), hugepage_global_always(): the top-level `enabled`. */
static bool hugepage_global_enabled(struct mml_machine *m)
{
	return thp_flag(m, TRANSPARENT_HUGEPAGE_FLAG) || thp_flag(m, TRANSPARENT_HUGEPAGE_REQ_MADV_FLAG);
}

static bool hugepage_global_always(struct mml_machine *m)
{
	return thp_flag(m, TRANSPARENT_HUGEPAGE_FLAG);
}

/* thp_vma_suitable_order(): an aligned range of that order around addr lies in the VMA. */
static bool thp_vma_suitable_order(struct vm_area_struct *vma, uint64_t addr, unsigned order)
{
	uint64_t size = PAGE_SIZE << order, haddr = addr & ~(size - 1);

	return haddr >= vma->vm_start && haddr + size <= vma->vm_end;
}

/*
 * Models __thp_vma_allowable_orders() for anonymous memory (file and
 * shmem THP are not built: no order for them).  A VMA with
 * VM_NOHUGEPAGE, or in an mm with THP disabled, gets none; the sysfs
 * masks decide, unless the caller is MADV_COLLAPSE; outside a fault the
 * VMA must hold an aligned range of the order.
 */
unsigned long thp_vma_allowable_orders(struct vm_area_struct *vma, vm_flags_t vm_flags,
				       unsigned long tva_flags, unsigned long orders)
{
	struct mml_machine *m = vma->vm_mm->machine;
	bool smaps = tva_flags & TVA_SMAPS, in_pf = tva_flags & TVA_IN_PF;

	if ((vm_flags & VM_NOHUGEPAGE) || test_bit(MMF_DISABLE_THP, &vma->vm_mm->flags))
		return 0;
	if (!vma_is_anonymous(vma) || (vm_flags & (VM_PFNMAP | VM_MIXEDMAP | VM_HUGETLB | VM_IO)))
		return 0;
	if (tva_flags & TVA_ENFORCE_SYSFS) {
		unsigned long mask = READ_ONCE(m->thp.huge_anon_orders_always);

		if (vm_flags & VM_HUGEPAGE)
			mask |= READ_ONCE(m->thp.huge_anon_orders_madvise);
		if (hugepage_global_always(m) || ((vm_flags & VM_HUGEPAGE) && hugepage_global_enabled(m)))
			mask |= READ_ONCE(m->thp.huge_anon_orders_inherit);
		orders &= mask;
	}
	if (!in_pf) {
		unsigned long keep = 0;

		for (unsigned order = 0; order <= HPAGE_PMD_ORDER; order++)
			if ((orders & (1UL << order)) && vma->vm_end - vma->vm_start >= (PAGE_SIZE << order) &&
			    thp_vma_suitable_order(vma, vma->vm_end - (PAGE_SIZE << order), order))
				keep |= 1UL << order;
		orders = keep;
	}
	/* THPeligible shows 1 for a VMA not yet faulted (no anon_vma); collapse needs one. */
	if (!READ_ONCE(vma->anon_vma) && !smaps && !in_pf)
		return 0;
	return orders;
}

/*
 * split_folio(): a large folio only partly covered by an operation that
 * must treat each page on its own (MADV_FREE or MADV_COLD of part of it,
 * reclaim without THP swap).  Until migration entries exist, a report and
 * -EBUSY, which callers treat as a failed split.
 */
int split_folio(struct mml_machine *m, struct folio *folio)
{
	mml_report(m, "order-%u folio at pfn %lu needs split_folio(), which is not built yet",
		   folio_order(folio), folio_pfn(m, folio));
	count_vm_event(m, THP_SPLIT_PAGE_FAILED);
	return -EBUSY;
}
