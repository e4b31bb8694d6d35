/*
 * test_api_access.c - mml_read / mml_write, the loads and stores of the
 * simulated CPU.
 *
 * Contract (include/mmlab.h): 0, or -EFAULT if any byte of the range is
 * unmapped or forbidden, and then nothing is read or written.
 * Linux source read: arch/x86/mm/fault.c access_error(): a write needs
 * VM_WRITE; any other access needs one of VM_READ|VM_WRITE|VM_EXEC
 * (vma_is_accessible()), so a PROT_WRITE-only mapping is readable on x86;
 * PROT_NONE is never accessible.  An address at or above TASK_SIZE has no
 * VMA.  mm/memory.c do_anonymous_page(): a read fault of anonymous private
 * memory maps the shared zero page (reads zeros, allocates nothing).
 */
#define _GNU_SOURCE
#include "../harness.h"

#include <stdlib.h>
#include <string.h>

#define RAM	(16ULL << 20)
#define BASE	0x100000000ULL

TEST(access_across_hole_faults_and_writes_nothing)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	/* [A: 1 page][hole][B: 1 page] */
	uint64_t a = h_map(t, BASE, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	uint64_t b = h_map(t, BASE + 2 * H_PAGE, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a && b);
	h_fill(t, a, H_PAGE, 0x11);
	h_fill(t, b, H_PAGE, 0x22);

	uint64_t len = 3 * H_PAGE;
	uint8_t *buf = malloc(len);
	REQUIRE(buf);

	memset(buf, 0xee, len);
	CHECK_EQ(mml_write(t, a, buf, len), -EFAULT);
	h_expect(t, a, H_PAGE, 0x11);		/* the first page is unchanged */
	h_expect(t, b, H_PAGE, 0x22);
	CHECK_EQ(mml_write(t, a + H_PAGE - 10, buf, 20), -EFAULT);
	h_expect(t, a, H_PAGE, 0x11);
	CHECK_EQ(mml_write(t, b - 10, buf, 20), -EFAULT);	/* starting in the hole */
	h_expect(t, b, H_PAGE, 0x22);

	/* A read across the hole faults and reads nothing into buf. */
	memset(buf, 0xee, len);
	CHECK_EQ(mml_read(t, a, buf, len), -EFAULT);
	bool untouched = true;

	for (uint64_t i = 0; i < len; i++)
		untouched &= buf[i] == 0xee;
	CHECKF(untouched, "a failed mml_read wrote into the caller's buffer");
	free(buf);
	H_END(m);
}

TEST(access_across_two_adjacent_vmas_works)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	/* Two VMAs that cannot merge (different prot), back to back. */
	uint64_t a = h_map(t, BASE, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	uint64_t b = h_map(t, BASE + H_PAGE, H_PAGE, H_RW | PROT_EXEC, H_ANON | MAP_FIXED);
	REQUIRE(a && b);
	uint8_t in[64], out[64];

	for (int i = 0; i < 64; i++)
		in[i] = (uint8_t)(i * 7 + 1);
	CHECK_EQ(mml_write(t, b - 32, in, 64), 0);
	memset(out, 0, sizeof(out));
	CHECK_EQ(mml_read(t, b - 32, out, 64), 0);
	CHECK(memcmp(in, out, 64) == 0);
	H_END(m);
}

TEST(access_many_pages_round_trip)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	const uint64_t len = 9 * H_PAGE;
	uint64_t a = h_map(t, 0, len, H_RW, H_ANON);
	REQUIRE(a);
	uint8_t *in = malloc(len), *out = malloc(len);
	REQUIRE(in && out);

	for (uint64_t i = 0; i < len; i++)
		in[i] = (uint8_t)(i ^ (i >> 8) ^ (i >> 13));
	/* Unaligned start and length, crossing page boundaries. */
	CHECK_EQ(mml_write(t, a + 123, in, len - 500), 0);
	memset(out, 0, len);
	CHECK_EQ(mml_read(t, a + 123, out, len - 500), 0);
	CHECK(memcmp(in, out, len - 500) == 0);
	/* The bytes around it are still zero. */
	h_expect(t, a, 123, 0);
	h_expect(t, a + 123 + len - 500, 500 - 123, 0);
	/* Single bytes at page edges. */
	for (uint64_t p = 1; p < 9; p++) {
		CHECK_EQ(h_poke(t, a + p * H_PAGE - 1, (uint8_t)p), 0);
		CHECK_EQ(h_poke(t, a + p * H_PAGE, (uint8_t)(p + 100)), 0);
	}
	for (uint64_t p = 1; p < 9; p++) {
		uint8_t v1 = 0, v2 = 0;

		CHECK_EQ(h_peek(t, a + p * H_PAGE - 1, &v1), 0);
		CHECK_EQ(h_peek(t, a + p * H_PAGE, &v2), 0);
		CHECK_EQ(v1, p);
		CHECK_EQ(v2, p + 100);
	}
	free(in);
	free(out);
	H_END(m);
}

TEST(access_write_only_mapping_is_readable)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	uint64_t a = h_map(t, BASE, 2 * H_PAGE, PROT_WRITE, H_ANON | MAP_FIXED);
	REQUIRE(a);

	h_expect(t, a + H_PAGE, H_PAGE, 0);	/* read fault first */
	h_fill(t, a, 2 * H_PAGE, 0x57);		/* then write faults */
	h_expect(t, a, 2 * H_PAGE, 0x57);
	H_END(m);
}

TEST(access_prot_none_faults)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	uint64_t a = h_map(t, BASE, H_PAGE, PROT_NONE, H_ANON | MAP_FIXED);
	uint64_t b = h_map(t, BASE + H_PAGE, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a && b);
	uint8_t buf[16];

	memset(buf, 1, sizeof(buf));
	CHECK_EQ(mml_read(t, a, buf, 1), -EFAULT);
	CHECK_EQ(mml_write(t, a, buf, 1), -EFAULT);
	CHECK_EQ(mml_read(t, a + H_PAGE - 1, buf, 1), -EFAULT);
	/* From the accessible page into the PROT_NONE one, and back. */
	h_fill(t, b, H_PAGE, 0x33);
	CHECK_EQ(mml_write(t, b - 8, buf, 16), -EFAULT);
	h_expect(t, b, H_PAGE, 0x33);
	CHECK_EQ(mml_read(t, b - 8, buf, 16), -EFAULT);
	/* Nothing was ever faulted in there. */
	CHECK(!(h_pagemap(t, a) & MML_PM_PRESENT));
	H_END(m);
}

TEST(access_read_only_write_faults)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	uint64_t a = h_map(t, BASE, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	uint64_t r = h_map(t, BASE + H_PAGE, H_PAGE, PROT_READ, H_ANON | MAP_FIXED);
	REQUIRE(a && r);
	uint8_t buf[16];

	memset(buf, 0x77, sizeof(buf));
	h_fill(t, a, H_PAGE, 0x12);
	CHECK_EQ(mml_write(t, r, buf, sizeof(buf)), -EFAULT);
	CHECK_EQ(mml_write(t, r - 8, buf, sizeof(buf)), -EFAULT);	/* straddling */
	h_expect(t, a, H_PAGE, 0x12);
	h_expect(t, r, H_PAGE, 0);
	H_END(m);
}

TEST(access_outside_user_space_faults)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	uint8_t buf[8] = { 0 };

	CHECK_EQ(mml_read(t, 0, buf, 1), -EFAULT);
	CHECK_EQ(mml_write(t, 0, buf, 1), -EFAULT);
	CHECK_EQ(mml_read(t, H_PAGE, buf, 8), -EFAULT);
	CHECK_EQ(mml_read(t, BASE, buf, 8), -EFAULT);
	CHECK_EQ(mml_read(t, H_TASK_SIZE, buf, 8), -EFAULT);
	CHECK_EQ(mml_write(t, 1ULL << 47, buf, 8), -EFAULT);
	CHECK_EQ(mml_read(t, 0xffff800000000000ULL, buf, 8), -EFAULT);
	CHECK_EQ(mml_read(t, UINT64_MAX - 3, buf, 8), -EFAULT);		/* wraps */
	CHECK_EQ(mml_write(t, UINT64_MAX, buf, 2), -EFAULT);
	H_END(m);
}

TEST(access_read_fault_maps_the_zero_page)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	uint64_t a = h_map(t, BASE, 8 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	long anon0 = mml_meminfo(m, "AnonPages");
	long free0 = mml_meminfo(m, "MemFree");

	h_expect(t, a, 8 * H_PAGE, 0);
	/* Eight read faults allocated no anonymous page (the zero page is
	 * shared); at most the page tables were allocated. */
	CHECK_EQ(mml_meminfo(m, "AnonPages"), anon0);
	CHECK(mml_meminfo(m, "MemFree") >= free0 - 4 * 4);
	/* Writing after the read fault gives private zeroed pages. */
	h_fill(t, a, 4, 0x01);
	h_expect(t, a + 4, H_PAGE - 4, 0);
	CHECK_EQ(mml_meminfo(m, "AnonPages"), anon0 + 4);
	H_END(m);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
