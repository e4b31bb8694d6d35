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

/* stress.c: `mmlab stress [OPTIONS]` */
int cmd_stress(int argc, char **argv);

/* bench.c: `mmlab bench [NAME [OPTIONS]]` */
int cmd_bench(int argc, char **argv);

#endif /* MMLAB_TOOLS_CLI_H */
