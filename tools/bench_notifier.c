/*
 * bench_notifier.c - `mmlab bench notifier`: the cost a registered MMU
 * notifier adds to write faults, fork, copy-on-write faults and munmap,
 * and the fault and access throughput of a device that mirrors a process
 * (src/drivers/dmirror.c, after Linux's lib/test_hmm.c), in one run.
 *
 * mmlab runs bench fault's sequence on a region of --size bytes three
 * times, each in a new process:
 *   plain          no notifier: the reference rows
 *   with notifier  a raw notifier whose callbacks only count their calls
 *                  and the span they cover: the notifier chain's own cost
 *   with device    the built-in device attached; before fork, the COW
 *                  faults and munmap it reads a byte of every page
 *                  (untimed), so that each invalidation drops translations
 *                  it really holds (the other setups' CPU reads the same
 *                  bytes there: every setup finds the same caches)
 * The phases: write faults (one byte a page: a new page each), fork, the
 * parent's COW write faults while the child lives, munmap.  Then the
 * device's own rows, on a region the CPU filled with whole pages:
 *   device faults  read every page: each a miss, one hmm_range_fault
 *   device reads   every page again, through the translations it made
 *   device writes  every page, new contents
 *   CPU reads      every page through mml_read: the device's bytes
 * beside memcpy of the same pages in host memory, the limit of any copy.
 *
 * The host kernel runs the fault phases in this process first, as bench
 * fault does (its fork must not copy the simulated machine's RAM).  It has
 * no device rows: a userspace program reaches a secondary MMU of the host
 * only through the test_hmm module (CONFIG_TEST_HMM), which a production
 * kernel does not load.
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

#define CMD		"bench notifier"
#define HOST_HMM_DEV	"/dev/hmm_dmirror0"	/* what lib/test_hmm.c makes when loaded */

enum { PH_WRITE, PH_FORK, PH_COW, PH_MUNMAP, NPHASES };
enum setup { PLAIN, RAW, DEVICE, NSETUPS };

enum {
	SIM_PHASES = 0,				/* + setup * NPHASES + phase: sim_row() */
	DEV_FAULT = SIM_PHASES + NSETUPS * NPHASES,
	DEV_READ, DEV_WRITE, CPU_READ,
	HOST_OUT, HOST_IN,
	NAT_PHASES,				/* + phase: the host kernel */
	NROWS = NAT_PHASES + NPHASES
};

static const char *const phase_name[NSETUPS][NPHASES] = {
	[PLAIN]  = { "write faults: new pages", "fork: pages mapped",
		     "write faults after fork: COW", "munmap: pages mapped" },
	[RAW]    = { "with notifier: write faults", "with notifier: fork",
		     "with notifier: COW faults", "with notifier: munmap" },
	[DEVICE] = { "with device: write faults", "with device: fork",
		     "with device: COW faults", "with device: munmap" },
};

struct notifier_bench {
	uint64_t size, npages, ram;
	unsigned char *buf, *rbuf;	/* a page to write, a page read back */
	unsigned char *host;		/* --size bytes of host memory: the memcpy rows */
	char native_note[320];
	struct bench_err err;
	struct bench_row rows[NROWS];
};

static int sim_row(enum setup s, int phase)
{
	return SIM_PHASES + (int)s * NPHASES + phase;
}

static void notifier_usage(FILE *f)
{
	fprintf(f, "usage: mmlab bench notifier [--size BYTES] [--reps N] [--no-native]\n\n"
		   "What a registered MMU notifier and a device mirroring the process\n"
		   "add to write faults, fork, copy-on-write faults and munmap; the\n"
		   "device's fault and access throughput beside memcpy; the host kernel's\n"
		   "faults, in one run.  Every byte read is checked, and so are the\n"
		   "notifier's calls and the device's translations after each phase.\n\n"
		   "  -s, --size BYTES  the region: 64M, 0x100000 (default 64M; a multiple\n"
		   "                    of 4096, at most 16G)\n"
		   "  -r, --reps N      run the whole sequence N times after an untimed\n"
		   "                    warm-up run; keep each row's fastest (default 3)\n"
		   "      --no-native   do not run the host kernel's faults\n"
		   "  -h, --help        this text\n\n"
		   "docs/bench.md explains the rows.\n"
		   "Exit status: 0 done, 1 a check failed, 2 bad usage.\n");
}

static void rows_init(struct notifier_bench *b)
{
	static const struct { const char *side, *phase, *dev; int ref; const char *note; } def[] = {
		[DEV_FAULT] = { "mmlab", "device faults: hmm_range_fault", "mapped", HOST_OUT,
			"each page a miss of the device's page table: hmm_range_fault walks the "
			"CPU's (the pages are there: no CPU fault), the translation goes in under "
			"the device lock, then 4 KiB are copied out and checked" },
		[DEV_READ]  = { "mmlab", "device reads: mapped", NULL, HOST_OUT, NULL },
		[DEV_WRITE] = { "mmlab", "device writes: mapped", NULL, HOST_IN, NULL },
		[CPU_READ]  = { "mmlab", "CPU reads: mml_read", NULL, HOST_OUT,
			"the CPU reads back what the device wrote, every byte checked: "
			"mmlab's own load path beside the device's" },
		[HOST_OUT]  = { "host", "memcpy 4K out + check", NULL, -1,
			"the limit of the device's accesses: the same pages copied between "
			"two buffers of host memory, no translation at all" },
		[HOST_IN]   = { "host", "memcpy 4K in", NULL, -1, NULL },
	};
	static const char *const setup_note[NSETUPS] = {
		[PLAIN] = "no notifier: the reference of the rows below; before fork, COW "
			  "faults and munmap the CPU reads a byte of every page (untimed), "
			  "where the device does in its setup: every setup finds the same caches",
		[RAW] = "a notifier whose callbacks count their calls: the device column is "
			"its invalidate_range_start calls in the phase (none when a fault fills an "
			"empty pte, as in Linux; one per page for COW faults)",
		[DEVICE] = "the device is attached; before fork, COW faults and munmap it "
			   "reads a byte of every page (untimed), mapping the region: zapped is "
			   "the pages it maps no longer after the phase, all of them, each dropped "
			   "by its interval notifier; at the write faults no page exists to map",
	};
	enum setup s;
	int i, p;

	for (s = PLAIN; s < NSETUPS; s++)
		for (p = 0; p < NPHASES; p++)
			b->rows[sim_row(s, p)] = (struct bench_row){
				.side = "mmlab", .phase = phase_name[s][p],
				.dev_what = s == RAW ? "starts" :
					    s == DEVICE && p != PH_WRITE ? "zapped" : NULL,
				.ref = s == PLAIN ? NAT_PHASES + p : sim_row(PLAIN, p),
				.note = p == PH_WRITE ? setup_note[s] : NULL,
			};
	for (i = DEV_FAULT; i <= HOST_IN; i++)
		b->rows[i] = (struct bench_row){
			.side = def[i].side, .phase = def[i].phase, .dev_what = def[i].dev,
			.ref = def[i].ref, .note = def[i].note,
		};
	for (p = 0; p < NPHASES; p++)
		b->rows[NAT_PHASES + p] = (struct bench_row){
			.side = "native", .phase = phase_name[PLAIN][p], .ref = -1,
		};
	for (i = 0; i < NROWS; i++) {
		b->rows[i].pages = b->npages;
		b->rows[i].best = -1;
		b->rows[i].dev = -1;
	}
}

/* ---- the raw notifier: trivial callbacks that count ---- */

struct calls {
	long starts, ends, releases;
	uint64_t lo, hi;	/* the span of every range started */
	unsigned events;	/* 1 << event, for every range started */
};

static int calls_start(void *priv, const struct mml_notify_range *r)
{
	struct calls *c = priv;

	if (!c->starts++ || r->start < c->lo)
		c->lo = r->start;
	if (r->end > c->hi)
		c->hi = r->end;
	c->events |= 1u << r->event;
	return 0;
}

static void calls_end(void *priv, const struct mml_notify_range *r)
{
	((struct calls *)priv)->ends++;
}

static void calls_release(void *priv)
{
	((struct calls *)priv)->releases++;
}

/* No reclaim runs here: nobody asks whether a page was young. */
static const struct mml_mmu_notifier_ops counting_ops = {
	.invalidate_range_start = calls_start,
	.invalidate_range_end = calls_end,
	.release = calls_release,
};

static void calls_reset(struct calls *c)
{
	long releases = c->releases;

	*c = (struct calls){ .releases = releases };
}

/*
 * What Linux tells a notifier in each phase: nothing for faults that fill
 * empty ptes (do_anonymous_page), PROTECTION_PAGE over the VMA when fork
 * write-protects it (copy_page_range), CLEAR for each page a COW fault
 * replaces (wp_page_copy), UNMAP over the range munmap zaps.
 */
static int calls_check(struct notifier_bench *b, int phase, const struct calls *c, uint64_t addr)
{
	static const int event[NPHASES] = {
		[PH_WRITE] = -1, [PH_FORK] = MML_NOTIFY_PROTECTION_PAGE,
		[PH_COW] = MML_NOTIFY_CLEAR, [PH_MUNMAP] = MML_NOTIFY_UNMAP,
	};
	const char *name = phase_name[PLAIN][phase];
	long want = phase == PH_COW ? (long)b->npages : 1;

	if (c->ends != c->starts)
		return bench_fail(&b->err, "notifier: %s: %ld invalidate_range_start, %ld _end",
				  name, c->starts, c->ends);
	if (phase == PH_WRITE)
		return c->starts ? bench_fail(&b->err, "notifier: %s: %ld invalidations where no "
					      "mapping changed", name, c->starts) : 0;
	if (c->starts < want)
		return bench_fail(&b->err, "notifier: %s: %ld invalidate_range_start calls, at "
				  "least %ld expected", name, c->starts, want);
	if (c->events != 1u << event[phase])
		return bench_fail(&b->err, "notifier: %s: events %#x, only 1 << %d expected",
				  name, c->events, event[phase]);
	if (c->lo > addr || c->hi < addr + b->size)
		return bench_fail(&b->err, "notifier: %s: the ranges started, [%#llx, %#llx), miss "
				  "part of the region [%#llx, %#llx)", name, (unsigned long long)c->lo,
				  (unsigned long long)c->hi, (unsigned long long)addr,
				  (unsigned long long)(addr + b->size));
	return 0;
}

/* ---- mmlab: the phases, plain, with a notifier, with the device ---- */

/* The device reads a byte of every page: it maps the whole region; untimed. */
static int device_map(struct notifier_bench *b, struct mml_device *d, uint64_t base,
		      unsigned char (*val)(uint64_t))
{
	unsigned char c;
	uint64_t i;
	int r;

	for (i = 0; i < b->npages; i++) {
		r = mml_device_read(d, base + i * BENCH_PAGE, &c, 1);
		if (r < 0)
			return bench_fail(&b->err, "device: reading page %llu: %s",
					  (unsigned long long)i, strerror(-r));
		if (c != val(i))
			return bench_fail(&b->err, "device: page %llu reads %#x, the CPU wrote %#x",
					  (unsigned long long)i, c, val(i));
		if (!mml_device_mapped(d, base + i * BENCH_PAGE))
			return bench_fail(&b->err, "device: page %llu read but not mapped",
					  (unsigned long long)i);
	}
	return 0;
}

/* How many pages of the region the device does not map. */
static long device_unmapped(struct notifier_bench *b, struct mml_device *d, uint64_t base)
{
	long n = 0;
	uint64_t i;

	for (i = 0; i < b->npages; i++)
		n += !mml_device_mapped(d, base + i * BENCH_PAGE);
	return n;
}

/*
 * The end of a timed phase: its time first, then, untimed, what the
 * notifier was told or what the device still maps.
 */
static int phase_end(struct notifier_bench *b, enum setup s, int phase, double t0,
		     const struct calls *c, struct mml_device *d, uint64_t addr)
{
	double seconds = bench_now() - t0;
	long dev = -1;

	if (s == RAW) {
		dev = c->starts;
		if (calls_check(b, phase, c, addr))
			return -1;
	} else if (s == DEVICE && phase != PH_WRITE) {
		dev = device_unmapped(b, d, addr);
		if (dev != (long)b->npages)
			return bench_fail(&b->err, "device: %s: it still maps %ld of %llu pages: "
					  "an invalidation missed them", phase_name[PLAIN][phase],
					  (long)b->npages - dev, (unsigned long long)b->npages);
	}
	bench_row_time(&b->rows[sim_row(s, phase)], seconds, dev);
	return 0;
}

/*
 * Before fork, COW faults and munmap, untimed: the device maps every page;
 * without one, the CPU reads a byte of every page instead, so that every
 * setup enters the phase with the page tables and frames as warm in the
 * host's caches.  The notifier's count starts afresh.
 */
static int phase_begin(struct notifier_bench *b, struct mml_task *t, struct calls *c,
		       struct mml_device *d, uint64_t addr, unsigned char (*val)(uint64_t))
{
	if (d ? device_map(b, d, addr, val) : bench_sim_touch(&b->err, b->npages, t, addr, false, val))
		return -1;
	calls_reset(c);
	return 0;
}

/* One setup's pass in a new process: write faults, fork, COW faults, munmap of one region. */
static int sim_pass(struct notifier_bench *b, struct mml_machine *m, enum setup s)
{
	struct mml_task *t, *child = NULL;
	struct mml_mmu_notifier *n = NULL;
	struct mml_device *d = NULL;
	struct calls c = { 0 };
	uint64_t addr;
	double t0;
	long a;
	int r;

	if ((r = mml_spawn(m, &t)) < 0)
		return bench_fail(&b->err, "mmlab: spawn: %s", strerror(-r));
	if (s == RAW && (r = mml_mmu_notifier_register(t, &counting_ops, &c, &n)) < 0) {
		r = bench_fail(&b->err, "mmlab: mml_mmu_notifier_register: %s", strerror(-r));
		goto out;
	}
	if (s == DEVICE && (r = mml_device_new(t, 0, &d)) < 0) {
		r = bench_fail(&b->err, "mmlab: mml_device_new: %s", strerror(-r));
		goto out;
	}
	r = -1;
	a = mml_mmap(t, 0, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a < 0) {
		bench_fail(&b->err, "mmlab: mmap: %s", strerror((int)-a));
		goto out;
	}
	addr = (uint64_t)a;

	/* no page yet: the device has nothing to map */
	calls_reset(&c);
	t0 = bench_now();
	if (bench_sim_touch(&b->err, b->npages, t, addr, true, bench_byte_before) ||
	    phase_end(b, s, PH_WRITE, t0, &c, d, addr))
		goto out;

	if (phase_begin(b, t, &c, d, addr, bench_byte_before))
		goto out;
	t0 = bench_now();
	if ((r = mml_fork(t, &child)) < 0) {
		r = bench_fail(&b->err, "mmlab: fork: %s", strerror(-r));
		goto out;
	}
	r = -1;
	if (phase_end(b, s, PH_FORK, t0, &c, d, addr))
		goto out;

	if (phase_begin(b, t, &c, d, addr, bench_byte_before))
		goto out;
	t0 = bench_now();
	if (bench_sim_touch(&b->err, b->npages, t, addr, true, bench_byte_after) ||
	    phase_end(b, s, PH_COW, t0, &c, d, addr))
		goto out;
	if (bench_sim_touch(&b->err, b->npages, child, addr, false, bench_byte_before) ||
	    bench_sim_touch(&b->err, b->npages, t, addr, false, bench_byte_after))
		goto out;

	/* the device's remap reads the parent's copies: it must see their bytes */
	if (phase_begin(b, t, &c, d, addr, bench_byte_after))
		goto out;
	t0 = bench_now();
	if ((r = mml_munmap(t, addr, b->size)) < 0) {
		r = bench_fail(&b->err, "mmlab: munmap: %s", strerror(-r));
		goto out;
	}
	r = phase_end(b, s, PH_MUNMAP, t0, &c, d, addr);
out:
	if (child)
		mml_exit(child);
	if (d)
		mml_device_free(d);
	mml_exit(t);
	if (n) {
		mml_mmu_notifier_unregister(n);
		if (!r && c.releases != 1)
			r = bench_fail(&b->err, "notifier: released %ld times by exit and "
				       "unregister, once expected", c.releases);
	}
	if (!r && mml_report_count(m))
		r = bench_fail(&b->err, "mmlab: the machine reported a bug (above)");
	return r;
}

/* ---- mmlab: the device's own accesses ---- */

/* Every page through the device (write: the contents of page i + npages), or the CPU's reads. */
static int access_all(struct notifier_bench *b, struct mml_task *t, struct mml_device *d,
		      uint64_t base, int row)
{
	uint64_t i, stamp = row == DEV_FAULT || row == DEV_READ ? 0 : b->npages;
	const char *who = d && row != CPU_READ ? "device" : "mmlab";
	int r;

	for (i = 0; i < b->npages; i++) {
		uint64_t va = base + i * BENCH_PAGE;

		if (row == DEV_WRITE) {
			bench_page_stamp(b->buf, i + stamp);
			r = mml_device_write(d, va, b->buf, BENCH_PAGE);
		} else {
			r = row == CPU_READ ? mml_read(t, va, b->rbuf, BENCH_PAGE)
					    : mml_device_read(d, va, b->rbuf, BENCH_PAGE);
		}
		if (r < 0)
			return bench_fail(&b->err, "%s: %s page %llu: %s", who,
					  row == DEV_WRITE ? "writing" : "reading",
					  (unsigned long long)i, strerror(-r));
		if (row != DEV_WRITE && !bench_page_ok(b->rbuf, i + stamp))
			return bench_fail(&b->err, "%s: page %llu read back wrong", who,
					  (unsigned long long)i);
	}
	return 0;
}

/*
 * A process fills a region with whole pages (untimed); the device reads
 * it (each page a miss), reads it again (each a hit), writes it; the CPU
 * reads the device's bytes back.
 */
static int device_pass(struct notifier_bench *b, struct mml_machine *m)
{
	static const int rows[] = { DEV_FAULT, DEV_READ, DEV_WRITE, CPU_READ };
	struct mml_device *d = NULL;
	struct mml_task *t;
	uint64_t addr, i;
	double t0, seconds;
	long a, mapped;
	size_t k;
	int r;

	if ((r = mml_spawn(m, &t)) < 0)
		return bench_fail(&b->err, "mmlab: spawn: %s", strerror(-r));
	r = -1;
	a = mml_mmap(t, 0, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a < 0) {
		bench_fail(&b->err, "mmlab: mmap: %s", strerror((int)-a));
		goto out;
	}
	addr = (uint64_t)a;
	for (i = 0; i < b->npages; i++) {
		bench_page_stamp(b->buf, i);
		if ((r = mml_write(t, addr + i * BENCH_PAGE, b->buf, BENCH_PAGE)) < 0) {
			r = bench_fail(&b->err, "mmlab: writing page %llu: %s",
				       (unsigned long long)i, strerror(-r));
			goto out;
		}
	}
	/* attached after the fill: no translation yet, every first read a miss */
	if ((r = mml_device_new(t, 0, &d)) < 0) {
		r = bench_fail(&b->err, "mmlab: mml_device_new: %s", strerror(-r));
		goto out;
	}
	r = -1;
	for (k = 0; k < sizeof(rows) / sizeof(rows[0]); k++) {
		t0 = bench_now();
		if (access_all(b, t, d, addr, rows[k]))
			goto out;
		seconds = bench_now() - t0;
		mapped = rows[k] == DEV_FAULT ? (long)b->npages - device_unmapped(b, d, addr) : -1;
		bench_row_time(&b->rows[rows[k]], seconds, mapped);
		if (rows[k] == DEV_FAULT && mapped != (long)b->npages) {
			bench_fail(&b->err, "device: read every page, maps %ld of %llu", mapped,
				   (unsigned long long)b->npages);
			goto out;
		}
	}
	r = 0;
out:
	if (d)
		mml_device_free(d);
	mml_exit(t);
	if (!r && mml_report_count(m))
		r = bench_fail(&b->err, "mmlab: the machine reported a bug (above)");
	return r;
}

/* ---- the limit: memcpy in host memory ---- */

static int host_pass(struct notifier_bench *b)
{
	double t0;
	uint64_t i;

	for (i = 0; i < b->npages; i++) {
		bench_page_stamp(b->buf, i);
		memcpy(b->host + i * BENCH_PAGE, b->buf, BENCH_PAGE);
	}
	t0 = bench_now();
	for (i = 0; i < b->npages; i++) {
		memcpy(b->rbuf, b->host + i * BENCH_PAGE, BENCH_PAGE);
		if (!bench_page_ok(b->rbuf, i))
			return bench_fail(&b->err, "host: page %llu copied wrong", (unsigned long long)i);
	}
	bench_row_time(&b->rows[HOST_OUT], bench_now() - t0, -1);
	t0 = bench_now();
	for (i = 0; i < b->npages; i++) {
		bench_page_stamp(b->buf, i + b->npages);
		memcpy(b->host + i * BENCH_PAGE, b->buf, BENCH_PAGE);
	}
	bench_row_time(&b->rows[HOST_IN], bench_now() - t0, -1);
	for (i = 0; i < b->npages; i++)
		if (!bench_page_ok(b->host + i * BENCH_PAGE, i + b->npages))
			return bench_fail(&b->err, "host: page %llu copied wrong", (unsigned long long)i);
	return 0;
}

/*
 * Every mmlab run on one machine, made after the native runs: the host's
 * fork must not copy the page tables of its RAM.  One region at a time
 * (each pass tears its process down), the copies COW makes, page tables,
 * and room to spare.
 */
static int sim_runs(struct notifier_bench *b, unsigned reps)
{
	struct mml_machine *m;
	unsigned rep, i;
	int r = 0;

	m = mml_machine_new(&(struct mml_config){ .ram_bytes = b->ram });
	if (!m)
		return bench_fail(&b->err, "mmlab: cannot make a machine of %llu MiB",
				  (unsigned long long)(b->ram >> 20));
	/*
	 * Run 0 warms up: the machine's RAM is host memory, cold at first.
	 * The setups take turns at going first, the pass that finds the
	 * caches as the memcpy rows left them.
	 */
	for (rep = 0; rep <= reps && !r; rep++) {
		for (i = 0; i < NSETUPS && !r; i++)
			r = sim_pass(b, m, (enum setup)((rep + i) % NSETUPS));
		if (!r)
			r = device_pass(b, m);
		bench_vmstat_sample(m, rep);
		if (!r)
			r = host_pass(b);
		if (rep == 0)
			bench_rows_forget(b->rows, NAT_PHASES);
	}
	if (mml_check(m) < 0)
		r = bench_fail(&b->err, "mmlab: the invariant checker failed (above)");
	if (mml_machine_free(m) < 0)
		r = bench_fail(&b->err, "mmlab: leaks at teardown (above)");
	return r;
}

/* ---- the host kernel ---- */

static int nat_pass(struct notifier_bench *b)
{
	struct bench_row *row = &b->rows[NAT_PHASES];
	int p[2], status, r = -1;
	unsigned char *a;
	double t0;
	pid_t pid;

	a = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED)
		return bench_fail(&b->err, "native: mmap: %s", strerror(errno));
	madvise(a, b->size, MADV_NOHUGEPAGE);	/* base pages, as mmlab's */

	t0 = bench_now();
	bench_nat_write(b->npages, a, bench_byte_before);
	bench_row_time(&row[PH_WRITE], bench_now() - t0, -1);

	if (pipe(p) < 0) {
		bench_fail(&b->err, "native: pipe: %s", strerror(errno));
		goto out;
	}
	fflush(NULL);	/* nothing buffered twice */
	t0 = bench_now();
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		bench_nat_child(b->npages, a, p[0]);
	}
	if (pid > 0)
		bench_row_time(&row[PH_FORK], bench_now() - t0, -1);
	close(p[0]);
	if (pid < 0) {
		close(p[1]);
		bench_fail(&b->err, "native: fork: %s", strerror(errno));
		goto out;
	}

	t0 = bench_now();
	bench_nat_write(b->npages, a, bench_byte_after);
	bench_row_time(&row[PH_COW], bench_now() - t0, -1);
	close(p[1]);	/* the child may check now */
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
		bench_fail(&b->err, "native: the child did not see its bytes from before the fork");
		goto out;
	}
	if (bench_nat_check(&b->err, b->npages, a, bench_byte_after))
		goto out;

	t0 = bench_now();
	if (munmap(a, b->size) < 0) {
		bench_fail(&b->err, "native: munmap: %s", strerror(errno));
		goto out;
	}
	bench_row_time(&row[PH_MUNMAP], bench_now() - t0, -1);
	a = MAP_FAILED;
	r = 0;
out:
	if (a != MAP_FAILED)
		munmap(a, b->size);
	return r;
}

/* What a host fault costs here, measured: the note under the native rows. */
static void native_note(struct notifier_bench *b)
{
	const struct bench_row *w = &b->rows[NAT_PHASES + PH_WRITE], *c = &b->rows[NAT_PHASES + PH_COW];

	if (w->best < 0 || c->best < 0)
		return;
	snprintf(b->native_note, sizeof(b->native_note),
		 "the host kernel: %.1f us a write fault, %.1f us a COW fault here; a bare "
		 "machine's is near 1 us, a virtual machine's can be ten times that (a fault "
		 "on guest memory the hypervisor has not backed exits to it): the mmlab/native "
		 "ratios measure the host as much as mmlab", w->best * 1e6 / (double)w->pages,
		 c->best * 1e6 / (double)c->pages);
	b->rows[NAT_PHASES + PH_WRITE].note = b->native_note;
}

/* ---- the run ---- */

static void print_header(struct notifier_bench *b, unsigned reps, bool no_native, int cpu)
{
	struct utsname u;

	if (uname(&u) < 0)
		strcpy(u.release, "?");
	printf("mmlab bench notifier: a region of %llu KiB (%llu pages of 4 KiB), fastest of %u run%s\n",
	       (unsigned long long)(b->size >> 10), (unsigned long long)b->npages, reps,
	       reps == 1 ? "" : "s");
	printf("  mmlab: %llu MiB of simulated RAM; each phase plain, with a notifier,\n"
	       "         with the device (src/drivers/dmirror.c), each in a new process\n",
	       (unsigned long long)(b->ram >> 20));
	if (no_native)
		printf("  native: skipped (--no-native)\n");
	else
		printf("  native: Linux %s, this process, run first (its fork must not\n"
		       "          copy the simulated machine's RAM)\n", u.release);
	printf("  host device: none; only the test_hmm module (CONFIG_TEST_HMM) gives\n"
	       "          userspace a secondary MMU of the host, %s\n",
	       access(HOST_HMM_DEV, F_OK) == 0 ? "loaded here (" HOST_HMM_DEV "), not driven"
					       : "not loaded here");
	if (cpu >= 0)
		printf("  all on cpu %d\n", cpu);
	printf("\n");
	fflush(stdout);
}

int bench_notifier(int argc, char **argv)
{
	static struct notifier_bench nb;
	struct notifier_bench *b = &nb;
	struct bench_opts o;
	unsigned rep;
	int r, cpu;

	r = bench_parse(argc, argv, CMD, false, notifier_usage, &o);
	if (r >= 0)
		return r;
	memset(b, 0, sizeof(*b));
	b->size = o.size;
	b->npages = o.size / BENCH_PAGE;
	/* one region, the copies COW makes, page tables, room to spare: no reclaim */
	b->ram = 2 * b->size + b->size / 8 + (16ULL << 20);
	rows_init(b);
	bench_start(&o, b->rows, NROWS);
	b->buf = malloc(BENCH_PAGE);
	b->rbuf = malloc(BENCH_PAGE);
	b->host = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!b->buf || !b->rbuf || b->host == MAP_FAILED) {
		fprintf(stderr, "mmlab " CMD ": out of memory\n");
		r = 1;
		goto out;
	}
	bench_page_init(b->buf);
	cpu = bench_pin_cpu();
	print_header(b, o.reps, o.no_native, cpu);
	for (rep = 0; !o.no_native && rep <= o.reps; rep++) {
		if (nat_pass(b))
			break;
		if (rep == 0)
			bench_rows_forget(b->rows + NAT_PHASES, NPHASES);
	}
	if (!b->err.msg[0])
		sim_runs(b, o.reps);
	if (b->err.msg[0]) {
		fprintf(stderr, "mmlab " CMD ": %s\n", b->err.msg);
		r = 1;
		goto out;
	}
	native_note(b);
	bench_table_print(stdout, b->rows, NROWS);
	printf("\nchecks: every byte read, by the CPU and by the device; the notifier told of "
	       "no fill, of fork, of each COW copy and of munmap, over the region, with Linux's "
	       "events, every start ended, released once; the device mapped no page after "
	       "fork, COW or munmap; mmlab's invariants held; nothing leaked\n");
	r = 0;
out:
	free(b->buf);
	free(b->rbuf);
	if (b->host && b->host != MAP_FAILED)
		munmap(b->host, b->size);
	return r;
}
