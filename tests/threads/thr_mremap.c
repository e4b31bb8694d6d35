/*
 * thr_mremap.c - mremap racing the lockless and the other-mm paths: one
 * thread of a process moves a written range back and forth between two
 * addresses (MREMAP_FIXED) while another pins it with GUP-fast and checks
 * the pin against the process, and kswapd reclaims into swap.  A pin taken
 * is coherent with the process wherever the range now lies; a page is
 * never lost or duplicated; the checker passes at the end.
 *
 * Bounded iterations, fixed data, no timing assertions.
 */
#include "../harness.h"

#include <pthread.h>
#include <sys/mman.h>

#ifndef MREMAP_MAYMOVE
#define MREMAP_MAYMOVE		1
#define MREMAP_FIXED		2
#endif

#define A1	0x100000000ULL
#define A2	0x180000000ULL
#define NPAGES	16
#define ITERS	200

struct shared {
	struct mml_task *mover, *pinner;
	uint64_t where;		/* where the range is now, written by the mover only */
	int moves, pins;
};

static void *mover(void *arg)
{
	struct shared *s = arg;

	for (int i = 0; i < ITERS; i++) {
		uint64_t from = __atomic_load_n(&s->where, __ATOMIC_ACQUIRE), to = from == A1 ? A2 : A1;

		if (CHECK_EQ(mml_mremap(s->mover, from, NPAGES * H_PAGE, NPAGES * H_PAGE,
					MREMAP_MAYMOVE | MREMAP_FIXED, to), (long)to)) {
			__atomic_store_n(&s->where, to, __ATOMIC_RELEASE);
			s->moves++;
		}
	}
	return NULL;
}

/* Pins a page wherever it is; a pin that raced a move may fail (EFAULT), never be wrong. */
static void *pinner(void *arg)
{
	struct shared *s = arg;

	for (int i = 0; i < ITERS; i++) {
		uint64_t page = (uint64_t)(i % NPAGES) * H_PAGE;
		uint8_t got = 0;
		struct mml_pin *p;
		bool found = false;

		for (int k = 0; k < 2 && !found; k++) {
			uint64_t base = k ? A2 : A1;

			if (mml_pin_user_pages(s->pinner, base + page, 1, MML_FOLL_FAST, &p) != 1)
				continue;
			found = true;
			/* Every page holds its own index: the pin has the page the range had. */
			CHECK_EQ(mml_dma_read(p, 0, &got, 1), 0);
			CHECK_EQ(got, (uint8_t)(i % NPAGES));
			mml_unpin(p);
			s->pins++;
		}
	}
	return NULL;
}

TEST(thr_mremap_races_gup_fast_and_kswapd)
{
	struct mml_machine *m = mml_machine_new(&(struct mml_config){ .ram_bytes = 8ULL << 20,
								       .flags = MML_KSWAPD });
	struct shared s = { .where = A1 };
	pthread_t a, b;

	REQUIRE(m);
	REQUIRE(mml_swapon(m, NULL, 4 << 20, 0) >= 0);
	REQUIRE_EQ(mml_spawn(m, &s.mover), 0);
	REQUIRE_EQ(mml_thread_new(s.mover, &s.pinner), 0);
	REQUIRE_EQ(mml_mmap(s.mover, A1, NPAGES * H_PAGE, H_RW, H_ANON | MAP_FIXED, -1, 0), (long)A1);
	for (int i = 0; i < NPAGES; i++) {
		uint8_t v = (uint8_t)i;

		REQUIRE_EQ(mml_write(s.mover, A1 + (uint64_t)i * H_PAGE, &v, 1), 0);
	}
	pthread_create(&a, NULL, mover, &s);
	pthread_create(&b, NULL, pinner, &s);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	CHECK_EQ(s.moves, ITERS);
	for (int i = 0; i < NPAGES; i++) {
		uint8_t v = 0xff;

		CHECK_EQ(mml_read(s.mover, s.where + (uint64_t)i * H_PAGE, &v, 1), 0);
		CHECK_EQ(v, (uint8_t)i);
	}
	CHECK_EQ(mml_vmstat(m, "nr_foll_pin_released"), mml_vmstat(m, "nr_foll_pin_acquired"));
	CHECK_EQ(mml_check(m), 0);
	CHECK_EQ(mml_machine_free(m), 0);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
