/*
 * show.c - `mmlab show`: run a scenario (or the built-in demo), then draw
 * one picture of the state it ends in, or print one view of it (as text
 * or JSON); and what `mmlab run` needs for its pictures and its --report
 * page.
 *
 *   mmlab show [--format svg|png|dot] [-o FILE] [SCENARIO] pagetable|rmap|folio|machine [ARGS]
 *   mmlab show [--json] [-o FILE] [SCENARIO] maps|smaps|pagemap|vmstat|meminfo [ARGS]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "mmlab.h"
#include "scenario/report.h"
#include "scenario/scenario.h"

int opt_picture_format(const char *cmd, const char *s, enum mml_picture_format *fmt)
{
	if (!strcmp(s, "svg"))
		*fmt = MML_PICTURE_SVG;
	else if (!strcmp(s, "png"))
		*fmt = MML_PICTURE_PNG;
	else if (!strcmp(s, "dot"))
		*fmt = MML_PICTURE_DOT;
	else {
		fprintf(stderr, "mmlab %s: expected the format svg, png or dot, got '%s'\n", cmd, s);
		return -1;
	}
	return 0;
}

int opt_dir(const char *cmd, const char *opt, const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	fprintf(stderr, "mmlab %s: --%s: '%s' is no directory\n", cmd, opt, path);
	return -1;
}

static FILE *report_file;

int report_open(const char *path, struct scn_opts *o)
{
	report_file = fopen(path, "w");
	if (!report_file || !(o->report = scn_report_new(report_file))) {
		fprintf(stderr, "mmlab run: --report: %s: %s\n", path, strerror(report_file ? ENOMEM : errno));
		if (report_file)
			fclose(report_file);
		return -1;
	}
	return 0;
}

int report_close(const char *path, struct scn_opts *o)
{
	int ret = scn_report_free(o->report);

	if (fclose(report_file) || ret) {
		fprintf(stderr, "mmlab run: --report: cannot write %s\n", path);
		return -1;
	}
	return 0;
}

static void show_usage(FILE *f)
{
	fprintf(f, "usage: mmlab show [--format svg|png|dot] [-o FILE] [SCENARIO] PICTURE\n"
		   "       mmlab show [--json] [-o FILE] [SCENARIO] VIEW\n\n"
		   "Run the scenario file (with none, the built-in copy-on-write demo up to\n"
		   "its last step, before its processes A and B exit), then\n"
		   "draw a picture of the state it ends in, as the scenario statement\n"
		   "\"show PICTURE\" would at the end of the file:\n\n"
		   "  pagetable TASK [ADDR LEN]  the page-table tree of a range (all VMAs without one)\n"
		   "  rmap TASK ADDR             the reverse map of the folio mapped there\n"
		   "  folio TASK ADDR            that folio's flags, counts, swap slot, LRU list\n"
		   "  machine                    nodes and zones, processes and VMAs, swap devices\n\n"
		   "or print a view of it, as the statement \"show VIEW\" prints it:\n\n"
		   "  maps TASK | smaps TASK     /proc/PID/maps, /proc/PID/smaps\n"
		   "  pagemap TASK ADDR [LEN]    /proc/PID/pagemap's entries, decoded\n"
		   "  vmstat | meminfo           /proc/vmstat, /proc/meminfo\n\n"
		   "TASK and ADDR are the scenario's names (A, p, p+4k) or numbers.\n\n"
		   "  -f, --format F   svg (default), png, or dot (Graphviz's text, to edit)\n"
		   "  -o, --output F   write the picture to F rather than standard output\n"
		   "                   (F.png, F.dot or F.gv choose the format, unless -f does)\n"
		   "      --json       the view as one JSON document (docs/json.md): fields named\n"
		   "                   as the file names them, numbers as numbers, kB in kB\n"
		   "  -h, --help       this text\n\n"
		   "What the scenario prints goes to standard error.  Errors in the picture's\n"
		   "words are reported as the line after the file's last.\n"
		   "Exit status: 0 drawn, 1 an expectation of the scenario failed or the\n"
		   "picture or view could not be made, 2 bad usage or input.\n");
}

static bool is_picture(const char *w)
{
	return !strcmp(w, "pagetable") || !strcmp(w, "rmap") || !strcmp(w, "folio") || !strcmp(w, "machine");
}

static bool is_view(const char *w)
{
	return !strcmp(w, "maps") || !strcmp(w, "smaps") || !strcmp(w, "pagemap") || !strcmp(w, "vmstat") ||
	       !strcmp(w, "meminfo");
}

int cmd_show(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "json",   no_argument,       NULL, 'j' },
		{ "help",   no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct scn_opts o = { .err = stderr, .out = stderr, .show_format = MML_PICTURE_SVG };
	const char *output = NULL, *name = NULL, *text, *ext;
	bool format_given = false;
	char *file = NULL, *script = NULL;
	size_t len = 0, n = 0;
	unsigned lines = 1;
	int c, status;

	while ((c = getopt_long(argc, argv, "+f:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (opt_picture_format("show", optarg, &o.show_format) < 0)
				return 2;
			format_given = true;
			break;
		case 'o':
			if (opt_out_file("show", "output", optarg) < 0)
				return 2;
			output = optarg;
			break;
		case 'j':
			o.view_json = true;
			break;
		case 'h':
			show_usage(stdout);
			return 0;
		default:
			fprintf(stderr, "try 'mmlab show --help'\n");
			return 2;
		}
	}
	/* -o F.png or F.dot says the format, unless --format did */
	ext = output ? strrchr(output, '.') : NULL;
	if (!format_given && ext && (!strcmp(ext, ".png") || !strcmp(ext, ".dot") || !strcmp(ext, ".gv")))
		o.show_format = ext[1] == 'p' ? MML_PICTURE_PNG : MML_PICTURE_DOT;
	if (optind < argc && !is_picture(argv[optind]) && !is_view(argv[optind]))
		name = argv[optind++];
	if (optind == argc || (!is_picture(argv[optind]) && !is_view(argv[optind]))) {
		fprintf(stderr, "mmlab show: expected a picture (pagetable, rmap, folio, machine) "
			"or a view (maps, smaps, pagemap, vmstat, meminfo)\n");
		return 2;
	}
	if (is_picture(argv[optind]) ? o.view_json : format_given) {
		fprintf(stderr, "mmlab show: %s is for %s\n", o.view_json ? "--json" : "--format",
			o.view_json ? "the views" : "the pictures");
		return 2;
	}
	if (name) {
		file = scn_read_file(name, &len, stderr);
		if (!file)
			return 2;
		text = file;
	} else {
		/* the demo up to its last step, where its processes exit: something left to draw */
		const char *end;

		text = scn_demo_text(0, &name);
		end = strstr(text, "echo \"=== 7.");
		len = end ? (size_t)(end - text) : strlen(text);
	}
	/* the file, then the picture's statement on a line of its own after its last */
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	n = len + 16;
	for (int i = optind; i < argc; i++)
		n += strlen(argv[i]) + 1;
	script = malloc(n);
	if (!script) {
		free(file);
		fprintf(stderr, "mmlab show: out of memory\n");
		return 2;
	}
	memcpy(script, text, len);
	if (len && text[len - 1] != '\n') {
		script[len++] = '\n';
		lines++;
	}
	n = len + (size_t)sprintf(script + len, "show");
	for (int i = optind; i < argc; i++)
		n += (size_t)sprintf(script + n, " %s", argv[i]);
	script[n++] = '\n';
	o.picture_line = lines;
	o.picture_out = output ? fopen(output, "wb") : stdout;
	if (!o.picture_out) {
		fprintf(stderr, "mmlab show: %s: %s\n", output, strerror(errno));
		status = 2;
	} else {
		status = scn_run_string(name, script, n, &o);
		if ((output ? fclose(o.picture_out) : fflush(o.picture_out)) && status == SCN_PASS) {
			fprintf(stderr, "mmlab show: cannot write the picture\n");
			status = 1;
		}
	}
	free(script);
	free(file);
	return status;
}
