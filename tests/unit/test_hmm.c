/*
 * test_hmm.c - the anonymous-memory cases of Linux's
 * tools/testing/selftests/mm/hmm-tests.c, written afresh for mmlab's
 * built-in device (src/drivers/dmirror.c, after lib/test_hmm.c): a device
 * with its own MMU reads and writes a process's memory through
 * hmm_range_fault and interval notifiers.  What the Linux tests read from
 * the driver's counters (faults, cpages) is checked as what a user sees:
 * the bytes, the errors, whether the device maps a page.
 *
 * Not here, with the reason: anon_write_child_shared (MAP_SHARED anonymous
 * memory is shmem: docs/deviations.md row 5), anon_write_huge (no THP yet),
 * mixedmap (no VM_MIXEDMAP mappings of devices), anon_teardown (threaded:
 * tests/threads/thr_device.c).
 */
#include <string.h>

#include "../harness.h"

#define A	0x10000000ULL
#define NP	16

static void fill_pattern(unsigned char *b, uint64_t n, int base)
{
	for (uint64_t i = 0; i < n; i++)
		b[i] = (unsigned char)(base + i / 7);
}

TEST(anon_read)
{
	static unsigned char want[NP * H_PAGE], got[NP * H_PAGE];
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);
	struct mml_device *d;

	REQUIRE(t);
	REQUIRE((d = h_device(t, 0)) != NULL);
	h_map(t, A, NP * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	fill_pattern(want, sizeof(want), 1);
	CHECK_EQ(mml_write(t, A, want, sizeof(want)), 0);
	CHECK_EQ(mml_device_mapped(d, A), 0);
	CHECK_EQ(mml_device_read(d, A, got, sizeof(got)), 0);
	CHECK(memcmp(want, got, sizeof(got)) == 0);
	CHECK_EQ(mml_device_mapped(d, A + 3 * H_PAGE), 1);
	CHECK_EQ(mml_device_free(d), 0);
	H_END(m);
}

TEST(anon_read_prot)
{
	unsigned char b[H_PAGE];
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);
	struct mml_device *d;

	REQUIRE(t);
	REQUIRE((d = h_device(t, 0)) != NULL);
	h_map(t, A, 4 * H_PAGE, PROT_NONE, H_ANON | MAP_FIXED);
	CHECK_EQ(mml_device_read(d, A, b, sizeof(b)), -EFAULT);
	CHECK_EQ(mml_device_read(d, A + 8 * H_PAGE, b, sizeof(b)), -EFAULT);	/* nothing mapped */
	CHECK_EQ(mml_device_mapped(d, A), 0);
	CHECK_EQ(mml_device_free(d), 0);
	H_END(m);
}

TEST(anon_write)
{
	static unsigned char want[NP * H_PAGE];
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);
	struct mml_device *d;

	REQUIRE(t);
	REQUIRE((d = h_device(t, 0)) != NULL);
	h_map(t, A, NP * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	fill_pattern(want, sizeof(want), 9);
	CHECK_EQ(mml_device_write(d, A, want, sizeof(want)), 0);
	for (int i = 0; i < NP; i++) {
		unsigned char got[H_PAGE];

		CHECK_EQ(mml_read(t, A + i * H_PAGE, got, H_PAGE), 0);
		CHECKF(memcmp(got, want + i * H_PAGE, H_PAGE) == 0, "page %d", i);
	}
	CHECK_EQ(mml_device_free(d), 0);
	H_END(m);
}

TEST(anon_write_prot)
{
	unsigned char b[H_PAGE] = { 1 }, got[H_PAGE];
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);
	struct mml_device *d;

	REQUIRE(t);
	REQUIRE((d = h_device(t, 0)) != NULL);
	h_map(t, A, 2 * H_PAGE, PROT_READ, H_ANON | MAP_FIXED);
	/* Reading maps the zero page; a write may not break that COW. */
	CHECK_EQ(mml_device_read(d, A, got, H_PAGE), 0);
	CHECK_EQ(got[0], 0);
	CHECK_EQ(mml_device_write(d, A, b, H_PAGE), -EPERM);
	/* Made writable, the same write goes through. */
	CHECK_EQ(mml_mprotect(t, A, 2 * H_PAGE, H_RW), 0);
	CHECK_EQ(mml_device_write(d, A, b, H_PAGE), 0);
	CHECK(h_expect(t, A, 1, 1));
	CHECK_EQ(mml_device_free(d), 0);
	H_END(m);
}

/* The child's device writes its own copies; the parent keeps its data. */
TEST(anon_write_child)
{
	unsigned char b[H_PAGE];
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m), *c;
	struct mml_device *d;

	REQUIRE(t);
	h_map(t, A, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	CHECK(h_fill(t, A, 4 * H_PAGE, 0x11));
	c = h_fork(t);
	REQUIRE(c);
	REQUIRE((d = h_device(c, 0)) != NULL);
	memset(b, 0x22, sizeof(b));
	for (int i = 0; i < 4; i++)
		CHECK_EQ(mml_device_write(d, A + i * H_PAGE, b, H_PAGE), 0);
	CHECK(h_expect(c, A, 4 * H_PAGE, 0x22));
	CHECK(h_expect(t, A, 4 * H_PAGE, 0x11));
	CHECK_EQ(mml_device_free(d), 0);
	H_END(m);
}

/* The parent's device wrote before the fork: the fork write-protects, the device must fault again. */
TEST(device_write_then_fork_keeps_the_child_apart)
{
	unsigned char b[H_PAGE];
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m), *c;
	struct mml_device *d;

	REQUIRE(t);
	REQUIRE((d = h_device(t, 0)) != NULL);
	h_map(t, A, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	memset(b, 0x33, sizeof(b));
	CHECK_EQ(mml_device_write(d, A, b, H_PAGE), 0);
	c = h_fork(t);
	REQUIRE(c);
	CHECK_EQ(mml_device_mapped(d, A), 0);	/* fork's write-protect dropped it */
	memset(b, 0x44, sizeof(b));
	CHECK_EQ(mml_device_write(d, A, b, H_PAGE), 0);	/* COW for the parent */
	CHECK(h_expect(t, A, H_PAGE, 0x44));
	CHECK(h_expect(c, A, H_PAGE, 0x33));
	CHECK_EQ(mml_device_free(d), 0);
	H_END(m);
}

TEST(anon_large_read_write)
{
	enum { N = 512 };
	static unsigned char want[N * H_PAGE], got[N * H_PAGE];
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);
	struct mml_device *d;

	REQUIRE(t);
	REQUIRE((d = h_device(t, 0)) != NULL);
	h_map(t, A, N * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	fill_pattern(want, sizeof(want), 5);
	CHECK_EQ(mml_device_write(d, A, want, sizeof(want)), 0);
	CHECK_EQ(mml_read(t, A, got, sizeof(got)), 0);
	CHECK(memcmp(want, got, sizeof(got)) == 0);
	memset(got, 0, sizeof(got));
	CHECK_EQ(mml_device_read(d, A, got, sizeof(got)), 0);
	CHECK(memcmp(want, got, sizeof(got)) == 0);
	/* munmap drops every translation of the range. */
	CHECK_EQ(mml_munmap(t, A, N * H_PAGE), 0);
	CHECK_EQ(mml_device_mapped(d, A + 100 * H_PAGE), 0);
	CHECK_EQ(mml_device_read(d, A, got, H_PAGE), -EFAULT);
	CHECK_EQ(mml_device_free(d), 0);
	H_END(m);
}

TEST(snapshot)
{
	unsigned char state[6];
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);
	struct mml_device *d;
	uint8_t byte;

	REQUIRE(t);
	REQUIRE((d = h_device(t, 0)) != NULL);
	h_map(t, A, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	h_map(t, A + 4 * H_PAGE, H_PAGE, PROT_READ, H_ANON | MAP_FIXED);
	h_map(t, A + 5 * H_PAGE, H_PAGE, PROT_NONE, H_ANON | MAP_FIXED);
	CHECK_EQ(h_peek(t, A + H_PAGE, &byte), 0);	/* the zero page */
	CHECK_EQ(h_poke(t, A + 2 * H_PAGE, 1), 0);	/* a page of its own */
	CHECK_EQ(h_peek(t, A + 4 * H_PAGE, &byte), 0);	/* the zero page, read-only VMA */
	CHECK_EQ(mml_device_snapshot(d, A, 6, state), 6);
	CHECK_EQ(state[0], MML_DEV_SNAP_NONE);
	CHECK_EQ(state[1], MML_DEV_SNAP_ZERO | MML_DEV_SNAP_READ);
	CHECK_EQ(state[2], MML_DEV_SNAP_WRITE);
	CHECK_EQ(state[3], MML_DEV_SNAP_NONE);
	CHECK_EQ(state[4], MML_DEV_SNAP_ZERO | MML_DEV_SNAP_READ);
	CHECK_EQ(state[5], MML_DEV_SNAP_ERROR);
	CHECK_EQ(mml_device_mapped(d, A + 2 * H_PAGE), 0);	/* a snapshot maps nothing */
	CHECK_EQ(mml_device_snapshot(d, A + 1, 1, state), -EINVAL);
	CHECK_EQ(mml_device_free(d), 0);
	H_END(m);
}

TEST(exclusive)
{
	static unsigned char want[4 * H_PAGE], got[4 * H_PAGE];
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);
	struct mml_device *d;
	uint64_t e;

	REQUIRE(t);
	REQUIRE((d = h_device(t, 0)) != NULL);
	h_map(t, A, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	fill_pattern(want, sizeof(want), 3);
	CHECK_EQ(mml_write(t, A, want, sizeof(want)), 0);
	CHECK_EQ(mml_device_make_exclusive(d, A, 4), 0);
	/* The CPU's ptes are device-exclusive entries now: not present, the pages still held. */
	e = h_pagemap(t, A);
	CHECK(!(e & MML_PM_PRESENT) && (e & MML_PM_SWAP));
	CHECK_EQ(mml_device_mapped(d, A), 1);
	/* The device's atomics work on the pages. */
	want[0] = 0x77;
	CHECK_EQ(mml_device_write(d, A, want, 1), 0);
	/* The CPU's touch takes them back, the device's translation goes, the data is whole. */
	CHECK_EQ(mml_read(t, A, got, sizeof(got)), 0);
	CHECK(memcmp(want, got, sizeof(got)) == 0);
	CHECK(h_pagemap(t, A) & MML_PM_PRESENT);
	CHECK_EQ(mml_device_mapped(d, A), 0);
	CHECK_EQ(mml_device_free(d), 0);
	H_END(m);
}

TEST(exclusive_mprotect)
{
	unsigned char b[H_PAGE] = { 9 };
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);
	struct mml_device *d;

	REQUIRE(t);
	REQUIRE((d = h_device(t, 0)) != NULL);
	h_map(t, A, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	CHECK(h_fill(t, A, 2 * H_PAGE, 1));
	CHECK_EQ(mml_device_make_exclusive(d, A, 2), 0);
	CHECK_EQ(mml_mprotect(t, A, 2 * H_PAGE, PROT_READ), 0);
	CHECK_EQ(mml_device_write(d, A, b, H_PAGE), -EPERM);
	CHECK(h_expect(t, A, 2 * H_PAGE, 1));
	CHECK_EQ(mml_device_free(d), 0);
	H_END(m);
}

TEST(exclusive_cow)
{
	unsigned char b[H_PAGE];
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m), *c;
	struct mml_device *d;

	REQUIRE(t);
	REQUIRE((d = h_device(t, 0)) != NULL);
	h_map(t, A, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	CHECK(h_fill(t, A, 2 * H_PAGE, 0x5));
	CHECK_EQ(mml_device_make_exclusive(d, A, 2), 0);
	/* fork gives the parent its pages back first, then shares them copy-on-write. */
	c = h_fork(t);
	REQUIRE(c);
	CHECK_EQ(mml_device_mapped(d, A), 0);
	CHECK(h_expect(c, A, 2 * H_PAGE, 0x5));
	CHECK(h_fill(t, A, 2 * H_PAGE, 0x6));
	CHECK(h_expect(c, A, 2 * H_PAGE, 0x5));
	memset(b, 0, sizeof(b));
	CHECK_EQ(mml_device_read(d, A, b, H_PAGE), 0);
	CHECK_EQ(b[0], 0x6);
	CHECK_EQ(mml_device_free(d), 0);
	H_END(m);
}

/* hmm_gup_test: a pin takes a device-exclusive page back, as any CPU access would. */
TEST(hmm_gup_test)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);
	struct mml_device *d;
	struct mml_pin *p;
	unsigned char b[1];

	REQUIRE(t);
	REQUIRE((d = h_device(t, 0)) != NULL);
	h_map(t, A, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	CHECK(h_fill(t, A, 2 * H_PAGE, 0x9));
	CHECK_EQ(mml_device_make_exclusive(d, A, 2), 0);
	REQUIRE_EQ(mml_pin_user_pages(t, A, 2, MML_FOLL_WRITE | MML_FOLL_LONGTERM, &p), 2);
	CHECK(h_pagemap(t, A) & MML_PM_PRESENT);
	CHECK_EQ(mml_device_mapped(d, A), 0);
	CHECK_EQ(mml_dma_read(p, H_PAGE, b, 1), 0);
	CHECK_EQ(b[0], 0x9);
	mml_unpin(p);
	CHECK_EQ(mml_device_free(d), 0);
	H_END(m);
}

TEST(device_after_the_process_exited)
{
	unsigned char b[H_PAGE];
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);
	struct mml_device *d;

	REQUIRE(t);
	REQUIRE((d = h_device(t, 0)) != NULL);
	h_map(t, A, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	CHECK_EQ(mml_device_read(d, A, b, H_PAGE), 0);
	CHECK_EQ(mml_exit(t), 0);
	CHECK_EQ(mml_device_mapped(d, A), 0);	/* exit's unmap reached the device */
	CHECK_EQ(mml_device_read(d, A, b, H_PAGE), -EINVAL);
	CHECK_EQ(mml_device_free(d), 0);
	H_END(m);
}

TEST(a_device_left_attached_is_a_leak)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);
	struct mml_device *d;

	REQUIRE(t);
	REQUIRE((d = h_device(t, 0)) != NULL);
	h_forget_machine(m);
	CHECK_EQ(mml_machine_free(m), -EBUSY);
	(void)d;
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
