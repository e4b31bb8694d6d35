/*
 * fuzz_thp.c - transparent huge pages in the differential fuzzer
 * (`mmlab fuzz --thp`): the operations that make, split, collapse and
 * share THPs, and the calls only --thp makes (a knob written, a
 * khugepaged pass, the split_huge_pages file).
 *
 * Nothing of this shows in the bytes: the model (model_thp.c) judges
 * the calls' results and keeps every byte as it was, so that any THP
 * path that loses, leaks or shares a byte diverges at the next read,
 * DMA or check.  What makes THPs happen is where memory sits: most
 * mappings of a --thp run are "THP regions", 2 MiB-aligned (fixed slots
 * from THP_BASE) and given MADV_HUGEPAGE by the operation after their
 * mmap, so that a fault maps a PMD; and the unmaps, mprotects and advice
 * here aim at PMD boundaries, where a PMD has to be split.
 *
 * Two stories put the zoo's THP bugs within reach of a few thousand
 * operations: a THP written, maybe pinned, shared by fork, split in one
 * process and written in the other, then read by both and by the pin;
 * and small pages pinned in a 2 MiB range that MADV_COLLAPSE or
 * khugepaged then collapses, written and read back through the pin.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <string.h>
#include <sys/mman.h>

#include "oracle/fuzz_internal.h"
#include "scenario/scenario.h"

#define MAX_LIVE_TASKS		16	/* as fuzz_gen.c's */
#define SPLIT_HUGE_PAGES	"/sys/kernel/debug/split_huge_pages"

bool fuzz_thp_region(const struct run *r, int region)
{
	return region >= 0 && region < r->nregions && r->rok[region] && r->rbase[region] >= THP_BASE &&
	       r->rbase[region] < THP_BASE + (THP_SLOTS + 1) * THP_SIZE;
}

/* A THP region of the run, mostly the one in focus; -1 if there is none. */
static int pick_thp_region(struct run *r, struct chooser *c)
{
	int regs[32], n = 0;

	if (fuzz_thp_region(r, r->focus_region) && fuzz_choose(c, 2))
		return r->focus_region;
	for (int i = r->next_region - 1; i >= 0 && n < 32; i--)
		if (fuzz_thp_region(r, i))
			regs[n++] = i;
	return n ? regs[fuzz_choose(c, (uint32_t)n)] : -1;
}

/*
 * An offset in region near a PMD boundary: the boundary itself, a few
 * pages either side, or the middle of a PMD, so that a range from there
 * cuts a PMD in part.
 */
static int64_t pick_boundary_off(struct run *r, struct chooser *c, int region)
{
	uint64_t base = r->rbase[region], first = ((base + THP_SIZE - 1) & ~(THP_SIZE - 1)) - base;
	uint64_t nb = (r->rlen[region] - first) / THP_SIZE + 1;
	int64_t off = (int64_t)(first + fuzz_choose(c, (uint32_t)nb) * THP_SIZE);

	switch (fuzz_choose(c, 6)) {
	case 0:
	case 1:
		return off;
	case 2:
		return off - (int64_t)((1 + fuzz_choose(c, 4)) * PG);
	case 3:
		return off + (int64_t)((1 + fuzz_choose(c, 4)) * PG);
	case 4:
		return off + (int64_t)(THP_SIZE / 2);
	default:
		return (int64_t)(fuzz_choose(c, (uint32_t)(r->rlen[region] / PG)) * PG);
	}
}

/* A length from a boundary: a few pages, half a PMD, a PMD and a bit, two. */
static uint64_t pick_thp_len(struct chooser *c)
{
	switch (fuzz_choose(c, 6)) {
	case 0:
	case 1:
		return (1 + fuzz_choose(c, 16)) * PG;
	case 2:
		return THP_SIZE / 2;
	case 3:
		return THP_SIZE;
	case 4:
		return THP_SIZE + (1 + fuzz_choose(c, 8)) * PG;
	default:
		return 2 * THP_SIZE;
	}
}

/* op's address: a page of a THP region (mostly the focus page), as focus. */
static bool pick_thp_page(struct run *r, struct chooser *c, struct fop *op)
{
	int reg = pick_thp_region(r, c);

	if (reg < 0)
		return false;
	op->region = reg;
	if (reg == r->focus_region && fuzz_choose(c, 2))
		op->off = r->focus_off;
	else
		op->off = (int64_t)(fuzz_choose(c, (uint32_t)(r->rlen[reg] / PG)) * PG);
	r->focus_region = reg;
	r->focus_off = op->off;
	return true;
}

/* ---- generating ------------------------------------------------------------------------------- */

/*
 * A THP region: a 2 MiB slot of its own (MAP_FIXED_NOREPLACE mostly: a
 * slot taken is EEXIST), now and then a few pages off the boundary or of
 * an odd length, so that some PMD of it does not fit; MADV_HUGEPAGE
 * comes with the next operation, mostly.
 */
void fuzz_gen_thp_mmap(struct run *r, struct chooser *c, struct fop *op)
{
	static const uint64_t lens[] = { THP_SIZE, THP_SIZE, THP_SIZE, 2 * THP_SIZE, THP_SIZE + 4 * PG,
					 THP_SIZE / 2, 3 * THP_SIZE / 2, 16 * PG };

	op->kind = F_MMAP;
	op->region = -1;
	op->defines = r->focus_region = r->next_region++;
	r->focus_off = 0;
	op->off = (int64_t)(THP_BASE + fuzz_choose(c, THP_SLOTS) * THP_SIZE);
	if (!fuzz_choose(c, 8))
		op->off += (int64_t)(fuzz_choose(c, 16) * PG);
	op->len = lens[fuzz_choose(c, sizeof(lens) / sizeof(lens[0]))];
	op->prot = fuzz_choose(c, 4) ? PROT_READ | PROT_WRITE : fuzz_pick_prot(c);
	op->flags = MAP_PRIVATE | MAP_ANONYMOUS | (fuzz_choose(c, 3) ? MAP_FIXED_NOREPLACE : MAP_FIXED) |
		    (fuzz_choose(c, 12) ? 0 : MAP_POPULATE);
	if (fuzz_choose(c, 8))
		r->thp_advise = op->defines;
}

bool fuzz_gen_thp_pending(struct run *r, struct chooser *c, struct fop *op)
{
	int reg = r->thp_advise;

	r->thp_advise = -1;
	if (reg < 0 || reg >= r->nregions || !r->rok[reg] || r->focus_task < 0)
		return false;
	op->kind = F_MADVISE;
	op->task = r->focus_task;
	op->region = reg;
	op->off = 0;
	op->len = r->rlen[reg];
	op->advice = fuzz_choose(c, 16) ? MADV_HUGEPAGE : MADV_NOHUGEPAGE;
	return true;
}

/* The values a knob write tries: each store's words and numbers, and some it refuses. */
static const char *const knob_values[] = {
	/* words (0..12) */
	"always", "madvise", "never", "inherit", "defer", "defer+madvise", "always\n", "never\n", "madvise\n",
	"within_size", "advise", "deny", "force",
	/* numbers (13..24) */
	"0", "1", "2", "8", "64", "256", "511", "512", "4096", "1\n", "0\n", "+1",
	/* refused, or no store at all (21..) */
	"x", "", "1 ", "never ",
};
#define KNOB_WORDS	13
#define KNOB_NUMBERS	12

static void gen_knob(struct chooser *c, struct fop *op)
{
	const char *path;
	bool words;

	op->kind = F_SYS;
	op->path = (int)fuzz_choose(c, (uint32_t)model_thp_knobs());
	path = model_thp_knob_path(op->path);
	words = strstr(path, "enabled") || (strstr(path, "/defrag") && !strstr(path, "khugepaged"));
	if (!fuzz_choose(c, 8))
		op->mode = fuzz_choose(c, sizeof(knob_values) / sizeof(knob_values[0]));
	else
		op->mode = words ? fuzz_choose(c, KNOB_WORDS) : KNOB_WORDS + fuzz_choose(c, KNOB_NUMBERS);
}

/* A story's collapse of its 2 MiB: MADV_COLLAPSE (two times in three), or a khugepaged pass. */
static void gen_collapse(struct chooser *c, struct fop *op)
{
	if (fuzz_choose(c, 3)) {
		op->kind = F_MADVISE;
		op->off = 0;
		op->len = THP_SIZE;
		op->advice = MADV_COLLAPSE;
	} else {
		op->kind = F_KHUGEPAGED;
		op->len = 512 * (16 + fuzz_choose(c, 64));
	}
}

static void gen_pin(struct run *r, struct chooser *c, struct fop *op, bool get_ok)
{
	op->kind = F_PIN;
	op->pin = r->story_pin = r->focus_pin = r->next_pin++;
	op->len = 1;
	op->get = get_ok && !fuzz_choose(c, 4);
	op->foll = (fuzz_choose(c, 2) ? MML_FOLL_WRITE : 0) | (!op->get && fuzz_choose(c, 4) ? MML_FOLL_LONGTERM : 0) |
		   (fuzz_choose(c, 4) ? 0 : MML_FOLL_FAST);
}

/*
 * The next step of the file THP story (--files): a shmem file (a memfd,
 * or one of /tmp or /dev/shm) of one or two huge pages' size, maybe under
 * a shmem_enabled that gives it huge pages at fault, mapped shared at a
 * 2 MiB slot and written here and there, shared by fork, then collapsed
 * (MADV_COLLAPSE, or khugepaged once the advice registered the mm) while
 * the other process maps it too -- whose page table retract_page_tables
 * takes -- then written, cut (truncate, a hole, reclaim) and read by both
 * through their maps and the descriptor.  The bytes must stay the file's.
 */
static bool gen_file_thp_story_op(struct run *r, struct chooser *c, struct fop *op, int step)
{
	static const int shmem_words[] = { 0, 9, 10, 2, 11, 12 };	/* knob_values: always .. force */
	int who = fuzz_choose(c, 2) ? r->story_a : r->story_b;

	op->task = r->story_a;
	op->fd = r->story_fd;
	op->region = r->focus_region;
	switch (step) {
	case 1:
		op->fd = -1;
		op->newfd = r->story_fd = r->focus_fd = r->next_fd++;
		if (fuzz_choose(c, 3)) {
			op->kind = F_MEMFD;
			op->mode = 0;
		} else {
			op->kind = F_OPEN;
			op->path = 3 * (int)fuzz_choose(c, 2) + (int)fuzz_choose(c, 3);	/* /tmp/x or /dev/shm/x */
			op->mode = O_RDWR | O_CREAT | O_TRUNC;
		}
		return true;
	case 2:
		op->kind = F_SYS;
		op->path = MODEL_SHMEM_ENABLED_KNOB;
		op->mode = shmem_words[fuzz_choose(c, sizeof(shmem_words) / sizeof(shmem_words[0]))];
		return true;
	case 3:
		op->kind = F_FTRUNCATE;
		op->len = (1 + fuzz_choose(c, 2)) * THP_SIZE + (fuzz_choose(c, 4) ? 0 : fuzz_choose(c, 8) * PG);
		return true;
	case 4:
		op->kind = F_MMAP;
		op->region = -1;
		op->defines = r->focus_region = r->next_region++;
		op->off = (int64_t)(THP_BASE + fuzz_choose(c, THP_SLOTS - 1) * THP_SIZE);
		op->len = (1 + fuzz_choose(c, 2)) * THP_SIZE;
		op->prot = PROT_READ | PROT_WRITE;
		op->flags = MAP_SHARED | MAP_FIXED;
		op->pos = 0;
		r->focus_off = (int64_t)(fuzz_choose(c, 512) * PG);
		return true;
	case 11:
		/* a pin in the middle of the range now and then: the collapse then fails halfway and rolls back */
		if (!fuzz_choose(c, 3)) {
			op->off = (int64_t)(fuzz_choose(c, 512) * PG);
			gen_pin(r, c, op, true);
			return true;
		}
		/* fall through */
	case 5:
		op->kind = F_MADVISE;
		op->off = 0;
		op->len = THP_SIZE;
		op->advice = fuzz_choose(c, 6) ? MADV_HUGEPAGE : MADV_NOHUGEPAGE;
		return true;
	case 6:
	case 7:
	case 10:
	case 13:
		op->task = step == 6 ? r->story_a : who;
		op->off = step == 6 ? r->focus_off : (int64_t)(fuzz_choose(c, 512) * PG);
		op->len = 1 + fuzz_choose(c, 64);
		op->byte = (uint8_t)(1 + fuzz_choose(c, 255));
		if (fuzz_choose(c, 3)) {
			op->kind = F_WRITE;
		} else {
			op->kind = F_PWRITE;
			op->pos = op->off;
		}
		return true;
	case 8:
		fuzz_gen_story_fork(r, op);
		return true;
	case 9:
		/* the child maps the file too (fork copied no table of it): its fault makes one */
		op->task = r->story_b;
		op->kind = F_READ;
		op->off = (int64_t)(fuzz_choose(c, 512) * PG);
		op->len = 64;
		return true;
	case 12:
		op->task = who;
		/* one schedule of failures at a time: under --fail-rate, none of the story's own */
		if (!r->injecting && !fuzz_choose(c, 4)) {
			op->kind = F_COLLAPSE_FAIL;
			op->off = 0;
			op->len = THP_SIZE;
		} else if (!fuzz_choose(c, 3)) {
			/* the first process collapses what the second has write-protected */
			op->kind = F_COLLAPSE_UFFD;
			op->task = r->story_a;
			op->target = r->story_b;
			op->off = 0;
			op->len = THP_SIZE;
			op->off2 = (int64_t)(THP_BASE + fuzz_choose(c, THP_SLOTS) * THP_SIZE);
			op->pos = (int64_t)(fuzz_choose(c, 512) * PG);
		} else {
			gen_collapse(c, op);
		}
		return true;
	case 14:
		op->task = who;
		switch (fuzz_choose(c, 8)) {
		case 0:
			op->kind = F_FTRUNCATE;
			op->len = fuzz_choose(c, 2 * 512) * PG + (fuzz_choose(c, 2) ? 0 : 100);
			return true;
		case 1:
			op->kind = F_FALLOCATE;
			op->mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
			op->pos = (int64_t)(fuzz_choose(c, 512) * PG);
			op->len = PG * (1 + fuzz_choose(c, 4));
			return true;
		case 2:
			op->kind = F_MADVISE;
			op->off = (int64_t)(fuzz_choose(c, 512) * PG);
			op->len = PG * (1 + fuzz_choose(c, 16));
			op->advice = fuzz_choose(c, 2) ? MADV_PAGEOUT : MADV_DONTNEED;
			return true;
		case 3:
			if (r->o->swap) {
				op->kind = F_RECLAIM;
				op->len = 1 + fuzz_choose(c, 1024);
				return true;
			}
			/* fall through */
		default:
			op->kind = F_DROP_CACHES;
			op->mode = 1 + fuzz_choose(c, 3);
			return true;
		}
	case 15:
	case 16:
		op->task = step == 15 ? who : (who == r->story_a ? r->story_b : r->story_a);
		op->off = (int64_t)(fuzz_choose(c, 512) * PG) + fuzz_choose(c, 64);
		if (!fuzz_choose(c, 3))
			op->off = r->focus_off;
		op->len = 64;
		if (fuzz_choose(c, 3)) {
			op->kind = F_READ;
		} else {
			op->kind = F_PREAD;
			op->pos = op->off;
		}
		return true;
	default:
		r->story_step = 0;
		r->story_thp = r->story_file_thp = false;
		return false;
	}
}

/* The next step of a THP story; false when it is over. */
bool fuzz_gen_thp_story_op(struct run *r, struct chooser *c, struct fop *op)
{
	int step = r->story_step++, who = fuzz_choose(c, 2) ? r->story_a : r->story_b;
	int other = who == r->story_a ? r->story_b : r->story_a;
	bool collapse = r->story_collapse;

	if (r->story_file_thp)
		return gen_file_thp_story_op(r, c, op, step);
	op->task = r->story_a;
	switch (collapse ? step + 100 : step) {
	case 1:
	case 101:
		/* A 2 MiB slot of its own, whatever held it in this process before. */
		op->kind = F_MMAP;
		op->region = -1;
		op->defines = r->focus_region = r->next_region++;
		op->off = (int64_t)(THP_BASE + fuzz_choose(c, THP_SLOTS) * THP_SIZE);
		op->len = THP_SIZE;
		op->prot = PROT_READ | PROT_WRITE | (fuzz_choose(c, 6) ? 0 : MML_PROT_MTE);
		op->flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
		r->focus_off = (int64_t)(fuzz_choose(c, 511) * PG);
		r->story_pin = -1;
		return true;
	case 2:
	case 105:
		/* VM_HUGEPAGE: the next fault (a story) or khugepaged (a collapse story) may make a THP */
		op->kind = F_MADVISE;
		op->off = 0;
		op->len = THP_SIZE;
		op->advice = !collapse || fuzz_choose(c, 4) ? MADV_HUGEPAGE : MADV_NOHUGEPAGE;
		return true;
	case 3:
	case 102:
		op->kind = F_WRITE;
		op->len = 1 + fuzz_choose(c, 64);
		op->byte = (uint8_t)(1 + fuzz_choose(c, 255));
		return true;
	case 103:
		/* a second small page, so that the collapse copies more than one */
		op->kind = F_WRITE;
		op->off = (int64_t)(fuzz_choose(c, 512) * PG);
		op->len = 1 + fuzz_choose(c, 64);
		op->byte = (uint8_t)(1 + fuzz_choose(c, 255));
		return true;
	case 4:
	case 104:
		if (!collapse && !fuzz_choose(c, 3)) {
			op->kind = F_CHECK;	/* no pin: a fork shares the PMD */
			return true;
		}
		gen_pin(r, c, op, !collapse);
		return true;
	case 5:
		fuzz_gen_story_fork(r, op);
		return true;
	case 6:
		/* split the PMD in one of them, next to the focus page */
		op->task = who;
		op->off = r->focus_off + (r->focus_off + (int64_t)PG < (int64_t)THP_SIZE ? (int64_t)PG : -(int64_t)PG);
		op->len = PG * (1 + fuzz_choose(c, 4));
		switch (fuzz_choose(c, 6)) {
		case 0:
			op->kind = F_MPROTECT;
			op->prot = PROT_READ;
			op->len = PG;
			break;
		case 1:
			op->kind = F_MUNMAP;
			op->len = PG;
			break;
		case 2:
			op->kind = F_SPLIT_HUGE;
			op->off = 0;
			op->len = THP_SIZE;
			break;
		default:
			op->kind = F_MADVISE;
			op->advice = fuzz_choose(c, 3) ? MADV_DONTNEED : fuzz_choose(c, 2) ? MADV_FREE : MADV_COLD;
			break;
		}
		/* the other one writes next: the story remembers who split */
		r->story_splitter = who;
		return true;
	case 7:
		op->task = r->story_splitter == r->story_a ? r->story_b : r->story_a;
		if (!fuzz_choose(c, 4))
			op->task = r->story_splitter;
		op->kind = F_WRITE;
		op->len = 1 + fuzz_choose(c, 64);
		op->byte = (uint8_t)(1 + fuzz_choose(c, 255));
		return true;
	case 8:
	case 9:
		op->kind = F_READ;
		op->task = step == 8 ? who : other;
		op->len = 64;
		return true;
	case 106:
		/* collapse the range under the pin, or let khugepaged try */
		gen_collapse(c, op);
		return true;
	case 107:
		op->kind = F_WRITE;
		op->len = 1 + fuzz_choose(c, 64);
		op->byte = (uint8_t)(1 + fuzz_choose(c, 255));
		return true;
	case 10:
	case 108:
		if (r->story_pin >= 0 && r->story_pin < r->npins && r->pins[r->story_pin]) {
			op->kind = F_DMA_READ;
			op->pin = r->story_pin;
			op->off = 0;
			op->len = 64;
			return true;
		}
		/* fall through */
	case 109:
		op->kind = F_READ;
		op->len = 64;
		return true;
	default:
		r->story_step = 0;
		r->story_thp = r->story_collapse = false;
		return false;
	}
}

/* The --thp rolls: advice, unmaps and mprotects across PMD boundaries, knobs, khugepaged, splits. */
void fuzz_gen_thp_op(struct run *r, struct chooser *c, struct fop *op)
{
	static const int advice[] = { MADV_HUGEPAGE, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_COLLAPSE, MADV_DONTNEED,
				      MADV_DONTNEED, MADV_FREE, MADV_FREE, MADV_COLD, MADV_PAGEOUT, MADV_PAGEOUT,
				      MADV_WIPEONFORK, MADV_DONTFORK, MADV_DOFORK, MADV_POPULATE_WRITE,
				      MADV_POPULATE_READ };
	uint32_t what = fuzz_choose(c, THP_ROLLS);
	int reg;

	op->task = r->focus_task = fuzz_pick_task(r, c);
	if (op->task < 0) {
		op->kind = F_CHECK;
		return;
	}
	if (what < 3) {
		r->story_a = op->task;
		r->story_step = 1;
		r->story_free = r->story_rewrite = r->story_swapoff = r->story_device = r->story_file = false;
		r->story_thp = true;
		r->story_collapse = what == 2;
		r->story_file_thp = what == 1 && r->o->files;
		op->region = r->focus_region;
		op->off = r->focus_off;
		fuzz_gen_thp_story_op(r, c, op);
		return;
	}
	if (what < 18 || (what >= 26 && what < 28)) {
		reg = pick_thp_region(r, c);
		if (reg < 0) {
			fuzz_gen_thp_mmap(r, c, op);
			return;
		}
		op->region = r->focus_region = reg;
		op->off = pick_boundary_off(r, c, reg);
		op->len = pick_thp_len(c);
		r->focus_off = op->off & ~(int64_t)(PG - 1);
		if (what < 9) {
			op->kind = F_MADVISE;
			op->advice = advice[fuzz_choose(c, sizeof(advice) / sizeof(advice[0]))];
		} else if (what < 12) {
			/* a whole region, or a PMD of it */
			op->kind = F_MADVISE;
			op->advice = MADV_COLLAPSE;
			if (fuzz_choose(c, 2)) {
				op->off = 0;
				op->len = r->rlen[reg];
			}
		} else if (what < 15) {
			op->kind = F_MUNMAP;
		} else if (what < 18) {
			op->kind = F_MPROTECT;
			op->prot = fuzz_pick_prot(c);
		} else {
			op->kind = F_SPLIT_HUGE;
			if (fuzz_choose(c, 2)) {
				op->off = 0;
				op->len = r->rlen[reg];
			} else if (!fuzz_choose(c, 8)) {
				op->len = 0;	/* an empty range: nothing to split */
			}
		}
		return;
	}
	if (what < 22) {
		gen_knob(c, op);
	} else if (what < 26) {
		op->kind = F_KHUGEPAGED;
		op->len = 512 * (1 + fuzz_choose(c, 64));
	} else if (what < 29) {
		op->kind = F_DROP_CACHES;
		op->mode = 1 + fuzz_choose(c, 3);
	} else if (what < 33) {
		if (!pick_thp_page(r, c, op)) {
			op->kind = F_CHECK;
			return;
		}
		gen_pin(r, c, op, true);
		op->len = 1 + fuzz_choose(c, 4);
	} else if (what < 35) {
		if (fuzz_room_for_fork(r)) {
			op->kind = F_FORK;
			op->new_task = r->next_task++;
		} else {
			op->kind = F_CHECK;
		}
	} else if (what < 41) {
		if (!pick_thp_page(r, c, op)) {
			fuzz_gen_thp_mmap(r, c, op);
			return;
		}
		op->kind = what < 39 ? F_WRITE : F_READ;
		op->off += fuzz_choose(c, 64);
		op->len = 1 + fuzz_choose(c, 64);
		op->byte = (uint8_t)fuzz_choose(c, 256);
	} else if (what < 44) {
		reg = pick_thp_region(r, c);
		if (reg < 0 || (r->o->swap && !fuzz_choose(c, 3))) {
			op->kind = r->o->swap ? F_RECLAIM : F_CHECK;
			op->len = 1 + fuzz_choose(c, 1024);
			return;
		}
		op->kind = F_MADVISE;
		op->region = reg;
		op->off = 0;
		op->len = r->rlen[reg];
		op->advice = what < 43 ? MADV_PAGEOUT : MADV_COLD;
	} else if (what < 46) {
		fuzz_gen_thp_mmap(r, c, op);
	} else {
		int live[64], n = fuzz_recent_pins(r, live, 64);

		if (!n) {
			op->kind = F_CHECK;
			return;
		}
		op->pin = live[fuzz_choose(c, (uint32_t)n)];
		op->kind = what == 46 ? F_DMA_READ : F_UNPIN;
		op->off = 0;
		op->len = 64;
	}
}

/* ---- running ----------------------------------------------------------------------------- */

/*
 * model_read or model_write of what the library did: an access that got
 * through a shmem huge page past the end of its file (where the model
 * says SIGBUS only maybe) is done on the model too, the bytes written
 * there kept only as "maybe".
 */
long fuzz_model_access(struct run *r, int task, uint64_t addr, void *buf, uint64_t len, bool write, long got)
{
	long exp = write ? model_write(r->md, task, addr, buf, len) : model_read(r->md, task, addr, buf, len);

	if (exp != -EIO || got || !model_past_eof_maybe(r->md, task, addr, len))
		return exp;
	model_allow_past_eof(r->md, true);
	exp = write ? model_write(r->md, task, addr, buf, len) : model_read(r->md, task, addr, buf, len);
	model_allow_past_eof(r->md, false);
	return exp;
}

/* A knob written, then read back: both against the model's. */
static void exec_sys(struct run *r, const struct fop *op, long fails_before)
{
	const char *path = model_thp_knob_path(op->path), *value = knob_values[op->mode];
	char got_text[256], want[256];
	long got, exp, n;

	got = mml_sys_write(r->m, path, value);
	if (got == -ENOMEM && r->injecting && mml_fail_injected(r->m) != fails_before)
		return;
	exp = model_sys_write(r->md, op->path, value);
	exp = fuzz_judge(r, NULL, got, exp, "sys %s \"%s\"", path, value);
	if (r->scn) {
		struct scn_op s;

		scn_op_init(&s, SCN_OP_SYS);
		s.name = (char *)path;
		s.sys_value = (char *)value;
		fuzz_stmt_result(&s, exp);
		fuzz_print(r->scn, &s);
	}
	if (!model_sys_text(r->md, op->path, want, sizeof(want)))
		return;
	n = mml_sys_read(r->m, path, got_text, sizeof(got_text) - 1);
	got_text[n < 0 ? 0 : n] = '\0';
	if (n < 0 || strcmp(got_text, want))
		fuzz_diverge(r, "read %s: got \"%s\" (%ld), the model says \"%s\"", path, got_text, n, want);
	if (r->scn) {
		struct scn_op s;

		scn_op_init(&s, SCN_OP_EXPECT_SYS);
		s.name = (char *)path;
		s.sys_value = want;
		fuzz_print(r->scn, &s);
	}
}

/*
 * The debugfs file: "<pid>,0x<start>,0x<end>".  As Linux's, it splits
 * what the process maps there up to the first hole and succeeds for any
 * live process, an empty range included; the bytes stay.
 */
static void exec_split_huge(struct run *r, const struct fop *op, struct mml_task *t, uint64_t addr,
			    long fails_before)
{
	char buf[96];
	long got, exp = 0;

	snprintf(buf, sizeof(buf), "%d,0x%" PRIx64 ",0x%" PRIx64, mml_task_pid(t), addr, addr + op->len);
	got = mml_sys_write(r->m, SPLIT_HUGE_PAGES, buf);
	if (got == -ENOMEM && r->injecting && mml_fail_injected(r->m) != fails_before)
		return;
	exp = fuzz_judge(r, t, got, exp, "split_huge_pages T%d %s", op->task, buf);
	if (r->scn) {
		struct scn_op s;

		fuzz_stmt_at(&s, SCN_OP_SPLIT_HUGE_PAGES, op);
		fuzz_stmt_result(&s, exp);
		fuzz_print(r->scn, &s);
	}
}

static void print_fail_meta(struct run *r, bool on)
{
	struct scn_op s;

	scn_op_init(&s, SCN_OP_FAIL);
	s.fail_sites = on ? MML_FAIL_META : 0;
	s.fail_nth = 1;
	fuzz_print(r->scn, &s);
}

/*
 * MADV_COLLAPSE whose next metadata allocation fails: for a file's range
 * that is the xarray node collapse_file needs to claim a hole (after the
 * small folios were isolated and copied), so the collapse rolls back,
 * and the file must read as before.  Judged as any MADV_COLLAPSE is.
 */
/* op's MADV_COLLAPSE statement: the model's result, or each of the outcomes it allowed (n > 1). */
static void print_collapse_stmt(struct run *r, const struct fop *op, long exp, const int *outcomes, int n)
{
	struct scn_op s;

	fuzz_stmt_at(&s, SCN_OP_MADVISE, op);
	s.arg = MADV_COLLAPSE;
	fuzz_stmt_result(&s, exp);
	if (n > 1) {
		s.expect.nerr = n;
		memcpy(s.expect.err, outcomes, (size_t)n * sizeof(*outcomes));
	}
	fuzz_print(r->scn, &s);
}

static void exec_collapse_fail(struct run *r, const struct fop *op, struct mml_task *t, uint64_t addr)
{
	struct mml_fail f = { .sites = MML_FAIL_META, .countdown = 1 };
	int outcomes[SCN_MAX_ERRS], n = 0;
	long got, exp;

	if (mml_fail_set(r->m, &f)) {
		fuzz_diverge(r, "fail meta: mml_fail_set refused");
		return;
	}
	got = mml_madvise(t, addr, op->len, MADV_COLLAPSE);
	mml_fail_set(r->m, NULL);
	exp = model_madvise_collapse(r->md, op->task, addr, op->len, got, outcomes, &n);
	exp = fuzz_judge(r, t, got, exp, "T%d madvise (fail meta) 0x%" PRIx64 " %" PRIu64 " collapse", op->task, addr,
			 op->len);
	if (r->scn) {
		print_fail_meta(r, true);
		print_collapse_stmt(r, op, exp, outcomes, n);
		print_fail_meta(r, false);
	}
}

/* A statement of F_COLLAPSE_UFFD's probe: the target's, at the second mapping (an absolute address). */
static void print_probe_stmt(struct run *r, const struct fop *op, uint64_t second, enum scn_op_kind kind,
			     long result)
{
	struct scn_op s;

	scn_op_init(&s, kind);
	s.task = FZ_SYM(FZ_TASK, op->target);
	s.addr.sym = -1;
	s.addr.off = second;
	s.len = op->len;
	s.uffd = FZ_SYM(FZ_UFFD, model_proc_index(r->md, op->target));
	switch (kind) {
	case SCN_OP_MMAP:
		s.arg = PROT_READ | PROT_WRITE;
		s.flags = MAP_SHARED | MAP_FIXED_NOREPLACE;
		s.fdsym = FZ_SYM(FZ_FD, op->fd);
		break;
	case SCN_OP_UFFD_NEW:
		s.def = s.uffd;
		s.uffd = -1;
		s.flags = UFFD_FEATURE_SIGBUS;
		break;
	case SCN_OP_UFFD_REGISTER:
		s.flags = UFFDIO_REGISTER_MODE_WP;
		break;
	case SCN_OP_UFFD_WRITEPROTECT:
		s.value = 1;
		break;
	case SCN_OP_EXPECT_PAGEMAP:
		s.addr.off += (uint64_t)op->pos;
		s.len = 0;
		s.pm_set = MML_PM_UFFD_WP;
		break;
	default:
		break;
	}
	if (kind != SCN_OP_EXPECT_PAGEMAP)
		fuzz_stmt_result(&s, result);
	fuzz_print(r->scn, &s);
}

/*
 * MADV_COLLAPSE by the story's first process while a second mapping of the
 * file's first huge page -- the second process's (or, without one, the
 * first's), made here at the first free slot from off2 on -- is registered for uffd-wp
 * and write-protected by a userfaultfd of its own: shmem puts a marker in
 * every pte that maps nothing.  retract_page_tables must leave that
 * mapping's page table, markers and all (Peter Xu's skip, Linux 5.19; the
 * recheck under the table's locks, 6.6): the page picked (pos) still reads
 * uffd-wp in pagemap after.  The userfaultfd is closed and the mapping
 * unmapped again before the next operation, so the model, which sees none
 * of it, is right all along; the collapse is judged as any other.
 */
static void exec_collapse_uffd(struct run *r, const struct fop *op, struct mml_task *t, uint64_t addr)
{
	struct mml_task *p = op->target >= 0 && op->target < r->ntasks ? r->tasks[op->target] : NULL;
	uint64_t second = 0, e;
	int outcomes[SCN_MAX_ERRS], n = 0, fd = fuzz_fd_of(r, op->fd);
	long mapped = -EBADF, made = -EBADF, reg = -EBADF, wp = -EBADF, closed = 0, unmapped = 0, got, exp;
	struct mml_uffd *u = NULL;

	/* The first free slot from off2 on (the library's maps are the model's: it is free there too). */
	for (int k = 0; p && fd >= 0 && k < THP_SLOTS && mapped != (long)second; k++) {
		second = THP_BASE + ((uint64_t)op->off2 - THP_BASE + (uint64_t)k * THP_SIZE) % (THP_SLOTS * THP_SIZE);
		mapped = mml_mmap(p, second, op->len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
	}
	if (mapped == (long)second)
		made = mml_uffd_new(p, UFFD_FEATURE_SIGBUS, &u);
	if (!made)
		reg = mml_uffd_register(u, second, op->len, UFFDIO_REGISTER_MODE_WP);
	if (!reg)
		wp = mml_uffd_writeprotect(u, second, op->len, 1);
	got = mml_madvise(t, addr, op->len, MADV_COLLAPSE);
	exp = model_madvise_collapse(r->md, op->task, addr, op->len, got, outcomes, &n);
	exp = fuzz_judge(r, t, got, exp, "T%d madvise 0x%" PRIx64 " %" PRIu64 " collapse (T%d uffd-wp at 0x%" PRIx64 ")",
			 op->task, addr, op->len, op->target, second);
	if (!wp && !r->why[0] && !mml_pagemap(p, second + (uint64_t)op->pos, &e) && !(e & MML_PM_UFFD_WP))
		fuzz_diverge(r, "T%d pagemap %#llx: uffd-wp lost when T%d collapsed the file's range", op->target,
			     (unsigned long long)(second + (uint64_t)op->pos), op->task);
	if (u)
		closed = mml_uffd_free(u);
	if (mapped == (long)second)
		unmapped = mml_munmap(p, second, op->len);
	/* The collapse's OOM kill may have taken T(target): a killed task's munmap is EINTR, its exit unmaps. */
	if ((closed || (unmapped && !(unmapped == -EINTR && mml_task_killed(p)))) && !r->why[0])
		fuzz_diverge(r, "T%d: closing the userfaultfd: %ld, unmapping 0x%" PRIx64 ": %ld", op->target, closed,
			     second, unmapped);
	if (!r->scn)
		return;
	if (mapped == (long)second) {
		print_probe_stmt(r, op, second, SCN_OP_MMAP, mapped);
		print_probe_stmt(r, op, second, SCN_OP_UFFD_NEW, made);
	}
	if (!made)
		print_probe_stmt(r, op, second, SCN_OP_UFFD_REGISTER, reg);
	if (!reg)
		print_probe_stmt(r, op, second, SCN_OP_UFFD_WRITEPROTECT, wp);
	print_collapse_stmt(r, op, exp, outcomes, n);
	if (!wp)
		print_probe_stmt(r, op, second, SCN_OP_EXPECT_PAGEMAP, 0);
	if (!made)
		print_probe_stmt(r, op, second, SCN_OP_UFFD_CLOSE, closed);
	if (mapped == (long)second)
		print_probe_stmt(r, op, second, SCN_OP_MUNMAP, unmapped);
}

/* model_gup of what the library did, through a huge tail past a file's end as fuzz_model_access. */
long fuzz_model_gup(struct run *r, int task, int id, uint64_t addr, uint64_t npages, int kind, unsigned foll,
		    long got, bool *either)
{
	bool write = foll & MML_FOLL_WRITE, longterm = foll & MML_FOLL_LONGTERM, force = foll & MML_FOLL_FORCE;
	bool fast = foll & MML_FOLL_FAST;
	long exp = model_gup(r->md, task, id, addr, npages, kind, write, longterm, force, fast, either);

	if (exp != -EFAULT || got <= 0 || !model_past_eof_maybe(r->md, task, addr, npages * PG))
		return exp;
	model_allow_past_eof(r->md, true);
	exp = model_gup(r->md, task, id, addr, npages, kind, write, longterm, force, fast, either);
	model_allow_past_eof(r->md, false);
	return exp;
}

/* model_madvise of what the library did: MADV_POPULATE_* through a huge tail, as fuzz_model_access. */
long fuzz_model_madvise(struct run *r, int task, uint64_t addr, uint64_t len, int advice, long got)
{
	long exp = model_madvise(r->md, task, addr, len, advice);

	if (exp != -EFAULT || got || !model_past_eof_maybe(r->md, task, addr, len))
		return exp;
	model_allow_past_eof(r->md, true);
	exp = model_madvise(r->md, task, addr, len, advice);
	model_allow_past_eof(r->md, false);
	return exp;
}

bool fuzz_exec_thp(struct run *r, const struct fop *op, struct mml_task *t, uint64_t addr, long fails_before)
{
	long got;

	switch (op->kind) {
	case F_COLLAPSE_FAIL:
		exec_collapse_fail(r, op, t, addr);
		return true;
	case F_COLLAPSE_UFFD:
		exec_collapse_uffd(r, op, t, addr);
		return true;
	case F_SYS:
		exec_sys(r, op, fails_before);
		return true;
	case F_SPLIT_HUGE:
		exec_split_huge(r, op, t, addr, fails_before);
		return true;
	default:
		/* One pass of khugepaged: invisible to the model, as reclaim is. */
		got = mml_khugepaged_scan(r->m, op->len);
		if (got < 0 && !(got == -ENOMEM && r->injecting))
			fuzz_diverge(r, "khugepaged pass %" PRIu64 ": got %ld", op->len, got);
		if (r->scn) {
			struct scn_op s;

			scn_op_init(&s, SCN_OP_KHUGEPAGED);
			s.len = op->len;
			s.arg = 1;
			fuzz_print(r->scn, &s);
		}
		return true;
	}
}
