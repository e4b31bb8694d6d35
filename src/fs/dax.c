/*
 * dax.c - DAX entries, faults and layout breaking (Linux's fs/dax.c after
 * the "fs/dax: properly refcount fs dax pages" series, Linux 6.15): see
 * dax.h for the entries and the folio rules.
 *
 * Locks: a fault holds mmap_lock (read) and the mapping's invalidate_lock
 * (read, XFS's MMAPLOCK_SHARED, taken by the file system), then locks its
 * entry (DAX_LOCKED, under xa_lock), then takes pte or pmd locks.
 * Truncate and hole punch hold i_rwsem and invalidate_lock for write, so
 * no fault runs while they delete entries; dax_break_layout drops the
 * invalidate_lock only while it sleeps for a busy folio.
 */
#include <string.h>

#include "mm/memremap.h"
#include "fs/dax.h"
#include "mm/hooks.h"
#include "mm/mm.h"
#include "mm/pagemap.h"

#define DAX_SHIFT	4
#define DAX_LOCKED	(1UL << 0)
#define DAX_PMD		(1UL << 1)
#define DAX_ZERO_PAGE	(1UL << 2)
#define DAX_EMPTY	(1UL << 3)
#define PG_PMD_COLOUR	(HPAGE_PMD_NR - 1)

static unsigned long dax_flags(const void *e) { return xa_to_value(e) & ((1UL << DAX_SHIFT) - 1); }
static unsigned long dax_to_pfn(const void *e) { return xa_to_value(e) >> DAX_SHIFT; }
static void *dax_make_entry(unsigned long pfn, unsigned long flags) { return xa_mk_value(flags | (pfn << DAX_SHIFT)); }
static bool dax_is_locked(const void *e) { return dax_flags(e) & DAX_LOCKED; }
static bool dax_is_pmd_entry(const void *e) { return dax_flags(e) & DAX_PMD; }
static bool dax_is_zero_entry(const void *e) { return dax_flags(e) & DAX_ZERO_PAGE; }
static bool dax_is_empty_entry(const void *e) { return dax_flags(e) & DAX_EMPTY; }
static unsigned long dax_entry_pages(const void *e) { return dax_is_pmd_entry(e) ? HPAGE_PMD_NR : 1; }
/* A block's entry: neither a hole's zero page nor a placeholder. */
static bool dax_is_block_entry(const void *e) { return !(dax_flags(e) & (DAX_ZERO_PAGE | DAX_EMPTY)); }

unsigned long dax_entry_block_pfn(const void *e)
{
	return dax_is_block_entry(e) ? dax_to_pfn(e) : 0;
}

static struct folio *dax_to_folio(struct mml_machine *m, const void *e)
{
	return page_folio(pfn_to_page(m, dax_to_pfn(e)));
}

/* The entry covering index and the index it sits at (PMD entries at their aligned one).  xa_lock or RCU. */
static void *dax_lookup(struct address_space *mapping, unsigned long index, unsigned long *at)
{
	unsigned long base = index & ~PG_PMD_COLOUR;
	void *e = xa_load(&mapping->i_pages, base);

	if (e && dax_is_pmd_entry(e)) {
		*at = base;
		return e;
	}
	*at = index;
	return index == base ? e : xa_load(&mapping->i_pages, index);
}

struct dax_wait {
	struct address_space *mapping;
	unsigned long index;
};

static bool dax_entry_unlocked(void *arg)
{
	struct dax_wait *w = arg;
	unsigned long at;
	void *e;

	rcu_read_lock();
	e = dax_lookup(w->mapping, w->index, &at);
	rcu_read_unlock();
	return !e || !dax_is_locked(e);
}

/* get_unlocked_entry(): the entry covering index once nobody holds it locked; returns with xa_lock held. */
static void *get_unlocked_entry(struct address_space *mapping, unsigned long index, unsigned long *at)
{
	struct dax_wait w = { mapping, index };

	for (;;) {
		void *e;

		xa_lock(&mapping->i_pages);
		e = dax_lookup(mapping, index, at);
		if (!e || !dax_is_locked(e))
			return e;
		xa_unlock(&mapping->i_pages);
		wait_var_event(&mapping->i_pages, dax_entry_unlocked, &w);
	}
}

/* dax_lock_entry(): xa_lock held, e unlocked at at. */
static void *dax_lock_entry(struct address_space *mapping, unsigned long at, void *e)
{
	void *locked = dax_make_entry(dax_to_pfn(e), dax_flags(e) | DAX_LOCKED);

	__xa_store(&mapping->i_pages, at, locked);
	return locked;
}

/* dax_unlock_entry(): a placeholder nobody filled goes; waiters wake. */
static void dax_unlock_entry(struct address_space *mapping, unsigned long at, void *e)
{
	xa_lock(&mapping->i_pages);
	if (dax_is_empty_entry(e))
		__xa_erase(&mapping->i_pages, at);
	else
		__xa_store(&mapping->i_pages, at, dax_make_entry(dax_to_pfn(e), dax_flags(e) & ~DAX_LOCKED));
	xa_unlock(&mapping->i_pages);
	wake_up_var(&mapping->i_pages);
}

/* Is any page-sized entry in the PMD range from base?  (A PMD entry at base excludes them.)  xa_lock held. */
static bool dax_range_has_pte_entries(struct address_space *mapping, unsigned long base)
{
	unsigned long idx = base;
	void *e = xa_find(&mapping->i_pages, &idx, base + PG_PMD_COLOUR);

	return e && !dax_is_pmd_entry(e);
}

/*
 * grab_mapping_entry(): the entry for a fault of order at index, locked;
 * a new empty one if there was none.  A PMD fault over page entries falls
 * back (*ret VM_FAULT_FALLBACK); a page fault inside a PMD hole entry
 * (zero page or empty) unmaps and removes it first ("downgrade"), while a
 * PMD entry of a block serves the page fault as it is.  NULL with *ret
 * set on failure.
 */
static void *grab_mapping_entry(struct address_space *mapping, unsigned long index, unsigned int order,
				unsigned long *at, vm_fault_t *ret)
{
	unsigned long base = index & ~PG_PMD_COLOUR;
	void *e;
	int err;

retry:
	e = get_unlocked_entry(mapping, index, at);
	if (order) {
		if ((e && !dax_is_pmd_entry(e)) || (!e && dax_range_has_pte_entries(mapping, base))) {
			xa_unlock(&mapping->i_pages);
			*ret = VM_FAULT_FALLBACK;
			return NULL;
		}
	} else if (e && dax_is_pmd_entry(e) && !dax_is_block_entry(e)) {
		e = dax_lock_entry(mapping, base, e);
		xa_unlock(&mapping->i_pages);
		unmap_mapping_range(mapping, (int64_t)base << PAGE_SHIFT, HPAGE_PMD_SIZE, false);
		xa_lock(&mapping->i_pages);
		__xa_erase(&mapping->i_pages, base);
		xa_unlock(&mapping->i_pages);
		wake_up_var(&mapping->i_pages);
		goto retry;
	}
	if (e) {
		e = dax_lock_entry(mapping, *at, e);
		xa_unlock(&mapping->i_pages);
		return e;
	}
	*at = order ? base : index;
	e = dax_make_entry(0, DAX_EMPTY | DAX_LOCKED | (order ? DAX_PMD : 0));
	err = xa_err(__xa_store(&mapping->i_pages, *at, e));
	xa_unlock(&mapping->i_pages);
	if (err) {
		*ret = VM_FAULT_OOM;
		return NULL;
	}
	return e;
}

/* ---- the folios ------------------------------------------------------------------------ */

/* dax_folio_init(): the block (or PMD run) becomes one folio of the entry's order. */
static void dax_folio_init(struct mml_machine *m, struct folio *folio, unsigned int order)
{
	/* A block leaves its last file as order-0 pages (dax_folio_reset_order). */
	VM_WARN_ON_PAGE(folio_order(folio), m, &folio->page);
	if (order) {
		prep_compound_page(&folio->page, order);
		WRITE_ONCE(folio->order, order);
	}
}

/* The folio back to order-0 pages, each as pmem_init left it. */
static void dax_folio_reset_order(struct folio *folio)
{
	unsigned long nr = (unsigned long)folio_nr_pages(folio);

	for (unsigned long i = 1; i < nr; i++) {
		struct page *p = folio_page(folio, i);

		WRITE_ONCE(p->flags, 0);
		memset(&p->lru, 0, offsetof(struct page, _mapcount) - offsetof(struct page, lru));
	}
	__ClearPageHead(&folio->page);
	WRITE_ONCE(folio->order, 0);
}

/*
 * dax_folio_make_shared() + dax_folio_share_get(): one more file maps a
 * reflinked block's folio.  Its mapping and index no longer name one
 * file: PAGE_MAPPING_DAX_SHARED, and share counts the files.
 */
static void dax_folio_share_get(struct mml_machine *m, struct folio *folio)
{
	if (!folio_test_dax_shared(folio)) {
		/* the zoo's dax-shared-anon: the first version of the series used the anon bit for it */
		unsigned long flag = PAGE_MAPPING_DAX_SHARED |
				     (bug_enabled(m, BUG_DAX_SHARED_ANON) ? PAGE_MAPPING_ANON : 0);

		folio->share = folio->mapping ? 1 : 0;
		smp_store_release(&folio->mapping, (void *)flag);
	}
	folio->share++;
}

/*
 * dax_associate_entry(): a block entry's folio belongs to mapping at
 * index from now on.  It must be free and unowned: a folio still
 * referenced here means a block was handed out again while DMA used it.
 * A reflinked block (shared) another file maps already counts one more
 * file instead.
 */
static void dax_associate_entry(struct mml_machine *m, void *e, struct address_space *mapping, unsigned long index,
				bool shared)
{
	struct folio *folio;

	if (!dax_is_block_entry(e))
		return;
	folio = dax_to_folio(m, e);
	if (shared && (folio->mapping || folio_test_dax_shared(folio))) {
		VM_WARN_ON_PAGE(folio_test_large(folio), m, &folio->page);
		dax_folio_share_get(m, folio);
		return;
	}
	VM_WARN_ON_PAGE(folio->mapping, m, &folio->page);
	/* a small block may still be pinned from a file it left by copy on write; a PMD's folio is made now */
	VM_WARN_ON_PAGE(dax_is_pmd_entry(e) && folio_ref_count(folio), m, &folio->page);
	dax_folio_init(m, folio, dax_is_pmd_entry(e) ? HPAGE_PMD_ORDER : 0);
	folio = dax_to_folio(m, e);
	folio->index = index;
	smp_store_release(&folio->mapping, mapping);
}

/*
 * dax_disassociate_entry() + dax_folio_put(): the block leaves the file.
 * A shared folio only counts one file less until the last goes (the
 * other files' mappings may still reference it).  A truncate (trunc)
 * saw it idle first (dax_break_layout) and is about to free the block:
 * stale TLB entries of it stop matching (alloc_gen), as for a freed RAM
 * frame.  A copy on write (!trunc) leaves the block to the file it was
 * cloned from, a pin on it may stay, as Linux's dax_folio_put allows.
 */
static void dax_disassociate_entry(struct mml_machine *m, void *e, bool trunc)
{
	struct folio *folio;
	unsigned long nr;

	if (!dax_is_block_entry(e))
		return;
	folio = dax_to_folio(m, e);
	if (folio_test_dax_shared(folio) && --folio->share)
		return;
	/* only a truncate waited for it to be idle; a copy on write leaves a pin on the old block be */
	VM_WARN_ON_PAGE(trunc && folio_ref_count(folio) && !folio_test_dax_shared(folio), m, &folio->page);
	nr = (unsigned long)folio_nr_pages(folio);
	smp_store_release(&folio->mapping, NULL);
	folio->index = 0;
	__folio_clear_dirty(folio);
	__folio_clear_referenced(folio);
	if (folio_test_large(folio))
		dax_folio_reset_order(folio);
	if (!trunc)
		return;	/* the block stays another file's: a pin on it still reaches that file's bytes */
	for (unsigned long i = 0; i < nr; i++)
		WRITE_ONCE(folio_page(folio, i)->alloc_gen, folio_page(folio, i)->alloc_gen + 1);
}

/*
 * dax_insert_entry(): the locked entry at at becomes one for the block at
 * map->pfn (flags DAX_PMD), or for the zero page (DAX_ZERO_PAGE).  A
 * hole's zero page mapped where a block now goes is unmapped first, and
 * so is the shared block a write copied (map->cow), whose folio counts
 * this file no more.  A block entry otherwise stays as it is.  Returns
 * the entry now there, locked.
 */
static void *dax_insert_entry(struct vm_fault *vmf, struct address_space *mapping, unsigned long at, void *e,
			      const struct dax_iomap *map, unsigned long pfn, unsigned long flags)
{
	struct mml_machine *m = vmf->vma->vm_mm->machine;
	void *new = dax_make_entry(pfn, flags | DAX_LOCKED);
	bool cow = map && map->cow;

	if (cow || (dax_is_zero_entry(e) && !(flags & DAX_ZERO_PAGE)))
		unmap_mapping_range(mapping, (int64_t)at << PAGE_SHIFT, (int64_t)dax_entry_pages(e) << PAGE_SHIFT,
				    false);
	if (!cow && (dax_is_block_entry(e) || (dax_is_zero_entry(e) && (flags & DAX_ZERO_PAGE))))
		return e;
	xa_lock(&mapping->i_pages);
	if (cow)
		dax_disassociate_entry(m, e, false);
	dax_associate_entry(m, new, mapping, at, map && map->shared);
	__xa_store(&mapping->i_pages, at, new);
	xa_unlock(&mapping->i_pages);
	return new;
}

/* ---- inserting mappings ----------------------------------------------------------------- */

/*
 * vmf_insert_page_mkwrite(): map page at the fault with a pte of its own
 * reference, writable for a write; a present pte of the same page is
 * made writable.  Anything else already there is a failed insert: no
 * reference was taken, so the block stays as it was (a folio with no
 * references never goes through the free path for it).
 */
static vm_fault_t vmf_insert_page_mkwrite(struct vm_fault *vmf, struct page *page, bool write)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	struct folio *folio = page_folio(page);
	pte_t *ptep, old, entry;
	spinlock_t *ptl;

	if (pmd_none(pmdp_get(vmf->pmd)) && __pte_alloc(mm, vmf->pmd))
		return VM_FAULT_OOM;
	if (pmd_trans_huge(pmdp_get(vmf->pmd)))
		return VM_FAULT_NOPAGE;
	ptep = pte_offset_map_lock(mm, vmf->pmd, vmf->address, &ptl);
	if (!ptep)
		return VM_FAULT_NOPAGE;
	old = ptep_get(ptep);
	if (!pte_none(old)) {
		if (write && pte_present(old) && pte_pfn(old) == page_to_pfn(m, page)) {
			entry = maybe_mkwrite(pte_mkdirty(pte_mkyoung(old)), vma);
			ptep_set_access_flags(ptep, entry);
		}
		pte_unmap_unlock(ptep, ptl);
		return VM_FAULT_NOPAGE;
	}
	folio_get(folio);
	add_mm_counter(mm, mm_counter_file(folio), 1);
	folio_add_file_rmap_ptes(folio, page, 1, vma);
	entry = pte_mkyoung(mk_pte(m, page, vma->vm_page_prot));
	entry = write ? maybe_mkwrite(pte_mkdirty(entry), vma) : pte_wrprotect(entry);
	set_pte_at(mm, vmf->address, ptep, entry);
	pte_unmap_unlock(ptep, ptl);
	return VM_FAULT_NOPAGE;
}

/* vmf_insert_folio_pmd(): the same for a PMD-sized folio and a none pmd. */
static vm_fault_t vmf_insert_folio_pmd(struct vm_fault *vmf, struct folio *folio, bool write)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	uint64_t haddr = vmf->address & HPAGE_PMD_MASK;
	spinlock_t *ptl = pmd_lock(mm, vmf->pmd);
	pmd_t old = pmdp_get(vmf->pmd), entry;

	if (!pmd_none(old)) {
		if (write && pmd_trans_huge(old) && pmd_pfn(old) == folio_pfn(m, folio)) {
			entry = maybe_pmd_mkwrite(pmd_mkdirty(pmd_mkyoung(old)), vma);
			pmdp_set_access_flags(vmf->pmd, entry);
		}
		spin_unlock(ptl);
		return VM_FAULT_NOPAGE;
	}
	folio_get(folio);
	add_mm_counter(mm, mm_counter_file(folio), HPAGE_PMD_NR);
	folio_add_file_rmap_pmd(folio, &folio->page, vma);
	entry = pmd_mkyoung(mk_huge_pmd(m, &folio->page, vma->vm_page_prot));
	entry = write ? maybe_pmd_mkwrite(pmd_mkdirty(entry), vma) : pmd_wrprotect(entry);
	set_pmd_at(mm, haddr, vmf->pmd, entry);
	spin_unlock(ptl);
	return VM_FAULT_NOPAGE;
}

/* dax_load_hole(): a read of a hole maps the zero page, special (no reference, no rss). */
static vm_fault_t dax_load_hole(struct vm_fault *vmf, struct address_space *mapping, unsigned long at, void **e)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	spinlock_t *ptl;
	pte_t *ptep;

	*e = dax_insert_entry(vmf, mapping, at, *e, NULL, m->zero_pfn, DAX_ZERO_PAGE);
	if (pmd_none(pmdp_get(vmf->pmd)) && __pte_alloc(mm, vmf->pmd))
		return VM_FAULT_OOM;
	if (pmd_trans_huge(pmdp_get(vmf->pmd)))
		return VM_FAULT_NOPAGE;
	ptep = pte_offset_map_lock(mm, vmf->pmd, vmf->address, &ptl);
	if (!ptep)
		return VM_FAULT_NOPAGE;
	if (pte_none(ptep_get(ptep)))
		set_pte_at(mm, vmf->address, ptep, pte_wrprotect(pte_mkspecial(pfn_pte(m->zero_pfn, vma->vm_page_prot))));
	pte_unmap_unlock(ptep, ptl);
	return VM_FAULT_NOPAGE;
}

/* dax_pmd_load_hole(): the same with the huge zero folio; FALLBACK if it cannot be had. */
static vm_fault_t dax_pmd_load_hole(struct vm_fault *vmf, struct address_space *mapping, unsigned long at, void **e)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	struct folio *zero = mm_get_huge_zero_folio(mm);
	struct ptdesc *pgtable;
	spinlock_t *ptl;

	if (!zero)
		return VM_FAULT_FALLBACK;
	/* x86 deposits no table for a file's pmd; mmlab's huge zero pmds always have one to zap. */
	pgtable = pagetable_alloc(mm);
	if (!pgtable)
		return VM_FAULT_OOM;
	*e = dax_insert_entry(vmf, mapping, at, *e, NULL, folio_pfn(mm->machine, zero), DAX_ZERO_PAGE | DAX_PMD);
	ptl = pmd_lock(mm, vmf->pmd);
	if (pmd_none(pmdp_get(vmf->pmd))) {
		set_huge_zero_folio(pgtable, mm, vma, vmf->address & HPAGE_PMD_MASK, vmf->pmd, zero);
		pgtable = NULL;
	}
	spin_unlock(ptl);
	if (pgtable)
		pagetable_free(mm, pgtable);
	return VM_FAULT_NOPAGE;
}

/* ---- faults ---------------------------------------------------------------------------- */

static vm_fault_t dax_iomap_errno(int err)
{
	return err == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
}

/*
 * dax_fault_cow_page(): a write to a private mapping copies the file's
 * page (zeros for a hole) into the anon page do_cow_fault allocated.
 */
static vm_fault_t dax_fault_cow_page(struct vm_fault *vmf, const struct dax_iomap *map)
{
	struct mml_machine *m = vmf->vma->vm_mm->machine;
	void *to = page_address(m, vmf->cow_page);

	if (map->type == IOMAP_HOLE)
		memset(to, 0, PAGE_SIZE);
	else
		page_data_copy(to, pfn_to_virt(m, map->pfn), PAGE_SIZE);
	return VM_FAULT_DONE_COW;
}

/* dax_iomap_pte_fault(): one page. */
static vm_fault_t dax_iomap_pte_fault(struct vm_fault *vmf, const struct dax_iomap_ops *ops)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mml_machine *m = vma->vm_mm->machine;
	struct address_space *mapping = vma->vm_file->f_mapping;
	struct inode *inode = mapping->host;
	bool write = vmf->flags & FAULT_FLAG_WRITE, cow = write && !(vma->vm_flags & VM_SHARED);
	struct dax_iomap map;
	unsigned long at;
	vm_fault_t ret = 0;
	void *e;
	int err;

	if ((int64_t)vmf->pgoff << PAGE_SHIFT >= i_size_read(inode))
		return VM_FAULT_SIGBUS;
	e = grab_mapping_entry(mapping, vmf->pgoff, 0, &at, &ret);
	if (!e)
		return ret;
	if (!cow && pmd_trans_huge(pmdp_get(vmf->pmd))) {
		ret = VM_FAULT_NOPAGE;	/* a leaf another thread made: fault again on it */
		goto unlock;
	}
	err = ops->begin(inode, vmf->pgoff, 0, write && !cow, &map);
	if (err) {
		ret = dax_iomap_errno(err);
		goto unlock;
	}
	if (cow) {
		ret = dax_fault_cow_page(vmf, &map);
	} else if (map.type == IOMAP_HOLE) {
		ret = dax_load_hole(vmf, mapping, at, &e);
	} else {
		/* A PMD entry of a block stays: this page of its run gets a pte. */
		e = dax_insert_entry(vmf, mapping, at, e, &map, map.pfn, 0);
		ret = vmf_insert_page_mkwrite(vmf, pfn_to_page(m, map.pfn), write);
		/* The zoo's dax-insert-fail-free: the failed insert "frees" a folio it never mapped. */
		if ((ret & VM_FAULT_OOM) && bug_enabled(m, BUG_DAX_INSERT_FAIL_FREE))
			dax_disassociate_entry(m, e, true);
	}
unlock:
	dax_unlock_entry(mapping, at, e);
	return ret;
}

/*
 * dax_iomap_pmd_fault(): a whole PMD where the VMA covers the aligned
 * range, the file offset is aligned with the address, the file reaches
 * past it, and the blocks are one aligned contiguous run (or all holes,
 * for a read); else VM_FAULT_FALLBACK and the pte path.  A private
 * mapping's write always falls back (its copy is a page).
 */
static vm_fault_t dax_iomap_pmd_fault(struct vm_fault *vmf, const struct dax_iomap_ops *ops)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mml_machine *m = vma->vm_mm->machine;
	struct address_space *mapping = vma->vm_file->f_mapping;
	struct inode *inode = mapping->host;
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	uint64_t haddr = vmf->address & HPAGE_PMD_MASK;
	unsigned long index = vmf->pgoff & ~PG_PMD_COLOUR, at;
	unsigned long max_pgoff = (unsigned long)((i_size_read(inode) + PAGE_SIZE - 1) >> PAGE_SHIFT);
	struct dax_iomap map;
	vm_fault_t ret = VM_FAULT_FALLBACK;
	pmd_t pmd;
	void *e;
	int err;

	if ((vmf->pgoff & PG_PMD_COLOUR) != ((vmf->address >> PAGE_SHIFT) & PG_PMD_COLOUR) ||
	    (write && !(vma->vm_flags & VM_SHARED)) || haddr < vma->vm_start || haddr + HPAGE_PMD_SIZE > vma->vm_end)
		goto out;
	if (vmf->pgoff >= max_pgoff)
		return VM_FAULT_SIGBUS;
	if (index + HPAGE_PMD_NR > max_pgoff)
		goto out;
	e = grab_mapping_entry(mapping, index, HPAGE_PMD_ORDER, &at, &ret);
	if (!e)
		goto out;
	ret = VM_FAULT_FALLBACK;
	pmd = pmdp_get(vmf->pmd);
	if (!pmd_none(pmd) && !pmd_trans_huge(pmd))
		goto unlock;	/* a pte table is there: ptes it is */
	err = ops->begin(inode, index, HPAGE_PMD_ORDER, write, &map);
	if (err)
		ret = dax_iomap_errno(err);
	else if (map.type == IOMAP_HOLE && !write)
		ret = dax_pmd_load_hole(vmf, mapping, at, &e);
	else if (map.type == IOMAP_MAPPED) {
		e = dax_insert_entry(vmf, mapping, at, e, &map, map.pfn, DAX_PMD);
		ret = vmf_insert_folio_pmd(vmf, dax_to_folio(m, e), write);
	}
unlock:
	dax_unlock_entry(mapping, at, e);
out:
	if (ret & VM_FAULT_FALLBACK)
		count_vm_event(m, THP_FAULT_FALLBACK);
	return ret;
}

vm_fault_t dax_iomap_fault(struct vm_fault *vmf, unsigned int order, const struct dax_iomap_ops *ops)
{
	return order ? dax_iomap_pmd_fault(vmf, ops) : dax_iomap_pte_fault(vmf, ops);
}

/* ---- truncate and hole punch --------------------------------------------------------- */

/* dax_busy_page(): a page of the entry's folio that someone still references (DMA, GUP). */
static struct page *dax_busy_page(struct mml_machine *m, void *e)
{
	struct folio *folio;

	if (!dax_is_block_entry(e))
		return NULL;
	folio = dax_to_folio(m, e);
	/*
	 * A reflinked folio other files map stays theirs: this file letting
	 * it go frees nothing, and their mappings keep it referenced.  (Write
	 * pins never hold a shared block: a write fault copies it first.)
	 */
	if (folio_test_dax_shared(folio) && folio->share > 1)
		return NULL;
	/* the zoo's dax-busy-refcount-one: idle at 1, as a page-cache folio with its cache's reference */
	return folio_ref_count(folio) > (bug_enabled(m, BUG_DAX_BUSY_REFCOUNT_ONE) ? 1 : 0) ? &folio->page : NULL;
}

/*
 * dax_layout_busy_page_range(): unmap [start, end] first, so that only
 * references from outside the page tables remain, then the first busy
 * page of an entry there, or NULL.
 */
static struct page *dax_layout_busy_page_range(struct address_space *mapping, unsigned long start, unsigned long end)
{
	struct mml_machine *m = mapping->host->i_sb->machine;
	unsigned long idx = start & ~PG_PMD_COLOUR, at;
	struct page *page = NULL;
	void *e;

	unmap_mapping_range(mapping, (int64_t)start << PAGE_SHIFT,
			    end == ~0UL ? 0 : (int64_t)(end - start + 1) << PAGE_SHIFT, false);
	for (;;) {
		xa_lock(&mapping->i_pages);
		e = xa_find(&mapping->i_pages, &idx, end);
		if (e && dax_is_locked(e)) {
			xa_unlock(&mapping->i_pages);
			e = get_unlocked_entry(mapping, idx, &at);
		}
		/* From the PMD-aligned index for a PMD entry: page entries before start are not ours. */
		if (e && idx + dax_entry_pages(e) > start)
			page = dax_busy_page(m, e);
		xa_unlock(&mapping->i_pages);
		if (!e || page)
			return page;
		if (++idx == 0)
			return NULL;
	}
}

static bool dax_page_is_idle(void *arg)
{
	return !folio_ref_count(page_folio(arg));
}

/*
 * dax_break_layout() with XFS's xfs_wait_dax_page as its callback: the
 * invalidate_lock (held for write) is let go while waiting for the busy
 * page, so that the process holding the pin can go on; the range is
 * unmapped and checked again after.
 */
void dax_break_layout(struct inode *inode, unsigned long start, unsigned long end)
{
	struct address_space *mapping = inode->i_mapping;
	struct mml_machine *m = inode->i_sb->machine;
	struct page *page;

	while ((page = dax_layout_busy_page_range(mapping, start, end))) {
		if (bug_enabled(m, BUG_DAX_TRUNCATE_NO_WAIT))
			return;	/* the zoo's dax-truncate-no-wait: unmapped, yet DMA may go on */

		/* A sleeper holds neither its lock nor the checker off (machine->quiesce), as uffd's. */
		up_write(&mapping->invalidate_lock);
		percpu_up_read(&m->quiesce);
		wait_var_event(page, dax_page_is_idle, page);
		percpu_down_read(&m->quiesce);
		down_write(&mapping->invalidate_lock);
	}
}

void dax_delete_mapping_range(struct address_space *mapping, unsigned long start, unsigned long end)
{
	struct mml_machine *m = mapping->host->i_sb->machine;
	unsigned long idx = start & ~PG_PMD_COLOUR, at;
	void *e;

	for (;;) {
		xa_lock(&mapping->i_pages);
		e = xa_find(&mapping->i_pages, &idx, end);
		if (!e) {
			xa_unlock(&mapping->i_pages);
			return;
		}
		if (idx + dax_entry_pages(e) <= start) {	/* a page entry before start in its PMD range */
			xa_unlock(&mapping->i_pages);
			idx++;
			continue;
		}
		if (dax_is_locked(e)) {
			xa_unlock(&mapping->i_pages);
			e = get_unlocked_entry(mapping, idx, &at);
			if (!e) {
				xa_unlock(&mapping->i_pages);
				continue;
			}
		} else {
			at = idx;
		}
		dax_disassociate_entry(m, e, true);
		__xa_erase(&mapping->i_pages, at);
		xa_unlock(&mapping->i_pages);
		wake_up_var(&mapping->i_pages);
		idx = at + dax_entry_pages(e);
		if (idx == 0 || idx > end)
			return;
	}
}

void dax_invalidate_holes(struct address_space *mapping, unsigned long start, unsigned long end)
{
	unsigned long idx = start & ~PG_PMD_COLOUR, at, first = start, last = end;
	void *e;

	for (;;) {
		xa_lock(&mapping->i_pages);
		e = xa_find(&mapping->i_pages, &idx, end);
		if (e && dax_is_locked(e)) {
			xa_unlock(&mapping->i_pages);
			e = get_unlocked_entry(mapping, idx, &at);
		} else {
			at = idx;
		}
		if (!e) {
			xa_unlock(&mapping->i_pages);
			break;
		}
		if (at + dax_entry_pages(e) > start && !dax_is_block_entry(e)) {
			first = min(first, at);
			last = max(last, at + dax_entry_pages(e) - 1);
			__xa_erase(&mapping->i_pages, at);
		}
		xa_unlock(&mapping->i_pages);
		idx = at + dax_entry_pages(e);
		if (idx > end)
			break;
	}
	wake_up_var(&mapping->i_pages);
	unmap_mapping_range(mapping, (int64_t)first << PAGE_SHIFT, (int64_t)(last - first + 1) << PAGE_SHIFT, false);
}
