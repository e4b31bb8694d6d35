/*
 * proto.c - sending and receiving whole messages, with descriptors, over
 * the runner's sockets; receiving is bounded in time on request.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "native/proto.h"

int cf_send(int sock, const void *buf, size_t n, int fd)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	const char *p = buf;
	ssize_t r;

	while (n) {
		struct iovec iov = { (void *)p, n };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

		if (fd >= 0) {
			struct cmsghdr *c;

			memset(&u, 0, sizeof(u));
			mh.msg_control = u.b;
			mh.msg_controllen = sizeof(u.b);
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &fd, sizeof(int));
		}
		/* MSG_NOSIGNAL: a dead peer is an error, not a SIGPIPE */
		r = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EPIPE;
		fd = -1;	/* the descriptor went with the first piece */
		p += r;
		n -= r;
	}
	return 0;
}

static int wait_readable(int sock, int timeout_ms)
{
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	int r;

	do {
		r = poll(&pfd, 1, timeout_ms);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

/* Keep a passed descriptor; close any extra one a confused peer sent. */
static void take_fds(struct msghdr *mh, int *fd)
{
	struct cmsghdr *c;
	int got;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		memcpy(&got, CMSG_DATA(c), sizeof(int));
		if (fd && *fd < 0)
			*fd = got;
		else
			close(got);
	}
}

int cf_recv(int sock, void *buf, size_t n, int *fd, int timeout_ms)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	char *p = buf;
	ssize_t r;
	int ret;

	if (fd)
		*fd = -1;
	while (n) {
		struct iovec iov = { p, n };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = u.b, .msg_controllen = sizeof(u.b),
		};

		ret = wait_readable(sock, timeout_ms);
		if (ret < 0)
			return ret;
		r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EPIPE;
		take_fds(&mh, fd);
		p += r;
		n -= r;
	}
	return 0;
}
