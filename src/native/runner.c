/*
 * runner.c - the host back end: scenario tasks as real processes and
 * threads on the kernel we run on, each served by driver.c over a socket.
 *
 * The runner keeps every socket, every pid it learns and every pin; at
 * stop() it kills and reaps what is left, so a failed or hung scenario
 * leaves nothing behind.  It is the children's subreaper, so that the
 * children of a driver that exited come back to it to be reaped.
 *
 * Pins live in the runner, as a device's pins live in the device: an
 * io_uring ring whose registered buffer is the pin (FOLL_WRITE |
 * FOLL_LONGTERM), or a pipe that holds vmsplice's page references.
 *
 * Whatever the host is left with goes at stop(), after the processes
 * are gone, or first thing when a signal ends the runner (SIGINT,
 * SIGTERM, SIGHUP: `timeout`, ^C): swap files (hostswap.c), the
 * scenario's files (files.c), THP knobs put back (hostsys.c).
 */
#define _GNU_SOURCE	/* pipe2, vmsplice, tee, F_SETPIPE_SZ, asprintf */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mmlab.h"
#include "native/conform.h"
#include "native/host.h"
#include "native/proto.h"

#define PAGE		4096ULL
#define MAX_PAGEMAP	256		/* entries per request, as the driver */
#define DMA_CHUNK	(1ULL << 20)	/* one pipe's worth */

struct host_task {
	int sock;		/* -1 once exited */
	pid_t pid;		/* of its process */
};

enum { PIN_URING = 1, PIN_PIPE };

struct host_pin {
	int kind;		/* 0: released */
	int fd;
	struct io_uring ring;	/* PIN_URING: mapped from fd */
	uint64_t base, npages;	/* the pinned range, in the pinning process */
	uint64_t *pfn;		/* frames right after the pin: what it holds */
};

struct host {
	struct host_task *task;
	int ntask, captask;
	struct host_pin *pin;
	int npin, cappin;
	pid_t *pids;		/* every process ever made, for the cleanup */
	int npids, cappids;
	int timeout_ms;
	bool broken;
	int64_t last_fd;	/* cf_rep.fd of the latest answer */
	int cpu;		/* where every host task runs */
	int nodes;		/* the host's NUMA nodes with memory */
	int machine_nodes;	/* the scenario's machine's (machine nodes=N) */
	struct { int task, fd; } uffd[64];	/* userfaultfds by handle: the task that reads it, its number there */
	int nuffd;
};

static struct host *H(struct cf_backend *b)
{
	return b->priv;
}

int cf_grow(void **arr, int *cap, int need, size_t size)
{
	void *n;
	int c = *cap ? *cap : 8;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	n = realloc(*arr, c * size);
	if (!n)
		return -ENOMEM;
	memset((char *)n + *cap * size, 0, (c - *cap) * size);
	*arr = n;
	*cap = c;
	return 0;
}

static void pid_add(struct host *h, pid_t pid)
{
	if (pid > 0 && !cf_grow((void **)&h->pids, &h->cappids, h->npids + 1, sizeof(pid_t)))
		h->pids[h->npids++] = pid;
}

/* A failure of the runner itself: remembered, reported, never agreement. */
static int broken(struct cf_backend *b, const char *what, int err)
{
	snprintf(b->why, sizeof(b->why), "host runner: %s: %s", what,
		 err == -ETIMEDOUT ? "no answer in time (hung?)" :
		 err == -EPIPE ? "the host process died" : strerror(-err));
	H(b)->broken = true;
	return -CF_BROKEN;
}

/* ---- one request, one answer ---- */

static int64_t call(struct cf_backend *b, int task, struct cf_req *q,
		    const void *pat, int fd_out, void *data, size_t max,
		    int *fd_in)
{
	struct host *h = H(b);
	struct host_task *t = &h->task[task];
	struct cf_rep rep;
	int r;

	if (fd_in)
		*fd_in = -1;
	if (h->broken)
		return -CF_BROKEN;
	r = cf_send(t->sock, q, sizeof(*q), fd_out);
	if (!r && q->patn)
		r = cf_send(t->sock, pat, q->patn, -1);
	if (!r)
		r = cf_recv(t->sock, &rep, sizeof(rep), fd_in, h->timeout_ms);
	if (r < 0)
		return broken(b, "request", r);
	if (rep.n > max) {
		if (fd_in && *fd_in >= 0)
			close(*fd_in);
		return broken(b, "answer", -EPROTO);
	}
	if (rep.n && (r = cf_recv(t->sock, data, rep.n, NULL, h->timeout_ms)) < 0)
		return broken(b, "answer payload", r);
	h->last_fd = rep.fd;
	if (rep.ret == -CF_SKIP)
		snprintf(b->why, sizeof(b->why), "%.*s", CF_WHY_LEN, rep.why);
	return rep.ret;
}

static int new_task(struct host *h, int sock, pid_t pid)
{
	if (cf_grow((void **)&h->task, &h->captask, h->ntask + 1, sizeof(*h->task)))
		return -ENOMEM;
	h->task[h->ntask] = (struct host_task){ sock, pid };
	return h->ntask++;
}

/* ---- tasks ---- */

static int spawn(struct cf_backend *b, int *child)
{
	struct host *h = H(b);
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -errno;
	}
	if (pid == 0) {
		cpu_set_t one;

		/*
		 * One CPU for every task: Linux's per-CPU LRU batches hold
		 * folio references that only the local CPU drains, and a
		 * folio left in another CPU's batch makes do_wp_page copy
		 * where it would reuse (deviations.md #21).  mmlab has no
		 * such batches; on one CPU, Linux's answer is deterministic.
		 */
		CPU_ZERO(&one);
		CPU_SET(h->cpu, &one);
		sched_setaffinity(0, sizeof(one), &one);
		/* the runner's swap cleanup on signals is not the driver's */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		/* nothing of the runner's: no other socket, no pin */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(sv[1], 3);
		syscall(SYS_close_range, 4, ~0U, 0);
		cf_driver_main(3);
	}
	close(sv[1]);
	pid_add(h, pid);
	*child = new_task(h, sv[0], pid);
	return *child < 0 ? *child : 0;
}

static int host_task(struct cf_backend *b, int kind, int parent, int *child)
{
	struct host *h = H(b);
	struct cf_req q = { .op = kind == SCN_OP_FORK ? CF_REQ_FORK : CF_REQ_THREAD };
	int64_t r;
	int sv[2];

	if (kind == SCN_OP_SPAWN)
		return spawn(b, child);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	r = call(b, parent, &q, NULL, sv[1], NULL, 0, NULL);
	close(sv[1]);
	if (r < 0) {
		close(sv[0]);
		return (int)r;
	}
	if (kind == SCN_OP_FORK)
		pid_add(h, (pid_t)r);
	*child = new_task(h, sv[0], kind == SCN_OP_FORK ? (pid_t)r : h->task[parent].pid);
	return *child < 0 ? *child : 0;
}

/* Answered, then gone: wait for the socket to close, so the mm is torn down. */
static int host_exit(struct cf_backend *b, int task)
{
	struct host *h = H(b);
	struct cf_req q = { .op = CF_REQ_EXIT };
	int64_t r = call(b, task, &q, NULL, -1, NULL, 0, NULL);
	char c;

	if (r < 0)
		return (int)r;
	r = cf_recv(h->task[task].sock, &c, 1, NULL, h->timeout_ms);
	close(h->task[task].sock);
	h->task[task].sock = -1;
	if (r != -EPIPE)
		return broken(b, "exit", r ? (int)r : -EPROTO);
	return 0;
}

/* ---- memory ---- */

/*
 * Memory tags are arm64's: an x86-64 host ignores PROT_MTE in mmap and
 * refuses it in mprotect, and has no tags to load or store.
 */
static int no_mte(struct cf_backend *b)
{
	snprintf(b->why, sizeof(b->why), "memory tags (PROT_MTE) are arm64's MTE; this host "
		 "runner does not use them");
	return -CF_SKIP;
}

static int64_t host_mmap(struct cf_backend *b, int task, uint64_t addr, uint64_t len,
			 long prot, long flags, long fd, int64_t off)
{
	struct cf_req q = { .op = CF_REQ_MMAP, .addr = addr, .len = len,
			    .arg = prot, .arg2 = flags, .fd = fd, .off = off };

	if (prot & MML_PROT_MTE)
		return no_mte(b);

	return call(b, task, &q, NULL, -1, NULL, 0, NULL);
}

static int64_t host_mremap(struct cf_backend *b, int task, uint64_t old_addr, uint64_t old_len,
			   uint64_t new_len, long flags, uint64_t new_addr)
{
	struct cf_req q = { .op = CF_REQ_MREMAP, .addr = old_addr, .len = old_len,
			    .arg = (int64_t)new_len, .arg2 = flags, .off = (int64_t)new_addr };

	return call(b, task, &q, NULL, -1, NULL, 0, NULL);
}

static int host_range(struct cf_backend *b, int kind, int task, uint64_t addr,
		      uint64_t len, long arg)
{
	struct cf_req q = { .addr = addr, .len = len, .arg = arg };

	if (kind == SCN_OP_MPROTECT && (arg & MML_PROT_MTE))
		return no_mte(b);
	q.op = kind == SCN_OP_MUNMAP ? CF_REQ_MUNMAP :
	       kind == SCN_OP_MPROTECT ? CF_REQ_MPROTECT : CF_REQ_MADVISE;
	if (q.op == CF_REQ_MADVISE && arg == MADV_POPULATE_READ) {
		uint64_t *before = cf_host_zero_watch(b, task, addr, len);

		return (int)cf_host_zero_check(b, task, addr, len, before, call(b, task, &q, NULL, -1, NULL, 0, NULL));
	}
	return (int)call(b, task, &q, NULL, -1, NULL, 0, NULL);
}

static int host_write(struct cf_backend *b, int task, uint64_t addr, uint64_t len,
		      const struct scn_pattern *pat)
{
	struct cf_req q = { .op = CF_REQ_WRITE, .addr = addr, .len = len,
			    .patn = (uint32_t)pat->n };

	if (pat->n > (1 << 16)) {
		snprintf(b->why, sizeof(b->why), "write patterns longer than 64 KiB");
		return -CF_SKIP;
	}
	return (int)call(b, task, &q, pat->bytes, -1, NULL, 0, NULL);
}

static int host_read(struct cf_backend *b, int task, uint64_t addr, uint64_t len,
		     unsigned char *buf)
{
	struct cf_req q = { .op = CF_REQ_READ, .addr = addr, .len = len };
	uint64_t *before = cf_host_zero_watch(b, task, addr, len);

	return (int)cf_host_zero_check(b, task, addr, len, before, call(b, task, &q, NULL, -1, buf, len, NULL));
}

static int host_pagemap(struct cf_backend *b, int task, uint64_t addr, uint64_t n,
			uint64_t *e)
{
	uint64_t i, k;
	int64_t r;

	for (i = 0; i < n; i += k) {
		struct cf_req q = { .op = CF_REQ_PAGEMAP, .addr = addr + i * PAGE };

		k = n - i < MAX_PAGEMAP ? n - i : MAX_PAGEMAP;
		q.len = k;
		r = call(b, task, &q, NULL, -1, e + i, k * 8, NULL);
		if (r < 0)
			return (int)r;
	}
	return 0;
}

static int host_vmas(struct cf_backend *b, int task, uint64_t lo, uint64_t hi)
{
	struct cf_req q = { .op = CF_REQ_VMAS, .addr = lo, .len = hi - lo };

	return (int)call(b, task, &q, NULL, -1, NULL, 0, NULL);
}

/*
 * The field's name rides as the payload; the answer is the value in kB,
 * and the VMA's range as its payload.
 */
static int host_smaps(struct cf_backend *b, int task, uint64_t addr, const char *field,
		      int64_t *kb, uint64_t *lo, uint64_t *hi)
{
	struct cf_req q = { .op = CF_REQ_SMAPS, .addr = addr, .patn = (uint32_t)strlen(field) };
	uint64_t range[2] = { 0, 0 };
	int64_t r = call(b, task, &q, field, -1, range, sizeof(range), NULL);

	if (r < 0)
		return (int)r;
	*kb = r;
	if (lo)
		*lo = range[0];
	if (hi)
		*hi = range[1];
	return 0;
}

/* ---- counters ---- */

/* "name value" (vmstat) or "Name:   value kB" (meminfo) from a /proc file */
int cf_proc_counter(const char *path, const char *name, long *v)
{
	FILE *f;
	int fd;

	/*
	 * Page counts (AnonPages, nr_anon_pages) are cached per CPU and
	 * folded in only now and then; make them exact first (root only).
	 */
	fd = open("/proc/sys/vm/stat_refresh", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "1", 1) < 0) {
			/* not root: the counters may lag */
		}
		close(fd);
	}
	f = fopen(path, "re");
	char line[256];
	size_t n = strlen(name);
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, name, n) && (line[n] == ' ' || line[n] == ':')) {
			*v = strtol(line + n + 1, NULL, 10);
			r = 0;
			break;
		}
	}
	fclose(f);
	return r;
}

/*
 * Counters whose change in a short window is the scenario's own on a host
 * running other programs: events that almost nothing else causes.
 */
static bool quiet_counter(enum scn_stat_src src, const char *name)
{
	static const char *const quiet[] = { "pglazyfree", "pglazyfreed", NULL };
	int i;

	for (i = 0; src == SCN_VMSTAT && quiet[i]; i++)
		if (!strcmp(name, quiet[i]))
			return true;
	return false;
}

static int host_stat(struct cf_backend *b, enum scn_stat_src src, const char *name,
		     bool delta, long *v)
{
	if (!delta || !quiet_counter(src, name)) {
		snprintf(b->why, sizeof(b->why), "the host's %s %s is system-wide: "
			 "other programs move it", src == SCN_VMSTAT ? "vmstat" : "meminfo",
			 name);
		return -CF_SKIP;
	}
	return cf_proc_counter(src == SCN_VMSTAT ? "/proc/vmstat" : "/proc/meminfo", name, v);
}

/* ---- pins ---- */

static void pin_release(struct host_pin *p)
{
	if (p->kind == PIN_URING) {
		/* unregister first: closing the ring would unpin only later */
		io_uring_unregister_buffers(&p->ring);
		io_uring_queue_exit(&p->ring);
	} else if (p->kind == PIN_PIPE) {
		close(p->fd);
	}
	free(p->pfn);
	p->pfn = NULL;
	p->kind = 0;
}

/* Which host call takes this pin, or -CF_SKIP. */
static int pin_kind(struct cf_backend *b, long foll, bool get)
{
	long f = foll & ~MML_FOLL_FAST;

	if (!get && f == (MML_FOLL_WRITE | MML_FOLL_LONGTERM))
		return PIN_URING;
	if (get && f == 0)
		return PIN_PIPE;
	snprintf(b->why, sizeof(b->why), "no host interface takes this %s "
		 "(io_uring pins write,longterm; vmsplice gets ro)", get ? "get" : "pin");
	return -CF_SKIP;
}

static int64_t pin_keep(struct host *h, struct cf_req *q, int kind, int fd,
			const uint64_t *out, int *pin)
{
	struct host_pin *p;
	int r;

	if (cf_grow((void **)&h->pin, &h->cappin, h->npin + 1, sizeof(*h->pin)))
		return -ENOMEM;
	p = &h->pin[h->npin];
	p->pfn = malloc(q->len * 8);
	if (!p->pfn)
		return -ENOMEM;
	memcpy(p->pfn, out, q->len * 8);
	p->kind = kind;
	p->fd = fd;
	p->base = q->addr;
	p->npages = q->len;
	if (kind == PIN_URING) {
		struct io_uring_params par;

		memcpy(&par, out + q->len, sizeof(par));
		r = io_uring_queue_mmap(fd, &par, &p->ring);
		if (r < 0) {
			close(fd);
			free(p->pfn);
			p->kind = 0;
			return r;
		}
	}
	*pin = h->npin++;
	return q->len;
}

/*
 * Take the ring the driver holds as its descriptor fdnum (pidfd_getfd:
 * io_uring files cannot be sent over sockets), then let it close its own.
 */
static int take_ring(struct cf_backend *b, int task, int64_t fdnum)
{
	struct host *h = H(b);
	struct cf_req q = { .op = CF_REQ_CLOSE, .fd = fdnum };
	int pidfd = (int)syscall(SYS_pidfd_open, h->task[task].pid, 0);
	int fd = -1;
	int64_t r;

	if (pidfd >= 0) {
		fd = (int)syscall(SYS_pidfd_getfd, pidfd, (int)fdnum, 0);
		if (fd >= 0)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
		close(pidfd);
	}
	if (fd < 0)
		snprintf(b->why, sizeof(b->why), "pidfd_getfd of the io_uring ring: %s",
			 strerror(errno));
	r = call(b, task, &q, NULL, -1, NULL, 0, NULL);
	if (r < 0 && fd >= 0) {
		close(fd);
		return (int)r;
	}
	return fd < 0 ? -CF_SKIP : fd;
}

static int64_t host_pin(struct cf_backend *b, int task, uint64_t addr, uint64_t npages,
			long foll, bool get, bool keep, int *pin)
{
	struct host *h = H(b);
	struct cf_req q = { .addr = addr, .len = npages };
	int kind = pin_kind(b, foll, get), fd;
	uint64_t *out;
	size_t max;
	int64_t r;

	if (kind < 0)
		return kind;
	q.op = kind == PIN_URING ? CF_REQ_PIN_URING : CF_REQ_PIN_VMSPLICE;
	max = npages * 8 + sizeof(struct io_uring_params);
	out = malloc(max);
	if (!out)
		return -ENOMEM;
	r = call(b, task, &q, NULL, -1, out, max, &fd);
	if (r > 0 && kind == PIN_URING) {
		fd = take_ring(b, task, h->last_fd);
		if (fd < 0)
			r = fd;
	}
	if (r > 0 && keep) {
		r = pin_keep(h, &q, kind, fd, out, pin);
	} else if (fd >= 0) {
		/* the unnamed form: what it took goes back at once */
		if (kind == PIN_URING)
			syscall(__NR_io_uring_register, fd, IORING_UNREGISTER_BUFFERS, NULL, 0);
		close(fd);
	}
	free(out);
	return r;
}

static void host_unpin(struct cf_backend *b, int pin)
{
	pin_release(&H(b)->pin[pin]);
}

/* One fixed-buffer transfer between the pinned pages and a pipe end. */
static int uring_xfer(struct cf_backend *b, struct host_pin *p, bool to_pages,
		      int pipefd, uint64_t off, uint64_t n)
{
	struct __kernel_timespec ts = { H(b)->timeout_ms / 1000,
					(H(b)->timeout_ms % 1000) * 1000000LL };
	struct io_uring_sqe *sqe = io_uring_get_sqe(&p->ring);
	struct io_uring_cqe *cqe;
	void *at = (void *)(uintptr_t)(p->base + off);
	int r;

	if (!sqe)
		return -EBUSY;
	if (to_pages)
		io_uring_prep_read_fixed(sqe, pipefd, at, n, -1, 0);
	else
		io_uring_prep_write_fixed(sqe, pipefd, at, n, -1, 0);
	r = io_uring_submit(&p->ring);
	if (r < 0)
		return r;
	r = io_uring_wait_cqe_timeout(&p->ring, &cqe, &ts);
	if (r < 0)
		return broken(b, "io_uring completion", r == -ETIME ? -ETIMEDOUT : r);
	r = cqe->res;
	io_uring_cqe_seen(&p->ring, cqe);
	return r < 0 ? r : (uint64_t)r == n ? 0 : -EIO;
}

/* A pipe of DMA_CHUNK bytes; both ends close-on-exec. */
static int chunk_pipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	if (fcntl(p[1], F_SETPIPE_SZ, (int)DMA_CHUNK) < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	return 0;
}

/* read exactly n bytes from a pipe, or give up after the timeout */
static int pipe_read(struct cf_backend *b, int fd, unsigned char *buf, uint64_t n)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t r;

	while (n) {
		if (poll(&pfd, 1, H(b)->timeout_ms) <= 0)
			return broken(b, "pipe read", -ETIMEDOUT);
		r = read(fd, buf, n);
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		buf += r;
		n -= r;
	}
	return 0;
}

static int uring_dma(struct cf_backend *b, struct host_pin *p, bool to_pages,
		     uint64_t off, uint64_t len, unsigned char *buf)
{
	uint64_t done, n;
	int pp[2], r = 0;

	r = chunk_pipe(pp);
	if (r < 0)
		return r;
	for (done = 0; done < len && !r; done += n) {
		n = len - done < DMA_CHUNK ? len - done : DMA_CHUNK;
		if (to_pages) {
			r = write(pp[1], buf + done, n) == (ssize_t)n ? 0 : -EIO;
			if (!r)
				r = uring_xfer(b, p, true, pp[0], off + done, n);
		} else {
			r = uring_xfer(b, p, false, pp[1], off + done, n);
			if (!r)
				r = pipe_read(b, pp[0], buf + done, n);
		}
	}
	close(pp[0]);
	close(pp[1]);
	return r;
}

/*
 * The device reads what vmsplice holds: tee() copies the references to
 * a second pipe, which is read; the pin's own pipe keeps them all.
 */
static int pipe_dma_read(struct cf_backend *b, struct host_pin *p, uint64_t off,
			 uint64_t len, unsigned char *buf)
{
	uint64_t total = p->npages * PAGE;
	unsigned char *all = malloc(total);
	int t[2], r;
	ssize_t n;

	if (!all)
		return -ENOMEM;
	r = -errno;
	if (pipe2(t, O_CLOEXEC) < 0)
		goto out;
	r = fcntl(t[1], F_SETPIPE_SZ, (int)total) < 0 ? -errno : 0;
	if (!r) {
		n = tee(p->fd, t[1], total, SPLICE_F_NONBLOCK);
		r = n == (ssize_t)total ? pipe_read(b, t[0], all, total) : -EIO;
	}
	if (!r)
		memcpy(buf, all + off, len);
	close(t[0]);
	close(t[1]);
out:
	free(all);
	return r;
}

static int dma_check(struct cf_backend *b, struct host_pin *p, uint64_t off,
		     uint64_t len, bool write)
{
	if (off + len < off || off + len > p->npages * PAGE) {
		snprintf(b->why, sizeof(b->why), "a DMA past the pinned pages has no "
			 "host operation (mmlab's API says EINVAL)");
		return -CF_SKIP;
	}
	if (write && p->kind != PIN_URING) {
		snprintf(b->why, sizeof(b->why), "a device write through a read-only "
			 "reference has no host operation (mmlab's API says EPERM)");
		return -CF_SKIP;
	}
	return 0;
}

static int host_dma_read(struct cf_backend *b, int pin, uint64_t off, uint64_t len,
			 unsigned char *buf)
{
	struct host_pin *p = &H(b)->pin[pin];
	int r = dma_check(b, p, off, len, false);

	if (r || !len)
		return r;
	if (p->kind == PIN_URING)
		return uring_dma(b, p, false, off, len, buf);
	return pipe_dma_read(b, p, off, len, buf);
}

static int host_dma_write(struct cf_backend *b, int pin, uint64_t off, uint64_t len,
			  const struct scn_pattern *pat)
{
	struct host_pin *p = &H(b)->pin[pin];
	int r = dma_check(b, p, off, len, true);
	unsigned char *buf;
	uint64_t i;

	if (r || !len)
		return r;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < len; i++)
		buf[i] = pat->bytes[i % pat->n];
	r = uring_dma(b, p, true, off, len, buf);
	free(buf);
	return r;
}

static int host_pin_pfn(struct cf_backend *b, int pin, uint64_t i, uint64_t *pfn)
{
	*pfn = H(b)->pin[pin].pfn[i] & MML_PM_PFRAME_MASK;
	return 0;
}

/* ---- what the host must not be left with ---- */

static pid_t emerg_owner;
static bool emerg_armed;

static void emerg_cleanup(void)
{
	if (getpid() != emerg_owner)
		return;
	cf_host_files_emerg();
	cf_host_sys_emerg();
	cf_host_swap_emerg();
}

static void emerg_signal(int sig)
{
	emerg_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

void cf_emerg_arm(void)
{
	struct sigaction sa;

	if (emerg_armed)
		return;
	emerg_armed = true;
	emerg_owner = getpid();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = emerg_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	atexit(emerg_cleanup);
}

/* ---- files ---- */

/*
 * Paths become the run's private host paths (files.c) and ride as the
 * payload with a memfd's name and pwrite's pattern; drop-caches is the
 * runner's own, on the files the live processes hold.
 */
static int64_t host_fcall(struct cf_backend *b, int task, const struct cf_fcall *c, void *out)
{
	struct host *h = H(b);
	struct cf_req q = { .op = CF_REQ_FCALL, .arg = c->kind, .arg2 = c->flags, .fd = c->fd,
			    .off = c->off, .addr = c->addr, .len = c->len };
	const void *pay = NULL;
	char path[4096 + 256];
	size_t max = 0;
	pid_t *pids;
	int i, n, r;

	switch (c->kind) {
	case SCN_OP_DROP_CACHES:
		pids = calloc(h->ntask + 1, sizeof(*pids));
		if (!pids)
			return -ENOMEM;
		for (i = n = 0; i < h->ntask; i++)
			if (h->task[i].sock >= 0)
				pids[n++] = h->task[i].pid;
		r = cf_host_drop_caches(b, (int)c->flags, pids, n);
		free(pids);
		return r;
	case SCN_OP_OPEN:
	case SCN_OP_UNLINK:
	case SCN_OP_EXPECT_STATVFS:
		r = cf_host_path(b, c->path, path, sizeof(path));
		if (r < 0)
			return r;
		q.off = c->mode;
		pay = path;
		q.patn = (uint32_t)strlen(path);
		if (c->kind == SCN_OP_EXPECT_STATVFS)
			max = sizeof(struct statvfs);
		break;
	case SCN_OP_MEMFD:
		pay = c->path;
		q.patn = (uint32_t)strlen(c->path);
		break;
	case SCN_OP_PWRITE:
		if (c->pat->n > (1 << 16)) {
			snprintf(b->why, sizeof(b->why), "pwrite patterns longer than 64 KiB");
			return -CF_SKIP;
		}
		pay = c->pat->bytes;
		q.patn = (uint32_t)c->pat->n;
		break;
	case SCN_OP_PREAD:
		max = c->len;
		break;
	case SCN_OP_EXPECT_MINCORE:
		max = (c->len + PAGE - 1) / PAGE;
		break;
	case SCN_OP_EXPECT_FSTAT:
		max = sizeof(struct cf_stat);
		break;
	case SCN_OP_FICLONE:
		q.arg2 = c->src_fd;
		break;
	}
	return call(b, task, &q, pay, -1, out, max, NULL);
}

static int64_t host_reclaim(struct cf_backend *b, uint64_t npages)
{
	snprintf(b->why, sizeof(b->why), "no host equivalent of direct reclaim");
	return -CF_SKIP;
}

static int host_tag(struct cf_backend *b, int task, uint64_t addr, bool write, unsigned *tag)
{
	return no_mte(b);
}

/*
 * /proc/sys/vm/drop_caches is the whole host's page cache: as the
 * drop-caches statement, the scenario's own files are dropped instead,
 * after the value is checked as the sysctl checks it (1 to 4).
 */
static int host_sys_write(struct cf_backend *b, const char *path, const char *value)
{
	struct cf_fcall c = { .kind = SCN_OP_DROP_CACHES };
	char *end;
	long mode;

	if (strcmp(path, "/proc/sys/vm/drop_caches"))
		return cf_host_sys_write(b, path, value);
	mode = strtol(value, &end, 10);
	while (*end == ' ' || *end == '\t' || *end == '\n')
		end++;
	if (end == value || *end || mode < 1 || mode > 4)
		return -EINVAL;
	c.flags = mode;
	return mode & 1 ? (int)host_fcall(b, -1, &c, NULL) : 0;
}

static long host_sys_read(struct cf_backend *b, const char *path, char *out, size_t n)
{
	return cf_host_sys_read(b, path, out, n);
}

static int host_kpageflags(struct cf_backend *b, uint64_t pfn, uint64_t *flags)
{
	return cf_host_kpageflags(b, pfn, flags);
}

static int host_split_huge_pages(struct cf_backend *b, int task, uint64_t start, uint64_t end)
{
	return cf_host_split_huge_pages(b, H(b)->task[task].pid, start, end);
}

static long host_process_madvise(struct cf_backend *b, int task, int target, uint64_t addr, uint64_t len,
				 long advice)
{
	struct cf_req q = { .op = CF_REQ_PMADVISE, .addr = addr, .len = len, .arg = advice,
			    .arg2 = H(b)->task[target].pid };

	return (long)call(b, task, &q, NULL, -1, NULL, 0, NULL);
}

static int host_lock(struct cf_backend *b, int task, enum scn_op_kind kind, uint64_t addr, uint64_t len, long flags)
{
	struct cf_req q = { .op = CF_REQ_LOCK, .addr = addr, .len = len, .arg = kind, .arg2 = flags };
	/* mlock populates a read-only private range by read faults: the zero page */
	bool watch = (kind == SCN_OP_MLOCK || kind == SCN_OP_MLOCK2) && !cf_host_zero_page(NULL) &&
		     cf_host_meets_readonly_private(H(b)->task[task].pid, addr, len);
	uint64_t *before = watch ? cf_host_zero_watch(b, task, addr, len) : NULL;

	return (int)cf_host_zero_check(b, task, addr, len, before, call(b, task, &q, NULL, -1, NULL, 0, NULL));
}

static long host_prctl(struct cf_backend *b, int task, int option, unsigned long arg)
{
	struct cf_req q = { .op = CF_REQ_PRCTL, .arg = option, .len = arg };

	return (long)call(b, task, &q, NULL, -1, NULL, 0, NULL);
}

static int host_ksm_stat(struct cf_backend *b, int task, const char *field, long *v)
{
	return cf_host_ksm_stat(b, H(b)->task[task].pid, field, v);
}

static int host_uffd_handle(struct host *h, int task, int fd)
{
	if (h->nuffd == 64)
		return -1;
	h->uffd[h->nuffd].task = task;
	h->uffd[h->nuffd].fd = fd;
	return h->nuffd++;
}

/* The uffd statements, in the process that made the userfaultfd (a fork message's child too). */
static int64_t host_uffd(struct cf_backend *b, int task, const struct cf_uffd *c, struct uffd_msg *msg, int *child)
{
	struct host *h = H(b);
	struct cf_req q = { .op = CF_REQ_UFFD, .arg = c->kind, .arg2 = c->flags, .addr = c->addr, .len = c->len,
			    .off = c->value };
	int64_t r;

	if (c->kind != SCN_OP_UFFD_NEW) {
		if (c->h < 0 || c->h >= h->nuffd)
			return -EBADF;
		task = h->uffd[c->h].task;
		q.fd = h->uffd[c->h].fd;
	}
	if (c->kind == SCN_OP_UFFD_COPY || c->kind == SCN_OP_UFFD_SERVE) {
		q.patn = c->kind == SCN_OP_UFFD_SERVE ? 4096 : (uint32_t)c->len;
		if (c->len > (1 << 16) && c->kind == SCN_OP_UFFD_COPY) {
			snprintf(b->why, sizeof(b->why), "a copy of more than 64 KiB");
			return -CF_SKIP;
		}
	}
	r = call(b, task, &q, c->page, -1, msg, c->kind == SCN_OP_EXPECT_UFFD ? sizeof(*msg) : 0, NULL);
	if (c->kind == SCN_OP_UFFD_NEW && r >= 0)
		return host_uffd_handle(h, task, (int)r);
	if (c->kind == SCN_OP_EXPECT_UFFD && r == 0 && msg->event == UFFD_EVENT_FORK)
		*child = host_uffd_handle(h, task, (int)msg->arg.fork.ufd);
	return r;
}

/* The runner writes the scenario process's /proc/PID/clear_refs itself (root, its parent). */
static int host_clear_refs(struct cf_backend *b, int task, int type)
{
	char path[64], value[16];
	int fd, n;
	ssize_t w;

	snprintf(path, sizeof(path), "/proc/%d/clear_refs", (int)H(b)->task[task].pid);
	n = snprintf(value, sizeof(value), "%d", type);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	w = write(fd, value, (size_t)n);
	n = w < 0 ? -errno : 0;
	close(fd);
	return n;
}

static int host_fail(struct cf_backend *b, const struct mml_fail *f)
{
	snprintf(b->why, sizeof(b->why), "no fault injection into the host kernel");
	return -CF_SKIP;
}

/* ---- start and stop ---- */

/* The host's memory nodes: node0, node1 ... under /sys/devices/system/node (1 without the directory). */
static int host_nr_nodes(void)
{
	char path[64];
	int n = 0;

	for (;; n++) {
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d", n);
		if (access(path, F_OK))
			break;
	}
	return n ? n : 1;
}

/*
 * A NUMA call naming a node the scenario's machine has and the host does
 * not (a cross-node move on a one-node host) is skipped with that reason;
 * a node neither has is an error both give.
 */
static bool beyond_host_nodes(struct cf_backend *b, uint64_t mask)
{
	struct host *h = H(b);

	for (int n = h->nodes; n < h->machine_nodes && n < 64; n++)
		if ((mask >> n) & 1) {
			snprintf(b->why, sizeof(b->why), "the host has %d NUMA node%s; node %d is the scenario's",
				 h->nodes, h->nodes == 1 ? "" : "s", n);
			return true;
		}
	return false;
}

static int64_t host_numa(struct cf_backend *b, int task, const struct cf_numa *c, int *status)
{
	uint64_t masks[2] = { c->nodes, c->nodes2 };
	struct cf_req q = { .op = CF_REQ_NUMA, .patn = sizeof(masks), .addr = c->addr, .len = c->len,
			    .arg = c->kind, .arg2 = c->mode, .fd = c->flags, .off = c->node };
	uint64_t named = c->nodes | c->nodes2 | (c->kind == SCN_OP_MOVE_PAGES && c->node >= 0 && c->node < 64 ?
						 1ULL << c->node : 0);
	int st = 0;
	int64_t r;

	if (beyond_host_nodes(b, named))
		return -CF_SKIP;
	r = call(b, task, &q, masks, -1, &st, sizeof(st), NULL);
	if (status)
		*status = st;
	return r;
}

static int host_start(struct cf_backend *b, const struct scn_op *machine)
{
	b->no_soft_dirty = !cf_host_soft_dirty();
	cf_host_zero_page(NULL);	/* asked before any scenario runs */
	/* the children of exited drivers come back here to be reaped */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	/* before any driver starts: each is told whether to run with THP */
	cf_host_thp_probe();
	cf_host_set_tmpfs_huge(machine ? machine->tmpfs_huge : NULL);
	H(b)->cpu = sched_getcpu() > 0 ? sched_getcpu() : 0;
	H(b)->nodes = host_nr_nodes();
	H(b)->machine_nodes = machine && machine->nr_nodes ? (int)machine->nr_nodes : 1;
	return 0;
}

/* Kill what is left, reap everything, close everything. */
static const char *host_stop(struct cf_backend *b)
{
	struct host *h = H(b);
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	const char *swap_msg, *files_msg, *sys_msg;
	int i, tries;

	for (i = 0; i < h->npin; i++)
		pin_release(&h->pin[i]);
	for (i = 0; i < h->ntask; i++)
		if (h->task[i].sock >= 0)
			close(h->task[i].sock);
	for (i = 0; i < h->npids; i++)
		kill(h->pids[i], SIGKILL);
	/* bounded: a process stuck in the kernel must not hang us */
	for (tries = 0; tries < 300; tries++) {
		pid_t r = waitpid(-1, NULL, WNOHANG);

		if (r < 0 && errno == ECHILD)
			break;
		if (r == 0)
			nanosleep(&ts, NULL);
	}
	swap_msg = cf_host_swap_cleanup();
	files_msg = cf_host_files_cleanup();
	sys_msg = cf_host_sys_restore();
	free(h->task);
	free(h->pin);
	free(h->pids);
	h->task = NULL;
	h->pin = NULL;
	h->pids = NULL;
	h->ntask = h->captask = h->npin = h->cappin = h->npids = h->cappids = 0;
	h->broken = false;
	if (tries == 300)
		return "host runner: some processes could not be reaped";
	return swap_msg ? swap_msg : files_msg ? files_msg : sys_msg;
}

static long host_reports(struct cf_backend *b)
{
	return 0;
}

void cf_host_init(struct cf_backend *b, int timeout_ms)
{
	struct host *h = calloc(1, sizeof(*h));

	memset(b, 0, sizeof(*b));
	b->name = "linux";
	b->priv = h;
	if (h)
		h->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
	b->start = host_start;
	b->stop = host_stop;
	b->reports = host_reports;
	b->task = host_task;
	b->exit = host_exit;
	b->mmap = host_mmap;
	b->mremap = host_mremap;
	b->numa = host_numa;
	b->range = host_range;
	b->write = host_write;
	b->read = host_read;
	b->pagemap = host_pagemap;
	b->vmas = host_vmas;
	b->smaps = host_smaps;
	b->khugepaged = cf_host_khugepaged;
	b->ksm = cf_host_ksm;
	b->prctl = host_prctl;
	b->ksm_stat = host_ksm_stat;
	b->stat = host_stat;
	b->pin = host_pin;
	b->unpin = host_unpin;
	b->dma_read = host_dma_read;
	b->dma_write = host_dma_write;
	b->pin_pfn = host_pin_pfn;
	b->swapon = cf_host_swapon;
	b->swapoff = cf_host_swapoff;
	b->reclaim = host_reclaim;
	b->tag = host_tag;
	b->fail = host_fail;
	b->fcall = host_fcall;
	b->sys_write = host_sys_write;
	b->sys_read = host_sys_read;
	b->kpageflags = host_kpageflags;
	b->split_huge_pages = host_split_huge_pages;
	b->clear_refs = host_clear_refs;
	b->lock = host_lock;
	b->process_madvise = host_process_madvise;
	b->uffd = host_uffd;
}

void cf_host_free(struct cf_backend *b)
{
	free(b->priv);
	b->priv = NULL;
}
