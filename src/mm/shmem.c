#define _GNU_SOURCE
/*
 * shmem.c - tmpfs and shared anonymous memory (Linux's mm/shmem.c and
 * mm/memfd.c): files whose only store is memory and swap.  Their folios
 * are swap-backed (on the anon LRU lists); reclaim moves them to swap,
 * leaving the swap entry in the page cache as a value entry, and a fault
 * or a read brings them back.  A tmpfs mount has a size limit (ENOSPC for
 * writes, SIGBUS for faults beyond it); the internal mount behind memfd
 * and MAP_SHARED|MAP_ANONYMOUS has none, as Linux's shm_mnt.
 *
 * Accounting: a shmem inode is charged one page for every folio in its
 * cache and every swap entry there (i_blocks, s_used_blocks); filemap.c
 * uncharges a folio that leaves the cache for good.
 */
#include <sys/statvfs.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>

#include "fs/vfs.h"
#include "mm/internal.h"
#include "mm/pagemap.h"
#include "mm/userfaultfd_k.h"

enum sgp_type {
	SGP_READ,	/* a hole reads as zeros: nothing is allocated */
	SGP_CACHE,	/* a fault: allocate a hole's page (within the size) */
	SGP_WRITE,	/* write(): allocate, past the end too */
	SGP_FALLOC,	/* fallocate(): allocate, past the end too */
};

/*
 * shmem_inode_acct_blocks(): a page more in the cache or in swap.  An
 * inode without a size charge (tmpfs files, memfd, MAP_NORESERVE shared
 * anonymous memory) charges the commit for it (shmem_acct_blocks); then
 * the mount's size.  Either refusal is ENOSPC, so that a fault gets
 * SIGBUS rather than the OOM killer.  Linux asks on behalf of current's
 * mm, whose size lowers the user reserve in mode 2; mmlab sums that size
 * under mmap_lock, which write() does not hold, so it asks for no mm.
 */
bool shmem_charge(struct inode *inode, long pages)
{
	struct super_block *sb = inode->i_sb;

	if (inode->i_noreserve && __vm_enough_memory(sb->machine, NULL, pages))
		return false;
	if (sb->s_max_blocks &&
	    atomic_long_add_return(pages, &sb->s_used_blocks) > (long)sb->s_max_blocks) {
		atomic_long_add(-pages, &sb->s_used_blocks);
		if (inode->i_noreserve)
			vm_unacct_memory(sb->machine, pages);
		return false;
	}
	if (!sb->s_max_blocks)
		atomic_long_add(pages, &sb->s_used_blocks);
	atomic_long_add(pages * (PAGE_SIZE / 512), (atomic_long_t *)&inode->i_blocks);
	return true;
}

/* shmem_inode_unacct_blocks(): pages that left the cache and swap for good. */
void shmem_uncharge(struct inode *inode, long pages)
{
	atomic_long_add(-pages, &inode->i_sb->s_used_blocks);
	atomic_long_add(-pages * (long)(PAGE_SIZE / 512), (atomic_long_t *)&inode->i_blocks);
	if (inode->i_noreserve)
		vm_unacct_memory(inode->i_sb->machine, pages);
}

static swp_entry_t radix_to_swp_entry(void *entry) { return (swp_entry_t){ .val = xa_to_value(entry) }; }
static void *swp_to_radix_entry(swp_entry_t entry) { return xa_mk_value(entry.val); }

static void shmem_add_to_swaplist(struct inode *inode)
{
	struct mml_machine *m = inode->i_sb->machine;

	spin_lock(&m->shmem_swaplist_lock);
	if (list_empty(&inode->i_swaplist))
		list_add_tail(&inode->i_swaplist, &m->shmem_swaplist);
	spin_unlock(&m->shmem_swaplist_lock);
}

/*
 * shmem_swapin_folio(): bring the page swapped out at index back into the
 * cache: read it (or find it in the swap cache), then, locked, replace the
 * swap entry by the folio -- only if the entry is still there -- and only
 * then let the slot go.  Returns the folio locked and referenced, NULL
 * with *err (-ENOMEM, -EIO), or NULL with *err 0 if the entry changed
 * meanwhile (look again).
 */
static struct folio *shmem_swapin_folio(struct inode *inode, unsigned long index, void *radswap, int *err)
{
	struct address_space *mapping = inode->i_mapping;
	struct mml_machine *m = inode->i_sb->machine;
	swp_entry_t entry = radix_to_swp_entry(radswap);
	struct folio *folio;

	*err = 0;
	if (bug_enabled(m, BUG_SHMEM_SWAPIN_DROPS_ENTRY)) {
		/* The entry is dropped first: a failed read leaves a hole where the data was. */
		xa_lock(&mapping->i_pages);
		if (__xa_cmpxchg(&mapping->i_pages, index, radswap, NULL) == radswap) {
			mapping->nrswapped--;
			xa_unlock(&mapping->i_pages);
			shmem_uncharge(inode, 1);
			free_swap_and_cache(m, entry);
			return NULL;
		}
		xa_unlock(&mapping->i_pages);
		return NULL;
	}
	folio = swapin_readahead(m, entry, NULL);	/* shmem_swapin_cluster */
	if (!folio) {
		*err = xa_load(&mapping->i_pages, index) == radswap ? -ENOMEM : 0;
		return NULL;
	}
	folio_lock(folio);
	if (!folio_matches_swap_entry(folio, entry) || xa_load(&mapping->i_pages, index) != radswap) {
		folio_unlock(folio);
		folio_put(m, folio);
		return NULL;	/* someone else brought it back, or truncated it */
	}
	if (__filemap_add_folio(mapping, folio, index, radswap)) {
		folio_unlock(folio);
		folio_put(m, folio);
		return NULL;
	}
	/* It is the file's page now; the slot and the swap cache let go. */
	delete_from_swap_cache(m, folio);
	swap_free(m, entry);
	folio_mark_dirty(folio);
	count_vm_event(m, PGMAJFAULT);
	return folio;
}

/* ---- huge pages ----------------------------------------------------------------- */

static const char *const shmem_huge_words[] = {
	[SHMEM_HUGE_NEVER] = "never", [SHMEM_HUGE_ALWAYS] = "always",
	[SHMEM_HUGE_WITHIN_SIZE] = "within_size", [SHMEM_HUGE_ADVISE] = "advise",
};

int shmem_parse_huge(const char *word, bool sysfs)
{
	for (int i = 0; i < (int)ARRAY_SIZE(shmem_huge_words); i++)
		if (!strcmp(word, shmem_huge_words[i]))
			return i;
	if (sysfs && !strcmp(word, "deny"))
		return SHMEM_HUGE_DENY;
	if (sysfs && !strcmp(word, "force"))
		return SHMEM_HUGE_FORCE;
	return -EINVAL;
}

const char *shmem_format_huge(int huge)
{
	if (huge == SHMEM_HUGE_DENY)
		return "deny";
	if (huge == SHMEM_HUGE_FORCE)
		return "force";
	return shmem_huge_words[huge];
}

/*
 * Models shmem_huge_global_enabled() for the PMD size, the only one
 * mmlab's shmem uses (Linux also has smaller mTHP sizes for tmpfs and
 * per-size knobs for shared anonymous memory, whose PMD size inherits
 * shmem_enabled by default: deviation 61).  deny and force of
 * shmem_enabled override every mount; otherwise the mount's huge= says,
 * the internal mount's being shmem_enabled itself.
 */
bool shmem_huge_enabled(struct inode *inode, unsigned long index, int64_t write_end, bool force,
			struct vm_area_struct *vma, vm_flags_t vm_flags)
{
	struct mml_machine *m = inode->i_sb->machine;
	int huge = READ_ONCE(m->thp.shmem_huge);
	unsigned long hend;
	int64_t size;

	if (vma && ((vm_flags & VM_NOHUGEPAGE) || test_bit(MMF_DISABLE_THP, &vma->vm_mm->flags)))
		return false;
	if (huge == SHMEM_HUGE_DENY)
		return false;
	if (force || huge == SHMEM_HUGE_FORCE)
		return true;
	switch (READ_ONCE(inode->i_sb->s_huge)) {
	case SHMEM_HUGE_ALWAYS:
		return true;
	case SHMEM_HUGE_WITHIN_SIZE:
		/* The size, or the end of this write, reaches the end of the huge page. */
		hend = (index | (HPAGE_PMD_NR - 1)) + 1;
		size = max(i_size_read(inode), write_end);
		return (uint64_t)((size + (int64_t)PAGE_SIZE - 1) >> PAGE_SHIFT) >= hend;
	case SHMEM_HUGE_ADVISE:
		return vm_flags & VM_HUGEPAGE;
	default:
		return false;
	}
}

/*
 * shmem_suitable_orders() for the PMD size: a fault's VMA must hold the
 * whole aligned huge page at the same alignment in the file, and the
 * huge page's range of the cache must be empty (a small page there, or a
 * racing huge one, means small pages here).
 */
static bool shmem_huge_suitable(struct address_space *mapping, struct vm_fault *vmf, unsigned long index)
{
	unsigned long hindex = index & ~(unsigned long)(HPAGE_PMD_NR - 1);

	if (vmf) {
		struct vm_area_struct *vma = vmf->vma;
		uint64_t haddr = vmf->address & HPAGE_PMD_MASK;

		if (((vma->vm_start >> PAGE_SHIFT) - vma->vm_pgoff) & (HPAGE_PMD_NR - 1))
			return false;
		if (haddr < vma->vm_start || haddr + HPAGE_PMD_SIZE > vma->vm_end)
			return false;
	}
	return !xa_find(&mapping->i_pages, &hindex, hindex + HPAGE_PMD_NR - 1);
}

/*
 * shmem_alloc_and_add_folio(): a new folio for index, charged, in the
 * cache and on the LRU, locked and referenced: PMD-sized when huge says
 * and that works out (else thp_file_fallback and a small one), zeroed,
 * dirty from the start (memory is its only store: reclaim must swap it,
 * not drop it).  NULL with -ENOSPC, -ENOMEM or -EEXIST (raced: look again).
 */
static struct folio *shmem_alloc_and_add_folio(struct inode *inode, unsigned long index, bool huge,
					       struct vm_fault *vmf, int *err)
{
	struct mml_machine *m = inode->i_sb->machine;
	struct folio *folio = NULL;

	if (huge) {
		gfp_t gfp = vmf ? vma_thp_gfp_mask(vmf->vma) : GFP_TRANSHUGE_LIGHT;

		if (shmem_charge(inode, HPAGE_PMD_NR)) {
			folio = folio_alloc(m, gfp | __GFP_ZERO, HPAGE_PMD_ORDER);
			if (!folio)
				shmem_uncharge(inode, HPAGE_PMD_NR);
		}
		count_vm_event(m, folio ? THP_FILE_ALLOC : THP_FILE_FALLBACK);
		if (folio)
			index &= ~(unsigned long)(HPAGE_PMD_NR - 1);
	}
	if (!folio) {
		if (!shmem_charge(inode, 1)) {
			*err = -ENOSPC;
			return NULL;
		}
		folio = folio_alloc(m, GFP_HIGHUSER_MOVABLE | __GFP_ZERO, 0);
		if (!folio) {
			shmem_uncharge(inode, 1);
			*err = -ENOMEM;
			return NULL;
		}
	}
	__folio_set_swapbacked(folio);
	folio_mark_uptodate(folio);
	__folio_set_dirty(folio);
	*err = filemap_add_folio(inode->i_mapping, folio, index);
	if (*err) {
		shmem_uncharge(inode, folio_nr_pages(folio));
		folio_put(m, folio);
		return NULL;
	}
	return folio;
}

/*
 * shmem_get_folio(): the folio holding index, locked and referenced,
 * swapped in or allocated as sgp says; NULL with *err 0 for a hole under
 * SGP_READ; NULL with -EINVAL beyond the end (a fault: SIGBUS), -ENOSPC
 * (the mount is full), -ENOMEM, -EIO.  write_end and vmf: what the huge
 * page policy looks at (shmem_huge_enabled).
 */
static struct folio *shmem_get_folio(struct inode *inode, unsigned long index, enum sgp_type sgp,
				     int64_t write_end, struct vm_fault *vmf, int *err)
{
	struct address_space *mapping = inode->i_mapping;
	struct mml_machine *m = inode->i_sb->machine;
	struct folio *folio;
	void *entry;
	bool huge;

	for (;;) {
		*err = 0;
		if (sgp <= SGP_CACHE && ((uint64_t)index << PAGE_SHIFT) >= (uint64_t)i_size_read(inode)) {
			*err = -EINVAL;
			return NULL;
		}
		entry = filemap_get_entry(mapping, index);
		if (xa_is_value(entry)) {
			folio = shmem_swapin_folio(inode, index, entry, err);
			if (folio || *err)
				return folio;
			continue;
		}
		if (entry) {
			folio = entry;
			folio_lock(folio);
			if (folio->mapping == mapping)
				return folio;
			folio_unlock(folio);
			folio_put(m, folio);
			continue;
		}
		if (sgp == SGP_READ)
			return NULL;
		huge = shmem_huge_enabled(inode, index, write_end, false, vmf ? vmf->vma : NULL,
					  vmf ? vmf->vma->vm_flags : 0) &&
		       shmem_huge_suitable(mapping, vmf, index);
		folio = shmem_alloc_and_add_folio(inode, index, huge, vmf, err);
		if (folio || *err != -EEXIST)
			return folio;
	}
}

/* shmem_get_folio(SGP_NOALLOC) for collapse_file: a hole stays one (NULL, *err 0). */
struct folio *shmem_get_folio_noalloc(struct inode *inode, unsigned long index, int *err)
{
	return shmem_get_folio(inode, index, SGP_READ, 0, NULL, err);
}

/* ---- faults ---------------------------------------------------------------------- */

static vm_fault_t shmem_fault(struct vm_fault *vmf)
{
	struct inode *inode = file_inode(vmf->vma->vm_file);
	struct folio *folio;
	int err;

	/*
	 * shmem_get_folio_gfp()'s userfaultfd part: a page in the cache (or
	 * in swap) is a MINOR fault for a MINOR registration; none at all is
	 * a MISSING one.  Asked before the invalidate_lock, which a sleeper
	 * must not hold; handle_userfault looks at the pte again.
	 */
	if (userfaultfd_armed(vmf->vma)) {
		void *entry = filemap_get_entry(inode->i_mapping, vmf->pgoff);

		if (entry && !xa_is_value(entry))
			folio_put(inode->i_sb->machine, entry);
		if (entry && userfaultfd_minor(vmf->vma))
			return handle_userfault(vmf, VM_UFFD_MINOR);
		if (!entry && userfaultfd_missing(vmf->vma))
			return handle_userfault(vmf, VM_UFFD_MISSING);
	}
	/* A hole being punched is not filled again meanwhile. */
	down_read(&inode->i_mapping->invalidate_lock);
	folio = shmem_get_folio(inode, vmf->pgoff, SGP_CACHE, 0, vmf, &err);
	up_read(&inode->i_mapping->invalidate_lock);
	if (!folio)
		return err == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
	vmf->page = folio_page(folio, vmf->pgoff - folio->index);
	return VM_FAULT_LOCKED;
}

static const struct vm_operations_struct shmem_vm_ops = {
	.fault = shmem_fault,
	.map_pages = filemap_map_pages,
};

static int shmem_mmap(struct file *file, struct vm_area_struct *vma)
{
	vma->vm_ops = &shmem_vm_ops;
	return 0;
}

/* ---- read and write ------------------------------------------------------------ */

static long shmem_file_read_iter(struct file *file, void *buf, uint64_t len, int64_t pos)
{
	struct inode *inode = file_inode(file);
	struct mml_machine *m = inode->i_sb->machine;
	uint64_t done = 0;

	while (done < len) {
		int64_t at = pos + (int64_t)done, isize = i_size_read(inode);
		uint64_t off = (uint64_t)at & (PAGE_SIZE - 1), n;
		struct folio *folio;
		int err;

		if (at >= isize)
			break;
		n = min(min(PAGE_SIZE - off, len - done), (uint64_t)(isize - at));
		folio = shmem_get_folio(inode, (unsigned long)(at >> PAGE_SHIFT), SGP_READ, 0, NULL, &err);
		if (!folio && err)
			return done ? (long)done : err;
		if (folio) {
			folio_unlock(folio);
			page_data_copy((char *)buf + done, (char *)folio_address(m, folio) + offset_in_folio(folio, at), n);
			folio_mark_accessed(m, folio);
			folio_put(m, folio);
		} else {
			memset((char *)buf + done, 0, n);	/* a hole */
		}
		done += n;
	}
	return (long)done;
}

static long shmem_file_write_iter(struct file *file, const void *buf, uint64_t len, int64_t pos)
{
	struct inode *inode = file_inode(file);
	struct mml_machine *m = inode->i_sb->machine;
	uint64_t done = 0;

	if (inode->seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE))
		return -EPERM;
	while (done < len) {
		int64_t at = pos + (int64_t)done;
		uint64_t off = (uint64_t)at & (PAGE_SIZE - 1), n = min(PAGE_SIZE - off, len - done);
		struct folio *folio;
		int err;

		/* shmem_write_begin(): a grow-sealed file takes the pages within its size. */
		if ((inode->seals & F_SEAL_GROW) && at + (int64_t)n > i_size_read(inode))
			return done ? (long)done : -EPERM;

		folio = shmem_get_folio(inode, (unsigned long)(at >> PAGE_SHIFT), SGP_WRITE, at + (int64_t)n, NULL, &err);
		if (!folio)
			return done ? (long)done : err;
		folio_write_end(m, folio, offset_in_folio(folio, at), (const char *)buf + done, n);
		done += n;
		if (at + (int64_t)n > i_size_read(inode))
			i_size_write(inode, at + (int64_t)n);
	}
	return (long)done;
}

static int shmem_fsync(struct file *file)
{
	return 0;	/* noop_fsync: memory is its only store */
}

/* ---- truncate, punch, fallocate --------------------------------------------------- */

/* Free the swap entries of [start, end) (pages) the cache holds (shmem_free_swap). */
static void shmem_free_swap_range(struct inode *inode, unsigned long start, unsigned long end)
{
	struct address_space *mapping = inode->i_mapping;
	struct mml_machine *m = inode->i_sb->machine;
	unsigned long index = start;
	void *entry;

	if (start >= end)
		return;
	xa_for_each_range(&mapping->i_pages, index, entry, start, end - 1) {
		if (!xa_is_value(entry))
			continue;
		xa_lock(&mapping->i_pages);
		if (__xa_cmpxchg(&mapping->i_pages, index, entry, NULL) != entry) {
			xa_unlock(&mapping->i_pages);
			continue;
		}
		mapping->nrswapped--;
		xa_unlock(&mapping->i_pages);
		shmem_uncharge(inode, 1);
		free_swap_and_cache(m, radix_to_swp_entry(entry));
	}
}

/*
 * shmem_undo_range(): bytes [lstart, lend] become a hole: the partial
 * pages at either edge are brought back from swap to be zeroed in
 * memory, whole pages leave the cache, swap entries are freed.
 */
static void shmem_undo_range(struct inode *inode, int64_t lstart, int64_t lend)
{
	unsigned long start = (unsigned long)((lstart + (int64_t)PAGE_SIZE - 1) >> PAGE_SHIFT);
	unsigned long end = lend < 0 ? ~0UL : (unsigned long)((lend + 1) >> PAGE_SHIFT);
	struct mml_machine *m = inode->i_sb->machine;
	unsigned long edges[2] = { (unsigned long)(lstart >> PAGE_SHIFT), end };

	for (int i = 0; i < 2; i++) {
		bool partial = i == 0 ? (lstart & (PAGE_SIZE - 1)) : (lend >= 0 && ((lend + 1) & (PAGE_SIZE - 1)));
		struct folio *folio;
		int err;

		if (!partial || !xa_is_value(xa_load(&inode->i_mapping->i_pages, edges[i])))
			continue;
		folio = shmem_get_folio(inode, edges[i], SGP_READ, 0, NULL, &err);
		if (folio) {
			folio_unlock(folio);
			folio_put(m, folio);
		}
	}
	truncate_inode_pages_range(inode->i_mapping, lstart, lend);
	shmem_free_swap_range(inode, start, end);
}

static int shmem_setattr_size(struct inode *inode, int64_t size)
{
	int64_t oldsize = i_size_read(inode);

	if ((size < oldsize && (inode->seals & F_SEAL_SHRINK)) || (size > oldsize && (inode->seals & F_SEAL_GROW)))
		return -EPERM;
	i_size_write(inode, size);
	/*
	 * shmem_setattr(): a size that does not grow truncates, the same size
	 * too: what fallocate(FALLOC_FL_KEEP_SIZE) put past the end goes, and
	 * the rest of the last page is zeroed.
	 */
	if (size <= oldsize) {
		int64_t holebegin = (size + (int64_t)PAGE_SIZE - 1) & ~(int64_t)(PAGE_SIZE - 1);

		if (oldsize > holebegin)
			unmap_mapping_range(inode->i_mapping, holebegin, 0, true);
		shmem_undo_range(inode, size, -1);
		if (oldsize > holebegin)
			unmap_mapping_range(inode->i_mapping, holebegin, 0, true);
	}
	return 0;
}

static int shmem_fallocate(struct file *file, int mode, int64_t off, int64_t len)
{
	struct inode *inode = file_inode(file);
	struct address_space *mapping = inode->i_mapping;
	struct mml_machine *m = inode->i_sb->machine;
	unsigned long first = (unsigned long)(off >> PAGE_SHIFT);
	unsigned long last = (unsigned long)((off + len - 1) >> PAGE_SHIFT);
	struct { unsigned long index, nr; } *fresh;
	unsigned long nfresh = 0;
	int err = 0;

	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE))
		return -EOPNOTSUPP;
	if (mode & FALLOC_FL_PUNCH_HOLE) {
		int64_t unmap_start = (off + (int64_t)PAGE_SIZE - 1) & ~(int64_t)(PAGE_SIZE - 1);
		int64_t unmap_end = (off + len) & ~(int64_t)(PAGE_SIZE - 1);

		if (inode->seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE))
			return -EPERM;
		down_write(&mapping->invalidate_lock);
		if (unmap_end > unmap_start)
			unmap_mapping_range(mapping, unmap_start, unmap_end - unmap_start, false);
		shmem_undo_range(inode, off, off + len - 1);
		up_write(&mapping->invalidate_lock);
		return 0;
	}
	if ((inode->seals & F_SEAL_GROW) && off + len > i_size_read(inode))
		return -EPERM;
	if (inode->i_sb->s_max_blocks && last - first + 1 > inode->i_sb->s_max_blocks)
		return -ENOSPC;	/* more than the whole mount: refused before anything is allocated */
	fresh = calloc(last - first + 1, sizeof(*fresh));
	if (!fresh)
		return -ENOMEM;
	for (unsigned long index = first; index <= last; index++) {
		struct folio *folio;

		if (xa_load(&mapping->i_pages, index))
			continue;	/* a page or a swap entry: allocated already */
		folio = shmem_get_folio(inode, index, SGP_FALLOC, off + len, NULL, &err);
		if (!folio) {
			/* Linux gives back what this call allocated (its unfalloc pass), and only that. */
			for (unsigned long k = 0; k < nfresh; k++)
				shmem_undo_range(inode, (int64_t)fresh[k].index << PAGE_SHIFT,
						 (int64_t)(fresh[k].index + fresh[k].nr) * (int64_t)PAGE_SIZE - 1);
			free(fresh);
			return err;
		}
		fresh[nfresh].index = folio->index;	/* a huge folio covers its whole range */
		fresh[nfresh++].nr = (unsigned long)folio_nr_pages(folio);
		folio_unlock(folio);
		folio_put(m, folio);
	}
	free(fresh);
	if (!(mode & FALLOC_FL_KEEP_SIZE) && off + len > i_size_read(inode))
		i_size_write(inode, off + len);
	return 0;
}

/* ---- reclaim and swapoff ------------------------------------------------------------- */

/*
 * shmem_writeout(): reclaim moves a locked, unmapped shmem folio to swap:
 * a slot, the swap cache, and the slot's entry in the page cache in place
 * of the folio, which is then written like an anon one.  -ENOMEM (no
 * slot): kept.
 */
int shmem_writeout(struct folio *folio)
{
	struct address_space *mapping = folio->mapping;
	struct inode *inode = mapping->host;
	struct mml_machine *m = inode->i_sb->machine;
	swp_entry_t entry;

	entry = folio_alloc_swap(m);
	if (!entry.val)
		return -ENOMEM;
	/* The page cache's entry counts as one user of the slot, as a pte's would. */
	if (swap_duplicate(m, entry) < 0) {
		put_swap_folio(m, entry);
		return -ENOMEM;
	}
	shmem_add_to_swaplist(inode);
	add_to_swap_cache(m, folio, entry);
	xa_lock(&mapping->i_pages);
	__filemap_remove_folio(folio, swp_to_radix_entry(entry));
	xa_unlock(&mapping->i_pages);
	folio_put_refs(m, folio, (int)folio_nr_pages(folio));
	folio_set_dirty(folio);
	return 0;
}

/*
 * shmem_unuse(): swapoff brings back every page of device type that a
 * shmem file holds as a swap entry.  -ENOMEM if one cannot come back.
 */
int shmem_unuse(struct mml_machine *m, unsigned int type)
{
	struct inode *inode, *prev = NULL;
	int err = 0;

	spin_lock(&m->shmem_swaplist_lock);
	list_for_each_entry(inode, &m->shmem_swaplist, i_swaplist) {
		struct address_space *mapping = inode->i_mapping;
		unsigned long index = 0;
		void *entry;

		if (!atomic_add_unless(&inode->i_count, 1, 0))
			continue;
		spin_unlock(&m->shmem_swaplist_lock);
		if (prev)
			iput(prev);
		prev = inode;
		xa_for_each(&mapping->i_pages, index, entry) {
			struct folio *folio;

			if (!xa_is_value(entry) || swp_type(radix_to_swp_entry(entry)) != type)
				continue;
			folio = shmem_swapin_folio(inode, index, entry, &err);
			if (folio) {
				folio_unlock(folio);
				folio_put(m, folio);
			}
			if (err)
				break;
		}
		spin_lock(&m->shmem_swaplist_lock);
		if (err)
			break;
	}
	spin_unlock(&m->shmem_swaplist_lock);
	if (prev)
		iput(prev);
	return err;
}

/* ---- the file system ---------------------------------------------------------------- */

/* A tmpfs file is charged page by page (shmem_mknod passes VM_NORESERVE). */
static int shmem_create(struct inode *inode, const char *name)
{
	inode->i_noreserve = true;
	return 0;
}
static int shmem_lookup(struct inode *inode, const char *name) { return -ENOENT; }
static int shmem_unlink(struct inode *inode) { return 0; }

/* shmem_evict_inode(): the last reference went: every page and swap entry goes. */
static void shmem_evict_inode(struct inode *inode)
{
	struct mml_machine *m = inode->i_sb->machine;

	shmem_undo_range(inode, 0, -1);
	vm_unacct_memory(m, inode->i_acct_pages);	/* shmem_unacct_size() */
	spin_lock(&m->shmem_swaplist_lock);
	list_del_init(&inode->i_swaplist);
	spin_unlock(&m->shmem_swaplist_lock);
}

/*
 * shmem_statfs(): a sized mount's limit and use (the internal mount has
 * none: zeros); inodes as tmpfs's default nr_inodes, one per page of the
 * limit.
 */
static void shmem_statfs(struct super_block *sb, struct statvfs *buf)
{
	unsigned long used = (unsigned long)atomic_long_read(&sb->s_used_blocks), inodes = 0;
	struct inode *inode;

	buf->f_bsize = buf->f_frsize = PAGE_SIZE;
	if (!sb->s_max_blocks)
		return;
	buf->f_blocks = sb->s_max_blocks;
	buf->f_bfree = buf->f_bavail = used < sb->s_max_blocks ? sb->s_max_blocks - used : 0;
	spin_lock(&sb->s_inode_list_lock);
	list_for_each_entry(inode, &sb->s_inodes, i_sb_list)
		inodes++;
	spin_unlock(&sb->s_inode_list_lock);
	buf->f_files = sb->s_max_blocks;
	buf->f_ffree = buf->f_favail = inodes < sb->s_max_blocks ? sb->s_max_blocks - inodes : 0;
}

static const struct super_operations shmem_ops = {
	.create = shmem_create,
	.lookup = shmem_lookup,
	.unlink = shmem_unlink,
	.setattr_size = shmem_setattr_size,
	.evict_inode = shmem_evict_inode,
	.statfs = shmem_statfs,
};

static const struct file_operations shmem_file_operations = {
	.read_iter = shmem_file_read_iter,
	.write_iter = shmem_file_write_iter,
	.fsync = shmem_fsync,
	.fallocate = shmem_fallocate,
	.mmap = shmem_mmap,
};

static int shmem_read_folio(struct file *file, struct folio *folio) { return -EIO; }
static int shmem_writepage(struct folio *folio, struct writeback_control *wbc) { return shmem_writeout(folio); }

static const struct address_space_operations shmem_aops = {
	.read_folio = shmem_read_folio,
	.writepage = shmem_writepage,
};

struct super_block *shmem_fill_super(struct mml_machine *m, const char *root, unsigned int dev,
				     unsigned long max_blocks)
{
	struct super_block *sb = sb_alloc(m, "tmpfs", root, dev);

	if (!sb)
		return NULL;
	sb->s_op = &shmem_ops;
	sb->s_fop = &shmem_file_operations;
	sb->s_aops = &shmem_aops;
	sb->s_swapbacked = true;
	sb->s_max_blocks = max_blocks;
	return sb;
}

struct file *shmem_file_setup(struct mml_machine *m, const char *name, int64_t size, unsigned int seals)
{
	struct super_block *sb = m->mounts[MNT_SHM_INTERNAL];
	struct inode *inode = new_inode(sb, name);
	struct file *file;

	if (!inode)
		return NULL;
	inode->seals = seals;
	inode->i_noreserve = true;	/* shmem_zero_setup() charges the size instead, unless MAP_NORESERVE */
	i_size_write(inode, size);
	file = alloc_file(inode, FMODE_READ | FMODE_WRITE, O_RDWR);
	iput(inode);	/* the file holds it now */
	return file;
}

/*
 * shmem_zero_setup(): MAP_SHARED|MAP_ANONYMOUS maps an unnamed shmem file
 * of the VMA's size, its whole size charged to the commit unless
 * MAP_NORESERVE (shmem_acct_size), given back when the file goes.
 */
int shmem_zero_setup(struct vm_area_struct *vma)
{
	struct mml_machine *m = vma->vm_mm->machine;
	long pages = (vma->vm_flags & VM_NORESERVE) ? 0 : (long)((vma->vm_end - vma->vm_start) >> PAGE_SHIFT);
	struct file *file;

	if (pages && __vm_enough_memory(m, vma->vm_mm, pages))
		return -ENOMEM;
	file = shmem_file_setup(m, "dev/zero", (int64_t)(vma->vm_end - vma->vm_start), F_SEAL_SEAL);
	if (!file) {
		vm_unacct_memory(m, pages);
		return -ENOMEM;
	}
	file_inode(file)->i_acct_pages = pages;
	file_inode(file)->i_noreserve = !pages;
	vma->vm_file = file;
	vma->vm_pgoff = 0;
	return shmem_mmap(file, vma);
}

/* ---- memfd seals (mm/memfd.c) ------------------------------------------------------------ */

#define F_ALL_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)

/* Does a page of the file have references beyond the cache's and its mappings' (memfd_folio_has_extra_refs)? */
static bool memfd_extra_refs(struct address_space *mapping)
{
	unsigned long index = 0;
	void *entry;

	xa_for_each(&mapping->i_pages, index, entry) {
		struct folio *folio = entry;

		if (!xa_is_value(entry) && folio_ref_count(folio) - folio_mapcount(folio) != folio_nr_pages(folio))
			return true;
	}
	return false;
}

/*
 * memfd_tag_pins() and memfd_wait_for_pins(), without the waits: is a page
 * of the file pinned (a DMA in flight that could still write it)?  A new
 * page's reference from a CPU's lru_add batch is not a pin: this CPU's
 * batch is drained first, every CPU's before the second look, as Linux's
 * first retry does.  Linux then waits a while longer before EBUSY; here
 * it is EBUSY at once.
 */
static bool memfd_pages_pinned(struct address_space *mapping)
{
	struct mml_machine *m = mapping->host->i_sb->machine;

	lru_add_drain(m);
	if (!memfd_extra_refs(mapping))
		return false;
	lru_add_drain_all(m);
	return memfd_extra_refs(mapping);
}

/*
 * memfd_add_seals(): a write seal needs every shared writable mapping
 * gone and no page pinned (EBUSY otherwise), and forbids new mappings
 * from now on.
 */
static int memfd_add_seals(struct file *file, unsigned int seals)
{
	struct inode *inode = file_inode(file);
	int err = 0;

	down_write(&inode->i_rwsem);
	if (inode->seals & F_SEAL_SEAL) {
		err = -EPERM;
	} else if ((seals & F_SEAL_WRITE) && !(inode->seals & F_SEAL_WRITE)) {
		/* mapping_deny_writable(): no shared writable map, and none from now on. */
		if (atomic_cmpxchg(&inode->i_mapping->i_mmap_writable, 0, -1) != 0)
			err = -EBUSY;
		else if (memfd_pages_pinned(inode->i_mapping)) {
			atomic_set(&inode->i_mapping->i_mmap_writable, 0);
			err = -EBUSY;
		}
	}
	if (!err)
		inode->seals |= seals;
	up_write(&inode->i_rwsem);
	return err;
}

long memfd_fcntl(struct file *file, int cmd, long arg)
{
	switch (cmd) {
	case F_ADD_SEALS:
		/* memfd_add_seals()'s order: the descriptor's access, the seals, then the file's kind. */
		if (!(file->f_mode & FMODE_WRITE))
			return -EPERM;
		if ((unsigned int)arg & ~F_ALL_SEALS)
			return -EINVAL;
		if (!shmem_mapping(file->f_mapping))
			return -EINVAL;
		return memfd_add_seals(file, (unsigned int)arg);
	case F_GET_SEALS:
		return shmem_mapping(file->f_mapping) ? (long)file_inode(file)->seals : -EINVAL;
	default:
		return -EINVAL;
	}
}

/* ---- userfaultfd ---------------------------------------------------------------- */

/*
 * The first half of shmem_mfill_atomic_pte(): a new folio holding src's
 * page (zeros for NULL: UFFDIO_ZEROPAGE) goes into the cache at index,
 * locked and referenced for the caller, who maps it or undoes it with
 * shmem_mfill_folio_undo.  -EFAULT past the end of the file, -EEXIST if
 * the cache has the page (or its swap entry), -ENOSPC, -ENOMEM.
 */
int shmem_mfill_folio(struct inode *inode, unsigned long index, const void *src, struct folio **foliop)
{
	struct mml_machine *m = inode->i_sb->machine;
	struct folio *folio;
	void *entry;
	int err;

	if (((uint64_t)index << PAGE_SHIFT) >= (uint64_t)i_size_read(inode))
		return -EFAULT;
	entry = filemap_get_entry(inode->i_mapping, index);
	if (entry) {
		if (!xa_is_value(entry))
			folio_put(m, entry);
		return -EEXIST;
	}
	if (!shmem_charge(inode, 1))
		return -ENOMEM;
	folio = folio_alloc(m, GFP_HIGHUSER_MOVABLE | (src ? 0 : __GFP_ZERO), 0);
	if (!folio) {
		shmem_uncharge(inode, 1);
		return -ENOMEM;
	}
	if (src)
		page_data_copy(folio_address(m, folio), src, PAGE_SIZE);
	__folio_set_swapbacked(folio);
	folio_mark_uptodate(folio);
	__folio_set_dirty(folio);
	err = filemap_add_folio(inode->i_mapping, folio, index);
	if (err) {
		shmem_uncharge(inode, 1);
		folio_put(m, folio);
		return err;
	}
	*foliop = folio;
	return 0;
}

/* The page could not be mapped (-EEXIST in the pte): it leaves the cache again, locked and referenced. */
void shmem_mfill_folio_undo(struct inode *inode, struct folio *folio)
{
	struct mml_machine *m = inode->i_sb->machine;

	filemap_remove_folio(folio);
	shmem_uncharge(inode, 1);
	folio_unlock(folio);
	folio_put(m, folio);
}

/* UFFDIO_CONTINUE's lookup (shmem_get_folio with SGP_NOALLOC): the cached page, locked and referenced, or NULL. */
struct folio *shmem_continue_folio(struct inode *inode, unsigned long index, int *err)
{
	struct folio *folio = ((uint64_t)index << PAGE_SHIFT) < (uint64_t)i_size_read(inode) ?
			      shmem_get_folio_noalloc(inode, index, err) : NULL;

	/* Linux: a hole, or a page past the end, is EFAULT for UFFDIO_CONTINUE */
	if (!folio && (!*err || *err == -EINVAL))
		*err = -EFAULT;
	return folio;
}
