/*
 * dax.h - direct access to a file's device memory (Linux's
 * include/linux/dax.h and fs/dax.c), for the DAX file system.
 *
 * A DAX file has no page cache: its mapping's i_pages hold DAX entries,
 * value entries naming the device frame (pfn) of a file page or of a
 * PMD-sized run, with flag bits: DAX_LOCKED (a fault or truncate works
 * on it; others wait), DAX_PMD (it covers HPAGE_PMD_NR pages from its
 * PMD-aligned index; mmlab's xarray has no multi-index entries, so a PMD
 * entry sits at that index alone and lookups look there first),
 * DAX_ZERO_PAGE (a hole mapped read-only to the (huge) zero page) and
 * DAX_EMPTY (a locked placeholder while a fault finds out what goes
 * there).  Entries are changed under the mapping's xa_lock; waiters for a
 * locked entry sleep on the mapping (wait_var_event).
 *
 * The device frames are folios after the "properly refcount fs dax pages"
 * series (Linux 6.15): free at refcount 0; dax_associate_entry sets
 * mapping and index (and makes a PMD entry's 512 frames one order-9
 * folio) when a block is first mapped; each pte or pmd mapping holds a
 * reference, as GUP does; dax_disassociate_entry undoes it when the
 * entry is deleted, which the file system only does once
 * dax_break_layout has seen every folio of the range idle (refcount 0).
 */
#ifndef MML_FS_DAX_H
#define MML_FS_DAX_H

#include "mm/pagemap.h"

/* What the file system says lies at a file range (Linux's struct iomap, reduced). */
enum { IOMAP_HOLE, IOMAP_MAPPED, IOMAP_MIXED };
struct dax_iomap {
	int type;		/* IOMAP_HOLE, IOMAP_MAPPED, or IOMAP_MIXED (a PMD range that is neither) */
	unsigned long pfn;	/* IOMAP_MAPPED: the device frame of the first page */
	bool new;		/* just allocated (zeroed): IOMAP_F_NEW */
	bool shared;		/* the block is reflinked (IOMAP_F_SHARED): other files hold it too */
	bool cow;		/* a write got a private copy of a shared block: the file's entry for the
				   old one goes (dax_fault_is_cow) */
};

struct dax_iomap_ops {
	/*
	 * iomap_begin for a fault: the 1 << order file pages from index
	 * (aligned), allocating zeroed blocks for a write (order 9: one
	 * aligned contiguous run, or IOMAP_MIXED).  A write of a shared
	 * block gets a private copy first (cow; order 0 only: a PMD range
	 * with a shared block is IOMAP_MIXED).  0 or -ENOSPC, -ENOMEM.
	 */
	int (*begin)(struct inode *inode, unsigned long index, unsigned int order, bool write, struct dax_iomap *map);
};

/* dax_iomap_fault(): a fault of order 0 or HPAGE_PMD_ORDER on a DAX VMA. */
vm_fault_t dax_iomap_fault(struct vm_fault *vmf, unsigned int order, const struct dax_iomap_ops *ops);

/*
 * dax_break_layout(): unmap [start, end] (pages) of inode from every
 * process and wait until no folio there is referenced (DMA through a
 * pin, a GUP reference).  The caller holds i_rwsem and the mapping's
 * invalidate_lock for write; the latter is dropped around each wait (XFS's
 * xfs_wait_dax_page).  Returns with the range unmapped and idle, the
 * locks keeping it so.
 */
void dax_break_layout(struct inode *inode, unsigned long start, unsigned long end);
/* dax_delete_mapping_range(): the entries of [start, end] go (after dax_break_layout). */
void dax_delete_mapping_range(struct address_space *mapping, unsigned long start, unsigned long end);
/*
 * A write() filled holes [start, end] that a fault may have mapped to the
 * zero page: those entries go and their ptes with them (Linux's
 * invalidate_inode_pages2_range in dax_iomap_iter).
 */
void dax_invalidate_holes(struct address_space *mapping, unsigned long start, unsigned long end);

/* The device frame a DAX entry maps a block at (its PMD run's first), or 0 for a hole's. */
unsigned long dax_entry_block_pfn(const void *e);

#endif /* MML_FS_DAX_H */
