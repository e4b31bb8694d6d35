/*
 * ksm_internal.h - what mm/ksm.c (the scan, the trees, the merge, ksmd)
 * and mm/ksm_unmerge.c (registration, unmerging, prctl, the checker's
 * look) share: Linux keeps both halves in mm/ksm.c, mmlab splits them to
 * keep files short.  Locks as ksm.c's header says.
 */
#ifndef MML_MM_KSM_INTERNAL_H
#define MML_MM_KSM_INTERNAL_H

#include "mm/ksm.h"
#include "lib/rbtree.h"

#define SEQNR_MASK	0x0ffUL	/* low bits of an unstable item's address: the lap that put it in the tree */
#define UNSTABLE_FLAG	0x100UL	/* in the unstable tree (this lap's, or a forgotten one: SEQNR_MASK says) */
#define STABLE_FLAG	0x200UL	/* on a stable node's list */

#define STABLE_NODE_CHAIN	(-1024)	/* rmap_hlist_len of a chain: its dups hold the pages */

/*
 * A KSM folio's node (Linux's ksm_stable_node).  A plain node or a
 * chain sits on the stable tree, ordered by the contents of its folio
 * (a chain's: any dup's, they are equal); a dup sits on its chain's
 * hlist.  The order depends on the bytes alone, so a migration that
 * moves kpfn leaves the node where it is.
 */
struct ksm_stable_node {
	union {
		struct rb_node node;		/* (ksm_thread_mutex) plain or chain: root_stable_tree */
		struct list_head hlist_dup;	/* (ksm_thread_mutex) a dup: its chain's hlist */
	};
	struct ksm_stable_node *chain;	/* (ksm_thread_mutex) a dup's chain; NULL otherwise */
	struct list_head hlist;		/* (L of its folio, and ksm_thread_mutex) rmap_items; a chain's dups */
	unsigned long kpfn;		/* (L of its folio: migration moves it) the KSM folio's frame; READ_ONCE */
	int rmap_hlist_len;		/* (ksm_thread_mutex) items on hlist, or STABLE_NODE_CHAIN */
};

/*
 * One scanned page of one mm (Linux's ksm_rmap_item, 64 bytes as
 * Linux's: KSM_RMAP_ITEM_SIZE).  The address's flags say which member of
 * the union is live: node while UNSTABLE_FLAG with this lap's seqnr,
 * head and hlist while STABLE_FLAG, neither otherwise (an item of a
 * forgotten unstable tree keeps stale links nobody follows).
 */
struct ksm_rmap_item {
	struct ksm_rmap_item *rmap_list;	/* (ksm_thread_mutex) the mm_slot's next, by address */
	struct anon_vma *anon_vma;		/* (ksm_thread_mutex) while STABLE_FLAG: a reference */
	struct mm_struct *mm;			/* (C) */
	unsigned long address;			/* (ksm_thread_mutex) page | flags | seqnr */
	unsigned int oldchecksum;		/* (ksm_thread_mutex) the contents last time: volatile? */
	union {
		struct rb_node node;		/* (ksm_thread_mutex) root_unstable_tree */
		struct {
			struct ksm_stable_node *head;	/* (ksm_thread_mutex) the node it maps */
			struct list_head hlist;		/* (L, and ksm_thread_mutex) on head->hlist */
		};
	};
};

_Static_assert(sizeof(struct ksm_rmap_item) == KSM_RMAP_ITEM_SIZE, "an rmap_item is Linux's 64 bytes");

/* One registered mm (Linux's ksm_mm_slot). */
struct ksm_mm_slot {
	struct list_head mm_node;		/* (ksm_mmlist_lock) */
	struct mm_struct *mm;			/* (C) holds an mm_count */
	struct ksm_rmap_item *rmap_list;	/* (ksm_thread_mutex) */
};

struct ksm_state {
	struct mutex ksm_thread_mutex;
	spinlock_t ksm_mmlist_lock;
	struct list_head mm_head;		/* (ksm_mmlist_lock) */
	/* the scan cursor (Linux's ksm_scan), (ksm_thread_mutex) */
	struct ksm_mm_slot *mm_slot;
	unsigned long address;
	struct ksm_rmap_item **rmap_list;
	unsigned long seqnr;			/* laps begun; an unstable item keeps its low bits */
	struct rb_root root_stable_tree;	/* (ksm_thread_mutex) plain nodes and chains, by contents */
	struct rb_root root_unstable_tree;	/* (ksm_thread_mutex) this lap's unstable items, by contents */
	unsigned int zero_checksum;		/* (C) */
};

static inline struct ksm_state *ksm_of(struct mml_machine *m) { return m->ksm; }
static inline bool is_stable_node_chain(const struct ksm_stable_node *n) { return n->rmap_hlist_len == STABLE_NODE_CHAIN; }

/* ksm.c */
void folio_set_stable_node(struct folio *folio, struct ksm_stable_node *node);
void remove_node_from_stable_tree(struct mml_machine *m, struct ksm_stable_node *n);
struct folio *ksm_get_folio(struct mml_machine *m, struct ksm_stable_node *n, bool lock_it);
void remove_rmap_item_from_tree(struct mml_machine *m, struct ksm_rmap_item *item);
void remove_trailing_rmap_items(struct mml_machine *m, struct ksm_rmap_item **rmap_list);

/* ksm_unmerge.c */
int break_ksm(struct vm_area_struct *vma, uint64_t addr);
void free_mm_slot(struct mml_machine *m, struct ksm_mm_slot *slot);
void advance_cursor_past(struct ksm_state *ks, struct ksm_mm_slot *slot);

#endif /* MML_MM_KSM_INTERNAL_H */
