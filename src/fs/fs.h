/*
 * fs.h - the VFS objects the memory-management core works with (Linux's
 * include/linux/fs.h, fdtable.h and shmem_fs.h, reduced): the inode and
 * its address_space (page cache, i_mmap), the open file, the super block
 * of a mount, and a process's descriptor table.
 *
 * Layering: src/mm includes this header for the structures (as Linux's mm/
 * includes linux/fs.h) and calls file systems only through the operation
 * tables below; src/fs implements the VFS calls (open, close, read, write,
 * truncate) and the disk file system on top of the core.  Lock letters as
 * in mm/mm_types.h, with these added:
 *   (I) inode->i_rwsem              (V) mapping->invalidate_lock
 *   (J) mapping->i_mmap_rwsem       (H) mapping->i_pages' xa_lock
 *   (D) sb->s_dir_lock              (F) files->file_lock
 *   (B) sb->s_inode_list_lock
 */
#ifndef MML_FS_FS_H
#define MML_FS_FS_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/xarray.h"
#include "mm/list.h"
#include "sync/sync.h"

struct file;
struct folio;
struct inode;
struct mml_machine;
struct mm_struct;
struct statvfs;
struct super_block;
struct vm_area_struct;
struct vm_fault;
struct writeback_control;

/* How a mapping's pages reach their backing store (Linux's address_space_operations). */
struct address_space_operations {
	/* Fill a locked, new folio from the backing store: 0 or -EIO. */
	int (*read_folio)(struct file *file, struct folio *folio);
	/* Write a locked folio, already cleaned for I/O, back: 0, or -errno (redirtied). */
	int (*writepage)(struct folio *folio, struct writeback_control *wbc);
};

/* AS_* bits of address_space.flags. */
#define AS_EIO		0	/* a writeback failed: fsync reports -EIO once */
#define AS_UNEVICTABLE	1

struct address_space {
	struct inode *host;			/* (C) */
	struct xarray i_pages;			/* (H) folios by index; shmem swap entries as values */
	struct rw_semaphore invalidate_lock;	/* (V) cache fills hold it for read, truncate and punch for write */
	struct rw_semaphore i_mmap_rwsem;	/* (J) */
	struct list_head i_mmap;		/* (J) vm_area_struct.shared: every VMA mapping the file */
	atomic_t i_mmap_writable;		/* (A) shared writable mappings (VM_SHARED|VM_MAYWRITE); < 0 denies them */
	unsigned long nrpages;			/* (H) folios' pages in the cache */
	unsigned long nrswapped;		/* (H) shmem: swap entries in the cache */
	atomic_t nr_thps;			/* (A) not shmem: PMD-sized folios collapse_file put in the cache */
	unsigned long flags;			/* (A) AS_* */
	const struct address_space_operations *a_ops;	/* (C) */
};

/* Models inode: the file itself, alive while named, open or mapped. */
struct inode {
	unsigned long i_ino;			/* (C) */
	unsigned int i_mode;			/* (C) S_IFREG | permissions */
	int64_t i_size;				/* (I) to change; read with READ_ONCE (i_size_read) */
	unsigned int i_nlink;			/* (D) names in its directory: 0 or 1 */
	atomic_t i_count;			/* (A) references: open files, mappings through them, the dentry */
	atomic_t i_writecount;			/* (A) open files with FMODE_WRITE (get_write_access) */
	int64_t i_blocks;			/* (A) 512-byte blocks (shmem: pages allocated; disk: the host's) */
	long i_acct_pages;			/* (C) shmem: commit charged at setup (shmem_acct_size), back at eviction */
	bool i_noreserve;			/* (C) shmem: charged to the commit a page at a time instead (SHMEM_F_NORESERVE) */
	unsigned int seals;			/* (I) F_SEAL_* (shmem: memfd seals; others F_SEAL_SEAL) */
	struct rw_semaphore i_rwsem;		/* (I) writes, truncate, fallocate */
	struct super_block *i_sb;		/* (C) */
	struct address_space i_data;		/* its page cache: i_mapping */
	struct address_space *i_mapping;	/* (C) &i_data */
	struct list_head i_sb_list;		/* (B) on i_sb->s_inodes */
	struct list_head i_swaplist;		/* (B) shmem: on the machine's list of inodes with swap entries */
	char *i_name;				/* (D) its name in the directory (a copy), or a memfd's */
	int host_fd;				/* (C) disk file system: the host file behind it */
	void *i_private;			/* (C) the file system's own (DAX: its block map) */
	struct mml_machine *i_machine;		/* (C) */
	struct callback_head i_rcu;		/* (C) freed after a grace period: GUP-fast reads mapping->host locklessly */
};

/* Models super_operations + inode_operations: what a file system does with its inodes. */
struct super_operations {
	/* A new file named name on the store (disk: the host file): 0 or -errno. */
	int (*create)(struct inode *inode, const char *name);
	/* A name the store has but the directory does not yet (disk): 0 with inode filled, or -ENOENT. */
	int (*lookup)(struct inode *inode, const char *name);
	int (*unlink)(struct inode *inode);
	/* The file's size changes (truncate, or a write past the end): 0 or -errno. */
	int (*setattr_size)(struct inode *inode, int64_t size);
	/* The last reference went: truncate the cache, free what the store holds for it. */
	void (*evict_inode)(struct inode *inode);
	/* statfs(): the mount's size and use, in f_bsize blocks (f_fsid, f_flag: the caller's). */
	void (*statfs)(struct super_block *sb, struct statvfs *buf);
	/* The invariant checker's (machine stopped): the failures found, each reported; NULL: none. */
	long (*check)(struct super_block *sb, void (*report)(void *ctx, const char *msg, unsigned long pfn), void *ctx);
};

/* Models file_operations. */
#define FOP_MMAP_SYNC	0x1	/* MAP_SHARED_VALIDATE | MAP_SYNC is taken (fs-DAX) */

struct file_operations {
	unsigned int fop_flags;	/* FOP_* */
	long (*read_iter)(struct file *file, void *buf, uint64_t len, int64_t off);
	long (*write_iter)(struct file *file, const void *buf, uint64_t len, int64_t off);
	int (*fsync)(struct file *file);
	int (*fallocate)(struct file *file, int mode, int64_t off, int64_t len);
	/* vma is to map file: give it its vm_ops (0, or -errno refusing the map). */
	int (*mmap)(struct file *file, struct vm_area_struct *vma);
	/* FICLONE: dst's range [0, src's size) shares src's blocks.  NULL: -EOPNOTSUPP. */
	int (*remap_file_range)(struct file *src, struct file *dst);
	/* Where an mmap or mremap without MAP_FIXED goes (Linux's has current->mm).  NULL: anywhere free. */
	uint64_t (*get_unmapped_area)(struct file *file, struct mm_struct *mm, uint64_t addr, uint64_t len,
				      unsigned long pgoff, int flags);
};

/* One name of a flat directory (the mount's root): Linux's dentry, reduced. */
struct dentry {
	struct list_head d_child;	/* (D) on sb->s_dentries */
	struct inode *d_inode;		/* (D) holds a reference */
	char d_name[256];		/* (C) */
};

struct super_block {
	const char *s_type;		/* (C) "tmpfs", "diskfs" */
	const char *s_root;		/* (C) the mount point, with its '/': "/tmp/" */
	unsigned int s_dev;		/* (C) device number shown by maps */
	const struct super_operations *s_op;	/* (C) */
	const struct file_operations *s_fop;	/* (C) of its files */
	const struct address_space_operations *s_aops;	/* (C) of its inodes' mappings */
	bool s_writeback;		/* (C) dirty pages go back to a store (BDI_CAP_WRITEBACK); tmpfs: no */
	bool s_swapbacked;		/* (C) its pages are swap-backed (shmem) */
	bool s_dax;			/* (C) its files are device memory mapped directly (S_DAX): no page cache */
	void *s_fs_info;		/* (C) the file system's own (DAX: the allocator) */
	struct mml_machine *machine;	/* (C) */
	struct mutex s_dir_lock;	/* (D) the directory */
	struct list_head s_dentries;	/* (D) */
	spinlock_t s_inode_list_lock;	/* (B) */
	struct list_head s_inodes;	/* (B) every live inode */
	atomic_long_t s_used_blocks;	/* (A) tmpfs: pages allocated against max_blocks */
	unsigned long s_max_blocks;	/* (C) tmpfs: its size limit in pages; 0: none (the internal mount) */
	int s_huge;			/* (A) tmpfs: huge= (SHMEM_HUGE_NEVER..ADVISE); the internal mount's is
					   shmem_enabled's when that is not deny or force */
	struct xa_node_acct s_xa_acct;	/* (C) its page caches' nodes: counted, failable (MML_FAIL_META) */
	char *s_host_dir;		/* (C) disk: the host directory */
	bool s_host_dir_owned;		/* (C) disk: made by mmlab, removed at power-off */
};

/* f_mode bits (Linux's FMODE_*). */
#define FMODE_READ	0x1u
#define FMODE_WRITE	0x2u

struct file {
	atomic_long_t f_count;		/* (A) descriptors and mappings */
	unsigned int f_mode;		/* (C) FMODE_* */
	unsigned int f_flags;		/* (C) O_* given to open */
	struct inode *f_inode;		/* (C) holds a reference */
	struct address_space *f_mapping;/* (C) */
	const struct file_operations *f_op;	/* (C) */
	struct mml_machine *machine;	/* (C) */
};

/* Models files_struct: a process's descriptors, shared by its threads. */
#define NR_OPEN_DEFAULT	1024	/* RLIMIT_NOFILE's soft limit: EMFILE beyond */
struct files_struct {
	atomic_t count;			/* (A) threads sharing it */
	spinlock_t file_lock;		/* (F) */
	unsigned int max_fds;		/* (F) slots in fd */
	struct file **fd;		/* (F) */
	unsigned char *close_on_exec;	/* (F) one byte per slot */
	struct mml_machine *machine;	/* (C) */
};

static inline int64_t i_size_read(const struct inode *inode) { return READ_ONCE(((struct inode *)inode)->i_size); }
static inline void i_size_write(struct inode *inode, int64_t size) { WRITE_ONCE(inode->i_size, size); }
static inline bool mapping_can_writeback(const struct address_space *mapping)
{
	return mapping->host->i_sb->s_writeback;
}
static inline bool shmem_mapping(const struct address_space *mapping)
{
	return mapping && mapping->host->i_sb->s_swapbacked;
}
static inline struct inode *file_inode(const struct file *f) { return f->f_inode; }
/* IS_DAX(): Linux keeps S_DAX per inode; mmlab's DAX mount has every file so (-o dax=always). */
static inline bool IS_DAX(const struct inode *inode) { return inode->i_sb->s_dax; }

/* Seals (memfd), as <fcntl.h>. */
#ifndef F_SEAL_SEAL
#define F_SEAL_SEAL		0x0001
#define F_SEAL_SHRINK		0x0002
#define F_SEAL_GROW		0x0004
#define F_SEAL_WRITE		0x0008
#define F_SEAL_FUTURE_WRITE	0x0010
#endif

#endif /* MML_FS_FS_H */
