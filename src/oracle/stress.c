/*
 * stress.c - `mmlab stress`: threaded stories under the deterministic
 * scheduler (MML_DETERMINISTIC), one new machine per seed.
 *
 * A story (stress_internal.h; the stories are in stress_*.c) sets its
 * processes up outside the run, runs a handful of thread functions under
 * mml_sched_run, and checks its own outcome (bytes, pins, what the page
 * tables show); then the driver checks the machine's reports (a walker in
 * a freed table, a table retracted with entries in it), the invariant
 * checker and the machine's teardown.  The seed picks the scheduler's
 * choices: a failing seed replays the same interleaving, and its command
 * line is printed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "lib/progress.h"
#include "oracle/stress.h"
#include "oracle/stress_internal.h"
#include "oracle/vmstat_trace.h"

#define STRESS_RAM	(16ULL << 20)

/* Every file's stories, in the order --list shows them. */
static const struct { const struct stress_story *v; const unsigned *n; } story_files[] = {
	{ stress_anon_stories, &stress_anon_nstories },
	{ stress_retract_stories, &stress_retract_nstories },
	{ stress_swap_stories, &stress_swap_nstories },
	{ stress_device_stories, &stress_device_nstories },
	{ stress_dax_stories, &stress_dax_nstories },
	{ stress_vma_stories, &stress_vma_nstories },
};

static const struct stress_story *story_at(int i)
{
	for (size_t f = 0; f < sizeof(story_files) / sizeof(story_files[0]) && i >= 0; f++) {
		if ((unsigned)i < *story_files[f].n)
			return &story_files[f].v[i];
		i -= (int)*story_files[f].n;
	}
	return NULL;
}

int stress_story_count(void)
{
	int n = 0;

	for (size_t f = 0; f < sizeof(story_files) / sizeof(story_files[0]); f++)
		n += (int)*story_files[f].n;
	return n;
}

const char *stress_story_name(int i)
{
	return story_at(i) ? story_at(i)->name : NULL;
}

const char *stress_story_what(int i)
{
	return story_at(i) ? story_at(i)->what : NULL;
}

int stress_fail(struct stress_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why, c->whylen, fmt, ap);
	va_end(ap);
	return 1;
}

void stress_note(struct stress_verdict *v, const char *fmt, ...)
{
	va_list ap;

	if (v->why[0])
		return;
	va_start(ap, fmt);
	vsnprintf(v->why, sizeof(v->why), fmt, ap);
	va_end(ap);
}

int stress_expect_byte(struct stress_ctx *c, struct mml_task *t, const char *who, uint64_t addr, uint8_t want)
{
	uint8_t v = 0;
	int err = mml_read(t, addr, &v, 1);

	if (err || v != want)
		return stress_fail(c, "%s reads %#x at %#llx (error %d), not %#x", who, v, (unsigned long long)addr,
				   err, want);
	return 0;
}

bool stress_pin_still_mapped(struct mml_task *t, uint64_t addr, const struct mml_pin *pin)
{
	uint64_t e = 0;

	return !mml_pagemap(t, addr, &e) && (e & MML_PM_PRESENT) && (e & MML_PM_PFRAME_MASK) == mml_pin_pfn(pin, 0);
}

int stress_sched_run(struct stress_ctx *c, unsigned n, struct mml_task **tasks, mml_thread_fn *fns, void **args)
{
	int err = mml_sched_run(c->m, n, tasks, fns, args);

	if (!err)
		return 0;
	c->parked = err == -EDEADLK;
	return stress_fail(c, "mml_sched_run: %d%s", err, c->parked ? " (a deadlock or a livelock)" : "");
}

/* The run's last steps, when asked for and not yet given for an earlier seed. */
static void trace_text(struct stress_ctx *c, const struct stress_opts *o, char **trace)
{
	size_t len;
	FILE *f;

	if (!o->trace || !trace || *trace || !(f = open_memstream(trace, &len)))
		return;
	fprintf(f, "  its last %u scheduling points:\n", o->trace);
	mml_sched_trace(c->m, f);
	fclose(f);
}

/*
 * One seed of one story: 0 passed, 1 failed (why filled), 2 the set-up
 * failed.  pct_k: PCT's k (see mml_sched_pct_steps); *steps: the run's.
 */
static int stress_one(const struct stress_opts *o, const struct stress_story *st, uint64_t seed, uint64_t pct_k,
		      char *why, size_t len, uint64_t *hash, uint64_t *steps, char **trace)
{
	struct mml_config cfg = { .ram_bytes = st->ram_bytes ? st->ram_bytes : STRESS_RAM, .seed = seed,
				  .nr_nodes = st->nr_nodes, .pmem_bytes = st->pmem_bytes,
				  .flags = MML_DETERMINISTIC | MML_QUIET | MML_POISON };
	struct stress_ctx c = { .seed = seed, .why = why, .whylen = len };
	long reports;
	int ret;

	why[0] = '\0';
	c.m = mml_machine_new(&cfg);
	if (!c.m) {
		snprintf(why, len, "mml_machine_new: %s", strerror(errno));
		return 2;
	}
	mml_sched_pct_steps(c.m, pct_k);
	if (mml_sched_set(c.m, o->strategy, o->depth) || (o->bug && mml_bug_inject(c.m, o->bug)) ||
	    (o->trace && mml_sched_trace_keep(c.m, o->trace))) {
		snprintf(why, len, "bad strategy or bug");
		mml_machine_free(c.m);
		return 2;
	}
	ret = st->run(&c);
	vmstat_trace_step(o->vmstat, c.m, seed);
	*hash = mml_sched_trace_hash(c.m);
	*steps = o->k_in_pte_loads ? mml_sched_pte_loads(c.m) : mml_sched_steps(c.m);
	if (c.parked) {	/* its threads wait for good on the machine: leave it */
		trace_text(&c, o, trace);
		return 1;
	}
	if (ret < 0) {
		char said[256];

		snprintf(said, sizeof(said), "%s", why);
		snprintf(why, len, "setting up: %d%s%s", ret, said[0] ? ": " : "", said);
		mml_machine_free(c.m);
		return 2;
	}
	reports = mml_report_count(c.m);
	if (!ret && reports)
		ret = stress_fail(&c, "the machine reported %ld bug(s) (a walker in a freed table, a table retracted "
				  "with entries in it, ...)", reports);
	if (!ret && mml_check(c.m))
		ret = stress_fail(&c, "the invariant checker failed");
	if (ret)
		trace_text(&c, o, trace);
	if (mml_machine_free(c.m) && !ret)
		ret = stress_fail(&c, "leaks or broken invariants when the machine was freed");
	return ret;
}

/* A trace hash as the text prints it: 16 hex digits. */
static void hash_json(struct json *j, const char *key, uint64_t hash)
{
	char hex[17];

	snprintf(hex, sizeof(hex), "%016" PRIx64, hash);
	json_str(j, key, hex);
}

/* The story's entry of --json's "stories" (docs/schema/stress.json). */
static void story_json(struct json *j, const struct stress_opts *o, const char *name, uint64_t nbad, uint64_t bad,
		       const char *why, const char *replay, uint64_t bad_hash, const char *trace,
		       uint64_t steps, uint64_t hash)
{
	json_object(j, NULL);
	json_str(j, "name", name);
	json_uint(j, "seeds", o->seeds);
	json_uint(j, "failed", nbad);
	if (nbad) {
		json_object(j, "first_failure");
		json_uint(j, "seed", bad);
		json_str(j, "why", why);
		json_str(j, "replay", replay);
		hash_json(j, "trace_hash", bad_hash);
		json_str(j, "trace", trace);
		json_end(j);
	} else {
		json_null(j, "first_failure");
	}
	json_object(j, "last_run");
	json_uint(j, "seed", o->seed + o->seeds - 1);
	json_uint(j, "steps", steps);
	hash_json(j, "trace_hash", hash);
	json_end(j);
	json_end(j);
}

/*
 * With o->json, the document is written to a buffer and printed whole at
 * the end, so that a run that stops with status 2 (a set-up failure,
 * reported on stderr) leaves nothing half-written on o->out.
 */
int stress_main(const struct stress_opts *o)
{
	int nstories = stress_story_count(), first = 0, last = nstories - 1, failed = 0, ret = 2;
	bool pct = !strncmp(o->strategy, "pct", 3);
	char why[512], bad_why[512] = "", replay[512];
	char *doc = NULL;
	size_t doclen;
	struct json j;
	struct progress prog;
	uint64_t runs = 0, runs_failed = 0;
	FILE *jf = NULL;

	if (o->story) {
		for (first = 0; first < nstories && strcmp(story_at(first)->name, o->story); first++)
			;
		if (first == nstories) {
			fprintf(stderr, "mmlab stress: no story '%s' (see mmlab stress --list)\n", o->story);
			return 2;
		}
		last = first;
	}
	if (o->json) {
		jf = open_memstream(&doc, &doclen);
		if (!jf) {
			fprintf(stderr, "mmlab stress: %s\n", strerror(errno));
			return 2;
		}
		json_init(&j, jf);
		json_object(&j, NULL);
		json_str(&j, "strategy", o->strategy);
		if (pct)
			json_uint(&j, "depth", o->depth);
		else
			json_null(&j, "depth");
		json_uint(&j, "seed", o->seed);
		json_uint(&j, "seeds", o->seeds);
		json_str(&j, "bug", o->bug);
		json_array(&j, "stories");
	}
	progress_start(&prog, o->progress ? stderr : NULL, "stress", "runs", (uint64_t)(last - first + 1) * o->seeds, 0);
	for (int i = first; i <= last; i++) {
		const struct stress_story *st = story_at(i);
		struct stress_opts calib = { .strategy = "random", .k_in_pte_loads = !strcmp(o->strategy, "pct-pte") };
		uint64_t bad = 0, nbad = 0, hash = 0, bad_hash = 0, pct_k = 0, steps = 0;
		char *trace = NULL, *bad_trace = NULL;
		int r;

		/*
		 * PCT's k: the steps of the story on seed 0, random and without
		 * the bug -- the same for every seed, so that one replays alone.
		 */
		if (pct && (r = stress_one(&calib, st, 0, 0, why, sizeof(why), &hash, &pct_k, NULL))) {
			progress_clear(&prog);
			fprintf(stderr, "mmlab stress: %s: the calibration run failed: %s\n", st->name, why);
			goto out;
		}
		prog.label = st->name;
		for (uint64_t k = 0; k < o->seeds; k++) {
			uint64_t seed = o->seed + k;

			r = stress_one(o, st, seed, pct_k, why, sizeof(why), &hash, &steps, nbad ? NULL : &trace);

			if (r == 2) {
				progress_clear(&prog);
				fprintf(stderr, "mmlab stress: %s, seed %" PRIu64 ": %s\n", st->name, seed, why);
				free(trace);
				free(bad_trace);
				goto out;
			}
			if (r && !nbad++) {
				int n = snprintf(replay, sizeof(replay), "mmlab stress --story %s --seed %" PRIu64
						 " --seeds 1 --strategy %s", st->name, seed, o->strategy);

				if (pct)
					n += snprintf(replay + n, sizeof(replay) - n, " --depth %u", o->depth);
				if (o->bug)
					snprintf(replay + n, sizeof(replay) - n, " --inject-bug %s", o->bug);
				bad = seed;
				bad_hash = hash;
				bad_trace = trace;
				trace = NULL;
				snprintf(bad_why, sizeof(bad_why), "%s", why);
				if (!o->json) {
					progress_clear(&prog);
					fprintf(o->out, "%s: seed %" PRIu64 " failed: %s\n", st->name, seed, why);
					fprintf(o->out, "  replay: %s   (trace hash %016" PRIx64 ")\n", replay, hash);
					if (bad_trace)
						fputs(bad_trace, o->out);
				}
			}
			runs_failed += r != 0;
			progress_update(&prog, ++runs, runs_failed);
		}
		if (o->json) {
			story_json(&j, o, st->name, nbad, bad, bad_why, replay, bad_hash, bad_trace, steps, hash);
		} else {
			progress_clear(&prog);
			fprintf(o->out, "%s: %" PRIu64 " seeds from %" PRIu64 " (%s%s%.0u), %" PRIu64 " failed",
				st->name, o->seeds, o->seed, o->strategy, pct ? " depth " : "", pct ? o->depth : 0,
				nbad);
			if (nbad)
				fprintf(o->out, ", the first at seed %" PRIu64, bad);
			if (o->seeds == 1)
				fprintf(o->out, ", %" PRIu64 " steps, trace hash %016" PRIx64, steps, hash);
			fputc('\n', o->out);
		}
		free(bad_trace);
		failed += nbad > 0;
	}
	ret = failed ? 1 : 0;
	progress_end(&prog, runs, runs_failed);
out:
	progress_clear(&prog);
	if (jf) {
		json_end(&j);
		json_end(&j);
		fclose(jf);
		if (ret != 2)
			fwrite(doc, 1, doclen, o->out);
		free(doc);
	}
	return ret;
}
