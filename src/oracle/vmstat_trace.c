/*
 * vmstat_trace.c - the CSV of vmstat_trace.h.  Not from Linux: what a
 * user gets by sampling /proc/vmstat and /proc/meminfo in a loop, taken
 * at the command's own operation boundaries instead of by time.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "oracle/vmstat_trace.h"

bool vmstat_is_counter(const char *name)
{
	const char *n;

	for (unsigned i = 0; (n = mml_vmstat_name(i)); i++)
		if (!strcmp(n, name))
			return true;
	return false;
}

bool vmstat_is_field(const char *name)
{
	const char *n;

	if (vmstat_is_counter(name))
		return true;
	for (unsigned i = 0; (n = mml_meminfo_name(i)); i++)
		if (!strcmp(n, name))
			return true;
	return false;
}

int vmstat_trace_open(struct vmstat_trace *t, const char *path, const char *fields, unsigned every,
		      const char *ctx, char *err, size_t errlen)
{
	char *save = NULL, *tok;

	*t = (struct vmstat_trace){ .path = path, .has_ctx = !!ctx, .every = every ? every : 1 };
	t->names = strdup(fields ? fields : VMSTAT_TRACE_DEFAULT);
	if (!t->names) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (tok = strtok_r(t->names, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!vmstat_is_field(tok)) {
			snprintf(err, errlen, "'%s' is neither a /proc/vmstat counter nor a /proc/meminfo field "
				 "(mmlab run's 'show vmstat' and 'show meminfo' list them)", tok);
			goto bad;
		}
		if (t->nfields == VMSTAT_TRACE_MAX) {
			snprintf(err, errlen, "more than %d fields", VMSTAT_TRACE_MAX);
			goto bad;
		}
		t->field[t->nfields++] = tok;
	}
	if (!t->nfields) {
		snprintf(err, errlen, "no field named");
		goto bad;
	}
	t->f = fopen(path, "w");
	if (!t->f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto bad;
	}
	fprintf(t->f, "step%s%s", ctx ? "," : "", ctx ? ctx : "");
	for (int i = 0; i < t->nfields; i++)
		fprintf(t->f, ",%s", t->field[i]);
	fputc('\n', t->f);
	return 0;
bad:
	free(t->names);
	t->names = NULL;
	return -1;
}

void vmstat_trace_step(struct vmstat_trace *t, struct mml_machine *m, uint64_t ctx)
{
	if (!t || !t->f || !m)
		return;
	if (++t->step % t->every)
		return;
	fprintf(t->f, "%" PRIu64, t->step);
	if (t->has_ctx)
		fprintf(t->f, ",%" PRIu64, ctx);
	for (int i = 0; i < t->nfields; i++)
		fprintf(t->f, ",%ld", mml_stat_peek(m, t->field[i]));
	fputc('\n', t->f);
}

int vmstat_trace_close(struct vmstat_trace *t, char *err, size_t errlen)
{
	int bad;

	if (!t || !t->f)
		return 0;
	bad = ferror(t->f);
	if (fclose(t->f) || bad) {
		snprintf(err, errlen, "%s: a write failed", t->path);
		bad = 1;
	}
	t->f = NULL;
	free(t->names);
	t->names = NULL;
	return bad ? -1 : 0;
}
