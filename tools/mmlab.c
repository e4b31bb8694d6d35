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
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "lib/json.h"
#include "mmlab.h"
#include "native/conform.h"
#include "oracle/fuzz.h"
#include "oracle/vmstat_trace.h"
#include "scenario/scenario.h"

static int cmd_run(int argc, char **argv);
static int cmd_fuzz(int argc, char **argv);
static int cmd_bugs(int argc, char **argv);
static int cmd_conform(int argc, char **argv);

static const struct cli_command commands[] = {
	{ "run", cmd_run, "run scenario files; with none, the built-in demo" },
	{ "fuzz", cmd_fuzz, "random operations checked against the reference model" },
	{ "bugs", cmd_bugs, "list the bug zoo: defects that can be switched on" },
	{ "conform", cmd_conform, "run scenarios on mmlab and on the host kernel, compare" },
	{ "stress", cmd_stress, "threaded stories under the deterministic scheduler, over many seeds" },
	{ "bench", cmd_bench, "throughput of mmlab beside the host kernel, in one run" },
	{ "show", cmd_show, "run a scenario, then draw a picture of its state (Graphviz)" },
	{ "plot", cmd_plot, "draw a --vmstat-trace CSV with gnuplot (SVG or PNG)" },
	{ "progress", cmd_progress, "draw the progress line of long runs, for scripts" },
	{ NULL, NULL, NULL }
};

/* ---- option values ---- */

/*
 * A whole-string unsigned number, decimal or 0x hex, at most max.  A
 * half-parsed "10x" or a wrapped "-1" would run something nobody asked for.
 */
/* A whole number from min to max (decimal, or 0x hex): 0, or -1 after one message. */
int opt_range(const char *cmd, const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (*s == '-' || *s == '+')
		goto bad;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || v < min || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	fprintf(stderr, "mmlab %s: --%s: expected a number from %llu to %llu, got '%s'\n",
		cmd, opt, (unsigned long long)min, (unsigned long long)max, s);
	return -1;
}

int opt_uint(const char *cmd, const char *opt, const char *s, uint64_t max, uint64_t *out)
{
	return opt_range(cmd, opt, s, 0, max, out);
}

/*
 * A file a run will write later: its directory must exist and be
 * writable now, not when the run has found something to write.
 */
int opt_out_file(const char *cmd, const char *opt, const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) + (slash == path) : 1, slash ? path : ".");
	if (access(dir, W_OK | X_OK) == 0)
		return 0;
	fprintf(stderr, "mmlab %s: --%s: cannot write into '%s': %s\n", cmd, opt, dir, strerror(errno));
	return -1;
}

/* A size as in scenario files: 4096, 0x1000, 64M, 1G. */
int opt_size(const char *cmd, const char *opt, const char *s, uint64_t *out)
{
	const char *why = scn_size_parse(s, out);

	if (!why)
		return 0;
	fprintf(stderr, "mmlab %s: --%s: %s: '%s' (a size: 4096, 0x1000, 64M, 1G)\n",
		cmd, opt, why, s);
	return -1;
}

/* Unknown names are refused before anything runs. */
/* The zoo entry's index, or -1 after a message. */
static int opt_bug(const char *cmd, const char *name)
{
	const char *n, *breaks, *history;
	int i;

	for (i = 0; mml_bug_describe(i, &n, &breaks, &history) == 0; i++)
		if (strcmp(n, name) == 0)
			return i;
	fprintf(stderr, "mmlab %s: unknown bug '%s'; 'mmlab bugs' lists them\n",
		cmd, name);
	return -1;
}

#define MAX_PPM 1000000

static void usage(FILE *f)
{
	const struct cli_command *c;

	fprintf(f, "usage: mmlab [--help] [--version] COMMAND [ARGS]\n\n"
		   "The Linux memory-management core as a userspace library.\n\n"
		   "Commands:\n");
	for (c = commands; c->name; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->summary);
	fprintf(f, "\n'mmlab COMMAND --help' describes a command.\n"
		   "Exit status: 0 success, 1 a failed expectation or a divergence,\n"
		   "2 bad usage or input.\n");
}

/* --trace list: the events as ftrace's available_events lists them, SYSTEM:NAME. */
static void trace_list(FILE *f)
{
	const char *name, *system;

	for (unsigned i = 0; (name = mml_trace_event_name(i, &system)); i++)
		fprintf(f, "%s:%s\n", system, name);
}

/* A --trace list that names an event in each item, checked before anything runs: 0, or -1 after a message. */
static int opt_trace_events(const char *cmd, const char *events)
{
	struct mml_config cfg = { .ram_bytes = 4ULL << 20, .flags = MML_QUIET };
	struct mml_machine *m = mml_machine_new(&cfg);
	int err;

	if (!m) {
		fprintf(stderr, "mmlab %s: --trace: %s\n", cmd, strerror(errno));
		return -1;
	}
	err = mml_trace_enable(m, events);
	mml_machine_free(m);
	if (!err)
		return 0;
	fprintf(stderr, "mmlab %s: --trace: '%s' %s\n", cmd, events,
		err == -EINVAL ? "names no trace event (see 'mmlab run --trace list')" : strerror(-err));
	return -1;
}

static void run_usage(FILE *f)
{
	fprintf(f, "usage: mmlab run [--verbose|-v] [--no-check] [--inject-bug NAME]... [--json]\n"
		   "                 [--fail-rate PPM [--fail-seed N]] [--report FILE.html]\n"
		   "                 [--show-dir DIR [--show-format svg|png|dot]]\n"
		   "                 [--seed N] [--strategy random|pct|pct-pte [--depth D]]\n"
		   "                 [--trace EVENTS|list [--trace-file FILE]]\n"
		   "                 [--vmstat-trace FILE.csv [--vmstat-fields LIST] [--vmstat-every N]]\n"
		   "                 [FILE...]\n\n"
		   "Run scenario files (docs/scenario.md); with no FILE, run the\n"
		   "built-in demo of copy-on-write.\n\n"
		   "  -v, --verbose          print each statement before running it\n"
		   "      --no-check         do not run the invariant checker after every\n"
		   "                         operation (\"check\" statements still run it)\n"
		   "  -b, --inject-bug NAME  switch a bug-zoo entry on in every machine the\n"
		   "                         scenarios create (repeatable; 'mmlab bugs')\n"
		   "      --fail-rate PPM    make every frame, page-table, metadata, swap\n"
		   "                         and tag-storage allocation fail with this chance\n"
		   "                         per million (until a 'fail' statement)\n"
		   "      --fail-seed N      the injection schedule's seed (default 1)\n"
		   "  -s, --seed N           the seed of the scheduler that runs threads\n"
		   "                         blocks (default: the file's machine seed=, or 0):\n"
		   "                         the same seed, the same interleaving\n"
		   "      --strategy S       every threads block's strategy: random, or pct\n"
		   "                         or pct-pte (with --depth D, 1..16, default 3),\n"
		   "                         whatever\n"
		   "                         the block says\n"
		   "      --trace EVENTS     print these trace events (Linux's tracepoints:\n"
		   "                         a comma list of names or globs, SYSTEM:NAME,\n"
		   "                         !NAME to leave one out) as lines of ftrace's\n"
		   "                         trace file, with a virtual timestamp;\n"
		   "                         --trace list prints the events and exits\n"
		   "      --trace-file FILE  write them to FILE, not standard output\n"
		   "      --json             one JSON document on standard output: each\n"
		   "                         file's result, statements run, first failure\n"
		   "                         and output (docs/json.md); messages still go\n"
		   "                         to standard error\n"
		   "      --report FILE      one HTML page of the run: each statement with its\n"
		   "                         output and verdict, its pictures inline, the\n"
		   "                         vmstat counters it changed (self-contained)\n"
		   "      --show-dir DIR     each show pagetable|rmap|folio|machine statement\n"
		   "                         draws a file there: SCENARIO-LINE-KIND.svg\n"
		   "      --show-format F    those files' format: svg (default), png or dot\n"
		   "      --vmstat-trace F   write vmstat counters and meminfo fields to the\n"
		   "                         CSV file F after every statement (mmlab plot\n"
		   "                         draws it); first column the step, then the\n"
		   "                         statement's line\n"
		   "      --vmstat-fields L  its columns, comma-separated Linux names (default\n"
		   "                         MemFree,SwapFree,pgscan_kswapd,pgscan_direct,\n"
		   "                         pgsteal_kswapd,pgsteal_direct,pgfault,pswpout,\n"
		   "                         pswpin,pageoutrun)\n"
		   "      --vmstat-every N   a row every N statements only\n"
		   "  -h, --help             this text\n\n"
		   "Without --show-dir or --report, a picture statement prints one line\n"
		   "saying how many nodes and edges its picture has.\n\n"
		   "Under --fail-rate, operations may fail with ENOMEM, so expectations\n"
		   "written for a healthy machine may fail (exit 1): it is for robustness\n"
		   "runs, where what counts is that nothing crashes, leaks or breaks an\n"
		   "invariant (those are reported as failures with their line).\n\n"
		   "Exit status: 0 all passed, 1 an expectation failed, 2 bad input.\n"
		   "With several files, the worst status of them all.\n");
}

/* The scenario's result as --json names it: its exit status's meaning. */
static const char *const run_result[] = { [SCN_PASS] = "pass", [SCN_FAIL] = "fail", [SCN_BAD] = "bad" };

/*
 * One scenario run for --json: what it prints (echo, show, --verbose) is
 * kept for the document, its messages are passed on to stderr and kept
 * too.  text NULL: read the file name.
 */
static int run_json_one(struct json *j, const char *name, const char *text, struct scn_opts *o)
{
	struct scn_stats stats = { 0 };
	char *out = NULL, *err = NULL;
	size_t outlen = 0, errlen = 0;
	int status;

	o->out = open_memstream(&out, &outlen);
	o->err = open_memstream(&err, &errlen);
	if (!o->out || !o->err) {
		fprintf(stderr, "mmlab run: %s\n", strerror(errno));
		exit(2);
	}
	o->stats = &stats;
	status = text ? scn_run_string(name, text, strlen(text), o) : scn_run_file(name, o);
	fclose(o->out);
	fclose(o->err);
	fwrite(err, 1, errlen, stderr);
	json_object(j, NULL);
	json_str(j, "file", name);
	json_str(j, "result", run_result[status]);
	json_int(j, "exit_status", status);
	json_int(j, "statements", stats.statements);
	if (status != SCN_PASS && stats.failure[0]) {
		json_object(j, "failure");
		json_uint(j, "line", stats.fail_line);
		json_str(j, "message", stats.failure);
		json_end(j);
	} else {
		json_null(j, "failure");
	}
	json_strn(j, "output", out, outlen);
	json_strn(j, "diagnostics", err, errlen);
	json_end(j);
	free(out);
	free(err);
	return status;
}

/* --json: {"files": [...], "exit_status": N} (docs/schema/run.json). */
static int run_json(struct scn_opts *o, char **files, int nfiles)
{
	const char *name, *text;
	int worst = SCN_PASS, status;
	struct json j;

	json_init(&j, stdout);
	json_object(&j, NULL);
	json_array(&j, "files");
	for (int i = 0; nfiles ? i < nfiles : !!(text = scn_demo_text(i, &name)); i++) {
		status = nfiles ? run_json_one(&j, files[i], NULL, o) : run_json_one(&j, name, text, o);
		if (status > worst)
			worst = status;
	}
	json_end(&j);
	json_int(&j, "exit_status", worst);
	json_end(&j);
	return worst;
}

static int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "verbose",    no_argument,       NULL, 'v' },
		{ "no-check",   no_argument,       NULL, 'C' },
		{ "inject-bug", required_argument, NULL, 'b' },
		{ "fail-rate",  required_argument, NULL, 'r' },
		{ "fail-seed",  required_argument, NULL, 'F' },
		{ "seed",       required_argument, NULL, 's' },
		{ "strategy",   required_argument, NULL, 'y' },
		{ "depth",      required_argument, NULL, 'd' },
		{ "json",       no_argument,       NULL, 'j' },
		{ "report",     required_argument, NULL, 'R' },
		{ "show-dir",   required_argument, NULL, 'D' },
		{ "show-format", required_argument, NULL, 'P' },
		{ "trace",      required_argument, NULL, 'T' },
		{ "trace-file", required_argument, NULL, 'W' },
		{ "help",       no_argument,       NULL, 'h' },
		VMSTAT_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct scn_opts o = { .out = stdout, .err = stderr, .fail_seed = 1, .sched_depth = 3,
			      .show_format = MML_PICTURE_SVG };
	const char *report = NULL, *trace_file = NULL;
	bool format_given = false;
	struct vmstat_opts vo = { 0 };
	struct vmstat_trace vtrace;
	bool depth_given = false, json = false;
	/* each --inject-bug takes an argv slot, so argc bounds them */
	const char **bugs = calloc(argc, sizeof(*bugs));
	int c, i, worst = SCN_PASS;
	bool seed_given = false;
	uint64_t v;

	if (!bugs) {
		fprintf(stderr, "mmlab run: out of memory\n");
		return 2;
	}
	o.bugs = bugs;
	while ((c = getopt_long(argc, argv, "+vb:s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'v':
			o.verbose = true;
			break;
		case 'C':
			o.no_check = true;
			break;
		case 'b':
			if (opt_bug("run", optarg) < 0)
				goto bad;
			bugs[o.nbugs++] = optarg;
			break;
		case 'r':
			if (opt_uint("run", "fail-rate", optarg, MAX_PPM, &v))
				goto bad;
			o.fail_rate_ppm = (unsigned)v;
			break;
		case 'F':
			if (opt_uint("run", "fail-seed", optarg, UINT64_MAX, &o.fail_seed))
				goto bad;
			seed_given = true;
			break;
		case 's':
			if (opt_uint("run", "seed", optarg, UINT64_MAX, &o.sched_seed))
				goto bad;
			o.sched_seed_set = true;
			break;
		case 'y':
			if (strcmp(optarg, "random") && strcmp(optarg, "pct") && strcmp(optarg, "pct-pte")) {
				fprintf(stderr, "mmlab run: --strategy: expected random, pct or pct-pte, got '%s'\n", optarg);
				goto bad;
			}
			o.sched_strategy = optarg;
			break;
		case 'd':
			if (opt_range("run", "depth", optarg, 1, 16, &v))
				goto bad;
			o.sched_depth = (unsigned)v;
			depth_given = true;
			break;
		case 'j':
			json = true;
			break;
		case 'R':
			if (opt_out_file("run", "report", optarg) < 0)
				goto bad;
			report = optarg;
			break;
		case 'D':
			o.show_dir = optarg;
			break;
		case 'P':
			if (opt_picture_format("run", optarg, &o.show_format) < 0)
				goto bad;
			format_given = true;
			break;
		case 'T':
			if (!strcmp(optarg, "list")) {
				trace_list(stdout);
				free(bugs);
				return 0;
			}
			if (opt_trace_events("run", optarg) < 0)
				goto bad;
			o.trace = optarg;
			break;
		case 'W':
			trace_file = optarg;
			break;
		case OPT_VMSTAT_TRACE:
		case OPT_VMSTAT_FIELDS:
		case OPT_VMSTAT_EVERY:
			if (opt_vmstat("run", c, optarg, &vo))
				goto bad;
			break;
		case 'h':
			run_usage(stdout);
			free(bugs);
			return 0;
		default:
			fprintf(stderr, "try 'mmlab run --help'\n");
			goto bad;
		}
	}
	if (seed_given && !o.fail_rate_ppm) {
		fprintf(stderr, "mmlab run: --fail-seed seeds --fail-rate's schedule; give --fail-rate too\n");
		goto bad;
	}
	if (depth_given && (!o.sched_strategy || strncmp(o.sched_strategy, "pct", 3))) {
		fprintf(stderr, "mmlab run: --depth is PCT's; give --strategy pct too\n");
		goto bad;
	}
	if (trace_file) {
		if (!o.trace) {
			fprintf(stderr, "mmlab run: --trace-file is where --trace's events go; give --trace too\n");
			goto bad;
		}
		o.trace_out = fopen(trace_file, "w");
		if (!o.trace_out) {
			fprintf(stderr, "mmlab run: --trace-file %s: %s\n", trace_file, strerror(errno));
			goto bad;
		}
	}
	if (format_given && !o.show_dir) {
		fprintf(stderr, "mmlab run: --show-format is --show-dir's; give --show-dir too\n");
		goto bad;
	}
	if (o.show_dir && opt_dir("run", "show-dir", o.show_dir) < 0)
		goto bad;
	if (opt_vmstat_open("run", &vo, "line", &vtrace))
		goto bad;
	o.vmstat = &vtrace;
	if (report && report_open(report, &o) < 0)
		goto bad;
	if (json) {
		worst = run_json(&o, argv + optind, argc - optind);
	} else if (optind == argc) {
		worst = scn_run_demo(&o);
	} else {
		for (i = optind; i < argc; i++) {
			int status = scn_run_file(argv[i], &o);

			if (status > worst)
				worst = status;
		}
	}
	if (report && report_close(report, &o) < 0 && worst < 2)
		worst = 2;
	if (o.trace_out)
		fclose(o.trace_out);
	free(bugs);
	return opt_vmstat_close("run", &vtrace, worst);
bad:
	free(bugs);
	return 2;
}

static void conform_usage(FILE *f)
{
	fprintf(f, "usage: mmlab conform [--verbose|-v] [--timeout MS] [--json] FILE...\n\n"
		   "Run each scenario twice, on a simulated machine and natively on\n"
		   "this host's Linux kernel (real processes, threads, mmap, io_uring\n"
		   "and vmsplice pins, /proc/self/pagemap), and compare what each\n"
		   "observed, statement by statement (docs/conformance.md).  Every\n"
		   "disagreement is printed side by side.  What one side cannot do\n"
		   "here is reported as skipped, with the reason, never as agreed.\n\n"
		   "  -v, --verbose     print every observation, not only disagreements\n"
		   "  -t, --timeout MS  longest wait for an answer from a host process\n"
		   "                    (default 5000); a hung host process is a failure\n"
		   "      --json        one JSON document on standard output: each file's\n"
		   "                    verdict, skips with their reasons and first\n"
		   "                    difference (docs/json.md); the text goes to stderr\n"
		   "  -h, --help        this text\n\n"
		   "Exit status: 0 every scenario agreed or was skipped, 1 a\n"
		   "disagreement (or a failed host run), 2 bad input.\n");
}

static int cmd_conform(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "verbose", no_argument,       NULL, 'v' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json",    no_argument,       NULL, 'j' },
		{ "help",    no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct cf_opts o = { .timeout_ms = 5000 };
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "+vt:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'v':
			o.verbose = true;
			break;
		case 't':
			if (opt_range("conform", "timeout", optarg, 1, 3600000, &v))
				return 2;
			o.timeout_ms = (int)v;
			break;
		case 'j':
			o.json = true;
			break;
		case 'h':
			conform_usage(stdout);
			return 0;
		default:
			fprintf(stderr, "try 'mmlab conform --help'\n");
			return 2;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "mmlab conform: no scenario file (try 'mmlab conform --help')\n");
		return 2;
	}
	return cf_conform_files(argv + optind, argc - optind, &o);
}

static void fuzz_usage(FILE *f)
{
	fprintf(f, "usage: mmlab fuzz [--seed N | --seeds A-B] [--ops N] [--time S] [--procs N]\n"
		   "                  [--ram BYTES] [--swap BYTES] [--oom] [--kswapd] [--devices]\n"
		   "                  [--files] [--dax] [--thp] [--mremap] [--nodes N] [--guard] [--mlock]\n"
		   "                  [--commit] [--refs] [--ksm] [--uffd] [--inject-bug NAME]\n"
		   "                  [--fail-rate PPM | --fail-at N\n"
		   "                  [--fail-repeat N]] [--check-every N]\n"
		   "                  [--out FILE] [--quiet] [--json]\n"
		   "                  [--vmstat-trace FILE.csv [--vmstat-fields LIST] [--vmstat-every N]]\n\n"
		   "Run random operations (mmap, munmap, mprotect, madvise, fork, exit,\n"
		   "threads, reads and writes) over several processes, compare every\n"
		   "observation with the reference model and run the invariant checker.\n"
		   "On the first divergence, print it and a shrunk scenario that still\n"
		   "fails under 'mmlab run'.  Same seed and version, same run.\n\n"
		   "  -s, --seed N           the run's seed (default 1)\n"
		   "      --seeds A-B        seeds A to B, one run after another, each as\n"
		   "                         --seed would run it, then one line: seeds, operations,\n"
		   "                         divergences and their seeds (not with --out)\n"
		   "  -n, --ops N            operations to run (default 10000)\n"
		   "  -t, --time S           stop after S seconds (default: no limit)\n"
		   "      --shrink-time S    shrink a divergence for at most S seconds\n"
		   "                         (default 60)\n"
		   "  -p, --procs N          most live processes at once (default 4)\n"
		   "      --ram BYTES        simulated RAM, 256K to 64G: 16M, 0x1000000 (default 16M)\n"
		   "      --swap BYTES       a swap device of that size, and reclaim, swapon,\n"
		   "                         swapoff and 'fail tag' among the operations\n"
		   "                         (default: no swap)\n"
		   "      --oom              now and then map and populate a large region, so\n"
		   "                         that memory runs out and the OOM killer runs\n"
		   "      --kswapd           run kswapd beside the operations: reclaim then\n"
		   "                         also happens in the background, and a run is no\n"
		   "                         longer the same every time (nor its shrinking)\n"
		   "      --devices          attach devices with their own MMU to processes and\n"
		   "                         read and write through them (mml_device_*)\n"
		   "      --files            files and shared memory too: open, memfd, close,\n"
		   "                         dup, unlink, ftruncate, fallocate, pread, pwrite,\n"
		   "                         fsync, msync, seals, mmap of descriptors and\n"
		   "                         MAP_SHARED|MAP_ANONYMOUS, drop_caches; the disk's\n"
		   "                         host files are checked at the end\n"
		   "      --dax              --files with a pmem device: /pmem files (fs-DAX),\n"
		   "                         FICLONE, PMD-sized mappings at 2 MiB slots\n"
		   "      --thp              transparent huge pages: most mappings 2 MiB-aligned\n"
		   "                         with MADV_HUGEPAGE; MADV_(NO)HUGEPAGE, MADV_COLLAPSE,\n"
		   "                         the THP knobs, khugepaged passes, split_huge_pages,\n"
		   "                         drop_caches, and unmaps, mprotects and advice\n"
		   "                         across PMD boundaries (default --ram 64M)\n"
		   "      --mremap           mremap with every flag (MAYMOVE, FIXED, DONTUNMAP,\n"
		   "                         and invalid ones): grow, shrink, move, FIXED over\n"
		   "                         mappings, ranges across VMAs\n"
		   "      --nodes N          a machine of N NUMA nodes (2..16), and move_pages,\n"
		   "                         mbind (every mode, MOVE, STRICT) and migrate_pages\n"
		   "                         among the operations\n"
		   "      --guard            guard regions: MADV_GUARD_INSTALL and\n"
		   "                         MADV_GUARD_REMOVE among the operations\n"
		   "      --mlock            mlock, mlock2, munlock, mlockall, munlockall and\n"
		   "                         RLIMIT_MEMLOCK among the operations\n"
		   "      --commit           overcommit policies and limits among the operations\n"
		   "                         (mode 2 not with --files), an mmap whose VMA cannot\n"
		   "                         be had; Committed_AS and each refusal judged\n"
		   "      --refs             clear_refs (1..4, mostly 4 for soft-dirty, and\n"
		   "                         invalid types) and process_madvise of 1..3 ranges\n"
		   "                         of the caller or another process; pagemap's\n"
		   "                         soft-dirty bit checked against the writes since\n"
		   "                         the last clear_refs 4\n"
		   "      --ksm              KSM: MADV_MERGEABLE/UNMERGEABLE, passes and full\n"
		   "                         scans, prctl(PR_SET/GET_MEMORY_MERGE), the knobs\n"
		   "                         (use_zero_pages, run 0/2, max_page_sharing) and\n"
		   "                         ksm_stat; counters checked to add up\n"
		   "      --uffd             userfaultfd (SIGBUS, MISSING and WP registrations,\n"
		   "                         COPY, ZEROPAGE, WRITEPROTECT) over private memory;\n"
		   "                         the faults, results and pagemap's bit 57 judged\n"
		   "  -b, --inject-bug NAME  switch a bug-zoo entry on ('mmlab bugs')\n"
		   "      --fail-rate PPM    fault injection at every allocation site,\n"
		   "                         chance per million\n"
		   "      --fail-at N        or: the N-th allocation fails ...\n"
		   "      --fail-repeat N    ... and N more after it (-1: all later ones)\n"
		   "  -c, --check-every N    the full invariant check and the layout comparison\n"
		   "                         every N operations (default 256; 1 = every\n"
		   "                         operation; always at the end and before a divergence\n"
		   "                         is reported); after every other operation the\n"
		   "                         incremental check of what it touched\n"
		   "  -o, --out FILE         also write the shrunk scenario to FILE\n"
		   "  -q, --quiet            no summary line\n"
		   "      --json             one JSON document on standard output instead of\n"
		   "                         the text: each seed's operations, rate, divergence\n"
		   "                         (its reproducer) and text, and the totals; the\n"
		   "                         documents of split --seeds runs merge (docs/json.md)\n"
		   "      --vmstat-trace F   write vmstat counters and meminfo fields to the\n"
		   "                         CSV file F after every operation (mmlab plot\n"
		   "                         draws it); first column the step, then the\n"
		   "                         seed\n"
		   "      --vmstat-fields L  its columns, comma-separated Linux names (default\n"
		   "                         MemFree,SwapFree,pgscan_kswapd,pgscan_direct,\n"
		   "                         pgsteal_kswapd,pgsteal_direct,pgfault,pswpout,\n"
		   "                         pswpin,pageoutrun)\n"
		   "      --vmstat-every N   a row every N operations only\n"
		   "  -h, --help             this text\n\n"
		   "A progress line (done/total, rate, elapsed, ETA, failures) is drawn on\n"
		   "standard error when it is a terminal and --quiet is not given.\n"
		   "Exit status: 0 no divergence, 1 a divergence (reported and shrunk),\n"
		   "2 bad usage.\n");
}

static int fuzz_main(int argc, char **argv, bool recorded);

/*
 * The options that rerun a seed as this run ran it, less those that say
 * which seeds or where output goes: --json's "options".
 */
static char *fuzz_json_args(int argc, char **argv)
{
	static const char *const skip[] = { "--seed", "-s", "--seeds", "--out", "-o", "--vmstat-trace",
					    "--vmstat-fields", "--vmstat-every", "--json", "--quiet", "-q" };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	for (int i = 1; f && i < argc; i++) {
		size_t k, n = strcspn(argv[i], "=");

		for (k = 0; k < sizeof(skip) / sizeof(skip[0]); k++)
			if (strlen(skip[k]) == n && !strncmp(argv[i], skip[k], n))
				break;
		if (k == sizeof(skip) / sizeof(skip[0])) {
			fprintf(f, "%s%s", len || ftell(f) ? " " : "", argv[i]);
			continue;
		}
		/* its value, when it takes one and it is not after '=' */
		if (k < 8 && !argv[i][n])
			i++;
	}
	if (f)
		fclose(f);
	return buf;
}

/* --seeds A-B: decimal, A <= B; 0, or -1 after one message. */
static int opt_seed_range(const char *s, uint64_t *first, uint64_t *last)
{
	char *end;

	errno = 0;
	if (!isdigit((unsigned char)*s))
		goto bad;
	*first = strtoull(s, &end, 10);
	if (errno || *end != '-' || !isdigit((unsigned char)end[1]))
		goto bad;
	*last = strtoull(end + 1, &end, 10);
	if (errno || *end || *first > *last)
		goto bad;
	return 0;
bad:
	fprintf(stderr, "mmlab fuzz: --seeds: expected A-B, seeds A to B with A <= B (1-100), got '%s'\n", s);
	return -1;
}

/*
 * `--inject-bug NAME` with no option saying what machine or operations
 * to run: those its zoo entry records as exposing it (mmlab bugs
 * --fuzz-options NAME) go first, the user's after.
 */
static int fuzz_with_recorded(int argc, char **argv, const char *bug, const char *rec)
{
	char *copy, *tok, *save = NULL;
	char **argv2;
	int argc2 = 0, r = 2;

	if (!strncmp(rec, "stress ", 7)) {
		fprintf(stderr, "mmlab fuzz: %s is a race the fuzzer does not schedule: try "
			"'mmlab stress --strategy pct --inject-bug %s --story %s'\n", bug, bug, rec + 7);
		return 2;
	}
	copy = strdup(rec);
	argv2 = calloc((size_t)argc + strlen(rec) + 1, sizeof(*argv2));

	if (copy && argv2) {
		argv2[argc2++] = argv[0];
		for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
			argv2[argc2++] = tok;
		for (int i = 1; i < argc; i++)
			argv2[argc2++] = argv[i];
		fprintf(stderr, "mmlab fuzz: %s with its zoo options: %s\n", bug, rec);
		optind = 0;
		r = fuzz_main(argc2, argv2, true);
	} else {
		fprintf(stderr, "mmlab fuzz: out of memory\n");
	}
	free(argv2);
	free(copy);
	return r;
}

static int cmd_fuzz(int argc, char **argv)
{
	return fuzz_main(argc, argv, false);
}

static int fuzz_main(int argc, char **argv, bool recorded)
{
	static const struct option longopts[] = {
		{ "seed",        required_argument, NULL, 's' },
		{ "seeds",       required_argument, NULL, 'k' },
		{ "ops",         required_argument, NULL, 'n' },
		{ "time",        required_argument, NULL, 't' },
		{ "shrink-time", required_argument, NULL, 'H' },
		{ "procs",       required_argument, NULL, 'p' },
		{ "ram",         required_argument, NULL, 'R' },
		{ "swap",        required_argument, NULL, 'S' },
		{ "oom",         no_argument,       NULL, 'O' },
		{ "kswapd",      no_argument,       NULL, 'K' },
		{ "devices",     no_argument,       NULL, 'D' },
		{ "files",       no_argument,       NULL, 'F' },
		{ "thp",         no_argument,       NULL, 'T' },
		{ "dax",         no_argument,       NULL, 'X' },
		{ "mremap",      no_argument,       NULL, 'M' },
		{ "nodes",       required_argument, NULL, 'N' },
		{ "guard",       no_argument,       NULL, 'G' },
		{ "mlock",       no_argument,       NULL, 'L' },
		{ "commit",      no_argument,       NULL, 'C' },
		{ "refs",        no_argument,       NULL, 'E' },
		{ "ksm",         no_argument,       NULL, 'J' },
		{ "uffd",        no_argument,       NULL, 'U' },
		{ "inject-bug",  required_argument, NULL, 'b' },
		{ "fail-rate",   required_argument, NULL, 'r' },
		{ "fail-at",     required_argument, NULL, 'A' },
		{ "fail-repeat", required_argument, NULL, 'P' },
		{ "check-every", required_argument, NULL, 'c' },
		{ "out",         required_argument, NULL, 'o' },
		{ "quiet",       no_argument,       NULL, 'q' },
		{ "json",        no_argument,       NULL, 'j' },
		{ "help",        no_argument,       NULL, 'h' },
		VMSTAT_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct fuzz_opts o = { .seed = 1, .out = stdout };
	struct vmstat_opts vo = { 0 };
	struct vmstat_trace trace;
	bool machine_given = false;	/* an option saying what machine, or what operations */
	bool seed_given = false, seeds_given = false;
	uint64_t first = 0, last = 0;
	int bug = -1;
	uint64_t v;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "+s:n:t:p:b:c:o:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (opt_uint("fuzz", "seed", optarg, UINT64_MAX, &o.seed))
				return 2;
			seed_given = true;
			break;
		case 'k':
			if (opt_seed_range(optarg, &first, &last))
				return 2;
			seeds_given = true;
			break;
		case 'n':
			if (opt_range("fuzz", "ops", optarg, 1, LONG_MAX, &v))
				return 2;
			o.ops = (long)v;
			break;
		case 't':
		case 'H': {
			double *secs = c == 't' ? &o.time_s : &o.shrink_s;

			errno = 0;
			*secs = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(*secs >= 0)) {
				fprintf(stderr, "mmlab fuzz: --%s: expected seconds, got '%s'\n",
					c == 't' ? "time" : "shrink-time", optarg);
				return 2;
			}
			break;
		}
		case 'p':
			machine_given = true;
			if (opt_range("fuzz", "procs", optarg, 1, 64, &v))
				return 2;
			o.procs = (int)v;
			break;
		case 'R':
			machine_given = true;
			if (opt_size("fuzz", "ram", optarg, &o.ram))
				return 2;
			if (o.ram < MML_RAM_MIN || o.ram > MML_RAM_MAX) {
				fprintf(stderr, "mmlab fuzz: --ram: %s is not 256K..64G\n", optarg);
				return 2;
			}
			break;
		case 'O':
			machine_given = true;
			o.oom = true;
			break;
		case 'K':
			machine_given = true;
			o.kswapd = true;
			break;
		case 'D':
			machine_given = true;
			o.devices = true;
			break;
		case 'F':
			machine_given = true;
			o.files = true;
			break;
		case 'T':
			machine_given = true;
			o.thp = true;
			break;
		case 'X':
			machine_given = true;
			o.dax = o.files = true;
			break;
		case 'M':
			machine_given = true;
			o.mremap = true;
			break;
		case 'G':
			machine_given = true;
			o.guard = true;
			break;
		case 'N':
			machine_given = true;
			if (opt_uint("fuzz", "nodes", optarg, 16, &v))
				return 2;
			o.nodes = (int)v;
			break;
		case 'L':
			machine_given = true;
			o.mlock = true;
			break;
		case 'C':
			machine_given = true;
			o.commit = true;
			break;
		case 'E':
			machine_given = true;
			o.refs = true;
			break;
		case 'J':
			machine_given = true;
			o.ksm = true;
			break;
		case 'U':
			machine_given = true;
			o.uffd = true;
			break;
		case 'S':
			machine_given = true;
			if (opt_size("fuzz", "swap", optarg, &o.swap))
				return 2;
			if (o.swap < 2 * 4096 || o.swap > (4096ULL << 32)) {
				fprintf(stderr, "mmlab fuzz: --swap: %s is not 8K..16T (a header page and a slot at least)\n",
					optarg);
				return 2;
			}
			break;
		case 'b':
			if (o.bug) {
				fprintf(stderr, "mmlab fuzz: one --inject-bug at a time\n");
				return 2;
			}
			bug = opt_bug("fuzz", optarg);
			if (bug < 0)
				return 2;
			o.bug = optarg;
			break;
		case 'r':
			if (opt_uint("fuzz", "fail-rate", optarg, MAX_PPM, &v))
				return 2;
			o.fail_rate_ppm = (unsigned)v;
			break;
		case 'A':
			if (opt_uint("fuzz", "fail-at", optarg, LONG_MAX, &v))
				return 2;
			o.fail_at = (long)v;
			break;
		case 'P':
			/* -1 is the one negative value: "every later one" */
			if (strcmp(optarg, "-1") == 0) {
				o.fail_repeat = -1;
				break;
			}
			if (opt_uint("fuzz", "fail-repeat", optarg, LONG_MAX, &v))
				return 2;
			o.fail_repeat = (long)v;
			break;
		case 'c':
			if (opt_range("fuzz", "check-every", optarg, 1, INT_MAX, &v))
				return 2;
			o.check_every = (int)v;
			break;
		case 'o':
			o.scenario_out = optarg;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'j':
			o.json = true;
			break;
		case OPT_VMSTAT_TRACE:
		case OPT_VMSTAT_FIELDS:
		case OPT_VMSTAT_EVERY:
			if (opt_vmstat("fuzz", c, optarg, &vo))
				return 2;
			break;
		case 'h':
			fuzz_usage(stdout);
			return 0;
		default:
			fprintf(stderr, "try 'mmlab fuzz --help'\n");
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mmlab fuzz: unexpected argument '%s'; try 'mmlab fuzz --help'\n",
			argv[optind]);
		return 2;
	}
	if (o.fail_rate_ppm && o.fail_at) {
		fprintf(stderr, "mmlab fuzz: --fail-rate and --fail-at are two schedules; pick one\n");
		return 2;
	}
	if (o.fail_repeat && !o.fail_at) {
		fprintf(stderr, "mmlab fuzz: --fail-repeat counts failures after --fail-at's; give --fail-at too\n");
		return 2;
	}
	if (seeds_given && seed_given) {
		fprintf(stderr, "mmlab fuzz: --seed and --seeds: pick one\n");
		return 2;
	}
	if (seeds_given && o.scenario_out) {
		fprintf(stderr, "mmlab fuzz: --out names one file and --seeds may find many divergences: "
			"each one's scenario is in the output\n");
		return 2;
	}
	if (o.scenario_out && opt_out_file("fuzz", "out", o.scenario_out))
		return 2;
	/* The model follows userfaultfd through these not yet (fuzz_uffd.c). */
	if (o.uffd && (o.devices || o.files || o.thp || o.mremap || o.nodes > 1 || o.mlock || o.oom || o.ksm)) {
		fprintf(stderr, "mmlab fuzz: --uffd goes with --swap, --guard, --commit and --refs, "
			"not yet with --devices, --files, --thp, --mremap, --nodes, --mlock, --oom or --ksm\n");
		return 2;
	}
	/* A DAX mapping is never collapsed nor split as a THP: the THP stories would have nothing to say. */
	if (o.dax && (o.thp || o.uffd)) {
		fprintf(stderr, "mmlab fuzz: --dax goes with the options --files does, not yet with --thp or --uffd\n");
		return 2;
	}
	if (bug >= 0 && !machine_given && !recorded && *mml_bug_fuzz_options(bug))
		return fuzz_with_recorded(argc, argv, o.bug, mml_bug_fuzz_options(bug));
	o.progress = !o.quiet && !o.json;
	if (opt_vmstat_open("fuzz", &vo, "seed", &trace))
		return 2;
	o.vmstat = &trace;
	if (o.json && !(o.json_args = fuzz_json_args(argc, argv))) {
		fprintf(stderr, "mmlab fuzz: out of memory\n");
		return opt_vmstat_close("fuzz", &trace, 2);
	}
	c = seeds_given ? fuzz_run_seeds(&o, first, last) : fuzz_run(&o);
	free((char *)o.json_args);
	return opt_vmstat_close("fuzz", &trace, c);
}

static void bugs_usage(FILE *f)
{
	fprintf(f, "usage: mmlab bugs [--names | --fuzz-options NAME | --json]\n\n"
		   "List the bug zoo: defects compiled into the library, off unless\n"
		   "switched on with 'mmlab run --inject-bug NAME' or 'mmlab fuzz\n"
		   "--inject-bug NAME'.  Each exists to prove that the oracles catch\n"
		   "what they claim to: for each, what it breaks and the Linux history\n"
		   "it echoes.\n\n"
		   "  -n, --names              only the names, one a line (for scripts)\n"
		   "      --fuzz-options NAME  the 'mmlab fuzz' options that expose NAME,\n"
		   "                           besides --seed and --ops (may be empty)\n"
		   "      --json               the whole zoo as one JSON document\n"
		   "                           (docs/json.md)\n"
		   "  -h, --help               this text\n");
}

/*
 * The command that exposes zoo entry name: a race is found by a story of
 * the deterministic scheduler, the rest by the fuzzer with the options
 * its entry records.
 */
static void bug_command(char *buf, size_t len, const char *name, const char *fuzz)
{
	if (!strncmp(fuzz, "stress ", 7))
		snprintf(buf, len, "mmlab stress --strategy pct --inject-bug %s --story %s", name, fuzz + 7);
	else
		snprintf(buf, len, "mmlab fuzz --inject-bug %s%s%s", name, fuzz[0] ? " " : "", fuzz);
}

static int cmd_bugs(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "names",        no_argument,       NULL, 'n' },
		{ "fuzz-options", required_argument, NULL, 'F' },
		{ "json",         no_argument,       NULL, 'j' },
		{ "help",         no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *name, *breaks, *history, *options_of = NULL;
	bool names_only = false, json = false;
	struct json j;
	char cmd[512];
	int c, i;

	while ((c = getopt_long(argc, argv, "+nh", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			names_only = true;
			break;
		case 'F':
			if (opt_bug("bugs", optarg) < 0)
				return 2;
			options_of = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			bugs_usage(stdout);
			return 0;
		default:
			fprintf(stderr, "try 'mmlab bugs --help'\n");
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mmlab bugs: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (names_only + !!options_of + json > 1) {
		fprintf(stderr, "mmlab bugs: --names, --fuzz-options and --json are three outputs; pick one\n");
		return 2;
	}
	json_init(&j, stdout);
	if (json) {
		json_object(&j, NULL);
		json_array(&j, "bugs");
	}
	for (i = 0; mml_bug_describe(i, &name, &breaks, &history) == 0; i++) {
		const char *fuzz = mml_bug_fuzz_options(i);
		bool race = !strncmp(fuzz, "stress ", 7);

		bug_command(cmd, sizeof(cmd), name, fuzz);
		if (json) {
			json_object(&j, NULL);
			json_str(&j, "name", name);
			json_str(&j, "breaks", breaks);
			json_str(&j, "history", history);
			json_str(&j, "fuzz_options", fuzz);
			json_str(&j, "found_by", race ? "stress" : "fuzz");
			if (race)
				json_str(&j, "story", fuzz + 7);
			json_str(&j, "command", cmd);
			json_end(&j);
		} else if (options_of) {
			if (!strcmp(name, options_of))
				printf("%s\n", fuzz);
		} else if (names_only) {
			printf("%s\n", name);
		} else {
			printf("%s%s\n  breaks:  %s\n  echoes:  %s\n  exposed: %s\n", i ? "\n" : "", name, breaks,
			       history, cmd);
		}
	}
	if (json) {
		json_end(&j);
		json_end(&j);
	}
	return 0;
}

int cli_dispatch(const struct cli_command *table, const char *prefix, int argc, char **argv)
{
	static char name[64];
	const struct cli_command *cmd;

	for (cmd = table; cmd->name; cmd++) {
		if (strcmp(cmd->name, argv[optind]) == 0) {
			snprintf(name, sizeof(name), "%s %s", prefix, cmd->name);
			argc -= optind;
			argv += optind;
			argv[0] = name;
			optind = 0;	/* glibc: 0 reinitialises getopt */
			return cmd->fn(argc, argv);
		}
	}
	return -1;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help",    no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	argv[0] = (char *)"mmlab";	/* getopt's messages name the command, not the path it was run by */
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
	c = cli_dispatch(commands, "mmlab", argc, argv);
	if (c >= 0)
		return c;
	fprintf(stderr, "mmlab: unknown command '%s'; try 'mmlab --help'\n",
		argv[optind]);
	return 2;
}
