/*
 * mmlab.h - the public API of mmlab, the Linux memory-management core as a
 * userspace library.
 *
 * Contract for every call below, unless its comment says otherwise:
 *  - Pointers passed in are non-NULL and came from this library.
 *  - Calls shaped like a syscall take the host's <sys/mman.h> constants and
 *    return the result, or -errno exactly where Linux's syscall fails, with
 *    Linux's errno.  Nothing is changed by a call that fails, unless Linux
 *    also leaves a partial result (documented per call).
 *  - Addresses are simulated user virtual addresses (47 bits, as x86-64).
 *  - A struct mml_task is one thread of a simulated process and one CPU with
 *    its own TLB.  A task may be used by one host thread at a time; different
 *    tasks may be driven concurrently from different host threads.
 */
#ifndef MMLAB_H
#define MMLAB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MMLAB_VERSION "0.1.0"

struct mml_machine;	/* the simulated machine */
struct mml_task;	/* one thread of a simulated process; a CPU with its own TLB */

/* mml_config.flags */
#define MML_CHECK_EVERY_OP	0x01u	/* run the invariant checker after every operation */
#define MML_QUIET		0x02u	/* do not print reports on stderr (checks still fail) */
#define MML_RAM_MIN		(256ULL << 10)	/* mml_config.ram_bytes: the least ... */
#define MML_RAM_MAX		(64ULL << 30)	/* ... and the most a machine may have, else EINVAL */
#define MML_CHECK_FREES		0x04u	/* at every frame free, check no TLB still maps it (implied by MML_CHECK_EVERY_OP) */
/*
 * Run kswapd: a host thread, woken when free memory drops below the low
 * watermark, that reclaims until it is back above the high one.  Off by
 * default: a background thread makes a run depend on timing, and the
 * scenario interpreter and the fuzzer replay runs exactly.
 */
#define MML_KSWAPD		0x08u
/* Run khugepaged as a host thread (collapses in the background), off by default like MML_KSWAPD. */
#define MML_KHUGEPAGED		0x10u
/*
 * Threads of this machine run one at a time inside mml_sched_run(),
 * switched at the sync layer's scheduling points by a strategy seeded
 * from mml_config.seed: same seed, same interleaving.  With MML_KSWAPD,
 * MML_KHUGEPAGED or MML_KSMD those threads run only inside the runs, as
 * more threads of each, and a run ends once its functions have returned
 * and the machine's threads wait for work (the next run resumes them).
 */
#define MML_DETERMINISTIC	0x20u
/* Run ksmd as a host thread (merges while /sys/kernel/mm/ksm/run is 1), off by default like MML_KSWAPD. */
#define MML_KSMD		0x40u
/*
 * Fill every freed frame with 0xaa (Linux's PAGE_POISON, as under
 * page_poison=1), so that a read through a translation a bug left behind
 * shows garbage, not the old data.  A debug option: implied by
 * MML_CHECK_EVERY_OP and MML_CHECK_FREES, and the environment variable
 * MMLAB_POISON=1 or 0 turns it on or off for every machine made after.
 * Stale TLB entries are reported without it (allocation generations).
 */
#define MML_POISON		0x80u

struct mml_config {
	uint64_t ram_bytes;	/* simulated RAM, MML_RAM_MIN..MML_RAM_MAX; 0 = default (64 MiB) */
	unsigned ncpus;		/* 0 = default (4); advisory: every task is a CPU */
	uint64_t seed;		/* for any randomness; same seed, same run */
	unsigned flags;		/* MML_CHECK_EVERY_OP, MML_QUIET */
	const char *disk_dir;	/* host directory behind /disk/ (/disk/NAME is disk_dir/NAME); NULL = a
				   fresh temporary one, removed by mml_machine_free */
	uint64_t tmpfs_bytes;	/* size limit of each tmpfs mount (/dev/shm, /tmp); 0 = half of RAM, as Linux */
	unsigned nr_nodes;	/* NUMA nodes, RAM split evenly (whole 2 MiB blocks); 0 = 1; at most 16,
				   each of 1 MiB or more (else EINVAL) */
	uint64_t rlimit_memlock;	/* RLIMIT_MEMLOCK a spawned process starts with (soft and hard), bytes;
					   0 = MML_RLIMIT_MEMLOCK, Linux's default; RLIM_INFINITY: none */
	const char *tmpfs_huge;	/* huge= of the tmpfs mounts (/dev/shm, /tmp), as the mount option:
				   "never" (NULL: the default), "always", "within_size", "advise"; else EINVAL */
	uint64_t pmem_bytes;	/* a persistent-memory device of this size with a DAX file system at /pmem/;
				   0 = none; a multiple of 2 MiB, at most MML_PMEM_MAX, else EINVAL */
	const char *pmem_path;	/* host file holding the device's bytes (made or resized to pmem_bytes, kept);
				   NULL = a fresh temporary one, removed by mml_machine_free */
};
#define MML_PMEM_MAX	(1ULL << 32)

/* The machine. */
struct mml_machine *mml_machine_new(const struct mml_config *cfg);	/* cfg may be NULL; NULL on failure */
int  mml_machine_free(struct mml_machine *m);	/* exits live tasks; 0, or -EBUSY after reporting leaks or broken invariants */
int  mml_check(struct mml_machine *m);		/* invariant checker now: 0, or -EUCLEAN with a report on stderr */
/*
 * Bugs the machine has seen so far: broken invariants (with
 * MML_CHECK_EVERY_OP, checked after every operation), stale translations.
 * Operations keep returning what Linux would; a caller that wants to know
 * which operation broke something compares this count before and after.
 */
long mml_report_count(struct mml_machine *m);

/*
 * Deterministic runs (MML_DETERMINISTIC).  mml_sched_run runs fns[i] on
 * tasks[i] (of one process or several; a function may use other tasks,
 * such as the child its fork made) on host threads of their own, one at a
 * time, until all have returned; a function reports its outcome through
 * its argument.  0; -EDEADLK when every thread that has not returned
 * waits (a deadlock) or the run does not end within its step limit: the
 * report (mml_sched_report, and stderr unless MML_QUIET) names each
 * thread's wait and the last steps, and those threads stay parked for
 * good, so the machine must then be left, not freed (other machines' runs
 * go on).  -EINVAL without
 * MML_DETERMINISTIC or with more than 64 functions; -EBUSY while another
 * deterministic run is active in this process.  Every other call works
 * outside a run as on any machine (set-up and checks).
 */
typedef void (*mml_thread_fn)(struct mml_task *t, void *arg);
int  mml_sched_run(struct mml_machine *m, unsigned n, struct mml_task **tasks, mml_thread_fn *fns, void **args);
/*
 * The strategy of the next runs: "random" (a uniformly random runnable
 * thread at every scheduling point), "pct" (Burckhardt et al.'s PCT,
 * aiming at bugs of depth 1..16) or "pct-pte" (PCT whose steps, and so
 * its priority changes, are page-table entry loads only: a thread is
 * overtaken where a lockless walker reads a table).  0 or -EINVAL.
 */
int  mml_sched_set(struct mml_machine *m, const char *strategy, unsigned depth);
uint64_t mml_sched_trace_hash(struct mml_machine *m);	/* digest of the interleavings so far: same seed, same hash */
uint64_t mml_sched_steps(struct mml_machine *m);	/* scheduling points of the last run */
uint64_t mml_sched_pte_loads(struct mml_machine *m);	/* those of them that loaded a page-table entry */
/*
 * PCT's k, the number of steps a run is expected to take: its d-1
 * priority changes fall on steps drawn from 1..k (pct-pte: page-table
 * entry loads).  0 (the default): the previous run's on this machine,
 * 64 before its first.
 */
void mml_sched_pct_steps(struct mml_machine *m, uint64_t k);
const char *mml_sched_report(struct mml_machine *m);	/* the last run's failure report; "" if none */
/*
 * The trace: each run keeps its last `steps` scheduling points (32 unless
 * set; 1..1000000, else -EINVAL), and mml_sched_trace prints those of the
 * latest run on out, one a line: step, thread (the machine's own by
 * name), kind of point and where (function and file:line from the debug
 * information, through addr2line; else object+offset).  It returns how
 * many steps it printed.  Outside a run.
 */
int  mml_sched_trace_keep(struct mml_machine *m, unsigned steps);
int  mml_sched_trace(struct mml_machine *m, FILE *out);
/*
 * In a deterministic run, a scheduling point that hands the CPU to another
 * thread if one can run: what a thread function calls in a loop that waits
 * for another thread, or a secondary MMU's callback that takes its time.
 * Elsewhere it does nothing.
 */
void mml_sched_yield(void);
uint64_t mml_page_size(void);			/* 4096 */

/* Processes and threads. */
int  mml_spawn(struct mml_machine *m, struct mml_task **out);	/* a new process with one thread */
int  mml_thread_new(struct mml_task *t, struct mml_task **out);	/* another thread in t's process */
int  mml_fork(struct mml_task *t, struct mml_task **child);
int  mml_exit(struct mml_task *t);	/* t is gone; the process is torn down with its last thread */
int  mml_task_pid(const struct mml_task *t);	/* process id (tgid) */
int  mml_task_tid(const struct mml_task *t);	/* thread id */
struct mml_machine *mml_task_machine(const struct mml_task *t);
/*
 * 9 (SIGKILL) once the OOM killer has chosen t's process, else 0.  From
 * then on every operation of its threads returns -EINTR and does nothing
 * (the one running at the kill returns -EINTR too); only mml_exit() is
 * left to them.  Its private memory is unmapped at once: a pin keeps the
 * pages it holds, unmapped.
 */
int  mml_task_killed(const struct mml_task *t);

/*
 * Files, as Linux's VFS offers them.  The machine mounts tmpfs at /dev/shm/
 * and /tmp/ (every file a shmem inode, swap-backed, tmpfs_bytes each) and
 * a disk file system at /disk/ whose files are the host files in disk_dir:
 * pages are read into the page cache with pread of the host file and
 * written back with pwrite (writeback, fsync, msync, reclaim, and
 * mml_machine_free).  Directories are flat: a path is a mount point and a
 * name without '/'.  A process has a descriptor table, shared by its
 * threads and copied by fork (as files_struct).  Each call returns what
 * the syscall returns, or -errno as Linux would.
 */
int  mml_open(struct mml_task *t, const char *path, int flags, unsigned mode); /* O_RDONLY/O_WRONLY/O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_CLOEXEC */
int  mml_memfd_create(struct mml_task *t, const char *name, unsigned flags);  /* MFD_CLOEXEC, MFD_ALLOW_SEALING */
int  mml_close(struct mml_task *t, int fd);
int  mml_dup(struct mml_task *t, int fd);
int  mml_unlink(struct mml_task *t, const char *path);	/* the inode lives on while open or mapped */
int  mml_ftruncate(struct mml_task *t, int fd, int64_t len);
int  mml_fallocate(struct mml_task *t, int fd, int mode, int64_t off, int64_t len); /* 0, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE */
long mml_pread(struct mml_task *t, int fd, void *buf, uint64_t len, int64_t off);	/* bytes or -errno, through the page cache */
long mml_pwrite(struct mml_task *t, int fd, const void *buf, uint64_t len, int64_t off);
int  mml_fsync(struct mml_task *t, int fd);
int  mml_msync(struct mml_task *t, uint64_t addr, uint64_t len, int flags);	/* MS_ASYNC, MS_SYNC, MS_INVALIDATE */
int  mml_mincore(struct mml_task *t, uint64_t addr, uint64_t len, unsigned char *vec);
int  mml_drop_caches(struct mml_machine *m, int mode);	/* as writing mode (1, 2, 3) to /proc/sys/vm/drop_caches */
int  mml_fstat(struct mml_task *t, int fd, struct stat *st);	/* st_size, st_blocks, st_nlink, st_mode, st_ino */
int  mml_fcntl(struct mml_task *t, int fd, int cmd, long arg);	/* F_ADD_SEALS, F_GET_SEALS, F_GETFD, F_SETFD */
/*
 * statvfs(3) of the mount path lies in (its root, or a file in it): f_bsize,
 * f_frsize, f_blocks, f_bfree, f_bavail, f_files, f_ffree, f_namemax; 0 or
 * -errno (ENOENT: no such mount or file).
 */
/*
 * ioctl(dst_fd, FICLONE, src_fd): dst's first pages become src's, sharing
 * its blocks (reflink; /pmem/ only), dst at least src's size; a later
 * write to either copies a block first.  0 or -errno: EBADF, EXDEV
 * (other file systems), EINVAL (the same file), EOPNOTSUPP (no reflink).
 */
int  mml_ficlone(struct mml_task *t, int dst_fd, int src_fd);
struct statvfs;
int  mml_statvfs(struct mml_task *t, const char *path, struct statvfs *out);

/*
 * Memory syscalls.  mml_mmap maps a descriptor with MAP_SHARED or
 * MAP_PRIVATE at a page-aligned offset (Linux's errors: EBADF, EACCES for
 * a shared writable map of a descriptor not open for writing, ENODEV
 * ...), or anonymous memory; MAP_SHARED|MAP_ANONYMOUS is a private shmem
 * file, as Linux's shmem_zero_setup.
 */
long mml_mmap(struct mml_task *t, uint64_t addr, uint64_t len, int prot, int flags, int fd, int64_t off);
int  mml_munmap(struct mml_task *t, uint64_t addr, uint64_t len);
int  mml_mprotect(struct mml_task *t, uint64_t addr, uint64_t len, int prot);
int  mml_madvise(struct mml_task *t, uint64_t addr, uint64_t len, int advice);
/*
 * Guard regions (Linux 6.13+): MADV_GUARD_INSTALL zaps a range and puts
 * a marker in each of its ptes, where any access then faults (SIGSEGV:
 * mml_read/mml_write return -EFAULT) and GUP fails; MADV_GUARD_REMOVE
 * clears the markers only.  C libraries older than 2.41 lack the names.
 */
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL	102
#endif
#ifndef MADV_GUARD_REMOVE
#define MADV_GUARD_REMOVE	103
#endif
/*
 * process_madvise(2): target's ranges (iov_base: its addresses) advised by
 * t; the bytes advised, or -errno (EINVAL for a destructive advice to
 * another process's memory; mmlab's processes have CAP_SYS_NICE).
 */
struct iovec;
long mml_process_madvise(struct mml_task *t, struct mml_task *target, const struct iovec *iov, unsigned long vlen,
			 int advice, unsigned int flags);
/* mremap(2): MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP; the new address, or -errno. */
long mml_mremap(struct mml_task *t, uint64_t old_addr, uint64_t old_len, uint64_t new_len, int flags,
		uint64_t new_addr);
/*
 * mlock(2), mlock2(2) (MLOCK_ONFAULT), munlock(2), mlockall(2)
 * (MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT), munlockall(2): 0 or -errno as
 * Linux's (ENOMEM for a hole or over RLIMIT_MEMLOCK, EAGAIN when pages
 * could not be faulted in, EPERM with a limit of 0).  mmlab's processes
 * lack CAP_IPC_LOCK: the limit holds, 8 MiB unless set.  The constants
 * are <sys/mman.h>'s (_GNU_SOURCE for MLOCK_ONFAULT, MCL_ONFAULT).
 */
#define MML_RLIMIT_MEMLOCK	(8ULL << 20)	/* a process's RLIMIT_MEMLOCK at first: Linux's default */
int  mml_mlock(struct mml_task *t, uint64_t addr, uint64_t len);
int  mml_mlock2(struct mml_task *t, uint64_t addr, uint64_t len, unsigned int flags);
int  mml_munlock(struct mml_task *t, uint64_t addr, uint64_t len);
int  mml_mlockall(struct mml_task *t, int flags);
int  mml_munlockall(struct mml_task *t);
/* getrlimit(2) / setrlimit(2) of the process's RLIMIT_MEMLOCK (other resources: EINVAL). */
struct rlimit;
int  mml_getrlimit(struct mml_task *t, int resource, struct rlimit *rlim);
int  mml_setrlimit(struct mml_task *t, int resource, const struct rlimit *rlim);

/*
 * userfaultfd(2) with its ioctls, as Linux 6.18: the constants and struct
 * uffd_msg are <linux/userfaultfd.h>'s (included here; the two newer than
 * some build hosts' headers are defined if missing).  Results are the
 * ioctl's: 0 or -errno; COPY, ZEROPAGE and CONTINUE the bytes done (the
 * copy, zeropage or mapped field) when positive, else -errno (-EEXIST: a
 * page is there already, -ENOENT: the VMA is gone or not registered for
 * it, -EAGAIN: the address space changed meanwhile, as during an event).
 *
 * mml_uffd_new: userfaultfd(2) in t's process, then UFFDIO_API with
 * features (UFFD_FEATURE_*; -EINVAL for an unknown one).  The handle is
 * the process's, as a descriptor is: when the process exits the
 * userfaultfd is released (registrations gone, waiters woken) and every
 * later call returns -EBADF; mml_uffd_free then only frees the handle, and
 * a handle never freed is freed at power-off, never reported as a leak.
 * A fault that would wait (no UFFD_FEATURE_SIGBUS) sleeps, holding no
 * lock, until another thread resolves it (COPY, ZEROPAGE, CONTINUE,
 * WRITEPROTECT with wp 0, none of them with DONTWAKE) or the userfaultfd
 * goes; with UFFD_FEATURE_SIGBUS it fails at once: -EIO from
 * mml_read/mml_write, as SIGBUS.  Faults of GUP (pins, MAP_POPULATE) never
 * wait: -EFAULT (docs/deviations.md).
 *
 * Events (UFFD_FEATURE_EVENT_FORK, _REMOVE, _UNMAP) make the call that
 * raised them (fork, MADV_DONTNEED/MADV_REMOVE, munmap) wait until the
 * message is read, as Linux.  A fork message's arg.fork.ufd is the child's
 * userfaultfd as a number: mml_uffd_get(machine, ufd) returns its handle,
 * which belongs to the child process (and is freed like any other).
 */
#include <linux/userfaultfd.h>
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED	(1 << 13)
#endif
#ifndef UFFDIO_CONTINUE_MODE_WP
#define UFFDIO_CONTINUE_MODE_WP		((uint64_t)1 << 1)
#endif
struct mml_uffd;
int  mml_uffd_new(struct mml_task *t, uint64_t features, struct mml_uffd **out);
int  mml_uffd_register(struct mml_uffd *u, uint64_t addr, uint64_t len, uint64_t mode);
int  mml_uffd_unregister(struct mml_uffd *u, uint64_t addr, uint64_t len);
int  mml_uffd_writeprotect(struct mml_uffd *u, uint64_t addr, uint64_t len, int wp);
long mml_uffd_copy(struct mml_uffd *u, uint64_t dst, const void *src, uint64_t len, uint64_t mode);
long mml_uffd_zeropage(struct mml_uffd *u, uint64_t dst, uint64_t len, uint64_t mode);
long mml_uffd_continue(struct mml_uffd *u, uint64_t dst, uint64_t len, uint64_t mode);
int  mml_uffd_read_event(struct mml_uffd *u, struct uffd_msg *msg);	/* 0, or -EAGAIN if none */
int  mml_uffd_free(struct mml_uffd *u);
struct mml_uffd *mml_uffd_get(struct mml_machine *m, uint32_t ufd);	/* a fork message's child; NULL if none */
uint32_t mml_uffd_number(const struct mml_uffd *u);			/* its number, as mml_uffd_get takes */

/*
 * NUMA policies and page migration (a machine of mml_config.nr_nodes
 * nodes).  The constants are <numaif.h>'s; include <numaif.h> or
 * <linux/mempolicy.h> before this header if you use them.
 */
#if !defined(_NUMAIF_H) && !defined(_UAPI_LINUX_MEMPOLICY_H) && !defined(_LINUX_MEMPOLICY_H)
#define MPOL_DEFAULT		0
#define MPOL_PREFERRED		1
#define MPOL_BIND		2
#define MPOL_INTERLEAVE		3
#define MPOL_LOCAL		4
#define MPOL_PREFERRED_MANY	5
#define MPOL_WEIGHTED_INTERLEAVE 6
#define MPOL_F_STATIC_NODES	(1 << 15)
#define MPOL_F_RELATIVE_NODES	(1 << 14)
#define MPOL_F_NUMA_BALANCING	(1 << 13)
#define MPOL_F_NODE		(1 << 0)	/* get_mempolicy */
#define MPOL_F_ADDR		(1 << 1)
#define MPOL_F_MEMS_ALLOWED	(1 << 2)
#define MPOL_MF_STRICT		(1 << 0)	/* mbind, move_pages */
#define MPOL_MF_MOVE		(1 << 1)
#define MPOL_MF_MOVE_ALL	(1 << 2)
#endif
/* mbind(2): the policy of [addr, addr + len); 0 or -errno (EIO: STRICT and pages not where it says). */
long mml_mbind(struct mml_task *t, uint64_t addr, uint64_t len, int mode, const unsigned long *nodemask,
	       unsigned long maxnode, unsigned flags);
/* set_mempolicy(2): the task's policy; 0 or -errno. */
long mml_set_mempolicy(struct mml_task *t, int mode, const unsigned long *nodemask, unsigned long maxnode);
/* get_mempolicy(2): mode (may be NULL), nodemask of maxnode bits (may be NULL); 0 or -errno. */
long mml_get_mempolicy(struct mml_task *t, int *mode, unsigned long *nodemask, unsigned long maxnode,
		       uint64_t addr, unsigned long flags);
/*
 * move_pages(2): nodes NULL queries (status[i] = the page's node, or
 * -ENOENT, -EFAULT ...); else moves page i to nodes[i], status[i] the
 * node it is on after, or -errno.  Returns the pages it could not move
 * (0 when all are where asked), or -errno for the call.
 */
long mml_move_pages(struct mml_task *t, uint64_t count, const uint64_t *pages, const int *nodes, int *status,
		    int flags);
/*
 * A page migration stopped half way (mmlab's own, to watch what meets a
 * migration entry): the page at addr is isolated and locked, every pte
 * mapping it is a migration entry, its new page on node is allocated
 * (Linux's migrate_folio_unmap).  mml_migrate_move finishes it
 * (migrate_folio_move); a fault or GUP that meets an entry meanwhile
 * finishes it first, as the migrating thread would have by then.  A
 * handle > 0, or -errno: ENODEV (no such node), EFAULT (no VMA, the zero
 * page), ENOENT (nothing present), EBUSY (cannot be isolated, or not an
 * anon page outside the swap cache: only those are held, as nothing but
 * their ptes finds them), EAGAIN (a pinned exclusive page cannot be
 * unmapped).  mml_migrate_move: 0, or
 * -EAGAIN (extra references: the page went back), -ENOENT (no such
 * handle, or finished already).
 */
long mml_migrate_unmap(struct mml_task *t, uint64_t addr, int node);
int  mml_migrate_move(struct mml_machine *m, long handle);
/* migrate_pages(2): the process's pages on old_nodes to new_nodes; the pages not moved, or -errno. */
long mml_migrate_pages(struct mml_task *t, unsigned long maxnode, const unsigned long *old_nodes,
		       const unsigned long *new_nodes);

/*
 * Loads and stores of the simulated CPU.  0, or -EFAULT where Linux would
 * raise SIGSEGV (any byte of the range unmapped or forbidden), -EIO where
 * it would raise SIGBUS (a file page wholly beyond end of file, a tmpfs
 * that is full), or -ENOMEM if memory for the fault could not be had.  On
 * an error nothing of the range is read or written.
 */
int  mml_read(struct mml_task *t, uint64_t addr, void *buf, uint64_t len);
int  mml_write(struct mml_task *t, uint64_t addr, const void *buf, uint64_t len);

/*
 * Memory tags, as arm64's MTE: a mapping made or changed with MML_PROT_MTE
 * (mmap, mprotect; anonymous private memory) has a 4-bit allocation tag
 * per 16-byte granule, 0 when a page is first mapped, kept through
 * copy-on-write, fork, swap and swapoff.  The simulated machine is
 * otherwise x86-64 flavoured (docs/deviations.md).
 *
 * mml_set_tag stores the tag of the granule holding addr as the CPU's STG
 * would (a write access: it faults the page in, breaking COW); mml_get_tag
 * loads it as LDG (a read access).  0, or -EFAULT if addr is unmapped or
 * the access is forbidden (as mml_read/mml_write), -EINVAL for a tag over
 * 15 or a mapping without MML_PROT_MTE (where ptrace's PEEKMTETAGS and
 * POKEMTETAGS say EIO), -ENOMEM if the fault could not get memory.
 */
#define MML_PROT_MTE	0x20	/* as arm64's PROT_MTE: this mapping has tagged memory */
int  mml_set_tag(struct mml_task *t, uint64_t addr, unsigned tag);
int  mml_get_tag(struct mml_task *t, uint64_t addr, unsigned *tag);

/*
 * GUP: pins and references on user pages, as drivers, io_uring, RDMA and
 * vmsplice take them.  A call returns the number of pages taken -- all of
 * them -- or -errno with nothing taken (Linux would return a partial count;
 * mmlab releases it, as gup_test does for longterm pins).  Errors as Linux:
 * -EFAULT for an unmapped or PROT_NONE page, or a write to read-only memory
 * without MML_FOLL_FORCE; -ENOMEM when a fault cannot allocate.
 */
#define MML_FOLL_WRITE		0x01u	/* the device will write: break COW first */
#define MML_FOLL_LONGTERM	0x02u	/* held indefinitely (io_uring fixed buffers, RDMA) */
#define MML_FOLL_FORCE		0x04u	/* as ptrace: write a read-only private mapping through COW */
#define MML_FOLL_FAST		0x08u	/* lockless walk first, falling back, like get_user_pages_fast */

struct mml_pin;		/* the pages one call took, like GUP's page array */

long mml_pin_user_pages(struct mml_task *t, uint64_t addr, uint64_t npages, unsigned foll, struct mml_pin **out); /* FOLL_PIN */
long mml_get_user_pages(struct mml_task *t, uint64_t addr, uint64_t npages, unsigned foll, struct mml_pin **out); /* FOLL_GET */
/* The device's view: off and len within the pinned pages; 0 or -EINVAL (-EPERM: writing a read-only pin). */
int  mml_dma_read(struct mml_pin *p, uint64_t off, void *buf, uint64_t len);
int  mml_dma_write(struct mml_pin *p, uint64_t off, const void *buf, uint64_t len);
uint64_t mml_pin_pfn(const struct mml_pin *p, uint64_t i);	/* the frame of page i, for views */
/* Drops the pins or references (a write pin marks its pages dirty, as unpin_user_pages_dirty_lock). */
void mml_unpin(struct mml_pin *p);

/*
 * MMU notifiers: secondary MMUs (KVM, GPUs, RDMA NICs) learn of every change
 * to a process's page tables, Linux's mmu_notifier.  invalidate_range_start
 * runs before a pte -> pfn mapping changes or loses a right, and must not
 * return until the secondary MMU has stopped using its translations of
 * [start, end); it may sleep unless !blockable, when it may refuse with
 * -EAGAIN (the OOM reaper then leaves the range alone).  invalidate_range_end
 * runs after the change; release when the process's memory goes.  Callbacks
 * run on the thread that changes the page tables, holding its mm locks:
 * they must not call into mmlab for the same process.
 */
enum mml_notify_event { MML_NOTIFY_UNMAP, MML_NOTIFY_CLEAR, MML_NOTIFY_PROTECTION_VMA,
	MML_NOTIFY_PROTECTION_PAGE, MML_NOTIFY_SOFT_DIRTY, MML_NOTIFY_RELEASE,
	MML_NOTIFY_MIGRATE, MML_NOTIFY_EXCLUSIVE };	/* Linux's enum mmu_notifier_event */
struct mml_notify_range { uint64_t start, end; enum mml_notify_event event; int blockable; };
struct mml_mmu_notifier_ops {
	int  (*invalidate_range_start)(void *priv, const struct mml_notify_range *r); /* 0, or -EAGAIN only when !blockable */
	void (*invalidate_range_end)(void *priv, const struct mml_notify_range *r);
	void (*release)(void *priv);					/* the mm is going away */
	int  (*clear_flush_young)(void *priv, uint64_t start, uint64_t end);	/* reclaim asks: did you use it? */
	int  (*test_young)(void *priv, uint64_t start, uint64_t end);
};
struct mml_mmu_notifier;
int  mml_mmu_notifier_register(struct mml_task *t, const struct mml_mmu_notifier_ops *ops, void *priv,
			       struct mml_mmu_notifier **out);	/* 0, or -ENOMEM */
void mml_mmu_notifier_unregister(struct mml_mmu_notifier *n);	/* waits for callbacks in flight */

/*
 * A built-in device with its own MMU mirroring one process, as Linux's HMM
 * test driver (lib/test_hmm.c's dmirror) and KVM do it: its own page table
 * of translations, filled on a miss by hmm_range_fault() (faulting pages
 * in, breaking COW for a write), dropped by its interval notifier before
 * the process's page tables change.  An access through a translation the
 * process no longer has is reported as a bug (seed 002's corruption, made
 * loud).  Errors as the HMM test driver's: -EFAULT where nothing is mapped
 * or the mapping cannot be read (HMM needs VM_READ), -EPERM for a write to
 * a read-only mapping, -EFAULT too for a fault that fails (no memory;
 * an OOM victim's, check_stable_address_space: hmm_vma_fault turns every
 * VM_FAULT_ERROR into it), -ENOMEM when the device's own table cannot
 * grow, -EINVAL once the process has exited.  A device write dirties the page, as the CPU's would.
 */
#define MML_DEV_NONBLOCK_FAIL	0x1u	/* refuse non-blockable invalidations (-EAGAIN), as a driver that must sleep */
#define MML_DEV_SLOW		0x2u	/* its invalidations sleep a little while accesses drain (widens races) */
#define MML_DEV_REFAULT		0x4u	/* takes back what an invalidation took as soon as it ends, as a device
					   with work in flight (KVM's vCPU) retries at once */
struct mml_device;
int  mml_device_new(struct mml_task *t, unsigned flags, struct mml_device **out);	/* 0, -EINVAL, -ENOMEM */
int  mml_device_free(struct mml_device *d);	/* 0 */
int  mml_device_read(struct mml_device *d, uint64_t addr, void *buf, uint64_t len);
int  mml_device_write(struct mml_device *d, uint64_t addr, const void *buf, uint64_t len);
/* HMM_DMIRROR_SNAPSHOT: per page, what the CPU maps now, without faulting. */
#define MML_DEV_SNAP_NONE	0x00	/* nothing the device could map */
#define MML_DEV_SNAP_READ	0x01
#define MML_DEV_SNAP_WRITE	0x02
#define MML_DEV_SNAP_ZERO	0x10	/* the shared zero page */
#define MML_DEV_SNAP_ERROR	0xff	/* a mapping a device may not use (VM_IO, PROT_NONE) */
long mml_device_snapshot(struct mml_device *d, uint64_t addr, uint64_t npages, unsigned char *state); /* npages or -errno */
/* make_device_exclusive: the CPU's ptes become device-exclusive entries until the CPU touches them. */
int  mml_device_make_exclusive(struct mml_device *d, uint64_t addr, uint64_t npages);
int  mml_device_mapped(struct mml_device *d, uint64_t addr);	/* 1 if its own page table maps addr now, else 0 */

/*
 * Swap and reclaim.  A swap device is a host file (path; created, truncated
 * to bytes) or memory (path NULL); slot 0 is the header, as in Linux.
 */
int  mml_swapon(struct mml_machine *m, const char *path, uint64_t bytes, int prio); /* device id >= 0, or -errno */
int  mml_swapoff(struct mml_machine *m, int id);	/* brings every page back (try_to_unuse); -ENOMEM if it cannot */
long mml_reclaim(struct mml_machine *m, uint64_t nr_pages);	/* reclaim now, as memory pressure would; pages freed */

/*
 * Tunables by their Linux paths: /sys/kernel/mm/transparent_hugepage/...
 * (enabled, defrag, use_zero_page, khugepaged/{pages_to_scan,
 * max_ptes_none, max_ptes_swap, max_ptes_shared, scan_sleep_millisecs, ...},
 * hugepages-<size>kB/enabled), the debugfs file
 * /sys/kernel/debug/split_huge_pages ("<pid>,0x<start>,0x<end>") and
 * /proc/sys/vm/... .  Values as text, as the files take and print them;
 * -ENOENT for an unknown path, -EINVAL for a bad value, -EACCES for a
 * read-only or write-only file.
 */
int  mml_sys_write(struct mml_machine *m, const char *path, const char *value);
long mml_sys_read(struct mml_machine *m, const char *path, char *buf, uint64_t len);	/* bytes (NUL-terminated if room), or -errno */
/* One khugepaged pass over up to `pages` ptes, now, in the caller: collapses done, or -errno. */
long mml_khugepaged_scan(struct mml_machine *m, uint64_t pages);
/*
 * KSM: one pass of up to `pages` pages, now, in the caller, whatever
 * /sys/kernel/mm/ksm/run says (pages scanned, or -errno): scenarios and
 * the fuzzer merge replayably with it, ksmd (MML_KSMD) in the background.
 */
long mml_ksm_scan(struct mml_machine *m, uint64_t pages);
/* prctl(2) for what mmlab has: PR_SET_MEMORY_MERGE (arg 0: off, else on), PR_GET_MEMORY_MERGE; others -EINVAL. */
int  mml_prctl(struct mml_task *t, int option, unsigned long arg);
/*
 * /proc/PID/ksm_stat by field (ksm_rmap_items, ksm_zero_pages,
 * ksm_merging_pages, ksm_process_profit, ksm_merge_any, ksm_mergeable) and
 * /proc/PID/ksm_merging_pages (name "ksm_merging_pages"): the value, or
 * -ENOENT for another name.  ksm_merge_any and ksm_mergeable are 0 or 1
 * (the file says "no"/"yes").
 */
long mml_ksm_stat(struct mml_task *t, const char *name);
int  mml_show_ksm_stat(struct mml_task *t, FILE *out);	/* /proc/PID/ksm_stat */
/* /proc/kpageflags (Linux's KPF_* bit numbers) and /proc/kpagecount of a frame; -EINVAL past the last frame. */
int  mml_kpageflags(struct mml_machine *m, uint64_t pfn, uint64_t *flags);
long mml_kpagecount(struct mml_machine *m, uint64_t pfn);

/* Views, in Linux's formats. */

/* /proc/PID/pagemap bits. */
#define MML_PM_PFRAME_MASK	((1ULL << 55) - 1)
#define MML_PM_SWAP_TYPE_MASK	0x1fULL
#define MML_PM_SWAP_OFFSET_SHIFT 5
#define MML_PM_SOFT_DIRTY	(1ULL << 55)
#define MML_PM_MMAP_EXCLUSIVE	(1ULL << 56)
#define MML_PM_UFFD_WP		(1ULL << 57)
#define MML_PM_GUARD_REGION	(1ULL << 58)	/* a guard marker (with MML_PM_SWAP, as Linux) */
#define MML_PM_FILE		(1ULL << 61)
#define MML_PM_SWAP		(1ULL << 62)
#define MML_PM_PRESENT		(1ULL << 63)

/*
 * /proc/kpageflags bits (mml_kpageflags): Linux's KPF_* numbers, the
 * stable ones of include/uapi/linux/kernel-page-flags.h and, from 32,
 * the "kernel hacking" ones of include/linux/kernel-page-flags.h.
 */
#define MML_KPF_LOCKED		0
#define MML_KPF_ERROR		1
#define MML_KPF_REFERENCED	2
#define MML_KPF_UPTODATE	3
#define MML_KPF_DIRTY		4
#define MML_KPF_LRU		5
#define MML_KPF_ACTIVE		6
#define MML_KPF_SLAB		7
#define MML_KPF_WRITEBACK	8
#define MML_KPF_RECLAIM		9
#define MML_KPF_BUDDY		10
#define MML_KPF_MMAP		11
#define MML_KPF_ANON		12
#define MML_KPF_SWAPCACHE	13
#define MML_KPF_SWAPBACKED	14
#define MML_KPF_COMPOUND_HEAD	15
#define MML_KPF_COMPOUND_TAIL	16
#define MML_KPF_HUGE		17
#define MML_KPF_UNEVICTABLE	18
#define MML_KPF_HWPOISON	19
#define MML_KPF_NOPAGE		20
#define MML_KPF_KSM		21
#define MML_KPF_THP		22
#define MML_KPF_OFFLINE		23
#define MML_KPF_ZERO_PAGE	24
#define MML_KPF_IDLE		25
#define MML_KPF_PGTABLE		26
#define MML_KPF_RESERVED	32
#define MML_KPF_MLOCKED		33
#define MML_KPF_OWNER_2		34	/* PG_owner_2: an anon folio's head is PG_anon_exclusive */
#define MML_KPF_PRIVATE		35
#define MML_KPF_PRIVATE_2	36
#define MML_KPF_OWNER_PRIVATE	37	/* PG_owner_priv_1: PG_swapcache */
#define MML_KPF_ARCH		38
#define MML_KPF_SOFTDIRTY	40
#define MML_KPF_ARCH_2		41	/* arm64: PG_mte_tagged */
#define MML_KPF_ARCH_3		42	/* arm64: PG_mte_lock */

int  mml_pagemap(struct mml_task *t, uint64_t addr, uint64_t *entry);	/* the /proc/PID/pagemap entry, frame number included */
long mml_vmstat(struct mml_machine *m, const char *name);	/* a /proc/vmstat counter by its Linux name; -ENOENT if unknown */
long mml_meminfo(struct mml_machine *m, const char *name);	/* a /proc/meminfo field in kB (or pages for HugePages_*); -ENOENT if unknown */
/*
 * A /proc/vmstat counter or a /proc/meminfo field (kB) by name, as it
 * stands: unlike mml_vmstat and mml_meminfo it does not first free the
 * page tables waiting for an RCU grace period, so that reading changes
 * nothing (for tracers sampling after every operation). -ENOENT if unknown.
 */
long mml_stat_peek(struct mml_machine *m, const char *name);
const char *mml_vmstat_name(unsigned i);	/* the i-th counter's name, NULL past the last */
const char *mml_meminfo_name(unsigned i);	/* the i-th field's name, NULL past the last */
int  mml_show_smaps(struct mml_task *t, FILE *out);	/* /proc/PID/smaps */
/* A write of type to /proc/PID/clear_refs: 1 all, 2 anon, 3 file (accessed bits), 4 soft-dirty; 0 or -EINVAL. */
int  mml_clear_refs(struct mml_task *t, int type);
int  mml_show_numa_maps(struct mml_task *t, FILE *out);	/* /proc/PID/numa_maps */
int  mml_show_maps(struct mml_task *t, FILE *out);	/* /proc/PID/maps */
int  mml_show_vmstat(struct mml_machine *m, FILE *out);	/* /proc/vmstat */
int  mml_show_meminfo(struct mml_machine *m, FILE *out);	/* /proc/meminfo */

/*
 * The views above as one JSON document each, on one line (docs/json.md;
 * the schemas are docs/schema/view-*.json): the same fields from the same
 * code as the text, named as the files name them, numbers as JSON
 * numbers, kB values in kB.  maps and smaps: {"vmas": [...]}, each VMA its
 * start, end, perms, offset, dev, inode and pathname (null when
 * anonymous), smaps' sizes and THPeligible, and VmFlags as an array of
 * the two-letter names; vmstat and meminfo: one member a field.  0, or
 * -EIO if out failed.
 */
int  mml_show_maps_json(struct mml_task *t, FILE *out);
int  mml_show_smaps_json(struct mml_task *t, FILE *out);
int  mml_show_vmstat_json(struct mml_machine *m, FILE *out);
int  mml_show_meminfo_json(struct mml_machine *m, FILE *out);
/*
 * /proc/PID/pagemap over the pages of [addr, addr + len), decoded:
 * {"entries": [...]}, each page's address, its entry as 16 hex digits,
 * the PM_* bits as booleans (present, swap, file, mmap_exclusive,
 * soft_dirty, uffd_wp, guard_region), pfn when present and swap_type,
 * swap_offset when swap, else null.  0, -EINVAL for an empty range or one
 * past the address space, or -EIO.
 */
int  mml_show_pagemap_json(struct mml_task *t, uint64_t addr, uint64_t len, FILE *out);

/*
 * Pictures (Graphviz): the state behind the views above, as a graph in
 * DOT text or rendered by Graphviz's library to SVG or PNG.  The same
 * state gives the same bytes.  Each returns 0, -EINVAL for a bad format
 * or range, -EFAULT for an address no VMA holds, -ENOENT when nothing
 * (no folio, no swap slot) is at the address, -ENOMEM, or -EIO if
 * Graphviz fails to lay the graph out.  Large states are elided, the
 * picture saying how much was left out (docs/pictures.md).  SVG and PNG
 * go through Graphviz's library, which is not thread-safe: render from
 * one host thread at a time (DOT has no such limit).
 */
enum mml_picture_format {
	MML_PICTURE_DOT,	/* the graph as DOT text, for editing or `dot` */
	MML_PICTURE_SVG,
	MML_PICTURE_PNG,
};
/* The page-table tree over [addr, addr + len) (len 0: every VMA): tables, entries with their bits, what they map. */
int  mml_show_pagetable(struct mml_task *t, uint64_t addr, uint64_t len, enum mml_picture_format fmt, FILE *out);
/* The reverse map of the folio at addr: anon_vma tree or address_space (or KSM stable node), VMAs, entries. */
int  mml_show_rmap(struct mml_task *t, uint64_t addr, enum mml_picture_format fmt, FILE *out);
/* The folio at addr (or its swap slot): flags, counts, per-page exclusive bits, swap cache, LRU list. */
int  mml_show_folio(struct mml_task *t, uint64_t addr, enum mml_picture_format fmt, FILE *out);
/* The machine: nodes and zones with free pages, processes, their VMAs and threads, swap devices. */
int  mml_show_machine(struct mml_machine *m, enum mml_picture_format fmt, FILE *out);

/*
 * Trace events with Linux's tracepoint names, fields and print formats
 * (mm_page_alloc, mm_vmscan_kswapd_wake, tlb_flush, ...; docs/ARCHITECTURE.md
 * lists where each fires).  mml_trace_enable applies a comma list to the
 * machine's set of events, in order, as writes to ftrace's set_event do:
 * an item is a glob over the event's name ("mm_vmscan_*") or over
 * SYSTEM:NAME ("vmscan:*", "kmem:mm_page_alloc"), "*" all of them, and
 * "!ITEM" takes what it matches out.  0, or -EINVAL (nothing changed) if
 * an item matches no event.  An event is emitted from whichever thread
 * runs it, serialised per machine, with a virtual timestamp (same seed,
 * same trace): mml_trace_set_output writes each as a line of ftrace's
 * trace file (the column header first; NULL stops), the subscriber gets
 * it as a struct.  Both run holding the machine's trace lock: they must
 * not call into mmlab.  The event list: mml_trace_event_name(i, &system),
 * NULL past the last.
 */
struct mml_trace_event {
	const char *name;	/* "mm_page_alloc" */
	const char *system;	/* "kmem" */
	uint64_t ts_ns;		/* the virtual clock */
	const char *comm;	/* "mmlab" for a task, "kswapd0", "khugepaged", "ksmd" */
	int pid;		/* the task's tid; 0 for a machine thread or a call without a task */
	int cpu;		/* the task's CPU (its tid: every task is a CPU); 0 as pid */
	const char *fields;	/* as Linux's TP_printk prints them */
	const char *line;	/* the whole line of the trace file, without its newline */
};
int  mml_trace_enable(struct mml_machine *m, const char *events);
int  mml_trace_set_output(struct mml_machine *m, FILE *out);	/* 0 */
int  mml_trace_subscribe(struct mml_machine *m, void (*fn)(void *arg, const struct mml_trace_event *ev),
			 void *arg);	/* replaces the subscriber (NULL: none); 0 */
const char *mml_trace_event_name(unsigned i, const char **system);

/*
 * Fault injection: make resource boundaries fail on a seeded schedule, as
 * Linux's fail_page_alloc / failslab and SQLite's test_malloc do.  Under
 * injection every operation either succeeds or fails cleanly with Linux's
 * error; invariants hold and nothing leaks.
 */
#define MML_FAIL_FRAME		0x1u	/* frames for user pages */
#define MML_FAIL_PGTABLE	0x2u	/* page-table pages and their locks */
#define MML_FAIL_META		0x4u	/* metadata: VMAs, anon_vmas, chains, mms, tasks */
#define MML_FAIL_SWAP_SLOT	0x8u	/* a free swap slot */
#define MML_FAIL_SWAP_IO	0x10u	/* a swap read or write (-EIO) */
#define MML_FAIL_TAG		0x20u	/* tag storage for a page going to swap (arch_unmap_one) */
#define MML_FAIL_ALL		0x3fu
#define MML_FAIL_NR_SITES	6

/* One attempt: the nth (from 1) at site (a single MML_FAIL_* bit) since mml_fail_set. */
struct mml_fail_at {
	unsigned site;
	long nth;
};
#define MML_FAIL_AT_MAX		16

struct mml_fail {
	unsigned sites;		/* MML_FAIL_*; 0 turns injection off */
	unsigned rate_ppm;	/* with countdown 0: each attempt fails with this chance (per million) */
	long countdown;		/* > 0: the countdown-th attempt fails, ... */
	long repeat;		/* ... then this many more (-1: every later one) */
	uint64_t seed;		/* for the rate */
	/*
	 * Or, with rate_ppm and countdown 0: exactly these attempts fail
	 * (each site among sites), as a run that met them recorded them
	 * (mml_fail_event): its reproducer replays them.
	 */
	const struct mml_fail_at *at;
	unsigned nr_at;		/* at most MML_FAIL_AT_MAX */
};
int  mml_fail_set(struct mml_machine *m, const struct mml_fail *f);	/* NULL: off; -EINVAL on bad values */
long mml_fail_injected(struct mml_machine *m);	/* failures injected so far */
/* Attempts at site (one MML_FAIL_* bit, among the schedule's sites) since mml_fail_set. */
long mml_fail_attempts(struct mml_machine *m, unsigned site);
/* The i-th failure injected (from 0, as mml_fail_injected counts): 0, or -ENOENT (not yet, or too old). */
#define MML_FAIL_EVENTS		64	/* the latest ones kept */
int  mml_fail_event(struct mml_machine *m, long i, struct mml_fail_at *ev);

/*
 * The bug zoo: named defects compiled in, off unless switched on.  They exist
 * to prove that the oracles catch what they claim to catch.
 */
int  mml_bug_inject(struct mml_machine *m, const char *name);	/* 0, or -ENOENT for an unknown name */
int  mml_bug_count(void);
int  mml_bug_describe(int i, const char **name, const char **breaks, const char **history);	/* 0 or -ENOENT */
/* The `mmlab fuzz` options that expose entry i (besides --seed, --ops), "" for none; NULL past the end. */
const char *mml_bug_fuzz_options(int i);

#ifdef __cplusplus
}
#endif
#endif /* MMLAB_H */
