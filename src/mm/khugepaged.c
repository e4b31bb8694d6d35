/*
 * khugepaged.c - collapsing small anon pages into a THP (Linux's
 * mm/khugepaged.c): the mms to scan, a pass over their PMD ranges
 * (hpage_collapse_scan_pmd), the collapse itself (collapse_huge_page),
 * the khugepaged thread, and MADV_COLLAPSE.
 *
 * A collapse, as Linux's: with mmap_lock for read, scan the 512 ptes and
 * decide (none, swap and shared limits, references); drop the lock,
 * allocate the THP; take mmap_lock for write, revalidate, swap in the few
 * swapped pages, then with the anon_vma lock for write clear the pmd and
 * flush (pmdp_collapse_flush: no CPU, GUP-fast or rmap walk can reach the
 * old ptes any more), isolate each small folio (locked, off the LRU, no
 * reference but its mappings', or the collapse fails and the table goes
 * back), copy, and install the THP with one pmd; the old pte table,
 * emptied, becomes the deposited one.  Results are counted by Linux's
 * enum scan_result names.
 */
#include <stdlib.h>
#include <string.h>

#include "fs/vfs.h"
#include "mm/internal.h"
#include "mm/khugepaged.h"
#include "mm/ksm.h"
#include "mm/userfaultfd_k.h"
#include "mm/mmu_notifier.h"

#define SCAN_NAME(name) #name,
static const char *const scan_result_names[NR_SCAN_RESULTS] = { SCAN_RESULTS(SCAN_NAME) };

/* One registered mm (Linux's khugepaged_mm_slot). */
struct khugepaged_mm_slot {
	struct list_head node;		/* on khugepaged_scan.mm_head */
	struct mm_struct *mm;		/* holds an mm_count */
};

/*
 * The machine's khugepaged state (Linux's khugepaged_scan and
 * khugepaged_mm_lock): the registered mms under lock, a leaf; the pass's
 * cursor under scan_mutex, which one scanner holds for its whole pass (the
 * thread, or mml_khugepaged_scan's caller: Linux has one khugepaged).
 */
struct khugepaged_scan {
	spinlock_t lock;
	struct list_head mm_head;		/* (lock) */
	struct khugepaged_mm_slot *mm_slot;	/* (lock, and scan_mutex to move it) the mm the pass is in, or NULL */
	struct mutex scan_mutex;		/* above mmap_lock */
	uint64_t address;			/* (scan_mutex) where in the mm */
	atomic_long_t results[NR_SCAN_RESULTS];	/* each scan's outcome, by name */
};

void count_scan_result(struct mml_machine *m, enum scan_result r)
{
	atomic_long_add(1, &m->khugepaged->results[r]);
}

long khugepaged_scan_result_count(struct mml_machine *m, const char *name)
{
	for (int r = 0; r < NR_SCAN_RESULTS; r++)
		if (!strcmp(scan_result_names[r], name))
			return atomic_long_read(&m->khugepaged->results[r]);
	return -ENOENT;
}

/* ---- registration -------------------------------------------------------------- */

static struct khugepaged_mm_slot *mm_slot_lookup(struct khugepaged_scan *s, struct mm_struct *mm)
{
	struct khugepaged_mm_slot *slot;

	list_for_each_entry(slot, &s->mm_head, node)
		if (slot->mm == mm)
			return slot;
	return NULL;
}

/* __khugepaged_enter(): register mm once (MMF_VM_HUGEPAGE), and wake the thread. */
static void __khugepaged_enter(struct mm_struct *mm)
{
	struct mml_machine *m = mm->machine;
	struct khugepaged_scan *s = m->khugepaged;
	struct khugepaged_mm_slot *slot;

	if (test_and_set_bit(MMF_VM_HUGEPAGE, &mm->flags))
		return;
	slot = mml_obj_alloc(m, OBJ_KHUGEPAGED_SLOT, sizeof(*slot));
	if (!slot) {
		clear_bit(MMF_VM_HUGEPAGE, &mm->flags);	/* not scanned; Linux too gives up here */
		return;
	}
	slot->mm = mm;
	mmgrab(mm);
	spin_lock(&s->lock);
	list_add_tail(&slot->node, &s->mm_head);
	spin_unlock(&s->lock);
	wakeup_khugepaged(m);
}

/* Is the PMD size enabled at all (hugepage_pmd_enabled)? */
static bool hugepage_pmd_enabled(struct mml_machine *m)
{
	unsigned long pmd = 1UL << HPAGE_PMD_ORDER;
	unsigned long f = READ_ONCE(m->thp.transparent_hugepage_flags);

	return (READ_ONCE(m->thp.huge_anon_orders_always) & pmd) ||
	       (READ_ONCE(m->thp.huge_anon_orders_madvise) & pmd) ||
	       ((READ_ONCE(m->thp.huge_anon_orders_inherit) & pmd) &&
		(f & ((1UL << TRANSPARENT_HUGEPAGE_FLAG) | (1UL << TRANSPARENT_HUGEPAGE_REQ_MADV_FLAG))));
}

/* khugepaged_enter_vma(): a VMA that may become huge makes its mm one to scan. */
void khugepaged_enter_vma(struct vm_area_struct *vma, vm_flags_t vm_flags)
{
	struct mm_struct *mm = vma->vm_mm;

	if (!test_bit(MMF_VM_HUGEPAGE, &mm->flags) && hugepage_pmd_enabled(mm->machine) &&
	    thp_vma_allowable_order(vma, vm_flags, TVA_ENFORCE_SYSFS, HPAGE_PMD_ORDER))
		__khugepaged_enter(mm);
}

/* khugepaged_fork(): a child of a registered mm is registered too. */
void khugepaged_fork(struct mm_struct *mm, struct mm_struct *oldmm)
{
	if (test_bit(MMF_VM_HUGEPAGE, &oldmm->flags))
		__khugepaged_enter(mm);
}

static void free_mm_slot(struct mml_machine *m, struct khugepaged_mm_slot *slot)
{
	mmdrop(slot->mm);
	mml_obj_free(m, OBJ_KHUGEPAGED_SLOT, slot);
}

/*
 * khugepaged_exit(): the mm's last user is gone.  Its slot goes now,
 * unless the pass is in it: then the pass collects it when it moves on
 * (it finds the mm without users).
 */
void khugepaged_exit(struct mm_struct *mm)
{
	struct khugepaged_scan *s = mm->machine->khugepaged;
	struct khugepaged_mm_slot *slot = NULL;

	if (!test_bit(MMF_VM_HUGEPAGE, &mm->flags))
		return;
	spin_lock(&s->lock);
	slot = mm_slot_lookup(s, mm);
	if (slot && slot != s->mm_slot)
		list_del(&slot->node);
	else
		slot = NULL;
	spin_unlock(&s->lock);
	if (slot) {
		clear_bit(MMF_VM_HUGEPAGE, &mm->flags);
		free_mm_slot(mm->machine, slot);
	}
}

/* ---- scanning and collapsing ------------------------------------------------------- */

/* is_refcount_suitable(): nothing but the mappings (and the swap cache) holds the folio. */
static bool is_refcount_suitable(struct mml_machine *m, struct folio *folio)
{
	if (bug_enabled(m, BUG_THP_COLLAPSE_IGNORES_PIN))
		return true;
	return folio_ref_count(folio) == folio_mapcount(folio) + folio_test_swapcache(folio);
}

/* find_pmd_or_thp_or_none(): the pmd at address, if it points to a pte table. */
enum scan_result find_pmd_or_thp_or_none(struct mm_struct *mm, uint64_t address, pmd_t **pmdp)
{
	pmd_t pmde;

	*pmdp = mm_find_pmd(mm, address);
	if (!*pmdp)
		return SCAN_PMD_NULL;
	pmde = pmdp_get(*pmdp);
	if (pmd_none(pmde))
		return SCAN_PMD_NONE;
	if (pmd_trans_huge(pmde))
		return SCAN_PMD_MAPPED;
	if (!pmd_table(pmde))
		return SCAN_PMD_NULL;
	return SCAN_SUCCEED;
}

/* hugepage_vma_revalidate(): after mmap_lock was dropped, is the VMA still fit? */
enum scan_result hugepage_vma_revalidate(struct mm_struct *mm, uint64_t address, bool expect_anon,
						struct vm_area_struct **vmap, struct collapse_control *cc)
{
	struct vm_area_struct *vma = vma_lookup(mm, address);

	if (!vma)
		return SCAN_VMA_NULL;
	if ((address & HPAGE_PMD_MASK) < vma->vm_start ||
	    (address & HPAGE_PMD_MASK) + HPAGE_PMD_SIZE > vma->vm_end)
		return SCAN_ADDRESS_RANGE;
	if (!thp_vma_allowable_order(vma, vma->vm_flags, cc->is_khugepaged ? TVA_ENFORCE_SYSFS : 0, HPAGE_PMD_ORDER))
		return SCAN_VMA_CHECK;
	if (expect_anon && (!vma->anon_vma || !vma_is_anonymous(vma)))
		return SCAN_PAGE_ANON;
	*vmap = vma;
	return SCAN_SUCCEED;
}

/*
 * __collapse_huge_page_swapin(): bring the few swapped pages of the range
 * in, by faults, with mmap_lock held for read.
 */
static enum scan_result __collapse_huge_page_swapin(struct mm_struct *mm, struct vm_area_struct *vma,
						    uint64_t haddr, pmd_t *pmd)
{
	bool swapped_in = false;

	for (uint64_t addr = haddr; addr < haddr + HPAGE_PMD_SIZE; addr += PAGE_SIZE) {
		pte_t *ptep = pte_offset_map(mm, pmd, addr, NULL);
		pte_t pte;

		if (!ptep)
			return SCAN_PMD_NULL;
		pte = ptep_get(ptep);
		pte_unmap(ptep);
		if (!is_swap_pte(pte))
			continue;
		if (handle_mm_fault(vma, addr, 0) & (VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV))
			return SCAN_FAIL;
		swapped_in = true;
		/* The pmd must still point to the table we looked at. */
		if (find_pmd_or_thp_or_none(mm, haddr, &pmd) != SCAN_SUCCEED)
			return SCAN_PMD_NULL;
	}
	/* The pages read in wait in this CPU's batch with a reference the isolation would count. */
	if (swapped_in)
		lru_add_drain(mm->machine);
	return SCAN_SUCCEED;
}

/* release_pte_folio(): an isolated small folio goes back: unlocked, on the LRU. */
static void release_pte_folio(struct mml_machine *m, struct folio *folio)
{
	folio_unlock(folio);
	folio_putback_lru(m, folio);
}

/*
 * release_pte_pages(): a failed isolation gives back what it took from
 * the ptes before end: each small folio, and the large ones on list.
 */
static void release_pte_pages(struct vm_area_struct *vma, pte_t *pte, pte_t *end, struct list_head *compound)
{
	struct mml_machine *m = vma->vm_mm->machine;
	uint64_t addr = 0;

	for (; pte < end; pte++) {
		pte_t pteval = ptep_get(pte);
		struct folio *folio;

		if (pte_none(pteval) || !pte_present(pteval))
			continue;
		folio = vm_normal_folio(vma, addr, pteval);
		if (!folio || folio_test_large(folio))
			continue;
		release_pte_folio(m, folio);
	}
	while (!list_empty(compound)) {
		struct folio *folio = list_first_entry(compound, struct folio, lru);

		list_del_init(&folio->lru);
		release_pte_folio(m, folio);
	}
}

/*
 * __collapse_huge_page_isolate(): every folio the 512 ptes map, locked
 * and taken off the LRU (a large one once, kept on compound), or none of
 * them.  The pmd is cleared: nothing else reaches these ptes.
 */
static enum scan_result __collapse_huge_page_isolate(struct vm_area_struct *vma, uint64_t address, pte_t *pte,
						     struct collapse_control *cc, struct list_head *compound)
{
	struct mml_machine *m = vma->vm_mm->machine;
	unsigned none_or_zero = 0, shared = 0, referenced = 0;
	enum scan_result result = SCAN_FAIL;
	pte_t *_pte = pte;

	for (; _pte < pte + HPAGE_PMD_NR; _pte++, address += PAGE_SIZE) {
		pte_t pteval = ptep_get(_pte);
		struct folio *folio, *f;

		if (pte_none(pteval) || (pte_present(pteval) && is_zero_pfn(m, pte_pfn(pteval)))) {
			/* A registered VMA's holes must keep reporting: never filled by a collapse. */
			if (!userfaultfd_armed(vma) &&
			    (!cc->is_khugepaged || ++none_or_zero <= READ_ONCE(m->thp.khugepaged_max_ptes_none)))
				continue;
			result = SCAN_EXCEED_NONE_PTE;
			goto out;
		}
		if (!pte_present(pteval)) {
			result = SCAN_PTE_NON_PRESENT;
			goto out;
		}
		if (pte_uffd_wp(pteval)) {
			result = SCAN_PTE_UFFD_WP;
			goto out;
		}
		folio = vm_normal_folio(vma, address, pteval);
		if (!folio) {
			result = SCAN_PAGE_NULL;
			goto out;
		}
		if (folio_maybe_mapped_shared(folio) && cc->is_khugepaged &&
		    ++shared > READ_ONCE(m->thp.khugepaged_max_ptes_shared)) {
			result = SCAN_EXCEED_SHARED_PTE;
			goto out;
		}
		if (folio_test_large(folio)) {
			list_for_each_entry(f, compound, lru)
				if (f == folio)
					goto next;
		}
		if (!folio_trylock(folio)) {
			result = SCAN_PAGE_LOCK;
			goto out;
		}
		/* A pin or any other holder: the copy would leave it behind. */
		if (!is_refcount_suitable(m, folio)) {
			folio_unlock(folio);
			result = SCAN_PAGE_COUNT;
			goto out;
		}
		if (!folio_isolate_lru(m, folio)) {
			folio_unlock(folio);
			result = SCAN_DEL_PAGE_LRU;
			goto out;
		}
		if (folio_test_large(folio))
			list_add_tail(&folio->lru, compound);
next:
		if (cc->is_khugepaged && (pte_young(pteval) || folio_test_referenced(folio) ||
					  mmu_notifier_test_young(vma->vm_mm, address)))
			referenced++;
	}
	if (cc->is_khugepaged && !referenced) {
		result = SCAN_LACK_REFERENCED_PAGE;
		goto out;
	}
	return SCAN_SUCCEED;
out:
	release_pte_pages(vma, pte, _pte, compound);
	return result;
}

/*
 * __collapse_huge_page_copy(): the bytes (and tags) of each page into the
 * THP, zeros where nothing or the zero page was; then each old pte is
 * cleared and its folio unmapped, released and put.  Nothing can fail
 * here: mmlab's copies do not meet machine checks.
 */
static void __collapse_huge_page_copy(struct vm_area_struct *vma, uint64_t address, pte_t *pte,
				      struct folio *folio, struct list_head *compound)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;

	for (unsigned i = 0; i < HPAGE_PMD_NR; i++, address += PAGE_SIZE) {
		pte_t pteval = ptep_get(pte + i);
		struct page *dst = folio_page(folio, i), *src;
		struct folio *src_folio;

		if (pte_none(pteval) || is_zero_pfn(m, pte_pfn(pteval))) {
			memset(page_address(m, dst), 0, PAGE_SIZE);
			add_mm_counter(mm, MM_ANONPAGES, 1);
			if (!pte_none(pteval)) {
				pte_clear(pte + i);
				ksm_might_unmap_zero_page(mm, pteval);	/* a zero page KSM put there */
			}
			continue;
		}
		src = vm_normal_page(vma, address, pteval);
		src_folio = page_folio(src);
		copy_user_highpage(m, dst, src);
		pte_clear(pte + i);
		folio_remove_rmap_pte(src_folio, src, vma);
		if (!folio_test_large(src_folio))
			release_pte_folio(m, src_folio);
		folio_put(m, src_folio);	/* the pte's reference */
	}
	while (!list_empty(compound)) {
		struct folio *src_folio = list_first_entry(compound, struct folio, lru);

		list_del_init(&src_folio->lru);
		release_pte_folio(m, src_folio);
	}
}

/* pmdp_collapse_flush(): the pmd pointing to the pte table is cleared, every TLB flushed. */
pmd_t pmdp_collapse_flush(struct vm_area_struct *vma, uint64_t address, pmd_t *pmd)
{
	pmd_t old = pmdp_get_and_clear(pmd);

	flush_tlb_range(vma, address, address + HPAGE_PMD_SIZE);
	return old;
}

/*
 * alloc_charge_folio()'s gfp: khugepaged reclaims and compacts for its
 * huge page when khugepaged/defrag says (alloc_hugepage_khugepaged_gfpmask),
 * MADV_COLLAPSE always does.
 */
gfp_t collapse_gfp(struct mml_machine *m, const struct collapse_control *cc)
{
	if (cc->is_khugepaged &&
	    !test_bit(TRANSPARENT_HUGEPAGE_DEFRAG_KHUGEPAGED_FLAG, &m->thp.transparent_hugepage_flags))
		return GFP_TRANSHUGE_LIGHT;
	return GFP_TRANSHUGE;
}

/*
 * collapse_huge_page(): see the top.  Called with mmap_lock held for
 * read, returns with it released.
 */
static enum scan_result collapse_huge_page(struct mm_struct *mm, uint64_t address, int unmapped,
					   struct collapse_control *cc)
{
	struct mml_machine *m = mm->machine;
	struct mmu_notifier_range range;
	struct vm_area_struct *vma;
	enum scan_result result;
	struct folio *folio;
	spinlock_t *pmd_ptl, *pte_ptl;
	LIST_HEAD(compound);
	pmd_t *pmd, _pmd;
	pte_t *pte;

	up_read(&mm->mmap_lock);
	folio = folio_alloc(m, collapse_gfp(m, cc), HPAGE_PMD_ORDER);
	if (!folio) {
		count_vm_event(m, THP_COLLAPSE_ALLOC_FAILED);
		return SCAN_ALLOC_HUGE_PAGE_FAIL;
	}
	__folio_set_swapbacked(folio);
	count_vm_event(m, THP_COLLAPSE_ALLOC);

	down_read(&mm->mmap_lock);
	result = hugepage_vma_revalidate(mm, address, true, &vma, cc);
	if (result == SCAN_SUCCEED)
		result = find_pmd_or_thp_or_none(mm, address, &pmd);
	if (result == SCAN_SUCCEED && unmapped)
		result = __collapse_huge_page_swapin(mm, vma, address, pmd);
	up_read(&mm->mmap_lock);
	if (result != SCAN_SUCCEED)
		goto out_nolock;

	mmap_write_lock(mm);
	result = hugepage_vma_revalidate(mm, address, true, &vma, cc);
	if (result != SCAN_SUCCEED)
		goto out_up_write;
	result = find_pmd_or_thp_or_none(mm, address, &pmd);
	if (result != SCAN_SUCCEED)
		goto out_up_write;

	/* No fault under the VMA lock may fill the range being collapsed. */
	vma_start_write(vma);
	anon_vma_lock_write(vma->anon_vma);
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, address, address + HPAGE_PMD_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	pmd_ptl = pmd_lock(mm, pmd);
	_pmd = pmdp_collapse_flush(vma, address, pmd);
	spin_unlock(pmd_ptl);
	mmu_notifier_invalidate_range_end(&range);

	/* No walker can reach the table now: it is ours to read and empty. */
	pte = pte_table_of(m, _pmd);
	pte_ptl = pte_lockptr(m, _pmd);
	spin_lock(pte_ptl);
	result = __collapse_huge_page_isolate(vma, address, pte, cc, &compound);
	spin_unlock(pte_ptl);
	if (result != SCAN_SUCCEED) {
		/* The table goes back as it was. */
		spin_lock(pmd_ptl);
		set_pmd(pmd, _pmd);
		spin_unlock(pmd_ptl);
		anon_vma_unlock_write(vma->anon_vma);
		goto out_up_write;
	}
	/* Every folio is isolated and locked: no rmap walk can find these ptes. */
	anon_vma_unlock_write(vma->anon_vma);
	__collapse_huge_page_copy(vma, address, pte, folio, &compound);
	folio_mark_uptodate(folio);

	spin_lock(pmd_ptl);
	VM_BUG_ON(!pmd_none(pmdp_get(pmd)));
	folio_add_new_anon_rmap(folio, vma, address, RMAP_EXCLUSIVE);
	folio_add_lru_vma(folio, vma);
	pgtable_trans_huge_deposit(mm, pmd, virt_to_ptdesc(m, pte));
	set_pmd_at(mm, address, pmd, maybe_pmd_mkwrite(pmd_mkdirty(mk_huge_pmd(m, &folio->page, vma->vm_page_prot)), vma));
	deferred_split_folio(m, folio, false);
	spin_unlock(pmd_ptl);
	folio = NULL;
	result = SCAN_SUCCEED;
out_up_write:
	mmap_write_unlock(mm);
out_nolock:
	if (folio)
		folio_put(m, folio);
	trace_mm_collapse_huge_page(m, mm, result == SCAN_SUCCEED, result);
	return result;
}

/*
 * hpage_collapse_scan_pmd(): look at the 512 ptes under the pmd of
 * address and collapse them if Linux would (see the top).  *mmap_locked
 * becomes false when a collapse was tried (it dropped the lock).
 */
static enum scan_result hpage_collapse_scan_pmd(struct mm_struct *mm, struct vm_area_struct *vma,
						uint64_t address, bool *mmap_locked, struct collapse_control *cc)
{
	struct mml_machine *m = mm->machine;
	unsigned none_or_zero = 0, shared = 0, unmapped = 0, referenced = 0;
	enum scan_result result;
	struct folio *folio = NULL;
	bool writable = false;
	uint64_t addr = address;
	spinlock_t *ptl;
	pmd_t *pmd;
	pte_t *pte, *_pte;

	result = find_pmd_or_thp_or_none(mm, address, &pmd);
	if (result != SCAN_SUCCEED)
		goto out;
	pte = pte_offset_map_lock(mm, pmd, address, &ptl);
	if (!pte) {
		result = SCAN_PMD_NULL;
		goto out;
	}
	for (_pte = pte; _pte < pte + HPAGE_PMD_NR; _pte++, addr += PAGE_SIZE) {
		pte_t pteval = ptep_get(_pte);

		if (is_swap_pte(pteval)) {
			++unmapped;
			if (!cc->is_khugepaged || unmapped <= READ_ONCE(m->thp.khugepaged_max_ptes_swap)) {
				if (pte_swp_uffd_wp_any(pteval)) {
					result = SCAN_PTE_UFFD_WP;
					goto out_unmap;
				}
				continue;
			}
			result = SCAN_EXCEED_SWAP_PTE;
			goto out_unmap;
		}
		if (pte_none(pteval) || is_zero_pfn(m, pte_pfn(pteval))) {
			/* A registered VMA's holes must keep reporting: never filled by a collapse. */
			if (!userfaultfd_armed(vma) &&
			    (!cc->is_khugepaged || ++none_or_zero <= READ_ONCE(m->thp.khugepaged_max_ptes_none)))
				continue;
			result = SCAN_EXCEED_NONE_PTE;
			goto out_unmap;
		}
		if (pte_uffd_wp(pteval)) {
			result = SCAN_PTE_UFFD_WP;
			goto out_unmap;
		}
		if (pte_write(pteval))
			writable = true;
		folio = vm_normal_folio(vma, addr, pteval);
		if (!folio) {
			result = SCAN_PAGE_NULL;
			goto out_unmap;
		}
		if (!folio_test_anon(folio)) {
			result = SCAN_PAGE_ANON;
			goto out_unmap;
		}
		if (folio_maybe_mapped_shared(folio) && cc->is_khugepaged &&
		    ++shared > READ_ONCE(m->thp.khugepaged_max_ptes_shared)) {
			result = SCAN_EXCEED_SHARED_PTE;
			goto out_unmap;
		}
		if (folio_test_locked(folio)) {
			result = SCAN_PAGE_LOCK;
			goto out_unmap;
		}
		if (!folio_test_lru(folio)) {
			result = SCAN_PAGE_LRU;
			goto out_unmap;
		}
		if (!is_refcount_suitable(m, folio)) {
			result = SCAN_PAGE_COUNT;
			goto out_unmap;
		}
		if (cc->is_khugepaged && (pte_young(pteval) || folio_test_referenced(folio) ||
					  mmu_notifier_test_young(mm, addr)))
			referenced++;
	}
	/*
	 * A range no pte of which is writable is left to khugepaged's next
	 * pass (SCAN_PAGE_RO); MADV_COLLAPSE takes it, as Linux 6.18 does for
	 * a THP shared after fork (cow.c's collapse cases, seen on the host).
	 */
	if (!writable && cc->is_khugepaged)
		result = SCAN_PAGE_RO;
	else if (cc->is_khugepaged && (!referenced || (unmapped && referenced < HPAGE_PMD_NR / 2)))
		result = SCAN_LACK_REFERENCED_PAGE;
	else
		result = SCAN_SUCCEED;
out_unmap:
	pte_unmap_unlock(pte, ptl);
	if (result == SCAN_SUCCEED) {
		result = collapse_huge_page(mm, address, (int)unmapped, cc);
		*mmap_locked = false;
	}
out:
	/* folio: the last one looked at (freed by a collapse, perhaps: only its pfn is printed). */
	trace_mm_khugepaged_scan_pmd(m, mm, folio, writable, (int)referenced, (int)none_or_zero, result,
				     (int)unmapped);
	return result;
}

/* ---- the pass --------------------------------------------------------------------------- */

/* An mm without users any more: its slot can go (hpage_collapse_test_exit). */
bool hpage_collapse_test_exit(struct mm_struct *mm)
{
	return atomic_read(&mm->mm_users) == 0;
}

/*
 * A file VMA's range, as khugepaged and MADV_COLLAPSE look at it: the
 * page cache without mmap_lock (dropped here, the file held); for
 * MADV_COLLAPSE, a disk file's dirty pages written back and the collapse
 * tried again, once (Linux 6.18); then, if a huge folio is in the cache,
 * the range's ptes under mmap_lock again (collapse_pte_mapped_thp), the
 * pmd installed for MADV_COLLAPSE only -- khugepaged leaves it to the
 * next fault.  Returns with mmap_lock released.
 */
static enum scan_result collapse_file_range(struct mm_struct *mm, struct vm_area_struct *vma, uint64_t addr,
					    struct collapse_control *cc)
{
	struct file *file = vma->vm_file;
	unsigned long pgoff = linear_page_index(vma, addr);
	enum scan_result r;

	get_file(file);
	up_read(&mm->mmap_lock);
	r = hpage_collapse_scan_file(mm, addr, file, pgoff, cc);
	if (!cc->is_khugepaged && r == SCAN_PAGE_DIRTY_OR_WRITEBACK && mapping_can_writeback(file->f_mapping)) {
		int64_t lstart = (int64_t)pgoff << PAGE_SHIFT;

		filemap_write_and_wait_range(file->f_mapping, lstart, lstart + (int64_t)HPAGE_PMD_SIZE - 1);
		r = hpage_collapse_scan_file(mm, addr, file, pgoff, cc);
	}
	fput(file);
	if (r == SCAN_PTE_MAPPED_HUGEPAGE) {
		down_read(&mm->mmap_lock);
		if (!hpage_collapse_test_exit(mm)) {
			r = collapse_pte_mapped_thp(mm, addr, !cc->is_khugepaged);
			if (cc->is_khugepaged && r == SCAN_PMD_MAPPED)
				r = SCAN_SUCCEED;
		}
		up_read(&mm->mmap_lock);
	}
	return r;
}

/*
 * khugepaged_scan_mm_slot(): go on with the pass where it stopped, up to
 * pages ptes; the ptes looked at.  When an mm is done the cursor moves to
 * the next, and a lap of the list counts in full_scans.
 */
static unsigned long khugepaged_scan_mm_slot(struct mml_machine *m, unsigned long pages, long *collapsed)
{
	struct khugepaged_scan *s = m->khugepaged;
	struct collapse_control cc = { .is_khugepaged = true };
	struct khugepaged_mm_slot *slot, *gone = NULL;
	struct vm_area_struct *vma = NULL;
	unsigned long progress = 0;
	struct mm_struct *mm;
	bool mmap_locked = false;
	long done = 0;

	spin_lock(&s->lock);
	slot = s->mm_slot;
	if (!slot) {
		if (list_empty(&s->mm_head)) {
			/* The last mm left since the caller looked. */
			spin_unlock(&s->lock);
			return 0;
		}
		slot = list_first_entry(&s->mm_head, struct khugepaged_mm_slot, node);
		s->mm_slot = slot;
		s->address = 0;
	}
	spin_unlock(&s->lock);
	mm = slot->mm;

	/* Never wait for mmap_lock: a busy mm is left for the next pass, as Linux does. */
	if (!hpage_collapse_test_exit(mm) && mmget_not_zero(mm)) {
		mmap_locked = down_read_trylock(&mm->mmap_lock);
		if (!mmap_locked)
			goto no_lock;
		for (vma = find_vma(mm, s->address); vma; vma = vma_next(vma)) {
			uint64_t hstart, hend;

			if (!thp_vma_allowable_order(vma, vma->vm_flags, TVA_ENFORCE_SYSFS, HPAGE_PMD_ORDER)) {
				progress++;
				continue;
			}
			hstart = (vma->vm_start + HPAGE_PMD_SIZE - 1) & HPAGE_PMD_MASK;
			hend = vma->vm_end & HPAGE_PMD_MASK;
			if (hstart >= hend || s->address > hend) {
				progress++;
				continue;
			}
			if (s->address < hstart)
				s->address = hstart;
			while (s->address < hend) {
				enum scan_result r;

				if (!vma_is_anonymous(vma)) {
					r = collapse_file_range(mm, vma, s->address, &cc);
					mmap_locked = false;
				} else {
					r = hpage_collapse_scan_pmd(mm, vma, s->address, &mmap_locked, &cc);
				}
				count_scan_result(m, r);
				if (r == SCAN_SUCCEED)
					done++;
				s->address += HPAGE_PMD_SIZE;
				progress += HPAGE_PMD_NR;
				/* A collapse dropped mmap_lock: the VMA may be gone; resume next time. */
				if (!mmap_locked || progress >= pages)
					goto breakout;
			}
		}
breakout:
		if (mmap_locked)
			up_read(&mm->mmap_lock);
no_lock:
		mmput(mm);
	}

	*collapsed += done;
	spin_lock(&s->lock);
	/*
	 * The counters change under s->lock (the thread and mml_khugepaged_scan
	 * may both scan) and are read without it, by their sysfs files.
	 */
	WRITE_ONCE(m->thp.khugepaged_pages_collapsed, READ_ONCE(m->thp.khugepaged_pages_collapsed) + done);
	/*
	 * The mm is done, gone, or was busy (no VMA reached): on to the next;
	 * past the last, a full lap.  A collapse that let go of mmap_lock
	 * stopped inside a VMA: the pass resumes there.
	 */
	if (hpage_collapse_test_exit(mm) || !vma) {
		struct list_head *next = slot->node.next;

		if (hpage_collapse_test_exit(mm)) {
			list_del(&slot->node);
			gone = slot;
		}
		if (next != &s->mm_head) {
			s->mm_slot = list_entry(next, struct khugepaged_mm_slot, node);
		} else {
			s->mm_slot = NULL;
			WRITE_ONCE(m->thp.khugepaged_full_scans, READ_ONCE(m->thp.khugepaged_full_scans) + 1);
		}
		s->address = 0;
	}
	spin_unlock(&s->lock);
	if (gone) {
		clear_bit(MMF_VM_HUGEPAGE, &mm->flags);
		free_mm_slot(m, gone);
	}
	return progress;
}

/* khugepaged_do_scan(): up to pages ptes, at most twice around the list; collapses done. */
static long khugepaged_do_scan(struct mml_machine *m, unsigned long pages)
{
	struct khugepaged_scan *s = m->khugepaged;
	unsigned long progress = 0, laps = 0;
	long collapsed = 0;

	lru_add_drain_all(m);	/* a new folio in a CPU's batch holds a reference: not collapsible */
	mutex_lock(&s->scan_mutex);
	while (progress < pages) {
		bool empty;

		spin_lock(&s->lock);
		empty = list_empty(&s->mm_head);
		if (!s->mm_slot)
			laps++;
		spin_unlock(&s->lock);
		if (empty || laps > 2)
			break;
		progress += khugepaged_scan_mm_slot(m, pages - progress, &collapsed);
	}
	mutex_unlock(&s->scan_mutex);
	return collapsed;
}

long mml_khugepaged_scan(struct mml_machine *m, uint64_t pages)
{
	long n;

	if (!pages)
		return -EINVAL;
	op_enter(m, NULL);
	n = khugepaged_do_scan(m, pages > LONG_MAX ? LONG_MAX : (unsigned long)pages);
	return op_exit(m, n);
}

/* ---- the thread ----------------------------------------------------------------------- */

void wakeup_khugepaged(struct mml_machine *m)
{
	if (m->khugepaged_thread)
		set_bit_wake(KHUGEPAGED_WAKE, &m->khugepaged_flags);
}

/*
 * khugepaged(): a pass of pages_to_scan, then sleep scan_sleep_millisecs
 * (or until woken: a new mm, a knob changed), until power-off.  Each pass
 * is an operation, so that the checker sees the machine still.
 */
static void *khugepaged(void *arg)
{
	struct mml_machine *m = arg;

	trace_kthread_comm = "khugepaged";
	while (!test_bit(KHUGEPAGED_STOP, &m->khugepaged_flags)) {
		op_enter(m, NULL);
		khugepaged_do_scan(m, READ_ONCE(m->thp.khugepaged_pages_to_scan));
		op_exit(m, 0);
		bit_wait_set_timeout(KHUGEPAGED_WAKE, &m->khugepaged_flags,
				     READ_ONCE(m->thp.khugepaged_scan_sleep_millisecs));
		clear_bit(KHUGEPAGED_WAKE, &m->khugepaged_flags);
	}
	return NULL;
}

int khugepaged_init(struct mml_machine *m)
{
	struct khugepaged_scan *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	spin_lock_init(&s->lock);
	mutex_init(&s->scan_mutex);
	INIT_LIST_HEAD(&s->mm_head);
	m->khugepaged = s;
	if ((m->cfg.flags & MML_KHUGEPAGED) && machine_thread_start(m, &m->khugepaged_thread, "khugepaged", khugepaged, &m->khugepaged_flags))
		return -ENOMEM;
	return 0;
}

/* Power-off: the thread stops first; every mm is gone by the time the state is freed. */
void khugepaged_stop(struct mml_machine *m)
{
	if (!m->khugepaged_thread)
		return;
	set_bit(KHUGEPAGED_STOP, &m->khugepaged_flags);
	set_bit_wake(KHUGEPAGED_WAKE, &m->khugepaged_flags);
	machine_thread_join(m, m->khugepaged_thread);
	m->khugepaged_thread = NULL;
}

void khugepaged_destroy(struct mml_machine *m)
{
	struct khugepaged_scan *s = m->khugepaged;

	if (!s)
		return;
	while (!list_empty(&s->mm_head)) {
		struct khugepaged_mm_slot *slot = list_first_entry(&s->mm_head, struct khugepaged_mm_slot, node);

		list_del(&slot->node);
		free_mm_slot(m, slot);
	}
	spin_lock_destroy(&s->lock);
	mutex_destroy(&s->scan_mutex);
	free(s);
	m->khugepaged = NULL;
}

/* ---- MADV_COLLAPSE ---------------------------------------------------------------------- */

/* madvise_collapse_errno(): why the range did not all become THPs, as Linux tells it. */
static int madvise_collapse_errno(enum scan_result r)
{
	switch (r) {
	case SCAN_ALLOC_HUGE_PAGE_FAIL:
		return -ENOMEM;
	case SCAN_EXCEED_NONE_PTE:
		return -EBUSY;
	case SCAN_PAGE_COUNT:
	case SCAN_PAGE_LOCK:
	case SCAN_PAGE_LRU:
	case SCAN_DEL_PAGE_LRU:
	case SCAN_PAGE_FILLED:
	case SCAN_PAGE_DIRTY_OR_WRITEBACK:
		return -EAGAIN;
	default:
		return -EINVAL;
	}
}

/*
 * madvise_collapse(): collapse every PMD range of [start, end) in vma
 * now, ignoring the max_ptes_* limits and the sysfs knobs but not the
 * VMA's own flags.  mmap_lock held for read; it may be dropped and taken
 * again (*lock_dropped: the caller's VMA may be gone).  0 if every range
 * is a THP afterwards, else -errno from the last failure.
 */
int madvise_collapse(struct vm_area_struct *vma, uint64_t start, uint64_t end, bool *lock_dropped)
{
	struct mm_struct *mm = vma->vm_mm;
	struct collapse_control cc = { .is_khugepaged = false };
	uint64_t hstart = (start + HPAGE_PMD_SIZE - 1) & HPAGE_PMD_MASK, hend = end & HPAGE_PMD_MASK;
	enum scan_result last_fail = SCAN_FAIL;
	bool mmap_locked = true;
	unsigned long thps = 0;

	if (!thp_vma_allowable_order(vma, vma->vm_flags, 0, HPAGE_PMD_ORDER))
		return -EINVAL;
	if (vma_is_anonymous(vma) && anon_vma_prepare(vma))
		return -ENOMEM;
	lru_add_drain_all(mm->machine);
	for (uint64_t addr = hstart; addr < hend; addr += HPAGE_PMD_SIZE) {
		enum scan_result r;

		if (!mmap_locked) {
			down_read(&mm->mmap_lock);
			mmap_locked = true;
			r = hugepage_vma_revalidate(mm, addr, false, &vma, &cc);
			if (r != SCAN_SUCCEED) {
				last_fail = r;
				goto out;
			}
			hend = min(hend, vma->vm_end & HPAGE_PMD_MASK);
		}
		if (!vma_is_anonymous(vma)) {
			r = collapse_file_range(mm, vma, addr, &cc);
			mmap_locked = false;
		} else {
			r = hpage_collapse_scan_pmd(mm, vma, addr, &mmap_locked, &cc);
		}
		count_scan_result(mm->machine, r);
		if (!mmap_locked)
			*lock_dropped = true;
		switch (r) {
		case SCAN_SUCCEED:
		case SCAN_PMD_MAPPED:
			thps++;
			break;
		case SCAN_PMD_NULL:
		case SCAN_PTE_NON_PRESENT:
		case SCAN_PTE_UFFD_WP:
		case SCAN_PAGE_RO:
		case SCAN_LACK_REFERENCED_PAGE:
		case SCAN_PAGE_NULL:
		case SCAN_PAGE_COUNT:
		case SCAN_PAGE_LOCK:
		case SCAN_PAGE_COMPOUND:
		case SCAN_PAGE_LRU:
		case SCAN_DEL_PAGE_LRU:
			last_fail = r;
			break;
		default:
			last_fail = r;
			goto out;
		}
	}
out:
	if (!mmap_locked)
		down_read(&mm->mmap_lock);
	/* A range holding no aligned 2 MiB: nothing to do (equal), or nothing possible. */
	if (hend < hstart)
		return -EINVAL;
	return thps == (hend - hstart) / HPAGE_PMD_SIZE ? 0 : madvise_collapse_errno(last_fail);
}
