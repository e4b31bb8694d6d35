/*
 * mman.h - the machine-dependent layer: protections (Linux's per-arch
 * protection_map and asm/mman.h).
 *
 * Contract (what the core above may rely on):
 *  - vm_get_page_prot(flags) is the pgprot every new entry of a VMA with
 *    these flags carries: x86's protection_map (no write-only or
 *    exec-only entries; private writable memory maps read-only until a
 *    write fault, as COW needs), plus arm64's tagged attribute for VM_MTE.
 *  - mmap and mprotect ask the machine about the bits it adds to the
 *    generic ones: arch_calc_vm_prot_bits() turns PROT_MTE into VM_MTE,
 *    arch_calc_vm_flag_bits() marks anonymous memory VM_MTE_ALLOWED,
 *    arch_validate_prot() says which PROT_* bits exist at all (EINVAL for
 *    the others), arch_validate_flags() refuses VM_MTE where tags cannot
 *    be kept.  x86 and arm64 in one machine: docs/deviations.md.
 *  - All are pure functions of their arguments: no locks.
 */
#ifndef MML_ARCH_MMAN_H
#define MML_ARCH_MMAN_H

#include <stdbool.h>

#include "arch/pgtable.h"
#include "mm/mm_types.h"

pgprot_t vm_get_page_prot(vm_flags_t flags);
vm_flags_t arch_calc_vm_prot_bits(int prot);
vm_flags_t arch_calc_vm_flag_bits(int mmap_flags);
bool arch_validate_prot(int prot);
bool arch_validate_flags(vm_flags_t flags);

#endif /* MML_ARCH_MMAN_H */
