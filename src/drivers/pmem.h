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

/* pmem_init and pmem_exit, which the machine calls, are declared in mm/hooks.h. */

#endif /* MML_DRIVERS_PMEM_H */
