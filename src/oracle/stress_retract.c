/*
 * stress_retract.c - `mmlab stress` stories of seed 004 (retract_page_tables against the lockless
 * side): one process collapses a memfd range (MADV_COLLAPSE: collapse_file,
 * then retract_page_tables takes every other mapping's page table with
 * neither its mmap_lock nor its VMA lock) while threads of another
 * process walk or fill that range's table.
 */
#include <errno.h>
#include <string.h>

#include "oracle/stress_internal.h"
#include "sync/sync.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif

#define PG		STRESS_PG
#define HP		STRESS_HP
#define HP_PAGES	512
#define BASE		0x40000000ULL	/* the shared mapping, in both processes */
#define PRIV		0x40400000ULL	/* the other process's private mapping of the file */
#define PIN_ITERS	64

/* The byte each page of the file starts with. */
static uint8_t pattern(uint64_t page)
{
	return (uint8_t)(page * 7 + 1);
}

/* The world of the retract stories: A made and filled the memfd and maps it; B is A's fork. */
struct world {
	struct stress_ctx *c;
	struct mml_machine *m;
	struct mml_task *a, *b;
	int fd;
	int collapsed;		/* MADV_COLLAPSE's result */
	unsigned slow;		/* steps the secondary MMU's invalidation yields, from the seed */
	unsigned delay;		/* steps the racing thread yields once it saw retract come, from the seed */
	int done;		/* the collapser returned (atomic) */
	uint64_t invalidating;	/* the start of the pmd range B's secondary MMU is invalidating (atomic) */
	struct mml_mmu_notifier *mmu;
	long probe_bad;		/* what a probe returned otherwise than -EFAULT */
};

/* Every page reads its pattern through t's mapping at base (what a retract must never change). */
static int world_bytes(struct world *w, struct mml_task *t, uint64_t base, const char *who)
{
	for (uint64_t p = 0; p < HP_PAGES; p++) {
		uint8_t v = 0;
		int err = mml_read(t, base + p * PG, &v, 1);

		if (err || v != pattern(p))
			return stress_fail(w->c, "%s reads %#x at %#llx (error %d), not %#x", who, v, (unsigned long long)(base + p * PG), err,
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

static int world_make(struct world *w, struct stress_ctx *c)
{
	int err;

	memset(w, 0, sizeof(*w));
	w->c = c;
	w->m = c->m;
	w->fd = -1;
	w->slow = 8 + (unsigned)(c->seed % 57);
	w->delay = (unsigned)(c->seed * 37 % 640);

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

	if (stress_sched_run(w->c, 2, tasks, fns, args))
		return 1;
	if (p.bad)
		return stress_fail(w->c, "a GUP-fast pin returned %ld", p.bad);
	if (w->collapsed && w->collapsed != -EAGAIN)
		return stress_fail(w->c, "MADV_COLLAPSE returned %d", w->collapsed);
	return world_bytes(w, w->a, BASE, "the collapser") || world_bytes(w, w->b, BASE, "the pinner");
}

/* ---- retract-gup-probe: GUP-fast looks into a table no fault refills --------------------- */

/*
 * B's mapping is PROT_NONE: its GUP-fast finds no pte it may take (and
 * holds no reference a collapse would trip over), the slow path refuses
 * at once (-EFAULT), and nothing refills the table; so every probe is a
 * lockless walk into the very table retract_page_tables takes.
 */
static void gup_prober(struct mml_task *t, void *arg)
{
	struct world *w = arg;

	for (uint64_t i = 0; !smp_load_acquire(&w->done); i++) {
		struct mml_pin *pin = NULL;
		long n = mml_get_user_pages(t, BASE + i * 37 % HP_PAGES * PG, 1, MML_FOLL_FAST, &pin);

		if (n != -EFAULT) {
			w->probe_bad = n;
			if (n > 0)
				mml_unpin(pin);
			break;
		}
		mml_sched_yield();
	}
}

static int story_retract_gup_probe(struct world *w)
{
	struct mml_task *tasks[2] = { w->a, w->b };
	mml_thread_fn fns[2] = { collapser, gup_prober };
	void *args[2] = { w, w };

	w->slow = 0;	/* B's secondary MMU is quick here: its yields would let the prober out of the table */
	if (mml_mprotect(w->b, BASE, HP, PROT_NONE))
		return stress_fail(w->c, "mprotect of B's mapping failed");
	if (stress_sched_run(w->c, 2, tasks, fns, args))
		return 1;
	if (w->probe_bad)
		return stress_fail(w->c, "a GUP-fast probe of a PROT_NONE page returned %ld, not -EFAULT", w->probe_bad);
	if (w->collapsed && w->collapsed != -EAGAIN)
		return stress_fail(w->c, "MADV_COLLAPSE returned %d", w->collapsed);
	if (mml_mprotect(w->b, BASE, HP, PROT_READ | PROT_WRITE))
		return stress_fail(w->c, "mprotect back failed");
	return world_bytes(w, w->a, BASE, "the collapser") || world_bytes(w, w->b, BASE, "the prober");
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
		return stress_fail(w->c, "setting up the private mapping failed");
	if ((err = mml_uffd_new(w->b, 0, &c.u)) ||
	    (err = mml_uffd_register(c.u, PRIV, HP, UFFDIO_REGISTER_MODE_MISSING)))
		return stress_fail(w->c, "userfaultfd: %d", err);
	if (stress_sched_run(w->c, 2, tasks, fns, args))
		return 1;
	if (c.copied != (long)PG)
		return stress_fail(w->c, "UFFDIO_COPY returned %ld", c.copied);
	if (mml_read(w->b, PRIV + (HP_PAGES - 1) * PG, &v, 1) || v != 0x5a)
		return stress_fail(w->c, "the page UFFDIO_COPY filled reads %#x, not 0x5a", v);
	if ((err = mml_uffd_free(c.u)))
		return stress_fail(w->c, "closing the userfaultfd: %d", err);
	return world_bytes(w, w->a, BASE, "the collapser") || world_bytes(w, w->b, BASE, "the copier");
}

/*
 * A story on a fresh world; the secondary MMU goes before the machine
 * (unless the run left its threads parked for good).
 */
static int run_in_world(struct stress_ctx *c, int (*story)(struct world *w))
{
	struct world w;
	int err = world_make(&w, c), ret;

	if (err) {
		if (w.mmu)
			mml_mmu_notifier_unregister(w.mmu);
		return err;
	}
	ret = story(&w);
	if (!c->parked)
		mml_mmu_notifier_unregister(w.mmu);
	return ret;
}

static int retract_gup(struct stress_ctx *c)
{
	return run_in_world(c, story_retract_gup);
}

static int retract_gup_probe(struct stress_ctx *c)
{
	return run_in_world(c, story_retract_gup_probe);
}

static int retract_uffd_copy(struct stress_ctx *c)
{
	return run_in_world(c, story_retract_uffd_copy);
}

const struct stress_story stress_retract_stories[] = {
	{ "retract-gup", "MADV_COLLAPSE of a memfd range while another process's thread takes GUP-fast pins of it "
			 "(retract_page_tables against a walker under RCU alone)", 0, retract_gup },
	{ "retract-gup-probe", "MADV_COLLAPSE of a memfd range while another process's thread probes its PROT_NONE "
			       "mapping of it with GUP-fast (a lockless walker inside the table retract_page_tables frees)", 0,
	  retract_gup_probe },
	{ "retract-uffd-copy", "MADV_COLLAPSE of a memfd range while another process fills a hole of its private "
			       "mapping of it with UFFDIO_COPY (an anon_vma and a pte arriving during retract)", 0,
	  retract_uffd_copy },
};
const unsigned stress_retract_nstories = sizeof(stress_retract_stories) / sizeof(stress_retract_stories[0]);
