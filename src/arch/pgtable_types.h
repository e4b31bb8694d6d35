/*
 * pgtable_types.h - the bits of a page-table entry, private to src/arch
 * (Linux's arch/x86/include/asm/pgtable_types.h).
 *
 * Only src/arch names these bits.  The core reads and builds entries
 * through the accessors of arch/pgtable.h, and `make check-layers` fails
 * when a file of src/mm names a _PAGE_ bit.  The layout is described at
 * the top of arch/pgtable.h, which includes this file for its inline
 * accessors.
 */
#ifndef MML_ARCH_PGTABLE_TYPES_H
#define MML_ARCH_PGTABLE_TYPES_H

#include <stdint.h>

#define _PAGE_PRESENT	(1ULL << 0)
#define _PAGE_RW	(1ULL << 1)
#define _PAGE_USER	(1ULL << 2)
#define _PAGE_MTE	(1ULL << 3)
#define _PAGE_ACCESSED	(1ULL << 5)
#define _PAGE_DIRTY	(1ULL << 6)
#define _PAGE_PSE	(1ULL << 7)
#define _PAGE_PROTNONE	(1ULL << 8)
#define _PAGE_SPECIAL	(1ULL << 9)
#define _PAGE_UFFD_WP	(1ULL << 10)
#define _PAGE_SOFT_DIRTY (1ULL << 11)
#define _PAGE_NX	(1ULL << 63)
#define _PFN_SHIFT	PAGE_SHIFT
#define _PFN_MASK	(((1ULL << 52) - 1) & ~((1ULL << _PFN_SHIFT) - 1))

#define _PAGE_SWP_EXCLUSIVE	(1ULL << 1)
#define _PAGE_SWP_UFFD_WP	(1ULL << 2)
#define _PAGE_SWP_SOFT_DIRTY	(1ULL << 7)
#define _SWP_OFFSET_SHIFT	9
#define _SWP_OFFSET_BITS	49
#define _SWP_TYPE_SHIFT		58
#define _SWP_TYPE_BITS		5

/* Bits a protection change keeps (x86's _PAGE_CHG_MASK). */
#define _PAGE_CHG_MASK	(_PFN_MASK | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_SPECIAL | \
			 _PAGE_SOFT_DIRTY | _PAGE_UFFD_WP | _PAGE_PSE)

/* The protections protection_map is made of (arch/mmap.c), x86's names. */
#define PAGE_NONE	__pgprot(_PAGE_PROTNONE | _PAGE_ACCESSED)
#define PAGE_SHARED	__pgprot(_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_NX)
#define PAGE_SHARED_EXEC __pgprot(_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED)
#define PAGE_COPY	__pgprot(_PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_NX)
#define PAGE_COPY_EXEC	__pgprot(_PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED)
#define PAGE_READONLY	PAGE_COPY
#define PAGE_READONLY_EXEC PAGE_COPY_EXEC
/* What an entry pointing to a lower table carries. */
#define _PAGE_TABLE	(_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED)

#endif /* MML_ARCH_PGTABLE_TYPES_H */
