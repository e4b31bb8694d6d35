/*
 * mmlab.c - the command line.
 *
 *   mmlab [--help] [--version] COMMAND [ARGS]
 *
 * Each command is one entry in the commands[] table, a function taking
 * its own argc/argv (argv[0] is the command's name) and parsing its own
 * options with getopt_long.  Exit status: 0 success, 1 a failed
 * expectation, 2 bad usage or bad input.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmlab.h"
#include "scenario/scenario.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static int cmd_run(int argc, char **argv);

static const struct command commands[] = {
	{ "run", cmd_run, "run scenario files; with none, the built-in demo" },
	{ NULL, NULL, NULL }
};

static void usage(FILE *f)
{
	const struct command *c;

	fprintf(f, "usage: mmlab [--help] [--version] COMMAND [ARGS]\n\n"
		   "The Linux memory-management core as a userspace library.\n\n"
		   "Commands:\n");
	for (c = commands; c->name; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->summary);
	fprintf(f, "\n'mmlab COMMAND --help' describes a command.\n"
		   "Exit status: 0 success, 1 a failed expectation, 2 bad usage or input.\n");
}

static void run_usage(FILE *f)
{
	fprintf(f, "usage: mmlab run [--verbose|-v] [--no-check] [FILE...]\n\n"
		   "Run scenario files (docs/scenario.md); with no FILE, run the\n"
		   "built-in demo of copy-on-write.\n\n"
		   "  -v, --verbose   print each statement before running it\n"
		   "      --no-check  do not run the invariant checker after every\n"
		   "                  operation (\"check\" statements still run it)\n"
		   "  -h, --help      this text\n\n"
		   "Exit status: 0 all passed, 1 an expectation failed, 2 bad input.\n"
		   "With several files, the worst status of them all.\n");
}

static int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "verbose",  no_argument, NULL, 'v' },
		{ "no-check", no_argument, NULL, 'C' },
		{ "help",     no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct scn_opts o = { .out = stdout, .err = stderr };
	int c, i, worst = SCN_PASS;

	while ((c = getopt_long(argc, argv, "+vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'v':
			o.verbose = true;
			break;
		case 'C':
			o.no_check = true;
			break;
		case 'h':
			run_usage(stdout);
			return 0;
		default:
			fprintf(stderr, "try 'mmlab run --help'\n");
			return 2;
		}
	}
	if (optind == argc)
		return scn_run_demo(&o);
	for (i = optind; i < argc; i++) {
		int status = scn_run_file(argv[i], &o);

		if (status > worst)
			worst = status;
	}
	return worst;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help",    no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const struct command *cmd;
	int c;

	/* '+': stop at the command; its options are its own */
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("mmlab %s\n", MMLAB_VERSION);
			return 0;
		default:
			fprintf(stderr, "try 'mmlab --help'\n");
			return 2;
		}
	}
	if (optind == argc) {
		usage(stderr);
		return 2;
	}
	for (cmd = commands; cmd->name; cmd++) {
		if (strcmp(cmd->name, argv[optind]) == 0) {
			static char name[64];

			/* getopt names argv[0] in its messages: "mmlab run: ..." */
			snprintf(name, sizeof(name), "mmlab %s", cmd->name);
			argc -= optind;
			argv += optind;
			argv[0] = name;
			optind = 0;	/* glibc: 0 reinitialises getopt */
			return cmd->fn(argc, argv);
		}
	}
	fprintf(stderr, "mmlab: unknown command '%s'; try 'mmlab --help'\n",
		argv[optind]);
	return 2;
}
