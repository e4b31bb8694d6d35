/*
 * bench_refs.c - `mmlab bench refs`: soft-dirty tracking and
 * process_madvise over a region of --size bytes, mmlab beside the host
 * kernel and beside what the memory itself allows, in one run.
 *
 * Both sides run the same sequence (MADV_NOHUGEPAGE: 4 KiB pages only)
 * on a written region:
 *   clear_refs 4        write 4 to /proc/PID/clear_refs: every pte
 *                       write-protected and cleaned of soft-dirty, one
 *                       TLB flush (the host: 1, see below)
 *   re-dirty            one 8-byte store a page: on mmlab each takes the
 *                       write fault that marks its pte soft-dirty again
 *   process_madvise     MADV_COLD of the whole region of another process
 *                       (its only range), through a pidfd on the host:
 *                       every page deactivated
 * The host kernel has no CONFIG_MEM_SOFT_DIRTY here (nor does x86 make
 * it the default): its row writes 1 (clear every accessed bit, the same
 * walk without the write-protection), and its re-dirty row takes no
 * fault at all; both say so.  The limit: one 8-byte store a page (the
 * least a walk that changes every pte must do, and what a re-dirty is
 * without faults).
 *
 * Checks: on mmlab, sampled pages read !soft-dirty after clear_refs 4 and
 * soft-dirty after the stores, process_madvise returns the region's
 * length on both sides, and every page still holds its byte.  The host's
 * process_madvise of another process needs CAP_SYS_NICE and Linux 5.10:
 * without them its row is left out, with the reason.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "mmlab.h"

#define CMD	"bench refs"

enum {
	SIM_CLEAR, SIM_DIRTY, SIM_PMADV,
	NAT_CLEAR, NAT_DIRTY, NAT_PMADV,
	LIM_STORE,
	NROWS
};
#define NPHASES	(NAT_CLEAR - SIM_CLEAR)

struct refs_bench {
	uint64_t size, npages;
	struct bench_err err;
	struct bench_row rows[NROWS];
	char pmadv_skip[160];		/* why the host's process_madvise row is left out, or "" */
	unsigned char *lim;
};

static void refs_usage(FILE *f)
{
	fprintf(f, "usage: mmlab bench refs [--size BYTES] [--reps N] [--no-native]\n\n"
		   "Soft-dirty tracking (clear_refs 4, then one store a page, each a write\n"
		   "fault that marks the page again) and process_madvise(MADV_COLD) of\n"
		   "another process's region, on mmlab and on this host's kernel, beside\n"
		   "one 8-byte store a page, in one run.\n\n"
		   "  -s, --size BYTES  the region: 64M, 0x100000 (default 64M; a multiple\n"
		   "                    of 4096, at most 16G)\n"
		   "  -r, --reps N      run the whole sequence N times after an untimed\n"
		   "                    warm-up run; keep each row's fastest (default 3)\n"
		   "      --no-native   do not run the host kernel's side\n"
		   "  -h, --help        this text\n\n"
		   "A host without CONFIG_MEM_SOFT_DIRTY writes 1 to clear_refs instead\n"
		   "(the rows say so); its process_madvise row needs CAP_SYS_NICE and\n"
		   "Linux 5.10, else it is left out, with the reason.\n"
		   "Exit status: 0 done, 1 a check failed, 2 bad usage.\n");
}

static void rows_init(struct refs_bench *b)
{
	static const char *const phase[2 * NPHASES] = {
		"clear_refs 4: write-protect", "re-dirty: a store a page", "process_madvise COLD, other",
		"clear_refs 1 (no soft-dirty)", "re-dirty: a store a page", "process_madvise COLD, other",
	};

	for (int i = 0; i < 2 * NPHASES; i++)
		b->rows[i] = (struct bench_row){
			.side = i < NPHASES ? "mmlab" : "native", .phase = phase[i],
			.ref = i < NPHASES ? i + NPHASES : LIM_STORE,
			.pages = b->npages, .best = -1, .dev = -1,
		};
	b->rows[NAT_CLEAR].note = "the host has no CONFIG_MEM_SOFT_DIRTY: 1 clears the accessed bits, the same "
				  "walk without write-protecting";
	b->rows[NAT_DIRTY].note = "no write faults on the host: clear_refs 1 left the ptes writable";
	b->rows[LIM_STORE] = (struct bench_row){ .side = "limit", .phase = "one 8-byte store a page", .ref = -1,
						 .pages = b->npages, .best = -1, .dev = -1 };
}

/* ---- mmlab ---- */

static int sim_check_sd(struct refs_bench *b, struct mml_task *t, uint64_t base, bool want)
{
	for (uint64_t i = 0; i < b->npages; i += b->npages / 8 + 1) {
		uint64_t e = 0;

		if (mml_pagemap(t, base + i * BENCH_PAGE, &e) || !!(e & MML_PM_SOFT_DIRTY) != want)
			return bench_fail(&b->err, "mmlab: page %llu is%s soft-dirty", (unsigned long long)i,
					  want ? " not" : "");
	}
	return 0;
}

static int sim_rep(void *arg, struct mml_machine *m)
{
	struct refs_bench *b = arg;
	struct mml_task *t, *other = NULL;
	struct iovec iov;
	long base, got;
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
	if (bench_sim_touch(&b->err, b->npages, t, (uint64_t)base, true, bench_byte_before))
		goto out;
	t0 = bench_now();
	if (mml_clear_refs(t, 4)) {
		bench_fail(&b->err, "mmlab: clear_refs 4 failed");
		goto out;
	}
	bench_row_time(&b->rows[SIM_CLEAR], bench_now() - t0, -1);
	if (sim_check_sd(b, t, (uint64_t)base, false))
		goto out;
	t0 = bench_now();
	if (bench_sim_touch(&b->err, b->npages, t, (uint64_t)base, true, bench_byte_after))
		goto out;
	bench_row_time(&b->rows[SIM_DIRTY], bench_now() - t0, -1);
	if (sim_check_sd(b, t, (uint64_t)base, true))
		goto out;
	if ((r = mml_spawn(m, &other)) < 0) {
		bench_fail(&b->err, "mmlab: spawn: %s", strerror(-r));
		r = -1;
		goto out;
	}
	r = -1;
	iov = (struct iovec){ (void *)(uintptr_t)base, b->size };
	t0 = bench_now();
	got = mml_process_madvise(other, t, &iov, 1, MADV_COLD, 0);
	bench_row_time(&b->rows[SIM_PMADV], bench_now() - t0, -1);
	if (got != (long)b->size) {
		bench_fail(&b->err, "mmlab: process_madvise returned %ld, not %llu", got, (unsigned long long)b->size);
		goto out;
	}
	if (bench_sim_touch(&b->err, b->npages, t, (uint64_t)base, false, bench_byte_after))
		goto out;
	r = 0;
out:
	if (other)
		mml_exit(other);
	mml_exit(t);
	if (!r && mml_report_count(m))
		r = bench_fail(&b->err, "mmlab: the machine reported a bug (above)");
	return r;
}

/* ---- the host kernel ---- */

static int write_clear_refs(pid_t pid, const char *what)
{
	char path[64];
	int fd, r = 0;

	snprintf(path, sizeof(path), "/proc/%d/clear_refs", (int)pid);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	if (write(fd, what, 1) != 1)
		r = -errno;
	close(fd);
	return r;
}

/*
 * The process advised: a child that shares nothing with us but a pipe.
 * It writes its region, says so, and waits to be told to check and go.
 */
static pid_t nat_target(struct refs_bench *b, unsigned char **region, int *go)
{
	int ready[2], cmd[2];
	unsigned char *a;
	pid_t pid;
	char c;

	a = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED || pipe(ready) || pipe(cmd))
		return -1;
	madvise(a, b->size, MADV_NOHUGEPAGE);
	pid = fork();
	if (pid == 0) {
		close(ready[0]);
		close(cmd[1]);
		bench_nat_write(b->npages, a, bench_byte_before);
		if (write(ready[1], "r", 1) != 1 || read(cmd[0], &c, 1) != 1)
			_exit(1);
		_exit(bench_nat_check(&(struct bench_err){ { 0 } }, b->npages, a, bench_byte_before) ? 1 : 0);
	}
	close(ready[1]);
	close(cmd[0]);
	if (pid < 0 || read(ready[0], &c, 1) != 1) {
		close(ready[0]);
		close(cmd[1]);
		munmap(a, b->size);
		return -1;
	}
	close(ready[0]);
	munmap(a, b->size);	/* the child's copy is the one advised, at the same address */
	*region = a;
	*go = cmd[1];
	return pid;
}

static int nat_pmadv(struct refs_bench *b)
{
	unsigned char *a = NULL;
	int go = -1, pidfd, status = 0, r = -1;
	struct iovec iov;
	pid_t pid = nat_target(b, &a, &go);
	double t0;
	long got;

	if (pid < 0)
		return bench_fail(&b->err, "native: the target process: %s", strerror(errno));
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	iov = (struct iovec){ a, b->size };
	t0 = bench_now();
	got = pidfd < 0 ? -1 : syscall(SYS_process_madvise, pidfd, &iov, 1UL, MADV_COLD, 0U);
	if (got < 0) {
		snprintf(b->pmadv_skip, sizeof(b->pmadv_skip), "process_madvise of another process: %s "
			 "(CAP_SYS_NICE, Linux 5.10)", strerror(errno));
		r = 0;
	} else if (got != (long)b->size) {
		bench_fail(&b->err, "native: process_madvise returned %ld, not %llu", got,
			   (unsigned long long)b->size);
	} else {
		bench_row_time(&b->rows[NAT_PMADV], bench_now() - t0, -1);
		r = 0;
	}
	if (pidfd >= 0)
		close(pidfd);
	if (write(go, "c", 1) != 1)
		kill(pid, SIGKILL);
	close(go);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		r = bench_fail(&b->err, "native: the advised process lost its bytes (status %#x)", status);
	return r;
}

static int nat_rep(struct refs_bench *b)
{
	unsigned char *a;
	double t0;
	int r = -1, e;

	a = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED)
		return bench_fail(&b->err, "native: mmap: %s", strerror(errno));
	madvise(a, b->size, MADV_NOHUGEPAGE);
	bench_nat_write(b->npages, a, bench_byte_before);
	t0 = bench_now();
	if ((e = write_clear_refs(getpid(), "1"))) {
		bench_fail(&b->err, "native: clear_refs: %s", strerror(-e));
		goto out;
	}
	bench_row_time(&b->rows[NAT_CLEAR], bench_now() - t0, -1);
	t0 = bench_now();
	bench_nat_write(b->npages, a, bench_byte_after);
	bench_row_time(&b->rows[NAT_DIRTY], bench_now() - t0, -1);
	if (bench_nat_check(&b->err, b->npages, a, bench_byte_after))
		goto out;
	r = b->pmadv_skip[0] ? 0 : nat_pmadv(b);
out:
	munmap(a, b->size);
	return r;
}


int bench_refs(int argc, char **argv)
{
	static struct refs_bench rb;
	struct refs_bench *b = &rb;
	struct mml_machine *m;
	struct bench_opts o;
	struct utsname u;
	int r, cpu;

	r = bench_parse(argc, argv, CMD, false, refs_usage, &o);
	if (r >= 0)
		return r;
	memset(b, 0, sizeof(*b));
	b->size = o.size;
	b->npages = o.size / BENCH_PAGE;
	rows_init(b);
	bench_start(&o, b->rows, NROWS);
	/* Not shared with the advised child: the limit's stores must not meet COW faults. */
	b->lim = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->lim == MAP_FAILED || madvise(b->lim, b->size, MADV_DONTFORK)) {
		fprintf(stderr, "mmlab " CMD ": out of memory\n");
		return 1;
	}
	memset(b->lim, 1, b->size);	/* faulted in before any timing */
	cpu = bench_pin_cpu();
	if (uname(&u) < 0)
		strcpy(u.release, "?");
	printf("mmlab bench refs: a region of %llu KiB (%llu pages of 4 KiB), fastest of %u run%s\n",
	       (unsigned long long)(b->size >> 10), (unsigned long long)b->npages, o.reps, o.reps == 1 ? "" : "s");
	printf("  native: %s\n", o.no_native ? "skipped (--no-native)" : u.release);
	if (cpu >= 0)
		printf("  all on cpu %d\n", cpu);
	printf("\n");
	fflush(stdout);
	for (unsigned rep = 0; rep <= o.reps && !b->err.msg[0]; rep++) {
		if (!o.no_native)
			nat_rep(b);
		bench_limit_store(&b->rows[LIM_STORE], b->lim, b->npages);
		if (rep == 0)
			bench_rows_forget(b->rows + NPHASES, NROWS - NPHASES);
	}
	m = b->err.msg[0] ? NULL : mml_machine_new(&(struct mml_config){
		.ram_bytes = b->size + b->size / 4 + (16ULL << 20) });
	if (!b->err.msg[0] && !m)
		bench_fail(&b->err, "mmlab: cannot make a machine of %llu MiB", (unsigned long long)(b->size >> 20) + 16);
	if (m)
		bench_sim_repeat(m, o.reps, sim_rep, b, b->rows, NPHASES, &b->err);
	munmap(b->lim, b->size);
	if (b->err.msg[0]) {
		fprintf(stderr, "mmlab " CMD ": %s\n", b->err.msg);
		return 1;
	}
	bench_table_print(stdout, b->rows, NROWS);
	if (b->pmadv_skip[0])
		printf("native process_madvise row left out: %s\n", b->pmadv_skip);
	printf("\nchecks: every sampled page !soft-dirty after clear_refs 4 and soft-dirty after the stores (mmlab); "
	       "process_madvise advised the whole region and every page kept its byte (both); "
	       "mmlab's invariants held; nothing leaked\n");
	return 0;
}
