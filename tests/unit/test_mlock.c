/*
 * test_mlock.c - mlock and its family through the public API: what a lock
 * does to the pages (PG_mlocked and PG_unevictable in kpageflags, Mlocked
 * and Unevictable in meminfo, the unevictable_pgs_* events), what reclaim,
 * migration, fork and copy-on-write do to locked pages, and the limit.
 *
 * What Linux 6.18 does, and these tests check:
 *  - mlock faults the range in and mlocks every page: unevictable, never
 *    reclaimed; munlock gives them back to the evictable lists (rescued)
 *    and reclaim takes them again.
 *  - mlock2(MLOCK_ONFAULT) locks the VMA at once and each page as it
 *    faults in; a locked VMA's copy-on-write copy is mlocked too.
 *  - migration moves an mlocked page to a new one that is mlocked, and
 *    counts its locks right (the new folio is on the LRU before its
 *    mappings come back), so that a later munlock by a child that shared
 *    it leaves the parent's lock.
 *  - a PMD-mapped THP is mlocked whole.
 *  - RLIMIT_MEMLOCK: ENOMEM over it for mlock, EAGAIN for MAP_LOCKED;
 *    EPERM with a limit of 0.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/resource.h>

#include "../harness.h"

#define BASE	0x40000000ULL	/* 2 MiB aligned */
#define PG	4096ULL
#define HUGE	(2ULL << 20)

static uint64_t kpf(struct mml_machine *m, struct mml_task *t, uint64_t addr)
{
	uint64_t e = h_pagemap(t, addr), flags = 0;

	if (!(e & MML_PM_PRESENT))
		return 0;
	CHECK_EQ(mml_kpageflags(m, H_PFN(e), &flags), 0);
	return flags;
}

static bool mlocked(struct mml_machine *m, struct mml_task *t, uint64_t addr)
{
	uint64_t f = kpf(m, t, addr);

	return (f >> MML_KPF_MLOCKED & 1) && (f >> MML_KPF_UNEVICTABLE & 1);
}

TEST(mlocked_pages_are_unevictable_until_munlock)
{
	struct mml_machine *m = h_machine(8 << 20);
	struct mml_task *t = h_spawn(m);
	long culled;

	REQUIRE(t);
	REQUIRE(mml_swapon(m, NULL, 4 << 20, -1) >= 0);
	REQUIRE(h_map(t, BASE, 16 * PG, H_RW, H_ANON | MAP_FIXED));
	REQUIRE(h_fill(t, BASE, 16 * PG, 0x3c));
	culled = mml_vmstat(m, "unevictable_pgs_culled");
	CHECK_EQ(mml_mlock(t, BASE, 8 * PG), 0);
	CHECK_EQ(mml_meminfo(m, "Mlocked"), 32);
	CHECK_EQ(mml_meminfo(m, "Unevictable"), 32);
	CHECK_EQ(mml_vmstat(m, "unevictable_pgs_culled") - culled, 8);
	CHECK(mlocked(m, t, BASE));
	CHECK(!mlocked(m, t, BASE + 8 * PG));
	/* reclaim takes the unlocked half only */
	mml_reclaim(m, 1024);
	mml_reclaim(m, 1024);
	CHECK((h_pagemap(t, BASE) & MML_PM_PRESENT) != 0);
	CHECK((h_pagemap(t, BASE + 7 * PG) & MML_PM_PRESENT) != 0);
	CHECK((h_pagemap(t, BASE + 8 * PG) & MML_PM_SWAP) != 0);
	/* munlock: rescued, and reclaimable again */
	CHECK_EQ(mml_munlock(t, BASE, 8 * PG), 0);
	CHECK_EQ(mml_meminfo(m, "Mlocked"), 0);
	CHECK_EQ(mml_meminfo(m, "Unevictable"), 0);
	CHECK_EQ(mml_vmstat(m, "unevictable_pgs_rescued"), 8);
	CHECK(!mlocked(m, t, BASE));
	mml_reclaim(m, 1024);
	mml_reclaim(m, 1024);
	CHECK((h_pagemap(t, BASE) & MML_PM_SWAP) != 0);
	CHECK(h_expect(t, BASE, 16 * PG, 0x3c));
	H_END(m);
}

TEST(onfault_locks_each_page_as_it_faults_in_and_cow_copies_are_locked)
{
	struct mml_machine *m = h_machine(8 << 20);
	struct mml_task *t = h_spawn(m), *c;

	REQUIRE(t);
	REQUIRE(h_map(t, BASE, 8 * PG, H_RW, H_ANON | MAP_FIXED));
	CHECK_EQ(mml_mlock2(t, BASE, 8 * PG, MLOCK_ONFAULT), 0);
	CHECK_EQ(mml_meminfo(m, "Mlocked"), 0);
	CHECK((h_pagemap(t, BASE) & MML_PM_PRESENT) == 0);
	REQUIRE(h_fill(t, BASE, 2 * PG, 0x11));
	CHECK(mlocked(m, t, BASE));
	CHECK(mlocked(m, t, BASE + PG));
	CHECK_EQ(mml_meminfo(m, "Mlocked"), 8);
	/* the child shares the pages, unlocked; the parent's write copies, and the copy is locked */
	c = h_fork(t);
	REQUIRE(c);
	REQUIRE(h_fill(t, BASE, PG, 0x22));
	CHECK(mlocked(m, t, BASE));
	CHECK_EQ(mml_meminfo(m, "Mlocked"), 8);	/* the old page, the child's alone now, is munlocked */
	CHECK(h_expect(c, BASE, PG, 0x11));
	CHECK_EQ(mml_exit(c), 0);
	CHECK_EQ(mml_munlockall(t), 0);
	CHECK_EQ(mml_meminfo(m, "Mlocked"), 0);
	H_END(m);
}

TEST(a_migrated_page_stays_mlocked_and_keeps_its_lock_count)
{
	struct mml_config cfg = { .ram_bytes = 8 << 20, .seed = 1, .flags = MML_CHECK_EVERY_OP, .nr_nodes = 2 };
	struct mml_machine *m = mml_machine_new(&cfg);
	struct mml_task *t, *c;
	unsigned long to_node1 = 2, from_node0 = 1;

	REQUIRE(m);
	t = h_spawn(m);
	REQUIRE(t);
	REQUIRE(h_map(t, BASE, 4 * PG, H_RW, H_ANON | MAP_FIXED));
	REQUIRE(h_fill(t, BASE, 4 * PG, 0x5e));
	CHECK_EQ(mml_mlock(t, BASE, 4 * PG), 0);
	CHECK_EQ(mml_migrate_pages(t, 64, &from_node0, &to_node1), 0);
	CHECK(mlocked(m, t, BASE));
	CHECK_EQ(mml_meminfo(m, "Mlocked"), 16);
	/*
	 * A child that shares the pages locks them too, then copies them: its
	 * munlock of the old pages must leave the parent's lock standing.
	 */
	c = h_fork(t);
	REQUIRE(c);
	CHECK_EQ(mml_mlockall(c, MCL_CURRENT), 0);
	CHECK(mlocked(m, t, BASE));
	CHECK(mlocked(m, c, BASE));
	CHECK_EQ(mml_meminfo(m, "Mlocked"), 32);
	CHECK(h_expect(t, BASE, 4 * PG, 0x5e));
	CHECK_EQ(mml_exit(c), 0);
	CHECK_EQ(mml_meminfo(m, "Mlocked"), 16);
	H_END(m);
}

TEST(a_pmd_mapped_thp_is_mlocked_whole)
{
	struct mml_machine *m = h_machine(16 << 20);
	struct mml_task *t = h_spawn(m);

	REQUIRE(t);
	REQUIRE(h_map(t, BASE, HUGE, H_RW, H_ANON | MAP_FIXED));
	REQUIRE(mml_madvise(t, BASE, HUGE, MADV_HUGEPAGE) == 0);
	REQUIRE(h_fill(t, BASE, PG, 0x71));
	CHECK((kpf(m, t, BASE) >> MML_KPF_THP) & 1);
	CHECK_EQ(mml_mlock(t, BASE, HUGE), 0);
	CHECK(mlocked(m, t, BASE + 100 * PG));
	CHECK_EQ(mml_meminfo(m, "Mlocked"), 2048);
	/* unlocking half splits the VMA: the folio is munlocked (reclaim would lock it again) */
	CHECK_EQ(mml_munlock(t, BASE + HUGE / 2, HUGE / 2), 0);
	CHECK_EQ(mml_meminfo(m, "Mlocked"), 0);
	CHECK_EQ(mml_munmap(t, BASE, HUGE), 0);
	CHECK_EQ(mml_meminfo(m, "Unevictable"), 0);
	H_END(m);
}

TEST(the_limit_holds_for_mlock_map_locked_and_mlockall)
{
	struct mml_machine *m = h_machine(8 << 20);
	struct mml_task *t = h_spawn(m);
	struct rlimit rl = { 16 * PG, 16 * PG };

	REQUIRE(t);
	CHECK_EQ(mml_getrlimit(t, RLIMIT_MEMLOCK, &rl), 0);
	CHECK_EQ(rl.rlim_cur, MML_RLIMIT_MEMLOCK);
	rl.rlim_cur = rl.rlim_max = 16 * PG;
	CHECK_EQ(mml_setrlimit(t, RLIMIT_MEMLOCK, &rl), 0);
	REQUIRE(h_map(t, BASE, 32 * PG, H_RW, H_ANON | MAP_FIXED));
	CHECK_EQ(mml_mlock(t, BASE, 17 * PG), -ENOMEM);
	CHECK_EQ(mml_mlock(t, BASE, 16 * PG), 0);
	CHECK_EQ(mml_mlock(t, BASE, 16 * PG), 0);	/* locked already: not counted twice */
	CHECK_EQ(mml_mmap(t, 0, PG, H_RW, H_ANON | MAP_LOCKED, -1, 0), -EAGAIN);
	CHECK_EQ(mml_mlockall(t, MCL_CURRENT), -ENOMEM);	/* 32 pages mapped, 16 allowed */
	CHECK_EQ(mml_mlockall(t, MCL_ONFAULT), -EINVAL);
	CHECK_EQ(mml_munlock(t, BASE, 32 * PG), 0);
	rl.rlim_cur = rl.rlim_max = 0;
	CHECK_EQ(mml_setrlimit(t, RLIMIT_MEMLOCK, &rl), 0);
	CHECK_EQ(mml_mlock(t, BASE, PG), -EPERM);
	rl.rlim_cur = rl.rlim_max = PG;
	CHECK_EQ(mml_setrlimit(t, RLIMIT_MEMLOCK, &rl), -EPERM);	/* no CAP_SYS_RESOURCE */
	CHECK_EQ(mml_getrlimit(t, RLIMIT_STACK, &rl), -EINVAL);
	H_END(m);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
