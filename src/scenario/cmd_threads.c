/*
 * cmd_threads.c - threads blocks: statements of several tasks that may
 * interleave, run under the deterministic scheduler (mml_sched_run).
 *
 *	threads [random | pct [depth=D] [steps=K]]
 *	  A: fork A -> B
 *	  A2: x = pin A2 p 1 write,longterm,fast
 *	end
 *
 * Each task that labels a statement is a thread; it runs its statements
 * in order, one host thread each, and the scheduler (seeded from the
 * machine's seed, `mmlab run --seed N`) chooses at every scheduling
 * point of the core which thread goes on.  The same seed replays the
 * same interleaving: `show sched` prints the trace hash.  After "end",
 * statements run one at a time again.
 *
 * The file is parsed before anything runs, and so is the order of a
 * block's threads: what a statement of one thread changes (a name it
 * gives a value, a pin it unpins, a task it forks or exits) no other
 * thread of the block may use, and a task (one CPU) runs the statements
 * of one thread only; anything else is bad input.  Here are the labels,
 * those rules, the block's statements and its run.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "native/observe.h"
#include "scenario/command.h"

#define MAX_THREADS	64	/* mml_sched_run's */
#define MAX_YIELDS	10000000

/* ---- labels and who may use what (the parser's) ---- */

int scn_thread_label(struct scn_parser *p)
{
	struct scn_tok *t = &p->lx.tok[0];
	bool label = t->type == SCN_TOK_WORD && t->n > 1 && t->s[t->n - 1] == ':';
	/* "end" or "threads", the keyword, not a name being given a value */
	bool block_kw = (scn_tok_is(t, "end") || scn_tok_is(t, "threads")) &&
			!(p->lx.ntok > 1 && scn_tok_is(&p->lx.tok[1], "="));
	int sym;

	p->thread = -1;
	if (!label) {
		if (p->block >= 0 && !block_kw)
			return scn_perr(p, t->col, "a statement of a threads block starts with the task "
					"whose thread runs it: 'A: write A p 4k 1'");
		return 0;
	}
	if (p->block < 0)
		return scn_perr(p, t->col, TOKF " names a thread: only a statement of a threads block has one",
				TOKA(t));
	if (p->lx.ntok == 1)
		return scn_perr(p, p->lx.end_col, "missing statement after the thread");
	/* p->thread is still -1: the label's own claim follows, as its thread's */
	if (scn_sym_use(p, t, t->n - 1, SCN_SYM_TASK, &sym) < 0)
		return -1;
	if (p->s->syms[sym].blk_use != sym && ++p->nthreads > MAX_THREADS)
		return scn_perr(p, t->col, "a threads block runs at most %d threads", MAX_THREADS);
	p->thread = sym;
	p->thread_col = t->col;
	if (scn_block_claim(p, sym, t->col, false) < 0)
		return -1;
	/* the statement is what follows the label */
	memmove(&p->lx.tok[0], &p->lx.tok[1], (p->lx.ntok - 1) * sizeof(p->lx.tok[0]));
	p->lx.ntok--;
	return 0;
}

/*
 * Within a block, the scheduler decides which thread's statement comes
 * first; a name one thread changes would have a value another thread
 * cannot know, and a task used by two threads would be one CPU running
 * two of them at once.
 */
int scn_block_claim(struct scn_parser *p, int sym, unsigned col, bool def)
{
	struct scn_sym *y = &p->s->syms[sym];
	int th = p->thread, other;

	if (th < 0)
		return 0;
	if (y->blk_def >= 0 && y->blk_def != th)
		return scn_perr(p, col, "'%s' is changed by a statement of thread %s in this block: no other "
				"thread may use it here, the scheduler choosing which comes first", y->name,
				p->s->syms[y->blk_def].name);
	if (def) {
		other = y->blk_use >= 0 && y->blk_use != th ? y->blk_use :
			y->blk_other >= 0 && y->blk_other != th ? y->blk_other : -1;
		if (other >= 0)
			return scn_perr(p, col, "'%s' is used by thread %s in this block: no other thread may change "
					"it here, the scheduler choosing which comes first", y->name,
					p->s->syms[other].name);
		y->blk_def = th;
	}
	if (y->kind == SCN_SYM_TASK && y->blk_use >= 0 && y->blk_use != th)
		return scn_perr(p, col, "task '%s' runs thread %s's statements in this block, and thread %s cannot "
				"use it too: a task is one CPU", y->name, p->s->syms[y->blk_use].name, p->s->syms[th].name);
	if (y->blk_use < 0)
		y->blk_use = th;
	else if (y->blk_use != th)
		y->blk_other = th;
	return 0;
}

/* What the statement changed without defining it: an exit, an unpin, a swapoff, a close ... */
int scn_block_changed(struct scn_parser *p, const enum scn_sym_kind *old_kinds, int old_nsyms)
{
	for (int i = 0; i < old_nsyms; i++)
		if (p->s->syms[i].kind != old_kinds[i] && scn_block_claim(p, i, p->thread_col, true) < 0)
			return -1;
	return 0;
}

int scn_block_unclosed(struct scn_parser *p)
{
	if (p->block < 0)
		return 0;
	p->line = p->s->ops[p->block].line;
	return scn_perr(p, p->block_col, "this threads block has no 'end'");
}

/* ---- threads [random | pct [depth=D] [steps=K]] ---- */

/* "depth=3": the number after the key, or -1 after the message */
static int key_number(struct scn_parser *p, const struct scn_tok *t, const char *key, uint64_t min,
		      uint64_t max, uint64_t *v)
{
	size_t n = strlen(key);
	struct scn_tok u = *t;

	u.s += n, u.n -= n, u.col += n;
	if (scn_parse_u64(p, &u, false, v) < 0)
		return -1;
	if (*v < min || *v > max)
		return scn_perr(p, u.col, "%.*s is %llu..%llu", (int)n - 1, key, (unsigned long long)min,
				(unsigned long long)max);
	return 0;
}

static bool has_key(const struct scn_tok *t, const char *key)
{
	size_t n = strlen(key);

	return t->type == SCN_TOK_WORD && t->n > n && !memcmp(t->s, key, n);
}

static int st_threads(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;
	uint64_t v;

	if (p->block >= 0)
		return scn_perr(p, p->kw->col, "threads blocks do not nest: the block of line %u has no 'end' yet",
				p->s->ops[p->block].line);
	t = scn_peek(p);
	if (scn_tok_is(t, "random") || scn_tok_is(t, "pct") || scn_tok_is(t, "pct-pte")) {
		op->arg = scn_tok_is(t, "random") ? SCN_SCHED_RANDOM : scn_tok_is(t, "pct") ? SCN_SCHED_PCT :
			  SCN_SCHED_PCT_PTE;
		p->i++;
	}
	op->value = 3;	/* PCT's depth, as mmlab stress's */
	while (op->arg >= SCN_SCHED_PCT && (t = scn_peek(p))) {
		p->i++;
		if (has_key(t, "depth=")) {
			if (key_number(p, t, "depth=", 1, 16, &v) < 0)
				return -1;
			op->value = (int64_t)v;
		} else if (has_key(t, "steps=")) {
			if (key_number(p, t, "steps=", 1, 1000000000, &op->len) < 0)
				return -1;
		} else {
			return scn_perr(p, t->col, "expected depth=D or steps=K (PCT's)");
		}
	}
	if ((t = scn_peek(p)))
		return scn_perr(p, t->col, "expected random or pct [depth=D] [steps=K]");
	p->block = p->s->nops - 1;
	p->block_col = p->kw->col;
	p->nthreads = 0;
	for (int i = 0; i < p->s->nsyms; i++)
		p->s->syms[i].blk_def = p->s->syms[i].blk_use = p->s->syms[i].blk_other = -1;
	return 0;
}

struct block_thread {
	struct scn_runner r;		/* the file's, with this thread's own op */
	int task;			/* the symbol of the task that names it */
	const struct scn_op **ops;
	int nops;
	int status;
	/*
	 * A thread failed: the others stop before their next statement.  A
	 * plain flag: the scheduler runs one thread at a time and hands the
	 * CPU over under its own lock.
	 */
	bool *stop;
};

static void block_thread_fn(struct mml_task *t, void *arg)
{
	struct block_thread *bt = arg;

	for (int k = 0; k < bt->nops && !*bt->stop; k++) {
		const struct scn_op *op = bt->ops[k];

		bt->r.op = op;
		if (bt->r.verbose)
			fprintf(bt->r.out, "%s:%u: %s\n", bt->r.s->name, op->line, op->text);
		fflush(bt->r.out);
		bt->status = scn_cmd_of(op->kind)->run(&bt->r, op);
		fflush(bt->r.out);
		if (bt->status) {
			*bt->stop = true;
			break;
		}
	}
}

static const char *strategy_of(struct scn_runner *r, const struct scn_op *op, unsigned *depth)
{
	*depth = (unsigned)op->value;
	if (r->o && r->o->sched_strategy) {
		*depth = r->o->sched_depth;
		return r->o->sched_strategy;
	}
	return op->arg == SCN_SCHED_PCT ? "pct" : op->arg == SCN_SCHED_PCT_PTE ? "pct-pte" : "random";
}

void scn_threads_replay(struct scn_runner *r, const struct scn_op *op, const char *why)
{
	unsigned depth;
	const char *st = strategy_of(r, op, &depth);
	bool pct = !strncmp(st, "pct", 3);
	char how[64] = "", cli[512] = "";
	size_t o = 0;

	if (pct)
		snprintf(how, sizeof(how), " depth %u", depth);
	/* what the command line changed is not the file's: the replay names it */
	if (r->o && r->o->sched_strategy)
		o += snprintf(cli, sizeof(cli), " --strategy %s%s%.0u", st, pct ? " --depth " : "", pct ? depth : 0);
	for (int i = 0; r->o && i < r->o->nbugs && o < sizeof(cli); i++)
		o += snprintf(cli + o, sizeof(cli) - o, " --inject-bug %s", r->o->bugs[i]);
	fprintf(r->err, "%s:%u: %s: seed %llu, %s%s, %llu steps, trace hash %016llx; "
		"'mmlab run --seed %llu%s %s' replays it\n", r->s->name, op->line, why,
		(unsigned long long)r->seed, st, how, (unsigned long long)mml_sched_steps(r->m),
		(unsigned long long)mml_sched_trace_hash(r->m), (unsigned long long)r->seed, cli, r->s->name);
}

/*
 * Split the block by threads, in the order their tasks first label a
 * statement, and run them under the scheduler.  A deadlock leaves the
 * threads parked for good (mml_sched_run): then their states are left
 * too, and so is the machine.
 */
static int run_threads(struct scn_runner *r, const struct scn_op *op)
{
	const struct scn_script *s = r->s;
	int first = (int)(op - s->ops) + 1, end = op->block_end, n = 0, status = SCN_PASS, err, serving;
	struct mml_task *tasks[MAX_THREADS];
	mml_thread_fn fns[MAX_THREADS];
	void *args[MAX_THREADS];
	const struct scn_op **ops;
	struct block_thread *bt;
	const char *strategy;
	unsigned depth;
	bool *stop;

	if (r->limits->no_threads)
		return scn_bad(r, 1, "threads blocks are not run here (this run's limits)");
	serving = scn_uffd_serving(r);
	if (serving >= 0)
		return scn_bad(r, 1, "a threads block cannot start while the server of '%s' runs (uffd join it "
			       "first): the scheduler does not run its host thread", s->syms[serving].name);
	bt = calloc(MAX_THREADS, sizeof(*bt));
	ops = calloc(end - first, sizeof(*ops));
	stop = calloc(1, sizeof(*stop));
	if (!bt || !ops || !stop) {
		free(bt);
		free(ops);
		free(stop);
		return scn_fail(r, "threads: out of host memory");
	}
	for (int i = first; i < end; i++) {
		int k;

		for (k = 0; k < n && bt[k].task != s->ops[i].thread; k++)
			;
		if (k == n) {
			bt[n].task = s->ops[i].thread;
			bt[n].r = *r;
			bt[n].stop = stop;
			tasks[n] = scn_task_of(r, bt[n].task);
			fns[n] = block_thread_fn;
			args[n] = &bt[n];
			n++;
		}
		bt[k].nops++;
	}
	/* each thread's statements, in order, one slice of ops each */
	for (int k = 0, at = 0; k < n; k++) {
		bt[k].ops = ops + at;
		at += bt[k].nops;
		bt[k].nops = 0;
	}
	for (int i = first; i < end; i++) {
		int k;

		for (k = 0; bt[k].task != s->ops[i].thread; k++)
			;
		bt[k].ops[bt[k].nops++] = &s->ops[i];
	}
	strategy = strategy_of(r, op, &depth);
	if (mml_sched_set(r->m, strategy, depth) < 0) {
		status = scn_bad(r, 1, "threads: no strategy '%s' with depth %u", strategy, depth);
		goto out;
	}
	mml_sched_pct_steps(r->m, op->len);
	err = mml_sched_run(r->m, (unsigned)n, tasks, fns, args);
	r->blocks++;
	if (err == -EDEADLK) {
		r->parked = true;
		status = scn_fail(r, "threads: every thread that has not ended waits for another (a deadlock), "
				  "or the run did not end within its step limit");
		if (r->quiet)
			fputs(mml_sched_report(r->m), r->err);
	} else if (err < 0) {
		status = scn_fail(r, "threads: mml_sched_run: got %s", scn_errno_name(-err));
	}
	for (int k = 0; k < n && !r->parked; k++)
		if (bt[k].status > status)
			status = bt[k].status;
	/* a failure's note is run.c's: the reports the block made fail it there */
	if (!status && r->verbose)
		scn_threads_replay(r, op, "threads block");
out:
	if (r->parked)
		return status;	/* the parked threads keep their arguments for good */
	free(bt);
	free(ops);
	free(stop);
	return status;
}

/* The host runner drives one statement at a time: what follows the block is skipped there. */
static void obs_threads(struct cf_walk *w)
{
	cf_skip(w, true, "a threads block: the conformance runner runs one statement at a time, not "
		"threads whose statements interleave");
}

static void pr_threads(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "threads");
	if (op->arg == SCN_SCHED_RANDOM)
		fprintf(pr->f, " random");
	if (op->arg < SCN_SCHED_PCT)
		return;
	fprintf(pr->f, " %s depth=%lld", op->arg == SCN_SCHED_PCT ? "pct" : "pct-pte", (long long)op->value);
	if (op->len)
		fprintf(pr->f, " steps=%llu", (unsigned long long)op->len);
}

/* ---- end ---- */

static int st_end(struct scn_parser *p, struct scn_op *op)
{
	int at = p->s->nops - 1;

	if (p->block < 0)
		return scn_perr(p, p->kw->col, "'end' without 'threads'");
	if (p->thread >= 0)
		return scn_perr(p, p->thread_col, "'end' ends the block: no thread runs it");
	if (at == p->block + 1)
		return scn_perr(p, p->kw->col, "an empty threads block");
	p->s->ops[p->block].block_end = at;
	p->block = -1;
	return scn_end_of_line(p);
}

/* The block ran at its "threads". */
static int run_end(struct scn_runner *r, const struct scn_op *op)
{
	return SCN_PASS;
}

static void pr_end(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "end");
}

/* ---- yield N ---- */

static int st_yield(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;
	uint64_t v;

	if (p->thread < 0)
		return scn_perr(p, p->kw->col, "'yield' is a statement of a threads block: outside one no other "
				"thread runs");
	t = scn_need_word(p, "how many times");
	if (!t || scn_parse_u64(p, t, false, &v) < 0)
		return -1;
	if (!v || v > MAX_YIELDS)
		return scn_perr(p, t->col, "yield 1 to %d times", MAX_YIELDS);
	op->value = (int64_t)v;
	return scn_end_of_line(p);
}

/* N scheduling points at which another thread runs if one can: a delay counted in the others' steps. */
static int run_yield(struct scn_runner *r, const struct scn_op *op)
{
	for (int64_t i = 0; i < op->value; i++)
		mml_sched_yield();
	return SCN_PASS;
}

static void pr_yield(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "yield %lld", (long long)op->value);
}

/* ---- show sched ---- */

int scn_show_sched(struct scn_runner *r)
{
	fprintf(r->out, "sched: seed %llu, %d threads block%s run, trace hash %016llx", (unsigned long long)r->seed,
		r->blocks, r->blocks == 1 ? "" : "s", (unsigned long long)mml_sched_trace_hash(r->m));
	if (r->blocks)
		fprintf(r->out, ", %llu steps in the last", (unsigned long long)mml_sched_steps(r->m));
	fputc('\n', r->out);
	return SCN_PASS;
}

/* end and yield show a process nothing: silent, as the conformance walk reaches them only after the block's skip. */
const struct scn_cmd scn_threads_cmds[] = {
	{ "threads", "[ \"random\" | ( \"pct\" | \"pct-pte\" ) [ \"depth=\" N ] [ \"steps=\" N ] ]", SCN_OP_THREADS, 0,
	  st_threads, run_threads, obs_threads, pr_threads },
	{ "end", "", SCN_OP_END, SCN_CMD_SILENT,
	  st_end, run_end, NULL, pr_end },
	{ "yield", "N", SCN_OP_YIELD, SCN_CMD_SILENT,
	  st_yield, run_yield, NULL, pr_yield },
	{ NULL }
};
