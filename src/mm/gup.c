/*
 * gup.c - getting user pages on behalf of the kernel and its devices
 * (Linux's mm/gup.c): pins (FOLL_PIN) and references (FOLL_GET), the
 * lockless GUP-fast walk, MAP_POPULATE and MADV_POPULATE_*, and the
 * device's DMA through what was taken.
 *
 * The rules of the "COW fixes" series: a write pin breaks COW first (a
 * write fault); a read-only pin of an anon page that is not exclusive
 * unshares it first (FAULT_FLAG_UNSHARE), so the pin and the process keep
 * seeing the same page; GUP-fast takes nothing it cannot prove safe without
 * locks and leaves it to the slow path; fork copies what may be pinned.
 */
#include <stdlib.h>
#include <string.h>

#include "mm/internal.h"
#include "mm/pagewalk.h"

struct mml_pin {
	struct list_head node;		/* machine->pins */
	struct mml_machine *machine;
	unsigned flags;			/* FOLL_GET or FOLL_PIN, and the caller's */
	uint64_t npages;
	struct {
		struct page *page;
		unsigned gen;		/* alloc_gen when taken: a freed page shows */
	} p[];
};

static bool is_zero_folio(struct mml_machine *m, struct folio *folio)
{
	return &folio->page == m->zero_page;
}

/*
 * Models try_grab_folio(): a reference (FOLL_GET) or a pin (FOLL_PIN: a
 * bias of GUP_PIN_COUNTING_BIAS in a small folio's refcount, one ref and one
 * _pincount in a large one).  The zero page is never pinned, only returned.
 */
static int try_grab_folio(struct mml_machine *m, struct folio *folio, unsigned flags)
{
	if (folio_ref_count(folio) <= 0)
		return -ENOMEM;
	if (flags & FOLL_GET) {
		folio_get(folio);
		return 0;
	}
	if (is_zero_folio(m, folio))
		return 0;
	if (folio_test_large(folio)) {
		folio_get(folio);
		atomic_inc(&folio->_pincount);
	} else {
		folio_ref_add(folio, GUP_PIN_COUNTING_BIAS);
	}
	count_vm_event(m, NR_FOLL_PIN_ACQUIRED);
	return 0;
}

/* Models gup_put_folio(): the exact inverse. */
static void gup_put_folio(struct mml_machine *m, struct folio *folio, unsigned flags)
{
	if (flags & FOLL_GET) {
		folio_put(m, folio);
		return;
	}
	if (is_zero_folio(m, folio))
		return;
	count_vm_event(m, NR_FOLL_PIN_RELEASED);
	if (folio_test_large(folio)) {
		atomic_dec(&folio->_pincount);
		folio_put(m, folio);
	} else {
		folio_put_refs(m, folio, GUP_PIN_COUNTING_BIAS);
	}
}

/*
 * Models gup_must_unshare(): may a read-only pin take this page as the
 * read-only pte maps it?  Not an anon page another mm may still map: the
 * process's next write would copy away from the pin.  vma NULL: GUP-fast.
 */
static bool gup_must_unshare(struct vm_area_struct *vma, unsigned flags, struct page *page)
{
	struct folio *folio = page_folio(page);

	if ((flags & (FOLL_WRITE | FOLL_PIN)) != FOLL_PIN)
		return false;
	if (!folio_test_anon(folio)) {
		/* The zero page: a longterm R/O pin gets a real page of its own. */
		if (!(flags & FOLL_LONGTERM))
			return false;
		return !vma || is_cow_mapping(vma->vm_flags);
	}
	if (vma && bug_enabled(vma->vm_mm->machine, BUG_PIN_NO_UNSHARE))
		return false;
	smp_rmb();	/* pairs with clearing PG_anon_exclusive before sharing */
	return !PageAnonExclusive(page);
}

/*
 * Models can_follow_write_pte(): a write may go through a read-only pte
 * only for FOLL_FORCE on a private, not-writable VMA, and only into an anon
 * page this mm owns (the COW has already happened).
 */
static bool can_follow_write_pte(pte_t pte, struct page *page, struct vm_area_struct *vma, unsigned flags)
{
	if (pte_write(pte))
		return true;
	if (!(flags & FOLL_FORCE))
		return false;
	if (vma->vm_flags & (VM_SHARED | VM_MAYSHARE))
		return false;
	if (!(vma->vm_flags & VM_MAYWRITE) || (vma->vm_flags & VM_WRITE))
		return false;
	if (!page || !folio_test_anon(page_folio(page)) || !PageAnonExclusive(page))
		return false;
	if (!(vma->vm_flags & VM_SOFTDIRTY) && !pte_soft_dirty(pte))
		return false;	/* soft-dirty tracking must see a write fault */
	return !pte_uffd_wp(pte);
}

/* check_vma_flags(): may this GUP take pages of this VMA at all? */
static int check_vma_flags(struct vm_area_struct *vma, unsigned flags)
{
	vm_flags_t f = vma->vm_flags;

	if (f & (VM_IO | VM_PFNMAP))
		return -EFAULT;
	/*
	 * fs-DAX: the file system frees a block once nothing references it,
	 * waiting for short-term pins; a long-term one would block truncate
	 * for good, so it is refused.
	 */
	if ((flags & FOLL_LONGTERM) && vma_is_fsdax(vma) && !bug_enabled(vma->vm_mm->machine, BUG_DAX_LONGTERM_PIN))
		return -EOPNOTSUPP;
	/*
	 * writable_file_mapping_allowed(): a long-term writable pin of a file
	 * whose pages are written back would see its writes escape the
	 * file system's dirty tracking (a pin holds no page_mkwrite).
	 */
	if ((flags & (FOLL_WRITE | FOLL_LONGTERM)) == (FOLL_WRITE | FOLL_LONGTERM) && vma->vm_file &&
	    vma_needs_dirty_tracking(vma))
		return -EFAULT;
	if (flags & FOLL_WRITE) {
		if (!(f & VM_WRITE)) {
			if (!(flags & FOLL_FORCE) || !is_cow_mapping(f))
				return -EFAULT;
		}
	} else if (!(f & VM_READ)) {
		if (!(flags & FOLL_FORCE) || !(f & VM_MAYREAD))
			return -EFAULT;
	}
	return 0;
}

/*
 * follow_page_pte(): 1 with *pagep taken (if pagep), 0 when a fault must
 * map it first, -EMLINK when it must be unshared first, or -errno.
 */
static int follow_page_pte(struct vm_area_struct *vma, uint64_t addr, pmd_t *pmd, unsigned flags,
			   struct page **pagep)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	struct page *page;
	spinlock_t *ptl;
	pte_t *ptep, pte;
	int ret = 1;

	ptep = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!ptep)
		return 0;
	pte = ptep_get(ptep);
	/* A PROT_NONE pte may be followed: mmlab has no NUMA hinting faults. */
	if (!pte_present(pte)) {
		ret = 0;
		goto out;
	}
	page = vm_normal_page(vma, addr, pte);
	if ((flags & FOLL_WRITE) && !can_follow_write_pte(pte, page, vma, flags)) {
		ret = 0;
		goto out;
	}
	if (!page) {
		if (!is_zero_pfn(m, pte_pfn(pte))) {
			ret = -EFAULT;
			goto out;
		}
		page = m->zero_page;
	}
	if (!pte_write(pte) && gup_must_unshare(vma, flags, page)) {
		ret = -EMLINK;
		goto out;
	}
	if (pagep) {
		struct folio *folio = page_folio(page);

		ret = try_grab_folio(m, folio, flags);
		if (ret)
			goto out;
		ret = 1;
		if ((flags & FOLL_TOUCH) && !is_zero_folio(m, folio)) {
			if ((flags & FOLL_WRITE) && !pte_dirty(pte) && !folio_test_dirty(folio))
				folio_mark_dirty(folio);
			folio_set_referenced(folio);	/* folio_mark_accessed() */
		}
		*pagep = page;
	}
out:
	pte_unmap_unlock(ptep, ptl);
	return ret;
}

/*
 * follow_huge_pmd(): follow_page_pte() for a page of a pmd leaf, under the
 * pmd lock: the same rules (write through a read-only leaf only as
 * FOLL_FORCE allows, unshare a shared anon page for a R/O pin), the
 * reference or pin taken on the THP.  The huge zero folio is not anon: a
 * long-term R/O pin unshares it, as Linux does.  -EAGAIN: no longer a leaf.
 */
static int follow_huge_pmd(struct vm_area_struct *vma, uint64_t addr, pmd_t *pmd, unsigned flags,
			   struct page **pagep)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	spinlock_t *ptl = pmd_trans_huge_lock(pmd, vma);
	struct page *head, *page;
	pmd_t pmdval;
	int ret = 1;

	if (!ptl)
		return -EAGAIN;
	pmdval = pmdp_get(pmd);
	/*
	 * A pmd-mapped THP is exclusive as a whole: PG_anon_exclusive is its
	 * head's, the subpages' bits mean nothing until the pmd is split (as
	 * Linux's follow_huge_pmd, which asks the head).  Asking the subpage
	 * at addr would send an unshare fault that do_huge_pmd_wp_page
	 * answers from the head, "already exclusive", for ever.
	 */
	head = pmd_page(m, pmdval);
	if ((flags & FOLL_WRITE) &&
	    !can_follow_write_pte(pmd_pte_at(pmdval, pte_index(addr)), is_huge_zero_pmd(m, pmdval) ? NULL : head,
				  vma, flags)) {
		ret = 0;
		goto out;
	}
	if (!pmd_write(pmdval) && gup_must_unshare(vma, flags, head)) {
		ret = -EMLINK;
		goto out;
	}
	page = head + pte_index(addr);
	if (pagep) {
		struct folio *folio = page_folio(page);

		ret = try_grab_folio(m, folio, flags);
		if (ret)
			goto out;
		ret = 1;
		/* touch_pmd(): young, and dirty for a write. */
		if (flags & FOLL_TOUCH) {
			pmd_t entry = pmd_mkyoung(pmdval);

			if (flags & FOLL_WRITE)
				entry = pmd_mkdirty(entry);
			pmdp_set_access_flags(pmd, entry);
			folio_set_referenced(folio);
		}
		*pagep = page;
	}
out:
	spin_unlock(ptl);
	return ret;
}

/*
 * follow_page_mask(): the page at addr, down the levels from the top, as
 * Linux's GUP looks up each page it takes (a lookup, not a walk: the
 * fault between two lookups may change any level).  Returns as
 * follow_page_pte(); a pud leaf on the way is reported (nothing makes
 * one) and looks like a page that cannot be taken.
 */
static int follow_page_mask(struct vm_area_struct *vma, uint64_t addr, unsigned flags, struct page **pagep)
{
	struct mm_struct *mm = vma->vm_mm;
	pgd_t *pgd = pgd_offset(mm, addr);
	pud_t *pud;
	pmd_t *pmd;

	if (!pgd_present(pgdp_get(pgd)))
		return 0;
	pud = pud_offset(mm->machine, pgd, addr);
	if (pud_none(pudp_get(pud)))
		return 0;
	/* Linux's follow_pud_mask / follow_pmd_mask take a huge leaf here. */
	if (pud_no_table(mm, pudp_get(pud), addr, "follow_page_mask"))
		return -EFAULT;
	pmd = pmd_offset(mm->machine, pud, addr);
	for (;;) {
		int ret;

		if (pmd_none(pmdp_get(pmd)))
			return 0;
		if (!pmd_trans_huge(pmdp_get(pmd)))
			break;
		/*
		 * The caller works on the pte (make_device_exclusive): split the
		 * leaf, look again.  A file's leaf is removed, not split: a table
		 * goes in at once, or the fault would map the leaf back.
		 */
		if (flags & FOLL_SPLIT_PMD) {
			__split_huge_pmd(vma, pmd, addr, false);
			if (pmd_none(pmdp_get(pmd)) && __pte_alloc(mm, pmd))
				return -ENOMEM;
			continue;
		}
		ret = follow_huge_pmd(vma, addr, pmd, flags, pagep);
		if (ret != -EAGAIN)
			return ret;
	}
	if (pmd_no_table(mm, pmdp_get(pmd), addr, "follow_page_mask"))
		return -EFAULT;
	return follow_page_pte(vma, addr, pmd, flags, pagep);
}

/* Models faultin_page(): a write fault, or an unshare fault. */
static int faultin_page(struct vm_area_struct *vma, uint64_t addr, unsigned flags, bool unshare)
{
	unsigned fault_flags = 0;
	vm_fault_t ret;

	if (flags & FOLL_WRITE)
		fault_flags |= FAULT_FLAG_WRITE;
	if (unshare)
		fault_flags |= FAULT_FLAG_UNSHARE;
	ret = handle_mm_fault(vma, addr, fault_flags);
	if (ret & VM_FAULT_OOM)
		return -ENOMEM;
	if (ret & (VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV))
		return -EFAULT;
	return 0;
}

/*
 * Models __get_user_pages(): page by page, follow or fault until it can be
 * taken.  Returns how many were taken; *err is why it stopped short (0 if
 * it did not).  mmap_lock held for read.
 */
static long __get_user_pages(struct mm_struct *mm, uint64_t start, uint64_t nr, unsigned flags,
			     struct page **pages, int *err)
{
	struct vm_area_struct *vma = NULL;
	uint64_t i = 0;
	int ret = 0;

	mmap_assert_locked(mm);
	while (i < nr) {
		uint64_t addr = start + (i << PAGE_SHIFT);

		if (!vma || addr >= vma->vm_end) {
			vma = vma_lookup(mm, addr);
			if (!vma) {
				ret = (flags & FOLL_MADV_POPULATE) ? -ENOMEM : -EFAULT;
				break;
			}
			ret = check_vma_flags(vma, flags);
			if (ret) {
				if (flags & FOLL_MADV_POPULATE)
					ret = -EINVAL;
				break;
			}
		}
		ret = follow_page_mask(vma, addr, flags, pages ? &pages[i] : NULL);
		if (ret == 0 || ret == -EMLINK) {
			ret = faultin_page(vma, addr, flags, ret == -EMLINK);
			if (ret)
				break;
			continue;	/* follow again */
		}
		if (ret < 0)
			break;
		ret = 0;
		i++;
	}
	*err = ret;
	return (long)i;
}

/*
 * GUP-fast (Linux's gup_fast_*_range): no mmap_lock, no pte lock, only RCU,
 * which keeps page tables alive; each level is read once.  It takes a
 * prefix of the range and stops at the first page it cannot prove safe
 * without locks -- a huge leaf among them, until THP -- leaving the rest
 * to the slow path.  Each function returns false where it stopped.
 */
struct gup_fast_state {
	struct mml_machine *m;
	unsigned flags;
	struct page **pages;
	uint64_t nr;		/* pages taken so far */
};

/*
 * try_grab_folio_fast(): a reference (or pin) on the folio page belongs to,
 * with neither the page table's lock nor the folio's: it may be freed or
 * split under us, so the reference is taken first and the folio checked
 * again under it.  Whether to pin through _pincount is decided only then:
 * a THP the pmd still mapped when we read it may be a small folio by now,
 * whose _pincount word is its next page's mapping.  NULL: slow path.
 */
static struct folio *try_grab_folio_fast(struct mml_machine *m, struct page *page, unsigned flags)
{
	struct folio *folio = page_folio(page);

	if (!folio_try_get(folio))	/* being freed, or frozen for a split */
		return NULL;
	if (page_folio(page) != folio) {
		folio_put(m, folio);
		return NULL;
	}
	if (flags & FOLL_PIN) {
		if (folio_test_large(folio))
			atomic_inc(&folio->_pincount);
		else
			folio_ref_add(folio, GUP_PIN_COUNTING_BIAS - 1);
		count_vm_event(m, NR_FOLL_PIN_ACQUIRED);
	}
	return folio;
}

/*
 * gup_fast_pte_range(): the table may be taken away meanwhile (free_pgtables,
 * retract_page_tables), but under RCU it is not freed before we leave it;
 * our stay in it is checked (pte_table_leave) where Linux just trusts it.
 */
static bool gup_fast_pte_range(struct gup_fast_state *gs, pmd_t pmd, pmd_t *pmdp, uint64_t addr, uint64_t end)
{
	struct mml_machine *m = gs->m;
	pte_t *ptep = pte_table_of(m, pmd) + pte_index(addr);
	uint64_t start = addr;
	struct pte_stay stay;
	bool ret = false;

	pte_table_enter(m, pmd, &stay, "GUP-fast", start);
	for (; addr < end; addr += PAGE_SIZE, ptep++) {
		pte_t pte = ptep_get(ptep);
		struct folio *folio;
		struct page *page;

		/* Present to the hardware and accessible as asked; PROT_NONE is neither. */
		if (!pte_access_permitted(pte, gs->flags & FOLL_WRITE))
			goto pte_unmap;
		if (pte_special(pte))
			goto pte_unmap;	/* the zero page: the slow path decides */
		page = pfn_to_page(m, pte_pfn(pte));
		folio = try_grab_folio_fast(m, page, gs->flags);
		if (!folio)
			goto pte_unmap;
		smp_mb();	/* the pin is visible before we recheck: pairs with unmap's clear-then-check */
		if (!pmd_same(pmdp_get(pmdp), pmd) || !pte_same(ptep_get(ptep), pte)) {
			gup_put_folio(m, folio, gs->flags);
			goto pte_unmap;
		}
		/*
		 * folio_fast_pin_allowed(): without the VMA, a writable
		 * long-term pin of a file page is allowed only for anon and
		 * shmem; anything else goes to the slow path, which decides.
		 */
		if (((gs->flags & FOLL_LONGTERM) && folio_is_fsdax(m, folio)) ||
		    ((gs->flags & (FOLL_LONGTERM | FOLL_WRITE)) == (FOLL_LONGTERM | FOLL_WRITE) &&
		     !folio_test_anon(folio) && !shmem_mapping(READ_ONCE(folio->mapping)))) {
			gup_put_folio(m, folio, gs->flags);
			goto pte_unmap;
		}
		if (!pte_write(pte) && !bug_enabled(m, BUG_GUP_FAST_NO_UNSHARE) &&
		    gup_must_unshare(NULL, gs->flags, page)) {
			gup_put_folio(m, folio, gs->flags);
			goto pte_unmap;
		}
		if (gs->flags & FOLL_PIN)
			folio_set_referenced(folio);
		gs->pages[gs->nr++] = page;
	}
	ret = true;
pte_unmap:
	pte_table_leave(m, &stay, "GUP-fast", start);
	return ret;
}

/*
 * gup_fast_pmd_leaf(): the pages [addr, end) of a THP mapped by the leaf
 * pmd, a reference (or pin) each, kept only if the pmd did not change
 * meanwhile; the huge zero folio is left to the slow path, as the small
 * zero page is.
 */
static bool gup_fast_pmd_leaf(struct gup_fast_state *gs, pmd_t pmd, pmd_t *pmdp, uint64_t addr, uint64_t end)
{
	struct mml_machine *m = gs->m;
	uint64_t first = gs->nr;
	struct page *page;
	struct folio *folio;

	if (!pmd_access_permitted(pmd, gs->flags & FOLL_WRITE) || pmd_special(pmd))
		return false;
	/* A long-term pin of fs-DAX: the slow path refuses it (check_vma_flags). */
	if ((gs->flags & FOLL_LONGTERM) && is_zone_device_page(m, pmd_page(m, pmd)))
		return false;
	page = pmd_page(m, pmd) + pte_index(addr);
	do {
		folio = try_grab_folio_fast(m, page, gs->flags);
		if (!folio)
			goto undo;
		gs->pages[gs->nr++] = page;
	} while (page++, addr += PAGE_SIZE, addr < end);
	smp_mb();	/* as in the pte case: the references are visible before the recheck */
	if (!pmd_same(pmdp_get(pmdp), pmd) ||
	    (!pmd_write(pmd) && gup_must_unshare(NULL, gs->flags, &folio->page)))
		goto undo;
	if (gs->flags & FOLL_PIN)
		folio_set_referenced(folio);
	return true;
undo:
	while (gs->nr > first)
		gup_put_folio(m, page_folio(gs->pages[--gs->nr]), gs->flags);
	return false;
}

static bool gup_fast_pmd_range(struct gup_fast_state *gs, pud_t pud, uint64_t addr, uint64_t end)
{
	pmd_t *pmdp = pmd_table_of(gs->m, pud) + pmd_index(addr);
	uint64_t next;

	do {
		pmd_t pmd = pmdp_get(pmdp);

		next = pmd_addr_end(addr, end);
		if (pmd_trans_huge(pmd)) {
			if (!gup_fast_pmd_leaf(gs, pmd, pmdp, addr, next))
				return false;
			continue;
		}
		if (!pmd_table(pmd) || !gup_fast_pte_range(gs, pmd, pmdp, addr, next))
			return false;
	} while (pmdp++, addr = next, addr != end);
	return true;
}

static bool gup_fast_pud_range(struct gup_fast_state *gs, pgd_t pgd, uint64_t addr, uint64_t end)
{
	pud_t *pudp = pud_table_of(gs->m, pgd) + pud_index(addr);
	uint64_t next;

	do {
		pud_t pud = pudp_get(pudp);

		next = pud_addr_end(addr, end);
		if (!pud_table(pud) || !gup_fast_pmd_range(gs, pud, addr, next))
			return false;
	} while (pudp++, addr = next, addr != end);
	return true;
}

/* gup_fast(): how many pages from start it took (a prefix); a fork meanwhile voids them all. */
static uint64_t gup_fast(struct mm_struct *mm, uint64_t start, uint64_t nr, unsigned flags,
			 struct page **pages)
{
	struct gup_fast_state gs = { .m = mm->machine, .flags = flags, .pages = pages };
	uint64_t addr = start, end = start + (nr << PAGE_SHIFT), next;
	pgd_t *pgdp = pgd_offset(mm, addr);
	unsigned seq = 0;

	if ((flags & FOLL_PIN) && !raw_seqcount_try_begin(&mm->write_protect_seq, &seq))
		return 0;
	rcu_read_lock();
	do {
		pgd_t pgd = pgdp_get(pgdp);

		next = pgd_addr_end(addr, end);
		if (!pgd_table(pgd) || !gup_fast_pud_range(&gs, pgd, addr, next))
			break;
	} while (pgdp++, addr = next, addr != end);
	rcu_read_unlock();
	if ((flags & FOLL_PIN) && read_seqcount_retry(&mm->write_protect_seq, seq)) {
		/* fork ran meanwhile and may have shared what we pinned: start over slowly. */
		while (gs.nr)
			gup_put_folio(gs.m, page_folio(pages[--gs.nr]), flags);
	}
	return gs.nr;
}

static long gup_user_pages(struct mml_task *t, uint64_t addr, uint64_t npages, unsigned foll,
			   struct mml_pin **out, unsigned kind)
{
	struct mml_machine *m = t->machine;
	struct mm_struct *mm = t->mm;
	unsigned flags = (foll & ~FOLL_FAST) | kind;
	uint64_t start = addr & PAGE_MASK, done = 0;
	struct page **pages;
	struct mml_pin *pin;
	int err = 0;

	*out = NULL;
	if (foll & ~(MML_FOLL_WRITE | MML_FOLL_LONGTERM | MML_FOLL_FORCE | MML_FOLL_FAST))
		return -EINVAL;
	if ((flags & FOLL_LONGTERM) && !(flags & FOLL_PIN))
		return -EINVAL;	/* is_valid_gup_args(): long-term needs a pin */
	if (!npages)
		return 0;
	if (npages > (TASK_SIZE >> PAGE_SHIFT) || start + (npages << PAGE_SHIFT) > TASK_SIZE)
		return -EFAULT;

	if (op_enter_task(t))
		return -EINTR;
	if (npages > m->nr_frames) {
		/* More than RAM can hold: the range is unmapped somewhere, or too big. */
		bool mapped = true;

		down_read(&mm->mmap_lock);
		for (uint64_t a = start; mapped && a < start + (npages << PAGE_SHIFT);) {
			struct vm_area_struct *vma = vma_lookup(mm, a);

			mapped = vma != NULL;
			a = vma ? vma->vm_end : a;
		}
		up_read(&mm->mmap_lock);
		return op_exit(m, mapped ? -ENOMEM : -EFAULT);
	}
	pin = mml_obj_alloc(m, OBJ_PIN, sizeof(*pin) + npages * sizeof(pin->p[0]));
	pages = pin ? calloc(npages, sizeof(*pages)) : NULL;
	if (!pages) {
		mml_obj_free(m, OBJ_PIN, pin);
		return op_exit(m, -ENOMEM);
	}
	if (flags & FOLL_PIN)
		set_bit(MMF_HAS_PINNED, &mm->flags);	/* before any pin: fork must see it */
	if (foll & FOLL_FAST)
		done = gup_fast(mm, start, npages, flags, pages);
	if (done < npages) {
		down_read(&mm->mmap_lock);
		done += (uint64_t)__get_user_pages(mm, start + (done << PAGE_SHIFT), npages - done,
						   flags | FOLL_TOUCH, pages + done, &err);
		up_read(&mm->mmap_lock);
	}
	/* A process killed meanwhile pins nothing (GUP's fatal_signal_pending -EINTR). */
	if (done < npages || fatal_signal_pending(t)) {
		/* All or nothing: give back what was taken. */
		while (done)
			gup_put_folio(m, page_folio(pages[--done]), flags);
		free(pages);
		mml_obj_free(m, OBJ_PIN, pin);
		return op_exit_task(t, err ? err : -EFAULT);
	}
	pin->machine = m;
	pin->flags = flags;
	pin->npages = npages;
	for (uint64_t i = 0; i < npages; i++) {
		pin->p[i].page = pages[i];
		pin->p[i].gen = READ_ONCE(pages[i]->alloc_gen);
	}
	free(pages);
	spin_lock(&m->pins_lock);
	list_add_tail(&pin->node, &m->pins);
	spin_unlock(&m->pins_lock);
	*out = pin;
	return op_exit(m, (long)npages);
}

/* Models pin_user_pages() / pin_user_pages_fast(). */
long mml_pin_user_pages(struct mml_task *t, uint64_t addr, uint64_t npages, unsigned foll, struct mml_pin **out)
{
	return gup_user_pages(t, addr, npages, foll, out, FOLL_PIN);
}

/* Models get_user_pages() / get_user_pages_fast(). */
long mml_get_user_pages(struct mml_task *t, uint64_t addr, uint64_t npages, unsigned foll, struct mml_pin **out)
{
	return gup_user_pages(t, addr, npages, foll, out, FOLL_GET);
}

/* The device reaches page i: report if it was freed under the pin. */
static void *pin_page_address(struct mml_pin *p, uint64_t i)
{
	struct mml_machine *m = p->machine;
	struct page *page = p->p[i].page;

	if (page_is_free(page) || READ_ONCE(page->alloc_gen) != p->p[i].gen)
		mml_report(m, "DMA through a %s reached frame %lu, %s since it was taken",
			   (p->flags & FOLL_PIN) ? "pin" : "reference", page_to_pfn(m, page),
			   page_is_free(page) ? "freed" : "reused");
	return page_address(m, page);
}

static int dma_access(struct mml_pin *p, uint64_t off, void *buf, uint64_t len, bool write)
{
	uint64_t end = off + len;
	char *b = buf;

	if (end < off || end > (p->npages << PAGE_SHIFT))
		return -EINVAL;
	if (write && !(p->flags & FOLL_WRITE))
		return -EPERM;	/* the driver asked for a read-only view */
	while (off < end) {
		uint64_t n = min(PAGE_SIZE - (off & ~PAGE_MASK), end - off);
		char *frame = pin_page_address(p, off >> PAGE_SHIFT);

		if (write)
			page_data_copy(frame + (off & ~PAGE_MASK), b, n);
		else
			page_data_copy(b, frame + (off & ~PAGE_MASK), n);
		b += n;
		off += n;
	}
	return 0;
}

int mml_dma_read(struct mml_pin *p, uint64_t off, void *buf, uint64_t len)
{
	struct mml_machine *m = p->machine;
	int ret;

	op_enter(m, NULL);
	ret = dma_access(p, off, buf, len, false);
	return op_exit(m, ret);
}

int mml_dma_write(struct mml_pin *p, uint64_t off, const void *buf, uint64_t len)
{
	struct mml_machine *m = p->machine;
	int ret;

	op_enter(m, NULL);
	ret = dma_access(p, off, (void *)buf, len, true);
	return op_exit(m, ret);
}

uint64_t mml_pin_pfn(const struct mml_pin *p, uint64_t i)
{
	return i < p->npages ? page_to_pfn(p->machine, p->p[i].page) : 0;
}

/*
 * Models sanity_check_pinned_pages() (CONFIG_DEBUG_VM): only exclusive anon
 * pages are pinned, and nothing may make a pinned page shared, so each is
 * still PG_anon_exclusive when it is unpinned.  A warning here, not Linux's
 * VM_BUG_ON_PAGE, so that the run that broke the rule can be shrunk.
 */
static void sanity_check_pinned_pages(struct mml_pin *p)
{
	struct mml_machine *m = p->machine;

	if (!(p->flags & FOLL_PIN))
		return;
	for (uint64_t i = 0; i < p->npages; i++) {
		struct page *page = p->p[i].page;
		struct folio *folio = page_folio(page);

		if (is_zero_folio(m, folio) || !folio_test_anon(folio))
			continue;
		/* A large folio's page, or its head when a pmd maps it whole. */
		if (!folio_test_large(folio))
			VM_WARN_ON_PAGE(!PageAnonExclusive(page), m, page);
		else
			VM_WARN_ON_PAGE(!PageAnonExclusive(page) && !PageAnonExclusive(&folio->page), m, page);
	}
}

/* Release every page of p; the caller has taken it off the machine's list. */
static void unpin_user_pages(struct mml_pin *p)
{
	struct mml_machine *m = p->machine;

	sanity_check_pinned_pages(p);
	for (uint64_t i = 0; i < p->npages; i++) {
		struct folio *folio = page_folio(p->p[i].page);

		/* unpin_user_pages_dirty_lock(make_dirty): the device wrote it. */
		if ((p->flags & FOLL_WRITE) && !is_zero_folio(m, folio) && !folio_test_dirty(folio)) {
			folio_lock(folio);
			folio_mark_dirty(folio);
			folio_unlock(folio);
		}
		gup_put_folio(m, folio, p->flags);
	}
	mml_obj_free(m, OBJ_PIN, p);
}

void mml_unpin(struct mml_pin *p)
{
	struct mml_machine *m;

	if (!p)
		return;
	m = p->machine;
	op_enter(m, NULL);
	spin_lock(&m->pins_lock);
	list_del(&p->node);
	spin_unlock(&m->pins_lock);
	unpin_user_pages(p);
	op_exit(m, 0);
}

/* Power-off with pins still held: a leak to report, then released. */
long unpin_all_pins(struct mml_machine *m)
{
	long n = 0;

	for (;;) {
		struct mml_pin *p = NULL;

		spin_lock(&m->pins_lock);
		if (!list_empty(&m->pins)) {
			p = list_first_entry(&m->pins, struct mml_pin, node);
			list_del(&p->node);
		}
		spin_unlock(&m->pins_lock);
		if (!p)
			return n;
		unpin_user_pages(p);
		n++;
	}
}

long nr_pinned_pages(struct mml_machine *m)
{
	struct mml_pin *p;
	long n = 0;

	spin_lock(&m->pins_lock);
	list_for_each_entry(p, &m->pins, node) {
		if (!(p->flags & FOLL_PIN))
			continue;
		for (uint64_t i = 0; i < p->npages; i++)
			n += p->p[i].page != m->zero_page;
	}
	spin_unlock(&m->pins_lock);
	return n;
}

/*
 * For the checker: pinned[pfn] = 1 for every frame a FOLL_PIN pin holds;
 * refs[head pfn] += the references each pin or GUP reference holds on its
 * folio (try_grab_folio's), the zero page's none.
 */
void note_pinned_frames(struct mml_machine *m, unsigned char *pinned, int *refs)
{
	struct mml_pin *p;

	spin_lock(&m->pins_lock);
	list_for_each_entry(p, &m->pins, node)
		for (uint64_t i = 0; i < p->npages; i++) {
			struct folio *folio = page_folio(p->p[i].page);

			if (p->flags & FOLL_PIN)
				pinned[page_to_pfn(m, p->p[i].page)] = 1;
			if (p->flags & FOLL_GET)
				refs[folio_pfn(m, folio)]++;
			else if (!is_zero_folio(m, folio))
				refs[folio_pfn(m, folio)] += folio_test_large(folio) ? 1 : GUP_PIN_COUNTING_BIAS;
		}
	spin_unlock(&m->pins_lock);
}

/*
 * get_user_page_vma_remote(): one page of another mm's, with a reference
 * (FOLL_GET), faulted in as flags ask; the VMA in *vmap.  mmap_lock held.
 * NULL with *err set, or the page.
 */
struct page *get_user_page_vma_remote(struct mm_struct *mm, uint64_t addr, unsigned int gup_flags,
				      struct vm_area_struct **vmap, int *err)
{
	struct page *page = NULL;

	mmap_assert_locked(mm);
	if (__get_user_pages(mm, addr & PAGE_MASK, 1, gup_flags | FOLL_GET | FOLL_TOUCH, &page, err) != 1)
		return NULL;
	*vmap = vma_lookup(mm, addr);
	return page;
}

/* ---- population: MAP_POPULATE, MAP_LOCKED, MADV_POPULATE_* ------------------- */

/*
 * Models faultin_page_range() as MADV_POPULATE_* uses it: a hole is
 * -ENOMEM, a mapping that cannot be accessed this way -EINVAL, a fault that
 * fails -EFAULT or -ENOMEM.  Pages before the failure stay populated.
 */
int faultin_page_range(struct mm_struct *mm, uint64_t start, uint64_t end, bool write)
{
	int err;

	__get_user_pages(mm, start, (end - start) >> PAGE_SHIFT,
			 FOLL_MADV_POPULATE | (write ? FOLL_WRITE : 0), NULL, &err);
	return err;
}

/*
 * Models populate_vma_page_range(): fault in [start, end) of vma as mlock
 * and MAP_POPULATE want it -- private writable memory for write (no COW
 * later), anything accessible by force, PROT_NONE not at all (-EFAULT).
 * A VMA locked on fault (VM_LOCKONFAULT) is left alone.  0 or -errno;
 * mmap_lock held.
 */
int populate_vma_page_range(struct vm_area_struct *vma, uint64_t start, uint64_t end)
{
	unsigned flags = FOLL_TOUCH;
	int err = 0;

	if (vma->vm_flags & VM_LOCKONFAULT)
		return 0;
	if ((vma->vm_flags & (VM_WRITE | VM_SHARED)) == VM_WRITE)
		flags |= FOLL_WRITE;
	if (vma->vm_flags & VM_ACCESS_FLAGS)
		flags |= FOLL_FORCE;
	__get_user_pages(vma->vm_mm, start, (end - start) >> PAGE_SHIFT, flags, NULL, &err);
	return err;
}

/*
 * Models __mm_populate(): populate_vma_page_range() over every VMA of the
 * range but the I/O ones.  ignore_errors: go on at the next VMA after a
 * failure (mmap's use, which succeeds regardless); else the first failure
 * is returned (mlock's).
 */
int __mm_populate(struct mm_struct *mm, uint64_t start, uint64_t len, bool ignore_errors)
{
	uint64_t end = start + len, addr = start;
	int ret = 0;

	down_read(&mm->mmap_lock);
	while (addr < end) {
		struct vm_area_struct *vma = find_vma(mm, addr);
		uint64_t vend;
		int err = 0;

		if (!vma || vma->vm_start >= end)
			break;
		addr = max(addr, vma->vm_start);
		vend = min(end, vma->vm_end);
		if (!(vma->vm_flags & (VM_IO | VM_PFNMAP)))
			err = populate_vma_page_range(vma, addr, vend);
		if (err && !ignore_errors) {
			ret = err;
			break;
		}
		addr = vend;
	}
	up_read(&mm->mmap_lock);
	return ret;
}
