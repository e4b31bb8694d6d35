/*
 * thr_trace.c - trace events from many host threads at once: processes
 * fault, fork, copy on write and unmap on threads of their own while
 * kswapd reclaims to swap, every event on.  Events are serialised by the
 * machine's trace lock (ThreadSanitizer sees it), each arrives whole, the
 * timestamps never go back, and no more pages are traced as allocated
 * than pgalloc counts.  Bounded work, no timing assertions.
 */
#include "../harness.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NPROCS	3
#define LEN	(2ULL << 20)

struct tally {
	long events, alloc_pages, free_pages, bad;
	uint64_t last_ts;
};

static void count(void *arg, const struct mml_trace_event *ev)
{
	struct tally *s = arg;	/* under the trace lock: no lock of ours */
	int order;

	s->events++;
	if (ev->ts_ns <= s->last_ts || !strstr(ev->line, ev->fields))
		s->bad++;
	s->last_ts = ev->ts_ns;
	/* A failed allocation is traced too, with page 0 (swap readahead's may fail): not a page. */
	if (!strcmp(ev->name, "mm_page_alloc") && strncmp(ev->fields, "page=0000000000000000", 21) &&
	    sscanf(strstr(ev->fields, "order="), "order=%d", &order) == 1)
		s->alloc_pages += 1L << order;
	else if (!strcmp(ev->name, "mm_page_free") && sscanf(strstr(ev->fields, "order="), "order=%d", &order) == 1)
		s->free_pages += 1L << order;
}

struct worker {
	struct mml_task *t;
	uint8_t byte;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	uint64_t base = 0x100000000ULL;
	struct mml_task *c;

	for (int round = 0; round < 2; round++) {
		long p = mml_mmap(w->t, base, LEN, H_RW, H_ANON | MAP_FIXED, -1, 0);

		if (!CHECK_EQ(p, (long)base))
			return NULL;
		h_fill(w->t, base, LEN, w->byte);
		if (CHECK_EQ(mml_fork(w->t, &c), 0)) {
			h_fill(c, base, LEN / 2, (uint8_t)(w->byte + 1));
			h_expect(w->t, base, LEN, w->byte);
			CHECK_EQ(mml_exit(c), 0);
		}
		CHECK_EQ(mml_munmap(w->t, base, LEN), 0);
	}
	return NULL;
}

TEST(thr_trace_events_from_every_thread)
{
	struct mml_machine *m = h_machine_flags(4ULL << 20, MML_KSWAPD);
	struct worker w[NPROCS];
	pthread_t th[NPROCS];
	struct tally s = { 0 };
	long alloc0, free0;

	REQUIRE(mml_swapon(m, NULL, 16ULL << 20, 0) >= 0);
	for (int i = 0; i < NPROCS; i++) {
		w[i].t = h_spawn(m);
		w[i].byte = (uint8_t)(0x10 * (i + 1));
	}
	REQUIRE(mml_trace_subscribe(m, count, &s) == 0);
	REQUIRE(mml_trace_enable(m, "*") == 0);
	alloc0 = mml_vmstat(m, "pgalloc_normal");
	free0 = mml_vmstat(m, "pgfree");
	for (int i = 0; i < NPROCS; i++)
		REQUIRE(pthread_create(&th[i], NULL, work, &w[i]) == 0);
	for (int i = 0; i < NPROCS; i++)
		pthread_join(th[i], NULL);
	/* kswapd may still be at work: stop the events before reading the counters. */
	REQUIRE(mml_trace_enable(m, "!*") == 0);
	mml_trace_subscribe(m, NULL, NULL);
	CHECK(s.events > 1000);
	CHECK_EQ(s.bad, 0);
	CHECK(s.alloc_pages > 0 && s.free_pages > 0);
	CHECKF(s.alloc_pages <= mml_vmstat(m, "pgalloc_normal") - alloc0, "alloc events %ld, pgalloc %ld",
	       s.alloc_pages, mml_vmstat(m, "pgalloc_normal") - alloc0);
	/* A free is traced before it is counted: kswapd's last one may not be counted yet. */
	CHECK(mml_vmstat(m, "pgfree") - free0 > 0);
	for (int i = 0; i < NPROCS; i++)
		CHECK_EQ(mml_exit(w[i].t), 0);
	H_END(m);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
