/*
 * fuzz_gen.c - the fuzzer's choices and its generator: the next operation
 * for the state a run is in.
 *
 * One generator serves both front ends: its choices come from a seeded
 * PRNG (`mmlab fuzz`) or from the bytes a coverage-guided fuzzer hands in
 * (fuzz_run_bytes).  Operations name their addresses relative to earlier
 * mappings ("regions") and their tasks by number, so that delta debugging
 * can drop any subset and still replay the rest.
 */
#include <string.h>
#include <sys/mman.h>

#include "oracle/fuzz_internal.h"

#define ABS_BASE	0x10000000ULL	/* where absolute (non-region) addresses land */
#define MAX_LIVE_TASKS	16

/* ---- choices --------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A value in [0, n). */
static uint32_t choose(struct chooser *c, uint32_t n)
{
	uint32_t v = 0;

	if (n <= 1)
		return 0;
	if (!c->data)
		return (uint32_t)(splitmix64(&c->s) % n);
	for (int i = 0; i < 2; i++)
		v = (v << 8) | (c->pos < c->len ? c->data[c->pos++] : 0);
	return v % n;
}

/* ---- generating operations ---------------------------------------------------------------- */

static int pick_live_task(struct run *r, struct chooser *c)
{
	int live[MAX_LIVE_TASKS * 4], n = 0;

	if (r->focus_task >= 0 && r->focus_task < r->ntasks && r->tasks[r->focus_task] && choose(c, 10) < 4)
		return r->focus_task;
	for (int i = 0; i < r->next_task && i < r->ntasks && n < (int)(sizeof(live) / sizeof(live[0])); i++)
		if (r->tasks[i])
			live[n++] = i;
	return n ? live[choose(c, (uint32_t)n)] : -1;
}

static int count_live_tasks(struct run *r)
{
	int n = 0;

	for (int i = 0; i < r->next_task && i < r->ntasks; i++)
		n += r->tasks[i] != NULL;
	return n;
}

/* An address near an existing region (edges and holes included), or an absolute one. */
static void pick_addr(struct run *r, struct chooser *c, struct fop *op, bool aligned)
{
	int defined[64], n = 0;

	for (int i = r->next_region - 1; i >= 0 && n < 64; i--)
		if (i < r->nregions && r->rok[i])
			defined[n++] = i;
	if (r->focus_region >= 0 && r->focus_region < r->nregions && r->rok[r->focus_region] &&
	    choose(c, 10) < 4) {
		op->region = r->focus_region;
		op->off = r->focus_off;
	} else if (n && choose(c, 10) < 9) {
		int reg = defined[choose(c, (uint32_t)min_int(n, 16))];
		uint64_t pages = r->rlen[reg] / PG;

		op->region = reg;
		op->off = ((int64_t)choose(c, (uint32_t)pages + 3) - 1) * (int64_t)PG;
	} else {
		op->region = -1;
		op->off = (int64_t)(ABS_BASE + choose(c, 64) * PG);
	}
	if (!aligned && choose(c, 8) == 0)
		op->off += choose(c, (uint32_t)PG);
	r->focus_region = op->region;
	r->focus_off = op->off & ~(int64_t)(PG - 1);
}

static uint64_t pick_len(struct chooser *c, uint32_t max_pages)
{
	switch (choose(c, 10)) {
	case 0:
		return 1 + choose(c, 64);		/* a few bytes: rounds up */
	case 1:
		return choose(c, 2) ? 0 : PG * (1 + choose(c, max_pages)) + 1;
	default:
		return PG * (1 + choose(c, max_pages));
	}
}

static int pick_prot(struct chooser *c)
{
	static const int prots[] = { PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE,
				     PROT_READ | PROT_WRITE, PROT_READ, PROT_READ, PROT_NONE, PROT_WRITE,
				     PROT_READ | PROT_WRITE | PROT_EXEC, PROT_READ | PROT_EXEC };
	int prot = prots[choose(c, sizeof(prots) / sizeof(prots[0]))];

	/* Tagged memory often enough that reclaim, swapoff and fork meet it. */
	return choose(c, 3) ? prot : prot | MML_PROT_MTE;
}

static int pick_advice(struct chooser *c)
{
	static const int advice[] = { MADV_DONTNEED, MADV_DONTNEED, MADV_DONTNEED, MADV_FREE, MADV_FREE,
				      MADV_DONTFORK, MADV_DOFORK, MADV_WIPEONFORK, MADV_KEEPONFORK,
				      MADV_POPULATE_READ, MADV_POPULATE_WRITE, MADV_NORMAL, MADV_RANDOM, 999,
				      MADV_PAGEOUT, MADV_PAGEOUT, MADV_COLD };

	return advice[choose(c, sizeof(advice) / sizeof(advice[0]))];
}

/* Switch a device off, or another on: small, so that swap fills up too. */
static void gen_swap_op(struct run *r, struct chooser *c, struct fop *op)
{
	int live[MAX_SWAPONS], n = 0;

	for (int i = 0; i < r->next_swap; i++)
		if (r->swap_id[i] >= 0)
			live[n++] = i;
	if (n && (n >= MAX_LIVE_SWAPS || r->next_swap >= MAX_SWAPONS || choose(c, 2))) {
		op->kind = F_SWAPOFF;
		op->dev = live[choose(c, (uint32_t)n)];
	} else if (r->next_swap < MAX_SWAPONS) {
		op->kind = F_SWAPON;
		op->dev = r->next_swap++;
		op->len = (2 + choose(c, 255)) * PG;
		op->prot = choose(c, 2) ? -1 : (int)choose(c, 4);	/* the priority */
	} else {
		op->kind = F_CHECK;
	}
}

/* A story's first step: mmap one page of its own, which becomes the focus. */
static void gen_own_page(struct run *r, struct fop *op, int prot)
{
	op->kind = F_MMAP;
	op->region = -1;
	op->off = 0;
	op->defines = r->focus_region = r->next_region++;
	r->focus_off = 0;
	op->len = PG;
	op->prot = prot;
	op->flags = MAP_PRIVATE | MAP_ANONYMOUS;
}

/* A load or store of a few bytes: a write, or an access through a device. */
static void gen_small_access(struct chooser *c, struct fop *op, enum fop_kind kind)
{
	op->kind = kind;
	op->len = 1 + choose(c, 64);
	op->byte = (uint8_t)choose(c, 256);
}

/* The next step of a lazy-free story; false when it is over. */
static bool gen_free_story_op(struct run *r, struct chooser *c, struct fop *op)
{
	op->task = r->story_a;
	switch (r->story_step++) {
	case 1:
		/* A page of its own, so that every later step has one to work on. */
		gen_own_page(r, op, PROT_READ | PROT_WRITE);
		return true;
	case 2:
		gen_small_access(c, op, F_WRITE);
		return true;
	case 3:
	case 6:
		op->kind = F_FORK;
		op->new_task = r->story_b = r->next_task++;
		return true;
	case 4:
		op->kind = F_PIN;
		op->pin = r->story_pin = r->next_pin++;
		op->len = 1;
		op->foll = (choose(c, 2) ? MML_FOLL_LONGTERM : 0) | (choose(c, 2) ? MML_FOLL_FAST : 0);
		return true;
	case 5:
		op->kind = F_UNPIN;
		op->pin = r->story_pin;
		return true;
	case 7:
		op->kind = F_MADVISE;
		op->advice = MADV_FREE;
		op->len = PG;
		return true;
	case 8:
		op->kind = choose(c, 2) ? F_EXIT : F_MUNMAP;
		op->len = PG;
		return true;
	case 9:
		op->kind = F_MADVISE;
		op->task = r->story_b;
		op->advice = MADV_PAGEOUT;
		op->len = PG;
		return true;
	case 10:
		op->kind = F_READ;
		op->task = r->story_b;
		op->len = 64;
		return true;
	default:
		r->story_step = 0;
		return false;
	}
}

/* The next step of a rewrite story; false when it is over. */
static bool gen_rewrite_story_op(struct run *r, struct chooser *c, struct fop *op)
{
	op->task = r->story_a;
	switch (r->story_step++) {
	case 1:
		/* A page of its own, which no fork shares (MADV_FREE leaves shared pages alone). */
		gen_own_page(r, op, PROT_READ | PROT_WRITE | (choose(c, 2) ? MML_PROT_MTE : 0));
		return true;
	case 2:
	case 4:
		op->kind = choose(c, 2) ? F_WRITE : F_TAG_SET;
		op->len = op->kind == F_WRITE ? 1 + choose(c, 64) : 16 * (1 + choose(c, 16));
		op->byte = (uint8_t)(1 + choose(c, op->kind == F_WRITE ? 255 : 15));
		return true;
	case 3:
	case 5:
		op->kind = F_MADVISE;
		op->advice = r->story_step == 4 ? MADV_FREE : MADV_PAGEOUT;
		op->len = PG;
		return true;
	case 6:
		op->kind = choose(c, 2) ? F_READ : F_TAG_GET;
		op->len = 64;
		return true;
	default:
		r->story_step = 0;
		return false;
	}
}

/* The next step of a swapoff story; false when it is over. */
static bool gen_swapoff_story_op(struct run *r, struct chooser *c, struct fop *op)
{
	op->task = r->story_a;
	switch (r->story_step) {
	case 1:
		gen_own_page(r, op, PROT_READ | PROT_WRITE | MML_PROT_MTE);
		break;
	case 2:
		op->kind = F_TAG_SET;
		op->len = 16 * (1 + choose(c, 16));
		op->byte = (uint8_t)(1 + choose(c, 15));
		break;
	case 3:
		op->kind = F_MADVISE;
		op->advice = MADV_PAGEOUT;
		op->len = PG;
		r->story_dev = -1;
		break;
	case 4:
		/* Every device on goes, one swapoff at a time; then the load. */
		for (int i = r->story_dev + 1; i < r->next_swap; i++) {
			if (r->swap_id[i] >= 0) {
				op->kind = F_SWAPOFF;
				op->dev = r->story_dev = i;
				return true;
			}
		}
		op->kind = F_TAG_GET;
		op->len = 16;
		break;
	case 5:
		if (r->next_swap < MAX_SWAPONS) {
			op->kind = F_SWAPON;
			op->dev = r->next_swap++;
			op->len = (2 + choose(c, 255)) * PG;
			op->prot = -1;
			break;
		}
		/* fall through */
	default:
		r->story_step = 0;
		return false;
	}
	r->story_step++;
	return true;
}

/* ---- devices with their own MMU (--devices) ---------------------------------------------- */

#define MAX_LIVE_DEVICES	8

/* Mostly a device that retries at once; now and then one that refuses the OOM reaper. */
static unsigned pick_dev_flags(struct chooser *c)
{
	return (choose(c, 2) ? MML_DEV_REFAULT : 0) | (choose(c, 4) == 0 ? MML_DEV_NONBLOCK_FAIL : 0);
}

static int live_devices(struct run *r, int *live, int max)
{
	int n = 0;

	for (int i = 0; i < r->next_dev && i < r->ndevs && n < max; i++)
		if (r->devs[i])
			live[n++] = i;
	return n;
}

/* A read or write through device dev of the focus page, as the story goes. */
static void gen_device_access(struct chooser *c, struct fop *op, int dev, bool write)
{
	op->device = dev;
	gen_small_access(c, op, write ? F_DEV_WRITE : F_DEV_READ);
}

/* The next step of a device story (seed 002); false when it is over. */
static bool gen_device_story_op(struct run *r, struct chooser *c, struct fop *op)
{
	op->task = r->story_a;
	switch (r->story_step++) {
	case 1:
		gen_own_page(r, op, PROT_READ | PROT_WRITE);
		return true;
	case 2:
		gen_small_access(c, op, F_WRITE);
		return true;
	case 3:
		op->kind = F_DEV_ATTACH;
		op->device = r->story_devn = r->next_dev++;
		op->dev_flags = pick_dev_flags(c);
		return true;
	case 4:
		gen_device_access(c, op, r->story_devn, choose(c, 2));
		return true;
	case 5:
		op->kind = F_FORK;
		op->new_task = r->story_b = r->next_task++;
		return true;
	case 6:
		/* the parent's COW, the child's, or the device's own write */
		switch (choose(c, 4)) {
		case 0:
			op->task = r->story_b;
			/* fall through */
		case 1:
			gen_small_access(c, op, F_WRITE);
			return true;
		case 2:
			gen_device_access(c, op, r->story_devn, true);
			return true;
		default:
			op->kind = F_DEV_EXCLUSIVE;
			op->device = r->story_devn;
			op->len = 1;
			return true;
		}
	case 7:
		gen_device_access(c, op, r->story_devn, false);
		return true;
	case 8:
		op->kind = F_READ;
		op->task = choose(c, 2) ? r->story_a : r->story_b;
		op->len = 64;
		return true;
	default:
		r->story_step = 0;
		return false;
	}
}

/* Attach, detach, or reach memory through a device. */
static void gen_device_op(struct run *r, struct chooser *c, struct fop *op)
{
	int live[MAX_LIVE_DEVICES * 4], n = live_devices(r, live, MAX_LIVE_DEVICES * 4);
	uint32_t what = choose(c, 16);

	if (op->task >= 0 && (!n || what < 2) && n < MAX_LIVE_DEVICES) {
		op->kind = F_DEV_ATTACH;
		op->device = r->next_dev++;
		op->dev_flags = pick_dev_flags(c);
		return;
	}
	if (!n) {
		op->kind = F_CHECK;
		return;
	}
	op->device = live[choose(c, (uint32_t)n)];
	if (r->story_devn >= 0 && r->story_devn < r->ndevs && r->devs[r->story_devn] && choose(c, 2))
		op->device = r->story_devn;
	if (model_device_task(r->md, op->device) >= 0)
		op->task = model_device_task(r->md, op->device);	/* the view a divergence shows */
	if (what == 2) {
		op->kind = F_DEV_DETACH;
		return;
	}
	pick_addr(r, c, op, what == 3);
	if (what == 3) {
		op->kind = F_DEV_EXCLUSIVE;
		op->len = 1 + choose(c, 4);
		return;
	}
	op->kind = what < 10 ? F_DEV_READ : F_DEV_WRITE;
	op->len = choose(c, 4) ? 1 + choose(c, 64) : 1 + choose(c, (uint32_t)(3 * PG));
	op->byte = (uint8_t)choose(c, 256);
}

/* The next step of a COW story (or of the others); false when the story is over. */
static bool gen_story_op(struct run *r, struct chooser *c, struct fop *op)
{
	int who = choose(c, 2) ? r->story_a : r->story_b;

	op->region = r->focus_region;
	op->off = r->focus_off;
	if (r->story_free)
		return gen_free_story_op(r, c, op);
	if (r->story_rewrite)
		return gen_rewrite_story_op(r, c, op);
	if (r->story_swapoff)
		return gen_swapoff_story_op(r, c, op);
	if (r->story_device)
		return gen_device_story_op(r, c, op);
	switch (r->story_step++) {
	case 1:
		op->task = r->story_a;
		gen_small_access(c, op, F_WRITE);
		return true;
	case 2:
		op->kind = F_FORK;
		op->task = r->story_a;
		op->new_task = r->story_b = r->next_task++;
		return true;
	case 3:
		op->kind = F_PIN;
		op->task = who;
		op->pin = r->story_pin = r->focus_pin = r->next_pin++;
		op->len = 1;
		op->get = choose(c, 2);
		op->foll = (op->get ? 0 : MML_FOLL_LONGTERM) | (choose(c, 2) ? MML_FOLL_FAST : 0);
		return true;
	case 4:
		op->task = who;
		switch (choose(c, 4)) {
		case 0:
			op->kind = F_MUNMAP;
			op->len = PG;
			return true;
		case 1:
			op->kind = F_MADVISE;
			op->advice = MADV_DONTNEED;
			op->len = PG;
			return true;
		case 2:
			op->kind = F_EXIT;
			return true;
		default:
			op->kind = F_CHECK;
			return true;
		}
	case 5:
		op->task = who;
		gen_small_access(c, op, F_WRITE);
		return true;
	case 6:
		op->kind = F_DMA_READ;
		op->pin = r->story_pin;
		op->off = 0;
		op->len = 64;
		return true;
	default:
		r->story_step = 0;
		return false;
	}
}

/* Fills op with the next operation for the current state of the run. */
void fuzz_gen_op(struct run *r, struct chooser *c, struct fop *op)
{
	int procs = r->o->procs, nlive = count_live_tasks(r);
	/* Devices take rolls of their own, so that a run without them is what it always was. */
	uint32_t roll = choose(c, r->o->devices ? 144 : 128);

	memset(op, 0, sizeof(*op));
	op->region = op->defines = op->pin = -1;
	if (r->story_step && gen_story_op(r, c, op))
		return;
	if (roll >= 128) {
		op->task = r->focus_task = pick_live_task(r, c);
		if (roll == 128 && op->task >= 0 && model_nr_processes(r->md) < procs && nlive < MAX_LIVE_TASKS) {
			pick_addr(r, c, op, true);
			r->story_a = op->task;
			r->story_step = 1;
			r->story_free = r->story_rewrite = r->story_swapoff = false;
			r->story_device = true;
			gen_story_op(r, c, op);
			return;
		}
		gen_device_op(r, c, op);
		return;
	}
	if (roll == 126 && r->o->swap) {
		/* The stories of one process and its own page: no fork, so no process limit. */
		int task = pick_live_task(r, c);

		if (task >= 0) {
			r->story_a = task;
			r->story_step = 1;
			r->story_free = r->story_device = false;
			r->story_rewrite = choose(c, 2);
			r->story_swapoff = !r->story_rewrite;
			gen_story_op(r, c, op);
			return;
		}
	}
	if (roll == 127 && model_nr_processes(r->md) < procs && nlive < MAX_LIVE_TASKS) {
		int task = pick_live_task(r, c);

		if (task >= 0) {
			pick_addr(r, c, op, true);	/* sets the focus page */
			r->story_a = task;
			r->story_step = 1;
			r->story_free = choose(c, 3) == 0;
			r->story_rewrite = r->story_swapoff = r->story_device = false;
			gen_story_op(r, c, op);
			return;
		}
	}
	op->task = r->focus_task = pick_live_task(r, c);
	if (op->task < 0 || (roll < 3 && model_nr_processes(r->md) < procs)) {
		op->kind = F_SPAWN;
		op->new_task = r->next_task++;
		return;
	}
	if (roll < 7 && model_nr_processes(r->md) < procs && nlive < MAX_LIVE_TASKS) {
		op->kind = F_FORK;
		op->new_task = r->next_task++;
		if (choose(c, 2))
			r->focus_task = op->new_task;
	} else if (roll < 9 && nlive < MAX_LIVE_TASKS) {
		op->kind = F_THREAD;
		op->new_task = r->next_task++;
	} else if (roll < 11) {
		op->kind = F_EXIT;
	} else if (roll < 23) {
		uint32_t how = choose(c, 20);

		op->kind = F_MMAP;
		op->defines = r->next_region++;
		op->len = pick_len(c, 8);
		op->prot = pick_prot(c);
		op->flags = MAP_PRIVATE | MAP_ANONYMOUS | (choose(c, 10) == 0 ? MAP_POPULATE : 0);
		/* A hog: 128K to 1M of written memory at once, where RAM is a few M. */
		if (r->o->oom && choose(c, 8) == 0) {
			op->len = (32 + choose(c, 225)) * PG;
			op->prot = PROT_READ | PROT_WRITE;
			op->flags |= MAP_POPULATE;
		}
		if (how < 8) {
			op->off = 0;		/* the kernel chooses */
		} else if (how < 11) {
			pick_addr(r, c, op, false);	/* a hint */
		} else {
			pick_addr(r, c, op, how != 19);
			op->flags |= how == 17 ? MAP_FIXED_NOREPLACE : MAP_FIXED;
		}
	} else if (roll < 30) {
		op->kind = F_MUNMAP;
		pick_addr(r, c, op, choose(c, 10) != 0);
		op->len = pick_len(c, 10);
	} else if (roll < 38) {
		op->kind = F_MPROTECT;
		pick_addr(r, c, op, choose(c, 10) != 0);
		op->len = pick_len(c, 10);
		op->prot = pick_prot(c);
	} else if (roll < 46) {
		op->kind = F_MADVISE;
		pick_addr(r, c, op, choose(c, 10) != 0);
		op->len = pick_len(c, 10);
		op->advice = pick_advice(c);
	} else if (roll < 99) {
		op->kind = roll < 72 ? F_WRITE : F_READ;
		pick_addr(r, c, op, false);
		op->len = choose(c, 4) ? 1 + choose(c, 64) : 1 + choose(c, (uint32_t)(3 * PG));
		op->byte = (uint8_t)choose(c, 256);
	} else if (roll < 104) {
		op->kind = F_PIN;
		op->pin = r->focus_pin = r->next_pin++;
		pick_addr(r, c, op, true);
		op->len = 1 + choose(c, 4);
		op->get = choose(c, 10) < 3;
		op->foll = (choose(c, 10) < 4 ? MML_FOLL_WRITE : 0) |
			   (!op->get && choose(c, 2) ? MML_FOLL_LONGTERM : 0) |
			   (choose(c, 10) < 3 ? MML_FOLL_FAST : 0) | (choose(c, 20) == 0 ? MML_FOLL_FORCE : 0);
	} else if (roll < 115) {
		int live[64], n = 0;

		for (int i = r->next_pin - 1; i >= 0 && n < 64; i--)
			if (i < r->npins && r->pins[i])
				live[n++] = i;
		if (!n) {
			op->kind = F_CHECK;
			return;
		}
		op->pin = live[choose(c, (uint32_t)n)];
		if (r->focus_pin >= 0 && r->focus_pin < r->npins && r->pins[r->focus_pin] && choose(c, 2))
			op->pin = r->focus_pin;
		op->kind = roll < 107 ? F_UNPIN : roll < 112 || !r->pin_writable[op->pin] ? F_DMA_READ : F_DMA_WRITE;
		op->off = choose(c, 8) ? choose(c, (uint32_t)(4 * PG)) : 0;
		op->len = choose(c, 4) ? 1 + choose(c, 64) : 1 + choose(c, (uint32_t)PG);
		op->byte = (uint8_t)choose(c, 256);
	} else if (roll < 123) {
		/* Tag stores and loads, mostly where the model says there are tags. */
		op->kind = roll < 119 ? F_TAG_SET : F_TAG_GET;
		for (int tries = 0; tries < 4; tries++) {
			pick_addr(r, c, op, false);
			if (op->region >= 0 && model_tagged(r->md, op->task, r->rbase[op->region] + (uint64_t)op->off))
				break;
		}
		op->len = choose(c, 3) ? 16 * (1 + choose(c, 64)) : 16;
		op->byte = (uint8_t)(choose(c, 32) ? choose(c, 16) : 16);	/* 16: EINVAL */
	} else if (roll == 123 && r->o->swap && !r->injecting) {
		op->kind = F_FAIL_TAG;
	} else if (roll == 124 && r->o->swap) {
		gen_swap_op(r, c, op);	/* swapoff brings tagged pages back through unuse_pte */
	} else if (r->o->swap && choose(c, 2)) {
		op->kind = F_RECLAIM;
		op->len = 1 + choose(c, 64);
	} else if (r->o->swap && choose(c, 4) == 0) {
		gen_swap_op(r, c, op);
	} else {
		op->kind = F_CHECK;
	}
}
