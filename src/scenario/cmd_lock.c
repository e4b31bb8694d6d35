/*
 * cmd_lock.c - the statements of memory locking: mlock, mlock2, munlock,
 * mlockall, munlockall, and setrlimit of RLIMIT_MEMLOCK, the limit they
 * count against.
 */
#include <stdint.h>
#include <sys/resource.h>

#include "native/observe.h"
#include "scenario/command.h"

static int mlock_flag(const char *s, size_t n, long *out)
{
	return scn_flag(SCN_MLOCK_FLAGS, s, n, out);
}

static int mcl_flag(const char *s, size_t n, long *out)
{
	return scn_flag(SCN_MCL_FLAGS, s, n, out);
}

/* mlock A ADDR LEN | munlock A ADDR LEN | mlock2 A ADDR LEN FLAGS */
static int st_lock_range(struct scn_parser *p, struct scn_op *op)
{
	if (scn_parse_task(p, &op->task) < 0 || scn_parse_addr(p, &op->addr) < 0 ||
	    scn_parse_len(p, "length", &op->len) < 0)
		return -1;
	if (op->kind == SCN_OP_MLOCK2 &&
	    scn_parse_flag_word(p, "mlock2 flags (onfault, or 0)", "mlock2", " (onfault, or 0)", mlock_flag,
				&op->flags) < 0)
		return -1;
	return scn_parse_result(p, op, true);
}

/* mlockall A FLAGS (current,future,onfault, or a number) | munlockall A */
static int st_lockall(struct scn_parser *p, struct scn_op *op)
{
	if (scn_parse_task(p, &op->task) < 0)
		return -1;
	if (op->kind == SCN_OP_MLOCKALL &&
	    scn_parse_flag_word(p, "mlockall flags (current, future, onfault, or 0)", "mlockall",
				" (current, future, onfault, or 0)", mcl_flag, &op->flags) < 0)
		return -1;
	return scn_parse_result(p, op, true);
}

/* setrlimit A memlock BYTES|unlimited: the soft and the hard limit */
static int st_setrlimit(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	if (scn_parse_task(p, &op->task) < 0)
		return -1;
	t = scn_need_word(p, "a resource (memlock)");
	if (!t)
		return -1;
	if (!scn_tok_is(t, "memlock"))
		return scn_perr(p, t->col, "setrlimit knows only memlock (RLIMIT_MEMLOCK)");
	t = scn_need_word(p, "a limit in bytes (suffixes K M G), or unlimited");
	if (!t)
		return -1;
	if (scn_tok_is(t, "unlimited"))
		op->len = UINT64_MAX;
	else if (scn_parse_u64(p, t, true, &op->len) < 0)
		return -1;
	return scn_parse_result(p, op, true);
}

static int run_lock(struct scn_runner *r, const struct scn_op *op)
{
	struct mml_task *t = scn_task_of(r, op->task);
	uint64_t a = op->kind <= SCN_OP_MUNLOCK ? scn_addr_of(r, &op->addr) : 0;
	struct rlimit rl;
	int ret;

	switch (op->kind) {
	case SCN_OP_MLOCK:
		ret = mml_mlock(t, a, op->len);
		break;
	case SCN_OP_MLOCK2:
		ret = mml_mlock2(t, a, op->len, (unsigned)op->flags);
		break;
	case SCN_OP_MUNLOCK:
		ret = mml_munlock(t, a, op->len);
		break;
	case SCN_OP_MLOCKALL:
		ret = mml_mlockall(t, (int)op->flags);
		break;
	case SCN_OP_MUNLOCKALL:
		ret = mml_munlockall(t);
		break;
	default:
		rl.rlim_cur = rl.rlim_max = op->len == UINT64_MAX ? RLIM_INFINITY : (rlim_t)op->len;
		ret = mml_setrlimit(t, RLIMIT_MEMLOCK, &rl);
		break;
	}
	return scn_check_result(r, ret);
}

static void obs_lock(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	uint64_t a = op->kind <= SCN_OP_MUNLOCK ? cf_addr_of(w, &op->addr) : 0;
	int r = w->b->lock(w->b, cf_task_of(w, op->task), op->kind, a, op->len, op->flags);

	if (!cf_refused(w, r, true))
		cf_note_result(w, r);
}

static void pr_lock(const struct scn_printer *pr, const struct scn_op *op)
{
	char flags[64];

	fprintf(pr->f, "%s", scn_cmd_name(op));
	scn_print_sym(pr, op->task);
	switch (op->kind) {
	case SCN_OP_MLOCK:
	case SCN_OP_MLOCK2:
	case SCN_OP_MUNLOCK:
		scn_print_addr(pr, &op->addr);
		fprintf(pr->f, " %llu", (unsigned long long)op->len);
		if (op->kind == SCN_OP_MLOCK2)
			fprintf(pr->f, " %s", scn_flags_name(SCN_MLOCK_FLAGS, op->flags, flags, sizeof(flags)));
		break;
	case SCN_OP_MLOCKALL:
		fprintf(pr->f, " %s", scn_flags_name(SCN_MCL_FLAGS, op->flags, flags, sizeof(flags)));
		break;
	case SCN_OP_SETRLIMIT:
		if (op->len == UINT64_MAX)
			fprintf(pr->f, " memlock unlimited");
		else
			fprintf(pr->f, " memlock %llu", (unsigned long long)op->len);
		break;
	default:
		break;
	}
}

const struct scn_cmd scn_lock_cmds[] = {
	{ "mlock", "TASK ADDR LEN [ result ]", SCN_OP_MLOCK, 0,
	  st_lock_range, run_lock, obs_lock, pr_lock },
	{ "mlock2", "TASK ADDR LEN MLOCKFLAGS [ result ]", SCN_OP_MLOCK2, 0,
	  st_lock_range, run_lock, obs_lock, pr_lock },
	{ "munlock", "TASK ADDR LEN [ result ]", SCN_OP_MUNLOCK, 0,
	  st_lock_range, run_lock, obs_lock, pr_lock },
	{ "mlockall", "TASK MCLFLAGS [ result ]", SCN_OP_MLOCKALL, 0,
	  st_lockall, run_lock, obs_lock, pr_lock },
	{ "munlockall", "TASK [ result ]", SCN_OP_MUNLOCKALL, 0,
	  st_lockall, run_lock, obs_lock, pr_lock },
	{ "setrlimit", "TASK \"memlock\" ( BYTES | \"unlimited\" ) [ result ]", SCN_OP_SETRLIMIT, 0,
	  st_setrlimit, run_lock, obs_lock, pr_lock },
	{ NULL }
};
