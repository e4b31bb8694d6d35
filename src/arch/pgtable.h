/*
 * pgtable.h - the machine-dependent layer: page-table entry format.
 *
 * Contract (what the core above may rely on, like FreeBSD's pmap.h):
 *  - Four levels, pgd -> pud -> pmd -> pte, 512 64-bit entries per level,
 *    each table one 4 KiB frame.  (Linux's p4d level is folded, as on x86-64
 *    with 4-level paging.)  User addresses are 47 bits.
 *  - The core never touches entry bits directly: it uses only the functions
 *    below (pte_*, pmd_*, pud_*, pgd_*, swp entries, pgprot).  The bits are
 *    private to src/arch (pgtable_types.h); `make check-layers` fails when
 *    src/mm names one.
 *  - Every read of a live entry is ptep_get() (atomic: the hardware walker
 *    and lockless walkers read concurrently); every update of a live entry
 *    is set_pte_at(), ptep_get_and_clear() or one of the ptep_* atomics.
 *  - The hardware walker (tlb.c) sets the accessed bit, and the dirty bit on
 *    a write through a writable entry, with a compare-and-exchange, as x86
 *    hardware does; every other change is made under the page-table lock.
 *
 * Entry layout (x86-64 flavoured):
 *   present:     bit 0 P, 1 RW, 2 USER, 3 MTE (the page's tags are accessible:
 *                arm64's Normal-Tagged memory attribute; x86's PWT, unused
 *                otherwise), 5 A, 6 D, 7 PSE (leaf at pmd/pud),
 *                8 PROTNONE (only with P clear: PROT_NONE, still "present"
 *                to the core, invisible to the walker), 9 SPECIAL (no struct
 *                folio behind it, e.g. the zero page), 10 UFFD_WP,
 *                11 SOFT_DIRTY, 12..51 PFN, 63 NX.
 *   not present: bit 0 and 8 clear; bit 1 SWP_EXCLUSIVE, 2 SWP_UFFD_WP,
 *                7 SWP_SOFT_DIRTY, 9..57 swap offset, 58..62 swap type.
 *                All-zero is pte_none.
 */
#ifndef MML_ARCH_PGTABLE_H
#define MML_ARCH_PGTABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "sync/sync.h"

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1UL << PAGE_SHIFT)
#define PAGE_MASK	(~(PAGE_SIZE - 1))
#define PTRS_PER_TABLE	512
#define PTRS_PER_PTE	PTRS_PER_TABLE
#define PTRS_PER_PMD	PTRS_PER_TABLE
#define PTRS_PER_PUD	PTRS_PER_TABLE
#define PTRS_PER_PGD	PTRS_PER_TABLE
#define PMD_SHIFT	21
#define PUD_SHIFT	30
#define PGDIR_SHIFT	39
#define PMD_SIZE	(1UL << PMD_SHIFT)
#define PMD_MASK	(~(PMD_SIZE - 1))
#define PUD_SIZE	(1UL << PUD_SHIFT)
#define PUD_MASK	(~(PUD_SIZE - 1))
#define PGDIR_SIZE	(1UL << PGDIR_SHIFT)
#define PGDIR_MASK	(~(PGDIR_SIZE - 1))
#define HPAGE_PMD_ORDER	(PMD_SHIFT - PAGE_SHIFT)
#define HPAGE_PMD_NR	(1 << HPAGE_PMD_ORDER)
#define HPAGE_PMD_SIZE	PMD_SIZE
#define HPAGE_PMD_MASK	PMD_MASK
#define TASK_SIZE	((1UL << 47) - PAGE_SIZE)

#define PAGE_ALIGN(x)	(((x) + PAGE_SIZE - 1) & PAGE_MASK)
#define PAGE_ALIGNED(x)	(((x) & (PAGE_SIZE - 1)) == 0)

static inline unsigned pgd_index(uint64_t a) { return (a >> PGDIR_SHIFT) & (PTRS_PER_PGD - 1); }
static inline unsigned pud_index(uint64_t a) { return (a >> PUD_SHIFT) & (PTRS_PER_PUD - 1); }
static inline unsigned pmd_index(uint64_t a) { return (a >> PMD_SHIFT) & (PTRS_PER_PMD - 1); }
static inline unsigned pte_index(uint64_t a) { return (a >> PAGE_SHIFT) & (PTRS_PER_PTE - 1); }

/* End of the table region containing addr, clamped to end (pXd_addr_end). */
static inline uint64_t __table_addr_end(uint64_t addr, uint64_t end, uint64_t size)
{
	uint64_t b = (addr + size) & ~(size - 1);

	return (b - 1 < end - 1) ? b : end;
}
static inline uint64_t pgd_addr_end(uint64_t a, uint64_t e) { return __table_addr_end(a, e, PGDIR_SIZE); }
static inline uint64_t pud_addr_end(uint64_t a, uint64_t e) { return __table_addr_end(a, e, PUD_SIZE); }
static inline uint64_t pmd_addr_end(uint64_t a, uint64_t e) { return __table_addr_end(a, e, PMD_SIZE); }

#include "arch/pgtable_types.h"

typedef struct { uint64_t pte; } pte_t;
typedef struct { uint64_t pmd; } pmd_t;
typedef struct { uint64_t pud; } pud_t;
typedef struct { uint64_t pgd; } pgd_t;
typedef struct { uint64_t pgprot; } pgprot_t;

#define __pte(x)	((pte_t){ (x) })
#define __pmd(x)	((pmd_t){ (x) })
#define __pud(x)	((pud_t){ (x) })
#define __pgd(x)	((pgd_t){ (x) })
#define __pgprot(x)	((pgprot_t){ (x) })
static inline uint64_t pte_val(pte_t p) { return p.pte; }
static inline uint64_t pmd_val(pmd_t p) { return p.pmd; }
static inline uint64_t pud_val(pud_t p) { return p.pud; }
static inline uint64_t pgd_val(pgd_t p) { return p.pgd; }
static inline uint64_t pgprot_val(pgprot_t p) { return p.pgprot; }

/* A protection with the tagged attribute, as arm64's PTE_ATTRINDX(MT_NORMAL_TAGGED). */
static inline pgprot_t pgprot_tagged(pgprot_t p) { return __pgprot(pgprot_val(p) | _PAGE_MTE); }

/* ---- pte ------------------------------------------------------------------- */

static inline bool pte_none(pte_t p) { return pte_val(p) == 0; }
/* "Present" to the core includes PROT_NONE entries, as on x86. */
static inline bool pte_present(pte_t p) { return pte_val(p) & (_PAGE_PRESENT | _PAGE_PROTNONE); }
static inline bool pte_protnone(pte_t p) { return (pte_val(p) & (_PAGE_PRESENT | _PAGE_PROTNONE)) == _PAGE_PROTNONE; }
/* What the hardware walker may use. */
static inline bool pte_hw_valid(pte_t p) { return pte_val(p) & _PAGE_PRESENT; }
/* May a user access (a write if write) go through the entry without a fault? */
static inline bool pte_access_permitted(pte_t p, bool write)
{
	uint64_t need = _PAGE_PRESENT | _PAGE_USER | (write ? _PAGE_RW : 0);

	return (pte_val(p) & need) == need;
}
static inline bool pte_write(pte_t p) { return pte_val(p) & _PAGE_RW; }
static inline bool pte_dirty(pte_t p) { return pte_val(p) & _PAGE_DIRTY; }
static inline bool pte_young(pte_t p) { return pte_val(p) & _PAGE_ACCESSED; }
static inline bool pte_special(pte_t p) { return pte_val(p) & _PAGE_SPECIAL; }
static inline bool pte_soft_dirty(pte_t p) { return pte_val(p) & _PAGE_SOFT_DIRTY; }
static inline bool pte_uffd_wp(pte_t p) { return pte_val(p) & _PAGE_UFFD_WP; }
static inline bool pte_exec(pte_t p) { return !(pte_val(p) & _PAGE_NX); }
/* arm64's pte_tagged(): the mapping carries the tagged memory attribute. */
static inline bool pte_tagged(pte_t p) { return pte_val(p) & _PAGE_MTE; }
static inline unsigned long pte_pfn(pte_t p) { return (pte_val(p) & _PFN_MASK) >> _PFN_SHIFT; }

static inline pte_t pte_set_flags(pte_t p, uint64_t f) { return __pte(pte_val(p) | f); }
static inline pte_t pte_clear_flags(pte_t p, uint64_t f) { return __pte(pte_val(p) & ~f); }
/* pte_mkwrite_novma: the core decides writability from the VMA; see mm. */
static inline pte_t pte_mkwrite_novma(pte_t p) { return pte_set_flags(p, _PAGE_RW); }
static inline pte_t pte_wrprotect(pte_t p) { return pte_clear_flags(p, _PAGE_RW); }
static inline pte_t pte_mkdirty(pte_t p) { return pte_set_flags(p, _PAGE_DIRTY | _PAGE_SOFT_DIRTY); }
static inline pte_t pte_mkclean(pte_t p) { return pte_clear_flags(p, _PAGE_DIRTY); }
static inline pte_t pte_mkyoung(pte_t p) { return pte_set_flags(p, _PAGE_ACCESSED); }
static inline pte_t pte_mkold(pte_t p) { return pte_clear_flags(p, _PAGE_ACCESSED); }
static inline pte_t pte_mkspecial(pte_t p) { return pte_set_flags(p, _PAGE_SPECIAL); }
static inline pte_t pte_mksoft_dirty(pte_t p) { return pte_set_flags(p, _PAGE_SOFT_DIRTY); }
static inline pte_t pte_clear_soft_dirty(pte_t p) { return pte_clear_flags(p, _PAGE_SOFT_DIRTY); }
static inline pte_t pte_mkuffd_wp(pte_t p) { return pte_wrprotect(pte_set_flags(p, _PAGE_UFFD_WP)); }
static inline pte_t pte_clear_uffd_wp(pte_t p) { return pte_clear_flags(p, _PAGE_UFFD_WP); }

static inline pte_t pfn_pte(unsigned long pfn, pgprot_t prot)
{
	return __pte(((uint64_t)pfn << _PFN_SHIFT) | pgprot_val(prot));
}

/* Change protection keeping pfn and state bits (x86 pte_modify). */
static inline pte_t pte_modify(pte_t p, pgprot_t newprot)
{
	return __pte((pte_val(p) & _PAGE_CHG_MASK) | (pgprot_val(newprot) & ~_PAGE_CHG_MASK));
}

static inline bool pte_same(pte_t a, pte_t b) { return pte_val(a) == pte_val(b); }
/* The same entry nr frames further on (pte_advance_pfn): the next page of a large folio. */
static inline pte_t pte_advance_pfn(pte_t p, unsigned long nr)
{
	return __pte(pte_val(p) + ((uint64_t)nr << _PFN_SHIFT));
}

/* ---- live entries: atomic accessors --------------------------------------- */

static inline pte_t ptep_get(pte_t *ptep) { return __pte(mml_load64(&ptep->pte)); }
static inline void set_pte(pte_t *ptep, pte_t p) { mml_store64(&ptep->pte, pte_val(p)); }
static inline void pte_clear(pte_t *ptep) { mml_store64(&ptep->pte, 0); }
static inline pte_t ptep_get_and_clear(pte_t *ptep) { return __pte(mml_xchg64(&ptep->pte, 0)); }
/* Atomic, because the walker may set A/D concurrently. */
static inline void ptep_set_wrprotect(pte_t *ptep) { mml_fetch_and64(&ptep->pte, ~_PAGE_RW); }
/* clear_soft_dirty(): write-protected and not soft-dirty, so the next write faults and marks it again. */
static inline void ptep_clear_soft_dirty(pte_t *ptep) { mml_fetch_and64(&ptep->pte, ~(_PAGE_RW | _PAGE_SOFT_DIRTY)); }
static inline bool ptep_test_and_clear_young(pte_t *ptep)
{
	return mml_fetch_and64(&ptep->pte, ~_PAGE_ACCESSED) & _PAGE_ACCESSED;
}
/* Install entry where old was, under the pte lock but racing the walker. */
static inline bool ptep_cmpxchg(pte_t *ptep, pte_t *old, pte_t new)
{
	return mml_cmpxchg64(&ptep->pte, &old->pte, pte_val(new));
}

/* ---- installing entries, copying pages (arch/mmu.c) ------------------------- */

struct mm_struct;
struct mml_machine;
struct page;

/*
 * A new mapping of a page (set_pte_at), or of nr consecutive frames from
 * pte's (set_ptes, for a large folio), under the pte lock.  As on arm64, a
 * page mapped with the tagged attribute gets valid tags first.
 */
void set_pte_at(struct mm_struct *mm, uint64_t addr, pte_t *ptep, pte_t pte);
void set_ptes(struct mm_struct *mm, uint64_t addr, pte_t *ptep, pte_t pte, unsigned int nr);
/*
 * Add the accessed, dirty and write bits of entry to the live entry, never
 * taking one away (the walker may set dirty meanwhile); true if it changed.
 * The entry must map the same frame.
 */
bool ptep_set_access_flags(pte_t *ptep, pte_t entry);
/* A user page's bytes and whatever the machine keeps beside them (tags). */
void copy_user_highpage(struct mml_machine *m, struct page *to, struct page *from);

/* ---- upper levels ------------------------------------------------------------ */

static inline pmd_t pmdp_get(pmd_t *p) { return __pmd(mml_load64_at(&p->pmd, SP_DIR_LOAD)); }
static inline pud_t pudp_get(pud_t *p) { return __pud(mml_load64_at(&p->pud, SP_DIR_LOAD)); }
static inline pgd_t pgdp_get(pgd_t *p) { return __pgd(mml_load64_at(&p->pgd, SP_DIR_LOAD)); }
static inline void set_pmd(pmd_t *p, pmd_t v) { mml_store64(&p->pmd, pmd_val(v)); }
static inline void set_pud(pud_t *p, pud_t v) { mml_store64(&p->pud, pud_val(v)); }
static inline void set_pgd(pgd_t *p, pgd_t v) { mml_store64(&p->pgd, pgd_val(v)); }
static inline pmd_t pmdp_get_and_clear(pmd_t *p) { return __pmd(mml_xchg64(&p->pmd, 0)); }

static inline bool pmd_none(pmd_t p) { return pmd_val(p) == 0; }
static inline bool pud_none(pud_t p) { return pud_val(p) == 0; }
static inline bool pgd_none(pgd_t p) { return pgd_val(p) == 0; }
/* As x86's: a leaf made invalid (pmdp_invalidate) is still "present", and still a leaf. */
static inline bool pmd_present(pmd_t p) { return pmd_val(p) & (_PAGE_PRESENT | _PAGE_PROTNONE | _PAGE_PSE); }
static inline bool pud_present(pud_t p) { return pud_val(p) & _PAGE_PRESENT; }
static inline bool pgd_present(pgd_t p) { return pgd_val(p) & _PAGE_PRESENT; }
/* A leaf (huge) entry at pmd or pud level maps memory, not a table. */
static inline bool pmd_leaf(pmd_t p) { return pmd_val(p) & _PAGE_PSE; }
static inline bool pud_leaf(pud_t p) { return pud_present(p) && (pud_val(p) & _PAGE_PSE); }
static inline bool pmd_write(pmd_t p) { return pmd_val(p) & _PAGE_RW; }
static inline bool pmd_dirty(pmd_t p) { return pmd_val(p) & _PAGE_DIRTY; }
static inline bool pmd_young(pmd_t p) { return pmd_val(p) & _PAGE_ACCESSED; }
static inline unsigned long pmd_pfn(pmd_t p) { return (pmd_val(p) & _PFN_MASK) >> _PFN_SHIFT; }
static inline unsigned long pud_pfn(pud_t p) { return (pud_val(p) & _PFN_MASK) >> _PFN_SHIFT; }
static inline unsigned long pgd_pfn(pgd_t p) { return (pgd_val(p) & _PFN_MASK) >> _PFN_SHIFT; }
/* An entry that points to a lower table: present, not a leaf. */
static inline bool pmd_table(pmd_t p) { return (pmd_val(p) & (_PAGE_PRESENT | _PAGE_PSE)) == _PAGE_PRESENT; }
static inline bool pud_table(pud_t p) { return (pud_val(p) & (_PAGE_PRESENT | _PAGE_PSE)) == _PAGE_PRESENT; }
static inline bool pgd_table(pgd_t p) { return pgd_present(p); }
/* Anything else in a table slot is corruption (pmd_bad). */
static inline bool pmd_bad(pmd_t p) { return !pmd_none(p) && !pmd_present(p) && !(pmd_val(p) >> _SWP_TYPE_SHIFT); }

/* Entries that point to a table in frame pfn (pmd_populate and friends). */
static inline pmd_t pmd_mktable(unsigned long pfn) { return __pmd(((uint64_t)pfn << _PFN_SHIFT) | _PAGE_TABLE); }
static inline pud_t pud_mktable(unsigned long pfn) { return __pud(((uint64_t)pfn << _PFN_SHIFT) | _PAGE_TABLE); }
static inline pgd_t pgd_mktable(unsigned long pfn) { return __pgd(((uint64_t)pfn << _PFN_SHIFT) | _PAGE_TABLE); }

/*
 * PMD leaves: a 2 MiB page mapped by one pmd (THP, DAX), built and changed
 * like ptes.  pmd_trans_huge() is a leaf, valid or made invalid, as x86's.
 */
static inline bool pmd_same(pmd_t a, pmd_t b) { return pmd_val(a) == pmd_val(b); }
static inline bool pmd_trans_huge(pmd_t p) { return pmd_leaf(p); }
static inline bool pmd_protnone(pmd_t p) { return (pmd_val(p) & (_PAGE_PRESENT | _PAGE_PROTNONE)) == _PAGE_PROTNONE; }
static inline bool pmd_special(pmd_t p) { return pmd_val(p) & _PAGE_SPECIAL; }
static inline bool pmd_access_permitted(pmd_t p, bool write)
{
	return pte_access_permitted(__pte(pmd_val(p)), write);
}
static inline pmd_t pfn_pmd(unsigned long pfn, pgprot_t prot)
{
	return __pmd(((uint64_t)pfn << _PFN_SHIFT) | pgprot_val(prot));
}
static inline pmd_t pmd_mkhuge(pmd_t p) { return __pmd(pmd_val(p) | _PAGE_PSE); }
/*
 * pmd_mkinvalid(): a leaf no CPU or lockless walker may use (not present to
 * the hardware), that every walker taking the pmd lock still sees as a
 * leaf, and waits for: what a split holds while it builds the ptes.
 */
static inline pmd_t pmd_mkinvalid(pmd_t p) { return __pmd(pmd_val(p) & ~(_PAGE_PRESENT | _PAGE_PROTNONE)); }
static inline pmd_t pmd_mkwrite_novma(pmd_t p) { return __pmd(pmd_val(p) | _PAGE_RW); }
static inline pmd_t pmd_wrprotect(pmd_t p) { return __pmd(pmd_val(p) & ~_PAGE_RW); }
static inline pmd_t pmd_mkdirty(pmd_t p) { return __pmd(pmd_val(p) | _PAGE_DIRTY | _PAGE_SOFT_DIRTY); }
static inline pmd_t pmd_mkclean(pmd_t p) { return __pmd(pmd_val(p) & ~_PAGE_DIRTY); }
static inline pmd_t pmd_mkyoung(pmd_t p) { return __pmd(pmd_val(p) | _PAGE_ACCESSED); }
static inline pmd_t pmd_mkold(pmd_t p) { return __pmd(pmd_val(p) & ~_PAGE_ACCESSED); }
static inline pmd_t pmd_mkspecial(pmd_t p) { return __pmd(pmd_val(p) | _PAGE_SPECIAL); }
/* Change protection keeping pfn, state bits and the leaf bit (x86 pmd_modify). */
static inline pmd_t pmd_modify(pmd_t p, pgprot_t newprot)
{
	return __pmd((pmd_val(p) & _PAGE_CHG_MASK) | (pgprot_val(newprot) & ~_PAGE_CHG_MASK));
}
static inline void pmdp_set_wrprotect(pmd_t *p) { mml_fetch_and64(&p->pmd, ~_PAGE_RW); }
static inline void pmdp_clear_soft_dirty(pmd_t *p) { mml_fetch_and64(&p->pmd, ~(_PAGE_RW | _PAGE_SOFT_DIRTY)); }
static inline bool pmdp_test_and_clear_young(pmd_t *p)
{
	return mml_fetch_and64(&p->pmd, ~_PAGE_ACCESSED) & _PAGE_ACCESSED;
}
/* Add the accessed, dirty and write bits of entry to the live leaf, as ptep_set_access_flags. */
bool pmdp_set_access_flags(pmd_t *pmdp, pmd_t entry);
/*
 * A new pmd leaf (set_pmd_at): as set_pte_at, pages mapped with the tagged
 * attribute get valid tags first, all 512 of them.
 */
void set_pmd_at(struct mm_struct *mm, uint64_t addr, pmd_t *pmdp, pmd_t pmd);
/* The protection bits of a pmd leaf, for the ptes that replace it (pmd_pgprot). */
static inline pgprot_t pmd_pgprot(pmd_t p)
{
	return __pgprot(pmd_val(p) & ~(_PFN_MASK | _PAGE_PSE | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_SOFT_DIRTY |
				       _PAGE_SPECIAL));
}
static inline bool pmd_soft_dirty(pmd_t p) { return pmd_val(p) & _PAGE_SOFT_DIRTY; }
static inline bool pmd_tagged(pmd_t p) { return pmd_val(p) & _PAGE_MTE; }
/* The entry a pte of the 4 KiB page at index i of a pmd leaf would hold (split_huge_pmd). */
static inline pte_t pmd_pte_at(pmd_t p, unsigned i)
{
	return __pte(((pmd_val(p) & ~_PAGE_PSE) & ~_PFN_MASK) |
		     ((uint64_t)(pmd_pfn(p) + i) << _PFN_SHIFT));
}

/* ---- swap-format entries (the generic part lives in mm/swapops.h) ------------ */

typedef struct { uint64_t val; } swp_entry_t;

/* The arch-private encoding of a swap entry in a non-present pte. */
static inline pte_t __swp_entry_to_pte(unsigned type, uint64_t offset)
{
	return __pte(((uint64_t)type << _SWP_TYPE_SHIFT) |
		     ((offset & ((1ULL << _SWP_OFFSET_BITS) - 1)) << _SWP_OFFSET_SHIFT));
}
static inline unsigned __pte_swp_type(pte_t p) { return (pte_val(p) >> _SWP_TYPE_SHIFT) & ((1u << _SWP_TYPE_BITS) - 1); }
static inline uint64_t __pte_swp_offset(pte_t p) { return (pte_val(p) >> _SWP_OFFSET_SHIFT) & ((1ULL << _SWP_OFFSET_BITS) - 1); }
static inline bool is_swap_pte(pte_t p) { return !pte_none(p) && !pte_present(p); }
static inline bool pte_swp_exclusive(pte_t p) { return pte_val(p) & _PAGE_SWP_EXCLUSIVE; }
static inline pte_t pte_swp_mkexclusive(pte_t p) { return pte_set_flags(p, _PAGE_SWP_EXCLUSIVE); }
static inline pte_t pte_swp_clear_exclusive(pte_t p) { return pte_clear_flags(p, _PAGE_SWP_EXCLUSIVE); }
static inline bool pte_swp_soft_dirty(pte_t p) { return pte_val(p) & _PAGE_SWP_SOFT_DIRTY; }
static inline pte_t pte_swp_mksoft_dirty(pte_t p) { return pte_set_flags(p, _PAGE_SWP_SOFT_DIRTY); }
static inline pte_t pte_swp_clear_soft_dirty(pte_t p) { return pte_clear_flags(p, _PAGE_SWP_SOFT_DIRTY); }
static inline bool pte_swp_uffd_wp(pte_t p) { return pte_val(p) & _PAGE_SWP_UFFD_WP; }
static inline pte_t pte_swp_mkuffd_wp(pte_t p) { return pte_set_flags(p, _PAGE_SWP_UFFD_WP); }
static inline pte_t pte_swp_clear_uffd_wp(pte_t p) { return pte_clear_flags(p, _PAGE_SWP_UFFD_WP); }
#define __SWP_TYPE_BITS _SWP_TYPE_BITS
#define __SWP_OFFSET_BITS _SWP_OFFSET_BITS

#endif /* MML_ARCH_PGTABLE_H */
