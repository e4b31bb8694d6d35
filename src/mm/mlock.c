/*
 * mlock.c - mlock(2), mlock2(2), munlock(2), mlockall(2), munlockall(2)
 * and RLIMIT_MEMLOCK (Linux's mm/mlock.c), and the mlock state of folios.
 *
 * A VMA is locked by VM_LOCKED (with VM_LOCKONFAULT: only as pages fault
 * in).  A folio mapped in full by a VM_LOCKED VMA is mlocked: PG_mlocked,
 * counted in NR_MLOCK (Mlocked), and moved to the unevictable LRU
 * (PG_unevictable, NR_UNEVICTABLE), where reclaim never looks.  Its
 * mlock_count says how many locked VMAs map it, possibly fewer: munlock
 * clears PG_mlocked when the count reaches 0, and reclaim, meeting a
 * folio that a VM_LOCKED VMA still maps, mlocks it again.
 *
 * Linux batches these moves per CPU (mlock_fbatch); mmlab makes them at
 * once, as Linux does with the LRU cache disabled.  Locks: the folio's
 * mapper holds its pte lock; lru_lock inside it.
 */
#include <sys/mman.h>
#include <sys/resource.h>

#include "mm/internal.h"
#include "mm/pagewalk.h"

/* <sys/mman.h> has these only with _GNU_SOURCE. */
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT	1U
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT	4
#endif

/* Models can_do_mlock(): mmlab's processes lack CAP_IPC_LOCK (deviation 4). */
bool can_do_mlock(struct mm_struct *mm)
{
	return mm->rlimit_memlock != 0;
}

/* Models mlock_future_ok(): may len more bytes of vm_flags be locked? */
bool mlock_future_ok(struct mm_struct *mm, vm_flags_t vm_flags, uint64_t len)
{
	uint64_t locked = (len >> PAGE_SHIFT) + mm->locked_vm;

	if (!(vm_flags & VM_LOCKED) || mm->rlimit_memlock == RLIM_INFINITY)
		return true;
	return locked <= mm->rlimit_memlock >> PAGE_SHIFT;
}

/* Models __mlock_folio(): a folio on the LRU goes to the unevictable list, or counts one more lock there. */
static void __mlock_folio(struct mml_machine *m, struct folio *folio)
{
	spin_lock(&m->lruvec.lru_lock);
	/* Isolated: whoever holds it puts it back where it belongs (lru_add). */
	if (!folio_test_lru(folio))
		goto out;
	if (folio_evictable(folio)) {
		/* Munlocked meanwhile: if it is unevictable still, it need not be. */
		if (folio_test_unevictable(folio)) {
			lruvec_del_folio(m, folio);
			folio_clear_unevictable(folio);
			lruvec_add_folio(m, folio);
			count_vm_events(m, UNEVICTABLE_PGRESCUED, folio_nr_pages(folio));
		}
		goto out;
	}
	if (folio_test_unevictable(folio)) {
		folio->mlock_count++;
		goto out;
	}
	lruvec_del_folio(m, folio);
	folio_clear_active(folio);
	folio_set_unevictable(folio);
	folio->mlock_count = 1;
	lruvec_add_folio(m, folio);
	count_vm_events(m, UNEVICTABLE_PGCULLED, folio_nr_pages(folio));
out:
	spin_unlock(&m->lruvec.lru_lock);
}

/* Models mlock_folio(): mlock a folio that is on the LRU (or isolated for a moment). */
void mlock_folio(struct mml_machine *m, struct folio *folio)
{
	if (!folio_test_set_mlocked(folio)) {
		long nr = folio_nr_pages(folio);

		mod_vm_stat(m, NR_MLOCK, nr);
		count_vm_events(m, UNEVICTABLE_PGMLOCKED, nr);
	}
	__mlock_folio(m, folio);
}

/* Models mlock_new_folio(): a new folio, not yet on the LRU, mapped into a locked VMA. */
void mlock_new_folio(struct mml_machine *m, struct folio *folio)
{
	long nr = folio_nr_pages(folio);

	VM_BUG_ON_FOLIO(folio_test_lru(folio), m, folio);
	folio_set_mlocked(folio);
	mod_vm_stat(m, NR_MLOCK, nr);
	count_vm_events(m, UNEVICTABLE_PGMLOCKED, nr);
	spin_lock(&m->lruvec.lru_lock);
	folio_set_unevictable(folio);
	folio->mlock_count = 1;
	count_vm_events(m, UNEVICTABLE_PGCULLED, nr);
	lruvec_add_folio(m, folio);
	spin_unlock(&m->lruvec.lru_lock);
}

/*
 * Models munlock_folio() / __munlock_folio(): one locked mapping fewer.
 * The last one (or an unknown count: 0) clears PG_mlocked and lets the
 * folio back onto the evictable lists.  An isolated folio is munlocked
 * at once ("stranded" if it was unevictable): lru_add sorts it out.
 */
void munlock_folio(struct mml_machine *m, struct folio *folio)
{
	long nr = folio_nr_pages(folio);
	bool on_lru;

	spin_lock(&m->lruvec.lru_lock);
	on_lru = folio_test_lru(folio);
	if (on_lru && folio_test_unevictable(folio)) {
		if (folio->mlock_count)
			folio->mlock_count--;
		if (folio->mlock_count)
			goto out;
	}
	if (folio_test_clear_mlocked(folio)) {
		mod_vm_stat(m, NR_MLOCK, -nr);
		if (on_lru || !folio_test_unevictable(folio))
			count_vm_events(m, UNEVICTABLE_PGMUNLOCKED, nr);
		else
			count_vm_events(m, UNEVICTABLE_PGSTRANDED, nr);
	}
	if (on_lru && folio_test_unevictable(folio) && folio_evictable(folio) &&
	    !bug_enabled(m, BUG_MUNLOCK_STRANDS)) {
		lruvec_del_folio(m, folio);
		folio_clear_unevictable(folio);
		lruvec_add_folio(m, folio);
		count_vm_events(m, UNEVICTABLE_PGRESCUED, nr);
	}
out:
	spin_unlock(&m->lruvec.lru_lock);
}

/*
 * Models allow_mlock_munlock(): a large folio is mlocked only if vma maps
 * all of it inside [start, end); munlock takes any (reclaim corrects it).
 */
static bool allow_mlock_munlock(struct folio *folio, struct vm_area_struct *vma, uint64_t start, uint64_t end,
				int step)
{
	uint64_t first;

	if (!(vma->vm_flags & VM_LOCKED) || !folio_test_large(folio))
		return true;
	/* folio_within_range(): where its first page would be in vma, by its index. */
	first = vma->vm_start + ((folio->index - vma->vm_pgoff) << PAGE_SHIFT);
	if (folio->index < vma->vm_pgoff || first < start ||
	    first + ((uint64_t)folio_nr_pages(folio) << PAGE_SHIFT) > end)
		return false;
	return step == folio_nr_pages(folio);
}

static void mlock_or_munlock(struct vm_area_struct *vma, struct folio *folio)
{
	if (vma->vm_flags & VM_LOCKED)
		mlock_folio(vma->vm_mm->machine, folio);
	else
		munlock_folio(vma->vm_mm->machine, folio);
}

/* Models mlock_pte_range(): (m)unlock every folio mapped in [addr, end) as vma's flags now say. */
static int mlock_pte_range(pmd_t *pmd, uint64_t addr, uint64_t end, struct mm_walk *walk)
{
	struct vm_area_struct *vma = walk->vma;
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	spinlock_t *ptl = pmd_trans_huge_lock(pmd, vma);
	uint64_t start = addr;
	pte_t *start_pte, *pte;

	if (ptl) {
		pmd_t pmdval = pmdp_get(pmd);

		if (pmd_present(pmdval) && !is_huge_zero_pmd(m, pmdval))
			mlock_or_munlock(vma, page_folio(pmd_page(m, pmdval)));
		spin_unlock(ptl);
		walk->action = ACTION_CONTINUE;
		return 0;
	}
	if (pmd_no_table(mm, pmdp_get(pmd), addr, "mlock"))
		return 0;
	start_pte = pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!pte) {
		walk->action = ACTION_AGAIN;
		return 0;
	}
	for (; addr < end; pte++, addr += PAGE_SIZE) {
		pte_t ptent = ptep_get(pte);
		struct folio *folio;
		int step = 1;

		if (!pte_present(ptent))
			continue;
		folio = vm_normal_folio(vma, addr, ptent);
		if (!folio)
			continue;
		if (folio_test_large(folio))
			step = folio_pte_batch(m, folio, pte, ptent, (int)((end - addr) >> PAGE_SHIFT), NULL, NULL,
					       NULL);
		if (allow_mlock_munlock(folio, vma, start, end, step))
			mlock_or_munlock(vma, folio);
		pte += step - 1;
		addr += (uint64_t)(step - 1) << PAGE_SHIFT;
	}
	pte_unmap_unlock(start_pte, ptl);
	return 0;
}

/*
 * Models mlock_vma_pages_range(): vma takes newflags and every folio it
 * maps in [start, end) follows.  VM_IO while the walk runs keeps
 * reclaim and migration, which mlock what a VM_LOCKED VMA maps
 * (mlock_vma_folio), from counting a folio twice.
 */
static void mlock_vma_pages_range(struct vm_area_struct *vma, uint64_t start, uint64_t end, vm_flags_t newflags)
{
	static const struct mm_walk_ops mlock_walk_ops = { .pmd_entry = mlock_pte_range };

	if (newflags & VM_LOCKED)
		newflags |= VM_IO;
	vma_start_write(vma);
	WRITE_ONCE(vma->vm_flags, newflags);
	walk_page_range_vma(vma, start, end, &mlock_walk_ops, NULL);
	if (newflags & VM_IO)
		WRITE_ONCE(vma->vm_flags, newflags & ~VM_IO);
}

/*
 * Models mlock_fixup(): [start, end) of vma takes newflags (split and
 * merged as they fit), mm->locked_vm follows.  Special VMAs never lock.
 * *vmap: the VMA now covering the range.
 */
static int mlock_fixup(struct vm_area_struct **vmap, uint64_t start, uint64_t end, vm_flags_t newflags)
{
	struct vm_area_struct *vma = *vmap;
	struct mm_struct *mm = vma->vm_mm;
	vm_flags_t oldflags = vma->vm_flags;
	long nr_pages;
	int err;

	if (newflags == oldflags || (oldflags & VM_SPECIAL) || vma_is_dax(vma))
		return 0;
	vma = vma_modify_flags(vma, start, end, newflags, &err);
	if (!vma)
		return err;
	*vmap = vma;
	nr_pages = (long)((end - start) >> PAGE_SHIFT);
	if (!(newflags & VM_LOCKED))
		nr_pages = -nr_pages;
	else if (oldflags & VM_LOCKED)
		nr_pages = 0;
	mm->locked_vm += nr_pages;
	/* Locked already (only VM_LOCKONFAULT changes): locking its folios twice would be wrong. */
	if (!((newflags & VM_LOCKED) && (oldflags & VM_LOCKED)))
		mlock_vma_pages_range(vma, start, end, newflags);
	return 0;
}

/*
 * Models apply_vma_lock_flags(): [start, start + len) takes flags
 * (VM_LOCKED, VM_LOCKONFAULT, or neither), VMA by VMA; -ENOMEM at the
 * first hole, what came before it keeps its new flags.  mmap_lock held
 * for write.
 */
static int apply_vma_lock_flags(struct mm_struct *mm, uint64_t start, uint64_t len, vm_flags_t flags)
{
	uint64_t end = start + len, nstart = start, tmp;
	struct vm_area_struct *vma;

	if (end < start)
		return -EINVAL;
	if (end == start)
		return 0;
	vma = find_vma(mm, start);
	if (!vma || vma->vm_start > start)
		return -ENOMEM;
	tmp = vma->vm_start;
	for (; vma && vma->vm_start < end; vma = vma_next(vma)) {
		int err;

		if (vma->vm_start != tmp)
			return -ENOMEM;
		tmp = min(vma->vm_end, end);
		err = mlock_fixup(&vma, nstart, tmp, (vma->vm_flags & ~VM_LOCKED_MASK) | flags);
		if (err)
			return err;
		/* The VMA may have merged with its neighbours: on from its end. */
		tmp = nstart = vma->vm_end;
	}
	return tmp < end ? -ENOMEM : 0;
}

/* Models count_mm_mlocked_page_nr(): pages of [start, start + len) locked already. */
static unsigned long count_mm_mlocked_page_nr(struct mm_struct *mm, uint64_t start, uint64_t len)
{
	uint64_t end = start + len < start ? UINT64_MAX : start + len;
	unsigned long count = 0;

	for (struct vm_area_struct *vma = find_vma(mm, start); vma && vma->vm_start < end; vma = vma_next(vma))
		if (vma->vm_flags & VM_LOCKED)
			count += (min(end, vma->vm_end) - max(start, vma->vm_start)) >> PAGE_SHIFT;
	return count;
}

/* Models __mlock_posix_error_return(): GUP's errors as mlock reports them. */
static int mlock_posix_error(int err)
{
	if (err == -EFAULT)
		return -ENOMEM;
	if (err == -ENOMEM)
		return -EAGAIN;
	return err;
}

/* Models do_mlock(): lock the VMAs within the limit, then fault their pages in. */
static int do_mlock(struct mm_struct *mm, uint64_t start, uint64_t len, vm_flags_t flags)
{
	unsigned long locked, lock_limit;
	int err = -ENOMEM;

	if (!can_do_mlock(mm))
		return -EPERM;
	lru_add_drain_all(mm->machine);	/* new folios on the lists, where mlock finds them */
	len = PAGE_ALIGN(len + (start & ~PAGE_MASK));
	start &= PAGE_MASK;
	mmap_write_lock(mm);
	lock_limit = mm->rlimit_memlock == RLIM_INFINITY ? ULONG_MAX : mm->rlimit_memlock >> PAGE_SHIFT;
	locked = (len >> PAGE_SHIFT) + mm->locked_vm;
	/* What is locked already is not locked again. */
	if (locked > lock_limit && !bug_enabled(mm->machine, BUG_MLOCK_COUNTS_LOCKED_TWICE))
		locked -= count_mm_mlocked_page_nr(mm, start, len);
	if (locked <= lock_limit)
		err = apply_vma_lock_flags(mm, start, len, flags);
	mmap_write_unlock(mm);
	if (err)
		return err;
	return mlock_posix_error(__mm_populate(mm, start, len, false));
}

/* Models apply_mlockall_flags(): every VMA (MCL_CURRENT) and the future ones (MCL_FUTURE, def_flags). */
static void apply_mlockall_flags(struct mm_struct *mm, int flags)
{
	vm_flags_t to_add = 0;

	mm->def_flags &= ~VM_LOCKED_MASK;
	if (flags & MCL_FUTURE) {
		mm->def_flags |= VM_LOCKED;
		if (flags & MCL_ONFAULT)
			mm->def_flags |= VM_LOCKONFAULT;
		if (!(flags & MCL_CURRENT))
			return;
	}
	if (flags & MCL_CURRENT) {
		to_add |= VM_LOCKED;
		if (flags & MCL_ONFAULT)
			to_add |= VM_LOCKONFAULT;
	}
	for (struct vm_area_struct *vma = find_vma(mm, 0); vma; vma = vma_next(vma)) {
		/* Errors are ignored, as Linux's: the VMA keeps its flags. */
		mlock_fixup(&vma, vma->vm_start, vma->vm_end, (vma->vm_flags & ~VM_LOCKED_MASK) | to_add);
	}
}

int mml_mlock(struct mml_task *t, uint64_t addr, uint64_t len)
{
	long ret = op_enter_task(t);

	if (ret)
		return (int)ret;
	return (int)op_exit_task(t, do_mlock(t->mm, addr, len, VM_LOCKED));
}

int mml_mlock2(struct mml_task *t, uint64_t addr, uint64_t len, unsigned int flags)
{
	long ret = op_enter_task(t);

	if (ret)
		return (int)ret;
	if (flags & ~MLOCK_ONFAULT)
		return (int)op_exit_task(t, -EINVAL);
	return (int)op_exit_task(t, do_mlock(t->mm, addr, len,
					     VM_LOCKED | ((flags & MLOCK_ONFAULT) ? VM_LOCKONFAULT : 0)));
}

int mml_munlock(struct mml_task *t, uint64_t addr, uint64_t len)
{
	struct mm_struct *mm = t->mm;
	long ret = op_enter_task(t);

	if (ret)
		return (int)ret;
	len = PAGE_ALIGN(len + (addr & ~PAGE_MASK));
	addr &= PAGE_MASK;
	mmap_write_lock(mm);
	ret = apply_vma_lock_flags(mm, addr, len, 0);
	mmap_write_unlock(mm);
	return (int)op_exit_task(t, ret);
}

/* The pages of every VMA (Linux's mm->total_vm). */
static unsigned long total_vm(struct mm_struct *mm)
{
	unsigned long pages = 0;

	for (struct vm_area_struct *vma = find_vma(mm, 0); vma; vma = vma_next(vma))
		pages += vma_pages(vma);
	return pages;
}

int mml_mlockall(struct mml_task *t, int flags)
{
	struct mm_struct *mm = t->mm;
	long ret = op_enter_task(t);

	if (ret)
		return (int)ret;
	if (!flags || (flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)) || flags == MCL_ONFAULT)
		return (int)op_exit_task(t, -EINVAL);
	if (!can_do_mlock(mm))
		return (int)op_exit_task(t, -EPERM);
	if (flags & MCL_CURRENT)
		lru_add_drain_all(mm->machine);
	mmap_write_lock(mm);
	ret = -ENOMEM;
	if (!(flags & MCL_CURRENT) || mm->rlimit_memlock == RLIM_INFINITY ||
	    total_vm(mm) <= mm->rlimit_memlock >> PAGE_SHIFT) {
		apply_mlockall_flags(mm, flags);
		ret = 0;
	}
	mmap_write_unlock(mm);
	if (!ret && (flags & MCL_CURRENT))
		mm_populate(mm, 0, TASK_SIZE);
	return (int)op_exit_task(t, ret);
}

int mml_munlockall(struct mml_task *t)
{
	struct mm_struct *mm = t->mm;
	long ret = op_enter_task(t);

	if (ret)
		return (int)ret;
	mmap_write_lock(mm);
	apply_mlockall_flags(mm, 0);
	mmap_write_unlock(mm);
	return (int)op_exit_task(t, 0);
}

/*
 * getrlimit/setrlimit of RLIMIT_MEMLOCK, the one limit mmlab models (per
 * process: Linux's are per thread group too).  Lowering it never unlocks
 * anything, as in Linux; an unprivileged process may not raise its hard
 * limit: -EPERM.
 */
int mml_getrlimit(struct mml_task *t, int resource, struct rlimit *rlim)
{
	struct mm_struct *mm = t->mm;
	long ret = op_enter_task(t);

	if (ret)
		return (int)ret;
	if (resource != RLIMIT_MEMLOCK)
		return (int)op_exit_task(t, -EINVAL);
	down_read(&mm->mmap_lock);
	rlim->rlim_cur = (rlim_t)mm->rlimit_memlock;
	rlim->rlim_max = (rlim_t)mm->rlimit_memlock_max;
	up_read(&mm->mmap_lock);
	return (int)op_exit_task(t, 0);
}

int mml_setrlimit(struct mml_task *t, int resource, const struct rlimit *rlim)
{
	struct mm_struct *mm = t->mm;
	long ret = op_enter_task(t);

	if (ret)
		return (int)ret;
	if (resource != RLIMIT_MEMLOCK || rlim->rlim_cur > rlim->rlim_max)
		return (int)op_exit_task(t, -EINVAL);
	mmap_write_lock(mm);
	if (rlim->rlim_max > mm->rlimit_memlock_max) {
		ret = -EPERM;
	} else {
		mm->rlimit_memlock = (uint64_t)rlim->rlim_cur;
		mm->rlimit_memlock_max = (uint64_t)rlim->rlim_max;
	}
	mmap_write_unlock(mm);
	return (int)op_exit_task(t, ret);
}
