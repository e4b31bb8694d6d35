/*
 * bench_ksm.c - `mmlab bench ksm`: KSM merging a region of --size bytes
 * whose second half repeats its first (page i and page i + N/2 alike,
 * every pair different), mmlab beside the host's ksmd doing the same, and
 * beside what merging must at least do to the bytes, in one run.
 *
 *   merge: 2 full scans   from MADV_MERGEABLE until full_scans grew by two
 *                         (the first lap checksums every page, the second
 *                         finds the pairs in the unstable tree and merges
 *                         them): N/2 KSM pages, N/2 more mappings
 *   rescan: merged        one more full scan over what is merged
 * mmlab scans with mml_ksm_scan (pages_to_scan N: one batch a lap); the
 * host's ksmd runs with pages_to_scan N, sleep_millisecs 0 and run 1
 * until its full_scans grew by two, every knob written back after (also
 * on failure).  The limits: every page read once (a sum of its 64-bit
 * words), then also a memcmp of every pair: the bytes any merge must
 * read, at least.  mmlab's trees are lists (docs/deviations.md 59), so its merge
 * costs grow with the square of the pages; the rows show by how much.
 *
 * Checks: mmlab's pages_shared and pages_sharing are N/2 each, the host
 * process's ksm_merging_pages is N, every page keeps its bytes on both
 * sides.  A host without /sys/kernel/mm/ksm leaves its rows out, with the
 * reason.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "mmlab.h"

#define CMD	"bench ksm"
#define KSM	"/sys/kernel/mm/ksm/"
#define HOST_WAIT_S	600

enum { SIM_MERGE, SIM_RESCAN, NAT_MERGE, NAT_RESCAN, LIM_SUM, LIM_CMP, NROWS };

struct ksm_bench {
	uint64_t size, npages;
	struct bench_err err;
	struct bench_row rows[NROWS];
	char nat_skip[160];
	unsigned char *lim;
	volatile unsigned sink;
};

static void ksm_usage(FILE *f)
{
	fprintf(f, "usage: mmlab bench ksm [--size BYTES] [--reps N] [--no-native]\n\n"
		   "KSM merging a region whose second half repeats its first: mmlab's\n"
		   "full scans beside the host's ksmd doing the same (its knobs written\n"
		   "back after), and beside reading every page and comparing the pairs.\n\n"
		   "  -s, --size BYTES  the region: 16M, 0x100000 (default 64M; a multiple\n"
		   "                    of 8192, at most 16G)\n"
		   "  -r, --reps N      run the whole sequence N times after an untimed\n"
		   "                    warm-up run; keep each row's fastest (default 3)\n"
		   "      --no-native   do not run the host kernel's side\n"
		   "  -h, --help        this text\n\n"
		   "Exit status: 0 done, 1 a check failed, 2 bad usage.\n");
}

/* Page i's contents: pairs (i, i + N/2) alike, each pair its own. */
static void page_fill(unsigned char *buf, uint64_t i, uint64_t half)
{
	bench_page_stamp(buf, i % half);
}

static void rows_init(struct ksm_bench *b)
{
	static const char *const phase[] = { "merge: 2 full scans", "rescan: merged" };

	for (int i = 0; i < 4; i++)
		b->rows[i] = (struct bench_row){
			.side = i < 2 ? "mmlab" : "native", .phase = phase[i % 2],
			.ref = i < 2 ? i + 2 : (i == NAT_MERGE ? LIM_CMP : LIM_SUM),
			.pages = b->npages, .best = -1, .dev = -1,
		};
	b->rows[LIM_SUM] = (struct bench_row){ .side = "limit", .phase = "read every page once", .ref = -1,
					       .pages = b->npages, .best = -1, .dev = -1 };
	b->rows[LIM_CMP] = (struct bench_row){ .side = "limit", .phase = "read once, memcmp pairs",
					       .ref = -1, .pages = b->npages, .best = -1, .dev = -1 };
}

static uint64_t sum_words(const unsigned char *p)
{
	const uint64_t *w = (const uint64_t *)p;
	uint64_t s = 0;

	for (unsigned i = 0; i < BENCH_PAGE / 8; i++)
		s += w[i];
	return s;
}

static void limit_rep(struct ksm_bench *b)
{
	uint64_t half = b->npages / 2, acc = 0;
	double t0, t1;

	bench_cache_flush(b->lim, b->size);
	t0 = bench_now();
	for (uint64_t i = 0; i < b->npages; i++)
		acc += sum_words(b->lim + i * BENCH_PAGE);
	t1 = bench_now();
	bench_row_time(&b->rows[LIM_SUM], t1 - t0, -1);
	for (uint64_t i = 0; i < half; i++)
		acc += !memcmp(b->lim + i * BENCH_PAGE, b->lim + (i + half) * BENCH_PAGE, BENCH_PAGE);
	bench_row_time(&b->rows[LIM_CMP], bench_now() - t0, -1);
	b->sink = (unsigned)acc;
}

/* ---- mmlab ---- */

static long sim_file(struct mml_machine *m, const char *name)
{
	char path[96], buf[32];
	long n;

	snprintf(path, sizeof(path), KSM "%s", name);
	n = mml_sys_read(m, path, buf, sizeof(buf) - 1);
	if (n < 0)
		return n;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

static int sim_full_scans(struct ksm_bench *b, struct mml_machine *m, long laps)
{
	long start = sim_file(m, "full_scans");

	while (sim_file(m, "full_scans") < start + laps)
		if (mml_ksm_scan(m, b->npages) < 0)
			return bench_fail(&b->err, "mmlab: mml_ksm_scan failed");
	return 0;
}

static int sim_rep(void *arg, struct mml_machine *m)
{
	struct ksm_bench *b = arg;
	uint64_t half = b->npages / 2;
	unsigned char *buf = malloc(BENCH_PAGE);
	struct mml_task *t;
	long base;
	double t0;
	int r;

	if (!buf)
		return bench_fail(&b->err, "mmlab: out of memory");
	if ((r = mml_spawn(m, &t)) < 0) {
		free(buf);
		return bench_fail(&b->err, "mmlab: spawn: %s", strerror(-r));
	}
	r = -1;
	base = mml_mmap(t, 0, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base < 0 || mml_madvise(t, (uint64_t)base, b->size, MADV_NOHUGEPAGE)) {
		bench_fail(&b->err, "mmlab: mmap: %s", strerror((int)-base));
		goto out;
	}
	bench_page_init(buf);
	for (uint64_t i = 0; i < b->npages; i++) {
		page_fill(buf, i, half);
		if (mml_write(t, (uint64_t)base + i * BENCH_PAGE, buf, BENCH_PAGE)) {
			bench_fail(&b->err, "mmlab: write failed");
			goto out;
		}
	}
	t0 = bench_now();
	if (mml_madvise(t, (uint64_t)base, b->size, MADV_MERGEABLE) || sim_full_scans(b, m, 2))
		goto out;
	bench_row_time(&b->rows[SIM_MERGE], bench_now() - t0, -1);
	if (sim_file(m, "pages_shared") != (long)half || sim_file(m, "pages_sharing") != (long)half) {
		bench_fail(&b->err, "mmlab: pages_shared %ld, pages_sharing %ld, not %llu each",
			   sim_file(m, "pages_shared"), sim_file(m, "pages_sharing"), (unsigned long long)half);
		goto out;
	}
	t0 = bench_now();
	if (sim_full_scans(b, m, 1))
		goto out;
	bench_row_time(&b->rows[SIM_RESCAN], bench_now() - t0, -1);
	for (uint64_t i = 0; i < b->npages; i++) {
		if (mml_read(t, (uint64_t)base + i * BENCH_PAGE, buf, BENCH_PAGE) || !bench_page_ok(buf, i % half)) {
			bench_fail(&b->err, "mmlab: page %llu lost its bytes", (unsigned long long)i);
			goto out;
		}
	}
	r = 0;
out:
	free(buf);
	mml_exit(t);
	if (!r && mml_report_count(m))
		r = bench_fail(&b->err, "mmlab: the machine reported a bug (above)");
	return r;
}

/* ---- the host's ksmd ---- */

static const char *const host_knob[] = { KSM "pages_to_scan", KSM "sleep_millisecs", KSM "run" };
#define NKNOBS	3
static char host_saved[NKNOBS][32];
static int host_nsaved;

static long host_file(const char *path)
{
	char buf[64];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

static int host_write(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, v, strlen(v)) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Every knob back, run first: ksmd stops before the others change. */
static void host_restore(void)
{
	for (int i = host_nsaved; i-- > 0;)
		host_write(host_knob[i], host_saved[i]);
	host_nsaved = 0;
}

static int nat_rep(struct ksm_bench *b)
{
	uint64_t half = b->npages / 2;
	char want[NKNOBS][32];
	unsigned char *a;
	long start, merging;
	double t0, deadline;
	int r = -1;

	a = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED)
		return bench_fail(&b->err, "native: mmap: %s", strerror(errno));
	madvise(a, b->size, MADV_NOHUGEPAGE);
	bench_page_init(a);
	for (uint64_t i = 1; i < b->npages; i++)
		memcpy(a + i * BENCH_PAGE, a, BENCH_PAGE);
	for (uint64_t i = 0; i < b->npages; i++)
		page_fill(a + i * BENCH_PAGE, i, half);
	snprintf(want[0], sizeof(want[0]), "%llu", (unsigned long long)b->npages);
	snprintf(want[1], sizeof(want[1]), "0");
	snprintf(want[2], sizeof(want[2]), "1");
	for (host_nsaved = 0; host_nsaved < NKNOBS; host_nsaved++) {
		long v = host_file(host_knob[host_nsaved]);

		if (v < 0) {
			snprintf(b->nat_skip, sizeof(b->nat_skip), "%s: %s", host_knob[host_nsaved], strerror((int)-v));
			host_restore();
			munmap(a, b->size);
			return 0;
		}
		snprintf(host_saved[host_nsaved], sizeof(host_saved[0]), "%ld", v);
	}
	start = host_file(KSM "full_scans");
	t0 = bench_now();
	deadline = t0 + HOST_WAIT_S;
	if (madvise(a, b->size, MADV_MERGEABLE)) {
		bench_fail(&b->err, "native: MADV_MERGEABLE: %s", strerror(errno));
		goto out;
	}
	for (int i = 0; i < NKNOBS; i++)
		if (host_write(host_knob[i], want[i])) {
			bench_fail(&b->err, "native: writing %s failed", host_knob[i]);
			goto out;
		}
	while (host_file(KSM "full_scans") < start + 2 && bench_now() < deadline)
		usleep(200);
	bench_row_time(&b->rows[NAT_MERGE], bench_now() - t0, -1);
	start = host_file(KSM "full_scans");
	t0 = bench_now();
	while (host_file(KSM "full_scans") < start + 1 && bench_now() < deadline)
		usleep(200);
	bench_row_time(&b->rows[NAT_RESCAN], bench_now() - t0, -1);
	host_restore();
	merging = host_file("/proc/self/ksm_merging_pages");
	if (merging != (long)b->npages) {
		bench_fail(&b->err, "native: ksm_merging_pages %ld, not %llu (ksmd took longer than %d s?)", merging,
			   (unsigned long long)b->npages, HOST_WAIT_S);
		goto out;
	}
	for (uint64_t i = 0; i < b->npages; i++)
		if (!bench_page_ok(a + i * BENCH_PAGE, i % half)) {
			bench_fail(&b->err, "native: page %llu lost its bytes", (unsigned long long)i);
			goto out;
		}
	r = 0;
out:
	host_restore();
	madvise(a, b->size, MADV_UNMERGEABLE);
	munmap(a, b->size);
	return r;
}

int bench_ksm(int argc, char **argv)
{
	static struct ksm_bench kb;
	struct ksm_bench *b = &kb;
	struct mml_machine *m;
	struct bench_opts o;
	struct utsname u;
	int r, cpu;

	r = bench_parse(argc, argv, CMD, false, ksm_usage, &o);
	if (r >= 0)
		return r;
	if (o.size % (2 * BENCH_PAGE)) {
		fprintf(stderr, "mmlab " CMD ": --size: a multiple of 8192 (pairs of pages)\n");
		return 2;
	}
	memset(b, 0, sizeof(*b));
	b->size = o.size;
	b->npages = o.size / BENCH_PAGE;
	rows_init(b);
	bench_start(&o, b->rows, NROWS);
	b->lim = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->lim == MAP_FAILED) {
		fprintf(stderr, "mmlab " CMD ": out of memory\n");
		return 1;
	}
	bench_page_init(b->lim);
	for (uint64_t i = 1; i < b->npages; i++)
		memcpy(b->lim + i * BENCH_PAGE, b->lim, BENCH_PAGE);
	for (uint64_t i = 0; i < b->npages; i++)
		page_fill(b->lim + i * BENCH_PAGE, i, b->npages / 2);
	if (o.no_native)
		snprintf(b->nat_skip, sizeof(b->nat_skip), "skipped (--no-native)");
	else if (access(KSM, F_OK))
		snprintf(b->nat_skip, sizeof(b->nat_skip), "the host kernel has no KSM (no " KSM ")");
	cpu = bench_pin_cpu();
	if (uname(&u) < 0)
		strcpy(u.release, "?");
	printf("mmlab bench ksm: a region of %llu KiB (%llu pages of 4 KiB, %llu pairs alike), fastest of %u run%s\n",
	       (unsigned long long)(b->size >> 10), (unsigned long long)b->npages,
	       (unsigned long long)b->npages / 2, o.reps, o.reps == 1 ? "" : "s");
	printf("  native: %s\n", b->nat_skip[0] ? b->nat_skip : u.release);
	if (cpu >= 0)
		printf("  all on cpu %d (the host's ksmd runs where the kernel puts it)\n", cpu);
	printf("\n");
	fflush(stdout);
	for (unsigned rep = 0; rep <= o.reps && !b->err.msg[0]; rep++) {
		if (!b->nat_skip[0])
			nat_rep(b);
		limit_rep(b);
		if (rep == 0)
			bench_rows_forget(b->rows + NAT_MERGE, NROWS - NAT_MERGE);
	}
	m = b->err.msg[0] ? NULL : mml_machine_new(&(struct mml_config){
		.ram_bytes = b->size + b->size / 4 + (16ULL << 20) });
	if (!b->err.msg[0] && !m)
		bench_fail(&b->err, "mmlab: cannot make a machine of %llu MiB", (unsigned long long)(b->size >> 20) + 16);
	if (m)
		bench_sim_repeat(m, o.reps, sim_rep, b, b->rows, NAT_MERGE, &b->err);
	munmap(b->lim, b->size);
	if (b->err.msg[0]) {
		fprintf(stderr, "mmlab " CMD ": %s\n", b->err.msg);
		return 1;
	}
	bench_table_print(stdout, b->rows, NROWS);
	if (b->nat_skip[0] && !o.no_native)
		printf("native rows left out: %s\n", b->nat_skip);
	printf("\nchecks: pages_shared and pages_sharing are half the pages each (mmlab), ksm_merging_pages is every "
	       "page (native), every page kept its bytes (both); mmlab's invariants held; nothing leaked; the host's "
	       "ksm knobs were written back\n");
	return 0;
}
