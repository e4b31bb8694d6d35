/*
 * thr_retract.c - races retract_page_tables must survive (seed 004), on
 * host threads of their own.  One process collapses a memfd range it
 * shares with another over and over (MADV_COLLAPSE: collapse_file, then
 * retract_page_tables takes the other process's page tables with no
 * mmap_lock of that process), and a hole punched in a page nobody owns
 * splits the huge folio again, so that the next collapse has work; while
 *
 *   faults_race_retract    threads of the other process write and read
 *                          their own pages of the range (faults on tables
 *                          being retracted, pmds being installed)
 *   gup_fast_races_retract threads of the other process take GUP-fast pins
 *                          of their pages (walking tables under RCU alone,
 *                          as the seed's walkers do), write through the
 *                          pin and read through the process, and the
 *                          reverse
 *   reclaim_races_retract  MADV_PAGEOUT of the range (page_vma_mapped_walk
 *                          over both processes' tables) and writers
 *   uffd_wp_races_retract  a thread of the other process registers the
 *                          range for uffd-wp, write-protects it (shmem: a
 *                          marker in every pte mapping nothing), checks
 *                          pages read uffd-wp in pagemap, and undoes it all,
 *                          again and again, beside a writer whose stores
 *                          are refused whole (SIGBUS) or land: a table
 *                          retracted once its VMA is registered (the
 *                          recheck under the locks) loses the markers
 *
 * Each writer keeps a host shadow of its bytes; the pages nobody owns
 * stay zero but the punched ones.  Every byte is checked at the end in
 * both processes, through the descriptor too, and every invariant; a
 * table freed under a walker, or a pte lock not nested in the pmd lock,
 * shows as a wrong byte, a stale translation, or a report.  Bounded
 * iterations, fixed seeds, no timing assertions.
 */
#define _GNU_SOURCE
#include "../harness.h"

#include <linux/falloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif

#define HP		(2ULL << 20)
#define HP_PAGES	512
#define BASE		0x40000000ULL
#define NTHP		2
#define LEN		(NTHP * HP)
#define NPAGES		(NTHP * HP_PAGES)
#define NWORKERS	2
#define ITERS		300
#define ROUNDS		16
#define MAX_ROUNDS	(8 * ROUNDS)
/* The first page of each huge page is the collapser's: punched, never written by a worker. */
#define PUNCH_PAGE(k)	((uint64_t)(k) * HP_PAGES)

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

enum mode { FAULTS, GUP_FAST, RECLAIM, UFFD_WP };

struct race {
	enum mode mode;
	pthread_barrier_t go;
	struct mml_task *collapser;		/* process A's thread */
	struct mml_task *w[NWORKERS];		/* process B's threads */
	int fd;					/* the memfd, in A */
	uint8_t *shadow;			/* LEN bytes: the workers' pages */
	int done;				/* atomic: the collapser finished */
	long collapsed;
};

struct worker_arg {
	struct race *s;
	int id;
};

static bool owned(uint64_t p, int id)
{
	return p % NWORKERS == (uint64_t)id && p % HP_PAGES != 0;
}

/*
 * UFFD_WP's second worker: register, write-protect, look, unprotect,
 * unregister, until the collapser is done.  While the range is protected
 * every page must read uffd-wp, whatever collapse_file unmapped or
 * retract_page_tables considered meanwhile.
 */
static void uffd_wp_cycles(struct race *s, struct mml_task *t, uint64_t seed)
{
	struct mml_uffd *u = NULL;

	if (!CHECK_EQ(mml_uffd_new(t, UFFD_FEATURE_SIGBUS, &u), 0))
		return;
	for (int i = 0; i < 100 * ITERS && harness_failures() < 10; i++) {
		if (i >= ITERS / 10 && __atomic_load_n(&s->done, __ATOMIC_ACQUIRE))
			break;
		if (!CHECK_EQ(mml_uffd_register(u, BASE, LEN, UFFDIO_REGISTER_MODE_WP), 0))
			break;
		CHECK_EQ(mml_uffd_writeprotect(u, BASE, LEN, 1), 0);
		for (int k = 0; k < 8; k++) {
			uint64_t a = BASE + rnd(&seed) % NPAGES * H_PAGE, e = 0;

			CHECK_EQ(mml_pagemap(t, a, &e), 0);
			CHECKF(e & MML_PM_UFFD_WP, "%#llx lost its uffd-wp protection (pagemap %#llx)",
			       (unsigned long long)a, (unsigned long long)e);
		}
		CHECK_EQ(mml_uffd_writeprotect(u, BASE, LEN, 0), 0);
		CHECK_EQ(mml_uffd_unregister(u, BASE, LEN), 0);
	}
	CHECK_EQ(mml_uffd_free(u), 0);
}

static void *worker_thread(void *arg)
{
	struct worker_arg *wa = arg;
	struct race *s = wa->s;
	struct mml_task *t = s->w[wa->id];
	uint64_t seed = 0xfeed0000ULL + (uint64_t)wa->id;
	uint8_t buf[128], got[128];

	pthread_barrier_wait(&s->go);
	if (s->mode == UFFD_WP && wa->id == 1) {
		uffd_wp_cycles(s, t, seed);
		return NULL;
	}
	/* until the collapser is done, at least ITERS times, at most 100 times that */
	for (int i = 0; i < 100 * ITERS && harness_failures() < 10; i++) {
		uint64_t p = rnd(&seed) % NPAGES, off = rnd(&seed) % (H_PAGE - sizeof(buf));
		uint64_t len = 1 + rnd(&seed) % sizeof(buf), a = BASE + p * H_PAGE + off;

		if (i >= ITERS && __atomic_load_n(&s->done, __ATOMIC_ACQUIRE))
			break;
		if (!owned(p, wa->id))
			continue;
		memset(buf, (int)(rnd(&seed) | 1), len);
		if (s->mode == GUP_FAST && (i & 1)) {
			struct mml_pin *pin = NULL;
			long n = mml_pin_user_pages(t, a & ~(H_PAGE - 1), 1, MML_FOLL_WRITE | MML_FOLL_FAST, &pin);

			if (!CHECK_EQ(n, 1))
				break;
			CHECK_EQ(mml_dma_write(pin, off, buf, len), 0);
			memcpy(s->shadow + (a - BASE), buf, len);
			CHECK_EQ(mml_read(t, a, got, len), 0);
			CHECKF(!memcmp(got, buf, len), "worker %d: the pin's write at %#llx is not the process's",
			       wa->id, (unsigned long long)a);
			mml_unpin(pin);
			continue;
		}
		if (s->mode == UFFD_WP) {
			long w = mml_write(t, a, buf, len);

			/* within one page: refused whole while protected, or landed */
			if (w == -EIO)
				continue;
			if (!CHECK_EQ(w, 0))
				break;
		} else if (!CHECK_EQ(mml_write(t, a, buf, len), 0)) {
			break;
		}
		memcpy(s->shadow + (a - BASE), buf, len);
		CHECK_EQ(mml_read(t, a, got, len), 0);
		CHECKF(!memcmp(got, buf, len), "worker %d: %#llx does not read back", wa->id, (unsigned long long)a);
	}
	return NULL;
}

static void *collapser_thread(void *arg)
{
	struct race *s = arg;
	struct mml_task *t = s->collapser;

	pthread_barrier_wait(&s->go);
	/* Rounds go on until one collapse succeeded (pins and faults in flight may refuse many), within reason. */
	for (int r = 0; (r < ROUNDS || (!s->collapsed && r < MAX_ROUNDS)) && harness_failures() < 10; r++) {
		unsigned k = (unsigned)r % NTHP;
		int ret = mml_madvise(t, BASE, LEN, MADV_COLLAPSE);

		/* busy pages (a pin, a fault in flight) make it fail for now */
		CHECKF(ret == 0 || ret == -EAGAIN || ret == -EINVAL, "MADV_COLLAPSE: %d", ret);
		s->collapsed += ret == 0;
		if (s->mode == RECLAIM)
			CHECK_EQ(mml_madvise(t, BASE + (uint64_t)k * HP, HP, MADV_PAGEOUT), 0);
		/* a hole in the collapser's page splits the huge folio: the next round collapses again */
		CHECK_EQ(mml_fallocate(t, s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				       (int64_t)(PUNCH_PAGE(k) * H_PAGE), (int64_t)H_PAGE), 0);
	}
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static bool bytes_match(struct mml_task *t, const uint8_t *shadow, const char *who)
{
	uint8_t *buf = malloc(LEN);
	bool ok = buf && CHECK_EQ(mml_read(t, BASE, buf, LEN), 0);

	for (uint64_t i = 0; ok && i < LEN; i++)
		ok = CHECKF(buf[i] == shadow[i], "%s: byte %#llx is %#x, not %#x", who,
			    (unsigned long long)(BASE + i), buf[i], shadow[i]);
	free(buf);
	return ok;
}

static void run_race(enum mode mode)
{
	struct mml_machine *m = mml_machine_new(&(struct mml_config){ .ram_bytes = 64ULL << 20 });
	struct race s = { .mode = mode, .fd = -1 };
	pthread_t th[NWORKERS + 1];
	struct worker_arg wa[NWORKERS];
	struct mml_task *a, *b;
	uint8_t *fbuf;

	REQUIRE(m);
	s.shadow = calloc(1, LEN);
	REQUIRE(s.shadow);
	if (mode == RECLAIM)
		REQUIRE(mml_swapon(m, NULL, 32ULL << 20, -1) >= 0);
	REQUIRE_EQ(mml_spawn(m, &a), 0);
	s.fd = mml_memfd_create(a, "retract", 0);
	REQUIRE(s.fd >= 0);
	REQUIRE_EQ(mml_ftruncate(a, s.fd, (int64_t)LEN), 0);
	REQUIRE_EQ(mml_mmap(a, BASE, LEN, H_RW, MAP_SHARED | MAP_FIXED, s.fd, 0), (long)BASE);
	/* the collapser's page tables: MADV_COLLAPSE maps the folio only where a pmd table is */
	for (uint64_t k = 0; k < NTHP; k++) {
		uint8_t z;

		REQUIRE_EQ(mml_read(a, BASE + k * HP, &z, 1), 0);
	}
	REQUIRE_EQ(mml_fork(a, &b), 0);
	s.collapser = a;
	s.w[0] = b;
	for (int i = 1; i < NWORKERS; i++)
		REQUIRE_EQ(mml_thread_new(b, &s.w[i]), 0);
	pthread_barrier_init(&s.go, NULL, NWORKERS + 1);
	for (int i = 0; i < NWORKERS; i++) {
		wa[i] = (struct worker_arg){ &s, i };
		pthread_create(&th[i], NULL, worker_thread, &wa[i]);
	}
	pthread_create(&th[NWORKERS], NULL, collapser_thread, &s);
	for (int i = 0; i <= NWORKERS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&s.go);
	/* a collapse that never succeeded raced with nothing */
	CHECKF(s.collapsed > 0, "no collapse succeeded in %d rounds", MAX_ROUNDS);

	/* One more collapse, quiet now: it must succeed, and nothing may change. */
	CHECK_EQ(mml_madvise(a, BASE, LEN, MADV_COLLAPSE), 0);
	bytes_match(b, s.shadow, "the workers' process");
	bytes_match(a, s.shadow, "the collapser's process");
	fbuf = malloc(LEN);
	if (fbuf && CHECK_EQ(mml_pread(a, s.fd, fbuf, LEN, 0), (long)LEN))
		CHECK(!memcmp(fbuf, s.shadow, LEN));
	free(fbuf);
	CHECK_EQ(mml_report_count(m), 0);
	CHECK_EQ(mml_check(m), 0);
	for (int i = NWORKERS - 1; i >= 1; i--)
		mml_exit(s.w[i]);
	mml_exit(b);
	mml_exit(a);
	CHECK_EQ(mml_machine_free(m), 0);
	free(s.shadow);
}

TEST(faults_race_retract) { run_race(FAULTS); }
TEST(gup_fast_races_retract) { run_race(GUP_FAST); }
TEST(reclaim_races_retract) { run_race(RECLAIM); }
TEST(uffd_wp_races_retract) { run_race(UFFD_WP); }

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
