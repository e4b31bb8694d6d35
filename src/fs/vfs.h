/*
 * vfs.h - the VFS's own calls (Linux's fs/inode.c, fs/file_table.c,
 * fs/super.c and fdtable.h), for src/fs and the core's shmem: inodes and
 * their lifetime, open files, mounts, descriptor tables.
 */
#ifndef MML_FS_VFS_H
#define MML_FS_VFS_H

#include "fs/fs.h"

struct mml_task;

struct super_block *sb_alloc(struct mml_machine *m, const char *type, const char *root, unsigned int dev);
void sb_free(struct super_block *sb);
/* A new inode of sb (i_count 1), named name (or NULL), on sb->s_inodes. */
struct inode *new_inode(struct super_block *sb, const char *name);
void ihold(struct inode *inode);
/* Drop a reference; the last evicts the inode (its pages, its store) and frees it. */
void iput(struct inode *inode);

/* An open file of inode (a new reference on it), f_count 1; NULL without memory. */
struct file *alloc_file(struct inode *inode, unsigned int fmode, unsigned int flags);
void get_file(struct file *file);
void fput(struct file *file);
/* The file behind fd in t's table, referenced; NULL if none (EBADF). */
struct file *fget(struct mml_task *t, int fd);

/* fallocate() on an open file (fallocate, MADV_REMOVE): 0 or -errno. */
int vfs_fallocate(struct file *file, int mode, int64_t off, int64_t len);

/* Descriptor tables (fs/file.c): a new empty one, a fork's copy, a thread's share. */
struct files_struct *files_alloc(struct mml_machine *m);
struct files_struct *dup_fd(struct files_struct *old);
void put_files_struct(struct files_struct *files);

/* drop_caches' page-cache half: every clean, unused page-cache folio of every mount goes. */
void drop_pagecache(struct mml_machine *m);

/* The machine's mounts: made at power-on, written back and torn down at power-off. */
int vfs_init(struct mml_machine *m);
/* Power-off: write every dirty page back, evict every inode; leaks found: reported, counted. */
long vfs_exit(struct mml_machine *m);

/* The disk file system's super block, on host directory dir (NULL: a new temporary one). */
struct super_block *diskfs_fill_super(struct mml_machine *m, const char *root, unsigned int dev, const char *dir);
void diskfs_put_super(struct super_block *sb);

/* The DAX file system on the machine's pmem device (fs/daxfs.c). */
struct super_block *daxfs_fill_super(struct mml_machine *m, const char *root, unsigned int dev);
void daxfs_put_super(struct super_block *sb);

#endif /* MML_FS_VFS_H */
