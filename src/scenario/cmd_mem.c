/*
 * cmd_mem.c - the memory syscalls and the CPU's loads and stores:
 * mmap, mremap, munmap, mprotect, madvise, write, read.
 *
 * Each takes the task that makes the call, then the syscall's arguments
 * in the syscall's order, with the host's <sys/mman.h> values
 * (docs/scenario.md, "Memory syscalls" and "Loads and stores").
 */
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "native/observe.h"
#include "scenario/command.h"

/* ---- the host's constants ---- */

static int parse_prot(struct scn_parser *p, long *out)
{
	struct scn_tok *t = scn_need_word(p, "protection (none, r, rw, rwx, ...)");
	uint64_t v;

	if (!t)
		return -1;
	if (t->s[0] >= '0' && t->s[0] <= '9') {
		if (scn_parse_u64(p, t, false, &v) < 0)
			return -1;
		if (v > 0xffffffff)
			return scn_perr(p, t->col, "protection out of range");
		*out = (long)v;
		return 0;
	}
	if (scn_prot_parse(t->s, t->n, out) < 0)
		return scn_perr(p, t->col, "unknown protection " TOKF
				" (none, or letters r w x; then ,mte for tagged memory)", TOKA(t));
	return 0;
}

/* private,anonymous or MAP_PRIVATE|MAP_ANONYMOUS, or a number. */
static int parse_mflags(struct scn_parser *p, long *out)
{
	return scn_parse_flag_word(p, "mmap flags (private,anonymous,...)", "mmap", "", scn_mmap_flag, out);
}

static int parse_advice(struct scn_parser *p, long *out)
{
	struct scn_tok *t = scn_need_word(p, "advice (dontneed, dontfork, ...)");

	if (!t)
		return -1;
	if (t->s[0] >= '0' && t->s[0] <= '9') {
		uint64_t v;

		if (scn_parse_u64(p, t, false, &v) < 0)
			return -1;
		if (v > 0xffffffff)
			return scn_perr(p, t->col, "advice out of range");
		*out = (long)v;
		return 0;
	}
	if (scn_advice(t->s, t->n, out) < 0)
		return scn_perr(p, t->col, "unknown madvise advice " TOKF, TOKA(t));
	return 0;
}

/* ---- mmap ---- */

/* [p =] mmap A ADDR LEN PROT FLAGS [FD [OFF]] [=> ...] */
static int st_mmap(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	if (scn_parse_task(p, &op->task) < 0 || scn_parse_addr(p, &op->addr) < 0 ||
	    scn_parse_len(p, "length", &op->len) < 0 || parse_prot(p, &op->arg) < 0 ||
	    parse_mflags(p, &op->flags) < 0)
		return -1;
	t = scn_peek(p);
	if (t && !scn_tok_is(t, "=>")) {
		if (scn_parse_fd(p, op) < 0)
			return -1;
		t = scn_peek(p);
		if (t && !scn_tok_is(t, "=>") && scn_parse_off(p, &op->off) < 0)
			return -1;
	}
	if (!p->name)
		return scn_parse_result(p, op, true);
	if (scn_parse_result_defining(p, op) < 0)
		return -1;
	return scn_sym_def(p, p->name, SCN_SYM_ADDR, &op->def);
}

static int run_mmap(struct scn_runner *r, const struct scn_op *op)
{
	long ret = mml_mmap(scn_task_of(r, op->task), scn_addr_of(r, &op->addr), op->len,
			    (int)op->arg, (int)op->flags, scn_fd_of(r, op), op->off);

	/* an address is never in the errno range: 47-bit user space */
	if (ret < 0 && ret >= -4095)
		return scn_check_result(r, ret);
	if (scn_check_result(r, 0))
		return SCN_FAIL;
	if (op->def >= 0)
		r->vals[op->def].v = (uint64_t)ret;
	return SCN_PASS;
}

static void obs_mmap(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	int64_t r = w->b->mmap(w->b, cf_task_of(w, op->task), cf_addr_of(w, &op->addr),
			       op->len, op->arg, op->flags, cf_fd_of(w, op), op->off);

	/* the address itself is not an observation: hosts place maps apart */
	cf_note_defined(w, r, true, -1, (uint64_t)r);
}

static void pr_mmap(const struct scn_printer *pr, const struct scn_op *op)
{
	char prot[32], flags[160];

	fprintf(pr->f, "mmap");
	scn_print_sym(pr, op->task);
	scn_print_addr(pr, &op->addr);
	fprintf(pr->f, " %llu %s %s", (unsigned long long)op->len,
		scn_prot_name(op->arg, prot, sizeof(prot)),
		scn_mmap_flags_name(op->flags, flags, sizeof(flags)));
	if (op->fdsym >= 0 || op->fd != -1 || op->off)
		scn_print_fd(pr, op);
	if (op->off)
		fprintf(pr->f, " %lld", (long long)op->off);
}

/* ---- mremap ---- */

static int mremap_flag(const char *s, size_t n, long *out)
{
	return scn_flag(SCN_MREMAP_FLAGS, s, n, out);
}

/* maymove,fixed or MREMAP_MAYMOVE|MREMAP_FIXED, 0, or a number among names */
static int parse_mremap_flags(struct scn_parser *p, long *out)
{
	return scn_parse_flag_word(p, "mremap flags (maymove, fixed, dontunmap, or 0)", "mremap",
			       " (maymove, fixed, dontunmap, or 0)", mremap_flag, out);
}

/* [p =] mremap A ADDR OLDLEN NEWLEN [FLAGS [NEWADDR]] [=> ...] */
static int st_mremap(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	if (scn_parse_task(p, &op->task) < 0 || scn_parse_addr(p, &op->addr) < 0 ||
	    scn_parse_len(p, "old length", &op->len) < 0 ||
	    scn_parse_len(p, "new length", &op->len2) < 0)
		return -1;
	t = scn_peek(p);
	if (t && !scn_tok_is(t, "=>")) {
		if (parse_mremap_flags(p, &op->flags) < 0)
			return -1;
		t = scn_peek(p);
		if (t && !scn_tok_is(t, "=>") && scn_parse_addr(p, &op->addr2) < 0)
			return -1;
	}
	if (!p->name)
		return scn_parse_result(p, op, true);
	if (scn_parse_result_defining(p, op) < 0)
		return -1;
	return scn_sym_def(p, p->name, SCN_SYM_ADDR, &op->def);
}

static int run_mremap(struct scn_runner *r, const struct scn_op *op)
{
	long ret = mml_mremap(scn_task_of(r, op->task), scn_addr_of(r, &op->addr), op->len,
			      op->len2, (int)op->flags, scn_addr_of(r, &op->addr2));

	/* as mmap's: an address is never in the errno range */
	if (ret < 0 && ret >= -4095)
		return scn_check_result(r, ret);
	if (scn_check_result(r, 0))
		return SCN_FAIL;
	if (op->def >= 0)
		r->vals[op->def].v = (uint64_t)ret;
	return SCN_PASS;
}

/*
 * As mmap's: the result and nothing of the address, which the kernel
 * chooses unless MREMAP_FIXED; the name stands for it on each side, and
 * `expect addr q == p` states what is the same on both (in place or not).
 */
static void obs_mremap(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	int64_t r = w->b->mremap(w->b, cf_task_of(w, op->task), cf_addr_of(w, &op->addr),
				 op->len, op->len2, op->flags, cf_addr_of(w, &op->addr2));

	cf_note_defined(w, r, true, -1, (uint64_t)r);
}

static void pr_mremap(const struct scn_printer *pr, const struct scn_op *op)
{
	char flags[64];
	bool newaddr = op->addr2.sym >= 0 || op->addr2.off;

	fprintf(pr->f, "mremap");
	scn_print_sym(pr, op->task);
	scn_print_addr(pr, &op->addr);
	fprintf(pr->f, " %llu %llu", (unsigned long long)op->len, (unsigned long long)op->len2);
	if (op->flags || newaddr)
		fprintf(pr->f, " %s", scn_flags_name(SCN_MREMAP_FLAGS, op->flags, flags,
						     sizeof(flags)));
	if (newaddr)
		scn_print_addr(pr, &op->addr2);
}

/* ---- munmap, mprotect, madvise ---- */

/* munmap A ADDR LEN | mprotect A ADDR LEN PROT | madvise A ADDR LEN ADVICE */
static int st_range(struct scn_parser *p, struct scn_op *op)
{
	if (scn_parse_task(p, &op->task) < 0 || scn_parse_addr(p, &op->addr) < 0 ||
	    scn_parse_len(p, "length", &op->len) < 0)
		return -1;
	if (op->kind == SCN_OP_MPROTECT && parse_prot(p, &op->arg) < 0)
		return -1;
	if (op->kind == SCN_OP_MADVISE && parse_advice(p, &op->arg) < 0)
		return -1;
	return scn_parse_result(p, op, true);
}

static int run_range(struct scn_runner *r, const struct scn_op *op)
{
	struct mml_task *t = scn_task_of(r, op->task);
	uint64_t a = scn_addr_of(r, &op->addr);
	int ret;

	switch (op->kind) {
	case SCN_OP_MUNMAP:
		ret = mml_munmap(t, a, op->len);
		break;
	case SCN_OP_MPROTECT:
		ret = mml_mprotect(t, a, op->len, (int)op->arg);
		break;
	default:
		ret = mml_madvise(t, a, op->len, (int)op->arg);
		break;
	}
	return scn_check_result(r, ret);
}

static void obs_range(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	int r = w->b->range(w->b, op->kind, cf_task_of(w, op->task),
			    cf_addr_of(w, &op->addr), op->len, op->arg);

	if (!cf_refused(w, r, true))
		cf_note_result(w, r);
}

static void pr_range(const struct scn_printer *pr, const struct scn_op *op)
{
	char arg[32];

	fprintf(pr->f, "%s", scn_cmd_name(op));
	scn_print_sym(pr, op->task);
	scn_print_addr(pr, &op->addr);
	fprintf(pr->f, " %llu", (unsigned long long)op->len);
	if (op->kind == SCN_OP_MPROTECT)
		fprintf(pr->f, " %s", scn_prot_name(op->arg, arg, sizeof(arg)));
	if (op->kind == SCN_OP_MADVISE)
		fprintf(pr->f, " %s", scn_advice_name(op->arg, arg, sizeof(arg)));
}

/* ---- process_madvise ---- */

/*
 * process_madvise A B ADDR LEN [and ADDR LEN]... ADVICE [flags N]: A
 * advises B's ranges (B may be A) in one call; the result is the bytes
 * advised ("ok": all of them, or a count) or an error.
 */
static int st_process_madvise(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	if (scn_parse_task(p, &op->task) < 0 || scn_parse_task(p, &op->task2) < 0 ||
	    scn_parse_addr(p, &op->addr) < 0 || scn_parse_len(p, "length", &op->len) < 0)
		return -1;
	while (scn_tok_is(scn_peek(p), "and")) {
		t = scn_peek(p);
		if (op->niov == SCN_MAX_IOV - 1)
			return scn_perr(p, t->col, "at most %d ranges", SCN_MAX_IOV);
		p->i++;
		if (scn_parse_addr(p, &op->iov_addr[op->niov]) < 0 ||
		    scn_parse_len(p, "length", &op->iov_len[op->niov]) < 0)
			return -1;
		op->niov++;
	}
	if (parse_advice(p, &op->arg) < 0)
		return -1;
	if (scn_tok_is(scn_peek(p), "flags")) {
		uint64_t v;

		p->i++;
		t = scn_need_word(p, "process_madvise flags (a number)");
		if (!t || scn_parse_u64(p, t, false, &v) < 0)
			return -1;
		if (v > 0xffffffff)
			return scn_perr(p, t->col, "flags out of range");
		op->flags = (long)v;
	}
	return scn_parse_result(p, op, true);
}

static int run_process_madvise(struct scn_runner *r, const struct scn_op *op)
{
	struct iovec iov[SCN_MAX_IOV];
	uint64_t total = op->len;
	char exp[64];
	long ret;

	iov[0] = (struct iovec){ (void *)(uintptr_t)scn_addr_of(r, &op->addr), op->len };
	for (int i = 0; i < op->niov; i++) {
		iov[i + 1] = (struct iovec){ (void *)(uintptr_t)scn_addr_of(r, &op->iov_addr[i]), op->iov_len[i] };
		total += op->iov_len[i];
	}
	ret = mml_process_madvise(scn_task_of(r, op->task), scn_task_of(r, op->task2), iov,
				  (unsigned long)op->niov + 1, (int)op->arg, (unsigned)op->flags);
	if (scn_count_ok(&op->expect, total, ret))
		return SCN_PASS;
	if (op->expect.ncount)
		snprintf(exp, sizeof(exp), "%llu bytes", (unsigned long long)op->expect.count[0]);
	else
		snprintf(exp, sizeof(exp), "%s", op->expect.nerr ? scn_errno_name(op->expect.err[0]) : "ok");
	if (ret < 0)
		return scn_fail(r, "process_madvise: expected %s, got %s", exp, scn_errno_name((int)-ret));
	return scn_fail(r, "process_madvise: expected %s, got %ld bytes of %llu", exp, ret,
			(unsigned long long)total);
}

static void obs_process_madvise(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	long r;

	if (op->niov || op->flags)
		return cf_note(w, CF_SKIPPED, false, NULL, "the runners pass one range and no flags");
	r = w->b->process_madvise(w->b, cf_task_of(w, op->task), cf_task_of(w, op->task2),
				  cf_addr_of(w, &op->addr), op->len, op->arg);

	if (!cf_refused(w, (int)r, true))
		cf_note_result(w, r > 0 ? 0 : (int)r);
}

static void pr_process_madvise(const struct scn_printer *pr, const struct scn_op *op)
{
	char arg[32];

	fprintf(pr->f, "process_madvise");
	scn_print_sym(pr, op->task);
	scn_print_sym(pr, op->task2);
	scn_print_addr(pr, &op->addr);
	fprintf(pr->f, " %llu", (unsigned long long)op->len);
	for (int i = 0; i < op->niov; i++) {
		fprintf(pr->f, " and");
		scn_print_addr(pr, &op->iov_addr[i]);
		fprintf(pr->f, " %llu", (unsigned long long)op->iov_len[i]);
	}
	fprintf(pr->f, " %s", scn_advice_name(op->arg, arg, sizeof(arg)));
	if (op->flags)
		fprintf(pr->f, " flags %ld", op->flags);
}

/* ---- write ---- */

/* write A ADDR "string" | write A ADDR LEN PATTERN */
static int st_write(struct scn_parser *p, struct scn_op *op)
{
	if (scn_parse_task(p, &op->task) < 0 || scn_parse_addr(p, &op->addr) < 0)
		return -1;
	return scn_parse_access(p, op, true);
}

static int run_write(struct scn_runner *r, const struct scn_op *op)
{
	int ret;
	unsigned char *buf = scn_io_buffer(r, op, true, &ret);

	if (!buf)
		return ret;
	ret = mml_write(scn_task_of(r, op->task), scn_addr_of(r, &op->addr), buf, op->len);
	free(buf);
	return scn_check_result(r, ret);
}

static void obs_write(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	int r = w->b->write(w->b, cf_task_of(w, op->task), cf_addr_of(w, &op->addr),
			    op->len, &op->pat);

	if (!cf_refused(w, r, true))
		cf_note_result(w, r);
}

static void pr_write(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "write");
	scn_print_sym(pr, op->task);
	scn_print_addr(pr, &op->addr);
	fprintf(pr->f, " %llu", (unsigned long long)op->len);
	scn_print_pattern(pr, &op->pat);
}

/* ---- read ---- */

/* read A ADDR LEN [expect PATTERN] */
static int st_read(struct scn_parser *p, struct scn_op *op)
{
	if (scn_parse_task(p, &op->task) < 0 || scn_parse_addr(p, &op->addr) < 0)
		return -1;
	return scn_parse_access(p, op, false);
}

/* "A p+0x1000 (0x7f0000001000)" */
static const char *read_place(struct scn_runner *r, const struct scn_op *op, uint64_t off,
			      bool byte, char *buf, size_t n)
{
	return scn_where(r, op->task, &op->addr, off, buf, n);
}

static int run_read(struct scn_runner *r, const struct scn_op *op)
{
	int ret;
	unsigned char *buf = scn_io_buffer(r, op, false, &ret);

	if (!buf)
		return ret;
	ret = mml_read(scn_task_of(r, op->task), scn_addr_of(r, &op->addr), buf, op->len);
	ret = scn_check_load(r, op, ret, buf, read_place);
	free(buf);
	return ret;
}

static void obs_read(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	unsigned char *buf = cf_load_buffer(w);
	int r;

	if (!buf)
		return;
	r = w->b->read(w->b, cf_task_of(w, op->task), cf_addr_of(w, &op->addr), op->len, buf);
	/* a load faults pages in: skipping one leaves the state behind */
	if (!cf_refused(w, r, true))
		cf_note_bytes(w, r, buf);
	free(buf);
}

static void pr_read(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "read");
	scn_print_sym(pr, op->task);
	scn_print_addr(pr, &op->addr);
	fprintf(pr->f, " %llu", (unsigned long long)op->len);
	scn_print_patterns(pr, op);
}

const struct scn_cmd scn_mem_cmds[] = {
	{ "mmap", "TASK ADDR LEN PROT FLAGS [ FD [ OFF ] ]", SCN_OP_MMAP, SCN_CMD_NAMES,
	  st_mmap, run_mmap, obs_mmap, pr_mmap },
	{ "mremap", "TASK ADDR OLDLEN NEWLEN [ MREMAPFLAGS [ NEWADDR ] ]", SCN_OP_MREMAP,
	  SCN_CMD_NAMES, st_mremap, run_mremap, obs_mremap, pr_mremap },
	{ "munmap", "TASK ADDR LEN", SCN_OP_MUNMAP, 0,
	  st_range, run_range, obs_range, pr_range },
	{ "mprotect", "TASK ADDR LEN PROT", SCN_OP_MPROTECT, 0,
	  st_range, run_range, obs_range, pr_range },
	{ "process_madvise", "TASK TASK ADDR LEN { \"and\" ADDR LEN } ADVICE [ \"flags\" N ] [ result ]",
	  SCN_OP_PROCESS_MADVISE, 0,
	  st_process_madvise, run_process_madvise, obs_process_madvise, pr_process_madvise },
	{ "madvise", "TASK ADDR LEN ADVICE", SCN_OP_MADVISE, 0,
	  st_range, run_range, obs_range, pr_range },
	{ "write", "TASK ADDR LEN PATTERN", SCN_OP_WRITE, 0,
	  st_write, run_write, obs_write, pr_write },
	{ "read", "TASK ADDR LEN [ \"expect\" PATTERNS ]", SCN_OP_READ, 0,
	  st_read, run_read, obs_read, pr_read },
	{ NULL }
};
