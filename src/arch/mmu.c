/*
 * mmu.c - what the core leaves to the machine when it installs or copies
 * a page and when it turns a protection into entry bits: set_pte_at and
 * set_ptes, ptep_set_access_flags, copy_user_highpage (pgtable.h), and
 * x86's protection_map with arm64's tag hooks of mmap and mprotect
 * (mman.h).
 */
#include <sys/mman.h>

#include "arch/mman.h"
#include "mm/mm.h"

/*
 * A new mapping.  As arm64's set_pte_at(), a page mapped with the tagged
 * attribute gets valid tags first (mte_sync_tags), so no CPU ever reads a
 * tagged page's stale storage.
 */
void set_pte_at(struct mm_struct *mm, uint64_t addr, pte_t *ptep, pte_t pte)
{
	if (pte_tagged(pte))
		mte_sync_tags(mm->machine, pte);
	set_pte(ptep, pte);
}

/* nr entries mapping consecutive frames from pte's, as Linux's set_ptes(). */
void set_ptes(struct mm_struct *mm, uint64_t addr, pte_t *ptep, pte_t pte, unsigned int nr)
{
	for (;;) {
		set_pte_at(mm, addr, ptep, pte);
		if (--nr == 0)
			break;
		ptep++;
		addr += PAGE_SIZE;
		pte = pte_advance_pfn(pte, 1);
	}
}

void set_pmd_at(struct mm_struct *mm, uint64_t addr, pmd_t *pmdp, pmd_t pmd)
{
	if (pmd_tagged(pmd))
		for (unsigned i = 0; i < PTRS_PER_PTE; i++)
			mte_sync_tags(mm->machine, pmd_pte_at(pmd, i));
	set_pmd(pmdp, pmd);
}

bool pmdp_set_access_flags(pmd_t *pmdp, pmd_t entry)
{
	uint64_t add = pmd_val(entry) & (_PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_RW | _PAGE_SOFT_DIRTY);
	pmd_t old = pmdp_get(pmdp);

	VM_BUG_ON(pmd_pfn(old) != pmd_pfn(entry));
	if ((pmd_val(old) & add) == add)
		return false;
	mml_fetch_or64(&pmdp->pmd, add);
	return true;
}

bool ptep_set_access_flags(pte_t *ptep, pte_t entry)
{
	uint64_t add = pte_val(entry) & (_PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_RW | _PAGE_SOFT_DIRTY);
	pte_t old = ptep_get(ptep);

	VM_BUG_ON(pte_pfn(old) != pte_pfn(entry));
	if ((pte_val(old) & add) == add)
		return false;
	mml_fetch_or64(&ptep->pte, add);
	return true;
}

/* The bytes, and on arm64 the tags with them (copy_highpage). */
void copy_user_highpage(struct mml_machine *m, struct page *to, struct page *from)
{
	page_data_copy(page_address(m, to), page_address(m, from), PAGE_SIZE);
	mte_copy_page_tags(m, to, from);
}

/* ---- protections ------------------------------------------------------------- */

/* x86's protection_map, indexed by VM_READ | VM_WRITE | VM_EXEC | VM_SHARED. */
static const pgprot_t protection_map[16] = {
	[VM_NONE]					= PAGE_NONE,
	[VM_READ]					= PAGE_READONLY,
	[VM_WRITE]					= PAGE_COPY,
	[VM_WRITE | VM_READ]				= PAGE_COPY,
	[VM_EXEC]					= PAGE_READONLY_EXEC,
	[VM_EXEC | VM_READ]				= PAGE_READONLY_EXEC,
	[VM_EXEC | VM_WRITE]				= PAGE_COPY_EXEC,
	[VM_EXEC | VM_WRITE | VM_READ]			= PAGE_COPY_EXEC,
	[VM_SHARED]					= PAGE_NONE,
	[VM_SHARED | VM_READ]				= PAGE_READONLY,
	[VM_SHARED | VM_WRITE]				= PAGE_SHARED,
	[VM_SHARED | VM_WRITE | VM_READ]		= PAGE_SHARED,
	[VM_SHARED | VM_EXEC]				= PAGE_READONLY_EXEC,
	[VM_SHARED | VM_EXEC | VM_READ]			= PAGE_READONLY_EXEC,
	[VM_SHARED | VM_EXEC | VM_WRITE]		= PAGE_SHARED_EXEC,
	[VM_SHARED | VM_EXEC | VM_WRITE | VM_READ]	= PAGE_SHARED_EXEC,
};

pgprot_t vm_get_page_prot(vm_flags_t flags)
{
	pgprot_t prot = protection_map[flags & (VM_ACCESS_FLAGS | VM_SHARED)];

	/* arm64's: VM_MTE maps with the tagged memory attribute. */
	return (flags & VM_MTE) ? pgprot_tagged(prot) : prot;
}

/* arm64's: PROT_MTE asks for a tagged mapping. */
vm_flags_t arch_calc_vm_prot_bits(int prot)
{
	return (prot & MML_PROT_MTE) ? VM_MTE : 0;
}

/* arm64's: anonymous memory is RAM, where tags can be kept. */
vm_flags_t arch_calc_vm_flag_bits(int mmap_flags)
{
	return (mmap_flags & MAP_ANONYMOUS) ? VM_MTE_ALLOWED : 0;
}

/* x86's bits (PROT_SEM is 0x8) and arm64's PROT_MTE; anything else is EINVAL. */
bool arch_validate_prot(int prot)
{
	return !(prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | 0x8 | MML_PROT_MTE));
}

/* arm64's: tags only where the mapping may have them. */
bool arch_validate_flags(vm_flags_t flags)
{
	return !(flags & VM_MTE) || (flags & VM_MTE_ALLOWED);
}
