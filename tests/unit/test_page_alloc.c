/*
 * test_page_alloc.c - the buddy allocator, the CPUs' page lists and
 * lru_add batches, watermarks, poisoning and the zero page (internal API).
 */
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "mm/internal.h"

TEST(struct_page_fits_budget)
{
	CHECK(sizeof(struct page) <= 64);
}

TEST(buddy_split_and_merge)
{
	struct mml_machine *m = h_machine(8 << 20);
	unsigned long free0 = nr_free_pages(m);
	struct page *a, *b;

	REQUIRE(m);
	a = alloc_page(m, 0);
	b = alloc_page(m, 0);
	REQUIRE(a && b);
	CHECK_EQ(nr_free_pages(m), free0 - 2);
	CHECK_EQ(folio_ref_count((struct folio *)a), 1);
	__free_pages(m, a, 0);
	__free_pages(m, b, 0);
	CHECK_EQ(nr_free_pages(m), free0);
	/* Everything merged back: one order-10 block per 4 MiB again. */
	CHECK_EQ(NODE_DATA(m, 0)->node_zones[0].free_area[0].nr_free, 1);	/* the zero page's buddy */
	for (unsigned o = 0; o <= MAX_PAGE_ORDER; o++) {
		struct page *p = __alloc_pages(m, 0, o, 0, NULL);

		if (!CHECKF(p != NULL, "order %u allocation failed", o))
			continue;
		CHECK_EQ(page_to_pfn(m, p) & ((1UL << o) - 1), 0);	/* naturally aligned */
		__free_pages(m, p, o);
	}
	CHECK_EQ(nr_free_pages(m), free0);
	H_END(m);
}

TEST(freed_frames_are_poisoned_and_change_generation)
{
	struct mml_machine *m = h_machine(4 << 20);
	struct page *p;
	unsigned char *va;
	unsigned gen;

	REQUIRE(m);
	p = alloc_page(m, __GFP_ZERO);
	REQUIRE(p);
	va = page_address(m, p);
	CHECK_EQ(va[0], 0);
	CHECK_EQ(va[PAGE_SIZE - 1], 0);
	memset(va, 0x5a, PAGE_SIZE);
	gen = p->alloc_gen;
	__free_pages(m, p, 0);
	CHECK_EQ(va[0], PAGE_POISON);
	CHECK_EQ(va[PAGE_SIZE - 1], PAGE_POISON);
	CHECK_NE(p->alloc_gen, gen);
	CHECK(page_is_free(p));
	H_END(m);
}

/*
 * Without MML_POISON (the library's default; the harness's machines check
 * every operation, which implies it) a freed frame keeps its bytes: only
 * its generation tells a stale translation, and it still moves on.
 */
TEST(freed_frames_keep_their_bytes_without_poison)
{
	struct mml_machine *m;
	struct page *p;
	unsigned char *va;
	unsigned gen;

	unsetenv("MMLAB_POISON");
	m = mml_machine_new(&(struct mml_config){ .ram_bytes = 4 << 20, .seed = 1 });
	REQUIRE(m);
	p = alloc_page(m, __GFP_ZERO);
	REQUIRE(p);
	va = page_address(m, p);
	memset(va, 0x5a, PAGE_SIZE);
	gen = p->alloc_gen;
	__free_pages(m, p, 0);
	CHECK_EQ(va[0], 0x5a);
	CHECK_EQ(va[PAGE_SIZE - 1], 0x5a);
	CHECK_NE(p->alloc_gen, gen);
	CHECK(page_is_free(p));
	/* and the variable turns it on for a machine that did not ask */
	setenv("MMLAB_POISON", "1", 1);
	CHECK_EQ(mml_machine_free(m), 0);
	m = mml_machine_new(&(struct mml_config){ .ram_bytes = 4 << 20, .seed = 1 });
	unsetenv("MMLAB_POISON");
	REQUIRE(m);
	p = alloc_page(m, 0);
	REQUIRE(p);
	va = page_address(m, p);
	va[0] = 0x5a;
	__free_pages(m, p, 0);
	CHECK_EQ(va[0], PAGE_POISON);
	CHECK_EQ(mml_machine_free(m), 0);
}

TEST(allocation_stops_at_min_watermark)
{
	struct mml_machine *m = h_machine(4 << 20);
	struct page **got;
	unsigned long n = 0;

	REQUIRE(m);
	got = calloc(m->nr_frames, sizeof(*got));
	REQUIRE(got);
	while ((got[n] = alloc_page(m, 0)) != NULL)
		n++;
	CHECK(n > 0);
	CHECK(nr_free_pages(m) <= NODE_DATA(m, 0)->node_zones[0]._watermark[WMARK_MIN] + 1);
	CHECK(nr_free_pages(m) >= NODE_DATA(m, 0)->node_zones[0]._watermark[WMARK_MIN]);
	CHECK(NODE_DATA(m, 0)->node_zones[0]._watermark[WMARK_MIN] < NODE_DATA(m, 0)->node_zones[0]._watermark[WMARK_LOW]);
	CHECK(NODE_DATA(m, 0)->node_zones[0]._watermark[WMARK_LOW] < NODE_DATA(m, 0)->node_zones[0]._watermark[WMARK_HIGH]);
	while (n)
		__free_pages(m, got[--n], 0);
	free(got);
	H_END(m);
}

/*
 * The CPUs' page lists: an order-0 allocation refills the list with a
 * batch from the buddy lists, a free goes back on it and the next
 * allocation takes that page again (LIFO); past high a batch goes back;
 * drain_all_pages empties them.  nr_free_pages counts the lists, the
 * zone's own count (the watermarks') does not.
 */
/*
 * The CPUs' page lists, as Linux 6.7+ tunes them: refills grow while a CPU
 * only allocates, give-backs grow with a run of frees, high rises between
 * its bounds as the CPU frees, and a drain empties the lists.
 */
TEST(pcp_lists_refill_in_batches_and_drain)
{
	struct mml_machine *m = h_machine(64 << 20);
	struct zone *z;
	struct per_cpu_pages *pcp;
	struct page *p, *q, *got[256];
	int refills = 0, refill = 0, giveback = 0;
	long zone0, before;
	unsigned long free0;

	REQUIRE(m);
	z = &NODE_DATA(m, 0)->node_zones[0];
	pcp = &z->pcp[0];	/* no task: the calls below run on slot 0 */
	drain_all_pages(m);
	free0 = nr_free_pages(m);
	zone0 = atomic_long_read(&z->free_pages);
	CHECK_EQ(pcp->batch, 3);	/* zone_batchsize of 16384 pages */
	CHECK_EQ(pcp->high_min, 20);	/* the low watermark (320) over 16 CPUs */
	CHECK_EQ(pcp->high_max, 128);	/* an eighth of the zone over 16 CPUs */
	p = alloc_page(m, 0);
	REQUIRE(p);
	CHECK_EQ(atomic_long_read(&z->free_pages), zone0 - (pcp->count + 1));
	CHECK_EQ(nr_free_pages(m), free0 - 1);
	__free_pages(m, p, 0);
	CHECK_EQ(nr_free_pages(m), free0);
	q = alloc_page(m, 0);
	CHECK(q == p);		/* the page freed last, cache-hot */
	__free_pages(m, q, 0);

	/* Allocating only: each refill larger than the one before, up to what fits under high. */
	drain_all_pages(m);
	for (int i = 0; i < 256; i++) {
		before = atomic_long_read(&z->free_pages);
		REQUIRE((got[i] = alloc_page(m, 0)) != NULL);
		if (atomic_long_read(&z->free_pages) != before) {
			int n = (int)(before - atomic_long_read(&z->free_pages));

			CHECKF(n >= refill || n >= pcp->high - pcp->batch, "refill %d after %d", n, refill);
			refill = n;
			refills++;
		}
	}
	CHECKF(refill > 4 * pcp->batch, "the last refill took %d pages (batch %d)", refill, pcp->batch);
	CHECKF(refills < 256 / pcp->batch, "%d refills for 256 pages", refills);

	/* Freeing only: high rises, and each give-back takes the run of frees so far. */
	for (int i = 0; i < 256; i++) {
		before = atomic_long_read(&z->free_pages);
		__free_pages(m, got[i], 0);
		if (atomic_long_read(&z->free_pages) != before)
			giveback = (int)(atomic_long_read(&z->free_pages) - before);
		CHECKF(pcp->count < pcp->high && pcp->high <= pcp->high_max,
		       "the list holds %d pages, high is %d (at most %d)", pcp->count, pcp->high, pcp->high_max);
	}
	CHECKF(giveback > pcp->batch, "the last give-back was %d pages (batch %d)", giveback, pcp->batch);
	CHECKF(pcp->high > pcp->high_min, "high is %d, its floor %d", pcp->high, pcp->high_min);
	CHECK_EQ(nr_free_pages(m), free0);
	CHECK_EQ(mml_check(m), 0);
	drain_all_pages(m);
	CHECK_EQ(pcp->count, 0);
	CHECK_EQ(atomic_long_read(&z->free_pages), zone0);
	CHECK_EQ(nr_free_pages(m), free0);
	H_END(m);
}

static struct folio *folio_at(struct mml_task *t, uint64_t addr)
{
	return page_folio(pfn_to_page(t->machine, H_PFN(h_pagemap(t, addr))));
}

/*
 * The CPUs' lru_add batches: a new folio waits in its task's batch with a
 * reference, off the LRU, until the batch is full or drained; munmap
 * drains its own CPU's batch first; and a write by another CPU (a thread)
 * still reuses a page that only the batch holds besides its mapping.
 */
TEST(lru_add_batches_hold_new_folios_until_full_or_drained)
{
	struct mml_machine *m = h_machine(64 << 20);
	struct mml_task *a, *a2 = NULL, *b;
	struct cpu_fbatches *fbs;
	struct folio *f;
	uint64_t p, shared;
	long inactive0, reuse0;

	REQUIRE(m);
	a = h_spawn(m);
	REQUIRE(a && mml_thread_new(a, &a2) == 0);
	REQUIRE(a2->tid % NR_CPU_SLOTS != a->tid % NR_CPU_SLOTS);
	fbs = &m->cpu_fbatches[a->tid % NR_CPU_SLOTS];
	p = h_map(a, 0, 64 * PAGE_SIZE, H_RW, H_ANON);
	REQUIRE(p);
	lru_add_drain_all(m);
	inactive0 = global_vm_stat(m, NR_INACTIVE_ANON);
	for (int i = 0; i < FOLIO_BATCH_SIZE - 1; i++)
		REQUIRE(h_poke(a, p + i * PAGE_SIZE, 1) == 0);
	CHECK_EQ(fbs->lru_add.nr, FOLIO_BATCH_SIZE - 1);
	CHECK_EQ(global_vm_stat(m, NR_INACTIVE_ANON), inactive0);
	f = folio_at(a, p);
	CHECK(!folio_test_lru(f));
	CHECK_EQ(folio_ref_count(f), 2);	/* the mapping's and the batch's */
	CHECK_EQ(mml_check(m), 0);
	REQUIRE(h_poke(a, p + (FOLIO_BATCH_SIZE - 1) * PAGE_SIZE, 1) == 0);
	CHECK_EQ(fbs->lru_add.nr, 0);
	CHECK_EQ(global_vm_stat(m, NR_INACTIVE_ANON), inactive0 + FOLIO_BATCH_SIZE);
	CHECK(folio_test_lru(f));
	CHECK_EQ(folio_ref_count(f), 1);

	/* a's write, a fork, the child gone: the page is mapped once, shared no more, held by a's batch. */
	shared = p + FOLIO_BATCH_SIZE * PAGE_SIZE;
	REQUIRE(h_poke(a, shared, 2) == 0);
	b = h_fork(a);
	REQUIRE(b);
	CHECK_EQ(mml_exit(b), 0);
	f = folio_at(a, shared);
	CHECK(!folio_test_lru(f));
	CHECK_EQ(folio_ref_count(f), 2);
	CHECK(!PageAnonExclusive(&f->page));
	reuse0 = global_vm_stat(m, PGREUSE);
	/* The other thread writes: a's batch is drained (Linux drains only a2's), the page reused. */
	REQUIRE(h_poke(a2, shared, 4) == 0);
	CHECK(folio_at(a, shared) == f);
	CHECK_EQ(global_vm_stat(m, PGREUSE), reuse0 + 1);
	CHECK_EQ(fbs->lru_add.nr, 0);

	REQUIRE(h_poke(a, shared + PAGE_SIZE, 5) == 0);
	CHECK_EQ(fbs->lru_add.nr, 1);
	CHECK_EQ(mml_munmap(a, p, 64 * PAGE_SIZE), 0);
	CHECK_EQ(fbs->lru_add.nr, 0);	/* drained before the zap, which freed the folio */
	CHECK_EQ(mml_check(m), 0);
	H_END(m);
}

TEST(zero_page_is_reserved_and_zero)
{
	struct mml_machine *m = h_machine(0);
	unsigned char *z;

	REQUIRE(m);
	CHECK(PageReserved(m->zero_page));
	z = page_address(m, m->zero_page);
	for (unsigned i = 0; i < PAGE_SIZE; i++)
		if (!CHECK_EQ(z[i], 0))
			break;
	H_END(m);
}

TEST(large_folio_has_tails_pointing_to_head)
{
	struct mml_machine *m = h_machine(8 << 20);
	struct folio *f;

	REQUIRE(m);
	f = folio_alloc(m, 0, HPAGE_PMD_ORDER);
	REQUIRE(f);
	CHECK_EQ(folio_nr_pages(f), 512);
	CHECK(PageHead(&f->page));
	CHECK(page_folio(folio_page(f, 1)) == f);
	CHECK(page_folio(folio_page(f, 511)) == f);
	CHECK_EQ(folio_mapcount(f), 0);
	folio_put(m, f);
	H_END(m);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
