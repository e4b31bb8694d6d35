/*
 * sched.c - a deterministic scheduler behind the sync layer.
 *
 * The threads of a run are host threads, but only one of them runs at a
 * time: the others wait on a condition variable of their own until the
 * running one hands them the CPU.  It does so only at a scheduling point
 * (sync.h), where the strategy picks the next thread from the runnable
 * ones with the run's random stream, so that the same seed gives the same
 * interleaving whatever the host's scheduler does.  This is the approach
 * of CHESS, loom and shuttle: the program's own synchronisation is the
 * only place where its threads can interact, so it is the only place
 * where an interleaving needs a choice.
 *
 * Strategies: SCHED_RANDOM picks uniformly among the runnable threads at
 * every point.  SCHED_PCT is Burckhardt et al.'s probabilistic concurrency
 * testing (ASPLOS 2010): the threads get distinct random priorities d..d+n-1,
 * the highest-priority runnable thread always runs, and at d-1 steps drawn
 * uniformly from 1..k the running thread drops to priority d-1-i; a bug
 * of depth d is then found with probability at least 1/(n k^(d-1)).  k is
 * the previous run's number of steps (a guess for the first run).  pct-pte
 * is PCT whose steps are the loads of ptes alone (not of the directories
 * above them): its changes overtake a thread only where it reads a pte,
 * the moment a lockless walker (GUP-fast, a fault's first look) is inside
 * a table that someone else may be taking away.  With plain PCT such a
 * one-step window is one step among thousands of locks and atomics.
 *
 * Blocking is modelled: a thread that cannot take a lock, or waits for a
 * bit, a variable, a grace period, parks itself on the object (sched_block)
 * and is not runnable until sched_wake(object).  When every thread that has
 * not returned is parked, the virtual clock jumps to the earliest time-out
 * among them (a time-out the clock reaches while others run ends then);
 * if none has one, the run is deadlocked: the report names each thread's
 * wait, and the threads stay parked for good.
 *
 * Locks: sched->lock guards every field of struct sched and of its
 * threads; it is a leaf, taken only inside this file and never across a
 * call out of it.
 */
#define _GNU_SOURCE	/* dladdr */
#include "sync/sched.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int mml_sched_on __attribute__((visibility("hidden")));

#define TRACE_LEN	32	/* steps a failure report shows */
#define WHERE_LEN	160
#define PCT_MAX_DEPTH	16
#define PCT_FIRST_K	64	/* PCT's k before a machine's first run has measured one */
#define STEP_NS		100	/* the virtual clock's cost of one step */

static const char *const kind_names[SP_NR_KINDS] = {
	[SP_LOCK] = "lock", [SP_TRYLOCK] = "trylock", [SP_UNLOCK] = "unlock",
	[SP_ATOMIC] = "atomic", [SP_PTE_LOAD] = "pte-load", [SP_DIR_LOAD] = "dir-load",
	[SP_RCU_LOCK] = "rcu_read_lock",
	[SP_RCU_UNLOCK] = "rcu_read_unlock", [SP_RCU_SYNC] = "synchronize_rcu", [SP_WAIT] = "wait",
	[SP_WAKE] = "wake", [SP_YIELD] = "yield", [SP_START] = "start", [SP_EXIT] = "exit",
};

struct sched_thread {
	int idx;
	struct sched *s;
	pthread_cond_t cv;
	struct mml_thread *host;
	void (*fn)(void *);		/* a run's function, or */
	void *(*daemon_fn)(void *);	/* a machine thread's */
	void *arg;
	const char *name;		/* a machine thread's (kswapd); NULL: a run's function */
	const void *idle;		/* a machine thread's: what it waits on when it has nothing to do */
	bool started, done;
	const void *blocked_on;		/* NULL: runnable */
	enum sched_point_kind blocked_kind;
	uint64_t deadline;		/* virtual ns at which a timed wait ends; 0: none */
	bool timed_out;
	const void *where;		/* the code location of its last point */
	int prio;			/* PCT */
	int rcu_nesting;
	uint64_t rcu_quiescent;		/* read sections ended */
};

struct trace_step {
	uint64_t step;
	int thread;
	enum sched_point_kind kind;
	const void *where;
};

/*
 * A machine's scheduler, made at its first run or machine thread and kept
 * until the machine goes: machine threads (slots 0..ndaemons-1) live from
 * one run to the next; a run's functions take the slots after them.
 */
struct sched {
	pthread_mutex_t lock;
	pthread_cond_t main_cv;
	struct sched_state *st;
	unsigned ndaemons;		/* machine threads, started or returned */
	unsigned n, ndone;		/* threads of this run (machine threads too); the run's functions returned */
	unsigned nfns;			/* the run's functions */
	int cur;			/* the thread that may run; -1 between runs */
	bool over;			/* the functions returned and the machine threads are idle */
	bool failed;			/* deadlock or livelock: this machine runs nothing more */
	uint64_t steps, now;		/* scheduling points of this run; virtual ns, on across runs */
	uint64_t pte_loads;		/* those of them that load a pte (SP_PTE_LOAD) */
	uint64_t change[PCT_MAX_DEPTH];	/* PCT's priority-change steps */
	unsigned nchange;
	uint64_t hash;
	struct trace_step *trace;	/* the last trace_len steps, a ring */
	unsigned trace_len;
	struct sched_thread t[SCHED_MAX_DAEMONS + SCHED_MAX_THREADS];
};

static struct sched *active;		/* the one run in progress, under active_lock */
static pthread_mutex_t active_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread struct sched_thread *me __tls_fast;

/* splitmix64: small, fast, and the same on every host. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rng_below(uint64_t *s, uint64_t n)
{
	return n ? rng_next(s) % n : 0;
}

void sched_state_init(struct sched_state *st, uint64_t seed)
{
	memset(st, 0, sizeof(*st));
	st->strategy = SCHED_RANDOM;
	st->depth = 3;
	st->rng = seed ^ 0x6a09e667f3bcc908ULL;
	st->hash = 0xcbf29ce484222325ULL;	/* FNV-1a's offset basis */
	st->max_steps = 50 * 1000 * 1000;
	st->trace_keep = TRACE_LEN;
}

static void hash_in(uint64_t *h, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		*h ^= (v >> (8 * i)) & 0xff;
		*h *= 0x100000001b3ULL;	/* FNV-1a's prime */
	}
}

bool sched_thread_is_scheduled(void)
{
	return me != NULL;
}

bool sched_virtual_now(uint64_t *ns)
{
	if (!me)
		return false;
	pthread_mutex_lock(&me->s->lock);
	*ns = me->s->now;
	pthread_mutex_unlock(&me->s->lock);
	return true;
}

/* ---- reports ------------------------------------------------------------------ */

/*
 * Source locations of code addresses, "function (file:line)", from the
 * debug information through addr2line (binutils, there wherever gcc is),
 * one call per object; "object+offset" where it cannot say.  A return
 * address is the instruction after the call: the call is one byte before.
 * Of an inlined chain the first frame outside the sync layer and the
 * arch's entry accessors is named: a scheduling point is in one of their
 * inline functions, and the caller is what a reader wants.
 */
static void where_lines(const void *const *addr, unsigned n, char (*out)[WHERE_LEN])
{
	Dl_info *info = calloc(n ? n : 1, sizeof(*info));
	bool *done = calloc(n ? n : 1, sizeof(*done));

	if (!info || !done) {	/* a trace may keep a million steps: not on the stack */
		for (unsigned i = 0; i < n; i++)
			snprintf(out[i], WHERE_LEN, "%p", addr[i]);
		free(info);
		free(done);
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		done[i] = !addr[i] || !dladdr(addr[i], &info[i]) || !info[i].dli_fname;
		if (!addr[i])
			snprintf(out[i], WHERE_LEN, "-");
		else if (done[i])
			snprintf(out[i], WHERE_LEN, "%p", addr[i]);
		else
			snprintf(out[i], WHERE_LEN, "%s+%#lx", strrchr(info[i].dli_fname, '/') ?
				 strrchr(info[i].dli_fname, '/') + 1 : info[i].dli_fname,
				 (unsigned long)((const char *)addr[i] - (const char *)info[i].dli_fbase));
	}
	for (unsigned i = 0; i < n; i++) {
		char cmd[8192], line[512], fn[256] = "", obj[4096];
		ssize_t n_obj;
		unsigned idx[256], k = 0, cur = 0;	/* cur: the address being answered, from 1 */
		bool named = false;
		size_t len;
		FILE *p;

		if (done[i])
			continue;
		/* -a: each address's answer begins with the address, then function and file:line pairs */
		/* the main program's name is argv[0] as it was typed, perhaps found on $PATH */
		if (strchr(info[i].dli_fname, '/') && !access(info[i].dli_fname, R_OK))
			snprintf(obj, sizeof(obj), "%s", info[i].dli_fname);
		else if ((n_obj = readlink("/proc/self/exe", obj, sizeof(obj) - 1)) > 0)
			obj[n_obj] = '\0';
		else
			continue;
		len = (size_t)snprintf(cmd, sizeof(cmd), "addr2line -a -f -i -e '%s'", obj);
		for (unsigned j = i; j < n && k < 256 && len + 24 < sizeof(cmd); j++)
			if (!done[j] && info[j].dli_fbase == info[i].dli_fbase) {
				len += (size_t)snprintf(cmd + len, sizeof(cmd) - len, " %#lx",
							(unsigned long)((const char *)addr[j] - 1 -
									(const char *)info[j].dli_fbase));
				done[j] = true;
				idx[k++] = j;
			}
		snprintf(cmd + len, sizeof(cmd) - len, " 2>/dev/null");
		p = popen(cmd, "r");
		if (!p)
			continue;
		for (bool loc_next = false; fgets(line, sizeof(line), p);) {
			const char *file;

			line[strcspn(line, "\n")] = '\0';
			if (!loc_next && line[0] == '0' && line[1] == 'x') {	/* the next address's answer */
				cur++;
				named = false;
				continue;
			}
			if (!loc_next) {	/* a function: its file:line follows */
				snprintf(fn, sizeof(fn), "%.*s", (int)sizeof(fn) - 1, line);
				loc_next = true;
				continue;
			}
			loc_next = false;
			if (!cur || cur > k || named || !strncmp(line, "??", 2))
				continue;
			/* the innermost frame for now; the first outside the sync layer and the arch accessors for good */
			named = !strstr(line, "src/sync/") && !strstr(line, "src/arch/");
			line[strcspn(line, " ")] = '\0';	/* " (discriminator N)" */
			file = strrchr(line, '/') ? strrchr(line, '/') + 1 : line;
			snprintf(out[idx[cur - 1]], WHERE_LEN, "%.64s (%.80s)", fn, file);
		}
		pclose(p);
	}
	free(info);
	free(done);
}

static const char *thread_name(const struct sched *s, int idx, char *buf, size_t len)
{
	if (idx >= 0 && s->t[idx].name)
		snprintf(buf, len, "thread %d (%s)", idx, s->t[idx].name);
	else
		snprintf(buf, len, "thread %d", idx);
	return buf;
}

/* The last `last` steps of s's latest run (as many as it keeps), one a line, with their source locations. */
static void trace_print(const struct sched *s, FILE *f, uint64_t last, const char *indent)
{
	uint64_t kept = s->steps < s->trace_len ? s->steps : s->trace_len, from;
	const void **addr;
	char (*where)[WHERE_LEN], who[48];

	if (last > kept)
		last = kept;
	from = s->steps - last;
	addr = calloc(last ? last : 1, sizeof(*addr));
	where = calloc(last ? last : 1, sizeof(*where));
	if (!addr || !where) {
		free(addr);
		free(where);
		fprintf(f, "%s(no memory for the trace)\n", indent);
		return;
	}
	for (uint64_t k = 0; k < last; k++)
		addr[k] = s->trace[(from + k) % s->trace_len].where;
	where_lines(addr, (unsigned)last, where);
	for (uint64_t k = 0; k < last; k++) {
		const struct trace_step *ts = &s->trace[(from + k) % s->trace_len];

		fprintf(f, "%s%llu: %s %s at %s\n", indent, (unsigned long long)ts->step,
			thread_name(s, ts->thread, who, sizeof(who)), kind_names[ts->kind], where[k]);
	}
	free(addr);
	free(where);
}

/* The run cannot go on: say why, with every thread's state and the last steps. */
static void report_failure(struct sched *s, const char *why)
{
	struct sched_state *st = s->st;
	const void *addr[SCHED_MAX_DAEMONS + SCHED_MAX_THREADS];
	char where[SCHED_MAX_DAEMONS + SCHED_MAX_THREADS][WHERE_LEN], who[48];
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	s->failed = true;
	if (f) {
		fprintf(f, "mmlab: deterministic run: %s after %llu steps\n", why, (unsigned long long)s->steps);
		for (unsigned i = 0; i < s->n; i++)
			addr[i] = s->t[i].where;
		where_lines(addr, s->n, where);
		for (unsigned i = 0; i < s->n; i++) {
			const struct sched_thread *t = &s->t[i];

			thread_name(s, (int)i, who, sizeof(who));
			if (t->done)
				fprintf(f, "  %s: returned\n", who);
			else if (t->blocked_on)
				fprintf(f, "  %s: waits (%s) on %p at %s\n", who, kind_names[t->blocked_kind],
					t->blocked_on, where[i]);
			else
				fprintf(f, "  %s: runnable at %s\n", who, where[i]);
		}
		fprintf(f, "  last steps:\n");
		trace_print(s, f, TRACE_LEN, "    ");
		fclose(f);
	}
	snprintf(st->report, sizeof(st->report), "%s", text ? text : "mmlab: deterministic run failed\n");
	free(text);
	if (!st->quiet)
		fputs(st->report, stderr);
	pthread_cond_signal(&s->main_cv);
}

int sched_trace_print(struct sched_state *st, FILE *f)
{
	struct sched *s = st->s;

	if (!s || !s->trace)
		return 0;
	trace_print(s, f, s->trace_len, "    ");
	return (int)(s->steps < s->trace_len ? s->steps : s->trace_len);
}

/* ---- choosing and switching ----------------------------------------------------- */

static bool runnable(const struct sched_thread *t)
{
	return t->started && !t->done && !t->blocked_on;
}

/* A machine thread waiting for work, or returned: the run need not wait for it. */
static bool idle(const struct sched_thread *t)
{
	return t->done || (t->idle && t->blocked_on == t->idle);
}

/*
 * Timed waits the virtual clock has reached end, however busy the others
 * keep it (but, as in expire_timeout, not an idle machine thread's sleep
 * once the run's functions have returned).
 */
static void expire_due(struct sched *s)
{
	bool fns_done = s->ndone == s->nfns;

	for (unsigned i = 0; i < s->n; i++) {
		struct sched_thread *t = &s->t[i];

		if (fns_done && idle(t))
			continue;
		if (!t->done && t->blocked_on && t->deadline && t->deadline <= s->now) {
			t->blocked_on = NULL;
			t->deadline = 0;
			t->timed_out = true;
		}
	}
}

/* The strategy's choice among the runnable threads, other than avoid if it can; -1: none. */
static int pick(struct sched *s, const struct sched_thread *avoid)
{
	int cand[SCHED_MAX_DAEMONS + SCHED_MAX_THREADS], nc = 0, best = -1;

	expire_due(s);
	for (unsigned i = 0; i < s->n; i++)
		if (runnable(&s->t[i]) && &s->t[i] != avoid)
			cand[nc++] = (int)i;
	if (!nc)
		return avoid && runnable(avoid) ? avoid->idx : -1;
	if (s->st->strategy == SCHED_RANDOM)
		return cand[rng_below(&s->st->rng, (uint64_t)nc)];
	for (int k = 0; k < nc; k++)
		if (best < 0 || s->t[cand[k]].prio > s->t[best].prio)
			best = cand[k];
	return best;
}

/*
 * Nobody can run: end the earliest timed wait on the virtual clock, if
 * there is one, and return its thread; else the run is deadlocked (-1).
 * Once the run's functions have returned, an idle machine thread's sleep
 * is not ended: it would only start more work that nobody waits for.
 */
static int expire_timeout(struct sched *s)
{
	bool fns_done = s->ndone == s->nfns;
	struct sched_thread *first = NULL;

	for (unsigned i = 0; i < s->n; i++) {
		struct sched_thread *t = &s->t[i];

		if (fns_done && idle(t))
			continue;
		if (!t->done && t->blocked_on && t->deadline && (!first || t->deadline < first->deadline))
			first = t;
	}
	if (!first)
		return -1;
	if (first->deadline > s->now)
		s->now = first->deadline;
	first->blocked_on = NULL;
	first->deadline = 0;
	first->timed_out = true;
	return first->idx;
}

/* Hand the CPU to next and wait until it comes back to self (self may be NULL: a thread that returned). */
static void switch_to(struct sched *s, struct sched_thread *self, int next)
{
	s->cur = next;
	pthread_cond_signal(&s->t[next].cv);
	if (!self)
		return;
	while (s->cur != self->idx)
		pthread_cond_wait(&self->cv, &s->lock);
}

/* The run's functions returned and every machine thread is idle: the run ends here. */
static bool run_over(const struct sched *s)
{
	if (s->ndone < s->nfns)
		return false;
	for (unsigned i = 0; i < s->ndaemons; i++)
		if (!idle(&s->t[i]))
			return false;
	return true;
}

/*
 * After self stopped being runnable (or returned): the next thread, by the
 * strategy, the clock or nobody.  At the run's end a machine thread stays
 * parked here until a later run picks it.
 */
static void run_next(struct sched *s, struct sched_thread *self)
{
	int next = pick(s, NULL);

	if (next < 0 && run_over(s)) {
		s->cur = -1;
		s->over = true;
		pthread_cond_signal(&s->main_cv);
		if (self)
			while (s->cur != self->idx)
				pthread_cond_wait(&self->cv, &s->lock);
		return;
	}
	if (next < 0)
		next = expire_timeout(s);
	if (next < 0) {
		report_failure(s, "deadlock: every thread waits");
		if (self)
			for (;;)
				pthread_cond_wait(&self->cv, &s->lock);	/* parked for good */
		return;
	}
	if (self && next == self->idx)
		return;	/* our own time-out ended first */
	switch_to(s, self, next);
}

/* Record one step of the running thread; PCT's priority changes happen here. */
static void step(struct sched *s, enum sched_point_kind kind, const void *where)
{
	struct trace_step *ts = &s->trace[s->steps % s->trace_len];

	ts->step = s->steps;
	ts->thread = me->idx;
	ts->kind = kind;
	ts->where = where;
	me->where = where;
	hash_in(&s->hash, ((uint64_t)me->idx << 8) | kind);
	s->steps++;
	s->now += STEP_NS;
	if (kind == SP_PTE_LOAD)
		s->pte_loads++;
	/* pct-pte's steps are the pte loads alone: a thread is overtaken only where it reads a pte */
	if (!s->st->pct_pte || kind == SP_PTE_LOAD) {
		uint64_t at = s->st->pct_pte ? s->pte_loads : s->steps;

		for (unsigned i = 0; i < s->nchange; i++)
			if (s->change[i] == at)
				me->prio = (int)(s->nchange - i);	/* below every starting priority, later changes lower */
	}
	if (s->steps > s->st->max_steps && !s->failed) {
		report_failure(s, "livelock: no end within the step limit");
		for (;;)
			pthread_cond_wait(&me->cv, &s->lock);
	}
}

static struct sched *my_sched(void)
{
	return me->s;
}

void sched_point_at(enum sched_point_kind kind, const void *obj, const void *where)
{
	struct sched *s;
	int next;

	if (!me)
		return;
	s = my_sched();
	pthread_mutex_lock(&s->lock);
	step(s, kind, where);
	next = pick(s, kind == SP_YIELD ? me : NULL);
	if (next >= 0 && next != me->idx)
		switch_to(s, me, next);
	pthread_mutex_unlock(&s->lock);
}

void sched_yield_point(void)
{
	if (me)
		sched_point_at(SP_YIELD, NULL, __builtin_return_address(0));
}

void mml_sched_point_slow(enum sched_point_kind kind, const void *obj, const void *where)
{
	sched_point_at(kind, obj, where ? where : __builtin_return_address(0));
}

bool sched_block(enum sched_point_kind kind, const void *obj, const void *where, unsigned timeout_ms)
{
	struct sched *s = my_sched();
	bool timed_out;

	pthread_mutex_lock(&s->lock);
	step(s, kind, where);
	me->blocked_on = obj;
	me->blocked_kind = kind;
	me->deadline = timeout_ms ? s->now + (uint64_t)timeout_ms * 1000000ULL : 0;
	me->timed_out = false;
	run_next(s, me);
	timed_out = me->timed_out;
	me->timed_out = false;
	pthread_mutex_unlock(&s->lock);
	return timed_out;
}

bool sched_has_waiter(const void *obj)
{
	struct sched *s = my_sched();
	bool found = false;

	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->n && !found; i++)
		found = s->t[i].blocked_on == obj && !s->t[i].done;
	pthread_mutex_unlock(&s->lock);
	return found;
}

void sched_wake(const void *obj)
{
	struct sched *s = my_sched();

	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->n; i++)
		if (s->t[i].blocked_on == obj) {
			s->t[i].blocked_on = NULL;
			s->t[i].deadline = 0;
		}
	pthread_mutex_unlock(&s->lock);
}

/* ---- RCU --------------------------------------------------------------------------- */

static char rcu_gp;	/* what a synchronize_rcu parks on */

void sched_rcu_read_lock(void)
{
	if (me->rcu_nesting++ == 0)
		sched_point_at(SP_RCU_LOCK, &rcu_gp, __builtin_return_address(0));
}

void sched_rcu_read_unlock(void)
{
	if (--me->rcu_nesting)
		return;
	me->rcu_quiescent++;
	sched_wake(&rcu_gp);
	sched_point_at(SP_RCU_UNLOCK, &rcu_gp, __builtin_return_address(0));
}

/*
 * A grace period: every other thread inside a read section when it began
 * has left that section.  Readers that enter later are not waited for.
 */
void sched_synchronize_rcu(const void *where)
{
	struct sched *s = my_sched();
	uint64_t snap[SCHED_MAX_DAEMONS + SCHED_MAX_THREADS];

	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->n; i++)
		snap[i] = s->t[i].rcu_nesting ? s->t[i].rcu_quiescent : UINT64_MAX;
	pthread_mutex_unlock(&s->lock);
	for (;;) {
		bool waiting = false;

		pthread_mutex_lock(&s->lock);
		for (unsigned i = 0; i < s->n; i++)
			if (snap[i] != UINT64_MAX && s->t[i].rcu_quiescent == snap[i] && !s->t[i].done)
				waiting = true;
		pthread_mutex_unlock(&s->lock);
		if (!waiting)
			break;
		sched_block(SP_RCU_SYNC, &rcu_gp, where, 0);
	}
	sched_point_at(SP_RCU_SYNC, &rcu_gp, where);
}

/* ---- runs ------------------------------------------------------------------------------ */

/* Wait for the first turn, run fn, and give the CPU on. */
static void *thread_main(void *arg)
{
	struct sched_thread *t = arg;
	struct sched *s = t->s;

	me = t;
	pthread_mutex_lock(&s->lock);
	t->started = true;
	pthread_cond_broadcast(&s->main_cv);
	while (s->cur != t->idx)
		pthread_cond_wait(&t->cv, &s->lock);
	pthread_mutex_unlock(&s->lock);

	if (t->fn)
		t->fn(t->arg);
	else if (t->daemon_fn)
		t->daemon_fn(t->arg);

	pthread_mutex_lock(&s->lock);
	step(s, SP_EXIT, NULL);
	t->done = true;
	if (t->rcu_nesting) {
		report_failure(s, "a thread returned inside an RCU read section");
		for (;;)
			pthread_cond_wait(&t->cv, &s->lock);
	}
	if (!t->name)
		s->ndone++;
	run_next(s, NULL);
	pthread_mutex_unlock(&s->lock);
	me = NULL;
	return NULL;
}

/* PCT: distinct starting priorities depth..depth+n-1 in random order, depth-1 change steps in 1..k. */
static void pct_init(struct sched *s)
{
	struct sched_state *st = s->st;
	uint64_t last = st->pct_pte ? st->last_pte_loads : st->last_steps;
	uint64_t k = st->pct_k ? st->pct_k : last ? last : PCT_FIRST_K;
	unsigned d = st->depth < 1 ? 1 : st->depth > PCT_MAX_DEPTH ? PCT_MAX_DEPTH : st->depth;

	for (unsigned i = 0; i < s->n; i++)
		s->t[i].prio = (int)(d + i);
	for (unsigned i = s->n; i > 1; i--) {	/* Fisher-Yates */
		unsigned j = (unsigned)rng_below(&st->rng, i);
		int tmp = s->t[i - 1].prio;

		s->t[i - 1].prio = s->t[j].prio;
		s->t[j].prio = tmp;
	}
	s->nchange = d - 1;
	for (unsigned i = 0; i < s->nchange; i++)
		s->change[i] = 1 + rng_below(&st->rng, k);
}

static struct sched *sched_of(struct sched_state *st)
{
	struct sched *s = st->s;

	if (s)
		return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->main_cv, NULL);
	s->st = st;
	s->cur = -1;
	st->s = s;
	return s;
}

/* Start a host thread for slot t; once it waits for its first turn, true. */
static bool thread_launch(struct sched *s, struct sched_thread *t)
{
	if (mml_thread_start(&t->host, thread_main, t))
		return false;
	pthread_mutex_lock(&s->lock);
	while (!t->started)
		pthread_cond_wait(&s->main_cv, &s->lock);
	pthread_mutex_unlock(&s->lock);
	return true;
}

int sched_daemon_start(struct sched_state *st, struct mml_thread **out, const char *name, void *(*fn)(void *), void *arg,
		       const void *idle_on)
{
	struct sched *s = sched_of(st);
	struct sched_thread *t;

	if (!s)
		return -ENOMEM;
	if (s->ndaemons == SCHED_MAX_DAEMONS || s->n)
		return -EINVAL;	/* machine threads start with the machine, before any run */
	t = &s->t[s->ndaemons];
	memset(t, 0, sizeof(*t));
	t->idx = (int)s->ndaemons;
	t->s = s;
	t->name = name;
	t->idle = idle_on;
	t->daemon_fn = fn;
	t->arg = arg;
	pthread_cond_init(&t->cv, NULL);
	if (!thread_launch(s, t)) {
		pthread_cond_destroy(&t->cv);
		return -ENOMEM;
	}
	s->ndaemons++;
	*out = t->host;
	return 0;
}

static int run(struct sched_state *st, unsigned n, void (**fns)(void *), void **args);

int sched_daemon_stop(struct sched_state *st, struct mml_thread *host)
{
	struct sched *s = st->s;
	struct sched_thread *t = NULL;
	int err;

	for (unsigned i = 0; s && i < s->ndaemons; i++)
		if (s->t[i].host == host)
			t = &s->t[i];
	if (!t)
		return -ENOENT;
	/* A run of no functions: the machine threads run until idle; this one sees its stop and returns. */
	if ((err = run(st, 0, NULL, NULL)))
		return err;
	if (!t->done) {
		snprintf(st->report, sizeof(st->report), "mmlab: deterministic run: %s did not stop\n", t->name);
		if (!st->quiet)
			fputs(st->report, stderr);
		return -EDEADLK;
	}
	mml_thread_join(t->host);
	return 0;
}

void sched_state_destroy(struct sched_state *st)
{
	struct sched *s = st->s;

	/* A machine whose run deadlocked is left, never freed: its threads still wait on s. */
	if (!s || s->failed)
		return;
	for (unsigned i = 0; i < s->ndaemons; i++)
		pthread_cond_destroy(&s->t[i].cv);
	pthread_cond_destroy(&s->main_cv);
	pthread_mutex_destroy(&s->lock);
	free(s->trace);
	free(s);
	st->s = NULL;
}

static int run(struct sched_state *st, unsigned n, void (**fns)(void *), void **args)
{
	struct sched *s = sched_of(st);
	unsigned made = 0;
	int err = 0, first;

	if (!s)
		return -ENOMEM;
	if (s->failed)
		return -EDEADLK;
	pthread_mutex_lock(&active_lock);
	if (active) {
		pthread_mutex_unlock(&active_lock);
		return -EBUSY;
	}
	__atomic_store_n(&active, s, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&active_lock);

	if (s->trace_len != st->trace_keep || !s->trace) {
		struct trace_step *ring = calloc(st->trace_keep, sizeof(*ring));

		if (!ring) {
			pthread_mutex_lock(&active_lock);
			__atomic_store_n(&active, NULL, __ATOMIC_RELEASE);
			pthread_mutex_unlock(&active_lock);
			return -ENOMEM;
		}
		free(s->trace);
		s->trace = ring;
		s->trace_len = st->trace_keep;
	}
	s->n = s->ndaemons;
	s->nfns = n;
	s->ndone = 0;
	s->steps = 0;
	s->pte_loads = 0;
	s->over = false;
	s->hash = st->hash;
	for (unsigned i = 0; i < n; i++) {
		struct sched_thread *t = &s->t[s->ndaemons + i];

		memset(t, 0, sizeof(*t));
		t->idx = (int)(s->ndaemons + i);
		t->s = s;
		t->fn = fns[i];
		t->arg = args[i];
		pthread_cond_init(&t->cv, NULL);
		s->n++;
		if (!thread_launch(s, t)) {
			pthread_cond_destroy(&t->cv);
			err = -ENOMEM;
			break;
		}
		made++;
	}
	pthread_mutex_lock(&s->lock);
	if (err) {
		/* Could not make them all: the ones made return without running anything. */
		s->n = s->ndaemons + made;
		s->nfns = made;
		for (unsigned i = 0; i < made; i++)
			s->t[s->ndaemons + i].fn = NULL;
	}
	/*
	 * Machine threads idle since the last run are woken: what they wait
	 * for may have changed in calls outside the runs, which wake nobody
	 * here.  They test their condition again, as after any wake-up.
	 */
	for (unsigned i = 0; i < s->ndaemons; i++)
		if (!s->t[i].done) {
			s->t[i].blocked_on = NULL;
			s->t[i].deadline = 0;
		}
	if (st->strategy == SCHED_PCT)
		pct_init(s);
	__atomic_store_n(&mml_sched_on, 1, __ATOMIC_RELAXED);
	first = pick(s, NULL);
	if (first >= 0)
		switch_to(s, NULL, first);
	else
		s->over = true;
	while (!s->over && !s->failed)
		pthread_cond_wait(&s->main_cv, &s->lock);
	pthread_mutex_unlock(&s->lock);
	__atomic_store_n(&mml_sched_on, 0, __ATOMIC_RELAXED);

	if (!err) {
		st->hash = s->hash;
		st->last_steps = s->steps;
		st->last_pte_loads = s->pte_loads;
	}
	pthread_mutex_lock(&active_lock);
	__atomic_store_n(&active, NULL, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&active_lock);
	/* Parked threads keep s for good: the machine is left (sched_state_destroy does not free it). */
	if (s->failed)
		return -EDEADLK;
	for (unsigned i = 0; i < made; i++) {
		mml_thread_join(s->t[s->ndaemons + i].host);
		pthread_cond_destroy(&s->t[s->ndaemons + i].cv);
	}
	s->n = s->ndaemons;
	return err;
}

int sched_run(struct sched_state *st, unsigned n, void (**fns)(void *), void **args)
{
	if (n > SCHED_MAX_THREADS)
		return -EINVAL;
	if (!n)
		return 0;
	return run(st, n, fns, args);
}
