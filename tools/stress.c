/*
 * stress.c - `mmlab stress`: threaded stories under the deterministic
 * scheduler over many seeds (src/oracle/stress.c has the stories).
 *
 *   mmlab stress [--story S] [--seed N] [--seeds K] [--strategy random|pct|pct-pte]
 *                [--depth D] [--inject-bug B] [--trace N] [--list] [--quiet] [--json]
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "mmlab.h"
#include "oracle/stress.h"
#include "oracle/vmstat_trace.h"

static void stress_usage(FILE *f)
{
	fprintf(f, "usage: mmlab stress [--story S] [--seed N] [--seeds K] [--strategy random|pct|pct-pte] [--depth D]\n"
		   "                    [--inject-bug NAME] [--trace N] [--list] [--quiet] [--json]\n"
		   "                    [--vmstat-trace FILE.csv [--vmstat-fields LIST] [--vmstat-every N]]\n\n"
		   "Run threaded stories under the deterministic scheduler, one new machine per seed\n"
		   "(seeds N to N+K-1; default 1 and 100), each checking its own outcome, the machine's\n"
		   "reports and its invariants.  The same seed replays the same interleaving; a failure\n"
		   "prints the command that replays it.  Strategies: random (default), PCT with depth D\n"
		   "(default 3), or pct-pte: PCT whose steps are pte loads alone (a lockless walker\n"
		   "overtaken inside a page table).  --inject-bug switches a zoo entry on; --trace N\n"
		   "prints the last N scheduling points of the first failing seed's run (thread, kind,\n"
		   "source location);\n"
		   "--list names the stories; --json prints one JSON document instead of the text\n"
		   "(docs/json.md), with no progress line; --vmstat-trace writes vmstat counters and\n"
		   "meminfo fields to a CSV file at the end of every run (every N runs with\n"
		   "--vmstat-every; columns step, seed and the fields: --vmstat-fields, as mmlab run's),\n"
		   "which mmlab plot draws.  A progress line is drawn on standard error when it is a\n"
		   "terminal (not with --quiet).\n"
		   "Exit status: 0 every run passed, 1 one failed, 2 bad usage.\n");
}

int cmd_stress(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "story",      required_argument, NULL, 'S' },
		{ "seed",       required_argument, NULL, 's' },
		{ "seeds",      required_argument, NULL, 'k' },
		{ "strategy",   required_argument, NULL, 'y' },
		{ "depth",      required_argument, NULL, 'd' },
		{ "inject-bug", required_argument, NULL, 'b' },
		{ "trace",      required_argument, NULL, 't' },
		{ "list",       no_argument,       NULL, 'l' },
		{ "quiet",      no_argument,       NULL, 'q' },
		{ "json",       no_argument,       NULL, 'j' },
		{ "help",       no_argument,       NULL, 'h' },
		VMSTAT_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct vmstat_opts vo = { 0 };
	struct vmstat_trace trace;
	struct stress_opts o = { .seed = 1, .seeds = 100, .strategy = "random", .depth = 3, .progress = true,
				 .out = stdout };
	bool bug_known = false;
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "+s:k:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'S':
			o.story = optarg;
			break;
		case 's':
			if (opt_uint("stress", "seed", optarg, UINT64_MAX, &o.seed))
				return 2;
			break;
		case 'k':
			if (opt_range("stress", "seeds", optarg, 1, 100000000, &o.seeds))
				return 2;
			break;
		case 'y':
			if (strcmp(optarg, "random") && strcmp(optarg, "pct") && strcmp(optarg, "pct-pte")) {
				fprintf(stderr, "mmlab stress: --strategy: expected random, pct or pct-pte, got '%s'\n", optarg);
				return 2;
			}
			o.strategy = optarg;
			break;
		case 'd':
			if (opt_range("stress", "depth", optarg, 1, 16, &v))
				return 2;
			o.depth = (unsigned)v;
			break;
		case 'b':
			o.bug = optarg;
			break;
		case 't':
			if (opt_range("stress", "trace", optarg, 1, 1000000, &v))
				return 2;
			o.trace = (unsigned)v;
			break;
		case 'l':
			for (int i = 0; i < stress_story_count(); i++)
				printf("%-20s %s\n", stress_story_name(i), stress_story_what(i));
			return 0;
		case 'q':
			o.progress = false;
			break;
		case 'j':
			o.json = true;
			o.progress = false;
			break;
		case OPT_VMSTAT_TRACE:
		case OPT_VMSTAT_FIELDS:
		case OPT_VMSTAT_EVERY:
			if (opt_vmstat("stress", c, optarg, &vo))
				return 2;
			break;
		case 'h':
			stress_usage(stdout);
			return 0;
		default:
			stress_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mmlab stress: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	for (int i = 0; o.bug && i < mml_bug_count(); i++) {
		const char *name, *breaks, *history;

		if (!mml_bug_describe(i, &name, &breaks, &history) && !strcmp(name, o.bug))
			bug_known = true;
	}
	if (o.bug && !bug_known) {
		fprintf(stderr, "mmlab stress: --inject-bug: no zoo entry '%s' (see mmlab bugs)\n", o.bug);
		return 2;
	}
	if (opt_vmstat_open("stress", &vo, "seed", &trace))
		return 2;
	o.vmstat = &trace;
	return opt_vmstat_close("stress", &trace, stress_main(&o));
}
