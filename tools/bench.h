/*
 * bench.h - what the benches of `mmlab bench` share: a clock, the page
 * contents they write and check, and the table they print.
 *
 * A bench runs mmlab and the host side by side in one process and one
 * run, repeats the whole sequence --reps times (the sides interleaved,
 * so that a slow moment of the host hurts them alike) and keeps, for
 * each row, the fastest repetition.  Nothing here decides pass or fail
 * on time: only wrong bytes or wrong counts fail a bench.
 */
#ifndef MMLAB_TOOLS_BENCH_H
#define MMLAB_TOOLS_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct mml_machine;

#define BENCH_PAGE	4096u

/*
 * The physical limits every mmlab row is held against, measured once on
 * this host when the table is printed (bench.c): the cost of one 4 KiB
 * page, or of one 8-byte access, for plain memory of this process.
 */
enum bench_limit {
	BENCH_LIM_MEMSET_DRAM,	/* the default: the least any new page costs */
	BENCH_LIM_MEMSET_CACHE,
	BENCH_LIM_MEMCPY_DRAM,	/* the least a copied page costs */
	BENCH_LIM_MEMCPY_CACHE,
	BENCH_LIM_LOAD,		/* one 8-byte load from L1 */
	BENCH_LIM_STORE,	/* one 8-byte store to L1 */
	BENCH_NLIMITS
};

/* One line of the table: one phase of one side. */
struct bench_row {
	const char *side;	/* "mmlab", "host", "native" */
	const char *phase;
	const char *dev_what;	/* the counter in the device column: "pswpout", "pswpin"; NULL: none */
	int ref;		/* the row it is compared with (its MiB/s over ref's), -1: none */
	uint64_t pages;		/* 4 KiB pages each repetition moves */
	double best;		/* the fastest repetition, seconds; < 0: never ran */
	long dev;		/* dev_what's change in the fastest repetition; < 0: unknown */
	const char *note;	/* a footnote, or NULL */
	enum bench_limit limit;	/* an mmlab row's physical limit (its pages/s over the limit's) */
	double worst;		/* the slowest timed repetition, seconds: the spread */
	unsigned nreps;		/* timed repetitions so far */
};

/* The first failure of a run, reported at its end; later ones are its consequences. */
struct bench_err {
	char msg[256];
};
/* Keep the message if it is the first; -1. */
int bench_fail(struct bench_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Out of every cache, so that a limit row measures what the memory
 * itself allows, not whatever the phase before it left cached.
 */
void bench_cache_flush(const unsigned char *p, uint64_t len);

/*
 * The "one 8-byte store a page" limit: npages pages of buf, out of every
 * cache first, one store each; the time goes to row.
 */
void bench_limit_store(struct bench_row *row, unsigned char *buf, uint64_t npages);

/* A counter of the host's /proc/vmstat, or -1 if it has none. */
long bench_host_vmstat(const char *name);

/* CLOCK_MONOTONIC, in seconds. */
double bench_now(void);

/*
 * Record one repetition of a row: kept if it is the fastest so far, and
 * in the row's spread (a row whose best is < 0 starts over).
 */
void bench_row_time(struct bench_row *r, double seconds, long dev);

/*
 * Forget what the rows recorded: after a warm-up run, whose times are
 * those of first touches (of the simulated machine's RAM, which is host
 * memory not yet faulted in, and of the host's caches).
 */
void bench_rows_forget(struct bench_row *rows, int n);

/*
 * The simulated side's repetitions on machine m, which it then checks
 * and frees: rep(arg, m) reps + 1 times, the first a warm-up (m's RAM is
 * host memory, cold at first) that rows[0..nrows) forget.  0, or -1 with
 * the first failure in err.
 */
struct mml_machine;
int bench_sim_repeat(struct mml_machine *m, unsigned reps, int (*rep)(void *arg, struct mml_machine *m),
		     void *arg, struct bench_row *rows, int nrows, struct bench_err *err);

/*
 * The table: side, phase, pages, the device counter's change, seconds,
 * the spread over the repetitions, MiB/s, pages/s, the ratio to the
 * physical limit (mmlab rows) and to the reference row; then the notes,
 * the host (load average, CPUs, its cost of a minor fault), the limits,
 * and a warning when a spread or the load says the figures are noisy.
 */
void bench_table_print(FILE *f, const struct bench_row *rows, int n);

/*
 * Page contents.  Every page gets 4 KiB of the same pseudo-random texture
 * with its index stamped into its first and last 8 bytes: distinct pages
 * that cost one copy to write and one compare to check, the memcpy limit
 * both ways.  bench_page_init() makes buf a copy of the texture;
 * bench_page_stamp() turns such a buffer into page index's contents;
 * bench_page_ok() checks every byte of a page.
 */
void bench_page_init(unsigned char *buf);
void bench_page_stamp(unsigned char *buf, uint64_t index);
bool bench_page_ok(const unsigned char *p, uint64_t index);

/*
 * One byte a page, npages pages from a base, 4 KiB apart: the faults,
 * fork and COW benches touch no more.  bench_byte_before(i) is page i's
 * byte before a fork, bench_byte_after(i) after the parent's COW write.
 * bench_sim_touch writes val(i) through mmlab, or reads and checks val(i)
 * (zeros when val is NULL); bench_nat_* do the same in host memory, and
 * bench_nat_child is a forked child's whole life: wait for a byte on rfd,
 * check that it still sees the bytes of before the fork, _exit(0 or 1).
 */
struct mml_task;
unsigned char bench_byte_before(uint64_t i);
unsigned char bench_byte_after(uint64_t i);
int bench_sim_touch(struct bench_err *e, uint64_t npages, struct mml_task *t, uint64_t base, bool write,
		    unsigned char (*val)(uint64_t));
int bench_nat_check(struct bench_err *e, uint64_t npages, const unsigned char *a,
		    unsigned char (*val)(uint64_t));
void bench_nat_write(uint64_t npages, unsigned char *a, unsigned char (*val)(uint64_t));
void bench_nat_child(uint64_t npages, const unsigned char *a, int rfd) __attribute__((noreturn));

/*
 * The options every bench takes: --size, --reps, --no-native, --help,
 * and --file where the bench has a file.  -1: go on with *o filled in;
 * otherwise the exit status (0 after --help, 2 after a message).
 */
struct bench_opts {
	uint64_t size;		/* the working set, a multiple of 4096 */
	unsigned reps;
	const char *file;	/* --file, or NULL */
	bool no_native;
};
int bench_parse(int argc, char **argv, const char *cmd, bool takes_file,
		void (*usage)(FILE *f), struct bench_opts *o);

/*
 * Also the options of the whole `mmlab bench` run, kept by bench.c:
 * --json (the text, header and table, then goes to stderr and one JSON
 * document of the table's rows to stdout, written by bench_table_print)
 * and --vmstat-trace (see cli.h).  bench_start(), once the rows are set
 * up, starts the progress line over the phases to time: every row that
 * runs, reps + 1 times (the warm-up included).
 */
void bench_start(const struct bench_opts *o, const struct bench_row *rows, int n);

/* The simulated side finished repetition rep (0: the warm-up) on m: a row of --vmstat-trace. */
void bench_vmstat_sample(struct mml_machine *m, unsigned rep);

/* After cli_dispatch: the trace closed, the document flushed; the bench's status, or 2 after a write error. */
int bench_finish(int status);

/* Run on the CPU we are on, as `mmlab conform` does; the CPU, or -1. */
int bench_pin_cpu(void);

/* The benches: argv[0] is the bench's name; 0, 1 (a check failed) or 2 (bad usage). */
int bench_swap(int argc, char **argv);
int bench_fault(int argc, char **argv);
int bench_notifier(int argc, char **argv);
int bench_file(int argc, char **argv);
int bench_dax(int argc, char **argv);
int bench_thp(int argc, char **argv);
int bench_migrate(int argc, char **argv);
int bench_lock(int argc, char **argv);
int bench_commit(int argc, char **argv);
int bench_refs(int argc, char **argv);
int bench_sched(int argc, char **argv);
int bench_scale(int argc, char **argv);
int bench_ksm(int argc, char **argv);
int bench_uffd(int argc, char **argv);

#endif /* MMLAB_TOOLS_BENCH_H */
