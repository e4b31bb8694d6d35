/*
 * bench_uffd.c - `mmlab bench uffd`: userfaultfd over a region of --size
 * bytes, mmlab beside the host kernel and beside what the memory itself
 * allows, in one run.
 *
 * Both sides register a fresh private region for MISSING faults and fill
 * it page by page:
 *   UFFDIO_COPY         one ioctl a page, from a 4 KiB source, no fault
 *                       (a monitor filling ahead of use)
 *   fault, served       a thread reads one byte of every page: each read
 *                       faults, the fault's message goes to a second
 *                       thread that answers with UFFDIO_COPY of the page,
 *                       which wakes the reader (the round trip a
 *                       post-copy migration pays a page)
 * The limit: a memcpy of 4 KiB a page, into memory already faulted in.
 *
 * Checks: every page holds the source's bytes afterwards on both sides,
 * every fault was answered, mmlab's invariants hold and nothing leaks.
 * A host without userfaultfd (or that refuses it to this user) leaves
 * its rows out, with the reason.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench.h"
#include "mmlab.h"

#define CMD	"bench uffd"

enum { SIM_COPY, SIM_FAULT, NAT_COPY, NAT_FAULT, LIM_MEMCPY, NROWS };
#define NPHASES	(NAT_COPY - SIM_COPY)

struct uffd_bench {
	uint64_t size, npages;
	struct bench_err err;
	struct bench_row rows[NROWS];
	char nat_skip[160];		/* why the host's rows are left out, or "" */
	unsigned char *lim;
	unsigned char src[BENCH_PAGE];
};

static void uffd_usage(FILE *f)
{
	fprintf(f, "usage: mmlab bench uffd [--size BYTES] [--reps N] [--no-native]\n\n"
		   "userfaultfd: a registered region filled by UFFDIO_COPY a page a call,\n"
		   "and faults on every page answered by a second thread with UFFDIO_COPY,\n"
		   "on mmlab and on this host's kernel, beside a memcpy of 4 KiB a page,\n"
		   "in one run.\n\n"
		   "  -s, --size BYTES  the region: 64M, 0x100000 (default 64M; a multiple\n"
		   "                    of 4096, at most 16G)\n"
		   "  -r, --reps N      run the whole sequence N times after an untimed\n"
		   "                    warm-up run; keep each row's fastest (default 3)\n"
		   "      --no-native   do not run the host kernel's side\n"
		   "  -h, --help        this text\n\n"
		   "Exit status: 0 done, 1 a check failed, 2 bad usage.\n");
}

static void rows_init(struct uffd_bench *b)
{
	static const char *const phase[2 * NPHASES] = {
		"UFFDIO_COPY, a page a call", "fault, served by a thread",
		"UFFDIO_COPY, a page a call", "fault, served by a thread",
	};

	for (int i = 0; i < 2 * NPHASES; i++)
		b->rows[i] = (struct bench_row){
			.side = i < NPHASES ? "mmlab" : "native", .phase = phase[i],
			.ref = i < NPHASES ? i + NPHASES : LIM_MEMCPY,
			.pages = b->npages, .best = -1, .dev = -1,
		};
	b->rows[LIM_MEMCPY] = (struct bench_row){ .side = "limit", .phase = "memcpy of 4 KiB a page", .ref = -1,
						  .pages = b->npages, .best = -1, .dev = -1 };
}

static void limit_memcpy(struct uffd_bench *b)
{
	double t0 = bench_now();

	for (uint64_t i = 0; i < b->npages; i++)
		memcpy(b->lim + i * BENCH_PAGE, b->src, BENCH_PAGE);
	bench_row_time(&b->rows[LIM_MEMCPY], bench_now() - t0, -1);
}

/* ---- mmlab ---- */

struct sim_server {
	struct mml_uffd *u;
	const unsigned char *src;
	uint64_t want, served;
	int err;
};

static void *sim_serve(void *arg)
{
	struct sim_server *s = arg;
	struct uffd_msg msg;

	while (s->served < s->want) {
		int r = mml_uffd_read_event(s->u, &msg);

		if (r == -EAGAIN) {
			sched_yield();
			continue;
		}
		if (r < 0 || msg.event != UFFD_EVENT_PAGEFAULT) {
			s->err = r < 0 ? r : -EPROTO;
			return NULL;
		}
		if (mml_uffd_copy(s->u, msg.arg.pagefault.address, s->src, BENCH_PAGE, 0) != BENCH_PAGE) {
			s->err = -EIO;
			return NULL;
		}
		s->served++;
	}
	return NULL;
}

static int sim_check(struct uffd_bench *b, struct mml_task *t, uint64_t base)
{
	unsigned char page[BENCH_PAGE];

	for (uint64_t i = 0; i < b->npages; i += b->npages / 16 + 1)
		if (mml_read(t, base + i * BENCH_PAGE, page, BENCH_PAGE) || memcmp(page, b->src, BENCH_PAGE))
			return bench_fail(&b->err, "mmlab: page %llu does not hold the copy", (unsigned long long)i);
	return 0;
}

static int sim_rep(void *arg, struct mml_machine *m)
{
	struct uffd_bench *b = arg;
	struct sim_server s = { .src = b->src, .want = b->npages };
	struct mml_uffd *u = NULL;
	struct mml_task *t;
	long base = -1, base2 = -1;
	pthread_t th;
	unsigned char c;
	double t0;
	int r;

	if ((r = mml_spawn(m, &t)) < 0)
		return bench_fail(&b->err, "mmlab: spawn: %s", strerror(-r));
	r = -1;
	if (mml_uffd_new(t, 0, &u)) {
		bench_fail(&b->err, "mmlab: userfaultfd failed");
		goto out;
	}
	base = mml_mmap(t, 0, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	base2 = mml_mmap(t, 0, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base < 0 || base2 < 0 || mml_uffd_register(u, (uint64_t)base, b->size, UFFDIO_REGISTER_MODE_MISSING) ||
	    mml_uffd_register(u, (uint64_t)base2, b->size, UFFDIO_REGISTER_MODE_MISSING)) {
		bench_fail(&b->err, "mmlab: mmap or register failed");
		goto out;
	}
	t0 = bench_now();
	for (uint64_t i = 0; i < b->npages; i++)
		if (mml_uffd_copy(u, (uint64_t)base + i * BENCH_PAGE, b->src, BENCH_PAGE, 0) != BENCH_PAGE) {
			bench_fail(&b->err, "mmlab: UFFDIO_COPY of page %llu failed", (unsigned long long)i);
			goto out;
		}
	bench_row_time(&b->rows[SIM_COPY], bench_now() - t0, -1);
	if (sim_check(b, t, (uint64_t)base))
		goto out;
	s.u = u;
	if (pthread_create(&th, NULL, sim_serve, &s)) {
		bench_fail(&b->err, "mmlab: no server thread");
		goto out;
	}
	t0 = bench_now();
	for (uint64_t i = 0; i < b->npages && !s.err; i++)
		if (mml_read(t, (uint64_t)base2 + i * BENCH_PAGE, &c, 1)) {
			s.err = -EFAULT;
			break;
		}
	bench_row_time(&b->rows[SIM_FAULT], bench_now() - t0, -1);
	if (s.err)
		s.want = s.served;	/* the server stops at its next message, or now */
	pthread_join(th, NULL);
	if (s.err || s.served != b->npages) {
		bench_fail(&b->err, "mmlab: %llu of %llu faults served (%s)", (unsigned long long)s.served,
			   (unsigned long long)b->npages, strerror(s.err ? -s.err : EIO));
		goto out;
	}
	if (sim_check(b, t, (uint64_t)base2))
		goto out;
	r = 0;
out:
	if (u)
		mml_uffd_free(u);
	mml_exit(t);
	if (!r && mml_report_count(m))
		r = bench_fail(&b->err, "mmlab: the machine reported a bug (above)");
	return r;
}

/* ---- the host kernel ---- */

struct nat_server {
	int fd;
	const unsigned char *src;
	uint64_t want, served;
	int err;
};

static void *nat_serve(void *arg)
{
	struct nat_server *s = arg;

	while (s->served < s->want) {
		struct pollfd p = { .fd = s->fd, .events = POLLIN };
		struct uffd_msg msg;
		struct uffdio_copy cp = { .src = (uint64_t)(uintptr_t)s->src, .len = BENCH_PAGE };

		if (poll(&p, 1, 1000) <= 0) {
			s->err = -ETIMEDOUT;
			return NULL;
		}
		if (read(s->fd, &msg, sizeof(msg)) != sizeof(msg) || msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		cp.dst = msg.arg.pagefault.address & ~(uint64_t)(BENCH_PAGE - 1);
		if (ioctl(s->fd, UFFDIO_COPY, &cp) && errno != EEXIST) {
			s->err = -errno;
			return NULL;
		}
		s->served++;
	}
	return NULL;
}

static int nat_check(struct uffd_bench *b, const unsigned char *a)
{
	for (uint64_t i = 0; i < b->npages; i += b->npages / 16 + 1)
		if (memcmp(a + i * BENCH_PAGE, b->src, BENCH_PAGE))
			return bench_fail(&b->err, "native: page %llu does not hold the copy", (unsigned long long)i);
	return 0;
}

static int nat_rep(struct uffd_bench *b)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct nat_server s = { .src = b->src, .want = b->npages };
	unsigned char *a = MAP_FAILED, *a2 = MAP_FAILED;
	volatile unsigned char sink;
	int fd, r = -1;
	pthread_t th;
	double t0;

	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || ioctl(fd, UFFDIO_API, &api)) {
		snprintf(b->nat_skip, sizeof(b->nat_skip), "userfaultfd(2): %s (CONFIG_USERFAULTFD, or "
			 "vm.unprivileged_userfaultfd)", strerror(errno));
		if (fd >= 0)
			close(fd);
		return 0;
	}
	a = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	a2 = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED || a2 == MAP_FAILED) {
		bench_fail(&b->err, "native: mmap: %s", strerror(errno));
		goto out;
	}
	madvise(a, b->size, MADV_NOHUGEPAGE);
	madvise(a2, b->size, MADV_NOHUGEPAGE);
	{
		struct uffdio_register reg = { .range = { (uint64_t)(uintptr_t)a, b->size },
					       .mode = UFFDIO_REGISTER_MODE_MISSING };
		struct uffdio_register reg2 = { .range = { (uint64_t)(uintptr_t)a2, b->size },
						.mode = UFFDIO_REGISTER_MODE_MISSING };

		if (ioctl(fd, UFFDIO_REGISTER, &reg) || ioctl(fd, UFFDIO_REGISTER, &reg2)) {
			bench_fail(&b->err, "native: UFFDIO_REGISTER: %s", strerror(errno));
			goto out;
		}
	}
	t0 = bench_now();
	for (uint64_t i = 0; i < b->npages; i++) {
		struct uffdio_copy cp = { .dst = (uint64_t)(uintptr_t)(a + i * BENCH_PAGE),
					  .src = (uint64_t)(uintptr_t)b->src, .len = BENCH_PAGE };

		if (ioctl(fd, UFFDIO_COPY, &cp)) {
			bench_fail(&b->err, "native: UFFDIO_COPY: %s", strerror(errno));
			goto out;
		}
	}
	bench_row_time(&b->rows[NAT_COPY], bench_now() - t0, -1);
	if (nat_check(b, a))
		goto out;
	s.fd = fd;
	if (pthread_create(&th, NULL, nat_serve, &s)) {
		bench_fail(&b->err, "native: no server thread");
		goto out;
	}
	t0 = bench_now();
	for (uint64_t i = 0; i < b->npages; i++)
		sink = a2[i * BENCH_PAGE];
	(void)sink;
	bench_row_time(&b->rows[NAT_FAULT], bench_now() - t0, -1);
	pthread_join(th, NULL);
	if (s.err || s.served != b->npages) {
		bench_fail(&b->err, "native: %llu of %llu faults served (%s)", (unsigned long long)s.served,
			   (unsigned long long)b->npages, strerror(s.err ? -s.err : EIO));
		goto out;
	}
	if (nat_check(b, a2))
		goto out;
	r = 0;
out:
	if (a != MAP_FAILED)
		munmap(a, b->size);
	if (a2 != MAP_FAILED)
		munmap(a2, b->size);
	close(fd);
	return r;
}

int bench_uffd(int argc, char **argv)
{
	static struct uffd_bench ub;
	struct uffd_bench *b = &ub;
	struct mml_machine *m;
	struct bench_opts o;
	struct utsname u;
	int r, cpu;

	r = bench_parse(argc, argv, CMD, false, uffd_usage, &o);
	if (r >= 0)
		return r;
	memset(b, 0, sizeof(*b));
	b->size = o.size;
	b->npages = o.size / BENCH_PAGE;
	rows_init(b);
	bench_start(&o, b->rows, NROWS);
	bench_page_init(b->src);
	b->lim = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->lim == MAP_FAILED) {
		fprintf(stderr, "mmlab " CMD ": out of memory\n");
		return 1;
	}
	memset(b->lim, 1, b->size);	/* faulted in before any timing */
	cpu = bench_pin_cpu();
	if (uname(&u) < 0)
		strcpy(u.release, "?");
	printf("mmlab bench uffd: a region of %llu KiB (%llu pages of 4 KiB), fastest of %u run%s\n",
	       (unsigned long long)(b->size >> 10), (unsigned long long)b->npages, o.reps, o.reps == 1 ? "" : "s");
	printf("  native: %s\n", o.no_native ? "skipped (--no-native)" : u.release);
	if (cpu >= 0)
		printf("  all on cpu %d\n", cpu);
	printf("\n");
	fflush(stdout);
	for (unsigned rep = 0; rep <= o.reps && !b->err.msg[0]; rep++) {
		if (!o.no_native && !b->nat_skip[0])
			nat_rep(b);
		limit_memcpy(b);
		if (rep == 0)
			bench_rows_forget(b->rows + NPHASES, NROWS - NPHASES);
	}
	m = b->err.msg[0] ? NULL : mml_machine_new(&(struct mml_config){
		.ram_bytes = 2 * b->size + b->size / 4 + (16ULL << 20) });
	if (!b->err.msg[0] && !m)
		bench_fail(&b->err, "mmlab: cannot make a machine of %llu MiB",
			   (unsigned long long)(2 * b->size >> 20) + 16);
	if (m)
		bench_sim_repeat(m, o.reps, sim_rep, b, b->rows, NPHASES, &b->err);
	munmap(b->lim, b->size);
	if (b->err.msg[0]) {
		fprintf(stderr, "mmlab " CMD ": %s\n", b->err.msg);
		return 1;
	}
	bench_table_print(stdout, b->rows, NROWS);
	if (b->nat_skip[0])
		printf("native rows left out: %s\n", b->nat_skip);
	printf("\nchecks: every sampled page holds the copy and every fault was answered (both); "
	       "mmlab's invariants held; nothing leaked\n");
	return 0;
}
