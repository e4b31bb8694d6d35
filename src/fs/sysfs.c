/*
 * sysfs.c - the machine's tunable files by path (Linux's kernfs lookup
 * under sysfs, proc_sysctl.c under /proc/sys, and debugfs), the helpers
 * their show and store functions share (lib/vsprintf.c's sysfs_emit,
 * lib/string.c's sysfs_streq, lib/kstrtox.c), and the file systems' own
 * /proc/sys/vm entry, drop_caches (fs/drop_caches.c).
 *
 * The attributes themselves live beside the state they show (fs/sysfs.h
 * lists the groups).  A path is looked up exactly: a group's directory,
 * '/', an attribute's name; no "..", no doubled slashes, no directories
 * read as files.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fs/sysfs.h"
#include "fs/vfs.h"
#include "mm/mm.h"

/* ---- helpers ------------------------------------------------------------------------------ */

int sysfs_emit(char *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, SYSFS_BUF_SIZE, fmt, ap);
	va_end(ap);
	if (n < 0)
		return 0;
	return n >= SYSFS_BUF_SIZE ? SYSFS_BUF_SIZE - 1 : n;
}

bool sysfs_streq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	if (*a == *b)
		return true;
	if (*a == '\n' && !a[1] && !*b)
		return true;
	return *b == '\n' && !b[1] && !*a;
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

/*
 * _kstrtoull(): the digits, then at most one newline and nothing else.
 * Base 0 reads "0x" as hex and a leading 0 as octal; base 16 skips a
 * "0x" prefix too, as Linux's _parse_integer_fixup_radix does.
 */
static int kstrtoull(const char *s, unsigned int base, unsigned long long *res)
{
	unsigned long long v = 0;
	int any = 0;

	if (*s == '+')
		s++;
	if ((base == 0 || base == 16) && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') &&
	    digit_value(s[2]) < 16) {
		base = 16;
		s += 2;
	} else if (base == 0) {
		base = s[0] == '0' ? 8 : 10;
	}
	for (; *s; s++, any++) {
		int d = digit_value(*s);

		if (d >= (int)base)
			break;
		if (v > (~0ULL - (unsigned)d) / base)
			return -ERANGE;
		v = v * base + (unsigned)d;
	}
	if (!any)
		return -EINVAL;
	if (*s == '\n')
		s++;
	if (*s)
		return -EINVAL;
	*res = v;
	return 0;
}

int kstrtoul(const char *s, unsigned int base, unsigned long *res)
{
	unsigned long long v;
	int ret = kstrtoull(s, base, &v);

	if (ret)
		return ret;
	if (v != (unsigned long)v)
		return -ERANGE;
	*res = (unsigned long)v;
	return 0;
}

int kstrtouint(const char *s, unsigned int base, unsigned int *res)
{
	unsigned long long v;
	int ret = kstrtoull(s, base, &v);

	if (ret)
		return ret;
	if (v > 0xffffffffULL)
		return -ERANGE;
	*res = (unsigned int)v;
	return 0;
}

int kstrtoint(const char *s, unsigned int base, int *res)
{
	unsigned long long v;
	bool neg = *s == '-';
	int ret = kstrtoull(s + neg, base, &v);

	if (ret)
		return ret;
	if (neg ? v > 0x80000000ULL : v > 0x7fffffffULL)
		return -ERANGE;
	*res = neg ? (int)(0 - v) : (int)v;
	return 0;
}

/* The number of a /proc/sys write, blanks around it cut away, into num: 0 or -EINVAL. */
static int proc_number(const char *buf, size_t count, char *num, size_t size)
{
	size_t a = 0, b = count;

	while (a < b && (buf[a] == ' ' || buf[a] == '\t' || buf[a] == '\n'))
		a++;
	while (b > a && (buf[b - 1] == ' ' || buf[b - 1] == '\t' || buf[b - 1] == '\n'))
		b--;
	if (a == b || b - a >= size)
		return -EINVAL;
	memcpy(num, buf + a, b - a);
	num[b - a] = '\0';
	return 0;
}

int proc_dointvec_value(const char *buf, size_t count, int *value)
{
	char num[32];

	if (proc_number(buf, count, num, sizeof(num)))
		return -EINVAL;
	return kstrtoint(num, 10, value) ? -EINVAL : 0;
}

int proc_doulongvec_value(const char *buf, size_t count, unsigned long *value)
{
	char num[32];

	if (proc_number(buf, count, num, sizeof(num)))
		return -EINVAL;
	return kstrtoul(num, 10, value) ? -EINVAL : 0;
}

/* ---- /proc/sys/vm/drop_caches ------------------------------------------------------------- */

/*
 * drop_caches_sysctl_handler(): proc_dointvec_minmax between 1 and 4
 * (blanks around the number allowed), then bit 1 drops the clean page
 * cache and bit 2 runs the shrinkers (drop_slab: mmlab's one is the
 * deferred split queue's); 4 alone only silences the kernel's log line.
 */
static ssize_t drop_caches_store(struct mml_machine *m, const struct kobj_attribute *attr,
				 const char *buf, size_t count)
{
	int mode;

	if (proc_dointvec_value(buf, count, &mode) || mode < 1 || mode > 4)
		return -EINVAL;
	if (mode & 1)
		drop_pagecache(m);
	if (mode & 2)
		drop_slab(m);
	return (ssize_t)count;
}

static const struct kobj_attribute vm_fs_sysctl_attrs[] = {
	{ "drop_caches", 0200, NULL, drop_caches_store, 0 },
	{ NULL },
};

static const struct attribute_group vm_fs_sysctl_group = {
	.dir = "/proc/sys/vm",
	.attrs = vm_fs_sysctl_attrs,
};

/* ---- the lookup --------------------------------------------------------------------------- */

static const struct attribute_group *const sys_groups[] = {
	&hugepage_attr_group,
	&thpsize_attr_group,
	&khugepaged_attr_group,
	&thp_debugfs_group,
	&vm_mm_sysctl_group,
	&vm_fs_sysctl_group,
	&node_attr_group,
	&compaction_sysctl_group,
	&overcommit_sysctl_group,
	&ksm_attr_group,
	NULL,
};

static const struct kobj_attribute *sys_lookup(const char *path)
{
	for (int g = 0; sys_groups[g]; g++) {
		const struct attribute_group *grp = sys_groups[g];
		size_t n = strlen(grp->dir);

		if (strncmp(path, grp->dir, n) || path[n] != '/')
			continue;
		for (const struct kobj_attribute *a = grp->attrs; a->name; a++)
			if (!strcmp(path + n + 1, a->name))
				return a;
	}
	return NULL;
}

/*
 * What a root write(2) of the file would do: the store sees at most a
 * page (kernfs copies no more), NUL-terminated; a write of nothing
 * changes nothing.
 */
int mml_sys_write(struct mml_machine *m, const char *path, const char *value)
{
	const struct kobj_attribute *attr;
	char buf[SYSFS_BUF_SIZE];
	size_t count;
	ssize_t ret;

	if (!path || !value)
		return -EFAULT;
	attr = sys_lookup(path);
	if (!attr)
		return -ENOENT;
	if (!attr->store || !(attr->mode & 0222))
		return -EACCES;
	count = strnlen(value, sizeof(buf) - 1);
	if (!count)
		return 0;
	memcpy(buf, value, count);
	buf[count] = '\0';
	op_enter(m, NULL);
	ret = attr->store(m, attr, buf, count);
	return (int)op_exit(m, ret < 0 ? ret : 0);
}

long mml_sys_read(struct mml_machine *m, const char *path, char *buf, uint64_t len)
{
	const struct kobj_attribute *attr;
	char page[SYSFS_BUF_SIZE];
	ssize_t n;

	if (!path || (!buf && len))
		return -EFAULT;
	attr = sys_lookup(path);
	if (!attr)
		return -ENOENT;
	if (!attr->show || !(attr->mode & 0444))
		return -EACCES;
	op_enter(m, NULL);
	n = attr->show(m, attr, page);
	n = op_exit(m, n);
	if (n < 0)
		return n;
	if ((uint64_t)n > len)
		n = (ssize_t)len;
	memcpy(buf, page, (size_t)n);
	if ((uint64_t)n < len)
		buf[n] = '\0';
	return n;
}
