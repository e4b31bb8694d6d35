/*
 * msync.c - msync(2) and mincore(2) (Linux's mm/msync.c and mm/mincore.c).
 */
#include <string.h>
#include <sys/mman.h>

#include "fs/vfs.h"
#include "mm/internal.h"
#include "mm/pagewalk.h"

/* vfs_fsync_range(): write the file's dirty pages of [start, end] back; 0 or -EIO. */
static int vfs_fsync_range(struct file *file, int64_t start, int64_t end)
{
	if (!mapping_can_writeback(file->f_mapping))
		return 0;
	return filemap_write_and_wait_range(file->f_mapping, start, end);
}

/*
 * Models sys_msync(): MS_SYNC writes back what shared file mappings of the
 * range dirtied; MS_ASYNC does nothing (since Linux 2.6.19); ENOMEM for
 * a hole in the range, after the rest is done (but MS_ASYNC stops there).
 */
int mml_msync(struct mml_task *t, uint64_t start, uint64_t len, int flags)
{
	struct mm_struct *mm = t->mm;
	struct vm_area_struct *vma;
	int error = -ENOMEM, unmapped_error = 0;
	uint64_t end;
	long ret;

	if (flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC))
		return -EINVAL;
	if (start & ~PAGE_MASK)
		return -EINVAL;
	if ((flags & MS_ASYNC) && (flags & MS_SYNC))
		return -EINVAL;
	len = PAGE_ALIGN(len);
	end = start + len;
	if (end < start || end > TASK_SIZE)
		return -ENOMEM;
	if (end == start)
		return 0;
	ret = op_enter_task(t);
	if (ret)
		return (int)ret;
	down_read(&mm->mmap_lock);
	vma = find_vma(mm, start);
	for (;;) {
		struct file *file;
		int64_t fstart, fend;

		/* A hole after a range already synced is still ENOMEM (as 6.18 answers). */
		error = -ENOMEM;
		if (!vma)
			goto out_unlock;
		if (start < vma->vm_start) {
			if (flags == MS_ASYNC)
				goto out_unlock;
			start = vma->vm_start;
			if (start >= end)
				goto out_unlock;
			unmapped_error = -ENOMEM;
		}
		if ((flags & MS_INVALIDATE) && (vma->vm_flags & VM_LOCKED)) {
			error = -EBUSY;
			goto out_unlock;
		}
		file = vma->vm_file;
		fstart = (int64_t)(start - vma->vm_start) + ((int64_t)vma->vm_pgoff << PAGE_SHIFT);
		fend = fstart + (int64_t)(min(end, vma->vm_end) - start) - 1;
		start = vma->vm_end;
		if ((flags & MS_SYNC) && file && (vma->vm_flags & VM_SHARED)) {
			get_file(file);
			up_read(&mm->mmap_lock);
			error = vfs_fsync_range(file, fstart, fend);
			fput(file);
			if (error || start >= end)
				goto out;
			down_read(&mm->mmap_lock);
			vma = find_vma(mm, start);
		} else {
			if (start >= end) {
				error = 0;
				goto out_unlock;
			}
			vma = find_vma(mm, vma->vm_end);
		}
	}
out_unlock:
	up_read(&mm->mmap_lock);
out:
	return (int)op_exit_task(t, error ? error : unmapped_error);
}

/*
 * mincore_swap(): is the page of a swap slot in memory (the swap cache)?
 * A shmem entry was read without a lock that holds swapoff off (a swap
 * pte is read under its pte lock): keep the device meanwhile.
 */
static unsigned char mincore_swap(struct mml_machine *m, swp_entry_t entry, bool shmem)
{
	struct swap_info_struct *si = shmem ? get_swap_device(m, entry) : NULL;
	struct folio *folio;
	unsigned char present = 0;

	if (shmem && !si)
		return 0;
	folio = swap_cache_get_folio(m, entry);
	if (si)
		put_swap_device(si);
	if (folio) {
		present = folio_test_uptodate(folio);
		folio_put(m, folio);
	}
	return present;
}

/* mincore_page(): is the file's page at index in the page cache (or shmem's swap cache)? */
static unsigned char mincore_page(struct address_space *mapping, unsigned long index)
{
	struct mml_machine *m = mapping->host->i_sb->machine;
	void *entry = filemap_get_entry(mapping, index);
	unsigned char present;

	if (!entry)
		return 0;
	if (xa_is_value(entry))
		return mincore_swap(m, (swp_entry_t){ .val = xa_to_value(entry) }, true);
	present = folio_test_uptodate((struct folio *)entry);
	folio_put(m, entry);
	return present;
}

struct mincore_walk {
	unsigned char *vec;
	uint64_t start;
};

static unsigned char mincore_unmapped(struct vm_area_struct *vma, uint64_t addr)
{
	return vma->vm_file ? mincore_page(vma->vm_file->f_mapping, linear_page_index(vma, addr)) : 0;
}

static int mincore_pte_entry(pte_t *pte, uint64_t addr, uint64_t next, struct mm_walk *walk)
{
	struct mincore_walk *mw = walk->private;
	pte_t ptent = ptep_get(pte);
	unsigned char *v = &mw->vec[(addr - mw->start) >> PAGE_SHIFT];

	if (pte_none(ptent))
		*v = mincore_unmapped(walk->vma, addr);
	else if (pte_present(ptent) || !is_swap_entry_pte(ptent))
		*v = 1;	/* present, or a device-exclusive entry: the page is in memory */
	else
		*v = mincore_swap(walk->mm->machine, pte_to_swp_entry(ptent), false);
	return 0;
}

static int mincore_pte_hole(uint64_t addr, uint64_t end, int depth, struct mm_walk *walk)
{
	struct mincore_walk *mw = walk->private;

	for (; addr < end; addr += PAGE_SIZE)
		mw->vec[(addr - mw->start) >> PAGE_SHIFT] = walk->vma ? mincore_unmapped(walk->vma, addr) : 0;
	return 0;
}

/* A pmd leaf: every page of it is in memory (mincore_pte_range's THP case); no split. */
static int mincore_pmd_entry(pmd_t *pmd, uint64_t addr, uint64_t next, struct mm_walk *walk)
{
	struct mincore_walk *mw = walk->private;
	spinlock_t *ptl = pmd_trans_huge_lock(pmd, walk->vma);

	if (!ptl)
		return 0;
	memset(&mw->vec[(addr - mw->start) >> PAGE_SHIFT], 1, (next - addr) >> PAGE_SHIFT);
	walk->action = ACTION_CONTINUE;
	spin_unlock(ptl);
	return 0;
}

static const struct mm_walk_ops mincore_walk_ops = {
	.pmd_entry = mincore_pmd_entry,
	.pte_entry = mincore_pte_entry,
	.pte_hole = mincore_pte_hole,
};

/* Models sys_mincore(): a byte per page, 1 if it is in memory; ENOMEM where nothing is mapped. */
int mml_mincore(struct mml_task *t, uint64_t start, uint64_t len, unsigned char *vec)
{
	struct mm_struct *mm = t->mm;
	struct mincore_walk mw = { .vec = vec, .start = start };
	uint64_t end, addr;
	long ret;

	if (start & ~PAGE_MASK)
		return -EINVAL;
	if (len > TASK_SIZE || start > TASK_SIZE - len)
		return -ENOMEM;
	end = PAGE_ALIGN(start + len);
	ret = op_enter_task(t);
	if (ret)
		return (int)ret;
	down_read(&mm->mmap_lock);
	for (addr = start; addr < end;) {
		struct vm_area_struct *vma = vma_lookup(mm, addr);
		uint64_t stop;

		if (!vma) {
			ret = -ENOMEM;
			break;
		}
		stop = min(end, vma->vm_end);
		walk_page_range_vma(vma, addr, stop, &mincore_walk_ops, &mw);
		addr = stop;
	}
	up_read(&mm->mmap_lock);
	return (int)op_exit_task(t, ret);
}
