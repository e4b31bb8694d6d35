/*
 * model_dax.c - the reference model (model.h) of what is particular to
 * the fs-DAX files in /pmem: FICLONE, and which calls would wait for a
 * pin.  Their bytes, sizes and holes are model_file.c's, as for /disk;
 * a long-term pin of them is refused in model_gup (model_device.c).
 *
 * A /pmem file is its device blocks: a truncate, a hole punch, a
 * FICLONE of it, a write or zeroing that must unshare a reflinked block
 * and the eviction of the inode break its layout first, and that waits
 * until no pin or GUP reference holds any of its blocks.  The model
 * answers for the fuzzer, which has one thread and so must never make
 * such a call while it holds a pin there (the waits are for threads:
 * tests/scenarios/dax-truncate-pinned.scn).
 * Nothing here includes the implementation's headers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "oracle/model_internal.h"

/* Does any live pin or reference hold a page of file (1 + index)? */
static bool file_pinned(const struct model *md, int file)
{
	const struct mpin *pn;

	for_each_live_pin(md, i, pn) {

		for (uint64_t k = 0; pn->alive && pn->pfile && k < pn->npages; k++)
			if (pn->pfile[k] == file && pn->state[k] != PIN_DETACHED)
				return true;
	}
	return false;
}

static bool pmem_file(const struct model *md, int file)
{
	return file && md->files[file - 1].fs == MFS_PMEM;
}

bool model_fd_dax_busy(const struct model *md, int task, int fd)
{
	const struct mfd *d = fd_lookup(task_proc(md, task), fd);

	return d && pmem_file(md, d->file) && file_pinned(md, d->file);
}

bool model_path_dax_busy(const struct model *md, const char *path)
{
	int file = model_path_file(md, path);

	return pmem_file(md, file) && file_pinned(md, file);
}

/*
 * Would MADV_REMOVE (a hole punch) wait in [addr, addr + len), or would a
 * pin there hold a block of a /pmem file with no name, whose eviction
 * (the last descriptor or mapping gone) would then wait for it?  Or of a
 * reflinked file, whose write may trade a pinned shared block for a
 * private copy: the pin would keep a block the model cannot follow
 * (it knows bytes, not blocks).
 */
bool model_range_dax_busy(const struct model *md, int task, uint64_t addr, uint64_t len, bool pin)
{
	const struct mproc *p = task_proc(md, task);

	for (size_t i = p ? lower_bound(p, addr & ~(MODEL_PAGE - 1)) : 0; p && i < p->n && p->pages[i].addr < addr + len;
	     i++) {
		const struct mpage *pg = &p->pages[i];

		if (!pmem_file(md, pg->file))
			continue;
		if (pin ? !md->files[pg->file - 1].linked || md->files[pg->file - 1].reflinked :
			  file_pinned(md, pg->file))
			return true;
	}
	return false;
}

/*
 * ioctl(FICLONE) as mml_ficlone: dst's pages [0, src's last page] become
 * copies of src's (holes too), dst at least src's size.  Bytes past
 * src's end in its last page come along as they are in the block: only
 * maybe, since a truncate or a write may have zeroed them there.
 */
int model_ficlone(struct model *md, int task, int dst_fd, int src_fd)
{
	const struct mproc *p = task_proc(md, task);
	const struct mfd *dd, *sd;
	struct mfile *src, *dst;
	uint64_t n;

	if (!p)
		return -ESRCH;
	dd = fd_lookup(p, dst_fd);
	sd = fd_lookup(p, src_fd);
	if (!dd || !sd)
		return -EBADF;
	src = &md->files[sd->file - 1];
	dst = &md->files[dd->file - 1];
	if (src->fs != dst->fs)
		return -EXDEV;
	if (!sd->readable || !dd->writable)
		return -EBADF;
	if (src->fs != MFS_PMEM)
		return -EOPNOTSUPP;
	if (src == dst)
		return src->size ? -EINVAL : 0;
	n = size_pages(src->size);
	for (uint64_t idx = 0; idx < n; idx++) {
		const struct mfpage *sp = fpage_find(src, idx);
		struct mfpage *dp;

		if (!sp) {
			fpage_remove(md, dd->file, idx, idx + 1);
			continue;
		}
		dp = fpage_get(dst, idx);
		if (!dp)
			return -ENOMEM;
		free(dp->data);
		free(dp->unk);
		dp->data = dp->unk = NULL;
		dp->touched = true;
		if (sp->data && !(dp->data = malloc(MODEL_PAGE)))
			return -ENOMEM;
		if (sp->data)
			memcpy(dp->data, sp->data, MODEL_PAGE);
		if (sp->unk || (idx == n - 1 && src->size % MODEL_PAGE)) {
			if (!(dp->unk = calloc(1, MODEL_PAGE / 8)))
				return -ENOMEM;
			if (sp->unk)
				memcpy(dp->unk, sp->unk, MODEL_PAGE / 8);
			for (uint64_t b = idx == n - 1 ? src->size % MODEL_PAGE : MODEL_PAGE; b && b < MODEL_PAGE; b++)
				bit_set(dp->unk, b, dp->data && dp->data[b]);
		}
	}
	if (dst->size < src->size)
		dst->size = src->size;
	src->reflinked = dst->reflinked = true;
	return 0;
}

void model_ficlone_failed(struct model *md, int task, int dst_fd, int src_fd)
{
	const struct mproc *p = task_proc(md, task);
	const struct mfd *dd = p ? fd_lookup(p, dst_fd) : NULL, *sd = p ? fd_lookup(p, src_fd) : NULL;

	if (dd && sd)
		md->files[dd->file - 1].reflinked = md->files[sd->file - 1].reflinked = true;
}

bool model_fd_pmem(const struct model *md, int task, int fd)
{
	const struct mfd *d = fd_lookup(task_proc(md, task), fd);

	return d && pmem_file(md, d->file);
}
