/*
 * daxfs.c - the DAX file system mounted at /pmem/ on the pmem device
 * (drivers/pmem.c).  Linux has no "daxfs": this models XFS mounted with
 * -o dax=always, as far as memory management sees it: files are maps of
 * 4 KiB device blocks with no page cache (fs/dax.c maps the blocks
 * themselves), a write or a write fault on a hole allocates a zeroed
 * block, and truncate, hole punch and eviction break layouts first
 * (xfs_break_dax_layouts over the whole file: unmap, then wait until
 * every block is DMA-idle) and only then free blocks.
 *
 * Simplifications (docs/deviations.md): the block map is an xarray of
 * file page -> device block, not XFS's extent btree; the mount is made
 * fresh at power-on (the device's bytes persist in the host file, the
 * metadata does not: mkfs at every boot); one mutex for the mount guards
 * the allocator and every block map (XFS's per-inode ILOCK).  Each block
 * has a count of the files holding it (refs): FICLONE shares blocks, and
 * a write through a file or a mapping gets a private copy of a shared
 * block first (XFS's CoW fork, reduced to copying at once).
 */
#define _GNU_SOURCE
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "mm/memremap.h"
#include "fs/dax.h"
#include "fs/vfs.h"
#include "mm/hooks.h"
#include "mm/mm.h"
#include "mm/pagemap.h"

struct daxfs_sb_info {
	struct mutex lock;		/* guards the fields below and every inode's block map */
	unsigned long nr_blocks;	/* (C) the device's 4 KiB blocks */
	unsigned long free_blocks;
	unsigned short *refs;		/* per block: the files holding it; 0 = free */
	unsigned long nr_inodes;
};

/* A file's blocks: xa_mk_value(device block) by file page (sbi->lock). */
struct daxfs_inode {
	struct xarray map;
};

static struct daxfs_sb_info *DAXFS_SB(struct super_block *sb) { return sb->s_fs_info; }
static struct daxfs_inode *DAXFS_I(struct inode *inode) { return inode->i_private; }

/* ---- blocks ------------------------------------------------------------------------------- */

/* The device block of file page index, or -1 for a hole.  sbi->lock held. */
static long daxfs_bmap(struct inode *inode, unsigned long index)
{
	void *e = xa_load(&DAXFS_I(inode)->map, index);

	return e ? (long)xa_to_value(e) : -1;
}

/* A free aligned 2 MiB run, or -1.  sbi->lock held. */
static long daxfs_find_free_run(struct daxfs_sb_info *sbi)
{
	for (unsigned long run = 0; run + HPAGE_PMD_NR <= sbi->nr_blocks; run += HPAGE_PMD_NR) {
		unsigned long i;

		for (i = 0; i < HPAGE_PMD_NR && !sbi->refs[run + i]; i++)
			;
		if (i == HPAGE_PMD_NR)
			return (long)run;
	}
	return -1;
}

/*
 * A block for file page index: the one after its predecessor's if free
 * (files grow contiguously), else the same offset in a free aligned run
 * (so that a file written in order fills aligned runs and PMD faults map
 * them), else the first free one.
 */
static long daxfs_pick_block(struct inode *inode, struct daxfs_sb_info *sbi, unsigned long index)
{
	long prev = index ? daxfs_bmap(inode, index - 1) : -1, run;

	if (prev >= 0 && (unsigned long)prev + 1 < sbi->nr_blocks && !sbi->refs[prev + 1])
		return prev + 1;
	run = daxfs_find_free_run(sbi);
	if (run >= 0)
		return run + (long)(index & (HPAGE_PMD_NR - 1));
	for (unsigned long b = 0; b < sbi->nr_blocks; b++)
		if (!sbi->refs[b])
			return (long)b;
	return -1;
}

/*
 * Give file page index device block blk, zeroed.  The block's folio must
 * be idle and unowned: a block is freed only after its layout was broken
 * and its entry deleted.  sbi->lock held.  0 or -ENOMEM.
 */
static int daxfs_map_block(struct inode *inode, struct daxfs_sb_info *sbi, unsigned long index, unsigned long blk)
{
	struct mml_machine *m = inode->i_sb->machine;
	struct folio *folio = page_folio(pfn_to_page(m, pmem_block_pfn(m, blk)));
	int err;

	VM_WARN_ON_PAGE(folio_ref_count(folio) || folio->mapping, m, &folio->page);
	err = xa_err(xa_store(&DAXFS_I(inode)->map, index, xa_mk_value(blk)));
	if (err)
		return err;
	sbi->refs[blk]++;
	sbi->free_blocks--;
	memset(pfn_to_virt(m, pmem_block_pfn(m, blk)), 0, PAGE_SIZE);
	atomic_long_add(PAGE_SIZE / 512, (atomic_long_t *)&inode->i_blocks);
	return 0;
}

/* The block of index, allocated if a hole: its number, or -ENOSPC, -ENOMEM.  sbi->lock held. */
static long daxfs_get_block(struct inode *inode, struct daxfs_sb_info *sbi, unsigned long index, bool *new)
{
	long blk = daxfs_bmap(inode, index);
	int err;

	*new = false;
	if (blk >= 0)
		return blk;
	blk = daxfs_pick_block(inode, sbi, index);
	if (blk < 0)
		return -ENOSPC;
	err = daxfs_map_block(inode, sbi, index, (unsigned long)blk);
	if (err)
		return err;
	*new = true;
	return blk;
}

/* Free the blocks of file pages [first, last]: their layout was broken, their entries are gone. */
static void daxfs_free_blocks(struct inode *inode, unsigned long first, unsigned long last)
{
	struct daxfs_sb_info *sbi = DAXFS_SB(inode->i_sb);
	struct daxfs_inode *di = DAXFS_I(inode);
	unsigned long idx = first;
	void *e;

	mutex_lock(&sbi->lock);
	for (e = xa_find(&di->map, &idx, last); e; e = xa_find_after(&di->map, &idx, last)) {
		unsigned long blk = xa_to_value(e);

		xa_erase(&di->map, idx);
		if (!--sbi->refs[blk])
			sbi->free_blocks++;
		atomic_long_add(-(long)(PAGE_SIZE / 512), (atomic_long_t *)&inode->i_blocks);
	}
	mutex_unlock(&sbi->lock);
}

/*
 * The file system's copy-on-write of a reflinked block (xfs_reflink_allocate_cow
 * + dax_iomap_copy_range): file page index gets a new block holding a copy of
 * old, which the other files keep.  Its number, or -ENOSPC, -ENOMEM.  sbi->lock held.
 */
static long daxfs_cow_block(struct inode *inode, struct daxfs_sb_info *sbi, unsigned long index, unsigned long old)
{
	struct mml_machine *m = inode->i_sb->machine;
	long blk = daxfs_pick_block(inode, sbi, index);
	int err;

	if (blk < 0)
		return -ENOSPC;
	err = xa_err(xa_store(&DAXFS_I(inode)->map, index, xa_mk_value((unsigned long)blk)));
	if (err)
		return err;
	/* Another file's mapping may be writing its own copy meanwhile: not this one's. */
	page_data_copy(pfn_to_virt(m, pmem_block_pfn(m, (unsigned long)blk)), pfn_to_virt(m, pmem_block_pfn(m, old)),
		       PAGE_SIZE);
	sbi->refs[blk]++;
	sbi->refs[old]--;
	sbi->free_blocks--;
	return blk;
}

/* Does any file page of [first, last] have a shared block?  sbi->lock held. */
static bool daxfs_range_shared(struct inode *inode, struct daxfs_sb_info *sbi, unsigned long first, unsigned long last)
{
	unsigned long idx = first;
	void *e;

	for (e = xa_find(&DAXFS_I(inode)->map, &idx, last); e; e = xa_find_after(&DAXFS_I(inode)->map, &idx, last))
		if (sbi->refs[xa_to_value(e)] > 1)
			return true;
	return false;
}

/*
 * xfs_reflink_unshare(): every shared block of file pages [first, last]
 * gets a private copy before a write() or a partial zeroing stores into
 * it.  The range's layout is broken first (its mappings and entries name
 * the old blocks).  i_rwsem and the invalidate_lock held for write.
 */
static int daxfs_unshare_range(struct inode *inode, unsigned long first, unsigned long last)
{
	struct daxfs_sb_info *sbi = DAXFS_SB(inode->i_sb);
	unsigned long idx = first;
	long blk = 0;
	bool shared;
	void *e;

	lockdep_assert_held_write(&inode->i_mapping->invalidate_lock);
	mutex_lock(&sbi->lock);
	shared = daxfs_range_shared(inode, sbi, first, last);
	mutex_unlock(&sbi->lock);
	if (!shared)
		return 0;
	dax_break_layout(inode, first, last);
	dax_delete_mapping_range(inode->i_mapping, first, last);
	mutex_lock(&sbi->lock);
	for (e = xa_find(&DAXFS_I(inode)->map, &idx, last); e && blk >= 0;
	     e = xa_find_after(&DAXFS_I(inode)->map, &idx, last))
		if (sbi->refs[xa_to_value(e)] > 1)
			blk = daxfs_cow_block(inode, sbi, idx, xa_to_value(e));
	mutex_unlock(&sbi->lock);
	return blk < 0 ? (int)blk : 0;
}

/* ---- faults ------------------------------------------------------------------------------ */

/* xfs_dax_read_iomap_begin / xfs_direct_write_iomap_begin for a fault of 1 << order pages. */
static int daxfs_iomap_begin(struct inode *inode, unsigned long index, unsigned int order, bool write,
			     struct dax_iomap *map)
{
	struct mml_machine *m = inode->i_sb->machine;
	struct daxfs_sb_info *sbi = DAXFS_SB(inode->i_sb);
	unsigned long nr = 1UL << order, holes = 0;
	long blk, first;
	int err = 0;

	memset(map, 0, sizeof(*map));
	mutex_lock(&sbi->lock);
	first = daxfs_bmap(inode, index);
	for (unsigned long i = 0; i < nr; i++) {
		blk = daxfs_bmap(inode, index + i);
		if (blk < 0)
			holes++;
		else if (first < 0 || blk != first + (long)i)
			map->type = IOMAP_MIXED;
	}
	if (order && first >= 0 && first % (long)nr)
		map->type = IOMAP_MIXED;
	/* A shared block is mapped (and copied) page by page. */
	for (unsigned long i = 0; order && !holes && i < nr; i++)
		if (sbi->refs[first + (long)i] > 1)
			map->type = IOMAP_MIXED;
	if (map->type == IOMAP_MIXED || (holes && holes != nr)) {
		map->type = IOMAP_MIXED;
	} else if (holes && !write) {
		map->type = IOMAP_HOLE;
	} else if (holes && !order) {
		first = daxfs_get_block(inode, sbi, index, &map->new);
		err = first < 0 ? (int)first : 0;
		map->type = IOMAP_MAPPED;
	} else if (holes) {
		first = daxfs_find_free_run(sbi);
		map->type = first < 0 ? IOMAP_MIXED : IOMAP_MAPPED;
		for (unsigned long i = 0; first >= 0 && i < nr && !err; i++)
			err = daxfs_map_block(inode, sbi, index + i, (unsigned long)first + i);
		map->new = true;
	} else {
		map->type = IOMAP_MAPPED;
		map->shared = sbi->refs[first] > 1;
		if (map->shared && write) {
			first = daxfs_cow_block(inode, sbi, index, (unsigned long)first);
			err = first < 0 ? (int)first : 0;
			map->shared = false;
			map->cow = true;
		}
	}
	if (!err && map->type == IOMAP_MAPPED)
		map->pfn = pmem_block_pfn(m, (unsigned long)first);
	mutex_unlock(&sbi->lock);
	return err;
}

static const struct dax_iomap_ops daxfs_iomap_ops = {
	.begin = daxfs_iomap_begin,
};

/* xfs_dax_fault_locked(): faults run under the invalidate_lock (MMAPLOCK) for read. */
static vm_fault_t daxfs_huge_fault(struct vm_fault *vmf, unsigned int order)
{
	struct address_space *mapping = vmf->vma->vm_file->f_mapping;
	vm_fault_t ret;

	down_read(&mapping->invalidate_lock);
	ret = dax_iomap_fault(vmf, order, &daxfs_iomap_ops);
	up_read(&mapping->invalidate_lock);
	return ret;
}

static vm_fault_t daxfs_fault(struct vm_fault *vmf)
{
	return daxfs_huge_fault(vmf, 0);
}

/* xfs_filemap_page_mkwrite / pfn_mkwrite: the DAX fault again, as a write: it makes the pte writable. */
static vm_fault_t daxfs_write_fault(struct vm_fault *vmf)
{
	return daxfs_huge_fault(vmf, 0);
}

static const struct vm_operations_struct daxfs_vm_ops = {
	.fault = daxfs_fault,
	.huge_fault = daxfs_huge_fault,
	.page_mkwrite = daxfs_write_fault,
	.pfn_mkwrite = daxfs_write_fault,
};

/*
 * xfs_file_mmap(): DAX mappings ask for huge pages (VM_HUGEPAGE) as XFS and
 * ext4 do.  A MAP_SYNC mapping (VM_SYNC) is taken as is: the pmem device
 * is synchronous (daxdev_mapping_supported), and with no metadata journal
 * a write fault has nothing to make durable before it maps a block
 * (dax_fault_is_synchronous, dax_finish_sync_fault: docs/deviations.md).
 */
static int daxfs_mmap(struct file *file, struct vm_area_struct *vma)
{
	vma->vm_ops = &daxfs_vm_ops;
	vma->vm_flags |= VM_HUGEPAGE;
	return 0;
}

/* ---- read, write, truncate ------------------------------------------------------------------ */

/* dax_iomap_rw() for a read: bytes straight from the device; holes read as zeros.  Under i_rwsem shared. */
static long daxfs_read_iter(struct file *file, void *buf, uint64_t len, int64_t pos)
{
	struct inode *inode = file_inode(file);
	struct mml_machine *m = inode->i_sb->machine;
	struct daxfs_sb_info *sbi = DAXFS_SB(inode->i_sb);
	uint64_t done = 0;
	int64_t size;

	down_read(&inode->i_rwsem);
	size = i_size_read(inode);
	if (pos >= size) {
		up_read(&inode->i_rwsem);
		return 0;
	}
	len = min(len, (uint64_t)(size - pos));
	while (done < len) {
		unsigned long index = (unsigned long)((pos + (int64_t)done) >> PAGE_SHIFT);
		uint64_t off = (uint64_t)(pos + (int64_t)done) & (PAGE_SIZE - 1), n = min(len - done, PAGE_SIZE - off);
		long blk;

		mutex_lock(&sbi->lock);
		blk = daxfs_bmap(inode, index);
		if (blk < 0)
			memset((char *)buf + done, 0, n);
		else	/* a device may be writing it through a pin meanwhile */
			page_data_copy((char *)buf + done, (char *)pfn_to_virt(m, pmem_block_pfn(m, (unsigned long)blk)) + off, n);
		mutex_unlock(&sbi->lock);
		done += n;
	}
	up_read(&inode->i_rwsem);
	return (long)done;
}

/*
 * Zero the bytes of page index from off to its end, if it has a block:
 * what lies past a new end of file must read as a hole if the file grows
 * again (iomap_zero_range / dax_truncate_page).  A shared block is
 * copied first.  The invalidate_lock held for write.
 */
static void daxfs_zero_tail(struct inode *inode, int64_t from)
{
	struct mml_machine *m = inode->i_sb->machine;
	struct daxfs_sb_info *sbi = DAXFS_SB(inode->i_sb);
	uint64_t off = (uint64_t)from & (PAGE_SIZE - 1);
	long blk;

	if (!off || daxfs_unshare_range(inode, (unsigned long)(from >> PAGE_SHIFT), (unsigned long)(from >> PAGE_SHIFT)))
		return;	/* no block to zero there, or no room for a private copy of it */
	mutex_lock(&sbi->lock);
	blk = daxfs_bmap(inode, (unsigned long)(from >> PAGE_SHIFT));
	if (blk >= 0)
		memset((char *)pfn_to_virt(m, pmem_block_pfn(m, (unsigned long)blk)) + off, 0, PAGE_SIZE - off);
	mutex_unlock(&sbi->lock);
}

/*
 * Allocate the holes of file pages [first, last]: zeroed blocks, and the
 * zero pages faults mapped there go (dax_invalidate_holes).  i_rwsem held.
 */
static int daxfs_alloc_range(struct inode *inode, unsigned long first, unsigned long last)
{
	struct daxfs_sb_info *sbi = DAXFS_SB(inode->i_sb);
	bool new, any = false;
	long blk = 0;

	mutex_lock(&sbi->lock);
	for (unsigned long i = first; i <= last && blk >= 0; i++) {
		blk = daxfs_get_block(inode, sbi, i, &new);
		any |= new;
	}
	mutex_unlock(&sbi->lock);
	if (any)
		dax_invalidate_holes(inode->i_mapping, first, last);
	return blk < 0 ? (int)blk : 0;
}

/* dax_iomap_rw() for a write: blocks allocated first, then the bytes stored.  i_rwsem held. */
static long daxfs_write_iter(struct file *file, const void *buf, uint64_t len, int64_t pos)
{
	struct inode *inode = file_inode(file);
	struct mml_machine *m = inode->i_sb->machine;
	struct daxfs_sb_info *sbi = DAXFS_SB(inode->i_sb);
	unsigned long first = (unsigned long)(pos >> PAGE_SHIFT);
	unsigned long last = (unsigned long)((pos + (int64_t)len - 1) >> PAGE_SHIFT);
	uint64_t done = 0;
	int err;

	down_write(&inode->i_mapping->invalidate_lock);
	err = daxfs_unshare_range(inode, first, last);
	up_write(&inode->i_mapping->invalidate_lock);
	if (!err)
		err = daxfs_alloc_range(inode, first, last);
	if (err == -ENOSPC && first < last) {
		/* A short write: as much as there were blocks for. */
		mutex_lock(&sbi->lock);
		while (last > first && daxfs_bmap(inode, last) < 0)
			last--;
		mutex_unlock(&sbi->lock);
		len = min(len, ((uint64_t)(last + 1) << PAGE_SHIFT) - (uint64_t)pos);
		err = daxfs_bmap(inode, first) < 0 ? -ENOSPC : 0;
	}
	if (err)
		return err;
	while (done < len) {
		unsigned long index = (unsigned long)((pos + (int64_t)done) >> PAGE_SHIFT);
		uint64_t off = (uint64_t)(pos + (int64_t)done) & (PAGE_SIZE - 1), n = min(len - done, PAGE_SIZE - off);
		long blk;

		mutex_lock(&sbi->lock);
		blk = daxfs_bmap(inode, index);
		mutex_unlock(&sbi->lock);
		page_data_copy((char *)pfn_to_virt(m, pmem_block_pfn(m, (unsigned long)blk)) + off,
			       (const char *)buf + done, n);
		done += n;
	}
	if (pos + (int64_t)done > i_size_read(inode))
		i_size_write(inode, pos + (int64_t)done);
	return (long)done;
}

/*
 * Free what lies in file pages [first, last] (last ~0UL: to the end):
 * XFS's order, layouts broken over the whole file first (every mapping
 * gone, every block DMA-idle), then the entries, then the blocks.
 * i_rwsem and the invalidate_lock held for write.
 */
static void daxfs_remove_range(struct inode *inode, unsigned long first, unsigned long last)
{
	dax_break_layout(inode, 0, ~0UL);
	dax_delete_mapping_range(inode->i_mapping, first, last);
	daxfs_free_blocks(inode, first, last);
}

static int daxfs_setattr_size(struct inode *inode, int64_t size)
{
	struct address_space *mapping = inode->i_mapping;
	int64_t oldsize = i_size_read(inode);
	unsigned long first = (unsigned long)((size + (int64_t)PAGE_SIZE - 1) >> PAGE_SHIFT);

	down_write(&mapping->invalidate_lock);
	if (size >= oldsize) {
		daxfs_zero_tail(inode, oldsize);
		i_size_write(inode, size);
		up_write(&mapping->invalidate_lock);
		return 0;
	}
	dax_break_layout(inode, 0, ~0UL);
	i_size_write(inode, size);
	daxfs_zero_tail(inode, size);
	/* truncate_pagecache(): private copies past the end go too. */
	unmap_mapping_range(mapping, (int64_t)first << PAGE_SHIFT, 0, true);
	daxfs_remove_range(inode, first, ~0UL);
	up_write(&mapping->invalidate_lock);
	return 0;
}

static int daxfs_fallocate(struct file *file, int mode, int64_t off, int64_t len)
{
	struct inode *inode = file_inode(file);
	struct address_space *mapping = inode->i_mapping;
	int64_t end = off + len, size = i_size_read(inode);
	int err;

	if (!(mode & FALLOC_FL_PUNCH_HOLE)) {
		err = daxfs_alloc_range(inode, (unsigned long)(off >> PAGE_SHIFT), (unsigned long)((end - 1) >> PAGE_SHIFT));
		if (!err && end > size && !(mode & FALLOC_FL_KEEP_SIZE))
			i_size_write(inode, end);
		return err;
	}
	if (off >= size)
		return 0;
	end = min(end, size);
	down_write(&mapping->invalidate_lock);
	dax_break_layout(inode, 0, ~0UL);
	/* Partial pages at the edges are zeroed in place (a shared block copied first); whole ones lose their blocks. */
	{
		struct mml_machine *m = inode->i_sb->machine;
		struct daxfs_sb_info *sbi = DAXFS_SB(inode->i_sb);
		int64_t pos = off;

		while (pos < end) {
			int64_t next = min((pos | (int64_t)(PAGE_SIZE - 1)) + 1, end);
			long blk;

			if (((pos & (int64_t)(PAGE_SIZE - 1)) || next - pos < (int64_t)PAGE_SIZE) &&
			    !daxfs_unshare_range(inode, (unsigned long)(pos >> PAGE_SHIFT),
						 (unsigned long)(pos >> PAGE_SHIFT))) {
				mutex_lock(&sbi->lock);
				blk = daxfs_bmap(inode, (unsigned long)(pos >> PAGE_SHIFT));
				if (blk >= 0)
					memset((char *)pfn_to_virt(m, pmem_block_pfn(m, (unsigned long)blk)) +
					       (pos & (int64_t)(PAGE_SIZE - 1)), 0, (size_t)(next - pos));
				mutex_unlock(&sbi->lock);
			}
			pos = next;
		}
	}
	{
		unsigned long first = (unsigned long)((off + (int64_t)PAGE_SIZE - 1) >> PAGE_SHIFT);
		unsigned long limit = (unsigned long)(end >> PAGE_SHIFT);

		if (first < limit)
			daxfs_remove_range(inode, first, limit - 1);
	}
	up_write(&mapping->invalidate_lock);
	return 0;
}

/*
 * xfs_file_remap_range() for FICLONE (the VFS checked the files): dst's
 * pages [0, src's size) become src's blocks, shared (refs counts the
 * files holding each), and dst grows to src's size if smaller.  Both
 * files' layouts are broken and their entries deleted first
 * (xfs_reflink_remap_prep), so that no folio of either is mapped as a
 * PMD or by a stale entry while its block changes hands.  0 or -ENOMEM;
 * then the pages before the one that failed are remapped, and dst grows
 * over those only, as XFS grows it extent by extent
 * (xfs_reflink_remap_extent).
 */
static int daxfs_remap_file_range(struct file *src, struct file *dst)
{
	struct inode *si = file_inode(src), *di = file_inode(dst);
	struct inode *a = si < di ? si : di, *b = si < di ? di : si;
	struct daxfs_sb_info *sbi = DAXFS_SB(si->i_sb);
	int64_t size;
	unsigned long n, i;
	int err = 0;

	/* lock_two_nondirectories() + filemap_invalidate_lock_two(): by address. */
	down_write(&a->i_rwsem);
	down_write(&b->i_rwsem);
	down_write(&a->i_mapping->invalidate_lock);
	down_write(&b->i_mapping->invalidate_lock);
	dax_break_layout(si, 0, ~0UL);
	dax_delete_mapping_range(si->i_mapping, 0, ~0UL);
	dax_break_layout(di, 0, ~0UL);
	dax_delete_mapping_range(di->i_mapping, 0, ~0UL);
	size = i_size_read(si);
	n = (unsigned long)((size + (int64_t)PAGE_SIZE - 1) >> PAGE_SHIFT);
	mutex_lock(&sbi->lock);
	for (i = 0; i < n && !err; i++) {
		long old = daxfs_bmap(di, i), blk = daxfs_bmap(si, i);

		if (blk >= 0) {
			err = xa_err(xa_store(&DAXFS_I(di)->map, i, xa_mk_value((unsigned long)blk)));
			if (err)
				break;
			sbi->refs[blk]++;
			atomic_long_add(PAGE_SIZE / 512, (atomic_long_t *)&di->i_blocks);
		} else if (old >= 0) {
			xa_erase(&DAXFS_I(di)->map, i);
		}
		if (old >= 0) {
			if (!--sbi->refs[old])
				sbi->free_blocks++;
			atomic_long_add(-(long)(PAGE_SIZE / 512), (atomic_long_t *)&di->i_blocks);
		}
	}
	mutex_unlock(&sbi->lock);
	if (err)
		size = min(size, (int64_t)i << PAGE_SHIFT);
	if (size > i_size_read(di))
		i_size_write(di, size);
	up_write(&b->i_mapping->invalidate_lock);
	up_write(&a->i_mapping->invalidate_lock);
	up_write(&b->i_rwsem);
	up_write(&a->i_rwsem);
	return err;
}

/* Data reaches the device with each store; nothing is cached to flush (no CPU caches in mmlab). */
static int daxfs_fsync(struct file *file)
{
	return 0;
}

/* ---- inodes and the mount ---------------------------------------------------------------- */

static int daxfs_create(struct inode *inode, const char *name)
{
	struct daxfs_sb_info *sbi = DAXFS_SB(inode->i_sb);
	struct daxfs_inode *di = calloc(1, sizeof(*di));

	if (!di)
		return -ENOMEM;
	xa_init(&di->map, &inode->i_sb->machine->rcu, &inode->i_sb->s_xa_acct);
	inode->i_private = di;
	mutex_lock(&sbi->lock);
	sbi->nr_inodes++;
	mutex_unlock(&sbi->lock);
	return 0;
}

/* Nothing outlives the mount: a name the directory lacks does not exist. */
static int daxfs_lookup(struct inode *inode, const char *name)
{
	return -ENOENT;
}

static int daxfs_unlink(struct inode *inode)
{
	return 0;
}

/*
 * xfs_fs_evict_inode(): dax_break_layout_final first (a pin can outlive
 * every mapping, descriptor and name), then every block goes.
 */
static void daxfs_evict_inode(struct inode *inode)
{
	struct daxfs_sb_info *sbi = DAXFS_SB(inode->i_sb);
	struct daxfs_inode *di = DAXFS_I(inode);

	if (!di)
		return;	/* create failed */
	down_write(&inode->i_mapping->invalidate_lock);
	daxfs_remove_range(inode, 0, ~0UL);
	up_write(&inode->i_mapping->invalidate_lock);
	xa_destroy(&di->map);
	free(di);
	inode->i_private = NULL;
	mutex_lock(&sbi->lock);
	sbi->nr_inodes--;
	mutex_unlock(&sbi->lock);
}

static void daxfs_statfs(struct super_block *sb, struct statvfs *buf)
{
	struct daxfs_sb_info *sbi = DAXFS_SB(sb);

	mutex_lock(&sbi->lock);
	buf->f_bsize = buf->f_frsize = PAGE_SIZE;
	buf->f_blocks = sbi->nr_blocks;
	buf->f_bfree = buf->f_bavail = sbi->free_blocks;
	/* XFS allocates inodes on demand: at most one per free block. */
	buf->f_files = sbi->nr_inodes + sbi->free_blocks;
	buf->f_ffree = buf->f_favail = sbi->free_blocks;
	mutex_unlock(&sbi->lock);
}

/*
 * The checker's walk of the mount (machine stopped): a free block's folio
 * has refcount 0 and no mapping; a block's entries in the files' i_pages
 * name files that hold it; a folio shared by several files
 * (PAGE_MAPPING_DAX_SHARED) counts exactly the files whose entries name
 * it, and one named by a single file's entry names that file.
 */
static long daxfs_check(struct super_block *sb, void (*report)(void *ctx, const char *msg, unsigned long pfn),
			void *ctx)
{
	struct mml_machine *m = sb->machine;
	struct daxfs_sb_info *sbi = DAXFS_SB(sb);
	unsigned short *entries = calloc(sbi->nr_blocks, sizeof(*entries));
	struct inode *inode;
	long errors = 0;

	if (!entries)
		return 0;
	list_for_each_entry(inode, &sb->s_inodes, i_sb_list) {
		unsigned long idx = 0;
		void *e;

		for (e = xa_find(&inode->i_mapping->i_pages, &idx, ~0UL); e;
		     e = xa_find_after(&inode->i_mapping->i_pages, &idx, ~0UL)) {
			unsigned long pfn = dax_entry_block_pfn(e), blk = pmem_pfn_block(m, pfn);
			struct folio *folio;

			if (!pfn)
				continue;
			folio = page_folio(pfn_to_page(m, pfn));
			entries[blk]++;
			if (daxfs_bmap(inode, idx) != (long)blk) {
				report(ctx, "fs-DAX entry of a block the file does not hold there", pfn);
				errors++;
			} else if (!folio_test_dax_shared(folio) &&
				   (folio->mapping != inode->i_mapping || folio->index != idx)) {
				report(ctx, "fs-DAX entry's folio names another file or index", pfn);
				errors++;
			}
		}
	}
	for (unsigned long blk = 0; blk < sbi->nr_blocks; blk++) {
		unsigned long pfn = pmem_block_pfn(m, blk);
		struct page *p = pfn_to_page(m, pfn);
		struct folio *folio = page_folio(p);

		if (!sbi->refs[blk] && (folio_ref_count(folio) || READ_ONCE(p->mapping))) {
			report(ctx, "fs-DAX block on the free list still referenced or owned by a file", pfn);
			errors++;
		}
		if (&folio->page == p && folio_test_dax_shared(folio) &&
		    (folio->share != entries[blk] || entries[blk] > sbi->refs[blk])) {
			report(ctx, "fs-DAX shared folio's share count is not the files mapping it", pfn);
			errors++;
		}
	}
	free(entries);
	return errors;
}

static const struct super_operations daxfs_ops = {
	.check = daxfs_check,
	.create = daxfs_create,
	.lookup = daxfs_lookup,
	.unlink = daxfs_unlink,
	.setattr_size = daxfs_setattr_size,
	.evict_inode = daxfs_evict_inode,
	.statfs = daxfs_statfs,
};

static const struct file_operations daxfs_file_operations = {
	.fop_flags = FOP_MMAP_SYNC,	/* xfs_file_operations' */
	.read_iter = daxfs_read_iter,
	.write_iter = daxfs_write_iter,
	.fsync = daxfs_fsync,
	.fallocate = daxfs_fallocate,
	.mmap = daxfs_mmap,
	.remap_file_range = daxfs_remap_file_range,
	.get_unmapped_area = thp_get_unmapped_area,	/* xfs_file_operations' */
};

static const struct address_space_operations daxfs_aops = { 0 };

struct super_block *daxfs_fill_super(struct mml_machine *m, const char *root, unsigned int dev)
{
	struct super_block *sb = sb_alloc(m, "xfs", root, dev);
	struct daxfs_sb_info *sbi = calloc(1, sizeof(*sbi));

	if (sb && sbi)
		sbi->refs = calloc(m->nr_pmem_frames, sizeof(*sbi->refs));
	if (!sb || !sbi || !sbi->refs) {
		if (sbi)
			free(sbi->refs);
		free(sbi);
		if (sb)
			sb_free(sb);
		return NULL;
	}
	mutex_init(&sbi->lock);
	sbi->nr_blocks = sbi->free_blocks = m->nr_pmem_frames;
	sb->s_fs_info = sbi;
	sb->s_op = &daxfs_ops;
	sb->s_fop = &daxfs_file_operations;
	sb->s_aops = &daxfs_aops;
	sb->s_dax = true;
	return sb;
}

void daxfs_put_super(struct super_block *sb)
{
	struct daxfs_sb_info *sbi = DAXFS_SB(sb);

	mutex_destroy(&sbi->lock);
	free(sbi->refs);
	free(sbi);
}
