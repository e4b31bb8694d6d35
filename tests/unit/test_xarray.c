/*
 * test_xarray.c - the page cache's radix tree (src/lib/xarray.c): stores,
 * loads and erases at sparse and dense indices, value entries, iteration,
 * the shape coming back when entries go, failed node allocations that
 * change nothing, and lockless readers racing a writer.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "lib/xarray.h"

/* Fails node allocations from the countdown-th on, for repeat of them (-1: forever). */
struct failer {
	long countdown;
	long repeat;
	long calls;
	atomic_long_t nr_nodes;
};

static bool failer_may_alloc(void *arg)
{
	struct failer *f = arg;

	f->calls++;
	if (f->countdown > 0) {
		f->countdown--;
		return true;
	}
	if (!f->repeat)
		return true;
	if (f->repeat > 0)
		f->repeat--;
	return false;
}

static void failer_set(struct failer *f, long countdown, long repeat)
{
	f->countdown = countdown;
	f->repeat = repeat;
}

/* An xarray counted by f, never failing until failer_set says so. */
static void h_xa_init(struct xarray *xa, struct rcu_batch *rcu, struct failer *f,
		      struct xa_node_acct *acct)
{
	memset(f, 0, sizeof(*f));
	*acct = (struct xa_node_acct){ .may_alloc = failer_may_alloc, .arg = f,
				       .nr_nodes = &f->nr_nodes };
	xa_init(xa, rcu, acct);
}

/* A distinct pointer entry per index, 4-aligned, never dereferenced. */
static void *ptr_entry(unsigned long index)
{
	return (void *)((index << 3) | 0x1000 | 4);
}

static const unsigned long sparse[] = {
	0, 1, 63, 64, 65, 4095, 4096, 262143, 1UL << 32, (1UL << 32) + 1,
	1UL << 47, (1UL << 48) - 1, ULONG_MAX - 1, ULONG_MAX,
};
#define NR_SPARSE	(sizeof(sparse) / sizeof(sparse[0]))

TEST(empty_array)
{
	struct xarray xa;
	unsigned long index = 0;

	xa_init(&xa, NULL, NULL);
	CHECK(xa_empty(&xa));
	for (unsigned i = 0; i < NR_SPARSE; i++)
		CHECK(xa_load(&xa, sparse[i]) == NULL);
	CHECK(xa_find(&xa, &index, ULONG_MAX) == NULL);
	CHECK_EQ(index, 0);
	CHECK(xa_erase(&xa, 12345) == NULL);
	CHECK_EQ(xa_nr_nodes(&xa), 0);
	xa_destroy(&xa);
}

TEST(entry_encoding)
{
	int x;

	CHECK(xa_is_value(xa_mk_value(0)));
	CHECK_EQ(xa_to_value(xa_mk_value(0)), 0);
	CHECK_EQ(xa_to_value(xa_mk_value(LONG_MAX)), LONG_MAX);
	CHECK_EQ(xa_to_value(xa_mk_value(0x123456789UL)), 0x123456789UL);
	CHECK(!xa_is_value(&x));
	CHECK(!xa_is_internal(&x) && !xa_is_internal(xa_mk_value(7)));
	CHECK(!xa_is_err(&x) && !xa_is_err(xa_mk_value(LONG_MAX)) && !xa_is_err(NULL));
	CHECK_EQ(xa_err(xa_mk_internal(-ENOMEM)), -ENOMEM);
	CHECK_EQ(xa_err(xa_mk_internal(-EINVAL)), -EINVAL);
	CHECK_EQ(xa_err(&x), 0);
}

TEST(store_load_erase_sparse)
{
	struct xarray xa;
	struct xa_node_acct acct;
	struct failer f;

	h_xa_init(&xa, NULL, &f, &acct);
	for (unsigned i = 0; i < NR_SPARSE; i++) {
		xa_lock(&xa);
		CHECK(__xa_store(&xa, sparse[i], ptr_entry(sparse[i])) == NULL);
		xa_unlock(&xa);
		for (unsigned j = 0; j < NR_SPARSE; j++)
			CHECKF(xa_load(&xa, sparse[j]) == (j <= i ? ptr_entry(sparse[j]) : NULL),
			       "after storing %u: index %#lx", i, sparse[j]);
	}
	/* Neighbours of what is stored are absent. */
	CHECK(xa_load(&xa, 2) == NULL);
	CHECK(xa_load(&xa, 62) == NULL);
	CHECK(xa_load(&xa, 4094) == NULL);
	CHECK(xa_load(&xa, (1UL << 32) - 1) == NULL);
	CHECK(xa_load(&xa, (1UL << 47) + 1) == NULL);
	CHECK(xa_load(&xa, ULONG_MAX - 2) == NULL);
	CHECK(xa_nr_nodes(&xa) > 0);
	CHECK_EQ(atomic_long_read(&f.nr_nodes), xa_nr_nodes(&xa));
	/* A store over an entry returns it. */
	CHECK(xa_store(&xa, 4095, xa_mk_value(9)) == ptr_entry(4095));
	CHECK(xa_load(&xa, 4095) == xa_mk_value(9));
	CHECK(xa_store(&xa, 4095, ptr_entry(4095)) == xa_mk_value(9));
	/* Erase from the middle out, then the rest. */
	for (unsigned i = NR_SPARSE / 2; i < NR_SPARSE; i++)
		CHECK(xa_erase(&xa, sparse[i]) == ptr_entry(sparse[i]));
	for (unsigned i = 0; i < NR_SPARSE / 2; i++)
		CHECK(xa_load(&xa, sparse[i]) == ptr_entry(sparse[i]));
	for (unsigned i = 0; i < NR_SPARSE / 2; i++) {
		xa_lock(&xa);
		CHECK(__xa_erase(&xa, sparse[i]) == ptr_entry(sparse[i]));
		CHECK(__xa_erase(&xa, sparse[i]) == NULL);
		xa_unlock(&xa);
	}
	CHECK(xa_empty(&xa));
	CHECK_EQ(xa_nr_nodes(&xa), 0);
	CHECK_EQ(atomic_long_read(&f.nr_nodes), 0);
	xa_destroy(&xa);
}

/* The entry at index 0 alone lives in xa_head; any other index takes nodes. */
TEST(shape_grows_and_shrinks)
{
	struct xarray xa;
	struct xa_node_acct acct;
	struct failer f;

	h_xa_init(&xa, NULL, &f, &acct);
	xa_store(&xa, 0, xa_mk_value(0));
	CHECK_EQ(xa_nr_nodes(&xa), 0);
	xa_store(&xa, 1, xa_mk_value(1));
	CHECK_EQ(xa_nr_nodes(&xa), 1);			/* one leaf */
	xa_store(&xa, 64, xa_mk_value(64));
	CHECK_EQ(xa_nr_nodes(&xa), 3);			/* a top of shift 6, two leaves */
	xa_store(&xa, 1UL << 47, xa_mk_value(2));
	/* Eight levels for 48 bits; the path to 2^47 adds one node a level. */
	CHECK_EQ(xa_nr_nodes(&xa), 3 + 6 + 7);
	CHECK(xa_erase(&xa, 1UL << 47) == xa_mk_value(2));
	CHECK_EQ(xa_nr_nodes(&xa), 3);
	CHECK(xa_erase(&xa, 64) == xa_mk_value(64));
	CHECK_EQ(xa_nr_nodes(&xa), 1);
	CHECK(xa_erase(&xa, 1) == xa_mk_value(1));
	CHECK_EQ(xa_nr_nodes(&xa), 0);			/* back in xa_head */
	CHECK(xa_load(&xa, 0) == xa_mk_value(0));
	CHECK(xa_load(&xa, 1) == NULL);
	/* The whole range: eleven levels, then none. */
	xa_store(&xa, ULONG_MAX, xa_mk_value(3));
	CHECK_EQ(xa_nr_nodes(&xa), 11 + 10);
	CHECK(xa_load(&xa, ULONG_MAX) == xa_mk_value(3));
	CHECK(xa_load(&xa, 0) == xa_mk_value(0));
	CHECK(xa_erase(&xa, 0) == xa_mk_value(0));
	CHECK_EQ(xa_nr_nodes(&xa), 11);
	CHECK(xa_erase(&xa, ULONG_MAX) == xa_mk_value(3));
	CHECK_EQ(xa_nr_nodes(&xa), 0);
	CHECK(xa_empty(&xa));
	CHECK_EQ(atomic_long_read(&f.nr_nodes), 0);
	xa_destroy(&xa);
}

static unsigned long rnd(unsigned long *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

TEST(dense_values_then_random_erase)
{
	enum { N = 10000 };
	struct xarray xa;
	struct xa_node_acct acct;
	struct failer f;
	unsigned long *order = malloc(N * sizeof(*order)), seed = 42;

	REQUIRE(order);
	h_xa_init(&xa, NULL, &f, &acct);
	for (unsigned long i = 0; i < N; i++)
		CHECK(xa_store(&xa, i, xa_mk_value(i * 3)) == NULL);
	/* 157 leaves, 3 nodes above them, a top */
	CHECK_EQ(xa_nr_nodes(&xa), 157 + 3 + 1);
	for (unsigned long i = 0; i < N; i++)
		if (!CHECK(xa_load(&xa, i) == xa_mk_value(i * 3)))
			break;
	CHECK(xa_load(&xa, N) == NULL);
	for (unsigned long i = 0; i < N; i++)
		order[i] = i;
	for (unsigned long i = N - 1; i > 0; i--) {
		unsigned long j = rnd(&seed) % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (unsigned long i = 0; i < N; i++) {
		void *e = xa_erase(&xa, order[i]);

		if (!CHECK(xa_is_value(e) && xa_to_value(e) == order[i] * 3))
			break;
		if (i % 1000 == 999)	/* what is left is all there */
			for (unsigned long k = i + 1; k < N; k++)
				if (!CHECK(xa_load(&xa, order[k]) == xa_mk_value(order[k] * 3)))
					break;
	}
	CHECK(xa_empty(&xa));
	CHECK_EQ(xa_nr_nodes(&xa), 0);
	CHECK_EQ(atomic_long_read(&f.nr_nodes), 0);
	xa_destroy(&xa);
	free(order);
}

TEST(cmpxchg_insert_and_bad_entries)
{
	struct xarray xa;
	struct xa_node_acct acct;
	struct failer f;
	void *e;

	h_xa_init(&xa, NULL, &f, &acct);
	xa_lock(&xa);
	CHECK_EQ(__xa_insert(&xa, 4096, xa_mk_value(1)), 0);
	CHECK_EQ(__xa_insert(&xa, 4096, xa_mk_value(2)), -EBUSY);
	CHECK(__xa_cmpxchg(&xa, 4096, xa_mk_value(5), xa_mk_value(6)) == xa_mk_value(1));
	CHECK(xa_load(&xa, 4096) == xa_mk_value(1));
	CHECK(__xa_cmpxchg(&xa, 4096, xa_mk_value(1), xa_mk_value(6)) == xa_mk_value(1));
	CHECK(xa_load(&xa, 4096) == xa_mk_value(6));
	/* A failed exchange at an absent index keeps no node (4096: three levels). */
	CHECK_EQ(xa_nr_nodes(&xa), 3);
	CHECK(__xa_cmpxchg(&xa, 1UL << 40, xa_mk_value(1), xa_mk_value(2)) == NULL);
	CHECK_EQ(xa_nr_nodes(&xa), 3);
	CHECK(xa_load(&xa, 1UL << 40) == NULL);
	/* The array's own encodings cannot be stored. */
	e = __xa_store(&xa, 7, xa_mk_internal(3));
	CHECK_EQ(xa_err(e), -EINVAL);
	CHECK_EQ(__xa_insert(&xa, 7, xa_mk_internal(-ENOMEM)), -EINVAL);
	CHECK(xa_load(&xa, 7) == NULL);
	/* cmpxchg to NULL erases. */
	CHECK(__xa_cmpxchg(&xa, 4096, xa_mk_value(6), NULL) == xa_mk_value(6));
	xa_unlock(&xa);
	CHECK(xa_empty(&xa));
	CHECK_EQ(xa_nr_nodes(&xa), 0);
	xa_destroy(&xa);
}

static int cmp_ulong(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

/* Random indices of every magnitude, sorted and without repeats; returns how many. */
static unsigned random_indices(unsigned long *idx, unsigned n, unsigned long seed)
{
	unsigned m = 0;

	for (unsigned i = 0; i < n; i++) {
		unsigned bits = rnd(&seed) % 65;

		idx[i] = bits == 64 ? rnd(&seed) : rnd(&seed) & ((1UL << bits) - 1);
	}
	idx[0] = 0;
	idx[1] = ULONG_MAX;
	qsort(idx, n, sizeof(*idx), cmp_ulong);
	for (unsigned i = 0; i < n; i++)
		if (!m || idx[i] != idx[m - 1])
			idx[m++] = idx[i];
	return m;
}

TEST(iteration_order_and_ranges)
{
	enum { N = 3000 };
	struct xarray xa;
	unsigned long *idx = malloc(N * sizeof(*idx)), index, seed = 7;
	unsigned n, k;
	void *e;

	REQUIRE(idx);
	n = random_indices(idx, N, 99);
	xa_init(&xa, NULL, NULL);
	for (unsigned i = 0; i < n; i++)
		xa_store(&xa, idx[i], ptr_entry(idx[i]));
	k = 0;
	xa_for_each(&xa, index, e) {
		if (!CHECKF(k < n && index == idx[k] && e == ptr_entry(index),
			    "entry %u: index %#lx, want %#lx", k, index, k < n ? idx[k] : 0))
			break;
		k++;
	}
	CHECK_EQ(k, n);
	/* Ranges: exactly the reference's indices in [a, b], in order. */
	for (unsigned r = 0; r < 500; r++) {
		unsigned long a = idx[rnd(&seed) % n], b = idx[rnd(&seed) % n];
		unsigned first;

		if (r % 3 == 1)
			a += rnd(&seed) % 3;	/* starts between entries too */
		if (r % 3 == 2)
			b -= rnd(&seed) % 3;
		if (a > b) {
			unsigned long t = a;

			a = b;
			b = t;
		}
		for (first = 0; first < n && idx[first] < a; first++)
			;
		k = first;
		xa_for_each_range(&xa, index, e, a, b) {
			if (!CHECKF(k < n && index == idx[k] && idx[k] <= b,
				    "range [%#lx, %#lx]: got %#lx", a, b, index))
				break;
			k++;
		}
		if (!CHECKF(k == n || idx[k] > b, "range [%#lx, %#lx]: stopped at %#lx", a, b, idx[k]))
			break;
	}
	/* xa_find itself: *index moves only when it finds. */
	index = 1;
	CHECK(xa_find(&xa, &index, 0) == NULL && index == 1);	/* start > max */
	index = idx[1] + 1;
	CHECK(xa_find(&xa, &index, idx[2] - 1) == NULL && index == idx[1] + 1);
	CHECK(xa_find(&xa, &index, idx[2]) == ptr_entry(idx[2]) && index == idx[2]);
	index = ULONG_MAX;
	CHECK(xa_find(&xa, &index, ULONG_MAX) == ptr_entry(ULONG_MAX) && index == ULONG_MAX);
	CHECK(xa_find_after(&xa, &index, ULONG_MAX) == NULL && index == ULONG_MAX);
	/* Under the lock as well. */
	xa_lock(&xa);
	index = 0;
	CHECK(xa_find(&xa, &index, ULONG_MAX) == ptr_entry(0) && index == 0);
	CHECK(xa_find_after(&xa, &index, ULONG_MAX) == ptr_entry(idx[1]) && index == idx[1]);
	xa_unlock(&xa);
	xa_destroy(&xa);
	free(idx);
}

/* ---- failures ---------------------------------------------------------------- */

struct snapshot {
	unsigned n;
	unsigned long index[64];
	void *entry[64];
	unsigned long nodes;
	long counted;
};

static void snap(struct xarray *xa, struct failer *f, struct snapshot *s)
{
	unsigned long index;
	void *e;

	s->n = 0;
	xa_for_each(xa, index, e) {
		if (s->n < 64) {
			s->index[s->n] = index;
			s->entry[s->n] = e;
		}
		s->n++;
	}
	s->nodes = xa_nr_nodes(xa);
	s->counted = atomic_long_read(&f->nr_nodes);
}

static bool same(const struct snapshot *a, const struct snapshot *b)
{
	if (a->n != b->n || a->nodes != b->nodes || a->counted != b->counted)
		return false;
	for (unsigned i = 0; i < a->n && i < 64; i++)
		if (a->index[i] != b->index[i] || a->entry[i] != b->entry[i])
			return false;
	return true;
}

/*
 * SQLite's way: fail the first node allocation of a store, then the
 * second, ... until the store needs no more than it got; every failure
 * must leave the same entries and the same nodes, and the store that
 * succeeds followed by its erase must too.
 */
TEST(failed_allocation_changes_nothing)
{
	static const unsigned long before[][4] = {
		{ 0 }, { 1, 0 }, { 2, 0, 5 }, { 2, 3, 1UL << 20 }, { 2, 64, 1UL << 47 },
		{ 3, 0, 4095, ULONG_MAX },
	};
	static const unsigned long target[] = {
		0, 1, 63, 64, 4096, 1UL << 32, 1UL << 47, ULONG_MAX,
	};

	for (unsigned b = 0; b < sizeof(before) / sizeof(before[0]); b++) {
		for (unsigned t = 0; t < sizeof(target) / sizeof(target[0]); t++) {
			struct xarray xa;
			struct xa_node_acct acct;
			struct failer f;
			struct snapshot s0, s1;
			void *e = NULL;
			long n;

			h_xa_init(&xa, NULL, &f, &acct);
			for (unsigned i = 1; i <= before[b][0]; i++)
				xa_store(&xa, before[b][i], ptr_entry(before[b][i]));
			if (xa_load(&xa, target[t])) {
				xa_destroy(&xa);
				continue;
			}
			snap(&xa, &f, &s0);
			for (n = 0; n < 30; n++) {
				failer_set(&f, n, 1);
				e = xa_store(&xa, target[t], xa_mk_value(target[t] >> 1));
				if (!xa_is_err(e))
					break;
				CHECK_EQ(xa_err(e), -ENOMEM);
				snap(&xa, &f, &s1);
				if (!CHECKF(same(&s0, &s1), "tree %u, index %#lx, failing allocation %ld: changed",
					    b, target[t], n))
					break;
			}
			CHECKF(e == NULL && n < 30, "tree %u, index %#lx: store %p after %ld failures",
			       b, target[t], e, n);
			CHECK(xa_load(&xa, target[t]) == xa_mk_value(target[t] >> 1));
			/* Erasing needs no allocation, even when every one fails. */
			failer_set(&f, 0, -1);
			CHECK(xa_erase(&xa, target[t]) == xa_mk_value(target[t] >> 1));
			snap(&xa, &f, &s1);
			CHECKF(same(&s0, &s1), "tree %u, index %#lx: not the same after store and erase",
			       b, target[t]);
			/* Nor does replacing an entry. */
			if (before[b][0]) {
				unsigned long i0 = before[b][1];

				CHECK(xa_store(&xa, i0, xa_mk_value(1)) == ptr_entry(i0));
				CHECK(xa_store(&xa, i0, ptr_entry(i0)) == xa_mk_value(1));
			}
			xa_destroy(&xa);
			CHECK_EQ(atomic_long_read(&f.nr_nodes), 0);
		}
	}
}

/* Nodes that leave wait for a grace period, and count until they are freed. */
TEST(unlinked_nodes_wait_for_rcu)
{
	struct rcu_batch batch;
	struct xarray xa;
	struct xa_node_acct acct;
	struct failer f;

	rcu_batch_init(&batch);
	h_xa_init(&xa, &batch, &f, &acct);
	for (unsigned i = 0; i < NR_SPARSE; i++)
		xa_store(&xa, sparse[i], ptr_entry(sparse[i]));
	CHECK_EQ(rcu_batch_pending(&batch), 0);
	for (unsigned i = 0; i < NR_SPARSE; i++)
		xa_erase(&xa, sparse[i]);
	CHECK_EQ(xa_nr_nodes(&xa), 0);
	CHECK(atomic_long_read(&f.nr_nodes) > 0);
	CHECK_EQ(rcu_batch_pending(&batch), atomic_long_read(&f.nr_nodes));
	rcu_batch_flush(&batch);
	CHECK_EQ(atomic_long_read(&f.nr_nodes), 0);

	/* A failed store's nodes go the same way. */
	xa_store(&xa, 5, ptr_entry(5));
	failer_set(&f, 3, 1);
	CHECK_EQ(xa_err(xa_store(&xa, ULONG_MAX, ptr_entry(1))), -ENOMEM);
	CHECK_EQ(xa_nr_nodes(&xa), 1);
	rcu_batch_flush(&batch);
	CHECK_EQ(atomic_long_read(&f.nr_nodes), 1);

	/* xa_destroy: every node, through the batch. */
	for (unsigned i = 0; i < NR_SPARSE; i++)
		xa_store(&xa, sparse[i], ptr_entry(sparse[i]));
	xa_destroy(&xa);
	CHECK(atomic_long_read(&f.nr_nodes) > 0);
	rcu_batch_destroy(&batch);
	CHECK_EQ(atomic_long_read(&f.nr_nodes), 0);
}

/* ---- lockless readers against a writer ----------------------------------------- */

/*
 * The writer stores objects at a few indices of every height (and so grows
 * and shrinks the tree all the way), replaces them, erases some; an object
 * it takes out is freed, poisoned, after a grace period, as the page cache
 * frees folios.  Per index it publishes the last change it completed (its
 * sequence number, and whether it left an object) and, while it makes the
 * next one, a busy bit.  Readers load under rcu_read_lock() and check what
 * they get against what was published before and after the load: never an
 * object of another index, never a freed one, never one older than the
 * change completed before the load began; exactly the published state if
 * nothing moved meanwhile.
 */
#define RACE_OBJ_MAGIC	0x6f626a65637421UL
#define RACE_OBJ_DEAD	0xdeaddeaddeaddeadUL
#define RACE_PRESENT	1UL
#define RACE_BUSY	2UL
#define RACE_SEQ(p)	((p) >> 2)

struct race_obj {
	unsigned long magic;
	unsigned long index;
	unsigned long seq;
	struct rcu_head rcu;
};

static const unsigned long race_idx[] = {
	0, 1, 64, 4095, 262144, 1UL << 32, 1UL << 47, ULONG_MAX,
};
#define NR_RACE	(sizeof(race_idx) / sizeof(race_idx[0]))

struct race {
	struct xarray xa;
	struct rcu_batch batch;
	unsigned long published[NR_RACE];	/* seq << 2 | RACE_BUSY | RACE_PRESENT */
	int done;
	atomic_long_t loads;	/* checked loads, by every reader */
	atomic_long_t passes;	/* passes over the indices, by every reader, as they go */
};

static void race_obj_free(struct rcu_head *head)
{
	struct race_obj *o = (struct race_obj *)((char *)head - offsetof(struct race_obj, rcu));

	WRITE_ONCE(o->magic, RACE_OBJ_DEAD);
	free(o);
}

static bool race_check(unsigned k, struct race_obj *o, unsigned long before, unsigned long after)
{
	unsigned long magic;
	bool still = before == after && !(before & RACE_BUSY);

	if (!o)
		return CHECKF(!still || !(before & RACE_PRESENT),
			      "index %#lx: NULL, but object %lu stayed", race_idx[k], RACE_SEQ(before));
	magic = READ_ONCE(o->magic);
	if (!CHECKF(magic == RACE_OBJ_MAGIC, "index %#lx: object %p is freed (magic %#lx)",
		    race_idx[k], (void *)o, magic))
		return false;
	if (!CHECKF(o->index == race_idx[k], "index %#lx: object of index %#lx",
		    race_idx[k], o->index))
		return false;
	if (!CHECKF(o->seq >= RACE_SEQ(before), "index %#lx: object %lu older than change %lu",
		    race_idx[k], o->seq, RACE_SEQ(before)))
		return false;
	return CHECKF(!still || ((before & RACE_PRESENT) && o->seq == RACE_SEQ(before)),
		      "index %#lx: object %lu, but state %#lx stayed", race_idx[k], o->seq, before);
}

static void *race_reader(void *arg)
{
	struct race *r = arg;
	long loads = 0;

	while (!smp_load_acquire(&r->done)) {
		for (unsigned k = 0; k < NR_RACE; k++) {
			unsigned long before, after;
			struct race_obj *o;

			rcu_read_lock();
			before = smp_load_acquire(&r->published[k]);
			o = xa_load(&r->xa, race_idx[k]);
			after = smp_load_acquire(&r->published[k]);
			bool ok = race_check(k, o, before, after);
			rcu_read_unlock();
			if (!ok)
				return NULL;
			loads++;
		}
		/* An iteration sees increasing indices, each its own object. */
		unsigned long index, last = 0;
		struct race_obj *o;
		bool first = true, ok = true;

		rcu_read_lock();
		xa_for_each(&r->xa, index, o) {
			ok = CHECKF(first || index > last, "iteration: %#lx after %#lx", index, last) &&
			     CHECKF(READ_ONCE(o->magic) == RACE_OBJ_MAGIC && o->index == index,
				    "iteration: index %#lx holds a freed or foreign object", index);
			if (!ok)
				break;
			first = false;
			last = index;
		}
		rcu_read_unlock();
		if (!ok)
			return NULL;
		atomic_long_add(1, &r->passes);
		/* Let a grace period end now and then (the TSan build's RCU needs it). */
		sched_yield();
	}
	atomic_long_add(loads, &r->loads);
	return NULL;
}

TEST(lockless_readers_race_a_writer)
{
	enum { OPS = 40000, READERS = 2 };
	struct race *r = calloc(1, sizeof(*r));
	struct mml_thread *th[READERS];
	unsigned long seed = 12345;
	struct race_obj *cur[NR_RACE] = { 0 };

	REQUIRE(r);
	rcu_batch_init(&r->batch);
	xa_init(&r->xa, &r->batch, NULL);
	for (unsigned i = 0; i < READERS; i++)
		REQUIRE_EQ(mml_thread_start(&th[i], race_reader, r), 0);
	/*
	 * OPS changes at least, and on until the readers have made passes
	 * meanwhile: on a loaded host they may not have run at all by then.
	 */
	for (unsigned long seq = 1; (seq <= OPS || atomic_long_read(&r->passes) < 4 * READERS) && !harness_failures();
	     seq++) {
		unsigned k = rnd(&seed) % NR_RACE;
		/* index 0 and 2^47 are replaced, never erased; the others come and go */
		bool keep = race_idx[k] == 0 || race_idx[k] == 1UL << 47;
		struct race_obj *o = NULL, *old;

		if (keep || !cur[k]) {
			o = malloc(sizeof(*o));
			REQUIRE(o);
			*o = (struct race_obj){ .magic = RACE_OBJ_MAGIC, .index = race_idx[k], .seq = seq };
		}
		smp_store_release(&r->published[k], r->published[k] | RACE_BUSY);
		old = xa_store(&r->xa, race_idx[k], o);
		if (!CHECK(old == cur[k]))
			break;
		cur[k] = o;
		smp_store_release(&r->published[k], seq << 2 | (o ? RACE_PRESENT : 0));
		if (old)
			rcu_batch_add(&r->batch, &old->rcu, race_obj_free);
		if (seq % 256 == 0)
			rcu_batch_flush(&r->batch);
	}
	smp_store_release(&r->done, 1);
	for (unsigned i = 0; i < READERS; i++)
		mml_thread_join(th[i]);
	CHECK(atomic_long_read(&r->loads) > 0);
	for (unsigned k = 0; k < NR_RACE; k++)
		if (cur[k] && xa_erase(&r->xa, race_idx[k]) == cur[k])
			rcu_batch_add(&r->batch, &cur[k]->rcu, race_obj_free);
	CHECK(xa_empty(&r->xa));
	CHECK_EQ(xa_nr_nodes(&r->xa), 0);
	xa_destroy(&r->xa);
	rcu_batch_destroy(&r->batch);
	free(r);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
