/*
 * progress.c - `mmlab progress`: the progress line of lib/progress.h for
 * shell scripts (tests/zoo.sh), so that a script's line is drawn by the
 * same code as the commands' own.  Each call draws it once, from the
 * counts it is given; the run's start is a wall-clock time (date +%s),
 * which a script can keep.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "lib/progress.h"

static void progress_usage(FILE *f)
{
	fprintf(f, "usage: mmlab progress --done N [--total N] [--failed N] [--since SECONDS]\n"
		   "                      [--label TEXT] [--unit TEXT] [--end]\n\n"
		   "Draw the progress line of mmlab's long runs on standard error, if it\n"
		   "is a terminal (otherwise print nothing): for scripts that run many\n"
		   "commands, such as tests/zoo.sh.  One call draws the line once.\n\n"
		   "  --done N         how many are done\n"
		   "  --total N        how many in all (default: not known, no ETA)\n"
		   "  --failed N       failures so far (default 0)\n"
		   "  --since SECONDS  when the run started, seconds since the Epoch\n"
		   "                   (date +%%s; default: now)\n"
		   "  --label TEXT     what runs (default \"progress\")\n"
		   "  --unit TEXT      what is counted (default \"runs\")\n"
		   "  --end            end the line with a newline: the run is over\n"
		   "  -h, --help       this text\n\n"
		   "Exit status: 0, or 2 for bad usage.\n");
}

int cmd_progress(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "done",   required_argument, NULL, 'd' },
		{ "total",  required_argument, NULL, 't' },
		{ "failed", required_argument, NULL, 'f' },
		{ "since",  required_argument, NULL, 's' },
		{ "label",  required_argument, NULL, 'l' },
		{ "unit",   required_argument, NULL, 'u' },
		{ "end",    no_argument,       NULL, 'e' },
		{ "help",   no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	uint64_t done = 0, total = 0, failed = 0, since = 0;
	const char *label = "progress", *unit = "runs";
	bool done_given = false, end = false;
	struct progress p;
	time_t now = time(NULL);
	int c;

	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (opt_uint("progress", "done", optarg, UINT64_MAX, &done))
				return 2;
			done_given = true;
			break;
		case 't':
			if (opt_uint("progress", "total", optarg, UINT64_MAX, &total))
				return 2;
			break;
		case 'f':
			if (opt_uint("progress", "failed", optarg, UINT64_MAX, &failed))
				return 2;
			break;
		case 's':
			if (opt_uint("progress", "since", optarg, (uint64_t)now, &since))
				return 2;
			break;
		case 'l':
			label = optarg;
			break;
		case 'u':
			unit = optarg;
			break;
		case 'e':
			end = true;
			break;
		case 'h':
			progress_usage(stdout);
			return 0;
		default:
			fprintf(stderr, "try 'mmlab progress --help'\n");
			return 2;
		}
	}
	if (optind != argc || !done_given) {
		fprintf(stderr, "mmlab progress: %s; try 'mmlab progress --help'\n",
			optind != argc ? "unexpected argument" : "--done N is needed");
		return 2;
	}
	progress_start(&p, stderr, label, unit, total, 0);
	if (since)
		p.t0 -= (double)(now - (time_t)since);
	if (end)
		progress_end(&p, done, failed);
	else
		progress_update(&p, done, failed);
	return 0;
}
