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

#include "lib/json.h"
#include "lib/progress.h"
#include "native/conform.h"

static int conform_one(const char *path, const struct cf_opts *o, struct cf_totals *t, struct json *j)
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
	status = cf_compare(&slog, &hlog, o->json ? stderr : stdout, o->verbose, t, j) ? SCN_FAIL : SCN_PASS;
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
	struct json j;

	/* one file is quick enough to need no line */
	progress_start(&prog, n > 1 && !o->json ? stderr : NULL, "conform", "files", (uint64_t)n, 0);
	if (o->json) {
		json_init(&j, stdout);
		json_object(&j, NULL);
		json_array(&j, "files");
	}
	for (i = 0; i < n; i++) {
		progress_clear(&prog);	/* a file's disagreements and errors print whole lines */
		if (o->json) {
			json_object(&j, NULL);
			json_str(&j, "file", files[i]);
		}
		r = conform_one(files[i], o, &t, o->json ? &j : NULL);
		if (o->json) {
			/* a file that could not run has no comparison: only its result */
			json_str(&j, "result", r == SCN_PASS ? "pass" : r == SCN_FAIL ? "fail" : "bad");
			json_end(&j);
		}
		if (r > worst)
			worst = r;
		bad += r != SCN_PASS;
		fflush(stdout);
		progress_update(&prog, (uint64_t)i + 1, (uint64_t)bad);
	}
	progress_end(&prog, (uint64_t)n, (uint64_t)bad);
	if (o->json) {
		json_end(&j);
		json_object(&j, "scenarios");
		json_int(&j, "agreed", t.files_agreed);
		json_int(&j, "skipped", t.files_skipped);
		json_int(&j, "disagreed", t.files_disagreed);
		json_end(&j);
		json_object(&j, "observations");
		json_int(&j, "agreed", t.agreed);
		json_int(&j, "skipped", t.skipped);
		json_int(&j, "disagreed", t.disagreed);
		json_end(&j);
		json_int(&j, "exit_status", worst);
		json_end(&j);
	/* A summary of what was compared: none when no file could be (the errors said why). */
	} else if (t.files_agreed + t.files_skipped + t.files_disagreed)
		printf("%d agreed, %d skipped, %d disagreed (scenarios); "
		       "%d agreed, %d skipped, %d disagreed (observations)\n",
		       t.files_agreed, t.files_skipped, t.files_disagreed,
		       t.agreed, t.skipped, t.disagreed);
	return worst;
}
