/*
 * ksm.h - Kernel Samepage Merging, what the rest of the core calls
 * (Linux's include/linux/ksm.h).  mm/ksm.c has the mechanism and its
 * locks; the knobs and counters are machine->ksm_knobs and
 * machine->ksm_counters (mm_types.h), every field (A).
 *
 * Contract for callers:
 *  - ksm_madvise() runs under mmap_lock for write, changing *vm_flags
 *    only (the caller applies them); MADV_UNMERGEABLE faults every KSM
 *    page of the range into a private copy first (-ENOMEM, -EFAULT).
 *  - ksm_fork() under both mms' mmap_lock (dup_mmap); ksm_exit() from
 *    mmput before exit_mmap, holding nothing: it takes ksm_thread_mutex.
 *  - rmap_walk_ksm() with the folio locked (rmap_walk calls it for
 *    folio_test_ksm folios).
 *  - ksm_might_need_to_copy() with the swap-cache folio locked.
 *  - ksm_might_unmap_zero_page() under the pte lock, for a pte being
 *    zapped or replaced: the KSM zero-page counters follow.
 */
#ifndef MML_MM_KSM_H
#define MML_MM_KSM_H

#include "mm/internal.h"

#ifndef MADV_MERGEABLE
#define MADV_MERGEABLE		12
#define MADV_UNMERGEABLE	13
#endif

#define KSM_RUN_STOP	0
#define KSM_RUN_MERGE	1
#define KSM_RUN_UNMERGE	2

#define KSMD_WAKE	0	/* machine->ksmd_flags: run became 1, or an mm was registered */
#define KSMD_STOP	1	/* power-off */

struct ksm_stable_node;

int ksm_init(struct mml_machine *m);
void ksm_stop(struct mml_machine *m);
void ksm_destroy(struct mml_machine *m);
void wakeup_ksmd(struct mml_machine *m);

int ksm_madvise(struct vm_area_struct *vma, uint64_t start, uint64_t end, int advice, vm_flags_t *vm_flags);
int ksm_fork(struct mm_struct *mm, struct mm_struct *oldmm);
void ksm_exit(struct mm_struct *mm);
bool vma_ksm_compatible(const struct vm_area_struct *vma);
vm_flags_t ksm_vma_flags(struct mm_struct *mm, vm_flags_t vm_flags);

struct ksm_stable_node *folio_stable_node(const struct folio *folio);
void rmap_walk_ksm(struct folio *folio, struct rmap_walk_control *rwc);
struct folio *ksm_might_need_to_copy(struct folio *folio, struct vm_area_struct *vma, uint64_t addr);
void ksm_might_unmap_zero_page(struct mm_struct *mm, pte_t pte);
/* Migration: newfolio took folio's place; both locked (migrate.c). */
void folio_migrate_ksm(struct mml_machine *m, struct folio *newfolio, struct folio *folio);

/* The knobs' stores (mm_sysfs.c). */
int ksm_run_store(struct mml_machine *m, unsigned int run);
int ksm_knob_store_quiet(struct mml_machine *m, unsigned int *knob, unsigned int value, bool need_empty);
int unmerge_and_remove_all_rmap_items(struct mml_machine *m);

/* The checker's look (oracle/check.c): findings, each reported. */
long ksm_check(struct mml_machine *m, void (*report)(void *ctx, const char *msg, unsigned long pfn), void *ctx);

/* Linux's rmap_item is 64 bytes; general_profit charges each item that much. */
#define KSM_RMAP_ITEM_SIZE	64UL

#endif /* MML_MM_KSM_H */
