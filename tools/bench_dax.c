/*
 * bench_dax.c - `mmlab bench dax`: fs-DAX faults and reflink on mmlab's
 * /pmem/, beside the host kernel doing what it can of the same.
 *
 * mmlab's side makes a machine with a pmem device and, on a file of
 * --size bytes at /pmem/, times:
 *   PMD write faults  a 2 MiB-aligned shared mapping of the empty file,
 *                     one byte written a page: a fault a 2 MiB, each
 *                     allocating 512 zeroed blocks (dax_iomap_pmd_fault)
 *   PMD read faults   the same file mapped again, one byte read a page
 *   PTE read faults   mapped 4 KiB off alignment: a fault a page
 *   PTE write faults  again, writing: a fault a page, the block there
 *   reflink           FICLONE of the whole file into an empty one
 *                     (metadata only: no byte moves)
 * The host has no pmem device: its rows are the same faults on a
 * /dev/shm file (tmpfs, page cache; PTE-mapped unless its huge= says
 * otherwise) and FICLONE of a file of --file's directory, which runs
 * only where that file system has reflink (XFS, btrfs).  Each mmlab row
 * is held against the physical limit of its bytes (memset of the pages
 * for faults that zero or map them, memcpy for the reflink that spares
 * a copy).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/fs.h>

#include "bench.h"
#include "mmlab.h"

#define CMD	"bench dax"
#define MB2	(2ULL << 20)

enum {
	SIM_PMD_WRITE, SIM_PMD_READ, SIM_PTE_READ, SIM_PTE_WRITE, SIM_CLONE,
	NAT_PTE_READ, NAT_PTE_WRITE, NAT_CLONE,
	NROWS
};

struct dax_bench {
	uint64_t size, npages;
	const char *dir;
	bool nat_clone_ran;	/* the host's file system took FICLONE */
	char nat_clone_why[128];
	struct bench_err err;
	struct bench_row rows[NROWS];
};

static void dax_usage(FILE *f)
{
	fprintf(f, "usage: mmlab bench dax [--size BYTES] [--reps N] [--file DIR] [--no-native]\n\n"
		   "fs-DAX on mmlab's /pmem/: PMD and PTE read and write faults on a shared\n"
		   "mapping, and FICLONE (reflink) of the whole file; beside the host's faults\n"
		   "on a /dev/shm file and FICLONE of a file in DIR (the host has no pmem).\n\n"
		   "  -s, --size BYTES  the file: 64M, 0x100000 (default 64M; a multiple of\n"
		   "                    2M, at most 1G here)\n"
		   "  -r, --reps N      run the sequence N times after an untimed warm-up\n"
		   "                    run; keep each row's fastest (default 3)\n"
		   "  -f, --file DIR    the directory of the host's reflink file (default /var/tmp)\n"
		   "      --no-native   do not run the host kernel's side\n"
		   "  -h, --help        this text\n\n"
		   "Exit status: 0 done, 1 a check failed, 2 bad usage.\n");
}

static void rows_init(struct dax_bench *b)
{
	static const struct { const char *side, *phase; int ref; enum bench_limit limit; } r[NROWS] = {
		[SIM_PMD_WRITE] = { "mmlab", "PMD write faults: holes, zeroed", -1, BENCH_LIM_MEMSET_DRAM },
		[SIM_PMD_READ]  = { "mmlab", "PMD read faults", -1, BENCH_LIM_MEMSET_DRAM },
		[SIM_PTE_READ]  = { "mmlab", "PTE read faults", NAT_PTE_READ, BENCH_LIM_MEMSET_DRAM },
		[SIM_PTE_WRITE] = { "mmlab", "PTE write faults", NAT_PTE_WRITE, BENCH_LIM_MEMSET_DRAM },
		[SIM_CLONE]     = { "mmlab", "FICLONE of the file (reflink)", NAT_CLONE, BENCH_LIM_MEMCPY_DRAM },
		[NAT_PTE_READ]  = { "native", "PTE read faults: /dev/shm, no pmem", -1, 0 },
		[NAT_PTE_WRITE] = { "native", "PTE write faults: /dev/shm, no pmem", -1, 0 },
		[NAT_CLONE]     = { "native", "FICLONE of the file", -1, 0 },
	};

	for (int i = 0; i < NROWS; i++)
		b->rows[i] = (struct bench_row){
			.side = r[i].side, .phase = r[i].phase, .ref = r[i].ref, .limit = r[i].limit,
			.pages = b->npages, .best = -1, .dev = -1,
		};
}

/* ---- mmlab ---- */

/* The file mapped shared at a 2 MiB boundary, or off it by a page (off: 0 or 4096). */
static long sim_map(struct dax_bench *b, struct mml_task *t, int fd, uint64_t off)
{
	long a = mml_mmap(t, 0, b->size + MB2, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (a < 0)
		return a;
	mml_munmap(t, (uint64_t)a, b->size + MB2);
	a = (long)((((uint64_t)a + MB2 - 1) & ~(MB2 - 1)) + off);
	return mml_mmap(t, (uint64_t)a, b->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
}

static int sim_bfree(struct mml_task *t, unsigned long *out)
{
	struct statvfs sv;
	int r = mml_statvfs(t, "/pmem/", &sv);

	*out = r ? 0 : sv.f_bfree;
	return r;
}

/* One timed phase over a fresh mapping: map, touch every page, unmap. */
static int sim_faults(struct dax_bench *b, struct mml_task *t, int fd, uint64_t off, bool write,
		      unsigned char (*val)(uint64_t), int row)
{
	long a = sim_map(b, t, fd, off);
	double t0;
	int r;

	if (a < 0)
		return bench_fail(&b->err, "mmlab: mmap of /pmem/: %s", strerror((int)-a));
	t0 = bench_now();
	r = bench_sim_touch(&b->err, b->npages, t, (uint64_t)a, write, val);
	if (!r)
		bench_row_time(&b->rows[row], bench_now() - t0, -1);
	mml_munmap(t, (uint64_t)a, b->size);
	return r;
}

static int sim_rep(void *arg, struct mml_machine *m)
{
	struct dax_bench *b = arg;
	unsigned long free0, bfree;
	struct mml_task *t;
	int fd = -1, clone = -1, r;
	double t0;

	if ((r = mml_spawn(m, &t)) < 0)
		return bench_fail(&b->err, "mmlab: spawn: %s", strerror(-r));
	r = -1;
	fd = mml_open(t, "/pmem/bench", O_RDWR | O_CREAT | O_TRUNC, 0600);
	clone = mml_open(t, "/pmem/clone", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || clone < 0 || mml_ftruncate(t, fd, (int64_t)b->size) < 0 || sim_bfree(t, &free0) < 0) {
		bench_fail(&b->err, "mmlab: open, ftruncate or statvfs on /pmem/ failed");
		goto out;
	}
	if (sim_faults(b, t, fd, 0, true, bench_byte_before, SIM_PMD_WRITE) ||
	    sim_faults(b, t, fd, 0, false, bench_byte_before, SIM_PMD_READ) ||
	    sim_faults(b, t, fd, BENCH_PAGE, false, bench_byte_before, SIM_PTE_READ) ||
	    sim_faults(b, t, fd, BENCH_PAGE, true, bench_byte_after, SIM_PTE_WRITE))
		goto out;
	if (mml_vmstat(m, "nr_file_pages") != 0) {
		bench_fail(&b->err, "mmlab: DAX pages counted as page cache");
		goto out;
	}
	t0 = bench_now();
	if ((r = mml_ficlone(t, clone, fd)) < 0) {
		r = bench_fail(&b->err, "mmlab: FICLONE: %s", strerror(-r));
		goto out;
	}
	bench_row_time(&b->rows[SIM_CLONE], bench_now() - t0, -1);
	r = -1;
	/* Shared, not copied: the blocks the faults allocated, no more. */
	if (sim_bfree(t, &bfree) < 0 || bfree != free0 - b->npages) {
		bench_fail(&b->err, "mmlab: %lu blocks free after the reflink, expected %llu", bfree,
			   (unsigned long long)(free0 - b->npages));
		goto out;
	}
	if (mml_ftruncate(t, fd, 0) < 0 || mml_ftruncate(t, clone, 0) < 0 || sim_bfree(t, &bfree) < 0 ||
	    bfree != free0) {
		bench_fail(&b->err, "mmlab: truncating both files did not free every block");
		goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		mml_close(t, fd);
	if (clone >= 0)
		mml_close(t, clone);
	mml_exit(t);
	if (!r && mml_report_count(m))
		r = bench_fail(&b->err, "mmlab: the machine reported a bug (above)");
	return r;
}

/* ---- the host kernel ---- */

static int nat_faults(struct dax_bench *b, int fd, bool write, unsigned char (*val)(uint64_t), int row)
{
	unsigned char *a = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	double t0;
	int r = 0;

	if (a == MAP_FAILED)
		return bench_fail(&b->err, "native: mmap: %s", strerror(errno));
	t0 = bench_now();
	if (write)
		bench_nat_write(b->npages, a, val);
	else
		r = bench_nat_check(&b->err, b->npages, a, val);
	if (!r)
		bench_row_time(&b->rows[row], bench_now() - t0, -1);
	munmap(a, b->size);
	return r;
}

/*
 * FICLONE where the host's file system has it: a file of --size bytes
 * written and synced, cloned; otherwise the row stays empty, and says why.
 */
static int nat_clone(struct dax_bench *b, const char *path, const char *clone_path)
{
	static unsigned char page[BENCH_PAGE];
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600), cfd = -1, r = -1;
	double t0;

	if (fd < 0)
		return bench_fail(&b->err, "native: open %s: %s", path, strerror(errno));
	cfd = open(clone_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (cfd < 0) {
		bench_fail(&b->err, "native: open %s: %s", clone_path, strerror(errno));
		goto out;
	}
	bench_page_init(page);
	for (uint64_t i = 0; i < b->npages; i++)
		if (pwrite(fd, page, BENCH_PAGE, (off_t)(i * BENCH_PAGE)) != BENCH_PAGE) {
			bench_fail(&b->err, "native: pwrite: %s", strerror(errno));
			goto out;
		}
	fsync(fd);
	t0 = bench_now();
	if (ioctl(cfd, FICLONE, fd) == 0) {
		bench_row_time(&b->rows[NAT_CLONE], bench_now() - t0, -1);
		b->nat_clone_ran = true;
	} else if (!b->nat_clone_why[0]) {
		snprintf(b->nat_clone_why, sizeof(b->nat_clone_why), "%s: FICLONE: %s (no reflink there)",
			 b->dir, strerror(errno));
	}
	r = 0;
out:
	if (cfd >= 0)
		close(cfd);
	close(fd);
	unlink(path);
	unlink(clone_path);
	return r;
}

static int nat_rep(struct dax_bench *b, const char *shm_path, const char *path, const char *clone_path)
{
	int fd = open(shm_path, O_RDWR | O_CREAT | O_TRUNC, 0600), r = -1;

	if (fd < 0)
		return bench_fail(&b->err, "native: open %s: %s", shm_path, strerror(errno));
	if (ftruncate(fd, (off_t)b->size) < 0) {
		bench_fail(&b->err, "native: ftruncate: %s", strerror(errno));
		goto out;
	}
	/* Fill the cache, so that the timed phases fault pages in, not allocate them. */
	if (nat_faults(b, fd, true, bench_byte_before, NAT_PTE_WRITE) ||
	    nat_faults(b, fd, false, bench_byte_before, NAT_PTE_READ) ||
	    nat_faults(b, fd, true, bench_byte_after, NAT_PTE_WRITE))
		goto out;
	r = nat_clone(b, path, clone_path);
out:
	close(fd);
	unlink(shm_path);
	return r;
}

int bench_dax(int argc, char **argv)
{
	static struct dax_bench db;
	struct dax_bench *b = &db;
	char shm_path[256], path[4096], clone_path[4096];
	struct mml_machine *m;
	struct bench_opts o;
	struct utsname u;
	int r, cpu;

	r = bench_parse(argc, argv, CMD, true, dax_usage, &o);
	if (r >= 0)
		return r;
	if (o.size % MB2 || o.size > (1ULL << 30)) {
		fprintf(stderr, "mmlab " CMD ": --size must be a multiple of 2M, at most 1G\n");
		return 2;
	}
	memset(b, 0, sizeof(*b));
	b->size = o.size;
	b->npages = o.size / BENCH_PAGE;
	b->dir = o.file ? o.file : "/var/tmp";
	rows_init(b);
	bench_start(&o, b->rows, NROWS);
	cpu = bench_pin_cpu();
	if (uname(&u) < 0)
		strcpy(u.release, "?");
	printf("mmlab bench dax: a /pmem/ file of %llu KiB (%llu pages of 4 KiB), fastest of %u run%s\n",
	       (unsigned long long)(b->size >> 10), (unsigned long long)b->npages, o.reps,
	       o.reps == 1 ? "" : "s");
	printf("  native: %s (no pmem device: its faults are on /dev/shm, its reflink in %s)\n",
	       o.no_native ? "skipped (--no-native)" : u.release, b->dir);
	if (cpu >= 0)
		printf("  all on cpu %d\n", cpu);
	printf("\n");
	fflush(stdout);
	snprintf(shm_path, sizeof(shm_path), "/dev/shm/mmlab-bench-dax.%d", (int)getpid());
	snprintf(path, sizeof(path), "%s/mmlab-bench-dax.%d", b->dir, (int)getpid());
	snprintf(clone_path, sizeof(clone_path), "%s/mmlab-bench-dax-clone.%d", b->dir, (int)getpid());
	for (unsigned rep = 0; !o.no_native && rep <= o.reps; rep++) {
		if (nat_rep(b, shm_path, path, clone_path))
			break;
		if (rep == 0)
			bench_rows_forget(b->rows + NAT_PTE_READ, NROWS - NAT_PTE_READ);
	}
	if (!b->err.msg[0]) {
		m = mml_machine_new(&(struct mml_config){ .ram_bytes = 32ULL << 20,
							  .pmem_bytes = b->size + MB2 });
		if (!m)
			bench_fail(&b->err, "mmlab: cannot make a machine with %llu MiB of pmem",
				   (unsigned long long)((b->size + MB2) >> 20));
		else
			bench_sim_repeat(m, o.reps, sim_rep, b, b->rows, NAT_PTE_READ, &b->err);
	}
	if (b->err.msg[0]) {
		fprintf(stderr, "mmlab " CMD ": %s\n", b->err.msg);
		return 1;
	}
	bench_table_print(stdout, b->rows, NROWS);
	if (!o.no_native && !b->nat_clone_ran)
		printf("\nnative FICLONE did not run: %s\n", b->nat_clone_why);
	printf("\nchecks: every page read back as written; no DAX page counted as page cache; the reflink\n"
	       "shared every block (statvfs); truncating both files freed them all; mmlab's invariants\n"
	       "held; nothing leaked\n");
	return 0;
}
