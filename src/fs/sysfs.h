/*
 * sysfs.h - the machine's tunable files: sysfs, procfs's /proc/sys and
 * debugfs, as far as mmlab has knobs (fs/sysfs.c looks paths up and
 * calls the attribute's show or store; the attributes live beside the
 * state they show, as Linux keeps them beside their mechanism).
 *
 * The contract, for whoever adds an attribute:
 *   - An attribute is Linux's struct kobj_attribute reduced to what a
 *     file needs: its name under its group's directory, its mode, and
 *     show/store.  mode 0444 has no store, 0200 no show; the lookup
 *     answers -EACCES for the missing direction, as a root open(2) of
 *     /proc/sys and debugfs files without that mode bit does.
 *   - show(m, attr, buf) prints the whole file into buf (SYSFS_BUF_SIZE
 *     bytes, one page as in Linux) with sysfs_emit and returns its
 *     length, or -errno.
 *   - store(m, attr, buf, count) gets the bytes written, NUL-terminated,
 *     count of them; it returns count on success or -errno (-EINVAL for a
 *     value it refuses), as Linux's stores do.  A store that changes
 *     state the core reads uses the sync layer's atomics (WRITE_ONCE,
 *     set_bit ...): the knobs are read without locks.
 *   - show and store run inside an operation (op_enter), so the checker
 *     never sees a store half done, and may call the core's internal
 *     functions as any operation does.
 *   - arg is the attribute's private datum (the order of a
 *     hugepages-<size>kB directory: Linux's to_thpsize(kobj)->order).
 */
#ifndef MML_FS_SYSFS_H
#define MML_FS_SYSFS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct mml_machine;

#define SYSFS_BUF_SIZE	4096

struct kobj_attribute {
	const char *name;	/* below the group's directory; NULL ends a table */
	unsigned int mode;	/* 0644, 0444 (read-only), 0200 (write-only) */
	ssize_t (*show)(struct mml_machine *m, const struct kobj_attribute *attr, char *buf);
	ssize_t (*store)(struct mml_machine *m, const struct kobj_attribute *attr,
			 const char *buf, size_t count);
	long arg;
};

/* One directory of attributes (Linux's struct attribute_group with its kobject's path). */
struct attribute_group {
	const char *dir;			/* "/sys/kernel/mm/transparent_hugepage" */
	const struct kobj_attribute *attrs;	/* ended by an entry without a name */
};

/*
 * The groups, each defined beside its state: transparent_hugepage and
 * its khugepaged and hugepages-<size>kB directories, the debugfs file
 * split_huge_pages, the core's /proc/sys/vm entries and the NUMA nodes'
 * /sys/devices/system/node (mm/mm_sysfs.c);
 * the file systems' /proc/sys/vm entries (fs/sysfs.c: drop_caches);
 * compaction's (mm/compaction.c: compact_memory).
 */
extern const struct attribute_group hugepage_attr_group, khugepaged_attr_group,
	thpsize_attr_group, thp_debugfs_group, vm_mm_sysctl_group, node_attr_group,
	compaction_sysctl_group, overcommit_sysctl_group, ksm_attr_group;

/* ---- helpers for show and store (Linux's sysfs_emit, sysfs_streq, kstrto*) ---- */

/* printf into a show buffer: the length written (at most SYSFS_BUF_SIZE - 1). */
int sysfs_emit(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Equal, a trailing newline on either side ignored (what `echo always >` writes). */
bool sysfs_streq(const char *a, const char *b);
/*
 * A whole number in base (10, or 0: 0x/0 prefixes), an optional leading
 * '+' and one trailing newline allowed, nothing else: 0, -EINVAL
 * (syntax) or -ERANGE (too big), as Linux's kstrtoul and kstrtouint.
 */
int kstrtoul(const char *s, unsigned int base, unsigned long *res);
int kstrtouint(const char *s, unsigned int base, unsigned int *res);
/* A signed one ('-' allowed), as kstrtoint. */
int kstrtoint(const char *s, unsigned int base, int *res);
/* One int as a /proc/sys file's proc_dointvec reads it, blanks around it allowed: 0 or -EINVAL. */
int proc_dointvec_value(const char *buf, size_t count, int *value);
/* One unsigned long, as proc_doulongvec_minmax reads it: 0 or -EINVAL. */
int proc_doulongvec_value(const char *buf, size_t count, unsigned long *value);

#endif /* MML_FS_SYSFS_H */
