/*
 * view.h - pictures of the machine's state as Graphviz graphs: the page
 * tables of a range, the reverse map and the state of a folio, the whole
 * machine (mml_show_pagetable, _rmap, _folio, _machine).  No Linux
 * counterpart: Linux shows these only as text (/proc, debugfs, dump_page).
 *
 * Contract for every view:
 *  - It reads the core as Linux's readers of the same state do, inside
 *    op_enter()/op_exit(): mmap_lock for read, page tables through the one
 *    walker (the pte lock held by it), the folio lock for an rmap walk,
 *    the anon_vma lock for its tree.  It changes nothing.
 *  - It decodes entries with the accessors of arch/pgtable.h and
 *    mm/swapops.h alone: `make check-layers` fails on an entry bit named
 *    in src/view, as in src/mm.
 *  - Its output is a function of the state: node names come from frame
 *    numbers, addresses, pids and the order of the walks, never from host
 *    pointers, so the same scenario gives byte-identical DOT.
 *  - It is bounded: at most VIEW_MAX_ENTRIES entries or objects of a kind
 *    are drawn, and a note node says how many were left out.
 *
 * The DOT text goes to a memory stream (struct view), then out as it is or
 * through Graphviz's library (render.c).  Labels are Graphviz HTML-like
 * labels; text that comes from outside (file names) goes through
 * view_esc().
 */
#ifndef MML_VIEW_VIEW_H
#define MML_VIEW_VIEW_H

#include <stdbool.h>
#include <stdio.h>

#include "mmlab.h"
#include "mm/internal.h"

#define VIEW_MAX_ENTRIES	256	/* entries, VMAs, processes of one picture */

struct view {
	struct mml_machine *m;
	FILE *f;		/* the DOT text (open_memstream) */
	char *buf;
	size_t len;
	/* objects drawn once (frames, VMAs, anon_vmas): kind and key, in the order first met */
	struct view_seen { unsigned kind; uint64_t key; } *seen;
	unsigned nseen, seen_cap;
	bool nomem;		/* a note could not be kept: the view fails with -ENOMEM */
};

/* Open the graph; -EINVAL for a format that is none of MML_PICTURE_*, -ENOMEM. */
int view_begin(struct view *v, struct mml_machine *m, enum mml_picture_format fmt, const char *title);
/*
 * Close the graph and write it to out in fmt, unless err (a -errno the
 * view met) says otherwise; frees what view_begin made.  Returns err, or
 * 0, -ENOMEM, or -EIO when Graphviz cannot lay the graph out.
 */
int view_end(struct view *v, int err, enum mml_picture_format fmt, FILE *out);
/* What a key of view_key() names. */
enum view_kind { VK_PAGE, VK_SLOT, VK_PFN_ENTRY, VK_FIXED, VK_TABLE, VK_VMA, VK_ANON_VMA, VK_MM };
/*
 * The number of the object of this kind and key, counting from 1 in the
 * order first asked, and whether it is new (*fresh): node names of
 * objects with no frame of their own (VMAs, anon_vmas).  0 when out of
 * host memory.
 */
unsigned view_key(struct view *v, enum view_kind kind, uint64_t key, bool *fresh);
/* HTML-escaped text: & < > " and bytes outside printable ASCII. */
void view_esc(FILE *f, const char *s);
/* A plain note node: what was left out, and why. */
void view_note(struct view *v, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The bits of an entry as the dumps name them ("present write dirty ..."). */
void view_pte_bits(pte_t pte, char *buf, size_t n);
void view_pmd_bits(pmd_t pmd, char *buf, size_t n);

/*
 * The node an entry points to (a frame, the zero page, a swap slot, a
 * migration or device-exclusive entry, a marker), drawn once; its name
 * in name.  vma and addr as the entry's.
 */
void view_pte_target(struct view *v, struct vm_area_struct *vma, uint64_t addr, pte_t pte,
		     char *name, size_t n);
void view_pmd_target(struct view *v, pmd_t pmd, char *name, size_t n);

/*
 * What maps addr in vma (view_at): the entry, where it sits, and the
 * folio behind it with a reference: a present page's (the zero pages'
 * too), the frame a migration or device-exclusive entry names, or the
 * swap cache's folio of a swap slot.  mmap_lock held.
 */
struct view_at {
	struct vm_area_struct *vma;
	uint64_t addr;
	bool found, pmd_leaf;	/* an entry that is not none; a pmd leaf rather than a pte */
	pte_t pte;		/* the pte, or with pmd_leaf ... */
	pmd_t pmd;		/* ... the pmd */
	unsigned long table;	/* the frame of the table holding it */
	unsigned idx;		/* its index there */
	struct page *page;	/* the page of the folio that addr falls in, or NULL */
	struct folio *folio;	/* its folio, with a reference; NULL if none */
};
/* 0, or -EFAULT when no VMA holds addr; then view_at_done() drops the reference. */
int view_at(struct mm_struct *mm, uint64_t addr, struct view_at *at);
void view_at_done(struct mml_machine *m, struct view_at *at);
/*
 * The entry of at as a node "entry" pointing to the folio's node
 * folio_node (NULL: none drawn) or to the slot, migration entry or
 * marker it holds, and from there to the folio.
 */
void view_at_entry(struct view *v, struct view_at *at, const char *folio_node);
/* The folio of at as a node "folio": its whole state (full), or a summary. */
void view_folio_node(struct view *v, struct view_at *at, bool full);

/* "0x7f0000001000-0x7f0000003000 rw-p /disk/f": a VMA as maps names it. */
void view_vma_label(struct view *v, struct vm_area_struct *vma);

#endif /* MML_VIEW_VIEW_H */
