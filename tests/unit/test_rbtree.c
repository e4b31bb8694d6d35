/*
 * test_rbtree.c - the red-black tree of src/lib/rbtree.c: random inserts
 * and erases against a sorted array, every step validated by a checker of
 * its own (root black, no red under red, one black height, parents
 * linked back, in-order sorted), walks both ways, rb_replace_node, and
 * rb_check finding a broken tree.
 */
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "lib/rbtree.h"

struct item {
	struct rb_node node;
	int key;
};

/* A small deterministic generator: the test replays the same sequence. */
static unsigned long rng_state;

static unsigned long rng(void)
{
	rng_state = rng_state * 6364136223846793005UL + 1442695040888963407UL;
	return rng_state >> 33;
}

/* Insert with duplicates going right, as KSM's equal keys never do but a tree must allow. */
static void insert(struct rb_root *root, struct item *it)
{
	struct rb_node **link = &root->rb_node, *parent = NULL;

	while (*link) {
		parent = *link;
		link = it->key < rb_entry(parent, struct item, node)->key ? &parent->rb_left : &parent->rb_right;
	}
	rb_link_node(&it->node, parent, link);
	rb_insert_color(&it->node, root);
}

static struct item *search(struct rb_root *root, int key)
{
	struct rb_node *n = root->rb_node;

	while (n) {
		struct item *it = rb_entry(n, struct item, node);

		if (key == it->key)
			return it;
		n = key < it->key ? n->rb_left : n->rb_right;
	}
	return NULL;
}

/*
 * The checker of this test, not the library's: the black height of n's
 * subtree, or -1 after a failed check.  Keys are appended to out in order.
 */
static int validate(const struct rb_node *n, const struct rb_node *parent, int *out, int *len)
{
	int lh, rh;

	if (!n)
		return 0;
	if (!CHECK(rb_parent(n) == parent))
		return -1;
	if (rb_is_red(n)) {
		if (!CHECK(!n->rb_left || rb_is_black(n->rb_left)) || !CHECK(!n->rb_right || rb_is_black(n->rb_right)))
			return -1;
	}
	lh = validate(n->rb_left, n, out, len);
	if (lh < 0)
		return -1;
	out[(*len)++] = rb_entry(n, const struct item, node)->key;
	rh = validate(n->rb_right, n, out, len);
	if (rh < 0)
		return -1;
	if (!CHECK_EQ(lh, rh))
		return -1;
	return lh + (rb_is_black(n) ? 1 : 0);
}

/* The tree holds exactly the sorted keys[0..n), and is a red-black tree. */
static bool tree_matches(struct rb_root *root, const int *keys, int n, int *scratch)
{
	const char *why;
	int len = 0, height;
	struct rb_node *p;
	int i;

	if (root->rb_node && !CHECK(rb_is_black(root->rb_node)))
		return false;
	height = validate(root->rb_node, NULL, scratch, &len);
	if (height < 0 || !CHECK_EQ(len, n))
		return false;
	for (i = 0; i < n; i++)
		if (!CHECK_EQ(scratch[i], keys[i]))
			return false;
	/* The library's checker agrees. */
	if (!CHECK(rb_check(root, n + 1, &why) == n))
		return false;
	/* Both walks agree with the array. */
	for (p = rb_first(root), i = 0; p; p = rb_next(p), i++)
		if (!CHECK(i < n) || !CHECK_EQ(rb_entry(p, struct item, node)->key, keys[i]))
			return false;
	if (!CHECK_EQ(i, n))
		return false;
	for (p = rb_last(root), i = n - 1; p; p = rb_prev(p), i--)
		if (!CHECK(i >= 0) || !CHECK_EQ(rb_entry(p, struct item, node)->key, keys[i]))
			return false;
	return CHECK_EQ(i, -1);
}

TEST(rbtree_empty)
{
	struct rb_root root = RB_ROOT;
	struct item a = { .key = 1 };
	const char *why;

	CHECK(RB_EMPTY_ROOT(&root));
	CHECK(rb_first(&root) == NULL);
	CHECK(rb_last(&root) == NULL);
	CHECK_EQ(rb_check(&root, 10, &why), 0);
	RB_CLEAR_NODE(&a.node);
	CHECK(RB_EMPTY_NODE(&a.node));
	CHECK(rb_next(&a.node) == NULL);
	insert(&root, &a);
	CHECK(!RB_EMPTY_NODE(&a.node));
	CHECK(rb_is_black(root.rb_node));
	rb_erase(&a.node, &root);
	CHECK(RB_EMPTY_ROOT(&root));
}

/* Ascending and descending runs: the worst case of a plain search tree. */
TEST(rbtree_sorted_runs)
{
	enum { N = 2000 };
	struct item *items = calloc(N, sizeof(*items));
	int *keys = calloc(N, sizeof(int)), *scratch = calloc(N, sizeof(int));
	struct rb_root root = RB_ROOT;
	const char *why;

	REQUIRE(items && keys && scratch);
	for (int dir = 0; dir < 2; dir++) {
		for (int i = 0; i < N; i++) {
			items[i].key = dir ? N - i : i;
			insert(&root, &items[i]);
		}
		for (int i = 0; i < N; i++)
			keys[i] = dir ? i + 1 : i;
		if (!tree_matches(&root, keys, N, scratch))
			break;
		/* 2000 nodes: a red-black tree is at most 2 log2(2001) < 22 deep. */
		{
			int depth = 0;

			for (struct rb_node *n = rb_first(&root); n; n = rb_parent(n))
				depth++;
			CHECK(depth <= 22);
		}
		for (int i = 0; i < N; i++)
			rb_erase(&items[i].node, &root);
		CHECK(RB_EMPTY_ROOT(&root));
		CHECK_EQ(rb_check(&root, 1, &why), 0);
	}
	free(items);
	free(keys);
	free(scratch);
}

/* Random inserts and erases (duplicates included), the tree checked against a sorted array after each. */
TEST(rbtree_random_against_array)
{
	enum { N = 600, STEPS = 6000 };
	struct item *items = calloc(N, sizeof(*items));
	bool *in = calloc(N, sizeof(bool));
	int *keys = calloc(N, sizeof(int)), *scratch = calloc(N, sizeof(int));
	struct rb_root root = RB_ROOT;
	int nkeys = 0;

	REQUIRE(items && in && keys && scratch);
	for (unsigned long seed = 1; seed <= 4; seed++) {
		rng_state = seed;
		for (int step = 0; step < STEPS; step++) {
			int i = (int)(rng() % N);

			if (!in[i]) {
				/* A narrow key range makes duplicates common. */
				items[i].key = (int)(rng() % (N / 2 + 1));
				insert(&root, &items[i]);
				in[i] = true;
				/* The sorted array: place the key after its equals, as the tree does. */
				int pos = nkeys;

				while (pos > 0 && keys[pos - 1] > items[i].key) {
					keys[pos] = keys[pos - 1];
					pos--;
				}
				keys[pos] = items[i].key;
				nkeys++;
			} else {
				int pos = 0;

				rb_erase(&items[i].node, &root);
				in[i] = false;
				while (keys[pos] != items[i].key)
					pos++;
				memmove(&keys[pos], &keys[pos + 1], (size_t)(nkeys - pos - 1) * sizeof(int));
				nkeys--;
			}
			/* Every step while small, then every 16th: the check is O(n). */
			if ((nkeys < 64 || step % 16 == 0) && !tree_matches(&root, keys, nkeys, scratch))
				goto out;
			if (nkeys && !CHECK(search(&root, keys[rng() % nkeys]) != NULL))
				goto out;
		}
		tree_matches(&root, keys, nkeys, scratch);
		/* Empty it in order, erasing the node the walk stands on. */
		for (struct rb_node *n = rb_first(&root), *next; n; n = next) {
			next = rb_next(n);
			rb_erase(n, &root);
			in[rb_entry(n, struct item, node) - items] = false;
		}
		nkeys = 0;
		CHECK(RB_EMPTY_ROOT(&root));
	}
out:
	free(items);
	free(in);
	free(keys);
	free(scratch);
}

/* rb_replace_node: a node of the same key takes another's place, links and colour. */
TEST(rbtree_replace_node)
{
	enum { N = 300 };
	struct item *items = calloc(N + 1, sizeof(*items));
	int *keys = calloc(N, sizeof(int)), *scratch = calloc(N, sizeof(int));
	struct rb_root root = RB_ROOT;

	REQUIRE(items && keys && scratch);
	rng_state = 99;
	for (int i = 0; i < N; i++) {
		items[i].key = i * 3;
		keys[i] = i * 3;
	}
	/* Shuffled insertion order: a tree of mixed colours. */
	for (int i = N - 1; i > 0; i--) {
		int j = (int)(rng() % (unsigned long)(i + 1));
		struct item t = items[i];

		items[i] = items[j];
		items[j] = t;
	}
	for (int i = 0; i < N; i++)
		insert(&root, &items[i]);
	for (int k = 0; k < 40; k++) {
		struct item *victim = search(&root, (int)(rng() % N) * 3);
		struct item *spare = &items[N];

		REQUIRE(victim);
		spare->key = victim->key;
		RB_CLEAR_NODE(&spare->node);
		rb_replace_node(&victim->node, &spare->node, &root);
		CHECK(search(&root, spare->key) == spare);
		if (!tree_matches(&root, keys, N, scratch))
			break;
		/* And back, so that spare is free again. */
		RB_CLEAR_NODE(&victim->node);
		rb_replace_node(&spare->node, &victim->node, &root);
	}
	tree_matches(&root, keys, N, scratch);
	free(items);
	free(keys);
	free(scratch);
}

/* The library's checker finds each kind of damage. */
TEST(rbtree_check_finds_damage)
{
	enum { N = 64 };
	struct item items[N];
	struct rb_root root = RB_ROOT;
	struct rb_node *n;
	const char *why;

	for (int i = 0; i < N; i++) {
		items[i].key = i;
		insert(&root, &items[i]);
	}
	CHECK_EQ(rb_check(&root, N, &why), N);
	CHECK(rb_check(&root, N - 1, &why) < 0 && why);	/* more nodes than allowed */

	root.rb_node->__rb_parent_color &= ~RB_BLACK;	/* a red root */
	CHECK(rb_check(&root, N, &why) < 0 && why);
	root.rb_node->__rb_parent_color |= RB_BLACK;

	n = rb_first(&root);	/* a black leaf turned red: a red node under a red one, or heights differ */
	{
		unsigned long saved = n->__rb_parent_color;

		n->__rb_parent_color ^= RB_BLACK;
		CHECK(rb_check(&root, N, &why) < 0 && why);
		n->__rb_parent_color = saved;
	}
	{
		unsigned long saved = n->__rb_parent_color;	/* a parent link pointing elsewhere */

		n->__rb_parent_color = (unsigned long)&items[N - 1].node | (saved & RB_BLACK);
		CHECK(rb_check(&root, N, &why) < 0 && why);
		n->__rb_parent_color = saved;
	}
	CHECK_EQ(rb_check(&root, N, &why), N);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
