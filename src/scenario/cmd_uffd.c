/*
 * cmd_uffd.c - the statements of userfaultfd: uffd new, register,
 * unregister, writeprotect, copy, zeropage, continue, close; uffd serve
 * and join (a thread of the runner answers messages while the scenario
 * goes on, so that a fault can sleep until it is served); expect uffd
 * (the next message).
 *
 * A scenario runs one statement at a time, so a fault of a userfaultfd
 * without the sigbus feature, a fork with event-fork, or a munmap or
 * MADV_DONTNEED with event-unmap or event-remove waits until someone
 * reads or resolves it: that someone is a server started by "uffd serve"
 * before the statement.  Its thread gives up after SERVE_TIMEOUT_MS
 * without a message, and "uffd join" then fails.  A statement that waits
 * with no server running would wait forever, as on Linux; so that no
 * scenario hangs, a watchdog thread (one a run, from the first "uffd
 * new") answers a message that waited WATCH_GRACE_MS while a statement
 * ran and no server of that userfaultfd was, and the statement fails,
 * saying so.
 *
 * On a conformance back end each statement is the same call (cf_backend's
 * uffd: mmlab's in native/sim.c, the host's userfaultfd(2) and ioctls in
 * native/driver_uffd.c), its result noted; expect uffd notes the message
 * and whether its address is the statement's on that side.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "native/observe.h"
#include "scenario/command.h"

#define SERVE_TIMEOUT_MS	5000
#define WATCH_GRACE_MS		1000
#define WATCH_MAX		64
#define SERVE_MAX_MSGS		64
#define UFFD_PAGE		4096ULL

/*
 * A server: the thread, what it answers faults with, and the messages it
 * read, which "expect uffd" takes before asking the userfaultfd.  The
 * thread alone writes msgs/nmsgs/served until the join, the runner reads
 * them after it.
 */
struct scn_uffd_server {
	pthread_t thread;
	bool running;			/* (runner) started, not yet joined */
	struct mml_uffd *u;
	int want;			/* messages to answer */
	int served;			/* answered */
	volatile int stop;		/* the run ends: give up now */
	unsigned char page[UFFD_PAGE];	/* what a missing fault gets */
	struct uffd_msg msgs[SERVE_MAX_MSGS];
	int nmsgs, next;		/* read by the thread; taken by expect uffd */
};

/*
 * The watchdog: the userfaultfds of the run (registered at "new", taken
 * off at "close", both under lock, which the watchdog holds while it
 * touches one), whether a server of each runs, and when the statement
 * running began (0: none runs).
 */
struct scn_uffd_watch {
	pthread_t thread;
	pthread_mutex_t lock;
	struct mml_uffd *u[WATCH_MAX];		/* (lock) */
	bool served[WATCH_MAX];			/* (lock) a server of it runs */
	long step_start;			/* (atomic) ms, 0 between statements */
	int stalled;				/* (atomic) the watchdog answered a message */
	int stop;				/* (atomic) */
};

static long now_ms(void);
static void serve_msg(struct mml_uffd *u, const struct uffd_msg *msg, const unsigned char *page);

static void *watch_thread(void *arg)
{
	static const unsigned char zeros[4096];
	struct scn_uffd_watch *w = arg;

	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		long start = __atomic_load_n(&w->step_start, __ATOMIC_ACQUIRE);

		if (start && now_ms() - start > WATCH_GRACE_MS) {
			pthread_mutex_lock(&w->lock);
			for (int i = 0; i < WATCH_MAX; i++) {
				struct uffd_msg msg;

				if (!w->u[i] || w->served[i] || mml_uffd_read_event(w->u[i], &msg) < 0)
					continue;
				serve_msg(w->u[i], &msg, zeros);
				__atomic_store_n(&w->stalled, 1, __ATOMIC_RELEASE);
			}
			pthread_mutex_unlock(&w->lock);
		}
		usleep(20000);
	}
	return NULL;
}

static void watch_set(struct scn_runner *r, struct mml_uffd *u, struct mml_uffd *was, bool served)
{
	struct scn_uffd_watch *w = r->main->uffd_watch;
	int i;

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	for (i = 0; i < WATCH_MAX && w->u[i] != was; i++)
		;
	if (i < WATCH_MAX) {
		w->u[i] = u;
		w->served[i] = served;
	}
	pthread_mutex_unlock(&w->lock);
}

/* The first userfaultfd of the run starts the watchdog. */
static void watch_add(struct scn_runner *r, struct mml_uffd *u)
{
	struct scn_uffd_watch *w = r->main->uffd_watch;

	if (!w) {
		w = calloc(1, sizeof(*w));
		if (!w)
			return;
		pthread_mutex_init(&w->lock, NULL);
		if (pthread_create(&w->thread, NULL, watch_thread, w)) {
			pthread_mutex_destroy(&w->lock);
			free(w);
			return;
		}
		r->main->uffd_watch = w;
	}
	watch_set(r, u, NULL, false);
}

int scn_uffd_step(struct scn_runner *r, bool begin)
{
	struct scn_uffd_watch *w = r->uffd_watch;

	if (begin) {
		__atomic_store_n(&w->stalled, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&w->step_start, now_ms(), __ATOMIC_RELEASE);
		return SCN_PASS;
	}
	__atomic_store_n(&w->step_start, 0, __ATOMIC_RELEASE);
	/* Take the lock once: a message the watchdog is answering now is counted. */
	pthread_mutex_lock(&w->lock);
	pthread_mutex_unlock(&w->lock);
	if (__atomic_load_n(&w->stalled, __ATOMIC_ACQUIRE))
		return scn_fail(r, "%s: waited for a userfaultfd monitor that nobody runs (start one with "
				"\"uffd serve\" before it; the watchdog answered after %d ms)", scn_cmd_name(r->op),
				WATCH_GRACE_MS);
	return SCN_PASS;
}

static int uffd_feature(const char *s, size_t n, long *out)
{
	return scn_flag(SCN_UFFD_FEATURES, s, n, out);
}

static int uffd_mode(const char *s, size_t n, long *out)
{
	return scn_flag(SCN_UFFD_MODES, s, n, out);
}

static int uffd_iomode(const char *s, size_t n, long *out)
{
	return scn_flag(SCN_UFFD_IOMODES, s, n, out);
}

static int parse_uffd(struct scn_parser *p, int *slot)
{
	struct scn_tok *t = scn_need(p, "userfaultfd name");

	return t ? scn_sym_use(p, t, t->n, SCN_SYM_UFFD, slot) : -1;
}

static const char *event_name(int e);

/*
 * Every statement on a conformance back end: the same call, its result
 * noted; a message's kind, and whether its address (or range) is the
 * statement's there, noted for expect uffd.
 */
static void obs_uffd(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	struct cf_uffd c = { .kind = op->kind, .len = op->len, .flags = op->flags, .value = op->value };
	unsigned char *buf = NULL;
	struct uffd_msg msg;
	int child = -1;
	int64_t r;

	if (op->uffd >= 0) {
		if (w->vals[op->uffd].state != CF_SYM_OK) {
			cf_skip(w, op->kind != SCN_OP_EXPECT_UFFD, "its userfaultfd was not made on this side");
			return;
		}
		c.h = w->vals[op->uffd].h;
	}
	if (op->kind != SCN_OP_UFFD_NEW && op->kind != SCN_OP_UFFD_SERVE && op->kind != SCN_OP_UFFD_JOIN &&
	    op->kind != SCN_OP_UFFD_CLOSE && (op->kind != SCN_OP_EXPECT_UFFD || op->arg))
		c.addr = cf_addr_of(w, &op->addr);
	if (op->kind == SCN_OP_UFFD_COPY || op->kind == SCN_OP_UFFD_SERVE) {
		struct scn_op page_op = *op;

		page_op.len = op->kind == SCN_OP_UFFD_SERVE ? UFFD_PAGE : op->len;
		buf = malloc(page_op.len ? page_op.len : 1);
		if (!buf) {
			cf_note(w, CF_ERROR, false, NULL, "out of memory");
			return;
		}
		if (op->pat.present)
			scn_fill_pattern(buf, page_op.len, &op->pat);
		else
			memset(buf, 0, page_op.len);
		c.page = buf;
	}
	r = w->b->uffd(w->b, op->kind == SCN_OP_UFFD_NEW ? cf_task_of(w, op->task) : -1, &c, &msg, &child);
	free(buf);
	if (op->kind == SCN_OP_UFFD_NEW) {
		cf_note_defined(w, r, true, r >= 0 ? (int)r : -1, 0);
		return;
	}
	if (op->kind == SCN_OP_UFFD_JOIN) {
		if (!cf_refused(w, r, true))
			cf_note(w, CF_SEEN, r >= op->value, NULL, "answered %lld", (long long)r);
		return;
	}
	if (op->kind != SCN_OP_EXPECT_UFFD) {
		if (!cf_refused(w, r, true))
			cf_note_result(w, r);
		return;
	}
	if (cf_refused(w, r, false))
		return;
	if (r == -EAGAIN) {
		cf_note(w, CF_SEEN, op->arg == 0, NULL, "none");
		return;
	}
	if (r < 0) {
		cf_note(w, CF_SEEN, false, NULL, "%s", cf_errname(r));
		return;
	}
	switch (msg.event) {
	case UFFD_EVENT_PAGEFAULT: {
		bool at = (msg.arg.pagefault.address & ~(UFFD_PAGE - 1)) == (c.addr & ~(UFFD_PAGE - 1));

		cf_note(w, CF_SEEN, op->arg == UFFD_EVENT_PAGEFAULT && at && msg.arg.pagefault.flags == (uint64_t)op->flags,
			NULL, "pagefault %s flags %#llx", at ? "at the address" : "elsewhere",
			(unsigned long long)msg.arg.pagefault.flags);
		break;
	}
	case UFFD_EVENT_FORK:
		if (op->def >= 0)
			cf_define(w, child >= 0 ? CF_SYM_OK : CF_SYM_FAILED, child, 0);
		cf_note(w, CF_SEEN, op->arg == UFFD_EVENT_FORK && child >= 0, NULL, "fork");
		break;
	default: {
		bool at = msg.arg.remove.start == c.addr && msg.arg.remove.end == c.addr + op->len;

		cf_note(w, CF_SEEN, op->arg == msg.event && at, NULL, "%s %s", event_name(msg.event),
			at ? "of the range" : "of another range");
		break;
	}
	}
}

static struct mml_uffd *uffd_of(struct scn_runner *r, int sym)
{
	return r->vals[sym].uffd;
}

/* ---- uffd U = new A FEATURES ---- */

static int st_new(struct scn_parser *p, struct scn_op *op)
{
	if (scn_parse_task(p, &op->task) < 0 ||
	    scn_parse_flag_word(p, "userfaultfd features (sigbus, event-fork, ..., or 0)", "uffd",
				" (sigbus, pagefault-flag-wp, event-fork, event-remove, event-unmap, "
				"missing-shmem, minor-shmem, wp-unpopulated, thread-id, ...)",
				uffd_feature, &op->flags) < 0 ||
	    scn_parse_result_defining(p, op) < 0)
		return -1;
	return scn_sym_def(p, p->name, SCN_SYM_UFFD, &op->def);
}

static int run_new(struct scn_runner *r, const struct scn_op *op)
{
	struct mml_uffd *u = NULL;
	int ret = mml_uffd_new(scn_task_of(r, op->task), (uint64_t)op->flags, &u);

	if (ret == 0) {
		r->vals[op->def].uffd = u;
		watch_add(r, u);
	}
	return scn_check_result(r, ret);
}

static void pr_new(const struct scn_printer *pr, const struct scn_op *op)
{
	char f[512];

	fputs("uffd", pr->f);
	scn_print_sym(pr, op->def);
	fputs(" = new", pr->f);
	scn_print_sym(pr, op->task);
	fprintf(pr->f, " %s", scn_flags_name(SCN_UFFD_FEATURES, op->flags, f, sizeof(f)));
}

/* ---- uffd register U ADDR LEN MODES | unregister U ADDR LEN | writeprotect U ADDR LEN 0|1 ---- */

static int st_range(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	if (parse_uffd(p, &op->uffd) < 0 || scn_parse_addr(p, &op->addr) < 0 ||
	    scn_parse_len(p, "length", &op->len) < 0)
		return -1;
	if (op->kind == SCN_OP_UFFD_REGISTER &&
	    scn_parse_flag_word(p, "register modes (missing, wp, minor)", "uffd register",
				" (missing, wp, minor)", uffd_mode, &op->flags) < 0)
		return -1;
	if (op->kind == SCN_OP_UFFD_WRITEPROTECT) {
		t = scn_need_word(p, "0 or 1 (clear or set write protection)");
		if (!t)
			return -1;
		if (!scn_tok_is(t, "0") && !scn_tok_is(t, "1"))
			return scn_perr(p, t->col, "writeprotect takes 0 or 1, not " TOKF, TOKA(t));
		op->value = scn_tok_is(t, "1");
	}
	return scn_parse_result(p, op, true);
}

/* A fill that did part of the range is the ioctl's EAGAIN (its copy field says how much). */
static long fill_result(long ret, uint64_t len)
{
	return ret >= 0 && (uint64_t)ret < len ? -EAGAIN : ret;
}

static int run_range(struct scn_runner *r, const struct scn_op *op)
{
	struct mml_uffd *u = uffd_of(r, op->uffd);
	uint64_t a = scn_addr_of(r, &op->addr);
	long ret;

	switch (op->kind) {
	case SCN_OP_UFFD_REGISTER:
		ret = mml_uffd_register(u, a, op->len, (uint64_t)op->flags);
		break;
	case SCN_OP_UFFD_UNREGISTER:
		ret = mml_uffd_unregister(u, a, op->len);
		break;
	default:
		ret = mml_uffd_writeprotect(u, a, op->len, (int)op->value);
		break;
	}
	return scn_check_result(r, ret);
}

static void pr_range(const struct scn_printer *pr, const struct scn_op *op)
{
	char f[128];

	fprintf(pr->f, "%s", scn_cmd_name(op));
	scn_print_sym(pr, op->uffd);
	scn_print_addr(pr, &op->addr);
	fprintf(pr->f, " %llu", (unsigned long long)op->len);
	if (op->kind == SCN_OP_UFFD_REGISTER)
		fprintf(pr->f, " %s", scn_flags_name(SCN_UFFD_MODES, op->flags, f, sizeof(f)));
	if (op->kind == SCN_OP_UFFD_WRITEPROTECT)
		fprintf(pr->f, " %d", (int)op->value);
}

/* ---- uffd copy U ADDR LEN PATTERN [MODES] | zeropage U ADDR LEN [MODES] | continue U ADDR LEN [MODES] ---- */

static int st_fill(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	if (parse_uffd(p, &op->uffd) < 0 || scn_parse_addr(p, &op->addr) < 0 ||
	    scn_parse_len(p, "length", &op->len) < 0)
		return -1;
	if (op->kind == SCN_OP_UFFD_COPY &&
	    (scn_parse_pattern(p, &op->pat) < 0 || scn_check_io_len(p, p->kw, op->len) < 0))
		return -1;
	t = scn_peek(p);
	if (t && !scn_tok_is(t, "=>") &&
	    scn_parse_flag_word(p, "modes (dontwake, wp)", scn_cmd_name(op), " (dontwake, wp)", uffd_iomode,
				&op->flags) < 0)
		return -1;
	return scn_parse_result(p, op, true);
}

static int run_fill(struct scn_runner *r, const struct scn_op *op)
{
	struct mml_uffd *u = uffd_of(r, op->uffd);
	uint64_t a = scn_addr_of(r, &op->addr);
	unsigned char *buf;
	int status;
	long ret;

	switch (op->kind) {
	case SCN_OP_UFFD_COPY:
		buf = scn_io_buffer(r, op, true, &status);
		if (!buf)
			return status;
		ret = mml_uffd_copy(u, a, buf, op->len, (uint64_t)op->flags);
		free(buf);
		break;
	case SCN_OP_UFFD_ZEROPAGE:
		ret = mml_uffd_zeropage(u, a, op->len, (uint64_t)op->flags);
		break;
	default:
		ret = mml_uffd_continue(u, a, op->len, (uint64_t)op->flags);
		break;
	}
	return scn_check_result(r, fill_result(ret, op->len));
}

static void pr_fill(const struct scn_printer *pr, const struct scn_op *op)
{
	char f[64];

	fprintf(pr->f, "%s", scn_cmd_name(op));
	scn_print_sym(pr, op->uffd);
	scn_print_addr(pr, &op->addr);
	fprintf(pr->f, " %llu", (unsigned long long)op->len);
	if (op->kind == SCN_OP_UFFD_COPY)
		scn_print_pattern(pr, &op->pat);
	if (op->flags)
		fprintf(pr->f, " %s", scn_flags_name(SCN_UFFD_IOMODES, op->flags, f, sizeof(f)));
}

/* ---- uffd serve U N [PATTERN] | join U | close U ---- */

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Answer a message as a monitor would; an event needs nothing but its read. */
static void serve_msg(struct mml_uffd *u, const struct uffd_msg *msg, const unsigned char *page)
{
	uint64_t a = msg->arg.pagefault.address & ~(UFFD_PAGE - 1);

	if (msg->event != UFFD_EVENT_PAGEFAULT)
		return;
	if (msg->arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP)
		mml_uffd_writeprotect(u, a, UFFD_PAGE, 0);
	else if (msg->arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_MINOR)
		mml_uffd_continue(u, a, UFFD_PAGE, 0);
	else
		mml_uffd_copy(u, a, page, UFFD_PAGE, 0);
}

/*
 * The server: read a message, answer it as a monitor would (a missing
 * fault with a copy of its page, a minor one with CONTINUE, a
 * write-protect one by clearing wp; an event just by reading it), until
 * it answered want of them, the userfaultfd went, or nothing came for
 * SERVE_TIMEOUT_MS.
 */
static void *serve_thread(void *arg)
{
	struct scn_uffd_server *s = arg;
	long deadline = now_ms() + SERVE_TIMEOUT_MS;

	while (s->served < s->want && !__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		struct uffd_msg msg;
		int ret = mml_uffd_read_event(s->u, &msg);

		if (ret == -EAGAIN) {
			if (now_ms() > deadline)
				break;
			sched_yield();
			continue;
		}
		if (ret < 0)
			break;
		if (s->nmsgs < SERVE_MAX_MSGS)
			s->msgs[s->nmsgs++] = msg;
		serve_msg(s->u, &msg, s->page);
		s->served++;
		deadline = now_ms() + SERVE_TIMEOUT_MS;
	}
	return NULL;
}

static int st_serve(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;
	uint64_t n;

	/* A server is a host thread the scheduler does not run: a block's faults would wait for it unseen. */
	if (p->thread >= 0 && op->kind != SCN_OP_UFFD_CLOSE)
		return scn_perr(p, p->kw->col, "'uffd %.*s' is not for a threads block: there another thread of "
				"the block answers a fault (uffd copy ...)", (int)p->kw->n, p->kw->s);
	if (parse_uffd(p, &op->uffd) < 0)
		return -1;
	if (op->kind == SCN_OP_UFFD_SERVE) {
		t = scn_need_word(p, "how many messages to answer");
		if (!t || scn_parse_u64(p, t, false, &n) < 0)
			return -1;
		if (!n || n > SERVE_MAX_MSGS)
			return scn_perr(p, t->col, "a server answers 1 to %d messages", SERVE_MAX_MSGS);
		op->value = (int64_t)n;
		t = scn_peek(p);
		if (t && !scn_tok_is(t, "=>") && scn_parse_pattern(p, &op->pat) < 0)
			return -1;
	}
	if (scn_parse_result(p, op, op->kind == SCN_OP_UFFD_CLOSE) < 0)
		return -1;
	if (op->kind == SCN_OP_UFFD_CLOSE)
		p->s->syms[op->uffd].kind = SCN_SYM_UFFD_CLOSED;
	return 0;
}

/* Stop (if stop) and join a running server. */
static void server_join(struct scn_uffd_server *s, bool stop)
{
	if (!s || !s->running)
		return;
	if (stop)
		__atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
	pthread_join(s->thread, NULL);
	s->running = false;
}

static int run_serve(struct scn_runner *r, const struct scn_op *op)
{
	struct scn_val *v = &r->vals[op->uffd];
	struct scn_uffd_server *s = v->srv;
	struct scn_op page_op = *op;
	unsigned char *buf;
	int status;

	if (s && s->running)
		return scn_bad(r, 1, "uffd serve: a server of this userfaultfd is still running (join it first)");
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return scn_fail(r, "uffd serve: out of host memory");
		v->srv = s;
	}
	if (op->pat.present) {
		page_op.len = UFFD_PAGE;
		buf = scn_io_buffer(r, &page_op, true, &status);
		if (!buf)
			return status;
		memcpy(s->page, buf, UFFD_PAGE);
		free(buf);
	} else {
		memset(s->page, 0, UFFD_PAGE);
	}
	s->u = v->uffd;
	s->want = (int)op->value;
	s->served = 0;
	s->stop = 0;
	/* Messages read before and not yet expected are kept ahead of the new ones. */
	if (s->next) {
		memmove(s->msgs, s->msgs + s->next, (size_t)(s->nmsgs - s->next) * sizeof(s->msgs[0]));
		s->nmsgs -= s->next;
		s->next = 0;
	}
	if (pthread_create(&s->thread, NULL, serve_thread, s))
		return scn_fail(r, "uffd serve: no host thread");
	s->running = true;
	watch_set(r, s->u, s->u, true);
	return SCN_PASS;
}

static int run_join(struct scn_runner *r, const struct scn_op *op)
{
	struct scn_uffd_server *s = r->vals[op->uffd].srv;

	if (!s || !s->running)
		return scn_bad(r, 1, "uffd join: no server of this userfaultfd is running");
	server_join(s, false);
	watch_set(r, s->u, s->u, false);
	if (s->served < s->want)
		return scn_fail(r, "uffd join: the server answered %d of %d messages (none came for %d ms)",
				s->served, s->want, SERVE_TIMEOUT_MS);
	return SCN_PASS;
}

static int run_close(struct scn_runner *r, const struct scn_op *op)
{
	struct scn_val *v = &r->vals[op->uffd];
	int ret;

	/* Off the watchdog's list first: it must not read a handle being freed. */
	watch_set(r, NULL, v->uffd, false);
	/* Closing wakes what waits; the server sees it gone and ends. */
	ret = mml_uffd_free(v->uffd);
	server_join(v->srv, true);
	v->uffd = NULL;
	return scn_check_result(r, ret);
}

static void pr_serve(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "%s", scn_cmd_name(op));
	scn_print_sym(pr, op->uffd);
	if (op->kind == SCN_OP_UFFD_SERVE) {
		fprintf(pr->f, " %lld", (long long)op->value);
		if (op->pat.present)
			scn_print_pattern(pr, &op->pat);
	}
}

int scn_uffd_serving(struct scn_runner *r)
{
	for (int i = 0; i < r->s->nsyms; i++)
		if (r->vals[i].srv && r->vals[i].srv->running)
			return i;
	return -1;
}

struct scn_uffd_server *scn_uffd_serve(struct mml_uffd *u, int n, const unsigned char *page)
{
	struct scn_uffd_server *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->u = u;
	s->want = n;
	if (page)
		memcpy(s->page, page, UFFD_PAGE);
	if (pthread_create(&s->thread, NULL, serve_thread, s)) {
		free(s);
		return NULL;
	}
	s->running = true;
	return s;
}

int scn_uffd_join(struct scn_uffd_server *s, bool stop)
{
	server_join(s, stop);
	return s->served;
}

bool scn_uffd_next_msg(struct scn_uffd_server *s, struct uffd_msg *msg)
{
	if (!s || s->running || s->next >= s->nmsgs)
		return false;
	*msg = s->msgs[s->next++];
	return true;
}

void scn_uffd_server_free(struct scn_uffd_server *s)
{
	if (s)
		server_join(s, true);
	free(s);
}

void scn_uffd_release(struct scn_runner *r)
{
	struct scn_uffd_watch *w = r->uffd_watch;

	if (w) {
		__atomic_store_n(&w->stop, 1, __ATOMIC_RELEASE);
		pthread_join(w->thread, NULL);
		pthread_mutex_destroy(&w->lock);
		free(w);
		r->uffd_watch = NULL;
	}
	for (int i = 0; i < r->s->nsyms; i++) {
		server_join(r->vals[i].srv, true);
		free(r->vals[i].srv);
		r->vals[i].srv = NULL;
	}
}

/* ---- expect uffd U ( none | pagefault ADDR {write|wp|minor} | fork -> V | remove ADDR LEN | unmap ADDR LEN ) ---- */

static int ex_uffd(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	if (parse_uffd(p, &op->uffd) < 0)
		return -1;
	t = scn_need_word(p, "a message (none, pagefault, fork, remove, unmap)");
	if (!t)
		return -1;
	if (scn_tok_is(t, "none")) {
		op->arg = 0;
	} else if (scn_tok_is(t, "pagefault")) {
		op->arg = UFFD_EVENT_PAGEFAULT;
		if (scn_parse_addr(p, &op->addr) < 0)
			return -1;
		while ((t = scn_peek(p))) {
			if (scn_tok_is(t, "write"))
				op->flags |= UFFD_PAGEFAULT_FLAG_WRITE;
			else if (scn_tok_is(t, "wp"))
				op->flags |= UFFD_PAGEFAULT_FLAG_WP;
			else if (scn_tok_is(t, "minor"))
				op->flags |= UFFD_PAGEFAULT_FLAG_MINOR;
			else
				return scn_perr(p, t->col, "unknown pagefault flag " TOKF " (write, wp, minor)", TOKA(t));
			p->i++;
		}
	} else if (scn_tok_is(t, "fork")) {
		op->arg = UFFD_EVENT_FORK;
		t = scn_need(p, "'->' and the child's userfaultfd name");
		if (!t)
			return -1;
		if (!scn_tok_is(t, "->"))
			return scn_perr(p, t->col, "expected '->' and the child's userfaultfd name");
		t = scn_need(p, "the child's userfaultfd name");
		if (!t || scn_sym_def(p, t, SCN_SYM_UFFD, &op->def) < 0)
			return -1;
	} else if (scn_tok_is(t, "remove") || scn_tok_is(t, "unmap")) {
		op->arg = scn_tok_is(t, "remove") ? UFFD_EVENT_REMOVE : UFFD_EVENT_UNMAP;
		if (scn_parse_addr(p, &op->addr) < 0 || scn_parse_len(p, "length", &op->len) < 0)
			return -1;
	} else {
		return scn_perr(p, t->col, "unknown message " TOKF " (none, pagefault, fork, remove, unmap)", TOKA(t));
	}
	return scn_end_of_line(p);
}

static const char *event_name(int e)
{
	switch (e) {
	case 0: return "none";
	case UFFD_EVENT_PAGEFAULT: return "pagefault";
	case UFFD_EVENT_FORK: return "fork";
	case UFFD_EVENT_REMAP: return "remap";
	case UFFD_EVENT_REMOVE: return "remove";
	case UFFD_EVENT_UNMAP: return "unmap";
	default: return "?";
	}
}

static int run_expect_uffd(struct scn_runner *r, const struct scn_op *op)
{
	struct scn_val *v = &r->vals[op->uffd];
	struct scn_uffd_server *s = v->srv;
	struct uffd_msg msg;
	int got, ret = 0;

	if (s && s->running)
		return scn_bad(r, 1, "expect uffd: its server is still running (join it first)");
	if (s && s->next < s->nmsgs)
		msg = s->msgs[s->next++];
	else
		ret = mml_uffd_read_event(v->uffd, &msg);
	if (ret == -EAGAIN)
		got = 0;
	else if (ret < 0)
		return scn_fail(r, "expect uffd: reading a message: %s", scn_errno_name(-ret));
	else
		got = msg.event;
	if (got != (int)op->arg)
		return scn_fail(r, "expect uffd: expected a %s message, got %s", event_name((int)op->arg),
				event_name(got));
	switch (got) {
	case UFFD_EVENT_PAGEFAULT: {
		uint64_t a = scn_addr_of(r, &op->addr) & ~(UFFD_PAGE - 1);
		uint64_t f = msg.arg.pagefault.flags;

		if ((msg.arg.pagefault.address & ~(UFFD_PAGE - 1)) != a || f != (uint64_t)op->flags)
			return scn_fail(r, "expect uffd: expected a pagefault at %#llx flags %#lx, got one at %#llx "
					"flags %#llx", (unsigned long long)a, (unsigned long)op->flags,
					(unsigned long long)msg.arg.pagefault.address, (unsigned long long)f);
		break;
	}
	case UFFD_EVENT_FORK: {
		struct mml_uffd *child = mml_uffd_get(r->m, msg.arg.fork.ufd);

		if (!child)
			return scn_fail(r, "expect uffd: the fork message names userfaultfd %u, which is not there",
					msg.arg.fork.ufd);
		r->vals[op->def].uffd = child;
		watch_add(r, child);
		break;
	}
	case UFFD_EVENT_REMOVE:
	case UFFD_EVENT_UNMAP: {
		uint64_t a = scn_addr_of(r, &op->addr);

		if (msg.arg.remove.start != a || msg.arg.remove.end != a + op->len)
			return scn_fail(r, "expect uffd: expected %s of %#llx-%#llx, got %#llx-%#llx", event_name(got),
					(unsigned long long)a, (unsigned long long)(a + op->len),
					(unsigned long long)msg.arg.remove.start, (unsigned long long)msg.arg.remove.end);
		break;
	}
	default:
		break;
	}
	return SCN_PASS;
}

static void pr_expect_uffd(const struct scn_printer *pr, const struct scn_op *op)
{
	fputs("expect uffd", pr->f);
	scn_print_sym(pr, op->uffd);
	fprintf(pr->f, " %s", event_name((int)op->arg));
	switch (op->arg) {
	case UFFD_EVENT_PAGEFAULT:
		scn_print_addr(pr, &op->addr);
		if (op->flags & UFFD_PAGEFAULT_FLAG_WRITE)
			fputs(" write", pr->f);
		if (op->flags & UFFD_PAGEFAULT_FLAG_WP)
			fputs(" wp", pr->f);
		if (op->flags & UFFD_PAGEFAULT_FLAG_MINOR)
			fputs(" minor", pr->f);
		break;
	case UFFD_EVENT_FORK:
		fputs(" ->", pr->f);
		scn_print_sym(pr, op->def);
		break;
	case UFFD_EVENT_REMOVE:
	case UFFD_EVENT_UNMAP:
		scn_print_addr(pr, &op->addr);
		fprintf(pr->f, " %llu", (unsigned long long)op->len);
		break;
	default:
		break;
	}
}

const struct scn_cmd scn_uffd_cmds[] = {
	{ "uffd new", "TASK UFFDFEATURES [ result ]", SCN_OP_UFFD_NEW, SCN_CMD_NAMES | SCN_CMD_NAMED,
	  st_new, run_new, obs_uffd, pr_new },
	{ "uffd register", "UFFD ADDR LEN UFFDMODES [ result ]", SCN_OP_UFFD_REGISTER, 0,
	  st_range, run_range, obs_uffd, pr_range },
	{ "uffd unregister", "UFFD ADDR LEN [ result ]", SCN_OP_UFFD_UNREGISTER, 0,
	  st_range, run_range, obs_uffd, pr_range },
	{ "uffd writeprotect", "UFFD ADDR LEN ( \"0\" | \"1\" ) [ result ]", SCN_OP_UFFD_WRITEPROTECT, 0,
	  st_range, run_range, obs_uffd, pr_range },
	{ "uffd copy", "UFFD ADDR LEN PATTERN [ UFFDIOMODES ] [ result ]", SCN_OP_UFFD_COPY, 0,
	  st_fill, run_fill, obs_uffd, pr_fill },
	{ "uffd zeropage", "UFFD ADDR LEN [ UFFDIOMODES ] [ result ]", SCN_OP_UFFD_ZEROPAGE, 0,
	  st_fill, run_fill, obs_uffd, pr_fill },
	{ "uffd continue", "UFFD ADDR LEN [ UFFDIOMODES ] [ result ]", SCN_OP_UFFD_CONTINUE, 0,
	  st_fill, run_fill, obs_uffd, pr_fill },
	{ "uffd serve", "UFFD N [ PATTERN ]", SCN_OP_UFFD_SERVE, 0,
	  st_serve, run_serve, obs_uffd, pr_serve },
	{ "uffd join", "UFFD", SCN_OP_UFFD_JOIN, 0,
	  st_serve, run_join, obs_uffd, pr_serve },
	{ "uffd close", "UFFD [ result ]", SCN_OP_UFFD_CLOSE, 0,
	  st_serve, run_close, obs_uffd, pr_serve },
	{ "expect uffd", "UFFD ( \"none\" | \"pagefault\" ADDR { \"write\" | \"wp\" | \"minor\" } | \"fork\" \"->\" NEWUFFD"
	  " | \"remove\" ADDR LEN | \"unmap\" ADDR LEN )", SCN_OP_EXPECT_UFFD, 0,
	  ex_uffd, run_expect_uffd, obs_uffd, pr_expect_uffd },
	{ NULL }
};
