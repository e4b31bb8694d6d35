/*
 * userfaultfd_k.h - what the core asks of a VMA's userfaultfd registration
 * (Linux's include/linux/userfaultfd_k.h): the mode bits live in vm_flags,
 * so these tests need no userfaultfd context and hold under whatever lock
 * keeps vm_flags stable (mmap_lock, or, for retract_page_tables, the pmd
 * lock that a registration change must also take to touch the tables).
 */
#ifndef MMLAB_USERFAULTFD_K_H
#define MMLAB_USERFAULTFD_K_H

#include "mm/mm_types.h"

#define VM_UFFD_ARMED	(VM_UFFD_MISSING | VM_UFFD_WP | VM_UFFD_MINOR)

static inline bool userfaultfd_missing(const struct vm_area_struct *vma) { return vma->vm_flags & VM_UFFD_MISSING; }
static inline bool userfaultfd_wp(const struct vm_area_struct *vma) { return vma->vm_flags & VM_UFFD_WP; }
static inline bool userfaultfd_minor(const struct vm_area_struct *vma) { return vma->vm_flags & VM_UFFD_MINOR; }
static inline bool userfaultfd_armed(const struct vm_area_struct *vma) { return vma->vm_flags & VM_UFFD_ARMED; }

#endif
