/*
 * diskfs.c - the disk file system mounted at /disk/: each file is a host
 * file in a host directory, its pages read into the page cache with pread
 * (major faults, pgpgin) and written back with pwrite (writeback, fsync,
 * msync, reclaim, power-off).  So a machine's files outlive it, and a
 * second machine on the same directory reads them.
 *
 * The host file's size follows i_size at once (ftruncate); its bytes
 * follow the page cache at writeback.  Two live machines on one directory
 * do not see each other's cached pages (no coherence, as two kernels
 * sharing a disk without a cluster file system).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fs/vfs.h"
#include "mm/hooks.h"
#include "mm/pagemap.h"

static char *host_path(struct super_block *sb, const char *name)
{
	char *path;

	if (asprintf(&path, "%s/%s", sb->s_host_dir, name) < 0)
		return NULL;
	return path;
}

static int diskfs_open_host(struct inode *inode, const char *name, int flags)
{
	char *path = host_path(inode->i_sb, name);
	struct stat st;
	int fd;

	if (!path)
		return -ENOMEM;
	fd = open(path, O_RDWR | O_CLOEXEC | flags, 0600);
	free(path);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -ENOENT;
	}
	inode->host_fd = fd;
	i_size_write(inode, st.st_size);
	inode->i_blocks = st.st_blocks;
	return 0;
}

static int diskfs_create(struct inode *inode, const char *name)
{
	return diskfs_open_host(inode, name, O_CREAT | O_EXCL);
}

/* A file the host directory has but the machine has not looked at yet. */
static int diskfs_lookup(struct inode *inode, const char *name)
{
	return diskfs_open_host(inode, name, 0);
}

static int diskfs_unlink(struct inode *inode)
{
	char *path = host_path(inode->i_sb, inode->i_name);
	int err;

	if (!path)
		return -ENOMEM;
	err = unlink(path) ? -errno : 0;
	free(path);
	return err;
}

static void diskfs_evict_inode(struct inode *inode)
{
	/* Its name kept it until power-off, which wrote it back, or it was unlinked. */
	if (inode->host_fd >= 0)
		close(inode->host_fd);
	inode->host_fd = -1;
}

/*
 * The file grew from oldsize (truncate up, fallocate, a write past the
 * end): what a mapping stored past the old end in the old last page is
 * not file data, and reads as the hole it now is (ext4 zeroes it so).
 */
static void diskfs_size_extended(struct inode *inode, int64_t oldsize, int64_t size)
{
	i_size_write(inode, size);
	if (oldsize & (PAGE_SIZE - 1))
		truncate_inode_pages_range(inode->i_mapping, oldsize, oldsize | (int64_t)(PAGE_SIZE - 1));
}

/* The new size goes to the host at once; the cache loses what lies beyond it. */
static int diskfs_setattr_size(struct inode *inode, int64_t size)
{
	int64_t oldsize = i_size_read(inode);

	if (ftruncate(inode->host_fd, size))
		return -errno;
	if (size > oldsize) {
		diskfs_size_extended(inode, oldsize, size);
	} else {
		i_size_write(inode, size);
		if (size < oldsize)
			truncate_pagecache(inode, size);
	}
	return 0;
}

static int diskfs_read_folio(struct file *file, struct folio *folio)
{
	struct inode *inode = ((struct address_space *)folio->mapping)->host;
	struct mml_machine *m = inode->i_sb->machine;
	char *addr = folio_address(m, folio);
	ssize_t n = pread(inode->host_fd, addr, PAGE_SIZE, (off_t)folio->index << PAGE_SHIFT);

	if (n < 0)
		return -EIO;
	memset(addr + n, 0, PAGE_SIZE - (size_t)n);	/* past the host file's end: a hole */
	count_vm_events(m, PGPGIN, PAGE_SIZE / 1024);
	return 0;
}

/* Write the bytes of the folio that lie below i_size. */
static int diskfs_writepage(struct folio *folio, struct writeback_control *wbc)
{
	struct inode *inode = ((struct address_space *)folio->mapping)->host;
	struct mml_machine *m = inode->i_sb->machine;
	int64_t pos = (int64_t)folio->index << PAGE_SHIFT, isize = i_size_read(inode);
	size_t len = isize <= pos ? 0 : (size_t)min((int64_t)PAGE_SIZE, isize - pos);
	char buf[PAGE_SIZE];

	if (should_fail(m, MML_FAIL_SWAP_IO))
		return -EIO;
	if (!len)
		return 0;
	/* A frame's bytes: a device may be writing them through a pin meanwhile. */
	page_data_copy(buf, folio_address(m, folio), len);
	if (pwrite(inode->host_fd, buf, len, pos) != (ssize_t)len)
		return -EIO;
	count_vm_events(m, PGPGOUT, PAGE_SIZE / 1024);
	return 0;
}

static int diskfs_fsync(struct file *file)
{
	return filemap_write_and_wait_range(file->f_mapping, 0, -1);
}

static int diskfs_fallocate(struct file *file, int mode, int64_t off, int64_t len)
{
	struct inode *inode = file_inode(file);
	struct address_space *mapping = inode->i_mapping;
	int err = 0;

	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE))
		return -EOPNOTSUPP;
	if (!(mode & FALLOC_FL_PUNCH_HOLE)) {
		if (fallocate(inode->host_fd, mode, off, len))
			return -errno;
		if (off + len > i_size_read(inode) && !(mode & FALLOC_FL_KEEP_SIZE))
			diskfs_size_extended(inode, i_size_read(inode), off + len);
		return 0;
	}
	/* The cache first (no fault refills it meanwhile), then the host's blocks. */
	down_write(&mapping->invalidate_lock);
	{
		int64_t unmap_start = (off + (int64_t)PAGE_SIZE - 1) & ~(int64_t)(PAGE_SIZE - 1);
		int64_t unmap_end = (off + len) & ~(int64_t)(PAGE_SIZE - 1);

		if (unmap_end > unmap_start)
			unmap_mapping_range(mapping, unmap_start, unmap_end - unmap_start, false);
	}
	truncate_inode_pages_range(mapping, off, off + len - 1);
	/*
	 * Zeroed partial pages go to the host before its hole is made.  A
	 * writeback that fails leaves them clean with the zeros the host
	 * did not get, as Linux leaves a folio whose writeback failed, and
	 * this call reports it: the hole is made all the same, or the whole
	 * pages just dropped from the cache would come back from the host.
	 */
	err = filemap_write_and_wait_range(mapping, off, off + len - 1);
	if (fallocate(inode->host_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len) && !err)
		err = -errno;
	up_write(&mapping->invalidate_lock);
	return err;
}

static int diskfs_mmap(struct file *file, struct vm_area_struct *vma)
{
	vma->vm_ops = &generic_file_vm_ops;
	return 0;
}

/* The host directory's file system is the disk's. */
static void diskfs_statfs(struct super_block *sb, struct statvfs *buf)
{
	if (statvfs(sb->s_host_dir, buf))
		memset(buf, 0, sizeof(*buf));
}

static const struct super_operations diskfs_ops = {
	.create = diskfs_create,
	.lookup = diskfs_lookup,
	.unlink = diskfs_unlink,
	.setattr_size = diskfs_setattr_size,
	.evict_inode = diskfs_evict_inode,
	.statfs = diskfs_statfs,
};

static const struct file_operations diskfs_file_operations = {
	.read_iter = filemap_read,
	.write_iter = generic_perform_write,
	.fsync = diskfs_fsync,
	.fallocate = diskfs_fallocate,
	.mmap = diskfs_mmap,
};

static const struct address_space_operations diskfs_aops = {
	.read_folio = diskfs_read_folio,
	.writepage = diskfs_writepage,
};

struct super_block *diskfs_fill_super(struct mml_machine *m, const char *root, unsigned int dev, const char *dir)
{
	struct super_block *sb = sb_alloc(m, "diskfs", root, dev);
	char tmpl[PATH_MAX];

	if (!sb)
		return NULL;
	sb->s_op = &diskfs_ops;
	sb->s_fop = &diskfs_file_operations;
	sb->s_aops = &diskfs_aops;
	sb->s_writeback = true;
	if (dir) {
		sb->s_host_dir = strdup(dir);
	} else {
		const char *tmp = getenv("TMPDIR");

		snprintf(tmpl, sizeof(tmpl), "%s/mmlab-disk.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (mkdtemp(tmpl)) {
			sb->s_host_dir = strdup(tmpl);
			sb->s_host_dir_owned = true;
			if (!sb->s_host_dir)
				rmdir(tmpl);
		}
	}
	if (!sb->s_host_dir) {
		sb_free(sb);
		return NULL;
	}
	return sb;
}

/* Power-off: a temporary directory goes with its files. */
void diskfs_put_super(struct super_block *sb)
{
	if (sb->s_host_dir_owned) {
		DIR *d = opendir(sb->s_host_dir);
		struct dirent *e;

		while (d && (e = readdir(d))) {
			char *path;

			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			path = host_path(sb, e->d_name);
			if (path)
				unlink(path);
			free(path);
		}
		if (d)
			closedir(d);
		rmdir(sb->s_host_dir);
	}
	free(sb->s_host_dir);
}
