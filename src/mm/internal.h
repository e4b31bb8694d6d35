/*
 * internal.h - declarations shared by the files of the Linux-modelled core
 * (Linux keeps these in mm/internal.h, include/linux/mm.h, page-flags.h,
 * rmap.h and pgtable.h).
 */
#ifndef MML_MM_INTERNAL_H
#define MML_MM_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "arch/mte.h"
#include "mm/mm_types.h"

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#define min(a, b)	((a) < (b) ? (a) : (b))
#define max(a, b)	((a) > (b) ? (a) : (b))
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- the current CPU ------------------------------------------------------------------- */

/* The task whose operation this host thread is executing (Linux's current). */
extern __thread struct mml_task *current;

/* ---- reports and assertions (debug.c) --------------------------------------------------- */

void mml_report(struct mml_machine *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dump_page(struct mml_machine *m, const struct page *page, const char *reason);
void dump_vma(const struct vm_area_struct *vma);
void dump_mm(const struct mm_struct *mm);
_Noreturn void mml_bug(const char *file, int line, const char *cond);

#define VM_BUG_ON(cond) do { if (unlikely(cond)) mml_bug(__FILE__, __LINE__, #cond); } while (0)
#define VM_BUG_ON_PAGE(cond, m, page) do { if (unlikely(cond)) { \
	dump_page(m, page, #cond); mml_bug(__FILE__, __LINE__, #cond); } } while (0)
#define VM_BUG_ON_FOLIO(cond, m, folio) VM_BUG_ON_PAGE(cond, m, &(folio)->page)
/* A broken rule the machine survives: reported (the run fails), not fatal. */
#define VM_WARN_ON_PAGE(cond, m, page) do { if (unlikely(cond)) { dump_page(m, page, #cond); \
	mml_report(m, "WARNING at %s:%d: %s", __FILE__, __LINE__, #cond); } } while (0)
#define VM_BUG_ON_VMA(cond, vma) do { if (unlikely(cond)) { \
	dump_vma(vma); mml_bug(__FILE__, __LINE__, #cond); } } while (0)
#define VM_BUG_ON_MM(cond, mm) do { if (unlikely(cond)) { \
	dump_mm(mm); mml_bug(__FILE__, __LINE__, #cond); } } while (0)
#define mmap_assert_locked(mm)		lockdep_assert_held_rwsem(&(mm)->mmap_lock)
#define mmap_assert_write_locked(mm)	lockdep_assert_held_write(&(mm)->mmap_lock)

bool folio_is_valid(struct mml_machine *m, struct folio *folio, FILE *why);
bool vma_is_valid(struct vm_area_struct *vma, FILE *why);
bool anon_vma_is_valid(struct anon_vma *av, FILE *why);
bool mm_is_valid(struct mm_struct *mm, FILE *why);

/* ---- frames ---------------------------------------------------------------------------- */

static inline unsigned long page_to_pfn(struct mml_machine *m, const struct page *p)
{
	return (unsigned long)(p - m->mem_map);
}
static inline struct page *pfn_to_page(struct mml_machine *m, unsigned long pfn)
{
	return &m->mem_map[pfn];
}
static inline bool pfn_valid(struct mml_machine *m, unsigned long pfn) { return pfn < m->nr_frames; }
static inline void *pfn_to_virt(struct mml_machine *m, unsigned long pfn)
{
	return (char *)m->ram + (pfn << PAGE_SHIFT);
}
static inline void *page_address(struct mml_machine *m, const struct page *p)
{
	return pfn_to_virt(m, page_to_pfn(m, p));
}

static inline struct folio *page_folio(const struct page *p)
{
	unsigned long head = READ_ONCE(p->compound_head);

	if (head & 1)
		return (struct folio *)(head - 1);
	return (struct folio *)p;
}
static inline struct page *folio_page(struct folio *f, unsigned long n) { return &f->page + n; }
static inline unsigned long folio_pfn(struct mml_machine *m, struct folio *f) { return page_to_pfn(m, &f->page); }
static inline void *folio_address(struct mml_machine *m, struct folio *f) { return page_address(m, &f->page); }
static inline unsigned int folio_order(const struct folio *f) { return f->order; }
static inline long folio_nr_pages(const struct folio *f) { return 1L << f->order; }
static inline bool folio_test_large(const struct folio *f) { return f->order > 0; }

/* Flag accessors generated once, as Linux's page-flags.h does. */
#define FOLIO_FLAG(name, bit)								\
static inline bool folio_test_##name(const struct folio *f) { return test_bit(bit, (unsigned long *)&f->flags); } \
static inline void folio_set_##name(struct folio *f) { set_bit(bit, &f->flags); }	\
static inline void folio_clear_##name(struct folio *f) { clear_bit(bit, &f->flags); }	\
static inline void __folio_set_##name(struct folio *f) { __set_bit(bit, &f->flags); }	\
static inline void __folio_clear_##name(struct folio *f) { __clear_bit(bit, &f->flags); } \
static inline bool folio_test_clear_##name(struct folio *f) { return test_and_clear_bit(bit, &f->flags); }
#define PAGE_FLAG(name, bit)								\
static inline bool Page##name(const struct page *p) { return test_bit(bit, (unsigned long *)&p->flags); } \
static inline void SetPage##name(struct page *p) { set_bit(bit, &p->flags); }		\
static inline void ClearPage##name(struct page *p) { clear_bit(bit, &p->flags); }	\
static inline void __SetPage##name(struct page *p) { __set_bit(bit, &p->flags); }	\
static inline void __ClearPage##name(struct page *p) { __clear_bit(bit, &p->flags); }

FOLIO_FLAG(locked, PG_locked)
FOLIO_FLAG(referenced, PG_referenced)
FOLIO_FLAG(uptodate, PG_uptodate)
FOLIO_FLAG(dirty, PG_dirty)
FOLIO_FLAG(lru, PG_lru)
FOLIO_FLAG(head, PG_head)
FOLIO_FLAG(active, PG_active)
FOLIO_FLAG(workingset, PG_workingset)
FOLIO_FLAG(swapcache, PG_swapcache)
FOLIO_FLAG(swapbacked, PG_swapbacked)
FOLIO_FLAG(writeback, PG_writeback)
FOLIO_FLAG(reclaim, PG_reclaim)
FOLIO_FLAG(unevictable, PG_unevictable)
FOLIO_FLAG(mlocked, PG_mlocked)
FOLIO_FLAG(large_rmappable, PG_large_rmappable)
PAGE_FLAG(AnonExclusive, PG_anon_exclusive)
PAGE_FLAG(Buddy, PG_buddy)
PAGE_FLAG(Table, PG_table)
PAGE_FLAG(Reserved, PG_reserved)
PAGE_FLAG(Head, PG_head)

static inline bool folio_test_anon(const struct folio *f)
{
	return ((unsigned long)READ_ONCE(f->mapping) & PAGE_MAPPING_ANON) != 0;
}
static inline struct anon_vma *folio_anon_vma(const struct folio *f)
{
	unsigned long mapping = (unsigned long)READ_ONCE(f->mapping);

	if (!(mapping & PAGE_MAPPING_ANON))
		return NULL;
	return (struct anon_vma *)(mapping - PAGE_MAPPING_ANON);
}

/* References. */
static inline int folio_ref_count(const struct folio *f) { return atomic_read(&f->_refcount); }
static inline void folio_get(struct folio *f) { atomic_inc(&f->_refcount); }
static inline void folio_ref_add(struct folio *f, int n) { atomic_add(n, &f->_refcount); }
static inline bool folio_try_get(struct folio *f) { return atomic_add_unless(&f->_refcount, 1, 0); }
void __folio_put(struct mml_machine *m, struct folio *f);
static inline void folio_put(struct mml_machine *m, struct folio *f)
{
	if (atomic_dec_and_test(&f->_refcount))
		__folio_put(m, f);
}
static inline void folio_put_refs(struct mml_machine *m, struct folio *f, int refs)
{
	if (atomic_sub_return(refs, &f->_refcount) == 0)
		__folio_put(m, f);
}

/* Mappings (small folios: the page's _mapcount; large: the folio's). */
static inline int page_mapcount(const struct page *p) { return atomic_read(&p->_mapcount) + 1; }
static inline int folio_mapcount(const struct folio *f)
{
	if (!folio_test_large(f))
		return atomic_read(&f->_mapcount) + 1;
	return atomic_read(&f->_large_mapcount) + 1;
}
static inline bool folio_mapped(const struct folio *f) { return folio_mapcount(f) > 0; }

/* Pins: folio_maybe_dma_pinned, as Linux (small folios count in refcount). */
static inline bool folio_maybe_dma_pinned(const struct folio *f)
{
	if (folio_test_large(f))
		return atomic_read(&f->_pincount) > 0;
	return folio_ref_count(f) >= GUP_PIN_COUNTING_BIAS;
}

/* The folio lock (PG_locked), a sleeping bit lock. */
static inline void folio_lock(struct folio *f) { bit_lock(PG_locked, &f->flags); }
static inline bool folio_trylock(struct folio *f) { return bit_trylock(PG_locked, &f->flags); }
static inline void folio_unlock(struct folio *f) { bit_unlock(PG_locked, &f->flags); }

/* ---- page allocator (page_alloc.c) ------------------------------------------------------- */

typedef unsigned int gfp_t;
#define __GFP_ZERO	0x01u
#define __GFP_NOWARN	0x02u
#define __GFP_PGTABLE	0x04u	/* accounting: a page-table page */
#define __GFP_DIRECT_RECLAIM 0x08u	/* may reclaim memory itself to succeed */
#define GFP_KERNEL	(0x10u | __GFP_DIRECT_RECLAIM)
#define GFP_HIGHUSER_MOVABLE (0x20u | __GFP_DIRECT_RECLAIM)
#define SWAP_CLUSTER_MAX 32
/* Larger requests fail rather than kill (Linux: PAGE_ALLOC_COSTLY_ORDER). */
#define PAGE_ALLOC_COSTLY_ORDER 3
#define GFP_PGTABLE_USER (GFP_KERNEL | __GFP_ZERO | __GFP_PGTABLE)

#define PAGE_POISON	0xaa	/* freed frames are filled with this (Linux's PAGE_POISON) */

int page_alloc_init(struct mml_machine *m);
void page_alloc_exit(struct mml_machine *m);
struct page *alloc_pages(struct mml_machine *m, gfp_t gfp, unsigned int order);
void __free_pages(struct mml_machine *m, struct page *page, unsigned int order);
struct folio *folio_alloc(struct mml_machine *m, gfp_t gfp, unsigned int order);
/* vma_alloc_folio: a new anon folio for a fault, zeroed if asked */
struct folio *vma_alloc_folio(struct vm_area_struct *vma, gfp_t gfp, unsigned int order, uint64_t addr);
unsigned long nr_free_pages(struct mml_machine *m);
bool page_is_free(struct page *page);

/* ---- metadata objects (machine.c) ------------------------------------------------------- */

void *mml_obj_alloc(struct mml_machine *m, enum mml_obj_kind kind, size_t size);
void mml_obj_free(struct mml_machine *m, enum mml_obj_kind kind, void *p);
extern const char *const mml_obj_names[NR_OBJ_KINDS];

/* ---- vmstat (vmstat.c) ------------------------------------------------------------------- */

static inline void mod_vm_stat(struct mml_machine *m, enum vm_stat_item i, long delta)
{
	atomic_long_add(delta, &m->vm_stat[i]);
}
static inline void count_vm_event(struct mml_machine *m, enum vm_stat_item i) { mod_vm_stat(m, i, 1); }
static inline void count_vm_events(struct mml_machine *m, enum vm_stat_item i, long n) { mod_vm_stat(m, i, n); }
static inline long global_vm_stat(struct mml_machine *m, enum vm_stat_item i) { return atomic_long_read(&m->vm_stat[i]); }

enum mm_counter { MM_ANONPAGES, MM_FILEPAGES, MM_SWAPENTS };
static inline atomic_long_t *mm_counter_ptr(struct mm_struct *mm, enum mm_counter c)
{
	return c == MM_ANONPAGES ? &mm->rss_anon : c == MM_FILEPAGES ? &mm->rss_file : &mm->rss_swap;
}
static inline void add_mm_counter(struct mm_struct *mm, enum mm_counter c, long v) { atomic_long_add(v, mm_counter_ptr(mm, c)); }
static inline long get_mm_counter(struct mm_struct *mm, enum mm_counter c) { return atomic_long_read(mm_counter_ptr(mm, c)); }

/* ---- page tables (pgtable.c) -------------------------------------------------------------- */

static inline pud_t *pud_table_of(struct mml_machine *m, pgd_t pgd) { return pfn_to_virt(m, pgd_pfn(pgd)); }
static inline pmd_t *pmd_table_of(struct mml_machine *m, pud_t pud) { return pfn_to_virt(m, pud_pfn(pud)); }
static inline pte_t *pte_table_of(struct mml_machine *m, pmd_t pmd) { return pfn_to_virt(m, pmd_pfn(pmd)); }
static inline pgd_t *pgd_offset(struct mm_struct *mm, uint64_t a) { return mm->pgd + pgd_index(a); }
static inline pud_t *pud_offset(struct mml_machine *m, pgd_t *pgd, uint64_t a) { return pud_table_of(m, pgdp_get(pgd)) + pud_index(a); }
static inline pmd_t *pmd_offset(struct mml_machine *m, pud_t *pud, uint64_t a) { return pmd_table_of(m, pudp_get(pud)) + pmd_index(a); }
/* The page-table page (struct ptdesc) that holds an entry. */
static inline struct ptdesc *virt_to_ptdesc(struct mml_machine *m, const void *entry)
{
	return pfn_to_page(m, ((uintptr_t)entry - (uintptr_t)m->ram) >> PAGE_SHIFT);
}

struct ptdesc *pagetable_alloc(struct mm_struct *mm);
void pagetable_free(struct mm_struct *mm, struct ptdesc *pt);	/* immediate; caller ensures no walker */
void pagetable_free_rcu(struct mm_struct *mm, struct ptdesc *pt);	/* after a grace period */
int pgd_alloc(struct mm_struct *mm);
void pgd_free(struct mm_struct *mm);
int __pud_alloc(struct mm_struct *mm, pgd_t *pgd);
int __pmd_alloc(struct mm_struct *mm, pud_t *pud);
int __pte_alloc(struct mm_struct *mm, pmd_t *pmd);
pud_t *pud_alloc(struct mm_struct *mm, pgd_t *pgd, uint64_t addr);
pmd_t *pmd_alloc(struct mm_struct *mm, pud_t *pud, uint64_t addr);
/* Walk to the pmd of addr without allocating; NULL if absent. */
pmd_t *mm_find_pmd(struct mm_struct *mm, uint64_t addr);
/* Map the pte table under pmd and lock it; NULL if the pmd no longer points to a table. */
pte_t *pte_offset_map_lock(struct mm_struct *mm, pmd_t *pmd, uint64_t addr, spinlock_t **ptlp);
pte_t *pte_offset_map(struct mm_struct *mm, pmd_t *pmd, uint64_t addr, pmd_t *pmdvalp);
static inline spinlock_t *pte_lockptr(struct mml_machine *m, pmd_t pmd)
{
	return pfn_to_page(m, pmd_pfn(pmd))->ptl;
}
static inline void pte_unmap(pte_t *pte) { rcu_read_unlock(); }
/*
 * Models set_pte_at(): install a new mapping.  As on arm64, a page mapped
 * with the tagged attribute has its tags made valid first (mte_sync_tags).
 */
static inline void set_pte_at(struct mm_struct *mm, uint64_t addr, pte_t *ptep, pte_t pte)
{
	if (pte_tagged(pte))
		mte_sync_tags(mm->machine, pte);
	set_pte(ptep, pte);
}
static inline void pte_unmap_unlock(pte_t *pte, spinlock_t *ptl) { spin_unlock(ptl); pte_unmap(pte); }
spinlock_t *pmd_lockptr(struct mm_struct *mm, pmd_t *pmd);

/* ---- TLB batching (mmu_gather.c) ---------------------------------------------------------- */

#define MMU_GATHER_BATCH 64

struct mmu_gather {
	struct mm_struct *mm;
	uint64_t start, end;		/* range to flush */
	bool fullmm;			/* tearing the whole mm down */
	bool freed_tables;
	unsigned int nr;
	struct { struct folio *folio; int refs; } batch[MMU_GATHER_BATCH];
	unsigned int nr_tables;
	struct ptdesc *tables[MMU_GATHER_BATCH];
};

void tlb_gather_mmu(struct mmu_gather *tlb, struct mm_struct *mm);
void tlb_gather_mmu_fullmm(struct mmu_gather *tlb, struct mm_struct *mm);
void tlb_finish_mmu(struct mmu_gather *tlb);
void tlb_flush_mmu(struct mmu_gather *tlb);
/* Queue one reference to folio to be dropped after the flush; true = batch full. */
bool __tlb_remove_folio(struct mmu_gather *tlb, struct folio *folio);
void tlb_remove_table(struct mmu_gather *tlb, struct ptdesc *pt);
void free_pgd_range(struct mmu_gather *tlb, uint64_t addr, uint64_t end, uint64_t floor, uint64_t ceiling);
static inline void tlb_flush_pte_range(struct mmu_gather *tlb, uint64_t addr, uint64_t size)
{
	tlb->start = min(tlb->start, addr);
	tlb->end = max(tlb->end, addr + size);
}

/* ---- VMAs (vma.c, vma_tree.c) -------------------------------------------------------------- */

struct vm_area_struct *vm_area_alloc(struct mm_struct *mm);
struct vm_area_struct *vm_area_dup(struct vm_area_struct *orig);
void vm_area_free(struct vm_area_struct *vma);

/* The mm's VMAs in address order (Linux: the maple tree). */
struct vm_area_struct *find_vma(struct mm_struct *mm, uint64_t addr);	/* first with vm_end > addr */
struct vm_area_struct *vma_lookup(struct mm_struct *mm, uint64_t addr);	/* the one containing addr */
struct vm_area_struct *find_vma_intersection(struct mm_struct *mm, uint64_t start, uint64_t end);
struct vm_area_struct *vma_next(struct vm_area_struct *vma);
struct vm_area_struct *vma_prev(struct vm_area_struct *vma);
int vma_tree_reserve(struct mm_struct *mm, unsigned long n);	/* room for n inserts: 0 or -ENOMEM */
void vma_tree_insert(struct mm_struct *mm, struct vm_area_struct *vma);	/* needs a reservation */
void vma_tree_erase(struct mm_struct *mm, struct vm_area_struct *vma);
void vma_tree_destroy(struct mm_struct *mm);
#define for_each_vma(mm, vma) \
	for (vma = find_vma(mm, 0); vma; vma = vma_next(vma))

static inline unsigned long vma_pages(const struct vm_area_struct *v) { return (v->vm_end - v->vm_start) >> PAGE_SHIFT; }
static inline bool vma_is_anonymous(const struct vm_area_struct *v) { return v->vm_file == NULL; }
static inline bool is_cow_mapping(vm_flags_t f) { return (f & (VM_SHARED | VM_MAYWRITE)) == VM_MAYWRITE; }
static inline unsigned long linear_page_index(const struct vm_area_struct *v, uint64_t addr)
{
	return ((addr - v->vm_start) >> PAGE_SHIFT) + v->vm_pgoff;
}
pgprot_t vm_get_page_prot(vm_flags_t flags);
void vma_set_page_prot(struct vm_area_struct *vma);
/* pte_mkwrite: writable only as the VMA allows (the core's single gate for RW). */
static inline pte_t maybe_mkwrite(pte_t pte, struct vm_area_struct *vma)
{
	if (likely(vma->vm_flags & VM_WRITE))
		pte = pte_mkwrite_novma(pte);
	return pte;
}

int split_vma(struct vm_area_struct *vma, uint64_t addr, int new_below);
int split_vma_nolimit(struct vm_area_struct *vma, uint64_t addr, int new_below);	/* munmap's */
struct vm_area_struct *vma_modify_flags(struct vm_area_struct *vma, uint64_t start, uint64_t end,
					vm_flags_t new_flags, int *err);
struct vm_area_struct *vma_try_merge_neighbours(struct vm_area_struct *vma);

/* ---- mmap, munmap, mprotect, madvise ------------------------------------------------------- */

long do_mmap(struct mm_struct *mm, uint64_t addr, uint64_t len, int prot, int flags, int fd, int64_t off);
int do_munmap(struct mm_struct *mm, uint64_t start, uint64_t len);
int do_mprotect_pkey(struct mm_struct *mm, uint64_t start, uint64_t len, int prot);
int do_madvise(struct mm_struct *mm, uint64_t start, uint64_t len, int behavior);
uint64_t get_unmapped_area(struct mm_struct *mm, uint64_t addr, uint64_t len, int flags);
vm_flags_t calc_vm_prot_bits(int prot);
bool arch_validate_flags(vm_flags_t flags);
#define MMAP_MIN_ADDR	65536UL		/* vm.mmap_min_addr */
#define MAX_MAP_COUNT	65530		/* vm.max_map_count */

/* ---- faults and page-table operations (memory.c) --------------------------------------------- */

typedef unsigned int vm_fault_t;
#define VM_FAULT_OOM		0x0001u
#define VM_FAULT_SIGBUS		0x0002u
#define VM_FAULT_SIGSEGV	0x0040u
#define VM_FAULT_RETRY		0x0400u
#define VM_FAULT_NOPAGE		0x0100u
#define VM_FAULT_ERROR		(VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV)

#define FAULT_FLAG_WRITE	0x01u
#define FAULT_FLAG_UNSHARE	0x02u
#define FAULT_FLAG_REMOTE	0x04u	/* GUP on behalf of another */
#define FAULT_FLAG_USER		0x08u

struct vm_fault {
	struct vm_area_struct *vma;
	uint64_t address;		/* page aligned */
	unsigned int flags;
	unsigned long pgoff;
	pmd_t *pmd;
	pte_t *pte;			/* mapped pte, under ptl when locked */
	spinlock_t *ptl;
	pte_t orig_pte;
	struct page *page;
};

vm_fault_t handle_mm_fault(struct vm_area_struct *vma, uint64_t address, unsigned int flags);
struct page *vm_normal_page(struct vm_area_struct *vma, uint64_t addr, pte_t pte);
struct folio *vm_normal_folio(struct vm_area_struct *vma, uint64_t addr, pte_t pte);
int copy_page_range(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma);
void unmap_single_vma(struct mmu_gather *tlb, struct vm_area_struct *vma, uint64_t start, uint64_t end);
void zap_page_range_single(struct vm_area_struct *vma, uint64_t addr, uint64_t size);
long change_protection(struct mmu_gather *tlb, struct vm_area_struct *vma, uint64_t start, uint64_t end);
static inline bool is_zero_pfn(struct mml_machine *m, unsigned long pfn) { return pfn == m->zero_pfn; }

/* ---- GUP (gup.c) ----------------------------------------------------------------------------- */

int faultin_page_range(struct mm_struct *mm, uint64_t start, uint64_t end, bool write);
long unpin_all_pins(struct mml_machine *m);
long nr_pinned_pages(struct mml_machine *m);	/* FOLL_PIN pages held (not the zero page) */
void mm_populate(struct mm_struct *mm, uint64_t start, uint64_t len);

/* ---- swap and reclaim (swapfile.c, swap_state.c, swap.c, vmscan.c) ---------------------- */

struct swap_info_struct *swap_info_get(struct mml_machine *m, swp_entry_t entry);
swp_entry_t folio_alloc_swap(struct mml_machine *m);
void swap_free(struct mml_machine *m, swp_entry_t entry);
void put_swap_folio(struct mml_machine *m, swp_entry_t entry);
int swap_duplicate(struct mml_machine *m, swp_entry_t entry);
int swapcache_prepare(struct mml_machine *m, swp_entry_t entry);
int swap_count(struct mml_machine *m, swp_entry_t entry);
void free_swap_and_cache(struct mml_machine *m, swp_entry_t entry);
long swap_teardown(struct mml_machine *m);
void add_to_swap_cache(struct mml_machine *m, struct folio *folio, swp_entry_t entry);
void delete_from_swap_cache(struct mml_machine *m, struct folio *folio);
struct folio *swap_cache_get_folio(struct mml_machine *m, swp_entry_t entry);
bool folio_free_swap(struct mml_machine *m, struct folio *folio);
bool add_to_swap(struct mml_machine *m, struct folio *folio);
int swap_writepage(struct mml_machine *m, struct folio *folio);
struct folio *swapin_folio(struct mml_machine *m, swp_entry_t entry, struct vm_area_struct *vma, uint64_t addr);
void free_swap_cache(struct mml_machine *m, struct folio *folio);

void folio_add_lru(struct mml_machine *m, struct folio *folio);
void lru_del_freed_folio(struct mml_machine *m, struct folio *folio);
void folio_activate(struct mml_machine *m, struct folio *folio);
void folio_deactivate(struct mml_machine *m, struct folio *folio);
void folio_move_lazyfree(struct mml_machine *m, struct folio *folio);
bool folio_isolate_lru(struct mml_machine *m, struct folio *folio);
void folio_putback_lru(struct mml_machine *m, struct folio *folio);
unsigned long isolate_lru_folios(struct mml_machine *m, enum lru_list lru, unsigned long nr, struct folio **out);
unsigned long shrink_lists(struct mml_machine *m, unsigned long nr, bool direct);
unsigned long reclaim_pages(struct mml_machine *m, struct folio **folios, unsigned long n);
void wakeup_kswapd(struct mml_machine *m);
int  kswapd_run(struct mml_machine *m);
void kswapd_stop(struct mml_machine *m);

/* arch_unmap_one, arch_swap_restore, arch_swap_invalidate_*: memory tags, arch/mte.h. */

/* ---- reverse mapping (rmap.c) ---------------------------------------------------------------- */

int anon_vma_prepare(struct vm_area_struct *vma);
int anon_vma_clone(struct vm_area_struct *dst, struct vm_area_struct *src);
int anon_vma_fork(struct vm_area_struct *vma, struct vm_area_struct *pvma);
void unlink_anon_vmas(struct vm_area_struct *vma);
void anon_vma_lock_write(struct anon_vma *av);
void anon_vma_unlock_write(struct anon_vma *av);
void anon_vma_lock_read(struct anon_vma *av);
void anon_vma_unlock_read(struct anon_vma *av);

void folio_add_new_anon_rmap(struct folio *folio, struct vm_area_struct *vma, uint64_t addr);
void folio_add_anon_rmap_pte(struct folio *folio, struct page *page, struct vm_area_struct *vma,
			     uint64_t addr, bool exclusive);
void folio_move_anon_rmap(struct folio *folio, struct vm_area_struct *vma);
void folio_remove_rmap_pte(struct folio *folio, struct page *page, struct vm_area_struct *vma);
/* fork: share an anon page; -EBUSY if it may be pinned and must be copied. */
int folio_try_dup_anon_rmap_pte(struct folio *folio, struct page *page, struct vm_area_struct *src_vma);
int folio_try_share_anon_rmap_pte(struct folio *folio, struct page *page);

/* rmap_walk: call one() for every VMA that may map folio; stop when it returns false. */
struct rmap_walk_control {
	void *arg;
	bool (*rmap_one)(struct folio *folio, struct vm_area_struct *vma, uint64_t addr, void *arg);
};
void rmap_walk(struct folio *folio, struct rmap_walk_control *rwc);
uint64_t vma_address(struct vm_area_struct *vma, unsigned long pgoff);	/* -EFAULT if outside */

/* ---- the OOM killer (oom_kill.c) ------------------------------------------------------------ */

bool out_of_memory(struct mml_machine *m);
void oom_reap_if_pending(struct mm_struct *mm);
void oom_reap_done(struct mm_struct *mm);

/* A thread of a process the OOM killer chose (Linux: SIGKILL pending). */
static inline bool fatal_signal_pending(const struct mml_task *t)
{
	return t && test_bit(MMF_OOM_VICTIM, &t->mm->flags);
}

/* ---- tasks and address spaces (fork.c, exit.c) ----------------------------------------------- */

struct mm_struct *mm_alloc(struct mml_machine *m);
void mmput(struct mm_struct *mm);
void mmgrab(struct mm_struct *mm);
void mmdrop(struct mm_struct *mm);
void exit_mmap(struct mm_struct *mm);
struct mml_task *task_alloc(struct mm_struct *mm);
void task_free(struct mml_task *t);

/* ---- operation entry and exit (syscalls.c) ------------------------------------------------- */

/* Every public operation runs between these: see machine->quiesce. */
void op_enter(struct mml_machine *m, struct mml_task *t);
long op_exit(struct mml_machine *m, long ret);
/* op_exit() for an operation of t's: -EINTR if t was killed meanwhile. */
long op_exit_task(struct mml_machine *m, struct mml_task *t, long ret);
int mml_check_locked(struct mml_machine *m);	/* checker; caller holds quiesce for write */

#endif /* MML_MM_INTERNAL_H */
