/*
 * bench_lock.c - `mmlab bench lock`: memory locks and guard regions over a
 * region of --size bytes, mmlab beside the host kernel and beside what
 * the memory itself allows, in one run.
 *
 * Both sides run the same sequence (MADV_NOHUGEPAGE: 4 KiB pages only):
 *   mlock: fault in     mlock of a fresh region: every page faulted in
 *                       for write (a zeroed page each) and mlocked
 *   munlock             every page back to the evictable lists
 *   mlock: populated    mlock again: the pages are there, only locked
 *   guard install       MADV_GUARD_INSTALL over the written, unlocked
 *                       region: every page zapped, a marker in its pte
 *   guard remove        MADV_GUARD_REMOVE: every marker cleared
 * The limits: memset of the region (what faulting it in must at least
 * write: zeros) and one 8-byte store a page (the least a walk that
 * changes every pte, or every page's state, must do).
 *
 * Checks: after the first mlock, Mlocked counts the region (mmlab) and
 * every page is resident (mincore, the host); after the guard install
 * every page is a guard (pagemap bit 58) on mmlab, and after the removal
 * every page reads zero on both sides (the install threw the data away).
 * The host's mlock needs RLIMIT_MEMLOCK or CAP_IPC_LOCK for --size, its
 * guard rows Linux 6.13: without them the rows are left out, with the
 * reason.  mmlab's process is given an unlimited RLIMIT_MEMLOCK.  The
 * host's locks are the system calls themselves: the sanitizers make the
 * C library's mlock and munlock do nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench.h"
#include "mmlab.h"

#define CMD	"bench lock"

enum {
	SIM_MLOCK_FAULT, SIM_MUNLOCK, SIM_MLOCK, SIM_GUARD, SIM_UNGUARD,
	NAT_MLOCK_FAULT, NAT_MUNLOCK, NAT_MLOCK, NAT_GUARD, NAT_UNGUARD,
	LIM_MEMSET, LIM_STORE,
	NROWS
};
#define NPHASES	(NAT_MLOCK_FAULT - SIM_MLOCK_FAULT)

struct lock_bench {
	uint64_t size, npages;
	struct bench_err err;
	struct bench_row rows[NROWS];
	char nat_skip[160];		/* why the host's rows are left out, or "" */
	char guard_skip[160];		/* why its guard rows are, or "" */
	unsigned char *lim;		/* the limits' buffer */
	unsigned char *vec;		/* mincore's */
};

static void lock_usage(FILE *f)
{
	fprintf(f, "usage: mmlab bench lock [--size BYTES] [--reps N] [--no-native]\n\n"
		   "mlock (faulting a region in, and of populated pages), munlock, and\n"
		   "MADV_GUARD_INSTALL / MADV_GUARD_REMOVE over a written region, on mmlab\n"
		   "and on this host's kernel, beside memset of the region and one 8-byte\n"
		   "store a page, in one run.\n\n"
		   "  -s, --size BYTES  the region: 64M, 0x100000 (default 64M; a multiple\n"
		   "                    of 4096, at most 16G)\n"
		   "  -r, --reps N      run the whole sequence N times after an untimed\n"
		   "                    warm-up run; keep each row's fastest (default 3)\n"
		   "      --no-native   do not run the host kernel's side\n"
		   "  -h, --help        this text\n\n"
		   "The host's mlock rows need RLIMIT_MEMLOCK of --size or CAP_IPC_LOCK,\n"
		   "its guard rows Linux 6.13: else they are left out, with the reason.\n"
		   "Exit status: 0 done, 1 a check failed, 2 bad usage.\n");
}

static void rows_init(struct lock_bench *b)
{
	static const char *const phase[NPHASES] = {
		"mlock: fault in and lock", "munlock", "mlock: populated pages", "MADV_GUARD_INSTALL: zap, mark",
		"MADV_GUARD_REMOVE",
	};

	for (int i = 0; i < 2 * NPHASES; i++)
		b->rows[i] = (struct bench_row){
			.side = i < NPHASES ? "mmlab" : "native", .phase = phase[i % NPHASES],
			.ref = i < NPHASES ? i + NPHASES : (i == NAT_MLOCK_FAULT ? LIM_MEMSET : LIM_STORE),
			.pages = b->npages, .best = -1, .dev = -1,
		};
	b->rows[NAT_MLOCK_FAULT].note = "the host's faults pay for this VM's nested paging: about ten times a bare "
					 "machine's (docs/bench.md)";
	b->rows[LIM_MEMSET] = (struct bench_row){ .side = "limit", .phase = "memset 4 KiB a page", .ref = -1,
						  .pages = b->npages, .best = -1, .dev = -1 };
	b->rows[LIM_STORE] = (struct bench_row){ .side = "limit", .phase = "one 8-byte store a page", .ref = -1,
						 .pages = b->npages, .best = -1, .dev = -1 };
}

/* ---- mmlab ---- */

static int sim_rep(void *arg, struct mml_machine *m)
{
	struct lock_bench *b = arg;
	struct mml_task *t;
	long base, mlocked;
	double t0;
	int r;

	if ((r = mml_spawn(m, &t)) < 0)
		return bench_fail(&b->err, "mmlab: spawn: %s", strerror(-r));
	r = -1;
	base = mml_mmap(t, 0, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base < 0 || mml_madvise(t, (uint64_t)base, b->size, MADV_NOHUGEPAGE)) {
		bench_fail(&b->err, "mmlab: mmap: %s", strerror((int)-base));
		goto out;
	}
	mlocked = mml_meminfo(m, "Mlocked");
	t0 = bench_now();
	if (mml_mlock(t, (uint64_t)base, b->size)) {
		bench_fail(&b->err, "mmlab: mlock failed");
		goto out;
	}
	bench_row_time(&b->rows[SIM_MLOCK_FAULT], bench_now() - t0, -1);
	if (mml_meminfo(m, "Mlocked") - mlocked != (long)(b->size >> 10)) {
		bench_fail(&b->err, "mmlab: Mlocked grew by %ld kB, not %llu", mml_meminfo(m, "Mlocked") - mlocked,
			   (unsigned long long)(b->size >> 10));
		goto out;
	}
	t0 = bench_now();
	mml_munlock(t, (uint64_t)base, b->size);
	bench_row_time(&b->rows[SIM_MUNLOCK], bench_now() - t0, -1);
	t0 = bench_now();
	mml_mlock(t, (uint64_t)base, b->size);
	bench_row_time(&b->rows[SIM_MLOCK], bench_now() - t0, -1);
	mml_munlock(t, (uint64_t)base, b->size);
	if (bench_sim_touch(&b->err, b->npages, t, (uint64_t)base, true, bench_byte_before))
		goto out;
	t0 = bench_now();
	if (mml_madvise(t, (uint64_t)base, b->size, MADV_GUARD_INSTALL)) {
		bench_fail(&b->err, "mmlab: MADV_GUARD_INSTALL failed");
		goto out;
	}
	bench_row_time(&b->rows[SIM_GUARD], bench_now() - t0, -1);
	for (uint64_t i = 0; i < b->npages; i += b->npages / 8 + 1) {
		uint64_t e = 0;

		if (mml_pagemap(t, (uint64_t)base + i * BENCH_PAGE, &e) || !(e & MML_PM_GUARD_REGION)) {
			bench_fail(&b->err, "mmlab: page %llu is no guard", (unsigned long long)i);
			goto out;
		}
	}
	t0 = bench_now();
	mml_madvise(t, (uint64_t)base, b->size, MADV_GUARD_REMOVE);
	bench_row_time(&b->rows[SIM_UNGUARD], bench_now() - t0, -1);
	if (bench_sim_touch(&b->err, b->npages, t, (uint64_t)base, false, NULL))
		goto out;
	r = 0;
out:
	mml_exit(t);
	if (!r && mml_report_count(m))
		r = bench_fail(&b->err, "mmlab: the machine reported a bug (above)");
	return r;
}

/* ---- the host kernel ---- */

static int nat_rep(struct lock_bench *b)
{
	unsigned char *a;
	double t0;
	int r = -1;

	a = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED)
		return bench_fail(&b->err, "native: mmap: %s", strerror(errno));
	madvise(a, b->size, MADV_NOHUGEPAGE);
	t0 = bench_now();
	if (syscall(SYS_mlock, a, b->size)) {
		snprintf(b->nat_skip, sizeof(b->nat_skip), "mlock of --size: %s (RLIMIT_MEMLOCK, CAP_IPC_LOCK)",
			 strerror(errno));
		r = 0;
		goto out;
	}
	bench_row_time(&b->rows[NAT_MLOCK_FAULT], bench_now() - t0, -1);
	if (mincore(a, b->size, b->vec) || memchr(b->vec, 0, b->npages)) {
		bench_fail(&b->err, "native: mlock left pages out of memory");
		goto out;
	}
	t0 = bench_now();
	syscall(SYS_munlock, a, b->size);
	bench_row_time(&b->rows[NAT_MUNLOCK], bench_now() - t0, -1);
	t0 = bench_now();
	syscall(SYS_mlock, a, b->size);
	bench_row_time(&b->rows[NAT_MLOCK], bench_now() - t0, -1);
	syscall(SYS_munlock, a, b->size);
	bench_nat_write(b->npages, a, bench_byte_before);
	t0 = bench_now();
	if (madvise(a, b->size, MADV_GUARD_INSTALL)) {
		snprintf(b->guard_skip, sizeof(b->guard_skip), "MADV_GUARD_INSTALL: %s (Linux 6.13+)", strerror(errno));
		r = 0;
		goto out;
	}
	bench_row_time(&b->rows[NAT_GUARD], bench_now() - t0, -1);
	t0 = bench_now();
	madvise(a, b->size, MADV_GUARD_REMOVE);
	bench_row_time(&b->rows[NAT_UNGUARD], bench_now() - t0, -1);
	r = bench_nat_check(&b->err, b->npages, a, NULL);
out:
	munmap(a, b->size);
	return r;
}

static void lim_rep(struct lock_bench *b)
{
	double t0;

	bench_cache_flush(b->lim, b->size);
	t0 = bench_now();
	memset(b->lim, 0, b->size);
	bench_row_time(&b->rows[LIM_MEMSET], bench_now() - t0, -1);
	bench_limit_store(&b->rows[LIM_STORE], b->lim, b->npages);
}

int bench_lock(int argc, char **argv)
{
	static struct lock_bench lb;
	struct lock_bench *b = &lb;
	struct mml_machine *m;
	struct bench_opts o;
	struct utsname u;
	int r, cpu;

	r = bench_parse(argc, argv, CMD, false, lock_usage, &o);
	if (r >= 0)
		return r;
	memset(b, 0, sizeof(*b));
	b->size = o.size;
	b->npages = o.size / BENCH_PAGE;
	rows_init(b);
	bench_start(&o, b->rows, NROWS);
	b->lim = malloc(b->size);
	b->vec = malloc(b->npages);
	if (!b->lim || !b->vec) {
		fprintf(stderr, "mmlab " CMD ": out of memory\n");
		return 1;
	}
	memset(b->lim, 1, b->size);	/* faulted in before any timing */
	cpu = bench_pin_cpu();
	if (uname(&u) < 0)
		strcpy(u.release, "?");
	printf("mmlab bench lock: a region of %llu KiB (%llu pages of 4 KiB), fastest of %u run%s\n",
	       (unsigned long long)(b->size >> 10), (unsigned long long)b->npages, o.reps, o.reps == 1 ? "" : "s");
	printf("  native: %s\n", o.no_native ? "skipped (--no-native)" : u.release);
	if (cpu >= 0)
		printf("  all on cpu %d\n", cpu);
	printf("\n");
	fflush(stdout);
	for (unsigned rep = 0; rep <= o.reps && !b->err.msg[0]; rep++) {
		if (!o.no_native && !b->nat_skip[0] && !b->guard_skip[0])
			nat_rep(b);
		lim_rep(b);
		if (rep == 0)
			bench_rows_forget(b->rows + NPHASES, NROWS - NPHASES);
	}
	m = b->err.msg[0] ? NULL : mml_machine_new(&(struct mml_config){
		.ram_bytes = b->size + b->size / 4 + (16ULL << 20), .rlimit_memlock = RLIM_INFINITY });
	if (!b->err.msg[0] && !m)
		bench_fail(&b->err, "mmlab: cannot make a machine of %llu MiB", (unsigned long long)(b->size >> 20) + 16);
	if (m)
		bench_sim_repeat(m, o.reps, sim_rep, b, b->rows, NPHASES, &b->err);
	free(b->lim);
	free(b->vec);
	if (b->err.msg[0]) {
		fprintf(stderr, "mmlab " CMD ": %s\n", b->err.msg);
		return 1;
	}
	bench_table_print(stdout, b->rows, NROWS);
	if (b->nat_skip[0])
		printf("native rows left out: %s\n", b->nat_skip);
	else if (b->guard_skip[0])
		printf("native guard rows left out: %s\n", b->guard_skip);
	printf("\nchecks: Mlocked grew by the region (mmlab), every page resident after mlock (host); "
	       "every page a guard after the install (mmlab) and zero after the removal (both); "
	       "mmlab's invariants held; nothing leaked\n");
	return 0;
}
