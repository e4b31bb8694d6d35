/*
 * check_internal.h - what the parts of the invariant checker share: the
 * state of one check and the invariants' numbers (check.c walks the
 * tables, TLBs, frames, slots and anon_vmas; check_files.c the page
 * caches).
 */
#ifndef MML_ORACLE_CHECK_INTERNAL_H
#define MML_ORACLE_CHECK_INTERNAL_H

#include <stdio.h>

#include "mm/internal.h"

struct check_state {
	struct mml_machine *m;
	int *swaps[MAX_SWAPFILES];	/* swap ptes found per slot */
	int *maps;		/* ptes found per pfn */
	unsigned char *table;	/* 1 if the pfn was reached as a page table */
	unsigned char *pinned;	/* 1 if a FOLL_PIN pin holds the pfn */
	int *pin_refs;		/* per folio head: the references pins and GUP references hold */
	long anon_mapped, tables, errors;
	long pcp_pages;		/* on the CPUs' page lists (check_nodes) */
	long file_rss, shmem_rss;	/* per mm, while its tables are walked */
	long committed;		/* the charges the VMAs and shmem inodes found stand for */
	FILE *out;
	/*
	 * The incremental check (mml_check_range) walks [lo, hi) of one mm
	 * and has no tallies (maps, table, swaps, pinned are NULL): what
	 * only a count over the whole machine can show waits for the full
	 * check; each entry is checked against its page or slot alone.
	 */
	bool ranged;
	uint64_t lo, hi;
	struct mm_struct *mm;	/* the incremental check's mm (NULL: every mm) */
	struct vm_area_struct *vma;	/* the last check_vma() found: walks go in address order */
	unsigned long vma_idx;		/* its index in its mm's VMA array */
	unsigned long first_vma;	/* the index of the first VMA of the mm walked that ends above lo */
};

/* The invariants, numbered as docs/ARCHITECTURE.md (Invariants) numbers them. */
enum invariant {
	INV_MAPCOUNT = 1,	/* map counts = the ptes mapping a page; refcount covers them; 0 = free */
	INV_RIGHTS,		/* a pte's rights never exceed its VMA's; writable anon = exclusive */
	INV_RMAP,		/* a pte lies in a VMA, at its folio's index, reachable by rmap */
	INV_NO_STALE,		/* no pte, TLB or device translation reaches a frame it should not */
	INV_TABLES,		/* page-table pages reachable once from their mm, or pending RCU */
	INV_COUNTERS,		/* vmstat and rss counters agree with what the walk found */
	INV_OBJECTS,		/* every mm, VMA, anon_vma and folio passes its *_is_valid() */
	INV_SWAP,		/* swap_map counts, the swap cache and the free totals agree */
	INV_PINS,		/* a maybe-pinned anon page is exclusive, mapped at most once */
	INV_LEAKS,		/* at power-off nothing is left (checked by mml_machine_free) */
	INV_TAGS,		/* tagged ptes only in VM_MTE VMAs, over tagged pages; records in used slots */
	INV_ANON_VMA,		/* anon_vma chains and counts as anon_vma_clone reads them */
	INV_MLOCK,		/* mlocked = unevictable on the LRU; locked_vm covers the locked VMAs */
	INV_COMMIT,		/* Committed_AS = the VM_ACCOUNT VMAs' pages + shmem's charges */
	INV_KSM,		/* KSM folios: read-only ptes, never exclusive or pinned, the stable tree adds up */
	INV_UFFD,		/* uffd-wp bits and markers only where a uffd-wp registration holds them */
};

#define FAIL(st, inv, ...) do { (st)->errors++; if ((st)->out) { \
	fprintf((st)->out, "mmlab: check: invariant %d: ", (inv)); fprintf((st)->out, __VA_ARGS__); \
	fputc('\n', (st)->out); } } while (0)

/* check_files.c: the page caches, shmem's swap entries and charges */
void check_files(struct check_state *st);
void check_swap(struct check_state *st);

#endif /* MML_ORACLE_CHECK_INTERNAL_H */
