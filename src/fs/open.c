/*
 * open.c - the file syscalls (Linux's fs/open.c, fs/namei.c, fs/file.c,
 * fs/read_write.c, fs/stat.c, fs/fcntl.c, mm/memfd.c's syscall): path
 * lookup in the machine's flat directories, descriptor tables, and the
 * calls that go through an open file to its file system.
 *
 * Simplifications, each in docs/deviations.md: a directory is a mount's
 * root and holds names without '/'; one user owns every file (mode bits
 * are kept, not enforced); no O_APPEND, O_DIRECT or file locks.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fs/vfs.h"
#include "mm/mm.h"
#include "mm/pagemap.h"

/* Linux's MAX_RW_COUNT: one read or write moves at most this much. */
#define MAX_RW_COUNT	(0x7fffffff & ~(int64_t)(PAGE_SIZE - 1))
#define MFD_NAME_MAX_LEN	249	/* NAME_MAX less "memfd:" */

/* ---- descriptor tables ------------------------------------------------------------- */

struct files_struct *files_alloc(struct mml_machine *m)
{
	struct files_struct *files = mml_obj_alloc(m, OBJ_FILES, sizeof(*files));

	if (!files)
		return NULL;
	atomic_set(&files->count, 1);
	spin_lock_init(&files->file_lock);
	files->machine = m;
	return files;
}

/* Room for fd (under file_lock, allocating outside it as Linux's expand_files). */
static int expand_files(struct files_struct *files, int fd)
{
	unsigned int want;
	struct file **fdt;
	unsigned char *coe;

	while ((unsigned int)fd >= files->max_fds) {
		want = files->max_fds ? files->max_fds * 2 : 64;
		spin_unlock(&files->file_lock);
		fdt = calloc(want, sizeof(*fdt));
		coe = calloc(want, 1);
		spin_lock(&files->file_lock);
		if (!fdt || !coe) {
			free(fdt);
			free(coe);
			return -ENOMEM;
		}
		if (want <= files->max_fds) {	/* someone else grew it */
			free(fdt);
			free(coe);
			continue;
		}
		if (files->max_fds) {
			memcpy(fdt, files->fd, files->max_fds * sizeof(*fdt));
			memcpy(coe, files->close_on_exec, files->max_fds);
		}
		free(files->fd);
		free(files->close_on_exec);
		files->fd = fdt;
		files->close_on_exec = coe;
		files->max_fds = want;
	}
	return 0;
}

/* Models alloc_fd() + fd_install(): the lowest free descriptor now holds file (our reference). */
static int fd_install_lowest(struct files_struct *files, struct file *file, bool cloexec)
{
	int fd, err;

	spin_lock(&files->file_lock);
	for (fd = 0; fd < NR_OPEN_DEFAULT; fd++) {
		if ((unsigned int)fd < files->max_fds && files->fd[fd])
			continue;
		err = expand_files(files, fd);
		if (err) {
			spin_unlock(&files->file_lock);
			return err;
		}
		if (files->fd[fd])
			continue;	/* taken while we grew the table */
		files->fd[fd] = file;
		files->close_on_exec[fd] = cloexec;
		spin_unlock(&files->file_lock);
		return fd;
	}
	spin_unlock(&files->file_lock);
	return -EMFILE;
}

struct files_struct *dup_fd(struct files_struct *old)
{
	struct files_struct *files = files_alloc(old->machine);

	if (!files)
		return NULL;
	spin_lock(&old->file_lock);
	if (old->max_fds) {
		files->fd = calloc(old->max_fds, sizeof(*files->fd));
		files->close_on_exec = calloc(old->max_fds, 1);
		if (!files->fd || !files->close_on_exec) {
			spin_unlock(&old->file_lock);
			put_files_struct(files);
			return NULL;
		}
		files->max_fds = old->max_fds;
		for (unsigned int i = 0; i < old->max_fds; i++) {
			files->fd[i] = old->fd[i];
			files->close_on_exec[i] = old->close_on_exec[i];
			if (files->fd[i])
				get_file(files->fd[i]);
		}
	}
	spin_unlock(&old->file_lock);
	return files;
}

/* The last thread of a process let go: every descriptor closes. */
void put_files_struct(struct files_struct *files)
{
	if (!atomic_dec_and_test(&files->count))
		return;
	for (unsigned int i = 0; i < files->max_fds; i++)
		if (files->fd[i])
			fput(files->fd[i]);
	free(files->fd);
	free(files->close_on_exec);
	spin_lock_destroy(&files->file_lock);
	mml_obj_free(files->machine, OBJ_FILES, files);
}

struct file *fget(struct mml_task *t, int fd)
{
	struct files_struct *files = t->files;
	struct file *file = NULL;

	if (fd < 0)
		return NULL;
	spin_lock(&files->file_lock);
	if ((unsigned int)fd < files->max_fds && files->fd[fd]) {
		file = files->fd[fd];
		get_file(file);
	}
	spin_unlock(&files->file_lock);
	return file;
}

/* ---- names -------------------------------------------------------------------------- */

/* The mount a path lies in and its name there: 0, -ENOENT, -EISDIR, -ENAMETOOLONG. */
static int path_lookup(struct mml_machine *m, const char *path, struct super_block **sbp, const char **namep)
{
	for (int i = 0; i < NR_MOUNTS; i++) {
		struct super_block *sb = m->mounts[i];
		size_t rootlen = sb ? strlen(sb->s_root) : 0;
		const char *name = path + rootlen;

		if (!rootlen || strncmp(path, sb->s_root, rootlen))
			continue;
		*sbp = sb;
		if (!*name)
			return -EISDIR;
		if (strchr(name, '/'))
			return -ENOENT;	/* no subdirectories */
		if (strlen(name) > 255)
			return -ENAMETOOLONG;
		*sbp = sb;
		*namep = name;
		return 0;
	}
	return strlen(path) >= 4096 ? -ENAMETOOLONG : -ENOENT;
}

/* The dentry of name, looked up on the store if the directory has none yet (disk).  s_dir_lock held. */
static struct dentry *d_lookup(struct super_block *sb, const char *name, int *err)
{
	struct mml_machine *m = sb->machine;
	struct dentry *d;
	struct inode *inode;

	*err = 0;
	list_for_each_entry(d, &sb->s_dentries, d_child)
		if (!strcmp(d->d_name, name))
			return d;
	inode = new_inode(sb, name);
	d = mml_obj_alloc(m, OBJ_DENTRY, sizeof(*d));
	if (!inode || !d) {
		if (inode)
			iput(inode);
		if (d)
			mml_obj_free(m, OBJ_DENTRY, d);
		*err = -ENOMEM;
		return NULL;
	}
	*err = sb->s_op->lookup(inode, name);
	if (*err) {
		iput(inode);
		mml_obj_free(m, OBJ_DENTRY, d);
		return NULL;
	}
	inode->i_nlink = 1;
	inode->seals = F_SEAL_SEAL;
	d->d_inode = inode;
	strcpy(d->d_name, name);
	list_add_tail(&d->d_child, &sb->s_dentries);
	return d;
}

/* A new file name in sb (O_CREAT).  s_dir_lock held. */
static struct dentry *d_create(struct super_block *sb, const char *name, unsigned int mode, int *err)
{
	struct mml_machine *m = sb->machine;
	struct inode *inode = new_inode(sb, name);
	struct dentry *d = mml_obj_alloc(m, OBJ_DENTRY, sizeof(*d));

	*err = -ENOMEM;
	if (inode && d)
		*err = sb->s_op->create(inode, name);
	if (*err) {
		if (inode)
			iput(inode);
		if (d)
			mml_obj_free(m, OBJ_DENTRY, d);
		return NULL;
	}
	inode->i_mode = S_IFREG | (mode & 07777 & ~022);	/* the processes' umask is 022 */
	inode->i_nlink = 1;
	inode->seals = F_SEAL_SEAL;	/* only memfds can be sealed */
	d->d_inode = inode;
	strcpy(d->d_name, name);
	list_add_tail(&d->d_child, &sb->s_dentries);
	return d;
}

/*
 * The preamble of a call on a descriptor (Linux's CLASS(fd)): the
 * operation entered and the file referenced; or NULL, the call already
 * left with *ret its result (-EINTR, -EBADF).
 */
static struct file *fdget_enter(struct mml_task *t, int fd, long *ret)
{
	struct file *file;

	*ret = op_enter_task(t);
	if (*ret)
		return NULL;
	file = fget(t, fd);
	if (!file)
		*ret = op_exit_task(t, -EBADF);
	return file;
}

/* ... and its end. */
static long fdput_exit(struct mml_task *t, struct file *file, long ret)
{
	fput(file);
	return op_exit_task(t, ret);
}

/*
 * do_dentry_open()'s part for CONFIG_READ_ONLY_THP_FOR_FS: the page
 * cache of a file khugepaged gave huge pages is dropped whole before
 * anyone may write it (writes to such pages are not supported); a
 * collapse that raced sees i_writecount and gives up.  Linux truncates
 * at once; mmlab writes dirty small pages back first, so that nothing
 * written through an earlier descriptor is lost.
 */
static void drop_file_thps(struct address_space *mapping)
{
	if (!atomic_read(&mapping->nr_thps))
		return;
	down_write(&mapping->invalidate_lock);
	filemap_write_and_wait_range(mapping, 0, -1);
	unmap_mapping_range(mapping, 0, 0, false);
	truncate_inode_pages_range(mapping, 0, -1);
	up_write(&mapping->invalidate_lock);
}

int mml_open(struct mml_task *t, const char *path, int flags, unsigned mode)
{
	int accmode = flags & O_ACCMODE, err;
	unsigned int fmode = accmode == O_RDONLY ? FMODE_READ : accmode == O_WRONLY ? FMODE_WRITE :
			     FMODE_READ | FMODE_WRITE;
	struct super_block *sb;
	struct inode *inode;
	struct file *file;
	struct dentry *d;
	const char *name;
	long ret = op_enter_task(t);

	if (ret)
		return (int)ret;
	if (accmode == O_ACCMODE || (flags & (O_TMPFILE & ~O_DIRECTORY)))
		return (int)op_exit_task(t, -EINVAL);
	err = path_lookup(t->machine, path, &sb, &name);
	if (err)
		return (int)op_exit_task(t, err == -EISDIR && accmode == O_RDONLY && !(flags & O_CREAT) ?
					    -EOPNOTSUPP : err);
	mutex_lock(&sb->s_dir_lock);
	d = d_lookup(sb, name, &err);
	if (d && (flags & O_CREAT) && (flags & O_EXCL))
		err = -EEXIST;
	else if (!d && err == -ENOENT && (flags & O_CREAT))
		d = d_create(sb, name, mode, &err);
	if (d && !err)
		ihold(d->d_inode);
	mutex_unlock(&sb->s_dir_lock);
	if (err)
		return (int)op_exit_task(t, err);
	inode = d->d_inode;
	/*
	 * do_open(): O_TRUNC truncates whatever the access mode (the owner may
	 * write), an empty file too: shmem_setattr then drops what
	 * fallocate(FALLOC_FL_KEEP_SIZE) left past the end.
	 */
	if (flags & O_TRUNC) {
		down_write(&inode->i_rwsem);
		err = (inode->seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) ||
		      ((inode->seals & F_SEAL_SHRINK) && i_size_read(inode)) ? -EPERM :
		      sb->s_op->setattr_size(inode, 0);
		up_write(&inode->i_rwsem);
	}
	file = err ? NULL : alloc_file(inode, fmode, (unsigned int)flags);
	iput(inode);
	if (!file)
		return (int)op_exit_task(t, err ? err : -ENOMEM);
	if (fmode & FMODE_WRITE)
		drop_file_thps(file->f_mapping);
	ret = fd_install_lowest(t->files, file, flags & O_CLOEXEC);
	if (ret < 0)
		fput(file);
	return (int)op_exit_task(t, ret);
}

int mml_memfd_create(struct mml_task *t, const char *uname, unsigned flags)
{
	unsigned int allowed = MFD_CLOEXEC | MFD_ALLOW_SEALING;
	char name[8 + MFD_NAME_MAX_LEN];
	struct file *file;
	long ret;

#ifdef MFD_NOEXEC_SEAL
	allowed |= MFD_NOEXEC_SEAL | MFD_EXEC;
	if (flags & MFD_NOEXEC_SEAL)
		flags |= MFD_ALLOW_SEALING;
#endif
	if (flags & ~allowed)
		return -EINVAL;
	if (strlen(uname) > MFD_NAME_MAX_LEN)
		return -EINVAL;
	ret = op_enter_task(t);
	if (ret)
		return (int)ret;
	snprintf(name, sizeof(name), "memfd:%s", uname);
	file = shmem_file_setup(t->machine, name, 0, (flags & MFD_ALLOW_SEALING) ? 0 : F_SEAL_SEAL);
	if (!file)
		return (int)op_exit_task(t, -ENOMEM);
	ret = fd_install_lowest(t->files, file, flags & MFD_CLOEXEC);
	if (ret < 0)
		fput(file);
	return (int)op_exit_task(t, ret);
}

int mml_close(struct mml_task *t, int fd)
{
	struct files_struct *files = t->files;
	struct file *file = NULL;
	long ret = op_enter_task(t);

	if (ret)
		return (int)ret;
	spin_lock(&files->file_lock);
	if (fd >= 0 && (unsigned int)fd < files->max_fds) {
		file = files->fd[fd];
		files->fd[fd] = NULL;
	}
	spin_unlock(&files->file_lock);
	if (!file)
		return (int)op_exit_task(t, -EBADF);
	fput(file);
	return (int)op_exit_task(t, 0);
}

int mml_dup(struct mml_task *t, int fd)
{
	struct file *file;
	long ret;

	file = fdget_enter(t, fd, &ret);
	if (!file)
		return (int)ret;
	ret = fd_install_lowest(t->files, file, false);
	if (ret < 0)
		fput(file);
	return (int)op_exit_task(t, ret);
}

int mml_unlink(struct mml_task *t, const char *path)
{
	struct super_block *sb;
	struct inode *inode = NULL;
	struct dentry *d;
	const char *name;
	long ret = op_enter_task(t);
	int err;

	if (ret)
		return (int)ret;
	err = path_lookup(t->machine, path, &sb, &name);
	if (err)
		return (int)op_exit_task(t, err);
	mutex_lock(&sb->s_dir_lock);
	d = d_lookup(sb, name, &err);
	if (d) {
		err = sb->s_op->unlink(d->d_inode);
		if (!err) {
			list_del(&d->d_child);
			inode = d->d_inode;
			inode->i_nlink = 0;
			mml_obj_free(t->machine, OBJ_DENTRY, d);
		}
	}
	mutex_unlock(&sb->s_dir_lock);
	if (inode)
		iput(inode);	/* the name's reference: open files and mappings keep theirs */
	return (int)op_exit_task(t, err);
}

/* ---- through an open file ---------------------------------------------------------------- */

int mml_ftruncate(struct mml_task *t, int fd, int64_t len)
{
	struct file *file;
	struct inode *inode;
	long ret = op_enter_task(t);

	if (ret)
		return (int)ret;
	/* do_sys_ftruncate(): the length is checked before the descriptor. */
	if (len < 0)
		return (int)op_exit_task(t, -EINVAL);
	file = fget(t, fd);
	if (!file)
		return (int)op_exit_task(t, -EBADF);
	inode = file_inode(file);
	if (!(file->f_mode & FMODE_WRITE)) {
		ret = -EINVAL;
	} else {
		down_write(&inode->i_rwsem);
		ret = inode->i_sb->s_op->setattr_size(inode, len);
		up_write(&inode->i_rwsem);
	}
	return (int)fdput_exit(t, file, ret);
}

/* vfs_fallocate(): the checks in Linux's order, then the file system under i_rwsem. */
int vfs_fallocate(struct file *file, int mode, int64_t off, int64_t len)
{
	struct inode *inode = file_inode(file);
	int ret = 0;

	if (off < 0 || len <= 0)
		ret = -EINVAL;
	else if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE))
		ret = -EOPNOTSUPP;
	else if ((mode & FALLOC_FL_PUNCH_HOLE) && !(mode & FALLOC_FL_KEEP_SIZE))
		ret = -EOPNOTSUPP;
	else if (!(file->f_mode & FMODE_WRITE))
		ret = -EBADF;
	else if (off > INT64_MAX - len)
		ret = -EFBIG;
	if (!ret) {
		down_write(&inode->i_rwsem);
		ret = file->f_op->fallocate(file, mode, off, len);
		up_write(&inode->i_rwsem);
	}
	return ret;
}

int mml_fallocate(struct mml_task *t, int fd, int mode, int64_t off, int64_t len)
{
	struct file *file;
	long ret;

	file = fdget_enter(t, fd, &ret);
	if (!file)
		return (int)ret;
	ret = vfs_fallocate(file, mode, off, len);
	return (int)fdput_exit(t, file, ret);
}

long mml_pread(struct mml_task *t, int fd, void *buf, uint64_t len, int64_t off)
{
	struct file *file;
	long ret;

	file = fdget_enter(t, fd, &ret);
	if (!file)
		return ret;
	if (off < 0)
		ret = -EINVAL;
	else if (!(file->f_mode & FMODE_READ))
		ret = -EBADF;
	else if (len)
		ret = file->f_op->read_iter(file, buf, min(len, (uint64_t)MAX_RW_COUNT), off);
	return fdput_exit(t, file, ret);
}

long mml_pwrite(struct mml_task *t, int fd, const void *buf, uint64_t len, int64_t off)
{
	struct file *file;
	struct inode *inode;
	long ret;

	file = fdget_enter(t, fd, &ret);
	if (!file)
		return ret;
	inode = file_inode(file);
	len = min(len, (uint64_t)MAX_RW_COUNT);
	if (off < 0)
		ret = -EINVAL;
	else if (!(file->f_mode & FMODE_WRITE))
		ret = -EBADF;
	else if (len && (int64_t)len > INT64_MAX - off)
		ret = -EFBIG;
	else if (len) {
		down_write(&inode->i_rwsem);
		ret = file->f_op->write_iter(file, buf, len, off);
		up_write(&inode->i_rwsem);
	}
	return fdput_exit(t, file, ret);
}

/*
 * Models ioctl_file_clone() + vfs_clone_file_range() and the checks of
 * generic_remap_file_range_prep for FICLONE (the whole source file).
 */
int mml_ficlone(struct mml_task *t, int dst_fd, int src_fd)
{
	struct file *file, *src;
	struct inode *si, *di;
	long ret;

	file = fdget_enter(t, dst_fd, &ret);
	if (!file)
		return (int)ret;
	src = fget(t, src_fd);
	if (!src)
		return (int)fdput_exit(t, file, -EBADF);
	si = file_inode(src);
	di = file_inode(file);
	if (si->i_sb != di->i_sb)
		ret = -EXDEV;
	else if (S_ISDIR(si->i_mode) || S_ISDIR(di->i_mode))
		ret = -EISDIR;
	else if (!S_ISREG(si->i_mode) || !S_ISREG(di->i_mode))
		ret = -EINVAL;
	else if (!(src->f_mode & FMODE_READ) || !(file->f_mode & FMODE_WRITE) || (file->f_flags & O_APPEND))
		ret = -EBADF;
	else if (!file->f_op->remap_file_range)
		ret = -EOPNOTSUPP;
	else if (si == di)	/* the whole file onto itself overlaps, unless it is empty */
		ret = i_size_read(si) ? -EINVAL : 0;
	else if (di->seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE))
		ret = -EPERM;
	else
		ret = file->f_op->remap_file_range(src, file);
	fput(src);
	return (int)fdput_exit(t, file, ret);
}

int mml_fsync(struct mml_task *t, int fd)
{
	struct file *file;
	long ret;

	file = fdget_enter(t, fd, &ret);
	if (!file)
		return (int)ret;
	ret = file->f_op->fsync(file);
	return (int)fdput_exit(t, file, ret);
}

int mml_fstat(struct mml_task *t, int fd, struct stat *st)
{
	struct file *file;
	struct inode *inode;
	long ret;

	file = fdget_enter(t, fd, &ret);
	if (!file)
		return (int)ret;
	inode = file_inode(file);
	memset(st, 0, sizeof(*st));
	st->st_dev = inode->i_sb->s_dev;
	st->st_ino = inode->i_ino;
	st->st_mode = inode->i_mode;
	st->st_nlink = inode->i_nlink;
	st->st_size = i_size_read(inode);
	st->st_blksize = PAGE_SIZE;
	if (inode->host_fd >= 0) {
		struct stat host;

		/* What the disk holds (blocks written back or allocated). */
		st->st_blocks = fstat(inode->host_fd, &host) ? 0 : host.st_blocks;
	} else {
		st->st_blocks = atomic_long_read((atomic_long_t *)&inode->i_blocks);
	}
	fput(file);
	return (int)op_exit_task(t, 0);
}

/*
 * Models statfs() + the C library's statvfs(): the mount's root ("/pmem/"
 * or "/pmem") or a file in it.  ENOENT for no such file or mount.
 */
int mml_statvfs(struct mml_task *t, const char *path, struct statvfs *out)
{
	struct super_block *sb = NULL;
	const char *name;
	char root[64];
	long ret = op_enter_task(t);
	int err;

	if (ret)
		return (int)ret;
	/* The mount point without its '/' names the root too. */
	if (snprintf(root, sizeof(root), "%s/", path) < (int)sizeof(root) && !strchr(path + 1, '/'))
		path = root;
	err = path_lookup(t->machine, path, &sb, &name);
	if (!err) {
		struct dentry *d;

		mutex_lock(&sb->s_dir_lock);
		d = d_lookup(sb, name, &err);
		mutex_unlock(&sb->s_dir_lock);
		if (!d && !err)
			err = -ENOENT;
	} else if (err == -EISDIR) {
		err = 0;
	}
	if (err)
		return (int)op_exit_task(t, err);
	memset(out, 0, sizeof(*out));
	sb->s_op->statfs(sb, out);
	out->f_fsid = sb->s_dev;
	out->f_namemax = 255;
	return (int)op_exit_task(t, 0);
}

int mml_fcntl(struct mml_task *t, int fd, int cmd, long arg)
{
	struct files_struct *files = t->files;
	struct file *file;
	long ret;

	file = fdget_enter(t, fd, &ret);
	if (!file)
		return (int)ret;
	switch (cmd) {
	case F_GETFD:
		spin_lock(&files->file_lock);
		ret = files->close_on_exec[fd] ? FD_CLOEXEC : 0;
		spin_unlock(&files->file_lock);
		break;
	case F_SETFD:
		spin_lock(&files->file_lock);
		if ((unsigned int)fd < files->max_fds && files->fd[fd])
			files->close_on_exec[fd] = (arg & FD_CLOEXEC) != 0;
		spin_unlock(&files->file_lock);
		break;
	case F_ADD_SEALS:
	case F_GET_SEALS:
		ret = memfd_fcntl(file, cmd, arg);
		break;
	default:
		ret = -EINVAL;
	}
	return (int)fdput_exit(t, file, ret);
}

/*
 * drop_pagecache_sb() over every mount (fs/drop_caches.c): every clean,
 * unused page-cache folio goes.  Inside an operation: the sysctl file and
 * mml_drop_caches both call it.
 */
void drop_pagecache(struct mml_machine *m)
{
	for (int i = 0; i < NR_MOUNTS; i++) {
		struct super_block *sb = m->mounts[i];
		struct inode *inode, *prev = NULL;

		if (!sb || sb->s_dax)
			continue;	/* no pmem device; a DAX file has no page cache */
		spin_lock(&sb->s_inode_list_lock);
		list_for_each_entry(inode, &sb->s_inodes, i_sb_list) {
			if (!atomic_add_unless(&inode->i_count, 1, 0))
				continue;
			spin_unlock(&sb->s_inode_list_lock);
			if (prev)
				iput(prev);
			prev = inode;
			invalidate_mapping_pages(inode->i_mapping, 0, ~0UL);
			spin_lock(&sb->s_inode_list_lock);
		}
		spin_unlock(&sb->s_inode_list_lock);
		if (prev)
			iput(prev);
	}
}

/* drop_caches, as writing mode to /proc/sys/vm/drop_caches (1 and 3 drop the page cache, 2 and 3 run the shrinkers). */
int mml_drop_caches(struct mml_machine *m, int mode)
{
	if (mode < 1 || mode > 3)
		return -EINVAL;
	op_enter(m, NULL);
	if (mode & 1) {
		lru_add_drain_all(m);	/* as Linux's handler: a new folio's batch reference would keep it */
		drop_pagecache(m);
	}
	if (mode & 2)
		drop_slab(m);
	return (int)op_exit(m, 0);
}
