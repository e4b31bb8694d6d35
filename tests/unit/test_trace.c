/*
 * test_trace.c - trace events (mml_trace_*): the events fire with Linux's
 * fields where Linux fires them, and agree with the counters that count
 * the same things (mm_page_alloc with pgalloc, mm_page_free with pgfree,
 * rss_stat with the process's RSS, kswapd's wake and sleep with
 * pageoutrun); selection by name, glob and SYSTEM:NAME, "!" and -EINVAL;
 * the same seed gives the same bytes in a deterministic run; the output
 * is ftrace's trace file.
 */
#include "../harness.h"

#include <stdlib.h>
#include <string.h>

#define RAM	(16ULL << 20)
#define BASE	0x100000000ULL

/* What a subscriber saw: per event, how many and the pages (2^order) of kmem's. */
struct seen {
	long n[64];
	long alloc_pages, free_pages;
	long rss_anon_last;	/* size= of the last MM_ANONPAGES rss_stat, bytes */
	int kswapd_wake_pid, kswapd_wake_cpu;
	char kswapd_wake_comm[16];
	char first_alloc[256];
	int bad;		/* a line that is not the struct's fields laid out as ftrace does */
};

static int event_index(const char *name)
{
	const char *n;

	for (unsigned i = 0; (n = mml_trace_event_name(i, NULL)); i++)
		if (!strcmp(n, name))
			return (int)i;
	return -1;
}

static void collect(void *arg, const struct mml_trace_event *ev)
{
	struct seen *s = arg;
	char want[640];
	int order;
	long size;

	s->n[event_index(ev->name)]++;
	snprintf(want, sizeof(want), "%16s-%-7d [%03d] ", ev->comm, ev->pid, ev->cpu);
	if (strncmp(ev->line, want, strlen(want)) || !strstr(ev->line, ev->fields) ||
	    strncmp(strstr(ev->line, ": ") + 2, ev->name, strlen(ev->name)))
		s->bad++;
	if (!strcmp(ev->name, "mm_page_alloc") && sscanf(strstr(ev->fields, "order="), "order=%d", &order) == 1) {
		s->alloc_pages += 1L << order;
		if (!s->first_alloc[0])
			snprintf(s->first_alloc, sizeof(s->first_alloc), "%s", ev->fields);
	}
	if (!strcmp(ev->name, "mm_page_free") && sscanf(strstr(ev->fields, "order="), "order=%d", &order) == 1)
		s->free_pages += 1L << order;
	if (!strcmp(ev->name, "rss_stat") && strstr(ev->fields, "type=MM_ANONPAGES") &&
	    sscanf(strstr(ev->fields, "size="), "size=%ldB", &size) == 1)
		s->rss_anon_last = size;
	if (!strcmp(ev->name, "mm_vmscan_kswapd_wake")) {
		s->kswapd_wake_pid = ev->pid;
		s->kswapd_wake_cpu = ev->cpu;
		snprintf(s->kswapd_wake_comm, sizeof(s->kswapd_wake_comm), "%s", ev->comm);
	}
}

TEST(trace_select_names_globs_and_errors)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	struct seen s = { 0 };
	uint64_t p = h_map(t, BASE, 4 * H_PAGE, H_RW, H_ANON);

	REQUIRE(mml_trace_subscribe(m, collect, &s) == 0);
	/* Nothing is on at first. */
	h_fill(t, p, H_PAGE, 1);
	CHECK_EQ(s.n[event_index("mm_page_alloc")], 0);

	CHECK_EQ(mml_trace_enable(m, "no_such_event"), -EINVAL);
	CHECK_EQ(mml_trace_enable(m, "kmem:mm_page_alloc,bogus:*"), -EINVAL);	/* nothing changed */
	CHECK_EQ(mml_trace_enable(m, "vmscan:mm_page_alloc"), -EINVAL);	/* the wrong system */
	CHECK_EQ(mml_trace_enable(m, NULL), -EINVAL);
	h_fill(t, p + H_PAGE, H_PAGE, 1);
	CHECK_EQ(s.n[event_index("mm_page_alloc")], 0);

	/* A glob over names, then one taken out with '!'. */
	REQUIRE(mml_trace_enable(m, "mm_page_*,rss_stat") == 0);
	REQUIRE(mml_trace_enable(m, "!mm_page_free") == 0);
	h_fill(t, p + 2 * H_PAGE, H_PAGE, 1);
	CHECK(s.n[event_index("mm_page_alloc")] >= 1);
	CHECK(s.n[event_index("rss_stat")] >= 1);
	CHECK_EQ(s.bad, 0);
	CHECK(strstr(s.first_alloc, "order=0 migratetype=1 gfp_flags=GFP_HIGHUSER_MOVABLE") != NULL);
	CHECKF(s.rss_anon_last == 3 * (long)H_PAGE, "rss_stat size %ld after 3 anon pages", s.rss_anon_last);
	CHECK_EQ(mml_munmap(t, p, 4 * H_PAGE), 0);
	CHECK_EQ(s.n[event_index("mm_page_free")], 0);

	/* SYSTEM:NAME globs; "!*" turns everything off. */
	REQUIRE(mml_trace_enable(m, "!*,kmem:*") == 0);
	p = h_map(t, BASE, H_PAGE, H_RW, H_ANON);
	h_fill(t, p, H_PAGE, 2);
	CHECK_EQ(mml_munmap(t, p, H_PAGE), 0);
	CHECK(s.n[event_index("mm_page_free")] >= 1);
	REQUIRE(mml_trace_enable(m, "!*") == 0);
	memset(&s, 0, sizeof(s));
	p = h_map(t, BASE, H_PAGE, H_RW, H_ANON);
	h_fill(t, p, H_PAGE, 2);
	for (int i = 0; i < 64; i++)
		CHECK_EQ(s.n[i], 0);
	mml_trace_subscribe(m, NULL, NULL);
	H_END(m);
}

/* mm_page_alloc/mm_page_free against pgalloc_normal/pgfree: the same pages. */
TEST(trace_page_events_match_vmstat)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m), *c;
	struct seen s = { 0 };
	long alloc0, free0;
	uint64_t p = h_map(t, BASE, 64 * H_PAGE, H_RW, H_ANON);

	REQUIRE(mml_trace_subscribe(m, collect, &s) == 0);
	REQUIRE(mml_trace_enable(m, "kmem:mm_page_alloc,kmem:mm_page_free") == 0);
	alloc0 = mml_vmstat(m, "pgalloc_normal");
	free0 = mml_vmstat(m, "pgfree");
	h_fill(t, p, 64 * H_PAGE, 3);
	c = h_fork(t);
	h_fill(c, p, 32 * H_PAGE, 4);	/* copy-on-write */
	CHECK_EQ(mml_exit(c), 0);
	CHECK_EQ(mml_madvise(t, p, 16 * H_PAGE, MADV_DONTNEED), 0);
	CHECK_EQ(s.alloc_pages, mml_vmstat(m, "pgalloc_normal") - alloc0);
	CHECK_EQ(s.free_pages, mml_vmstat(m, "pgfree") - free0);
	CHECK(s.alloc_pages > 64 + 32);
	CHECK_EQ(s.bad, 0);
	mml_trace_subscribe(m, NULL, NULL);
	H_END(m);
}

/* kswapd: woken below the low watermark, back asleep once balanced, as many sleeps as wakes. */
static void fill_fn(struct mml_task *t, void *arg)
{
	h_fill(t, *(uint64_t *)arg, 6ULL << 20, 5);
}

TEST(trace_kswapd_wake_and_sleep)
{
	struct mml_machine *m = h_machine_flags(4ULL << 20, MML_KSWAPD | MML_DETERMINISTIC);
	struct mml_task *t = h_spawn(m);
	mml_thread_fn fns[1] = { fill_fn };
	struct seen s = { 0 };
	uint64_t p;
	void *args[1] = { &p };

	REQUIRE(mml_swapon(m, NULL, 8ULL << 20, 0) >= 0);
	p = h_map(t, BASE, 6ULL << 20, H_RW, H_ANON);
	REQUIRE(mml_trace_subscribe(m, collect, &s) == 0);
	REQUIRE(mml_trace_enable(m, "vmscan:*") == 0);
	CHECK_EQ(mml_sched_run(m, 1, &t, fns, args), 0);
	CHECK(mml_vmstat(m, "pageoutrun") > 0);
	CHECK_EQ(s.n[event_index("mm_vmscan_kswapd_wake")], mml_vmstat(m, "pageoutrun"));
	CHECK_EQ(s.n[event_index("mm_vmscan_kswapd_sleep")], s.n[event_index("mm_vmscan_kswapd_wake")]);
	CHECK(!strcmp(s.kswapd_wake_comm, "kswapd0"));
	CHECK_EQ(s.kswapd_wake_pid, 0);
	CHECK(s.n[event_index("mm_vmscan_wakeup_kswapd")] > 0);
	CHECK(s.n[event_index("mm_vmscan_lru_shrink_inactive")] > 0);
	CHECK(s.n[event_index("mm_vmscan_write_folio")] > 0);
	CHECK_EQ(s.bad, 0);
	h_expect(t, p, 6ULL << 20, 5);
	mml_trace_subscribe(m, NULL, NULL);
	H_END(m);
}

/* Two threads racing under the scheduler: the same seed, the same bytes; another seed, others. */
struct racer { uint64_t addr; };

static void race_fn(struct mml_task *t, void *arg)
{
	struct racer *r = arg;

	for (int i = 0; i < 8; i++) {
		uint8_t b = (uint8_t)i;

		mml_write(t, r->addr + (uint64_t)i * H_PAGE, &b, 1);
	}
	mml_munmap(t, r->addr, 4 * H_PAGE);
}

static char *traced_run(uint64_t seed, size_t *len)
{
	struct mml_config cfg = { .ram_bytes = RAM, .seed = seed, .flags = MML_DETERMINISTIC | MML_QUIET };
	struct mml_machine *m = mml_machine_new(&cfg);
	struct mml_task *t, *t2, *tasks[2];
	struct racer r[2] = { { BASE }, { BASE + (1ULL << 21) } };
	mml_thread_fn fns[2] = { race_fn, race_fn };
	void *args[2] = { &r[0], &r[1] };
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!CHECK(m && f) || !CHECK_EQ(mml_spawn(m, &t), 0) || !CHECK_EQ(mml_thread_new(t, &t2), 0))
		return NULL;
	tasks[0] = t;
	tasks[1] = t2;
	CHECK(mml_mmap(t, BASE, 8 * H_PAGE, H_RW, H_ANON | MAP_FIXED, -1, 0) == (long)BASE);
	CHECK(mml_mmap(t, BASE + (1ULL << 21), 8 * H_PAGE, H_RW, H_ANON | MAP_FIXED, -1, 0) ==
	      (long)(BASE + (1ULL << 21)));
	mml_sched_set(m, "pct", 3);
	CHECK_EQ(mml_trace_enable(m, "*"), 0);
	mml_trace_set_output(m, f);
	CHECK_EQ(mml_sched_run(m, 2, tasks, fns, args), 0);
	mml_trace_set_output(m, NULL);
	fclose(f);
	CHECK_EQ(mml_exit(t2), 0);
	CHECK_EQ(mml_exit(t), 0);
	CHECK_EQ(mml_machine_free(m), 0);
	return buf;
}

TEST(trace_same_seed_same_bytes)
{
	size_t l1, l2, l3;
	char *a = traced_run(7, &l1), *b = traced_run(7, &l2), *c = traced_run(8, &l3);

	REQUIRE(a && b && c);
	CHECK_EQ(l1, l2);
	CHECK(!memcmp(a, b, l1));
	CHECK(l1 != l3 || memcmp(a, c, l1));
	/* ftrace's header, then events of both threads, on their own CPUs, at increasing times. */
	CHECK(!strncmp(a, "# tracer: nop\n", 14));
	CHECK(strstr(a, "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n") != NULL);
	CHECK(strstr(a, "           mmlab-1       [001] ..... ") != NULL);
	CHECK(strstr(a, "           mmlab-2       [002] ..... ") != NULL);
	CHECK(strstr(a, ": tlb_flush: pages:") != NULL);
	{
		double last = -1, ts;
		int lines = 0;

		for (char *l = strstr(a, "\n  "); l; l = strstr(l + 1, "\n  ")) {
			char *col = strstr(l, "] ..");

			if (!col || sscanf(col + 8, "%lf", &ts) != 1)
				continue;
			CHECKF(ts >= last, "timestamps go back: %f after %f", ts, last);
			last = ts;
			lines++;
		}
		CHECK(lines > 10);
	}
	free(a);
	free(b);
	free(c);
}

TEST(trace_event_list)
{
	const char *sys, *name;
	unsigned n = 0;

	for (unsigned i = 0; (name = mml_trace_event_name(i, &sys)); i++, n++)
		CHECK(sys && *sys && *name);
	CHECK(n >= 25);
	CHECK(mml_trace_event_name(n, &sys) == NULL);
	CHECK_EQ(event_index("mm_vmscan_lru_shrink_inactive") >= 0, 1);
	CHECK_EQ(event_index("ksm_merge_with_ksm_page") >= 0, 1);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
