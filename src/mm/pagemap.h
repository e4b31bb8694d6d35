/*
 * pagemap.h - what the core offers file systems (Linux's
 * include/linux/pagemap.h, writeback.h, shmem_fs.h and the truncate half
 * of mm.h): the page cache, reading and writing through it, writeback,
 * truncation, and the machine's shmem (tmpfs) file system.
 *
 * Locks: the page cache's xa_lock nests inside the folio lock; truncate
 * and hole punch run under i_rwsem and the mapping's invalidate_lock for
 * write; faults that fill the cache hold the invalidate_lock for read.
 */
#ifndef MML_MM_PAGEMAP_H
#define MML_MM_PAGEMAP_H

#include "fs/fs.h"
#include "mm/mm.h"

/* ---- the page cache (filemap.c) ------------------------------------------------------- */

void *filemap_get_entry(struct address_space *mapping, unsigned long index);
struct folio *filemap_get_folio(struct address_space *mapping, unsigned long index);
int __filemap_add_folio(struct address_space *mapping, struct folio *folio, unsigned long index, void *expected);
int filemap_add_folio(struct address_space *mapping, struct folio *folio, unsigned long index);
void __filemap_remove_folio(struct folio *folio, void *shadow);
void filemap_remove_folio(struct folio *folio);
bool folio_mark_dirty(struct folio *folio);
void folio_cancel_dirty(struct folio *folio);
void folio_mark_accessed(struct mml_machine *m, struct folio *folio);
void folio_write_end(struct mml_machine *m, struct folio *folio, uint64_t off, const void *src, uint64_t n);
long filemap_read(struct file *file, void *buf, uint64_t len, int64_t pos);
long generic_perform_write(struct file *file, const void *buf, uint64_t len, int64_t pos);
vm_fault_t filemap_fault(struct vm_fault *vmf);
vm_fault_t filemap_map_pages(struct vm_fault *vmf, unsigned long start_pgoff, unsigned long end_pgoff);
vm_fault_t filemap_page_mkwrite(struct vm_fault *vmf);
extern const struct vm_operations_struct generic_file_vm_ops;

/* ---- writeback (page-writeback.c) ----------------------------------------------------- */

struct writeback_control {
	bool for_reclaim;	/* pageout(): one folio, reclaim waits for nothing */
};
bool folio_clear_dirty_for_io(struct folio *folio);
/* Write every dirty folio of [start, end] (bytes) back; 0, or the first error (-EIO). */
int filemap_write_and_wait_range(struct address_space *mapping, int64_t start, int64_t end);
/* The error a failed writeback left for fsync, cleared: 0 or -EIO. */
int filemap_check_errors(struct address_space *mapping);

/* ---- truncation (truncate.c, memory.c) -------------------------------------------------- */

void unmap_mapping_range(struct address_space *mapping, int64_t holebegin, int64_t holelen, bool even_cows);
/* Remove the cache's folios of bytes [lstart, lend] (lend -1: to the end), zeroing partial pages. */
void truncate_inode_pages_range(struct address_space *mapping, int64_t lstart, int64_t lend);
/* The file shrank to newsize: unmap beyond it (private copies too), drop the cache beyond. */
void truncate_pagecache(struct inode *inode, int64_t newsize);
/* Drop the clean, unmapped, unused folios (drop_caches): how many went. */
unsigned long invalidate_mapping_pages(struct address_space *mapping, unsigned long start, unsigned long end);
/* zero [from, to) of a cached page (partial truncate and punch). */
void folio_zero_range(struct mml_machine *m, struct folio *folio, uint64_t from, uint64_t to);

/* ---- shmem / tmpfs (shmem.c, memfd.c) ------------------------------------------------------- */

struct super_block *shmem_fill_super(struct mml_machine *m, const char *root, unsigned int dev,
				     unsigned long max_blocks);
/* shmem_file_setup(): an unlinked shmem file of size bytes on the internal mount (MAP_SHARED|MAP_ANONYMOUS, memfd). */
struct file *shmem_file_setup(struct mml_machine *m, const char *name, int64_t size, unsigned int seals);
int shmem_zero_setup(struct vm_area_struct *vma);
/* Reclaim: the locked, unmapped, dirty shmem folio goes to swap: 0, or -errno (kept). */
int shmem_writeout(struct folio *folio);
/* swapoff: bring back every page of device type held by shmem (shmem_unuse). */
int shmem_unuse(struct mml_machine *m, unsigned int type);
long memfd_fcntl(struct file *file, int cmd, long arg);
void shmem_uncharge(struct inode *inode, long pages);
/* userfaultfd: UFFDIO_COPY / _ZEROPAGE's new page in the cache, its undo, UFFDIO_CONTINUE's lookup */
int shmem_mfill_folio(struct inode *inode, unsigned long index, const void *src, struct folio **foliop);
void shmem_mfill_folio_undo(struct inode *inode, struct folio *folio);
struct folio *shmem_continue_folio(struct inode *inode, unsigned long index, int *err);

#endif /* MML_MM_PAGEMAP_H */
