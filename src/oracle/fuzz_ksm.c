/*
 * fuzz_ksm.c - KSM in the fuzzer (--ksm), on both sides, and its
 * statements in a reproducer.
 *
 * The operations: MADV_MERGEABLE and MADV_UNMERGEABLE over ranges, a KSM
 * pass of a few pages or a full scan (mml_ksm_scan until full_scans grew
 * by two, as "ksm scan" does), prctl(PR_SET/GET_MEMORY_MERGE) and a
 * nonsense option, the knobs (use_zero_pages, run 0 and 2,
 * max_page_sharing), and a look at ksm_stat.  The model sees no byte
 * change from any of them (model_ksm.c); every read, pin and device
 * access after them is judged as always.  What the fuzzer judges of the
 * counters is what must add up whatever merged: the processes'
 * ksm_merging_pages sum to pages_shared + pages_sharing, their
 * ksm_rmap_items to the items, their ksm_zero_pages to ksm_zero_pages,
 * and ksm_merge_any is the model's.
 *
 * A "KSM story" makes the sequences KSM's bugs live in likely: a page of
 * its own filled with one byte, a fork, the child's copy filled with the
 * same byte (two pages, one content), perhaps a pin or a reference or a
 * device with a writable translation on one of them, both mergeable, a
 * full scan, then writes on either side, DMA or device writes, unmerging
 * or swap, and reads of everything.
 *
 * These take rolls of their own after every other kind's (fuzz_gen_op),
 * so a run without --ksm is what it was before.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "oracle/fuzz_internal.h"
#include "scenario/command.h"

#define KSM_DIR		"/sys/kernel/mm/ksm/"
#define PR_SET_MM	67	/* PR_SET_MEMORY_MERGE */
#define PR_GET_MM	68	/* PR_GET_MEMORY_MERGE */

/* The knobs the fuzzer writes, and the outcomes each may have besides success. */
static const struct {
	const char *path, *value;
	int other;	/* an errno the write may also answer, 0: none */
} knobs[] = {
	{ KSM_DIR "use_zero_pages", "1", 0 },
	{ KSM_DIR "use_zero_pages", "0", 0 },
	{ KSM_DIR "run", "2", ENOMEM },		/* an unshare copy found no memory */
	{ KSM_DIR "run", "0", 0 },
	{ KSM_DIR "max_page_sharing", "2", EBUSY },	/* KSM pages still mapped */
	{ KSM_DIR "max_page_sharing", "256", EBUSY },
};
#define NKNOBS	(int)(sizeof(knobs) / sizeof(knobs[0]))

static long ksm_file(struct run *r, const char *name)
{
	char path[96], buf[32];
	long n;

	snprintf(path, sizeof(path), KSM_DIR "%s", name);
	n = mml_sys_read(r->m, path, buf, sizeof(buf) - 1);
	if (n < 0)
		return n;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

/* ---- generation -------------------------------------------------------------------------- */

static void gen_scan(struct chooser *c, struct fop *op)
{
	op->kind = F_KSM_SCAN;
	op->mode = fuzz_choose(c, 3) == 0;	/* 1: a full scan */
	op->len = op->mode ? 64 : 1 + fuzz_choose(c, 32);
}

void fuzz_gen_ksm(struct run *r, struct chooser *c, struct fop *op)
{
	uint32_t what = fuzz_choose(c, 32);

	op->task = r->focus_task = fuzz_pick_task(r, c);
	if (op->task < 0) {
		op->kind = F_CHECK;
		return;
	}
	if (what < 8 && r->o->procs > 0) {
		r->story_a = op->task;
		r->story_step = 1;
		r->story_ksm = true;
		r->story_pin = -1;
		r->story_devn = -1;
		fuzz_gen_ksm_story_op(r, c, op);
		return;
	}
	if (what < 16) {
		op->kind = F_MADVISE;
		fuzz_pick_addr(r, c, op, fuzz_choose(c, 10) != 0);
		op->len = PG * (1 + fuzz_choose(c, 16));
		op->advice = fuzz_choose(c, 3) ? MADV_MERGEABLE : MADV_UNMERGEABLE;
	} else if (what < 22) {
		gen_scan(c, op);
	} else if (what < 25) {
		op->kind = F_PRCTL;
		switch (fuzz_choose(c, 6)) {
		case 0:
			op->mode = 4242;	/* not an option mmlab has: EINVAL */
			break;
		case 1:
		case 2:
			op->mode = PR_GET_MM;
			break;
		default:
			op->mode = PR_SET_MM;
			op->len = fuzz_choose(c, 3);	/* 0 off, 1 and 2 on */
		}
	} else if (what < 28) {
		op->kind = F_KSM_STAT;
	} else {
		op->kind = F_KSM_KNOB;
		op->path = (int)fuzz_choose(c, NKNOBS);
	}
}

/* The next step of a KSM story; false when it is over. */
bool fuzz_gen_ksm_story_op(struct run *r, struct chooser *c, struct fop *op)
{
	int who = fuzz_choose(c, 2) ? r->story_a : r->story_b;

	op->region = r->focus_region;
	op->off = r->focus_off;
	op->task = r->story_a;
	switch (r->story_step++) {
	case 1:
		fuzz_gen_own_page(r, op, PROT_READ | PROT_WRITE);
		return true;
	case 2:
		op->kind = F_WRITE;
		op->len = PG;
		op->byte = r->story_byte = (uint8_t)(fuzz_choose(c, 4) ? 1 + fuzz_choose(c, 255) : 0);
		return true;
	case 3:
		fuzz_gen_story_fork(r, op);
		return true;
	case 4:
		/* the child's own copy, with the same bytes: two pages of one content */
		op->task = r->story_b;
		op->kind = F_WRITE;
		op->len = PG;
		op->byte = r->story_byte;
		return true;
	case 5:
		/* something that must stop or survive a merge: a pin, a reference, a device */
		op->task = who;
		switch (fuzz_choose(c, r->o->devices ? 5 : 4)) {
		case 0:
		case 1:
			op->kind = F_PIN;
			op->pin = r->story_pin = r->focus_pin = r->next_pin++;
			op->len = 1;
			op->get = r->story_get = fuzz_choose(c, 2);
			op->foll = op->get ? (fuzz_choose(c, 2) ? MML_FOLL_WRITE : 0) : MML_FOLL_WRITE | MML_FOLL_LONGTERM;
			return true;
		case 4:
			op->kind = F_DEV_ATTACH;
			op->device = r->story_devn = r->next_dev++;
			op->dev_flags = fuzz_choose(c, 2) ? MML_DEV_REFAULT : 0;
			return true;
		default:
			op->kind = F_CHECK;
			return true;
		}
	case 6:
		if (r->story_devn >= 0) {
			/* a writable translation of the page, which keeps its bytes */
			op->kind = F_DEV_WRITE;
			op->device = r->story_devn;
			op->len = 1 + fuzz_choose(c, 64);
			op->byte = r->story_byte;
			return true;
		}
		/* fall through */
	case 7:
		op->kind = F_MADVISE;
		op->advice = MADV_MERGEABLE;
		op->len = PG;
		if (r->story_step == 7)
			r->story_step = 8;
		return true;
	case 8:
		op->task = r->story_b;
		op->kind = F_MADVISE;
		op->advice = MADV_MERGEABLE;
		op->len = PG;
		return true;
	case 9:
		op->kind = F_KSM_SCAN;
		op->mode = 1;
		op->len = 64;
		return true;
	case 10:
	case 11:
		op->task = who;
		switch (fuzz_choose(c, 8)) {
		case 0:
		case 1:
		case 2:
			op->kind = F_WRITE;
			op->off += fuzz_choose(c, (uint32_t)PG - 64);
			op->len = 1 + fuzz_choose(c, 64);
			op->byte = (uint8_t)fuzz_choose(c, 256);
			return true;
		case 3:
			/* DMA writes through pins only: a reference's are not the model's to judge */
			if (r->story_pin >= 0 && !r->story_get) {
				op->kind = F_DMA_WRITE;
				op->pin = r->story_pin;
				op->off = fuzz_choose(c, (uint32_t)PG - 64);
				op->len = 1 + fuzz_choose(c, 64);
				op->byte = (uint8_t)fuzz_choose(c, 256);
				return true;
			}
			if (r->story_devn >= 0) {
				op->kind = F_DEV_WRITE;
				op->device = r->story_devn;
				op->len = 1 + fuzz_choose(c, 64);
				op->byte = (uint8_t)fuzz_choose(c, 256);
				return true;
			}
			/* fall through */
		case 4:
			op->kind = F_MADVISE;
			op->advice = fuzz_choose(c, 2) ? MADV_UNMERGEABLE : MADV_PAGEOUT;
			op->len = PG;
			return true;
		case 5:
			gen_scan(c, op);
			return true;
		default:
			op->kind = F_KSM_STAT;
			return true;
		}
	case 12:
	case 13:
		op->kind = F_READ;
		op->task = r->story_step == 13 ? r->story_a : r->story_b;
		op->len = PG;
		return true;
	case 14:
		if (r->story_pin >= 0) {
			op->kind = F_DMA_READ;
			op->pin = r->story_pin;
			op->off = 0;
			op->len = 64;
			return true;
		}
		if (r->story_devn >= 0) {
			op->kind = F_DEV_READ;
			op->device = r->story_devn;
			op->len = 64;
			return true;
		}
		op->kind = F_CHECK;
		return true;
	default:
		r->story_step = 0;
		r->story_ksm = false;
		return false;
	}
}

/* ---- execution ------------------------------------------------------------------------------ */

/*
 * What must add up whatever merged: each process counted once (threads
 * share their mm), ksm_exit having taken the exited ones' items along.
 */
static void check_counters(struct run *r, const char *after)
{
	long merging = 0, items = 0, zero = 0;
	int seen[256], nseen = 0;

	for (int i = 0; i < r->ntasks; i++) {
		struct mml_task *t = r->tasks[i];
		int pid, j;

		/* An OOM victim's mm keeps its items until its last thread exits (ksm_exit). */
		if (!t)
			continue;
		pid = mml_task_pid(t);
		for (j = 0; j < nseen && seen[j] != pid; j++)
			;
		if (j < nseen || nseen == 256)
			continue;
		seen[nseen++] = pid;
		merging += mml_ksm_stat(t, "ksm_merging_pages");
		items += mml_ksm_stat(t, "ksm_rmap_items");
		zero += mml_ksm_stat(t, "ksm_zero_pages");
	}
	if (merging != ksm_file(r, "pages_shared") + ksm_file(r, "pages_sharing") ||
	    items != ksm_file(r, "pages_shared") + ksm_file(r, "pages_sharing") + ksm_file(r, "pages_unshared") +
			     ksm_file(r, "pages_volatile") ||
	    zero != ksm_file(r, "ksm_zero_pages"))
		fuzz_diverge(r, "after %s: KSM counters do not add up: processes' merging %ld, items %ld, zero %ld; "
			     "pages_shared %ld pages_sharing %ld pages_unshared %ld pages_volatile %ld ksm_zero_pages %ld",
			     after, merging, items, zero, ksm_file(r, "pages_shared"), ksm_file(r, "pages_sharing"),
			     ksm_file(r, "pages_unshared"), ksm_file(r, "pages_volatile"), ksm_file(r, "ksm_zero_pages"));
}

static void exec_scan(struct run *r, const struct fop *op)
{
	long got = op->mode ? scn_ksm_full_scans(r->m, op->len) : mml_ksm_scan(r->m, op->len);

	if (got < 0)
		fuzz_diverge(r, "ksm %s %" PRIu64 ": got %ld (%s)", op->mode ? "scan" : "pass", op->len, got,
			     strerror((int)-got));
	if (r->scn) {
		struct scn_op s;

		scn_op_init(&s, SCN_OP_KSM);
		s.arg = !op->mode;
		s.len = op->len;
		fuzz_print(r->scn, &s);
	}
	check_counters(r, "a KSM scan");
}

static void exec_prctl(struct run *r, const struct fop *op, struct mml_task *t)
{
	long got = mml_prctl(t, (int)op->mode, op->len);
	long exp = model_prctl(r->md, op->task, (int)op->mode, op->len);

	exp = fuzz_judge(r, t, got, exp, "T%d prctl %ld %" PRIu64, op->task, op->mode, op->len);
	if (r->scn) {
		struct scn_op s;

		scn_op_init(&s, SCN_OP_PRCTL);
		s.task = FZ_SYM(FZ_TASK, op->task);
		s.arg = op->mode;
		s.len = op->len;
		if (op->mode == PR_GET_MM && exp >= 0) {
			s.has_len = true;
			s.cmp = SCN_EQ;
			s.value = exp;
		} else {
			fuzz_stmt_result(&s, exp);
		}
		fuzz_print(r->scn, &s);
	}
	check_counters(r, "prctl");
}

static void exec_stat(struct run *r, const struct fop *op, struct mml_task *t)
{
	long any = mml_ksm_stat(t, "ksm_merge_any"), exp = model_ksm_stat(r->md, op->task, "ksm_merge_any");
	long merging = mml_ksm_stat(t, "ksm_merging_pages"), items = mml_ksm_stat(t, "ksm_rmap_items");
	long zero = mml_ksm_stat(t, "ksm_zero_pages"), profit = mml_ksm_stat(t, "ksm_process_profit");

	if (any != exp && !mml_task_killed(t))
		fuzz_diverge(r, "T%d ksm_stat ksm_merge_any: %ld, the model says %ld", op->task, any, exp);
	if (merging < 0 || merging > items || zero < 0 || profit != (merging + zero) * 4096 - items * 64)
		fuzz_diverge(r, "T%d ksm_stat: merging %ld, items %ld, zero %ld, profit %ld do not add up", op->task,
			     merging, items, zero, profit);
	if (r->scn) {
		struct scn_op s;

		scn_op_init(&s, SCN_OP_EXPECT_KSM_STAT);
		s.task = FZ_SYM(FZ_TASK, op->task);
		s.name = (char *)"ksm_merge_any";
		s.cmp = SCN_EQ;
		s.value = exp;
		fuzz_print(r->scn, &s);
	}
	check_counters(r, "ksm_stat");
}

static void exec_knob(struct run *r, const struct fop *op)
{
	long got = mml_sys_write(r->m, knobs[op->path].path, knobs[op->path].value);

	if (got && -got != knobs[op->path].other)
		fuzz_diverge(r, "write %s %s: got %ld (%s)", knobs[op->path].path, knobs[op->path].value, got,
			     strerror((int)-got));
	/* KSM may put the zero page in zero-filled pages from now on: a short-term R/O pin may take it */
	if (!got && !strcmp(knobs[op->path].path, KSM_DIR "use_zero_pages") && !strcmp(knobs[op->path].value, "1"))
		model_set_ksm_zero_pages(r->md);
	if (r->scn) {
		struct scn_op s;

		scn_op_init(&s, SCN_OP_SYS);
		s.name = (char *)knobs[op->path].path;
		s.sys_value = (char *)knobs[op->path].value;
		if (knobs[op->path].other) {	/* a replay may meet either */
			s.expect.nerr = 2;
			s.expect.err[0] = 0;
			s.expect.err[1] = knobs[op->path].other;
		}
		fuzz_print(r->scn, &s);
	}
	check_counters(r, "a KSM knob");
}

bool fuzz_exec_ksm(struct run *r, const struct fop *op, struct mml_task *t)
{
	switch (op->kind) {
	case F_KSM_SCAN:
		exec_scan(r, op);
		return true;
	case F_PRCTL:
		exec_prctl(r, op, t);
		return true;
	case F_KSM_STAT:
		exec_stat(r, op, t);
		return true;
	default:
		exec_knob(r, op);
		return true;
	}
}
