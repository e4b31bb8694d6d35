/*
 * fuzz_commit.c - the commit and overcommit in the fuzzer (--commit).
 *
 * Operations of its own: writes of /proc/sys/vm/overcommit_memory (0, 1,
 * 2; never 2 with --files, whose tmpfs pages would be refused one at a
 * time where the model cannot say which), overcommit_kbytes near what is
 * committed now (so that mode 2 refuses some calls and lets others by)
 * and overcommit_ratio; and an mmap whose metadata allocation fails
 * (`fail meta`), which must give back the charge it took.
 *
 * Then two judgements.  After every operation Committed_AS must lie in
 * the range the model allows (model_committed).  And a call that may
 * charge (mmap, mprotect, fork, mremap) is judged as __vm_enough_memory
 * would: the machine's commit before it (read raw, not through a view,
 * which would settle deferred frees the printed scenario does not), the
 * model's range for what it asks, the limit as mode 2 computes it for
 * that process.  Refused where it had to pass, or let by where it had to
 * be refused, is a divergence; refused where it may be, the model takes
 * the refusal (mprotect may have changed part of its range first: the
 * model rereads it).
 *
 * These take rolls of their own after the locks' (fuzz_gen_op), so a
 * run without --commit is what it was before.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "mm/internal.h"
#include "oracle/fuzz_internal.h"
#include "scenario/command.h"

#define VM	"/proc/sys/vm/"

enum { OC_POLICY, OC_KBYTES, OC_RATIO, OC_MMAP_FAIL };

static long committed_now(const struct run *r)
{
	return atomic_long_read(&r->m->vm_committed_as);
}

void fuzz_gen_commit(struct run *r, struct chooser *c, struct fop *op)
{
	static const uint64_t ratios[] = { 0, 1, 10, 50, 100, 200 };
	uint32_t what = fuzz_choose(c, 20);

	op->kind = F_OVERCOMMIT;
	op->mode = what < 6 ? OC_POLICY : what < 12 ? OC_KBYTES : what < 14 ? OC_RATIO : OC_MMAP_FAIL;
	/* One schedule of failures at a time: under --fail-rate, no `fail meta` of its own. */
	if (op->mode == OC_MMAP_FAIL && r->injecting)
		op->mode = OC_POLICY;
	switch (op->mode) {
	case OC_POLICY:
		op->len = fuzz_choose(c, r->o->files ? 2 : 3);
		break;
	case OC_KBYTES: {
		/* Around what is committed now: some of the next charges fit, some do not. */
		long pages = committed_now(r) - 16 + (long)fuzz_choose(c, 160);

		op->len = (uint64_t)(pages > 1 ? pages : 1) * 4;
		break;
	}
	case OC_RATIO:
		op->len = ratios[fuzz_choose(c, sizeof(ratios) / sizeof(ratios[0]))];
		break;
	default:
		op->task = r->focus_task = fuzz_pick_task(r, c);
		if (op->task < 0) {
			op->kind = F_CHECK;
			return;
		}
		op->len = PG * (1 + fuzz_choose(c, 8));
		op->prot = PROT_READ | PROT_WRITE;
		op->flags = MAP_PRIVATE | MAP_ANONYMOUS;
		break;
	}
}

static void print_fail(struct run *r, unsigned sites)
{
	struct scn_op s;

	scn_op_init(&s, SCN_OP_FAIL);
	s.fail_sites = sites;
	s.fail_nth = 1;
	fuzz_print(r->scn, &s);
}

/* mmap with its metadata allocation failing: ENOMEM, nothing mapped, nothing charged. */
static void exec_mmap_fail(struct run *r, const struct fop *op, struct mml_task *t)
{
	struct mml_fail f = { .sites = MML_FAIL_META, .countdown = 1 };
	const char *why = NULL;
	long got, exp;

	if (mml_fail_set(r->m, &f)) {
		fuzz_diverge(r, "fail meta: mml_fail_set refused");
		return;
	}
	got = mml_mmap(t, 0, op->len, op->prot, op->flags, -1, 0);
	mml_fail_set(r->m, NULL);
	/* Not fixed: the model takes the address from got, and -ENOMEM is "would have mapped" (why). */
	exp = model_mmap(r->md, op->task, 0, op->len, op->prot, op->flags, -1, 0, got, &why);
	if (why)
		exp = -ENOMEM;
	if (got != exp)
		fuzz_diverge(r, "T%d mmap %" PRIu64 " whose VMA cannot be allocated: got %ld, the model says %ld",
			     op->task, op->len, got, exp);
	if (r->scn) {
		struct scn_op s;

		print_fail(r, MML_FAIL_META);
		scn_op_init(&s, SCN_OP_MMAP);
		s.task = FZ_SYM(FZ_TASK, op->task);
		s.addr.sym = -1;
		s.len = op->len;
		s.arg = op->prot;
		s.flags = op->flags;
		fuzz_stmt_result(&s, exp);
		fuzz_print(r->scn, &s);
		print_fail(r, 0);
	}
}

bool fuzz_exec_commit(struct run *r, const struct fop *op)
{
	static const char *const path[] = {
		[OC_POLICY] = VM "overcommit_memory", [OC_KBYTES] = VM "overcommit_kbytes",
		[OC_RATIO] = VM "overcommit_ratio",
	};
	char value[32];
	long got;

	if (op->mode == OC_MMAP_FAIL) {
		if (op->task < 0 || op->task >= r->ntasks || !r->tasks[op->task])
			return false;
		exec_mmap_fail(r, op, r->tasks[op->task]);
		return true;
	}
	snprintf(value, sizeof(value), "%" PRIu64, op->len);
	got = mml_sys_write(r->m, path[op->mode], value);
	if (got)
		fuzz_diverge(r, "write %s %s: got %ld, the model says 0", path[op->mode], value, got);
	else if (op->mode == OC_POLICY)
		model_set_overcommit(r->md, (int)op->len);
	if (r->scn) {
		struct scn_op s;

		scn_op_init(&s, SCN_OP_SYS);
		s.name = (char *)path[op->mode];
		s.sys_value = value;
		fuzz_stmt_result(&s, 0);
		fuzz_print(r->scn, &s);
	}
	return true;
}

/* ---- judging the calls that charge ---------------------------------------------------- */

/*
 * __vm_enough_memory()'s room for task's process, in pages: mode 2's
 * limit less the admin reserve and the user reserve (a 32nd of the
 * process, at most user_reserve_kbytes).  The knobs are read from the
 * machine: they are configuration, not behaviour under test.
 */
static long mode2_allowed(const struct run *r, int task)
{
	struct mml_machine *m = r->m;
	unsigned long kbytes = READ_ONCE(m->overcommit_kbytes), limit, user;

	limit = kbytes ? kbytes / 4 : totalram_pages(m) * (unsigned long)READ_ONCE(m->overcommit_ratio) / 100;
	limit += (unsigned long)READ_ONCE(m->total_swap_pages);
	user = model_total_vm(r->md, task) / 32;
	if (user > READ_ONCE(m->user_reserve_kbytes) / 4)
		user = READ_ONCE(m->user_reserve_kbytes) / 4;
	return (long)limit - (long)(READ_ONCE(m->admin_reserve_kbytes) / 4) - (long)user;
}

void fuzz_commit_probe(struct run *r, const struct fop *op, uint64_t addr, struct commit_probe *cp)
{
	uint64_t new_addr;

	*cp = (struct commit_probe){ .on = false };
	if (!r->o->commit || op->task < 0 || op->task >= r->ntasks || !r->tasks[op->task])
		return;
	switch (op->kind) {
	case F_MMAP:
		if (op->fd >= 0)
			return;	/* a file's own refusals come first; private file mappings are judged by the totals */
		model_charge_mmap(r->md, op->task, addr, op->len, op->prot, op->flags, &cp->lo, &cp->hi);
		break;
	case F_MPROTECT:
		model_charge_mprotect(r->md, op->task, addr, op->len, op->prot, &cp->lo, &cp->hi);
		break;
	case F_FORK:
		model_charge_fork(r->md, op->task, &cp->lo, &cp->hi);
		cp->pieces = true;
		break;
	case F_MREMAP:
		new_addr = (op->region2 >= 0 ? r->rbase[op->region2] : 0) + (uint64_t)op->off2;
		model_charge_mremap(r->md, op->task, addr, op->len, op->len2, op->flags, new_addr, &cp->lo, &cp->hi);
		cp->pieces = true;
		break;
	default:
		return;
	}
	cp->on = cp->hi > 0;
	cp->mode = READ_ONCE(r->m->overcommit_memory);
	cp->before = committed_now(r);
	cp->room = cp->mode == 2 ? mode2_allowed(r, op->task) :
		   (long)(totalram_pages(r->m) + (unsigned long)READ_ONCE(r->m->total_swap_pages));
	cp->pieces |= op->kind == F_MPROTECT;
}

/*
 * Mode 2 refuses once the commit with the charge reaches the room; mode 0
 * a single part larger than RAM and swap; mode 1 nothing.  A charge asked
 * in parts (per VMA) is judged whole in mode 2, where the parts add up,
 * but in mode 0 only a whole that fits proves every part does.
 */
static bool may_refuse(const struct commit_probe *cp)
{
	if (!cp->on || cp->mode == 1)
		return false;
	return cp->mode == 2 ? cp->before + cp->hi >= cp->room : cp->hi > cp->room;
}

static bool must_refuse(const struct commit_probe *cp)
{
	if (!cp->on || cp->mode == 1 || cp->lo <= 0)
		return false;
	return cp->mode == 2 ? cp->before + cp->lo >= cp->room : !cp->pieces && cp->lo > cp->room;
}

bool fuzz_commit_refused(const struct commit_probe *cp, long got)
{
	return got == -ENOMEM && may_refuse(cp);
}

/*
 * The call got past the commit: was it to be refused?  (An ENOMEM where
 * no refusal was possible is the model's to judge: mprotect over a hole,
 * a map count, memory itself.)
 */
void fuzz_commit_passed(struct run *r, const struct commit_probe *cp, long got, const char *what)
{
	if (got >= 0 && must_refuse(cp))
		fuzz_diverge(r, "%s: overcommit mode %d let a charge of %" PRId64 "..%" PRId64 " pages by with "
			     "%ld committed and room for %ld", what, cp->mode, cp->lo, cp->hi, cp->before, cp->room);
}

/* After every operation: Committed_AS within the model's range; the scenario ends with what failed. */
void fuzz_commit_check(struct run *r)
{
	int64_t lo, hi;
	long now;

	if (!r->o->commit || r->why[0])
		return;
	model_committed(r->md, &lo, &hi);
	now = committed_now(r);
	if (now >= lo && now <= hi)
		return;
	fuzz_diverge(r, "Committed_AS is %ld pages, the model says %" PRId64 "..%" PRId64, now, lo, hi);
	if (r->scn) {
		struct scn_op s;

		scn_op_init(&s, SCN_OP_EXPECT_STAT);
		s.src = SCN_MEMINFO;
		s.name = (char *)"Committed_AS";
		s.cmp = now < lo ? SCN_GE : SCN_LE;
		s.value = (now < lo ? lo : hi) * 4;
		fuzz_print(r->scn, &s);
	}
}
