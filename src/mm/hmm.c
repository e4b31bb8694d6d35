/*
 * hmm.c - hmm_range_fault(): snapshot a range of a process's page tables
 * for a device, faulting pages in as asked (Linux's mm/hmm.c); see hmm.h.
 *
 * One walk with the walker (pagewalk.c): holes, then every pte under its
 * lock.  A page that must be faulted in stops the walk; it is faulted
 * without the pte lock (handle_mm_fault may sleep) and the walk goes on
 * from there, rechecking first that no invalidation ran meanwhile.
 * Differs from Linux: faults one page at a time; no device-private, huge
 * pmd or hugetlb entries.
 */
#include "mm/hmm.h"
#include "mm/internal.h"
#include "mm/pagewalk.h"

#define HMM_NEED_FAULT		1
#define HMM_NEED_WRITE_FAULT	2

struct hmm_vma_walk {
	struct hmm_range *range;
	uint64_t last;		/* where to go on from after a fault */
	unsigned required;	/* the fault the walk stopped for */
};

static unsigned long *hmm_pfn_of(struct hmm_range *range, uint64_t addr)
{
	return &range->hmm_pfns[(addr - range->start) >> PAGE_SHIFT];
}

/* hmm_pte_need_fault(): what it takes for cpu_flags to give what the range requires. */
static unsigned hmm_pte_need_fault(const struct hmm_range *range, unsigned long cpu_flags)
{
	unsigned long req = range->default_flags;

	if (!(req & HMM_PFN_REQ_FAULT))
		return 0;
	if ((req & HMM_PFN_REQ_WRITE) && !(cpu_flags & HMM_PFN_WRITE))
		return HMM_NEED_FAULT | HMM_NEED_WRITE_FAULT;
	return (cpu_flags & HMM_PFN_VALID) ? 0 : HMM_NEED_FAULT;
}

static void hmm_pfns_fill(struct hmm_range *range, uint64_t addr, uint64_t end, unsigned long value)
{
	for (; addr < end; addr += PAGE_SIZE)
		*hmm_pfn_of(range, addr) = value;
}

/* Stop the walk here: the page at addr must be faulted in first. */
static int hmm_stop_for_fault(struct mm_walk *walk, uint64_t addr, unsigned required)
{
	struct hmm_vma_walk *hw = walk->private;

	hw->last = addr;
	hw->required = required;
	return -EBUSY;
}

static int hmm_vma_walk_hole(uint64_t addr, uint64_t end, int depth, struct mm_walk *walk)
{
	struct hmm_vma_walk *hw = walk->private;
	unsigned required = hmm_pte_need_fault(hw->range, 0);

	if (!walk->vma) {
		if (required)
			return -EFAULT;
		hmm_pfns_fill(hw->range, addr, end, HMM_PFN_ERROR);
		return 0;
	}
	if (required)
		return hmm_stop_for_fault(walk, addr, required);
	hmm_pfns_fill(hw->range, addr, end, 0);
	return 0;
}

/* hmm_vma_handle_pte(): one pte, under its lock. */
static int hmm_vma_handle_pte(pte_t *ptep, uint64_t addr, uint64_t next, struct mm_walk *walk)
{
	struct hmm_vma_walk *hw = walk->private;
	struct mml_machine *m = walk->mm->machine;
	pte_t pte = ptep_get(ptep);
	unsigned long cpu_flags = 0, pfn = 0;
	unsigned required;

	if (pte_present(pte) && !pte_protnone(pte)) {
		pfn = pte_pfn(pte);
		/* Special pages other than the zero page have nothing a device may map. */
		if (pte_special(pte) && !is_zero_pfn(m, pfn)) {
			if (hmm_pte_need_fault(hw->range, HMM_PFN_VALID))
				return -EFAULT;
			*hmm_pfn_of(hw->range, addr) = HMM_PFN_ERROR;
			return 0;
		}
		cpu_flags = HMM_PFN_VALID | (pte_write(pte) ? HMM_PFN_WRITE : 0);
	}
	/* None, swapped out, device-exclusive: valid only after a fault. */
	required = hmm_pte_need_fault(hw->range, cpu_flags);
	if (required)
		return hmm_stop_for_fault(walk, addr, required);
	*hmm_pfn_of(hw->range, addr) = cpu_flags ? pfn | cpu_flags : 0;
	return 0;
}

/* hmm_vma_walk_test(): VMAs a device cannot map are errors, or faults if it asks for pages there. */
static int hmm_vma_walk_test(uint64_t start, uint64_t end, struct mm_walk *walk)
{
	struct hmm_vma_walk *hw = walk->private;
	struct vm_area_struct *vma = walk->vma;

	if (!(vma->vm_flags & (VM_IO | VM_PFNMAP)) && (vma->vm_flags & VM_READ))
		return 0;
	if (hmm_pte_need_fault(hw->range, 0))
		return -EFAULT;
	hmm_pfns_fill(hw->range, start, end, HMM_PFN_ERROR);
	return 1;
}

/*
 * hmm_vma_handle_pmd(): a pmd leaf gives each page of [addr, next) its
 * frame with the leaf's rights, or faults (the lock dropped first) if the
 * device asks for more; the THP stays whole.
 */
static int hmm_vma_walk_pmd(pmd_t *pmd, uint64_t addr, uint64_t next, struct mm_walk *walk)
{
	struct hmm_vma_walk *hw = walk->private;
	spinlock_t *ptl = pmd_trans_huge_lock(pmd, walk->vma);
	unsigned long cpu_flags, pfn;
	unsigned required;
	pmd_t pmdval;

	if (!ptl)
		return 0;
	walk->action = ACTION_CONTINUE;
	pmdval = pmdp_get(pmd);
	cpu_flags = pmd_access_permitted(pmdval, false) ?
		    HMM_PFN_VALID | (pmd_write(pmdval) ? HMM_PFN_WRITE : 0) : 0;
	required = hmm_pte_need_fault(hw->range, cpu_flags);
	if (required) {
		spin_unlock(ptl);
		return hmm_stop_for_fault(walk, addr, required);
	}
	for (pfn = pmd_pfn(pmdval) + pte_index(addr); addr < next; addr += PAGE_SIZE, pfn++)
		*hmm_pfn_of(hw->range, addr) = cpu_flags ? pfn | cpu_flags : 0;
	spin_unlock(ptl);
	return 0;
}

static const struct mm_walk_ops hmm_walk_ops = {
	.pmd_entry = hmm_vma_walk_pmd,
	.pte_entry = hmm_vma_handle_pte,
	.pte_hole = hmm_vma_walk_hole,
	.test_walk = hmm_vma_walk_test,
};

/* hmm_vma_fault(): the fault the walk stopped for, without the pte lock. */
static int hmm_vma_fault(struct mm_struct *mm, uint64_t addr, unsigned required)
{
	struct vm_area_struct *vma = vma_lookup(mm, addr);
	unsigned flags = FAULT_FLAG_REMOTE;
	vm_fault_t ret;

	if (!vma)
		return -EFAULT;
	if (required & HMM_NEED_WRITE_FAULT) {
		if (!(vma->vm_flags & VM_WRITE))
			return -EPERM;
		flags |= FAULT_FLAG_WRITE;
	}
	ret = handle_mm_fault(vma, addr, flags);
	return (ret & VM_FAULT_ERROR) ? -EFAULT : 0;
}

int hmm_range_fault(struct hmm_range *range)
{
	struct mm_struct *mm = range->notifier->mm;
	struct hmm_vma_walk hw = { .range = range, .last = range->start };
	int ret;

	mmap_assert_locked(mm);
	do {
		/* An invalidation since read_begin makes anything found stale. */
		if (mmu_interval_read_retry(range->notifier, range->notifier_seq))
			return -EBUSY;
		ret = walk_page_range(mm, hw.last, range->end, &hmm_walk_ops, &hw);
		if (ret == -EBUSY) {
			ret = hmm_vma_fault(mm, hw.last, hw.required);
			if (ret)
				return ret;
			ret = -EBUSY;	/* walk again from the faulted page */
		}
	} while (ret == -EBUSY);
	return ret;
}
