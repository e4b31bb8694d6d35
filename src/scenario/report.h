/*
 * report.h - `mmlab run --report FILE.html`: one self-contained page of a
 * run (report.c).  Each scenario is a section; each statement run a row:
 * its line and text, what it printed and any message, its verdict
 * (expectations pass or fail), the pictures its show statements drew
 * (inline SVG) and the vmstat counters it changed.  No script, no
 * network: inline CSS and SVG alone.
 *
 * The interpreter (run.c) calls begin, then before and step around each
 * statement, then end; cmd_show.c hands in pictures as they are drawn.
 */
#ifndef MML_SCENARIO_REPORT_H
#define MML_SCENARIO_REPORT_H

#include <stdio.h>

#include "scenario/scenario.h"

/* The page's head to f (which the caller closes after scn_report_free); NULL without memory. */
struct scn_report *scn_report_new(FILE *f);
/* Its tail; 0, or -EIO if a write to f failed.  Frees rep. */
int scn_report_free(struct scn_report *rep);

/*
 * A scenario's section begins: *out and *err are kept and replaced by
 * streams whose text each row shows; scn_report_end() puts them back and
 * passes the text on to them.  0, or -ENOMEM (nothing replaced).
 */
int scn_report_begin(struct scn_report *rep, const char *name, FILE **out, FILE **err);
/* Before a statement runs: the counters to compare with after. */
void scn_report_before(struct scn_report *rep, struct mml_machine *m);
/* A picture of the statement running, SVG. */
void scn_report_picture(struct scn_report *rep, const char *kind, const char *svg, size_t len);
/* After it ran: its row (value: "p = 0x..." for a statement that names a result, or NULL). */
void scn_report_step(struct scn_report *rep, struct mml_machine *m, const struct scn_op *op, int status,
		     const char *value);
/* The section's end: the run's verdict, and how many statements did not run. */
void scn_report_end(struct scn_report *rep, FILE **out, FILE **err, int status, int not_run);

#endif /* MML_SCENARIO_REPORT_H */
