/*
 * xarray.c - a radix tree of 64-slot nodes under one spinlock, read
 * locklessly under RCU (the idea of Linux's lib/xarray.c; see xarray.h for
 * the contract).
 *
 * Shape.  xa_head is NULL, the entry at index 0 alone, or the top node.
 * A node of shift s holds in slot i what lies at the indices whose bits
 * s..s+5 are i: an entry if s == 0 (a leaf), else a node of shift s - 6.
 * The tree is always as short as it can be: a top node holds something
 * outside slot 0 (else xa_head would name what slot 0 holds, the entry at
 * index 0 included).  Every node holds at least one non-NULL slot.  A store
 * adds the nodes it needs (above the top first: xa_grow; then down the
 * path: xa_slot); an erase removes the nodes it empties (xa_prune) and
 * the tops that hold only slot 0 (xa_shrink).  A failed allocation undoes
 * what the store had added with the same two, so the shape comes back
 * exactly.
 *
 * Readers.  Every slot and xa_head is published with rcu_assign_pointer
 * after the node it names is filled in, and read with rcu_dereference: a
 * reader that follows a pointer sees the node's shift and slots.  A node
 * that leaves the tree waits in xa_rcu for a grace period, so a reader
 * still in it reads memory that is alive, and what it reads there was
 * true when the node left, which was during the reader's call (it got in
 * while the node was in the tree): a node leaves empty (xa_prune), as a
 * top whose one slot 0 moved to xa_head (xa_shrink), or whole
 * (xa_destroy), and its slots do not change after.  So a lookup returns an
 * entry that was at its index at some moment of the call.  Linux also
 * leaves a retry entry behind a shrink, for cursors (xa_state) that
 * re-read a slot of a node they hold; there are no cursors here: to
 * confirm an entry after taking a reference, load it again from the top.
 *
 * Locks: xa_lock, then the batch's own lock (rcu_batch_add) inside it.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "lib/xarray.h"

#define BITS_PER_LONG	(8 * (int)sizeof(unsigned long))
/* Levels of nodes for the whole index range: 11 of 6 bits cover 64. */
#define XA_MAX_DEPTH	((BITS_PER_LONG + XA_CHUNK_SHIFT - 1) / XA_CHUNK_SHIFT)

#define XA_ERROR(err)	xa_mk_internal(err)

struct xa_node {
	struct rcu_head rcu;		/* (L) on xa_rcu once unlinked */
	unsigned char shift;		/* (C) index bits below a slot: 0 in a leaf */
	unsigned char count;		/* (L) non-NULL slots */
	atomic_long_t *nr_nodes;	/* (C) the acct's counter, or NULL */
	void *slots[XA_CHUNK_SIZE];	/* (L) entries in a leaf, nodes above */
};

_Static_assert(XA_CHUNK_SIZE <= 255, "xa_node.count is a byte");
_Static_assert(XA_MAX_DEPTH * XA_CHUNK_SHIFT <= 255, "xa_node.shift is a byte");
_Static_assert(_Alignof(struct xa_node) >= 4, "a node pointer needs its two low bits for the tag");

/* The nodes a walk went through, top first: the way back up for xa_prune. */
struct xa_path {
	unsigned depth;
	struct xa_node *node[XA_MAX_DEPTH];
};

/* A node: an internal entry above the small ones (Linux's retry, zero; none here), not an error. */
static bool xa_is_node(const void *e)
{
	return xa_is_internal(e) && (unsigned long)e > 4096 && !xa_is_err(e);
}

static void *xa_mk_node(struct xa_node *node)
{
	return (void *)((unsigned long)node | 2);
}

static struct xa_node *xa_to_node(const void *e)
{
	return (struct xa_node *)((unsigned long)e - 2);
}

static unsigned xa_offset(const struct xa_node *node, unsigned long index)
{
	return (index >> node->shift) & XA_CHUNK_MASK;
}

/* The index bits a node of this shift spans: its slots' ranges together. */
static unsigned long xa_span_mask(unsigned shift)
{
	if (shift + XA_CHUNK_SHIFT >= BITS_PER_LONG)
		return ULONG_MAX;
	return (1UL << (shift + XA_CHUNK_SHIFT)) - 1;
}

/* ---- nodes ------------------------------------------------------------------ */

static struct xa_node *xa_node_alloc(struct xarray *xa, unsigned shift)
{
	const struct xa_node_acct *acct = xa->xa_acct;
	struct xa_node *node;

	if (acct && acct->may_alloc && !acct->may_alloc(acct->arg))
		return NULL;
	/* Under a spinlock, and that is fine: calloc never sleeps here. */
	node = calloc(1, sizeof(*node));
	if (!node)
		return NULL;
	node->shift = shift;
	node->nr_nodes = acct ? acct->nr_nodes : NULL;
	if (node->nr_nodes)
		atomic_long_add(1, node->nr_nodes);
	WRITE_ONCE(xa->xa_nr_nodes, xa->xa_nr_nodes + 1);
	return node;
}

static void xa_node_free_rcu(struct rcu_head *head)
{
	struct xa_node *node = (struct xa_node *)((char *)head - offsetof(struct xa_node, rcu));

	if (node->nr_nodes)
		atomic_long_add(-1, node->nr_nodes);
	free(node);
}

/* The node is unlinked; readers may still be in it until a grace period ends. */
static void xa_node_free(struct xarray *xa, struct xa_node *node)
{
	WRITE_ONCE(xa->xa_nr_nodes, xa->xa_nr_nodes - 1);
	if (xa->xa_rcu)
		rcu_batch_add(xa->xa_rcu, &node->rcu, xa_node_free_rcu);
	else
		xa_node_free_rcu(&node->rcu);
}

/* ---- the shape: grow, shrink, prune ----------------------------------------- */

/* Replace a top that holds only slot 0 by what is there, as long as one does (xas_shrink). */
static void xa_shrink(struct xarray *xa)
{
	while (xa_is_node(xa->xa_head)) {
		struct xa_node *node = xa_to_node(xa->xa_head);
		void *child = node->slots[0];

		if (node->count != 1 || !child)
			return;
		rcu_assign_pointer(xa->xa_head, child);
		xa_node_free(xa, node);
	}
}

/* Free the empty nodes at the end of path, bottom up, then shrink (xas_delete_node). */
static void xa_prune(struct xarray *xa, struct xa_path *path, unsigned long index)
{
	while (path->depth) {
		struct xa_node *node = path->node[path->depth - 1];

		if (node->count)
			break;
		if (--path->depth) {
			struct xa_node *parent = path->node[path->depth - 1];

			rcu_assign_pointer(parent->slots[xa_offset(parent, index)], NULL);
			parent->count--;
		} else {
			rcu_assign_pointer(xa->xa_head, NULL);
		}
		xa_node_free(xa, node);
	}
	xa_shrink(xa);
}

/*
 * Put nodes above the top until the tree spans index (xas_expand).  False
 * if one could not be had, and then the tree is as it was.  An empty tree needs none:
 * xa_slot makes its top at the right height directly.
 */
static bool xa_grow(struct xarray *xa, unsigned long index)
{
	void *head = xa->xa_head;

	if (!head || (!index && !xa_is_node(head)))
		return true;
	while (!xa_is_node(head) || index > xa_span_mask(xa_to_node(head)->shift)) {
		unsigned shift = xa_is_node(head) ? xa_to_node(head)->shift + XA_CHUNK_SHIFT : 0;
		struct xa_node *node = xa_node_alloc(xa, shift);

		if (!node) {
			xa_shrink(xa);
			return false;
		}
		node->slots[0] = head;		/* published by the store below */
		node->count = 1;
		rcu_assign_pointer(xa->xa_head, xa_mk_node(node));
		head = xa->xa_head;
	}
	return true;
}

/*
 * The slot that holds index, the nodes above it in path (xas_create, or a
 * descent alone without create).  NULL if there is none and create is
 * false, or if a node could not be allocated; then the tree is as it was,
 * the nodes made on the way freed: there is no retry (Linux's xas_nomem)
 * that could use them.
 */
static void **xa_slot(struct xarray *xa, unsigned long index, struct xa_path *path, bool create)
{
	void **slot = &xa->xa_head;
	struct xa_node *parent = NULL;
	unsigned shift;

	path->depth = 0;
	if (create && !xa_grow(xa, index))
		return NULL;
	if (xa_is_node(xa->xa_head)) {
		shift = xa_to_node(xa->xa_head)->shift;
		if (index > xa_span_mask(shift))
			return NULL;		/* only without create: xa_grow saw to it */
	} else if (!index) {
		return &xa->xa_head;
	} else if (!create || xa->xa_head) {
		return NULL;			/* an entry at 0 alone; with create, grown above */
	} else {
		for (shift = 0; index > xa_span_mask(shift); shift += XA_CHUNK_SHIFT)
			;
	}
	for (;;) {
		struct xa_node *node;

		if (*slot) {
			node = xa_to_node(*slot);
		} else {
			if (!create)
				return NULL;
			node = xa_node_alloc(xa, shift);
			if (!node) {
				xa_prune(xa, path, index);
				return NULL;
			}
			rcu_assign_pointer(*slot, xa_mk_node(node));
			if (parent)
				parent->count++;
		}
		path->node[path->depth++] = node;
		slot = &node->slots[xa_offset(node, index)];
		if (!node->shift)
			return slot;
		parent = node;
		shift = node->shift - XA_CHUNK_SHIFT;
	}
}

/* ---- writers ----------------------------------------------------------------- */

/* Store entry at index, if the entry there is old when cmp: the entry found. */
static void *xa_replace(struct xarray *xa, unsigned long index, bool cmp, void *old, void *entry)
{
	struct xa_path path;
	void **slot;
	void *curr;

	xa_assert_locked(xa);
	if (xa_is_internal(entry))
		return XA_ERROR(-EINVAL);
	slot = xa_slot(xa, index, &path, entry != NULL);
	if (!slot)
		return entry ? XA_ERROR(-ENOMEM) : NULL;
	curr = *slot;
	if (cmp && curr != old) {
		xa_prune(xa, &path, index);	/* the nodes made for nothing */
		return curr;
	}
	rcu_assign_pointer(*slot, entry);
	if (path.depth)
		path.node[path.depth - 1]->count += (entry != NULL) - (curr != NULL);
	if (!entry)
		xa_prune(xa, &path, index);
	return curr;
}

void *__xa_store(struct xarray *xa, unsigned long index, void *entry)
{
	return xa_replace(xa, index, false, NULL, entry);
}

void *__xa_erase(struct xarray *xa, unsigned long index)
{
	return xa_replace(xa, index, false, NULL, NULL);
}

void *__xa_cmpxchg(struct xarray *xa, unsigned long index, void *old, void *entry)
{
	return xa_replace(xa, index, true, old, entry);
}

int __xa_insert(struct xarray *xa, unsigned long index, void *entry)
{
	void *curr = xa_replace(xa, index, true, NULL, entry);

	if (xa_is_err(curr))
		return xa_err(curr);
	return curr ? -EBUSY : 0;
}

void *xa_store(struct xarray *xa, unsigned long index, void *entry)
{
	void *curr;

	xa_lock(xa);
	curr = __xa_store(xa, index, entry);
	xa_unlock(xa);
	return curr;
}

void *xa_erase(struct xarray *xa, unsigned long index)
{
	void *curr;

	xa_lock(xa);
	curr = __xa_erase(xa, index);
	xa_unlock(xa);
	return curr;
}

/* ---- readers ------------------------------------------------------------------ */

void *xa_load(struct xarray *xa, unsigned long index)
{
	struct xa_node *node;
	void *e;

	rcu_read_lock();
	e = rcu_dereference(xa->xa_head);
	if (!xa_is_node(e)) {
		if (index)
			e = NULL;
		goto out;
	}
	node = xa_to_node(e);
	if (index > xa_span_mask(node->shift)) {
		e = NULL;
		goto out;
	}
	for (;;) {
		e = rcu_dereference(node->slots[xa_offset(node, index)]);
		if (!e || !node->shift)
			break;
		node = xa_to_node(e);
	}
out:
	rcu_read_unlock();
	return e;
}

void *xa_find(struct xarray *xa, unsigned long *indexp, unsigned long max)
{
	unsigned long index = *indexp;
	struct xa_node *node;
	void *e = NULL;

	if (index > max)
		return NULL;
	rcu_read_lock();
restart:
	e = rcu_dereference(xa->xa_head);
	if (!xa_is_node(e)) {
		if (index)
			e = NULL;
		goto out;
	}
	node = xa_to_node(e);
	if (index > xa_span_mask(node->shift)) {
		e = NULL;
		goto out;
	}
	for (;;) {
		unsigned long mask = xa_span_mask(node->shift);
		unsigned off = xa_offset(node, index);

		for (e = NULL; off < XA_CHUNK_SIZE && !e; off++)
			e = rcu_dereference(node->slots[off]);
		if (!e) {
			/*
			 * Nothing from index to the end of this node: go on
			 * from the next node's first index, from the top, as
			 * the path back up is not kept.
			 */
			if ((index | mask) >= max)
				goto out;
			index = (index | mask) + 1;
			goto restart;
		}
		off--;
		if (off != xa_offset(node, index))
			index = (index & ~mask) | ((unsigned long)off << node->shift);
		if (index > max) {
			e = NULL;
			goto out;
		}
		if (!node->shift)
			break;
		node = xa_to_node(e);
	}
out:
	rcu_read_unlock();
	if (e)
		*indexp = index;
	return e;
}

void *xa_find_after(struct xarray *xa, unsigned long *indexp, unsigned long max)
{
	unsigned long index = *indexp;
	void *e;

	if (index >= max)
		return NULL;
	index++;
	e = xa_find(xa, &index, max);
	if (e)
		*indexp = index;
	return e;
}

/* ---- life -------------------------------------------------------------------- */

void xa_init(struct xarray *xa, struct rcu_batch *rcu, const struct xa_node_acct *acct)
{
	spin_lock_init(&xa->xa_lock);
	xa->xa_head = NULL;
	xa->xa_nr_nodes = 0;
	xa->xa_rcu = rcu;
	xa->xa_acct = acct;
}

static void xa_free_subtree(struct xarray *xa, void *e)
{
	struct xa_node *node;

	if (!xa_is_node(e))
		return;
	node = xa_to_node(e);
	for (unsigned i = 0; node->shift && i < XA_CHUNK_SIZE; i++)
		xa_free_subtree(xa, node->slots[i]);
	xa_node_free(xa, node);
}

void xa_destroy(struct xarray *xa)
{
	void *head;

	xa_lock(xa);
	head = xa->xa_head;
	rcu_assign_pointer(xa->xa_head, NULL);
	/* A reader already inside sees the old nodes whole until they go. */
	xa_free_subtree(xa, head);
	xa_unlock(xa);
	spin_lock_destroy(&xa->xa_lock);
}
