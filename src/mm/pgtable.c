/*
 * pgtable.c - page-table pages: allocation (Linux's pgalloc.h), the split
 * page-table locks, walking helpers (pgtable-generic.c) and freeing of
 * empty tables (free_pgd_range in memory.c).
 *
 * Every table is one frame of simulated RAM, counted in nr_page_table_pages.
 * A table that was reachable is freed only after the TLB flush and an RCU
 * grace period, because lockless walkers (the hardware walker, GUP-fast)
 * may still be reading it.
 */
#include <string.h>

#include "mm/internal.h"
#include "mm/pagewalk.h"

/* Models pagetable_alloc() + pagetable_pte_ctor(): a table page with its lock. */
struct ptdesc *pagetable_alloc(struct mm_struct *mm)
{
	struct mml_machine *m = mm->machine;
	struct page *pt = alloc_page(m, GFP_PGTABLE_USER);
	spinlock_t *ptl;

	if (!pt)
		return NULL;
	ptl = mml_obj_alloc(m, OBJ_PTLOCK, max(sizeof(*ptl), (size_t)SMP_CACHE_BYTES));
	if (!ptl) {
		atomic_set(&pt->_refcount, 0);
		__free_pages(m, pt, 0);
		return NULL;
	}
	spin_lock_init(ptl);
	__SetPageTable(pt);
	pt->pt_mm = mm;
	pt->ptl = ptl;
	pt->pt_machine = m;
	pt->pmd_huge_pte = NULL;
	mod_vm_stat(m, NR_PAGETABLE, 1);
	atomic_long_add(PAGE_SIZE, &mm->pgtables_bytes);
	return pt;
}

static void pagetable_dtor_free(struct mml_machine *m, struct ptdesc *pt)
{
	/*
	 * Nobody may hold a table's lock when it goes: a walker takes it only
	 * under RCU, after re-reading the pmd, and a table that was reachable
	 * lock-free is freed only after a grace period.  One held now is a
	 * walker inside a freed table: reported, and the lock left to it.
	 */
	if (spin_is_busy(pt->ptl)) {
		mml_report(m, "a page table (pfn %lu) freed while a walker holds or waits for its pte lock",
			   page_to_pfn(m, pt));
		pt->ptl = NULL;
	} else {
		spin_lock_destroy(pt->ptl);
		mml_obj_free(m, OBJ_PTLOCK, pt->ptl);
	}
	pt->ptl = NULL;
	pt->pt_mm = NULL;
	pt->pt_machine = NULL;
	__ClearPageTable(pt);
	mod_vm_stat(m, NR_PAGETABLE, -1);
	atomic_set(&pt->_refcount, 0);
	__free_pages(m, pt, 0);
}

/*
 * A lockless walker found the table it entered freed (pte_table_enter,
 * pte_table_leave): the free did not wait for a grace period.
 */
void pte_table_freed_under(struct mml_machine *m, struct pte_stay *s, const char *who, uint64_t addr)
{
	mml_report(m, "%s was inside the page table at pfn %lu (for %#llx) when it was %s: a table freed "
		   "without waiting for an RCU grace period", who, page_to_pfn(m, s->pt), (unsigned long long)addr,
		   PageTable(s->pt) ? "freed and reused as another table" : page_is_free(s->pt) ? "freed" :
		   "freed and reused");
	s->pt = NULL;
}

void pagetable_free(struct mm_struct *mm, struct ptdesc *pt)
{
	atomic_long_add(-(long)PAGE_SIZE, &mm->pgtables_bytes);
	pagetable_dtor_free(mm->machine, pt);
}

static void pagetable_free_now(struct callback_head *head)
{
	struct ptdesc *pt = container_of(head, struct ptdesc, pt_rcu_head);
	struct mml_machine *m = pt->pt_machine;

	/* Like any operation, stay out of the invariant checker's way. */
	percpu_down_read(&m->quiesce);
	pagetable_dtor_free(m, pt);
	atomic_long_add(-1, &m->pgtables_pending_free);
	percpu_up_read(&m->quiesce);
}

/* Models pte_free_defer(): free after every lockless walker is done. */
void pagetable_free_rcu(struct mm_struct *mm, struct ptdesc *pt)
{
	atomic_long_add(-(long)PAGE_SIZE, &mm->pgtables_bytes);
	atomic_long_add(1, &mm->machine->pgtables_pending_free);
	rcu_batch_add(&mm->machine->rcu, &pt->pt_rcu_head, pagetable_free_now);
}

int pgd_alloc(struct mm_struct *mm)
{
	struct ptdesc *pt = pagetable_alloc(mm);

	if (!pt)
		return -ENOMEM;
	mm->pgd = page_address(mm->machine, pt);
	return 0;
}

void pgd_free(struct mm_struct *mm)
{
	pagetable_free(mm, virt_to_ptdesc(mm->machine, mm->pgd));
	mm->pgd = NULL;
}

/* The pgd of an address space with no users left, after lockless readers are done. */
void pgd_free_rcu(struct mm_struct *mm)
{
	pgd_t *pgd = mm->pgd;

	WRITE_ONCE(mm->pgd, NULL);
	pagetable_free_rcu(mm, virt_to_ptdesc(mm->machine, pgd));
}

/* The pmd lock: the split lock of the table page holding the pmd entry. */
spinlock_t *pmd_lockptr(struct mm_struct *mm, pmd_t *pmd)
{
	return virt_to_ptdesc(mm->machine, pmd)->ptl;
}

/* Models __pud_alloc(): allocate outside the lock, install under it. */
int __pud_alloc(struct mm_struct *mm, pgd_t *pgd)
{
	struct ptdesc *new = pagetable_alloc(mm);

	if (!new)
		return -ENOMEM;
	spin_lock(&mm->page_table_lock);
	if (pgd_none(pgdp_get(pgd))) {
		set_pgd(pgd, pgd_mktable(page_to_pfn(mm->machine, new)));
		new = NULL;
	}
	spin_unlock(&mm->page_table_lock);
	if (new)	/* another thread won; nobody saw ours */
		pagetable_free(mm, new);
	return 0;
}

/* __pmd_alloc(): as __pud_alloc, one level down. */
int __pmd_alloc(struct mm_struct *mm, pud_t *pud)
{
	struct ptdesc *new = pagetable_alloc(mm);

	if (!new)
		return -ENOMEM;
	spin_lock(&mm->page_table_lock);
	if (pud_none(pudp_get(pud))) {
		set_pud(pud, pud_mktable(page_to_pfn(mm->machine, new)));
		new = NULL;
	}
	spin_unlock(&mm->page_table_lock);
	if (new)
		pagetable_free(mm, new);
	return 0;
}

/* Models __pte_alloc(): installed under the pmd lock. */
int __pte_alloc(struct mm_struct *mm, pmd_t *pmd)
{
	struct ptdesc *new = pagetable_alloc(mm);
	spinlock_t *ptl;

	if (!new)
		return -ENOMEM;
	ptl = pmd_lockptr(mm, pmd);
	spin_lock(ptl);
	if (pmd_none(pmdp_get(pmd))) {
		/* The zeroed table must be visible before the entry: release store. */
		set_pmd(pmd, pmd_mktable(page_to_pfn(mm->machine, new)));
		new = NULL;
	}
	spin_unlock(ptl);
	if (new)
		pagetable_free(mm, new);
	return 0;
}

pud_t *pud_alloc(struct mm_struct *mm, pgd_t *pgd, uint64_t addr)
{
	if (pgd_none(pgdp_get(pgd)) && __pud_alloc(mm, pgd))
		return NULL;
	return pud_offset(mm->machine, pgd, addr);
}

pmd_t *pmd_alloc(struct mm_struct *mm, pud_t *pud, uint64_t addr)
{
	if (pud_none(pudp_get(pud)) && __pmd_alloc(mm, pud))
		return NULL;
	return pmd_offset(mm->machine, pud, addr);
}

pmd_t *mm_find_pmd(struct mm_struct *mm, uint64_t addr)
{
	pgd_t *pgd = pgd_offset(mm, addr);
	pud_t *pud;

	if (!pgd_table(pgdp_get(pgd)))
		return NULL;
	pud = pud_offset(mm->machine, pgd, addr);
	if (!pud_table(pudp_get(pud)))
		return NULL;
	return pmd_offset(mm->machine, pud, addr);
}

/*
 * The pte at addr as it stands, read without locks under RCU (the tables
 * cannot be freed meanwhile), or none where no table maps it: for checks
 * that compare another view with the CPU's, as page_table_check does.
 */
pte_t mm_pte_lockless(struct mm_struct *mm, uint64_t addr)
{
	struct mml_machine *m = mm->machine;
	pte_t pte = __pte(0);
	pgd_t *pgd, pgdval;
	pud_t pudval;
	pmd_t pmdval;

	rcu_read_lock();
	pgd = READ_ONCE(mm->pgd);	/* NULL once the address space is gone */
	if (!pgd)
		goto out;
	pgdval = pgdp_get(pgd + pgd_index(addr));
	if (!pgd_table(pgdval))
		goto out;
	pudval = pudp_get(pud_table_of(m, pgdval) + pud_index(addr));
	if (!pud_table(pudval))
		goto out;
	pmdval = pmdp_get(pmd_table_of(m, pudval) + pmd_index(addr));
	if (pmd_table(pmdval))
		pte = ptep_get(pte_table_of(m, pmdval) + pte_index(addr));
	else if (pmd_trans_huge(pmdval))
		pte = pmd_pte_at(pmdval, pte_index(addr));	/* what the 4 KiB page's entry would say */
out:
	rcu_read_unlock();
	return pte;
}

/*
 * Models __pte_offset_map(): the pte table under pmd, inside an RCU read
 * section so that the table cannot be freed under us.  NULL (and no RCU
 * section) if the pmd does not point to a table.
 */
pte_t *pte_offset_map(struct mm_struct *mm, pmd_t *pmd, uint64_t addr, pmd_t *pmdvalp)
{
	pmd_t pmdval;

	rcu_read_lock();
	pmdval = pmdp_get(pmd);
	if (!pmd_table(pmdval)) {
		rcu_read_unlock();
		return NULL;
	}
	if (pmdvalp)
		*pmdvalp = pmdval;
	return pte_table_of(mm->machine, pmdval) + pte_index(addr);
}

/*
 * Models pte_offset_map_lock(): map and lock, then recheck that the pmd
 * still points to the same table (it may have been retracted and freed).
 */
pte_t *pte_offset_map_lock(struct mm_struct *mm, pmd_t *pmd, uint64_t addr, spinlock_t **ptlp)
{
	for (;;) {
		pmd_t pmdval;
		pte_t *pte = pte_offset_map(mm, pmd, addr, &pmdval);
		spinlock_t *ptl;

		if (!pte)
			return NULL;
		ptl = pte_lockptr(mm->machine, pmdval);
		spin_lock(ptl);
		if (pmd_val(pmdp_get(pmd)) == pmd_val(pmdval)) {
			*ptlp = ptl;
			return pte;
		}
		pte_unmap_unlock(pte, ptl);
	}
}

/* ---- freeing empty tables: models free_pgd_range() and its helpers ------------- */

static bool table_is_empty(const uint64_t *t)
{
	for (int i = 0; i < PTRS_PER_TABLE; i++)
		if (mml_load64(&t[i]))
			return false;
	return true;
}

static void free_pte_range(struct mmu_gather *tlb, pmd_t *pmd)
{
	struct mml_machine *m = tlb->mm->machine;
	pmd_t old = pmdp_get_and_clear(pmd);
	struct ptdesc *pt = pfn_to_page(m, pmd_pfn(old));

	VM_BUG_ON_PAGE(!table_is_empty(page_address(m, pt)), m, pt);
	tlb_remove_table(tlb, pt);
}

/*
 * A table may be freed only when the whole span it maps lies within
 * [floor, ceiling): neighbouring VMAs outside still use it otherwise.
 * ceiling 0 means the top of the address space.
 */
static bool span_is_free(uint64_t start, uint64_t end, uint64_t mask, uint64_t floor, uint64_t ceiling)
{
	start &= mask;
	if (start < floor)
		return false;
	if (ceiling) {
		ceiling &= mask;
		if (!ceiling)
			return false;
	}
	return end - 1 <= ceiling - 1;
}

static void free_pmd_range(struct mmu_gather *tlb, pud_t *pud, uint64_t addr, uint64_t end,
			   uint64_t floor, uint64_t ceiling)
{
	struct mml_machine *m = tlb->mm->machine;
	uint64_t start = addr, next;
	pmd_t *pmd = pmd_offset(m, pud, addr);
	pmd_t *table;

	do {
		next = pmd_addr_end(addr, end);
		if (!pmd_no_table(tlb->mm, pmdp_get(pmd), addr, "free_pgd_range"))
			free_pte_range(tlb, pmd);
	} while (pmd++, addr = next, addr != end);

	if (!span_is_free(start, end, PUD_MASK, floor, ceiling))
		return;
	table = pmd_table_of(m, pudp_get(pud));
	set_pud(pud, __pud(0));
	tlb_remove_table(tlb, virt_to_ptdesc(m, table));
}

static void free_pud_range(struct mmu_gather *tlb, pgd_t *pgd, uint64_t addr, uint64_t end,
			   uint64_t floor, uint64_t ceiling)
{
	struct mml_machine *m = tlb->mm->machine;
	uint64_t start = addr, next;
	pud_t *pud = pud_offset(m, pgd, addr);
	pud_t *table;

	do {
		next = pud_addr_end(addr, end);
		if (!pud_no_table(tlb->mm, pudp_get(pud), addr, "free_pgd_range"))
			free_pmd_range(tlb, pud, addr, next, floor, ceiling);
	} while (pud++, addr = next, addr != end);

	if (!span_is_free(start, end, PGDIR_MASK, floor, ceiling))
		return;
	table = pud_table_of(m, pgdp_get(pgd));
	set_pgd(pgd, __pgd(0));
	tlb_remove_table(tlb, virt_to_ptdesc(m, table));
}

/*
 * Models free_pgd_range(): free the page tables that map only [addr, end),
 * given that nothing is mapped in [floor, addr) or [end, ceiling).
 */
void free_pgd_range(struct mmu_gather *tlb, uint64_t addr, uint64_t end, uint64_t floor, uint64_t ceiling)
{
	uint64_t next;
	pgd_t *pgd;

	/* Only whole pmd spans can lose their pte table. */
	addr &= PMD_MASK;
	if (addr < floor) {
		addr += PMD_SIZE;
		if (!addr)
			return;
	}
	if (ceiling) {
		ceiling &= PMD_MASK;
		if (!ceiling)
			return;
	}
	if (end - 1 > ceiling - 1)
		end -= PMD_SIZE;
	if (addr > end - 1)
		return;

	tlb->freed_tables = true;
	pgd = pgd_offset(tlb->mm, addr);
	do {
		next = pgd_addr_end(addr, end);
		if (pgd_table(pgdp_get(pgd)))
			free_pud_range(tlb, pgd, addr, next, floor, ceiling);
	} while (pgd++, addr = next, addr != end);
}
