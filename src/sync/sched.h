/*
 * sched.h - what sync.c and rcu.c ask of the deterministic scheduler
 * (sched.c); nothing outside src/sync/ includes it.
 *
 * A thread of a deterministic run never sleeps in pthreads on something
 * another scheduled thread must do: the other thread may be parked and
 * would never run.  It tries, and if it cannot have what it wants it
 * parks itself with sched_block() on the object, until whoever changes
 * the object calls sched_wake() on it.
 */
#ifndef MML_SCHED_H
#define MML_SCHED_H

#include "sync/sync.h"

/* True if the calling thread runs under an active deterministic run (the flag first: it is cheap). */
bool sched_thread_is_scheduled(void);
static inline bool sched_current(void)
{
	return __builtin_expect(__atomic_load_n(&mml_sched_on, __ATOMIC_RELAXED), 0) && sched_thread_is_scheduled();
}
/*
 * Park the calling thread on obj until sched_wake(obj), or, with
 * timeout_ms > 0, until the virtual clock has passed that many
 * milliseconds (the clock moves only when every thread waits).  True if
 * it woke by the time-out.  The caller tests its condition again.
 */
bool sched_block(enum sched_point_kind kind, const void *obj, const void *where, unsigned timeout_ms);
/* Is a thread parked on obj (waiting for it)? */
bool sched_has_waiter(const void *obj);
/* Make every thread parked on obj runnable (they run when the strategy picks them). */
void sched_wake(const void *obj);
/* A scheduling point with the caller's own location (sync.c's entry points). */
void sched_point_at(enum sched_point_kind kind, const void *obj, const void *where);

/* RCU under the scheduler (rcu.c): read sections counted per thread, grace periods modelled. */
void sched_rcu_read_lock(void);
void sched_rcu_read_unlock(void);
void sched_synchronize_rcu(const void *where);

#endif /* MML_SCHED_H */
