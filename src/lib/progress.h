/*
 * progress.h - the one progress line of mmlab's long runs (fuzz --time,
 * stress, bench, conform over many files, the zoo script through `mmlab
 * progress`): done/total, rate, elapsed, ETA and failures so far, redrawn
 * in place on a terminal.
 *
 * Contract:
 *  - progress_start() decides once: the line is drawn only when f is a
 *    terminal (f NULL: never, for --json and --quiet).  Off, every call is
 *    a no-op, so that callers need no test of their own and output that
 *    is not a terminal stays line-oriented, with no carriage return.
 *  - progress_update() redraws at most PROGRESS_HZ times a second (it
 *    reads the clock, nothing more, when it does not): cheap enough to be
 *    called after every operation.
 *  - Before the caller prints a line of its own to the same terminal it
 *    calls progress_clear(), which blanks the line; the next update draws
 *    it again at once.
 *  - progress_end() draws the last state and ends the line with a newline.
 *  - Nothing here allocates.
 */
#ifndef MML_LIB_PROGRESS_H
#define MML_LIB_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

#define PROGRESS_HZ	10

struct progress {
	FILE *f;		/* NULL: off */
	const char *label;	/* what runs: a story's name, "fuzz seed 3"; the caller may change it */
	const char *unit;	/* what is counted: "ops", "seeds", "files" */
	uint64_t total;		/* 0: not known (then no ETA unless limit_s) */
	double limit_s;		/* > 0: the run stops after this long (fuzz --time) */
	double t0;		/* when it started, CLOCK_MONOTONIC seconds */
	double drawn;		/* when last drawn; 0: draw at the next update */
	int len;		/* the length of the line on the terminal */
};

/* CLOCK_MONOTONIC, in seconds */
double progress_now(void);

void progress_start(struct progress *p, FILE *f, const char *label, const char *unit, uint64_t total,
		    double limit_s);
void progress_update(struct progress *p, uint64_t done, uint64_t failed);
void progress_clear(struct progress *p);
void progress_end(struct progress *p, uint64_t done, uint64_t failed);

/* The line's text, as drawn at time now (for `mmlab progress` and the unit test). */
int progress_format(const struct progress *p, char *buf, size_t len, uint64_t done, uint64_t failed, double now);

#endif /* MML_LIB_PROGRESS_H */
