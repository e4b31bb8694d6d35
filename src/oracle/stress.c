/*
 * stress.c - `mmlab stress`: threaded stories under the deterministic
 * scheduler (MML_DETERMINISTIC), one new machine per seed.
 *
 * A story sets its processes up outside the run, runs a handful of
 * thread functions under mml_sched_run, and then checks its own outcome
 * (bytes, pins, what the page tables show), the machine's reports (a
 * walker in a freed table, a table retracted with entries in it) and the
 * invariant checker.  The seed picks the scheduler's choices: a failing
 * seed replays the same interleaving, and its command line is printed.
 *
 * The stories of seed 004 (retract_page_tables against the lockless
 * side): one process collapses a memfd range (MADV_COLLAPSE: collapse_file,
 * then retract_page_tables takes every other mapping's page table with
 * neither its mmap_lock nor its VMA lock) while threads of another
 * process walk or fill that range's table.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mmlab.h"
#include "oracle/stress.h"
#include "sync/sync.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif

#define PG		4096ULL
#define HP		(2ULL << 20)
#define HP_PAGES	512
#define BASE		0x40000000ULL	/* the shared mapping, in both processes */
#define PRIV		0x40400000ULL	/* the other process's private mapping of the file */
#define STRESS_RAM	(16ULL << 20)
#define PIN_ITERS	64

/* The byte each page of the file starts with. */
static uint8_t pattern(uint64_t page)
{
	return (uint8_t)(page * 7 + 1);
}

/* The world of the retract stories: A made and filled the memfd and maps it; B is A's fork. */
struct world {
	struct mml_machine *m;
	struct mml_task *a, *b;
	int fd;
	int collapsed;		/* MADV_COLLAPSE's result */
	unsigned slow;		/* steps the secondary MMU's invalidation yields, from the seed */
	unsigned delay;		/* steps the racing thread yields once it saw retract come, from the seed */
	int done;		/* the collapser returned (atomic) */
	uint64_t invalidating;	/* the start of the pmd range B's secondary MMU is invalidating (atomic) */
	struct mml_mmu_notifier *mmu;
	char *why;		/* the story's verdict, if it failed */
	size_t whylen;
};

static int fail(struct world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct world *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->why, w->whylen, fmt, ap);
	va_end(ap);
	return 1;
}

/* Every page reads its pattern through t's mapping at base (what a retract must never change). */
static int world_bytes(struct world *w, struct mml_task *t, uint64_t base, const char *who)
{
	for (uint64_t p = 0; p < HP_PAGES; p++) {
		uint8_t v = 0;
		int err = mml_read(t, base + p * PG, &v, 1);

		if (err || v != pattern(p))
			return fail(w, "%s reads %#x at %#llx (error %d), not %#x", who, v, (unsigned long long)(base + p * PG), err,
				    pattern(p));
	}
	return 0;
}

/*
 * A secondary MMU on B that takes its time to invalidate (it waits for its
 * own hardware): other threads run meanwhile.  retract_page_tables calls
 * it for B's range after its unlocked checks and before it takes the
 * table's locks -- the window a racing UFFDIO_COPY needs.
 */
static int slow_invalidate_start(void *priv, const struct mml_notify_range *r)
{
	struct world *w = priv;

	/* only for a whole pmd's range: retract's, not the unmapping of each small page before */
	if (r->end - r->start != HP)
		return 0;
	smp_store_release(&w->invalidating, r->start);
	for (unsigned i = 0; i < w->slow; i++)
		mml_sched_yield();
	return 0;
}

static const struct mml_mmu_notifier_ops slow_mmu_ops = {
	.invalidate_range_start = slow_invalidate_start,
};

static int world_make(struct world *w)
{
	int err;

	if ((err = mml_spawn(w->m, &w->a)))
		return err;
	w->fd = mml_memfd_create(w->a, "stress", 0);
	if (w->fd < 0)
		return w->fd;
	if ((err = mml_ftruncate(w->a, w->fd, (int64_t)HP)))
		return err;
	if (mml_mmap(w->a, BASE, HP, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, w->fd, 0) != (long)BASE)
		return -ENOMEM;
	for (uint64_t p = 0; p < HP_PAGES; p++) {
		uint8_t v = pattern(p);

		if ((err = mml_write(w->a, BASE + p * PG, &v, 1)))
			return err;
	}
	if ((err = mml_fork(w->a, &w->b)))
		return err;
	if ((err = mml_mmu_notifier_register(w->b, &slow_mmu_ops, w, &w->mmu)))
		return err;
	/* fork copies no pte of a shared file mapping: B's table is made by B's own faults */
	return world_bytes(w, w->b, BASE, "the fork") ? -EIO : 0;
}

static void collapser(struct mml_task *t, void *arg)
{
	struct world *w = arg;

	/* a pin or a fault in flight makes it fail for now (-EAGAIN): again, as a program would */
	w->collapsed = -EAGAIN;
	for (int i = 0; i < 16 && w->collapsed == -EAGAIN; i++)
		w->collapsed = mml_madvise(t, BASE, HP, MADV_COLLAPSE);
	smp_store_release(&w->done, 1);
}

/* ---- retract-gup: GUP-fast walks the table retract takes ---------------------------- */

struct pinner {
	long bad;		/* a pin that failed otherwise than the slow path allows */
};

static void gup_pinner(struct mml_task *t, void *arg)
{
	struct pinner *p = arg;

	for (int i = 0; i < PIN_ITERS && !p->bad; i++) {
		struct mml_pin *pin = NULL;
		uint64_t page = (uint64_t)i * 37 % HP_PAGES;
		long n = mml_pin_user_pages(t, BASE + page * PG, 1, MML_FOLL_FAST, &pin);

		if (n != 1) {
			p->bad = n ? n : -1;
			break;
		}
		mml_unpin(pin);
	}
}

static int story_retract_gup(struct world *w)
{
	struct pinner p = { 0 };
	struct mml_task *tasks[2] = { w->a, w->b };
	mml_thread_fn fns[2] = { collapser, gup_pinner };
	void *args[2] = { w, &p };
	int err = mml_sched_run(w->m, 2, tasks, fns, args);

	if (err)
		return fail(w, "mml_sched_run: %d", err);
	if (p.bad)
		return fail(w, "a GUP-fast pin returned %ld", p.bad);
	if (w->collapsed && w->collapsed != -EAGAIN)
		return fail(w, "MADV_COLLAPSE returned %d", w->collapsed);
	return world_bytes(w, w->a, BASE, "the collapser") || world_bytes(w, w->b, BASE, "the pinner");
}

/* ---- retract-uffd-copy: UFFDIO_COPY fills a private mapping's table retract takes -------- */

struct copier {
	struct world *w;
	struct mml_uffd *u;
	long copied;		/* UFFDIO_COPY's result */
};

/*
 * Wait until retract_page_tables has come to the private mapping (its
 * secondary MMU is told), then fill a hole of it with an anonymous page:
 * the anon_vma and the pte arrive while retract is looking at its table,
 * how far into it the seed decides (the invalidation's length, the
 * copier's delay).
 */
static void uffd_copier(struct mml_task *t, void *arg)
{
	struct copier *c = arg;
	static uint8_t page[PG];

	while (smp_load_acquire(&c->w->invalidating) != PRIV &&
	       !smp_load_acquire(&c->w->done))
		mml_sched_yield();
	for (unsigned i = 0; i < c->w->delay; i++)
		mml_sched_yield();
	memset(page, 0x5a, sizeof(page));
	/* -EAGAIN: the table went while the copy was on its way (Linux's too); the monitor retries */
	c->copied = -EAGAIN;
	for (int i = 0; i < 16 && c->copied == -EAGAIN; i++)
		c->copied = mml_uffd_copy(c->u, PRIV + (HP_PAGES - 1) * PG, page, PG, 0);
}

static int story_retract_uffd_copy(struct world *w)
{
	struct copier c = { .w = w };
	struct mml_task *tasks[2] = { w->a, w->b };
	mml_thread_fn fns[2] = { collapser, uffd_copier };
	void *args[2] = { w, &c };
	uint8_t v = 0;
	int err;

	/* B's private mapping, its table made by a read, its last page a hole for the copy. */
	if (mml_mmap(w->b, PRIV, HP, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, w->fd, 0) != (long)PRIV ||
	    mml_read(w->b, PRIV, &v, 1) || mml_madvise(w->b, PRIV + (HP_PAGES - 1) * PG, PG, MADV_DONTNEED))
		return fail(w, "setting up the private mapping failed");
	if ((err = mml_uffd_new(w->b, 0, &c.u)) ||
	    (err = mml_uffd_register(c.u, PRIV, HP, UFFDIO_REGISTER_MODE_MISSING)))
		return fail(w, "userfaultfd: %d", err);
	err = mml_sched_run(w->m, 2, tasks, fns, args);
	if (err)
		return fail(w, "mml_sched_run: %d", err);
	if (c.copied != (long)PG)
		return fail(w, "UFFDIO_COPY returned %ld", c.copied);
	if (mml_read(w->b, PRIV + (HP_PAGES - 1) * PG, &v, 1) || v != 0x5a)
		return fail(w, "the page UFFDIO_COPY filled reads %#x, not 0x5a", v);
	if ((err = mml_uffd_free(c.u)))
		return fail(w, "closing the userfaultfd: %d", err);
	return world_bytes(w, w->a, BASE, "the collapser") || world_bytes(w, w->b, BASE, "the copier");
}

/* ---- the driver ------------------------------------------------------------------------------ */

struct story {
	const char *name;
	const char *what;
	int (*run)(struct world *w);
};

static const struct story stories[] = {
	{ "retract-gup", "MADV_COLLAPSE of a memfd range while another process's thread takes GUP-fast pins of it "
			 "(retract_page_tables against a walker under RCU alone)", story_retract_gup },
	{ "retract-uffd-copy", "MADV_COLLAPSE of a memfd range while another process fills a hole of its private "
			       "mapping of it with UFFDIO_COPY (an anon_vma and a pte arriving during retract)",
	  story_retract_uffd_copy },
};
#define NSTORIES	((int)(sizeof(stories) / sizeof(stories[0])))

int stress_story_count(void)
{
	return NSTORIES;
}

const char *stress_story_name(int i)
{
	return i >= 0 && i < NSTORIES ? stories[i].name : NULL;
}

const char *stress_story_what(int i)
{
	return i >= 0 && i < NSTORIES ? stories[i].what : NULL;
}

/*
 * One seed of one story: 0 passed, 1 failed (why filled), 2 the set-up
 * failed.  pct_k: PCT's k (see mml_sched_pct_steps); *steps: the run's.
 */
static int stress_one(const struct stress_opts *o, const struct story *st, uint64_t seed, uint64_t pct_k,
		      char *why, size_t len, uint64_t *hash, uint64_t *steps)
{
	struct mml_config cfg = { .ram_bytes = STRESS_RAM, .seed = seed, .flags = MML_DETERMINISTIC | MML_QUIET };
	struct world w = { .fd = -1, .why = why, .whylen = len, .slow = 8 + (unsigned)(seed % 57),
			   .delay = (unsigned)(seed * 37 % 640) };
	long reports;
	int ret, err;

	why[0] = '\0';
	w.m = mml_machine_new(&cfg);
	if (!w.m) {
		snprintf(why, len, "mml_machine_new: %s", strerror(errno));
		return 2;
	}
	mml_sched_pct_steps(w.m, pct_k);
	if (mml_sched_set(w.m, o->strategy, o->depth) || (o->bug && mml_bug_inject(w.m, o->bug))) {
		snprintf(why, len, "bad strategy or bug");
		mml_machine_free(w.m);
		return 2;
	}
	if ((err = world_make(&w))) {
		snprintf(why, len, "setting up: %d", err);
		if (w.mmu)
			mml_mmu_notifier_unregister(w.mmu);
		mml_machine_free(w.m);
		return 2;
	}
	ret = st->run(&w);
	*hash = mml_sched_trace_hash(w.m);
	*steps = mml_sched_steps(w.m);
	if (strstr(why, "mml_sched_run: -35"))	/* -EDEADLK: its threads are parked for good */
		return 1;
	reports = mml_report_count(w.m);
	if (!ret && reports)
		ret = fail(&w, "the machine reported %ld bug(s) (a walker in a freed table, a table retracted "
			   "with entries in it, ...)", reports);
	if (!ret && mml_check(w.m))
		ret = fail(&w, "the invariant checker failed");
	mml_mmu_notifier_unregister(w.mmu);
	if (mml_machine_free(w.m) && !ret)
		ret = fail(&w, "leaks or broken invariants when the machine was freed");
	return ret;
}

int stress_main(const struct stress_opts *o)
{
	int first = 0, last = NSTORIES - 1, failed = 0;
	char why[512];

	if (o->story) {
		for (first = 0; first < NSTORIES && strcmp(stories[first].name, o->story); first++)
			;
		if (first == NSTORIES) {
			fprintf(stderr, "mmlab stress: no story '%s' (see mmlab stress --list)\n", o->story);
			return 2;
		}
		last = first;
	}
	for (int i = first; i <= last; i++) {
		const struct story *st = &stories[i];
		struct stress_opts calib = { .strategy = "random" };
		uint64_t bad = 0, nbad = 0, hash = 0, pct_k = 0, steps = 0;
		int r;

		/*
		 * PCT's k: the steps of the story on seed 0, random and without
		 * the bug -- the same for every seed, so that one replays alone.
		 */
		if (!strcmp(o->strategy, "pct") &&
		    (r = stress_one(&calib, st, 0, 0, why, sizeof(why), &hash, &pct_k))) {
			fprintf(stderr, "mmlab stress: %s: the calibration run failed: %s\n", st->name, why);
			return 2;
		}
		for (uint64_t k = 0; k < o->seeds; k++) {
			uint64_t seed = o->seed + k;

			r = stress_one(o, st, seed, pct_k, why, sizeof(why), &hash, &steps);

			if (r == 2) {
				fprintf(stderr, "mmlab stress: %s, seed %" PRIu64 ": %s\n", st->name, seed, why);
				return 2;
			}
			if (r && !nbad++) {
				bad = seed;
				fprintf(o->out, "%s: seed %" PRIu64 " failed: %s\n", st->name, seed, why);
				fprintf(o->out, "  replay: mmlab stress --story %s --seed %" PRIu64 " --seeds 1 --strategy %s",
					st->name, seed, o->strategy);
				if (!strcmp(o->strategy, "pct"))
					fprintf(o->out, " --depth %u", o->depth);
				if (o->bug)
					fprintf(o->out, " --inject-bug %s", o->bug);
				fprintf(o->out, "   (trace hash %016" PRIx64 ")\n", hash);
			}
			if (o->progress && isatty(2))
				fprintf(stderr, "\r%s: %" PRIu64 "/%" PRIu64 " seeds, %" PRIu64 " failed", st->name, k + 1,
					o->seeds, nbad);
		}
		if (o->progress && isatty(2))
			fputc('\n', stderr);
		fprintf(o->out, "%s: %" PRIu64 " seeds from %" PRIu64 " (%s%s%.0u), %" PRIu64 " failed", st->name,
			o->seeds, o->seed, o->strategy, strcmp(o->strategy, "pct") ? "" : " depth ",
			strcmp(o->strategy, "pct") ? 0 : o->depth, nbad);
		if (nbad)
			fprintf(o->out, ", the first at seed %" PRIu64, bad);
		if (o->seeds == 1)
			fprintf(o->out, ", %" PRIu64 " steps, trace hash %016" PRIx64, steps, hash);
		fputc('\n', o->out);
		failed += nbad > 0;
	}
	return failed ? 1 : 0;
}
