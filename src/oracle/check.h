/*
 * check.h - the invariant checker's entry points beside mml_check() and
 * the core's mml_check_locked() (mm/hooks.h), for the oracles that check
 * as they go: the fuzzer's incremental check of what each operation
 * touched (oracle/check.c says what it covers and what it leaves to the
 * full check).
 */
#ifndef MML_ORACLE_CHECK_H
#define MML_ORACLE_CHECK_H

#include <stdint.h>

#include "mmlab.h"
#include "oracle/model.h"

/* t's mm over [start, end), or every mm whole (t NULL); 0 or -EUCLEAN, as mml_check() */
int mml_check_range(struct mml_machine *m, struct mml_task *t, uint64_t start, uint64_t end);
/* moves whenever work may have changed the page tables of mms other than the caller's (reclaim, migration...) */
long mml_check_epoch(struct mml_machine *m);
/* true if every page t's mm maps in [start, end) is a small anon one mapped there alone: MADV_COLD and PAGEOUT stay in that mm */
bool mml_range_private(struct mml_task *t, uint64_t start, uint64_t end);
/* /proc/vmstat's oom_kill, without settling anything (nor comparing names, as mml_stat_peek) */
long mml_oom_kills(struct mml_machine *m);
/* t's VMAs as the model's layout runs (model_layout) into out[0..max); their number, which may exceed max */
size_t mml_task_layout(struct mml_task *t, struct layout_range *out, size_t max);

#endif /* MML_ORACLE_CHECK_H */
