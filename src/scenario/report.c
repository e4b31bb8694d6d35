/*
 * report.c - the HTML page of `mmlab run --report` (report.h).  Written
 * as the run goes, statement by statement, so that a long run's page
 * costs memory for one statement at a time.
 */
#define _GNU_SOURCE
#define _GNU_SOURCE	/* memmem */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/report.h"

struct scn_report {
	FILE *f;
	FILE *out, *err;		/* the run's own streams while a section is open */
	char *outbuf, *errbuf;		/* what the statements printed, and where the last row ended */
	size_t outlen, errlen, outpos, errpos;
	FILE *pics;			/* the running statement's pictures, HTML */
	char *picbuf;
	size_t piclen;
	long *vm;			/* vmstat before the statement */
	unsigned nvm, rows, pictures;
};

static const char css[] =
	"body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}"
	"h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em}"
	"table.steps{border-collapse:collapse;width:100%}"
	"table.steps td,table.steps th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}"
	"tr.pass td.verdict{background:#e3f5e3}tr.fail td.verdict,tr.bad td.verdict{background:#f9d6d6}"
	"tr.fail,tr.bad{outline:2px solid #c33}"
	"code{font:13px ui-monospace,monospace}pre{margin:4px 0;white-space:pre-wrap;font:12px ui-monospace,monospace}"
	"pre.err{color:#a00}ul.vm{margin:0;padding-left:1.2em;font:12px ui-monospace,monospace}"
	"figure{margin:8px 0;overflow:auto;max-width:100%}figure svg{max-width:100%;height:auto}"
	"figcaption{font-size:12px;color:#555}.summary{font-weight:bold}";

/* Text as HTML: the five characters that matter, and control bytes as U+FFFD. */
static void esc(FILE *f, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '&')
			fputs("&amp;", f);
		else if (c == '<')
			fputs("&lt;", f);
		else if (c == '>')
			fputs("&gt;", f);
		else if (c == '"')
			fputs("&quot;", f);
		else if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
			fputs("&#xfffd;", f);
		else
			fputc(c, f);
	}
}

struct scn_report *scn_report_new(FILE *f)
{
	struct scn_report *rep = calloc(1, sizeof(*rep));

	if (!rep)
		return NULL;
	rep->f = f;
	fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		"<title>mmlab report</title><style>%s</style></head><body>\n<h1>mmlab report</h1>\n", css);
	return rep;
}

int scn_report_free(struct scn_report *rep)
{
	int ret;

	fprintf(rep->f, "</body></html>\n");
	ret = fflush(rep->f) || ferror(rep->f) ? -EIO : 0;
	free(rep->vm);
	free(rep);
	return ret;
}

int scn_report_begin(struct scn_report *rep, const char *name, FILE **out, FILE **err)
{
	FILE *o = open_memstream(&rep->outbuf, &rep->outlen);
	FILE *e = o ? open_memstream(&rep->errbuf, &rep->errlen) : NULL;
	FILE *p = e ? open_memstream(&rep->picbuf, &rep->piclen) : NULL;

	if (!p) {
		if (e)
			fclose(e);
		if (o)
			fclose(o);
		free(rep->outbuf);
		free(rep->errbuf);
		return -ENOMEM;
	}
	rep->out = *out;
	rep->err = *err;
	*out = o;
	*err = e;
	rep->pics = p;
	rep->outpos = rep->errpos = 0;
	fprintf(rep->f, "<section class=\"scenario\"><h2>");
	esc(rep->f, name, strlen(name));
	fprintf(rep->f, "</h2>\n<table class=\"steps\"><thead><tr><th>line</th><th>statement, output, pictures</th>"
		"<th>result</th><th>vmstat changes</th></tr></thead><tbody>\n");
	return 0;
}

void scn_report_before(struct scn_report *rep, struct mml_machine *m)
{
	unsigned n = 0;

	while (mml_vmstat_name(n))
		n++;
	if (n != rep->nvm) {
		long *vm = realloc(rep->vm, n * sizeof(*vm));

		if (!vm)
			return;
		rep->vm = vm;
		rep->nvm = n;
	}
	for (unsigned i = 0; i < n; i++)
		rep->vm[i] = m ? mml_vmstat(m, mml_vmstat_name(i)) : 0;
}

void scn_report_picture(struct scn_report *rep, const char *kind, const char *svg, size_t len)
{
	/* inline: the element alone, without the XML declaration and doctype before it */
	const char *at = memmem(svg, len, "<svg", 4);

	if (!at || !rep->pics)
		return;
	rep->pictures++;
	fprintf(rep->pics, "<figure class=\"picture\" data-kind=\"%s\">", kind);
	fwrite(at, 1, svg + len - at, rep->pics);
	fprintf(rep->pics, "<figcaption>show %s</figcaption></figure>\n", kind);
}

/* The text a stream got since the last row. */
static void slice(FILE *f, FILE *s, char **buf, size_t *len, size_t *pos, const char *class)
{
	fflush(s);
	if (*len > *pos) {
		fprintf(f, "<pre class=\"%s\">", class);
		esc(f, *buf + *pos, *len - *pos);
		fprintf(f, "</pre>");
	}
	*pos = *len;
}

void scn_report_step(struct scn_report *rep, struct mml_machine *m, const struct scn_op *op, int status,
		     const char *value)
{
	static const char *const cls[] = { [SCN_PASS] = "pass", [SCN_FAIL] = "fail", [SCN_BAD] = "bad" };
	bool expect = !strncmp(op->text, "expect", 6) || strstr(op->text, "=>");
	FILE *f = rep->f;
	unsigned changed = 0;

	rep->rows++;
	fprintf(f, "<tr class=\"%s\"><td>%u</td><td><code>", cls[status], op->line);
	esc(f, op->text, strlen(op->text));
	fprintf(f, "</code>");
	slice(f, rep->out, &rep->outbuf, &rep->outlen, &rep->outpos, "out");
	slice(f, rep->err, &rep->errbuf, &rep->errlen, &rep->errpos, "err");
	fflush(rep->pics);
	if (rep->piclen) {
		fwrite(rep->picbuf, 1, rep->piclen, f);
		rewind(rep->pics);	/* the next statement's pictures from the start */
		rep->piclen = 0;
		rep->picbuf[0] = '\0';
	}
	fprintf(f, "</td><td class=\"verdict\">%s%s", status == SCN_PASS ? (expect ? "expectation met" : "done") :
		status == SCN_FAIL ? "FAILED" : "bad input", value ? "<br>" : "");
	if (value)
		esc(f, value, strlen(value));
	fprintf(f, "</td><td>");
	for (unsigned i = 0; m && i < rep->nvm; i++) {
		long now = mml_vmstat(m, mml_vmstat_name(i));

		if (now == rep->vm[i])
			continue;
		fprintf(f, "%s<li>%s %+ld</li>", changed++ ? "" : "<ul class=\"vm\">", mml_vmstat_name(i),
			now - rep->vm[i]);
	}
	fprintf(f, "%s</td></tr>\n", changed ? "</ul>" : "");
}

void scn_report_end(struct scn_report *rep, FILE **out, FILE **err, int status, int not_run)
{
	fflush(*out);
	fflush(*err);
	if (rep->outlen > rep->outpos || rep->errlen > rep->errpos) {
		/* the end of the run: what machine_stop said (leaks, broken invariants) */
		fprintf(rep->f, "<tr class=\"%s\"><td></td><td><code>(end of scenario)</code>",
			status == SCN_PASS ? "pass" : "fail");
		slice(rep->f, *out, &rep->outbuf, &rep->outlen, &rep->outpos, "out");
		slice(rep->f, *err, &rep->errbuf, &rep->errlen, &rep->errpos, "err");
		fprintf(rep->f, "</td><td class=\"verdict\">%s</td><td></td></tr>\n",
			status == SCN_PASS ? "done" : "FAILED");
	}
	fprintf(rep->f, "</tbody></table>\n<p class=\"summary\">%s", status == SCN_PASS ? "passed" :
		status == SCN_FAIL ? "failed" : "bad input");
	if (not_run)
		fprintf(rep->f, "; %d statement%s not run", not_run, not_run > 1 ? "s" : "");
	fprintf(rep->f, "</p></section>\n");
	fclose(*out);
	fclose(*err);
	fclose(rep->pics);
	rep->pics = NULL;
	/* the run's text to where it would have gone without the report */
	fwrite(rep->outbuf, 1, rep->outlen, rep->out);
	fwrite(rep->errbuf, 1, rep->errlen, rep->err);
	free(rep->outbuf);
	free(rep->errbuf);
	free(rep->picbuf);
	rep->outbuf = rep->errbuf = rep->picbuf = NULL;
	*out = rep->out;
	*err = rep->err;
}
