/*
 * syscalls.c - the public memory syscalls: argument checks done at the
 * syscall boundary, the locks each takes, and the per-operation entry and
 * exit (Linux's SYSCALL_DEFINE stubs in mm/mmap.c, mprotect.c, madvise.c).
 */
#include <sys/mman.h>

#include "fs/vfs.h"
#include "mm/internal.h"
#include "mm/userfaultfd_k.h"

__thread struct mml_task *current __tls_fast;

/* Every operation is a reader of machine->quiesce; the checker its writer. */
void op_enter(struct mml_machine *m, struct mml_task *t)
{
	percpu_down_read(&m->quiesce);
	current = t;
}

long op_exit_task(struct mml_task *t, long ret)
{
	/* userfaultfd events this call raised: wait until they are read, holding no lock. */
	if (!list_empty(&t->uffd_events))
		userfaultfd_events_complete(t);
	return op_exit(t->machine, fatal_signal_pending(t) ? -EINTR : ret);
}

/*
 * The preamble of every call a task makes: enter as an operation, and do
 * nothing but return -EINTR if the task was killed (a fatal signal is
 * pending), as a syscall entered with SIGKILL pending does not run.  0: go
 * on, and leave through op_exit_task().
 */
long op_enter_task(struct mml_task *t)
{
	op_enter(t->machine, t);
	if (fatal_signal_pending(t))
		return op_exit(t->machine, -EINTR);
	return 0;
}

long op_exit(struct mml_machine *m, long ret)
{
	/* A killed thread reaps what the OOM killer could not lock. */
	if (current && fatal_signal_pending(current))
		oom_reap_if_pending(current->mm);
	current = NULL;
	percpu_up_read(&m->quiesce);
	/* Frees waiting for a grace period are paid for in batches of m->rcu_flush_at. */
	if (rcu_batch_pending(&m->rcu) >= m->rcu_flush_at)
		rcu_batch_flush(&m->rcu);
	if (m->check_every_op)
		mml_check(m);	/* a failure is counted and reported; ret stands */
	return ret;
}

long mml_mmap(struct mml_task *t, uint64_t addr, uint64_t len, int prot, int flags, int fd, int64_t off)
{
	struct mm_struct *mm = t->mm;
	struct file *file = NULL;
	uint64_t populate = 0;
	long ret = op_enter_task(t);

	if (ret)
		return ret;
	/* x86's sys_mmap checks the offset, then ksys_mmap_pgoff() the descriptor. */
	if (off & ~(int64_t)PAGE_MASK)
		return op_exit_task(t, -EINVAL);
	if (!(flags & MAP_ANONYMOUS)) {
		file = fget(t, fd);
		if (!file)
			return op_exit_task(t, -EBADF);
	}
	mmap_write_lock(mm);
	ret = do_mmap(mm, file, addr, len, prot, flags, off, &populate);
	mmap_write_unlock(mm);
	if (file)
		fput(file);
	/* Populate after dropping the write lock, as vm_mmap_pgoff() does. */
	if (ret >= 0 && populate)
		mm_populate(mm, (uint64_t)ret, populate);
	return op_exit_task(t, ret);
}

int mml_munmap(struct mml_task *t, uint64_t addr, uint64_t len)
{
	struct mm_struct *mm = t->mm;
	long ret = op_enter_task(t);

	if (ret)
		return (int)ret;
	mmap_write_lock(mm);
	/* userfaultfd_unmap_prep(): the whole range, before any of it goes (errors then send nothing). */
	if (PAGE_ALIGNED(addr) && addr < TASK_SIZE && len && len <= TASK_SIZE - addr)
		userfaultfd_unmap_prep(mm, addr, addr + PAGE_ALIGN(len));
	ret = do_munmap(mm, addr, len);
	mmap_write_unlock(mm);
	return (int)op_exit_task(t, ret);
}

int mml_mprotect(struct mml_task *t, uint64_t addr, uint64_t len, int prot)
{
	long ret = op_enter_task(t);

	if (ret)
		return (int)ret;
	return (int)op_exit_task(t, do_mprotect_pkey(t->mm, addr, len, prot));
}

int mml_madvise(struct mml_task *t, uint64_t addr, uint64_t len, int advice)
{
	long ret = op_enter_task(t);

	if (ret)
		return (int)ret;
	return (int)op_exit_task(t, do_madvise(t->mm, addr, len, advice));
}

/*
 * A load or store that hits in the TLB is no operation: no machine->quiesce,
 * no bookkeeping, as a CPU's hit costs the kernel nothing (cpu_access_hit).
 */
int mml_read(struct mml_task *t, uint64_t addr, void *buf, uint64_t len)
{
	long ret;

	if (cpu_access_hit(t, addr, buf, len, false))
		return 0;
	ret = op_enter_task(t);
	if (ret)
		return (int)ret;
	return (int)op_exit_task(t, cpu_access(t, addr, buf, len, false));
}

int mml_write(struct mml_task *t, uint64_t addr, const void *buf, uint64_t len)
{
	long ret;

	if (cpu_access_hit(t, addr, (void *)buf, len, true))
		return 0;
	ret = op_enter_task(t);
	if (ret)
		return (int)ret;
	/* The CPU only reads from buf on a store. */
	return (int)op_exit_task(t, cpu_access(t, addr, (void *)buf, len, true));
}

int mml_set_tag(struct mml_task *t, uint64_t addr, unsigned tag)
{
	long ret;

	if (tag > MTE_TAG_MAX)
		return -EINVAL;
	ret = op_enter_task(t);
	if (ret)
		return (int)ret;
	return (int)op_exit_task(t, cpu_access_tag(t, addr, &tag, true));
}

int mml_get_tag(struct mml_task *t, uint64_t addr, unsigned *tag)
{
	long ret = op_enter_task(t);

	if (ret)
		return (int)ret;
	return (int)op_exit_task(t, cpu_access_tag(t, addr, tag, false));
}
