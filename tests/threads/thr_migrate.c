/*
 * thr_migrate.c - page migration racing the users of the pages it moves,
 * on a machine of two NUMA nodes, each racer a thread of one process
 * (mml_thread_new) on a host thread of its own:
 *
 *   writers    each owns a run of pages and rewrites them whole, a
 *              pattern naming the page and a generation, and reads each
 *              back; nobody else writes them, so any byte that differs
 *              is one a migration lost or misplaced
 *   migrator   move_pages of every page to node 1, then node 0 (and with
 *              MPOL_MF_MOVE_ALL while a child shares them), mbind
 *              MPOL_BIND + MPOL_MF_MOVE of one writer's run at a time,
 *              and migrate_pages of the whole process now and then
 *   pinner     FOLL_PIN | FOLL_LONGTERM pins of pages of its own: it
 *              writes through the mapping and reads through the pin, and
 *              the reverse, so a pinned page that moved (the pin left on
 *              the old frame) shows at once
 *   holder     migrations stopped half way (mml_migrate_unmap) on the
 *              writers' pages, left a moment for a writer's fault to
 *              finish, then finished (mml_migrate_move: -ENOENT when a
 *              fault did it first)
 *   compactor  /proc/sys/vm/compact_memory, which moves pages too
 *   huge       a process of its own, bound to node 0 (so that the
 *              others' migrate_pages leaves its pages be): fragments the
 *              node's free memory (pages written, every other one
 *              unmapped), then faults THPs in a MADV_HUGEPAGE range: with
 *              no free 2 MiB block the fault compacts node 0 directly,
 *              in its own thread, moving whoever's pages it finds
 *   forker     one fork half way, the writers stopped at a barrier for
 *              it; the child's copy holds the bytes of that moment,
 *              while the parent writes on and the others keep moving
 *              the pages the two share
 *
 * At the end every page holds the pattern of its last generation; with
 * nothing racing, every page moves; the checker passes, pins are all
 * given back, and the machine frees without a leak.  Bounded iterations,
 * fixed data, no timing assertions; a few seconds under ThreadSanitizer.
 */
#define _GNU_SOURCE
#include "../harness.h"

#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define WBASE		0x200000000ULL		/* the writers' pages */
#define PBASE		0x300000000ULL		/* the pinner's pages: a mapping of their own */
#define FBASE		0x400000000ULL		/* the huge thread's fragmenting pages */
#define HBASE		0x500000000ULL		/* its THPs, 2 MiB-aligned */
#define HUGE_ROUNDS	3
#define HUGE_PER_ROUND	3
#define NWRITERS	3
#define WPAGES		16			/* per writer, one run each */
#define NWPAGES		(NWRITERS * WPAGES)
#define PPAGES		8
#define NALL		(NWPAGES + PPAGES)
#define PAGE_WORDS	(H_PAGE / 8)

#define WRITER_ITERS	2000			/* a writer's floor; it goes on while the racers have not had theirs */
#define WRITER_MAX	100000
#define PIN_ITERS	3000
#define MIN_ROUNDS	150			/* the migrator's, holder's, compactor's floors ... */
#define MAX_ROUNDS	4000			/* ... and ceilings, should the writers be slow */
/* A run takes a few seconds under ThreadSanitizer: threads not done after this are stuck. */
#define STUCK_SECONDS	120

/* Machine, tasks: t[0] sets up and checks, the rest race (index = role). */
enum { T_MAIN, T_W0, T_MIGRATOR = T_W0 + NWRITERS, T_PINNER, T_HOLDER, T_FORKER, T_HUGE, NTASKS };

struct race {
	struct mml_machine *m;
	struct mml_task *t[NTASKS];
	pthread_barrier_t start;
	pthread_barrier_t fork_gate;	/* the writers and the forker, twice: stop, then go on */
	uint32_t gen[NWPAGES];		/* writer-owned; read by others only across a barrier or join */
	uint8_t *pshadow;		/* the pinner's pages as it wrote them, PPAGES pages */
	int writers_done;		/* atomic */
	int racers_at_floor;		/* atomic: migrator, holder and compactor past MIN_ROUNDS */
	long held, held_by_fault, held_back, moved_rounds, rounds, tries, pins;	/* each written by one thread */
};

static uint64_t waddr(unsigned p)
{
	return WBASE + (uint64_t)p * H_PAGE;
}

/* Word i of writer page p at generation g: the page and generation name themselves. */
static uint64_t pattern(unsigned p, uint32_t g, unsigned i)
{
	return (uint64_t)p << 48 | (uint64_t)g << 16 | i;
}

static void fill(uint64_t *buf, unsigned p, uint32_t g)
{
	for (unsigned i = 0; i < PAGE_WORDS; i++)
		buf[i] = pattern(p, g, i);
}

/* Page p as t reads it holds generation g whole; who is reading goes in the report. */
static bool page_is(struct mml_task *t, unsigned p, uint32_t g, const char *who)
{
	uint64_t buf[PAGE_WORDS];

	if (!CHECK_EQ(mml_read(t, waddr(p), buf, H_PAGE), 0))
		return false;
	for (unsigned i = 0; i < PAGE_WORDS; i++)
		if (buf[i] != pattern(p, g, i))
			return CHECKF(false, "%s: page %u word %u is %#llx, not %#llx (generation %u)", who, p, i,
				      (unsigned long long)buf[i], (unsigned long long)pattern(p, g, i), g);
	return true;
}

/*
 * A racer's round r: it goes on to its floor, then for as long as the
 * writers write (so that they never write alone, nor the racers move
 * still pages only); the writers, likewise, until every racer had its floor.
 */
static bool going_on(struct race *s, int r)
{
	if (r == MIN_ROUNDS)
		__atomic_add_fetch(&s->racers_at_floor, 1, __ATOMIC_RELEASE);
	return r < MAX_ROUNDS && harness_failures() < 10 &&
	       (r < MIN_ROUNDS || __atomic_load_n(&s->writers_done, __ATOMIC_ACQUIRE) < NWRITERS);
}

static bool writing_on(struct race *s, int i)
{
	if (harness_failures() >= 10)
		return i <= WRITER_ITERS / 2;	/* failed: stop, but not before the fork gate, which waits for us */
	return i < WRITER_MAX && (i < WRITER_ITERS || __atomic_load_n(&s->racers_at_floor, __ATOMIC_ACQUIRE) < 3);
}

static uint64_t rnd(uint64_t *x)
{
	/* xorshift64* */
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 2685821657736338717ULL;
}

/* ---- the threads ----------------------------------------------------------------------------- */

struct writer_arg {
	struct race *s;
	unsigned id;
};

/*
 * Writer id rewrites its pages whole, one a time, each with its next
 * generation, and reads it back; now and then it reads another page of
 * its own that nobody wrote since, which the others may have moved.
 * Half way it stops at the fork gate so that the fork sees known bytes.
 */
static void *writer_thread(void *arg)
{
	struct writer_arg *w = arg;
	struct race *s = w->s;
	struct mml_task *t = s->t[T_W0 + w->id];
	uint64_t seed = 0x5eed0ULL + w->id, buf[PAGE_WORDS];
	unsigned first = w->id * WPAGES;
	char who[32];

	snprintf(who, sizeof(who), "writer %u", w->id);
	pthread_barrier_wait(&s->start);
	for (int i = 0; writing_on(s, i); i++) {
		unsigned p = first + (unsigned)(rnd(&seed) % WPAGES), q = first + (unsigned)(rnd(&seed) % WPAGES);

		if (i == WRITER_ITERS / 2) {
			pthread_barrier_wait(&s->fork_gate);	/* stopped: the forker forks */
			pthread_barrier_wait(&s->fork_gate);	/* and lets us go on */
		}
		if (harness_failures() >= 10)
			continue;	/* on to the fork gate only */
		fill(buf, p, s->gen[p] + 1);
		if (!CHECK_EQ(mml_write(t, waddr(p), buf, H_PAGE), 0))
			continue;
		s->gen[p]++;
		page_is(t, p, s->gen[p], who);
		if (i % 4 == 0 && q != p)
			page_is(t, q, s->gen[q], who);
	}
	__atomic_add_fetch(&s->writers_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* A move_pages status: a node, or an error a racing page may have. */
static bool status_ok(int st)
{
	return st == INT_MIN /* not reached: the call stopped early */ || st == 0 || st == 1 || st == -EBUSY ||
	       st == -ENOENT /* a migration entry: moving now */ || st == -EACCES /* shared with the child */ ||
	       st == -EAGAIN || st == -ENOMEM;
}

static void *migrator_thread(void *arg)
{
	struct race *s = arg;
	struct mml_task *t = s->t[T_MIGRATOR];
	uint64_t pages[NALL];
	int nodes[NALL], status[NALL];

	for (unsigned i = 0; i < NALL; i++)
		pages[i] = i < NWPAGES ? waddr(i) : PBASE + (uint64_t)(i - NWPAGES) * H_PAGE;
	pthread_barrier_wait(&s->start);
	for (int r = 0; going_on(s, r); r++) {
		int node = r & 1, flags = r % 3 == 2 ? MPOL_MF_MOVE_ALL : MPOL_MF_MOVE;
		unsigned long mask = 1UL << node, other = 1UL << (node ^ 1);
		long ret;

		for (unsigned i = 0; i < NALL; i++) {
			nodes[i] = node;
			status[i] = INT_MIN;
		}
		/* Positive: pages busy (pinned, held half way, isolated by another); never an error of its own. */
		ret = mml_move_pages(t, NALL, pages, nodes, status, flags);
		CHECKF(ret >= 0 || ret == -EBUSY || ret == -ENOMEM || ret == -EAGAIN, "move_pages round %d: %ld", r,
		       ret);
		s->moved_rounds += ret == 0;
		s->rounds++;
		for (unsigned i = 0; i < NALL; i++)
			CHECKF(status_ok(status[i]), "move_pages round %d: page %u has status %d", r, i, status[i]);

		if (r % 2) {
			/* One writer's run bound to the other node, its pages moved there (busy ones stay). */
			unsigned w = (unsigned)(r / 2) % NWRITERS;

			ret = mml_mbind(t, waddr(w * WPAGES), WPAGES * H_PAGE, MPOL_BIND, &other, 3, MPOL_MF_MOVE);
			CHECKF(ret == 0, "mbind round %d: %ld", r, ret);
		}
		if (r % 5 == 4) {
			ret = mml_migrate_pages(t, 3, &other, &mask);
			CHECKF(ret >= 0 || ret == -ENOMEM, "migrate_pages round %d: %ld", r, ret);
		}
		/* A pause: pages off the migrator's lists for a while, for the holder and compaction to take. */
		nanosleep(&(struct timespec){ .tv_nsec = 300000 }, NULL);
	}
	return NULL;
}

/*
 * The pinner's pages are its own: pinned, it writes through the mapping
 * and reads through the pin, then writes through the pin and reads
 * through the mapping.  Both must be the one page however the migrator
 * tried to move it meanwhile (the yields give it time to try).
 */
static void *pinner_thread(void *arg)
{
	struct race *s = arg;
	struct mml_task *t = s->t[T_PINNER];
	uint8_t v[64], w[64], got[64];

	pthread_barrier_wait(&s->start);
	for (int i = 0; i < PIN_ITERS && harness_failures() < 10; i++) {
		unsigned p = (unsigned)i % PPAGES, n = p + 1 < PPAGES ? 1 + (unsigned)i % 2 : 1;
		unsigned foll = MML_FOLL_WRITE | MML_FOLL_LONGTERM | (i % 3 ? MML_FOLL_FAST : 0);
		uint64_t base = PBASE + (uint64_t)p * H_PAGE, off = (uint64_t)(i % 32) * 128;
		struct mml_pin *pin;

		if (!CHECK_EQ(mml_pin_user_pages(t, base, n, foll, &pin), (long)n))
			continue;
		s->pins++;
		for (unsigned j = 0; j < n; j++) {
			uint64_t a = base + j * H_PAGE + off, po = j * H_PAGE + off;
			uint8_t *sh = s->pshadow + (a - PBASE);

			memset(v, (int)(uint8_t)(i * 7 + j + 1), sizeof(v));
			memset(w, (int)(uint8_t)~(i * 7 + j + 1), sizeof(w));
			if (!CHECK_EQ(mml_write(t, a, v, sizeof(v)), 0))
				continue;
			memcpy(sh, v, sizeof(v));
			sched_yield();
			CHECK_EQ(mml_dma_read(pin, po, got, sizeof(got)), 0);
			CHECKF(!memcmp(got, v, sizeof(v)), "pin %d page %u: the pin does not see the process's write", i,
			       p + j);
			if (!CHECK_EQ(mml_dma_write(pin, po + 64, w, sizeof(w)), 0))
				continue;
			memcpy(sh + 64, w, sizeof(w));
			sched_yield();
			CHECK_EQ(mml_read(t, a + 64, got, sizeof(got)), 0);
			CHECKF(!memcmp(got, w, sizeof(w)), "pin %d page %u: the process does not see the DMA write", i,
			       p + j);
		}
		mml_unpin(pin);
	}
	return NULL;
}

/*
 * Leave a held migration up to about 4 ms for a writer's fault to meet
 * its entry and finish it; the page's status says -ENOENT while the entry
 * is there (the query itself finishes nothing).
 */
static void linger(struct mml_task *t, uint64_t addr)
{
	for (int i = 0; i < 40; i++) {
		int st = 0;

		if (mml_move_pages(t, 1, &addr, NULL, &st, 0) != 0 || st != -ENOENT)
			return;
		nanosleep(&(struct timespec){ .tv_nsec = 100000 }, NULL);
	}
}

static void *holder_thread(void *arg)
{
	struct race *s = arg;
	struct mml_task *t = s->t[T_HOLDER];
	uint64_t seed = 0x401dULL;

	pthread_barrier_wait(&s->start);
	for (int r = 0; going_on(s, r); r++) {
		unsigned p = (unsigned)(rnd(&seed) % NWPAGES);
		long h = mml_migrate_unmap(t, waddr(p), r & 1);
		int rc;

		s->tries++;
		/*
		 * Not held: busy (isolated by another migration, pinned) or
		 * mid-migration already (a migration entry: nothing present).
		 */
		if (h <= 0) {
			CHECKF(h == -EBUSY || h == -EAGAIN || h == -ENOENT || h == -ENOMEM,
			       "migrate_unmap of page %u: %ld", p, h);
			continue;
		}
		s->held++;
		linger(t, waddr(p));
		rc = mml_migrate_move(s->m, h);
		CHECKF(rc == 0 || rc == -ENOENT || rc == -EAGAIN, "migrate_move of page %u: %d", p, rc);
		s->held_by_fault += rc == -ENOENT;
		s->held_back += rc == -EAGAIN;
	}
	return NULL;
}

static void *compactor_thread(void *arg)
{
	struct race *s = arg;

	pthread_barrier_wait(&s->start);
	for (int r = 0; going_on(s, r); r++) {
		CHECK_EQ(mml_sys_write(s->m, "/proc/sys/vm/compact_memory", "1"), 0);
		nanosleep(&(struct timespec){ .tv_nsec = 2000000 }, NULL);
	}
	return NULL;
}

/*
 * Each round: most of free memory written a page at a time, every other
 * page unmapped (free memory is then all small pieces), and THPs faulted
 * in: each must compact to get its block (compact_stall), or falls back
 * to small pages if compaction cannot; either way the bytes are there.
 */
static void *huge_thread(void *arg)
{
	struct race *s = arg;
	struct mml_task *t = s->t[T_HUGE];
	uint64_t hsize = HUGE_PER_ROUND * (2ULL << 20);
	unsigned long node0 = 1;
	uint8_t b;

	pthread_barrier_wait(&s->start);
	CHECK_EQ(mml_set_mempolicy(t, MPOL_BIND, &node0, 3), 0);
	for (int r = 0; r < HUGE_ROUNDS && harness_failures() < 10; r++) {
		/*
		 * Node 0 has about half of what is free.  Not its meminfo:
		 * that scans the frames without locks (deviation 49), a race
		 * ThreadSanitizer would rightly report.
		 */
		long n = mml_meminfo(s->m, "MemFree") / 4 / 2 * 3 / 4;	/* a quarter left, for the others */

		if (!CHECK(n > 0) ||
		    !CHECK_EQ(mml_mmap(t, FBASE, (uint64_t)n * H_PAGE, H_RW, H_ANON | MAP_FIXED, -1, 0), (long)FBASE) ||
		    !CHECK_EQ(mml_madvise(t, FBASE, (uint64_t)n * H_PAGE, MADV_NOHUGEPAGE), 0))
			break;
		for (long i = 0; i < n; i++) {
			b = (uint8_t)(r + i);
			CHECK_EQ(mml_write(t, FBASE + (uint64_t)i * H_PAGE, &b, 1), 0);
		}
		for (long i = 1; i < n; i += 2)
			CHECK_EQ(mml_munmap(t, FBASE + (uint64_t)i * H_PAGE, H_PAGE), 0);
		if (!CHECK_EQ(mml_mmap(t, HBASE, hsize, H_RW, H_ANON | MAP_FIXED, -1, 0), (long)HBASE) ||
		    !CHECK_EQ(mml_madvise(t, HBASE, hsize, MADV_HUGEPAGE), 0))
			break;
		for (uint64_t a = HBASE; a < HBASE + hsize; a += 2ULL << 20) {
			b = (uint8_t)(0x40 + r);
			CHECK_EQ(mml_write(t, a + 4096 * 3, &b, 1), 0);
		}
		for (uint64_t a = HBASE; a < HBASE + hsize; a += 2ULL << 20)
			if (CHECK_EQ(mml_read(t, a + 4096 * 3, &b, 1), 0))
				CHECK_EQ(b, (uint8_t)(0x40 + r));
		for (long i = 0; i < n; i += 2)
			if (CHECK_EQ(mml_read(t, FBASE + (uint64_t)i * H_PAGE, &b, 1), 0))
				CHECK_EQ(b, (uint8_t)(r + i));
		CHECK_EQ(mml_munmap(t, FBASE, (uint64_t)n * H_PAGE), 0);
		CHECK_EQ(mml_munmap(t, HBASE, hsize), 0);
	}
	return NULL;
}

/*
 * At the fork gate every writer is stopped, so the generations are those
 * of the fork's moment.  The child checks its copy while the parent's
 * writers break COW on the pages they share and the others move them
 * (MOVE_ALL and held migrations take shared pages too), writes its own
 * copy of some (the parent must never see that), and checks again.
 */
static void *forker_thread(void *arg)
{
	struct race *s = arg;
	uint32_t snap[NWPAGES];
	struct mml_task *c = NULL;
	uint64_t junk[PAGE_WORDS];
	int rc;

	pthread_barrier_wait(&s->start);
	pthread_barrier_wait(&s->fork_gate);
	rc = mml_fork(s->t[T_FORKER], &c);
	memcpy(snap, s->gen, sizeof(snap));
	pthread_barrier_wait(&s->fork_gate);
	if (!CHECK_EQ(rc, 0))
		return NULL;
	for (unsigned p = 0; p < NWPAGES; p++)
		page_is(c, p, snap[p], "child");
	/* The child's own generations, far from any the parent reaches. */
	for (unsigned p = 0; p < NWPAGES; p += 3) {
		fill(junk, p, 0x80000000u + p);
		if (CHECK_EQ(mml_write(c, waddr(p), junk, H_PAGE), 0))
			snap[p] = 0x80000000u + p;
	}
	sched_yield();
	for (unsigned p = 0; p < NWPAGES; p++)
		page_is(c, p, snap[p], "child, again");
	CHECK_EQ(mml_exit(c), 0);
	return NULL;
}

/* ---- the test -------------------------------------------------------------------------------- */

TEST(thr_migrate_races_writers_pins_fork)
{
	struct mml_machine *m = mml_machine_new(&(struct mml_config){ .ram_bytes = 32ULL << 20, .nr_nodes = 2,
								       .flags = MML_CHECK_FREES });
	struct race s = { .m = m };
	struct writer_arg wa[NWRITERS];
	pthread_t th[NWRITERS + 6];
	uint64_t buf[PAGE_WORDS], pages[NALL];
	int nodes[NALL], status[NALL], nth = 0;
	struct timespec deadline;
	uint8_t *got;

	REQUIRE(m);
	s.pshadow = calloc(PPAGES, H_PAGE);
	REQUIRE(s.pshadow);
	REQUIRE_EQ(mml_spawn(m, &s.t[T_MAIN]), 0);
	for (int i = 1; i < T_HUGE; i++)
		REQUIRE_EQ(mml_thread_new(s.t[T_MAIN], &s.t[i]), 0);
	REQUIRE_EQ(mml_spawn(m, &s.t[T_HUGE]), 0);
	REQUIRE_EQ(mml_mmap(s.t[T_MAIN], WBASE, NWPAGES * H_PAGE, H_RW, H_ANON | MAP_FIXED, -1, 0), (long)WBASE);
	REQUIRE_EQ(mml_mmap(s.t[T_MAIN], PBASE, PPAGES * H_PAGE, H_RW, H_ANON | MAP_FIXED, -1, 0), (long)PBASE);
	/* Every page present from the start (generation 0): none is the zero page or missing. */
	for (unsigned p = 0; p < NWPAGES; p++) {
		fill(buf, p, 0);
		REQUIRE_EQ(mml_write(s.t[T_MAIN], waddr(p), buf, H_PAGE), 0);
	}
	REQUIRE_EQ(mml_write(s.t[T_MAIN], PBASE, s.pshadow, PPAGES * H_PAGE), 0);

	pthread_barrier_init(&s.start, NULL, NWRITERS + 6);
	pthread_barrier_init(&s.fork_gate, NULL, NWRITERS + 1);
	for (unsigned i = 0; i < NWRITERS; i++) {
		wa[i] = (struct writer_arg){ &s, i };
		pthread_create(&th[nth++], NULL, writer_thread, &wa[i]);
	}
	pthread_create(&th[nth++], NULL, migrator_thread, &s);
	pthread_create(&th[nth++], NULL, pinner_thread, &s);
	pthread_create(&th[nth++], NULL, holder_thread, &s);
	pthread_create(&th[nth++], NULL, compactor_thread, &s);
	pthread_create(&th[nth++], NULL, forker_thread, &s);
	pthread_create(&th[nth++], NULL, huge_thread, &s);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += STUCK_SECONDS;
	for (int i = 0; i < nth; i++)
		if (pthread_timedjoin_np(th[i], NULL, &deadline) == ETIMEDOUT) {
			/* A deadlock: say so now rather than when the harness times out; gdb -p shows who waits. */
			FAIL("thread %d of %d still running after %d s: deadlocked", i, nth, STUCK_SECONDS);
			fflush(NULL);
			abort();
		}
	pthread_barrier_destroy(&s.start);
	pthread_barrier_destroy(&s.fork_gate);

	/* Every page as its owner last wrote it. */
	for (unsigned p = 0; p < NWPAGES; p++)
		page_is(s.t[T_MAIN], p, s.gen[p], "after the race");
	got = malloc(PPAGES * H_PAGE);
	if (CHECK(got) && CHECK_EQ(mml_read(s.t[T_MAIN], PBASE, got, PPAGES * H_PAGE), 0))
		CHECKF(!memcmp(got, s.pshadow, PPAGES * H_PAGE), "the pinner's pages are not as it wrote them");

	/* Nothing races now, nothing is pinned or shared: every page moves, each to where it was asked. */
	for (unsigned i = 0; i < NALL; i++) {
		pages[i] = i < NWPAGES ? waddr(i) : PBASE + (uint64_t)(i - NWPAGES) * H_PAGE;
		nodes[i] = i % 2;
	}
	CHECK_EQ(mml_move_pages(s.t[T_MAIN], NALL, pages, nodes, status, MPOL_MF_MOVE), 0);
	CHECK_EQ(mml_move_pages(s.t[T_MAIN], NALL, pages, NULL, status, 0), 0);
	for (unsigned i = 0; i < NALL; i++)
		CHECKF(status[i] == (int)(i % 2), "page %u is on node %d, not %u", i, status[i], i % 2);
	for (unsigned p = 0; p < NWPAGES; p++)
		page_is(s.t[T_MAIN], p, s.gen[p], "after the last move");
	if (got && CHECK_EQ(mml_read(s.t[T_MAIN], PBASE, got, PPAGES * H_PAGE), 0))
		CHECKF(!memcmp(got, s.pshadow, PPAGES * H_PAGE), "the pinner's pages changed in the last move");
	free(got);

	if (getenv("THR_MIGRATE_VERBOSE"))
		fprintf(stderr, "pins %ld, held %ld of %ld tries (finished by a fault %ld, went back %ld), "
				"move rounds %ld (%ld clean), pgmigrate_success %ld, pgmigrate_fail %ld, "
				"compact_stall %ld (success %ld), thp_fault_alloc %ld, oom_kill %ld\n",
			s.pins, s.held, s.tries, s.held_by_fault, s.held_back, s.rounds, s.moved_rounds,
			mml_vmstat(m, "pgmigrate_success"), mml_vmstat(m, "pgmigrate_fail"),
			mml_vmstat(m, "compact_stall"), mml_vmstat(m, "compact_success"), mml_vmstat(m, "thp_fault_alloc"), mml_vmstat(m, "oom_kill"));
	CHECK(s.pins > 0);
	CHECK(mml_vmstat(m, "pgmigrate_success") > 0);
	CHECK(mml_vmstat(m, "compact_stall") > 0);
	CHECK_EQ(mml_vmstat(m, "nr_foll_pin_released"), mml_vmstat(m, "nr_foll_pin_acquired"));
	CHECK_EQ(mml_check(m), 0);
	for (int i = NTASKS - 1; i >= 0; i--)
		CHECK_EQ(mml_exit(s.t[i]), 0);
	free(s.pshadow);
	CHECK_EQ(mml_report_count(m), 0);
	CHECK_EQ(mml_machine_free(m), 0);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
