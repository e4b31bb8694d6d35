/*
 * plot.c - `mmlab plot`: a vmstat trace (--vmstat-trace's CSV) drawn by
 * gnuplot, and the --vmstat-* options that record one, shared by run,
 * fuzz, stress and bench.
 *
 * The CSV is read and checked here, whole, before gnuplot runs: a missing
 * file, a header that is not a trace's, a row of the wrong width or a
 * value that is no number is reported with its line (exit 2), never left
 * to gnuplot's own messages.  gnuplot gets the numbers as an inline data
 * block, so the CSV's path never enters its script.
 */
#include <errno.h>
#include <getopt.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "oracle/vmstat_trace.h"

extern char **environ;

/* ---- --vmstat-trace, --vmstat-fields, --vmstat-every ---- */

int opt_vmstat(const char *cmd, int c, const char *arg, struct vmstat_opts *v)
{
	switch (c) {
	case OPT_VMSTAT_TRACE:
		v->path = arg;
		return opt_out_file(cmd, "vmstat-trace", arg);
	case OPT_VMSTAT_FIELDS:
		v->fields = arg;
		return 0;
	default:
		return opt_range(cmd, "vmstat-every", arg, 1, UINT32_MAX, &v->every);
	}
}

int opt_vmstat_open(const char *cmd, const struct vmstat_opts *v, const char *ctx, struct vmstat_trace *t)
{
	char err[512];

	memset(t, 0, sizeof(*t));
	if (!v->path) {
		if (!v->fields && !v->every)
			return 0;
		fprintf(stderr, "mmlab %s: --vmstat-%s shapes --vmstat-trace's file; give --vmstat-trace too\n", cmd,
			v->fields ? "fields" : "every");
		return -1;
	}
	if (vmstat_trace_open(t, v->path, v->fields, (unsigned)v->every, ctx, err, sizeof(err)) == 0)
		return 0;
	fprintf(stderr, "mmlab %s: --vmstat-trace: %s\n", cmd, err);
	return -1;
}

int opt_vmstat_close(const char *cmd, struct vmstat_trace *t, int status)
{
	char err[512];

	if (vmstat_trace_close(t, err, sizeof(err)) == 0)
		return status;
	fprintf(stderr, "mmlab %s: --vmstat-trace: %s\n", cmd, err);
	return 2;
}

/* ---- mmlab plot ---- */

#define PLOT_MAX_COLS	(VMSTAT_TRACE_MAX + 2)

struct csv {
	int ncols;
	char *names[PLOT_MAX_COLS];
	char *header;		/* the names point into it */
	long nrows;
	double *v;		/* nrows x ncols */
};

static void plot_usage(FILE *f)
{
	fprintf(f, "usage: mmlab plot FILE.csv -o FILE.svg|FILE.png [--fields LIST] [--title TEXT]\n\n"
		   "Draw a vmstat trace (the CSV that --vmstat-trace of mmlab run, fuzz, stress\n"
		   "and bench writes) with gnuplot: one line per field against the step, the\n"
		   "meminfo fields (kB) above the vmstat counters when there are both.\n\n"
		   "  -o, --output FILE   the picture: SVG or PNG by its extension\n"
		   "  -f, --fields LIST   the columns to draw, comma-separated (default: every\n"
		   "                      field of the file)\n"
		   "  -t, --title TEXT    the picture's title (default: the CSV's name)\n"
		   "  -h, --help          this text\n\n"
		   "Needs gnuplot (Debian's gnuplot-nox; 'sh scripts/deps.sh plot' installs it).\n"
		   "Exit status: 0 drawn, 2 bad usage, a missing or malformed CSV, no gnuplot\n"
		   "or a gnuplot that failed.\n");
}

static int csv_bad(const char *path, long line, const char *why)
{
	fprintf(stderr, "mmlab plot: %s:%ld: %s\n", path, line, why);
	return -1;
}

/* The whole trace, checked: 0, or -1 after a message. */
static int csv_read(const char *path, struct csv *c)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, *save, *tok, *end;
	size_t cap = 0, vcap = 0;
	long lineno = 0;
	ssize_t n;
	int r = -1;

	memset(c, 0, sizeof(*c));
	if (!f) {
		fprintf(stderr, "mmlab plot: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n && line[n - 1] == '\r')
			line[--n] = '\0';
		if (lineno == 1) {
			c->header = strdup(line);
			if (!c->header)
				goto oom;
			for (tok = strtok_r(c->header, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				if (c->ncols == PLOT_MAX_COLS) {
					csv_bad(path, lineno, "too many columns for a vmstat trace");
					goto out;
				}
				c->names[c->ncols++] = tok;
			}
			if (!c->ncols || strcmp(c->names[0], "step")) {
				csv_bad(path, lineno, "not a vmstat trace: its header starts with 'step' "
					"(mmlab run --vmstat-trace FILE.csv writes one)");
				goto out;
			}
			continue;
		}
		if (c->nrows == (long)vcap) {
			double *nv = realloc(c->v, (vcap = vcap * 2 + 256) * c->ncols * sizeof(*nv));

			if (!nv)
				goto oom;
			c->v = nv;
		}
		tok = line;
		for (int i = 0; i < c->ncols; i++) {
			errno = 0;
			c->v[c->nrows * c->ncols + i] = (double)strtoll(tok, &end, 10);
			if (errno || end == tok || (*end != ',' && *end)) {
				csv_bad(path, lineno, "a value that is not an integer");
				goto out;
			}
			if ((*end == ',') != (i < c->ncols - 1)) {
				char why[96];

				snprintf(why, sizeof(why), "%s values than the header's %d names",
					 *end == ',' ? "more" : "fewer", c->ncols);
				csv_bad(path, lineno, why);
				goto out;
			}
			tok = end + 1;
		}
		c->nrows++;
	}
	if (ferror(f)) {
		fprintf(stderr, "mmlab plot: %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (lineno == 0) {
		csv_bad(path, 1, "empty: not a vmstat trace");
		goto out;
	}
	if (!c->nrows) {
		csv_bad(path, lineno, "no sample after the header: nothing to draw");
		goto out;
	}
	r = 0;
	goto out;
oom:
	fprintf(stderr, "mmlab plot: out of memory\n");
out:
	free(line);
	fclose(f);
	return r;
}

static int csv_col(const struct csv *c, const char *name)
{
	for (int i = 1; i < c->ncols; i++)
		if (!strcmp(c->names[i], name))
			return i;
	return -1;
}

/* One panel: every chosen column of one kind (meminfo's kB, or the counters). */
static void panel(FILE *g, const struct csv *c, const int *cols, int n, bool counters)
{
	bool first = true;

	fprintf(g, "set ylabel '%s'\n", counters ? "pages or events" : "kB");
	for (int i = 0; i < n; i++) {
		if (vmstat_is_counter(c->names[cols[i]]) != counters)
			continue;
		fprintf(g, "%s$data using 1:%d with lines lw 2 title '%s'", first ? "plot " : ", ", cols[i] + 1,
			c->names[cols[i]]);
		first = false;
	}
	fputc('\n', g);
}

/* The gnuplot script: the numbers inline, then one or two panels. */
static void plot_script(FILE *g, const struct csv *c, const int *cols, int n, const char *out, const char *title,
			bool png)
{
	int kinds = 0, counters = 0;

	for (int i = 0; i < n; i++)
		counters += vmstat_is_counter(c->names[cols[i]]);
	kinds = (counters > 0) + (counters < n);
	if (png)
		fprintf(g, "set terminal pngcairo size 1000,%d font 'sans,10'\n", kinds * 330 + 40);
	else
		fprintf(g, "set terminal svg size 1000,%d dynamic background rgb 'white' font 'sans,11'\n",
			kinds * 330 + 40);
	fprintf(g, "set output '%s'\n$data << EOD\n", out);
	for (long r = 0; r < c->nrows; r++)
		for (int i = 0; i < c->ncols; i++)
			fprintf(g, "%.0f%c", c->v[r * c->ncols + i], i == c->ncols - 1 ? '\n' : ' ');
	fprintf(g, "EOD\nset datafile separator whitespace\nset grid\nset key outside right top noenhanced\n"
		   "set xlabel 'step (operations)'\nset format y '%%.0f'\n"
		   "set lmargin at screen 0.08\nset rmargin at screen 0.80\n"
		   "set multiplot layout %d,1 title '%s' noenhanced\n", kinds, title);
	if (counters < n)
		panel(g, c, cols, n, false);
	if (counters)
		panel(g, c, cols, n, true);
	fprintf(g, "unset multiplot\n");
}

/* gnuplot reading the script on its stdin: 0, or -1 after a message. */
static int run_gnuplot(const struct csv *c, const int *cols, int n, const char *out, const char *title, bool png)
{
	char *argv[] = { (char *)"gnuplot", NULL };
	posix_spawn_file_actions_t fa;
	int fds[2], status, err;
	pid_t pid;
	FILE *g;

	if (pipe(fds) < 0) {
		fprintf(stderr, "mmlab plot: pipe: %s\n", strerror(errno));
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
	posix_spawn_file_actions_addclose(&fa, fds[1]);
	err = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[0]);
	if (err) {
		close(fds[1]);
		if (err == ENOENT)
			fprintf(stderr, "mmlab plot: gnuplot is not installed: Debian's gnuplot-nox has it "
				"('sh scripts/deps.sh plot' installs it)\n");
		else
			fprintf(stderr, "mmlab plot: cannot run gnuplot: %s\n", strerror(err));
		return -1;
	}
	g = fdopen(fds[1], "w");
	if (g) {
		plot_script(g, c, cols, n, out, title, png);
		fclose(g);
	} else {
		close(fds[1]);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!g || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "mmlab plot: gnuplot failed (its messages are above)\n");
		return -1;
	}
	return 0;
}

/* A string put between gnuplot's single quotes, which have no escape. */
static bool gnuplot_quotable(const char *what, const char *s)
{
	if (!strpbrk(s, "'\n"))
		return true;
	fprintf(stderr, "mmlab plot: %s: a quote or a newline in '%s' (gnuplot's strings cannot hold them)\n",
		what, s);
	return false;
}

int cmd_plot(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "fields", required_argument, NULL, 'f' },
		{ "title",  required_argument, NULL, 't' },
		{ "help",   no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *out = NULL, *fields = NULL, *title = NULL, *ext;
	int cols[PLOT_MAX_COLS], n = 0, c, r = 2;
	char *list = NULL, *tok, *save;
	struct csv csv;
	struct stat st;

	while ((c = getopt_long(argc, argv, "o:f:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'f':
			fields = optarg;
			break;
		case 't':
			title = optarg;
			break;
		case 'h':
			plot_usage(stdout);
			return 0;
		default:
			fprintf(stderr, "try 'mmlab plot --help'\n");
			return 2;
		}
	}
	if (optind != argc - 1 || !out) {
		fprintf(stderr, "mmlab plot: %s; try 'mmlab plot --help'\n",
			!out ? "-o FILE.svg or FILE.png is needed" : "one CSV file");
		return 2;
	}
	ext = strrchr(out, '.');
	if (!ext || (strcmp(ext, ".svg") && strcmp(ext, ".png"))) {
		fprintf(stderr, "mmlab plot: -o %s: the picture's name ends in .svg or .png\n", out);
		return 2;
	}
	if (!title)
		title = strrchr(argv[optind], '/') ? strrchr(argv[optind], '/') + 1 : argv[optind];
	if (!gnuplot_quotable("-o", out) || !gnuplot_quotable("--title", title) ||
	    opt_out_file("plot", "output", out) || csv_read(argv[optind], &csv))
		return 2;
	if (fields) {
		list = strdup(fields);
		for (tok = list ? strtok_r(list, ",", &save) : NULL; tok; tok = strtok_r(NULL, ",", &save)) {
			if ((cols[n] = csv_col(&csv, tok)) < 0 || !vmstat_is_field(tok)) {
				fprintf(stderr, "mmlab plot: --fields: %s is not a field of %s\n", tok, argv[optind]);
				goto out;
			}
			if (++n == PLOT_MAX_COLS)
				break;
		}
	} else {
		/* every field; not the context column (line, seed, rep) */
		for (int i = 1; i < csv.ncols; i++)
			if (vmstat_is_field(csv.names[i]))
				cols[n++] = i;
	}
	if (!n) {
		fprintf(stderr, "mmlab plot: %s: no vmstat or meminfo field to draw\n", argv[optind]);
		goto out;
	}
	if (run_gnuplot(&csv, cols, n, out, title, !strcmp(ext, ".png")))
		goto out;
	if (stat(out, &st) < 0 || !st.st_size) {
		fprintf(stderr, "mmlab plot: gnuplot wrote no %s\n", out);
		goto out;
	}
	r = 0;
out:
	free(list);
	free(csv.header);
	free(csv.v);
	return r;
}
