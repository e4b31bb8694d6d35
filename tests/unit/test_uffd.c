/*
 * test_uffd.c - userfaultfd through the public API: registration, MISSING,
 * WP and MINOR faults, UFFDIO_COPY / _ZEROPAGE / _CONTINUE /
 * _WRITEPROTECT, uffd-wp through swap, fork and mprotect, markers, events,
 * faults served by another thread, release at exit.
 *
 * Linux source read: fs/userfaultfd.c (userfaultfd_register,
 * _unregister, handle_userfault, userfaultfd_ctx_read, the events),
 * mm/userfaultfd.c (mfill_atomic, mfill_atomic_install_pte,
 * mwriteprotect_range, uffd_wp_range), include/linux/userfaultfd_k.h,
 * mm/memory.c (do_anonymous_page, do_wp_page, pte_marker_handle_uffd_wp),
 * and tools/testing/selftests/mm/uffd-unit-tests.c for the behaviours:
 *   with UFFD_FEATURE_SIGBUS a fault that would report is SIGBUS (-EIO);
 *   COPY on a populated page is EEXIST, on an unregistered range ENOENT;
 *   a page write-protected by UFFDIO_WRITEPROTECT reads but a write
 *   reports, until wp is cleared; the bit shows in pagemap (bit 57),
 *   stays through swap-out and swap-in, through mprotect, and through
 *   fork only with UFFD_FEATURE_EVENT_FORK; WP_UNPOPULATED puts markers on
 *   none anon ptes; MINOR registration needs shmem.
 */
#define _GNU_SOURCE
#include "../harness.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#define RAM	(16ULL << 20)
#define BASE	0x100000000ULL

static struct mml_uffd *h_uffd(struct mml_task *t, uint64_t features)
{
	struct mml_uffd *u = NULL;

	if (!CHECK_EQ(mml_uffd_new(t, features, &u), 0))
		return NULL;
	return u;
}

/* Does t's smaps contain what (a VmFlags mnemonic with its blank)? */
static bool smaps_has(struct mml_task *t, const char *what)
{
	char *s = h_show_smaps(t);
	bool has = s && strstr(s, what);

	free(s);
	return has;
}

static bool wp_bit(struct mml_task *t, uint64_t addr)
{
	return h_pagemap(t, addr) & MML_PM_UFFD_WP;
}

TEST(uffd_register_errors)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	struct mml_uffd *u = h_uffd(t, UFFD_FEATURE_SIGBUS);
	REQUIRE(u);
	uint64_t a = h_map(t, BASE, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	struct mml_uffd *bad = NULL;

	CHECK_EQ(mml_uffd_new(t, 1ULL << 40, &bad), -EINVAL);
	CHECK_EQ(mml_uffd_register(u, a, 4 * H_PAGE, 0), -EINVAL);
	CHECK_EQ(mml_uffd_register(u, a, 4 * H_PAGE, 1ULL << 5), -EINVAL);
	CHECK_EQ(mml_uffd_register(u, a + 1, H_PAGE, UFFDIO_REGISTER_MODE_MISSING), -EINVAL);
	CHECK_EQ(mml_uffd_register(u, a, H_PAGE + 1, UFFDIO_REGISTER_MODE_MISSING), -EINVAL);
	CHECK_EQ(mml_uffd_register(u, a, 0, UFFDIO_REGISTER_MODE_MISSING), -EINVAL);
	CHECK_EQ(mml_uffd_register(u, BASE + (1ULL << 30), H_PAGE, UFFDIO_REGISTER_MODE_MISSING), -ENOMEM);
	/* MINOR is for shmem (and hugetlbfs) only. */
	CHECK_EQ(mml_uffd_register(u, a, 4 * H_PAGE, UFFDIO_REGISTER_MODE_MINOR), -EINVAL);
	/* Nothing registered: the fills find no registered VMA. */
	char buf[H_PAGE] = { 0 };
	CHECK_EQ(mml_uffd_copy(u, a, buf, H_PAGE, 0), -ENOENT);
	CHECK_EQ(mml_uffd_copy(u, a, buf, H_PAGE, 1ULL << 7), -EINVAL);
	CHECK_EQ(mml_uffd_writeprotect(u, a, H_PAGE, 1), -ENOENT);
	/* Another userfaultfd may not take a registered range. */
	struct mml_uffd *v = h_uffd(t, 0);
	REQUIRE(v);
	CHECK_EQ(mml_uffd_register(u, a, 2 * H_PAGE, UFFDIO_REGISTER_MODE_MISSING), 0);
	CHECK_EQ(mml_uffd_register(v, a, 4 * H_PAGE, UFFDIO_REGISTER_MODE_MISSING), -EBUSY);
	struct uffd_msg msg;
	CHECK_EQ(mml_uffd_read_event(u, &msg), -EAGAIN);
	/* A disk file may not be registered. */
	int fd = mml_open(t, "/disk/f", O_RDWR | O_CREAT, 0600);
	REQUIRE(fd >= 0);
	CHECK_EQ(mml_ftruncate(t, fd, H_PAGE), 0);
	long f = mml_mmap(t, 0, H_PAGE, H_RW, MAP_SHARED, fd, 0);
	REQUIRE(f > 0);
	CHECK_EQ(mml_uffd_register(v, (uint64_t)f, H_PAGE, UFFDIO_REGISTER_MODE_MISSING), -EINVAL);
	CHECK_EQ(mml_uffd_free(v), 0);
	CHECK_EQ(mml_uffd_free(u), 0);
	H_END(m);
}

TEST(uffd_missing_sigbus_copy_zeropage)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	struct mml_uffd *u = h_uffd(t, UFFD_FEATURE_SIGBUS);
	REQUIRE(u);
	uint64_t a = h_map(t, BASE, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	char buf[2 * H_PAGE];
	uint8_t c;

	CHECK_EQ(mml_uffd_register(u, a, 4 * H_PAGE, UFFDIO_REGISTER_MODE_MISSING), 0);
	CHECK(smaps_has(t, " um"));
	CHECK_EQ(h_peek(t, a, &c), -EIO);
	CHECK_EQ(h_poke(t, a + H_PAGE, 1), -EIO);
	memset(buf, 0x5a, sizeof(buf));
	CHECK_EQ(mml_uffd_copy(u, a, buf, 2 * H_PAGE, 0), (long)(2 * H_PAGE));
	h_expect(t, a, 2 * H_PAGE, 0x5a);
	CHECK_EQ(mml_uffd_copy(u, a, buf, H_PAGE, 0), -EEXIST);
	/* A partial fill: the bytes done, as the ioctl's copy field. */
	CHECK_EQ(mml_uffd_zeropage(u, a + H_PAGE, 2 * H_PAGE, 0), -EEXIST);
	CHECK_EQ(mml_uffd_zeropage(u, a + 2 * H_PAGE, H_PAGE, 0), (long)H_PAGE);
	CHECK_EQ(mml_uffd_copy(u, a + 3 * H_PAGE, buf, 2 * H_PAGE, 0), -ENOENT);
	h_expect(t, a + 2 * H_PAGE, H_PAGE, 0);
	CHECK_EQ(h_peek(t, a + 3 * H_PAGE, &c), -EIO);
	/* After unregistering, the hole is an ordinary one again. */
	CHECK_EQ(mml_uffd_unregister(u, a, 4 * H_PAGE), 0);
	CHECK_EQ(h_peek(t, a + 3 * H_PAGE, &c), 0);
	CHECK_EQ(mml_uffd_free(u), 0);
	H_END(m);
}

TEST(uffd_wp_anon_swap_mprotect)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	REQUIRE(mml_swapon(m, NULL, 4 << 20, -1) >= 0);
	struct mml_uffd *u = h_uffd(t, UFFD_FEATURE_SIGBUS | UFFD_FEATURE_PAGEFAULT_FLAG_WP);
	REQUIRE(u);
	uint64_t a = h_map(t, BASE, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	uint8_t c;

	h_fill(t, a, 4 * H_PAGE, 0x11);
	CHECK_EQ(mml_uffd_register(u, a, 4 * H_PAGE, UFFDIO_REGISTER_MODE_WP), 0);
	CHECK(smaps_has(t, " uw"));
	/* Registered, not yet protected: writes go. */
	CHECK_EQ(h_poke(t, a, 0x11), 0);
	CHECK_EQ(mml_uffd_writeprotect(u, a, 4 * H_PAGE, 1), 0);
	CHECK(wp_bit(t, a) && wp_bit(t, a + 3 * H_PAGE));
	CHECK_EQ(h_peek(t, a, &c), 0);
	CHECK_EQ(c, 0x11);
	CHECK_EQ(h_poke(t, a, 0x22), -EIO);
	/* Through swap-out and swap-in. */
	CHECK_EQ(mml_madvise(t, a, 4 * H_PAGE, MADV_PAGEOUT), 0);
	CHECK(h_pagemap(t, a) & MML_PM_SWAP);
	CHECK(wp_bit(t, a));
	CHECK_EQ(h_poke(t, a + H_PAGE, 0x22), -EIO);
	CHECK(h_pagemap(t, a + H_PAGE) & MML_PM_PRESENT);
	CHECK(wp_bit(t, a + H_PAGE));
	/* Through mprotect: read-only and back never makes it writable. */
	CHECK_EQ(mml_mprotect(t, a, 4 * H_PAGE, PROT_READ), 0);
	CHECK_EQ(mml_mprotect(t, a, 4 * H_PAGE, H_RW), 0);
	CHECK(wp_bit(t, a + H_PAGE));
	CHECK_EQ(h_poke(t, a + H_PAGE, 0x22), -EIO);
	/* Clear one page: it takes writes, its neighbours still report. */
	CHECK_EQ(mml_uffd_writeprotect(u, a + H_PAGE, H_PAGE, 0), 0);
	CHECK(!wp_bit(t, a + H_PAGE));
	CHECK_EQ(h_poke(t, a + H_PAGE, 0x22), 0);
	CHECK_EQ(h_poke(t, a + 2 * H_PAGE, 0x22), -EIO);
	h_expect(t, a + 2 * H_PAGE, H_PAGE, 0x11);
	CHECK_EQ(mml_uffd_unregister(u, a, 4 * H_PAGE), 0);
	CHECK(!wp_bit(t, a + 2 * H_PAGE));
	CHECK_EQ(h_poke(t, a + 2 * H_PAGE, 0x22), 0);
	CHECK_EQ(mml_uffd_free(u), 0);
	H_END(m);
}

TEST(uffd_wp_unpopulated_markers)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	struct mml_uffd *u = h_uffd(t, UFFD_FEATURE_SIGBUS | UFFD_FEATURE_WP_UNPOPULATED);
	REQUIRE(u);
	uint64_t a = h_map(t, BASE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	uint8_t c;

	CHECK_EQ(mml_uffd_register(u, a, 2 * H_PAGE, UFFDIO_REGISTER_MODE_WP), 0);
	CHECK_EQ(mml_uffd_writeprotect(u, a, 2 * H_PAGE, 1), 0);
	/* A marker: not present, swap-format, uffd-wp (as Linux's pagemap shows it). */
	CHECK(wp_bit(t, a) && !(h_pagemap(t, a) & MML_PM_PRESENT));
	CHECK_EQ(h_poke(t, a, 1), -EIO);
	/* A read populates the zero page, still protected. */
	CHECK_EQ(h_peek(t, a + H_PAGE, &c), 0);
	CHECK_EQ(c, 0);
	CHECK(wp_bit(t, a + H_PAGE) && (h_pagemap(t, a + H_PAGE) & MML_PM_PRESENT));
	CHECK_EQ(h_poke(t, a + H_PAGE, 1), -EIO);
	CHECK_EQ(mml_uffd_writeprotect(u, a, 2 * H_PAGE, 0), 0);
	CHECK(!wp_bit(t, a));
	CHECK_EQ(h_poke(t, a, 1), 0);
	CHECK_EQ(h_poke(t, a + H_PAGE, 1), 0);
	CHECK_EQ(mml_uffd_free(u), 0);
	H_END(m);
}

TEST(uffd_shmem_minor_continue_and_wp_markers)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	struct mml_uffd *u = h_uffd(t, UFFD_FEATURE_SIGBUS | UFFD_FEATURE_MINOR_SHMEM);
	REQUIRE(u);
	int fd = mml_memfd_create(t, "uffd", 0);
	REQUIRE(fd >= 0);
	REQUIRE(mml_ftruncate(t, fd, 4 * H_PAGE) == 0);
	/* Two views of one file: the second is registered, the first fills the cache. */
	long a = mml_mmap(t, 0, 4 * H_PAGE, H_RW, MAP_SHARED, fd, 0);
	long b = mml_mmap(t, 0, 4 * H_PAGE, H_RW, MAP_SHARED, fd, 0);
	REQUIRE(a > 0 && b > 0);
	uint8_t c;

	h_fill(t, (uint64_t)a, 2 * H_PAGE, 0x33);
	CHECK_EQ(mml_uffd_register(u, (uint64_t)b, 4 * H_PAGE, UFFDIO_REGISTER_MODE_MINOR | UFFDIO_REGISTER_MODE_WP), 0);
	CHECK(smaps_has(t, " ui"));
	/* In the cache, not mapped here: a MINOR fault. */
	CHECK_EQ(h_peek(t, (uint64_t)b, &c), -EIO);
	CHECK_EQ(mml_uffd_continue(u, (uint64_t)b, H_PAGE, 0), (long)H_PAGE);
	h_expect(t, (uint64_t)b, H_PAGE, 0x33);
	CHECK_EQ(mml_uffd_continue(u, (uint64_t)b, H_PAGE, 0), -EEXIST);
	/* Not in the cache: CONTINUE has nothing to map (Linux: EFAULT). */
	CHECK_EQ(mml_uffd_continue(u, (uint64_t)b + 3 * H_PAGE, H_PAGE, 0), -EFAULT);
	/* CONTINUE with WP maps it protected: minor-wp. */
	CHECK_EQ(mml_uffd_continue(u, (uint64_t)b + H_PAGE, H_PAGE, UFFDIO_CONTINUE_MODE_WP), (long)H_PAGE);
	CHECK(wp_bit(t, (uint64_t)b + H_PAGE));
	CHECK_EQ(h_peek(t, (uint64_t)b + H_PAGE, &c), 0);
	CHECK_EQ(c, 0x33);
	CHECK_EQ(h_poke(t, (uint64_t)b + H_PAGE, 0x44), -EIO);
	/* A write-protected unpopulated shmem page holds a marker. */
	CHECK_EQ(mml_uffd_writeprotect(u, (uint64_t)b + 2 * H_PAGE, H_PAGE, 1), 0);
	CHECK(wp_bit(t, (uint64_t)b + 2 * H_PAGE) && !(h_pagemap(t, (uint64_t)b + 2 * H_PAGE) & MML_PM_PRESENT));
	/* MADV_DONTNEED of a protected shmem page leaves a marker behind. */
	CHECK_EQ(mml_madvise(t, (uint64_t)b + H_PAGE, H_PAGE, MADV_DONTNEED), 0);
	CHECK(wp_bit(t, (uint64_t)b + H_PAGE) && !(h_pagemap(t, (uint64_t)b + H_PAGE) & MML_PM_PRESENT));
	CHECK_EQ(mml_uffd_free(u), 0);
	/* Released: the markers went with the registration. */
	CHECK(!wp_bit(t, (uint64_t)b + H_PAGE));
	CHECK_EQ(h_poke(t, (uint64_t)b + H_PAGE, 0x44), 0);
	h_expect(t, (uint64_t)a + H_PAGE, 1, 0x44);
	H_END(m);
}

TEST(uffd_fork_without_event_drops_wp)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	struct mml_uffd *u = h_uffd(t, UFFD_FEATURE_SIGBUS);
	REQUIRE(u);
	uint64_t a = h_map(t, BASE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	REQUIRE(mml_swapon(m, NULL, 4 << 20, -1) >= 0);

	h_fill(t, a, 2 * H_PAGE, 0x21);
	CHECK_EQ(mml_uffd_register(u, a, 2 * H_PAGE, UFFDIO_REGISTER_MODE_WP), 0);
	CHECK_EQ(mml_uffd_writeprotect(u, a, 2 * H_PAGE, 1), 0);
	CHECK_EQ(mml_madvise(t, a + H_PAGE, H_PAGE, MADV_PAGEOUT), 0);
	struct mml_task *c = h_fork(t);
	REQUIRE(c);
	CHECK(!wp_bit(c, a) && !wp_bit(c, a + H_PAGE));
	CHECK(!smaps_has(c, " uw"));
	CHECK_EQ(h_poke(c, a, 1), 0);
	CHECK_EQ(h_poke(c, a + H_PAGE, 1), 0);
	CHECK_EQ(h_poke(t, a, 1), -EIO);
	CHECK_EQ(mml_exit(c), 0);
	CHECK_EQ(mml_uffd_free(u), 0);
	H_END(m);
}

/* ---- another thread serves ---------------------------------------------------------- */

struct server {
	struct mml_uffd *u;
	struct mml_machine *m;
	uint8_t byte;
	int events;		/* events read */
	uint32_t fork_ufd;
	uint64_t fault_addr, fault_flags;
	uint8_t ev[8];
};

/* Read messages until one arrives; resolve a fault with a page of byte (or clear wp). */
static void *serve_one(void *arg)
{
	struct server *s = arg;
	struct uffd_msg msg;
	char page[H_PAGE];

	while (mml_uffd_read_event(s->u, &msg) == -EAGAIN)
		sched_yield();
	s->ev[s->events++] = msg.event;
	if (msg.event == UFFD_EVENT_FORK)
		s->fork_ufd = msg.arg.fork.ufd;
	if (msg.event != UFFD_EVENT_PAGEFAULT)
		return NULL;
	s->fault_addr = msg.arg.pagefault.address;
	s->fault_flags = msg.arg.pagefault.flags;
	if (msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) {
		mml_uffd_writeprotect(s->u, msg.arg.pagefault.address, H_PAGE, 0);
	} else {
		memset(page, s->byte, sizeof(page));
		mml_uffd_copy(s->u, msg.arg.pagefault.address, page, H_PAGE, 0);
	}
	return NULL;
}

TEST(uffd_blocking_fault_served_by_thread)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	struct server s = { .m = m, .byte = 0x6b };
	s.u = h_uffd(t, UFFD_FEATURE_PAGEFAULT_FLAG_WP);
	REQUIRE(s.u);
	uint64_t a = h_map(t, BASE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	pthread_t th;
	uint8_t c = 0;

	CHECK_EQ(mml_uffd_register(s.u, a, 2 * H_PAGE, UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP), 0);
	REQUIRE(pthread_create(&th, NULL, serve_one, &s) == 0);
	/* Sleeps in the fault until the other thread copies the page in. */
	CHECK_EQ(h_peek(t, a + H_PAGE + 7, &c), 0);
	pthread_join(th, NULL);
	CHECK_EQ(c, 0x6b);
	CHECK_EQ(s.fault_addr, a + H_PAGE);
	CHECK_EQ(s.fault_flags, 0);
	/* Now a write-protect fault, resolved by clearing wp (which wakes). */
	CHECK_EQ(mml_uffd_writeprotect(s.u, a + H_PAGE, H_PAGE, 1), 0);
	REQUIRE(pthread_create(&th, NULL, serve_one, &s) == 0);
	CHECK_EQ(h_poke(t, a + H_PAGE, 0x7c), 0);
	pthread_join(th, NULL);
	CHECK_EQ(s.fault_flags, UFFD_PAGEFAULT_FLAG_WRITE | UFFD_PAGEFAULT_FLAG_WP);
	h_expect(t, a + H_PAGE, 1, 0x7c);
	CHECK_EQ(mml_uffd_free(s.u), 0);
	H_END(m);
}

TEST(uffd_fork_event_keeps_wp)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	REQUIRE(mml_swapon(m, NULL, 4 << 20, -1) >= 0);
	struct server s = { .m = m };
	s.u = h_uffd(t, UFFD_FEATURE_SIGBUS | UFFD_FEATURE_EVENT_FORK);
	REQUIRE(s.u);
	uint64_t a = h_map(t, BASE, 3 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	pthread_t th;

	h_fill(t, a, 2 * H_PAGE, 0x21);
	CHECK_EQ(mml_uffd_register(s.u, a, 3 * H_PAGE, UFFDIO_REGISTER_MODE_WP), 0);
	CHECK_EQ(mml_uffd_writeprotect(s.u, a, 3 * H_PAGE, 1), 0);
	CHECK_EQ(mml_madvise(t, a + H_PAGE, H_PAGE, MADV_PAGEOUT), 0);
	REQUIRE(pthread_create(&th, NULL, serve_one, &s) == 0);
	/* fork returns once the monitor has read the event. */
	struct mml_task *c = h_fork(t);
	pthread_join(th, NULL);
	REQUIRE(c);
	CHECK_EQ(s.ev[0], UFFD_EVENT_FORK);
	struct mml_uffd *cu = mml_uffd_get(m, s.fork_ufd);
	REQUIRE(cu);
	CHECK_EQ(mml_uffd_number(cu), s.fork_ufd);
	/* The present pte and the swap entry keep uffd-wp in the child. */
	CHECK(wp_bit(c, a) && wp_bit(c, a + H_PAGE));
	CHECK(smaps_has(c, " uw"));
	CHECK_EQ(h_poke(c, a, 1), -EIO);
	CHECK_EQ(h_poke(c, a + H_PAGE, 1), -EIO);
	/* The child's userfaultfd resolves the child's faults. */
	CHECK_EQ(mml_uffd_writeprotect(cu, a, 2 * H_PAGE, 0), 0);
	CHECK_EQ(h_poke(c, a + H_PAGE, 1), 0);
	CHECK_EQ(h_poke(t, a + H_PAGE, 1), -EIO);
	/* The child exits: its userfaultfd is released, calls fail, free still frees. */
	CHECK_EQ(mml_exit(c), 0);
	CHECK_EQ(mml_uffd_writeprotect(cu, a, H_PAGE, 1), -EBADF);
	CHECK_EQ(mml_uffd_free(cu), 0);
	CHECK_EQ(mml_uffd_free(s.u), 0);
	H_END(m);
}

TEST(uffd_remove_and_unmap_events)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	struct server s = { .m = m };
	s.u = h_uffd(t, UFFD_FEATURE_SIGBUS | UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP);
	REQUIRE(s.u);
	uint64_t a = h_map(t, BASE, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	pthread_t th;

	h_fill(t, a, 4 * H_PAGE, 0x21);
	CHECK_EQ(mml_uffd_register(s.u, a, 4 * H_PAGE, UFFDIO_REGISTER_MODE_MISSING), 0);
	REQUIRE(pthread_create(&th, NULL, serve_one, &s) == 0);
	CHECK_EQ(mml_madvise(t, a, H_PAGE, MADV_DONTNEED), 0);
	pthread_join(th, NULL);
	CHECK_EQ(s.ev[0], UFFD_EVENT_REMOVE);
	REQUIRE(pthread_create(&th, NULL, serve_one, &s) == 0);
	CHECK_EQ(mml_munmap(t, a + 2 * H_PAGE, 2 * H_PAGE), 0);
	pthread_join(th, NULL);
	CHECK_EQ(s.ev[1], UFFD_EVENT_UNMAP);
	/* Without a reader: events sent with nobody left to wait for them after free. */
	CHECK_EQ(mml_uffd_free(s.u), 0);
	CHECK_EQ(mml_munmap(t, a, 2 * H_PAGE), 0);
	H_END(m);
}

TEST(uffd_released_at_exit_never_leaks)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	struct mml_uffd *u = h_uffd(t, UFFD_FEATURE_SIGBUS);
	struct mml_uffd *kept = h_uffd(t, 0);
	REQUIRE(u && kept);
	uint64_t a = h_map(t, BASE, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	CHECK_EQ(mml_uffd_register(u, a, H_PAGE, UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP), 0);
	CHECK_EQ(mml_exit(t), 0);
	CHECK_EQ(mml_uffd_register(u, a, H_PAGE, UFFDIO_REGISTER_MODE_MISSING), -EBADF);
	CHECK_EQ(mml_uffd_zeropage(u, a, H_PAGE, 0), -EBADF);
	struct uffd_msg msg;
	CHECK_EQ(mml_uffd_read_event(u, &msg), -EBADF);
	CHECK_EQ(mml_uffd_free(u), 0);
	/* kept is never freed: power-off frees it, no leak reported. */
	H_END(m);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
