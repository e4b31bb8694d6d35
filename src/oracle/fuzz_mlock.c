/*
 * fuzz_mlock.c - memory locks in the fuzzer (--mlock): mlock, mlock2,
 * munlock, mlockall, munlockall and setrlimit of RLIMIT_MEMLOCK, on both
 * sides, and their statements in a reproducer.
 *
 * The ranges are the usual ones (inside a region, past it, over a hole,
 * unaligned); the flags every valid combination and some invalid ones; a
 * limit now and then (small, so that ENOMEM and EAGAIN come, or 0: EPERM
 * from then on for that process and its children).  The model judges the
 * results and the VMA flags (VmFlags lo, lf, by the layout check); what a
 * lock does to pages -- mlocked, unevictable, never reclaimed -- is the
 * invariant checker's.  MREMAP_DONTUNMAP of locked memory is not
 * generated (fuzz_mremap.c): Linux unlocks the whole old VMA, whose
 * bounds the model does not know.
 *
 * These take rolls of their own after NUMA's (fuzz_gen_op), so a run
 * without --mlock is what it was before.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/resource.h>

#include "oracle/fuzz_internal.h"
#include "scenario/command.h"

enum { LK_MLOCK, LK_MLOCK2, LK_MUNLOCK, LK_MLOCKALL, LK_MUNLOCKALL, LK_SETRLIMIT };

void fuzz_gen_mlock(struct run *r, struct chooser *c, struct fop *op)
{
	static const int mcl[] = { 1, 2, 3, 6, 5, 7, 3, 1, 0, 4, 8 };	/* MCL_*; the last three EINVAL */
	/* Mostly small, so that relocks and growth meet the limit; 0 and unlimited are EPERM for good. */
	static const uint64_t limits[] = { 16 << 10, 32 << 10, 32 << 10, 64 << 10, 64 << 10, 256 << 10, 8 << 20,
					   0, UINT64_MAX };
	uint32_t what = fuzz_choose(c, 32);

	op->task = r->focus_task = fuzz_pick_task(r, c);
	if (op->task < 0) {
		op->kind = F_CHECK;
		return;
	}
	op->kind = F_MLOCK;
	op->mode = what < 10 ? LK_MLOCK : what < 15 ? LK_MLOCK2 : what < 24 ? LK_MUNLOCK :
		   what < 27 ? LK_MLOCKALL : what < 30 ? LK_MUNLOCKALL : LK_SETRLIMIT;
	switch (op->mode) {
	case LK_MLOCK:
	case LK_MLOCK2:
	case LK_MUNLOCK:
		fuzz_pick_addr(r, c, op, fuzz_choose(c, 16) != 0);
		op->len = fuzz_choose(c, 8) ? PG * (1 + fuzz_choose(c, 8)) : 1 + fuzz_choose(c, 3 * (uint32_t)PG);
		op->flags = fuzz_choose(c, 8) ? 1 : fuzz_choose(c, 4) ? 0 : 2;	/* MLOCK_ONFAULT, 0, bad */
		break;
	case LK_MLOCKALL:
		op->flags = mcl[fuzz_choose(c, sizeof(mcl) / sizeof(mcl[0]))];
		break;
	case LK_SETRLIMIT:
		op->len = limits[fuzz_choose(c, sizeof(limits) / sizeof(limits[0]))];
		break;
	default:
		break;
	}
}

static const enum scn_op_kind stmt_kind[] = {
	[LK_MLOCK] = SCN_OP_MLOCK, [LK_MLOCK2] = SCN_OP_MLOCK2, [LK_MUNLOCK] = SCN_OP_MUNLOCK,
	[LK_MLOCKALL] = SCN_OP_MLOCKALL, [LK_MUNLOCKALL] = SCN_OP_MUNLOCKALL, [LK_SETRLIMIT] = SCN_OP_SETRLIMIT,
};

bool fuzz_exec_mlock(struct run *r, const struct fop *op, struct mml_task *t, uint64_t addr)
{
	struct rlimit rl = { (rlim_t)op->len, (rlim_t)op->len };
	long got, exp;

	switch (op->mode) {
	case LK_MLOCK:
		got = mml_mlock(t, addr, op->len);
		exp = model_mlock(r->md, op->task, addr, op->len, 0, false);
		break;
	case LK_MLOCK2:
		got = mml_mlock2(t, addr, op->len, (unsigned)op->flags);
		exp = model_mlock(r->md, op->task, addr, op->len, (int)op->flags, true);
		break;
	case LK_MUNLOCK:
		got = mml_munlock(t, addr, op->len);
		exp = model_munlock(r->md, op->task, addr, op->len);
		break;
	case LK_MLOCKALL:
		got = mml_mlockall(t, (int)op->flags);
		exp = model_mlockall(r->md, op->task, (int)op->flags);
		break;
	case LK_MUNLOCKALL:
		got = mml_munlockall(t);
		exp = model_munlockall(r->md, op->task);
		break;
	default:
		if (op->len == UINT64_MAX)
			rl.rlim_cur = rl.rlim_max = RLIM_INFINITY;
		got = mml_setrlimit(t, RLIMIT_MEMLOCK, &rl);
		exp = model_setrlimit_memlock(r->md, op->task, op->len);
		break;
	}
	exp = fuzz_judge(r, t, got, exp, "%s T%d", scn_cmd_name(&(struct scn_op){ .kind = stmt_kind[op->mode] }),
			 op->task);
	if (r->scn) {
		struct scn_op s;

		fuzz_stmt_at(&s, stmt_kind[op->mode], op);
		s.flags = op->flags;
		fuzz_stmt_result(&s, exp);
		fuzz_print(r->scn, &s);
	}
	return true;
}
