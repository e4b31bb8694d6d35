/*
 * cmd_frame.c - what /proc/PID/pagemap shows of a place, and addresses:
 * frame, expect pagemap, expect same-frame, expect different-frame,
 * expect frame, expect addr.
 *
 * A frame number is never an observation in a conformance run (the two
 * kernels' differ): only the bits, and whether two frames are the same.
 */
#include <stdlib.h>
#include <string.h>

#include "native/observe.h"
#include "scenario/command.h"

/* ---- frame ---- */

/* f = frame A ADDR */
static int st_frame(struct scn_parser *p, struct scn_op *op)
{
	if (scn_parse_task(p, &op->task) < 0 || scn_parse_addr(p, &op->addr) < 0 ||
	    scn_parse_result(p, op, false) < 0)
		return -1;
	return scn_sym_def(p, p->name, SCN_SYM_FRAME, &op->def);
}

static int run_frame(struct scn_runner *r, const struct scn_op *op)
{
	return scn_frame_at(r, op->task, &op->addr, &r->vals[op->def].v);
}

static void obs_frame(struct cf_walk *w)
{
	uint64_t e;

	if (cf_pagemap1(w, w->op->task, &w->op->addr, &e)) {
		cf_define(w, w->obs->state == CF_SKIPPED ? CF_SYM_SKIPPED : CF_SYM_FAILED, -1, 0);
		return;
	}
	cf_define(w, e & MML_PM_PRESENT ? CF_SYM_OK : CF_SYM_FAILED, -1, e & MML_PM_PFRAME_MASK);
	cf_note(w, CF_SEEN, e & MML_PM_PRESENT, NULL, "%s",
		e & MML_PM_PRESENT ? "present" : "not present");
}

static void pr_frame(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "frame");
	scn_print_sym(pr, op->task);
	scn_print_addr(pr, &op->addr);
}

/* ---- expect pagemap ---- */

/* expect pagemap A ADDR [LEN] BIT... */
static int ex_pagemap(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	if (scn_parse_task(p, &op->task) < 0 || scn_parse_addr(p, &op->addr) < 0)
		return -1;
	t = scn_peek(p);
	op->len = 0;	/* one page, the size the machine says */
	if (t && t->type == SCN_TOK_WORD && t->s[0] >= '0' && t->s[0] <= '9') {
		if (scn_parse_len(p, "length", &op->len) < 0)
			return -1;
		if (op->len > (1ULL << 30))
			return scn_perr(p, t->col, "pagemap expectations are limited to 1G at a time");
		op->has_len = true;
	}
	if (!scn_peek(p))
		return scn_perr(p, p->lx.end_col, "missing pagemap bits (present, !present, "
				"swapped, exclusive, soft-dirty, uffd-wp, guard, file)");
	while ((t = scn_peek(p))) {
		size_t neg = t->type == SCN_TOK_WORD && t->n && t->s[0] == '!';
		uint64_t bit;

		if (t->type != SCN_TOK_WORD || scn_pm_bit(t->s + neg, t->n - neg, &bit) < 0)
			return scn_perr(p, t->col, "unknown pagemap bit; expected present, "
					"swapped, exclusive, soft-dirty, uffd-wp, guard or file, "
					"or one of them after '!'");
		if ((neg ? op->pm_set : op->pm_clear) & bit)
			return scn_perr(p, t->col, "contradictory pagemap bits");
		if (neg)
			op->pm_clear |= bit;
		else
			op->pm_set |= bit;
		p->i++;
	}
	return 0;
}

static int run_expect_pagemap(struct scn_runner *r, const struct scn_op *op)
{
	uint64_t ps = mml_page_size(), i, e;
	char w[160], want[128], got[160];
	int ret = scn_within(r, "expect pagemap", op->len, r->limits->io);

	if (ret)
		return ret;
	for (i = 0; i < scn_pages_in(op->len); i++) {
		if (scn_pagemap_at(r, op->task, &op->addr, i * ps, &e))
			return SCN_FAIL;
		if ((e & op->pm_set) == op->pm_set && !(e & op->pm_clear))
			continue;
		scn_pm_bits_str(op->pm_set, op->pm_clear, want, sizeof(want));
		scn_pm_describe(e, got, sizeof(got));
		return scn_fail(r, "expected pagemap of %s: %s, got %s",
				scn_where(r, op->task, &op->addr, i * ps, w, sizeof(w)), want, got);
	}
	return SCN_PASS;
}

static void obs_expect_pagemap(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	uint64_t n = op->len ? (op->len + 4095) / 4096 : 1, i, mask = op->pm_set | op->pm_clear;
	uint64_t *e = calloc(n, sizeof(*e));
	char first[96], cur[96], *text = NULL;
	size_t tn = 0;
	FILE *f;
	bool holds = true, uniform = true;
	int r;

	if (!e)
		return cf_note(w, CF_ERROR, false, NULL, "out of memory");
	if ((mask & MML_PM_SOFT_DIRTY) && w->b->no_soft_dirty) {
		free(e);
		return cf_note(w, CF_SKIPPED, false, NULL,
			       "this kernel tracks no soft-dirty bit (no CONFIG_MEM_SOFT_DIRTY)");
	}
	r = w->b->pagemap(w->b, cf_task_of(w, op->task), cf_addr_of(w, &op->addr), n, e);
	if (cf_refused(w, r, false) || (r < 0 && (cf_note_result(w, r), 1))) {
		free(e);
		return;
	}
	f = open_memstream(&text, &tn);
	scn_pm_bits_str(e[0] & mask, ~e[0] & mask, first, sizeof(first));
	for (i = 0; i < n; i++) {
		scn_pm_bits_str(e[i] & mask, ~e[i] & mask, cur, sizeof(cur));
		holds &= (e[i] & op->pm_set) == op->pm_set && !(e[i] & op->pm_clear);
		uniform &= !strcmp(cur, first);
		if (f && n > 1)
			fprintf(f, "%s%llu: %s", i ? "; " : "", (unsigned long long)i, cur);
	}
	if (f)
		fclose(f);
	if (n == 1 || uniform)
		cf_note(w, CF_SEEN, holds, NULL, "%s%s", n > 1 ? "every page: " : "", first);
	else
		cf_note(w, CF_SEEN, holds, NULL, "%s", text ? text : "?");
	free(text);
	free(e);
}

static void pr_expect_pagemap(const struct scn_printer *pr, const struct scn_op *op)
{
	char bits[128];

	fprintf(pr->f, "expect pagemap");
	scn_print_sym(pr, op->task);
	scn_print_addr(pr, &op->addr);
	if (op->has_len)
		fprintf(pr->f, " %llu", (unsigned long long)op->len);
	scn_pm_bits_str(op->pm_set, op->pm_clear, bits, sizeof(bits));
	fprintf(pr->f, " %s", bits);
}

/* ---- expect same-frame, expect different-frame ---- */

/* expect same-frame|different-frame A ADDR B ADDR */
static int ex_frames(struct scn_parser *p, struct scn_op *op)
{
	if (scn_parse_task(p, &op->task) < 0 || scn_parse_addr(p, &op->addr) < 0 ||
	    scn_parse_task(p, &op->task2) < 0 || scn_parse_addr(p, &op->addr2) < 0)
		return -1;
	return scn_end_of_line(p);
}

static int run_expect_frames(struct scn_runner *r, const struct scn_op *op)
{
	bool same = op->kind == SCN_OP_EXPECT_SAME;
	char w1[160], w2[160];
	uint64_t f1, f2;

	if (scn_frame_at(r, op->task, &op->addr, &f1) ||
	    scn_frame_at(r, op->task2, &op->addr2, &f2))
		return SCN_FAIL;
	if ((f1 == f2) == same)
		return SCN_PASS;
	return scn_fail(r, "expected %s frame at %s and %s, got pfn 0x%llx and 0x%llx",
			same ? "the same" : "different",
			scn_where(r, op->task, &op->addr, 0, w1, sizeof(w1)),
			scn_where(r, op->task2, &op->addr2, 0, w2, sizeof(w2)),
			(unsigned long long)f1, (unsigned long long)f2);
}

static void obs_expect_frames(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	uint64_t a, b;

	if (cf_pagemap1(w, op->task, &op->addr, &a) || cf_pagemap1(w, op->task2, &op->addr2, &b))
		return;
	cf_note_frames(w, (a & b & MML_PM_PRESENT) != 0, a & MML_PM_PFRAME_MASK,
		       b & MML_PM_PFRAME_MASK, op->kind == SCN_OP_EXPECT_SAME);
}

static void pr_expect_frames(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "%s", scn_cmd_name(op));
	scn_print_sym(pr, op->task);
	scn_print_addr(pr, &op->addr);
	scn_print_sym(pr, op->task2);
	scn_print_addr(pr, &op->addr2);
}

/* ---- expect frame ---- */

/* expect frame A ADDR ==|!= f */
static int ex_frame(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;
	int f;

	if (scn_parse_task(p, &op->task) < 0 || scn_parse_addr(p, &op->addr) < 0 ||
	    scn_parse_cmp(p, &op->cmp) < 0)
		return -1;
	if (op->cmp != SCN_EQ && op->cmp != SCN_NE)
		return scn_perr(p, p->lx.tok[p->i - 1].col, "frames compare with == or != only");
	t = scn_need(p, "frame name");
	if (!t || scn_sym_use(p, t, t->n, SCN_SYM_FRAME, &f) < 0)
		return -1;
	op->task2 = f;	/* the frame symbol */
	return scn_end_of_line(p);
}

static int run_expect_frame(struct scn_runner *r, const struct scn_op *op)
{
	uint64_t want = r->vals[op->task2].v, pfn;
	char w[160];

	if (scn_frame_at(r, op->task, &op->addr, &pfn))
		return SCN_FAIL;
	if ((pfn == want) == (op->cmp == SCN_EQ))
		return SCN_PASS;
	return scn_fail(r, "expected frame at %s %s %s (pfn 0x%llx), got pfn 0x%llx",
			scn_where(r, op->task, &op->addr, 0, w, sizeof(w)),
			scn_cmp_name(op->cmp), r->s->syms[op->task2].name,
			(unsigned long long)want, (unsigned long long)pfn);
}

static void obs_expect_frame(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	uint64_t e;

	if (cf_pagemap1(w, op->task, &op->addr, &e))
		return;
	cf_note_frames(w, e & MML_PM_PRESENT, e & MML_PM_PFRAME_MASK,
		       w->vals[op->task2].v, op->cmp == SCN_EQ);
}

static void pr_expect_frame(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "expect frame");
	scn_print_sym(pr, op->task);
	scn_print_addr(pr, &op->addr);
	fprintf(pr->f, " %s", scn_cmp_name(op->cmp));
	scn_print_sym(pr, op->task2);
}

/* ---- expect addr ---- */

/* expect addr ADDR CMP ADDR */
static int ex_addr(struct scn_parser *p, struct scn_op *op)
{
	if (scn_parse_addr(p, &op->addr) < 0 || scn_parse_cmp(p, &op->cmp) < 0 ||
	    scn_parse_addr(p, &op->addr2) < 0)
		return -1;
	return scn_end_of_line(p);
}

static int run_expect_addr(struct scn_runner *r, const struct scn_op *op)
{
	uint64_t a = scn_addr_of(r, &op->addr), b = scn_addr_of(r, &op->addr2);
	bool holds;

	switch (op->cmp) {
	case SCN_EQ: holds = a == b; break;
	case SCN_NE: holds = a != b; break;
	case SCN_LT: holds = a < b; break;
	case SCN_LE: holds = a <= b; break;
	case SCN_GT: holds = a > b; break;
	default: holds = a >= b; break;
	}
	if (holds)
		return SCN_PASS;
	return scn_fail(r, "expected address 0x%llx %s 0x%llx", (unsigned long long)a,
			scn_cmp_name(op->cmp), (unsigned long long)b);
}

static void obs_expect_addr(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	bool holds = scn_cmp_holds((int64_t)(cf_addr_of(w, &op->addr) - cf_addr_of(w, &op->addr2)),
			       SCN_EQ, 0);

	if (op->cmp != SCN_EQ && op->cmp != SCN_NE) {
		uint64_t a = cf_addr_of(w, &op->addr), b = cf_addr_of(w, &op->addr2);

		holds = op->cmp == SCN_LT ? a < b : op->cmp == SCN_LE ? a <= b :
			op->cmp == SCN_GT ? a > b : a >= b;
	} else if (op->cmp == SCN_NE) {
		holds = !holds;
	}
	cf_note(w, CF_SEEN, holds, NULL, "%s", holds ? "holds" : "does not hold");
}

static void pr_expect_addr(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "expect addr");
	scn_print_addr(pr, &op->addr);
	fprintf(pr->f, " %s", scn_cmp_name(op->cmp));
	scn_print_addr(pr, &op->addr2);
}

const struct scn_cmd scn_frame_cmds[] = {
	{ "frame", "TASK ADDR", SCN_OP_FRAME, SCN_CMD_NAMES | SCN_CMD_NAMED,
	  st_frame, run_frame, obs_frame, pr_frame },
	{ "expect pagemap", "TASK ADDR [ LEN ] BIT { BIT }", SCN_OP_EXPECT_PAGEMAP, 0,
	  ex_pagemap, run_expect_pagemap, obs_expect_pagemap, pr_expect_pagemap },
	{ "expect same-frame", "TASK ADDR TASK ADDR", SCN_OP_EXPECT_SAME, 0,
	  ex_frames, run_expect_frames, obs_expect_frames, pr_expect_frames },
	{ "expect different-frame", "TASK ADDR TASK ADDR", SCN_OP_EXPECT_DIFF, 0,
	  ex_frames, run_expect_frames, obs_expect_frames, pr_expect_frames },
	{ "expect frame", "TASK ADDR (\"==\" | \"!=\") FRAMENAME", SCN_OP_EXPECT_FRAME, 0,
	  ex_frame, run_expect_frame, obs_expect_frame, pr_expect_frame },
	{ "expect addr", "ADDR CMP ADDR", SCN_OP_EXPECT_ADDR, 0,
	  ex_addr, run_expect_addr, obs_expect_addr, pr_expect_addr },
	{ NULL }
};
