/*
 * rmap.c - reverse mapping: anon_vma and anon_vma_chain for anonymous
 * memory, i_mmap for files, the map counts of small and large folios,
 * rmap_walk and folio_mkclean (Linux's mm/rmap.c).
 *
 * Lock order, the whole of mmlab's (docs/ARCHITECTURE.md shows this tree;
 * `make check-layers` fails when the two differ):
 *
 *   machine->quiesce (a percpu_rw_semaphore; read: every operation and deferred free; write: the checker)
 *     inode->i_rwsem             (write(), truncate, fallocate, seals)
 *       mapping->invalidate_lock (write: truncate, punch; read: filling the cache)
 *     sb->s_dir_lock             (open, unlink: a flat directory)
 *       sb->s_inode_list_lock
 *     mm->mmap_lock
 *       VMA lock (vm_refcnt)     (write: vma_start_write; read: a fault in mmap_lock's stead, over all below; tries mmap_lock only)
 *       mapping->invalidate_lock (read: a fault filling the cache)
 *       folio lock (PG_locked)
 *         mapping->i_mmap_rwsem  (file rmap, VMA bounds, unmap_mapping_range)
 *         mapping->i_pages lock  (xa_lock: the page cache)
 *           rcu_batch.lock       (xarray nodes freed after a grace period)
 *         anon_vma->root->rwsem
 *           mm->page_table_lock      (pgd/pud population, anon_vma install)
 *           pmd lock                 (the ptl of the pmd table page)
 *             pte lock               (the ptl of the pte table page)
 *               [rcu_read_lock may be held anywhere from here down]
 *               machine->tasks_lock
 *                 mm->tasks_lock
 *                   tlb->lock        (shootdown; the CPU's fill and slow path, not its hits)
 *                     per_cpu_pages->lock (a CPU's list of free pages: order-0 allocation and free, drains)
 *                       zone->lock
 *               swap_info->lock      (swap_duplicate, swap_free, swap counts, the swap cache)
 *                 swap_cluster_info->lock (a cluster's count and list flags: slot allocation and free)
 *                 mte.swap_lock      (arch: tag records of swap slots)
 *                   PG_mte_lock      (arch: a page's first tags; also under a pte or folio lock)
 *               cpu_fbatches->lock (a CPU's lru_add batch: folio_add_lru and the drains; also under a folio lock alone)
 *                 lruvec->lru_lock   (also under a folio lock alone, and the i_pages lock: a page-cache split)
 *               notifier srcu        (read around callbacks, also under mmap_lock, a folio, anon_vma or i_mmap lock alone; callbacks only try mmap_lock)
 *                 device->lock       (drivers: in their callbacks and accesses)
 *   machine->swap_lock -> swap_info->lock -> mte.swap_lock, swap_cluster_info->lock (slot allocation, swapon, swapoff)
 *   mm->mmap_lock -> notifier srcu (write: register; unregister holds nothing else)
 *   khugepaged scan_mutex -> mm->mmap_lock (one scanner at a time: the thread or mml_khugepaged_scan)
 *   ksm_thread_mutex -> mm->mmap_lock -> folio lock (one KSM scanner: ksmd or mml_ksm_scan; run=2, ksm_exit; khugepaged scan_mutex -> it via mmput)
 *   mapping->invalidate_lock -> folio lock -> mapping->i_mmap_rwsem (truncate and punch under i_rwsem, as under mmap_lock)
 *   mapping->i_mmap_rwsem -> anon_vma->root->rwsem (VMA bounds), -> pte lock (unmap_mapping_range), -> pmd lock -> pte lock (retract_page_tables, no mmap_lock)
 *   pte lock -> pte lock (two tables of one mm under its mmap_lock for write: mremap's move_ptes; fork: the parent's under the child's)
 *   machine->pins_lock, machine->fail.lock, machine->held_lock, rcu_batch.lock, notifier subscriptions->lock,
 *     machine->trace.lock (trace events, emitted under any of the above): leaves
 *   split_queue_lock (also under a pte lock: rmap's partial unmap), khugepaged_scan.lock, ksm_mmlist_lock: leaves
 *   a large folio's mapcount lock (folio_lock_large_mapcount, under a pte or pmd lock): a leaf
 *   files->file_lock, machine->shmem_swaplist_lock: leaves (inode and file references are dropped outside them)
 *   bit-wait table mutexes (folio lock waits, MMF_OOM_REAPING, KSWAPD_WAKE, KHUGEPAGED_WAKE, KSMD_WAKE, notifier seq): leaves
 *   mm->mmap_lock -> userfaultfd ctx->lock (also alone) -> bit-wait table mutexes (a waiter's wake_up_var); machine->uffd_lock: a leaf
 *
 * Anon_vma objects are freed after an RCU grace period, so that a walker
 * holding only RCU can safely look at folio->mapping (SLAB_TYPESAFE_BY_RCU
 * in Linux).
 */
#include "fs/fs.h"
#include "mm/internal.h"
#include "mm/ksm.h"
#include "mm/mmu_notifier.h"

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
void put_anon_vma(struct anon_vma *av)
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

/*
 * How a folio's mappings are counted (Linux with CONFIG_PAGE_MAPCOUNT):
 *
 *   small folio   _mapcount: its ptes - 1.
 *   large folio   each page's _mapcount: the ptes mapping that page - 1;
 *                 _entire_mapcount: the pmds mapping the whole folio - 1;
 *                 _large_mapcount: every mapping of any of its pages (a pte
 *                 counts 1, a pmd counts 1) - 1, what folio_mapcount() reads;
 *                 _nr_pages_mapped: the pages mapped by at least one pte,
 *                 plus ENTIRELY_MAPPED while a pmd maps the folio;
 *                 _mm_id[], _mm_id_mapcount[]: the mms among those
 *                 mappings (Linux's CONFIG_MM_ID, below; mm.h).
 *
 * NR_ANON_MAPPED / NR_FILE_MAPPED count pages that are mapped at all, so
 * each change below works out how many pages went from unmapped to
 * mapped or back.  folio_is_valid() (debug.c) checks these identities.
 */
enum rmap_level { RMAP_LEVEL_PTE, RMAP_LEVEL_PMD };

/*
 * The mm-id slots of a large folio, changed with its large mapcount under
 * folio_lock_large_mapcount().  A slot names an mm and counts its
 * mappings; an mm that finds no free slot is not counted, but then two
 * others hold the slots and the folio is already marked shared.  The
 * shared mark goes only when one slot's count is every mapping again,
 * which is looked at only when a slot is given up.
 */
static void folio_set_mm_slot(struct folio *folio, int slot, unsigned int id)
{
	unsigned long ids = READ_ONCE(folio->_mm_ids), shift = 32UL * slot;

	ids = (ids & ~((unsigned long)MM_ID_MASK << shift)) | ((unsigned long)id << shift);
	WRITE_ONCE(folio->_mm_ids, ids);
}

static void folio_mark_mm_ids_shared(struct folio *folio, bool shared)
{
	unsigned long bit = 1UL << FOLIO_MM_IDS_SHARED_BITNUM, ids = READ_ONCE(folio->_mm_ids);

	WRITE_ONCE(folio->_mm_ids, shared ? ids | bit : ids & ~bit);
}

/* Models folio_set_large_mapcount(): a new folio, mapcount mappings of vma's mm. */
static void folio_set_large_mapcount(struct folio *folio, int mapcount, struct vm_area_struct *vma)
{
	atomic_set(&folio->_large_mapcount, mapcount - 1);
	folio_set_mm_slot(folio, 0, vma->vm_mm->mm_id);
	folio->_mm_id_mapcount[0] = mapcount - 1;
}

/* Models folio_add_return_large_mapcount(): diff more mappings by vma's mm. */
static void folio_add_large_mapcount(struct folio *folio, int diff, struct vm_area_struct *vma)
{
	unsigned int id = vma->vm_mm->mm_id;
	int now;

	folio_lock_large_mapcount(folio);
	now = atomic_add_return(diff, &folio->_large_mapcount);
	if (folio_mm_id(folio, 0) == id) {
		folio->_mm_id_mapcount[0] += diff;
	} else if (folio_mm_id(folio, 1) == id) {
		folio->_mm_id_mapcount[1] += diff;
	} else if (folio_mm_id(folio, 0) == MM_ID_DUMMY) {
		folio_set_mm_slot(folio, 0, id);
		folio->_mm_id_mapcount[0] = diff - 1;
		/* Mappings this slot does not count: another mm's. */
		if (now != diff - 1)
			folio_mark_mm_ids_shared(folio, true);
	} else if (folio_mm_id(folio, 1) == MM_ID_DUMMY) {
		folio_set_mm_slot(folio, 1, id);
		folio->_mm_id_mapcount[1] = diff - 1;
		folio_mark_mm_ids_shared(folio, true);
	}
	folio_unlock_large_mapcount(folio);
}

/* Models folio_sub_return_large_mapcount(): diff mappings by vma's mm are gone. */
static void folio_sub_large_mapcount(struct folio *folio, int diff, struct vm_area_struct *vma)
{
	unsigned int id = vma->vm_mm->mm_id;
	int now, slot;

	folio_lock_large_mapcount(folio);
	now = atomic_sub_return(diff, &folio->_large_mapcount);
	slot = folio_mm_id(folio, 0) == id ? 0 : folio_mm_id(folio, 1) == id ? 1 : -1;
	if (slot >= 0) {
		folio->_mm_id_mapcount[slot] -= diff;
		if (folio->_mm_id_mapcount[slot] >= 0)
			goto out;
		/* Its last mapping (or below: some were made while it had no slot). */
		folio->_mm_id_mapcount[slot] = -1;
		folio_set_mm_slot(folio, slot, MM_ID_DUMMY);
	}
	if (folio->_mm_id_mapcount[0] == now || folio->_mm_id_mapcount[1] == now)
		folio_mark_mm_ids_shared(folio, false);
out:
	folio_unlock_large_mapcount(folio);
}

/* The counter of the folios a pmd maps: AnonHugePages, ShmemPmdMapped or FilePmdMapped. */
static enum vm_stat_item folio_pmd_mapped_item(const struct folio *folio)
{
	if (folio_test_anon(folio))
		return NR_ANON_THPS;
	return folio_test_swapbacked(folio) ? NR_SHMEM_PMDMAPPED : NR_FILE_PMDMAPPED;
}

static void folio_mod_mapped_stat(struct mml_machine *m, struct folio *folio, long nr)
{
	if (nr)
		mod_vm_stat(m, folio_test_anon(folio) ? NR_ANON_MAPPED : NR_FILE_MAPPED, nr);
}

/*
 * __folio_add_rmap(): count nr_pages more pte mappings from page, or one
 * pmd; the pages newly mapped.  *first_pmd: this is the folio's first pmd
 * (it now counts in nr_anon_transparent_hugepages / AnonHugePages).
 */
static long __folio_add_rmap(struct folio *folio, struct page *page, int nr_pages, enum rmap_level level,
			     struct vm_area_struct *vma, bool *first_pmd)
{
	atomic_t *mapped = &folio->_nr_pages_mapped;
	long nr = 0;

	*first_pmd = false;
	if (level == RMAP_LEVEL_PMD) {
		folio_add_large_mapcount(folio, 1, vma);
		if (atomic_inc_and_test(&folio->_entire_mapcount)) {
			*first_pmd = true;
			/* First pmd: every page not already mapped by a pte is newly mapped. */
			int was = atomic_add_return(ENTIRELY_MAPPED, mapped) - ENTIRELY_MAPPED;

			if (was < ENTIRELY_MAPPED)
				nr = folio_nr_pages(folio) - (was & FOLIO_PAGES_MAPPED);
		}
		return nr;
	}
	if (!folio_test_large(folio))
		return atomic_inc_and_test(&folio->_mapcount);
	folio_add_large_mapcount(folio, nr_pages, vma);
	for (int i = 0; i < nr_pages; i++, page++) {
		/* A page's first pte; it was unmapped unless a pmd maps the folio. */
		if (atomic_inc_and_test(&page->_mapcount) && atomic_add_return(1, mapped) < ENTIRELY_MAPPED)
			nr++;
	}
	return nr;
}

/* __folio_remove_rmap(): the inverse; the pages no longer mapped at all. */
static long __folio_remove_rmap(struct folio *folio, struct page *page, int nr_pages, enum rmap_level level,
				struct vm_area_struct *vma, bool *last_pmd)
{
	atomic_t *mapped = &folio->_nr_pages_mapped;
	long nr = 0;

	*last_pmd = false;
	if (level == RMAP_LEVEL_PMD) {
		folio_sub_large_mapcount(folio, 1, vma);
		if (atomic_add_negative(-1, &folio->_entire_mapcount)) {
			*last_pmd = true;
			/* Last pmd: the pages no pte maps are unmapped now. */
			int left = atomic_sub_return(ENTIRELY_MAPPED, mapped);

			if (left < ENTIRELY_MAPPED)
				nr = folio_nr_pages(folio) - (left & FOLIO_PAGES_MAPPED);
		}
		return nr;
	}
	if (!folio_test_large(folio))
		return atomic_add_negative(-1, &folio->_mapcount);
	folio_sub_large_mapcount(folio, nr_pages, vma);
	for (int i = 0; i < nr_pages; i++, page++) {
		if (atomic_add_negative(-1, &page->_mapcount) && atomic_sub_return(1, mapped) < ENTIRELY_MAPPED)
			nr++;
	}
	return nr;
}

/*
 * Some pages of an anon large folio went unmapped while others stay
 * mapped: queue it for the deferred split, so that the shrinker can give
 * the unmapped pages back (Linux does it at the end of
 * __folio_remove_rmap).
 */
static void folio_maybe_partially_mapped(struct vm_area_struct *vma, struct folio *folio, long nr)
{
	if (nr && folio_test_large(folio) && folio_test_anon(folio) && folio_mapped(folio) &&
	    (atomic_read(&folio->_nr_pages_mapped) & FOLIO_PAGES_MAPPED) < folio_nr_pages(folio) &&
	    atomic_read(&folio->_entire_mapcount) < 0)
		deferred_split_folio(vma->vm_mm->machine, folio, true);
}

/* __folio_set_anon(): the folio becomes anon, named by its anon_vma and index. */
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

/*
 * folio_add_new_anon_rmap(): a folio nobody else can see yet, mapped in
 * full at addr: by one pmd if it is PMD-sized, else by a pte per page.
 * Plain stores, as no one else counts on it yet.
 */
void folio_add_new_anon_rmap(struct folio *folio, struct vm_area_struct *vma, uint64_t addr, rmap_t flags)
{
	struct mml_machine *m = vma->vm_mm->machine;
	bool exclusive = flags & RMAP_EXCLUSIVE;
	long nr = folio_nr_pages(folio);

	VM_BUG_ON_VMA(!vma->anon_vma, vma);
	VM_BUG_ON_VMA(addr < vma->vm_start || addr + ((uint64_t)nr << PAGE_SHIFT) > vma->vm_end, vma);
	if (!folio_test_large(folio)) {
		atomic_set(&folio->_mapcount, 0);
		if (exclusive)
			__SetPageAnonExclusive(&folio->page);
	} else if (folio_order(folio) < HPAGE_PMD_ORDER) {
		for (long i = 0; i < nr; i++) {
			atomic_set(&folio_page(folio, i)->_mapcount, 0);
			if (exclusive)
				__SetPageAnonExclusive(folio_page(folio, i));
		}
		folio_set_large_mapcount(folio, (int)nr, vma);
		atomic_set(&folio->_nr_pages_mapped, (int)nr);
	} else {
		atomic_set(&folio->_entire_mapcount, 0);
		folio_set_large_mapcount(folio, 1, vma);
		atomic_set(&folio->_nr_pages_mapped, ENTIRELY_MAPPED);
		/* A pmd-mapped folio is exclusive as a whole: the flag lives on its head. */
		if (exclusive)
			__SetPageAnonExclusive(&folio->page);
		mod_vm_stat(m, NR_ANON_THPS, 1);
	}
	/* Anon memory is swap-backed, whatever the VMA (a private copy of a file's page too). */
	if (!folio_test_swapbacked(folio))
		__folio_set_swapbacked(folio);
	__folio_set_anon(folio, vma, addr, exclusive);
	mod_vm_stat(m, NR_ANON_MAPPED, nr);
}

static void __folio_add_anon_rmap(struct folio *folio, struct page *page, int nr_pages,
				  struct vm_area_struct *vma, uint64_t addr, rmap_t flags, enum rmap_level level)
{
	struct mml_machine *m = vma->vm_mm->machine;
	bool exclusive = flags & RMAP_EXCLUSIVE;

	/* Fresh from swap: it becomes anon with its first mapping (folio locked). */
	if (!folio_test_anon(folio)) {
		VM_BUG_ON_FOLIO(!folio_test_locked(folio), m, folio);
		__folio_set_anon(folio, vma, addr, exclusive);
	}
	bool first_pmd;

	folio_mod_mapped_stat(m, folio, __folio_add_rmap(folio, page, nr_pages, level, vma, &first_pmd));
	if (first_pmd)
		mod_vm_stat(m, NR_ANON_THPS, 1);
	if (exclusive) {
		if (level == RMAP_LEVEL_PMD)
			SetPageAnonExclusive(&folio->page);
		else
			for (int i = 0; i < nr_pages; i++)
				SetPageAnonExclusive(page + i);
	}
	/* An exclusive page has one pte, or one pmd (both for a moment while a pmd is split). */
	for (int i = 0; i < nr_pages; i++)
		VM_WARN_ON_PAGE(PageAnonExclusive(page + i) &&
				(atomic_read(&page[i]._mapcount) > 0 || folio_entire_mapcount(folio) > 1),
				m, page + i);
	/* Mapped in full by a locked VMA: mlocked (a part mapping is left to reclaim). */
	if (level == RMAP_LEVEL_PMD || nr_pages == folio_nr_pages(folio))
		mlock_vma_folio(folio, vma);
}

/* folio_add_anon_rmap_ptes(): nr_pages ptes from page, which map an anon folio already. */
void folio_add_anon_rmap_ptes(struct folio *folio, struct page *page, int nr_pages,
			      struct vm_area_struct *vma, uint64_t addr, rmap_t flags)
{
	__folio_add_anon_rmap(folio, page, nr_pages, vma, addr, flags, RMAP_LEVEL_PTE);
}

/* folio_add_anon_rmap_pmd(): one pmd maps the whole folio (THP, unused until THP lands). */
void folio_add_anon_rmap_pmd(struct folio *folio, struct page *page, struct vm_area_struct *vma,
			     uint64_t addr, rmap_t flags)
{
	__folio_add_anon_rmap(folio, page, 1, vma, addr, flags, RMAP_LEVEL_PMD);
}

/* folio_remove_rmap_ptes(): nr_pages ptes from page are gone. */
void folio_remove_rmap_ptes(struct folio *folio, struct page *page, int nr_pages,
			    struct vm_area_struct *vma)
{
	struct mml_machine *m = vma->vm_mm->machine;
	bool last_pmd;
	long nr = __folio_remove_rmap(folio, page, nr_pages, RMAP_LEVEL_PTE, vma, &last_pmd);

	folio_mod_mapped_stat(m, folio, -nr);
	VM_BUG_ON_FOLIO(folio_mapcount(folio) < 0, m, folio);
	folio_maybe_partially_mapped(vma, folio, nr);
	munlock_vma_folio(folio, vma);
}

/* folio_remove_rmap_pmd(): the pmd mapping the whole folio is gone. */
void folio_remove_rmap_pmd(struct folio *folio, struct page *page, struct vm_area_struct *vma)
{
	struct mml_machine *m = vma->vm_mm->machine;
	bool last_pmd;
	long nr = __folio_remove_rmap(folio, page, 1, RMAP_LEVEL_PMD, vma, &last_pmd);

	folio_mod_mapped_stat(m, folio, -nr);
	if (last_pmd)
		mod_vm_stat(m, folio_pmd_mapped_item(folio), -1);
	VM_BUG_ON_FOLIO(folio_mapcount(folio) < 0, m, folio);
	folio_maybe_partially_mapped(vma, folio, nr);
	munlock_vma_folio(folio, vma);
}

/* folio_add_file_rmap_ptes(): nr_pages ptes from page now map a page-cache folio. */
void folio_add_file_rmap_ptes(struct folio *folio, struct page *page, int nr_pages, struct vm_area_struct *vma)
{
	struct mml_machine *m = vma->vm_mm->machine;
	bool first_pmd;

	/* a warning, as Linux's __folio_add_file_rmap: the machine goes on (the zoo's dax-shared-anon) */
	VM_WARN_ON_PAGE(folio_test_anon(folio), m, &folio->page);
	folio_mod_mapped_stat(m, folio, __folio_add_rmap(folio, page, nr_pages, RMAP_LEVEL_PTE, vma, &first_pmd));
	if (nr_pages == folio_nr_pages(folio))
		mlock_vma_folio(folio, vma);
}

/* folio_add_file_rmap_pmd(): a pmd now maps the whole page-cache THP (do_set_pmd). */
void folio_add_file_rmap_pmd(struct folio *folio, struct page *page, struct vm_area_struct *vma)
{
	struct mml_machine *m = vma->vm_mm->machine;
	bool first_pmd;

	VM_BUG_ON_FOLIO(folio_order(folio) != HPAGE_PMD_ORDER, m, folio);
	VM_WARN_ON_PAGE(folio_test_anon(folio), m, &folio->page);
	folio_mod_mapped_stat(m, folio, __folio_add_rmap(folio, page, 1, RMAP_LEVEL_PMD, vma, &first_pmd));
	if (first_pmd)
		mod_vm_stat(m, folio_pmd_mapped_item(folio), 1);
	mlock_vma_folio(folio, vma);
}

/* folio_dup_file_rmap_ptes(): fork copies nr_pages ptes of a non-anon folio. */
void folio_dup_file_rmap_ptes(struct folio *folio, struct page *page, int nr_pages,
			      struct vm_area_struct *dst_vma)
{
	if (!folio_test_large(folio)) {
		atomic_inc(&folio->_mapcount);
		return;
	}
	folio_add_large_mapcount(folio, nr_pages, dst_vma);
	for (int i = 0; i < nr_pages; i++)
		atomic_inc(&page[i]._mapcount);
}

/* Models folio_needs_cow_for_dma(): only mms that ever pinned pay for the check. */
static bool folio_needs_cow_for_dma(struct vm_area_struct *vma, struct folio *folio)
{
	if (!test_bit(MMF_HAS_PINNED, &vma->vm_mm->flags))
		return false;
	return folio_maybe_dma_pinned(folio);
}

/*
 * folio_try_dup_anon_rmap_ptes(): fork shares nr_pages ptes from page with
 * the child.  If any of the pages is exclusive and the folio may be
 * pinned, nothing is shared (-EBUSY): the caller copies instead.
 * Otherwise every page stops being exclusive and gains a mapping.  The
 * caller holds the folio's references for the child's ptes.
 */
int folio_try_dup_anon_rmap_ptes(struct folio *folio, struct page *page, int nr_pages,
				 struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma)
{
	struct mml_machine *m = src_vma->vm_mm->machine;
	bool maybe_pinned = folio_needs_cow_for_dma(src_vma, folio) && !bug_enabled(m, BUG_FORK_SHARE_PINNED);

	if (maybe_pinned)
		for (int i = 0; i < nr_pages; i++)
			if (PageAnonExclusive(page + i))
				return -EBUSY;
	if (!bug_enabled(m, BUG_FORK_KEEP_EXCLUSIVE))
		for (int i = 0; i < nr_pages; i++)
			if (PageAnonExclusive(page + i))
				ClearPageAnonExclusive(page + i);
	folio_dup_file_rmap_ptes(folio, page, nr_pages, dst_vma);
	return 0;
}

/*
 * folio_try_dup_anon_rmap_pmd(): fork shares the pmd mapping a whole THP.
 * -EBUSY if it is exclusive and may be pinned (the caller splits the pmd
 * and copies the pinned pages instead); otherwise the folio stops being
 * exclusive and gains a pmd mapping.  The caller holds the reference.
 */
int folio_try_dup_anon_rmap_pmd(struct folio *folio, struct page *page, struct vm_area_struct *dst_vma,
				struct vm_area_struct *src_vma)
{
	struct mml_machine *m = src_vma->vm_mm->machine;

	if (PageAnonExclusive(page)) {
		if (folio_needs_cow_for_dma(src_vma, folio) && !bug_enabled(m, BUG_THP_FORK_SHARE_PINNED))
			return -EBUSY;
		ClearPageAnonExclusive(page);
	}
	atomic_inc(&folio->_entire_mapcount);
	folio_add_large_mapcount(folio, 1, dst_vma);
	return 0;
}

/* ---- rmap walk -------------------------------------------------------------- */

uint64_t vma_address(struct vm_area_struct *vma, unsigned long pgoff, unsigned long nr_pages)
{
	if (pgoff >= vma->vm_pgoff) {
		if (pgoff - vma->vm_pgoff >= vma_pages(vma))
			return (uint64_t)-EFAULT;
		return vma->vm_start + ((uint64_t)(pgoff - vma->vm_pgoff) << PAGE_SHIFT);
	}
	/* A large folio that starts before the VMA: its first page inside. */
	if (pgoff + nr_pages - 1 >= vma->vm_pgoff)
		return vma->vm_start;
	return (uint64_t)-EFAULT;
}

/*
 * rmap_walk_anon(): every VMA chained to the folio's anon_vma whose range
 * holds one of its pages.  Linux looks the VMAs up in an interval tree;
 * mmlab walks the list and skips those outside (docs/deviations.md).
 */
static void rmap_walk_anon(struct folio *folio, struct rmap_walk_control *rwc, bool locked)
{
	struct anon_vma *av = folio_anon_vma(folio);
	unsigned long pgoff = folio->index, nr = (unsigned long)folio_nr_pages(folio);
	struct anon_vma_chain *avc;

	if (!av)
		return;
	if (!locked)
		anon_vma_lock_read(av);
	list_for_each_entry(avc, &av->chains, same_anon_vma) {
		struct vm_area_struct *vma = avc->vma;
		uint64_t addr = vma_address(vma, pgoff, nr);

		if (addr == (uint64_t)-EFAULT)
			continue;
		if (!rwc->rmap_one(folio, vma, addr, rwc->arg))
			break;
	}
	if (!locked)
		anon_vma_unlock_read(av);
}

/*
 * rmap_walk_file(): every VMA of the file's i_mmap whose range holds one
 * of the folio's pages, shared and private mappings alike (a private
 * mapping maps the file's page until it is written).  The folio is
 * locked, so its mapping cannot go; Linux keeps i_mmap in an interval
 * tree, mmlab in a list (docs/deviations.md).
 */
static void rmap_walk_file(struct folio *folio, struct rmap_walk_control *rwc)
{
	struct address_space *mapping = folio->mapping;
	unsigned long pgoff = folio->index, nr = (unsigned long)folio_nr_pages(folio);
	struct vm_area_struct *vma;

	if (!mapping)
		return;
	VM_BUG_ON_FOLIO(!folio_test_locked(folio), mapping->host->i_sb->machine, folio);
	down_read(&mapping->i_mmap_rwsem);
	list_for_each_entry(vma, &mapping->i_mmap, shared) {
		uint64_t addr = vma_address(vma, pgoff, nr);

		if (addr == (uint64_t)-EFAULT)
			continue;
		if (!rwc->rmap_one(folio, vma, addr, rwc->arg))
			break;
	}
	up_read(&mapping->i_mmap_rwsem);
}

/* rmap_walk_locked(): the same for an anon folio whose anon_vma lock the caller holds. */
void rmap_walk_locked(struct folio *folio, struct rmap_walk_control *rwc)
{
	VM_BUG_ON_FOLIO(!folio_test_anon(folio), folio_anon_vma(folio)->machine, folio);
	rmap_walk_anon(folio, rwc, true);
}

/*
 * Models folio_get_anon_vma(): a reference to the anon_vma of a mapped
 * anon folio, or NULL.  The anon_vma is freed after a grace period, so
 * under RCU it can be looked at even while its last user goes; the
 * reference is taken only if it is still live.
 */
struct anon_vma *folio_get_anon_vma(struct folio *folio)
{
	struct anon_vma *av;

	rcu_read_lock();
	av = folio_anon_vma(folio);
	/*
	 * Not mapped: the grace period protects only an anon_vma that was in
	 * use when the read section began, and an unmapped folio's (one a pin
	 * outlived its process with) may have been freed long ago.  Linux
	 * checks first too, and again after the reference below.
	 */
	if (av && !folio_mapped(folio))
		av = NULL;
	if (av && !atomic_add_unless(&av->refcount, 1, 0))
		av = NULL;
	if (av && !folio_mapped(folio)) {
		/* Unmapped meanwhile: the anon_vma may be on its way out. */
		rcu_read_unlock();
		put_anon_vma(av);
		return NULL;
	}
	rcu_read_unlock();
	return av;
}

void rmap_walk(struct folio *folio, struct rmap_walk_control *rwc)
{
	if (folio_test_ksm(folio))
		rmap_walk_ksm(folio, rwc);
	else if (folio_test_anon(folio))
		rmap_walk_anon(folio, rwc, false);
	else
		rmap_walk_file(folio, rwc);
}

/*
 * page_mkclean_one(): write-protect and clean every pte of vma mapping
 * the folio, so that the next write faults and dirties it again
 * (writeback is about to write what the folio holds now).
 */
static bool page_mkclean_one(struct folio *folio, struct vm_area_struct *vma, uint64_t addr, void *arg)
{
	DEFINE_FOLIO_VMA_WALK(pvmw, folio, vma, addr);
	struct mmu_notifier_range range;
	int *cleaned = arg;

	mmu_notifier_range_init(&range, MMU_NOTIFY_PROTECTION_PAGE, 0, vma->vm_mm, addr,
				min(vma->vm_end, addr + ((uint64_t)folio_nr_pages(folio) << PAGE_SHIFT)));
	mmu_notifier_invalidate_range_start(&range);
	while (page_vma_mapped_walk(&pvmw)) {
		pte_t entry = ptep_get(pvmw.pte);

		if (!pte_present(entry) || (!pte_dirty(entry) && !pte_write(entry)))
			continue;
		/* Cleared and flushed first: no CPU may set dirty on a stale entry after. */
		entry = ptep_get_and_clear(pvmw.pte);
		flush_tlb_page(vma, pvmw.address);
		set_pte_at(vma->vm_mm, pvmw.address, pvmw.pte, pte_mkclean(pte_wrprotect(entry)));
		if (pte_dirty(entry))
			(*cleaned)++;
	}
	mmu_notifier_invalidate_range_end(&range);
	return true;
}

/* folio_mkclean(): how many ptes were dirty; every shared pte is clean and read-only after. */
int folio_mkclean(struct folio *folio)
{
	struct rmap_walk_control rwc = { .rmap_one = page_mkclean_one };
	int cleaned = 0;

	if (!folio_mapped(folio))
		return 0;
	rwc.arg = &cleaned;
	rmap_walk(folio, &rwc);
	return cleaned;
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

/* ---- migration entries ------------------------------------------------------ */

/*
 * try_to_migrate_one(): every pte of vma mapping the (locked) folio
 * becomes a migration entry carrying what the pte said: writable, or
 * PG_anon_exclusive, its young and dirty bits, soft-dirty; the mapping
 * and its reference go.  A pmd mapping is split first (Linux's
 * TTU_SPLIT_HUGE_PMD).  False, stopping the walk, when an exclusive page
 * may be pinned: it cannot stop being exclusive.
 */
static bool try_to_migrate_one(struct folio *folio, struct vm_area_struct *vma, uint64_t address, void *arg)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	DEFINE_FOLIO_VMA_WALK(pvmw, folio, vma, address);
	struct mmu_notifier_range range;
	bool ret = true;

	(void)arg;
	if (folio_test_large(folio))
		split_huge_pmd_address(vma, address);
	mmu_notifier_range_init(&range, MMU_NOTIFY_MIGRATE, 0, mm, address,
				min(vma->vm_end, address + ((uint64_t)folio_nr_pages(folio) << PAGE_SHIFT)));
	mmu_notifier_invalidate_range_start(&range);
	while (page_vma_mapped_walk(&pvmw)) {
		pte_t pteval = ptep_get(pvmw.pte), swp_pte;
		struct page *subpage;
		bool anon_exclusive;
		swp_entry_t entry;

		if (!pte_present(pteval)) {
			/* A device-exclusive entry: the CPU's pte comes back first, then goes. */
			restore_exclusive_pte(vma, folio, pfn_to_page(m, swp_offset_pfn(pte_to_swp_entry(pteval))),
					      pvmw.address, pvmw.pte, pteval);
			pteval = ptep_get(pvmw.pte);
		}
		subpage = pfn_to_page(m, pte_pfn(pteval));
		anon_exclusive = PageAnonExclusive(subpage);
		pteval = ptep_get_and_clear(pvmw.pte);
		flush_tlb_page(vma, pvmw.address);
		if (pte_dirty(pteval))
			folio_set_dirty(folio);
		if (anon_exclusive && folio_try_share_anon_rmap_pte(folio, subpage)) {
			set_pte(pvmw.pte, pteval);
			ret = false;
			page_vma_mapped_walk_done(&pvmw);
			break;
		}
		if (pte_write(pteval))
			entry = make_writable_migration_entry(page_to_pfn(m, subpage));
		else if (anon_exclusive)
			entry = make_readable_exclusive_migration_entry(page_to_pfn(m, subpage));
		else
			entry = make_readable_migration_entry(page_to_pfn(m, subpage));
		if (pte_young(pteval))
			entry = make_migration_entry_young(entry);
		if (pte_dirty(pteval))
			entry = make_migration_entry_dirty(entry);
		swp_pte = swp_entry_to_pte(entry);
		if (pte_soft_dirty(pteval))
			swp_pte = pte_swp_mksoft_dirty(swp_pte);
		if (pte_uffd_wp(pteval))
			swp_pte = pte_swp_mkuffd_wp(swp_pte);
		set_pte(pvmw.pte, swp_pte);
		trace_set_migration_pte(m, pvmw.address, pte_val(swp_pte), (int)folio_order(folio));
		folio_remove_rmap_pte(folio, subpage, vma);
		folio_put(m, folio);
	}
	mmu_notifier_invalidate_range_end(&range);
	return ret;
}

/*
 * try_to_migrate(): every mapping of the locked folio becomes a
 * migration entry; true if none is left (a pinned exclusive page stops
 * it).  rmap_locked: the caller holds the anon_vma lock.
 */
bool try_to_migrate(struct folio *folio, bool rmap_locked)
{
	struct rmap_walk_control rwc = { .rmap_one = try_to_migrate_one };

	if (rmap_locked)
		rmap_walk_locked(folio, &rwc);
	else
		rmap_walk(folio, &rwc);
	return !folio_mapped(folio);
}

/* ---- device-exclusive entries --------------------------------------------- */

/*
 * make_device_exclusive(): the anon page at addr becomes the device's for
 * atomic access, as Linux 6.15+ does it: fault it in writable (a pmd
 * leaf split first, FOLL_SPLIT_PMD: the entry replaces a pte), lock its
 * folio, tell the secondary MMUs (MMU_NOTIFY_EXCLUSIVE; the owner's must
 * ignore its own event if it retries on its sequence count, or it would
 * livelock), recheck that the pte still maps the page writable, and
 * replace that one pte by a device-exclusive entry that keeps the page's
 * mapping and reference (a page of a large folio too: the rest of the
 * folio stays mapped as it was).  mmap_lock held for read.  0 with
 * *pagep's folio locked and referenced (the caller unlocks and puts it),
 * or -errno (Linux returns an ERR_PTR).
 */
int make_device_exclusive(struct mm_struct *mm, uint64_t addr, void *owner, struct page **pagep)
{
	struct mml_machine *m = mm->machine;
	struct vm_area_struct *vma;
	struct page *page;
	int err = 0;

	mmap_assert_locked(mm);
	while ((page = get_user_page_vma_remote(mm, addr, FOLL_WRITE | FOLL_SPLIT_PMD, &vma, &err))) {
		struct folio *folio = page_folio(page);
		struct mmu_notifier_range range;
		pte_t *ptep, pte, swp_pte;
		spinlock_t *ptl;
		pmd_t *pmd;

		if (!folio_test_anon(folio)) {
			folio_put(m, folio);
			return -EOPNOTSUPP;
		}
		folio_lock(folio);
		mmu_notifier_range_init(&range, MMU_NOTIFY_EXCLUSIVE, 0, mm, addr, addr + PAGE_SIZE);
		range.owner = owner;
		mmu_notifier_invalidate_range_start(&range);
		pmd = mm_find_pmd(mm, addr);
		ptep = pmd && pmd_table(pmdp_get(pmd)) ? pte_offset_map_lock(mm, pmd, addr, &ptl) : NULL;
		pte = ptep ? ptep_get(ptep) : __pte(0);
		if (!pte_present(pte) || pte_pfn(pte) != page_to_pfn(m, page) || !pte_write(pte)) {
			/* Changed since the fault: fault again. */
			if (ptep)
				pte_unmap_unlock(ptep, ptl);
			mmu_notifier_invalidate_range_end(&range);
			folio_unlock(folio);
			folio_put(m, folio);
			continue;
		}
		/* Cleared with a flush, for the dirty bit no CPU can set any more. */
		pte = ptep_get_and_clear(ptep);
		flush_tlb_page(vma, addr);
		if (pte_dirty(pte))
			folio_set_dirty(folio);
		swp_pte = swp_entry_to_pte(make_device_exclusive_entry(page_to_pfn(m, page)));
		if (pte_soft_dirty(pte))
			swp_pte = pte_swp_mksoft_dirty(swp_pte);
		set_pte(ptep, swp_pte);
		pte_unmap_unlock(ptep, ptl);
		mmu_notifier_invalidate_range_end(&range);
		*pagep = page;
		return 0;
	}
	return err;
}
