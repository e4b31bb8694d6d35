/*
 * proto.h - the wire between the runner and its host processes.
 *
 * Every scenario task is one thread of a real process, served over its
 * own AF_UNIX stream socket (a bidirectional pipe that can also carry
 * file descriptors).  The runner sends one request, the task answers it;
 * a request may carry a socket for the new task (thread, fork) and an
 * answer may carry the descriptor that holds a pin (an io_uring ring, a
 * pipe).  Payloads follow their header.  The runner bounds every wait;
 * a driver waits for ever and exits when its socket closes.
 */
#ifndef MMLAB_NATIVE_PROTO_H
#define MMLAB_NATIVE_PROTO_H

#include <stdint.h>
#include <sys/types.h>

enum cf_req_op {
	CF_REQ_THREAD = 1,	/* fd: the new thread's socket */
	CF_REQ_FORK,		/* fd: the child's socket; ret = child pid */
	CF_REQ_EXIT,		/* answered, then the thread ends */
	CF_REQ_MMAP,		/* addr len arg=prot arg2=flags fd off */
	CF_REQ_MUNMAP,
	CF_REQ_MPROTECT,	/* arg = prot */
	CF_REQ_MADVISE,		/* arg = advice */
	CF_REQ_WRITE,		/* payload: the pattern; stores len bytes of it */
	CF_REQ_READ,		/* answer payload: len bytes */
	CF_REQ_PAGEMAP,		/* len = pages; answer payload: 8 bytes each */
	CF_REQ_VMAS,		/* [addr, addr+len) */
	CF_REQ_SMAPS,		/* payload: a field name; ret = its kB in the VMA at addr;
				   answer payload: the VMA's start and end */
	CF_REQ_PIN_URING,	/* len = pages; answer: ring fd, pfns, io_uring_params */
	CF_REQ_PIN_VMSPLICE,	/* len = pages; answer: pipe fd, pfns */
	CF_REQ_CLOSE,		/* fd: a descriptor number the runner has taken */
	CF_REQ_MREMAP,		/* addr len=old_len arg=new_len arg2=flags off=new_addr */
	CF_REQ_FCALL,		/* a file call: arg = its SCN_OP_* kind, arg2 = flags, fd,
				   off (open: the mode), addr, len; payload: the host path
				   (open, unlink), the name (memfd), the pattern (pwrite);
				   answer payload: pread's bytes, mincore's vector, struct cf_stat */
	CF_REQ_NUMA,		/* a NUMA call: arg = its SCN_OP_* kind, arg2 = mode, fd = flags,
				   off = node, addr, len; payload: two node masks (u64);
				   answer payload: expect node's status (int) */
	CF_REQ_PMADVISE,	/* process_madvise of [addr, addr+len) of process arg2 (a pid),
				   arg = advice; ret = bytes advised */
	CF_REQ_LOCK,		/* mlock's family: arg = its SCN_OP_* kind, arg2 = flags,
				   addr, len (setrlimit: the limit) */
	CF_REQ_PRCTL,		/* prctl(arg, len): ret = what it returns */
	CF_REQ_UFFD,		/* a uffd statement: arg = its SCN_OP_* kind, fd = the userfaultfd,
				   arg2 = features or modes, off = wp or the messages to serve,
				   addr, len; payload: copy's bytes, serve's page;
				   answer payload: expect's struct uffd_msg */
};

struct cf_req {
	uint32_t op;
	uint32_t patn;		/* payload bytes that follow */
	uint64_t addr, len;
	int64_t arg, arg2, fd, off;
};

#define CF_WHY_LEN 120

struct cf_rep {
	int64_t ret;		/* >= 0, -errno, or -CF_SKIP with why */
	uint64_t n;		/* payload bytes that follow */
	int64_t fd;		/* PIN_URING: the ring's number in the driver */
	char why[CF_WHY_LEN];
};

/* Whole messages, an optional fd riding on the first byte. */
int cf_send(int sock, const void *buf, size_t n, int fd);
/*
 * Receive exactly n bytes, waiting at most timeout_ms for each piece
 * (< 0: for ever).  *fd gets a passed descriptor or -1.  0, or -errno
 * (-ETIMEDOUT, -EPIPE at end of file).
 */
int cf_recv(int sock, void *buf, size_t n, int *fd, int timeout_ms);

/* driver.c: serve one task on sock in this process; never returns */
void cf_driver_main(int sock) __attribute__((noreturn));

#endif /* MMLAB_NATIVE_PROTO_H */
