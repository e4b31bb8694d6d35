/*
 * mmap_lock.c - mmap_lock's write side and the per-VMA locks (Linux 6.18's
 * mm/mmap_lock.c and include/linux/mmap_lock.h).
 *
 * A fault may run under one VMA's read lock instead of mmap_lock, so that
 * threads faulting different VMAs, or different pages of one, do not meet
 * on a lock of the whole mm (lock_vma_under_rcu).  The lock is Linux
 * 6.18's reference count, not a rwsem per VMA: a reader is one atomic
 * increment of vma->vm_refcnt, which costs no allocation and no
 * destruction, and a writer never blocks a reader for long (it waits for
 * readers, never the other way round: readers that find it give up and
 * take mmap_lock).  Every step goes through the sync layer: the count's
 * RMWs are scheduling points, the writer's wait is a wait_var_event.
 *
 *   vm_refcnt     0: detached (not in the tree); 1: attached; each reader
 *                 adds 1; a writer adds VMA_LOCK_OFFSET while it waits
 *                 for the readers to leave
 *   vm_lock_seq   a VMA is write-locked while its vm_lock_seq equals
 *                 mm->mm_lock_seq, which is odd while mmap_lock is held
 *                 for write: mmap_write_unlock ends every VMA write lock
 *                 of the section at once by moving the count on
 *
 * Lock order: mmap_lock -> VMA lock (vma_start_write under mmap_lock for
 * write); a fault holds one VMA's read lock where it would hold mmap_lock
 * for read, and takes nothing else of the mm's that a writer holds while
 * it waits (mmap_read_trylock only: vmf_anon_prepare).
 */
#include "mm/internal.h"

/* A writer's mark in vm_refcnt; readers beyond VMA_REF_LIMIT are refused (never near in mmlab). */
#define VMA_LOCK_OFFSET	0x40000000
#define VMA_REF_LIMIT	(VMA_LOCK_OFFSET - 1)

void mmap_write_lock(struct mm_struct *mm)
{
	down_write(&mm->mmap_lock);
	raw_write_seqcount_begin(&mm->mm_lock_seq);
}

bool mmap_write_trylock(struct mm_struct *mm)
{
	if (!down_write_trylock(&mm->mmap_lock))
		return false;
	raw_write_seqcount_begin(&mm->mm_lock_seq);
	return true;
}

/*
 * vma_end_write_all(): every VMA write-locked in this section is unlocked
 * by the count's move.  Before that, lookups get the tree as it now is
 * (vma_rcu_publish), and VMAs removed in the section are queued for
 * freeing after a grace period: no lookup can find them any more.
 */
static void vma_end_write_all(struct mm_struct *mm)
{
	mmap_assert_write_locked(mm);
	vma_rcu_publish(mm);
	raw_write_seqcount_end(&mm->mm_lock_seq);
}

void mmap_write_unlock(struct mm_struct *mm)
{
	vma_end_write_all(mm);
	up_write(&mm->mmap_lock);
}

void mmap_write_downgrade(struct mm_struct *mm)
{
	vma_end_write_all(mm);
	downgrade_write(&mm->mmap_lock);
}

/* vma_lock_init(): a new VMA, detached and unlocked (Linux's vm_lock_seq of UINT_MAX). */
void vma_lock_init(struct vm_area_struct *vma)
{
	atomic_set(&vma->vm_refcnt, 0);
	vma->vm_lock_seq = UINT32_MAX;
}

/* __is_vma_write_locked(): the seq to lock it with, if it is not already locked; mmap_lock write held. */
static bool vma_write_locked_now(struct vm_area_struct *vma, unsigned *seq)
{
	struct mm_struct *mm = vma->vm_mm;

	mmap_assert_write_locked(mm);
	*seq = mm->mm_lock_seq.sequence;
	return vma->vm_lock_seq == *seq;
}

bool vma_is_write_locked(struct vm_area_struct *vma)
{
	return READ_ONCE(vma->vm_lock_seq) == __atomic_load_n(&vma->vm_mm->mm_lock_seq.sequence, __ATOMIC_ACQUIRE) &&
	       rwsem_is_write_locked_by_me(&vma->vm_mm->mmap_lock);
}

void vma_assert_locked_fail(struct vm_area_struct *vma, const char *file, int line)
{
	dump_vma(vma);
	mml_lock_assert_fail("VMA not locked (vma_assert_locked)", file, line);
}

struct vma_wait {
	struct vm_area_struct *vma;
	int target;
};

static bool vma_readers_gone(void *arg)
{
	struct vma_wait *w = arg;

	/* Acquire: what the last reader wrote (swap_readahead_info...) is seen by the writer. */
	return smp_load_acquire(&w->vma->vm_refcnt.counter) == w->target;
}

/*
 * __vma_enter_locked(): mark the count and wait until no reader holds the
 * VMA (a detaching writer: until only its mark is left).  False if the VMA
 * is detached already: nobody can be reading it.
 */
static bool vma_enter_locked(struct vm_area_struct *vma, bool detaching)
{
	struct vma_wait w = { vma, detaching ? VMA_LOCK_OFFSET : VMA_LOCK_OFFSET + 1 };

	if (!atomic_add_unless(&vma->vm_refcnt, VMA_LOCK_OFFSET, 0))
		return false;
	wait_var_event(&vma->vm_mm->vma_writer_wait, vma_readers_gone, &w);
	return true;
}

/* __vma_exit_locked(): take the mark off; true if that left the VMA detached. */
static bool vma_exit_locked(struct vm_area_struct *vma)
{
	return atomic_sub_return(VMA_LOCK_OFFSET, &vma->vm_refcnt) == 0;
}

/*
 * vma_start_write(): write-lock vma until mmap_write_unlock, once its
 * readers are gone; new readers find it locked and take mmap_lock.  Also
 * marks the mm's lookup copy stale: the VMA is being changed (its bounds
 * too, maybe), and the next unlock publishes a new copy.
 */
void vma_start_write(struct vm_area_struct *vma)
{
	unsigned seq;
	bool locked;

	if (vma_write_locked_now(vma, &seq))
		return;
	locked = vma_enter_locked(vma, false);
	/* Before the mark goes: a reader that gets in after it sees the VMA locked. */
	WRITE_ONCE(vma->vm_lock_seq, seq);
	if (locked)
		vma_exit_locked(vma);
	vma->vm_mm->vma_rcu_stale = true;
}

/* vma_mark_attached(): in the tree, readable by lookups (locked for write by the inserter). */
void vma_mark_attached(struct vm_area_struct *vma)
{
	vma_assert_write_locked(vma);
	VM_BUG_ON_VMA(atomic_read(&vma->vm_refcnt), vma);
	atomic_set_release(&vma->vm_refcnt, 1);
}

/*
 * vma_mark_detached(): out of the tree.  A reader that raced in before it
 * saw the write lock holds a reference for a moment: wait for it to leave,
 * so that the VMA can be freed (after a grace period) with nobody inside.
 */
void vma_mark_detached(struct vm_area_struct *vma)
{
	vma_assert_write_locked(vma);
	if (atomic_dec_return(&vma->vm_refcnt) == 0)
		return;
	if (vma_enter_locked(vma, true) && !vma_exit_locked(vma))
		VM_BUG_ON_VMA(1, vma);
}

/*
 * vma_start_read(): take the read lock: 0; -EBUSY if the VMA is
 * write-locked (or its count is full), -EAGAIN if it was detached since
 * the lookup found it.  Under RCU: the VMA cannot be freed meanwhile.
 * Linux also checks vm_mm, for a VMA freed and reused under
 * SLAB_TYPESAFE_BY_RCU; mmlab frees VMAs only after a grace period, so
 * it cannot be another mm's.
 */
static int vma_start_read(struct mm_struct *mm, struct vm_area_struct *vma)
{
	int old, seen;

	/* A cheap early answer; the check that counts is the one after the increment. */
	if (READ_ONCE(vma->vm_lock_seq) == READ_ONCE(mm->mm_lock_seq.sequence))
		return -EBUSY;
	old = atomic_read(&vma->vm_refcnt);
	for (;;) {
		if (!old)
			return -EAGAIN;
		if (old >= VMA_REF_LIMIT)
			return -EBUSY;	/* a writer's mark is on */
		seen = atomic_cmpxchg(&vma->vm_refcnt, old, old + 1);
		if (seen == old)
			break;
		old = seen;
	}
	/* Acquire: if mmap_write_unlock just ended the lock, we read the VMA as it left it. */
	if (READ_ONCE(vma->vm_lock_seq) == __atomic_load_n(&mm->mm_lock_seq.sequence, __ATOMIC_ACQUIRE)) {
		vma_end_read(vma);
		return -EBUSY;
	}
	return 0;
}

/* vma_end_read() / vma_refcount_put(): a writer waiting for the last reader is woken. */
void vma_end_read(struct vm_area_struct *vma)
{
	struct mm_struct *mm = vma->vm_mm;	/* vma may be freed once the count drops */
	int left = atomic_dec_return(&vma->vm_refcnt);

	if ((left & VMA_LOCK_OFFSET) && left <= VMA_LOCK_OFFSET + 1)
		wake_up_var(&mm->vma_writer_wait);
}

/*
 * lock_vma_under_rcu(): the VMA holding addr, read-locked, or NULL: the
 * caller takes mmap_lock.  The lookup reads the mm's published copy of
 * the tree (vma_rcu_find); a VMA found detached is looked for once more
 * in a newer copy if one was published (Linux retries its maple tree walk,
 * which is never stale), else the fault takes mmap_lock, which waits for
 * the writer that detached it.
 */
struct vm_area_struct *lock_vma_under_rcu(struct mm_struct *mm, uint64_t addr)
{
	struct mml_machine *m = mm->machine;
	const struct vma_rcu_array *seen = NULL, *arr;
	struct vm_area_struct *vma;
	int err;

	for (;;) {
		rcu_read_lock();
		vma = vma_rcu_find(mm, addr, &arr);
		if (!vma || arr == seen) {
			rcu_read_unlock();
			goto inval;
		}
		err = vma_start_read(mm, vma);
		rcu_read_unlock();
		if (err != -EAGAIN)
			break;
		count_vm_event(m, VMA_LOCK_MISS);
		seen = arr;
	}
	if (err)
		goto inval;
	/* The copy may be older than the VMA's bounds: only the locked VMA's own say. */
	if (addr < vma->vm_start || addr >= vma->vm_end) {
		vma_end_read(vma);
		goto inval;
	}
	return vma;
inval:
	count_vm_event(m, VMA_LOCK_ABORT);
	return NULL;
}
