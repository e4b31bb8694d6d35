/*
 * migrate.c - page migration (Linux's mm/migrate.c): moving a folio's
 * contents to a new folio while every mapping of it waits on a migration
 * entry, the migrate_pages() loop around it, and the move_pages syscall;
 * and the same entries' two other users: a fault that meets one waits
 * (migration_entry_wait), and splitting a large folio in place
 * (huge_split.c) puts the ptes back with remove_migration_ptes().
 *
 * What a folio keeps across a move (seed 000, seed 003): its bytes and
 * tags (copy_user_highpage, as arm64's copy_highpage carries MTE tags),
 * its flags (folio_migrate_flags: dirty above all, so that a lazily
 * freed folio written since is never taken for clean), its place in the
 * swap or page cache, and, through the migration entries, each pte's
 * write, PG_anon_exclusive, young, dirty, soft-dirty and uffd-wp bits.
 * A pinned folio never moves: try_to_migrate() cannot unshare a
 * maybe-pinned exclusive page, and folio_expected_ref_count() sees any
 * other extra reference.  Large folios are split first (Linux's path
 * where THP migration is not supported): docs/deviations.md.
 */
#include "mm/internal.h"
#include "mm/ksm.h"
#include "mm/mempolicy.h"
#include "mm/pagewalk.h"

/*
 * remove_migration_pte(): every migration entry of vma naming a page of
 * the old folio (arg) becomes a pte mapping the same page of folio, with
 * the rights and bits the entry kept: a writable entry writable (as the
 * VMA allows), an exclusive or writable one PG_anon_exclusive; the
 * mapping and its reference come back.
 */
static bool remove_migration_pte(struct folio *folio, struct vm_area_struct *vma, uint64_t addr, void *arg)
{
	struct folio *src = arg;
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	DEFINE_FOLIO_VMA_WALK(pvmw, src, vma, addr);

	pvmw.flags = PVMW_MIGRATION;
	while (page_vma_mapped_walk(&pvmw)) {
		pte_t old = ptep_get(pvmw.pte), pte;
		swp_entry_t entry = pte_to_swp_entry(old);
		long idx = (long)(swp_offset_pfn(entry) - folio_pfn(m, src));
		struct page *page = folio_page(folio, idx);
		rmap_t flags = RMAP_NONE;

		folio_get(folio);
		pte = pte_mkold(mk_pte(m, page, vma->vm_page_prot));
		if (is_migration_entry_young(entry))
			pte = pte_mkyoung(pte);
		if (folio_test_dirty(folio) && is_migration_entry_dirty(entry))
			pte = pte_mkdirty(pte);
		pte = pte_swp_soft_dirty(old) ? pte_mksoft_dirty(pte) : pte_clear_soft_dirty(pte);
		if (is_writable_migration_entry(entry))
			pte = maybe_mkwrite(pte, vma);
		else if (pte_swp_uffd_wp(old))
			pte = pte_mkuffd_wp(pte);
		if (folio_test_anon(folio) && !is_readable_migration_entry(entry) &&
		    !(src != folio && bug_enabled(m, BUG_MIGRATE_DROPS_EXCLUSIVE)))
			flags |= RMAP_EXCLUSIVE;
		if (folio_test_anon(folio))
			folio_add_anon_rmap_pte(folio, page, vma, pvmw.address, flags);
		else
			folio_add_file_rmap_ptes(folio, page, 1, vma);
		set_pte_at(mm, pvmw.address, pvmw.pte, pte);
		trace_remove_migration_pte(m, pvmw.address, pte_val(pte), (int)folio_order(folio));
	}
	return true;
}

/*
 * remove_migration_ptes(): the migration entries of src's pages map dst's
 * pages now (src == dst: a folio split in place, or a migration that
 * failed).  dst is locked and has src's mapping and index; rmap_locked:
 * the caller holds the anon_vma lock.
 */
void remove_migration_ptes(struct folio *src, struct folio *dst, bool rmap_locked)
{
	struct rmap_walk_control rwc = { .rmap_one = remove_migration_pte, .arg = src };

	if (rmap_locked)
		rmap_walk_locked(dst, &rwc);
	else
		rmap_walk(dst, &rwc);
}

/*
 * migration_entry_wait(): a fault met a migration entry.  While it is
 * still there, wait until its folio is unlocked (the migration or split
 * is over), then let the fault retry.  No reference is taken: the struct
 * page outlives any folio, and the entry is looked at again on each
 * round.
 */
void migration_entry_wait(struct mm_struct *mm, pmd_t *pmd, uint64_t address)
{
	struct mml_machine *m = mm->machine;
	struct folio *folio;
	spinlock_t *ptl;
	pte_t *ptep, pte;

	for (;;) {
		ptep = pte_offset_map_lock(mm, pmd, address, &ptl);
		if (!ptep)
			return;
		pte = ptep_get(ptep);
		if (!is_migration_pte(pte)) {
			pte_unmap_unlock(ptep, ptl);
			return;
		}
		folio = page_folio(pfn_to_page(m, swp_offset_pfn(pte_to_swp_entry(pte))));
		pte_unmap_unlock(ptep, ptl);
		/*
		 * A migration held half way is finished here.  Otherwise wait a
		 * little and look at the pte again: a migration being held right
		 * now (its record not yet listed) is met on a later look, and a
		 * folio freed and reused meanwhile (perhaps as a held
		 * migration's new folio, locked for as long as it is held) is
		 * not waited on for ever.
		 */
		if (migrate_finish_held_folio(m, folio) || bit_wait_timeout(PG_locked, &folio->flags, 1))
			return;
	}
}

/* ---- moving a folio ----------------------------------------------------------------------- */

/*
 * Models folio_expected_ref_count(): the references an unmapped folio
 * has for what it is: one per page for the swap cache, or for the page
 * cache; the mappings (none left once unmapped).  The caller's isolation
 * reference comes on top.
 */
static int folio_expected_ref_count(struct folio *folio)
{
	int nr = (int)folio_nr_pages(folio), refs = folio_mapcount(folio);

	/* the swap cache's (an anon folio's, or shmem's written out), else the page cache's */
	if (folio_test_swapcache(folio))
		return refs + nr;
	return refs + (!folio_test_anon(folio) && folio->mapping ? nr : 0);
}

/*
 * Models __folio_migrate_mapping(): dst takes src's place in the swap
 * cache or the page cache, with the cache's references, while src's
 * count is frozen at zero so that no lookup takes it meanwhile.  -EAGAIN
 * if src has references beyond the expected ones (a pin, a GUP, a
 * racing lookup).
 */
static int folio_migrate_mapping(struct mml_machine *m, struct folio *dst, struct folio *src)
{
	int expected = folio_expected_ref_count(src) + 1;
	int nr = (int)folio_nr_pages(src);

	/*
	 * folio_mapping() NULL: anon outside the swap cache, or a file folio
	 * truncated while isolated.  A shmem folio written out is in the swap
	 * cache with no mapping of its own: the swap cache's slot moves.
	 */
	if (!folio_test_swapcache(src) && (folio_test_anon(src) || !src->mapping)) {
		if (folio_ref_count(src) != expected)
			return -EAGAIN;
		dst->index = src->index;
		WRITE_ONCE(dst->mapping, src->mapping);
		return 0;
	}
	if (folio_test_swapcache(src)) {
		struct swap_info_struct *si = swap_info_get(m, src->swap);

		spin_lock(&si->lock);
		if (!folio_ref_freeze(src, expected)) {
			spin_unlock(&si->lock);
			return -EAGAIN;
		}
		dst->index = src->index;
		WRITE_ONCE(dst->mapping, src->mapping);
		dst->swap = src->swap;
		folio_set_swapcache(dst);
		si->cache[swp_offset(src->swap)] = dst;
		folio_clear_swapcache(src);
		src->swap.val = 0;
		spin_unlock(&si->lock);
	} else {
		struct address_space *mapping = src->mapping;

		xa_lock(&mapping->i_pages);
		if (!folio_ref_freeze(src, expected)) {
			xa_unlock(&mapping->i_pages);
			return -EAGAIN;
		}
		dst->index = src->index;
		WRITE_ONCE(dst->mapping, mapping);
		__xa_store(&mapping->i_pages, src->index, dst);
		xa_unlock(&mapping->i_pages);
	}
	atomic_add(nr, &dst->_refcount);		/* the cache's references move over */
	folio_ref_unfreeze(src, expected - nr);	/* ours and nothing else */
	return 0;
}

/*
 * Models folio_migrate_flags(): what the new folio must say that the old
 * one said.  Dirty above all: a lazily freed folio written since (dirty,
 * not swap-backed) that arrived clean would be discarded by reclaim.
 */
static void folio_migrate_flags(struct mml_machine *m, struct folio *dst, struct folio *src)
{
	/*
	 * Not PG_mlocked: the old folio's locked mappings munlocked it as
	 * they went, and bring the new one's mlock back as they return
	 * (remove_migration_pte); PG_unevictable only tells lru_add to count
	 * the move back (unevictable_pgs_rescued) until then.
	 */
	static const int copied[] = { PG_referenced, PG_uptodate, PG_active, PG_workingset, PG_unevictable,
				      PG_swapbacked };

	for (unsigned i = 0; i < sizeof(copied) / sizeof(copied[0]); i++)
		if (test_bit(copied[i], &src->flags))
			set_bit(copied[i], &dst->flags);
	if (folio_test_dirty(src) &&
	    !(bug_enabled(m, BUG_MIGRATE_LAZYFREE_CLEAN) && folio_test_anon(src) && !folio_test_swapbacked(src)))
		folio_set_dirty(dst);
	folio_clear_active(src);
	folio_clear_dirty(src);
}

/* Models folio_copy(): every page's bytes and, as arm64's copy_highpage, its tags. */
static void folio_copy(struct mml_machine *m, struct folio *dst, struct folio *src)
{
	for (long i = 0; i < folio_nr_pages(src); i++) {
		if (bug_enabled(m, BUG_MIGRATE_NO_TAG_COPY))
			page_data_copy(page_address(m, folio_page(dst, i)), page_address(m, folio_page(src, i)),
				       PAGE_SIZE);
		else
			copy_user_highpage(m, folio_page(dst, i), folio_page(src, i));
	}
}

/*
 * Models migrate_folio_unmap(): the first half of moving one isolated
 * small folio.  Allocate its new folio, lock both, keep the anon_vma
 * alive and replace every mapping by a migration entry.  0 with ms
 * filled (src and dst locked; faults on the entries now wait), or
 * -EAGAIN (under writeback, or still mapped: a pinned exclusive page;
 * everything is as it was), or -ENOMEM (no new folio).
 */
static int migrate_folio_unmap(struct mml_machine *m, struct folio *src, new_folio_t *get_new_folio,
			       unsigned long private, struct migrate_state *ms)
{
	struct folio *dst = get_new_folio(m, src, private);

	if (!dst)
		return -ENOMEM;
	*ms = (struct migrate_state){ .src = src, .dst = dst };
	folio_lock(src);
	if (folio_test_writeback(src))
		goto fail;
	/*
	 * Keep the anon_vma alive while no pte points at the folio.  A KSM
	 * folio has none of its own: its stable node's items hold theirs.
	 */
	if (folio_test_anon(src) && !folio_test_ksm(src) && folio_mapped(src)) {
		ms->anon_vma = folio_get_anon_vma(src);
		if (!ms->anon_vma)
			goto fail;
	}
	folio_lock(dst);	/* new: never contended */
	ms->was_mapped = folio_mapped(src);
	if (ms->was_mapped && !try_to_migrate(src, false)) {
		remove_migration_ptes(src, src, false);
		folio_unlock(dst);
		goto fail;
	}
	return 0;
fail:
	folio_unlock(src);
	if (ms->anon_vma)
		put_anon_vma(ms->anon_vma);
	folio_put(m, dst);
	return -EAGAIN;
}

/*
 * Models migrate_folio_move(): the second half.  Move the cache slot and
 * the contents to dst and map dst where the entries are, or, if src has
 * references beyond the expected ones, map src back (-EAGAIN).  Both
 * folios unlocked after; on success src has only the isolation
 * reference, and dst lives on by its mappings, its cache slot and the
 * LRU (a dst nothing maps any more, its mappings zapped meanwhile, is
 * freed with the allocation's reference, and leaves the LRU then).
 */
static int migrate_folio_move(struct mml_machine *m, struct migrate_state *ms)
{
	struct folio *src = ms->src, *dst = ms->dst;
	int rc = folio_migrate_mapping(m, dst, src);

	/*
	 * Only a folio that was mapped has entries to put back: an unmapped
	 * anon one (in the swap cache) holds no anon_vma reference, whose
	 * anon_vma may be gone with its process; its rmap must not be walked.
	 */
	if (rc) {
		if (ms->was_mapped)
			remove_migration_ptes(src, src, false);
	} else {
		folio_copy(m, dst, src);
		folio_migrate_flags(m, dst, src);
		/* A KSM folio's stable node moves to dst before dst is mapped (rmap_walk_ksm finds them). */
		folio_migrate_ksm(m, dst, src);
		/*
		 * On the LRU before it is mapped again: each locked VMA that maps
		 * it then counts in its mlock_count (an isolated folio's would
		 * be lost, and an munlock later would take its last).
		 */
		folio_add_lru(m, dst);
		if (ms->was_mapped)
			remove_migration_ptes(src, dst, false);
		/* The old folio is nothing now: no mapping, no cache slot. */
		WRITE_ONCE(src->mapping, NULL);
	}
	folio_unlock(dst);
	folio_unlock(src);
	if (ms->anon_vma)
		put_anon_vma(ms->anon_vma);
	folio_put(m, dst);	/* the allocation's reference */
	return rc;
}

/* One isolated small folio moved: 0, -EAGAIN (try again) or -ENOMEM. */
static int migrate_folio_one(struct mml_machine *m, struct folio *src, new_folio_t *get_new_folio,
			     unsigned long private)
{
	struct migrate_state ms;
	int rc = migrate_folio_unmap(m, src, get_new_folio, private, &ms);

	return rc ? rc : migrate_folio_move(m, &ms);
}

/*
 * Models migrate_pages(): try every folio of from, up to
 * NR_MAX_MIGRATE_PAGES_RETRY passes while some ask to be retried.  A
 * moved folio leaves the list (its isolation reference dropped, so it is
 * freed); the others stay for the caller's putback_movable_pages().  A
 * large folio is split first, its pieces joining the list.  Returns the
 * folios not moved, or -ENOMEM when no new folio could be had.
 */
long migrate_pages(struct mml_machine *m, struct list_head *from, new_folio_t *get_new_folio,
		   unsigned long private, enum migrate_reason reason)
{
	long nr_failed = 0, failed_pages = 0, succeeded = 0, nr_split = 0;
	int retry = 1, rc = 0;

	/* mmlab migrates synchronously, whatever the reason: MIGRATE_SYNC. */
	trace_mm_migrate_pages_start(m, MIGRATE_SYNC, reason);
	for (int pass = 0; pass < NR_MAX_MIGRATE_PAGES_RETRY && retry; pass++) {
		struct folio *folio, *next;

		retry = 0;
		list_for_each_entry_safe(folio, next, from, lru) {
			if (folio_test_large(folio)) {
				folio_lock(folio);
				rc = split_folio_to_list(m, folio, from);
				folio_unlock(folio);
				if (!rc) {
					count_vm_event(m, THP_MIGRATION_SPLIT);
					nr_split++;
					next = list_entry(folio->lru.next, struct folio, lru);	/* the pieces are on from */
				} else {
					retry++;
					continue;
				}
			}
			/* Freed under us: only the isolation reference is left (no mapping, no cache). */
			if (folio_ref_count(folio) == 1) {
				list_del(&folio->lru);
				folio_put(m, folio);
				succeeded++;
				continue;
			}
			rc = migrate_folio_one(m, folio, get_new_folio, private);
			if (rc == -ENOMEM)
				goto out;
			if (rc == -EAGAIN) {
				retry++;
				continue;
			}
			list_del(&folio->lru);
			folio_put(m, folio);	/* the isolation reference: the old folio is freed */
			succeeded++;
		}
	}
out:
	if (rc != -ENOMEM) {
		struct folio *folio;

		list_for_each_entry(folio, from, lru) {
			nr_failed++;
			failed_pages += folio_nr_pages(folio);
		}
	}
	count_vm_events(m, PGMIGRATE_SUCCESS, succeeded);
	count_vm_events(m, PGMIGRATE_FAIL, failed_pages);
	/* A large folio is split before it moves: never a THP moved whole. */
	trace_mm_migrate_pages(m, succeeded, failed_pages, 0, 0, nr_split, nr_split, MIGRATE_SYNC, reason);
	return rc == -ENOMEM ? -ENOMEM : nr_failed;
}

/* Models putback_movable_pages(): the folios not moved go back to the LRU. */
void putback_movable_pages(struct mml_machine *m, struct list_head *l)
{
	struct folio *folio, *next;

	list_for_each_entry_safe(folio, next, l, lru) {
		list_del(&folio->lru);
		folio_putback_lru(m, folio);
	}
}

/* ---- move_pages ---------------------------------------------------------------------------- */

/*
 * Models add_folio_for_migration(): isolate the folio at addr for node
 * onto pagelist.  1 queued; 0 already there (its node then); or the
 * page's status: -EFAULT (no VMA, one whose pages cannot move, the zero
 * page), -ENOENT (nothing present), -EACCES (shared, without
 * MPOL_MF_MOVE_ALL), -EBUSY (cannot be isolated: already queued, or off
 * the LRU).
 */
static int add_folio_for_migration(struct mm_struct *mm, uint64_t addr, int node, struct list_head *pagelist,
				   bool migrate_all)
{
	struct mml_machine *m = mm->machine;
	struct vm_area_struct *vma = vma_lookup(mm, addr);
	struct folio *folio;
	struct page *page;
	int err;

	if (!vma || (vma->vm_flags & (VM_IO | VM_PFNMAP)))
		return -EFAULT;
	page = folio_walk_page(vma, addr, &err);
	if (!page)
		return err;
	folio = page_folio(page);
	if (folio_nid(m, folio) == node)
		err = 0;
	else if (!migrate_all && folio_maybe_mapped_shared(folio))
		err = -EACCES;
	else if (!folio_isolate_lru(m, folio))
		err = -EBUSY;
	else {
		list_add_tail(&folio->lru, pagelist);
		err = 1;
	}
	folio_put(m, folio);
	return err;
}

/*
 * Models do_move_pages_to_node() + move_pages_and_store_status(): move
 * the queued folios; the statuses of pages [start, i) say node when all
 * moved.  Returns the pages not moved plus those not yet tried (after i),
 * or -errno.
 */
static long move_pages_and_store_status(struct mm_struct *mm, int node, struct list_head *pagelist,
					int *status, uint64_t start, uint64_t i, uint64_t nr_pages)
{
	struct mml_machine *m = mm->machine;
	long err;

	if (list_empty(pagelist))
		return 0;
	err = migrate_pages(m, pagelist, alloc_migration_target, (unsigned long)node, MR_SYSCALL);
	putback_movable_pages(m, pagelist);
	if (err > 0)
		err += (long)(nr_pages - i);
	if (err)
		return err;
	for (uint64_t j = start; j < i; j++)
		status[j] = node;
	return 0;
}

/* Models do_pages_move(): batches of consecutive pages bound for one node. */
static long do_pages_move(struct mm_struct *mm, uint64_t nr_pages, const uint64_t *pages, const int *nodes,
			  int *status, int flags)
{
	struct mml_machine *m = mm->machine;
	int current_node = NUMA_NO_NODE;
	LIST_HEAD(pagelist);
	uint64_t start = 0, i;
	long err = 0, err1;

	/* No folio waits in a CPU's batch, off the LRU, where isolation cannot take it. */
	lru_cache_disable(m);
	for (i = 0; i < nr_pages; i++) {
		uint64_t addr = pages[i] & PAGE_MASK;
		int node = nodes[i];

		if (node < 0 || node >= MAX_NUMNODES || node >= m->nr_nodes) {
			err = -ENODEV;
			goto out_flush;
		}
		if (current_node == NUMA_NO_NODE) {
			current_node = node;
			start = i;
		} else if (node != current_node) {
			err = move_pages_and_store_status(mm, current_node, &pagelist, status, start, i, nr_pages);
			if (err)
				goto out;
			start = i;
			current_node = node;
		}
		down_read(&mm->mmap_lock);
		err = add_folio_for_migration(mm, addr, current_node, &pagelist, flags & MPOL_MF_MOVE_ALL);
		up_read(&mm->mmap_lock);
		if (err > 0)
			continue;	/* queued: its status comes with the batch */
		status[i] = err ? (int)err : current_node;
		/* An unqueued page ends the batch: flush it now, i's status is written. */
		err = move_pages_and_store_status(mm, current_node, &pagelist, status, start, i, nr_pages);
		if (err) {
			if (err > 0)
				err--;	/* i itself has its status */
			goto out;
		}
		current_node = NUMA_NO_NODE;
	}
out_flush:
	err1 = move_pages_and_store_status(mm, current_node, &pagelist, status, start, i, nr_pages);
	if (err >= 0)
		err = err1;
out:
	lru_cache_enable(m);
	return err;
}

/* Models do_pages_stat(): each page's node, or -EFAULT / -ENOENT. */
static void do_pages_stat(struct mm_struct *mm, uint64_t nr_pages, const uint64_t *pages, int *status)
{
	struct mml_machine *m = mm->machine;

	down_read(&mm->mmap_lock);
	for (uint64_t i = 0; i < nr_pages; i++) {
		uint64_t addr = pages[i] & PAGE_MASK;
		struct vm_area_struct *vma = vma_lookup(mm, addr);
		struct page *page;
		int err;

		if (!vma) {
			status[i] = -EFAULT;
			continue;
		}
		page = folio_walk_page(vma, addr, &err);
		if (!page) {
			status[i] = err;
			continue;
		}
		status[i] = page_to_nid(m, page);
		folio_put(m, page_folio(page));
	}
	up_read(&mm->mmap_lock);
}

long mml_move_pages(struct mml_task *t, uint64_t count, const uint64_t *pages, const int *nodes, int *status,
		    int flags)
{
	long ret = op_enter_task(t);

	if (ret)
		return ret;
	if (flags & ~(MPOL_MF_MOVE | MPOL_MF_MOVE_ALL))
		ret = -EINVAL;
	else if (count && (!pages || !status))
		ret = -EFAULT;
	else if (!nodes)
		do_pages_stat(t->mm, count, pages, status);
	else
		ret = do_pages_move(t->mm, count, pages, nodes, status, flags);
	return op_exit_task(t, ret);
}

/* ---- a migration held half way ------------------------------------------------------------ */

/*
 * mmlab lets a migration stop between its two halves, so that what meets
 * a migration entry (a fault, GUP, fork, mremap, mprotect, munmap,
 * pagemap, the checker) can be seen meeting it, one step at a time.
 * Linux's migrating thread is somewhere else meanwhile; whoever would wait
 * for it here finishes its work instead (migration_entry_wait), so a
 * scenario never waits for a thread that is not there.  Hence only anon
 * folios outside the swap cache are held (mml_migrate_unmap).
 */
struct held_migration {
	struct list_head node;		/* (held_lock) on machine->held_migrations */
	long handle;			/* (C) */
	struct migrate_state ms;	/* (C) src isolated, both folios locked */
};

/* Take the held migration of src (NULL: of the handle), or NULL. */
static struct held_migration *held_take(struct mml_machine *m, struct folio *src, long handle)
{
	struct held_migration *h, *found = NULL;

	spin_lock(&m->held_lock);
	list_for_each_entry(h, &m->held_migrations, node)
		if (src ? h->ms.src == src : h->handle == handle) {
			list_del(&h->node);
			found = h;
			break;
		}
	spin_unlock(&m->held_lock);
	return found;
}

/* The second half, and the source put back or freed: 0 or -EAGAIN (it went back where it was). */
static int held_finish(struct mml_machine *m, struct held_migration *h)
{
	struct folio *src = h->ms.src;
	int rc = migrate_folio_move(m, &h->ms);

	if (rc) {
		folio_putback_lru(m, src);
		count_vm_events(m, PGMIGRATE_FAIL, 1);
	} else {
		folio_put(m, src);	/* the isolation reference: the old folio is freed */
		count_vm_events(m, PGMIGRATE_SUCCESS, 1);
	}
	mml_obj_free(m, OBJ_HELD_MIGRATION, h);
	return rc;
}

/* Is src stopped half way?  (The checker's: its entries are expected.) */
bool folio_migration_held(struct mml_machine *m, struct folio *src)
{
	struct held_migration *h;
	bool held = false;

	spin_lock(&m->held_lock);
	list_for_each_entry(h, &m->held_migrations, node)
		held |= h->ms.src == src;
	spin_unlock(&m->held_lock);
	return held;
}

/* Someone met src's migration entry and would wait: finish it.  True if it was held. */
bool migrate_finish_held_folio(struct mml_machine *m, struct folio *src)
{
	struct held_migration *h = held_take(m, src, 0);

	if (h)
		held_finish(m, h);
	return h != NULL;
}

void migrate_finish_held(struct mml_machine *m)
{
	struct held_migration *h;

	for (;;) {
		spin_lock(&m->held_lock);
		h = list_empty(&m->held_migrations) ? NULL :
			list_first_entry(&m->held_migrations, struct held_migration, node);
		if (h)
			list_del(&h->node);
		spin_unlock(&m->held_lock);
		if (!h)
			break;
		held_finish(m, h);
	}
}

long mml_migrate_unmap(struct mml_task *t, uint64_t addr, int node)
{
	struct mml_machine *m = t->machine;
	struct mm_struct *mm = t->mm;
	struct held_migration *h = NULL;
	struct vm_area_struct *vma;
	struct folio *folio = NULL;
	struct page *page;
	long ret = op_enter_task(t);
	int err;

	if (ret)
		return ret;
	if (node < 0 || node >= m->nr_nodes)
		return op_exit_task(t, -ENODEV);
	lru_add_drain_all(m);	/* as the migration syscalls: a new folio is isolatable */
	down_read(&mm->mmap_lock);
	vma = vma_lookup(mm, addr);
	page = vma ? folio_walk_page(vma, addr & PAGE_MASK, &err) : NULL;
	ret = vma ? err : -EFAULT;
	if (page && folio_test_large(page_folio(page))) {
		/* As migrate_pages does: a large folio is split first, and this page's piece moves. */
		folio = page_folio(page);
		folio_lock(folio);
		err = split_folio(m, folio);
		folio_unlock(folio);
		folio_put(m, folio);
		page = err ? NULL : folio_walk_page(vma, addr & PAGE_MASK, &err);
		ret = -EBUSY;
	}
	if (page) {
		folio = page_folio(page);
		ret = -EBUSY;
		/*
		 * Only anon pages outside the swap cache: nothing finds those
		 * but through their ptes, so every waiter meets an entry and
		 * finishes the migration; a swap-cache or page-cache folio's
		 * lock is also taken by swapoff, truncate and the cache's users,
		 * who would wait for a thread that is not there.
		 */
		if (folio_test_anon(folio) && !folio_test_swapcache(folio) && folio_isolate_lru(m, folio)) {
			h = mml_obj_alloc(m, OBJ_HELD_MIGRATION, sizeof(*h));
			ret = h ? migrate_folio_unmap(m, folio, alloc_migration_target, (unsigned long)node, &h->ms)
				: -ENOMEM;
			if (ret) {
				folio_putback_lru(m, folio);
				if (h)
					mml_obj_free(m, OBJ_HELD_MIGRATION, h);
			}
		}
		folio_put(m, folio);
	}
	if (!ret) {
		/* Listed at once: a fault already waiting on the entries finishes it (and frees h). */
		spin_lock(&m->held_lock);
		ret = h->handle = m->next_held++;
		list_add_tail(&h->node, &m->held_migrations);
		spin_unlock(&m->held_lock);
	}
	up_read(&mm->mmap_lock);
	return op_exit_task(t, ret);
}

int mml_migrate_move(struct mml_machine *m, long handle)
{
	struct held_migration *h;
	int ret;

	op_enter(m, NULL);
	h = held_take(m, NULL, handle);
	ret = h ? held_finish(m, h) : -ENOENT;
	return (int)op_exit(m, ret);
}
