/*
 * mmu_notifier.c - secondary MMUs told of every change to the CPU's page
 * tables (Linux's mm/mmu_notifier.c); see mmu_notifier.h for the contract.
 *
 * Differs from Linux: the interval notifiers are a list sorted by start
 * rather than an interval tree; Linux's global SRCU is a reader-writer
 * semaphore per mm (readers may sleep in callbacks; registration, not only
 * unregistration, waits for callbacks in flight); a failed non-blocking
 * start also ends the interval notifiers it started.
 *
 *   invalidation                          interval subscriber's fault
 *   ------------                          ---------------------------
 *   lock; active++; seq |= 1; unlock       seq = read_begin()  (waits while odd
 *   sub->invalidate(range, seq):                                and its own)
 *     lock own table                       walk the CPU page table
 *     set_seq(seq); drop translations      lock own table
 *     unlock own table                     read_retry(seq)?  -> start over
 *   ... the caller changes ptes ...        install; unlock own table
 *   lock; active--; seq++ (even); unlock;
 *   wake read_begin's waiters
 */
#include <stdlib.h>

#include "mm/internal.h"
#include "mm/mmu_notifier.h"

struct mmu_notifier_subscriptions {
	/* Linux's SRCU: read across every callback, write to change list. */
	struct rw_semaphore srcu;
	struct list_head list;		/* (srcu write) struct mmu_notifier */
	spinlock_t lock;		/* a leaf: guards everything below */
	struct list_head itree;		/* struct mmu_interval_notifier by start */
	struct list_head deferred;	/* insertions and removals waiting for active == 0 */
	unsigned long invalidate_seq;	/* odd while an invalidation that hits an interval runs */
	unsigned long active_invalidate_ranges;
};

static struct mmu_notifier_subscriptions *mm_subscriptions(struct mm_struct *mm)
{
	return smp_load_acquire(&mm->notifier_subscriptions);
}

/* The mm's subscriptions, made on first use; 0 or -ENOMEM.  mmap_lock held for write. */
static int subscriptions_get(struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *subs;

	mmap_assert_write_locked(mm);
	if (mm->notifier_subscriptions)
		return 0;
	subs = mml_obj_alloc(mm->machine, OBJ_MMU_NOTIFIER, sizeof(*subs));
	if (!subs)
		return -ENOMEM;
	init_rwsem(&subs->srcu);
	INIT_LIST_HEAD(&subs->list);
	spin_lock_init(&subs->lock);
	INIT_LIST_HEAD(&subs->itree);
	INIT_LIST_HEAD(&subs->deferred);
	subs->invalidate_seq = 2;
	/* Initialised before anyone can see it: pairs with mm_has_notifiers(). */
	smp_store_release(&mm->notifier_subscriptions, subs);
	return 0;
}

void mmu_notifier_subscriptions_destroy(struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *subs = mm->notifier_subscriptions;

	if (!subs)
		return;
	VM_BUG_ON(!list_empty(&subs->list) || !list_empty(&subs->itree) || !list_empty(&subs->deferred));
	destroy_rwsem(&subs->srcu);
	spin_lock_destroy(&subs->lock);
	mml_obj_free(mm->machine, OBJ_MMU_NOTIFIER, subs);
	mm->notifier_subscriptions = NULL;
}

/* ---- mmu_notifier: every invalidation, release, young bits ------------------ */

int mmu_notifier_register(struct mmu_notifier *sub, struct mm_struct *mm)
{
	int err;

	mmap_write_lock(mm);
	err = subscriptions_get(mm);
	if (!err) {
		struct mmu_notifier_subscriptions *subs = mm->notifier_subscriptions;

		mmgrab(mm);
		sub->mm = mm;
		sub->released = false;
		down_write(&subs->srcu);
		list_add_tail(&sub->hlist, &subs->list);
		up_write(&subs->srcu);
	}
	mmap_write_unlock(mm);
	return err;
}

/*
 * mmu_notifier_unregister(): no callback of sub runs once it returns.  If
 * the mm has not been released yet, sub gets its release first, as in
 * Linux, so that it drops everything it still translates.
 */
void mmu_notifier_unregister(struct mmu_notifier *sub, struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *subs = mm->notifier_subscriptions;

	down_write(&subs->srcu);
	if (!sub->released) {
		sub->released = true;
		list_del(&sub->hlist);
		up_write(&subs->srcu);
		if (sub->ops->release)
			sub->ops->release(sub, mm);
	} else {
		up_write(&subs->srcu);
	}
	mmdrop(mm);
}

/*
 * __mmu_notifier_release(): exit_mmap, before the page tables go.  Every
 * notifier stops translating the mm; none is called again.
 */
void __mmu_notifier_release(struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *subs = mm_subscriptions(mm);
	struct mmu_notifier *sub, *next;

	down_read(&subs->srcu);
	list_for_each_entry(sub, &subs->list, hlist)
		if (sub->ops->release)
			sub->ops->release(sub, mm);
	up_read(&subs->srcu);
	down_write(&subs->srcu);
	list_for_each_entry_safe(sub, next, &subs->list, hlist) {
		sub->released = true;
		list_del(&sub->hlist);
	}
	up_write(&subs->srcu);
}

int __mmu_notifier_clear_flush_young(struct mm_struct *mm, uint64_t start, uint64_t end)
{
	struct mmu_notifier_subscriptions *subs = mm_subscriptions(mm);
	struct mmu_notifier *sub;
	int young = 0;

	down_read(&subs->srcu);
	list_for_each_entry(sub, &subs->list, hlist)
		if (sub->ops->clear_flush_young)
			young |= sub->ops->clear_flush_young(sub, mm, start, end);
	up_read(&subs->srcu);
	return young;
}

int __mmu_notifier_test_young(struct mm_struct *mm, uint64_t address)
{
	struct mmu_notifier_subscriptions *subs = mm_subscriptions(mm);
	struct mmu_notifier *sub;
	int young = 0;

	down_read(&subs->srcu);
	list_for_each_entry(sub, &subs->list, hlist)
		if (sub->ops->test_young && sub->ops->test_young(sub, mm, address, address + PAGE_SIZE)) {
			young = 1;
			break;
		}
	up_read(&subs->srcu);
	return young;
}

/* ---- interval notifiers ---------------------------------------------------- */

static bool interval_overlaps(const struct mmu_interval_notifier *sub, const struct mmu_notifier_range *range)
{
	return sub->start <= range->end - 1 && sub->last >= range->start;
}

static void itree_insert(struct mmu_notifier_subscriptions *subs, struct mmu_interval_notifier *sub)
{
	struct mmu_interval_notifier *pos;

	list_for_each_entry(pos, &subs->itree, node)
		if (pos->start > sub->start)
			break;
	list_add_tail(&sub->node, &pos->node);
}

static bool itree_is_invalidating(const struct mmu_notifier_subscriptions *subs)
{
	return subs->invalidate_seq & 1;
}

int mmu_interval_notifier_insert(struct mmu_interval_notifier *sub, struct mm_struct *mm, uint64_t start,
				 uint64_t length, const struct mmu_interval_notifier_ops *ops)
{
	struct mmu_notifier_subscriptions *subs;
	int err;

	if (!length || start + length - 1 < start)
		return -EOVERFLOW;
	mmap_write_lock(mm);
	err = subscriptions_get(mm);
	mmap_write_unlock(mm);
	if (err)
		return err;
	subs = mm->notifier_subscriptions;
	mmgrab(mm);
	sub->mm = mm;
	sub->ops = ops;
	sub->start = start;
	sub->last = start + length - 1;
	INIT_LIST_HEAD(&sub->node);
	spin_lock(&subs->lock);
	if (subs->active_invalidate_ranges) {
		/*
		 * An invalidation may be walking the list without the lock: join
		 * when the last one ends, which the odd count makes happen.
		 * Until then read_begin waits, as one may cover our range.
		 */
		WRITE_ONCE(subs->invalidate_seq, subs->invalidate_seq | 1);
		WRITE_ONCE(sub->invalidate_seq, subs->invalidate_seq);
		sub->deferred = DEFERRED_INSERT;
		list_add_tail(&sub->deferred_item, &subs->deferred);
	} else {
		/* Not equal to the current (even) count nor to the next (odd) one. */
		WRITE_ONCE(sub->invalidate_seq, subs->invalidate_seq - 1);
		sub->deferred = 0;
		itree_insert(subs, sub);
	}
	spin_unlock(&subs->lock);
	return 0;
}

struct seq_wait {
	unsigned long *seq;
	unsigned long was;
};

static bool seq_moved(void *arg)
{
	struct seq_wait *w = arg;

	return READ_ONCE(*w->seq) != w->was;
}

/* Sleep until the subscriptions' count is no longer seq (an invalidation ended). */
static void wait_invalidation_end(struct mmu_notifier_subscriptions *subs, unsigned long seq)
{
	struct seq_wait w = { &subs->invalidate_seq, seq };

	wait_var_event(&subs->invalidate_seq, seq_moved, &w);
}

/*
 * mmu_interval_notifier_remove(): no invalidate callback of sub runs once
 * it returns.  The caller holds none of the locks its callback takes.
 */
void mmu_interval_notifier_remove(struct mmu_interval_notifier *sub)
{
	struct mm_struct *mm = sub->mm;
	struct mmu_notifier_subscriptions *subs = mm->notifier_subscriptions;
	unsigned long seq = 0;

	spin_lock(&subs->lock);
	if (sub->deferred == DEFERRED_INSERT) {
		/* Its insertion has not happened yet: cancel it. */
		list_del(&sub->deferred_item);
		sub->deferred = 0;
	} else if (itree_is_invalidating(subs)) {
		/* An invalidation may be at it in the list: it leaves when that ends. */
		sub->deferred = DEFERRED_REMOVE;
		list_add_tail(&sub->deferred_item, &subs->deferred);
		seq = subs->invalidate_seq;
	} else {
		list_del(&sub->node);
	}
	spin_unlock(&subs->lock);
	if (seq)
		wait_invalidation_end(subs, seq);
	mmdrop(mm);
}

/*
 * mmu_interval_read_begin(): the count to recheck after looking at the
 * CPU page table; waits while an invalidation that covers this interval
 * is in progress, so the look cannot be stale before it starts.
 */
unsigned long mmu_interval_read_begin(struct mmu_interval_notifier *sub)
{
	struct mmu_notifier_subscriptions *subs = sub->mm->notifier_subscriptions;
	unsigned long seq;
	bool invalidating;

	spin_lock(&subs->lock);
	seq = READ_ONCE(sub->invalidate_seq);
	invalidating = seq == subs->invalidate_seq;
	spin_unlock(&subs->lock);
	if (invalidating)
		wait_invalidation_end(subs, seq);
	return seq;
}

/*
 * mmlab's own: read_begin for a caller that may not wait, a notifier
 * callback (which another invalidation may be waiting on).  False while
 * an invalidation covering the interval is in progress.
 */
bool mmu_interval_try_read_begin(struct mmu_interval_notifier *sub, unsigned long *seq)
{
	struct mmu_notifier_subscriptions *subs = sub->mm->notifier_subscriptions;
	bool invalidating;

	spin_lock(&subs->lock);
	*seq = READ_ONCE(sub->invalidate_seq);
	invalidating = *seq == subs->invalidate_seq;
	spin_unlock(&subs->lock);
	return !invalidating;
}

/*
 * mn_itree_inv_start_range(): one more invalidation in progress; if it
 * touches an interval, the count turns odd.  The count, or 0 if none is hit.
 */
static unsigned long mn_itree_inv_start_range(struct mmu_notifier_subscriptions *subs,
					      const struct mmu_notifier_range *range)
{
	struct mmu_interval_notifier *sub;
	unsigned long seq = 0;

	spin_lock(&subs->lock);
	subs->active_invalidate_ranges++;
	list_for_each_entry(sub, &subs->itree, node) {
		if (interval_overlaps(sub, range)) {
			WRITE_ONCE(subs->invalidate_seq, subs->invalidate_seq | 1);
			seq = subs->invalidate_seq;
			break;
		}
	}
	spin_unlock(&subs->lock);
	return seq;
}

/*
 * mn_itree_inv_end(): when the last invalidation in progress ends, the
 * count turns even again, the deferred insertions and removals happen, and
 * read_begin's waiters wake.
 */
static void mn_itree_inv_end(struct mmu_notifier_subscriptions *subs)
{
	struct mmu_interval_notifier *sub, *next;

	spin_lock(&subs->lock);
	if (--subs->active_invalidate_ranges || !itree_is_invalidating(subs)) {
		spin_unlock(&subs->lock);
		return;
	}
	/* written under the lock, read by seq_moved() without it */
	WRITE_ONCE(subs->invalidate_seq, subs->invalidate_seq + 1);
	list_for_each_entry_safe(sub, next, &subs->deferred, deferred_item) {
		list_del(&sub->deferred_item);
		if (sub->deferred == DEFERRED_INSERT)
			itree_insert(subs, sub);
		else
			list_del(&sub->node);
		sub->deferred = 0;
	}
	spin_unlock(&subs->lock);
	wake_up_var(&subs->invalidate_seq);
}

/* The interval notifiers' part of a start: 0, or -EAGAIN (all undone). */
static int mn_itree_invalidate(struct mmu_notifier_subscriptions *subs, const struct mmu_notifier_range *range)
{
	unsigned long seq = mn_itree_inv_start_range(subs, range);
	struct mmu_interval_notifier *sub;

	if (!seq)
		return 0;
	/* The list cannot change while active_invalidate_ranges > 0. */
	list_for_each_entry(sub, &subs->itree, node) {
		if (!interval_overlaps(sub, range))
			continue;
		if (!sub->ops->invalidate(sub, range, seq)) {
			VM_BUG_ON(mmu_notifier_range_blockable(range));
			mn_itree_inv_end(subs);
			return -EAGAIN;
		}
	}
	return 0;
}

/* ---- invalidation ------------------------------------------------------------ */

/* The notifiers' part of a start: 0, or -EAGAIN with the ones started ended again. */
static int mn_hlist_invalidate_range_start(struct mmu_notifier_subscriptions *subs,
					   const struct mmu_notifier_range *range)
{
	struct mmu_notifier *sub, *undo;
	int ret = 0;

	down_read(&subs->srcu);
	list_for_each_entry(sub, &subs->list, hlist) {
		if (!sub->ops->invalidate_range_start)
			continue;
		ret = sub->ops->invalidate_range_start(sub, range);
		if (!ret)
			continue;
		/* Only a non-blockable range may be refused. */
		VM_BUG_ON(ret != -EAGAIN || mmu_notifier_range_blockable(range));
		list_for_each_entry(undo, &subs->list, hlist) {
			if (undo == sub)
				break;
			if (undo->ops->invalidate_range_start && undo->ops->invalidate_range_end)
				undo->ops->invalidate_range_end(undo, range);
		}
		break;
	}
	up_read(&subs->srcu);
	return ret;
}

static int invalidate_range_start(struct mmu_notifier_range *range)
{
	struct mmu_notifier_subscriptions *subs = mm_subscriptions(range->mm);
	int ret = mn_itree_invalidate(subs, range);

	if (ret)
		return ret;
	ret = mn_hlist_invalidate_range_start(subs, range);
	if (ret)
		mn_itree_inv_end(subs);
	return ret;
}

void __mmu_notifier_invalidate_range_start(struct mmu_notifier_range *range)
{
	/* A blockable range cannot be refused. */
	int ret = invalidate_range_start(range);

	VM_BUG_ON(ret);
}

int __mmu_notifier_invalidate_range_start_nonblock(struct mmu_notifier_range *range)
{
	return invalidate_range_start(range);
}

void __mmu_notifier_invalidate_range_end(struct mmu_notifier_range *range)
{
	struct mmu_notifier_subscriptions *subs = mm_subscriptions(range->mm);
	struct mmu_notifier *sub;

	mn_itree_inv_end(subs);
	down_read(&subs->srcu);
	list_for_each_entry(sub, &subs->list, hlist)
		if (sub->ops->invalidate_range_end)
			sub->ops->invalidate_range_end(sub, range);
	up_read(&subs->srcu);
}

/* ---- the public interface (include/mmlab.h) ------------------------------------- */

struct mml_mmu_notifier {
	struct mmu_notifier mn;
	const struct mml_mmu_notifier_ops *ops;	/* (C) */
	void *priv;				/* (C) */
};

static struct mml_mmu_notifier *to_mml(struct mmu_notifier *mn)
{
	return container_of(mn, struct mml_mmu_notifier, mn);
}

static struct mml_notify_range to_mml_range(const struct mmu_notifier_range *range)
{
	return (struct mml_notify_range){
		.start = range->start, .end = range->end,
		.event = (enum mml_notify_event)range->event,
		.blockable = mmu_notifier_range_blockable(range),
	};
}

static int mml_mn_start(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	struct mml_mmu_notifier *n = to_mml(mn);
	struct mml_notify_range r = to_mml_range(range);

	return n->ops->invalidate_range_start ? n->ops->invalidate_range_start(n->priv, &r) : 0;
}

static void mml_mn_end(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	struct mml_mmu_notifier *n = to_mml(mn);
	struct mml_notify_range r = to_mml_range(range);

	if (n->ops->invalidate_range_end)
		n->ops->invalidate_range_end(n->priv, &r);
}

static void mml_mn_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct mml_mmu_notifier *n = to_mml(mn);

	if (n->ops->release)
		n->ops->release(n->priv);
}

static int mml_mn_clear_flush_young(struct mmu_notifier *mn, struct mm_struct *mm, uint64_t start, uint64_t end)
{
	struct mml_mmu_notifier *n = to_mml(mn);

	return n->ops->clear_flush_young ? n->ops->clear_flush_young(n->priv, start, end) : 0;
}

static int mml_mn_test_young(struct mmu_notifier *mn, struct mm_struct *mm, uint64_t start, uint64_t end)
{
	struct mml_mmu_notifier *n = to_mml(mn);

	return n->ops->test_young ? n->ops->test_young(n->priv, start, end) : 0;
}

static const struct mmu_notifier_ops mml_mn_ops = {
	.release = mml_mn_release,
	.clear_flush_young = mml_mn_clear_flush_young,
	.test_young = mml_mn_test_young,
	.invalidate_range_start = mml_mn_start,
	.invalidate_range_end = mml_mn_end,
};

int mml_mmu_notifier_register(struct mml_task *t, const struct mml_mmu_notifier_ops *ops, void *priv,
			      struct mml_mmu_notifier **out)
{
	struct mml_machine *m = t->machine;
	struct mml_mmu_notifier *n;
	long ret;

	if (!ops)
		return -EINVAL;
	ret = op_enter_task(t);
	if (ret)
		return (int)ret;
	n = mml_obj_alloc(m, OBJ_MML_NOTIFIER, sizeof(*n));
	if (!n)
		return (int)op_exit(m, -ENOMEM);
	n->ops = ops;
	n->priv = priv;
	n->mn.ops = &mml_mn_ops;
	ret = mmu_notifier_register(&n->mn, t->mm);
	if (ret) {
		mml_obj_free(m, OBJ_MML_NOTIFIER, n);
		return (int)op_exit(m, ret);
	}
	*out = n;
	return (int)op_exit_task(t, 0);
}

void mml_mmu_notifier_unregister(struct mml_mmu_notifier *n)
{
	struct mm_struct *mm;
	struct mml_machine *m;

	if (!n)
		return;
	mm = n->mn.mm;
	m = mm->machine;
	op_enter(m, NULL);
	mmu_notifier_unregister(&n->mn, mm);
	mml_obj_free(m, OBJ_MML_NOTIFIER, n);
	op_exit(m, 0);
}
