/*
 * ksm_unmerge.c - KSM's registration and unmerging (Linux's mm/ksm.c,
 * the other half of mmlab's ksm.c): MADV_MERGEABLE and MADV_UNMERGEABLE
 * (ksm_madvise), fork and exit of a registered mm, break_ksm, run = 2
 * (unmerge_and_remove_all_rmap_items), the trees' end at power-off
 * (ksm_destroy), prctl(PR_SET_MEMORY_MERGE), and the checker's look at
 * both trees.  Locks as ksm.c's header says.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "mm/internal.h"
#include "mm/ksm_internal.h"

#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE	67
#define PR_GET_MEMORY_MERGE	68
#endif

static bool ksm_test_exit(struct mm_struct *mm) { return atomic_read(&mm->mm_users) == 0; }

/* ---- registration -------------------------------------------------------------------- */

static struct ksm_mm_slot *mm_slot_lookup(struct ksm_state *ks, struct mm_struct *mm)
{
	struct ksm_mm_slot *slot;

	list_for_each_entry(slot, &ks->mm_head, mm_node)
		if (slot->mm == mm)
			return slot;
	return NULL;
}

/* __ksm_enter(): register mm once (MMF_VM_MERGEABLE); new ones go last, as Linux's do. */
static int __ksm_enter(struct mm_struct *mm)
{
	struct mml_machine *m = mm->machine;
	struct ksm_state *ks = ksm_of(m);
	struct ksm_mm_slot *slot;

	if (test_bit(MMF_VM_MERGEABLE, &mm->flags))
		return 0;
	slot = mml_obj_alloc(m, OBJ_KSM_MM_SLOT, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	slot->mm = mm;
	slot->rmap_list = NULL;
	mmgrab(mm);
	spin_lock(&ks->ksm_mmlist_lock);
	list_add_tail(&slot->mm_node, &ks->mm_head);
	spin_unlock(&ks->ksm_mmlist_lock);
	set_bit(MMF_VM_MERGEABLE, &mm->flags);
	wakeup_ksmd(m);
	trace_ksm_enter(m, mm);
	return 0;
}

/* ksm_fork(): a child of a registered mm is registered; MMF_VM_MERGE_ANY is inherited (MMF_INIT_MASK). */
int ksm_fork(struct mm_struct *mm, struct mm_struct *oldmm)
{
	if (test_bit(MMF_VM_MERGE_ANY, &oldmm->flags))
		set_bit(MMF_VM_MERGE_ANY, &mm->flags);
	if (test_bit(MMF_VM_MERGEABLE, &oldmm->flags))
		return __ksm_enter(mm);
	return 0;
}

void free_mm_slot(struct mml_machine *m, struct ksm_mm_slot *slot)
{
	mmdrop(slot->mm);
	mml_obj_free(m, OBJ_KSM_MM_SLOT, slot);
}

/* The cursor leaves slot for the next one (or the list's end). */
void advance_cursor_past(struct ksm_state *ks, struct ksm_mm_slot *slot)
{
	if (ks->mm_slot != slot)
		return;
	if (slot->mm_node.next != &ks->mm_head)
		ks->mm_slot = list_entry(slot->mm_node.next, struct ksm_mm_slot, mm_node);
	else
		ks->mm_slot = NULL;
	ks->address = 0;
	ks->rmap_list = ks->mm_slot ? &ks->mm_slot->rmap_list : NULL;
}

/*
 * ksm_exit(): the mm's last user is gone, before exit_mmap.  Its items
 * and slot go now, under ksm_thread_mutex (Linux leaves them to ksmd).
 */
void ksm_exit(struct mm_struct *mm)
{
	struct mml_machine *m = mm->machine;
	struct ksm_state *ks = ksm_of(m);
	struct ksm_mm_slot *slot;

	if (!test_bit(MMF_VM_MERGEABLE, &mm->flags))
		return;
	mutex_lock(&ks->ksm_thread_mutex);
	spin_lock(&ks->ksm_mmlist_lock);
	slot = mm_slot_lookup(ks, mm);
	if (slot) {
		advance_cursor_past(ks, slot);
		list_del(&slot->mm_node);
	}
	spin_unlock(&ks->ksm_mmlist_lock);
	if (slot) {
		remove_trailing_rmap_items(m, &slot->rmap_list);
		free_mm_slot(m, slot);
	}
	clear_bit(MMF_VM_MERGEABLE, &mm->flags);
	mutex_unlock(&ks->ksm_thread_mutex);
	trace_ksm_exit(m, mm);
}

/* vma_ksm_compatible(): memory KSM may merge (Linux 6.18's list, less what mmlab has not). */
bool vma_ksm_compatible(const struct vm_area_struct *vma)
{
	if (vma->vm_flags & (VM_SHARED | VM_MAYSHARE | VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_HUGETLB |
			     VM_MIXEDMAP))
		return false;
	return true;
}

/* ksm_vma_flags(): a new VMA of an mm with MMF_VM_MERGE_ANY is mergeable from the start. */
vm_flags_t ksm_vma_flags(struct mm_struct *mm, vm_flags_t vm_flags)
{
	struct vm_area_struct probe = { .vm_flags = vm_flags };

	if (test_bit(MMF_VM_MERGE_ANY, &mm->flags) && vma_ksm_compatible(&probe))
		return vm_flags | VM_MERGEABLE;
	return vm_flags;
}

/* ---- unmerging ----------------------------------------------------------------------- */

/* Is the pte a zero page KSM put there (Linux marks those dirty)? */
static bool is_ksm_zero_pte(struct mml_machine *m, pte_t pte)
{
	return pte_present(pte) && is_zero_pfn(m, pte_pfn(pte)) && pte_dirty(pte);
}

/* ksm_might_unmap_zero_page(): a KSM zero pte is going away (zap, COW). */
void ksm_might_unmap_zero_page(struct mm_struct *mm, pte_t pte)
{
	if (is_ksm_zero_pte(mm->machine, pte)) {
		atomic_long_add(-1, &mm->machine->ksm_counters.zero_pages);
		atomic_long_add(-1, &mm->ksm_zero_pages);
	}
}

/*
 * break_ksm(): while addr maps a KSM page (or a KSM zero page), fault it
 * with FAULT_FLAG_UNSHARE: do_wp_page never reuses a KSM page, so the
 * mapping gets its own copy with the same bytes.  mmap_lock held.
 */
int break_ksm(struct vm_area_struct *vma, uint64_t addr)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;

	/*
	 * Linux loops until the page is not KSM any more; a fault that keeps
	 * it KSM (a KSM page reused in place, the zoo's ksm-cow-reuse) would
	 * loop forever, so mmlab reports it after a few rounds and gives up.
	 */
	for (int round = 0;; round++) {
		pmd_t *pmd = mm_find_pmd(mm, addr);
		bool ksm_page = false;
		spinlock_t *ptl;
		pte_t *pte;
		vm_fault_t ret;

		if (!pmd || !pmd_table(pmdp_get(pmd)))
			return 0;
		pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
		if (!pte)
			return 0;
		if (pte_present(ptep_get(pte))) {
			pte_t e = ptep_get(pte);
			struct page *page = vm_normal_page(vma, addr, e);

			ksm_page = (page && folio_test_ksm(page_folio(page))) || is_ksm_zero_pte(m, e);
		}
		pte_unmap_unlock(pte, ptl);
		if (!ksm_page)
			return 0;
		if (round == 8) {
			mml_report(m, "break_ksm: %#llx of mm %d still maps a KSM page after 8 unshare faults",
				   (unsigned long long)addr, mm->tgid);
			return -EFAULT;
		}
		ret = handle_mm_fault(vma, addr, FAULT_FLAG_UNSHARE | FAULT_FLAG_REMOTE);
		if (ret & VM_FAULT_OOM)
			return -ENOMEM;
		if (ret & VM_FAULT_ERROR)
			return -EFAULT;
	}
}

/* unmerge_ksm_pages(): every KSM page of [start, end) of vma becomes a private copy. */
static int unmerge_ksm_pages(struct vm_area_struct *vma, uint64_t start, uint64_t end)
{
	for (uint64_t addr = start; addr < end; addr += PAGE_SIZE) {
		int err = break_ksm(vma, addr);

		if (err)
			return err;
	}
	return 0;
}

/*
 * ksm_madvise(): MADV_MERGEABLE registers the mm and marks the VMA (an
 * incompatible one is left alone, success); MADV_UNMERGEABLE unmerges
 * what the range holds first.  mmap_lock held for write.
 */
int ksm_madvise(struct vm_area_struct *vma, uint64_t start, uint64_t end, int advice, vm_flags_t *vm_flags)
{
	int err;

	if (advice == MADV_MERGEABLE) {
		if ((*vm_flags & VM_MERGEABLE) || !vma_ksm_compatible(vma))
			return 0;
		if ((err = __ksm_enter(vma->vm_mm)))
			return err;
		*vm_flags |= VM_MERGEABLE;
		return 0;
	}
	if (!(*vm_flags & VM_MERGEABLE))
		return 0;
	if (vma->anon_vma && (err = unmerge_ksm_pages(vma, start, end)))
		return err;
	*vm_flags &= ~VM_MERGEABLE;
	return 0;
}

/* ---- run = 2: unmerge everything ----------------------------------------------------------- */

/*
 * remove_stable_node(): a node whose folio nobody maps any more (it may
 * wait in the swap cache) leaves the tree, the folio staying KSM without
 * a node (swap-in copies it).  -EBUSY while the folio is mapped.
 */
static int remove_stable_node(struct mml_machine *m, struct ksm_stable_node *n)
{
	struct folio *folio = ksm_get_folio(m, n, true);
	int err = -EBUSY;

	if (!folio)
		return 0;	/* stale: gone already */
	if (!folio_mapped(folio)) {
		folio_set_stable_node(folio, NULL);
		remove_node_from_stable_tree(m, n);
		err = 0;
	}
	folio_unlock(folio);
	folio_put(m, folio);
	return err;
}

/* remove_all_stable_nodes(): after an unmerge, the whole tree; -EBUSY if a KSM page is still mapped. */
static int remove_all_stable_nodes(struct mml_machine *m)
{
	struct ksm_state *ks = ksm_of(m);
	struct rb_node *rb, *next;
	int err = 0;

	/*
	 * Each step removes at most the node it stands on (a chain: with its
	 * last dup); the next one, taken before, stays in the tree.
	 */
	for (rb = rb_first(&ks->root_stable_tree); rb; rb = next) {
		struct ksm_stable_node *n = rb_entry(rb, struct ksm_stable_node, node);

		next = rb_next(rb);
		if (is_stable_node_chain(n)) {
			struct ksm_stable_node *dup, *dtmp;

			list_for_each_entry_safe(dup, dtmp, &n->hlist, hlist_dup) {
				bool last = list_is_singular(&n->hlist);

				if (remove_stable_node(m, dup))
					err = -EBUSY;
				else if (last)
					break;	/* the chain went with its last dup */
			}
		} else if (remove_stable_node(m, n)) {
			err = -EBUSY;
		}
	}
	return err;
}

/*
 * unmerge_and_remove_all_rmap_items(): every mergeable VMA of every
 * registered mm gets private copies, every item goes; the mms stay
 * registered.  Caller holds ksm_thread_mutex.  0 or -errno (-ENOMEM: a
 * copy failed, what was unmerged stays so).
 */
int unmerge_and_remove_all_rmap_items(struct mml_machine *m)
{
	struct ksm_state *ks = ksm_of(m);
	struct ksm_mm_slot *slot;
	int err = 0;

	spin_lock(&ks->ksm_mmlist_lock);
	slot = list_empty(&ks->mm_head) ? NULL : list_first_entry(&ks->mm_head, struct ksm_mm_slot, mm_node);
	spin_unlock(&ks->ksm_mmlist_lock);
	while (slot && !err) {
		struct mm_struct *mm = slot->mm;
		struct vm_area_struct *vma;

		down_read(&mm->mmap_lock);
		if (!ksm_test_exit(mm)) {
			for_each_vma(mm, vma) {
				if (!(vma->vm_flags & VM_MERGEABLE) || !vma->anon_vma)
					continue;
				if ((err = unmerge_ksm_pages(vma, vma->vm_start, vma->vm_end)))
					break;
			}
		}
		if (!err)
			remove_trailing_rmap_items(m, &slot->rmap_list);
		up_read(&mm->mmap_lock);

		spin_lock(&ks->ksm_mmlist_lock);
		slot = slot->mm_node.next == &ks->mm_head ? NULL :
			list_entry(slot->mm_node.next, struct ksm_mm_slot, mm_node);
		spin_unlock(&ks->ksm_mmlist_lock);
	}
	ks->mm_slot = NULL;
	ks->rmap_list = NULL;
	ks->address = 0;
	if (!err)
		remove_all_stable_nodes(m);	/* -EBUSY only if an mm is between ksm_exit and its unmap */
	return err;
}

/* The run knob's store: 0 stop, 1 merge, 2 unmerge all and stop (ksm_thread_mutex inside). */
int ksm_run_store(struct mml_machine *m, unsigned int run)
{
	struct ksm_state *ks = ksm_of(m);
	int err = 0;

	if (run > KSM_RUN_UNMERGE)
		return -EINVAL;
	mutex_lock(&ks->ksm_thread_mutex);
	if (READ_ONCE(m->ksm_knobs.run) != run) {
		WRITE_ONCE(m->ksm_knobs.run, run);
		if (run & KSM_RUN_UNMERGE) {
			err = unmerge_and_remove_all_rmap_items(m);
			if (err)
				WRITE_ONCE(m->ksm_knobs.run, KSM_RUN_STOP);
		}
	}
	mutex_unlock(&ks->ksm_thread_mutex);
	if (run & KSM_RUN_MERGE)
		wakeup_ksmd(m);
	return err;
}

/* Knobs whose change must wait for no merge in flight (max_page_sharing, merge_across_nodes). */
int ksm_knob_store_quiet(struct mml_machine *m, unsigned int *knob, unsigned int value, bool need_empty)
{
	struct ksm_state *ks = ksm_of(m);
	int err = 0;

	mutex_lock(&ks->ksm_thread_mutex);
	if (need_empty && *knob != value && remove_all_stable_nodes(m))
		err = -EBUSY;	/* Linux: only with no KSM page mapped (run=2 first) */
	else
		WRITE_ONCE(*knob, value);
	mutex_unlock(&ks->ksm_thread_mutex);
	return err;
}

/* Power-off, every mm gone: what is left is stable nodes whose folios were freed. */
void ksm_destroy(struct mml_machine *m)
{
	struct ksm_state *ks = ksm_of(m);

	if (!ks)
		return;
	while (!RB_EMPTY_ROOT(&ks->root_stable_tree)) {
		struct ksm_stable_node *n = rb_entry(rb_first(&ks->root_stable_tree), struct ksm_stable_node, node);

		if (is_stable_node_chain(n)) {
			struct ksm_stable_node *dup = list_first_entry(&n->hlist, struct ksm_stable_node, hlist_dup);

			remove_node_from_stable_tree(m, dup);
		} else {
			remove_node_from_stable_tree(m, n);
		}
	}
	while (!list_empty(&ks->mm_head)) {
		struct ksm_mm_slot *slot = list_first_entry(&ks->mm_head, struct ksm_mm_slot, mm_node);

		list_del(&slot->mm_node);
		remove_trailing_rmap_items(m, &slot->rmap_list);
		free_mm_slot(m, slot);
	}
	mutex_destroy(&ks->ksm_thread_mutex);
	spin_lock_destroy(&ks->ksm_mmlist_lock);
	free(ks);
	m->ksm = NULL;
}

/* ---- prctl(PR_SET_MEMORY_MERGE) ------------------------------------------------------------ */

static int ksm_enable_merge_any(struct mm_struct *mm)
{
	struct vm_area_struct *vma;
	int err;

	if (test_bit(MMF_VM_MERGE_ANY, &mm->flags))
		return 0;
	if ((err = __ksm_enter(mm)))
		return err;
	set_bit(MMF_VM_MERGE_ANY, &mm->flags);
	for_each_vma(mm, vma)
		if (vma_ksm_compatible(vma)) {
			vma_start_write(vma);	/* ksm_add_vmas: in place, as Linux's vm_flags_set */
			WRITE_ONCE(vma->vm_flags, vma->vm_flags | VM_MERGEABLE);
		}
	return 0;
}

static int ksm_disable_merge_any(struct mm_struct *mm)
{
	struct vm_area_struct *vma;
	int err;

	if (!test_bit(MMF_VM_MERGE_ANY, &mm->flags))
		return 0;
	for_each_vma(mm, vma) {
		if (!(vma->vm_flags & VM_MERGEABLE))
			continue;
		if (vma->anon_vma && (err = unmerge_ksm_pages(vma, vma->vm_start, vma->vm_end)))
			return err;
		vma_start_write(vma);
		WRITE_ONCE(vma->vm_flags, vma->vm_flags & ~VM_MERGEABLE);
	}
	clear_bit(MMF_VM_MERGE_ANY, &mm->flags);
	return 0;
}

int mml_prctl(struct mml_task *t, int option, unsigned long arg)
{
	struct mm_struct *mm = t->mm;
	long ret = op_enter_task(t);

	if (ret)
		return (int)ret;
	switch (option) {
	case PR_SET_MEMORY_MERGE:
		/* Any nonzero argument enables, as Linux's prctl reads it. */
		mmap_write_lock(mm);
		ret = arg ? ksm_enable_merge_any(mm) : ksm_disable_merge_any(mm);
		mmap_write_unlock(mm);
		break;
	case PR_GET_MEMORY_MERGE:
		ret = test_bit(MMF_VM_MERGE_ANY, &mm->flags);
		break;
	default:
		ret = -EINVAL;
	}
	return (int)op_exit_task(t, ret);
}

/* ---- for the checker and the views ---------------------------------------------------------- */

/* One node's items against its rmap_hlist_len and flags, its folio's state; the findings. */
static long ksm_check_node(struct mml_machine *m, struct ksm_stable_node *n, long *shared, long *sharing,
			   void (*report)(void *ctx, const char *msg, unsigned long pfn), void *ctx)
{
	struct ksm_rmap_item *item;
	struct folio *folio;
	long len = 0, bad = 0;

	list_for_each_entry(item, &n->hlist, hlist) {
		len++;
		if (!(item->address & STABLE_FLAG) || item->head != n) {
			report(ctx, "ksm: an item on a stable node is not marked stable there", n->kpfn);
			bad++;
		}
	}
	if (len != n->rmap_hlist_len) {
		report(ctx, "ksm: a stable node's rmap_hlist_len differs from its items", n->kpfn);
		bad++;
	}
	if (len) {
		++*shared;
		*sharing += len - 1;
	}
	folio = (struct folio *)pfn_to_page(m, n->kpfn);
	if (folio_stable_node(folio) != n)
		return bad;	/* stale: its folio went; removed at the next lookup */
	if (folio_test_large(folio)) {
		report(ctx, "ksm: a KSM folio is large", n->kpfn);
		bad++;
	}
	if (PageAnonExclusive(&folio->page)) {
		report(ctx, "ksm: a KSM folio is PG_anon_exclusive", n->kpfn);
		bad++;
	}
	return bad;
}

/*
 * ksm_check(): the checker's look at both trees, machine quiesced: each
 * is a red-black tree (the order is of page contents, which an unstable
 * page may change at any time: not checked); the stable tree holds plain
 * nodes and chains, a chain's hlist its dups; each live node's folio is
 * small, KSM, points back, never PG_anon_exclusive; items on a node are
 * STABLE and counted; the unstable tree holds only this lap's unstable
 * items; the global counters add up.  Calls report(ctx, message) per
 * finding; the count.
 */
long ksm_check(struct mml_machine *m, void (*report)(void *ctx, const char *msg, unsigned long pfn), void *ctx)
{
	struct ksm_state *ks = ksm_of(m);
	long shared = 0, sharing = 0, bad = 0;
	long items = atomic_long_read(&m->ksm_counters.rmap_items);
	long stable_nodes = atomic_long_read(&m->objs[OBJ_KSM_STABLE_NODE]);
	const char *why;
	struct rb_node *rb;

	if (!ks)	/* power-off freed it: nothing left to look at */
		return 0;
	if (rb_check(&ks->root_stable_tree, stable_nodes, &why) < 0) {
		report(ctx, why, 0);
		return bad + 1;	/* its links cannot be followed */
	}
	for (rb = rb_first(&ks->root_stable_tree); rb; rb = rb_next(rb)) {
		struct ksm_stable_node *n = rb_entry(rb, struct ksm_stable_node, node), *dup;

		if (n->chain) {
			report(ctx, "ksm: a dup sits in the stable tree itself", n->kpfn);
			bad++;
		}
		if (!is_stable_node_chain(n)) {
			bad += ksm_check_node(m, n, &shared, &sharing, report, ctx);
			continue;
		}
		if (list_empty(&n->hlist)) {
			report(ctx, "ksm: an empty stable node chain is in the tree", 0);
			bad++;
		}
		list_for_each_entry(dup, &n->hlist, hlist_dup) {
			if (dup->chain != n || is_stable_node_chain(dup)) {
				report(ctx, "ksm: a chain's dup does not name the chain, or is one", dup->kpfn);
				bad++;
			}
			bad += ksm_check_node(m, dup, &shared, &sharing, report, ctx);
		}
	}
	if (rb_check(&ks->root_unstable_tree, items, &why) < 0) {
		report(ctx, why, 0);
		bad++;
	} else {
		for (rb = rb_first(&ks->root_unstable_tree); rb; rb = rb_next(rb)) {
			struct ksm_rmap_item *item = rb_entry(rb, struct ksm_rmap_item, node);

			if (!(item->address & UNSTABLE_FLAG) || ((ks->seqnr - item->address) & SEQNR_MASK) != 0) {
				report(ctx, "ksm: an item in the unstable tree is not of this lap", 0);
				bad++;
			}
		}
	}
	if (shared != atomic_long_read(&m->ksm_counters.pages_shared) ||
	    sharing != atomic_long_read(&m->ksm_counters.pages_sharing)) {
		report(ctx, "ksm: pages_shared / pages_sharing differ from the stable tree", 0);
		bad++;
	}
	return bad;
}
