/*
 * userfaultfd.c - the userfaultfd context (Linux's fs/userfaultfd.c):
 * userfaultfd(2) and UFFDIO_API, registration, the fault side
 * (handle_userfault: report, then sleep until resolved), reading
 * messages, waking faults, the events (fork, remove, unmap) and release.
 * The ioctls that change memory (UFFDIO_COPY, _ZEROPAGE, _CONTINUE,
 * _WRITEPROTECT) are mm/userfaultfd.c's, as in Linux.
 *
 * struct userfaultfd_ctx, with the lock of each field:
 *   (C) constant after creation   (A) atomic, or READ_ONCE/WRITE_ONCE
 *   (O) ctx->lock (a spinlock; under it only the bit-wait table's mutexes)
 *   (Z') machine->uffd_lock (a leaf)
 *   (M) ctx->mm's mmap_lock: the VMAs that point to the ctx
 *
 * Lifetime: the handle (struct mml_uffd, the "file") holds one reference,
 * a fault sleeping on it another.  The ctx holds an mm_count reference on
 * its mm (Linux's mmgrab) until it is released: by mml_uffd_free (close),
 * or when the last user of the mm goes (the process exits, closing its
 * descriptors).  Released, it wakes every fault and event waiting, and
 * every later call on the handle is -EBADF; the memory goes with the last
 * reference.  A waiter sleeps on a struct userfaultfd_wait_queue of its
 * own: whoever takes it off the ctx's lists (a wake, a read of an event,
 * the release) sets ->waken under ctx->lock and calls wake_up_var(), which
 * only hashes the address; the waiter never touches the ctx after it was
 * woken except to drop its reference.
 *
 * Deviations (docs/deviations.md): faults of GUP and khugepaged never
 * wait (SIGBUS at once: mmlab's GUP holds mmap_lock throughout); a
 * REMOVE event is queued before the zap but waited for when the call
 * returns, as UNMAP is; no UFFD_EVENT_REMAP, UFFDIO_MOVE, UFFDIO_POISON,
 * hugetlbfs or WP_ASYNC.
 */
#include <string.h>

#include "fs/vfs.h"
#include "mm/mm.h"
#include "mm/userfaultfd_k.h"

/* The features this model implements (UFFD_API_FEATURES minus hugetlbfs, REMAP, WP_ASYNC, MOVE, POISON). */
#define UFFD_MML_FEATURES                                                                                  \
	(UFFD_FEATURE_PAGEFAULT_FLAG_WP | UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMOVE |            \
	 UFFD_FEATURE_EVENT_UNMAP | UFFD_FEATURE_MISSING_SHMEM | UFFD_FEATURE_SIGBUS |                     \
	 UFFD_FEATURE_THREAD_ID | UFFD_FEATURE_MINOR_SHMEM | UFFD_FEATURE_EXACT_ADDRESS |                  \
	 UFFD_FEATURE_WP_HUGETLBFS_SHMEM | UFFD_FEATURE_WP_UNPOPULATED)

/* One fork in progress: the parent's ctx and the child's new one (Linux's struct userfaultfd_fork_ctx). */
struct uffd_pending_event {
	struct list_head tnode;			/* (the task) on current->uffd_events */
	struct userfaultfd_ctx *orig;		/* fork: the parent's ctx, which gets the message */
	struct userfaultfd_ctx *new;		/* fork: the child's */
	struct userfaultfd_wait_queue uwq;	/* the message, on orig's event list once queued */
	bool queued;
};

static struct userfaultfd_ctx *ctx_alloc(struct mml_machine *m, struct mm_struct *mm, uint64_t features)
{
	struct userfaultfd_ctx *ctx = mml_obj_alloc(m, OBJ_UFFD, sizeof(*ctx));

	if (!ctx)
		return NULL;
	ctx->machine = m;
	ctx->mm = mm;
	mmgrab(mm);
	ctx->features = features;
	atomic_set(&ctx->refcount, 1);
	spin_lock_init(&ctx->lock);
	INIT_LIST_HEAD(&ctx->fault_pending);
	INIT_LIST_HEAD(&ctx->fault_read);
	INIT_LIST_HEAD(&ctx->event_pending);
	spin_lock(&m->uffd_lock);
	ctx->ufd = m->next_ufd++;
	list_add_tail(&ctx->node, &m->uffds);
	spin_unlock(&m->uffd_lock);
	return ctx;
}

void userfaultfd_ctx_get(struct userfaultfd_ctx *ctx)
{
	atomic_inc(&ctx->refcount);
}

void userfaultfd_ctx_put(struct userfaultfd_ctx *ctx)
{
	if (!atomic_dec_and_test(&ctx->refcount))
		return;
	spin_lock_destroy(&ctx->lock);
	mml_obj_free(ctx->machine, OBJ_UFFD, ctx);
}

/* Take uwq off its list and let its waiter go.  ctx->lock held. */
static void uwq_wake(struct userfaultfd_ctx *ctx, struct userfaultfd_wait_queue *uwq)
{
	lockdep_assert_held_spin(&ctx->lock);
	list_del_init(&uwq->node);
	if (uwq->msg.event != UFFD_EVENT_PAGEFAULT)
		atomic_dec(&ctx->mmap_changing);
	/*
	 * Release: the waiter may free uwq as soon as it sees waken (an
	 * event's entry); our reads of it above come first.  Pairs with the
	 * acquire in uwq_waken().  wake_up_var only hashes the address.
	 */
	smp_store_release(&uwq->waken, true);
	wake_up_var(&uwq->waken);
}

static bool uwq_waken(void *arg)
{
	return smp_load_acquire(&((struct userfaultfd_wait_queue *)arg)->waken);
}

/* Models __wake_userfault(): the faults on [start, start + len) go (len 0: all of them). */
void wake_userfault(struct userfaultfd_ctx *ctx, uint64_t start, uint64_t len)
{
	struct list_head *lists[2] = { &ctx->fault_pending, &ctx->fault_read };
	struct userfaultfd_wait_queue *uwq, *tmp;

	spin_lock(&ctx->lock);
	for (int i = 0; i < 2; i++)
		list_for_each_entry_safe(uwq, tmp, lists[i], node) {
			uint64_t a = uwq->msg.arg.pagefault.address;

			if (len && (a < start || a >= start + len))
				continue;
			uwq_wake(ctx, uwq);
		}
	spin_unlock(&ctx->lock);
}

/*
 * Models userfaultfd_must_wait(): is the fault still unresolved?  Read
 * locklessly after the message was queued, so that a resolution that ran
 * before it (and woke nobody) is seen here: a none pte or a marker still
 * wants a page, a write-protected pte still wants UFFDIO_WRITEPROTECT.
 */
static bool userfaultfd_must_wait(struct vm_fault *vmf, unsigned long reason)
{
	pte_t pte = mm_pte_lockless(vmf->vma->vm_mm, vmf->address);

	if (pte_none(pte) || is_pte_marker(pte))
		return true;
	if ((reason & VM_UFFD_WP) && pte_present(pte) && !pte_write(pte))
		return true;
	return false;
}

/*
 * Models handle_userfault(): see mm/userfaultfd_k.h for the contract.
 * Linux returns VM_FAULT_RETRY with mmap_lock dropped and the caller
 * takes it again; mmlab's callers keep theirs, so it is taken again here
 * (machine->quiesce too: a sleeper must not hold the checker off).
 */
vm_fault_t handle_userfault(struct vm_fault *vmf, unsigned long reason)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	struct userfaultfd_ctx *ctx = vma->vm_userfaultfd_ctx;
	struct userfaultfd_wait_queue uwq;
	bool must_wait;

	/*
	 * Under a VMA lock: drop it and let the fault come again under
	 * mmap_lock, which this sleep drops and takes again (Linux 6.18 sleeps
	 * here with the VMA lock released through release_fault_lock).
	 */
	if (vmf->flags & FAULT_FLAG_VMA_LOCK) {
		vma_end_read(vma);
		return VM_FAULT_RETRY;
	}
	mmap_assert_locked(mm);
	if (!ctx)
		return VM_FAULT_SIGBUS;
	if (ctx->features & UFFD_FEATURE_SIGBUS)
		return VM_FAULT_SIGBUS;
	if (!(vmf->flags & FAULT_FLAG_ALLOW_RETRY))
		return VM_FAULT_SIGBUS;

	memset(&uwq, 0, sizeof(uwq));
	uwq.msg.event = UFFD_EVENT_PAGEFAULT;
	uwq.msg.arg.pagefault.address = vmf->address;
	if (vmf->flags & FAULT_FLAG_WRITE)
		uwq.msg.arg.pagefault.flags |= UFFD_PAGEFAULT_FLAG_WRITE;
	if (reason & VM_UFFD_WP)
		uwq.msg.arg.pagefault.flags |= UFFD_PAGEFAULT_FLAG_WP;
	if (reason & VM_UFFD_MINOR)
		uwq.msg.arg.pagefault.flags |= UFFD_PAGEFAULT_FLAG_MINOR;
	if ((ctx->features & UFFD_FEATURE_THREAD_ID) && current)
		uwq.msg.arg.pagefault.feat.ptid = (uint32_t)current->tid;
	INIT_LIST_HEAD(&uwq.node);

	spin_lock(&ctx->lock);
	/*
	 * Released: the registration is about to go (the release waits for
	 * our mmap_lock).  Linux returns NOPAGE and the CPU faults again;
	 * here the lock is dropped once so that the release gets in.
	 */
	if (READ_ONCE(ctx->released)) {
		spin_unlock(&ctx->lock);
		WRITE_ONCE(uwq.waken, true);
		must_wait = false;
	} else {
		list_add_tail(&uwq.node, &ctx->fault_pending);
		spin_unlock(&ctx->lock);
		must_wait = userfaultfd_must_wait(vmf, reason);
	}
	userfaultfd_ctx_get(ctx);
	up_read(&mm->mmap_lock);
	percpu_up_read(&m->quiesce);

	if (must_wait)
		wait_var_event(&uwq.waken, uwq_waken, &uwq);
	if (!smp_load_acquire(&uwq.waken)) {
		/* Resolved before we slept: take ourselves off the list. */
		spin_lock(&ctx->lock);
		if (!uwq.waken)
			list_del_init(&uwq.node);
		spin_unlock(&ctx->lock);
	}
	userfaultfd_ctx_put(ctx);

	percpu_down_read(&m->quiesce);
	down_read(&mm->mmap_lock);
	return VM_FAULT_RETRY;
}

/* ---- events ------------------------------------------------------------------------ */

static struct uffd_pending_event *pending_alloc(struct mml_machine *m)
{
	struct uffd_pending_event *p = mml_obj_alloc(m, OBJ_UFFD, sizeof(*p));

	if (p)
		INIT_LIST_HEAD(&p->uwq.node);
	return p;
}

/* Queue an event on ctx for its reader; the raiser waits for it in userfaultfd_events_complete. */
static void event_queue(struct userfaultfd_ctx *ctx, struct uffd_pending_event *p)
{
	spin_lock(&ctx->lock);
	if (READ_ONCE(ctx->released)) {
		WRITE_ONCE(p->uwq.waken, true);
	} else {
		atomic_inc(&ctx->mmap_changing);
		list_add_tail(&p->uwq.node, &ctx->event_pending);
	}
	p->queued = true;
	spin_unlock(&ctx->lock);
}

/*
 * Models dup_userfaultfd(): the child's copy of a registered VMA.  With
 * UFFD_FEATURE_EVENT_FORK it is registered with a new ctx of the child
 * (one per parent ctx), announced to the parent's reader after the fork;
 * without, it is not registered at all, and copy_page_range drops the
 * uffd-wp bits because the child's VMA lacks VM_UFFD_WP.  Both mmap_locks
 * held for write; current is the forking task.
 */
int dup_userfaultfd(struct vm_area_struct *vma)
{
	struct userfaultfd_ctx *octx = vma->vm_userfaultfd_ctx, *nctx;
	struct uffd_pending_event *p;

	if (!octx)
		return 0;
	if (!(octx->features & UFFD_FEATURE_EVENT_FORK) || READ_ONCE(octx->released) || !current) {
		userfaultfd_reset_vma(vma);
		return 0;
	}
	list_for_each_entry(p, &current->uffd_events, tnode)
		if (p->orig == octx) {
			vma->vm_userfaultfd_ctx = p->new;
			return 0;
		}
	p = pending_alloc(vma->vm_mm->machine);
	if (!p)
		return -ENOMEM;
	nctx = ctx_alloc(vma->vm_mm->machine, vma->vm_mm, octx->features);
	if (!nctx) {
		mml_obj_free(vma->vm_mm->machine, OBJ_UFFD, p);
		return -ENOMEM;
	}
	p->orig = octx;
	userfaultfd_ctx_get(octx);
	p->new = nctx;
	p->uwq.msg.event = UFFD_EVENT_FORK;
	p->uwq.msg.arg.fork.ufd = nctx->ufd;
	/* mmap_changing: the parent's monitor must not fill while the child is being made. */
	atomic_inc(&octx->mmap_changing);
	list_add_tail(&p->tnode, &current->uffd_events);
	vma->vm_userfaultfd_ctx = nctx;
	return 0;
}

/* Models dup_userfaultfd_complete(): announce each new child ctx; the wait is at the call's end. */
void dup_userfaultfd_complete(struct mm_struct *oldmm)
{
	struct uffd_pending_event *p;

	if (!current)
		return;
	list_for_each_entry(p, &current->uffd_events, tnode) {
		if (p->uwq.msg.event != UFFD_EVENT_FORK || p->queued)
			continue;
		atomic_dec(&p->orig->mmap_changing);	/* event_queue counts it again while queued */
		event_queue(p->orig, p);
	}
}

static void ctx_unlink_free_handle(struct userfaultfd_ctx *ctx);

/* Models dup_userfaultfd_fail(): the fork failed; the child ctxs never existed for anyone. */
void dup_userfaultfd_fail(struct mm_struct *oldmm)
{
	struct uffd_pending_event *p, *tmp;

	if (!current)
		return;
	list_for_each_entry_safe(p, tmp, &current->uffd_events, tnode) {
		if (p->uwq.msg.event != UFFD_EVENT_FORK || p->queued)
			continue;
		list_del(&p->tnode);
		atomic_dec(&p->orig->mmap_changing);
		userfaultfd_ctx_put(p->orig);
		WRITE_ONCE(p->new->released, true);
		ctx_unlink_free_handle(p->new);
		mml_obj_free(oldmm->machine, OBJ_UFFD, p);
	}
}

/* An event of range type (REMOVE, UNMAP) for ctx, unless this call already has one for it. */
static void range_event(struct userfaultfd_ctx *ctx, uint8_t event, uint64_t start, uint64_t end)
{
	struct uffd_pending_event *p;

	list_for_each_entry(p, &current->uffd_events, tnode)
		if (p->orig == ctx && p->uwq.msg.event == event && p->uwq.msg.arg.remove.end == start) {
			/* Adjacent VMAs of one call: one message, as Linux sends per VMA but ranges merge here. */
			p->uwq.msg.arg.remove.end = end;
			return;
		}
	p = pending_alloc(ctx->machine);
	if (!p)
		return;	/* Linux drops the event too when it cannot allocate */
	p->orig = ctx;
	userfaultfd_ctx_get(ctx);
	p->uwq.msg.event = event;
	p->uwq.msg.arg.remove.start = start;
	p->uwq.msg.arg.remove.end = end;
	list_add_tail(&p->tnode, &current->uffd_events);
}

/* Models userfaultfd_remove(): MADV_DONTNEED or MADV_REMOVE of a registered VMA with EVENT_REMOVE. */
void userfaultfd_remove(struct vm_area_struct *vma, uint64_t start, uint64_t end)
{
	struct userfaultfd_ctx *ctx = vma->vm_userfaultfd_ctx;

	if (!ctx || !current || !(ctx->features & UFFD_FEATURE_EVENT_REMOVE) || READ_ONCE(ctx->released))
		return;
	range_event(ctx, UFFD_EVENT_REMOVE, start, end);
}

/* Models userfaultfd_unmap_prep(): munmap of registered VMAs with EVENT_UNMAP.  mmap_lock held for write. */
void userfaultfd_unmap_prep(struct mm_struct *mm, uint64_t start, uint64_t end)
{
	struct vm_area_struct *vma;

	if (!current)
		return;
	for (vma = find_vma_intersection(mm, start, end); vma && vma->vm_start < end; vma = vma_next(vma)) {
		struct userfaultfd_ctx *ctx = vma->vm_userfaultfd_ctx;

		if (!ctx || !(ctx->features & UFFD_FEATURE_EVENT_UNMAP) || READ_ONCE(ctx->released))
			continue;
		range_event(ctx, UFFD_EVENT_UNMAP, max(start, vma->vm_start), min(end, vma->vm_end));
	}
}

/*
 * The call that raised events returns: queue the range events, then wait
 * until each was read (or its ctx released), holding nothing: Linux's
 * userfaultfd_event_wait_completion, with mmap_lock long dropped.
 * machine->quiesce is dropped while waiting, as a sleeping fault does.
 */
void userfaultfd_events_complete(struct mml_task *t)
{
	struct mml_machine *m = t->machine;
	struct uffd_pending_event *p, *tmp;

	list_for_each_entry(p, &t->uffd_events, tnode)
		if (!p->queued)
			event_queue(p->orig, p);
	percpu_up_read(&m->quiesce);
	list_for_each_entry_safe(p, tmp, &t->uffd_events, tnode) {
		wait_var_event(&p->uwq.waken, uwq_waken, &p->uwq);
		list_del(&p->tnode);
		userfaultfd_ctx_put(p->orig);
		mml_obj_free(m, OBJ_UFFD, p);
	}
	percpu_down_read(&m->quiesce);
}

/* ---- release --------------------------------------------------------------------- */

/* Wake every fault and event of a released ctx.  Models the end of userfaultfd_release(). */
static void ctx_wake_all(struct userfaultfd_ctx *ctx)
{
	struct list_head *lists[3] = { &ctx->fault_pending, &ctx->fault_read, &ctx->event_pending };
	struct userfaultfd_wait_queue *uwq, *tmp;

	spin_lock(&ctx->lock);
	for (int i = 0; i < 3; i++)
		list_for_each_entry_safe(uwq, tmp, lists[i], node)
			uwq_wake(ctx, uwq);
	spin_unlock(&ctx->lock);
}

/* Off the machine's list and the handle's reference dropped: the number names nothing now. */
static void ctx_unlink_free_handle(struct userfaultfd_ctx *ctx)
{
	struct mml_machine *m = ctx->machine;
	struct mm_struct *mm;

	spin_lock(&m->uffd_lock);
	list_del(&ctx->node);
	mm = ctx->mm;
	WRITE_ONCE(ctx->mm, NULL);
	spin_unlock(&m->uffd_lock);
	ctx_wake_all(ctx);
	if (mm)
		mmdrop(mm);
	userfaultfd_ctx_put(ctx);
}

/*
 * Models userfaultfd_release(): every VMA registered with ctx is
 * unregistered (if the mm still has users), then the waiters go.
 */
static void userfaultfd_release(struct userfaultfd_ctx *ctx)
{
	struct mm_struct *mm = READ_ONCE(ctx->mm);

	WRITE_ONCE(ctx->released, true);
	if (mm && atomic_add_unless(&mm->mm_users, 1, 0)) {
		mmap_write_lock(mm);
		userfaultfd_release_all(mm, ctx);
		mmap_write_unlock(mm);
		mmput(mm);
	}
	ctx_wake_all(ctx);
}

/*
 * The last user of mm goes: its userfaultfds are released as its
 * descriptors are closed.  Their VMAs go with exit_mmap, which follows;
 * the handles stay until freed (every call -EBADF).
 */
void userfaultfd_exit_mm(struct mm_struct *mm)
{
	struct mml_machine *m = mm->machine;

	for (;;) {
		struct userfaultfd_ctx *ctx = NULL, *c;

		spin_lock(&m->uffd_lock);
		list_for_each_entry(c, &m->uffds, node)
			if (c->mm == mm) {
				ctx = c;
				WRITE_ONCE(ctx->released, true);
				WRITE_ONCE(ctx->mm, NULL);
				break;
			}
		spin_unlock(&m->uffd_lock);
		if (!ctx)
			return;
		ctx_wake_all(ctx);
		mmdrop(mm);
	}
}

/* Power-off: the handles nobody freed are freed (every process has exited: all are released). */
void userfaultfd_machine_exit(struct mml_machine *m)
{
	for (;;) {
		struct userfaultfd_ctx *ctx = NULL;

		spin_lock(&m->uffd_lock);
		if (!list_empty(&m->uffds))
			ctx = list_first_entry(&m->uffds, struct userfaultfd_ctx, node);
		spin_unlock(&m->uffd_lock);
		if (!ctx)
			return;
		WRITE_ONCE(ctx->released, true);
		ctx_unlink_free_handle(ctx);
	}
}

/* ---- the calls ----------------------------------------------------------------------- */

/* The handle is usable: not released.  Callers hold machine->quiesce for read. */
static struct mm_struct *ctx_mm_get(struct userfaultfd_ctx *ctx)
{
	struct mm_struct *mm;

	if (READ_ONCE(ctx->released))
		return NULL;
	mm = READ_ONCE(ctx->mm);
	/* mmget_not_zero(): the process may be exiting. */
	if (!mm || !atomic_add_unless(&mm->mm_users, 1, 0))
		return NULL;
	return mm;
}

int mml_uffd_new(struct mml_task *t, uint64_t features, struct mml_uffd **out)
{
	struct mml_machine *m = t->machine;
	struct userfaultfd_ctx *ctx;
	long ret = op_enter_task(t);

	if (ret)
		return (int)ret;
	if (!out)
		return (int)op_exit_task(t, -EFAULT);
	/* UFFDIO_API: unknown feature bits are refused (Linux: EINVAL, and the ctx stays unusable). */
	if (features & ~(uint64_t)UFFD_MML_FEATURES)
		return (int)op_exit_task(t, -EINVAL);
	ctx = ctx_alloc(m, t->mm, features);
	if (!ctx)
		return (int)op_exit_task(t, -ENOMEM);
	*out = (struct mml_uffd *)ctx;
	return (int)op_exit_task(t, 0);
}

/* Models validate_range(): page-aligned, not empty, inside the user address space. */
int uffd_validate_range(struct mml_machine *m, uint64_t start, uint64_t len)
{
	if ((start & ~PAGE_MASK) || (len & ~PAGE_MASK) || !len)
		return -EINVAL;
	if (start < READ_ONCE(m->mmap_min_addr) || start >= TASK_SIZE || len > TASK_SIZE - start)
		return -EINVAL;
	return 0;
}

/* Models vma_can_userfault(): anon and shmem; MINOR on shmem only; never a VM_SPECIAL mapping. */
static bool vma_can_userfault(struct vm_area_struct *vma, vm_flags_t vm_flags)
{
	bool shmem = vma->vm_file && shmem_mapping(vma->vm_file->f_mapping);

	vm_flags &= __VM_UFFD_FLAGS;
	if (vma->vm_flags & (VM_IO | VM_PFNMAP | VM_MIXEDMAP))
		return false;
	if ((vm_flags & VM_UFFD_MINOR) && !shmem)
		return false;
	return vma_is_anonymous(vma) || shmem;
}

/* Models userfaultfd_register(). */
int mml_uffd_register(struct mml_uffd *u, uint64_t addr, uint64_t len, uint64_t mode)
{
	struct userfaultfd_ctx *ctx = (struct userfaultfd_ctx *)u;
	struct mml_machine *m;
	struct vm_area_struct *vma, *cur;
	struct mm_struct *mm;
	vm_flags_t vm_flags = 0;
	uint64_t end;
	int ret;

	if (!ctx)
		return -EBADF;
	m = ctx->machine;
	op_enter(m, NULL);
	mm = ctx_mm_get(ctx);
	if (!mm)
		return (int)op_exit(m, -EBADF);
	ret = -EINVAL;
	if (!mode || (mode & ~(uint64_t)(UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP |
					 UFFDIO_REGISTER_MODE_MINOR)))
		goto out;
	if (mode & UFFDIO_REGISTER_MODE_MISSING)
		vm_flags |= VM_UFFD_MISSING;
	if (mode & UFFDIO_REGISTER_MODE_WP)
		vm_flags |= VM_UFFD_WP;
	if (mode & UFFDIO_REGISTER_MODE_MINOR)
		vm_flags |= VM_UFFD_MINOR;
	ret = uffd_validate_range(m, addr, len);
	if (ret)
		goto out;
	end = addr + len;

	mmap_write_lock(mm);
	ret = -ENOMEM;
	vma = find_vma(mm, addr);
	if (!vma || vma->vm_start >= end)
		goto out_unlock;
	/* Every VMA in the range must be able to take it, before any changes. */
	for (cur = vma; cur && cur->vm_start < end; cur = vma_next(cur)) {
		ret = -EINVAL;
		if (!vma_can_userfault(cur, vm_flags) || !(cur->vm_flags & VM_MAYWRITE))
			goto out_unlock;
		ret = -EBUSY;
		if (cur->vm_userfaultfd_ctx && cur->vm_userfaultfd_ctx != ctx)
			goto out_unlock;
	}
	ret = 0;
	for (cur = vma; cur && cur->vm_start < end; cur = vma_next(cur)) {
		uint64_t s = max(addr, cur->vm_start), e = min(end, cur->vm_end);
		vm_flags_t nf = (cur->vm_flags & ~__VM_UFFD_FLAGS) | vm_flags;

		if (cur->vm_userfaultfd_ctx == ctx && cur->vm_flags == nf)
			continue;
		/*
		 * A VMA registered again without WP loses its bits and markers
		 * here (Linux leaves them, inert without VM_UFFD_WP; mmlab keeps
		 * invariant 16: docs/deviations.md).
		 */
		if (userfaultfd_wp(cur) && !(vm_flags & VM_UFFD_WP))
			(void)uffd_wp_range(cur, s, e - s, false);
		cur = userfaultfd_set_vma(cur, s, e, nf, ctx, &ret);
		if (!cur)
			break;
	}
out_unlock:
	mmap_write_unlock(mm);
out:
	mmput(mm);
	return (int)op_exit(m, ret);
}

/* Models userfaultfd_unregister(): the faults waiting on the range are woken. */
int mml_uffd_unregister(struct mml_uffd *u, uint64_t addr, uint64_t len)
{
	struct userfaultfd_ctx *ctx = (struct userfaultfd_ctx *)u;
	struct mml_machine *m;
	struct vm_area_struct *vma, *cur;
	struct mm_struct *mm;
	uint64_t end;
	int ret;

	if (!ctx)
		return -EBADF;
	m = ctx->machine;
	op_enter(m, NULL);
	mm = ctx_mm_get(ctx);
	if (!mm)
		return (int)op_exit(m, -EBADF);
	ret = uffd_validate_range(m, addr, len);
	if (ret)
		goto out;
	end = addr + len;
	mmap_write_lock(mm);
	ret = -ENOMEM;
	vma = find_vma(mm, addr);
	if (!vma || vma->vm_start >= end)
		goto out_unlock;
	for (cur = vma; cur && cur->vm_start < end; cur = vma_next(cur)) {
		ret = -EINVAL;
		if (!vma_can_userfault(cur, cur->vm_flags))
			goto out_unlock;
	}
	ret = 0;
	for (cur = vma; cur && cur->vm_start < end; cur = vma_next(cur)) {
		uint64_t s = max(addr, cur->vm_start), e = min(end, cur->vm_end);

		if (cur->vm_userfaultfd_ctx != ctx)
			continue;	/* Linux warns on another ctx's VMA; neither touches it */
		/* Faults waiting here must look again: there is nothing to wait for now. */
		wake_userfault(ctx, s, e - s);
		cur = userfaultfd_clear_vma(cur, s, e, &ret);
		if (!cur)
			break;
	}
out_unlock:
	mmap_write_unlock(mm);
out:
	mmput(mm);
	return (int)op_exit(m, ret);
}

/* Models userfaultfd_ctx_read() without blocking (O_NONBLOCK): faults first, then events. */
int mml_uffd_read_event(struct mml_uffd *u, struct uffd_msg *msg)
{
	struct userfaultfd_ctx *ctx = (struct userfaultfd_ctx *)u;
	struct userfaultfd_wait_queue *uwq;
	int ret = -EAGAIN;

	if (!ctx)
		return -EBADF;
	if (!msg)
		return -EFAULT;
	spin_lock(&ctx->lock);
	if (READ_ONCE(ctx->released)) {
		ret = -EBADF;
	} else if (!list_empty(&ctx->fault_pending)) {
		uwq = list_first_entry(&ctx->fault_pending, struct userfaultfd_wait_queue, node);
		/* Read, not resolved: it waits on fault_read for a wake. */
		list_move_tail(&uwq->node, &ctx->fault_read);
		*msg = uwq->msg;
		ret = 0;
	} else if (!list_empty(&ctx->event_pending)) {
		uwq = list_first_entry(&ctx->event_pending, struct userfaultfd_wait_queue, node);
		*msg = uwq->msg;
		/* An event is done once read: the call that raised it may return. */
		uwq_wake(ctx, uwq);
		ret = 0;
	}
	spin_unlock(&ctx->lock);
	return ret;
}

int mml_uffd_free(struct mml_uffd *u)
{
	struct userfaultfd_ctx *ctx = (struct userfaultfd_ctx *)u;
	struct mml_machine *m;

	if (!ctx)
		return -EBADF;
	m = ctx->machine;
	op_enter(m, NULL);
	if (!READ_ONCE(ctx->released))
		userfaultfd_release(ctx);
	ctx_unlink_free_handle(ctx);
	return (int)op_exit(m, 0);
}

struct mml_uffd *mml_uffd_get(struct mml_machine *m, uint32_t ufd)
{
	struct userfaultfd_ctx *ctx, *found = NULL;

	spin_lock(&m->uffd_lock);
	list_for_each_entry(ctx, &m->uffds, node)
		if (ctx->ufd == ufd) {
			found = ctx;
			break;
		}
	spin_unlock(&m->uffd_lock);
	return (struct mml_uffd *)found;
}

uint32_t mml_uffd_number(const struct mml_uffd *u)
{
	return ((const struct userfaultfd_ctx *)u)->ufd;
}
