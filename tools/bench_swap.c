/*
 * bench_swap.c - `mmlab bench swap`: swap-out and swap-in throughput of
 * mmlab, beside plain pwrite/pread of the same file and beside the host
 * kernel's own swap, in one run.
 *
 * Each side runs the same sequence on a working set of --size bytes:
 *   fill      write every page (distinct contents): anonymous faults
 *   swap-out  MADV_PAGEOUT of the whole range
 *   read      read every page back, every byte checked
 *   (MADV_PAGEOUT again, untimed: the pages are clean copies of their
 *   slots, so they are dropped without a write)
 *   swap-in   read every page back: from the device
 *   (MADV_PAGEOUT again, untimed)
 *   swap-in   the same with vm.page-cluster 0 (mmlab only): no readahead
 *   (MADV_PAGEOUT again, untimed)
 *   WILLNEED  MADV_WILLNEED of the range, then read every page back
 * The first read after a swap-out is not a swap-in on Linux: a page
 * MADV_PAGEOUT sends to a swap file stays in the swap cache until its
 * write completes, and nothing frees it then but memory pressure; the
 * read maps it back with no I/O.  The second pageout drops those clean
 * copies, so the "swap-in" row reads from the device on both sides.
 *
 * The host baseline writes and reads the same number of 4 KiB pages at
 * the same offsets of the same file mmlab swaps to, the way mmlab does:
 * one pwrite(2) or pread(2) a page, buffered, no fsync, into a sparse
 * file.  With fdatasync and then cold (posix_fadvise DONTNEED) it is the
 * baseline of the kernel's swap, which writes to the disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench.h"
#include "cli.h"
#include "mmlab.h"
#include "native/conform.h"
#include "scenario/scenario.h"

#define CMD		"bench swap"
#define NATIVE_PRIO	32767	/* above any swap the host has: ours takes the pages */
#define DRAIN_LIMIT_S	10.0

enum {
	SIM_FILL, SIM_OUT, SIM_READ, SIM_IN, SIM_IN_NORA, SIM_WILL,
	HOST_W, HOST_R, HOST_WS, HOST_RC,
	NAT_FILL, NAT_OUT, NAT_READ, NAT_IN, NAT_WILL,
	NROWS
};

struct swap_bench {
	uint64_t size, npages, swap_bytes, ram;
	unsigned reps;
	bool no_native;
	char path[PATH_MAX];		/* the file mmlab swaps to; unlinked once open */
	int fd;				/* the host baseline's descriptor of it */
	struct mml_machine *m;
	int swap_id;
	struct cf_backend host;		/* src/native's runner: the host's swap file */
	bool host_init, native_on;
	int native_swap;
	char native_why[200];
	unsigned char *buf, *rbuf;
	struct bench_err err;
	struct bench_row rows[NROWS];
};

static void swap_usage(FILE *f)
{
	fprintf(f, "usage: mmlab bench swap [--size BYTES] [--reps N] [--file PATH] [--no-native]\n\n"
		   "Swap-out and swap-in throughput of mmlab, beside plain sequential\n"
		   "pwrite/pread of the same file and beside this host kernel's own\n"
		   "swap, in one run.  Every page written is read back and checked.\n\n"
		   "  -s, --size BYTES  the working set: 64M, 0x100000 (default 64M; a\n"
		   "                    multiple of 4096, at most 16G)\n"
		   "  -r, --reps N      run the whole sequence N times after an untimed\n"
		   "                    warm-up run; keep each row's fastest (default 3)\n"
		   "  -f, --file PATH   the file mmlab swaps to and the baseline writes,\n"
		   "                    created here (it must not exist) and removed; the\n"
		   "                    host's swap file goes in the same directory\n"
		   "                    (default: a new file in $TMPDIR or /tmp)\n"
		   "      --no-native   do not run the host kernel's swap\n"
		   "  -h, --help        this text\n\n"
		   "The host kernel's swap needs root and a file system that takes swap\n"
		   "files; otherwise its rows are skipped, with the reason.  The swap file\n"
		   "it enables is swapped off and removed at the end, on error and on\n"
		   "SIGINT/SIGTERM/SIGHUP.  docs/bench.md explains the rows.\n\n"
		   "Exit status: 0 done, 1 a check failed (a byte or a counter), 2 bad usage.\n");
}

static void rows_init(struct swap_bench *b)
{
	static const struct { const char *side, *phase, *dev; int ref; const char *note; } def[NROWS] = {
		[SIM_FILL] = { "mmlab", "fill: write faults", NULL, NAT_FILL, NULL },
		[SIM_OUT]  = { "mmlab", "swap-out: MADV_PAGEOUT", "pswpout", HOST_W,
			"mmlab gives one task's pages a run of slots (swap clusters) and writes "
			"each run of up to 32 pages with one buffered pwritev(2) to its swap "
			"file, freeing them at once (the write is done): compare with buffered "
			"pwrite of a page at a time" },
		[SIM_READ] = { "mmlab", "read after swap-out", "pswpin", HOST_R, NULL },
		[SIM_IN]   = { "mmlab", "swap-in: read faults", "pswpin", HOST_R,
			"mmlab reads with swap readahead (vm.page-cluster 3: up to 8 pages "
			"around the fault, one preadv(2) of its swap file a run of slots), "
			"which the host's page cache holds: compare with pread of a cached "
			"file, a page at a time" },
		[SIM_IN_NORA] = { "mmlab", "swap-in: faults, page-cluster 0", "pswpin", HOST_R,
			"without readahead: one pread of a page a fault" },
		[SIM_WILL] = { "mmlab", "swap-in: MADV_WILLNEED + read", "pswpin", HOST_R, NULL },
		[HOST_W]   = { "host", "pwrite 4K, sparse file", NULL, -1, NULL },
		[HOST_R]   = { "host", "pread 4K, cached", NULL, -1, NULL },
		[HOST_WS]  = { "host", "pwrite 4K + fdatasync", NULL, -1, NULL },
		[HOST_RC]  = { "host", "pread 4K, cold (fadvise DONTNEED)", NULL, -1, NULL },
		[NAT_FILL] = { "native", "fill: write faults", NULL, -1, NULL },
		[NAT_OUT]  = { "native", "swap-out: MADV_PAGEOUT + writeback", "pswpout", HOST_WS,
			"Linux writes to the swap file's blocks on the disk, past the page "
			"cache, asynchronously: timed until vmstat nr_writeback is back where "
			"it was; compare with pwrite + fdatasync" },
		[NAT_READ] = { "native", "read after swap-out", "pswpin", HOST_R,
			"a page MADV_PAGEOUT wrote stays in Linux's swap cache: this read maps "
			"it back without I/O (pswpin shows how few came from the disk)" },
		[NAT_IN]   = { "native", "swap-in: read faults", "pswpin", HOST_RC,
			"from the disk, with Linux's swap readahead (vm.page-cluster): compare "
			"with a cold pread" },
		[NAT_WILL] = { "native", "swap-in: MADV_WILLNEED + read", "pswpin", HOST_RC, NULL },
	};
	int i;

	for (i = 0; i < NROWS; i++) {
		b->rows[i] = (struct bench_row){
			.side = def[i].side, .phase = def[i].phase, .dev_what = def[i].dev,
			.ref = def[i].ref, .pages = b->npages, .best = -1, .dev = -1,
			.note = def[i].note,
		};
	}
}

/* ---- mmlab ---- */

static long sim_count(struct swap_bench *b, const char *name)
{
	return mml_vmstat(b->m, name);
}

/* Read every page back and check every byte; -1 on the first bad one. */
static int sim_read_all(struct swap_bench *b, struct mml_task *t, uint64_t addr)
{
	uint64_t i;
	int r;

	for (i = 0; i < b->npages; i++) {
		r = mml_read(t, addr + i * BENCH_PAGE, b->rbuf, BENCH_PAGE);
		if (r < 0)
			return bench_fail(&b->err, "mmlab: reading page %llu: %s", (unsigned long long)i,
					  strerror(-r));
		if (!bench_page_ok(b->rbuf, i))
			return bench_fail(&b->err, "mmlab: page %llu read back wrong", (unsigned long long)i);
	}
	return 0;
}

static int sim_madvise(struct swap_bench *b, struct mml_task *t, uint64_t addr, int advice,
		       const char *name)
{
	int r = mml_madvise(t, addr, b->size, advice);

	return r < 0 ? bench_fail(&b->err, "mmlab: %s: %s", name, strerror(-r)) : 0;
}

/* A swap row's counter must have moved by one page per page. */
static int sim_expect(struct swap_bench *b, int row, long got)
{
	if (got == (long)b->npages)
		return 0;
	return bench_fail(&b->err, "mmlab: %s: %s moved by %ld, expected %llu",
			  b->rows[row].phase, b->rows[row].dev_what, got,
			  (unsigned long long)b->npages);
}

/* Back to the sparse file mml_swapon made, as the baseline finds it too. */
static int file_reset(struct swap_bench *b)
{
	if (ftruncate(b->fd, 0) < 0 || ftruncate(b->fd, (off_t)b->swap_bytes) < 0)
		return bench_fail(&b->err, "truncating the swap file: %s", strerror(errno));
	return 0;
}

static int sim_fill(struct swap_bench *b, struct mml_task *t, uint64_t addr)
{
	uint64_t i;
	int r;

	for (i = 0; i < b->npages; i++) {
		bench_page_stamp(b->buf, i);
		r = mml_write(t, addr + i * BENCH_PAGE, b->buf, BENCH_PAGE);
		if (r < 0)
			return bench_fail(&b->err, "mmlab: writing page %llu: %s",
					  (unsigned long long)i, strerror(-r));
	}
	return 0;
}

static int sim_page_cluster(struct swap_bench *b, const char *v)
{
	int r = mml_sys_write(b->m, "/proc/sys/vm/page-cluster", v);

	return r < 0 ? bench_fail(&b->err, "mmlab: page-cluster %s: %s", v, strerror(-r)) : 0;
}

/*
 * One timed phase: MADV_PAGEOUT (then the change of pswpout), or reading
 * every page back (of pswpin), after MADV_WILLNEED or without readahead
 * if asked.  The
 * counter's change, or -1.
 */
static long sim_phase(struct swap_bench *b, struct mml_task *t, uint64_t addr, int row)
{
	const char *counter = row == SIM_OUT ? "pswpout" : "pswpin";
	long c0 = sim_count(b, counter), moved;
	double t0 = bench_now();

	if (row == SIM_OUT) {
		if (sim_madvise(b, t, addr, MADV_PAGEOUT, "MADV_PAGEOUT"))
			return -1;
	} else if ((row == SIM_WILL && sim_madvise(b, t, addr, MADV_WILLNEED, "MADV_WILLNEED")) ||
		   (row == SIM_IN_NORA && sim_page_cluster(b, "0")) || sim_read_all(b, t, addr) ||
		   (row == SIM_IN_NORA && sim_page_cluster(b, "3"))) {
		return -1;
	}
	moved = sim_count(b, counter) - c0;
	bench_row_time(&b->rows[row], bench_now() - t0, moved);
	return moved;
}

/*
 * fill, swap-out, read; pageout; swap-in; pageout; swap-in without
 * readahead; pageout; WILLNEED + read.  The
 * pageouts in between drop clean copies without a write, as Linux's do.
 */
static int sim_rep(struct swap_bench *b)
{
	struct mml_task *t;
	double t0;
	long addr, n;
	int r;

	if (file_reset(b))
		return -1;
	r = mml_spawn(b->m, &t);
	if (r < 0)
		return bench_fail(&b->err, "mmlab: spawn: %s", strerror(-r));
	r = -1;
	addr = mml_mmap(t, 0, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (addr < 0) {
		bench_fail(&b->err, "mmlab: mmap: %s", strerror((int)-addr));
		goto out;
	}
	t0 = bench_now();
	if (sim_fill(b, t, (uint64_t)addr))
		goto out;
	bench_row_time(&b->rows[SIM_FILL], bench_now() - t0, -1);
	if ((n = sim_phase(b, t, (uint64_t)addr, SIM_OUT)) < 0 || sim_expect(b, SIM_OUT, n) ||
	    sim_phase(b, t, (uint64_t)addr, SIM_READ) < 0 ||
	    sim_madvise(b, t, (uint64_t)addr, MADV_PAGEOUT, "MADV_PAGEOUT") ||
	    (n = sim_phase(b, t, (uint64_t)addr, SIM_IN)) < 0 || sim_expect(b, SIM_IN, n) ||
	    sim_madvise(b, t, (uint64_t)addr, MADV_PAGEOUT, "MADV_PAGEOUT") ||
	    (n = sim_phase(b, t, (uint64_t)addr, SIM_IN_NORA)) < 0 || sim_expect(b, SIM_IN_NORA, n) ||
	    sim_madvise(b, t, (uint64_t)addr, MADV_PAGEOUT, "MADV_PAGEOUT") ||
	    (n = sim_phase(b, t, (uint64_t)addr, SIM_WILL)) < 0 || sim_expect(b, SIM_WILL, n))
		goto out;
	r = 0;
out:
	mml_exit(t);
	if (!r && mml_report_count(b->m))
		r = bench_fail(&b->err, "mmlab: the machine reported a bug (above)");
	return r;
}

/* ---- the host baseline: the same file, by hand ---- */

static int host_write_all(struct swap_bench *b)
{
	uint64_t i;

	for (i = 0; i < b->npages; i++) {
		bench_page_stamp(b->buf, i);
		/* slot i + 1: slot 0 is the header mmlab never writes */
		if (pwrite(b->fd, b->buf, BENCH_PAGE, (off_t)((i + 1) * BENCH_PAGE)) != BENCH_PAGE)
			return bench_fail(&b->err, "host: pwrite: %s", errno ? strerror(errno) : "short write");
	}
	return 0;
}

static int host_read_all(struct swap_bench *b)
{
	uint64_t i;

	for (i = 0; i < b->npages; i++) {
		if (pread(b->fd, b->rbuf, BENCH_PAGE, (off_t)((i + 1) * BENCH_PAGE)) != BENCH_PAGE)
			return bench_fail(&b->err, "host: pread: %s", errno ? strerror(errno) : "short read");
		if (!bench_page_ok(b->rbuf, i))
			return bench_fail(&b->err, "host: page %llu read back wrong", (unsigned long long)i);
	}
	return 0;
}

static int host_rep(struct swap_bench *b)
{
	double t0;
	int err;

	if (file_reset(b))
		return -1;
	t0 = bench_now();
	if (host_write_all(b))
		return -1;
	bench_row_time(&b->rows[HOST_W], bench_now() - t0, -1);
	t0 = bench_now();
	if (host_read_all(b))
		return -1;
	bench_row_time(&b->rows[HOST_R], bench_now() - t0, -1);

	if (file_reset(b))
		return -1;
	t0 = bench_now();
	if (host_write_all(b))
		return -1;
	if (fdatasync(b->fd) < 0)
		return bench_fail(&b->err, "host: fdatasync: %s", strerror(errno));
	bench_row_time(&b->rows[HOST_WS], bench_now() - t0, -1);
	err = posix_fadvise(b->fd, 0, 0, POSIX_FADV_DONTNEED);
	if (err)
		return bench_fail(&b->err, "host: posix_fadvise(DONTNEED): %s", strerror(err));
	t0 = bench_now();
	if (host_read_all(b))
		return -1;
	bench_row_time(&b->rows[HOST_RC], bench_now() - t0, -1);
	return 0;
}

/* ---- the host kernel's own swap ---- */

/*
 * MADV_PAGEOUT returns once the writes are submitted; wait until the
 * pages under writeback are back to what they were before.  The counter
 * is system-wide: a host busy writing elsewhere makes this wait longer,
 * and past a bound the bench goes on and says so (a measurement, never
 * a failure: nothing here may depend on time).
 */
static int nat_drain(struct swap_bench *b, long wb0)
{
	double t0 = bench_now();
	long wb;

	while ((wb = bench_host_vmstat("nr_writeback")) > (wb0 > 0 ? wb0 : 0)) {
		if (bench_now() - t0 > DRAIN_LIMIT_S) {
			fprintf(stderr, "mmlab " CMD ": native: writeback still at %ld pages "
				"after %.0f s (other writers on this host?); going on\n", wb,
				DRAIN_LIMIT_S);
			return 0;
		}
		usleep(100);
	}
	return wb < 0 ? bench_fail(&b->err, "native: cannot read /proc/vmstat nr_writeback") : 0;
}

static int nat_pageout(struct swap_bench *b, unsigned char *a)
{
	long wb0 = bench_host_vmstat("nr_writeback");

	if (madvise(a, b->size, MADV_PAGEOUT) < 0)
		return bench_fail(&b->err, "native: MADV_PAGEOUT: %s", strerror(errno));
	return nat_drain(b, wb0);
}

static int nat_read_all(struct swap_bench *b, const unsigned char *a)
{
	uint64_t i;

	for (i = 0; i < b->npages; i++)
		if (!bench_page_ok(a + i * BENCH_PAGE, i))
			return bench_fail(&b->err, "native: page %llu read back wrong",
					  (unsigned long long)i);
	return 0;
}

/* As sim_phase(), on the host kernel: the rows NAT_*. */
static int nat_phase(struct swap_bench *b, unsigned char *a, int row)
{
	const char *counter = row == NAT_OUT ? "pswpout" : "pswpin";
	long c0 = bench_host_vmstat(counter);
	double t0 = bench_now();

	if (row == NAT_OUT) {
		if (nat_pageout(b, a))
			return -1;
	} else {
		if (row == NAT_WILL && madvise(a, b->size, MADV_WILLNEED) < 0)
			return bench_fail(&b->err, "native: MADV_WILLNEED: %s", strerror(errno));
		if (nat_read_all(b, a))
			return -1;
	}
	bench_row_time(&b->rows[row], bench_now() - t0, bench_host_vmstat(counter) - c0);
	return 0;
}

/* sim_rep()'s sequence in this process, the host kernel's swap. */
static int nat_rep(struct swap_bench *b)
{
	unsigned char *a;
	double t0;
	uint64_t i;
	int r = -1;

	a = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED)
		return bench_fail(&b->err, "native: mmap: %s", strerror(errno));
	/* base pages, as mmlab's: a THP would be swapped (or split) whole */
	madvise(a, b->size, MADV_NOHUGEPAGE);

	t0 = bench_now();
	for (i = 0; i < b->npages; i++) {
		bench_page_stamp(b->buf, i);
		memcpy(a + i * BENCH_PAGE, b->buf, BENCH_PAGE);
	}
	bench_row_time(&b->rows[NAT_FILL], bench_now() - t0, -1);
	if (!nat_phase(b, a, NAT_OUT) && !nat_phase(b, a, NAT_READ) &&
	    !nat_pageout(b, a) && !nat_phase(b, a, NAT_IN) &&
	    !nat_pageout(b, a) && !nat_phase(b, a, NAT_WILL))
		r = 0;
	munmap(a, b->size);
	return r;
}

/*
 * The host's swap file, made and enabled by the conformance runner (a
 * swap header, no holes, swapon(2)); its cleanup, signals included, is
 * the runner's.  Any reason it cannot be had is a skip.
 */
static void native_start(struct swap_bench *b)
{
	int r;

	if (b->no_native) {
		snprintf(b->native_why, sizeof(b->native_why), "--no-native");
		return;
	}
	cf_host_init(&b->host, 5000);
	if (!b->host.priv) {
		snprintf(b->native_why, sizeof(b->native_why), "out of memory");
		return;
	}
	b->host_init = true;
	r = b->host.swapon(&b->host, b->swap_bytes, NATIVE_PRIO, true, true, &b->native_swap);
	if (r == -CF_SKIP) {
		snprintf(b->native_why, sizeof(b->native_why), "%s", b->host.why);
		return;
	}
	if (r < 0) {
		snprintf(b->native_why, sizeof(b->native_why), "swapon(2): %s", strerror(-r));
		return;
	}
	b->native_on = true;
}

static void native_stop(struct swap_bench *b)
{
	const char *msg;
	int r;

	if (!b->host_init)
		return;
	if (b->native_on && (r = b->host.swapoff(&b->host, b->native_swap)) < 0)
		bench_fail(&b->err, "native: swapoff: %s", strerror(-r));
	msg = b->host.stop(&b->host);
	if (msg)
		bench_fail(&b->err, "native: %s", msg);
	cf_host_free(&b->host);
	b->host_init = b->native_on = false;
}

/* ---- setup ---- */

static const char *fs_name(int fd)
{
	static const struct { long magic; const char *name; } fs[] = {
		{ 0xEF53, "ext4" }, { 0x58465342, "xfs" }, { 0x9123683E, "btrfs" },
		{ 0x01021994, "tmpfs" }, { 0x794c7630, "overlayfs" }, { 0x2fc12fc1, "zfs" },
		{ 0x6969, "nfs" }, { 0x65735546, "fuse" }, { 0xF2F52010, "f2fs" },
	};
	struct statfs st;
	size_t i;

	if (fstatfs(fd, &st) < 0)
		return "an unknown file system";
	for (i = 0; i < sizeof(fs) / sizeof(fs[0]); i++)
		if ((long)st.f_type == fs[i].magic)
			return fs[i].name;
	return "an unknown file system";
}

/*
 * The file: created here, opened for the baseline, handed to mml_swapon
 * (which opens it again) and unlinked at once: two descriptors of one
 * file, and nothing left behind whatever happens.
 */
static int file_open(struct swap_bench *b, const char *given)
{
	int r;

	if (given) {
		if (strlen(given) >= sizeof(b->path)) {
			fprintf(stderr, "mmlab " CMD ": --file: path too long\n");
			return 2;
		}
		strcpy(b->path, given);
		b->fd = open(b->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (b->fd < 0) {
			fprintf(stderr, "mmlab " CMD ": --file: cannot create '%s': %s%s\n", given,
				strerror(errno), errno == EEXIST ?
				" (give a new path: the bench truncates and removes it)" : "");
			return 2;
		}
		return 0;
	}
	r = scn_swap_file_new(b->path, sizeof(b->path));
	if (r < 0) {
		fprintf(stderr, "mmlab " CMD ": cannot create a file in $TMPDIR or /tmp: %s\n",
			strerror(-r));
		return 1;
	}
	b->fd = open(b->path, O_RDWR | O_CLOEXEC);
	if (b->fd < 0) {
		fprintf(stderr, "mmlab " CMD ": cannot open '%s': %s\n", b->path, strerror(errno));
		unlink(b->path);
		return 1;
	}
	return 0;
}

/* The native swap file goes where --file went: the same file system. */
static void native_dir_follow(const char *given)
{
	char dir[PATH_MAX];

	if (!given)
		return;
	snprintf(dir, sizeof(dir), "%s", given);
	setenv("TMPDIR", dirname(dir), 1);
}

static int machine_start(struct swap_bench *b)
{
	b->m = mml_machine_new(&(struct mml_config){ .ram_bytes = b->ram });
	if (!b->m)
		return bench_fail(&b->err, "mmlab: cannot make a machine of %llu MiB",
				  (unsigned long long)(b->ram >> 20));
	b->swap_id = mml_swapon(b->m, b->path, b->swap_bytes, -1);
	if (b->swap_id < 0)
		return bench_fail(&b->err, "mmlab: swapon '%s': %s", b->path, strerror(-b->swap_id));
	return 0;
}

static void machine_stop(struct swap_bench *b)
{
	int r;

	if (!b->m)
		return;
	if (b->swap_id >= 0 && (r = mml_swapoff(b->m, b->swap_id)) < 0)
		bench_fail(&b->err, "mmlab: swapoff: %s", strerror(-r));
	if (mml_check(b->m) < 0)
		bench_fail(&b->err, "mmlab: the invariant checker failed (above)");
	if (mml_machine_free(b->m) < 0)
		bench_fail(&b->err, "mmlab: leaks at teardown (above)");
	b->m = NULL;
}

static void print_header(struct swap_bench *b, int cpu)
{
	struct utsname u;

	if (uname(&u) < 0)
		strcpy(u.release, "?");
	printf("mmlab bench swap: %llu KiB working set (%llu pages of 4 KiB), fastest of %u run%s\n",
	       (unsigned long long)(b->size >> 10), (unsigned long long)b->npages, b->reps,
	       b->reps == 1 ? "" : "s");
	printf("  file: %s on %s, removed once open (mmlab's swap device, the\n"
	       "        host baseline's file)\n", b->path, fs_name(b->fd));
	printf("  mmlab: %llu MiB of simulated RAM, %llu KiB swap device\n",
	       (unsigned long long)(b->ram >> 20), (unsigned long long)(b->swap_bytes >> 10));
	if (b->native_on)
		printf("  native: Linux %s, a %llu KiB swap file in %s, priority %d\n", u.release,
		       (unsigned long long)(b->swap_bytes >> 10),
		       getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", NATIVE_PRIO);
	else
		printf("  native: skipped (%s)\n", b->native_why);
	if (cpu >= 0)
		printf("  all on cpu %d\n", cpu);
	printf("\n");
}

int bench_swap(int argc, char **argv)
{
	static struct swap_bench sb;	/* big, and one per run */
	struct swap_bench *b = &sb;
	struct bench_opts o;
	unsigned rep;
	int r, cpu;

	r = bench_parse(argc, argv, CMD, true, swap_usage, &o);
	if (r >= 0)
		return r;
	memset(b, 0, sizeof(*b));
	b->size = o.size;
	b->reps = o.reps;
	b->no_native = o.no_native;
	b->fd = -1;
	b->swap_id = -1;
	b->npages = b->size / BENCH_PAGE;
	/* room for every page twice: Linux frees a swap-in's slot when swap is half full */
	b->swap_bytes = 2 * b->size + 2 * BENCH_PAGE;
	/* the working set, its page tables, and room to spare: no reclaim but ours */
	b->ram = b->size + b->size / 8 + (16ULL << 20);
	rows_init(b);
	bench_start(&o, b->rows, NROWS);
	b->buf = malloc(BENCH_PAGE);
	b->rbuf = malloc(BENCH_PAGE);
	if (!b->buf || !b->rbuf) {
		fprintf(stderr, "mmlab " CMD ": out of memory\n");
		r = 1;
		goto out_buf;
	}
	bench_page_init(b->buf);
	r = file_open(b, o.file);
	if (r)
		goto out_buf;
	cpu = bench_pin_cpu();
	r = machine_start(b);
	unlink(b->path);	/* mmlab has it open now, and so have we */
	if (!r) {
		native_dir_follow(o.file);
		native_start(b);
	}
	if (!b->err.msg[0]) {
		print_header(b, cpu);
		fflush(stdout);
	}
	/* run 0 warms up: the machine's RAM is host memory, cold at first */
	for (rep = 0; rep <= b->reps && !b->err.msg[0]; rep++) {
		if (sim_rep(b))
			break;
		bench_vmstat_sample(b->m, rep);
		if (host_rep(b))
			break;
		if (b->native_on && nat_rep(b))
			break;
		if (rep == 0)
			bench_rows_forget(b->rows, NROWS);
	}
	native_stop(b);
	machine_stop(b);
	close(b->fd);
	if (b->err.msg[0]) {
		fprintf(stderr, "mmlab " CMD ": %s\n", b->err.msg);
		r = 1;
		goto out_buf;
	}
	bench_table_print(stdout, b->rows, NROWS);
	printf("\nchecks: every byte of every page read back on every side; mmlab's pswpout "
	       "and pswpin moved by %llu pages per swap-out and swap-in; its invariants "
	       "held; nothing leaked\n", (unsigned long long)b->npages);
	r = 0;
out_buf:
	free(b->buf);
	free(b->rbuf);
	return r;
}
