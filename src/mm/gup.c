/*
 * gup.c - faulting user pages in on behalf of the kernel (Linux's mm/gup.c):
 * MAP_POPULATE, MAP_LOCKED and MADV_POPULATE_(READ|WRITE).  Pins and
 * references (get/pin_user_pages) build on the same walk.
 */
#include "mm/internal.h"

/*
 * Is addr mapped well enough already (the follow_page_pte() test)?
 * mmap_lock held for read.
 */
static bool follow_page_ok(struct mm_struct *mm, uint64_t addr, bool write)
{
	pmd_t *pmd = mm_find_pmd(mm, addr);
	bool ok = false;
	pte_t *ptep, pte;

	if (!pmd)
		return false;
	ptep = pte_offset_map(mm, pmd, addr, NULL);
	if (!ptep)
		return false;
	pte = ptep_get(ptep);
	if (pte_present(pte) && !pte_protnone(pte))
		ok = !write || pte_write(pte);
	pte_unmap(ptep);
	return ok;
}

/* Models check_vma_flags() for a non-FOLL_FORCE access. */
static int check_vma_flags(struct vm_area_struct *vma, bool write, bool force)
{
	vm_flags_t f = vma->vm_flags;

	if (f & (VM_IO | VM_PFNMAP))
		return -EFAULT;
	if (write) {
		if (!(f & VM_WRITE) && !(force && (f & VM_MAYWRITE) && is_cow_mapping(f)))
			return -EFAULT;
	} else if (!(f & VM_READ)) {
		if (!force || !(f & VM_MAYREAD))
			return -EFAULT;
	}
	return 0;
}

/* Fault one page in until it is mapped as asked.  0 or -errno. */
static int faultin_page(struct vm_area_struct *vma, uint64_t addr, bool write)
{
	while (!follow_page_ok(vma->vm_mm, addr, write)) {
		vm_fault_t ret = handle_mm_fault(vma, addr, write ? FAULT_FLAG_WRITE : 0);

		if (ret & VM_FAULT_OOM)
			return -ENOMEM;
		if (ret & (VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV))
			return -EFAULT;
	}
	return 0;
}

/*
 * Models faultin_page_range() as MADV_POPULATE_* uses it: a hole is
 * -ENOMEM, a mapping that cannot be accessed this way -EINVAL, a fault that
 * fails -EFAULT or -ENOMEM.  Pages before the failure stay populated.
 */
int faultin_page_range(struct mm_struct *mm, uint64_t start, uint64_t end, bool write)
{
	mmap_assert_locked(mm);
	for (uint64_t addr = start; addr < end; addr += PAGE_SIZE) {
		struct vm_area_struct *vma = vma_lookup(mm, addr);
		int err;

		if (!vma)
			return -ENOMEM;
		if (check_vma_flags(vma, write, false))
			return -EINVAL;
		err = faultin_page(vma, addr, write);
		if (err)
			return err;
	}
	return 0;
}

/*
 * Models __mm_populate() / populate_vma_page_range(): prefault what mmap
 * asked for with MAP_POPULATE or MAP_LOCKED.  Errors are not reported
 * (mmap succeeds regardless), as in Linux.
 */
void mm_populate(struct mm_struct *mm, uint64_t start, uint64_t len)
{
	uint64_t end = start + len, addr = start;

	down_read(&mm->mmap_lock);
	while (addr < end) {
		struct vm_area_struct *vma = find_vma(mm, addr);
		uint64_t vend;
		bool write;

		if (!vma || vma->vm_start >= end)
			break;
		addr = max(addr, vma->vm_start);
		vend = min(end, vma->vm_end);
		/* Private writable memory is populated for write (no later COW). */
		write = (vma->vm_flags & (VM_WRITE | VM_SHARED)) == VM_WRITE;
		if (!(vma->vm_flags & (VM_IO | VM_PFNMAP)) && (vma->vm_flags & VM_ACCESS_FLAGS)) {
			for (; addr < vend; addr += PAGE_SIZE)
				if (check_vma_flags(vma, write, true) || faultin_page(vma, addr, write))
					break;
		}
		addr = vend;
	}
	up_read(&mm->mmap_lock);
}
