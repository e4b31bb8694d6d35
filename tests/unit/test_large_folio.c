/*
 * test_large_folio.c - the map counts of a large (order-2) anonymous folio
 * through fault, pin, fork, partial unmap and COW: refcount, large and
 * entire mapcount, nr_pages_mapped, pincount, each page's mapcount and
 * PG_anon_exclusive, nr_anon_pages and MM_ANONPAGES (internal API).
 *
 * A machine makes order-2 anonymous folios once hugepages-16kB/enabled allows
 * it (mTHP); nothing else in mmlab does yet.
 */
#include <string.h>

#include "../harness.h"
#include "mm/internal.h"

#define BASE	0x10000000ULL	/* 16 KiB aligned: one order-2 folio */

static struct mml_machine *large_machine(void)
{
	struct mml_machine *m = h_machine(0);

	if (m && mml_sys_write(m, "/sys/kernel/mm/transparent_hugepage/hugepages-16kB/enabled", "always")) {
		h_forget_machine(m);
		mml_machine_free(m);
		return NULL;
	}
	return m;
}

static struct page *page_at(struct mml_machine *m, struct mml_task *t, uint64_t addr)
{
	uint64_t e = h_pagemap(t, addr);

	if (!(e & MML_PM_PRESENT))
		return NULL;
	return pfn_to_page(m, (unsigned long)H_PFN(e));
}

/* Every count of folio, against what the test says it must be. */
struct counts {
	int ref, map, pin, nr_mapped;
	int page_map[4];
	bool excl[4];
};

static void check_counts(const char *file, int line, struct mml_machine *m, struct folio *folio,
			 const struct counts *c)
{
	harness_check_eq(file, line, "folio_order", "2", folio_order(folio), 2);
	harness_check_eq(file, line, "refcount", "ref", folio_ref_count(folio), c->ref);
	harness_check_eq(file, line, "folio_mapcount", "map", folio_mapcount(folio), c->map);
	harness_check_eq(file, line, "entire mapcount", "0", folio_entire_mapcount(folio), 0);
	harness_check_eq(file, line, "_pincount", "pin", atomic_read(&folio->_pincount), c->pin);
	harness_check_eq(file, line, "_nr_pages_mapped", "nr_mapped",
			 atomic_read(&folio->_nr_pages_mapped), c->nr_mapped);
	for (int i = 0; i < 4; i++) {
		struct page *page = folio_page(folio, i);

		harness_checkf(file, line, folio_precise_page_mapcount(folio, page) == c->page_map[i],
			       "page %d: mapcount %d, expected %d", i, folio_precise_page_mapcount(folio, page),
			       c->page_map[i]);
		harness_checkf(file, line, PageAnonExclusive(page) == c->excl[i],
			       "page %d: PG_anon_exclusive %d, expected %d", i, PageAnonExclusive(page), c->excl[i]);
	}
	harness_checkf(file, line, folio_is_valid(m, folio, stderr), "folio_is_valid");
}
#define CHECK_COUNTS(folio, ...) \
	do { struct counts c_ = __VA_ARGS__; check_counts(__FILE__, __LINE__, m, folio, &c_); } while (0)

TEST(order2_folio_counts_through_pin_fork_unmap_and_cow)
{
	struct mml_machine *m = large_machine();
	struct mml_task *t = h_spawn(m), *c1, *c2;
	long anon0 = mml_vmstat(m, "nr_anon_pages");
	struct mml_pin *pin;
	struct folio *folio;
	struct page *p0;

	REQUIRE(t);
	h_map(t, BASE, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	/* One write fault maps the whole folio, a pte and a reference per page. */
	REQUIRE_EQ(h_poke(t, BASE + H_PAGE, 0x11), 0);
	p0 = page_at(m, t, BASE);
	REQUIRE(p0);
	folio = page_folio(p0);
	REQUIRE(folio_test_large(folio));
	for (int i = 0; i < 4; i++)
		CHECK(page_at(m, t, BASE + i * H_PAGE) == folio_page(folio, i));
	CHECK_COUNTS(folio, { .ref = 4, .map = 4, .nr_mapped = 4, .page_map = { 1, 1, 1, 1 },
			      .excl = { 1, 1, 1, 1 } });
	CHECK_EQ(mml_vmstat(m, "nr_anon_pages") - anon0, 4);
	CHECK_EQ(get_mm_counter(t->mm, MM_ANONPAGES), 4);
	CHECK(h_expect(t, BASE + H_PAGE, 1, 0x11));
	CHECK(h_expect(t, BASE + 2 * H_PAGE, 2 * H_PAGE, 0));

	/* A read-only pin of an exclusive page: one reference and one _pincount. */
	REQUIRE_EQ(mml_pin_user_pages(t, BASE + H_PAGE, 1, 0, &pin), 1);
	CHECK_COUNTS(folio, { .ref = 5, .map = 4, .pin = 1, .nr_mapped = 4, .page_map = { 1, 1, 1, 1 },
			      .excl = { 1, 1, 1, 1 } });

	/* fork may not share what may be pinned: the child gets copies of all four. */
	c1 = h_fork(t);
	REQUIRE(c1);
	for (int i = 0; i < 4; i++)
		CHECK(page_at(m, c1, BASE + i * H_PAGE) != folio_page(folio, i));
	CHECK(h_expect(c1, BASE + H_PAGE, 1, 0x11));
	CHECK_COUNTS(folio, { .ref = 5, .map = 4, .pin = 1, .nr_mapped = 4, .page_map = { 1, 1, 1, 1 },
			      .excl = { 1, 1, 1, 1 } });
	mml_unpin(pin);
	CHECK_COUNTS(folio, { .ref = 4, .map = 4, .nr_mapped = 4, .page_map = { 1, 1, 1, 1 },
			      .excl = { 1, 1, 1, 1 } });

	/* Unpinned, a second fork shares the four pages in one batch. */
	c2 = h_fork(t);
	REQUIRE(c2);
	for (int i = 0; i < 4; i++)
		CHECK(page_at(m, c2, BASE + i * H_PAGE) == folio_page(folio, i));
	CHECK_COUNTS(folio, { .ref = 8, .map = 8, .nr_mapped = 4, .page_map = { 2, 2, 2, 2 } });

	/* The child unmaps two pages, the parent one of them: only page 2 goes unmapped. */
	CHECK_EQ(mml_munmap(c2, BASE + H_PAGE, 2 * H_PAGE), 0);
	CHECK_COUNTS(folio, { .ref = 6, .map = 6, .nr_mapped = 4, .page_map = { 2, 1, 1, 2 } });
	anon0 = mml_vmstat(m, "nr_anon_pages");
	CHECK_EQ(mml_munmap(t, BASE + 2 * H_PAGE, H_PAGE), 0);
	CHECK_COUNTS(folio, { .ref = 5, .map = 5, .nr_mapped = 3, .page_map = { 2, 1, 0, 2 } });
	CHECK_EQ(mml_vmstat(m, "nr_anon_pages") - anon0, -1);

	/* A write to a shared page copies that page alone into a small folio. */
	CHECK_EQ(h_poke(t, BASE, 0x22), 0);
	CHECK(page_at(m, t, BASE) != folio_page(folio, 0));
	CHECK(!folio_test_large(page_folio(page_at(m, t, BASE))));
	CHECK_COUNTS(folio, { .ref = 4, .map = 4, .nr_mapped = 3, .page_map = { 1, 1, 0, 2 } });
	CHECK(h_expect(c2, BASE, 1, 0));
	CHECK(h_expect(t, BASE, 1, 0x22));
	CHECK_EQ(mml_check(m), 0);
	H_END(m);
}

TEST(madv_cold_of_part_of_a_large_folio_splits_it)
{
	struct mml_machine *m = large_machine();
	struct mml_task *t = h_spawn(m);
	struct folio *folio;

	REQUIRE(t);
	h_map(t, BASE, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE_EQ(h_poke(t, BASE, 1), 0);
	REQUIRE_EQ(h_poke(t, BASE + 3 * H_PAGE, 4), 0);
	folio = page_folio(page_at(m, t, BASE));
	REQUIRE(folio_test_large(folio));
	/* The whole folio needs no split: MADV_COLD ages it as one. */
	CHECK_EQ(mml_madvise(t, BASE, 4 * H_PAGE, MADV_COLD), 0);
	CHECK(folio_test_large(page_folio(page_at(m, t, BASE))));
	/* Part of it: split into small folios, each page mapped and exclusive still. */
	CHECK_EQ(mml_madvise(t, BASE + H_PAGE, H_PAGE, MADV_COLD), 0);
	for (int i = 0; i < 4; i++) {
		struct page *page = page_at(m, t, BASE + (uint64_t)i * H_PAGE);

		CHECK(page == folio_page(folio, i));
		CHECK(!folio_test_large(page_folio(page)));
		CHECK_EQ(folio_mapcount(page_folio(page)), 1);
		CHECK(PageAnonExclusive(page));
	}
	CHECK(h_expect(t, BASE, 1, 1));
	CHECK(h_expect(t, BASE + 3 * H_PAGE, 1, 4));
	CHECK_EQ(mml_vmstat(m, "thp_split_page"), 0);	/* counted for PMD-sized folios only */
	CHECK_EQ(mml_check(m), 0);
	H_END(m);
}

TEST(munmap_of_two_large_folios_frees_every_page)
{
	struct mml_machine *m = large_machine();
	struct mml_task *t = h_spawn(m);
	struct page *pages[8];

	REQUIRE(t);
	h_map(t, BASE, 8 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	CHECK(h_fill(t, BASE, 8 * H_PAGE, 0x5a));
	for (int i = 0; i < 8; i++)
		REQUIRE((pages[i] = page_at(m, t, BASE + i * H_PAGE)) != NULL);
	CHECK(folio_test_large(page_folio(pages[0])) && folio_test_large(page_folio(pages[4])));
	CHECK(page_folio(pages[0]) != page_folio(pages[4]));
	CHECK_EQ(get_mm_counter(t->mm, MM_ANONPAGES), 8);
	/* One batch per folio, one reference per pte: both folios go back whole. */
	CHECK_EQ(mml_munmap(t, BASE, 8 * H_PAGE), 0);
	for (int i = 0; i < 8; i++)
		CHECKF(page_is_free(pages[i]), "page %d still allocated", i);
	CHECK_EQ(get_mm_counter(t->mm, MM_ANONPAGES), 0);
	H_END(m);
}

/*
 * make_device_exclusive of one page of a large folio (Linux 6.15+): that
 * pte becomes the exclusive entry, the folio's counts stay, the others
 * stay mapped; the CPU's touch gives the page back, munmap frees it all.
 */
TEST(one_page_of_a_large_folio_made_device_exclusive)
{
	struct mml_machine *m = large_machine();
	struct mml_task *t = h_spawn(m);
	struct mml_device *d;
	struct folio *folio;
	unsigned char b[8];

	REQUIRE(t);
	h_map(t, BASE, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	CHECK(h_fill(t, BASE, 4 * H_PAGE, 0x6b));
	REQUIRE(page_at(m, t, BASE) != NULL);
	folio = page_folio(page_at(m, t, BASE));
	REQUIRE(folio_test_large(folio));
	REQUIRE_EQ(mml_device_new(t, 0, &d), 0);
	CHECK_EQ(mml_device_make_exclusive(d, BASE + H_PAGE, 1), 0);
	CHECK(!(h_pagemap(t, BASE + H_PAGE) & MML_PM_PRESENT));
	check_counts(__FILE__, __LINE__, m, folio, &(struct counts){ .ref = 4, .map = 4, .nr_mapped = 4,
		     .page_map = { 1, 1, 1, 1 }, .excl = { true, true, true, true } });
	CHECK_EQ(mml_device_read(d, BASE + H_PAGE, b, sizeof(b)), 0);
	CHECK_EQ(b[0], 0x6b);
	CHECK(h_expect(t, BASE + H_PAGE, H_PAGE, 0x6b));	/* the CPU takes it back */
	CHECK(h_pagemap(t, BASE + H_PAGE) & MML_PM_PRESENT);
	CHECK_EQ(page_folio(page_at(m, t, BASE + H_PAGE)), folio);
	CHECK_EQ(mml_device_make_exclusive(d, BASE + 2 * H_PAGE, 1), 0);
	CHECK_EQ(mml_munmap(t, BASE, 4 * H_PAGE), 0);	/* zap drops the entry's mapping too */
	CHECK_EQ(mml_device_free(d), 0);
	H_END(m);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
