/*
 * fuzz_file.c - the fuzzer's calls on files and descriptors (--files),
 * each on the library and on the model, with the statement it prints in
 * a reproducer; and the disk at the end of a run, whose host files must
 * hold what the model says the processes wrote.
 *
 * A descriptor is named (f0, f1 ...) by the call that made it and stands
 * for the number that call returned, in whichever process uses it: a
 * forked child has the same numbers, and a name whose call failed is
 * never used (the operation is skipped, as one on an undefined region).
 */
#define _GNU_SOURCE	/* F_ADD_SEALS, F_GET_SEALS */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oracle/fuzz_internal.h"
#include "scenario/scenario.h"

static const char *const paths[FZ_PATHS] = {
	"/tmp/a", "/tmp/b", "/tmp/c", "/dev/shm/a", "/dev/shm/b", "/dev/shm/c",
	"/disk/a", "/disk/b", "/disk/c", "/nowhere/a",
};
static const char *const pmem_paths[FZ_NAMES] = { "/pmem/a", "/pmem/b", "/pmem/c" };

const char *fuzz_path(int path)
{
	return path < FZ_PATHS ? paths[path] : pmem_paths[path - FZ_PMEM_PATH];
}

bool fuzz_grow_fds(struct run *r, int n)
{
	int *num;
	bool *ok;

	if (n <= r->nfdsyms)
		return true;
	n = n * 2 + 16;
	num = realloc(r->fdnum, (size_t)n * sizeof(*num));
	if (num)
		r->fdnum = num;
	ok = num ? realloc(r->fdok, (size_t)n * sizeof(*ok)) : NULL;
	if (!ok)
		return false;
	r->fdok = ok;
	memset(ok + r->nfdsyms, 0, (size_t)(n - r->nfdsyms) * sizeof(*ok));
	r->nfdsyms = n;
	return true;
}

int fuzz_fd_of(struct run *r, int fd)
{
	return fd >= 0 && fd < r->nfdsyms && r->fdok[fd] ? r->fdnum[fd] : -1;
}

bool fuzz_unsure_outcome(struct run *r, int task, uint64_t addr, uint64_t len, const uint8_t *own, uint8_t *alt)
{
	return model_unsure(r->md, task, addr, len, own, alt);
}

/* A statement of op's task on op's descriptor. */
static void stmt_fd(struct scn_op *s, enum scn_op_kind kind, const struct fop *op)
{
	scn_op_init(s, kind);
	s->task = FZ_SYM(FZ_TASK, op->task);
	if (op->fd >= 0)
		s->fdsym = FZ_SYM(FZ_FD, op->fd);
}

static void check_disk_file(struct run *r, int i, const char *when);

static bool injected_fail(struct run *r, long fails_before)
{
	return r->injecting && mml_fail_injected(r->m) != fails_before;
}

/* ---- the OOM killer in the middle of a call on a file ------------------------------------ */

/*
 * A task of the machine killed by the OOM killer during its call returns
 * EINTR whatever the call did by then (op_exit_task): all of its work,
 * part of it or none.  The process goes, the file stays: the fuzzer
 * reads back what the call could have changed, through a task that
 * lives, and the model takes that.  The reads are printed, so that the
 * reproducer looks where the fuzzer looked.
 */
static bool oom_killed(struct mml_task *t, long got)
{
	return got == -EINTR && t && mml_task_killed(t);
}

/* A live task, not being killed, with a readable descriptor on file (its number in *fd); -1: none. */
static int file_holder(struct run *r, int file, int *fd)
{
	for (int i = 0; i < r->ntasks; i++) {
		if (!r->tasks[i] || mml_task_killed(r->tasks[i]) || !model_task_alive(r->md, i))
			continue;
		*fd = model_file_fd(r->md, i, file);
		if (*fd >= 0)
			return i;
	}
	return -1;
}

/*
 * The size, and the bytes of [off, off+len), of the file task reads through
 * its descriptor fd; the reproducer checks them too when print (a probe's
 * own descriptor, which no statement opens, it cannot name).
 */
static void resync_through(struct run *r, int task, int fd, int file, uint64_t off, uint64_t len, bool print)
{
	struct mml_task *t = r->tasks[task];
	struct stat st;
	uint8_t *buf;
	long got = 0;

	if (mml_fstat(t, fd, &st))
		return;
	len = off >= (uint64_t)st.st_size ? 0 : min_u64(len, (uint64_t)st.st_size - off);
	buf = malloc(len ? len : 1);
	if (!buf)
		return;
	if (len)
		got = mml_pread(t, fd, buf, len, (int64_t)off);
	if (got == (long)len)
		model_file_patch(r->md, file, (uint64_t)st.st_size, off, buf, len);
	if (r->scn && print && got == (long)len) {
		struct scn_op s;

		scn_op_init(&s, SCN_OP_EXPECT_FSTAT);
		s.task = FZ_SYM(FZ_TASK, task);
		s.fd = fd;
		s.name = "size";
		s.cmp = SCN_EQ;
		s.value = st.st_size;
		fuzz_print(r->scn, &s);
		scn_op_init(&s, SCN_OP_PREAD);
		s.task = FZ_SYM(FZ_TASK, task);
		s.fd = fd;
		s.off = (int64_t)off;
		s.len = len;
		if (len)
			fuzz_stmt_pattern(&s.pat, buf, len);
		if (len)
			fuzz_print(r->scn, &s);
	}
	free(buf);
}

void fuzz_resync_file(struct run *r, int file, uint64_t off, uint64_t len)
{
	int fd, task = file_holder(r, file, &fd);

	if (task >= 0)
		resync_through(r, task, fd, file, off, len, true);
}

/* Whether path names a file now, as a live task finds by opening it; and then what it holds. */
static void resync_name(struct run *r, const char *path)
{
	int task, fd, file;

	for (task = 0; task < r->ntasks; task++)
		if (r->tasks[task] && !mml_task_killed(r->tasks[task]) && model_task_alive(r->md, task))
			break;
	if (task == r->ntasks)
		return;
	/* The probe's own open may meet an injected failure: again (a schedule failing every call defeats it). */
	for (int tries = 0; tries < 16; tries++) {
		fd = mml_open(r->tasks[task], path, O_RDONLY, 0);
		if (fd != -ENOMEM)
			break;
	}
	if (fd == -ENOENT) {
		model_path_set(r->md, path, false);
	} else if (fd >= 0) {
		file = model_path_set(r->md, path, true);
		if (file)
			resync_through(r, task, fd, file, 0, 64 * PG, false);
		mml_close(r->tasks[task], fd);
	}
	if (r->scn)
		fprintf(r->scn, "# the model follows what T%d finds at %s: %s\n", task, path,
			fd >= 0 ? "a file" : scn_errno_name(-fd));
}

void fuzz_oom_resync_range(struct run *r, int task, uint64_t addr, uint64_t len)
{
	for (uint64_t a = addr & ~(PG - 1); a < addr + len && a >= (addr & ~(PG - 1)); a += PG) {
		uint64_t pgoff;
		int file = model_shared_file_at(r->md, task, a, &pgoff);

		if (file)
			fuzz_resync_file(r, file, pgoff * PG, PG);
	}
}

/* The call was cut short by the OOM killer: follow what it may have changed. */
static void oom_resync(struct run *r, const struct fop *op, int fd)
{
	int file = model_fd_file(r->md, op->task, fd);

	if (r->scn)
		fprintf(r->scn, "# the OOM killer took T%d in that call: it may have done all of it, part or none\n",
			op->task);
	switch (op->kind) {
	case F_OPEN:
	case F_UNLINK:
		resync_name(r, fuzz_path(op->path));
		break;
	case F_PWRITE:
	case F_FTRUNCATE:
	case F_FALLOCATE:
		if (file)
			fuzz_resync_file(r, file, op->kind == F_FTRUNCATE ? 0 : (uint64_t)op->pos,
				    op->kind == F_FTRUNCATE ? 0 : op->len);
		break;
	default:
		break;	/* nothing another process could see */
	}
}

/* open, memfd, dup: a new descriptor, named op->newfd if the call succeeds. */
static void exec_new_fd(struct run *r, const struct fop *op, struct mml_task *t, long fails_before)
{
	const char *path = op->kind == F_OPEN ? fuzz_path(op->path) : NULL;
	int fd = fuzz_fd_of(r, op->fd);
	long got, exp;

	got = op->kind == F_OPEN ? mml_open(t, path, (int)op->mode, 0600) :
	      op->kind == F_MEMFD ? mml_memfd_create(t, "fz", (unsigned)op->mode) : mml_dup(t, fd);
	if (got == -ENOMEM && injected_fail(r, fails_before)) {
		/* as in Linux, open may fail after it made the name (or truncated): look */
		if (op->kind == F_OPEN && (op->mode & (O_CREAT | O_TRUNC)))
			resync_name(r, path);
		return;
	}
	if (oom_killed(t, got)) {
		oom_resync(r, op, -1);
		return;
	}
	exp = op->kind == F_OPEN ? model_open(r->md, op->task, path, (int)op->mode, 0600) :
	      op->kind == F_MEMFD ? model_memfd(r->md, op->task, "fz", (unsigned)op->mode) :
	      model_dup(r->md, op->task, fd);
	exp = fuzz_judge(r, t, got, exp, "T%d %s %s (flags %#lx): the descriptor", op->task,
			 op->kind == F_OPEN ? "open" : op->kind == F_MEMFD ? "memfd" : "dup",
			 op->kind == F_OPEN ? path : op->kind == F_MEMFD ? "fz" : "", op->mode);
	if (got >= 0 && got == exp) {
		r->fdnum[op->newfd] = (int)got;
		r->fdok[op->newfd] = true;
	}
	if (r->scn) {
		struct scn_op s;

		stmt_fd(&s, op->kind == F_OPEN ? SCN_OP_OPEN : op->kind == F_MEMFD ? SCN_OP_MEMFD : SCN_OP_DUP, op);
		s.name = (char *)(op->kind == F_OPEN ? path : "fz");
		s.flags = op->kind == F_DUP ? 0 : op->mode;
		s.arg = 0600;
		if (exp >= 0)
			s.def = FZ_SYM(FZ_FD, op->newfd);
		fuzz_stmt_result(&s, exp);
		fuzz_print(r->scn, &s);
	}
}

/* pread: the count, then the bytes, which may differ only where a disk file's tail may be zeroed. */
static void exec_pread(struct run *r, const struct fop *op, struct mml_task *t, int fd, long fails_before)
{
	long got = mml_pread(t, fd, r->ibuf, op->len, op->pos), exp;
	bool unsure;

	if (got == -ENOMEM && injected_fail(r, fails_before))
		return;
	exp = model_pread(r->md, op->task, fd, r->mbuf, op->len, op->pos);
	/* A page it could not read for an injected failure ends it short: what came before (filemap_read). */
	if (got >= 0 && got < exp && injected_fail(r, fails_before))
		exp = got;
	unsure = exp > 0 && model_pread_unsure(r->md, op->task, fd, op->pos, (uint64_t)exp, r->mbuf, r->ubuf);
	exp = fuzz_judge(r, t, got, exp, "T%d pread f%d %" PRId64 " %" PRIu64 ": the count", op->task, op->fd,
			 op->pos, op->len);
	if (got == exp && got > 0 && memcmp(r->ibuf, r->mbuf, (size_t)got) &&
	    !model_pread_alternative(r->md, op->task, fd, op->pos, r->ibuf, (uint64_t)got)) {
		long k;

		for (k = 0; r->ibuf[k] == r->mbuf[k]; k++)
			;
		fuzz_diverge(r, "T%d pread f%d %" PRId64 " %" PRIu64 ": byte at %#" PRIx64 " is 0x%02x, the model says "
			     "0x%02x", op->task, op->fd, op->pos, op->len, (uint64_t)op->pos + (uint64_t)k, r->ibuf[k],
			     r->mbuf[k]);
	}
	if (r->scn) {
		struct scn_op s;

		stmt_fd(&s, SCN_OP_PREAD, op);
		s.off = op->pos;
		s.len = op->len;
		if (exp > 0) {
			fuzz_stmt_pattern(&s.pat, r->mbuf, (uint64_t)exp);
			if (unsure)
				fuzz_stmt_pattern(&s.alt[s.nalt++], r->ubuf, (uint64_t)exp);
		}
		if (exp < 0) {
			fuzz_stmt_result(&s, exp);
		} else if ((uint64_t)exp != op->len) {
			s.expect.ncount = 1;
			s.expect.count[0] = (uint64_t)exp;
		}
		fuzz_print(r->scn, &s);
	}
}

static void exec_pwrite(struct run *r, const struct fop *op, struct mml_task *t, int fd, long fails_before)
{
	long got, exp;

	memset(r->ibuf, op->byte, op->len);
	got = mml_pwrite(t, fd, r->ibuf, op->len, op->pos);
	if (injected_fail(r, fails_before) && got != (long)op->len) {
		/* what it wrote before the allocation failed, and nothing more */
		if (got > 0)
			model_pwrite(r->md, op->task, fd, r->ibuf, (uint64_t)got, op->pos, got);
		if (got > 0 || got == -ENOMEM)
			return;
	}
	if (oom_killed(t, got)) {
		oom_resync(r, op, fd);
		return;
	}
	exp = model_pwrite(r->md, op->task, fd, r->ibuf, op->len, op->pos, got);
	exp = fuzz_judge(r, t, got, exp, "T%d pwrite f%d %" PRId64 " %" PRIu64, op->task, op->fd, op->pos, op->len);
	if (r->scn) {
		struct scn_op s;

		stmt_fd(&s, SCN_OP_PWRITE, op);
		s.off = op->pos;
		s.len = op->len;
		fuzz_stmt_pattern(&s.pat, &op->byte, 1);
		if (exp < 0) {
			fuzz_stmt_result(&s, exp);
		} else if ((uint64_t)exp != op->len) {
			s.expect.ncount = 1;
			s.expect.count[0] = (uint64_t)exp;
		}
		fuzz_print(r->scn, &s);
	}
}

/* fstat: st_size and st_nlink, what the model knows. */
static void exec_fstat(struct run *r, const struct fop *op, struct mml_task *t, int fd)
{
	struct stat st;
	uint64_t size = 0;
	unsigned nlink = 0;
	long got = mml_fstat(t, fd, &st), exp = model_fstat(r->md, op->task, fd, &size, &nlink);

	exp = fuzz_judge(r, t, got, exp, "T%d fstat f%d", op->task, op->fd);
	if (!got && !exp && (uint64_t)st.st_size != size)
		fuzz_diverge(r, "T%d fstat f%d: st_size %lld, the model says %" PRIu64, op->task, op->fd,
			     (long long)st.st_size, size);
	if (!got && !exp && st.st_nlink != nlink)
		fuzz_diverge(r, "T%d fstat f%d: st_nlink %lu, the model says %u", op->task, op->fd,
			     (unsigned long)st.st_nlink, nlink);
	if (r->scn && !exp) {
		struct scn_op s;

		stmt_fd(&s, SCN_OP_EXPECT_FSTAT, op);
		s.name = "size";
		s.cmp = SCN_EQ;
		s.value = (int64_t)size;
		fuzz_print(r->scn, &s);
		s.name = "nlink";
		s.value = nlink;
		fuzz_print(r->scn, &s);
	} else if (r->scn) {
		fprintf(r->scn, "# fstat T%d f%d => %s\n", op->task, op->fd, scn_errno_name((int)-exp));
	}
}

/* F_GET_SEALS, as "expect seals". */
static void exec_get_seals(struct run *r, const struct fop *op, struct mml_task *t, int fd)
{
	long got = mml_fcntl(t, fd, F_GET_SEALS, 0), exp = model_fcntl(r->md, op->task, fd, F_GET_SEALS, 0);

	exp = fuzz_judge(r, t, got, exp, "T%d fcntl f%d F_GET_SEALS", op->task, op->fd);
	if (r->scn) {
		struct scn_op s;

		stmt_fd(&s, SCN_OP_EXPECT_SEALS, op);
		if (exp < 0) {
			s.arg = 1;	/* the result form */
			fuzz_stmt_result(&s, exp);
		} else {
			s.cmp = SCN_EQ;
			s.value = exp;
		}
		fuzz_print(r->scn, &s);
	}
}

/* mincore: only its result and the vector's form; which pages are resident is the library's business. */
static void exec_mincore(struct run *r, const struct fop *op, struct mml_task *t, uint64_t addr)
{
	uint64_t pages = op->len / PG + (op->len % PG != 0);
	unsigned char *vec = calloc(pages ? pages : 1, 1);
	long got, exp;

	if (!vec)
		return;
	got = mml_mincore(t, addr, op->len, vec);
	exp = fuzz_judge(r, t, got, model_mincore(r->md, op->task, addr, op->len), "T%d mincore %#" PRIx64 " %" PRIu64,
			 op->task, addr, op->len);
	for (uint64_t i = 0; !got && !exp && i < pages; i++)
		if (vec[i] & ~1u)
			fuzz_diverge(r, "T%d mincore %#" PRIx64 ": byte %" PRIu64 " is %#x: only bit 0 is defined", op->task,
				     addr, i, vec[i]);
	free(vec);
	if (r->scn) {
		struct scn_op s;

		fuzz_stmt_at(&s, SCN_OP_EXPECT_MINCORE, op);
		if (exp)
			fuzz_stmt_result(&s, exp);
		else
			s.name = "?";	/* resident or not: either */
		if (op->len)
			fuzz_print(r->scn, &s);
	}
}

/* The statement of a call exec_call makes, with the result exp. */
static void print_call(struct run *r, const struct fop *op, long exp)
{
	static const enum scn_op_kind kinds[] = {
		[F_CLOSE] = SCN_OP_CLOSE, [F_FSYNC] = SCN_OP_FSYNC, [F_UNLINK] = SCN_OP_UNLINK,
		[F_FTRUNCATE] = SCN_OP_FTRUNCATE, [F_FALLOCATE] = SCN_OP_FALLOCATE, [F_SEAL] = SCN_OP_SEAL,
		[F_MSYNC] = SCN_OP_MSYNC, [F_DROP_CACHES] = SCN_OP_DROP_CACHES,
	};
	struct scn_op s;

	if (!r->scn)
		return;
	stmt_fd(&s, kinds[op->kind], op);
	if (op->kind == F_DROP_CACHES)
		s.task = -1;
	if (op->kind == F_UNLINK)
		s.name = (char *)fuzz_path(op->path);
	if (op->kind == F_MSYNC) {
		s.addr.sym = op->region >= 0 ? FZ_SYM(FZ_REGION, op->region) : -1;
		s.addr.off = (uint64_t)op->off;
	}
	s.len = op->len;
	s.off = op->pos;
	s.arg = op->mode;
	fuzz_stmt_result(&s, exp);
	fuzz_print(r->scn, &s);
}

/* The calls whose whole outcome is a result: close, fsync, unlink, ftruncate, fallocate, seal, msync, drop_caches. */
static void exec_call(struct run *r, const struct fop *op, struct mml_task *t, int fd, uint64_t addr,
		      long fails_before)
{
	long got, exp;
	char what[96];

	switch (op->kind) {
	case F_CLOSE:
		got = mml_close(t, fd);
		break;
	case F_FSYNC:
		got = mml_fsync(t, fd);
		break;
	case F_UNLINK:
		got = mml_unlink(t, fuzz_path(op->path));
		break;
	case F_FTRUNCATE:
		got = mml_ftruncate(t, fd, (int64_t)op->len);
		break;
	case F_FALLOCATE:
		got = mml_fallocate(t, fd, (int)op->mode, op->pos, (int64_t)op->len);
		break;
	case F_SEAL:
		got = mml_fcntl(t, fd, F_ADD_SEALS, op->mode);
		break;
	case F_MSYNC:
		got = mml_msync(t, addr, op->len, (int)op->mode);
		break;
	default:
		got = mml_drop_caches(r->m, (int)op->mode);
		break;
	}
	if (got == -ENOMEM && injected_fail(r, fails_before))
		return;
	/*
	 * A writeback that failed for an injected failure, in this call or
	 * an earlier one (reclaim's), is reported once by the next fsync or
	 * msync(MS_SYNC): EIO.  What the disk did not get the model follows
	 * after the operation (fuzz_files_after_failures).
	 */
	if (got == -EIO && r->injecting && (op->kind == F_FSYNC || op->kind == F_MSYNC)) {
		if (r->scn)
			fprintf(r->scn, "# T%d %s => EIO: an injected failure failed a writeback\n", op->task,
				op->kind == F_FSYNC ? "fsync" : "msync");
		print_call(r, op, -EIO);
		return;
	}
	/* The same failure in a /disk hole punch's writeback of its partial pages: the hole is made. */
	if (got == -EIO && r->injecting && op->kind == F_FALLOCATE && (op->mode & FALLOC_FL_PUNCH_HOLE) &&
	    !model_fallocate(r->md, op->task, fd, (int)op->mode, op->pos, (int64_t)op->len, 0)) {
		if (r->scn)
			fprintf(r->scn, "# T%d fallocate => EIO: an injected failure failed a writeback\n", op->task);
		print_call(r, op, -EIO);
		return;
	}
	if (oom_killed(op->kind == F_DROP_CACHES ? NULL : t, got)) {
		oom_resync(r, op, fd);
		return;
	}
	switch (op->kind) {
	case F_CLOSE:
		exp = model_close(r->md, op->task, fd);
		snprintf(what, sizeof(what), "T%d close f%d", op->task, op->fd);
		break;
	case F_FSYNC:
		exp = model_fsync(r->md, op->task, fd);
		snprintf(what, sizeof(what), "T%d fsync f%d", op->task, op->fd);
		break;
	case F_UNLINK:
		exp = model_unlink(r->md, op->task, fuzz_path(op->path));
		snprintf(what, sizeof(what), "T%d unlink %s", op->task, fuzz_path(op->path));
		break;
	case F_FTRUNCATE:
		exp = model_ftruncate(r->md, op->task, fd, (int64_t)op->len);
		snprintf(what, sizeof(what), "T%d ftruncate f%d %" PRIu64, op->task, op->fd, op->len);
		break;
	case F_FALLOCATE:
		exp = model_fallocate(r->md, op->task, fd, (int)op->mode, op->pos, (int64_t)op->len, got);
		snprintf(what, sizeof(what), "T%d fallocate f%d mode %ld %" PRId64 " %" PRIu64, op->task, op->fd,
			 op->mode, op->pos, op->len);
		break;
	case F_SEAL:
		exp = model_fcntl(r->md, op->task, fd, F_ADD_SEALS, op->mode);
		snprintf(what, sizeof(what), "T%d seal f%d %#lx", op->task, op->fd, op->mode);
		break;
	case F_MSYNC:
		exp = model_msync(r->md, op->task, addr, op->len, (int)op->mode);
		snprintf(what, sizeof(what), "T%d msync %#" PRIx64 " %" PRIu64 " %#lx", op->task, addr, op->len,
			 op->mode);
		break;
	default:
		exp = model_drop_caches(r->md, (int)op->mode);
		snprintf(what, sizeof(what), "drop_caches %ld", op->mode);
		break;
	}
	exp = fuzz_judge(r, op->kind == F_DROP_CACHES ? NULL : t, got, exp, "%s", what);
	print_call(r, op, exp);
	/*
	 * fsync wrote every dirty page of a /disk file back: its host file
	 * holds the model's bytes now (the scenario language cannot look
	 * there: a reproducer says so in a comment).
	 */
	if (op->kind == F_FSYNC && !got && !exp && !r->why[0] && model_fd_disk_index(r->md, op->task, fd) >= 0) {
		check_disk_file(r, model_fd_disk_index(r->md, op->task, fd), "after fsync");
		if (r->why[0] && r->scn)
			fprintf(r->scn, "# %s\n", r->why);
	}
}

bool fuzz_exec_file(struct run *r, const struct fop *op, struct mml_task *t, uint64_t addr, long fails_before)
{
	int fd = fuzz_fd_of(r, op->fd);

	/* One thread: a call that would wait for a pin of ours would wait for ever (fuzz_dax.c). */
	if (op->kind == F_FICLONE && fuzz_fd_of(r, op->fd2) < 0)
		return false;	/* the source named by a call that failed, or dropped by the shrinker */
	if (r->o->dax && fuzz_dax_would_wait(r, op, addr))
		return false;
	switch (op->kind) {
	case F_OPEN:
	case F_MEMFD:
	case F_DUP:
		exec_new_fd(r, op, t, fails_before);
		return true;
	case F_PREAD:
		exec_pread(r, op, t, fd, fails_before);
		return true;
	case F_PWRITE:
		exec_pwrite(r, op, t, fd, fails_before);
		return true;
	case F_FSTAT:
		exec_fstat(r, op, t, fd);
		return true;
	case F_SEALS_GET:
		exec_get_seals(r, op, t, fd);
		return true;
	case F_MINCORE:
		exec_mincore(r, op, t, addr);
		return true;
	case F_FICLONE:
		fuzz_exec_ficlone(r, op, t, fails_before);
		return true;
	default:
		exec_call(r, op, t, fd, addr, fails_before);
		return true;
	}
}

/* ---- the disk ------------------------------------------------------------------------- */

bool fuzz_files_init(struct run *r, struct mml_config *cfg)
{
	const char *tmp = getenv("TMPDIR");
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s/mmlab-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	r->disk_dir = strdup(buf);
	if (!r->disk_dir || !mkdtemp(r->disk_dir)) {
		free(r->disk_dir);
		r->disk_dir = NULL;
		return false;
	}
	cfg->disk_dir = r->disk_dir;
	/* tmpfs_bytes 0: half of RAM, as the scenario's machine has it too */
	model_set_tmpfs_limit(r->md, r->o->ram / 2 / PG);
	return true;
}

/* The host file's bytes, all of them; NULL if it cannot be read. */
static uint8_t *slurp(const char *path, uint64_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, got;

	*n = 0;
	if (!f)
		return NULL;
	do {
		uint8_t *nb = realloc(buf, cap += 65536);

		if (!nb) {
			free(buf);
			fclose(f);
			return NULL;
		}
		buf = nb;
		got = fread(buf + *n, 1, cap - *n, f);
		*n += got;
	} while (got && *n == cap);
	fclose(f);
	return buf ? buf : malloc(1);
}

/* The host file of the i-th file /disk names must hold the model's bytes (when: "at power-off"). */
static void check_disk_file(struct run *r, int i, const char *when)
{
	uint64_t size, n, bad;
	const char *name = model_disk_file(r->md, i, &size);
	char path[4352];
	uint8_t *host;
	int want;

	snprintf(path, sizeof(path), "%s/%s", r->disk_dir, name);
	host = slurp(path, &n);
	if (!host) {
		fuzz_diverge(r, "%s the host has no file for /disk/%s", when, name);
		return;
	}
	bad = model_disk_check(r->md, i, host, n, &want);
	if (bad && want < 0)
		fuzz_diverge(r, "%s the host file of /disk/%s holds %" PRIu64 " bytes, the model says %" PRIu64, when,
			     name, n, size);
	else if (bad)
		fuzz_diverge(r, "%s byte %" PRIu64 " of the host file of /disk/%s is 0x%02x, the model says 0x%02x",
			     when, bad - 1, name, host[bad - 1], want);
	free(host);
}

/*
 * An injected failure at MML_FAIL_SWAP_IO may have broken a writeback of a
 * /disk file -- fsync's, msync's, a hole punch's or reclaim's pageout,
 * which tells no one.  Linux leaves such a folio clean with bytes the disk
 * never got (mapping_set_error): they read back until the cache drops the
 * folio, the disk's after.  The model cannot say when the cache drops it,
 * so from then on each byte the host file does not hold may read either
 * way, and the first read that tells them apart decides
 * (model_disk_writeback_lost).  A dirty folio not yet written is among
 * them too, which the model cannot tell apart; an unlinked file has no
 * host file to look at, and is taken for one never written back.
 */
void fuzz_files_after_failures(struct run *r)
{
	long now = mml_fail_injected(r->m);
	struct mml_fail_at ev;
	bool io = false;
	uint64_t size, n;

	/* A failure too old to be kept is taken for one at that site. */
	for (long i = r->fails_seen; i < now && !io; i++)
		io = mml_fail_event(r->m, i, &ev) || ev.site == MML_FAIL_SWAP_IO;
	r->fails_seen = now;
	if (io && model_unlinked_writeback_lost(r->md))
		fuzz_diverge(r, "out of memory for the model");
	for (int i = 0; io && !r->why[0] && model_disk_file(r->md, i, &size); i++) {
		char path[4352];
		uint8_t *host;

		snprintf(path, sizeof(path), "%s/%s", r->disk_dir, model_disk_file(r->md, i, &size));
		host = slurp(path, &n);
		if (host && model_disk_writeback_lost(r->md, i, host, n))
			fuzz_diverge(r, "out of memory for the model");
		free(host);
	}
}

/*
 * After power-off the host files are the disk: each file /disk names in
 * the model must be there with the model's bytes, and nothing else.
 */
static void check_disk(struct run *r)
{
	const char *name;
	uint64_t size;
	DIR *d;
	struct dirent *e;

	for (int i = 0; !r->why[0] && model_disk_file(r->md, i, &size); i++)
		check_disk_file(r, i, "at power-off");
	d = opendir(r->disk_dir);
	while (d && !r->why[0] && (e = readdir(d))) {
		bool known = false;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		for (int i = 0; !known && (name = model_disk_file(r->md, i, &size)); i++)
			known = !strcmp(name, e->d_name);
		if (!known)
			fuzz_diverge(r, "at power-off the host holds %s, which /disk no longer names", e->d_name);
	}
	if (d)
		closedir(d);
}

void fuzz_files_finish(struct run *r)
{
	char path[4352];
	DIR *d;
	struct dirent *e;

	if (!r->disk_dir)
		return;
	if (!r->why[0] && r->md)
		check_disk(r);
	if (r->why[0] && r->scn && !strncmp(r->why, "at power-off", 12))
		fprintf(r->scn, "# %s\n", r->why);
	d = opendir(r->disk_dir);
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", r->disk_dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(r->disk_dir);
	free(r->disk_dir);
	r->disk_dir = NULL;
}
