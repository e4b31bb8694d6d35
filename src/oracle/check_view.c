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
	static const enum vm_stat_item items[] = { PGSCAN_KSWAPD, PGSCAN_DIRECT, PGLAZYFREED, PGMIGRATE_SUCCESS,
						   PGMIGRATE_FAIL, COMPACTISOLATED, THP_SPLIT_PMD, OOM_KILL };
	long sum = 0;

	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++)
		sum += global_vm_stat(m, items[i]);
	return sum;
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
