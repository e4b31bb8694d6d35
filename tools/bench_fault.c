/*
 * bench_fault.c - `mmlab bench fault`: page faults, fork, copy-on-write
 * and munmap, mmlab beside the host kernel, in one run.
 *
 * Both sides run the same sequence on two regions of --size bytes:
 *   read faults   read one byte of every page of a fresh region: the
 *                 zero page is mapped
 *   write faults  write one byte of every page of another: a new page each
 *   fork          of a process that maps the written region
 *   COW faults    the parent writes one byte of every page again while the
 *                 child lives: a copy each
 *   munmap        of the written region, now the parent's own pages
 *   access        8-byte reads, then writes, of the first written page on
 *                 a TLB hit (before the fork): plain loads and stores natively
 * The child checks that it still sees the bytes from before the fork.
 * The host side is this process itself, so its fork also copies the
 * bench's own mappings (the binary, libc, a few buffers: small beside the
 * region).  It runs first, before the simulated machine exists, whose
 * RAM would otherwise be copied too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "mmlab.h"

#define CMD	"bench fault"

enum {
	SIM_READ, SIM_WRITE, SIM_FORK, SIM_COW, SIM_MUNMAP, SIM_ACC_READ, SIM_ACC_WRITE,
	NAT_READ, NAT_WRITE, NAT_FORK, NAT_COW, NAT_MUNMAP, NAT_ACC_READ, NAT_ACC_WRITE,
	NROWS
};

/* The access rows: 8-byte loads and stores of one mapped page, its TLB entry warm. */
#define NACCESS		(1u << 18)

struct fault_bench {
	uint64_t size, npages;
	struct bench_err err;
	struct bench_row rows[NROWS];
};

static void fault_usage(FILE *f)
{
	fprintf(f, "usage: mmlab bench fault [--size BYTES] [--reps N] [--no-native]\n\n"
		   "Anonymous page faults (zero page, new page, copy-on-write), fork and\n"
		   "munmap, on mmlab and on this host's kernel, in one run.  One byte is\n"
		   "read or written per page; every byte read is checked.  Then 8-byte\n"
		   "reads and writes of one page on a TLB hit, beside host loads and stores.\n\n"
		   "  -s, --size BYTES  each region: 64M, 0x100000 (default 64M; a multiple\n"
		   "                    of 4096, at most 16G)\n"
		   "  -r, --reps N      run the whole sequence N times after an untimed\n"
		   "                    warm-up run; keep each row's fastest (default 3)\n"
		   "      --no-native   do not run the host kernel's side\n"
		   "  -h, --help        this text\n\n"
		   "pages/s is the measure; MiB/s is the address space covered.\n"
		   "Exit status: 0 done, 1 a check failed, 2 bad usage.\n");
}

static void rows_init(struct fault_bench *b)
{
	static const char *const phase[] = {
		"read faults: zero page", "write faults: new pages", "fork: pages mapped",
		"write faults after fork: COW", "munmap: pages mapped",
		"access: 8-byte mml_read, TLB hit", "access: 8-byte mml_write, TLB hit",
	};
	/* a zero-page fault need do no more than a load, a COW fault a copy; the rest make pages */
	static const enum bench_limit limit[] = {
		BENCH_LIM_LOAD, BENCH_LIM_MEMSET_DRAM, BENCH_LIM_MEMSET_DRAM, BENCH_LIM_MEMCPY_DRAM,
		BENCH_LIM_MEMSET_DRAM, BENCH_LIM_LOAD, BENCH_LIM_STORE,
	};
	int i, n = NROWS / 2;

	for (i = 0; i < NROWS; i++)
		b->rows[i] = (struct bench_row){
			.side = i < n ? "mmlab" : "native", .phase = phase[i % n],
			.ref = i < n ? i + n : -1, .pages = b->npages, .best = -1, .dev = -1,
			.limit = limit[i % n],
		};
	/* the host's side of an access is a plain load or store: the same as the limit */
	for (i = SIM_ACC_READ; i < NROWS; i += n)
		b->rows[i].pages = b->rows[i + 1].pages = NACCESS;
	b->rows[NAT_ACC_READ].phase = "access: 8-byte load";
	b->rows[NAT_ACC_WRITE].phase = "access: 8-byte store";
	b->rows[SIM_ACC_READ].note = "the access rows count accesses in the pages column: pages/s is accesses/s";
}

/* ---- mmlab ---- */

/* NACCESS 8-byte reads, then writes, of the first page at base (written: its TLB entry is warm). */
static int sim_access(struct fault_bench *b, struct mml_task *t, uint64_t base)
{
	uint64_t v = 0, sum = 0;
	double t0;
	int r = 0;

	t0 = bench_now();
	for (unsigned i = 0; i < NACCESS && !r; i++) {
		r = mml_read(t, base + (i & 7) * 8, &v, 8);
		sum += v;
	}
	bench_row_time(&b->rows[SIM_ACC_READ], bench_now() - t0, -1);
	t0 = bench_now();
	for (unsigned i = 0; i < NACCESS && !r; i++)
		r = mml_write(t, base + (i & 7) * 8, &sum, 8);
	bench_row_time(&b->rows[SIM_ACC_WRITE], bench_now() - t0, -1);
	if (r < 0)
		return bench_fail(&b->err, "mmlab: access: %s", strerror(-r));
	/* and back as the first page's byte, which the checks after fork read */
	v = bench_byte_before(0);
	return mml_write(t, base, &v, 8) < 0 ? bench_fail(&b->err, "mmlab: access: restoring page 0") : 0;
}

static int sim_rep(void *arg, struct mml_machine *m)
{
	struct fault_bench *b = arg;
	struct mml_task *t, *child = NULL;
	long r1, r2;
	double t0;
	int r;

	if ((r = mml_spawn(m, &t)) < 0)
		return bench_fail(&b->err, "mmlab: spawn: %s", strerror(-r));
	r = -1;
	r1 = mml_mmap(t, 0, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	r2 = mml_mmap(t, 0, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r1 < 0 || r2 < 0) {
		bench_fail(&b->err, "mmlab: mmap: %s", strerror((int)-(r1 < 0 ? r1 : r2)));
		goto out;
	}

	t0 = bench_now();
	if (bench_sim_touch(&b->err, b->npages, t, (uint64_t)r1, false, NULL))
		goto out;
	bench_row_time(&b->rows[SIM_READ], bench_now() - t0, -1);

	t0 = bench_now();
	if (bench_sim_touch(&b->err, b->npages, t, (uint64_t)r2, true, bench_byte_before))
		goto out;
	bench_row_time(&b->rows[SIM_WRITE], bench_now() - t0, -1);
	if (sim_access(b, t, (uint64_t)r2))
		goto out;

	t0 = bench_now();
	if ((r = mml_fork(t, &child)) < 0) {
		r = bench_fail(&b->err, "mmlab: fork: %s", strerror(-r));
		goto out;
	}
	bench_row_time(&b->rows[SIM_FORK], bench_now() - t0, -1);

	r = -1;
	t0 = bench_now();
	if (bench_sim_touch(&b->err, b->npages, t, (uint64_t)r2, true, bench_byte_after))
		goto out;
	bench_row_time(&b->rows[SIM_COW], bench_now() - t0, -1);
	if (bench_sim_touch(&b->err, b->npages, child, (uint64_t)r2, false, bench_byte_before) ||
	    bench_sim_touch(&b->err, b->npages, t, (uint64_t)r2, false, bench_byte_after))
		goto out;

	t0 = bench_now();
	if ((r = mml_munmap(t, (uint64_t)r2, b->size)) < 0) {
		r = bench_fail(&b->err, "mmlab: munmap: %s", strerror(-r));
		goto out;
	}
	bench_row_time(&b->rows[SIM_MUNMAP], bench_now() - t0, -1);
	r = 0;
out:
	if (child)
		mml_exit(child);
	mml_exit(t);
	if (!r && mml_report_count(m))
		r = bench_fail(&b->err, "mmlab: the machine reported a bug (above)");
	return r;
}

/*
 * Every mmlab run on one machine, made after the native runs: the
 * host's fork must not copy the page tables of its RAM.  Both regions,
 * the copies COW makes, their page tables, and room to spare.
 */
static int sim_runs(struct fault_bench *b, unsigned reps)
{
	struct mml_machine *m = mml_machine_new(&(struct mml_config){
		.ram_bytes = 3 * b->size + b->size / 8 + (16ULL << 20) });

	if (!m)
		return bench_fail(&b->err, "mmlab: cannot make a machine of %llu MiB",
				  (unsigned long long)((3 * b->size) >> 20) + 16);
	return bench_sim_repeat(m, reps, sim_rep, b, b->rows, NROWS / 2, &b->err);
}

/* ---- the host kernel ---- */

/* The same accesses as plain loads and stores (volatile: each one done) of the same page. */
static void nat_access(struct fault_bench *b, unsigned char *base)
{
	volatile uint64_t *w = (volatile uint64_t *)base;
	uint64_t sum = 0, keep = w[0];
	double t0;

	t0 = bench_now();
	for (unsigned i = 0; i < NACCESS; i++)
		sum += w[i & 7];
	bench_row_time(&b->rows[NAT_ACC_READ], bench_now() - t0, -1);
	t0 = bench_now();
	for (unsigned i = 0; i < NACCESS; i++)
		w[i & 7] = sum;
	bench_row_time(&b->rows[NAT_ACC_WRITE], bench_now() - t0, -1);
	w[0] = keep;
}

static int nat_rep(struct fault_bench *b)
{
	unsigned char *r1, *r2;
	int p[2], status, r = -1;
	double t0;
	pid_t pid;

	r1 = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	r2 = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r1 == MAP_FAILED || r2 == MAP_FAILED) {
		bench_fail(&b->err, "native: mmap: %s", strerror(errno));
		goto out_map;
	}
	/* base pages, as mmlab's */
	madvise(r1, b->size, MADV_NOHUGEPAGE);
	madvise(r2, b->size, MADV_NOHUGEPAGE);

	t0 = bench_now();
	if (bench_nat_check(&b->err, b->npages, r1, NULL))
		goto out_map;
	bench_row_time(&b->rows[NAT_READ], bench_now() - t0, -1);

	t0 = bench_now();
	bench_nat_write(b->npages, r2, bench_byte_before);
	bench_row_time(&b->rows[NAT_WRITE], bench_now() - t0, -1);
	nat_access(b, r2);

	if (pipe(p) < 0) {
		bench_fail(&b->err, "native: pipe: %s", strerror(errno));
		goto out_map;
	}
	fflush(NULL);	/* nothing buffered twice */
	t0 = bench_now();
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		bench_nat_child(b->npages, r2, p[0]);
	}
	if (pid > 0)
		bench_row_time(&b->rows[NAT_FORK], bench_now() - t0, -1);
	close(p[0]);
	if (pid < 0) {
		close(p[1]);
		bench_fail(&b->err, "native: fork: %s", strerror(errno));
		goto out_map;
	}

	t0 = bench_now();
	bench_nat_write(b->npages, r2, bench_byte_after);
	bench_row_time(&b->rows[NAT_COW], bench_now() - t0, -1);
	close(p[1]);	/* the child may check now */
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
		bench_fail(&b->err, "native: the child did not see its bytes from before the fork");
		goto out_map;
	}
	if (bench_nat_check(&b->err, b->npages, r2, bench_byte_after))
		goto out_map;

	t0 = bench_now();
	if (munmap(r2, b->size) < 0) {
		bench_fail(&b->err, "native: munmap: %s", strerror(errno));
		goto out_map;
	}
	bench_row_time(&b->rows[NAT_MUNMAP], bench_now() - t0, -1);
	r2 = MAP_FAILED;
	r = 0;
out_map:
	if (r1 != MAP_FAILED)
		munmap(r1, b->size);
	if (r2 != MAP_FAILED)
		munmap(r2, b->size);
	return r;
}

int bench_fault(int argc, char **argv)
{
	static struct fault_bench fb;
	struct fault_bench *b = &fb;
	struct bench_opts o;
	struct utsname u;
	unsigned rep;
	int r, cpu;

	r = bench_parse(argc, argv, CMD, false, fault_usage, &o);
	if (r >= 0)
		return r;
	memset(b, 0, sizeof(*b));
	b->size = o.size;
	b->npages = o.size / BENCH_PAGE;
	rows_init(b);
	bench_start(&o, b->rows, NROWS);
	cpu = bench_pin_cpu();
	if (uname(&u) < 0)
		strcpy(u.release, "?");
	printf("mmlab bench fault: two regions of %llu KiB (%llu pages of 4 KiB), fastest of %u run%s\n",
	       (unsigned long long)(b->size >> 10), (unsigned long long)b->npages, o.reps,
	       o.reps == 1 ? "" : "s");
	if (o.no_native)
		printf("  native: skipped (--no-native)\n");
	else
		printf("  native: Linux %s, this process, run first (its fork must not\n"
		       "          copy the simulated machine's RAM)\n", u.release);
	if (cpu >= 0)
		printf("  all on cpu %d\n", cpu);
	printf("\n");
	fflush(stdout);
	for (rep = 0; !o.no_native && rep <= o.reps; rep++) {
		if (nat_rep(b))
			break;
		if (rep == 0)
			bench_rows_forget(b->rows + NROWS / 2, NROWS / 2);
	}
	if (!b->err.msg[0])
		sim_runs(b, o.reps);
	if (b->err.msg[0]) {
		fprintf(stderr, "mmlab " CMD ": %s\n", b->err.msg);
		return 1;
	}
	bench_table_print(stdout, b->rows, NROWS);
	printf("\nchecks: every byte read on every side; the child saw the bytes from "
	       "before the fork, the parent its own; mmlab's invariants held; nothing leaked\n");
	return 0;
}
