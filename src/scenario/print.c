/*
 * print.c - a statement back to its text, from its struct scn_op: what
 * the fuzzer writes as a reproducer.
 *
 * The text parses back to the same op (tests/unit/test_scenario_print.c).
 * Numbers are printed whole (4096, not 4k), addresses as a name and a
 * decimal offset or as hex, optional arguments only when the op has
 * them.  Names are the script's, or the printer's own (the fuzzer's T3,
 * r5, p2, swap1): pr->name.
 */
#include <stdio.h>
#include <string.h>

#include "scenario/command.h"

static void print_name(const struct scn_printer *pr, int sym)
{
	char buf[64];

	if (!pr->name) {
		fputs(pr->s->syms[sym].name, pr->f);
		return;
	}
	pr->name(pr, sym, buf, sizeof(buf));
	fputs(buf, pr->f);
}

void scn_print_sym(const struct scn_printer *pr, int sym)
{
	fputc(' ', pr->f);
	print_name(pr, sym);
}

void scn_print_fd(const struct scn_printer *pr, const struct scn_op *op)
{
	if (op->fdsym >= 0)
		scn_print_sym(pr, op->fdsym);
	else
		fprintf(pr->f, " %ld", op->fd);
}

/* Printable bytes as they are, so that paths read as paths. */
void scn_print_string(const struct scn_printer *pr, const char *s, size_t n)
{
	size_t i;

	fputs(" \"", pr->f);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			fputc(c, pr->f);
		else
			fprintf(pr->f, "\\x%02x", c);
	}
	fputc('"', pr->f);
}

void scn_print_addr(const struct scn_printer *pr, const struct scn_addr *a)
{
	if (a->sym < 0) {
		/* %#: 0 prints as "0", mmap's "the kernel chooses" */
		fprintf(pr->f, " %#llx", (unsigned long long)a->off);
		return;
	}
	scn_print_sym(pr, a->sym);
	if ((int64_t)a->off > 0)
		fprintf(pr->f, "+%lld", (long long)a->off);
	else if (a->off)
		fprintf(pr->f, "-%llu", (unsigned long long)(0 - a->off));
}

/* A string pattern byte by byte in \x escapes: whatever bytes, one line. */
void scn_print_pattern(const struct scn_printer *pr, const struct scn_pattern *pat)
{
	size_t i;

	if (pat->zero) {
		fputs(" zero", pr->f);
	} else if (pat->n == 1) {
		fprintf(pr->f, " 0x%02x", pat->bytes[0]);
	} else {
		fputs(" \"", pr->f);
		for (i = 0; i < pat->n; i++)
			fprintf(pr->f, "\\x%02x", pat->bytes[i]);
		fputc('"', pr->f);
	}
}

/*
 * " expect 0x11 | \"...\" |zero": the other allowed patterns each after
 * a bar, and "zero" glued to its own, as the fuzzer has always written
 * a page that MADV_FREE may have dropped.
 */
void scn_print_patterns(const struct scn_printer *pr, const struct scn_op *op)
{
	int i;

	if (!op->pat.present)
		return;
	fputs(" expect", pr->f);
	scn_print_pattern(pr, &op->pat);
	for (i = 0; i < op->nalt; i++) {
		if (op->alt[i].zero) {
			fputs(" |zero", pr->f);
		} else {
			fputs(" |", pr->f);
			scn_print_pattern(pr, &op->alt[i]);
		}
	}
}

/* " => ENOMEM", " => ok|EINTR", " => any"; nothing for the default, ok */
static void print_result(const struct scn_printer *pr, const struct scn_expect *e)
{
	int i;

	if (e->any) {
		fputs(" => any", pr->f);
		return;
	}
	for (i = 0; i < e->nerr; i++)
		fprintf(pr->f, "%s%s", i ? "|" : " => ", scn_errno_name(e->err[i]));
	for (i = 0; i < e->ncount; i++)
		fprintf(pr->f, "%s%llu", i || e->nerr ? "|" : " => ", (unsigned long long)e->count[i]);
}

void scn_print_op(const struct scn_printer *pr, const struct scn_op *op)
{
	const struct scn_cmd *c = scn_cmd_of(op->kind);

	if (!c) {
		fprintf(pr->f, "# statement kind %d has no text\n", op->kind);
		return;
	}
	/* a statement of a threads block: its thread, indented under "threads" */
	if (op->thread >= 0) {
		fputs("  ", pr->f);
		print_name(pr, op->thread);
		fputs(": ", pr->f);
	}
	/* "device D = attach A": a prefixed statement prints its name itself */
	if (op->def >= 0 && (c->flags & SCN_CMD_NAMES) && !strchr(c->name, ' ')) {
		print_name(pr, op->def);
		fputs(" = ", pr->f);
	}
	c->print(pr, op);
	print_result(pr, &op->expect);
	fputc('\n', pr->f);
}
