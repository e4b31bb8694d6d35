/*
 * rmap.c - reverse mapping of anonymous memory: anon_vma, anon_vma_chain,
 * and the per-page map counts (Linux's mm/rmap.c).
 *
 * Lock order (the whole of mmlab; docs/ARCHITECTURE.md has the same tree):
 *
 *   machine->quiesce (read: every operation; write: the invariant checker)
 *     mm->mmap_lock
 *       folio lock (PG_locked)
 *         anon_vma->root->rwsem
 *           mm->page_table_lock      (pgd/pud population, anon_vma install)
 *           pmd lock (split: the ptl of the pmd table page)
 *             pte lock (split: the ptl of the pte table page)
 *               machine->tasks_lock
 *                 mm->tasks_lock
 *                   tlb->lock          (flush; the CPU holds it while accessing)
 *                     zone->lock
 *
 * Anon_vma objects are freed after an RCU grace period, so that a walker
 * holding only RCU can safely look at folio->mapping (SLAB_TYPESAFE_BY_RCU
 * in Linux).
 */
#include "mm/internal.h"

static struct anon_vma *anon_vma_alloc(struct mml_machine *m)
{
	struct anon_vma *av = mml_obj_alloc(m, OBJ_ANON_VMA, sizeof(*av));

	if (!av)
		return NULL;
	atomic_set(&av->refcount, 1);
	av->root = av;
	av->parent = av;
	av->machine = m;
	init_rwsem(&av->rwsem);
	INIT_LIST_HEAD(&av->chains);
	return av;
}

static void anon_vma_free_rcu(struct callback_head *head)
{
	struct anon_vma *av = container_of(head, struct anon_vma, rcu);

	destroy_rwsem(&av->rwsem);
	mml_obj_free(av->machine, OBJ_ANON_VMA, av);
}

static void anon_vma_free(struct anon_vma *av)
{
	VM_BUG_ON(atomic_read(&av->refcount));
	rcu_batch_add(&av->machine->rcu, &av->rcu, anon_vma_free_rcu);
}

static void get_anon_vma(struct anon_vma *av)
{
	atomic_inc(&av->refcount);
}

/* Models put_anon_vma(): a non-root anon_vma holds a reference on its root. */
static void put_anon_vma(struct anon_vma *av)
{
	struct anon_vma *root = av->root;

	if (!atomic_dec_and_test(&av->refcount))
		return;
	anon_vma_free(av);
	if (root != av && atomic_dec_and_test(&root->refcount))
		anon_vma_free(root);
}

void anon_vma_lock_write(struct anon_vma *av) { down_write(&av->root->rwsem); }
void anon_vma_unlock_write(struct anon_vma *av) { up_write(&av->root->rwsem); }
void anon_vma_lock_read(struct anon_vma *av) { down_read(&av->root->rwsem); }
void anon_vma_unlock_read(struct anon_vma *av) { up_read(&av->root->rwsem); }

static struct anon_vma_chain *anon_vma_chain_alloc(struct mml_machine *m)
{
	return mml_obj_alloc(m, OBJ_AVC, sizeof(struct anon_vma_chain));
}

static void anon_vma_chain_free(struct mml_machine *m, struct anon_vma_chain *avc)
{
	mml_obj_free(m, OBJ_AVC, avc);
}

/* Caller holds the anon_vma lock (write). */
static void anon_vma_chain_link(struct vm_area_struct *vma, struct anon_vma_chain *avc,
				struct anon_vma *av)
{
	avc->vma = vma;
	avc->anon_vma = av;
	list_add(&avc->same_vma, &vma->anon_vma_chain);
	list_add_tail(&avc->same_anon_vma, &av->chains);
}

/* Models anon_vma_compatible(): could a and b share an anon_vma? */
static bool anon_vma_compatible(struct vm_area_struct *a, struct vm_area_struct *b)
{
	return a->vm_end == b->vm_start && a->vm_file == b->vm_file &&
	       !((a->vm_flags ^ b->vm_flags) & ~(VM_ACCESS_FLAGS | VM_SOFTDIRTY)) &&
	       b->vm_pgoff == a->vm_pgoff + vma_pages(a);
}

/* Models find_mergeable_anon_vma(): reuse a neighbour's, so they may merge later. */
static struct anon_vma *find_mergeable_anon_vma(struct vm_area_struct *vma)
{
	struct vm_area_struct *next = vma_next(vma), *prev = vma_prev(vma);

	struct anon_vma *av = NULL;

	/*
	 * A neighbour may be getting its anon_vma right now (we hold mmap_lock
	 * only for read): read its pointer with acquire, which pairs with the
	 * release in anon_vma_prepare(), and its chain under page_table_lock.
	 */
	spin_lock(&vma->vm_mm->page_table_lock);
	if (next && anon_vma_compatible(vma, next) && smp_load_acquire(&next->anon_vma) &&
	    list_is_singular(&next->anon_vma_chain))
		av = next->anon_vma;
	else if (prev && anon_vma_compatible(prev, vma) && smp_load_acquire(&prev->anon_vma) &&
		 list_is_singular(&prev->anon_vma_chain))
		av = prev->anon_vma;
	spin_unlock(&vma->vm_mm->page_table_lock);
	return av;
}

/*
 * Models __anon_vma_prepare(): give vma an anon_vma before its first anon
 * folio.  Called under mmap_lock for read, so two faulting threads may race:
 * the page_table_lock decides.
 */
int anon_vma_prepare(struct vm_area_struct *vma)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	struct anon_vma *av, *allocated = NULL;
	struct anon_vma_chain *avc;

	if (likely(smp_load_acquire(&vma->anon_vma)))
		return 0;
	avc = anon_vma_chain_alloc(m);
	if (!avc)
		return -ENOMEM;
	av = find_mergeable_anon_vma(vma);
	if (!av) {
		av = anon_vma_alloc(m);
		if (!av) {
			anon_vma_chain_free(m, avc);
			return -ENOMEM;
		}
		av->num_children++;	/* self-parent link of a new root */
		allocated = av;
	}

	anon_vma_lock_write(av);
	spin_lock(&mm->page_table_lock);
	if (!vma->anon_vma) {
		anon_vma_chain_link(vma, avc, av);
		/* Publish an initialised anon_vma and chain: pairs with the acquire loads. */
		smp_store_release(&vma->anon_vma, av);
		av->num_active_vmas++;
		allocated = NULL;
		avc = NULL;
	}
	spin_unlock(&mm->page_table_lock);
	anon_vma_unlock_write(av);

	if (allocated)
		put_anon_vma(allocated);
	if (avc)
		anon_vma_chain_free(m, avc);
	return 0;
}

/*
 * Models anon_vma_clone(): link dst to every anon_vma src is linked to.
 * For fork (dst->anon_vma NULL), an anon_vma with no VMA of its own left and
 * at most one child is reused rather than chaining a new level.
 */
int anon_vma_clone(struct vm_area_struct *dst, struct vm_area_struct *src)
{
	struct mml_machine *m = src->vm_mm->machine;
	struct anon_vma_chain *pavc;

	for (pavc = list_entry(src->anon_vma_chain.prev, struct anon_vma_chain, same_vma);
	     &pavc->same_vma != &src->anon_vma_chain;
	     pavc = list_entry(pavc->same_vma.prev, struct anon_vma_chain, same_vma)) {
		struct anon_vma *av = pavc->anon_vma;
		struct anon_vma_chain *avc = anon_vma_chain_alloc(m);

		if (!avc) {
			dst->anon_vma = NULL;
			unlink_anon_vmas(dst);
			return -ENOMEM;
		}
		anon_vma_lock_write(av);
		anon_vma_chain_link(dst, avc, av);
		if (!dst->anon_vma && src->anon_vma && av->num_children < 2 && av->num_active_vmas == 0)
			dst->anon_vma = av;
		anon_vma_unlock_write(av);
	}
	if (dst->anon_vma) {
		/* Under the root lock, as every change of the count. */
		anon_vma_lock_write(dst->anon_vma);
		dst->anon_vma->num_active_vmas++;
		anon_vma_unlock_write(dst->anon_vma);
	}
	return 0;
}

/* Models anon_vma_fork(): the child VMA gets its own anon_vma below the parent's. */
int anon_vma_fork(struct vm_area_struct *vma, struct vm_area_struct *pvma)
{
	struct mml_machine *m = vma->vm_mm->machine;
	struct anon_vma_chain *avc;
	struct anon_vma *av;

	if (!pvma->anon_vma)
		return 0;
	vma->anon_vma = NULL;
	if (anon_vma_clone(vma, pvma))
		return -ENOMEM;
	if (vma->anon_vma)
		return 0;	/* reused an idle anon_vma */

	av = anon_vma_alloc(m);
	if (!av)
		goto out_error;
	avc = anon_vma_chain_alloc(m);
	if (!avc) {
		put_anon_vma(av);
		goto out_error;
	}
	av->num_active_vmas++;	/* not visible to anyone yet */
	av->root = pvma->anon_vma->root;
	av->parent = pvma->anon_vma;
	get_anon_vma(av->root);
	vma->anon_vma = av;
	anon_vma_lock_write(av);
	anon_vma_chain_link(vma, avc, av);
	av->parent->num_children++;
	anon_vma_unlock_write(av);
	return 0;

out_error:
	unlink_anon_vmas(vma);
	return -ENOMEM;
}

/* Models unlink_anon_vmas(): drop vma from every anon_vma; free the empty ones. */
void unlink_anon_vmas(struct vm_area_struct *vma)
{
	struct mml_machine *m = vma->vm_mm->machine;
	struct anon_vma_chain *avc, *next;

	list_for_each_entry_safe(avc, next, &vma->anon_vma_chain, same_vma) {
		struct anon_vma *av = avc->anon_vma;

		anon_vma_lock_write(av);
		list_del(&avc->same_anon_vma);
		if (list_empty(&av->chains)) {
			/* Keep it on our list: freed below, outside the lock. */
			av->parent->num_children--;
			anon_vma_unlock_write(av);
			continue;
		}
		anon_vma_unlock_write(av);
		list_del(&avc->same_vma);
		anon_vma_chain_free(m, avc);
	}
	if (vma->anon_vma) {
		anon_vma_lock_write(vma->anon_vma);
		vma->anon_vma->num_active_vmas--;
		anon_vma_unlock_write(vma->anon_vma);
		WRITE_ONCE(vma->anon_vma, NULL);
	}
	list_for_each_entry_safe(avc, next, &vma->anon_vma_chain, same_vma) {
		struct anon_vma *av = avc->anon_vma;

		list_del(&avc->same_vma);
		anon_vma_chain_free(m, avc);
		put_anon_vma(av);
	}
}

/* ---- map counts ------------------------------------------------------------ */

/* Models __folio_set_anon(). */
static void __folio_set_anon(struct folio *folio, struct vm_area_struct *vma, uint64_t addr, bool exclusive)
{
	struct anon_vma *av = vma->anon_vma;

	/*
	 * A folio other processes may map too (swapped in after fork) must
	 * name the oldest anon_vma, the root: every VMA of the fork tree is
	 * chained to it, so rmap finds all of them.
	 */
	if (!exclusive)
		av = av->root;
	folio->index = linear_page_index(vma, addr);
	WRITE_ONCE(folio->mapping, (void *)((unsigned long)av | PAGE_MAPPING_ANON));
}

/* Models folio_add_new_anon_rmap(): a brand-new folio, mapped exclusively once. */
void folio_add_new_anon_rmap(struct folio *folio, struct vm_area_struct *vma, uint64_t addr)
{
	struct mml_machine *m = vma->vm_mm->machine;

	VM_BUG_ON_VMA(!vma->anon_vma, vma);
	VM_BUG_ON_FOLIO(folio_test_large(folio), m, folio);
	__folio_set_anon(folio, vma, addr, true);
	atomic_set(&folio->_mapcount, 0);
	__SetPageAnonExclusive(&folio->page);
	mod_vm_stat(m, NR_ANON_MAPPED, 1);
}

/* Models folio_add_anon_rmap_ptes() for one page. */
void folio_add_anon_rmap_pte(struct folio *folio, struct page *page, struct vm_area_struct *vma,
			     uint64_t addr, bool exclusive)
{
	struct mml_machine *m = vma->vm_mm->machine;

	/* Fresh from swap: it becomes anon with its first mapping (folio locked). */
	if (!folio_test_anon(folio)) {
		VM_BUG_ON_FOLIO(!folio_test_locked(folio), m, folio);
		__folio_set_anon(folio, vma, addr, exclusive);
	}
	if (atomic_inc_and_test(&page->_mapcount))
		mod_vm_stat(m, NR_ANON_MAPPED, 1);
	if (exclusive)
		SetPageAnonExclusive(page);
	VM_WARN_ON_PAGE(PageAnonExclusive(page) && page_mapcount(page) > 1, m, page);
}

/* Models folio_remove_rmap_pte(). */
void folio_remove_rmap_pte(struct folio *folio, struct page *page, struct vm_area_struct *vma)
{
	struct mml_machine *m = vma->vm_mm->machine;

	if (atomic_add_negative(-1, &page->_mapcount))
		mod_vm_stat(m, folio_test_anon(folio) ? NR_ANON_MAPPED : NR_FILE_MAPPED, -1);
	VM_BUG_ON_PAGE(page_mapcount(page) < 0, m, page);
}

/* Models folio_needs_cow_for_dma(): only mms that ever pinned pay for the check. */
static bool folio_needs_cow_for_dma(struct vm_area_struct *vma, struct folio *folio)
{
	if (!test_bit(MMF_HAS_PINNED, &vma->vm_mm->flags))
		return false;
	return folio_maybe_dma_pinned(folio);
}

/*
 * Models folio_try_dup_anon_rmap_pte(): fork shares page with the child.
 * An exclusive page that may be pinned cannot be shared (-EBUSY: the caller
 * copies it); otherwise it stops being exclusive.
 */
int folio_try_dup_anon_rmap_pte(struct folio *folio, struct page *page, struct vm_area_struct *src_vma)
{
	struct mml_machine *m = src_vma->vm_mm->machine;

	if (PageAnonExclusive(page)) {
		if (folio_needs_cow_for_dma(src_vma, folio) && !bug_enabled(m, BUG_FORK_SHARE_PINNED))
			return -EBUSY;
		if (!bug_enabled(m, BUG_FORK_KEEP_EXCLUSIVE))
			ClearPageAnonExclusive(page);
	}
	atomic_inc(&page->_mapcount);
	return 0;
}

/* ---- rmap walk -------------------------------------------------------------- */

/* Models vma_address(): where pgoff is mapped in vma, or -EFAULT if not. */
uint64_t vma_address(struct vm_area_struct *vma, unsigned long pgoff)
{
	uint64_t addr;

	if (pgoff < vma->vm_pgoff || pgoff >= vma->vm_pgoff + vma_pages(vma))
		return (uint64_t)-EFAULT;
	addr = vma->vm_start + ((uint64_t)(pgoff - vma->vm_pgoff) << PAGE_SHIFT);
	return addr;
}

/* Models rmap_walk_anon(). */
void rmap_walk(struct folio *folio, struct rmap_walk_control *rwc)
{
	struct anon_vma *av = folio_anon_vma(folio);
	struct anon_vma_chain *avc;
	unsigned long pgoff = folio->index;

	if (!av)
		return;
	anon_vma_lock_read(av);
	list_for_each_entry(avc, &av->chains, same_anon_vma) {
		struct vm_area_struct *vma = avc->vma;
		uint64_t addr = vma_address(vma, pgoff);

		if (addr == (uint64_t)-EFAULT)
			continue;
		if (!rwc->rmap_one(folio, vma, addr, rwc->arg))
			break;
	}
	anon_vma_unlock_read(av);
}

/*
 * Models folio_move_anon_rmap(): a folio reused by do_wp_page now belongs to
 * this VMA alone, so point it at the VMA's own anon_vma (narrower walks).
 * Caller holds the folio lock.
 */
void folio_move_anon_rmap(struct folio *folio, struct vm_area_struct *vma)
{
	VM_BUG_ON_FOLIO(!folio_test_locked(folio), vma->vm_mm->machine, folio);
	WRITE_ONCE(folio->mapping, (void *)((unsigned long)vma->anon_vma | PAGE_MAPPING_ANON));
}

/*
 * Models folio_try_share_anon_rmap_pte(): the page is about to be unmapped
 * into a swap or migration entry, after which another mm may map it too.
 * It must not be pinned (-EBUSY); it stops being exclusive.  Pairs with the
 * smp_rmb() in gup_must_unshare().
 */
int folio_try_share_anon_rmap_pte(struct folio *folio, struct page *page)
{
	if (folio_maybe_dma_pinned(folio))
		return -EBUSY;
	ClearPageAnonExclusive(page);
	smp_mb();
	return 0;
}
