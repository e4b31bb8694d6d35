/*
 * model_filemap.c - the reference model (model.h) of what a mapping of a
 * file sees: a shared page is the file's page, read and written in place;
 * a private one reads it until the process writes, then has its copy;
 * past the end of the file either is SIGBUS.  Also the calls on mappings
 * that only files make interesting (mmap of a descriptor, the file's
 * refusals in mprotect and madvise, msync, mincore), and pins of file
 * pages, which hold the file's page rather than the process's.
 * Nothing here includes the implementation's headers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "oracle/model_internal.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE	0x0010
#endif

/* ---- what a mapped page sees --------------------------------------------------------- */

/*
 * A page past the end of a shmem file, but within the huge page that
 * holds the file's last byte: Linux maps a shmem huge page whole, so an
 * access there succeeds while the huge page is mapped by a pmd (or by
 * ptes that a whole-folio fault made), and is SIGBUS otherwise.
 */
static bool in_huge_tail(const struct mfile *f, uint64_t pgoff)
{
	uint64_t end = size_pages(f->size);

	return f->huge_tail && pgoff >= end && pgoff < ((end + MODEL_HPAGE_PAGES - 1) & ~(MODEL_HPAGE_PAGES - 1));
}

int file_view_check(const struct model *md, const struct mpage *pg)
{
	const struct mfile *f;

	if (!page_file_view(pg))
		return 0;
	f = page_file(md, pg);
	if (pg->pgoff < size_pages(f->size) || (md->past_eof_ok && in_huge_tail(f, pg->pgoff)))
		return 0;
	return -EIO;
}

void model_set_shmem_huge(struct model *md, bool on)
{
	md->shmem_huge = on;
}

void model_allow_past_eof(struct model *md, bool on)
{
	md->past_eof_ok = on;
}

bool model_past_eof_maybe(const struct model *md, int task, uint64_t addr, uint64_t len)
{
	const struct mproc *p = task_proc(md, task);
	bool any = false;

	for (uint64_t a = addr & ~(MODEL_PAGE - 1); p && len && a < addr + len; a += MODEL_PAGE) {
		const struct mpage *pg = find_page(p, a);

		if (!pg || !page_file_view(pg) || pg->pgoff < size_pages(page_file(md, pg)->size))
			continue;
		if (!in_huge_tail(page_file(md, pg), pg->pgoff))
			return false;
		any = true;
	}
	return any;
}

const uint8_t *page_bytes(const struct model *md, const struct mpage *pg, const uint8_t **unk)
{
	const struct mfpage *fp;

	if (!page_file_view(pg)) {
		*unk = pg->unk;
		return pg->data;
	}
	fp = fpage_find(page_file(md, pg), pg->pgoff);
	*unk = fp ? fp->unk : NULL;
	return fp ? fp->data : NULL;
}

const uint8_t *page_was(const struct model *md, const struct mpage *pg)
{
	const struct mfpage *fp;

	if (!page_file_view(pg))
		return pg->was;
	fp = fpage_find(page_file(md, pg), pg->pgoff);
	return fp ? fp->was : NULL;
}

const uint8_t *page_tags(const struct model *md, const struct mpage *pg)
{
	const struct mfpage *fp;

	if (!page_file_view(pg))
		return pg->tags;
	fp = fpage_find(page_file(md, pg), pg->pgoff);
	return fp ? fp->tags : NULL;
}

static uint8_t *dup_or_null(const uint8_t *src, size_t n, bool *oom)
{
	uint8_t *d;

	if (!src)
		return NULL;
	d = malloc(n);
	if (!d)
		*oom = true;
	else
		memcpy(d, src, n);
	return d;
}

int page_cow(struct model *md, struct mpage *pg)
{
	const uint8_t *unk, *data;
	bool oom = false;

	if (!page_file_view(pg) || (pg->flags & MP_SHARED))
		return 0;
	page_touch(md, pg);	/* do_cow_fault reads the file's page in first */
	data = page_bytes(md, pg, &unk);
	pg->data = data ? dup_or_null(data, MODEL_PAGE, &oom) : calloc(1, MODEL_PAGE);
	pg->tags = dup_or_null(page_tags(md, pg), MODEL_GRANULES, &oom);
	pg->unk = dup_or_null(unk, MODEL_PAGE / 8, &oom);
	pg->was = dup_or_null(page_was(md, pg), MODEL_PAGE, &oom);
	pg->flags |= MP_COW;
	return oom || !pg->data ? -ENOMEM : 0;
}

int page_store(struct model *md, struct mpage *pg, uint64_t off, const uint8_t *buf, uint64_t n)
{
	int r;

	if (page_file_view(pg) && (pg->flags & MP_SHARED))
		return file_store(page_file(md, pg), pg->pgoff * MODEL_PAGE + off, buf, n);
	if ((r = page_cow(md, pg)) || (r = page_written(pg)))
		return r;
	memcpy(pg->data + off, buf, n);
	if (pg->alt)
		memcpy(pg->alt + off, buf, n);
	for (uint64_t b = 0; pg->unk && b < n; b++)
		bit_set(pg->unk, off + b, false);
	return 0;
}

int page_store_tag(struct model *md, struct mpage *pg, unsigned granule, unsigned tag)
{
	uint8_t **tags;

	if (page_file_view(pg) && (pg->flags & MP_SHARED)) {
		struct mfpage *fp = fpage_get(page_file(md, pg), pg->pgoff);

		if (!fp)
			return -ENOMEM;
		fp->touched = true;
		tags = &fp->tags;
	} else {
		int r = page_cow(md, pg);

		if (r)
			return r;
		tags = &pg->tags;
	}
	if (!*tags && !(*tags = calloc(1, MODEL_GRANULES)))
		return -ENOMEM;
	(*tags)[granule] = (uint8_t)tag;
	return 0;
}

bool page_adopt_unsure(struct model *md, struct mpage *pg, uint64_t off, const uint8_t *got, uint64_t n)
{
	const uint8_t *unk, *data = page_bytes(md, pg, &unk), *was = page_was(md, pg);

	for (uint64_t b = 0; b < n; b++)
		if (got[b] != (data ? data[off + b] : 0) &&
		    (!bit_test(unk, off + b) || got[b] != unk_alt(was, off + b)))
			return false;
	for (uint64_t b = 0; b < n; b++) {
		if (got[b] == (data ? data[off + b] : 0))
			continue;
		if (page_file_view(pg)) {
			file_byte_adopt(page_file(md, pg), pg->pgoff * MODEL_PAGE + off + b, got[b]);
		} else {
			pg->data[off + b] = got[b];
			bit_set(pg->unk, off + b, false);
		}
	}
	return true;
}

bool model_unsure(const struct model *md, int task, uint64_t addr, uint64_t len, const uint8_t *own, uint8_t *alt)
{
	const struct mproc *p = task_proc(md, task);
	bool any = false;

	memcpy(alt, own, len);
	/* one lookup a page, not a byte */
	for (uint64_t k = 0, n; p && k < len; k += n) {
		const struct mpage *pg = find_page(p, (addr + k) & ~(MODEL_PAGE - 1));
		uint64_t off = (addr + k) & (MODEL_PAGE - 1);
		const uint8_t *unk, *was;

		n = len - k < MODEL_PAGE - off ? len - k : MODEL_PAGE - off;
		if (!pg)
			continue;
		page_bytes(md, pg, &unk);
		was = page_was(md, pg);
		for (uint64_t b = 0; unk && b < n; b++) {
			if (bit_test(unk, off + b)) {
				alt[k + b] = unk_alt(was, off + b);
				any = true;
			}
		}
	}
	return any;
}

int model_shared_file_at(const struct model *md, int task, uint64_t addr, uint64_t *pgoff)
{
	const struct mproc *p = task_proc(md, task);
	const struct mpage *pg = p ? find_page(p, addr & ~(MODEL_PAGE - 1)) : NULL;

	if (!pg || !pg->file || !(pg->flags & MP_SHARED))
		return 0;
	*pgoff = pg->pgoff;
	return pg->file;
}

/* ---- pins of file pages ---------------------------------------------------------------- */

int pin_file_state(struct model *md, struct mpage *pg, int kind, bool write, bool longterm, int *file,
		   uint64_t *pgoff)
{
	if (!page_file_view(pg))
		return PIN_ATTACHED;
	page_touch(md, pg);
	/*
	 * A write breaks COW in a private mapping, and so does a read-only
	 * long-term pin (gup_must_unshare: a COW mapping's file page is
	 * unshared first); then the pin holds the process's own copy.
	 */
	if (!(pg->flags & MP_SHARED) && (write || (kind == MODEL_PIN && longterm))) {
		if (page_cow(md, pg))
			return PIN_UNCHECKED;
		return PIN_ATTACHED;
	}
	*file = pg->file;
	*pgoff = pg->pgoff;
	/*
	 * A read fault on a hole of a /pmem file maps the (huge) zero page
	 * (dax_load_hole), which a read-only pin then holds: a later write
	 * gives the file a block the pin never sees.  The model does not tell
	 * a hole from a block of zeros (fallocate's), so a page of zeros gets
	 * no promise; the pin still counts as the file's (a truncate may wait).
	 */
	if (!write && page_file(md, pg)->fs == MFS_PMEM) {
		const struct mfpage *fp = fpage_find(page_file(md, pg), pg->pgoff);

		if (!fp || !fp->data)
			return PIN_UNCHECKED;
	}
	return PIN_FILE;
}

int file_byte(const struct model *md, int file, uint64_t pgoff, uint64_t off)
{
	const struct mfpage *fp = fpage_find(&md->files[file - 1], pgoff);

	if (fp && bit_test(fp->unk, off))
		return -1;
	return fp && fp->data ? fp->data[off] : 0;
}

bool file_byte_ok(const struct model *md, int file, uint64_t pgoff, uint64_t off, uint8_t got)
{
	return file_byte_allowed(&md->files[file - 1], pgoff * MODEL_PAGE + off, got);
}

int file_store_page(struct model *md, int file, uint64_t pgoff, uint64_t off, const uint8_t *buf, uint64_t n)
{
	return file_store(&md->files[file - 1], pgoff * MODEL_PAGE + off, buf, n);
}

bool page_needs_dirty_tracking(const struct model *md, const struct mpage *pg)
{
	return (pg->flags & MP_SHARED) && page_file(md, pg)->fs == MFS_DISK;
}

/*
 * arm64 allows tags on anonymous memory and on shmem (VM_MTE_ALLOWED);
 * mmlab on anonymous private memory only (docs/deviations.md #5: shmem
 * pages would have to carry their tags through the page cache and swap).
 */
bool mte_allowed(const struct model *md, int file)
{
	return !file;
}

/* ---- tmpfs, as a mapping fills it ----------------------------------------------------- */

void page_touch(struct model *md, const struct mpage *pg)
{
	if (page_file_view(pg) && pg->pgoff < size_pages(page_file(md, pg)->size))
		touch_pages(page_file(md, pg), pg->pgoff, 1);
}

bool model_access_may_nospc(const struct model *md, int task, uint64_t addr, uint64_t len, bool write)
{
	const struct mproc *p = task_proc(md, task);
	uint64_t need[MFS_N] = { 0 };

	if (!p || !len)
		return false;
	for (uint64_t a = addr & ~(MODEL_PAGE - 1); a < addr + len && a < MODEL_TASK_SIZE; a += MODEL_PAGE) {
		const struct mpage *pg = find_page(p, a);
		const struct mfile *f = pg ? page_file(md, pg) : NULL;

		if (f && page_file_view(pg) && untouched_pages(f, pg->pgoff, 1))
			need[f->fs]++;
	}
	return tmpfs_may_be_full(md, MFS_TMP, need[MFS_TMP]) || tmpfs_may_be_full(md, MFS_SHM, need[MFS_SHM]);
}

/* ---- mappings of files ------------------------------------------------------------- */

long mmap_file_check(struct model *md, struct mproc *p, int prot, int flags, int fd, int64_t off,
		     unsigned *pflags, int *file)
{
	struct mfd *d;
	struct mfile *f;
	int type = flags & MAP_TYPE;

	*pflags = 0;
	*file = 0;
	if (flags & MAP_ANONYMOUS) {
		if (type != MAP_SHARED && type != MAP_PRIVATE)
			return -EINVAL;
		if (type == MAP_SHARED)
			*pflags = MP_SHARED | MP_MAYWRITE;
		/* arch_validate_flags: shared memory is a shmem file, no VM_MTE_ALLOWED here */
		return type == MAP_SHARED && (prot & MODEL_PROT_MTE) ? -EINVAL : 0;
	}
	if (!(d = fd_lookup(p, fd)))
		return -EBADF;
	f = &md->files[d->file - 1];
	*file = d->file;
	switch (type) {
	case MAP_SHARED:
		if ((prot & PROT_WRITE) && !d->writable)
			return -EACCES;
		/* do_mmap: shared but not VM_SHARED without write access, so never writable */
		*pflags = MP_SHARED | (d->writable ? MP_MAYWRITE : 0);
		/* fall through */
	case MAP_PRIVATE:
		if (!d->readable)
			return -EACCES;
		break;
	default:
		return -EINVAL;
	}
	/* shmem's seal check at mmap: a shared writable map of a sealed file, never; a read-only one stays so. */
	if ((*pflags & MP_SHARED) && (f->seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE))) {
		if (prot & PROT_WRITE)
			return -EPERM;
		*pflags &= ~MP_MAYWRITE;
	}
	if ((prot & MODEL_PROT_MTE) && !mte_allowed(md, d->file))
		return -EINVAL;	/* arch_validate_flags: no VM_MTE_ALLOWED */
	(void)off;
	return 0;
}

int mmap_file_pages(struct model *md, struct mproc *p, uint64_t start, uint64_t len, int prot, int flags,
		    int64_t off, unsigned pflags, int file)
{
	uint64_t pages = len / MODEL_PAGE;

	if (!file) {
		/* MAP_SHARED|MAP_ANONYMOUS: a shmem file of its own (shmem_zero_setup), never named */
		file = file_new(md, MFS_INTERNAL, "dev/zero", false);
		if (file < 0)
			return file;
		md->files[file - 1].size = len;
	}
	for (uint64_t k = 0; k < pages; k++) {
		struct mpage *pg = find_page(p, start + k * MODEL_PAGE);

		pg->file = file;
		pg->pgoff = (uint64_t)off / MODEL_PAGE + k;
		pg->flags |= pflags;
		/* xfs_file_mmap() and ext4_file_mmap(): a DAX mapping asks for huge pages (VM_HUGEPAGE) */
		if (md->files[file - 1].fs == MFS_PMEM)
			pg->flags |= MP_HUGEPAGE;
		page_ref_file(md, pg);
		if (!(flags & MAP_POPULATE) || !(prot & (PROT_READ | PROT_WRITE | PROT_EXEC)) || file_view_check(md, pg))
			continue;
		/* populate_vma_page_range: a private writable mapping is populated for write, so copied */
		if ((prot & PROT_WRITE) && !(pflags & MP_SHARED)) {
			if (page_cow(md, pg))
				return -ENOMEM;
		} else {
			page_touch(md, pg);
		}
	}
	return 0;
}

void model_populate_missed(struct model *md, int task, uint64_t addr)
{
	struct mproc *p = task_proc(md, task);
	struct mpage *pg = p ? find_page(p, addr) : NULL;

	if (pg && pg->file && (pg->flags & MP_COW))
		page_forget(pg);	/* the file's page shows again, as after a zap */
}

int mprotect_file_check(const struct model *md, const struct mpage *pg, int prot)
{
	if ((prot & PROT_WRITE) && (pg->flags & MP_SHARED) && !(pg->flags & MP_MAYWRITE))
		return -EACCES;
	if ((prot & MODEL_PROT_MTE) && !mte_allowed(md, pg->file))
		return -EINVAL;
	return 0;
}

int madvise_file_page(struct model *md, struct mproc *p, struct mpage *pg, int advice)
{
	switch (advice) {
	case MADV_DONTNEED:
		/* zap: a shared page stays in its file; a private copy goes, the file shows again */
		if (pg->flags & MP_COW) {
			detach_pins(md, p, pg->addr, pg->addr + MODEL_PAGE);
			page_forget(pg);
		}
		return 0;
	case MADV_FREE:
	case MADV_WIPEONFORK:
		return -EINVAL;	/* anonymous memory only */
	case MADV_REMOVE:
		/* madvise_remove: a hole punched in a shared mapping the process may write */
		if (!(pg->flags & MP_SHARED))
			return -EACCES;
		if (!(pg->flags & MP_MAYWRITE))
			return -EACCES;
		if (page_file(md, pg)->seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE))
			return -EPERM;
		file_punch(md, pg->file, pg->pgoff * MODEL_PAGE, MODEL_PAGE);
		return 0;
	case MADV_POPULATE_READ:
	case MADV_POPULATE_WRITE:
		if (!(pg->prot & (advice == MADV_POPULATE_READ ? PROT_READ : PROT_WRITE)))
			return -EINVAL;
		if (file_view_check(md, pg))
			return -EFAULT;	/* VM_FAULT_SIGBUS */
		if (advice == MADV_POPULATE_WRITE && !(pg->flags & MP_SHARED))
			return page_cow(md, pg);
		page_touch(md, pg);
		return 0;
	default:
		return 1;
	}
}

int model_msync(struct model *md, int task, uint64_t addr, uint64_t len, int flags)
{
	struct mproc *p = task_proc(md, task);
	bool hole = false;
	uint64_t end;

	if (!p)
		return -ESRCH;
	if ((flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) || (addr & (MODEL_PAGE - 1)) ||
	    ((flags & MS_ASYNC) && (flags & MS_SYNC)))
		return -EINVAL;
	len = (len + MODEL_PAGE - 1) & ~(MODEL_PAGE - 1);
	end = addr + len;
	if (end < addr)
		return -ENOMEM;
	/*
	 * Holes are skipped and reported at the end; invalidating locked
	 * memory is refused where it is met (EBUSY).  Writeback itself
	 * changes no byte.
	 */
	for (uint64_t a = addr; a < end; a += MODEL_PAGE) {
		const struct mpage *pg = find_page(p, a);

		if (!pg)
			hole = true;
		else if ((flags & MS_INVALIDATE) && (pg->flags & MP_LOCKED))
			return -EBUSY;
	}
	return hole ? -ENOMEM : 0;
}

int model_mincore(struct model *md, int task, uint64_t addr, uint64_t len)
{
	struct mproc *p = task_proc(md, task);

	if (!p)
		return -ESRCH;
	if (addr & (MODEL_PAGE - 1))
		return -EINVAL;
	if (addr > MODEL_TASK_SIZE || len > MODEL_TASK_SIZE - addr)
		return -ENOMEM;	/* access_ok */
	for (uint64_t a = addr; a < addr + len; a += MODEL_PAGE)
		if (!find_page(p, a))
			return -ENOMEM;
	return 0;
}

