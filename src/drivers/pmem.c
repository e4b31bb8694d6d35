/*
 * pmem.c - the persistent-memory device: a host file of pmem_bytes mapped
 * MAP_SHARED|MAP_FIXED over the tail of the region page_alloc_init
 * reserved after RAM, so that page_address() of a device frame is its
 * byte in the file and a store through a DAX mapping is a store to the
 * file (what survives the machine, as a real NVDIMM's contents do).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "drivers/pmem.h"
#include "mm/hooks.h"

int pmem_init(struct mml_machine *m)
{
	uint64_t bytes = (uint64_t)m->nr_pmem_frames << PAGE_SHIFT;
	struct pmem_device *pmem;
	void *addr;
	int err;

	if (!m->nr_pmem_frames)
		return 0;
	pmem = calloc(1, sizeof(*pmem));
	if (!pmem)
		return -ENOMEM;
	if (m->cfg.pmem_path) {
		pmem->fd = open(m->cfg.pmem_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	} else {
		const char *tmp = getenv("TMPDIR");

		if (asprintf(&pmem->tmp_path, "%s/mmlab-pmem.XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0) {
			free(pmem);
			return -ENOMEM;
		}
		pmem->fd = mkostemp(pmem->tmp_path, O_CLOEXEC);
	}
	err = pmem->fd < 0 ? -errno : 0;
	if (!err && ftruncate(pmem->fd, (off_t)bytes))
		err = -errno;
	if (!err) {
		addr = mmap((char *)m->ram + ((uint64_t)m->nr_frames << PAGE_SHIFT), bytes, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_FIXED, pmem->fd, 0);
		if (addr == MAP_FAILED)
			err = -errno;
	}
	if (err) {
		if (pmem->fd >= 0)
			close(pmem->fd);
		if (pmem->tmp_path)
			unlink(pmem->tmp_path);
		free(pmem->tmp_path);
		free(pmem);
		return err;
	}
	/* devm_memremap_pages(): struct pages at refcount 0, the device's, never the buddy's. */
	pmem->pgmap.type = MEMORY_DEVICE_FS_DAX;
	pmem->pgmap.start_pfn = m->nr_frames;
	pmem->pgmap.end_pfn = m->nr_frames + m->nr_pmem_frames;
	m->pmem = pmem;
	m->pgmap = &pmem->pgmap;
	return 0;
}

/* Power-off: the mapping goes with RAM's region (page_alloc_exit); a temporary file goes now. */
void pmem_exit(struct mml_machine *m)
{
	struct pmem_device *pmem = m->pmem;

	if (!pmem)
		return;
	close(pmem->fd);
	if (pmem->tmp_path)
		unlink(pmem->tmp_path);
	free(pmem->tmp_path);
	free(pmem);
	m->pmem = NULL;
	m->pgmap = NULL;
}
