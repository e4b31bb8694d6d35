/*
 * fuzz_uffd.c - userfaultfd in the fuzzer (--uffd): a userfaultfd in some
 * processes (always UFFD_FEATURE_SIGBUS, so that no fault waits; now and
 * then WP_UNPOPULATED), registrations for MISSING and WP faults over
 * private anonymous memory, UFFDIO_COPY (plain or write-protected),
 * UFFDIO_ZEROPAGE, UFFDIO_WRITEPROTECT on and off, unregister and close,
 * on both sides, with their statements in a reproducer.  Everything else
 * the fuzzer does -- loads, stores, fork, swap, reclaim, MADV_DONTNEED
 * and MADV_FREE, pins, mprotect, munmap -- meets the registrations, and
 * the model (model_uffd.c) says which faults must be SIGBUS: a store to a
 * protected page, any access to a missing one.
 *
 * What the model cannot know -- whether reclaim dropped a lazily freed
 * page, whether a fault populated a large folio's neighbours, which ptes
 * a fork's child got -- it learns from pagemap (present, or swapped to one
 * of the run's devices; bit 57) just before it matters (model_uffd_learn).
 * After every call of this file's, pagemap's bit 57 is checked against
 * the model for the pages it knows.
 *
 * No EVENT_* features: the fuzzer runs one operation at a time, and an
 * event makes its call wait for a reader.  Shared memory is not
 * registered (the model's files do not follow uffd-wp markers yet).
 * These take rolls of their own after the refs' (fuzz_gen_op), so a run
 * without --uffd is what it was before.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oracle/fuzz_internal.h"
#include "scenario/command.h"

enum { UF_NEW, UF_REGISTER, UF_UNREGISTER, UF_WP, UF_COPY, UF_ZEROPAGE, UF_CLOSE };

static bool grow_uffds(struct run *r, int n)
{
	struct mml_uffd **u;

	if (n <= r->nuffds)
		return true;
	u = realloc(r->uffds, (size_t)n * sizeof(*u));
	if (!u)
		return false;
	memset(u + r->nuffds, 0, (size_t)(n - r->nuffds) * sizeof(*u));
	r->uffds = u;
	r->nuffds = n;
	return true;
}

void fuzz_gen_uffd(struct run *r, struct chooser *c, struct fop *op)
{
	uint32_t what = fuzz_choose(c, 32);

	op->task = r->focus_task = fuzz_pick_task(r, c);
	if (op->task < 0) {
		op->kind = F_CHECK;
		return;
	}
	if (what < 4 && r->o->procs > 0) {
		r->story_a = op->task;
		r->story_step = 1;
		r->story_uffd = true;
		fuzz_gen_uffd_story_op(r, c, op);
		return;
	}
	op->kind = F_UFFD;
	if (!model_uffd_open(r->md, op->task)) {
		op->mode = UF_NEW;
		op->flags = fuzz_choose(c, 2);	/* WP_UNPOPULATED */
		return;
	}
	op->mode = what < 7 ? UF_REGISTER : what < 9 ? UF_UNREGISTER : what < 17 ? UF_WP : what < 26 ? UF_COPY :
		   what < 31 ? UF_ZEROPAGE : UF_CLOSE;
	if (op->mode == UF_CLOSE)
		return;
	fuzz_pick_addr(r, c, op, fuzz_choose(c, 16) != 0);
	op->len = PG * (1 + fuzz_choose(c, fuzz_choose(c, 4) ? 4 : 16));
	if (!fuzz_choose(c, 24))
		op->len += 1 + fuzz_choose(c, (uint32_t)PG - 1);	/* unaligned: EINVAL */
	switch (op->mode) {
	case UF_REGISTER:
		op->flags = 1 + fuzz_choose(c, 3);	/* MISSING, WP or both */
		break;
	case UF_WP:
		op->flags = fuzz_choose(c, 3) != 0;	/* protect more often than not */
		break;
	case UF_COPY:
		op->byte = (uint8_t)(1 + fuzz_choose(c, 255));
		op->flags = fuzz_choose(c, 4) == 0 ? UFFDIO_COPY_MODE_WP : 0;
		break;
	default:
		break;
	}
}

/* The next step of a uffd story; false when it is over. */
bool fuzz_gen_uffd_story_op(struct run *r, struct chooser *c, struct fop *op)
{
	op->task = r->story_a;
	op->region = r->focus_region;
	op->off = 0;
	switch (r->story_step++) {
	case 1:
		if (!model_uffd_open(r->md, op->task)) {
			op->kind = F_UFFD;
			op->mode = UF_NEW;
			op->flags = 1;	/* WP_UNPOPULATED: the second page holds a marker */
			return true;
		}
		r->story_step++;
		/* fall through */
	case 2:
		op->kind = F_MMAP;
		op->region = -1;
		op->defines = r->focus_region = r->next_region++;
		op->len = 2 * PG;
		op->prot = PROT_READ | PROT_WRITE;
		op->flags = MAP_PRIVATE | MAP_ANONYMOUS;
		return true;
	case 3:
	case 7:
		/* the page of its own (an anon_vma: fork copies the tables), then again: SIGBUS */
		op->kind = F_WRITE;
		op->off = fuzz_choose(c, (uint32_t)PG - 64);
		op->len = 1 + fuzz_choose(c, 64);
		op->byte = (uint8_t)(1 + fuzz_choose(c, 255));
		return true;
	case 4:
		op->kind = F_UFFD;
		op->mode = UF_REGISTER;
		op->len = 2 * PG;
		op->flags = fuzz_choose(c, 4) ? 2 : 3;	/* WP, or MISSING and WP */
		return true;
	case 5:
		op->kind = F_UFFD;
		op->mode = UF_WP;
		op->len = 2 * PG;
		op->flags = 1;
		return true;
	case 6:
		/* out to swap (the bit goes to the swap pte), or a fork (the child gets neither), or nothing */
		if (r->o->swap && fuzz_choose(c, 2)) {
			op->kind = F_MADVISE;
			op->advice = MADV_PAGEOUT;
			op->len = 2 * PG;
		} else if (fuzz_choose(c, 3)) {
			fuzz_gen_story_fork(r, op);
		} else {
			op->kind = F_CHECK;
		}
		return true;
	case 8:
		op->kind = F_CHECK;
		return true;
	default:
		r->story_step = 0;
		r->story_uffd = false;
		return false;
	}
}

/* The process's userfaultfd slot: by the model's process index, as a descriptor would be its process's. */
static int uffd_slot(struct run *r, int task)
{
	return model_proc_index(r->md, task);
}

/* Is a swap pte of pagemap's one of the run's devices (not a pte marker)? */
static bool real_swap(struct run *r, uint64_t e)
{
	int type = (int)(e & MML_PM_SWAP_TYPE_MASK);

	for (int i = 0; i < MAX_SWAPONS; i++)
		if (r->swap_id[i] == type)
			return true;
	return false;
}

/* What the model cannot know about [addr, addr + len), learnt from pagemap. */
void fuzz_uffd_settle(struct run *r, int task, struct mml_task *t, uint64_t addr, uint64_t len)
{
	uint64_t end = addr + len;

	if (end < addr || end > MODEL_TASK_SIZE)
		end = MODEL_TASK_SIZE;
	for (uint64_t a = addr & ~(PG - 1); a < end && a - (addr & ~(PG - 1)) < 64 * PG; a += PG) {
		uint64_t e;

		if (!model_uffd_unknown(r->md, task, a) || mml_pagemap(t, a, &e))
			continue;
		model_uffd_learn(r->md, task, a, (e & MML_PM_PRESENT) || ((e & MML_PM_SWAP) && real_swap(r, e)),
				 e & MML_PM_UFFD_WP);
	}
}

/* After a call: bit 57 of every page the model knows agrees with it. */
static void check_wp_bits(struct run *r, int task, struct mml_task *t, uint64_t addr, uint64_t len)
{
	for (uint64_t a = addr & ~(PG - 1); a < addr + len && a - (addr & ~(PG - 1)) < 64 * PG; a += PG) {
		int want = model_uffd_wp_bit(r->md, task, a);
		uint64_t e;

		if (want < 0 || mml_pagemap(t, a, &e))
			continue;
		if (!!(e & MML_PM_UFFD_WP) != want) {
			fuzz_diverge(r, "T%d pagemap %#llx: uffd-wp is %d, the model says %d", task,
				     (unsigned long long)a, !!(e & MML_PM_UFFD_WP), want);
			return;
		}
	}
}

static const enum scn_op_kind stmt_kind[] = {
	[UF_NEW] = SCN_OP_UFFD_NEW, [UF_REGISTER] = SCN_OP_UFFD_REGISTER, [UF_UNREGISTER] = SCN_OP_UFFD_UNREGISTER,
	[UF_WP] = SCN_OP_UFFD_WRITEPROTECT, [UF_COPY] = SCN_OP_UFFD_COPY, [UF_ZEROPAGE] = SCN_OP_UFFD_ZEROPAGE,
	[UF_CLOSE] = SCN_OP_UFFD_CLOSE,
};

bool fuzz_exec_uffd(struct run *r, const struct fop *op, struct mml_task *t, uint64_t addr)
{
	int slot = uffd_slot(r, op->task);
	struct mml_uffd *u;
	uint64_t features = UFFD_FEATURE_SIGBUS | (op->flags && op->mode == UF_NEW ? UFFD_FEATURE_WP_UNPOPULATED : 0);
	long got, exp, shown;
	uint8_t *page = NULL;

	if (slot < 0 || !grow_uffds(r, slot + 1))
		return false;
	u = r->uffds[slot];
	if (op->mode != UF_NEW && (!u || !model_uffd_open(r->md, op->task)))
		return false;	/* its new was shrunk away, or it was closed */
	switch (op->mode) {
	case UF_NEW:
		if (model_uffd_open(r->md, op->task))
			return false;
		/* A process that went before had this slot: its handle, released with it, goes now. */
		if (u)
			mml_uffd_free(u);
		r->uffds[slot] = u = NULL;
		got = mml_uffd_new(t, features, &u);
		exp = model_uffd_new(r->md, op->task, op->flags != 0);
		if (!got)
			r->uffds[slot] = u;
		break;
	case UF_REGISTER:
		/* Shared memory, files and guard pages are not the model's (yet): not asked. */
		if (!model_uffd_can_register(r->md, op->task, addr, op->len))
			return false;
		fuzz_uffd_settle(r, op->task, t, addr, op->len);
		got = mml_uffd_register(u, addr, op->len, (uint64_t)op->flags);
		exp = model_uffd_register(r->md, op->task, addr, op->len, (uint64_t)op->flags);
		break;
	case UF_UNREGISTER:
		if (!model_uffd_can_register(r->md, op->task, addr, op->len))
			return false;
		got = mml_uffd_unregister(u, addr, op->len);
		exp = model_uffd_unregister(r->md, op->task, addr, op->len);
		break;
	case UF_WP:
		fuzz_uffd_settle(r, op->task, t, addr, op->len);
		got = mml_uffd_writeprotect(u, addr, op->len, (int)op->flags);
		exp = model_uffd_writeprotect(r->md, op->task, addr, op->len, op->flags != 0);
		break;
	case UF_COPY:
	case UF_ZEROPAGE:
		fuzz_uffd_settle(r, op->task, t, addr, op->len);
		if (op->mode == UF_COPY) {
			page = malloc(op->len ? op->len : 1);
			if (!page)
				return false;
			memset(page, op->byte, op->len);
			got = mml_uffd_copy(u, addr, page, op->len, (uint64_t)op->flags);
		} else {
			got = mml_uffd_zeropage(u, addr, op->len, 0);
		}
		exp = model_uffd_fill(r->md, op->task, addr, op->len, op->byte, op->mode == UF_ZEROPAGE,
				      op->flags & UFFDIO_COPY_MODE_WP, got);
		free(page);
		break;
	default:
		got = mml_uffd_free(u);
		exp = model_uffd_close(r->md, op->task);
		r->uffds[slot] = NULL;
		break;
	}
	exp = fuzz_judge(r, t, got, exp, "%s T%d", scn_cmd_name(&(struct scn_op){ .kind = stmt_kind[op->mode] }),
			 op->task);
	if (op->mode != UF_NEW && op->mode != UF_CLOSE && op->len <= 64 * PG)
		check_wp_bits(r, op->task, t, addr, op->len);
	if (r->scn) {
		struct scn_op s;

		fuzz_stmt_at(&s, stmt_kind[op->mode], op);
		s.uffd = FZ_SYM(FZ_UFFD, slot);
		s.flags = op->mode == UF_NEW ? (long)features : op->mode == UF_WP ? 0 : op->flags;
		s.value = op->mode == UF_WP ? op->flags : 0;
		if (op->mode == UF_NEW) {
			s.def = FZ_SYM(FZ_UFFD, slot);
			s.uffd = -1;
		}
		if (op->mode == UF_COPY)
			fuzz_stmt_pattern(&s.pat, &op->byte, 1);
		/* A fill that did part of the range: the statement's EAGAIN, as the ioctl's result. */
		shown = (op->mode == UF_COPY || op->mode == UF_ZEROPAGE) && exp >= 0 ?
			((uint64_t)exp == op->len ? 0 : -EAGAIN) : exp;
		fuzz_stmt_result(&s, shown);
		fuzz_print(r->scn, &s);
	}
	return true;
}

/* Before an access the model judges: the pages it cannot know are learnt first. */
void fuzz_uffd_settle_op(struct run *r, const struct fop *op, struct mml_task *t, uint64_t addr)
{
	switch (op->kind) {
	case F_READ:
	case F_WRITE:
	case F_TAG_SET:
	case F_TAG_GET:
		fuzz_uffd_settle(r, op->task, t, addr, op->len ? op->len : 1);
		break;
	case F_PIN:
		fuzz_uffd_settle(r, op->task, t, addr, op->len * PG);
		break;
	case F_MADVISE:
		if (op->advice == MADV_POPULATE_READ || op->advice == MADV_POPULATE_WRITE)
			fuzz_uffd_settle(r, op->task, t, addr, op->len);
		break;
	default:
		break;
	}
}

/* The end of a run: the handles left (their processes may be gone: then it only frees them). */
void fuzz_uffd_finish(struct run *r)
{
	for (int i = 0; i < r->nuffds; i++)
		if (r->uffds[i])
			mml_uffd_free(r->uffds[i]);
	free(r->uffds);
	r->uffds = NULL;
	r->nuffds = 0;
}
