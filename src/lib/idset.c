/* idset.c - see idset.h. */
#include <stdlib.h>
#include <string.h>

#include "lib/idset.h"

/* The index of the first member >= id. */
static int idset_find(const struct idset *s, int id)
{
	int lo = 0, hi = s->n;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (s->ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool idset_add(struct idset *s, int id)
{
	int k = idset_find(s, id);

	if (k < s->n && s->ids[k] == id)
		return true;
	if (s->n == s->cap) {
		int *ids = realloc(s->ids, (size_t)(s->cap * 2 + 16) * sizeof(*ids));

		if (!ids)
			return false;
		s->ids = ids;
		s->cap = s->cap * 2 + 16;
	}
	memmove(&s->ids[k + 1], &s->ids[k], (size_t)(s->n++ - k) * sizeof(*s->ids));
	s->ids[k] = id;
	return true;
}

void idset_del(struct idset *s, int id)
{
	int k = idset_find(s, id);

	if (k < s->n && s->ids[k] == id)
		memmove(&s->ids[k], &s->ids[k + 1], (size_t)(--s->n - k) * sizeof(*s->ids));
}

void idset_free(struct idset *s)
{
	free(s->ids);
	*s = (struct idset){ 0 };
}
