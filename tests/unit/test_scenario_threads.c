/*
 * test_scenario_threads.c - threads blocks of the scenario language
 * (src/scenario/cmd_threads.c) over many seeds: an outcome that must hold
 * for every interleaving holds on each, the seed decides the interleaving
 * (a race bug shows on some seeds and not on others), and the same seed
 * replays the same one (the trace hash that "show sched" prints).
 */
#define _GNU_SOURCE	/* open_memstream */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "scenario/scenario.h"

#define SEEDS	24

/* The repository's root, from this file's path as the build names it (tests/unit/...). */
static const char *scenario(const char *name)
{
	static char path[512];
	const char *cut = strstr(__FILE__, "tests/unit/");

	snprintf(path, sizeof(path), "%.*stests/scenarios/%s", cut ? (int)(cut - __FILE__) : 0, __FILE__, name);
	return path;
}

struct run {
	int status;
	char *out;		/* what show printed: the "sched: ..." line */
	char *err;		/* the diagnostics */
};

/* One file, one seed; strategy NULL: the file's own; bug NULL: none. */
static struct run run_file(const char *name, uint64_t seed, const char *strategy, const char *bug)
{
	struct run r = { 0 };
	size_t no, ne;
	FILE *out = open_memstream(&r.out, &no), *err = open_memstream(&r.err, &ne);
	const char *bugs[1] = { bug };
	struct scn_opts o = {
		.out = out, .err = err, .quiet = true, .bugs = bugs, .nbugs = bug != NULL,
		.sched_seed_set = true, .sched_seed = seed, .sched_strategy = strategy, .sched_depth = 2,
	};

	r.status = out && err ? scn_run_file(scenario(name), &o) : -1;
	if (out)
		fclose(out);
	if (err)
		fclose(err);
	return r;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* Every seed passes, each strategy; the seeds give more than one interleaving. */
static void every_seed_passes(const char *name)
{
	static const char *const strategies[] = { "random", "pct" };
	char *seen[SEEDS] = { 0 };
	int distinct = 0;

	for (int k = 0; k < 2; k++) {
		for (uint64_t seed = 0; seed < SEEDS; seed++) {
			struct run r = run_file(name, seed, strategies[k], NULL);

			CHECKF(r.status == SCN_PASS, "%s, %s seed %llu: status %d\n%s", name, strategies[k],
			       (unsigned long long)seed, r.status, r.err ? r.err : "");
			if (k == 0 && r.out && !strstr(r.out, "sched: ")) {
				FAIL("%s: no trace hash printed", name);
			} else if (k == 0 && r.out) {
				seen[seed] = strdup(strstr(r.out, "trace hash "));
				distinct++;
				for (uint64_t j = 0; j < seed; j++)
					if (seen[j] && seen[seed] && !strcmp(seen[j], seen[seed])) {
						distinct--;
						break;
					}
			}
			run_free(&r);
		}
	}
	CHECKF(distinct > 1, "%s: %d distinct interleavings in %d seeds", name, distinct, SEEDS);
	for (int i = 0; i < SEEDS; i++)
		free(seen[i]);
}

TEST(a_pin_racing_fork_stays_the_parents_whatever_the_interleaving)
{
	every_seed_passes("threads-fork-gup-fast.scn");
}

TEST(a_fault_waits_for_the_monitor_thread_whatever_the_interleaving)
{
	every_seed_passes("threads-uffd-monitor.scn");
}

/*
 * fork sharing a pinned page (zoo fork-share-pinned) goes wrong only when
 * the pin comes before the fork: some seeds find it, others do not.  So
 * the seed does choose the interleaving, and the failure names the
 * command that replays it.
 */
TEST(the_seed_decides_whether_a_race_bug_shows)
{
	int failed = 0, passed = 0;

	for (uint64_t seed = 0; seed < SEEDS; seed++) {
		struct run r = run_file("threads-fork-gup-fast.scn", seed, "random", "fork-share-pinned");

		if (r.status == SCN_FAIL) {
			failed++;
			CHECKF(r.err && strstr(r.err, "replays it"), "seed %llu: no replay command:\n%s",
			       (unsigned long long)seed, r.err ? r.err : "");
		} else if (r.status == SCN_PASS) {
			passed++;
		}
		run_free(&r);
	}
	CHECKF(failed && passed, "fork-share-pinned: %d of %d seeds failed", failed, SEEDS);
}

TEST(a_seed_replays_its_interleaving)
{
	struct run a = run_file("threads-fork-gup-fast.scn", 7, NULL, NULL);
	struct run b = run_file("threads-fork-gup-fast.scn", 7, NULL, NULL);
	struct run c = run_file("threads-fork-gup-fast.scn", 8, NULL, NULL);
	struct run d = run_file("threads-fork-gup-fast.scn", 7, "pct", NULL);

	if (CHECK(a.out && b.out && c.out && d.out)) {
		CHECKF(!strcmp(a.out, b.out), "seed 7 twice:\n%s%s", a.out, b.out);
		CHECKF(strcmp(a.out, c.out), "seeds 7 and 8 gave one interleaving:\n%s", a.out);
		CHECKF(strcmp(a.out, d.out), "random and pct gave one interleaving:\n%s", a.out);
	}
	run_free(&a);
	run_free(&b);
	run_free(&c);
	run_free(&d);
}

/*
 * A deadlocked block parks its threads for good and leaves its machine;
 * the next file's blocks still run (a fuzz target or `mmlab run` with
 * several files goes on).
 */
TEST(a_deadlock_fails_its_file_and_the_next_file_still_runs)
{
	struct run a = run_file("fail-threads-deadlock.scn", 0, NULL, NULL);
	struct run b = run_file("fail-threads-deadlock.scn", 0, NULL, NULL);
	struct run c = run_file("threads-fork-gup-fast.scn", 0, NULL, NULL);

	CHECK_EQ(a.status, SCN_FAIL);
	CHECKF(a.err && strstr(a.err, "deadlock") && strstr(a.err, "every thread waits"),
	       "no deadlock report:\n%s", a.err ? a.err : "");
	/* the same steps, the same trace hash (the report's addresses are the host's) */
	CHECKF(a.err && b.err && strstr(a.err, "trace hash") && strstr(b.err, "trace hash") &&
	       !strcmp(strstr(a.err, "trace hash"), strstr(b.err, "trace hash")),
	       "a deadlock replays:\n%s\n%s", a.err, b.err);
	CHECK_EQ(c.status, SCN_PASS);
	run_free(&a);
	run_free(&b);
	run_free(&c);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
