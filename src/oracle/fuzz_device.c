/*
 * fuzz_device.c - the fuzzer's devices (--devices): attach, reads and
 * writes through the device's own translation (HMM), make_device_exclusive
 * and detach, on the library and on the model, and their statements in a
 * reproducer.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "oracle/fuzz_internal.h"
#include "scenario/scenario.h"

/*
 * A device fault that runs memory out may bring the OOM killer to the
 * device's own process: the fault fails (hmm_vma_fault's EFAULT, the
 * victim's address space being unstable) and the process goes at the end
 * of the step.
 */
static bool device_oom_took(struct run *r, int task, long got)
{
	return got == -EFAULT && task >= 0 && r->tasks[task] && mml_task_killed(r->tasks[task]);
}

/* A device statement of op's device at addr, which is op's address plus delta. */
static void stmt_device_at(struct scn_op *s, enum scn_op_kind kind, const struct fop *op, uint64_t delta,
			   uint64_t len)
{
	scn_op_init(s, kind);
	s->dev = FZ_SYM(FZ_DEVICE, op->device);
	s->addr.sym = op->region >= 0 ? FZ_SYM(FZ_REGION, op->region) : -1;
	s->addr.off = (uint64_t)op->off + delta;
	s->len = len;
}

static bool exec_device_attach(struct run *r, const struct fop *op, struct mml_task *t, long fails_before)
{
	struct mml_device *d = NULL;
	long got = mml_device_new(t, op->dev_flags, &d), exp;

	if (got == -ENOMEM && r->injecting && mml_fail_injected(r->m) != fails_before)
		return true;
	exp = model_device_attach(r->md, op->device, op->task);
	exp = fuzz_judge(r, t, got, exp, "device d%d = attach T%d", op->device, op->task);
	if (!got && !exp)
		r->devs[op->device] = d;
	else if (!got)
		mml_device_free(d);
	else if (!exp)
		model_device_detach(r->md, op->device);
	if (r->scn && !exp) {
		struct scn_op s;

		scn_op_init(&s, SCN_OP_DEVICE_ATTACH);
		s.def = FZ_SYM(FZ_DEVICE, op->device);
		s.task = FZ_SYM(FZ_TASK, op->task);
		s.flags = op->dev_flags;
		fuzz_print(r->scn, &s);
	} else if (r->scn) {
		/* A statement that names a device must succeed: only a note. */
		fprintf(r->scn, "# device d%d = attach T%d => %s\n", op->device, op->task, fuzz_errname(exp));
	}
	return true;
}

/*
 * A device load or store, one page at a time as the device itself goes,
 * each page a call and a statement of its own: a failure (or an injected
 * one) leaves the pages before it done, on both sides.
 */
static bool exec_device_access(struct run *r, const struct fop *op, uint64_t addr, long fails_before)
{
	struct mml_device *d = r->devs[op->device];
	bool write = op->kind == F_DEV_WRITE;
	char who[48];

	snprintf(who, sizeof(who), "device d%d", op->device);
	for (uint64_t a = addr; a < addr + op->len && a >= addr;) {
		uint64_t next = min_u64((a & ~(PG - 1)) + PG, addr + op->len), n = next - a;
		int task = model_device_task(r->md, op->device);
		const uint8_t *alt = task >= 0 ? model_alternative(r->md, task, a) : NULL;
		bool lazy = task >= 0 && model_lazyfree(r->md, task, a), either, tail;
		long got, exp;

		if (alt)
			memcpy(r->abuf, alt, PG);
		if (write) {
			memset(r->ibuf, op->byte, n);
			got = mml_device_write(d, a, r->ibuf, n);
		} else {
			got = mml_device_read(d, a, r->ibuf, n);
		}
		if (got && r->injecting && mml_fail_injected(r->m) != fails_before)
			return true;	/* the fault could not get memory: this page is not done */
		exp = model_device_access(r->md, op->device, a, write);
		/* Through a shmem huge page past its file's end, as fuzz_model_access. */
		tail = exp == -EFAULT && !got && task >= 0 && model_past_eof_maybe(r->md, task, a, n);
		if (tail) {
			model_allow_past_eof(r->md, true);
			exp = model_device_access(r->md, op->device, a, write);
		}
		either = exp && !got && model_device_may_hold(r->md, op->device, a);
		if (device_oom_took(r, task, got) || either)
			exp = got;
		if (!exp)
			exp = write ? model_write(r->md, task, a, r->ibuf, n) : model_read(r->md, task, a, r->mbuf, n);
		if (tail)
			model_allow_past_eof(r->md, false);
		exp = fuzz_judge(r, NULL, got, exp, "%s %s %#" PRIx64 " %" PRIu64, who, write ? "write" : "read", a, n);
		if (!write && got == exp && !got)
			fuzz_compare_read(r, task, a, n, who);
		if (r->scn) {
			struct scn_op s;

			stmt_device_at(&s, write ? SCN_OP_DEVICE_WRITE : SCN_OP_DEVICE_READ, op, a - addr, n);
			if (write)
				fuzz_stmt_pattern(&s.pat, &op->byte, 1);
			else if (!exp)
				fuzz_stmt_outcomes(&s, r->mbuf, alt ? r->abuf + (a & (PG - 1)) : NULL, lazy, n);
			fuzz_stmt_result(&s, exp);
			if (either) {
				s.expect.nerr = 2;	/* 0 and EFAULT */
				s.expect.err[1] = EFAULT;
			}
			fuzz_print(r->scn, &s);
		}
		if (exp || r->why[0])
			break;
		a = next;
	}
	return true;
}

/* make_device_exclusive, op->len pages from addr, one page a call. */
static bool exec_device_exclusive(struct run *r, const struct fop *op, uint64_t addr, long fails_before)
{
	for (uint64_t i = 0; i < op->len; i++) {
		uint64_t a = addr + i * PG;
		int task = model_device_task(r->md, op->device);
		long got = mml_device_make_exclusive(r->devs[op->device], a, 1), exp;

		if (got && r->injecting && mml_fail_injected(r->m) != fails_before)
			return true;
		exp = model_device_exclusive(r->md, op->device, a);
		if (device_oom_took(r, task, got))
			exp = got;
		exp = fuzz_judge(r, NULL, got, exp, "device d%d exclusive %#" PRIx64, op->device, a);
		if (r->scn) {
			struct scn_op s;

			stmt_device_at(&s, SCN_OP_DEVICE_EXCLUSIVE, op, i * PG, 1);
			fuzz_stmt_result(&s, exp);
			fuzz_print(r->scn, &s);
		}
		if (exp)
			break;
	}
	return true;
}

bool fuzz_exec_device(struct run *r, const struct fop *op, struct mml_task *t, uint64_t addr,
			long fails_before)
{
	switch (op->kind) {
	case F_DEV_ATTACH:
		return exec_device_attach(r, op, t, fails_before);
	case F_DEV_DETACH:
		mml_device_free(r->devs[op->device]);
		r->devs[op->device] = NULL;
		model_device_detach(r->md, op->device);
		if (r->scn) {
			struct scn_op s;

			scn_op_init(&s, SCN_OP_DEVICE_DETACH);
			s.dev = FZ_SYM(FZ_DEVICE, op->device);
			fuzz_print(r->scn, &s);
		}
		return true;
	case F_DEV_READ:
	case F_DEV_WRITE:
		return exec_device_access(r, op, addr, fails_before);
	default:
		return exec_device_exclusive(r, op, addr, fails_before);
	}
}
