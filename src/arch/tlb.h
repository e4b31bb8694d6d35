/*
 * tlb.h - the machine-dependent layer: each CPU's software TLB, the hardware
 * page-table walker, and TLB shootdown.
 *
 * Contract:
 *  - A TLB caches translations of one mm (a CPU here runs one thread for its
 *    whole life, so there is no context switch and no ASID).
 *  - The owning CPU fills an entry, and uses it on the slow path, with
 *    tlb->lock held, performing the memory access before dropping it.  Its
 *    hit path (cpu_access_hit) takes no lock: it looks up and copies inside
 *    tlb->access, a section of its own (sync.h).  A flush takes the remote
 *    TLB's lock to drop entries, then for a remote CPU makes the drop
 *    visible (membarrier_heavy) and waits its section out, so when
 *    flush_tlb_*() returns no CPU is using, or can again use, a
 *    translation in the flushed range: the IPI real hardware waits for.
 *    Not for a CPU whose TLB held nothing it dropped, nor when the host
 *    thread flushing ran the CPU's last hit (cpu_section_foreign).
 *  - Frames and page tables may be freed only after the flush that removes
 *    every translation to them (see mm/mmu_gather.c).
 *  - An entry remembers the frame's allocation generation; a hit on a frame
 *    that was freed or reallocated since is reported as a stale-TLB bug.
 */
#ifndef MML_ARCH_TLB_H
#define MML_ARCH_TLB_H

#include <stdbool.h>
#include <stdint.h>

#include "sync/sync.h"

#define TLB_ENTRIES	64		/* direct-mapped by virtual page number */
#define TLB_INVALID_VPN	(~0ULL)

struct tlb_entry {
	uint64_t vpn;		/* (T) virtual page number, TLB_INVALID_VPN if empty */
	uint64_t pte;		/* (T) the leaf entry as walked (pfn, RW, D) */
	uint32_t gen;		/* (T) the frame's alloc_gen when filled */
};

/* Frames whose translation a TLB may hold, by pfn modulo this: the debug check at a free looks inside only then. */
#define TLB_PFN_FILTER_BITS	256

struct tlb {
	spinlock_t lock;
	struct cpu_section access;		/* the owner between a lockless lookup and its copy */
	struct tlb_entry e[TLB_ENTRIES];	/* vpn: READ_ONCE on the lockless hit path */
	unsigned long hits, fills, flushes;	/* (T), but hits: the owner's alone */
	/* (T) to write, READ_ONCE to test: a bit set for every pfn an entry holds (and maybe more) */
	uint64_t pfn_filter[TLB_PFN_FILTER_BITS / 64];
};

/* An entry for pfn is about to be filled: tlb->lock held. */
static inline void tlb_filter_add(struct tlb *tlb, unsigned long pfn)
{
	uint64_t *w = &tlb->pfn_filter[(pfn % TLB_PFN_FILTER_BITS) / 64];

	WRITE_ONCE(*w, *w | 1ULL << (pfn % 64));
}

struct mml_task;
struct mm_struct;
struct vm_area_struct;

void tlb_init(struct tlb *tlb);
void tlb_destroy(struct tlb *tlb);

/* Does any TLB of the machine hold a translation to pfn?  (debug: O(tasks), a TLB looked inside if its filter says) */
struct mml_machine;
bool tlb_any_maps_pfn(struct mml_machine *m, unsigned long pfn, struct mml_task **who, uint64_t *vaddr);

/*
 * Shootdown, as Linux's flush_tlb_*: every CPU running the mm drops its
 * translations in the range.  Counted as local or remote in vmstat.
 */
void flush_tlb_mm_range(struct mm_struct *mm, uint64_t start, uint64_t end);
void flush_tlb_mm(struct mm_struct *mm);
void flush_tlb_range(struct vm_area_struct *vma, uint64_t start, uint64_t end);
void flush_tlb_page(struct vm_area_struct *vma, uint64_t addr);

/*
 * The CPU's access to user memory: translate through the TLB, walk the page
 * tables on a miss (setting accessed and dirty bits like hardware), fault
 * on a missing or forbidden translation, and copy.  All or nothing: returns
 * 0, -EFAULT (nothing accessed) or -ENOMEM.
 */
int cpu_access(struct mml_task *t, uint64_t addr, void *buf, uint64_t len, bool write);
/*
 * The hit path of the same, outside any operation (no machine->quiesce):
 * true if every page of the access hit in the TLB with the right and the
 * access is done; false (nothing accessed) sends the caller to the slow
 * path, which also reports a stale entry.
 */
bool cpu_access_hit(struct mml_task *t, uint64_t addr, void *buf, uint64_t len, bool write);
/* The same for the tag of one 16-byte granule (arch/mte.h): 0, -EFAULT, -EINVAL or -ENOMEM. */
int cpu_access_tag(struct mml_task *t, uint64_t addr, unsigned *tag, bool write);

#endif /* MML_ARCH_TLB_H */
