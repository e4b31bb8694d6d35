/*
 * run.c - the scenario interpreter: a parsed script against a simulated
 * machine, through the public API only.
 *
 * Runs statement by statement and stops at the first failed expectation
 * (later statements usually depend on the earlier ones, so going on only
 * adds noise).  At the end, or after a failure, the tasks still alive are
 * exited, youngest first, and the machine is freed; a leak or a broken
 * invariant found then fails the scenario.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mmlab.h"
#include "scenario/scenario.h"

struct scn_val {
	struct mml_task *task;	/* SCN_SYM_TASK */
	uint64_t v;		/* SCN_SYM_ADDR: address; SCN_SYM_FRAME: pfn */
	struct mml_pin *pin;	/* SCN_SYM_PIN, while held */
	int swap;		/* SCN_SYM_SWAP: the device id; -1 once swapped off */
};

struct runner {
	const struct scn_script *s;
	FILE *out, *err;
	bool verbose;
	bool no_check;
	const struct scn_opts *o;	/* bugs, fault injection, limits */
	const struct scn_limits *limits;	/* never NULL: zeros if none */
	struct mml_machine *m;
	struct scn_val *vals;		/* one per symbol */
	long *marks;			/* one per statref, read at "mark" */
	struct mml_task **live;		/* in creation order */
	int nlive;
	const struct scn_op *op;	/* the statement running */
	long reclaimed;			/* what the latest reclaim returned */
};

/* "file:line: " and the message: a failed expectation. */
static int fail(struct runner *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct runner *r, const char *fmt, ...)
{
	va_list ap;

	fprintf(r->err, "%s:%u: ", r->s->name, r->op ? r->op->line : 0);
	va_start(ap, fmt);
	vfprintf(r->err, fmt, ap);
	va_end(ap);
	fputc('\n', r->err);
	return SCN_FAIL;
}

static int bad(struct runner *r, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(struct runner *r, unsigned col, const char *fmt, ...)
{
	va_list ap;

	fprintf(r->err, "%s:%u:%u: ", r->s->name, r->op->line, col);
	va_start(ap, fmt);
	vfprintf(r->err, fmt, ap);
	va_end(ap);
	fputc('\n', r->err);
	return SCN_BAD;
}

static const char *cmd_name(const struct scn_op *op)
{
	static const char *const names[] = {
		[SCN_OP_MACHINE] = "machine", [SCN_OP_SPAWN] = "spawn",
		[SCN_OP_THREAD] = "thread", [SCN_OP_FORK] = "fork",
		[SCN_OP_EXIT] = "exit", [SCN_OP_MMAP] = "mmap",
		[SCN_OP_MUNMAP] = "munmap", [SCN_OP_MPROTECT] = "mprotect",
		[SCN_OP_MADVISE] = "madvise", [SCN_OP_WRITE] = "write",
		[SCN_OP_READ] = "read", [SCN_OP_FRAME] = "frame",
		[SCN_OP_CHECK] = "check", [SCN_OP_UNPIN] = "unpin",
		[SCN_OP_DMA_READ] = "dma-read", [SCN_OP_DMA_WRITE] = "dma-write",
		[SCN_OP_SWAPON] = "swapon", [SCN_OP_SWAPOFF] = "swapoff",
		[SCN_OP_RECLAIM] = "reclaim", [SCN_OP_TAG] = "tag",
		[SCN_OP_EXPECT_TAG] = "expect tag", [SCN_OP_FAIL] = "fail",
	};

	if (op->kind == SCN_OP_PIN)
		return op->arg ? "get" : "pin";

	return op->kind < sizeof(names) / sizeof(names[0]) && names[op->kind] ?
	       names[op->kind] : "expect";
}

/* ---- values ---- */

static uint64_t addr_of(struct runner *r, const struct scn_addr *a)
{
	return a->sym < 0 ? a->off : r->vals[a->sym].v + a->off;
}

static struct mml_task *task_of(struct runner *r, int sym)
{
	return r->vals[sym].task;
}

/* "A p+0x1000 (0x7f0000001000)" into buf: how failures name a place. */
static const char *where(struct runner *r, int task, const struct scn_addr *a,
			 uint64_t extra, char *buf, size_t n)
{
	uint64_t va = addr_of(r, a) + extra;
	uint64_t off = a->off + extra;

	if (a->sym < 0)
		snprintf(buf, n, "%s 0x%llx", r->s->syms[task].name,
			 (unsigned long long)va);
	else if (off == 0)
		snprintf(buf, n, "%s %s (0x%llx)", r->s->syms[task].name,
			 r->s->syms[a->sym].name, (unsigned long long)va);
	else if ((int64_t)off < 0)
		snprintf(buf, n, "%s %s-0x%llx (0x%llx)", r->s->syms[task].name,
			 r->s->syms[a->sym].name, (unsigned long long)(0 - off),
			 (unsigned long long)va);
	else
		snprintf(buf, n, "%s %s+0x%llx (0x%llx)", r->s->syms[task].name,
			 r->s->syms[a->sym].name, (unsigned long long)off,
			 (unsigned long long)va);
	return buf;
}

static void live_add(struct runner *r, struct mml_task *t)
{
	r->live[r->nlive++] = t;
}

static void live_del(struct runner *r, struct mml_task *t)
{
	int i;

	for (i = 0; i < r->nlive; i++) {
		if (r->live[i] == t) {
			memmove(&r->live[i], &r->live[i + 1],
				(r->nlive - i - 1) * sizeof(r->live[0]));
			r->nlive--;
			return;
		}
	}
}

/* ---- results ---- */

static void expect_str(const struct scn_expect *e, char *buf, size_t n)
{
	size_t o = 0;
	int i;

	buf[0] = '\0';
	if (e->nerr == 0)
		snprintf(buf, n, "ok");
	for (i = 0; i < e->nerr && o < n; i++)
		o += snprintf(buf + o, n - o, "%s%s", i ? "|" : "",
			      scn_errno_name(e->err[i]));
}

/* ret: >= 0 success, -errno failure.  SCN_PASS or SCN_FAIL. */
static int check_result(struct runner *r, long ret)
{
	int got = ret < 0 ? (int)-ret : 0;
	char exp[64];

	if (scn_result_ok(&r->op->expect, got))
		return SCN_PASS;
	expect_str(&r->op->expect, exp, sizeof(exp));
	return fail(r, "%s: expected %s, got %s", cmd_name(r->op), exp,
		    scn_errno_name(got));
}

/* ---- tasks and syscalls ---- */

static int do_task(struct runner *r, const struct scn_op *op)
{
	struct mml_task *t = NULL;
	int ret;

	switch (op->kind) {
	case SCN_OP_SPAWN:
		ret = mml_spawn(r->m, &t);
		break;
	case SCN_OP_THREAD:
		ret = mml_thread_new(task_of(r, op->task), &t);
		break;
	default:
		ret = mml_fork(task_of(r, op->task), &t);
		break;
	}
	if (check_result(r, ret))
		return SCN_FAIL;
	if (ret < 0)
		return SCN_PASS;	/* failed as expected: no task */
	r->vals[op->def].task = t;
	live_add(r, t);
	return SCN_PASS;
}

static int do_exit(struct runner *r, const struct scn_op *op)
{
	struct mml_task *t = task_of(r, op->task);
	int ret = mml_exit(t);

	/* the task is gone unless exit said otherwise */
	if (ret == 0) {
		live_del(r, t);
		r->vals[op->task].task = NULL;
	}
	return check_result(r, ret);
}

static int do_mmap(struct runner *r, const struct scn_op *op)
{
	long ret = mml_mmap(task_of(r, op->task), addr_of(r, &op->addr), op->len,
			    (int)op->arg, (int)op->flags, (int)op->fd, op->off);

	/* an address is never in the errno range: 47-bit user space */
	if (ret < 0 && ret >= -4095)
		return check_result(r, ret);
	if (check_result(r, 0))
		return SCN_FAIL;
	if (op->def >= 0)
		r->vals[op->def].v = (uint64_t)ret;
	return SCN_PASS;
}

static int do_range(struct runner *r, const struct scn_op *op)
{
	struct mml_task *t = task_of(r, op->task);
	uint64_t a = addr_of(r, &op->addr);
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
	return check_result(r, ret);
}

static void fill(unsigned char *buf, uint64_t len, const struct scn_pattern *pat)
{
	uint64_t i;

	if (pat->n == 1) {
		memset(buf, pat->bytes[0], len);
		return;
	}
	for (i = 0; i < len; i++)
		buf[i] = pat->bytes[i % pat->n];
}

static int do_write(struct runner *r, const struct scn_op *op)
{
	unsigned char *buf = malloc(op->len ? op->len : 1);
	int ret;

	if (!buf)
		return fail(r, "write: out of host memory for %llu bytes",
			    (unsigned long long)op->len);
	fill(buf, op->len, &op->pat);
	ret = mml_write(task_of(r, op->task), addr_of(r, &op->addr), buf, op->len);
	free(buf);
	return check_result(r, ret);
}

/* Up to 16 bytes at p as a C string, for "expected ..., got ..." */
static void quote(const unsigned char *p, uint64_t n, char *buf, size_t size)
{
	size_t o = 0;
	uint64_t i;

	buf[o++] = '"';
	for (i = 0; i < n && i < 16 && o + 6 < size; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\')
			buf[o++] = p[i];
		else
			o += snprintf(buf + o, size - o, "\\x%02x", p[i]);
	}
	if (i < n && o + 5 < size)
		o += snprintf(buf + o, size - o, "...");
	snprintf(buf + o, size - o, "\"");
}

static bool pattern_matches(const struct scn_pattern *pat,
			    const unsigned char *buf, uint64_t len)
{
	uint64_t i;

	for (i = 0; i < len && buf[i] == pat->bytes[i % pat->n]; i++)
		;
	return i == len;
}

bool scn_pattern_matches(const struct scn_op *op, const unsigned char *buf,
			 uint64_t len)
{
	int i;

	if (pattern_matches(&op->pat, buf, len))
		return true;
	for (i = 0; i < op->nalt; i++)
		if (pattern_matches(&op->alt[i], buf, len))
			return true;
	return false;
}

/* " (or one of 2 other allowed patterns)" after a mismatch, if any */
static const char *alts_note(const struct scn_op *op, char *buf, size_t n)
{
	buf[0] = '\0';
	if (op->nalt)
		snprintf(buf, n, " (nor %s%d other allowed pattern%s)",
			 op->nalt > 1 ? "any of " : "", op->nalt,
			 op->nalt > 1 ? "s" : "");
	return buf;
}

static int do_read(struct runner *r, const struct scn_op *op)
{
	const struct scn_pattern *pat = &op->pat;
	unsigned char *buf = malloc(op->len ? op->len : 1);
	char w[160], e[96], g[96], a[64];
	uint64_t i;
	int ret;

	if (!buf)
		return fail(r, "read: out of host memory for %llu bytes",
			    (unsigned long long)op->len);
	ret = mml_read(task_of(r, op->task), addr_of(r, &op->addr), buf, op->len);
	if (ret < 0 || !pat->present || check_result(r, 0)) {
		free(buf);
		return ret < 0 || !pat->present ? check_result(r, ret) : SCN_FAIL;
	}
	if (scn_pattern_matches(op, buf, op->len)) {
		free(buf);
		return SCN_PASS;
	}
	for (i = 0; i < op->len && buf[i] == pat->bytes[i % pat->n]; i++)
		;
	where(r, op->task, &op->addr, i, w, sizeof(w));
	if (pat->n == 1) {
		ret = fail(r, "read: expected 0x%02x at %s, got 0x%02x%s",
			   pat->bytes[0], w, buf[i], alts_note(op, a, sizeof(a)));
	} else {
		/* show the pattern's period that holds the first difference */
		uint64_t start = i - i % pat->n;
		uint64_t n = op->len - start < pat->n ? op->len - start : pat->n;

		quote(pat->bytes, n, e, sizeof(e));
		quote(buf + start, n, g, sizeof(g));
		ret = fail(r, "read: expected %s at %s, got %s (first difference at byte %llu)%s",
			   e, where(r, op->task, &op->addr, start, w, sizeof(w)), g,
			   (unsigned long long)i, alts_note(op, a, sizeof(a)));
	}
	free(buf);
	return ret;
}

/* ---- pins and the device's DMA ---- */

static const char *foll_str(long foll, char *buf, size_t n)
{
	static const struct { long bit; const char *name; } names[] = {
		{ MML_FOLL_WRITE, "write" }, { MML_FOLL_LONGTERM, "longterm" },
		{ MML_FOLL_FORCE, "force" }, { MML_FOLL_FAST, "fast" },
	};
	size_t o = 0;
	unsigned i;

	snprintf(buf, n, "ro");
	for (i = 0; i < sizeof(names) / sizeof(names[0]) && o < n; i++)
		if (foll & names[i].bit)
			o += snprintf(buf + o, n - o, "%s%s", o ? "," : "", names[i].name);
	return buf;
}

static int do_pin(struct runner *r, const struct scn_op *op)
{
	struct mml_task *t = task_of(r, op->task);
	struct mml_pin *pin = NULL;
	char w[160], f[48];
	long ret;

	if (op->arg)
		ret = mml_get_user_pages(t, addr_of(r, &op->addr), op->len,
					 (unsigned)op->flags, &pin);
	else
		ret = mml_pin_user_pages(t, addr_of(r, &op->addr), op->len,
					 (unsigned)op->flags, &pin);
	if (op->def < 0) {
		/* the unnamed form: whatever it took goes back at once */
		mml_unpin(pin);
		return check_result(r, ret < 0 ? ret : 0);
	}
	if (ret < 0) {
		mml_unpin(pin);
		return check_result(r, ret);
	}
	if ((uint64_t)ret != op->len || !pin) {
		mml_unpin(pin);
		return fail(r, "%s %s %llu %s: expected %llu page(s), got %ld%s",
			    cmd_name(op), where(r, op->task, &op->addr, 0, w, sizeof(w)),
			    (unsigned long long)op->len, foll_str(op->flags, f, sizeof(f)),
			    (unsigned long long)op->len, ret, pin ? "" : " and no pin");
	}
	r->vals[op->def].pin = pin;
	return SCN_PASS;
}

static int do_unpin(struct runner *r, const struct scn_op *op)
{
	mml_unpin(r->vals[op->pin].pin);
	r->vals[op->pin].pin = NULL;
	return SCN_PASS;
}

static int do_dma_write(struct runner *r, const struct scn_op *op)
{
	unsigned char *buf = malloc(op->len ? op->len : 1);
	int ret;

	if (!buf)
		return fail(r, "dma-write: out of host memory for %llu bytes",
			    (unsigned long long)op->len);
	fill(buf, op->len, &op->pat);
	ret = mml_dma_write(r->vals[op->pin].pin, op->pos, buf, op->len);
	free(buf);
	return check_result(r, ret);
}

static int do_dma_read(struct runner *r, const struct scn_op *op)
{
	const struct scn_pattern *pat = &op->pat;
	unsigned char *buf = malloc(op->len ? op->len : 1);
	const char *name = r->s->syms[op->pin].name;
	uint64_t i, at;
	char e[96], g[96], a[64];
	int ret;

	if (!buf)
		return fail(r, "dma-read: out of host memory for %llu bytes",
			    (unsigned long long)op->len);
	ret = mml_dma_read(r->vals[op->pin].pin, op->pos, buf, op->len);
	if (ret < 0 || !pat->present || check_result(r, 0)) {
		free(buf);
		return ret < 0 || !pat->present ? check_result(r, ret) : SCN_FAIL;
	}
	if (scn_pattern_matches(op, buf, op->len)) {
		free(buf);
		return SCN_PASS;
	}
	for (i = 0; i < op->len && buf[i] == pat->bytes[i % pat->n]; i++)
		;
	at = op->pos + i;
	if (pat->n == 1) {
		ret = fail(r, "dma-read: expected 0x%02x at %s offset 0x%llx (page %llu), got 0x%02x%s",
			   pat->bytes[0], name, (unsigned long long)at,
			   (unsigned long long)(at / mml_page_size()), buf[i],
			   alts_note(op, a, sizeof(a)));
	} else {
		uint64_t start = i - i % pat->n;
		uint64_t n = op->len - start < pat->n ? op->len - start : pat->n;

		quote(pat->bytes, n, e, sizeof(e));
		quote(buf + start, n, g, sizeof(g));
		ret = fail(r, "dma-read: expected %s at %s offset 0x%llx, got %s "
			   "(first difference at byte %llu)%s", e, name,
			   (unsigned long long)(op->pos + start), g, (unsigned long long)i,
			   alts_note(op, a, sizeof(a)));
	}
	free(buf);
	return ret;
}

/* Unpin what the file still holds (after a failure, or on request). */
static void release_pins(struct runner *r)
{
	int i;

	for (i = 0; i < r->s->nsyms; i++) {
		mml_unpin(r->vals[i].pin);
		r->vals[i].pin = NULL;
	}
}

/* ---- swap and reclaim ---- */

/*
 * A file for "swapon ... file": a fresh name from mkstemp in $TMPDIR (or
 * /tmp), which mml_swapon opens, truncates and sizes.  The name is
 * unlinked as soon as mml_swapon returns: the library keeps its own
 * descriptor, and nothing is left behind whatever happens later (a
 * failed expectation, a crash).  0 and the path in buf, or -errno.
 */
int scn_swap_file_new(char *buf, size_t n)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
	if ((size_t)snprintf(buf, n, "%s/mmlab-swap.XXXXXX", dir) >= n)
		return -ENAMETOOLONG;
	fd = mkstemp(buf);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int do_swapon(struct runner *r, const struct scn_op *op)
{
	char path[4096];
	int ret;

	if (op->swap_file) {
		ret = scn_swap_file_new(path, sizeof(path));
		if (ret < 0)
			return fail(r, "swapon: cannot create a swap file in $TMPDIR or /tmp: %s",
				    strerror(-ret));
	}
	ret = mml_swapon(r->m, op->swap_file ? path : NULL, op->len, op->prio);
	if (op->swap_file)
		unlink(path);
	if (op->def < 0) {
		/* the unnamed form: a device it made goes at once */
		if (ret >= 0 && mml_swapoff(r->m, ret) < 0 && scn_result_ok(&op->expect, 0))
			return fail(r, "swapon: the unnamed device %d could not be swapped off", ret);
		return check_result(r, ret < 0 ? ret : 0);
	}
	if (check_result(r, ret < 0 ? ret : 0))
		return SCN_FAIL;
	r->vals[op->def].swap = ret;
	return SCN_PASS;
}

static int do_swapoff(struct runner *r, const struct scn_op *op)
{
	struct scn_val *v = &r->vals[op->swap];
	/* a device already swapped off: the library's answer for a bad id */
	int ret = mml_swapoff(r->m, v->swap);

	if (ret == 0)
		v->swap = -1;
	return check_result(r, ret);
}

static int do_reclaim(struct runner *r, const struct scn_op *op)
{
	long ret = mml_reclaim(r->m, op->len);

	r->reclaimed = ret;
	return check_result(r, ret);
}

static int do_expect_killed(struct runner *r, const struct scn_op *op)
{
	int sig = mml_task_killed(task_of(r, op->task));

	if ((sig != 0) == (op->value != 0))
		return SCN_PASS;
	return fail(r, "expected %s to be %s, it is %s", r->s->syms[op->task].name,
		    op->value ? "killed" : "alive", sig ? "killed by the OOM killer" : "alive");
}

static int do_expect_reclaimed(struct runner *r, const struct scn_op *op)
{
	if (scn_cmp_holds(r->reclaimed, op->cmp, op->value))
		return SCN_PASS;
	return fail(r, "expected reclaimed %s %lld, got %ld", scn_cmp_name(op->cmp),
		    (long long)op->value, r->reclaimed);
}

/* ---- tags ---- */

static int do_tag(struct runner *r, const struct scn_op *op)
{
	uint64_t a = addr_of(r, &op->addr), end = a + op->len;
	int ret = 0;

	for (; a < end && a >= addr_of(r, &op->addr) && !ret; a = scn_next_granule(a))
		ret = mml_set_tag(task_of(r, op->task), a, op->tags[0]);
	return check_result(r, ret);
}

static void tags_str(const struct scn_op *op, char *buf, size_t n)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; i < op->ntags && o < n; i++)
		o += snprintf(buf + o, n - o, "%s%u", i ? "|" : "", op->tags[i]);
}

/*
 * Every granule of the range holds the same one of the allowed tags
 * (==), or none holds the tag (!=).  Without a comparison only the
 * result of the loads counts.
 */
static int do_expect_tag(struct runner *r, const struct scn_op *op)
{
	uint64_t start = addr_of(r, &op->addr), end = start + op->len, a;
	unsigned first = 0, tag = 0;
	char w[160], e[64];
	int ret = 0, k;

	for (a = start; a < end && a >= start; a = scn_next_granule(a)) {
		ret = mml_get_tag(task_of(r, op->task), a, &tag);
		if (ret < 0)
			break;
		if (a == start)
			first = tag;
		if (op->ntags == 0)
			continue;
		for (k = 0; k < op->ntags && op->tags[k] != (op->cmp == SCN_EQ ? first : tag); k++)
			;
		if (op->cmp == SCN_EQ ? (k == op->ntags || tag != first) : k < op->ntags)
			break;
	}
	if (op->ntags == 0 || ret < 0) {
		if (op->ntags == 0)
			return check_result(r, ret);
		return fail(r, "expect tag: expected %s, got %s at %s", "ok", scn_errno_name(-ret),
			    where(r, op->task, &op->addr, a - start, w, sizeof(w)));
	}
	if (a >= end || a < start)
		return SCN_PASS;
	tags_str(op, e, sizeof(e));
	return fail(r, "expect tag: expected %s%s at %s, got %u", op->cmp == SCN_EQ ? "" : "not ", e,
		    where(r, op->task, &op->addr, a - start, w, sizeof(w)), tag);
}

/* ---- fault injection ---- */

static int do_fail(struct runner *r, const struct scn_op *op)
{
	struct mml_fail f = {
		.sites = op->fail_sites, .countdown = op->fail_nth, .repeat = op->fail_repeat,
	};
	int ret = mml_fail_set(r->m, op->fail_sites ? &f : NULL);

	if (ret < 0)
		return bad(r, 1, "fail: the library refused the schedule (%s)", scn_errno_name(-ret));
	return SCN_PASS;
}

/* ---- pagemap ---- */

static void pm_describe(uint64_t e, char *buf, size_t n)
{
	snprintf(buf, n, "0x%016llx%s%s%s%s%s%s",
		 (unsigned long long)e,
		 e & MML_PM_PRESENT ? " present" : "",
		 e & MML_PM_SWAP ? " swapped" : "",
		 e & MML_PM_MMAP_EXCLUSIVE ? " exclusive" : "",
		 e & MML_PM_SOFT_DIRTY ? " soft-dirty" : "",
		 e & MML_PM_UFFD_WP ? " uffd-wp" : "",
		 e & MML_PM_FILE ? " file" : "");
	if (e & MML_PM_PRESENT) {
		size_t o = strlen(buf);

		snprintf(buf + o, n - o, " pfn 0x%llx",
			 (unsigned long long)(e & MML_PM_PFRAME_MASK));
	} else if (e & MML_PM_SWAP) {
		size_t o = strlen(buf);

		snprintf(buf + o, n - o, " type %llu offset 0x%llx",
			 (unsigned long long)(e & MML_PM_SWAP_TYPE_MASK),
			 (unsigned long long)((e & MML_PM_PFRAME_MASK) >>
					      MML_PM_SWAP_OFFSET_SHIFT));
	} else if (!e) {
		snprintf(buf, n, "0x0 (none)");
	}
}

static void pm_bits(uint64_t set, uint64_t clear, char *buf, size_t n)
{
	static const struct { uint64_t bit; const char *name; } bits[] = {
		{ MML_PM_PRESENT, "present" }, { MML_PM_SWAP, "swapped" },
		{ MML_PM_MMAP_EXCLUSIVE, "exclusive" },
		{ MML_PM_SOFT_DIRTY, "soft-dirty" }, { MML_PM_UFFD_WP, "uffd-wp" },
		{ MML_PM_FILE, "file" },
	};
	size_t o = 0;
	unsigned i;

	buf[0] = '\0';
	for (i = 0; i < sizeof(bits) / sizeof(bits[0]) && o < n; i++) {
		if (set & bits[i].bit)
			o += snprintf(buf + o, n - o, "%s%s", o ? " " : "", bits[i].name);
		if (clear & bits[i].bit)
			o += snprintf(buf + o, n - o, "%s!%s", o ? " " : "", bits[i].name);
	}
}

static int pagemap_at(struct runner *r, int task, const struct scn_addr *a,
		      uint64_t extra, uint64_t *e)
{
	char w[160];
	int ret = mml_pagemap(task_of(r, task), addr_of(r, a) + extra, e);

	if (ret < 0)
		return fail(r, "pagemap of %s: got %s", where(r, task, a, extra, w, sizeof(w)),
			    scn_errno_name(-ret));
	return SCN_PASS;
}

static uint64_t pages_in(uint64_t len)
{
	uint64_t ps = mml_page_size();

	return len ? (len + ps - 1) / ps : 1;
}

static int do_expect_pagemap(struct runner *r, const struct scn_op *op)
{
	uint64_t ps = mml_page_size(), i, e;
	char w[160], want[128], got[160];

	for (i = 0; i < pages_in(op->len); i++) {
		if (pagemap_at(r, op->task, &op->addr, i * ps, &e))
			return SCN_FAIL;
		if ((e & op->pm_set) == op->pm_set && !(e & op->pm_clear))
			continue;
		pm_bits(op->pm_set, op->pm_clear, want, sizeof(want));
		pm_describe(e, got, sizeof(got));
		return fail(r, "expected pagemap of %s: %s, got %s",
			    where(r, op->task, &op->addr, i * ps, w, sizeof(w)), want, got);
	}
	return SCN_PASS;
}

/* The frame mapped at a place; a frame expectation needs a present page. */
static int frame_at(struct runner *r, int task, const struct scn_addr *a, uint64_t *pfn)
{
	char w[160], got[160];
	uint64_t e;

	if (pagemap_at(r, task, a, 0, &e))
		return SCN_FAIL;
	if (!(e & MML_PM_PRESENT)) {
		pm_describe(e, got, sizeof(got));
		return fail(r, "expected a present page at %s, got pagemap %s",
			    where(r, task, a, 0, w, sizeof(w)), got);
	}
	*pfn = e & MML_PM_PFRAME_MASK;
	return SCN_PASS;
}

static int do_frame(struct runner *r, const struct scn_op *op)
{
	return frame_at(r, op->task, &op->addr, &r->vals[op->def].v);
}

static int do_expect_frames(struct runner *r, const struct scn_op *op)
{
	bool same = op->kind == SCN_OP_EXPECT_SAME;
	char w1[160], w2[160];
	uint64_t f1, f2;

	if (frame_at(r, op->task, &op->addr, &f1) ||
	    frame_at(r, op->task2, &op->addr2, &f2))
		return SCN_FAIL;
	if ((f1 == f2) == same)
		return SCN_PASS;
	return fail(r, "expected %s frame at %s and %s, got pfn 0x%llx and 0x%llx",
		    same ? "the same" : "different",
		    where(r, op->task, &op->addr, 0, w1, sizeof(w1)),
		    where(r, op->task2, &op->addr2, 0, w2, sizeof(w2)),
		    (unsigned long long)f1, (unsigned long long)f2);
}

static int do_expect_pin_frame(struct runner *r, const struct scn_op *op)
{
	uint64_t got = mml_pin_pfn(r->vals[op->pin].pin, op->pos), pfn;
	char w[160];

	if (frame_at(r, op->task, &op->addr, &pfn))
		return SCN_FAIL;
	if ((got == pfn) == (op->cmp == SCN_EQ))
		return SCN_PASS;
	return fail(r, "expected pin-frame %s %llu (pfn 0x%llx) %s the frame at %s, got pfn 0x%llx",
		    r->s->syms[op->pin].name, (unsigned long long)op->pos,
		    (unsigned long long)got, scn_cmp_name(op->cmp),
		    where(r, op->task, &op->addr, 0, w, sizeof(w)), (unsigned long long)pfn);
}

static int do_expect_frame(struct runner *r, const struct scn_op *op)
{
	uint64_t want = r->vals[op->task2].v, pfn;
	char w[160];

	if (frame_at(r, op->task, &op->addr, &pfn))
		return SCN_FAIL;
	if ((pfn == want) == (op->cmp == SCN_EQ))
		return SCN_PASS;
	return fail(r, "expected frame at %s %s %s (pfn 0x%llx), got pfn 0x%llx",
		    where(r, op->task, &op->addr, 0, w, sizeof(w)),
		    scn_cmp_name(op->cmp), r->s->syms[op->task2].name,
		    (unsigned long long)want, (unsigned long long)pfn);
}

/* ---- counters ---- */

static long stat_read(struct runner *r, enum scn_stat_src src, const char *name)
{
	return src == SCN_VMSTAT ? mml_vmstat(r->m, name) : mml_meminfo(r->m, name);
}

static int do_mark(struct runner *r)
{
	int i;

	for (i = 0; i < r->s->nstatrefs; i++)
		r->marks[i] = stat_read(r, r->s->statrefs[i].src, r->s->statrefs[i].name);
	return SCN_PASS;
}

static int do_expect_stat(struct runner *r, const struct scn_op *op)
{
	const char *src = op->src == SCN_VMSTAT ? "vmstat" : "meminfo";
	long v = stat_read(r, op->src, op->name);
	int64_t got;

	if (v == -ENOENT)
		return bad(r, op->name_col, "unknown %s counter '%s'", src, op->name);
	got = v;
	if (op->delta)
		got -= r->marks[op->statref];
	if (scn_cmp_holds(got, op->cmp, op->value))
		return SCN_PASS;
	return fail(r, "expected %s%s %s %s %lld, got %lld", src,
		    op->delta ? "-delta" : "", op->name, scn_cmp_name(op->cmp),
		    (long long)op->value, (long long)got);
}

static int do_expect_addr(struct runner *r, const struct scn_op *op)
{
	uint64_t a = addr_of(r, &op->addr), b = addr_of(r, &op->addr2);
	bool holds;

	switch (op->cmp) {
	case SCN_EQ: holds = a == b; break;
	case SCN_NE: holds = a != b; break;
	case SCN_LT: holds = a < b; break;
	case SCN_LE: holds = a <= b; break;
	case SCN_GT: holds = a > b; break;
	default: holds = a >= b; break;
	}
	if (holds)
		return SCN_PASS;
	return fail(r, "expected address 0x%llx %s 0x%llx", (unsigned long long)a,
		    scn_cmp_name(op->cmp), (unsigned long long)b);
}

/* ---- views ---- */

/* A view into a malloc'd string, so it can be filtered or counted. */
static char *capture(struct runner *r, const struct scn_op *op, int *ret)
{
	struct mml_task *t = op->task >= 0 ? task_of(r, op->task) : NULL;
	char *text = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&text, &n);

	if (!f) {
		*ret = -ENOMEM;
		return NULL;
	}
	if ((op->kind == SCN_OP_SHOW && op->arg == SCN_SHOW_SMAPS) ||
	    op->kind == SCN_OP_EXPECT_SMAPS)
		*ret = mml_show_smaps(t, f);
	else
		*ret = mml_show_maps(t, f);
	fclose(f);
	return text;
}

static int do_expect_vmas(struct runner *r, const struct scn_op *op)
{
	uint64_t lo = addr_of(r, &op->addr), hi = lo + op->len, s, e;
	int ret, count = 0;
	char *text = capture(r, op, &ret), *line;

	if (ret < 0) {
		free(text);
		return fail(r, "maps of %s: got %s", r->s->syms[op->task].name,
			    scn_errno_name(-ret));
	}
	for (line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL)
		if (scn_vma_line(line, &s, &e) && s < hi && e > lo)
			count++;
	free(text);
	if (scn_cmp_holds(count, op->cmp, op->value))
		return SCN_PASS;
	return fail(r, "expected vma-count %s %s %lld, got %d", r->s->syms[op->task].name,
		    scn_cmp_name(op->cmp), (long long)op->value, count);
}

static int do_expect_smaps(struct runner *r, const struct scn_op *op)
{
	uint64_t a = addr_of(r, &op->addr);
	char w[160], want[96];
	int64_t kb = 0;
	int ret;
	char *text = capture(r, op, &ret);

	if (ret >= 0)
		ret = scn_smaps_field(text, a, op->name, &kb, NULL, NULL);
	free(text);
	where(r, op->task, &op->addr, 0, w, sizeof(w));
	scn_values_str(op, want, sizeof(want));
	if (ret == -ENOENT)
		return fail(r, "expected smaps %s %s %s kB, got no VMA at the address",
			    w, op->name, want);
	if (ret < 0)
		return fail(r, "smaps of %s: got %s", w, scn_errno_name(-ret));
	if (scn_value_holds(op, kb))
		return SCN_PASS;
	return fail(r, "expected smaps %s %s %s kB, got %lld kB", w, op->name, want,
		    (long long)kb);
}

/* maps or smaps, whole or only the VMA that holds an address. */
static int show_maps(struct runner *r, const struct scn_op *op)
{
	bool smaps = op->arg == SCN_SHOW_SMAPS, in = false;
	uint64_t a = op->has_addr ? addr_of(r, &op->addr) : 0, s, e;
	struct mml_task *t = task_of(r, op->task);
	char *text, *line, *nl;
	int ret;

	text = capture(r, op, &ret);
	if (ret < 0) {
		free(text);
		return fail(r, "show %s %s: got %s", smaps ? "smaps" : "maps",
			    r->s->syms[op->task].name, scn_errno_name(-ret));
	}
	fprintf(r->out, "--- /proc/%d/%s of %s%s ---\n", mml_task_pid(t),
		smaps ? "smaps" : "maps", r->s->syms[op->task].name,
		op->has_addr ? ", the VMA at the address" : "");
	for (line = text; line && *line; line = nl) {
		nl = strchr(line, '\n');
		nl = nl ? nl + 1 : line + strlen(line);
		if (op->has_addr && scn_vma_line(line, &s, &e))
			in = s <= a && a < e;
		if (!op->has_addr || in)
			fwrite(line, 1, nl - line, r->out);
	}
	free(text);
	return SCN_PASS;
}

static int show_pagemap(struct runner *r, const struct scn_op *op)
{
	uint64_t ps = mml_page_size(), i, e;
	char w[160], d[160];

	for (i = 0; i < pages_in(op->len); i++) {
		if (pagemap_at(r, op->task, &op->addr, i * ps, &e))
			return SCN_FAIL;
		pm_describe(e, d, sizeof(d));
		fprintf(r->out, "pagemap %s: %s\n",
			where(r, op->task, &op->addr, i * ps, w, sizeof(w)), d);
	}
	return SCN_PASS;
}

/* show vmstat|meminfo NAME...: just those, as "name value". */
static int show_counters(struct runner *r, const struct scn_op *op)
{
	enum scn_stat_src src = op->arg == SCN_SHOW_VMSTAT ? SCN_VMSTAT : SCN_MEMINFO;
	char *names = strdup(op->name), *save = NULL, *n;
	int ret = SCN_PASS;

	if (!names)
		return fail(r, "show: out of host memory");
	for (n = strtok_r(names, " ", &save); n; n = strtok_r(NULL, " ", &save)) {
		long v = stat_read(r, src, n);

		if (v == -ENOENT) {
			ret = bad(r, op->name_col, "unknown %s counter '%s'",
				  src == SCN_VMSTAT ? "vmstat" : "meminfo", n);
			break;
		}
		if (src == SCN_VMSTAT)
			fprintf(r->out, "%s %ld\n", n, v);
		else	/* as /proc/meminfo: HugePages_* count pages, the rest kB */
			fprintf(r->out, "%s: %ld%s\n", n, v,
				strncmp(n, "HugePages_", 10) ? " kB" : "");
	}
	free(names);
	return ret;
}

static int do_show(struct runner *r, const struct scn_op *op)
{
	int ret;

	switch (op->arg) {
	case SCN_SHOW_MAPS:
	case SCN_SHOW_SMAPS:
		return show_maps(r, op);
	case SCN_SHOW_PAGEMAP:
		return show_pagemap(r, op);
	default:
		if (op->name)
			return show_counters(r, op);
		fprintf(r->out, "--- /proc/%s ---\n",
			op->arg == SCN_SHOW_VMSTAT ? "vmstat" : "meminfo");
		ret = op->arg == SCN_SHOW_VMSTAT ? mml_show_vmstat(r->m, r->out) :
						   mml_show_meminfo(r->m, r->out);
		if (ret < 0)
			return fail(r, "show: got %s", scn_errno_name(-ret));
		return SCN_PASS;
	}
}

/* ---- the machine ---- */

#define DEFAULT_RAM	(64ULL << 20)	/* the library's, for ram= left out */

/* What the command line asked for every machine: bugs, fault injection. */
static int machine_arm(struct runner *r)
{
	const struct scn_opts *o = r->o;
	int i, ret;

	for (i = 0; o && i < o->nbugs; i++) {
		ret = mml_bug_inject(r->m, o->bugs[i]);
		if (ret < 0) {
			fprintf(r->err, "%s: unknown bug '%s' (see 'mmlab bugs')\n",
				r->s->name, o->bugs[i]);
			return SCN_BAD;
		}
	}
	if (o && o->fail_rate_ppm) {
		struct mml_fail f = {
			.sites = MML_FAIL_ALL,
			.rate_ppm = o->fail_rate_ppm,
			.seed = o->fail_seed,
		};

		ret = mml_fail_set(r->m, &f);
		if (ret < 0) {
			fprintf(r->err, "%s: bad fault-injection rate %u ppm\n",
				r->s->name, o->fail_rate_ppm);
			return SCN_BAD;
		}
	}
	return SCN_PASS;
}

static int machine_start(struct runner *r, const struct scn_op *op)
{
	struct mml_config cfg = { .flags = MML_CHECK_EVERY_OP };
	uint64_t cap = r->limits->ram;
	int status;

	scn_machine_config(op, &cfg);
	if (r->no_check)
		cfg.flags &= ~MML_CHECK_EVERY_OP;
	if (r->o && r->o->quiet)
		cfg.flags |= MML_QUIET;
	/* cut, not refused: the rest of a fuzzed file still gets to run */
	if (cap && (cfg.ram_bytes ? cfg.ram_bytes : DEFAULT_RAM) > cap)
		cfg.ram_bytes = cap;
	r->m = mml_machine_new(&cfg);
	if (!r->m) {
		fprintf(r->err, "%s: cannot create the machine\n", r->s->name);
		return SCN_BAD;
	}
	status = machine_arm(r);
	if (status) {
		mml_machine_free(r->m);
		r->m = NULL;
	}
	return status;
}

/* Exit what is left, youngest first, then free: leaks fail the scenario. */
static int machine_stop(struct runner *r, int status)
{
	/*
	 * Pins outlive the processes, as a device's do; a passing file must
	 * unpin what it pinned, or mml_machine_free reports the leak.  After
	 * a failure they are released, so the report is only the failure.
	 */
	bool release = status != SCN_PASS || (r->o && r->o->release_pins);
	int ret;

	r->op = NULL;
	while (r->nlive) {
		struct mml_task *t = r->live[--r->nlive];

		ret = mml_exit(t);
		if (ret < 0 && status == SCN_PASS)
			status = fail(r, "exit at the end of the scenario: expected ok, got %s",
				      scn_errno_name(-ret));
	}
	if (release)
		release_pins(r);
	if (r->o && r->o->stats) {
		r->o->stats->reports = mml_report_count(r->m);
		r->o->stats->injected = mml_fail_injected(r->m);
	}
	ret = mml_machine_free(r->m);
	r->m = NULL;
	if (r->o && r->o->stats)
		r->o->stats->free_ret = ret;
	if (ret < 0 && status == SCN_PASS)
		status = fail(r, "end of scenario: expected no leak and intact "
			      "invariants, got %s", scn_errno_name(-ret));
	return status;
}

static int step(struct runner *r, const struct scn_op *op)
{
	switch (op->kind) {
	case SCN_OP_MACHINE:
		return SCN_PASS;	/* read before the first statement */
	case SCN_OP_SPAWN:
	case SCN_OP_THREAD:
	case SCN_OP_FORK:
		return do_task(r, op);
	case SCN_OP_EXIT:
		return do_exit(r, op);
	case SCN_OP_MMAP:
		return do_mmap(r, op);
	case SCN_OP_MUNMAP:
	case SCN_OP_MPROTECT:
	case SCN_OP_MADVISE:
		return do_range(r, op);
	case SCN_OP_WRITE:
		return do_write(r, op);
	case SCN_OP_READ:
		return do_read(r, op);
	case SCN_OP_FRAME:
		return do_frame(r, op);
	case SCN_OP_EXPECT_PAGEMAP:
		return do_expect_pagemap(r, op);
	case SCN_OP_EXPECT_SAME:
	case SCN_OP_EXPECT_DIFF:
		return do_expect_frames(r, op);
	case SCN_OP_EXPECT_FRAME:
		return do_expect_frame(r, op);
	case SCN_OP_EXPECT_STAT:
		return do_expect_stat(r, op);
	case SCN_OP_EXPECT_VMAS:
		return do_expect_vmas(r, op);
	case SCN_OP_EXPECT_SMAPS:
		return do_expect_smaps(r, op);
	case SCN_OP_EXPECT_ADDR:
		return do_expect_addr(r, op);
	case SCN_OP_MARK:
		return do_mark(r);
	case SCN_OP_CHECK:
		return check_result(r, mml_check(r->m));
	case SCN_OP_SHOW:
		return do_show(r, op);
	case SCN_OP_ECHO:
		fwrite(op->echo, 1, op->len, r->out);
		fputc('\n', r->out);
		return SCN_PASS;
	case SCN_OP_PIN:
		return do_pin(r, op);
	case SCN_OP_UNPIN:
		return do_unpin(r, op);
	case SCN_OP_DMA_READ:
		return do_dma_read(r, op);
	case SCN_OP_DMA_WRITE:
		return do_dma_write(r, op);
	case SCN_OP_EXPECT_PIN_FRAME:
		return do_expect_pin_frame(r, op);
	case SCN_OP_SWAPON:
		return do_swapon(r, op);
	case SCN_OP_SWAPOFF:
		return do_swapoff(r, op);
	case SCN_OP_RECLAIM:
		return do_reclaim(r, op);
	case SCN_OP_EXPECT_RECLAIMED:
		return do_expect_reclaimed(r, op);
	case SCN_OP_EXPECT_KILLED:
		return do_expect_killed(r, op);
	case SCN_OP_TAG:
		return do_tag(r, op);
	case SCN_OP_EXPECT_TAG:
		return do_expect_tag(r, op);
	case SCN_OP_FAIL:
		return do_fail(r, op);
	}
	return bad(r, 1, "internal error: unknown statement kind %d", op->kind);
}

/* Lengths that cost host memory or time in proportion: bounded on request. */
static int within_limits(struct runner *r, const struct scn_op *op)
{
	uint64_t max = r->limits->io, len = op->len;
	const char *what;

	switch (op->kind) {
	case SCN_OP_DMA_READ:
		what = "dma-read";
		break;
	case SCN_OP_DMA_WRITE:
		what = "dma-write";
		break;
	case SCN_OP_PIN:
		what = op->arg ? "get" : "pin";
		len = op->len * mml_page_size();	/* <= 256M: no overflow */
		break;
	case SCN_OP_READ:
		what = "read";
		break;
	case SCN_OP_WRITE:
		what = "write";
		break;
	case SCN_OP_EXPECT_PAGEMAP:
		what = "expect pagemap";
		break;
	case SCN_OP_TAG:
	case SCN_OP_EXPECT_TAG:
		what = op->kind == SCN_OP_TAG ? "tag" : "expect tag";
		break;
	case SCN_OP_SHOW:
		if (op->arg != SCN_SHOW_PAGEMAP)
			return SCN_PASS;
		what = "show pagemap";
		break;
	case SCN_OP_SWAPON:
		/* the library's swap_map and cache cost host memory per slot */
		what = "swapon";
		max = r->limits->swap ? r->limits->swap : r->limits->ram * 16;
		break;
	default:
		return SCN_PASS;
	}
	if (!max || len <= max)
		return SCN_PASS;
	return bad(r, 1, "%s of %llu bytes is over this run's limit of %llu",
		   what, (unsigned long long)len, (unsigned long long)max);
}

/* "check => EUCLEAN" (or "=> any") asks for a report; nothing else does. */
static bool wants_reports(const struct scn_op *op)
{
	return op->kind == SCN_OP_CHECK && scn_result_ok(&op->expect, EUCLEAN);
}

int scn_exec(const struct scn_script *s, const struct scn_opts *o)
{
	static const struct scn_limits no_limits;
	struct runner r = {
		.s = s,
		.out = o && o->out ? o->out : stdout,
		.err = o && o->err ? o->err : stderr,
		.verbose = o && o->verbose,
		.no_check = o && o->no_check,
		.o = o,
		.limits = o && o->limits ? o->limits : &no_limits,
	};
	int i, nops = s->nops, status;
	long reports, now;

	/* at most one task per statement: that bounds the live list */
	r.vals = calloc(s->nsyms + 1, sizeof(*r.vals));
	r.marks = calloc(s->nstatrefs + 1, sizeof(*r.marks));
	r.live = calloc(s->nops + 1, sizeof(*r.live));
	if (!r.vals || !r.marks || !r.live) {
		fprintf(r.err, "%s: out of memory\n", s->name);
		status = SCN_BAD;
		goto out;
	}
	status = machine_start(&r, s->nops && s->ops[0].kind == SCN_OP_MACHINE ?
				   &s->ops[0] : NULL);
	if (status)
		goto out;
	if (r.limits->statements && nops > r.limits->statements)
		nops = r.limits->statements;
	reports = mml_report_count(r.m);
	for (i = 0; i < nops && status == SCN_PASS; i++) {
		r.op = &s->ops[i];
		if (r.verbose)
			fprintf(r.out, "%s:%u: %s\n", s->name, r.op->line, r.op->text);
		fflush(r.out);
		status = within_limits(&r, r.op);
		if (status == SCN_PASS)
			status = step(&r, r.op);
		fflush(r.out);
		/*
		 * The library goes on returning what Linux would after it
		 * reports a broken invariant; blame the statement that made
		 * the report, not the teardown that would find it later.
		 */
		now = mml_report_count(r.m);
		if (now != reports && status != SCN_BAD && !wants_reports(r.op))
			status = fail(&r, "expected the invariants to hold, got %ld report(s)",
				      now - reports);
		reports = now;
	}
	if (o && o->stats)
		o->stats->statements = i;
	status = machine_stop(&r, status);
out:
	free(r.vals);
	free(r.marks);
	free(r.live);
	return status;
}

int scn_run_string(const char *name, const char *text, size_t len,
		   const struct scn_opts *o)
{
	struct scn_script *s;
	int status;

	if (scn_parse(name, text, len, &s, o ? o->err : NULL) < 0)
		return SCN_BAD;
	status = scn_exec(s, o);
	scn_script_free(s);
	return status;
}

int scn_run_file(const char *path, const struct scn_opts *o)
{
	FILE *err = o && o->err ? o->err : stderr;
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t len = 0, cap = 0, n;
	int status;

	if (!f) {
		fprintf(err, "%s: %s\n", path, strerror(errno));
		return SCN_BAD;
	}
	do {
		if (len == cap) {
			char *nt = realloc(text, cap = cap ? cap * 2 : 65536);

			if (!nt) {
				fprintf(err, "%s: out of memory\n", path);
				free(text);
				fclose(f);
				return SCN_BAD;
			}
			text = nt;
		}
		n = fread(text + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	if (ferror(f)) {
		fprintf(err, "%s: read error\n", path);
		free(text);
		fclose(f);
		return SCN_BAD;
	}
	fclose(f);
	status = scn_run_string(path, text, len, o);
	free(text);
	return status;
}
