/*
 * test_ksm.c - Kernel Samepage Merging (mm/ksm.c): merging identical
 * pages of mergeable memory, the counters and views that show it, COW
 * after a merge, unmerging (MADV_UNMERGEABLE, run=2, prctl), zero pages,
 * pins that stop a merge, swap and fork of KSM pages, and a device that
 * must see the merge (seed 002).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "../harness.h"
#include "mm/internal.h"

#ifndef MADV_MERGEABLE
#define MADV_MERGEABLE		12
#define MADV_UNMERGEABLE	13
#endif
#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE	67
#define PR_GET_MEMORY_MERGE	68
#endif

#define KSM	"/sys/kernel/mm/ksm/"

static long ksm_read(struct mml_machine *m, const char *file)
{
	char path[128], buf[64];
	long n;

	snprintf(path, sizeof(path), KSM "%s", file);
	n = mml_sys_read(m, path, buf, sizeof(buf));
	if (n < 0)
		return n;
	return strtol(buf, NULL, 10);
}

/* Scan until two more full scans (what Linux's selftests wait for). */
static void ksm_settle(struct mml_machine *m)
{
	long start = ksm_read(m, "full_scans");

	for (int i = 0; i < 1000 && ksm_read(m, "full_scans") < start + 2; i++)
		if (mml_ksm_scan(m, 100) < 0)
			break;
}

static uint64_t pfn_at(struct mml_task *t, uint64_t addr) { return H_PFN(h_pagemap(t, addr)); }

static bool kpf_ksm(struct mml_machine *m, uint64_t pfn)
{
	uint64_t f = 0;

	return !mml_kpageflags(m, pfn, &f) && (f >> MML_KPF_KSM & 1);
}

TEST(ksm_defaults_and_knobs)
{
	struct mml_machine *m = h_machine(0);
	char buf[64];

	REQUIRE(m);
	CHECK_EQ(ksm_read(m, "run"), 0);
	CHECK_EQ(ksm_read(m, "pages_to_scan"), 100);
	CHECK_EQ(ksm_read(m, "sleep_millisecs"), 20);
	CHECK_EQ(ksm_read(m, "max_page_sharing"), 256);
	CHECK_EQ(ksm_read(m, "merge_across_nodes"), 1);
	CHECK_EQ(ksm_read(m, "use_zero_pages"), 0);
	CHECK_EQ(ksm_read(m, "pages_shared"), 0);
	CHECK_EQ(ksm_read(m, "general_profit"), 0);
	CHECK_EQ(mml_sys_write(m, KSM "run", "3"), -EINVAL);
	CHECK_EQ(mml_sys_write(m, KSM "max_page_sharing", "1"), -EINVAL);
	CHECK_EQ(mml_sys_write(m, KSM "pages_shared", "1"), -EACCES);
	CHECK_EQ(mml_sys_write(m, KSM "use_zero_pages", "1"), 0);
	CHECK_EQ(ksm_read(m, "use_zero_pages"), 1);
	CHECK(mml_sys_read(m, KSM "advisor_mode", buf, sizeof(buf)) > 0 && !strcmp(buf, "[none] scan-time\n"));
	CHECK_EQ(mml_ksm_scan(m, 0), -EINVAL);
	CHECK_EQ(mml_ksm_scan(m, 10), 0);	/* nothing registered */
	H_END(m);
}

TEST(ksm_merges_identical_pages_and_cow_unshares)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *a, *b;
	uint64_t pa, pb;

	REQUIRE(m);
	a = h_spawn(m);
	b = h_spawn(m);
	REQUIRE(a && b);
	pa = h_map(a, 0, 8 * H_PAGE, H_RW, H_ANON);
	pb = h_map(b, 0, 8 * H_PAGE, H_RW, H_ANON);
	h_fill(a, pa, 8 * H_PAGE, 0x5a);
	h_fill(b, pb, 8 * H_PAGE, 0x5a);
	CHECK_EQ(mml_madvise(a, pa, 8 * H_PAGE, MADV_MERGEABLE), 0);
	CHECK_EQ(mml_madvise(b, pb, 8 * H_PAGE, MADV_MERGEABLE), 0);
	CHECK_EQ(mml_ksm_stat(a, "ksm_mergeable"), 1);
	ksm_settle(m);
	/* Sixteen pages of one content: one KSM page, fifteen more mappings of it. */
	CHECK_EQ(ksm_read(m, "pages_shared"), 1);
	CHECK_EQ(ksm_read(m, "pages_sharing"), 15);
	CHECK_EQ(ksm_read(m, "pages_unshared"), 0);
	CHECK_EQ(pfn_at(a, pa), pfn_at(b, pb + 3 * H_PAGE));
	CHECK(kpf_ksm(m, pfn_at(a, pa)));
	CHECK_EQ(mml_ksm_stat(a, "ksm_merging_pages"), 8);
	CHECK_EQ(mml_ksm_stat(b, "ksm_rmap_items"), 8);
	CHECK_EQ(ksm_read(m, "general_profit"), 15 * 4096 - 16 * 64);
	CHECK(!(h_pagemap(a, pa) & MML_PM_MMAP_EXCLUSIVE));
	h_expect(a, pa, 8 * H_PAGE, 0x5a);
	/* A write copies: the writer's page is its own, everyone else keeps the bytes. */
	CHECK_EQ(h_poke(a, pa + 5, 0x11), 0);
	CHECK_NE(pfn_at(a, pa), pfn_at(b, pb));
	CHECK(!kpf_ksm(m, pfn_at(a, pa)));
	CHECK_EQ(mml_vmstat(m, "cow_ksm"), 1);
	h_expect(b, pb, 8 * H_PAGE, 0x5a);
	h_expect(a, pa + H_PAGE, 7 * H_PAGE, 0x5a);
	{
		char *s = h_show_smaps(b);

		CHECK(s && strstr(s, "KSM:                  32 kB"));
		free(s);
	}
	H_END(m);
}

TEST(ksm_unmergeable_and_run2_unmerge)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *a;
	uint64_t p;

	REQUIRE(m);
	a = h_spawn(m);
	REQUIRE(a);
	p = h_map(a, 0, 4 * H_PAGE, H_RW, H_ANON);
	h_fill(a, p, 4 * H_PAGE, 7);
	CHECK_EQ(mml_madvise(a, p, 4 * H_PAGE, MADV_MERGEABLE), 0);
	ksm_settle(m);
	CHECK_EQ(pfn_at(a, p), pfn_at(a, p + 3 * H_PAGE));
	CHECK_EQ(mml_madvise(a, p, 2 * H_PAGE, MADV_UNMERGEABLE), 0);
	CHECK_NE(pfn_at(a, p), pfn_at(a, p + H_PAGE));
	CHECK(!kpf_ksm(m, pfn_at(a, p)));
	CHECK(kpf_ksm(m, pfn_at(a, p + 2 * H_PAGE)));
	h_expect(a, p, 4 * H_PAGE, 7);
	CHECK_EQ(mml_sys_write(m, KSM "run", "2"), 0);
	CHECK(!kpf_ksm(m, pfn_at(a, p + 2 * H_PAGE)));
	CHECK_NE(pfn_at(a, p + 2 * H_PAGE), pfn_at(a, p + 3 * H_PAGE));
	CHECK_EQ(ksm_read(m, "pages_shared"), 0);
	CHECK_EQ(ksm_read(m, "pages_sharing"), 0);
	CHECK_EQ(mml_ksm_stat(a, "ksm_rmap_items"), 0);
	h_expect(a, p, 4 * H_PAGE, 7);
	H_END(m);
}

TEST(ksm_zero_pages)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *a;
	uint64_t p;

	REQUIRE(m);
	a = h_spawn(m);
	REQUIRE(a);
	CHECK_EQ(mml_sys_write(m, KSM "use_zero_pages", "1"), 0);
	p = h_map(a, 0, 4 * H_PAGE, H_RW, H_ANON);
	h_fill(a, p, 4 * H_PAGE, 0);
	CHECK_EQ(mml_madvise(a, p, 4 * H_PAGE, MADV_MERGEABLE), 0);
	ksm_settle(m);
	CHECK_EQ(ksm_read(m, "ksm_zero_pages"), 4);
	CHECK_EQ(mml_ksm_stat(a, "ksm_zero_pages"), 4);
	CHECK_EQ(pfn_at(a, p), pfn_at(a, p + H_PAGE));
	CHECK_EQ(ksm_read(m, "pages_shared"), 0);
	h_expect(a, p, 4 * H_PAGE, 0);
	CHECK_EQ(h_poke(a, p, 1), 0);
	CHECK_EQ(ksm_read(m, "ksm_zero_pages"), 3);
	CHECK_EQ(mml_madvise(a, p, 4 * H_PAGE, MADV_UNMERGEABLE), 0);
	CHECK_EQ(ksm_read(m, "ksm_zero_pages"), 0);
	CHECK_NE(pfn_at(a, p + H_PAGE), pfn_at(a, p + 2 * H_PAGE));
	H_END(m);
}

TEST(ksm_pinned_page_is_not_merged)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *a;
	struct mml_pin *pin = NULL;
	uint64_t p;

	REQUIRE(m);
	a = h_spawn(m);
	REQUIRE(a);
	p = h_map(a, 0, 2 * H_PAGE, H_RW, H_ANON);
	h_fill(a, p, 2 * H_PAGE, 9);
	CHECK_EQ(mml_pin_user_pages(a, p, 1, MML_FOLL_WRITE, &pin), 1);
	CHECK_EQ(mml_madvise(a, p, 2 * H_PAGE, MADV_MERGEABLE), 0);
	ksm_settle(m);
	CHECK_NE(pfn_at(a, p), pfn_at(a, p + H_PAGE));
	CHECK_EQ(ksm_read(m, "pages_shared"), 0);
	mml_unpin(pin);
	ksm_settle(m);
	CHECK_EQ(pfn_at(a, p), pfn_at(a, p + H_PAGE));
	/* A read-only pin of a KSM page unshares it first (gup_must_unshare). */
	CHECK_EQ(mml_pin_user_pages(a, p, 1, 0, &pin), 1);
	CHECK_NE(pfn_at(a, p), pfn_at(a, p + H_PAGE));
	mml_unpin(pin);
	H_END(m);
}

TEST(ksm_prctl_inherited_across_fork)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *a, *c;
	uint64_t p;

	REQUIRE(m);
	a = h_spawn(m);
	REQUIRE(a);
	CHECK_EQ(mml_prctl(a, PR_GET_MEMORY_MERGE, 0), 0);
	CHECK_EQ(mml_prctl(a, 12345, 0), -EINVAL);
	CHECK_EQ(mml_prctl(a, PR_SET_MEMORY_MERGE, 1), 0);
	CHECK_EQ(mml_prctl(a, PR_GET_MEMORY_MERGE, 0), 1);
	p = h_map(a, 0, 4 * H_PAGE, H_RW, H_ANON);
	h_fill(a, p, 4 * H_PAGE, 3);
	c = h_fork(a);
	REQUIRE(c);
	CHECK_EQ(mml_prctl(c, PR_GET_MEMORY_MERGE, 0), 1);
	CHECK_EQ(mml_ksm_stat(c, "ksm_merge_any"), 1);
	ksm_settle(m);
	CHECK_EQ(pfn_at(a, p), pfn_at(a, p + 3 * H_PAGE));
	CHECK_EQ(pfn_at(c, p), pfn_at(a, p + 3 * H_PAGE));
	h_expect(c, p, 4 * H_PAGE, 3);
	CHECK_EQ(h_poke(c, p + 2 * H_PAGE, 4), 0);
	h_expect(a, p, 4 * H_PAGE, 3);
	CHECK_EQ(mml_prctl(a, PR_SET_MEMORY_MERGE, 0), 0);
	CHECK_NE(pfn_at(a, p), pfn_at(a, p + H_PAGE));
	CHECK_EQ(mml_exit(c), 0);
	H_END(m);
}

TEST(ksm_pages_swap_out_and_back)
{
	struct mml_machine *m = h_machine(4 << 20);
	struct mml_task *a;
	uint64_t p;

	REQUIRE(m);
	a = h_spawn(m);
	REQUIRE(a);
	REQUIRE(mml_swapon(m, NULL, 4 << 20, 0) >= 0);
	p = h_map(a, 0, 8 * H_PAGE, H_RW, H_ANON);
	h_fill(a, p, 8 * H_PAGE, 0x42);
	CHECK_EQ(mml_madvise(a, p, 8 * H_PAGE, MADV_MERGEABLE), 0);
	ksm_settle(m);
	CHECK_EQ(ksm_read(m, "pages_sharing"), 7);
	/* MADV_PAGEOUT leaves shared pages alone, as Linux's: reclaim finds every mapping by rmap_walk_ksm. */
	CHECK(mml_reclaim(m, 1 << 20) > 0);
	CHECK(h_pagemap(a, p) & MML_PM_SWAP);
	CHECK(h_pagemap(a, p + 7 * H_PAGE) & MML_PM_SWAP);
	h_expect(a, p, 8 * H_PAGE, 0x42);
	CHECK_EQ(h_poke(a, p, 1), 0);
	h_expect(a, p + H_PAGE, 7 * H_PAGE, 0x42);
	H_END(m);
}

TEST(ksm_max_page_sharing_chains)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *a;
	uint64_t p;

	REQUIRE(m);
	a = h_spawn(m);
	REQUIRE(a);
	CHECK_EQ(mml_sys_write(m, KSM "max_page_sharing", "2"), 0);
	p = h_map(a, 0, 6 * H_PAGE, H_RW, H_ANON);
	h_fill(a, p, 6 * H_PAGE, 0x77);
	CHECK_EQ(mml_madvise(a, p, 6 * H_PAGE, MADV_MERGEABLE), 0);
	for (int i = 0; i < 4; i++)
		ksm_settle(m);
	/* Two mappings per KSM page at most: three KSM pages, chained as dups. */
	CHECK_EQ(ksm_read(m, "pages_shared"), 3);
	CHECK_EQ(ksm_read(m, "pages_sharing"), 3);
	CHECK_EQ(ksm_read(m, "stable_node_chains"), 1);
	CHECK_EQ(ksm_read(m, "stable_node_dups"), 3);
	h_expect(a, p, 6 * H_PAGE, 0x77);
	H_END(m);
}

/*
 * A lap cut short: the last registered mm exits while the scan is in it,
 * so the next pass starts a new lap with the unstable tree emptied while
 * items of the old one still carry the unstable mark.  They must be
 * forgotten, never unlinked from the new tree (the seqnr of their lap).
 */
/*
 * Both trees with many contents: pages that differ only near their end
 * (memcmp reads deep), placed in a shuffled order, four copies of each
 * with max_page_sharing 2 (two KSM pages a content, chained).  Tagged
 * pages with the same bytes as an untagged content, or as each other,
 * merge with nothing, yet sort consistently (the checker validates both
 * trees after every scan).  Then some pages change and the trees follow.
 */
TEST(ksm_trees_many_contents_and_tagged_pages)
{
	enum { CONTENTS = 16, COPIES = 4, N = CONTENTS * COPIES, TAGGED = 4 };
	struct mml_machine *m = h_machine(0);
	struct mml_task *a;
	uint64_t p, tp;
	uint8_t content[N];

	REQUIRE(m);
	a = h_spawn(m);
	REQUIRE(a);
	CHECK_EQ(mml_sys_write(m, KSM "max_page_sharing", "2"), 0);
	p = h_map(a, 0, N * H_PAGE, H_RW, H_ANON);
	tp = h_map(a, 0, TAGGED * H_PAGE, H_RW | MML_PROT_MTE, H_ANON);
	REQUIRE(p && tp);
	h_fill(a, p, N * H_PAGE, 0x5a);
	h_fill(a, tp, TAGGED * H_PAGE, 0x5a);
	for (int i = 0; i < N; i++) {
		/* Contents in a scrambled order: 7 is prime to 16. */
		content[i] = (uint8_t)((i * 7) % CONTENTS);
		CHECK_EQ(h_poke(a, p + i * H_PAGE + H_PAGE - 1, content[i]), 0);
		CHECK_EQ(h_poke(a, p + i * H_PAGE + H_PAGE / 2, (uint8_t)(content[i] * 13)), 0);
	}
	/* Two tagged pages with content 0's bytes, two with bytes of their own. */
	for (int i = 0; i < TAGGED; i++) {
		uint8_t c = i < 2 ? 0 : 0xee;

		CHECK_EQ(h_poke(a, tp + i * H_PAGE + H_PAGE - 1, c), 0);
		CHECK_EQ(h_poke(a, tp + i * H_PAGE + H_PAGE / 2, (uint8_t)(c * 13)), 0);
		CHECK_EQ(mml_set_tag(a, tp + i * H_PAGE, 5), 0);
	}
	CHECK_EQ(mml_madvise(a, p, N * H_PAGE, MADV_MERGEABLE), 0);
	CHECK_EQ(mml_madvise(a, tp, TAGGED * H_PAGE, MADV_MERGEABLE), 0);
	for (int i = 0; i < 4; i++)
		ksm_settle(m);
	CHECK_EQ(ksm_read(m, "pages_shared"), N / 2);
	CHECK_EQ(ksm_read(m, "pages_sharing"), N / 2);
	CHECK_EQ(ksm_read(m, "stable_node_chains"), CONTENTS);
	CHECK_EQ(ksm_read(m, "stable_node_dups"), N / 2);
	CHECK_EQ(ksm_read(m, "pages_unshared"), TAGGED);
	for (int i = 0; i < TAGGED; i++) {
		CHECK(!kpf_ksm(m, pfn_at(a, tp + i * H_PAGE)));
		for (int j = 0; j < i; j++)
			CHECK_NE(pfn_at(a, tp + i * H_PAGE), pfn_at(a, tp + j * H_PAGE));
	}
	for (int i = 0; i < N; i++) {
		uint8_t v = 0;

		CHECK(kpf_ksm(m, pfn_at(a, p + i * H_PAGE)));
		CHECK(h_peek(a, p + i * H_PAGE + H_PAGE - 1, &v) == 0 && v == content[i]);
	}
	/* Half the pages of half the contents change to a content of their own: COW, then merged anew. */
	for (int i = 0; i < N; i += 2)
		if (content[i] < CONTENTS / 2)
			CHECK_EQ(h_poke(a, p + i * H_PAGE + H_PAGE - 1, 0x80), 0);
	for (int i = 0; i < 4; i++)
		ksm_settle(m);
	CHECK_EQ(ksm_read(m, "pages_shared") + ksm_read(m, "pages_sharing") + ksm_read(m, "pages_unshared"),
		 N + TAGGED);
	CHECK_EQ(ksm_read(m, "pages_unshared"), TAGGED);
	for (int i = 0; i < N; i++) {
		uint8_t v = 0;

		CHECK(h_peek(a, p + i * H_PAGE + H_PAGE - 1, &v) == 0 &&
		      v == (i % 2 == 0 && content[i] < CONTENTS / 2 ? 0x80 : content[i]));
	}
	H_END(m);
}

TEST(ksm_lap_cut_short_by_exit)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *a, *b;
	uint8_t buf[4096];
	uint64_t pa, pb;

	REQUIRE(m);
	a = h_spawn(m);
	b = h_spawn(m);
	REQUIRE(a && b);
	pa = h_map(a, 0, 8 * H_PAGE, H_RW, H_ANON);
	pb = h_map(b, 0, 8 * H_PAGE, H_RW, H_ANON);
	for (int i = 0; i < 8; i++) {
		memset(buf, 0x40 + i, sizeof(buf));	/* all different: they stay unstable */
		CHECK_EQ(mml_write(a, pa + i * H_PAGE, buf, H_PAGE), 0);
		memset(buf, 0x80 + i, sizeof(buf));
		CHECK_EQ(mml_write(b, pb + i * H_PAGE, buf, H_PAGE), 0);
	}
	CHECK_EQ(mml_madvise(a, pa, 8 * H_PAGE, MADV_MERGEABLE), 0);
	CHECK_EQ(mml_madvise(b, pb, 8 * H_PAGE, MADV_MERGEABLE), 0);
	ksm_settle(m);				/* every page in the unstable tree of its lap */
	CHECK_EQ(mml_ksm_scan(m, 12), 12);	/* a new lap: A's 8, then 4 of B's */
	CHECK_EQ(ksm_read(m, "pages_unshared"), 16);	/* B's other 4 still marked from the lap before */
	CHECK_EQ(mml_exit(b), 0);		/* the cursor was in B, the last slot */
	for (int i = 0; i < 4; i++) {
		memset(buf, 0x80 + i, sizeof(buf));	/* A's pages now match what B had */
		CHECK_EQ(mml_write(a, pa + i * H_PAGE, buf, H_PAGE), 0);
	}
	ksm_settle(m);
	ksm_settle(m);
	CHECK_EQ(ksm_read(m, "pages_shared"), 0);
	CHECK_EQ(ksm_read(m, "pages_unshared"), 8);
	CHECK_EQ(mml_ksm_stat(a, "ksm_rmap_items"), 8);
	H_END(m);
}

/*
 * Migration moves a KSM page whole: every mapping (found by
 * rmap_walk_ksm) becomes a migration entry, the stable node follows the
 * bytes to the new frame (folio_migrate_ksm), and the mappings come back
 * to it, still one KSM page.
 */
TEST(ksm_page_migrates_with_its_stable_node)
{
	struct mml_config cfg = { .ram_bytes = 16 << 20, .flags = MML_CHECK_EVERY_OP, .nr_nodes = 2 };
	struct mml_machine *m = mml_machine_new(&cfg);
	struct mml_task *a, *b;
	uint64_t pa, pb, old;
	int node = 1, status = -1;

	REQUIRE(m);
	a = h_spawn(m);
	b = h_spawn(m);
	REQUIRE(a && b);
	pa = h_map(a, 0, 2 * H_PAGE, H_RW, H_ANON);
	pb = h_map(b, 0, 2 * H_PAGE, H_RW, H_ANON);
	h_fill(a, pa, 2 * H_PAGE, 0x3c);
	h_fill(b, pb, 2 * H_PAGE, 0x3c);
	CHECK_EQ(mml_madvise(a, pa, 2 * H_PAGE, MADV_MERGEABLE), 0);
	CHECK_EQ(mml_madvise(b, pb, 2 * H_PAGE, MADV_MERGEABLE), 0);
	ksm_settle(m);
	old = pfn_at(a, pa);
	CHECK_EQ(pfn_at(b, pb + H_PAGE), old);
	/* Shared by two processes: only MPOL_MF_MOVE_ALL moves it. */
	CHECK_EQ(mml_move_pages(a, 1, &pa, &node, &status, 0), 0);
	CHECK_EQ(status, -EACCES);
	CHECK_EQ(mml_move_pages(a, 1, &pa, &node, &status, MPOL_MF_MOVE_ALL), 0);
	CHECK_EQ(status, 1);
	CHECK_NE(pfn_at(a, pa), old);
	CHECK_EQ(pfn_at(a, pa), pfn_at(b, pb));
	CHECK_EQ(pfn_at(a, pa), pfn_at(a, pa + H_PAGE));
	CHECK(kpf_ksm(m, pfn_at(a, pa)));
	CHECK_EQ(ksm_read(m, "pages_shared"), 1);
	h_expect(b, pb, 2 * H_PAGE, 0x3c);
	/* The node found its new frame: a rescan keeps everything merged, a write still copies. */
	ksm_settle(m);
	CHECK_EQ(ksm_read(m, "pages_shared"), 1);
	CHECK_EQ(ksm_read(m, "pages_sharing"), 3);
	CHECK_EQ(h_poke(b, pb, 9), 0);
	h_expect(a, pa, 2 * H_PAGE, 0x3c);
	H_END(m);
}

/*
 * Seed 002's case: a device with a writable translation of a page that
 * KSM merges.  write_protect_page and replace_page invalidate it, so its
 * next write faults and copies, like the CPU's; the merged page keeps its
 * bytes.  bug: the device writes into the KSM page (or the freed old one),
 * which the device's own check against the pte reports.
 */
static void device_write_after_merge(bool bug)
{
	struct mml_machine *m = h_machine_flags(0, bug ? MML_QUIET : 0);
	struct mml_task *a, *b;
	struct mml_device *d;
	unsigned char buf[64];
	uint64_t pa, pb;

	REQUIRE(m);
	a = h_spawn(m);
	b = h_spawn(m);
	REQUIRE(a && b);
	pa = h_map(a, 0, H_PAGE, H_RW, H_ANON);
	pb = h_map(b, 0, H_PAGE, H_RW, H_ANON);
	h_fill(a, pa, H_PAGE, 0x5a);
	h_fill(b, pb, H_PAGE, 0x5a);
	d = h_device(b, 0);
	REQUIRE(d);
	memset(buf, 0x5a, sizeof(buf));
	CHECK_EQ(mml_device_write(d, pb, buf, sizeof(buf)), 0);	/* a writable translation */
	CHECK_EQ(mml_madvise(a, pa, H_PAGE, MADV_MERGEABLE), 0);
	CHECK_EQ(mml_madvise(b, pb, H_PAGE, MADV_MERGEABLE), 0);
	ksm_settle(m);
	memset(buf, 0x11, sizeof(buf));
	CHECK_EQ(mml_device_write(d, pb, buf, sizeof(buf)), 0);
	if (!bug) {
		CHECK_NE(pfn_at(a, pa), pfn_at(b, pb));	/* b's write copied */
		CHECK_EQ(mml_report_count(m), 0);
		h_expect(a, pa, H_PAGE, 0x5a);
		h_expect(b, pb, 64, 0x11);
		h_expect(b, pb + 64, H_PAGE - 64, 0x5a);
		mml_device_free(d);
		H_END(m);
		return;
	}
	/*
	 * The device wrote through a translation of the page KSM made shared
	 * and read-only: dmirror reports every access that a pte no longer
	 * backs (and keeps such a write from landing).
	 */
	CHECK(mml_report_count(m) > 0);
	mml_device_free(d);
	h_forget_machine(m);
	mml_machine_free(m);
}

TEST(ksm_device_sees_the_merge) { device_write_after_merge(false); }

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
