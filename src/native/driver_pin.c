/*
 * driver_pin.c - how the host side of a scenario task takes a pin the
 * runner then holds: io_uring registered buffers (a long-term write pin,
 * FOLL_PIN) and vmsplice (references, FOLL_GET), with the frames the
 * pinned pages are (pagemap).  The caller has checked the range
 * (do_pin_check in driver.c).
 */
#define _GNU_SOURCE	/* pipe2, vmsplice, F_SETPIPE_SZ */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "native/conform.h"
#include "native/driver.h"

#define PAGE		4096ULL

/* The pagemap entries behind a pin: what the runner compares with the other side's frames. */
int cf_pagemap_read(uint64_t addr, uint64_t n, uint64_t *out)
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

/*
 * io_uring_register_buffers: pin_user_pages(FOLL_WRITE | FOLL_LONGTERM).
 * The ring goes to the runner, which holds the pin from then on: a
 * device's pin outlives the process that took it.  An io_uring file
 * cannot travel over a socket, so the runner takes it with
 * pidfd_getfd() and then asks this process to close its own (CLOSE).
 */
/*
 * Rings made when the process starts, before the scenario maps anything:
 * a ring's own mappings (SQ, CQ, SQEs) then lie among the driver's, never
 * in a hole the scenario left (where a pin across the hole would find
 * them and succeed).  A used ring stays mapped (unmapping it would make a
 * hole of its own); only its descriptor goes.  A forked process has none
 * of its own (its parent's are the parent's), and sets one up when it pins.
 */
#define URING_POOL	4
static pthread_mutex_t uring_pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	struct io_uring ring;
	struct io_uring_params par;
} uring_pool[URING_POOL];
static int uring_pool_n, uring_pool_next;	/* under uring_pool_lock */

void cf_uring_pool_fill(void)
{
	while (uring_pool_n < URING_POOL &&
	       io_uring_queue_init_params(4, &uring_pool[uring_pool_n].ring, &uring_pool[uring_pool_n].par) == 0)
		uring_pool_n++;
}

/* After fork: the inherited rings belong to the parent's process. */
void cf_uring_pool_forget(void)
{
	for (int i = uring_pool_next; i < uring_pool_n; i++)
		close(uring_pool[i].ring.ring_fd);
	uring_pool_n = uring_pool_next = 0;
}

int64_t cf_pin_uring(const struct cf_req *q, char *why, int64_t *fdnum, uint64_t *pfns,
		     struct io_uring_params *par)
{
	struct iovec iov = { (void *)q->addr, q->len * PAGE };
	struct io_uring ring;
	bool pooled = false;
	int64_t r;

	pthread_mutex_lock(&uring_pool_lock);
	if (uring_pool_next < uring_pool_n) {
		ring = uring_pool[uring_pool_next].ring;
		*par = uring_pool[uring_pool_next].par;
		uring_pool_next++;
		pooled = true;
	}
	pthread_mutex_unlock(&uring_pool_lock);
	if (!pooled) {
		memset(par, 0, sizeof(*par));
		r = io_uring_queue_init_params(4, &ring, par);
		if (r < 0) {
			snprintf(why, CF_WHY_LEN, "io_uring_setup: %s", strerror((int)-r));
			return -CF_SKIP;
		}
	}
	r = io_uring_register_buffers(&ring, &iov, 1);
	if (r == 0)
		r = cf_pagemap_read(q->addr, q->len, pfns);
	if (r == 0) {
		*fdnum = dup(ring.ring_fd);
		r = *fdnum < 0 ? -errno : (int64_t)q->len;
	}
	if (pooled)
		close(ring.ring_fd);
	else
		io_uring_queue_exit(&ring);
	return r;
}

/*
 * vmsplice: get_user_pages() references held by a pipe.  The pipe's read
 * end goes to the runner, which reads the pages through tee() copies.
 */
int64_t cf_pin_vmsplice(const struct cf_req *q, char *why, int *fd, uint64_t *pfns)
{
	struct iovec iov = { (void *)q->addr, q->len * PAGE };
	int64_t r;
	int p[2];
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	if (fcntl(p[1], F_SETPIPE_SZ, (int)(q->len * PAGE)) < 0) {
		r = -errno;
		/* over fs/pipe-max-size, without CAP_SYS_RESOURCE: not the scenario's EPERM */
		if (r == -EPERM) {
			snprintf(why, CF_WHY_LEN, "a pipe of %llu KiB is over the host's "
				 "pipe-max-size", (unsigned long long)(q->len * PAGE) >> 10);
			r = -CF_SKIP;
		}
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
	r = cf_pagemap_read(q->addr, q->len, pfns);
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

