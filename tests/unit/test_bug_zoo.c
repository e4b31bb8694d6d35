/*
 * test_bug_zoo.c - every bug-zoo entry is caught by the invariant checker or
 * the stale-TLB detector, and the same scenario is clean without it.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../harness.h"
#include "oracle/check.h"
#include "oracle/fuzz.h"

/* Runs the scenario; returns whether the machine noticed something wrong. */
typedef void (*scenario_fn)(struct mml_machine *m, bool *diverged);

static bool run(const char *bug, scenario_fn fn, bool *diverged)
{
	struct mml_machine *m = h_machine_flags(0, MML_QUIET);
	bool caught;

	*diverged = false;
	if (!m)
		return false;
	if (bug)
		CHECK_EQ(mml_bug_inject(m, bug), 0);
	fn(m, diverged);
	caught = mml_check(m) != 0;
	h_forget_machine(m);
	CHECK_EQ(mml_machine_free(m), caught ? -EBUSY : 0);
	return caught;
}

/* fork, then the parent writes: the child must keep the old bytes. */
static void fork_then_parent_writes(struct mml_machine *m, bool *diverged)
{
	struct mml_task *p = h_spawn(m), *c;
	uint64_t a;
	uint8_t v = 0;

	if (!p)
		return;
	a = h_map(p, 0, H_PAGE, H_RW, H_ANON);
	h_fill(p, a, H_PAGE, 1);
	c = h_fork(p);
	if (!c)
		return;
	h_poke(p, a, 2);
	h_peek(c, a, &v);
	*diverged = v != 1;
}

/* Another CPU of the process holds a translation while munmap frees. */
static void munmap_with_second_cpu(struct mml_machine *m, bool *diverged)
{
	struct mml_task *a = h_spawn(m), *b = NULL;
	uint64_t p;
	uint8_t v;

	if (!a || mml_thread_new(a, &b))
		return;
	p = h_map(a, 0, H_PAGE, H_RW, H_ANON);
	h_fill(a, p, H_PAGE, 1);
	h_peek(b, p, &v);	/* b's TLB now maps the page */
	mml_munmap(a, p, H_PAGE);
	*diverged = h_peek(b, p, &v) != -EFAULT;
}

/* A write,longterm pin, then MADV_PAGEOUT: the process and the device must keep one page. */
static void pageout_pinned_then_write(struct mml_machine *m, bool *diverged)
{
	struct mml_task *p = h_spawn(m);
	struct mml_pin *pin;
	uint64_t a;
	uint8_t v = 0;

	if (!p || mml_swapon(m, NULL, 1 << 20, -1) < 0)
		return;
	a = h_map(p, 0, H_PAGE, H_RW, H_ANON);
	h_fill(p, a, H_PAGE, 1);
	if (mml_pin_user_pages(p, a, 1, MML_FOLL_WRITE | MML_FOLL_LONGTERM, &pin) != 1)
		return;
	mml_madvise(p, a, H_PAGE, MADV_PAGEOUT);
	h_poke(p, a, 2);
	mml_dma_read(pin, 0, &v, 1);
	*diverged = v != 2;
	mml_unpin(pin);
}

/*
 * A swapped-out page shared by fork; the child exits, another process
 * swaps out enough to use every other slot: the parent must read its own
 * bytes back, not that process's.
 */
static void fork_swapped_then_slots_reused(struct mml_machine *m, bool *diverged)
{
	struct mml_task *p = h_spawn(m), *c, *o;
	uint64_t a, b;
	uint8_t v = 0;

	if (!p || mml_swapon(m, NULL, 16 * H_PAGE, -1) < 0)	/* 15 slots */
		return;
	a = h_map(p, 0, H_PAGE, H_RW, H_ANON);
	h_fill(p, a, H_PAGE, 1);
	mml_madvise(p, a, H_PAGE, MADV_PAGEOUT);
	c = h_fork(p);
	if (!c || mml_exit(c))
		return;
	o = h_spawn(m);
	if (!o)
		return;
	b = h_map(o, 0, 14 * H_PAGE, H_RW, H_ANON);
	h_fill(o, b, 14 * H_PAGE, 2);
	mml_madvise(o, b, 14 * H_PAGE, MADV_PAGEOUT);
	h_peek(p, a, &v);
	*diverged = v != 1;
}

TEST(clean_runs_are_clean)
{
	bool diverged;

	CHECK(!run(NULL, fork_then_parent_writes, &diverged));
	CHECK(!diverged);
	CHECK(!run(NULL, munmap_with_second_cpu, &diverged));
	CHECK(!diverged);
	CHECK(!run(NULL, pageout_pinned_then_write, &diverged));
	CHECK(!diverged);
	CHECK(!run(NULL, fork_swapped_then_slots_reused, &diverged));
	CHECK(!diverged);
}

TEST(reclaim_unmaps_pinned_is_caught)
{
	bool diverged;

	CHECK(run("reclaim-unmaps-pinned", pageout_pinned_then_write, &diverged));
	CHECK(diverged);
}

TEST(fork_no_swap_dup_is_caught)
{
	bool diverged;

	CHECK(run("fork-no-swap-dup", fork_swapped_then_slots_reused, &diverged));
	CHECK(diverged);
}

TEST(cow_reuse_shared_is_caught)
{
	bool diverged;

	CHECK(run("cow-reuse-shared", fork_then_parent_writes, &diverged));
	CHECK(diverged);
}

TEST(fork_no_wrprotect_is_caught)
{
	bool diverged;

	CHECK(run("fork-no-wrprotect", fork_then_parent_writes, &diverged));
	CHECK(diverged);
}

TEST(fork_keep_exclusive_is_caught)
{
	bool diverged;

	CHECK(run("fork-keep-exclusive", fork_then_parent_writes, &diverged));
	CHECK(diverged);
}

TEST(free_before_flush_is_caught)
{
	bool diverged;

	CHECK(run("free-before-flush", munmap_with_second_cpu, &diverged));
}

/*
 * MML_CHECK_FREES asks every TLB at each free whether it still maps the
 * frame (looking inside a TLB only when its filter of frames says it may):
 * a flush of another page of the CPU leaves the filter with the frames it
 * still maps, and a free before the flush is reported at the free itself,
 * before any stale hit or check could see it.
 */
TEST(a_free_before_the_flush_is_reported_at_the_free)
{
	struct mml_machine *m = mml_machine_new(&(struct mml_config){ .flags = MML_QUIET | MML_CHECK_FREES });
	struct mml_task *a, *b;
	uint64_t p;
	uint8_t v;

	REQUIRE(m);
	REQUIRE_EQ(mml_spawn(m, &a), 0);
	REQUIRE_EQ(mml_thread_new(a, &b), 0);
	p = h_map(a, 0, 4 * H_PAGE, H_RW, H_ANON);
	CHECK(h_fill(a, p, 4 * H_PAGE, 1));
	for (int i = 0; i < 4; i++)
		CHECK_EQ(h_peek(b, p + i * H_PAGE, &v), 0);	/* b's TLB maps the four frames */
	CHECK_EQ(mml_munmap(a, p + 3 * H_PAGE, H_PAGE), 0);
	CHECK_EQ(mml_report_count(m), 0);
	CHECK_EQ(mml_bug_inject(m, "free-before-flush"), 0);
	CHECK_EQ(mml_munmap(a, p, H_PAGE), 0);
	CHECK_EQ(mml_report_count(m), 1);
	CHECK_EQ(mml_exit(b), 0);
	CHECK_EQ(mml_exit(a), 0);
	CHECK_EQ(mml_machine_free(m), -EBUSY);		/* for the report, not a leak */
}

/*
 * The incremental check finds at once what the full check finds: fork
 * without write-protecting leaves the parent's pte writable over a page
 * the child maps, which the check of the parent's page alone sees, right
 * after the fork; a range away from it is clean, and so is all of it
 * without the bug.
 */
TEST(incremental_check_catches_fork_no_wrprotect)
{
	for (int bug = 0; bug < 2; bug++) {
		/* no check after every operation (h_machine's): the checks below are the first */
		struct mml_config cfg = { .seed = 1, .flags = MML_QUIET };
		struct mml_machine *m = mml_machine_new(&cfg);
		struct mml_task *p = h_spawn(m), *c;
		uint64_t a;

		if (bug)
			CHECK_EQ(mml_bug_inject(m, "fork-no-wrprotect"), 0);
		a = h_map(p, 0, 4 * H_PAGE, H_RW, H_ANON);
		h_fill(p, a, H_PAGE, 1);
		c = h_fork(p);
		CHECK(c != NULL);
		CHECK_EQ(mml_check_range(m, p, a + 2 * H_PAGE, a + 4 * H_PAGE), 0);
		CHECK_EQ(mml_check_range(m, p, a, a + H_PAGE), bug ? -EUCLEAN : 0);
		CHECK_EQ(mml_check(m), bug ? -EUCLEAN : 0);
		CHECK_EQ(mml_machine_free(m), bug ? -EBUSY : 0);
	}
}

/* The operation at which `mmlab fuzz` reports the divergence of bug on seed, checking in full every n. */
static long fuzz_diverges_at(const char *bug, uint64_t seed, int n)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct fuzz_opts o = { .seed = seed, .ops = 3000, .shrink_s = 0.01, .bug = bug, .check_every = n, .out = f };
	const char *at;
	long op = -1;

	if (!f)
		return -2;
	if (fuzz_run(&o) == 1) {
		fflush(f);
		at = strstr(text, "divergence at operation ");
		if (at)
			op = atol(at + strlen("divergence at operation "));
	}
	fclose(f);
	free(text);
	return op;
}

/*
 * In the fuzzer: with the full check every operation, or every 64, or
 * only at the end, the divergence is reported at the same operation --
 * the incremental check after each operation saw it there.
 */
TEST(fuzz_incremental_check_reports_at_the_same_operation)
{
	long every = fuzz_diverges_at("fork-no-wrprotect", 1, 1);

	CHECK(every > 0);
	CHECK_EQ(fuzz_diverges_at("fork-no-wrprotect", 1, 64), every);
	CHECK_EQ(fuzz_diverges_at("fork-no-wrprotect", 1, 1000000), every);
}

TEST(every_zoo_entry_is_listed)
{
	const char *names[] = { "cow-reuse-shared", "free-before-flush", "fork-no-wrprotect",
				"fork-keep-exclusive" };

	CHECK(mml_bug_count() >= 4);
	for (int i = 0; i < mml_bug_count(); i++) {
		const char *n, *b, *h;

		CHECK_EQ(mml_bug_describe(i, &n, &b, &h), 0);
		CHECK(n && *n && b && *b && h && *h);
	}
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct mml_machine *m = h_machine(0);

		CHECK_EQ(mml_bug_inject(m, names[i]), 0);
		CHECK_EQ(mml_bug_inject(m, "no-such-bug"), -ENOENT);
		h_forget_machine(m);
		mml_machine_free(m);
	}
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
