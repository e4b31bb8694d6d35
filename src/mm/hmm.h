/*
 * hmm.h - heterogeneous memory management: a device driver's look at a
 * process's page tables (Linux's include/linux/hmm.h).
 *
 * hmm_range_fault() fills range->hmm_pfns with what the CPU maps at each
 * page of [start, end), faulting pages in first where range->default_flags
 * asks (HMM_PFN_REQ_FAULT: present; HMM_PFN_REQ_WRITE: writable, COW
 * broken).  The caller holds mmap_lock for read and took
 * range->notifier_seq with mmu_interval_read_begin(); -EBUSY means an
 * invalidation ran meanwhile and the caller must start over.  The result
 * is only good until the caller, under its own lock, finds
 * mmu_interval_read_retry() false and installs it.
 */
#ifndef MML_MM_HMM_H
#define MML_MM_HMM_H

#include "mm/mmu_notifier.h"

/* Output flags in the high bits of each entry; the pfn below them. */
#define HMM_PFN_VALID		(1UL << 63)	/* the CPU maps a page here */
#define HMM_PFN_WRITE		(1UL << 62)	/* ... writable */
#define HMM_PFN_ERROR		(1UL << 61)	/* nothing a device may map (a special page) */
#define HMM_PFN_FLAGS		(HMM_PFN_VALID | HMM_PFN_WRITE | HMM_PFN_ERROR)
/* Input flags, same bits: what must be true, faulting if it is not. */
#define HMM_PFN_REQ_FAULT	HMM_PFN_VALID
#define HMM_PFN_REQ_WRITE	HMM_PFN_WRITE

static inline unsigned long hmm_pfn_to_pfn(unsigned long hmm_pfn) { return hmm_pfn & ~HMM_PFN_FLAGS; }

struct hmm_range {
	struct mmu_interval_notifier *notifier;
	unsigned long notifier_seq;
	uint64_t start, end;
	unsigned long *hmm_pfns;	/* (end - start) / PAGE_SIZE entries */
	unsigned long default_flags;	/* HMM_PFN_REQ_* for every page */
};

int hmm_range_fault(struct hmm_range *range);

#endif /* MML_MM_HMM_H */
