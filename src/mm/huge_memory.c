/*
 * huge_memory.c - transparent huge pages for anonymous memory (Linux's
 * mm/huge_memory.c): which VMAs may use which orders, the huge zero
 * folio, the huge pmd fault and write fault, and what fork, unmap,
 * mprotect and madvise do with a pmd leaf: copy_huge_pmd, zap_huge_pmd,
 * change_huge_pmd, madvise_free_huge_pmd, and __split_huge_pmd when only
 * part of one is concerned.  Splitting the folio itself, and the deferred
 * split queue, are in huge_split.c.
 *
 * A pmd leaf holds one reference to its folio and counts once in its
 * entire mapcount; the pte table it will need if it is ever split is
 * allocated with it and deposited under the pmd lock
 * (pgtable_trans_huge_deposit), so a split never fails for memory.  Every
 * change to a leaf is made under the pmd lock; lockless readers (the
 * hardware walker, GUP-fast) see it whole or not at all.  The tripwire
 * remains for what no mechanism makes yet (a pud leaf).
 */
#include <string.h>

#include "mm/internal.h"
#include "mm/mmu_notifier.h"
#include "mm/pagewalk.h"

void huge_entry_unsupported(struct mm_struct *mm, uint64_t addr, uint64_t val, const char *level,
			    const char *who)
{
	mml_report(mm->machine, "%s: %s %#llx at %#llx is neither none nor a table: huge %ss are not built yet",
		   who, level, (unsigned long long)val, (unsigned long long)addr, level);
}

/* ---- the knobs ------------------------------------------------------------------ */

/*
 * hugepage_init(): Linux's defaults with CONFIG_TRANSPARENT_HUGEPAGE_MADVISE,
 * a common distribution's: enabled and defrag "madvise", the huge zero
 * page on, the PMD size inheriting `enabled`, khugepaged's limits.
 */
void hugepage_init(struct mml_machine *m)
{
	struct thp_globals *g = &m->thp;

	g->transparent_hugepage_flags = (1UL << TRANSPARENT_HUGEPAGE_REQ_MADV_FLAG) |
					(1UL << TRANSPARENT_HUGEPAGE_DEFRAG_REQ_MADV_FLAG) |
					(1UL << TRANSPARENT_HUGEPAGE_DEFRAG_KHUGEPAGED_FLAG) |
					(1UL << TRANSPARENT_HUGEPAGE_USE_ZERO_PAGE_FLAG);
	g->huge_anon_orders_inherit = 1UL << HPAGE_PMD_ORDER;
	g->khugepaged_pages_to_scan = HPAGE_PMD_NR * 8;
	g->khugepaged_max_ptes_none = HPAGE_PMD_NR - 1;
	g->khugepaged_max_ptes_swap = HPAGE_PMD_NR / 8;
	g->khugepaged_max_ptes_shared = HPAGE_PMD_NR / 2;
	g->khugepaged_scan_sleep_millisecs = 10000;
	g->khugepaged_alloc_sleep_millisecs = 60000;
	spin_lock_init(&m->split_queue.split_queue_lock);
	INIT_LIST_HEAD(&m->split_queue.split_queue);
}


static bool thp_flag(struct mml_machine *m, enum transparent_hugepage_flag f)
{
	return test_bit(f, &m->thp.transparent_hugepage_flags);
}

/* hugepage_global_enabled(), hugepage_global_always(): the top-level `enabled`. */
static bool hugepage_global_enabled(struct mml_machine *m)
{
	return thp_flag(m, TRANSPARENT_HUGEPAGE_FLAG) || thp_flag(m, TRANSPARENT_HUGEPAGE_REQ_MADV_FLAG);
}

static bool hugepage_global_always(struct mml_machine *m)
{
	return thp_flag(m, TRANSPARENT_HUGEPAGE_FLAG);
}

/*
 * file_thp_enabled(): CONFIG_READ_ONLY_THP_FOR_FS: a regular file of a
 * file system without large folios of its own (mmlab's disk) may be
 * collapsed while nobody has it open for write.
 */
static bool file_thp_enabled(struct vm_area_struct *vma)
{
	struct inode *inode = file_inode(vma->vm_file);

	return !shmem_mapping(inode->i_mapping) && !atomic_read(&inode->i_writecount) && S_ISREG(inode->i_mode);
}

/*
 * The PMD order for a file VMA, which only collapse asks for (and smaps'
 * THPeligible): shmem as shmem_enabled and the mount's huge= say
 * (MADV_COLLAPSE forcing it), a read-only file as `enabled` says.  A
 * fault never gets one here: shmem_fault decides for itself.
 */
static unsigned long file_vma_allowable_orders(struct vm_area_struct *vma, vm_flags_t vm_flags,
					       unsigned long tva_flags, unsigned long orders)
{
	struct mml_machine *m = vma->vm_mm->machine;
	bool enforce = tva_flags & TVA_ENFORCE_SYSFS;

	orders &= 1UL << HPAGE_PMD_ORDER;
	if (!orders || (tva_flags & TVA_IN_PF))
		return 0;
	if (!thp_vma_suitable_order(vma, vma->vm_end - HPAGE_PMD_SIZE, HPAGE_PMD_ORDER) ||
	    vma->vm_end - vma->vm_start < HPAGE_PMD_SIZE)
		return 0;
	/*
	 * shmem_allowable_huge_orders() reads the VMA's own flags, not the
	 * vm_flags asked about: MADV_HUGEPAGE's khugepaged_enter_vma runs
	 * before the VMA has VM_HUGEPAGE, so under huge=advise it does not
	 * register the mm (Linux 6.18 does the same; a second MADV_HUGEPAGE,
	 * or another VMA of the mm, does).
	 */
	if (vma_is_shmem(vma))
		return shmem_huge_enabled(file_inode(vma->vm_file), vma->vm_pgoff, 0, !enforce, vma,
					  vma->vm_flags) ? orders : 0;
	if (enforce && !(hugepage_global_always(m) || ((vm_flags & VM_HUGEPAGE) && hugepage_global_enabled(m))))
		return 0;
	return file_thp_enabled(vma) ? orders : 0;
}

/*
 * Models __thp_vma_allowable_orders().  A VMA with VM_NOHUGEPAGE, or in
 * an mm with THP disabled, gets none; for anonymous memory the sysfs
 * masks decide, unless the caller is MADV_COLLAPSE; outside a fault the
 * VMA must hold an aligned range of the order.  File VMAs:
 * file_vma_allowable_orders.
 */
unsigned long thp_vma_allowable_orders(struct vm_area_struct *vma, vm_flags_t vm_flags,
				       unsigned long tva_flags, unsigned long orders)
{
	struct mml_machine *m = vma->vm_mm->machine;
	bool smaps = tva_flags & TVA_SMAPS, in_pf = tva_flags & TVA_IN_PF;

	if ((vm_flags & VM_NOHUGEPAGE) || test_bit(MMF_DISABLE_THP, &vma->vm_mm->flags))
		return 0;
	if (vm_flags & (VM_PFNMAP | VM_MIXEDMAP | VM_HUGETLB | VM_IO))
		return 0;
	/* DAX maps the file's own PMD runs at fault time, whatever the knobs; nothing else collapses them. */
	if (vma_is_dax(vma))
		return in_pf ? orders : 0;
	if (!vma_is_anonymous(vma))
		return file_vma_allowable_orders(vma, vm_flags, tva_flags, orders);
	if (tva_flags & TVA_ENFORCE_SYSFS) {
		unsigned long mask = READ_ONCE(m->thp.huge_anon_orders_always);

		if (vm_flags & VM_HUGEPAGE)
			mask |= READ_ONCE(m->thp.huge_anon_orders_madvise);
		if (hugepage_global_always(m) || ((vm_flags & VM_HUGEPAGE) && hugepage_global_enabled(m)))
			mask |= READ_ONCE(m->thp.huge_anon_orders_inherit);
		orders &= mask;
	}
	if (!in_pf) {
		unsigned long keep = 0;

		for (unsigned order = 0; order <= HPAGE_PMD_ORDER; order++)
			if ((orders & (1UL << order)) && vma->vm_end - vma->vm_start >= (PAGE_SIZE << order) &&
			    thp_vma_suitable_order(vma, vma->vm_end - (PAGE_SIZE << order), order))
				keep |= 1UL << order;
		orders = keep;
	}
	/* THPeligible shows 1 for a VMA not yet faulted (no anon_vma); collapse needs one. */
	if (!READ_ONCE(vma->anon_vma) && !smaps && !in_pf)
		return 0;
	return orders;
}


bool transparent_hugepage_use_zero_page(struct mml_machine *m)
{
	return thp_flag(m, TRANSPARENT_HUGEPAGE_USE_ZERO_PAGE_FLAG);
}

/* ---- deposited page tables (pgtable-generic.c) ------------------------------------- */

/* pgtable_trans_huge_deposit(): keep pgtable for the day the leaf at pmd is split; pmd lock held. */
void pgtable_trans_huge_deposit(struct mm_struct *mm, pmd_t *pmd, struct ptdesc *pgtable)
{
	struct ptdesc *holder = virt_to_ptdesc(mm->machine, pmd);

	lockdep_assert_held_spin(pmd_lockptr(mm, pmd));
	pgtable->pmd_huge_pte = holder->pmd_huge_pte;
	holder->pmd_huge_pte = pgtable;
}

/* pgtable_trans_huge_withdraw(): one of the tables deposited in pmd's table page. */
struct ptdesc *pgtable_trans_huge_withdraw(struct mm_struct *mm, pmd_t *pmd)
{
	struct ptdesc *holder = virt_to_ptdesc(mm->machine, pmd), *pgtable = holder->pmd_huge_pte;

	lockdep_assert_held_spin(pmd_lockptr(mm, pmd));
	VM_BUG_ON(!pgtable);
	holder->pmd_huge_pte = pgtable->pmd_huge_pte;
	pgtable->pmd_huge_pte = NULL;
	return pgtable;
}

/* zap_deposited_table(): the leaf is gone, and the table kept for it with it (never reachable). */
static void zap_deposited_table(struct mm_struct *mm, pmd_t *pmd)
{
	pagetable_free(mm, pgtable_trans_huge_withdraw(mm, pmd));
}

/* ---- the huge zero folio --------------------------------------------------------------- */

/*
 * get_huge_zero_folio(): allocated at the first read fault that wants it
 * (thp_zero_page_alloc), kept while some mm uses it.  huge_zero_refcount
 * is 1 for the allocation plus one per mm; Linux's shrinker frees it
 * when only the allocation's count is left, mmlab at power-off
 * (docs/deviations.md).
 */
static bool get_huge_zero_folio(struct mml_machine *m)
{
	struct folio *zero, *const none = NULL;

	for (;;) {
		int n = atomic_read(&m->huge_zero_refcount);

		if (n > 0) {
			if (atomic_cmpxchg(&m->huge_zero_refcount, n, n + 1) == n)
				return true;
			continue;
		}
		/* Published by another thread, its count not yet set: wait for it, without allocating. */
		if (READ_ONCE(m->huge_zero_folio)) {
			mml_preempt_point();
			continue;
		}
		zero = folio_alloc(m, GFP_TRANSHUGE | __GFP_ZERO, HPAGE_PMD_ORDER);
		if (!zero) {
			count_vm_event(m, THP_ZERO_PAGE_ALLOC_FAILED);
			return false;
		}
		folio_set_uptodate(zero);
		if (cmpxchg(&m->huge_zero_folio, none, zero) != none) {
			/* Another thread allocated it first. */
			folio_put(m, zero);
			continue;
		}
		count_vm_event(m, THP_ZERO_PAGE_ALLOC);
		/* One count for the allocation, one for our caller. */
		atomic_set(&m->huge_zero_refcount, 2);
		return true;
	}
}

/* mm_get_huge_zero_folio(): the huge zero folio, counted once per mm (MMF_HUGE_ZERO_FOLIO). */
struct folio *mm_get_huge_zero_folio(struct mm_struct *mm)
{
	struct mml_machine *m = mm->machine;

	if (test_bit(MMF_HUGE_ZERO_FOLIO, &mm->flags))
		return READ_ONCE(m->huge_zero_folio);
	if (!get_huge_zero_folio(m))
		return NULL;
	if (test_and_set_bit(MMF_HUGE_ZERO_FOLIO, &mm->flags))
		atomic_dec(&m->huge_zero_refcount);
	return READ_ONCE(m->huge_zero_folio);
}

/* mm_put_huge_zero_folio(): the mm is gone (__mmput). */
void mm_put_huge_zero_folio(struct mm_struct *mm)
{
	if (test_bit(MMF_HUGE_ZERO_FOLIO, &mm->flags))
		atomic_dec(&mm->machine->huge_zero_refcount);
}

/* Power-off: only the allocation's count may be left. */
static void huge_zero_folio_shutdown(struct mml_machine *m)
{
	struct folio *zero = READ_ONCE(m->huge_zero_folio);

	if (!zero)
		return;
	if (atomic_read(&m->huge_zero_refcount) != 1)
		mml_report(m, "leak: the huge zero folio still has %d users at power-off",
			   atomic_read(&m->huge_zero_refcount) - 1);
	WRITE_ONCE(m->huge_zero_folio, NULL);
	atomic_set(&m->huge_zero_refcount, 0);
	folio_put(m, zero);
}

/*
 * Read once, as is_huge_zero_folio(): another thread may be publishing the
 * folio (get_huge_zero_folio's cmpxchg) while we look at a pmd that cannot
 * map it yet; either value then answers no.
 */
bool is_huge_zero_pmd(struct mml_machine *m, pmd_t pmd)
{
	struct folio *zero = READ_ONCE(m->huge_zero_folio);

	return pmd_present(pmd) && zero && pmd_pfn(pmd) == folio_pfn(m, zero);
}

/* set_huge_zero_folio(): map it read-only, special (no reference, no mapcount); pmd lock held. */
void set_huge_zero_folio(struct ptdesc *pgtable, struct mm_struct *mm, struct vm_area_struct *vma,
				uint64_t haddr, pmd_t *pmd, struct folio *zero)
{
	pmd_t entry = pmd_mkspecial(mk_huge_pmd(mm->machine, &zero->page, vma->vm_page_prot));

	pgtable_trans_huge_deposit(mm, pmd, pgtable);
	set_pmd_at(mm, haddr, pmd, pmd_wrprotect(entry));
}

/* ---- faults ------------------------------------------------------------------------- */

/*
 * vma_thp_gfp_mask(): how hard a THP fault in vma may try, by the defrag
 * knob: "always" reclaims and compacts (once only, __GFP_NORETRY, unless
 * MADV_HUGEPAGE'd), "madvise" and "defer+madvise" do so for
 * MADV_HUGEPAGE'd VMAs only, "defer" and "never" never (Linux's "defer"
 * would wake kcompactd, which mmlab does not have).
 */
gfp_t vma_thp_gfp_mask(struct vm_area_struct *vma)
{
	struct mml_machine *m = vma->vm_mm->machine;
	bool madvised = vma->vm_flags & VM_HUGEPAGE;

	if (thp_flag(m, TRANSPARENT_HUGEPAGE_DEFRAG_DIRECT_FLAG))
		return GFP_TRANSHUGE | (madvised ? 0 : __GFP_NORETRY);
	if (thp_flag(m, TRANSPARENT_HUGEPAGE_DEFRAG_KSWAPD_OR_MADV_FLAG) ||
	    thp_flag(m, TRANSPARENT_HUGEPAGE_DEFRAG_REQ_MADV_FLAG))
		return madvised ? GFP_TRANSHUGE : GFP_TRANSHUGE_LIGHT;
	return GFP_TRANSHUGE_LIGHT;
}

/*
 * vma_alloc_anon_folio_pmd(): a zeroed PMD-sized folio for a fault at
 * haddr, where the VMA's policy says, or NULL and thp_fault_fallback.
 */
static struct folio *vma_alloc_anon_folio_pmd(struct vm_area_struct *vma, uint64_t haddr)
{
	struct mml_machine *m = vma->vm_mm->machine;
	struct folio *folio = vma_alloc_folio(vma, vma_thp_gfp_mask(vma) | __GFP_ZERO, HPAGE_PMD_ORDER, haddr);

	if (!folio) {
		count_vm_event(m, THP_FAULT_FALLBACK);
		return NULL;
	}
	count_vm_event(m, THP_FAULT_ALLOC);
	return folio;
}

/*
 * map_anon_folio_pmd(): a new exclusive THP at haddr, writable if the VMA
 * is, with the deposited table; pmd lock held, the pmd none.  Every new
 * anon THP goes on the deferred split queue (Linux 6.12+), where the
 * shrinker may find it underused.
 */
static void map_anon_folio_pmd(struct folio *folio, pmd_t *pmd, struct vm_area_struct *vma, uint64_t haddr,
			       struct ptdesc *pgtable)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	pmd_t entry = mk_huge_pmd(m, &folio->page, vma->vm_page_prot);

	entry = maybe_pmd_mkwrite(pmd_mkdirty(entry), vma);
	folio_add_new_anon_rmap(folio, vma, haddr, RMAP_EXCLUSIVE);
	folio_add_lru_vma(folio, vma);
	pgtable_trans_huge_deposit(mm, pmd, pgtable);
	set_pmd_at(mm, haddr, pmd, entry);
	add_mm_counter(mm, MM_ANONPAGES, HPAGE_PMD_NR);
	deferred_split_folio(m, folio, false);
}

/*
 * do_huge_pmd_anonymous_page(): a fault on a none pmd of a VMA that may
 * use the PMD size.  A read maps the huge zero folio (use_zero_page), a
 * write a new zeroed THP; VM_FAULT_FALLBACK sends the fault on to the ptes
 * when the range does not fit or no order-9 block is free.
 */
vm_fault_t do_huge_pmd_anonymous_page(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	uint64_t haddr = vmf->address & HPAGE_PMD_MASK;
	vm_fault_t ret;
	struct ptdesc *pgtable;
	struct folio *folio;
	spinlock_t *ptl;

	if (!thp_vma_suitable_order(vma, haddr, HPAGE_PMD_ORDER))
		return VM_FAULT_FALLBACK;
	if ((ret = vmf_anon_prepare(vmf)))
		return ret;
	khugepaged_enter_vma(vma, vma->vm_flags);

	if (!(vmf->flags & FAULT_FLAG_WRITE) && transparent_hugepage_use_zero_page(m)) {
		struct folio *zero;

		pgtable = pagetable_alloc(mm);
		if (!pgtable)
			return VM_FAULT_OOM;
		zero = mm_get_huge_zero_folio(mm);
		if (!zero) {
			pagetable_free(mm, pgtable);
			count_vm_event(m, THP_FAULT_FALLBACK);
			return VM_FAULT_FALLBACK;
		}
		ptl = pmd_lock(mm, vmf->pmd);
		if (pmd_none(pmdp_get(vmf->pmd))) {
			set_huge_zero_folio(pgtable, mm, vma, haddr, vmf->pmd, zero);
			pgtable = NULL;
		}
		spin_unlock(ptl);
		if (pgtable)
			pagetable_free(mm, pgtable);
		return 0;
	}

	folio = vma_alloc_anon_folio_pmd(vma, haddr);
	if (!folio)
		return VM_FAULT_FALLBACK;
	pgtable = pagetable_alloc(mm);
	if (!pgtable) {
		folio_put(m, folio);
		return VM_FAULT_OOM;
	}
	folio_mark_uptodate(folio);
	ptl = pmd_lock(mm, vmf->pmd);
	if (!pmd_none(pmdp_get(vmf->pmd))) {
		/* Another thread faulted first; nobody saw ours. */
		spin_unlock(ptl);
		pagetable_free(mm, pgtable);
		folio_put(m, folio);
		return 0;
	}
	map_anon_folio_pmd(folio, vmf->pmd, vma, haddr, pgtable);
	spin_unlock(ptl);
	return 0;
}

/* huge_pmd_set_accessed(): a fault the leaf already allows: young (and dirty for a write). */
void huge_pmd_set_accessed(struct vm_fault *vmf)
{
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	spinlock_t *ptl = pmd_lock(vmf->vma->vm_mm, vmf->pmd);
	pmd_t entry;

	if (pmd_same(pmdp_get(vmf->pmd), vmf->orig_pmd)) {
		entry = pmd_mkyoung(vmf->orig_pmd);
		if (write)
			entry = pmd_mkdirty(entry);
		if (!pmdp_set_access_flags(vmf->pmd, entry) && write)
			flush_tlb_range(vmf->vma, vmf->address & HPAGE_PMD_MASK,
					(vmf->address & HPAGE_PMD_MASK) + HPAGE_PMD_SIZE);
	}
	spin_unlock(ptl);
}

/*
 * pmdp_invalidate(): the leaf stays in place but invalid: lockless walkers
 * and CPUs fault or fall back, walkers that lock the pmd wait for us.
 * The old value, with every accessed and dirty bit set until now.
 */
static pmd_t pmdp_invalidate(struct vm_area_struct *vma, uint64_t haddr, pmd_t *pmd)
{
	pmd_t old = __pmd(mml_xchg64(&pmd->pmd, pmd_val(pmd_mkinvalid(pmdp_get(pmd)))));

	flush_tlb_range(vma, haddr, haddr + HPAGE_PMD_SIZE);
	return old;
}

/* pmdp_huge_clear_flush(): the leaf is gone from every TLB on return. */
static pmd_t pmdp_huge_clear_flush(struct vm_area_struct *vma, uint64_t haddr, pmd_t *pmd)
{
	pmd_t old = pmdp_get_and_clear(pmd);

	flush_tlb_range(vma, haddr, haddr + HPAGE_PMD_SIZE);
	return old;
}

/*
 * do_huge_zero_wp_pmd(): a write to the huge zero folio gets a new THP of
 * its own (Linux 6.12+); without one, the pmd is split into zero-page
 * ptes and the write faults on a pte.
 */
static vm_fault_t do_huge_zero_wp_pmd(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	uint64_t haddr = vmf->address & HPAGE_PMD_MASK;
	struct mmu_notifier_range range;
	struct ptdesc *pgtable;
	struct folio *folio;
	spinlock_t *ptl;

	folio = vma_alloc_anon_folio_pmd(vma, haddr);
	if (!folio)
		return VM_FAULT_FALLBACK;
	folio_mark_uptodate(folio);
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, haddr, haddr + HPAGE_PMD_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	ptl = pmd_lock(mm, vmf->pmd);
	if (!pmd_same(pmdp_get(vmf->pmd), vmf->orig_pmd)) {
		spin_unlock(ptl);
		mmu_notifier_invalidate_range_end(&range);
		folio_put(mm->machine, folio);
		return 0;
	}
	pmdp_huge_clear_flush(vma, haddr, vmf->pmd);
	/* The zero folio's deposited table serves the new leaf. */
	pgtable = pgtable_trans_huge_withdraw(mm, vmf->pmd);
	map_anon_folio_pmd(folio, vmf->pmd, vma, haddr, pgtable);
	spin_unlock(ptl);
	mmu_notifier_invalidate_range_end(&range);
	return 0;
}

/*
 * do_huge_pmd_wp_page(): a write (or an unshare) through a read-only
 * leaf.  As Linux since 5.8: reuse the THP only if its head is
 * PG_anon_exclusive, or if ours is provably the only reference (folio
 * locked, refcount 1); otherwise split the pmd and let the pte fault
 * copy the one page written.
 */
vm_fault_t do_huge_pmd_wp_page(struct vm_fault *vmf)
{
	bool unshare = vmf->flags & FAULT_FLAG_UNSHARE;
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	pmd_t orig_pmd = vmf->orig_pmd, entry;
	struct folio *folio;
	struct page *page;

	/*
	 * wp_huge_pmd(): a page-cache THP has no huge_fault here: COW or
	 * write notification happen at the pte level, after the split (which
	 * for a file's leaf just unmaps it).
	 */
	if (!vma_is_anonymous(vma))
		goto fallback;
	vmf->ptl = pmd_lockptr(mm, vmf->pmd);
	if (is_huge_zero_pmd(m, orig_pmd)) {
		vm_fault_t ret = do_huge_zero_wp_pmd(vmf);

		if (!(ret & VM_FAULT_FALLBACK))
			return ret;
		goto fallback;
	}
	spin_lock(vmf->ptl);
	if (!pmd_same(pmdp_get(vmf->pmd), orig_pmd)) {
		spin_unlock(vmf->ptl);
		return 0;
	}
	page = pmd_page(m, orig_pmd);
	folio = page_folio(page);
	if (PageAnonExclusive(page))
		goto reuse;
	if (!folio_trylock(folio)) {
		folio_get(folio);
		spin_unlock(vmf->ptl);
		folio_lock(folio);
		spin_lock(vmf->ptl);
		if (!pmd_same(pmdp_get(vmf->pmd), orig_pmd)) {
			spin_unlock(vmf->ptl);
			folio_unlock(folio);
			folio_put(m, folio);
			return 0;
		}
		folio_put(m, folio);
	}
	if (PageAnonExclusive(page)) {
		folio_unlock(folio);
		goto reuse;
	}
	/* The pre-5.8 check: mapped by one pmd, whatever the ptes of other mms say. */
	if (bug_enabled(m, BUG_THP_WP_REUSE_ENTIRE) && folio_entire_mapcount(folio) == 1)
		goto reuse_locked;
	if (folio_ref_count(folio) > 1 + folio_test_swapcache(folio))
		goto unlock_fallback;
	if (folio_test_swapcache(folio))
		folio_free_swap(m, folio);
	if (folio_ref_count(folio) == 1) {
reuse_locked:
		folio_move_anon_rmap(folio, vma);
		SetPageAnonExclusive(page);
		folio_unlock(folio);
reuse:
		if (unshare) {
			spin_unlock(vmf->ptl);
			return 0;
		}
		entry = maybe_pmd_mkwrite(pmd_mkdirty(pmd_mkyoung(orig_pmd)), vma);
		pmdp_set_access_flags(vmf->pmd, entry);
		spin_unlock(vmf->ptl);
		return 0;
	}
unlock_fallback:
	folio_unlock(folio);
	spin_unlock(vmf->ptl);
fallback:
	__split_huge_pmd(vma, vmf->pmd, vmf->address, false);
	return VM_FAULT_FALLBACK;
}

/* ---- the leaf under its lock -------------------------------------------------------- */

/*
 * pmd_trans_huge_lock(): the pmd lock if *pmd is (still) a leaf, or NULL
 * (it was split, zapped or never was one: the caller goes on with ptes).
 */
spinlock_t *pmd_trans_huge_lock(pmd_t *pmd, struct vm_area_struct *vma)
{
	spinlock_t *ptl = pmd_lock(vma->vm_mm, pmd);

	if (pmd_trans_huge(pmdp_get(pmd)))
		return ptl;
	spin_unlock(ptl);
	return NULL;
}

/*
 * zap_huge_pmd(): unmap a leaf that lies wholly in the range: 1 if it did
 * (the folio's reference goes into the gather, freed after the flush), 0
 * if the pmd was no longer a leaf.
 */
int zap_huge_pmd(struct mmu_gather *tlb, struct vm_area_struct *vma, pmd_t *pmd, uint64_t addr)
{
	struct mm_struct *mm = tlb->mm;
	struct mml_machine *m = mm->machine;
	spinlock_t *ptl = pmd_trans_huge_lock(pmd, vma);
	struct folio *folio;
	struct page *page;
	pmd_t orig;

	if (!ptl)
		return 0;
	orig = pmdp_get_and_clear(pmd);
	tlb_flush_pte_range(tlb, addr, HPAGE_PMD_SIZE);
	if (is_huge_zero_pmd(m, orig)) {
		zap_deposited_table(mm, pmd);
		spin_unlock(ptl);
		return 1;
	}
	page = pmd_page(m, orig);
	folio = page_folio(page);
	folio_remove_rmap_pmd(folio, page, vma);
	if (folio_test_anon(folio)) {
		zap_deposited_table(mm, pmd);
		add_mm_counter(mm, MM_ANONPAGES, -HPAGE_PMD_NR);
	} else {
		/* A page-cache THP: x86 deposits no table for it.  Written through the leaf: dirty. */
		if (pmd_dirty(orig))
			folio_mark_dirty(folio);
		add_mm_counter(mm, mm_counter_file(folio), -HPAGE_PMD_NR);
	}
	spin_unlock(ptl);
	if (__tlb_remove_folio_pages(tlb, folio, 1))
		tlb_flush_mmu(tlb);
	return 1;
}

/*
 * copy_huge_pmd(): fork shares a leaf with the child, write-protected on
 * both sides (the huge zero folio as it is).  A THP that may be pinned is
 * not shared: the parent's pmd is split and -EAGAIN sends the caller to
 * copy_pte_range, which copies the pinned pages.  0, -EAGAIN, -ENOMEM.
 */
int copy_huge_pmd(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma, pmd_t *dst_pmd,
		  pmd_t *src_pmd, uint64_t addr)
{
	struct mm_struct *dst_mm = dst_vma->vm_mm, *src_mm = src_vma->vm_mm;
	struct mml_machine *m = src_mm->machine;
	spinlock_t *dst_ptl, *src_ptl;
	struct ptdesc *pgtable;
	struct folio *folio;
	struct page *page;
	pmd_t pmd;
	int ret = -EAGAIN;

	/* A page-cache THP is not copied: the child's fault maps it again from the cache. */
	if (!vma_is_anonymous(dst_vma))
		return 0;
	pgtable = pagetable_alloc(dst_mm);
	if (!pgtable)
		return -ENOMEM;
	dst_ptl = pmd_lock(dst_mm, dst_pmd);
	src_ptl = pmd_lockptr(src_mm, src_pmd);
	spin_lock(src_ptl);
	pmd = pmdp_get(src_pmd);
	if (!pmd_trans_huge(pmd)) {
		pagetable_free(dst_mm, pgtable);
		goto out_unlock;
	}
	if (is_huge_zero_pmd(m, pmd)) {
		/* A count of it for the child; it cannot be the first, ours exists. */
		mm_get_huge_zero_folio(dst_mm);
		goto set_pmd;
	}
	page = pmd_page(m, pmd);
	folio = page_folio(page);
	folio_get(folio);
	if (folio_try_dup_anon_rmap_pmd(folio, page, dst_vma, src_vma)) {
		/* Maybe pinned: split, and copy the pinned pages one by one. */
		folio_put(m, folio);
		pagetable_free(dst_mm, pgtable);
		spin_unlock(src_ptl);
		spin_unlock(dst_ptl);
		__split_huge_pmd(src_vma, src_pmd, addr, false);
		return -EAGAIN;
	}
	add_mm_counter(dst_mm, MM_ANONPAGES, HPAGE_PMD_NR);
	pmdp_set_wrprotect(src_pmd);
	pmd = pmd_wrprotect(pmd);
set_pmd:
	pgtable_trans_huge_deposit(dst_mm, dst_pmd, pgtable);
	set_pmd_at(dst_mm, addr, dst_pmd, pmd_mkold(pmd));
	ret = 0;
out_unlock:
	spin_unlock(src_ptl);
	spin_unlock(dst_ptl);
	return ret;
}

/* can_change_pmd_writable(): as can_change_pte_writable, for a leaf of private anon memory. */
static bool can_change_pmd_writable(struct vm_area_struct *vma, pmd_t pmd)
{
	struct mml_machine *m = vma->vm_mm->machine;

	if (!(vma->vm_flags & VM_WRITE) || pmd_protnone(pmd) || is_huge_zero_pmd(m, pmd))
		return false;
	if (!(vma->vm_flags & VM_SOFTDIRTY) && !pmd_soft_dirty(pmd))
		return false;
	if (!(vma->vm_flags & VM_SHARED))
		return PageAnonExclusive(pmd_page(m, pmd));
	/* A shared mapping's leaf: writable at once only if already dirty (no write notify owed). */
	return pmd_dirty(pmd);
}

/*
 * change_huge_pmd(): mprotect of a whole leaf: HPAGE_PMD_NR if it changed
 * (TLBs flushed through the gather), 0 if it was no longer a leaf.
 */
int change_huge_pmd(struct mmu_gather *tlb, struct vm_area_struct *vma, pmd_t *pmd, uint64_t addr,
		    bool try_writable)
{
	struct mml_machine *m = vma->vm_mm->machine;
	spinlock_t *ptl = pmd_trans_huge_lock(pmd, vma);
	pmd_t old, new;

	if (!ptl)
		return 0;
	old = pmdp_get(pmd);
	/* The hardware walker may set accessed/dirty meanwhile: never lose them. */
	do {
		new = pmd_modify(old, vma->vm_page_prot);
		if (is_huge_zero_pmd(m, old))
			new = pmd_wrprotect(new);
		else if (try_writable && !pmd_write(new) && can_change_pmd_writable(vma, new))
			new = pmd_mkwrite_novma(new);
	} while (!pmd_same(old, new) && !mml_cmpxchg64(&pmd->pmd, &old.pmd, pmd_val(new)));
	if (pmd_tagged(new) && !pmd_tagged(old))
		for (unsigned i = 0; i < HPAGE_PMD_NR; i++)
			mte_sync_tags(m, pmd_pte_at(new, i));
	if (!pmd_same(old, new))
		tlb_flush_pte_range(tlb, addr, HPAGE_PMD_SIZE);
	spin_unlock(ptl);
	return HPAGE_PMD_NR;
}

/* ---- splitting a pmd ------------------------------------------------------------------ */

/* __split_huge_zero_page_pmd(): 512 ptes of the (small) zero page in place of the huge zero folio. */
static void __split_huge_zero_page_pmd(struct vm_area_struct *vma, uint64_t haddr, pmd_t *pmd)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	struct ptdesc *pgtable;
	pte_t *pte;

	pmdp_huge_clear_flush(vma, haddr, pmd);
	pgtable = pgtable_trans_huge_withdraw(mm, pmd);
	pte = page_address(m, pgtable);
	for (unsigned i = 0; i < HPAGE_PMD_NR; i++)
		set_pte_at(mm, haddr + ((uint64_t)i << PAGE_SHIFT), pte + i,
			   pte_mkspecial(pfn_pte(m->zero_pfn, vma->vm_page_prot)));
	/* The ptes are visible before the table is (a release store). */
	set_pmd(pmd, pmd_mktable(page_to_pfn(m, pgtable)));
}

/*
 * __split_huge_pmd_locked(): the leaf becomes a table of 512 ptes mapping
 * the same pages with the same rights: dirty, young, soft-dirty and
 * write carried to every pte, PG_anon_exclusive of the head to every
 * page, one reference per pte.  The leaf is cleared and flushed first,
 * so that no CPU sets accessed or dirty in it meanwhile; the folio keeps
 * its counts throughout (the ptes are added before the pmd is removed).
 */
static void __split_huge_pmd_locked(struct vm_area_struct *vma, pmd_t *pmd, uint64_t haddr)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	bool write, young, dirty, soft_dirty, anon_exclusive;
	struct ptdesc *pgtable;
	struct folio *folio;
	struct page *page;
	pmd_t old_pmd;
	pte_t entry, *pte;

	count_vm_event(m, THP_SPLIT_PMD);
	if (!vma_is_anonymous(vma)) {
		/*
		 * A page-cache THP's leaf is not split into ptes but removed:
		 * later faults map the pages again from the cache, with ptes
		 * or a leaf as they find them.
		 */
		old_pmd = pmdp_huge_clear_flush(vma, haddr, pmd);
		if (is_huge_zero_pmd(m, old_pmd)) {	/* a DAX hole's: faults map the zero page again */
			zap_deposited_table(mm, pmd);
			return;
		}
		page = pmd_page(m, old_pmd);
		folio = page_folio(page);
		if (pmd_dirty(old_pmd))
			folio_mark_dirty(folio);
		if (pmd_young(old_pmd))
			folio_set_referenced(folio);
		folio_remove_rmap_pmd(folio, page, vma);
		add_mm_counter(mm, mm_counter_file(folio), -HPAGE_PMD_NR);
		folio_put(m, folio);
		return;
	}
	if (is_huge_zero_pmd(m, pmdp_get(pmd))) {
		__split_huge_zero_page_pmd(vma, haddr, pmd);
		return;
	}
	old_pmd = pmdp_invalidate(vma, haddr, pmd);
	page = pmd_page(m, old_pmd);
	folio = page_folio(page);
	write = pmd_write(old_pmd);
	young = pmd_young(old_pmd);
	dirty = pmd_dirty(old_pmd);
	soft_dirty = pmd_soft_dirty(old_pmd);
	if (dirty)
		folio_set_dirty(folio);
	anon_exclusive = PageAnonExclusive(page);
	folio_ref_add(folio, HPAGE_PMD_NR - 1);
	folio_add_anon_rmap_ptes(folio, page, HPAGE_PMD_NR, vma, haddr,
				 anon_exclusive && !bug_enabled(m, BUG_THP_SPLIT_LOSES_EXCLUSIVE) ?
				 RMAP_EXCLUSIVE : RMAP_NONE);
	if (bug_enabled(m, BUG_THP_SPLIT_LOSES_EXCLUSIVE))
		for (unsigned i = 0; i < HPAGE_PMD_NR; i++)
			ClearPageAnonExclusive(page + i);

	pgtable = pgtable_trans_huge_withdraw(mm, pmd);
	pte = page_address(m, pgtable);
	entry = mk_pte(m, page, vma->vm_page_prot);
	if (write)
		entry = pte_mkwrite_novma(entry);
	if (!young)
		entry = pte_mkold(entry);
	if (dirty)
		entry = pte_mkdirty(entry);
	if (!soft_dirty)
		entry = pte_clear_soft_dirty(entry);
	else
		entry = pte_mksoft_dirty(entry);
	set_ptes(mm, haddr, pte, entry, HPAGE_PMD_NR);
	/* The pmd's reference passes to the first pte. */
	folio_remove_rmap_pmd(folio, page, vma);
	set_pmd(pmd, pmd_mktable(page_to_pfn(m, pgtable)));
}

/*
 * __split_huge_pmd(): split the leaf mapping address, if there still is
 * one, telling the secondary MMUs around it.  The caller holds mmap_lock
 * (or the anon_vma lock, for rmap); the folio's lock is not needed.
 */
void __split_huge_pmd(struct vm_area_struct *vma, pmd_t *pmd, uint64_t address, bool freeze)
{
	struct mmu_notifier_range range;
	uint64_t haddr = address & HPAGE_PMD_MASK;
	spinlock_t *ptl;

	(void)freeze;	/* split_folio makes its migration entries from the ptes afterwards */
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, vma->vm_mm, haddr, haddr + HPAGE_PMD_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	ptl = pmd_lock(vma->vm_mm, pmd);
	if (pmd_trans_huge(pmdp_get(pmd)))
		__split_huge_pmd_locked(vma, pmd, haddr);
	spin_unlock(ptl);
	mmu_notifier_invalidate_range_end(&range);
}

/* split_huge_pmd_address(): the same, finding the pmd of address (rmap callers). */
void split_huge_pmd_address(struct vm_area_struct *vma, uint64_t address)
{
	pmd_t *pmd = mm_find_pmd(vma->vm_mm, address);

	if (pmd && pmd_trans_huge(pmdp_get(pmd)))
		__split_huge_pmd(vma, pmd, address, false);
}

/*
 * vma_adjust_trans_huge(): a VMA is about to be cut at addr (split_vma,
 * mprotect or munmap of part of it): a leaf straddling the cut is split
 * first, for no leaf may cross a VMA boundary.
 */
void vma_adjust_trans_huge(struct vm_area_struct *vma, uint64_t addr)
{
	if ((addr & ~HPAGE_PMD_MASK) && (addr & HPAGE_PMD_MASK) >= vma->vm_start &&
	    (addr & HPAGE_PMD_MASK) + HPAGE_PMD_SIZE <= vma->vm_end)
		split_huge_pmd_address(vma, addr);
}

/* ---- madvise ---------------------------------------------------------------------- */

/*
 * madvise_free_huge_pmd(): MADV_FREE of a whole leaf marks the THP lazy
 * free (clean, old, on the lazyfree list) if this mm alone maps it; of
 * part of one, split the pmd and let the ptes be handled (returns false).
 * True when the leaf was handled here.
 */
bool madvise_free_huge_pmd(struct mmu_gather *tlb, struct vm_area_struct *vma, pmd_t *pmd, uint64_t addr,
			   uint64_t next)
{
	struct mml_machine *m = vma->vm_mm->machine;
	spinlock_t *ptl = pmd_trans_huge_lock(pmd, vma);
	struct folio *folio;
	pmd_t orig;

	if (!ptl)
		return false;
	orig = pmdp_get(pmd);
	if (is_huge_zero_pmd(m, orig)) {
		spin_unlock(ptl);
		return true;
	}
	folio = page_folio(pmd_page(m, orig));
	/* Shared with another mm: leave it, as Linux does. */
	if (folio_mapcount(folio) != 1) {
		spin_unlock(ptl);
		return true;
	}
	if (next - addr != HPAGE_PMD_SIZE) {
		spin_unlock(ptl);
		__split_huge_pmd(vma, pmd, addr, false);
		return false;
	}
	if (!folio_trylock(folio)) {
		spin_unlock(ptl);
		return true;
	}
	if (folio_test_swapcache(folio))
		folio_free_swap(m, folio);
	if (folio_test_dirty(folio))
		folio_clear_dirty(folio);
	folio_unlock(folio);
	if (pmd_young(orig) || pmd_dirty(orig)) {
		orig = pmdp_invalidate(vma, addr, pmd);
		set_pmd_at(vma->vm_mm, addr, pmd, pmd_mkclean(pmd_mkold(orig)));
		tlb_flush_pte_range(tlb, addr, HPAGE_PMD_SIZE);
	}
	folio_mark_lazyfree(m, folio);
	spin_unlock(ptl);
	return true;
}

/* ---- power-off ------------------------------------------------------------------------ */

/* Power-off, every process gone: the huge zero folio goes; nothing may be left queued. */
void hugepage_exit(struct mml_machine *m)
{
	huge_zero_folio_shutdown(m);
	if (m->split_queue.split_queue_len)
		mml_report(m, "leak: %lu folio(s) left on the deferred split queue", m->split_queue.split_queue_len);
}

/*
 * thp_get_unmapped_area() (and __thp_get_unmapped_area): a mapping that
 * covers at least one whole 2 MiB-aligned run of its file is given an
 * address congruent to its file offset modulo 2 MiB, so that PMD faults
 * can map those runs.  It searches for len plus 2 MiB and moves up into
 * the padding; top-down, with nothing to move, it takes the padding's
 * top, as Linux does.  A free hint is kept; a mapping too short or a
 * padded search that fails is placed as any other.  XFS and ext4 give it
 * to every file; mmlab to /pmem/ files (daxfs), where it matters.
 */
uint64_t thp_get_unmapped_area(struct file *file, struct mm_struct *mm, uint64_t addr, uint64_t len,
			       unsigned long pgoff, int flags)
{
	uint64_t off = (uint64_t)pgoff << PAGE_SHIFT, off_end = off + len;
	uint64_t off_align = (off + HPAGE_PMD_SIZE - 1) & HPAGE_PMD_MASK, len_pad = len + HPAGE_PMD_SIZE, ret, off_sub;

	if ((flags & MAP_FIXED) || off_end <= off_align || off_end - off_align < HPAGE_PMD_SIZE || len_pad < len ||
	    off + len_pad < off)
		return get_unmapped_area(mm, addr, len, flags);
	ret = get_unmapped_area(mm, addr, len_pad, flags);
	if ((int64_t)ret < 0 && (int64_t)ret >= -4095)
		return get_unmapped_area(mm, addr, len, flags);	/* perhaps only the padding did not fit */
	if (ret == addr)
		return addr;
	off_sub = (off - ret) & (HPAGE_PMD_SIZE - 1);
	/* mmlab's mms all search top-down (MMF_TOPDOWN): an aligned start takes the padding's top */
	return off_sub ? ret + off_sub : ret + HPAGE_PMD_SIZE;
}
