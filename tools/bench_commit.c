/*
 * bench_commit.c - `mmlab bench commit`: what the commit accounting costs
 * the calls that charge it, mmlab beside the host kernel and beside the
 * accounting's own arithmetic, in one run.
 *
 * The region of --size bytes is worked in chunks of 64 KiB (16 pages):
 *   mmap + munmap      each chunk mapped private and writable (charged:
 *                      VM_ACCOUNT) and unmapped again (given back)
 *   the same, mode 2   with overcommit_memory 2, where every charge is
 *                      judged against CommitLimit (mmlab sums the
 *                      process's size there; deviation 12)
 *   mprotect rw, r     each chunk of a read-only mapping made writable
 *                      (charged) and read-only again (given back: never
 *                      written, so no anon_vma)
 * The host runs the first and the last in the policy it has (printed; a
 * bench changes no host setting).  The limit: two atomic adds on one
 * counter a chunk, what charging and giving back must at least do.
 * Checks: Committed_AS back where it began after every phase (mmlab).
 */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench.h"
#include "mmlab.h"

#define CMD	"bench commit"
#define CHUNK	(64u << 10)

enum {
	SIM_MAP, SIM_MAP_STRICT, SIM_PROTECT,
	NAT_MAP, NAT_PROTECT,
	LIM_ADD,
	NROWS
};

struct commit_bench {
	uint64_t size, nchunks;
	struct bench_err err;
	struct bench_row rows[NROWS];
	char host_policy[16];
};

static void commit_usage(FILE *f)
{
	fprintf(f, "usage: mmlab bench commit [--size BYTES] [--reps N] [--no-native]\n\n"
		   "mmap and munmap of private writable chunks (64 KiB) of a region, in\n"
		   "overcommit modes 1 and 2, and mprotect of never-written chunks to\n"
		   "writable and back: each charges the commit and gives it back.  On\n"
		   "mmlab and on this host's kernel (in the policy it has), beside two\n"
		   "atomic adds a chunk, in one run.\n\n"
		   "  -s, --size BYTES  the region: 64M, 0x100000 (default 64M; a multiple\n"
		   "                    of 4096, at most 16G)\n"
		   "  -r, --reps N      run the whole sequence N times after an untimed\n"
		   "                    warm-up run; keep each row's fastest (default 3)\n"
		   "      --no-native   do not run the host kernel's side\n"
		   "  -h, --help        this text\n\n"
		   "Exit status: 0 done, 1 a check failed, 2 bad usage.\n");
}

static void rows_init(struct commit_bench *b)
{
	static const struct { const char *side, *phase; int ref; } row[NROWS] = {
		[SIM_MAP] = { "mmlab", "mmap + munmap, 64 KiB charged", NAT_MAP },
		[SIM_MAP_STRICT] = { "mmlab", "the same, overcommit mode 2", NAT_MAP },
		[SIM_PROTECT] = { "mmlab", "mprotect rw then r, 64 KiB", NAT_PROTECT },
		[NAT_MAP] = { "native", "mmap + munmap, 64 KiB charged", LIM_ADD },
		[NAT_PROTECT] = { "native", "mprotect rw then r, 64 KiB", LIM_ADD },
		[LIM_ADD] = { "limit", "two atomic adds a chunk", -1 },
	};
	uint64_t pages = b->nchunks * (CHUNK / BENCH_PAGE);

	for (int i = 0; i < NROWS; i++)
		b->rows[i] = (struct bench_row){ .side = row[i].side, .phase = row[i].phase, .ref = row[i].ref,
						 .pages = pages, .best = -1, .dev = -1 };
	b->rows[NAT_MAP].note = "each call a system call into this VM's kernel; the host's policy is printed above";
}

/* ---- mmlab ---- */

/* Each chunk of [base, base + size) mapped and unmapped again; 0 or -1. */
static int sim_map_unmap(struct commit_bench *b, struct mml_task *t, uint64_t base, int row)
{
	double t0 = bench_now();

	for (uint64_t i = 0; i < b->nchunks; i++) {
		uint64_t a = base + i * CHUNK;

		if (mml_mmap(t, a, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) !=
		    (long)a || mml_munmap(t, a, CHUNK))
			return bench_fail(&b->err, "mmlab: mmap or munmap of chunk %llu failed", (unsigned long long)i);
	}
	bench_row_time(&b->rows[row], bench_now() - t0, -1);
	return 0;
}

static int sim_rep(void *arg, struct mml_machine *m)
{
	struct commit_bench *b = arg;
	struct mml_task *t;
	long committed, base;
	double t0;
	int r;

	if ((r = mml_spawn(m, &t)) < 0)
		return bench_fail(&b->err, "mmlab: spawn: %s", strerror(-r));
	r = -1;
	committed = mml_meminfo(m, "Committed_AS");
	base = mml_mmap(t, 0, b->size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base < 0) {
		bench_fail(&b->err, "mmlab: mmap: %s", strerror((int)-base));
		goto out;
	}
	t0 = bench_now();
	for (uint64_t i = 0; i < b->nchunks; i++) {
		uint64_t a = (uint64_t)base + i * CHUNK;

		if (mml_mprotect(t, a, CHUNK, PROT_READ | PROT_WRITE) || mml_mprotect(t, a, CHUNK, PROT_READ)) {
			bench_fail(&b->err, "mmlab: mprotect of chunk %llu failed", (unsigned long long)i);
			goto out;
		}
	}
	bench_row_time(&b->rows[SIM_PROTECT], bench_now() - t0, -1);
	if (mml_meminfo(m, "Committed_AS") != committed) {
		bench_fail(&b->err, "mmlab: mprotect left Committed_AS at %ld kB, not %ld", mml_meminfo(m, "Committed_AS"),
			   committed);
		goto out;
	}
	if (mml_munmap(t, (uint64_t)base, b->size) || sim_map_unmap(b, t, (uint64_t)base, SIM_MAP))
		goto out;
	if (mml_sys_write(m, "/proc/sys/vm/overcommit_memory", "2") ||
	    sim_map_unmap(b, t, (uint64_t)base, SIM_MAP_STRICT) ||
	    mml_sys_write(m, "/proc/sys/vm/overcommit_memory", "1"))
		goto out;
	if (mml_meminfo(m, "Committed_AS") != committed) {
		bench_fail(&b->err, "mmlab: mmap and munmap left Committed_AS at %ld kB, not %ld",
			   mml_meminfo(m, "Committed_AS"), committed);
		goto out;
	}
	r = 0;
out:
	mml_exit(t);
	if (!r && mml_report_count(m))
		r = bench_fail(&b->err, "mmlab: the machine reported a bug (above)");
	return r;
}

/* ---- the host kernel ---- */

static int nat_rep(struct commit_bench *b)
{
	unsigned char *a = mmap(NULL, b->size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	double t0;

	if (a == MAP_FAILED)
		return bench_fail(&b->err, "native: mmap of --size failed");
	t0 = bench_now();
	for (uint64_t i = 0; i < b->nchunks; i++)
		if (mprotect(a + i * CHUNK, CHUNK, PROT_READ | PROT_WRITE) || mprotect(a + i * CHUNK, CHUNK, PROT_READ))
			return bench_fail(&b->err, "native: mprotect of chunk %llu failed", (unsigned long long)i);
	bench_row_time(&b->rows[NAT_PROTECT], bench_now() - t0, -1);
	t0 = bench_now();
	for (uint64_t i = 0; i < b->nchunks; i++) {
		void *c = a + i * CHUNK;

		if (mmap(c, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != c ||
		    munmap(c, CHUNK))
			return bench_fail(&b->err, "native: mmap or munmap of chunk %llu failed", (unsigned long long)i);
	}
	bench_row_time(&b->rows[NAT_MAP], bench_now() - t0, -1);
	return 0;
}

static void lim_rep(struct commit_bench *b)
{
	static _Atomic long counter;
	double t0 = bench_now();

	for (uint64_t i = 0; i < b->nchunks; i++) {
		atomic_fetch_add(&counter, (long)(CHUNK / BENCH_PAGE));
		atomic_fetch_add(&counter, -(long)(CHUNK / BENCH_PAGE));
	}
	bench_row_time(&b->rows[LIM_ADD], bench_now() - t0, -1);
}

static void host_policy(char *buf, size_t n)
{
	FILE *f = fopen("/proc/sys/vm/overcommit_memory", "r");

	snprintf(buf, n, "?");
	if (f) {
		if (fgets(buf, (int)n, f))
			buf[strcspn(buf, "\n")] = '\0';
		fclose(f);
	}
}

int bench_commit(int argc, char **argv)
{
	static struct commit_bench cb;
	struct commit_bench *b = &cb;
	struct mml_machine *m;
	struct bench_opts o;
	struct utsname u;
	int r, cpu;

	r = bench_parse(argc, argv, CMD, false, commit_usage, &o);
	if (r >= 0)
		return r;
	memset(b, 0, sizeof(*b));
	b->size = o.size < CHUNK ? CHUNK : o.size / CHUNK * CHUNK;
	b->nchunks = b->size / CHUNK;
	rows_init(b);
	bench_start(&o, b->rows, NROWS);
	host_policy(b->host_policy, sizeof(b->host_policy));
	cpu = bench_pin_cpu();
	if (uname(&u) < 0)
		strcpy(u.release, "?");
	printf("mmlab bench commit: a region of %llu KiB in %llu chunks of 64 KiB, fastest of %u run%s\n",
	       (unsigned long long)(b->size >> 10), (unsigned long long)b->nchunks, o.reps, o.reps == 1 ? "" : "s");
	printf("  native: %s (overcommit_memory %s)\n", o.no_native ? "skipped (--no-native)" : u.release,
	       b->host_policy);
	if (cpu >= 0)
		printf("  all on cpu %d\n", cpu);
	printf("\n");
	fflush(stdout);
	for (unsigned rep = 0; rep <= o.reps && !b->err.msg[0]; rep++) {
		if (!o.no_native)
			nat_rep(b);
		lim_rep(b);
		if (rep == 0)
			bench_rows_forget(b->rows + NAT_MAP, NROWS - NAT_MAP);
	}
	m = b->err.msg[0] ? NULL : mml_machine_new(&(struct mml_config){ .ram_bytes = 64ULL << 20 });
	if (!b->err.msg[0] && !m)
		bench_fail(&b->err, "mmlab: cannot make a machine of 64 MiB");
	if (m)
		bench_sim_repeat(m, o.reps, sim_rep, b, b->rows, NAT_MAP, &b->err);
	if (b->err.msg[0]) {
		fprintf(stderr, "mmlab " CMD ": %s\n", b->err.msg);
		return 1;
	}
	bench_table_print(stdout, b->rows, NROWS);
	printf("\nchecks: Committed_AS back where it began after each phase (mmlab); "
	       "mmlab's invariants held; nothing leaked\n");
	return 0;
}
