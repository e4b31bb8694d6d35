/*
 * fork.c - processes and threads: address-space creation and duplication,
 * thread creation and exit (Linux's kernel/fork.c and kernel/exit.c).
 *
 * A process is an mm plus its threads; each thread is a struct mml_task, a
 * CPU with its own TLB.  mm_users counts threads, mm_count references to
 * the struct; the address space is torn down with the last thread.
 */
#include <stdlib.h>
#include <string.h>

#include "fs/vfs.h"
#include "mm/internal.h"
#include "mm/ksm.h"
#include "mm/userfaultfd_k.h"
#include "mm/mempolicy.h"
#include "mm/mmu_notifier.h"

/* The top of the mmap area: TASK_SIZE less a 128 MiB stack gap, no randomisation. */
#define MMAP_BASE	(TASK_SIZE - (128UL << 20))

/* Models mm_alloc() + mm_init(). */
struct mm_struct *mm_alloc(struct mml_machine *m)
{
	struct mm_struct *mm = mml_obj_alloc(m, OBJ_MM, sizeof(*mm));

	if (!mm)
		return NULL;
	mm->rss_stat = aligned_alloc(SMP_CACHE_BYTES, NR_COUNTER_COPIES * sizeof(*mm->rss_stat));
	if (!mm->rss_stat) {
		mml_obj_free(m, OBJ_MM, mm);
		return NULL;
	}
	memset(mm->rss_stat, 0, NR_COUNTER_COPIES * sizeof(*mm->rss_stat));
	mm->machine = m;
	init_rwsem(&mm->mmap_lock);
	spin_lock_init(&mm->page_table_lock);
	spin_lock_init(&mm->tasks_lock);
	INIT_LIST_HEAD(&mm->tasks);
	atomic_set(&mm->mm_users, 1);
	atomic_set(&mm->mm_count, 1);
	mm->mmap_base = MMAP_BASE;
	mm->rlimit_memlock = mm->rlimit_memlock_max = m->cfg.rlimit_memlock ? m->cfg.rlimit_memlock : MLOCK_LIMIT;
	if (pgd_alloc(mm)) {
		destroy_rwsem(&mm->mmap_lock);
		spin_lock_destroy(&mm->page_table_lock);
		spin_lock_destroy(&mm->tasks_lock);
		free(mm->rss_stat);
		mml_obj_free(m, OBJ_MM, mm);
		return NULL;
	}
	spin_lock(&m->tasks_lock);
	mm->tgid = m->next_pid++;
	/* Linux takes the mm id from an IDA; a process id is as unique among live mms. */
	mm->mm_id = (unsigned int)mm->tgid & MM_ID_MASK;
	list_add_tail(&mm->mm_node, &m->mms);
	spin_unlock(&m->tasks_lock);
	return mm;
}

void mmgrab(struct mm_struct *mm)
{
	atomic_inc(&mm->mm_count);
}

/* mmdrop() + __mmdrop(): the struct itself goes. */
void mmdrop(struct mm_struct *mm)
{
	struct mml_machine *m = mm->machine;

	if (!atomic_dec_and_test(&mm->mm_count))
		return;
	if (mm->pgd)
		pgd_free(mm);
	mmu_notifier_subscriptions_destroy(mm);
	destroy_rwsem(&mm->mmap_lock);
	spin_lock_destroy(&mm->page_table_lock);
	spin_lock_destroy(&mm->tasks_lock);
	free(mm->rss_stat);
	mml_obj_free(m, OBJ_MM, mm);
}

/* Models mmput(): the last user tears the address space down. */
void mmput(struct mm_struct *mm)
{
	struct mml_machine *m = mm->machine;

	if (!atomic_dec_and_test(&mm->mm_users))
		return;
	ksm_exit(mm);		/* before exit_mmap, as Linux */
	khugepaged_exit(mm);
	userfaultfd_exit_mm(mm);	/* its descriptors close: the userfaultfds go */
	exit_mmap(mm);
	mm_put_huge_zero_folio(mm);
	/* An OOM victim that exits is as good as reaped: MMF_OOM_SKIP in exit_mmap. */
	if (test_bit(MMF_OOM_REAPING, &mm->flags))
		oom_reap_done(mm);
	spin_lock(&m->tasks_lock);
	list_del(&mm->mm_node);
	spin_unlock(&m->tasks_lock);
	/*
	 * Linux frees the pgd with the struct (__mmdrop); mmlab with the
	 * address space, so that a struct a secondary MMU still holds (its
	 * mm_count) owns no page table the checker cannot reach.  Nothing
	 * walks the tables of an mm without users but a lockless check,
	 * which finds the pgd gone (RCU keeps the frame until it is done).
	 */
	pgd_free_rcu(mm);
	mmdrop(mm);
}

/* A new CPU running mm; the caller holds a user reference for it. */
struct mml_task *task_alloc(struct mm_struct *mm)
{
	struct mml_machine *m = mm->machine;
	struct mml_task *t = mml_obj_alloc(m, OBJ_TASK, sizeof(*t));

	if (!t)
		return NULL;
	t->machine = m;
	t->mm = mm;
	INIT_LIST_HEAD(&t->uffd_events);
	tlb_init(&t->tlb);
	spin_lock(&m->tasks_lock);
	spin_lock(&mm->tasks_lock);
	/* The first thread's id is the process id. */
	t->tid = list_empty(&mm->tasks) ? mm->tgid : m->next_pid++;
	list_add_tail(&t->mm_node, &mm->tasks);
	mm->nr_tasks++;
	m->nr_tasks++;
	spin_unlock(&mm->tasks_lock);
	spin_unlock(&m->tasks_lock);
	return t;
}

void task_free(struct mml_task *t)
{
	struct mml_machine *m = t->machine;
	struct mm_struct *mm = t->mm;

	/* Off the shootdown list first: its TLB dies with it. */
	spin_lock(&mm->tasks_lock);
	list_del(&t->mm_node);
	mm->nr_tasks--;
	spin_unlock(&mm->tasks_lock);
	spin_lock(&m->tasks_lock);
	m->nr_tasks--;
	spin_unlock(&m->tasks_lock);
	tlb_destroy(&t->tlb);
	tlb_batches_free(t);
	mpol_task_exit(t);
	if (t->files)
		put_files_struct(t->files);	/* exit_files() */
	mml_obj_free(m, OBJ_TASK, t);
}

/*
 * Models dup_mmap(): copy every VMA (but VM_DONTCOPY ones) into the child,
 * sharing anonymous pages copy-on-write; VM_WIPEONFORK VMAs start empty.
 */
static int dup_mmap(struct mm_struct *mm, struct mm_struct *oldmm)
{
	struct vm_area_struct *mpnt, *tmp;
	int err = 0;

	mmap_write_lock(oldmm);
	mmap_write_lock(mm);
	/* copy_signal(): the limits are inherited; mlockall's def_flags are not (mm_init). */
	mm->rlimit_memlock = oldmm->rlimit_memlock;
	mm->rlimit_memlock_max = oldmm->rlimit_memlock_max;
	khugepaged_fork(mm, oldmm);
	err = ksm_fork(mm, oldmm);
	if (!err)
		err = vma_tree_reserve(mm, oldmm->map_count);
	for_each_vma(oldmm, mpnt) {
		if (err)
			break;
		/*
		 * No fault of the parent under a VMA lock while its ptes are
		 * write-protected and shared: until flush_tlb_mm below, its
		 * other CPUs may still write through their TLBs.
		 */
		if (!bug_enabled(mm->machine, BUG_FORK_NO_VMA_LOCK))
			vma_start_write(mpnt);
		if (mpnt->vm_flags & VM_DONTCOPY)
			continue;
		/* The child's copy of an accounted mapping is charged too; the child's exit gives it back. */
		if ((mpnt->vm_flags & VM_ACCOUNT) &&
		    __vm_enough_memory(mm->machine, oldmm, (long)((mpnt->vm_end - mpnt->vm_start) >> PAGE_SHIFT))) {
			err = -ENOMEM;
			break;
		}
		tmp = vm_area_dup(mpnt);
		if (!tmp) {
			vma_unaccount(mpnt);
			err = -ENOMEM;
			break;
		}
		tmp->vm_mm = mm;
		tmp->anon_vma = NULL;
		/* Before the page tables are copied: they keep uffd-wp only if the child's VMA does. */
		err = dup_userfaultfd(tmp);
		if (err) {
			vma_unaccount(tmp);
			vm_area_free(tmp);
			break;
		}
		if (bug_enabled(mm->machine, BUG_FORK_COWS_SHARED) && (tmp->vm_flags & VM_SHARED)) {
			/* The child's view of the shared mapping becomes its own copy-on-write one. */
			tmp->vm_flags &= ~(VM_SHARED | VM_MAYSHARE);
			vma_set_page_prot(tmp);
		}
		/* mlock is not inherited. */
		if (!bug_enabled(mm->machine, BUG_FORK_KEEPS_MLOCK))
			tmp->vm_flags &= ~VM_LOCKED_MASK;
		if (!(tmp->vm_flags & VM_WIPEONFORK)) {
			err = anon_vma_fork(tmp, mpnt);
			if (err) {
				vma_unaccount(tmp);
				vm_area_free(tmp);
				break;
			}
		}
		vma_tree_insert(mm, tmp);
		vma_link_file(tmp);	/* the child shares the file's pages: it is in i_mmap too */
		if (!(tmp->vm_flags & VM_WIPEONFORK))
			err = copy_page_range(tmp, mpnt);
	}
	/* Every CPU of the parent must now fault on its write-protected pages. */
	flush_tlb_mm(oldmm);
	mmap_write_unlock(mm);
	mmap_write_unlock(oldmm);
	return err;
}

int mml_spawn(struct mml_machine *m, struct mml_task **out)
{
	struct mm_struct *mm;
	struct mml_task *t;
	int err = 0;

	op_enter(m, NULL);
	mm = mm_alloc(m);
	if (!mm) {
		err = -ENOMEM;
		goto out;
	}
	t = task_alloc(mm);
	if (t)
		t->files = files_alloc(m);
	if (!t || !t->files) {
		if (t)
			task_free(t);
		mmput(mm);
		err = -ENOMEM;
		goto out;
	}
	*out = t;
out:
	return op_exit(m, err);
}

int mml_thread_new(struct mml_task *parent, struct mml_task **out)
{
	struct mml_machine *m = parent->machine;
	struct mml_task *t;
	int err = (int)op_enter_task(parent);

	if (err)
		return err;
	atomic_inc(&parent->mm->mm_users);
	t = task_alloc(parent->mm);
	if (t) {
		/* CLONE_FILES: threads share the descriptors. */
		atomic_inc(&parent->files->count);
		t->files = parent->files;
		mpol_inherit(t, parent);
	}
	if (!t) {
		mmput(parent->mm);
		err = -ENOMEM;
	} else if (fatal_signal_pending(parent)) {
		/* copy_process(): killed meanwhile, no new thread. */
		task_free(t);
		mmput(parent->mm);
		err = -EINTR;
	} else {
		*out = t;
	}
	return op_exit(m, err);
}

int mml_fork(struct mml_task *parent, struct mml_task **child)
{
	struct mml_machine *m = parent->machine;
	struct mm_struct *mm;
	struct mml_task *t;
	int err = (int)op_enter_task(parent);

	if (err)
		return err;
	mm = mm_alloc(m);
	if (!mm) {
		err = -ENOMEM;
		goto out;
	}
	err = dup_mmap(mm, parent->mm);
	if (err) {
		dup_userfaultfd_fail(parent->mm);
		mmput(mm);	/* unmaps whatever was copied */
		goto out;
	}
	t = task_alloc(mm);
	if (t) {
		t->files = dup_fd(parent->files);	/* copy_files(): the same open files */
		mpol_inherit(t, parent);		/* copy_process(): mpol_dup */
	}
	if (!t || !t->files) {
		if (t)
			task_free(t);
		dup_userfaultfd_fail(parent->mm);
		mmput(mm);
		err = -ENOMEM;
		goto out;
	}
	/* copy_process(): a parent killed meanwhile gets no child. */
	if (fatal_signal_pending(parent)) {
		task_free(t);
		dup_userfaultfd_fail(parent->mm);
		mmput(mm);
		err = -EINTR;
		goto out;
	}
	*child = t;
	/* The parent's monitors hear of the child's userfaultfds; fork returns once they read it. */
	dup_userfaultfd_complete(parent->mm);
	if (!list_empty(&parent->uffd_events))
		userfaultfd_events_complete(parent);
out:
	/* A child handed out stands: the kill is checked above, before it is. */
	return err ? (int)op_exit_task(parent, err) : (int)op_exit(m, 0);
}

/* Models do_exit() for the memory side: the thread goes, then maybe the mm. */
int mml_exit(struct mml_task *t)
{
	struct mml_machine *m = t->machine;
	struct mm_struct *mm = t->mm;

	op_enter(m, t);
	oom_reap_if_pending(mm);	/* allocators may be waiting for it */
	task_free(t);
	current = NULL;
	mmput(mm);
	return op_exit(m, 0);
}

int mml_task_pid(const struct mml_task *t)
{
	return t->mm->tgid;
}

int mml_task_tid(const struct mml_task *t)
{
	return t->tid;
}

struct mml_machine *mml_task_machine(const struct mml_task *t)
{
	return t->machine;
}
