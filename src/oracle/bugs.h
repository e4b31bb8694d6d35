/*
 * bugs.h - the bug zoo: named defects compiled into the library, off unless
 * switched on at run time for one machine.  Each echoes a real Linux bug or
 * a rejected design, and must be caught by at least one oracle.
 */
#ifndef MML_ORACLE_BUGS_H
#define MML_ORACLE_BUGS_H

#include <stdbool.h>

struct mml_machine;

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
	NR_MML_BUGS
};

struct mml_bug_info {
	const char *name;
	const char *breaks;	/* what goes wrong */
	const char *history;	/* the Linux history it echoes */
};

extern const struct mml_bug_info mml_bug_table[NR_MML_BUGS];

bool bug_enabled(struct mml_machine *m, enum mml_bug bug);

#endif /* MML_ORACLE_BUGS_H */
