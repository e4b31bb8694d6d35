/*
 * swapops.h - swap entries and the other non-present pte encodings, the
 * machine-independent part (Linux's include/linux/swapops.h and swap.h).
 *
 * A swp_entry_t names a slot: a swap device (type) and an offset in it.
 * Types above MAX_SWAPFILES are not devices: migration entries and pte
 * markers, which later mechanisms use.
 */
#ifndef MML_MM_SWAPOPS_H
#define MML_MM_SWAPOPS_H

#include "arch/pgtable.h"

#define MAX_SWAPFILES_SHIFT	5
#define SWP_DEVICE_NUM		1	/* device-exclusive (mmlab has no device-private memory) */
#define SWP_MIGRATION_NUM	3
#define SWP_PTE_MARKER_NUM	1
#define MAX_SWAPFILES \
	((1 << MAX_SWAPFILES_SHIFT) - SWP_DEVICE_NUM - SWP_MIGRATION_NUM - SWP_PTE_MARKER_NUM)
#define SWP_DEVICE_EXCLUSIVE	(MAX_SWAPFILES)
#define SWP_MIGRATION_READ	(MAX_SWAPFILES + SWP_DEVICE_NUM)
#define SWP_MIGRATION_READ_EXCLUSIVE (MAX_SWAPFILES + SWP_DEVICE_NUM + 1)
#define SWP_MIGRATION_WRITE	(MAX_SWAPFILES + SWP_DEVICE_NUM + 2)
#define SWP_PTE_MARKER		(MAX_SWAPFILES + SWP_DEVICE_NUM + 3)

#define SWP_TYPE_SHIFT		58	/* in swp_entry_t.val, as __SWP_TYPE_SHIFT */
#define SWP_OFFSET_MASK		((1ULL << SWP_TYPE_SHIFT) - 1)

static inline swp_entry_t swp_entry(unsigned type, uint64_t offset)
{
	return (swp_entry_t){ ((uint64_t)type << SWP_TYPE_SHIFT) | (offset & SWP_OFFSET_MASK) };
}
static inline unsigned swp_type(swp_entry_t e) { return (unsigned)(e.val >> SWP_TYPE_SHIFT); }
static inline uint64_t swp_offset(swp_entry_t e) { return e.val & SWP_OFFSET_MASK; }
static inline bool non_swap_entry(swp_entry_t e) { return swp_type(e) >= MAX_SWAPFILES; }

/* The entry a non-present pte holds (flags such as exclusive stay in the pte). */
static inline swp_entry_t pte_to_swp_entry(pte_t pte)
{
	return swp_entry(__pte_swp_type(pte), __pte_swp_offset(pte));
}
static inline pte_t swp_entry_to_pte(swp_entry_t e)
{
	return __swp_entry_to_pte(swp_type(e), swp_offset(e));
}
static inline bool is_swap_entry_pte(pte_t pte)
{
	return is_swap_pte(pte) && !non_swap_entry(pte_to_swp_entry(pte));
}

/*
 * Device-exclusive entries (make_device_exclusive): the page at pfn is
 * the device's for atomic access until the CPU touches it.  The entry
 * keeps the page's reference and mapping, as a present pte would (Linux
 * 6.15); a CPU fault turns it back (remove_device_exclusive_entry).
 */
static inline swp_entry_t make_device_exclusive_entry(unsigned long pfn)
{
	return swp_entry(SWP_DEVICE_EXCLUSIVE, pfn);
}
static inline bool is_device_exclusive_entry(swp_entry_t e) { return swp_type(e) == SWP_DEVICE_EXCLUSIVE; }
static inline bool is_device_exclusive_pte(pte_t pte)
{
	return is_swap_pte(pte) && is_device_exclusive_entry(pte_to_swp_entry(pte));
}
/*
 * The frame a pfn-carrying entry names.  A migration entry keeps the pte's
 * young and dirty bits above the frame number (SWP_MIG_YOUNG_BIT and
 * SWP_MIG_DIRTY_BIT, as x86-64 has room for), so that the restored pte
 * says what the old one did.
 */
#define SWP_PFN_BITS		47
#define SWP_MIG_YOUNG_BIT	SWP_PFN_BITS
#define SWP_MIG_DIRTY_BIT	(SWP_PFN_BITS + 1)
static inline unsigned long swp_offset_pfn(swp_entry_t e)
{
	return (unsigned long)(swp_offset(e) & ((1ULL << SWP_PFN_BITS) - 1));
}

/*
 * Migration entries: the page at pfn is locked and being split (or, later,
 * moved); the entry stands for its mapping meanwhile and carries what the
 * pte said: writable, or readable and PG_anon_exclusive, or readable.
 * Unlike a device-exclusive entry it holds no reference and no mapcount:
 * remove_migration_ptes() gives both back when it restores the pte.
 */
static inline swp_entry_t make_readable_migration_entry(unsigned long pfn)
{
	return swp_entry(SWP_MIGRATION_READ, pfn);
}
static inline swp_entry_t make_readable_exclusive_migration_entry(unsigned long pfn)
{
	return swp_entry(SWP_MIGRATION_READ_EXCLUSIVE, pfn);
}
static inline swp_entry_t make_writable_migration_entry(unsigned long pfn)
{
	return swp_entry(SWP_MIGRATION_WRITE, pfn);
}
static inline bool is_migration_entry(swp_entry_t e)
{
	return swp_type(e) == SWP_MIGRATION_READ || swp_type(e) == SWP_MIGRATION_READ_EXCLUSIVE ||
	       swp_type(e) == SWP_MIGRATION_WRITE;
}
static inline bool is_writable_migration_entry(swp_entry_t e) { return swp_type(e) == SWP_MIGRATION_WRITE; }
/* Neither writable nor exclusive. */
static inline bool is_readable_migration_entry(swp_entry_t e) { return swp_type(e) == SWP_MIGRATION_READ; }
static inline bool is_readable_exclusive_migration_entry(swp_entry_t e)
{
	return swp_type(e) == SWP_MIGRATION_READ_EXCLUSIVE;
}
static inline swp_entry_t make_migration_entry_young(swp_entry_t e)
{
	return swp_entry(swp_type(e), swp_offset(e) | (1ULL << SWP_MIG_YOUNG_BIT));
}
static inline swp_entry_t make_migration_entry_dirty(swp_entry_t e)
{
	return swp_entry(swp_type(e), swp_offset(e) | (1ULL << SWP_MIG_DIRTY_BIT));
}
static inline bool is_migration_entry_young(swp_entry_t e) { return swp_offset(e) & (1ULL << SWP_MIG_YOUNG_BIT); }
static inline bool is_migration_entry_dirty(swp_entry_t e) { return swp_offset(e) & (1ULL << SWP_MIG_DIRTY_BIT); }
static inline bool is_migration_pte(pte_t pte)
{
	return is_swap_pte(pte) && is_migration_entry(pte_to_swp_entry(pte));
}
/* An entry that names a frame rather than a swap slot (device-exclusive or migration). */
static inline bool is_pfn_swap_entry(swp_entry_t e)
{
	return is_migration_entry(e) || is_device_exclusive_entry(e);
}

/*
 * PTE markers: a non-present pte that names no page and no slot, only a
 * set of marker bits in its offset (Linux's pte_marker).  mmlab makes
 * two kinds: PTE_MARKER_GUARD (MADV_GUARD_INSTALL: any access faults
 * with SIGSEGV, GUP fails) and PTE_MARKER_UFFD_WP (a write-protected
 * page of a uffd-wp VMA that is not populated: file and shmem pages
 * unmapped or never mapped, anon ones with UFFD_FEATURE_WP_UNPOPULATED;
 * a fault there runs as on a none pte and maps the page uffd-wp).  The
 * poison bit keeps Linux's place.  A marker holds no
 * reference, no mapcount, no swap count and counts in no rss: faults,
 * zap, fork, mremap, mprotect and the walks of views must know it.
 */
typedef unsigned long pte_marker;
#define PTE_MARKER_UFFD_WP	(1UL << 0)	/* a write-protected unpopulated page (userfaultfd) */
#define PTE_MARKER_POISONED	(1UL << 1)	/* not made by mmlab (no hwpoison) */
#define PTE_MARKER_GUARD	(1UL << 2)
#define PTE_MARKER_MASK		(PTE_MARKER_GUARD | PTE_MARKER_POISONED | PTE_MARKER_UFFD_WP)

static inline swp_entry_t make_pte_marker_entry(pte_marker marker)
{
	return swp_entry(SWP_PTE_MARKER, marker);
}
static inline bool is_pte_marker_entry(swp_entry_t e) { return swp_type(e) == SWP_PTE_MARKER; }
static inline pte_marker pte_marker_get(swp_entry_t e) { return (pte_marker)(swp_offset(e) & PTE_MARKER_MASK); }
static inline bool is_pte_marker(pte_t pte)
{
	return is_swap_pte(pte) && is_pte_marker_entry(pte_to_swp_entry(pte));
}
static inline pte_t make_pte_marker(pte_marker marker)
{
	return swp_entry_to_pte(make_pte_marker_entry(marker));
}
static inline bool is_guard_swp_entry(swp_entry_t e)
{
	return is_pte_marker_entry(e) && (pte_marker_get(e) & PTE_MARKER_GUARD);
}
static inline bool is_guard_pte_marker(pte_t pte)
{
	return is_swap_pte(pte) && is_guard_swp_entry(pte_to_swp_entry(pte));
}

/* swap_map counts: the number of ptes (and fork copies) naming a slot. */
#define SWAP_HAS_CACHE	0x40	/* the slot's folio is in the swap cache */
#define SWAP_MAP_MAX	0x3e	/* mmlab has no count continuation: beyond, swap_duplicate fails */
#define SWAP_MAP_BAD	0x3f

#endif /* MML_MM_SWAPOPS_H */
