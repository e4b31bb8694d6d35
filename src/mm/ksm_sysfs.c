/*
 * ksm_sysfs.c - KSM's files: /sys/kernel/mm/ksm/ (Linux keeps them in
 * mm/ksm.c) and /proc/PID/ksm_stat, ksm_merging_pages (fs/proc/base.c).
 * Texts and checks are Linux 6.18's; the knobs are machine->ksm_knobs,
 * the counters machine->ksm_counters (fs/sysfs.h has the contract).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs/sysfs.h"
#include "mm/internal.h"
#include "mm/ksm.h"

enum ksm_file {
	KF_PAGES_TO_SCAN, KF_SLEEP, KF_MAX_PAGE_SHARING, KF_MERGE_ACROSS_NODES, KF_USE_ZERO_PAGES,
	KF_PRUNE, KF_SMART_SCAN, KF_ADVISOR_MAX_CPU, KF_ADVISOR_TARGET, KF_ADVISOR_MIN, KF_ADVISOR_MAX,
	KF_PAGES_SHARED, KF_PAGES_SHARING, KF_PAGES_UNSHARED, KF_PAGES_VOLATILE, KF_FULL_SCANS,
	KF_ZERO_PAGES, KF_GENERAL_PROFIT, KF_PAGES_SCANNED, KF_PAGES_SKIPPED, KF_CHAINS, KF_DUPS,
};

static unsigned int *ksm_knob(struct mml_machine *m, long f)
{
	switch (f) {
	case KF_PAGES_TO_SCAN:		return &m->ksm_knobs.pages_to_scan;
	case KF_SLEEP:			return &m->ksm_knobs.sleep_millisecs;
	case KF_MAX_PAGE_SHARING:	return &m->ksm_knobs.max_page_sharing;
	case KF_MERGE_ACROSS_NODES:	return &m->ksm_knobs.merge_across_nodes;
	case KF_USE_ZERO_PAGES:		return &m->ksm_knobs.use_zero_pages;
	case KF_PRUNE:			return &m->ksm_knobs.stable_node_chains_prune_millisecs;
	case KF_SMART_SCAN:		return &m->ksm_knobs.smart_scan;
	case KF_ADVISOR_MAX_CPU:	return &m->ksm_knobs.advisor_max_cpu;
	case KF_ADVISOR_TARGET:		return &m->ksm_knobs.advisor_target_scan_time;
	case KF_ADVISOR_MIN:		return &m->ksm_knobs.advisor_min_pages_to_scan;
	default:			return &m->ksm_knobs.advisor_max_pages_to_scan;
	}
}

static long ksm_counter(struct mml_machine *m, long f)
{
	struct ksm_counters *c = &m->ksm_counters;
	long shared = atomic_long_read(&c->pages_shared), sharing = atomic_long_read(&c->pages_sharing);
	long unshared = atomic_long_read(&c->pages_unshared), items = atomic_long_read(&c->rmap_items);
	long zero = atomic_long_read(&c->zero_pages);

	switch (f) {
	case KF_PAGES_SHARED:	return shared;
	case KF_PAGES_SHARING:	return sharing;
	case KF_PAGES_UNSHARED:	return unshared;
	/* pages_volatile: items in no tree; negative for a moment in Linux too, shown as 0. */
	case KF_PAGES_VOLATILE:	return items - shared - sharing - unshared > 0 ? items - shared - sharing - unshared : 0;
	case KF_FULL_SCANS:	return atomic_long_read(&c->full_scans);
	case KF_ZERO_PAGES:	return zero;
	case KF_GENERAL_PROFIT:	return (sharing + zero) * (long)PAGE_SIZE - items * (long)KSM_RMAP_ITEM_SIZE;
	case KF_PAGES_SCANNED:	return atomic_long_read(&c->pages_scanned);
	case KF_PAGES_SKIPPED:	return atomic_long_read(&c->pages_skipped);
	case KF_CHAINS:		return atomic_long_read(&c->stable_node_chains);
	default:		return atomic_long_read(&c->stable_node_dups);
	}
}

static ssize_t knob_show(struct mml_machine *m, const struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(*ksm_knob(m, attr->arg)));
}

static ssize_t counter_show(struct mml_machine *m, const struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%ld\n", ksm_counter(m, attr->arg));
}

/* pages_to_scan, sleep_millisecs and the advisor's: any unsigned int (Linux: pages_to_scan too). */
static ssize_t knob_store(struct mml_machine *m, const struct kobj_attribute *attr, const char *buf, size_t count)
{
	unsigned int v;

	if (kstrtouint(buf, 10, &v))
		return -EINVAL;
	/* Linux refuses pages_to_scan while the advisor sets it. */
	if (attr->arg == KF_PAGES_TO_SCAN && READ_ONCE(m->ksm_knobs.advisor_mode))
		return -EINVAL;
	WRITE_ONCE(*ksm_knob(m, attr->arg), v);
	if (attr->arg == KF_SLEEP)
		wakeup_ksmd(m);
	return (ssize_t)count;
}

/* use_zero_pages, smart_scan, merge_across_nodes: a boolean (kstrtobool: 0/1/y/n ...). */
static ssize_t bool_store(struct mml_machine *m, const struct kobj_attribute *attr, const char *buf, size_t count)
{
	unsigned int v;
	int err;

	if (buf[0] == 'y' || buf[0] == 'Y')
		v = 1;
	else if (buf[0] == 'n' || buf[0] == 'N')
		v = 0;
	else if (kstrtouint(buf, 10, &v) || v > 1)
		return -EINVAL;
	if (attr->arg == KF_MERGE_ACROSS_NODES) {
		/* Only while nothing is merged (Linux: remove_all_stable_nodes, else -EBUSY). */
		err = ksm_knob_store_quiet(m, ksm_knob(m, attr->arg), v, true);
		return err ? err : (ssize_t)count;
	}
	WRITE_ONCE(*ksm_knob(m, attr->arg), v);
	return (ssize_t)count;
}

/* max_page_sharing: at least 2, changed only with nothing merged. */
static ssize_t max_page_sharing_store(struct mml_machine *m, const struct kobj_attribute *attr,
				      const char *buf, size_t count)
{
	unsigned int v;
	int err;

	if (kstrtouint(buf, 10, &v) || v < 2 || v > 0x7fffffff)
		return -EINVAL;
	err = ksm_knob_store_quiet(m, &m->ksm_knobs.max_page_sharing, v, true);
	return err ? err : (ssize_t)count;
}

static ssize_t run_show(struct mml_machine *m, const struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(m->ksm_knobs.run));
}

static ssize_t run_store(struct mml_machine *m, const struct kobj_attribute *attr, const char *buf, size_t count)
{
	unsigned int v;
	int err;

	if (kstrtouint(buf, 10, &v) || v > KSM_RUN_UNMERGE)
		return -EINVAL;
	err = ksm_run_store(m, v);
	return err ? err : (ssize_t)count;
}

static ssize_t advisor_mode_show(struct mml_machine *m, const struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, READ_ONCE(m->ksm_knobs.advisor_mode) ? "none [scan-time]\n" : "[none] scan-time\n");
}

static ssize_t advisor_mode_store(struct mml_machine *m, const struct kobj_attribute *attr, const char *buf,
				  size_t count)
{
	if (sysfs_streq(buf, "none"))
		WRITE_ONCE(m->ksm_knobs.advisor_mode, 0);
	else if (sysfs_streq(buf, "scan-time"))
		WRITE_ONCE(m->ksm_knobs.advisor_mode, 1);
	else
		return -EINVAL;
	return (ssize_t)count;
}

static const struct kobj_attribute ksm_attrs[] = {
	{ "run", 0644, run_show, run_store, 0 },
	{ "pages_to_scan", 0644, knob_show, knob_store, KF_PAGES_TO_SCAN },
	{ "sleep_millisecs", 0644, knob_show, knob_store, KF_SLEEP },
	{ "max_page_sharing", 0644, knob_show, max_page_sharing_store, KF_MAX_PAGE_SHARING },
	{ "merge_across_nodes", 0644, knob_show, bool_store, KF_MERGE_ACROSS_NODES },
	{ "use_zero_pages", 0644, knob_show, bool_store, KF_USE_ZERO_PAGES },
	{ "stable_node_chains_prune_millisecs", 0644, knob_show, knob_store, KF_PRUNE },
	{ "smart_scan", 0644, knob_show, bool_store, KF_SMART_SCAN },
	{ "advisor_mode", 0644, advisor_mode_show, advisor_mode_store, 0 },
	{ "advisor_max_cpu", 0644, knob_show, knob_store, KF_ADVISOR_MAX_CPU },
	{ "advisor_target_scan_time", 0644, knob_show, knob_store, KF_ADVISOR_TARGET },
	{ "advisor_min_pages_to_scan", 0644, knob_show, knob_store, KF_ADVISOR_MIN },
	{ "advisor_max_pages_to_scan", 0644, knob_show, knob_store, KF_ADVISOR_MAX },
	{ "pages_shared", 0444, counter_show, NULL, KF_PAGES_SHARED },
	{ "pages_sharing", 0444, counter_show, NULL, KF_PAGES_SHARING },
	{ "pages_unshared", 0444, counter_show, NULL, KF_PAGES_UNSHARED },
	{ "pages_volatile", 0444, counter_show, NULL, KF_PAGES_VOLATILE },
	{ "full_scans", 0444, counter_show, NULL, KF_FULL_SCANS },
	{ "ksm_zero_pages", 0444, counter_show, NULL, KF_ZERO_PAGES },
	{ "general_profit", 0444, counter_show, NULL, KF_GENERAL_PROFIT },
	{ "pages_scanned", 0444, counter_show, NULL, KF_PAGES_SCANNED },
	{ "pages_skipped", 0444, counter_show, NULL, KF_PAGES_SKIPPED },
	{ "stable_node_chains", 0444, counter_show, NULL, KF_CHAINS },
	{ "stable_node_dups", 0444, counter_show, NULL, KF_DUPS },
	{ NULL },
};

const struct attribute_group ksm_attr_group = {
	.dir = "/sys/kernel/mm/ksm",
	.attrs = ksm_attrs,
};

/* ---- /proc/PID/ksm_stat, /proc/PID/ksm_merging_pages ------------------------------------ */

static long ksm_process_profit(struct mm_struct *mm)
{
	return (atomic_long_read(&mm->ksm_merging_pages) + atomic_long_read(&mm->ksm_zero_pages)) * (long)PAGE_SIZE -
	       atomic_long_read(&mm->ksm_rmap_items) * (long)KSM_RMAP_ITEM_SIZE;
}

/* ksm_stat's fields in Linux 6.18's order (proc_pid_ksm_stat). */
static const char *const ksm_stat_fields[] = {
	"ksm_rmap_items", "ksm_zero_pages", "ksm_merging_pages", "ksm_process_profit", "ksm_merge_any",
	"ksm_mergeable", NULL,
};

/* ksm_process_mergeable(): some VMA of the process is VM_MERGEABLE now. */
static bool ksm_process_mergeable(struct mm_struct *mm)
{
	struct vm_area_struct *vma;
	bool any = false;

	down_read(&mm->mmap_lock);
	for_each_vma(mm, vma)
		if (vma->vm_flags & VM_MERGEABLE) {
			any = true;
			break;
		}
	up_read(&mm->mmap_lock);
	return any;
}

static long ksm_stat_field(struct mm_struct *mm, int i)
{
	switch (i) {
	case 0: return atomic_long_read(&mm->ksm_rmap_items);
	case 1: return atomic_long_read(&mm->ksm_zero_pages);
	case 2: return atomic_long_read(&mm->ksm_merging_pages);
	case 3: return ksm_process_profit(mm);
	case 4: return test_bit(MMF_VM_MERGE_ANY, &mm->flags);
	default: return ksm_process_mergeable(mm);
	}
}

long mml_ksm_stat(struct mml_task *t, const char *name)
{
	long v = -ENOENT;

	for (int i = 0; ksm_stat_fields[i]; i++)
		if (!strcmp(name, ksm_stat_fields[i])) {
			op_enter(t->machine, t);
			v = ksm_stat_field(t->mm, i);
			op_exit(t->machine, 0);
		}
	return v;
}

/* The two flags end with a colon and say yes or no, as Linux 6.18 prints them. */
int mml_show_ksm_stat(struct mml_task *t, FILE *out)
{
	op_enter(t->machine, t);
	for (int i = 0; ksm_stat_fields[i]; i++) {
		long v = ksm_stat_field(t->mm, i);

		if (i >= 4)
			fprintf(out, "%s: %s\n", ksm_stat_fields[i], v ? "yes" : "no");
		else
			fprintf(out, "%s %ld\n", ksm_stat_fields[i], v);
	}
	return (int)op_exit(t->machine, 0);
}
