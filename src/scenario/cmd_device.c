/*
 * cmd_device.c - the built-in device with its own MMU (mml_device_*):
 * device attach, detach, read, write, snapshot, exclusive, and expect
 * device.
 *
 * A device mirrors the process of the task it is attached to; its reads
 * and writes go through its own translations and fault them in through
 * hmm_range_fault, so they see what the process sees at that address now
 * (docs/scenario.md, "Devices").  The host has no device a user could
 * drive (Linux's HMM test driver is a module that needs
 * CONFIG_TEST_HMM): the conformance walk skips these statements.
 */
#include <stdlib.h>
#include <string.h>

#include "native/observe.h"
#include "scenario/command.h"

static const struct { const char *name; unsigned flag; } dev_flags[] = {
	{ "nonblock-fail", MML_DEV_NONBLOCK_FAIL },
	{ "slow", MML_DEV_SLOW },
	{ "refault", MML_DEV_REFAULT },
};

static const struct { const char *name; unsigned char state; } snap_states[] = {
	{ "none", MML_DEV_SNAP_NONE },
	{ "read", MML_DEV_SNAP_READ },
	{ "write", MML_DEV_SNAP_WRITE },
	{ "zero", MML_DEV_SNAP_ZERO | MML_DEV_SNAP_READ },
	{ "error", MML_DEV_SNAP_ERROR },
};

static const char *snap_name(unsigned char state)
{
	for (size_t i = 0; i < sizeof(snap_states) / sizeof(snap_states[0]); i++)
		if (snap_states[i].state == state)
			return snap_states[i].name;
	return "?";
}

static int parse_device(struct scn_parser *p, int *slot)
{
	struct scn_tok *t = scn_need(p, "device name");

	return t ? scn_sym_use(p, t, t->n, SCN_SYM_DEVICE, slot) : -1;
}

/* Every device statement: the host has no device to drive. */
static void obs_device(struct cf_walk *w, bool changes_state)
{
	cf_skip(w, changes_state, "no device on the host (Linux's HMM test driver needs CONFIG_TEST_HMM)");
}

/* "d p+0x10 (0x10000010)" */
static const char *device_place(struct scn_runner *r, const struct scn_op *op, uint64_t off,
				bool byte, char *buf, size_t n)
{
	return scn_where(r, op->dev, &op->addr, off, buf, n);
}

static void print_head(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "%s", scn_cmd_name(op));
	scn_print_sym(pr, op->dev);
	scn_print_addr(pr, &op->addr);
}

/* ---- device D = attach A [nonblock-fail] [slow] [refault] ---- */

static int st_attach(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	if (scn_parse_task(p, &op->task) < 0)
		return -1;
	while ((t = scn_peek(p)) && !scn_tok_is(t, "=>")) {
		size_t i;

		for (i = 0; i < sizeof(dev_flags) / sizeof(dev_flags[0]); i++)
			if (scn_tok_is(t, dev_flags[i].name))
				break;
		if (i == sizeof(dev_flags) / sizeof(dev_flags[0]))
			return scn_perr(p, t->col, "unknown device flag " TOKF " (nonblock-fail, slow, refault)",
					TOKA(t));
		if (op->flags & dev_flags[i].flag)
			return scn_perr(p, t->col, "device flag " TOKF " given twice", TOKA(t));
		op->flags |= dev_flags[i].flag;
		p->i++;
	}
	if (scn_parse_result_defining(p, op) < 0)
		return -1;
	return scn_sym_def(p, p->name, SCN_SYM_DEVICE, &op->def);
}

static int run_attach(struct scn_runner *r, const struct scn_op *op)
{
	struct mml_device *d = NULL;
	int ret = mml_device_new(scn_task_of(r, op->task), (unsigned)op->flags, &d);

	if (ret == 0)
		r->vals[op->def].dev = d;
	return scn_check_result(r, ret);
}

static void obs_attach(struct cf_walk *w)
{
	cf_define(w, CF_SYM_SKIPPED, -1, 0);
	obs_device(w, false);
}

static void pr_attach(const struct scn_printer *pr, const struct scn_op *op)
{
	fputs("device", pr->f);
	scn_print_sym(pr, op->def);
	fputs(" = attach", pr->f);
	scn_print_sym(pr, op->task);
	for (size_t i = 0; i < sizeof(dev_flags) / sizeof(dev_flags[0]); i++)
		if (op->flags & dev_flags[i].flag)
			fprintf(pr->f, " %s", dev_flags[i].name);
}

/* ---- device detach D ---- */

static int st_detach(struct scn_parser *p, struct scn_op *op)
{
	if (parse_device(p, &op->dev) < 0 || scn_parse_result(p, op, false) < 0)
		return -1;
	p->s->syms[op->dev].kind = SCN_SYM_DETACHED;
	return 0;
}

static int run_detach(struct scn_runner *r, const struct scn_op *op)
{
	int ret = mml_device_free(r->vals[op->dev].dev);

	r->vals[op->dev].dev = NULL;
	return scn_check_result(r, ret);
}

static void obs_detach(struct cf_walk *w)
{
	obs_device(w, false);
}

static void pr_detach(const struct scn_printer *pr, const struct scn_op *op)
{
	fputs("device detach", pr->f);
	scn_print_sym(pr, op->dev);
}

/* ---- device read D ADDR LEN [expect PATTERNS], device write D ADDR [LEN] PATTERN ---- */

static int st_access(struct scn_parser *p, struct scn_op *op)
{
	if (parse_device(p, &op->dev) < 0 || scn_parse_addr(p, &op->addr) < 0)
		return -1;
	return scn_parse_access(p, op, op->kind == SCN_OP_DEVICE_WRITE);
}

static int run_device_read(struct scn_runner *r, const struct scn_op *op)
{
	int ret;
	unsigned char *buf = scn_io_buffer(r, op, false, &ret);

	if (!buf)
		return ret;
	ret = mml_device_read(r->vals[op->dev].dev, scn_addr_of(r, &op->addr), buf, op->len);
	ret = scn_check_load(r, op, ret, buf, device_place);
	free(buf);
	return ret;
}

static void obs_device_read(struct cf_walk *w)
{
	obs_device(w, true);	/* a device's load faults pages in */
}

static int run_device_write(struct scn_runner *r, const struct scn_op *op)
{
	int ret;
	unsigned char *buf = scn_io_buffer(r, op, true, &ret);

	if (!buf)
		return ret;
	ret = mml_device_write(r->vals[op->dev].dev, scn_addr_of(r, &op->addr), buf, op->len);
	free(buf);
	return scn_check_result(r, ret);
}

static void obs_device_write(struct cf_walk *w)
{
	obs_device(w, true);
}

static void pr_access(const struct scn_printer *pr, const struct scn_op *op)
{
	print_head(pr, op);
	fprintf(pr->f, " %llu", (unsigned long long)op->len);
	if (op->kind == SCN_OP_DEVICE_WRITE)
		scn_print_pattern(pr, &op->pat);
	else
		scn_print_patterns(pr, op);
}

/* ---- device snapshot D ADDR NPAGES [expect STATE...] ---- */

/* One state for every page, or one per page; kept in op->pat's bytes. */
static int st_snapshot(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;
	size_t n = 0;

	if (parse_device(p, &op->dev) < 0 || scn_parse_addr(p, &op->addr) < 0 || scn_parse_npages(p, &op->len) < 0)
		return -1;
	if (!op->len)
		return scn_perr(p, p->lx.tok[p->i - 1].col, "a snapshot of no pages");
	if (!scn_tok_is(scn_peek(p), "expect"))
		return scn_parse_result(p, op, true);
	p->i++;
	op->pat.bytes = malloc(op->len);
	if (!op->pat.bytes)
		return scn_perr(p, p->lx.tok[p->i - 1].col, "out of memory");
	while ((t = scn_peek(p)) && !scn_tok_is(t, "=>")) {
		size_t i;

		for (i = 0; i < sizeof(snap_states) / sizeof(snap_states[0]); i++)
			if (scn_tok_is(t, snap_states[i].name))
				break;
		if (i == sizeof(snap_states) / sizeof(snap_states[0]))
			return scn_perr(p, t->col, "unknown page state " TOKF " (none, read, write, zero, error)",
					TOKA(t));
		if (n == op->len)
			return scn_perr(p, t->col, "more states than the %llu page(s)", (unsigned long long)op->len);
		op->pat.bytes[n++] = snap_states[i].state;
		p->i++;
	}
	if (!n)
		return scn_perr(p, p->lx.end_col, "missing page state (none, read, write, zero, error)");
	if (n != 1 && n != op->len)
		return scn_perr(p, p->lx.tok[p->i - 1].col, "%zu states for %llu pages: one for all, or one each",
				n, (unsigned long long)op->len);
	op->pat.present = true;
	op->pat.n = n;
	return scn_parse_result(p, op, true);
}

static int run_snapshot(struct scn_runner *r, const struct scn_op *op)
{
	unsigned char *state;
	long ret = scn_within(r, scn_cmd_name(op), op->len * mml_page_size(), r->limits->io);
	char w[160];

	if (ret)
		return (int)ret;
	state = malloc(op->len);
	if (!state)
		return scn_fail(r, "device snapshot: out of host memory");
	ret = mml_device_snapshot(r->vals[op->dev].dev, scn_addr_of(r, &op->addr), op->len, state);
	if (ret < 0 || !op->pat.present) {
		free(state);
		return scn_check_result(r, ret < 0 ? ret : 0);
	}
	for (uint64_t i = 0; i < op->len; i++) {
		unsigned char want = op->pat.bytes[op->pat.n == 1 ? 0 : i];

		if (state[i] != want) {
			ret = scn_fail(r, "device snapshot %s: expected %s, got %s",
				       device_place(r, op, i * mml_page_size(), false, w, sizeof(w)),
				       snap_name(want), snap_name(state[i]));
			free(state);
			return (int)ret;
		}
	}
	free(state);
	return scn_check_result(r, 0);
}

static void obs_snapshot(struct cf_walk *w)
{
	obs_device(w, false);
}

static void pr_snapshot(const struct scn_printer *pr, const struct scn_op *op)
{
	print_head(pr, op);
	fprintf(pr->f, " %llu", (unsigned long long)op->len);
	if (!op->pat.present)
		return;
	fputs(" expect", pr->f);
	for (size_t i = 0; i < op->pat.n; i++)
		fprintf(pr->f, " %s", snap_name(op->pat.bytes[i]));
}

/* ---- device exclusive D ADDR NPAGES ---- */

static int st_exclusive(struct scn_parser *p, struct scn_op *op)
{
	if (parse_device(p, &op->dev) < 0 || scn_parse_addr(p, &op->addr) < 0 || scn_parse_npages(p, &op->len) < 0)
		return -1;
	return scn_parse_result(p, op, true);
}

static int run_exclusive(struct scn_runner *r, const struct scn_op *op)
{
	return scn_check_result(r, mml_device_make_exclusive(r->vals[op->dev].dev, scn_addr_of(r, &op->addr),
							      op->len));
}

static void obs_exclusive(struct cf_walk *w)
{
	obs_device(w, true);
}

static void pr_exclusive(const struct scn_printer *pr, const struct scn_op *op)
{
	print_head(pr, op);
	fprintf(pr->f, " %llu", (unsigned long long)op->len);
}

/* ---- expect device D mapped|unmapped ADDR ---- */

static int ex_device(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	if (parse_device(p, &op->dev) < 0)
		return -1;
	t = scn_need_word(p, "mapped or unmapped");
	if (!t)
		return -1;
	if (scn_tok_is(t, "mapped"))
		op->value = 1;
	else if (scn_tok_is(t, "unmapped"))
		op->value = 0;
	else
		return scn_perr(p, t->col, "expected mapped or unmapped, got " TOKF, TOKA(t));
	if (scn_parse_addr(p, &op->addr) < 0)
		return -1;
	return scn_end_of_line(p);
}

static int run_expect_device(struct scn_runner *r, const struct scn_op *op)
{
	int mapped = mml_device_mapped(r->vals[op->dev].dev, scn_addr_of(r, &op->addr));
	char w[160];

	if (mapped == op->value)
		return SCN_PASS;
	return scn_fail(r, "expected device %s %s, got %s", device_place(r, op, 0, false, w, sizeof(w)),
			op->value ? "mapped" : "unmapped", mapped ? "mapped" : "unmapped");
}

static void obs_expect_device(struct cf_walk *w)
{
	obs_device(w, false);
}

static void pr_expect_device(const struct scn_printer *pr, const struct scn_op *op)
{
	fputs("expect device", pr->f);
	scn_print_sym(pr, op->dev);
	fputs(op->value ? " mapped" : " unmapped", pr->f);
	scn_print_addr(pr, &op->addr);
}

const struct scn_cmd scn_device_cmds[] = {
	{ "device attach", "TASK { DEVFLAG }", SCN_OP_DEVICE_ATTACH, SCN_CMD_NAMES | SCN_CMD_NAMED,
	  st_attach, run_attach, obs_attach, pr_attach },
	{ "device detach", "DEVICE", SCN_OP_DEVICE_DETACH, 0,
	  st_detach, run_detach, obs_detach, pr_detach },
	{ "device read", "DEVICE ADDR LEN [ \"expect\" PATTERNS ]", SCN_OP_DEVICE_READ, 0,
	  st_access, run_device_read, obs_device_read, pr_access },
	{ "device write", "DEVICE ADDR LEN PATTERN", SCN_OP_DEVICE_WRITE, 0,
	  st_access, run_device_write, obs_device_write, pr_access },
	{ "device snapshot", "DEVICE ADDR NPAGES [ \"expect\" SNAPSTATE { SNAPSTATE } ]", SCN_OP_DEVICE_SNAPSHOT, 0,
	  st_snapshot, run_snapshot, obs_snapshot, pr_snapshot },
	{ "device exclusive", "DEVICE ADDR NPAGES", SCN_OP_DEVICE_EXCLUSIVE, 0,
	  st_exclusive, run_exclusive, obs_exclusive, pr_exclusive },
	{ "expect device", "DEVICE ( \"mapped\" | \"unmapped\" ) ADDR", SCN_OP_EXPECT_DEVICE, 0,
	  ex_device, run_expect_device, obs_expect_device, pr_expect_device },
	{ NULL }
};
