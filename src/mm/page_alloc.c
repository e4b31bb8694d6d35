/*
 * page_alloc.c - simulated physical memory: the frames, their struct pages,
 * the buddy allocator with watermarks, and the shared zero page.
 *
 * Frames are host memory; a freed frame is poisoned with PAGE_POISON so that
 * a read through a stale translation shows garbage rather than old data,
 * and its allocation generation moves on so the stale path can be reported.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mm/internal.h"

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

static void set_buddy_order(struct page *p, unsigned int order)
{
	WRITE_ONCE(p->order, order);
	__SetPageBuddy(p);
}

static void add_to_free_list(struct zone *z, struct page *p, unsigned int order)
{
	set_buddy_order(p, order);
	list_add(&p->lru, &z->free_area[order].free_list);
	z->free_area[order].nr_free++;
}

static void del_from_free_list(struct zone *z, struct page *p, unsigned int order)
{
	list_del(&p->lru);
	__ClearPageBuddy(p);
	WRITE_ONCE(p->order, 0);
	z->free_area[order].nr_free--;
}

/* Models __free_one_page(): merge with free buddies as far as possible. */
static void __free_one_page(struct mml_machine *m, unsigned long pfn, unsigned int order)
{
	struct zone *z = &m->zone;

	while (order < MAX_PAGE_ORDER) {
		unsigned long buddy_pfn = pfn ^ (1UL << order);
		struct page *buddy;

		if (buddy_pfn + (1UL << order) > m->nr_frames)
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

int page_alloc_init(struct mml_machine *m)
{
	struct zone *z = &m->zone;
	unsigned long pfn;

	m->ram = mmap(NULL, m->nr_frames * PAGE_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m->ram == MAP_FAILED) {
		m->ram = NULL;
		return -ENOMEM;
	}
	m->mem_map = calloc(m->nr_frames, sizeof(struct page));
	if (!m->mem_map) {
		munmap(m->ram, m->nr_frames * PAGE_SIZE);
		m->ram = NULL;
		return -ENOMEM;
	}
	spin_lock_init(&z->lock);
	for (unsigned o = 0; o < NR_PAGE_ORDERS; o++)
		INIT_LIST_HEAD(&z->free_area[o].free_list);
	for (pfn = 0; pfn < m->nr_frames; pfn++)
		atomic_set(&m->mem_map[pfn]._mapcount, -1);

	/* Hand every frame to the buddy allocator, largest aligned blocks first. */
	for (pfn = 0; pfn < m->nr_frames;) {
		unsigned int order = MAX_PAGE_ORDER;

		while (order && ((pfn & ((1UL << order) - 1)) || pfn + (1UL << order) > m->nr_frames))
			order--;
		add_to_free_list(z, pfn_to_page(m, pfn), order);
		pfn += 1UL << order;
	}
	z->managed_pages = m->nr_frames;
	atomic_long_set(&m->vm_stat[NR_FREE_PAGES], m->nr_frames);
	setup_watermarks(z);
	return 0;
}

void page_alloc_exit(struct mml_machine *m)
{
	if (m->ram)
		munmap(m->ram, m->nr_frames * PAGE_SIZE);
	free(m->mem_map);
	spin_lock_destroy(&m->zone.lock);
	m->ram = NULL;
	m->mem_map = NULL;
}

/* Models __zone_watermark_ok() for order-0 and high-order requests alike. */
static bool zone_watermark_ok(struct zone *z, unsigned int order, unsigned long free)
{
	return free >= z->_watermark[WMARK_MIN] + (1UL << order);
}

/* Models __rmqueue_smallest() and expand(). */
static struct page *rmqueue(struct mml_machine *m, unsigned int order)
{
	struct zone *z = &m->zone;

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

struct page *alloc_pages(struct mml_machine *m, gfp_t gfp, unsigned int order)
{
	struct zone *z = &m->zone;
	struct page *page;
	unsigned long n = 1UL << order;

	if (order > MAX_PAGE_ORDER)
		return NULL;
	/* should_fail_alloc_page(): page tables and user frames fail separately. */
	if (should_fail(m, (gfp & __GFP_PGTABLE) ? MML_FAIL_PGTABLE : MML_FAIL_FRAME))
		return NULL;
	for (int tries = 0;; tries++) {
		spin_lock(&z->lock);
		if (zone_watermark_ok(z, order, (unsigned long)global_vm_stat(m, NR_FREE_PAGES)))
			break;
		spin_unlock(&z->lock);
		wakeup_kswapd(m);
		/*
		 * __alloc_pages_slowpath(): reclaim directly, a batch at a time,
		 * and try again while it makes progress; then the OOM killer
		 * (__alloc_pages_may_oom), unless this thread is its victim or the
		 * request is costly.  After a kill, start over.
		 */
		if (!(gfp & __GFP_DIRECT_RECLAIM))
			return NULL;
		if (tries < 16 && shrink_lists(m, SWAP_CLUSTER_MAX << order, true))
			continue;
		if (order > PAGE_ALLOC_COSTLY_ORDER || fatal_signal_pending(current) || !out_of_memory(m) ||
		    fatal_signal_pending(current))
			return NULL;
		tries = -1;
	}
	page = rmqueue(m, order);
	if (page) {
		mod_vm_stat(m, NR_FREE_PAGES, -(long)n);
		for (unsigned long i = 0; i < n; i++)
			WRITE_ONCE(page[i].alloc_gen, page[i].alloc_gen + 1);
	}
	spin_unlock(&z->lock);
	if (!page)
		return NULL;
	wakeup_kswapd(m);	/* as the fast path's check of the low watermark */

	count_vm_events(m, PGALLOC_NORMAL, (long)n);
	for (unsigned long i = 0; i < n; i++) {
		VM_BUG_ON_PAGE(page[i].flags || atomic_read(&page[i]._refcount) ||
			       atomic_read(&page[i]._mapcount) != -1, m, &page[i]);
		page[i].mapping = NULL;
		page[i].index = 0;
		page[i].private = 0;
		WRITE_ONCE(page[i].compound_head, 0);
		INIT_LIST_HEAD(&page[i].lru);
	}
	atomic_set(&page->_refcount, 1);
	if (gfp & __GFP_ZERO)
		memset(page_address(m, page), 0, n * PAGE_SIZE);
	return page;
}

/* Models free_pages_prepare() + __free_one_page(). */
void __free_pages(struct mml_machine *m, struct page *page, unsigned int order)
{
	unsigned long n = 1UL << order;
	unsigned long pfn = page_to_pfn(m, page);

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
		p->mapping = NULL;
		p->private = 0;
		WRITE_ONCE(p->compound_head, 0);
		atomic_set(&p->_refcount, 0);
	}
	memset(page_address(m, page), PAGE_POISON, n * PAGE_SIZE);

	spin_lock(&m->zone.lock);
	for (unsigned long i = 0; i < n; i++)
		WRITE_ONCE(page[i].alloc_gen, page[i].alloc_gen + 1);	/* stale TLB entries stop matching */
	__free_one_page(m, pfn, order);
	mod_vm_stat(m, NR_FREE_PAGES, (long)n);
	spin_unlock(&m->zone.lock);
	count_vm_events(m, PGFREE, (long)n);
}

/* Models prep_compound_page(): tails point to the head. */
static void prep_compound_page(struct page *page, unsigned int order)
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

struct folio *folio_alloc(struct mml_machine *m, gfp_t gfp, unsigned int order)
{
	struct page *page = alloc_pages(m, gfp, order);
	struct folio *folio;

	if (!page)
		return NULL;
	folio = (struct folio *)page;
	if (order)
		prep_compound_page(page, order);
	WRITE_ONCE(folio->order, order);
	return folio;
}

/* Models vma_alloc_folio(): anon folios are swap-backed and up to date. */
struct folio *vma_alloc_folio(struct vm_area_struct *vma, gfp_t gfp, unsigned int order, uint64_t addr)
{
	struct folio *folio = folio_alloc(vma->vm_mm->machine, gfp | GFP_HIGHUSER_MOVABLE, order);

	if (folio && vma_is_anonymous(vma))
		__folio_set_swapbacked(folio);
	return folio;
}

/* Models __folio_put(): the last reference is gone. */
void __folio_put(struct mml_machine *m, struct folio *folio)
{
	unsigned int order = folio->order;

	VM_BUG_ON_FOLIO(folio_mapped(folio), m, folio);
	VM_BUG_ON_FOLIO(folio_test_locked(folio), m, folio);
	VM_BUG_ON_FOLIO(folio_test_swapcache(folio), m, folio);
	folio_unqueue_deferred_split(m, folio);
	lru_del_freed_folio(m, folio);
	VM_BUG_ON_FOLIO(PageReserved(&folio->page), m, folio);
	for (unsigned long i = 0; i < (1UL << order); i++)
		WRITE_ONCE(folio_page(folio, i)->flags, 0);
	folio->mapping = NULL;
	WRITE_ONCE(folio->order, 0);
	__free_pages(m, &folio->page, order);
}

unsigned long nr_free_pages(struct mml_machine *m)
{
	return (unsigned long)global_vm_stat(m, NR_FREE_PAGES);
}

bool page_is_free(struct page *page)
{
	return folio_ref_count(page_folio(page)) == 0;
}
