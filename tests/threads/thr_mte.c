/*
 * thr_mte.c - memory tags under concurrency (run under ThreadSanitizer).
 *
 * One process with a PROT_MTE region.  Two tagger threads store tags into
 * the same pages: one owns the even granules, the other the odd ones, so
 * every byte of tag storage (two granules) is stored by both at once; each
 * loads its own granules back and must find its last stores (a tag store
 * leaves its neighbour alone, as STG does).  Meanwhile a third thread
 * pushes the region out to swap (MADV_PAGEOUT, mml_reclaim) and a fourth
 * forks the process, checks the child sees tags that some tagger stored
 * and lets it go: arch_unmap_one, do_swap_page's arch_swap_restore and
 * fork race with the stores.  At the end every tag is the last one stored,
 * the checker is clean and nothing leaks.
 *
 * Bounded iteration counts and fixed seeds; no timing assertions.  The
 * THR_SCALE environment variable (default 1) multiplies the iterations.
 */
#define _GNU_SOURCE
#include "../harness.h"

#include <pthread.h>
#include <stdlib.h>

#define REGION		0x100000000ULL
#define PAGES		4
#define GRANULES	(PAGES * H_PAGE / 16)

struct worker {
	struct mml_task *t;
	int parity;		/* tagger: 0 even granules, 1 odd */
	int iters, done;
	uint8_t last[GRANULES];	/* tagger: what its granules must hold */
};

static unsigned tag_for(int iter, unsigned g)
{
	return (unsigned)(iter * 7 + g) % 16;
}

static void *tagger(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < w->iters; i++) {
		for (unsigned g = (unsigned)w->parity; g < GRANULES; g += 2 * (1 + i % 3)) {
			if (!CHECK_EQ(mml_set_tag(w->t, REGION + g * 16, tag_for(i, g)), 0))
				return NULL;
			w->last[g] = (uint8_t)tag_for(i, g);
		}
		for (unsigned g = (unsigned)w->parity; g < GRANULES; g += 2) {
			unsigned tag = 99;

			if (!CHECK_EQ(mml_get_tag(w->t, REGION + g * 16 + 15, &tag), 0) ||
			    !CHECKF(tag == w->last[g], "granule %u: tag %u, last stored %u", g, tag, w->last[g]))
				return NULL;
		}
		w->done++;
	}
	return NULL;
}

static void *pager(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < w->iters; i++) {
		if (!CHECK_EQ(mml_madvise(w->t, REGION, PAGES * H_PAGE, MADV_PAGEOUT), 0))
			return NULL;
		CHECK(mml_reclaim(mml_task_machine(w->t), 8) >= 0);
		w->done++;
	}
	return NULL;
}

static void *forker(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < w->iters; i++) {
		struct mml_task *c = NULL;
		unsigned tag = 99;

		if (!CHECK_EQ(mml_fork(w->t, &c), 0))
			return NULL;
		/* Whatever the child sees is a tag someone stored: 0..15, never garbage. */
		CHECK_EQ(mml_get_tag(c, REGION + (unsigned)(i % GRANULES) * 16, &tag), 0);
		CHECK(tag < 16);
		CHECK_EQ(mml_set_tag(c, REGION, 15), 0);	/* the child's own copy */
		CHECK_EQ(mml_exit(c), 0);
		w->done++;
	}
	return NULL;
}

TEST(thr_mte_tags_swap_fork)
{
	struct mml_config cfg = { .ram_bytes = 16 << 20, .ncpus = 8, .seed = 7 };
	struct mml_machine *m = mml_machine_new(&cfg);
	struct mml_task *p = NULL;
	struct worker ws[4] = { { 0 } };
	void *(*fn[4])(void *) = { tagger, tagger, pager, forker };
	pthread_t th[4];
	int scale = getenv("THR_SCALE") ? atoi(getenv("THR_SCALE")) : 1, started = 0;

	REQUIRE(m);
	if (!CHECK_EQ(mml_spawn(m, &p), 0) || !CHECK(mml_swapon(m, NULL, 4 << 20, -1) >= 0) ||
	    !h_map(p, REGION, PAGES * H_PAGE, H_RW | MML_PROT_MTE, H_ANON | MAP_FIXED) ||
	    !h_fill(p, REGION, PAGES * H_PAGE, 0x5a)) {
		mml_machine_free(m);
		return;
	}
	scale = scale > 0 ? scale : 1;
	for (int i = 0; i < 4; i++) {
		if (!CHECK_EQ(mml_thread_new(p, &ws[i].t), 0))
			break;
		ws[i].parity = i;
		ws[i].iters = (i < 2 ? 60 : 30) * scale;
	}
	for (int i = 0; i < 4 && ws[i].t; i++, started++)
		if (!CHECK_EQ(pthread_create(&th[i], NULL, fn[i], &ws[i]), 0))
			break;
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 4; i++)
		CHECKF(ws[i].done == ws[i].iters, "worker %d did %d of %d iterations", i, ws[i].done, ws[i].iters);
	/* Every granule holds its tagger's last store; the bytes are untouched. */
	for (unsigned g = 0; g < GRANULES; g++) {
		unsigned tag = 99;

		CHECK_EQ(mml_get_tag(p, REGION + g * 16, &tag), 0);
		if (!CHECKF(tag == ws[g & 1].last[g], "granule %u: tag %u, last stored %u", g, tag,
			    ws[g & 1].last[g]))
			break;
	}
	CHECK(h_expect(p, REGION, PAGES * H_PAGE, 0x5a));
	CHECK_EQ(mml_check(m), 0);
	for (int i = 0; i < 4; i++)
		if (ws[i].t)
			CHECK_EQ(mml_exit(ws[i].t), 0);
	CHECK_EQ(mml_exit(p), 0);
	CHECK_EQ(mml_machine_free(m), 0);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
