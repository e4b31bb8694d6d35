/*
 * model_mremap.c - mremap(2) in the reference model (Linux 6.18's rules,
 * see model.h).
 *
 * The model has no VMAs, only pages; what mremap needs of a VMA it reads
 * off the pages (a pure move, MREMAP_FIXED with equal lengths, needs none:
 * since Linux 6.17 it moves every VMA of its range).  Two neighbouring pages are surely in different VMAs
 * when their protection, their VMA flags (fork advice, THP advice,
 * shared, may-write), their file or the order of their file offsets
 * differ, or when a hole lies between; otherwise they may be one VMA or
 * two (Linux does not always merge: anon_vma and page offsets the model
 * does not follow), and there the implementation's answer is taken: an
 * EFAULT for a range that may cross a VMA boundary is allowed.
 *
 * A move carries each page whole (bytes, tags, lazily freed state,
 * file and offset) to its new address; grown pages are new: zero for
 * private anonymous memory, the next pages of the file (of the shared
 * memory object: past its size they are SIGBUS) for a file mapping.
 * MREMAP_DONTUNMAP leaves the old pages mapped with the VMA's attributes
 * but empty, as after MADV_DONTNEED.  A pinned page moves with its
 * range and its pin follows it; a pin over the target range (replaced by
 * MREMAP_FIXED) no longer sees the process.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "oracle/model_internal.h"

#define M_MAYMOVE	1
#define M_FIXED		2
#define M_DONTUNMAP	4

/* What travels with a VMA rather than with a page. */
#define VMA_FLAGS	(MP_DONTFORK | MP_WIPEONFORK | MP_SHARED | MP_MAYWRITE | MP_HUGEPAGE | MP_NOHUGEPAGE | \
			 MP_LOCKED | MP_LOCKONFAULT)

/* Surely one VMA or not: could a and b (b the page after a) be in the same VMA? */
static bool may_share_vma(const struct mpage *a, const struct mpage *b)
{
	if (b->addr != a->addr + MODEL_PAGE || a->prot != b->prot ||
	    (a->flags & VMA_FLAGS) != (b->flags & VMA_FLAGS) || a->file != b->file)
		return false;
	return !a->file || b->pgoff == a->pgoff + 1;
}

/* The end of the run of pages from addr that may be one VMA (addr mapped). */
static uint64_t vma_run_end(const struct mproc *p, uint64_t addr)
{
	size_t i = lower_bound(p, addr);

	while (i + 1 < p->n && may_share_vma(&p->pages[i], &p->pages[i + 1]))
		i++;
	return p->pages[i].addr + MODEL_PAGE;
}

static bool free_range(const struct mproc *p, uint64_t start, uint64_t end)
{
	size_t i = lower_bound(p, start);

	return i >= p->n || p->pages[i].addr >= end;
}

/* munmap of part of the old range or of the target: the model's own munmap. */
static void unmap(struct model *md, int task, uint64_t addr, uint64_t len)
{
	if (len)
		model_munmap(md, task, addr, len);
}

static int insert_pages(struct mproc *p, const struct mpage *pages, size_t n)
{
	size_t i;

	if (!n)
		return 0;
	if (p->n + n > p->cap) {
		size_t cap = p->cap ? p->cap : 8;
		struct mpage *np;

		while (cap < p->n + n)
			cap *= 2;
		np = realloc(p->pages, cap * sizeof(*np));
		if (!np)
			return -ENOMEM;
		p->pages = np;
		p->cap = cap;
	}
	i = lower_bound(p, pages[0].addr);
	memmove(&p->pages[i + n], &p->pages[i], (p->n - i) * sizeof(*p->pages));
	memcpy(&p->pages[i], pages, n * sizeof(*pages));
	p->n += n;
	return 0;
}

/*
 * A pinned page moves with its range (its pte does): the pin follows it
 * to its new address.  A reference's history of its own process's writes
 * is by address: after a move it is no longer followed.
 */
static int move_pins(struct model *md, const struct mproc *p, uint64_t addr, uint64_t len, uint64_t to)
{
	int proc = (int)(p - md->procs);

	struct mpin *pn;

	for_each_live_pin(md, i, pn) {

		if (!pn->alive || pn->proc != proc)
			continue;
		for (uint64_t k = 0; k < pn->npages; k++) {
			uint64_t a = pin_page_addr(pn, k);

			if (a < addr || a >= addr + len)
				continue;
			if (pn->kind == MODEL_GET) {
				pn->hist_lost = true;
				continue;
			}
			if (!pn->shift && !(pn->shift = calloc(pn->npages, sizeof(*pn->shift))))
				return -ENOMEM;
			pn->shift[k] += (int64_t)(to - addr);
		}
	}
	return 0;
}

/*
 * move_vma: [addr, addr + old_len) to [to, to + new_len) (free), grown
 * pages after the moved ones; the old range gone, or empty (dontunmap).
 * old_len 0: a second mapping of the shared object at addr.
 */
static long move(struct model *md, struct mproc *p, uint64_t addr, uint64_t old_len, uint64_t new_len,
		 uint64_t to, bool dontunmap)
{
	size_t n = new_len / MODEL_PAGE, nold = old_len / MODEL_PAGE, i = lower_bound(p, addr);
	struct mpage *np = calloc(n, sizeof(*np)), tmpl = p->pages[i];

	if (!np)
		return -ENOMEM;
	detach_pins(md, p, to, to + new_len);
	if (move_pins(md, p, addr, old_len, to))
		return -ENOMEM;
	for (size_t k = 0; k < nold; k++) {
		struct mpage *pg = &p->pages[i + k];

		np[k] = *pg;
		np[k].addr = to + k * MODEL_PAGE;
		np[k].flags &= ~MP_DEVICE_HELD;	/* the move told every device (MMU_NOTIFY_UNMAP) */
		if (dontunmap) {
			/*
			 * The old page stays, empty, unguarded (its contents and guard
			 * went with the new one) and unlocked (Linux unlocks the whole
			 * old VMA, whose bounds the model does not know: the fuzzer
			 * moves no locked memory so).
			 */
			pg->data = pg->alt = pg->tags = pg->alt_tags = pg->unk = pg->was = NULL;
			pg->flags &= ~(MP_LAZYFREE | MP_COW | MP_DEVICE_HELD | MP_GUARD | MP_LOCKED | MP_LOCKONFAULT |
				       MP_SOFTDIRTY | MP_SD_UNSURE);
			page_ref_file(md, &np[k]);
		}
		tmpl = *pg;
	}
	for (size_t k = nold; k < n; k++) {
		np[k] = (struct mpage){ .addr = to + k * MODEL_PAGE, .prot = tmpl.prot,
					.flags = tmpl.flags & (VMA_FLAGS | MP_COMMIT_FLAGS), .file = tmpl.file };
		if (tmpl.file)
			np[k].pgoff = tmpl.pgoff + (k - nold) + (nold ? 1 : 0);
		page_ref_file(md, &np[k]);
	}
	if (!dontunmap && nold) {
		memmove(&p->pages[i], &p->pages[i + nold], (p->n - i - nold) * sizeof(*p->pages));
		p->n -= nold;
	}
	if (insert_pages(p, np, n)) {
		free(np);
		return -ENOMEM;
	}
	free(np);
	return (long)to;
}

/* The VMA that ends at end (its last page at end - 1 page) grows by len: new pages like it. */
static int grow_in_place(struct model *md, struct mproc *p, uint64_t end, uint64_t len)
{
	const struct mpage *last = find_page(p, end - MODEL_PAGE);
	size_t n = len / MODEL_PAGE;
	struct mpage *np = calloc(n, sizeof(*np));
	int err;

	if (!np)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++) {
		np[k] = (struct mpage){ .addr = end + k * MODEL_PAGE, .prot = last->prot,
					.flags = last->flags & (VMA_FLAGS | MP_COMMIT_FLAGS), .file = last->file };
		if (last->file)
			np[k].pgoff = last->pgoff + 1 + k;
		page_ref_file(md, &np[k]);
	}
	err = insert_pages(p, np, n);
	free(np);
	return err;
}

/* A locked range that grew to at has its new pages faulted in, as mlock would (errors ignored). */
static long grown(struct model *md, struct mproc *p, long at, uint64_t old_len, uint64_t new_len)
{
	const struct mpage *pg;

	if (at < 0 || new_len <= old_len)
		return at;
	pg = find_page(p, (uint64_t)at + old_len);
	if (pg && (pg->flags & MP_LOCKED) && model_populate(md, p, (uint64_t)at + old_len, (uint64_t)at + new_len, true))
		return -ENOMEM;
	return at;
}

/* The kernel's choice of a new address: in range, free, and the hint if the hint's range is free. */
static const char *bad_choice(const struct mproc *p, long got, uint64_t hint, uint64_t len)
{
	uint64_t start = (uint64_t)got;

	if (got < 0)
		return "mremap failed to find a new address where a free range exists";
	if (start & (MODEL_PAGE - 1) || start < MODEL_MMAP_MIN_ADDR || start > MODEL_TASK_SIZE - len)
		return "mremap chose an address outside the user address space";
	if (!free_range(p, start, start + len))
		return "mremap chose a range that overlaps an existing mapping";
	if (hint && hint <= MODEL_TASK_SIZE - len && free_range(p, hint, hint + len) && start != hint)
		return "mremap ignored a hint whose range is free";
	return NULL;
}

/*
 * vma_to_resize / remap_is_valid: 0, -EINVAL (nothing to duplicate of a
 * private mapping), -EFAULT (the range leaves its VMA).  *maybe: the
 * range may or may not be one VMA (see the top): either answer is Linux's.
 */
static int range_valid(const struct mproc *p, uint64_t addr, uint64_t old_len, uint64_t new_len, bool *maybe)
{
	const struct mpage *pg = find_page(p, addr);

	*maybe = false;
	if (!old_len && !(pg->flags & MP_SHARED))
		return -EINVAL;
	if (addr + old_len > vma_run_end(p, addr))
		return -EFAULT;
	*maybe = old_len > MODEL_PAGE;
	/* A locked range grows within RLIMIT_MEMLOCK (mlock_future_ok): EAGAIN */
	if (new_len > old_len && (pg->flags & MP_LOCKED) && !model_mlock_ok(p, (new_len - old_len) / MODEL_PAGE))
		return -EAGAIN;
	return 0;
}

/*
 * Linux 6.17's pure move (MREMAP_FIXED, equal lengths): every mapped page
 * of [addr, addr + len) to the same offset from to, VMA by VMA; the
 * target under a hole keeps what it had.  addr is mapped (checked).  The
 * first VMA's target is unmapped before its address is refused (EPERM).
 */
static long move_only(struct model *md, int task, struct mproc *p, uint64_t addr, uint64_t len, uint64_t to,
		      bool dontunmap)
{
	uint64_t a = addr, end = addr + len;

	while (a < end) {
		size_t i = lower_bound(p, a);
		uint64_t s, e;

		if (i >= p->n || p->pages[i].addr >= end)
			break;
		s = p->pages[i].addr;
		for (e = s; e < end && find_page(p, e); e += MODEL_PAGE)
			;
		unmap(md, task, to + (s - addr), e - s);
		if (to < MODEL_MMAP_MIN_ADDR)
			return -EPERM;
		if (move(md, p, s, e - s, e - s, to + (s - addr), dontunmap) < 0)
			return -ENOMEM;
		a = e;
	}
	return (long)to;
}

long model_mremap(struct model *md, int task, uint64_t addr, uint64_t old_len, uint64_t new_len, int flags,
		  uint64_t new_addr, long got, const char **why)
{
	struct mproc *p = task_proc(md, task);
	bool implies = flags & (M_FIXED | M_DONTUNMAP), maybe;
	uint64_t hint = 0;
	int err;

	*why = NULL;
	if (!p)
		return -ESRCH;
	/* check_mremap_params(), on the page-aligned lengths, before any VMA is looked at */
	old_len = (old_len + MODEL_PAGE - 1) & ~(MODEL_PAGE - 1);
	new_len = (new_len + MODEL_PAGE - 1) & ~(MODEL_PAGE - 1);
	if (flags & ~(M_MAYMOVE | M_FIXED | M_DONTUNMAP))
		return -EINVAL;
	if (addr & (MODEL_PAGE - 1))
		return -EINVAL;
	if (!new_len)
		return -EINVAL;	/* zero, or so large it rounds to zero */
	if (new_len > MODEL_TASK_SIZE)
		return -EINVAL;
	/* The new address only where one is implied (Linux 6.17's fix of a 6.17-rc regression). */
	if (implies) {
		if (new_addr > MODEL_TASK_SIZE - new_len)
			return -EINVAL;
		if ((new_addr & (MODEL_PAGE - 1)) || !(flags & M_MAYMOVE))
			return -EINVAL;
		if ((flags & M_DONTUNMAP) && old_len != new_len)
			return -EINVAL;
		if (addr < new_addr + new_len && new_addr < addr + old_len)
			return -EINVAL;
	}
	if (!find_page(p, addr))
		return -EFAULT;
	if ((flags & M_FIXED) && old_len == new_len)
		return move_only(md, task, p, addr, old_len, new_addr, flags & M_DONTUNMAP);
	/* check_prep_vma(): the VMA at addr, with the whole old length */
	if (implies || new_len > old_len) {
		err = range_valid(p, addr, old_len, new_len, &maybe);
		if (maybe && got == -EFAULT)
			return -EFAULT;	/* before any limit: the range may leave its VMA */
		if (err)
			return err;
	}

	if (implies) {
		/* mremap_to() */
		if (flags & M_FIXED)
			unmap(md, task, new_addr, new_len);
		if (old_len > new_len) {
			unmap(md, task, addr + new_len, old_len - new_len);
			old_len = new_len;
		}
		if (!find_page(p, addr))
			return -EFAULT;	/* a duplicate's target took its source */
		if (flags & M_FIXED) {
			/* get_unmapped_area's security_mmap_addr(): below mmap_min_addr is EPERM */
			if (new_addr < MODEL_MMAP_MIN_ADDR)
				return -EPERM;
			return grown(md, p, move(md, p, addr, old_len, new_len, new_addr, flags & M_DONTUNMAP), old_len,
				     new_len);
		}
		hint = new_addr;
		/* A free hint below mmap_min_addr is what get_unmapped_area returns, then refuses. */
		if (hint && hint < MODEL_MMAP_MIN_ADDR && hint <= MODEL_TASK_SIZE - new_len &&
		    free_range(p, hint, hint + new_len))
			return -EPERM;
	} else {
		/* mremap_at() */
		if (new_len == old_len)
			return (long)addr;
		if (new_len < old_len) {
			unmap(md, task, addr + new_len, old_len - new_len);
			return (long)addr;
		}
		/* In place if the space after is free (then the range surely ends its VMA). */
		if (old_len && addr + new_len <= MODEL_TASK_SIZE && free_range(p, addr + old_len, addr + new_len))
			return grown(md, p, grow_in_place(md, p, addr + old_len, new_len - old_len) ? -ENOMEM : (long)addr,
				     old_len, new_len);
		if (!(flags & M_MAYMOVE))
			return -ENOMEM;
	}
	if (new_len > MODEL_TASK_SIZE - MODEL_MMAP_MIN_ADDR)
		return -ENOMEM;	/* no range that long anywhere */
	if ((*why = bad_choice(p, got, hint, new_len)))
		return 0;
	return grown(md, p, move(md, p, addr, old_len, new_len, (uint64_t)got, flags & M_DONTUNMAP), old_len, new_len);
}
