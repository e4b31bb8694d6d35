/*
 * util.c - the commit accounting behind overcommit (Linux's mm/util.c):
 * vm_committed_as, what every VM_ACCOUNT mapping and every shared
 * anonymous mapping has promised, and __vm_enough_memory(), which lets a
 * new promise through as /proc/sys/vm/overcommit_memory says:
 *
 *   0 (guess)   refuse only a single request larger than RAM + swap
 *   1 (always)  never refuse
 *   2 (never)   refuse once the total would pass CommitLimit: swap plus
 *               overcommit_kbytes, or overcommit_ratio percent of RAM,
 *               less admin_reserve_kbytes (mmlab's processes are never
 *               privileged) and less the smaller of user_reserve_kbytes
 *               and a 32nd of the asking process's size
 *
 * Committed_AS and CommitLimit in meminfo read the same numbers.  Who
 * charges: mmap of private writable memory (VM_ACCOUNT, unless
 * MAP_NORESERVE outside mode 2), mprotect making a private mapping
 * writable, mremap growing or duplicating one (MREMAP_DONTUNMAP), fork
 * copying one, a MAP_SHARED|MAP_ANONYMOUS mapping for its shmem file;
 * munmap, exit and the file's eviction give it back.
 */
#include "fs/sysfs.h"
#include "mm/internal.h"

void vm_acct_memory(struct mml_machine *m, long pages)
{
	atomic_long_add(pages, &m->vm_committed_as);
}

void vm_unacct_memory(struct mml_machine *m, long pages)
{
	atomic_long_add(-pages, &m->vm_committed_as);
}

/* vm_commit_limit(): CommitLimit, in pages. */
unsigned long vm_commit_limit(struct mml_machine *m)
{
	unsigned long kbytes = READ_ONCE(m->overcommit_kbytes), allowed;

	if (kbytes)
		allowed = kbytes >> (PAGE_SHIFT - 10);
	else
		allowed = totalram_pages(m) * (unsigned long)READ_ONCE(m->overcommit_ratio) / 100;
	return allowed + (unsigned long)READ_ONCE(m->total_swap_pages);
}

/* The pages mm maps (mm->total_vm, which mmlab sums when asked); mmap_lock held. */
static unsigned long mm_total_vm(struct mm_struct *mm)
{
	unsigned long pages = 0;

	for (unsigned long i = 0; i < mm->map_count; i++)
		pages += (mm->vmas[i]->vm_end - mm->vmas[i]->vm_start) >> PAGE_SHIFT;
	return pages;
}

/*
 * Models __vm_enough_memory() for an unprivileged process: the pages are
 * charged, and 0; or -ENOMEM with nothing charged.  mm may be NULL (a
 * charge no process's size bears on).
 */
int __vm_enough_memory(struct mml_machine *m, struct mm_struct *mm, long pages)
{
	long allowed;

	vm_acct_memory(m, pages);
	switch (READ_ONCE(m->overcommit_memory)) {
	case OVERCOMMIT_ALWAYS:
		return 0;
	case OVERCOMMIT_GUESS:
		if ((unsigned long)pages <= totalram_pages(m) + (unsigned long)READ_ONCE(m->total_swap_pages))
			return 0;
		break;
	default:
		allowed = (long)vm_commit_limit(m) - (long)(READ_ONCE(m->admin_reserve_kbytes) >> (PAGE_SHIFT - 10));
		if (mm)
			allowed -= (long)min(mm_total_vm(mm) / 32, READ_ONCE(m->user_reserve_kbytes) >> (PAGE_SHIFT - 10));
		if (atomic_long_read(&m->vm_committed_as) < allowed)
			return 0;
		break;
	}
	vm_unacct_memory(m, pages);
	return -ENOMEM;
}

/*
 * init_user_reserve() and init_admin_reserve(): a 32nd of free memory,
 * at most 128 MiB and 8 MiB; overcommit_ratio 50, the guessing policy.
 */
void overcommit_init(struct mml_machine *m)
{
	unsigned long free_kbytes = nr_free_pages(m) << (PAGE_SHIFT - 10);

	m->overcommit_memory = OVERCOMMIT_GUESS;
	m->overcommit_ratio = 50;
	m->overcommit_kbytes = 0;
	m->user_reserve_kbytes = min(free_kbytes / 32, 1UL << 17);
	m->admin_reserve_kbytes = min(free_kbytes / 32, 1UL << 13);
	atomic_long_set(&m->vm_committed_as, 0);
}

/* ---- /proc/sys/vm: overcommit_memory, overcommit_ratio, overcommit_kbytes, the reserves ---- */

static ssize_t overcommit_show(struct mml_machine *m, const struct kobj_attribute *attr, char *buf)
{
	switch (attr->arg) {
	case 0:
		return sysfs_emit(buf, "%d\n", READ_ONCE(m->overcommit_memory));
	case 1:
		return sysfs_emit(buf, "%d\n", READ_ONCE(m->overcommit_ratio));
	case 2:
		return sysfs_emit(buf, "%lu\n", READ_ONCE(m->overcommit_kbytes));
	case 3:
		return sysfs_emit(buf, "%lu\n", READ_ONCE(m->admin_reserve_kbytes));
	default:
		return sysfs_emit(buf, "%lu\n", READ_ONCE(m->user_reserve_kbytes));
	}
}

/*
 * overcommit_policy_handler() (0..2), overcommit_ratio_handler() and
 * overcommit_kbytes_handler() (each setting the other to 0, so that one
 * of them says what CommitLimit is), and the reserves (proc_doulongvec).
 */
static ssize_t overcommit_store(struct mml_machine *m, const struct kobj_attribute *attr,
				const char *buf, size_t count)
{
	unsigned long ul;
	int v;

	if (attr->arg <= 1) {
		if (proc_dointvec_value(buf, count, &v) || (attr->arg == 0 && (v < 0 || v > 2)))
			return -EINVAL;
		if (attr->arg == 0) {
			WRITE_ONCE(m->overcommit_memory, v);
		} else {
			WRITE_ONCE(m->overcommit_ratio, v);
			WRITE_ONCE(m->overcommit_kbytes, 0);
		}
		return (ssize_t)count;
	}
	if (proc_doulongvec_value(buf, count, &ul))
		return -EINVAL;
	if (attr->arg == 2) {
		WRITE_ONCE(m->overcommit_kbytes, ul);
		WRITE_ONCE(m->overcommit_ratio, 0);
	} else if (attr->arg == 3) {
		WRITE_ONCE(m->admin_reserve_kbytes, ul);
	} else {
		WRITE_ONCE(m->user_reserve_kbytes, ul);
	}
	return (ssize_t)count;
}

static const struct kobj_attribute overcommit_sysctl_attrs[] = {
	{ "overcommit_memory", 0644, overcommit_show, overcommit_store, 0 },
	{ "overcommit_ratio", 0644, overcommit_show, overcommit_store, 1 },
	{ "overcommit_kbytes", 0644, overcommit_show, overcommit_store, 2 },
	{ "admin_reserve_kbytes", 0644, overcommit_show, overcommit_store, 3 },
	{ "user_reserve_kbytes", 0644, overcommit_show, overcommit_store, 4 },
	{ NULL },
};

const struct attribute_group overcommit_sysctl_group = {
	.dir = "/proc/sys/vm",
	.attrs = overcommit_sysctl_attrs,
};
