/*
 * proc_page.c - /proc/kpageflags and /proc/kpagecount (Linux's
 * fs/proc/page.c, kept beside task_mmu.c as mmlab keeps /proc's mm
 * views in the core): what a frame is, in Linux 6.18's stable bits, and
 * how many page-table entries map it.
 *
 * Linux reads a snapshot of the page and its folio (snapshot_page) so
 * that a racing split or free cannot make it read a folio that is no
 * longer the page's; frame_snapshot does the same here, retrying while
 * the page's folio changes under it.
 *
 * Where mmlab's flags differ from Linux's page-flags.h, the bit Linux
 * would show is made from mmlab's equivalent: PG_swapcache is Linux's
 * PG_owner_priv_1 (KPF_OWNER_PRIVATE), PG_anon_exclusive of an anon
 * folio's head is PG_owner_2 (KPF_OWNER_2), and the MTE flags are
 * arm64's PG_arch_2 and PG_arch_3 (KPF_ARCH_2, KPF_ARCH_3).
 */
#include <errno.h>

#include "mm/internal.h"

#define KPF(bit)	(1ULL << MML_KPF_##bit)

/* Linux's struct page_snapshot, as far as stable_page_flags reads it. */
struct frame_snapshot {
	unsigned long pfn;
	unsigned long page_flags;	/* the page's own (PG_hwpoison, PG_anon_exclusive) */
	unsigned long folio_flags;	/* its folio head's */
	const struct folio *folio;
	unsigned int order;
	unsigned long idx;		/* the page's place in its folio */
	int mapcount;			/* folio_mapcount */
	int page_mapcount;		/* folio_precise_page_mapcount */
	bool buddy;			/* in a free buddy block, head or not */
};

/*
 * is_free_buddy_page(): the page lies in a free block of some order,
 * found by its head.  Under the zone lock, so that a block being split
 * or merged is seen before or after, never half.
 */
static bool is_free_buddy_page(struct mml_machine *m, unsigned long pfn)
{
	struct zone *z = page_zone(m, pfn_to_page(m, pfn));
	bool free = false;

	spin_lock(&z->lock);
	for (unsigned int order = 0; order < NR_PAGE_ORDERS; order++) {
		struct page *head = pfn_to_page(m, pfn & ~((1UL << order) - 1));

		if (PageBuddy(head) && head->order >= order) {
			free = true;
			break;
		}
	}
	spin_unlock(&z->lock);
	return free;
}

static void frame_snapshot(struct mml_machine *m, unsigned long pfn, struct frame_snapshot *ps)
{
	struct page *page = pfn_to_page(m, pfn);

	for (int tries = 0;; tries++) {
		const struct folio *folio = page_folio(page);
		unsigned int order = READ_ONCE(folio->order);
		unsigned long idx = (unsigned long)(page - &folio->page);

		ps->pfn = pfn;
		ps->page_flags = READ_ONCE(page->flags);
		/* A free block's head keeps its buddy order where a folio keeps its order. */
		if (test_bit(PG_buddy, &ps->page_flags)) {
			folio = (const struct folio *)page;
			order = 0;
			idx = 0;
		}
		ps->folio_flags = READ_ONCE(folio->flags);
		/* the map counts of a folio; a free block has none to read */
		ps->mapcount = test_bit(PG_buddy, &ps->page_flags) ? 0 : folio_mapcount(folio);
		ps->page_mapcount = ps->mapcount ? folio_precise_page_mapcount(folio, page) : 0;
		/* Consistent if the page still belongs to this folio, and lies in it. */
		if ((page_folio(page) == folio && idx < (1UL << order)) || tries == 3) {
			ps->folio = folio;
			ps->order = idx < (1UL << order) ? order : 0;
			ps->idx = idx < (1UL << order) ? idx : 0;
			break;
		}
	}
	ps->buddy = is_free_buddy_page(m, pfn);
}

static inline uint64_t kpf_copy_bit(unsigned long flags, int ubit, int kbit)
{
	return (uint64_t)((flags >> kbit) & 1) << ubit;
}

/* stable_page_flags(): the page's KPF_* bits. */
static uint64_t stable_page_flags(struct mml_machine *m, const struct frame_snapshot *ps)
{
	unsigned long k = ps->folio_flags;
	const struct folio *folio = ps->folio;
	bool large = ps->order > 0, anon = folio_test_anon(folio);
	uint64_t u = 0;

	if (ps->mapcount > 0)
		u |= KPF(MMAP);
	if (anon)
		u |= KPF(ANON);
	if (anon && folio_test_ksm(folio))
		u |= KPF(KSM);
	if (ps->idx == 0)
		u |= kpf_copy_bit(k, MML_KPF_COMPOUND_HEAD, PG_head);
	else
		u |= KPF(COMPOUND_TAIL);
	/*
	 * Linux tests large_rmappable before the huge zero folio, which it
	 * keeps unrmappable; mmlab tests the huge zero folio first, so the
	 * answer is Linux's whatever flags it was allocated with.  A large
	 * folio of order > 1 is rmappable in Linux (page_rmappable_folio on
	 * every such allocation); mmlab's allocator does not set the flag,
	 * so the order stands for it.
	 */
	if (is_huge_zero_folio(m, folio))
		u |= KPF(ZERO_PAGE) | KPF(THP);
	else if (large && (test_bit(PG_large_rmappable, &k) || ps->order > 1))
		u |= KPF(THP);
	else if (is_zero_pfn(m, ps->pfn))
		u |= KPF(ZERO_PAGE);

	if (ps->buddy)
		u |= KPF(BUDDY);
	if (test_bit(PG_table, &ps->page_flags))
		u |= KPF(PGTABLE);

	u |= kpf_copy_bit(k, MML_KPF_LOCKED, PG_locked);
	u |= kpf_copy_bit(k, MML_KPF_DIRTY, PG_dirty);
	u |= kpf_copy_bit(k, MML_KPF_UPTODATE, PG_uptodate);
	u |= kpf_copy_bit(k, MML_KPF_WRITEBACK, PG_writeback);
	u |= kpf_copy_bit(k, MML_KPF_LRU, PG_lru);
	u |= kpf_copy_bit(k, MML_KPF_REFERENCED, PG_referenced);
	u |= kpf_copy_bit(k, MML_KPF_ACTIVE, PG_active);
	u |= kpf_copy_bit(k, MML_KPF_RECLAIM, PG_reclaim);
	/* folio_test_swapcache(): the bit means the swap cache only on a swap-backed folio */
	if (test_bit(PG_swapcache, &k) && test_bit(PG_swapbacked, &k))
		u |= KPF(SWAPCACHE);
	u |= kpf_copy_bit(k, MML_KPF_SWAPBACKED, PG_swapbacked);
	u |= kpf_copy_bit(k, MML_KPF_UNEVICTABLE, PG_unevictable);
	u |= kpf_copy_bit(k, MML_KPF_MLOCKED, PG_mlocked);
	/* hwpoison is per page, except in a hugetlb folio (none in mmlab) */
	u |= kpf_copy_bit(ps->page_flags, MML_KPF_HWPOISON, PG_hwpoison);

	/* The kernel-hacking bits, from the flags Linux keeps under those names. */
	u |= kpf_copy_bit(k, MML_KPF_RESERVED, PG_reserved);
	if (anon)
		u |= kpf_copy_bit(k, MML_KPF_OWNER_2, PG_anon_exclusive);
	u |= kpf_copy_bit(k, MML_KPF_OWNER_PRIVATE, PG_swapcache);
	u |= kpf_copy_bit(k, MML_KPF_ARCH_2, PG_mte_tagged);
	u |= kpf_copy_bit(k, MML_KPF_ARCH_3, PG_mte_lock);
	return u;
}

int mml_kpageflags(struct mml_machine *m, uint64_t pfn, uint64_t *flags)
{
	struct frame_snapshot ps;

	if (!flags)
		return -EFAULT;
	if (!pfn_valid(m, pfn))
		return -EINVAL;
	/*
	 * kpageflags_read() asks pfn_to_online_page(), which is NULL for
	 * ZONE_DEVICE memory (its memmap may not be initialised), and
	 * stable_page_flags(NULL) is KPF_NOPAGE: a pmem frame that pagemap
	 * shows is no page to /proc/kpageflags.
	 */
	if (is_zone_device_page(m, pfn_to_page(m, (unsigned long)pfn))) {
		*flags = KPF(NOPAGE);
		return 0;
	}
	op_enter(m, NULL);
	vm_settle(m);
	frame_snapshot(m, (unsigned long)pfn, &ps);
	*flags = stable_page_flags(m, &ps);
	return (int)op_exit(m, 0);
}

/*
 * kpagecount with CONFIG_PAGE_MAPCOUNT (6.18's default): the entries
 * mapping this page, its ptes and the pmds mapping its folio whole
 * (folio_precise_page_mapcount).  Free and page-table frames count 0;
 * the zero pages are never counted, as in Linux.
 */
long mml_kpagecount(struct mml_machine *m, uint64_t pfn)
{
	struct frame_snapshot ps;

	if (!pfn_valid(m, pfn))
		return -EINVAL;
	op_enter(m, NULL);
	frame_snapshot(m, (unsigned long)pfn, &ps);
	return op_exit(m, ps.buddy || test_bit(PG_table, &ps.page_flags) ? 0 : ps.page_mapcount);
}
