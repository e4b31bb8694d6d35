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
#define _GNU_SOURCE	/* memfd, seal and fallocate flags */
#include <fcntl.h>
#include <linux/falloc.h>
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

/* The live tasks numbered so far: the first members of r->live (ascending). */
static int count_live_tasks(struct run *r)
{
	int n = 0;

	while (n < r->live.n && r->live.ids[n] < r->next_task)
		n++;
	return n;
}

static int pick_live_task(struct run *r, struct chooser *c)
{
	int n;

	if (r->focus_task >= 0 && r->focus_task < r->ntasks && r->tasks[r->focus_task] && choose(c, 10) < 4)
		return r->focus_task;
	n = min_int(count_live_tasks(r), MAX_LIVE_TASKS * 4);
	return n ? r->live.ids[choose(c, (uint32_t)n)] : -1;
}

/* The (at most) 16 regions defined last, newest first: what pick_addr chooses from. */
static int recent_regions(const struct run *r, int defined[16])
{
	int n = 0;

	for (int i = min_int(r->next_region, r->nregions) - 1; i >= 0 && n < 16; i--)
		if (r->rok[i])
			defined[n++] = i;
	return n;
}

/* An address near an existing region (edges and holes included), or an absolute one. */
static void pick_addr(struct run *r, struct chooser *c, struct fop *op, bool aligned)
{
	int defined[16], n;

	if (r->focus_region >= 0 && r->focus_region < r->nregions && r->rok[r->focus_region] &&
	    choose(c, 10) < 4) {
		op->region = r->focus_region;
		op->off = r->focus_off;
	} else if ((n = recent_regions(r, defined)) && choose(c, 10) < 9) {
		int reg = defined[choose(c, (uint32_t)n)];
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
	case 5:
		/*
		 * On a NUMA machine the page may move first (seed 003 on the
		 * migration path): what was written after MADV_FREE must come
		 * back from the new page too.  Asked again until it says no.
		 */
		if (r->o->nodes > 1 && choose(c, 2)) {
			op->kind = F_MOVE_PAGES;
			op->len = 1;
			op->mode = (long)choose(c, (uint32_t)r->o->nodes);
			op->flags = MPOL_MF_MOVE;
			r->story_step = 5;
			return true;
		}
		/* fall through */
	case 3:
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

static bool gen_story_op(struct run *r, struct chooser *c, struct fop *op);

/* ---- files and shared memory (--files) ------------------------------------------------ */

#define FILE_ROLLS	40
#define FILE_PAGES	16	/* sizes and offsets stay within this many pages, or just past */
#define MAX_FILES	12	/* live inodes: past this the generator closes and unlinks */
#define MAX_FDS		12	/* descriptors per process, likewise */

/*
 * A descriptor open in task's process, mostly the one in focus; now and
 * then any name, open there or not (EBADF).  *nopen: how many are open.
 */
static int pick_fd(struct run *r, struct chooser *c, int task, int *nopen)
{
	int open[64], any[64], n = 0, na = 0;

	for (int i = r->next_fd - 1; i >= 0 && na < 64; i--) {
		if (i >= r->nfdsyms || !r->fdok[i])
			continue;
		any[na++] = i;
		if (model_fd_open(r->md, task, r->fdnum[i]))
			open[n++] = i;
	}
	*nopen = n;
	if (r->focus_fd >= 0 && r->focus_fd < r->nfdsyms && r->fdok[r->focus_fd] &&
	    model_fd_open(r->md, task, r->fdnum[r->focus_fd]) && choose(c, 2))
		return r->focus_fd;
	if (n && choose(c, 16))
		return open[choose(c, (uint32_t)n)];
	return na ? any[choose(c, (uint32_t)na)] : -1;
}

/* A size or an offset in a file: page-aligned mostly, odd now and then, a little past FILE_PAGES rarely. */
static int64_t pick_file_pos(struct chooser *c)
{
	int64_t pos = (int64_t)choose(c, choose(c, 16) ? FILE_PAGES : FILE_PAGES + 4) * (int64_t)PG;

	return choose(c, 3) ? pos : pos + choose(c, (uint32_t)PG);
}

/* A mapping of a file or of shared memory, and a page of it (or just past it). */
static bool pick_file_region(struct run *r, struct chooser *c, struct fop *op)
{
	int regs[32], n = 0;

	for (int i = r->next_region - 1; i >= 0 && n < 32; i--)
		if (i < r->nregions && r->rok[i] && r->rfile[i])
			regs[n++] = i;
	if (!n)
		return false;
	op->region = regs[choose(c, (uint32_t)n)];
	if (r->focus_region >= 0 && r->focus_region < r->nregions && r->rok[r->focus_region] &&
	    r->rfile[r->focus_region] && choose(c, 2))
		op->region = r->focus_region;
	op->off = (int64_t)choose(c, (uint32_t)(r->rlen[op->region] / PG + 1)) * (int64_t)PG;
	if (choose(c, 4) == 0)
		op->off += choose(c, (uint32_t)PG);
	r->focus_region = op->region;
	r->focus_off = op->off & ~(int64_t)(PG - 1);
	return true;
}

static int pick_file_prot(struct chooser *c)
{
	static const int prots[] = { PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE,
				     PROT_READ, PROT_READ, PROT_NONE, PROT_WRITE, PROT_READ | PROT_EXEC };
	int prot = prots[choose(c, sizeof(prots) / sizeof(prots[0]))];

	/* tags: never on a file or shared memory (docs/deviations.md #5), so now and then EINVAL */
	return choose(c, 16) ? prot : prot | MML_PROT_MTE;
}

/* An mmap of the descriptor fd (-1: MAP_SHARED|MAP_ANONYMOUS), at an address as the others choose. */
static void gen_file_mmap(struct run *r, struct chooser *c, struct fop *op, int fd)
{
	uint32_t how = choose(c, 20);

	op->kind = F_MMAP;
	op->fd = fd;
	op->defines = r->next_region++;
	op->len = pick_len(c, 8);
	op->prot = pick_file_prot(c);
	op->flags = (fd < 0 || choose(c, 3) ? MAP_SHARED : MAP_PRIVATE) | (fd < 0 ? MAP_ANONYMOUS : 0) |
		    (choose(c, 10) == 0 ? MAP_POPULATE : 0);
	op->pos = fd < 0 ? 0 : (int64_t)choose(c, 9) * (int64_t)PG + (choose(c, 32) ? 0 : 100);
	if (how < 14) {
		op->off = 0;
	} else if (how < 16) {
		pick_addr(r, c, op, false);
	} else {
		pick_addr(r, c, op, true);
		op->flags |= how == 19 ? MAP_FIXED_NOREPLACE : MAP_FIXED;
	}
	r->focus_region = op->defines;
	r->focus_off = 0;
}

/* A file to make: a name in one of the mounts (now and then none), opened read-write and created. */
static void gen_open(struct run *r, struct chooser *c, struct fop *op, bool story)
{
	static const int acc[] = { O_RDWR, O_RDWR, O_RDWR, O_RDWR, O_RDONLY, O_RDONLY, O_WRONLY };

	op->kind = F_OPEN;
	op->fd = -1;
	op->newfd = r->focus_fd = r->next_fd++;
	op->path = !story && choose(c, 32) == 0 ? FZ_PATHS - 1 : (int)choose(c, FZ_PATHS - 1);
	if (r->o->dax && op->path != FZ_PATHS - 1 && !choose(c, 4))
		op->path = FZ_PMEM_PATH + (int)choose(c, FZ_NAMES);
	r->focus_path = op->path;
	op->mode = story ? O_RDWR | O_CREAT | O_TRUNC :
		   acc[choose(c, sizeof(acc) / sizeof(acc[0]))] | (choose(c, 4) ? O_CREAT : 0) |
		   (choose(c, 8) ? 0 : O_EXCL) | (choose(c, 8) ? 0 : O_TRUNC) | (choose(c, 8) ? 0 : O_CLOEXEC);
}

static void gen_memfd(struct run *r, struct chooser *c, struct fop *op)
{
	op->kind = F_MEMFD;
	op->fd = -1;
	op->newfd = r->focus_fd = r->next_fd++;
	op->mode = (choose(c, 2) ? MFD_ALLOW_SEALING : 0) | (choose(c, 4) ? 0 : MFD_CLOEXEC);
}

/* The next step of a file story; false when it is over. */
static bool gen_file_story_op(struct run *r, struct chooser *c, struct fop *op)
{
	int who = choose(c, 2) ? r->story_a : r->story_b, step = r->story_step++;

	op->task = r->story_a;
	op->fd = r->story_fd;
	switch (step) {
	case 1:
		if (choose(c, 3))
			gen_open(r, c, op, true);
		else
			gen_memfd(r, c, op);
		r->story_fd = op->newfd;
		return true;
	case 2:
		op->kind = F_FTRUNCATE;
		op->len = (1 + choose(c, 4)) * PG + (choose(c, 2) ? 0 : choose(c, (uint32_t)PG));
		return true;
	case 3:
		gen_file_mmap(r, c, op, r->story_fd);
		op->len = 4 * PG;
		op->prot = PROT_READ | PROT_WRITE;
		op->pos = 0;
		op->off = 0;
		op->flags &= ~(MAP_FIXED | MAP_FIXED_NOREPLACE);
		return true;
	case 4:
	case 7:
		/* through the map or through the descriptor, in a page of the file */
		op->task = step == 4 ? r->story_a : who;
		op->off = (int64_t)choose(c, 4) * (int64_t)PG + choose(c, 64);
		if (choose(c, 2)) {
			gen_small_access(c, op, F_WRITE);
		} else {
			gen_small_access(c, op, F_PWRITE);
			op->pos = op->off;
		}
		return true;
	case 5:
		fuzz_gen_story_fork(r, op);
		return true;
	case 6:
		op->task = who;
		op->len = (uint64_t)pick_file_pos(c) % (4 * PG) + 1;
		switch (choose(c, 8)) {
		case 0:
			op->kind = F_FTRUNCATE;
			op->len = (uint64_t)choose(c, (uint32_t)(4 * PG));
			return true;
		case 1:
			op->kind = F_FALLOCATE;
			op->mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
			op->pos = (int64_t)choose(c, (uint32_t)(4 * PG));
			return true;
		case 2:
		case 3:
			op->kind = F_MADVISE;
			op->off = (int64_t)choose(c, 4) * (int64_t)PG;
			op->len = PG * (1 + choose(c, 2));
			op->advice = choose(c, 2) ? MADV_DONTNEED : choose(c, 2) ? MADV_REMOVE : MADV_PAGEOUT;
			return true;
		case 4:
			op->kind = F_DROP_CACHES;
			op->mode = 1 + choose(c, 3);
			return true;
		case 5:
			if (r->o->swap) {
				op->kind = F_RECLAIM;
				op->len = 1 + choose(c, 64);
				return true;
			}
			/* fall through */
		default:
			op->kind = F_CHECK;
			return true;
		}
	case 8:
	case 9:
		/* and the other process reads, through its map */
		op->task = step == 9 ? (who == r->story_a ? r->story_b : r->story_a) : who;
		op->off = (int64_t)choose(c, 4) * (int64_t)PG + choose(c, 64);
		op->len = 64;
		if (step == 9 || choose(c, 2)) {
			op->kind = F_READ;
		} else {
			op->kind = F_PREAD;
			op->pos = op->off;
		}
		return true;
	default:
		r->story_step = 0;
		return false;
	}
}

/* A call on a file or a descriptor, a mapping of one, or an access through such a mapping. */
static void gen_file_op(struct run *r, struct chooser *c, struct fop *op)
{
	static const int fallocs[] = { 0, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				       FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE };
	static const int msyncs[] = { MS_ASYNC, MS_SYNC, MS_SYNC, MS_INVALIDATE, MS_SYNC | MS_INVALIDATE, 0,
				      MS_ASYNC | MS_SYNC };
	static const int seals[] = { F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE, F_SEAL_WRITE,
				     F_SEAL_FUTURE_WRITE, F_SEAL_SHRINK | F_SEAL_GROW };
	uint32_t what = choose(c, 40);
	int nopen, fd;

	op->task = r->focus_task = pick_live_task(r, c);
	if (op->task < 0) {
		op->kind = F_CHECK;
		return;
	}
	if (r->o->dax && !choose(c, 4) && model_nr_files(r->md) < MAX_FILES) {
		fuzz_gen_dax_op(r, c, op);
		return;
	}
	if (what < 2 && model_nr_files(r->md) < MAX_FILES) {
		r->story_a = op->task;
		r->story_step = 1;
		r->story_free = r->story_rewrite = r->story_swapoff = r->story_device = false;
		r->story_file = true;
		gen_story_op(r, c, op);
		return;
	}
	fd = pick_fd(r, c, op->task, &nopen);
	/* Keep memory and descriptors bounded: past the limits, close and unlink instead of making. */
	if ((what < 6 || what == 8 || what == 33) && (model_nr_files(r->md) >= MAX_FILES || nopen >= MAX_FDS))
		what = choose(c, 2) ? 6 : 9;
	/* A call on a descriptor in a process that has none: mostly make one first. */
	else if (!nopen && what >= 6 && what < 33 && what != 9 && what < 25 + 3 * (what >= 28) && choose(c, 8))
		what = choose(c, 4) ? 0 : 5;
	if (what < 5 || (what >= 28 && what < 33 && fd < 0)) {
		gen_open(r, c, op, false);
	} else if (what == 5) {
		gen_memfd(r, c, op);
	} else if (what <= 8) {
		op->kind = what < 8 ? F_CLOSE : F_DUP;
		op->fd = fd;
		if (what == 8)
			op->newfd = r->next_fd++;
	} else if (what == 9) {
		/* mostly a name the generator made lately, so that it exists now and then */
		op->kind = F_UNLINK;
		op->path = choose(c, 16) ? (int)choose(c, FZ_PATHS - 1) : FZ_PATHS - 1;
		if (r->o->dax && op->path != FZ_PATHS - 1 && !choose(c, 4))
			op->path = FZ_PMEM_PATH + (int)choose(c, FZ_NAMES);
		if (r->focus_path >= 0 && choose(c, 2))
			op->path = r->focus_path;
	} else if (what < 26) {
		op->fd = fd;
		if (what < 12) {
			op->kind = F_FTRUNCATE;
			op->len = (uint64_t)pick_file_pos(c);
		} else if (what < 14) {
			op->kind = F_FALLOCATE;
			op->mode = fallocs[choose(c, sizeof(fallocs) / sizeof(fallocs[0]))];
			op->pos = pick_file_pos(c);
			op->len = choose(c, 4) ? 1 + (uint64_t)choose(c, (uint32_t)(4 * PG)) : 0;
			/* past tmpfs's size at once: ENOSPC, with nothing allocated (shmem_fallocate) */
			if (op->mode == 0 && fd >= 0 && model_fd_tmpfs(r->md, op->task, r->fdnum[fd]) && !choose(c, 8))
				op->len = r->o->ram;
		} else if (what < 21) {
			gen_small_access(c, op, what < 18 ? F_PWRITE : F_PREAD);
			op->pos = pick_file_pos(c);
			if (!choose(c, 4))
				op->len = 1 + choose(c, (uint32_t)(2 * PG));
		} else {
			op->kind = what == 21 ? F_FSYNC : what == 22 ? F_SEAL : what == 23 ? F_SEALS_GET :
				   what == 24 ? F_FSTAT : F_DROP_CACHES;
			op->mode = what == 22 ? seals[choose(c, sizeof(seals) / sizeof(seals[0]))] : 1 + choose(c, 3);
			if (what == 25)
				op->fd = -1;
		}
	} else if (what < 28) {
		op->kind = what == 26 ? F_MSYNC : F_MINCORE;
		if (!pick_file_region(r, c, op))
			pick_addr(r, c, op, choose(c, 10) != 0);
		op->len = pick_len(c, 10);
		op->mode = msyncs[choose(c, sizeof(msyncs) / sizeof(msyncs[0]))];
	} else if (what < 33) {
		gen_file_mmap(r, c, op, fd);
	} else if (what == 33) {
		gen_file_mmap(r, c, op, -1);
	} else if (what == 34) {
		static const int advice[] = { MADV_REMOVE, MADV_REMOVE, MADV_DONTNEED, MADV_DONTNEED,
					      MADV_POPULATE_WRITE, MADV_POPULATE_READ, MADV_FREE, MADV_PAGEOUT,
					      MADV_WIPEONFORK };

		op->kind = F_MADVISE;
		if (!pick_file_region(r, c, op))
			pick_addr(r, c, op, true);
		op->off &= ~(int64_t)(PG - 1);
		op->len = pick_len(c, 4);
		op->advice = advice[choose(c, sizeof(advice) / sizeof(advice[0]))];
	} else {
		/* loads and stores where files are mapped */
		if (!pick_file_region(r, c, op))
			pick_addr(r, c, op, false);
		gen_small_access(c, op, what < 38 ? F_WRITE : F_READ);
		if (!choose(c, 4))
			op->len = 1 + choose(c, (uint32_t)(2 * PG));
	}
}

/* The next step of a COW story (or of the others); false when the story is over. */
static bool gen_story_op(struct run *r, struct chooser *c, struct fop *op)
{
	int who = choose(c, 2) ? r->story_a : r->story_b;

	op->region = r->focus_region;
	op->off = r->focus_off;
	if (r->story_refs)
		return fuzz_gen_refs_story_op(r, c, op);
	if (r->story_ksm)
		return fuzz_gen_ksm_story_op(r, c, op);
	if (r->story_uffd)
		return fuzz_gen_uffd_story_op(r, c, op);
	if (r->story_free)
		return gen_free_story_op(r, c, op);
	if (r->story_rewrite)
		return gen_rewrite_story_op(r, c, op);
	if (r->story_swapoff)
		return gen_swapoff_story_op(r, c, op);
	if (r->story_device)
		return gen_device_story_op(r, c, op);
	if (r->story_file)
		return gen_file_story_op(r, c, op);
	if (r->story_thp)
		return fuzz_gen_thp_story_op(r, c, op);
	if (r->story_mremap)
		return fuzz_gen_mremap_story_op(r, c, op);
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

/*
 * --guard: guard regions over a few pages of a region, installed two
 * times in three, removed the third; the reads, writes, forks, unmaps and
 * advice of every other roll then meet them.
 */
#define GUARD_ROLLS	8
static void gen_guard_op(struct run *r, struct chooser *c, struct fop *op)
{
	op->task = r->focus_task = pick_live_task(r, c);
	if (op->task < 0) {
		op->kind = F_SPAWN;
		op->new_task = r->next_task++;
		return;
	}
	op->kind = F_MADVISE;
	pick_addr(r, c, op, choose(c, 10) != 0);
	op->len = pick_len(c, 6);
	op->advice = choose(c, 3) ? MADV_GUARD_INSTALL : MADV_GUARD_REMOVE;
}

/* Fills op with the next operation for the current state of the run. */
void fuzz_gen_op(struct run *r, struct chooser *c, struct fop *op)
{
	int procs = r->o->procs, nlive = count_live_tasks(r);
	/*
	 * Devices, files, THPs, mremap, NUMA, guard regions, locks, the
	 * commit, refs, KSM and userfaultfd take rolls of their own (in that
	 * order), so that a run without them is what it always was.
	 */
	uint32_t ndev = r->o->devices ? 16 : 0, nfile = r->o->files ? FILE_ROLLS : 0;
	uint32_t nthp = r->o->thp ? THP_ROLLS : 0;
	uint32_t nmremap = r->o->mremap ? MREMAP_ROLLS : 0, nnuma = r->o->nodes > 1 ? NUMA_ROLLS : 0;
	uint32_t nguard = r->o->guard ? GUARD_ROLLS : 0, nmlock = r->o->mlock ? MLOCK_ROLLS : 0;
	uint32_t ncommit = r->o->commit ? COMMIT_ROLLS : 0, nrefs = r->o->refs ? REFS_ROLLS : 0;
	uint32_t nksm = r->o->ksm ? KSM_ROLLS : 0;
	uint32_t nuffd = r->o->uffd ? UFFD_ROLLS : 0;
	uint32_t roll = choose(c, 128 + ndev + nfile + nthp + nmremap + nnuma + nguard + nmlock + ncommit + nrefs +
			       nksm + nuffd);

	memset(op, 0, sizeof(*op));
	op->region = op->defines = op->pin = op->fd = op->newfd = op->region2 = op->held = -1;
	if (r->story_step && gen_story_op(r, c, op))
		return;
	if (r->o->thp && fuzz_gen_thp_pending(r, c, op))
		return;
	if (roll >= 128 + ndev + nfile + nthp + nmremap + nnuma + nguard + nmlock + ncommit + nrefs + nksm) {
		fuzz_gen_uffd(r, c, op);
		return;
	}
	if (roll >= 128 + ndev + nfile + nthp + nmremap + nnuma + nguard + nmlock + ncommit + nrefs) {
		fuzz_gen_ksm(r, c, op);
		return;
	}
	if (roll >= 128 + ndev + nfile + nthp + nmremap + nnuma + nguard + nmlock + ncommit) {
		fuzz_gen_refs(r, c, op);
		return;
	}
	if (roll >= 128 + ndev + nfile + nthp + nmremap + nnuma + nguard + nmlock) {
		fuzz_gen_commit(r, c, op);
		return;
	}
	if (roll >= 128 + ndev + nfile + nthp + nmremap + nnuma + nguard) {
		fuzz_gen_mlock(r, c, op);
		return;
	}
	if (roll >= 128 + ndev + nfile + nthp + nmremap + nnuma) {
		gen_guard_op(r, c, op);
		return;
	}
	if (roll >= 128 + ndev + nfile + nthp + nmremap) {
		fuzz_gen_numa(r, c, op);
		return;
	}
	if (roll >= 128 + ndev + nfile + nthp) {
		fuzz_gen_mremap(r, c, op);
		return;
	}
	if (roll >= 128 + ndev + nfile) {
		fuzz_gen_thp_op(r, c, op);
		return;
	}
	if (roll >= 128 + ndev) {
		gen_file_op(r, c, op);
		return;
	}
	if (roll >= 128) {
		op->task = r->focus_task = pick_live_task(r, c);
		if (roll == 128 && op->task >= 0 && model_nr_processes(r->md) < procs && nlive < MAX_LIVE_TASKS) {
			pick_addr(r, c, op, true);
			r->story_a = op->task;
			r->story_step = 1;
			r->story_free = r->story_rewrite = r->story_swapoff = false;
			r->story_device = true;
			r->story_file = false;
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
			r->story_file = false;
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
			r->story_rewrite = r->story_swapoff = r->story_device = r->story_file = false;
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
	} else if (roll < 23 && r->o->thp && choose(c, 4)) {
		fuzz_gen_thp_mmap(r, c, op);	/* --thp: most mappings are THP regions */
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
		int live[64], n = fuzz_recent_pins(r, live, 64);

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

/* ---- for fuzz_thp.c and fuzz_mremap.c: the same choices, pickers and story steps ---------- */

uint32_t fuzz_choose(struct chooser *c, uint32_t n)
{
	return choose(c, n);
}

int fuzz_pick_task(struct run *r, struct chooser *c)
{
	return pick_live_task(r, c);
}

/* May a fork happen now: room for a process and for its task? */
bool fuzz_room_for_fork(struct run *r)
{
	return model_nr_processes(r->md) < r->o->procs && count_live_tasks(r) < MAX_LIVE_TASKS;
}

/* A story's fork: its second process, or, without room, a check and the story goes on in the first. */
void fuzz_gen_story_fork(struct run *r, struct fop *op)
{
	if (fuzz_room_for_fork(r)) {
		op->kind = F_FORK;
		op->new_task = r->story_b = r->next_task++;
	} else {
		op->kind = F_CHECK;
		r->story_b = r->story_a;
	}
}

void fuzz_gen_own_page(struct run *r, struct fop *op, int prot)
{
	gen_own_page(r, op, prot);
}

void fuzz_pick_addr(struct run *r, struct chooser *c, struct fop *op, bool aligned)
{
	pick_addr(r, c, op, aligned);
}

int fuzz_pick_prot(struct chooser *c)
{
	return pick_prot(c);
}
