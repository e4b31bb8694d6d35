/*
 * mm_types.h - the core data structures of mmlab, as Linux's mm_types.h.
 *
 * Lock legend for fields (FreeBSD vm_page.h style); every field has one.
 *   (A) atomic                      (C) constant after creation
 *   (L) folio lock (PG_locked)      (P) the pte lock of the table mapping it
 *   (Z) zone->lock                  (M) mm->mmap_lock: write to change, read to use
 *   (R) anon_vma root rwsem: write to change, read to walk
 *   (G) mm->page_table_lock         (T) the TLB's own lock (arch/tlb.h)
 *   (K) machine->tasks_lock         (S) mm->tasks_lock
 *   (W) swap_info_struct->lock      (X) machine->swap_lock
 *   (U) lruvec->lru_lock            (N) machine->pins_lock (pins, devices)
 *   (Q) machine->quiesce: operations hold it for read, the checker for write
 *   (Y) machine->split_queue.split_queue_lock: the deferred split queue
 *   (E) a large folio's mapcount lock (folio_lock_large_mapcount, a bit of _mm_ids)
 *   (O) swap_cluster_info->lock (a swap cluster's, under swap_info_struct->lock)
 *   (pcp) per_cpu_pages->lock (a CPU's list of free pages, above zone->lock)
 * (M) on a VMA's own fields: to change, mmap_lock for write and the VMA
 *     write-locked (vma_start_write); to use, mmap_lock or the VMA's read
 *     lock (lock_vma_under_rcu: mmap_lock.c)
 * Two letters: either lock to read, both to write ("M+G").  A lock field
 * says what it guards by the letter it is given here.  The lock order is
 * at the top of mm/rmap.c.
 */
#ifndef MML_MM_TYPES_H
#define MML_MM_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/mte.h"
#include "arch/pgtable.h"
#include "arch/tlb.h"
#include "mm/list.h"
#include "mm/swapops.h"
#include "mm/hooks.h"
#include "mm/trace.h"
#include "mmlab.h"
#include "sync/sync.h"

/*
 * mmlab's CPUs: a task is a CPU, and tasks share NR_CPU_SLOTS slots of
 * per-CPU state by thread id (smp_processor_id()), so that threads on
 * different host CPUs touch different cache lines on their hot paths.
 */
#define NR_CPU_SLOTS	16

/* The rss counters of an mm (Linux's enum in mm_types_task.h). */
enum mm_counter { MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES, NR_MM_COUNTERS };
/* One CPU's share of an mm's rss counters (mm->rss_stat[cpu]). */
struct mm_rss_stat {
	atomic_long_t count[NR_MM_COUNTERS];
} ____cacheline_aligned;


/* ---- struct page / struct folio ------------------------------------------------ */

/*
 * One per frame of simulated RAM: 64 bytes, the budget the brief allows.
 * A folio is one or more physically contiguous pages managed as a unit;
 * struct folio overlays the head page's struct page (and, for large folios,
 * the next ones), exactly as in Linux.  Tail pages point to their head
 * through compound_head with bit 0 set.
 *
 * Identities (checked by folio_is_valid and the invariant checker):
 *  - refcount >= mapcount + (pins * GUP_PIN_COUNTING_BIAS for small folios,
 *    _pincount for large ones) + (1 if in the swap cache); refcount == 0
 *    iff the folio is free.
 *  - a page's mapcount == the page-table entries mapping it.
 *  - PG_anon_exclusive only on anon pages; mapped writable => exclusive,
 *    and then mapped once.
 */
struct page {
	unsigned long flags;		/* (A) PG_* bits */
	union {
		struct {		/* a folio, or an order-0 page */
			struct list_head lru;	/* (U) on an LRU list while PG_lru; (Z) a buddy list while PG_buddy; (pcp) a CPU's free list */
			void *mapping;		/* (L) anon_vma | PAGE_MAPPING_ANON, or an address_space */
			union {
				unsigned long index;	/* (L) offset in mapping, in pages */
				unsigned long share;	/* (L) fs-DAX, PAGE_MAPPING_DAX_SHARED: the files mapping it */
			};
			unsigned long private;	/* (L) swap entry while PG_swapcache (folio->swap) */
		};
		struct {		/* a tail page of a large folio */
			unsigned long compound_head;	/* (C) head | 1 */
			unsigned long _tail_1[3];	/* page[1]: the large folio's counts, see struct folio */
		};
		struct {		/* a page-table page: see struct ptdesc */
			union {
				struct callback_head pt_rcu_head;	/* (C) the table's freeing after a grace period */
				struct {
					unsigned long _pt_pad_1;
					/*
					 * (P) of a pmd table (its pmd lock): the pte tables
					 * deposited for its huge pmds, chained through this
					 * same field of each (pgtable_trans_huge_deposit).
					 */
					struct page *pmd_huge_pte;
				};
			};
			struct mm_struct *pt_mm;	/* (C) owner */
			spinlock_t *ptl;		/* (C) split page-table lock */
			struct mml_machine *pt_machine;	/* (C) for the RCU free */
		};
	};
	atomic_t _mapcount;		/* (A) page-table mappings - 1 */
	atomic_t _refcount;		/* (A) references: 0 = free */
	unsigned int alloc_gen;		/* (Z or pcp) bumped at each allocation and free: stale-TLB detection */
	unsigned int order;		/* (Z) buddy order while PG_buddy; (C) folio order of a head */
};

_Static_assert(sizeof(struct page) <= 64, "struct page must stay within 64 bytes per frame");

/*
 * The folio: the head page's fields under folio names, each with the lock
 * struct page gives it, plus for large folios (order >= 1) the counts Linux
 * keeps in the first tail page.  How the counts work: mm/rmap.c.
 *
 * Identities of a large folio (folio_is_valid): every tail points to the
 * head; _large_mapcount + 1 = the ptes mapping any of its pages + the pmds
 * mapping it whole; _nr_pages_mapped = the pages some pte maps, plus
 * ENTIRELY_MAPPED while a pmd does; _pincount <= refcount; each page
 * counts one reference per pte mapping it.
 */
struct folio {
	union {
		struct {
			unsigned long flags;		/* (A) */
			union {
				struct list_head lru;	/* (U) */
				struct {		/* (U) while PG_unevictable: on no list */
					void *__filler;
					unsigned int mlock_count;	/* VM_LOCKED mappings, maybe fewer */
				};
			};
			void *mapping;			/* (L) */
			union {
				unsigned long index;	/* (L) */
				unsigned long share;	/* (L) fs-DAX shared: see PAGE_MAPPING_DAX_SHARED */
			};
			union {
				unsigned long private;	/* (L) */
				swp_entry_t swap;	/* (L) its slot, while PG_swapcache */
			};
			atomic_t _mapcount;		/* (A) small folios: ptes mapping it - 1 */
			atomic_t _refcount;		/* (A) */
			unsigned int alloc_gen;		/* (Z) */
			unsigned int order;		/* (C) */
		};
		struct page page;
	};
	union {
		struct {		/* page[1]: large folios only */
			unsigned long _flags_1;		/* (A) page[1]'s own flags */
			unsigned long _head_1;		/* (C) page[1]'s compound_head */
			atomic_t _large_mapcount;	/* (A) all mappings of any page - 1 */
			atomic_t _entire_mapcount;	/* (A) PMD mappings - 1 */
			atomic_t _nr_pages_mapped;	/* (A) pages mapped by a PTE (+ ENTIRELY_MAPPED) */
			atomic_t _pincount;		/* (A) FOLL_PIN pins */
			/*
			 * (E) which mms map the folio (Linux's CONFIG_MM_ID): two
			 * slots, each an mm id (MM_ID_DUMMY: free) and the mappings
			 * that mm has - 1; the lock and "maybe shared" bits ride in
			 * the ids' top bits.  In page[1]'s index and private.
			 */
			union {
				unsigned int _mm_id[2];
				unsigned long _mm_ids;
			};
			int _mm_id_mapcount[2];
		};
		struct page __page_1;
	};
	union {
		struct {		/* page[2]: folios of order >= 2 only */
			unsigned long _flags_2;		/* (A) page[2]'s own flags */
			unsigned long _head_2;		/* (C) page[2]'s compound_head */
			struct list_head _deferred_list;	/* (Y) on the deferred split queue */
		};
		struct page __page_2;
	};
};

_Static_assert(offsetof(struct folio, _refcount) == offsetof(struct page, _refcount), "folio overlays page");
_Static_assert(offsetof(struct folio, mapping) == offsetof(struct page, mapping), "folio overlays page");
_Static_assert(offsetof(struct folio, order) == offsetof(struct page, order), "folio overlays page");
_Static_assert(offsetof(struct folio, _deferred_list) + sizeof(struct list_head) <=
	       2 * sizeof(struct page) + offsetof(struct page, _mapcount), "deferred list fits page[2]");
_Static_assert(offsetof(struct folio, _large_mapcount) < 2 * sizeof(struct page), "folio tail fits page[1]");
_Static_assert(offsetof(struct folio, _mm_id_mapcount) + 2 * sizeof(int) <=
	       sizeof(struct page) + offsetof(struct page, _mapcount), "mm ids fit page[1]");

/* Page flags.  PG_anon_exclusive is per page; the rest describe the folio. */
enum pageflags {
	PG_locked,		/* folio lock (bit lock) */
	PG_referenced,
	PG_uptodate,
	PG_dirty,
	PG_lru,
	PG_head,		/* first page of a large folio */
	PG_active,
	PG_workingset,
	PG_swapcache,		/* in the swap cache: private holds the entry */
	PG_swapbacked,		/* anon or shmem: backed by swap, not a file */
	PG_writeback,
	PG_reclaim,
	PG_readahead = PG_reclaim,	/* as Linux: a swap-cache folio readahead brought in, no fault on it yet */
	PG_unevictable,
	PG_mlocked,
	PG_anon_exclusive,	/* per page: this anon page is mapped by exactly one mm */
	PG_lazyfree_unused,	/* reserved */
	PG_large_rmappable,
	PG_hwpoison,
	PG_mte_tagged,		/* per page: its tags are valid (arm64's PG_arch_2) */
	PG_mte_lock,		/* per page: held while the tags are first set (arm64's PG_arch_3) */
	PG_partially_mapped,	/* in page[1]'s flags: a THP on the deferred split queue because part is unmapped */
	/* page types, kept as flags rather than in _mapcount */
	PG_buddy,		/* free, in the buddy allocator */
	PG_table,		/* a page-table page */
	PG_reserved,		/* never freed (the zero page) */
	PG_slab_meta,		/* reserved for metadata frames */
	__NR_PAGEFLAGS
};

/* PAGE_MAPPING_ANON in the low bit of folio->mapping marks an anon_vma. */
#define PAGE_MAPPING_ANON	0x1UL
/* Both low bits: a KSM folio, mapping = its ksm_stable_node (Linux's FOLIO_MAPPING_KSM). */
#define PAGE_MAPPING_KSM	0x3UL
/*
 * fs-DAX: a reflinked block's folio mapped by more than one file has no
 * one mapping; this bit (not PAGE_MAPPING_ANON's, as the seed's review
 * settled) says so and index holds the share count (folio->share).
 */
#define PAGE_MAPPING_DAX_SHARED	0x4UL
#define PAGE_MAPPING_FLAGS	(PAGE_MAPPING_KSM | PAGE_MAPPING_DAX_SHARED)

/* GUP_PIN_COUNTING_BIAS: a pin of a small folio adds this to the refcount. */
#define GUP_PIN_COUNTING_BIAS	1024

/* ---- page-table pages ------------------------------------------------------------ */

/* struct ptdesc overlays struct page for a frame holding a page table. */
#define ptdesc page

/* ---- reverse mapping ----------------------------------------------------------------- */

/*
 * An anon_vma groups the VMAs whose private pages may be shared through fork;
 * folio->mapping of an anon folio points to one.  anon_vma_chain links one
 * VMA to one anon_vma (a VMA is on several after fork: its own and each
 * ancestor's).  Linux keeps the chains in an interval tree; mmlab keeps a
 * list (docs/deviations.md).
 */
struct anon_vma {
	struct anon_vma *root;		/* (C) root of the fork tree; holds the lock */
	struct rw_semaphore rwsem;	/* (R) of the root alone: guards the tree's chains and counts */
	atomic_t refcount;		/* (A) */
	unsigned long num_children;	/* (R) anon_vmas with ->parent == this */
	unsigned long num_active_vmas;	/* (R) VMAs whose ->anon_vma == this */
	struct anon_vma *parent;	/* (C) */
	struct list_head chains;	/* (R) anon_vma_chain.same_anon_vma */
	struct mml_machine *machine;	/* (C) */
	struct callback_head rcu;	/* (C) freeing after a grace period */
};

struct anon_vma_chain {
	struct vm_area_struct *vma;	/* (C) */
	struct anon_vma *anon_vma;	/* (C) */
	struct list_head same_vma;	/* (M+G) on vma->anon_vma_chain: mmap_lock for write, or read + page_table_lock */
	struct list_head same_anon_vma;	/* (R) on anon_vma->chains */
};

/* ---- VMAs and the mm ------------------------------------------------------------------ */

typedef unsigned long vm_flags_t;

#define VM_NONE		0x00000000UL
#define VM_READ		0x00000001UL
#define VM_WRITE	0x00000002UL
#define VM_EXEC		0x00000004UL
#define VM_SHARED	0x00000008UL
#define VM_MAYREAD	0x00000010UL
#define VM_MAYWRITE	0x00000020UL
#define VM_MAYEXEC	0x00000040UL
#define VM_MAYSHARE	0x00000080UL
#define VM_GROWSDOWN	0x00000100UL
#define VM_UFFD_MISSING	0x00000200UL
#define VM_PFNMAP	0x00000400UL
#define VM_UFFD_WP	0x00001000UL
#define VM_LOCKED	0x00002000UL
#define VM_IO		0x00004000UL
#define VM_SEQ_READ	0x00008000UL
#define VM_RAND_READ	0x00010000UL
#define VM_DONTCOPY	0x00020000UL
#define VM_DONTEXPAND	0x00040000UL
#define VM_LOCKONFAULT	0x00080000UL
#define VM_ACCOUNT	0x00100000UL
#define VM_NORESERVE	0x00200000UL
#define VM_HUGETLB	0x00400000UL
#define VM_SYNC		0x00800000UL
#define VM_WIPEONFORK	0x02000000UL
#define VM_DONTDUMP	0x04000000UL
#define VM_SOFTDIRTY	0x08000000UL
#define VM_MIXEDMAP	0x10000000UL
#define VM_HUGEPAGE	0x20000000UL
#define VM_NOHUGEPAGE	0x40000000UL
#define VM_MERGEABLE	0x80000000UL
#define VM_MTE		0x100000000UL	/* arm64's VM_HIGH_ARCH_0: tagged memory */
#define VM_MTE_ALLOWED	0x200000000UL
#define VM_UFFD_MINOR	0x20000000000UL	/* bit 41, as x86-64's VM_UFFD_MINOR_BIT */

#define VM_ACCESS_FLAGS	(VM_READ | VM_WRITE | VM_EXEC)
/* Page tables not (only) the core's to manage (Linux's VM_SPECIAL). */
#define VM_SPECIAL	(VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP)
#define VM_LOCKED_MASK	(VM_LOCKED | VM_LOCKONFAULT)
/* Flags that forbid merging when they differ (vma_merge ignores VM_SOFTDIRTY). */
#define VM_IGNORE_MERGE	VM_SOFTDIRTY

struct vm_area_struct {
	uint64_t vm_start;		/* (M) first address */
	uint64_t vm_end;		/* (M) first address after */
	struct mm_struct *vm_mm;	/* (C) */
	pgprot_t vm_page_prot;		/* (M) protection for new PTEs */
	vm_flags_t vm_flags;		/* (M) VM_* */
	unsigned long vm_pgoff;		/* (M) offset in pages: address >> PAGE_SHIFT at creation for anon */
	struct anon_vma *anon_vma;	/* (M+G) set once by anon_vma_prepare, read with an acquire load */
	struct list_head anon_vma_chain;/* (M) anon_vma_chain.same_vma */
	struct file *vm_file;		/* (C) NULL for anonymous memory; holds a file reference */
	const struct vm_operations_struct *vm_ops;	/* (C) the file's fault handlers; NULL for anon */
	struct list_head shared;	/* (M+J) on vm_file->f_mapping->i_mmap (Linux: vma->shared.rb) */
	struct mempolicy *vm_policy;	/* (M) mbind's; NULL: the task's.  A reference (mpol_get) */
	/* (M) the userfaultfd registered here (VM_UFFD_* set), else NULL: Linux's vm_userfaultfd_ctx.ctx */
	struct userfaultfd_ctx *vm_userfaultfd_ctx;
	/*
	 * (A) swap_vma_readahead's last fault here: address, window and hits
	 * (SWAP_RA_VAL).  A fault under the VMA lock may store it while a split
	 * copies the VMA (vm_area_dup, before vma_start_write as Linux's
	 * __split_vma): vm_area_dup copies up to here, then it atomically.
	 */
	atomic_long_t swap_readahead_info;
	/*
	 * The per-VMA lock (Linux 6.18's vm_refcnt and vm_lock_seq; see
	 * mmap_lock.c).  vm_refcnt: 0 detached, 1 attached, +1 a reader,
	 * +VMA_LOCK_OFFSET a writer waiting for the readers to leave.
	 * vm_lock_seq: the mm_lock_seq of the mmap_lock write section that
	 * write-locked this VMA; equal to the mm's while it is write-locked.
	 * Last in the struct: vm_area_dup copies what comes before.
	 */
	atomic_t vm_refcnt;		/* (A) */
	unsigned int vm_lock_seq;	/* written under mmap_lock for write, read locklessly */
	struct rcu_head vm_rcu;		/* freed after a grace period: lock_vma_under_rcu may still look */
	struct mml_machine *vm_rcu_machine;	/* the machine to free into (the mm may be gone by then) */
};

struct mm_struct {
	struct mml_machine *machine;	/* (C) */
	pgd_t *pgd;			/* (C) top table, one frame */
	struct rw_semaphore mmap_lock;	/* (M) the VMAs and their fields */
	spinlock_t page_table_lock;	/* (G) populating pgd/pud entries; anon_vma install */
	struct vm_area_struct **vmas;	/* (M) sorted by vm_start: see vma_tree.c */
	uint64_t *vma_ends;		/* (M) vmas[i]->vm_end, the maple tree's pivots: a search reads no VMA */
	/* (M write; RCU to read) the VMAs as lock_vma_under_rcu sees them: republished at mmap_write_unlock */
	struct vma_rcu_array *vma_rcu;
	bool vma_rcu_stale;		/* (M write) a VMA was added, removed or write-locked since the copy */
	struct callback_head *vma_free_pending;	/* (M write) VMAs removed: freed once the copy is republished */
	/* (M write) odd while mmap_lock is held for write; its value then write-locks VMAs (vma_start_write) */
	seqcount_t mm_lock_seq;
	int vma_writer_wait;		/* (C) what a writer waits on for a VMA's readers (wait_var_event) */
	unsigned long map_count;	/* (M) number of VMAs */
	unsigned long vmas_cap;		/* (M) */
	uint64_t mmap_base;		/* (C) top of the top-down mmap area */
	atomic_t mm_users;		/* (A) threads using the address space */
	atomic_t mm_count;		/* (A) references to the struct */
	/*
	 * (C) the rss counters, Linux's percpu_counter rss_stat: a cache line
	 * per CPU, allocated apart (alloc_percpu), so that the struct itself
	 * needs no alignment; (A) each count, summed when read
	 */
	struct mm_rss_stat *rss_stat;
	atomic_long_t pgtables_bytes;	/* (A) */
	unsigned long flags;		/* (A) MMF_* */
	unsigned long locked_vm;	/* (M write) pages in VM_LOCKED VMAs */
	unsigned long def_flags;	/* (M write) VM_LOCKED, VM_LOCKONFAULT for new VMAs: mlockall(MCL_FUTURE) */
	uint64_t rlimit_memlock;	/* (M) RLIMIT_MEMLOCK's soft limit, bytes (RLIM_INFINITY: none) */
	uint64_t rlimit_memlock_max;	/* (M) its hard limit */
	seqcount_t write_protect_seq;	/* (M write) odd while fork write-protects: GUP-fast backs off */
	int tgid;			/* (C) process id */
	unsigned int mm_id;		/* (C) the id large folios record their mappers by (never MM_ID_DUMMY) */
	spinlock_t tasks_lock;		/* (S) the CPUs running this mm (Linux's mm_cpumask) */
	struct list_head tasks;		/* (S) struct mml_task.mm_node */
	unsigned long nr_tasks;		/* (S) */
	struct list_head mm_node;	/* (K) on machine->mms */
	/* (M+A) made at the first registration under mmap_lock for write, read with acquire */
	struct mmu_notifier_subscriptions *notifier_subscriptions;
	atomic_long_t ksm_merging_pages;	/* (A) its items on stable nodes: /proc/PID/ksm_merging_pages */
	atomic_long_t ksm_rmap_items;		/* (A) its ksm_rmap_items */
	atomic_long_t ksm_zero_pages;		/* (A) its ptes KSM pointed at the zero page */
	atomic_t oom_reapers;		/* (A) reaps of this OOM victim in flight (oom_kill.c) */
};

#define KSWAPD_WAKE	0	/* machine->kswapd_flags: free memory fell below the low watermark */
#define KSWAPD_STOP	1	/* power-off: kswapd returns */

#define MMF_HAS_PINNED	0	/* a page of this mm was ever FOLL_PIN'ed (fork copies) */
#define MMF_OOM_VICTIM	1	/* chosen by the OOM killer: its threads have a fatal signal pending */
#define MMF_OOM_REAPING	2	/* killed, private memory not yet unmapped: allocators wait for it */
#define MMF_HUGE_ZERO_FOLIO 3	/* this mm holds a count of the huge zero folio (mm_get_huge_zero_folio) */
#define MMF_VM_HUGEPAGE	4	/* registered with khugepaged (khugepaged_enter_vma) */
#define MMF_DISABLE_THP	5	/* prctl(PR_SET_THP_DISABLE) */
#define MMF_VM_MERGEABLE 6	/* registered with KSM (an mm_slot) */
#define MMF_VM_MERGE_ANY 7	/* prctl(PR_SET_MEMORY_MERGE): every compatible VMA is VM_MERGEABLE */

#define KHUGEPAGED_WAKE	0	/* machine->khugepaged_flags: a new mm to scan, or a knob changed */
#define KHUGEPAGED_STOP	1	/* power-off: khugepaged returns */

/* ---- swap ---------------------------------------------------------------------------- */

/*
 * One swap device (Linux's swap_info_struct).  swap_map[offset] counts the
 * swap entries naming the slot (in ptes, and duplicated by fork), plus
 * SWAP_HAS_CACHE while the slot's folio is in the swap cache.  Slot 0 is the
 * header and never used.
 */
/*
 * Slots are allocated a cluster at a time, as Linux's swap_cluster_info
 * (mm/swap.h): SWAPFILE_CLUSTER is its value with CONFIG_THP_SWAP, a PMD's
 * worth.  A cluster is on one of its device's lists: free (no slot in
 * use), full (every slot), else frag (partly used by allocations) or
 * nonfull (a slot freed since it was full or frag), as Linux's lists for
 * order 0, where allocation looks after its CPU's cluster.  Slot 0 (the header) and
 * the slots past the end of a short last cluster count as used, so that
 * neither is ever handed out.
 */
#define SWAPFILE_CLUSTER	512

enum swap_cluster_flags {
	CLUSTER_FLAG_FREE,
	CLUSTER_FLAG_NONFULL,
	CLUSTER_FLAG_FRAG,
	CLUSTER_FLAG_FULL,
};

struct swap_cluster_info {
	spinlock_t lock;		/* (O) */
	unsigned int count;		/* (O) slots in use: a nonzero swap_map, or not a slot */
	unsigned int flags;		/* (W+O) enum swap_cluster_flags: the list it is on */
	struct list_head list;		/* (W) on si->free_clusters, nonfull_clusters, frag_clusters or full_clusters */
};

/*
 * Linux's percpu_swap_cluster for order 0: where this CPU (a task here)
 * allocates next, so that what one CPU swaps out in a row lands in a row.
 * Read and written by the task alone (Linux: a local_lock).  offset 0: none.
 */
struct percpu_swap_cluster {
	struct swap_info_struct *si;	/* compared, never followed */
	unsigned long offset;
};

struct swap_info_struct {
	spinlock_t lock;		/* (W) */
	unsigned long flags;		/* (W) SWP_USED, SWP_WRITEOK; read with READ_ONCE by swap_info_get */
	int type;			/* (C) index in machine->swap_info */
	int prio;			/* (C) */
	unsigned long max;		/* (C) slots */
	unsigned long inuse_pages;	/* (W) slots with a nonzero swap_map; read locklessly as a hint */
	unsigned long global_cluster;	/* (W) the next slot for a caller with no task (kswapd): Linux's si->global_cluster */
	struct swap_cluster_info *cluster_info;	/* (C) the array, one per SWAPFILE_CLUSTER slots */
	unsigned long nr_clusters;	/* (C) */
	struct list_head free_clusters;	/* (W) */
	struct list_head nonfull_clusters;	/* (W) */
	struct list_head frag_clusters;	/* (W) */
	struct list_head full_clusters;	/* (W) */
	unsigned char *swap_map;	/* (W) the counts; the array itself (C) */
	struct folio **cache;		/* (W) the swap cache: the folio of each slot (Linux: an xarray) */
	int fd;				/* (C) backing host file, or -1 */
	char *mem;			/* (C) memory-backed device */
	atomic_t users;			/* (A) get_swap_device holders, plus SWAP_USERS_LIVE until swapoff */
};

#define SWP_USED	0x1ul
#define SWP_WRITEOK	0x2ul

/* ---- LRU ------------------------------------------------------------------------------- */

enum lru_list { LRU_INACTIVE_ANON, LRU_ACTIVE_ANON, LRU_INACTIVE_FILE, LRU_ACTIVE_FILE, LRU_UNEVICTABLE,
		NR_LRU_LISTS };

/*
 * One lruvec for the machine (Linux's are per memcg and per node:
 * docs/deviations.md).  As in Linux, the unevictable "list" is only a
 * count: its folios have PG_lru and PG_unevictable but sit on no list,
 * their lru field holding mlock_count instead.
 */
struct lruvec {
	spinlock_t lru_lock;		/* (U) */
	struct list_head lists[NR_LRU_LISTS];	/* (U) folio.lru, PG_lru set; lists[LRU_UNEVICTABLE] unused */
};

/* A folio_batch's worth (Linux's PAGEVEC_SIZE): the most folios_put_refs and free_unref_folios take. */
#define FOLIO_BATCH_SIZE 31

/* Linux's struct folio_batch: folios, each with a reference the batch holds. */
struct folio_batch {
	unsigned int nr;
	struct folio *folios[FOLIO_BATCH_SIZE];
};

/*
 * Linux's struct cpu_fbatches, its lru_add batch alone: new folios wait
 * here, each with a reference, off the LRU (PG_lru clear), until the
 * batch is full or drained (lru_add_drain, lru_add_drain_all).  The lock
 * stands for Linux's local_lock: a slot may be shared by tasks, and a
 * drain of every CPU takes each batch itself.
 */
struct cpu_fbatches {
	spinlock_t lock;		/* (fb) */
	struct folio_batch lru_add;	/* (fb) */
} ____cacheline_aligned;

/* ---- the machine ---------------------------------------------------------------------- */

#define MAX_PAGE_ORDER	10	/* buddy orders 0..10: up to 4 MiB blocks */
#define NR_PAGE_ORDERS	(MAX_PAGE_ORDER + 1)

struct free_area {
	struct list_head free_list;	/* (Z) */
	unsigned long nr_free;		/* (Z); read without it (READ_ONCE) by compaction's hints */
};

enum zone_watermarks { WMARK_MIN, WMARK_LOW, WMARK_HIGH, NR_WMARK };


/*
 * Linux's struct per_cpu_pages, order 0 only: a CPU's cache of free pages
 * in front of zone->lock.  Allocation takes from the head (the page freed
 * last, cache-hot), a refill takes a batch from the buddy lists at once, a
 * free beyond high gives the coldest back.  The batches grow while a CPU
 * only allocates or only frees, and high between high_min and high_max
 * as it frees (Linux 6.7's auto-tuning).  The pages are out of the buddy
 * lists and of the zone's free count (the watermarks), but counted in
 * NR_FREE_PAGES (deviation 80).
 */
struct per_cpu_pages {
	spinlock_t lock;		/* (pcp) */
	int count;			/* (pcp) pages on list; read without it as a hint (drain_all_pages, zone_free_pages) */
	int high;			/* (pcp) give back beyond this many */
	int high_min, high_max;		/* (C) high's bounds */
	int batch;			/* (C) pages a refill or a give-back moves at the least */
	int free_count;			/* (pcp) pages freed in a row, halved by each allocation */
	unsigned char alloc_factor;	/* (pcp) a refill takes batch << alloc_factor; halved by each free */
	struct list_head list;		/* (pcp) through page->lru */
} ____cacheline_aligned;

/* zone->flags: the zone's free pages fell below its high watermark (a refill noticed). */
enum zone_flags { ZONE_BELOW_HIGH };

/*
 * A node's memory (Linux's struct zone, ZONE_NORMAL alone): the frames
 * [zone_start_pfn, zone_start_pfn + spanned_pages), their buddy lists and
 * watermarks.  The compaction scanners' cached positions are hints.
 */
struct zone {
	spinlock_t lock;		/* (Z) */
	struct free_area free_area[NR_PAGE_ORDERS];
	int node;			/* (C) */
	unsigned long zone_start_pfn;	/* (C) */
	unsigned long spanned_pages;	/* (C) */
	unsigned long managed_pages;	/* (C) */
	unsigned long _watermark[NR_WMARK];	/* (C) pages */
	atomic_long_t free_pages;	/* (A) changed under (Z): this zone's NR_FREE_PAGES */
	unsigned long flags;		/* (A) enum zone_flags, set_bit and clear_bit */
	struct per_cpu_pages pcp[NR_CPU_SLOTS];	/* the CPUs' page lists (per_cpu_pageset) */
};

/* Linux's per-node NUMA event counters (numastat), by their names there. */
enum numa_stat_item { NUMA_HIT, NUMA_MISS, NUMA_FOREIGN, NUMA_INTERLEAVE_HIT, NUMA_LOCAL, NUMA_OTHER,
		      NR_NUMA_STAT_ITEMS };

/* One NUMA node (Linux's pg_data_t): RAM split evenly, one zone each. */
typedef struct pglist_data {
	struct zone node_zones[1];	/* ZONE_NORMAL */
	int node_id;			/* (C) */
} pg_data_t;

/* Node masks (nodemask_t): one word, MAX_NUMNODES bits. */
#define MAX_NUMNODES	16
typedef struct { unsigned long bits; } nodemask_t;

/* Counters with Linux's /proc/vmstat names; vmstat.c holds the name table. */
enum vm_stat_item {
	NR_FREE_PAGES,		/* nr_free_pages */
	NR_INACTIVE_ANON,	/* nr_inactive_anon */
	NR_ACTIVE_ANON,		/* nr_active_anon */
	NR_INACTIVE_FILE,	/* nr_inactive_file */
	NR_ACTIVE_FILE,		/* nr_active_file */
	NR_UNEVICTABLE,		/* nr_unevictable: LRU_UNEVICTABLE */
	NR_MLOCK,		/* nr_mlock: pages of PG_mlocked folios */
	NR_SWAPCACHE,		/* nr_swapcached */
	NR_ANON_MAPPED,		/* nr_anon_pages */
	NR_FILE_MAPPED,		/* nr_mapped */
	NR_PAGETABLE,		/* nr_page_table_pages */
	NR_FILE_PAGES,		/* nr_file_pages: page cache and swap cache */
	NR_SHMEM,		/* nr_shmem */
	NR_FILE_DIRTY,		/* nr_dirty */
	NR_WRITEBACK,		/* nr_writeback */
	/* numa_hit ... numa_other: the nodes' numastat, summed when read (vmstat.c) */
	NUMA_HIT_TOTAL,
	NUMA_MISS_TOTAL,
	NUMA_FOREIGN_TOTAL,
	NUMA_INTERLEAVE_TOTAL,
	NUMA_LOCAL_TOTAL,
	NUMA_OTHER_TOTAL,
	/* events */
	PGALLOC_NORMAL,
	PGFREE,
	PGFAULT,
	PGMAJFAULT,
	PGPGIN,			/* kB read from files and swap */
	PGPGOUT,		/* kB written to them */
	PGREUSE,
	PGLAZYFREE,
	PGLAZYFREED,
	PSWPIN,
	PSWPOUT,
	PGACTIVATE,
	PGDEACTIVATE,
	PGSCAN_KSWAPD,
	PGSCAN_DIRECT,
	PGSTEAL_KSWAPD,
	PGSTEAL_DIRECT,
	PAGEOUTRUN,
	PGSCAN_ANON,
	PGSTEAL_ANON,
	OOM_KILL,
	NR_FOLL_PIN_ACQUIRED,
	NR_FOLL_PIN_RELEASED,
	NR_TLB_REMOTE_FLUSH,
	NR_TLB_REMOTE_FLUSH_RECEIVED,
	NR_TLB_LOCAL_FLUSH_ALL,
	NR_TLB_LOCAL_FLUSH_ONE,
	NR_ANON_THPS,		/* nr_anon_transparent_hugepages: PMD-mapped anon THPs */
	NR_SHMEM_THPS,		/* nr_shmem_hugepages: PMD-sized shmem folios in the page cache */
	NR_SHMEM_PMDMAPPED,	/* nr_shmem_pmdmapped: those of them mapped by a pmd */
	NR_FILE_THPS,		/* nr_file_hugepages: PMD-sized folios of other files' caches */
	NR_FILE_PMDMAPPED,	/* nr_file_pmdmapped: those of them mapped by a pmd */
	THP_FAULT_ALLOC,
	THP_FAULT_FALLBACK,
	THP_COLLAPSE_ALLOC,
	THP_COLLAPSE_ALLOC_FAILED,
	THP_SPLIT_PAGE,
	THP_SPLIT_PAGE_FAILED,
	THP_DEFERRED_SPLIT_PAGE,
	THP_SPLIT_PMD,
	THP_ZERO_PAGE_ALLOC,
	THP_ZERO_PAGE_ALLOC_FAILED,
	THP_SWPOUT,
	THP_FILE_ALLOC,
	THP_FILE_FALLBACK,
	THP_FILE_MAPPED,
	THP_SWPOUT_FALLBACK,
	UNEVICTABLE_PGCULLED,	/* unevictable_pgs_culled: moved to the unevictable list */
	UNEVICTABLE_PGSCANNED,	/* unevictable_pgs_scanned */
	UNEVICTABLE_PGRESCUED,	/* unevictable_pgs_rescued: moved back, evictable again */
	UNEVICTABLE_PGMLOCKED,	/* unevictable_pgs_mlocked: PG_mlocked set */
	UNEVICTABLE_PGMUNLOCKED,	/* unevictable_pgs_munlocked: PG_mlocked cleared */
	UNEVICTABLE_PGCLEARED,	/* unevictable_pgs_cleared: freed still mlocked */
	UNEVICTABLE_PGSTRANDED,	/* unevictable_pgs_stranded: munlocked while isolated */
	PGMIGRATE_SUCCESS,
	PGMIGRATE_FAIL,
	THP_MIGRATION_SUCCESS,
	THP_MIGRATION_FAIL,
	THP_MIGRATION_SPLIT,
	COMPACTMIGRATE_SCANNED,
	COMPACTFREE_SCANNED,
	COMPACTISOLATED,
	COMPACTSTALL,
	COMPACTFAIL,
	COMPACTSUCCESS,
	SWAP_RA,		/* swap_ra: pages swap readahead read besides the one faulted */
	SWAP_RA_HIT,		/* swap_ra_hit: of those, found by a fault in the swap cache */
	KSM_SWPIN_COPY,		/* ksm_swpin_copy: a swapped-in KSM page copied (its node went) */
	COW_KSM,		/* cow_ksm: a write fault copied a KSM page */
	/*
	 * CONFIG_PER_VMA_LOCK_STATS: how the CPU's accesses that missed the
	 * TLB (a walk, and the faults it needs) took their VMA (fault.c).
	 * Linux counts faults alone: its TLB misses are the hardware's.
	 */
	VMA_LOCK_SUCCESS,	/* handled under the VMA lock alone */
	VMA_LOCK_ABORT,		/* no VMA lock to be had: the fault took mmap_lock */
	VMA_LOCK_RETRY,		/* the handler wanted mmap_lock (VM_FAULT_RETRY): taken, fault again */
	VMA_LOCK_MISS,		/* the VMA found was detached meanwhile */
	NR_VM_STAT_ITEMS
};

/*
 * One slot's event and state counters (Linux's per-CPU vm_event_states,
 * vm_stat_diff and vm_numa_event), added to without a shared cache line
 * and summed on every read: the sum is exact, where Linux's global
 * counters lag the per-CPU diffs by up to a threshold.
 */
struct vm_stat_cpu {
	atomic_long_t vm_stat[NR_VM_STAT_ITEMS];
	atomic_long_t numa_event[MAX_NUMNODES][NR_NUMA_STAT_ITEMS];
} ____cacheline_aligned;

/* Kinds of metadata object, counted so that leaks can be seen (like slabinfo). */
enum mml_obj_kind {
	OBJ_MM, OBJ_VMA, OBJ_ANON_VMA, OBJ_AVC, OBJ_TASK, OBJ_PTLOCK, OBJ_VMA_ARRAY, OBJ_PIN, OBJ_SWAP,
	OBJ_MTE_TAGS, OBJ_MMU_NOTIFIER, OBJ_MML_NOTIFIER, OBJ_DEVICE,
	OBJ_INODE, OBJ_DENTRY, OBJ_FILE, OBJ_FILES, OBJ_XA_NODE, OBJ_KHUGEPAGED_SLOT, OBJ_MEMPOLICY, OBJ_HELD_MIGRATION,
	OBJ_KSM_MM_SLOT, OBJ_KSM_RMAP_ITEM, OBJ_KSM_STABLE_NODE,
	OBJ_UFFD,
	NR_OBJ_KINDS
};

struct mml_task;
struct super_block;
struct files_struct;
struct khugepaged_scan;
struct ksm_state;
struct pmem_device;

/* /sys/kernel/mm/ksm/'s knobs (Linux's ksm_* globals), every field (A). */
struct ksm_knobs {
	unsigned int run;			/* KSM_RUN_STOP, _MERGE, _UNMERGE (stored under ksm_thread_mutex) */
	unsigned int pages_to_scan;
	unsigned int sleep_millisecs;
	unsigned int max_page_sharing;
	unsigned int merge_across_nodes;
	unsigned int use_zero_pages;
	unsigned int stable_node_chains_prune_millisecs;
	unsigned int smart_scan;
	unsigned int advisor_mode;		/* 0 none, 1 scan-time */
	unsigned int advisor_max_cpu;
	unsigned int advisor_target_scan_time;
	unsigned int advisor_min_pages_to_scan;
	unsigned int advisor_max_pages_to_scan;
};

/* KSM's counters (changed under ksm_thread_mutex, read without it), every field (A). */
struct ksm_counters {
	atomic_long_t pages_shared;		/* stable nodes with a mapping */
	atomic_long_t pages_sharing;		/* the other mappings of those */
	atomic_long_t pages_unshared;		/* items in the unstable tree */
	atomic_long_t rmap_items;		/* all items: the rest are pages_volatile */
	atomic_long_t full_scans;
	atomic_long_t zero_pages;		/* ksm_zero_pages */
	atomic_long_t pages_scanned;
	atomic_long_t pages_skipped;
	atomic_long_t stable_node_chains;
	atomic_long_t stable_node_dups;
};

/* transparent_hugepage_flags bits, Linux's enum transparent_hugepage_flag. */
enum transparent_hugepage_flag {
	TRANSPARENT_HUGEPAGE_UNSUPPORTED,
	TRANSPARENT_HUGEPAGE_FLAG,		/* enabled = always */
	TRANSPARENT_HUGEPAGE_REQ_MADV_FLAG,	/* enabled = madvise */
	TRANSPARENT_HUGEPAGE_DEFRAG_DIRECT_FLAG,
	TRANSPARENT_HUGEPAGE_DEFRAG_KSWAPD_FLAG,
	TRANSPARENT_HUGEPAGE_DEFRAG_KSWAPD_OR_MADV_FLAG,
	TRANSPARENT_HUGEPAGE_DEFRAG_REQ_MADV_FLAG,
	TRANSPARENT_HUGEPAGE_DEFRAG_KHUGEPAGED_FLAG,
	TRANSPARENT_HUGEPAGE_USE_ZERO_PAGE_FLAG,
};

/*
 * Linux's THP globals (mm/huge_memory.c, mm/khugepaged.c), one set per
 * machine, every field (A): the sysfs files change them with plain atomic
 * stores, readers use READ_ONCE.  The huge_anon_orders_* masks are the
 * per-size hugepages-<size>kB/enabled files (bit = order): always,
 * madvise, or inherit the top-level `enabled`.
 */
struct thp_globals {
	unsigned long transparent_hugepage_flags;
	unsigned long huge_anon_orders_always;
	unsigned long huge_anon_orders_madvise;
	unsigned long huge_anon_orders_inherit;
	unsigned int khugepaged_pages_to_scan;		/* default HPAGE_PMD_NR * 8 */
	unsigned int khugepaged_max_ptes_none;		/* default HPAGE_PMD_NR - 1 */
	unsigned int khugepaged_max_ptes_swap;		/* default HPAGE_PMD_NR / 8 */
	unsigned int khugepaged_max_ptes_shared;	/* default HPAGE_PMD_NR / 2 */
	unsigned int khugepaged_scan_sleep_millisecs;	/* default 10000 */
	unsigned int khugepaged_alloc_sleep_millisecs;	/* default 60000 */
	unsigned long khugepaged_full_scans;		/* read-only: full_scans */
	unsigned long khugepaged_pages_collapsed;	/* read-only: pages_collapsed */
	int shmem_huge;					/* shmem_enabled: SHMEM_HUGE_*, default never */
};

/* The deferred split queue (Linux's struct deferred_split, one per node). */
struct deferred_split {
	spinlock_t split_queue_lock;	/* (Y) */
	struct list_head split_queue;	/* (Y) folio._deferred_list */
	unsigned long split_queue_len;	/* (Y) */
};

/* The machine's mounts (src/fs): three visible, and shmem's internal one. */
/* MNT_PMEM is NULL on a machine without a pmem device. */
enum mml_mount { MNT_DEV_SHM, MNT_TMP, MNT_DISK, MNT_SHM_INTERNAL, MNT_PMEM, NR_MOUNTS };

/*
 * A device attached to the machine (a driver of src/drivers embeds it):
 * power-off releases the ones still attached, reporting each as a leak,
 * as a process's exit closes the files it left open.
 */
struct mml_device_head {
	struct list_head node;		/* (N) on machine->devices */
	int id;				/* (C) */
	void (*release)(struct mml_device_head *dev);	/* (C) */
};

struct mml_machine {
	struct mml_config cfg;		/* (C) */
	void *ram;			/* (C) nr_frames * PAGE_SIZE bytes of host memory */
	struct page *mem_map;		/* (C) one struct page per frame: RAM's, then the pmem device's */
	unsigned long nr_pmem_frames;	/* (C) the pmem device's frames: pfns nr_frames.. (ZONE_DEVICE) */
	struct pmem_device *pmem;	/* (C) drivers/pmem.c, or NULL */
	struct dev_pagemap *pgmap;	/* (C) the pmem device's pagemap, or NULL (page_pgmap) */
	struct mte_state mte;		/* arch's: tag storage, its own locks (arch/mte.h) */
	struct sched_state sched;	/* deterministic runs: strategy and digest; written outside runs only */
	struct trace_state trace;	/* trace events: which are on, where they go (mm/trace.h) */
	unsigned long nr_frames;	/* (C) */
	int nr_nodes;			/* (C) NUMA nodes, 1..MAX_NUMNODES */
	unsigned long node_frames;	/* (C) frames of every node but the last (which has the rest) */
	pg_data_t node_data[MAX_NUMNODES];	/* (C) the nodes; their zones' fields as struct zone says */
	struct page *zero_page;		/* (C) the shared zero page */
	unsigned long zero_pfn;		/* (C) */
	struct vm_stat_cpu vm_stat_cpu[NR_COUNTER_COPIES];	/* (A) a copy per counter slot (sync.h), summed when read */
	atomic_long_t objs[NR_OBJ_KINDS];	/* (A) live metadata objects */
	atomic_long_t pgtables_pending_free;	/* (A) page tables waiting for a grace period */
	long rcu_flush_at;		/* (C) op_exit flushes the rcu batch once it holds this many */
	struct rcu_batch rcu;		/* (its own lock) frees waiting for a grace period: tables, anon_vmas */
	struct lruvec lruvec;		/* (U) */
	struct cpu_fbatches cpu_fbatches[NR_CPU_SLOTS];	/* (fb) the CPUs' lru_add batches */
	atomic_t lru_disable_count;	/* (A) lru_cache_disable(): folio_add_lru bypasses the batches */
	spinlock_t swap_lock;		/* (X) */
	struct swap_info_struct *swap_info[MAX_SWAPFILES];	/* (X) set; read with READ_ONCE */
	atomic_long_t nr_swap_pages;	/* (A) free slots on devices taking writes; changed under a device's (W) */
	long total_swap_pages;		/* (X) */
	spinlock_t tasks_lock;		/* (K) */
	struct list_head mms;		/* (K) every live mm */
	unsigned long nr_tasks;		/* (K) */
	int next_pid;			/* (K) */
	/*
	 * Operations hold this for read, the invariant checker for write:
	 * the checker sees a quiescent machine, as stop_machine() gives.
	 */
	struct percpu_rw_semaphore quiesce;	/* (Q) */
	bool check_every_op;		/* (C) */
	bool check_frees;		/* (C) no TLB may map a frame being freed */
	bool poison;			/* (C) freed frames are filled with PAGE_POISON (MML_POISON) */
	bool quiet;			/* (C) */
	atomic_t reports;		/* (A) bugs reported (stale access, ...) */
	spinlock_t pins_lock;		/* (N) guards the lists of pins and devices, who hold pages from outside */
	struct list_head pins;		/* (N) outstanding struct mml_pin */
	struct list_head devices;	/* (N) struct mml_device_head of attached devices */
	unsigned long bugs[MML_BUG_WORDS];	/* (A) bug-zoo defects switched on: mm/hooks.h */
	struct mml_thread *kswapd;	/* (C) the reclaim daemon, if MML_KSWAPD */
	unsigned long kswapd_flags;	/* (A) KSWAPD_WAKE, KSWAPD_STOP */
	atomic_t kswapd_failures;	/* (A) balance runs in a row that freed nothing */
	struct thp_globals thp;		/* (A) THP's tunables and counters, Linux's globals */
	int extfrag_threshold;		/* (A) /proc/sys/vm/extfrag_threshold: compaction_suitable's bar */
	unsigned long mmap_min_addr;	/* (A) /proc/sys/vm/mmap_min_addr */
	int page_cluster;		/* (A) /proc/sys/vm/page-cluster: swap readahead reads up to 2^this pages */
	/* (A) swap_cluster_readahead's window (no VMA: shmem): Linux's swapin_readahead_hits, last_readahead_pages, prev_offset */
	atomic_t swapin_readahead_hits;
	atomic_t last_readahead_pages;
	unsigned long swapin_prev_offset;
	atomic_long_t vm_committed_as;	/* (A) pages promised (util.c): Committed_AS */
	int overcommit_memory;		/* (A) /proc/sys/vm/overcommit_memory: OVERCOMMIT_* */
	int overcommit_ratio;		/* (A) percent of RAM in CommitLimit ... */
	unsigned long overcommit_kbytes;	/* (A) ... or these kB, when not 0 */
	unsigned long admin_reserve_kbytes;	/* (A) kept from unprivileged processes in mode 2 */
	unsigned long user_reserve_kbytes;	/* (A) kept from a process growing big, in mode 2 */
	struct folio *huge_zero_folio;	/* (A) the huge zero folio while allocated, else NULL */
	atomic_t huge_zero_refcount;	/* (A) mms using it (MMF_HUGE_ZERO_FOLIO) + 1 while allocated */
	struct deferred_split split_queue;	/* (Y) anon THPs a shrinker may split */
	struct khugepaged_scan *khugepaged;	/* (its own lock) mms to scan, the cursor; khugepaged.c */
	struct mml_thread *khugepaged_thread;	/* (C) if MML_KHUGEPAGED */
	unsigned long khugepaged_flags;	/* (A) KHUGEPAGED_WAKE, KHUGEPAGED_STOP */
	struct ksm_state *ksm;		/* (its own locks, ksm.c) the trees, the mms, the cursor */
	struct ksm_knobs ksm_knobs;	/* (A) */
	struct ksm_counters ksm_counters;	/* (A) */
	struct mml_thread *ksmd_thread;	/* (C) if MML_KSMD */
	unsigned long ksmd_flags;	/* (A) KSMD_WAKE, KSMD_STOP */
	struct mml_fail_state fail;	/* (its own lock) fault injection: mm/hooks.h */
	struct super_block *mounts[NR_MOUNTS];	/* (C) set up by vfs_init */
	atomic_long_t next_ino;		/* (A) inode numbers */
	spinlock_t held_lock;		/* (its own, a leaf) guards held_migrations and next_held */
	struct list_head held_migrations;	/* migrations stopped between unmap and move (migrate.c) */
	long next_held;			/* the next one's handle */
	spinlock_t shmem_swaplist_lock;	/* (its own) guards shmem_swaplist */
	struct list_head shmem_swaplist;	/* inode.i_swaplist: shmem inodes that may hold swap entries */
	spinlock_t uffd_lock;		/* (its own, a leaf) guards uffds and next_ufd */
	struct list_head uffds;		/* every userfaultfd handle not yet freed (fs/userfaultfd.c) */
	uint32_t next_ufd;		/* the next handle's number */
};

/* ---- tasks (threads, each a CPU) -------------------------------------------------------- */

struct mmu_gather_batch;

struct mml_task {
	struct mml_machine *machine;	/* (C) */
	struct mm_struct *mm;		/* (C) */
	int tid;			/* (C) */
	struct tlb tlb;			/* (T) the CPU's TLB */
	struct mempolicy *mempolicy;	/* (C) set_mempolicy's; only the task itself changes it; NULL = default */
	int il_prev;			/* (C) the task's last interleave node (changed by the task alone) */
	struct files_struct *files;	/* (C) descriptors, shared with the process's other threads */
	struct list_head mm_node;	/* (S) on mm->tasks: the CPUs to shoot down */
	/* (the task alone) userfaultfd events this call raised, waited for as it returns (Linux's uf lists) */
	struct list_head uffd_events;
	/*
	 * (the task alone) mmu_gather batches its last gather chained, kept
	 * for the next: Linux takes them from this CPU's per-CPU page lists,
	 * which a freed page went back to a moment before.
	 */
	struct mmu_gather_batch *tlb_batches;
	struct percpu_swap_cluster swap_cluster;	/* (the task alone) */
};

#endif /* MML_MM_TYPES_H */
