/*
 * rcu.c - RCU for mmlab: liburcu-bp by default; with MML_RCU_RWLOCK (the
 * ThreadSanitizer build, which cannot see liburcu's barriers) a reader
 * count with the same contract.  Deferred frees go through rcu_batch.
 * See sync.h.
 */
#ifndef MML_RCU_RWLOCK
/*
 * liburcu-bp's read side inline (_LGPL_SOURCE: its static functions): a
 * fault enters three read-side sections, each a call into the library
 * and a __tls_get_addr for its reader.  Its thread-local reader is
 * reached initial-exec, as the core's own hot thread-locals are
 * (__tls_fast).  The plain build only (the Makefile says why).
 */
#ifdef MML_RCU_INLINE
#define _LGPL_SOURCE
#endif
#include <urcu-bp.h>
/* liburcu maps these names to its flavour; mmlab's own wrappers take them. */
#undef rcu_read_lock
#undef rcu_read_unlock
#undef synchronize_rcu
#undef call_rcu
#undef rcu_barrier
#undef rcu_dereference
#undef rcu_assign_pointer
#endif

#include "sync/sync.h"
#include "sync/sched.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- RCU ------------------------------------------------------------------ */

static __thread int rcu_nesting __tls_fast;

bool rcu_read_lock_held(void)
{
	return rcu_nesting > 0;
}

#ifndef MML_RCU_RWLOCK

void rcu_read_lock(void)
{
	rcu_nesting++;
	urcu_bp_read_lock();
	if (sched_current())
		sched_rcu_read_lock();
}

void rcu_read_unlock(void)
{
	urcu_bp_read_unlock();
	rcu_nesting--;
	if (sched_current())
		sched_rcu_read_unlock();
}

/*
 * Deterministic: the grace period is the scheduler's (liburcu's would wait
 * for readers parked by the scheduler, which cannot run meanwhile).
 */
void synchronize_rcu(void)
{
	if (sched_current())
		sched_synchronize_rcu(__builtin_return_address(0));
	else
		urcu_bp_synchronize_rcu();
}


#else /* MML_RCU_RWLOCK */

/*
 * Readers announce themselves in one shared counter with sequentially
 * consistent atomics, which ThreadSanitizer understands; a grace period
 * waits until the counter has been zero once after it began.  Every reader
 * that could have seen the old pointer was counted before the updater
 * started waiting, so it has finished by then.  Slow under constant read
 * load, but only the ThreadSanitizer build uses it.
 */
static long rcu_nr_readers;

void rcu_read_lock(void)
{
	if (rcu_nesting++ == 0)
		__atomic_add_fetch(&rcu_nr_readers, 1, __ATOMIC_SEQ_CST);
	if (sched_current())
		sched_rcu_read_lock();
}

void rcu_read_unlock(void)
{
	if (--rcu_nesting == 0)
		__atomic_sub_fetch(&rcu_nr_readers, 1, __ATOMIC_SEQ_CST);
	if (sched_current())
		sched_rcu_read_unlock();
}

void synchronize_rcu(void)
{
	if (sched_current()) {
		sched_synchronize_rcu(__builtin_return_address(0));
		return;
	}
	while (__atomic_load_n(&rcu_nr_readers, __ATOMIC_SEQ_CST))
		sched_yield();
}

#endif /* MML_RCU_RWLOCK */


/* ---- batches ---------------------------------------------------------------- */

void rcu_batch_init(struct rcu_batch *b)
{
	spin_lock_init(&b->lock);
	b->list = NULL;
	b->pending = 0;
}

void rcu_batch_destroy(struct rcu_batch *b)
{
	rcu_batch_flush(b);
	spin_lock_destroy(&b->lock);
}

void rcu_batch_add(struct rcu_batch *b, struct callback_head *head, void (*func)(struct callback_head *head))
{
	head->func = func;
	spin_lock(&b->lock);
	/*
	 * WRITE_ONCE: a head may overlay a field lockless readers look at
	 * (a page table's pt_rcu_head is its struct page's compound_head,
	 * which pfn scanners such as compaction read with READ_ONCE, as in
	 * Linux, where rcu_head.next keeps bit 0 clear for them).
	 */
	WRITE_ONCE(head->next, b->list);
	b->list = head;
	WRITE_ONCE(b->pending, b->pending + 1);
	spin_unlock(&b->lock);
}

void rcu_batch_flush(struct rcu_batch *b)
{
	struct callback_head *list;
	long n = 0;

	spin_lock(&b->lock);
	list = b->list;
	b->list = NULL;
	spin_unlock(&b->lock);
	if (!list)
		return;
	/* Everything on the list was unpublished before this grace period. */
	synchronize_rcu();
	while (list) {
		struct callback_head *next = list->next;

		list->func(list);
		list = next;
		n++;
	}
	spin_lock(&b->lock);
	WRITE_ONCE(b->pending, b->pending - n);
	spin_unlock(&b->lock);
}
