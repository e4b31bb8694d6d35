/*
 * test_api_mprotect.c - mml_mprotect: Linux's exact semantics and errors.
 *
 * Linux source read: mm/mprotect.c, do_mprotect_pkey():
 *   - PROT_GROWSDOWN|PROT_GROWSUP together -> -EINVAL;
 *   - start not page aligned -> -EINVAL;
 *   - len == 0 -> 0 (before the prot bits are even validated);
 *   - len = PAGE_ALIGN(len); end <= start (wrap) -> -ENOMEM;
 *   - arch_validate_prot(): prot & ~(PROT_READ|PROT_WRITE|PROT_EXEC|PROT_SEM)
 *     -> -EINVAL (x86 uses the generic one; PROT_SEM is accepted);
 *   - no VMA at or after start below end, or the first VMA starts after
 *     start -> -ENOMEM with nothing changed;
 *   - PROT_GROWSDOWN on a VMA without VM_GROWSDOWN -> -EINVAL;
 *   - then the VMAs are changed one after the other (mprotect_fixup) and the
 *     loop stops at the first hole (vma->vm_start != tmp -> -ENOMEM): the
 *     VMAs before the hole KEEP their new protection; a range running past
 *     the last VMA is changed up to its end, then -ENOMEM (tmp < end).
 * arch/x86/mm/fault.c access_error(): a write needs VM_WRITE; a read needs
 * any of VM_READ|VM_WRITE|VM_EXEC (vma_is_accessible), so PROT_WRITE alone
 * is readable on x86.
 */
#define _GNU_SOURCE
#include "../harness.h"

#include <stdlib.h>
#include <string.h>

#ifndef PROT_SEM
#define PROT_SEM 0x8
#endif

#define RAM	(16ULL << 20)
#define BASE	0x100000000ULL

static int count_vmas_in(struct mml_task *t, uint64_t lo, uint64_t hi)
{
	char *maps = h_show_maps(t);
	int n = 0;

	if (!maps)
		return -1;
	for (char *l = maps; l && *l; ) {
		unsigned long long s, e;

		if (sscanf(l, "%llx-%llx", &s, &e) == 2 && s < hi && e > lo)
			n++;
		l = strchr(l, '\n');
		if (l)
			l++;
	}
	free(maps);
	return n;
}

/* The perms field ("rw-p") of the maps line of the VMA containing addr. */
static bool perms_at(struct mml_task *t, uint64_t addr, char out[5])
{
	char *maps = h_show_maps(t);
	bool found = false;

	strcpy(out, "????");
	if (!maps)
		return false;
	for (char *l = maps; l && *l; ) {
		unsigned long long s, e;
		char p[8];

		if (sscanf(l, "%llx-%llx %7s", &s, &e, p) == 3 && s <= addr && addr < e) {
			memcpy(out, p, 4);
			out[4] = 0;
			found = true;
			break;
		}
		l = strchr(l, '\n');
		if (l)
			l++;
	}
	free(maps);
	return found;
}

#define CHECK_PERMS(t, addr, exp) do {					\
	char p_[5];							\
	perms_at((t), (addr), p_);					\
	CHECKF(strcmp(p_, (exp)) == 0, "perms at 0x%llx: expected %s, got %s", \
	       (unsigned long long)(addr), (exp), p_);			\
} while (0)

TEST(mprotect_argument_errors)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	uint64_t a = h_map(t, BASE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(t, a, 2 * H_PAGE, 0x31);

	CHECK_EQ(mml_mprotect(t, a + 1, H_PAGE, PROT_READ), -EINVAL);
	CHECK_EQ(mml_mprotect(t, a + 1, 0, PROT_READ), -EINVAL);	/* alignment before len */
	CHECK_EQ(mml_mprotect(t, a, H_PAGE, 0x10), -EINVAL);		/* unknown prot bits */
	CHECK_EQ(mml_mprotect(t, a, H_PAGE, PROT_READ | 0x100), -EINVAL);
	CHECK_EQ(mml_mprotect(t, a, H_PAGE, (int)0x80000000u), -EINVAL);
	CHECK_EQ(mml_mprotect(t, a, H_PAGE, PROT_READ | PROT_GROWSDOWN | PROT_GROWSUP), -EINVAL);
	/* PROT_GROWSDOWN on an ordinary VMA. */
	CHECK_EQ(mml_mprotect(t, a, H_PAGE, PROT_READ | PROT_GROWSDOWN), -EINVAL);
	/* Wrapping range. */
	CHECK_EQ(mml_mprotect(t, a, UINT64_MAX, PROT_READ), -ENOMEM);
	CHECK_EQ(mml_mprotect(t, a, UINT64_MAX - a - 10, PROT_READ), -ENOMEM);
	/* None of these changed anything. */
	CHECK_EQ(h_poke(t, a, 0x32), 0);
	CHECK_EQ(h_poke(t, a + H_PAGE, 0x32), 0);
	CHECK_PERMS(t, a, "rw-p");
	CHECK_EQ(count_vmas_in(t, a, a + 2 * H_PAGE), 1);
	H_END(m);
}

TEST(mprotect_len_zero_is_success)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);

	/* len 0 returns 0 before looking at prot or at the address space. */
	CHECK_EQ(mml_mprotect(t, BASE, 0, PROT_READ), 0);
	CHECK_EQ(mml_mprotect(t, BASE, 0, 0x10), 0);
	uint64_t a = h_map(t, BASE, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	CHECK_EQ(mml_mprotect(t, a, 0, PROT_NONE), 0);
	CHECK_EQ(h_poke(t, a, 1), 0);
	H_END(m);
}

TEST(mprotect_prot_sem_is_accepted)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	uint64_t a = h_map(t, BASE, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);

	/* x86 uses the generic arch_validate_prot(), which allows PROT_SEM. */
	CHECK_EQ(mml_mprotect(t, a, H_PAGE, PROT_READ | PROT_SEM), 0);
	CHECK_EQ(h_poke(t, a, 1), -EFAULT);
	CHECK_EQ(h_peek(t, a, NULL), 0);
	H_END(m);
}

TEST(mprotect_unmapped_is_enomem)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);

	CHECK_EQ(mml_mprotect(t, BASE, H_PAGE, PROT_READ), -ENOMEM);
	uint64_t a = h_map(t, BASE + 4 * H_PAGE, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	CHECK_EQ(mml_mprotect(t, BASE, H_PAGE, PROT_READ), -ENOMEM);
	CHECK_EQ(mml_mprotect(t, a + H_PAGE, H_PAGE, PROT_READ), -ENOMEM);
	CHECK_EQ(mml_mprotect(t, H_TASK_SIZE, H_PAGE, PROT_READ), -ENOMEM);
	CHECK_PERMS(t, a, "rw-p");
	H_END(m);
}

TEST(mprotect_hole_applies_up_to_the_hole)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);

	/* [A: 2 pages][hole: 1 page][B: 2 pages][hole...] */
	uint64_t a = h_map(t, BASE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	uint64_t b = h_map(t, BASE + 3 * H_PAGE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a && b);
	h_fill(t, a, 2 * H_PAGE, 0xa1);
	h_fill(t, b, 2 * H_PAGE, 0xb1);

	/* Over A, the hole and B: A becomes read-only, B is untouched, -ENOMEM. */
	CHECK_EQ(mml_mprotect(t, a, 5 * H_PAGE, PROT_READ), -ENOMEM);
	CHECK_EQ(h_poke(t, a, 0), -EFAULT);
	CHECK_EQ(h_poke(t, a + H_PAGE, 0), -EFAULT);
	CHECK_PERMS(t, a, "r--p");
	CHECK_EQ(h_poke(t, b, 0xb2), 0);
	CHECK_PERMS(t, b, "rw-p");
	h_expect(t, a, 2 * H_PAGE, 0xa1);

	/* Starting in the hole: nothing changes. */
	CHECK_EQ(mml_mprotect(t, BASE + 2 * H_PAGE, 3 * H_PAGE, PROT_NONE), -ENOMEM);
	CHECK_PERMS(t, b, "rw-p");
	CHECK_EQ(h_poke(t, b + H_PAGE, 0xb3), 0);

	/* Starting in A's second page and stopping at the hole: A is split, */
	/* its second page changed, B untouched. */
	CHECK_EQ(mml_mprotect(t, a + H_PAGE, 3 * H_PAGE, H_RW), -ENOMEM);
	CHECK_EQ(h_poke(t, a + H_PAGE, 0xa2), 0);
	CHECK_EQ(h_poke(t, a, 0xa2), -EFAULT);
	CHECK_EQ(count_vmas_in(t, a, a + 2 * H_PAGE), 2);

	/* Running past the end of the last VMA: B is changed, then -ENOMEM. */
	CHECK_EQ(mml_mprotect(t, b, 4 * H_PAGE, PROT_READ), -ENOMEM);
	CHECK_EQ(h_poke(t, b, 0), -EFAULT);
	CHECK_EQ(h_poke(t, b + H_PAGE, 0), -EFAULT);
	CHECK_PERMS(t, b, "r--p");
	uint8_t v = 0;

	CHECK_EQ(h_peek(t, b, &v), 0);
	CHECK_EQ(v, 0xb2);
	CHECK_EQ(h_peek(t, b + H_PAGE, &v), 0);
	CHECK_EQ(v, 0xb3);
	H_END(m);
}

TEST(mprotect_prot_none_faults_and_keeps_data)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	uint64_t a = h_map(t, BASE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(t, a, 2 * H_PAGE, 0x5e);

	CHECK_EQ(mml_mprotect(t, a, 2 * H_PAGE, PROT_NONE), 0);
	CHECK_PERMS(t, a, "---p");
	uint8_t buf[32];

	memset(buf, 0x01, sizeof(buf));
	CHECK_EQ(mml_read(t, a, buf, sizeof(buf)), -EFAULT);
	CHECK_EQ(mml_write(t, a + 100, buf, sizeof(buf)), -EFAULT);
	CHECK_EQ(h_peek(t, a + H_PAGE, NULL), -EFAULT);
	/* Still resident: PROT_NONE does not free anything. */
	CHECK(h_pagemap(t, a) & MML_PM_PRESENT);

	CHECK_EQ(mml_mprotect(t, a, 2 * H_PAGE, H_RW), 0);
	h_expect(t, a, 2 * H_PAGE, 0x5e);
	H_END(m);
}

TEST(mprotect_read_only_write_faults_bytes_unchanged)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	uint64_t a = h_map(t, BASE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(t, a, 2 * H_PAGE, 0x44);

	CHECK_EQ(mml_mprotect(t, a, 2 * H_PAGE, PROT_READ), 0);
	uint8_t buf[64];

	memset(buf, 0x55, sizeof(buf));
	CHECK_EQ(mml_write(t, a + 10, buf, sizeof(buf)), -EFAULT);
	CHECK_EQ(mml_write(t, a + H_PAGE - 32, buf, sizeof(buf)), -EFAULT);
	h_expect(t, a, 2 * H_PAGE, 0x44);

	/* Only the second page read-only: a write across both writes nothing. */
	CHECK_EQ(mml_mprotect(t, a, H_PAGE, H_RW), 0);
	CHECK_EQ(mml_write(t, a + H_PAGE - 32, buf, sizeof(buf)), -EFAULT);
	h_expect(t, a, 2 * H_PAGE, 0x44);
	CHECK_EQ(mml_write(t, a + H_PAGE - 64, buf, sizeof(buf)), 0);
	h_expect(t, a + H_PAGE - 64, 64, 0x55);
	h_expect(t, a + H_PAGE, H_PAGE, 0x44);

	/* A never-touched read-only page reads zeros and refuses writes. */
	uint64_t r = h_map(t, BASE + 8 * H_PAGE, H_PAGE, PROT_READ, H_ANON | MAP_FIXED);
	REQUIRE(r);
	CHECK_EQ(h_poke(t, r, 1), -EFAULT);
	h_expect(t, r, H_PAGE, 0);
	CHECK_EQ(h_poke(t, r, 1), -EFAULT);
	H_END(m);
}

TEST(mprotect_write_only_is_readable_on_x86)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	uint64_t a = h_map(t, BASE, H_PAGE, PROT_WRITE, H_ANON | MAP_FIXED);
	REQUIRE(a);

	h_expect(t, a, H_PAGE, 0);
	h_fill(t, a, H_PAGE, 0x6d);
	h_expect(t, a, H_PAGE, 0x6d);
	CHECK_PERMS(t, a, "-w-p");

	uint64_t b = h_map(t, BASE + 2 * H_PAGE, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(b);
	h_fill(t, b, H_PAGE, 0x6e);
	CHECK_EQ(mml_mprotect(t, b, H_PAGE, PROT_WRITE), 0);
	h_expect(t, b, H_PAGE, 0x6e);
	CHECK_EQ(h_poke(t, b, 0x6f), 0);
	H_END(m);
}

TEST(mprotect_splits_and_merges_vmas)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	uint64_t a = h_map(t, BASE, 3 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(t, a, 3 * H_PAGE, 0x12);
	CHECK_EQ(count_vmas_in(t, a, a + 3 * H_PAGE), 1);

	CHECK_EQ(mml_mprotect(t, a + H_PAGE, H_PAGE, PROT_READ), 0);
	CHECK_EQ(count_vmas_in(t, a, a + 3 * H_PAGE), 3);
	CHECK_PERMS(t, a, "rw-p");
	CHECK_PERMS(t, a + H_PAGE, "r--p");
	CHECK_PERMS(t, a + 2 * H_PAGE, "rw-p");
	CHECK_EQ(h_poke(t, a, 0), 0);
	CHECK_EQ(h_poke(t, a + H_PAGE, 0), -EFAULT);
	CHECK_EQ(h_poke(t, a + 2 * H_PAGE, 0), 0);

	/* Back to rw: vma_merge makes it one VMA again. */
	CHECK_EQ(mml_mprotect(t, a + H_PAGE, H_PAGE, H_RW), 0);
	CHECK_EQ(count_vmas_in(t, a, a + 3 * H_PAGE), 1);
	h_expect(t, a + H_PAGE, H_PAGE, 0x12);

	/* Adjacent anonymous mmaps with the same flags merge too. */
	uint64_t b = h_map(t, a + 3 * H_PAGE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(b);
	CHECK_EQ(count_vmas_in(t, a, a + 5 * H_PAGE), 1);
	H_END(m);
}

TEST(mprotect_rw_again_keeps_the_same_page)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	uint64_t a = h_map(t, BASE, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(t, a, H_PAGE, 0x01);
	uint64_t e0 = h_pagemap(t, a);

	CHECK_EQ(mml_mprotect(t, a, H_PAGE, PROT_READ), 0);
	CHECK_EQ(mml_mprotect(t, a, H_PAGE, H_RW), 0);
	h_fill(t, a, H_PAGE, 0x02);
	uint64_t e1 = h_pagemap(t, a);

	/* The page was exclusive (PG_anon_exclusive): no copy on write. */
	CHECK(e1 & MML_PM_PRESENT);
	CHECK_EQ(H_PFN(e1), H_PFN(e0));
	CHECK(e1 & MML_PM_MMAP_EXCLUSIVE);
	H_END(m);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
