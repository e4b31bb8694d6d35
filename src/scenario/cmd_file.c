/*
 * cmd_file.c - files and shared memory: open, memfd, dup, close, unlink,
 * ftruncate, fallocate, fsync, msync, seal, drop-caches, pread, pwrite,
 * ficlone; expect mincore, expect fstat, expect seals, expect statvfs.
 *
 * A descriptor is a name of its own kind (SCN_SYM_FD), defined by open,
 * memfd or dup, and it stands for the number the call returned in its
 * process: a forked child has the same numbers, so any task may use the
 * name, and the number is what is passed.  A back end numbers its
 * descriptors its own way (the host's drivers hold sockets), so a
 * conformance run never compares a number, only what the calls return
 * besides (docs/scenario.md, "Files and shared memory").
 */
#define _GNU_SOURCE	/* F_ADD_SEALS, F_GET_SEALS */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "native/observe.h"
#include "scenario/command.h"

/* mincore vectors over this are compared by a digest, not bit by bit */
#define MINCORE_SHOWN	128

/* ---- the pieces of a file statement ---- */

/*
 * A path or a memfd's name: a string, without NUL bytes (the syscall
 * could not see past one), at most PATH_MAX bytes (one more is the
 * kernel's ENAMETOOLONG, for both kernels to say).
 */
static int parse_string_arg(struct scn_parser *p, struct scn_op *op, const char *what)
{
	struct scn_tok *t = scn_need(p, what);

	if (!t)
		return -1;
	if (t->type != SCN_TOK_STRING)
		return scn_perr(p, t->col, "expected %s", what);
	if (memchr(t->str, '\0', t->strn))
		return scn_perr(p, t->col, "a path or name cannot hold a NUL byte");
	if (t->strn > 4096)
		return scn_perr(p, t->col, "a path or name is at most 4096 bytes");
	op->name = strndup(t->str, t->strn);
	if (!op->name)
		return scn_perr(p, t->col, "out of memory");
	return 0;
}

/*
 * A comma list of one set's flag names, numbers mixed in for bits
 * without a name ("punch-hole,keep-size", "0", "rdwr,creat").  With
 * accmode, open's: exactly one access mode unless a number stands in.
 */
static int parse_flags(struct scn_parser *p, enum scn_flag_set set, const char *what,
		       long *out)
{
	struct scn_tok *t = scn_need_word(p, what);
	int modes = 0, numbers = 0;
	size_t a = 0, b;
	long flags = 0;

	if (!t)
		return -1;
	if (set == SCN_SEALS && scn_tok_is(t, "none")) {
		*out = 0;
		return 0;
	}
	while (a <= t->n) {
		uint64_t v;
		long f;

		for (b = a; b < t->n && t->s[b] != ',' && t->s[b] != '|'; b++)
			;
		if (b > a && t->s[a] >= '0' && t->s[a] <= '9') {
			if (scn_num_parse(t->s + a, b - a, false, &v) || v > 0xffffffff)
				return scn_perr(p, t->col + a, "bad flag number");
			f = (long)v;
			numbers++;
		} else if (scn_flag(set, t->s + a, b - a, &f) < 0) {
			return scn_perr(p, t->col + a, "unknown flag '%.*s'; expected %s",
					(int)(b - a > 40 ? 40 : b - a), t->s + a, what);
		} else if (set == SCN_OFLAGS && (f == O_RDONLY || f == O_WRONLY || f == O_RDWR)) {
			modes++;
		}
		flags |= f;
		a = b + 1;
	}
	if (set == SCN_OFLAGS && !numbers && modes != 1)
		return scn_perr(p, t->col, "open takes exactly one of rdonly, wronly, rdwr");
	*out = flags;
	return 0;
}

/* "A f", "A 99": the task and the descriptor of a statement, for messages */
static const char *fd_where(struct scn_runner *r, const struct scn_op *op, char *buf, size_t n)
{
	if (op->fdsym >= 0)
		snprintf(buf, n, "%s %s", r->s->syms[op->task].name, r->s->syms[op->fdsym].name);
	else
		snprintf(buf, n, "%s %ld", r->s->syms[op->task].name, op->fd);
	return buf;
}

/* NAME = open|memfd|dup ...: the name is a descriptor; the call must succeed */
static int parse_defining_end(struct scn_parser *p, struct scn_op *op)
{
	if (!p->name)
		return scn_parse_result(p, op, true);
	if (scn_parse_result_defining(p, op) < 0)
		return -1;
	return scn_sym_def(p, p->name, SCN_SYM_FD, &op->def);
}

/* The call's result as the observation; changes: skipping it loses the state. */
static void note_call(struct cf_walk *w, const struct cf_fcall *c, void *out, bool changes)
{
	int64_t r = w->b->fcall(w->b, w->op->task >= 0 ? cf_task_of(w, w->op->task) : -1, c, out);

	if (!cf_refused(w, r, changes))
		cf_note_result(w, r);
}

/* The call of a statement, as both back ends take it. */
static struct cf_fcall fcall_of(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	struct cf_fcall c = {
		.kind = op->kind, .path = op->name, .fd = cf_fd_of(w, op), .flags = op->flags,
		.mode = op->arg, .off = op->off, .len = op->len, .pat = &op->pat,
		.src_fd = op->src_fdsym >= 0 ? (long)w->vals[op->src_fdsym].v : op->src_fd,
	};

	if (op->kind == SCN_OP_FALLOCATE || op->kind == SCN_OP_MSYNC || op->kind == SCN_OP_SEAL ||
	    op->kind == SCN_OP_DROP_CACHES)
		c.flags = op->arg;
	c.addr = cf_addr_of(w, &op->addr);
	return c;
}

/* ---- open, memfd, dup ---- */

/* [f =] open A PATH OFLAGS [MODE] [=> ...] */
static int st_open(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;
	uint64_t v;
	size_t i;

	if (scn_parse_task(p, &op->task) < 0 ||
	    parse_string_arg(p, op, "path, a string (\"/tmp/a\", \"/dev/shm/a\", \"/disk/a\")") < 0 ||
	    parse_flags(p, SCN_OFLAGS, "open flags (rdonly, wronly or rdwr; creat, excl, trunc, "
			"cloexec)", &op->flags) < 0)
		return -1;
	op->arg = 0600;
	t = scn_peek(p);
	if (t && !scn_tok_is(t, "=>")) {
		p->i++;
		if (t->type != SCN_TOK_WORD || t->s[0] != '0')
			return scn_perr(p, t->col, "a mode is octal with a leading 0 (0600, 0644)");
		for (i = 1, v = 0; i < t->n; i++) {
			if (t->s[i] < '0' || t->s[i] > '7')
				return scn_perr(p, t->col, "a mode is octal with a leading 0 (0600, 0644)");
			v = v * 8 + (uint64_t)(t->s[i] - '0');
			if (v > 07777)
				return scn_perr(p, t->col, "a mode is at most 07777");
		}
		op->arg = (long)v;
	}
	return parse_defining_end(p, op);
}

/* [f =] memfd A NAME [MFDFLAGS] [=> ...] */
static int st_memfd(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	if (scn_parse_task(p, &op->task) < 0 ||
	    parse_string_arg(p, op, "the memfd's name, a string") < 0)
		return -1;
	t = scn_peek(p);
	if (t && !scn_tok_is(t, "=>") &&
	    parse_flags(p, SCN_MFD_FLAGS, "memfd flags (cloexec, allow-sealing)", &op->flags) < 0)
		return -1;
	return parse_defining_end(p, op);
}

/* [f =] dup A FD [=> ...] */
static int st_dup(struct scn_parser *p, struct scn_op *op)
{
	if (scn_parse_task(p, &op->task) < 0 || scn_parse_fd(p, op) < 0)
		return -1;
	return parse_defining_end(p, op);
}

static int run_new_fd(struct scn_runner *r, const struct scn_op *op)
{
	struct mml_task *t = scn_task_of(r, op->task);
	int ret;

	if (op->kind == SCN_OP_OPEN)
		ret = mml_open(t, op->name, (int)op->flags, (unsigned)op->arg);
	else if (op->kind == SCN_OP_MEMFD)
		ret = mml_memfd_create(t, op->name, (unsigned)op->flags);
	else
		ret = mml_dup(t, scn_fd_of(r, op));
	if (scn_check_result(r, ret))
		return SCN_FAIL;
	if (op->def >= 0)
		r->vals[op->def].v = (uint64_t)ret;
	return SCN_PASS;
}

/* The number is each side's own: only the result is an observation. */
static void obs_new_fd(struct cf_walk *w)
{
	struct cf_fcall c = fcall_of(w);
	int64_t r = w->b->fcall(w->b, cf_task_of(w, w->op->task), &c, NULL);

	cf_note_defined(w, r, true, -1, (uint64_t)r);
}

static void pr_new_fd(const struct scn_printer *pr, const struct scn_op *op)
{
	char flags[160];

	fprintf(pr->f, "%s", scn_cmd_name(op));
	scn_print_sym(pr, op->task);
	if (op->kind == SCN_OP_DUP) {
		scn_print_fd(pr, op);
		return;
	}
	scn_print_string(pr, op->name, strlen(op->name));
	if (op->kind == SCN_OP_OPEN) {
		fprintf(pr->f, " %s", scn_flags_name(SCN_OFLAGS, op->flags, flags, sizeof(flags)));
		if (op->arg != 0600)
			fprintf(pr->f, " 0%lo", op->arg);
	} else if (op->flags) {
		fprintf(pr->f, " %s", scn_flags_name(SCN_MFD_FLAGS, op->flags, flags, sizeof(flags)));
	}
}

/* ---- close, fsync, ftruncate, fallocate, seal, unlink ---- */

/*
 * close A FD | fsync A FD | ftruncate A FD LEN | fallocate A FD FALLOC OFF LEN
 * | seal A FD SEALS | unlink A PATH
 */
static int st_fd_call(struct scn_parser *p, struct scn_op *op)
{
	if (scn_parse_task(p, &op->task) < 0)
		return -1;
	if (op->kind == SCN_OP_UNLINK)
		return parse_string_arg(p, op, "path, a string (\"/tmp/a\")") < 0 ? -1 :
		       scn_parse_result(p, op, true);
	if (scn_parse_fd(p, op) < 0)
		return -1;
	switch (op->kind) {
	case SCN_OP_FTRUNCATE:
		if (scn_parse_len(p, "length", &op->len) < 0)
			return -1;
		break;
	case SCN_OP_FALLOCATE:
		if (parse_flags(p, SCN_FALLOC_FLAGS, "fallocate mode (0, keep-size, "
				"punch-hole,keep-size)", &op->arg) < 0 ||
		    scn_parse_off(p, &op->off) < 0 || scn_parse_len(p, "length", &op->len) < 0)
			return -1;
		break;
	case SCN_OP_SEAL:
		if (parse_flags(p, SCN_SEALS, "seals (seal, shrink, grow, write, future-write)",
				&op->arg) < 0)
			return -1;
		break;
	default:
		break;
	}
	return scn_parse_result(p, op, true);
}

static int run_fd_call(struct scn_runner *r, const struct scn_op *op)
{
	struct mml_task *t = scn_task_of(r, op->task);
	int fd = scn_fd_of(r, op), ret;

	switch (op->kind) {
	case SCN_OP_CLOSE:
		ret = mml_close(t, fd);
		break;
	case SCN_OP_FSYNC:
		ret = mml_fsync(t, fd);
		break;
	case SCN_OP_FTRUNCATE:
		ret = mml_ftruncate(t, fd, (int64_t)op->len);
		break;
	case SCN_OP_FALLOCATE:
		ret = mml_fallocate(t, fd, (int)op->arg, op->off, (int64_t)op->len);
		break;
	case SCN_OP_SEAL:
		ret = mml_fcntl(t, fd, F_ADD_SEALS, op->arg);
		break;
	default:
		ret = mml_unlink(t, op->name);
		break;
	}
	return scn_check_result(r, ret);
}

static void obs_fd_call(struct cf_walk *w)
{
	struct cf_fcall c = fcall_of(w);

	note_call(w, &c, NULL, true);
}

static void pr_fd_call(const struct scn_printer *pr, const struct scn_op *op)
{
	char flags[160];

	fprintf(pr->f, "%s", scn_cmd_name(op));
	scn_print_sym(pr, op->task);
	if (op->kind == SCN_OP_UNLINK) {
		scn_print_string(pr, op->name, strlen(op->name));
		return;
	}
	scn_print_fd(pr, op);
	if (op->kind == SCN_OP_FTRUNCATE)
		fprintf(pr->f, " %llu", (unsigned long long)op->len);
	if (op->kind == SCN_OP_FALLOCATE)
		fprintf(pr->f, " %s %lld %llu",
			scn_flags_name(SCN_FALLOC_FLAGS, op->arg, flags, sizeof(flags)),
			(long long)op->off, (unsigned long long)op->len);
	if (op->kind == SCN_OP_SEAL)
		fprintf(pr->f, " %s", scn_flags_name(SCN_SEALS, op->arg, flags, sizeof(flags)));
}

/* ---- msync ---- */

/* msync A ADDR LEN MSFLAGS [=> ...] */
static int st_msync(struct scn_parser *p, struct scn_op *op)
{
	if (scn_parse_task(p, &op->task) < 0 || scn_parse_addr(p, &op->addr) < 0 ||
	    scn_parse_len(p, "length", &op->len) < 0 ||
	    parse_flags(p, SCN_MS_FLAGS, "msync flags (async, sync, invalidate)", &op->arg) < 0)
		return -1;
	return scn_parse_result(p, op, true);
}

static int run_msync(struct scn_runner *r, const struct scn_op *op)
{
	return scn_check_result(r, mml_msync(scn_task_of(r, op->task), scn_addr_of(r, &op->addr),
					     op->len, (int)op->arg));
}

static void pr_msync(const struct scn_printer *pr, const struct scn_op *op)
{
	char flags[64];

	fprintf(pr->f, "msync");
	scn_print_sym(pr, op->task);
	scn_print_addr(pr, &op->addr);
	fprintf(pr->f, " %llu %s", (unsigned long long)op->len,
		scn_flags_name(SCN_MS_FLAGS, op->arg, flags, sizeof(flags)));
}

/* ---- drop-caches ---- */

/* drop-caches N [=> ...]: as writing N to /proc/sys/vm/drop_caches */
static int st_drop_caches(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t = scn_need(p, "what to drop (1: page cache, 2: slab, 3: both)");
	uint64_t v;

	if (!t || scn_parse_u64(p, t, false, &v) < 0)
		return -1;
	if (v > 0x7fffffff)
		return scn_perr(p, t->col, "drop-caches takes a small number (1, 2, 3)");
	op->arg = (long)v;
	return scn_parse_result(p, op, true);
}

static int run_drop_caches(struct scn_runner *r, const struct scn_op *op)
{
	return scn_check_result(r, mml_drop_caches(r->m, (int)op->arg));
}

static void pr_drop_caches(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "drop-caches %ld", op->arg);
}

/* ---- pread, pwrite ---- */

/*
 * pread A FD OFF LEN [expect PATTERNS] [=> ...]
 * pwrite A FD OFF LEN PATTERN | pwrite A FD OFF STRING [=> ...]
 */
static int st_prw(struct scn_parser *p, struct scn_op *op)
{
	if (scn_parse_task(p, &op->task) < 0 || scn_parse_fd(p, op) < 0 ||
	    scn_parse_off(p, &op->off) < 0)
		return -1;
	return scn_parse_access(p, op, op->kind == SCN_OP_PWRITE);
}

/* "pread A f offset 0x1000": where a byte of the file is */
static const char *file_place(struct scn_runner *r, const struct scn_op *op, uint64_t off,
			      bool byte, char *buf, size_t n)
{
	snprintf(buf, n, "%s %s offset 0x%llx", scn_cmd_name(op), op->fdsym >= 0 ?
		 r->s->syms[op->fdsym].name : "fd", (unsigned long long)(op->off + off));
	return buf;
}

/* "4096 bytes", "EIO|100 bytes": what the statement allows, for messages */
static const char *counts_str(const struct scn_op *op, char *buf, size_t n)
{
	const struct scn_expect *e = &op->expect;
	size_t o = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < e->nerr && e->err[i]; i++)
		;
	if ((!e->nerr && !e->ncount) || i < e->nerr)	/* ok: the whole length */
		o += snprintf(buf, n, "%llu bytes", (unsigned long long)op->len);
	for (i = 0; i < e->nerr && o < n; i++)
		if (e->err[i])
			o += snprintf(buf + o, n - o, "%s%s", o ? "|" : "", scn_errno_name(e->err[i]));
	for (i = 0; i < e->ncount && o < n; i++)
		o += snprintf(buf + o, n - o, "%s%llu bytes", o ? "|" : "",
			      (unsigned long long)e->count[i]);
	return buf;
}

static int check_count(struct scn_runner *r, const struct scn_op *op, long ret)
{
	char want[96], got[32], where[96];

	if (scn_count_ok(&op->expect, op->len, ret))
		return SCN_PASS;
	if (ret < 0)
		snprintf(got, sizeof(got), "%s", scn_errno_name((int)-ret));
	else
		snprintf(got, sizeof(got), "%ld bytes", ret);
	return scn_fail(r, "%s %s: expected %s, got %s", scn_cmd_name(op),
			fd_where(r, op, where, sizeof(where)), counts_str(op, want, sizeof(want)), got);
}

static int run_prw(struct scn_runner *r, const struct scn_op *op)
{
	bool store = op->kind == SCN_OP_PWRITE;
	struct mml_task *t = scn_task_of(r, op->task);
	int status;
	unsigned char *buf = scn_io_buffer(r, op, store, &status);
	long ret;

	if (!buf)
		return status;
	if (store)
		ret = mml_pwrite(t, scn_fd_of(r, op), buf, op->len, op->off);
	else
		ret = mml_pread(t, scn_fd_of(r, op), buf, op->len, op->off);
	status = check_count(r, op, ret);
	/* the patterns judge what was read, a short count's bytes too */
	if (!status && !store && ret > 0)
		status = scn_check_bytes(r, op, buf, (uint64_t)ret, file_place);
	free(buf);
	return status;
}

static void obs_prw(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	struct cf_fcall c = fcall_of(w);
	unsigned char *buf = NULL;
	int64_t r;

	if (op->kind == SCN_OP_PREAD && !(buf = cf_load_buffer(w)))
		return;
	r = w->b->fcall(w->b, cf_task_of(w, op->task), &c, buf);
	/* a read brings pages into the page cache: the state moves too */
	if (cf_refused(w, r, true)) {
		free(buf);
		return;
	}
	if (op->kind == SCN_OP_PREAD)
		cf_note_count_bytes(w, r, buf, scn_count_ok(&op->expect, op->len, r));
	else if (r < 0)
		cf_note_result(w, r);
	else
		cf_note(w, CF_SEEN, scn_count_ok(&op->expect, op->len, r), NULL, "%lld bytes",
			(long long)r);
	free(buf);
}

static void pr_prw(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "%s", scn_cmd_name(op));
	scn_print_sym(pr, op->task);
	scn_print_fd(pr, op);
	fprintf(pr->f, " %lld %llu", (long long)op->off, (unsigned long long)op->len);
	if (op->kind == SCN_OP_PWRITE)
		scn_print_pattern(pr, &op->pat);
	else
		scn_print_patterns(pr, op);
}

/* ---- expect mincore ---- */

/*
 * expect mincore A ADDR LEN BITS | expect mincore A ADDR LEN => ERRNO
 * BITS: a 0, 1 or ? per page (? either), or one of them for every page.
 */
static int ex_mincore(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;
	uint64_t pages;
	size_t i;

	if (scn_parse_task(p, &op->task) < 0 || scn_parse_addr(p, &op->addr) < 0)
		return -1;
	t = scn_peek(p);
	if (scn_parse_len(p, "length", &op->len) < 0)
		return -1;
	if (op->len > (1ULL << 30))
		return scn_perr(p, t->col, "mincore expectations are limited to 1G at a time");
	if (scn_tok_is(scn_peek(p), "=>"))
		return scn_parse_result(p, op, true);
	if (!op->len)
		return scn_perr(p, t->col, "residency needs a length of at least one byte");
	t = scn_need_word(p, "residency: a 0, 1 or ? per page (1101), or one for all");
	if (!t)
		return -1;
	pages = scn_pages_in(op->len);
	for (i = 0; i < t->n; i++)
		if (t->s[i] != '0' && t->s[i] != '1' && t->s[i] != '?')
			return scn_perr(p, t->col + i, "residency is written with 0, 1 and ? only");
	if (t->n != 1 && t->n != pages)
		return scn_perr(p, t->col, "%zu residency bits for %llu page(s); give one per page, "
				"or one for all", t->n, (unsigned long long)pages);
	op->name = strndup(t->s, t->n);
	if (!op->name)
		return scn_perr(p, t->col, "out of memory");
	return scn_end_of_line(p);
}

/* "1101" (the first MINCORE_SHOWN pages), into buf */
static const char *vec_str(const unsigned char *vec, uint64_t pages, char *buf, size_t n)
{
	uint64_t i;

	for (i = 0; i < pages && i < MINCORE_SHOWN && i + 4 < n; i++)
		buf[i] = vec[i] & 1 ? '1' : '0';
	snprintf(buf + i, n - i, "%s", i < pages ? "..." : "");
	return buf;
}

/* Page i of the expectation: '0', '1' or '?' */
static char want_bit(const struct scn_op *op, uint64_t i)
{
	return op->name[op->name[1] ? i : 0];
}

static bool vec_holds(const struct scn_op *op, const unsigned char *vec, uint64_t pages)
{
	uint64_t i;

	for (i = 0; i < pages; i++)
		if (want_bit(op, i) != '?' && (want_bit(op, i) == '1') != (vec[i] & 1))
			return false;
	return true;
}

static int run_expect_mincore(struct scn_runner *r, const struct scn_op *op)
{
	uint64_t pages = scn_pages_in(op->len);
	char w[160], got[MINCORE_SHOWN + 8];
	unsigned char *vec;
	int ret;

	ret = scn_within(r, "expect mincore", op->len, r->limits->io);
	if (ret)
		return ret;
	vec = calloc(pages, 1);
	if (!vec)
		return scn_fail(r, "expect mincore: out of host memory");
	ret = mml_mincore(scn_task_of(r, op->task), scn_addr_of(r, &op->addr), op->len, vec);
	if (!op->name) {
		free(vec);
		return scn_check_result(r, ret);
	}
	if (ret < 0)
		ret = scn_fail(r, "expected mincore %s %s, got %s",
			       scn_where(r, op->task, &op->addr, 0, w, sizeof(w)), op->name,
			       scn_errno_name(-ret));
	else if (!vec_holds(op, vec, pages))
		ret = scn_fail(r, "expected mincore %s %s, got %s",
			       scn_where(r, op->task, &op->addr, 0, w, sizeof(w)), op->name,
			       vec_str(vec, pages, got, sizeof(got)));
	else
		ret = SCN_PASS;
	free(vec);
	return ret;
}

static void obs_expect_mincore(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	uint64_t pages = scn_pages_in(op->len), i, n = 0;
	struct cf_fcall c = fcall_of(w);
	char got[MINCORE_SHOWN + 8];
	unsigned char *vec = calloc(pages, 1);
	int64_t r;

	if (!vec)
		return cf_note(w, CF_ERROR, false, NULL, "out of memory for %llu pages",
			       (unsigned long long)pages);
	r = w->b->fcall(w->b, cf_task_of(w, op->task), &c, vec);
	if (cf_refused(w, r, false) || r < 0 || !op->name) {
		if (r != -CF_SKIP && r != -CF_BROKEN)
			cf_note_result(w, r);
		free(vec);
		return;
	}
	for (i = 0; i < pages; i++)
		n += vec[i] & 1;
	vec_str(vec, pages, got, sizeof(got));
	if (pages > MINCORE_SHOWN)
		cf_note(w, CF_SEEN, vec_holds(op, vec, pages), NULL, "%s (%llu of %llu resident)",
			got, (unsigned long long)n, (unsigned long long)pages);
	else
		cf_note(w, CF_SEEN, vec_holds(op, vec, pages), NULL, "%s", got);
	/* "?" allows either: two kernels may differ there and both be right */
	w->obs->lenient = strchr(op->name, '?') != NULL;
	free(vec);
}

static void pr_expect_mincore(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "expect mincore");
	scn_print_sym(pr, op->task);
	scn_print_addr(pr, &op->addr);
	fprintf(pr->f, " %llu", (unsigned long long)op->len);
	if (op->name)
		fprintf(pr->f, " %s", op->name);
}

/* ---- expect fstat ---- */

static const char *const stat_fields[] = { "size", "blocks", "nlink", NULL };

/* expect fstat A FD size|blocks|nlink CMP VALUE (VALUE may be a size: 8k) */
static int ex_fstat(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;
	int i;

	if (scn_parse_task(p, &op->task) < 0 || scn_parse_fd(p, op) < 0)
		return -1;
	t = scn_need_word(p, "field (size, blocks, nlink)");
	if (!t)
		return -1;
	for (i = 0; stat_fields[i] && !scn_tok_is(t, stat_fields[i]); i++)
		;
	if (!stat_fields[i])
		return scn_perr(p, t->col, "unknown fstat field " TOKF " (size, blocks, nlink)",
				TOKA(t));
	op->name = strdup(stat_fields[i]);
	if (!op->name || scn_parse_cmp(p, &op->cmp) < 0 || scn_parse_off(p, &op->value) < 0)
		return -1;
	return scn_end_of_line(p);
}

static int64_t stat_field(const struct scn_op *op, const struct cf_stat *st)
{
	return !strcmp(op->name, "size") ? st->size : !strcmp(op->name, "blocks") ? st->blocks :
	       st->nlink;
}

static int run_expect_fstat(struct scn_runner *r, const struct scn_op *op)
{
	struct stat st;
	struct cf_stat cs;
	int ret = mml_fstat(scn_task_of(r, op->task), scn_fd_of(r, op), &st);
	int64_t v;

	char w[96];

	if (ret < 0)
		return scn_fail(r, "expected fstat %s %s %s %lld, got %s", fd_where(r, op, w, sizeof(w)),
				op->name, scn_cmp_name(op->cmp), (long long)op->value,
				scn_errno_name(-ret));
	cs = (struct cf_stat){ st.st_size, st.st_blocks, (int64_t)st.st_nlink };
	v = stat_field(op, &cs);
	if (scn_cmp_holds(v, op->cmp, op->value))
		return SCN_PASS;
	return scn_fail(r, "expected fstat %s %s %s %lld, got %lld", fd_where(r, op, w, sizeof(w)),
			op->name, scn_cmp_name(op->cmp), (long long)op->value, (long long)v);
}

/* a file's size and blocks are the file's, not noise: the value is compared */
static void obs_expect_fstat(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	struct cf_fcall c = fcall_of(w);
	struct cf_stat st;
	int64_t r = w->b->fcall(w->b, cf_task_of(w, op->task), &c, &st), v;

	if (cf_refused(w, r, false))
		return;
	if (r < 0)
		return cf_note(w, CF_SEEN, false, NULL, "fstat: %s", cf_errname(r));
	v = stat_field(op, &st);
	cf_note(w, CF_SEEN, scn_cmp_holds(v, op->cmp, op->value), NULL, "%s = %lld", op->name,
		(long long)v);
}

static void pr_expect_fstat(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "expect fstat");
	scn_print_sym(pr, op->task);
	scn_print_fd(pr, op);
	fprintf(pr->f, " %s %s %lld", op->name, scn_cmp_name(op->cmp), (long long)op->value);
}

/* ---- ficlone ---- */

/* ficlone A DST SRC [=> ...]: ioctl(DST, FICLONE, SRC) */
static int st_ficlone(struct scn_parser *p, struct scn_op *op)
{
	long dst;
	int dstsym;

	if (scn_parse_task(p, &op->task) < 0 || scn_parse_fd(p, op) < 0)
		return -1;
	dst = op->fd, dstsym = op->fdsym;
	if (scn_parse_fd(p, op) < 0)
		return -1;
	op->src_fd = op->fd, op->src_fdsym = op->fdsym;
	op->fd = dst, op->fdsym = dstsym;
	return scn_parse_result(p, op, true);
}

static int run_ficlone(struct scn_runner *r, const struct scn_op *op)
{
	int src = op->src_fdsym >= 0 ? (int)r->vals[op->src_fdsym].v : (int)op->src_fd;

	return scn_check_result(r, mml_ficlone(scn_task_of(r, op->task), scn_fd_of(r, op), src));
}

static void pr_ficlone(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "ficlone");
	scn_print_sym(pr, op->task);
	scn_print_fd(pr, op);
	if (op->src_fdsym >= 0)
		scn_print_sym(pr, op->src_fdsym);
	else
		fprintf(pr->f, " %ld", op->src_fd);
}

/* ---- expect statvfs ---- */

static const char *const statvfs_fields[] = {
	"bsize", "frsize", "blocks", "bfree", "bavail", "files", "ffree", "namemax", NULL
};
#define STATVFS_FIELDS "bsize, frsize, blocks, bfree, bavail, files, ffree, namemax"

/*
 * expect statvfs A PATH FIELD CMP VALUE | expect statvfs A PATH => ERRNO
 * (the field's index in arg, -1 for the result form)
 */
static int ex_statvfs(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;
	int i;

	if (scn_parse_task(p, &op->task) < 0 ||
	    parse_string_arg(p, op, "path, a string (\"/pmem/a\", \"/pmem/\")") < 0)
		return -1;
	if (scn_tok_is(scn_peek(p), "=>")) {
		op->arg = -1;
		return scn_parse_result(p, op, true);
	}
	t = scn_need_word(p, "field (" STATVFS_FIELDS ")");
	if (!t)
		return -1;
	for (i = 0; statvfs_fields[i] && !scn_tok_is(t, statvfs_fields[i]); i++)
		;
	if (!statvfs_fields[i])
		return scn_perr(p, t->col, "unknown statvfs field " TOKF " (" STATVFS_FIELDS ")", TOKA(t));
	op->arg = i;
	if (scn_parse_cmp(p, &op->cmp) < 0 || scn_parse_off(p, &op->value) < 0)
		return -1;
	return scn_end_of_line(p);
}

static int64_t statvfs_field(long i, const struct statvfs *sv)
{
	const unsigned long long v[] = {
		sv->f_bsize, sv->f_frsize, sv->f_blocks, sv->f_bfree, sv->f_bavail,
		sv->f_files, sv->f_ffree, sv->f_namemax,
	};

	return (int64_t)v[i];
}

static int run_expect_statvfs(struct scn_runner *r, const struct scn_op *op)
{
	struct statvfs sv;
	int ret = mml_statvfs(scn_task_of(r, op->task), op->name, &sv);
	int64_t v;

	if (op->arg < 0)
		return scn_check_result(r, ret);
	if (ret < 0)
		return scn_fail(r, "expected statvfs \"%s\" %s %s %lld, got %s", op->name,
				statvfs_fields[op->arg], scn_cmp_name(op->cmp), (long long)op->value,
				scn_errno_name(-ret));
	v = statvfs_field(op->arg, &sv);
	if (scn_cmp_holds(v, op->cmp, op->value))
		return SCN_PASS;
	return scn_fail(r, "expected statvfs \"%s\" %s %s %lld, got %lld", op->name,
			statvfs_fields[op->arg], scn_cmp_name(op->cmp), (long long)op->value,
			(long long)v);
}

/*
 * Block and inode counts are each file system's own: two kernels agree
 * when the comparison holds on both, the values shown beside it.
 */
static void obs_expect_statvfs(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	struct cf_fcall c = fcall_of(w);
	struct statvfs sv;
	int64_t r = w->b->fcall(w->b, cf_task_of(w, op->task), &c, &sv), v;
	bool holds;

	if (cf_refused(w, r, false))
		return;
	if (op->arg < 0 || r < 0)
		return cf_note(w, CF_SEEN, op->arg < 0 && scn_result_ok(&op->expect, r < 0 ? (int)-r : 0),
			       NULL, "statvfs: %s", cf_errname(r));
	v = statvfs_field(op->arg, &sv);
	holds = scn_cmp_holds(v, op->cmp, op->value);
	cf_note(w, CF_SEEN, holds, holds ? "holds" : "fails", "%s = %lld", statvfs_fields[op->arg],
		(long long)v);
}

static void pr_expect_statvfs(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "expect statvfs");
	scn_print_sym(pr, op->task);
	scn_print_string(pr, op->name, strlen(op->name));
	if (op->arg >= 0)
		fprintf(pr->f, " %s %s %lld", statvfs_fields[op->arg], scn_cmp_name(op->cmp),
			(long long)op->value);
}

/* ---- expect seals ---- */

/* expect seals A FD ==|!= SEALS | expect seals A FD => ERRNO (F_GET_SEALS) */
static int ex_seals(struct scn_parser *p, struct scn_op *op)
{
	long seals;

	if (scn_parse_task(p, &op->task) < 0 || scn_parse_fd(p, op) < 0)
		return -1;
	if (scn_tok_is(scn_peek(p), "=>")) {
		op->arg = 1;	/* the result form */
		return scn_parse_result(p, op, true);
	}
	if (scn_parse_cmp(p, &op->cmp) < 0)
		return -1;
	if (op->cmp != SCN_EQ && op->cmp != SCN_NE)
		return scn_perr(p, p->lx.tok[p->i - 1].col, "seals compare with == or != only");
	if (parse_flags(p, SCN_SEALS, "seals (none, or seal, shrink, grow, write, future-write)",
			&seals) < 0)
		return -1;
	op->value = seals;
	return scn_end_of_line(p);
}

static int run_expect_seals(struct scn_runner *r, const struct scn_op *op)
{
	int ret = mml_fcntl(scn_task_of(r, op->task), scn_fd_of(r, op), F_GET_SEALS, 0);
	char want[96], got[96], w[96];

	if (op->arg)
		return scn_check_result(r, ret);
	scn_flags_name(SCN_SEALS, (long)op->value, want, sizeof(want));
	if (ret < 0)
		return scn_fail(r, "expected seals %s %s %s, got %s", fd_where(r, op, w, sizeof(w)),
				scn_cmp_name(op->cmp), want, scn_errno_name(-ret));
	if ((ret == op->value) == (op->cmp == SCN_EQ))
		return SCN_PASS;
	return scn_fail(r, "expected seals %s %s %s, got %s", fd_where(r, op, w, sizeof(w)),
			scn_cmp_name(op->cmp), want, scn_flags_name(SCN_SEALS, ret, got, sizeof(got)));
}

static void obs_expect_seals(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	struct cf_fcall c = fcall_of(w);
	int64_t r = w->b->fcall(w->b, cf_task_of(w, op->task), &c, NULL);
	char got[96];

	if (cf_refused(w, r, false))
		return;
	if (op->arg || r < 0)
		return cf_note(w, CF_SEEN, op->arg && scn_result_ok(&op->expect, r < 0 ? (int)-r : 0),
			       NULL, "%s", cf_errname(r));
	cf_note(w, CF_SEEN, (r == op->value) == (op->cmp == SCN_EQ), NULL, "seals %s",
		scn_flags_name(SCN_SEALS, (long)r, got, sizeof(got)));
}

static void pr_expect_seals(const struct scn_printer *pr, const struct scn_op *op)
{
	char seals[96];

	fprintf(pr->f, "expect seals");
	scn_print_sym(pr, op->task);
	scn_print_fd(pr, op);
	if (!op->arg)
		fprintf(pr->f, " %s %s", scn_cmp_name(op->cmp),
			scn_flags_name(SCN_SEALS, (long)op->value, seals, sizeof(seals)));
}

const struct scn_cmd scn_file_cmds[] = {
	{ "open", "TASK PATH OFLAGS [ MODE ]", SCN_OP_OPEN, SCN_CMD_NAMES,
	  st_open, run_new_fd, obs_new_fd, pr_new_fd },
	{ "memfd", "TASK STRING [ MFDFLAGS ]", SCN_OP_MEMFD, SCN_CMD_NAMES,
	  st_memfd, run_new_fd, obs_new_fd, pr_new_fd },
	{ "dup", "TASK FD", SCN_OP_DUP, SCN_CMD_NAMES,
	  st_dup, run_new_fd, obs_new_fd, pr_new_fd },
	{ "close", "TASK FD", SCN_OP_CLOSE, 0,
	  st_fd_call, run_fd_call, obs_fd_call, pr_fd_call },
	{ "unlink", "TASK PATH", SCN_OP_UNLINK, 0,
	  st_fd_call, run_fd_call, obs_fd_call, pr_fd_call },
	{ "ftruncate", "TASK FD LEN", SCN_OP_FTRUNCATE, 0,
	  st_fd_call, run_fd_call, obs_fd_call, pr_fd_call },
	{ "fallocate", "TASK FD FALLOC OFF LEN", SCN_OP_FALLOCATE, 0,
	  st_fd_call, run_fd_call, obs_fd_call, pr_fd_call },
	{ "fsync", "TASK FD", SCN_OP_FSYNC, 0,
	  st_fd_call, run_fd_call, obs_fd_call, pr_fd_call },
	{ "msync", "TASK ADDR LEN MSFLAGS", SCN_OP_MSYNC, 0,
	  st_msync, run_msync, obs_fd_call, pr_msync },
	{ "seal", "TASK FD SEALS", SCN_OP_SEAL, 0,
	  st_fd_call, run_fd_call, obs_fd_call, pr_fd_call },
	{ "drop-caches", "N", SCN_OP_DROP_CACHES, 0,
	  st_drop_caches, run_drop_caches, obs_fd_call, pr_drop_caches },
	{ "pread", "TASK FD OFF LEN [ \"expect\" PATTERNS ]", SCN_OP_PREAD, 0,
	  st_prw, run_prw, obs_prw, pr_prw },
	{ "pwrite", "TASK FD OFF LEN PATTERN", SCN_OP_PWRITE, 0,
	  st_prw, run_prw, obs_prw, pr_prw },
	{ "ficlone", "TASK FD FD", SCN_OP_FICLONE, 0,
	  st_ficlone, run_ficlone, obs_fd_call, pr_ficlone },
	{ "expect mincore", "TASK ADDR LEN ( BITS | result )", SCN_OP_EXPECT_MINCORE, 0,
	  ex_mincore, run_expect_mincore, obs_expect_mincore, pr_expect_mincore },
	{ "expect fstat", "TASK FD FIELD CMP VALUE", SCN_OP_EXPECT_FSTAT, 0,
	  ex_fstat, run_expect_fstat, obs_expect_fstat, pr_expect_fstat },
	{ "expect seals", "TASK FD ( ( \"==\" | \"!=\" ) SEALS | result )", SCN_OP_EXPECT_SEALS, 0,
	  ex_seals, run_expect_seals, obs_expect_seals, pr_expect_seals },
	{ "expect statvfs", "TASK PATH ( FIELD CMP VALUE | result )", SCN_OP_EXPECT_STATVFS, 0,
	  ex_statvfs, run_expect_statvfs, obs_expect_statvfs, pr_expect_statvfs },
	{ NULL }
};
