/*
 * vmstat_trace.h - a CSV of vmstat counters and meminfo fields over a
 * run, one row a sample (--vmstat-trace of mmlab run, fuzz, stress and
 * bench; drawn by mmlab plot).
 *
 * Contract:
 *  - The file: a header row of names, then one row a sample, comma
 *    separated, numbers only.  The first column is "step", the count of
 *    operations the command has run (statements, fuzz operations, stress
 *    runs, bench repetitions: vmstat_trace_step() calls), growing across
 *    the files, seeds and stories of one command; then the context column
 *    if the command has one ("line": the statement's line; "seed"); then
 *    the fields, by their Linux names, meminfo's in kB.
 *  - A sample is taken at every step that is a multiple of `every` (1:
 *    every step).  Reading goes through mml_stat_peek, which changes
 *    nothing: a traced run is the run without the trace.
 *  - Fields are checked when the trace is opened (vmstat_trace_open
 *    fails on an unknown name), so a run never starts to find out late.
 *  - Calls on a NULL trace do nothing, so callers need no test.
 */
#ifndef MML_ORACLE_VMSTAT_TRACE_H
#define MML_ORACLE_VMSTAT_TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mmlab.h"

#define VMSTAT_TRACE_MAX	64	/* fields */
#define VMSTAT_TRACE_DEFAULT \
	"MemFree,SwapFree,pgscan_kswapd,pgscan_direct,pgsteal_kswapd,pgsteal_direct,pgfault,pswpout,pswpin,pageoutrun"

struct vmstat_trace {
	FILE *f;
	const char *path;
	bool has_ctx;		/* a context column after step */
	unsigned every;
	uint64_t step;
	int nfields;
	char *names;		/* the field list, split in place */
	const char *field[VMSTAT_TRACE_MAX];
};

/*
 * Open path (truncated) and write the header.  fields: a comma-separated
 * list (NULL: VMSTAT_TRACE_DEFAULT); ctx: the context column's name, or
 * NULL.  0, or -1 with why in err (an unknown field, a file that cannot
 * be written).
 */
int vmstat_trace_open(struct vmstat_trace *t, const char *path, const char *fields, unsigned every,
		      const char *ctx, char *err, size_t errlen);

/* One operation done on m (NULL: no machine, no sample); ctx: the context column's value. */
void vmstat_trace_step(struct vmstat_trace *t, struct mml_machine *m, uint64_t ctx);

/* Close the file: 0, or -1 with why in err when a write failed. */
int vmstat_trace_close(struct vmstat_trace *t, char *err, size_t errlen);

/* Is name a vmstat counter? (else a meminfo field, or neither) */
bool vmstat_is_counter(const char *name);
bool vmstat_is_field(const char *name);

#endif /* MML_ORACLE_VMSTAT_TRACE_H */
