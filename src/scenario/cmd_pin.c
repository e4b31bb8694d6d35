/*
 * cmd_pin.c - GUP and the device's DMA: pin, get, unpin, dma-read,
 * dma-write, expect pin-frame.
 *
 * A pin names the pages one pin_user_pages or get_user_pages call took;
 * dma-read and dma-write reach the frames that were pinned, whatever the
 * process maps at those addresses now (docs/scenario.md, "Pins and the
 * device's DMA").
 */
#include <stdlib.h>
#include <string.h>

#include "native/observe.h"
#include "scenario/command.h"

static int parse_pin_name(struct scn_parser *p, int *slot)
{
	struct scn_tok *t = scn_need(p, "pin name");

	return t ? scn_sym_use(p, t, t->n, SCN_SYM_PIN, slot) : -1;
}

/* ---- pin, get ---- */

/* write,longterm,force,fast (each at most once), or ro: no flag. */
static int parse_foll(struct scn_parser *p, long *out)
{
	struct scn_tok *t = scn_need_word(p, "gup flags (ro, or write,longterm,force,fast)");
	size_t a = 0, b;
	long foll = 0;

	if (!t)
		return -1;
	if (scn_tok_is(t, "ro")) {
		*out = 0;
		return 0;
	}
	if (t->n > 2 && (!memcmp(t->s, "ro,", 3) || !memcmp(t->s + t->n - 3, ",ro", 3)))
		return scn_perr(p, t->col, "'ro' stands alone: it means no gup flag");
	while (a <= t->n) {
		long bit;

		for (b = a; b < t->n && t->s[b] != ','; b++)
			;
		if (scn_foll(t->s + a, b - a, &bit) < 0)
			return scn_perr(p, t->col + a, "unknown gup flag '%.*s' (ro, or a "
					"comma list of write, longterm, force, fast)",
					(int)(b - a > 40 ? 40 : b - a), t->s + a);
		if (foll & bit)
			return scn_perr(p, t->col + a, "gup flag '%.*s' given twice",
					(int)(b - a), t->s + a);
		foll |= bit;
		a = b + 1;
	}
	*out = foll;
	return 0;
}

/* [x =] pin|get A ADDR NPAGES [FOLL] [=> ...] */
static int st_pin(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	op->arg = scn_tok_is(p->kw, "get");
	if (scn_parse_task(p, &op->task) < 0 || scn_parse_addr(p, &op->addr) < 0)
		return -1;
	if (scn_parse_npages(p, &op->len) < 0)
		return -1;
	if (p->name && op->len == 0)
		return scn_perr(p, p->lx.tok[p->i - 1].col, "a named pin needs at least one page");
	t = scn_peek(p);
	if (t && !scn_tok_is(t, "=>") && parse_foll(p, &op->flags) < 0)
		return -1;
	if (!p->name)
		return scn_parse_result(p, op, true);
	if (scn_parse_result_defining(p, op) < 0 ||
	    scn_sym_def(p, p->name, SCN_SYM_PIN, &op->def) < 0)
		return -1;
	p->s->syms[op->def].npages = op->len;
	return 0;
}

static int run_pin(struct scn_runner *r, const struct scn_op *op)
{
	struct mml_task *t = scn_task_of(r, op->task);
	struct mml_pin *pin = NULL;
	char w[160], f[48];
	/* <= 256M: no overflow */
	long ret = scn_within(r, scn_cmd_name(op), op->len * mml_page_size(), r->limits->io);

	if (ret)
		return (int)ret;
	if (op->arg)
		ret = mml_get_user_pages(t, scn_addr_of(r, &op->addr), op->len,
					 (unsigned)op->flags, &pin);
	else
		ret = mml_pin_user_pages(t, scn_addr_of(r, &op->addr), op->len,
					 (unsigned)op->flags, &pin);
	if (op->def < 0) {
		/* the unnamed form: whatever it took goes back at once */
		mml_unpin(pin);
		return scn_check_result(r, ret < 0 ? ret : 0);
	}
	if (ret < 0) {
		mml_unpin(pin);
		return scn_check_result(r, ret);
	}
	if ((uint64_t)ret != op->len || !pin) {
		mml_unpin(pin);
		return scn_fail(r, "%s %s %llu %s: expected %llu page(s), got %ld%s",
				scn_cmd_name(op), scn_where(r, op->task, &op->addr, 0, w, sizeof(w)),
				(unsigned long long)op->len, scn_foll_name(op->flags, f, sizeof(f)),
				(unsigned long long)op->len, ret, pin ? "" : " and no pin");
	}
	r->vals[op->def].pin = pin;
	return SCN_PASS;
}

static void obs_pin(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	int pin = -1;
	int64_t r = w->b->pin(w->b, cf_task_of(w, op->task), cf_addr_of(w, &op->addr),
			      op->len, op->flags, op->arg != 0, op->def >= 0, &pin);

	if (cf_refused(w, r, true)) {
		cf_define(w, CF_SYM_SKIPPED, -1, 0);
		return;
	}
	if (op->def >= 0 && r >= 0 && (uint64_t)r != op->len) {
		cf_define(w, CF_SYM_FAILED, -1, 0);
		return cf_note(w, CF_SEEN, false, NULL, "took %lld of %llu pages",
			       (long long)r, (unsigned long long)op->len);
	}
	cf_define(w, r < 0 ? CF_SYM_FAILED : CF_SYM_OK, pin, 0);
	cf_note_result(w, r);
}

static void pr_pin(const struct scn_printer *pr, const struct scn_op *op)
{
	char foll[48];

	fprintf(pr->f, "%s", scn_cmd_name(op));
	scn_print_sym(pr, op->task);
	scn_print_addr(pr, &op->addr);
	fprintf(pr->f, " %llu %s", (unsigned long long)op->len,
		scn_foll_name(op->flags, foll, sizeof(foll)));
}

/* ---- unpin ---- */

static int st_unpin(struct scn_parser *p, struct scn_op *op)
{
	if (parse_pin_name(p, &op->pin) < 0 || scn_parse_result(p, op, false) < 0)
		return -1;
	p->s->syms[op->pin].kind = SCN_SYM_UNPINNED;
	return 0;
}

static int run_unpin(struct scn_runner *r, const struct scn_op *op)
{
	mml_unpin(r->vals[op->pin].pin);
	r->vals[op->pin].pin = NULL;
	return SCN_PASS;
}

static void obs_unpin(struct cf_walk *w)
{
	/* A pin that failed on this side holds nothing to release. */
	if (w->vals[w->op->pin].state == CF_SYM_OK)
		w->b->unpin(w->b, w->vals[w->op->pin].h);
	w->vals[w->op->pin].state = CF_SYM_UNSET;
}

static void pr_unpin(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "unpin");
	scn_print_sym(pr, op->pin);
}

/* ---- dma-read, dma-write ---- */

/* dma-read x OFF LEN [expect PATTERN] | dma-write x OFF LEN PATTERN | dma-write x OFF "s" */
static int st_dma(struct scn_parser *p, struct scn_op *op)
{
	if (parse_pin_name(p, &op->pin) < 0 || scn_parse_len(p, "offset", &op->pos) < 0)
		return -1;
	return scn_parse_access(p, op, op->kind == SCN_OP_DMA_WRITE);
}

/* "x offset 0x10 (page 0)": the page only for a single byte */
static const char *dma_place(struct scn_runner *r, const struct scn_op *op, uint64_t off,
			     bool byte, char *buf, size_t n)
{
	uint64_t at = op->pos + off;

	if (byte)
		snprintf(buf, n, "%s offset 0x%llx (page %llu)", r->s->syms[op->pin].name,
			 (unsigned long long)at, (unsigned long long)(at / mml_page_size()));
	else
		snprintf(buf, n, "%s offset 0x%llx", r->s->syms[op->pin].name, (unsigned long long)at);
	return buf;
}

static int run_dma_read(struct scn_runner *r, const struct scn_op *op)
{
	int ret;
	unsigned char *buf = scn_io_buffer(r, op, false, &ret);

	if (!buf)
		return ret;
	ret = mml_dma_read(r->vals[op->pin].pin, op->pos, buf, op->len);
	ret = scn_check_load(r, op, ret, buf, dma_place);
	free(buf);
	return ret;
}

static void obs_dma_read(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	unsigned char *buf = cf_load_buffer(w);
	int r;

	if (!buf)
		return;
	r = w->b->dma_read(w->b, w->vals[op->pin].h, op->pos, op->len, buf);
	/* the device's load faults nothing in */
	if (!cf_refused(w, r, false))
		cf_note_bytes(w, r, buf);
	free(buf);
}

static int run_dma_write(struct scn_runner *r, const struct scn_op *op)
{
	int ret;
	unsigned char *buf = scn_io_buffer(r, op, true, &ret);

	if (!buf)
		return ret;
	ret = mml_dma_write(r->vals[op->pin].pin, op->pos, buf, op->len);
	free(buf);
	return scn_check_result(r, ret);
}

static void obs_dma_write(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	int r = w->b->dma_write(w->b, w->vals[op->pin].h, op->pos, op->len, &op->pat);

	if (!cf_refused(w, r, true))
		cf_note_result(w, r);
}

static void pr_dma(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "%s", scn_cmd_name(op));
	scn_print_sym(pr, op->pin);
	fprintf(pr->f, " %llu %llu", (unsigned long long)op->pos, (unsigned long long)op->len);
	if (op->kind == SCN_OP_DMA_WRITE)
		scn_print_pattern(pr, &op->pat);
	else
		scn_print_patterns(pr, op);
}

/* ---- expect pin-frame ---- */

/* expect pin-frame x INDEX ==|!= A ADDR */
static int ex_pin_frame(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	if (parse_pin_name(p, &op->pin) < 0)
		return -1;
	t = scn_need(p, "page index");
	if (!t || scn_parse_u64(p, t, false, &op->pos) < 0)
		return -1;
	if (op->pos >= p->s->syms[op->pin].npages)
		return scn_perr(p, t->col, "page index %llu is past the %llu page(s) of '%s'",
				(unsigned long long)op->pos,
				(unsigned long long)p->s->syms[op->pin].npages,
				p->s->syms[op->pin].name);
	if (scn_parse_cmp(p, &op->cmp) < 0)
		return -1;
	if (op->cmp != SCN_EQ && op->cmp != SCN_NE)
		return scn_perr(p, p->lx.tok[p->i - 1].col, "frames compare with == or != only");
	if (scn_parse_task(p, &op->task) < 0 || scn_parse_addr(p, &op->addr) < 0)
		return -1;
	return scn_end_of_line(p);
}

static int run_expect_pin_frame(struct scn_runner *r, const struct scn_op *op)
{
	uint64_t got = mml_pin_pfn(r->vals[op->pin].pin, op->pos), pfn;
	char w[160];

	if (scn_frame_at(r, op->task, &op->addr, &pfn))
		return SCN_FAIL;
	if ((got == pfn) == (op->cmp == SCN_EQ))
		return SCN_PASS;
	return scn_fail(r, "expected pin-frame %s %llu (pfn 0x%llx) %s the frame at %s, got pfn 0x%llx",
			r->s->syms[op->pin].name, (unsigned long long)op->pos,
			(unsigned long long)got, scn_cmp_name(op->cmp),
			scn_where(r, op->task, &op->addr, 0, w, sizeof(w)), (unsigned long long)pfn);
}

static void obs_expect_pin_frame(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	uint64_t e, pfn = 0;
	int r = w->b->pin_pfn(w->b, w->vals[op->pin].h, op->pos, &pfn);

	if (cf_refused(w, r, false) || cf_pagemap1(w, op->task, &op->addr, &e))
		return;
	cf_note_frames(w, e & MML_PM_PRESENT, pfn, e & MML_PM_PFRAME_MASK, op->cmp == SCN_EQ);
}

static void pr_expect_pin_frame(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "expect pin-frame");
	scn_print_sym(pr, op->pin);
	fprintf(pr->f, " %llu %s", (unsigned long long)op->pos, scn_cmp_name(op->cmp));
	scn_print_sym(pr, op->task);
	scn_print_addr(pr, &op->addr);
}

const struct scn_cmd scn_pin_cmds[] = {
	{ "pin", "TASK ADDR NPAGES [ FOLL ]", SCN_OP_PIN, SCN_CMD_NAMES,
	  st_pin, run_pin, obs_pin, pr_pin },
	{ "get", "TASK ADDR NPAGES [ FOLL ]", SCN_OP_PIN, SCN_CMD_NAMES,
	  st_pin, run_pin, obs_pin, pr_pin },
	{ "unpin", "PIN", SCN_OP_UNPIN, SCN_CMD_SILENT | SCN_CMD_RELEASE,
	  st_unpin, run_unpin, obs_unpin, pr_unpin },
	{ "dma-read", "PIN DMAOFF LEN [ \"expect\" PATTERNS ]", SCN_OP_DMA_READ, 0,
	  st_dma, run_dma_read, obs_dma_read, pr_dma },
	{ "dma-write", "PIN DMAOFF LEN PATTERN", SCN_OP_DMA_WRITE, 0,
	  st_dma, run_dma_write, obs_dma_write, pr_dma },
	{ "expect pin-frame", "PIN INDEX (\"==\" | \"!=\") TASK ADDR", SCN_OP_EXPECT_PIN_FRAME, 0,
	  ex_pin_frame, run_expect_pin_frame, obs_expect_pin_frame, pr_expect_pin_frame },
	{ NULL }
};
