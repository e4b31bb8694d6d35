/*
 * ksm.c - Kernel Samepage Merging (Linux's mm/ksm.c): the mms that asked
 * for it (MADV_MERGEABLE, PR_SET_MEMORY_MERGE), one ksm_rmap_item per
 * scanned page, the unstable tree of pages not yet merged (rebuilt every
 * full scan), the stable tree of KSM folios (write-protected, shared by
 * every mapping of their contents, chained by max_page_sharing), the
 * merge itself (write_protect_page, then replace_page, each under an mmu
 * notifier range so that secondary MMUs drop the old page before the pte
 * moves), unmerging (break_ksm), migration of KSM folios
 * (folio_migrate_ksm), ksmd and its knobs; rmap_walk_ksm and swap-in of
 * KSM folios are in ksm_rmap.c.
 *
 * The trees are red-black trees (lib/rbtree.h) ordered by the bytes of
 * the pages, as Linux's: a search or an insertion compares O(log n)
 * pages.  The unstable tree is forgotten at each lap's start (its root
 * reset, nothing freed): its items' pages change under it, so its order
 * is only a hint, and an item carries the lap (seqnr) that put it there
 * so that it is erased only from the tree that holds it.
 *
 * What differs from Linux, each in docs/deviations.md:
 *  - one node (merge_across_nodes is kept, shown, and changes nothing);
 *  - large folios are not split for merging: a page of a THP is skipped;
 *  - the page checksum is FNV-1a over the page's 64-bit words (Linux: xxhash);
 *  - an exiting mm's rmap_items are freed at once by ksm_exit (Linux
 *    leaves them to ksmd's next visit), so that counters and the leak
 *    check need no scan to settle;
 *  - no smart_scan skipping and no advisor: their files exist and keep
 *    their values.
 *
 * Locks (docs/ARCHITECTURE.md, the tree in mm/rmap.c):
 *   ksm_thread_mutex    one scanner at a time (ksmd or mml_ksm_scan), and
 *                       run=2's unmerge and ksm_exit; it guards the trees,
 *                       the scan cursor, every mm_slot's rmap_list and the
 *                       global counters.  Above mmap_lock.
 *   ksm_mmlist_lock     the list of mm_slots (a leaf): madvise and fork
 *                       add to it holding mmap_lock.
 *   folio lock          a stable node's rmap_items list changes only with
 *                       its KSM folio locked, as rmap_walk_ksm reads it
 *                       under that lock alone.
 */
#include <stdlib.h>
#include <string.h>

#include "mm/internal.h"
#include "mm/ksm_internal.h"
#include "mm/mmu_notifier.h"

/* ---- helpers ----------------------------------------------------------------------- */


/* FNV-1a over the page's 64-bit words (Linux: xxhash); the zero page's is ksm_state.zero_checksum. */
static unsigned int checksum_words(const uint64_t *w)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < PAGE_SIZE / 8; i++)
		h = (h ^ w[i]) * 1099511628211ULL;
	return (unsigned int)(h ^ (h >> 32));
}

static unsigned int calc_checksum(struct mml_machine *m, struct page *page)
{
	static __thread uint64_t buf[PAGE_SIZE / 8];

	page_data_copy(buf, page_address(m, page), PAGE_SIZE);
	return checksum_words(buf);
}

static bool ksm_page_tagged(struct mml_machine *m, struct page *page)
{
	return page_mte_tagged(page) && page != m->zero_page;
}

/*
 * memcmp_pages(): the order of both trees, and the test of a merge.  As
 * arm64's with MTE, a page with tags equals only itself: merging would
 * lose (or mix) its tags, which the bytes do not show.  The trees still
 * need a total order, so among pages of the same bytes a tagged one
 * sorts after the untagged ones, and a (different) tagged page met in
 * the tree is treated as smaller than the page being placed: a new
 * tagged page goes right of every page of its bytes, in the order they
 * came.  The order depends on bytes and tags, never on the frame, so a
 * migrated KSM folio keeps its place.  mmlab's zero page carries tags
 * (all 0) for tagged mappings of it; they do not count here, so that an
 * untagged page of zeros merges with it as on x86 (arm64's tagged zero
 * page would refuse every use_zero_pages merge).
 */
static int memcmp_pages(struct mml_machine *m, struct page *page, struct page *tree_page)
{
	int ret = page_data_cmp(page_address(m, page), page_address(m, tree_page), PAGE_SIZE);

	if (ret || page == tree_page)
		return ret;
	if (ksm_page_tagged(m, page))
		return 1;
	return ksm_page_tagged(m, tree_page) ? -1 : 0;
}

struct ksm_stable_node *folio_stable_node(const struct folio *folio)
{
	unsigned long mapping = (unsigned long)READ_ONCE(folio->mapping);

	if ((mapping & PAGE_MAPPING_FLAGS) != PAGE_MAPPING_KSM)
		return NULL;
	return (struct ksm_stable_node *)(mapping & ~PAGE_MAPPING_FLAGS);
}

void folio_set_stable_node(struct folio *folio, struct ksm_stable_node *node)
{
	WRITE_ONCE(folio->mapping, (void *)((unsigned long)node | PAGE_MAPPING_KSM));
}


static void free_rmap_item(struct mml_machine *m, struct ksm_rmap_item *item)
{
	atomic_long_add(-1, &m->ksm_counters.rmap_items);
	atomic_long_add(-1, &item->mm->ksm_rmap_items);
	mml_obj_free(m, OBJ_KSM_RMAP_ITEM, item);
}

static void stable_node_free(struct mml_machine *m, struct ksm_stable_node *n)
{
	mml_obj_free(m, OBJ_KSM_STABLE_NODE, n);
}

/*
 * A plain node leaves the tree; a dup leaves its chain, and a chain left
 * empty leaves the tree (free_stable_node_chain).  The tree rebalances:
 * a walk that was in it must start again from the root.
 */
static void stable_node_unlink(struct mml_machine *m, struct ksm_stable_node *n)
{
	struct ksm_state *ks = ksm_of(m);
	struct ksm_stable_node *chain = n->chain;

	if (!chain) {
		rb_erase(&n->node, &ks->root_stable_tree);
		return;
	}
	list_del(&n->hlist_dup);
	atomic_long_add(-1, &m->ksm_counters.stable_node_dups);
	if (list_empty(&chain->hlist)) {
		rb_erase(&chain->node, &ks->root_stable_tree);
		atomic_long_add(-1, &m->ksm_counters.stable_node_chains);
		stable_node_free(m, chain);
	}
}

/*
 * remove_node_from_stable_tree(): the node's folio is gone (freed, or no
 * longer KSM): its items fall back to "not merged", to be looked at again.
 */
void remove_node_from_stable_tree(struct mml_machine *m, struct ksm_stable_node *n)
{
	struct ksm_rmap_item *item, *tmp;

	list_for_each_entry_safe(item, tmp, &n->hlist, hlist) {
		trace_ksm_remove_rmap_item(m, READ_ONCE(n->kpfn), item, item->mm);
		list_del(&item->hlist);
		if (list_empty(&n->hlist))
			atomic_long_add(-1, &m->ksm_counters.pages_shared);
		else
			atomic_long_add(-1, &m->ksm_counters.pages_sharing);
		atomic_long_add(-1, &item->mm->ksm_merging_pages);
		put_anon_vma(item->anon_vma);
		item->head = NULL;
		item->address &= PAGE_MASK;
	}
	trace_ksm_remove_ksm_page(m, READ_ONCE(n->kpfn));
	stable_node_unlink(m, n);
	stable_node_free(m, n);
}

/*
 * ksm_lock_folio(): folio_lock, but a migration mmlab holds half way
 * (mml_migrate_unmap) keeps its folio locked with no thread to finish
 * it: whoever would wait finishes it, as migration_entry_wait does.  Our
 * reference makes that migration fail and put the folio back.
 */
static void ksm_lock_folio(struct mml_machine *m, struct folio *folio)
{
	while (!folio_trylock(folio)) {
		if (!migrate_finish_held_folio(m, folio)) {
			folio_lock(folio);
			return;
		}
	}
}

/*
 * ksm_get_folio(): the node's folio with a reference (and locked if
 * asked), or NULL after removing a stale node.  The struct page outlives
 * any folio, so its mapping can be read first and again after the
 * reference: the node is live only while the folio points back to it.
 * A migration moves the node to its new folio (folio_migrate_ksm: kpfn
 * first, then the old folio lets go), so a folio that stopped pointing
 * back is stale only if kpfn did not move meanwhile.
 */
struct folio *ksm_get_folio(struct mml_machine *m, struct ksm_stable_node *n, bool lock_it)
{
	void *expected = (void *)((unsigned long)n | PAGE_MAPPING_KSM);
	unsigned long kpfn;
	struct folio *folio;

again:
	kpfn = READ_ONCE(n->kpfn);
	folio = (struct folio *)pfn_to_page(m, kpfn);
	/* Acquire: gone means its last users are done with the node (__folio_put). */
	if (smp_load_acquire(&folio->mapping) != expected)
		goto stale;
	if (!folio_try_get(folio)) {
		/*
		 * A count frozen at 0: reclaim or migration is taking the
		 * folio, after its last rmap walk of the node.  Linux orders
		 * that walk before the node's removal below by the control
		 * dependency on this read (LKMM); C11 and ThreadSanitizer know
		 * no such thing, so the read that saw the freeze acquires it.
		 */
		(void)smp_load_acquire(&folio->_refcount.counter);
		goto stale;
	}
	if (READ_ONCE(folio->mapping) != expected) {
		folio_put(m, folio);
		goto stale;
	}
	if (lock_it) {
		ksm_lock_folio(m, folio);
		if (READ_ONCE(folio->mapping) != expected) {
			folio_unlock(folio);
			folio_put(m, folio);
			goto stale;
		}
	}
	return folio;
stale:
	smp_rmb();	/* pairs with the smp_wmb() in folio_migrate_ksm */
	if (READ_ONCE(n->kpfn) != kpfn)
		goto again;
	remove_node_from_stable_tree(m, n);
	return NULL;
}

/*
 * folio_migrate_ksm(): migration moved a KSM folio's bytes and mapping
 * to newfolio (both locked): its stable node follows, then the old folio
 * stops being KSM.  Readers of kpfn (ksm_get_folio) see the new frame
 * before they can see the old folio gone stale.
 */
void folio_migrate_ksm(struct mml_machine *m, struct folio *newfolio, struct folio *folio)
{
	struct ksm_stable_node *n = folio_stable_node(folio);

	if (!n)
		return;
	VM_BUG_ON_FOLIO(READ_ONCE(n->kpfn) != folio_pfn(m, folio), m, folio);
	WRITE_ONCE(n->kpfn, folio_pfn(m, newfolio));
	smp_wmb();
	folio_set_stable_node(folio, NULL);
}

/*
 * remove_rmap_item_from_tree(): the item leaves whichever tree holds it.
 * An unstable item is in the tree only if this lap put it there (its
 * seqnr, age 0); one of an earlier lap (age 1, or more after a run=2
 * that failed half way and left items of mms it did not reach) was in a
 * tree forgotten whole at this lap's start, and its stale links must not
 * be followed: rb_erase of it would rewrite nodes of the live tree.
 */
void remove_rmap_item_from_tree(struct mml_machine *m, struct ksm_rmap_item *item)
{
	struct ksm_state *ks = ksm_of(m);

	if (item->address & STABLE_FLAG) {
		struct ksm_stable_node *n = item->head;
		struct folio *folio = ksm_get_folio(m, n, true);

		/* A stale node took its items back already (this one included). */
		if (!folio)
			return;
		list_del(&item->hlist);
		if (list_empty(&n->hlist))
			atomic_long_add(-1, &m->ksm_counters.pages_shared);
		else
			atomic_long_add(-1, &m->ksm_counters.pages_sharing);
		atomic_long_add(-1, &item->mm->ksm_merging_pages);
		n->rmap_hlist_len--;
		folio_unlock(folio);
		folio_put(m, folio);
		put_anon_vma(item->anon_vma);
		item->head = NULL;
		item->address &= PAGE_MASK;
	} else if (item->address & UNSTABLE_FLAG) {
		unsigned char age = (unsigned char)(ks->seqnr - item->address);

		if (!age)
			rb_erase(&item->node, &ks->root_unstable_tree);
		atomic_long_add(-1, &m->ksm_counters.pages_unshared);
		item->address &= PAGE_MASK;
	}
}

void remove_trailing_rmap_items(struct mml_machine *m, struct ksm_rmap_item **rmap_list)
{
	while (*rmap_list) {
		struct ksm_rmap_item *item = *rmap_list;

		*rmap_list = item->rmap_list;
		remove_rmap_item_from_tree(m, item);
		free_rmap_item(m, item);
	}
}

/* ---- the merge ------------------------------------------------------------------------ */

/*
 * write_protect_page(): make the one pte of vma mapping folio read-only
 * and clean, with the secondary MMUs told first (a device that kept a
 * writable translation could change the page after it was compared).
 * The pte is cleared and flushed before the counts are looked at, so that
 * no CPU and no GUP-fast can take a new reference after: a page someone
 * holds besides its mappings, the swap cache and us (a GUP pin, O_DIRECT)
 * is not merged, its pte put back.  0 and the new pte in *orig_pte, or
 * -EFAULT.
 */
static int write_protect_page(struct vm_area_struct *vma, struct folio *folio, uint64_t addr, pte_t *orig_pte)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	DEFINE_FOLIO_VMA_WALK(pvmw, folio, vma, addr);
	struct mmu_notifier_range range;
	int err = -EFAULT;
	bool notify = !bug_enabled(m, BUG_KSM_MERGE_NO_NOTIFY);
	bool unchecked = bug_enabled(m, BUG_KSM_MERGE_PINNED);

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, addr, addr + PAGE_SIZE);
	if (notify)
		mmu_notifier_invalidate_range_start(&range);
	if (!page_vma_mapped_walk(&pvmw))
		goto out_mn;
	if (!pvmw.pte) {
		page_vma_mapped_walk_done(&pvmw);	/* a pmd leaf: large folios are never merged */
		goto out_mn;
	}
	{
		pte_t entry = ptep_get(pvmw.pte);
		bool anon_exclusive = PageAnonExclusive(&folio->page);
		int swapped = folio_test_swapcache(folio);

		if (pte_write(entry) || pte_dirty(entry) || anon_exclusive) {
			entry = ptep_get_and_clear(pvmw.pte);
			flush_tlb_page(vma, pvmw.address);
			/* Nothing may hold the page but its mappings, the swap cache and this scan. */
			if (!unchecked && folio_mapcount(folio) + 1 + swapped != folio_ref_count(folio)) {
				set_pte_at(mm, pvmw.address, pvmw.pte, entry);
				goto out_unlock;
			}
			/* Cleared first, so that GUP-fast sees the page shared or not at all. */
			if (anon_exclusive && !unchecked && folio_try_share_anon_rmap_pte(folio, &folio->page)) {
				set_pte_at(mm, pvmw.address, pvmw.pte, entry);
				goto out_unlock;
			}
			/* The zoo's switch: Linux before 5.19 had no exclusive bit to keep a pin out. */
			if (unchecked)
				ClearPageAnonExclusive(&folio->page);
			if (pte_dirty(entry))
				folio_mark_dirty(folio);
			entry = pte_mkclean(pte_wrprotect(entry));
			set_pte_at(mm, pvmw.address, pvmw.pte, entry);
		}
		*orig_pte = entry;
		err = 0;
	}
out_unlock:
	page_vma_mapped_walk_done(&pvmw);
out_mn:
	if (notify)
		mmu_notifier_invalidate_range_end(&range);
	return err;
}

/*
 * replace_page(): the pte that write_protect_page left (orig_pte) maps
 * kpage instead of page, read-only; the zero page when kpage is it (a
 * dirty special pte: Linux's mark of a KSM zero page).  Secondary MMUs
 * drop the old page before the pte changes.  0, or -EFAULT if the pte
 * moved meanwhile.
 */
static int replace_page(struct vm_area_struct *vma, struct page *page, struct page *kpage, pte_t orig_pte,
			uint64_t addr)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	struct folio *folio = page_folio(page);
	struct mmu_notifier_range range;
	bool notify = !bug_enabled(m, BUG_KSM_MERGE_NO_NOTIFY);
	spinlock_t *ptl;
	pmd_t *pmd;
	pte_t *ptep, newpte;
	int err = -EFAULT;

	pmd = mm_find_pmd(mm, addr);
	if (!pmd || !pmd_table(pmdp_get(pmd)))
		return err;
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, addr, addr + PAGE_SIZE);
	if (notify)
		mmu_notifier_invalidate_range_start(&range);
	ptep = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!ptep)
		goto out_mn;
	if (!pte_same(ptep_get(ptep), orig_pte)) {
		pte_unmap_unlock(ptep, ptl);
		goto out_mn;
	}
	if (kpage != m->zero_page) {
		struct folio *kfolio = page_folio(kpage);

		folio_get(kfolio);
		folio_add_anon_rmap_pte(kfolio, kpage, vma, addr, RMAP_NONE);
		newpte = pte_wrprotect(mk_pte(m, kpage, vma->vm_page_prot));
	} else {
		newpte = pte_mkdirty(pte_mkspecial(pfn_pte(m->zero_pfn, vma->vm_page_prot)));
		newpte = pte_wrprotect(newpte);
		atomic_long_add(1, &m->ksm_counters.zero_pages);
		atomic_long_add(1, &mm->ksm_zero_pages);
		add_mm_counter(mm, MM_ANONPAGES, -1);
	}
	ptep_get_and_clear(ptep);
	flush_tlb_page(vma, addr);
	set_pte_at(mm, addr, ptep, newpte);
	folio_remove_rmap_pte(folio, page, vma);
	if (!folio_mapped(folio))
		folio_free_swap(m, folio);
	folio_put(m, folio);	/* the old mapping's */
	pte_unmap_unlock(ptep, ptl);
	err = 0;
out_mn:
	if (notify)
		mmu_notifier_invalidate_range_end(&range);
	return err;
}

/*
 * try_to_merge_one_page(): page (mapped at addr in vma, one reference
 * ours) becomes kpage's mapping; with kpage NULL, page itself becomes a
 * KSM page (write-protected, its stable node to come).  0 or -EFAULT.
 */
static int try_to_merge_one_page(struct vm_area_struct *vma, struct page *page, struct page *kpage, uint64_t addr)
{
	struct mml_machine *m = vma->vm_mm->machine;
	struct folio *folio = page_folio(page);
	pte_t orig_pte;
	int err = -EFAULT;

	if (page == kpage)	/* a KSM page forked: nothing to do */
		return 0;
	if (!folio_test_anon(folio) || folio_test_large(folio))
		return err;
	/* Never wait: whoever holds it (reclaim, migration) may want our mutex's mms. */
	if (!folio_trylock(folio))
		return err;
	if (write_protect_page(vma, folio, addr, &orig_pte) == 0) {
		if (!kpage) {
			folio_set_stable_node(folio, NULL);
			folio_mark_accessed(m, folio);
			/* Reclaim drops a clean page with no dirty pte: a KSM page must go to swap. */
			folio_mark_dirty(folio);
			err = 0;
		} else if (!memcmp_pages(m, page, kpage)) {
			err = replace_page(vma, page, kpage, orig_pte, addr);
		}
	}
	folio_unlock(folio);
	return err;
}

/* find_mergeable_vma(): the VMA at addr, if it may still be merged. */
static struct vm_area_struct *find_mergeable_vma(struct mm_struct *mm, uint64_t addr)
{
	struct vm_area_struct *vma = find_vma(mm, addr);

	if (!vma || vma->vm_start > addr || !(vma->vm_flags & VM_MERGEABLE) || !vma->anon_vma)
		return NULL;
	return vma;
}

static bool ksm_test_exit(struct mm_struct *mm) { return atomic_read(&mm->mm_users) == 0; }

/*
 * try_to_merge_with_ksm_page(): merge the item's page into kpage (or make
 * it a KSM page, kpage NULL), then the item names the VMA's anon_vma for
 * rmap_walk_ksm.
 */
static int try_to_merge_with_ksm_page(struct ksm_rmap_item *item, struct page *page, struct page *kpage)
{
	struct mm_struct *mm = item->mm;
	struct mml_machine *m = mm->machine;
	struct vm_area_struct *vma;
	int err = -EFAULT;

	down_read(&mm->mmap_lock);
	if (ksm_test_exit(mm))
		goto out;
	vma = find_mergeable_vma(mm, item->address & PAGE_MASK);
	if (!vma)
		goto out;
	err = try_to_merge_one_page(vma, page, kpage, item->address & PAGE_MASK);
	/* Here, not in try_to_merge_one_page(): the item is ours to name. */
	trace_ksm_merge_one_page(m, page_to_pfn(m, kpage ? kpage : page), item, mm, err);
	if (err)
		goto out;
	/* The unstable tree's link and the stable one share the item: out of the tree first. */
	remove_rmap_item_from_tree(m, item);
	item->anon_vma = vma->anon_vma;
	atomic_inc(&vma->anon_vma->refcount);
out:
	up_read(&mm->mmap_lock);
	trace_ksm_merge_with_ksm_page(m, kpage ? page_folio(kpage) : NULL, page_to_pfn(m, kpage ? kpage : page), item,
				      mm, err);
	return err;
}

/* break_cow(): a merge half done (no stable node): the item's page is made private again. */
static void break_cow(struct ksm_rmap_item *item)
{
	struct mm_struct *mm = item->mm;
	struct vm_area_struct *vma;

	put_anon_vma(item->anon_vma);
	down_read(&mm->mmap_lock);
	vma = find_mergeable_vma(mm, item->address & PAGE_MASK);
	if (vma)
		break_ksm(vma, item->address & PAGE_MASK);
	up_read(&mm->mmap_lock);
}

/* try_to_merge_two_pages(): page and tree_page become one KSM page: tree_page's, kpage ours. */
static struct page *try_to_merge_two_pages(struct ksm_rmap_item *item, struct page *page,
					   struct ksm_rmap_item *tree_item, struct page *tree_page)
{
	if (try_to_merge_with_ksm_page(item, page, NULL))
		return NULL;
	if (try_to_merge_with_ksm_page(tree_item, tree_page, page)) {
		break_cow(item);
		return NULL;
	}
	return page;
}

/* ---- the trees -------------------------------------------------------------------------- */

/* A dup of the chain (or the plain node) with room for one more mapping, else NULL. */
static struct ksm_stable_node *stable_node_dup(struct mml_machine *m, struct ksm_stable_node *n,
					       struct folio **folio)
{
	unsigned int max = READ_ONCE(m->ksm_knobs.max_page_sharing);
	struct ksm_stable_node *dup, *tmp;

	*folio = NULL;
	if (!is_stable_node_chain(n)) {
		if ((unsigned int)n->rmap_hlist_len >= max)
			return NULL;
		*folio = ksm_get_folio(m, n, false);
		return *folio ? n : NULL;
	}
	list_for_each_entry_safe(dup, tmp, &n->hlist, hlist_dup) {
		struct folio *f;
		bool last = list_is_singular(&n->hlist);

		if ((unsigned int)dup->rmap_hlist_len >= max)
			continue;
		f = ksm_get_folio(m, dup, false);
		if (f) {
			*folio = f;
			return dup;
		}
		if (last)	/* the chain itself went with its last dup */
			return NULL;
	}
	return NULL;
}

/* Any live folio of a node or chain, to compare contents with; NULL if all went stale. */
static struct folio *stable_node_any_folio(struct mml_machine *m, struct ksm_stable_node *n)
{
	struct ksm_stable_node *dup, *tmp;

	if (!is_stable_node_chain(n))
		return ksm_get_folio(m, n, false);
	list_for_each_entry_safe(dup, tmp, &n->hlist, hlist_dup) {
		bool last = list_is_singular(&n->hlist);
		struct folio *f = ksm_get_folio(m, dup, false);

		if (f)
			return f;
		if (last)
			return NULL;
	}
	return NULL;
}

/*
 * stable_tree_search(): a KSM page with page's contents and room for one
 * more mapping (referenced), page itself if it is a forked KSM page, or
 * NULL.  A stale node met on the way leaves the tree, which rebalances
 * under the walk: it starts again from the root.
 */
static struct page *stable_tree_search(struct mml_machine *m, struct page *page)
{
	struct ksm_state *ks = ksm_of(m);
	struct rb_node *rb;

	if (folio_stable_node(page_folio(page))) {
		folio_get(page_folio(page));	/* ksm page forked */
		return page;
	}
again:
	rb = ks->root_stable_tree.rb_node;
	while (rb) {
		struct ksm_stable_node *n = rb_entry(rb, struct ksm_stable_node, node), *dup;
		struct folio *any = stable_node_any_folio(m, n), *f;
		int ret;

		if (!any)
			goto again;
		ret = memcmp_pages(m, page, &any->page);
		folio_put(m, any);
		if (ret < 0) {
			rb = rb->rb_left;
			continue;
		}
		if (ret > 0) {
			rb = rb->rb_right;
			continue;
		}
		dup = stable_node_dup(m, n, &f);
		/* Every dup full: wait for the unstable tree to make a new one. */
		return dup ? &f->page : NULL;
	}
	return NULL;
}

static struct ksm_stable_node *alloc_stable_node(struct mml_machine *m)
{
	struct ksm_stable_node *n = mml_obj_alloc(m, OBJ_KSM_STABLE_NODE, sizeof(*n));

	if (n) {
		INIT_LIST_HEAD(&n->hlist);
		RB_CLEAR_NODE(&n->node);
		n->chain = NULL;
		n->rmap_hlist_len = 0;
	}
	return n;
}

/*
 * stable_tree_insert(): a node for the new KSM page kpage (locked).  When
 * a node of the same contents is there already (full: max_page_sharing),
 * both become dups of one chain (alloc_stable_node_chain).
 */
static struct ksm_stable_node *stable_tree_insert(struct mml_machine *m, struct page *kpage)
{
	struct ksm_state *ks = ksm_of(m);
	struct ksm_stable_node *found, *dup;
	struct rb_node **link, *parent;

again:
	link = &ks->root_stable_tree.rb_node;
	parent = NULL;
	found = NULL;
	while (*link) {
		struct ksm_stable_node *n = rb_entry(*link, struct ksm_stable_node, node);
		struct folio *any = stable_node_any_folio(m, n);
		int ret;

		if (!any)
			goto again;	/* n went stale: the tree rebalanced */
		ret = memcmp_pages(m, kpage, &any->page);
		folio_put(m, any);
		parent = *link;
		if (ret < 0) {
			link = &parent->rb_left;
		} else if (ret > 0) {
			link = &parent->rb_right;
		} else {
			found = n;
			break;
		}
	}
	dup = alloc_stable_node(m);
	if (!dup)
		return NULL;
	WRITE_ONCE(dup->kpfn, page_to_pfn(m, kpage));
	folio_set_stable_node(page_folio(kpage), dup);
	if (!found) {
		rb_link_node(&dup->node, parent, link);
		rb_insert_color(&dup->node, &ks->root_stable_tree);
		return dup;
	}
	if (!is_stable_node_chain(found)) {
		struct ksm_stable_node *chain = alloc_stable_node(m);

		if (!chain) {
			folio_set_stable_node(page_folio(kpage), NULL);
			stable_node_free(m, dup);
			return NULL;
		}
		chain->rmap_hlist_len = STABLE_NODE_CHAIN;
		/*
		 * The chain takes the node's place in the tree (the same
		 * contents: the same place, no rebalancing), the node becomes
		 * its first dup.
		 */
		rb_replace_node(&found->node, &chain->node, &ks->root_stable_tree);
		list_add_tail(&found->hlist_dup, &chain->hlist);
		found->chain = chain;
		atomic_long_add(1, &m->ksm_counters.stable_node_chains);
		atomic_long_add(1, &m->ksm_counters.stable_node_dups);
		found = chain;
	}
	list_add_tail(&dup->hlist_dup, &found->hlist);
	dup->chain = found;
	atomic_long_add(1, &m->ksm_counters.stable_node_dups);
	return dup;
}

/* stable_tree_append(): item maps the node's page now.  The page is locked. */
static void stable_tree_append(struct mml_machine *m, struct ksm_rmap_item *item, struct ksm_stable_node *n)
{
	VM_BUG_ON(n->rmap_hlist_len < 0);
	if (list_empty(&n->hlist))
		atomic_long_add(1, &m->ksm_counters.pages_shared);
	else
		atomic_long_add(1, &m->ksm_counters.pages_sharing);
	n->rmap_hlist_len++;
	item->head = n;
	item->address |= STABLE_FLAG;
	list_add(&item->hlist, &n->hlist);
	atomic_long_add(1, &item->mm->ksm_merging_pages);
}

/*
 * get_mergeable_page(): the page the unstable item still maps, with a
 * reference, if it is an anon small page; NULL otherwise.
 */
static struct page *get_mergeable_page(struct mml_machine *m, struct ksm_rmap_item *item)
{
	struct mm_struct *mm = item->mm;
	uint64_t addr = item->address & PAGE_MASK;
	struct vm_area_struct *vma;
	struct page *page = NULL;
	spinlock_t *ptl;
	pmd_t *pmd;
	pte_t *pte;

	down_read(&mm->mmap_lock);
	vma = find_mergeable_vma(mm, addr);
	if (!vma || ksm_test_exit(mm))
		goto out;
	pmd = mm_find_pmd(mm, addr);
	if (!pmd || !pmd_table(pmdp_get(pmd)))
		goto out;
	pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!pte)
		goto out;
	if (pte_present(ptep_get(pte))) {
		struct page *p = vm_normal_page(vma, addr, ptep_get(pte));

		if (p && folio_test_anon(page_folio(p)) && !folio_test_large(page_folio(p))) {
			folio_get(page_folio(p));
			page = p;
		}
	}
	pte_unmap_unlock(pte, ptl);
out:
	up_read(&mm->mmap_lock);
	(void)m;
	return page;
}

/*
 * unstable_tree_search_insert(): an item of this lap whose page has
 * page's contents (its page referenced in *tree_pagep), or NULL, having
 * put item in the tree if the walk reached a leaf.  The pages in the
 * tree may have changed since they went in (they are not protected): a
 * walk may then take a wrong turn and miss its twin, or insert out of
 * order; the tree stays a tree, and the next lap starts afresh.
 */
static struct ksm_rmap_item *unstable_tree_search_insert(struct mml_machine *m, struct ksm_rmap_item *item,
							 struct page *page, struct page **tree_pagep)
{
	struct ksm_state *ks = ksm_of(m);
	struct rb_node **link = &ks->root_unstable_tree.rb_node, *parent = NULL;

	while (*link) {
		struct ksm_rmap_item *t = rb_entry(*link, struct ksm_rmap_item, node);
		struct page *tree_page = get_mergeable_page(m, t);
		int ret;

		/* Its page went (unmapped, swapped, now large): no way on; page waits for the next lap. */
		if (!tree_page)
			return NULL;
		/* The same page (a fork shares it): not a merge. */
		if (tree_page == page) {
			folio_put(m, page_folio(tree_page));
			return NULL;
		}
		ret = memcmp_pages(m, page, tree_page);
		parent = *link;
		if (!ret) {
			*tree_pagep = tree_page;
			return t;
		}
		folio_put(m, page_folio(tree_page));
		link = ret < 0 ? &parent->rb_left : &parent->rb_right;
	}
	item->address |= UNSTABLE_FLAG | (ks->seqnr & SEQNR_MASK);
	rb_link_node(&item->node, parent, link);
	rb_insert_color(&item->node, &ks->root_unstable_tree);
	atomic_long_add(1, &m->ksm_counters.pages_unshared);
	return NULL;
}

/* try_to_merge_zero_page(): an all-zero page is mapped to the zero page (use_zero_pages). */
static bool try_to_merge_zero_page(struct mml_machine *m, struct ksm_rmap_item *item, struct page *page)
{
	struct mm_struct *mm = item->mm;
	struct vm_area_struct *vma;
	bool merged = false;

	down_read(&mm->mmap_lock);
	vma = find_mergeable_vma(mm, item->address & PAGE_MASK);
	if (vma && !ksm_test_exit(mm))
		merged = !try_to_merge_one_page(vma, page, m->zero_page, item->address & PAGE_MASK);
	up_read(&mm->mmap_lock);
	return merged;
}

/*
 * cmp_and_merge_page(): the heart of a scan, for one page with its item:
 * into an existing KSM page if the stable tree has its contents; else,
 * if the page has not changed since the last scan, with an identical page
 * of the unstable tree into a new KSM page; else remember its checksum.
 */
static void cmp_and_merge_page(struct mml_machine *m, struct page *page, struct ksm_rmap_item *item)
{
	struct ksm_stable_node *node = folio_stable_node(page_folio(page));
	struct ksm_rmap_item *tree_item;
	struct page *kpage, *tree_page = NULL;
	unsigned int checksum;

	/* Already merged, and this item is on its node: nothing to do. */
	if (node && (item->address & STABLE_FLAG) && item->head == node)
		return;
	remove_rmap_item_from_tree(m, item);

	kpage = stable_tree_search(m, page);
	if (kpage) {
		if (!try_to_merge_with_ksm_page(item, page, kpage)) {
			struct folio *kfolio = page_folio(kpage);

			ksm_lock_folio(m, kfolio);
			/* The node may have gone stale since: then the merge waits for the next scan. */
			if (folio_stable_node(kfolio))
				stable_tree_append(m, item, folio_stable_node(kfolio));
			else
				put_anon_vma(item->anon_vma);
			folio_unlock(kfolio);
		}
		folio_put(m, page_folio(kpage));
		return;
	}

	checksum = calc_checksum(m, page);
	if (item->oldchecksum != checksum) {
		item->oldchecksum = checksum;	/* volatile: changed since the last look */
		return;
	}
	if (READ_ONCE(m->ksm_knobs.use_zero_pages) && checksum == ksm_of(m)->zero_checksum &&
	    !memcmp_pages(m, page, m->zero_page) && try_to_merge_zero_page(m, item, page))
		return;

	tree_item = unstable_tree_search_insert(m, item, page, &tree_page);
	if (!tree_item)
		return;
	kpage = try_to_merge_two_pages(item, page, tree_item, tree_page);
	folio_put(m, page_folio(tree_page));
	if (kpage) {
		struct folio *kfolio = page_folio(kpage);
		struct ksm_stable_node *n;

		ksm_lock_folio(m, kfolio);
		n = stable_tree_insert(m, kpage);
		if (n) {
			stable_tree_append(m, tree_item, n);
			stable_tree_append(m, item, n);
		}
		folio_unlock(kfolio);
		/* No node: undo both halves (break_cow drops the anon_vmas the merges took). */
		if (!n) {
			break_cow(tree_item);
			break_cow(item);
		}
	}
}

/* ---- the scan ----------------------------------------------------------------------------- */

/* get_next_rmap_item(): the item for addr in the mm's sorted list, made if missing. */
static struct ksm_rmap_item *get_next_rmap_item(struct mml_machine *m, struct ksm_mm_slot *slot,
						struct ksm_rmap_item **rmap_list, uint64_t addr)
{
	struct ksm_rmap_item *item;

	while (*rmap_list) {
		item = *rmap_list;
		if ((item->address & PAGE_MASK) == addr)
			return item;
		if ((item->address & PAGE_MASK) > addr)
			break;
		/* An address the scan passed without a page now: forget it. */
		*rmap_list = item->rmap_list;
		remove_rmap_item_from_tree(m, item);
		free_rmap_item(m, item);
	}
	item = mml_obj_alloc(m, OBJ_KSM_RMAP_ITEM, sizeof(*item));
	if (!item)
		return NULL;
	memset(item, 0, sizeof(*item));
	item->mm = slot->mm;
	item->address = addr;
	item->rmap_list = *rmap_list;
	*rmap_list = item;
	atomic_long_add(1, &m->ksm_counters.rmap_items);
	atomic_long_add(1, &slot->mm->ksm_rmap_items);
	return item;
}

/*
 * scan_get_next_rmap_item(): the next anon small page of a mergeable VMA
 * from the cursor on (referenced, in *pagep) and its item; NULL when a
 * lap ends (or nothing is registered).  A new lap forgets the unstable
 * tree and counts a full scan.
 */
static struct ksm_rmap_item *scan_get_next_rmap_item(struct mml_machine *m, struct page **pagep)
{
	struct ksm_state *ks = ksm_of(m);
	struct ksm_mm_slot *slot;
	struct mm_struct *mm;
	struct vm_area_struct *vma;

	if (!ks->mm_slot) {
		spin_lock(&ks->ksm_mmlist_lock);
		slot = list_empty(&ks->mm_head) ? NULL : list_first_entry(&ks->mm_head, struct ksm_mm_slot, mm_node);
		spin_unlock(&ks->ksm_mmlist_lock);
		if (!slot)
			return NULL;
		/*
		 * A new lap: the unstable tree is rebuilt from nothing, its
		 * root reset and its items left as they are (Linux resets its
		 * roots so), and a new seqnr tells last lap's items from this
		 * one's.  Linux counts seqnr at a lap's end; mmlab at its
		 * start, because ksm_exit and run=2 may end a lap early (the
		 * cursor past the last slot), and an item left with the old
		 * tree's seqnr must never be erased from the new tree.
		 */
		ks->seqnr++;
		/* The CPUs' batches' references would keep new pages from merging (write_protect_page). */
		lru_add_drain_all(m);
		trace_ksm_start_scan(m, (int)ks->seqnr, (uint32_t)atomic_long_read(&m->objs[OBJ_KSM_RMAP_ITEM]));
		ks->root_unstable_tree = RB_ROOT;
		ks->mm_slot = slot;
		ks->address = 0;
		ks->rmap_list = &slot->rmap_list;
	}
next_mm:
	slot = ks->mm_slot;
	mm = slot->mm;
	down_read(&mm->mmap_lock);
	vma = ksm_test_exit(mm) ? NULL : find_vma(mm, ks->address);
	for (; vma; vma = vma_next(vma)) {
		if (!(vma->vm_flags & VM_MERGEABLE))
			continue;
		if (ks->address < vma->vm_start)
			ks->address = vma->vm_start;
		if (!vma->anon_vma)
			ks->address = vma->vm_end;
		while (ks->address < vma->vm_end) {
			uint64_t addr = ks->address;
			struct page *page = NULL;
			pmd_t *pmd = mm_find_pmd(mm, addr);

			if (pmd && pmd_table(pmdp_get(pmd))) {
				spinlock_t *ptl;
				pte_t *pte = pte_offset_map_lock(mm, pmd, addr, &ptl);

				if (pte) {
					pte_t e = ptep_get(pte);
					struct page *p = pte_present(e) ? vm_normal_page(vma, addr, e) : NULL;

					if (p && folio_test_anon(page_folio(p)) && !folio_test_large(page_folio(p))) {
						folio_get(page_folio(p));
						page = p;
					}
					pte_unmap_unlock(pte, ptl);
				}
			}
			ks->address += PAGE_SIZE;
			if (page) {
				struct ksm_rmap_item *item = get_next_rmap_item(m, slot, ks->rmap_list, addr);

				if (item) {
					ks->rmap_list = &item->rmap_list;
					up_read(&mm->mmap_lock);
					*pagep = page;
					return item;
				}
				folio_put(m, page_folio(page));
				up_read(&mm->mmap_lock);
				return NULL;	/* no memory for an item: try again next time */
			}
		}
	}
	/* The mm is done: what the list holds past the cursor names pages gone. */
	remove_trailing_rmap_items(m, ks->rmap_list);
	up_read(&mm->mmap_lock);

	spin_lock(&ks->ksm_mmlist_lock);
	advance_cursor_past(ks, slot);
	spin_unlock(&ks->ksm_mmlist_lock);
	if (ks->mm_slot)
		goto next_mm;
	atomic_long_add(1, &m->ksm_counters.full_scans);
	trace_ksm_stop_scan(m, (int)ks->seqnr, (uint32_t)atomic_long_read(&m->objs[OBJ_KSM_RMAP_ITEM]));
	return NULL;
}

/* ksm_do_scan(): up to scan_npages pages; caller holds ksm_thread_mutex.  Pages scanned. */
static unsigned long ksm_do_scan(struct mml_machine *m, unsigned long scan_npages)
{
	unsigned long done = 0;

	while (done < scan_npages) {
		struct page *page;
		struct ksm_rmap_item *item = scan_get_next_rmap_item(m, &page);

		if (!item)
			break;
		cmp_and_merge_page(m, page, item);
		folio_put(m, page_folio(page));
		done++;
	}
	atomic_long_add((long)done, &m->ksm_counters.pages_scanned);
	return done;
}

long mml_ksm_scan(struct mml_machine *m, uint64_t pages)
{
	struct ksm_state *ks = ksm_of(m);
	long n = 0;

	if (!pages)
		return -EINVAL;
	op_enter(m, NULL);
	mutex_lock(&ks->ksm_thread_mutex);
	n = (long)ksm_do_scan(m, pages > LONG_MAX ? LONG_MAX : (unsigned long)pages);
	mutex_unlock(&ks->ksm_thread_mutex);
	return op_exit(m, n);
}

/* ---- ksmd -------------------------------------------------------------------------------------- */

void wakeup_ksmd(struct mml_machine *m)
{
	if (m->ksmd_thread)
		set_bit_wake(KSMD_WAKE, &m->ksmd_flags);
}

/* ksm_scan_thread(): while run is 1, a batch of pages_to_scan, then sleep_millisecs. */
static void *ksm_scan_thread(void *arg)
{
	struct mml_machine *m = arg;
	struct ksm_state *ks = ksm_of(m);

	trace_kthread_comm = "ksmd";
	while (!test_bit(KSMD_STOP, &m->ksmd_flags)) {
		unsigned int sleep = READ_ONCE(m->ksm_knobs.sleep_millisecs);

		if (READ_ONCE(m->ksm_knobs.run) == KSM_RUN_MERGE) {
			op_enter(m, NULL);
			mutex_lock(&ks->ksm_thread_mutex);
			if (READ_ONCE(m->ksm_knobs.run) == KSM_RUN_MERGE)
				ksm_do_scan(m, READ_ONCE(m->ksm_knobs.pages_to_scan));
			mutex_unlock(&ks->ksm_thread_mutex);
			op_exit(m, 0);
		} else {
			sleep = 1000;	/* stopped: only a wake-up (run = 1) matters */
		}
		bit_wait_set_timeout(KSMD_WAKE, &m->ksmd_flags, sleep ? sleep : 1);
		clear_bit(KSMD_WAKE, &m->ksmd_flags);
	}
	return NULL;
}

int ksm_init(struct mml_machine *m)
{
	struct ksm_state *ks = calloc(1, sizeof(*ks));
	static const uint64_t zeros[PAGE_SIZE / 8];

	if (!ks)
		return -ENOMEM;
	mutex_init(&ks->ksm_thread_mutex);
	spin_lock_init(&ks->ksm_mmlist_lock);
	INIT_LIST_HEAD(&ks->mm_head);
	ks->root_stable_tree = RB_ROOT;
	ks->root_unstable_tree = RB_ROOT;
	ks->zero_checksum = checksum_words(zeros);
	m->ksm = ks;
	/* Linux 6.18's defaults (ksm_init and the globals' initialisers). */
	m->ksm_knobs.pages_to_scan = 100;
	m->ksm_knobs.sleep_millisecs = 20;
	m->ksm_knobs.max_page_sharing = 256;
	m->ksm_knobs.merge_across_nodes = 1;
	m->ksm_knobs.stable_node_chains_prune_millisecs = 2000;
	m->ksm_knobs.smart_scan = 1;
	m->ksm_knobs.advisor_max_cpu = 70;
	m->ksm_knobs.advisor_target_scan_time = 200;
	m->ksm_knobs.advisor_min_pages_to_scan = 500;
	m->ksm_knobs.advisor_max_pages_to_scan = 30000;
	if ((m->cfg.flags & MML_KSMD) && machine_thread_start(m, &m->ksmd_thread, "ksmd", ksm_scan_thread, &m->ksmd_flags))
		return -ENOMEM;
	return 0;
}

void ksm_stop(struct mml_machine *m)
{
	if (!m->ksmd_thread)
		return;
	set_bit(KSMD_STOP, &m->ksmd_flags);
	set_bit_wake(KSMD_WAKE, &m->ksmd_flags);
	machine_thread_join(m, m->ksmd_thread);
	m->ksmd_thread = NULL;
}
