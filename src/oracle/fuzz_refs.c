/*
 * fuzz_refs.c - clear_refs, process_madvise and soft-dirty in the fuzzer
 * (--refs), on both sides, and their statements in a reproducer.
 *
 * clear_refs takes 4 (soft-dirty) most of the time, the aging types 1-3
 * now and then, and invalid numbers (EINVAL).  process_madvise advises
 * one to three ranges of the caller's own process or of another live
 * process, with any advice (the remote hints allowed there and the rest
 * refused), flags 0 or not (EINVAL); MADV_COLLAPSE takes one range and is
 * judged as madvise's is (model_madvise_collapse).  The soft-dirty check
 * reads pagemap over a few pages: every page the model says a store
 * reached since the last clear_refs 4 must show bit 55 (model_refs.c says
 * why the converse is not checked).  A "refs story" makes the sequence the
 * soft-dirty bugs live in likely: a page of its own written, clear_refs 4,
 * written again by the same CPU (whose TLB may still hold it writable),
 * perhaps pushed out to swap, then looked at.
 *
 * These take rolls of their own after the locks' (fuzz_gen_op), so a run
 * without --refs is what it was before.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <sys/uio.h>

#include "oracle/fuzz_internal.h"
#include "scenario/command.h"

/* Linux 6.18's MADV_GUARD_INSTALL; C libraries before 2.41 lack the name */
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL	102
#endif

static uint64_t refs_len(struct chooser *c)
{
	switch (fuzz_choose(c, 8)) {
	case 0:
		return 0;				/* skipped, counted as done */
	case 1:
		return 1 + fuzz_choose(c, (uint32_t)PG);	/* rounds up */
	default:
		return PG * (1 + fuzz_choose(c, 8));
	}
}

void fuzz_gen_refs(struct run *r, struct chooser *c, struct fop *op)
{
	/* MADV_*: the remote hints (twice), what only a process's own memory takes, and nonsense */
	static const int advice[] = { MADV_COLD, MADV_PAGEOUT, MADV_WILLNEED, MADV_COLLAPSE, MADV_COLD,
				      MADV_PAGEOUT, MADV_WILLNEED, MADV_DONTNEED, MADV_FREE, MADV_POPULATE_WRITE,
				      MADV_POPULATE_READ, MADV_NORMAL, MADV_DONTFORK, MADV_HUGEPAGE,
				      MADV_GUARD_INSTALL, 9999 };
	static const int types[] = { 4, 4, 4, 4, 4, 4, 1, 2, 3, 0, 5, 6, 100 };
	uint32_t what = fuzz_choose(c, 32);

	op->task = r->focus_task = fuzz_pick_task(r, c);
	if (op->task < 0) {
		op->kind = F_CHECK;
		return;
	}
	if (what < 4 && r->o->procs > 0) {
		/* A refs story: a page of its own, so that every step has one to work on. */
		r->story_a = op->task;
		r->story_step = 1;
		r->story_refs = true;
		fuzz_gen_refs_story_op(r, c, op);
		return;
	}
	if (what < 11) {
		op->kind = F_CLEAR_REFS;
		op->mode = types[fuzz_choose(c, sizeof(types) / sizeof(types[0]))];
	} else if (what < 22) {
		op->kind = F_PROCESS_MADVISE;
		op->target = fuzz_choose(c, 2) ? op->task : fuzz_pick_task(r, c);
		op->advice = advice[fuzz_choose(c, sizeof(advice) / sizeof(advice[0]))];
		op->flags = fuzz_choose(c, 16) ? 0 : 1;
		op->nvec = op->advice == MADV_COLLAPSE ? 1 : 1 + (int)fuzz_choose(c, 3);
		for (int i = 0; i < op->nvec; i++) {
			struct fop at = *op;

			fuzz_pick_addr(r, c, &at, fuzz_choose(c, 10) != 0);
			op->vregion[i] = at.region;
			op->voff[i] = at.off;
			op->vlen[i] = refs_len(c);
		}
	} else {
		op->kind = F_SOFTDIRTY;
		fuzz_pick_addr(r, c, op, true);
		op->len = PG * (1 + fuzz_choose(c, 16));
	}
}

/* The next step of a refs story; false when it is over. */
bool fuzz_gen_refs_story_op(struct run *r, struct chooser *c, struct fop *op)
{
	op->task = r->story_a;
	op->region = r->focus_region;
	op->off = r->focus_off;
	switch (r->story_step++) {
	case 1:
		fuzz_gen_own_page(r, op, PROT_READ | PROT_WRITE);
		return true;
	case 2:
	case 4:
		/* the first store fills the TLB; the second may go through what is left of it */
		op->kind = F_WRITE;
		op->off += fuzz_choose(c, (uint32_t)PG - 64);
		op->len = 1 + fuzz_choose(c, 64);
		op->byte = (uint8_t)fuzz_choose(c, 256);
		return true;
	case 3:
		op->kind = F_CLEAR_REFS;
		op->mode = 4;
		return true;
	case 5:
		/* out to swap (its pte a swap entry), or aged by another process, or nothing */
		if (r->o->swap && fuzz_choose(c, 3)) {
			op->kind = F_MADVISE;
			op->advice = MADV_PAGEOUT;
			op->len = PG;
		} else if (fuzz_choose(c, 2)) {
			op->kind = F_PROCESS_MADVISE;
			op->target = op->task;
			op->task = fuzz_pick_task(r, c);
			if (op->task < 0)
				op->task = op->target;
			op->advice = fuzz_choose(c, 2) ? MADV_PAGEOUT : MADV_COLD;
			op->nvec = 1;
			op->vregion[0] = op->region;
			op->voff[0] = op->off;
			op->vlen[0] = PG;
		} else {
			op->kind = F_CHECK;
		}
		return true;
	case 6:
		op->kind = F_SOFTDIRTY;
		op->len = PG;
		return true;
	default:
		r->story_step = 0;
		r->story_refs = false;
		return false;
	}
}

/* Is a migration held half way (--nodes)?  Its writable entry may come back writable and clean. */
static bool migration_held(const struct run *r)
{
	for (int i = 0; i < r->next_held && i < MAX_HELD; i++)
		if (r->held[i])
			return true;
	return false;
}

static bool exec_clear_refs(struct run *r, const struct fop *op, struct mml_task *t)
{
	long got = mml_clear_refs(t, (int)op->mode);
	long exp = model_clear_refs(r->md, op->task, (int)op->mode, migration_held(r));

	exp = fuzz_judge(r, t, got, exp, "T%d clear_refs %ld", op->task, op->mode);
	if (r->scn) {
		struct scn_op s;

		scn_op_init(&s, SCN_OP_CLEAR_REFS);
		s.task = FZ_SYM(FZ_TASK, op->task);
		s.value = op->mode;
		fuzz_stmt_result(&s, exp);
		fuzz_print(r->scn, &s);
	}
	return true;
}

static bool exec_process_madvise(struct run *r, const struct fop *op, struct mml_task *t, long fails_before)
{
	struct mml_task *tt = op->target >= 0 && op->target < r->ntasks ? r->tasks[op->target] : NULL;
	struct iovec iov[FZ_MAX_IOV];
	uint64_t addr[FZ_MAX_IOV], total = 0;
	int outcomes[SCN_MAX_ERRS], noutcomes = 0;
	long got, exp;

	if (!tt)
		return false;	/* its target gone, or dropped by the shrinker */
	for (int i = 0; i < op->nvec; i++) {
		if (op->vregion[i] >= 0 && !r->rok[op->vregion[i]])
			return false;
		addr[i] = (op->vregion[i] >= 0 ? r->rbase[op->vregion[i]] : 0) + (uint64_t)op->voff[i];
		iov[i].iov_base = (void *)(uintptr_t)addr[i];
		iov[i].iov_len = op->vlen[i];
		total += op->vlen[i];
	}
	/* Pages whose outcome is open are looked at first, as for madvise (the fuzzer's reads). */
	if (op->advice == MADV_FREE && !op->flags)
		for (int i = 0; i < op->nvec; i++)
			fuzz_settle_before_free(r, op->target, tt, addr[i], op->vlen[i]);
	got = mml_process_madvise(t, tt, iov, (unsigned long)op->nvec, op->advice, (unsigned)op->flags);
	if ((got == -ENOMEM || got == -EAGAIN) && r->injecting && mml_fail_injected(r->m) != fails_before) {
		for (int i = 0; i < op->nvec; i++)
			fuzz_resync_range(r, op->target, addr[i], op->vlen[i]);
		if (r->scn)
			fprintf(r->scn, "# injected ENOMEM: process_madvise T%d T%d advice %d\n", op->task, op->target,
				op->advice);
		return true;
	}
	if (op->advice == MADV_COLLAPSE && !op->flags && op->nvec == 1) {
		long one = got == (long)op->vlen[0] ? 0 : got;

		exp = model_madvise_collapse(r->md, op->target, addr[0], op->vlen[0], one, outcomes, &noutcomes);
		exp = exp == 0 && op->vlen[0] ? (long)op->vlen[0] : exp;
	} else {
		exp = model_process_madvise(r->md, op->task, op->target, addr, op->vlen, op->nvec, op->advice,
					    (unsigned)op->flags);
	}
	exp = fuzz_judge(r, t, got, exp, "T%d process_madvise T%d (%d ranges) advice %d flags %d", op->task,
			 op->target, op->nvec, op->advice, op->flags);
	if (r->scn) {
		struct scn_op s;

		scn_op_init(&s, SCN_OP_PROCESS_MADVISE);
		s.task = FZ_SYM(FZ_TASK, op->task);
		s.task2 = FZ_SYM(FZ_TASK, op->target);
		s.addr.sym = op->vregion[0] >= 0 ? FZ_SYM(FZ_REGION, op->vregion[0]) : -1;
		s.addr.off = (uint64_t)op->voff[0];
		s.len = op->vlen[0];
		for (int i = 1; i < op->nvec; i++) {
			s.iov_addr[i - 1].sym = op->vregion[i] >= 0 ? FZ_SYM(FZ_REGION, op->vregion[i]) : -1;
			s.iov_addr[i - 1].off = (uint64_t)op->voff[i];
			s.iov_len[i - 1] = op->vlen[i];
		}
		s.niov = op->nvec - 1;
		s.arg = op->advice;
		s.flags = op->flags;
		if (exp < 0) {
			fuzz_stmt_result(&s, exp);
		} else if ((uint64_t)exp != total) {
			s.expect.ncount = 1;	/* some ranges done, then a failure */
			s.expect.count[0] = (uint64_t)exp;
		}
		/* MADV_COLLAPSE's result hangs on free memory: every outcome the model allowed. */
		if (noutcomes > 1) {
			s.expect.nerr = 0;
			s.expect.ncount = 0;
			for (int i = 0; i < noutcomes; i++)
				s.expect.err[s.expect.nerr++] = outcomes[i];
		}
		fuzz_print(r->scn, &s);
	}
	return true;
}

/* Every page the model says a store reached since clear_refs 4 reads soft-dirty. */
static bool exec_softdirty(struct run *r, const struct fop *op, struct mml_task *t, uint64_t addr)
{
	uint64_t start = addr & ~(PG - 1), run_start = 0, run_len = 0;

	for (uint64_t a = start; a < start + op->len && a >= start && !r->why[0]; a += PG) {
		uint64_t e = 0;
		bool want = model_soft_dirty(r->md, op->task, a);

		if (want && !run_len)
			run_start = a;
		if (want)
			run_len += PG;
		if (want && (mml_pagemap(t, a, &e) || !(e & MML_PM_SOFT_DIRTY)))
			fuzz_diverge(r, "T%d pagemap %#" PRIx64 ": not soft-dirty (entry %#" PRIx64
				     "), but written since the last clear_refs 4", op->task, a, e);
		if ((!want || a + PG >= start + op->len || r->why[0]) && run_len && r->scn) {
			struct scn_op s;

			scn_op_init(&s, SCN_OP_EXPECT_PAGEMAP);
			s.task = FZ_SYM(FZ_TASK, op->task);
			s.addr.sym = op->region >= 0 ? FZ_SYM(FZ_REGION, op->region) : -1;
			s.addr.off = (uint64_t)op->off + (run_start - addr);
			s.len = run_len;
			s.has_len = true;
			s.pm_set = MML_PM_SOFT_DIRTY;
			fuzz_print(r->scn, &s);
			run_len = 0;
		}
	}
	return true;
}

bool fuzz_exec_refs(struct run *r, const struct fop *op, struct mml_task *t, uint64_t addr, long fails_before)
{
	switch (op->kind) {
	case F_CLEAR_REFS:
		return exec_clear_refs(r, op, t);
	case F_PROCESS_MADVISE:
		return exec_process_madvise(r, op, t, fails_before);
	default:
		return exec_softdirty(r, op, t, addr);
	}
}
