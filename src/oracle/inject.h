/*
 * inject.h - fault injection at every resource boundary, on a seeded
 * schedule: a rate, or SQLite's countdown-then-repeat (test_malloc.c).
 * Models Linux's fail_page_alloc and failslab.
 */
#ifndef MML_ORACLE_INJECT_H
#define MML_ORACLE_INJECT_H

#include <stdbool.h>

#include "mmlab.h"
#include "sync/sync.h"

struct mml_fail_state {
	spinlock_t lock;
	struct mml_fail cfg;	/* sites == 0: off */
	long countdown;		/* attempts left before the first failure */
	long repeat_left;	/* failures left after it; -1 forever */
	uint64_t rng;
	long injected;
};

void fail_state_init(struct mml_fail_state *fs);
void fail_state_destroy(struct mml_fail_state *fs);
/* Should this attempt at a site fail?  Cheap when injection is off. */
bool should_fail(struct mml_machine *m, unsigned site);

#endif /* MML_ORACLE_INJECT_H */
