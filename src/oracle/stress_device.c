/*
 * stress_device.c - `mmlab stress` stories of a secondary MMU and of page
 * migration against the process's own threads.
 *
 * device-cow is seed 002's hazard: a device mirroring a process (its own
 * page table, filled by hmm_range_fault, emptied by its interval notifier)
 * keeps writing while another thread forks the process and then writes the
 * same pages, which copy-on-write gives new frames.  Every translation the
 * device holds must be gone before the process's page tables change, or
 * its writes land in the frame the child now has alone.
 *
 * migrate-fault moves a process's pages between two nodes while its other
 * threads write them, fork it and pin one for DMA: migration entries met
 * by faults, fork copying them, a pin that keeps its page in place.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/mman.h>

#include "oracle/stress_internal.h"
#include "sync/sync.h"

#define PG		STRESS_PG
#define BASE		0x40000000ULL
#define NPAGES		8

/* Byte 0 of each page is the CPU's, byte 1 the device's (or the migration story's second writer's). */
static uint8_t cpu_before(uint64_t p)
{
	return (uint8_t)(p * 11 + 3);
}

static uint8_t cpu_after(uint64_t p)
{
	return (uint8_t)~cpu_before(p);
}

static uint8_t dev_before(uint64_t p)
{
	return (uint8_t)(p + 0x10);
}

/* The device's k-th write (k from 1): above every byte the stories write otherwise. */
static uint8_t dev_value(unsigned k)
{
	return (uint8_t)(0x80 | (k & 0x7f));
}

/* NPAGES pages at BASE in t, bytes 0 and 1 of each set. */
static int map_pages(struct mml_task *t)
{
	if (mml_mmap(t, BASE, NPAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) !=
	    (long)BASE)
		return -ENOMEM;
	for (uint64_t p = 0; p < NPAGES; p++) {
		uint8_t v[2] = { cpu_before(p), dev_before(p) };
		int err = mml_write(t, BASE + p * PG, v, 2);

		if (err)
			return err;
	}
	return 0;
}

/* Byte off of page p as t reads it. */
static int byte_at(struct mml_task *t, uint64_t p, unsigned off, uint8_t *v)
{
	return mml_read(t, BASE + p * PG + off, v, 1);
}

/* ---- device-cow: a mirroring device against fork and copy-on-write ---------------------------- */

#define DEV_WRITES	64

struct device_world {
	struct mml_device *dev;		/* writes: its translations writable, so it breaks COW on a fault */
	struct mml_device *reader;	/* reads, and refaults what an invalidation took at once */
	struct mml_task *child;
	int forked;			/* the fork has returned (atomic) */
	unsigned first_after;		/* the first device write begun after it; 0: none yet */
	uint8_t last[NPAGES];		/* the device's last write to each page */
	int cpu_wrote[NPAGES];		/* the parent's write of the page has returned (atomic) */
	unsigned delay;			/* yields before the fork, from the seed */
	struct stress_verdict v;
};

/*
 * The reading device reads page q's CPU byte: the parent's, once its write
 * has returned.  Its translations are read-only, so after the fork they
 * point at frames the child shares, until the parent's copy-on-write must
 * take them away.
 */
static void dev_check_read(struct device_world *w, uint64_t q)
{
	bool written = smp_load_acquire(&w->cpu_wrote[q]);
	uint8_t r = 0;
	int err = mml_device_read(w->reader, BASE + q * PG, &r, 1);

	if (err || (r != cpu_after(q) && (written || r != cpu_before(q))))
		stress_note(&w->v, "the device reads %#x from page %llu (error %d)%s", r, (unsigned long long)q, err,
			written ? " after the parent wrote it: a frame the parent no longer maps" : "");
}

/*
 * One device writes byte 1 of the pages, one after another, round and
 * round; the other reads two other pages' CPU bytes on the way.
 */
static void dev_writer(struct mml_task *t, void *arg)
{
	struct device_world *w = arg;

	for (unsigned k = 1; k <= DEV_WRITES && !w->v.why[0]; k++) {
		uint64_t p = k % NPAGES;
		uint8_t v = dev_value(k);
		int err;

		if (!w->first_after && smp_load_acquire(&w->forked))
			w->first_after = k;
		dev_check_read(w, (k + 3) % NPAGES);
		dev_check_read(w, (k + 5) % NPAGES);
		err = mml_device_write(w->dev, BASE + p * PG + 1, &v, 1);
		if (err)
			stress_note(&w->v, "the device's write %u (page %llu): %d", k, (unsigned long long)p, err);
		w->last[p] = v;
	}
}

/* Forks the process, then writes byte 0 of every page: each write copies the page for the parent. */
static void forker(struct mml_task *t, void *arg)
{
	struct device_world *w = arg;
	int err;

	for (unsigned i = 0; i < w->delay; i++)
		mml_sched_yield();
	if ((err = mml_fork(t, &w->child))) {
		stress_note(&w->v, "fork: %d", err);
		return;
	}
	smp_store_release(&w->forked, 1);
	for (uint64_t p = 0; p < NPAGES && !w->v.why[0]; p++) {
		uint8_t v = cpu_after(p);

		if ((err = mml_write(t, BASE + p * PG, &v, 1)))
			stress_note(&w->v, "the parent's write of page %llu: %d", (unsigned long long)p, err);
		smp_store_release(&w->cpu_wrote[p], 1);
	}
}

/*
 * The child has what the parent had at the fork: the device's writes of
 * before it, never one begun after it returned.
 */
static int child_byte_ok(const struct device_world *w, uint64_t p, uint8_t v)
{
	if (v == dev_before(p))
		return 1;
	for (unsigned k = 1; k <= DEV_WRITES && (!w->first_after || k < w->first_after); k++)
		if (k % NPAGES == p && v == dev_value(k))
			return 1;
	return 0;
}

static int device_cow(struct stress_ctx *c)
{
	struct device_world w = { .delay = (unsigned)(c->seed * 29 % 400) };
	struct mml_task *tasks[2];
	mml_thread_fn fns[2] = { dev_writer, forker };
	void *args[2] = { &w, &w };
	int err, ret = 0;

	if ((err = mml_spawn(c->m, &tasks[0])) || (err = mml_thread_new(tasks[0], &tasks[1])) ||
	    (err = map_pages(tasks[0])) || (err = mml_device_new(tasks[0], 0, &w.dev)) ||
	    (err = mml_device_new(tasks[0], MML_DEV_REFAULT, &w.reader)))
		return err;
	if (stress_sched_run(c, 2, tasks, fns, args))
		return 1;
	if (w.v.why[0])
		ret = stress_fail(c, "%s", w.v.why);
	for (uint64_t p = 0; p < NPAGES && !ret; p++) {
		uint8_t pb0 = 0, pb1 = 0, cb0 = 0, cb1 = 0;

		if (byte_at(tasks[0], p, 0, &pb0) || byte_at(tasks[0], p, 1, &pb1) ||
		    byte_at(w.child, p, 0, &cb0) || byte_at(w.child, p, 1, &cb1))
			ret = stress_fail(c, "reading page %llu back failed", (unsigned long long)p);
		else if (pb1 != w.last[p] && w.last[p])
			ret = stress_fail(c, "the parent reads %#x where the device last wrote %#x (page %llu): the "
					  "device wrote a frame the parent no longer maps", pb1, w.last[p],
					  (unsigned long long)p);
		else if (!child_byte_ok(&w, p, cb1))
			ret = stress_fail(c, "the child reads %#x, a device write begun after the fork (page %llu; "
					  "writes from %u on came after it)", cb1, (unsigned long long)p, w.first_after);
		else if (pb0 != cpu_after(p) || cb0 != cpu_before(p))
			ret = stress_fail(c, "page %llu's CPU byte: the parent reads %#x (not %#x), the child %#x "
					  "(not %#x)", (unsigned long long)p, pb0, cpu_after(p), cb0, cpu_before(p));
	}
	/* while the device still has its table: the checker compares it with the process's (invariant 4) */
	if (!ret && mml_check(c->m))
		ret = stress_fail(c, "the invariant checker failed with the device attached (a translation the "
				  "process no longer has?)");
	mml_device_free(w.dev);
	mml_device_free(w.reader);
	return ret;
}

/* ---- migrate-fault: move_pages against writes, fork and a pin ----------------------------------- */

#define MIGRATIONS	24
#define PINNED		(NPAGES - 1)
#define DMA_BYTE	0x5d
#define NOT_TRIED	(-100000)	/* a status move_pages never writes */

struct migrate_world {
	uint8_t written[NPAGES];	/* the writer's last byte 1 of each page */
	struct stress_verdict v;
};

/*
 * Moves every page to the other node, again and again.  A page in use stays
 * where it is (-EBUSY, -EAGAIN), and so does one the fork shared with the
 * child (-EACCES without MPOL_MF_MOVE_ALL), as move_pages(2) says.  When
 * a batch fails to migrate, the call returns how many pages it did not
 * move and leaves the status of that batch and of the pages after it
 * as they were, as Linux's do_pages_move does.
 */
static void migrator(struct mml_task *t, void *arg)
{
	struct migrate_world *w = arg;
	uint64_t pages[NPAGES];
	int nodes[NPAGES], status[NPAGES];

	for (unsigned k = 0; k < MIGRATIONS && !w->v.why[0]; k++) {
		long r;

		for (unsigned p = 0; p < NPAGES; p++) {
			pages[p] = BASE + p * PG;
			nodes[p] = (int)((k + p) % 2);
			status[p] = NOT_TRIED;
		}
		r = mml_move_pages(t, NPAGES, pages, nodes, status, 0);
		if (r < 0)
			stress_note(&w->v, "move_pages: %ld", r);
		for (unsigned p = 0; p < NPAGES && r >= 0; p++)
			if (status[p] < 0 && status[p] != -EBUSY && status[p] != -EAGAIN && status[p] != -EACCES &&
			    status[p] != NOT_TRIED)
				stress_note(&w->v, "move_pages of page %u: status %d", p, status[p]);
	}
}

/* Writes byte 1 of every page but the pinned one, round after round. */
static void migrate_writer(struct mml_task *t, void *arg)
{
	struct migrate_world *w = arg;

	for (unsigned k = 1; k <= 4 * NPAGES && !w->v.why[0]; k++) {
		uint64_t p = k % PINNED;
		uint8_t v = dev_value(k);
		int err = mml_write(t, BASE + p * PG + 1, &v, 1);

		if (err)
			stress_note(&w->v, "the writer's write %u (page %llu): %d", k, (unsigned long long)p, err);
		w->written[p] = v;
	}
}

/* Forks; the child's CPU bytes are as before, whatever node its pages are on; the child exits. */
static void migrate_forker(struct mml_task *t, void *arg)
{
	struct migrate_world *w = arg;
	struct mml_task *child = NULL;
	int err = mml_fork(t, &child);

	if (err) {
		stress_note(&w->v, "fork: %d", err);
		return;
	}
	for (uint64_t p = 0; p < NPAGES && !w->v.why[0]; p++) {
		uint8_t v = 0;

		if ((err = byte_at(child, p, 0, &v)) || v != cpu_before(p))
			stress_note(&w->v, "the child reads %#x at page %llu (error %d), not %#x", v, (unsigned long long)p,
				err, cpu_before(p));
	}
	mml_exit(child);
}

/* A long-term pin of one page, written by DMA: the process must keep mapping the pinned frame. */
static void migrate_pinner(struct mml_task *t, void *arg)
{
	struct migrate_world *w = arg;
	struct mml_pin *pin = NULL;
	uint8_t v = DMA_BYTE;
	long n = mml_pin_user_pages(t, BASE + PINNED * PG + 1, 1, MML_FOLL_WRITE | MML_FOLL_LONGTERM | MML_FOLL_FAST,
				    &pin);
	int err;

	if (n != 1) {
		stress_note(&w->v, "pinning: %ld", n);
		return;
	}
	if ((err = mml_dma_write(pin, 1, &v, 1)))
		stress_note(&w->v, "DMA: %d", err);
	mml_sched_yield();
	if (!stress_pin_still_mapped(t, BASE + PINNED * PG, pin))
		stress_note(&w->v, "the pinned page left the process while pinned");
	mml_unpin(pin);
}

static int migrate_fault(struct stress_ctx *c)
{
	struct migrate_world w = { 0 };
	struct mml_task *tasks[4];
	mml_thread_fn fns[4] = { migrator, migrate_writer, migrate_forker, migrate_pinner };
	void *args[4] = { &w, &w, &w, &w };
	int err;

	if ((err = mml_spawn(c->m, &tasks[0])) || (err = mml_thread_new(tasks[0], &tasks[1])) ||
	    (err = mml_thread_new(tasks[0], &tasks[2])) || (err = mml_thread_new(tasks[0], &tasks[3])) ||
	    (err = map_pages(tasks[0])))
		return err;
	if (stress_sched_run(c, 4, tasks, fns, args))
		return 1;
	if (w.v.why[0])
		return stress_fail(c, "%s", w.v.why);
	for (uint64_t p = 0; p < NPAGES; p++) {
		uint8_t b0 = 0, b1 = 0;
		uint8_t want1 = p == PINNED ? DMA_BYTE : w.written[p] ? w.written[p] : dev_before(p);

		if (byte_at(tasks[0], p, 0, &b0) || byte_at(tasks[0], p, 1, &b1) || b0 != cpu_before(p) || b1 != want1)
			return stress_fail(c, "the process reads %#x %#x at page %llu, not %#x %#x", b0, b1,
					   (unsigned long long)p, cpu_before(p), want1);
	}
	return 0;
}

const struct stress_story stress_device_stories[] = {
	{ "device-cow", "a device mirroring a process (hmm_range_fault, its interval notifier) writes its pages "
			"while another thread forks the process and writes them (seed 002)", 0, device_cow },
	{ "migrate-fault", "move_pages between two nodes while threads of the process write its pages, fork it "
			   "and pin one for DMA (migration entries against faults, fork and GUP-fast)", 0,
	  migrate_fault, 2 },
};
const unsigned stress_device_nstories = sizeof(stress_device_stories) / sizeof(stress_device_stories[0]);
