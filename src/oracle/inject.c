/*
 * inject.c - fault injection at every resource boundary, on a seeded
 * schedule: a rate, or SQLite's countdown-then-repeat (test_malloc.c), as
 * Linux's fail_page_alloc and failslab, or a list of attempts a run met
 * (each site's how-many-th), which the fuzzer's reproducers replay.  The
 * core asks should_fail() (mm/hooks.h).
 */
#include "mm/internal.h"

void fail_state_init(struct mml_fail_state *fs)
{
	spin_lock_init(&fs->lock);
	memset(&fs->cfg, 0, sizeof(fs->cfg));
	fs->injected = 0;
}

void fail_state_destroy(struct mml_fail_state *fs)
{
	spin_lock_destroy(&fs->lock);
}

/* xorshift64*: deterministic, seeded per machine. */
static uint64_t next_random(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static bool one_site(unsigned site)
{
	return site && !(site & (site - 1)) && !(site & ~MML_FAIL_ALL);
}

static int site_index(unsigned site)
{
	return __builtin_ctz(site);
}

/* A list of attempts stands alone: no rate or countdown beside it. */
static bool fail_at_valid(const struct mml_fail *f)
{
	if (!f->nr_at)
		return true;
	if (f->nr_at > MML_FAIL_AT_MAX || !f->at || f->rate_ppm || f->countdown)
		return false;
	for (unsigned i = 0; i < f->nr_at; i++)
		if (!one_site(f->at[i].site) || !(f->at[i].site & f->sites) || f->at[i].nth < 1)
			return false;
	return true;
}

int mml_fail_set(struct mml_machine *m, const struct mml_fail *f)
{
	struct mml_fail_state *fs = &m->fail;

	if (f && (f->sites & ~MML_FAIL_ALL || f->rate_ppm > 1000000 || f->countdown < 0 || f->repeat < -1 ||
		  !fail_at_valid(f)))
		return -EINVAL;
	spin_lock(&fs->lock);
	memset(fs->attempts, 0, sizeof(fs->attempts));
	if (!f || !f->sites) {
		WRITE_ONCE(fs->cfg.sites, 0);
	} else {
		fs->cfg = *f;
		memcpy(fs->at, f->at ? f->at : fs->at, f->nr_at * sizeof(*fs->at));
		fs->cfg.at = fs->at;
		fs->countdown = f->countdown;
		fs->repeat_left = f->repeat;
		fs->rng = f->seed * 0x9e3779b97f4a7c15ULL + 1;
		WRITE_ONCE(fs->cfg.sites, f->sites);
	}
	spin_unlock(&fs->lock);
	return 0;
}

long mml_fail_injected(struct mml_machine *m)
{
	long n;

	spin_lock(&m->fail.lock);
	n = m->fail.injected;
	spin_unlock(&m->fail.lock);
	return n;
}

long mml_fail_attempts(struct mml_machine *m, unsigned site)
{
	long n;

	if (!one_site(site))
		return -EINVAL;
	spin_lock(&m->fail.lock);
	n = m->fail.attempts[site_index(site)];
	spin_unlock(&m->fail.lock);
	return n;
}

int mml_fail_event(struct mml_machine *m, long i, struct mml_fail_at *ev)
{
	struct mml_fail_state *fs = &m->fail;
	int ret = -ENOENT;

	spin_lock(&fs->lock);
	if (i >= 0 && i < fs->injected && i >= fs->injected - MML_FAIL_EVENTS) {
		*ev = fs->events[i % MML_FAIL_EVENTS];
		ret = 0;
	}
	spin_unlock(&fs->lock);
	return ret;
}

static bool listed(const struct mml_fail_state *fs, unsigned site, long nth)
{
	for (unsigned i = 0; i < fs->cfg.nr_at; i++)
		if (fs->at[i].site == site && fs->at[i].nth == nth)
			return true;
	return false;
}

bool should_fail(struct mml_machine *m, unsigned site)
{
	struct mml_fail_state *fs = &m->fail;
	bool fail = false;
	long nth;

	if (likely(!(READ_ONCE(fs->cfg.sites) & site)))
		return false;
	spin_lock(&fs->lock);
	if (!(fs->cfg.sites & site)) {
		spin_unlock(&fs->lock);
		return false;
	}
	nth = ++fs->attempts[site_index(site)];
	if (fs->cfg.nr_at) {
		fail = listed(fs, site, nth);
	} else if (fs->cfg.countdown) {
		if (fs->countdown > 0) {
			fail = --fs->countdown == 0;
		} else if (fs->repeat_left) {
			fail = true;
			if (fs->repeat_left > 0)
				fs->repeat_left--;
		}
	} else if (fs->cfg.rate_ppm) {
		fail = next_random(&fs->rng) % 1000000 < fs->cfg.rate_ppm;
	}
	if (fail)
		fs->events[fs->injected++ % MML_FAIL_EVENTS] = (struct mml_fail_at){ .site = site, .nth = nth };
	spin_unlock(&fs->lock);
	return fail;
}
