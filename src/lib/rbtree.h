/*
 * rbtree.h - an intrusive red-black tree (Linux's lib/rbtree.c and
 * include/linux/rbtree.h, its API names; no augmented or cached trees):
 * KSM's stable and unstable trees, ordered by the contents of pages.
 *
 * Contract:
 *  - The tree does not know the order.  The caller walks down from
 *    root->rb_node comparing its key with each node's, remembers the last
 *    node (parent) and the link it would follow next (an empty
 *    &parent->rb_left or &parent->rb_right, or &root->rb_node when the
 *    tree is empty), and then calls rb_link_node() and rb_insert_color():
 *
 *	struct rb_node **link = &root->rb_node, *parent = NULL;
 *
 *	while (*link) {
 *		parent = *link;
 *		link = cmp(key, parent) < 0 ? &parent->rb_left : &parent->rb_right;
 *	}
 *	rb_link_node(&new->node, parent, link);
 *	rb_insert_color(&new->node, root);
 *
 *  - Nothing here compares: a tree whose keys change under it (KSM's
 *    unstable tree: pages written after they went in) stays a valid
 *    red-black tree, only its order may be wrong; lookups then miss.
 *  - rb_insert_color and rb_erase rebalance in O(log n) and never
 *    allocate: they cannot fail.  Erasing a node that is not in the tree
 *    given, or twice, corrupts the tree: callers keep track (KSM by the
 *    item's flags and seqnr).
 *  - A node that is in no tree can be marked so with RB_CLEAR_NODE and
 *    tested with RB_EMPTY_NODE; rb_erase does not mark it.
 *  - rb_first/rb_next walk in order, O(1) amortised a step.  A walk may
 *    erase the node it stands on if it took rb_next first.
 *  - rb_replace_node puts a new node in the place (and colour) of one in
 *    the tree, for a key that sorts the same: no rebalancing.
 *  - No locks: the owner serialises every call on a tree (KSM: its
 *    ksm_thread_mutex), readers included.  No lockless readers.
 *  - rb_check validates the shape (links both ways, root black, no red
 *    node with a red child, one black height): the invariant checker's.
 */
#ifndef MML_LIB_RBTREE_H
#define MML_LIB_RBTREE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * A node's parent and colour share a word: nodes are aligned to at least
 * 4 bytes, so bit 0 of the parent's address is free for the colour.
 */
struct rb_node {
	unsigned long __rb_parent_color;	/* parent | RB_RED or RB_BLACK */
	struct rb_node *rb_right;
	struct rb_node *rb_left;
} __attribute__((aligned(sizeof(long))));

struct rb_root {
	struct rb_node *rb_node;
};

#define RB_RED		0UL
#define RB_BLACK	1UL

#define RB_ROOT		((struct rb_root){ NULL })

#define rb_entry(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#define rb_entry_safe(ptr, type, member) \
	({ struct rb_node *__rbp = (ptr); __rbp ? rb_entry(__rbp, type, member) : NULL; })

#define RB_EMPTY_ROOT(root)	((root)->rb_node == NULL)
/* A node in no tree points to itself as its parent. */
#define RB_EMPTY_NODE(node)	((node)->__rb_parent_color == (unsigned long)(node))
#define RB_CLEAR_NODE(node)	((node)->__rb_parent_color = (unsigned long)(node))

static inline struct rb_node *rb_parent(const struct rb_node *node)
{
	return (struct rb_node *)(node->__rb_parent_color & ~3UL);
}

static inline bool rb_is_black(const struct rb_node *node)
{
	return node->__rb_parent_color & RB_BLACK;
}

static inline bool rb_is_red(const struct rb_node *node)
{
	return !rb_is_black(node);
}

/* A new node, red and childless, hangs at *rb_link under parent (NULL: the root). */
static inline void rb_link_node(struct rb_node *node, struct rb_node *parent, struct rb_node **rb_link)
{
	node->__rb_parent_color = (unsigned long)parent | RB_RED;
	node->rb_left = NULL;
	node->rb_right = NULL;
	*rb_link = node;
}

/* Rebalance after rb_link_node(): node joins the tree for good. */
void rb_insert_color(struct rb_node *node, struct rb_root *root);
/* Unlink node and rebalance; node's own fields are left stale. */
void rb_erase(struct rb_node *node, struct rb_root *root);
/* victim leaves, new (in no tree) takes its place, links and colour. */
void rb_replace_node(struct rb_node *victim, struct rb_node *new, struct rb_root *root);

struct rb_node *rb_first(const struct rb_root *root);
struct rb_node *rb_last(const struct rb_root *root);
struct rb_node *rb_next(const struct rb_node *node);
struct rb_node *rb_prev(const struct rb_node *node);

/*
 * The tree's shape checked, at most max_nodes nodes visited (a loop in
 * corrupted links ends there): the number of nodes, or -1 with *why saying
 * what is wrong.  O(n), recursive to the tree's height.
 */
long rb_check(const struct rb_root *root, long max_nodes, const char **why);

#endif /* MML_LIB_RBTREE_H */
