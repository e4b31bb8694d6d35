/*
 * xarray.h - a sparse array of pointers keyed by unsigned long, for the
 * page cache (Linux's lib/xarray.c, much reduced: no marks, no multi-index
 * entries, no xa_state).
 *
 * Contract:
 *  - An entry is NULL (absent), a pointer aligned to 4 bytes or more, or a
 *    value entry: xa_mk_value(v) for v <= LONG_MAX, bit 0 set (shmem keeps
 *    swap entries so).  Entries with bit 1 set and bit 0 clear are the
 *    array's own (nodes, retry, errors); storing one is -EINVAL.
 *  - Every index of the full unsigned long range may hold an entry.
 *  - Writers hold xa_lock (xa_lock()/xa_unlock(), a spinlock_t: never
 *    sleep under it) and call the __xa_* functions, which assert it; the
 *    xa_store()/xa_erase() forms take it themselves.
 *  - Readers (xa_load, xa_find) may run without the lock: they take
 *    rcu_read_lock() themselves and see, for each index, an entry that was
 *    there at some moment of the call.  What the entry points to stays
 *    valid only as long as the caller holds the lock or an RCU read
 *    section, or a reference it took (and rechecked) inside one.
 *  - Nodes are 64-slot (XA_CHUNK_SHIFT 6) and allocated with calloc under
 *    the lock.  A node that leaves the tree goes through the rcu_batch
 *    given to xa_init (freed at its owner's next flush), or is freed at
 *    once if there is none: only then may lockless readers run.
 *  - Errors: a store returns the old entry, or an error entry: test it
 *    with xa_is_err(), turn it into -ENOMEM or -EINVAL with xa_err() (0 for
 *    any other entry).  A store that fails has changed nothing: the same
 *    entries, the same nodes.  Erasing never fails.
 *  - Fault injection and accounting through struct xa_node_acct: a node
 *    allocation fails when may_alloc(arg) says so (the machine asks
 *    should_fail(m, MML_FAIL_META)), and nr_nodes counts nodes allocated
 *    and not yet freed, a deferred free included, so that the owner of the
 *    counter can check it is zero at teardown after its last flush.
 *
 * Field locks: (L) xa_lock for writing, readable under RCU; (C) constant
 * after xa_init.
 */
#ifndef MML_LIB_XARRAY_H
#define MML_LIB_XARRAY_H

#include <stdbool.h>
#include <limits.h>

#include "sync/sync.h"

#define XA_CHUNK_SHIFT	6
#define XA_CHUNK_SIZE	(1UL << XA_CHUNK_SHIFT)
#define XA_CHUNK_MASK	(XA_CHUNK_SIZE - 1)

struct xa_node_acct {
	bool (*may_alloc)(void *arg);	/* NULL, or false to fail this allocation */
	void *arg;
	atomic_long_t *nr_nodes;	/* NULL, or nodes allocated and not yet freed */
};

struct xarray {
	spinlock_t xa_lock;
	void *xa_head;			/* (L) NULL, the entry at index 0, or the top node */
	unsigned long xa_nr_nodes;	/* (L) nodes in the tree */
	struct rcu_batch *xa_rcu;	/* (C) where unlinked nodes wait; NULL: no lockless readers */
	const struct xa_node_acct *xa_acct;	/* (C) NULL: plain calloc, never refused */
};

/* rcu and acct may be NULL; both must outlive every node the array frees. */
void xa_init(struct xarray *xa, struct rcu_batch *rcu, const struct xa_node_acct *acct);
/*
 * The array's end: every node unlinked and freed (the entries are the
 * caller's), the lock destroyed; xa_init again before any other use.
 */
void xa_destroy(struct xarray *xa);

#define xa_lock(xa)	spin_lock(&(xa)->xa_lock)
#define xa_unlock(xa)	spin_unlock(&(xa)->xa_lock)
#define xa_assert_locked(xa)	lockdep_assert_held_spin(&(xa)->xa_lock)

static inline bool xa_empty(struct xarray *xa) { return READ_ONCE(xa->xa_head) == NULL; }
static inline unsigned long xa_nr_nodes(struct xarray *xa) { return READ_ONCE(xa->xa_nr_nodes); }

/* ---- entries ------------------------------------------------------------- */

static inline void *xa_mk_value(unsigned long v) { return (void *)((v << 1) | 1); }
static inline unsigned long xa_to_value(const void *e) { return (unsigned long)e >> 1; }
static inline bool xa_is_value(const void *e) { return (unsigned long)e & 1; }

/* The array's own entries: bits 1:0 == 10. */
static inline void *xa_mk_internal(long v) { return (void *)(((unsigned long)v << 2) | 2); }
static inline long xa_to_internal(const void *e) { return (long)e >> 2; }
static inline bool xa_is_internal(const void *e) { return ((unsigned long)e & 3) == 2; }
/* An error is an internal entry of -MAX_ERRNO..-1, i.e. a very high address. */
static inline bool xa_is_err(const void *e)
{
	return xa_is_internal(e) && (unsigned long)e >= (unsigned long)xa_mk_internal(-4095);
}
static inline int xa_err(const void *e) { return xa_is_err(e) ? (int)xa_to_internal(e) : 0; }

/* ---- readers: no lock needed ----------------------------------------------- */

void *xa_load(struct xarray *xa, unsigned long index);
/*
 * The first entry at an index in [*indexp, max], its index stored in
 * *indexp; NULL (and *indexp unchanged) if there is none.  xa_find_after
 * looks past *indexp.  Entries come in increasing index order.
 */
void *xa_find(struct xarray *xa, unsigned long *indexp, unsigned long max);
void *xa_find_after(struct xarray *xa, unsigned long *indexp, unsigned long max);

#define xa_for_each_range(xa, index, entry, start, last)		\
	for ((index) = (start), (entry) = xa_find((xa), &(index), (last));	\
	     (entry); (entry) = xa_find_after((xa), &(index), (last)))
#define xa_for_each(xa, index, entry)	xa_for_each_range(xa, index, entry, 0, ULONG_MAX)

/* ---- writers: xa_lock held ---------------------------------------------------- */

/* The old entry (NULL if none), or an error entry.  Storing NULL erases. */
void *__xa_store(struct xarray *xa, unsigned long index, void *entry);
/* The entry that was there, NULL if none; never fails. */
void *__xa_erase(struct xarray *xa, unsigned long index);
/* Store entry only if the entry there is old; the entry found, or an error entry. */
void *__xa_cmpxchg(struct xarray *xa, unsigned long index, void *old, void *entry);
/* 0, -EBUSY if index holds an entry, -ENOMEM, -EINVAL. */
int __xa_insert(struct xarray *xa, unsigned long index, void *entry);

/* The same, taking xa_lock. */
void *xa_store(struct xarray *xa, unsigned long index, void *entry);
void *xa_erase(struct xarray *xa, unsigned long index);

#endif /* MML_LIB_XARRAY_H */
