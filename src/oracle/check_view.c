/*
 * check_view.c - what the fuzzer reads of the machine beside the checks
 * (oracle/check.h): counters as they stand, without the settling of
 * deferred frees a /proc view does, and the VMAs as the model describes
 * its layout.
 */
#include "mm/internal.h"
#include "oracle/check.h"

long mml_oom_kills(struct mml_machine *m)
{
	return global_vm_stat(m, OOM_KILL);
}

/*
 * The events of work that reaches into other mms than the one that asked:
 * reclaim's and compaction's unmapping, migration, splits of PMD
 * mappings, the OOM reaper.  While their sum stands still, an operation
 * changed only the tables of its own mm (and the pages they map).
 */
long mml_check_epoch(struct mml_machine *m)
{
	long sum = 0;

	/* One pass over the CPUs' counters, the items at fixed offsets: this runs after every operation. */
	for (size_t cpu = 0; cpu < ARRAY_SIZE(m->vm_stat_cpu); cpu++) {
		const atomic_long_t *v = m->vm_stat_cpu[cpu].vm_stat;

		sum += atomic_long_read(&v[PGSCAN_KSWAPD]) + atomic_long_read(&v[PGSCAN_DIRECT]) +
		       atomic_long_read(&v[PGLAZYFREED]) + atomic_long_read(&v[PGMIGRATE_SUCCESS]) +
		       atomic_long_read(&v[PGMIGRATE_FAIL]) + atomic_long_read(&v[COMPACTISOLATED]) +
		       atomic_long_read(&v[THP_SPLIT_PMD]) + atomic_long_read(&v[OOM_KILL]);
	}
	return sum;
}

/*
 * Does every page t's mm maps in [start, end) belong to a small anon folio
 * mapped there alone (or to the zero page)?  Then MADV_COLD and
 * MADV_PAGEOUT of the range change no other mm: they leave a folio
 * another mapping shares alone, and split only a large folio, which may
 * be mapped elsewhere (and is counted only when PMD-sized).  Swap and
 * other non-present entries they skip.  A probe before the operation,
 * under the machine's quiesce as the checks are.
 */
bool mml_range_private(struct mml_task *t, uint64_t start, uint64_t end)
{
	struct mm_struct *mm = t ? t->mm : NULL;
	struct mml_machine *m;
	bool private = true;

	if (!mm)
		return true;
	m = mm->machine;
	percpu_down_write(&m->quiesce);
	for (uint64_t addr = start & ~(uint64_t)(PAGE_SIZE - 1); private && addr < end; addr += PAGE_SIZE) {
		pte_t pte = mm_pte_lockless(mm, addr);
		struct folio *folio;

		if (!pte_present(pte) || is_zero_pfn(m, pte_pfn(pte)))
			continue;
		/* a pfn outside RAM is not what it seems: the caller checks every mm then */
		folio = pfn_valid(m, pte_pfn(pte)) ? page_folio(pfn_to_page(m, pte_pfn(pte))) : NULL;
		private = folio && !folio_test_large(folio) && folio_test_anon(folio) && !folio_test_ksm(folio) &&
			  folio_mapcount(folio) == 1;
	}
	percpu_up_write(&m->quiesce);
	return private;
}

size_t mml_task_layout(struct mml_task *t, struct layout_range *out, size_t max)
{
	static const struct { vm_flags_t flag; unsigned attr; } bits[] = {
		{ VM_READ, LAYOUT_R }, { VM_WRITE, LAYOUT_W }, { VM_EXEC, LAYOUT_X }, { VM_DONTCOPY, LAYOUT_DC },
		{ VM_WIPEONFORK, LAYOUT_WF }, { VM_MTE, LAYOUT_MT }, { VM_HUGEPAGE, LAYOUT_HG },
		{ VM_NOHUGEPAGE, LAYOUT_NH }, { VM_LOCKED, LAYOUT_LO }, { VM_LOCKONFAULT, LAYOUT_LF },
	};
	struct mm_struct *mm = t->mm;
	size_t n = 0;

	if (!mm)
		return 0;
	down_read(&mm->mmap_lock);
	for (unsigned long i = 0; i < mm->map_count; i++, n++) {
		struct vm_area_struct *vma = mm->vmas[i];
		unsigned attr = 0;

		if (n >= max)
			continue;
		for (size_t b = 0; b < sizeof(bits) / sizeof(bits[0]); b++)
			if (vma->vm_flags & bits[b].flag)
				attr |= bits[b].attr;
		out[n] = (struct layout_range){ vma->vm_start, vma->vm_end, attr };
	}
	up_read(&mm->mmap_lock);
	return n;
}
