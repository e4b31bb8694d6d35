/*
 * rbtree.c - the classic red-black tree (the algorithm of Linux's
 * lib/rbtree.c, Guibas and Sedgewick's, as textbooks give it; see
 * rbtree.h for the contract).
 *
 * The properties kept: every node is red or black; the root is black;
 * a red node has no red child; every path from a node down to a missing
 * child (NULL, counted black) crosses the same number of black nodes.
 * Together they bound the height by 2 log2(n + 1).
 *
 * Insertion adds a red node at a leaf: black heights hold, only "no red
 * under red" may break, and the fix-up moves the conflict up (recolouring
 * when the uncle is red) or ends it with one or two rotations.  Erasure
 * first reduces to unlinking a node with at most one child (a node with
 * two swaps places with its in-order successor, taking the successor's
 * place in the links, not its key); unlinking a black node leaves its
 * side one black short, and the fix-up borrows from the sibling's side
 * (recolouring, at most three rotations) or pushes the shortage up.
 *
 * Both fix-ups are written once for a node on its parent's left and
 * mirror themselves through child()/rotate() with a direction.
 */
#include "lib/rbtree.h"

enum { LEFT = 0, RIGHT = 1 };

static inline struct rb_node **child(struct rb_node *n, int dir)
{
	return dir == LEFT ? &n->rb_left : &n->rb_right;
}

/* Missing children count as black leaves. */
static inline bool red(const struct rb_node *n)
{
	return n && rb_is_red(n);
}

static inline void set_parent(struct rb_node *n, struct rb_node *parent)
{
	n->__rb_parent_color = (unsigned long)parent | (n->__rb_parent_color & RB_BLACK);
}

static inline void set_color(struct rb_node *n, unsigned long color)
{
	n->__rb_parent_color = (n->__rb_parent_color & ~RB_BLACK) | color;
}

/* The link that pointed to old (its parent's, or the root) now points to new. */
static inline void change_child(struct rb_node *old, struct rb_node *new, struct rb_node *parent,
				struct rb_root *root)
{
	if (!parent)
		root->rb_node = new;
	else if (parent->rb_left == old)
		parent->rb_left = new;
	else
		parent->rb_right = new;
}

/*
 * rotate(x, LEFT): x's right child y rises to x's place, x becomes y's
 * left child, y's old left subtree becomes x's right one.  The in-order
 * sequence is unchanged; colours are the caller's business.
 */
static void rotate(struct rb_node *x, int dir, struct rb_root *root)
{
	int other = !dir;
	struct rb_node *y = *child(x, other);
	struct rb_node *inner = *child(y, dir);
	struct rb_node *parent = rb_parent(x);

	*child(x, other) = inner;
	if (inner)
		set_parent(inner, x);
	*child(y, dir) = x;
	change_child(x, y, parent, root);
	set_parent(y, parent);
	set_parent(x, y);
}

void rb_insert_color(struct rb_node *node, struct rb_root *root)
{
	struct rb_node *parent;

	/* node is red; the only possible breach is a red parent. */
	while ((parent = rb_parent(node)) && rb_is_red(parent)) {
		/* A red parent is not the root, so there is a grandparent, black. */
		struct rb_node *gparent = rb_parent(parent);
		int dir = parent == gparent->rb_left ? LEFT : RIGHT;
		struct rb_node *uncle = *child(gparent, !dir);

		if (red(uncle)) {
			/*
			 * Both children of gparent red: make them black and
			 * gparent red.  Black heights through gparent are
			 * unchanged; gparent may now sit under a red node.
			 */
			set_color(parent, RB_BLACK);
			set_color(uncle, RB_BLACK);
			set_color(gparent, RB_RED);
			node = gparent;
			continue;
		}
		if (node == *child(parent, !dir)) {
			/* The inner grandchild: rotate it outward so one rotation ends it. */
			rotate(parent, dir, root);
			node = parent;
			parent = rb_parent(node);
		}
		/*
		 * parent (red) rises over gparent (black): swapping their
		 * colours keeps the black count on both sides, and the red
		 * pair is gone.
		 */
		set_color(parent, RB_BLACK);
		set_color(gparent, RB_RED);
		rotate(gparent, !dir, root);
		break;
	}
	set_color(root->rb_node, RB_BLACK);
}

/*
 * The subtree at x (NULL allowed), child of parent, is one black short
 * of its sibling's after an erase.
 */
static void erase_fixup(struct rb_node *x, struct rb_node *parent, struct rb_root *root)
{
	while (x != root->rb_node && !red(x)) {
		/*
		 * x may be NULL, so its side is found by its sibling: a side
		 * one black short has a sibling with a black height of at
		 * least one, so never NULL.
		 */
		int dir = parent->rb_left == x ? LEFT : RIGHT;
		struct rb_node *sib = *child(parent, !dir);
		struct rb_node *near, *far;

		if (rb_is_red(sib)) {
			/* A red sibling: rotate it up so that x's sibling is black (one of its children). */
			set_color(sib, RB_BLACK);
			set_color(parent, RB_RED);
			rotate(parent, dir, root);
			sib = *child(parent, !dir);
		}
		near = *child(sib, dir);
		far = *child(sib, !dir);
		if (!red(near) && !red(far)) {
			/* The sibling can turn red: both sides short now, the parent carries it up. */
			set_color(sib, RB_RED);
			x = parent;
			parent = rb_parent(x);
			continue;
		}
		if (!red(far)) {
			/* Only the near child is red: rotate it into the sibling's place. */
			set_color(near, RB_BLACK);
			set_color(sib, RB_RED);
			rotate(sib, !dir, root);
			far = sib;
			sib = near;
		}
		/*
		 * A black sibling with a red far child: the sibling rises
		 * into parent's place and colour, parent goes down on x's
		 * side as a black (the missing one), the far child turns
		 * black in the sibling's stead.
		 */
		set_color(sib, rb_is_black(parent) ? RB_BLACK : RB_RED);
		set_color(parent, RB_BLACK);
		set_color(far, RB_BLACK);
		rotate(parent, dir, root);
		return;
	}
	/* A red node absorbs the shortage by turning black (the root too). */
	if (x)
		set_color(x, RB_BLACK);
}

void rb_erase(struct rb_node *node, struct rb_root *root)
{
	struct rb_node *x, *parent;
	bool removed_black;

	if (!node->rb_left || !node->rb_right) {
		/* At most one child: it takes node's place. */
		x = node->rb_left ? node->rb_left : node->rb_right;
		parent = rb_parent(node);
		removed_black = rb_is_black(node);
		if (x)
			set_parent(x, parent);
		change_child(node, x, parent, root);
	} else {
		/*
		 * Two children: the successor (leftmost of the right subtree,
		 * with no left child) leaves its own place to its right child
		 * and takes node's place and colour.  The colour the tree
		 * loses is then the successor's.
		 */
		struct rb_node *succ = node->rb_right;

		while (succ->rb_left)
			succ = succ->rb_left;
		x = succ->rb_right;
		removed_black = rb_is_black(succ);
		if (rb_parent(succ) == node) {
			parent = succ;	/* x stays succ's right child */
		} else {
			parent = rb_parent(succ);
			parent->rb_left = x;
			if (x)
				set_parent(x, parent);
			succ->rb_right = node->rb_right;
			set_parent(node->rb_right, succ);
		}
		succ->rb_left = node->rb_left;
		set_parent(node->rb_left, succ);
		change_child(node, succ, rb_parent(node), root);
		succ->__rb_parent_color = node->__rb_parent_color;
	}
	if (removed_black)
		erase_fixup(x, parent, root);
}

void rb_replace_node(struct rb_node *victim, struct rb_node *new, struct rb_root *root)
{
	struct rb_node *parent = rb_parent(victim);

	*new = *victim;
	if (victim->rb_left)
		set_parent(victim->rb_left, new);
	if (victim->rb_right)
		set_parent(victim->rb_right, new);
	change_child(victim, new, parent, root);
}

static struct rb_node *leftmost(struct rb_node *n)
{
	while (n && n->rb_left)
		n = n->rb_left;
	return n;
}

static struct rb_node *rightmost(struct rb_node *n)
{
	while (n && n->rb_right)
		n = n->rb_right;
	return n;
}

struct rb_node *rb_first(const struct rb_root *root)
{
	return leftmost(root->rb_node);
}

struct rb_node *rb_last(const struct rb_root *root)
{
	return rightmost(root->rb_node);
}

struct rb_node *rb_next(const struct rb_node *node)
{
	struct rb_node *parent;

	if (RB_EMPTY_NODE(node))
		return NULL;
	if (node->rb_right)
		return leftmost(node->rb_right);
	/* Up until we come from a left child: that parent is next. */
	while ((parent = rb_parent(node)) && node == parent->rb_right)
		node = parent;
	return parent;
}

struct rb_node *rb_prev(const struct rb_node *node)
{
	struct rb_node *parent;

	if (RB_EMPTY_NODE(node))
		return NULL;
	if (node->rb_left)
		return rightmost(node->rb_left);
	while ((parent = rb_parent(node)) && node == parent->rb_left)
		node = parent;
	return parent;
}

/* The black height of the subtree at n (missing children: 0), or -1. */
static long check_subtree(const struct rb_node *n, const struct rb_node *parent, long *budget,
			  long *count, const char **why)
{
	long lh, rh;

	if (!n)
		return 0;
	if (--*budget < 0) {
		*why = "rbtree: more nodes than possible (a loop in the links?)";
		return -1;
	}
	++*count;
	if (rb_parent(n) != parent) {
		*why = "rbtree: a node's parent link does not name its parent";
		return -1;
	}
	if (rb_is_red(n) && (red(n->rb_left) || red(n->rb_right))) {
		*why = "rbtree: a red node has a red child";
		return -1;
	}
	lh = check_subtree(n->rb_left, n, budget, count, why);
	if (lh < 0)
		return -1;
	rh = check_subtree(n->rb_right, n, budget, count, why);
	if (rh < 0)
		return -1;
	if (lh != rh) {
		*why = "rbtree: two paths down cross different numbers of black nodes";
		return -1;
	}
	return lh + rb_is_black(n);
}

long rb_check(const struct rb_root *root, long max_nodes, const char **why)
{
	long budget = max_nodes, count = 0;

	*why = NULL;
	if (root->rb_node && !rb_is_black(root->rb_node)) {
		*why = "rbtree: the root is red";
		return -1;
	}
	if (check_subtree(root->rb_node, NULL, &budget, &count, why) < 0)
		return -1;
	return count;
}
