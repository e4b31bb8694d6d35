/*
 * mte.h - the machine-dependent layer: memory tags, as arm64's MTE (the
 * same hooks serve SPARC ADI in Linux).  Tag storage beside every frame,
 * and beside every swap slot whose page went out tagged.
 *
 * Contract (what the core above may rely on):
 *  - Each frame owns MTE_PAGE_TAG_STORAGE bytes of tag storage: a 4-bit
 *    tag per 16-byte granule, two to a byte, the lower granule in the low
 *    nibble (the layout of arm64's mte_save_page_tags).  The storage is a
 *    carve-out of the machine, as hardware reserves 1/32 of its RAM for
 *    tags; it is not struct page metadata.
 *  - A page's tags mean something only while PG_mte_tagged is set.  The
 *    flag is set once, under PG_mte_lock, by whoever first gives the page
 *    its tags (zeros, a copy, or the tags saved with its swap slot), and
 *    cleared when the frame is freed.  The zero page is tagged (all zero)
 *    from power-on.
 *  - A present pte with the tagged attribute (pte_tagged) maps only a
 *    tagged page: set_pte_at() calls mte_sync_tags() first, as arm64's
 *    does.  mml_check verifies it.
 *  - Tags are read and written by the CPU (fault.c) through a translation
 *    it holds under its TLB lock, like the page's bytes; copies of a
 *    whole page's tags race like page copies and use page_data_copy().
 *  - Swap: arch_unmap_one() saves a tagged page's tags in a record of
 *    its swap slot (arm64's mte_pages xarray, keyed by swap entry) before
 *    a swap pte names the slot; it may fail (-ENOMEM, injectable as
 *    MML_FAIL_TAG) and then has changed nothing.  arch_swap_restore()
 *    gives a page read back the saved tags, on every way back
 *    (do_swap_page, unuse_pte).  arch_swap_invalidate_page() frees the
 *    record when the slot is freed; arch_swap_invalidate_area() every
 *    record of a device that goes.  The records are the machine's own
 *    (struct mte_state), one table per swap device, sized at swapon by
 *    arch_swap_init_area() (arm64 needs no such hook: its xarray grows).
 *    The core tells the layer a page's slot (page_swap_entry), never the
 *    other way round.
 *
 * Locks: mte_state.swap_lock guards the tables and the records' bytes,
 * a leaf taken under the pte lock, the folio lock or si->lock; PG_mte_lock
 * is a leaf bit lock, taken under the pte lock or the folio lock.
 */
#ifndef MML_ARCH_MTE_H
#define MML_ARCH_MTE_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/pgtable.h"

#define MTE_GRANULE_SIZE	16
#define MTE_TAG_MAX		15
#define MTE_PAGE_TAG_STORAGE	(PAGE_SIZE / MTE_GRANULE_SIZE / 2)	/* 128 bytes */

struct mml_machine;
struct mm_struct;
struct vm_area_struct;
struct page;
struct folio;

/* The tags saved with the slots of one swap device, by offset. */
struct mte_swap_area {
	unsigned long nr;		/* (C) slots */
	uint8_t *rec[];			/* (swap_lock) MTE_PAGE_TAG_STORAGE bytes, or NULL */
};

/* The machine's tag storage: one per machine, in struct mml_machine. */
struct mte_state {
	uint8_t *tags;			/* (C) MTE_PAGE_TAG_STORAGE bytes per frame */
	spinlock_t swap_lock;
	struct mte_swap_area *swap[1 << __SWP_TYPE_BITS];	/* (swap_lock) by swap type */
};

/* Power-on: tag storage for every frame; the zero page's tags are zero. */
int mte_init(struct mml_machine *m, struct page *zero_page);
void mte_exit(struct mml_machine *m);

bool page_mte_tagged(const struct page *page);
/* The tag of the granule at byte off of frame pfn; the page is tagged and held mapped. */
unsigned mte_get_tag(struct mml_machine *m, unsigned long pfn, unsigned off);
void mte_set_tag(struct mml_machine *m, unsigned long pfn, unsigned off, unsigned tag);

/* mte_sync_tags(): a page about to be mapped by a tagged pte gets zero tags the first time. */
void mte_sync_tags(struct mml_machine *m, pte_t pte);
/* The tag half of arm64's copy_highpage(): a copy of a tagged page is tagged alike. */
void mte_copy_page_tags(struct mml_machine *m, struct page *to, struct page *from);

/* A swap device of nr slots comes (swapon): room for its records; 0 or -ENOMEM. */
int arch_swap_init_area(struct mml_machine *m, unsigned type, unsigned long nr);
/* arch_unmap_one(): save a tagged page's tags with its swap slot; 0 or -ENOMEM. */
int arch_unmap_one(struct mm_struct *mm, struct vm_area_struct *vma, uint64_t addr, pte_t orig);
/* arch_swap_restore(): a folio back from swap gets the tags saved with its slot. */
void arch_swap_restore(struct mml_machine *m, swp_entry_t entry, struct folio *folio);
/* arch_swap_invalidate_page(): the slot is free, so is its record. */
void arch_swap_invalidate_page(struct mml_machine *m, unsigned type, unsigned long off);
/* arch_swap_invalidate_area(): the device goes, with every record left. */
void arch_swap_invalidate_area(struct mml_machine *m, unsigned type);
/* For the checker: does the slot hold a record? */
bool mte_swap_has_record(struct mml_machine *m, unsigned type, unsigned long off);

#endif /* MML_ARCH_MTE_H */
