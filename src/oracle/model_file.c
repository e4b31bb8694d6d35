/*
 * model_file.c - the reference model (model.h) of files: their bytes and
 * sizes, the names in /tmp, /dev/shm and /disk, each process's
 * descriptors, and what a mapping of a file sees.
 *
 * A file is a sorted array of pages of bytes and a size; nothing here
 * knows a page cache, a swap entry or a dirty bit, since none of them may
 * change a byte a process reads.  A mapped page names its file and index
 * (struct mpage.file, pgoff): a shared one reads and writes the file's
 * page, a private one reads it until its first write, which copies it.
 * Nothing here includes the implementation's headers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "oracle/model_internal.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE	0x0010
#endif
#define SEALS_KNOWN	(F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)
#define MAX_FILE_BYTES	((uint64_t)LLONG_MAX)	/* MAX_LFS_FILESIZE: larger is EFBIG */

static const char *const mount_point[MFS_N] = {
	[MFS_TMP] = "/tmp/", [MFS_SHM] = "/dev/shm/", [MFS_DISK] = "/disk/", [MFS_INTERNAL] = NULL,
	[MFS_PMEM] = "/pmem/",
};

/*
 * Bytes at or past the end of a disk file may be zeroed by writeback: they
 * are only "maybe"; so are a /pmem file's (a store through a mapping
 * stays in the block, a truncate or a write's zeroing clears them).  So are a shmem file's written through a huge page
 * reaching past its end: a split of that page (reclaim) drops them.
 */
static inline bool tail_is_unsure(const struct mfile *f, uint64_t pos)
{
	return (!fs_is_shmem(f->fs) || f->huge_tail) && pos >= f->size;
}

/* ---- a file's pages --------------------------------------------------------------- */

static size_t fpage_lower(const struct mfile *f, uint64_t idx)
{
	size_t lo = 0, hi = f->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (f->pages[mid].idx < idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct mfpage *fpage_find(const struct mfile *f, uint64_t idx)
{
	size_t i = fpage_lower(f, idx);

	return i < f->n && f->pages[i].idx == idx ? &f->pages[i] : NULL;
}

/* The page at idx, made (a hole: zeros) if the file has none there; NULL: out of memory. */
struct mfpage *fpage_get(struct mfile *f, uint64_t idx)
{
	size_t i = fpage_lower(f, idx);

	if (i < f->n && f->pages[i].idx == idx)
		return &f->pages[i];
	if (f->n == f->cap) {
		size_t ncap = f->cap ? f->cap * 2 : 8;
		struct mfpage *n = realloc(f->pages, ncap * sizeof(*n));

		if (!n)
			return NULL;
		f->pages = n;
		f->cap = ncap;
	}
	memmove(&f->pages[i + 1], &f->pages[i], (f->n - i) * sizeof(*f->pages));
	f->pages[i] = (struct mfpage){ .idx = idx };
	f->n++;
	return &f->pages[i];
}

static void fpage_free(struct mfpage *fp)
{
	free(fp->data);
	free(fp->tags);
	free(fp->unk);
	free(fp->was);
	fp->data = fp->tags = fp->unk = fp->was = NULL;
}

/*
 * Can the page at pgoff, cut off with the pages [from, to), be one of a
 * large folio that reaches across an edge of the cut?  Linux's
 * truncate_inode_partial_folio zeroes the part of such a folio inside
 * the cut before it tries to split it; a pin or reference makes the
 * split fail, and shmem's folio, dirty, then stays in the cache whole:
 * the page held reads zeros, and whatever the file is given there later
 * (the cache still has it past the end).  A folio is naturally aligned
 * and at most PMD-sized, so only the pages in the PMD-sized block of an
 * unaligned edge can be in one (to == UINT64_MAX: no edge there).
 */
static bool may_stay_in_large_folio(const struct mfile *f, uint64_t pgoff, uint64_t from, uint64_t to)
{
	if (!f->huge_tail)
		return false;
	if (from % MODEL_HPAGE_PAGES && pgoff / MODEL_HPAGE_PAGES == from / MODEL_HPAGE_PAGES)
		return true;
	return to != UINT64_MAX && to % MODEL_HPAGE_PAGES && pgoff / MODEL_HPAGE_PAGES == to / MODEL_HPAGE_PAGES;
}

/*
 * PIN_FILE pins of file's pages in [from, to) now hold a page the file no
 * longer has (still in it: call before the pages go).  Nothing writes
 * that page from now on but a device: a reference keeps the bytes it
 * has now, which is what it shows; a pin's are no longer checked.  Nor
 * is a reference's page that may have stayed, zeroed, in a large folio
 * the cut could not split (may_stay_in_large_folio): which folio held it
 * is the library's business.
 */
static void detach_file_pins(struct model *md, int file, uint64_t from, uint64_t to)
{
	const struct mfile *f = &md->files[file - 1];

	struct mpin *pn;

	for_each_live_pin(md, i, pn) {

		for (uint64_t k = 0; pn->alive && pn->pfile && k < pn->npages; k++) {
			const struct mfpage *fp;

			if (pn->state[k] != PIN_FILE || pn->pfile[k] != file || pn->ppgoff[k] < from ||
			    pn->ppgoff[k] >= to)
				continue;
			pn->state[k] = PIN_DETACHED;
			if (!pn->snap)
				continue;
			fp = fpage_find(f, pn->ppgoff[k]);
			if ((fp && fp->unk) || may_stay_in_large_folio(f, pn->ppgoff[k], from, to))
				pn->state[k] = PIN_UNCHECKED;
			else if (fp && fp->data)
				memcpy(pn->snap + k * MODEL_PAGE, fp->data, MODEL_PAGE);
			else
				memset(pn->snap + k * MODEL_PAGE, 0, MODEL_PAGE);
		}
	}
}

/* The pages [from, to) leave the file (truncate, punch): holes again. */
void fpage_remove(struct model *md, int file, uint64_t from, uint64_t to)
{
	struct mfile *f = &md->files[file - 1];
	size_t i = fpage_lower(f, from), j = i;

	if (from >= to)
		return;
	detach_file_pins(md, file, from, to);
	for (; j < f->n && f->pages[j].idx < to; j++)
		fpage_free(&f->pages[j]);
	if (j == i)
		return;
	memmove(&f->pages[i], &f->pages[j], (f->n - j) * sizeof(*f->pages));
	f->n -= j - i;
}

/* Zero bytes [from, to) of page idx (within one page), if the file has that page. */
static void fpage_zero(struct mfile *f, uint64_t idx, uint64_t from, uint64_t to)
{
	struct mfpage *fp = fpage_find(f, idx);

	if (!fp)
		return;
	if (fp->data)
		memset(fp->data + from, 0, to - from);
	for (uint64_t b = from; fp->unk && b < to; b++)
		bit_set(fp->unk, b, false);
}

/*
 * n bytes at byte pos of the file, from pwrite, a shared mapping or a
 * pin.  A disk file's bytes past its end stay only maybe (writeback of
 * the last page writes up to the size, and may zero the rest).
 */
int file_store(struct mfile *f, uint64_t pos, const uint8_t *buf, uint64_t n)
{
	while (n) {
		uint64_t off = pos % MODEL_PAGE, k = MODEL_PAGE - off;
		struct mfpage *fp = fpage_get(f, pos / MODEL_PAGE);

		if (k > n)
			k = n;
		if (!fp || (!fp->data && !(fp->data = calloc(1, MODEL_PAGE))))
			return -ENOMEM;
		memcpy(fp->data + off, buf, k);
		fp->touched = true;
		for (uint64_t b = 0; b < k; b++) {
			bool unsure = tail_is_unsure(f, pos + b) && buf[b];

			if (unsure && !fp->unk && !(fp->unk = calloc(1, MODEL_PAGE / 8)))
				return -ENOMEM;
			if (fp->unk)
				bit_set(fp->unk, off + b, unsure);
			if (unsure && fp->was)
				fp->was[off + b] = 0;
		}
		pos += k;
		buf += k;
		n -= k;
	}
	return 0;
}

/* n bytes at pos: the file's, zero in holes. */
static void file_load(const struct mfile *f, uint64_t pos, uint8_t *out, uint64_t n)
{
	while (n) {
		uint64_t off = pos % MODEL_PAGE, k = MODEL_PAGE - off;
		const struct mfpage *fp = fpage_find(f, pos / MODEL_PAGE);

		if (k > n)
			k = n;
		if (fp && fp->data)
			memcpy(out, fp->data + off, k);
		else
			memset(out, 0, k);
		pos += k;
		out += k;
		n -= k;
	}
}

/* Is got allowed for the file's byte at pos (its byte, or zero where it may have been zeroed)? */
bool file_byte_allowed(const struct mfile *f, uint64_t pos, uint8_t got)
{
	const struct mfpage *fp = fpage_find(f, pos / MODEL_PAGE);
	uint8_t want = fp && fp->data ? fp->data[pos % MODEL_PAGE] : 0;

	return got == want || (fp && bit_test(fp->unk, pos % MODEL_PAGE) && got == unk_alt(fp->was, pos % MODEL_PAGE));
}

/* The implementation showed the other byte where it could: it is that byte from now on. */
void file_byte_adopt(struct mfile *f, uint64_t pos, uint8_t got)
{
	struct mfpage *fp = fpage_find(f, pos / MODEL_PAGE);
	uint64_t b = pos % MODEL_PAGE;

	if (fp && fp->data && bit_test(fp->unk, b) && got == unk_alt(fp->was, b) && got != fp->data[b]) {
		fp->data[b] = got;
		bit_set(fp->unk, b, false);
	}
}

/* ---- inodes: names, lifetime ------------------------------------------------------ */

int file_new(struct model *md, int fs, const char *name, bool linked)
{
	struct mfile *n = realloc(md->files, (size_t)(md->nfiles + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	md->files = n;
	n = &md->files[md->nfiles];
	memset(n, 0, sizeof(*n));
	n->fs = fs;
	n->name = strdup(name);
	n->linked = linked;
	/* Only memfd_create(MFD_ALLOW_SEALING) takes seals: every other shmem inode starts sealed. */
	n->seals = F_SEAL_SEAL;
	n->noreserve = fs_is_shmem(fs);	/* tmpfs and memfd charge page by page; see commit_mmap_pages */
	n->huge_tail = md->shmem_huge && fs_is_shmem(fs);
	if (!n->name)
		return -ENOMEM;
	return ++md->nfiles;
}

/* The last name, descriptor or mapping went: the inode and its pages go (iput, evict). */
static void file_maybe_evict(struct model *md, int file)
{
	struct mfile *f = &md->files[file - 1];

	if (f->evicted || f->linked || f->nfd || f->nmapped)
		return;
	f->evicted = true;
	detach_file_pins(md, file, 0, UINT64_MAX);
	for (size_t i = 0; i < f->n; i++)
		fpage_free(&f->pages[i]);
	free(f->pages);
	f->pages = NULL;
	f->n = f->cap = 0;
}

/* "/tmp/NAME" and the like: the mount and the name, or -ENOENT (-ENAMETOOLONG). */
static int path_parse(const char *path, int *fs, const char **name)
{
	for (int i = 0; i < MFS_N; i++) {
		size_t n = mount_point[i] ? strlen(mount_point[i]) : 0;

		if (!n || strncmp(path, mount_point[i], n))
			continue;
		*fs = i;
		*name = path + n;
		if (!**name || strchr(*name, '/'))
			return -ENOENT;	/* flat directories: no subdirectory exists */
		return strlen(*name) > 255 ? -ENAMETOOLONG : 0;
	}
	return -ENOENT;
}

static int file_lookup(const struct model *md, int fs, const char *name)
{
	for (int i = 0; i < md->nfiles; i++)
		if (md->files[i].linked && md->files[i].fs == fs && !strcmp(md->files[i].name, name))
			return i + 1;
	return 0;
}

void page_ref_file(struct model *md, const struct mpage *pg)
{
	if (pg->file)
		md->files[pg->file - 1].nmapped++;
}

void page_unref_file(struct model *md, const struct mpage *pg)
{
	if (pg->file) {
		md->files[pg->file - 1].nmapped--;
		file_maybe_evict(md, pg->file);
	}
}

/* ---- descriptors ------------------------------------------------------------------- */

/* The lowest free number, as Linux's alloc_fd: the number, -EMFILE or -ENOMEM. */
static int fd_alloc(struct mproc *p)
{
	int fd;

	for (fd = 0; fd < p->nfds && p->fds[fd].file; fd++)
		;
	if (fd >= MODEL_FD_MAX)
		return -EMFILE;
	if (fd == p->nfds) {
		struct mfd *n = realloc(p->fds, (size_t)(fd + 1) * sizeof(*n));

		if (!n)
			return -ENOMEM;
		p->fds = n;
		p->nfds = fd + 1;
		memset(&p->fds[fd], 0, sizeof(*p->fds));
	}
	return fd;
}

static void fd_install(struct model *md, struct mproc *p, int fd, int file, bool r, bool w, bool cloexec)
{
	p->fds[fd] = (struct mfd){ .file = file, .readable = r, .writable = w, .cloexec = cloexec };
	md->files[file - 1].nfd++;
}

static void fd_release(struct model *md, struct mproc *p, int fd)
{
	int file = p->fds[fd].file;

	p->fds[fd].file = 0;
	md->files[file - 1].nfd--;
	file_maybe_evict(md, file);
}

int fds_copy(struct model *md, struct mproc *child, const struct mproc *parent)
{
	if (!parent->nfds)
		return 0;
	child->fds = malloc((size_t)parent->nfds * sizeof(*child->fds));
	if (!child->fds)
		return -ENOMEM;
	memcpy(child->fds, parent->fds, (size_t)parent->nfds * sizeof(*child->fds));
	child->nfds = parent->nfds;
	for (int i = 0; i < child->nfds; i++)
		if (child->fds[i].file)
			md->files[child->fds[i].file - 1].nfd++;
	return 0;
}

void fds_close_all(struct model *md, struct mproc *p)
{
	for (int i = 0; i < p->nfds; i++)
		if (p->fds[i].file)
			fd_release(md, p, i);
	free(p->fds);
	p->fds = NULL;
	p->nfds = 0;
}

bool model_fd_open(const struct model *md, int task, int fd)
{
	return fd_lookup(task_proc(md, task), fd) != NULL;
}

int64_t model_fd_size(const struct model *md, int task, int fd)
{
	const struct mfd *d = fd_lookup(task_proc(md, task), fd);

	return d ? (int64_t)md->files[d->file - 1].size : -1;
}

bool model_fd_tmpfs(const struct model *md, int task, int fd)
{
	const struct mfd *d = fd_lookup(task_proc(md, task), fd);

	return d && (md->files[d->file - 1].fs == MFS_TMP || md->files[d->file - 1].fs == MFS_SHM);
}

int model_nr_files(const struct model *md)
{
	int n = 0;

	for (int i = 0; i < md->nfiles; i++)
		n += !md->files[i].evicted;
	return n;
}

/* ---- tmpfs's size limit ------------------------------------------------------------ */

void model_set_tmpfs_limit(struct model *md, uint64_t pages)
{
	md->tmpfs_pages = pages;
}

/* Pages the mount's live files may have allocated: every page anything touched. */
static uint64_t tmpfs_used_max(const struct model *md, int fs)
{
	uint64_t n = 0;

	for (int i = 0; i < md->nfiles; i++) {
		const struct mfile *f = &md->files[i];

		if (f->fs != fs || f->evicted)
			continue;
		for (size_t k = 0; k < f->n; k++)
			n += f->pages[k].touched;
	}
	return n;
}

/* Could allocating need more pages in fs fail because the mount is full? */
bool tmpfs_may_be_full(const struct model *md, int fs, uint64_t need)
{
	if (!need || !md->tmpfs_pages || (fs != MFS_TMP && fs != MFS_SHM))
		return false;
	return tmpfs_used_max(md, fs) + need > md->tmpfs_pages;
}

/* Pages of [idx, idx + n) the file has not touched yet. */
uint64_t untouched_pages(const struct mfile *f, uint64_t idx, uint64_t n)
{
	uint64_t need = 0;

	for (uint64_t k = 0; k < n; k++) {
		const struct mfpage *fp = fpage_find(f, idx + k);

		need += !fp || !fp->touched;
	}
	return need;
}

void touch_pages(struct mfile *f, uint64_t idx, uint64_t n)
{
	for (uint64_t k = 0; k < n; k++) {
		struct mfpage *fp = fpage_get(f, idx + k);

		if (fp)
			fp->touched = true;
	}
}

/* ---- truncate and hole punch ------------------------------------------------------------- */

/*
 * Every process's private copies of file's pages in [from, to) go, and
 * those pages read the file again (unmap_mapping_range with even_cows, as
 * truncate does; a hole punch leaves them).
 */
static void drop_cows(struct model *md, int file, uint64_t from, uint64_t to)
{
	for (int i = 0; i < md->nprocs; i++) {
		struct mproc *p = &md->procs[i];

		for (size_t k = 0; p->alive && k < p->n; k++) {
			struct mpage *pg = &p->pages[k];

			if (pg->file != file || !(pg->flags & MP_COW) || pg->pgoff < from || pg->pgoff >= to)
				continue;
			detach_pins(md, p, pg->addr, pg->addr + MODEL_PAGE);
			page_forget(pg);
		}
	}
}

/*
 * The size becomes size.  What it cuts off goes, and the rest of the last
 * page is zeroed (shmem: even when the size does not change, as
 * shmem_setattr truncates then; a disk file's tail past its end is only
 * maybe anyway).  Growing shows what is there: zeros, or what a shared
 * mapping wrote past the old end -- tmpfs keeps it, a disk file zeroes
 * it (pagecache_isize_extended: not file data; Linux 6.18 does so).
 */
static void file_truncate(struct model *md, int file, uint64_t size)
{
	struct mfile *f = &md->files[file - 1];
	uint64_t keep = size_pages(size);

	if (size < f->size || (size == f->size && fs_is_shmem(f->fs))) {
		drop_cows(md, file, keep, UINT64_MAX);
		fpage_remove(md, file, keep, UINT64_MAX);
		if (size % MODEL_PAGE)
			fpage_zero(f, size / MODEL_PAGE, size % MODEL_PAGE, MODEL_PAGE);
	} else if (size > f->size && !fs_is_shmem(f->fs) && f->size % MODEL_PAGE) {
		fpage_zero(f, f->size / MODEL_PAGE, f->size % MODEL_PAGE, MODEL_PAGE);
	}
	f->size = size;
}

/*
 * FALLOC_FL_PUNCH_HOLE: whole pages leave the file (mappings of them read
 * zeros, pins keep what they hold), partial ones are zeroed in part.
 * Private copies stay: unmap_mapping_range without even_cows.  A disk
 * file's bytes past the end are left as they are (ext4 punches nothing
 * past the end, and they are only maybe anyway).
 */
void file_punch(struct model *md, int file, uint64_t off, uint64_t len)
{
	struct mfile *f = &md->files[file - 1];
	uint64_t end = off + len, hp, tp, first, last;

	if (!fs_is_shmem(f->fs) && end > f->size)
		end = off < f->size ? f->size : off;
	if (end <= off)
		return;
	hp = off / MODEL_PAGE;
	tp = (end - 1) / MODEL_PAGE;
	first = off % MODEL_PAGE ? hp + 1 : hp;
	last = end % MODEL_PAGE ? tp : tp + 1;
	if (hp == tp && first >= last) {
		/* within one page, not all of it */
		fpage_zero(f, hp, off % MODEL_PAGE, (end - 1) % MODEL_PAGE + 1);
		return;
	}
	if (off % MODEL_PAGE)
		fpage_zero(f, hp, off % MODEL_PAGE, MODEL_PAGE);
	if (end % MODEL_PAGE)
		fpage_zero(f, tp, 0, end % MODEL_PAGE);
	fpage_remove(md, file, first, last);
}

/* ---- the calls ------------------------------------------------------------------------ */

int model_open(struct model *md, int task, const char *path, int flags, unsigned mode)
{
	struct mproc *p = task_proc(md, task);
	int fs, fd, file, acc = flags & O_ACCMODE, r;
	const char *name;

	if (!p)
		return -ESRCH;
	fd = fd_alloc(p);
	if (fd < 0)
		return fd;
	if ((r = path_parse(path, &fs, &name)))
		return r;
	file = file_lookup(md, fs, name);
	if (file && (flags & O_CREAT) && (flags & O_EXCL))
		return -EEXIST;
	if (!file) {
		if (!(flags & O_CREAT))
			return -ENOENT;
		file = file_new(md, fs, name, true);
		if (file < 0)
			return file;
	} else if (flags & O_TRUNC) {
		/* do_open's handle_truncate, whatever the access mode (may_open asked MAY_WRITE) */
		struct mfile *f = &md->files[file - 1];

		if ((f->seals & F_SEAL_SHRINK) && f->size)
			return -EPERM;
		file_truncate(md, file, 0);
	}
	fd_install(md, p, fd, file, acc != O_WRONLY, acc != O_RDONLY, flags & O_CLOEXEC);
	return fd;
}

int model_memfd(struct model *md, int task, const char *name, unsigned flags)
{
	struct mproc *p = task_proc(md, task);
	char full[300];
	int fd, file;

	if (!p)
		return -ESRCH;
	if (flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING))
		return -EINVAL;	/* MFD_HUGETLB: no hugetlbfs (deviation 6) */
	if (strlen(name) > 249)
		return -EINVAL;
	fd = fd_alloc(p);
	if (fd < 0)
		return fd;
	snprintf(full, sizeof(full), "memfd:%s", name);
	file = file_new(md, MFS_INTERNAL, full, false);
	if (file < 0)
		return file;
	if (flags & MFD_ALLOW_SEALING)
		md->files[file - 1].seals = 0;
	fd_install(md, p, fd, file, true, true, flags & MFD_CLOEXEC);
	return fd;
}

int model_close(struct model *md, int task, int fd)
{
	struct mproc *p = task_proc(md, task);

	if (!p)
		return -ESRCH;
	if (!fd_lookup(p, fd))
		return -EBADF;
	fd_release(md, p, fd);
	return 0;
}

int model_dup(struct model *md, int task, int fd)
{
	struct mproc *p = task_proc(md, task);
	struct mfd d;
	int nfd;

	if (!p)
		return -ESRCH;
	if (!fd_lookup(p, fd))
		return -EBADF;
	d = p->fds[fd];
	nfd = fd_alloc(p);	/* may move p->fds */
	if (nfd < 0)
		return nfd;
	fd_install(md, p, nfd, d.file, d.readable, d.writable, false);
	return nfd;
}

int model_unlink(struct model *md, int task, const char *path)
{
	int fs, file, r;
	const char *name;

	if (!task_proc(md, task))
		return -ESRCH;
	if ((r = path_parse(path, &fs, &name)))
		return r;
	file = file_lookup(md, fs, name);
	if (!file)
		return -ENOENT;
	md->files[file - 1].linked = false;
	file_maybe_evict(md, file);
	return 0;
}

int model_ftruncate(struct model *md, int task, int fd, int64_t len)
{
	struct mproc *p = task_proc(md, task);
	struct mfd *d;
	struct mfile *f;

	if (!p)
		return -ESRCH;
	if (len < 0)
		return -EINVAL;
	if (!(d = fd_lookup(p, fd)))
		return -EBADF;
	if (!d->writable)
		return -EINVAL;
	f = &md->files[d->file - 1];
	if (((uint64_t)len < f->size && (f->seals & F_SEAL_SHRINK)) ||
	    ((uint64_t)len > f->size && (f->seals & F_SEAL_GROW)))
		return -EPERM;
	file_truncate(md, d->file, (uint64_t)len);
	return 0;
}

int model_fallocate(struct model *md, int task, int fd, int mode, int64_t off, int64_t len, long got)
{
	struct mproc *p = task_proc(md, task);
	struct mfd *d;
	struct mfile *f;
	uint64_t first, n;

	if (!p)
		return -ESRCH;
	if (!(d = fd_lookup(p, fd)))
		return -EBADF;
	if (off < 0 || len <= 0)
		return -EINVAL;
	/* vfs_fallocate: a hole punch keeps the size; the file systems know these three */
	if (mode != 0 && mode != FALLOC_FL_KEEP_SIZE && mode != (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	if (!d->writable)
		return -EBADF;
	if ((uint64_t)off + (uint64_t)len > MAX_FILE_BYTES)
		return -EFBIG;
	f = &md->files[d->file - 1];
	if (mode & FALLOC_FL_PUNCH_HOLE) {
		if (f->seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE))
			return -EPERM;
		file_punch(md, d->file, (uint64_t)off, (uint64_t)len);
		return 0;
	}
	if ((f->seals & F_SEAL_GROW) && (uint64_t)(off + len) > f->size)
		return -EPERM;
	first = (uint64_t)off / MODEL_PAGE;
	n = size_pages((uint64_t)(off + len)) - first;
	if ((f->fs == MFS_TMP || f->fs == MFS_SHM) && md->tmpfs_pages) {
		/* shmem_fallocate refuses at once what can never fit, undoes what did not */
		if (n > md->tmpfs_pages)
			return -ENOSPC;
		if (got == -ENOSPC && tmpfs_may_be_full(md, f->fs, untouched_pages(f, first, n)))
			return -ENOSPC;
	}
	touch_pages(f, first, n);
	if (!(mode & FALLOC_FL_KEEP_SIZE) && (uint64_t)(off + len) > f->size)
		file_truncate(md, d->file, (uint64_t)(off + len));
	return 0;
}

/* pread and pwrite: the checks of ksys_pread64 / vfs_read (and their write twins). */
static struct mfd *rw_check(struct model *md, int task, int fd, int64_t off, bool write, long *err)
{
	struct mproc *p = task_proc(md, task);
	struct mfd *d;

	*err = -ESRCH;
	if (!p)
		return NULL;
	*err = -EINVAL;
	if (off < 0)
		return NULL;
	*err = -EBADF;
	if (!(d = fd_lookup(p, fd)) || !(write ? d->writable : d->readable))
		return NULL;
	*err = 0;
	return d;
}

long model_pread(struct model *md, int task, int fd, void *buf, uint64_t len, int64_t off)
{
	long err;
	struct mfd *d = rw_check(md, task, fd, off, false, &err);
	struct mfile *f;

	if (!d)
		return err;
	f = &md->files[d->file - 1];
	if ((uint64_t)off >= f->size)
		return 0;
	if (len > f->size - (uint64_t)off)
		len = f->size - (uint64_t)off;
	file_load(f, (uint64_t)off, buf, len);
	return (long)len;
}

bool model_pread_alternative(struct model *md, int task, int fd, int64_t off, const uint8_t *got, uint64_t len)
{
	long err;
	struct mfd *d = rw_check(md, task, fd, off, false, &err);
	struct mfile *f;

	if (!d)
		return false;
	f = &md->files[d->file - 1];
	for (uint64_t b = 0; b < len; b++)
		if (!file_byte_allowed(f, (uint64_t)off + b, got[b]))
			return false;
	for (uint64_t b = 0; b < len; b++)
		file_byte_adopt(f, (uint64_t)off + b, got[b]);
	return true;
}

bool model_pread_unsure(const struct model *md, int task, int fd, int64_t off, uint64_t len, const uint8_t *own,
			uint8_t *alt)
{
	const struct mfd *d = fd_lookup(task_proc(md, task), fd);
	bool any = false;

	memcpy(alt, own, len);
	for (uint64_t k = 0; d && off >= 0 && k < len; k++) {
		const struct mfpage *fp = fpage_find(&md->files[d->file - 1], ((uint64_t)off + k) / MODEL_PAGE);

		if (fp && bit_test(fp->unk, ((uint64_t)off + k) % MODEL_PAGE)) {
			alt[k] = unk_alt(fp->was, ((uint64_t)off + k) % MODEL_PAGE);
			any = true;
		}
	}
	return any;
}

long model_pwrite(struct model *md, int task, int fd, const void *buf, uint64_t len, int64_t off, long got)
{
	long err, exp;
	struct mfd *d = rw_check(md, task, fd, off, true, &err);
	struct mfile *f;
	uint64_t pos = (uint64_t)off, can, k;

	if (!d)
		return err;
	if (!len)
		return 0;	/* generic_write_checks: nothing to write, before any seal */
	if (pos >= MAX_FILE_BYTES)
		return -EFBIG;
	if (len > MAX_FILE_BYTES - pos)
		len = MAX_FILE_BYTES - pos;
	f = &md->files[d->file - 1];
	/* generic_perform_write goes a page at a time; shmem_write_begin checks the seals for each. */
	for (can = 0; can < len; can += k) {
		k = MODEL_PAGE - (pos + can) % MODEL_PAGE;
		if (k > len - can)
			k = len - can;
		if ((f->seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) ||
		    ((f->seals & F_SEAL_GROW) && pos + can + k > f->size))
			break;
	}
	exp = can ? (long)can : -EPERM;
	/* A tmpfs that may be full may refuse any page not allocated yet: written up to it, or ENOSPC. */
	if (got != exp && can && tmpfs_may_be_full(md, f->fs, untouched_pages(f, pos / MODEL_PAGE,
						      size_pages(pos + can) - pos / MODEL_PAGE))) {
		if (got == -ENOSPC)
			return got;
		if (got > 0 && (uint64_t)got < can && (pos + (uint64_t)got) % MODEL_PAGE == 0)
			exp = got, can = (uint64_t)got;
	}
	/* Past the end: the file grows first (a disk file's old tail is zeroed), then takes the bytes. */
	if (can && pos + can > f->size)
		file_truncate(md, d->file, pos + can);
	if (can && file_store(f, pos, buf, can))
		return -ENOMEM;
	return exp;
}

int model_fsync(struct model *md, int task, int fd)
{
	struct mproc *p = task_proc(md, task);

	if (!p)
		return -ESRCH;
	return fd_lookup(p, fd) ? 0 : -EBADF;
}

int model_fstat(struct model *md, int task, int fd, uint64_t *size, unsigned *nlink)
{
	struct mproc *p = task_proc(md, task);
	struct mfd *d;

	if (!p)
		return -ESRCH;
	if (!(d = fd_lookup(p, fd)))
		return -EBADF;
	*size = md->files[d->file - 1].size;
	*nlink = md->files[d->file - 1].linked;
	return 0;
}

/* Does anything still write file through a shared mapping, or hold one of its pages pinned? */
static bool file_write_busy(const struct model *md, int file)
{
	for (int i = 0; i < md->nprocs; i++) {
		const struct mproc *p = &md->procs[i];

		for (size_t k = 0; p->alive && k < p->n; k++)
			if (p->pages[k].file == file && (p->pages[k].flags & (MP_SHARED | MP_MAYWRITE)) ==
			    (MP_SHARED | MP_MAYWRITE))
				return true;	/* mapping_deny_writable: i_mmap_writable > 0 */
	}
	/* memfd_wait_for_pins: a page with references beyond the cache's and the mappings' */
	const struct mpin *pn;

	for_each_live_pin(md, i, pn) {

		for (uint64_t k = 0; pn->alive && pn->pfile && k < pn->npages; k++)
			if (pn->state[k] == PIN_FILE && pn->pfile[k] == file)
				return true;
	}
	return false;
}

long model_fcntl(struct model *md, int task, int fd, int cmd, long arg)
{
	struct mproc *p = task_proc(md, task);
	struct mfd *d;
	struct mfile *f;

	if (!p)
		return -ESRCH;
	if (!(d = fd_lookup(p, fd)))
		return -EBADF;
	f = &md->files[d->file - 1];
	switch (cmd) {
	case F_GETFD:
		return d->cloexec ? FD_CLOEXEC : 0;
	case F_SETFD:
		d->cloexec = arg & FD_CLOEXEC;
		return 0;
	case F_GET_SEALS:
		return fs_is_shmem(f->fs) ? (long)f->seals : -EINVAL;
	case F_ADD_SEALS:
		/* memfd_add_seals, in its order */
		if (!d->writable)
			return -EPERM;
		if (arg < 0 || (arg & ~(long)SEALS_KNOWN))
			return -EINVAL;
		if (!fs_is_shmem(f->fs))
			return -EINVAL;
		if (f->seals & F_SEAL_SEAL)
			return -EPERM;
		if ((arg & F_SEAL_WRITE) && !(f->seals & F_SEAL_WRITE) && file_write_busy(md, d->file))
			return -EBUSY;
		f->seals |= (unsigned)arg;
		return 0;
	default:
		return -EINVAL;
	}
}

int model_drop_caches(struct model *md, int mode)
{
	return mode >= 1 && mode <= 3 ? 0 : -EINVAL;
}

/* ---- following the library after an interrupted call ------------------------------------- */

int model_fd_file(const struct model *md, int task, int fd)
{
	const struct mfd *d = fd_lookup(task_proc(md, task), fd);

	return d ? d->file : 0;
}

int model_path_file(const struct model *md, const char *path)
{
	const char *name;
	int fs;

	return path_parse(path, &fs, &name) ? 0 : file_lookup(md, fs, name);
}

int model_file_fd(const struct model *md, int task, int file)
{
	const struct mproc *p = task_proc(md, task);

	for (int i = 0; p && i < p->nfds; i++)
		if (p->fds[i].file == file && p->fds[i].readable)
			return i;
	return -1;
}

void model_file_patch(struct model *md, int file, uint64_t size, uint64_t off, const uint8_t *bytes, uint64_t n)
{
	struct mfile *f = &md->files[file - 1];

	if (size != f->size)
		file_truncate(md, file, size);
	if (off < size && n > size - off)
		n = size - off;
	if (off < size && n) {
		touch_pages(f, off / MODEL_PAGE, size_pages(off + n) - off / MODEL_PAGE);
		file_store(f, off, bytes, n);
	}
}

int model_path_set(struct model *md, const char *path, bool exists)
{
	const char *name;
	int fs, file;

	if (path_parse(path, &fs, &name))
		return 0;
	file = file_lookup(md, fs, name);
	if (file && !exists) {
		md->files[file - 1].linked = false;
		file_maybe_evict(md, file);
		return 0;
	}
	if (!file && exists)
		file = file_new(md, fs, name, true);
	return file > 0 ? file : 0;
}

/* ---- the disk at the end of a run ----------------------------------------------------- */

static const struct mfile *disk_file(const struct model *md, int i)
{
	for (int k = 0; k < md->nfiles; k++) {
		const struct mfile *f = &md->files[k];

		if (f->fs == MFS_DISK && f->linked && !i--)
			return f;
	}
	return NULL;
}

int model_fd_disk_index(const struct model *md, int task, int fd)
{
	const struct mfd *d = fd_lookup(task_proc(md, task), fd);
	int i = 0;

	if (!d || md->files[d->file - 1].fs != MFS_DISK || !md->files[d->file - 1].linked)
		return -1;
	for (int k = 0; k < d->file - 1; k++)
		i += md->files[k].fs == MFS_DISK && md->files[k].linked;
	return i;
}

const char *model_disk_file(const struct model *md, int i, uint64_t *size)
{
	const struct mfile *f = disk_file(md, i);

	if (!f)
		return NULL;
	*size = f->size;
	return f->name;
}

uint64_t model_disk_check(const struct model *md, int i, const uint8_t *host, uint64_t n, int *want)
{
	const struct mfile *f = disk_file(md, i);

	if (n != f->size) {
		*want = -1;
		return (n < f->size ? n : f->size) + 1;
	}
	for (uint64_t b = 0; b < n; b++) {
		if (!file_byte_allowed(f, b, host[b])) {
			const struct mfpage *fp = fpage_find(f, b / MODEL_PAGE);

			*want = fp && fp->data ? fp->data[b % MODEL_PAGE] : 0;
			return b + 1;
		}
	}
	return 0;
}

static int writeback_lost(struct mfile *f, const uint8_t *host, uint64_t n)
{
	for (uint64_t b = 0; b < f->size; b++) {
		uint64_t k = b % MODEL_PAGE;
		uint8_t h = b < n ? host[b] : 0;
		struct mfpage *fp = fpage_find(f, b / MODEL_PAGE);

		if (h == (fp && fp->data ? fp->data[k] : 0))
			continue;
		if (!(fp = fpage_get(f, b / MODEL_PAGE)) || (!fp->data && !(fp->data = calloc(1, MODEL_PAGE))) ||
		    (!fp->unk && !(fp->unk = calloc(1, MODEL_PAGE / 8))) ||
		    (!fp->was && !(fp->was = calloc(1, MODEL_PAGE))))	/* zero: what unk meant so far */
			return -ENOMEM;
		bit_set(fp->unk, k, true);
		fp->was[k] = h;
	}
	return 0;
}

int model_disk_writeback_lost(struct model *md, int i, const uint8_t *host, uint64_t n)
{
	struct mfile *f = (struct mfile *)disk_file(md, i);

	return f ? writeback_lost(f, host, n) : 0;
}

int model_unlinked_writeback_lost(struct model *md)
{
	for (int k = 0; k < md->nfiles; k++) {
		struct mfile *f = &md->files[k];

		if (f->fs == MFS_DISK && !f->linked && !f->evicted && writeback_lost(f, NULL, 0))
			return -ENOMEM;
	}
	return 0;
}

void model_files_free(struct model *md)
{
	for (int i = 0; i < md->nfiles; i++) {
		struct mfile *f = &md->files[i];

		for (size_t k = 0; k < f->n; k++)
			fpage_free(&f->pages[k]);
		free(f->pages);
		free(f->name);
	}
	free(md->files);
	md->files = NULL;
	md->nfiles = 0;
}
