/*
 * rcu.c - RCU for mmlab: liburcu-bp by default; with MML_RCU_RWLOCK (the
 * ThreadSanitizer build, which cannot see liburcu's barriers) a
 * reader-writer lock with the same contract.  See sync.h.
 */
#ifndef MML_RCU_RWLOCK
#include <urcu-bp.h>
/* liburcu maps these names to its flavour; mmlab's own wrappers take them. */
#undef rcu_read_lock
#undef rcu_read_unlock
#undef synchronize_rcu
#undef call_rcu
#undef rcu_barrier
#undef rcu_dereference
#undef rcu_assign_pointer
typedef struct rcu_head urcu_head_t;
typedef void (*urcu_func_t)(struct rcu_head *);
#endif

#include "sync/sync.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- RCU ------------------------------------------------------------------ */

static __thread int rcu_nesting;

bool rcu_read_lock_held(void)
{
	return rcu_nesting > 0;
}

#ifndef MML_RCU_RWLOCK

_Static_assert(sizeof(struct callback_head) == sizeof(urcu_head_t),
	       "struct callback_head must overlay liburcu's rcu_head");

void rcu_read_lock(void)
{
	rcu_nesting++;
	urcu_bp_read_lock();
}

void rcu_read_unlock(void)
{
	urcu_bp_read_unlock();
	rcu_nesting--;
}

void synchronize_rcu(void)
{
	urcu_bp_synchronize_rcu();
}

void call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head))
{
	/* Same layout as liburcu's head: it owns both fields until func runs. */
	urcu_bp_call_rcu((urcu_head_t *)(void *)head, (urcu_func_t)func);
}

void rcu_barrier(void)
{
	urcu_bp_barrier();
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
static pthread_mutex_t rcu_cb_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rcu_cb_cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t rcu_cb_done = PTHREAD_COND_INITIALIZER;
static struct callback_head *rcu_cb_list;
static unsigned long rcu_cb_queued, rcu_cb_ran;
static pthread_once_t rcu_cb_once = PTHREAD_ONCE_INIT;

void rcu_read_lock(void)
{
	if (rcu_nesting++ == 0)
		__atomic_add_fetch(&rcu_nr_readers, 1, __ATOMIC_SEQ_CST);
}

void rcu_read_unlock(void)
{
	if (--rcu_nesting == 0)
		__atomic_sub_fetch(&rcu_nr_readers, 1, __ATOMIC_SEQ_CST);
}

void synchronize_rcu(void)
{
	while (__atomic_load_n(&rcu_nr_readers, __ATOMIC_SEQ_CST))
		sched_yield();
}

static void *rcu_cb_thread(void *arg)
{
	for (;;) {
		struct rcu_head *list;
		unsigned long n = 0;

		pthread_mutex_lock(&rcu_cb_lock);
		while (!rcu_cb_list)
			pthread_cond_wait(&rcu_cb_cond, &rcu_cb_lock);
		list = rcu_cb_list;
		rcu_cb_list = NULL;
		pthread_mutex_unlock(&rcu_cb_lock);

		synchronize_rcu();
		while (list) {
			struct rcu_head *next = list->next;

			list->func(list);
			list = next;
			n++;
		}
		pthread_mutex_lock(&rcu_cb_lock);
		rcu_cb_ran += n;
		pthread_cond_broadcast(&rcu_cb_done);
		pthread_mutex_unlock(&rcu_cb_lock);
	}
	return arg;
}

static void rcu_cb_start(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, rcu_cb_thread, NULL)) {
		fprintf(stderr, "mmlab: cannot start the RCU callback thread\n");
		abort();
	}
	pthread_detach(t);
}

void call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head))
{
	pthread_once(&rcu_cb_once, rcu_cb_start);
	head->func = func;
	pthread_mutex_lock(&rcu_cb_lock);
	head->next = rcu_cb_list;
	rcu_cb_list = head;
	rcu_cb_queued++;
	pthread_cond_signal(&rcu_cb_cond);
	pthread_mutex_unlock(&rcu_cb_lock);
}

void rcu_barrier(void)
{
	unsigned long target;

	pthread_mutex_lock(&rcu_cb_lock);
	target = rcu_cb_queued;
	while (rcu_cb_ran < target)
		pthread_cond_wait(&rcu_cb_done, &rcu_cb_lock);
	pthread_mutex_unlock(&rcu_cb_lock);
}

#endif /* MML_RCU_RWLOCK */

