/*
 * bench.c - `mmlab bench`: the list of benches, and what they share (the
 * clock, the page contents, the table).  Each bench has its own file.
 */
#define _GNU_SOURCE	/* sched_setaffinity */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>	/* _mm_clflush */
#endif

#include "bench.h"
#include "native/conform.h"
#include "cli.h"
#include "lib/json.h"
#include "lib/progress.h"
#include "mmlab.h"
#include "oracle/vmstat_trace.h"

/* What the options of the one bench this process runs asked for. */
static struct {
	const char *name;		/* "fault" */
	struct bench_opts o;
	FILE *json;			/* --json: the document's stream, the real stdout */
	struct vmstat_trace trace;	/* --vmstat-trace (f NULL: none) */
	struct progress prog;
	uint64_t timed;			/* phases timed so far */
	double load_start;		/* the host's 1-minute load average when the bench started */
} run;

static const struct cli_command benches[] = {
	{ "swap", bench_swap,
	  "swap-out and swap-in throughput: mmlab, plain pwrite/pread of the\n"
	  "           same file, and the host kernel's own swap" },
	{ "fault", bench_fault,
	  "page faults, fork, copy-on-write, munmap and 8-byte accesses on a\n"
	  "           TLB hit: mmlab beside the host kernel" },
	{ "notifier", bench_notifier,
	  "what an MMU notifier and a mirroring device add to munmap, COW\n"
	  "           faults and fork; the device's fault and access throughput" },
	{ "file", bench_file,
	  "faults on a cached file mapped shared, first writes and msync\n"
	  "           writeback: mmlab's /disk/ beside the host kernel and pwrite" },
	{ "dax", bench_dax,
	  "fs-DAX on /pmem/: PMD and PTE faults and reflink of a file, beside\n"
	  "           the host's faults on /dev/shm and FICLONE where it has reflink" },
	{ "thp", bench_thp,
	  "THP write faults, fork and COW of PMD-mapped memory, MADV_COLLAPSE:\n"
	  "           mmlab beside the host kernel, memset and memcpy" },
	{ "migrate", bench_migrate,
	  "move_pages between two NUMA nodes and mremap of a populated region\n"
	  "           (whole pte tables or every pte): mmlab beside the host kernel" },
	{ "lock", bench_lock,
	  "mlock (faulting in, and of populated pages), munlock, and guard\n"
	  "           regions installed and removed: mmlab beside the host kernel" },
	{ "commit", bench_commit,
	  "what charging the commit costs mmap, munmap and mprotect, in\n"
	  "           overcommit modes 1 and 2: mmlab beside the host kernel" },
	{ "refs", bench_refs,
	  "soft-dirty tracking (clear_refs 4, then a store a page) and\n"
	  "           process_madvise of another process: mmlab beside the host kernel" },
	{ "ksm", bench_ksm,
	  "KSM merging a region of page pairs: mmlab's full scans beside the\n"
	  "           host's ksmd, reading every page and comparing the pairs" },
	{ "uffd", bench_uffd,
	  "userfaultfd: UFFDIO_COPY a page a call, and faults answered by a\n"
	  "           second thread: mmlab beside the host kernel and a 4 KiB memcpy" },
	{ "scale", bench_scale,
	  "threads of one process faulting in parallel (page_fault1): one\n"
	  "           thread, two on two VMAs, two on one VMA, beside the host kernel" },
	{ "sched", bench_sched,
	  "the deterministic scheduler's cost: write faults off and inside\n"
	  "           runs of one and two threads, beside host faults and handoffs" },
	{ NULL, NULL, NULL }
};

static void bench_usage(FILE *f)
{
	const struct cli_command *b;

	fprintf(f, "usage: mmlab bench [NAME [OPTIONS]]\n\n"
		   "Measure mmlab beside the native operations of this host, in one\n"
		   "run (docs/bench.md).  With no NAME, list the benches.\n\n"
		   "Benches:\n");
	for (b = benches; b->name; b++)
		fprintf(f, "  %-8s %s\n", b->name, b->summary);
	fprintf(f, "\n'mmlab bench NAME --help' describes one.  Every bench checks what\n"
		   "it reads back; exit status: 0 done, 1 a check failed, 2 bad usage.\n");
}

int cmd_bench(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			bench_usage(stdout);
			return 0;
		default:
			fprintf(stderr, "try 'mmlab bench --help'\n");
			return 2;
		}
	}
	if (optind == argc) {
		bench_usage(stdout);
		return 0;
	}
	c = cli_dispatch(benches, "mmlab bench", argc, argv);
	if (c >= 0)
		return bench_finish(c);
	fprintf(stderr, "mmlab bench: unknown bench '%s'; 'mmlab bench' lists them\n",
		argv[optind]);
	return 2;
}

/* ---- options ---- */

/* What bench_parse takes of every bench besides its own options, after each bench's text. */
static void bench_common_usage(FILE *f)
{
	fprintf(f, "\nEvery bench also takes:\n"
		   "      --json               one JSON document on standard output: the\n"
		   "                           table's rows (docs/json.md); the text goes\n"
		   "                           to standard error\n"
		   "      --vmstat-trace F     write vmstat counters and meminfo fields to the\n"
		   "                           CSV file F, a row after each repetition of the\n"
		   "                           simulated side (mmlab plot draws it)\n"
		   "      --vmstat-fields L    its columns, comma-separated Linux names\n"
		   "      --vmstat-every N     a row every N repetitions only\n");
}

#define MAX_SIZE	(16ULL << 30)
#define MAX_REPS	1000

int bench_parse(int argc, char **argv, const char *cmd, bool takes_file,
		void (*usage)(FILE *f), struct bench_opts *o)
{
	static const struct option longopts[] = {
		{ "size",      required_argument, NULL, 's' },
		{ "reps",      required_argument, NULL, 'r' },
		{ "file",      required_argument, NULL, 'f' },
		{ "no-native", no_argument,       NULL, 'N' },
		{ "json",      no_argument,       NULL, 'j' },
		{ "help",      no_argument,       NULL, 'h' },
		VMSTAT_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct vmstat_opts vo = { 0 };
	bool json = false;
	uint64_t v;
	int c;

	*o = (struct bench_opts){ .size = 64ULL << 20, .reps = 3 };
	while ((c = getopt_long(argc, argv, "+s:r:f:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (opt_size(cmd, "size", optarg, &o->size))
				return 2;
			if (o->size < BENCH_PAGE || o->size > MAX_SIZE || o->size % BENCH_PAGE) {
				fprintf(stderr, "mmlab %s: --size: %s is not a multiple of 4096 "
					"from 4K to 16G\n", cmd, optarg);
				return 2;
			}
			break;
		case 'r':
			if (opt_uint(cmd, "reps", optarg, MAX_REPS, &v))
				return 2;
			if (!v) {
				fprintf(stderr, "mmlab %s: --reps: at least 1\n", cmd);
				return 2;
			}
			o->reps = (unsigned)v;
			break;
		case 'f':
			if (!takes_file) {
				fprintf(stderr, "mmlab %s: no --file: this bench uses no file\n", cmd);
				return 2;
			}
			if (!*optarg) {
				fprintf(stderr, "mmlab %s: --file: an empty path\n", cmd);
				return 2;
			}
			o->file = optarg;
			break;
		case 'N':
			o->no_native = true;
			break;
		case 'j':
			json = true;
			break;
		case OPT_VMSTAT_TRACE:
		case OPT_VMSTAT_FIELDS:
		case OPT_VMSTAT_EVERY:
			if (opt_vmstat(cmd, c, optarg, &vo))
				return 2;
			break;
		case 'h':
			usage(stdout);
			bench_common_usage(stdout);
			return 0;
		default:
			fprintf(stderr, "try 'mmlab %s --help'\n", cmd);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mmlab %s: unexpected argument '%s'; try 'mmlab %s --help'\n",
			cmd, argv[optind], cmd);
		return 2;
	}
	if (opt_vmstat_open(cmd, &vo, "rep", &run.trace))
		return 2;
	run.name = strchr(cmd, ' ') ? strchr(cmd, ' ') + 1 : cmd;
	run.o = *o;
	/*
	 * The benches print their text on stdout: under --json it goes to
	 * stderr instead, and the document to what stdout was.
	 */
	if (json) {
		int fd = dup(STDOUT_FILENO);

		fflush(stdout);
		if (fd < 0 || !(run.json = fdopen(fd, "w")) || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
			fprintf(stderr, "mmlab %s: --json: %s\n", cmd, strerror(errno));
			return 2;
		}
	}
	return -1;
}

void bench_start(const struct bench_opts *o, const struct bench_row *rows, int n)
{
	uint64_t phases = 0;

	/* --no-native leaves the native rows and the host's limits out */
	for (int i = 0; i < n; i++)
		phases += !o->no_native || !strcmp(rows[i].side, "mmlab");
	progress_start(&run.prog, run.json ? NULL : stderr, run.name, "phases", phases * (o->reps + 1), 0);
	if (getloadavg(&run.load_start, 1) != 1)
		run.load_start = -1;
}

void bench_vmstat_sample(struct mml_machine *m, unsigned rep)
{
	vmstat_trace_step(&run.trace, m, rep);
}

int bench_finish(int status)
{
	progress_end(&run.prog, run.timed, status != 0);
	if (run.json && fclose(run.json) && !status) {
		fprintf(stderr, "mmlab bench %s: --json: %s\n", run.name, strerror(errno));
		status = 2;
	}
	run.json = NULL;
	return opt_vmstat_close("bench", &run.trace, status);
}

int bench_pin_cpu(void)
{
	cpu_set_t set;
	int cpu = sched_getcpu();

	if (cpu < 0)
		return -1;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) < 0 ? -1 : cpu;
}

/* ---- failures ---- */

int bench_fail(struct bench_err *e, const char *fmt, ...)
{
	va_list ap;

	if (!e->msg[0]) {
		/* the message is printed when the bench stops: the line ends first */
		progress_end(&run.prog, run.timed, 1);
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* ---- the clock and the table ---- */

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void bench_row_time(struct bench_row *r, double seconds, long dev)
{
	if (r->best < 0) {
		r->worst = seconds;
		r->nreps = 0;
	}
	if (r->best < 0 || seconds < r->best) {
		r->best = seconds;
		r->dev = dev;
	}
	if (seconds > r->worst)
		r->worst = seconds;
	r->nreps++;
	progress_update(&run.prog, ++run.timed, 0);
}

void bench_rows_forget(struct bench_row *rows, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		rows[i].best = -1;
		rows[i].dev = -1;
	}
}

int bench_sim_repeat(struct mml_machine *m, unsigned reps, int (*rep)(void *arg, struct mml_machine *m),
		     void *arg, struct bench_row *rows, int nrows, struct bench_err *err)
{
	int r = 0;

	for (unsigned i = 0; i <= reps && !r; i++) {
		r = rep(arg, m);
		bench_vmstat_sample(m, i);
		if (i == 0)
			bench_rows_forget(rows, nrows);
	}
	if (mml_check(m) < 0)
		r = bench_fail(err, "mmlab: the invariant checker failed (above)");
	if (mml_machine_free(m) < 0)
		r = bench_fail(err, "mmlab: leaks at teardown (above)");
	return r;
}

static double row_pages_per_s(const struct bench_row *r)
{
	/* a phase faster than the clock's grain: as if it took one tick */
	return (double)r->pages / (r->best > 1e-9 ? r->best : 1e-9);
}

/* (slowest - fastest) / fastest over the timed repetitions; < 0: fewer than two */
static double row_spread(const struct bench_row *r)
{
	return r->nreps < 2 || r->best <= 0 ? -1 : (r->worst - r->best) / r->best;
}

/* ---- the host: its load, its fault cost, the physical limits ---- */

#define SPREAD_WARN	0.20	/* a row's spread past which its figure is noise */
#define LIM_PAGES	1024	/* 4 MiB a buffer: DRAM once flushed */
#define LIM_ACCESSES	(1u << 20)
#define LIM_TRIES	5	/* each limit: the fastest of these */
#define CAL_PAGES	256

static const struct {
	const char *name;	/* the table's column */
	const char *what;	/* the limits' section */
} limits[BENCH_NLIMITS] = {
	[BENCH_LIM_MEMSET_DRAM]  = { "memset DRAM",  "memset of 4 KiB, from DRAM" },
	[BENCH_LIM_MEMSET_CACHE] = { "memset cache", "memset of 4 KiB, in cache" },
	[BENCH_LIM_MEMCPY_DRAM]  = { "memcpy DRAM",  "memcpy of 4 KiB, from DRAM to DRAM" },
	[BENCH_LIM_MEMCPY_CACHE] = { "memcpy cache", "memcpy of 4 KiB, in cache" },
	[BENCH_LIM_LOAD]         = { "host load",    "an 8-byte load, from L1" },
	[BENCH_LIM_STORE]        = { "host store",   "an 8-byte store, to L1" },
};

static struct {
	bool measured;
	double lim[BENCH_NLIMITS];	/* seconds a page or an access, the fastest try */
	double fault;			/* seconds a minor fault on memory just freed; < 0: unknown */
	double load_end;		/* 1-minute load average at the table; < 0: unknown */
	long cpus;
} host;

/* Keep the compiler from dropping or merging stores that nothing reads. */
static inline void clobber(void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

/* One try of limit l on the buffers a, b (LIM_PAGES pages each): seconds a page or an access. */
static double limit_try(enum bench_limit l, unsigned char *a, unsigned char *b)
{
	volatile uint64_t *w = (volatile uint64_t *)a;
	uint64_t sum = 0, len = (uint64_t)LIM_PAGES * BENCH_PAGE;
	unsigned i, n = LIM_PAGES;
	double t0;

	if (l == BENCH_LIM_MEMSET_DRAM || l == BENCH_LIM_MEMCPY_DRAM) {
		bench_cache_flush(a, len);
		bench_cache_flush(b, len);
	} else {
		memset(a, 1, BENCH_PAGE);	/* in cache */
		memset(b, 2, BENCH_PAGE);
	}
	t0 = bench_now();
	switch (l) {
	case BENCH_LIM_MEMSET_DRAM:
		for (i = 0; i < n; i++) {
			memset(a + (uint64_t)i * BENCH_PAGE, (int)i, BENCH_PAGE);
			clobber(a);
		}
		break;
	case BENCH_LIM_MEMSET_CACHE:
		for (i = 0; i < n; i++) {
			memset(a, (int)i, BENCH_PAGE);
			clobber(a);
		}
		break;
	case BENCH_LIM_MEMCPY_DRAM:
		for (i = 0; i < n; i++) {
			memcpy(b + (uint64_t)i * BENCH_PAGE, a + (uint64_t)i * BENCH_PAGE, BENCH_PAGE);
			clobber(b);
		}
		break;
	case BENCH_LIM_MEMCPY_CACHE:
		for (i = 0; i < n; i++) {
			memcpy(b, a, BENCH_PAGE);
			clobber(b);
		}
		break;
	case BENCH_LIM_LOAD:
		for (i = 0, n = LIM_ACCESSES; i < n; i++)
			sum += w[i % (BENCH_PAGE / 8)];
		break;
	case BENCH_LIM_STORE:
		for (i = 0, n = LIM_ACCESSES; i < n; i++)
			w[i % (BENCH_PAGE / 8)] = i;
		break;
	default:
		break;
	}
	t0 = bench_now() - t0;
	clobber(&sum);
	return t0 / n;
}

/*
 * What a minor fault costs this host on memory it freed a moment ago
 * (mmap, touch, munmap, and again: the pages come back from the per-CPU
 * lists): the yardstick for every native row, which on a virtual machine
 * can be ten times a bare machine's.  The fastest of LIM_TRIES.
 */
static double host_fault_cost(void)
{
	double best = -1;

	for (int k = 0; k <= LIM_TRIES; k++) {
		unsigned char *p = mmap(NULL, CAL_PAGES * BENCH_PAGE, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		double t0;

		if (p == MAP_FAILED)
			return -1;
		madvise(p, CAL_PAGES * BENCH_PAGE, MADV_NOHUGEPAGE);
		t0 = bench_now();
		for (unsigned i = 0; i < CAL_PAGES; i++)
			*(volatile unsigned char *)(p + i * BENCH_PAGE) = 1;
		t0 = (bench_now() - t0) / CAL_PAGES;
		munmap(p, CAL_PAGES * BENCH_PAGE);
		if (k && (best < 0 || t0 < best))	/* the first only frees pages for the rest */
			best = t0;
	}
	return best;
}

static void host_measure(void)
{
	uint64_t len = (uint64_t)LIM_PAGES * BENCH_PAGE;
	unsigned char *a, *b;

	if (host.measured)
		return;
	host.measured = true;
	host.cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (getloadavg(&host.load_end, 1) != 1)
		host.load_end = -1;
	host.fault = host_fault_cost();
	a = mmap(NULL, 2 * len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED)
		return;		/* the limits stay 0: no ratio is printed */
	b = a + len;
	memset(a, 0x5a, 2 * len);	/* faulted in: no fault is timed */
	for (int l = 0; l < BENCH_NLIMITS; l++)
		for (int k = 0; k < LIM_TRIES; k++) {
			double t = limit_try((enum bench_limit)l, a, b);

			if (!k || t < host.lim[l])
				host.lim[l] = t;
		}
	munmap(a, 2 * len);
}

/* An mmlab row's pages/s over its limit's, or < 0. */
static double row_vs_limit(const struct bench_row *r)
{
	double lim = host.lim[r->limit];

	if (strcmp(r->side, "mmlab") || r->limit >= BENCH_NLIMITS || lim <= 0)
		return -1;
	return row_pages_per_s(r) * lim;
}

/* Why the figures may be noise, each a line of text and of --json's "warnings". */
static int warnings(const struct bench_row *rows, int n, char out[][160], int max)
{
	double load = run.load_start > host.load_end ? run.load_start : host.load_end;
	int k = 0;

	if (host.cpus > 0 && load > host.cpus && k < max)
		snprintf(out[k++], 160, "load average %.2f exceeds this host's %ld CPUs: "
			 "other work shared them", load, host.cpus);
	for (int i = 0; i < n && k < max; i++)
		if (rows[i].best >= 0 && row_spread(&rows[i]) > SPREAD_WARN)
			snprintf(out[k++], 160, "%s %s: spread %.0f%% over %u repetitions (above %.0f%%)",
				 rows[i].side, rows[i].phase, 100 * row_spread(&rows[i]), rows[i].nreps,
				 100 * SPREAD_WARN);
	return k;
}

/* --json: the rows the table prints, as docs/schema/bench.json says. */
static void table_json(const struct bench_row *rows, int n, char warn[][160], int nwarn)
{
	struct json j;

	json_init(&j, run.json);
	json_object(&j, NULL);
	json_str(&j, "bench", run.name);
	json_uint(&j, "size", run.o.size);
	json_uint(&j, "reps", run.o.reps);
	json_bool(&j, "native", !run.o.no_native);
	json_object(&j, "host");
	json_int(&j, "cpus", host.cpus);
	json_double(&j, "load_start", run.load_start);
	json_double(&j, "load_end", host.load_end);
	json_double(&j, "minor_fault_seconds", host.fault);
	json_object(&j, "limits");
	for (int l = 0; l < BENCH_NLIMITS; l++)
		json_double(&j, limits[l].name, host.lim[l]);
	json_end(&j);
	json_end(&j);
	json_array(&j, "warnings");
	for (int k = 0; k < nwarn; k++)
		json_str(&j, NULL, warn[k]);
	json_end(&j);
	json_array(&j, "rows");
	for (int i = 0; i < n; i++) {
		const struct bench_row *r = &rows[i], *ref = r->ref >= 0 ? &rows[r->ref] : NULL;
		double pps = row_pages_per_s(r);

		if (r->best < 0)
			continue;
		json_object(&j, NULL);
		json_str(&j, "side", r->side);
		json_str(&j, "phase", r->phase);
		json_uint(&j, "pages", r->pages);
		if (r->dev_what && r->dev >= 0) {
			json_object(&j, "device");
			json_str(&j, "counter", r->dev_what);
			json_int(&j, "change", r->dev);
			json_end(&j);
		} else {
			json_null(&j, "device");
		}
		json_double(&j, "seconds", r->best);
		if (row_spread(r) >= 0)
			json_double(&j, "spread", row_spread(r));
		else
			json_null(&j, "spread");
		json_double(&j, "mib_per_s", pps * BENCH_PAGE / (1024.0 * 1024.0));
		json_double(&j, "pages_per_s", pps);
		if (row_vs_limit(r) >= 0) {
			json_object(&j, "limit");
			json_double(&j, "ratio", row_vs_limit(r));
			json_str(&j, "name", limits[r->limit].name);
			json_end(&j);
		} else {
			json_null(&j, "limit");
		}
		if (ref && ref->best >= 0) {
			json_object(&j, "vs");
			json_double(&j, "ratio", pps / row_pages_per_s(ref));
			json_str(&j, "side", ref->side);
			json_str(&j, "phase", ref->phase);
			json_end(&j);
		} else {
			json_null(&j, "vs");
		}
		json_str(&j, "note", r->note);
		json_end(&j);
	}
	json_end(&j);
	json_end(&j);
}

void bench_table_print(FILE *f, const struct bench_row *rows, int n)
{
	char warn[16][160];
	int i, nnotes = 0, nwarn;

	progress_end(&run.prog, run.timed, 0);
	host_measure();
	nwarn = warnings(rows, n, warn, 16);
	if (run.json)
		table_json(rows, n, warn, nwarn);
	fprintf(f, "%-7s %-34s %8s  %-15s %10s %6s %9s %10s  %-19s %s\n", "side", "phase", "pages",
		"device", "seconds", "spread", "MiB/s", "pages/s", "limit", "vs");
	for (i = 0; i < n; i++) {
		const struct bench_row *r = &rows[i], *ref;
		double pps = row_pages_per_s(r);
		char dev[32] = "-", vs[96] = "", mark[16] = "", spread[16] = "-", lim[40] = "-";

		if (r->best < 0)
			continue;
		if (r->dev_what && r->dev >= 0)
			snprintf(dev, sizeof(dev), "%s %ld", r->dev_what, r->dev);
		if (row_spread(r) >= 0)
			snprintf(spread, sizeof(spread), "%.0f%%", 100 * row_spread(r));
		if (row_vs_limit(r) >= 0)
			snprintf(lim, sizeof(lim), "%.3gx %s", row_vs_limit(r), limits[r->limit].name);
		ref = r->ref >= 0 ? &rows[r->ref] : NULL;
		if (ref && ref->best >= 0)
			/* a ratio far below 1 keeps two digits that say something */
			snprintf(vs, sizeof(vs), pps < 0.01 * row_pages_per_s(ref) ? "%.2gx %s %s" : "%.2fx %s %s",
				 pps / row_pages_per_s(ref), ref->side, ref->phase);
		if (r->note)
			snprintf(mark, sizeof(mark), " [%d]", ++nnotes);
		fprintf(f, "%-7s %-34s %8llu  %-15s %10.6f %6s %9.1f %10.0f  %-19s %s%s\n", r->side,
			r->phase, (unsigned long long)r->pages, dev, r->best, spread,
			pps * BENCH_PAGE / (1024.0 * 1024.0), pps, lim, vs, mark);
	}
	for (i = 0, nnotes = 0; i < n; i++)
		if (rows[i].best >= 0 && rows[i].note)
			fprintf(f, "[%d] %s\n", ++nnotes, rows[i].note);
	fprintf(f, "\nhost: %ld CPUs, load average %.2f at the start, %.2f at the end; a minor fault "
		"on memory just freed: %.2f us\n", host.cpus, run.load_start, host.load_end, host.fault * 1e6);
	fprintf(f, "limits (plain memory of this process, the fastest of %d tries):\n", LIM_TRIES);
	for (int l = 0; l < BENCH_NLIMITS; l++)
		fprintf(f, "  %-13s %-36s %9.2f ns\n", limits[l].name, limits[l].what, host.lim[l] * 1e9);
	for (i = 0; i < nwarn; i++)
		fprintf(f, "warning: %s\n", warn[i]);
}

/* ---- page contents ---- */

static unsigned char texture[BENCH_PAGE];

/* xorshift64: any fixed bytes with no long runs would do; these are cheap */
static void texture_make(void)
{
	static bool made;
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	unsigned i;

	if (made)
		return;
	made = true;
	for (i = 0; i < BENCH_PAGE; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(texture + i, &x, 8);
	}
}

void bench_page_init(unsigned char *buf)
{
	texture_make();
	memcpy(buf, texture, BENCH_PAGE);
}

void bench_page_stamp(unsigned char *buf, uint64_t index)
{
	uint64_t tail = ~index;

	memcpy(buf, &index, 8);
	memcpy(buf + BENCH_PAGE - 8, &tail, 8);
}

bool bench_page_ok(const unsigned char *p, uint64_t index)
{
	uint64_t head, tail;

	memcpy(&head, p, 8);
	memcpy(&tail, p + BENCH_PAGE - 8, 8);
	return head == index && tail == ~index &&
	       memcmp(p + 8, texture + 8, BENCH_PAGE - 16) == 0;
}

/* ---- one byte a page ---- */

unsigned char bench_byte_before(uint64_t i)
{
	return (unsigned char)(i * 7 + 1);
}

unsigned char bench_byte_after(uint64_t i)
{
	return (unsigned char)~bench_byte_before(i);
}

int bench_sim_touch(struct bench_err *e, uint64_t npages, struct mml_task *t, uint64_t base, bool write,
		    unsigned char (*val)(uint64_t))
{
	for (uint64_t i = 0; i < npages; i++) {
		unsigned char c = write ? val(i) : 0xff;
		int r = write ? mml_write(t, base + i * BENCH_PAGE, &c, 1) : mml_read(t, base + i * BENCH_PAGE, &c, 1);

		if (r < 0)
			return bench_fail(e, "mmlab: %s page %llu: %s", write ? "writing" : "reading",
					  (unsigned long long)i, strerror(-r));
		if (!write && c != (val ? val(i) : 0))
			return bench_fail(e, "mmlab: page %llu reads %#x", (unsigned long long)i, c);
	}
	return 0;
}

int bench_nat_check(struct bench_err *e, uint64_t npages, const unsigned char *a,
		    unsigned char (*val)(uint64_t))
{
	for (uint64_t i = 0; i < npages; i++)
		if (a[i * BENCH_PAGE] != (val ? val(i) : 0))
			return bench_fail(e, "native: page %llu reads %#x", (unsigned long long)i, a[i * BENCH_PAGE]);
	return 0;
}

void bench_nat_write(uint64_t npages, unsigned char *a, unsigned char (*val)(uint64_t))
{
	for (uint64_t i = 0; i < npages; i++)
		a[i * BENCH_PAGE] = val(i);
}

void bench_nat_child(uint64_t npages, const unsigned char *a, int rfd)
{
	struct bench_err e;
	char c;

	while (read(rfd, &c, 1) < 0 && errno == EINTR)
		;
	_exit(bench_nat_check(&e, npages, a, bench_byte_before) ? 1 : 0);
}

void bench_cache_flush(const unsigned char *p, uint64_t len)
{
#if defined(__x86_64__) || defined(__i386__)
	for (uint64_t off = 0; off < len; off += 64)
		_mm_clflush(p + off);
	_mm_mfence();
#else
	(void)p;
	(void)len;	/* no portable flush: a limit is then as warm as it comes */
#endif
}

long bench_host_vmstat(const char *name)
{
	long v;

	return cf_proc_counter("/proc/vmstat", name, &v) < 0 ? -1 : v;
}

void bench_limit_store(struct bench_row *row, unsigned char *buf, uint64_t npages)
{
	double t0;

	bench_cache_flush(buf, npages * BENCH_PAGE);
	t0 = bench_now();
	for (uint64_t i = 0; i < npages; i++)
		*(volatile uint64_t *)(buf + i * BENCH_PAGE) = i;
	bench_row_time(row, bench_now() - t0, -1);
}
