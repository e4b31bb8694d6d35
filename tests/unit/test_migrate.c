/*
 * test_migrate.c - page migration on a machine of two nodes: move_pages,
 * mbind, set_mempolicy/get_mempolicy, and compaction, each checked for
 * what a moved page must keep (its bytes, tags, dirtiness, exclusivity,
 * cache slot) and what must stop it (a pin, sharing without MOVE_ALL).
 *
 * Linux sources read (6.18):
 *  - mm/migrate.c: do_pages_move() batches pages bound for one node and
 *    flushes a batch when a page is not queued (its status is stored);
 *    move_pages_and_store_status() returns the folios migrate_pages()
 *    could not move plus the pages not yet tried, writing no status for
 *    that batch; add_folio_for_migration() says 0 (already there),
 *    -EACCES (folio_maybe_mapped_shared without MPOL_MF_MOVE_ALL),
 *    -EBUSY (cannot isolate: already queued, e.g. another page of a THP
 *    in the batch).  migrate_pages_batch() retries -EAGAIN up to
 *    NR_MAX_MIGRATE_PAGES_RETRY passes, then counts pgmigrate_fail per
 *    page; pgmigrate_success per page moved.
 *  - mm/rmap.c try_to_migrate_one(): pte dirty -> folio_mark_dirty, and an
 *    exclusive page that may be pinned cannot be unshared, so a pinned
 *    page is never unmapped and stays where it is; the entry is writable,
 *    readable-exclusive or readable, and remove_migration_pte() gives
 *    RMAP_EXCLUSIVE back for the first two.
 *  - mm/migrate.c __folio_migrate_mapping(): the swap cache / page cache
 *    slot moves to the new folio; folio_migrate_flags() copies dirty
 *    (seed 003: a lazily freed folio written since must arrive dirty).
 *  - arch/arm64 copy_highpage(): MTE tags travel with the copy.
 *  - mm/mempolicy.c: interleave by ilx = vm_pgoff + page index in the VMA
 *    (get_vma_policy), NUMA_INTERLEAVE_HIT when the page lands on the
 *    chosen node (alloc_pages_mpol); do_get_mempolicy() with
 *    MPOL_F_NODE|MPOL_F_ADDR gives the node of the page at addr.
 *  - mm/page_alloc.c zone_statistics(): numa_hit/miss by the preferred
 *    node, numa_local/other by the running CPU's node (node 0 here).
 *  - mm/compaction.c sysctl_compaction_handler(): compact_memory is
 *    write-only (0200) and takes only "1" (6.6+).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "mm/internal.h"

#define BASE	0x100000000ULL		/* 2 MiB aligned: a THP fits at BASE */
#define HUGE	(2ULL << 20)
#define NPAGES	4
#define NODE	"/sys/devices/system/node/"

/*
 * A machine of two nodes, checked after every operation.  The harness does
 * not track it (h_machine has no nr_nodes), so every test ends with H_END.
 */
static struct mml_machine *numa_machine(uint64_t ram)
{
	struct mml_config cfg = { .ram_bytes = ram, .seed = 1, .flags = MML_CHECK_EVERY_OP, .nr_nodes = 2 };
	struct mml_machine *m = mml_machine_new(&cfg);

	if (!m)
		FAIL("mml_machine_new(%llu bytes, 2 nodes) returned NULL", (unsigned long long)ram);
	return m;
}

/* The byte page i of a test region is filled with. */
static int pat(int i)
{
	return (0x11 + i * 13) & 0xff;
}

/* Fill pages [0, n) of addr with their pattern (xor x, so a rewrite is different). */
static void fill_pages(struct mml_task *t, uint64_t addr, int n, int x)
{
	for (int i = 0; i < n; i++)
		h_fill(t, addr + i * H_PAGE, H_PAGE, pat(i) ^ x);
}

static bool expect_pages(struct mml_task *t, uint64_t addr, int n, int x)
{
	for (int i = 0; i < n; i++)
		if (!h_expect(t, addr + i * H_PAGE, H_PAGE, pat(i) ^ x))
			return false;
	return true;
}

/* move_pages without nodes: the node of the page at addr, or its -errno status. */
static int node_of(struct mml_task *t, uint64_t addr)
{
	uint64_t page = addr;
	int status = -999;

	CHECK_EQ(mml_move_pages(t, 1, &page, NULL, &status, 0), 0);
	return status;
}

/* move_pages of n consecutive pages at addr, all to node; status gets their statuses. */
static long move_range(struct mml_task *t, uint64_t addr, int n, int node, int *status, int flags)
{
	uint64_t *pages = calloc(n, sizeof(*pages));
	int *nodes = calloc(n, sizeof(*nodes));
	long ret;

	if (!pages || !nodes) {
		free(pages);
		free(nodes);
		FAIL("out of host memory");
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		pages[i] = addr + i * H_PAGE;
		nodes[i] = node;
	}
	ret = mml_move_pages(t, n, pages, nodes, status, flags);
	free(pages);
	free(nodes);
	return ret;
}

static uint64_t kpf(struct mml_machine *m, uint64_t pfn)
{
	uint64_t flags = 0;

	CHECK_EQ(mml_kpageflags(m, pfn, &flags), 0);
	return flags;
}

/* ---- move_pages ----------------------------------------------------------------------------- */

/* Four written anon pages go to node 1 with their bytes; the counters say so. */
TEST(move_pages_moves_anon_pages_and_counts)
{
	struct mml_machine *m = numa_machine(8 << 20);
	struct mml_task *t = m ? h_spawn(m) : NULL;
	int status[NPAGES];
	long success, fail, hit, miss, local, other, node1_hit;
	unsigned long v[6];
	char buf[512];
	uint64_t addr, pfn[NPAGES];

	REQUIRE(t);
	addr = h_map(t, BASE, NPAGES * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(addr);
	fill_pages(t, addr, NPAGES, 0);
	for (int i = 0; i < NPAGES; i++) {
		CHECK_EQ(node_of(t, addr + i * H_PAGE), 0);	/* the CPU's node, by default */
		pfn[i] = H_PFN(h_pagemap(t, addr + i * H_PAGE));
	}
	success = mml_vmstat(m, "pgmigrate_success");
	fail = mml_vmstat(m, "pgmigrate_fail");
	hit = mml_vmstat(m, "numa_hit");
	miss = mml_vmstat(m, "numa_miss");
	local = mml_vmstat(m, "numa_local");
	other = mml_vmstat(m, "numa_other");
	REQUIRE(mml_sys_read(m, NODE "node1/numastat", buf, sizeof(buf)) > 0);
	REQUIRE(sscanf(buf, "numa_hit %lu", &v[0]) == 1);
	node1_hit = (long)v[0];

	CHECK_EQ(move_range(t, addr, NPAGES, 1, status, 0), 0);
	for (int i = 0; i < NPAGES; i++) {
		CHECK_EQ(status[i], 1);
		CHECK_EQ(node_of(t, addr + i * H_PAGE), 1);
		CHECK_NE(H_PFN(h_pagemap(t, addr + i * H_PAGE)), pfn[i]);	/* a new frame */
	}
	CHECK(expect_pages(t, addr, NPAGES, 0));
	CHECK_EQ(mml_vmstat(m, "pgmigrate_success") - success, NPAGES);
	CHECK_EQ(mml_vmstat(m, "pgmigrate_fail") - fail, 0);
	/*
	 * alloc_migration_target asks node 1 with __GFP_THISNODE: hits there,
	 * no misses; the CPU is on node 0, so the pages count as other_node.
	 */
	CHECK_EQ(mml_vmstat(m, "numa_hit") - hit, NPAGES);
	CHECK_EQ(mml_vmstat(m, "numa_miss") - miss, 0);
	CHECK_EQ(mml_vmstat(m, "numa_local") - local, 0);
	CHECK_EQ(mml_vmstat(m, "numa_other") - other, NPAGES);
	REQUIRE(mml_sys_read(m, NODE "node1/numastat", buf, sizeof(buf)) > 0);
	REQUIRE(sscanf(buf, "numa_hit %lu\nnuma_miss %lu\nnuma_foreign %lu\ninterleave_hit %lu\n"
			"local_node %lu\nother_node %lu\n", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) == 6);
	CHECK_EQ((long)v[0] - node1_hit, NPAGES);
	CHECK_EQ(v[1], 0);
	CHECK_EQ(v[4], 0);		/* nothing was ever allocated there by a node-1 CPU */
	CHECK(v[5] >= NPAGES);

	/* Moving them again to where they are moves nothing and says where they are. */
	success = mml_vmstat(m, "pgmigrate_success");
	CHECK_EQ(move_range(t, addr, NPAGES, 1, status, 0), 0);
	for (int i = 0; i < NPAGES; i++)
		CHECK_EQ(status[i], 1);
	CHECK_EQ(mml_vmstat(m, "pgmigrate_success") - success, 0);
	H_END(m);
}

/*
 * A long-term pin keeps its page: try_to_migrate() cannot unshare a
 * maybe-pinned exclusive page, so it stays mapped and -EAGAIN is retried
 * until migrate_pages gives up and counts it failed.  The others move.
 */
TEST(move_pages_leaves_a_pinned_page_in_place)
{
	struct mml_machine *m = numa_machine(8 << 20);
	struct mml_task *t = m ? h_spawn(m) : NULL;
	struct mml_pin *pin = NULL;
	int status[NPAGES];
	long success, fail;
	uint64_t addr, pfn;
	uint8_t byte = 0;
	char buf[64];

	REQUIRE(t);
	addr = h_map(t, BASE, NPAGES * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(addr);
	fill_pages(t, addr, NPAGES, 0);
	REQUIRE_EQ(mml_pin_user_pages(t, addr + 2 * H_PAGE, 1, MML_FOLL_WRITE | MML_FOLL_LONGTERM, &pin), 1);
	pfn = H_PFN(h_pagemap(t, addr + 2 * H_PAGE));
	CHECK_EQ(mml_pin_pfn(pin, 0), pfn);
	success = mml_vmstat(m, "pgmigrate_success");
	fail = mml_vmstat(m, "pgmigrate_fail");
	for (int i = 0; i < NPAGES; i++)
		status[i] = 77;

	/*
	 * One batch of four, one folio failed: migrate_pages() returns 1 and
	 * move_pages_and_store_status() returns it with no status stored.
	 */
	CHECK_EQ(move_range(t, addr, NPAGES, 1, status, 0), 1);
	for (int i = 0; i < NPAGES; i++)
		CHECKF(status[i] == 77, "status[%d] = %d: a failed batch stores no status", i, status[i]);
	for (int i = 0; i < NPAGES; i++)
		CHECK_EQ(node_of(t, addr + i * H_PAGE), i == 2 ? 0 : 1);
	CHECK_EQ(mml_vmstat(m, "pgmigrate_success") - success, NPAGES - 1);
	CHECK_EQ(mml_vmstat(m, "pgmigrate_fail") - fail, 1);
	CHECK(expect_pages(t, addr, NPAGES, 0));

	/* The pin and the mapping still share one frame: writes cross both ways. */
	CHECK_EQ(H_PFN(h_pagemap(t, addr + 2 * H_PAGE)), pfn);
	CHECK(h_fill(t, addr + 2 * H_PAGE, 64, 0xc3));
	REQUIRE_EQ(mml_dma_read(pin, 0, buf, sizeof(buf)), 0);
	for (unsigned i = 0; i < sizeof(buf); i++)
		if (!CHECKF((uint8_t)buf[i] == 0xc3, "pin byte %u: %#x", i, (uint8_t)buf[i]))
			break;
	memset(buf, 0x3c, sizeof(buf));
	CHECK_EQ(mml_dma_write(pin, 100, buf, sizeof(buf)), 0);
	CHECK_EQ(h_peek(t, addr + 2 * H_PAGE + 100, &byte), 0);
	CHECK_EQ(byte, 0x3c);

	/* Unpinned, it moves like the rest, with what both sides wrote. */
	mml_unpin(pin);
	CHECK_EQ(move_range(t, addr + 2 * H_PAGE, 1, 1, status, 0), 0);
	CHECK_EQ(status[0], 1);
	CHECK_EQ(node_of(t, addr + 2 * H_PAGE), 1);
	CHECK(h_expect(t, addr + 2 * H_PAGE, 64, 0xc3));
	CHECK(h_expect(t, addr + 2 * H_PAGE + 100, sizeof(buf), 0x3c));
	CHECK(h_expect(t, addr + 2 * H_PAGE + 164, H_PAGE - 164, pat(2)));
	H_END(m);
}

/*
 * PG_anon_exclusive survives a move (the migration entry remembers it:
 * writable, or readable-exclusive for a read-only pte).  Were it lost, a
 * R/O pin would have to unshare (a copy: a new frame), and a later write
 * would copy as well.
 */
TEST(move_pages_keeps_anon_exclusive)
{
	struct mml_machine *m = numa_machine(8 << 20);
	struct mml_task *t = m ? h_spawn(m) : NULL;
	struct mml_pin *pin = NULL;
	int status[2];
	uint64_t addr, pfn[2];
	char buf[16];

	REQUIRE(t);
	addr = h_map(t, BASE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(addr);
	fill_pages(t, addr, 2, 0);
	/* Page 1 read-only at the move: a readable-exclusive entry, not a writable one. */
	REQUIRE_EQ(mml_mprotect(t, addr + H_PAGE, H_PAGE, PROT_READ), 0);
	CHECK_EQ(move_range(t, addr, 2, 1, status, 0), 0);
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(status[i], 1);
		pfn[i] = H_PFN(h_pagemap(t, addr + i * H_PAGE));
		CHECKF(kpf(m, pfn[i]) & (1ULL << MML_KPF_OWNER_2), "page %d lost PG_anon_exclusive in the move", i);
	}

	/* A read-only long-term pin of an exclusive page needs no unshare. */
	REQUIRE_EQ(mml_pin_user_pages(t, addr, 2, MML_FOLL_LONGTERM, &pin), 2);
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(mml_pin_pfn(pin, i), pfn[i]);
		CHECK_EQ(H_PFN(h_pagemap(t, addr + i * H_PAGE)), pfn[i]);
	}

	/* Writes through the mapping reuse the frame, and the pin sees them. */
	CHECK_EQ(mml_mprotect(t, addr + H_PAGE, H_PAGE, H_RW), 0);
	fill_pages(t, addr, 2, 0xff);
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(H_PFN(h_pagemap(t, addr + i * H_PAGE)), pfn[i]);
		CHECK_EQ(node_of(t, addr + i * H_PAGE), 1);
		CHECK_EQ(mml_dma_read(pin, i * H_PAGE + 40, buf, sizeof(buf)), 0);
		CHECKF((uint8_t)buf[0] == (pat(i) ^ 0xff) && (uint8_t)buf[15] == (pat(i) ^ 0xff),
		       "page %d: the pin reads %#x, the mapping wrote %#x", i, (uint8_t)buf[0], pat(i) ^ 0xff);
	}
	mml_unpin(pin);
	H_END(m);
}

/* MTE tags move with the bytes (copy_highpage), and the new page is PG_mte_tagged. */
TEST(move_pages_keeps_mte_tags)
{
	struct mml_machine *m = numa_machine(8 << 20);
	struct mml_task *t = m ? h_spawn(m) : NULL;
	int status[2];
	uint64_t addr, pfn[2];

	REQUIRE(t);
	addr = h_map(t, BASE, 2 * H_PAGE, H_RW | MML_PROT_MTE, H_ANON | MAP_FIXED);
	REQUIRE(addr);
	fill_pages(t, addr, 2, 0);
	for (int i = 0; i < 2; i++) {
		for (unsigned g = 0; g < H_PAGE / 16; g++)
			REQUIRE_EQ(mml_set_tag(t, addr + i * H_PAGE + g * 16, (i * 5 + g) % 16), 0);
		pfn[i] = H_PFN(h_pagemap(t, addr + i * H_PAGE));
	}
	CHECK_EQ(move_range(t, addr, 2, 1, status, 0), 0);
	for (int i = 0; i < 2; i++) {
		uint64_t now = H_PFN(h_pagemap(t, addr + i * H_PAGE));

		CHECK_EQ(status[i], 1);
		CHECK_EQ(node_of(t, addr + i * H_PAGE), 1);
		CHECK_NE(now, pfn[i]);
		CHECKF(kpf(m, now) & (1ULL << MML_KPF_ARCH_2), "page %d: the new frame is not PG_mte_tagged", i);
		for (unsigned g = 0; g < H_PAGE / 16; g++) {
			unsigned tag = 99;

			CHECK_EQ(mml_get_tag(t, addr + i * H_PAGE + g * 16 + (g % 16), &tag), 0);
			if (!CHECKF(tag == (i * 5 + g) % 16, "page %d granule %u: tag %u, expected %u", i, g, tag,
				    (i * 5 + g) % 16))
				break;
		}
	}
	CHECK(expect_pages(t, addr, 2, 0));
	H_END(m);
}

/*
 * Seed 003: a lazily freed page written since MADV_FREE is dirty (the pte
 * said so, try_to_migrate_one moved it to the folio); the move must keep
 * it dirty, or reclaim takes the written page for a clean lazy one and
 * discards it.  No swap: reclaim scans the lazyfree (file) lists only.
 */
TEST(move_pages_keeps_a_lazyfree_page_written_since_dirty)
{
	struct mml_machine *m = numa_machine(8 << 20);
	struct mml_task *t = m ? h_spawn(m) : NULL;
	int status[2];
	uint64_t addr;
	uint8_t byte;

	REQUIRE(t);
	addr = h_map(t, BASE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(addr);
	fill_pages(t, addr, 2, 0);
	REQUIRE_EQ(mml_madvise(t, addr, 2 * H_PAGE, MADV_FREE), 0);
	h_fill(t, addr, H_PAGE, 0xa5);		/* page 0 written after MADV_FREE: never discarded */
	CHECK_EQ(move_range(t, addr, 2, 1, status, 0), 0);
	CHECK_EQ(status[0], 1);
	CHECK_EQ(status[1], 1);
	CHECK_EQ(node_of(t, addr), 1);
	CHECK(h_expect(t, addr, H_PAGE, 0xa5));
	CHECK(mml_reclaim(m, 1 << 20) >= 0);
	CHECK(h_expect(t, addr, H_PAGE, 0xa5));
	/* Page 1, lazily freed and untouched, may read back zero or old: no assertion. */
	CHECK_EQ(h_peek(t, addr + H_PAGE, &byte), 0);
	H_END(m);
}

/*
 * A page read back from swap is still in the swap cache (a read fault
 * keeps the slot); the move hands the slot to the new folio, and swapoff
 * later finds that folio and keeps its bytes.
 */
TEST(move_pages_moves_a_swap_cache_page)
{
	struct mml_machine *m = numa_machine(8 << 20);
	struct mml_task *t = m ? h_spawn(m) : NULL;
	int status[1], id;
	uint64_t addr, pfn, now;

	REQUIRE(t);
	id = mml_swapon(m, NULL, 1 << 20, -1);
	REQUIRE(id >= 0);
	addr = h_map(t, BASE, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(addr);
	fill_pages(t, addr, 1, 0);
	REQUIRE_EQ(mml_madvise(t, addr, H_PAGE, MADV_PAGEOUT), 0);
	CHECK(h_pagemap(t, addr) & MML_PM_SWAP);
	CHECK(expect_pages(t, addr, 1, 0));	/* swapped in by a read */
	pfn = H_PFN(h_pagemap(t, addr));
	CHECKF(kpf(m, pfn) & (1ULL << MML_KPF_SWAPCACHE), "a read fault dropped the swap cache");

	CHECK_EQ(move_range(t, addr, 1, 1, status, 0), 0);
	CHECK_EQ(status[0], 1);
	CHECK_EQ(node_of(t, addr), 1);
	now = H_PFN(h_pagemap(t, addr));
	CHECK_NE(now, pfn);
	CHECKF(kpf(m, now) & (1ULL << MML_KPF_SWAPCACHE), "the new folio did not take the swap cache slot");
	CHECK(expect_pages(t, addr, 1, 0));

	/* Written after the move, then swapoff: the written bytes stay. */
	h_fill(t, addr, 100, 0x5e);
	CHECK_EQ(mml_swapoff(m, id), 0);
	CHECK(h_expect(t, addr, 100, 0x5e));
	CHECK(h_expect(t, addr + 100, H_PAGE - 100, pat(0)));
	CHECK_EQ(node_of(t, addr), 1);
	now = H_PFN(h_pagemap(t, addr));
	CHECKF(!(kpf(m, now) & (1ULL << MML_KPF_SWAPCACHE)), "still in the swap cache after swapoff");
	H_END(m);
}

/*
 * A tmpfs page moves in the page cache: a second mapping and pread find
 * the new folio.  Mapped twice it is shared: -EACCES without MOVE_ALL.
 */
TEST(move_pages_moves_a_shmem_page)
{
	struct mml_machine *m = numa_machine(8 << 20);
	struct mml_task *t = m ? h_spawn(m) : NULL;
	int status[NPAGES], fd;
	uint8_t buf[H_PAGE];
	long a, b;

	REQUIRE(t);
	fd = mml_open(t, "/dev/shm/x", O_RDWR | O_CREAT, 0600);
	REQUIRE(fd >= 0);
	REQUIRE_EQ(mml_ftruncate(t, fd, NPAGES * H_PAGE), 0);
	a = mml_mmap(t, 0, NPAGES * H_PAGE, H_RW, MAP_SHARED, fd, 0);
	REQUIRE(a > 0);
	fill_pages(t, a, NPAGES, 0);
	CHECK_EQ(node_of(t, a), 0);
	CHECK_EQ(move_range(t, a, NPAGES, 1, status, 0), 0);
	for (int i = 0; i < NPAGES; i++) {
		CHECK_EQ(status[i], 1);
		CHECK_EQ(node_of(t, a + i * H_PAGE), 1);
	}
	CHECK(expect_pages(t, a, NPAGES, 0));

	b = mml_mmap(t, 0, NPAGES * H_PAGE, PROT_READ, MAP_SHARED, fd, 0);
	REQUIRE(b > 0);
	CHECK(expect_pages(t, b, NPAGES, 0));
	for (int i = 0; i < NPAGES; i++) {
		CHECK_EQ(node_of(t, b + i * H_PAGE), 1);
		CHECK_EQ(H_PFN(h_pagemap(t, b + i * H_PAGE)), H_PFN(h_pagemap(t, a + i * H_PAGE)));
		CHECK_EQ(mml_pread(t, fd, buf, H_PAGE, i * H_PAGE), H_PAGE);
		for (unsigned j = 0; j < H_PAGE; j++)
			if (!CHECKF(buf[j] == pat(i), "pread page %d byte %u: %#x", i, j, buf[j]))
				break;
	}

	/* Now mapped by a and b: folio_maybe_mapped_shared. */
	CHECK_EQ(move_range(t, a, 1, 0, status, 0), 0);
	CHECK_EQ(status[0], -EACCES);
	CHECK_EQ(node_of(t, a), 1);
	CHECK_EQ(move_range(t, a, 1, 0, status, MPOL_MF_MOVE_ALL), 0);
	CHECK_EQ(status[0], 0);
	CHECK_EQ(node_of(t, a), 0);
	CHECK_EQ(node_of(t, b), 0);
	h_fill(t, a, 8, 0x77);			/* one page through both mappings still */
	CHECK(h_expect(t, b, 8, 0x77));
	CHECK(h_expect(t, b + 8, H_PAGE - 8, pat(0)));
	CHECK_EQ(mml_munmap(t, a, NPAGES * H_PAGE), 0);
	CHECK_EQ(mml_munmap(t, b, NPAGES * H_PAGE), 0);
	CHECK_EQ(mml_close(t, fd), 0);
	CHECK_EQ(mml_unlink(t, "/dev/shm/x"), 0);
	H_END(m);
}

/*
 * A THP moves: Linux moves it whole (thp_migration_success); mmlab splits
 * it first (thp_migration_split, docs/deviations.md) and moves the 512
 * pieces.  Page 1's status is -EBUSY either way: its folio (the THP) is
 * already isolated for page 0, and the batch is flushed there, after which
 * every later page is found on node 1.
 */
TEST(move_pages_moves_a_thp)
{
	struct mml_machine *m = numa_machine(16 << 20);
	struct mml_task *t = m ? h_spawn(m) : NULL;
	int npages = (int)(HUGE / H_PAGE), *status = calloc(npages, sizeof(int));
	long split, success;
	uint64_t addr;

	if (!status)
		FAIL("out of host memory");
	if (!t || !status)
		goto out;
	if (!CHECK_EQ(mml_sys_write(m, "/sys/kernel/mm/transparent_hugepage/enabled", "always"), 0))
		goto out;
	addr = h_map(t, BASE, HUGE, H_RW, H_ANON | MAP_FIXED);
	if (!addr || !CHECK_EQ(mml_madvise(t, addr, HUGE, MADV_HUGEPAGE), 0))
		goto out;
	fill_pages(t, addr, npages, 0);
	if (!CHECK_EQ(mml_meminfo(m, "AnonHugePages"), 2048))
		goto out;
	CHECK(kpf(m, H_PFN(h_pagemap(t, addr))) & (1ULL << MML_KPF_THP));
	split = mml_vmstat(m, "thp_migration_split") + mml_vmstat(m, "thp_migration_success");
	success = mml_vmstat(m, "pgmigrate_success");

	CHECK_EQ(move_range(t, addr, npages, 1, status, 0), 0);
	CHECK_EQ(status[0], 1);
	CHECK_EQ(status[1], -EBUSY);
	for (int i = 2; i < npages; i++)
		if (!CHECKF(status[i] == 1, "status[%d] = %d", i, status[i]))
			break;
	for (int i = 0; i < npages; i++)
		if (!CHECKF(node_of(t, addr + i * H_PAGE) == 1, "page %d not on node 1", i))
			break;
	CHECK(expect_pages(t, addr, npages, 0));
	CHECK_EQ(mml_vmstat(m, "thp_migration_split") + mml_vmstat(m, "thp_migration_success") - split, 1);
	CHECK(mml_vmstat(m, "thp_migration_split") >= 1);	/* the deviation */
	CHECK(mml_vmstat(m, "pgmigrate_success") - success >= 1);
out:
	free(status);
	H_END(m);
}

/*
 * A page COW-shared by parent and child: -EACCES without MPOL_MF_MOVE_ALL;
 * with it the page moves under both, still shared, still COW.
 */
TEST(move_pages_of_a_cow_shared_page_needs_move_all)
{
	struct mml_machine *m = numa_machine(8 << 20);
	struct mml_task *t = m ? h_spawn(m) : NULL, *child;
	int status[1];
	uint64_t addr, pfn;

	REQUIRE(t);
	addr = h_map(t, BASE, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(addr);
	fill_pages(t, addr, 1, 0);
	child = h_fork(t);
	REQUIRE(child);
	pfn = H_PFN(h_pagemap(t, addr));
	CHECK_EQ(H_PFN(h_pagemap(child, addr)), pfn);

	status[0] = 77;
	CHECK_EQ(move_range(t, addr, 1, 1, status, 0), 0);	/* a status, not a failed call */
	CHECK_EQ(status[0], -EACCES);
	CHECK_EQ(node_of(t, addr), 0);
	CHECK_EQ(H_PFN(h_pagemap(t, addr)), pfn);

	CHECK_EQ(move_range(t, addr, 1, 1, status, MPOL_MF_MOVE_ALL), 0);
	CHECK_EQ(status[0], 1);
	CHECK_EQ(node_of(t, addr), 1);
	CHECK_EQ(node_of(child, addr), 1);
	CHECK_NE(H_PFN(h_pagemap(t, addr)), pfn);
	CHECK_EQ(H_PFN(h_pagemap(child, addr)), H_PFN(h_pagemap(t, addr)));	/* still one page */
	CHECK(expect_pages(t, addr, 1, 0));
	CHECK(expect_pages(child, addr, 1, 0));

	/* Still copy-on-write: the child's write is its own. */
	h_fill(child, addr, H_PAGE, 0xee);
	CHECK(h_expect(child, addr, H_PAGE, 0xee));
	CHECK(expect_pages(t, addr, 1, 0));
	CHECK_NE(H_PFN(h_pagemap(child, addr)), H_PFN(h_pagemap(t, addr)));
	h_fill(t, addr, H_PAGE, 0xdd);
	CHECK(h_expect(t, addr, H_PAGE, 0xdd));
	CHECK(h_expect(child, addr, H_PAGE, 0xee));
	H_END(m);
}

/* ---- policies ------------------------------------------------------------------------------- */

/*
 * mbind(MPOL_INTERLEAVE, 0-1): page i of the VMA goes to node
 * (vm_pgoff + i) % 2.  An anon VMA's vm_pgoff is its start >> PAGE_SHIFT,
 * so a VMA at an odd page starts on node 1 (the index, not the fault order).
 */
TEST(mbind_interleave_places_pages_by_page_offset)
{
	struct mml_machine *m = numa_machine(8 << 20);
	struct mml_task *t = m ? h_spawn(m) : NULL;
	unsigned long both = 3;
	uint64_t addr, pgoff;
	long il;
	int order[8] = { 5, 2, 7, 0, 3, 6, 1, 4 };

	REQUIRE(t);
	addr = h_map(t, BASE + H_PAGE, 8 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(addr);
	pgoff = addr / H_PAGE;
	CHECK_EQ(mml_mbind(t, addr, 8 * H_PAGE, MPOL_INTERLEAVE, &both, 3, 0), 0);
	il = mml_vmstat(m, "numa_interleave");
	for (int k = 0; k < 8; k++)		/* touched out of order */
		h_fill(t, addr + order[k] * H_PAGE, H_PAGE, pat(order[k]));
	for (int i = 0; i < 8; i++)
		CHECKF(node_of(t, addr + i * H_PAGE) == (int)((pgoff + i) % 2), "page %d on node %d, expected %d", i,
		       node_of(t, addr + i * H_PAGE), (int)((pgoff + i) % 2));
	CHECK(expect_pages(t, addr, 8, 0));
	CHECK_EQ(mml_vmstat(m, "numa_interleave") - il, 8);
	H_END(m);
}

/* set_mempolicy(MPOL_BIND, {1}): new pages on node 1; get_mempolicy says so. */
TEST(set_mempolicy_bind_and_get_mempolicy)
{
	struct mml_machine *m = numa_machine(8 << 20);
	struct mml_task *t = m ? h_spawn(m) : NULL;
	unsigned long node1 = 1UL << 1, mask = ~0UL;
	int mode = -1;
	uint64_t addr;

	REQUIRE(t);
	CHECK_EQ(mml_set_mempolicy(t, MPOL_BIND, &node1, 3), 0);
	addr = h_map(t, BASE, NPAGES * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(addr);
	fill_pages(t, addr, NPAGES, 0);
	for (int i = 0; i < NPAGES; i++)
		CHECK_EQ(node_of(t, addr + i * H_PAGE), 1);

	CHECK_EQ(mml_get_mempolicy(t, &mode, &mask, 64, 0, 0), 0);
	CHECK_EQ(mode, MPOL_BIND);
	CHECK_EQ(mask, node1);
	mode = -1;
	CHECK_EQ(mml_get_mempolicy(t, &mode, NULL, 0, addr + H_PAGE, MPOL_F_NODE | MPOL_F_ADDR), 0);
	CHECK_EQ(mode, 1);
	/* MPOL_F_ADDR alone: the VMA's policy, and this VMA has none (default, empty mask). */
	mode = -1;
	mask = ~0UL;
	CHECK_EQ(mml_get_mempolicy(t, &mode, &mask, 64, addr, MPOL_F_ADDR), 0);
	CHECK_EQ(mode, MPOL_DEFAULT);
	CHECK_EQ(mask, 0);
	CHECK(expect_pages(t, addr, NPAGES, 0));
	H_END(m);
}

/* ---- compaction ----------------------------------------------------------------------------- */

/* Free memory of node 0 in order-9 units: the blocks a THP could have. */
static unsigned long free_huge_blocks(struct mml_machine *m)
{
	struct zone *z = &NODE_DATA(m, 0)->node_zones[0];
	unsigned long n = 0;

	for (unsigned o = HPAGE_PMD_ORDER; o <= MAX_PAGE_ORDER; o++)
		n += z->free_area[o].nr_free << (o - HPAGE_PMD_ORDER);
	return n;
}

/*
 * Fill most of one node, free every other page: free memory is all order
 * 0.  compact_memory moves the pages that are left together, and order-9
 * blocks come back; every byte is where it was.
 *
 * Seven eighths of free memory, so that the migrate scanner, after block
 * 0 (which keeps the zero page and the pgd), has the partly used block 1
 * to empty into the holes of block 2.  Linux's free scanner isolates only
 * as many free pages as there are folios to move and stays inside its
 * block (isolate_freepages_block breaks when nr_freepages reaches
 * nr_migratepages; cc->free_pfn = isolate_start_pfn), so the scanners meet
 * only when block 2's holes are used up or block 1 is empty: block 1 ends
 * up one free order-9 block.
 *
 * The page tables are faulted in first, one touch per 2 MiB: mmlab has no
 * pageblock migratetypes, so a pte table allocated amid the data would sit
 * unmovable inside a movable block (Linux puts it in an unmovable block),
 * and no compaction could free that block.
 */
/*
 * Seven eighths of node 0's free memory written a page at a time (page
 * tables first), then every other page unmapped: about half of memory is
 * free, none of it in order-9 blocks.  The number of pages mapped.
 */
static long fragment_memory(struct mml_machine *m, struct mml_task *t, uint64_t addr)
{
	long npages = mml_meminfo(m, "MemFree") / 4 * 7 / 8;

	if (npages <= 0 || h_map(t, addr, npages * H_PAGE, H_RW, H_ANON | MAP_FIXED) != addr ||
	    mml_madvise(t, addr, npages * H_PAGE, MADV_NOHUGEPAGE))
		return -1;
	for (long i = 0; i < npages; i += HUGE / H_PAGE)
		if (!h_fill(t, addr + i * H_PAGE, 1, pat((int)i)))
			return -1;
	for (long i = 0; i < npages; i++)
		if (!h_fill(t, addr + i * H_PAGE, H_PAGE, pat((int)i)))
			return -1;
	for (long i = 1; i < npages; i += 2)
		if (mml_munmap(t, addr + i * H_PAGE, H_PAGE))
			return -1;
	return npages;
}

TEST(compact_memory_makes_huge_blocks)
{
	struct mml_machine *m = h_machine(8 << 20);
	struct mml_task *t = m ? h_spawn(m) : NULL;
	long npages;
	unsigned long before, after;
	uint64_t addr = BASE;
	char buf[16];

	REQUIRE(t);
	npages = fragment_memory(m, t, addr);
	REQUIRE(npages > 0);
	before = free_huge_blocks(m);
	CHECKF(before <= 2, "%lu order-9 blocks free before compaction", before);

	CHECK_EQ(mml_sys_write(m, "/proc/sys/vm/compact_memory", "1"), 0);
	after = free_huge_blocks(m);
	CHECKF(after > before, "order-9 blocks free: %lu before compaction, %lu after", before, after);
	CHECK(mml_vmstat(m, "compact_migrate_scanned") > 0);
	CHECK(mml_vmstat(m, "pgmigrate_success") > 0);
	for (long i = 0; i < npages; i += 2)
		if (!h_expect(t, addr + i * H_PAGE, H_PAGE, pat((int)i)))
			break;

	CHECK_EQ(mml_sys_write(m, "/proc/sys/vm/compact_memory", "2"), -EINVAL);
	CHECK_EQ(mml_sys_write(m, "/proc/sys/vm/compact_memory", "0"), -EINVAL);
	CHECK_EQ(mml_sys_read(m, "/proc/sys/vm/compact_memory", buf, sizeof(buf)), -EACCES);
	H_END(m);
}

/*
 * A THP fault in a MADV_HUGEPAGE'd range, memory fragmented: the
 * allocation compacts directly (defrag "madvise", Linux's default) and
 * gets its huge page: compact_stall and compact_success.  With defrag
 * "never" it does not try, and with extfrag_threshold 1000 compaction is
 * never suitable (fragmentation_index is at most 1000): both fall back to
 * small pages with no stall.  Every byte of the fragmented range stays.
 */
TEST(thp_fault_compacts_directly)
{
	struct mml_machine *m = h_machine(8 << 20);
	struct mml_task *t = m ? h_spawn(m) : NULL;
	uint64_t huge = BASE + (1ULL << 30);
	char buf[16];
	long npages;

	REQUIRE(t);
	npages = fragment_memory(m, t, BASE);
	REQUIRE(npages > 0);
	REQUIRE_EQ(h_map(t, huge, 3 * HUGE, H_RW, H_ANON | MAP_FIXED), huge);
	REQUIRE_EQ(mml_madvise(t, huge, 3 * HUGE, MADV_HUGEPAGE), 0);

	REQUIRE_EQ(mml_sys_write(m, "/sys/kernel/mm/transparent_hugepage/defrag", "never"), 0);
	REQUIRE(h_fill(t, huge, 1, 0x5a));
	CHECK_EQ(mml_vmstat(m, "thp_fault_fallback"), 1);
	CHECK_EQ(mml_vmstat(m, "compact_stall"), 0);

	REQUIRE_EQ(mml_sys_write(m, "/sys/kernel/mm/transparent_hugepage/defrag", "madvise"), 0);
	REQUIRE_EQ(mml_sys_write(m, "/proc/sys/vm/extfrag_threshold", "1000"), 0);
	REQUIRE(h_fill(t, huge + HUGE, 1, 0x5b));
	CHECK_EQ(mml_vmstat(m, "thp_fault_fallback"), 2);
	CHECK_EQ(mml_vmstat(m, "compact_stall"), 0);

	REQUIRE_EQ(mml_sys_write(m, "/proc/sys/vm/extfrag_threshold", "500\n"), 0);
	REQUIRE_EQ(mml_sys_read(m, "/proc/sys/vm/extfrag_threshold", buf, sizeof(buf)), 4);
	CHECK(!strcmp(buf, "500\n"));
	REQUIRE(h_fill(t, huge + 2 * HUGE, 1, 0x5c));
	CHECK_EQ(mml_vmstat(m, "thp_fault_alloc"), 1);
	CHECK_EQ(mml_vmstat(m, "compact_stall"), 1);
	CHECK_EQ(mml_vmstat(m, "compact_success"), 1);
	CHECK_EQ(mml_vmstat(m, "compact_fail"), 0);
	CHECK(mml_vmstat(m, "pgmigrate_success") > 0);
	CHECK(h_expect(t, huge + 2 * HUGE, 1, 0x5c));
	for (long i = 0; i < npages; i += 2)
		if (!h_expect(t, BASE + i * H_PAGE, H_PAGE, pat((int)i)))
			break;
	CHECK_EQ(mml_sys_write(m, "/proc/sys/vm/extfrag_threshold", "1001"), -EINVAL);
	CHECK_EQ(mml_sys_write(m, "/proc/sys/vm/extfrag_threshold", "-1"), -EINVAL);
	H_END(m);
}

/*
 * A THP fault allocates where the policy says, as any fault: the task's
 * (set_mempolicy), or the VMA's (mbind) over it (vma_alloc_folio with the
 * PMD order; the interleave index counts in PMD units).
 */
TEST(thp_fault_follows_the_policy)
{
	struct mml_machine *m = numa_machine(16 << 20);
	struct mml_task *t = m ? h_spawn(m) : NULL;
	unsigned long node1 = 2, node0 = 1;

	REQUIRE(t);
	REQUIRE_EQ(mml_set_mempolicy(t, MPOL_BIND, &node1, 3), 0);
	REQUIRE_EQ(h_map(t, BASE, 2 * HUGE, H_RW, H_ANON | MAP_FIXED), BASE);
	REQUIRE_EQ(mml_madvise(t, BASE, 2 * HUGE, MADV_HUGEPAGE), 0);
	REQUIRE_EQ(mml_mbind(t, BASE + HUGE, HUGE, MPOL_BIND, &node0, 3, 0), 0);
	REQUIRE(h_fill(t, BASE, 1, 0x71));
	REQUIRE(h_fill(t, BASE + HUGE, 1, 0x72));
	CHECK_EQ(mml_vmstat(m, "thp_fault_alloc"), 2);
	CHECK_EQ(node_of(t, BASE), 1);
	CHECK_EQ(node_of(t, BASE + HUGE - H_PAGE), 1);
	CHECK_EQ(node_of(t, BASE + HUGE), 0);
	CHECK(h_expect(t, BASE + HUGE, 1, 0x72));
	H_END(m);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
