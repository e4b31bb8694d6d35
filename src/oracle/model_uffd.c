/*
 * model_uffd.c - userfaultfd in the reference model: what registration,
 * UFFDIO_COPY/ZEROPAGE/WRITEPROTECT and the faults they make must do, on
 * the model's own pages, written from the uapi's documentation and
 * selftests/mm/uffd-unit-tests.c, nothing of the implementation.
 *
 * Rules encoded (Linux 6.18, with UFFD_FEATURE_SIGBUS):
 *   - A load or store of a page of a MISSING registration whose pte is
 *     none faults to the userfaultfd: SIGBUS.  Once populated (by
 *     UFFDIO_COPY or ZEROPAGE, or before registration) it does not.
 *   - A store to a write-protected page (UFFDIO_WRITEPROTECT 1) of a WP
 *     registration is SIGBUS; loads are not.  Protection stays through
 *     swap, mprotect and reclaim; MADV_DONTNEED of anon memory drops it
 *     with the page; unregistering drops it; fork (without EVENT_FORK)
 *     gives the child neither registration nor protection.  Protecting a
 *     none pte protects it only with UFFD_FEATURE_WP_UNPOPULATED (a
 *     marker); a store there is still SIGBUS after the page appears.
 *   - GUP and MADV_POPULATE fault the same way but never wait: -EFAULT.
 *   - UFFDIO_COPY/ZEROPAGE fill pages one by one; the first populated
 *     one stops it (EEXIST), or a guard page, or for ZEROPAGE a uffd-wp
 *     marker; the result is the bytes done, else the error; the range
 *     must lie in one registered VMA (else ENOENT).
 *   - UFFDIO_WRITEPROTECT needs every VMA of the range registered for WP
 *     (else ENOENT); a range with no VMA is ENOENT.
 *   - Registration needs page-aligned, non-empty ranges (EINVAL), some
 *     VMA in them (ENOMEM); a VMA registered with another userfaultfd is
 *     EBUSY (the fuzzer has one a process, so never).
 */
#include <errno.h>
#include <string.h>

#include "oracle/model_internal.h"

#define MODE_MISSING	1
#define MODE_WP		2

bool uffd_would_fault(const struct mpage *pg, bool write)
{
	if ((pg->flags & MP_UF_MISSING) && !(pg->flags & MP_UF_POP))
		return true;
	return write && (pg->flags & MP_UF_WPREG) && (pg->flags & MP_UF_PROT);
}

void uffd_populated(struct mpage *pg)
{
	pg->flags |= MP_UF_POP;
}

/*
 * The faulting page: a MISSING fault leaves it none; a WP fault on a
 * marker first maps the page (protected), then reports.
 */
void uffd_fault_taken(struct mpage *pg)
{
	if (!((pg->flags & MP_UF_MISSING) && !(pg->flags & MP_UF_POP)))
		pg->flags |= MP_UF_POP;
}

static int check_range(uint64_t addr, uint64_t len)
{
	if ((addr & (MODEL_PAGE - 1)) || (len & (MODEL_PAGE - 1)) || !len)
		return -EINVAL;
	if (addr < MODEL_MMAP_MIN_ADDR || addr >= MODEL_TASK_SIZE || len > MODEL_TASK_SIZE - addr)
		return -EINVAL;
	return 0;
}

int model_uffd_new(struct model *md, int task, bool wp_unpopulated)
{
	struct mproc *p = task_proc(md, task);

	if (!p)
		return -ESRCH;
	if (p->uffd)
		return -EBUSY;	/* the fuzzer's rule, not Linux's */
	p->uffd = true;
	p->uffd_wp_unpop = wp_unpopulated;
	return 0;
}

int model_proc_index(const struct model *md, int task)
{
	return task_proc(md, task) ? md->task_proc[task] : -1;
}

bool model_uffd_open(const struct model *md, int task)
{
	struct mproc *p = task_proc(md, task);

	return p && p->uffd;
}

/* Release: every registration goes, with the protection it held. */
int model_uffd_close(struct model *md, int task)
{
	struct mproc *p = task_proc(md, task);

	if (!p || !p->uffd)
		return -EBADF;
	for (size_t i = 0; i < p->n; i++)
		p->pages[i].flags &= ~(MP_UF_REG | MP_UF_PROT);
	p->uffd = false;
	return 0;
}

bool model_uffd_can_register(const struct model *md, int task, uint64_t addr, uint64_t len)
{
	struct mproc *p = task_proc(md, task);

	if (!p || !p->uffd)
		return false;
	for (uint64_t a = addr & ~(MODEL_PAGE - 1); a < addr + len && a >= addr - (addr & (MODEL_PAGE - 1));
	     a += MODEL_PAGE) {
		struct mpage *pg = find_page(p, a);

		if (pg && (pg->file || (pg->flags & (MP_SHARED | MP_GUARD))))
			return false;
	}
	return true;
}

/* Is there a mapped page in [addr, end)? */
static bool any_mapped(const struct mproc *p, uint64_t addr, uint64_t end)
{
	for (uint64_t a = addr; a < end; a += MODEL_PAGE)
		if (find_page(p, a))
			return true;
	return false;
}

int model_uffd_register(struct model *md, int task, uint64_t addr, uint64_t len, uint64_t mode)
{
	struct mproc *p = task_proc(md, task);
	unsigned reg = 0;
	int r;

	if (!p)
		return -ESRCH;
	if (!p->uffd)
		return -EBADF;
	if (!mode || (mode & ~(uint64_t)(MODE_MISSING | MODE_WP)))
		return -EINVAL;
	if ((r = check_range(addr, len)))
		return r;
	if (!any_mapped(p, addr, addr + len))
		return -ENOMEM;
	if (mode & MODE_MISSING)
		reg |= MP_UF_MISSING;
	if (mode & MODE_WP)
		reg |= MP_UF_WPREG;
	for (uint64_t a = addr; a < addr + len; a += MODEL_PAGE) {
		struct mpage *pg = find_page(p, a);

		if (!pg)
			continue;
		/* A VMA that stops being WP loses its bits (mmlab's choice: docs/deviations.md). */
		if (!(reg & MP_UF_WPREG))
			pg->flags &= ~MP_UF_PROT;
		pg->flags = (pg->flags & ~MP_UF_REG) | reg;
	}
	return 0;
}

int model_uffd_unregister(struct model *md, int task, uint64_t addr, uint64_t len)
{
	struct mproc *p = task_proc(md, task);
	int r;

	if (!p)
		return -ESRCH;
	if (!p->uffd)
		return -EBADF;
	if ((r = check_range(addr, len)))
		return r;
	if (!any_mapped(p, addr, addr + len))
		return -ENOMEM;
	for (uint64_t a = addr; a < addr + len; a += MODEL_PAGE) {
		struct mpage *pg = find_page(p, a);

		if (pg)
			pg->flags &= ~(MP_UF_REG | MP_UF_PROT);
	}
	return 0;
}

int model_uffd_writeprotect(struct model *md, int task, uint64_t addr, uint64_t len, bool wp)
{
	struct mproc *p = task_proc(md, task);
	bool any = false;
	int r;

	if (!p)
		return -ESRCH;
	if (!p->uffd)
		return -EBADF;
	if ((r = check_range(addr, len)))
		return r;
	/* Every VMA of the range must be WP-registered: the first that is not stops it (ENOENT). */
	for (uint64_t a = addr; a < addr + len; a += MODEL_PAGE) {
		struct mpage *pg = find_page(p, a);

		if (!pg)
			continue;
		if (!(pg->flags & MP_UF_WPREG))
			return -ENOENT;
		any = true;
		if (pg->flags & MP_GUARD)
			continue;	/* a guard marker stays as it is: any access is SIGSEGV anyway */
		if (!wp)
			pg->flags &= ~MP_UF_PROT;
		else if ((pg->flags & MP_UF_POP) || p->uffd_wp_unpop)
			pg->flags |= MP_UF_PROT;	/* a none pte holds a marker only with WP_UNPOPULATED */
	}
	return any ? 0 : -ENOENT;
}

long model_uffd_fill(struct model *md, int task, uint64_t addr, uint64_t len, uint8_t byte, bool zero, bool wp,
		     long got)
{
	struct mproc *p = task_proc(md, task);
	unsigned reg = 0;
	uint64_t done = 0;
	int r;

	if (!p)
		return -ESRCH;
	if (!p->uffd)
		return -EBADF;
	if ((r = check_range(addr, len)))
		return r;
	/* find_dst_vma(): one VMA, registered, holds the whole range. */
	for (uint64_t a = addr; a < addr + len; a += MODEL_PAGE) {
		struct mpage *pg = find_page(p, a);

		if (!pg || !(pg->flags & MP_UF_REG))
			return -ENOENT;
		if (a == addr)
			reg = pg->flags & MP_UF_REG;
		else if ((pg->flags & MP_UF_REG) != reg)
			return -ENOENT;	/* two VMAs (they would have merged if alike) */
	}
	/* Alike neighbours may still be two VMAs (an anon_vma apart): the model cannot see that. */
	if (got == -ENOENT && len > MODEL_PAGE)
		return -ENOENT;
	if (wp && !(reg & MP_UF_WPREG))
		return -EINVAL;
	for (; done < len; done += MODEL_PAGE) {
		struct mpage *pg = find_page(p, addr + done);

		/*
		 * A none pte or a uffd-wp marker may be filled by a copy; the
		 * zero page goes over a none pte only; a guard marker, or a
		 * page, is there already.
		 */
		if ((pg->flags & (MP_UF_POP | MP_GUARD)) || (zero && (pg->flags & MP_UF_PROT)))
			break;
		if (zero) {
			page_forget(pg);	/* the zero page, read-only */
		} else {
			if (page_written(pg))
				return done ? (long)done : -ENOMEM;
			memset(pg->data, byte, MODEL_PAGE);
			if (pg->alt)
				memset(pg->alt, byte, MODEL_PAGE);
		}
		pg->flags = (pg->flags & ~MP_UF_FREED) | MP_UF_POP | MP_UF_KNOWN;
		if (wp)
			pg->flags |= MP_UF_PROT;
		/* A marker's protection goes with the fill unless asked for again (Linux installs a plain pte). */
		else
			pg->flags &= ~MP_UF_PROT;
	}
	return done ? (long)done : -EEXIST;
}

/* A lazily freed page stays unknown until written: any reclaim may drop it, pageout and pressure too. */
bool model_uffd_unknown(const struct model *md, int task, uint64_t addr)
{
	struct mproc *p = task_proc(md, task);
	struct mpage *pg = p ? find_page(p, addr & ~(MODEL_PAGE - 1)) : NULL;

	return pg && (!(pg->flags & MP_UF_KNOWN) || (pg->flags & (MP_LAZYFREE | MP_UF_FREED)));
}

void model_uffd_learn(struct model *md, int task, uint64_t addr, bool populated, bool wp)
{
	struct mproc *p = task_proc(md, task);
	struct mpage *pg = p ? find_page(p, addr & ~(MODEL_PAGE - 1)) : NULL;

	if (!pg)
		return;
	pg->flags = (pg->flags & ~(MP_UF_POP | MP_UF_PROT | MP_UF_KNOWN)) | (populated ? MP_UF_POP : 0) |
		    (wp && (pg->flags & MP_UF_WPREG) ? MP_UF_PROT : 0) |
		    ((pg->flags & (MP_LAZYFREE | MP_UF_FREED)) ? 0 : MP_UF_KNOWN);
}

int model_uffd_wp_bit(const struct model *md, int task, uint64_t addr)
{
	struct mproc *p = task_proc(md, task);
	struct mpage *pg = p ? find_page(p, addr & ~(MODEL_PAGE - 1)) : NULL;

	if (!pg || !(pg->flags & MP_UF_KNOWN))
		return -1;
	return !!(pg->flags & MP_UF_PROT);
}

void model_uffd_moved(struct model *md, int task, uint64_t addr, uint64_t len)
{
	struct mproc *p = task_proc(md, task);

	if (!p)
		return;
	for (uint64_t a = addr; a < addr + len; a += MODEL_PAGE) {
		struct mpage *pg = find_page(p, a);

		if (pg)
			pg->flags &= ~MP_UF_ALL;
	}
}
