/*
 * memremap.h - ZONE_DEVICE memory (Linux's include/linux/memremap.h,
 * reduced to what mmlab's one device type needs): a dev_pagemap describes
 * a range of device frames that have struct pages but belong to a driver,
 * not to the buddy allocator.
 */
#ifndef MML_MM_MEMREMAP_H
#define MML_MM_MEMREMAP_H

#include "mm/mm.h"

/* Linux's enum memory_type; mmlab's devices are all persistent memory used by fs-DAX. */
enum memory_type {
	MEMORY_DEVICE_FS_DAX = 2,
};

struct dev_pagemap {
	enum memory_type type;		/* (C) */
	unsigned long start_pfn;	/* (C) the range: pfns [start_pfn, end_pfn) */
	unsigned long end_pfn;		/* (C) */
};

/* page_pgmap(): the device's pagemap of a ZONE_DEVICE page. */
struct dev_pagemap *page_pgmap(struct mml_machine *m, const struct page *page);
/* free_zone_device_folio(): the last reference to a device folio went (__folio_put). */
void free_zone_device_folio(struct mml_machine *m, struct folio *folio);

/*
 * The device's frame of its block blk, and back (what Linux's file
 * systems ask dax_direct_access for): the frames follow RAM's.
 */
static inline unsigned long pmem_block_pfn(struct mml_machine *m, unsigned long blk) { return m->nr_frames + blk; }
static inline unsigned long pmem_pfn_block(struct mml_machine *m, unsigned long pfn) { return pfn - m->nr_frames; }

#endif /* MML_MM_MEMREMAP_H */
