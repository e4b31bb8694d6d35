/*
 * cmd_swap.c - swap devices and reclaim: swapon, swapoff, reclaim,
 * expect reclaimed (docs/scenario.md, "Swap devices and reclaim").
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "native/observe.h"
#include "scenario/command.h"

/* ---- swapon ---- */

/* [s =] swapon SIZE [prio N] [file] [=> ...] */
static int st_swapon(struct scn_parser *p, struct scn_op *op)
{
	bool seen_prio = false;
	struct scn_tok *t;

	op->prio = -1;
	if (scn_parse_len(p, "swap size (64k, 16M, ...)", &op->len) < 0)
		return -1;
	while ((t = scn_peek(p)) && !scn_tok_is(t, "=>")) {
		p->i++;
		if (scn_tok_is(t, "prio")) {
			int64_t v;

			if (seen_prio)
				return scn_perr(p, t->col, "'prio' given twice");
			seen_prio = true;
			t = scn_need(p, "priority (a number)");
			if (!t || scn_parse_s64(p, t, &v) < 0)
				return -1;
			if (v < -0x80000000LL || v > 0x7fffffff)
				return scn_perr(p, t->col, "priority out of range");
			op->prio = (int)v;
		} else if (scn_tok_is(t, "file")) {
			if (op->swap_file)
				return scn_perr(p, t->col, "'file' given twice");
			op->swap_file = true;
		} else {
			if (t->type == SCN_TOK_STRING)
				return scn_perr(p, t->col, "unexpected string; expected "
						"'prio N', 'file' or '=>'");
			return scn_perr(p, t->col, "unexpected " TOKF "; expected 'prio N', "
					"'file' or '=>'", TOKA(t));
		}
	}
	if (!p->name)
		return scn_parse_result(p, op, true);
	if (scn_parse_result_defining(p, op) < 0)
		return -1;
	return scn_sym_def(p, p->name, SCN_SYM_SWAP, &op->def);
}

/*
 * A file for "swapon ... file": a fresh name from mkstemp in $TMPDIR (or
 * /tmp), which mml_swapon opens, truncates and sizes.  The name is
 * unlinked as soon as mml_swapon returns: the library keeps its own
 * descriptor, and nothing is left behind whatever happens later (a
 * failed expectation, a crash).  0 and the path in buf, or -errno.
 */
int scn_swap_file_new(char *buf, size_t n)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
	if ((size_t)snprintf(buf, n, "%s/mmlab-swap.XXXXXX", dir) >= n)
		return -ENAMETOOLONG;
	fd = mkstemp(buf);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int run_swapon(struct scn_runner *r, const struct scn_op *op)
{
	char path[4096];
	/* the library's swap_map and cache cost host memory per slot */
	int ret = scn_within(r, "swapon", op->len,
			     r->limits->swap ? r->limits->swap : r->limits->ram * 16);

	if (ret)
		return ret;
	if (op->swap_file) {
		ret = scn_swap_file_new(path, sizeof(path));
		if (ret < 0)
			return scn_fail(r, "swapon: cannot create a swap file in $TMPDIR or /tmp: %s",
					strerror(-ret));
	}
	ret = mml_swapon(r->m, op->swap_file ? path : NULL, op->len, op->prio);
	if (op->swap_file)
		unlink(path);
	if (op->def < 0) {
		/* the unnamed form: a device it made goes at once */
		if (ret >= 0 && mml_swapoff(r->m, ret) < 0 && scn_result_ok(&op->expect, 0))
			return scn_fail(r, "swapon: the unnamed device %d could not be swapped off", ret);
		return scn_check_result(r, ret < 0 ? ret : 0);
	}
	if (scn_check_result(r, ret < 0 ? ret : 0))
		return SCN_FAIL;
	r->vals[op->def].swap = ret;
	return SCN_PASS;
}

/*
 * swapon: only the result is an observation, never the device number.
 * The unnamed form leaves no device behind, so skipping it changes nothing.
 */
static void obs_swapon(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	int h = -1;
	int r = w->b->swapon(w->b, op->len, op->prio, op->swap_file, op->def >= 0, &h);

	cf_note_defined(w, r, op->def >= 0, h, 0);
}

static void pr_swapon(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "swapon %llu", (unsigned long long)op->len);
	if (op->prio >= 0)
		fprintf(pr->f, " prio %d", op->prio);
	if (op->swap_file)
		fprintf(pr->f, " file");
}

/* ---- swapoff ---- */

/* swapoff s [=> ...]: s is gone after a swapoff that must succeed */
static int st_swapoff(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t = scn_need(p, "swap device name");

	if (!t || scn_sym_use(p, t, t->n, SCN_SYM_SWAP, &op->swap) < 0 ||
	    scn_parse_result(p, op, true) < 0)
		return -1;
	if (!op->expect.any && (op->expect.nerr == 0 ||
				(op->expect.nerr == 1 && op->expect.err[0] == 0)))
		p->s->syms[op->swap].kind = SCN_SYM_SWAPPED_OFF;
	return 0;
}

static int run_swapoff(struct scn_runner *r, const struct scn_op *op)
{
	struct scn_val *v = &r->vals[op->swap];
	/* a device already swapped off: the library's answer for a bad id */
	int ret = mml_swapoff(r->m, v->swap);

	if (ret == 0)
		v->swap = -1;
	return scn_check_result(r, ret);
}

static void obs_swapoff(struct cf_walk *w)
{
	int r = w->b->swapoff(w->b, w->vals[w->op->swap].h);

	if (!cf_refused(w, r, true))
		cf_note_result(w, r);
}

static void pr_swapoff(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "swapoff");
	scn_print_sym(pr, op->swap);
}

/* ---- reclaim ---- */

/* reclaim NPAGES [=> ...] */
static int st_reclaim(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t = scn_need(p, "number of pages to reclaim");

	if (!t || scn_parse_u64(p, t, false, &op->len) < 0)
		return -1;
	p->seen_reclaim = true;
	return scn_parse_result(p, op, true);
}

static int run_reclaim(struct scn_runner *r, const struct scn_op *op)
{
	long ret = mml_reclaim(r->m, op->len);

	r->main->reclaimed = ret;
	return scn_check_result(r, ret);
}

/* the count is not compared (the kernels' lists differ); the result is */
static void obs_reclaim(struct cf_walk *w)
{
	int64_t r = w->b->reclaim(w->b, w->op->len);

	if (cf_refused(w, r, true))
		return;
	w->reclaimed = r;
	cf_note_result(w, r);
}

static void pr_reclaim(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "reclaim %llu", (unsigned long long)op->len);
}

/* ---- expect reclaimed ---- */

/* expect reclaimed CMP N: what the latest reclaim returned */
static int ex_reclaimed(struct scn_parser *p, struct scn_op *op)
{
	if (!p->seen_reclaim)
		return scn_perr(p, p->kw->col, "'expect reclaimed' needs a 'reclaim' before it");
	return scn_parse_comparison(p, op);
}

static int run_expect_reclaimed(struct scn_runner *r, const struct scn_op *op)
{
	if (scn_cmp_holds(r->main->reclaimed, op->cmp, op->value))
		return SCN_PASS;
	return scn_fail(r, "expected reclaimed %s %lld, got %ld", scn_cmp_name(op->cmp),
			(long long)op->value, r->main->reclaimed);
}

static void obs_expect_reclaimed(struct cf_walk *w)
{
	bool holds = scn_cmp_holds(w->reclaimed, w->op->cmp, w->op->value);

	cf_note(w, CF_SEEN, holds, holds ? "holds" : "fails", "reclaimed = %lld",
		(long long)w->reclaimed);
}

static void pr_expect_reclaimed(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "expect reclaimed %s %lld", scn_cmp_name(op->cmp), (long long)op->value);
}

const struct scn_cmd scn_swap_cmds[] = {
	{ "swapon", "LEN [ \"prio\" PRIO ] [ \"file\" ]", SCN_OP_SWAPON, SCN_CMD_NAMES,
	  st_swapon, run_swapon, obs_swapon, pr_swapon },
	{ "swapoff", "SWAP", SCN_OP_SWAPOFF, 0,
	  st_swapoff, run_swapoff, obs_swapoff, pr_swapoff },
	{ "reclaim", "NPAGES", SCN_OP_RECLAIM, 0,
	  st_reclaim, run_reclaim, obs_reclaim, pr_reclaim },
	{ "expect reclaimed", "CMP VALUE", SCN_OP_EXPECT_RECLAIMED, 0,
	  ex_reclaimed, run_expect_reclaimed, obs_expect_reclaimed, pr_expect_reclaimed },
	{ NULL }
};
