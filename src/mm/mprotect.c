/*
 * mprotect.c - changing the protection of a range (Linux's mm/mprotect.c).
 */
#include <sys/mman.h>

#include "mm/internal.h"
#include "mm/mmu_notifier.h"
#include "mm/pagewalk.h"
#include "mm/userfaultfd_k.h"

/* Models vma_soft_dirty_enabled(): tracking is on once VM_SOFTDIRTY is cleared. */
static bool vma_soft_dirty_enabled(struct vm_area_struct *vma)
{
	return !(vma->vm_flags & VM_SOFTDIRTY);
}

/*
 * Models can_change_pte_writable(): may mprotect make this pte writable
 * right away, sparing the write fault?  For private memory only a page this
 * mm exclusively owns; never one that soft-dirty or uffd-wp must see.
 */
bool can_change_pte_writable(struct vm_area_struct *vma, uint64_t addr, pte_t pte)
{
	struct page *page;

	if (!(vma->vm_flags & VM_WRITE) || pte_protnone(pte))
		return false;
	if (vma_soft_dirty_enabled(vma) && !pte_soft_dirty(pte))
		return false;
	if (pte_uffd_wp(pte))
		return false;
	if (vma->vm_flags & VM_SHARED)
		return pte_dirty(pte);
	page = vm_normal_page(vma, addr, pte);
	return page && folio_test_anon(page_folio(page)) && PageAnonExclusive(page);
}

static long change_pte_range(struct mmu_gather *tlb, struct vm_area_struct *vma, pmd_t *pmd,
			     uint64_t addr, uint64_t end, unsigned long cp_flags)
{
	bool try_writable = cp_flags & MM_CP_TRY_CHANGE_WRITABLE;
	bool uffd_wp = cp_flags & MM_CP_UFFD_WP;
	bool uffd_wp_resolve = cp_flags & MM_CP_UFFD_WP_RESOLVE;
	pgprot_t newprot = vma->vm_page_prot;
	long pages = 0;
	spinlock_t *ptl;
	pte_t *pte;

	pte = pte_offset_map_lock(vma->vm_mm, pmd, addr, &ptl);
	if (!pte)
		return -EAGAIN;	/* the table went (retract_page_tables): the caller looks again */
	for (; addr < end; pte++, addr += PAGE_SIZE) {
		pte_t old = ptep_get(pte), new;

		if (pte_none(old)) {
			/*
			 * Only userfaultfd touches none ptes here: a write-protect
			 * of an unpopulated page of a VMA that keeps markers
			 * (file and shmem, or anon with WP_UNPOPULATED) leaves
			 * one, so that the first access still reports.
			 */
			if (uffd_wp && userfaultfd_wp_use_markers(vma)) {
				set_pte(pte, make_pte_marker(PTE_MARKER_UFFD_WP));
				pages++;
			}
			continue;
		}
		if (!pte_present(old)) {
			swp_entry_t entry = pte_to_swp_entry(old);

			if (is_pte_marker_entry(entry)) {
				/* Resolving drops a uffd-wp marker; the page reads as never populated again. */
				if (uffd_wp_resolve && (pte_marker_get(entry) & PTE_MARKER_UFFD_WP)) {
					pte_clear(pte);
					pages++;
				}
				continue;
			}
			if (is_swap_pte(old) && (uffd_wp || uffd_wp_resolve)) {
				/* Swap and migration entries keep the bit until they map again. */
				new = uffd_wp ? pte_swp_mkuffd_wp(old) : pte_swp_clear_uffd_wp(old);
				if (!pte_same(new, old)) {
					set_pte(pte, new);
					pages++;
				}
				old = new;
			}

			/* A migration entry keeps no rights the VMA may have lost: not writable now. */
			if (is_swap_pte(old) && is_writable_migration_entry(entry)) {
				new = swp_entry_to_pte(make_readable_exclusive_migration_entry(swp_offset(entry)));
				if (pte_swp_soft_dirty(old))
					new = pte_swp_mksoft_dirty(new);
				if (pte_swp_uffd_wp(old))
					new = pte_swp_mkuffd_wp(new);
				set_pte(pte, new);
				pages++;
			}
			continue;
		}
		/* As set_pte_at() does on arm64: a page now mapped tagged gets its tags first. */
		mte_sync_tags(vma->vm_mm->machine, pte_modify(old, newprot));
		/* The walker may set accessed/dirty meanwhile: never lose them. */
		do {
			new = pte_modify(old, newprot);
			if (uffd_wp)
				new = pte_mkuffd_wp(new);
			else if (uffd_wp_resolve)
				new = pte_clear_uffd_wp(new);
			if (try_writable && !pte_write(new) && can_change_pte_writable(vma, addr, new))
				new = pte_mkwrite_novma(new);
		} while (!pte_same(old, new) && !ptep_cmpxchg(pte, &old, new));
		if (!pte_same(old, new)) {
			tlb_flush_pte_range(tlb, addr, PAGE_SIZE);
			pages++;
		}
	}
	pte_unmap_unlock(pte, ptl);
	return pages;
}

static long change_pmd_range(struct mmu_gather *tlb, struct vm_area_struct *vma, pud_t *pud,
			     uint64_t addr, uint64_t end, unsigned long cp_flags)
{
	struct mm_struct *mm = vma->vm_mm;
	pmd_t *pmd = pmd_offset(mm->machine, pud, addr);
	struct mmu_notifier_range range = { 0 };
	uint64_t next;
	long pages = 0;

	do {
		long n;

		next = pmd_addr_end(addr, end);
again:
		/*
		 * change_pmd_prepare(): protecting with markers needs a table
		 * even where nothing is mapped; retract_page_tables may take it
		 * again until the pte lock is held, so this is done each time.
		 */
		if ((cp_flags & MM_CP_UFFD_WP) && userfaultfd_wp_use_markers(vma) && pmd_none(pmdp_get(pmd)) &&
		    __pte_alloc(mm, pmd)) {
			pages = -ENOMEM;
			break;
		}
		if (pmd_none(pmdp_get(pmd)))
			continue;
		/* Secondary MMUs drop their rights before any entry loses one, from the first table on. */
		if (!range.mm) {
			mmu_notifier_range_init(&range, MMU_NOTIFY_PROTECTION_VMA, 0, mm, addr, end);
			mmu_notifier_invalidate_range_start(&range);
		}
		if (pmd_trans_huge(pmdp_get(pmd))) {
			/* uffd-wp works on ptes here (Linux keeps a huge pmd, with its own bit). */
			if (next - addr != HPAGE_PMD_SIZE || (cp_flags & (MM_CP_UFFD_WP | MM_CP_UFFD_WP_RESOLVE))) {
				__split_huge_pmd(vma, pmd, addr, false);
				/* A file's leaf leaves a none pmd: markers then need a new table (above). */
				goto again;
			}
			n = change_huge_pmd(tlb, vma, pmd, addr, cp_flags & MM_CP_TRY_CHANGE_WRITABLE);
			pages += n;
			if (n)
				continue;
		}
		if (pmd_no_table(mm, pmdp_get(pmd), addr, "change_protection"))
			continue;
		n = change_pte_range(tlb, vma, pmd, addr, next, cp_flags);
		if (n == -EAGAIN)
			goto again;
		pages += n;
	} while (pmd++, addr = next, addr != end);
	if (range.mm)
		mmu_notifier_invalidate_range_end(&range);
	return pages;
}

static long change_pud_range(struct mmu_gather *tlb, struct vm_area_struct *vma, pgd_t *pgd,
			     uint64_t addr, uint64_t end, unsigned long cp_flags)
{
	struct mm_struct *mm = vma->vm_mm;
	pud_t *pud = pud_offset(mm->machine, pgd, addr);
	uint64_t next;
	long pages = 0;

	do {
		long n;

		next = pud_addr_end(addr, end);
		if (pud_no_table(mm, pudp_get(pud), addr, "change_protection"))
			continue;
		n = change_pmd_range(tlb, vma, pud, addr, next, cp_flags);
		if (n < 0)
			return n;
		pages += n;
	} while (pud++, addr = next, addr != end);
	return pages;
}

/*
 * change_protection(): apply vma->vm_page_prot to [start, end), and with
 * MM_CP_UFFD_WP / MM_CP_UFFD_WP_RESOLVE set or clear the uffd-wp bit (and
 * markers); the entries changed, or -ENOMEM when a table markers need
 * could not be had.
 */
long change_protection(struct mmu_gather *tlb, struct vm_area_struct *vma, uint64_t start, uint64_t end,
		       unsigned long cp_flags)
{
	pgd_t *pgd = pgd_offset(vma->vm_mm, start);
	uint64_t addr = start, next;
	long pages = 0;

	if (start >= end)
		return 0;
	do {
		long n;

		next = pgd_addr_end(addr, end);
		if (pgd_none(pgdp_get(pgd)))
			continue;
		n = change_pud_range(tlb, vma, pgd, addr, next, cp_flags);
		if (n < 0)
			return n;
		pages += n;
	} while (pgd++, addr = next, addr != end);
	return pages;
}

/*
 * Models mprotect_fixup().  A private mapping made writable is charged and becomes VM_ACCOUNT; made
 * read-only again it keeps the charge, unless it is anonymous and was
 * never written (no anon_vma): Linux can then give the charge back, and
 * the flag difference decides what merges.
 */
static int mprotect_fixup(struct mmu_gather *tlb, struct vm_area_struct *vma, uint64_t start,
			  uint64_t end, vm_flags_t newflags)
{
	struct mml_machine *m = vma->vm_mm->machine;
	vm_flags_t oldflags = vma->vm_flags;
	long nrpages = (long)((end - start) >> PAGE_SHIFT), charged = 0;
	int err;

	if (newflags == oldflags)
		return 0;
	if (newflags & VM_WRITE) {
		if (!(oldflags & (VM_ACCOUNT | VM_WRITE | VM_HUGETLB | VM_SHARED | VM_NORESERVE))) {
			if (__vm_enough_memory(m, vma->vm_mm, nrpages))
				return -ENOMEM;
			charged = nrpages;
			newflags |= VM_ACCOUNT;
		}
	} else if ((oldflags & VM_ACCOUNT) && vma_is_anonymous(vma) && !vma->anon_vma) {
		newflags &= ~VM_ACCOUNT;
	}
	vma = vma_modify_flags(vma, start, end, newflags, &err);
	if (!vma) {
		vm_unacct_memory(m, charged);
		return err;
	}
	if ((oldflags & VM_ACCOUNT) && !(newflags & VM_ACCOUNT))
		vm_unacct_memory(m, nrpages);
	/* vma_wants_manual_pte_write_upgrade() */
	change_protection(tlb, vma, start, end, (vma->vm_flags & VM_WRITE) ? MM_CP_TRY_CHANGE_WRITABLE : 0);
	/* A locked private VMA made writable takes its copies now, not at the first write. */
	if ((oldflags & (VM_WRITE | VM_SHARED | VM_LOCKED)) == VM_LOCKED && (newflags & VM_WRITE))
		populate_vma_page_range(vma, start, end);
	return 0;
}

/* Models do_mprotect_pkey() without protection keys. */
int do_mprotect_pkey(struct mm_struct *mm, uint64_t start, uint64_t len, int prot)
{
	const int grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
	struct vm_area_struct *vma;
	struct mmu_gather tlb;
	uint64_t end, nstart, tmp;
	vm_flags_t newflags;
	int error;

	prot &= ~(PROT_GROWSDOWN | PROT_GROWSUP);
	if (grows == (PROT_GROWSDOWN | PROT_GROWSUP))
		return -EINVAL;
	if (!PAGE_ALIGNED(start))
		return -EINVAL;
	if (!len)
		return 0;
	len = PAGE_ALIGN(len);
	end = start + len;
	if (end <= start)
		return -ENOMEM;
	if (!arch_validate_prot(prot))
		return -EINVAL;

	mmap_write_lock(mm);
	error = -ENOMEM;
	vma = find_vma_intersection(mm, start, end);
	if (!vma || vma->vm_start > start)
		goto out;
	if (grows) {
		/* No stack VMAs exist here (MAP_GROWSDOWN is refused). */
		error = -EINVAL;
		goto out;
	}

	tlb_gather_mmu(&tlb, mm);
	nstart = start;
	tmp = vma->vm_start;
	error = 0;
	while (vma && vma->vm_start < end) {
		if (vma->vm_start != tmp) {
			error = -ENOMEM;	/* a hole: what came before stays changed */
			break;
		}
		/*
		 * Only the access bits are replaced: VM_MTE is not in arm64's
		 * VM_ARCH_CLEAR, so PROT_MTE is sticky, as on arm64.
		 */
		newflags = (vma->vm_flags & ~VM_ACCESS_FLAGS) | calc_vm_prot_bits(prot);
		/* VM_MAY* are VM_* shifted by 4: nothing beyond what the mapping may do. */
		if ((newflags & ~(newflags >> 4)) & VM_ACCESS_FLAGS) {
			error = -EACCES;
			break;
		}
		if (!arch_validate_flags(newflags)) {
			error = -EINVAL;
			break;
		}
		tmp = min(vma->vm_end, end);
		error = mprotect_fixup(&tlb, vma, nstart, tmp, newflags);
		if (error)
			break;
		/* The range may now be part of a merged VMA: continue past its end. */
		tmp = vma_lookup(mm, tmp - 1)->vm_end;
		nstart = tmp;
		vma = find_vma(mm, nstart);
	}
	tlb_finish_mmu(&tlb);
	if (!error && tmp < end)
		error = -ENOMEM;
out:
	mmap_write_unlock(mm);
	return error;
}
