/*
 * dmirror.c - a device with its own MMU mirroring one process, the way
 * Linux's HMM test driver (lib/test_hmm.c) and KVM do it; see dmirror.h.
 *
 * The device's page table is a hash of translations keyed by virtual page
 * (test_hmm.c keeps an xarray of pages).  Access: under the device lock,
 * use the translation, or drop the lock and fault (dmirror_fault: the
 * interval notifier's read_begin, hmm_range_fault under mmap_lock, then
 * under the device lock install only if read_retry says nothing changed).
 * Invalidation: under the device lock, set the sequence and drop the
 * range.  Bytes move under the device lock, so an invalidation returns
 * only once no access is still using the old frame.
 *
 * Besides the interval notifier the device subscribes to the mm the way
 * KVM does (a struct mmu_notifier): reclaim asks it whether a page was
 * used (clear_flush_young), and with MML_DEV_REFAULT it takes back, as
 * soon as an invalidation ends, the translations that invalidation took
 * (a device with work in flight retries at once, as a vCPU spinning on
 * mmu_invalidate_retry does).  Such a retry looks at the pte as it is
 * when invalidate_range_end runs: end must come after the pte changed.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drivers/dmirror.h"
#include "mm/hmm.h"
#include "mm/hooks.h"
#include "mm/mm.h"
#include "mm/pagemap.h"

struct dpte {
	uint64_t vpn;		/* 0: a free slot (page 0 is never mapped) */
	unsigned long pfn;
	unsigned gen;		/* the frame's alloc_gen when mapped: a reuse shows */
	bool write;
	bool exclusive;		/* make_device_exclusive: the CPU holds a device-exclusive entry */
	bool young;		/* used since reclaim last asked */
};

/* MML_DEV_REFAULT: the translations an invalidation took, to take back at its end */
#define DMIRROR_LOST	64

struct mml_device {
	struct mml_machine *machine;	/* (C) */
	struct mm_struct *mm;		/* (C) the mirrored process; the notifiers hold mm_count */
	struct mml_device_head head;	/* on machine->devices, its id, its release */
	unsigned flags;			/* (C) MML_DEV_* */
	struct mmu_interval_notifier notifier;
	struct mmu_notifier mn;		/* young bits; MML_DEV_REFAULT's end */
	struct mutex lock;		/* guards everything below */
	struct dpte *pt;		/* capacity a power of two, at most half full */
	unsigned long cap, n;
	struct dpte lost[DMIRROR_LOST];	/* MML_DEV_REFAULT: taken, not yet back (oldest dropped) */
	unsigned nlost;
	/* BUG_NOTIFY_ASYNC: an invalidation acknowledged but not done yet */
	bool pending;
	uint64_t pending_start, pending_end;
};

/* ---- the device's page table --------------------------------------------------- */

static unsigned long dpt_hash(uint64_t vpn, unsigned long cap)
{
	return (unsigned long)((vpn * 0x9e3779b97f4a7c15ULL) >> 20) & (cap - 1);
}

static struct dpte *dpt_find(struct mml_device *d, uint64_t vpn)
{
	if (!d->cap)
		return NULL;
	for (unsigned long i = dpt_hash(vpn, d->cap);; i = (i + 1) & (d->cap - 1)) {
		if (d->pt[i].vpn == vpn)
			return &d->pt[i];
		if (!d->pt[i].vpn)
			return NULL;
	}
}

static int dpt_grow(struct mml_device *d)
{
	unsigned long cap = d->cap ? d->cap * 2 : 64;
	struct dpte *old = d->pt, *pt = calloc(cap, sizeof(*pt));

	if (!pt)
		return -ENOMEM;
	for (unsigned long i = 0; i < d->cap; i++) {
		unsigned long j;

		if (!old[i].vpn)
			continue;
		for (j = dpt_hash(old[i].vpn, cap); pt[j].vpn; j = (j + 1) & (cap - 1))
			;
		pt[j] = old[i];
	}
	free(old);
	d->pt = pt;
	d->cap = cap;
	return 0;
}

/* The slot for vpn, new or the one it has; NULL if memory runs out. */
static struct dpte *dpt_insert(struct mml_device *d, uint64_t vpn)
{
	struct dpte *e = dpt_find(d, vpn);
	unsigned long i;

	if (e)
		return e;
	if (2 * (d->n + 1) > d->cap && dpt_grow(d))
		return NULL;
	for (i = dpt_hash(vpn, d->cap); d->pt[i].vpn; i = (i + 1) & (d->cap - 1))
		;
	d->pt[i].vpn = vpn;
	d->n++;
	return &d->pt[i];
}

/* Remove slot i, shifting back the entries its probe sequence hid. */
static void dpt_erase(struct mml_device *d, unsigned long i)
{
	unsigned long j = i;

	d->n--;
	for (;;) {
		unsigned long home;

		d->pt[i].vpn = 0;
		do {
			j = (j + 1) & (d->cap - 1);
			if (!d->pt[j].vpn)
				return;
			home = dpt_hash(d->pt[j].vpn, d->cap);
		} while (i <= j ? (i < home && home <= j) : (i < home || home <= j));
		d->pt[i] = d->pt[j];
		i = j;
	}
}

/* Drop translation i; a device that retries keeps a note of it. */
static void dpt_drop(struct mml_device *d, unsigned long i)
{
	if (d->flags & MML_DEV_REFAULT) {
		if (d->nlost == DMIRROR_LOST)
			memmove(d->lost, d->lost + 1, --d->nlost * sizeof(d->lost[0]));
		d->lost[d->nlost++] = d->pt[i];
	}
	dpt_erase(d, i);
}

/* dmirror_do_update(): drop every translation in [start, end). */
static void dpt_zap(struct mml_device *d, uint64_t start, uint64_t end)
{
	uint64_t npages = (end - start) >> PAGE_SHIFT;

	if (npages <= d->cap) {
		for (uint64_t a = start; a < end; a += PAGE_SIZE) {
			struct dpte *e = dpt_find(d, a >> PAGE_SHIFT);

			if (e)
				dpt_drop(d, (unsigned long)(e - d->pt));
		}
		return;
	}
	/* A large range: look at the translations instead of the pages. */
	for (unsigned long i = 0; i < d->cap;) {
		uint64_t a = d->pt[i].vpn << PAGE_SHIFT;

		if (d->pt[i].vpn && a >= start && a < end)
			dpt_drop(d, i);	/* slot i now holds a shifted entry: look again */
		else
			i++;
	}
}

/* ---- the oracle: no access through a translation the process has changed --------- */

const char *device_translation_stale(struct mml_machine *m, const struct device_translation *t, pte_t *ptep)
{
	struct page *page = pfn_to_page(m, t->pfn);
	pte_t pte;

	*ptep = __pte(0);
	if (page_is_free(page))
		return "freed since it was mapped";
	if (READ_ONCE(page->alloc_gen) != t->gen)
		return "reused since it was mapped";
	pte = *ptep = mm_pte_lockless(t->mm, t->addr);
	if (t->exclusive ? !is_device_exclusive_pte(pte) || swp_offset_pfn(pte_to_swp_entry(pte)) != t->pfn
			 : !pte_present(pte) || pte_pfn(pte) != t->pfn)
		return "which the process no longer maps there";
	if (t->write && !t->exclusive && !pte_write(pte))
		return "which the process maps read-only";
	return NULL;
}

/*
 * Called under the device lock with the translation about to be used.
 * An invalidation cannot be half done here: its callback waits for the
 * lock, and the process's pte changes only after the callback returned.
 * False (after the report) if the translation is stale.
 */
static bool dmirror_check_access(struct mml_device *d, const struct dpte *e, uint64_t addr, bool write)
{
	struct device_translation t = {
		.id = d->head.id, .mm = d->mm, .addr = addr & PAGE_MASK, .pfn = e->pfn, .gen = e->gen,
		.write = write, .exclusive = e->exclusive,
	};
	const char *why;
	pte_t pte;

	why = device_translation_stale(d->machine, &t, &pte);
	if (why)
		mml_report(d->machine, "device %d %s %#llx through frame %lu, %s (pte %#llx): an invalidation was missed",
			   d->head.id, write ? "wrote" : "read", (unsigned long long)addr, e->pfn, why,
			   (unsigned long long)pte_val(pte));
	return !why;
}

/* ---- invalidation ------------------------------------------------------------- */

static bool dmirror_interval_invalidate(struct mmu_interval_notifier *mni, const struct mmu_notifier_range *range,
					unsigned long cur_seq)
{
	struct mml_device *d = container_of(mni, struct mml_device, notifier);

	if (mmu_notifier_range_blockable(range)) {
		mutex_lock(&d->lock);
	} else if ((d->flags & MML_DEV_NONBLOCK_FAIL) || !mutex_trylock(&d->lock)) {
		return false;
	}
	if (d->flags & MML_DEV_SLOW) {
		/* Keep accesses waiting on the lock a while: a race window, not a wait for them. */
		struct timespec ts = { 0, 200 * 1000 };

		nanosleep(&ts, NULL);
	}
	mmu_interval_set_seq(mni, cur_seq);
	if (bug_enabled(d->machine, BUG_NOTIFY_ASYNC)) {
		/* The rejected scheme: acknowledge now, stop using the pages later. */
		d->pending_start = d->pending ? min(d->pending_start, range->start) : range->start;
		d->pending_end = d->pending ? max(d->pending_end, range->end) : range->end;
		d->pending = true;
	} else {
		dpt_zap(d, range->start, range->end);
	}
	mutex_unlock(&d->lock);
	return true;
}

static const struct mmu_interval_notifier_ops dmirror_notifier_ops = {
	.invalidate = dmirror_interval_invalidate,
};

/*
 * BUG_NOTIFY_ASYNC only: the invalidations acknowledged earlier are done
 * when the device next takes a fault, as a device that queues them for
 * its own time; until then its old translations keep working.
 */
static void dmirror_catch_up(struct mml_device *d)
{
	if (d->pending) {
		dpt_zap(d, d->pending_start, d->pending_end);
		d->pending = false;
	}
}

/* ---- the mm's other questions: young bits, release, the retry at the end ---------------- */

static struct mml_device *mn_device(struct mmu_notifier *mn)
{
	return container_of(mn, struct mml_device, mn);
}

/* Did the device use a page of [start, end) since the last time reclaim asked? */
static int dmirror_young(struct mml_device *d, uint64_t start, uint64_t end, bool clear)
{
	int young = 0;

	mutex_lock(&d->lock);
	for (uint64_t a = start; a < end; a += PAGE_SIZE) {
		struct dpte *e = dpt_find(d, a >> PAGE_SHIFT);

		if (e && e->young) {
			young = 1;
			if (clear)
				e->young = false;
		}
	}
	mutex_unlock(&d->lock);
	return young;
}

static int dmirror_clear_flush_young(struct mmu_notifier *mn, struct mm_struct *mm, uint64_t start,
				     uint64_t end)
{
	return dmirror_young(mn_device(mn), start, end, true);
}

static int dmirror_test_young(struct mmu_notifier *mn, struct mm_struct *mm, uint64_t start, uint64_t end)
{
	return dmirror_young(mn_device(mn), start, end, false);
}

/* exit_mmap: nothing of the mm may be used from now on, nor taken back. */
static void dmirror_release_mm(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct mml_device *d = mn_device(mn);

	mutex_lock(&d->lock);
	dpt_zap(d, 0, TASK_SIZE);
	d->nlost = 0;
	mutex_unlock(&d->lock);
}

/*
 * MML_DEV_REFAULT: the retry of one lost translation, from the pte as it
 * is now.  It may not fault (a notifier callback runs under whatever mm
 * lock its caller holds), so it takes only a present pte, and only where
 * a fault of its own would have been allowed: the VMA must let a device
 * read (HMM's VM_READ) and, for a write translation, write -- looked at
 * under a trylock of mmap_lock, which the caller may hold for write (then
 * no retry: munmap and mprotect leave nothing worth retrying for long).
 * The sequence count protects the look as it protects dmirror_fault.
 */
static void dmirror_retranslate(struct mml_device *d, const struct dpte *old)
{
	uint64_t addr = old->vpn << PAGE_SHIFT;
	struct mm_struct *mm = d->mm;
	struct vm_area_struct *vma;
	bool readable, writable;
	unsigned long seq;
	struct dpte *e;
	pte_t pte;

	if (!mmu_interval_try_read_begin(&d->notifier, &seq))
		return;		/* another invalidation: its own end retries */
	if (!down_read_trylock(&mm->mmap_lock))
		return;
	vma = vma_lookup(mm, addr);
	readable = vma && (vma->vm_flags & VM_READ) && !(vma->vm_flags & (VM_IO | VM_PFNMAP));
	writable = readable && (vma->vm_flags & VM_WRITE);
	pte = mm_pte_lockless(mm, addr);
	up_read(&mm->mmap_lock);
	if (!readable || !pte_present(pte) || !pte_access_permitted(pte, false))
		return;
	mutex_lock(&d->lock);
	if (!mmu_interval_read_retry(&d->notifier, seq) && (e = dpt_insert(d, old->vpn))) {
		e->pfn = pte_pfn(pte);
		e->gen = READ_ONCE(pfn_to_page(d->machine, e->pfn)->alloc_gen);
		e->write = old->write && writable && pte_access_permitted(pte, true);
		e->exclusive = false;
		e->young = true;
	}
	mutex_unlock(&d->lock);
}

static void dmirror_invalidate_end(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	struct mml_device *d = mn_device(mn);
	struct dpte retry[DMIRROR_LOST];
	unsigned n = 0;

	/*
	 * Not inside a non-blockable invalidation (the OOM reaper's): its end
	 * may not sleep, and the retry takes the device's mutex.
	 */
	if (!(d->flags & MML_DEV_REFAULT) || !mmu_notifier_range_blockable(range))
		return;
	mutex_lock(&d->lock);
	for (unsigned i = 0; i < d->nlost;) {
		uint64_t a = d->lost[i].vpn << PAGE_SHIFT;

		if (a >= range->start && a < range->end) {
			retry[n++] = d->lost[i];
			d->lost[i] = d->lost[--d->nlost];
		} else {
			i++;
		}
	}
	mutex_unlock(&d->lock);
	for (unsigned i = 0; i < n; i++)
		dmirror_retranslate(d, &retry[i]);
}

static const struct mmu_notifier_ops dmirror_mm_ops = {
	.release = dmirror_release_mm,
	.clear_flush_young = dmirror_clear_flush_young,
	.test_young = dmirror_test_young,
	.invalidate_range_end = dmirror_invalidate_end,
};

/* ---- faults --------------------------------------------------------------------- */

/*
 * dmirror_fault(): a translation of the page at addr (writable if write),
 * as test_hmm.c's dmirror_range_fault: look at the CPU page table (faulting
 * it in), then install under the device lock unless an invalidation ran.
 */
static int dmirror_fault(struct mml_device *d, uint64_t addr, bool write)
{
	struct mm_struct *mm = d->mm;
	unsigned long hmm_pfn;
	struct hmm_range range = {
		.notifier = &d->notifier,
		.start = addr,
		.end = addr + PAGE_SIZE,
		.hmm_pfns = &hmm_pfn,
		.default_flags = HMM_PFN_REQ_FAULT | (write ? HMM_PFN_REQ_WRITE : 0),
	};
	int ret;

	if (!mmget_not_zero(mm))
		return -EINVAL;		/* the process is gone */
	for (;;) {
		struct dpte *e;

		range.notifier_seq = mmu_interval_read_begin(&d->notifier);
		down_read(&mm->mmap_lock);
		ret = hmm_range_fault(&range);
		up_read(&mm->mmap_lock);
		if (ret == -EBUSY)
			continue;
		if (ret)
			break;
		mutex_lock(&d->lock);
		if (mmu_interval_read_retry(&d->notifier, range.notifier_seq)) {
			mutex_unlock(&d->lock);
			continue;
		}
		dmirror_catch_up(d);
		e = dpt_insert(d, addr >> PAGE_SHIFT);
		if (e) {
			e->pfn = hmm_pfn_to_pfn(hmm_pfn);
			e->gen = READ_ONCE(pfn_to_page(d->machine, e->pfn)->alloc_gen);
			e->write = hmm_pfn & HMM_PFN_WRITE;
			e->exclusive = false;
			e->young = true;
		}
		mutex_unlock(&d->lock);
		ret = e ? 0 : -ENOMEM;
		break;
	}
	mmput(mm);
	return ret;
}

/* ---- accesses --------------------------------------------------------------------- */

static int dmirror_access(struct mml_device *d, uint64_t addr, void *buf, uint64_t len, bool write)
{
	struct mml_machine *m = d->machine;
	uint64_t end = addr + len;
	char *b = buf;
	int ret = 0;

	if (end < addr || end > TASK_SIZE)
		return -EFAULT;
	op_enter(m, NULL);
	while (addr < end && !ret) {
		uint64_t next = min((addr & PAGE_MASK) + PAGE_SIZE, end);
		struct dpte *e;

		mutex_lock(&d->lock);
		e = dpt_find(d, addr >> PAGE_SHIFT);
		if (e && (!write || e->write)) {
			char *frame = pfn_to_virt(m, e->pfn);

			bool valid = dmirror_check_access(d, e, addr, write);

			if (write) {
				struct folio *folio = page_folio(pfn_to_page(m, e->pfn));

				/*
				 * A stale translation was reported; its write does not
				 * land, or the frame (free, or some page table now)
				 * would wreck the machine before the run can be shrunk.
				 * A valid one dirties the folio as the CPU dirties its
				 * pte: reclaim must not drop the page as clean (a
				 * swap-cache copy, MADV_FREE).
				 */
				if (valid) {
					page_data_copy(frame + (addr & ~PAGE_MASK), b, next - addr);
					if (!folio_test_dirty(folio))
						folio_mark_dirty(folio);
				}
			} else {
				page_data_copy(b, frame + (addr & ~PAGE_MASK), next - addr);
			}
			e->young = true;
			mutex_unlock(&d->lock);
			b += next - addr;
			addr = next;
			continue;
		}
		mutex_unlock(&d->lock);
		ret = dmirror_fault(d, addr & PAGE_MASK, write);
	}
	return (int)op_exit(m, ret);
}

int mml_device_read(struct mml_device *d, uint64_t addr, void *buf, uint64_t len)
{
	return dmirror_access(d, addr, buf, len, false);
}

int mml_device_write(struct mml_device *d, uint64_t addr, const void *buf, uint64_t len)
{
	/* The device only reads from buf on a write. */
	return dmirror_access(d, addr, (void *)buf, len, true);
}

int mml_device_mapped(struct mml_device *d, uint64_t addr)
{
	int mapped;

	mutex_lock(&d->lock);
	mapped = dpt_find(d, addr >> PAGE_SHIFT) != NULL;
	mutex_unlock(&d->lock);
	return mapped;
}

/* dmirror_mkentry(): HMM_DMIRROR_SNAPSHOT's byte for one page. */
static unsigned char snapshot_state(struct mml_machine *m, unsigned long hmm_pfn)
{
	unsigned char perm;

	if (hmm_pfn & HMM_PFN_ERROR)
		return MML_DEV_SNAP_ERROR;
	if (!(hmm_pfn & HMM_PFN_VALID))
		return MML_DEV_SNAP_NONE;
	perm = is_zero_pfn(m, hmm_pfn_to_pfn(hmm_pfn)) ? MML_DEV_SNAP_ZERO : 0;
	return perm | ((hmm_pfn & HMM_PFN_WRITE) ? MML_DEV_SNAP_WRITE : MML_DEV_SNAP_READ);
}

long mml_device_snapshot(struct mml_device *d, uint64_t addr, uint64_t npages, unsigned char *state)
{
	struct mml_machine *m = d->machine;
	struct mm_struct *mm = d->mm;
	struct hmm_range range = {
		.notifier = &d->notifier,
		.start = addr,
		.end = addr + (npages << PAGE_SHIFT),
	};
	long ret;

	if ((addr & ~PAGE_MASK) || !npages || npages > (TASK_SIZE >> PAGE_SHIFT) || range.end > TASK_SIZE)
		return -EINVAL;
	range.hmm_pfns = calloc(npages, sizeof(*range.hmm_pfns));
	if (!range.hmm_pfns)
		return -ENOMEM;
	op_enter(m, NULL);
	if (!mmget_not_zero(mm)) {
		free(range.hmm_pfns);
		return op_exit(m, -EINVAL);
	}
	do {
		range.notifier_seq = mmu_interval_read_begin(&d->notifier);
		down_read(&mm->mmap_lock);
		ret = hmm_range_fault(&range);
		up_read(&mm->mmap_lock);
	} while (ret == -EBUSY);
	if (!ret) {
		for (uint64_t i = 0; i < npages; i++)
			state[i] = snapshot_state(m, range.hmm_pfns[i]);
		ret = (long)npages;
	}
	mmput(mm);
	free(range.hmm_pfns);
	return op_exit(m, ret);
}

/*
 * dmirror_exclusive(): each page becomes the device's for atomics; its
 * translation is installed while the folio is still locked, so that the
 * CPU's way back (which locks the folio first) cannot slip in between.
 */
int mml_device_make_exclusive(struct mml_device *d, uint64_t addr, uint64_t npages)
{
	struct mml_machine *m = d->machine;
	struct mm_struct *mm = d->mm;
	uint64_t end = addr + (npages << PAGE_SHIFT);
	int ret = 0;

	if ((addr & ~PAGE_MASK) || !npages || npages > (TASK_SIZE >> PAGE_SHIFT) || end > TASK_SIZE)
		return -EINVAL;
	op_enter(m, NULL);
	if (!mmget_not_zero(mm))
		return (int)op_exit(m, -EINVAL);
	down_read(&mm->mmap_lock);
	for (; addr < end && !ret; addr += PAGE_SIZE) {
		struct folio *folio;
		struct page *page;
		struct dpte *e;

		/*
		 * No owner, as test_hmm.c: its own event drops the normal
		 * translation it may hold; the exclusive one goes in below,
		 * while the folio lock keeps the CPU from taking it back.
		 */
		ret = make_device_exclusive(mm, addr, NULL, &page);
		if (ret)
			break;
		folio = page_folio(page);
		mutex_lock(&d->lock);
		e = dpt_insert(d, addr >> PAGE_SHIFT);
		if (e) {
			e->pfn = page_to_pfn(m, page);
			e->gen = READ_ONCE(page->alloc_gen);
			e->write = true;
			e->exclusive = true;
			e->young = true;
		} else {
			ret = -ENOMEM;	/* the CPU's next touch gives the page back */
		}
		mutex_unlock(&d->lock);
		folio_unlock(folio);
		folio_put(m, folio);
	}
	up_read(&mm->mmap_lock);
	mmput(mm);
	return (int)op_exit(m, ret);
}

/* ---- attach and detach --------------------------------------------------------------- */

static void dmirror_free(struct mml_device *d)
{
	struct mml_machine *m = d->machine;

	mmu_notifier_unregister(&d->mn, d->mm);
	mmu_interval_notifier_remove(&d->notifier);
	free(d->pt);
	mutex_destroy(&d->lock);
	mml_obj_free(m, OBJ_DEVICE, d);
}

/* Power-off with the device still attached (the machine reports the leak). */
static void dmirror_release(struct mml_device_head *dev)
{
	dmirror_free(container_of(dev, struct mml_device, head));
}

int mml_device_new(struct mml_task *t, unsigned flags, struct mml_device **out)
{
	struct mml_machine *m = t->machine;
	struct mml_device *d;
	long ret;

	if (flags & ~(MML_DEV_NONBLOCK_FAIL | MML_DEV_SLOW | MML_DEV_REFAULT))
		return -EINVAL;
	ret = op_enter_task(t);
	if (ret)
		return (int)ret;
	d = mml_obj_alloc(m, OBJ_DEVICE, sizeof(*d));
	if (!d)
		return (int)op_exit(m, -ENOMEM);
	d->machine = m;
	d->mm = t->mm;
	d->flags = flags;
	d->head.release = dmirror_release;
	mutex_init(&d->lock);
	/* The whole address space, as test_hmm.c's dmirror. */
	ret = mmu_interval_notifier_insert(&d->notifier, t->mm, 0, TASK_SIZE, &dmirror_notifier_ops);
	if (!ret) {
		d->mn.ops = &dmirror_mm_ops;
		ret = mmu_notifier_register(&d->mn, t->mm);
		if (ret)
			mmu_interval_notifier_remove(&d->notifier);
	}
	if (ret) {
		mutex_destroy(&d->lock);
		mml_obj_free(m, OBJ_DEVICE, d);
		return (int)op_exit(m, ret);
	}
	spin_lock(&m->pins_lock);
	d->head.id = list_empty(&m->devices) ? 0 :
		     list_last_entry(&m->devices, struct mml_device_head, node)->id + 1;
	list_add_tail(&d->head.node, &m->devices);
	spin_unlock(&m->pins_lock);
	*out = d;
	return (int)op_exit_task(t, 0);
}

int mml_device_free(struct mml_device *d)
{
	struct mml_machine *m;

	if (!d)
		return 0;
	m = d->machine;
	op_enter(m, NULL);
	spin_lock(&m->pins_lock);
	list_del(&d->head.node);
	spin_unlock(&m->pins_lock);
	dmirror_free(d);
	return (int)op_exit(m, 0);
}

void device_for_each_translation(struct mml_machine *m,
				 void (*fn)(void *arg, const struct device_translation *t), void *arg)
{
	struct mml_device_head *dev;

	list_for_each_entry(dev, &m->devices, node) {
		struct mml_device *d = container_of(dev, struct mml_device, head);

		mutex_lock(&d->lock);
		for (unsigned long i = 0; i < d->cap; i++) {
			struct device_translation t = {
				.id = d->head.id, .mm = d->mm, .addr = d->pt[i].vpn << PAGE_SHIFT,
				.pfn = d->pt[i].pfn, .gen = d->pt[i].gen, .write = d->pt[i].write,
				.exclusive = d->pt[i].exclusive,
			};

			if (d->pt[i].vpn)
				fn(arg, &t);
		}
		mutex_unlock(&d->lock);
	}
}
