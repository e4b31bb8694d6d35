/*
 * driver.c - the host side of a scenario task: a thread of a real
 * process that executes each statement with the real system calls.
 *
 * The runner forks a driver for each "spawn"; "thread" is a pthread of
 * the same process and "fork" a real fork, so the kernel sees exactly
 * the processes and threads the scenario describes.  Loads and stores
 * are plain CPU accesses guarded against SIGSEGV and SIGBUS; a range is
 * checked against /proc/self/maps (and a file mapping against its file's
 * size) first so that an access that would fault reports EFAULT or EIO
 * and changes nothing, as mml_read/mml_write do.  File calls are the
 * real ones, on the descriptors the scenario opened in this process.
 *
 * /proc/thread-self, not /proc/self: once the first thread has exited,
 * /proc/PID/ of the process shows no mm any more.
 *
 * The driver's own memory (code, libraries, stacks, the bounce buffer)
 * is recorded when it starts: a statement that names an address in it
 * is skipped, never run, since it would wreck the driver.  Nothing here
 * allocates after that point, so the record stays true.
 */
#define _GNU_SOURCE	/* pipe2, vmsplice, tee, F_SETPIPE_SZ, asprintf */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <malloc.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/magic.h>

#include "mmlab.h"
#include "native/conform.h"
#include "native/driver.h"
#include "native/host.h"
#include "native/proto.h"

/* 6.1's advice; older C libraries do not name it */
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif

#define PAGE		4096ULL
#define BOUNCE_SIZE	(16ULL << 20)	/* longest read the host runs */
#define MAX_RUNTIME	512		/* the driver's own mappings */
#define MAX_CHANNELS	64		/* threads of one process */
#define STACK_SIZE	(256ULL << 10)
#define MAX_SCN_FD	1024		/* descriptors the scenario may open */
#define MAX_MINCORE	((1ULL << 30) / PAGE)	/* pages: expect mincore's bound */

struct range { uint64_t lo, hi; };

/* One process's state; a fork copies it, and fixes the channels. */
static struct {
	struct range runtime[MAX_RUNTIME];
	int nruntime;
	int chan[MAX_CHANNELS];		/* sockets of this process's threads */
	int nchan;
	pthread_mutex_t lock;
	unsigned char *bounce;
	char maps[1 << 18];		/* /proc/self/maps or smaps, read whole */
	/* the descriptors the scenario opened here (open, memfd, dup) */
	unsigned char scn_fd[MAX_SCN_FD];
} d = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* ---- the access guard ---- */

/*
 * volatile: the compiler must store it before the access and clear it
 * after, though memcpy and memset never read it (else the stores are
 * dead to it, and a fault finds no guard).
 */
static __thread sigjmp_buf *volatile guard;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	if (guard)
		siglongjmp(*guard, sig);
	/* a fault outside a guarded access is a driver bug: die of it */
	signal(sig, SIG_DFL);
}

/*
 * What the API returns for the signal an access took: -EFAULT for
 * SIGSEGV, -EIO for SIGBUS (a file page beyond end of file).
 */
static int fault_errno(int sig)
{
	return sig == SIGBUS ? -EIO : -EFAULT;
}

/* memcpy that turns a SIGSEGV or SIGBUS into -EFAULT or -EIO */
static int guarded_copy(void *dst, const void *src, size_t n)
{
	sigjmp_buf jb;
	int sig;

	if ((sig = sigsetjmp(jb, 1))) {
		guard = NULL;
		return fault_errno(sig);
	}
	guard = &jb;
	memcpy(dst, src, n);
	guard = NULL;
	return 0;
}

/* The pattern repeated into user memory, with the guard. */
static int guarded_fill(unsigned char *dst, uint64_t len,
			const unsigned char *pat, size_t n)
{
	sigjmp_buf jb;
	uint64_t i;
	int sig;

	if ((sig = sigsetjmp(jb, 1))) {
		guard = NULL;
		return fault_errno(sig);
	}
	guard = &jb;
	if (n == 1)
		memset(dst, pat[0], len);
	else
		for (i = 0; i < len; i++)
			((volatile unsigned char *)dst)[i] = pat[i % n];
	guard = NULL;
	return 0;
}

/* ---- /proc/self/maps and smaps ---- */

/* A whole /proc file into d.maps; -EFBIG if it does not fit. */
static int proc_read(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	ssize_t r = 0;
	bool full;
	char c;

	if (fd < 0)
		return -errno;
	while (n < sizeof(d.maps) - 1) {
		size_t room = sizeof(d.maps) - 1 - n;

		r = read(fd, d.maps + n, room);
		if (r <= 0)
			break;
		n += (size_t)r < room ? (size_t)r : room;
	}
	full = n == sizeof(d.maps) - 1 && read(fd, &c, 1) > 0;
	close(fd);
	d.maps[n] = '\0';
	if (full)
		return -EFBIG;
	return r < 0 ? -EIO : 0;
}

static int maps_read(void)
{
	return proc_read("/proc/thread-self/maps");
}

/* The file offset and inode of the latest line maps_next read (0: none). */
static uint64_t maps_off, maps_ino;

/* The next "lo-hi perms offset dev inode" line from *pos; false at the end. */
static bool maps_next(const char **pos, uint64_t *lo, uint64_t *hi, char perms[5])
{
	unsigned long long a, b, off, ino;
	const char *p = *pos;

	while (*p) {
		const char *nl = strchr(p, '\n');

		*pos = nl ? nl + 1 : p + strlen(p);
		if (sscanf(p, "%llx-%llx %4s %llx %*x:%*x %llu", &a, &b, perms, &off, &ino) == 5) {
			*lo = a;
			*hi = b;
			maps_off = off;
			maps_ino = ino;
			return true;
		}
		p = *pos;
	}
	return false;
}

/*
 * The first address of [at, hi) in the file VMA [s, e) at file offset off
 * that lies in a page wholly beyond end of file, where Linux raises
 * SIGBUS; hi if none.  The file's size comes from map_files (its stat
 * follows to the mapped file; root has it); without it, none is found
 * and the guard catches the signal instead, after a partial access.
 */
static uint64_t past_eof(uint64_t s, uint64_t e, uint64_t off, uint64_t at, uint64_t hi)
{
	char path[64];
	struct stat st;
	uint64_t end;

	/* the process's, not the thread's: task/TID has no map_files */
	snprintf(path, sizeof(path), "/proc/self/map_files/%llx-%llx",
		 (unsigned long long)s, (unsigned long long)e);
	if (stat(path, &st) < 0)
		return hi;
	end = ((uint64_t)st.st_size + PAGE - 1) & ~(PAGE - 1);	/* the last page is whole */
	if (end <= off)
		return at;
	if (end - off >= e - s)
		return hi;
	return s + (end - off) > at ? s + (end - off) : at;
}

/*
 * Would an access to [lo, hi) fault?  Every byte must be in a VMA that
 * allows it: writes need 'w', loads any permission (x86 reads through
 * write-only and exec-only mappings; the guard catches what is left).
 * -EFAULT where Linux would raise SIGSEGV; -EIO where it would raise
 * SIGBUS, a file page wholly beyond end of file; whichever comes first.
 */
static int maps_allow(uint64_t lo, uint64_t hi, bool write)
{
	const char *pos = d.maps;
	uint64_t s, e, at = lo;
	char perms[5];

	if (maps_read() < 0)
		return -EFAULT;
	while (at < hi && maps_next(&pos, &s, &e, perms)) {
		if (e <= at)
			continue;
		if (s > at)
			return -EFAULT;		/* a hole */
		if (write ? perms[1] != 'w' : !memcmp(perms, "---", 3))
			return -EFAULT;
		if (maps_ino && past_eof(s, e, maps_off, at, hi < e ? hi : e) < (hi < e ? hi : e))
			return -EIO;
		at = e;
	}
	return at >= hi ? 0 : -EFAULT;
}

static int vma_count(uint64_t lo, uint64_t hi)
{
	const char *pos = d.maps;
	uint64_t s, e;
	char perms[5];
	int n = 0;

	if (maps_read() < 0)
		return -EIO;
	while (maps_next(&pos, &s, &e, perms))
		n += s < hi && e > lo;
	return n;
}

/* ---- the driver's own memory ---- */

static void runtime_add(uint64_t lo, uint64_t hi)
{
	if (d.nruntime < MAX_RUNTIME)
		d.runtime[d.nruntime++] = (struct range){ lo, hi };
}

/*
 * The holes between the runtime's own mappings (libraries, their data,
 * the rings, the stacks) are filled with inaccessible reservations, from
 * the highest mapping below the stack down to the first gap of 256 MiB
 * or more (the one above the heap): the kernel then places the
 * scenario's first mapping below all of them, and each next one where
 * mmlab, which has nothing else in its address space, places it.
 */
static void fill_runtime_gaps(void)
{
	uint64_t lo[MAX_RUNTIME], hi[MAX_RUNTIME], s, e, stack = (uintptr_t)&s;
	const char *pos = d.maps;
	char perms[5];
	int n = 0, top = -1;

	if (maps_read() < 0)
		return;
	while (n < MAX_RUNTIME && maps_next(&pos, &s, &e, perms)) {
		if (s <= stack && stack < e)
			top = n - 1;	/* the last mapping below the stack */
		lo[n] = s;
		hi[n++] = e;
	}
	for (int i = top; i > 0; i--) {
		uint64_t gap = lo[i] - hi[i - 1];

		if (gap >= (256ULL << 20))
			break;
		if (gap)
			mmap((void *)(uintptr_t)hi[i - 1], gap, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	}
}

static void runtime_snapshot(void)
{
	const char *pos = d.maps;
	uint64_t s, e;
	char perms[5];

	d.nruntime = 0;
	if (maps_read() < 0)
		return;
	while (maps_next(&pos, &s, &e, perms))
		runtime_add(s, e);
}

/* Non-zero, with the reason in why, if [lo, lo+len) touches the runtime. */
static int runtime_clash(uint64_t lo, uint64_t len, char *why)
{
	uint64_t hi = lo + (len ? len : 1);
	int i;

	if (hi < lo)
		return 0;	/* wraps: the kernel refuses it by itself */
	for (i = 0; i < d.nruntime; i++) {
		if (d.runtime[i].lo < hi && d.runtime[i].hi > lo) {
			snprintf(why, CF_WHY_LEN, "the range overlaps the host driver's own "
				 "mapping at 0x%llx-0x%llx",
				 (unsigned long long)d.runtime[i].lo,
				 (unsigned long long)d.runtime[i].hi);
			return 1;
		}
	}
	return 0;
}

/* ---- the scenario's descriptors ---- */

/*
 * A descriptor a statement names: one the scenario opened here (a fork
 * inherits them with the numbers), or one open nowhere, for the kernel
 * to answer EBADF.  A number the driver itself holds (its socket) is
 * skipped, never used: closing it would cut the driver off.
 */
static int fd_usable(int64_t fd, char *why)
{
	if (fd < 0 || (fd < MAX_SCN_FD && d.scn_fd[fd]) || fd > 0x7fffffff ||
	    fcntl((int)fd, F_GETFD) < 0)
		return 0;
	snprintf(why, CF_WHY_LEN, "descriptor %lld is the host driver's own, not one the "
		 "scenario opened", (long long)fd);
	return -CF_SKIP;
}

/* A descriptor the scenario now holds (a call's result), or -errno. */
static int64_t fd_made(int fd)
{
	if (fd < 0)
		return -errno;
	if (fd < MAX_SCN_FD)
		d.scn_fd[fd] = 1;
	return fd;
}

/* The payload as a string: a path or a memfd's name. */
static const char *payload_str(const struct cf_req *q, const unsigned char *pat)
{
	static char s[(1 << 16) + 1];

	memcpy(s, pat ? (const char *)pat : "", pat ? q->patn : 0);
	s[pat ? q->patn : 0] = '\0';
	return s;
}

/*
 * One file call.  Answers with bytes go through *data and *n: pread's
 * (the bounce buffer), mincore's vector, fstat's struct cf_stat.
 */
/*
 * A NUMA call of the task's thread, by syscall(2) (no libnuma): its
 * policy is the thread's, as mmlab's is the task's; move_pages and
 * migrate_pages name this process (pid 0).  Ranges keep off the driver's
 * own memory.
 */
static int64_t do_numa(const struct cf_req *q, const unsigned char *pat, char *why, const void **data,
		       uint64_t *n)
{
	static int status;
	unsigned long masks[2];
	long r;

	memcpy(masks, pat, sizeof(masks));
	switch (q->arg) {
	case SCN_OP_SET_MEMPOLICY:
		r = syscall(SYS_set_mempolicy, (int)q->arg2, &masks[0], 65UL);
		break;
	case SCN_OP_MBIND:
		if (runtime_clash(q->addr, q->len, why))
			return -CF_SKIP;
		r = syscall(SYS_mbind, q->addr, q->len, (int)q->arg2, &masks[0], 65UL, (unsigned)q->fd);
		break;
	case SCN_OP_MIGRATE_PAGES:
		r = syscall(SYS_migrate_pages, 0, 65UL, &masks[0], &masks[1]);
		break;
	case SCN_OP_EXPECT_MEMPOLICY: {
		int mode = 0;

		masks[0] = 0;
		r = syscall(SYS_get_mempolicy, &mode, &masks[0], 65UL, 0UL, 0UL);
		status = (int)masks[0];
		*data = &status;
		*n = sizeof(status);
		if (r == 0)
			r = mode;
		break;
	}
	case SCN_OP_EXPECT_NODE: {
		void *page = (void *)(uintptr_t)(q->addr & ~4095ULL);

		r = syscall(SYS_move_pages, 0, 1UL, &page, NULL, &status, 0);
		*data = &status;
		*n = sizeof(status);
		break;
	}
	default: {
		uint64_t count = q->len, base = q->addr & ~4095ULL;
		void **pages;
		int *nodes, *st, e;

		if (runtime_clash(base, count * 4096, why))
			return -CF_SKIP;
		pages = calloc(count ? count : 1, sizeof(*pages));
		nodes = calloc(count ? count : 1, sizeof(*nodes));
		st = calloc(count ? count : 1, sizeof(*st));
		r = -1;
		errno = ENOMEM;
		if (pages && nodes && st) {
			for (uint64_t i = 0; i < count; i++) {
				pages[i] = (void *)(uintptr_t)(base + i * 4096);
				nodes[i] = (int)q->off;
			}
			r = syscall(SYS_move_pages, 0, count, pages, nodes, st, (int)q->fd);
		}
		e = errno;
		free(pages);
		free(nodes);
		free(st);
		errno = e;
		break;
	}
	}
	return r < 0 ? -errno : r;
}

static int64_t do_fcall(const struct cf_req *q, const unsigned char *pat, char *why,
			const void **data, uint64_t *n)
{
	static unsigned char vec[MAX_MINCORE];
	static struct cf_stat cs;
	static struct statvfs sv;
	int fd = (int)q->fd;
	struct stat st;
	int64_t r;
	uint64_t i;

	switch (q->arg) {
	case SCN_OP_OPEN:
		return fd_made(open(payload_str(q, pat), (int)q->arg2, (mode_t)q->off));
	case SCN_OP_MEMFD:
		return fd_made(memfd_create(payload_str(q, pat), (unsigned)q->arg2));
	case SCN_OP_UNLINK:
		return unlink(payload_str(q, pat)) < 0 ? -errno : 0;
	case SCN_OP_EXPECT_STATVFS:
		if (statvfs(payload_str(q, pat), &sv) < 0)
			return -errno;
		*data = &sv;
		*n = sizeof(sv);
		return 0;
	case SCN_OP_MSYNC:
		if (runtime_clash(q->addr, q->len, why))
			return -CF_SKIP;
		return msync((void *)q->addr, q->len, (int)q->arg2) < 0 ? -errno : 0;
	case SCN_OP_EXPECT_MINCORE:
		if (runtime_clash(q->addr, q->len, why))
			return -CF_SKIP;
		if (q->len > MAX_MINCORE * PAGE)
			return -EINVAL;
		if (mincore((void *)q->addr, q->len, vec) < 0)
			return -errno;
		*data = vec;
		*n = (q->len + PAGE - 1) / PAGE;
		return 0;
	}
	r = fd_usable(q->fd, why);
	if (r)
		return r;
	if ((q->arg == SCN_OP_PREAD || q->arg == SCN_OP_PWRITE) && q->len > BOUNCE_SIZE) {
		snprintf(why, CF_WHY_LEN, "pread and pwrite longer than %llu MiB",
			 BOUNCE_SIZE >> 20);
		return -CF_SKIP;
	}
	switch (q->arg) {
	case SCN_OP_DUP:
		return fd_made(dup(fd));
	case SCN_OP_CLOSE:
		if (close(fd) < 0)
			return -errno;
		if (fd < MAX_SCN_FD)
			d.scn_fd[fd] = 0;
		return 0;
	case SCN_OP_FTRUNCATE:
		return ftruncate(fd, (off_t)q->len) < 0 ? -errno : 0;
	case SCN_OP_FALLOCATE:
		return fallocate(fd, (int)q->arg2, q->off, (off_t)q->len) < 0 ? -errno : 0;
	case SCN_OP_FSYNC:
		return fsync(fd) < 0 ? -errno : 0;
	case SCN_OP_SEAL:
		return fcntl(fd, F_ADD_SEALS, (int)q->arg2) < 0 ? -errno : 0;
	case SCN_OP_EXPECT_SEALS:
		r = fcntl(fd, F_GET_SEALS);
		return r < 0 ? -errno : r;
	case SCN_OP_FICLONE:
		r = fd_usable(q->arg2, why);
		if (r)
			return r;
		return ioctl(fd, FICLONE, (int)q->arg2) < 0 ? -errno : 0;
	case SCN_OP_PREAD:
		r = pread(fd, d.bounce, q->len, q->off);
		if (r < 0)
			return -errno;
		*data = d.bounce;
		*n = (uint64_t)r;
		return r;
	case SCN_OP_PWRITE:
		if (!pat || !q->patn)
			return -EINVAL;
		for (i = 0; i < q->len; i++)
			d.bounce[i] = pat[i % q->patn];
		r = pwrite(fd, d.bounce, q->len, q->off);
		return r < 0 ? -errno : r;
	case SCN_OP_EXPECT_FSTAT:
		if (fstat(fd, &st) < 0)
			return -errno;
		cs = (struct cf_stat){ st.st_size, st.st_blocks, (int64_t)st.st_nlink };
		*data = &cs;
		*n = sizeof(cs);
		return 0;
	}
	return -ENOSYS;
}

/* ---- requests ---- */

static int64_t do_mmap(const struct cf_req *q, char *why)
{
	void *p;

	if ((q->arg2 & (MAP_FIXED | MAP_FIXED_NOREPLACE)) &&
	    runtime_clash(q->addr, q->len, why))
		return -CF_SKIP;
	if (!(q->arg2 & MAP_ANONYMOUS) && fd_usable(q->fd, why))
		return -CF_SKIP;
	p = mmap((void *)q->addr, q->len, q->arg, q->arg2, q->fd, q->off);
	return p == MAP_FAILED ? -errno : (int64_t)(uintptr_t)p;
}

/*
 * mremap(2) of the task's process.  The old range, and the new one where
 * the statement names it (MREMAP_FIXED), must keep off the driver's own
 * memory; where the kernel chooses, it chooses free space.
 */
static int64_t do_mremap(const struct cf_req *q, char *why)
{
	void *p;

	if (runtime_clash(q->addr, q->len, why) ||
	    ((q->arg2 & MREMAP_FIXED) && runtime_clash((uint64_t)q->off, (uint64_t)q->arg, why)))
		return -CF_SKIP;
	p = mremap((void *)q->addr, q->len, (size_t)q->arg, (int)q->arg2, (void *)q->off);
	return p == MAP_FAILED ? -errno : (int64_t)(uintptr_t)p;
}

/* Does addr lie in a mapping of a regular file on a disk file system (not tmpfs, not memfd)? */
static bool maps_disk_file(uint64_t addr)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512], path[400];
	unsigned long long lo, hi;
	bool disk = false;
	struct statfs sfs;

	while (f && fgets(line, sizeof(line), f)) {
		path[0] = '\0';
		if (sscanf(line, "%llx-%llx %*s %*s %*s %*s %399s", &lo, &hi, path) < 2 || addr < lo || addr >= hi)
			continue;
		disk = path[0] == '/' && !statfs(path, &sfs) && sfs.f_type != TMPFS_MAGIC;
		break;
	}
	if (f)
		fclose(f);
	return disk;
}

/*
 * Advice that asks for huge pages, on a host whose THP settings are not
 * mmlab's: its drivers run with THP disabled (thp.c), so the answer
 * would be a kernel without THP's, not this one's.
 */
static int no_thp(const struct cf_req *q, char *why)
{
	const char *setting;

	if (q->arg != MADV_HUGEPAGE && q->arg != MADV_COLLAPSE)
		return 0;
	if (!cf_host_thp_usable(&setting) ||
	    (q->arg == MADV_COLLAPSE && maps_disk_file(q->addr) && !cf_host_ro_file_thp(&setting))) {
		snprintf(why, CF_WHY_LEN, "%s", setting);
		return -CF_SKIP;
	}
	return 0;
}

/* process_madvise(2) through a pidfd of the target process (this one, or another the runner named). */
static int64_t do_process_madvise(const struct cf_req *q, char *why)
{
	struct iovec iov = { (void *)q->addr, q->len };
	int pidfd;
	long r;

	if (q->arg2 == getpid() && runtime_clash(q->addr, q->len, why))
		return -CF_SKIP;
	pidfd = (int)syscall(SYS_pidfd_open, (pid_t)q->arg2, 0);
	if (pidfd < 0)
		return -errno;
	r = syscall(SYS_process_madvise, pidfd, &iov, 1UL, (int)q->arg, 0U);
	r = r < 0 ? -errno : r;
	close(pidfd);
	return r;
}

static int64_t do_range(const struct cf_req *q, char *why)
{
	void *a = (void *)q->addr;
	int r;

	if (runtime_clash(q->addr, q->len, why))
		return -CF_SKIP;
	if (q->op == CF_REQ_MUNMAP)
		r = munmap(a, q->len);
	else if (q->op == CF_REQ_MPROTECT)
		r = mprotect(a, q->len, q->arg);
	else if ((r = no_thp(q, why)))
		return r;
	else
		r = madvise(a, q->len, q->arg);
	/*
	 * MADV_COLLAPSE is best effort: EAGAIN when something it needs is
	 * busy for a moment (khugepaged on the same mm, a page off the LRU
	 * an instant).  Tried once more, as Linux's selftest does
	 * (madvise_collapse_retry); an EAGAIN that stays is the answer.
	 */
	if (r < 0 && errno == EAGAIN && q->op == CF_REQ_MADVISE && q->arg == MADV_COLLAPSE)
		r = madvise(a, q->len, q->arg);
	return r < 0 ? -errno : 0;
}

/*
 * mlock's family and RLIMIT_MEMLOCK, by the system calls themselves:
 * the sanitizers make the C library's mlock calls do nothing.
 * mlockall(MCL_CURRENT) would lock
 * the driver's own memory too, which counts against the limit where
 * mmlab's process has none: run only without a limit (or with 0: EPERM).
 */
static int64_t do_lock(const struct cf_req *q, char *why)
{
	struct rlimit rl = { (rlim_t)q->len, (rlim_t)q->len };
	void *a = (void *)q->addr;
	long r;

	if (q->arg <= SCN_OP_MUNLOCK && runtime_clash(q->addr, q->len, why))
		return -CF_SKIP;
	switch (q->arg) {
	case SCN_OP_MLOCK:
		r = syscall(SYS_mlock, a, q->len);
		break;
	case SCN_OP_MLOCK2:
		r = syscall(SYS_mlock2, a, q->len, (unsigned)q->arg2);
		break;
	case SCN_OP_MUNLOCK:
		r = syscall(SYS_munlock, a, q->len);
		break;
	case SCN_OP_MLOCKALL:
		if ((q->arg2 & MCL_CURRENT) &&
		    (getrlimit(RLIMIT_MEMLOCK, &rl) || (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur))) {
			snprintf(why, CF_WHY_LEN, "mlockall(MCL_CURRENT) would count the runner's memory");
			return -CF_SKIP;
		}
		r = syscall(SYS_mlockall, (int)q->arg2);
		break;
	case SCN_OP_MUNLOCKALL:
		r = syscall(SYS_munlockall);
		break;
	default:
		if (q->len == UINT64_MAX)
			rl.rlim_cur = rl.rlim_max = RLIM_INFINITY;
		r = setrlimit(RLIMIT_MEMLOCK, &rl);
		break;
	}
	return r < 0 ? -errno : 0;
}

static int64_t do_write(const struct cf_req *q, const unsigned char *pat, char *why)
{
	int r;

	if (runtime_clash(q->addr, q->len, why))
		return -CF_SKIP;
	if (!q->len)
		return 0;
	r = maps_allow(q->addr, q->addr + q->len, true);
	if (r < 0)
		return r;
	return guarded_fill((unsigned char *)q->addr, q->len, pat, q->patn);
}

static int64_t do_read(const struct cf_req *q, char *why)
{
	int r;

	if (runtime_clash(q->addr, q->len, why))
		return -CF_SKIP;
	if (q->len > BOUNCE_SIZE) {
		snprintf(why, CF_WHY_LEN, "reads longer than %llu MiB",
			 BOUNCE_SIZE >> 20);
		return -CF_SKIP;
	}
	if (!q->len)
		return 0;
	r = maps_allow(q->addr, q->addr + q->len, false);
	if (r < 0)
		return r;
	return guarded_copy(d.bounce, (const void *)q->addr, q->len);
}

/*
 * A field of the VMA at q->addr in smaps (kB, or THPeligible).  A VMA that reaches into the
 * driver's own memory (merged with it) would count the driver's pages:
 * skipped.
 */
static int64_t do_smaps(const struct cf_req *q, const unsigned char *pat, char *why,
			uint64_t range[2])
{
	char field[32];
	uint64_t lo = 0, hi = 0;
	int64_t kb;
	int r;

	if (!pat || q->patn >= sizeof(field))
		return -EINVAL;
	memcpy(field, pat, q->patn);
	field[q->patn] = '\0';
	r = proc_read("/proc/thread-self/smaps");
	if (r == -EFBIG) {
		snprintf(why, CF_WHY_LEN, "smaps longer than %zu KiB", sizeof(d.maps) >> 10);
		return -CF_SKIP;
	}
	if (r == 0)
		r = scn_smaps_field(d.maps, q->addr, field, &kb, &lo, &hi);
	if (r == -ENODATA) {
		snprintf(why, CF_WHY_LEN, "the host's smaps has no %s field", field);
		return -CF_SKIP;
	}
	if (r < 0)
		return r;
	if (runtime_clash(lo, hi - lo, why))
		return -CF_SKIP;
	range[0] = lo;
	range[1] = hi;
	return kb;
}

static int64_t do_pin_check(const struct cf_req *q, char *why)
{
	if (runtime_clash(q->addr, q->len * PAGE, why))
		return -CF_SKIP;
	if (q->len > MAX_HOST_PIN) {
		snprintf(why, CF_WHY_LEN, "host pins longer than %d pages", MAX_HOST_PIN);
		return -CF_SKIP;
	}
	return 0;
}

/* ---- tasks ---- */

static void chan_add(int sock)
{
	pthread_mutex_lock(&d.lock);
	if (d.nchan < MAX_CHANNELS)
		d.chan[d.nchan++] = sock;
	pthread_mutex_unlock(&d.lock);
}

/* Remove sock; the number of threads left in this process. */
static int chan_del(int sock)
{
	int i, left;

	pthread_mutex_lock(&d.lock);
	for (i = 0; i < d.nchan; i++) {
		if (d.chan[i] == sock) {
			d.chan[i] = d.chan[--d.nchan];
			break;
		}
	}
	left = d.nchan;
	pthread_mutex_unlock(&d.lock);
	return left;
}

static void serve(int sock) __attribute__((noreturn));

static void *thread_main(void *arg)
{
	serve((int)(intptr_t)arg);
}

/*
 * Thread stacks come from a region reserved when the process starts, so
 * that a `thread` statement maps nothing the scenario's next mapping
 * would have to go around (mmlab's threads map nothing).  A forked
 * process keeps the slots its parent had used: it runs on one of them.
 */
#define STACK_POOL	16
static uint8_t *stack_pool;
static int stack_pool_next;	/* under d.lock */

static void *stack_take(void)
{
	void *stack = NULL;

	pthread_mutex_lock(&d.lock);
	if (stack_pool && stack_pool_next < STACK_POOL)
		stack = stack_pool + (size_t)stack_pool_next++ * STACK_SIZE;
	pthread_mutex_unlock(&d.lock);
	if (stack)
		return stack;
	stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (stack == MAP_FAILED)
		return NULL;
	runtime_add((uintptr_t)stack, (uintptr_t)stack + STACK_SIZE);
	return stack;
}

/* A thread on a stack of our own, recorded as the driver's memory. */
static int64_t new_thread(int sock, char *why)
{
	pthread_attr_t attr;
	pthread_t t;
	void *stack;
	int r;

	if (sock < 0)
		return -EBADF;
	stack = stack_take();
	if (!stack)
		return -errno;
	pthread_attr_init(&attr);
	pthread_attr_setstack(&attr, stack, STACK_SIZE);
	chan_add(sock);
	r = pthread_create(&t, &attr, thread_main, (void *)(intptr_t)sock);
	pthread_attr_destroy(&attr);
	if (r) {
		chan_del(sock);
		close(sock);
		return -r;
	}
	pthread_detach(t);
	return 0;
}

/* The child keeps only its own socket: it is a one-thread process. */
static int64_t new_process(int sock)
{
	pid_t pid;
	int i;

	if (sock < 0)
		return -EBADF;
	pid = fork();
	if (pid < 0) {
		close(sock);
		return -errno;
	}
	if (pid == 0) {
		for (i = 0; i < d.nchan; i++)
			close(d.chan[i]);
		d.nchan = 0;
		pthread_mutex_init(&d.lock, NULL);
		cf_uring_pool_forget();
		cf_driver_main(sock);
	}
	close(sock);
	return pid;
}

static void reply(int sock, struct cf_rep *rep, const void *data, int fd)
{
	if (cf_send(sock, rep, sizeof(*rep), fd) < 0 ||
	    (rep->n && cf_send(sock, data, rep->n, -1) < 0))
		_exit(1);	/* the runner is gone */
	if (fd >= 0)
		close(fd);
}

/* Read what a request carries; the pattern of a write is small. */
static unsigned char *payload(int sock, const struct cf_req *q)
{
	static unsigned char buf[1 << 16];	/* requests are one at a time */

	if (q->patn > sizeof(buf) || cf_recv(sock, buf, q->patn, NULL, -1) < 0)
		_exit(1);
	return buf;
}

static void end_thread(int sock) __attribute__((noreturn));

static void end_thread(int sock)
{
	if (chan_del(sock) == 0)
		_exit(0);	/* the last thread: the process ends */
	close(sock);
	pthread_exit(NULL);
}

static void pin_reply(int sock, const struct cf_req *q, struct cf_rep *rep)
{
	static struct {
		uint64_t pfns[MAX_HOST_PIN];
		struct io_uring_params par;
	} out;
	int fd = -1;

	rep->fd = -1;
	rep->ret = do_pin_check(q, rep->why);
	if (rep->ret)
		;
	else if (q->op == CF_REQ_PIN_URING)
		rep->ret = cf_pin_uring(q, rep->why, &rep->fd, out.pfns, &out.par);
	else
		rep->ret = cf_pin_vmsplice(q, rep->why, &fd, out.pfns);
	if (rep->ret > 0) {
		memmove(&out.pfns[q->len], &out.par, sizeof(out.par));
		rep->n = q->len * 8 + sizeof(out.par);
	}
	reply(sock, rep, &out, fd);
}

static void handle(int sock, const struct cf_req *q, int fd)
{
	static uint64_t pm[MAX_HOST_PIN], range[2];
	const void *data = NULL;
	struct cf_rep rep = { 0 };
	const unsigned char *pat = q->patn ? payload(sock, q) : NULL;

	switch (q->op) {
	case CF_REQ_THREAD:
		rep.ret = new_thread(fd, rep.why);
		fd = -1;
		break;
	case CF_REQ_FORK:
		rep.ret = new_process(fd);
		fd = -1;
		break;
	case CF_REQ_EXIT:
		reply(sock, &rep, NULL, -1);
		end_thread(sock);
	case CF_REQ_MMAP:
		rep.ret = do_mmap(q, rep.why);
		break;
	case CF_REQ_MREMAP:
		rep.ret = do_mremap(q, rep.why);
		break;
	case CF_REQ_MUNMAP:
	case CF_REQ_MPROTECT:
	case CF_REQ_MADVISE:
		rep.ret = do_range(q, rep.why);
		break;
	case CF_REQ_WRITE:
		rep.ret = pat ? do_write(q, pat, rep.why) : -EINVAL;
		break;
	case CF_REQ_READ:
		rep.ret = do_read(q, rep.why);
		if (rep.ret == 0) {
			rep.n = q->len;
			data = d.bounce;
		}
		break;
	case CF_REQ_PAGEMAP:
		rep.ret = q->len > MAX_HOST_PIN ? -EINVAL : cf_pagemap_read(q->addr, q->len, pm);
		if (rep.ret == 0) {
			rep.n = q->len * 8;
			data = pm;
		}
		break;
	case CF_REQ_VMAS:
		rep.ret = vma_count(q->addr, q->addr + q->len);
		break;
	case CF_REQ_SMAPS:
		rep.ret = do_smaps(q, pat, rep.why, range);
		if (rep.ret >= 0) {
			rep.n = sizeof(range);
			data = range;
		}
		break;
	case CF_REQ_PIN_URING:
	case CF_REQ_PIN_VMSPLICE:
		pin_reply(sock, q, &rep);
		return;
	case CF_REQ_CLOSE:
		rep.ret = close((int)q->fd) < 0 ? -errno : 0;
		break;
	case CF_REQ_FCALL:
		rep.ret = do_fcall(q, pat, rep.why, &data, &rep.n);
		break;
	case CF_REQ_NUMA:
		rep.ret = do_numa(q, pat, rep.why, &data, &rep.n);
		break;
	case CF_REQ_PMADVISE:
		rep.ret = do_process_madvise(q, rep.why);
		break;
	case CF_REQ_LOCK:
		rep.ret = do_lock(q, rep.why);
		break;
	case CF_REQ_PRCTL:
		/* The process's own call: PR_SET_MEMORY_MERGE needs CAP_SYS_RESOURCE, which it keeps. */
		rep.ret = prctl((int)q->arg, (unsigned long)q->len, 0UL, 0UL, 0UL);
		if (rep.ret < 0)
			rep.ret = -errno;
		break;
	case CF_REQ_UFFD: {
		static struct uffd_msg msg;

		rep.ret = cf_driver_uffd(q, pat, rep.why, &msg);
		if (q->arg == SCN_OP_EXPECT_UFFD && rep.ret == 0) {
			rep.n = sizeof(msg);
			data = &msg;
		}
		break;
	}
	default:
		rep.ret = -ENOSYS;
		break;
	}
	if (fd >= 0)
		close(fd);
	reply(sock, &rep, data, -1);
}

static void serve(int sock)
{
	struct cf_req q;
	int fd;

	for (;;) {
		if (cf_recv(sock, &q, sizeof(q), &fd, -1) < 0)
			end_thread(sock);	/* the runner closed it: end */
		handle(sock, &q, fd);
	}
}

/*
 * Model what mmlab models: an unprivileged process (deviation 4: no
 * CAP_SYS_RAWIO, so mmap_min_addr holds; no CAP_IPC_LOCK, so
 * RLIMIT_MEMLOCK holds, at mmlab's default) but for CAP_SYS_NICE, which
 * mmlab's processes have too (MPOL_MF_MOVE_ALL, process_madvise of another
 * process's memory), with THP where its settings
 * match mmlab's (thp.c), else none at all.  CAP_SYS_ADMIN stays: pagemap
 * shows frames only to it.
 */
static void become_modelled(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct c[2];
	struct rlimit memlock = { MML_RLIMIT_MEMLOCK, MML_RLIMIT_MEMLOCK };

	if (!cf_host_thp_usable(NULL))
		prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	if (syscall(SYS_capget, &h, c) == 0) {
		c[CAP_SYS_RAWIO / 32].effective &= ~(1u << (CAP_SYS_RAWIO % 32));
		c[CAP_IPC_LOCK / 32].effective &= ~(1u << (CAP_IPC_LOCK % 32));
		syscall(SYS_capset, &h, c);
	}
	/* mmlab's processes start with Linux's default limit (a shell's ulimit -l may differ) */
	setrlimit(RLIMIT_MEMLOCK, &memlock);
}

static void install_guard(void)
{
	struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO | SA_NODEFER };

	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	/* forked children are reaped by the kernel, not left as zombies */
	signal(SIGCHLD, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
}

/* The first task of a process the runner spawned. */
void cf_driver_main(int sock)
{
	if (!d.bounce) {
		mallopt(M_ARENA_MAX, 1);	/* no arenas appear later */
		/* open's MODE less a umask of 022, as mmlab's machine (deviations.md #34) */
		umask(022);
		become_modelled();
		install_guard();
		d.bounce = mmap(NULL, BOUNCE_SIZE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (d.bounce == MAP_FAILED)
			_exit(1);
		cf_uring_pool_fill();
		stack_pool = mmap(NULL, STACK_POOL * STACK_SIZE, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (stack_pool == MAP_FAILED)
			stack_pool = NULL;
		fill_runtime_gaps();
		runtime_snapshot();
	}
	chan_add(sock);
	serve(sock);
}
