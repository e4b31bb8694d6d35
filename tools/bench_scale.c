/*
 * bench_scale.c - `mmlab bench scale`: do threads of one process fault in
 * parallel?  will-it-scale's page_fault1 shape, mmlab beside the host
 * kernel, in one run.
 *
 * Each thread maps a region of --size bytes, writes one byte of every
 * page (a new page each) and unmaps it:
 *   one thread            the yardstick
 *   two threads, two VMAs each its own region, far apart: the faults
 *                         meet on no VMA (per-VMA locks let them run
 *                         side by side; one mmap_lock would not)
 *   two threads, one VMA  one region of twice the size, mapped before
 *                         and unmapped after the timed part, each
 *                         thread writing its half: the same VMA lock
 *                         read by both
 * The host's side does the same with pthreads.  The limit rows: one and
 * two threads memset every page of a region of their own (plain memory,
 * touched before), what a new page costs at least, and how DRAM scales
 * when two CPUs zero pages at once.  The 2-thread rows count
 * both threads' pages, so their "vs" (over the one-thread row of the
 * same side) is the scaling: 2.0 is linear.  Not pinned: the threads
 * need a CPU each.
 *
 * Checks: every page holds its byte (read back before the unmap); the
 * machine's invariants hold and nothing leaks.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench.h"
#include "mmlab.h"

#define CMD	"bench scale"

enum { SIM_1, SIM_2SEP, SIM_2ONE, NAT_1, NAT_2SEP, NAT_2ONE, LIM_1, LIM_2, NROWS };
enum { ONE_THREAD, TWO_VMAS, ONE_VMA, NSHAPES };

/* Where each thread of "two VMAs" asks for its region: far apart, so that no merge joins them. */
#define SIM_HINT(i)	(0x100000000000ULL + (uint64_t)(i) * 0x10000000000ULL)

struct scale_bench {
	uint64_t size, npages;
	unsigned char *fill[2];		/* the limit rows' buffers, a thread's region each */
	struct bench_err err;
	struct bench_row rows[NROWS];
};

static void scale_usage(FILE *f)
{
	fprintf(f, "usage: mmlab bench scale [--size BYTES] [--reps N] [--no-native]\n\n"
		   "Threads of one process each mapping, writing (one byte a page) and\n"
		   "unmapping a region: one thread, two threads on two VMAs, two threads on\n"
		   "disjoint halves of one VMA; mmlab beside this host's kernel and beside\n"
		   "one and two threads zeroing 4 KiB a page (the limit), in one run.\n\n"
		   "  -s, --size BYTES  each thread's region: 64M, 0x100000 (default 64M; a\n"
		   "                    multiple of 4096, at most 16G)\n"
		   "  -r, --reps N      run the whole sequence N times after an untimed\n"
		   "                    warm-up run; keep each row's fastest (default 3)\n"
		   "      --no-native   do not run the host kernel's side\n"
		   "  -h, --help        this text\n\n"
		   "The two-thread rows count both threads' pages: their vs (over the\n"
		   "one-thread row) is the scaling, 2.0 linear.  The machine should be\n"
		   "idle: a busy CPU is a thread that does not run.\n"
		   "Exit status: 0 done, 1 a check failed, 2 bad usage.\n");
}

static void rows_init(struct scale_bench *b)
{
	static const char *const phase[] = {
		"1 thread: map, write, unmap", "2 threads, 2 VMAs", "2 threads, 1 VMA: disjoint halves",
	};

	for (int i = 0; i < NROWS; i++)
		b->rows[i] = (struct bench_row){
			.side = i < NSHAPES ? "mmlab" : "native", .phase = phase[i % NSHAPES],
			.ref = i % NSHAPES ? i - i % NSHAPES : (i < NSHAPES ? NAT_1 : -1),
			.pages = (i % NSHAPES ? 2 : 1) * b->npages, .best = -1, .dev = -1,
			.limit = BENCH_LIM_MEMSET_DRAM,
		};
	b->rows[SIM_2SEP].note = "2-thread rows: both threads' pages; vs the 1-thread row is the scaling";
	b->rows[LIM_1] = (struct bench_row){ .side = "limit", .phase = "1 thread: memset 4 KiB a page",
					     .ref = -1, .pages = b->npages, .best = -1, .dev = -1,
					     .limit = BENCH_LIM_MEMSET_DRAM };
	b->rows[LIM_2] = (struct bench_row){ .side = "limit", .phase = "2 threads: memset 4 KiB a page",
					     .ref = LIM_1, .pages = 2 * b->npages, .best = -1, .dev = -1,
					     .limit = BENCH_LIM_MEMSET_DRAM,
					     .note = "limit rows: what every new page costs (zeroing it), "
						     "each thread its own region; their vs is DRAM's own scaling" };
}

/* One thread's part of a repetition, on either side. */
struct worker {
	struct scale_bench *b;
	pthread_barrier_t *go;
	struct mml_task *t;		/* mmlab's side; NULL: the host's */
	unsigned char *fill;		/* a limit row: memset every page of this, no mapping */
	uint64_t base;			/* given (one VMA), or 0: map its own */
	uint64_t first, npages;		/* the pages it writes, from base */
	uint64_t hint;
	double start, end;		/* its own clock: the releaser may be descheduled */
	int err;
};

static int sim_work(struct worker *w)
{
	uint64_t len = w->npages * BENCH_PAGE, base = w->base;
	int r;

	if (!base) {
		long a = mml_mmap(w->t, w->hint, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (a < 0)
			return (int)a;
		base = (uint64_t)a;
	}
	for (uint64_t i = w->first; i < w->first + w->npages; i++) {
		unsigned char v = bench_byte_before(i);

		if ((r = mml_write(w->t, base + i * BENCH_PAGE, &v, 1)) < 0)
			return r;
	}
	if (w->base)
		return 0;
	/* read back before it goes (untimed work would need a second barrier; this is a page in 16) */
	for (uint64_t i = 0; i < w->npages; i += 16) {
		unsigned char v;

		if ((r = mml_read(w->t, base + i * BENCH_PAGE, &v, 1)) < 0)
			return r;
		if (v != bench_byte_before(i))
			return -EIO;
	}
	return mml_munmap(w->t, base, len);
}

static int nat_work(struct worker *w)
{
	uint64_t len = w->npages * BENCH_PAGE;
	unsigned char *a = (unsigned char *)(uintptr_t)w->base;

	if (!a) {
		a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (a == MAP_FAILED)
			return -errno;
		madvise(a, len, MADV_NOHUGEPAGE);
	}
	for (uint64_t i = w->first; i < w->first + w->npages; i++)
		a[i * BENCH_PAGE] = bench_byte_before(i);
	if (w->base)
		return 0;
	for (uint64_t i = 0; i < w->npages; i += 16)
		if (a[i * BENCH_PAGE] != bench_byte_before(i))
			return -EIO;
	return munmap(a, len) ? -errno : 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	pthread_barrier_wait(w->go);
	w->start = bench_now();
	if (w->fill)
		for (uint64_t i = 0; i < w->npages; i++)
			memset(w->fill + i * BENCH_PAGE, (int)bench_byte_before(i), BENCH_PAGE);
	else
		w->err = w->t ? sim_work(w) : nat_work(w);
	w->end = bench_now();
	return NULL;
}

/*
 * One shape on one side: nthreads workers released together; the time
 * from the first one's start to the last one's end goes to row.  tasks: mmlab's
 * threads (NULL: the host).  shared: the one VMA's base, or 0.  fill: the
 * limit rows' memsets instead (tasks NULL).
 */
static int run_shape(struct scale_bench *b, int shape, struct mml_task **tasks, uint64_t shared, bool fill,
		     struct bench_row *row)
{
	unsigned n = shape == ONE_THREAD ? 1 : 2;
	struct worker w[2];
	pthread_t th[2];
	pthread_barrier_t go;
	double t0, t1;
	int r = 0;

	pthread_barrier_init(&go, NULL, n + 1);
	for (unsigned i = 0; i < n; i++) {
		w[i] = (struct worker){ .b = b, .go = &go, .t = tasks ? tasks[i] : NULL, .base = shared,
					.first = shape == ONE_VMA ? i * b->npages : 0, .npages = b->npages,
					.hint = SIM_HINT(i), .fill = fill ? b->fill[i] : NULL };
		if (pthread_create(&th[i], NULL, worker_main, &w[i])) {
			fprintf(stderr, "mmlab " CMD ": cannot start a thread\n");
			exit(1);
		}
	}
	pthread_barrier_wait(&go);
	for (unsigned i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	t0 = w[0].start;
	t1 = w[0].end;
	for (unsigned i = 1; i < n; i++) {
		t0 = w[i].start < t0 ? w[i].start : t0;
		t1 = w[i].end > t1 ? w[i].end : t1;
	}
	bench_row_time(row, t1 - t0, -1);
	pthread_barrier_destroy(&go);
	for (unsigned i = 0; i < n && !r; i++)
		if (w[i].err)
			r = bench_fail(&b->err, "%s: %s, thread %u: %s", tasks ? "mmlab" : "native", row->phase, i,
				       strerror(-w[i].err));
	return r;
}

/* ---- mmlab ---- */

static int sim_one_vma(struct scale_bench *b, struct mml_task **t)
{
	uint64_t len = 2 * b->npages * BENCH_PAGE;
	long a = mml_mmap(t[0], 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int r;

	if (a < 0)
		return bench_fail(&b->err, "mmlab: mmap: %s", strerror((int)-a));
	r = run_shape(b, ONE_VMA, t, (uint64_t)a, false, &b->rows[SIM_2ONE]);
	if (!r)
		r = bench_sim_touch(&b->err, 2 * b->npages, t[1], (uint64_t)a, false, bench_byte_before);
	if ((a = mml_munmap(t[0], (uint64_t)a, len)) < 0 && !r)
		r = bench_fail(&b->err, "mmlab: munmap: %s", strerror((int)-a));
	return r;
}

static int sim_rep(void *arg, struct mml_machine *m)
{
	struct scale_bench *b = arg;
	struct mml_task *t[2] = { NULL, NULL };
	int r;

	if ((r = mml_spawn(m, &t[0])) < 0 || (r = mml_thread_new(t[0], &t[1])) < 0) {
		r = bench_fail(&b->err, "mmlab: spawn: %s", strerror(-r));
		goto out;
	}
	r = run_shape(b, ONE_THREAD, t, 0, false, &b->rows[SIM_1]) ||
	    run_shape(b, TWO_VMAS, t, 0, false, &b->rows[SIM_2SEP]) ||
	    sim_one_vma(b, t);
out:
	if (t[1])
		mml_exit(t[1]);
	if (t[0])
		mml_exit(t[0]);
	if (!r && mml_report_count(m))
		r = bench_fail(&b->err, "mmlab: the machine reported a bug (above)");
	return r ? -1 : 0;
}

/* ---- the host kernel ---- */

static int nat_rep(struct scale_bench *b)
{
	uint64_t len = 2 * b->npages * BENCH_PAGE;
	unsigned char *a;
	int r;

	if (run_shape(b, ONE_THREAD, NULL, 0, false, &b->rows[NAT_1]) || run_shape(b, TWO_VMAS, NULL, 0, false, &b->rows[NAT_2SEP]))
		return -1;
	a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED)
		return bench_fail(&b->err, "native: mmap: %s", strerror(errno));
	madvise(a, len, MADV_NOHUGEPAGE);
	r = run_shape(b, ONE_VMA, NULL, (uint64_t)(uintptr_t)a, false, &b->rows[NAT_2ONE]);
	if (!r)
		r = bench_nat_check(&b->err, 2 * b->npages, a, bench_byte_before);
	munmap(a, len);
	return r;
}

int bench_scale(int argc, char **argv)
{
	static struct scale_bench sb;
	struct scale_bench *b = &sb;
	struct mml_machine *m;
	struct bench_opts o;
	struct utsname u;
	int r;

	r = bench_parse(argc, argv, CMD, false, scale_usage, &o);
	if (r >= 0)
		return r;
	memset(b, 0, sizeof(*b));
	b->size = o.size;
	b->npages = o.size / BENCH_PAGE;
	rows_init(b);
	bench_start(&o, b->rows, NROWS);
	if (uname(&u) < 0)
		strcpy(u.release, "?");
	printf("mmlab bench scale: %llu KiB a thread (%llu pages of 4 KiB), fastest of %u run%s, %ld CPUs online\n",
	       (unsigned long long)(b->size >> 10), (unsigned long long)b->npages, o.reps, o.reps == 1 ? "" : "s",
	       sysconf(_SC_NPROCESSORS_ONLN));
	printf("  native: %s\n\n", o.no_native ? "skipped (--no-native)" : u.release);
	fflush(stdout);
	/* The limit rows: plain memory of this process, touched once first (no host faults timed). */
	for (int i = 0; i < 2; i++) {
		b->fill[i] = malloc(b->size);
		if (!b->fill[i]) {
			fprintf(stderr, "mmlab " CMD ": cannot allocate %llu MiB\n", (unsigned long long)(b->size >> 20));
			return 1;
		}
		memset(b->fill[i], 0, b->size);
	}
	for (unsigned rep = 0; rep < o.reps; rep++)
		if (run_shape(b, ONE_THREAD, NULL, 0, true, &b->rows[LIM_1]) ||
		    run_shape(b, TWO_VMAS, NULL, 0, true, &b->rows[LIM_2]))
			break;
	for (int i = 0; i < 2; i++)
		free(b->fill[i]);
	for (unsigned rep = 0; rep <= o.reps && !o.no_native && !b->err.msg[0]; rep++) {
		nat_rep(b);
		if (rep == 0)
			bench_rows_forget(b->rows + NAT_1, NSHAPES);
	}
	/* two regions at a time, their page tables, and room to spare */
	m = b->err.msg[0] ? NULL : mml_machine_new(&(struct mml_config){
		.ram_bytes = 2 * b->size + b->size / 16 + (16ULL << 20) });
	if (m)
		bench_sim_repeat(m, o.reps, sim_rep, b, b->rows, NSHAPES, &b->err);
	else if (!b->err.msg[0])
		bench_fail(&b->err, "mmlab: cannot make a machine of %llu MiB", (unsigned long long)(2 * b->size >> 20) + 16);
	if (b->err.msg[0]) {
		fprintf(stderr, "mmlab " CMD ": %s\n", b->err.msg);
		return 1;
	}
	bench_table_print(stdout, b->rows, NROWS);
	printf("checks: every page holds its byte; mmlab's invariants held; nothing leaked\n");
	return 0;
}
