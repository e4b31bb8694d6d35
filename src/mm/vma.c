/*
 * vma.c - VMA objects, their protection, split and merge (Linux's mm/vma.c).
 *
 * All under mmap_lock held for write.  Boundaries of a VMA that has an
 * anon_vma change under the anon_vma lock too, so that rmap walkers see a
 * consistent vm_start / vm_end / vm_pgoff.
 */
#include <string.h>

#include "fs/vfs.h"
#include "mm/internal.h"
#include "mm/mempolicy.h"

struct vm_area_struct *vm_area_alloc(struct mm_struct *mm)
{
	struct vm_area_struct *vma = mml_obj_alloc(mm->machine, OBJ_VMA, sizeof(*vma));

	if (!vma)
		return NULL;
	vma->vm_mm = mm;
	vma_lock_init(vma);
	INIT_LIST_HEAD(&vma->anon_vma_chain);
	INIT_LIST_HEAD(&vma->shared);
	return vma;
}

_Static_assert(offsetof(struct vm_area_struct, vm_refcnt) ==
	       offsetof(struct vm_area_struct, swap_readahead_info) + sizeof(atomic_long_t),
	       "vm_area_dup copies up to swap_readahead_info, then it, then leaves the lock fields");

/* Models vm_area_dup(): the copy has no anon_vma chain yet, and is in no i_mmap; it holds the file too. */
struct vm_area_struct *vm_area_dup(struct vm_area_struct *orig)
{
	struct vm_area_struct *vma = mml_obj_alloc(orig->vm_mm->machine, OBJ_VMA, sizeof(*vma));

	if (!vma)
		return NULL;
	/*
	 * All but what readers of orig (faults under its VMA lock) may be
	 * changing: swap readahead's state, copied atomically, and the lock
	 * fields, which come last (Linux's data_race copy, made one here).
	 */
	memcpy(vma, orig, offsetof(struct vm_area_struct, swap_readahead_info));
	atomic_long_set(&vma->swap_readahead_info, atomic_long_read(&orig->swap_readahead_info));
	vma_lock_init(vma);
	INIT_LIST_HEAD(&vma->anon_vma_chain);
	INIT_LIST_HEAD(&vma->shared);
	if (vma->vm_file)
		get_file(vma->vm_file);
	mpol_get(vma->vm_policy);
	return vma;
}

/*
 * vm_area_free() + remove_vma()'s fput: out of i_mmap and the tree
 * already.  The struct itself goes after a grace period (vma_free_deferred),
 * as Linux's vm_area_cachep is SLAB_TYPESAFE_BY_RCU: lock_vma_under_rcu may
 * still be looking at it.
 */
void vm_area_free(struct vm_area_struct *vma)
{
	VM_BUG_ON_VMA(!list_empty(&vma->shared), vma);
	VM_BUG_ON_VMA(atomic_read(&vma->vm_refcnt), vma);
	if (vma->vm_file)
		fput(vma->vm_file);
	mpol_put(vma->vm_mm->machine, vma->vm_policy);
	vma_free_deferred(vma);
}

/* Models vma_set_page_prot(): a shared mapping that tracks dirty pages maps read-only at first. */
void vma_set_page_prot(struct vm_area_struct *vma)
{
	vm_flags_t flags = vma->vm_flags;

	if (vma_wants_writenotify(vma))
		flags &= ~VM_SHARED;
	vma->vm_page_prot = vm_get_page_prot(flags);
}

/*
 * The locks under which a VMA's bounds change (vma_prepare): the file's
 * i_mmap_rwsem and the anon_vma's, so that neither rmap walk sees a
 * VMA half moved.
 */
void vma_bounds_lock(struct vm_area_struct *vma)
{
	vma_start_write(vma);
	if (vma->vm_file)
		down_write(&vma->vm_file->f_mapping->i_mmap_rwsem);
	if (vma->anon_vma)
		anon_vma_lock_write(vma->anon_vma);
}

void vma_bounds_unlock(struct vm_area_struct *vma)
{
	if (vma->anon_vma)
		anon_vma_unlock_write(vma->anon_vma);
	if (vma->vm_file)
		up_write(&vma->vm_file->f_mapping->i_mmap_rwsem);
}

/*
 * Models __split_vma(): cut vma at addr.  With new_below the new VMA takes
 * [vm_start, addr), otherwise [addr, vm_end); vma keeps the other part.
 */
static int __split_vma(struct vm_area_struct *vma, uint64_t addr, int new_below);

int split_vma_nolimit(struct vm_area_struct *vma, uint64_t addr, int new_below)
{
	return __split_vma(vma, addr, new_below);
}

int split_vma(struct vm_area_struct *vma, uint64_t addr, int new_below)
{
	if (vma->vm_mm->map_count >= MAX_MAP_COUNT)
		return -ENOMEM;
	return __split_vma(vma, addr, new_below);
}

/* Models __split_vma(): munmap splits without the map count check (see do_munmap). */
static int __split_vma(struct vm_area_struct *vma, uint64_t addr, int new_below)
{
	struct mm_struct *mm = vma->vm_mm;
	struct vm_area_struct *new;
	int err;

	mmap_assert_write_locked(mm);
	VM_BUG_ON_VMA(addr <= vma->vm_start || addr >= vma->vm_end || !PAGE_ALIGNED(addr), vma);
	err = vma_tree_reserve(mm, 1);
	if (err)
		return err;
	new = vm_area_dup(vma);
	if (!new)
		return -ENOMEM;
	err = anon_vma_clone(new, vma);
	if (err) {
		vm_area_free(new);
		return err;
	}

	/* No pmd leaf may straddle the new boundary; no fault may be in vma meanwhile. */
	vma_start_write(vma);
	vma_adjust_trans_huge(vma, addr);
	vma_bounds_lock(vma);
	if (new_below) {
		new->vm_end = addr;
		vma->vm_pgoff += (addr - vma->vm_start) >> PAGE_SHIFT;
		vma->vm_start = addr;
	} else {
		new->vm_start = addr;
		new->vm_pgoff += (addr - vma->vm_start) >> PAGE_SHIFT;
		vma->vm_end = addr;
		vma_tree_set_end(vma);	/* before the insert, which searches by new's start */
	}
	vma_tree_insert(mm, new);
	if (new->vm_file)
		__vma_link_file(new);
	vma_bounds_unlock(vma);
	return 0;
}

/* A VMA whose anon_vma chain comes from a fork: merging would need a clone. */
static bool vma_had_uncowed_parents(struct vm_area_struct *vma)
{
	return vma && vma->anon_vma && !list_is_singular(&vma->anon_vma_chain);
}

/* Models is_mergeable_vma() + is_mergeable_anon_vma(): may b join a (a below b)?  Policies too (mpol_equal). */
static bool vmas_mergeable(struct vm_area_struct *a, struct vm_area_struct *b)
{
	const vm_flags_t special = VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP;

	if (!a || !b || a->vm_end != b->vm_start)
		return false;
	if ((a->vm_flags ^ b->vm_flags) & ~VM_IGNORE_MERGE)
		return false;
	if ((a->vm_flags & special) || a->vm_file != b->vm_file || !mpol_equal(a->vm_policy, b->vm_policy))
		return false;
	/* is_mergeable_vm_userfaultfd_ctx() */
	if (a->vm_userfaultfd_ctx != b->vm_userfaultfd_ctx)
		return false;
	if (a->vm_pgoff + vma_pages(a) != b->vm_pgoff)
		return false;
	if (!a->anon_vma && b->anon_vma)
		return !vma_had_uncowed_parents(b);
	if (a->anon_vma && !b->anon_vma)
		return !vma_had_uncowed_parents(a);
	return a->anon_vma == b->anon_vma;
}

/* Let a absorb b, its upper neighbour; b is freed.  0 or -ENOMEM (nothing changed). */
static int vma_absorb_next(struct vm_area_struct *a, struct vm_area_struct *b)
{
	struct mm_struct *mm = a->vm_mm;

	/* Both, before a's anon_vma is set (Linux's dup_anon_vma locks dst first: commit d8ab9f7b644a). */
	vma_start_write(a);
	vma_start_write(b);
	if (!a->anon_vma && b->anon_vma) {
		/* Models dup_anon_vma(): a takes over b's anon_vma chain. */
		a->anon_vma = b->anon_vma;
		if (anon_vma_clone(a, b))
			return -ENOMEM;
	}
	vma_bounds_lock(a);
	vma_tree_erase(mm, b);
	if (b->vm_file)
		__unlink_file_vma(b);
	a->vm_end = b->vm_end;
	vma_tree_set_end(a);
	vma_bounds_unlock(a);
	unlink_anon_vmas(b);
	vm_area_free(b);
	return 0;
}

/*
 * Merge vma with its neighbours where Linux would (vma_merge): same flags,
 * contiguous offsets, compatible anon_vma.  Returns the VMA now covering
 * vma's range.
 */
struct vm_area_struct *vma_try_merge_neighbours(struct vm_area_struct *vma)
{
	struct vm_area_struct *prev = vma_prev(vma);
	struct vm_area_struct *next;

	if (prev && vmas_mergeable(prev, vma) && !vma_absorb_next(prev, vma))
		vma = prev;
	next = vma_next(vma);
	if (next && vmas_mergeable(vma, next))
		vma_absorb_next(vma, next);
	return vma;
}

/*
 * Models vma_modify_flags(): give [start, end) inside vma new flags,
 * splitting and merging as needed.  Returns the VMA covering the range,
 * or NULL with *err set (-ENOMEM) and nothing changed but a possible split.
 */
struct vm_area_struct *vma_modify_flags(struct vm_area_struct *vma, uint64_t start, uint64_t end,
					vm_flags_t new_flags, int *err)
{
	*err = 0;
	if (start > vma->vm_start) {
		*err = split_vma(vma, start, 1);
		if (*err)
			return NULL;
	}
	if (end < vma->vm_end) {
		*err = split_vma(vma, end, 0);
		if (*err)
			return NULL;
	}
	vma_start_write(vma);
	WRITE_ONCE(vma->vm_flags, new_flags);	/* rmap walks read it under their own locks */
	vma_set_page_prot(vma);
	return vma_try_merge_neighbours(vma);
}
