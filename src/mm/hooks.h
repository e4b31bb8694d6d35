/*
 * hooks.h - the decision points the core offers its oracles.
 *
 * The core asks three questions and src/oracle answers them, as Linux's
 * include/linux/fault-inject.h declares should_fail() for mm and lib/
 * implements it.  The arrow points one way: src/mm includes this header,
 * never a header of src/oracle (`make check-layers` keeps it so).
 *
 *  - should_fail(m, site): fail this attempt at a resource boundary?
 *    The MML_FAIL_* sites of mmlab.h; the seeded schedule (a rate, or
 *    SQLite's countdown-then-repeat) lives in oracle/inject.c.
 *  - bug_enabled(m, bug): is this bug-zoo defect switched on for the
 *    machine?  Asked on the exact line where Linux once got it wrong; the
 *    names, what each breaks and its Linux history are oracle/bugs.c.
 *  - mml_check_locked(m): the invariant checker (oracle/check.c), run by
 *    op_exit() after every operation in check mode and at power-off, with
 *    machine->quiesce held for write.  0, or -EUCLEAN after reporting.
 */
#ifndef MML_MM_HOOKS_H
#define MML_MM_HOOKS_H

#include <stdbool.h>
#include <stdint.h>

#include "mmlab.h"
#include "sync/sync.h"

struct mml_machine;

/* ---- fault injection ----------------------------------------------------------- */

/* The injection schedule of one machine; its fields are oracle/inject.c's. */
struct mml_fail_state {
	spinlock_t lock;
	struct mml_fail cfg;	/* sites == 0: off */
	long countdown;		/* attempts left before the first failure */
	long repeat_left;	/* failures left after it; -1 forever */
	uint64_t rng;
	long injected;
	long attempts[MML_FAIL_NR_SITES];	/* at each site since mml_fail_set */
	struct mml_fail_at at[MML_FAIL_AT_MAX];	/* cfg.at's copy */
	struct mml_fail_at events[MML_FAIL_EVENTS];	/* failure i at i % MML_FAIL_EVENTS */
};

void fail_state_init(struct mml_fail_state *fs);
void fail_state_destroy(struct mml_fail_state *fs);
/* Should this attempt at a site fail?  Cheap when injection is off. */
bool should_fail(struct mml_machine *m, unsigned site);

/* ---- the bug zoo ------------------------------------------------------------------ */

/* Each echoes a real Linux bug or a rejected design; oracle/bugs.c says which. */
enum mml_bug {
	BUG_COW_REUSE_SHARED,	/* do_wp_page reuses a shared anon page */
	BUG_FREE_BEFORE_FLUSH,	/* zap frees frames before the TLB flush */
	BUG_FORK_NO_WRPROTECT,	/* fork leaves the parent's PTE writable */
	BUG_FORK_KEEP_EXCLUSIVE,/* fork keeps PG_anon_exclusive on a shared page */
	BUG_FORK_SHARE_PINNED,	/* fork shares a pinned page instead of copying it */
	BUG_COW_REUSE_MAPCOUNT,	/* do_wp_page reuses by mapcount, ignoring other references */
	BUG_PIN_NO_UNSHARE,	/* a R/O pin takes a shared anon page without unsharing it */
	BUG_GUP_FAST_NO_UNSHARE,/* GUP-fast pins a shared anon page R/O instead of falling back */
	BUG_FORK_SWAP_KEEP_EXCLUSIVE,/* fork keeps the exclusive bit of a swap pte */
	BUG_LAZYFREE_DISCARD_DIRTY,/* reclaim drops a MADV_FREE page written since */
	BUG_RECLAIM_UNMAPS_PINNED,/* reclaim unmaps and swaps out a pinned anon page */
	BUG_FORK_NO_SWAP_DUP,	/* fork copies a swap entry without swap_duplicate */
	BUG_LAZYFREE_SHARED,	/* MADV_FREE marks a clean page other processes map (Linux 6.18) */
	BUG_SWAPOFF_NO_TAG_RESTORE,/* unuse_pte maps a page back without its saved tags */
	BUG_NO_SWAP_FREE_ON_ARCH_UNMAP_FAILURE,/* try_to_unmap_one leaks the slot arch_unmap_one failed on */
	BUG_WP_COPY_NO_NOTIFY,	/* wp_page_copy replaces the pte without telling secondary MMUs */
	BUG_NOTIFY_ASYNC,	/* the device's invalidation returns before it has stopped using the pages */
	BUG_FORK_NO_NOTIFY,	/* fork write-protects the parent without telling secondary MMUs */
	BUG_NOTIFY_END_BEFORE_FLUSH,/* wp_page_copy ends the invalidation before the pte changes and the flush */
	BUG_OOM_REAPER_IGNORES_EAGAIN,/* the OOM reaper unmaps a range a notifier refused */
	BUG_WRITEBACK_NO_MKCLEAN,/* writeback cleans a folio without write-protecting its ptes */
	BUG_TRUNCATE_KEEPS_COWS,/* truncate leaves private copies of pages beyond the new end mapped */
	BUG_SHMEM_SWAPIN_DROPS_ENTRY,/* shmem swap-in drops the swap entry before the folio is in */
	BUG_FORK_COWS_SHARED,	/* fork gives the child a private (COW) copy of a MAP_SHARED mapping */
	BUG_THP_SPLIT_LOSES_EXCLUSIVE,/* split_huge_pmd leaves the subpages without PG_anon_exclusive */
	BUG_THP_WP_REUSE_ENTIRE,/* do_huge_pmd_wp_page reuses a THP whose pages other mms map by ptes */
	BUG_THP_COLLAPSE_IGNORES_PIN,/* collapse copies a pinned page away: the pin keeps a page no pte maps */
	BUG_THP_FORK_SHARE_PINNED,/* copy_huge_pmd shares a THP that may be pinned instead of splitting */
	BUG_MIGRATE_DROPS_EXCLUSIVE,/* remove_migration_ptes maps the new folio without PG_anon_exclusive */
	BUG_MIGRATE_NO_TAG_COPY,/* migration maps the new folio without the old one's tags */
	BUG_MIGRATE_LAZYFREE_CLEAN,/* migration leaves a lazily freed folio written since clean */
	BUG_FORK_MIGRATION_WRITABLE,/* fork copies a writable migration entry writable into the child */
	BUG_MREMAP_DROPS_SWAP_TAGS,/* mremap's move_ptes drops the tag record of a swap entry it moves */
	BUG_FORK_DROPS_GUARD,	/* copy_pte_marker as before 6.13: the child gets no guard markers */
	BUG_DONTNEED_DROPS_GUARD,/* zap clears guard markers without ZAP_FLAG_DROP_MARKER (MADV_DONTNEED) */
	BUG_SWAP_DROPS_UFFD_WP,	/* try_to_unmap_one makes no uffd-wp swap entry of a uffd-wp pte (before 5.7) */
	BUG_FORK_KEEPS_UFFD_WP_MARKER,/* fork without EVENT_FORK copies uffd-wp markers into the child (before 6.2) */
	BUG_MUNLOCK_STRANDS,	/* munlock clears PG_mlocked but leaves the folio on the unevictable list */
	BUG_FORK_KEEPS_MLOCK,	/* fork copies VM_LOCKED into the child's VMAs */
	BUG_MLOCK_COUNTS_LOCKED_TWICE,/* mlock counts pages locked already against RLIMIT_MEMLOCK again */
	BUG_MMAP_ERROR_KEEPS_CHARGE,/* mmap_region's error paths leave the commit charged */
	BUG_CLEAR_REFS_NO_FLUSH,/* clear_refs 4 write-protects without flushing the TLBs */
	BUG_SWAP_DROPS_SOFT_DIRTY,/* try_to_unmap_one makes a swap pte without the soft-dirty bit */
	BUG_COLLAPSE_ROLLBACK_CLEAN,/* collapse_file's rollback gives the small folios back clean */
	BUG_RETRACT_IGNORES_UFFD_WP,/* retract_page_tables takes a uffd-wp VMA's table, markers and all */
	BUG_KSM_MERGE_PINNED,	/* write_protect_page without the refcount and exclusive checks: a pinned page merges */
	BUG_KSM_MERGE_NO_NOTIFY,/* write_protect_page and replace_page without mmu notifier ranges */
	BUG_KSM_COW_REUSE,	/* do_wp_page reuses a KSM page in place */
	BUG_KSM_UNMERGE_LOSES_DATA,/* the unshare fault of a KSM page maps a zeroed page, not a copy */
	BUG_RETRACT_NO_ANON_VMA_RECHECK,/* retract_page_tables does not check vma->anon_vma again under the locks */
	BUG_RETRACT_PTL_NOT_NESTED,/* retract_page_tables takes the pmd lock but not the pte lock */
	BUG_SWAPIN_NO_SWAPCACHE_RECHECK,/* do_swap_page maps the folio it looked up without rechecking its swap entry */
	BUG_FORK_NO_WRITE_PROTECT_SEQ,/* copy_page_range without write_protect_seq: GUP-fast pins what fork shares */
	BUG_WP_COPY_NO_PTE_SAME,/* wp_page_copy installs its copy without rechecking the pte it copied from */
	BUG_TABLE_FREE_NO_RCU,	/* tlb_remove_table frees page tables at once, not after a grace period */
	BUG_RETRACT_NO_PTE_FREE_DEFER,/* retract_page_tables frees the table at once, not through pte_free_defer */
	BUG_DAX_LONGTERM_PIN,	/* check_vma_flags lets FOLL_LONGTERM pin fs-DAX pages */
	BUG_DAX_SHARED_ANON,	/* PAGE_MAPPING_DAX_SHARED aliases PAGE_MAPPING_ANON: a reflinked DAX folio looks anon */
	BUG_DAX_INSERT_FAIL_FREE,/* a failed DAX insert runs the block's free path: it was never mapped */
	BUG_DAX_BUSY_REFCOUNT_ONE,/* dax_busy_page takes refcount 1 for idle: a lone DMA pin is not waited for */
	BUG_DAX_TRUNCATE_NO_WAIT,/* dax_break_layout unmaps but does not wait for DMA before blocks are freed */
	BUG_TLB_FLUSH_NO_WAIT,	/* flush_tlb_mm_range returns without waiting for remote CPUs' accesses */
	BUG_FORK_NO_VMA_LOCK,	/* dup_mmap does not write-lock the parent's VMAs: faults under VMA locks go on */
	NR_MML_BUGS
};
#define MML_BUG_WORDS	((NR_MML_BUGS + 63) / 64)	/* machine->bugs, a bit a defect */

bool bug_enabled(struct mml_machine *m, enum mml_bug bug);

/* ---- devices the machine is built with (src/drivers) ----------------------------- */

/* The pmem device of mml_config.pmem_bytes (drivers/pmem.c): 0 or -errno; pmem_exit at power-off. */
int pmem_init(struct mml_machine *m);
void pmem_exit(struct mml_machine *m);

/* ---- the invariant checker ------------------------------------------------------ */

int mml_check_locked(struct mml_machine *m);

#endif /* MML_MM_HOOKS_H */
