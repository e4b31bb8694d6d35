/*
 * filemap.c - the page cache (Linux's mm/filemap.c): folios of a file
 * indexed by their offset in mapping->i_pages, looked up without locks,
 * added and removed under the xa_lock; read and write through it; the
 * file fault handlers filemap_fault, filemap_map_pages (fault-around) and
 * filemap_page_mkwrite.
 *
 * A folio in the page cache has folio->mapping == its address_space and
 * folio->index == its offset in pages, and the cache holds one reference
 * per page.  Its identity changes only under the folio lock: whoever finds
 * a folio without that lock rechecks folio->mapping after taking it
 * (truncate may have removed it meanwhile).
 */
#include <string.h>

#include "mm/internal.h"
#include "mm/pagemap.h"

/* ---- the index --------------------------------------------------------------- */

/*
 * filemap_get_entry(): the folio at index with a reference, or a shmem
 * swap entry (a value), or NULL.  Lockless: a folio found is referenced
 * only if it still had references, and kept only if the slot still holds
 * it afterwards, as Linux's RCU lookup does.
 */
void *filemap_get_entry(struct address_space *mapping, unsigned long index)
{
	struct mml_machine *m = mapping->host->i_sb->machine;
	void *entry;

	for (;;) {
		entry = xa_load(&mapping->i_pages, index);
		if (!entry || xa_is_value(entry))
			return entry;
		if (!folio_try_get(entry))
			continue;	/* being freed: the slot is changing */
		if (likely(xa_load(&mapping->i_pages, index) == entry))
			return entry;
		folio_put(m, entry);
	}
}

/* filemap_get_folio(): the folio at index with a reference; NULL for a hole or a swap entry. */
struct folio *filemap_get_folio(struct address_space *mapping, unsigned long index)
{
	void *entry = filemap_get_entry(mapping, index);

	return entry && !xa_is_value(entry) ? entry : NULL;
}

static void filemap_account(struct address_space *mapping, struct folio *folio, long nr)
{
	struct mml_machine *m = mapping->host->i_sb->machine;

	mod_vm_stat(m, NR_FILE_PAGES, nr);
	if (folio_test_swapbacked(folio))
		mod_vm_stat(m, NR_SHMEM, nr);
	if (folio_order(folio) == HPAGE_PMD_ORDER)
		mod_vm_stat(m, folio_test_swapbacked(folio) ? NR_SHMEM_THPS : NR_FILE_THPS, nr < 0 ? -1 : 1);
}

/*
 * __filemap_add_folio(): a new, locked folio takes index, if the slot
 * holds expected (NULL, or a shmem swap entry being brought back; a large
 * folio takes only empty slots, all of them).  The cache's references
 * are taken here.  0, -EEXIST, or -ENOMEM.
 */
int __filemap_add_folio(struct address_space *mapping, struct folio *folio, unsigned long index,
			void *expected)
{
	struct mml_machine *m = mapping->host->i_sb->machine;
	long nr = folio_nr_pages(folio), i;
	void *old = expected;

	VM_BUG_ON_FOLIO(!folio_test_locked(folio), m, folio);
	VM_BUG_ON_FOLIO(index & (unsigned long)(nr - 1) || (nr > 1 && expected), m, folio);
	folio_ref_add(folio, (int)nr);
	folio->mapping = mapping;
	folio->index = index;
	xa_lock(&mapping->i_pages);
	for (i = 1; i < nr; i++)
		if (xa_load(&mapping->i_pages, index + (unsigned long)i))
			break;
	if (i == nr) {
		for (i = 0; i < nr; i++) {
			old = __xa_cmpxchg(&mapping->i_pages, index + (unsigned long)i, i ? NULL : expected, folio);
			if (old != (i ? NULL : expected))
				break;
		}
	}
	if (i < nr) {
		/* Give back the slots taken so far; they exist, so the stores cannot fail. */
		for (long k = 0; k < i; k++)
			__xa_store(&mapping->i_pages, index + (unsigned long)k, k ? NULL : expected);
		xa_unlock(&mapping->i_pages);
		folio->mapping = NULL;
		folio_put_refs(m, folio, (int)nr);
		return xa_is_err(old) ? xa_err(old) : -EEXIST;
	}
	mapping->nrpages += (unsigned long)nr;
	if (xa_is_value(expected))
		mapping->nrswapped--;
	filemap_account(mapping, folio, nr);
	xa_unlock(&mapping->i_pages);
	trace_mm_filemap_add_to_page_cache(m, folio);
	return 0;
}

/* filemap_add_folio(): a new folio, locked here, joins the cache and the LRU. */
int filemap_add_folio(struct address_space *mapping, struct folio *folio, unsigned long index)
{
	int err;

	__folio_set_locked(folio);
	err = __filemap_add_folio(mapping, folio, index, NULL);
	if (err) {
		__folio_clear_locked(folio);
		return err;
	}
	folio_add_lru(mapping->host->i_sb->machine, folio);
	return 0;
}

/*
 * __filemap_remove_folio(): the locked folio leaves the cache, its slot
 * now holding shadow (NULL, or the swap entry shmem wrote it to).  The
 * caller drops the cache's references (filemap_remove_folio does).  A
 * dirty folio of a mapping with writeback stops being counted dirty.
 */
void __filemap_remove_folio(struct folio *folio, void *shadow)
{
	struct address_space *mapping = folio->mapping;
	long nr = folio_nr_pages(folio);

	xa_assert_locked(&mapping->i_pages);
	trace_mm_filemap_delete_from_page_cache(mapping->host->i_sb->machine, folio);
	VM_BUG_ON_FOLIO(nr > 1 && shadow, mapping->host->i_sb->machine, folio);	/* shmem splits before swap */
	for (long i = nr - 1; i >= 0; i--)	/* never fails: the slots exist */
		__xa_store(&mapping->i_pages, folio->index + (unsigned long)i, i ? NULL : shadow);
	mapping->nrpages -= (unsigned long)nr;
	if (xa_is_value(shadow))
		mapping->nrswapped++;
	else if (shmem_mapping(mapping))
		shmem_uncharge(mapping->host, nr);	/* gone for good: no longer the file's memory */
	filemap_account(mapping, folio, -nr);
	if (folio_test_dirty(folio) && mapping_can_writeback(mapping))
		mod_vm_stat(mapping->host->i_sb->machine, NR_FILE_DIRTY, -nr);
	folio->mapping = NULL;
}

void filemap_remove_folio(struct folio *folio)
{
	struct address_space *mapping = folio->mapping;
	struct mml_machine *m = mapping->host->i_sb->machine;
	long nr = folio_nr_pages(folio);

	VM_BUG_ON_FOLIO(!folio_test_locked(folio), m, folio);
	xa_lock(&mapping->i_pages);
	__filemap_remove_folio(folio, NULL);
	xa_unlock(&mapping->i_pages);
	folio_put_refs(m, folio, (int)nr);
}

/* ---- dirty folios ---------------------------------------------------------------- */

/*
 * folio_mark_dirty(): somebody wrote the folio (a pte's dirty bit, a
 * write fault, write(), a device).  A file folio of a mapping with
 * writeback is counted in nr_dirty until it is cleaned for I/O.
 */
bool folio_mark_dirty(struct folio *folio)
{
	struct address_space *mapping;

	if (folio_test_dirty(folio) || folio_test_set_dirty(folio))
		return false;
	/* folio_mapping(): none for anon or a reflinked fs-DAX folio (PAGE_MAPPING_FLAGS). */
	mapping = READ_ONCE(folio->mapping);
	if ((unsigned long)mapping & PAGE_MAPPING_FLAGS)
		mapping = NULL;
	if (mapping && mapping_can_writeback(mapping))
		mod_vm_stat(mapping->host->i_sb->machine, NR_FILE_DIRTY, folio_nr_pages(folio));
	return true;
}

/* folio_cancel_dirty(): truncate drops a dirty folio without writing it. */
void folio_cancel_dirty(struct folio *folio)
{
	struct address_space *mapping = folio->mapping;

	if (folio_test_clear_dirty(folio) && mapping && mapping_can_writeback(mapping))
		mod_vm_stat(mapping->host->i_sb->machine, NR_FILE_DIRTY, -folio_nr_pages(folio));
}

/*
 * folio_write_end(): write() stores n bytes at off of a locked folio it
 * holds a reference on, then lets go of both: the folio is dirty and was
 * used (write_end, for every file system).
 */
void folio_write_end(struct mml_machine *m, struct folio *folio, uint64_t off, const void *src, uint64_t n)
{
	page_data_copy((char *)folio_address(m, folio) + off, src, n);
	folio_mark_dirty(folio);
	folio_unlock(folio);
	folio_mark_accessed(m, folio);
	folio_put(m, folio);
}

/* ---- reading pages in ---------------------------------------------------------- */

/*
 * filemap_read_new_folio(): the folio at index, read in if the cache had
 * none (with a reference, unlocked, up to date), or an ERR value: NULL
 * with *err -ENOMEM or -EIO.  *major: it needed I/O.  The caller holds
 * the invalidate_lock for read, so that no punch or truncate runs between
 * the read and the insert.
 */
static struct folio *filemap_read_new_folio(struct file *file, struct address_space *mapping,
					    unsigned long index, bool *major, int *err)
{
	struct mml_machine *m = mapping->host->i_sb->machine;
	struct folio *folio;

	for (;;) {
		folio = filemap_get_folio(mapping, index);
		if (folio)
			return folio;
		folio = folio_alloc(m, GFP_HIGHUSER_MOVABLE, 0);
		if (!folio) {
			*err = -ENOMEM;
			return NULL;
		}
		*err = filemap_add_folio(mapping, folio, index);
		if (*err == -EEXIST) {
			folio_put(m, folio);
			continue;
		}
		if (*err) {
			folio_put(m, folio);
			return NULL;
		}
		*major = true;
		*err = mapping->a_ops->read_folio(file, folio);
		if (*err) {
			filemap_remove_folio(folio);
			folio_unlock(folio);
			folio_put(m, folio);
			return NULL;
		}
		folio_mark_uptodate(folio);
		folio_unlock(folio);
		return folio;
	}
}

/* filemap_get_read_folio(): a referenced, up-to-date folio at index (any file system with a_ops). */
static struct folio *filemap_get_read_folio(struct file *file, unsigned long index, bool *major, int *err)
{
	struct address_space *mapping = file->f_mapping;
	struct folio *folio = filemap_get_folio(mapping, index);

	if (folio)
		return folio;
	down_read(&mapping->invalidate_lock);
	folio = filemap_read_new_folio(file, mapping, index, major, err);
	up_read(&mapping->invalidate_lock);
	return folio;
}

struct folio *read_cache_folio(struct file *file, unsigned long index, int *err)
{
	bool major = false;

	*err = 0;
	return filemap_get_read_folio(file, index, &major, err);
}

/*
 * filemap_read(): read() through the page cache, up to end of file.  Bytes
 * copied, or -errno if none could be.  A folio truncated while we copy
 * from it is still ours (our reference): its old bytes, as in Linux.
 */
long filemap_read(struct file *file, void *buf, uint64_t len, int64_t pos)
{
	struct inode *inode = file_inode(file);
	struct mml_machine *m = inode->i_sb->machine;
	uint64_t done = 0;

	while (done < len) {
		int64_t isize = i_size_read(inode), at = pos + (int64_t)done;
		uint64_t off = (uint64_t)at & (PAGE_SIZE - 1), n;
		bool major = false;
		struct folio *folio;
		int err = 0;

		if (at >= isize)
			break;
		folio = filemap_get_read_folio(file, (unsigned long)(at >> PAGE_SHIFT), &major, &err);
		if (!folio)
			return done ? (long)done : err;
		/* The size may have changed while we read: recheck before copying. */
		isize = i_size_read(inode);
		n = min(min(PAGE_SIZE - off, len - done), (uint64_t)(isize > at ? isize - at : 0));
		page_data_copy((char *)buf + done, (char *)folio_address(m, folio) + offset_in_folio(folio, at), n);
		folio_mark_accessed(m, folio);
		folio_put(m, folio);
		if (!n)
			break;
		done += n;
	}
	return (long)done;
}

static long __generic_perform_write(struct file *file, struct address_space *mapping, struct mml_machine *m,
				    const void *buf, uint64_t len, int64_t pos, uint64_t *donep);

/*
 * generic_perform_write(): write() into the page cache of a file system
 * with writeback; i_rwsem held.  A page partly overwritten is read first
 * if it lies within the file.  A write past the end grows the file first
 * (the file system zeroes what lay past the old end: a hole), and a
 * short write gives back the growth it did not use, as ext4's
 * write_failed().  Bytes written, or -errno if none.
 */
long generic_perform_write(struct file *file, const void *buf, uint64_t len, int64_t pos)
{
	struct inode *inode = file_inode(file);
	struct address_space *mapping = file->f_mapping;
	struct mml_machine *m = inode->i_sb->machine;
	int64_t oldsize = i_size_read(inode);
	uint64_t done = 0;
	long ret;

	if (pos + (int64_t)len > oldsize) {
		int err = inode->i_sb->s_op->setattr_size(inode, pos + (int64_t)len);

		if (err)
			return err;
	}
	ret = __generic_perform_write(file, mapping, m, buf, len, pos, &done);
	/* Short: the size the bytes written make, or the old one if none was (Linux's write_end sets it). */
	if (done < len && pos + (int64_t)len > oldsize)
		inode->i_sb->s_op->setattr_size(inode, done && pos + (int64_t)done > oldsize ? pos + (int64_t)done : oldsize);
	return ret;
}

/* The copy itself: page by page, *done bytes so far. */
static long __generic_perform_write(struct file *file, struct address_space *mapping, struct mml_machine *m,
				    const void *buf, uint64_t len, int64_t pos, uint64_t *donep)
{
	uint64_t done = 0;

	while (done < len) {
		int64_t at = pos + (int64_t)done;
		unsigned long index = (unsigned long)(at >> PAGE_SHIFT);
		uint64_t off = (uint64_t)at & (PAGE_SIZE - 1), n = min(PAGE_SIZE - off, len - done);
		struct folio *folio;
		bool major = false;
		int err = 0;

		/* Read (or find) it first: its other bytes must stay (past the old end: zeros). */
		folio = filemap_get_read_folio(file, index, &major, &err);
		if (!folio) {
			*donep = done;
			return done ? (long)done : err;
		}
		folio_lock(folio);
		if (folio->mapping != mapping) {
			/* Truncated under us (not by i_rwsem holders): look again. */
			folio_unlock(folio);
			folio_put(m, folio);
			continue;
		}
		folio_write_end(m, folio, offset_in_folio(folio, at), (const char *)buf + done, n);
		done += n;
	}
	*donep = done;
	return (long)done;
}

/* ---- faults -------------------------------------------------------------------- */

/* Pages of the file that hold any byte below its size. */
static unsigned long file_pages(struct inode *inode)
{
	return (unsigned long)((i_size_read(inode) + (int64_t)PAGE_SIZE - 1) >> PAGE_SHIFT);
}

/* Linux's VM_READAHEAD_PAGES: 128 KiB read around a fault that missed the cache. */
#define VM_READAHEAD_PAGES	32

/*
 * do_sync_mmap_readahead(): a fault missed the cache: read the pages
 * around it too (mmap read-around: half the window before, half after),
 * unless the VMA said MADV_RANDOM.  Best effort: a page that cannot be
 * had is left for its own fault.  invalidate_lock held for read.
 */
static void do_sync_mmap_readahead(struct vm_fault *vmf, struct file *file)
{
	struct address_space *mapping = file->f_mapping;
	struct mml_machine *m = mapping->host->i_sb->machine;
	unsigned long start = vmf->pgoff > VM_READAHEAD_PAGES / 2 ? vmf->pgoff - VM_READAHEAD_PAGES / 2 : 0;
	unsigned long end = min(start + VM_READAHEAD_PAGES, file_pages(mapping->host));

	if (vmf->vma->vm_flags & VM_RAND_READ)
		return;
	for (unsigned long index = start; index < end; index++) {
		struct folio *folio;
		bool major = false;
		int err = 0;

		if (index == vmf->pgoff || xa_load(&mapping->i_pages, index))
			continue;
		folio = filemap_read_new_folio(file, mapping, index, &major, &err);
		if (!folio)
			break;
		folio_put(m, folio);
	}
}

/*
 * filemap_fault(): the page at vmf->pgoff, locked and referenced in
 * vmf->page (VM_FAULT_LOCKED), read in first if the cache has none
 * (VM_FAULT_MAJOR).  SIGBUS for a page wholly beyond end of file, now or
 * once the folio is locked (truncate may have run meanwhile).
 */
vm_fault_t filemap_fault(struct vm_fault *vmf)
{
	struct file *file = vmf->vma->vm_file;
	struct address_space *mapping = file->f_mapping;
	struct inode *inode = mapping->host;
	struct mml_machine *m = inode->i_sb->machine;
	vm_fault_t ret = 0;
	struct folio *folio;

	for (;;) {
		bool major = false;
		int err = 0;

		if (vmf->pgoff >= file_pages(inode))
			return VM_FAULT_SIGBUS;
		folio = filemap_get_folio(mapping, vmf->pgoff);
		if (!folio) {
			down_read(&mapping->invalidate_lock);
			folio = filemap_read_new_folio(file, mapping, vmf->pgoff, &major, &err);
			if (folio)
				do_sync_mmap_readahead(vmf, file);
			up_read(&mapping->invalidate_lock);
		}
		if (!folio)
			return err == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
		if (major) {
			count_vm_event(m, PGMAJFAULT);
			ret = VM_FAULT_MAJOR;
		}
		folio_lock(folio);
		if (likely(folio->mapping == mapping))
			break;
		folio_unlock(folio);
		folio_put(m, folio);
	}
	if (vmf->pgoff >= file_pages(inode)) {
		folio_unlock(folio);
		folio_put(m, folio);
		return VM_FAULT_SIGBUS;
	}
	vmf->page = folio_page(folio, vmf->pgoff - folio->index);
	return ret | VM_FAULT_LOCKED;
}

/*
 * filemap_map_pmd(): fault-around under a none pmd.  The folio at the
 * window's first page (within the file), if PMD-sized and wholly within
 * the file -- shmem's may reach past its end, and Linux maps those too --
 * is mapped with a pmd: VM_FAULT_NOPAGE, done.  Else the pte table is
 * made for the pages around (0), or VM_FAULT_OOM.
 */
static vm_fault_t filemap_map_pmd(struct vm_fault *vmf, struct address_space *mapping, unsigned long start,
				  unsigned long last)
{
	struct mml_machine *m = vmf->vma->vm_mm->machine;
	struct folio *folio = filemap_get_folio(mapping, start);

	if (folio && folio_order(folio) == HPAGE_PMD_ORDER && folio_trylock(folio)) {
		if (folio->mapping == mapping && folio_test_uptodate(folio) &&
		    (shmem_mapping(mapping) || folio_next_index(folio) <= last)) {
			vm_fault_t ret = do_set_pmd(vmf, folio);

			if (!ret) {
				folio_unlock(folio);	/* our reference is the mapping's */
				return VM_FAULT_NOPAGE;
			}
			if (ret == VM_FAULT_NOPAGE) {
				folio_unlock(folio);
				folio_put(m, folio);
				return ret;
			}
		}
		folio_unlock(folio);
	}
	if (folio)
		folio_put(m, folio);
	return __pte_alloc(vmf->vma->vm_mm, vmf->pmd) ? VM_FAULT_OOM : 0;
}

/*
 * filemap_map_pages(): fault-around.  Map, read-only unless the VMA's
 * protection says otherwise, every page of [start_pgoff, end_pgoff] that
 * is already in the cache, up to date and unlocked, beyond none of the
 * file's end, where the pte is none: later faults on them are saved.
 * The pte table is vmf->pmd's; nothing is read in.  VM_FAULT_NOPAGE if
 * the faulting address itself got mapped.
 */
vm_fault_t filemap_map_pages(struct vm_fault *vmf, unsigned long start_pgoff, unsigned long end_pgoff)
{
	struct vm_area_struct *vma = vmf->vma;
	struct address_space *mapping = vma->vm_file->f_mapping;
	struct mml_machine *m = vma->vm_mm->machine;
	unsigned long last = file_pages(mapping->host), index = start_pgoff;
	vm_fault_t ret = 0;
	void *entry;

	if (!last)
		return 0;
	end_pgoff = min(end_pgoff, last - 1);
	/* The window lies wholly past the end: nothing to map (the fault itself is SIGBUS). */
	if (start_pgoff > end_pgoff)
		return 0;
	if (pmd_none(pmdp_get(vmf->pmd))) {
		ret = filemap_map_pmd(vmf, mapping, start_pgoff, last);
		if (ret)
			return ret;
	}
	vmf->pte = pte_offset_map_lock(vma->vm_mm, vmf->pmd,
				       vmf->address + ((uint64_t)(start_pgoff - vmf->pgoff) << PAGE_SHIFT), &vmf->ptl);
	if (!vmf->pte)
		return 0;
	xa_for_each_range(&mapping->i_pages, index, entry, start_pgoff, end_pgoff) {
		struct folio *folio = entry;
		uint64_t addr = vmf->address + ((uint64_t)(index - vmf->pgoff) << PAGE_SHIFT);
		pte_t *pte = vmf->pte + (long)(index - start_pgoff);

		if (xa_is_value(entry) || !pte_none(ptep_get(pte)) || !folio_try_get(folio))
			continue;
		if (xa_load(&mapping->i_pages, index) != folio || !folio_trylock(folio)) {
			folio_put(m, folio);
			continue;
		}
		if (folio->mapping != mapping || !folio_test_uptodate(folio)) {
			folio_unlock(folio);
			folio_put(m, folio);
			continue;
		}
		/* Our reference becomes the mapping's (one per pte, a large folio's pages too). */
		set_pte_range(vmf, folio, folio_page(folio, index - folio->index), 1, addr, pte);
		if (addr == vmf->address)
			ret = VM_FAULT_NOPAGE;
		folio_unlock(folio);
	}
	pte_unmap_unlock(vmf->pte, vmf->ptl);
	vmf->pte = NULL;
	return ret;
}

/*
 * filemap_page_mkwrite(): a first write to a clean page of a shared
 * mapping (write-protected for that, vma_wants_writenotify): mark it
 * dirty before any pte may write it, so that writeback knows.  Returns
 * with the folio locked, or VM_FAULT_NOPAGE if it was truncated (retry).
 */
vm_fault_t filemap_page_mkwrite(struct vm_fault *vmf)
{
	struct folio *folio = page_folio(vmf->page);

	folio_lock(folio);
	if (folio->mapping != vmf->vma->vm_file->f_mapping) {
		folio_unlock(folio);
		return VM_FAULT_NOPAGE;
	}
	folio_mark_dirty(folio);
	return VM_FAULT_LOCKED;
}

/* generic_file_vm_ops: the fault handlers of a file system with a page cache and writeback. */
const struct vm_operations_struct generic_file_vm_ops = {
	.fault = filemap_fault,
	.map_pages = filemap_map_pages,
	.page_mkwrite = filemap_page_mkwrite,
};
