/*
 * compaction.c - memory compaction (Linux's mm/compaction.c) as
 * /proc/sys/vm/compact_memory and /sys/devices/system/node/nodeN/compact
 * ask for it: in each zone a migrate scanner goes up from the bottom
 * isolating movable folios, a free scanner comes down from the top
 * isolating free blocks, and the folios move into the free pages
 * (migrate_pages), until the two scanners meet.  Free memory ends up in
 * large blocks at the bottom... of the frames the folios left.
 *
 * Differs from Linux: the whole zone every time (as compact_memory's
 * order -1 does, but without skip hints or cached positions), large
 * folios are left where they are (Linux moves them whole), and the page
 * allocator does not compact (deviation 52), so compact_stall,
 * compact_fail and compact_success stay 0.
 */
#include "fs/sysfs.h"
#include "mm/internal.h"

#define pageblock_order		HPAGE_PMD_ORDER
#define pageblock_nr_pages	(1UL << pageblock_order)
/* folios isolated at a time (Linux's COMPACT_CLUSTER_MAX = SWAP_CLUSTER_MAX) */
#define COMPACT_CLUSTER_MAX	SWAP_CLUSTER_MAX

struct compact_control {
	struct mml_machine *m;
	struct zone *zone;
	unsigned long migrate_pfn;	/* the next frame the migrate scanner looks at (going up) */
	unsigned long free_pfn;		/* where the free scanner resumes: up to its block's end, then the block below */
	struct list_head freepages;	/* isolated free pages, order 0 */
	struct list_head migratepages;	/* isolated folios */
	unsigned long nr_migratepages;
};

/* compact_scanners_met(): the free scanner's block is at or below the migrate scanner's. */
static bool compact_scanners_met(struct compact_control *cc)
{
	return (cc->free_pfn >> pageblock_order) <= (cc->migrate_pfn >> pageblock_order);
}

/*
 * Models isolate_migratepages_block() over the migrate scanner's next
 * block: small folios on the LRU that have no references beyond their
 * mappings and cache (a pinned or GUP-held one would only fail to move)
 * go to migratepages, at most COMPACT_CLUSTER_MAX.  The first look is
 * racy, as Linux's; the decision is taken once isolated.
 */
static void isolate_migratepages(struct compact_control *cc)
{
	struct mml_machine *m = cc->m;
	unsigned long end = min((cc->migrate_pfn | (pageblock_nr_pages - 1)) + 1,
				cc->zone->zone_start_pfn + cc->zone->spanned_pages);
	unsigned long pfn, scanned = 0;

	for (pfn = cc->migrate_pfn; pfn < end && cc->nr_migratepages < COMPACT_CLUSTER_MAX; pfn++) {
		struct page *page = pfn_to_page(m, pfn);
		struct folio *folio;
		int expected;

		scanned++;
		if (PageBuddy(page)) {
			unsigned int order = READ_ONCE(page->order);

			if (order <= MAX_PAGE_ORDER)
				pfn += (1UL << order) - 1;
			continue;
		}
		/* A first look without a reference: anything may be changing it. */
		folio = page_folio(page);
		if (&folio->page != page || READ_ONCE(folio->order) || !folio_test_lru(folio) ||
		    !folio_isolate_lru(m, folio))
			continue;
		/* Isolated, so it stays a folio: now decide, and put back what cannot move. */
		expected = folio_mapcount(folio) + (folio_test_swapcache(folio) ? 1 : 0) +
			   (!folio_test_anon(folio) && READ_ONCE(folio->mapping) ? 1 : 0);
		if (folio_test_large(folio) || folio_ref_count(folio) - 1 > expected) {
			folio_putback_lru(m, folio);
			continue;
		}
		list_add_tail(&folio->lru, &cc->migratepages);
		cc->nr_migratepages++;
		count_vm_event(m, COMPACTISOLATED);
	}
	cc->migrate_pfn = pfn;
	count_vm_events(m, COMPACTMIGRATE_SCANNED, (long)scanned);
}

/*
 * Models isolate_freepages(): blocks from the top down, above the
 * migrate scanner's, give their free blocks whole to freepages until
 * there are as many as folios isolated; the scanner stops where it got
 * enough, inside its block, and resumes there (Linux's free_pfn), so a
 * block's holes are all used before the scanner leaves it.
 */
static void isolate_freepages(struct compact_control *cc)
{
	struct mml_machine *m = cc->m;
	struct zone *z = cc->zone;
	unsigned long zone_end = z->zone_start_pfn + z->spanned_pages, got = 0, scanned = 0;

	while (!compact_scanners_met(cc) && got < cc->nr_migratepages) {
		unsigned long block = cc->free_pfn & ~(pageblock_nr_pages - 1);
		unsigned long end = min(block + pageblock_nr_pages, zone_end), pfn;

		for (pfn = cc->free_pfn; pfn < end && got < cc->nr_migratepages; pfn++) {
			unsigned long n = isolate_free_block(m, z, pfn, &cc->freepages);

			scanned++;
			got += n;
			if (n)
				pfn += n - 1;
		}
		/* below the zone's start for the last block: the scanners have met */
		cc->free_pfn = pfn < end ? pfn : block - pageblock_nr_pages;
	}
	count_vm_events(m, COMPACTFREE_SCANNED, (long)scanned);
	count_vm_events(m, COMPACTISOLATED, (long)got);
}

/* Models compaction_alloc(): a free page from the top of the zone for a folio moving down. */
static struct folio *compaction_alloc(struct mml_machine *m, struct folio *src, unsigned long private)
{
	struct compact_control *cc = (struct compact_control *)private;
	struct page *page;

	if (folio_test_large(src))
		return NULL;
	if (list_empty(&cc->freepages))
		isolate_freepages(cc);
	if (list_empty(&cc->freepages))
		return NULL;
	page = list_first_entry(&cc->freepages, struct page, lru);
	list_del(&page->lru);
	INIT_LIST_HEAD(&page->lru);
	return page_folio(page);
}

/* Models compact_zone() with order -1: the whole zone, until the scanners meet. */
static void compact_zone(struct mml_machine *m, struct zone *z)
{
	struct compact_control cc = { .m = m, .zone = z };
	struct page *page, *next;

	INIT_LIST_HEAD(&cc.freepages);
	INIT_LIST_HEAD(&cc.migratepages);
	cc.migrate_pfn = z->zone_start_pfn;
	cc.free_pfn = (z->zone_start_pfn + z->spanned_pages - 1) & ~(pageblock_nr_pages - 1);
	if (cc.free_pfn < z->zone_start_pfn)
		return;		/* less than a block: nothing to move it into */
	while (!compact_scanners_met(&cc)) {
		isolate_migratepages(&cc);
		if (!cc.nr_migratepages)
			continue;
		if (migrate_pages(m, &cc.migratepages, compaction_alloc, (unsigned long)&cc, MR_COMPACTION))
			putback_movable_pages(m, &cc.migratepages);
		cc.nr_migratepages = 0;
	}
	/* release_free_list(): what the free scanner took and nothing used goes back */
	list_for_each_entry_safe(page, next, &cc.freepages, lru) {
		list_del(&page->lru);
		__free_pages(m, page, 0);
	}
}

void compact_node(struct mml_machine *m, int nid)
{
	compact_zone(m, &NODE_DATA(m, nid)->node_zones[0]);
}

void compact_nodes(struct mml_machine *m)
{
	for (int nid = 0; nid < m->nr_nodes; nid++)
		compact_node(m, nid);
}

/* ---- /proc/sys/vm/compact_memory -------------------------------------------------------- */

/* sysctl_compaction_handler(): write-only; 1 compacts every node, anything else is EINVAL (6.6+). */
static ssize_t compact_memory_store(struct mml_machine *m, const struct kobj_attribute *attr,
				    const char *buf, size_t count)
{
	int v;

	if (proc_dointvec_value(buf, count, &v) || v != 1)
		return -EINVAL;
	compact_nodes(m);
	return (ssize_t)count;
}

static const struct kobj_attribute compaction_sysctl_attrs[] = {
	{ "compact_memory", 0200, NULL, compact_memory_store, 0 },
	{ NULL },
};

const struct attribute_group compaction_sysctl_group = {
	.dir = "/proc/sys/vm",
	.attrs = compaction_sysctl_attrs,
};
