/*
 * driver.c - the host side of a scenario task: a thread of a real
 * process that executes each statement with the real system calls.
 *
 * The runner forks a driver for each "spawn"; "thread" is a pthread of
 * the same process and "fork" a real fork, so the kernel sees exactly
 * the processes and threads the scenario describes.  Loads and stores
 * are plain CPU accesses guarded against SIGSEGV; a range is checked
 * against /proc/self/maps first so that an access that would fault
 * reports EFAULT and changes nothing, as mml_read/mml_write do.
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
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/capability.h>

#include "native/conform.h"
#include "native/proto.h"

#define PAGE		4096ULL
#define BOUNCE_SIZE	(16ULL << 20)	/* longest read the host runs */
#define MAX_RUNTIME	512		/* the driver's own mappings */
#define MAX_CHANNELS	64		/* threads of one process */
#define STACK_SIZE	(256ULL << 10)
#define MAX_HOST_PIN	256		/* pages: pipe and pagemap buffers */

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
} d = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* ---- the access guard ---- */

static __thread sigjmp_buf *guard;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	if (guard)
		siglongjmp(*guard, 1);
	/* a fault outside a guarded access is a driver bug: die of it */
	signal(sig, SIG_DFL);
}

/* memcpy that turns a SIGSEGV or SIGBUS into -EFAULT */
static int guarded_copy(void *dst, const void *src, size_t n)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 1)) {
		guard = NULL;
		return -EFAULT;
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

	if (sigsetjmp(jb, 1)) {
		guard = NULL;
		return -EFAULT;
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

/* The next "lo-hi perms" line from *pos; false at the end. */
static bool maps_next(const char **pos, uint64_t *lo, uint64_t *hi, char perms[5])
{
	unsigned long long a, b;
	const char *p = *pos;

	while (*p) {
		const char *nl = strchr(p, '\n');

		*pos = nl ? nl + 1 : p + strlen(p);
		if (sscanf(p, "%llx-%llx %4s", &a, &b, perms) == 3) {
			*lo = a;
			*hi = b;
			return true;
		}
		p = *pos;
	}
	return false;
}

/*
 * Would an access to [lo, hi) fault?  Every byte must be in a VMA that
 * allows it: writes need 'w', loads any permission (x86 reads through
 * write-only and exec-only mappings; the guard catches what is left).
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

/* ---- requests ---- */

static int64_t do_mmap(const struct cf_req *q, char *why)
{
	void *p;

	if ((q->arg2 & (MAP_FIXED | MAP_FIXED_NOREPLACE)) &&
	    runtime_clash(q->addr, q->len, why))
		return -CF_SKIP;
	p = mmap((void *)q->addr, q->len, q->arg, q->arg2, q->fd, q->off);
	return p == MAP_FAILED ? -errno : (int64_t)(uintptr_t)p;
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
	else
		r = madvise(a, q->len, q->arg);
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
 * A kB field of the VMA at q->addr in smaps.  A VMA that reaches into the
 * driver's own memory (merged with it) would count the driver's pages:
 * skipped.
 */
static int64_t do_smaps(const struct cf_req *q, const unsigned char *pat, char *why)
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
	return kb;
}

/* n pagemap entries from addr into out (at most MAX_HOST_PIN) */
static int pagemap_read(uint64_t addr, uint64_t n, uint64_t *out)
{
	int fd = open("/proc/thread-self/pagemap", O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return -errno;
	r = pread(fd, out, n * 8, (addr / PAGE) * 8);
	close(fd);
	if (r < 0)
		return -errno;
	return r == (ssize_t)(n * 8) ? 0 : -EIO;
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

/*
 * io_uring_register_buffers: pin_user_pages(FOLL_WRITE | FOLL_LONGTERM).
 * The ring goes to the runner, which holds the pin from then on: a
 * device's pin outlives the process that took it.  An io_uring file
 * cannot travel over a socket, so the runner takes it with
 * pidfd_getfd() and then asks this process to close its own (CLOSE).
 */
static int64_t pin_uring(const struct cf_req *q, char *why, int64_t *fdnum,
			 uint64_t *pfns, struct io_uring_params *par)
{
	struct iovec iov = { (void *)q->addr, q->len * PAGE };
	struct io_uring ring;
	int64_t r = do_pin_check(q, why);

	if (r)
		return r;
	memset(par, 0, sizeof(*par));
	r = io_uring_queue_init_params(4, &ring, par);
	if (r < 0) {
		snprintf(why, CF_WHY_LEN, "io_uring_setup: %s", strerror((int)-r));
		return -CF_SKIP;
	}
	r = io_uring_register_buffers(&ring, &iov, 1);
	if (r == 0)
		r = pagemap_read(q->addr, q->len, pfns);
	if (r == 0) {
		*fdnum = dup(ring.ring_fd);
		r = *fdnum < 0 ? -errno : (int64_t)q->len;
	}
	io_uring_queue_exit(&ring);
	return r;
}

/*
 * vmsplice: get_user_pages() references held by a pipe.  The pipe's read
 * end goes to the runner, which reads the pages through tee() copies.
 */
static int64_t pin_vmsplice(const struct cf_req *q, char *why, int *fd,
			    uint64_t *pfns)
{
	struct iovec iov = { (void *)q->addr, q->len * PAGE };
	int64_t r = do_pin_check(q, why);
	int p[2];
	ssize_t n;

	if (r)
		return r;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	if (fcntl(p[1], F_SETPIPE_SZ, (int)(q->len * PAGE)) < 0) {
		r = -errno;
		goto out;
	}
	n = vmsplice(p[1], &iov, 1, SPLICE_F_NONBLOCK);
	if (n < 0) {
		r = -errno;
		goto out;
	}
	if ((uint64_t)n != q->len * PAGE) {
		r = -EFAULT;	/* a partial get: the page that stopped it faulted */
		goto out;
	}
	r = pagemap_read(q->addr, q->len, pfns);
	if (r == 0) {
		*fd = p[0];
		p[0] = -1;
		r = q->len;
	}
out:
	if (p[0] >= 0)
		close(p[0]);
	close(p[1]);
	return r;
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

/* A thread on a stack of our own, recorded as the driver's memory. */
static int64_t new_thread(int sock, char *why)
{
	pthread_attr_t attr;
	pthread_t t;
	void *stack;
	int r;

	if (sock < 0)
		return -EBADF;
	stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (stack == MAP_FAILED)
		return -errno;
	runtime_add((uintptr_t)stack, (uintptr_t)stack + STACK_SIZE);
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
	if (q->op == CF_REQ_PIN_URING)
		rep->ret = pin_uring(q, rep->why, &rep->fd, out.pfns, &out.par);
	else
		rep->ret = pin_vmsplice(q, rep->why, &fd, out.pfns);
	if (rep->ret > 0) {
		memmove(&out.pfns[q->len], &out.par, sizeof(out.par));
		rep->n = q->len * 8 + sizeof(out.par);
	}
	reply(sock, rep, &out, fd);
}

static void handle(int sock, const struct cf_req *q, int fd)
{
	static uint64_t pm[MAX_HOST_PIN];
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
		rep.ret = q->len > MAX_HOST_PIN ? -EINVAL : pagemap_read(q->addr, q->len, pm);
		if (rep.ret == 0) {
			rep.n = q->len * 8;
			data = pm;
		}
		break;
	case CF_REQ_VMAS:
		rep.ret = vma_count(q->addr, q->addr + q->len);
		break;
	case CF_REQ_SMAPS:
		rep.ret = do_smaps(q, pat, rep.why);
		break;
	case CF_REQ_PIN_URING:
	case CF_REQ_PIN_VMSPLICE:
		pin_reply(sock, q, &rep);
		return;
	case CF_REQ_CLOSE:
		rep.ret = close((int)q->fd) < 0 ? -errno : 0;
		break;
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
 * CAP_SYS_RAWIO, so mmap_min_addr holds) on a kernel without THP
 * (deviation 7).  CAP_SYS_ADMIN stays: pagemap shows frames only to it.
 */
static void become_modelled(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct c[2];

	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	if (syscall(SYS_capget, &h, c) == 0) {
		c[CAP_SYS_RAWIO / 32].effective &= ~(1u << (CAP_SYS_RAWIO % 32));
		syscall(SYS_capset, &h, c);
	}
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
		become_modelled();
		install_guard();
		d.bounce = mmap(NULL, BOUNCE_SIZE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (d.bounce == MAP_FAILED)
			_exit(1);
		runtime_snapshot();
	}
	chan_add(sock);
	serve(sock);
}
