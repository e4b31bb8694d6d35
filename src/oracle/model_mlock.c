/*
 * model_mlock.c - mlock(2), mlock2(2), munlock(2), mlockall(2),
 * munlockall(2) and RLIMIT_MEMLOCK in the reference model (Linux 6.18's
 * rules, see model.h).
 *
 * A lock is two page flags, MP_LOCKED and MP_LOCKONFAULT, shown as
 * VmFlags lo and lf and compared by the layout check.  What a lock does to
 * memory is invisible but in one place: faulting a range in for mlock
 * copies a private file page that is writable (the write fault breaks
 * COW), as MAP_POPULATE does, so the file's later changes no longer show
 * there.  Every other effect -- unevictable pages, Mlocked -- is the
 * invariant checker's to judge.
 *
 * The limit counts the locked pages of the process (Linux's locked_vm)
 * and holds for mlock, MAP_LOCKED, the mappings mlockall(MCL_FUTURE)
 * locks, and mremap growing a locked range.  Linux 6.18 keeps counting
 * the pages of the VMA an MREMAP_DONTUNMAP unlocks; the fuzzer does not
 * move locked memory that way (tests/conformance/mlock-limit.scn does).
 */
#include <errno.h>
#include <stdint.h>

#include "oracle/model_internal.h"

#define M_ONFAULT	1	/* MLOCK_ONFAULT */
#define M_CURRENT	1	/* MCL_CURRENT */
#define M_FUTURE	2	/* MCL_FUTURE */
#define M_MCL_ONFAULT	4	/* MCL_ONFAULT */

uint64_t model_locked_pages(const struct mproc *p)
{
	uint64_t n = 0;

	for (size_t i = 0; i < p->n; i++)
		n += !!(p->pages[i].flags & MP_LOCKED);
	return n;
}

/* mlock_future_ok(): may pages more pages be locked? */
bool model_mlock_ok(const struct mproc *p, uint64_t pages)
{
	return p->memlock == UINT64_MAX || model_locked_pages(p) + pages <= p->memlock / MODEL_PAGE;
}

/*
 * populate_vma_page_range() for one page: -EFAULT where a fault cannot
 * map it (PROT_NONE, a guard, a file page past the end: SIGBUS); a private
 * writable file page is faulted for write, so copied.
 */
int model_populate_page(struct model *md, struct mpage *pg)
{
	if (!(pg->prot & (PROT_READ | PROT_WRITE | PROT_EXEC)) || (pg->flags & MP_GUARD))
		return -EFAULT;
	if (!page_file_view(pg))
		return 0;
	if (file_view_check(md, pg))
		return -EFAULT;
	if ((pg->prot & PROT_WRITE) && !(pg->flags & MP_SHARED))
		return page_cow(md, pg);
	page_touch(md, pg);
	return 0;
}

/*
 * __mm_populate() over [start, end): VMA by VMA in Linux; here page by
 * page, which fails at the same place (locks are per VMA).  Pages locked
 * on fault are skipped.  ignore: mlockall's and mmap's, which go on.
 */
int model_populate(struct model *md, struct mproc *p, uint64_t start, uint64_t end, bool ignore)
{
	for (size_t i = lower_bound(p, start); i < p->n && p->pages[i].addr < end; i++) {
		struct mpage *pg = &p->pages[i];
		int r;

		if (pg->flags & MP_LOCKONFAULT)
			continue;
		r = model_populate_page(md, pg);
		if (r == -ENOMEM)
			return r;
		if (r && !ignore)
			return r;
	}
	return 0;
}

/* apply_vma_lock_flags(): pages from start take flags until a hole (-ENOMEM), which stops it. */
static int apply_lock_flags(struct mproc *p, uint64_t start, uint64_t end, unsigned flags)
{
	size_t i = lower_bound(p, start);
	uint64_t a = start;

	for (; a < end; a += MODEL_PAGE, i++) {
		if (i >= p->n || p->pages[i].addr != a)
			return -ENOMEM;
		p->pages[i].flags = (p->pages[i].flags & ~(MP_LOCKED | MP_LOCKONFAULT)) | flags;
	}
	return 0;
}

/* The page-aligned range of [addr, addr + len), as mlock and munlock widen it; false if it wraps. */
static bool lock_range(uint64_t *addr, uint64_t len, uint64_t *end)
{
	uint64_t start = *addr & ~(MODEL_PAGE - 1);
	uint64_t n = len + (*addr - start);

	if (n < len)
		return false;
	n = (n + MODEL_PAGE - 1) & ~(MODEL_PAGE - 1);
	*addr = start;
	*end = start + n;
	return *end >= start;
}

static uint64_t locked_in(const struct mproc *p, uint64_t start, uint64_t end)
{
	uint64_t n = 0;

	for (size_t i = lower_bound(p, start); i < p->n && p->pages[i].addr < end; i++)
		n += !!(p->pages[i].flags & MP_LOCKED);
	return n;
}

int model_mlock(struct model *md, int task, uint64_t addr, uint64_t len, int flags, bool mlock2)
{
	struct mproc *p = task_proc(md, task);
	uint64_t end, want;
	int r;

	if (!p)
		return -ESRCH;
	if (mlock2 && (flags & ~M_ONFAULT))
		return -EINVAL;
	if (!p->memlock)
		return -EPERM;	/* can_do_mlock(): no CAP_IPC_LOCK either */
	if (!lock_range(&addr, len, &end))
		return -EINVAL;
	if (end == addr)
		return 0;
	/* What is locked already does not count twice. */
	want = (end - addr) / MODEL_PAGE - locked_in(p, addr, end);
	if (!model_mlock_ok(p, want))
		return -ENOMEM;
	if (!find_page(p, addr))
		return -ENOMEM;
	r = apply_lock_flags(p, addr, end, MP_LOCKED | ((flags & M_ONFAULT) ? MP_LOCKONFAULT : 0));
	if (r)
		return r;
	r = model_populate(md, p, addr, end, false);
	/* __mlock_posix_error_return() */
	return r == -EFAULT ? -ENOMEM : r == -ENOMEM ? -EAGAIN : r;
}

int model_munlock(struct model *md, int task, uint64_t addr, uint64_t len)
{
	struct mproc *p = task_proc(md, task);
	uint64_t end;

	if (!p)
		return -ESRCH;
	if (!lock_range(&addr, len, &end))
		return -EINVAL;
	if (end == addr)
		return 0;
	if (!find_page(p, addr))
		return -ENOMEM;
	return apply_lock_flags(p, addr, end, 0);
}

int model_mlockall(struct model *md, int task, int flags)
{
	struct mproc *p = task_proc(md, task);
	unsigned lock;

	if (!p)
		return -ESRCH;
	if (!flags || (flags & ~(M_CURRENT | M_FUTURE | M_MCL_ONFAULT)) || flags == M_MCL_ONFAULT)
		return -EINVAL;
	if (!p->memlock)
		return -EPERM;
	if ((flags & M_CURRENT) && p->memlock != UINT64_MAX && p->n > p->memlock / MODEL_PAGE)
		return -ENOMEM;	/* total_vm over the limit */
	lock = MP_LOCKED | ((flags & M_MCL_ONFAULT) ? MP_LOCKONFAULT : 0);
	p->def_flags = (flags & M_FUTURE) ? lock : 0;
	if (!(flags & M_CURRENT))
		return 0;
	for (size_t i = 0; i < p->n; i++)
		p->pages[i].flags = (p->pages[i].flags & ~(MP_LOCKED | MP_LOCKONFAULT)) | lock;
	return model_populate(md, p, 0, MODEL_TASK_SIZE, true) == -ENOMEM ? -ENOMEM : 0;
}

int model_munlockall(struct model *md, int task)
{
	struct mproc *p = task_proc(md, task);

	if (!p)
		return -ESRCH;
	p->def_flags = 0;
	for (size_t i = 0; i < p->n; i++)
		p->pages[i].flags &= ~(MP_LOCKED | MP_LOCKONFAULT);
	return 0;
}

int model_setrlimit_memlock(struct model *md, int task, uint64_t limit)
{
	struct mproc *p = task_proc(md, task);

	if (!p)
		return -ESRCH;
	/* Soft and hard alike: raising the hard limit needs CAP_SYS_RESOURCE. */
	if (limit > p->memlock_max)
		return -EPERM;
	p->memlock = p->memlock_max = limit;
	return 0;
}

bool model_locked(const struct model *md, int task, uint64_t addr, uint64_t len)
{
	const struct mproc *p = task_proc(md, task);

	return p && locked_in(p, addr, addr + len);
}
