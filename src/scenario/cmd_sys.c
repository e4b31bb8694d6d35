/*
 * cmd_sys.c - the machine's tunable files and what /proc says of a frame:
 * sys, split_huge_pages; expect sys, expect kpageflags.
 *
 * A path is the Linux one (/sys/kernel/mm/transparent_hugepage/enabled,
 * /proc/sys/vm/drop_caches), read and written as text (mml_sys_read,
 * mml_sys_write).  On the host a conformance run writes the real file,
 * and puts every file it wrote back as it was when the scenario ends
 * (native/hostsys.c): the knobs are the whole host's.
 */
#include <stdlib.h>
#include <string.h>

#include "native/observe.h"
#include "scenario/command.h"

#define SPLIT_HUGE_PAGES	"/sys/kernel/debug/split_huge_pages"

/* ---- the pieces ---- */

/*
 * A path or a value: a word or a string, without NUL bytes, at most a
 * page (what a sysfs store sees).  into: op->name or op->sys_value.
 */
static int parse_text(struct scn_parser *p, char **into, const char *what)
{
	struct scn_tok *t = scn_need(p, what);
	const char *s;
	size_t n;

	if (!t)
		return -1;
	s = t->type == SCN_TOK_STRING ? t->str : t->s;
	n = t->type == SCN_TOK_STRING ? t->strn : t->n;
	if (memchr(s, '\0', n))
		return scn_perr(p, t->col, "%s cannot hold a NUL byte", what);
	if (n > 4095)
		return scn_perr(p, t->col, "%s is at most 4095 bytes", what);
	*into = strndup(s, n);
	if (!*into)
		return scn_perr(p, t->col, "out of memory");
	return 0;
}

static int parse_path(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t = scn_peek(p);

	if (parse_text(p, &op->name, "path (/sys/kernel/mm/transparent_hugepage/enabled)") < 0)
		return -1;
	if (op->name[0] != '/')
		return scn_perr(p, t->col, "expected an absolute path, got '%.40s'", op->name);
	return 0;
}

/* As a word when it would lex back to one, else as a string. */
static void print_text(const struct scn_printer *pr, const char *s)
{
	size_t n = strlen(s);
	bool word = n > 0 && s[0] != '=';

	for (size_t i = 0; word && i < n; i++)
		word = s[i] > ' ' && s[i] < 0x7f && s[i] != '"' && s[i] != '#';
	if (word)
		fprintf(pr->f, " %s", s);
	else
		scn_print_string(pr, s, n);
}

/* The text without the blanks and newlines around it, in place. */
static char *trim(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n'))
		s[--n] = '\0';
	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	return s;
}

/* ---- sys ---- */

/* sys SYSPATH TEXT */
static int st_sys(struct scn_parser *p, struct scn_op *op)
{
	if (parse_path(p, op) < 0 || parse_text(p, &op->sys_value, "value (always, \"64\")") < 0)
		return -1;
	return scn_parse_result(p, op, true);
}

static int run_sys(struct scn_runner *r, const struct scn_op *op)
{
	return scn_check_result(r, mml_sys_write(r->m, op->name, op->sys_value));
}

/* A knob changes what every later statement does: a skip loses the state. */
static void obs_sys(struct cf_walk *w)
{
	int r = w->b->sys_write(w->b, w->op->name, w->op->sys_value);

	if (!cf_refused(w, r, true))
		cf_note_result(w, r);
}

static void pr_sys(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "sys");
	print_text(pr, op->name);
	print_text(pr, op->sys_value);
}

/* ---- expect sys ---- */

/* expect sys SYSPATH ( TEXT | result ) */
static int ex_sys(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	if (parse_path(p, op) < 0)
		return -1;
	t = scn_peek(p);
	if (!t)
		return scn_perr(p, p->lx.end_col, "missing the file's text (a word or a string), "
				"or \"=> ERRNO\"");
	if (t->type == SCN_TOK_WORD && scn_tok_is(t, "=>"))
		return scn_parse_result(p, op, true);
	if (parse_text(p, &op->sys_value, "the file's text") < 0)
		return -1;
	return scn_end_of_line(p);
}

static int run_expect_sys(struct scn_runner *r, const struct scn_op *op)
{
	char buf[4096], want[4096], *got;
	long n = mml_sys_read(r->m, op->name, buf, sizeof(buf) - 1);

	if (!op->sys_value)
		return scn_check_result(r, n);
	if (n < 0)
		return scn_fail(r, "expected %s to read \"%s\", got %s", op->name, op->sys_value,
				scn_errno_name((int)-n));
	buf[n] = '\0';
	got = trim(buf);
	snprintf(want, sizeof(want), "%s", op->sys_value);
	if (!strcmp(got, trim(want)))
		return SCN_PASS;
	return scn_fail(r, "expected %s to read \"%s\", got \"%s\"", op->name, trim(want), got);
}

static void obs_expect_sys(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	char buf[4096], want[4096], *got;
	long r = w->b->sys_read(w->b, op->name, buf, sizeof(buf));

	if (cf_refused(w, r, false))
		return;
	if (r < 0 || !op->sys_value)
		return cf_note_result(w, r);
	got = trim(buf);
	snprintf(want, sizeof(want), "%s", op->sys_value);
	cf_note(w, CF_SEEN, !strcmp(got, trim(want)), NULL, "\"%s\"", got);
}

static void pr_expect_sys(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "expect sys");
	print_text(pr, op->name);
	if (op->sys_value)
		print_text(pr, op->sys_value);
}

/* ---- expect kpageflags ---- */

/* The stable KPF_* bits by the names page-types(8) gives them, in lower case. */
static const char *const kpf_names[] = {
	[MML_KPF_LOCKED] = "locked", [MML_KPF_ERROR] = "error",
	[MML_KPF_REFERENCED] = "referenced", [MML_KPF_UPTODATE] = "uptodate",
	[MML_KPF_DIRTY] = "dirty", [MML_KPF_LRU] = "lru", [MML_KPF_ACTIVE] = "active",
	[MML_KPF_SLAB] = "slab", [MML_KPF_WRITEBACK] = "writeback",
	[MML_KPF_RECLAIM] = "reclaim", [MML_KPF_BUDDY] = "buddy", [MML_KPF_MMAP] = "mmap",
	[MML_KPF_ANON] = "anon", [MML_KPF_SWAPCACHE] = "swapcache",
	[MML_KPF_SWAPBACKED] = "swapbacked", [MML_KPF_COMPOUND_HEAD] = "compound_head",
	[MML_KPF_COMPOUND_TAIL] = "compound_tail", [MML_KPF_HUGE] = "huge",
	[MML_KPF_UNEVICTABLE] = "unevictable", [MML_KPF_HWPOISON] = "hwpoison",
	[MML_KPF_NOPAGE] = "nopage", [MML_KPF_KSM] = "ksm", [MML_KPF_THP] = "thp",
	[MML_KPF_OFFLINE] = "offline", [MML_KPF_ZERO_PAGE] = "zero_page",
	[MML_KPF_IDLE] = "idle", [MML_KPF_PGTABLE] = "pgtable",
};
#define NR_KPF_NAMES	(int)(sizeof(kpf_names) / sizeof(kpf_names[0]))

/* "thp compound_head !zero_page": the bits of set, then those of clear after '!' */
static void kpf_str(uint64_t set, uint64_t clear, char *buf, size_t n)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int neg = 0; neg < 2; neg++)
		for (int b = 0; b < NR_KPF_NAMES; b++)
			if (((neg ? clear : set) >> b) & 1)
				used += (size_t)snprintf(buf + used, used < n ? n - used : 0, "%s%s%s",
							 used ? " " : "", neg ? "!" : "", kpf_names[b]);
	if (!used)
		snprintf(buf, n, "none");
}

/* expect kpageflags A ADDR FLAG... */
static int ex_kpageflags(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	if (scn_parse_task(p, &op->task) < 0 || scn_parse_addr(p, &op->addr) < 0)
		return -1;
	if (!scn_peek(p))
		return scn_perr(p, p->lx.end_col, "missing kpageflags (thp, compound_head, "
				"compound_tail, anon, zero_page, lru, ..., or one after '!')");
	while ((t = scn_peek(p))) {
		size_t neg = t->type == SCN_TOK_WORD && t->n && t->s[0] == '!';
		int bit = -1;

		for (int b = 0; t->type == SCN_TOK_WORD && b < NR_KPF_NAMES; b++)
			if (t->n - neg == strlen(kpf_names[b]) && !memcmp(t->s + neg, kpf_names[b], t->n - neg))
				bit = b;
		if (bit < 0)
			return scn_perr(p, t->col, "unknown kpageflags bit; expected a KPF name in lower "
					"case (thp, compound_head, compound_tail, anon, zero_page, lru, "
					"mmap, buddy, pgtable, ...), or one after '!'");
		if (((neg ? op->pm_set : op->pm_clear) >> bit) & 1)
			return scn_perr(p, t->col, "contradictory kpageflags bits");
		if (neg)
			op->pm_clear |= 1ULL << bit;
		else
			op->pm_set |= 1ULL << bit;
		p->i++;
	}
	return 0;
}

static int run_expect_kpageflags(struct scn_runner *r, const struct scn_op *op)
{
	char w[160], want[256], got[512];
	uint64_t pfn, f;
	int ret;

	if (scn_frame_at(r, op->task, &op->addr, &pfn))
		return SCN_FAIL;
	ret = mml_kpageflags(r->m, pfn, &f);
	if (ret)
		return scn_fail(r, "expect kpageflags: %s", scn_errno_name(-ret));
	if ((f & op->pm_set) == op->pm_set && !(f & op->pm_clear))
		return SCN_PASS;
	kpf_str(op->pm_set, op->pm_clear, want, sizeof(want));
	kpf_str(f, 0, got, sizeof(got));
	return scn_fail(r, "expected kpageflags of %s: %s, got %s",
			scn_where(r, op->task, &op->addr, 0, w, sizeof(w)), want, got);
}

/* Only the bits the statement names are compared: the rest is the kernels' own. */
static void obs_expect_kpageflags(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	uint64_t e, f, mask = op->pm_set | op->pm_clear;
	char text[256];
	int r;

	if (cf_pagemap1(w, op->task, &op->addr, &e))
		return;
	if (!(e & MML_PM_PRESENT))
		return cf_note(w, CF_SEEN, false, NULL, "not present");
	r = w->b->kpageflags(w->b, e & MML_PM_PFRAME_MASK, &f);
	if (cf_refused(w, r, false))
		return;
	if (r < 0)
		return cf_note(w, CF_SEEN, false, NULL, "kpageflags: %s", cf_errname(r));
	kpf_str(f & mask, ~f & mask, text, sizeof(text));
	cf_note(w, CF_SEEN, (f & op->pm_set) == op->pm_set && !(f & op->pm_clear), NULL, "%s", text);
}

static void pr_expect_kpageflags(const struct scn_printer *pr, const struct scn_op *op)
{
	char bits[256];

	fprintf(pr->f, "expect kpageflags");
	scn_print_sym(pr, op->task);
	scn_print_addr(pr, &op->addr);
	kpf_str(op->pm_set, op->pm_clear, bits, sizeof(bits));
	fprintf(pr->f, " %s", bits);
}

/* ---- split_huge_pages ---- */

/* split_huge_pages A ADDR LEN */
static int st_split_huge_pages(struct scn_parser *p, struct scn_op *op)
{
	if (scn_parse_task(p, &op->task) < 0 || scn_parse_addr(p, &op->addr) < 0 ||
	    scn_parse_len(p, "length", &op->len) < 0)
		return -1;
	return scn_parse_result(p, op, true);
}

/* What a test writes to the debugfs file: "<pid>,0x<start>,0x<end>". */
static int run_split_huge_pages(struct scn_runner *r, const struct scn_op *op)
{
	struct mml_task *t = scn_task_of(r, op->task);
	uint64_t start = scn_addr_of(r, &op->addr);
	char buf[96];

	snprintf(buf, sizeof(buf), "%d,0x%llx,0x%llx", mml_task_pid(t), (unsigned long long)start,
		 (unsigned long long)(start + op->len));
	return scn_check_result(r, mml_sys_write(r->m, SPLIT_HUGE_PAGES, buf));
}

static void obs_split_huge_pages(struct cf_walk *w)
{
	uint64_t start = cf_addr_of(w, &w->op->addr);
	int r = w->b->split_huge_pages(w->b, cf_task_of(w, w->op->task), start, start + w->op->len);

	if (!cf_refused(w, r, true))
		cf_note_result(w, r);
}

static void pr_split_huge_pages(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "split_huge_pages");
	scn_print_sym(pr, op->task);
	scn_print_addr(pr, &op->addr);
	fprintf(pr->f, " %llu", (unsigned long long)op->len);
}

const struct scn_cmd scn_sys_cmds[] = {
	{ "sys", "SYSPATH TEXT [ result ]", SCN_OP_SYS, 0,
	  st_sys, run_sys, obs_sys, pr_sys },
	{ "split_huge_pages", "TASK ADDR LEN [ result ]", SCN_OP_SPLIT_HUGE_PAGES, 0,
	  st_split_huge_pages, run_split_huge_pages, obs_split_huge_pages, pr_split_huge_pages },
	{ "expect sys", "SYSPATH ( TEXT | result )", SCN_OP_EXPECT_SYS, 0,
	  ex_sys, run_expect_sys, obs_expect_sys, pr_expect_sys },
	{ "expect kpageflags", "TASK ADDR KPF { KPF }", SCN_OP_EXPECT_KPAGEFLAGS, 0,
	  ex_kpageflags, run_expect_kpageflags, obs_expect_kpageflags, pr_expect_kpageflags },
	{ NULL },
};
