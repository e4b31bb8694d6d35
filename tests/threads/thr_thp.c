/*
 * thr_thp.c - races the THP design must survive, threads of one process
 * (mml_thread_new) on host threads of their own:
 *
 *   writers_race_split     threads write their own pages of two THPs while
 *                          another splits them (debugfs split_huge_pages),
 *                          mprotects and munmaps parts of them, and
 *                          collapses them back (MADV_COLLAPSE): no byte
 *                          lost or misplaced, every invariant at the end
 *   pin_blocks_split       (one thread) a pinned THP does not split and
 *                          does not collapse; the pin and the process see
 *                          each other's writes; unpinned, it splits
 *   gup_fast_races_split   GUP-fast pins of pages of a THP while another
 *                          thread splits, collapses, mprotects and
 *                          munmaps around them: every pin sees what the
 *                          process writes and the reverse, so no split or
 *                          collapse ever left a pin on a page the process
 *                          no longer maps
 *   khugepaged_races       khugepaged as a thread (MML_KHUGEPAGED, a scan
 *                          every millisecond) collapsing while threads
 *                          write and fork, and another splits again
 *   fork_races_pmd_fault   fork while another thread's writes fault THPs
 *                          in and break COW on them: a child's bytes are
 *                          those of before its fork, whole, and stay so
 *
 * Each thread owns its bytes and keeps a host shadow of them; the pages
 * nobody owns must stay zero.  MADV_COLLAPSE may fail with EAGAIN (a page
 * busy for a moment) or ENOMEM where the racing writes leave it nothing to
 * do; a split may fail (a pin, a reference).  Bounded iterations, fixed
 * seeds, no timing assertions; each test takes well under 5 s under
 * ThreadSanitizer.
 */
#define _GNU_SOURCE
#include "../harness.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif

#define HP		(2ULL << 20)		/* a PMD's worth */
#define HP_PAGES	512
#define BASE		0x40000000ULL		/* 2 MiB-aligned */
#define NTHP		2
#define LEN		(NTHP * HP)
#define NPAGES		(NTHP * HP_PAGES)
/* The last pages of each THP are the changer's: it mprotects and unmaps them. */
#define CHANGER_PAGES	16
#define SPLIT_FILE	"/sys/kernel/debug/split_huge_pages"
#define KHUGEPAGED	"/sys/kernel/mm/transparent_hugepage/khugepaged/"

static uint64_t rnd(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static bool changer_page(uint64_t p)
{
	return p % HP_PAGES >= HP_PAGES - CHANGER_PAGES;
}

static uint64_t page_addr(uint64_t p)
{
	return BASE + p * H_PAGE;
}

/* split_huge_pages for [start, end) of t's process: what the debugfs write returned. */
static int split_range(struct mml_task *t, uint64_t start, uint64_t end)
{
	char cmd[96];

	snprintf(cmd, sizeof(cmd), "%d,0x%llx,0x%llx", mml_task_pid(t), (unsigned long long)start,
		 (unsigned long long)end);
	return mml_sys_write(mml_task_machine(t), SPLIT_FILE, cmd);
}

/* MADV_COLLAPSE racing other threads: it succeeds or fails only as Linux lets it. */
static int collapse(struct mml_task *t, uint64_t start, uint64_t len)
{
	int r = mml_madvise(t, start, len, MADV_COLLAPSE);

	CHECKF(r == 0 || r == -EAGAIN || r == -ENOMEM, "MADV_COLLAPSE: %d", r);
	return r;
}

/* The THP region: mapped, MADV_HUGEPAGE, each 2 MiB faulted in as one THP. */
static bool map_thps(struct mml_task *t)
{
	uint8_t z = 0;

	if (!CHECK_EQ(mml_mmap(t, BASE, LEN, H_RW, H_ANON | MAP_FIXED, -1, 0), (long)BASE) ||
	    !CHECK_EQ(mml_madvise(t, BASE, LEN, MADV_HUGEPAGE), 0))
		return false;
	for (uint64_t i = 0; i < NTHP; i++)
		if (!CHECK_EQ(mml_write(t, BASE + i * HP, &z, 1), 0))
			return false;
	return CHECK_EQ(mml_meminfo(mml_task_machine(t), "AnonHugePages"), (long)(NTHP * HP >> 10));
}

/* Every byte of the region against the shadow. */
static bool region_matches(struct mml_task *t, const uint8_t *shadow, const char *when)
{
	uint8_t *buf = malloc(HP);
	bool ok = buf != NULL;

	for (uint64_t off = 0; ok && off < LEN; off += HP) {
		ok = CHECK_EQ(mml_read(t, BASE + off, buf, HP), 0);
		for (uint64_t i = 0; ok && i < HP; i++)
			ok = CHECKF(buf[i] == shadow[off + i], "%s: byte %#llx is %#x, not %#x", when,
				    (unsigned long long)(BASE + off + i), buf[i], shadow[off + i]);
	}
	free(buf);
	return ok;
}

/* A machine whose reports count as failures; NULL if it could not be made. */
static struct mml_machine *machine(unsigned flags)
{
	return mml_machine_new(&(struct mml_config){ .ram_bytes = 48ULL << 20, .flags = flags });
}

static void end_machine(struct mml_machine *m)
{
	CHECK_EQ(mml_report_count(m), 0);
	CHECK_EQ(mml_check(m), 0);
	CHECK_EQ(mml_machine_free(m), 0);
}

/* ---- writers against split, mprotect, munmap and collapse ---------------------------------- */

#define NWRITERS	2
#define WRITER_ITERS	400
#define CHANGER_ROUNDS	24

struct race {
	pthread_barrier_t go;
	struct mml_task *t[NWRITERS + 1];	/* the writers', then the changer's */
	uint8_t *shadow;			/* LEN bytes: disjoint parts per thread */
	int done;				/* writers finished: atomic */
	long collapsed, splits;			/* the changer's successes */
};

struct writer_arg {
	struct race *s;
	int id;
};

/* Writer id owns the pages p with p % NWRITERS == id, but for the changer's. */
static void *writer_thread(void *arg)
{
	struct writer_arg *w = arg;
	struct race *s = w->s;
	struct mml_task *t = s->t[w->id];
	uint64_t seed = 0x1234567ULL + (uint64_t)w->id;
	uint8_t buf[256], got[256];

	pthread_barrier_wait(&s->go);
	for (int i = 0; i < WRITER_ITERS && harness_failures() < 10; i++) {
		uint64_t p = rnd(&seed) % (NPAGES / NWRITERS) * NWRITERS + (uint64_t)w->id;
		uint64_t off = rnd(&seed) % (H_PAGE - sizeof(buf)), len = 1 + rnd(&seed) % sizeof(buf);
		uint64_t a = page_addr(p) + off;

		if (changer_page(p))
			continue;
		memset(buf, (int)(rnd(&seed) | 1), len);
		if (!CHECK_EQ(mml_write(t, a, buf, len), 0))
			break;
		memcpy(s->shadow + (a - BASE), buf, len);
		CHECK_EQ(mml_read(t, a, got, len), 0);
		CHECKF(!memcmp(got, buf, len), "writer %d: %#llx does not read back", w->id,
		       (unsigned long long)a);
	}
	__atomic_add_fetch(&s->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* The changer's pages of THP k: [first, first + CHANGER_PAGES). */
static uint64_t changer_first(unsigned k)
{
	return (uint64_t)k * HP_PAGES + HP_PAGES - CHANGER_PAGES;
}

/* Stamp the changer's pages of THP k with round r, in the process and the shadow. */
static void changer_stamp(struct race *s, struct mml_task *t, unsigned k, int r)
{
	uint64_t a = page_addr(changer_first(k)) + 64 * (uint64_t)(r % 60);
	uint8_t v = (uint8_t)(0xc0 + r);

	if (CHECK_EQ(mml_write(t, a, &v, 1), 0))
		s->shadow[a - BASE] = v;
}

static void *changer_thread(void *arg)
{
	struct race *s = arg;
	struct mml_task *t = s->t[NWRITERS];
	uint64_t clen = CHANGER_PAGES * H_PAGE;

	pthread_barrier_wait(&s->go);
	for (int r = 0; r < CHANGER_ROUNDS && harness_failures() < 10; r++) {
		unsigned k = (unsigned)r % NTHP;
		uint64_t ca = page_addr(changer_first(k));
		uint8_t v;

		switch (r % 4) {
		case 0:		/* split every THP of the region, as debugfs does */
			CHECK_EQ(split_range(t, BASE, BASE + LEN), 0);
			s->splits++;
			break;
		case 1:		/* mprotect of part of a THP: the pmd splits, the VMA too */
			CHECK_EQ(mml_mprotect(t, ca, clen, PROT_READ), 0);
			CHECK_EQ(mml_read(t, ca, &v, 1), 0);
			CHECK_EQ(v, s->shadow[ca - BASE]);
			CHECK_EQ(mml_mprotect(t, ca, clen, H_RW), 0);
			break;
		case 2:		/* munmap of part: the folio is partly mapped; mapped again, zeros */
			CHECK_EQ(mml_munmap(t, ca, clen), 0);
			memset(s->shadow + (ca - BASE), 0, clen);
			CHECK_EQ(mml_mmap(t, ca, clen, H_RW, H_ANON | MAP_FIXED, -1, 0), (long)ca);
			/* the same flags as its neighbours: the VMAs merge, collapse may span them */
			CHECK_EQ(mml_madvise(t, ca, clen, MADV_HUGEPAGE), 0);
			break;
		case 3:		/* and back to THPs, under the writers */
			s->collapsed += collapse(t, BASE, LEN) == 0;
			break;
		}
		changer_stamp(s, t, k, r);
	}
	return NULL;
}

TEST(thr_thp_writers_race_split)
{
	struct mml_machine *m = machine(0);
	struct writer_arg wa[NWRITERS];
	pthread_t th[NWRITERS + 1];
	struct race s = { 0 };

	REQUIRE(m);
	s.shadow = calloc(1, LEN);
	REQUIRE(s.shadow);
	REQUIRE_EQ(mml_spawn(m, &s.t[0]), 0);
	for (int i = 1; i <= NWRITERS; i++)
		REQUIRE_EQ(mml_thread_new(s.t[0], &s.t[i]), 0);
	REQUIRE(map_thps(s.t[0]));
	pthread_barrier_init(&s.go, NULL, NWRITERS + 1);
	for (int i = 0; i < NWRITERS; i++) {
		wa[i] = (struct writer_arg){ &s, i };
		pthread_create(&th[i], NULL, writer_thread, &wa[i]);
	}
	pthread_create(&th[NWRITERS], NULL, changer_thread, &s);
	for (int i = 0; i <= NWRITERS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&s.go);

	region_matches(s.t[0], s.shadow, "after the race");
	/* With nobody racing, the region collapses whole, and keeps its bytes. */
	CHECK_EQ(mml_madvise(s.t[0], BASE, LEN, MADV_COLLAPSE), 0);
	CHECK_EQ(mml_meminfo(m, "AnonHugePages"), (long)(LEN >> 10));
	region_matches(s.t[0], s.shadow, "after the last collapse");
	CHECK(mml_vmstat(m, "thp_split_page") > 0);
	CHECK(mml_vmstat(m, "thp_split_pmd") > 0);
	CHECK(mml_vmstat(m, "thp_collapse_alloc") > 0);
	for (int i = NWRITERS; i >= 0; i--)
		CHECK_EQ(mml_exit(s.t[i]), 0);
	free(s.shadow);
	end_machine(m);
}

/* ---- pins ---------------------------------------------------------------------------------- */

/* A pin of one page and the process: each sees the other's write. */
static bool pin_coherent(struct mml_task *t, struct mml_pin *p, uint64_t a, uint8_t v)
{
	uint8_t got = 0;
	uint8_t w = (uint8_t)~v;

	return CHECK_EQ(mml_write(t, a, &v, 1), 0) && CHECK_EQ(mml_dma_read(p, a % H_PAGE, &got, 1), 0) &&
	       CHECKF(got == v, "the pin of %#llx reads %#x after the process wrote %#x: not the page it maps",
		      (unsigned long long)a, got, v) &&
	       CHECK_EQ(mml_dma_write(p, a % H_PAGE + 1, &w, 1), 0) && CHECK_EQ(mml_read(t, a + 1, &got, 1), 0) &&
	       CHECKF(got == w, "the process reads %#x at %#llx after DMA wrote %#x", got,
		      (unsigned long long)(a + 1), w);
}

static bool frame_is_thp(struct mml_machine *m, uint64_t pfn)
{
	uint64_t f = 0;

	return mml_kpageflags(m, pfn, &f) == 0 && (f & (1ULL << MML_KPF_THP));
}

TEST(thr_thp_pin_blocks_split)
{
	struct mml_machine *m = machine(0);
	struct mml_task *t;
	struct mml_pin *p;
	uint64_t a = BASE + 77 * H_PAGE + 40, pfn;
	long failed;

	REQUIRE(m);
	REQUIRE_EQ(mml_spawn(m, &t), 0);
	REQUIRE(map_thps(t));
	REQUIRE_EQ(mml_pin_user_pages(t, a, 1, MML_FOLL_WRITE | MML_FOLL_FAST, &p), 1);
	pfn = mml_pin_pfn(p, 0);
	CHECK(frame_is_thp(m, pfn));

	/* The pin holds a reference a split cannot account for: it must fail, mapping unchanged. */
	failed = mml_vmstat(m, "thp_split_page_failed");
	CHECK_EQ(split_range(t, BASE, BASE + HP), 0);
	CHECK_EQ(mml_vmstat(m, "thp_split_page_failed"), failed + 1);
	CHECK(frame_is_thp(m, pfn));
	CHECK_EQ(H_PFN(h_pagemap(t, a)), pfn);
	pin_coherent(t, p, a, 0x5a);

	/* PTE-mapped (mprotect of another part splits the pmd only), then no collapse over the pin. */
	CHECK_EQ(mml_mprotect(t, BASE + HP - H_PAGE, H_PAGE, PROT_READ), 0);
	CHECK_EQ(mml_mprotect(t, BASE + HP - H_PAGE, H_PAGE, H_RW), 0);
	CHECK(mml_vmstat(m, "thp_split_pmd") >= 1);
	CHECK_EQ(mml_madvise(t, BASE, HP, MADV_COLLAPSE), -EAGAIN);
	CHECK_EQ(H_PFN(h_pagemap(t, a)), pfn);
	pin_coherent(t, p, a, 0xa5);

	/* Unpinned: the folio splits, and the page stays where the process maps it. */
	mml_unpin(p);
	CHECK_EQ(split_range(t, BASE, BASE + HP), 0);
	CHECK(!frame_is_thp(m, pfn));
	CHECK_EQ(H_PFN(h_pagemap(t, a)), pfn);
	CHECK_EQ(mml_madvise(t, BASE, HP, MADV_COLLAPSE), 0);
	CHECK(frame_is_thp(m, H_PFN(h_pagemap(t, a))));
	CHECK_EQ(mml_exit(t), 0);
	end_machine(m);
}

#define PIN_ITERS	300
#define PIN_ROUNDS	40

struct pin_race {
	pthread_barrier_t go;
	struct mml_task *pinner, *changer;
	int done;		/* atomic */
	long pins;
};

static void *pinner_thread(void *arg)
{
	struct pin_race *s = arg;
	uint64_t seed = 0xfeedULL;

	pthread_barrier_wait(&s->go);
	for (int i = 0; i < PIN_ITERS && harness_failures() < 10; i++) {
		uint64_t pg = rnd(&seed) % NPAGES, a, n = 1 + rnd(&seed) % 4;
		unsigned foll = MML_FOLL_WRITE | (i % 4 ? MML_FOLL_FAST : 0) | (i % 3 ? 0 : MML_FOLL_LONGTERM);
		struct mml_pin *p;
		long r;

		/* the changer's pages may be unmapped or read-only: pins stay clear of them */
		if (changer_page(pg) || changer_page(pg + n - 1) || (pg + n - 1) / HP_PAGES != pg / HP_PAGES)
			continue;
		a = page_addr(pg) + (uint64_t)i % 64 * 8;
		r = mml_pin_user_pages(s->pinner, a, n, foll, &p);
		if (!CHECK_EQ(r, (long)n))
			continue;
		s->pins++;
		for (uint64_t j = 0; j < n; j++) {
			uint64_t aj = (a & ~(H_PAGE - 1)) + j * H_PAGE + a % H_PAGE;
			uint8_t v = (uint8_t)(i + j + 1), got = 0, w = (uint8_t)~v;

			CHECK_EQ(mml_write(s->pinner, aj, &v, 1), 0);
			CHECK_EQ(mml_dma_read(p, j * H_PAGE + a % H_PAGE, &got, 1), 0);
			CHECKF(got == v, "pin %d page %llu reads %#x, the process wrote %#x: a page it no longer maps",
			       i, (unsigned long long)j, got, v);
			CHECK_EQ(mml_dma_write(p, j * H_PAGE + a % H_PAGE + 1, &w, 1), 0);
			CHECK_EQ(mml_read(s->pinner, aj + 1, &got, 1), 0);
			CHECKF(got == w, "the process reads %#x, DMA wrote %#x through pin %d", got, w, i);
		}
		mml_unpin(p);
	}
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void *pin_changer_thread(void *arg)
{
	struct pin_race *s = arg;
	struct mml_task *t = s->changer;

	pthread_barrier_wait(&s->go);
	for (int r = 0; (r < PIN_ROUNDS || !__atomic_load_n(&s->done, __ATOMIC_ACQUIRE)) &&
			r < 20 * PIN_ROUNDS && harness_failures() < 10; r++) {
		uint64_t ca = page_addr(changer_first((unsigned)r % NTHP)), clen = CHANGER_PAGES * H_PAGE;

		switch (r % 4) {
		case 0:
			CHECK_EQ(split_range(t, BASE, BASE + LEN), 0);
			break;
		case 1:
			collapse(t, BASE, LEN);
			break;
		case 2:
			CHECK_EQ(mml_mprotect(t, ca, clen, PROT_READ), 0);
			CHECK_EQ(mml_mprotect(t, ca, clen, H_RW), 0);
			break;
		case 3:
			CHECK_EQ(mml_munmap(t, ca, clen), 0);
			CHECK_EQ(mml_mmap(t, ca, clen, H_RW, H_ANON | MAP_FIXED, -1, 0), (long)ca);
			CHECK_EQ(mml_madvise(t, ca, clen, MADV_HUGEPAGE), 0);
			break;
		}
	}
	return NULL;
}

TEST(thr_thp_gup_fast_races_split)
{
	struct mml_machine *m = machine(0);
	struct pin_race s = { 0 };
	pthread_t a, b;

	REQUIRE(m);
	REQUIRE_EQ(mml_spawn(m, &s.pinner), 0);
	REQUIRE_EQ(mml_thread_new(s.pinner, &s.changer), 0);
	REQUIRE(map_thps(s.pinner));
	pthread_barrier_init(&s.go, NULL, 2);
	pthread_create(&a, NULL, pinner_thread, &s);
	pthread_create(&b, NULL, pin_changer_thread, &s);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	pthread_barrier_destroy(&s.go);
	CHECK(s.pins > 0);
	/* every pin given back, those GUP-fast voided included */
	CHECK_EQ(mml_vmstat(m, "nr_foll_pin_released"), mml_vmstat(m, "nr_foll_pin_acquired"));
	/* nothing pins it now: it collapses */
	CHECK_EQ(mml_madvise(s.pinner, BASE, LEN, MADV_COLLAPSE), 0);
	CHECK_EQ(mml_exit(s.changer), 0);
	CHECK_EQ(mml_exit(s.pinner), 0);
	end_machine(m);
}

/* ---- khugepaged ---------------------------------------------------------------------------- */

#define KH_WRITER_ITERS	300
#define KH_FORKS	12

struct kh_race {
	pthread_barrier_t go;
	struct mml_task *t[NWRITERS + 1];	/* writers, then the forker */
	uint8_t *shadow;
	int done;				/* writers finished: atomic */
};

struct kh_writer {
	struct kh_race *s;
	int id;
};

static void *kh_writer_thread(void *arg)
{
	struct kh_writer *w = arg;
	struct kh_race *s = w->s;
	struct mml_task *t = s->t[w->id];
	uint64_t seed = 0xabcdefULL + (uint64_t)w->id;
	uint8_t got[64], buf[64];

	pthread_barrier_wait(&s->go);
	for (int i = 0; i < KH_WRITER_ITERS && harness_failures() < 10; i++) {
		uint64_t p = rnd(&seed) % (NPAGES / NWRITERS) * NWRITERS + (uint64_t)w->id;
		uint64_t a = page_addr(p) + rnd(&seed) % (H_PAGE - sizeof(buf));

		if (p % HP_PAGES == 0)
			continue;	/* the first page of each THP: the children read it */
		memset(buf, (int)(rnd(&seed) | 1), sizeof(buf));
		if (!CHECK_EQ(mml_write(t, a, buf, sizeof(buf)), 0))
			break;
		memcpy(s->shadow + (a - BASE), buf, sizeof(buf));
		CHECK_EQ(mml_read(t, a, got, sizeof(got)), 0);
		CHECKF(!memcmp(got, buf, sizeof(buf)), "writer %d: %#llx does not read back", w->id,
		       (unsigned long long)a);
	}
	__atomic_add_fetch(&s->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * Forks, and in each child checks a few pages it knows nobody writes
 * (the first page of each THP holds its index, written before the
 * threads started), writes its copy of a writer's page (never seen by
 * the parent: the shadows check that), and exits; between forks it
 * splits the region again, so that khugepaged always has work.
 */
static void *kh_forker_thread(void *arg)
{
	struct kh_race *s = arg;
	struct mml_task *t = s->t[NWRITERS];

	pthread_barrier_wait(&s->go);
	for (int i = 0; i < KH_FORKS && harness_failures() < 10; i++) {
		struct mml_task *c;
		uint8_t v, junk = 0xee;

		if (!CHECK_EQ(mml_fork(t, &c), 0))
			break;
		for (uint64_t k = 0; k < NTHP; k++) {
			CHECK_EQ(mml_read(c, BASE + k * HP + 8, &v, 1), 0);
			CHECK_EQ(v, (uint8_t)(0x70 + k));
		}
		CHECK_EQ(mml_write(c, page_addr((uint64_t)i % NPAGES) + 100, &junk, 1), 0);
		CHECK_EQ(mml_exit(c), 0);
		CHECK_EQ(split_range(t, BASE, BASE + LEN), 0);
	}
	return NULL;
}

/* khugepaged's pages_collapsed, as its sysfs file says. */
static long kh_collapsed(struct mml_machine *m)
{
	char buf[32];

	return mml_sys_read(m, KHUGEPAGED "pages_collapsed", buf, sizeof(buf)) > 0 ? atol(buf) : -1;
}

/* Wait until khugepaged has collapsed more than `than`, at most about 3 s: the thread's progress. */
static bool kh_wait_collapse(struct mml_machine *m, long than)
{
	for (int i = 0; i < 3000; i++) {
		if (kh_collapsed(m) > than)
			return true;
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	return false;
}

TEST(thr_thp_khugepaged_races)
{
	struct mml_machine *m = machine(MML_KHUGEPAGED);
	struct kh_writer wa[NWRITERS];
	pthread_t th[NWRITERS + 1];
	struct kh_race s = { 0 };

	REQUIRE(m);
	s.shadow = calloc(1, LEN);
	REQUIRE(s.shadow);
	REQUIRE_EQ(mml_sys_write(m, KHUGEPAGED "scan_sleep_millisecs", "1"), 0);
	REQUIRE_EQ(mml_sys_write(m, KHUGEPAGED "pages_to_scan", "4096"), 0);
	REQUIRE_EQ(mml_spawn(m, &s.t[0]), 0);
	for (int i = 1; i <= NWRITERS; i++)
		REQUIRE_EQ(mml_thread_new(s.t[0], &s.t[i]), 0);
	/* Small pages first (VM_NOHUGEPAGE), then MADV_HUGEPAGE: khugepaged's to collapse. */
	REQUIRE_EQ(mml_mmap(s.t[0], BASE, LEN, H_RW, H_ANON | MAP_FIXED, -1, 0), (long)BASE);
	REQUIRE_EQ(mml_madvise(s.t[0], BASE, LEN, MADV_NOHUGEPAGE), 0);
	for (uint64_t k = 0; k < NTHP; k++) {
		uint8_t v = (uint8_t)(0x70 + k);

		for (uint64_t p = 0; p < HP_PAGES; p += 8)	/* enough young ptes for khugepaged */
			REQUIRE_EQ(mml_write(s.t[0], BASE + k * HP + p * H_PAGE + 8, &v, 1), 0);
		for (uint64_t p = 0; p < HP_PAGES; p += 8)
			s.shadow[k * HP + p * H_PAGE + 8] = v;
	}
	REQUIRE_EQ(mml_meminfo(m, "AnonHugePages"), 0);
	REQUIRE_EQ(mml_madvise(s.t[0], BASE, LEN, MADV_HUGEPAGE), 0);
	CHECKF(kh_wait_collapse(m, 0), "khugepaged collapsed nothing in about 3 s");

	pthread_barrier_init(&s.go, NULL, NWRITERS + 1);
	for (int i = 0; i < NWRITERS; i++) {
		wa[i] = (struct kh_writer){ &s, i };
		pthread_create(&th[i], NULL, kh_writer_thread, &wa[i]);
	}
	pthread_create(&th[NWRITERS], NULL, kh_forker_thread, &s);
	for (int i = 0; i <= NWRITERS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&s.go);

	region_matches(s.t[0], s.shadow, "after khugepaged's race");
	for (int i = NWRITERS; i >= 0; i--)
		CHECK_EQ(mml_exit(s.t[i]), 0);
	free(s.shadow);
	end_machine(m);
}

/* ---- fork against write faults on pmds ---------------------------------------------------- */

#define FORK_ROUNDS	40

struct fork_race {
	pthread_barrier_t go;
	struct mml_task *writer, *forker;
	int done;		/* the writer finished: atomic */
	uint8_t gen;		/* the writer's last completed stamp: atomic */
};

/*
 * The writer stamps a 64-byte record at the start of each page it picks,
 * all 64 bytes the same generation, in a region it zaps whole
 * every few rounds, so that its writes are first-touch THP faults, then
 * write faults on pmds made read-only by the last fork (a split and a
 * copy), then pte COW faults.
 */
static void *fork_writer_thread(void *arg)
{
	struct fork_race *s = arg;
	struct mml_task *t = s->writer;

	pthread_barrier_wait(&s->go);
	for (int i = 1; i <= 4 * FORK_ROUNDS && harness_failures() < 10; i++) {
		uint8_t rec[64], got[64];
		uint64_t a = BASE + (uint64_t)(i % NTHP) * HP + (uint64_t)(i * 37 % HP_PAGES) * H_PAGE;

		/* zapped whole (one call: a fork never sees the region unmapped): new THPs again */
		if (i % 32 == 0)
			CHECK_EQ(mml_madvise(t, BASE, LEN, MADV_DONTNEED), 0);
		memset(rec, i & 0xff ? i & 0xff : 1, sizeof(rec));
		if (!CHECK_EQ(mml_write(t, a, rec, sizeof(rec)), 0))
			break;
		CHECK_EQ(mml_read(t, a, got, sizeof(got)), 0);
		CHECK(!memcmp(got, rec, sizeof(rec)));
		__atomic_store_n(&s->gen, rec[0], __ATOMIC_RELEASE);
	}
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Every record of the child's region is whole: 64 bytes of one value (0: never written). */
static bool child_records(struct mml_task *c, uint8_t *snap)
{
	bool ok = true;

	for (uint64_t p = 0; ok && p < NPAGES; p++) {
		ok = CHECK_EQ(mml_read(c, page_addr(p), snap + p * 64, 64), 0);
		for (int j = 1; ok && j < 64; j++)
			ok = CHECKF(snap[p * 64 + j] == snap[p * 64], "child: page %llu holds a torn record",
				    (unsigned long long)p);
	}
	return ok;
}

static void *forker_thread(void *arg)
{
	struct fork_race *s = arg;
	uint8_t *snap = malloc(NPAGES * 64), *again = malloc(NPAGES * 64);

	pthread_barrier_wait(&s->go);
	for (int r = 0; r < FORK_ROUNDS && snap && again && harness_failures() < 10; r++) {
		struct mml_task *c;
		uint8_t junk[64];

		if (!CHECK_EQ(mml_fork(s->forker, &c), 0))
			break;
		child_records(c, snap);
		/* the child writes its copy: the parent's writer must never read it back */
		memset(junk, 0xee, sizeof(junk));
		CHECK_EQ(mml_write(c, page_addr((uint64_t)r * 5 % NPAGES) + 128, junk, sizeof(junk)), 0);
		sched_yield();	/* let the writer fault on what fork made read-only */
		/* what the child saw does not change with the parent's later writes */
		if (child_records(c, again))
			CHECKF(!memcmp(snap, again, NPAGES * 64), "fork %d: the child's bytes changed after fork", r);
		CHECK_EQ(mml_exit(c), 0);
	}
	free(snap);
	free(again);
	return NULL;
}

TEST(thr_thp_fork_races_pmd_fault)
{
	struct mml_machine *m = machine(0);
	struct fork_race s = { 0 };
	pthread_t a, b;
	uint8_t v;

	REQUIRE(m);
	REQUIRE_EQ(mml_spawn(m, &s.writer), 0);
	REQUIRE_EQ(mml_thread_new(s.writer, &s.forker), 0);
	REQUIRE_EQ(mml_mmap(s.writer, BASE, LEN, H_RW, H_ANON | MAP_FIXED, -1, 0), (long)BASE);
	REQUIRE_EQ(mml_madvise(s.writer, BASE, LEN, MADV_HUGEPAGE), 0);
	pthread_barrier_init(&s.go, NULL, 2);
	pthread_create(&a, NULL, fork_writer_thread, &s);
	pthread_create(&b, NULL, forker_thread, &s);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	pthread_barrier_destroy(&s.go);
	/* no child's 0xee anywhere in the parent */
	for (uint64_t p = 0; p < NPAGES; p++) {
		CHECK_EQ(mml_read(s.writer, page_addr(p) + 128, &v, 1), 0);
		CHECKF(v != 0xee, "a child's write shows in the parent at page %llu", (unsigned long long)p);
	}
	CHECK(mml_vmstat(m, "thp_fault_alloc") > 0);
	CHECK_EQ(mml_exit(s.forker), 0);
	CHECK_EQ(mml_exit(s.writer), 0);
	end_machine(m);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
