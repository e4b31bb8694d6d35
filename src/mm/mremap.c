/*
 * mremap.c - mremap(2) (Linux's mm/mremap.c): shrink in place, grow in
 * place where the space after is free, or move the range's VMA and page
 * tables elsewhere (MREMAP_MAYMOVE, MREMAP_FIXED), leaving the old range
 * mapped but empty with MREMAP_DONTUNMAP.
 *
 * A move copies the VMA to the new address with the page offset of the
 * old range (copy_vma): an anon page keeps its index and anon_vma, a file
 * page its place in the file, so rmap finds every page at its new address
 * without touching a folio.  Then move_page_tables() moves the entries
 * themselves, a pte table at a time under both pte locks and the rmap
 * locks (so that no rmap walk sees a page in neither place): present
 * ptes, swap entries (a tag record is keyed by its slot and needs
 * nothing), migration entries (the migration or split that made them
 * finds them at the new address) and device-exclusive entries alike; a
 * whole pmd leaf moves with its deposited table (move_huge_pmd), and a
 * whole pte table by its pmd where both ends are aligned
 * (move_normal_pmd).  The old range's TLB entries are flushed before the
 * pte lock is let go, and the secondary MMUs hear of it
 * (MMU_NOTIFY_UNMAP) around the move.  Differs from Linux: no
 * move_normal_pud (deviation 48).
 */
#include <sys/mman.h>

#include "mm/internal.h"
#include "mm/userfaultfd_k.h"
#include "mm/mmu_notifier.h"

/* Linux's values (<linux/mman.h>); the C library names them only with _GNU_SOURCE. */
#ifndef MREMAP_MAYMOVE
#define MREMAP_MAYMOVE		1
#define MREMAP_FIXED		2
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP	4
#endif

/* copy_vma(): a VMA for [new_addr, new_addr + len) with the old range's offset, linked in. */
static struct vm_area_struct *copy_vma(struct vm_area_struct *vma, uint64_t new_addr, uint64_t len,
				       unsigned long pgoff)
{
	struct mm_struct *mm = vma->vm_mm;
	struct vm_area_struct *new;

	if (vma_tree_reserve(mm, 1))
		return NULL;
	new = vm_area_dup(vma);
	if (!new)
		return NULL;
	new->vm_start = new_addr;
	new->vm_end = new_addr + len;
	new->vm_pgoff = pgoff;
	if (anon_vma_clone(new, vma)) {
		vm_area_free(new);
		return NULL;
	}
	vma_tree_insert(mm, new);
	vma_link_file(new);
	return new;
}

/*
 * move_ptes(): the entries of [old_addr, old_end) of the old table to the
 * new one, under both pte locks (the new table's nested) and the rmap
 * locks; the old range's TLB entries flushed before the old lock goes.
 */
static void move_ptes(struct vm_area_struct *vma, pmd_t *old_pmd, uint64_t old_addr, uint64_t old_end,
		      struct vm_area_struct *new_vma, pmd_t *new_pmd, uint64_t new_addr)
{
	struct mm_struct *mm = vma->vm_mm;
	spinlock_t *old_ptl, *new_ptl;
	pte_t *old_pte, *new_pte;
	bool flush = false;
	uint64_t start = old_addr;
	/* vma_has_uffd_without_event_remap(): mmlab has no UFFD_EVENT_REMAP, so any registration. */
	bool need_clear_uffd_wp = vma->vm_userfaultfd_ctx != NULL;

	old_pte = pte_offset_map_lock(mm, old_pmd, old_addr, &old_ptl);
	if (!old_pte)
		return;
	new_pte = pte_offset_map(mm, new_pmd, new_addr, NULL);
	if (!new_pte) {
		pte_unmap_unlock(old_pte, old_ptl);
		return;
	}
	new_ptl = pte_lockptr(mm->machine, pmdp_get(new_pmd));
	if (new_ptl != old_ptl)
		spin_lock(new_ptl);
	for (; old_addr < old_end; old_pte++, new_pte++, old_addr += PAGE_SIZE, new_addr += PAGE_SIZE) {
		pte_t pte = ptep_get_and_clear(old_pte);

		if (pte_none(pte))
			continue;
		if (pte_hw_valid(pte))
			flush = true;
		/* The new VMA will not be registered: its monitor never heard of the move. */
		if (need_clear_uffd_wp && pte_marker_uffd_wp(pte))
			continue;
		if (need_clear_uffd_wp)
			pte = pte_present(pte) ? pte_clear_uffd_wp(pte) : pte_swp_clear_uffd_wp(pte);
		/* move_soft_dirty_pte(): a moved page counts as written for soft-dirty trackers. */
		pte = pte_present(pte) ? pte_mksoft_dirty(pte) : pte_swp_mksoft_dirty(pte);
		/*
		 * A swap entry keeps its slot, and with it the tags saved there
		 * (keyed by entry): nothing is left behind at the old address.
		 */
		if (bug_enabled(mm->machine, BUG_MREMAP_DROPS_SWAP_TAGS) && is_swap_entry_pte(pte))
			arch_swap_invalidate_page(mm->machine, swp_type(pte_to_swp_entry(pte)),
						  swp_offset(pte_to_swp_entry(pte)));
		VM_BUG_ON(!pte_none(ptep_get(new_pte)));
		set_pte_at(mm, new_addr, new_pte, pte);
	}
	if (flush)
		flush_tlb_range(vma, start, old_end);
	if (new_ptl != old_ptl)
		spin_unlock(new_ptl);
	pte_unmap(new_pte);
	pte_unmap_unlock(old_pte, old_ptl);
}

/*
 * move_huge_pmd(): a whole leaf to an aligned new pmd, with its deposited
 * table (an anon one's), both pmd locks held (the new one nested).  False if the old pmd
 * was no longer a leaf.
 */
static bool move_huge_pmd(struct vm_area_struct *vma, uint64_t old_addr, uint64_t new_addr, pmd_t *old_pmd,
			  pmd_t *new_pmd)
{
	struct mm_struct *mm = vma->vm_mm;
	spinlock_t *old_ptl, *new_ptl;
	struct ptdesc *pgtable;
	pmd_t pmd;

	old_ptl = pmd_trans_huge_lock(old_pmd, vma);
	if (!old_ptl)
		return false;
	new_ptl = pmd_lockptr(mm, new_pmd);
	if (new_ptl != old_ptl)
		spin_lock(new_ptl);
	VM_BUG_ON(!pmd_none(pmdp_get(new_pmd)));
	pmd = pmdp_get_and_clear(old_pmd);
	if (vma_is_anonymous(vma)) {	/* a page-cache THP's leaf has no table deposited */
		pgtable = pgtable_trans_huge_withdraw(mm, old_pmd);
		pgtable_trans_huge_deposit(mm, new_pmd, pgtable);
	}
	set_pmd_at(mm, new_addr, new_pmd, pmd);
	if (pmd_present(pmd))
		flush_tlb_range(vma, old_addr, old_addr + HPAGE_PMD_SIZE);
	if (new_ptl != old_ptl)
		spin_unlock(new_ptl);
	spin_unlock(old_ptl);
	return true;
}

/*
 * move_normal_pmd(): a whole pmd's extent with both ends aligned: the pte
 * table itself moves to the new pmd, its entries as they were (Linux marks
 * none of them soft-dirty here, as move_ptes does), and the old range's
 * TLB entries are flushed.  The rmap locks are held, so no walker sees the
 * table under both pmds or neither.  False, to move the ptes one by one,
 * when the new pmd is populated already, when uffd-wp bits must be
 * cleared (Linux's vma_has_uffd_without_event_remap), or when the old pmd
 * is no table any more.  A lockless walker that read the old pmd before it
 * was cleared fails its recheck of it (gup_fast_pte_range).
 */
static bool move_normal_pmd(struct vm_area_struct *vma, uint64_t old_addr, pmd_t *old_pmd, pmd_t *new_pmd)
{
	struct mm_struct *mm = vma->vm_mm;
	spinlock_t *old_ptl, *new_ptl;
	bool moved = false;
	pmd_t pmd;

	if (vma->vm_userfaultfd_ctx || !pmd_none(pmdp_get(new_pmd)))
		return false;
	old_ptl = pmd_lock(mm, old_pmd);
	new_ptl = pmd_lockptr(mm, new_pmd);
	if (new_ptl != old_ptl)
		spin_lock(new_ptl);
	pmd = pmdp_get(old_pmd);
	if (pmd_present(pmd) && !pmd_leaf(pmd)) {
		pmdp_get_and_clear(old_pmd);
		set_pmd(new_pmd, pmd);
		flush_tlb_range(vma, old_addr, old_addr + PMD_SIZE);
		moved = true;
	}
	if (new_ptl != old_ptl)
		spin_unlock(new_ptl);
	spin_unlock(old_ptl);
	return moved;
}

/*
 * move_page_tables(): every entry of [old_addr, old_addr + len) to
 * new_addr; the length moved (short only when a new table could not be
 * allocated).  mmap_lock held for write; the rmap locks are taken here.
 */
static uint64_t move_page_tables(struct vm_area_struct *vma, uint64_t old_addr, struct vm_area_struct *new_vma,
				 uint64_t new_addr, uint64_t len)
{
	struct mm_struct *mm = vma->vm_mm;
	uint64_t old_end = old_addr + len, start = old_addr, extent;
	struct mmu_notifier_range range;

	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, mm, old_addr, old_end);
	mmu_notifier_invalidate_range_start(&range);
	for (; old_addr < old_end; old_addr += extent, new_addr += extent) {
		pmd_t *old_pmd, *new_pmd;
		pud_t *pud;

		/* An extent ends at the next pmd boundary of either side. */
		extent = pmd_addr_end(old_addr, old_end) - old_addr;
		extent = min(extent, pmd_addr_end(new_addr, new_addr + extent) - new_addr);
		old_pmd = mm_find_pmd(mm, old_addr);
		if (!old_pmd || pmd_none(pmdp_get(old_pmd)))
			continue;
		pud = pud_alloc(mm, pgd_offset(mm, new_addr), new_addr);
		new_pmd = pud ? pmd_alloc(mm, pud, new_addr) : NULL;
		if (!new_pmd)
			break;
		if (pmd_trans_huge(pmdp_get(old_pmd))) {
			if (extent == HPAGE_PMD_SIZE && move_huge_pmd(vma, old_addr, new_addr, old_pmd, new_pmd))
				continue;
			split_huge_pmd(vma, old_pmd, old_addr);
		} else if (extent == PMD_SIZE) {
			bool moved;

			vma_bounds_lock(vma);
			moved = move_normal_pmd(vma, old_addr, old_pmd, new_pmd);
			vma_bounds_unlock(vma);
			if (moved)
				continue;
		}
		if (pmd_none(pmdp_get(new_pmd)) && __pte_alloc(mm, new_pmd))
			break;
		vma_bounds_lock(vma);
		move_ptes(vma, old_pmd, old_addr, old_addr + extent, new_vma, new_pmd, new_addr);
		vma_bounds_unlock(vma);
	}
	mmu_notifier_invalidate_range_end(&range);
	return min(old_addr, old_end) - start;
}

/*
 * move_vma(): the VMA part [old_addr, old_addr + old_len) moves to
 * new_addr (new_len long): copy_vma, move_page_tables (moved back, and the
 * new VMA unmapped, if a table could not be allocated), then the old range
 * is unmapped, or left mapped and empty with MREMAP_DONTUNMAP.
 */
static long move_vma(struct vm_area_struct *vma, uint64_t old_addr, uint64_t old_len, uint64_t new_len,
		     uint64_t new_addr, int flags, uint64_t *populate)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	unsigned long pgoff = vma->vm_pgoff + ((old_addr - vma->vm_start) >> PAGE_SHIFT);
	bool accounted = vma->vm_flags & VM_ACCOUNT;
	struct vm_area_struct *new_vma;
	long charged = 0;
	uint64_t moved;
	int err = 0;

	if (mm->map_count >= MAX_MAP_COUNT - 3)
		return -ENOMEM;
	/* Its page tables move away: no fault may be in it meanwhile. */
	vma_start_write(vma);
	/*
	 * vrm_charge(): an accounted range pays for what it grows by, or,
	 * kept where it was (MREMAP_DONTUNMAP), for the whole new range.
	 */
	if (accounted && ((flags & MREMAP_DONTUNMAP) || new_len > old_len)) {
		charged = (long)(((flags & MREMAP_DONTUNMAP) ? new_len : new_len - old_len) >> PAGE_SHIFT);
		if (__vm_enough_memory(m, mm, charged))
			return -ENOMEM;
	}
	new_vma = copy_vma(vma, new_addr, new_len, pgoff);
	if (!new_vma) {
		vm_unacct_memory(m, charged);
		return -ENOMEM;
	}
	moved = move_page_tables(vma, old_addr, new_vma, new_addr, old_len);
	if (moved == old_len)
		mremap_userfaultfd_prep(new_vma);
	/*
	 * vrm_stat_account(): the new range counts as locked; the munmap of
	 * the old one (or of the new, if the move failed) takes its part off.
	 */
	if (vma->vm_flags & VM_LOCKED) {
		mm->locked_vm += new_len >> PAGE_SHIFT;
		if (moved == old_len && new_len > old_len)
			*populate = new_len - old_len;
	}
	if (moved < old_len) {
		/*
		 * Back as it was (the old tables are all there), and the new
		 * range goes instead: what its munmap gives back is the charge
		 * it never had.
		 */
		move_page_tables(new_vma, new_addr, vma, old_addr, moved);
		if (accounted)
			vm_acct_memory(m, (long)(new_len >> PAGE_SHIFT) - charged);
		old_addr = new_addr;
		old_len = new_len;
		err = -ENOMEM;
	} else if (flags & MREMAP_DONTUNMAP) {
		/*
		 * dontunmap_complete(): the old VMA -- all of it, not only the
		 * range moved -- is no longer locked, though locked_vm still
		 * counts it and the folios left in it stay mlocked: Linux 6.18
		 * does exactly this (tests/conformance/mlock-mremap.scn).  And
		 * it no longer needs its chains.
		 */
		WRITE_ONCE(vma->vm_flags, vma->vm_flags & ~VM_LOCKED_MASK);
		if (vma->vm_start == old_addr && vma->vm_end == old_addr + old_len && vma->anon_vma) {
			unlink_anon_vmas(vma);
			vma->anon_vma = NULL;
		}
		vma_try_merge_neighbours(new_vma);
		return (long)new_addr;
	} else if (accounted) {
		/* unmap_source_vma(): the old range's charge went with it; its munmap gives none back. */
		vm_acct_memory(m, (long)(old_len >> PAGE_SHIFT));
	}
	do_munmap(mm, old_addr, old_len);
	if (!err)
		vma_try_merge_neighbours(vma_lookup(mm, new_addr));
	return err ? err : (long)new_addr;
}

/* The VMA at addr may become [addr, addr + new_len) (remap_is_valid). */
static int remap_is_valid(struct vm_area_struct *vma, uint64_t addr, uint64_t old_len, uint64_t new_len,
			  int flags)
{
	if (!old_len && !(vma->vm_flags & (VM_SHARED | VM_MAYSHARE)))
		return -EINVAL;	/* duplicating a private mapping makes no sense */
	if ((flags & MREMAP_DONTUNMAP) && (vma->vm_flags & (VM_DONTEXPAND | VM_PFNMAP)))
		return -EINVAL;
	if (old_len > vma->vm_end - addr)
		return -EFAULT;	/* across a VMA boundary */
	if (new_len <= old_len)
		return 0;
	if (vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT) + (new_len >> PAGE_SHIFT) <
	    vma->vm_pgoff)
		return -EINVAL;
	if (vma->vm_flags & (VM_DONTEXPAND | VM_PFNMAP))
		return -EFAULT;
	if (!mlock_future_ok(vma->vm_mm, vma->vm_flags, new_len - old_len))
		return -EAGAIN;
	return 0;
}

/*
 * vrm_set_new_addr(): where a move goes: new_addr itself (MREMAP_FIXED),
 * or a free range (the file's searcher's: a DAX file's keeps the pmd
 * alignment of old_addr's file offset), the hint new_addr if its range
 * is free.  Either way __get_unmapped_area() ends with
 * security_mmap_addr(): an address below mmap_min_addr is EPERM for an
 * unprivileged task.  mremap, unlike mmap, does not round a low hint up
 * to mmap_min_addr first, so a free low hint is refused too.
 */
static long set_new_addr(struct vm_area_struct *vma, uint64_t old_addr, uint64_t new_addr, uint64_t new_len, int flags)
{
	struct mm_struct *mm = vma->vm_mm;
	uint64_t addr;

	if (flags & MREMAP_FIXED)
		return new_addr < mmap_min_addr(mm) ? -EPERM : (long)new_addr;
	if (new_addr && new_addr < mmap_min_addr(mm) && new_addr <= TASK_SIZE - new_len &&
	    !find_vma_intersection(mm, new_addr, new_addr + new_len))
		return -EPERM;
	addr = __get_unmapped_area(mm, vma->vm_file, new_addr, new_len,
				   vma->vm_pgoff + (unsigned long)((old_addr - vma->vm_start) >> PAGE_SHIFT),
				   vma->vm_flags & VM_MAYSHARE ? MAP_SHARED : MAP_PRIVATE);
	return (long)addr;
}

/*
 * mremap_to(): the move of a range of one VMA, already judged by
 * remap_is_valid(): MREMAP_FIXED unmaps the target first, a shrinking
 * move the old range's tail, then the new address is chosen and the
 * range moves.
 */
static long mremap_to(struct mm_struct *mm, uint64_t addr, uint64_t old_len, uint64_t new_len, int flags,
		      uint64_t new_addr, uint64_t *populate)
{
	struct vm_area_struct *vma;
	long err;

	if (flags & MREMAP_FIXED) {
		err = do_munmap(mm, new_addr, new_len);
		if (err)
			return err;
	}
	if (old_len > new_len) {
		err = do_munmap(mm, addr + new_len, old_len - new_len);
		if (err)
			return err;
		old_len = new_len;
	}
	vma = vma_lookup(mm, addr);
	if (!vma)
		return -EFAULT;
	new_addr = (uint64_t)set_new_addr(vma, addr, new_addr, new_len, flags);
	if ((int64_t)new_addr < 0 && (int64_t)new_addr >= -4095)
		return (long)new_addr;
	return move_vma(vma, addr, old_len, new_len, new_addr, flags, populate);
}

/*
 * remap_move(): since Linux 6.17 a pure move (MREMAP_FIXED, equal
 * lengths) may span several VMAs and the holes between them: each VMA's
 * part of [addr, addr + len) moves to the same offset from new_addr, so
 * the holes stay holes (and whatever the target had there stays).  addr
 * itself must be mapped; a failure part way leaves the parts before it
 * moved.  The result is the first part's new address.
 */
static long remap_move(struct mm_struct *mm, uint64_t addr, uint64_t len, int flags, uint64_t new_addr)
{
	uint64_t end = addr + len, pos = addr, populate = 0;
	long res = -EFAULT;
	bool seen = false;

	while (pos < end) {
		struct vm_area_struct *vma = find_vma_intersection(mm, pos, end);
		uint64_t start, part;
		long err;

		if (!vma)
			break;
		if (!seen && vma->vm_start > addr)
			return -EFAULT;	/* no hole at the start */
		/* from pos: a DONTUNMAP move leaves the VMA it moved from in place */
		start = max(vma->vm_start, pos);
		part = min(end, vma->vm_end) - start;
		err = remap_is_valid(vma, start, part, part, flags);
		if (!err)
			err = mremap_to(mm, start, part, part, flags, new_addr + (start - addr), &populate);
		if (err < 0)
			return err;
		if (!seen)
			res = err;
		seen = true;
		pos = start + part;
	}
	return res;
}

/*
 * Models do_mremap() (6.18's vma_remap_struct steps); mmap_lock held for
 * write.  check_mremap_params() runs first, on the page-aligned lengths
 * and before any VMA is looked up: the new length and the new address are
 * checked against TASK_SIZE even when no new address is implied, and the
 * overlap of old and new ranges is EINVAL before a missing VMA is EFAULT.
 * Then check_prep_vma() (remap_is_valid) judges the VMA with the whole
 * old length, before MREMAP_FIXED unmaps the target or a shrinking move
 * its tail, so that a refused call has unmapped nothing.
 */
static long do_mremap(struct mm_struct *mm, uint64_t addr, uint64_t old_len, uint64_t new_len, int flags,
		      uint64_t new_addr, uint64_t *populate)
{
	bool implies_new_addr = flags & (MREMAP_FIXED | MREMAP_DONTUNMAP);
	struct vm_area_struct *vma;
	long err;

	old_len = PAGE_ALIGN(old_len);
	new_len = PAGE_ALIGN(new_len);
	/* check_mremap_params() */
	if (flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP))
		return -EINVAL;
	if (!PAGE_ALIGNED(addr))
		return -EINVAL;
	if (!new_len)
		return -EINVAL;
	if (new_len > TASK_SIZE)
		return -EINVAL;
	/* The new address only where one is implied (6.17's fix: callers pass junk there otherwise). */
	if (implies_new_addr) {
		if (new_addr > TASK_SIZE - new_len)
			return -EINVAL;
		if (!PAGE_ALIGNED(new_addr) || !(flags & MREMAP_MAYMOVE))
			return -EINVAL;
		if ((flags & MREMAP_DONTUNMAP) && old_len != new_len)
			return -EINVAL;
		if (addr < new_addr + new_len && new_addr < addr + old_len)
			return -EINVAL;	/* the ranges overlap */
		if (mm->map_count + 2 >= MAX_MAP_COUNT - 3)
			return -ENOMEM;
	}

	if ((flags & MREMAP_FIXED) && old_len == new_len)
		return remap_move(mm, addr, old_len, flags, new_addr);

	/* check_prep_vma() */
	vma = vma_lookup(mm, addr);
	if (!vma)
		return -EFAULT;
	if (implies_new_addr || new_len > old_len) {
		err = remap_is_valid(vma, addr, old_len, new_len, flags);
		if (err)
			return err;
	}

	if (implies_new_addr)
		return mremap_to(mm, addr, old_len, new_len, flags, new_addr, populate);

	/* mremap_at() */
	if (new_len == old_len)
		return (long)addr;
	if (new_len < old_len) {
		err = do_munmap(mm, addr + new_len, old_len - new_len);
		return err ? err : (long)addr;
	}
	/* expand_vma(): in place if the range ends the VMA and the space after is free. */
	if (vma->vm_end - addr == old_len && vma->vm_end + (new_len - old_len) <= TASK_SIZE &&
	    !find_vma_intersection(mm, vma->vm_end, vma->vm_end + (new_len - old_len))) {
		if ((vma->vm_flags & VM_ACCOUNT) &&
		    __vm_enough_memory(mm->machine, mm, (long)((new_len - old_len) >> PAGE_SHIFT)))
			return -ENOMEM;
		vma_bounds_lock(vma);
		vma->vm_end += new_len - old_len;
		vma_tree_set_end(vma);
		vma_bounds_unlock(vma);
		if (vma->vm_flags & VM_LOCKED) {
			mm->locked_vm += (new_len - old_len) >> PAGE_SHIFT;
			*populate = new_len - old_len;
		}
		vma_try_merge_neighbours(vma);
		return (long)addr;
	}
	if (!(flags & MREMAP_MAYMOVE))
		return -ENOMEM;
	new_addr = (uint64_t)set_new_addr(vma, addr, 0, new_len, flags);
	if ((int64_t)new_addr < 0 && (int64_t)new_addr >= -4095)
		return (long)new_addr;
	return move_vma(vma, addr, old_len, new_len, new_addr, flags, populate);
}

long mml_mremap(struct mml_task *t, uint64_t old_addr, uint64_t old_len, uint64_t new_len, int flags,
		uint64_t new_addr)
{
	struct mm_struct *mm = t->mm;
	uint64_t populate = 0;
	long ret = op_enter_task(t);

	if (ret)
		return ret;
	mmap_write_lock(mm);
	ret = do_mremap(mm, old_addr, old_len, new_len, flags, new_addr, &populate);
	mmap_write_unlock(mm);
	/* A locked mapping that grew: its new tail is faulted in, as mlock would. */
	if (ret >= 0 && populate)
		mm_populate(mm, (uint64_t)ret + PAGE_ALIGN(new_len) - populate, populate);
	return op_exit_task(t, ret);
}
