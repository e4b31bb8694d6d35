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

/*
 * A large folio in the page cache is naturally aligned (its index a
 * multiple of its page count) and found at every index it covers: mmlab's
 * xarray has no multi-index entries, so the folio is stored in each of
 * its slots (Linux stores one multi-order entry that a lookup at any of
 * those indices finds).  A walk over i_pages meets it once per page and
 * skips to folio_next_index().
 */
static inline unsigned long folio_next_index(const struct folio *folio)
{
	return folio->index + (unsigned long)folio_nr_pages(folio);
}
/* The byte of a page-cache folio that holds file position pos. */
static inline uint64_t offset_in_folio(const struct folio *folio, int64_t pos)
{
	return (uint64_t)pos & (((uint64_t)folio_nr_pages(folio) << PAGE_SHIFT) - 1);
}

void *filemap_get_entry(struct address_space *mapping, unsigned long index);
struct folio *filemap_get_folio(struct address_space *mapping, unsigned long index);
int __filemap_add_folio(struct address_space *mapping, struct folio *folio, unsigned long index, void *expected);
int filemap_add_folio(struct address_space *mapping, struct folio *folio, unsigned long index);
void __filemap_remove_folio(struct folio *folio, void *shadow);
void filemap_remove_folio(struct folio *folio);
bool folio_mark_dirty(struct folio *folio);
void folio_cancel_dirty(struct folio *folio);
void folio_mark_accessed(struct mml_machine *m, struct folio *folio);
/* Every CPU's lru_add batch onto the LRU lists (drop_caches, migration, mlock, KSM, views). */
void lru_add_drain_all(struct mml_machine *m);
void folio_write_end(struct mml_machine *m, struct folio *folio, uint64_t off, const void *src, uint64_t n);
long filemap_read(struct file *file, void *buf, uint64_t len, int64_t pos);
/* The file's page at index, read in if need be: referenced, up to date, unlocked; NULL with *err. */
struct folio *read_cache_folio(struct file *file, unsigned long index, int *err);
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

/* vma_is_shmem(): a mapping of a shmem file (tmpfs, memfd, MAP_SHARED|MAP_ANONYMOUS). */
static inline bool vma_is_shmem(const struct vm_area_struct *vma)
{
	return vma->vm_file && shmem_mapping(vma->vm_file->f_mapping);
}

/* vma_is_dax(): a mapping of a DAX file; vma_is_fsdax(): of a file system's (all of mmlab's are). */
static inline bool vma_is_dax(const struct vm_area_struct *vma)
{
	return vma->vm_file && IS_DAX(file_inode(vma->vm_file));
}
static inline bool vma_is_fsdax(const struct vm_area_struct *vma) { return vma_is_dax(vma); }

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
/* The file's charge for pages more (the commit, the mount's size): false if refused. */
bool shmem_charge(struct inode *inode, long pages);
void shmem_uncharge(struct inode *inode, long pages);
/* userfaultfd: UFFDIO_COPY / _ZEROPAGE's new page in the cache, its undo, UFFDIO_CONTINUE's lookup */
int shmem_mfill_folio(struct inode *inode, unsigned long index, const void *src, struct folio **foliop);
void shmem_mfill_folio_undo(struct inode *inode, struct folio *folio);
struct folio *shmem_continue_folio(struct inode *inode, unsigned long index, int *err);
/* The folio at index, swapped in if need be, locked and referenced; NULL: a hole (*err 0) or -errno. */
struct folio *shmem_get_folio_noalloc(struct inode *inode, unsigned long index, int *err);

/* Huge pages of shmem: shmem_enabled and tmpfs's huge= (Linux's SHMEM_HUGE_*). */
enum {
	SHMEM_HUGE_FORCE = -2,		/* shmem_enabled only: every shmem file, every mount */
	SHMEM_HUGE_DENY = -1,		/* shmem_enabled only: none, whatever the mount says */
	SHMEM_HUGE_NEVER = 0,
	SHMEM_HUGE_ALWAYS = 1,
	SHMEM_HUGE_WITHIN_SIZE = 2,	/* where the file's size (or the write) covers the whole huge page */
	SHMEM_HUGE_ADVISE = 3,		/* in MADV_HUGEPAGE'd mappings */
};
/* The value of a huge= / shmem_enabled word, or -EINVAL; deny and force only with sysfs true. */
int shmem_parse_huge(const char *word, bool sysfs);
const char *shmem_format_huge(int huge);
/*
 * shmem_huge_enabled(): may the page at index of inode live in a
 * PMD-sized folio?  write_end: the end of the write() or fallocate()
 * asking (0 otherwise); vma: the mapping a fault or collapse comes
 * through (NULL for write and fallocate); force: MADV_COLLAPSE.
 */
bool shmem_huge_enabled(struct inode *inode, unsigned long index, int64_t write_end, bool force,
			struct vm_area_struct *vma, vm_flags_t vm_flags);

#endif /* MML_MM_PAGEMAP_H */
