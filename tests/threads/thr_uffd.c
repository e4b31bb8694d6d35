/*
 * thr_uffd.c - userfaultfd write-protection racing the fault path and
 * reclaim: one thread of a process writes pages of a WP-registered range
 * (UFFD_FEATURE_SIGBUS: a store to a protected page fails, never waits),
 * a second toggles UFFDIO_WRITEPROTECT over the whole range, a third
 * reads, and kswapd pushes the pages to swap and back (the bit rides in
 * the swap pte).  A store either lands or is refused, whole; nothing
 * lands while the page is protected at the moment of the store (checked
 * through the values: the last store that succeeded is what the page
 * holds at the end); the checker passes throughout.  Then a fault that
 * waits (no SIGBUS) is served by another thread while the protector
 * still toggles.
 *
 * Bounded iterations, fixed data, no timing assertions.
 */
#include "../harness.h"

#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>

#define BASE	0x100000000ULL
#define NPAGES	32
#define ITERS	400

struct shared {
	struct mml_task *writer, *reader;
	struct mml_uffd *u;
	uint8_t last[NPAGES];		/* the writer's last store that succeeded, per page */
	int refused, landed;
	int stop;
};

static void *writer(void *arg)
{
	struct shared *s = arg;

	for (int i = 0; i < ITERS; i++) {
		int pg = (i * 7) % NPAGES;
		uint8_t v = (uint8_t)(1 + i % 250);
		int r = h_poke(s->writer, BASE + (uint64_t)pg * H_PAGE, v);

		if (r == 0) {
			s->last[pg] = v;
			s->landed++;
		} else if (CHECK_EQ(r, -EIO)) {
			s->refused++;
		}
	}
	return NULL;
}

static void *protector(void *arg)
{
	struct shared *s = arg;

	for (int i = 0; !__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE); i++)
		CHECK_EQ(mml_uffd_writeprotect(s->u, BASE, NPAGES * H_PAGE, i & 1), 0);
	return NULL;
}

static void *reader(void *arg)
{
	struct shared *s = arg;
	uint8_t b;

	for (int i = 0; i < ITERS; i++)
		CHECK_EQ(h_peek(s->reader, BASE + (uint64_t)(i % NPAGES) * H_PAGE, &b), 0);
	return NULL;
}

TEST(writeprotect_races_faults_and_reclaim)
{
	struct mml_machine *m = h_machine_flags(4 << 20, MML_KSWAPD);
	struct shared s = { 0 };
	pthread_t w, p, r;

	REQUIRE(m);
	REQUIRE(mml_swapon(m, NULL, 8 << 20, -1) >= 0);
	s.writer = h_spawn(m);
	REQUIRE(s.writer);
	REQUIRE_EQ(mml_thread_new(s.writer, &s.reader), 0);
	REQUIRE(h_map(s.writer, BASE, NPAGES * H_PAGE, H_RW, H_ANON | MAP_FIXED));
	h_fill(s.writer, BASE, NPAGES * H_PAGE, 0);
	REQUIRE_EQ(mml_uffd_new(s.writer, UFFD_FEATURE_SIGBUS, &s.u), 0);
	REQUIRE_EQ(mml_uffd_register(s.u, BASE, NPAGES * H_PAGE, UFFDIO_REGISTER_MODE_WP), 0);
	REQUIRE(pthread_create(&p, NULL, protector, &s) == 0);
	REQUIRE(pthread_create(&w, NULL, writer, &s) == 0);
	REQUIRE(pthread_create(&r, NULL, reader, &s) == 0);
	pthread_join(w, NULL);
	pthread_join(r, NULL);
	__atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
	pthread_join(p, NULL);
	CHECK_EQ(mml_check(m), 0);
	/* Unprotected now: every page holds the last store that landed there. */
	CHECK_EQ(mml_uffd_writeprotect(s.u, BASE, NPAGES * H_PAGE, 0), 0);
	for (int pg = 0; pg < NPAGES; pg++) {
		uint8_t b = 0xff;

		CHECK_EQ(h_peek(s.writer, BASE + (uint64_t)pg * H_PAGE, &b), 0);
		CHECKF(b == s.last[pg], "page %d holds %#x, its last store that landed was %#x", pg, b, s.last[pg]);
	}
	CHECK(s.landed + s.refused == ITERS);
	CHECK_EQ(mml_uffd_free(s.u), 0);
	H_END(m);
}

struct served {
	struct mml_uffd *u;
	int stop, answered;
};

/* Answers write-protect faults by clearing the page's protection, until told to stop. */
static void *server(void *arg)
{
	struct served *s = arg;
	struct uffd_msg msg;

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		if (mml_uffd_read_event(s->u, &msg) < 0) {
			sched_yield();
			continue;
		}
		if (msg.event == UFFD_EVENT_PAGEFAULT) {
			mml_uffd_writeprotect(s->u, msg.arg.pagefault.address & ~(H_PAGE - 1), H_PAGE, 0);
			__atomic_fetch_add(&s->answered, 1, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

TEST(waiting_faults_served_while_protection_toggles)
{
	struct mml_machine *m = h_machine(8 << 20);
	struct served sv = { 0 };
	struct shared s = { 0 };
	pthread_t p, srv;

	REQUIRE(m);
	s.writer = h_spawn(m);
	REQUIRE(s.writer);
	REQUIRE(h_map(s.writer, BASE, NPAGES * H_PAGE, H_RW, H_ANON | MAP_FIXED));
	h_fill(s.writer, BASE, NPAGES * H_PAGE, 0);
	REQUIRE_EQ(mml_uffd_new(s.writer, UFFD_FEATURE_PAGEFAULT_FLAG_WP, &s.u), 0);
	REQUIRE_EQ(mml_uffd_register(s.u, BASE, NPAGES * H_PAGE, UFFDIO_REGISTER_MODE_WP), 0);
	sv.u = s.u;
	REQUIRE(pthread_create(&srv, NULL, server, &sv) == 0);
	REQUIRE(pthread_create(&p, NULL, protector, &s) == 0);
	/* Every store lands in the end: a protected page's fault sleeps until served. */
	for (int i = 0; i < ITERS / 4; i++)
		CHECK_EQ(h_poke(s.writer, BASE + (uint64_t)(i % NPAGES) * H_PAGE, (uint8_t)(i + 1)), 0);
	__atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
	pthread_join(p, NULL);
	__atomic_store_n(&sv.stop, 1, __ATOMIC_RELEASE);
	pthread_join(srv, NULL);
	for (int i = ITERS / 4 - NPAGES; i < ITERS / 4; i++) {
		uint8_t b = 0;

		CHECK_EQ(h_peek(s.writer, BASE + (uint64_t)(i % NPAGES) * H_PAGE, &b), 0);
		CHECK_EQ(b, (uint8_t)(i + 1));
	}
	CHECK_EQ(mml_uffd_free(s.u), 0);
	H_END(m);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
