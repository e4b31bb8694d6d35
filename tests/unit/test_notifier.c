/*
 * test_notifier.c - MMU notifiers through the public API: every path that
 * changes a pte -> pfn mapping or takes a right away brackets the change
 * with invalidate_range_start / _end over a range covering it, with Linux's
 * event; release comes once, at exit; unregister stops the callbacks;
 * reclaim asks clear_flush_young; device-exclusive entries come and go
 * with Linux's events; migration unmaps with MMU_NOTIFY_MIGRATE.
 */
#include <string.h>

#include "../harness.h"

#define MAXLOG 64

struct log {
	int n, depth, bad_nesting, releases, young_asks;
	struct { uint64_t start, end; enum mml_notify_event event; int blockable; } e[MAXLOG];
	int young;		/* what clear_flush_young answers */
	int refuse;		/* refuse non-blockable ranges */
};

static int l_start(void *priv, const struct mml_notify_range *r)
{
	struct log *l = priv;

	if (l->refuse && !r->blockable)
		return -EAGAIN;
	if (l->n < MAXLOG) {
		l->e[l->n].start = r->start;
		l->e[l->n].end = r->end;
		l->e[l->n].event = r->event;
		l->e[l->n].blockable = r->blockable;
		l->n++;
	}
	l->depth++;
	return 0;
}

static void l_end(void *priv, const struct mml_notify_range *r)
{
	struct log *l = priv;

	if (--l->depth < 0)
		l->bad_nesting++;
}

static void l_release(void *priv)
{
	((struct log *)priv)->releases++;
}

static int l_young(void *priv, uint64_t start, uint64_t end)
{
	struct log *l = priv;

	l->young_asks++;
	return l->young;
}

static const struct mml_mmu_notifier_ops ops = {
	.invalidate_range_start = l_start,
	.invalidate_range_end = l_end,
	.release = l_release,
	.clear_flush_young = l_young,
};

/* Did some logged range of this event cover [start, end)? */
static bool covered(const struct log *l, enum mml_notify_event ev, uint64_t start, uint64_t end)
{
	for (int i = 0; i < l->n; i++)
		if (l->e[i].event == ev && l->e[i].start <= start && l->e[i].end >= end)
			return true;
	return false;
}

#define A	0x10000000ULL

TEST(every_pte_change_is_bracketed_with_linux_events)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m), *c;
	struct mml_mmu_notifier *n;
	struct log l = { 0 };

	REQUIRE(t);
	REQUIRE_EQ(mml_mmu_notifier_register(t, &ops, &l, &n), 0);
	h_map(t, A, 8 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	CHECK(h_fill(t, A, 8 * H_PAGE, 1));
	CHECK_EQ(l.n, 0);		/* faults that fill empty ptes change no mapping */

	c = h_fork(t);
	REQUIRE(c);
	CHECK(covered(&l, MML_NOTIFY_PROTECTION_PAGE, A, A + 8 * H_PAGE));
	l.n = 0;
	CHECK_EQ(h_poke(t, A, 2), 0);	/* COW: the copy replaces the page */
	CHECK(covered(&l, MML_NOTIFY_CLEAR, A, A + H_PAGE));
	l.n = 0;
	CHECK_EQ(mml_mprotect(t, A, 2 * H_PAGE, PROT_READ), 0);
	CHECK(covered(&l, MML_NOTIFY_PROTECTION_VMA, A, A + 2 * H_PAGE));
	l.n = 0;
	CHECK_EQ(mml_madvise(t, A + 2 * H_PAGE, H_PAGE, MADV_DONTNEED), 0);
	CHECK(covered(&l, MML_NOTIFY_CLEAR, A + 2 * H_PAGE, A + 3 * H_PAGE));
	l.n = 0;
	CHECK_EQ(mml_madvise(t, A + 3 * H_PAGE, H_PAGE, MADV_FREE), 0);
	CHECK(covered(&l, MML_NOTIFY_CLEAR, A + 3 * H_PAGE, A + 4 * H_PAGE));
	l.n = 0;
	CHECK_EQ(mml_munmap(t, A + 4 * H_PAGE, 2 * H_PAGE), 0);
	CHECK(covered(&l, MML_NOTIFY_UNMAP, A + 4 * H_PAGE, A + 6 * H_PAGE));
	/* The child's changes are its own mm's: none reach this notifier. */
	l.n = 0;
	CHECK_EQ(h_poke(c, A + 7 * H_PAGE, 3), 0);
	CHECK_EQ(mml_munmap(c, A, 8 * H_PAGE), 0);
	CHECK_EQ(l.n, 0);
	CHECK_EQ(l.depth, 0);
	CHECK_EQ(l.bad_nesting, 0);
	CHECK_EQ(l.releases, 0);
	mml_mmu_notifier_unregister(n);
	CHECK_EQ(l.releases, 1);	/* unregister releases a live mm's notifier */
	l.n = 0;
	CHECK_EQ(mml_munmap(t, A, 8 * H_PAGE), 0);
	CHECK_EQ(l.n, 0);
	H_END(m);
}

TEST(swap_out_is_bracketed_and_release_comes_once_at_exit)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);
	struct mml_mmu_notifier *n;
	struct log l = { 0 };

	REQUIRE(t);
	REQUIRE(mml_swapon(m, NULL, 1 << 20, -1) >= 0);
	REQUIRE_EQ(mml_mmu_notifier_register(t, &ops, &l, &n), 0);
	h_map(t, A, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	CHECK(h_fill(t, A, 4 * H_PAGE, 7));
	CHECK_EQ(mml_madvise(t, A, 4 * H_PAGE, MADV_PAGEOUT), 0);
	for (int i = 0; i < 4; i++)
		CHECKF(covered(&l, MML_NOTIFY_CLEAR, A + i * H_PAGE, A + (i + 1) * H_PAGE), "page %d", i);
	CHECK(h_expect(t, A, 4 * H_PAGE, 7));
	CHECK_EQ(mml_exit(t), 0);
	CHECK_EQ(l.releases, 1);
	CHECK_EQ(l.depth, 0);
	mml_mmu_notifier_unregister(n);
	CHECK_EQ(l.releases, 1);	/* not again after the mm was released */
	H_END(m);
}

TEST(reclaim_asks_the_secondary_mmu_whether_a_page_was_used)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);
	struct mml_mmu_notifier *n;
	struct log l = { .young = 1 };

	REQUIRE(t);
	REQUIRE(mml_swapon(m, NULL, 1 << 20, -1) >= 0);
	REQUIRE_EQ(mml_mmu_notifier_register(t, &ops, &l, &n), 0);
	h_map(t, A, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	CHECK(h_fill(t, A, 4 * H_PAGE, 7));
	/* The device says it keeps using the pages: reclaim keeps them. */
	CHECK_EQ(mml_reclaim(m, 4), 0);
	CHECK(l.young_asks > 0);
	CHECK_EQ(mml_vmstat(m, "pswpout"), 0);
	/* MADV_PAGEOUT does not ask (Linux 6.18's madvise paths skip folio_referenced). */
	l.young_asks = 0;
	CHECK_EQ(mml_madvise(t, A, 4 * H_PAGE, MADV_PAGEOUT), 0);
	CHECK_EQ(l.young_asks, 0);
	CHECK_EQ(mml_vmstat(m, "pswpout"), 4);
	mml_mmu_notifier_unregister(n);
	H_END(m);
}

/*
 * A device-exclusive entry: made under MMU_NOTIFY_EXCLUSIVE, given back to
 * the CPU under MMU_NOTIFY_CLEAR (Linux 6.15+); reclaim takes its page
 * (CLEAR, the device lets go) without asking anyone whether it is young.
 */
TEST(device_exclusive_entries_have_linux_events_and_can_be_reclaimed)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);
	struct mml_mmu_notifier *n;
	struct mml_device *d;
	struct log l = { .young = 1 };
	unsigned char b[64];

	REQUIRE(t);
	REQUIRE(mml_swapon(m, NULL, 1 << 20, -1) >= 0);
	h_map(t, A, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	CHECK(h_fill(t, A, 2 * H_PAGE, 9));
	REQUIRE_EQ(mml_device_new(t, 0, &d), 0);
	REQUIRE_EQ(mml_mmu_notifier_register(t, &ops, &l, &n), 0);
	CHECK_EQ(mml_device_make_exclusive(d, A, 2), 0);
	CHECK(covered(&l, MML_NOTIFY_EXCLUSIVE, A, A + H_PAGE));
	CHECK(covered(&l, MML_NOTIFY_EXCLUSIVE, A + H_PAGE, A + 2 * H_PAGE));
	l.n = 0;
	CHECK(h_expect(t, A, 16, 9));			/* the CPU takes page 0 back */
	CHECK_EQ(l.n, 1);
	CHECK(covered(&l, MML_NOTIFY_CLEAR, A, A + H_PAGE));
	l.n = 0;
	CHECK_EQ(mml_device_mapped(d, A + H_PAGE), 1);
	/*
	 * MADV_PAGEOUT walks past it (not present, as in Linux): the LRU's
	 * reclaim finds it, and takes it though this notifier calls every
	 * page young (the CPU's side says old; page 0, present, stays).
	 */
	CHECK_EQ(mml_reclaim(m, 2), 1);
	CHECK(covered(&l, MML_NOTIFY_CLEAR, A + H_PAGE, A + 2 * H_PAGE));
	CHECK(h_pagemap(t, A + H_PAGE) & MML_PM_SWAP);
	CHECK_EQ(mml_device_mapped(d, A + H_PAGE), 0);
	CHECK_EQ(mml_device_read(d, A + H_PAGE, b, sizeof(b)), 0);	/* faulted back in */
	CHECK_EQ(b[0], 9);
	CHECK_EQ(l.depth, 0);
	mml_mmu_notifier_unregister(n);
	CHECK_EQ(mml_device_free(d), 0);
	H_END(m);
}

/*
 * Migration tells secondary MMUs with MMU_NOTIFY_MIGRATE before each pte
 * becomes a migration entry (try_to_migrate_one), whoever asked for the
 * move: move_pages to another node, mbind with MPOL_MF_MOVE, a migration
 * held half way.  Putting the new page in (remove_migration_ptes)
 * replaces a non-present entry and tells no one, as in Linux.
 */
TEST(migration_is_bracketed_with_migrate_events)
{
	struct mml_config cfg = { .ram_bytes = 16 << 20, .seed = 1, .flags = MML_CHECK_EVERY_OP, .nr_nodes = 2 };
	struct mml_machine *m = mml_machine_new(&cfg);
	struct mml_task *t = m ? h_spawn(m) : NULL;
	struct mml_mmu_notifier *n;
	struct log l = { 0 };
	uint64_t pages[2] = { A, A + H_PAGE };
	int nodes[2] = { 1, 1 }, status[2];
	unsigned long node0 = 1;
	long held;

	REQUIRE(t);
	REQUIRE_EQ(mml_mmu_notifier_register(t, &ops, &l, &n), 0);
	h_map(t, A, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	CHECK(h_fill(t, A, 2 * H_PAGE, 7));
	l.n = 0;
	CHECK_EQ(mml_move_pages(t, 2, pages, nodes, status, MPOL_MF_MOVE), 0);
	CHECK_EQ(status[0], 1);
	CHECK(covered(&l, MML_NOTIFY_MIGRATE, A, A + H_PAGE));
	CHECK(covered(&l, MML_NOTIFY_MIGRATE, A + H_PAGE, A + 2 * H_PAGE));
	CHECK_EQ(l.n, 2);
	l.n = 0;
	CHECK_EQ(mml_mbind(t, A, H_PAGE, MPOL_BIND, &node0, 3, MPOL_MF_MOVE), 0);
	CHECK(covered(&l, MML_NOTIFY_MIGRATE, A, A + H_PAGE));
	CHECK_EQ(l.n, 1);
	l.n = 0;
	held = mml_migrate_unmap(t, A + H_PAGE, 0);
	CHECK(held > 0);
	CHECK(covered(&l, MML_NOTIFY_MIGRATE, A + H_PAGE, A + 2 * H_PAGE));
	CHECK_EQ(l.depth, 0);			/* the range ended with the unmap half */
	CHECK_EQ(mml_migrate_move(m, held), 0);
	CHECK_EQ(l.n, 1);			/* the move half tells no one */
	CHECK(h_expect(t, A, 2 * H_PAGE, 7));
	CHECK_EQ(l.depth, 0);
	CHECK_EQ(l.bad_nesting, 0);
	mml_mmu_notifier_unregister(n);
	H_END(m);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
