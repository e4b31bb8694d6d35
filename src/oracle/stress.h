/*
 * stress.h - `mmlab stress`: threaded stories under the deterministic
 * scheduler, over many seeds, each checking its own outcome.
 */
#ifndef MML_ORACLE_STRESS_H
#define MML_ORACLE_STRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct stress_opts {
	const char *story;	/* NULL: every story */
	uint64_t seed;		/* the first seed */
	uint64_t seeds;		/* how many, from seed on */
	const char *strategy;	/* "random", "pct" or "pct-pte" */
	unsigned depth;		/* PCT's */
	const char *bug;	/* a zoo entry to switch on; NULL: none */
	unsigned trace;		/* steps of the first failing run to print; 0: none */
	bool progress;		/* a progress line on stderr */
	bool json;		/* one JSON document on out (docs/json.md), not the text */
	bool k_in_pte_loads;	/* a run's length is its page-table entry loads (pct-pte's k) */
	FILE *out;
	struct vmstat_trace *vmstat; /* a sample at the end of every run, or NULL */
};

int stress_story_count(void);
const char *stress_story_name(int i);
const char *stress_story_what(int i);
/*
 * 0 every run passed, 1 one failed (reported on o->out, with the command
 * that replays it), 2 bad input (on stderr; nothing on o->out under json).
 */
int stress_main(const struct stress_opts *o);

#endif /* MML_ORACLE_STRESS_H */
