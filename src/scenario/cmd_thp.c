/*
 * cmd_thp.c - transparent huge pages: khugepaged scan, expect thp
 * (docs/scenario.md, "Transparent huge pages").  The advice that asks for
 * them (MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_COLLAPSE) is madvise's, in
 * cmd_mem.c.
 *
 * No view Linux gives a process says "these 2 MiB are mapped by one
 * PMD", so "expect thp" puts it together from three that every kernel
 * has, and reads them the same way on each side, mmlab's and the host's:
 *
 *	pagemap		the 512 pages are present, on consecutive frames,
 *			the first a multiple of 512
 *	kpageflags	the first frame is a compound head with KPF_THP,
 *			the 511 others its tails: one PMD-order folio
 *	smaps		AnonHugePages of the VMA counts only PMD mappings
 *			(smaps_pmd_entry), so it tells a PMD-mapped THP
 *			from the same folio mapped by 512 PTEs; a file's
 *			VMA counts them in ShmemPmdMapped or FilePmdMapped
 *
 * smaps counts a whole VMA, not one range: the answer is "pmd" only if
 * AnonHugePages counts every THP the VMA holds, "pte" if it counts none;
 * a VMA with both kinds is "mixed", which no expectation accepts (look at
 * one VMA per THP then, or at AnonHugePages itself).  The huge zero page
 * passes the first two (KPF_ZERO_PAGE besides) and smaps never counts it:
 * it is a state of its own.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kernel-page-flags.h>

#include "native/observe.h"
#include "scenario/command.h"

#define THP_NR		512			/* HPAGE_PMD_NR with 4 KiB pages */
#define THP_SIZE	(THP_NR * 4096ULL)	/* HPAGE_PMD_SIZE */
#define THP_KB		(THP_SIZE >> 10)
/* the aligned ranges of one VMA that "expect thp" looks at, at most */
#define THP_MAX_RANGES	32
#define KPF(x)		(1ULL << KPF_##x)

#define FULL_SCANS	"/sys/kernel/mm/transparent_hugepage/khugepaged/full_scans"
/* passes of mml_khugepaged_scan before two full scans count as never */
#define KHUGEPAGED_MAX_PASSES	100000

/* ---- what the library offers (the sim side of `mmlab conform` uses it too) ---- */

int scn_kpageflags(struct mml_machine *m, uint64_t pfn, uint64_t n, uint64_t *flags)
{
	uint64_t i;
	int r;

	for (i = 0; i < n; i++)
		if ((r = mml_kpageflags(m, pfn + i, &flags[i])) < 0)
			return r;
	return 0;
}

static long full_scans(struct mml_machine *m)
{
	char buf[32];
	long r = mml_sys_read(m, FULL_SCANS, buf, sizeof(buf));

	if (r < 0)
		return r;
	buf[r < (long)sizeof(buf) ? r : (long)sizeof(buf) - 1] = '\0';
	return strtol(buf, NULL, 10);
}

/*
 * What Linux's selftest (khugepaged.c, wait_for_scan) waits for: two
 * full scans after the call, so that one whole pass over every mm
 * started after it.  Passes of `pages` ptes, as pages_to_scan.  The
 * collapses made, or -errno (-ETIMEDOUT: no two full scans, as when no
 * mm is registered with khugepaged).
 */
long scn_khugepaged_full_scans(struct mml_machine *m, uint64_t pages)
{
	long start, now, r, done = 0;
	int i;

	start = full_scans(m);
	if (start < 0)
		return start;
	for (i = 0; i < KHUGEPAGED_MAX_PASSES; i++) {
		r = mml_khugepaged_scan(m, pages);
		if (r < 0)
			return r;
		done += r;
		now = full_scans(m);
		if (now < 0)
			return now;
		if (now >= start + 2)
			return done;
	}
	return -ETIMEDOUT;
}

/* ---- khugepaged scan, khugepaged pass ---- */

/*
 * khugepaged scan NPAGES [=> ...]: passes until two full scans (op->arg 0);
 * khugepaged pass NPAGES [=> ...]: one pass of NPAGES ptes (op->arg 1), as
 * the fuzzer runs khugepaged, wherever its scan stands.
 */
static int st_khugepaged(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t = scn_need_word(p, "'scan' or 'pass'");

	if (!t)
		return -1;
	if (scn_tok_is(t, "pass"))
		op->arg = 1;
	else if (!scn_tok_is(t, "scan"))
		return scn_perr(p, t->col, "unexpected " TOKF "; expected 'scan' or 'pass'", TOKA(t));
	t = scn_peek(p);
	if (scn_parse_npages(p, &op->len) < 0)
		return -1;
	if (op->len == 0)	/* pages_to_scan refuses 0 */
		return scn_perr(p, t->col, "khugepaged scans at least 1 page a pass");
	return scn_parse_result(p, op, true);
}

static int run_khugepaged(struct scn_runner *r, const struct scn_op *op)
{
	long ret = op->arg ? mml_khugepaged_scan(r->m, op->len) : scn_khugepaged_full_scans(r->m, op->len);

	if (ret == -ETIMEDOUT)
		return scn_fail(r, "khugepaged: no two full scans in %d passes (no mm "
				"registered with khugepaged?)", KHUGEPAGED_MAX_PASSES);
	return scn_check_result(r, ret);
}

/*
 * The count of collapses is not compared (the host's is system-wide);
 * the result is.  A side that cannot make khugepaged run skips the rest,
 * and so does every side for one pass: the host's khugepaged scans on its
 * own time, from wherever it stands.
 */
static void obs_khugepaged(struct cf_walk *w)
{
	int r;

	if (w->op->arg) {
		cf_skip(w, true, "khugepaged pass: one pass of the host's khugepaged cannot be asked for");
		return;
	}
	r = w->b->khugepaged(w->b, w->op->len);
	if (!cf_refused(w, r, true))
		cf_note_result(w, r);
}

static void pr_khugepaged(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "khugepaged %s %llu", op->arg ? "pass" : "scan", (unsigned long long)op->len);
}

/* ---- expect thp ---- */

enum thp_state { THP_PMD, THP_PTE, THP_ZERO, THP_NONE, THP_MIXED };

/* The words of the states a file may expect, by enum thp_state. */
static const char *const state_words[] = { "pmd", "pte", "zero", "none" };

/* How a state reads, for people: "one THP mapped by a PMD". */
static const char *const state_text[] = {
	"one THP mapped by a PMD",
	"one THP mapped by PTEs",
	"the huge zero page",
	"not one THP",
	"one THP, PMD or PTE cannot be told",
};

/*
 * The views "expect thp" reads, as the interpreter and each conformance
 * back end give them; each returns 0 or -errno (a back end's -CF_SKIP).
 */
struct thp_views {
	void *ctx;
	int (*pagemap)(void *ctx, uint64_t addr, uint64_t n, uint64_t *e);
	int (*kpageflags)(void *ctx, uint64_t pfn, uint64_t n, uint64_t *flags);
	/* smaps field of the VMA holding addr, and its range; -ENOENT: no VMA */
	int (*smaps)(void *ctx, uint64_t addr, const char *field, int64_t *kb, uint64_t *lo, uint64_t *hi);
};

/* What backs one aligned 2 MiB. */
enum backing { BACKED_OTHER, BACKED_THP, BACKED_ZERO };

static int backing_of(const struct thp_views *v, uint64_t h, enum backing *b, int *present)
{
	uint64_t e[THP_NR], f[THP_NR], pfn0;
	int i, r;

	*b = BACKED_OTHER;
	*present = 0;
	r = v->pagemap(v->ctx, h, THP_NR, e);
	if (r < 0)
		return r;
	for (i = 0; i < THP_NR; i++)
		*present += (e[i] & MML_PM_PRESENT) != 0;
	pfn0 = e[0] & MML_PM_PFRAME_MASK;
	if (*present < THP_NR || pfn0 % THP_NR)
		return 0;
	for (i = 1; i < THP_NR; i++)
		if ((e[i] & MML_PM_PFRAME_MASK) != pfn0 + i)
			return 0;
	r = v->kpageflags(v->ctx, pfn0, THP_NR, f);
	if (r < 0)
		return r;
	/* a head and 511 tails: one folio of PMD order, not several smaller ones */
	if ((f[0] & (KPF(COMPOUND_HEAD) | KPF(THP))) != (KPF(COMPOUND_HEAD) | KPF(THP)))
		return 0;
	for (i = 1; i < THP_NR; i++)
		if (!(f[i] & KPF(COMPOUND_TAIL)))
			return 0;
	*b = f[0] & KPF(ZERO_PAGE) ? BACKED_ZERO : BACKED_THP;
	return 0;
}

struct thp_seen {
	enum thp_state state;
	char detail[160];
};

/* The kB the VMA maps with PMDs: anon, shmem and file THPs (one of them is all of it). */
static int pmd_mapped_kb(const struct thp_views *v, uint64_t addr, int64_t *kb, uint64_t *lo, uint64_t *hi)
{
	static const char *const fields[] = { "AnonHugePages", "ShmemPmdMapped", "FilePmdMapped" };
	int64_t one;
	int r;

	*kb = 0;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if ((r = v->smaps(v->ctx, addr, fields[i], &one, lo, hi)) < 0)
			return r;
		*kb += one;
	}
	return 0;
}

static int thp_classify(const struct thp_views *v, uint64_t addr, struct thp_seen *s)
{
	uint64_t h = addr & ~(THP_SIZE - 1), lo, hi, a;
	int present, other, nthp = 0, nranges = 0, r;
	enum backing b, ob;
	int64_t kb;

	s->state = THP_NONE;
	s->detail[0] = '\0';
	r = pmd_mapped_kb(v, addr, &kb, &lo, &hi);
	if (r == -ENOENT) {
		snprintf(s->detail, sizeof(s->detail), "no VMA at the address");
		return 0;
	}
	if (r < 0)
		return r;
	if (h < lo || h + THP_SIZE > hi) {
		/* a PMD maps 2 MiB of one VMA; a THP cut by a VMA's end is mapped by PTEs */
		snprintf(s->detail, sizeof(s->detail), "the 2 MiB is not within one VMA");
		return 0;
	}
	r = backing_of(v, h, &b, &present);
	if (r < 0)
		return r;
	if (b == BACKED_ZERO) {
		s->state = THP_ZERO;
		return 0;
	}
	if (b == BACKED_OTHER) {
		snprintf(s->detail, sizeof(s->detail), present < THP_NR ?
			 "%d of 512 pages present" : "512 pages present, not one THP", present);
		return 0;
	}
	if (kb == 0) {
		s->state = THP_PTE;
		return 0;
	}
	for (a = (lo + THP_SIZE - 1) & ~(THP_SIZE - 1); a + THP_SIZE <= hi; a += THP_SIZE) {
		if (++nranges > THP_MAX_RANGES) {
			s->state = THP_MIXED;
			snprintf(s->detail, sizeof(s->detail), "the VMA holds more than %d "
				 "aligned 2 MiB ranges; AnonHugePages %lld kB", THP_MAX_RANGES,
				 (long long)kb);
			return 0;
		}
		ob = b;
		if (a != h && (r = backing_of(v, a, &ob, &other)) < 0)
			return r;
		nthp += ob == BACKED_THP;
	}
	if (kb == (int64_t)nthp * (int64_t)THP_KB) {
		s->state = THP_PMD;
		return 0;
	}
	s->state = THP_MIXED;
	snprintf(s->detail, sizeof(s->detail), "the VMA's PMD-mapped kB (%lld) count "
		 "%lld of its %d THPs", (long long)kb, (long long)(kb / (int64_t)THP_KB), nthp);
	return 0;
}

/* "one THP mapped by PTEs", "not one THP: 3 of 512 pages present" */
static void seen_str(const struct thp_seen *s, char *buf, size_t n)
{
	snprintf(buf, n, "%s%s%s", state_text[s->state], s->detail[0] ? ": " : "", s->detail);
}

/* expect thp A ADDR [pmd|pte|zero|none] */
static int ex_thp(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;
	size_t i;

	if (scn_parse_task(p, &op->task) < 0 || scn_parse_addr(p, &op->addr) < 0)
		return -1;
	op->arg = THP_PMD;
	t = scn_peek(p);
	if (t) {
		for (i = 0; i < sizeof(state_words) / sizeof(state_words[0]); i++)
			if (scn_tok_is(t, state_words[i]))
				break;
		if (i == sizeof(state_words) / sizeof(state_words[0]))
			return scn_perr(p, t->col, "unexpected " TOKF "; expected pmd, pte, zero "
					"or none", TOKA(t));
		op->arg = (long)i;
		p->i++;
	}
	return scn_end_of_line(p);
}

struct run_ctx {
	struct scn_runner *r;
	struct mml_task *t;
};

static int run_pagemap(void *ctx, uint64_t addr, uint64_t n, uint64_t *e)
{
	struct run_ctx *c = ctx;
	uint64_t i;
	int r;

	for (i = 0; i < n; i++)
		if ((r = mml_pagemap(c->t, addr + i * mml_page_size(), &e[i])) < 0)
			return r;
	return 0;
}

static int run_kpageflags(void *ctx, uint64_t pfn, uint64_t n, uint64_t *flags)
{
	return scn_kpageflags(((struct run_ctx *)ctx)->r->m, pfn, n, flags);
}

static int run_smaps(void *ctx, uint64_t addr, const char *field, int64_t *kb, uint64_t *lo, uint64_t *hi)
{
	struct run_ctx *c = ctx;
	char *text = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&text, &n);
	int r;

	if (!f)
		return -ENOMEM;
	r = mml_show_smaps(c->t, f);
	fclose(f);
	if (r >= 0)
		r = scn_smaps_field(text, addr, field, kb, lo, hi);
	free(text);
	return r;
}

static int run_expect_thp(struct scn_runner *r, const struct scn_op *op)
{
	struct run_ctx c = { r, scn_task_of(r, op->task) };
	struct thp_views v = { &c, run_pagemap, run_kpageflags, run_smaps };
	struct thp_seen s;
	char w[160], got[256];
	int ret = thp_classify(&v, scn_addr_of(r, &op->addr), &s);

	scn_where(r, op->task, &op->addr, 0, w, sizeof(w));
	if (ret < 0)
		return scn_fail(r, "expect thp %s: got %s", w, scn_errno_name(-ret));
	if (s.state == (enum thp_state)op->arg)
		return SCN_PASS;
	seen_str(&s, got, sizeof(got));
	return scn_fail(r, "expected the 2 MiB at %s to be %s, got %s", w,
			state_text[op->arg], got);
}

struct obs_ctx {
	struct cf_walk *w;
	int task;
};

static int obs_pagemap(void *ctx, uint64_t addr, uint64_t n, uint64_t *e)
{
	struct obs_ctx *c = ctx;

	return c->w->b->pagemap(c->w->b, c->task, addr, n, e);
}

static int obs_kpageflags(void *ctx, uint64_t pfn, uint64_t n, uint64_t *flags)
{
	struct obs_ctx *c = ctx;
	uint64_t i;
	int r;

	for (i = 0; i < n; i++)
		if ((r = c->w->b->kpageflags(c->w->b, pfn + i, &flags[i])) < 0)
			return r;
	return 0;
}

static int obs_smaps(void *ctx, uint64_t addr, const char *field, int64_t *kb, uint64_t *lo, uint64_t *hi)
{
	struct obs_ctx *c = ctx;

	return c->w->b->smaps(c->w->b, c->task, addr, field, kb, lo, hi);
}

/* The state is what both kernels must agree on; the detail is for people. */
static void obs_expect_thp(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	struct obs_ctx c = { w, cf_task_of(w, op->task) };
	struct thp_views v = { &c, obs_pagemap, obs_kpageflags, obs_smaps };
	struct thp_seen s;
	char text[256];
	int r = thp_classify(&v, cf_addr_of(w, &op->addr), &s);

	if (cf_refused(w, r, false))
		return;
	if (r < 0)
		return cf_note_result(w, r);
	seen_str(&s, text, sizeof(text));
	cf_note(w, CF_SEEN, s.state == (enum thp_state)op->arg,
		s.state < THP_MIXED ? state_words[s.state] : "mixed", "%s", text);
}

static void pr_expect_thp(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "expect thp");
	scn_print_sym(pr, op->task);
	scn_print_addr(pr, &op->addr);
	fprintf(pr->f, " %s", state_words[op->arg]);
}

const struct scn_cmd scn_thp_cmds[] = {
	{ "khugepaged", "( \"scan\" | \"pass\" ) NPAGES", SCN_OP_KHUGEPAGED, 0,
	  st_khugepaged, run_khugepaged, obs_khugepaged, pr_khugepaged },
	{ "expect thp", "TASK ADDR [ \"pmd\" | \"pte\" | \"zero\" | \"none\" ]", SCN_OP_EXPECT_THP, 0,
	  ex_thp, run_expect_thp, obs_expect_thp, pr_expect_thp },
	{ NULL }
};
