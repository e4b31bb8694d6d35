/*
 * bench_thp.c - `mmlab bench thp`: transparent huge pages for anonymous
 * memory, mmlab beside the host kernel and beside what the memory itself
 * allows, in one run.
 *
 * Both sides run the same sequence on two 2 MiB-aligned regions of
 * --size bytes:
 *   THP write faults   MADV_HUGEPAGE, then a byte written at the start of
 *                      every 2 MiB: each write faults in one zeroed THP
 *                      (do_huge_pmd_anonymous_page)
 *   fork               of a process that maps the region by pmds:
 *                      copy_huge_pmd write-protects both sides, no split
 *   COW faults         the parent writes a byte per 2 MiB again while the
 *                      child lives: the THP is shared, so the pmd is split
 *                      and only the page written is copied (Linux since
 *                      5.8; before, the whole 2 MiB was copied)
 *   small-page faults  another region, MADV_NOHUGEPAGE: a byte per 4 KiB
 *                      page, each a fault and a new page
 *   MADV_COLLAPSE      of that region, after MADV_HUGEPAGE: each 2 MiB of
 *                      small pages copied into a new THP (collapse_huge_page)
 *   shmem MADV_COLLAPSE  a memfd of --size bytes mapped shared, a byte
 *                      written per page (small pages: shmem_enabled is
 *                      never), then collapsed: collapse_file puts a huge
 *                      folio in the page cache for each 2 MiB,
 *                      retract_page_tables takes the empty tables, and
 *                      collapse_pte_mapped_thp maps each by a pmd
 * The limits, plain memory of this process: memset of 2 MiB (what a THP
 * fault must clear), memcpy of 4 KiB per 2 MiB (what a COW fault copies)
 * and memcpy of the whole region (what a collapse copies).
 *
 * Every byte of both regions is read back and checked after every phase,
 * in the parent and in the child; mmlab's THP counters must move exactly
 * (thp_fault_alloc, thp_split_pmd, thp_collapse_alloc).  The host must
 * really give THPs for its rows to mean anything: the bench reads
 * AnonHugePages of the region in /proc/self/smaps and prints what it
 * found; if the host gives none (THP `never`, or no free 2 MiB block), it
 * says so and leaves those rows out.  The host's THP settings are only
 * read, never written.
 */
#define _GNU_SOURCE
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

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25	/* Linux 6.1; older C libraries do not name it */
#endif

#define CMD		"bench thp"
#define HPAGE		(2ULL << 20)
#define HPAGE_PAGES	(HPAGE / BENCH_PAGE)
#define SIM_THP_BASE	0x40000000ULL	/* mmlab's regions: fixed, 2 MiB-aligned */

enum {
	SIM_FAULT, SIM_FORK, SIM_COW, SIM_SMALL, SIM_COLLAPSE, SIM_SHMEM,
	NAT_FAULT, NAT_FORK, NAT_COW, NAT_SMALL, NAT_COLLAPSE, NAT_SHMEM,
	LIM_MEMSET, LIM_COPY4K, LIM_COPY2M,
	NROWS
};
#define NPHASES	(NAT_FAULT - SIM_FAULT)

struct thp_bench {
	uint64_t size, npages, nthp;
	struct bench_err err;
	struct bench_row rows[NROWS];
	/* the host kernel: what it gave, seen in smaps (-1: not yet looked) */
	long nat_thps_fault, nat_thps_cow, nat_thps_collapse, nat_thps_shmem;
	int nat_collapse_err, nat_shmem_err;	/* errno of a MADV_COLLAPSE that failed twice, else 0 */
	unsigned char *lim_a, *lim_b;	/* the limits' buffers, --size each */
	unsigned char *buf;		/* 2 MiB: mmlab's reads */
};

static const unsigned char zeros[HPAGE];

static void thp_usage(FILE *f)
{
	fprintf(f, "usage: mmlab bench thp [--size BYTES] [--reps N] [--no-native]\n\n"
		   "Transparent huge pages for anonymous memory, on mmlab and on this\n"
		   "host's kernel, beside memset and memcpy of the same bytes, in one run:\n"
		   "THP write faults, fork of PMD-mapped memory and the COW faults after\n"
		   "it, small-page write faults (MADV_NOHUGEPAGE) and MADV_COLLAPSE of them,\n"
		   "and MADV_COLLAPSE of a memfd's small pages (collapse_file).\n"
		   "Every byte is read back and checked.\n\n"
		   "  -s, --size BYTES  each region: 64M, 0x4000000 (default 64M; a multiple\n"
		   "                    of 2M, at most 16G)\n"
		   "  -r, --reps N      run the whole sequence N times after an untimed\n"
		   "                    warm-up run; keep each row's fastest (default 3)\n"
		   "      --no-native   do not run the host kernel's side\n"
		   "  -h, --help        this text\n\n"
		   "The host's THP settings are read, never changed; without THPs from the\n"
		   "host its THP rows are left out, with the reason.\n"
		   "Exit status: 0 done, 1 a check failed, 2 bad usage.\n");
}

static void rows_init(struct thp_bench *b)
{
	static const char *const phase[NPHASES] = {
		"THP write faults: a byte per 2 MiB", "fork: PMD-mapped THPs", "COW faults: a byte per 2 MiB",
		"small-page write faults", "MADV_COLLAPSE of small pages", "MADV_COLLAPSE of a memfd",
	};
	static const char *const counter[NPHASES] = {
		"thp_fault_alloc", "thp_split_pmd", "thp_split_pmd", "thp_fault_alloc", "thp_collapse_alloc",
		"thp_collapse_alloc",
	};
	/*
	 * The host's rows against the limits where the limit is most of the
	 * work (clearing, copying 2 MiB); a COW fault's 4 KiB copy is not:
	 * that limit is in the per-2 MiB table only.
	 */
	static const int limit[NPHASES] = { LIM_MEMSET, -1, -1, -1, LIM_COPY2M, LIM_COPY2M };

	for (int i = 0; i < 2 * NPHASES; i++) {
		bool sim = i < NPHASES;

		b->rows[i] = (struct bench_row){
			.side = sim ? "mmlab" : "native", .phase = phase[i % NPHASES],
			.dev_what = counter[i % NPHASES], .ref = sim ? i + NPHASES : limit[i % NPHASES],
			.pages = b->npages, .best = -1, .dev = -1,
		};
	}
	b->rows[SIM_FAULT].note =
		"a zeroed 2 MiB folio mapped by one pmd per write (do_huge_pmd_anonymous_page); "
		"pages/s counts the 4 KiB pages it brings";
	b->rows[SIM_COW].note =
		"the THP is mapped by both processes: the parent's pmd is split and the one page "
		"written is copied (do_huge_pmd_wp_page, as Linux since 5.8)";
	b->rows[NAT_FAULT].note =
		"the host kernel, a KVM guest: a fault on guest memory the hypervisor has not backed "
		"exits to it, so a page fault costs 10-20 us here where a bare machine's is near 1 us; "
		"the mmlab/native ratios measure this VM as much as mmlab";
	b->rows[NAT_FORK].note =
		"the host's fork is of this whole process: its own mappings too (small beside the region)";
	b->rows[NAT_COLLAPSE].note =
		"the host counters are system-wide (/proc/vmstat): other processes may add to them";
	b->rows[SIM_SHMEM].note =
		"collapse_file: each 2 MiB of the memfd's cache one huge folio, the emptied page "
		"table retracted (pte_free_defer) and the folio mapped by a pmd";
	b->rows[LIM_MEMSET] = (struct bench_row){
		.side = "host", .phase = "memset 2 MiB from DRAM", .ref = -1,
		.pages = b->npages, .best = -1, .dev = -1,
		.note = "the limits: plain memory of this process, faulted in long before and flushed "
			"from the caches (clflush): what clearing or copying the same bytes costs from "
			"DRAM, no fault, no page table",
	};
	b->rows[LIM_COPY4K] = (struct bench_row){
		.side = "host", .phase = "memcpy 4 KiB per 2 MiB from DRAM", .ref = -1,
		.pages = b->npages, .best = -1, .dev = -1,
	};
	b->rows[LIM_COPY2M] = (struct bench_row){
		.side = "host", .phase = "memcpy 2 MiB from DRAM", .ref = -1,
		.pages = b->npages, .best = -1, .dev = -1,
	};
}

/*
 * Every byte of len bytes at p, the part of a region from unit u0 on,
 * one byte set at the start of each unit of `unit` bytes (a 2 MiB extent
 * or a 4 KiB page) to val(unit), the rest zero.  -1 with the first
 * difference reported.
 */
static int check_bytes(struct bench_err *e, const char *who, const unsigned char *p, uint64_t len,
		       uint64_t unit, uint64_t u0, unsigned char (*val)(uint64_t))
{
	for (uint64_t off = 0; off < len; off += unit) {
		uint64_t u = u0 + off / unit;

		if (p[off] != val(u))
			return bench_fail(e, "%s: byte %#llx reads %#x, not %#x", who,
					  (unsigned long long)(u * unit), p[off], val(u));
		if (memcmp(p + off + 1, zeros, unit - 1))
			return bench_fail(e, "%s: unit %llu of %llu bytes is not zero after its first byte",
					  who, (unsigned long long)u, (unsigned long long)unit);
	}
	return 0;
}

/* ---- mmlab ---- */

static long sim_count(struct mml_machine *m, const char *name)
{
	return mml_vmstat(m, name);
}

/* A byte at the start of every unit of [base, base + size): one mml_write each. */
static int sim_write_units(struct thp_bench *b, struct mml_task *t, uint64_t base, uint64_t unit,
			   unsigned char (*val)(uint64_t))
{
	for (uint64_t u = 0; u < b->size / unit; u++) {
		unsigned char c = val(u);
		int r = mml_write(t, base + u * unit, &c, 1);

		if (r < 0)
			return bench_fail(&b->err, "mmlab: writing %#llx: %s",
					  (unsigned long long)(base + u * unit), strerror(-r));
	}
	return 0;
}

/* Read the region back 2 MiB at a time, every byte checked. */
static int sim_check(struct thp_bench *b, struct mml_task *t, const char *who, uint64_t base,
		     uint64_t unit, unsigned char (*val)(uint64_t))
{
	for (uint64_t off = 0; off < b->size; off += HPAGE) {
		int r = mml_read(t, base + off, b->buf, HPAGE);

		if (r < 0)
			return bench_fail(&b->err, "%s: reading %#llx: %s", who,
					  (unsigned long long)(base + off), strerror(-r));
		if (check_bytes(&b->err, who, b->buf, HPAGE, unit, off / unit, val))
			return -1;
	}
	return 0;
}

/* The counter moved by want in the phase; its change goes to the row. */
static int sim_moved(struct thp_bench *b, int row, long before, long after, long want)
{
	if (after - before != want)
		return bench_fail(&b->err, "mmlab: %s moved by %ld in '%s', not %ld", b->rows[row].dev_what,
				  after - before, b->rows[row].phase, want);
	return 0;
}

/* One phase timed: fn's time and its counter's change go to the row if all is right. */
#define SIM_PHASE(row, call, want) do {						\
	long c0_ = sim_count(m, b->rows[row].dev_what), c1_;			\
	double t0_ = bench_now(), dt_;						\
	if (call)								\
		goto out;							\
	dt_ = bench_now() - t0_;						\
	c1_ = sim_count(m, b->rows[row].dev_what);				\
	if (sim_moved(b, row, c0_, c1_, (want)))				\
		goto out;							\
	bench_row_time(&b->rows[row], dt_, c1_ - c0_);				\
} while (0)

static int sim_madvise(struct thp_bench *b, struct mml_task *t, uint64_t base, int advice, const char *name)
{
	int r = mml_madvise(t, base, b->size, advice);

	return r < 0 ? bench_fail(&b->err, "mmlab: madvise(%s): %s", name, strerror(-r)) : 0;
}

static int sim_fork(struct thp_bench *b, struct mml_task *t, struct mml_task **child)
{
	int r = mml_fork(t, child);

	if (r < 0) {
		*child = NULL;
		return bench_fail(&b->err, "mmlab: fork: %s", strerror(-r));
	}
	return 0;
}

/*
 * mmlab's AnonHugePages (meminfo, kB): the THPs mapped by at least one
 * pmd, machine-wide; a THP two processes map by pmds counts once, as
 * NR_ANON_THPS does.
 */
static int sim_anon_huge(struct thp_bench *b, struct mml_machine *m, uint64_t want_thps, const char *when)
{
	long kb = mml_meminfo(m, "AnonHugePages");

	if (kb != (long)(want_thps * (HPAGE >> 10)))
		return bench_fail(&b->err, "mmlab: AnonHugePages %ld kB %s, not %llu", kb, when,
				  (unsigned long long)(want_thps * (HPAGE >> 10)));
	return 0;
}

/* The memfd's phase: small pages written, then collapsed; 0, or -1 with the failure said. */
static int sim_shmem(struct thp_bench *b, struct mml_machine *m, struct mml_task *t, uint64_t base)
{
	int fd = mml_memfd_create(t, "bench", 0);
	long r, kb;

	if (fd < 0 || mml_ftruncate(t, fd, (int64_t)b->size) ||
	    mml_mmap(t, base, b->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) != (long)base)
		return bench_fail(&b->err, "mmlab: a memfd of %llu bytes mapped at %#llx: failed",
				  (unsigned long long)b->size, (unsigned long long)base);
	if (sim_write_units(b, t, base, BENCH_PAGE, bench_byte_before))
		return -1;
	if (mml_meminfo(m, "ShmemHugePages"))
		return bench_fail(&b->err, "mmlab: huge pages in the memfd before the collapse");
	SIM_PHASE(SIM_SHMEM, sim_madvise(b, t, base, MADV_COLLAPSE, "MADV_COLLAPSE (memfd)"), (long)b->nthp);
	kb = mml_meminfo(m, "ShmemPmdMapped");
	if (kb != (long)(b->nthp * (HPAGE >> 10)))
		return bench_fail(&b->err, "mmlab: ShmemPmdMapped %ld kB after the memfd's collapse, not %llu", kb,
				  (unsigned long long)(b->nthp * (HPAGE >> 10)));
	if (sim_check(b, t, "mmlab: the memfd after MADV_COLLAPSE", base, BENCH_PAGE, bench_byte_before))
		return -1;
	if ((r = mml_munmap(t, base, b->size)) < 0 || (r = mml_close(t, fd)) < 0)
		return bench_fail(&b->err, "mmlab: the memfd's end: %s", strerror((int)-r));
	return 0;
out:	/* SIM_PHASE's way out: the failure is said */
	return -1;
}

static int sim_rep(void *arg, struct mml_machine *m)
{
	struct thp_bench *b = arg;
	uint64_t thp = SIM_THP_BASE, small = SIM_THP_BASE + b->size + HPAGE;
	struct mml_task *t, *child = NULL;
	long r;

	if ((r = mml_spawn(m, &t)) < 0)
		return bench_fail(&b->err, "mmlab: spawn: %s", strerror((int)-r));
	r = mml_mmap(t, thp, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (r != (long)thp) {
		bench_fail(&b->err, "mmlab: mmap: %s", r < 0 ? strerror((int)-r) : "moved");
		goto out;
	}
	if (sim_madvise(b, t, thp, MADV_HUGEPAGE, "MADV_HUGEPAGE"))
		goto out;

	SIM_PHASE(SIM_FAULT, sim_write_units(b, t, thp, HPAGE, bench_byte_before), (long)b->nthp);
	if (sim_anon_huge(b, m, b->nthp, "after the THP faults") ||
	    sim_check(b, t, "mmlab: after the THP faults", thp, HPAGE, bench_byte_before))
		goto out;

	/* fork copies pmds: not one split */
	SIM_PHASE(SIM_FORK, sim_fork(b, t, &child), 0);
	if (sim_anon_huge(b, m, b->nthp, "after fork"))
		goto out;

	SIM_PHASE(SIM_COW, sim_write_units(b, t, thp, HPAGE, bench_byte_after), (long)b->nthp);
	if (sim_anon_huge(b, m, b->nthp, "after the COW faults (the child's pmds)") ||
	    sim_check(b, t, "mmlab: the parent after COW", thp, HPAGE, bench_byte_after) ||
	    sim_check(b, child, "mmlab: the child after COW", thp, HPAGE, bench_byte_before))
		goto out;
	mml_exit(child);
	child = NULL;
	if ((r = mml_munmap(t, thp, b->size)) < 0) {
		bench_fail(&b->err, "mmlab: munmap: %s", strerror((int)-r));
		goto out;
	}

	r = mml_mmap(t, small, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (r != (long)small) {
		bench_fail(&b->err, "mmlab: mmap: %s", r < 0 ? strerror((int)-r) : "moved");
		goto out;
	}
	if (sim_madvise(b, t, small, MADV_NOHUGEPAGE, "MADV_NOHUGEPAGE"))
		goto out;
	SIM_PHASE(SIM_SMALL, sim_write_units(b, t, small, BENCH_PAGE, bench_byte_before), 0);
	if (sim_anon_huge(b, m, 0, "after the small-page faults") ||
	    sim_check(b, t, "mmlab: after the small-page faults", small, BENCH_PAGE, bench_byte_before))
		goto out;

	/* MADV_HUGEPAGE clears VM_NOHUGEPAGE, which MADV_COLLAPSE would refuse */
	if (sim_madvise(b, t, small, MADV_HUGEPAGE, "MADV_HUGEPAGE"))
		goto out;
	SIM_PHASE(SIM_COLLAPSE, sim_madvise(b, t, small, MADV_COLLAPSE, "MADV_COLLAPSE"), (long)b->nthp);
	if (sim_anon_huge(b, m, b->nthp, "after MADV_COLLAPSE") ||
	    sim_check(b, t, "mmlab: after MADV_COLLAPSE", small, BENCH_PAGE, bench_byte_before))
		goto out;
	if ((r = mml_munmap(t, small, b->size)) < 0) {
		bench_fail(&b->err, "mmlab: munmap: %s", strerror((int)-r));
		goto out;
	}
	r = sim_shmem(b, m, t, thp);
out:
	if (child)
		mml_exit(child);
	mml_exit(t);
	if (r == 0 && mml_report_count(m))
		r = bench_fail(&b->err, "mmlab: the machine reported a bug (above)");
	return r == 0 ? 0 : -1;
}

/*
 * Every mmlab run on one machine, made after the native runs (the host's
 * fork must not copy its RAM): the THP region and its child's COW copies,
 * then the small pages and the THPs collapsed from them, one region
 * mapped at a time, with room for the page tables and to spare, so that
 * order-9 blocks are always free.
 */
static int sim_runs(struct thp_bench *b, unsigned reps)
{
	uint64_t ram = 3 * b->size + b->size / 4 + (32ULL << 20);
	struct mml_machine *m = mml_machine_new(&(struct mml_config){ .ram_bytes = ram });

	if (!m)
		return bench_fail(&b->err, "mmlab: cannot make a machine of %llu MiB",
				  (unsigned long long)(ram >> 20));
	return bench_sim_repeat(m, reps, sim_rep, b, b->rows, NPHASES, &b->err);
}

/* ---- the host kernel ---- */

/* A field of smaps (AnonHugePages, ShmemPmdMapped) summed over the VMAs of [a, a + len), in kB; -1 if unreadable. */
static long nat_smaps_kb(const void *a, uint64_t len, const char *field)
{
	unsigned long start, end, lo = (unsigned long)a, hi = lo + len;
	bool in = false;
	char line[512];
	long kb, sum = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		/* a VMA's first line: "start-end perms ..."; field names never parse as two numbers */
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			in = start < hi && end > lo;
			continue;
		}
		if (in && !strncmp(line, field, strlen(field)) && line[strlen(field)] == ':' &&
		    sscanf(line + strlen(field) + 1, "%ld kB", &kb) == 1)
			sum = (sum < 0 ? 0 : sum) + kb;
	}
	fclose(f);
	return sum;
}

static long nat_thps(struct thp_bench *b, const void *a)
{
	long kb = nat_smaps_kb(a, b->size, "AnonHugePages");

	return kb < 0 ? -1 : kb / (long)(HPAGE >> 10);
}

/* --size bytes at a 2 MiB boundary: more is mapped, the ends are given back. */
static unsigned char *nat_map_aligned(struct thp_bench *b)
{
	unsigned char *p = mmap(NULL, b->size + HPAGE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t head, a;

	if (p == MAP_FAILED) {
		bench_fail(&b->err, "native: mmap: %s", strerror(errno));
		return NULL;
	}
	a = ((uintptr_t)p + HPAGE - 1) & ~(uintptr_t)(HPAGE - 1);
	head = a - (uintptr_t)p;
	if (head)
		munmap(p, head);
	if (HPAGE - head)
		munmap((unsigned char *)a + b->size, HPAGE - head);
	return (unsigned char *)a;
}

static void nat_write_units(struct thp_bench *b, unsigned char *a, uint64_t unit, unsigned char (*val)(uint64_t))
{
	for (uint64_t u = 0; u < b->size / unit; u++)
		a[u * unit] = val(u);
}

/* Time one native phase with the host's counter around it; the counter is not checked. */
#define NAT_PHASE(row, stmt) do {						\
	long c0_ = bench_host_vmstat(b->rows[row].dev_what), c1_;			\
	double t0_ = bench_now(), dt_;						\
	stmt;									\
	dt_ = bench_now() - t0_;						\
	c1_ = bench_host_vmstat(b->rows[row].dev_what);				\
	bench_row_time(&b->rows[row], dt_, c0_ >= 0 && c1_ >= 0 ? c1_ - c0_ : -1);	\
} while (0)

/* The forked child: wait until the parent's COW faults are done, then check every byte. */
static void nat_child(struct thp_bench *b, const unsigned char *a, int rfd)
{
	char c;

	while (read(rfd, &c, 1) < 0 && errno == EINTR)
		;
	_exit(check_bytes(&b->err, "native child", a, b->size, HPAGE, 0, bench_byte_before) ? 1 : 0);
}

/* MADV_COLLAPSE, and once more on EAGAIN (a page briefly busy), as `mmlab conform` does. */
static int nat_collapse(unsigned char *a, uint64_t len)
{
	if (madvise(a, len, MADV_COLLAPSE) == 0)
		return 0;
	if (errno != EAGAIN)
		return errno;
	return madvise(a, len, MADV_COLLAPSE) == 0 ? 0 : errno;
}

/*
 * The memfd's phase on the host: a memfd of --size mapped shared at a 2
 * MiB boundary (over a region reserved for it), a byte written per page,
 * MADV_COLLAPSE timed (not on failure).  shmem_enabled is read, never
 * written: MADV_COLLAPSE does not ask it.
 */
static int nat_shmem(struct thp_bench *b)
{
	unsigned char *a = nat_map_aligned(b);
	int fd = memfd_create("bench", 0), err = 0, r = -1;

	if (!a || fd < 0 || ftruncate(fd, (off_t)b->size) < 0 ||
	    mmap(a, b->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) != a) {
		bench_fail(&b->err, "native: a memfd mapped at a 2 MiB boundary: %s", strerror(errno));
		goto out;
	}
	nat_write_units(b, a, BENCH_PAGE, bench_byte_before);
	{
		long c0 = bench_host_vmstat("thp_collapse_alloc"), c1;
		double t0 = bench_now(), dt;

		err = nat_collapse(a, b->size);
		dt = bench_now() - t0;
		c1 = bench_host_vmstat("thp_collapse_alloc");
		if (err)
			b->nat_shmem_err = err;
		else
			bench_row_time(&b->rows[NAT_SHMEM], dt, c0 >= 0 && c1 >= 0 ? c1 - c0 : -1);
	}
	b->nat_thps_shmem = nat_smaps_kb(a, b->size, "ShmemPmdMapped");
	b->nat_thps_shmem = b->nat_thps_shmem < 0 ? -1 : b->nat_thps_shmem / (long)(HPAGE >> 10);
	if (check_bytes(&b->err, "native: the memfd after MADV_COLLAPSE", a, b->size, BENCH_PAGE, 0,
			bench_byte_before))
		goto out;
	r = 0;
out:
	if (a)
		munmap(a, b->size);
	if (fd >= 0)
		close(fd);
	return r;
}

static int nat_rep(struct thp_bench *b)
{
	unsigned char *thp = NULL, *small = NULL;
	int p[2] = { -1, -1 }, status, r = -1, err = 0;
	pid_t pid = -1;

	if (!(thp = nat_map_aligned(b)) || !(small = nat_map_aligned(b)))
		goto out;
	/* EINVAL here is a kernel without THP: the faults below then get small pages, and say so */
	madvise(thp, b->size, MADV_HUGEPAGE);

	NAT_PHASE(NAT_FAULT, nat_write_units(b, thp, HPAGE, bench_byte_before));
	b->nat_thps_fault = nat_thps(b, thp);
	if (check_bytes(&b->err, "native: after the THP faults", thp, b->size, HPAGE, 0, bench_byte_before))
		goto out;

	if (pipe(p) < 0) {
		bench_fail(&b->err, "native: pipe: %s", strerror(errno));
		goto out;
	}
	fflush(NULL);	/* nothing buffered twice */
	NAT_PHASE(NAT_FORK, pid = fork(); if (pid == 0) { close(p[1]); nat_child(b, thp, p[0]); });
	close(p[0]);
	p[0] = -1;
	if (pid < 0) {
		bench_fail(&b->err, "native: fork: %s", strerror(errno));
		goto out;
	}
	NAT_PHASE(NAT_COW, nat_write_units(b, thp, HPAGE, bench_byte_after));
	b->nat_thps_cow = nat_thps(b, thp);
	close(p[1]);	/* the child may check now */
	p[1] = -1;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
		bench_fail(&b->err, "native: the child did not see its bytes from before the fork");
		goto out;
	}
	if (check_bytes(&b->err, "native: the parent after COW", thp, b->size, HPAGE, 0, bench_byte_after))
		goto out;

	madvise(small, b->size, MADV_NOHUGEPAGE);
	NAT_PHASE(NAT_SMALL, nat_write_units(b, small, BENCH_PAGE, bench_byte_before));
	if (check_bytes(&b->err, "native: after the small-page faults", small, b->size, BENCH_PAGE, 0,
			bench_byte_before))
		goto out;
	madvise(small, b->size, MADV_HUGEPAGE);
	{
		long c0 = bench_host_vmstat("thp_collapse_alloc"), c1;
		double t0 = bench_now(), dt;

		err = nat_collapse(small, b->size);
		dt = bench_now() - t0;
		c1 = bench_host_vmstat("thp_collapse_alloc");
		/* a failure is not timed: the row would time an error under the name of a collapse */
		if (err)
			b->nat_collapse_err = err;
		else
			bench_row_time(&b->rows[NAT_COLLAPSE], dt, c0 >= 0 && c1 >= 0 ? c1 - c0 : -1);
	}
	b->nat_thps_collapse = nat_thps(b, small);
	if (check_bytes(&b->err, "native: after MADV_COLLAPSE", small, b->size, BENCH_PAGE, 0, bench_byte_before))
		goto out;
	r = nat_shmem(b);
out:
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	if (thp)
		munmap(thp, b->size);
	if (small)
		munmap(small, b->size);
	return r;
}

/*
 * The limits, in memory of this process that was written long before
 * (the warm-up run), so no fault is timed, and flushed from the caches
 * first: clearing every byte a THP fault clears, copying the 4 KiB a COW
 * fault copies per 2 MiB, and copying every byte a collapse copies.
 */
static void lim_rep(struct thp_bench *b)
{
	unsigned char *a = b->lim_a, *c = b->lim_b;
	double t0;

	bench_cache_flush(a, b->size);
	t0 = bench_now();
	for (uint64_t off = 0; off < b->size; off += HPAGE)
		memset(a + off, 0, HPAGE);
	bench_row_time(&b->rows[LIM_MEMSET], bench_now() - t0, -1);
	/* the compiler must not drop a memset nobody reads */
	__asm__ volatile("" : : "r"(a) : "memory");

	bench_cache_flush(a, b->size);
	bench_cache_flush(c, b->size);
	t0 = bench_now();
	for (uint64_t off = 0; off < b->size; off += HPAGE)
		memcpy(c + off, a + off, BENCH_PAGE);
	bench_row_time(&b->rows[LIM_COPY4K], bench_now() - t0, -1);
	__asm__ volatile("" : : "r"(c) : "memory");

	bench_cache_flush(a, b->size);
	bench_cache_flush(c, b->size);
	t0 = bench_now();
	for (uint64_t off = 0; off < b->size; off += HPAGE)
		memcpy(c + off, a + off, HPAGE);
	bench_row_time(&b->rows[LIM_COPY2M], bench_now() - t0, -1);
	__asm__ volatile("" : : "r"(c) : "memory");
}

/* The host's THP setting, the word in brackets of transparent_hugepage/enabled; "" if none. */
static void host_thp_enabled(char *out, size_t n)
{
	char line[128], *l, *r;
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");

	out[0] = '\0';
	if (!f)
		return;
	if (fgets(line, sizeof(line), f) && (l = strchr(line, '[')) && (r = strchr(l, ']'))) {
		*r = '\0';
		snprintf(out, n, "%s", l + 1);
	}
	fclose(f);
}

/*
 * What the host gave, under the table: the THPs smaps showed, and the rows
 * left out because it gave none.  A THP row of the host's without THPs
 * would time small pages under a THP row's name.
 */
static void nat_report(struct thp_bench *b, const char *enabled)
{
	if (b->nat_thps_fault <= 0) {
		for (int i = NAT_FAULT; i <= NAT_COW; i++)
			b->rows[i].best = -1;
		printf("  native THP rows left out: the host mapped no THP (transparent_hugepage/enabled "
		       "%s%s%s, AnonHugePages %s)\n", enabled[0] ? "[" : "", enabled[0] ? enabled : "absent",
		       enabled[0] ? "]" : "", b->nat_thps_fault < 0 ? "unreadable" : "0 kB");
	} else {
		printf("  native: %ld of %llu ranges PMD-mapped after the THP faults, %ld after the\n"
		       "          COW faults, %ld after MADV_COLLAPSE (smaps AnonHugePages)%s\n",
		       b->nat_thps_fault, (unsigned long long)b->nthp, b->nat_thps_cow,
		       b->nat_thps_collapse,
		       b->nat_thps_fault < (long)b->nthp ? "; the host's memory had too few free 2 MiB "
							    "blocks, the rows mix THPs and small pages" : "");
	}
	if (b->nat_collapse_err)
		printf("  native MADV_COLLAPSE row left out: madvise failed twice: %s\n",
		       strerror(b->nat_collapse_err));
	if (b->nat_shmem_err)
		printf("  native memfd MADV_COLLAPSE row left out: madvise failed twice: %s\n",
		       strerror(b->nat_shmem_err));
	else
		printf("  native: %ld of %llu memfd ranges PMD-mapped after its MADV_COLLAPSE (smaps ShmemPmdMapped)\n",
		       b->nat_thps_shmem, (unsigned long long)b->nthp);
}

/* Per 2 MiB and per 4 KiB page, each side's fastest run, for the rows the table has. */
static void per_unit_print(const struct thp_bench *b)
{
	static const int lim[NPHASES] = { LIM_MEMSET, -1, LIM_COPY4K, -1, LIM_COPY2M, LIM_COPY2M };
	char col[3][40];

	printf("\n%-36s %-22s %-22s %s\n", "per 2 MiB (per 4 KiB page)", "mmlab", "native", "limit");
	for (int i = 0; i < NPHASES; i++) {
		const struct bench_row *r[3] = {
			&b->rows[SIM_FAULT + i], &b->rows[NAT_FAULT + i], lim[i] >= 0 ? &b->rows[lim[i]] : NULL,
		};

		for (int s = 0; s < 3; s++) {
			if (!r[s] || r[s]->best < 0)
				snprintf(col[s], sizeof(col[s]), "-");
			else
				snprintf(col[s], sizeof(col[s]), "%.1f us (%.0f ns)", r[s]->best / b->nthp * 1e6,
					 r[s]->best / b->npages * 1e9);
		}
		printf("  %-34s %-22s %-22s %s\n", b->rows[SIM_FAULT + i].phase, col[0], col[1], col[2]);
	}
}

int bench_thp(int argc, char **argv)
{
	static struct thp_bench tb;
	struct thp_bench *b = &tb;
	char enabled[32];
	struct bench_opts o;
	struct utsname u;
	int r, cpu;

	r = bench_parse(argc, argv, CMD, false, thp_usage, &o);
	if (r >= 0)
		return r;
	if (o.size % HPAGE) {
		fprintf(stderr, "mmlab " CMD ": --size: %llu bytes is not a multiple of 2M\n",
			(unsigned long long)o.size);
		return 2;
	}
	memset(b, 0, sizeof(*b));
	b->size = o.size;
	b->npages = o.size / BENCH_PAGE;
	b->nthp = o.size / HPAGE;
	b->nat_thps_fault = b->nat_thps_cow = b->nat_thps_collapse = b->nat_thps_shmem = -1;
	rows_init(b);
	bench_start(&o, b->rows, NROWS);
	b->buf = malloc(HPAGE);
	b->lim_a = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	b->lim_b = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!b->buf || b->lim_a == MAP_FAILED || b->lim_b == MAP_FAILED) {
		fprintf(stderr, "mmlab " CMD ": no memory for the buffers\n");
		return 1;
	}
	/* the limits' buffers are not forked: a child copying them would time nothing of ours */
	madvise(b->lim_a, b->size, MADV_DONTFORK);
	madvise(b->lim_b, b->size, MADV_DONTFORK);
	cpu = bench_pin_cpu();
	if (uname(&u) < 0)
		strcpy(u.release, "?");
	host_thp_enabled(enabled, sizeof(enabled));
	printf("mmlab " CMD ": two regions of %llu KiB (%llu THPs of 2 MiB, %llu pages of 4 KiB), "
	       "fastest of %u run%s\n", (unsigned long long)(b->size >> 10), (unsigned long long)b->nthp,
	       (unsigned long long)b->npages, o.reps, o.reps == 1 ? "" : "s");
	if (o.no_native)
		printf("  native: skipped (--no-native)\n");
	else
		printf("  native: Linux %s, THP enabled [%s] (read, not changed), MADV_HUGEPAGE\n"
		       "          regions; this process, run first (its fork must not copy the\n"
		       "          simulated machine's RAM)\n", u.release, enabled[0] ? enabled : "absent");
	if (cpu >= 0)
		printf("  all on cpu %d\n", cpu);
	fflush(stdout);
	for (unsigned rep = 0; rep <= o.reps; rep++) {
		if (!o.no_native && nat_rep(b))
			break;
		lim_rep(b);
		if (rep == 0)
			bench_rows_forget(b->rows + NPHASES, NROWS - NPHASES);
	}
	if (!o.no_native && !b->err.msg[0])
		nat_report(b, enabled);
	printf("\n");
	if (!b->err.msg[0])
		sim_runs(b, o.reps);
	free(b->buf);
	munmap(b->lim_a, b->size);
	munmap(b->lim_b, b->size);
	if (b->err.msg[0]) {
		fprintf(stderr, "mmlab " CMD ": %s\n", b->err.msg);
		return 1;
	}
	bench_table_print(stdout, b->rows, NROWS);
	per_unit_print(b);
	printf("\nchecks: every byte of both regions read back after every phase, in the parent and the\n"
	       "child; mmlab's thp_fault_alloc, thp_split_pmd and thp_collapse_alloc moved by one per\n"
	       "2 MiB where the rows say so and not at all elsewhere, its AnonHugePages and\n"
	       "ShmemPmdMapped as the pmds;\n"
	       "its invariants held; nothing leaked\n");
	return 0;
}
