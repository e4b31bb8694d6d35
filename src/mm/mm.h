/*
 * mm.h - what the Linux-modelled core offers the rest of the machine: the
 * architecture layer (src/arch), the oracles, and the file systems and
 * drivers to come (Linux's include/linux/mm.h, page-flags.h, page_ref.h,
 * gfp.h, vmstat.h and the generic half of pgtable.h).
 *
 * Frames and folios, their flags, references and map counts; the page
 * allocator; page-table lookups; VMA lookups; the fault entry; reports and
 * assertions.  Declarations that only src/mm uses are in mm/internal.h.
 */
#ifndef MML_MM_MM_H
#define MML_MM_MM_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "arch/mman.h"
#include "arch/mte.h"
#include "arch/pgtable.h"
#include "arch/tlb.h"
#include "mm/mm_types.h"
#include "mm/nodemask.h"

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#define min(a, b)	((a) < (b) ? (a) : (b))
#define max(a, b)	((a) > (b) ? (a) : (b))
#define clamp(v, lo, hi)	min(max((v), (lo)), (hi))
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- the current CPU ------------------------------------------------------------------- */

/* The task whose operation this host thread is executing (Linux's current). */
extern __thread struct mml_task *current __tls_fast;

/*
 * smp_processor_id(): the slot of per-CPU state this task uses, by its
 * thread id (fixed, so a deterministic run replays the same slots);
 * machine threads (kswapd, khugepaged, set-up) use slot 0.
 */
static inline unsigned int smp_processor_id(void)
{
	return current ? (unsigned int)current->tid % NR_CPU_SLOTS : 0;
}

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
/* A broken rule the machine survives: reported (the run fails), not fatal; quiet under MML_QUIET. */
#define VM_WARN_ON_PAGE(cond, m, page) do { if (unlikely(cond)) { if (!(m)->quiet) dump_page(m, page, #cond); \
	mml_report(m, "WARNING at %s:%d: %s", __FILE__, __LINE__, #cond); } } while (0)
#define VM_BUG_ON_VMA(cond, vma) do { if (unlikely(cond)) { \
	dump_vma(vma); mml_bug(__FILE__, __LINE__, #cond); } } while (0)
#define VM_BUG_ON_MM(cond, mm) do { if (unlikely(cond)) { \
	dump_mm(mm); mml_bug(__FILE__, __LINE__, #cond); } } while (0)
#define mmap_assert_locked(mm)		lockdep_assert_held_rwsem(&(mm)->mmap_lock)
#define mmap_assert_write_locked(mm)	lockdep_assert_held_write(&(mm)->mmap_lock)

/*
 * mmap_lock's write side and the per-VMA locks (mmap_lock.c).  Whoever
 * changes the VMA tree or a VMA takes mmap_lock through these, so that
 * mm_lock_seq says when VMA write locks end.
 */
void mmap_write_lock(struct mm_struct *mm);
bool mmap_write_trylock(struct mm_struct *mm);
void mmap_write_unlock(struct mm_struct *mm);
void mmap_write_downgrade(struct mm_struct *mm);
void vma_lock_init(struct vm_area_struct *vma);
void vma_start_write(struct vm_area_struct *vma);
bool vma_is_write_locked(struct vm_area_struct *vma);
void vma_mark_attached(struct vm_area_struct *vma);
void vma_mark_detached(struct vm_area_struct *vma);
struct vm_area_struct *lock_vma_under_rcu(struct mm_struct *mm, uint64_t addr);
void vma_end_read(struct vm_area_struct *vma);
void vma_assert_locked_fail(struct vm_area_struct *vma, const char *file, int line);
/* Linux's vma_assert_locked(): read-locked by someone, or write-locked. */
#define vma_assert_locked(vma) do { if (atomic_read(&(vma)->vm_refcnt) <= 1 && !vma_is_write_locked(vma)) \
	vma_assert_locked_fail(vma, __FILE__, __LINE__); } while (0)
#define vma_assert_write_locked(vma) do { if (!vma_is_write_locked(vma)) \
	vma_assert_locked_fail(vma, __FILE__, __LINE__); } while (0)

bool folio_is_valid(struct mml_machine *m, struct folio *folio, FILE *why);
bool vma_is_valid(struct vm_area_struct *vma, FILE *why);
bool anon_vma_is_valid(struct anon_vma *av, FILE *why);
bool mm_is_valid(struct mm_struct *mm, FILE *why);
bool mm_range_is_valid(struct mm_struct *mm, uint64_t start, uint64_t end, FILE *why);

/* ---- frames ---------------------------------------------------------------------------- */

static inline unsigned long page_to_pfn(struct mml_machine *m, const struct page *p)
{
	return (unsigned long)(p - m->mem_map);
}
static inline struct page *pfn_to_page(struct mml_machine *m, unsigned long pfn)
{
	return &m->mem_map[pfn];
}
/* pfn_valid(): a frame with a struct page, RAM's or a ZONE_DEVICE one (the pmem device's). */
static inline bool pfn_valid(struct mml_machine *m, unsigned long pfn) { return pfn < m->nr_frames + m->nr_pmem_frames; }
/*
 * The pmem device's frames follow RAM's in mem_map and in the host mapping
 * behind m->ram (drivers/pmem.c maps its file there), so page_address works
 * for both.  is_zone_device_page(): one of them (Linux reads the zone from
 * the page flags; mmlab's only ZONE_DEVICE pages are fs-DAX ones).
 */
static inline bool is_zone_device_page(const struct mml_machine *m, const struct page *p)
{
	return p >= m->mem_map + m->nr_frames && p < m->mem_map + m->nr_frames + m->nr_pmem_frames;
}
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
/* folio_is_fsdax(): the device's pages are all MEMORY_DEVICE_FS_DAX. */
static inline bool folio_is_fsdax(const struct mml_machine *m, const struct folio *f)
{
	return is_zone_device_page(m, &f->page);
}

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
FOLIO_FLAG(readahead, PG_readahead)
FOLIO_FLAG(unevictable, PG_unevictable)
FOLIO_FLAG(mlocked, PG_mlocked)
FOLIO_FLAG(large_rmappable, PG_large_rmappable)
static inline bool folio_test_set_dirty(struct folio *f) { return test_and_set_bit(PG_dirty, &f->flags); }
static inline bool folio_test_set_mlocked(struct folio *f) { return test_and_set_bit(PG_mlocked, &f->flags); }
/* Models folio_evictable(): mmlab has no unevictable mappings (SHM_LOCK, ramfs), only mlock. */
static inline bool folio_evictable(const struct folio *f) { return !folio_test_mlocked(f); }
/* Up to date: its bytes may be read (the stores filling it are visible first). */
static inline void folio_mark_uptodate(struct folio *f) { smp_wmb(); folio_set_uptodate(f); }
/* The same for a folio nobody else can see yet (Linux's): no atomic, whose lock waits for the fill's stores. */
static inline void __folio_mark_uptodate(struct folio *f) { smp_wmb(); __folio_set_uptodate(f); }
PAGE_FLAG(AnonExclusive, PG_anon_exclusive)
PAGE_FLAG(Buddy, PG_buddy)
PAGE_FLAG(Table, PG_table)
PAGE_FLAG(Reserved, PG_reserved)
PAGE_FLAG(Head, PG_head)

/* Does the swap cache folio hold the slot of entry (Linux's folio_matches_swap_entry)? */
static inline bool folio_matches_swap_entry(const struct folio *folio, swp_entry_t entry)
{
	return folio_test_swapcache(folio) && swp_type(entry) == swp_type(folio->swap) &&
	       swp_offset(entry) - swp_offset(folio->swap) < (uint64_t)folio_nr_pages(folio);
}
/* The page of a folio that holds index (of a file, or a swap slot's offset): the folio is aligned to its size. */
static inline struct page *folio_file_page(struct folio *folio, uint64_t index)
{
	return folio_page(folio, index & (folio_nr_pages(folio) - 1));
}
/* The slot of a page of a folio in the swap cache: the folio's, plus the page's index. */
static inline swp_entry_t page_swap_entry(struct page *page)
{
	struct folio *folio = page_folio(page);

	return swp_entry(swp_type(folio->swap), swp_offset(folio->swap) + (uint64_t)(page - &folio->page));
}

static inline bool folio_test_anon(const struct folio *f)
{
	return ((unsigned long)READ_ONCE(f->mapping) & PAGE_MAPPING_ANON) != 0;
}
/* A reflinked fs-DAX folio mapped by several files: no one address_space in mapping. */
static inline bool folio_test_dax_shared(const struct folio *f)
{
	return ((unsigned long)READ_ONCE(f->mapping) & PAGE_MAPPING_DAX_SHARED) != 0;
}
/* A KSM folio: anon, but its mapping names a stable node, not an anon_vma. */
static inline bool folio_test_ksm(const struct folio *f)
{
	return ((unsigned long)READ_ONCE(f->mapping) & PAGE_MAPPING_FLAGS) == PAGE_MAPPING_KSM;
}
static inline struct anon_vma *folio_anon_vma(const struct folio *f)
{
	unsigned long mapping = (unsigned long)READ_ONCE(f->mapping);

	if ((mapping & PAGE_MAPPING_FLAGS) != PAGE_MAPPING_ANON)
		return NULL;
	return (struct anon_vma *)(mapping - PAGE_MAPPING_ANON);
}

/* References. */
static inline int folio_ref_count(const struct folio *f) { return atomic_read(&f->_refcount); }
static inline void folio_get(struct folio *f) { atomic_inc(&f->_refcount); }
static inline void folio_ref_add(struct folio *f, int n) { atomic_add(n, &f->_refcount); }
static inline bool folio_try_get(struct folio *f) { return atomic_add_unless(&f->_refcount, 1, 0); }
/*
 * Freeze: the count from n to 0 if it is n, so that folio_try_get fails
 * meanwhile (split, migration).  Unfreeze with release, as Linux's: a
 * speculative getter that gets the folio after sees what was written to
 * it while frozen (its order, mapping, index).
 */
static inline bool folio_ref_freeze(struct folio *f, int n) { return atomic_cmpxchg(&f->_refcount, n, 0) == n; }
static inline void folio_ref_unfreeze(struct folio *f, int n) { atomic_set_release(&f->_refcount, n); }
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

/* Mappings: how rmap.c counts them is described there. */
static inline int folio_mapcount(const struct folio *f)
{
	if (!folio_test_large(f))
		return atomic_read(&f->_mapcount) + 1;
	return atomic_read(&f->_large_mapcount) + 1;
}
/* The pmds mapping the whole folio (0 for a small one). */
static inline int folio_entire_mapcount(const struct folio *f)
{
	return folio_test_large(f) ? atomic_read(&f->_entire_mapcount) + 1 : 0;
}
/* How many page-table entries map this page: its ptes, plus the pmds mapping its folio. */
static inline int folio_precise_page_mapcount(const struct folio *f, const struct page *p)
{
	return atomic_read(&p->_mapcount) + 1 + folio_entire_mapcount(f);
}
static inline bool folio_mapped(const struct folio *f) { return folio_mapcount(f) > 0; }
/*
 * Which mms map a large folio (Linux's CONFIG_MM_ID, rmap.c keeps it): two
 * slots of _mm_id[] name up to two mms, _mm_id_mapcount[] their mappings
 * - 1.  The top bit of _mm_id[0] is the lock that keeps the slots and
 * _large_mapcount in step; the top bit of _mm_id[1] says "maybe shared":
 * set when a second mm maps the folio (or a first one while others
 * already did), cleared only when one slot holds every mapping again.
 */
#define MM_ID_DUMMY			0u
#define MM_ID_MASK			0x7fffffffu
#define FOLIO_MM_IDS_LOCK_BITNUM	31
#define FOLIO_MM_IDS_SHARED_BITNUM	63

static inline unsigned int folio_mm_id(const struct folio *f, int slot)
{
	return (unsigned int)(READ_ONCE(f->_mm_ids) >> (32 * slot)) & MM_ID_MASK;
}
static inline bool folio_mm_ids_shared(const struct folio *f)
{
	return (READ_ONCE(f->_mm_ids) >> FOLIO_MM_IDS_SHARED_BITNUM) & 1;
}
static inline void folio_lock_large_mapcount(struct folio *f)
{
	bit_lock(FOLIO_MM_IDS_LOCK_BITNUM, &f->_mm_ids);
}
static inline void folio_unlock_large_mapcount(struct folio *f)
{
	bit_unlock(FOLIO_MM_IDS_LOCK_BITNUM, &f->_mm_ids);
}

/*
 * Models folio_maybe_mapped_shared(): might another mm map the folio too?
 * A small folio: mapped more than once.  A large one: mapped more than
 * once, and its "maybe shared" bit set.
 */
static inline bool folio_maybe_mapped_shared(const struct folio *f)
{
	int mapcount = folio_mapcount(f);

	if (!folio_test_large(f) || mapcount <= 1)
		return mapcount > 1;
	return folio_mm_ids_shared(f);
}

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
#define __GFP_THISNODE	0x40u	/* the preferred node or nothing; never the OOM killer */
#define __GFP_NORETRY	0x80u	/* one round of reclaim and compaction, then fail */
/* THP: without direct reclaim (compaction) unless the defrag knobs allow it (vma_thp_gfp_mask) */
#define GFP_TRANSHUGE_LIGHT ((GFP_HIGHUSER_MOVABLE & ~__GFP_DIRECT_RECLAIM) | __GFP_NOWARN)
#define GFP_TRANSHUGE	(GFP_TRANSHUGE_LIGHT | __GFP_DIRECT_RECLAIM)
#define SWAP_CLUSTER_MAX 32
/* Larger requests fail rather than kill (Linux: PAGE_ALLOC_COSTLY_ORDER). */
#define PAGE_ALLOC_COSTLY_ORDER 3
#define GFP_PGTABLE_USER (GFP_KERNEL | __GFP_ZERO | __GFP_PGTABLE)

#define PAGE_POISON	0xaa	/* freed frames are filled with this under MML_POISON (Linux's PAGE_POISON) */

/*
 * The allocator proper: the first node of preferred_nid's fallback order
 * (itself, then the next ids round) in nodemask (NULL: any) whose zone is
 * above its watermark; numastat counts the choice.
 */
struct page *__alloc_pages(struct mml_machine *m, gfp_t gfp, unsigned int order, int preferred_nid,
			   const nodemask_t *nodemask);
struct folio *__folio_alloc(struct mml_machine *m, gfp_t gfp, unsigned int order, int preferred_nid,
			    const nodemask_t *nodemask);
/* folio_alloc, alloc_page: where the current task's mempolicy says (mempolicy.c) */
struct folio *folio_alloc(struct mml_machine *m, gfp_t gfp, unsigned int order);
struct page *alloc_page(struct mml_machine *m, gfp_t gfp);
void __free_pages(struct mml_machine *m, struct page *page, unsigned int order);
/* vma_alloc_folio: a new folio for a fault at addr, where the VMA's or task's policy says (mempolicy.c) */
struct folio *vma_alloc_folio(struct vm_area_struct *vma, gfp_t gfp, unsigned int order, uint64_t addr);
unsigned long nr_free_pages(struct mml_machine *m);

/* ---- NUMA nodes: RAM split evenly, node_frames each (the last has the rest) ------------ */

#define NODE_DATA(m, nid)	(&(m)->node_data[nid])
/*
 * The nodes of preferred_nid's zonelist that nodemask (NULL: any) allows,
 * in order: the node itself, then the next ids round (mmlab's nodes are
 * all one distance apart).  `break` works inside.
 */
#define for_each_zonelist_node(m, nid, preferred_nid, nodemask)					\
	for (int __zl = 0; __zl < (m)->nr_nodes; __zl++)					\
		if ((nid) = ((preferred_nid) + __zl) % (m)->nr_nodes,				\
		    (nodemask) && !node_isset((nid), (nodemask))) {} else
static inline int pfn_to_nid(const struct mml_machine *m, unsigned long pfn)
{
	unsigned long nid = pfn / m->node_frames;

	return nid < (unsigned long)m->nr_nodes ? (int)nid : m->nr_nodes - 1;
}
static inline int page_to_nid(struct mml_machine *m, const struct page *p) { return pfn_to_nid(m, page_to_pfn(m, p)); }
static inline int folio_nid(struct mml_machine *m, const struct folio *f) { return page_to_nid(m, &f->page); }
static inline struct zone *page_zone(struct mml_machine *m, const struct page *p)
{
	return &NODE_DATA(m, page_to_nid(m, p))->node_zones[0];
}
/* Every node's memory: mmlab's nodes all have memory and are all online (N_MEMORY). */
static inline nodemask_t node_states_memory(const struct mml_machine *m)
{
	return (nodemask_t){ (m->nr_nodes >= 64 ? ~0UL : (1UL << m->nr_nodes) - 1) };
}
/* numa_node_id(): the node of the running CPU; every CPU of mmlab's is on node 0. */
static inline int numa_node_id(void) { return 0; }
bool page_is_free(struct page *page);

/* ---- metadata objects (machine.c) ------------------------------------------------------- */

/* kzalloc(); _nozero is kmalloc(), for an object its caller fills whole at once */
void *mml_obj_alloc(struct mml_machine *m, enum mml_obj_kind kind, size_t size);
void *mml_obj_alloc_nozero(struct mml_machine *m, enum mml_obj_kind kind, size_t size);
void mml_obj_free(struct mml_machine *m, enum mml_obj_kind kind, void *p);
extern const char *const mml_obj_names[NR_OBJ_KINDS];

/* ---- vmstat (vmstat.c) ------------------------------------------------------------------- */

static inline void mod_vm_stat(struct mml_machine *m, enum vm_stat_item i, long delta)
{
	unsigned cpu = this_cpu_slot();

	this_cpu_add(&m->vm_stat_cpu[cpu].vm_stat[i], cpu, delta);
}
static inline void count_vm_event(struct mml_machine *m, enum vm_stat_item i) { mod_vm_stat(m, i, 1); }
static inline void count_vm_events(struct mml_machine *m, enum vm_stat_item i, long n) { mod_vm_stat(m, i, n); }
long global_vm_stat(struct mml_machine *m, enum vm_stat_item i);
/* A node's numastat event (Linux's __count_numa_events), on this CPU's slot. */
static inline void count_numa_events(struct mml_machine *m, int nid, enum numa_stat_item i, long n)
{
	unsigned cpu = this_cpu_slot();

	this_cpu_add(&m->vm_stat_cpu[cpu].numa_event[nid][i], cpu, n);
}
long node_numa_event(struct mml_machine *m, int nid, enum numa_stat_item i);

/* mm_counter_file(): the rss counter of a non-anon folio (shmem is swap-backed). */
static inline enum mm_counter mm_counter_file(const struct folio *f)
{
	return test_bit(PG_swapbacked, (unsigned long *)&f->flags) ? MM_SHMEMPAGES : MM_FILEPAGES;
}

static inline void add_mm_counter(struct mm_struct *mm, enum mm_counter c, long v)
{
	unsigned cpu = this_cpu_slot();

	this_cpu_add(&mm->rss_stat[cpu].count[c], cpu, v);
	trace_rss_stat(mm->machine, mm, c);	/* as mm_trace_rss_stat() */
}
/* percpu_counter_sum(): exact, where Linux's get_mm_counter reads the approximate total */
static inline long get_mm_counter(struct mm_struct *mm, enum mm_counter c)
{
	long sum = 0;

	for (int cpu = 0; cpu < NR_COUNTER_COPIES; cpu++)
		sum += atomic_long_read(&mm->rss_stat[cpu].count[c]);
	return sum;
}

/* ---- page-table lookups (pgtable.c) ------------------------------------------------------- */

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

static inline pte_t mk_pte(struct mml_machine *m, struct page *page, pgprot_t prot)
{
	return pfn_pte(page_to_pfn(m, page), prot);
}

/* Walk to the pmd of addr without allocating; NULL if absent. */
pmd_t *mm_find_pmd(struct mm_struct *mm, uint64_t addr);
/* The pte at addr, read without locks (under RCU); none where no table maps it. */
pte_t mm_pte_lockless(struct mm_struct *mm, uint64_t addr);
/* Map the pte table under pmd and lock it; NULL if the pmd no longer points to a table. */
pte_t *pte_offset_map_lock(struct mm_struct *mm, pmd_t *pmd, uint64_t addr, spinlock_t **ptlp);
pte_t *pte_offset_map(struct mm_struct *mm, pmd_t *pmd, uint64_t addr, pmd_t *pmdvalp);
static inline spinlock_t *pte_lockptr(struct mml_machine *m, pmd_t pmd)
{
	return pfn_to_page(m, pmd_pfn(pmd))->ptl;
}
static inline void pte_unmap(pte_t *pte) { rcu_read_unlock(); }
static inline void pte_unmap_unlock(pte_t *pte, spinlock_t *ptl) { spin_unlock(ptl); pte_unmap(pte); }

/*
 * A lockless walker's stay in a pte table (GUP-fast, the hardware walker,
 * the fault's first look under pte_offset_map): the table its pmd read led
 * to, and that table's allocation generation then.  A table that was
 * reachable is freed only after an RCU grace period (tlb_remove_table,
 * pte_free_defer), so the table a walker entered inside rcu_read_lock()
 * is still the same allocation when it leaves; pte_table_leave() reports
 * one freed, or freed and reused, meanwhile.  Linux has no such check (a
 * walker there reads whatever the freed page holds); two loads at each end
 * keep it cheap enough for every walk.  Entered right after the pmd load,
 * with no scheduling point between.
 */
struct pte_stay {
	struct ptdesc *pt;	/* NULL once reported */
	unsigned gen;
};
void pte_table_freed_under(struct mml_machine *m, struct pte_stay *s, const char *who, uint64_t addr);
static inline void pte_table_enter(struct mml_machine *m, pmd_t pmd, struct pte_stay *s, const char *who,
				   uint64_t addr)
{
	s->pt = pfn_to_page(m, pmd_pfn(pmd));
	s->gen = READ_ONCE(s->pt->alloc_gen);
	if (unlikely(!PageTable(s->pt)))
		pte_table_freed_under(m, s, who, addr);
}
static inline void pte_table_leave(struct mml_machine *m, struct pte_stay *s, const char *who, uint64_t addr)
{
	if (unlikely(s->pt && (!PageTable(s->pt) || READ_ONCE(s->pt->alloc_gen) != s->gen)))
		pte_table_freed_under(m, s, who, addr);
}
spinlock_t *pmd_lockptr(struct mm_struct *mm, pmd_t *pmd);
static inline spinlock_t *pmd_lock(struct mm_struct *mm, pmd_t *pmd)
{
	spinlock_t *ptl = pmd_lockptr(mm, pmd);

	spin_lock(ptl);
	return ptl;
}
/* A pmd leaf mapping a PMD-sized folio from page (mk_huge_pmd). */
static inline pmd_t mk_huge_pmd(struct mml_machine *m, struct page *page, pgprot_t prot)
{
	return pmd_mkhuge(pfn_pmd(page_to_pfn(m, page), prot));
}
static inline struct page *pmd_page(struct mml_machine *m, pmd_t pmd) { return pfn_to_page(m, pmd_pfn(pmd)); }


/* ---- VMA lookups (vma_tree.c) ------------------------------------------------------------- */

/* The mm's VMAs in address order (Linux: the maple tree). */
struct vm_area_struct *find_vma(struct mm_struct *mm, uint64_t addr);	/* first with vm_end > addr */
unsigned long vma_index_after(struct mm_struct *mm, uint64_t addr);	/* find_vma's index in mm->vmas */
struct vm_area_struct *vma_lookup(struct mm_struct *mm, uint64_t addr);	/* the one containing addr */
struct vm_area_struct *find_vma_intersection(struct mm_struct *mm, uint64_t start, uint64_t end);
struct vm_area_struct *vma_next(struct vm_area_struct *vma);
struct vm_area_struct *vma_prev(struct vm_area_struct *vma);
#define for_each_vma(mm, vma) \
	for (vma = find_vma(mm, 0); vma; vma = vma_next(vma))

static inline unsigned long vma_pages(const struct vm_area_struct *v) { return (v->vm_end - v->vm_start) >> PAGE_SHIFT; }
static inline bool vma_is_anonymous(const struct vm_area_struct *v) { return v->vm_file == NULL; }
static inline bool is_cow_mapping(vm_flags_t f) { return (f & (VM_SHARED | VM_MAYWRITE)) == VM_MAYWRITE; }
static inline unsigned long linear_page_index(const struct vm_area_struct *v, uint64_t addr)
{
	return ((addr - v->vm_start) >> PAGE_SHIFT) + v->vm_pgoff;
}
/* pte_mkwrite: writable only as the VMA allows (the core's single gate for RW). */
static inline pte_t maybe_mkwrite(pte_t pte, struct vm_area_struct *vma)
{
	if (likely(vma->vm_flags & VM_WRITE))
		pte = pte_mkwrite_novma(pte);
	return pte;
}

static inline pmd_t maybe_pmd_mkwrite(pmd_t pmd, struct vm_area_struct *vma)
{
	if (likely(vma->vm_flags & VM_WRITE))
		pmd = pmd_mkwrite_novma(pmd);
	return pmd;
}

/* ---- faults (memory.c) -------------------------------------------------------------------- */

typedef unsigned int vm_fault_t;
#define VM_FAULT_OOM		0x0001u
#define VM_FAULT_SIGBUS		0x0002u
#define VM_FAULT_SIGSEGV	0x0040u
#define VM_FAULT_MAJOR		0x0004u
#define VM_FAULT_RETRY		0x0400u
#define VM_FAULT_FALLBACK	0x0800u	/* no huge mapping here: go on with ptes */
#define VM_FAULT_NOPAGE		0x0100u
#define VM_FAULT_LOCKED		0x0200u	/* ->fault returns the page locked */
#define VM_FAULT_DONE_COW	0x1000u	/* ->fault filled vmf->cow_page itself (DAX): no page to copy */
#define VM_FAULT_ERROR		(VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV)

#define FAULT_FLAG_WRITE	0x01u
#define FAULT_FLAG_UNSHARE	0x02u
#define FAULT_FLAG_REMOTE	0x04u	/* GUP on behalf of another */
#define FAULT_FLAG_USER		0x08u
#define FAULT_FLAG_ALLOW_RETRY	0x10u	/* may sleep with mmap_lock dropped (a CPU's fault; handle_userfault) */
#define FAULT_FLAG_VMA_LOCK	0x20u	/* under the VMA's read lock, not mmap_lock: see lock_vma_under_rcu */

struct vm_fault {
	struct vm_area_struct *vma;
	uint64_t address;		/* page aligned */
	unsigned int flags;
	unsigned long pgoff;
	pmd_t *pmd;
	pte_t *pte;			/* mapped pte, under ptl when locked */
	spinlock_t *ptl;
	pte_t orig_pte;
	pmd_t orig_pmd;			/* a huge pmd fault: the leaf as read */
	struct page *page;		/* from ->fault: the file's page, locked */
	struct page *cow_page;		/* do_cow_fault: the private copy to map */
};

/* Models vm_operations_struct: a file mapping's fault handlers (NULL for anon). */
struct vm_operations_struct {
	vm_fault_t (*fault)(struct vm_fault *vmf);
	/* Fault-around: map what the cache has in [start_pgoff, end_pgoff]. */
	vm_fault_t (*map_pages)(struct vm_fault *vmf, unsigned long start_pgoff, unsigned long end_pgoff);
	/* A write is about to make a shared page writable: dirty it (and lock it). */
	vm_fault_t (*page_mkwrite)(struct vm_fault *vmf);
	/* The same for a pte without a struct page behind it (DAX: the zero page of a hole). */
	vm_fault_t (*pfn_mkwrite)(struct vm_fault *vmf);
	/* A fault of order (PMD_ORDER) on a none pmd, or a write to a read-only pmd leaf (DAX). */
	vm_fault_t (*huge_fault)(struct vm_fault *vmf, unsigned int order);
};

/* Map nr pages of folio from page at addr (ptep: their first pte, locked), as a fault does. */
void set_pte_range(struct vm_fault *vmf, struct folio *folio, struct page *page, unsigned int nr,
		   uint64_t addr, pte_t *ptep);

vm_fault_t handle_mm_fault(struct vm_area_struct *vma, uint64_t address, unsigned int flags);
struct page *vm_normal_page(struct vm_area_struct *vma, uint64_t addr, pte_t pte);
struct folio *vm_normal_folio(struct vm_area_struct *vma, uint64_t addr, pte_t pte);
static inline bool is_zero_pfn(struct mml_machine *m, unsigned long pfn) { return pfn == m->zero_pfn; }
/* The huge zero folio: a PMD-sized zeroed folio read faults may map (huge_memory.c). */
static inline bool is_huge_zero_folio(struct mml_machine *m, const struct folio *folio)
{
	return folio && folio == READ_ONCE(m->huge_zero_folio);
}

/* ---- signals ----------------------------------------------------------------------------- */

/* A thread of a process the OOM killer chose (Linux: SIGKILL pending). */
static inline bool fatal_signal_pending(const struct mml_task *t)
{
	return t && test_bit(MMF_OOM_VICTIM, &t->mm->flags);
}

/* drop_slab() (vmscan.c): drop_caches' mode 2, the shrinkers (the deferred split queue); inside an operation. */
void drop_slab(struct mml_machine *m);

/* ---- address-space references (fork.c) ---------------------------------------------------- */

void mmput(struct mm_struct *mm);	/* drop a user; the last tears the address space down */
void mmgrab(struct mm_struct *mm);	/* keep the struct, not the memory */
void mmdrop(struct mm_struct *mm);
/* A user reference, unless the address space is already going (mmget_not_zero). */
static inline bool mmget_not_zero(struct mm_struct *mm) { return atomic_add_unless(&mm->mm_users, 1, 0); }

/*
 * make_device_exclusive() (rmap.c): 0 with *pagep's folio locked and
 * referenced, its pte now a device-exclusive entry; or -errno.  mmap_lock
 * held for read.
 */
int make_device_exclusive(struct mm_struct *mm, uint64_t addr, void *owner, struct page **pagep);

/* ---- operation entry and exit (syscalls.c) ------------------------------------------------- */

/* Every public operation runs between these: see machine->quiesce. */
void op_enter(struct mml_machine *m, struct mml_task *t);
long op_exit(struct mml_machine *m, long ret);
/* The preamble of a task's call: 0 to go on, or -EINTR (already left) if t was killed. */
long op_enter_task(struct mml_task *t);
/* op_exit() for an operation of t's: -EINTR if t was killed meanwhile. */
long op_exit_task(struct mml_task *t, long ret);

/*
 * What a file system's DAX code maps pages with (fs/dax.c; Linux has them
 * in include/linux/mm.h, rmap.h and huge_mm.h for the same reason).
 */
void prep_compound_page(struct page *page, unsigned int order);
struct ptdesc *pagetable_alloc(struct mm_struct *mm);
void pagetable_free(struct mm_struct *mm, struct ptdesc *pt);	/* immediate; caller ensures no walker */
int __pte_alloc(struct mm_struct *mm, pmd_t *pmd);
void folio_add_file_rmap_ptes(struct folio *folio, struct page *page, int nr_pages,
			      struct vm_area_struct *vma);
void folio_add_file_rmap_pmd(struct folio *folio, struct page *page, struct vm_area_struct *vma);
struct folio *mm_get_huge_zero_folio(struct mm_struct *mm);
/* Map the huge zero folio read-only at haddr, depositing pgtable; pmd lock held. */
void set_huge_zero_folio(struct ptdesc *pgtable, struct mm_struct *mm, struct vm_area_struct *vma,
			 uint64_t haddr, pmd_t *pmd, struct folio *zero);
struct file;
/* A file_operations.get_unmapped_area: addresses congruent to the file offset modulo 2 MiB (huge_memory.c). */
uint64_t thp_get_unmapped_area(struct file *file, struct mm_struct *mm, uint64_t addr, uint64_t len,
			       unsigned long pgoff, int flags);

#endif /* MML_MM_MM_H */
