/*
 * idset.h - a small set of int ids kept sorted in an array: the live
 * members of something numbered from 0 without reuse (the fuzzer's tasks
 * and pins, the model's pins), where a run numbers tens of thousands but
 * only a few dozen live at once.  Iterating the set costs what is live,
 * not what was ever numbered; add and remove cost a memmove of it.  Not
 * thread-safe: its owner serializes.
 */
#ifndef MML_LIB_IDSET_H
#define MML_LIB_IDSET_H

#include <stdbool.h>

struct idset {
	int *ids;	/* ascending */
	int n, cap;
};

/* False (the set unchanged) only when memory is short; adding a member is a no-op. */
bool idset_add(struct idset *s, int id);
void idset_del(struct idset *s, int id);
void idset_free(struct idset *s);

#endif
