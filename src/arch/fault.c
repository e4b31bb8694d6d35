/*
 * fault.c - the simulated CPU's loads and stores: TLB lookup, the hardware
 * page-table walker, and the page-fault entry (Linux's arch/x86/mm/fault.c
 * do_user_addr_fault and access_error).
 */
#include <string.h>

#include "mm/mm.h"

/*
 * The hardware walker: translate addr through mm's tables, setting the
 * accessed bit, and the dirty bit for a write through a writable entry, with
 * a compare-and-exchange as x86 hardware does.  Returns the leaf entry as
 * it now stands (with the pfn of the 4 KiB page), or 0 when the access must
 * fault.  Runs under RCU: tables are freed only after a grace period
 * (a pte table freed sooner is reported when the walk leaves it).
 */
static uint64_t hw_walk(struct mml_machine *m, struct mm_struct *mm, uint64_t addr, bool write)
{
	uint64_t need = _PAGE_PRESENT | _PAGE_USER | (write ? _PAGE_RW : 0);
	uint64_t result = 0;
	struct pte_stay stay;
	pgd_t pgd;
	pud_t pud;
	pmd_t pmd;
	pte_t *ptep;
	uint64_t old, new = 0;

	rcu_read_lock();
	pgd = pgdp_get(pgd_offset(mm, addr));
	if (!pgd_present(pgd))
		goto out;
	pud = pudp_get(pud_table_of(m, pgd) + pud_index(addr));
	if (!pud_present(pud))
		goto out;
	pmd = pmdp_get(pmd_table_of(m, pud) + pmd_index(addr));
	if (!(pmd_val(pmd) & _PAGE_PRESENT))
		goto out;
	if (pmd_val(pmd) & _PAGE_PSE) {
		/* A PMD-mapped huge page: the 4 KiB piece of it. */
		pmd_t *pmdp = pmd_table_of(m, pud) + pmd_index(addr);

		old = pmd_val(pmd);
		do {
			if ((old & need) != need)
				goto out;
			new = old | _PAGE_ACCESSED | (write ? _PAGE_DIRTY : 0);
		} while (new != old && !mml_cmpxchg64(&pmdp->pmd, &old, new));
		result = pte_val(pmd_pte_at(__pmd(new), pte_index(addr)));
		goto out;
	}
	ptep = pte_table_of(m, pmd) + pte_index(addr);
	pte_table_enter(m, pmd, &stay, "the hardware walker", addr);
	old = pte_val(ptep_get(ptep));
	do {
		if ((old & need) != need)
			break;
		new = old | _PAGE_ACCESSED | (write ? _PAGE_DIRTY : 0);
	} while (new != old && !mml_cmpxchg64(&ptep->pte, &old, new));
	if ((old & need) == need)
		result = new;
	pte_table_leave(m, &stay, "the hardware walker", addr);
out:
	rcu_read_unlock();
	return result;
}

static void report_stale(struct mml_task *t, uint64_t addr, const struct tlb_entry *e, struct page *page)
{
	mml_report(t->machine, "task %d reached frame %lu through a stale TLB entry for %#llx "
		   "(filled at generation %u, frame now at %u%s): the frame was freed before the TLB flush",
		   t->tid, pte_pfn(__pte(e->pte)), (unsigned long long)addr, e->gen,
		   READ_ONCE(page->alloc_gen), page_is_free(page) ? ", free" : ", reused");
}

/*
 * Look up vpn; a hit on a frame freed or reused since the fill is a bug in
 * the flush discipline: report it and drop the entry.  Caller holds the lock.
 */
static struct tlb_entry *tlb_lookup(struct mml_task *t, uint64_t addr)
{
	uint64_t vpn = addr >> PAGE_SHIFT;
	struct tlb_entry *e = &t->tlb.e[vpn & (TLB_ENTRIES - 1)];
	struct page *page;

	if (e->vpn != vpn)
		return NULL;
	page = pfn_to_page(t->machine, pte_pfn(__pte(e->pte)));
	if (unlikely(READ_ONCE(page->alloc_gen) != e->gen || page_is_free(page))) {
		report_stale(t, addr, e, page);
		WRITE_ONCE(e->vpn, TLB_INVALID_VPN);
		return NULL;
	}
	t->tlb.hits++;
	return e;
}

static struct tlb_entry *tlb_fill(struct mml_task *t, uint64_t addr, uint64_t pteval)
{
	uint64_t vpn = addr >> PAGE_SHIFT;
	struct tlb_entry *e = &t->tlb.e[vpn & (TLB_ENTRIES - 1)];
	struct page *page = pfn_to_page(t->machine, pte_pfn(__pte(pteval)));

	tlb_filter_add(&t->tlb, pte_pfn(__pte(pteval)));
	e->pte = pteval;
	e->gen = READ_ONCE(page->alloc_gen);
	WRITE_ONCE(e->vpn, vpn);
	t->tlb.fills++;
	return e;
}

/* A usable translation for this access, from the TLB or a walk; tlb locked. */
static struct tlb_entry *tlb_translate(struct mml_task *t, uint64_t addr, bool write)
{
	struct tlb_entry *e = tlb_lookup(t, addr);
	uint64_t pteval;

	/* A write through an entry not yet dirty re-walks to set D, like x86. */
	if (e && (!write || (e->pte & (_PAGE_RW | _PAGE_DIRTY)) == (_PAGE_RW | _PAGE_DIRTY)))
		return e;
	pteval = hw_walk(t->machine, t->mm, addr, write);
	if (!pteval)
		return NULL;
	return tlb_fill(t, addr, pteval);
}

static void copy_page_chunk(struct mml_task *t, struct tlb_entry *e, uint64_t addr, char *buf,
			    uint64_t n, bool write)
{
	char *frame = pfn_to_virt(t->machine, pte_pfn(__pte(e->pte)));

	if (write)
		page_data_copy(frame + (addr & ~PAGE_MASK), buf, n);
	else
		page_data_copy(buf, frame + (addr & ~PAGE_MASK), n);
}

/* The lockless lookup: a usable entry for vpn, or NULL (a stale one is the slow path's to report). */
static inline struct tlb_entry *tlb_hit(struct mml_task *t, uint64_t vpn, uint64_t need)
{
	struct tlb_entry *e = &t->tlb.e[vpn & (TLB_ENTRIES - 1)];
	struct page *page;

	if (READ_ONCE(e->vpn) != vpn || (e->pte & need) != need)
		return NULL;
	page = pfn_to_page(t->machine, pte_pfn(__pte(e->pte)));
	if (unlikely(READ_ONCE(page->alloc_gen) != e->gen || !folio_ref_count(page_folio(page))))
		return NULL;
	return e;
}

/* An access across pages, each a hit, in the section cpu_access_hit() entered. */
static __attribute__((noinline)) bool cpu_access_hit_pages(struct mml_task *t, uint64_t addr, char *buf,
							   uint64_t len, bool write)
{
	uint64_t need = write ? (_PAGE_RW | _PAGE_DIRTY) : 0;
	uint64_t first = addr >> PAGE_SHIFT, last = (addr + len - 1) >> PAGE_SHIFT;
	struct tlb_entry *es[4];
	unsigned n = 0;

	if (!len || last - first >= ARRAY_SIZE(es) || addr + len > TASK_SIZE || addr + len < addr)
		return false;
	for (uint64_t vpn = first; vpn <= last; vpn++)
		if (!(es[n++] = tlb_hit(t, vpn, need)))
			return false;
	cpu_section_point(&t->tlb.access);
	n = 0;
	for (uint64_t a = addr, end = addr + len; a < end;) {
		uint64_t next = min((a & PAGE_MASK) + PAGE_SIZE, end);

		copy_page_chunk(t, es[n++], a, buf, next - a, write);
		buf += next - a;
		a = next;
	}
	t->tlb.hits += n;
	return true;
}

/*
 * The hit path: every page of the access (one, or up to 4) translates
 * from the TLB alone, with the right.  It runs outside any operation and
 * takes no lock, writing nothing another CPU reads on its own hits: the
 * section tlb->access is the owner's, which a remote flush waits out
 * (tlb.h).  Sent to the slow path (false, nothing accessed): a killed task
 * (its call returns -EINTR) and an entry to a frame freed or reused since
 * the fill, which the slow path's lookup reports.  The checker does not
 * wait for a hit, nor runs after one under check_every_op: a hit changes
 * nothing it reads (no entry, no byte it looks at: the huge zero page is
 * never writable), so it would find what it found after the last
 * operation.
 */
bool cpu_access_hit(struct mml_task *t, uint64_t addr, void *buf, uint64_t len, bool write)
{
	uint64_t need = write ? (_PAGE_RW | _PAGE_DIRTY) : 0;
	struct tlb_entry *e;
	bool done = false;

	if (unlikely(fatal_signal_pending(t)))
		return false;
	cpu_section_enter(&t->tlb.access);
	/* Within one page, below TASK_SIZE (len 0 wraps and goes the long way). */
	if (likely(len - 1 < PAGE_SIZE - (addr & ~PAGE_MASK) && addr < TASK_SIZE)) {
		e = tlb_hit(t, addr >> PAGE_SHIFT, need);
		if (e) {
			cpu_section_point(&t->tlb.access);
			copy_page_chunk(t, e, addr, buf, len, write);
			t->tlb.hits++;
			done = true;
		}
	} else {
		done = cpu_access_hit_pages(t, addr, buf, len, write);
	}
	cpu_section_exit(&t->tlb.access);
	return done;
}

/* Models access_error(): may this VMA be accessed this way at all? */
static bool access_error(bool write, struct vm_area_struct *vma)
{
	if (write)
		return !(vma->vm_flags & VM_WRITE);
	/* x86 cannot express write-only or exec-only: any access right reads. */
	return !(vma->vm_flags & VM_ACCESS_FLAGS);
}

/* Is every byte of [addr, end) mapped and accessible?  mmap_lock held. */
static bool range_accessible(struct mm_struct *mm, uint64_t addr, uint64_t end, bool write)
{
	while (addr < end) {
		struct vm_area_struct *vma = vma_lookup(mm, addr);

		if (!vma || access_error(write, vma))
			return false;
		addr = vma->vm_end;
	}
	return true;
}

/* The errno of a fault's outcome (mmlab.h: SIGSEGV is -EFAULT, SIGBUS -EIO). */
static int fault_errno(vm_fault_t ret)
{
	if (ret & VM_FAULT_OOM)
		return -ENOMEM;
	if (ret & VM_FAULT_SIGSEGV)
		return -EFAULT;
	if (ret & VM_FAULT_SIGBUS)
		return -EIO;	/* SIGBUS: past a file's end, a full tmpfs (mmlab.h) */
	return 0;
}

/*
 * Models do_user_addr_fault().  locked: the VMA of addr, read-locked by
 * lock_vma_under_rcu, whose fault is tried first: -EAGAIN if the handler
 * wanted mmap_lock (VM_FAULT_RETRY), the VMA lock then dropped.  NULL:
 * under mmap_lock held for read.
 */
static int do_user_addr_fault(struct mml_task *t, struct vm_area_struct *locked, uint64_t addr, bool write)
{
	unsigned int flags = FAULT_FLAG_USER | FAULT_FLAG_ALLOW_RETRY | (write ? FAULT_FLAG_WRITE : 0);
	struct vm_area_struct *vma;
	vm_fault_t ret;

	if (locked) {
		ret = handle_mm_fault(locked, addr & PAGE_MASK, flags | FAULT_FLAG_VMA_LOCK);
		if (ret & VM_FAULT_RETRY) {
			count_vm_event(t->machine, VMA_LOCK_RETRY);
			return -EAGAIN;
		}
		return fault_errno(ret);
	}
retry:
	vma = vma_lookup(t->mm, addr);
	if (!vma || access_error(write, vma))
		return -EFAULT;
	ret = handle_mm_fault(vma, addr & PAGE_MASK, flags);
	/* It slept (handle_userfault) and took mmap_lock again: the VMA may have changed. */
	if (ret & VM_FAULT_RETRY)
		goto retry;
	return fault_errno(ret);
}

/*
 * Make every page of [addr, end) present, then copy; the caller holds
 * mmap_lock for read, or vma's read lock (the range inside vma).  -EAGAIN:
 * a fault under the VMA lock dropped it, the pages done so far stay done.
 */
static int access_range(struct mml_task *t, struct vm_area_struct *vma, uint64_t addr, char *buf, uint64_t len,
			bool write)
{
	uint64_t end = addr + len, a;
	int err = 0;

	/*
	 * First make every page present (faults may fail with -ENOMEM), in
	 * order, each until the access would go through, as a CPU retries
	 * its instruction: a fault may take more than one step (a uffd-wp
	 * marker maps a protected page, whose write faults again), and a
	 * later page must not fault before an earlier one is settled.  The
	 * bound only keeps a page that never settles from stopping the rest.
	 */
	for (a = addr; a < end && !err; a = (a & PAGE_MASK) + PAGE_SIZE)
		for (int tries = 0; !err && tries < 8 && !hw_walk(t->machine, t->mm, a, write); tries++)
			err = do_user_addr_fault(t, vma, a, write);
	/* Then copy; a page zapped meanwhile (MADV_DONTNEED) faults again. */
	for (a = addr; a < end && !err;) {
		uint64_t next = min((a & PAGE_MASK) + PAGE_SIZE, end);
		struct tlb_entry *e;

		spin_lock(&t->tlb.lock);
		e = tlb_translate(t, a, write);
		if (!e) {
			spin_unlock(&t->tlb.lock);
			err = do_user_addr_fault(t, vma, a, write);
			continue;
		}
		copy_page_chunk(t, e, a, buf, next - a, write);
		spin_unlock(&t->tlb.lock);
		buf += next - a;
		a = next;
	}
	return err;
}

/*
 * The fault under the VMA lock alone (Linux's lock_vma_under_rcu path of
 * do_user_addr_fault): -EAGAIN if it could not be had or was given up
 * (then under mmap_lock).  An access crossing the VMA's end goes the
 * mmap_lock way, which checks the whole range before any byte moves.
 */
static int access_vma_locked(struct mml_task *t, uint64_t addr, char *buf, uint64_t len, bool write)
{
	struct vm_area_struct *vma = lock_vma_under_rcu(t->mm, addr);
	int err;

	if (!vma)
		return -EAGAIN;
	if (addr + len > vma->vm_end) {
		vma_end_read(vma);
		count_vm_event(t->machine, VMA_LOCK_ABORT);
		return -EAGAIN;
	}
	if (access_error(write, vma)) {
		vma_end_read(vma);
		count_vm_event(t->machine, VMA_LOCK_SUCCESS);
		return -EFAULT;
	}
	err = access_range(t, vma, addr, buf, len, write);
	if (err == -EAGAIN)
		return err;	/* the handler dropped the VMA lock */
	vma_end_read(vma);
	count_vm_event(t->machine, VMA_LOCK_SUCCESS);
	return err;
}

int cpu_access(struct mml_task *t, uint64_t addr, void *ubuf, uint64_t len, bool write)
{
	struct mm_struct *mm = t->mm;
	uint64_t end = addr + len;
	char *buf = ubuf;
	int err;

	if (!len)
		return 0;
	if (end < addr || end > TASK_SIZE)
		return -EFAULT;
	err = access_vma_locked(t, addr, buf, len, write);
	if (err != -EAGAIN)
		return err;

	/* All or nothing: check the whole range before touching any byte. */
	down_read(&mm->mmap_lock);
	if (!range_accessible(mm, addr, end, write)) {
		up_read(&mm->mmap_lock);
		return -EFAULT;
	}
	err = access_range(t, NULL, addr, buf, len, write);
	up_read(&mm->mmap_lock);
	return err;
}

/* The tag half of the access: the translation must carry the tagged attribute. */
static int tag_access(struct mml_task *t, struct tlb_entry *e, uint64_t addr, unsigned *tag, bool write)
{
	unsigned long pfn = pte_pfn(__pte(e->pte));

	if (!(e->pte & _PAGE_MTE))
		return -EINVAL;
	if (write)
		mte_set_tag(t->machine, pfn, addr & ~PAGE_MASK, *tag);
	else
		*tag = mte_get_tag(t->machine, pfn, addr & ~PAGE_MASK);
	return 0;
}

/*
 * A tag store or load (arm64's STG / LDG) of the granule holding addr: it
 * faults as a one-byte store or load there would, then needs a tagged
 * mapping (-EINVAL without one: see mml_set_tag).
 */
int cpu_access_tag(struct mml_task *t, uint64_t addr, unsigned *tag, bool write)
{
	struct mm_struct *mm = t->mm;
	struct vm_area_struct *vma;
	struct tlb_entry *e;
	int err = 0;

	if (addr >= TASK_SIZE)
		return -EFAULT;
	spin_lock(&t->tlb.lock);
	e = tlb_lookup(t, addr);
	if (e && (!write || (e->pte & (_PAGE_RW | _PAGE_DIRTY)) == (_PAGE_RW | _PAGE_DIRTY))) {
		err = tag_access(t, e, addr, tag, write);
		spin_unlock(&t->tlb.lock);
		return err;
	}
	spin_unlock(&t->tlb.lock);

	down_read(&mm->mmap_lock);
	vma = vma_lookup(mm, addr);
	if (!vma || access_error(write, vma))
		err = -EFAULT;
	else if (!(vma->vm_flags & VM_MTE))
		err = -EINVAL;
	while (!err) {
		spin_lock(&t->tlb.lock);
		e = tlb_translate(t, addr, write);
		if (e) {
			err = tag_access(t, e, addr, tag, write);
			spin_unlock(&t->tlb.lock);
			break;
		}
		spin_unlock(&t->tlb.lock);
		/* Not present, or zapped meanwhile (MADV_DONTNEED): fault, then look again. */
		err = do_user_addr_fault(t, NULL, addr, write);
	}
	up_read(&mm->mmap_lock);
	return err;
}
