/*
 * observe.h - what a statement's observe function (scenario/command.h)
 * may use of the conformance walk (observe.c): the walk's state, the
 * values of the script's names on this side, and the ways to write down
 * an observation.
 */
#ifndef MMLAB_NATIVE_OBSERVE_H
#define MMLAB_NATIVE_OBSERVE_H

#include "native/conform.h"

enum cf_sym_state { CF_SYM_UNSET, CF_SYM_OK, CF_SYM_FAILED, CF_SYM_SKIPPED };

struct cf_val {
	enum cf_sym_state state;
	unsigned line;		/* where it failed or was skipped */
	int h;			/* the back end's task or pin handle */
	uint64_t v;		/* address or frame */
};

struct cf_walk {
	const struct scn_script *s;
	struct cf_backend *b;
	struct cf_log *log;
	struct cf_val *vals;
	long *marks;
	char **mark_skip;	/* why a statref could not be marked */
	unsigned gone_line;	/* a state change was skipped here; 0 = none */
	char *gone_why;
	long reports;
	const struct scn_op *op;
	struct cf_obs *obs;
	int64_t reclaimed;	/* what the latest reclaim returned */
};

void cf_note(struct cf_walk *w, enum cf_obs_state st, bool holds, const char *key,
	     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* "ok", or the errno's name */
const char *cf_errname(long r);
/*
 * A back end's refusal: skipped (or broken) and, if the statement would
 * have changed the memory, everything after it too.  True if it was one.
 */
bool cf_refused(struct cf_walk *w, int64_t r, bool changes_state);
/* A statement no back end can run (why: for the log), noted as cf_refused does. */
void cf_skip(struct cf_walk *w, bool changes_state, const char *why);
/* "ok", "EFAULT": a result, judged against the statement's "=>" */
void cf_note_result(struct cf_walk *w, int64_t r);
uint64_t cf_addr_of(struct cf_walk *w, const struct scn_addr *a);
int cf_task_of(struct cf_walk *w, int sym);
/* The descriptor number an op names, as this side numbered it. */
long cf_fd_of(struct cf_walk *w, const struct scn_op *op);
/* The value of the name the statement defines, if it defines one. */
void cf_define(struct cf_walk *w, enum cf_sym_state st, int h, uint64_t v);
/* A defining statement's result: noted, and its name given handle h or value v. */
void cf_note_defined(struct cf_walk *w, int64_t r, bool changes_state, int h, uint64_t v);
/* A buffer for op->len bytes, or NULL after noting that there is none. */
unsigned char *cf_load_buffer(struct cf_walk *w);
/* The bytes a read or dma-read returned, as an observation. */
void cf_note_bytes(struct cf_walk *w, int64_t r, const unsigned char *buf);
/*
 * What pread returned: a count (count_ok: the one the statement allows)
 * and the bytes, which the statement's patterns judge as far as they go.
 */
void cf_note_count_bytes(struct cf_walk *w, int64_t r, const unsigned char *buf, bool count_ok);
/* The pagemap entry at a place; -1 after noting why there is none. */
int cf_pagemap1(struct cf_walk *w, int task_sym, const struct scn_addr *a, uint64_t *e);
/* "same frame" or "different frames" between two present pages */
void cf_note_frames(struct cf_walk *w, bool present, uint64_t a, uint64_t b, bool want_same);

#endif /* MMLAB_NATIVE_OBSERVE_H */
