/*
 * compaction.c - memory compaction (Linux's mm/compaction.c): in a zone a
 * migrate scanner goes up from the bottom isolating movable folios, a
 * free scanner comes down from the top isolating free blocks, and the
 * folios move into the free pages (migrate_pages) until the two meet or,
 * for an allocation that asked (direct compaction, order >= 0), until a
 * free block of its order exists.  Free memory gathers in large blocks
 * at the bottom... of the frames the folios left.
 *
 * Three callers, as Linux's: /proc/sys/vm/compact_memory and
 * /sys/devices/system/node/nodeN/compact (order -1: the whole zone), and
 * the page allocator's slow path (try_to_compact_pages) for an order > 0
 * that may reclaim, counted in compact_stall, compact_success and
 * compact_fail.
 *
 * Differs from Linux (deviations 52, 53): no pageblock migratetypes, no
 * skip hints, cached scanner positions or deferral: every run scans its
 * zone from both ends; large folios stay where they are (Linux moves
 * them whole); every migration is synchronous (no async priority).
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
	int order;			/* the allocation's, or -1 for the whole zone (compact_memory) */
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

/* compact_gap(): the free pages compaction of this order needs to work with (twice the block). */
static unsigned long compact_gap(unsigned int order)
{
	return 2UL << order;
}

/*
 * Models __compact_finished(): COMPLETE once the scanners meet; for an
 * allocation, SUCCESS as soon as a whole pageblock has been worked and
 * a free block of its order is there (Linux looks only at pageblock
 * ends too, so a block half moved is not left behind); else CONTINUE.
 */
static enum compact_result compact_finished(struct compact_control *cc)
{
	if (compact_scanners_met(cc))
		return COMPACT_COMPLETE;
	if (cc->order < 0 || (cc->migrate_pfn & (pageblock_nr_pages - 1)))
		return COMPACT_CONTINUE;
	for (unsigned int order = (unsigned int)cc->order; order < NR_PAGE_ORDERS; order++)
		if (READ_ONCE(cc->zone->free_area[order].nr_free))
			return COMPACT_SUCCESS;
	return COMPACT_CONTINUE;
}

/* Models compact_zone(): the scanners from the zone's ends until compact_finished() says. */
static enum compact_result compact_zone(struct compact_control *cc)
{
	struct mml_machine *m = cc->m;
	struct zone *z = cc->zone;
	enum compact_result ret;
	struct page *page, *next;

	INIT_LIST_HEAD(&cc->freepages);
	INIT_LIST_HEAD(&cc->migratepages);
	cc->migrate_pfn = z->zone_start_pfn;
	cc->free_pfn = (z->zone_start_pfn + z->spanned_pages - 1) & ~(pageblock_nr_pages - 1);
	if (cc->free_pfn < z->zone_start_pfn)
		return COMPACT_SKIPPED;		/* less than a block: nothing to move it into */
	lru_add_drain(m);	/* this CPU's new folios can be moved too */
	while ((ret = compact_finished(cc)) == COMPACT_CONTINUE) {
		isolate_migratepages(cc);
		if (!cc->nr_migratepages)
			continue;
		if (migrate_pages(m, &cc->migratepages, compaction_alloc, (unsigned long)cc, MR_COMPACTION))
			putback_movable_pages(m, &cc->migratepages);
		cc->nr_migratepages = 0;
		/* lru_add_drain_cpu_zone(): the sources just freed sit on this CPU's lists */
		lru_add_drain(m);
		drain_local_pages(m, z);
	}
	/* release_free_list(): what the free scanner took and nothing used goes back */
	list_for_each_entry_safe(page, next, &cc->freepages, lru) {
		list_del(&page->lru);
		__free_pages(m, page, 0);
	}
	return ret;
}

/*
 * Models fragmentation_index(): for an order that cannot be had now,
 * near 0 when the failure is for want of memory (reclaim, not
 * compaction, would help), near 1000 when it is for want of a large
 * enough block; -1000 when a free block of the order exists.  Read
 * without the zone lock, as Linux's: a hint.
 */
static int fragmentation_index(struct zone *z, unsigned int order)
{
	unsigned long free_pages = 0, blocks = 0, suitable = 0;

	for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++) {
		unsigned long n = READ_ONCE(z->free_area[o].nr_free);

		blocks += n;
		free_pages += n << o;
		if (o >= order)
			suitable += n << (o - order);
	}
	if (!blocks)
		return 0;
	if (suitable)
		return -1000;
	return 1000 - (int)((1000 + free_pages * 1000 / (1UL << order)) / blocks);
}

/*
 * Models compaction_suitable(): enough free pages to compact with (the
 * min watermark, the low one for costly orders, plus compact_gap), and
 * for a costly order a fragmentation index above
 * /proc/sys/vm/extfrag_threshold: else reclaim is the better help.
 */
static bool compaction_suitable(struct mml_machine *m, struct zone *z, unsigned int order)
{
	unsigned long mark = z->_watermark[order > PAGE_ALLOC_COSTLY_ORDER ? WMARK_LOW : WMARK_MIN];
	int fragindex;

	if ((unsigned long)atomic_long_read(&z->free_pages) < mark + compact_gap(order))
		return false;
	if (order <= PAGE_ALLOC_COSTLY_ORDER)
		return true;
	fragindex = fragmentation_index(z, order);
	return fragindex < 0 || fragindex > READ_ONCE(m->extfrag_threshold);
}

/*
 * Models try_to_compact_pages(): each zone of the allocation's zonelist
 * that the mask allows and that compaction suits, until one has a block
 * of the order.  The best result of them; COMPACT_SKIPPED when none was
 * tried.
 */
enum compact_result try_to_compact_pages(struct mml_machine *m, unsigned int order, int preferred_nid,
					 const nodemask_t *nodemask)
{
	enum compact_result rc = COMPACT_SKIPPED;
	int nid;

	for_each_zonelist_node(m, nid, preferred_nid, nodemask) {
		struct compact_control cc = { .m = m, .zone = &NODE_DATA(m, nid)->node_zones[0], .order = (int)order };
		enum compact_result status;

		if (!compaction_suitable(m, cc.zone, order))
			continue;
		status = compact_zone(&cc);
		rc = max(rc, status);
		if (status == COMPACT_SUCCESS)
			break;
	}
	return rc;
}

void compact_node(struct mml_machine *m, int nid)
{
	struct compact_control cc = { .m = m, .zone = &NODE_DATA(m, nid)->node_zones[0], .order = -1 };

	compact_zone(&cc);
}

void compact_nodes(struct mml_machine *m)
{
	for (int nid = 0; nid < m->nr_nodes; nid++)
		compact_node(m, nid);
}

/* ---- /proc/sys/vm/compact_memory, extfrag_threshold -------------------------------------------------------- */

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

/* extfrag_threshold: proc_dointvec_minmax between 0 and 1000 (default 500), compaction_suitable's bar. */
static ssize_t extfrag_threshold_show(struct mml_machine *m, const struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", READ_ONCE(m->extfrag_threshold));
}

static ssize_t extfrag_threshold_store(struct mml_machine *m, const struct kobj_attribute *attr,
				       const char *buf, size_t count)
{
	int v;

	if (proc_dointvec_value(buf, count, &v) || v < 0 || v > 1000)
		return -EINVAL;
	WRITE_ONCE(m->extfrag_threshold, v);
	return (ssize_t)count;
}

static const struct kobj_attribute compaction_sysctl_attrs[] = {
	{ "compact_memory", 0200, NULL, compact_memory_store, 0 },
	{ "extfrag_threshold", 0644, extfrag_threshold_show, extfrag_threshold_store, 0 },
	{ NULL },
};

const struct attribute_group compaction_sysctl_group = {
	.dir = "/proc/sys/vm",
	.attrs = compaction_sysctl_attrs,
};
