/*
 * nodemask.h - sets of NUMA nodes (Linux's include/linux/nodemask.h),
 * one word wide: MAX_NUMNODES bits.  nodemask_t is in mm_types.h.
 */
#ifndef MML_NODEMASK_H
#define MML_NODEMASK_H

#include "mm/mm_types.h"

#define NUMA_NO_NODE	(-1)

static inline void node_set(int nid, nodemask_t *m) { m->bits |= 1UL << nid; }
static inline void node_clear(int nid, nodemask_t *m) { m->bits &= ~(1UL << nid); }
static inline bool node_isset(int nid, const nodemask_t *m)
{
	return nid >= 0 && nid < MAX_NUMNODES && (m->bits >> nid) & 1;
}
static inline bool nodes_empty(nodemask_t m) { return !m.bits; }
static inline bool nodes_equal(nodemask_t a, nodemask_t b) { return a.bits == b.bits; }
static inline int nodes_weight(nodemask_t m) { return __builtin_popcountl(m.bits); }
static inline nodemask_t nodes_and(nodemask_t a, nodemask_t b) { return (nodemask_t){ a.bits & b.bits }; }
static inline nodemask_t nodemask_of_node(int nid) { return (nodemask_t){ 1UL << nid }; }
/* The first node set at or after n, or MAX_NUMNODES. */
static inline int next_node(int n, nodemask_t m)
{
	unsigned long rest = n >= MAX_NUMNODES ? 0 : m.bits >> n << n;

	return rest ? __builtin_ctzl(rest) : MAX_NUMNODES;
}
static inline int first_node(nodemask_t m) { return next_node(0, m); }
/* The node set after n, wrapping round to the first (n itself if alone). */
static inline int next_node_in(int n, nodemask_t m)
{
	int next = next_node(n + 1, m);

	return next < MAX_NUMNODES ? next : first_node(m);
}
/* The nth (from 0) node of m; m is not empty. */
static inline int node_nth(nodemask_t m, int nth)
{
	int nid = first_node(m);

	while (nth--)
		nid = next_node(nid + 1, m);
	return nid;
}
#define for_each_node_mask(nid, mask) \
	for ((nid) = first_node(mask); (nid) < MAX_NUMNODES; (nid) = next_node((nid) + 1, (mask)))

/* "0-1,3": Linux's %*pbl; buf holds at least 3 * MAX_NUMNODES bytes.  Returns buf. */
char *nodelist_str(char *buf, size_t size, nodemask_t m);

#endif /* MML_NODEMASK_H */
