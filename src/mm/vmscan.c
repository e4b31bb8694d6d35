/*
 * vmscan.c - reclaim (Linux's mm/vmscan.c, with try_to_unmap_one and
 * folio_referenced from mm/rmap.c): age the LRU lists, unmap folios
 * through rmap -- anonymous ones into swap entries, written to swap;
 * file ones written back if dirty, shmem ones moved to swap -- and free
 * them; discard lazily freed ones that nobody wrote since MADV_FREE.
 */
#include <stdlib.h>

#include "mm/internal.h"
#include "mm/userfaultfd_k.h"
#include "mm/mmu_notifier.h"

/*
 * Linux scans at priorities DEF_PRIORITY down to 0, a larger share of the
 * lists each time; mmlab's batches do not scale with a priority, and its
 * trace events show this one (docs/deviations.md).
 */
#define DEF_PRIORITY	12

struct referenced_arg {
	int referenced;
	bool locked;		/* mapped in full by a VM_LOCKED VMA: never reclaim */
};

/*
 * folio_referenced_one(): test and clear the accessed bit of each pte of
 * the folio in vma.  A locked VMA that maps the folio in full mlocks it
 * (its mlock was missed: a page mapped before the VMA was locked, or one
 * isolated while it was) and stops the walk; one that maps part of a
 * large folio is not looked at, reclaim splits the folio.
 */
static bool folio_referenced_one(struct folio *folio, struct vm_area_struct *vma, uint64_t addr, void *arg)
{
	struct referenced_arg *ra = arg;
	DEFINE_FOLIO_VMA_WALK(pvmw, folio, vma, addr);
	long locked_ptes = 0;

	while (page_vma_mapped_walk(&pvmw)) {
		if (READ_ONCE(vma->vm_flags) & VM_LOCKED) {	/* mlock_vma_pages_range may be changing it */
			if (!folio_test_large(folio) || !pvmw.pte) {
				mlock_vma_folio(folio, vma);
				page_vma_mapped_walk_done(&pvmw);
				ra->locked = true;
				return false;
			}
			locked_ptes++;
			continue;
		}
		if (!pvmw.pte) {
			/* A pmd leaf maps the whole THP: its accessed bit, or a secondary MMU's. */
			if (pmdp_test_and_clear_young(pvmw.pmd) |
			    mmu_notifier_clear_flush_young(vma->vm_mm, pvmw.address, pvmw.address + HPAGE_PMD_SIZE))
				ra->referenced++;
			continue;
		}
		/*
		 * A device-exclusive entry: old from the CPU's side, as Linux
		 * 6.15+ takes it, and no secondary MMU is asked (the device's
		 * use shows when the CPU takes the page back).
		 */
		if (!pte_present(ptep_get(pvmw.pte)))
			continue;
		/*
		 * ptep_clear_flush_young_notify(): the CPU's accessed bit, or a
		 * secondary MMU's.  x86 does not flush for a cleared accessed
		 * bit: a stale one only delays aging.
		 */
		if (ptep_test_and_clear_young(pvmw.pte) |
		    mmu_notifier_clear_flush_young(vma->vm_mm, pvmw.address, pvmw.address + PAGE_SIZE))
			ra->referenced++;
	}
	if (locked_ptes == folio_nr_pages(folio)) {
		mlock_vma_folio(folio, vma);
		ra->locked = true;
		return false;
	}
	return true;
}

/*
 * Models folio_referenced(): how many mappings used the folio since the
 * last look.  is_locked: the caller holds the folio lock.
 */
static int folio_referenced(struct folio *folio, bool is_locked, bool *locked)
{
	struct referenced_arg ra = { 0 };
	struct rmap_walk_control rwc = { .arg = &ra, .rmap_one = folio_referenced_one };

	bool we_locked = false;

	if (!folio_mapped(folio))
		return 0;
	/* A file or KSM folio's mapping is stable only under its lock: busy means in use. */
	if ((!folio_test_anon(folio) || folio_test_ksm(folio)) && !is_locked) {
		if (!folio_trylock(folio))
			return 1;
		we_locked = true;
	}
	rmap_walk(folio, &rwc);
	if (we_locked)
		folio_unlock(folio);
	*locked = ra.locked;
	return ra.referenced;
}

enum folio_references { FOLIOREF_RECLAIM, FOLIOREF_KEEP, FOLIOREF_ACTIVATE };

/*
 * Models folio_check_references(): every mapped folio starts with an
 * accessed bit from the fault that made it, so look twice -- a folio used
 * once is kept on the inactive list (PG_referenced noted), used again it is
 * activated, unused since the last look it is reclaimed.
 */
static enum folio_references folio_check_references(struct folio *folio)
{
	bool locked = false;
	int referenced_ptes = folio_referenced(folio, true, &locked);
	bool referenced_folio = folio_test_clear_referenced(folio);

	if (locked)
		return FOLIOREF_ACTIVATE;
	if (referenced_ptes) {
		folio_set_referenced(folio);
		if (referenced_folio || referenced_ptes > 1)
			return FOLIOREF_ACTIVATE;
		return FOLIOREF_KEEP;
	}
	return FOLIOREF_RECLAIM;
}

/*
 * try_to_unmap_one(): for a file folio, clear each pte that maps it
 * (its dirty bit going to the folio); for an anonymous folio, replace each pte of vma that
 * maps one of its pages (page_vma_mapped_walk) by that page's swap entry
 * (page_swap_entry), in Linux's order -- refuse a folio that may be
 * pinned; clear the pte and flush; a lazily freed folio nobody dirtied is
 * simply dropped; otherwise swap_duplicate() the entry, let the
 * architecture save what it keeps beside the data (arch_unmap_one, undone
 * with swap_free when it fails: the fix in seed 000), and clear
 * PG_anon_exclusive last, remembering it in the swap pte.
 */
static bool try_to_unmap_one(struct folio *folio, struct vm_area_struct *vma, uint64_t addr, void *arg)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	DEFINE_FOLIO_VMA_WALK(pvmw, folio, vma, addr);
	struct mmu_notifier_range range;
	bool *failed = arg;

	/* Every pte of the folio in this VMA may become a swap entry: secondary MMUs let go first. */
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, addr,
				min(vma->vm_end, addr + ((uint64_t)folio_nr_pages(folio) << PAGE_SHIFT)));
	mmu_notifier_invalidate_range_start(&range);
	while (page_vma_mapped_walk(&pvmw)) {
		pte_t pteval = ptep_get(pvmw.pte), swp_pte;
		struct page *page;
		swp_entry_t entry;
		bool exclusive;

		if (READ_ONCE(vma->vm_flags) & VM_LOCKED) {	/* as in folio_referenced_one */
			/* Restore the mlock that was missed (a large folio's is reclaim's to sort out). */
			if (!folio_test_large(folio))
				mlock_vma_folio(folio, vma);
			goto fail;
		}
		/*
		 * A device-exclusive entry maps its page too, and goes like a
		 * present pte (Linux 6.15+): the device heard the range above.
		 */
		page = folio_page(folio, (pte_present(pteval) ? pte_pfn(pteval) :
					  swp_offset_pfn(pte_to_swp_entry(pteval))) - pvmw.pfn);
		/* A pin would drift away from the process: keep the page mapped. */
		if (folio_maybe_dma_pinned(folio) && !bug_enabled(m, BUG_RECLAIM_UNMAPS_PINNED))
			goto fail;
		if (pte_present(pteval)) {
			pteval = ptep_get_and_clear(pvmw.pte);
			flush_tlb_page(vma, pvmw.address);
			if (pte_dirty(pteval))
				folio_mark_dirty(folio);
		} else {
			/* No TLB holds it; its dirty bit went to the folio when it was made. */
			pte_clear(pvmw.pte);
		}

		if (!folio_test_anon(folio)) {
			/* A file's page: the cache keeps it; the pte just goes (a uffd-wp one leaves a marker). */
			pte_install_uffd_wp_if_needed(vma, pvmw.address, pvmw.pte, pteval);
			add_mm_counter(mm, mm_counter_file(folio), -1);
			goto discard;
		}
		if (!folio_test_swapbacked(folio)) {
			/*
			 * MADV_FREE: drop it only if nobody wrote it since -- not the pte
			 * (just looked at) and not any other path (PG_dirty: swap-in,
			 * a device through a pin).  Seed 003: "This is users' data".
			 */
			bool dirty = folio_test_dirty(folio);
			int refs = folio_ref_count(folio), maps = folio_mapcount(folio);

			if ((!dirty || bug_enabled(m, BUG_LAZYFREE_DISCARD_DIRTY)) && refs == 1 + maps) {
				add_mm_counter(mm, MM_ANONPAGES, -1);
				count_vm_event(m, PGLAZYFREED);
				goto discard;
			}
			/* Written since: it needs swap after all. */
			folio_set_swapbacked(folio);
			set_pte(pvmw.pte, pteval);
			goto fail;
		}
		entry = page_swap_entry(page);
		if (swap_duplicate(m, entry) < 0) {
			set_pte(pvmw.pte, pteval);
			goto fail;
		}
		if (arch_unmap_one(mm, vma, pvmw.address, pteval) < 0) {
			if (!bug_enabled(m, BUG_NO_SWAP_FREE_ON_ARCH_UNMAP_FAILURE))
				swap_free(m, entry);
			set_pte(pvmw.pte, pteval);
			goto fail;
		}
		exclusive = PageAnonExclusive(page);
		if (exclusive && folio_maybe_dma_pinned(folio) && bug_enabled(m, BUG_RECLAIM_UNMAPS_PINNED)) {
			/* Before 5.19: nothing refused the pinned page, nor remembered it was exclusive. */
			ClearPageAnonExclusive(page);
			exclusive = false;
		}
		if (exclusive && folio_try_share_anon_rmap_pte(folio, page)) {
			swap_free(m, entry);
			set_pte(pvmw.pte, pteval);
			goto fail;
		}
		swp_pte = swp_entry_to_pte(entry);
		if (exclusive)
			swp_pte = pte_swp_mkexclusive(swp_pte);
		/* A device-exclusive entry keeps its bits in the swap format (Linux 6.15+ reads them so). */
		if ((pte_present(pteval) ? pte_soft_dirty(pteval) : pte_swp_soft_dirty(pteval)) &&
		    !bug_enabled(m, BUG_SWAP_DROPS_SOFT_DIRTY))
			swp_pte = pte_swp_mksoft_dirty(swp_pte);
		if ((pte_present(pteval) ? pte_uffd_wp(pteval) : pte_swp_uffd_wp(pteval)) &&
		    !bug_enabled(m, BUG_SWAP_DROPS_UFFD_WP))
			swp_pte = pte_swp_mkuffd_wp(swp_pte);
		set_pte(pvmw.pte, swp_pte);
		add_mm_counter(mm, MM_ANONPAGES, -1);
		add_mm_counter(mm, MM_SWAPENTS, 1);
discard:
		folio_remove_rmap_pte(folio, page, vma);
		folio_put(m, folio);	/* the mapping's reference */
		continue;
fail:
		*failed = true;
		page_vma_mapped_walk_done(&pvmw);
		break;
	}
	mmu_notifier_invalidate_range_end(&range);
	return !*failed;
}

/* Models try_to_unmap(): true if no mapping is left. */
static bool try_to_unmap(struct folio *folio)
{
	bool failed = false;
	struct rmap_walk_control rwc = { .arg = &failed, .rmap_one = try_to_unmap_one };

	rmap_walk(folio, &rwc);
	return !folio_mapped(folio);
}

/*
 * Models __remove_mapping(): a clean, unmapped file folio leaves its
 * cache if nobody but the cache and we hold it.  Folio locked.
 */
static bool remove_mapping(struct folio *folio)
{
	if (folio_test_dirty(folio) || folio_mapped(folio) ||
	    folio_ref_count(folio) != 1 + folio_nr_pages(folio))
		return false;
	filemap_remove_folio(folio);
	return true;
}

/*
 * The reclaim of a file or shmem folio still in its cache (locked,
 * referenced by us): unmapped already.  A dirty disk page is written
 * back, a dirty shmem page moves to swap (then freed as a swap-cache
 * folio by the caller: 1), a clean one leaves the cache (0: free it).
 * -1: keep it.
 */
static int shrink_file_folio(struct mml_machine *m, struct folio *folio, bool *activate)
{
	struct address_space *mapping = folio->mapping;

	if (folio_test_dirty(folio)) {
		if (shmem_mapping(mapping)) {
			if (shmem_writeout(folio)) {
				*activate = true;	/* no swap slot */
				return -1;
			}
			trace_mm_vmscan_write_folio(m, folio);
			return 1;
		}
		if (pageout_file_folio(folio))
			return -1;
	}
	return remove_mapping(folio) ? 0 : -1;
}

/*
 * Models shrink_folio_list(): try to free each isolated folio (each
 * holding our reference).  Returns how many were freed; the others are
 * put back on their lists.
 */
static unsigned long shrink_folio_list(struct mml_machine *m, struct folio **folios, unsigned long n,
				       bool ignore_references, struct reclaim_stat *stat);

/* The small folios a split put on list, isolated: through reclaim, as the first one goes. */
static unsigned long shrink_split_tails(struct mml_machine *m, struct list_head *list, bool ignore_references,
					struct reclaim_stat *stat)
{
	struct folio *batch[HPAGE_PMD_NR];
	unsigned long n = 0;

	while (!list_empty(list)) {
		struct folio *folio = list_first_entry(list, struct folio, lru);

		list_del_init(&folio->lru);
		batch[n++] = folio;
	}
	return shrink_folio_list(m, batch, n, ignore_references, stat);
}

/* A folio reclaim could not free: unlocked (if locked), back on its list, active if asked. */
static void shrink_keep(struct mml_machine *m, struct folio *folio, bool locked, bool activate,
			struct reclaim_stat *stat)
{
	if (locked)
		folio_unlock(folio);
	if (activate && !folio_test_mlocked(folio)) {
		folio_set_active(folio);
		stat->nr_activate[!folio_test_swapbacked(folio)]++;
	}
	folio_putback_lru(m, folio);
}

/*
 * A swap-cache folio written out (or clean) and unmapped, locked: freed
 * if only the swap cache and we hold it (1), else kept (0).
 */
static unsigned long shrink_swapcache_folio(struct mml_machine *m, struct folio *folio, struct reclaim_stat *stat)
{
	if (folio_ref_count(folio) != 2 || folio_mapped(folio)) {
		shrink_keep(m, folio, true, false, stat);
		return 0;
	}
	delete_from_swap_cache(m, folio);
	folio_unlock(folio);
	folio_put(m, folio);
	return 1;
}

/*
 * Models swap_write_unplug() at the end of shrink_folio_list(): write the
 * pass's dirty swap-cache folios, a run of contiguous slots at a time,
 * then free each that was written as if its I/O had completed before
 * reclaim looked at it again.  Returns how many were freed.
 */
static unsigned long shrink_write_unplug(struct mml_machine *m, struct folio **plug, int *nr,
					 struct reclaim_stat *stat)
{
	unsigned long freed = 0;
	int err[SWAP_CLUSTER_MAX];

	swap_write_folios(m, plug, *nr, err);
	for (int i = 0; i < *nr; i++) {
		if (err[i]) {
			shrink_keep(m, plug[i], true, false, stat);
			continue;
		}
		trace_mm_vmscan_write_folio(m, plug[i]);
		freed += shrink_swapcache_folio(m, plug[i], stat);
	}
	*nr = 0;
	return freed;
}

static unsigned long shrink_folio_list(struct mml_machine *m, struct folio **folios, unsigned long n,
				       bool ignore_references, struct reclaim_stat *stat)
{
	struct folio *plug[SWAP_CLUSTER_MAX];
	unsigned long freed = 0;
	int nr_plug = 0;

	for (unsigned long i = 0; i < n; i++) {
		struct folio *folio = folios[i];
		bool activate = false, anon;

		if (!folio_trylock(folio))
			goto keep;
		anon = folio_test_anon(folio);
		if (folio_test_dirty(folio))
			stat->nr_dirty++;
		/* Mlocked since it was isolated: back, to the unevictable list. */
		if (!folio_evictable(folio))
			goto keep_locked;
		/* A file folio truncated while we held it: its last reference frees it. */
		if (!anon && !folio->mapping && !folio_test_swapcache(folio))
			goto keep_locked;
		if (!ignore_references) {
			switch (folio_check_references(folio)) {
			case FOLIOREF_ACTIVATE:
				activate = true;
				goto keep_locked;
			case FOLIOREF_KEEP:
				stat->nr_ref_keep++;
				goto keep_locked;
			case FOLIOREF_RECLAIM:
				break;
			}
		}
		if (folio_maybe_dma_pinned(folio) && !bug_enabled(m, BUG_RECLAIM_UNMAPS_PINNED))
			goto keep_locked;
		/*
		 * A large folio: mmlab has no THP swap (one cluster of slots for
		 * the whole folio), so it is split, as Linux does when no
		 * cluster is free (thp_swpout_fallback), and its pages go on
		 * through reclaim one by one.  A page-cache THP is split too
		 * (Linux unmaps and drops a clean one whole: deviation 62).
		 */
		if (folio_test_large(folio)) {
			bool pmd_order = folio_order(folio) == HPAGE_PMD_ORDER;
			LIST_HEAD(tails);

			if (split_folio_to_list(m, folio, &tails))
				goto keep_locked;
			if (pmd_order && folio_test_swapbacked(folio))
				count_vm_event(m, THP_SWPOUT_FALLBACK);
			freed += shrink_split_tails(m, &tails, ignore_references, stat);
		}
		/* A swap-backed anon folio needs a slot before its ptes can name one. */
		if (anon && folio_test_swapbacked(folio) && !folio_test_swapcache(folio)) {
			if (!add_to_swap(m, folio)) {
				activate = true;
				goto keep_locked;
			}
		}
		if (folio_mapped(folio) && !try_to_unmap(folio)) {
			stat->nr_unmap_fail++;
			goto keep_locked;
		}
		if (!anon && folio->mapping) {
			switch (shrink_file_folio(m, folio, &activate)) {
			case -1:
				goto keep_locked;
			case 0:
				goto free_it;
			}
			/* Moved to swap by shmem_writeout: on as a swap-cache folio. */
		} else if (anon && !folio_test_swapbacked(folio)) {
			/* Lazily freed and discarded by the unmap: ours is the last reference. */
			if (folio_ref_count(folio) != 1)
				goto keep_locked;
			goto free_it;
		}
		/* Dirty: written with the pass's others (pageout() into the plug), then freed. */
		if (folio_test_dirty(folio)) {
			plug[nr_plug++] = folio;
			if (nr_plug == SWAP_CLUSTER_MAX)
				freed += shrink_write_unplug(m, plug, &nr_plug, stat);
			continue;
		}
		freed += shrink_swapcache_folio(m, folio, stat);
		continue;
free_it:
		folio_unlock(folio);
		folio_put(m, folio);
		freed++;
		continue;
keep_locked:
		shrink_keep(m, folio, true, activate, stat);
		continue;
keep:
		shrink_keep(m, folio, false, activate, stat);
	}
	return freed + shrink_write_unplug(m, plug, &nr_plug, stat);
}

/* Models shrink_active_list(): age an active list into its inactive one. */
static void shrink_active_list(struct mml_machine *m, enum lru_list lru, unsigned long nr)
{
	struct folio *batch[SWAP_CLUSTER_MAX];
	unsigned long n;

	lru_add_drain(m);	/* this CPU's new folios can be aged too */
	n = isolate_lru_folios(m, lru, min(nr, (unsigned long)SWAP_CLUSTER_MAX), batch);

	for (unsigned long i = 0; i < n; i++) {
		bool locked = false;

		/*
		 * Folios are deactivated whether or not they were used (Linux
		 * keeps referenced executable file pages active; there are
		 * none here): looking clears their accessed bits, so the
		 * inactive list sees only what is used from now on.
		 */
		folio_referenced(batch[i], false, &locked);
		folio_clear_active(batch[i]);
		count_vm_event(m, PGDEACTIVATE);
		folio_putback_lru(m, batch[i]);
	}
	/* Every folio taken goes to the inactive list: none rotated or kept active. */
	trace_mm_vmscan_lru_shrink_active(m, 0, n, 0, n, 0, DEF_PRIORITY, lru == LRU_ACTIVE_FILE);
}

/*
 * The deferred split shrinker, as shrink_slab() runs it after the LRU
 * lists: up to nr queued THPs looked at, the partly mapped (and the
 * underused) split, their unmapped pages freed.  mmlab has no other
 * shrinker, and scans a fixed batch where Linux scales the scan by the
 * reclaim priority.  The pages it freed, as the free count shows them,
 * so that direct reclaim sees its progress.
 */
static unsigned long shrink_deferred_split(struct mml_machine *m, unsigned long nr)
{
	long before = global_vm_stat(m, NR_FREE_PAGES), after;

	if (!READ_ONCE(m->split_queue.split_queue_len))
		return 0;
	deferred_split_scan(m, nr);
	after = global_vm_stat(m, NR_FREE_PAGES);
	return after > before ? (unsigned long)(after - before) : 0;
}

/*
 * drop_slab(): what writing 2 (or 3) to /proc/sys/vm/drop_caches does
 * besides the page cache.  Linux shrinks every shrinker at priority 0
 * until a round frees little; mmlab's one shrinker is the deferred split
 * queue: passes over the whole queue while a pass splits something.
 * Inside an operation (the sysctl file's, or mml_drop_caches').
 */
void drop_slab(struct mml_machine *m)
{
	for (int round = 0; round < 16; round++) {
		unsigned long len = READ_ONCE(m->split_queue.split_queue_len), split = 0;

		/* deferred_split_scan() takes a bounded batch a call, rotating the queue. */
		for (unsigned long seen = 0; seen < len; seen += 64)
			split += deferred_split_scan(m, 64);
		if (!split)
			break;
	}
}

/*
 * Models shrink_inactive_list(): a batch of lru's folios isolated and
 * through shrink_folio_list; the folios freed, *scanned those looked at.
 */
static unsigned long shrink_inactive_list(struct mml_machine *m, enum lru_list lru, bool direct,
					  unsigned long *scanned)
{
	struct folio *batch[SWAP_CLUSTER_MAX];
	struct reclaim_stat stat = { 0 };
	bool file = lru == LRU_INACTIVE_FILE;
	unsigned long n, freed;

	lru_add_drain(m);	/* this CPU's new folios can be reclaimed too */
	n = isolate_lru_folios(m, lru, SWAP_CLUSTER_MAX, batch);
	count_vm_events(m, direct ? PGSCAN_DIRECT : PGSCAN_KSWAPD, (long)n);
	if (!file)
		count_vm_events(m, PGSCAN_ANON, (long)n);
	freed = shrink_folio_list(m, batch, n, false, &stat);
	if (!file)
		count_vm_events(m, PGSTEAL_ANON, (long)freed);
	*scanned = n;
	trace_mm_vmscan_lru_shrink_inactive(m, 0, n, freed, &stat, DEF_PRIORITY, file);
	return freed;
}

/*
 * Models shrink_node() for the anon and lazily freed lists: age, then
 * reclaim from the inactive tails, until nr pages are freed or a pass
 * frees nothing.  direct: counted as direct reclaim, else as kswapd.
 */
unsigned long shrink_lists(struct mml_machine *m, unsigned long nr, bool direct)
{
	/* Like a scan from priority DEF_PRIORITY down to 0: at most every folio twice. */
	unsigned long budget = 2 * (unsigned long)(global_vm_stat(m, NR_INACTIVE_ANON) +
						   global_vm_stat(m, NR_ACTIVE_ANON) +
						   global_vm_stat(m, NR_INACTIVE_FILE) +
						   global_vm_stat(m, NR_ACTIVE_FILE)) + 2 * SWAP_CLUSTER_MAX;
	unsigned long freed = 0, scanned = 0;

	while (freed < nr && scanned < budget) {
		unsigned long n, got, before = freed;

		/* File pages and lazily freed ones first: they cost little or no I/O. */
		if (global_vm_stat(m, NR_INACTIVE_FILE) <= global_vm_stat(m, NR_ACTIVE_FILE))
			shrink_active_list(m, LRU_ACTIVE_FILE, 2 * SWAP_CLUSTER_MAX);
		freed += shrink_inactive_list(m, LRU_INACTIVE_FILE, direct, &n);
		scanned += n;
		got = n;
		if (atomic_long_read(&m->nr_swap_pages) > 0) {
			if (global_vm_stat(m, NR_INACTIVE_ANON) <= global_vm_stat(m, NR_ACTIVE_ANON))
				shrink_active_list(m, LRU_ACTIVE_ANON, 2 * SWAP_CLUSTER_MAX);
			freed += shrink_inactive_list(m, LRU_INACTIVE_ANON, direct, &n);
			scanned += n;
			got += n;
		}
		count_vm_events(m, direct ? PGSTEAL_DIRECT : PGSTEAL_KSWAPD, (long)(freed - before));
		if (!got)
			break;	/* nothing left to look at */
	}
	freed += shrink_deferred_split(m, SWAP_CLUSTER_MAX);
	/* Direct reclaim that gets somewhere wakes a kswapd that had given up. */
	if (direct && freed && atomic_read(&m->kswapd_failures))
		atomic_set(&m->kswapd_failures, 0);
	return freed;
}

/* As memory.reclaim (user_proactive_reclaim): every CPU's new folios first, then the lists. */
long mml_reclaim(struct mml_machine *m, uint64_t nr_pages)
{
	long freed;

	op_enter(m, NULL);
	lru_add_drain_all(m);
	freed = (long)shrink_lists(m, nr_pages, true);
	return op_exit(m, freed);
}

/*
 * Models reclaim_pages() for MADV_PAGEOUT: reclaim these folios now,
 * whether or not they were used lately.
 */
unsigned long reclaim_pages(struct mml_machine *m, struct folio **folios, unsigned long n)
{
	struct reclaim_stat stat = { 0 };

	return shrink_folio_list(m, folios, n, true, &stat);
}

/* Models try_to_free_pages(): the reclaim an allocation does itself before it fails. */
unsigned long try_to_free_pages(struct mml_machine *m, gfp_t gfp, unsigned int order, unsigned long nr)
{
	unsigned long progress;

	trace_mm_vmscan_direct_reclaim_begin(m, (int)order, gfp);
	progress = shrink_lists(m, nr, true);
	trace_mm_vmscan_direct_reclaim_end(m, progress);
	return progress;
}

/* ---- kswapd ---------------------------------------------------------------------------------- */

static bool below_wmark(struct mml_machine *m, enum zone_watermarks w)
{
	return global_vm_stat(m, NR_FREE_PAGES) < (long)total_watermark(m, w);
}

/* Linux's MAX_RECLAIM_RETRIES: kswapd gives up after this many futile runs. */
#define MAX_RECLAIM_RETRIES	16

/*
 * Models wakeup_kswapd(): free memory fell below the low watermark.  A
 * kswapd that keeps failing is left asleep until direct reclaim frees
 * something again (pgdat->kswapd_failures).
 */
void wakeup_kswapd(struct mml_machine *m, gfp_t gfp, unsigned int order)
{
	if (!m->kswapd || !below_wmark(m, WMARK_LOW) ||
	    atomic_read(&m->kswapd_failures) >= MAX_RECLAIM_RETRIES)
		return;
	if (!test_bit(KSWAPD_WAKE, &m->kswapd_flags)) {
		trace_mm_vmscan_wakeup_kswapd(m, 0, 0, (int)order, gfp);
		set_bit_wake(KSWAPD_WAKE, &m->kswapd_flags);
	}
}

/*
 * Models balance_pgdat(): reclaim a batch at a time until free memory is
 * back above the high watermark, or a batch frees nothing.  As an
 * operation, so that the checker sees the machine still.
 */
static void balance_pgdat(struct mml_machine *m)
{
	unsigned long freed = 0, n;

	op_enter(m, NULL);
	count_vm_event(m, PAGEOUTRUN);
	while (below_wmark(m, WMARK_HIGH) && !test_bit(KSWAPD_STOP, &m->kswapd_flags)) {
		n = shrink_lists(m, SWAP_CLUSTER_MAX, false);
		if (!n)
			break;
		freed += n;
	}
	if (freed)
		atomic_set(&m->kswapd_failures, 0);
	else
		atomic_inc(&m->kswapd_failures);
	op_exit(m, 0);
}

/* Models kswapd(): sleep until woken, balance, sleep again. */
static void *kswapd(void *arg)
{
	struct mml_machine *m = arg;

	trace_kthread_comm = "kswapd0";
	for (;;) {
		bit_wait_set(KSWAPD_WAKE, &m->kswapd_flags);
		if (test_bit(KSWAPD_STOP, &m->kswapd_flags))
			return NULL;
		clear_bit(KSWAPD_WAKE, &m->kswapd_flags);
		trace_mm_vmscan_kswapd_wake(m, 0, 0, 0);
		balance_pgdat(m);
		/* kswapd_try_to_sleep()'s: traced once it has worked, not when it first waits. */
		trace_mm_vmscan_kswapd_sleep(m, 0);
	}
}

/* kswapd_run(): one host thread, for the machine's one node. */
int kswapd_run(struct mml_machine *m)
{
	return machine_thread_start(m, &m->kswapd, "kswapd", kswapd, &m->kswapd_flags);
}

/* Models kswapd_stop(): at power-off, before the machine goes away. */
void kswapd_stop(struct mml_machine *m)
{
	if (!m->kswapd)
		return;
	set_bit(KSWAPD_STOP, &m->kswapd_flags);
	set_bit_wake(KSWAPD_WAKE, &m->kswapd_flags);
	machine_thread_join(m, m->kswapd);
	m->kswapd = NULL;
}
