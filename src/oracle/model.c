/*
 * model.c - the reference model (see model.h).
 *
 * Deliberately naive: a process is a sorted array of mapped pages, each with
 * its own copy of the bytes.  No page tables, no sharing, no VMAs: if the
 * implementation and this disagree, the implementation is the suspect.
 * Nothing here includes the implementation's headers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "oracle/model_internal.h"

void page_forget(struct mpage *pg)
{
	free(pg->data);
	free(pg->alt);
	free(pg->tags);
	free(pg->alt_tags);
	free(pg->unk);
	free(pg->was);
	pg->data = pg->alt = pg->tags = pg->alt_tags = pg->unk = pg->was = NULL;
	pg->flags &= ~(MP_LAZYFREE | MP_COW | MP_SOFTDIRTY | MP_SD_UNSURE);	/* the pte is none now */
}

/* The page is its alternative (dropped before the writes since MADV_FREE). */
static void page_adopt_alt(struct mpage *pg)
{
	free(pg->data);
	free(pg->tags);
	pg->data = pg->alt;
	pg->tags = pg->alt_tags;
	pg->alt = pg->alt_tags = NULL;
}

/* The page is what data and tags say: the alternative is gone. */
static void page_drop_alt(struct mpage *pg)
{
	free(pg->alt);
	free(pg->alt_tags);
	pg->alt = pg->alt_tags = NULL;
}

static uint8_t *dup_page_part(const uint8_t *p, size_t n, bool *oom)
{
	uint8_t *d;

	if (!p)
		return NULL;
	d = malloc(n);
	if (d)
		memcpy(d, p, n);
	else
		*oom = true;
	return d;
}

struct model *model_new(void)
{
	return calloc(1, sizeof(struct model));
}

/* The process is gone: its pages and descriptors let go of their files. */
static void proc_clear(struct model *md, struct mproc *p)
{
	for (size_t i = 0; i < p->n; i++) {
		page_forget(&p->pages[i]);
		page_unref_file(md, &p->pages[i]);
	}
	free(p->pages);
	p->pages = NULL;
	p->n = p->cap = 0;
	fds_close_all(md, p);
}

void model_free(struct model *md)
{
	if (!md)
		return;
	for (int i = 0; i < md->nprocs; i++)
		proc_clear(md, &md->procs[i]);
	model_files_free(md);
	for (int i = 0; i < md->npins; i++)
		model_unpin(md, i);
	free(md->pins);
	idset_free(&md->live_pins);
	free(md->procs);
	free(md->task_proc);
	free(md->dev_proc);
	free(md);
}

static bool grow(void **arr, size_t elem, size_t need, size_t *cap)
{
	size_t ncap = *cap ? *cap : 8;
	void *n;

	if (need <= *cap)
		return true;
	while (ncap < need)
		ncap *= 2;
	n = realloc(*arr, ncap * elem);
	if (!n)
		return false;
	*arr = n;
	*cap = ncap;
	return true;
}

static bool set_task(struct model *md, int task, int proc)
{
	if (task < 0)
		return false;
	if (task >= md->ntasks) {
		int *n = realloc(md->task_proc, (size_t)(task + 1) * sizeof(*n));

		if (!n)
			return false;
		for (int i = md->ntasks; i <= task; i++)
			n[i] = -1;
		md->task_proc = n;
		md->ntasks = task + 1;
	}
	md->task_proc[task] = proc;
	return true;
}

bool model_task_alive(const struct model *md, int task)
{
	return task_proc(md, task) != NULL;
}

int model_nr_processes(const struct model *md)
{
	int n = 0;

	for (int i = 0; i < md->nprocs; i++)
		n += md->procs[i].alive;
	return n;
}

static int new_proc(struct model *md)
{
	struct mproc *n = realloc(md->procs, (size_t)(md->nprocs + 1) * sizeof(*n));

	if (!n)
		return -1;
	md->procs = n;
	memset(&md->procs[md->nprocs], 0, sizeof(struct mproc));
	md->procs[md->nprocs].alive = true;
	md->procs[md->nprocs].threads = 1;
	md->procs[md->nprocs].memlock = md->procs[md->nprocs].memlock_max = MODEL_MEMLOCK;
	return md->nprocs++;
}

void detach_pins(struct model *md, const struct mproc *p, uint64_t start, uint64_t end)
{
	int proc = (int)(p - md->procs);

	struct mpin *pn;

	for_each_live_pin(md, i, pn) {

		if (!pn->alive || pn->proc != proc)
			continue;
		for (uint64_t k = 0; k < pn->npages; k++) {
			uint64_t a = pin_page_addr(pn, k);

			/* What the model could not promise before, it cannot now. */
			if (a < end && start < a + MODEL_PAGE && pn->state[k] == PIN_ATTACHED)
				pn->state[k] = PIN_DETACHED;
		}
	}
}

int model_spawn(struct model *md, int task)
{
	int p = new_proc(md);

	if (p < 0 || !set_task(md, task, p))
		return -ENOMEM;
	return 0;
}

int model_thread(struct model *md, int task, int new_task)
{
	struct mproc *p = task_proc(md, task);

	if (!p || !set_task(md, new_task, md->task_proc[task]))
		return -ESRCH;
	p->threads++;
	return 0;
}

int model_fork(struct model *md, int task, int child_task)
{
	struct mproc *parent = task_proc(md, task), *child;
	int c;

	if (!parent)
		return -ESRCH;
	c = new_proc(md);
	if (c < 0)
		return -ENOMEM;
	parent = task_proc(md, task);	/* procs may have moved */
	child = &md->procs[c];
	if (fds_copy(md, child, parent))
		return -ENOMEM;
	/* The limit is inherited; locks and mlockall(MCL_FUTURE) are not. */
	child->memlock = parent->memlock;
	child->memlock_max = parent->memlock_max;
	child->merge_any = parent->merge_any;	/* MMF_VM_MERGE_ANY is in MMF_INIT_MASK */
	for (size_t i = 0; i < parent->n; i++) {
		struct mpage pg = parent->pages[i];

		if (pg.flags & MP_DONTFORK)
			continue;
		pg.flags &= ~(MP_DEVICE_HELD | MP_LOCKED | MP_LOCKONFAULT);	/* the parent's device, never the child's */
		/* No EVENT_FORK: the child is not registered; which ptes it got depends on the anon_vma. */
		pg.flags &= ~MP_UF_ALL;
		/* A shared page, or a private one not written yet, is the file's: nothing to copy. */
		/* A VM_WIPEONFORK range starts empty in the child: no guard either (6.18). */
		if (pg.flags & MP_WIPEONFORK)
			pg.flags &= ~MP_GUARD;
		if ((pg.flags & MP_WIPEONFORK) || (!pg.data && !pg.alt) || page_file_view(&pg)) {
			pg.data = pg.alt = pg.tags = pg.alt_tags = pg.unk = pg.was = NULL;
			pg.flags &= ~(MP_LAZYFREE | MP_COW | MP_SOFTDIRTY);
		} else {
			bool oom = false;

			pg.data = dup_page_part(pg.data, MODEL_PAGE, &oom);
			pg.alt = dup_page_part(pg.alt, MODEL_PAGE, &oom);
			pg.tags = dup_page_part(pg.tags, MODEL_GRANULES, &oom);
			pg.alt_tags = dup_page_part(pg.alt_tags, MODEL_GRANULES, &oom);
			pg.unk = dup_page_part(pg.unk, MODEL_PAGE / 8, &oom);
			pg.was = dup_page_part(pg.was, MODEL_PAGE, &oom);
			if (oom) {
				page_forget(&pg);
				return -ENOMEM;
			}
		}
		if (!grow((void **)&child->pages, sizeof(pg), child->n + 1, &child->cap))
			return -ENOMEM;
		child->pages[child->n++] = pg;
		page_ref_file(md, &pg);
	}
	return set_task(md, child_task, c) ? 0 : -ENOMEM;
}

int model_exit(struct model *md, int task)
{
	struct mproc *p = task_proc(md, task);

	if (!p)
		return -ESRCH;
	md->task_proc[task] = -1;
	if (--p->threads == 0) {
		p->alive = false;
		detach_pins(md, p, 0, MODEL_TASK_SIZE);
		proc_clear(md, p);
	}
	return 0;
}

bool model_mapped(const struct model *md, int task, uint64_t addr, uint64_t len)
{
	struct mproc *p = task_proc(md, task);
	uint64_t a = addr & ~(MODEL_PAGE - 1);

	if (!p)
		return false;
	for (; a < addr + len; a += MODEL_PAGE)
		if (!find_page(p, a))
			return false;
	return true;
}

/* Forget every page in [start, end). */
static void unmap_range(struct model *md, struct mproc *p, uint64_t start, uint64_t end)
{
	size_t i = lower_bound(p, start), j = i;

	for (; j < p->n && p->pages[j].addr < end; j++) {
		page_forget(&p->pages[j]);
		page_unref_file(md, &p->pages[j]);
	}
	if (j == i)
		return;
	memmove(&p->pages[i], &p->pages[j], (p->n - j) * sizeof(*p->pages));
	p->n -= j - i;
}

static bool range_is_free(const struct mproc *p, uint64_t start, uint64_t end)
{
	size_t i = lower_bound(p, start);

	return i >= p->n || p->pages[i].addr >= end;
}

static int map_range(struct model *md, struct mproc *p, uint64_t start, uint64_t end, int prot)
{
	size_t i, n = (end - start) / MODEL_PAGE;

	unmap_range(md, p, start, end);
	if (!grow((void **)&p->pages, sizeof(*p->pages), p->n + n, &p->cap))
		return -ENOMEM;
	i = lower_bound(p, start);
	if (p->n > i)
		memmove(&p->pages[i + n], &p->pages[i], (p->n - i) * sizeof(*p->pages));
	for (size_t k = 0; k < n; k++)
		p->pages[i + k] = (struct mpage){ .addr = start + k * MODEL_PAGE, .prot = prot };
	p->n += n;
	return 0;
}

static uint64_t page_round_up(uint64_t len, bool *overflow)
{
	uint64_t r = (len + MODEL_PAGE - 1) & ~(MODEL_PAGE - 1);

	*overflow = r < len;
	return r;
}

long model_mmap(struct model *md, int task, uint64_t addr, uint64_t len, int prot, int flags,
		int fd, int64_t off, long got, const char **why)
{
	struct mproc *p = task_proc(md, task);
	bool fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE), overflow;
	uint64_t start;
	unsigned pflags;
	int file;
	long r;

	*why = NULL;
	if (!p)
		return -ESRCH;
	if (off & (MODEL_PAGE - 1))
		return -EINVAL;
	if (!(flags & MAP_ANONYMOUS) && !model_fd_open(md, task, fd))
		return -EBADF;
	if (!len)
		return -EINVAL;
	len = page_round_up(len, &overflow);
	if (overflow || len > MODEL_TASK_SIZE - MODEL_MMAP_MIN_ADDR)
		return -ENOMEM;
	if (fixed) {
		if (addr > MODEL_TASK_SIZE - len)
			return -ENOMEM;
		if (addr & (MODEL_PAGE - 1))
			return -EINVAL;
		if (addr < MODEL_MMAP_MIN_ADDR)
			return -EPERM;
		if ((flags & MAP_FIXED_NOREPLACE) && !range_is_free(p, addr, addr + len))
			return -EEXIST;
	}
	/* mlockall(MCL_FUTURE) locks it: within the limit (mlock_future_ok) */
	if ((p->def_flags & MP_LOCKED) && !model_mlock_ok(p, len / MODEL_PAGE))
		return -EAGAIN;
	/* Anonymous or not, shared or private; what only a file can refuse (EACCES, EPERM for seals). */
	if ((r = mmap_file_check(md, p, prot, flags, fd, off, &pflags, &file)))
		return r;
	if (!(flags & MAP_ANONYMOUS) && (off < 0 || (uint64_t)off > (uint64_t)INT64_MAX - len))
		return -EOVERFLOW;	/* file_mmap_ok */

	if (fixed) {
		start = addr;
	} else {
		uint64_t hint = addr & ~(MODEL_PAGE - 1);

		if (hint && hint < MODEL_MMAP_MIN_ADDR)
			hint = MODEL_MMAP_MIN_ADDR;
		/* The kernel's choice, within the rules. */
		if (got < 0) {
			*why = "mmap failed where a free range exists";
			return 0;
		}
		start = (uint64_t)got;
		if (start & (MODEL_PAGE - 1) || start < MODEL_MMAP_MIN_ADDR || start > MODEL_TASK_SIZE - len) {
			*why = "mmap chose an address outside the user address space";
			return 0;
		}
		if (!range_is_free(p, start, start + len)) {
			*why = "mmap chose a range that overlaps an existing mapping";
			return 0;
		}
		if (hint && hint <= MODEL_TASK_SIZE - len && range_is_free(p, hint, hint + len) &&
		    start != hint) {
			*why = "mmap ignored a hint whose range is free";
			return 0;
		}
	}
	detach_pins(md, p, start, start + len);
	if (map_range(md, p, start, start + len, prot & (PROT_READ | PROT_WRITE | PROT_EXEC | MODEL_PROT_MTE)))
		return -ENOMEM;
	if ((file || (pflags & MP_SHARED)) &&
	    mmap_file_pages(md, p, start, len, prot, flags, (flags & MAP_ANONYMOUS) ? 0 : off, pflags, file))
		return -ENOMEM;
	commit_mmap_pages(md, p, start, len, prot, flags);
	if (p->def_flags) {
		for (size_t i = lower_bound(p, start); i < p->n && p->pages[i].addr < start + len; i++)
			p->pages[i].flags |= p->def_flags;
		if (model_populate(md, p, start, start + len, true))
			return -ENOMEM;
	}
	return (long)start;
}

int model_munmap(struct model *md, int task, uint64_t addr, uint64_t len)
{
	struct mproc *p = task_proc(md, task);
	bool overflow;

	if (!p)
		return -ESRCH;
	if ((addr & (MODEL_PAGE - 1)) || addr > MODEL_TASK_SIZE || len > MODEL_TASK_SIZE - addr)
		return -EINVAL;
	len = page_round_up(len, &overflow);
	if (!len)
		return -EINVAL;
	detach_pins(md, p, addr, addr + len);
	unmap_range(md, p, addr, addr + len);
	return 0;
}

int model_mprotect(struct model *md, int task, uint64_t addr, uint64_t len, int prot)
{
	struct mproc *p = task_proc(md, task);
	bool overflow;
	uint64_t end, a;
	int old;

	if (!p)
		return -ESRCH;
	if (addr & (MODEL_PAGE - 1))
		return -EINVAL;
	if (!len)
		return 0;
	len = page_round_up(len, &overflow);
	end = addr + len;
	if (overflow || end <= addr)
		return -ENOMEM;
	if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | 0x8 | MODEL_PROT_MTE))
		return -EINVAL;
	/*
	 * Pages up to the first hole change; a hole makes it ENOMEM, and so
	 * do a file's refusals (EACCES, EINVAL) stop it there.  PROT_MTE,
	 * once set, stays.
	 */
	for (a = addr; a < end; a += MODEL_PAGE) {
		struct mpage *pg = find_page(p, a);
		int r;

		if (!pg)
			return -ENOMEM;
		if ((r = mprotect_file_check(md, pg, prot)))
			return r;
		commit_mprotect_page(pg, prot);
		old = pg->prot;
		pg->prot = (prot & (PROT_READ | PROT_WRITE | PROT_EXEC | MODEL_PROT_MTE)) | (pg->prot & MODEL_PROT_MTE);
		/*
		 * change_protection invalidated the device -- where the VMA's flags
		 * changed: mprotect_fixup leaves a VMA whose flags stay as it is
		 * (and one that only drops VM_ACCOUNT, which the model may not know,
		 * is left "may hold" too).
		 */
		if (pg->prot != old)
			pg->flags &= ~MP_DEVICE_HELD;
		/* A locked private page made writable is faulted for write at once (copied, if a file's). */
		if ((prot & PROT_WRITE) && !(old & PROT_WRITE) && (pg->flags & (MP_LOCKED | MP_LOCKONFAULT | MP_SHARED)) ==
		    MP_LOCKED && model_populate_page(md, pg) == -ENOMEM)
			return -ENOMEM;
	}
	return 0;
}

/*
 * MADV_GUARD_INSTALL of one page: zapped as by MADV_DONTNEED (a file's
 * own page stays in its file, and a pin of it with it), then guarded.
 */
static void guard_install_page(struct model *md, struct mproc *p, struct mpage *pg)
{
	if (pg->flags & MP_GUARD)
		return;
	if (!pg->file || (pg->flags & MP_COW)) {
		detach_pins(md, p, pg->addr, pg->addr + MODEL_PAGE);
		page_forget(pg);
	}
	pg->flags = (pg->flags & ~(MP_DEVICE_HELD | MP_UF_KNOWN)) | MP_GUARD;
}

static bool advice_known(int advice)
{
	switch (advice) {
	case MADV_NORMAL: case MADV_RANDOM: case MADV_SEQUENTIAL: case MADV_WILLNEED:
	case MADV_DONTNEED: case MADV_FREE: case MADV_DONTFORK: case MADV_DOFORK:
	case MADV_WIPEONFORK: case MADV_KEEPONFORK: case MADV_DONTDUMP: case MADV_DODUMP:
	case MADV_POPULATE_READ: case MADV_POPULATE_WRITE: case MADV_REMOVE:
	case MADV_COLD: case MADV_PAGEOUT: case MADV_HUGEPAGE: case MADV_NOHUGEPAGE:
	case MADV_GUARD_INSTALL: case MADV_GUARD_REMOVE:
	case MADV_MERGEABLE: case MADV_UNMERGEABLE:
		return true;
	default:
		return false;
	}
}

int model_madvise(struct model *md, int task, uint64_t addr, uint64_t len, int advice)
{
	struct mproc *p = task_proc(md, task);
	bool overflow, hole = false;
	uint64_t end, a;

	if (!p)
		return -ESRCH;
	if (!advice_known(advice) || (addr & (MODEL_PAGE - 1)))
		return -EINVAL;
	len = page_round_up(len, &overflow);
	if (overflow)
		return -EINVAL;
	end = addr + len;
	if (end < addr)
		return -EINVAL;
	if (end == addr)
		return 0;
	for (a = addr; a < end; a += MODEL_PAGE) {
		struct mpage *pg = find_page(p, a);
		int r;

		if (!pg) {
			/* Populate stops at the first hole; the others go on. */
			if (advice == MADV_POPULATE_READ || advice == MADV_POPULATE_WRITE)
				return -ENOMEM;
			hole = true;
			continue;
		}
		/* Locked memory keeps its pages: what would drop, age or guard them is refused there. */
		if ((pg->flags & MP_LOCKED) && (advice == MADV_DONTNEED || advice == MADV_FREE || advice == MADV_COLD ||
						advice == MADV_PAGEOUT || advice == MADV_REMOVE ||
						advice == MADV_GUARD_INSTALL))
			return -EINVAL;
		/* KSM's advice changes no byte a process can see (model_ksm.c). */
		if (advice == MADV_MERGEABLE || advice == MADV_UNMERGEABLE)
			continue;
		/* Anonymous private memory cannot punch holes; a file's refusal stops the walk. */
		if (advice == MADV_REMOVE && !pg->file)
			return -EINVAL;
		if (advice == MADV_GUARD_INSTALL || advice == MADV_GUARD_REMOVE) {
			if (advice == MADV_GUARD_INSTALL)
				guard_install_page(md, p, pg);
			else
				pg->flags &= ~MP_GUARD;
			continue;
		}
		/* Populating a guard faults on it (SIGSEGV), once the VMA allowed the access. */
		if ((advice == MADV_POPULATE_READ || advice == MADV_POPULATE_WRITE) && (pg->flags & MP_GUARD) &&
		    (pg->prot & (advice == MADV_POPULATE_READ ? PROT_READ : PROT_WRITE)))
			return -EFAULT;
		if (pg->file && (r = madvise_file_page(md, p, pg, advice)) <= 0) {
			if (r < 0)
				return r;
			continue;
		}
		switch (advice) {
		case MADV_DONTNEED:
			detach_pins(md, p, a, a + MODEL_PAGE);
			page_forget(pg);
			/* The pte is none now, and an anon page's protection went with it. */
			pg->flags = (pg->flags & ~(MP_UF_POP | MP_UF_PROT)) | MP_UF_KNOWN;
			break;
		case MADV_FREE:
			/* Reclaim may drop it, until a write: populated and protected or not, who knows. */
			pg->flags = (pg->flags & ~MP_UF_KNOWN) | MP_UF_FREED;
			if (pg->data)
				pg->flags |= MP_LAZYFREE;
			pg->flags &= ~MP_SOFTDIRTY;	/* reclaim may drop it: its pte none */
			break;
		case MADV_DONTFORK:
			pg->flags |= MP_DONTFORK;
			break;
		case MADV_DOFORK:
			pg->flags &= ~MP_DONTFORK;
			break;
		case MADV_WIPEONFORK:
			pg->flags |= MP_WIPEONFORK;
			break;
		case MADV_KEEPONFORK:
			pg->flags &= ~MP_WIPEONFORK;
			break;
		case MADV_HUGEPAGE:
			pg->flags = (pg->flags & ~MP_NOHUGEPAGE) | MP_HUGEPAGE;
			break;
		case MADV_NOHUGEPAGE:
			pg->flags = (pg->flags & ~MP_HUGEPAGE) | MP_NOHUGEPAGE;
			break;
		case MADV_POPULATE_READ:
			if (!(pg->prot & PROT_READ))
				return -EINVAL;
			/* A userfaultfd fault of GUP's never waits: EFAULT (docs/deviations.md). */
			if (uffd_would_fault(pg, false))
				return -EFAULT;
			uffd_populated(pg);
			break;
		case MADV_POPULATE_WRITE:
			if (!(pg->prot & PROT_WRITE))
				return -EINVAL;
			if (uffd_would_fault(pg, true)) {
				uffd_fault_taken(pg);
				return -EFAULT;
			}
			uffd_populated(pg);
			break;
		default:
			break;
		}
	}
	return hole ? -ENOMEM : 0;
}

/*
 * x86 reads anything with an access right; writes need PROT_WRITE.
 * All or nothing: check the whole range first.
 */
static bool accessible(const struct mproc *p, uint64_t addr, uint64_t len, bool write)
{
	uint64_t end = addr + len;

	if (end < addr || end > MODEL_TASK_SIZE)
		return false;
	for (uint64_t a = addr & ~(MODEL_PAGE - 1); a < end; a += MODEL_PAGE) {
		struct mpage *pg = find_page(p, a);

		if (!pg || !(pg->prot & (write ? PROT_WRITE : (PROT_READ | PROT_WRITE | PROT_EXEC))))
			return false;
	}
	return true;
}

/*
 * A load or store of [addr, addr+len): -EFAULT if it is not all
 * accessible (nothing happens then), else the faults page by page: -EIO
 * at the first file page past the end of its file, after the pages
 * before it were faulted in (a store copied the private ones).
 */
static int access_check(struct model *md, struct mproc *p, uint64_t addr, uint64_t len, bool write)
{
	if (!accessible(p, addr, len, write))
		return -EFAULT;
	for (uint64_t a = addr & ~(MODEL_PAGE - 1); a < addr + len; a += MODEL_PAGE) {
		struct mpage *pg = find_page(p, a);
		bool guard = pg->flags & MP_GUARD;
		bool uffd = !guard && uffd_would_fault(pg, write);

		/*
		 * A guard page is SIGSEGV, a file page past its end SIGBUS, so
		 * is a userfaultfd fault (UFFD_FEATURE_SIGBUS): the pages
		 * before were faulted in.
		 */
		if (guard || uffd || file_view_check(md, pg)) {
			if (uffd)
				uffd_fault_taken(pg);
			for (uint64_t b = addr & ~(MODEL_PAGE - 1); b < a; b += MODEL_PAGE) {
				pg = find_page(p, b);
				page_touch(md, pg);
				uffd_populated(pg);
				if (write && page_cow(md, pg))
					return -ENOMEM;
			}
			return guard ? -EFAULT : -EIO;
		}
	}
	for (uint64_t a = addr & ~(MODEL_PAGE - 1); a < addr + len; a += MODEL_PAGE)
		uffd_populated(find_page(p, a));
	return 0;
}

int model_read(struct model *md, int task, uint64_t addr, void *buf, uint64_t len)
{
	struct mproc *p = task_proc(md, task);
	uint8_t *out = buf;
	int r;

	if (!p)
		return -ESRCH;
	if (!len)
		return 0;
	if ((r = access_check(md, p, addr, len, false)))
		return r;
	while (len) {
		struct mpage *pg = find_page(p, addr & ~(MODEL_PAGE - 1));
		uint64_t off = addr & (MODEL_PAGE - 1), n = MODEL_PAGE - off;
		const uint8_t *unk, *data = page_bytes(md, pg, &unk);

		if (n > len)
			n = len;
		page_touch(md, pg);
		if (data)
			memcpy(out, data + off, n);
		else
			memset(out, 0, n);
		out += n;
		addr += n;
		len -= n;
	}
	return 0;
}

void note_owner_write(struct model *md, const struct mproc *p, uint64_t addr, const uint8_t *buf,
		      uint64_t len, bool by_device)
{
	int proc = (int)(p - md->procs);

	struct mpin *pn;

	for_each_live_pin(md, i, pn) {
		uint64_t end = pn->addr + pn->npages * MODEL_PAGE;

		if (!pn->alive || pn->kind != MODEL_GET || pn->proc != proc || pn->hist_lost)
			continue;
		/* Page by page: a write to a page mapped since is not a write to the referenced one. */
		for (uint64_t a = addr > pn->addr ? addr : pn->addr; a < addr + len && a < end;) {
			uint64_t next = (a & ~(MODEL_PAGE - 1)) + MODEL_PAGE, hi;
			bool uniform = true;

			hi = next < addr + len ? next : addr + len;
			if (!by_device && pn->state[(a - pn->addr) / MODEL_PAGE] == PIN_DETACHED) {
				a = next;
				continue;
			}
			for (uint64_t k = a; k < hi; k++)
				uniform &= buf[k - addr] == buf[a - addr];
			if (!uniform || pn->nhist == 256) {
				pn->hist_lost = true;
				break;
			}
			if (pn->nhist == pn->histcap) {
				size_t ncap = pn->histcap ? pn->histcap * 2 : 8;
				struct mhist *n = realloc(pn->hist, ncap * sizeof(*n));

				if (!n) {
					pn->hist_lost = true;
					break;
				}
				pn->hist = n;
				pn->histcap = ncap;
			}
			pn->hist[pn->nhist++] = (struct mhist){ a - pn->addr, hi - a, buf[a - addr] };
			a = next;
		}
	}
}

int page_written(struct mpage *pg)
{
	if (!pg->data) {
		pg->data = calloc(1, MODEL_PAGE);
		if (!pg->data)
			return -ENOMEM;
	}
	if ((pg->flags & MP_LAZYFREE) && !pg->alt) {
		pg->alt = calloc(1, MODEL_PAGE);
		if (!pg->alt)
			return -ENOMEM;
	}
	pg->flags &= ~(MP_LAZYFREE | MP_UF_FREED);
	return 0;
}

int model_write(struct model *md, int task, uint64_t addr, const void *buf, uint64_t len)
{
	struct mproc *p = task_proc(md, task);
	const uint8_t *in = buf;
	int r;

	if (!p)
		return -ESRCH;
	if (!len)
		return 0;
	if ((r = access_check(md, p, addr, len, true)))
		return r;
	note_owner_write(md, p, addr, in, len, false);
	while (len) {
		struct mpage *pg = find_page(p, addr & ~(MODEL_PAGE - 1));
		uint64_t off = addr & (MODEL_PAGE - 1), n = MODEL_PAGE - off;

		if (n > len)
			n = len;
		if (page_store(md, pg, off, in, n))
			return -ENOMEM;
		pg->flags |= MP_SOFTDIRTY;	/* a CPU store: the write fault marks the pte */
		in += n;
		addr += n;
		len -= n;
	}
	return 0;
}

bool model_lazyfree(const struct model *md, int task, uint64_t addr)
{
	struct mproc *p = task_proc(md, task);
	struct mpage *pg = p ? find_page(p, addr & ~(MODEL_PAGE - 1)) : NULL;

	return pg && (pg->flags & MP_LAZYFREE);
}

void model_discard(struct model *md, int task, uint64_t addr)
{
	struct mproc *p = task_proc(md, task);
	struct mpage *pg = p ? find_page(p, addr & ~(MODEL_PAGE - 1)) : NULL;

	if (pg && (pg->flags & MP_LAZYFREE)) {
		detach_pins(md, p, pg->addr, pg->addr + MODEL_PAGE);
		page_forget(pg);
	}
}

bool model_read_alternative(struct model *md, int task, uint64_t addr, const uint8_t *got, uint64_t len)
{
	struct mproc *p = task_proc(md, task);
	struct mpage *pg = p ? find_page(p, addr & ~(MODEL_PAGE - 1)) : NULL;
	uint64_t off = addr & (MODEL_PAGE - 1);
	bool zeros = true;

	if (!pg)
		return false;
	for (uint64_t k = 0; k < len; k++)
		zeros &= got[k] == 0;
	if ((pg->flags & MP_LAZYFREE) && zeros) {
		model_discard(md, task, addr);	/* reclaim dropped it */
		return true;
	}
	if (pg->alt && !memcmp(pg->alt + off, got, len)) {
		/* It was dropped before the write: that is the page now. */
		detach_pins(md, p, pg->addr, pg->addr + MODEL_PAGE);
		page_adopt_alt(pg);
		return true;
	}
	/* A disk file's bytes past its end, which writeback may have zeroed, or a lost writeback's. */
	return page_adopt_unsure(md, pg, off, got, len);
}

void model_resync_page(struct model *md, int task, uint64_t addr, bool mapped, int prot, unsigned flags)
{
	struct mproc *p = task_proc(md, task);
	struct mpage *pg;

	if (!p)
		return;
	addr &= ~(MODEL_PAGE - 1);
	pg = find_page(p, addr);
	if (!mapped) {
		if (pg) {
			detach_pins(md, p, addr, addr + MODEL_PAGE);
			unmap_range(md, p, addr, addr + MODEL_PAGE);
		}
		return;
	}
	if (!pg) {
		if (map_range(md, p, addr, addr + MODEL_PAGE, prot))
			return;
		pg = find_page(p, addr);
	}
	/* A page whose protection stayed was not touched by change_protection: a device keeps it. */
	if (pg->prot != (prot & (PROT_READ | PROT_WRITE | PROT_EXEC | MODEL_PROT_MTE)))
		pg->flags &= ~MP_DEVICE_HELD;
	pg->prot = prot & (PROT_READ | PROT_WRITE | PROT_EXEC | MODEL_PROT_MTE);
	/* A page whose protection stayed was not touched by change_protection: a device keeps it. */
	if (pg->prot != (prot & (PROT_READ | PROT_WRITE | PROT_EXEC | MODEL_PROT_MTE)))
		pg->flags &= ~MP_DEVICE_HELD;
	pg->flags &= ~MP_SOFTDIRTY;	/* what happened to its pte is unknown */
	pg->prot = prot & (PROT_READ | PROT_WRITE | PROT_EXEC | MODEL_PROT_MTE);
	pg->flags = (pg->flags & ~(MP_DONTFORK | MP_WIPEONFORK | MP_HUGEPAGE | MP_NOHUGEPAGE | MP_LOCKED | MP_LOCKONFAULT |
				   MP_COMMIT_FLAGS | MP_UF_REG | MP_UF_KNOWN)) |
		    (flags & (MP_DONTFORK | MP_WIPEONFORK | MP_HUGEPAGE | MP_NOHUGEPAGE | MP_LOCKED | MP_LOCKONFAULT |
			      MP_ACCT | MP_NORESERVE | MP_UF_REG));
}

/* Two pages' tags alike (NULL: all zero). */
static bool tags_equal(const uint8_t *a, const uint8_t *b)
{
	for (unsigned g = 0; g < MODEL_GRANULES; g++)
		if ((a ? a[g] : 0) != (b ? b[g] : 0))
			return false;
	return true;
}

/*
 * One whole page as the library holds it decides between the model's
 * outcomes for it: its bytes and tags (data, tags), zeros plus the writes
 * since (alt, alt_tags), or, while lazily freed, zeros.  got_tags: the
 * page's tags, or NULL if they could not be read; then bytes that fit
 * two outcomes whose tags differ decide nothing yet.  False if it is
 * none of them.
 */
static bool settle_page(struct model *md, struct mproc *p, struct mpage *pg, const uint8_t *got,
			const uint8_t *got_tags)
{
	static const uint8_t zeros[MODEL_PAGE];
	bool d = pg->data && !memcmp(pg->data, got, MODEL_PAGE) && (!got_tags || tags_equal(pg->tags, got_tags));
	bool a = pg->alt && !memcmp(pg->alt, got, MODEL_PAGE) && (!got_tags || tags_equal(pg->alt_tags, got_tags));
	bool z = (pg->flags & MP_LAZYFREE) && !memcmp(zeros, got, MODEL_PAGE) &&
		 (!got_tags || tags_equal(NULL, got_tags));

	if ((d && a && !tags_equal(pg->tags, pg->alt_tags)) || (d && z && !tags_equal(pg->tags, NULL)))
		return true;	/* only the tags tell them apart */
	if (d) {
		page_drop_alt(pg);
	} else if (a) {
		detach_pins(md, p, pg->addr, pg->addr + MODEL_PAGE);	/* dropped before the write */
		page_adopt_alt(pg);
	} else if (z) {
		detach_pins(md, p, pg->addr, pg->addr + MODEL_PAGE);	/* dropped since */
		page_forget(pg);
	} else {
		return false;
	}
	return true;
}

bool model_pin_settle(struct model *md, int id, uint64_t idx, const uint8_t *got)
{
	static const uint8_t zeros[MODEL_PAGE];
	struct mpin *pn = &md->pins[id];
	struct mproc *p = &md->procs[pn->proc];
	struct mpage *pg = find_page(p, pin_page_addr(pn, idx));

	if (pn->kind != MODEL_PIN || !pn->write || !pg || !((pg->flags & MP_LAZYFREE) || pg->alt))
		return true;
	/*
	 * The device sees bytes, not tags: zeros may be the old page, if its
	 * bytes were zero, or a new one (reclaim dropped the old), whose tags
	 * are zero too.  When the old tags are not, the write made both
	 * outcomes for good, the new one as the written page's alternative
	 * (zeros and zero tags), and a tag load tells them apart.
	 */
	if ((pg->flags & MP_LAZYFREE) && !pg->alt && pg->data && !memcmp(pg->data, got, MODEL_PAGE) &&
	    !memcmp(zeros, got, MODEL_PAGE) && !tags_equal(pg->tags, NULL)) {
		if (page_written(pg))
			return false;
		pn->state[idx] = PIN_ATTACHED;
		return true;
	}
	if (!settle_page(md, p, pg, got, NULL))
		return false;
	if (!pg->data && !(pg->data = calloc(1, MODEL_PAGE)))
		return false;	/* dropped: the write GUP faulted in a page of its own */
	pg->flags &= ~(MP_LAZYFREE | MP_UF_FREED);	/* and dirtied it */
	pn->state[idx] = PIN_ATTACHED;
	return true;
}

bool model_undecided(const struct model *md, int task, uint64_t addr)
{
	return model_alternative(md, task, addr) != NULL;
}

const uint8_t *model_alternative(const struct model *md, int task, uint64_t addr)
{
	struct mproc *p = task_proc(md, task);
	struct mpage *pg = p ? find_page(p, addr & ~(MODEL_PAGE - 1)) : NULL;

	return pg ? pg->alt : NULL;
}

bool model_read_settle(struct model *md, int task, uint64_t addr, const uint8_t *got, const uint8_t *got_tags)
{
	struct mproc *p = task_proc(md, task);
	struct mpage *pg = p ? find_page(p, addr & ~(MODEL_PAGE - 1)) : NULL;

	return !pg || settle_page(md, p, pg, got, got_tags);
}

bool model_tag_outcomes(const struct model *md, int task, uint64_t addr, uint8_t *tags, uint8_t *alt_tags)
{
	struct mproc *p = task_proc(md, task);
	struct mpage *pg = p ? find_page(p, addr & ~(MODEL_PAGE - 1)) : NULL;
	const uint8_t *own = pg ? page_tags(md, pg) : NULL, *other = pg && pg->alt ? pg->alt_tags : own;

	for (unsigned g = 0; g < MODEL_GRANULES; g++) {
		tags[g] = own ? own[g] : 0;
		alt_tags[g] = other ? other[g] : 0;
	}
	return pg && pg->alt;
}

bool model_tagged(const struct model *md, int task, uint64_t addr)
{
	struct mproc *p = task_proc(md, task);
	struct mpage *pg = p ? find_page(p, addr & ~(MODEL_PAGE - 1)) : NULL;

	return pg && (pg->prot & MODEL_PROT_MTE);
}

/* ---- tags ------------------------------------------------------------------------ */

/*
 * The page of a tag load or store, or the error: EFAULT as a byte access,
 * EINVAL without tags, then EIO where the fault would raise SIGBUS.
 */
static int tag_page(const struct model *md, int task, uint64_t addr, bool write, struct mpage **out)
{
	struct mproc *p = task_proc(md, task);

	if (!p)
		return -ESRCH;
	if (!accessible(p, addr, 1, write))
		return -EFAULT;
	*out = find_page(p, addr & ~(MODEL_PAGE - 1));
	if (!((*out)->prot & MODEL_PROT_MTE))
		return -EINVAL;
	/* Then the access faults: a userfaultfd's is SIGBUS (UFFD_FEATURE_SIGBUS). */
	if (!((*out)->flags & MP_GUARD) && uffd_would_fault(*out, write)) {
		uffd_fault_taken(*out);
		return -EIO;
	}
	uffd_populated(*out);
	if ((*out)->flags & MP_GUARD)
		return -EFAULT;
	return file_view_check(md, *out);
}

static bool set_granule(uint8_t **tags, unsigned g, unsigned tag)
{
	if (!*tags && !(*tags = calloc(1, MODEL_GRANULES)))
		return false;
	(*tags)[g] = (uint8_t)tag;
	return true;
}

int model_set_tag(struct model *md, int task, uint64_t addr, unsigned tag)
{
	unsigned g = (addr & (MODEL_PAGE - 1)) / 16;
	struct mpage *pg;
	int r;

	if (tag > 15)
		return -EINVAL;
	r = tag_page(md, task, addr, true, &pg);
	if (r)
		return r;
	if (pg->file)
		return page_store_tag(md, pg, g, tag);	/* the file's page, or a private copy of it */
	/* A tag store is a write: the page is the process's own, and wanted again. */
	if (!pg->data && !(pg->data = calloc(1, MODEL_PAGE)))
		return -ENOMEM;
	if ((pg->flags & MP_LAZYFREE) && !pg->alt && !(pg->alt = calloc(1, MODEL_PAGE)))
		return -ENOMEM;
	if (!set_granule(&pg->tags, g, tag) || (pg->alt && !set_granule(&pg->alt_tags, g, tag)))
		return -ENOMEM;
	pg->flags &= ~(MP_LAZYFREE | MP_UF_FREED);
	return 0;
}

int model_get_tag(struct model *md, int task, uint64_t addr, unsigned *tag)
{
	struct mpage *pg;
	int r = tag_page(md, task, addr, false, &pg);

	if (r)
		return r;
	page_touch(md, pg);
	*tag = page_tags(md, pg) ? page_tags(md, pg)[(addr & (MODEL_PAGE - 1)) / 16] : 0;
	return 0;
}

bool model_tag_alternative(struct model *md, int task, uint64_t addr, unsigned got)
{
	struct mproc *p = task_proc(md, task);
	struct mpage *pg = p ? find_page(p, addr & ~(MODEL_PAGE - 1)) : NULL;
	unsigned g = (addr & (MODEL_PAGE - 1)) / 16;

	if (!pg)
		return false;
	if ((pg->flags & MP_LAZYFREE) && got == 0) {
		model_discard(md, task, addr);	/* reclaim dropped it */
		return true;
	}
	if (pg->alt && (pg->alt_tags ? pg->alt_tags[g] : 0) == got) {
		detach_pins(md, p, pg->addr, pg->addr + MODEL_PAGE);
		page_adopt_alt(pg);
		return true;
	}
	return false;
}

void model_dump(const struct model *md, int task, FILE *f)
{
	const struct mproc *p = task_proc(md, task);

	if (!p)
		return;
	for (size_t i = 0; i < p->n;) {
		size_t j = i + 1;

		/* Runs of pages with the same protection and flags, as VMAs would be. */
		while (j < p->n && p->pages[j].addr == p->pages[j - 1].addr + MODEL_PAGE &&
		       p->pages[j].prot == p->pages[i].prot && p->pages[j].flags == p->pages[i].flags &&
		       p->pages[j].file == p->pages[i].file &&
		       (!p->pages[j].file || p->pages[j].pgoff == p->pages[j - 1].pgoff + 1))
			j++;
		fprintf(f, "%08llx-%08llx %c%c%c%s%s%s%s%s%s%s%s", (unsigned long long)p->pages[i].addr,
			(unsigned long long)(p->pages[j - 1].addr + MODEL_PAGE),
			p->pages[i].prot & PROT_READ ? 'r' : '-', p->pages[i].prot & PROT_WRITE ? 'w' : '-',
			p->pages[i].prot & PROT_EXEC ? 'x' : '-', p->pages[i].flags & MP_DONTFORK ? " dc" : "",
			p->pages[i].flags & MP_WIPEONFORK ? " wf" : "", p->pages[i].prot & MODEL_PROT_MTE ? " mt" : "",
			p->pages[i].flags & MP_HUGEPAGE ? " hg" : "", p->pages[i].flags & MP_NOHUGEPAGE ? " nh" : "",
			p->pages[i].flags & MP_LOCKED ? " lo" : "", p->pages[i].flags & MP_LOCKONFAULT ? " lf" : "",
			p->pages[i].flags & MP_LAZYFREE ? " lazyfree" : "");
		/* After everything the layout check compares: which file, where, how (for the reader). */
		if (p->pages[i].file)
			fprintf(f, " file %s@%llu %s", md->files[p->pages[i].file - 1].name,
				(unsigned long long)p->pages[i].pgoff,
				p->pages[i].flags & MP_SHARED ? "shared" : "private");
		fputc('\n', f);
		i = j;
	}
}

size_t model_layout(const struct model *md, int task, struct layout_range *out, size_t max)
{
	const struct mproc *p = task_proc(md, task);
	size_t n = 0;

	if (!p)
		return 0;
	for (size_t i = 0; i < p->n; i++) {
		const struct mpage *pg = &p->pages[i];
		unsigned attr = (pg->prot & PROT_READ ? LAYOUT_R : 0) | (pg->prot & PROT_WRITE ? LAYOUT_W : 0) |
				(pg->prot & PROT_EXEC ? LAYOUT_X : 0) | (pg->flags & MP_DONTFORK ? LAYOUT_DC : 0) |
				(pg->flags & MP_WIPEONFORK ? LAYOUT_WF : 0) |
				(pg->prot & MODEL_PROT_MTE ? LAYOUT_MT : 0) | (pg->flags & MP_HUGEPAGE ? LAYOUT_HG : 0) |
				(pg->flags & MP_NOHUGEPAGE ? LAYOUT_NH : 0) | (pg->flags & MP_LOCKED ? LAYOUT_LO : 0) |
				(pg->flags & MP_LOCKONFAULT ? LAYOUT_LF : 0);

		if (n && n <= max && out[n - 1].end == pg->addr && out[n - 1].attr == attr) {
			out[n - 1].end += MODEL_PAGE;
			continue;
		}
		if (n < max)
			out[n] = (struct layout_range){ pg->addr, pg->addr + MODEL_PAGE, attr };
		n++;
	}
	return n;
}
