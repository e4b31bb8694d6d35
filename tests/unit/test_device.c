/*
 * test_device.c - what the built-in device does besides hmm-tests'
 * cases (test_hmm.c): its writes dirty the page as a CPU write would, it
 * answers reclaim's young question, and with MML_DEV_REFAULT it retries
 * at the end of an invalidation, which makes the order of
 * invalidate_range_end and the pte change visible without a second
 * thread.
 */
#include <string.h>

#include "../harness.h"

#define A	0x10000000ULL

static bool device_sees(struct mml_device *d, uint64_t addr, int c)
{
	unsigned char b[H_PAGE];

	if (mml_device_read(d, addr, b, sizeof(b)))
		return false;
	for (size_t i = 0; i < sizeof(b); i++)
		if (b[i] != c)
			return false;
	return true;
}

/*
 * MADV_FREE leaves a clean, writable pte: the device's write goes
 * through it without a CPU fault.  Reclaim must see that write (the
 * folio dirty), or it drops the page and the process reads zeros.
 */
TEST(a_device_write_to_a_lazily_freed_page_is_kept)
{
	unsigned char b[H_PAGE];
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);
	struct mml_device *d;

	REQUIRE(t);
	REQUIRE(mml_swapon(m, NULL, 1 << 20, -1) >= 0);
	REQUIRE((d = h_device(t, 0)) != NULL);
	h_map(t, A, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	CHECK(h_fill(t, A, H_PAGE, 0x11));
	CHECK_EQ(mml_madvise(t, A, H_PAGE, MADV_FREE), 0);
	memset(b, 0x22, sizeof(b));
	CHECK_EQ(mml_device_write(d, A, b, sizeof(b)), 0);
	CHECK_EQ(mml_madvise(t, A, H_PAGE, MADV_PAGEOUT), 0);
	CHECK(h_expect(t, A, H_PAGE, 0x22));
	CHECK_EQ(mml_device_free(d), 0);
	H_END(m);
}

/* A page read back from swap stays in the swap cache, clean: same rule. */
TEST(a_device_write_to_a_clean_swap_cache_page_is_kept)
{
	unsigned char b[H_PAGE];
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);
	struct mml_device *d;

	REQUIRE(t);
	REQUIRE(mml_swapon(m, NULL, 1 << 20, -1) >= 0);
	REQUIRE((d = h_device(t, 0)) != NULL);
	h_map(t, A, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	CHECK(h_fill(t, A, H_PAGE, 0x11));
	CHECK_EQ(mml_madvise(t, A, H_PAGE, MADV_PAGEOUT), 0);
	CHECK(h_expect(t, A, H_PAGE, 0x11));	/* a read fault: swap cache, clean */
	memset(b, 0x33, sizeof(b));
	CHECK_EQ(mml_device_write(d, A, b, sizeof(b)), 0);
	CHECK_EQ(mml_madvise(t, A, H_PAGE, MADV_PAGEOUT), 0);
	CHECK(h_expect(t, A, H_PAGE, 0x33));
	CHECK_EQ(mml_device_free(d), 0);
	H_END(m);
}

/*
 * Reclaim asks the device through clear_flush_young: a page it used is
 * referenced.  MADV_COLD first clears the CPU's accessed bits (and asks
 * no secondary MMU), so only the device's use tells the pages apart.
 */
TEST(reclaim_keeps_a_page_the_device_used)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);
	struct mml_device *d;
	uint64_t e0, e1;

	REQUIRE(t);
	REQUIRE(mml_swapon(m, NULL, 1 << 20, -1) >= 0);
	REQUIRE((d = h_device(t, 0)) != NULL);
	h_map(t, A, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	CHECK(h_fill(t, A, 2 * H_PAGE, 0x44));
	CHECK(device_sees(d, A, 0x44));
	CHECK_EQ(mml_madvise(t, A, 2 * H_PAGE, MADV_COLD), 0);
	CHECK_EQ(mml_reclaim(m, 1), 1);
	e0 = h_pagemap(t, A);
	e1 = h_pagemap(t, A + H_PAGE);
	CHECKF(e0 & MML_PM_PRESENT, "the page the device used went out: %#llx", (unsigned long long)e0);
	CHECKF(e1 & MML_PM_SWAP, "the page nobody used stayed: %#llx", (unsigned long long)e1);
	CHECK_EQ(mml_device_mapped(d, A), 1);
	CHECK_EQ(mml_device_free(d), 0);
	H_END(m);
}

/* After a COW, a retrying device maps the process's new page, never the old one. */
TEST(a_retrying_device_takes_back_the_new_page_after_cow)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m), *c;
	struct mml_device *d;

	REQUIRE(t);
	h_map(t, A, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	CHECK(h_fill(t, A, H_PAGE, 0x55));
	c = h_fork(t);
	REQUIRE(c);
	REQUIRE((d = h_device(t, MML_DEV_REFAULT)) != NULL);
	CHECK(device_sees(d, A, 0x55));
	CHECK(h_fill(t, A, H_PAGE, 0x66));	/* COW: the invalidation takes the translation */
	CHECK_EQ(mml_device_mapped(d, A), 1);	/* ... and its end gave it back */
	CHECK(device_sees(d, A, 0x66));
	CHECK(h_expect(c, A, H_PAGE, 0x55));
	CHECK_EQ(mml_device_free(d), 0);
	H_END(m);
}

/*
 * The same with invalidate_range_end before the pte moves to the copy:
 * the retry maps the old page, and the next access through it is caught.
 */
TEST(end_before_the_pte_change_is_caught_without_a_second_thread)
{
	unsigned char b[H_PAGE];
	struct mml_machine *m = h_machine_flags(0, MML_QUIET);
	struct mml_task *t = h_spawn(m), *c;
	struct mml_device *d;

	REQUIRE(t);
	CHECK_EQ(mml_bug_inject(m, "notify-end-before-flush"), 0);
	h_map(t, A, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	CHECK(h_fill(t, A, H_PAGE, 0x55));
	c = h_fork(t);
	REQUIRE(c);
	REQUIRE((d = h_device(t, MML_DEV_REFAULT)) != NULL);
	CHECK(device_sees(d, A, 0x55));
	CHECK(h_fill(t, A, H_PAGE, 0x66));
	/* The checker after the write finds the translation the retry installed. */
	CHECK(mml_report_count(m) > 0);
	CHECK_EQ(mml_device_read(d, A, b, sizeof(b)), 0);
	CHECK_EQ(b[0], 0x55);	/* the stale page: the corruption the report is about */
	CHECK_EQ(mml_device_free(d), 0);
	h_forget_machine(m);
	mml_machine_free(m);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
