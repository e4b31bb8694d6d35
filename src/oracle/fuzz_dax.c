/*
 * fuzz_dax.c - the fuzzer's fs-DAX operations (--dax): files in /pmem
 * (the machine gets a pmem device), FICLONE between descriptors, sizes
 * of whole 2 MiB runs and shared or private mappings of them at 2 MiB
 * slots, so that faults map PMDs as well as ptes; the accesses, pins,
 * truncates and punches on them are --files' own.
 *
 * The fuzzer has one thread: a truncate, punch, FICLONE or write that
 * would wait for a pin it holds itself (dax_break_layout) would wait for
 * ever.  Such an operation is skipped, as one on an undefined name, and
 * so is a pin that would hold a block of a file with no name (evicting
 * it would wait): the waits need threads (dax-truncate-pinned.scn).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>

#include "oracle/fuzz_internal.h"
#include "scenario/scenario.h"

bool fuzz_dax_would_wait(struct run *r, const struct fop *op, uint64_t addr)
{
	int fd = fuzz_fd_of(r, op->fd);

	switch (op->kind) {
	case F_FTRUNCATE:
	case F_FALLOCATE:
	case F_PWRITE:
		return model_fd_dax_busy(r->md, op->task, fd);
	case F_FICLONE:
		return model_fd_dax_busy(r->md, op->task, fd) ||
		       model_fd_dax_busy(r->md, op->task, fuzz_fd_of(r, op->fd2));
	case F_UNLINK:
		return model_path_dax_busy(r->md, fuzz_path(op->path));
	case F_OPEN:
		return (op->mode & O_TRUNC) && model_path_dax_busy(r->md, fuzz_path(op->path));
	case F_MADVISE:
		return op->advice == MADV_REMOVE && model_range_dax_busy(r->md, op->task, addr, op->len, false);
	case F_PIN:
		return model_range_dax_busy(r->md, op->task, addr, op->len * PG, true);
	default:
		return false;
	}
}

void fuzz_exec_ficlone(struct run *r, const struct fop *op, struct mml_task *t, long fails_before)
{
	int dst = fuzz_fd_of(r, op->fd), src = fuzz_fd_of(r, op->fd2);
	long got, exp;

	got = mml_ficlone(t, dst, src);
	if (got == -ENOMEM && r->injecting && mml_fail_injected(r->m) != fails_before) {
		/* Remapped up to the page that failed, dst grown over those (XFS): the model takes dst's bytes. */
		model_ficlone_failed(r->md, op->task, dst, src);
		exp = got;
	} else {
		exp = model_ficlone(r->md, op->task, dst, src);
	}
	exp = fuzz_judge(r, t, got, exp, "T%d ficlone f%d f%d", op->task, op->fd, op->fd2);
	if (r->scn) {
		struct scn_op s;

		scn_op_init(&s, SCN_OP_FICLONE);
		s.task = FZ_SYM(FZ_TASK, op->task);
		s.fdsym = FZ_SYM(FZ_FD, op->fd);
		s.src_fdsym = FZ_SYM(FZ_FD, op->fd2);
		fuzz_stmt_result(&s, exp);
		fuzz_print(r->scn, &s);
	}
	if (got == -ENOMEM && exp == got)
		fuzz_resync_file(r, model_fd_file(r->md, op->task, dst), 0, UINT64_MAX);
}

/* A /pmem descriptor open in the task's process (or, now and then, any name: EBADF, EXDEV); -1: none. */
static int pick_pmem_fd(struct run *r, struct chooser *c, int task)
{
	int fds[32], any = -1, n = 0;

	for (int i = r->next_fd - 1; i >= 0 && n < 32; i--) {
		if (i >= r->nfdsyms || !r->fdok[i])
			continue;
		if (any < 0 || !fuzz_choose(c, 4))
			any = i;
		if (model_fd_pmem(r->md, task, r->fdnum[i]))
			fds[n++] = i;
	}
	return n && fuzz_choose(c, 8) ? fds[fuzz_choose(c, (uint32_t)n)] : any;
}

void fuzz_gen_dax_op(struct run *r, struct chooser *c, struct fop *op)
{
	uint32_t what = fuzz_choose(c, 10);
	int fd = pick_pmem_fd(r, c, op->task);

	if (what < 2 || fd < 0) {
		/* a /pmem name, made if need be, now and then emptied */
		op->kind = F_OPEN;
		op->fd = -1;
		op->newfd = r->focus_fd = r->next_fd++;
		op->path = r->focus_path = FZ_PMEM_PATH + (int)fuzz_choose(c, FZ_NAMES);
		op->mode = O_RDWR | O_CREAT | (fuzz_choose(c, 8) ? 0 : O_TRUNC);
	} else if (what < 4) {
		/* bytes for FICLONE to share, in either run and across their edge */
		op->kind = F_PWRITE;
		op->fd = fd;
		op->pos = (int64_t)fuzz_choose(c, 2 * 512) * (int64_t)PG - (fuzz_choose(c, 4) ? 0 : 64);
		op->pos = op->pos < 0 ? 0 : op->pos;
		op->len = 1 + fuzz_choose(c, (uint32_t)(2 * PG));
		op->byte = (uint8_t)(1 + fuzz_choose(c, 255));
	} else if (what < 6) {
		op->kind = F_FICLONE;
		op->fd = fd;
		op->fd2 = pick_pmem_fd(r, c, op->task);
		if (op->fd2 < 0)
			op->fd2 = fd;
	} else if (what < 7) {
		/* whole 2 MiB runs, so that a fault may map a PMD */
		op->kind = F_FTRUNCATE;
		op->fd = fd;
		op->len = (1 + fuzz_choose(c, 2)) * THP_SIZE + (fuzz_choose(c, 4) ? 0 : PG);
	} else {
		/* a PMD-sized mapping at a 2 MiB slot, of the file's first or second run */
		op->kind = F_MMAP;
		op->fd = fd;
		op->defines = r->next_region++;
		op->region = -1;
		op->off = (int64_t)(THP_BASE + fuzz_choose(c, THP_SLOTS) * THP_SIZE);
		op->len = fuzz_choose(c, 4) ? THP_SIZE : 2 * THP_SIZE;
		op->prot = fuzz_choose(c, 4) ? PROT_READ | PROT_WRITE : PROT_READ;
		op->flags = (fuzz_choose(c, 3) ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED;
		op->pos = fuzz_choose(c, 3) ? 0 : (int64_t)THP_SIZE;
		r->focus_region = op->defines;
		r->focus_off = 0;
	}
	r->focus_fd = op->fd >= 0 ? op->fd : r->focus_fd;
}
