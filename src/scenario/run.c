/*
 * run.c - the scenario interpreter: a parsed script against a simulated
 * machine, through the public API only.
 *
 * Runs statement by statement and stops at the first failed expectation
 * (later statements usually depend on the earlier ones, so going on only
 * adds noise).  At the end, or after a failure, the tasks still alive are
 * exited, youngest first, and the machine is freed; a leak or a broken
 * invariant found then fails the scenario.
 *
 * Each statement's run function is in its cmd_*.c (command.h); this file
 * holds the machine, the values of the names, and the ways a statement
 * reports or looks at the machine.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "oracle/vmstat_trace.h"
#include "scenario/command.h"
#include "scenario/report.h"

/* The first failure of a run, for a caller that reports it itself (mmlab run --json). */
static void note_failure(struct scn_runner *r, const char *fmt, va_list ap)
{
	struct scn_stats *st = r->o ? r->o->stats : NULL;

	if (!st || st->failure[0])
		return;
	st->fail_line = r->op ? r->op->line : 0;
	vsnprintf(st->failure, sizeof(st->failure), fmt, ap);
}

/* "file:line: " and the message: a failed expectation. */
int scn_fail(struct scn_runner *r, const char *fmt, ...)
{
	va_list ap;

	fprintf(r->err, "%s:%u: ", r->s->name, r->op ? r->op->line : 0);
	va_start(ap, fmt);
	vfprintf(r->err, fmt, ap);
	va_end(ap);
	fputc('\n', r->err);
	va_start(ap, fmt);
	note_failure(r, fmt, ap);
	va_end(ap);
	return SCN_FAIL;
}

int scn_bad(struct scn_runner *r, unsigned col, const char *fmt, ...)
{
	va_list ap;

	fprintf(r->err, "%s:%u:%u: ", r->s->name, r->op->line, col);
	va_start(ap, fmt);
	vfprintf(r->err, fmt, ap);
	va_end(ap);
	fputc('\n', r->err);
	va_start(ap, fmt);
	note_failure(r, fmt, ap);
	va_end(ap);
	return SCN_BAD;
}

/* ---- values ---- */

uint64_t scn_addr_of(struct scn_runner *r, const struct scn_addr *a)
{
	return a->sym < 0 ? a->off : r->vals[a->sym].v + a->off;
}

int scn_fd_of(struct scn_runner *r, const struct scn_op *op)
{
	return op->fdsym >= 0 ? (int)r->vals[op->fdsym].v : (int)op->fd;
}

struct mml_task *scn_task_of(struct scn_runner *r, int sym)
{
	return r->vals[sym].task;
}

/* "A p+0x1000 (0x7f0000001000)" into buf: how failures name a place. */
const char *scn_where(struct scn_runner *r, int task, const struct scn_addr *a,
		      uint64_t extra, char *buf, size_t n)
{
	uint64_t va = scn_addr_of(r, a) + extra;
	uint64_t off = a->off + extra;

	if (a->sym < 0)
		snprintf(buf, n, "%s 0x%llx", r->s->syms[task].name,
			 (unsigned long long)va);
	else if (off == 0)
		snprintf(buf, n, "%s %s (0x%llx)", r->s->syms[task].name,
			 r->s->syms[a->sym].name, (unsigned long long)va);
	else if ((int64_t)off < 0)
		snprintf(buf, n, "%s %s-0x%llx (0x%llx)", r->s->syms[task].name,
			 r->s->syms[a->sym].name, (unsigned long long)(0 - off),
			 (unsigned long long)va);
	else
		snprintf(buf, n, "%s %s+0x%llx (0x%llx)", r->s->syms[task].name,
			 r->s->syms[a->sym].name, (unsigned long long)off,
			 (unsigned long long)va);
	return buf;
}

void scn_live_add(struct scn_runner *r, struct mml_task *t)
{
	r = r->main;
	r->live[r->nlive++] = t;
}

void scn_live_del(struct scn_runner *r, struct mml_task *t)
{
	int i;

	r = r->main;
	for (i = 0; i < r->nlive; i++) {
		if (r->live[i] == t) {
			memmove(&r->live[i], &r->live[i + 1],
				(r->nlive - i - 1) * sizeof(r->live[0]));
			r->nlive--;
			return;
		}
	}
}

/* ---- results ---- */

static void expect_str(const struct scn_expect *e, char *buf, size_t n)
{
	size_t o = 0;
	int i;

	buf[0] = '\0';
	if (e->nerr == 0)
		snprintf(buf, n, "ok");
	for (i = 0; i < e->nerr && o < n; i++)
		o += snprintf(buf + o, n - o, "%s%s", i ? "|" : "",
			      scn_errno_name(e->err[i]));
}

/* ret: >= 0 success, -errno failure.  SCN_PASS or SCN_FAIL. */
int scn_check_result(struct scn_runner *r, long ret)
{
	int got = ret < 0 ? (int)-ret : 0;
	char exp[64];

	if (scn_result_ok(&r->op->expect, got))
		return SCN_PASS;
	expect_str(&r->op->expect, exp, sizeof(exp));
	return scn_fail(r, "%s: expected %s, got %s", scn_cmd_name(r->op), exp,
			scn_errno_name(got));
}

int scn_within(struct scn_runner *r, const char *what, uint64_t len, uint64_t max)
{
	if (!max || len <= max)
		return SCN_PASS;
	return scn_bad(r, 1, "%s of %llu bytes is over this run's limit of %llu",
		       what, (unsigned long long)len, (unsigned long long)max);
}

/* ---- bytes ---- */

static void fill(unsigned char *buf, uint64_t len, const struct scn_pattern *pat);

void scn_fill_pattern(unsigned char *buf, uint64_t len, const struct scn_pattern *pat)
{
	fill(buf, len, pat);
}

static void fill(unsigned char *buf, uint64_t len, const struct scn_pattern *pat)
{
	uint64_t i;

	if (pat->n == 1) {
		memset(buf, pat->bytes[0], len);
		return;
	}
	for (i = 0; i < len; i++)
		buf[i] = pat->bytes[i % pat->n];
}

unsigned char *scn_io_buffer(struct scn_runner *r, const struct scn_op *op, bool store, int *status)
{
	unsigned char *buf;

	*status = scn_within(r, scn_cmd_name(op), op->len, r->limits->io);
	if (*status)
		return NULL;
	buf = malloc(op->len ? op->len : 1);
	if (!buf) {
		*status = scn_fail(r, "%s: out of host memory for %llu bytes", scn_cmd_name(op),
				   (unsigned long long)op->len);
		return NULL;
	}
	if (store)
		fill(buf, op->len, &op->pat);
	return buf;
}

/* Up to 16 bytes at p as a C string, for "expected ..., got ..." */
static void quote(const unsigned char *p, uint64_t n, char *buf, size_t size)
{
	size_t o = 0;
	uint64_t i;

	buf[o++] = '"';
	for (i = 0; i < n && i < 16 && o + 6 < size; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\')
			buf[o++] = p[i];
		else
			o += snprintf(buf + o, size - o, "\\x%02x", p[i]);
	}
	if (i < n && o + 5 < size)
		o += snprintf(buf + o, size - o, "...");
	snprintf(buf + o, size - o, "\"");
}

static bool pattern_matches(const struct scn_pattern *pat,
			    const unsigned char *buf, uint64_t len)
{
	uint64_t i;

	for (i = 0; i < len && buf[i] == pat->bytes[i % pat->n]; i++)
		;
	return i == len;
}

bool scn_pattern_matches(const struct scn_op *op, const unsigned char *buf,
			 uint64_t len)
{
	int i;

	if (pattern_matches(&op->pat, buf, len))
		return true;
	for (i = 0; i < op->nalt; i++)
		if (pattern_matches(&op->alt[i], buf, len))
			return true;
	return false;
}

/* " (or one of 2 other allowed patterns)" after a mismatch, if any */
static const char *alts_note(const struct scn_op *op, char *buf, size_t n)
{
	buf[0] = '\0';
	if (op->nalt)
		snprintf(buf, n, " (nor %s%d other allowed pattern%s)",
			 op->nalt > 1 ? "any of " : "", op->nalt,
			 op->nalt > 1 ? "s" : "");
	return buf;
}

int scn_check_load(struct scn_runner *r, const struct scn_op *op, int ret,
		   const unsigned char *buf, scn_place_fn *place)
{
	if (ret < 0 || !op->pat.present || scn_check_result(r, 0))
		return ret < 0 || !op->pat.present ? scn_check_result(r, ret) : SCN_FAIL;
	return scn_check_bytes(r, op, buf, op->len, place);
}

int scn_check_bytes(struct scn_runner *r, const struct scn_op *op, const unsigned char *buf,
		    uint64_t len, scn_place_fn *place)
{
	const struct scn_pattern *pat = &op->pat;
	char w[160], e[96], g[96], a[64];
	uint64_t i, start, n;

	if (!pat->present || scn_pattern_matches(op, buf, len))
		return SCN_PASS;
	for (i = 0; i < len && buf[i] == pat->bytes[i % pat->n]; i++)
		;
	if (pat->n == 1)
		return scn_fail(r, "%s: expected 0x%02x at %s, got 0x%02x%s", scn_cmd_name(op),
				pat->bytes[0], place(r, op, i, true, w, sizeof(w)), buf[i],
				alts_note(op, a, sizeof(a)));
	/* show the pattern's period that holds the first difference */
	start = i - i % pat->n;
	n = len - start < pat->n ? len - start : pat->n;
	quote(pat->bytes, n, e, sizeof(e));
	quote(buf + start, n, g, sizeof(g));
	return scn_fail(r, "%s: expected %s at %s, got %s (first difference at byte %llu)%s",
			scn_cmd_name(op), e, place(r, op, start, false, w, sizeof(w)), g,
			(unsigned long long)i, alts_note(op, a, sizeof(a)));
}

/* Unpin and detach what the file still holds (after a failure, or on request). */
static void release_held(struct scn_runner *r)
{
	int i;

	for (i = 0; i < r->s->nsyms; i++) {
		mml_unpin(r->vals[i].pin);
		r->vals[i].pin = NULL;
		mml_device_free(r->vals[i].dev);
		r->vals[i].dev = NULL;
	}
}

/* ---- pagemap ---- */

void scn_pm_describe(uint64_t e, char *buf, size_t n)
{
	char bits[96];

	scn_pm_bits_str(e, 0, bits, sizeof(bits));
	snprintf(buf, n, "0x%016llx%s%s", (unsigned long long)e, bits[0] ? " " : "", bits);
	if (e & MML_PM_PRESENT) {
		size_t o = strlen(buf);

		snprintf(buf + o, n - o, " pfn 0x%llx",
			 (unsigned long long)(e & MML_PM_PFRAME_MASK));
	} else if (e & MML_PM_SWAP) {
		size_t o = strlen(buf);

		snprintf(buf + o, n - o, " type %llu offset 0x%llx",
			 (unsigned long long)(e & MML_PM_SWAP_TYPE_MASK),
			 (unsigned long long)((e & MML_PM_PFRAME_MASK) >>
					      MML_PM_SWAP_OFFSET_SHIFT));
	} else if (!e) {
		snprintf(buf, n, "0x0 (none)");
	}
}

int scn_pagemap_at(struct scn_runner *r, int task, const struct scn_addr *a,
		   uint64_t extra, uint64_t *e)
{
	char w[160];
	int ret = mml_pagemap(scn_task_of(r, task), scn_addr_of(r, a) + extra, e);

	if (ret < 0)
		return scn_fail(r, "pagemap of %s: got %s", scn_where(r, task, a, extra, w, sizeof(w)),
				scn_errno_name(-ret));
	return SCN_PASS;
}

uint64_t scn_pages_in(uint64_t len)
{
	uint64_t ps = mml_page_size();

	return len ? (len + ps - 1) / ps : 1;
}

/* The frame mapped at a place; a frame expectation needs a present page. */
int scn_frame_at(struct scn_runner *r, int task, const struct scn_addr *a, uint64_t *pfn)
{
	char w[160], got[160];
	uint64_t e;

	if (scn_pagemap_at(r, task, a, 0, &e))
		return SCN_FAIL;
	if (!(e & MML_PM_PRESENT)) {
		scn_pm_describe(e, got, sizeof(got));
		return scn_fail(r, "expected a present page at %s, got pagemap %s",
				scn_where(r, task, a, 0, w, sizeof(w)), got);
	}
	*pfn = e & MML_PM_PFRAME_MASK;
	return SCN_PASS;
}

/* ---- counters and /proc ---- */

long scn_stat_read(struct scn_runner *r, enum scn_stat_src src, const char *name)
{
	return src == SCN_VMSTAT ? mml_vmstat(r->m, name) : mml_meminfo(r->m, name);
}

/* A view into a malloc'd string, so it can be filtered or counted. */
char *scn_capture(struct scn_runner *r, const struct scn_op *op, int *ret)
{
	struct mml_task *t = op->task >= 0 ? scn_task_of(r, op->task) : NULL;
	char *text = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&text, &n);

	if (!f) {
		*ret = -ENOMEM;
		return NULL;
	}
	if ((op->kind == SCN_OP_SHOW && op->arg == SCN_SHOW_SMAPS) ||
	    op->kind == SCN_OP_EXPECT_SMAPS || op->kind == SCN_OP_EXPECT_VMA)
		*ret = mml_show_smaps(t, f);
	else
		*ret = mml_show_maps(t, f);
	fclose(f);
	return text;
}

/* ---- the machine ---- */

#define DEFAULT_RAM	(64ULL << 20)	/* the library's, for ram= left out */

/* What the command line asked for every machine: bugs, fault injection. */
static int machine_arm(struct scn_runner *r)
{
	const struct scn_opts *o = r->o;
	int i, ret;

	for (i = 0; o && i < o->nbugs; i++) {
		ret = mml_bug_inject(r->m, o->bugs[i]);
		if (ret < 0) {
			fprintf(r->err, "%s: unknown bug '%s' (see 'mmlab bugs')\n",
				r->s->name, o->bugs[i]);
			return SCN_BAD;
		}
	}
	if (o && o->trace) {
		if (mml_trace_enable(r->m, o->trace) < 0) {
			fprintf(r->err, "%s: --trace '%s' names no trace event (see 'mmlab run --trace list')\n",
				r->s->name, o->trace);
			return SCN_BAD;
		}
		mml_trace_set_output(r->m, o->trace_out ? o->trace_out : r->out);
	}
	if (o && o->fail_rate_ppm) {
		struct mml_fail f = {
			.sites = MML_FAIL_ALL,
			.rate_ppm = o->fail_rate_ppm,
			.seed = o->fail_seed,
		};

		ret = mml_fail_set(r->m, &f);
		if (ret < 0) {
			fprintf(r->err, "%s: bad fault-injection rate %u ppm\n",
				r->s->name, o->fail_rate_ppm);
			return SCN_BAD;
		}
	}
	return SCN_PASS;
}

static int machine_start(struct scn_runner *r, const struct scn_op *op)
{
	struct mml_config cfg = { .flags = MML_CHECK_EVERY_OP };
	uint64_t cap = r->limits->ram;
	int status;

	scn_machine_config(op, &cfg);
	if (r->no_check)
		cfg.flags &= ~MML_CHECK_EVERY_OP;
	if (r->o && r->o->quiet)
		cfg.flags |= MML_QUIET;
	/* A threads block runs under the scheduler, which needs the machine made for it. */
	for (int i = 0; i < r->s->nops; i++)
		if (r->s->ops[i].kind == SCN_OP_THREADS)
			cfg.flags |= MML_DETERMINISTIC;
	if (r->o && r->o->sched_seed_set)
		cfg.seed = r->o->sched_seed;
	r->seed = cfg.seed;
	r->quiet = cfg.flags & MML_QUIET;
	/* cut, not refused: the rest of a fuzzed file still gets to run */
	if (cap && (cfg.ram_bytes ? cfg.ram_bytes : DEFAULT_RAM) > cap)
		cfg.ram_bytes = cap;
	r->m = mml_machine_new(&cfg);
	if (!r->m) {
		fprintf(r->err, "%s: cannot create the machine\n", r->s->name);
		return SCN_BAD;
	}
	status = machine_arm(r);
	if (status) {
		mml_machine_free(r->m);
		r->m = NULL;
	}
	return status;
}

/* Exit what is left, youngest first, then free: leaks fail the scenario. */
static int machine_stop(struct scn_runner *r, int status)
{
	/*
	 * Pins and devices outlive the processes; a passing file must unpin
	 * what it pinned and detach what it attached, or mml_machine_free
	 * reports the leak.  After a failure they are released, so the
	 * report is only the failure.
	 */
	bool release = status != SCN_PASS || (r->o && r->o->release_held);
	int ret;

	r->op = NULL;
	if (r->parked) {
		/* Its threads hold what they hold for good: the machine is left, not torn down. */
		scn_uffd_release(r);
		if (r->o && r->o->stats) {
			r->o->stats->reports = mml_report_count(r->m);
			r->o->stats->free_ret = -EDEADLK;
		}
		r->m = NULL;
		return status;
	}
	/*
	 * Migrations still held half way finish first, while their processes
	 * live, as power-off finishes them (mml_machine_free): what their
	 * entries became is then seen, as the fuzzer sees it.
	 */
	for (int i = 0; i < r->s->nsyms; i++)
		if (r->s->syms[i].kind == SCN_SYM_MIGRATION && r->vals[i].v)
			mml_migrate_move(r->m, (long)r->vals[i].v);
	/* Servers still waiting for a message stop before their processes go. */
	scn_uffd_release(r);
	while (r->nlive) {
		struct mml_task *t = r->live[--r->nlive];

		ret = mml_exit(t);
		if (ret < 0 && status == SCN_PASS)
			status = scn_fail(r, "exit at the end of the scenario: expected ok, got %s",
					  scn_errno_name(-ret));
	}
	if (release)
		release_held(r);
	if (r->o && r->o->stats) {
		r->o->stats->reports = mml_report_count(r->m);
		r->o->stats->injected = mml_fail_injected(r->m);
	}
	ret = mml_machine_free(r->m);
	r->m = NULL;
	if (r->o && r->o->stats)
		r->o->stats->free_ret = ret;
	if (ret < 0 && status == SCN_PASS)
		status = scn_fail(r, "end of scenario: expected no leak and intact "
				  "invariants, got %s", scn_errno_name(-ret));
	return status;
}

static int step(struct scn_runner *r, const struct scn_op *op)
{
	const struct scn_cmd *c = scn_cmd_of(op->kind);
	int status, st;

	if (!c || !c->run)
		return scn_bad(r, 1, "internal error: unknown statement kind %d", op->kind);
	if (r->uffd_watch)
		scn_uffd_step(r, true);
	status = c->run(r, op);
	if (r->uffd_watch) {
		st = scn_uffd_step(r, false);
		if (st && status == SCN_PASS)
			status = st;
	}
	return status;
}

/*
 * "check => EUCLEAN" (or "=> any") asks for a report; so does a threads
 * block with one among its statements; nothing else does.
 */
static bool wants_reports(const struct scn_script *s, const struct scn_op *op)
{
	if (op->kind == SCN_OP_THREADS) {
		for (int i = (int)(op - s->ops) + 1; i < op->block_end; i++)
			if (wants_reports(s, &s->ops[i]))
				return true;
		return false;
	}
	return op->kind == SCN_OP_CHECK && scn_result_ok(&op->expect, EUCLEAN);
}

/* The statement's row of the --report page, with the value it named ("p = 0x..."), if any. */
static void report_step(struct scn_runner *r, struct scn_report *rep, int status)
{
	const struct scn_op *op = r->op;
	char value[96];
	bool named = status == SCN_PASS && op->def >= 0 &&
		     (r->s->syms[op->def].kind == SCN_SYM_ADDR || r->s->syms[op->def].kind == SCN_SYM_FRAME);

	if (named)
		snprintf(value, sizeof(value), "%s = 0x%llx", r->s->syms[op->def].name,
			 (unsigned long long)r->vals[op->def].v);
	scn_report_step(rep, r->m, op, status, named ? value : NULL);
}

int scn_exec(const struct scn_script *s, const struct scn_opts *o)
{
	static const struct scn_limits no_limits;
	struct scn_runner r = {
		.main = &r,
		.s = s,
		.out = o && o->out ? o->out : stdout,
		.err = o && o->err ? o->err : stderr,
		.verbose = o && o->verbose,
		.no_check = o && o->no_check,
		.o = o,
		.limits = o && o->limits ? o->limits : &no_limits,
	};
	int i, nops = s->nops, status, not_run = 0;
	struct scn_report *rep = NULL;
	long reports, now;

	/* at most one task per statement: that bounds the live list */
	r.vals = calloc(s->nsyms + 1, sizeof(*r.vals));
	r.marks = calloc(s->nstatrefs + 1, sizeof(*r.marks));
	r.live = calloc(s->nops + 1, sizeof(*r.live));
	if (!r.vals || !r.marks || !r.live) {
		fprintf(r.err, "%s: out of memory\n", s->name);
		status = SCN_BAD;
		goto out;
	}
	/* out of memory, the run goes on without its section of the page */
	if (o && o->report && !scn_report_begin(o->report, s->name, &r.out, &r.err))
		rep = o->report;
	status = machine_start(&r, s->nops && s->ops[0].kind == SCN_OP_MACHINE ?
				   &s->ops[0] : NULL);
	if (status)
		goto out;
	if (r.limits->statements && nops > r.limits->statements) {
		nops = r.limits->statements;
		/* a block runs whole or not at all */
		for (i = 0; i < nops; i++)
			if (s->ops[i].kind == SCN_OP_THREADS && s->ops[i].block_end >= nops)
				nops = i;
	}
	reports = mml_report_count(r.m);
	for (i = 0; i < nops && status == SCN_PASS; i++) {
		r.op = &s->ops[i];
		if (r.op->thread >= 0)
			continue;	/* its block's threads ran it */
		if (r.verbose)
			fprintf(r.out, "%s:%u: %s\n", s->name, r.op->line, r.op->text);
		fflush(r.out);
		if (rep)
			scn_report_before(rep, r.m);
		status = step(&r, r.op);
		fflush(r.out);
		vmstat_trace_step(o ? o->vmstat : NULL, r.m, r.op->line);
		/*
		 * The library goes on returning what Linux would after it
		 * reports a broken invariant; blame the statement that made
		 * the report, not the teardown that would find it later.
		 */
		now = mml_report_count(r.m);
		if (now != reports && status != SCN_BAD && !r.parked && !wants_reports(s, r.op))
			status = scn_fail(&r, "expected the invariants to hold, got %ld report(s)",
					  now - reports);
		reports = now;
		if (status == SCN_FAIL && r.op->kind == SCN_OP_THREADS)
			scn_threads_replay(&r, r.op, "the threads block ran with");
		if (rep)
			report_step(&r, rep, status);
	}
	if (o && o->stats)
		o->stats->statements = i;
	for (; i < s->nops; i++)
		not_run += s->ops[i].thread < 0;
	status = machine_stop(&r, status);
out:
	if (rep)
		scn_report_end(rep, &r.out, &r.err, status, not_run);
	free(r.vals);
	free(r.marks);
	free(r.live);
	return status;
}

int scn_run_string(const char *name, const char *text, size_t len,
		   const struct scn_opts *o)
{
	struct scn_script *s;
	int status;

	if (scn_parse(name, text, len, &s, o ? o->err : NULL) < 0)
		return SCN_BAD;
	status = scn_exec(s, o);
	scn_script_free(s);
	return status;
}

/*
 * The text of a scenario file, checked while it is read so that a file
 * that is no scenario (/dev/zero, /dev/urandom, a binary) stops at once
 * rather than being read whole: a NUL byte, a line over SCN_MAX_LINE
 * bytes or a file over SCN_MAX_FILE is reported as file:line:col, and
 * NULL returned.  NULL too, with the message, when it cannot be read.
 */
char *scn_read_file(const char *path, size_t *lenp, FILE *err)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL, *nt;
	size_t len = 0, cap = 0, n, line = 1, col = 0;
	const char *what = NULL;

	if (!f) {
		fprintf(err, "%s: %s\n", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 65536;
			nt = realloc(text, cap + 1);
			if (!nt) {
				what = "out of memory";
				break;
			}
			text = nt;
		}
		n = fread(text + len, 1, cap - len, f);
		if (!n)
			break;
		for (size_t i = len; i < len + n && !what; i++) {
			if (text[i] == '\n') {
				line++;
				col = 0;
			} else if (!text[i]) {
				what = "a NUL byte: this is not a scenario (a text file)";
				col++;
			} else if (++col > SCN_MAX_LINE) {
				what = "line too long (a scenario line is at most 65536 bytes)";
			}
		}
		len += n;
		if (!what && len > SCN_MAX_FILE)
			what = "file too large (a scenario is at most 16 MiB)";
		if (what)
			break;
	}
	if (!what && ferror(f))
		what = "read error";
	fclose(f);
	if (what) {
		fprintf(err, "%s:%zu:%zu: %s\n", path, line, col ? col : 1, what);
		free(text);
		return NULL;
	}
	*lenp = len;
	return text;
}

int scn_run_file(const char *path, const struct scn_opts *o)
{
	size_t len;
	char *text = scn_read_file(path, &len, o && o->err ? o->err : stderr);
	int status;

	if (!text)
		return SCN_BAD;
	status = scn_run_string(path, text, len, o);
	free(text);
	return status;
}
