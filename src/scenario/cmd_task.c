/*
 * cmd_task.c - the machine and its tasks: machine, check, spawn,
 * thread, fork, exit, expect killed, expect alive.
 *
 * A task is one thread of a simulated process and one CPU; a scenario
 * names it, a back end knows it by a handle of its own.
 */
#include <errno.h>
#include <string.h>

#include "native/observe.h"
#include "scenario/command.h"

/* ---- machine ---- */

static int st_machine(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	if (p->seen_stmt)
		return scn_perr(p, p->kw->col, "'machine' must be the first statement");
	while ((t = scn_peek(p))) {
		uint64_t v;

		p->i++;
		if (scn_tok_is(t, "check") || scn_tok_is(t, "check-every-op")) {
			op->check = 1;
		} else if (scn_tok_is(t, "no-check")) {
			op->check = 0;
		} else if (scn_tok_is(t, "quiet")) {
			op->quiet = true;
		} else if (scn_tok_is(t, "kswapd")) {
			op->kswapd = true;
		} else if (scn_tok_is(t, "khugepaged")) {
			op->khugepaged = true;
		} else if (t->type == SCN_TOK_WORD && t->n > 4 && !memcmp(t->s, "ram=", 4)) {
			struct scn_tok u = *t;

			u.s += 4, u.n -= 4, u.col += 4;
			if (scn_parse_u64(p, &u, true, &v) < 0)
				return -1;
			if (v < MML_RAM_MIN || v > MML_RAM_MAX)
				return scn_perr(p, u.col, "ram must be 256K..64G");
			op->ram = v;
		} else if (t->type == SCN_TOK_WORD && t->n > 5 && !memcmp(t->s, "pmem=", 5)) {
			struct scn_tok u = *t;

			/* mml_machine_new's EINVAL, said where the size is */
			u.s += 5, u.n -= 5, u.col += 5;
			if (scn_parse_u64(p, &u, true, &v) < 0)
				return -1;
			if (!v || v % (2ULL << 20) || v > MML_PMEM_MAX)
				return scn_perr(p, u.col, "pmem must be a multiple of 2M, 2M..4G");
			op->pmem = v;
		} else if (t->type == SCN_TOK_WORD && t->n > 5 && !memcmp(t->s, "cpus=", 5)) {
			struct scn_tok u = *t;

			u.s += 5, u.n -= 5, u.col += 5;
			if (scn_parse_u64(p, &u, false, &v) < 0)
				return -1;
			if (v == 0 || v > 4096)
				return scn_perr(p, u.col, "cpus must be 1..4096");
			op->ncpus = (unsigned)v;
		} else if (t->type == SCN_TOK_WORD && t->n > 6 && !memcmp(t->s, "nodes=", 6)) {
			struct scn_tok u = *t;

			u.s += 6, u.n -= 6, u.col += 6;
			if (scn_parse_u64(p, &u, false, &v) < 0)
				return -1;
			if (v == 0 || v > 16)
				return scn_perr(p, u.col, "nodes must be 1..16");
			op->nr_nodes = (unsigned)v;
		} else if (t->type == SCN_TOK_WORD && t->n > 11 && !memcmp(t->s, "tmpfs-huge=", 11)) {
			static const char *const words[] = { "never", "always", "within_size", "advise" };
			size_t i;

			for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
				if (t->n - 11 == strlen(words[i]) && !memcmp(t->s + 11, words[i], t->n - 11))
					break;
			if (i == sizeof(words) / sizeof(words[0]))
				return scn_perr(p, t->col + 11, "tmpfs-huge is never, always, within_size or advise");
			op->tmpfs_huge = words[i];
		} else if (t->type == SCN_TOK_WORD && t->n > 5 && !memcmp(t->s, "seed=", 5)) {
			struct scn_tok u = *t;

			u.s += 5, u.n -= 5, u.col += 5;
			if (scn_parse_u64(p, &u, false, &op->seed) < 0)
				return -1;
		} else {
			return scn_perr(p, t->col, "unknown machine option; expected ram=SIZE, "
					"pmem=SIZE, cpus=N, nodes=N, seed=N, tmpfs-huge=WORD, check, no-check, quiet, "
					"kswapd or khugepaged");
		}
	}
	return 0;
}

/* The options are read before the first statement (run.c, machine_start). */
static int run_machine(struct scn_runner *r, const struct scn_op *op)
{
	return SCN_PASS;
}

/* The seed even when 0: a reproducer names the seed it ran with. */
static void pr_machine(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "machine");
	if (op->ram)
		fprintf(pr->f, " ram=%llu", (unsigned long long)op->ram);
	if (op->pmem)
		fprintf(pr->f, " pmem=%llu", (unsigned long long)op->pmem);
	if (op->ncpus)
		fprintf(pr->f, " cpus=%u", op->ncpus);
	if (op->nr_nodes > 1)
		fprintf(pr->f, " nodes=%u", op->nr_nodes);
	if (op->tmpfs_huge)
		fprintf(pr->f, " tmpfs-huge=%s", op->tmpfs_huge);
	fprintf(pr->f, " seed=%llu%s%s%s%s", (unsigned long long)op->seed,
		op->check == 1 ? " check" : op->check == 0 ? " no-check" : "",
		op->quiet ? " quiet" : "", op->kswapd ? " kswapd" : "", op->khugepaged ? " khugepaged" : "");
}

/* ---- check ---- */

static int st_check(struct scn_parser *p, struct scn_op *op)
{
	return scn_parse_result(p, op, true);
}

static int run_check(struct scn_runner *r, const struct scn_op *op)
{
	return scn_check_result(r, mml_check(r->m));
}

static void pr_check(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "check");
}

/* ---- spawn, thread, fork ---- */

/* spawn A | thread A -> A2 | fork A -> B */
static int st_task(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	if (op->kind != SCN_OP_SPAWN) {
		if (scn_parse_task(p, &op->task) < 0)
			return -1;
		t = scn_need(p, "'->'");
		if (!t)
			return -1;
		if (!scn_tok_is(t, "->"))
			return scn_perr(p, t->col, "expected '->' and the new task's name");
	}
	t = scn_need(p, "new task name");
	if (!t || scn_sym_def(p, t, SCN_SYM_TASK, &op->def) < 0)
		return -1;
	t = scn_peek(p);
	if (scn_parse_result(p, op, true) < 0)
		return -1;
	if (op->expect.any || op->expect.nerr > 1)
		return scn_perr(p, t->col, "a statement that defines a task must succeed or fail, not either");
	/* Failing (a parent the OOM killer chose: EINTR), it defines no task. */
	if (op->expect.nerr == 1 && op->expect.err[0])
		p->s->syms[op->def].kind = SCN_SYM_NONE;
	return 0;
}

static int run_task(struct scn_runner *r, const struct scn_op *op)
{
	struct mml_task *t = NULL;
	int ret;

	switch (op->kind) {
	case SCN_OP_SPAWN:
		ret = mml_spawn(r->m, &t);
		break;
	case SCN_OP_THREAD:
		ret = mml_thread_new(scn_task_of(r, op->task), &t);
		break;
	default:
		ret = mml_fork(scn_task_of(r, op->task), &t);
		break;
	}
	if (scn_check_result(r, ret))
		return SCN_FAIL;
	if (ret < 0)
		return SCN_PASS;	/* failed as expected: no task */
	r->vals[op->def].task = t;
	scn_live_add(r, t);
	return SCN_PASS;
}

static void obs_task(struct cf_walk *w)
{
	int child = -1;
	int r = w->b->task(w->b, w->op->kind,
			   w->op->kind == SCN_OP_SPAWN ? -1 : cf_task_of(w, w->op->task),
			   &child);

	cf_note_defined(w, r, true, child, 0);
}

static void pr_task(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "%s", scn_cmd_name(op));
	if (op->kind != SCN_OP_SPAWN) {
		scn_print_sym(pr, op->task);
		fprintf(pr->f, " ->");
	}
	scn_print_sym(pr, op->def);
}

/* ---- exit ---- */

static int st_exit(struct scn_parser *p, struct scn_op *op)
{
	if (scn_parse_task(p, &op->task) < 0 || scn_parse_result(p, op, true) < 0)
		return -1;
	/* only after the whole line parsed: "exit A => EINVAL" would not */
	p->s->syms[op->task].kind = SCN_SYM_NONE;
	return 0;
}

static int run_exit(struct scn_runner *r, const struct scn_op *op)
{
	struct mml_task *t = scn_task_of(r, op->task);
	int ret = mml_exit(t);

	/* the task is gone unless exit said otherwise */
	if (ret == 0) {
		scn_live_del(r, t);
		r->vals[op->task].task = NULL;
	}
	return scn_check_result(r, ret);
}

static void obs_exit(struct cf_walk *w)
{
	cf_note_result(w, w->b->exit(w->b, cf_task_of(w, w->op->task)));
}

static void pr_exit(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "exit");
	scn_print_sym(pr, op->task);
}

/* ---- expect killed, expect alive ---- */

/* expect killed A | expect alive A: whether the OOM killer chose A's process */
static int ex_killed(struct scn_parser *p, struct scn_op *op)
{
	op->value = scn_tok_is(p->kw, "killed");
	if (scn_parse_task(p, &op->task) < 0)
		return -1;
	return scn_end_of_line(p);
}

static int run_expect_killed(struct scn_runner *r, const struct scn_op *op)
{
	int sig = mml_task_killed(scn_task_of(r, op->task));

	if ((sig != 0) == (op->value != 0))
		return SCN_PASS;
	return scn_fail(r, "expected %s to be %s, it is %s", r->s->syms[op->task].name,
			op->value ? "killed" : "alive", sig ? "killed by the OOM killer" : "alive");
}

static void pr_expect_killed(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "expect %s", op->value ? "killed" : "alive");
	scn_print_sym(pr, op->task);
}

/* Which process the OOM killer chooses is each kernel's own: no observation. */
const struct scn_cmd scn_task_cmds[] = {
	{ "machine", "{ machine-opt }", SCN_OP_MACHINE, SCN_CMD_FIRST | SCN_CMD_SILENT,
	  st_machine, run_machine, NULL, pr_machine },
	{ "check", "", SCN_OP_CHECK, SCN_CMD_SILENT,
	  st_check, run_check, NULL, pr_check },
	{ "spawn", "NEWTASK", SCN_OP_SPAWN, 0,
	  st_task, run_task, obs_task, pr_task },
	{ "thread", "TASK \"->\" NEWTASK", SCN_OP_THREAD, 0,
	  st_task, run_task, obs_task, pr_task },
	{ "fork", "TASK \"->\" NEWTASK", SCN_OP_FORK, 0,
	  st_task, run_task, obs_task, pr_task },
	{ "exit", "TASK", SCN_OP_EXIT, 0,
	  st_exit, run_exit, obs_exit, pr_exit },
	{ "expect killed", "TASK", SCN_OP_EXPECT_KILLED, 0,
	  ex_killed, run_expect_killed, NULL, pr_expect_killed },
	{ "expect alive", "TASK", SCN_OP_EXPECT_KILLED, 0,
	  ex_killed, run_expect_killed, NULL, pr_expect_killed },
	{ NULL }
};
