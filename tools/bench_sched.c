/*
 * bench_sched.c - `mmlab bench sched`: what the deterministic scheduler
 * costs, on and off, beside the host kernel and beside a host thread
 * handoff, in one run.
 *
 * Write faults, one byte a page of a fresh anonymous region:
 *   plain machine            ordinary calls (the scheduling points are
 *                            one relaxed load and a branch never taken)
 *   deterministic, outside   a MML_DETERMINISTIC machine's calls outside
 *                            any run: the same, the scheduler off
 *   in a run, one thread     mml_sched_run of one function: every point
 *                            is taken (a step, a choice) but never
 *                            switches
 *   in a run, two threads    two threads of the process faulting halves
 *                            of the region, switched at random points:
 *                            each switch is a host handoff
 * The references: the host kernel's write faults, and a handoff between
 * two host threads through a mutex and condition variables (one a page),
 * what a switch of the scheduler costs at least.  The scheduled rows run
 * at most 4096 pages (a step costs about a microsecond).
 *
 * Checks: every page holds its byte on every row; the machines' invariants
 * hold and nothing leaks.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>

#include "bench.h"
#include "mmlab.h"

#define CMD		"bench sched"
#define SCHED_PAGES	4096ULL

enum { SIM_PLAIN, SIM_OFF, SIM_ON1, SIM_ON2, NAT_FAULT, LIM_HANDOFF, NROWS };

struct sched_bench {
	uint64_t size, npages, nsched;
	struct bench_err err;
	struct bench_row rows[NROWS];
	uint64_t steps;			/* scheduling points of the last one-thread run */
};

static void sched_usage(FILE *f)
{
	fprintf(f, "usage: mmlab bench sched [--size BYTES] [--reps N] [--no-native]\n\n"
		   "Write faults on a plain machine, on a deterministic machine outside any\n"
		   "run, and inside mml_sched_run with one and two threads; the host kernel's\n"
		   "write faults and a handoff between two host threads for reference.\n\n"
		   "  -s, --size BYTES  the region: 64M, 0x100000 (default 64M; a multiple\n"
		   "                    of 4096, at most 16G); the scheduled rows take at\n"
		   "                    most 16 MiB of it\n"
		   "  -r, --reps N      run the whole sequence N times after an untimed\n"
		   "                    warm-up run; keep each row's fastest (default 3)\n"
		   "      --no-native   do not run the host kernel's side\n"
		   "  -h, --help        this text\n\n"
		   "Exit status: 0 done, 1 a check failed, 2 bad usage.\n");
}

static void rows_init(struct sched_bench *b)
{
	b->rows[SIM_PLAIN] = (struct bench_row){ "mmlab", "write faults: plain machine", NULL, NAT_FAULT, b->npages,
						 -1, -1, NULL };
	b->rows[SIM_OFF] = (struct bench_row){ "mmlab", "deterministic, outside any run", NULL, SIM_PLAIN,
					       b->npages, -1, -1, NULL };
	b->rows[SIM_ON1] = (struct bench_row){ "mmlab", "in a run: one thread", NULL, SIM_PLAIN, b->nsched, -1, -1,
					       NULL };
	b->rows[SIM_ON2] = (struct bench_row){ "mmlab", "in a run: two threads, random", NULL, SIM_PLAIN, b->nsched,
					       -1, -1, NULL };
	b->rows[NAT_FAULT] = (struct bench_row){ "native", "write faults", NULL, -1, b->npages, -1, -1,
						 "the host's faults pay for this VM's nested paging: about ten times a "
						 "bare machine's (docs/bench.md)" };
	b->rows[LIM_HANDOFF] = (struct bench_row){ "limit", "host thread handoff, one a page", NULL, -1, b->nsched,
						   -1, -1, NULL };
}

/* ---- the limit: two host threads handing a token back and forth ---- */

struct handoff {
	pthread_mutex_t lock;
	pthread_cond_t cv[2];
	uint64_t turn, n;
};

static void *handoff_side(void *arg)
{
	struct handoff *h = arg;

	pthread_mutex_lock(&h->lock);
	while (h->turn < h->n) {
		while (h->turn < h->n && h->turn % 2 == 0)
			pthread_cond_wait(&h->cv[1], &h->lock);
		if (h->turn < h->n) {
			h->turn++;
			pthread_cond_signal(&h->cv[0]);
		}
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

static void limit_handoff(struct sched_bench *b)
{
	struct handoff h = { .n = b->nsched };
	pthread_t other;
	double t0;

	pthread_mutex_init(&h.lock, NULL);
	pthread_cond_init(&h.cv[0], NULL);
	pthread_cond_init(&h.cv[1], NULL);
	if (pthread_create(&other, NULL, handoff_side, &h)) {
		bench_fail(&b->err, "limit: no second thread");
		return;
	}
	t0 = bench_now();
	pthread_mutex_lock(&h.lock);
	while (h.turn < h.n) {
		while (h.turn < h.n && h.turn % 2 == 1)
			pthread_cond_wait(&h.cv[0], &h.lock);
		if (h.turn < h.n) {
			h.turn++;
			pthread_cond_signal(&h.cv[1]);
		}
	}
	pthread_mutex_unlock(&h.lock);
	bench_row_time(&b->rows[LIM_HANDOFF], bench_now() - t0, -1);
	pthread_join(other, NULL);
	pthread_cond_destroy(&h.cv[0]);
	pthread_cond_destroy(&h.cv[1]);
	pthread_mutex_destroy(&h.lock);
}

/* ---- the host kernel ---- */

static int nat_rep(struct sched_bench *b)
{
	unsigned char *a = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	double t0;
	int r;

	if (a == MAP_FAILED)
		return bench_fail(&b->err, "native: mmap: %s", strerror(errno));
	madvise(a, b->size, MADV_NOHUGEPAGE);
	t0 = bench_now();
	bench_nat_write(b->npages, a, bench_byte_before);
	bench_row_time(&b->rows[NAT_FAULT], bench_now() - t0, -1);
	r = bench_nat_check(&b->err, b->npages, a, bench_byte_before);
	munmap(a, b->size);
	return r;
}

/* ---- mmlab ---- */

struct half {
	uint64_t base, first, n;
	int err;
};

static void write_half(struct mml_task *t, void *arg)
{
	struct half *h = arg;

	for (uint64_t i = h->first; i < h->first + h->n && !h->err; i++) {
		unsigned char v = bench_byte_before(i);

		h->err = mml_write(t, h->base + i * BENCH_PAGE, &v, 1);
	}
}

/* The region's first npages written by nthreads threads (0: by calls outside any run); timed into row. */
static int sim_write(struct sched_bench *b, struct mml_machine *m, struct bench_row *row, uint64_t npages,
		     unsigned nthreads)
{
	struct mml_task *t[2] = { NULL, NULL };
	struct half h[2];
	mml_thread_fn fns[2] = { write_half, write_half };
	void *args[2] = { &h[0], &h[1] };
	long base;
	double t0;
	int r;

	if ((r = mml_spawn(m, &t[0])) < 0)
		return bench_fail(&b->err, "mmlab: spawn: %s", strerror(-r));
	r = -1;
	base = mml_mmap(t[0], 0, npages * BENCH_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base < 0 || (nthreads == 2 && mml_thread_new(t[0], &t[1]))) {
		bench_fail(&b->err, "mmlab: mmap or a second thread failed");
		goto out;
	}
	for (unsigned i = 0; i < 2; i++)
		h[i] = (struct half){ (uint64_t)base, i * (npages / 2), npages / 2 + (i ? npages % 2 : 0), 0 };
	if (nthreads == 1)
		h[0].n = npages;
	t0 = bench_now();
	if (!nthreads)
		r = bench_sim_touch(&b->err, npages, t[0], (uint64_t)base, true, bench_byte_before);
	else if ((r = mml_sched_run(m, nthreads, t, fns, args)) || h[0].err || (nthreads == 2 && h[1].err))
		r = bench_fail(&b->err, "mmlab: a scheduled run failed (%d, %d)", r, h[0].err);
	bench_row_time(row, bench_now() - t0, -1);
	if (nthreads == 1)
		b->steps = mml_sched_steps(m);
	if (!r)
		r = bench_sim_touch(&b->err, npages, t[0], (uint64_t)base, false, bench_byte_before);
out:
	if (t[1])
		mml_exit(t[1]);
	mml_exit(t[0]);
	if (!r && mml_report_count(m))
		r = bench_fail(&b->err, "mmlab: the machine reported a bug (above)");
	return r;
}

static int sim_plain(void *arg, struct mml_machine *m)
{
	struct sched_bench *b = arg;

	return sim_write(b, m, &b->rows[SIM_PLAIN], b->npages, 0);
}

static int sim_det(void *arg, struct mml_machine *m)
{
	struct sched_bench *b = arg;

	return sim_write(b, m, &b->rows[SIM_OFF], b->npages, 0) ||
	       sim_write(b, m, &b->rows[SIM_ON1], b->nsched, 1) ||
	       sim_write(b, m, &b->rows[SIM_ON2], b->nsched, 2);
}

int bench_sched(int argc, char **argv)
{
	static struct sched_bench sb;
	struct sched_bench *b = &sb;
	struct mml_config cfg;
	struct bench_opts o;
	struct utsname u;
	int r, cpu;

	r = bench_parse(argc, argv, CMD, false, sched_usage, &o);
	if (r >= 0)
		return r;
	memset(b, 0, sizeof(*b));
	b->size = o.size;
	b->npages = o.size / BENCH_PAGE;
	b->nsched = b->npages < SCHED_PAGES ? b->npages : SCHED_PAGES;
	rows_init(b);
	bench_start(&o, b->rows, NROWS);
	cpu = bench_pin_cpu();
	if (uname(&u) < 0)
		strcpy(u.release, "?");
	printf("mmlab bench sched: a region of %llu KiB (%llu pages of 4 KiB; %llu in the scheduled rows), "
	       "fastest of %u run%s\n", (unsigned long long)(b->size >> 10), (unsigned long long)b->npages,
	       (unsigned long long)b->nsched, o.reps, o.reps == 1 ? "" : "s");
	printf("  native: %s\n", o.no_native ? "skipped (--no-native)" : u.release);
	if (cpu >= 0)
		printf("  all on cpu %d (the scheduled runs' threads too: one runs at a time)\n", cpu);
	printf("\n");
	fflush(stdout);
	for (unsigned rep = 0; rep <= o.reps && !b->err.msg[0]; rep++) {
		if (!o.no_native)
			nat_rep(b);
		limit_handoff(b);
		if (rep == 0)
			bench_rows_forget(b->rows + NAT_FAULT, NROWS - NAT_FAULT);
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.ram_bytes = b->size + (16ULL << 20);
	for (int det = 0; det < 2 && !b->err.msg[0]; det++) {
		struct mml_machine *m;

		cfg.flags = det ? MML_DETERMINISTIC : 0;
		m = mml_machine_new(&cfg);
		if (!m) {
			bench_fail(&b->err, "mmlab: cannot make a machine of %llu MiB",
				   (unsigned long long)(cfg.ram_bytes >> 20));
			break;
		}
		bench_sim_repeat(m, o.reps, det ? sim_det : sim_plain, b, b->rows + (det ? SIM_OFF : SIM_PLAIN),
				 det ? 3 : 1, &b->err);
	}
	if (b->err.msg[0]) {
		fprintf(stderr, "mmlab " CMD ": %s\n", b->err.msg);
		return 1;
	}
	bench_table_print(stdout, b->rows, NROWS);
	printf("\nscheduling points: %.1f a page in a one-thread run (%llu in all)\n",
	       (double)b->steps / (double)b->nsched, (unsigned long long)b->steps);
	printf("checks: every page holds its byte on every row; mmlab's invariants held; nothing leaked\n");
	return 0;
}
