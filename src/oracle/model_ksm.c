/*
 * model_ksm.c - KSM in the reference model.
 *
 * Merging is invisible to a process: a merged page reads what it held,
 * a write makes it the process's own again, a pin, a device, fork and
 * swap see exactly what they would without KSM (but for one pin, below).
 * So the model keeps no KSM state for pages at all: MADV_MERGEABLE and
 * MADV_UNMERGEABLE are advice that changes no byte (model.c), and a KSM
 * scan is invisible, as reclaim is.  What the model does know is per process:
 * prctl(PR_SET_MEMORY_MERGE) and its inheritance by fork (ksm_merge_any
 * in ksm_stat, PR_GET_MEMORY_MERGE).  Which pages merged, and the counters
 * that count them, hang on checksums, scan order, pins and memory the
 * model does not follow: the fuzzer checks only that they add up
 * (fuzz_ksm.c), and the invariant checker that KSM pages are what they
 * must be.
 *
 * One merge a pin can tell: with use_zero_pages, a zero-filled page
 * becomes the shared zero page (a special pte, no anon folio), and a
 * short-term read-only FOLL_PIN of the zero page does not unshare it
 * (gup_must_unshare: only a long-term pin breaks COW of a page that is not
 * anonymous).  That pin then holds the zero page, and the process's next
 * write faults in a page of its own the pin never sees -- as a pin of a
 * never-written page's zero page does without KSM.  model_gup makes such a
 * pin of a zero-filled page unchecked once the knob has been on.
 */
#include <errno.h>
#include <string.h>

#include "oracle/model_internal.h"

#define PR_SET_MEMORY_MERGE	67
#define PR_GET_MEMORY_MERGE	68

long model_prctl(struct model *md, int task, int option, unsigned long arg)
{
	struct mproc *p = task_proc(md, task);

	if (!p)
		return -ESRCH;
	switch (option) {
	case PR_SET_MEMORY_MERGE:
		p->merge_any = arg != 0;
		return 0;
	case PR_GET_MEMORY_MERGE:
		return p->merge_any;
	default:
		return -EINVAL;
	}
}

long model_ksm_stat(const struct model *md, int task, const char *field)
{
	const struct mproc *p = task_proc(md, task);

	if (!p)
		return -ESRCH;
	if (!strcmp(field, "ksm_merge_any"))
		return p->merge_any;
	return -ENOENT;	/* not the model's to know */
}

void model_set_ksm_zero_pages(struct model *md)
{
	md->ksm_zero_pages = true;
}
