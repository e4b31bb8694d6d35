/*
 * mmu_notifier.h - telling secondary MMUs that the CPU's page tables change
 * (Linux's include/linux/mmu_notifier.h).
 *
 * Contract (seed 002, the rule Linux keeps): whoever changes a pte -> pfn
 * mapping, or takes a right away, brackets the change with
 * mmu_notifier_invalidate_range_start() and _end() over a range covering
 * every page whose mapping changes.  When start returns, every secondary
 * MMU has stopped using its translations of the range and will not make
 * new ones until end; end runs after the ptes changed (after the TLB
 * flush on paths that flush at once; before an mmu_gather's batched
 * flush, which frees the pages only after it, as Linux).  start runs
 * outside the page-table locks and may sleep, unless the range is
 * not blockable (the OOM reaper), when a subscriber may refuse with
 * -EAGAIN and the caller leaves that range alone.
 *
 * Two kinds of subscriber, as in Linux:
 *  - struct mmu_notifier: ops called for every invalidation of the mm,
 *    and release when the mm's memory goes away (exit_mmap), after which
 *    it is never called again;
 *  - struct mmu_interval_notifier: one range of addresses and a sequence
 *    count.  The subscriber's fault path does
 *        seq = mmu_interval_read_begin(sub);
 *        ... look at the CPU page table (hmm_range_fault) ...
 *        lock its own page table;
 *        if (mmu_interval_read_retry(sub, seq)) unlock and start over;
 *        install the translation; unlock;
 *    and its invalidate callback, under that same lock, calls
 *    mmu_interval_set_seq() and drops its translations.  read_begin waits
 *    while an invalidation that touches the range is in progress.
 *
 * Locks: the subscriptions' lock (a spinlock: lists, sequence counts) is
 * a leaf; their srcu (a reader-writer semaphore standing for Linux's SRCU)
 * is held for read across every callback and for write to change the list
 * of notifiers, so unregistration returns only when no callback of the
 * notifier is running.  Callbacks may take their own locks, never the mm's.
 */
#ifndef MML_MM_MMU_NOTIFIER_H
#define MML_MM_MMU_NOTIFIER_H

#include "mm/mm.h"

enum mmu_notifier_event {
	MMU_NOTIFY_UNMAP = 0,		/* the range is unmapped (munmap, exit, the OOM reaper) */
	MMU_NOTIFY_CLEAR,		/* ptes cleared or replaced, the VMA stays (COW, MADV_DONTNEED, swap-out) */
	MMU_NOTIFY_PROTECTION_VMA,	/* mprotect changes the VMA's rights */
	MMU_NOTIFY_PROTECTION_PAGE,	/* rights of pages change (fork's write-protect) */
	MMU_NOTIFY_SOFT_DIRTY,		/* soft-dirty tracking write-protects */
	MMU_NOTIFY_RELEASE,		/* the mm is going away */
	MMU_NOTIFY_MIGRATE,		/* pages move to other frames */
	MMU_NOTIFY_EXCLUSIVE,		/* a device-exclusive entry is made (its removal is CLEAR) */
};

#define MMU_NOTIFIER_RANGE_BLOCKABLE	(1u << 0)

struct mmu_notifier_range {
	struct mm_struct *mm;
	uint64_t start, end;
	unsigned int flags;		/* MMU_NOTIFIER_RANGE_BLOCKABLE */
	enum mmu_notifier_event event;
	void *owner;			/* MMU_NOTIFY_EXCLUSIVE: the device that asked, its own doing */
};

static inline bool mmu_notifier_range_blockable(const struct mmu_notifier_range *range)
{
	return range->flags & MMU_NOTIFIER_RANGE_BLOCKABLE;
}

struct mmu_notifier;
struct mmu_notifier_ops {
	/* The mm's memory is about to go: stop using it, for good. */
	void (*release)(struct mmu_notifier *sub, struct mm_struct *mm);
	/* Reclaim asks: did you use [start, end)?  Clear your young bits. */
	int (*clear_flush_young)(struct mmu_notifier *sub, struct mm_struct *mm, uint64_t start, uint64_t end);
	int (*test_young)(struct mmu_notifier *sub, struct mm_struct *mm, uint64_t start, uint64_t end);
	/* 0, or -EAGAIN (only when the range is not blockable). */
	int (*invalidate_range_start)(struct mmu_notifier *sub, const struct mmu_notifier_range *range);
	void (*invalidate_range_end)(struct mmu_notifier *sub, const struct mmu_notifier_range *range);
};

struct mmu_notifier {
	struct list_head hlist;			/* on subscriptions->list (srcu write) */
	const struct mmu_notifier_ops *ops;	/* (C) */
	struct mm_struct *mm;			/* (C) holds an mm_count reference */
	bool released;				/* (srcu write) release was called, or it was unregistered */
};

struct mmu_interval_notifier;
struct mmu_interval_notifier_ops {
	/* Drop translations of range under the subscriber's lock, after mmu_interval_set_seq(); false: would block. */
	bool (*invalidate)(struct mmu_interval_notifier *sub, const struct mmu_notifier_range *range,
			   unsigned long cur_seq);
};

#define DEFERRED_INSERT	1
#define DEFERRED_REMOVE	2

struct mmu_interval_notifier {
	struct list_head node;			/* on subscriptions->itree (its lock; walked without it while invalidating) */
	struct list_head deferred_item;		/* on subscriptions->deferred (its lock) */
	int deferred;				/* (its lock) DEFERRED_*: waiting for the invalidations to end */
	uint64_t start, last;			/* (C) the addresses watched, inclusive */
	const struct mmu_interval_notifier_ops *ops;	/* (C) */
	struct mm_struct *mm;			/* (C) holds an mm_count reference */
	unsigned long invalidate_seq;		/* subscriber's lock to write, READ_ONCE to read */
};

/* Registration: 0, or -ENOMEM; the caller holds no mm lock. */
int mmu_notifier_register(struct mmu_notifier *sub, struct mm_struct *mm);
void mmu_notifier_unregister(struct mmu_notifier *sub, struct mm_struct *mm);
int mmu_interval_notifier_insert(struct mmu_interval_notifier *sub, struct mm_struct *mm, uint64_t start,
				 uint64_t length, const struct mmu_interval_notifier_ops *ops);
void mmu_interval_notifier_remove(struct mmu_interval_notifier *sub);

unsigned long mmu_interval_read_begin(struct mmu_interval_notifier *sub);
bool mmu_interval_try_read_begin(struct mmu_interval_notifier *sub, unsigned long *seq);
static inline bool mmu_interval_read_retry(struct mmu_interval_notifier *sub, unsigned long seq)
{
	return READ_ONCE(sub->invalidate_seq) != seq;
}
/* In the invalidate callback, under the subscriber's own lock. */
static inline void mmu_interval_set_seq(struct mmu_interval_notifier *sub, unsigned long cur_seq)
{
	WRITE_ONCE(sub->invalidate_seq, cur_seq);
}

/* The core's side: cheap when the mm has no subscriber. */
static inline bool mm_has_notifiers(struct mm_struct *mm)
{
	return smp_load_acquire(&mm->notifier_subscriptions) != NULL;
}

static inline void mmu_notifier_range_init(struct mmu_notifier_range *range, enum mmu_notifier_event event,
					   unsigned int flags, struct mm_struct *mm, uint64_t start, uint64_t end)
{
	range->mm = mm;
	range->start = start;
	range->end = end;
	range->flags = flags | MMU_NOTIFIER_RANGE_BLOCKABLE;
	range->event = event;
	range->owner = NULL;
}

void __mmu_notifier_invalidate_range_start(struct mmu_notifier_range *range);
int __mmu_notifier_invalidate_range_start_nonblock(struct mmu_notifier_range *range);
void __mmu_notifier_invalidate_range_end(struct mmu_notifier_range *range);
void __mmu_notifier_release(struct mm_struct *mm);
int __mmu_notifier_clear_flush_young(struct mm_struct *mm, uint64_t start, uint64_t end);

static inline void mmu_notifier_invalidate_range_start(struct mmu_notifier_range *range)
{
	if (mm_has_notifiers(range->mm))
		__mmu_notifier_invalidate_range_start(range);
}
/* The OOM reaper's: 0, or -EAGAIN when a subscriber would have to sleep (nothing was started). */
static inline int mmu_notifier_invalidate_range_start_nonblock(struct mmu_notifier_range *range)
{
	range->flags &= ~MMU_NOTIFIER_RANGE_BLOCKABLE;
	if (mm_has_notifiers(range->mm))
		return __mmu_notifier_invalidate_range_start_nonblock(range);
	return 0;
}
static inline void mmu_notifier_invalidate_range_end(struct mmu_notifier_range *range)
{
	if (mm_has_notifiers(range->mm))
		__mmu_notifier_invalidate_range_end(range);
}
static inline void mmu_notifier_release(struct mm_struct *mm)
{
	if (mm_has_notifiers(mm))
		__mmu_notifier_release(mm);
}
/* ptep_clear_flush_young_notify(): the CPU's young bit, or-ed with the secondary MMUs'. */
static inline int mmu_notifier_clear_flush_young(struct mm_struct *mm, uint64_t start, uint64_t end)
{
	if (mm_has_notifiers(mm))
		return __mmu_notifier_clear_flush_young(mm, start, end);
	return 0;
}
int __mmu_notifier_test_young(struct mm_struct *mm, uint64_t address);
/* Did a secondary MMU use the page at address (without clearing its bit)?  khugepaged asks. */
static inline int mmu_notifier_test_young(struct mm_struct *mm, uint64_t address)
{
	if (mm_has_notifiers(mm))
		return __mmu_notifier_test_young(mm, address);
	return 0;
}
/* exit: free the subscriptions once the mm struct goes (mmdrop). */
void mmu_notifier_subscriptions_destroy(struct mm_struct *mm);

#endif /* MML_MM_MMU_NOTIFIER_H */
