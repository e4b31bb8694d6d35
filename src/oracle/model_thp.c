/*
 * model_thp.c - what the reference model knows of transparent huge pages
 * (model.h): the rules of MADV_COLLAPSE's result, and the tunable files,
 * their texts and which values their stores take.  No byte here: a THP,
 * a split or a collapse changes none.  Written from Linux 6.18's
 * documented behaviour (Documentation/admin-guide/mm/transhuge.rst and
 * the stores' parsing: sysfs_streq, kstrtoul); nothing of the
 * implementation is included.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "oracle/model_internal.h"

#define TH	"/sys/kernel/mm/transparent_hugepage/"

enum knob_kind {
	K_WORDS,	/* one of words[], shown "a [b] c" */
	K_FLAG,		/* 0 or 1 (single_hugepage_flag_store) */
	K_PTES,		/* khugepaged's max_ptes_*: 0..HPAGE_PMD_NR-1 */
	K_NONZERO,	/* pages_to_scan: an unsigned int but 0 */
	K_NONE,		/* no such file */
};

static const char *const enabled_words[] = { "always", "madvise", "never", NULL };
static const char *const defrag_words[] = { "always", "defer", "defer+madvise", "madvise", "never", NULL };
static const char *const size_words[] = { "always", "inherit", "madvise", "never", NULL };
static const char *const shmem_words[] = { "always", "within_size", "advise", "never", "deny", "force", NULL };

static const struct knob {
	const char *path;
	enum knob_kind kind;
	const char *const *words;
	unsigned def;		/* Linux's default with CONFIG_TRANSPARENT_HUGEPAGE_MADVISE: a word's index, or the value */
} knobs[] = {
	{ TH "enabled", K_WORDS, enabled_words, 1 },
	{ TH "defrag", K_WORDS, defrag_words, 3 },
	{ TH "use_zero_page", K_FLAG, NULL, 1 },
	{ TH "khugepaged/defrag", K_FLAG, NULL, 1 },
	{ TH "khugepaged/max_ptes_none", K_PTES, NULL, 511 },
	{ TH "khugepaged/max_ptes_swap", K_PTES, NULL, 64 },
	{ TH "khugepaged/max_ptes_shared", K_PTES, NULL, 256 },
	{ TH "khugepaged/pages_to_scan", K_NONZERO, NULL, 4096 },
	/* the PMD size inherits the top-level knob; the mTHP sizes start off */
	{ TH "hugepages-2048kB/enabled", K_WORDS, size_words, 1 },
	{ TH "hugepages-64kB/enabled", K_WORDS, size_words, 3 },
	{ TH "hugepages-16kB/enabled", K_WORDS, size_words, 3 },
	{ TH "hugepages-128kB/enabled", K_WORDS, size_words, 3 },
	{ TH "shmem_enabled", K_WORDS, shmem_words, 3 },
	{ TH "khugepaged/max_ptes_all", K_NONE, NULL, 0 },
};

_Static_assert(sizeof(knobs) / sizeof(knobs[0]) <= MODEL_THP_KNOBS, "room for every knob's state");
_Static_assert(MODEL_SHMEM_ENABLED_KNOB < sizeof(knobs) / sizeof(knobs[0]), "shmem_enabled's index");


int model_thp_knobs(void)
{
	return (int)(sizeof(knobs) / sizeof(knobs[0]));
}

const char *model_thp_knob_path(int knob)
{
	return knob >= 0 && knob < model_thp_knobs() ? knobs[knob].path : NULL;
}

/* sysfs_streq(): equal, but for one newline at the end of either. */
static bool streq_nl(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);

	if (na && a[na - 1] == '\n')
		na--;
	if (nb && b[nb - 1] == '\n')
		nb--;
	return na == nb && !memcmp(a, b, na);
}

/*
 * kstrtoul(s, 10): an optional '+', decimal digits, at most one newline
 * and nothing after it; -EINVAL otherwise, -ERANGE past ULONG_MAX.
 */
static int parse_ulong(const char *s, unsigned long *v)
{
	unsigned long x = 0;
	const char *d;

	if (*s == '+')
		s++;
	for (d = s; *d >= '0' && *d <= '9'; d++) {
		if (x > (ULONG_MAX - (unsigned long)(*d - '0')) / 10)
			return -ERANGE;
		x = x * 10 + (unsigned long)(*d - '0');
	}
	if (d == s || (*d == '\n' ? d[1] != '\0' : *d != '\0'))
		return -EINVAL;
	*v = x;
	return 0;
}

static unsigned knob_value(const struct model *md, int knob)
{
	return md->thp_knob_set[knob] ? md->thp_knob[knob] : knobs[knob].def;
}

int model_sys_write(struct model *md, int knob, const char *value)
{
	const struct knob *k;
	unsigned long v;
	int r;

	if (knob < 0 || knob >= model_thp_knobs() || knobs[knob].kind == K_NONE)
		return -ENOENT;
	k = &knobs[knob];
	/* An empty write reaches no store: nothing changes (a write(2) of 0 bytes). */
	if (!*value)
		return 0;
	switch (k->kind) {
	case K_WORDS:
		for (v = 0; k->words[v]; v++)
			if (streq_nl(value, k->words[v]))
				break;
		if (!k->words[v])
			return -EINVAL;
		break;
	case K_FLAG:
		/* single_hugepage_flag_store passes kstrtoul's own error on */
		if ((r = parse_ulong(value, &v)))
			return r;
		if (v > 1)
			return -EINVAL;
		break;
	case K_PTES:
		if (parse_ulong(value, &v) || v > 511)
			return -EINVAL;
		break;
	default:
		/* kstrtouint: no more than an unsigned int; pages_to_scan refuses 0 */
		if (parse_ulong(value, &v) || v > UINT_MAX || !v)
			return -EINVAL;
		break;
	}
	md->thp_knob[knob] = (unsigned)v;
	md->thp_knob_set[knob] = true;
	return 0;
}

bool model_sys_text(const struct model *md, int knob, char *buf, size_t n)
{
	const struct knob *k;
	size_t used = 0;
	unsigned v;

	if (knob < 0 || knob >= model_thp_knobs() || knobs[knob].kind == K_NONE || !n)
		return false;
	k = &knobs[knob];
	v = knob_value(md, knob);
	if (k->kind != K_WORDS) {
		snprintf(buf, n, "%u\n", v);
		return true;
	}
	buf[0] = '\0';
	for (unsigned i = 0; k->words[i] && used < n; i++)
		used += (size_t)snprintf(buf + used, n - used, i == v ? "%s[%s]" : "%s%s", i ? " " : "",
					 k->words[i]);
	if (used < n)
		snprintf(buf + used, n - used, "\n");
	return true;
}

/*
 * A page no THP may back: VM_NOHUGEPAGE; a file's or shared memory's
 * without shmem or file huge pages in the run (a shmem file's with
 * shmem_enabled "deny").  Whether a file's VMA may be collapsed at all
 * (its alignment, a read-only file nobody writes) is beyond the model:
 * such a page is never refused, and EINVAL stays allowed.
 */
static bool collapse_refused(const struct model *md, const struct mpage *pg)
{
	if (pg->flags & MP_NOHUGEPAGE)
		return true;
	if (!pg->file && !(pg->flags & MP_SHARED))
		return false;
	if (!md->shmem_huge)
		return true;
	/* shmem_enabled "deny" (index 4) refuses shmem, not a read-only disk file */
	return (!pg->file || page_file(md, pg)->fs != MFS_DISK) && knob_value(md, MODEL_SHMEM_ENABLED_KNOB) == 4;
}

int model_madvise_collapse(struct model *md, int task, uint64_t addr, uint64_t len, long got, int *out, int *nout)
{
	/* EBUSY too in Linux, for a memcg charge or uffd-armed none ptes: neither is in mmlab */
	static const int errs[] = { EINVAL, ENOMEM, EAGAIN };
	struct mproc *p = task_proc(md, task);
	const struct mpage *first = NULL;
	bool hole = false, refused = false;
	uint64_t end;
	int exact = 0;

	*nout = 0;
	if (!p)
		exact = -ESRCH;
	/* madvise's own checks, in its order */
	else if ((addr & (MODEL_PAGE - 1)) || (len && len + MODEL_PAGE - 1 < len))
		exact = -EINVAL;
	if (!p || exact)
		goto exact;
	len = (len + MODEL_PAGE - 1) & ~(MODEL_PAGE - 1);
	end = addr + len;
	if (end < addr) {
		exact = -EINVAL;
		goto exact;
	}
	for (uint64_t a = addr; a < end; a += MODEL_PAGE) {
		const struct mpage *pg = find_page(p, a);

		if (!pg) {
			hole = true;
			continue;
		}
		if (!first)
			first = pg;
		/* A guard marker fails the collapse's swap-in (SCAN_FAIL): never a success. */
		refused |= collapse_refused(md, pg) || (pg->flags & MP_GUARD);
	}
	if (end == addr)
		exact = 0;
	else if (!first)
		exact = -ENOMEM;	/* nothing mapped: madvise's walk finds no VMA */
	else if (collapse_refused(md, first) && (first->flags & MP_NOHUGEPAGE || !md->shmem_huge))
		exact = -EINVAL;	/* the first VMA may have no THP: thp_vma_allowable_order says so first */
	else
		goto open;
exact:
	out[(*nout)++] = -exact;
	return exact;
open:
	/* Success only if every VMA collapsed and none was missing; any of collapse's errors else. */
	if (!hole && !refused)
		out[(*nout)++] = 0;
	for (unsigned i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
		out[(*nout)++] = errs[i];
	for (int i = 0; i < *nout; i++)
		if (got == -out[i])
			return (int)got;
	return hole ? -ENOMEM : -EINVAL;
}
