/*
 * page_alloc.c - simulated physical memory: the frames, their struct pages,
 * the buddy allocator with watermarks, and the shared zero page.
 *
 * Frames are host memory; a freed frame's allocation generation moves on so
 * that a stale translation can be reported, and under MML_POISON the frame
 * is filled with PAGE_POISON, so that a read through one shows garbage
 * rather than old data.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mm/internal.h"
#include "mm/memremap.h"

/* int_sqrt, for min_free_kbytes as Linux computes it. */
static unsigned long int_sqrt(unsigned long x)
{
	unsigned long r = 0, b = 1UL << 62;

	while (b > x)
		b >>= 2;
	while (b) {
		if (x >= r + b) {
			x -= r + b;
			r = (r >> 1) + b;
		} else {
			r >>= 1;
		}
		b >>= 2;
	}
	return r;
}

/* Models calculate_min_free_kbytes() and __setup_per_zone_wmarks(). */
static void setup_watermarks(struct zone *z)
{
	unsigned long kb = z->managed_pages * (PAGE_SIZE / 1024);
	unsigned long min_kb = int_sqrt(kb * 16);
	unsigned long min_pages, delta;

	min_kb = min(max(min_kb, 128UL), 262144UL);
	min_pages = min_kb / (PAGE_SIZE / 1024);
	/* Tiny machines: keep the reserve from eating most of memory. */
	min_pages = min(min_pages, z->managed_pages / 16);
	/* watermark_scale_factor = 10: 0.1% of memory, at least min/4. */
	delta = max(min_pages / 4, z->managed_pages * 10 / 10000);
	z->_watermark[WMARK_MIN] = min_pages;
	z->_watermark[WMARK_LOW] = min_pages + delta;
	z->_watermark[WMARK_HIGH] = min_pages + 2 * delta;
}

/*
 * Models zone_batchsize() and zone_highsize() (percpu_pagelist_high_fraction
 * 0): a batch of about a quarter of a thousandth of the zone, at most 63,
 * one less than a power of two; high at first its floor, high_min, the low
 * watermark shared among the CPUs, and at most high_max, an eighth of the
 * zone shared among them (MIN_PERCPU_PAGELIST_HIGH_FRACTION), each at
 * least four batches.  A small zone's lists are short: a 16 MiB machine's
 * batch is 1 page.
 */
static void setup_pageset(struct zone *z)
{
	unsigned long batch = min(z->managed_pages >> 10, 256UL) / 4;
	unsigned long b;

	batch = max(batch, 1UL);
	for (b = 1; b * 2 <= batch + batch / 2; b *= 2)
		;
	batch = max(b - 1, 1UL);
	for (int cpu = 0; cpu < NR_CPU_SLOTS; cpu++) {
		struct per_cpu_pages *pcp = &z->pcp[cpu];

		spin_lock_init(&pcp->lock);
		INIT_LIST_HEAD(&pcp->list);
		pcp->count = 0;
		pcp->batch = (int)batch;
		pcp->high_min = (int)max(z->_watermark[WMARK_LOW] / NR_CPU_SLOTS, batch * 4);
		pcp->high_max = (int)max(z->managed_pages / 8 / NR_CPU_SLOTS, batch * 4);
		pcp->high = pcp->high_min;
	}
}

static void set_buddy_order(struct page *p, unsigned int order)
{
	WRITE_ONCE(p->order, order);
	__SetPageBuddy(p);
}

static void add_to_free_list(struct zone *z, struct page *p, unsigned int order)
{
	set_buddy_order(p, order);
	list_add(&p->lru, &z->free_area[order].free_list);
	/* WRITE_ONCE: compaction reads the counts without the lock, as hints */
	WRITE_ONCE(z->free_area[order].nr_free, z->free_area[order].nr_free + 1);
}

static void del_from_free_list(struct zone *z, struct page *p, unsigned int order)
{
	list_del(&p->lru);
	__ClearPageBuddy(p);
	WRITE_ONCE(p->order, 0);
	WRITE_ONCE(z->free_area[order].nr_free, z->free_area[order].nr_free - 1);
}

/* Models __free_one_page(): merge with free buddies of the zone as far as possible. */
static void __free_one_page(struct mml_machine *m, struct zone *z, unsigned long pfn, unsigned int order)
{
	unsigned long zone_end = z->zone_start_pfn + z->spanned_pages;

	while (order < MAX_PAGE_ORDER) {
		unsigned long buddy_pfn = pfn ^ (1UL << order);
		struct page *buddy;

		if (buddy_pfn < z->zone_start_pfn || buddy_pfn + (1UL << order) > zone_end)
			break;
		buddy = pfn_to_page(m, buddy_pfn);
		/* The buddy may be in use by anyone: read its state atomically. */
		if (!PageBuddy(buddy) || READ_ONCE(buddy->order) != order)
			break;
		del_from_free_list(z, buddy, order);
		pfn &= buddy_pfn;
		order++;
	}
	add_to_free_list(z, pfn_to_page(m, pfn), order);
}

/*
 * The zone's buddy lists gain or lose delta pages (zone->lock held): the
 * count its watermarks are checked against.  The machine's NR_FREE_PAGES
 * moves only when pages leave or come back to the allocator, lists of the
 * CPUs included (free_pages_moved).
 */
static void mod_zone_free(struct mml_machine *m, struct zone *z, long delta)
{
	/* Every writer holds zone->lock (or the zone is not yet in use): a store, no atomic, as Linux's __mod_zone_page_state. */
	atomic_long_set(&z->free_pages, atomic_long_read(&z->free_pages) + delta);
}

/* NR_FREE_PAGES: free pages, in the buddy lists or on a CPU's list (deviation 80), on this CPU's count. */
static void free_pages_moved(struct mml_machine *m, long delta)
{
	mod_vm_stat(m, NR_FREE_PAGES, delta);
}

/* A zone's free pages, its CPUs' lists included: what its node's MemFree shows. */
unsigned long zone_free_pages(const struct zone *z)
{
	long n = atomic_long_read(&z->free_pages);

	for (int cpu = 0; cpu < NR_CPU_SLOTS; cpu++)
		n += READ_ONCE(z->pcp[cpu].count);
	return (unsigned long)n;
}

/*
 * A node's zone (firmware would describe it to Linux): its frames go to
 * the buddy allocator, largest aligned blocks first.
 */
static void node_init(struct mml_machine *m, int nid)
{
	pg_data_t *pgdat = NODE_DATA(m, nid);
	struct zone *z = &pgdat->node_zones[0];
	unsigned long start = (unsigned long)nid * m->node_frames;
	unsigned long end = nid == m->nr_nodes - 1 ? m->nr_frames : start + m->node_frames;

	pgdat->node_id = nid;
	z->node = nid;
	z->zone_start_pfn = start;
	z->spanned_pages = end - start;
	z->managed_pages = end - start;
	spin_lock_init(&z->lock);
	for (unsigned o = 0; o < NR_PAGE_ORDERS; o++)
		INIT_LIST_HEAD(&z->free_area[o].free_list);
	for (unsigned long pfn = start; pfn < end;) {
		unsigned int order = MAX_PAGE_ORDER;

		while (order && ((pfn & ((1UL << order) - 1)) || pfn + (1UL << order) > end))
			order--;
		add_to_free_list(z, pfn_to_page(m, pfn), order);
		pfn += 1UL << order;
	}
	mod_zone_free(m, z, (long)z->managed_pages);
	free_pages_moved(m, (long)z->managed_pages);
	setup_watermarks(z);
	setup_pageset(z);
}

/*
 * The simulated RAM is host memory faulted in on first touch: a host fault
 * a frame costs more than most simulated operations (10-20 us on a VM),
 * so a small machine asks the host for huge pages (MADV_HUGEPAGE: one fault
 * a 2 MiB block where THP is "madvise" or "always"), as Linux reaches RAM
 * through a direct map of huge pages.  Only a small one: a
 * frame touched makes its whole block resident, and a big machine whose
 * frames are used sparsely would hold far more host memory than it uses.
 */
#define RAM_HOST_THP_MAX	(1ULL << 30)

/*
 * RAM is split into nr_nodes equal nodes, whole 2 MiB blocks each where
 * they are big enough, the last node taking the rest.  -EINVAL for more
 * nodes than MAX_NUMNODES or nodes under MIN_NODE_FRAMES.
 */
int page_alloc_init(struct mml_machine *m, unsigned int nr_nodes)
{
	/* The pmem device's frames and struct pages come after RAM's (drivers/pmem.c fills them). */
	unsigned long all = m->nr_frames + m->nr_pmem_frames, pfn;

	if (nr_nodes > MAX_NUMNODES || m->nr_frames / nr_nodes < MIN_NODE_FRAMES)
		return -EINVAL;
	m->ram = mmap(NULL, all * PAGE_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m->ram == MAP_FAILED) {
		m->ram = NULL;
		return -ENOMEM;
	}
	if (all * PAGE_SIZE <= RAM_HOST_THP_MAX)
		madvise(m->ram, all * PAGE_SIZE, MADV_HUGEPAGE);
	/* A struct page a cache line, as Linux's vmemmap: CPUs working on neighbouring frames share none. */
	m->mem_map = aligned_alloc(SMP_CACHE_BYTES, all * sizeof(struct page));
	if (m->mem_map)
		memset(m->mem_map, 0, all * sizeof(struct page));
	if (!m->mem_map) {
		munmap(m->ram, all * PAGE_SIZE);
		m->ram = NULL;
		return -ENOMEM;
	}
	for (pfn = 0; pfn < all; pfn++)
		atomic_set(&m->mem_map[pfn]._mapcount, -1);
	m->nr_nodes = (int)nr_nodes;
	m->node_frames = m->nr_frames / nr_nodes;
	if (nr_nodes > 1 && m->node_frames >= HPAGE_PMD_NR)
		m->node_frames &= ~(unsigned long)(HPAGE_PMD_NR - 1);
	for (int nid = 0; nid < m->nr_nodes; nid++)
		node_init(m, nid);
	m->extfrag_threshold = 500;
	m->mmap_min_addr = MMAP_MIN_ADDR_DEFAULT;
	m->page_cluster = 3;	/* Linux's default: 8 pages */
	return 0;
}

void page_alloc_exit(struct mml_machine *m)
{
	if (m->ram)
		munmap(m->ram, (m->nr_frames + m->nr_pmem_frames) * PAGE_SIZE);
	free(m->mem_map);
	for (int nid = 0; nid < m->nr_nodes; nid++) {
		struct zone *z = &NODE_DATA(m, nid)->node_zones[0];

		for (int cpu = 0; cpu < NR_CPU_SLOTS; cpu++)
			spin_lock_destroy(&z->pcp[cpu].lock);
		spin_lock_destroy(&z->lock);
	}
	m->ram = NULL;
	m->mem_map = NULL;
}

/*
 * gfp_migratetype(): the free list Linux would take the pages from, for
 * mm_page_alloc only (mmlab's free lists have no migratetypes).
 */
#define MIGRATE_UNMOVABLE	0
#define MIGRATE_MOVABLE		1
static int gfp_migratetype(gfp_t gfp)
{
	return gfp & GFP_HIGHUSER_MOVABLE & ~__GFP_DIRECT_RECLAIM ? MIGRATE_MOVABLE : MIGRATE_UNMOVABLE;
}

/* Models __zone_watermark_ok() for order-0 and high-order requests alike. */
static bool zone_watermark_ok(struct zone *z, unsigned int order)
{
	return (unsigned long)atomic_long_read(&z->free_pages) >= z->_watermark[WMARK_MIN] + (1UL << order);
}

/* Models __rmqueue_smallest() and expand(). */
static struct page *rmqueue(struct mml_machine *m, struct zone *z, unsigned int order)
{
	for (unsigned int cur = order; cur < NR_PAGE_ORDERS; cur++) {
		struct free_area *area = &z->free_area[cur];
		struct page *p;
		unsigned long pfn;

		if (list_empty(&area->free_list))
			continue;
		p = list_first_entry(&area->free_list, struct page, lru);
		del_from_free_list(z, p, cur);
		pfn = page_to_pfn(m, p);
		while (cur > order) {
			cur--;
			add_to_free_list(z, pfn_to_page(m, pfn + (1UL << cur)), cur);
		}
		return p;
	}
	return NULL;
}

/*
 * Models rmqueue_bulk(): up to count order-0 pages from the buddy lists
 * onto a CPU's list, in the order they came (zone->lock held).
 */
static int rmqueue_bulk(struct mml_machine *m, struct zone *z, int count, struct list_head *list)
{
	int n = 0;

	for (; n < count; n++) {
		struct page *page = rmqueue(m, z, 0);

		if (!page)
			break;
		list_add_tail(&page->lru, list);
	}
	mod_zone_free(m, z, -(long)n);
	return n;
}

/* CONFIG_PCP_BATCH_SCALE_MAX's default: a batch grows to at most 32 times its size. */
#define PCP_BATCH_SCALE_MAX	5

/*
 * Models nr_pcp_alloc() for order 0: a refill takes batch << alloc_factor
 * pages, and each refill without a free in between doubles the next one,
 * up to what fits under high (raised by a batch first, to high_max, while
 * the zone is above its high watermark: a larger list would have spared
 * this trip to the zone).  pcp->lock held.
 */
static int nr_pcp_alloc(struct per_cpu_pages *pcp, struct zone *z)
{
	int batch = pcp->batch << pcp->alloc_factor, high = pcp->high, max_nr_alloc;

	if (pcp->high_min != pcp->high_max && !test_bit(ZONE_BELOW_HIGH, &z->flags))
		high = pcp->high = min(high + batch, pcp->high_max);
	max_nr_alloc = max(high - pcp->count - pcp->batch, pcp->batch);
	if (batch <= max_nr_alloc && pcp->alloc_factor < PCP_BATCH_SCALE_MAX)
		pcp->alloc_factor++;
	return min(batch, max_nr_alloc);
}

/*
 * Models rmqueue_pcplist(): the page freed last on this CPU, or, with the
 * list empty, a batch from the buddy lists first.  An allocation halves
 * the run of frees that sizes the next give-back.  Linux only trylocks
 * (the lock guards against its own interrupts) and falls back to the zone;
 * a slot shared by two tasks here just waits.
 */
static struct page *rmqueue_pcplist(struct mml_machine *m, struct zone *z)
{
	struct per_cpu_pages *pcp = &z->pcp[smp_processor_id()];
	struct page *page = NULL;

	spin_lock(&pcp->lock);
	pcp->free_count >>= 1;
	if (list_empty(&pcp->list)) {
		int batch = nr_pcp_alloc(pcp, z);

		spin_lock(&z->lock);
		WRITE_ONCE(pcp->count, pcp->count + rmqueue_bulk(m, z, batch, &pcp->list));
		spin_unlock(&z->lock);
	}
	if (!list_empty(&pcp->list)) {
		page = list_first_entry(&pcp->list, struct page, lru);
		list_del(&page->lru);
		WRITE_ONCE(pcp->count, pcp->count - 1);
	}
	spin_unlock(&pcp->lock);
	return page;
}

/* Models free_pcppages_bulk(): the count coldest pages of a CPU's list back to the buddy lists. */
static void free_pcppages_bulk(struct mml_machine *m, struct zone *z, struct per_cpu_pages *pcp, int count)
{
	spin_lock(&z->lock);
	for (; count > 0 && pcp->count; count--) {
		struct page *page = list_last_entry(&pcp->list, struct page, lru);

		list_del(&page->lru);
		WRITE_ONCE(pcp->count, pcp->count - 1);
		__free_one_page(m, z, page_to_pfn(m, page), 0);
		mod_zone_free(m, z, 1);
	}
	spin_unlock(&z->lock);
}

/*
 * Models nr_pcp_high() for order 0 (pcp->lock held): the list's high for
 * this free.  A CPU that keeps freeing raises pcp->high to hold a run of
 * frees and a batch (to high_max); while the zone is below its high
 * watermark, it lowers it by the run instead, towards high_min, and gives
 * back all but high_min.  Linux also lowers it while kswapd reclaims the
 * zone (ZONE_RECLAIM_ACTIVE) and, every second, a little on every CPU
 * (decay_pcp_high); mmlab has neither (deviation 80).
 */
static int nr_pcp_high(struct per_cpu_pages *pcp, struct zone *z)
{
	int high = pcp->high;

	if (pcp->high_min == pcp->high_max)
		return high;
	if (test_bit(ZONE_BELOW_HIGH, &z->flags)) {
		pcp->high = max(high - max(pcp->free_count, pcp->batch), pcp->high_min);
		return max(pcp->count, pcp->high_min);
	}
	if (pcp->count >= high && pcp->high < pcp->free_count + pcp->batch)
		pcp->high = clamp(pcp->free_count + pcp->batch, pcp->high_min, pcp->high_max);
	return high;
}

/*
 * Models free_frozen_page_commit(): an order-0 page onto this CPU's list
 * (pcp->lock held); at high, the list gives back the run of frees so far
 * (nr_pcp_free: at least a batch, leaving a batch), fewer zone->lock
 * rounds for a CPU freeing many pages in a row.  A free halves the growth
 * of the next refill.
 */
static void free_pcp_page_locked(struct mml_machine *m, struct zone *z, struct per_cpu_pages *pcp,
				 struct page *page)
{
	int high;

	WRITE_ONCE(page->alloc_gen, page->alloc_gen + 1);	/* stale TLB entries stop matching */
	pcp->alloc_factor >>= 1;
	list_add(&page->lru, &pcp->list);
	WRITE_ONCE(pcp->count, pcp->count + 1);
	if (pcp->free_count < (pcp->batch << PCP_BATCH_SCALE_MAX))
		pcp->free_count++;
	high = nr_pcp_high(pcp, z);
	if (pcp->count < high)
		return;
	free_pcppages_bulk(m, z, pcp, clamp(pcp->free_count, pcp->batch, high - pcp->batch));
	if (test_bit(ZONE_BELOW_HIGH, &z->flags) &&
	    (unsigned long)atomic_long_read(&z->free_pages) >= z->_watermark[WMARK_HIGH])
		clear_bit(ZONE_BELOW_HIGH, &z->flags);
}

/* Models drain_pages_zone(): one CPU's list of zone z back to the buddy lists. */
static void drain_pages_zone(struct mml_machine *m, struct zone *z, int cpu)
{
	struct per_cpu_pages *pcp = &z->pcp[cpu];

	if (!READ_ONCE(pcp->count))
		return;
	spin_lock(&pcp->lock);
	free_pcppages_bulk(m, z, pcp, pcp->count);
	spin_unlock(&pcp->lock);
}

/*
 * Models drain_all_pages(NULL): every CPU's list back to the buddy lists,
 * where a high-order allocation and compaction can use them.  Linux asks
 * each CPU to drain its own; mmlab takes each list's lock from here.
 */
void drain_all_pages(struct mml_machine *m)
{
	for (int nid = 0; nid < m->nr_nodes; nid++)
		for (int cpu = 0; cpu < NR_CPU_SLOTS; cpu++)
			drain_pages_zone(m, &NODE_DATA(m, nid)->node_zones[0], cpu);
}

/* Models drain_local_pages(zone): this CPU's list of zone z. */
void drain_local_pages(struct mml_machine *m, struct zone *z)
{
	drain_pages_zone(m, z, (int)smp_processor_id());
}

/*
 * Models zone_statistics(): numa_hit on the node that gave the pages when
 * it was the preferred one, else numa_miss there and numa_foreign on the
 * preferred; numa_local or numa_other by the running CPU's node.  Only
 * the nodes count: /proc/vmstat's numa_* are their sums (vmstat.c), as
 * Linux folds its per-zone counters.
 */
static void zone_statistics(struct mml_machine *m, int preferred_nid, int nid, long n)
{
	if (nid == preferred_nid) {
		count_numa_events(m, nid, NUMA_HIT, n);
	} else {
		count_numa_events(m, nid, NUMA_MISS, n);
		count_numa_events(m, preferred_nid, NUMA_FOREIGN, n);
	}
	count_numa_events(m, nid, nid == numa_node_id() ? NUMA_LOCAL : NUMA_OTHER, n);
}

/*
 * Models get_page_from_freelist(): walk the zonelist of preferred_nid
 * (the node itself, then the others by id from there round: mmlab's nodes
 * are all one distance apart) and take from the first zone nodemask
 * allows that is above its watermark.
 */
static struct page *get_page_from_freelist(struct mml_machine *m, unsigned int order, int preferred_nid,
					   const nodemask_t *nodemask, int *nidp)
{
	int nid;

	for_each_zonelist_node(m, nid, preferred_nid, nodemask) {
		struct zone *z = &NODE_DATA(m, nid)->node_zones[0];
		struct page *page = NULL;

		/*
		 * zone_watermark_fast(): read without the lock, as Linux does.
		 * Below the high watermark the CPUs' lists shrink as they free
		 * (ZONE_BELOW_HIGH, nr_pcp_high).
		 */
		if (!test_bit(ZONE_BELOW_HIGH, &z->flags) &&
		    (unsigned long)atomic_long_read(&z->free_pages) < z->_watermark[WMARK_HIGH] + (1UL << order))
			set_bit(ZONE_BELOW_HIGH, &z->flags);
		if (!zone_watermark_ok(z, order))
			continue;
		if (order == 0) {
			page = rmqueue_pcplist(m, z);
		} else {
			spin_lock(&z->lock);
			page = rmqueue(m, z, order);
			if (page)
				mod_zone_free(m, z, -(long)(1UL << order));
			spin_unlock(&z->lock);
		}
		if (page) {
			free_pages_moved(m, -(long)(1UL << order));
			zone_statistics(m, preferred_nid, nid, (long)(1UL << order));
			for (unsigned long j = 0; j < (1UL << order); j++)
				WRITE_ONCE(page[j].alloc_gen, page[j].alloc_gen + 1);
			*nidp = nid;
			return page;
		}
	}
	return NULL;
}

/* Models __alloc_pages_direct_compact(): compact, then look again; a stall unless nothing was tried. */
static struct page *__alloc_pages_direct_compact(struct mml_machine *m, unsigned int order, int preferred_nid,
						 const nodemask_t *nodemask, int *nidp,
						 enum compact_result *result)
{
	struct page *page;

	*result = try_to_compact_pages(m, order, preferred_nid, nodemask);
	if (*result == COMPACT_SKIPPED)
		return NULL;
	count_vm_event(m, COMPACTSTALL);
	page = get_page_from_freelist(m, order, preferred_nid, nodemask, nidp);
	count_vm_event(m, page ? COMPACTSUCCESS : COMPACTFAIL);
	return page;
}

/* Reclaim rounds (and compaction rounds) before giving up: MAX_RECLAIM_RETRIES, MAX_COMPACT_RETRIES. */
#define MAX_RECLAIM_RETRIES	16

/*
 * Models __alloc_pages_slowpath() once the free lists have failed: with
 * __GFP_DIRECT_RECLAIM, a costly order compacts first (and gives up at
 * once with __GFP_NORETRY if compaction found nothing to do); then
 * rounds of direct reclaim, each followed by direct compaction for an
 * order > 0; __GFP_NORETRY and costly orders stop after one round, the
 * others retry while reclaim makes progress; then an order-0 request
 * that may goes to the OOM killer, constrained to the nodemask's memory
 * (not for __GFP_THISNODE, nor for this thread if it is the victim), and
 * starts over after a kill.  Orders 1 to 3 fail rather than kill (Linux
 * may kill for them: deviation 52).
 */
static struct page *alloc_pages_slowpath(struct mml_machine *m, gfp_t gfp, unsigned int order, int preferred_nid,
					 const nodemask_t *nodemask, int *nidp)
{
	bool costly = order > PAGE_ALLOC_COSTLY_ORDER;
	enum compact_result compact_result = COMPACT_SKIPPED;
	struct page *page;

	if (!(gfp & __GFP_DIRECT_RECLAIM))
		return NULL;
	if (costly) {
		page = __alloc_pages_direct_compact(m, order, preferred_nid, nodemask, nidp, &compact_result);
		if (page || ((gfp & __GFP_NORETRY) && compact_result == COMPACT_SKIPPED))
			return page;
	}
	for (int tries = 0;; tries++) {
		unsigned long progress = try_to_free_pages(m, gfp, order, order ? 2UL << order : SWAP_CLUSTER_MAX);

		page = get_page_from_freelist(m, order, preferred_nid, nodemask, nidp);
		/*
		 * __alloc_pages_direct_reclaim(): the CPUs' lists may hold what
		 * reclaim freed.  mmlab drains the CPUs' lru_add batches too:
		 * its CPUs are tasks, which may never run again to drain their
		 * own (deviation 21).
		 */
		if (!page) {
			lru_add_drain_all(m);
			drain_all_pages(m);
			page = get_page_from_freelist(m, order, preferred_nid, nodemask, nidp);
		}
		if (!page && order)
			page = __alloc_pages_direct_compact(m, order, preferred_nid, nodemask, nidp, &compact_result);
		if (page || (gfp & __GFP_NORETRY) || costly)
			return page;
		if (tries < MAX_RECLAIM_RETRIES && progress)
			continue;
		if (order || (gfp & __GFP_THISNODE) || fatal_signal_pending(current) ||
		    !out_of_memory(m, nodemask) || fatal_signal_pending(current))
			return NULL;
		page = get_page_from_freelist(m, order, preferred_nid, nodemask, nidp);
		if (page)
			return page;
		tries = -1;
	}
}

struct page *__alloc_pages(struct mml_machine *m, gfp_t gfp, unsigned int order, int preferred_nid,
			   const nodemask_t *nodemask)
{
	nodemask_t thisnode;
	struct page *page;
	unsigned long n = 1UL << order;
	int nid;

	if (order > MAX_PAGE_ORDER)
		return NULL;
	if (preferred_nid < 0 || preferred_nid >= m->nr_nodes)
		preferred_nid = numa_node_id();
	if (gfp & __GFP_THISNODE) {
		thisnode = nodemask_of_node(preferred_nid);
		nodemask = &thisnode;
	}
	/* The preferred zone is the first of the zonelist the mask allows (ac->preferred_zoneref). */
	for_each_zonelist_node(m, nid, preferred_nid, nodemask) {
		preferred_nid = nid;
		break;
	}
	/* should_fail_alloc_page(): page tables and user frames fail separately. */
	if (should_fail(m, (gfp & __GFP_PGTABLE) ? MML_FAIL_PGTABLE : MML_FAIL_FRAME))
		return NULL;
	page = get_page_from_freelist(m, order, preferred_nid, nodemask, &nid);
	if (!page) {
		wakeup_kswapd(m, gfp, order);
		page = alloc_pages_slowpath(m, gfp, order, preferred_nid, nodemask, &nid);
		if (!page) {
			trace_mm_page_alloc(m, NULL, order, gfp, gfp_migratetype(gfp));
			return NULL;
		}
	}
	wakeup_kswapd(m, gfp, order);	/* as the fast path's check of the low watermark */

	count_vm_events(m, PGALLOC_NORMAL, (long)n);
	for (unsigned long i = 0; i < n; i++) {
		VM_BUG_ON_PAGE(page[i].flags || atomic_read(&page[i]._refcount) ||
			       atomic_read(&page[i]._mapcount) != -1, m, &page[i]);
		WRITE_ONCE(page[i].mapping, NULL);	/* ksm_get_folio may be reading it */
		page[i].index = 0;
		page[i].private = 0;
		WRITE_ONCE(page[i].compound_head, 0);
		INIT_LIST_HEAD(&page[i].lru);
	}
	atomic_set(&page->_refcount, 1);
	if (gfp & __GFP_ZERO)
		memset(page_address(m, page), 0, n * PAGE_SIZE);
	trace_mm_page_alloc(m, page, order, gfp, gfp_migratetype(gfp));
	return page;
}

/*
 * Models free_pages_prepare(): the pages' state as a free page has it,
 * outside the zone lock.  The poisoning is page_poison=1's, asked for by
 * MML_POISON: without it a freed frame keeps its bytes until reused, as
 * on a kernel without page poisoning, and a stale translation is caught
 * by the allocation generation __free_pages_ok moves on.
 */
static void free_pages_prepare(struct mml_machine *m, struct page *page, unsigned int order)
{
	unsigned long n = 1UL << order;
	unsigned long pfn = page_to_pfn(m, page);

	trace_mm_page_free(m, page, order);
	VM_BUG_ON_PAGE(PageReserved(page), m, page);
	for (unsigned long i = 0; i < n; i++) {
		struct page *p = &page[i];

		VM_BUG_ON_PAGE(atomic_read(&p->_mapcount) != -1, m, p);
		VM_BUG_ON_PAGE(PageBuddy(p), m, p);
		if (m->check_frees) {
			struct mml_task *who;
			uint64_t va;

			if (tlb_any_maps_pfn(m, pfn + i, &who, &va))
				mml_report(m, "frame %lu freed while the TLB of task %d still maps it at %#llx "
					   "(freed before the TLB flush)", pfn + i, who->tid,
					   (unsigned long long)va);
		}
		WRITE_ONCE(p->flags, 0);
		smp_store_release(&p->mapping, NULL);	/* as __folio_put's, for ksm_get_folio */
		p->private = 0;
		WRITE_ONCE(p->compound_head, 0);
		atomic_set(&p->_refcount, 0);
	}
	if (m->poison)
		memset(page_address(m, page), PAGE_POISON, n * PAGE_SIZE);
}

/* The buddy side of a free: zone lock held. */
static void free_pages_locked(struct mml_machine *m, struct zone *z, struct page *page, unsigned int order)
{
	unsigned long n = 1UL << order;

	for (unsigned long i = 0; i < n; i++)
		WRITE_ONCE(page[i].alloc_gen, page[i].alloc_gen + 1);	/* stale TLB entries stop matching */
	__free_one_page(m, z, page_to_pfn(m, page), order);
	mod_zone_free(m, z, (long)n);
}

/* Models __free_pages() (free_frozen_pages): order 0 to this CPU's list, larger to the buddy lists. */
void __free_pages(struct mml_machine *m, struct page *page, unsigned int order)
{
	struct zone *z = page_zone(m, page);

	free_pages_prepare(m, page, order);
	if (order == 0) {
		struct per_cpu_pages *pcp = &z->pcp[smp_processor_id()];

		spin_lock(&pcp->lock);
		free_pcp_page_locked(m, z, pcp, page);
		spin_unlock(&pcp->lock);
	} else {
		spin_lock(&z->lock);
		free_pages_locked(m, z, page, order);
		spin_unlock(&z->lock);
	}
	free_pages_moved(m, 1L << order);
	count_vm_events(m, PGFREE, 1L << order);
}

/* Models prep_compound_page(): tails point to the head. */
void prep_compound_page(struct page *page, unsigned int order)
{
	struct folio *folio = (struct folio *)page;

	__SetPageHead(page);
	for (unsigned long i = 1; i < (1UL << order); i++)
		WRITE_ONCE(page[i].compound_head, (unsigned long)page | 1);
	atomic_set(&folio->_large_mapcount, -1);
	atomic_set(&folio->_entire_mapcount, -1);
	atomic_set(&folio->_nr_pages_mapped, 0);
	atomic_set(&folio->_pincount, 0);
	folio->_mm_ids = 0;	/* both slots free (MM_ID_DUMMY), not shared, unlocked */
	folio->_mm_id_mapcount[0] = -1;
	folio->_mm_id_mapcount[1] = -1;
	if (order > 1)
		INIT_LIST_HEAD(&folio->_deferred_list);
}

/* The folio of pages just allocated. */
static struct folio *page_folio_prep(struct page *page, unsigned int order)
{
	struct folio *folio = (struct folio *)page;

	if (!page)
		return NULL;
	if (order)
		prep_compound_page(page, order);
	WRITE_ONCE(folio->order, order);
	return folio;
}

struct folio *__folio_alloc(struct mml_machine *m, gfp_t gfp, unsigned int order, int preferred_nid,
			    const nodemask_t *nodemask)
{
	return page_folio_prep(__alloc_pages(m, gfp, order, preferred_nid, nodemask), order);
}

/* What a folio whose last reference went gives up before its pages are freed; its order. */
static unsigned int folio_free_prepare(struct mml_machine *m, struct folio *folio)
{
	unsigned int order = folio->order;

	VM_BUG_ON_FOLIO(folio_mapped(folio), m, folio);
	VM_BUG_ON_FOLIO(folio_test_locked(folio), m, folio);
	VM_BUG_ON_FOLIO(folio_test_swapcache(folio), m, folio);
	VM_BUG_ON_FOLIO(PageReserved(&folio->page), m, folio);
	for (unsigned long i = 0; i < (1UL << order); i++)
		WRITE_ONCE(folio_page(folio, i)->flags, 0);
	/*
	 * Pairs with the smp_load_acquire() in ksm_get_folio: a scan that
	 * finds the folio gone from its stable node unlinks the node's items,
	 * which the folio's last users (rmap_walk_ksm under the folio lock)
	 * read before they let go of it.
	 */
	smp_store_release(&folio->mapping, NULL);
	WRITE_ONCE(folio->order, 0);
	free_pages_prepare(m, &folio->page, order);
	return order;
}

/* Models __folio_put(): the last reference is gone. */
void __folio_put(struct mml_machine *m, struct folio *folio)
{
	if (folio_is_fsdax(m, folio)) {
		free_zone_device_folio(m, folio);	/* the block stays the file system's */
		return;
	}
	folio_unqueue_deferred_split(m, folio);
	lru_del_freed_folio(m, folio);
	free_unref_folios(m, &folio, 1);
}

/*
 * Models free_unref_folios(): folios whose last reference went and that
 * left the LRU; order-0 ones onto this CPU's list of their zone, taking
 * its lock once for each run of them in one zone, larger ones to the
 * buddy lists.
 */
void free_unref_folios(struct mml_machine *m, struct folio **folios, unsigned int n)
{
	unsigned char orders[FOLIO_BATCH_SIZE];
	struct per_cpu_pages *locked = NULL;
	int cpu = (int)smp_processor_id();
	long freed = 0;

	VM_BUG_ON(n > FOLIO_BATCH_SIZE);
	for (unsigned int i = 0; i < n; i++)
		orders[i] = (unsigned char)folio_free_prepare(m, folios[i]);
	for (unsigned int i = 0; i < n; i++) {
		struct page *page = &folios[i]->page;
		struct zone *z = page_zone(m, page);

		freed += 1L << orders[i];
		if (orders[i]) {
			spin_lock(&z->lock);
			free_pages_locked(m, z, page, orders[i]);
			spin_unlock(&z->lock);
			continue;
		}
		if (locked != &z->pcp[cpu]) {
			if (locked)
				spin_unlock(&locked->lock);
			locked = &z->pcp[cpu];
			spin_lock(&locked->lock);
		}
		free_pcp_page_locked(m, z, locked, page);
	}
	if (locked)
		spin_unlock(&locked->lock);
	if (freed) {
		free_pages_moved(m, freed);
		count_vm_events(m, PGFREE, freed);
	}
}

unsigned long nr_free_pages(struct mml_machine *m)
{
	return (unsigned long)global_vm_stat(m, NR_FREE_PAGES);
}

bool page_is_free(struct page *page)
{
	return folio_ref_count(page_folio(page)) == 0;
}

/* The sum of the zones' watermark w: what the machine-wide checks (kswapd, OOM, meminfo) compare with. */
unsigned long total_watermark(struct mml_machine *m, enum zone_watermarks w)
{
	unsigned long sum = 0;

	for (int nid = 0; nid < m->nr_nodes; nid++)
		sum += NODE_DATA(m, nid)->node_zones[0]._watermark[w];
	return sum;
}

/* Pages managed by the buddy allocator in all zones (totalram_pages). */
unsigned long totalram_pages(struct mml_machine *m)
{
	return m->nr_frames;
}

/*
 * Models isolate_freepages_block()'s take of one free block: if pfn
 * heads a free buddy block of zone z, it leaves the free lists whole and
 * its pages join freelist as order-0 pages ready for use (refcount 1),
 * as split_free_page() hands them to compaction.  The pages taken, 0 if
 * pfn heads no free block.
 */
unsigned long isolate_free_block(struct mml_machine *m, struct zone *z, unsigned long pfn,
				 struct list_head *freelist)
{
	struct page *page = pfn_to_page(m, pfn);
	unsigned long n = 0;
	unsigned int order;

	spin_lock(&z->lock);
	if (PageBuddy(page)) {
		order = READ_ONCE(page->order);
		n = 1UL << order;
		del_from_free_list(z, page, order);
		mod_zone_free(m, z, -(long)n);
		free_pages_moved(m, -(long)n);
		for (unsigned long i = 0; i < n; i++)
			WRITE_ONCE(page[i].alloc_gen, page[i].alloc_gen + 1);
	}
	spin_unlock(&z->lock);
	for (unsigned long i = 0; i < n; i++) {
		WRITE_ONCE(page[i].mapping, NULL);	/* ksm_get_folio may be reading it */
		page[i].index = 0;
		page[i].private = 0;
		WRITE_ONCE(page[i].compound_head, 0);
		WRITE_ONCE(page[i].order, 0);
		atomic_set(&page[i]._refcount, 1);
		list_add_tail(&page[i].lru, freelist);
	}
	return n;
}
