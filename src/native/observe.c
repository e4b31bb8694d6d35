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
 */
#define _GNU_SOURCE	/* pipe2, vmsplice, tee, F_SETPIPE_SZ, asprintf */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "mmlab.h"
#include "native/conform.h"

enum sym_state { SYM_UNSET, SYM_OK, SYM_FAILED, SYM_SKIPPED };

struct val {
	enum sym_state state;
	unsigned line;		/* where it failed or was skipped */
	int h;			/* the back end's task or pin handle */
	uint64_t v;		/* address or frame */
};

struct walk {
	const struct scn_script *s;
	struct cf_backend *b;
	struct cf_log *log;
	struct val *vals;
	long *marks;
	char **mark_skip;	/* why a statref could not be marked */
	unsigned gone_line;	/* a state change was skipped here; 0 = none */
	char *gone_why;
	long reports;
	const struct scn_op *op;
	struct cf_obs *obs;
	int64_t reclaimed;	/* what the latest reclaim returned */
};

/* ---- writing an observation ---- */

static void note(struct walk *w, enum cf_obs_state st, bool holds, const char *key,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void note(struct walk *w, enum cf_obs_state st, bool holds, const char *key,
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

static const char *errname(long r)
{
	return r >= 0 ? "ok" : scn_errno_name((int)-r);
}

/*
 * A back end's refusal: skipped (or broken) and, if the statement would
 * have changed the memory, everything after it too.  True if it was one.
 */
static bool refused(struct walk *w, int64_t r, bool changes_state)
{
	if (r != -CF_SKIP && r != -CF_BROKEN)
		return false;
	note(w, r == -CF_SKIP ? CF_SKIPPED : CF_ERROR, false, NULL, "%s", w->b->why);
	if (changes_state || r == -CF_BROKEN) {
		w->gone_line = w->op->line;
		free(w->gone_why);
		w->gone_why = strdup(w->b->why);
	}
	return true;
}

/* "ok", "EFAULT": a result, judged against the statement's "=>" */
static void note_result(struct walk *w, int64_t r)
{
	note(w, CF_SEEN, scn_result_ok(&w->op->expect, r < 0 ? (int)-r : 0), NULL,
	     "%s", errname(r));
}

/* ---- values ---- */

static uint64_t addr_of(struct walk *w, const struct scn_addr *a)
{
	return a->sym < 0 ? a->off : w->vals[a->sym].v + a->off;
}

static int task_of(struct walk *w, int sym)
{
	return w->vals[sym].h;
}

static void define(struct walk *w, enum sym_state st, int h, uint64_t v)
{
	struct val *d = &w->vals[w->op->def];

	if (w->op->def < 0)
		return;
	d->state = st;
	d->line = w->op->line;
	d->h = h;
	d->v = v;
}

/* Is a symbol the statement uses missing on this side?  Then noted. */
static bool missing(struct walk *w, int sym)
{
	struct val *v;

	if (sym < 0)
		return false;
	v = &w->vals[sym];
	if (v->state == SYM_SKIPPED) {
		note(w, CF_SKIPPED, false, NULL, "%s was skipped at line %u",
		     w->s->syms[sym].name, v->line);
		return true;
	}
	if (v->state == SYM_FAILED) {
		note(w, CF_SEEN, false, NULL, "n/a: %s failed at line %u",
		     w->s->syms[sym].name, v->line);
		return true;
	}
	return false;
}

static bool deps_missing(struct walk *w)
{
	const struct scn_op *op = w->op;

	return missing(w, op->task) || missing(w, op->task2) ||
	       missing(w, op->addr.sym) || missing(w, op->addr2.sym) ||
	       missing(w, op->pin) || missing(w, op->swap);
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

/* The bytes a read or dma-read returned, as an observation. */
static void note_bytes(struct walk *w, int64_t r, const unsigned char *buf)
{
	const struct scn_op *op = w->op;
	char q[64], name[64];
	int i;

	if (r < 0 || (!op->pat.present && op->len == 0)) {
		note_result(w, r);
		return;
	}
	if (op->pat.present && scn_pattern_matches(op, buf, op->len)) {
		const struct scn_pattern *m = &op->pat;

		for (i = 0; !same_as(m, buf, op->len) && i < op->nalt; i++)
			m = &op->alt[i];
		pattern_name(m, name, sizeof(name));
		note(w, CF_SEEN, scn_result_ok(&op->expect, 0), "ok, as expected",
		     "ok, matches %s", name);
		return;
	}
	quote(buf, op->len, q, sizeof(q));
	note(w, CF_SEEN, scn_result_ok(&op->expect, 0) && !op->pat.present, NULL,
	     "ok, %s (%llu bytes, fnv 0x%016llx)", q, (unsigned long long)op->len,
	     (unsigned long long)fnv(buf, op->len));
}

/* ---- statements ---- */

static void do_task(struct walk *w)
{
	int child = -1;
	int r = w->b->task(w->b, w->op->kind,
			   w->op->kind == SCN_OP_SPAWN ? -1 : task_of(w, w->op->task),
			   &child);

	if (refused(w, r, true)) {
		define(w, SYM_SKIPPED, -1, 0);
		return;
	}
	define(w, r < 0 ? SYM_FAILED : SYM_OK, child, 0);
	note_result(w, r);
}

static void do_mmap(struct walk *w)
{
	const struct scn_op *op = w->op;
	int64_t r = w->b->mmap(w->b, task_of(w, op->task), addr_of(w, &op->addr),
			       op->len, op->arg, op->flags, op->fd, op->off);

	if (refused(w, r, true)) {
		define(w, SYM_SKIPPED, -1, 0);
		return;
	}
	/* the address itself is not an observation: hosts place maps apart */
	define(w, r < 0 ? SYM_FAILED : SYM_OK, -1, (uint64_t)r);
	note_result(w, r);
}

static void do_range(struct walk *w)
{
	const struct scn_op *op = w->op;
	int r = w->b->range(w->b, op->kind, task_of(w, op->task),
			    addr_of(w, &op->addr), op->len, op->arg);

	if (!refused(w, r, true))
		note_result(w, r);
}

static void do_write(struct walk *w)
{
	const struct scn_op *op = w->op;
	int r = w->b->write(w->b, task_of(w, op->task), addr_of(w, &op->addr),
			    op->len, &op->pat);

	if (!refused(w, r, true))
		note_result(w, r);
}

static void do_read(struct walk *w)
{
	const struct scn_op *op = w->op;
	unsigned char *buf = malloc(op->len ? op->len : 1);
	int r;

	if (!buf) {
		note(w, CF_ERROR, false, NULL, "out of memory for %llu bytes",
		     (unsigned long long)op->len);
		return;
	}
	if (op->kind == SCN_OP_READ)
		r = w->b->read(w->b, task_of(w, op->task), addr_of(w, &op->addr),
			       op->len, buf);
	else
		r = w->b->dma_read(w->b, w->vals[op->pin].h, op->pos, op->len, buf);
	/* a load faults pages in: skipping one leaves the state behind */
	if (!refused(w, r, op->kind == SCN_OP_READ))
		note_bytes(w, r, buf);
	free(buf);
}

static int pagemap1(struct walk *w, int task_sym, const struct scn_addr *a,
		    uint64_t *e)
{
	int r = w->b->pagemap(w->b, task_of(w, task_sym), addr_of(w, a), 1, e);

	if (refused(w, r, false))
		return -1;
	if (r < 0) {
		note(w, CF_SEEN, false, NULL, "pagemap: %s", errname(r));
		return -1;
	}
	return 0;
}

static void do_frame(struct walk *w)
{
	uint64_t e;

	if (pagemap1(w, w->op->task, &w->op->addr, &e)) {
		define(w, w->obs->state == CF_SKIPPED ? SYM_SKIPPED : SYM_FAILED, -1, 0);
		return;
	}
	define(w, e & MML_PM_PRESENT ? SYM_OK : SYM_FAILED, -1, e & MML_PM_PFRAME_MASK);
	note(w, CF_SEEN, e & MML_PM_PRESENT, NULL, "%s",
	     e & MML_PM_PRESENT ? "present" : "not present");
}

static const struct { uint64_t bit; const char *name; } pm_names[] = {
	{ MML_PM_PRESENT, "present" }, { MML_PM_SWAP, "swapped" },
	{ MML_PM_MMAP_EXCLUSIVE, "exclusive" }, { MML_PM_SOFT_DIRTY, "soft-dirty" },
	{ MML_PM_UFFD_WP, "uffd-wp" }, { MML_PM_FILE, "file" },
};

/* The bits the statement names, as seen: "present !exclusive". */
static void pm_seen(uint64_t e, uint64_t mask, char *buf, size_t n)
{
	size_t o = 0;
	unsigned i;

	buf[0] = '\0';
	for (i = 0; i < sizeof(pm_names) / sizeof(pm_names[0]) && o < n; i++)
		if (mask & pm_names[i].bit)
			o += snprintf(buf + o, n - o, "%s%s%s", o ? " " : "",
				      e & pm_names[i].bit ? "" : "!", pm_names[i].name);
}

static void do_expect_pagemap(struct walk *w)
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
		return note(w, CF_ERROR, false, NULL, "out of memory");
	r = w->b->pagemap(w->b, task_of(w, op->task), addr_of(w, &op->addr), n, e);
	if (refused(w, r, false) || (r < 0 && (note_result(w, r), 1))) {
		free(e);
		return;
	}
	f = open_memstream(&text, &tn);
	pm_seen(e[0], mask, first, sizeof(first));
	for (i = 0; i < n; i++) {
		pm_seen(e[i], mask, cur, sizeof(cur));
		holds &= (e[i] & op->pm_set) == op->pm_set && !(e[i] & op->pm_clear);
		uniform &= !strcmp(cur, first);
		if (f && n > 1)
			fprintf(f, "%s%llu: %s", i ? "; " : "", (unsigned long long)i, cur);
	}
	if (f)
		fclose(f);
	if (n == 1 || uniform)
		note(w, CF_SEEN, holds, NULL, "%s%s", n > 1 ? "every page: " : "", first);
	else
		note(w, CF_SEEN, holds, NULL, "%s", text ? text : "?");
	free(text);
	free(e);
}

/* "same frame" or "different frames" between two present pages */
static void note_frames(struct walk *w, bool present, uint64_t a, uint64_t b, bool want_same)
{
	if (!present)
		return note(w, CF_SEEN, false, NULL, "not present");
	note(w, CF_SEEN, (a == b) == want_same, NULL, "%s",
	     a == b ? "same frame" : "different frames");
}

static void do_expect_frames(struct walk *w)
{
	const struct scn_op *op = w->op;
	uint64_t a, b;

	if (pagemap1(w, op->task, &op->addr, &a) || pagemap1(w, op->task2, &op->addr2, &b))
		return;
	note_frames(w, (a & b & MML_PM_PRESENT) != 0, a & MML_PM_PFRAME_MASK,
		    b & MML_PM_PFRAME_MASK, op->kind == SCN_OP_EXPECT_SAME);
}

static void do_expect_frame(struct walk *w)
{
	const struct scn_op *op = w->op;
	uint64_t e;

	if (pagemap1(w, op->task, &op->addr, &e))
		return;
	note_frames(w, e & MML_PM_PRESENT, e & MML_PM_PFRAME_MASK,
		    w->vals[op->task2].v, op->cmp == SCN_EQ);
}

static void do_expect_pin_frame(struct walk *w)
{
	const struct scn_op *op = w->op;
	uint64_t e, pfn = 0;
	int r = w->b->pin_pfn(w->b, w->vals[op->pin].h, op->pos, &pfn);

	if (refused(w, r, false) || pagemap1(w, op->task, &op->addr, &e))
		return;
	note_frames(w, e & MML_PM_PRESENT, pfn, e & MML_PM_PFRAME_MASK, op->cmp == SCN_EQ);
}

static void do_mark(struct walk *w)
{
	int i, r;

	for (i = 0; i < w->s->nstatrefs; i++) {
		const struct scn_statref *sr = &w->s->statrefs[i];

		free(w->mark_skip[i]);
		w->mark_skip[i] = NULL;
		r = w->b->stat(w->b, sr->src, sr->name, true, &w->marks[i]);
		if (r == -CF_SKIP || r == -CF_BROKEN || r < 0)
			w->mark_skip[i] = strdup(r < 0 && r > -4096 ? errname(r) : w->b->why);
	}
}

/* Counters: only whether the comparison holds is compared (noise). */
static void do_expect_stat(struct walk *w)
{
	const struct scn_op *op = w->op;
	long v;
	int r;

	if (op->delta && w->mark_skip[op->statref])
		return note(w, CF_SKIPPED, false, NULL, "mark: %s", w->mark_skip[op->statref]);
	r = w->b->stat(w->b, op->src, op->name, op->delta, &v);
	if (refused(w, r, false))
		return;
	if (r < 0)
		return note_result(w, r);
	if (op->delta)
		v -= w->marks[op->statref];
	note(w, CF_SEEN, scn_cmp_holds(v, op->cmp, op->value),
	     scn_cmp_holds(v, op->cmp, op->value) ? "holds" : "fails",
	     "%s%s %s = %ld", op->src == SCN_VMSTAT ? "vmstat" : "meminfo",
	     op->delta ? "-delta" : "", op->name, v);
}

static void do_expect_vmas(struct walk *w)
{
	const struct scn_op *op = w->op;
	uint64_t lo = addr_of(w, &op->addr);
	int r = w->b->vmas(w->b, task_of(w, op->task), lo, lo + op->len);

	if (refused(w, r, false))
		return;
	if (r < 0)
		return note_result(w, r);
	note(w, CF_SEEN, scn_cmp_holds(r, op->cmp, op->value), NULL, "%d VMA%s", r,
	     r == 1 ? "" : "s");
}

/*
 * smaps is per process, so unlike the counters the value itself is
 * compared; a file that allows several values ("LazyFree == 0|8") makes
 * the observation lenient.
 */
static void do_expect_smaps(struct walk *w)
{
	const struct scn_op *op = w->op;
	int64_t kb = 0;
	int r = w->b->smaps(w->b, task_of(w, op->task), addr_of(w, &op->addr), op->name, &kb);

	if (refused(w, r, false))
		return;
	if (r == -ENOENT)
		return note(w, CF_SEEN, false, NULL, "smaps: no VMA at the address");
	if (r < 0)
		return note_result(w, r);
	note(w, CF_SEEN, scn_value_holds(op, kb), NULL, "smaps %s = %lld kB", op->name,
	     (long long)kb);
}

static void do_expect_addr(struct walk *w)
{
	const struct scn_op *op = w->op;
	bool holds = scn_cmp_holds((int64_t)(addr_of(w, &op->addr) - addr_of(w, &op->addr2)),
			       SCN_EQ, 0);

	if (op->cmp != SCN_EQ && op->cmp != SCN_NE) {
		uint64_t a = addr_of(w, &op->addr), b = addr_of(w, &op->addr2);

		holds = op->cmp == SCN_LT ? a < b : op->cmp == SCN_LE ? a <= b :
			op->cmp == SCN_GT ? a > b : a >= b;
	} else if (op->cmp == SCN_NE) {
		holds = !holds;
	}
	note(w, CF_SEEN, holds, NULL, "%s", holds ? "holds" : "does not hold");
}

static void do_pin(struct walk *w)
{
	const struct scn_op *op = w->op;
	int pin = -1;
	int64_t r = w->b->pin(w->b, task_of(w, op->task), addr_of(w, &op->addr),
			      op->len, op->flags, op->arg != 0, op->def >= 0, &pin);

	if (refused(w, r, true)) {
		define(w, SYM_SKIPPED, -1, 0);
		return;
	}
	if (op->def >= 0 && r >= 0 && (uint64_t)r != op->len) {
		define(w, SYM_FAILED, -1, 0);
		return note(w, CF_SEEN, false, NULL, "took %lld of %llu pages",
			    (long long)r, (unsigned long long)op->len);
	}
	define(w, r < 0 ? SYM_FAILED : SYM_OK, pin, 0);
	note_result(w, r);
}

static void do_unpin(struct walk *w)
{
	w->b->unpin(w->b, w->vals[w->op->pin].h);
	w->vals[w->op->pin].state = SYM_UNSET;
}

static void do_dma_write(struct walk *w)
{
	const struct scn_op *op = w->op;
	int r = w->b->dma_write(w->b, w->vals[op->pin].h, op->pos, op->len, &op->pat);

	if (!refused(w, r, true))
		note_result(w, r);
}

/*
 * swapon: only the result is an observation, never the device number.
 * The unnamed form leaves no device behind, so skipping it changes nothing.
 */
static void do_swapon(struct walk *w)
{
	const struct scn_op *op = w->op;
	int h = -1;
	int r = w->b->swapon(w->b, op->len, op->prio, op->swap_file, op->def >= 0, &h);

	if (refused(w, r, op->def >= 0)) {
		define(w, SYM_SKIPPED, -1, 0);
		return;
	}
	define(w, r < 0 ? SYM_FAILED : SYM_OK, h, 0);
	note_result(w, r);
}

static void do_swapoff(struct walk *w)
{
	int r = w->b->swapoff(w->b, w->vals[w->op->swap].h);

	if (!refused(w, r, true))
		note_result(w, r);
}

/* the count is not compared (the kernels' lists differ); the result is */
static void do_reclaim(struct walk *w)
{
	int64_t r = w->b->reclaim(w->b, w->op->len);

	if (refused(w, r, true))
		return;
	w->reclaimed = r;
	note_result(w, r);
}

static void do_expect_reclaimed(struct walk *w)
{
	bool holds = scn_cmp_holds(w->reclaimed, w->op->cmp, w->op->value);

	note(w, CF_SEEN, holds, holds ? "holds" : "fails", "reclaimed = %lld",
	     (long long)w->reclaimed);
}

/* ---- tags and fault injection ---- */

static void do_tag(struct walk *w)
{
	const struct scn_op *op = w->op;
	uint64_t start = addr_of(w, &op->addr), a;
	unsigned tag = op->tags[0];
	int r = 0;

	for (a = start; a < start + op->len && a >= start && !r; a = scn_next_granule(a))
		r = w->b->tag(w->b, task_of(w, op->task), a, true, &tag);
	if (!refused(w, r, true))
		note_result(w, r);
}

/* The tags of the range as an observation: all one value, or the first that differs. */
static void do_expect_tag(struct walk *w)
{
	const struct scn_op *op = w->op;
	uint64_t start = addr_of(w, &op->addr), a;
	unsigned tag = 0, first = 0;
	bool same = true, hit = false, holds;
	int r = 0, k;

	for (a = start; a < start + op->len && a >= start; a = scn_next_granule(a)) {
		r = w->b->tag(w->b, task_of(w, op->task), a, false, &tag);
		if (r)
			break;
		if (a == start)
			first = tag;
		same &= tag == first;
		hit |= op->ntags && tag == op->tags[0];
	}
	/* a load faults pages in: skipping one leaves the state behind */
	if (refused(w, r, true))
		return;
	if (r < 0 || op->ntags == 0) {
		note(w, CF_SEEN, op->ntags == 0 && scn_result_ok(&op->expect, r < 0 ? (int)-r : 0), NULL,
		     "%s", errname(r));
		return;
	}
	for (k = 0; k < op->ntags && op->tags[k] != first; k++)
		;
	holds = op->cmp == SCN_EQ ? same && k < op->ntags : !hit;
	if (same)
		note(w, CF_SEEN, holds, NULL, "ok, tags %u", first);
	else
		note(w, CF_SEEN, holds, NULL, "ok, tags differ (%u, then %u)", first, tag);
}

static void do_fail(struct walk *w)
{
	const struct scn_op *op = w->op;
	int r = w->b->fail(w->b, op->fail_sites, op->fail_nth, op->fail_repeat);

	/* what fails from now on is this side's own: the two no longer compare */
	if (!refused(w, r, true))
		note_result(w, r);
}

static void step(struct walk *w)
{
	switch (w->op->kind) {
	case SCN_OP_SPAWN:
	case SCN_OP_THREAD:
	case SCN_OP_FORK:
		return do_task(w);
	case SCN_OP_EXIT:
		return note_result(w, w->b->exit(w->b, task_of(w, w->op->task)));
	case SCN_OP_MMAP:
		return do_mmap(w);
	case SCN_OP_MUNMAP:
	case SCN_OP_MPROTECT:
	case SCN_OP_MADVISE:
		return do_range(w);
	case SCN_OP_WRITE:
		return do_write(w);
	case SCN_OP_READ:
	case SCN_OP_DMA_READ:
		return do_read(w);
	case SCN_OP_FRAME:
		return do_frame(w);
	case SCN_OP_EXPECT_PAGEMAP:
		return do_expect_pagemap(w);
	case SCN_OP_EXPECT_SAME:
	case SCN_OP_EXPECT_DIFF:
		return do_expect_frames(w);
	case SCN_OP_EXPECT_FRAME:
		return do_expect_frame(w);
	case SCN_OP_EXPECT_STAT:
		return do_expect_stat(w);
	case SCN_OP_EXPECT_VMAS:
		return do_expect_vmas(w);
	case SCN_OP_EXPECT_SMAPS:
		return do_expect_smaps(w);
	case SCN_OP_EXPECT_ADDR:
		return do_expect_addr(w);
	case SCN_OP_MARK:
		return do_mark(w);
	case SCN_OP_PIN:
		return do_pin(w);
	case SCN_OP_UNPIN:
		return do_unpin(w);
	case SCN_OP_DMA_WRITE:
		return do_dma_write(w);
	case SCN_OP_EXPECT_PIN_FRAME:
		return do_expect_pin_frame(w);
	case SCN_OP_SWAPON:
		return do_swapon(w);
	case SCN_OP_SWAPOFF:
		return do_swapoff(w);
	case SCN_OP_RECLAIM:
		return do_reclaim(w);
	case SCN_OP_EXPECT_RECLAIMED:
		return do_expect_reclaimed(w);
	case SCN_OP_TAG:
		return do_tag(w);
	case SCN_OP_EXPECT_TAG:
		return do_expect_tag(w);
	case SCN_OP_FAIL:
		return do_fail(w);
	default:
		return;		/* machine, check, show, echo: not observations */
	}
}

/* Statements that see or change nothing a process can observe. */
static bool silent(const struct scn_op *op)
{
	return op->kind == SCN_OP_MACHINE || op->kind == SCN_OP_CHECK ||
	       op->kind == SCN_OP_SHOW || op->kind == SCN_OP_ECHO ||
	       op->kind == SCN_OP_MARK || op->kind == SCN_OP_UNPIN;
}

static bool lenient(const struct scn_op *op)
{
	return op->nalt > 0 || op->expect.any || op->expect.nerr > 1;
}

/* After a skipped state change: unpin still releases what was taken. */
static void after_gone(struct walk *w)
{
	if (w->op->kind == SCN_OP_UNPIN && w->vals[w->op->pin].state == SYM_OK)
		do_unpin(w);
	if (!silent(w->op))
		note(w, CF_SKIPPED, false, NULL, "after line %u: %s", w->gone_line,
		     w->gone_why ? w->gone_why : "skipped");
	if (w->op->def >= 0 && w->op->kind != SCN_OP_UNPIN)
		define(w, SYM_SKIPPED, -1, 0);
}

/* A broken invariant in the model is never agreement. */
static void check_reports(struct walk *w)
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
	struct walk w = { .s = s, .b = b, .log = log };
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
		w.obs->lenient = lenient(w.op);
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
