/*
 * vma_tree.c - the ordered set of an mm's VMAs (Linux: the maple tree).
 *
 * A sorted array searched by bisection: O(log n) lookup, O(n) insert and
 * erase, trivially ordered iteration.  Beside it the VMAs' ends, as a
 * maple node keeps its pivots beside its slots: the bisection reads them,
 * not the VMAs (a cache miss each); who moves a VMA's end says so
 * (vma_tree_set_end, as Linux stores the VMA again in the tree after
 * vma_set_range).  Insertions never allocate: callers
 * reserve room first with vma_tree_reserve() (Linux's mas_preallocate), so
 * that a split or merge cannot fail half way.  All access under mmap_lock
 * (read to look up, write to change), but for lock_vma_under_rcu's: it
 * reads a copy of the array (struct vma_rcu_array: each VMA with its
 * bounds as they were) published under RCU when mmap_lock for write is
 * released, if anything changed.  The copy may be stale while a writer
 * works; a VMA found in it is checked once it is locked (a detached one
 * is refused, a moved one fails the bounds check) and is freed only
 * after a grace period that follows the copy's replacement.  Linux makes
 * the maple tree itself RCU-safe; see docs/deviations.md.
 */
#include <stdlib.h>
#include <string.h>

#include "mm/internal.h"

struct vma_rcu_array {
	struct rcu_head rcu;
	struct mml_machine *machine;
	unsigned long nr;
	struct vma_rcu_slot {
		uint64_t start, end;
		struct vm_area_struct *vma;
	} slot[];
};

static void vma_rcu_array_free(struct callback_head *head)
{
	struct vma_rcu_array *a = (struct vma_rcu_array *)((char *)head - offsetof(struct vma_rcu_array, rcu));

	mml_obj_free(a->machine, OBJ_VMA_ARRAY, a);
}

static void vma_free_rcu(struct callback_head *head)
{
	struct vm_area_struct *vma = (struct vm_area_struct *)((char *)head - offsetof(struct vm_area_struct, vm_rcu));

	mml_obj_free(vma->vm_rcu_machine, OBJ_VMA, vma);
}

/*
 * The VMA lock_vma_under_rcu may try for addr (under RCU), and the copy it
 * came from: its bounds were addr's when the copy was made.
 */
struct vm_area_struct *vma_rcu_find(struct mm_struct *mm, uint64_t addr, const struct vma_rcu_array **from)
{
	const struct vma_rcu_array *a = rcu_dereference(mm->vma_rcu);
	unsigned long lo = 0, hi;

	*from = a;
	if (!a)
		return NULL;
	hi = a->nr;
	while (lo < hi) {
		unsigned long mid = lo + (hi - lo) / 2;

		if (a->slot[mid].end > addr)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo < a->nr && a->slot[lo].start <= addr ? a->slot[lo].vma : NULL;
}

/*
 * At mmap_write_unlock (or downgrade): publish a new copy if the tree or a
 * VMA changed, then queue the old copy and the VMAs removed meanwhile for
 * freeing after a grace period; no lookup that starts now can reach them.
 * Without memory for a copy there is none: lookups fail and faults take
 * mmap_lock, until an unlock can make one.
 */
void vma_rcu_publish(struct mm_struct *mm)
{
	struct mml_machine *m = mm->machine;
	struct vma_rcu_array *old = mm->vma_rcu, *a = NULL;
	struct callback_head *head;

	if (!mm->vma_rcu_stale && !mm->vma_free_pending)
		return;
	if (mm->vma_rcu_stale && mm->map_count) {
		/* every field set below or by rcu_batch_add: zeroing a copy of every VMA first cost as much as the copy */
		a = mml_obj_alloc_nozero(m, OBJ_VMA_ARRAY, sizeof(*a) + mm->map_count * sizeof(a->slot[0]));
		if (a) {
			a->machine = m;
			a->nr = mm->map_count;
			for (unsigned long i = 0; i < a->nr; i++)
				a->slot[i] = (struct vma_rcu_slot){ mm->vmas[i]->vm_start, mm->vmas[i]->vm_end, mm->vmas[i] };
		}
	}
	if (mm->vma_rcu_stale) {
		rcu_assign_pointer(mm->vma_rcu, a);
		if (old)
			rcu_batch_add(&m->rcu, &old->rcu, vma_rcu_array_free);
		mm->vma_rcu_stale = mm->map_count && !a;
	}
	while ((head = mm->vma_free_pending)) {
		mm->vma_free_pending = head->next;
		rcu_batch_add(&m->rcu, head, vma_free_rcu);
	}
}

/* vm_area_free()'s last step: the memory goes after the next publication's grace period. */
void vma_free_deferred(struct vm_area_struct *vma)
{
	struct mm_struct *mm = vma->vm_mm;

	mmap_assert_write_locked(mm);
	vma->vm_rcu_machine = mm->machine;
	vma->vm_rcu.next = mm->vma_free_pending;
	mm->vma_free_pending = &vma->vm_rcu;
}

/*
 * Index of the first VMA with vm_end > addr (map_count if none).  The
 * bisection halves the range with a conditional move, not a branch: which
 * half it keeps is a coin toss the host's predictor loses, at some 15
 * cycles a step, and a walk of the VMAs (for_each_vma) searches at every
 * step.
 */
unsigned long vma_index_after(struct mm_struct *mm, uint64_t addr)
{
	const uint64_t *ends = mm->vma_ends;
	unsigned long lo = 0, n = mm->map_count;

	if (!n)
		return 0;
	while (n > 1) {
		unsigned long half = n / 2;

		/* the answer lies in [lo, lo + n]: keep the half that holds it */
		lo = ends[lo + half - 1] > addr ? lo : lo + half;
		n -= half;
	}
	return lo + (ends[lo] <= addr);
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
	uint64_t *ends;

	if (mm->map_count + n <= mm->vmas_cap)
		return 0;
	cap = max(mm->vmas_cap * 2, mm->map_count + n);
	cap = max(cap, 16UL);
	/* one object: the VMAs, then their ends */
	nv = mml_obj_alloc(mm->machine, OBJ_VMA_ARRAY, cap * (sizeof(*nv) + sizeof(*ends)));
	if (!nv)
		return -ENOMEM;
	ends = (uint64_t *)(nv + cap);
	if (mm->map_count) {
		memcpy(nv, mm->vmas, mm->map_count * sizeof(*nv));
		memcpy(ends, mm->vma_ends, mm->map_count * sizeof(*ends));
	}
	mml_obj_free(mm->machine, OBJ_VMA_ARRAY, mm->vmas);
	mm->vmas = nv;
	mm->vma_ends = ends;
	mm->vmas_cap = cap;
	return 0;
}

void vma_tree_insert(struct mm_struct *mm, struct vm_area_struct *vma)
{
	unsigned long i = vma_index_after(mm, vma->vm_start);

	VM_BUG_ON_VMA(mm->map_count >= mm->vmas_cap, vma);
	VM_BUG_ON_VMA(i < mm->map_count && mm->vmas[i]->vm_start < vma->vm_end, vma);
	/* Linux: a new VMA is write-locked before it is stored, as it may be changed after. */
	vma_start_write(vma);
	vma_mark_attached(vma);
	memmove(&mm->vmas[i + 1], &mm->vmas[i], (mm->map_count - i) * sizeof(*mm->vmas));
	memmove(&mm->vma_ends[i + 1], &mm->vma_ends[i], (mm->map_count - i) * sizeof(*mm->vma_ends));
	mm->vmas[i] = vma;
	mm->vma_ends[i] = vma->vm_end;
	mm->map_count++;
	mm->vma_rcu_stale = true;
}

void vma_tree_erase(struct mm_struct *mm, struct vm_area_struct *vma)
{
	unsigned long i = vma_index_after(mm, vma->vm_start);

	VM_BUG_ON_VMA(i >= mm->map_count || mm->vmas[i] != vma, vma);
	vma_mark_detached(vma);
	memmove(&mm->vmas[i], &mm->vmas[i + 1], (mm->map_count - i - 1) * sizeof(*mm->vmas));
	memmove(&mm->vma_ends[i], &mm->vma_ends[i + 1], (mm->map_count - i - 1) * sizeof(*mm->vma_ends));
	mm->map_count--;
	mm->vma_rcu_stale = true;
}

/*
 * vma's end moved, and no other VMA: its pivot follows.  Its old end and
 * its new one both lie above its start, and the VMAs below end at or
 * before it, so the search by its start finds it whichever it reads.
 */
void vma_tree_set_end(struct vm_area_struct *vma)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned long i = vma_index_after(mm, vma->vm_start);

	VM_BUG_ON_VMA(i >= mm->map_count || mm->vmas[i] != vma, vma);
	mm->vma_ends[i] = vma->vm_end;	/* the copy for RCU is stale already: the VMA is write-locked */
}

void vma_tree_destroy(struct mm_struct *mm)
{
	mml_obj_free(mm->machine, OBJ_VMA_ARRAY, mm->vmas);
	mm->vmas = NULL;
	mm->vma_ends = NULL;
	mm->vmas_cap = 0;
	mm->map_count = 0;
}
