/*
 * bench_file.c - `mmlab bench file`: file mappings, mmlab beside the host
 * kernel on the same kind of file, in one run.
 *
 * Both sides map a file of --size bytes that is already in the page
 * cache (written with pwrite, then fsync'ed) and run:
 *   read faults    read one byte of every page of a shared mapping:
 *                  the cached page is mapped (with fault-around)
 *   write faults   write one byte of every page: a shared mapping of a
 *                  disk file maps clean pages read-only, so each first
 *                  write faults and dirties its page (page_mkwrite)
 *   writeback      msync(MS_SYNC) of the dirty mapping: every page
 *                  cleaned (folio_mkclean) and written to the disk
 * and beside writeback, the physical limit of this disk path: pwrite of
 * the same pages to a file of the same directory.  mmlab's file is
 * /disk/ on a temporary directory of --file's directory (default
 * /var/tmp), the host's a file in the same directory, so both write to
 * one device.  The host's faults cost what a VM's cost (see docs/bench.md).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench.h"
#include "mmlab.h"

#define CMD	"bench file"

enum {
	SIM_READ, SIM_WRITE, SIM_SYNC,
	NAT_READ, NAT_WRITE, NAT_SYNC,
	LIM_PWRITE,
	NROWS
};

struct file_bench {
	uint64_t size, npages;
	const char *dir;
	struct bench_err err;
	struct bench_row rows[NROWS];
	unsigned char page[BENCH_PAGE];
};

static void file_usage(FILE *f)
{
	fprintf(f, "usage: mmlab bench file [--size BYTES] [--reps N] [--file DIR] [--no-native]\n\n"
		   "Faults on a cached file mapped shared (read, then first writes) and\n"
		   "writeback with msync(MS_SYNC), on mmlab's /disk/ and on this host's\n"
		   "kernel, beside pwrite of the same pages: one run, one directory.\n\n"
		   "  -s, --size BYTES  the file: 64M, 0x100000 (default 64M; a multiple of\n"
		   "                    4096, at most 16G)\n"
		   "  -r, --reps N      run the sequence N times after an untimed warm-up\n"
		   "                    run; keep each row's fastest (default 3)\n"
		   "  -f, --file DIR    the directory for both sides' files (default /var/tmp)\n"
		   "      --no-native   do not run the host kernel's side\n"
		   "  -h, --help        this text\n\n"
		   "Exit status: 0 done, 1 a check failed, 2 bad usage.\n");
}

static void rows_init(struct file_bench *b)
{
	static const char *const phase[] = {
		"read faults: cached file, shared", "first writes: page_mkwrite", "msync(MS_SYNC) writeback",
	};

	for (int i = 0; i < LIM_PWRITE; i++)
		b->rows[i] = (struct bench_row){
			.side = i < NAT_READ ? "mmlab" : "native", .phase = phase[i % NAT_READ],
			.ref = i < NAT_READ ? i + NAT_READ : -1, .pages = b->npages, .best = -1, .dev = -1,
		};
	b->rows[NAT_SYNC].ref = LIM_PWRITE;
	b->rows[LIM_PWRITE] = (struct bench_row){
		.side = "native", .phase = "pwrite of the pages (the limit)", .ref = -1,
		.pages = b->npages, .best = -1, .dev = -1,
	};
}

/* ---- mmlab ---- */

static int sim_rep(struct file_bench *b, struct mml_machine *m)
{
	struct mml_task *t;
	long addr = -1, n;
	int fd = -1, r;
	double t0;

	if ((r = mml_spawn(m, &t)) < 0)
		return bench_fail(&b->err, "mmlab: spawn: %s", strerror(-r));
	r = -1;
	fd = mml_open(t, "/disk/bench", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		bench_fail(&b->err, "mmlab: open: %s", strerror(-fd));
		goto out;
	}
	for (uint64_t i = 0; i < b->npages; i++) {
		bench_page_stamp(b->page, i);
		n = mml_pwrite(t, fd, b->page, BENCH_PAGE, (int64_t)(i * BENCH_PAGE));
		if (n != BENCH_PAGE) {
			bench_fail(&b->err, "mmlab: pwrite: %s", n < 0 ? strerror((int)-n) : "short");
			goto out;
		}
	}
	if (mml_fsync(t, fd) < 0 ||
	    (addr = mml_mmap(t, 0, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) < 0) {
		bench_fail(&b->err, "mmlab: fsync or mmap failed");
		goto out;
	}

	t0 = bench_now();
	for (uint64_t i = 0; i < b->npages; i++) {
		unsigned char c;

		if (mml_read(t, (uint64_t)addr + i * BENCH_PAGE + 8, &c, 1) || c != b->page[8]) {
			bench_fail(&b->err, "mmlab: page %llu reads wrong", (unsigned long long)i);
			goto out;
		}
	}
	bench_row_time(&b->rows[SIM_READ], bench_now() - t0, -1);

	t0 = bench_now();
	if (bench_sim_touch(&b->err, b->npages, t, (uint64_t)addr + 16, true, bench_byte_before))
		goto out;
	bench_row_time(&b->rows[SIM_WRITE], bench_now() - t0, -1);

	t0 = bench_now();
	if ((r = mml_msync(t, (uint64_t)addr, b->size, MS_SYNC)) < 0) {
		r = bench_fail(&b->err, "mmlab: msync: %s", strerror(-r));
		goto out;
	}
	bench_row_time(&b->rows[SIM_SYNC], bench_now() - t0, -1);
	if (mml_vmstat(m, "nr_dirty") != 0) {
		r = bench_fail(&b->err, "mmlab: pages still dirty after msync");
		goto out;
	}
	r = 0;
out:
	if (addr >= 0)
		mml_munmap(t, (uint64_t)addr, b->size);
	if (fd >= 0)
		mml_close(t, fd);
	mml_exit(t);
	if (!r && mml_report_count(m))
		r = bench_fail(&b->err, "mmlab: the machine reported a bug (above)");
	return r;
}

static int sim_runs(struct file_bench *b, unsigned reps)
{
	char dir[4096];
	struct mml_machine *m;
	int r = 0;

	snprintf(dir, sizeof(dir), "%s/mmlab-bench-file.XXXXXX", b->dir);
	if (!mkdtemp(dir))
		return bench_fail(&b->err, "mmlab: mkdtemp in %s: %s", b->dir, strerror(errno));
	m = mml_machine_new(&(struct mml_config){ .ram_bytes = 2 * b->size + (32ULL << 20), .disk_dir = dir });
	if (!m) {
		rmdir(dir);
		return bench_fail(&b->err, "mmlab: cannot make a machine");
	}
	for (unsigned rep = 0; rep <= reps && !r; rep++) {
		r = sim_rep(b, m);
		bench_vmstat_sample(m, rep);
		if (rep == 0)
			bench_rows_forget(b->rows, NAT_READ);
	}
	if (mml_check(m) < 0)
		r = bench_fail(&b->err, "mmlab: the invariant checker failed (above)");
	if (mml_machine_free(m) < 0)
		r = bench_fail(&b->err, "mmlab: leaks at teardown (above)");
	snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "/bench");
	unlink(dir);
	*strrchr(dir, '/') = '\0';
	rmdir(dir);
	return r;
}

/* ---- the host kernel ---- */

static int nat_rep(struct file_bench *b, const char *path, const char *limit_path)
{
	unsigned char *a = MAP_FAILED;
	int fd, lfd = -1, r = -1;
	double t0;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return bench_fail(&b->err, "native: open %s: %s", path, strerror(errno));
	for (uint64_t i = 0; i < b->npages; i++) {
		bench_page_stamp(b->page, i);
		if (pwrite(fd, b->page, BENCH_PAGE, (off_t)(i * BENCH_PAGE)) != BENCH_PAGE) {
			bench_fail(&b->err, "native: pwrite: %s", strerror(errno));
			goto out;
		}
	}
	fsync(fd);
	a = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (a == MAP_FAILED) {
		bench_fail(&b->err, "native: mmap: %s", strerror(errno));
		goto out;
	}
	madvise(a, b->size, MADV_NOHUGEPAGE);

	t0 = bench_now();
	for (uint64_t i = 0; i < b->npages; i++)
		if (a[i * BENCH_PAGE + 8] != b->page[8]) {
			bench_fail(&b->err, "native: page %llu reads wrong", (unsigned long long)i);
			goto out;
		}
	bench_row_time(&b->rows[NAT_READ], bench_now() - t0, -1);

	t0 = bench_now();
	bench_nat_write(b->npages, a + 16, bench_byte_before);
	bench_row_time(&b->rows[NAT_WRITE], bench_now() - t0, -1);

	t0 = bench_now();
	if (msync(a, b->size, MS_SYNC) < 0) {
		bench_fail(&b->err, "native: msync: %s", strerror(errno));
		goto out;
	}
	bench_row_time(&b->rows[NAT_SYNC], bench_now() - t0, -1);

	/* The limit: the same pages written to the same directory, then made durable alike. */
	lfd = open(limit_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (lfd < 0) {
		bench_fail(&b->err, "native: open %s: %s", limit_path, strerror(errno));
		goto out;
	}
	t0 = bench_now();
	for (uint64_t i = 0; i < b->npages; i++)
		if (pwrite(lfd, a + i * BENCH_PAGE, BENCH_PAGE, (off_t)(i * BENCH_PAGE)) != BENCH_PAGE) {
			bench_fail(&b->err, "native: pwrite: %s", strerror(errno));
			goto out;
		}
	fdatasync(lfd);
	bench_row_time(&b->rows[LIM_PWRITE], bench_now() - t0, -1);
	r = 0;
out:
	if (a != MAP_FAILED)
		munmap(a, b->size);
	if (lfd >= 0)
		close(lfd);
	close(fd);
	unlink(path);
	unlink(limit_path);
	return r;
}

int bench_file(int argc, char **argv)
{
	static struct file_bench fb;
	struct file_bench *b = &fb;
	char path[4096], limit_path[4096];
	struct bench_opts o;
	struct utsname u;
	int r, cpu;

	r = bench_parse(argc, argv, CMD, true, file_usage, &o);
	if (r >= 0)
		return r;
	memset(b, 0, sizeof(*b));
	b->size = o.size;
	b->npages = o.size / BENCH_PAGE;
	b->dir = o.file ? o.file : "/var/tmp";
	bench_page_init(b->page);
	rows_init(b);
	bench_start(&o, b->rows, NROWS);
	cpu = bench_pin_cpu();
	if (uname(&u) < 0)
		strcpy(u.release, "?");
	printf("mmlab bench file: a file of %llu KiB (%llu pages of 4 KiB) in %s, fastest of %u run%s\n",
	       (unsigned long long)(b->size >> 10), (unsigned long long)b->npages, b->dir, o.reps,
	       o.reps == 1 ? "" : "s");
	printf("  native: %s (a VM: the host's faults cost ~10x a bare machine's)\n",
	       o.no_native ? "skipped (--no-native)" : u.release);
	if (cpu >= 0)
		printf("  all on cpu %d\n", cpu);
	printf("\n");
	fflush(stdout);
	snprintf(path, sizeof(path), "%s/mmlab-bench-file.%d", b->dir, (int)getpid());
	snprintf(limit_path, sizeof(limit_path), "%s/mmlab-bench-file-limit.%d", b->dir, (int)getpid());
	for (unsigned rep = 0; !o.no_native && rep <= o.reps; rep++) {
		if (nat_rep(b, path, limit_path))
			break;
		if (rep == 0)
			bench_rows_forget(b->rows + NAT_READ, NROWS - NAT_READ);
	}
	if (!b->err.msg[0])
		sim_runs(b, o.reps);
	if (b->err.msg[0]) {
		fprintf(stderr, "mmlab " CMD ": %s\n", b->err.msg);
		return 1;
	}
	bench_table_print(stdout, b->rows, NROWS);
	printf("\nmmlab's writeback ends in the host's page cache (pwrite, no fdatasync: deviation 37);\n"
	       "the host's msync and the pwrite limit wait for the device.\n");
	printf("checks: every page read back as written; after msync nothing is dirty; "
	       "mmlab's invariants held; nothing leaked\n");
	return 0;
}
