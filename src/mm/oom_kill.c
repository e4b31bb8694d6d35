/*
 * oom_kill.c - the OOM killer (Linux's mm/oom_kill.c): when reclaim cannot
 * free enough memory for an allocation that may not fail, choose the
 * process with the largest footprint, kill it, and reap its memory.
 *
 * A killed process's threads have a fatal signal pending: every operation
 * they start returns -EINTR and does nothing, the one that was running
 * when the kill came returns -EINTR too, and only mml_exit() is left to
 * them.  Its private memory is unmapped at once if its mmap_lock is free
 * (the oom_reaper's trylock), or else by its own thread as that operation
 * ends; allocators wait for that instead of choosing a second victim.
 */
#include <stdarg.h>
#include <stdio.h>

#include "mm/internal.h"
#include "mm/mmu_notifier.h"

/* How long an allocator waits for a victim it cannot reap itself. */
#define OOM_REAP_RETRIES	10
#define OOM_REAP_WAIT_MS	100
/*
 * ... when it could lock the victim but a secondary MMU refused to let go
 * without sleeping.  Linux waits the same HZ/10 either way, for a victim
 * that is exiting meanwhile; an mmlab process exits only when its owner
 * calls mml_exit(), so only a device that was busy for a moment can change
 * the outcome: look again soon, then unmap as the victim's own exit would
 * (oom_wait_for_reap; docs/deviations.md).
 */
#define OOM_REAP_REFUSED_WAIT_MS 1

enum oom_reap { OOM_REAPED, OOM_REAP_LOCKED, OOM_REAP_REFUSED };

/* Models oom_badness(): pages this process would give back by dying. */
static long oom_badness(struct mm_struct *mm)
{
	return get_mm_counter(mm, MM_ANONPAGES) + get_mm_counter(mm, MM_FILEPAGES) +
	       get_mm_counter(mm, MM_SWAPENTS) + atomic_long_read(&mm->pgtables_bytes) / (long)PAGE_SIZE;
}

enum oom_choice { OOM_NONE, OOM_CHOSEN, OOM_IN_FLIGHT };

/*
 * Models select_bad_process(): the live process with the largest badness,
 * the newest on a tie (the last one oom_evaluate_task looks at).  A victim
 * still being reaped stops the search (oom_evaluate_task's abort): its
 * memory is about to come back.  The victim is returned with a reference
 * on its struct.
 */
static enum oom_choice select_bad_process(struct mml_machine *m, struct mm_struct **victim)
{
	enum oom_choice ret = OOM_NONE;
	struct mm_struct *mm, *chosen = NULL;
	long chosen_points = -1;

	spin_lock(&m->tasks_lock);
	list_for_each_entry(mm, &m->mms, mm_node) {
		unsigned long nr_tasks;
		long points;

		/* Exiting or not: a victim not yet reaped is waited for. */
		if (test_bit(MMF_OOM_VICTIM, &mm->flags)) {
			if (!test_bit(MMF_OOM_REAPING, &mm->flags))
				continue;	/* reaped: MMF_OOM_SKIP */
			chosen = mm;
			ret = OOM_IN_FLIGHT;
			break;
		}
		spin_lock(&mm->tasks_lock);
		nr_tasks = mm->nr_tasks;
		spin_unlock(&mm->tasks_lock);
		if (!nr_tasks)
			continue;	/* being built by fork, or already gone */
		points = oom_badness(mm);
		if (points >= chosen_points) {
			chosen = mm;
			chosen_points = points;
			ret = OOM_CHOSEN;
		}
	}
	if (chosen) {
		mmgrab(chosen);
		if (ret == OOM_CHOSEN) {
			set_bit(MMF_OOM_REAPING, &chosen->flags);
			set_bit(MMF_OOM_VICTIM, &chosen->flags);
		}
	}
	spin_unlock(&m->tasks_lock);
	*victim = chosen;
	return ret;
}

/*
 * __oom_reap_task_mm(): unmap every private page; mmap_lock held.  The
 * OOM killer's reap may not sleep on a secondary MMU (nonblock): a VMA
 * whose notifier refuses is left for another try, or for the victim's
 * own exit.  False if one was left.
 */
static bool oom_reap_task_mm(struct mm_struct *mm, bool nonblock)
{
	struct vm_area_struct *vma;
	bool ret = true;

	for_each_vma(mm, vma) {
		struct mmu_notifier_range range;
		struct mmu_gather tlb;

		if (vma->vm_flags & (VM_HUGETLB | VM_PFNMAP))
			continue;
		/* Shared file pages may still be someone else's: only private ones go. */
		if (!vma_is_anonymous(vma) && (vma->vm_flags & VM_SHARED))
			continue;
		bool started = true;

		mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, mm, vma->vm_start, vma->vm_end);
		tlb_gather_mmu(&tlb, mm);
		if (!nonblock) {
			mmu_notifier_invalidate_range_start(&range);
		} else if (mmu_notifier_invalidate_range_start_nonblock(&range)) {
			/* A refused start is undone already: no end is owed. */
			started = false;
			if (!bug_enabled(mm->machine, BUG_OOM_REAPER_IGNORES_EAGAIN)) {
				tlb_finish_mmu(&tlb);
				ret = false;
				continue;
			}
		}
		unmap_single_vma(&tlb, vma, vma->vm_start, vma->vm_end, NULL);
		if (started)
			mmu_notifier_invalidate_range_end(&range);
		tlb_finish_mmu(&tlb);
	}
	return ret;
}

/* The reap is done (or given up): MMF_OOM_SKIP, and waiting allocators retry. */
void oom_reap_done(struct mm_struct *mm)
{
	clear_bit_wake(MMF_OOM_REAPING, &mm->flags);
}

/*
 * Reaps of one victim may run at once: the OOM killer's and those of the
 * victim's own threads on their way out (as Linux's oom_reaper beside the
 * victim's exit_mmap).  One that finds the ptes cleared already has not
 * seen the memory come back: the pages may still sit in the other's
 * mmu_gather, up to MAX_GATHER_BATCH_COUNT batches of them.  So the reap
 * is done when the last reap in flight has flushed its gather, not when
 * the first one ends: Linux sets MMF_OOM_SKIP in that window, and an
 * allocation then may kill a second process (deviation 77).  mmap_lock
 * held for read.
 */
static bool oom_reap_counted(struct mm_struct *mm, bool nonblock)
{
	bool reaped;

	atomic_inc(&mm->oom_reapers);
	reaped = oom_reap_task_mm(mm, nonblock);
	if (atomic_dec_and_test(&mm->oom_reapers) && reaped)
		oom_reap_done(mm);
	return reaped;
}

/* Models oom_reap_task(): unmap the victim's memory if its mmap_lock is free. */
static enum oom_reap oom_reap_task(struct mm_struct *mm)
{
	bool reaped;

	if (!down_read_trylock(&mm->mmap_lock))
		return OOM_REAP_LOCKED;
	reaped = oom_reap_counted(mm, true);
	up_read(&mm->mmap_lock);
	return reaped ? OOM_REAPED : OOM_REAP_REFUSED;
}

/*
 * Wait for the victim's memory to come back: try its lock now and then
 * (the oom_reaper's MAX_OOM_REAP_RETRIES), and give up after a while so
 * that the next allocation can choose someone else (MMF_OOM_SKIP): its
 * lock holder may be stuck behind the caller.  With one host thread the
 * trylock never fails here (only the caller's own mm could be held, and
 * the caller does not wait for itself) and a device refuses on every try
 * or on none, so no run depends on the clock.
 *
 * A victim whose secondary MMU kept refusing is unmapped once more, now
 * blocking: in Linux the victim's own exit_mmap does that meanwhile (its
 * notifiers may sleep) and the allocator gets the memory; an mmlab
 * process exits only when its owner says so.
 */
static void oom_wait_for_reap(struct mm_struct *mm)
{
	enum oom_reap how = OOM_REAP_LOCKED;

	for (int tries = 0; tries < OOM_REAP_RETRIES; tries++) {
		if (!test_bit(MMF_OOM_REAPING, &mm->flags))
			return;
		how = oom_reap_task(mm);
		/* Reaped, but maybe not done: another reap may still hold the pages. */
		if (!test_bit(MMF_OOM_REAPING, &mm->flags))
			return;
		bit_wait_timeout(MMF_OOM_REAPING, &mm->flags,
				 how == OOM_REAP_REFUSED ? OOM_REAP_REFUSED_WAIT_MS : OOM_REAP_WAIT_MS);
	}
	if (!test_bit(MMF_OOM_REAPING, &mm->flags))
		return;
	if (how == OOM_REAP_REFUSED && down_read_trylock(&mm->mmap_lock)) {
		oom_reap_task_mm(mm, false);
		up_read(&mm->mmap_lock);
	}
	oom_reap_done(mm);
}

/*
 * A thread of a killed process reaps what the OOM killer could not lock,
 * as it leaves its operation (no mmap_lock held).  Models the exit path of
 * an OOM victim, which the reaper would otherwise wait for.
 */
void oom_reap_if_pending(struct mm_struct *mm)
{
	if (!test_bit(MMF_OOM_REAPING, &mm->flags))
		return;
	down_read(&mm->mmap_lock);
	oom_reap_counted(mm, false);
	up_read(&mm->mmap_lock);
}

/* Models dump_header() + __oom_kill_process()'s message. */
static void oom_kill_report(struct mml_machine *m, struct mm_struct *mm)
{
	if (m->quiet)
		return;
	fprintf(stderr, "mmlab: Out of memory: Killed process %d anon-rss:%ldkB, file-rss:%ldkB, "
		"swapents:%ld, pgtables:%ldkB\n", mm->tgid,
		get_mm_counter(mm, MM_ANONPAGES) * (long)(PAGE_SIZE / 1024),
		get_mm_counter(mm, MM_FILEPAGES) * (long)(PAGE_SIZE / 1024),
		get_mm_counter(mm, MM_SWAPENTS), atomic_long_read(&mm->pgtables_bytes) / 1024);
}

/*
 * Models out_of_memory(): kill a process, or wait for the one already
 * killed; true if the allocation is worth retrying.  nodemask: the nodes
 * a policy binds the allocation to (NULL: any); every process is
 * eligible, as no cpuset narrows them.  When the victim is
 * the caller's own process the caller must fail instead (its fatal
 * signal), and its thread reaps on the way out.
 */
bool out_of_memory(struct mml_machine *m, const nodemask_t *nodemask)
{
	struct mm_struct *victim;
	enum oom_choice choice;
	long free = 0, high = 0;

	/*
	 * Another kill may have freed memory since our reclaim gave up: look
	 * again, on the nodes the allocation may use (a policy's constraint,
	 * CONSTRAINT_MEMORY_POLICY: memory elsewhere does not help it).
	 */
	for (int nid = 0; nid < m->nr_nodes; nid++) {
		struct zone *z = &NODE_DATA(m, nid)->node_zones[0];

		if (nodemask && !node_isset(nid, nodemask))
			continue;
		free += (long)zone_free_pages(z);
		high += (long)z->_watermark[WMARK_HIGH];
	}
	if (free > high)
		return true;
	choice = select_bad_process(m, &victim);
	if (choice == OOM_NONE) {
		if (!m->quiet)
			fprintf(stderr, "mmlab: Out of memory and no killable processes\n");
		return false;
	}
	if (choice == OOM_CHOSEN) {
		count_vm_event(m, OOM_KILL);
		oom_kill_report(m, victim);
		oom_reap_task(victim);
	}
	if (!current || current->mm != victim)
		oom_wait_for_reap(victim);
	mmdrop(victim);
	return true;
}

int mml_task_killed(const struct mml_task *t)
{
	return fatal_signal_pending(t) ? 9 : 0;	/* SIGKILL */
}
