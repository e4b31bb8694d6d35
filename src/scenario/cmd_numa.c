/*
 * cmd_numa.c - NUMA policies and page migration: set_mempolicy, mbind,
 * move_pages, migrate_pages, expect node, expect mempolicy; migrate
 * unmap and migrate move,
 * a migration held half way (mmlab's alone) to watch what meets its
 * migration entries.
 *
 * NODES is a node list as Linux prints one ("0-1,3"), or "none"; MODE a
 * policy (default, preferred, bind, interleave, local, preferred_many,
 * weighted_interleave) with "|static", "|relative" or "|balancing"
 * flags.  `expect node` asks move_pages without nodes (the query form)
 * for the node of one page, or its error (ENOENT: not present, EFAULT:
 * no VMA or the zero page).  A machine has nodes=N of them (1 unless
 * said).  On the host the calls are the syscalls of the task's thread;
 * one naming a node the machine has and the host lacks is skipped.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "native/observe.h"
#include "scenario/command.h"

/* MPOL_* names, in <numaif.h>'s order. */
static const char *const mode_names[] = {
	"default", "preferred", "bind", "interleave", "local", "preferred_many", "weighted_interleave",
};
#define NR_MODES	(sizeof(mode_names) / sizeof(mode_names[0]))


static bool word_is(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && !memcmp(s, w, n);
}

/* MODE: a name or a number, then "|" and its flags (static, relative, balancing); into op->arg. */
static int parse_mode(struct scn_parser *p, long *out)
{
	struct scn_tok *t = scn_need_word(p, "policy mode (default, preferred, bind, interleave, local ...)");
	size_t a = 0, b;

	if (!t)
		return -1;
	*out = 0;
	for (bool first = true; a <= t->n; a = b + 1, first = false) {
		uint64_t v;
		long bit;
		bool found = false;

		for (b = a; b < t->n && t->s[b] != '|' && (first || t->s[b] != ','); b++)
			;
		for (unsigned i = 0; first && i < NR_MODES && !found; i++)
			if (word_is(t->s + a, b - a, mode_names[i])) {
				*out |= i;
				found = true;
			}
		if (!first && !found && scn_flag(SCN_MPOL_MODE_FLAGS, t->s + a, b - a, &bit) == 0) {
			*out |= bit;
			found = true;
		}
		if (!found && !scn_num_parse(t->s + a, b - a, false, &v) && v <= 0xffff) {
			*out |= (long)v;
			found = true;
		}
		if (!found)
			return scn_perr(p, t->col + (unsigned)a, "unknown policy %s '%.*s'",
					first ? "mode" : "flag (static, relative, balancing)", (int)(b - a), t->s + a);
	}
	return 0;
}

/* NODES: "0-1,3" or "none"; nodes up to 63 (a word of mask). */
static int parse_nodes(struct scn_parser *p, uint64_t *mask)
{
	struct scn_tok *t = scn_need_word(p, "node list (0-1,3 or none)");
	size_t a = 0, b;

	if (!t)
		return -1;
	*mask = 0;
	if (scn_tok_is(t, "none"))
		return 0;
	for (; a <= t->n; a = b + 1) {
		uint64_t lo, hi;
		size_t dash;

		for (b = a; b < t->n && t->s[b] != ','; b++)
			;
		for (dash = a; dash < b && t->s[dash] != '-'; dash++)
			;
		if (scn_num_parse(t->s + a, dash - a, false, &lo) ||
		    (dash < b ? scn_num_parse(t->s + dash + 1, b - dash - 1, false, &hi) != NULL : (hi = lo, false)) ||
		    hi < lo || hi > 63)
			return scn_perr(p, t->col + (unsigned)a, "bad node list '%.*s' (nodes 0..63, as 0-1,3)",
					(int)t->n, t->s);
		for (uint64_t n = lo; n <= hi; n++)
			*mask |= 1ULL << n;
	}
	return 0;
}

static void print_nodes(FILE *f, uint64_t mask)
{
	bool any = false;

	fputc(' ', f);
	for (int n = 0; n < 64; n++) {
		int last = n;

		if (!((mask >> n) & 1))
			continue;
		while (last < 63 && ((mask >> (last + 1)) & 1))
			last++;
		fprintf(f, "%s%d", any ? "," : "", n);
		if (last > n)
			fprintf(f, "-%d", last);
		any = true;
		n = last;
	}
	if (!any)
		fputs("none", f);
}

static void print_mode(FILE *f, long mode)
{
	long flags = mode & (MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES | MPOL_F_NUMA_BALANCING);
	long m = mode & ~flags;
	char names[64];

	if (m >= 0 && (unsigned long)m < NR_MODES)
		fprintf(f, " %s", mode_names[m]);
	else
		fprintf(f, " %ld", m);
	if (flags)
		fprintf(f, "|%s", scn_flags_name(SCN_MPOL_MODE_FLAGS, flags, names, sizeof(names)));
}

/* The mask as the syscalls take it: maxnode 65 covers the word. */
#define MASK_MAXNODE	65

/* ---- set_mempolicy A MODE [NODES] ---- */

static int st_set_mempolicy(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	if (scn_parse_task(p, &op->task) < 0 || parse_mode(p, &op->arg) < 0)
		return -1;
	t = scn_peek(p);
	if (t && !scn_tok_is(t, "=>") && parse_nodes(p, &op->pos) < 0)
		return -1;
	return scn_parse_result(p, op, true);
}

static int run_set_mempolicy(struct scn_runner *r, const struct scn_op *op)
{
	unsigned long mask = (unsigned long)op->pos;

	return scn_check_result(r, mml_set_mempolicy(scn_task_of(r, op->task), (int)op->arg, &mask,
						     MASK_MAXNODE));
}

static void pr_set_mempolicy(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "set_mempolicy");
	scn_print_sym(pr, op->task);
	print_mode(pr->f, op->arg);
	print_nodes(pr->f, op->pos);
}

/* ---- mbind A ADDR LEN MODE NODES [FLAGS] ---- */

static int mf_flag(const char *s, size_t n, long *out)
{
	return scn_flag(SCN_MPOL_MF_FLAGS, s, n, out);
}

/* strict,move or move_all, or a number among them; into flags. */
static int parse_mf_flags(struct scn_parser *p, long *out)
{
	return scn_parse_flag_word(p, "flags (strict, move, move_all, or 0)", "mbind",
				   " (strict, move, move_all, or 0)", mf_flag, out);
}

static void print_mf_flags(FILE *f, long flags)
{
	char names[64];

	fprintf(f, " %s", scn_flags_name(SCN_MPOL_MF_FLAGS, flags, names, sizeof(names)));
}

static int st_mbind(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	if (scn_parse_task(p, &op->task) < 0 || scn_parse_addr(p, &op->addr) < 0 ||
	    scn_parse_len(p, "length", &op->len) < 0 || parse_mode(p, &op->arg) < 0 ||
	    parse_nodes(p, &op->pos) < 0)
		return -1;
	t = scn_peek(p);
	if (t && !scn_tok_is(t, "=>") && parse_mf_flags(p, &op->flags) < 0)
		return -1;
	return scn_parse_result(p, op, true);
}

static int run_mbind(struct scn_runner *r, const struct scn_op *op)
{
	unsigned long mask = (unsigned long)op->pos;

	return scn_check_result(r, mml_mbind(scn_task_of(r, op->task), scn_addr_of(r, &op->addr), op->len,
					     (int)op->arg, &mask, MASK_MAXNODE, (unsigned)op->flags));
}

static void pr_mbind(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "mbind");
	scn_print_sym(pr, op->task);
	scn_print_addr(pr, &op->addr);
	fprintf(pr->f, " %llu", (unsigned long long)op->len);
	print_mode(pr->f, op->arg);
	print_nodes(pr->f, op->pos);
	if (op->flags)
		print_mf_flags(pr->f, op->flags);
}

/* ---- move_pages A ADDR NPAGES NODE [FLAGS]: the pages not moved, or an error ---- */

static int st_move_pages(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;
	int64_t node;

	op->flags = MPOL_MF_MOVE;
	if (scn_parse_task(p, &op->task) < 0 || scn_parse_addr(p, &op->addr) < 0 ||
	    scn_parse_npages(p, &op->len) < 0)
		return -1;
	t = scn_need(p, "node");
	if (!t || scn_parse_s64(p, t, &node) < 0)
		return -1;
	op->value = node;
	t = scn_peek(p);
	if (t && !scn_tok_is(t, "=>") && parse_mf_flags(p, &op->flags) < 0)
		return -1;
	return scn_parse_result(p, op, true);
}

/* The n pages from addr, to node (or queried: nodes NULL); statuses into status. */
static long move_pages_range(struct mml_task *t, uint64_t addr, uint64_t n, const int *node, int flags,
			     int *status)
{
	uint64_t *pages = calloc(n ? n : 1, sizeof(*pages));
	int *nodes = node ? calloc(n ? n : 1, sizeof(*nodes)) : NULL;
	long ret = -ENOMEM;

	if (pages && (nodes || !node)) {
		for (uint64_t i = 0; i < n; i++) {
			pages[i] = addr + i * mml_page_size();
			if (nodes)
				nodes[i] = *node;
		}
		ret = mml_move_pages(t, n, pages, nodes, status, flags);
	}
	free(pages);
	free(nodes);
	return ret;
}

static int run_move_pages(struct scn_runner *r, const struct scn_op *op)
{
	int *status = calloc(op->len ? op->len : 1, sizeof(*status));
	int node = (int)op->value;
	long ret;
	char exp[64];

	if (!status)
		return scn_fail(r, "move_pages: out of host memory");
	ret = move_pages_range(scn_task_of(r, op->task), scn_addr_of(r, &op->addr), op->len, &node,
			       (int)op->flags, status);
	free(status);
	if (scn_count_ok(&op->expect, 0, ret))
		return SCN_PASS;
	if (op->expect.ncount)
		snprintf(exp, sizeof(exp), "%llu pages not moved", (unsigned long long)op->expect.count[0]);
	else
		snprintf(exp, sizeof(exp), "%s", op->expect.nerr ? scn_errno_name(op->expect.err[0]) : "ok");
	if (ret < 0)
		return scn_fail(r, "move_pages: expected %s, got %s", exp, scn_errno_name((int)-ret));
	return scn_fail(r, "move_pages: expected %s, got %ld pages not moved", exp, ret);
}

static void pr_move_pages(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "move_pages");
	scn_print_sym(pr, op->task);
	scn_print_addr(pr, &op->addr);
	fprintf(pr->f, " %llu %lld", (unsigned long long)op->len, (long long)op->value);
	if (op->flags != MPOL_MF_MOVE)
		print_mf_flags(pr->f, op->flags);
}

/* ---- migrate_pages A FROM TO: the pages not moved, or an error ---- */

static int st_migrate_pages(struct scn_parser *p, struct scn_op *op)
{
	if (scn_parse_task(p, &op->task) < 0 || parse_nodes(p, &op->pos) < 0 ||
	    parse_nodes(p, &op->len2) < 0)
		return -1;
	return scn_parse_result(p, op, true);
}

static int run_migrate_pages(struct scn_runner *r, const struct scn_op *op)
{
	unsigned long from = (unsigned long)op->pos, to = (unsigned long)op->len2;
	long ret = mml_migrate_pages(scn_task_of(r, op->task), MASK_MAXNODE, &from, &to);

	if (scn_count_ok(&op->expect, 0, ret))
		return SCN_PASS;
	if (ret < 0)
		return scn_check_result(r, ret);
	return scn_fail(r, "migrate_pages: expected every page moved, got %ld not moved", ret);
}

static void pr_migrate_pages(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "migrate_pages");
	scn_print_sym(pr, op->task);
	print_nodes(pr->f, op->pos);
	print_nodes(pr->f, op->len2);
}

/* ---- expect node A ADDR (N | ERRNO) ---- */

static int st_expect_node(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;
	int64_t v;

	if (scn_parse_task(p, &op->task) < 0 || scn_parse_addr(p, &op->addr) < 0)
		return -1;
	t = scn_need_word(p, "node number, or ENOENT / EFAULT");
	if (!t)
		return -1;
	if (t->n && t->s[0] == 'E') {
		int e;

		if (scn_errno(t->s, t->n, &e) < 0 || e <= 0)
			return scn_perr(p, t->col, "unknown errno name '%.*s'", (int)t->n, t->s);
		op->value = -e;
	} else if (scn_parse_s64(p, t, &v) < 0) {
		return -1;
	} else {
		op->value = v;
	}
	return scn_end_of_line(p);
}

static int run_expect_node(struct scn_runner *r, const struct scn_op *op)
{
	int status = 0;
	long ret = move_pages_range(scn_task_of(r, op->task), scn_addr_of(r, &op->addr), 1, NULL, 0, &status);
	char where[96];

	if (ret < 0)
		return scn_fail(r, "expect node: move_pages failed: %s", scn_errno_name((int)-ret));
	if (status == op->value)
		return SCN_PASS;
	scn_where(r, op->task, &op->addr, 0, where, sizeof(where));
	if (status < 0)
		return scn_fail(r, "expect node %s: expected %lld, got %s", where, (long long)op->value,
				scn_errno_name(-status));
	return scn_fail(r, "expect node %s: expected %lld, got node %d", where, (long long)op->value, status);
}

static void pr_expect_node(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "expect node");
	scn_print_sym(pr, op->task);
	scn_print_addr(pr, &op->addr);
	if (op->value < 0)
		fprintf(pr->f, " %s", scn_errno_name((int)-op->value));
	else
		fprintf(pr->f, " %lld", (long long)op->value);
}

/* ---- expect mempolicy A MODE [NODES]: the task's policy, as get_mempolicy(2) gives it ---- */

static int st_expect_mempolicy(struct scn_parser *p, struct scn_op *op)
{
	if (scn_parse_task(p, &op->task) < 0 || parse_mode(p, &op->arg) < 0)
		return -1;
	if (scn_peek(p) && parse_nodes(p, &op->pos) < 0)
		return -1;
	return scn_end_of_line(p);
}

/* What get_mempolicy gave against what is expected: a message in buf, or NULL if they agree. */
static const char *mempolicy_mismatch(const struct scn_op *op, int mode, unsigned long mask, char *buf, size_t n)
{
	FILE *f;

	if (mode == op->arg && mask == (unsigned long)op->pos)
		return NULL;
	f = fmemopen(buf, n, "w");
	if (!f)
		return "a different policy";
	fputs("got", f);
	print_mode(f, mode);
	print_nodes(f, mask);
	fclose(f);
	return buf;
}

static int run_expect_mempolicy(struct scn_runner *r, const struct scn_op *op)
{
	unsigned long mask = 0;
	int mode = 0;
	long ret = mml_get_mempolicy(scn_task_of(r, op->task), &mode, &mask, MASK_MAXNODE, 0, 0);
	char got[96];
	const char *why;

	if (ret < 0)
		return scn_fail(r, "expect mempolicy: get_mempolicy failed: %s", scn_errno_name((int)-ret));
	why = mempolicy_mismatch(op, mode, mask, got, sizeof(got));
	return why ? scn_fail(r, "expect mempolicy: %s", why) : SCN_PASS;
}

static void pr_expect_mempolicy(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "expect mempolicy");
	scn_print_sym(pr, op->task);
	print_mode(pr->f, op->arg);
	print_nodes(pr->f, op->pos);
}

/* ---- migrate [H =] unmap A ADDR NODE, migrate move H: a migration held half way ---- */

static int st_migrate_unmap(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	if (scn_parse_task(p, &op->task) < 0 || scn_parse_addr(p, &op->addr) < 0)
		return -1;
	t = scn_need(p, "node");
	if (!t || scn_parse_s64(p, t, &op->value) < 0)
		return -1;
	if (!p->name)
		return scn_parse_result(p, op, true);
	if (scn_parse_result_defining(p, op) < 0)
		return -1;
	return scn_sym_def(p, p->name, SCN_SYM_MIGRATION, &op->def);
}

static int run_migrate_unmap(struct scn_runner *r, const struct scn_op *op)
{
	long h = mml_migrate_unmap(scn_task_of(r, op->task), scn_addr_of(r, &op->addr), (int)op->value);

	if (scn_check_result(r, h < 0 ? h : 0))
		return SCN_FAIL;
	if (op->def >= 0)
		r->vals[op->def].v = (uint64_t)h;
	return SCN_PASS;
}

static void pr_migrate_unmap(const struct scn_printer *pr, const struct scn_op *op)
{
	fputs("migrate", pr->f);
	if (op->def >= 0) {
		scn_print_sym(pr, op->def);
		fputs(" =", pr->f);
	}
	fputs(" unmap", pr->f);
	scn_print_sym(pr, op->task);
	scn_print_addr(pr, &op->addr);
	fprintf(pr->f, " %lld", (long long)op->value);
}

static int st_migrate_move(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t = scn_need(p, "held migration's name");

	if (!t || scn_sym_use(p, t, t->n, SCN_SYM_MIGRATION, &op->pin) < 0)
		return -1;
	return scn_parse_result(p, op, true);
}

static int run_migrate_move(struct scn_runner *r, const struct scn_op *op)
{
	return scn_check_result(r, mml_migrate_move(r->m, (long)r->vals[op->pin].v));
}

static void pr_migrate_move(const struct scn_printer *pr, const struct scn_op *op)
{
	fputs("migrate move", pr->f);
	scn_print_sym(pr, op->pin);
}

/* The host kernel cannot be stopped half way through a migration. */
static void obs_migrate_held(struct cf_walk *w)
{
	cf_skip(w, true, "a migration held half way is mmlab's alone: the host kernel cannot stop one");
}

/* ---- the conformance walk: one observation each ---- */

static void obs_numa(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	struct cf_numa c = { .kind = op->kind, .addr = cf_addr_of(w, &op->addr), .len = op->len,
			     .mode = op->arg, .nodes = op->pos, .nodes2 = op->len2, .node = (int)op->value,
			     .flags = op->flags };
	int status = 0;
	int64_t r = w->b->numa(w->b, cf_task_of(w, op->task), &c, &status);

	if (cf_refused(w, r, op->kind != SCN_OP_EXPECT_NODE && op->kind != SCN_OP_EXPECT_MEMPOLICY))
		return;
	if (op->kind == SCN_OP_EXPECT_MEMPOLICY) {
		/* the back end gives the mode as its result and the mask (a word) in status */
		char got[96];
		const char *why = r < 0 ? NULL : mempolicy_mismatch(op, (int)r, (unsigned)status, got, sizeof(got));

		if (r < 0)
			cf_note(w, CF_SEEN, false, NULL, "get_mempolicy: %s", cf_errname(r));
		else
			cf_note(w, CF_SEEN, !why, NULL, "mode %lld mask %#x", (long long)r, (unsigned)status);
	} else if (op->kind == SCN_OP_EXPECT_NODE) {
		if (r < 0)
			cf_note(w, CF_SEEN, false, NULL, "move_pages: %s", cf_errname(r));
		else if (status < 0)
			cf_note(w, CF_SEEN, status == op->value, NULL, "%s", scn_errno_name(-status));
		else
			cf_note(w, CF_SEEN, status == op->value, NULL, "node %d", status);
	} else if (op->kind == SCN_OP_MOVE_PAGES || op->kind == SCN_OP_MIGRATE_PAGES) {
		bool ok = scn_count_ok(&op->expect, 0, r);

		if (r > 0)
			cf_note(w, CF_SEEN, ok, NULL, "%lld not moved", (long long)r);
		else
			cf_note(w, CF_SEEN, ok, NULL, "%s", cf_errname(r));
	} else {
		cf_note_result(w, r);
	}
}

const struct scn_cmd scn_numa_cmds[] = {
	{ "set_mempolicy", "TASK MODE [ NODES ]", SCN_OP_SET_MEMPOLICY, 0,
	  st_set_mempolicy, run_set_mempolicy, obs_numa, pr_set_mempolicy },
	{ "mbind", "TASK ADDR LEN MODE NODES [ MBINDFLAGS ]", SCN_OP_MBIND, 0,
	  st_mbind, run_mbind, obs_numa, pr_mbind },
	{ "move_pages", "TASK ADDR NPAGES NODE [ MBINDFLAGS ]", SCN_OP_MOVE_PAGES, 0,
	  st_move_pages, run_move_pages, obs_numa, pr_move_pages },
	{ "migrate_pages", "TASK NODES NODES", SCN_OP_MIGRATE_PAGES, 0,
	  st_migrate_pages, run_migrate_pages, obs_numa, pr_migrate_pages },
	{ "expect node", "TASK ADDR ( NODE | ERRNO )", SCN_OP_EXPECT_NODE, 0,
	  st_expect_node, run_expect_node, obs_numa, pr_expect_node },
	{ "expect mempolicy", "TASK MODE [ NODES ]", SCN_OP_EXPECT_MEMPOLICY, 0,
	  st_expect_mempolicy, run_expect_mempolicy, obs_numa, pr_expect_mempolicy },
	{ "migrate unmap", "TASK ADDR NODE", SCN_OP_MIGRATE_UNMAP, SCN_CMD_NAMES,
	  st_migrate_unmap, run_migrate_unmap, obs_migrate_held, pr_migrate_unmap },
	{ "migrate move", "MIGRATION", SCN_OP_MIGRATE_MOVE, 0,
	  st_migrate_move, run_migrate_move, obs_migrate_held, pr_migrate_move },
	{ NULL }
};
