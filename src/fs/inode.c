/*
 * inode.c - inodes, open files and mounts (Linux's fs/inode.c,
 * fs/file_table.c, fs/super.c): an inode lives while its name, an open
 * file or a mapping holds it; the last reference evicts it, taking its
 * pages (and shmem's swap entries, and the disk file's host file if it
 * was unlinked) with it.
 */
#include <stdlib.h>
#include <string.h>

#include "fs/vfs.h"
#include "mm/hooks.h"
#include "mm/pagemap.h"

static bool xa_may_alloc(void *arg)
{
	return !should_fail(arg, MML_FAIL_META);
}

struct super_block *sb_alloc(struct mml_machine *m, const char *type, const char *root, unsigned int dev)
{
	struct super_block *sb = calloc(1, sizeof(*sb));

	if (!sb)
		return NULL;
	sb->s_type = type;
	sb->s_root = root;
	sb->s_dev = dev;
	sb->machine = m;
	mutex_init(&sb->s_dir_lock);
	INIT_LIST_HEAD(&sb->s_dentries);
	spin_lock_init(&sb->s_inode_list_lock);
	INIT_LIST_HEAD(&sb->s_inodes);
	sb->s_xa_acct = (struct xa_node_acct){ .may_alloc = xa_may_alloc, .arg = m, .nr_nodes = &m->objs[OBJ_XA_NODE] };
	return sb;
}

void sb_free(struct super_block *sb)
{
	mutex_destroy(&sb->s_dir_lock);
	spin_lock_destroy(&sb->s_inode_list_lock);
	free(sb);
}

/* Models address_space_init_once() + inode_init_always()'s mapping half. */
static void address_space_init(struct address_space *mapping, struct inode *host)
{
	struct super_block *sb = host->i_sb;

	mapping->host = host;
	xa_init(&mapping->i_pages, &sb->machine->rcu, &sb->s_xa_acct);
	init_rwsem(&mapping->invalidate_lock);
	init_rwsem(&mapping->i_mmap_rwsem);
	INIT_LIST_HEAD(&mapping->i_mmap);
	mapping->a_ops = sb->s_aops;
}

struct inode *new_inode(struct super_block *sb, const char *name)
{
	struct mml_machine *m = sb->machine;
	struct inode *inode = mml_obj_alloc(m, OBJ_INODE, sizeof(*inode));

	if (!inode)
		return NULL;
	inode->i_name = strdup(name ? name : "");
	if (!inode->i_name) {
		mml_obj_free(m, OBJ_INODE, inode);
		return NULL;
	}
	inode->i_ino = (unsigned long)atomic_long_add_return(1, &m->next_ino);
	inode->i_mode = S_IFREG | 0600;
	inode->host_fd = -1;
	inode->i_sb = sb;
	inode->i_machine = m;
	atomic_set(&inode->i_count, 1);
	init_rwsem(&inode->i_rwsem);
	inode->i_mapping = &inode->i_data;
	address_space_init(&inode->i_data, inode);
	INIT_LIST_HEAD(&inode->i_swaplist);
	spin_lock(&sb->s_inode_list_lock);
	list_add_tail(&inode->i_sb_list, &sb->s_inodes);
	spin_unlock(&sb->s_inode_list_lock);
	return inode;
}

/* i_callback(): the memory goes once no lockless reader (GUP-fast) can be looking at it. */
static void inode_free_rcu(struct callback_head *head)
{
	struct inode *inode = container_of(head, struct inode, i_rcu);

	mml_obj_free(inode->i_machine, OBJ_INODE, inode);
}

void ihold(struct inode *inode)
{
	atomic_inc(&inode->i_count);
}

/*
 * Models iput() + evict(): the file system lets go of its store, every
 * page leaves the cache (nobody maps it: a mapping holds a reference).
 */
void iput(struct inode *inode)
{
	struct super_block *sb = inode->i_sb;
	struct mml_machine *m = sb->machine;

	if (!atomic_dec_and_test(&inode->i_count))
		return;
	sb->s_op->evict_inode(inode);
	truncate_inode_pages_range(inode->i_mapping, 0, -1);
	VM_BUG_ON(inode->i_data.nrpages || inode->i_data.nrswapped || !list_empty(&inode->i_data.i_mmap));
	spin_lock(&sb->s_inode_list_lock);
	list_del(&inode->i_sb_list);
	spin_unlock(&sb->s_inode_list_lock);
	xa_destroy(&inode->i_data.i_pages);
	destroy_rwsem(&inode->i_data.invalidate_lock);
	destroy_rwsem(&inode->i_data.i_mmap_rwsem);
	destroy_rwsem(&inode->i_rwsem);
	free(inode->i_name);
	rcu_batch_add(&m->rcu, &inode->i_rcu, inode_free_rcu);
}

struct file *alloc_file(struct inode *inode, unsigned int fmode, unsigned int flags)
{
	struct mml_machine *m = inode->i_sb->machine;
	struct file *file = mml_obj_alloc(m, OBJ_FILE, sizeof(*file));

	if (!file)
		return NULL;
	atomic_long_set(&file->f_count, 1);
	file->f_mode = fmode;
	file->f_flags = flags;
	file->f_inode = inode;
	file->f_mapping = inode->i_mapping;
	file->f_op = inode->i_sb->s_fop;
	file->machine = m;
	ihold(inode);
	if (fmode & FMODE_WRITE)
		atomic_add(1, &inode->i_writecount);
	return file;
}

void get_file(struct file *file)
{
	atomic_long_add(1, &file->f_count);
}

/* Models fput() + __fput(): the last reference lets go of the inode. */
void fput(struct file *file)
{
	if (atomic_long_add_return(-1, &file->f_count))
		return;
	if (file->f_mode & FMODE_WRITE)
		atomic_add(-1, &file->f_inode->i_writecount);
	iput(file->f_inode);
	mml_obj_free(file->machine, OBJ_FILE, file);
}

/* ---- mounts -------------------------------------------------------------------------- */

static const char *const mount_roots[NR_MOUNTS] = {
	[MNT_DEV_SHM] = "/dev/shm/", [MNT_TMP] = "/tmp/", [MNT_DISK] = "/disk/", [MNT_SHM_INTERNAL] = "",
	[MNT_PMEM] = "/pmem/",
};

int vfs_init(struct mml_machine *m)
{
	unsigned long tmpfs_pages = m->cfg.tmpfs_bytes ? (unsigned long)(m->cfg.tmpfs_bytes >> PAGE_SHIFT)
						       : m->nr_frames / 2;

	spin_lock_init(&m->shmem_swaplist_lock);
	INIT_LIST_HEAD(&m->shmem_swaplist);
	/* Device numbers as a typical Linux boot gives its tmpfs mounts; the disk's is mmlab's own. */
	m->mounts[MNT_DEV_SHM] = shmem_fill_super(m, mount_roots[MNT_DEV_SHM], 0x17, tmpfs_pages ? tmpfs_pages : 1);
	m->mounts[MNT_TMP] = shmem_fill_super(m, mount_roots[MNT_TMP], 0x20, tmpfs_pages ? tmpfs_pages : 1);
	m->mounts[MNT_SHM_INTERNAL] = shmem_fill_super(m, mount_roots[MNT_SHM_INTERNAL], 0x01, 0);
	m->mounts[MNT_DISK] = diskfs_fill_super(m, mount_roots[MNT_DISK], 0x801, m->cfg.disk_dir);
	/* /dev/pmem0's device number (259:0, blkext), as a typical boot gives the first namespace. */
	if (m->pmem)
		m->mounts[MNT_PMEM] = daxfs_fill_super(m, mount_roots[MNT_PMEM], 0x10300);
	for (int i = 0; i < NR_MOUNTS; i++)
		if (!m->mounts[i] && (i != MNT_PMEM || m->pmem))
			return -ENOMEM;
	/* The mount option huge= (checked by mml_machine_new); the internal mount follows shmem_enabled. */
	if (m->cfg.tmpfs_huge)
		m->mounts[MNT_DEV_SHM]->s_huge = m->mounts[MNT_TMP]->s_huge = shmem_parse_huge(m->cfg.tmpfs_huge, false);
	return 0;
}

/* Drop every name of sb: what is neither open nor mapped goes. */
static void shrink_dcache_sb(struct super_block *sb)
{
	struct mml_machine *m = sb->machine;

	for (;;) {
		struct dentry *d = NULL;

		mutex_lock(&sb->s_dir_lock);
		if (!list_empty(&sb->s_dentries)) {
			d = list_first_entry(&sb->s_dentries, struct dentry, d_child);
			list_del(&d->d_child);
		}
		mutex_unlock(&sb->s_dir_lock);
		if (!d)
			return;
		iput(d->d_inode);	/* outside the directory's lock: eviction takes folio locks */
		mml_obj_free(m, OBJ_DENTRY, d);
	}
}

long vfs_exit(struct mml_machine *m)
{
	long leaked = 0;

	for (int i = 0; i < NR_MOUNTS; i++) {
		struct super_block *sb = m->mounts[i];
		struct inode *inode;

		if (!sb)
			continue;
		/* sync(): what processes wrote reaches the disk's host files. */
		list_for_each_entry(inode, &sb->s_inodes, i_sb_list)
			if (filemap_write_and_wait_range(inode->i_mapping, 0, -1))
				mml_report(m, "power-off: writeback of %s%s failed", sb->s_root, inode->i_name);
		shrink_dcache_sb(sb);
		while (!list_empty(&sb->s_inodes)) {
			inode = list_first_entry(&sb->s_inodes, struct inode, i_sb_list);
			mml_report(m, "leak: inode %lu (%s%s) still referenced %d time(s) at power-off",
				   inode->i_ino, sb->s_root, inode->i_name, atomic_read(&inode->i_count));
			leaked++;
			atomic_set(&inode->i_count, 1);
			iput(inode);
		}
		if (i == MNT_DISK)
			diskfs_put_super(sb);
		if (i == MNT_PMEM)
			daxfs_put_super(sb);
		sb_free(sb);
		m->mounts[i] = NULL;
	}
	spin_lock_destroy(&m->shmem_swaplist_lock);
	return leaked;
}
