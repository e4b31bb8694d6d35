/*
 * stress_swap.c - `mmlab stress` stories of swap, reclaim and the OOM
 * killer: swapoff bringing pages back while threads of their process fault
 * them in and fork it; reclaim and zaps taking pages while threads fault,
 * fork and pin them; the OOM killer choosing a process whose threads are
 * exiting on their own.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>

#include "oracle/stress_internal.h"
#include "sync/sync.h"

#define PG		STRESS_PG
#define BASE		0x40000000ULL

/* The byte a page starts with, and the one a writer puts there instead. */
static uint8_t pattern(uint64_t page)
{
	return (uint8_t)(page * 13 + 5);
}

static uint8_t rewritten(uint64_t page)
{
	return (uint8_t)~pattern(page);
}

/* Map n pages at BASE in t, each starting with its pattern. */
static int map_pattern(struct mml_task *t, uint64_t n)
{
	if (mml_mmap(t, BASE, n * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) !=
	    (long)BASE)
		return -ENOMEM;
	for (uint64_t p = 0; p < n; p++) {
		uint8_t v = pattern(p);
		int err = mml_write(t, BASE + p * PG, &v, 1);

		if (err)
			return err;
	}
	return 0;
}

/* How many of t's first n pages are swap entries now (pagemap). */
static int swapped_pages(struct mml_task *t, uint64_t n)
{
	int swapped = 0;

	for (uint64_t p = 0; p < n; p++) {
		uint64_t e = 0;

		if (!mml_pagemap(t, BASE + p * PG, &e) && (e & MML_PM_SWAP))
			swapped++;
	}
	return swapped;
}

/* ---- swapoff-fault: try_to_unuse against do_swap_page, and a fork ------------------------- */

/*
 * A process's pages are all swapped out; swapoff brings them back while
 * three threads of the process read them, write the odd ones, and fork
 * the process (the child's swap ptes are ones the walk may not have held)
 * and read the child's.  Every byte must come back, swapoff must succeed
 * and leave nothing in swap.
 */
#define SO_PAGES	8

struct swapoff_world {
	struct mml_machine *m;
	int type;		/* the swap device */
	uint64_t start;		/* the reader's first page, from the seed */
	int swapoff_ret;
	struct stress_verdict v;
};

/* Before the story ends, odd pages may read either byte. */
static bool so_allowed(uint64_t p, uint8_t v)
{
	return v == pattern(p) || ((p & 1) && v == rewritten(p));
}

static void so_swapoff(struct mml_task *t, void *arg)
{
	struct swapoff_world *w = arg;

	(void)t;
	w->swapoff_ret = mml_swapoff(w->m, w->type);
}

/* Reads every page in, from a page the seed picks. */
static void so_reader(struct mml_task *t, void *arg)
{
	struct swapoff_world *w = arg;

	for (uint64_t i = 0; i < SO_PAGES && !w->v.why[0]; i++) {
		uint64_t p = (i + w->start) % SO_PAGES;
		uint8_t v = 0;
		int err = mml_read(t, BASE + p * PG, &v, 1);

		if (err || !so_allowed(p, v))
			stress_note(&w->v, "the reader reads %#x at page %llu (error %d)", v, (unsigned long long)p, err);
	}
}

/* Writes the odd pages: write faults on swap entries. */
static void so_writer(struct mml_task *t, void *arg)
{
	struct swapoff_world *w = arg;

	for (uint64_t p = 1; p < SO_PAGES && !w->v.why[0]; p += 2) {
		uint8_t v = rewritten(p);
		int err = mml_write(t, BASE + p * PG, &v, 1);

		if (err)
			stress_note(&w->v, "the writer's write of page %llu: %d", (unsigned long long)p, err);
	}
}

/* Forks the process, reads the child's pages (swap faults in another mm), then ends the child. */
static void so_forker(struct mml_task *t, void *arg)
{
	struct swapoff_world *w = arg;
	struct mml_task *child = NULL;
	int err = mml_fork(t, &child);

	if (err) {
		stress_note(&w->v, "fork: %d", err);
		return;
	}
	for (uint64_t p = 0; p < SO_PAGES && !w->v.why[0]; p++) {
		uint8_t v = 0;

		err = mml_read(child, BASE + p * PG, &v, 1);
		if (err || !so_allowed(p, v))
			stress_note(&w->v, "the child reads %#x at page %llu (error %d)", v, (unsigned long long)p, err);
	}
	mml_exit(child);
}

static int swapoff_fault(struct stress_ctx *c)
{
	struct swapoff_world w = { .m = c->m, .start = c->seed % SO_PAGES };
	struct mml_task *tasks[4];
	mml_thread_fn fns[4] = { so_swapoff, so_reader, so_writer, so_forker };
	void *args[4] = { &w, &w, &w, &w };
	int err;

	w.type = mml_swapon(c->m, NULL, 64 * PG, -1);
	if (w.type < 0)
		return w.type;
	/* swapoff is the machine's call: its thread runs on a process of its own */
	if ((err = mml_spawn(c->m, &tasks[0])) || (err = mml_spawn(c->m, &tasks[1])) ||
	    (err = mml_thread_new(tasks[1], &tasks[2])) || (err = mml_thread_new(tasks[1], &tasks[3])) ||
	    (err = map_pattern(tasks[1], SO_PAGES)) ||
	    (err = mml_madvise(tasks[1], BASE, SO_PAGES * PG, MADV_PAGEOUT)))
		return err;
	if (swapped_pages(tasks[1], SO_PAGES) != SO_PAGES)
		return -EIO;
	if (stress_sched_run(c, 4, tasks, fns, args))
		return 1;
	if (w.v.why[0])
		return stress_fail(c, "%s", w.v.why);
	if (w.swapoff_ret)
		return stress_fail(c, "swapoff returned %d", w.swapoff_ret);
	for (uint64_t p = 0; p < SO_PAGES; p++)
		if (stress_expect_byte(c, tasks[1], "the process", BASE + p * PG, p & 1 ? rewritten(p) : pattern(p)))
			return 1;
	if (swapped_pages(tasks[1], SO_PAGES))
		return stress_fail(c, "%d page(s) still swapped out after swapoff", swapped_pages(tasks[1], SO_PAGES));
	if ((err = mml_swapoff(c->m, w.type)) != -EINVAL)
		return stress_fail(c, "the device is still on after swapoff (a second swapoff: %d)", err);
	return 0;
}

/* ---- reclaim-fault: pageout, zaps and reclaim against faults, a fork and a pin ----------------- */

/*
 * Pages 0..RF_RECYCLED-1 (not inherited by a fork: MADV_DONTFORK, as an
 * I/O buffer) are recycled by the reclaimer, round after round: staged
 * (written, paged out), dropped (MADV_DONTNEED), written again and paged
 * out again, while the faulter keeps reading the one being recycled; once
 * the reclaimer says a page is done, the faulter must read its new bytes.
 * Pages up to RF_PIN-1 are the faulter's to rewrite and everyone's to page
 * out (and the fork's); page RF_PIN is pinned for DMA.  Two swap devices,
 * as a small fast one in front of a disk: the first has one slot, taken
 * whenever it is free, so a recycled page's slot is often the one its
 * previous bytes had.
 */
#define RF_RECYCLED	2
#define RF_PIN		5
#define RF_PAGES	(RF_PIN + 1)
#define RF_ROUNDS	2
#define RF_SPIN		2000	/* reads of a recycled page, or waits for the faulter, before giving up */

static uint8_t staged(uint64_t page, unsigned round)
{
	return (uint8_t)(pattern(page) + 0x20 + round);
}

static uint8_t recycled(uint64_t page, unsigned round)
{
	return (uint8_t)(pattern(page) + 0x40 + round);
}

#define DMA_BYTE	0xd3

/* May page p read v at some moment of the story (in the process, or the fork's copy of it)? */
static bool rf_allowed(uint64_t p, uint8_t v)
{
	if (v == pattern(p))
		return true;
	if (p < RF_RECYCLED) {
		for (unsigned r = 0; r < RF_ROUNDS; r++)
			if (v == staged(p, r) || v == recycled(p, r))
				return true;
		return v == 0;	/* dropped, not written yet */
	}
	return v == (p == RF_PIN ? DMA_BYTE : rewritten(p));
}

struct reclaim_world {
	struct stress_verdict v;
	int done[RF_RECYCLED];	/* rounds the reclaimer finished on a page (release) */
	int seen[RF_RECYCLED];	/* rounds whose bytes the faulter read back (release) */
};

static int rf_read(struct reclaim_world *w, struct mml_task *t, uint64_t p, uint8_t *v)
{
	int err = mml_read(t, BASE + p * PG, v, 1);

	if (err || !rf_allowed(p, *v))
		stress_note(&w->v, "page %llu reads %#x, which it never held (error %d)", (unsigned long long)p, *v, err);
	return err;
}

/*
 * Keeps reading each recycled page (swap faults whenever the reclaimer
 * has paged it out) until the reclaimer is done with it, then checks its
 * new bytes; then reads the others, rewriting its own once.
 */
static void rf_faulter(struct mml_task *t, void *arg)
{
	struct reclaim_world *w = arg;
	uint8_t v = 0;
	int err;

	for (unsigned r = 0; r < RF_ROUNDS && !w->v.why[0]; r++) {
		for (uint64_t p = 0; p < RF_RECYCLED && !w->v.why[0]; p++) {
			for (int i = 0; i < RF_SPIN && !w->v.why[0]; i++) {
				bool done = smp_load_acquire(&w->done[p]) > (int)r;

				if (rf_read(w, t, p, &v))
					break;
				if (done) {
					if (v != recycled(p, r))
						stress_note(&w->v, "page %llu reads %#x after the reclaimer rewrote it with "
							"%#x", (unsigned long long)p, v, recycled(p, r));
					break;
				}
				mml_sched_yield();
			}
			smp_store_release(&w->seen[p], (int)r + 1);
		}
		for (uint64_t p = RF_RECYCLED; p < RF_PAGES && !w->v.why[0]; p++) {
			if (rf_read(w, t, p, &v) || r || p == RF_PIN)
				continue;
			v = rewritten(p);
			if ((err = mml_write(t, BASE + p * PG, &v, 1)))
				stress_note(&w->v, "the faulter's write of page %llu: %d", (unsigned long long)p, err);
		}
	}
}

/*
 * Recycles each recycled page (once the faulter has read the last round's
 * bytes), then pages everything out, then direct reclaim, as memory
 * pressure would.
 */
static void rf_reclaimer(struct mml_task *t, void *arg)
{
	struct reclaim_world *w = arg;
	int err;

	for (unsigned r = 0; r < RF_ROUNDS && !w->v.why[0]; r++) {
		for (uint64_t p = 0; p < RF_RECYCLED && !w->v.why[0]; p++) {
			uint8_t v = staged(p, r), v2 = recycled(p, r);

			for (int i = 0; i < RF_SPIN && smp_load_acquire(&w->seen[p]) < (int)r && !w->v.why[0]; i++)
				mml_sched_yield();
			if ((err = mml_write(t, BASE + p * PG, &v, 1)) ||
			    (err = mml_madvise(t, BASE + p * PG, PG, MADV_PAGEOUT)) ||
			    (err = mml_madvise(t, BASE + p * PG, PG, MADV_DONTNEED)) ||
			    (err = mml_write(t, BASE + p * PG, &v2, 1)) ||
			    (err = mml_madvise(t, BASE + p * PG, PG, MADV_PAGEOUT)))
				stress_note(&w->v, "recycling page %llu: %d", (unsigned long long)p, err);
			smp_store_release(&w->done[p], (int)r + 1);
		}
		if ((err = mml_madvise(t, BASE, RF_PAGES * PG, MADV_PAGEOUT)))
			stress_note(&w->v, "MADV_PAGEOUT: %d", err);
		mml_reclaim(mml_task_machine(t), RF_PAGES);
	}
}

/* Forks the process (swap entries and the pinned page copied as fork does), checks the child, ends it. */
static void rf_forker(struct mml_task *t, void *arg)
{
	struct reclaim_world *w = arg;
	struct mml_task *child = NULL;
	int err = mml_fork(t, &child);

	if (err) {
		stress_note(&w->v, "fork: %d", err);
		return;
	}
	for (uint64_t p = RF_RECYCLED; p < RF_PAGES && !w->v.why[0]; p++) {
		uint8_t v = 0;

		err = mml_read(child, BASE + p * PG, &v, 1);
		if (err || !rf_allowed(p, v))
			stress_note(&w->v, "the child reads %#x at page %llu (error %d)", v, (unsigned long long)p, err);
	}
	mml_exit(child);
}

/*
 * Pins a page for a device that writes it, asks for it to be paged out,
 * and checks that the process still maps the pinned frame: reclaim must
 * leave a maybe-pinned page where it is.
 */
static void rf_pinner(struct mml_task *t, void *arg)
{
	struct reclaim_world *w = arg;
	struct mml_pin *pin = NULL;
	uint8_t v = DMA_BYTE;
	long n = mml_pin_user_pages(t, BASE + RF_PIN * PG, 1, MML_FOLL_WRITE | MML_FOLL_LONGTERM, &pin);
	int err;

	if (n != 1) {
		stress_note(&w->v, "pinning: %ld", n);
		return;
	}
	if ((err = mml_dma_write(pin, 0, &v, 1)) || (err = mml_madvise(t, BASE + RF_PIN * PG, PG, MADV_PAGEOUT)))
		stress_note(&w->v, "DMA or MADV_PAGEOUT of the pinned page: %d", err);
	if (!stress_pin_still_mapped(t, BASE + RF_PIN * PG, pin))
		stress_note(&w->v, "the pinned page left the process while pinned");
	mml_unpin(pin);
}

static int reclaim_fault(struct stress_ctx *c)
{
	struct reclaim_world w = { 0 };
	struct mml_task *tasks[4];
	mml_thread_fn fns[4] = { rf_faulter, rf_reclaimer, rf_forker, rf_pinner };
	void *args[4] = { &w, &w, &w, &w };
	int err;

	if ((err = mml_swapon(c->m, NULL, 2 * PG, 10)) < 0 || (err = mml_swapon(c->m, NULL, 64 * PG, 0)) < 0 ||
	    (err = mml_spawn(c->m, &tasks[0])) || (err = mml_thread_new(tasks[0], &tasks[1])) ||
	    (err = mml_thread_new(tasks[0], &tasks[2])) || (err = mml_thread_new(tasks[0], &tasks[3])) ||
	    (err = map_pattern(tasks[0], RF_PAGES)) ||
	    (err = mml_madvise(tasks[0], BASE, RF_RECYCLED * PG, MADV_DONTFORK)) ||
	    (err = mml_madvise(tasks[0], BASE, RF_PAGES * PG, MADV_PAGEOUT)))
		return err;
	if (stress_sched_run(c, 4, tasks, fns, args))
		return 1;
	if (w.v.why[0])
		return stress_fail(c, "%s", w.v.why);
	for (uint64_t p = 0; p < RF_PAGES; p++)
		if (stress_expect_byte(c, tasks[0], "the process", BASE + p * PG,
				       p < RF_RECYCLED ? recycled(p, RF_ROUNDS - 1) : p == RF_PIN ? DMA_BYTE : rewritten(p)))
			return 1;
	return 0;
}

/* ---- oom-exit: the OOM killer against its victim's own exit ------------------------------- */

/*
 * A small machine without swap.  The victim process holds most of the
 * memory; the allocator process then needs more than is free, and only
 * the victim's memory can give it that: the OOM killer kills and reaps
 * the victim, or the victim's threads exit on their own first -- one
 * after a delay, the other after some mmap/munmap rounds (which hold its
 * mmap_lock for write, so that the reaper may have to wait for it, a
 * bounded wait on the virtual clock), both from the seed.  A victim whose
 * last thread is gone but whose memory is still being unmapped is not
 * seen any more, and the OOM killer may then kill the allocator instead,
 * as Linux's does once exit_mm() has let go of the mm.  Either way the
 * third process's bytes must not change, nobody is killed twice, and the
 * memory comes back.
 */
#define OOM_RAM		(1ULL << 20)
#define OOM_VICTIM	200	/* pages */
#define OOM_ALLOC	64
#define OOM_SURVIVOR	4
#define OOM_ROUNDS	16
#define OOM_SCRATCH	0x50000000ULL	/* the victim's mmap/munmap page */
#define OOM_SLACK	16	/* pages the machine may keep once everything is back (page tables) */

struct oom_world {
	unsigned delay;		/* yields before the victim's first thread exits */
	unsigned rounds;	/* the victim's second thread's mmap/munmap rounds */
	bool victim_killed;	/* a victim thread found itself killed before it exited */
	struct stress_verdict v;
};

/* Writes every page of a mapping bigger than free memory: reclaim finds nothing, the OOM killer must. */
static void oom_allocator(struct mml_task *t, void *arg)
{
	struct oom_world *w = arg;

	for (uint64_t p = 0; p < OOM_ALLOC && !w->v.why[0]; p++) {
		uint8_t v = pattern(p);
		int err = mml_write(t, BASE + p * PG, &v, 1);

		if (err == -EINTR && mml_task_killed(t))
			return;	/* chosen itself: the victim was exiting already */
		if (err)
			stress_note(&w->v, "the allocator's write of page %llu: %d", (unsigned long long)p, err);
	}
}

static void oom_victim_exit(struct mml_task *t, void *arg)
{
	struct oom_world *w = arg;

	for (unsigned i = 0; i < w->delay; i++)
		mml_sched_yield();
	if (mml_task_killed(t))
		w->victim_killed = true;
	mml_exit(t);
}

/* Maps, writes and unmaps a page some rounds, then exits; once killed, only the exit is left. */
static void oom_victim_busy(struct mml_task *t, void *arg)
{
	struct oom_world *w = arg;

	for (unsigned i = 0; i < w->rounds && !mml_task_killed(t); i++) {
		uint8_t v = (uint8_t)i;
		long got = mml_mmap(t, OOM_SCRATCH, PG, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		int err = got < 0 ? (int)got : mml_write(t, OOM_SCRATCH, &v, 1);

		if (!err)
			err = mml_munmap(t, OOM_SCRATCH, PG);
		if (err && !mml_task_killed(t))
			stress_note(&w->v, "the victim's round %u: %d", i, err);
	}
	if (mml_task_killed(t))
		w->victim_killed = true;
	mml_exit(t);
}

/* Reads its pages now and then: they must never change. */
static void oom_survivor(struct mml_task *t, void *arg)
{
	struct oom_world *w = arg;

	for (unsigned i = 0; i < 2; i++)
		for (uint64_t p = 0; p < OOM_SURVIVOR && !w->v.why[0]; p++) {
			uint8_t v = 0;
			int err = mml_read(t, BASE + p * PG, &v, 1);

			if (err || v != pattern(p))
				stress_note(&w->v, "the survivor reads %#x at page %llu (error %d)", v,
					(unsigned long long)p, err);
		}
}

static int oom_exit(struct stress_ctx *c)
{
	struct oom_world w = { .delay = (unsigned)(c->seed * 37 % 400), .rounds = 1 + (unsigned)(c->seed % OOM_ROUNDS) };
	struct mml_task *tasks[4];
	mml_thread_fn fns[4] = { oom_allocator, oom_victim_exit, oom_victim_busy, oom_survivor };
	void *args[4] = { &w, &w, &w, &w };
	bool allocator_killed;
	long free_before, free_after;
	int err;

	/* tasks: the allocator, the victim's two threads, the survivor */
	if ((err = mml_spawn(c->m, &tasks[3])) || (err = map_pattern(tasks[3], OOM_SURVIVOR)) ||
	    (err = mml_spawn(c->m, &tasks[0])) ||
	    (err = (int)mml_mmap(tasks[0], BASE, OOM_ALLOC * PG, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)) < 0)
		return err;
	free_before = mml_meminfo(c->m, "MemFree");
	if ((err = mml_spawn(c->m, &tasks[1])) || (err = mml_thread_new(tasks[1], &tasks[2])) ||
	    (err = map_pattern(tasks[1], OOM_VICTIM)))
		return err;
	if (stress_sched_run(c, 4, tasks, fns, args))
		return 1;
	if (w.v.why[0])
		return stress_fail(c, "%s", w.v.why);
	allocator_killed = mml_task_killed(tasks[0]);
	if (mml_task_killed(tasks[3]))
		return stress_fail(c, "the OOM killer chose the survivor");
	if (allocator_killed && w.victim_killed)
		return stress_fail(c, "the OOM killer killed both the victim and the allocator");
	for (uint64_t p = 0; p < OOM_ALLOC && !allocator_killed; p += 7)
		if (stress_expect_byte(c, tasks[0], "the allocator", BASE + p * PG, pattern(p)))
			return 1;
	for (uint64_t p = 0; p < OOM_SURVIVOR; p++)
		if (stress_expect_byte(c, tasks[3], "the survivor", BASE + p * PG, pattern(p)))
			return 1;
	/* The victim is gone, killed or not: with the allocator gone too, its memory is back. */
	mml_exit(tasks[0]);
	free_after = mml_meminfo(c->m, "MemFree");
	if (free_after < free_before - (long)(OOM_SLACK * PG / 1024))
		return stress_fail(c, "%ld kB free once the victim and the allocator went, %ld kB before them (%s killed)",
				   free_after, free_before, w.victim_killed ? "the victim" :
				   allocator_killed ? "the allocator" : "nobody");
	return 0;
}

const struct stress_story stress_swap_stories[] = {
	{ "swapoff-fault", "swapoff (try_to_unuse) while threads of the process whose pages it brings back read and "
			   "write them (do_swap_page) and fork it (copy_nonpresent_pte)", 4ULL << 20, swapoff_fault },
	{ "reclaim-fault", "MADV_PAGEOUT, MADV_DONTNEED and direct reclaim of pages that threads of their process "
			   "keep faulting back, while another forks it and another pins a page for DMA",
	  4ULL << 20, reclaim_fault },
	{ "oom-exit", "an allocation only the OOM killer can satisfy while the process it kills exits on its own "
		      "(the reap waiting on the virtual clock for a victim holding its mmap_lock)", OOM_RAM, oom_exit },
};
const unsigned stress_swap_nstories = sizeof(stress_swap_stories) / sizeof(stress_swap_stories[0]);
