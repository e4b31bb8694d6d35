/*
 * inject.c - fault injection at every resource boundary, on a seeded
 * schedule: a rate, or SQLite's countdown-then-repeat (test_malloc.c), as
 * Linux's fail_page_alloc and failslab.  The core asks should_fail()
 * (mm/hooks.h).
 */
#include "mm/internal.h"

void fail_state_init(struct mml_fail_state *fs)
{
	spin_lock_init(&fs->lock);
	fs->cfg.sites = 0;
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

int mml_fail_set(struct mml_machine *m, const struct mml_fail *f)
{
	struct mml_fail_state *fs = &m->fail;

	if (f && (f->sites & ~MML_FAIL_ALL || f->rate_ppm > 1000000 || f->countdown < 0 || f->repeat < -1))
		return -EINVAL;
	spin_lock(&fs->lock);
	if (!f || !f->sites) {
		WRITE_ONCE(fs->cfg.sites, 0);
	} else {
		fs->cfg = *f;
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

bool should_fail(struct mml_machine *m, unsigned site)
{
	struct mml_fail_state *fs = &m->fail;
	bool fail = false;

	if (likely(!(READ_ONCE(fs->cfg.sites) & site)))
		return false;
	spin_lock(&fs->lock);
	if (!(fs->cfg.sites & site)) {
		spin_unlock(&fs->lock);
		return false;
	}
	if (fs->cfg.countdown) {
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
		fs->injected++;
	spin_unlock(&fs->lock);
	return fail;
}
