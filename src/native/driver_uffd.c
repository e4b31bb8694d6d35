/*
 * driver_uffd.c - the host side of the uffd statements: userfaultfd(2)
 * and its ioctls in the scenario's own process, and a server thread (a
 * monitor) that answers messages as mmlab's scenario server does: a
 * missing fault with UFFDIO_COPY of its page, a minor one with
 * UFFDIO_CONTINUE, a write-protect one with UFFDIO_WRITEPROTECT 0, an
 * event by reading it.  A userfaultfd is its descriptor number here; a
 * fork message's child is the descriptor the read made in this process.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mmlab.h"
#include "native/conform.h"
#include "native/driver.h"
#include "native/proto.h"

#define UPAGE		4096ULL
#define SERVE_MS	5000
#define MAX_UFFD	16
#define MAX_MSGS	64

struct host_server {
	pthread_t thread;
	bool running;
	int fd, want, served;
	volatile int stop;
	unsigned char page[UPAGE];
	struct uffd_msg msgs[MAX_MSGS];
	int nmsgs, next;
};

/* By descriptor: the server of that userfaultfd (NULL: none).  Only the scenario's thread touches the table. */
static struct { int fd; struct host_server *srv; } served[MAX_UFFD];

static struct host_server **srv_of(int fd, bool make)
{
	for (int i = 0; i < MAX_UFFD; i++)
		if (served[i].srv && served[i].fd == fd)
			return &served[i].srv;
	if (!make)
		return NULL;
	for (int i = 0; i < MAX_UFFD; i++)
		if (!served[i].srv) {
			served[i].fd = fd;
			return &served[i].srv;
		}
	return NULL;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* A fill as the statement judges it: the whole range 0, part of it EAGAIN, none the error. */
static int64_t fill_result(int r, int64_t done, uint64_t len)
{
	if (done > 0)
		return (uint64_t)done == len ? 0 : -EAGAIN;
	if (done < 0)
		return done;
	return r < 0 ? -errno : -EAGAIN;
}

static void answer(int fd, const struct uffd_msg *m, const unsigned char *page)
{
	uint64_t a = m->arg.pagefault.address & ~(UPAGE - 1);

	if (m->event != UFFD_EVENT_PAGEFAULT)
		return;
	if (m->arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) {
		struct uffdio_writeprotect wp = { .range = { a, UPAGE }, .mode = 0 };

		ioctl(fd, UFFDIO_WRITEPROTECT, &wp);
	} else if (m->arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_MINOR) {
		struct uffdio_continue co = { .range = { a, UPAGE } };

		ioctl(fd, UFFDIO_CONTINUE, &co);
	} else {
		struct uffdio_copy cp = { .dst = a, .src = (uint64_t)(uintptr_t)page, .len = UPAGE };

		ioctl(fd, UFFDIO_COPY, &cp);
	}
}

static void *serve(void *arg)
{
	struct host_server *s = arg;
	long deadline = now_ms() + SERVE_MS;

	while (s->served < s->want && !__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE) && now_ms() < deadline) {
		struct pollfd p = { .fd = s->fd, .events = POLLIN };
		struct uffd_msg m;

		if (poll(&p, 1, 20) <= 0)
			continue;
		if (read(s->fd, &m, sizeof(m)) != sizeof(m))
			continue;
		if (s->nmsgs < MAX_MSGS)
			s->msgs[s->nmsgs++] = m;
		answer(s->fd, &m, s->page);
		s->served++;
		deadline = now_ms() + SERVE_MS;
	}
	return NULL;
}

static void stop_server(struct host_server *s, bool stop)
{
	if (!s || !s->running)
		return;
	if (stop)
		__atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
	pthread_join(s->thread, NULL);
	s->running = false;
}

int64_t cf_driver_uffd(const struct cf_req *q, const unsigned char *pat, char *why, struct uffd_msg *msg)
{
	int fd = (int)q->fd, r;
	struct host_server **sp;

	switch (q->arg) {
	case SCN_OP_UFFD_NEW: {
		struct uffdio_api api = { .api = UFFD_API, .features = (uint64_t)q->arg2 };

		fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
		if (fd < 0) {
			snprintf(why, CF_WHY_LEN, "userfaultfd(2): %s (CONFIG_USERFAULTFD, or "
				 "vm.unprivileged_userfaultfd without CAP_SYS_PTRACE)", strerror(errno));
			return -CF_SKIP;
		}
		if (ioctl(fd, UFFDIO_API, &api) < 0) {
			r = -errno;
			close(fd);
			return r;
		}
		return fd;
	}
	case SCN_OP_UFFD_REGISTER: {
		struct uffdio_register reg = { .range = { q->addr, q->len }, .mode = (uint64_t)q->arg2 };

		return ioctl(fd, UFFDIO_REGISTER, &reg) < 0 ? -errno : 0;
	}
	case SCN_OP_UFFD_UNREGISTER: {
		struct uffdio_range range = { q->addr, q->len };

		return ioctl(fd, UFFDIO_UNREGISTER, &range) < 0 ? -errno : 0;
	}
	case SCN_OP_UFFD_WRITEPROTECT: {
		struct uffdio_writeprotect wp = { .range = { q->addr, q->len },
						  .mode = q->off ? UFFDIO_WRITEPROTECT_MODE_WP : 0 };

		return ioctl(fd, UFFDIO_WRITEPROTECT, &wp) < 0 ? -errno : 0;
	}
	case SCN_OP_UFFD_COPY: {
		struct uffdio_copy cp = { .dst = q->addr, .src = (uint64_t)(uintptr_t)pat, .len = q->len,
					  .mode = (uint64_t)q->arg2 };

		if (!pat)
			return -EINVAL;
		r = ioctl(fd, UFFDIO_COPY, &cp);
		return fill_result(r, cp.copy, q->len);
	}
	case SCN_OP_UFFD_ZEROPAGE: {
		struct uffdio_zeropage zp = { .range = { q->addr, q->len }, .mode = (uint64_t)q->arg2 };

		r = ioctl(fd, UFFDIO_ZEROPAGE, &zp);
		return fill_result(r, zp.zeropage, q->len);
	}
	case SCN_OP_UFFD_CONTINUE: {
		struct uffdio_continue co = { .range = { q->addr, q->len }, .mode = (uint64_t)q->arg2 };

		r = ioctl(fd, UFFDIO_CONTINUE, &co);
		return fill_result(r, co.mapped, q->len);
	}
	case SCN_OP_UFFD_SERVE:
		sp = srv_of(fd, true);
		if (!sp)
			return -ENOMEM;
		if (*sp) {
			stop_server(*sp, true);
			free(*sp);
		}
		*sp = calloc(1, sizeof(**sp));
		if (!*sp)
			return -ENOMEM;
		(*sp)->fd = fd;
		(*sp)->want = (int)q->off;
		if (pat)
			memcpy((*sp)->page, pat, UPAGE);
		if (pthread_create(&(*sp)->thread, NULL, serve, *sp)) {
			free(*sp);
			*sp = NULL;
			return -EAGAIN;
		}
		(*sp)->running = true;
		return 0;
	case SCN_OP_UFFD_JOIN:
		sp = srv_of(fd, false);
		if (!sp)
			return -EINVAL;
		stop_server(*sp, false);
		return (*sp)->served;
	case SCN_OP_UFFD_CLOSE:
		sp = srv_of(fd, false);
		r = close(fd) < 0 ? -errno : 0;
		if (sp) {
			stop_server(*sp, true);
			free(*sp);
			*sp = NULL;
		}
		return r;
	default:
		sp = srv_of(fd, false);
		if (sp && !(*sp)->running && (*sp)->next < (*sp)->nmsgs) {
			*msg = (*sp)->msgs[(*sp)->next++];
			return 0;
		}
		if (read(fd, msg, sizeof(*msg)) != sizeof(*msg))
			return -errno;
		return 0;
	}
}
