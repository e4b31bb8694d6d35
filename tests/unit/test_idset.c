/*
 * test_idset.c - the sorted set of ids (src/lib/idset.c) the fuzzer keeps
 * its live tasks and pins in, and the model its live pins: members stay
 * ascending whatever the order of adds and removes, adding a member twice
 * or removing a stranger changes nothing, and the set grows past its
 * first allocation.
 */
#include <stdlib.h>

#include "../harness.h"
#include "lib/idset.h"

static bool ascending(const struct idset *s)
{
	for (int k = 1; k < s->n; k++)
		if (s->ids[k - 1] >= s->ids[k])
			return false;
	return true;
}

TEST(members_stay_sorted_and_unique)
{
	struct idset s = { 0 };

	CHECK(idset_add(&s, 5));
	CHECK(idset_add(&s, 1));
	CHECK(idset_add(&s, 9));
	CHECK(idset_add(&s, 5));	/* twice: no-op */
	CHECK_EQ(s.n, 3);
	CHECK(ascending(&s));
	CHECK_EQ(s.ids[0], 1);
	CHECK_EQ(s.ids[2], 9);
	idset_del(&s, 7);		/* not a member */
	CHECK_EQ(s.n, 3);
	idset_del(&s, 1);
	CHECK_EQ(s.n, 2);
	CHECK_EQ(s.ids[0], 5);
	idset_del(&s, 9);
	idset_del(&s, 5);
	CHECK_EQ(s.n, 0);
	idset_free(&s);
	CHECK(s.ids == NULL && s.cap == 0);
}

/* Against a bitmap of the truth, through many growths and random churn. */
TEST(random_churn_matches_a_bitmap)
{
	enum { N = 5000 };
	static bool in[N];
	struct idset s = { 0 };
	uint64_t x = 88172645463325252ULL;
	int count = 0;

	for (int step = 0; step < 50000; step++) {
		int id;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		id = (int)(x % N);
		if ((x >> 32) % 3) {
			CHECK(idset_add(&s, id));
			count += !in[id];
			in[id] = true;
		} else {
			idset_del(&s, id);
			count -= in[id];
			in[id] = false;
		}
	}
	CHECK_EQ(s.n, count);
	CHECK(ascending(&s));
	for (int k = 0; k < s.n; k++)
		CHECK(in[s.ids[k]]);
	idset_free(&s);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
