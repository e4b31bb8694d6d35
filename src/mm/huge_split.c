/*
 * huge_split.c - splitting a large anon folio into small ones, and the
 * deferred split queue (Linux's split_huge_page_to_list_to_order and
 * deferred_split_* in mm/huge_memory.c; one file here for size).
 *
 * A split happens in place: no byte moves, only the metadata changes.
 * Nobody may count on the folio meanwhile, so, as Linux does: lock the
 * folio and its anon_vma (for write: no rmap walk runs), turn every
 * mapping into a migration entry (try_to_migrate: faults on them wait
 * for the folio lock, GUP-fast fails), freeze the refcount at the
 * references we expect (a pin or any other holder makes it fail), build
 * the small folios, and put the ptes back (remove_migration_ptes).  Pages
 * no pte maps any more are freed.
 */
#include <string.h>

#include "mm/internal.h"

/* ---- the deferred split queue ----------------------------------------------------- */

static bool folio_test_partially_mapped(const struct folio *folio)
{
	return folio_order(folio) > 1 && test_bit(PG_partially_mapped, &folio->_flags_1);
}

/*
 * deferred_split_folio(): queue a THP for the shrinker.  Linux 6.12+
 * queues every new anon THP (it may turn out underused) and marks the
 * ones partly unmapped; thp_deferred_split_page counts those only.
 */
void deferred_split_folio(struct mml_machine *m, struct folio *folio, bool partially_mapped)
{
	struct deferred_split *q = &m->split_queue;

	if (folio_order(folio) <= 1 || is_huge_zero_folio(m, folio))
		return;
	if (folio_test_partially_mapped(folio))
		return;
	spin_lock(&q->split_queue_lock);
	if (partially_mapped && !folio_test_partially_mapped(folio)) {
		set_bit(PG_partially_mapped, &folio->_flags_1);
		if (folio_order(folio) == HPAGE_PMD_ORDER)
			count_vm_event(m, THP_DEFERRED_SPLIT_PAGE);
	}
	if (list_empty(&folio->_deferred_list)) {
		list_add_tail(&folio->_deferred_list, &q->split_queue);
		q->split_queue_len++;
	}
	spin_unlock(&q->split_queue_lock);
}

/* Off the queue, under its lock. */
static void __folio_unqueue_deferred_split(struct deferred_split *q, struct folio *folio)
{
	if (!list_empty(&folio->_deferred_list)) {
		list_del_init(&folio->_deferred_list);
		q->split_queue_len--;
	}
	clear_bit(PG_partially_mapped, &folio->_flags_1);
}

/*
 * folio_unqueue_deferred_split(): the folio is being freed.  Nobody can
 * queue it any more, so a glance without the lock is enough to skip the
 * lock when it is not queued (Linux's data_race()); the glance races with
 * the queue's lock holders relinking its neighbours, which rewrite its
 * next pointer, hence READ_ONCE (LIST_WRITE_NEXT's pair).  Queued, it is
 * taken off under the lock, which tests again.
 */
void folio_unqueue_deferred_split(struct mml_machine *m, struct folio *folio)
{
	struct deferred_split *q = &m->split_queue;

	if (folio_order(folio) <= 1 || READ_ONCE(folio->_deferred_list.next) == &folio->_deferred_list)
		return;
	spin_lock(&q->split_queue_lock);
	__folio_unqueue_deferred_split(q, folio);
	spin_unlock(&q->split_queue_lock);
}

/*
 * thp_underused(): more zero-filled pages than khugepaged's max_ptes_none
 * allows a collapse to bring in; never with max_ptes_none at its default
 * (HPAGE_PMD_NR - 1), as Linux.
 */
static bool thp_underused(struct mml_machine *m, struct folio *folio)
{
	static const char zeros[PAGE_SIZE];
	unsigned max_none = READ_ONCE(m->thp.khugepaged_max_ptes_none), none = 0;

	if (max_none == HPAGE_PMD_NR - 1)
		return false;
	for (long i = 0; i < folio_nr_pages(folio); i++)
		if (!memcmp(page_address(m, folio_page(folio, i)), zeros, PAGE_SIZE) && ++none > max_none)
			return true;
	return false;
}

/*
 * deferred_split_scan(): the queue's shrinker (run by reclaim and by
 * drop_caches' slab pass): split the partly mapped folios, and those
 * found underused; the others leave the queue.  At most nr looked at.
 */
unsigned long deferred_split_scan(struct mml_machine *m, unsigned long nr)
{
	struct deferred_split *q = &m->split_queue;
	struct folio *batch[64];
	unsigned long n = 0, split = 0;

	spin_lock(&q->split_queue_lock);
	while (n < nr && n < ARRAY_SIZE(batch) && !list_empty(&q->split_queue)) {
		struct folio *folio = list_first_entry(&q->split_queue, struct folio, _deferred_list);

		/* Being freed: its put unqueues it; until then, out of the way. */
		if (!folio_try_get(folio)) {
			__folio_unqueue_deferred_split(q, folio);
			continue;
		}
		list_move_tail(&folio->_deferred_list, &q->split_queue);
		batch[n++] = folio;
	}
	spin_unlock(&q->split_queue_lock);

	for (unsigned long i = 0; i < n; i++) {
		struct folio *folio = batch[i];

		if (!folio_test_partially_mapped(folio) && !thp_underused(m, folio)) {
			folio_unqueue_deferred_split(m, folio);
		} else if (folio_trylock(folio)) {
			if (!split_folio(m, folio))
				split++;
			folio_unlock(folio);
		}
		folio_put(m, folio);
	}
	return split;
}

/* ---- split_folio ------------------------------------------------------------------ */

/*
 * __split_huge_page(): the metadata of a frozen, unmapped folio becomes
 * nr small folios: each page keeps its own PG_anon_exclusive and tag
 * state, takes the folio's state flags, its mapping and index, and one
 * reference (the splitter's, dropped after the remap); on the LRU each
 * sits beside the first, or, with list (the folio isolated by reclaim),
 * on list with a reference of its own.  extra_refs: references the head
 * keeps.
 */
static void __split_huge_page(struct mml_machine *m, struct folio *folio, int extra_refs, struct list_head *list)
{
	const unsigned long own = (1UL << PG_anon_exclusive) | (1UL << PG_mte_tagged) | (1UL << PG_hwpoison);
	const unsigned long inherit = (1UL << PG_referenced) | (1UL << PG_uptodate) | (1UL << PG_dirty) |
				      (1UL << PG_active) | (1UL << PG_workingset) | (1UL << PG_swapbacked) |
				      (1UL << PG_locked) | (1UL << PG_unevictable) | (1UL << PG_mlocked);
	unsigned long head_flags = READ_ONCE(folio->flags);
	long nr = folio_nr_pages(folio);

	spin_lock(&m->lruvec.lru_lock);
	/* From the last, so that each is added right after the head and they end in order. */
	for (long i = nr - 1; i >= 1; i--) {
		struct page *tail = folio_page(folio, i);
		struct folio *new_folio = (struct folio *)tail;

		VM_BUG_ON_PAGE(atomic_read(&tail->_mapcount) != -1, m, tail);
		WRITE_ONCE(tail->flags, (READ_ONCE(tail->flags) & own) | (head_flags & inherit));
		INIT_LIST_HEAD(&new_folio->lru);	/* overwrites compound_head: a folio of its own */
		new_folio->mapping = folio->mapping;
		new_folio->index = folio->index + (unsigned long)i;
		new_folio->private = 0;
		WRITE_ONCE(new_folio->order, 0);
		folio_ref_unfreeze(new_folio, 1);
		if (list) {
			folio_get(new_folio);
			list_add_tail(&new_folio->lru, list);
		} else {
			lru_add_split_folio(m, folio, new_folio);
		}
	}
	clear_bit(PG_head, &folio->flags);
	clear_bit(PG_large_rmappable, &folio->flags);
	WRITE_ONCE(folio->order, 0);
	spin_unlock(&m->lruvec.lru_lock);
	/* Unfreeze: the head is a small folio now, with what its holders had. */
	folio_ref_unfreeze(folio, 1 + extra_refs);
}

/*
 * split_file_folio(): a large page-cache folio, locked and referenced by
 * the caller (and isolated, with list), becomes small ones in its cache.
 * Unlike an anon folio's, its mappings are not kept: every pte and pmd of
 * it goes first (faults map it again, after the folio lock is dropped,
 * small), and the refcount is frozen under the cache's lock at what the
 * cache and the caller hold, so that no lookup finds it meanwhile.  Each slot then holds its own small folio, with the cache's
 * reference; pages past the end of the file leave the cache (a shmem
 * huge page may reach past it).  0 or -EAGAIN (another reference).
 */
static int split_file_folio(struct mml_machine *m, struct folio *folio, struct list_head *list)
{
	struct address_space *mapping = folio->mapping;
	struct inode *inode = mapping->host;
	long nr = folio_nr_pages(folio), frozen = 1 + nr;	/* ours (reclaim's isolation, with list) and the cache's */
	unsigned long end;
	bool shmem = shmem_mapping(mapping);

	if (folio_mapped(folio))
		unmap_mapping_range(mapping, (int64_t)folio->index << PAGE_SHIFT, (int64_t)nr << PAGE_SHIFT, false);
	if (folio_mapped(folio))
		return -EAGAIN;	/* a device-exclusive entry or a migration holds it */
	xa_lock(&mapping->i_pages);
	if (!folio_ref_freeze(folio, (int)frozen)) {
		xa_unlock(&mapping->i_pages);
		return -EAGAIN;	/* a pin, GUP, or a lookup in flight */
	}
	if (folio_order(folio) == HPAGE_PMD_ORDER)
		mod_vm_stat(m, shmem ? NR_SHMEM_THPS : NR_FILE_THPS, -1);
	if (!shmem && folio_order(folio) == HPAGE_PMD_ORDER)
		atomic_add(-1, &mapping->nr_thps);
	__split_huge_page(m, folio, 1, list);	/* the head keeps ours and the cache's */
	end = (unsigned long)((i_size_read(inode) + (int64_t)PAGE_SIZE - 1) >> PAGE_SHIFT);
	for (long i = 1; i < nr; i++) {
		struct folio *new_folio = page_folio(folio_page(folio, i));

		folio_ref_add(new_folio, 1);	/* the cache's */
		__xa_store(&mapping->i_pages, new_folio->index, new_folio);
		if (new_folio->index >= end) {
			__filemap_remove_folio(new_folio, NULL);
			folio_put(m, new_folio);	/* the cache's; ours frees it below */
		}
	}
	xa_unlock(&mapping->i_pages);
	/* The small folios but the first: unlocked, and our reference dropped (and list's, if gone). */
	for (long i = 1; i < nr; i++) {
		struct folio *new_folio = page_folio(folio_page(folio, i));

		folio_unlock(new_folio);
		if (list && !new_folio->mapping) {
			list_del_init(&new_folio->lru);
			folio_put(m, new_folio);
		}
		folio_put(m, new_folio);
	}
	return 0;
}

/*
 * split_folio_to_list(): see split_folio in internal.h; list: the folio is
 * isolated, and the other small folios join list, isolated too.  The
 * folio is not the huge zero folio, not in the swap cache (a large folio
 * never enters it: reclaim splits first), not under writeback; a file
 * folio is still in its page cache (split_file_folio).
 */
int split_folio_to_list(struct mml_machine *m, struct folio *folio, struct list_head *list)
{
	struct anon_vma *av;
	long nr = folio_nr_pages(folio);
	bool pmd_order = folio_order(folio) == HPAGE_PMD_ORDER;
	int ret = -EBUSY;

	VM_BUG_ON_FOLIO(!folio_test_locked(folio), m, folio);
	if (!folio_test_large(folio))
		return 0;
	if (is_huge_zero_folio(m, folio) || folio_test_swapcache(folio) || folio_test_writeback(folio))
		goto out;
	if (!folio_test_anon(folio)) {
		if (folio->mapping)
			ret = split_file_folio(m, folio, list);
		goto out;
	}
	av = folio_get_anon_vma(folio);
	if (!av)
		goto out;
	anon_vma_lock_write(av);
	ret = -EAGAIN;
	/* can_split_folio(): nothing but the mappings and our reference. */
	if (folio_ref_count(folio) != folio_mapcount(folio) + 1)
		goto out_unlock;
	try_to_migrate(folio, true);
	spin_lock(&m->split_queue.split_queue_lock);
	if (folio_ref_freeze(folio, 1)) {
		__folio_unqueue_deferred_split(&m->split_queue, folio);
		spin_unlock(&m->split_queue.split_queue_lock);
		__split_huge_page(m, folio, 0, list);
		for (long i = 0; i < nr; i++) {
			struct folio *new_folio = page_folio(folio_page(folio, i));

			remove_migration_ptes(new_folio, new_folio, true);
		}
		/*
		 * The small folios but the first: unlocked, and freed unless
		 * mapped (an isolated one nobody maps leaves list first, as
		 * Linux 6.12+ frees zapped tails at once).
		 */
		for (long i = 1; i < nr; i++) {
			struct folio *new_folio = page_folio(folio_page(folio, i));

			folio_unlock(new_folio);
			if (list && !folio_mapped(new_folio)) {
				list_del_init(&new_folio->lru);
				folio_put(m, new_folio);
			}
			folio_put(m, new_folio);
		}
		ret = 0;
	} else {
		/* A pin, a GUP or a racing holder: every pte comes back as it was. */
		spin_unlock(&m->split_queue.split_queue_lock);
		remove_migration_ptes(folio, folio, true);
	}
out_unlock:
	anon_vma_unlock_write(av);
	put_anon_vma(av);
out:
	if (pmd_order)
		count_vm_event(m, ret ? THP_SPLIT_PAGE_FAILED : THP_SPLIT_PAGE);
	return ret;
}

int split_folio(struct mml_machine *m, struct folio *folio)
{
	return split_folio_to_list(m, folio, NULL);
}

/*
 * split_huge_pages_pid(): the debugfs file's work (Linux's
 * split_huge_pages_pid): each large anon folio mapped in [start, end) of
 * process pid is split, once.  As Linux's, the walk stops at the first
 * address no VMA holds, and an empty range (start >= end) splits nothing
 * and succeeds.  0, or -ESRCH.
 */
int split_huge_pages_pid(struct mml_machine *m, int pid, uint64_t start, uint64_t end)
{
	struct mm_struct *mm = NULL, *it;
	uint64_t addr;

	spin_lock(&m->tasks_lock);
	list_for_each_entry(it, &m->mms, mm_node)
		if (it->tgid == pid && mmget_not_zero(it)) {
			mm = it;
			break;
		}
	spin_unlock(&m->tasks_lock);
	if (!mm)
		return -ESRCH;
	down_read(&mm->mmap_lock);
	for (addr = start; addr < end && addr < TASK_SIZE;) {
		struct vm_area_struct *vma = vma_lookup(mm, addr);
		struct folio *folio;
		struct page *page;
		pmd_t *pmd;

		if (!vma)
			break;
		page = NULL;
		pmd = mm_find_pmd(mm, addr);
		if (pmd) {
			pmd_t pmdval = pmdp_get(pmd);

			if (pmd_trans_huge(pmdval)) {
				page = pmd_page(m, pmdval) + pte_index(addr);
			} else {
				pte_t pte = mm_pte_lockless(mm, addr);

				if (pte_present(pte))
					page = vm_normal_page(vma, addr, pte);
			}
		}
		if (!page || !folio_test_large(page_folio(page)) || !folio_try_get(page_folio(page))) {
			addr += PAGE_SIZE;
			continue;
		}
		folio = page_folio(page);
		/* The folio's pages from here are done whether it splits or not. */
		addr += (uint64_t)(folio_nr_pages(folio) - (page - &folio->page)) << PAGE_SHIFT;
		if (folio_test_anon(folio) && !is_huge_zero_folio(m, folio) && folio_trylock(folio)) {
			split_folio(m, folio);
			folio_unlock(folio);
		}
		folio_put(m, folio);
	}
	up_read(&mm->mmap_lock);
	mmput(mm);
	return 0;
}
