/*
 * observe.c - walk a parsed scenario against one back end and write down
 * what each statement let a process see.
 *
 * Unlike the interpreter, the walk does not stop at a failed expectation:
 * the point is the whole log, to be compared with the other kernel's.
 * Each observation is stated in terms both kernels share: never a raw
 * address of a non-fixed mmap (those differ) nor a frame number (only
 * "the same frame" or not), only results, bytes, pagemap bits, counts.
 *
 * A statement a back end cannot run is skipped with its reason; if it
 * would have changed the memory (an mmap, a write, a pin), the two
 * kernels no longer hold the same state, and every later statement on
 * that side is skipped too, naming the first.
 *
 * Each statement's observe function is in its scenario/cmd_*.c
 * (scenario/command.h); this file holds the walk and what they share
 * (observe.h).
 */
#define _GNU_SOURCE	/* vasprintf, asprintf */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "mmlab.h"
#include "native/observe.h"
#include "scenario/command.h"

/* ---- writing an observation ---- */

void cf_note(struct cf_walk *w, enum cf_obs_state st, bool holds, const char *key,
	     const char *fmt, ...)
{
	va_list ap;

	w->obs->state = st;
	w->obs->holds = holds;
	va_start(ap, fmt);
	if (vasprintf(&w->obs->text, fmt, ap) < 0)
		w->obs->text = NULL;
	va_end(ap);
	w->obs->key = key ? strdup(key) : NULL;
}

const char *cf_errname(long r)
{
	return r >= 0 ? "ok" : scn_errno_name((int)-r);
}

/*
 * A back end's refusal: skipped (or broken) and, if the statement would
 * have changed the memory, everything after it too.  True if it was one.
 */
bool cf_refused(struct cf_walk *w, int64_t r, bool changes_state)
{
	if (r != -CF_SKIP && r != -CF_BROKEN)
		return false;
	cf_note(w, r == -CF_SKIP ? CF_SKIPPED : CF_ERROR, false, NULL, "%s", w->b->why);
	if (changes_state || r == -CF_BROKEN) {
		w->gone_line = w->op->line;
		free(w->gone_why);
		w->gone_why = strdup(w->b->why);
	}
	return true;
}

void cf_skip(struct cf_walk *w, bool changes_state, const char *why)
{
	snprintf(w->b->why, sizeof(w->b->why), "%s", why);
	cf_refused(w, -CF_SKIP, changes_state);
}

/* "ok", "EFAULT": a result, judged against the statement's "=>" */
void cf_note_result(struct cf_walk *w, int64_t r)
{
	cf_note(w, CF_SEEN, scn_result_ok(&w->op->expect, r < 0 ? (int)-r : 0), NULL,
		"%s", cf_errname(r));
}

/*
 * The result of a statement that defines a name (mmap, fork, open ...):
 * the name gets this side's handle h or value v, or is skipped with the
 * statement; only the result is an observation.
 */
void cf_note_defined(struct cf_walk *w, int64_t r, bool changes_state, int h, uint64_t v)
{
	if (cf_refused(w, r, changes_state)) {
		cf_define(w, CF_SYM_SKIPPED, -1, 0);
		return;
	}
	cf_define(w, r < 0 ? CF_SYM_FAILED : CF_SYM_OK, h, v);
	cf_note_result(w, r);
}

/* ---- values ---- */

uint64_t cf_addr_of(struct cf_walk *w, const struct scn_addr *a)
{
	return a->sym < 0 ? a->off : w->vals[a->sym].v + a->off;
}

int cf_task_of(struct cf_walk *w, int sym)
{
	return w->vals[sym].h;
}

long cf_fd_of(struct cf_walk *w, const struct scn_op *op)
{
	return op->fdsym >= 0 ? (long)w->vals[op->fdsym].v : op->fd;
}

void cf_define(struct cf_walk *w, enum cf_sym_state st, int h, uint64_t v)
{
	struct cf_val *d = &w->vals[w->op->def];

	if (w->op->def < 0)
		return;
	d->state = st;
	d->line = w->op->line;
	d->h = h;
	d->v = v;
}

/* Is a symbol the statement uses missing on this side?  Then noted. */
static bool missing(struct cf_walk *w, int sym)
{
	struct cf_val *v;

	if (sym < 0)
		return false;
	v = &w->vals[sym];
	if (v->state == CF_SYM_SKIPPED) {
		cf_note(w, CF_SKIPPED, false, NULL, "%s was skipped at line %u",
			w->s->syms[sym].name, v->line);
		return true;
	}
	if (v->state == CF_SYM_FAILED) {
		cf_note(w, CF_SEEN, false, NULL, "n/a: %s failed at line %u",
			w->s->syms[sym].name, v->line);
		return true;
	}
	return false;
}

static bool deps_missing(struct cf_walk *w)
{
	const struct scn_op *op = w->op;

	return missing(w, op->task) || missing(w, op->task2) ||
	       missing(w, op->addr.sym) || missing(w, op->addr2.sym) ||
	       missing(w, op->pin) || missing(w, op->swap) || missing(w, op->fdsym) ||
	       missing(w, op->src_fdsym);
}

/* ---- bytes ---- */

static uint64_t fnv(const unsigned char *p, uint64_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL, i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static void quote(const unsigned char *p, uint64_t n, char *buf, size_t size)
{
	size_t o = 0;
	uint64_t i;

	buf[o++] = '"';
	for (i = 0; i < n && i < 12 && o + 6 < size; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\')
			buf[o++] = p[i];
		else
			o += snprintf(buf + o, size - o, "\\x%02x", p[i]);
	}
	snprintf(buf + o, size - o, "%s\"", i < n ? "..." : "");
}

/* Which allowed pattern the bytes are, for people: "matches 0x11". */
static void pattern_name(const struct scn_pattern *p, char *buf, size_t n)
{
	if (p->n == 1)
		snprintf(buf, n, "0x%02x", p->bytes[0]);
	else
		quote(p->bytes, p->n, buf, n);
}

static bool same_as(const struct scn_pattern *p, const unsigned char *buf, uint64_t len)
{
	uint64_t i;

	for (i = 0; i < len && buf[i] == p->bytes[i % p->n]; i++)
		;
	return i == len;
}

unsigned char *cf_load_buffer(struct cf_walk *w)
{
	unsigned char *buf = malloc(w->op->len ? w->op->len : 1);

	if (!buf)
		cf_note(w, CF_ERROR, false, NULL, "out of memory for %llu bytes",
			(unsigned long long)w->op->len);
	return buf;
}

/* The bytes a read or dma-read returned, as an observation. */
void cf_note_bytes(struct cf_walk *w, int64_t r, const unsigned char *buf)
{
	const struct scn_op *op = w->op;
	char q[64], name[64];
	int i;

	if (r < 0 || (!op->pat.present && op->len == 0)) {
		cf_note_result(w, r);
		return;
	}
	if (op->pat.present && scn_pattern_matches(op, buf, op->len)) {
		const struct scn_pattern *m = &op->pat;

		for (i = 0; !same_as(m, buf, op->len) && i < op->nalt; i++)
			m = &op->alt[i];
		pattern_name(m, name, sizeof(name));
		cf_note(w, CF_SEEN, scn_result_ok(&op->expect, 0), "ok, as expected",
			"ok, matches %s", name);
		return;
	}
	quote(buf, op->len, q, sizeof(q));
	cf_note(w, CF_SEEN, scn_result_ok(&op->expect, 0) && !op->pat.present, NULL,
		"ok, %s (%llu bytes, fnv 0x%016llx)", q, (unsigned long long)op->len,
		(unsigned long long)fnv(buf, op->len));
}

void cf_note_count_bytes(struct cf_walk *w, int64_t r, const unsigned char *buf, bool count_ok)
{
	const struct scn_op *op = w->op;
	uint64_t n = r > 0 ? (uint64_t)r : 0;
	char q[64];

	if (r < 0)
		return cf_note_result(w, r);
	if (!op->pat.present || scn_pattern_matches(op, buf, n))
		return cf_note(w, CF_SEEN, count_ok, NULL, "%llu bytes%s", (unsigned long long)n,
			       op->pat.present ? ", as expected" : "");
	quote(buf, n, q, sizeof(q));
	cf_note(w, CF_SEEN, false, NULL, "%llu bytes, %s (fnv 0x%016llx)", (unsigned long long)n,
		q, (unsigned long long)fnv(buf, n));
}

/* ---- frames ---- */

int cf_pagemap1(struct cf_walk *w, int task_sym, const struct scn_addr *a,
		uint64_t *e)
{
	int r = w->b->pagemap(w->b, cf_task_of(w, task_sym), cf_addr_of(w, a), 1, e);

	if (cf_refused(w, r, false))
		return -1;
	if (r < 0) {
		cf_note(w, CF_SEEN, false, NULL, "pagemap: %s", cf_errname(r));
		return -1;
	}
	return 0;
}

/* "same frame" or "different frames" between two present pages */
void cf_note_frames(struct cf_walk *w, bool present, uint64_t a, uint64_t b, bool want_same)
{
	if (!present)
		return cf_note(w, CF_SEEN, false, NULL, "not present");
	cf_note(w, CF_SEEN, (a == b) == want_same, NULL, "%s",
		a == b ? "same frame" : "different frames");
}

/* ---- the walk ---- */

static void step(struct cf_walk *w)
{
	const struct scn_cmd *c = scn_cmd_of(w->op->kind);

	/* machine, check, show, echo, expect killed: not observations */
	if (c && c->observe)
		c->observe(w);
}

/* Statements that see or change nothing a process can observe. */
static bool silent(const struct scn_op *op)
{
	const struct scn_cmd *c = scn_cmd_of(op->kind);

	return c && (c->flags & SCN_CMD_SILENT);
}

static bool lenient(const struct scn_op *op)
{
	return op->nalt > 0 || op->expect.any || op->expect.nerr + op->expect.ncount > 1;
}

/* After a skipped state change: unpin still releases what was taken. */
static void after_gone(struct cf_walk *w)
{
	const struct scn_cmd *c = scn_cmd_of(w->op->kind);

	if (c && (c->flags & SCN_CMD_RELEASE) && w->vals[w->op->pin].state == CF_SYM_OK)
		c->observe(w);
	if (!silent(w->op))
		cf_note(w, CF_SKIPPED, false, NULL, "after line %u: %s", w->gone_line,
			w->gone_why ? w->gone_why : "skipped");
	if (w->op->def >= 0 && !(c && (c->flags & SCN_CMD_RELEASE)))
		cf_define(w, CF_SYM_SKIPPED, -1, 0);
}

/* A broken invariant in the model is never agreement. */
static void check_reports(struct cf_walk *w)
{
	long now = w->b->reports(w->b);
	char *t;

	if (now == w->reports)
		return;
	w->reports = now;
	if (w->obs->state == CF_NONE)
		w->obs->state = CF_SEEN;
	if (asprintf(&t, "%s [%s invariant report]", w->obs->text ? w->obs->text : "",
		     w->b->name) >= 0) {
		free(w->obs->text);
		free(w->obs->key);
		w->obs->text = t;
		w->obs->key = NULL;
	}
	w->obs->holds = false;
}

int cf_observe(const struct scn_script *s, struct cf_backend *b, struct cf_log *log)
{
	struct cf_walk w = { .s = s, .b = b, .log = log };
	const struct scn_op *machine = s->nops && s->ops[0].kind == SCN_OP_MACHINE ?
				       &s->ops[0] : NULL;
	int i;

	log->s = s;
	log->end = NULL;
	log->obs = calloc(s->nops + 1, sizeof(*log->obs));
	w.vals = calloc(s->nsyms + 1, sizeof(*w.vals));
	w.marks = calloc(s->nstatrefs + 1, sizeof(*w.marks));
	w.mark_skip = calloc(s->nstatrefs + 1, sizeof(*w.mark_skip));
	if (!log->obs || !w.vals || !w.marks || !w.mark_skip || b->start(b, machine) < 0) {
		free(w.vals);
		free(w.marks);
		free(w.mark_skip);
		return -ENOMEM;
	}
	w.reports = b->reports(b);
	for (i = 0; i < s->nops; i++) {
		w.op = &s->ops[i];
		w.obs = &log->obs[i];
		if (w.gone_line)
			after_gone(&w);
		else if (silent(w.op) || !deps_missing(&w))
			step(&w);
		/* an observe function may have found the statement lenient itself */
		w.obs->lenient |= lenient(w.op);
		check_reports(&w);
	}
	log->end = b->stop(b);
	for (i = 0; i < s->nstatrefs; i++)
		free(w.mark_skip[i]);
	free(w.mark_skip);
	free(w.gone_why);
	free(w.vals);
	free(w.marks);
	return 0;
}

void cf_log_free(struct cf_log *log)
{
	int i;

	for (i = 0; log->obs && i < log->s->nops; i++) {
		free(log->obs[i].text);
		free(log->obs[i].key);
	}
	free(log->obs);
	log->obs = NULL;
}
