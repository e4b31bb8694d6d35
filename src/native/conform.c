/*
 * conform.c - `mmlab conform FILE...`: each scenario on the host kernel,
 * then on mmlab, and the comparison of what each observed.
 *
 * The host runs first, while this process has no machine and no threads
 * of its own: the host's processes are forked from it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/progress.h"
#include "native/conform.h"

static int conform_one(const char *path, const struct cf_opts *o, struct cf_totals *t)
{
	struct cf_backend host, sim;
	struct cf_log hlog = { 0 }, slog = { 0 };
	struct scn_script *s;
	size_t len;
	char *text = scn_read_file(path, &len, stderr);
	int status = SCN_BAD;

	if (!text)
		return SCN_BAD;
	if (scn_parse(path, text, len, &s, stderr) < 0) {
		free(text);
		return SCN_BAD;
	}
	free(text);
	cf_host_init(&host, o->timeout_ms);
	cf_sim_init(&sim);
	if (!host.priv || !sim.priv) {
		fprintf(stderr, "%s: out of memory\n", path);
		goto out;
	}
	fflush(stdout);
	if (cf_observe(s, &host, &hlog) < 0 || cf_observe(s, &sim, &slog) < 0) {
		fprintf(stderr, "%s: cannot start a run\n", path);
		goto out;
	}
	status = cf_compare(&slog, &hlog, stdout, o->verbose, t) ? SCN_FAIL : SCN_PASS;
out:
	cf_log_free(&hlog);
	cf_log_free(&slog);
	cf_host_free(&host);
	cf_sim_free(&sim);
	scn_script_free(s);
	return status;
}

int cf_conform_files(char **files, int n, const struct cf_opts *o)
{
	struct cf_totals t = { 0 };
	struct progress prog;
	int i, r, worst = 0, bad = 0;

	/* one file is quick enough to need no line */
	progress_start(&prog, n > 1 ? stderr : NULL, "conform", "files", (uint64_t)n, 0);
	for (i = 0; i < n; i++) {
		progress_clear(&prog);	/* a file's disagreements and errors print whole lines */
		r = conform_one(files[i], o, &t);
		if (r > worst)
			worst = r;
		bad += r != SCN_PASS;
		fflush(stdout);
		progress_update(&prog, (uint64_t)i + 1, (uint64_t)bad);
	}
	progress_end(&prog, (uint64_t)n, (uint64_t)bad);
	/* A summary of what was compared: none when no file could be (the errors said why). */
	if (t.files_agreed + t.files_skipped + t.files_disagreed)
		printf("%d agreed, %d skipped, %d disagreed (scenarios); "
		       "%d agreed, %d skipped, %d disagreed (observations)\n",
		       t.files_agreed, t.files_skipped, t.files_disagreed,
		       t.agreed, t.skipped, t.disagreed);
	return worst;
}
