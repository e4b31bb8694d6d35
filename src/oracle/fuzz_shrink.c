/*
 * fuzz_shrink.c - from a long run that diverged to a short scenario that
 * still does: replay, delta debugging (ddmin) and task folding, then the
 * survivor printed as a scenario file that `mmlab run` replays.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "oracle/fuzz_internal.h"
#include "scenario/scenario.h"

#define SHRINK_TRIALS	4000

/*
 * Under a schedule of failures (--fail-rate, --fail-at) which attempts
 * fail depends on every attempt before: drop one operation and the rest
 * fail elsewhere.  So the run that regenerates the operations notes the
 * failures each met (its site, the how-many-th attempt there since the
 * operation began), and a replay injects those and no others, one
 * operation at a time: the shrinker keeps what it cuts from changing the
 * failures of what it keeps, and the reproducer says them in `fail at`
 * statements.
 */
void fuzz_fails_mark(struct run *r, struct fuzz_fail_mark *mk)
{
	mk->injected = mml_fail_injected(r->m);
	for (int k = 0; k < MML_FAIL_NR_SITES; k++)
		mk->attempts[k] = mml_fail_attempts(r->m, 1u << k);
}

void fuzz_fails_record(struct run *r, const struct fuzz_fail_mark *mk, struct fop *op)
{
	long now = mml_fail_injected(r->m);
	struct mml_fail_at ev;

	op->nfails = 0;
	/* More than FZ_MAX_FAILS (or than the machine keeps): the first ones; the replay tells. */
	for (long i = mk->injected; i < now && op->nfails < FZ_MAX_FAILS; i++) {
		if (mml_fail_event(r->m, i, &ev))
			continue;
		ev.nth -= mk->attempts[__builtin_ctz(ev.site)];
		op->fails[op->nfails++] = ev;
	}
}

/* The failures op met, as mml_fail_set and a `fail at` statement take them; off: none. */
static void fails_stmt(const struct fop *op, bool on, struct mml_fail *f, struct scn_op *s)
{
	*f = (struct mml_fail){ .at = op->fails, .nr_at = (unsigned)op->nfails };
	for (int k = 0; k < op->nfails; k++)
		f->sites |= op->fails[k].site;
	scn_op_init(s, SCN_OP_FAIL);
	if (on) {
		s->fail_sites = f->sites;
		s->fail_nr_at = f->nr_at;
		memcpy(s->fail_at, op->fails, f->nr_at * sizeof(*s->fail_at));
	}
}

/* A line of text that is not a comment. */
static bool has_statement(const char *text)
{
	for (const char *l = text; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l))
		if (*l != '#' && *l != '\n')
			return true;
	return false;
}

/*
 * op with the failures it met armed for it alone.  Printed, its statements
 * go between `fail at` and `fail off`; an operation that failed cleanly
 * prints none, and then neither.
 */
static bool replay_op(struct run *r, const struct fop *op)
{
	FILE *scn = r->scn, *buf = NULL;
	char *text = NULL;
	size_t len = 0;
	struct mml_fail f;
	struct scn_op s;
	bool done, said;

	if (!op->nfails)
		return fuzz_exec_op(r, op);
	fails_stmt(op, true, &f, &s);
	if (mml_fail_set(r->m, &f))
		fuzz_diverge(r, "mml_fail_set refused the failures of an operation");
	if (scn && (buf = open_memstream(&text, &len)))
		r->scn = buf;
	done = fuzz_exec_op(r, op);
	mml_fail_set(r->m, NULL);
	r->scn = scn;
	if (!buf)
		return done;
	fclose(buf);
	said = has_statement(text);
	if (said)
		fuzz_print(scn, &s);
	fputs(text, scn);
	if (said) {
		fails_stmt(op, false, &f, &s);
		fuzz_print(scn, &s);
	}
	free(text);
	return done;
}

/* Replays ops; true if something diverged.  *at: index of the failing op. */
bool fuzz_replay(const struct fuzz_opts *o, const struct fop *ops, size_t n, FILE *scn, size_t *at,
		   char *why, size_t whylen)
{
	struct fuzz_opts ro = *o;
	struct run r;
	bool failed;
	size_t i;

	/* The failures each operation met, not the schedule (replay_op). */
	ro.fail_rate_ppm = 0;
	ro.fail_at = 0;
	if (!fuzz_run_init(&r, &ro, true)) {
		fuzz_run_finish(&r);
		return false;
	}
	r.injecting = o->fail_rate_ppm || o->fail_at;
	r.scn = scn;
	r.full_checks = true;
	/* Long lists are checked at the run's cadence; short ones after every op. */
	for (i = 0; i < n && !r.why[0]; i++) {
		if (replay_op(&r, &ops[i]))
			fuzz_after_op(&r, &ops[i], n > 2000 ? o->check_every : 1);
	}
	if (at)
		*at = i;
	/* A scenario must give back what it pinned and attached, or teardown reports a leak. */
	for (int k = 0; scn && k < r.npins; k++) {
		struct scn_op s;

		if (!r.pins[k])
			continue;
		scn_op_init(&s, SCN_OP_UNPIN);
		s.pin = FZ_SYM(FZ_PIN, k);
		fuzz_print(scn, &s);
	}
	for (int k = 0; scn && k < r.ndevs; k++) {
		struct scn_op s;

		if (!r.devs[k])
			continue;
		scn_op_init(&s, SCN_OP_DEVICE_DETACH);
		s.dev = FZ_SYM(FZ_DEVICE, k);
		fuzz_print(scn, &s);
	}
	fuzz_run_finish(&r);
	failed = r.why[0] != 0;
	if (why)
		snprintf(why, whylen, "%s", r.why);
	free(r.why_maps);	/* the views of a divergence only a first run prints */
	free(r.why_model);
	return failed;
}

static bool machine_found(const char *why)
{
	return !strncmp(why, "the invariant checker failed", 28) || !strncmp(why, "the machine reported a bug", 26) ||
	       !strncmp(why, "leaks or broken invariants", 26);
}

/*
 * Two divergences are of one kind if their messages differ only in numbers
 * (tasks, addresses, bytes).  Shrinking keeps to the kind it started from:
 * a long run under memory pressure has other ways to fail on the way (a
 * fork refused for want of memory) that would hide the one being chased.
 */
static bool same_kind(const char *a, const char *b)
{
	/*
	 * The machine's own oracles -- the invariant checker, the reports of
	 * a bad access -- say where they fired, not what they saw: a replay
	 * that checks after every operation finds at an earlier one what the
	 * run found at its periodic check.  One kind.
	 */
	bool found_a = machine_found(a), found_b = machine_found(b);

	if (found_a || found_b)
		return found_a && found_b;
	for (;;) {
		while (*a && !isdigit((unsigned char)*a) && *a == *b)
			a++, b++;
		if (!isdigit((unsigned char)*a) || !isdigit((unsigned char)*b))
			return *a == *b;
		while (isxdigit((unsigned char)*a) || *a == 'x')
			a++;
		while (isxdigit((unsigned char)*b) || *b == 'x')
			b++;
	}
}

/* Replays ops; true if they diverge as kind says.  *at: the failing op. */
static bool fails_alike(const struct fuzz_opts *o, const struct fop *ops, size_t n, size_t *at, const char *kind)
{
	char why[1024];

	return fuzz_replay(o, ops, n, NULL, at, why, sizeof(why)) && same_kind(why, kind);
}

/* Delta debugging (ddmin): the smallest subsequence that still fails. */
size_t fuzz_shrink(const struct fuzz_opts *o, struct fop *ops, size_t n, const char *kind, double deadline)
{
	struct fop *cand = malloc(n * sizeof(*cand));
	size_t gran = 2, trials = 0;

	if (!cand)
		return n;
	while (n >= 2 && trials < SHRINK_TRIALS && fuzz_now() < deadline) {
		size_t chunk = (n + gran - 1) / gran, at;
		bool reduced = false;

		for (size_t s = 0; s < n && !reduced; s += chunk) {
			size_t e = min_u64(s + chunk, n), m = 0;

			memcpy(cand, ops, s * sizeof(*cand));
			memcpy(cand + s, ops + e, (n - e) * sizeof(*cand));
			m = n - (e - s);
			trials++;
			if (fails_alike(o, cand, m, &at, kind)) {
				/* Keep it, cut off whatever came after the failure. */
				n = min_u64(m, at);
				memcpy(ops, cand, n * sizeof(*ops));
				gran = gran > 2 ? gran - 1 : 2;
				reduced = true;
			}
		}
		if (!reduced) {
			if (gran >= n)
				break;
			gran = min_u64(gran * 2, n);
		}
	}
	free(cand);
	return n;
}

/*
 * ddmin cannot drop "thread A -> B" while B's operations matter.  Try doing
 * B's operations as A instead and dropping the creation; keep it if the run
 * still fails.  Repeat until nothing more goes.
 */
size_t fuzz_shrink_tasks(const struct fuzz_opts *o, struct fop *ops, size_t n, const char *kind,
			   double deadline)
{
	struct fop *cand = malloc(n * sizeof(*cand));
	bool progress = true;

	if (!cand)
		return n;
	while (progress && fuzz_now() < deadline) {
		progress = false;
		for (size_t i = 0; i < n && fuzz_now() < deadline; i++) {
			int from, to;
			size_t m = 0, at;

			if (ops[i].kind != F_THREAD && ops[i].kind != F_FORK)
				continue;
			from = ops[i].new_task;
			to = ops[i].task;
			for (size_t k = 0; k < n; k++) {
				if (k == i)
					continue;
				cand[m] = ops[k];
				if (cand[m].task == from)
					cand[m].task = to;
				if ((cand[m].kind == F_PROCESS_MADVISE || cand[m].kind == F_COLLAPSE_UFFD) && cand[m].target == from)
					cand[m].target = to;
				m++;
			}
			if (fails_alike(o, cand, m, &at, kind)) {
				n = min_u64(m, at);
				memcpy(ops, cand, n * sizeof(*ops));
				progress = true;
				break;
			}
		}
	}
	free(cand);
	return n;
}

void fuzz_print_scenario(const struct fuzz_opts *o, const struct fop *ops, size_t n, FILE *f, long total)
{
	struct scn_op s;
	char sched[64] = "";

	if (o->fail_rate_ppm)
		snprintf(sched, sizeof(sched), " --fail-rate %u", o->fail_rate_ppm);
	else if (o->fail_at)
		snprintf(sched, sizeof(sched), " --fail-at %ld --fail-repeat %ld", o->fail_at, o->fail_repeat);
	fprintf(f, "# Shrunk by `mmlab fuzz --seed %" PRIu64 "%s%s%s` from %ld operations to %zu.\n", o->seed,
		o->bug ? " --inject-bug " : "", o->bug ? o->bug : "", sched, total, n);
	fprintf(f, "# Expectations are the reference model's.\n");
	scn_op_init(&s, SCN_OP_MACHINE);
	s.ram = o->ram;
	s.pmem = o->dax ? FUZZ_PMEM_BYTES : 0;
	s.seed = o->seed;
	s.nr_nodes = o->nodes > 1 ? (unsigned)o->nodes : 0;
	fuzz_print(f, &s);
	scn_op_init(&s, SCN_OP_SYS);
	s.name = (char *)FUZZ_OVERCOMMIT;
	s.sys_value = (char *)"1";
	fuzz_print(f, &s);
	if (o->swap) {
		scn_op_init(&s, SCN_OP_SWAPON);
		s.def = FZ_SYM(FZ_SWAP, 0);
		s.len = o->swap;
		fuzz_print(f, &s);
	}
	fuzz_replay(o, ops, n, f, NULL, NULL, 0);
}
