/*
 * check_swap.c - the invariant checker's look at swap (check.c runs it):
 * every device's slot counts against the entries that use them, the swap
 * cache, and the clusters' counts and lists.
 */
#include "mm/internal.h"
#include "oracle/check_internal.h"

/*
 * A device's clusters: each counts its slots in use (a nonzero swap_map,
 * or past the device's end), and is on the list of its flags, which its
 * count allows (free: none, full: all, nonfull or frag: some); each list
 * holds only its own, and every cluster is on one.
 */
static void check_swap_clusters(struct check_state *st, struct swap_info_struct *si)
{
	static const char *const names[] = { "free", "nonfull", "frag", "full" };
	struct list_head *lists[] = { &si->free_clusters, &si->nonfull_clusters, &si->frag_clusters,
				      &si->full_clusters };
	unsigned long listed = 0;

	for (unsigned long i = 0; i < si->nr_clusters; i++) {
		struct swap_cluster_info *ci = &si->cluster_info[i];
		unsigned int used = 0;
		bool ok;

		for (unsigned long off = i * SWAPFILE_CLUSTER; off < (i + 1) * SWAPFILE_CLUSTER; off++)
			used += off >= si->max || si->swap_map[off];
		if (ci->count != used)
			FAIL(st, INV_SWAP, "swap %d: cluster %lu counts %u slots in use, %u are", si->type, i,
			     ci->count, used);
		/* Partly used: nonfull or frag, by its history. */
		ok = !used ? ci->flags == CLUSTER_FLAG_FREE :
		     used == SWAPFILE_CLUSTER ? ci->flags == CLUSTER_FLAG_FULL :
		     ci->flags == CLUSTER_FLAG_NONFULL || ci->flags == CLUSTER_FLAG_FRAG;
		if (!ok)
			FAIL(st, INV_SWAP, "swap %d: cluster %lu with %u slots in use is marked %s", si->type, i, used,
			     ci->flags <= CLUSTER_FLAG_FULL ? names[ci->flags] : "nothing");
	}
	for (int l = 0; l < 4; l++) {
		struct swap_cluster_info *ci;

		list_for_each_entry(ci, lists[l], list) {
			if (ci->flags != (unsigned int)l)
				FAIL(st, INV_SWAP, "swap %d: cluster %ld is on the %s list but marked %s", si->type,
				     (long)(ci - si->cluster_info), names[l],
				     ci->flags <= CLUSTER_FLAG_FULL ? names[ci->flags] : "nothing");
			if (++listed > si->nr_clusters)
				break;
		}
	}
	if (listed != si->nr_clusters)
		FAIL(st, INV_SWAP, "swap %d: the cluster lists hold %lu clusters, the device has %lu", si->type,
		     listed, si->nr_clusters);
}

/*
 * Swap: every slot's count equals the swap ptes naming it; SWAP_HAS_CACHE
 * is set exactly when the swap cache holds a folio for it, and that folio
 * says so (PG_swapcache, private); the free-slot totals and the clusters'
 * counts add up.  Tag
 * records: only in slots in use, and all of them are in slots.
 */
void check_swap(struct check_state *st)
{
	struct mml_machine *m = st->m;
	long free_slots = 0, records = 0;

	for (int t = 0; t < MAX_SWAPFILES; t++) {
		struct swap_info_struct *si = m->swap_info[t];
		unsigned long inuse = 0;

		if (!si)
			continue;
		for (unsigned long off = 1; off < si->max; off++) {
			unsigned char map = si->swap_map[off];
			struct folio *folio = si->cache[off];
			int count = map & ~SWAP_HAS_CACHE;

			inuse += map != 0;
			if (mte_swap_has_record(m, (unsigned)t, off)) {
				records++;
				if (!map)
					FAIL(st, INV_TAGS, "swap %d:%lu: free, but its tag record was never freed", t, off);
			}
			if (count != st->swaps[t][off])
				FAIL(st, INV_SWAP, "swap %d:%lu: swap_map counts %d, %d swap ptes name it", t, off, count,
				     st->swaps[t][off]);
			if (!!(map & SWAP_HAS_CACHE) != !!folio)
				FAIL(st, INV_SWAP, "swap %d:%lu: SWAP_HAS_CACHE is %s but the swap cache %s a folio", t, off,
				     (map & SWAP_HAS_CACHE) ? "set" : "clear", folio ? "holds" : "has no");
			if (folio && (!folio_test_swapcache(folio) || folio->swap.val != swp_entry(t, off).val ||
				      folio_ref_count(folio) < 1 + folio_mapcount(folio)))
				FAIL(st, INV_SWAP, "swap %d:%lu: the cached folio (pfn %lu) does not agree", t, off,
				     folio_pfn(m, folio));
		}
		if (inuse != si->inuse_pages)
			FAIL(st, INV_SWAP, "swap %d: inuse_pages is %lu, %lu slots are in use", t, si->inuse_pages, inuse);
		check_swap_clusters(st, si);
		if (si->flags & SWP_WRITEOK)
			free_slots += (long)(si->max - 1 - inuse);
	}
	if (free_slots != atomic_long_read(&m->nr_swap_pages))
		FAIL(st, INV_SWAP, "nr_swap_pages is %ld, %ld slots are free", atomic_long_read(&m->nr_swap_pages), free_slots);
	if (records != atomic_long_read(&m->objs[OBJ_MTE_TAGS]))
		FAIL(st, INV_TAGS, "%ld tag records are allocated, %ld swap slots hold one",
		     atomic_long_read(&m->objs[OBJ_MTE_TAGS]), records);
}
