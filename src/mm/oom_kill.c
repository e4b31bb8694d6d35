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

/* Models oom_badness(): pages this process would give back by dying. */
static long oom_badness(struct mm_struct *mm)
{
	return get_mm_counter(mm, MM_ANONPAGES) + get_mm_counter(mm, MM_FILEPAGES) +
	       get_mm_counter(mm, MM_SWAPENTS) + atomic_long_read(&mm->pgtables_bytes) / (long)PAGE_SIZE;
}

enum oom_choice { OOM_NONE, OOM_CHOSEN, OOM_IN_FLIGHT };

/*
 * Models select_bad_process(): the live process with the largest badness,
 * the first on a tie.  A victim still being reaped stops the search
 * (oom_evaluate_task's abort): its memory is about to come back.  The
 * victim is returned with a reference on its struct.
 */
static enum oom_choice select_bad_process(struct mml_machine *m, struct mm_struct **victim)
{
	enum oom_choice ret = OOM_NONE;
	struct mm_struct *mm, *chosen = NULL;
	long chosen_points = 0;

	spin_lock(&m->tasks_lock);
	list_for_each_entry(mm, &m->mms, mm_node) {
		long points;

		if (!READ_ONCE(mm->nr_tasks))
			continue;	/* being built by fork, or already gone */
		if (test_bit(MMF_OOM_VICTIM, &mm->flags)) {
			if (!test_bit(MMF_OOM_REAPING, &mm->flags))
				continue;	/* reaped: MMF_OOM_SKIP */
			chosen = mm;
			ret = OOM_IN_FLIGHT;
			break;
		}
		points = oom_badness(mm);
		if (points > chosen_points) {
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

/* Models __oom_reap_task_mm(): unmap every private page.  mmap_lock held. */
static void oom_reap_task_mm(struct mm_struct *mm)
{
	struct vm_area_struct *vma;
	struct mmu_gather tlb;

	tlb_gather_mmu(&tlb, mm);
	for_each_vma(mm, vma) {
		if (vma->vm_flags & (VM_HUGETLB | VM_PFNMAP))
			continue;
		/* Shared file pages may still be someone else's: only private ones go. */
		if (vma_is_anonymous(vma) || !(vma->vm_flags & VM_SHARED))
			unmap_single_vma(&tlb, vma, vma->vm_start, vma->vm_end);
	}
	tlb_finish_mmu(&tlb);
}

/* The reap is done: MMF_OOM_SKIP, and waiting allocators retry. */
static void oom_reap_done(struct mm_struct *mm)
{
	bit_unlock(MMF_OOM_REAPING, &mm->flags);
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
	oom_reap_task_mm(mm);
	up_read(&mm->mmap_lock);
	oom_reap_done(mm);
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
 * killed; true if the allocation is worth retrying.  When the victim is
 * the caller's own process the caller must fail instead (its fatal
 * signal), and its thread reaps on the way out.
 */
bool out_of_memory(struct mml_machine *m)
{
	struct mm_struct *victim;
	enum oom_choice choice = select_bad_process(m, &victim);

	if (choice == OOM_NONE) {
		if (!m->quiet)
			fprintf(stderr, "mmlab: Out of memory and no killable processes\n");
		return false;
	}
	if (choice == OOM_CHOSEN) {
		count_vm_event(m, OOM_KILL);
		oom_kill_report(m, victim);
		/* oom_reap_task(): the reaper only tries the lock; the owner reaps otherwise. */
		if (down_read_trylock(&victim->mmap_lock)) {
			oom_reap_task_mm(victim);
			up_read(&victim->mmap_lock);
			oom_reap_done(victim);
		}
	}
	if (!current || current->mm != victim)
		bit_wait(MMF_OOM_REAPING, &victim->flags);
	mmdrop(victim);
	return true;
}

int mml_task_killed(const struct mml_task *t)
{
	return fatal_signal_pending(t) ? 9 : 0;	/* SIGKILL */
}
