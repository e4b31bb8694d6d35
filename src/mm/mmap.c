/*
 * mmap.c - mmap and munmap of anonymous memory and files, the placement
 * of new mappings, a file's i_mmap, and the teardown of a whole address
 * space (Linux's mm/mmap.c, mm/vma.c do_vmi_munmap, arch/x86
 * arch_get_unmapped_area_topdown).
 *
 * Everything here runs with mmap_lock held for write.
 */
#include <string.h>
#include <sys/mman.h>

#include "fs/vfs.h"
#include "mm/internal.h"
#include "mm/ksm.h"
#include "mm/mmu_notifier.h"

/* ---- a file's i_mmap ----------------------------------------------------------------- */

static bool is_shared_maywrite(vm_flags_t f)
{
	return (f & (VM_SHARED | VM_MAYWRITE)) == (VM_SHARED | VM_MAYWRITE);
}

/* __vma_link_file(): vma joins its file's i_mmap (i_mmap_rwsem held for write). */
void __vma_link_file(struct vm_area_struct *vma)
{
	struct address_space *mapping = vma->vm_file->f_mapping;

	if (is_shared_maywrite(vma->vm_flags))
		atomic_inc(&mapping->i_mmap_writable);
	list_add_tail(&vma->shared, &mapping->i_mmap);
}

void __unlink_file_vma(struct vm_area_struct *vma)
{
	struct address_space *mapping = vma->vm_file->f_mapping;

	if (is_shared_maywrite(vma->vm_flags))
		atomic_dec(&mapping->i_mmap_writable);
	list_del_init(&vma->shared);
}

void vma_link_file(struct vm_area_struct *vma)
{
	struct address_space *mapping;

	if (!vma->vm_file)
		return;
	mapping = vma->vm_file->f_mapping;
	down_write(&mapping->i_mmap_rwsem);
	__vma_link_file(vma);
	up_write(&mapping->i_mmap_rwsem);
}

/* unlink_file_vma(): before its page tables go, so that no i_mmap walker reaches them. */
void unlink_file_vma(struct vm_area_struct *vma)
{
	struct address_space *mapping;

	if (!vma->vm_file || list_empty(&vma->shared))
		return;
	mapping = vma->vm_file->f_mapping;
	down_write(&mapping->i_mmap_rwsem);
	__unlink_file_vma(vma);
	up_write(&mapping->i_mmap_rwsem);
}

/*
 * Models vma_wants_writenotify(): must a shared writable mapping start
 * write-protected, so that a first write faults and dirties the folio?
 * Where the file system tracks dirty pages (page_mkwrite, writeback).
 */
bool vma_wants_writenotify(struct vm_area_struct *vma)
{
	if ((vma->vm_flags & (VM_WRITE | VM_SHARED)) != (VM_WRITE | VM_SHARED))
		return false;
	if (vma->vm_ops && vma->vm_ops->page_mkwrite)
		return true;
	/* soft-dirty tracking (clear_refs 4) needs the write fault */
	if (!(vma->vm_flags & VM_SOFTDIRTY))
		return true;
	/* so does uffd-wp: a write to a protected page must fault to report */
	if (vma->vm_flags & VM_UFFD_WP)
		return true;
	return vma->vm_file && mapping_can_writeback(vma->vm_file->f_mapping);
}

/*
 * Models vma_needs_dirty_tracking(): does the file system itself track the
 * dirty pages of this shared writable mapping (page_mkwrite, writeback)?
 * Soft-dirty does not count: it write-protects for its own sake, and a
 * pin that writes behind it misleads no file system.
 */
bool vma_needs_dirty_tracking(struct vm_area_struct *vma)
{
	if ((vma->vm_flags & (VM_WRITE | VM_SHARED)) != (VM_WRITE | VM_SHARED))
		return false;
	if (vma->vm_ops && vma->vm_ops->page_mkwrite)
		return true;
	return vma->vm_file && mapping_can_writeback(vma->vm_file->f_mapping);
}

/* Models vm_unmapped_area() searching top-down: the highest gap that fits. */
static uint64_t unmapped_area_topdown(struct mm_struct *mm, uint64_t len, uint64_t low, uint64_t high)
{
	uint64_t gap_end = high;

	/* Walk VMAs downwards from the top, looking at the gap below each. */
	for (long i = (long)mm->map_count - 1; i >= -1; i--) {
		uint64_t gap_start = i >= 0 ? mm->vmas[i]->vm_end : low;
		uint64_t top = min(gap_end, high);

		if (i >= 0 && mm->vmas[i]->vm_start >= high) {
			gap_end = mm->vmas[i]->vm_start;
			continue;
		}
		gap_start = max(gap_start, low);
		if (top >= gap_start + len && top - len >= gap_start)
			return top - len;
		if (i >= 0)
			gap_end = mm->vmas[i]->vm_start;
	}
	return 0;
}

/* Models vm_unmapped_area() searching bottom-up: the lowest gap in [low, high) that fits. */
static uint64_t unmapped_area(struct mm_struct *mm, uint64_t len, uint64_t low, uint64_t high)
{
	uint64_t gap_start = low;

	for (unsigned long i = 0; i <= mm->map_count && gap_start < high; i++) {
		uint64_t gap_end = i < mm->map_count ? min(mm->vmas[i]->vm_start, high) : high;

		if (gap_end >= gap_start && gap_end - gap_start >= len)
			return gap_start;
		if (i < mm->map_count)
			gap_start = max(gap_start, mm->vmas[i]->vm_end);
	}
	return 0;
}

/*
 * x86-64's MAP_32BIT (arch_get_unmapped_area with find_start_end's
 * limits): a hint that fits below 2 GiB, else the lowest gap between 1
 * GiB and 2 GiB, else ENOMEM.  Linux moves the start up by a random
 * amount of at most 32 MiB when the process randomizes; mmlab never
 * randomizes (deviation 14).
 */
#define MAP_32BIT_BEGIN	0x40000000ULL
#define MAP_32BIT_END	0x80000000ULL
static uint64_t get_unmapped_area_32bit(struct mm_struct *mm, uint64_t addr, uint64_t len)
{
	uint64_t found;

	if (len > MAP_32BIT_END - MAP_32BIT_BEGIN)
		return (uint64_t)-ENOMEM;
	if (addr) {
		addr &= PAGE_MASK;
		if (MAP_32BIT_END - len >= addr && addr >= mmap_min_addr(mm) &&
		    !find_vma_intersection(mm, addr, addr + len))
			return addr;
	}
	found = unmapped_area(mm, len, MAP_32BIT_BEGIN, MAP_32BIT_END);
	return found ? found : (uint64_t)-ENOMEM;
}

/* Models arch_get_unmapped_area_topdown() and __get_unmapped_area(). */
uint64_t get_unmapped_area(struct mm_struct *mm, uint64_t addr, uint64_t len, int flags)
{
	uint64_t found;

	if (len > TASK_SIZE - mmap_min_addr(mm))
		return (uint64_t)-ENOMEM;
	if (flags & MAP_FIXED) {
		if (addr > TASK_SIZE - len)
			return (uint64_t)-ENOMEM;
		if (!PAGE_ALIGNED(addr))
			return (uint64_t)-EINVAL;
		return addr;
	}
	if (flags & MAP_32BIT)
		return get_unmapped_area_32bit(mm, addr, len);
	if (addr) {
		addr &= PAGE_MASK;	/* x86 rounds a hint down */
		if (TASK_SIZE - len >= addr && addr >= mmap_min_addr(mm) &&
		    !find_vma_intersection(mm, addr, addr + len))
			return addr;
	}
	found = unmapped_area_topdown(mm, len, max(PAGE_SIZE, PAGE_ALIGN(mmap_min_addr(mm))), mm->mmap_base);
	if (!found)	/* Linux falls back to a bottom-up search of the rest */
		found = unmapped_area_topdown(mm, len, mm->mmap_base, TASK_SIZE);
	return found ? found : (uint64_t)-ENOMEM;
}

/*
 * Models __get_unmapped_area()'s choice of searcher: the file's own
 * (thp_get_unmapped_area for a DAX file) or the mm's.  Linux's aligns
 * anonymous mappings of whole 2 MiB multiples too (docs/deviations.md).
 */
uint64_t __get_unmapped_area(struct mm_struct *mm, struct file *file, uint64_t addr, uint64_t len, unsigned long pgoff,
			     int flags)
{
	if (file && file->f_op->get_unmapped_area)
		return file->f_op->get_unmapped_area(file, mm, addr, len, pgoff, flags);
	return get_unmapped_area(mm, addr, len, flags);
}

/* Models round_hint_to_min(): a hint below mmap_min_addr means mmap_min_addr. */
static uint64_t round_hint_to_min(struct mm_struct *mm, uint64_t hint)
{
	hint &= PAGE_MASK;
	if (hint && hint < mmap_min_addr(mm))
		return PAGE_ALIGN(mmap_min_addr(mm));
	return hint;
}

/* calc_vm_prot_bits(): the VM_* bits of PROT_*, with the machine's own (PROT_MTE). */
vm_flags_t calc_vm_prot_bits(int prot)
{
	return ((prot & PROT_READ) ? VM_READ : 0) | ((prot & PROT_WRITE) ? VM_WRITE : 0) |
	       ((prot & PROT_EXEC) ? VM_EXEC : 0) | arch_calc_vm_prot_bits(prot);
}

/* The pages of [start, end) that VM_ACCOUNT VMAs cover: their charge. */
long accounted_pages(struct mm_struct *mm, uint64_t start, uint64_t end)
{
	struct vm_area_struct *vma;
	long pages = 0;

	for (vma = find_vma(mm, start); vma && vma->vm_start < end; vma = vma_next(vma))
		if (vma->vm_flags & VM_ACCOUNT)
			pages += (long)((min(vma->vm_end, end) - max(vma->vm_start, start)) >> PAGE_SHIFT);
	return pages;
}

/* A VMA going away gives its charge back (vms_complete_munmap_vmas, exit_mmap: nr_accounted). */
void vma_unaccount(struct vm_area_struct *vma)
{
	if (vma->vm_flags & VM_ACCOUNT)
		vm_unacct_memory(vma->vm_mm->machine, (long)((vma->vm_end - vma->vm_start) >> PAGE_SHIFT));
}

/*
 * Unmap and free the VMAs covering [start, end), which are already split at
 * start and end.  Models vms_complete_munmap_vmas() + unmap_region(): zap
 * the pages, free the page tables no neighbour needs, flush, then free.
 */
static void unmap_region(struct mm_struct *mm, uint64_t start, uint64_t end)
{
	struct vm_area_struct *first = find_vma(mm, start), *vma, *prev, *next;
	struct mmu_notifier_range range;
	struct mmu_gather tlb;

	if (!first || first->vm_start >= end)
		return;
	prev = vma_prev(first);
	next = find_vma(mm, end);

	/* vms_gather_munmap_vmas(): every VMA going is write-locked first: no fault refills it. */
	for (vma = first; vma && vma->vm_start < end; vma = vma_next(vma))
		vma_start_write(vma);
	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, mm, start, end);
	/* As unmap_region(): this CPU's new folios on the lists first, so that the zap frees them. */
	lru_add_drain(mm->machine);
	tlb_gather_mmu(&tlb, mm);
	mmu_notifier_invalidate_range_start(&range);
	for (vma = first; vma && vma->vm_start < end; vma = vma_next(vma))
		unmap_single_vma(&tlb, vma, vma->vm_start, vma->vm_end, ZAP_DETAILS_ALL);
	mmu_notifier_invalidate_range_end(&range);
	/*
	 * free_pgtables(): out of i_mmap and the anon_vmas first, where
	 * truncate and every rmap walk (split_folio, reclaim, migration) would
	 * find them: a walk that found the VMA holds the lock we wait for here,
	 * so none is still in the tables we free.
	 */
	for (vma = first; vma && vma->vm_start < end; vma = vma_next(vma)) {
		unlink_file_vma(vma);
		unlink_anon_vmas(vma);
	}
	free_pgd_range(&tlb, start, end, prev ? prev->vm_end : 0, next ? next->vm_start : 0);
	tlb_finish_mmu(&tlb);

	while ((vma = find_vma(mm, start)) && vma->vm_start < end) {
		if (vma->vm_flags & VM_LOCKED)
			mm->locked_vm -= vma_pages(vma);
		vma_unaccount(vma);
		vma_tree_erase(mm, vma);
		vm_area_free(vma);
	}
}

/* Models do_vmi_munmap() + do_vmi_align_munmap(). */
int do_munmap(struct mm_struct *mm, uint64_t start, uint64_t len)
{
	struct vm_area_struct *vma, *last;
	uint64_t end;
	int err;

	mmap_assert_write_locked(mm);
	if (!PAGE_ALIGNED(start) || start > TASK_SIZE || len > TASK_SIZE - start)
		return -EINVAL;
	end = start + PAGE_ALIGN(len);
	if (end == start)
		return -EINVAL;

	vma = find_vma_intersection(mm, start, end);
	if (!vma)
		return 0;
	if (start > vma->vm_start) {
		/* A split in the middle would make one VMA two: respect the limit. */
		if (end < vma->vm_end && mm->map_count >= MAX_MAP_COUNT)
			return -ENOMEM;
		err = split_vma_nolimit(vma, start, 1);
		if (err)
			return err;
	}
	last = find_vma_intersection(mm, end - 1, end);
	if (last && last->vm_end > end) {
		err = split_vma_nolimit(last, end, 0);
		if (err)
			return err;
	}
	unmap_region(mm, start, end);
	return 0;
}

#ifndef MAP_UNINITIALIZED
#define MAP_UNINITIALIZED	0x4000000	/* linux/mman.h's; glibc's sys/mman.h lacks it */
#endif
/* LEGACY_MAP_MASK: the flags every file takes under MAP_SHARED_VALIDATE (x86's MAP_32BIT is not one). */
#define LEGACY_MAP_MASK	(MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_DENYWRITE | MAP_EXECUTABLE | \
			 MAP_UNINITIALIZED | MAP_GROWSDOWN | MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE | \
			 MAP_NONBLOCK | MAP_STACK | MAP_HUGETLB)

/*
 * Models do_mmap()'s checks of a file against the mapping asked for:
 * the VM_* bits it adds or takes away, or -errno.  MAP_SHARED drops what
 * it does not know; MAP_SHARED_VALIDATE refuses it (EOPNOTSUPP), and
 * knows MAP_SYNC only for a file whose file system takes it (FOP_MMAP_SYNC).
 */
static long mmap_file_flags(struct file *file, int prot, int flags, vm_flags_t *vm_flags)
{
	struct inode *inode = file_inode(file);
	unsigned long flags_mask = LEGACY_MAP_MASK | (file->f_op->fop_flags & FOP_MMAP_SYNC ? MAP_SYNC : 0);

	switch (flags & MAP_TYPE) {
	case MAP_SHARED:
		flags &= LEGACY_MAP_MASK;
		/* fallthrough */
	case MAP_SHARED_VALIDATE:
		if ((unsigned long)flags & ~flags_mask)
			return -EOPNOTSUPP;
		if ((prot & PROT_WRITE) && !(file->f_mode & FMODE_WRITE))
			return -EACCES;
		*vm_flags |= VM_SHARED | VM_MAYSHARE;
		if (!(file->f_mode & FMODE_WRITE))
			*vm_flags &= ~(VM_MAYWRITE | VM_SHARED);
		/* fallthrough */
	case MAP_PRIVATE:
		if (!(file->f_mode & FMODE_READ))
			return -EACCES;
		break;
	default:
		return -EINVAL;
	}
	/* memfd_check_seals_mmap(): a write-sealed file maps shared only read-only, for good. */
	if ((inode->seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) && (*vm_flags & VM_SHARED)) {
		if (*vm_flags & VM_WRITE)
			return -EPERM;
		*vm_flags &= ~VM_MAYWRITE;
	}
	if (is_shared_maywrite(*vm_flags) && atomic_read(&file->f_mapping->i_mmap_writable) < 0)
		return -EPERM;	/* mapping_map_writable() */
	return 0;
}

/* Models do_mmap() + mmap_region(): anonymous memory, or file (NULL: anonymous). */
long do_mmap(struct mm_struct *mm, struct file *file, uint64_t addr, uint64_t len, int prot, int flags, int64_t off,
	     uint64_t *populate)
{
	struct vm_area_struct *vma;
	vm_flags_t vm_flags;
	unsigned long pgoff;
	long charged = 0;
	int err;

	mmap_assert_write_locked(mm);
	*populate = 0;
	/* The x86 syscall checks the offset before anything else. */
	if (off & ~(int64_t)PAGE_MASK)
		return -EINVAL;
	if (!(flags & MAP_ANONYMOUS) && !file)
		return -EBADF;
	if (flags & MAP_ANONYMOUS)
		file = NULL;
	if (!len)
		return -EINVAL;
	if (flags & MAP_FIXED_NOREPLACE)
		flags |= MAP_FIXED;
	if (!(flags & MAP_FIXED))
		addr = round_hint_to_min(mm, addr);
	len = PAGE_ALIGN(len);
	if (!len)
		return -ENOMEM;
	pgoff = (unsigned long)off >> PAGE_SHIFT;
	if (file && pgoff + (len >> PAGE_SHIFT) < pgoff)
		return -EOVERFLOW;
	if (mm->map_count > MAX_MAP_COUNT)
		return -ENOMEM;

	addr = __get_unmapped_area(mm, file, addr, len, pgoff, flags);
	if ((int64_t)addr < 0 && (int64_t)addr >= -4095)
		return (long)addr;
	if (addr < mmap_min_addr(mm))
		return -EPERM;	/* security_mmap_addr(): simulated processes are unprivileged */
	if ((flags & MAP_FIXED_NOREPLACE) && find_vma_intersection(mm, addr, addr + len))
		return -EEXIST;

	vm_flags = calc_vm_prot_bits(prot) | mm->def_flags | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
	/* calc_vm_flag_bits(): before any file's check, so MAP_SHARED's dropped MAP_SYNC leaves it too */
	if (flags & MAP_SYNC)
		vm_flags |= VM_SYNC;
	if (flags & MAP_LOCKED) {
		if (!can_do_mlock(mm))
			return -EPERM;
		vm_flags |= VM_LOCKED;
	}
	if (!mlock_future_ok(mm, vm_flags, len))
		return -EAGAIN;
	if (file) {
		long ret = mmap_file_flags(file, prot, flags, &vm_flags);

		if (ret)
			return ret;
	} else {
		switch (flags & MAP_TYPE) {
		case MAP_PRIVATE:
			pgoff = addr >> PAGE_SHIFT;
			break;
		case MAP_SHARED:	/* Linux has no MAP_SHARED_VALIDATE case here: EINVAL */
			/* shmem: tags are not kept for shared memory here (docs/deviations.md). */
			flags &= ~MAP_ANONYMOUS;
			vm_flags |= VM_SHARED | VM_MAYSHARE;
			pgoff = 0;
			break;
		default:
			return -EINVAL;
		}
	}
	if (flags & (MAP_GROWSDOWN | MAP_HUGETLB))
		return -EOPNOTSUPP;	/* docs/deviations.md */
	/* MAP_NORESERVE counts unless overcommit is never (do_mmap) */
	if ((flags & MAP_NORESERVE) && READ_ONCE(mm->machine->overcommit_memory) != OVERCOMMIT_NEVER)
		vm_flags |= VM_NORESERVE;
	if (flags & MAP_STACK)
		vm_flags |= VM_NOHUGEPAGE;
	vm_flags |= arch_calc_vm_flag_bits(flags);
	if (!arch_validate_flags(vm_flags))
		return -EINVAL;

	/*
	 * __mmap_region()'s charge: what the mapping adds to the commit, less
	 * what the accounted mappings it replaces had (their charge passes
	 * to it: charged again here, given back by the munmap below).  A
	 * mapping that adds nothing asks for nothing, so that even a commit
	 * over the limit lets it through, as Linux's.
	 */
	if (accountable_mapping(vm_flags)) {
		long replaced = (flags & MAP_FIXED) ? accounted_pages(mm, addr, addr + len) : 0;
		long asked = (long)(len >> PAGE_SHIFT) - replaced;

		if (asked && __vm_enough_memory(mm->machine, mm, asked))
			return -ENOMEM;
		vm_acct_memory(mm->machine, replaced);
		charged = (long)(len >> PAGE_SHIFT);
		vm_flags |= VM_ACCOUNT;
	}
	/* Reserve everything that can fail before unmapping the old range. */
	err = vma_tree_reserve(mm, 1);
	vma = err ? NULL : vm_area_alloc(mm);
	if (!vma) {
		if (!bug_enabled(mm->machine, BUG_MMAP_ERROR_KEEPS_CHARGE))
			vm_unacct_memory(mm->machine, charged);
		return err ? err : -ENOMEM;
	}
	vma->vm_start = addr;
	vma->vm_end = addr + len;
	/* ksm_vma_flags(): with PR_SET_MEMORY_MERGE, new memory is mergeable from the start. */
	vma->vm_flags = ksm_vma_flags(mm, vm_flags) | VM_SOFTDIRTY;
	vma->vm_pgoff = pgoff;
	if (file) {
		get_file(file);
		vma->vm_file = file;
		err = file->f_op->mmap(file, vma);
	} else if (vm_flags & VM_SHARED) {
		err = shmem_zero_setup(vma);
	}
	if (!err && (flags & MAP_FIXED)) {
		err = do_munmap(mm, addr, len);
		if (!err)	/* splitting may have used the reservation */
			err = vma_tree_reserve(mm, 1);
	}
	if (err) {
		vm_area_free(vma);
		if (!bug_enabled(mm->machine, BUG_MMAP_ERROR_KEEPS_CHARGE))
			vm_unacct_memory(mm->machine, charged);
		return err;
	}
	/* __mmap_complete(): a special mapping is never locked. */
	if (vma->vm_flags & VM_LOCKED) {
		if (vma->vm_flags & VM_SPECIAL)
			vma->vm_flags &= ~VM_LOCKED_MASK;
		else
			mm->locked_vm += len >> PAGE_SHIFT;
	}
	vma_set_page_prot(vma);
	vma_tree_insert(mm, vma);
	vma_link_file(vma);
	/* A file VMA that may be collapsed registers its mm with khugepaged (anon ones at their first THP fault). */
	khugepaged_enter_vma(vma, vma->vm_flags);
	vma_try_merge_neighbours(vma);
	if ((vm_flags & VM_LOCKED_MASK) == VM_LOCKED || (flags & (MAP_POPULATE | MAP_NONBLOCK)) == MAP_POPULATE)
		*populate = len;
	return (long)addr;
}

/* Models exit_mmap(): tear the whole address space down. */
void exit_mmap(struct mm_struct *mm)
{
	struct mmu_notifier_range range;
	struct vm_area_struct *vma;
	struct mmu_gather tlb;

	/* Secondary MMUs let go of everything first; none is called again. */
	mmu_notifier_release(mm);
	mmap_write_lock(mm);
	/* Only interval notifiers are left to hear it (a device mirroring the mm). */
	for_each_vma(mm, vma)
		vma_start_write(vma);
	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, mm, 0, TASK_SIZE);
	lru_add_drain(mm->machine);
	tlb_gather_mmu_fullmm(&tlb, mm);
	mmu_notifier_invalidate_range_start(&range);
	for_each_vma(mm, vma)
		unmap_single_vma(&tlb, vma, vma->vm_start, vma->vm_end, ZAP_DETAILS_ALL);
	mmu_notifier_invalidate_range_end(&range);
	/* As unmap_region(): no rmap walk may still be in the tables we free. */
	for_each_vma(mm, vma) {
		unlink_file_vma(vma);
		unlink_anon_vmas(vma);
	}
	free_pgd_range(&tlb, 0, 1ULL << 47, 0, 0);
	tlb_finish_mmu(&tlb);
	while (mm->map_count) {
		vma = mm->vmas[mm->map_count - 1];
		vma_unaccount(vma);
		vma_tree_erase(mm, vma);
		vm_area_free(vma);
	}
	vma_tree_destroy(mm);
	mmap_write_unlock(mm);
}
