/*
 * model_commit.c - the commit in the reference model: which pages are
 * charged to Committed_AS and what each call asks __vm_enough_memory for
 * (Linux 6.18's rules, see model.h).
 *
 * VM_ACCOUNT belongs to a VMA, and the model has pages: each page carries
 * its VMA's flag.  The one thing the model cannot see is whether a VMA has
 * an anon_vma, which mprotect reads when it takes write away (a VMA never
 * written gives its charge back).  A page holding its own anonymous bytes
 * proves its VMA has one; elsewhere the charge becomes "perhaps", and the
 * counts are ranges: lo what is surely charged, hi what may be.
 */
#include "oracle/model_internal.h"

void model_set_overcommit(struct model *md, int mode)
{
	md->overcommit = mode;
}

/* Its VMA surely has an anon_vma: the page holds anonymous memory of its own (a write made it). */
static bool page_has_anon(const struct mpage *pg)
{
	return !(pg->flags & MP_SHARED) && (pg->data || pg->alt || pg->tags || (pg->flags & MP_COW));
}

/* MAP_NORESERVE counts only outside mode 2 (mmap_region sets VM_NORESERVE then). */
static bool noreserve(const struct model *md, int flags)
{
	return (flags & MAP_NORESERVE) && md->overcommit != 2;
}

/*
 * After mmap_file_pages: accountable_mapping() -- private, writable, not
 * VM_NORESERVE -- makes the new pages VM_ACCOUNT; a shared anonymous
 * mapping's shmem file is charged for its size, or page by page.
 */
void commit_mmap_pages(struct model *md, struct mproc *p, uint64_t start, uint64_t len, int prot, int flags)
{
	bool nr = noreserve(md, flags);
	size_t i = lower_bound(p, start);
	unsigned f;

	if (i >= p->n || p->pages[i].addr >= start + len)
		return;
	f = nr ? MP_NORESERVE : 0;
	if (!(p->pages[i].flags & MP_SHARED) && (prot & PROT_WRITE) && !nr)
		f |= MP_ACCT;
	if ((p->pages[i].flags & MP_SHARED) && (flags & MAP_ANONYMOUS) && p->pages[i].file) {
		struct mfile *mf = &md->files[p->pages[i].file - 1];

		mf->noreserve = nr;
		mf->acct_pages = nr ? 0 : len / MODEL_PAGE;
	}
	for (; i < p->n && p->pages[i].addr < start + len; i++)
		p->pages[i].flags = (p->pages[i].flags & ~MP_COMMIT_FLAGS) | f;
}

/*
 * mprotect_fixup(), before the page takes prot: made writable, a private
 * page with no charge gets one (a "perhaps" one is surely there after);
 * made read-only, an anonymous VMA with no anon_vma gives its charge back.
 */
void commit_mprotect_page(struct mpage *pg, int prot)
{
	if (prot & PROT_WRITE) {
		if (!(pg->prot & PROT_WRITE) && !(pg->flags & (MP_SHARED | MP_NORESERVE)))
			pg->flags = (pg->flags & ~MP_ACCT_MAYBE) | MP_ACCT;
	} else if ((pg->flags & (MP_ACCT | MP_ACCT_MAYBE)) && !pg->file && !page_has_anon(pg)) {
		pg->flags = (pg->flags & ~MP_ACCT) | MP_ACCT_MAYBE;
	}
}

/* The charged pages of p in [start, end): the sure ones count in lo and hi, the perhaps ones in hi. */
static void count_charged(const struct mproc *p, uint64_t start, uint64_t end, int64_t *lo, int64_t *hi)
{
	for (size_t i = lower_bound(p, start); i < p->n && p->pages[i].addr < end; i++) {
		*lo += (p->pages[i].flags & MP_ACCT) != 0;
		*hi += (p->pages[i].flags & (MP_ACCT | MP_ACCT_MAYBE)) != 0;
	}
}

void model_committed(const struct model *md, int64_t *lo, int64_t *hi)
{
	*lo = *hi = 0;
	for (int i = 0; i < md->nprocs; i++)
		if (md->procs[i].alive)
			count_charged(&md->procs[i], 0, MODEL_TASK_SIZE, lo, hi);
	for (int i = 0; i < md->nfiles; i++) {
		const struct mfile *f = &md->files[i];

		if (f->evicted || !fs_is_shmem(f->fs))
			continue;
		*lo += (int64_t)f->acct_pages;
		*hi += (int64_t)f->acct_pages;
		if (!f->noreserve)
			continue;
		/* A page holding bytes was allocated; one only touched perhaps (a read of a hole is not). */
		for (size_t k = 0; k < f->n; k++) {
			*lo += f->pages[k].data != NULL;
			*hi += f->pages[k].touched || f->pages[k].data;
		}
	}
}

uint64_t model_total_vm(const struct model *md, int task)
{
	const struct mproc *p = task_proc(md, task);

	return p ? p->n : 0;
}

void model_charge_mmap(const struct model *md, int task, uint64_t addr, uint64_t len, int prot, int flags,
		       int64_t *lo, int64_t *hi)
{
	const struct mproc *p = task_proc(md, task);
	int64_t pages = (int64_t)((len + MODEL_PAGE - 1) / MODEL_PAGE), rlo = 0, rhi = 0;

	*lo = *hi = 0;
	if (!p || noreserve(md, flags))
		return;
	if ((flags & MAP_TYPE) != MAP_PRIVATE) {
		if (flags & MAP_ANONYMOUS)
			*lo = *hi = pages;	/* shmem_zero_setup's size */
		return;
	}
	if (!(prot & PROT_WRITE))
		return;
	/* The accounted pages a MAP_FIXED mapping replaces pass their charge on. */
	if ((flags & MAP_FIXED) && !(addr & (MODEL_PAGE - 1)))
		count_charged(p, addr, addr + (uint64_t)pages * MODEL_PAGE, &rlo, &rhi);
	*lo = pages - rhi;
	*hi = pages - rlo;
}

void model_charge_mprotect(const struct model *md, int task, uint64_t addr, uint64_t len, int prot,
			   int64_t *lo, int64_t *hi)
{
	const struct mproc *p = task_proc(md, task);

	*lo = *hi = 0;
	if (!p || !(prot & PROT_WRITE) || (addr & (MODEL_PAGE - 1)))
		return;
	for (uint64_t a = addr; a < addr + len; a += MODEL_PAGE) {
		const struct mpage *pg = find_page(p, a);

		if (!pg)
			break;	/* a hole: mprotect stops there */
		if ((pg->prot & PROT_WRITE) || (pg->flags & (MP_SHARED | MP_NORESERVE | MP_ACCT)))
			continue;
		*lo += !(pg->flags & MP_ACCT_MAYBE);
		*hi += 1;
	}
}

void model_charge_fork(const struct model *md, int task, int64_t *lo, int64_t *hi)
{
	const struct mproc *p = task_proc(md, task);

	*lo = *hi = 0;
	for (size_t i = 0; p && i < p->n; i++) {
		if (p->pages[i].flags & MP_DONTFORK)
			continue;
		*lo += (p->pages[i].flags & MP_ACCT) != 0;
		*hi += (p->pages[i].flags & (MP_ACCT | MP_ACCT_MAYBE)) != 0;
	}
}

/*
 * vrm_charge(): an accounted VMA pays for what it grows by, or for the
 * whole new range when it stays where it was (MREMAP_DONTUNMAP).  The
 * target of MREMAP_FIXED is unmapped first: its charge comes off before
 * the new one is asked for, so lo counts it off.
 */
void model_charge_mremap(const struct model *md, int task, uint64_t addr, uint64_t old_len, uint64_t new_len,
			 int flags, uint64_t new_addr, int64_t *lo, int64_t *hi)
{
	const struct mproc *p = task_proc(md, task);
	const struct mpage *pg = p ? find_page(p, addr & ~(MODEL_PAGE - 1)) : NULL;
	int64_t grow, tlo = 0, thi = 0;

	*lo = *hi = 0;
	old_len = (old_len + MODEL_PAGE - 1) & ~(MODEL_PAGE - 1);
	new_len = (new_len + MODEL_PAGE - 1) & ~(MODEL_PAGE - 1);
	if (!pg)
		return;
	if (flags & 4) {		/* MREMAP_DONTUNMAP: each accounted page again */
		count_charged(p, addr, addr + old_len, lo, hi);
	} else if (new_len > old_len) {
		grow = (int64_t)((new_len - old_len) / MODEL_PAGE);
		*lo = (pg->flags & MP_ACCT) ? grow : 0;
		*hi = (pg->flags & (MP_ACCT | MP_ACCT_MAYBE)) ? grow : 0;
	}
	if (flags & 2) {		/* MREMAP_FIXED */
		count_charged(p, new_addr, new_addr + new_len, &tlo, &thi);
		*lo -= thi;
	}
}
