/*
 * cmd_tag.c - memory tags and fault injection: tag, expect tag, fail.
 *
 * Tags are arm64's MTE, 4 bits per 16-byte granule of a PROT_MTE
 * mapping; "fail" arms the library's fault injection (docs/scenario.md,
 * "Memory tags (MTE)" and "Fault injection").  The host conformance
 * runner skips both with a reason: x86 has no tags, and Linux takes no
 * injection schedule from a process.
 */
#include <stdlib.h>
#include <string.h>

#include "native/observe.h"
#include "scenario/command.h"

/* ---- tag ---- */

/* The optional LEN of a tag statement; one granule without it. */
static int parse_tag_len(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t = scn_peek(p);

	op->len = 16;
	if (!t || t->type != SCN_TOK_WORD || t->s[0] < '0' || t->s[0] > '9')
		return 0;
	if (scn_parse_len(p, "length", &op->len) < 0 || scn_check_io_len(p, t, op->len) < 0)
		return -1;
	if (op->len == 0)
		return scn_perr(p, t->col, "a tag range needs at least one byte");
	op->has_len = true;
	return 0;
}

/* A tag value: a number; the library judges it (a tag over 15 is EINVAL). */
static int tag_of(struct scn_parser *p, const struct scn_tok *t, unsigned *out)
{
	uint64_t v;

	if (scn_parse_u64(p, t, false, &v) < 0)
		return -1;
	if (v > 0xffffffff)
		return scn_perr(p, t->col, "tag out of range: " TOKF, TOKA(t));
	*out = (unsigned)v;
	return 0;
}

/* tag A ADDR [LEN] = TAG [=> ...] */
static int st_tag(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	if (scn_parse_task(p, &op->task) < 0 || scn_parse_addr(p, &op->addr) < 0 ||
	    parse_tag_len(p, op) < 0)
		return -1;
	t = scn_need(p, "'=' and a tag");
	if (!t)
		return -1;
	if (!scn_tok_is(t, "="))
		return scn_perr(p, t->col, "expected '=' and a tag");
	t = scn_need(p, "tag (0..15)");
	if (!t || tag_of(p, t, &op->tags[0]) < 0)
		return -1;
	op->ntags = 1;
	return scn_parse_result(p, op, true);
}

static int run_tag(struct scn_runner *r, const struct scn_op *op)
{
	uint64_t a = scn_addr_of(r, &op->addr), end = a + op->len;
	int ret = scn_within(r, "tag", op->len, r->limits->io);

	if (ret)
		return ret;
	for (; a < end && a >= scn_addr_of(r, &op->addr) && !ret; a = scn_next_granule(a))
		ret = mml_set_tag(scn_task_of(r, op->task), a, op->tags[0]);
	return scn_check_result(r, ret);
}

static void obs_tag(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	uint64_t start = cf_addr_of(w, &op->addr), a;
	unsigned tag = op->tags[0];
	int r = 0;

	for (a = start; a < start + op->len && a >= start && !r; a = scn_next_granule(a))
		r = w->b->tag(w->b, cf_task_of(w, op->task), a, true, &tag);
	if (!cf_refused(w, r, true))
		cf_note_result(w, r);
}

static void pr_tag(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "tag");
	scn_print_sym(pr, op->task);
	scn_print_addr(pr, &op->addr);
	if (op->has_len)
		fprintf(pr->f, " %llu", (unsigned long long)op->len);
	fprintf(pr->f, " = %u", op->tags[0]);
}

/* ---- expect tag ---- */

/* expect tag A ADDR [LEN] ==|!= TAG{|TAG}  |  expect tag A ADDR [LEN] => RESULT */
static int ex_tag(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t, piece;
	size_t a = 0, b;

	if (scn_parse_task(p, &op->task) < 0 || scn_parse_addr(p, &op->addr) < 0 ||
	    parse_tag_len(p, op) < 0)
		return -1;
	if (scn_tok_is(scn_peek(p), "=>"))
		return scn_parse_result(p, op, true);
	if (scn_parse_cmp(p, &op->cmp) < 0)
		return -1;
	if (op->cmp != SCN_EQ && op->cmp != SCN_NE)
		return scn_perr(p, p->lx.tok[p->i - 1].col, "tags compare with == or != only");
	t = scn_need_word(p, "tag (0..15, or several joined by '|')");
	if (!t)
		return -1;
	while (a <= t->n) {
		for (b = a; b < t->n && t->s[b] != '|'; b++)
			;
		piece = *t;
		piece.s = t->s + a;
		piece.n = b - a;
		piece.col = t->col + (unsigned)a;
		if (op->ntags == (op->cmp == SCN_EQ ? SCN_MAX_ALTS + 1 : 1))
			return scn_perr(p, piece.col, op->cmp == SCN_EQ ? "at most %d allowed tags" :
					"'!=' takes one tag", SCN_MAX_ALTS + 1);
		if (tag_of(p, &piece, &op->tags[op->ntags]) < 0)
			return -1;
		op->ntags++;
		a = b + 1;
	}
	return scn_end_of_line(p);
}

static void tags_str(const struct scn_op *op, char *buf, size_t n)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; i < op->ntags && o < n; i++)
		o += snprintf(buf + o, n - o, "%s%u", i ? "|" : "", op->tags[i]);
}

/*
 * Every granule of the range holds the same one of the allowed tags
 * (==), or none holds the tag (!=).  Without a comparison only the
 * result of the loads counts.
 */
static int run_expect_tag(struct scn_runner *r, const struct scn_op *op)
{
	uint64_t start = scn_addr_of(r, &op->addr), end = start + op->len, a;
	unsigned first = 0, tag = 0;
	char w[160], e[64];
	int ret = scn_within(r, "expect tag", op->len, r->limits->io), k;

	if (ret)
		return ret;
	for (a = start; a < end && a >= start; a = scn_next_granule(a)) {
		ret = mml_get_tag(scn_task_of(r, op->task), a, &tag);
		if (ret < 0)
			break;
		if (a == start)
			first = tag;
		if (op->ntags == 0)
			continue;
		for (k = 0; k < op->ntags && op->tags[k] != (op->cmp == SCN_EQ ? first : tag); k++)
			;
		if (op->cmp == SCN_EQ ? (k == op->ntags || tag != first) : k < op->ntags)
			break;
	}
	if (op->ntags == 0 || ret < 0) {
		if (op->ntags == 0)
			return scn_check_result(r, ret);
		return scn_fail(r, "expect tag: expected %s, got %s at %s", "ok", scn_errno_name(-ret),
				scn_where(r, op->task, &op->addr, a - start, w, sizeof(w)));
	}
	if (a >= end || a < start)
		return SCN_PASS;
	tags_str(op, e, sizeof(e));
	return scn_fail(r, "expect tag: expected %s%s at %s, got %u", op->cmp == SCN_EQ ? "" : "not ", e,
			scn_where(r, op->task, &op->addr, a - start, w, sizeof(w)), tag);
}

/* The tags of the range as an observation: all one value, or the first that differs. */
static void obs_expect_tag(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	uint64_t start = cf_addr_of(w, &op->addr), a;
	unsigned tag = 0, first = 0;
	bool same = true, hit = false, holds;
	int r = 0, k;

	for (a = start; a < start + op->len && a >= start; a = scn_next_granule(a)) {
		r = w->b->tag(w->b, cf_task_of(w, op->task), a, false, &tag);
		if (r)
			break;
		if (a == start)
			first = tag;
		same &= tag == first;
		hit |= op->ntags && tag == op->tags[0];
	}
	/* a load faults pages in: skipping one leaves the state behind */
	if (cf_refused(w, r, true))
		return;
	if (r < 0 || op->ntags == 0) {
		cf_note(w, CF_SEEN, op->ntags == 0 && scn_result_ok(&op->expect, r < 0 ? (int)-r : 0), NULL,
			"%s", cf_errname(r));
		return;
	}
	for (k = 0; k < op->ntags && op->tags[k] != first; k++)
		;
	holds = op->cmp == SCN_EQ ? same && k < op->ntags : !hit;
	if (same)
		cf_note(w, CF_SEEN, holds, NULL, "ok, tags %u", first);
	else
		cf_note(w, CF_SEEN, holds, NULL, "ok, tags differ (%u, then %u)", first, tag);
}

static void pr_expect_tag(const struct scn_printer *pr, const struct scn_op *op)
{
	char tags[64];

	fprintf(pr->f, "expect tag");
	scn_print_sym(pr, op->task);
	scn_print_addr(pr, &op->addr);
	if (op->has_len)
		fprintf(pr->f, " %llu", (unsigned long long)op->len);
	if (op->ntags) {
		tags_str(op, tags, sizeof(tags));
		fprintf(pr->f, " %s %s", scn_cmp_name(op->cmp), tags);
	}
}

/* ---- fail ---- */

/* fail at SITE NTH [SITE NTH ...]: exactly those attempts fail, each the NTH at its SITE from now. */
static int st_fail_at(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;
	uint64_t v;

	while ((t = scn_peek(p))) {
		unsigned site;

		if (op->fail_nr_at == MML_FAIL_AT_MAX)
			return scn_perr(p, t->col, "at most %d attempts", MML_FAIL_AT_MAX);
		if (!(t = scn_need_word(p, "a fault-injection site (frame, pgtable, meta, swap-slot, swap-io, tag)")))
			return -1;
		if (scn_fail_site(t->s, t->n, &site) < 0 || (site & (site - 1)))
			return scn_perr(p, t->col, "'%.*s' is not one fault-injection site (frame, pgtable, meta, "
					"swap-slot, swap-io, tag)", (int)(t->n > 40 ? 40 : t->n), t->s);
		if (!(t = scn_need(p, "which attempt at that site fails (1 is the next)")) ||
		    scn_parse_u64(p, t, false, &v) < 0)
			return -1;
		if (v == 0 || v > 1000000000)
			return scn_perr(p, t->col, "the attempt that fails is 1..1000000000 from now");
		op->fail_sites |= site;
		op->fail_at[op->fail_nr_at++] = (struct mml_fail_at){ .site = site, .nth = (long)v };
	}
	if (!op->fail_nr_at)
		return scn_perr(p, p->lx.end_col, "expected a site and which attempt at it fails");
	return 0;
}

/* fail SITE{,SITE} [NTH [repeat N]] | fail at SITE NTH... | fail off */
static int st_fail(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t = scn_need_word(p, "fault-injection sites (frame, pgtable, meta, "
					  "swap-slot, swap-io, tag, all), at, or off");
	size_t a = 0, b;
	uint64_t v;
	int64_t r;

	if (!t)
		return -1;
	if (scn_tok_is(t, "off"))
		return scn_end_of_line(p);
	if (scn_tok_is(t, "at"))
		return st_fail_at(p, op);
	while (a <= t->n) {
		unsigned site;

		for (b = a; b < t->n && t->s[b] != ','; b++)
			;
		if (scn_fail_site(t->s + a, b - a, &site) < 0)
			return scn_perr(p, t->col + a, "unknown fault-injection site '%.*s' (frame, pgtable, "
					"meta, swap-slot, swap-io, tag, all)",
					(int)(b - a > 40 ? 40 : b - a), t->s + a);
		op->fail_sites |= site;
		a = b + 1;
	}
	op->fail_nth = 1;
	t = scn_peek(p);
	if (!t)
		return 0;
	if (scn_parse_u64(p, t, false, &v) < 0)
		return -1;
	if (v == 0 || v > 1000000000)
		return scn_perr(p, t->col, "the attempt that fails is 1..1000000000 from now");
	p->i++;
	op->fail_nth = (long)v;
	t = scn_peek(p);
	if (!t)
		return 0;
	if (!scn_tok_is(t, "repeat"))
		return scn_perr(p, t->col, "expected 'repeat' and how many later attempts fail too");
	p->i++;
	t = scn_need(p, "how many later attempts fail (-1: all)");
	if (!t || scn_parse_s64(p, t, &r) < 0)
		return -1;
	if (r < -1 || r > 1000000000)
		return scn_perr(p, t->col, "repeat is -1 (every later attempt) or 0..1000000000");
	op->fail_repeat = (long)r;
	return scn_end_of_line(p);
}

static int run_fail(struct scn_runner *r, const struct scn_op *op)
{
	struct mml_fail f = {
		.sites = op->fail_sites, .countdown = op->fail_nr_at ? 0 : op->fail_nth, .repeat = op->fail_repeat,
		.at = op->fail_at, .nr_at = op->fail_nr_at,
	};
	int ret = mml_fail_set(r->m, op->fail_sites ? &f : NULL);

	if (ret < 0)
		return scn_bad(r, 1, "fail: the library refused the schedule (%s)", scn_errno_name(-ret));
	return SCN_PASS;
}

static void obs_fail(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	struct mml_fail f = {
		.sites = op->fail_sites, .countdown = op->fail_nr_at ? 0 : op->fail_nth, .repeat = op->fail_repeat,
		.at = op->fail_at, .nr_at = op->fail_nr_at,
	};
	int r = w->b->fail(w->b, op->fail_sites ? &f : NULL);

	/* what fails from now on is this side's own: the two no longer compare */
	if (!cf_refused(w, r, true))
		cf_note_result(w, r);
}

static void pr_fail(const struct scn_printer *pr, const struct scn_op *op)
{
	char sites[96];

	if (op->fail_nr_at) {
		fprintf(pr->f, "fail at");
		for (unsigned i = 0; i < op->fail_nr_at; i++)
			fprintf(pr->f, " %s %ld", scn_fail_sites_name(op->fail_at[i].site, sites, sizeof(sites)),
				op->fail_at[i].nth);
		return;
	}
	fprintf(pr->f, "fail %s", scn_fail_sites_name(op->fail_sites, sites, sizeof(sites)));
	if (op->fail_sites && (op->fail_nth != 1 || op->fail_repeat))
		fprintf(pr->f, " %ld", op->fail_nth);
	if (op->fail_sites && op->fail_repeat)
		fprintf(pr->f, " repeat %ld", op->fail_repeat);
}

const struct scn_cmd scn_tag_cmds[] = {
	{ "tag", "TASK ADDR [ LEN ] \"=\" TAG", SCN_OP_TAG, 0,
	  st_tag, run_tag, obs_tag, pr_tag },
	{ "expect tag", "TASK ADDR [ LEN ] ( ( \"==\" TAGS | \"!=\" TAG ) | result )", SCN_OP_EXPECT_TAG, 0,
	  ex_tag, run_expect_tag, obs_expect_tag, pr_expect_tag },
	{ "fail", "( SITES [ NTH [ \"repeat\" REPEAT ] ] | \"at\" SITE NTH { SITE NTH } | \"off\" )", SCN_OP_FAIL, 0,
	  st_fail, run_fail, obs_fail, pr_fail },
	{ NULL }
};
