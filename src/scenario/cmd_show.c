/*
 * cmd_show.c - the picture views of the "show" statement (its entry is
 * cmd_proc.c's): show pagetable A [ADDR LEN], show rmap A ADDR, show
 * folio A ADDR, show machine.  Drawn by the library (mml_show_pagetable
 * ...), then written where the run's options say: one file per statement
 * in --show-dir, into the --report page, or, in a plain run, one line
 * saying what the picture holds.
 */
#define _GNU_SOURCE	/* asprintf, memmem */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/command.h"
#include "scenario/report.h"

static const char *const kinds[] = {
	[SCN_SHOW_PAGETABLE] = "pagetable", [SCN_SHOW_RMAP] = "rmap",
	[SCN_SHOW_FOLIO] = "folio", [SCN_SHOW_MACHINE] = "machine",
};

bool scn_show_is_picture(long what)
{
	return what >= SCN_SHOW_PAGETABLE && what <= SCN_SHOW_MACHINE;
}

int scn_st_picture(struct scn_parser *p, struct scn_op *op, const struct scn_tok *t)
{
	for (long k = SCN_SHOW_PAGETABLE; k <= SCN_SHOW_MACHINE; k++)
		if (scn_tok_is(t, kinds[k]))
			op->arg = k;
	if (!scn_show_is_picture(op->arg))
		return 1;
	if (op->arg == SCN_SHOW_MACHINE)
		return scn_end_of_line(p);
	if (scn_parse_task(p, &op->task) < 0)
		return -1;
	if (op->arg != SCN_SHOW_PAGETABLE || scn_peek(p)) {
		if (scn_parse_addr(p, &op->addr) < 0)
			return -1;
		op->has_addr = true;
	}
	if (op->arg == SCN_SHOW_PAGETABLE && op->has_addr) {
		if (scn_parse_len(p, "length", &op->len) < 0)
			return -1;
		if (!op->len)
			return scn_perr(p, p->lx.tok[p->i - 1].col, "show pagetable: the length is 0");
		op->has_len = true;
	}
	return scn_end_of_line(p);
}

/* The picture of op in fmt, as a malloc'd buffer; the call's result. */
static int draw(struct scn_runner *r, const struct scn_op *op, enum mml_picture_format fmt,
		char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);
	struct mml_task *t = op->arg == SCN_SHOW_MACHINE ? NULL : scn_task_of(r, op->task);
	uint64_t a = op->has_addr ? scn_addr_of(r, &op->addr) : 0;
	int ret;

	if (!f)
		return -ENOMEM;
	switch (op->arg) {
	case SCN_SHOW_PAGETABLE:
		ret = mml_show_pagetable(t, a, op->has_len ? op->len : 0, fmt, f);
		break;
	case SCN_SHOW_RMAP:
		ret = mml_show_rmap(t, a, fmt, f);
		break;
	case SCN_SHOW_FOLIO:
		ret = mml_show_folio(t, a, fmt, f);
		break;
	default:
		ret = mml_show_machine(r->m, fmt, f);
		break;
	}
	if (fclose(f) && !ret)
		ret = -ENOMEM;
	if (ret)
		free(*buf);
	return ret;
}

static const char *const exts[] = {
	[MML_PICTURE_DOT] = "dot", [MML_PICTURE_SVG] = "svg", [MML_PICTURE_PNG] = "png",
};

/* DIR/SCENARIO-LINE-KIND.EXT: the file's name without its directory and .scn, as a file name can hold it. */
static int write_file(struct scn_runner *r, const struct scn_op *op, const char *data, size_t len)
{
	const char *base = strrchr(r->s->name, '/') ? strrchr(r->s->name, '/') + 1 : r->s->name;
	size_t n = strlen(base);
	char name[256], *path;
	FILE *f;
	int ok;

	if (n > 4 && !strcmp(base + n - 4, ".scn"))
		n -= 4;
	if (n > 128)
		n = 128;
	for (size_t i = 0; i < n; i++)
		name[i] = isalnum((unsigned char)base[i]) || base[i] == '-' || base[i] == '_' || base[i] == '.' ?
			  base[i] : '-';
	snprintf(name + n, sizeof(name) - n, "-%u-%s.%s", op->line, kinds[op->arg], exts[r->o->show_format]);
	if (asprintf(&path, "%s/%s", r->o->show_dir, name) < 0)
		return scn_fail(r, "show %s: out of host memory", kinds[op->arg]);
	f = fopen(path, "wb");
	ok = f && fwrite(data, 1, len, f) == len;
	if (f && fclose(f))
		ok = 0;
	if (!ok) {
		int st = scn_bad(r, 1, "show %s: cannot write %s: %s", kinds[op->arg], path, strerror(errno));

		free(path);
		return st;
	}
	free(path);
	return SCN_PASS;
}

/* Nodes and edges of DOT text as src/view writes it: a statement a line, attributes first. */
static void summary(struct scn_runner *r, const struct scn_op *op, const char *dot, size_t len)
{
	unsigned nodes = 0, edges = 0;

	for (const char *l = dot, *e; l < dot + len; l = e + 1) {
		e = memchr(l, '\n', dot + len - l);
		if (!e)
			e = dot + len;
		if (*l != '\t' || !strncmp(l, "\tgraph ", 7) || !strncmp(l, "\tnode ", 6) || !strncmp(l, "\tedge ", 6))
			continue;
		if (memmem(l, e - l, " -> ", 4))
			edges++;
		else
			nodes++;
	}
	fprintf(r->out, "show %s: a picture of %u nodes and %u edges (mmlab run --show-dir DIR draws it)\n",
		kinds[op->arg], nodes, edges);
}

int scn_run_picture(struct scn_runner *r, const struct scn_op *op)
{
	const struct scn_opts *o = r->o;
	bool wanted = o && o->picture_out && op->line == o->picture_line;
	bool plain = !o || (!o->show_dir && !o->report && !wanted);
	enum mml_picture_format fmt = plain ? MML_PICTURE_DOT :
				      o->show_dir || wanted ? o->show_format : MML_PICTURE_SVG;
	char *buf = NULL, w[160];
	size_t len = 0;
	int ret = draw(r, op, fmt, &buf, &len), st = SCN_PASS;

	if (ret < 0)
		return scn_fail(r, "show %s%s%s: got %s", kinds[op->arg], op->arg == SCN_SHOW_MACHINE ? "" : " ",
				op->arg == SCN_SHOW_MACHINE ? "" : op->has_addr ?
				scn_where(r, op->task, &op->addr, 0, w, sizeof(w)) : r->s->syms[op->task].name,
				scn_errno_name(-ret));
	if (plain)
		summary(r, op, buf, len);
	if (wanted && fwrite(buf, 1, len, o->picture_out) != len)
		st = scn_bad(r, 1, "show %s: cannot write the picture: %s", kinds[op->arg], strerror(errno));
	if (o && o->show_dir && st == SCN_PASS)
		st = write_file(r, op, buf, len);
	if (o && o->report && st == SCN_PASS) {
		/* the page holds SVG, whatever format the files are in */
		if (fmt != MML_PICTURE_SVG) {
			free(buf);
			ret = draw(r, op, MML_PICTURE_SVG, &buf, &len);
			if (ret < 0)
				return scn_fail(r, "show %s: got %s", kinds[op->arg], scn_errno_name(-ret));
		}
		scn_report_picture(o->report, kinds[op->arg], buf, len);
	}
	free(buf);
	return st;
}

void scn_pr_picture(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "show %s", kinds[op->arg]);
	if (op->arg == SCN_SHOW_MACHINE)
		return;
	scn_print_sym(pr, op->task);
	if (op->has_addr)
		scn_print_addr(pr, &op->addr);
	if (op->has_len)
		fprintf(pr->f, " %llu", (unsigned long long)op->len);
}
