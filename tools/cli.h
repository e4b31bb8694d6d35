/*
 * cli.h - what the command line's files share: option values parsed the
 * same way by every command, and the commands that live in files of their
 * own (mmlab.c holds the table that dispatches to them).
 */
#ifndef MMLAB_TOOLS_CLI_H
#define MMLAB_TOOLS_CLI_H

#include <stdint.h>

#include "mmlab.h"

/* A command, or a bench of `mmlab bench`: argv[0] is its name when it runs. */
struct cli_command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

/*
 * Run the entry of table (ended by a NULL name) that argv[optind] names,
 * with the arguments after it, getopt restarted and argv[0] "PREFIX NAME"
 * (getopt names it in its messages; the buffer is reused by the next
 * call).  Its exit status, or -1 if no entry has that name.
 */
int cli_dispatch(const struct cli_command *table, const char *prefix, int argc, char **argv);

/*
 * Option values; each prints "mmlab CMD: --OPT: ..." and returns -1 on a
 * bad one, so that the caller only has to exit 2.
 */
int opt_uint(const char *cmd, const char *opt, const char *s, uint64_t max, uint64_t *out);
int opt_range(const char *cmd, const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out);
int opt_out_file(const char *cmd, const char *opt, const char *path);
int opt_size(const char *cmd, const char *opt, const char *s, uint64_t *out);

/* show.c: `mmlab show [OPTIONS] [SCENARIO] PICTURE`, and run's pictures and --report */
struct scn_opts;
int cmd_show(int argc, char **argv);
int opt_picture_format(const char *cmd, const char *s, enum mml_picture_format *fmt);
int opt_dir(const char *cmd, const char *opt, const char *path);
/* --report FILE: the page opened into o->report, and closed: 0, or -1 after a message */
int report_open(const char *path, struct scn_opts *o);
int report_close(const char *path, struct scn_opts *o);
/*
 * plot.c: --vmstat-trace FILE, --vmstat-fields LIST and --vmstat-every N,
 * the same on run, fuzz, stress and bench: VMSTAT_LONGOPTS in a command's
 * option table, opt_vmstat() for their values (0, or -1 after a message),
 * opt_vmstat_open() once the options are read (t->f stays NULL without
 * --vmstat-trace; 0, or -1 after a message), opt_vmstat_close() at the end
 * (the command's status, or 2 after a message if a write failed).
 */
#define OPT_VMSTAT_TRACE	0x100
#define OPT_VMSTAT_FIELDS	0x101
#define OPT_VMSTAT_EVERY	0x102
#define VMSTAT_LONGOPTS \
	{ "vmstat-trace",  required_argument, NULL, OPT_VMSTAT_TRACE }, \
	{ "vmstat-fields", required_argument, NULL, OPT_VMSTAT_FIELDS }, \
	{ "vmstat-every",  required_argument, NULL, OPT_VMSTAT_EVERY }
struct vmstat_opts {
	const char *path;
	const char *fields;	/* NULL: VMSTAT_TRACE_DEFAULT */
	uint64_t every;		/* 0: every step */
};
struct vmstat_trace;
int opt_vmstat(const char *cmd, int c, const char *arg, struct vmstat_opts *v);
int opt_vmstat_open(const char *cmd, const struct vmstat_opts *v, const char *ctx, struct vmstat_trace *t);
int opt_vmstat_close(const char *cmd, struct vmstat_trace *t, int status);

/* plot.c: `mmlab plot FILE.csv -o FILE.svg|FILE.png [--fields LIST]` */
int cmd_plot(int argc, char **argv);

/* stress.c: `mmlab stress [OPTIONS]` */
int cmd_stress(int argc, char **argv);

/* progress.c: `mmlab progress --done N ...`, the progress line for scripts */
int cmd_progress(int argc, char **argv);

/* bench.c: `mmlab bench [NAME [OPTIONS]]` */
int cmd_bench(int argc, char **argv);

#endif /* MMLAB_TOOLS_CLI_H */
