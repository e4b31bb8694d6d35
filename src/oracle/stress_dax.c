/*
 * stress_dax.c - the `mmlab stress` stories of seed 001 (fs-DAX pages as
 * refcounted folios).  dax-truncate-dma: a truncate or a hole punch of a
 * /pmem file whose block a device still writes through a short-term GUP
 * reference, while another file of the mount allocates blocks.  The
 * file system must break
 * the layout first -- unmap, then wait until the block is DMA-idle
 * (dax_break_layout, refcount 0 after unmapping) -- and only then free it;
 * the device's writes land in the block it took, never in a block the
 * allocator gave another file meanwhile.  dax-reflink-fault: a
 * reflinked file's blocks faulted in through both files' mappings while
 * a write() copies one of them, page-table allocations failing now and
 * then.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "oracle/stress_internal.h"
#include "sync/sync.h"

#define PG		STRESS_PG
#define BASE		0x40000000ULL	/* the victim's shared mapping */
#define PMEM		(2ULL << 20)	/* 512 blocks, every one of them in use before the run */
#define NR_BLOCKS	(PMEM / PG)
#define VPAGES		4		/* the victim's */
#define DMA_ROUNDS	3

/* The bytes of each file's pages: the victim's, the filler's, the writer's and the device's. */
static uint8_t vpat(uint64_t p) { return (uint8_t)(0x10 + p); }
static uint8_t fpat(uint64_t p) { return (uint8_t)(0x40 + p * 3); }
static uint8_t wpat(uint64_t p) { return (uint8_t)(0xa0 + p); }
static uint8_t dpat(unsigned k) { return (uint8_t)(0xd0 + k); }

struct dax_world {
	struct stress_ctx *c;
	struct mml_task *a, *a2, *a3;	/* the truncater, the device's thread, the writer: one process */
	int victim, filler, other;
	bool punch;		/* a hole punch of the pinned page, else a truncate to 0 */
	bool get;		/* the device took a FOLL_GET reference (a driver's get_user_pages), else a FOLL_PIN */
	uint64_t page;		/* the victim's page the device writes */
	uint64_t freed;		/* the blocks the truncate or punch frees: the writer's pages */
	unsigned delay;		/* the device's yields between its writes, from the seed */
	struct mml_pin *pin;
	int removed;		/* the truncate's or punch's result */
	int done;		/* it returned (atomic) */
	int unpinned;		/* the device is letting go (atomic) */
	struct stress_verdict v;
	uint8_t buf[PG];	/* the set-up's and the final checks' */
	uint8_t dbuf[PG];	/* the device's */
	uint8_t wbuf[PG];	/* the writer's */
};

static void truncater(struct mml_task *t, void *arg)
{
	struct dax_world *w = arg;

	w->removed = w->punch ? mml_fallocate(t, w->victim, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					      (int64_t)(w->page * PG), (int64_t)PG) :
				mml_ftruncate(t, w->victim, 0);
	smp_store_release(&w->done, 1);
}

/*
 * The device writes its page a few times, reading each write back
 * through the same reference (it reaches the block it took), then lets
 * go.  Meanwhile the truncate cannot have returned: its blocks are not
 * free while the device holds one.
 */
static void device(struct mml_task *t, void *arg)
{
	struct dax_world *w = arg;

	for (unsigned k = 0; k < DMA_ROUNDS; k++) {
		for (unsigned i = 0; i < w->delay; i++)
			mml_sched_yield();
		memset(w->dbuf, dpat(k), PG);
		if (mml_dma_write(w->pin, 0, w->dbuf, PG) || mml_dma_read(w->pin, 0, w->dbuf, PG))
			stress_note(&w->v, "the device's DMA to its page failed");
		else if (w->dbuf[0] != dpat(k) || w->dbuf[PG - 1] != dpat(k))
			stress_note(&w->v, "the device reads %#x back from its page, not its write %#x "
				    "(another file's bytes in its block)", w->dbuf[0], dpat(k));
		if (smp_load_acquire(&w->done))
			stress_note(&w->v, "the %s returned while the device still held the block",
				    w->punch ? "hole punch" : "truncate");
	}
	/* before: the reference goes inside mml_unpin, a truncate may free the block before it returns */
	smp_store_release(&w->unpinned, 1);
	mml_unpin(w->pin);
	w->pin = NULL;
}

/*
 * Another file of the full mount grows by as many pages as the victim
 * gives back: each write fails with ENOSPC until blocks are freed, which
 * must be after the device let go.
 */
static void writer(struct mml_task *t, void *arg)
{
	struct dax_world *w = arg;

	for (uint64_t p = 0; p < w->freed && !w->v.why[0]; p++) {
		long n;

		memset(w->wbuf, wpat(p), PG);
		while ((n = mml_pwrite(t, w->other, w->wbuf, PG, (int64_t)(p * PG))) == -ENOSPC)
			mml_sched_yield();
		if (n != (long)PG)
			stress_note(&w->v, "the writer's pwrite of page %llu returned %ld", (unsigned long long)p, n);
		else if (!smp_load_acquire(&w->unpinned))
			stress_note(&w->v, "the writer got a block while the device still held the victim's");
	}
}

/* Every byte of fd's pages [0, n) is pat(page), but page zero's (a punched hole: zeros). */
static int file_bytes(struct dax_world *w, int fd, uint64_t n, uint8_t (*pat)(uint64_t), uint64_t zero,
		      const char *who)
{
	for (uint64_t p = 0; p < n; p++) {
		uint8_t want = p == zero ? 0 : pat(p);
		long got = mml_pread(w->a, fd, w->buf, PG, (int64_t)(p * PG));

		if (got != (long)PG)
			return stress_fail(w->c, "%s: pread of page %llu returned %ld", who, (unsigned long long)p, got);
		for (uint64_t i = 0; i < PG; i++)
			if (w->buf[i] != want)
				return stress_fail(w->c, "%s: page %llu reads %#x at %llu, not %#x", who,
						   (unsigned long long)p, w->buf[i], (unsigned long long)i, want);
	}
	return 0;
}

static int fill(struct dax_world *w, int fd, uint64_t n, uint8_t (*pat)(uint64_t))
{
	for (uint64_t p = 0; p < n; p++) {
		memset(w->buf, pat(p), PG);
		if (mml_pwrite(w->a, fd, w->buf, PG, (int64_t)(p * PG)) != (long)PG)
			return -ENOSPC;
	}
	return 0;
}

/* A, its two threads, the three files (the mount full), the victim mapped and its page held by the device. */
static int world_make(struct dax_world *w, struct stress_ctx *c)
{
	uint8_t v = 0;
	long n;
	int err;

	w->c = c;
	w->punch = c->seed / 2 % 2;
	w->get = c->seed % 2;
	w->page = c->seed / 4 % VPAGES;
	w->freed = w->punch ? 1 : VPAGES;
	w->delay = (unsigned)(c->seed * 13 % 97);
	if ((err = mml_spawn(c->m, &w->a)) || (err = mml_thread_new(w->a, &w->a2)) ||
	    (err = mml_thread_new(w->a, &w->a3)))
		return err;
	w->victim = mml_open(w->a, "/pmem/victim", O_RDWR | O_CREAT, 0600);
	w->filler = mml_open(w->a, "/pmem/filler", O_RDWR | O_CREAT, 0600);
	w->other = mml_open(w->a, "/pmem/other", O_RDWR | O_CREAT, 0600);
	if (w->victim < 0 || w->filler < 0 || w->other < 0)
		return -EIO;
	if ((err = fill(w, w->victim, VPAGES, vpat)) || (err = fill(w, w->filler, NR_BLOCKS - VPAGES, fpat)))
		return err;
	if (mml_mmap(w->a, BASE, VPAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, w->victim, 0) !=
	    (long)BASE || mml_read(w->a, BASE + w->page * PG, &v, 1) || v != vpat(w->page))
		return -EIO;
	n = w->get ? mml_get_user_pages(w->a2, BASE + w->page * PG, 1, MML_FOLL_WRITE, &w->pin) :
		     mml_pin_user_pages(w->a2, BASE + w->page * PG, 1, MML_FOLL_WRITE, &w->pin);
	return n == 1 ? 0 : -EIO;
}

/* The run and its checks on w, set up. */
static int dax_truncate_dma_run(struct stress_ctx *c, struct dax_world *w)
{
	struct mml_task *tasks[3] = { w->a, w->a2, w->a3 };
	mml_thread_fn fns[3] = { truncater, device, writer };
	void *args[3] = { w, w, w };
	struct statvfs sv;
	int err;

	if (stress_sched_run(c, 3, tasks, fns, args))
		return 1;
	if (w->v.why[0])
		return stress_fail(c, "%s (%s, %s reference)", w->v.why, w->punch ? "punch" : "truncate",
				   w->get ? "FOLL_GET" : "FOLL_PIN");
	if (w->removed)
		return stress_fail(c, "the %s returned %d", w->punch ? "hole punch" : "truncate", w->removed);
	/* the victim keeps its other pages (a punch), the filler all, the writer has its own bytes */
	if ((w->punch && file_bytes(w, w->victim, VPAGES, vpat, w->page, "the victim")) ||
	    file_bytes(w, w->filler, NR_BLOCKS - VPAGES, fpat, ~0ULL, "the filler") ||
	    file_bytes(w, w->other, w->freed, wpat, ~0ULL, "the writer's file"))
		return 1;
	if ((err = mml_statvfs(w->a, "/pmem/", &sv)) || sv.f_bfree)
		return stress_fail(c, "statvfs: %d, %llu blocks free, not 0 (the writer took what was freed)", err,
				   (unsigned long long)sv.f_bfree);
	return 0;
}

static int dax_truncate_dma(struct stress_ctx *c)
{
	struct dax_world *w = calloc(1, sizeof(*w));
	int ret;

	if (!w)
		return -ENOMEM;
	ret = world_make(w, c);
	if (!ret)
		ret = dax_truncate_dma_run(c, w);
	else if (w->pin)
		mml_unpin(w->pin);
	if (!c->parked)	/* else its threads, parked for good, still point into it */
		free(w);
	return ret;
}

/* ---- dax-reflink-fault: both clones' mappings fault the shared blocks in -------------- */

#define RPAGES		8
#define RETRIES		64

struct reflink_world {
	struct stress_ctx *c;
	struct mml_task *a, *a2, *b;	/* A maps the source, B the clone; A2 writes the clone */
	int src, dst, bdst;
	uint64_t page;			/* the clone's page A2 writes */
	int written;			/* it did (atomic) */
	struct stress_verdict v;
};

/*
 * Read every page of a clone through t's mapping, each again and again
 * while the pte table's allocation fails (-ENOMEM, injected); the bytes
 * are the source's, or the writer's on its page of the clone.
 */
static void reflink_read(struct reflink_world *w, struct mml_task *t, bool clone, const char *who)
{
	for (unsigned round = 0; round < 2; round++) {
		for (uint64_t p = 0; p < RPAGES; p++) {
			bool written = smp_load_acquire(&w->written);
			uint8_t v = 0;
			int err = -ENOMEM;

			for (int i = 0; i < RETRIES && err == -ENOMEM; i++)
				err = mml_read(t, BASE + p * PG, &v, 1);
			if (err)
				stress_note(&w->v, "%s: reading page %llu: %d", who, (unsigned long long)p, err);
			else if (v != vpat(p) && !(clone && p == w->page && v == wpat(p)))
				stress_note(&w->v, "%s: page %llu reads %#x", who, (unsigned long long)p, v);
			else if (clone && p == w->page && written && v != wpat(p))
				stress_note(&w->v, "%s: page %llu reads %#x after the write()", who, (unsigned long long)p, v);
		}
	}
}

static void src_reader(struct mml_task *t, void *arg)
{
	reflink_read(arg, t, false, "the source's reader");
}

static void dst_reader(struct mml_task *t, void *arg)
{
	reflink_read(arg, t, true, "the clone's reader");
}

/* A write() to a shared block copies it first, breaking the clone's layout (B's mapping) to do so. */
static void clone_writer(struct mml_task *t, void *arg)
{
	struct reflink_world *w = arg;
	uint8_t v = wpat(w->page);
	long n = mml_pwrite(t, w->dst, &v, 1, (int64_t)(w->page * PG));

	if (n != 1)
		stress_note(&w->v, "the clone's pwrite returned %ld", n);
	smp_store_release(&w->written, 1);
}

static int reflink_make(struct reflink_world *w, struct stress_ctx *c)
{
	uint8_t buf[PG];

	w->c = c;
	w->page = c->seed % RPAGES;
	if (mml_spawn(c->m, &w->a) || mml_thread_new(w->a, &w->a2) || mml_spawn(c->m, &w->b))
		return -ENOMEM;
	w->src = mml_open(w->a, "/pmem/src", O_RDWR | O_CREAT, 0600);
	w->dst = mml_open(w->a, "/pmem/dst", O_RDWR | O_CREAT, 0600);
	if (w->src < 0 || w->dst < 0)
		return -EIO;
	for (uint64_t p = 0; p < RPAGES; p++) {
		memset(buf, vpat(p), PG);
		if (mml_pwrite(w->a, w->src, buf, PG, (int64_t)(p * PG)) != (long)PG)
			return -EIO;
	}
	if (mml_ficlone(w->a, w->dst, w->src))
		return -EIO;
	w->bdst = mml_open(w->b, "/pmem/dst", O_RDWR, 0);
	if (w->bdst < 0 ||
	    mml_mmap(w->a, BASE, RPAGES * PG, PROT_READ, MAP_SHARED | MAP_FIXED, w->src, 0) != (long)BASE ||
	    mml_mmap(w->b, BASE, RPAGES * PG, PROT_READ, MAP_SHARED | MAP_FIXED, w->bdst, 0) != (long)BASE)
		return -EIO;
	return 0;
}

static int dax_reflink_fault(struct stress_ctx *c)
{
	struct reflink_world w = { 0 };
	struct mml_fail f = { .sites = MML_FAIL_PGTABLE, .rate_ppm = 150000, .seed = c->seed };
	struct mml_task *tasks[3];
	mml_thread_fn fns[3] = { src_reader, dst_reader, clone_writer };
	void *args[3] = { &w, &w, &w };
	uint8_t v;
	int err;

	if ((err = reflink_make(&w, c)))
		return err;
	tasks[0] = w.a;
	tasks[1] = w.b;
	tasks[2] = w.a2;
	if (mml_fail_set(c->m, &f))
		return -EINVAL;
	err = stress_sched_run(c, 3, tasks, fns, args);
	if (c->parked)
		return 1;
	mml_fail_set(c->m, NULL);
	if (err)
		return 1;
	if (w.v.why[0])
		return stress_fail(c, "%s", w.v.why);
	/* the source keeps its bytes, the clone has the write on its page alone */
	for (uint64_t p = 0; p < RPAGES; p++) {
		if (mml_pread(w.a, w.src, &v, 1, (int64_t)(p * PG)) != 1 || v != vpat(p))
			return stress_fail(c, "the source's page %llu reads %#x", (unsigned long long)p, v);
		if (mml_pread(w.a, w.dst, &v, 1, (int64_t)(p * PG)) != 1 || v != (p == w.page ? wpat(p) : vpat(p)))
			return stress_fail(c, "the clone's page %llu reads %#x", (unsigned long long)p, v);
	}
	return 0;
}

const struct stress_story stress_dax_stories[] = {
	{ "dax-truncate-dma", "a truncate or hole punch of a /pmem (fs-DAX) file while a device writes one of its "
			      "blocks through a short-term GUP reference, and another file of the full mount waits "
			      "for blocks (dax_break_layout: unmap, wait for DMA-idle, then free)",
	  0, dax_truncate_dma, 0, PMEM },
	{ "dax-reflink-fault", "two processes read-fault a /pmem file and its FICLONE clone through their mappings "
			       "(the blocks' folios shared, PAGE_MAPPING_DAX_SHARED) while a write() copies a block of "
			       "the clone, page-table allocations failing now and then (failed DAX inserts)",
	  0, dax_reflink_fault, 0, PMEM },
};
const unsigned stress_dax_nstories = sizeof(stress_dax_stories) / sizeof(stress_dax_stories[0]);
