/*
 * pmem.h - a persistent-memory device (the role of Linux's
 * drivers/nvdimm/pmem.c with devm_memremap_pages): its bytes are a host
 * file mapped shared right after RAM in the machine's address space, its
 * frames have struct pages after RAM's (ZONE_DEVICE, a dev_pagemap of
 * type MEMORY_DEVICE_FS_DAX) and never enter the buddy allocator.  The
 * DAX file system at /pmem/ (fs/daxfs.c) owns them.
 */
#ifndef MML_DRIVERS_PMEM_H
#define MML_DRIVERS_PMEM_H

#include "mm/memremap.h"

struct pmem_device {
	struct dev_pagemap pgmap;	/* (C) */
	int fd;				/* (C) the host file */
	char *tmp_path;			/* (C) a temporary host file, removed at power-off; else NULL */
};

/* Map the device (mml_config.pmem_bytes) after page_alloc_init: 0 or -errno. */
int pmem_init(struct mml_machine *m);
void pmem_exit(struct mml_machine *m);

/* The device's frame of block blk, and back. */
static inline unsigned long pmem_block_pfn(struct mml_machine *m, unsigned long blk) { return m->nr_frames + blk; }
static inline unsigned long pmem_pfn_block(struct mml_machine *m, unsigned long pfn) { return pfn - m->nr_frames; }

#endif /* MML_DRIVERS_PMEM_H */
