/*
 * userfaultfd_k.h - what the core asks of a VMA's userfaultfd registration
 * (Linux's include/linux/userfaultfd_k.h): the mode bits live in vm_flags,
 * so these tests need no userfaultfd context and hold under whatever lock
 * keeps vm_flags stable (mmap_lock, or, for retract_page_tables, the pmd
 * lock that a registration change must also take to touch the tables).
 *
 * The context itself (struct userfaultfd_ctx) is fs/userfaultfd.c's, as in
 * Linux; the core reaches it only through the calls declared below.
 *
 * Contract of the fault side: handle_userfault() is called with
 * mmap_lock held for read and no other lock (no pte lock, no folio lock,
 * no invalidate_lock).  It returns VM_FAULT_SIGBUS (UFFD_FEATURE_SIGBUS,
 * or a fault that may not wait: GUP, khugepaged), VM_FAULT_NOPAGE (the
 * userfaultfd is going away: fault again), or VM_FAULT_RETRY after it
 * slept with mmap_lock and machine->quiesce dropped and took them again:
 * then the VMA may be gone and the caller must look it up afresh.
 */
#ifndef MMLAB_USERFAULTFD_K_H
#define MMLAB_USERFAULTFD_K_H

#include "mm/mm.h"

#define VM_UFFD_ARMED	(VM_UFFD_MISSING | VM_UFFD_WP | VM_UFFD_MINOR)
#define __VM_UFFD_FLAGS	VM_UFFD_ARMED

/*
 * One waiter (Linux's struct userfaultfd_wait_queue): a fault, or the call
 * that raised an event, asleep until ->waken.  On the waiter's stack (a
 * fault) or its call's list (an event).
 */
struct userfaultfd_wait_queue {
	struct uffd_msg msg;		/* (C) what a read returns */
	struct list_head node;		/* (O) on one of the ctx's lists, or empty once woken */
	bool waken;			/* (O write, READ_ONCE to test) set as it leaves the lists */
};

/*
 * The context behind a userfaultfd (Linux's struct userfaultfd_ctx, in
 * userfaultfd_k.h since 6.8).  Locks: (C) constant, (A) atomic or
 * READ_ONCE/WRITE_ONCE, (O) ctx->lock, (Z') machine->uffd_lock.
 * fs/userfaultfd.c's head comment has its lifetime.
 */
struct userfaultfd_ctx {
	struct mml_machine *machine;	/* (C) */
	struct mm_struct *mm;		/* (Z' write, READ_ONCE) mmgrab'd; NULL once released */
	uint64_t features;		/* (C) UFFD_FEATURE_* given to UFFDIO_API */
	uint32_t ufd;			/* (C) its number: mml_uffd_get, a fork message's ufd */
	bool released;			/* (A) set once: closed, or its process exited */
	atomic_t refcount;		/* (A) the handle's, one per sleeping fault and pending event */
	atomic_t mmap_changing;		/* (A) events not yet read: fills return -EAGAIN meanwhile */
	spinlock_t lock;		/* (O) */
	struct list_head fault_pending;	/* (O) faults not yet read */
	struct list_head fault_read;	/* (O) faults read, waiting for their wake */
	struct list_head event_pending;	/* (O) events not yet read */
	struct list_head node;		/* (Z') on machine->uffds */
};

struct vm_fault;

/*
 * Read once: rmap-side walkers (collapse_file's unmap_mapping_range,
 * retract_page_tables) ask without the VMA's mmap_lock, while
 * registration changes the flags under it (userfaultfd_set_vma).
 */
static inline vm_flags_t uffd_flags(const struct vm_area_struct *vma) { return READ_ONCE(vma->vm_flags); }
static inline bool userfaultfd_missing(const struct vm_area_struct *vma) { return uffd_flags(vma) & VM_UFFD_MISSING; }
static inline bool userfaultfd_wp(const struct vm_area_struct *vma) { return uffd_flags(vma) & VM_UFFD_WP; }
static inline bool userfaultfd_minor(const struct vm_area_struct *vma) { return uffd_flags(vma) & VM_UFFD_MINOR; }
static inline bool userfaultfd_armed(const struct vm_area_struct *vma) { return uffd_flags(vma) & VM_UFFD_ARMED; }

/* A present pte the userfaultfd write-protected: a write must report. */
static inline bool userfaultfd_pte_wp(const struct vm_area_struct *vma, pte_t pte)
{
	return userfaultfd_wp(vma) && pte_uffd_wp(pte);
}

/* Any uffd-wp mark of a non-present pte: the swap bit, or a PTE_MARKER_UFFD_WP. */
static inline bool pte_marker_uffd_wp(pte_t pte)
{
	return is_pte_marker(pte) && (pte_marker_get(pte_to_swp_entry(pte)) & PTE_MARKER_UFFD_WP);
}
static inline bool pte_swp_uffd_wp_any(pte_t pte)
{
	return pte_marker_uffd_wp(pte) || (is_swap_pte(pte) && !is_pte_marker(pte) && pte_swp_uffd_wp(pte));
}

/* Fault-around would map pages no fault reported (MINOR) or lose a marker (WP). */
static inline bool uffd_disable_fault_around(const struct vm_area_struct *vma)
{
	return vma->vm_flags & (VM_UFFD_WP | VM_UFFD_MINOR);
}

/* Does a write-protect of this VMA leave markers on none ptes?  File and shmem always, anon with WP_UNPOPULATED. */
bool userfaultfd_wp_use_markers(struct vm_area_struct *vma);

/*
 * Models pte_install_uffd_wp_if_needed(): a file or shmem pte that was
 * uffd-wp (present, swap, or a marker already) and has just been cleared
 * becomes a marker, so that the protection outlives the page's unmapping
 * (reclaim, MADV_DONTNEED).  Anon memory needs none: its pte becomes a
 * swap entry that keeps the bit, or its page is gone for good.  pte lock held.
 */
bool pte_install_uffd_wp_if_needed(struct vm_area_struct *vma, uint64_t addr, pte_t *pte, pte_t pteval);

/* fs/userfaultfd.c: the fault side, events, and the process's exit. */
vm_fault_t handle_userfault(struct vm_fault *vmf, unsigned long reason);
int dup_userfaultfd(struct vm_area_struct *vma);	/* fork: the child's VMA; 0 or -ENOMEM */
void dup_userfaultfd_complete(struct mm_struct *oldmm);	/* fork: send the events, wait until read */
void dup_userfaultfd_fail(struct mm_struct *oldmm);	/* fork failed: drop the child contexts made */
void userfaultfd_remove(struct vm_area_struct *vma, uint64_t start, uint64_t end);	/* MADV_DONTNEED/REMOVE */
void mremap_userfaultfd_prep(struct vm_area_struct *new_vma);	/* no EVENT_REMAP: the moved VMA is unregistered */
void userfaultfd_unmap_prep(struct mm_struct *mm, uint64_t start, uint64_t end);	/* munmap */
void userfaultfd_events_complete(struct mml_task *t);	/* the call returns: wait until its events are read */
void userfaultfd_exit_mm(struct mm_struct *mm);	/* the last user of mm goes: release its userfaultfds */
void userfaultfd_machine_exit(struct mml_machine *m);	/* power-off: free the handles left */

void userfaultfd_ctx_get(struct userfaultfd_ctx *ctx);
void userfaultfd_ctx_put(struct userfaultfd_ctx *ctx);
void wake_userfault(struct userfaultfd_ctx *ctx, uint64_t start, uint64_t len);	/* len 0: all */
int uffd_validate_range(struct mml_machine *m, uint64_t start, uint64_t len);

/* mm/userfaultfd.c: the VMA side of registration, and the ioctls that fill and protect memory */
struct vm_area_struct *userfaultfd_set_vma(struct vm_area_struct *vma, uint64_t start, uint64_t end,
					   vm_flags_t new_flags, struct userfaultfd_ctx *ctx, int *err);
struct vm_area_struct *userfaultfd_clear_vma(struct vm_area_struct *vma, uint64_t start, uint64_t end, int *err);
void userfaultfd_release_all(struct mm_struct *mm, struct userfaultfd_ctx *ctx);
void userfaultfd_reset_vma(struct vm_area_struct *vma);
long uffd_wp_range(struct vm_area_struct *vma, uint64_t start, uint64_t len, bool enable_wp);

#endif
