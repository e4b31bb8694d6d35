/*
 * internal.h - declarations private to the Linux-modelled core, src/mm
 * (Linux's mm/internal.h, with the parts of rmap.h, swap.h and
 * mmu_gather.h only mm/ uses).  What the rest of the machine may use is in
 * mm/mm.h, which this includes.  src/arch and, later, file systems and
 * drivers include mm/mm.h only: `make check-layers` fails when src/arch
 * includes this file.
 */
#ifndef MML_MM_INTERNAL_H
#define MML_MM_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mm/hooks.h"
#include "mm/mm.h"
#include "mm/pagemap.h"

/* ---- commit accounting (util.c) ---------------------------------------------------------- */

#define OVERCOMMIT_GUESS	0
#define OVERCOMMIT_ALWAYS	1
#define OVERCOMMIT_NEVER	2
void vm_acct_memory(struct mml_machine *m, long pages);
void vm_unacct_memory(struct mml_machine *m, long pages);
unsigned long vm_commit_limit(struct mml_machine *m);
/* Charge pages if the overcommit policy lets them: 0, or -ENOMEM and nothing charged. */
int __vm_enough_memory(struct mml_machine *m, struct mm_struct *mm, long pages);
void overcommit_init(struct mml_machine *m);	/* the sysctls' defaults, after page_alloc_init */
/* mmap.c: the charge of the VM_ACCOUNT VMAs in [start, end); a VMA's given back as it goes */
long accounted_pages(struct mm_struct *mm, uint64_t start, uint64_t end);
void vma_unaccount(struct vm_area_struct *vma);
/* accountable_mapping(): private and writable, not MAP_NORESERVE: charged, VM_ACCOUNT. */
static inline bool accountable_mapping(vm_flags_t vm_flags)
{
	return (vm_flags & (VM_NORESERVE | VM_SHARED | VM_WRITE)) == VM_WRITE;
}

/* ---- page-table pages (pgtable.c) --------------------------------------------------------- */

int page_alloc_init(struct mml_machine *m, unsigned int nr_nodes);
unsigned long total_watermark(struct mml_machine *m, enum zone_watermarks w);
unsigned long totalram_pages(struct mml_machine *m);
/* Compaction's free scanner: the free block headed at pfn taken whole, as order-0 pages on freelist. */
unsigned long isolate_free_block(struct mml_machine *m, struct zone *z, unsigned long pfn,
				 struct list_head *freelist);
/* compaction.c: compact every zone (compact_memory), or one node's */
void compact_nodes(struct mml_machine *m);
void compact_node(struct mml_machine *m, int nid);
/* Results of compact_zone() and try_to_compact_pages(), in Linux's order (the best is the largest). */
enum compact_result { COMPACT_SKIPPED, COMPACT_CONTINUE, COMPACT_COMPLETE, COMPACT_SUCCESS };
/* Direct compaction for an allocation of order > 0 (__alloc_pages_direct_compact's). */
enum compact_result try_to_compact_pages(struct mml_machine *m, unsigned int order, int preferred_nid,
					 const nodemask_t *nodemask);
/* The smallest node: 1 MiB. */
#define MIN_NODE_FRAMES	256
void page_alloc_exit(struct mml_machine *m);
/* Make the 1 << order pages from page one folio (tails pointing to it), as allocation does. */
void pagetable_free_rcu(struct mm_struct *mm, struct ptdesc *pt);	/* after a grace period */
int pgd_alloc(struct mm_struct *mm);
void pgd_free(struct mm_struct *mm);
void pgd_free_rcu(struct mm_struct *mm);
int __pud_alloc(struct mm_struct *mm, pgd_t *pgd);
int __pmd_alloc(struct mm_struct *mm, pud_t *pud);
pud_t *pud_alloc(struct mm_struct *mm, pgd_t *pgd, uint64_t addr);
pmd_t *pmd_alloc(struct mm_struct *mm, pud_t *pud, uint64_t addr);

/* ---- TLB batching (mmu_gather.c) ---------------------------------------------------------- */

/* One queued folio: Linux's encoded_page with its nr_pages. */
struct mmu_gather_page {
	struct folio *folio;
	int refs;			/* ptes cleared, a reference each */
};

/*
 * Models struct mmu_gather_batch: the gather starts with a small batch of
 * its own and chains page-sized ones (host memory here, GFP_NOWAIT pages
 * in Linux) as it fills, up to MAX_GATHER_BATCH_COUNT of them: about
 * 10,000 folios between two TLB flushes, as Linux.
 */
struct mmu_gather_batch {
	struct mmu_gather_batch *next;
	unsigned int nr, max;
	struct mmu_gather_page *pages;
};
#define MMU_GATHER_BUNDLE	8
#define MAX_GATHER_BATCH	((PAGE_SIZE - sizeof(struct mmu_gather_batch)) / sizeof(struct mmu_gather_page))
#define MAX_GATHER_BATCH_COUNT	(10000UL / MAX_GATHER_BATCH)
#define MMU_GATHER_TABLES	64	/* page tables queued before a flush (Linux's mmu_table_batch) */

struct mmu_gather {
	struct mm_struct *mm;
	uint64_t start, end;		/* range to flush */
	bool fullmm;			/* tearing the whole mm down */
	bool freed_tables;
	struct mmu_gather_batch *active;	/* the batch being filled */
	struct mmu_gather_batch local;
	struct mmu_gather_page __pages[MMU_GATHER_BUNDLE];
	unsigned int batch_count;	/* batches chained after local */
	unsigned int nr_tables;
	struct ptdesc *tables[MMU_GATHER_TABLES];
};

void tlb_gather_mmu(struct mmu_gather *tlb, struct mm_struct *mm);
void tlb_gather_mmu_fullmm(struct mmu_gather *tlb, struct mm_struct *mm);
void tlb_finish_mmu(struct mmu_gather *tlb);
void tlb_flush_mmu(struct mmu_gather *tlb);
/* Queue nr references to folio to be dropped after the flush; true = batch full. */
bool __tlb_remove_folio_pages(struct mmu_gather *tlb, struct folio *folio, int nr);
void tlb_remove_table(struct mmu_gather *tlb, struct ptdesc *pt);
void tlb_batches_free(struct mml_task *t);	/* the batches a task kept, at its end */
void free_pgd_range(struct mmu_gather *tlb, uint64_t addr, uint64_t end, uint64_t floor, uint64_t ceiling);
static inline void tlb_flush_pte_range(struct mmu_gather *tlb, uint64_t addr, uint64_t size)
{
	tlb->start = min(tlb->start, addr);
	tlb->end = max(tlb->end, addr + size);
}

/* ---- VMA objects, split and merge (vma.c, vma_tree.c) -------------------------------------- */

struct vm_area_struct *vm_area_alloc(struct mm_struct *mm);
struct vm_area_struct *vm_area_dup(struct vm_area_struct *orig);
void vm_area_free(struct vm_area_struct *vma);
/* lock_vma_under_rcu's view of the tree (vma_tree.c) */
struct vma_rcu_array;
struct vm_area_struct *vma_rcu_find(struct mm_struct *mm, uint64_t addr, const struct vma_rcu_array **from);
void vma_rcu_publish(struct mm_struct *mm);
void vma_free_deferred(struct vm_area_struct *vma);
vm_fault_t vmf_anon_prepare(struct vm_fault *vmf);

int vma_tree_reserve(struct mm_struct *mm, unsigned long n);	/* room for n inserts: 0 or -ENOMEM */
void vma_tree_insert(struct mm_struct *mm, struct vm_area_struct *vma);	/* needs a reservation */
void vma_tree_erase(struct mm_struct *mm, struct vm_area_struct *vma);
void vma_tree_set_end(struct vm_area_struct *vma);	/* after a change of its vm_end */
void vma_tree_destroy(struct mm_struct *mm);

/* The rmap locks a VMA's bounds and page tables move under (i_mmap_rwsem, then the anon_vma's). */
void vma_bounds_lock(struct vm_area_struct *vma);
void vma_bounds_unlock(struct vm_area_struct *vma);
int split_vma(struct vm_area_struct *vma, uint64_t addr, int new_below);
int split_vma_nolimit(struct vm_area_struct *vma, uint64_t addr, int new_below);	/* munmap's */
void vma_set_page_prot(struct vm_area_struct *vma);
struct vm_area_struct *vma_modify_flags(struct vm_area_struct *vma, uint64_t start, uint64_t end,
					vm_flags_t new_flags, int *err);
struct vm_area_struct *vma_try_merge_neighbours(struct vm_area_struct *vma);

/* ---- mmap, munmap, mprotect, madvise ------------------------------------------------------- */

/* *populate: bytes the caller must fault in after dropping mmap_lock (mm_populate), or 0. */
long do_mmap(struct mm_struct *mm, struct file *file, uint64_t addr, uint64_t len, int prot, int flags, int64_t off,
	     uint64_t *populate);
/* A file VMA in its file's i_mmap (mmap.c); the __ forms with i_mmap_rwsem held for write. */
void vma_link_file(struct vm_area_struct *vma);
void unlink_file_vma(struct vm_area_struct *vma);
void __vma_link_file(struct vm_area_struct *vma);
void __unlink_file_vma(struct vm_area_struct *vma);
bool vma_wants_writenotify(struct vm_area_struct *vma);
bool vma_needs_dirty_tracking(struct vm_area_struct *vma);
int do_munmap(struct mm_struct *mm, uint64_t start, uint64_t len);
int do_mprotect_pkey(struct mm_struct *mm, uint64_t start, uint64_t len, int prot);
int do_madvise(struct mm_struct *mm, uint64_t start, uint64_t len, int behavior);
uint64_t get_unmapped_area(struct mm_struct *mm, uint64_t addr, uint64_t len, int flags);
uint64_t __get_unmapped_area(struct mm_struct *mm, struct file *file, uint64_t addr, uint64_t len, unsigned long pgoff,
			     int flags);
vm_flags_t calc_vm_prot_bits(int prot);
/* vm.mmap_min_addr: the machine's (a /proc/sys/vm knob, 65536 as x86-64's default) */
#define MMAP_MIN_ADDR_DEFAULT	65536UL
static inline uint64_t mmap_min_addr(const struct mm_struct *mm) { return READ_ONCE(mm->machine->mmap_min_addr); }
#define MAX_MAP_COUNT	65530		/* vm.max_map_count */

/* ---- fork's copy, unmap, protection change (memory.c, mprotect.c) ------------------------- */

/* How many ptes from ptep map consecutive pages of folio alike (see memory.c). */
int folio_pte_batch(struct mml_machine *m, struct folio *folio, pte_t *ptep, pte_t pte, int max_nr,
		    bool *any_writable, bool *any_young, bool *any_dirty);
int copy_page_range(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma);

/*
 * What an unmap spares (Linux's zap_details); NULL: nothing but guard
 * markers, which only an unmap of the VMA itself (munmap, exit: the
 * ZAP_FLAG_DROP_MARKER of unmap_vmas) clears.
 */
#define ZAP_FLAG_DROP_MARKER	(1u << 0)
struct zap_details {
	bool even_cows;		/* private copies of the file's pages go too (truncate) */
	unsigned zap_flags;	/* ZAP_FLAG_* */
};
/* What munmap and exit_mmap pass: everything goes, markers too. */
#define ZAP_DETAILS_ALL		(&(const struct zap_details){ .even_cows = true, .zap_flags = ZAP_FLAG_DROP_MARKER })
static inline bool should_zap_markers(const struct zap_details *details)
{
	return details && (details->zap_flags & ZAP_FLAG_DROP_MARKER);
}
/* Models should_zap_cows(): anon pages of a file's private mapping go only with even_cows. */
static inline bool should_zap_cows(const struct zap_details *details)
{
	return !details || details->even_cows;
}
static inline bool should_zap_folio(const struct zap_details *details, struct folio *folio)
{
	return !details || details->even_cows || !folio_test_anon(folio);
}
void unmap_single_vma(struct mmu_gather *tlb, struct vm_area_struct *vma, uint64_t start, uint64_t end,
		      const struct zap_details *details);
void zap_page_range_single(struct vm_area_struct *vma, uint64_t addr, uint64_t size,
			   const struct zap_details *details);
/* change_protection()'s cp_flags, Linux's MM_CP_* */
#define MM_CP_TRY_CHANGE_WRITABLE	(1UL << 0)	/* make ptes writable where it is safe */
#define MM_CP_UFFD_WP			(1UL << 2)	/* set the uffd-wp bit (markers on none ptes) */
#define MM_CP_UFFD_WP_RESOLVE		(1UL << 3)	/* clear it (and drop uffd-wp markers) */
long change_protection(struct mmu_gather *tlb, struct vm_area_struct *vma, uint64_t start, uint64_t end,
		       unsigned long cp_flags);
/* May this pte (in a VMA with VM_WRITE) be made writable without a write fault? */
bool can_change_pte_writable(struct vm_area_struct *vma, uint64_t addr, pte_t pte);
/* Device-exclusive entries (memory.c, rmap.c). */
void restore_exclusive_pte(struct vm_area_struct *vma, struct folio *folio, struct page *page,
			   uint64_t addr, pte_t *ptep, pte_t orig);

/* ---- GUP (gup.c) ----------------------------------------------------------------------------- */

/* FOLL_* (Linux's names): the public four, then the internal ones. */
#define FOLL_WRITE		MML_FOLL_WRITE
#define FOLL_LONGTERM		MML_FOLL_LONGTERM
#define FOLL_FORCE		MML_FOLL_FORCE
#define FOLL_FAST		MML_FOLL_FAST	/* mmlab: try gup_fast() first */
#define FOLL_GET		0x100u
#define FOLL_PIN		0x200u
#define FOLL_TOUCH		0x400u
#define FOLL_MADV_POPULATE	0x800u
#define FOLL_SPLIT_PMD		0x1000u	/* a pmd leaf is split first: the caller needs the pte */

int faultin_page_range(struct mm_struct *mm, uint64_t start, uint64_t end, bool write);
struct page *get_user_page_vma_remote(struct mm_struct *mm, uint64_t addr, unsigned int gup_flags,
				      struct vm_area_struct **vmap, int *err);
long unpin_all_pins(struct mml_machine *m);
long nr_pinned_pages(struct mml_machine *m);	/* FOLL_PIN pages held (not the zero page) */
void note_pinned_frames(struct mml_machine *m, unsigned char *pinned, int *refs);	/* the checker's: pins, references */
int populate_vma_page_range(struct vm_area_struct *vma, uint64_t start, uint64_t end);
int __mm_populate(struct mm_struct *mm, uint64_t start, uint64_t len, bool ignore_errors);
static inline void mm_populate(struct mm_struct *mm, uint64_t start, uint64_t len) { __mm_populate(mm, start, len, true); }

/* ---- swap and reclaim (swapfile.c, swap_state.c, swap.c, vmscan.c) ---------------------- */

struct swap_info_struct *swap_info_get(struct mml_machine *m, swp_entry_t entry);
struct swap_info_struct *get_swap_device(struct mml_machine *m, swp_entry_t entry);
void put_swap_device(struct swap_info_struct *si);
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
/* A fault found its folio in the swap cache: a readahead hit widens the next window. */
void swap_update_readahead(struct mml_machine *m, struct folio *folio, struct vm_area_struct *vma, uint64_t addr);
bool folio_free_swap(struct mml_machine *m, struct folio *folio);
bool add_to_swap(struct mml_machine *m, struct folio *folio);
void swap_write_folios(struct mml_machine *m, struct folio **folios, int n, int *err);
/* Linux's swap_iocb: new swap-cache folios (locked, each with a reference of the plug's) read together. */
struct swap_iocb {
	struct folio *folios[SWAP_CLUSTER_MAX];
	int nr;
};
struct folio *read_swap_cache_async(struct mml_machine *m, swp_entry_t entry, struct swap_iocb *plug);
void swap_read_unplug(struct mml_machine *m, struct swap_iocb *plug);
struct folio *swapin_readahead(struct mml_machine *m, swp_entry_t entry, struct vm_fault *vmf);
void free_swap_cache(struct mml_machine *m, struct folio *folio);
void free_pages_and_swap_cache(struct mml_machine *m, const struct mmu_gather_page *pages, unsigned int nr);

void folio_add_lru(struct mml_machine *m, struct folio *folio);
void folio_add_lru_vma(struct folio *folio, struct vm_area_struct *vma);
void lru_add_drain(struct mml_machine *m);
void lru_cache_disable(struct mml_machine *m);
void lru_cache_enable(struct mml_machine *m);
/* What every view does first: the CPUs' batches drained, the frees waiting for a grace period done. */
void vm_settle(struct mml_machine *m);
/* lru_lock held: on (or off) the list its flags name; an unevictable folio is only counted. */
void lruvec_add_folio(struct mml_machine *m, struct folio *folio);
void lruvec_del_folio(struct mml_machine *m, struct folio *folio);
void lru_del_freed_folio(struct mml_machine *m, struct folio *folio);
void folios_put_refs(struct mml_machine *m, struct folio **folios, const int *refs, unsigned int n);
void free_unref_folios(struct mml_machine *m, struct folio **folios, unsigned int n);
void drain_all_pages(struct mml_machine *m);
unsigned long zone_free_pages(const struct zone *z);
void drain_local_pages(struct mml_machine *m, struct zone *z);
void lru_add_split_folio(struct mml_machine *m, struct folio *folio, struct folio *new_folio);
void folio_activate(struct mml_machine *m, struct folio *folio);
void folio_deactivate(struct mml_machine *m, struct folio *folio);
void folio_move_lazyfree(struct mml_machine *m, struct folio *folio);
bool folio_isolate_lru(struct mml_machine *m, struct folio *folio);
void folio_putback_lru(struct mml_machine *m, struct folio *folio);
unsigned long isolate_lru_folios(struct mml_machine *m, enum lru_list lru, unsigned long nr, struct folio **out);
unsigned long shrink_lists(struct mml_machine *m, unsigned long nr, bool direct);
/* try_to_free_pages(): direct reclaim of nr pages for an allocation of order that failed. */
unsigned long try_to_free_pages(struct mml_machine *m, gfp_t gfp, unsigned int order, unsigned long nr);
/* What shrink_folio_list() saw, for mm_vmscan_lru_shrink_inactive (Linux's struct reclaim_stat, in part). */
struct reclaim_stat {
	unsigned int nr_dirty;		/* dirty when looked at */
	unsigned int nr_writeback;	/* under writeback: never, mmlab's I/O is done when it returns */
	unsigned int nr_congested;
	unsigned int nr_immediate;
	unsigned int nr_activate[2];	/* sent back to the active list: anon, file */
	unsigned int nr_ref_keep;	/* kept: referenced */
	unsigned int nr_unmap_fail;	/* kept: still mapped after try_to_unmap */
};
unsigned long reclaim_pages(struct mml_machine *m, struct folio **folios, unsigned long n);
/*
 * A machine thread (kswapd, khugepaged, ksmd): a host thread of its own,
 * or on a deterministic machine one that only its runs schedule, idle
 * when it waits on idle_on (sched_daemon_start).  Stopping: the caller
 * sets the thread's stop bit and wakes it, then machine_thread_join.
 */
int  machine_thread_start(struct mml_machine *m, struct mml_thread **out, const char *name, void *(*fn)(void *),
			  const void *idle_on);
void machine_thread_join(struct mml_machine *m, struct mml_thread *t);
void wakeup_kswapd(struct mml_machine *m, gfp_t gfp, unsigned int order);
int  kswapd_run(struct mml_machine *m);
void kswapd_stop(struct mml_machine *m);

/* ---- mlock (mlock.c) ---- */

#define MLOCK_LIMIT	MML_RLIMIT_MEMLOCK	/* RLIMIT_MEMLOCK's default, Linux 5.16+ */

void mlock_folio(struct mml_machine *m, struct folio *folio);
void mlock_new_folio(struct mml_machine *m, struct folio *folio);
void munlock_folio(struct mml_machine *m, struct folio *folio);
bool can_do_mlock(struct mm_struct *mm);
bool mlock_future_ok(struct mm_struct *mm, vm_flags_t vm_flags, uint64_t len);

/*
 * Models mlock_vma_folio(): a folio met mapped in full by a locked VMA is
 * mlocked (VM_IO: mlock_fixup is locking this VMA's folios itself).
 */
static inline void mlock_vma_folio(struct folio *folio, struct vm_area_struct *vma)
{
	if ((READ_ONCE(vma->vm_flags) & (VM_LOCKED | VM_SPECIAL)) == VM_LOCKED)
		mlock_folio(vma->vm_mm->machine, folio);
}

/* Models munlock_vma_folio(): a locked VMA let go of (part of) folio. */
static inline void munlock_vma_folio(struct folio *folio, struct vm_area_struct *vma)
{
	if (READ_ONCE(vma->vm_flags) & VM_LOCKED)
		munlock_folio(vma->vm_mm->machine, folio);
}

/* Reclaim writes a dirty file folio back (page-writeback.c): 0 if it is clean now. */
int pageout_file_folio(struct folio *folio);

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

/* In a large folio's _nr_pages_mapped: a pmd maps it whole (see rmap.c). */
#define ENTIRELY_MAPPED		0x800000
#define FOLIO_PAGES_MAPPED	(ENTIRELY_MAPPED - 1)

/* rmap_t: how a mapping is added (Linux's RMAP_*). */
typedef int rmap_t;
#define RMAP_NONE	0x0	/* the pages may be shared */
#define RMAP_EXCLUSIVE	0x1	/* the pages are PG_anon_exclusive: this mm alone maps them */

/* Map counts, Linux's names; nr_pages ptes from page, or one pmd (see rmap.c). */
void folio_add_new_anon_rmap(struct folio *folio, struct vm_area_struct *vma, uint64_t addr, rmap_t flags);
void folio_add_anon_rmap_ptes(struct folio *folio, struct page *page, int nr_pages,
			      struct vm_area_struct *vma, uint64_t addr, rmap_t flags);
#define folio_add_anon_rmap_pte(folio, page, vma, addr, flags) \
	folio_add_anon_rmap_ptes(folio, page, 1, vma, addr, flags)
void folio_add_anon_rmap_pmd(struct folio *folio, struct page *page, struct vm_area_struct *vma,
			     uint64_t addr, rmap_t flags);
void folio_remove_rmap_ptes(struct folio *folio, struct page *page, int nr_pages,
			    struct vm_area_struct *vma);
#define folio_remove_rmap_pte(folio, page, vma) folio_remove_rmap_ptes(folio, page, 1, vma)
void folio_remove_rmap_pmd(struct folio *folio, struct page *page, struct vm_area_struct *vma);
void folio_dup_file_rmap_ptes(struct folio *folio, struct page *page, int nr_pages,
			      struct vm_area_struct *dst_vma);
int folio_mkclean(struct folio *folio);
/* fork: share anon pages; -EBUSY if they may be pinned and must be copied. */
int folio_try_dup_anon_rmap_ptes(struct folio *folio, struct page *page, int nr_pages,
				 struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma);
#define folio_try_dup_anon_rmap_pte(folio, page, dst_vma, src_vma) \
	folio_try_dup_anon_rmap_ptes(folio, page, 1, dst_vma, src_vma)
int folio_try_share_anon_rmap_pte(struct folio *folio, struct page *page);
int folio_try_dup_anon_rmap_pmd(struct folio *folio, struct page *page, struct vm_area_struct *dst_vma,
				struct vm_area_struct *src_vma);
void folio_move_anon_rmap(struct folio *folio, struct vm_area_struct *vma);

/*
 * rmap_walk(): call rmap_one() for every VMA that may map folio, with the
 * address of the folio's first page that lies in it; stop when it returns
 * false: through the anon_vma of an anon folio, the file's i_mmap
 * otherwise (the folio locked).
 */
struct rmap_walk_control {
	void *arg;
	bool (*rmap_one)(struct folio *folio, struct vm_area_struct *vma, uint64_t addr, void *arg);
};
void rmap_walk(struct folio *folio, struct rmap_walk_control *rwc);
void rmap_walk_locked(struct folio *folio, struct rmap_walk_control *rwc);	/* anon_vma lock held */
struct anon_vma *folio_get_anon_vma(struct folio *folio);
void put_anon_vma(struct anon_vma *av);
/* Where the first of nr_pages pages from pgoff lies in vma, or -EFAULT if none does. */
uint64_t vma_address(struct vm_area_struct *vma, unsigned long pgoff, unsigned long nr_pages);

/*
 * page_vma_mapped_walk(): each pte of vma that maps a page of the frames
 * [pfn, pfn + nr_pages), in address order from address.  Returns true with
 * that pte mapped and locked in pvmw->pte / ptl (pvmw->address is its
 * address), false when there is none left (all unlocked).  A caller that
 * stops early calls page_vma_mapped_walk_done().  Linux's, without the
 * migration-entry and pmd-leaf cases (the leaf is reported).
 */
struct page_vma_mapped_walk {
	unsigned long pfn;
	unsigned long nr_pages;
	unsigned long pgoff;
	struct vm_area_struct *vma;
	uint64_t address;
	pmd_t *pmd;
	pte_t *pte;		/* NULL with pmd set: a pmd leaf maps the folio (under ptl) */
	spinlock_t *ptl;
	unsigned int flags;	/* PVMW_MIGRATION: look for migration entries only */
};
#define PVMW_MIGRATION	0x1
#define DEFINE_FOLIO_VMA_WALK(name, folio, _vma, _address)					\
	struct page_vma_mapped_walk name = {							\
		.pfn = folio_pfn((_vma)->vm_mm->machine, folio), .nr_pages = (unsigned long)folio_nr_pages(folio), \
		.pgoff = (folio)->index, .vma = (_vma), .address = (_address),			\
	}
bool page_vma_mapped_walk(struct page_vma_mapped_walk *pvmw);
void page_vma_mapped_walk_done(struct page_vma_mapped_walk *pvmw);

/* ---- transparent huge pages (huge_memory.c, khugepaged.c) ------------------------------------ */

void hugepage_init(struct mml_machine *m);	/* the knobs' defaults, the split queue */
void hugepage_exit(struct mml_machine *m);	/* power-off: the huge zero folio, the queue */
/* The orders of `orders` a VMA may use for anon memory (thp_vma_allowable_orders). */
#define TVA_SMAPS		0x1	/* for THPeligible */
#define TVA_IN_PF		0x2	/* a page fault */
#define TVA_ENFORCE_SYSFS	0x4	/* obey the sysfs knobs (not MADV_COLLAPSE) */
/* THP_ORDERS_ALL_ANON: every order an anon THP may have (2 .. PMD order; order 1 never). */
#define THP_ORDERS_ALL_ANON	(((1UL << (HPAGE_PMD_ORDER + 1)) - 1) & ~3UL)
unsigned long thp_vma_allowable_orders(struct vm_area_struct *vma, vm_flags_t vm_flags,
				       unsigned long tva_flags, unsigned long orders);
/*
 * thp_vma_suitable_order(): the aligned range of that order around addr
 * lies in the VMA, and for a file the VMA maps the file at the same
 * alignment (else no file folio of that order could be mapped whole).
 */
static inline bool thp_vma_suitable_order(const struct vm_area_struct *vma, uint64_t addr, unsigned order)
{
	uint64_t size = PAGE_SIZE << order, haddr = addr & ~(size - 1);

	if (!vma_is_anonymous(vma) && (((vma->vm_start >> PAGE_SHIFT) - vma->vm_pgoff) & ((1UL << order) - 1)))
		return false;
	return haddr >= vma->vm_start && haddr + size <= vma->vm_end;
}
static inline bool thp_vma_allowable_order(struct vm_area_struct *vma, vm_flags_t vm_flags,
					   unsigned long tva_flags, unsigned int order)
{
	return thp_vma_allowable_orders(vma, vm_flags, tva_flags, 1UL << order) != 0;
}
/*
 * split_folio(): split a large anon folio into small ones.  The caller
 * holds the folio lock and a reference; every mapping becomes a migration
 * entry while the counts are rebuilt.  0, -EAGAIN (extra references: pins,
 * GUP) or -EBUSY (not splittable); thp_split_page(_failed) counted.
 */
int split_folio(struct mml_machine *m, struct folio *folio);
int split_folio_to_list(struct mml_machine *m, struct folio *folio, struct list_head *list);
/* Huge pmds (huge_memory.c), Linux's names. */
bool transparent_hugepage_use_zero_page(struct mml_machine *m);
void pgtable_trans_huge_deposit(struct mm_struct *mm, pmd_t *pmd, struct ptdesc *pgtable);
struct ptdesc *pgtable_trans_huge_withdraw(struct mm_struct *mm, pmd_t *pmd);
void mm_put_huge_zero_folio(struct mm_struct *mm);
bool is_huge_zero_pmd(struct mml_machine *m, pmd_t pmd);
/* How hard a THP allocation for vma may try, by the defrag knob (vma_thp_gfp_mask). */
gfp_t vma_thp_gfp_mask(struct vm_area_struct *vma);
vm_fault_t do_huge_pmd_anonymous_page(struct vm_fault *vmf);
/* Shared by memory.c and memory_file.c (file faults). */
bool pte_range_none(pte_t *pte, int nr);	/* nr ptes from pte are all none */
vm_fault_t wp_page_reuse(struct vm_fault *vmf);	/* make the pte writable in place; drops the pte lock */
vm_fault_t wp_page_shared(struct vm_fault *vmf, struct folio *folio);	/* a write to a clean shared page */
vm_fault_t do_fault(struct vm_fault *vmf);	/* a fault of a file or shmem VMA (none pte) */
/* Map a PMD-sized page-cache folio with a pmd (memory_file.c): 0, VM_FAULT_NOPAGE or VM_FAULT_FALLBACK. */
vm_fault_t do_set_pmd(struct vm_fault *vmf, struct folio *folio);
vm_fault_t do_huge_pmd_wp_page(struct vm_fault *vmf);
void huge_pmd_set_accessed(struct vm_fault *vmf);
spinlock_t *pmd_trans_huge_lock(pmd_t *pmd, struct vm_area_struct *vma);
int zap_huge_pmd(struct mmu_gather *tlb, struct vm_area_struct *vma, pmd_t *pmd, uint64_t addr);
int copy_huge_pmd(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma, pmd_t *dst_pmd,
		  pmd_t *src_pmd, uint64_t addr);
int change_huge_pmd(struct mmu_gather *tlb, struct vm_area_struct *vma, pmd_t *pmd, uint64_t addr,
		    bool try_writable);
void __split_huge_pmd(struct vm_area_struct *vma, pmd_t *pmd, uint64_t address, bool freeze);
static inline void split_huge_pmd(struct vm_area_struct *vma, pmd_t *pmd, uint64_t address)
{
	if (pmd_trans_huge(pmdp_get(pmd)))
		__split_huge_pmd(vma, pmd, address, false);
}
void split_huge_pmd_address(struct vm_area_struct *vma, uint64_t address);
void vma_adjust_trans_huge(struct vm_area_struct *vma, uint64_t addr);
bool madvise_free_huge_pmd(struct mmu_gather *tlb, struct vm_area_struct *vma, pmd_t *pmd, uint64_t addr,
			   uint64_t next);
void folio_mark_lazyfree(struct mml_machine *m, struct folio *folio);
/* The deferred split queue (huge_split.c). */
void deferred_split_folio(struct mml_machine *m, struct folio *folio, bool partially_mapped);
void folio_unqueue_deferred_split(struct mml_machine *m, struct folio *folio);
/* khugepaged (khugepaged.c): register an mm whose VMA may become huge. */
void khugepaged_enter_vma(struct vm_area_struct *vma, vm_flags_t vm_flags);
void khugepaged_exit(struct mm_struct *mm);
void khugepaged_fork(struct mm_struct *mm, struct mm_struct *oldmm);
void wakeup_khugepaged(struct mml_machine *m);
int  khugepaged_init(struct mml_machine *m);	/* the state; the thread if MML_KHUGEPAGED */
void khugepaged_stop(struct mml_machine *m);	/* power-off: the thread */
void khugepaged_destroy(struct mml_machine *m);	/* power-off, every mm gone: the state */
long khugepaged_scan_result_count(struct mml_machine *m, const char *name);	/* SCAN_* by name; -ENOENT */
int  madvise_collapse(struct vm_area_struct *vma, uint64_t start, uint64_t end, bool *lock_dropped);
/* Migration entries (migrate.c, rmap.c). */
bool try_to_migrate(struct folio *folio, bool rmap_locked);
void remove_migration_ptes(struct folio *src, struct folio *dst, bool rmap_locked);
/* A folio between migrate_folio_unmap and migrate_folio_move: both locked, its ptes migration entries. */
struct migrate_state {
	struct folio *src, *dst;
	struct anon_vma *anon_vma;	/* a reference while src's ptes are entries, or NULL */
	bool was_mapped;		/* src's ptes are migration entries (Linux's PAGE_WAS_MAPPED) */
};
/* Why folios are migrated (Linux's enum migrate_reason, the ones mmlab has). */
enum migrate_reason { MR_COMPACTION, MR_SYSCALL, MR_MEMPOLICY_MBIND };
/* Linux's enum migrate_mode: mmlab's migrations are all MIGRATE_SYNC (for the trace). */
enum migrate_mode { MIGRATE_ASYNC, MIGRATE_SYNC_LIGHT, MIGRATE_SYNC };
#define NR_MAX_MIGRATE_PAGES_RETRY	10
/* A new folio for src: private is the callback's (a node, a policy). */
typedef struct folio *new_folio_t(struct mml_machine *m, struct folio *src, unsigned long private);
long migrate_pages(struct mml_machine *m, struct list_head *from, new_folio_t *get_new_folio,
		   unsigned long private, enum migrate_reason reason);
void putback_movable_pages(struct mml_machine *m, struct list_head *l);
/* Migrations held half way (mml_migrate_unmap): finish src's if it is one; finish all (power-off). */
bool migrate_finish_held_folio(struct mml_machine *m, struct folio *src);
void migrate_finish_held(struct mml_machine *m);
bool folio_migration_held(struct mml_machine *m, struct folio *src);
/* alloc_migration_target(): a folio like src on node private, that node only (mempolicy.c) */
struct folio *alloc_migration_target(struct mml_machine *m, struct folio *src, unsigned long nid);
void migration_entry_wait(struct mm_struct *mm, pmd_t *pmd, uint64_t address);
/* The debugfs file split_huge_pages: split the THPs mapped in [start, end) of process pid. */
int split_huge_pages_pid(struct mml_machine *m, int pid, uint64_t start, uint64_t end);
/* The deferred split queue's shrinker: split up to nr queued folios; how many were split. */
unsigned long deferred_split_scan(struct mml_machine *m, unsigned long nr);

/* ---- the OOM killer (oom_kill.c) ------------------------------------------------------------ */

bool out_of_memory(struct mml_machine *m, const nodemask_t *nodemask);
void oom_reap_if_pending(struct mm_struct *mm);
void oom_reap_done(struct mm_struct *mm);

/* ---- tasks and address spaces (fork.c, exit.c) ----------------------------------------------- */

struct mm_struct *mm_alloc(struct mml_machine *m);
void exit_mmap(struct mm_struct *mm);
struct mml_task *task_alloc(struct mm_struct *mm);
void task_free(struct mml_task *t);

#endif /* MML_MM_INTERNAL_H */
