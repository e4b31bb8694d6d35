/*
 * cmd_ksm.c - Kernel Samepage Merging: ksm scan and ksm pass (the scan
 * mml_ksm_scan makes, or the host's ksmd), prctl (PR_SET_MEMORY_MERGE,
 * PR_GET_MEMORY_MERGE), expect ksm_stat (/proc/PID/ksm_stat and
 * ksm_merging_pages).  MADV_MERGEABLE and MADV_UNMERGEABLE are madvise's
 * (cmd_mem.c); the knobs and counters are files (`sys`, `expect sys`).
 *
 * "ksm scan N" is what Linux's selftests wait for (ksm_tests.c,
 * ksm_functional_tests.c): passes of N pages until full_scans has grown
 * by two since the call, so that one whole pass over every mm began
 * after it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "native/observe.h"
#include "scenario/command.h"

#define KSM_FULL_SCANS	"/sys/kernel/mm/ksm/full_scans"
/* passes of mml_ksm_scan before two full scans count as never */
#define KSM_MAX_PASSES	100000

#define PR_SET_MEMORY_MERGE_NR	67
#define PR_GET_MEMORY_MERGE_NR	68

static long ksm_full_scans(struct mml_machine *m)
{
	char buf[32];
	long r = mml_sys_read(m, KSM_FULL_SCANS, buf, sizeof(buf));

	if (r < 0)
		return r;
	buf[r < (long)sizeof(buf) ? r : (long)sizeof(buf) - 1] = '\0';
	return strtol(buf, NULL, 10);
}

long scn_ksm_full_scans(struct mml_machine *m, uint64_t pages)
{
	long start = ksm_full_scans(m), now, r;

	if (start < 0)
		return start;
	for (int i = 0; i < KSM_MAX_PASSES; i++) {
		r = mml_ksm_scan(m, pages);
		if (r < 0)
			return r;
		now = ksm_full_scans(m);
		if (now < 0)
			return now;
		/* Nothing registered is nothing to wait for: Linux's ksmd counts no scan of an empty list. */
		if (now >= start + 2 || (r == 0 && now == start))
			return 0;
	}
	return -ETIMEDOUT;
}

/* ---- ksm scan, ksm pass ---- */

/* ksm scan NPAGES: passes until two full scans (arg 0); ksm pass NPAGES: one pass (arg 1). */
static int st_ksm(struct scn_parser *p, struct scn_op *op)
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
	if (op->len == 0)	/* mml_ksm_scan refuses 0 */
		return scn_perr(p, t->col, "ksm scans at least 1 page a pass");
	return scn_parse_result(p, op, true);
}

static int run_ksm(struct scn_runner *r, const struct scn_op *op)
{
	long ret = op->arg ? mml_ksm_scan(r->m, op->len) : scn_ksm_full_scans(r->m, op->len);

	if (ret == -ETIMEDOUT)
		return scn_fail(r, "ksm: no two full scans in %d passes", KSM_MAX_PASSES);
	return scn_check_result(r, ret < 0 ? ret : 0);
}

/* One pass is skipped everywhere: the host's ksmd scans on its own time. */
static void obs_ksm(struct cf_walk *w)
{
	int r;

	if (w->op->arg) {
		cf_skip(w, true, "ksm pass: one pass of the host's ksmd cannot be asked for");
		return;
	}
	r = w->b->ksm(w->b, w->op->len);
	if (!cf_refused(w, r, true))
		cf_note_result(w, r);
}

static void pr_ksm(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "ksm %s %llu", op->arg ? "pass" : "scan", (unsigned long long)op->len);
}

/* ---- prctl ---- */

/*
 * prctl A PR_SET_MEMORY_MERGE N [=> result] | prctl A PR_GET_MEMORY_MERGE [CMP N]:
 * option in arg, N in len; the get's value compared when has_len.
 */
static int st_prctl(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;
	uint64_t v;

	if (scn_parse_task(p, &op->task) < 0)
		return -1;
	t = scn_need_word(p, "PR_SET_MEMORY_MERGE, PR_GET_MEMORY_MERGE or a number");
	if (!t)
		return -1;
	if (scn_tok_is(t, "PR_SET_MEMORY_MERGE"))
		op->arg = PR_SET_MEMORY_MERGE_NR;
	else if (scn_tok_is(t, "PR_GET_MEMORY_MERGE"))
		op->arg = PR_GET_MEMORY_MERGE_NR;
	else if (scn_parse_u64(p, t, false, &v) < 0)
		return -1;
	else
		op->arg = (long)v;
	if (op->arg == PR_GET_MEMORY_MERGE_NR) {
		t = scn_peek(p);
		if (t && t->type == SCN_TOK_WORD && t->n && strchr("=!<>", t->s[0])) {
			op->has_len = true;
			return scn_parse_comparison(p, op);
		}
		return scn_parse_result(p, op, true);
	}
	t = scn_need(p, "the option's argument");
	if (!t || scn_parse_u64(p, t, false, &op->len) < 0)
		return -1;
	return scn_parse_result(p, op, true);
}

static int run_prctl(struct scn_runner *r, const struct scn_op *op)
{
	long ret = mml_prctl(scn_task_of(r, op->task), (int)op->arg, op->len);

	if (op->has_len) {
		if (ret >= 0 && scn_cmp_holds(ret, op->cmp, op->value))
			return SCN_PASS;
		return scn_fail(r, "prctl: expected %s %lld, got %ld%s", scn_cmp_name(op->cmp), (long long)op->value,
				ret, ret < 0 ? " (an error)" : "");
	}
	return scn_check_result(r, ret);
}

static void obs_prctl(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	long r = w->b->prctl(w->b, cf_task_of(w, op->task), (int)op->arg, op->len);

	if (cf_refused(w, r, true))
		return;
	if (op->has_len && r >= 0)
		cf_note(w, CF_SEEN, scn_cmp_holds(r, op->cmp, op->value), NULL, "%ld", r);
	else
		cf_note_result(w, r);
}

static void pr_prctl(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "prctl");
	scn_print_sym(pr, op->task);
	if (op->arg == PR_SET_MEMORY_MERGE_NR)
		fprintf(pr->f, " PR_SET_MEMORY_MERGE %llu", (unsigned long long)op->len);
	else if (op->arg == PR_GET_MEMORY_MERGE_NR)
		fprintf(pr->f, " PR_GET_MEMORY_MERGE");
	else
		fprintf(pr->f, " %ld %llu", op->arg, (unsigned long long)op->len);
	if (op->has_len)
		fprintf(pr->f, " %s %lld", scn_cmp_name(op->cmp), (long long)op->value);
}

/* ---- expect ksm_stat ---- */

static const char *const ksm_stat_fields[] = {
	"ksm_rmap_items", "ksm_zero_pages", "ksm_merging_pages", "ksm_process_profit", "ksm_merge_any",
	"ksm_mergeable", NULL,
};

/* expect ksm_stat A FIELD CMP N (ksm_merge_any, ksm_mergeable: 1 for "yes") */
static int ex_ksm_stat(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	if (scn_parse_task(p, &op->task) < 0)
		return -1;
	t = scn_need_word(p, "a ksm_stat field (ksm_merging_pages, ksm_rmap_items, ...)");
	if (!t)
		return -1;
	for (int i = 0; ksm_stat_fields[i]; i++)
		if (scn_tok_is(t, ksm_stat_fields[i]))
			op->name = strdup(ksm_stat_fields[i]);
	if (!op->name)
		return scn_perr(p, t->col, "unknown ksm_stat field " TOKF " (ksm_rmap_items, ksm_zero_pages, "
				"ksm_merging_pages, ksm_process_profit, ksm_merge_any, ksm_mergeable)", TOKA(t));
	return scn_parse_comparison(p, op);
}

static int run_expect_ksm_stat(struct scn_runner *r, const struct scn_op *op)
{
	long v = mml_ksm_stat(scn_task_of(r, op->task), op->name);

	if (v >= 0 && scn_cmp_holds(v, op->cmp, op->value))
		return SCN_PASS;
	return scn_fail(r, "expected ksm_stat %s %s %s %lld, got %ld", r->s->syms[op->task].name, op->name,
			scn_cmp_name(op->cmp), (long long)op->value, v);
}

static void obs_expect_ksm_stat(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	long v = 0;
	int r = w->b->ksm_stat(w->b, cf_task_of(w, op->task), op->name, &v);

	if (cf_refused(w, r, false))
		return;
	if (r < 0)
		return cf_note_result(w, r);
	cf_note(w, CF_SEEN, scn_cmp_holds(v, op->cmp, op->value), NULL, "%s %ld", op->name, v);
}

static void pr_expect_ksm_stat(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "expect ksm_stat");
	scn_print_sym(pr, op->task);
	fprintf(pr->f, " %s %s %lld", op->name, scn_cmp_name(op->cmp), (long long)op->value);
}

const struct scn_cmd scn_ksm_cmds[] = {
	{ "ksm", "( \"scan\" | \"pass\" ) NPAGES [ result ]", SCN_OP_KSM, 0,
	  st_ksm, run_ksm, obs_ksm, pr_ksm },
	{ "prctl", "TASK ( \"PR_SET_MEMORY_MERGE\" N [ result ] | \"PR_GET_MEMORY_MERGE\" [ CMP VALUE ] )",
	  SCN_OP_PRCTL, 0, st_prctl, run_prctl, obs_prctl, pr_prctl },
	{ "expect ksm_stat", "TASK FIELD CMP VALUE", SCN_OP_EXPECT_KSM_STAT, 0,
	  ex_ksm_stat, run_expect_ksm_stat, obs_expect_ksm_stat, pr_expect_ksm_stat },
	{ NULL }
};
