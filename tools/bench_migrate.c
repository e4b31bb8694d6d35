/*
 * bench_migrate.c - `mmlab bench migrate`: page migration between NUMA
 * nodes (move_pages) and moves of a populated region (mremap), mmlab
 * beside the host kernel where it can, and beside what the memory itself
 * allows, in one run.
 *
 * Both sides run the same sequence on one region of --size bytes of
 * anonymous memory, MADV_NOHUGEPAGE (4 KiB pages only: a THP would move
 * as one folio by migration and as one pmd leaf by mremap), every page
 * written with its own stamped contents first (untimed):
 *   move_pages to node 0   the pages are already there: the kernel only
 *                          looks each one up and copies nothing
 *   move_pages 0 -> 1      every page migrated to the other node, in one
 *   move_pages 1 -> 0      call each way (do_pages_move batches them)
 *   mremap aligned         MREMAP_MAYMOVE|MREMAP_FIXED from a 2 MiB-aligned
 *                          address to another: Linux moves each pte table
 *                          whole (move_normal_pmd), one pmd entry per 2 MiB
 *   mremap to +4 KiB       from there to an address 4 KiB past a 2 MiB
 *                          boundary: no table can move whole, every pte is
 *                          moved into new tables (move_ptes)
 * The limit: memcpy of the whole region, from DRAM, the least that a
 * migration of it must copy.
 *
 * Every byte of every page is read back and checked after every phase;
 * mmlab's pgmigrate_success must move by exactly the pages migrated, and
 * move_pages must say every page is on the node asked.  The host kernel
 * migrates only when it has two NUMA nodes; with one, its migration rows
 * are left out, with the reason, and only its lookup row is timed.
 */
#define _GNU_SOURCE	/* MREMAP_MAYMOVE, MREMAP_FIXED */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench.h"
#include "mmlab.h"

#define CMD		"bench migrate"
#define PMD_SPAN	(2ULL << 20)	/* what one pte table maps */
#define PUD_SPAN	(1ULL << 30)	/* what one pmd table maps */
/* The machine is 2.5x --size and more: beyond this, RAM of a common host runs out first. */
#define MIGRATE_MAX_SIZE (4ULL << 30)
/*
 * mmlab's region: 2 MiB-aligned but not 1 GiB-aligned, so that the
 * aligned mremap is a run of pmd-level moves and never a PUD-level one
 * (Linux's move_normal_pud needs a whole 1 GiB aligned on both sides).
 */
#define SIM_BASE	(PUD_SPAN + PMD_SPAN)

enum {
	SIM_STAY, SIM_TO1, SIM_TO0, SIM_MR_PMD, SIM_MR_PTE,
	NAT_STAY, NAT_TO1, NAT_TO0, NAT_MR_PMD, NAT_MR_PTE,
	LIM_COPY,
	NROWS
};
#define NPHASES	(NAT_STAY - SIM_STAY)

struct migrate_bench {
	uint64_t size, npages, span;	/* span: size rounded up to 2 MiB */
	struct bench_err err;
	struct bench_row rows[NROWS];
	bool host_numa;			/* the host has a node 1: its rows migrate */
	bool native;			/* the host's side runs (no --no-native) */
	char nat_mp_skip[160];		/* why the host's move_pages rows are left out, or "" */
	long sim_tables[2];		/* page-table pages mmlab's two mremaps allocated (last run) */
	uint64_t *sim_pages;		/* mmlab's page addresses for move_pages */
	void **nat_pages;		/* the host's */
	int *to_node[2];		/* every entry 0, every entry 1 */
	int *status;
	unsigned char *buf;		/* 2 MiB: mmlab's reads */
	unsigned char *page;		/* 4 KiB: one page's contents being written */
	unsigned char *lim_a, *lim_b;	/* the limit's buffers, --size each */
};

static void migrate_usage(FILE *f)
{
	fprintf(f, "usage: mmlab bench migrate [--size BYTES] [--reps N] [--no-native]\n\n"
		   "Page migration between NUMA nodes (move_pages of every page of a region,\n"
		   "to the other node and back) and mremap of the populated region (2 MiB-\n"
		   "aligned to aligned: whole pte tables move; aligned to 4 KiB past a 2 MiB\n"
		   "boundary: every pte moves), on mmlab (a machine of two nodes) and on this\n"
		   "host's kernel, beside memcpy of the same bytes, in one run.  Every byte\n"
		   "is read back and checked after every phase.\n\n"
		   "  -s, --size BYTES  the region: 64M, 0x4000000 (default 64M; a multiple\n"
		   "                    of 4096, at most 4G: the machine needs 2.5x that)\n"
		   "  -r, --reps N      run the whole sequence N times after an untimed\n"
		   "                    warm-up run; keep each row's fastest (default 3)\n"
		   "      --no-native   do not run the host kernel's side\n"
		   "  -h, --help        this text\n\n"
		   "A host of one NUMA node cannot migrate: its migration rows are left out,\n"
		   "with the reason, and it only times move_pages to the node the pages are on.\n"
		   "Exit status: 0 done, 1 a check failed, 2 bad usage.\n");
}

/*
 * The notes of the aligned mremap row: which one applies is seen in the
 * run, from the page-table pages mmlab allocated, so that the table says
 * what this build does.
 */
static const char note_pmd_moved[] =
	"mmlab moves whole pte tables as Linux does (move_normal_pmd): one pmd entry per 2 MiB, "
	"the tables kept; the device column counts the page-table pages it allocated";
static const char note_pmd_copied[] =
	"mmlab moved every pte one by one into new tables here, as in the +4 KiB row: no whole "
	"pte table moved (no move_normal_pmd); the device column counts the tables allocated";

static void rows_init(struct migrate_bench *b)
{
	static const char *const phase[NPHASES] = {
		"move_pages to node 0: lookup only", "move_pages node 0 -> 1", "move_pages node 1 -> 0",
		"mremap 2M-aligned -> 2M-aligned", "mremap 2M-aligned -> +4 KiB",
	};
	static const char *const counter[NPHASES] = {
		"pgmigrate_success", "pgmigrate_success", "pgmigrate_success", "pgalloc_normal",
		"pgalloc_normal",
	};
	/* mmlab's migrations against the host's when it migrates, else against the memcpy limit */
	bool nat_mig = b->native && b->host_numa;

	for (int i = 0; i < 2 * NPHASES; i++) {
		bool sim = i < NPHASES;
		int p = i % NPHASES, ref;

		if (sim)
			ref = (p == SIM_TO1 || p == SIM_TO0) && !nat_mig ? LIM_COPY : i + NPHASES;
		else
			ref = p == SIM_TO1 || p == SIM_TO0 ? LIM_COPY : -1;
		b->rows[i] = (struct bench_row){
			.side = sim ? "mmlab" : "native", .phase = phase[p], .dev_what = counter[p],
			.ref = ref, .pages = b->npages, .best = -1, .dev = -1,
		};
	}
	b->rows[SIM_STAY].note =
		"the pages are already on node 0: move_pages looks each one up (add_folio_for_migration "
		"finds folio_nid == node) and copies nothing; not a migration";
	b->rows[SIM_TO1].note =
		"migrate_pages(): each page isolated from the LRU, its pte made a migration entry, "
		"copied to a new page of the other node, mapped again; pgmigrate_success counts the pages";
	b->rows[SIM_MR_PMD].note = note_pmd_copied;	/* until a run shows otherwise */
	b->rows[SIM_MR_PTE].note =
		"the new address is 4 KiB past a 2 MiB boundary: no pte table can move whole, every "
		"entry moves into new tables (move_ptes), one more table than there are 2 MiB ranges";
	b->rows[NAT_STAY].note =
		"the host kernel's move_pages(2) to node 0, where its pages already are: a lookup of "
		"each page, nothing migrated";
	b->rows[NAT_TO1].note =
		"the host kernel, a KVM guest: guest memory the hypervisor has not backed yet costs "
		"10-20 us a page on first touch here (a bare machine's fault is near 1 us); "
		"the host counters are system-wide (/proc/vmstat)";
	b->rows[NAT_MR_PMD].note =
		"the host kernel: both addresses 2 MiB-aligned, not 1 GiB-aligned: each pte table "
		"moves whole (move_normal_pmd, x86-64's HAVE_MOVE_PMD); pgalloc_normal is the host's, "
		"system-wide";
	b->rows[LIM_COPY] = (struct bench_row){
		.side = "host", .phase = "memcpy of the region from DRAM", .ref = -1,
		.pages = b->npages, .best = -1, .dev = -1,
		.note = "the limit: plain memory of this process, faulted in long before and flushed "
			"from the caches (clflush): the least a migration of the region must copy",
	};
}

/* Page i's contents, in b->page. */
static const unsigned char *page_contents(struct migrate_bench *b, uint64_t i)
{
	bench_page_stamp(b->page, i);
	return b->page;
}

/* ---- mmlab ---- */

static int sim_write_region(struct migrate_bench *b, struct mml_task *t, uint64_t base)
{
	for (uint64_t i = 0; i < b->npages; i++) {
		int r = mml_write(t, base + i * BENCH_PAGE, page_contents(b, i), BENCH_PAGE);

		if (r < 0)
			return bench_fail(&b->err, "mmlab: writing page %llu: %s", (unsigned long long)i,
					  strerror(-r));
	}
	return 0;
}

/* Every byte of the region at base, read 2 MiB at a time; who says after what. */
static int sim_check(struct migrate_bench *b, struct mml_task *t, uint64_t base, const char *who)
{
	for (uint64_t off = 0; off < b->size; off += PMD_SPAN) {
		uint64_t len = b->size - off < PMD_SPAN ? b->size - off : PMD_SPAN;
		int r = mml_read(t, base + off, b->buf, len);

		if (r < 0)
			return bench_fail(&b->err, "mmlab: %s: reading %#llx: %s", who,
					  (unsigned long long)(base + off), strerror(-r));
		for (uint64_t p = 0; p < len; p += BENCH_PAGE)
			if (!bench_page_ok(b->buf + p, (off + p) / BENCH_PAGE))
				return bench_fail(&b->err, "mmlab: %s: page %llu has wrong bytes", who,
						  (unsigned long long)((off + p) / BENCH_PAGE));
	}
	return 0;
}

/* move_pages with no nodes asks where each page is: all must be on node. */
static int sim_where(struct migrate_bench *b, struct mml_task *t, int node, const char *who)
{
	long r = mml_move_pages(t, b->npages, b->sim_pages, NULL, b->status, 0);

	if (r < 0)
		return bench_fail(&b->err, "mmlab: %s: move_pages query: %s", who, strerror((int)-r));
	for (uint64_t i = 0; i < b->npages; i++)
		if (b->status[i] != node)
			return bench_fail(&b->err, "mmlab: %s: page %llu is on node %d, not %d", who,
					  (unsigned long long)i, b->status[i], node);
	return 0;
}

/*
 * One move_pages call of every page to node, timed; it must leave no page
 * behind, give every page's status as node and move pgmigrate_success by
 * exactly want (the pages that were elsewhere); then every byte is checked.
 */
static int sim_move(struct migrate_bench *b, struct mml_machine *m, struct mml_task *t, int row, int node,
		    long want)
{
	const char *who = b->rows[row].phase;
	long c0 = mml_vmstat(m, "pgmigrate_success"), c1, r;
	double t0 = bench_now(), dt;

	r = mml_move_pages(t, b->npages, b->sim_pages, b->to_node[node], b->status, MPOL_MF_MOVE);
	dt = bench_now() - t0;
	c1 = mml_vmstat(m, "pgmigrate_success");
	if (r < 0)
		return bench_fail(&b->err, "mmlab: %s: %s", who, strerror((int)-r));
	if (r > 0)
		return bench_fail(&b->err, "mmlab: %s: %ld pages not moved", who, r);
	for (uint64_t i = 0; i < b->npages; i++)
		if (b->status[i] != node)
			return bench_fail(&b->err, "mmlab: %s: page %llu's status is %d, not node %d", who,
					  (unsigned long long)i, b->status[i], node);
	if (c1 - c0 != want)
		return bench_fail(&b->err, "mmlab: %s: pgmigrate_success moved by %ld, not %ld", who,
				  c1 - c0, want);
	if (sim_check(b, t, SIM_BASE, who) || sim_where(b, t, node, who))
		return -1;
	bench_row_time(&b->rows[row], dt, c1 - c0);
	return 0;
}

/*
 * mremap of the whole region from `from` to `to`, timed, with the page-
 * table pages allocated meanwhile (pgalloc_normal: mmlab allocates its
 * page tables from its RAM, as Linux's pagetable_alloc does); the old
 * range must be gone and every byte at the new one as it was.
 */
static int sim_mremap(struct migrate_bench *b, struct mml_machine *m, struct mml_task *t, int row, uint64_t from,
		      uint64_t to)
{
	const char *who = b->rows[row].phase;
	long c0 = mml_vmstat(m, "pgalloc_normal"), c1, r;
	double t0 = bench_now(), dt;
	unsigned char c;

	r = mml_mremap(t, from, b->size, b->size, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	dt = bench_now() - t0;
	c1 = mml_vmstat(m, "pgalloc_normal");
	if (r != (long)to)
		return bench_fail(&b->err, "mmlab: %s: %s", who, r < 0 ? strerror((int)-r) : "moved elsewhere");
	if (mml_read(t, from, &c, 1) != -EFAULT)
		return bench_fail(&b->err, "mmlab: %s: the old address is still mapped", who);
	if (sim_check(b, t, to, who))
		return -1;
	bench_row_time(&b->rows[row], dt, c1 - c0);
	b->sim_tables[row == SIM_MR_PTE] = c1 - c0;
	return 0;
}

static int sim_rep(void *arg, struct mml_machine *m)
{
	struct migrate_bench *b = arg;
	/* the targets: 2 MiB apart from what is before them, so that no VMA merges */
	uint64_t pmd_to = SIM_BASE + b->span + PMD_SPAN, pte_to = pmd_to + b->span + PMD_SPAN + BENCH_PAGE;
	struct mml_task *t;
	long r;

	if ((r = mml_spawn(m, &t)) < 0)
		return bench_fail(&b->err, "mmlab: spawn: %s", strerror((int)-r));
	r = mml_mmap(t, SIM_BASE, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (r != (long)SIM_BASE) {
		bench_fail(&b->err, "mmlab: mmap: %s", r < 0 ? strerror((int)-r) : "moved");
		goto out;
	}
	if ((r = mml_madvise(t, SIM_BASE, b->size, MADV_NOHUGEPAGE)) < 0) {
		bench_fail(&b->err, "mmlab: madvise(MADV_NOHUGEPAGE): %s", strerror((int)-r));
		goto out;
	}
	/* the default policy allocates on the task's node, 0 */
	r = -1;
	if (sim_write_region(b, t, SIM_BASE) || sim_where(b, t, 0, "after the writes") ||
	    sim_move(b, m, t, SIM_STAY, 0, 0) ||
	    sim_move(b, m, t, SIM_TO1, 1, (long)b->npages) ||
	    sim_move(b, m, t, SIM_TO0, 0, (long)b->npages) ||
	    sim_mremap(b, m, t, SIM_MR_PMD, SIM_BASE, pmd_to) ||
	    sim_mremap(b, m, t, SIM_MR_PTE, pmd_to, pte_to))
		goto out;
	r = 0;
out:
	mml_exit(t);
	if (r == 0 && mml_report_count(m))
		r = bench_fail(&b->err, "mmlab: the machine reported a bug (above)");
	return r == 0 ? 0 : -1;
}

/*
 * Every mmlab run on one machine of two nodes.  Each node holds the
 * region with an eighth to spare for page tables and 16 MiB besides, in
 * whole 2 MiB blocks (mml_config.nr_nodes splits RAM so): node 0 has the
 * pages and the tables, node 1 the pages while they are there.
 */
static int sim_runs(struct migrate_bench *b, unsigned reps)
{
	uint64_t node = (b->size + b->size / 8 + (16ULL << 20) + PMD_SPAN - 1) & ~(PMD_SPAN - 1);
	struct mml_machine *m = mml_machine_new(&(struct mml_config){ .ram_bytes = 2 * node, .nr_nodes = 2 });
	int r;

	if (!m)
		return bench_fail(&b->err, "mmlab: cannot make a machine of 2 nodes of %llu MiB",
				  (unsigned long long)(node >> 20));
	r = bench_sim_repeat(m, reps, sim_rep, b, b->rows, NPHASES, &b->err);
	/* fewer new tables than 2 MiB ranges moved: the tables themselves moved */
	if (!r)
		b->rows[SIM_MR_PMD].note = b->sim_tables[0] < (long)(b->span / PMD_SPAN) ?
					   note_pmd_moved : note_pmd_copied;
	return r;
}

/* ---- the host kernel ---- */

static long counter_moved(long c0, long c1)
{
	return c0 >= 0 && c1 >= 0 ? c1 - c0 : -1;
}

static int nat_check(struct migrate_bench *b, const unsigned char *a, const char *who)
{
	for (uint64_t i = 0; i < b->npages; i++)
		if (!bench_page_ok(a + i * BENCH_PAGE, i))
			return bench_fail(&b->err, "native: %s: page %llu has wrong bytes", who,
					  (unsigned long long)i);
	return 0;
}

/*
 * move_pages(2) of every page to node, timed.  The host's own failures
 * (no NUMA in its kernel, a page it would not move) leave its rows out
 * with the reason, and are no failure of the bench; wrong bytes are.
 */
static int nat_move(struct migrate_bench *b, unsigned char *a, int row, int node)
{
	const char *who = row >= 0 ? b->rows[row].phase : "move_pages to node 0 first";
	long c0 = bench_host_vmstat("pgmigrate_success"), c1, r;
	double t0, dt;

	t0 = bench_now();
	r = syscall(SYS_move_pages, 0, (unsigned long)b->npages, b->nat_pages, b->to_node[node], b->status,
		    MPOL_MF_MOVE);
	dt = bench_now() - t0;
	c1 = bench_host_vmstat("pgmigrate_success");
	if (r < 0) {
		snprintf(b->nat_mp_skip, sizeof(b->nat_mp_skip), "move_pages(2) to node %d failed: %s",
			 node, strerror(errno));
		return 1;
	}
	for (uint64_t i = 0; i < b->npages && !r; i++)
		if (b->status[i] != node)
			r = 1;
	if (r) {
		snprintf(b->nat_mp_skip, sizeof(b->nat_mp_skip), "move_pages(2) to node %d left pages "
			 "elsewhere (returned %ld)", node, r);
		return nat_check(b, a, who) ? -1 : 1;
	}
	if (nat_check(b, a, who))
		return -1;
	if (row >= 0)
		bench_row_time(&b->rows[row], dt, counter_moved(c0, c1));
	return 0;
}

/*
 * mremap(2) of the whole region to `to` (MREMAP_FIXED: it replaces what
 * the reservation had there), timed with the host's pgalloc_normal.
 */
static int nat_mremap(struct migrate_bench *b, unsigned char **cur, unsigned char *to, int row)
{
	const char *who = b->rows[row].phase;
	long c0 = bench_host_vmstat("pgalloc_normal"), c1;
	double t0 = bench_now(), dt;
	void *r = mremap(*cur, b->size, b->size, MREMAP_MAYMOVE | MREMAP_FIXED, to);

	dt = bench_now() - t0;
	c1 = bench_host_vmstat("pgalloc_normal");
	if (r != to)
		return bench_fail(&b->err, "native: %s: %s", who, r == MAP_FAILED ? strerror(errno) : "moved elsewhere");
	*cur = to;
	if (nat_check(b, to, who))
		return -1;
	bench_row_time(&b->rows[row], dt, counter_moved(c0, c1));
	return 0;
}

static uintptr_t align_up(uintptr_t a, uint64_t to)
{
	return (a + to - 1) & ~(uintptr_t)(to - 1);
}

static int nat_rep(struct migrate_bench *b)
{
	/* the source: 2 MiB-aligned, not 1 GiB-aligned (no move_normal_pud), the rest given back */
	uint64_t src_len = b->size + 2 * PMD_SPAN, res_len = 2 * b->span + 4 * PMD_SPAN + BENCH_PAGE;
	unsigned char *src_map, *res = NULL, *a = NULL, *pmd_to, *pte_to;
	uintptr_t s;
	int r = -1;

	src_map = mmap(NULL, src_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src_map == MAP_FAILED)
		return bench_fail(&b->err, "native: mmap: %s", strerror(errno));
	s = align_up((uintptr_t)src_map, PMD_SPAN);
	if (s % PUD_SPAN == 0)
		s += PMD_SPAN;
	a = (unsigned char *)s;
	if (a > src_map)
		munmap(src_map, (size_t)(a - src_map));
	if (src_map + src_len > a + b->size)
		munmap(a + b->size, (size_t)(src_map + src_len - (a + b->size)));
	/* the targets, reserved PROT_NONE (never touched: no page table there) */
	res = mmap(NULL, res_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED) {
		res = NULL;
		bench_fail(&b->err, "native: mmap of the targets: %s", strerror(errno));
		goto out;
	}
	pmd_to = (unsigned char *)align_up((uintptr_t)res, PMD_SPAN);
	pte_to = pmd_to + b->span + PMD_SPAN + BENCH_PAGE;

	/* MADV_NOHUGEPAGE before the first touch: 4 KiB pages only, as on mmlab */
	if (madvise(a, b->size, MADV_NOHUGEPAGE) < 0 && errno != EINVAL) {
		bench_fail(&b->err, "native: madvise(MADV_NOHUGEPAGE): %s", strerror(errno));
		goto out;
	}
	for (uint64_t i = 0; i < b->npages; i++) {
		memcpy(a + i * BENCH_PAGE, page_contents(b, i), BENCH_PAGE);
		b->nat_pages[i] = a + i * BENCH_PAGE;
	}
	if (nat_check(b, a, "after the writes"))
		goto out;

	if (!b->nat_mp_skip[0]) {
		int e = 0;

		/* with two nodes the first touch may have put pages anywhere: all to node 0 first */
		if (b->host_numa)
			e = nat_move(b, a, -1, 0);
		if (!e)
			e = nat_move(b, a, NAT_STAY, 0);
		if (!e && b->host_numa)
			e = nat_move(b, a, NAT_TO1, 1);
		if (!e && b->host_numa)
			e = nat_move(b, a, NAT_TO0, 0);
		if (e < 0)
			goto out;
	}

	if (nat_mremap(b, &a, pmd_to, NAT_MR_PMD) || nat_mremap(b, &a, pte_to, NAT_MR_PTE))
		goto out;
	r = 0;
out:
	/* the region is in the reservation once it moved; else where it was made */
	if (a && (a < res || a >= res + res_len))
		munmap(a, b->size);
	if (res)
		munmap(res, res_len);
	return r;
}

/* memcpy of the region, between buffers written long before (no fault timed), from DRAM. */
static void lim_rep(struct migrate_bench *b)
{
	double t0;

	bench_cache_flush(b->lim_a, b->size);
	bench_cache_flush(b->lim_b, b->size);
	t0 = bench_now();
	memcpy(b->lim_b, b->lim_a, b->size);
	bench_row_time(&b->rows[LIM_COPY], bench_now() - t0, -1);
	/* the compiler must not drop a copy nobody reads */
	__asm__ volatile("" : : "r"(b->lim_b) : "memory");
}

/* ---- the run ---- */

/* Per 4 KiB page for the move_pages rows, per 2 MiB for the mremap rows, each side's fastest. */
static void per_unit_print(const struct migrate_bench *b)
{
	char col[3][32];

	printf("\n%-36s %-14s %-14s %s\n", "per 4 KiB page / per 2 MiB", "mmlab", "native", "limit");
	for (int p = 0; p < NPHASES; p++) {
		bool mr = p >= SIM_MR_PMD;
		double units = mr ? (double)b->size / PMD_SPAN : (double)b->npages;
		const struct bench_row *r[3] = {
			&b->rows[SIM_STAY + p], &b->rows[NAT_STAY + p],
			p == SIM_TO1 || p == SIM_TO0 ? &b->rows[LIM_COPY] : NULL,
		};

		for (int s = 0; s < 3; s++) {
			if (!r[s] || r[s]->best < 0)
				snprintf(col[s], sizeof(col[s]), "-");
			else if (mr)
				snprintf(col[s], sizeof(col[s]), "%.2f us", r[s]->best / units * 1e6);
			else
				snprintf(col[s], sizeof(col[s]), "%.0f ns", r[s]->best / units * 1e9);
		}
		printf("  %-34s %-14s %-14s %s\n", b->rows[SIM_STAY + p].phase, col[0], col[1], col[2]);
	}
}

int bench_migrate(int argc, char **argv)
{
	static struct migrate_bench mb;
	struct migrate_bench *b = &mb;
	struct bench_opts o;
	struct utsname u;
	int r, cpu;

	r = bench_parse(argc, argv, CMD, false, migrate_usage, &o);
	if (r >= 0)
		return r;
	if (o.size > MIGRATE_MAX_SIZE) {
		fprintf(stderr, "mmlab " CMD ": --size: at most 4G (the simulated machine needs 2.5x it)\n");
		return 2;
	}
	memset(b, 0, sizeof(*b));
	b->size = o.size;
	b->npages = o.size / BENCH_PAGE;
	b->span = align_up(o.size, PMD_SPAN);
	b->native = !o.no_native;
	b->host_numa = access("/sys/devices/system/node/node1", F_OK) == 0;
	rows_init(b);
	bench_start(&o, b->rows, NROWS);
	b->buf = malloc(PMD_SPAN);
	b->page = malloc(BENCH_PAGE);
	b->sim_pages = malloc(b->npages * sizeof(*b->sim_pages));
	b->nat_pages = malloc(b->npages * sizeof(*b->nat_pages));
	b->to_node[0] = calloc(b->npages, sizeof(int));
	b->to_node[1] = malloc(b->npages * sizeof(int));
	b->status = malloc(b->npages * sizeof(int));
	b->lim_a = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	b->lim_b = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!b->buf || !b->page || !b->sim_pages || !b->nat_pages || !b->to_node[0] || !b->to_node[1] ||
	    !b->status || b->lim_a == MAP_FAILED || b->lim_b == MAP_FAILED) {
		fprintf(stderr, "mmlab " CMD ": no memory for the buffers\n");
		return 1;
	}
	bench_page_init(b->page);
	for (uint64_t i = 0; i < b->npages; i++) {
		b->sim_pages[i] = SIM_BASE + i * BENCH_PAGE;
		b->to_node[1][i] = 1;
	}
	memset(b->lim_a, 0x5a, b->size);
	memset(b->lim_b, 0xa5, b->size);
	cpu = bench_pin_cpu();
	if (uname(&u) < 0)
		strcpy(u.release, "?");
	printf("mmlab " CMD ": a region of %llu KiB (%llu pages of 4 KiB), MADV_NOHUGEPAGE, fastest of "
	       "%u run%s\n", (unsigned long long)(b->size >> 10), (unsigned long long)b->npages, o.reps,
	       o.reps == 1 ? "" : "s");
	printf("  mmlab: a machine of 2 NUMA nodes; move_pages of every page in one call each way\n");
	if (!b->native) {
		printf("  native: skipped (--no-native)\n");
	} else {
		printf("  native: Linux %s, this process: move_pages(2) in one call, mremap(2)\n", u.release);
		if (!b->host_numa)
			printf("  native move_pages between nodes left out: the host has one NUMA node (no\n"
			       "          /sys/devices/system/node/node1); its row moves the pages to node 0,\n"
			       "          where they already are: the kernel only looks them up\n");
	}
	if (cpu >= 0)
		printf("  all on cpu %d\n", cpu);
	fflush(stdout);
	for (unsigned rep = 0; rep <= o.reps; rep++) {
		if (b->native && nat_rep(b))
			break;
		lim_rep(b);
		if (rep == 0)
			bench_rows_forget(b->rows + NPHASES, NROWS - NPHASES);
	}
	if (b->native && b->nat_mp_skip[0]) {
		for (int i = NAT_STAY; i <= NAT_TO0; i++)
			b->rows[i].best = -1;
		printf("  native move_pages rows left out: %s\n", b->nat_mp_skip);
	}
	/* the limit's buffers are done with: the machine needs the room */
	munmap(b->lim_a, b->size);
	munmap(b->lim_b, b->size);
	printf("\n");
	if (!b->err.msg[0])
		sim_runs(b, o.reps);
	free(b->buf);
	free(b->page);
	free(b->sim_pages);
	free(b->nat_pages);
	free(b->to_node[0]);
	free(b->to_node[1]);
	free(b->status);
	if (b->err.msg[0]) {
		fprintf(stderr, "mmlab " CMD ": %s\n", b->err.msg);
		return 1;
	}
	bench_table_print(stdout, b->rows, NROWS);
	per_unit_print(b);
	printf("\nchecks: every byte of every page read back after every phase; move_pages left no page\n"
	       "behind and gave every page's node as asked, a query after it too; mmlab's\n"
	       "pgmigrate_success moved by the pages migrated and not at all for the lookup; the old\n"
	       "range unmapped after mremap; its invariants held; nothing leaked\n");
	return 0;
}
