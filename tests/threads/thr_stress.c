/*
 * thr_stress.c - host threads driving their own mml_tasks concurrently.
 *
 * Two processes: P, and Q forked from P before the threads start (so their
 * pages begin shared, copy-on-write).  In each process:
 *   - writer threads (mml_thread_new) each own distinct pages of a common
 *     region; they write random byte ranges, keep a host shadow copy, and
 *     read back: every byte written must be read back (no lost write, no
 *     write landing in another copy of a page);
 *   - a forker thread that repeatedly forks its process and, in the child
 *     (a task this host thread owns), checks a consistent snapshot of the
 *     pages nobody writes during the fork (the "stable" pages and the
 *     forker's own page), writes in the child, checks the parent did not
 *     see it, and exits the child (some children live on for a while);
 *   - in P a mapper thread that mmaps, writes, mprotects, madvises and
 *     munmaps its own ranges; in Q a thread-spawner that creates threads of
 *     Q with mml_thread_new, uses them, and exits them.
 * At the end the main thread checks every page against the shadows, runs
 * the invariant checker once and requires mml_machine_free() == 0.
 *
 * Bounded iteration counts and fixed seeds; no timing assertions.  The
 * THR_SCALE environment variable (default 1) multiplies the iterations.
 * MML_CHECK_EVERY_OP is not used: it would serialize everything.
 */
#define _GNU_SOURCE
#include "../harness.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define RAM		(64ULL << 20)
#define REGION		0x100000000ULL	/* writers' pages */
#define STABLE		0x200000000ULL	/* written once before the threads start */
#define FORKPAGE	0x300000000ULL	/* the forker's own page */
#define MAPPER_RESV	0x400000000ULL	/* the mapper's MAP_FIXED playground */
#define STABLE_PAGES	4
#define PPW		4		/* pages per writer */
#define MAX_WRITERS	3

enum role { WRITER, FORKER, MAPPER, SPAWNER };

struct worker {
	struct mml_task *t;
	enum role role;
	int id;			/* writer index within its process */
	char proc;		/* 'P' or 'Q' */
	uint64_t seed;
	int iters;
	uint8_t *shadow;	/* WRITER: PPW pages, what the pages must hold */
	int done;		/* iterations completed */
};

static int scale = 1;

static uint64_t rnd(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static uint8_t stable_byte(uint64_t off)
{
	return (uint8_t)(0x5a ^ (off * 131) ^ (off >> 9));
}

static bool stop;	/* set on the first failure storm; atomic */

static bool failing(void)
{
	if (harness_failures() > 20)
		__atomic_store_n(&stop, true, __ATOMIC_RELAXED);
	return __atomic_load_n(&stop, __ATOMIC_RELAXED);
}

static bool check_stable(struct mml_task *t, const char *who)
{
	static const uint64_t len = STABLE_PAGES * H_PAGE;
	uint8_t *buf = malloc(len);
	bool ok = true;

	if (!buf)
		return false;
	int r = mml_read(t, STABLE, buf, len);

	ok = CHECKF(r == 0, "%s: mml_read(stable) = %d", who, r);
	for (uint64_t i = 0; ok && i < len; i++)
		ok = CHECKF(buf[i] == stable_byte(i), "%s: stable byte %llu is 0x%02x, expected 0x%02x",
			    who, (unsigned long long)i, buf[i], stable_byte(i));
	free(buf);
	return ok;
}

static bool compare_pages(struct mml_task *t, uint64_t addr, const uint8_t *want, uint64_t len,
			  const char *who)
{
	uint8_t *buf = malloc(len);
	bool ok;

	if (!buf)
		return false;
	int r = mml_read(t, addr, buf, len);

	ok = CHECKF(r == 0, "%s: mml_read(0x%llx, %llu) = %d", who, (unsigned long long)addr,
		    (unsigned long long)len, r);
	for (uint64_t i = 0; ok && i < len; i++)
		ok = CHECKF(buf[i] == want[i], "%s: byte at 0x%llx is 0x%02x, expected 0x%02x (lost write?)",
			    who, (unsigned long long)(addr + i), buf[i], want[i]);
	free(buf);
	return ok;
}

static void *writer(void *arg)
{
	struct worker *w = arg;
	uint64_t base = REGION + (uint64_t)w->id * PPW * H_PAGE;
	uint8_t chunk[700];
	char who[32];

	snprintf(who, sizeof(who), "%c writer %d", w->proc, w->id);
	for (int it = 0; it < w->iters && !failing(); it++) {
		uint64_t off = rnd(&w->seed) % (PPW * H_PAGE);
		uint64_t len = 1 + rnd(&w->seed) % sizeof(chunk);

		if (off + len > PPW * H_PAGE)
			len = PPW * H_PAGE - off;
		for (uint64_t i = 0; i < len; i++)
			chunk[i] = (uint8_t)(it * 7 + i + w->id * 50 + (w->proc == 'Q' ? 128 : 0));
		int r = mml_write(w->t, base + off, chunk, len);

		if (!CHECKF(r == 0, "%s: mml_write = %d", who, r))
			break;
		memcpy(w->shadow + off, chunk, len);
		if (!compare_pages(w->t, base + off, w->shadow + off, len, who))
			break;
		if (it % 16 == 15 && !compare_pages(w->t, base, w->shadow, PPW * H_PAGE, who))
			break;
		w->done++;
	}
	compare_pages(w->t, base, w->shadow, PPW * H_PAGE, who);
	CHECK_EQ(mml_exit(w->t), 0);
	return NULL;
}

static void *forker(void *arg)
{
	struct worker *w = arg;
	struct mml_task *keep = NULL;	/* a child left alive until the next round */
	uint8_t keep_val = 0;
	char who[32];

	snprintf(who, sizeof(who), "%c forker", w->proc);
	for (int it = 0; it < w->iters && !failing(); it++) {
		uint8_t v = (uint8_t)(it + 1);

		if (!h_fill(w->t, FORKPAGE, H_PAGE, v))
			break;
		struct mml_task *c = NULL;
		int r = mml_fork(w->t, &c);

		if (!CHECKF(r == 0 && c, "%s: mml_fork = %d", who, r))
			break;
		/* The child: a consistent snapshot of what nobody wrote during the fork. */
		check_stable(c, who);
		h_expect(c, FORKPAGE, H_PAGE, v);
		/* The writers' pages are readable in the child (contents racy). */
		uint8_t tmp[64];

		CHECK_EQ(mml_read(c, REGION + (rnd(&w->seed) % (MAX_WRITERS * PPW)) * H_PAGE, tmp,
				  sizeof(tmp)), 0);
		/* The child writes: its own copy only. */
		h_fill(c, FORKPAGE, H_PAGE, (uint8_t)~v);
		h_fill(c, REGION + (rnd(&w->seed) % (MAX_WRITERS * PPW)) * H_PAGE + 100, 50, 0xee);
		h_expect(w->t, FORKPAGE, H_PAGE, v);
		h_expect(c, FORKPAGE, H_PAGE, (uint8_t)~v);

		if (keep) {
			h_expect(keep, FORKPAGE, H_PAGE, keep_val);
			check_stable(keep, who);
			CHECK_EQ(mml_exit(keep), 0);
			keep = NULL;
		}
		if (it % 2 == 0) {
			keep = c;
			keep_val = (uint8_t)~v;
		} else {
			CHECK_EQ(mml_exit(c), 0);
		}
		w->done++;
	}
	if (keep) {
		h_expect(keep, FORKPAGE, H_PAGE, keep_val);
		CHECK_EQ(mml_exit(keep), 0);
	}
	check_stable(w->t, who);
	CHECK_EQ(mml_exit(w->t), 0);
	return NULL;
}

static void *mapper(void *arg)
{
	struct worker *w = arg;
	char who[32];

	snprintf(who, sizeof(who), "%c mapper", w->proc);
	for (int it = 0; it < w->iters && !failing(); it++) {
		uint64_t pages = 2 + rnd(&w->seed) % 7;
		uint64_t len = pages * H_PAGE;
		bool fixed = it % 3 == 2;
		long a = fixed ? mml_mmap(w->t, MAPPER_RESV + (rnd(&w->seed) % 8) * H_PAGE, len, H_RW,
					  H_ANON | MAP_FIXED, -1, 0)
			       : mml_mmap(w->t, 0, len, H_RW, H_ANON, -1, 0);

		if (!CHECKF(a > 0, "%s: mml_mmap = %ld", who, a))
			break;
		uint64_t addr = (uint64_t)a;
		uint8_t v = (uint8_t)(it + 3);

		h_expect(w->t, addr, len, 0);
		h_fill(w->t, addr, len, v);
		h_expect(w->t, addr, len, v);
		/* Read-only head, then writable again. */
		CHECK_EQ(mml_mprotect(w->t, addr, H_PAGE, PROT_READ), 0);
		CHECK_EQ(h_poke(w->t, addr, 1), -EFAULT);
		CHECK_EQ(mml_mprotect(w->t, addr, H_PAGE, H_RW), 0);
		/* Drop the second page's contents. */
		CHECK_EQ(mml_madvise(w->t, addr + H_PAGE, H_PAGE, MADV_DONTNEED), 0);
		h_expect(w->t, addr + H_PAGE, H_PAGE, 0);
		h_expect(w->t, addr, H_PAGE, v);
		/* Unmap the tail half, then the rest. */
		uint64_t half = (pages / 2) * H_PAGE;

		CHECK_EQ(mml_munmap(w->t, addr + half, len - half), 0);
		CHECK_EQ(h_peek(w->t, addr + half, NULL), -EFAULT);
		h_expect(w->t, addr, H_PAGE, v);
		if (!fixed || it % 2)
			CHECK_EQ(mml_munmap(w->t, addr, half), 0);
		w->done++;
	}
	CHECK_EQ(mml_munmap(w->t, MAPPER_RESV, 16 * H_PAGE), 0);
	CHECK_EQ(mml_exit(w->t), 0);
	return NULL;
}

static void *spawner(void *arg)
{
	struct worker *w = arg;
	char who[32];

	snprintf(who, sizeof(who), "%c spawner", w->proc);
	/* Uses the last page of the stable region's neighbour: its own page. */
	const uint64_t page = FORKPAGE + 2 * H_PAGE;

	for (int it = 0; it < w->iters && !failing(); it++) {
		struct mml_task *th = NULL;
		int r = mml_thread_new(w->t, &th);

		if (!CHECKF(r == 0 && th, "%s: mml_thread_new = %d", who, r))
			break;
		CHECK_EQ(mml_task_pid(th), mml_task_pid(w->t));
		h_fill(th, page, H_PAGE, (uint8_t)it);
		h_expect(w->t, page, H_PAGE, (uint8_t)it);
		check_stable(th, who);
		CHECK_EQ(mml_exit(th), 0);
		h_expect(w->t, page, H_PAGE, (uint8_t)it);
		w->done++;
	}
	CHECK_EQ(mml_exit(w->t), 0);
	return NULL;
}

static void *(*const role_fn[])(void *) = {
	[WRITER] = writer, [FORKER] = forker, [MAPPER] = mapper, [SPAWNER] = spawner,
};

static struct mml_task *new_thread(struct mml_task *t)
{
	struct mml_task *th = NULL;

	if (!CHECK_EQ(mml_thread_new(t, &th), 0))
		return NULL;
	return th;
}

TEST(thr_stress_fork_cow_mmap)
{
	struct mml_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.ram_bytes = RAM;
	cfg.ncpus = 8;
	cfg.seed = 42;
	cfg.flags = 0;
	struct mml_machine *m = mml_machine_new(&cfg);
	REQUIRE(m);
	struct mml_task *p = NULL;

	if (!CHECK_EQ(mml_spawn(m, &p), 0)) {
		mml_machine_free(m);
		return;
	}

	/* P's memory: the writers' region, the stable pages, the forker's page,
	 * the spawner's page, the mapper's playground. */
	const uint64_t region_len = MAX_WRITERS * PPW * H_PAGE;
	bool ok = h_map(p, REGION, region_len, H_RW, H_ANON | MAP_FIXED) &&
		  h_map(p, STABLE, STABLE_PAGES * H_PAGE, H_RW, H_ANON | MAP_FIXED) &&
		  h_map(p, FORKPAGE, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED) &&
		  h_map(p, MAPPER_RESV, 16 * H_PAGE, PROT_NONE, H_ANON | MAP_FIXED);
	uint8_t *init = malloc(region_len);
	uint8_t *stable = malloc(STABLE_PAGES * H_PAGE);

	ok = ok && init && stable;
	if (ok) {
		for (uint64_t i = 0; i < region_len; i++)
			init[i] = (uint8_t)(i / H_PAGE + 1);
		for (uint64_t i = 0; i < STABLE_PAGES * H_PAGE; i++)
			stable[i] = stable_byte(i);
		ok = CHECK_EQ(mml_write(p, REGION, init, region_len), 0) &&
		     CHECK_EQ(mml_write(p, STABLE, stable, STABLE_PAGES * H_PAGE), 0) &&
		     CHECK_EQ(mml_mprotect(p, STABLE, STABLE_PAGES * H_PAGE, PROT_READ), 0);
	}
	/* Q: a fork of P; its pages start shared with P. */
	struct mml_task *q = ok ? h_fork(p) : NULL;

	ok = ok && q;

	struct worker ws[16];
	int nw = 0;
	int base_iters = 600 * scale;

	if (ok) {
		for (int i = 0; i < 3; i++)
			ws[nw++] = (struct worker){ .t = new_thread(p), .role = WRITER, .id = i,
						    .proc = 'P', .iters = base_iters };
		ws[nw++] = (struct worker){ .t = new_thread(p), .role = FORKER, .proc = 'P',
					    .iters = 40 * scale };
		ws[nw++] = (struct worker){ .t = new_thread(p), .role = MAPPER, .proc = 'P',
					    .iters = 160 * scale };
		for (int i = 0; i < 2; i++)
			ws[nw++] = (struct worker){ .t = new_thread(q), .role = WRITER, .id = i,
						    .proc = 'Q', .iters = base_iters };
		ws[nw++] = (struct worker){ .t = new_thread(q), .role = FORKER, .proc = 'Q',
					    .iters = 40 * scale };
		ws[nw++] = (struct worker){ .t = new_thread(q), .role = SPAWNER, .proc = 'Q',
					    .iters = 80 * scale };
		for (int i = 0; i < nw; i++) {
			ws[i].seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
			ok = ok && ws[i].t;
			if (ws[i].role == WRITER) {
				ws[i].shadow = malloc(PPW * H_PAGE);
				ok = ok && ws[i].shadow;
				if (ws[i].shadow)
					memcpy(ws[i].shadow, init + (uint64_t)ws[i].id * PPW * H_PAGE,
					       PPW * H_PAGE);
			}
		}
	}

	if (ok) {
		pthread_t th[16];
		int started = 0;

		for (int i = 0; i < nw; i++) {
			if (!CHECK_EQ(pthread_create(&th[i], NULL, role_fn[ws[i].role], &ws[i]), 0))
				break;
			started++;
		}
		for (int i = 0; i < started; i++)
			pthread_join(th[i], NULL);
		/* Nobody stopped early. */
		for (int i = 0; i < nw; i++)
			CHECKF(ws[i].done == ws[i].iters, "%c worker %d (role %d) did %d of %d iterations",
			       ws[i].proc, i, ws[i].role, ws[i].done, ws[i].iters);

		/* Every writer's pages hold exactly its last writes, in its process. */
		for (int i = 0; i < nw; i++) {
			if (ws[i].role != WRITER)
				continue;
			struct mml_task *owner = ws[i].proc == 'P' ? p : q;

			compare_pages(owner, REGION + (uint64_t)ws[i].id * PPW * H_PAGE, ws[i].shadow,
				      PPW * H_PAGE, ws[i].proc == 'P' ? "final P" : "final Q");
		}
		/* Q's third writer slot was never written in Q: still P's initial data. */
		compare_pages(q, REGION + 2 * PPW * H_PAGE, init + 2 * PPW * H_PAGE, PPW * H_PAGE,
			      "final Q, unwritten");
		check_stable(p, "final P");
		check_stable(q, "final Q");
	}

	CHECK_EQ(mml_check(m), 0);
	if (q)
		CHECK_EQ(mml_exit(q), 0);
	CHECK_EQ(mml_exit(p), 0);
	CHECK_EQ(mml_meminfo(m, "AnonPages"), 0);
	CHECK_EQ(mml_check(m), 0);
	CHECK_EQ(mml_machine_free(m), 0);
	for (int i = 0; i < nw; i++)
		free(ws[i].shadow);
	free(init);
	free(stable);
}

int main(int argc, char **argv)
{
	const char *s = getenv("THR_SCALE");

	if (s && atoi(s) > 0)
		scale = atoi(s);
	return harness_run(argc, argv);
}
