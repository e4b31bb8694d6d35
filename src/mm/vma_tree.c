/*
 * vma_tree.c - the ordered set of an mm's VMAs (Linux: the maple tree).
 *
 * A sorted array searched by bisection: O(log n) lookup, O(n) insert and
 * erase, trivially ordered iteration.  Insertions never allocate: callers
 * reserve room first with vma_tree_reserve() (Linux's mas_preallocate), so
 * that a split or merge cannot fail half way.  All access under mmap_lock
 * (read to look up, write to change).  See docs/deviations.md.
 */
#include <stdlib.h>
#include <string.h>

#include "mm/internal.h"

/* Index of the first VMA with vm_end > addr (map_count if none). */
unsigned long vma_index_after(struct mm_struct *mm, uint64_t addr)
{
	unsigned long lo = 0, hi = mm->map_count;

	while (lo < hi) {
		unsigned long mid = lo + (hi - lo) / 2;

		if (mm->vmas[mid]->vm_end > addr)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* find_vma(): the first VMA ending above addr, by binary search of the sorted array. */
struct vm_area_struct *find_vma(struct mm_struct *mm, uint64_t addr)
{
	unsigned long i = vma_index_after(mm, addr);

	return i < mm->map_count ? mm->vmas[i] : NULL;
}

struct vm_area_struct *vma_lookup(struct mm_struct *mm, uint64_t addr)
{
	struct vm_area_struct *vma = find_vma(mm, addr);

	return vma && vma->vm_start <= addr ? vma : NULL;
}

struct vm_area_struct *find_vma_intersection(struct mm_struct *mm, uint64_t start, uint64_t end)
{
	struct vm_area_struct *vma = find_vma(mm, start);

	return vma && vma->vm_start < end ? vma : NULL;
}

struct vm_area_struct *vma_next(struct vm_area_struct *vma)
{
	return find_vma(vma->vm_mm, vma->vm_end);
}

struct vm_area_struct *vma_prev(struct vm_area_struct *vma)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned long i = vma_index_after(mm, vma->vm_start);

	return i ? mm->vmas[i - 1] : NULL;
}

int vma_tree_reserve(struct mm_struct *mm, unsigned long n)
{
	struct vm_area_struct **nv;
	unsigned long cap;

	if (mm->map_count + n <= mm->vmas_cap)
		return 0;
	cap = max(mm->vmas_cap * 2, mm->map_count + n);
	cap = max(cap, 16UL);
	nv = mml_obj_alloc(mm->machine, OBJ_VMA_ARRAY, cap * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	if (mm->map_count)
		memcpy(nv, mm->vmas, mm->map_count * sizeof(*nv));
	mml_obj_free(mm->machine, OBJ_VMA_ARRAY, mm->vmas);
	mm->vmas = nv;
	mm->vmas_cap = cap;
	return 0;
}

void vma_tree_insert(struct mm_struct *mm, struct vm_area_struct *vma)
{
	unsigned long i = vma_index_after(mm, vma->vm_start);

	VM_BUG_ON_VMA(mm->map_count >= mm->vmas_cap, vma);
	VM_BUG_ON_VMA(i < mm->map_count && mm->vmas[i]->vm_start < vma->vm_end, vma);
	memmove(&mm->vmas[i + 1], &mm->vmas[i], (mm->map_count - i) * sizeof(*mm->vmas));
	mm->vmas[i] = vma;
	mm->map_count++;
}

void vma_tree_erase(struct mm_struct *mm, struct vm_area_struct *vma)
{
	unsigned long i = vma_index_after(mm, vma->vm_start);

	VM_BUG_ON_VMA(i >= mm->map_count || mm->vmas[i] != vma, vma);
	memmove(&mm->vmas[i], &mm->vmas[i + 1], (mm->map_count - i - 1) * sizeof(*mm->vmas));
	mm->map_count--;
}

void vma_tree_destroy(struct mm_struct *mm)
{
	mml_obj_free(mm->machine, OBJ_VMA_ARRAY, mm->vmas);
	mm->vmas = NULL;
	mm->vmas_cap = 0;
	mm->map_count = 0;
}
