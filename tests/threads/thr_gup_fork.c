/*
 * thr_gup_fork.c - GUP-fast racing fork, the race write_protect_seq closes
 * (Linux commit 57efa1fe5957): one host thread pins a page of its process
 * with the lockless fast path, for write, over and over, while another
 * thread of the same process forks and reaps children.  Whatever the
 * interleaving, a pin must stay coherent with the process: the page the
 * pin holds is the page the process maps (a write by the process shows in
 * the pin, a DMA write shows in the process) and never the child's.
 *
 * Bounded iterations, fixed data, no timing assertions.
 */
#include "../harness.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_ADDR	0x100000000ULL
#define ITERS		300

struct shared {
	struct mml_task *pinner, *forker;
	int pin_failures;
};

static void *pinner(void *arg)
{
	struct shared *s = arg;

	for (int i = 0; i < ITERS; i++) {
		struct mml_pin *p;
		uint8_t v = (uint8_t)i, got = 0;

		if (mml_pin_user_pages(s->pinner, PAGE_ADDR, 1, MML_FOLL_WRITE | MML_FOLL_FAST, &p) != 1) {
			s->pin_failures++;
			continue;
		}
		/* The process writes; the device must see it, and the reverse. */
		CHECK_EQ(mml_write(s->pinner, PAGE_ADDR, &v, 1), 0);
		CHECK_EQ(mml_dma_read(p, 0, &got, 1), 0);
		CHECK_EQ(got, v);
		v ^= 0xff;
		CHECK_EQ(mml_dma_write(p, 1, &v, 1), 0);
		CHECK_EQ(mml_read(s->pinner, PAGE_ADDR + 1, &got, 1), 0);
		CHECK_EQ(got, v);
		mml_unpin(p);
	}
	return NULL;
}

static void *forker(void *arg)
{
	struct shared *s = arg;

	for (int i = 0; i < ITERS / 3; i++) {
		struct mml_task *c;
		uint8_t v = 0xee;

		if (!CHECK_EQ(mml_fork(s->forker, &c), 0))
			continue;
		/* The child writes its copy: never visible to the parent or a pin. */
		CHECK_EQ(mml_write(c, PAGE_ADDR + 2, &v, 1), 0);
		CHECK_EQ(mml_exit(c), 0);
	}
	return NULL;
}

TEST(thr_gup_fast_races_fork)
{
	struct mml_machine *m = mml_machine_new(&(struct mml_config){ .ram_bytes = 32ULL << 20 });
	struct shared s = { 0 };
	pthread_t a, b;
	uint8_t v;

	REQUIRE(m);
	REQUIRE_EQ(mml_spawn(m, &s.pinner), 0);
	REQUIRE_EQ(mml_thread_new(s.pinner, &s.forker), 0);
	REQUIRE_EQ(mml_mmap(s.pinner, PAGE_ADDR, H_PAGE, H_RW, H_ANON | MAP_FIXED, -1, 0), (long)PAGE_ADDR);
	REQUIRE_EQ(mml_write(s.pinner, PAGE_ADDR + 2, "\x11", 1), 0);
	pthread_create(&a, NULL, pinner, &s);
	pthread_create(&b, NULL, forker, &s);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	CHECK_EQ(s.pin_failures, 0);
	CHECK_EQ(mml_read(s.pinner, PAGE_ADDR + 2, &v, 1), 0);
	CHECK_EQ(v, 0x11);	/* no child's write leaked into the parent */
	/* Fast pins voided by a concurrent fork were counted and given back. */
	CHECK(mml_vmstat(m, "nr_foll_pin_acquired") >= ITERS);
	CHECK_EQ(mml_vmstat(m, "nr_foll_pin_released"), mml_vmstat(m, "nr_foll_pin_acquired"));
	CHECK_EQ(mml_check(m), 0);
	CHECK_EQ(mml_machine_free(m), 0);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
