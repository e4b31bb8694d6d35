/*
 * test_fault_inject.c - every resource boundary fails on schedule, the
 * failure point looped across a whole scenario (SQLite's test_malloc way):
 * each operation either succeeds or fails with Linux's error, what failed
 * changed nothing, invariants hold after every operation and nothing leaks.
 */
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "oracle/fuzz.h"

/* madvise reports running out of memory for a split as EAGAIN, as Linux does. */
static bool ok_or_enomem(long r)
{
	return r >= 0 || r == -ENOMEM || r == -EAGAIN;
}

/* A scenario touching every allocating path; returns the failures it saw. */
static int scenario(struct mml_machine *m)
{
	struct mml_task *p = NULL, *c = NULL, *t2 = NULL;
	uint8_t want[4] = { 0, 0, 0, 0 }, got;
	int errors = 0, r;
	long a;

#define STEP(expr) do { long __r = (expr); if (!CHECKF(ok_or_enomem(__r), "%s = %ld", #expr, __r)) errors++; } while (0)
	r = mml_spawn(m, &p);
	STEP(r);
	if (r)
		return errors;
	a = mml_mmap(p, 0, 4 * H_PAGE, H_RW, H_ANON, -1, 0);
	STEP(a);
	if (a < 0)
		return errors;
	for (int i = 0; i < 4; i++) {
		uint8_t v = (uint8_t)(0x10 + i);

		r = mml_write(p, a + i * H_PAGE, &v, 1);
		STEP(r);
		if (!r)
			want[i] = v;
	}
	STEP(mml_mprotect(p, a + H_PAGE, H_PAGE, PROT_READ));
	STEP(mml_munmap(p, a + 3 * H_PAGE, H_PAGE));
	r = mml_fork(p, &c);
	STEP(r);
	if (!r) {
		uint8_t v = 0x77;

		/* The child writes page 0: the parent's byte must not change. */
		STEP(mml_write(c, a, &v, 1));
		STEP(mml_exit(c));
	}
	r = mml_thread_new(p, &t2);
	STEP(r);
	if (!r) {
		uint8_t v = 0x55;

		r = mml_write(t2, a + 2 * H_PAGE, &v, 1);
		STEP(r);
		if (!r)
			want[2] = v;
		STEP(mml_exit(t2));
	}
	STEP(mml_madvise(p, a, 2 * H_PAGE, MADV_DONTFORK));
	STEP(mml_mmap(p, a + 3 * H_PAGE, H_PAGE, H_RW, H_ANON | MAP_FIXED | MAP_POPULATE, -1, 0));
	/* Reads never allocate here: every byte is what the last good write left. */
	for (int i = 0; i < 3; i++) {
		if (mml_read(p, a + i * H_PAGE, &got, 1) == 0)
			CHECKF(got == want[i], "page %d: 0x%02x, want 0x%02x", i, got, want[i]);
	}
	STEP(mml_exit(p));
#undef STEP
	return errors;
}

static void run_with(const struct mml_fail *f, long *injected)
{
	struct mml_machine *m = h_machine_flags(2 << 20, MML_QUIET);

	if (!m)
		return;
	CHECK_EQ(mml_fail_set(m, f), 0);
	scenario(m);
	*injected = mml_fail_injected(m);
	CHECK_EQ(mml_fail_set(m, NULL), 0);
	H_END(m);
}

TEST(countdown_single_failure_at_every_point)
{
	for (long n = 1; n < 400; n++) {
		struct mml_fail f = { .sites = MML_FAIL_ALL, .countdown = n, .repeat = 0 };
		long injected = 0;

		run_with(&f, &injected);
		if (harness_failures()) {
			FAIL("failure point %ld", n);
			return;
		}
		if (!injected)
			return;	/* the scenario finished before the countdown did */
	}
	FAIL("scenario never completed without injection");
}

TEST(countdown_then_fail_forever)
{
	for (long n = 1; n < 400; n++) {
		struct mml_fail f = { .sites = MML_FAIL_ALL, .countdown = n, .repeat = -1 };
		long injected = 0;

		run_with(&f, &injected);
		if (harness_failures()) {
			FAIL("failure point %ld", n);
			return;
		}
		if (!injected)
			return;
	}
}

TEST(each_site_alone_at_a_rate)
{
	static const unsigned sites[] = { MML_FAIL_FRAME, MML_FAIL_PGTABLE, MML_FAIL_META };

	for (unsigned s = 0; s < 3; s++) {
		for (uint64_t seed = 1; seed <= 20; seed++) {
			struct mml_fail f = { .sites = sites[s], .rate_ppm = 200000, .seed = seed };
			long injected = 0;

			run_with(&f, &injected);
			if (harness_failures()) {
				FAIL("site %#x seed %llu", sites[s], (unsigned long long)seed);
				return;
			}
		}
	}
}

TEST(bad_schedules_are_einval)
{
	struct mml_machine *m = h_machine(0);
	struct mml_fail f = { .sites = 0x100 };

	CHECK_EQ(mml_fail_set(m, &f), -EINVAL);
	f.sites = MML_FAIL_FRAME;
	f.rate_ppm = 2000000;
	CHECK_EQ(mml_fail_set(m, &f), -EINVAL);
	f.rate_ppm = 0;
	f.repeat = -2;
	CHECK_EQ(mml_fail_set(m, &f), -EINVAL);
	H_END(m);
}

/*
 * A list of attempts fails those and no others, each counted at its own
 * site from the call; each failure is told as its site and attempt, as
 * the fuzzer's reproducers replay them.
 */
TEST(listed_attempts_fail_and_are_told)
{
	struct mml_machine *m = h_machine(0);
	struct mml_fail_at at[] = { { MML_FAIL_FRAME, 2 }, { MML_FAIL_META, 1 } };
	struct mml_fail f = { .sites = MML_FAIL_FRAME | MML_FAIL_META, .at = at, .nr_at = 2 };
	struct mml_fail_at ev;
	struct mml_task *t;
	long base = mml_fail_injected(m), a;

	CHECK_EQ(mml_spawn(m, &t), 0);
	CHECK_EQ(mml_fail_set(m, &f), 0);
	CHECK_EQ(mml_fail_attempts(m, MML_FAIL_FRAME), 0);
	/* the first metadata attempt (the VMA) fails */
	CHECK_EQ(mml_mmap(t, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), -ENOMEM);
	CHECK_EQ(mml_fail_event(m, base, &ev), 0);
	CHECK_EQ(ev.site, MML_FAIL_META);
	CHECK_EQ(ev.nth, 1);
	a = mml_mmap(t, 0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(a > 0);
	/* the first page's frame is the first attempt there, the second page's the second: it fails */
	CHECK_EQ(mml_write(t, (uint64_t)a, "x", 1), 0);
	CHECK_EQ(mml_fail_attempts(m, MML_FAIL_FRAME), 1);
	CHECK_EQ(mml_write(t, (uint64_t)a + 4096, "x", 1), -ENOMEM);
	CHECK_EQ(mml_fail_event(m, base + 1, &ev), 0);
	CHECK_EQ(ev.site, MML_FAIL_FRAME);
	CHECK_EQ(ev.nth, 2);
	CHECK_EQ(mml_fail_event(m, base + 2, &ev), -ENOENT);
	/* and no later one */
	CHECK_EQ(mml_write(t, (uint64_t)a + 4096, "x", 1), 0);
	CHECK_EQ(mml_fail_injected(m), base + 2);
	/* a site not among the sites, a rate beside the list, an attempt 0: refused */
	at[1].site = MML_FAIL_TAG;
	CHECK_EQ(mml_fail_set(m, &f), -EINVAL);
	at[1].site = MML_FAIL_META;
	f.rate_ppm = 1000;
	CHECK_EQ(mml_fail_set(m, &f), -EINVAL);
	f.rate_ppm = 0;
	at[0].nth = 0;
	CHECK_EQ(mml_fail_set(m, &f), -EINVAL);
	CHECK_EQ(mml_fail_set(m, NULL), 0);
	H_END(m);
}

/*
 * The same loop over fuzzer runs, where the reference model checks every
 * observation: after an injected failure the run goes on, and every later
 * read must still agree with the model.
 */
TEST(failure_point_looped_across_fuzzer_runs)
{
	char *text = NULL;
	size_t size = 0;

	for (long n = 1; n <= 300; n += 7) {
		for (long repeat = -1; repeat <= 2; repeat += 3) {
			FILE *out = open_memstream(&text, &size);
			struct fuzz_opts o = { .seed = (uint64_t)n, .ops = 400, .fail_at = n, .fail_repeat = repeat,
					       .check_every = 1, .quiet = true, .out = out };
			int r = fuzz_run(&o);

			fclose(out);
			if (!CHECKF(r == 0, "fail_at %ld repeat %ld:\n%s", n, repeat, text)) {
				free(text);
				return;
			}
			free(text);
			text = NULL;
		}
	}
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
