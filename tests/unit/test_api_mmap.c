/*
 * test_api_mmap.c - mml_mmap / mml_munmap of anonymous memory: Linux's exact
 * semantics and error codes, through the public API only.
 *
 * Linux sources read (x86-64, 4-level paging, unprivileged process):
 *  - arch/x86/kernel/sys_x86_64.c: SYSCALL_DEFINE6(mmap): an offset that is
 *    not page aligned is -EINVAL before anything else;
 *    arch_get_unmapped_area_topdown(): len > TASK_SIZE -> -ENOMEM; MAP_FIXED
 *    returns addr unchecked; a hint is taken (addr &= PAGE_MASK) if
 *    [addr, addr+len) is below TASK_SIZE and free.
 *  - mm/mmap.c: ksys_mmap_pgoff(): without MAP_ANONYMOUS, fget(fd) fails ->
 *    -EBADF (before do_mmap looks at len); do_mmap(): !len -> -EINVAL;
 *    round_hint_to_min() for non-fixed hints (hint &= PAGE_MASK, a hint
 *    below mmap_min_addr becomes mmap_min_addr); PAGE_ALIGN(len) == 0 ->
 *    -ENOMEM; MAP_FIXED_NOREPLACE and an intersecting VMA -> -EEXIST;
 *    anonymous mappings that are neither MAP_SHARED nor MAP_PRIVATE ->
 *    -EINVAL (switch (flags & MAP_TYPE) default).
 *    __get_unmapped_area(): addr > TASK_SIZE - len -> -ENOMEM; unaligned
 *    (MAP_FIXED) addr -> -EINVAL; then security_mmap_addr(addr), whose
 *    cap_mmap_addr() (security/commoncap.c) refuses addr < mmap_min_addr
 *    with -EPERM unless the task has CAP_SYS_RAWIO.  We assume a simulated
 *    process is unprivileged and vm.mmap_min_addr = 65536 (Debian default).
 *  - mm/vma.c (mm/mmap.c before 6.12) do_vmi_munmap(): unaligned start,
 *    start > TASK_SIZE or len > TASK_SIZE - start -> -EINVAL; len rounded up;
 *    len 0 -> -EINVAL; nothing mapped in the range -> 0.
 */
#define _GNU_SOURCE
#include "../harness.h"

#include <stdlib.h>
#include <string.h>

#define RAM	(16ULL << 20)
#define BASE	0x100000000ULL		/* a quiet part of the address space */

/* Does any byte of [addr, addr+len) fault?  True if every page is unmapped
 * (mml_read of each page's first byte is -EFAULT). */
static bool all_unmapped(struct mml_task *t, uint64_t addr, uint64_t len)
{
	for (uint64_t a = addr; a < addr + len; a += H_PAGE) {
		uint8_t v;

		if (h_peek(t, a, &v) != -EFAULT)
			return false;
	}
	return true;
}

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

TEST(mmap_basic_anonymous_private)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);

	long a = mml_mmap(t, 0, 4 * H_PAGE, H_RW, H_ANON, -1, 0);
	CHECK(a > 0);
	CHECK_EQ((uint64_t)a % H_PAGE, 0);
	CHECK((uint64_t)a >= H_MMAP_MIN_ADDR);
	CHECK((uint64_t)a + 4 * H_PAGE <= H_TASK_SIZE);
	if (a > 0) {
		/* Fresh anonymous memory reads as zeros, and keeps what is written. */
		h_expect(t, a, 4 * H_PAGE, 0);
		h_fill(t, a + H_PAGE, H_PAGE, 0x5a);
		h_expect(t, a + H_PAGE, H_PAGE, 0x5a);
		h_expect(t, a, H_PAGE, 0);
		h_expect(t, a + 2 * H_PAGE, 2 * H_PAGE, 0);
	}
	/* Two mappings never overlap. */
	long b = mml_mmap(t, 0, 4 * H_PAGE, H_RW, H_ANON, -1, 0);
	CHECK(b > 0);
	CHECK((uint64_t)b + 4 * H_PAGE <= (uint64_t)a || (uint64_t)b >= (uint64_t)a + 4 * H_PAGE);
	H_END(m);
}

TEST(mmap_len_zero_is_einval)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);

	CHECK_EQ(mml_mmap(t, 0, 0, H_RW, H_ANON, -1, 0), -EINVAL);
	CHECK_EQ(mml_mmap(t, BASE, 0, H_RW, H_ANON | MAP_FIXED, -1, 0), -EINVAL);
	CHECK_EQ(mml_mmap(t, BASE, 0, H_RW, H_ANON | MAP_FIXED_NOREPLACE, -1, 0), -EINVAL);
	CHECK_EQ(count_vmas_in(t, 0, H_TASK_SIZE), 0);
	H_END(m);
}

TEST(mmap_fixed_unaligned_is_einval)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);

	CHECK_EQ(mml_mmap(t, BASE + 0x123, H_PAGE, H_RW, H_ANON | MAP_FIXED, -1, 0), -EINVAL);
	CHECK_EQ(mml_mmap(t, BASE + 1, H_PAGE, H_RW, H_ANON | MAP_FIXED_NOREPLACE, -1, 0),
		 -EINVAL);
	CHECK(all_unmapped(t, BASE, 2 * H_PAGE));
	CHECK_EQ(count_vmas_in(t, 0, H_TASK_SIZE), 0);
	H_END(m);
}

TEST(mmap_needs_private_or_shared)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);

	CHECK_EQ(mml_mmap(t, 0, H_PAGE, H_RW, MAP_ANONYMOUS, -1, 0), -EINVAL);
	/* A MAP_FIXED one that fails must leave what was there alone. */
	uint64_t a = h_map(t, BASE, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(t, a, H_PAGE, 0x11);
	CHECK_EQ(mml_mmap(t, BASE, H_PAGE, H_RW, MAP_ANONYMOUS | MAP_FIXED, -1, 0), -EINVAL);
	h_expect(t, a, H_PAGE, 0x11);
	CHECK_EQ(mml_mmap(t, BASE + H_PAGE, H_PAGE, H_RW, MAP_ANONYMOUS | MAP_FIXED, -1, 0),
		 -EINVAL);
	CHECK(all_unmapped(t, BASE + H_PAGE, H_PAGE));
	H_END(m);
}

TEST(mmap_fixed_noreplace_over_mapping_is_eexist)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);

	uint64_t a = h_map(t, BASE + 4 * H_PAGE, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED_NOREPLACE);
	REQUIRE(a == BASE + 4 * H_PAGE);
	h_fill(t, a, 4 * H_PAGE, 0x77);

	/* Exactly over it, over its tail, over its head, around it. */
	CHECK_EQ(mml_mmap(t, a, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED_NOREPLACE, -1, 0), -EEXIST);
	CHECK_EQ(mml_mmap(t, a + 3 * H_PAGE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED_NOREPLACE, -1, 0),
		 -EEXIST);
	CHECK_EQ(mml_mmap(t, BASE, 5 * H_PAGE, H_RW, H_ANON | MAP_FIXED_NOREPLACE, -1, 0), -EEXIST);
	CHECK_EQ(mml_mmap(t, BASE, 12 * H_PAGE, PROT_READ, H_ANON | MAP_FIXED_NOREPLACE, -1, 0),
		 -EEXIST);
	/* Nothing changed: the data is there, and still writable. */
	h_expect(t, a, 4 * H_PAGE, 0x77);
	CHECK_EQ(h_poke(t, a, 0x78), 0);
	CHECK(all_unmapped(t, BASE, 4 * H_PAGE));
	CHECK(all_unmapped(t, BASE + 8 * H_PAGE, 4 * H_PAGE));
	/* Right next to it is free. */
	CHECK_EQ(mml_mmap(t, BASE, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED_NOREPLACE, -1, 0),
		 (long)BASE);
	CHECK_EQ(mml_mmap(t, a + 4 * H_PAGE, H_PAGE, H_RW, H_ANON | MAP_FIXED_NOREPLACE, -1, 0),
		 (long)(a + 4 * H_PAGE));
	H_END(m);
}

TEST(mmap_fixed_replaces_existing_mapping)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);

	uint64_t a = h_map(t, BASE, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(t, a, 4 * H_PAGE, 0xaa);
	long anon_before = mml_meminfo(m, "AnonPages");

	/* Replace the middle two pages with a fresh read-only mapping. */
	CHECK_EQ(mml_mmap(t, a + H_PAGE, 2 * H_PAGE, PROT_READ, H_ANON | MAP_FIXED, -1, 0),
		 (long)(a + H_PAGE));
	h_expect(t, a, H_PAGE, 0xaa);
	h_expect(t, a + H_PAGE, 2 * H_PAGE, 0);		/* old data gone */
	h_expect(t, a + 3 * H_PAGE, H_PAGE, 0xaa);
	CHECK_EQ(h_poke(t, a + H_PAGE, 1), -EFAULT);	/* the new prot applies */
	CHECK_EQ(h_poke(t, a, 1), 0);
	CHECK_EQ(count_vmas_in(t, a, a + 4 * H_PAGE), 3);
	/* The two replaced pages were freed. */
	CHECK_EQ(mml_meminfo(m, "AnonPages"), anon_before - 2 * 4);

	/* Replace all of it, and a bit more, writable again. */
	CHECK_EQ(mml_mmap(t, a, 5 * H_PAGE, H_RW, H_ANON | MAP_FIXED, -1, 0), (long)a);
	h_expect(t, a, 5 * H_PAGE, 0);
	CHECK_EQ(count_vmas_in(t, a, a + 5 * H_PAGE), 1);
	H_END(m);
}

TEST(mmap_hint_honoured_when_free)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);

	const uint64_t hint = 0x200000000ULL;

	CHECK_EQ(mml_mmap(t, hint, 2 * H_PAGE, H_RW, H_ANON, -1, 0), (long)hint);
	h_fill(t, hint, 2 * H_PAGE, 0x42);

	/* The same hint again: taken, so another address (no overlap, old data kept). */
	long b = mml_mmap(t, hint, 2 * H_PAGE, H_RW, H_ANON, -1, 0);
	CHECK(b > 0);
	CHECK_NE(b, (long)hint);
	CHECK((uint64_t)b + 2 * H_PAGE <= hint || (uint64_t)b >= hint + 2 * H_PAGE);
	h_expect(t, hint, 2 * H_PAGE, 0x42);
	if (b > 0)
		h_expect(t, b, 2 * H_PAGE, 0);

	/* A hint overlapping the end of a mapping is not taken either. */
	long c = mml_mmap(t, hint + H_PAGE, 2 * H_PAGE, H_RW, H_ANON, -1, 0);
	CHECK(c > 0);
	CHECK((uint64_t)c + 2 * H_PAGE <= hint || (uint64_t)c >= hint + 2 * H_PAGE);
	h_expect(t, hint, 2 * H_PAGE, 0x42);

	/* A hint that is not page aligned is rounded down (round_hint_to_min). */
	CHECK_EQ(mml_mmap(t, 0x300000123ULL, H_PAGE, H_RW, H_ANON, -1, 0), 0x300000000L);

	/* A hint below mmap_min_addr is raised to mmap_min_addr (round_hint_to_min). */
	CHECK_EQ(mml_mmap(t, 0x1000, H_PAGE, H_RW, H_ANON, -1, 0), (long)H_MMAP_MIN_ADDR);

	/* A hint whose range would cross TASK_SIZE is ignored, not an error. */
	long d = mml_mmap(t, H_TASK_SIZE - H_PAGE, 2 * H_PAGE, H_RW, H_ANON, -1, 0);
	CHECK(d > 0);
	CHECK((uint64_t)d + 2 * H_PAGE <= H_TASK_SIZE);
	H_END(m);
}

TEST(mmap_len_rounded_up_to_page)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);

	CHECK_EQ(mml_mmap(t, BASE, 1, H_RW, H_ANON | MAP_FIXED, -1, 0), (long)BASE);
	CHECK_EQ(h_poke(t, BASE + H_PAGE - 1, 9), 0);	/* the whole page is mapped */
	CHECK_EQ(h_poke(t, BASE + H_PAGE, 9), -EFAULT);	/* and only that page */

	CHECK_EQ(mml_mmap(t, BASE + 2 * H_PAGE, H_PAGE + 1, H_RW, H_ANON | MAP_FIXED, -1, 0),
		 (long)(BASE + 2 * H_PAGE));
	CHECK_EQ(h_poke(t, BASE + 4 * H_PAGE - 1, 9), 0);
	CHECK_EQ(h_poke(t, BASE + 4 * H_PAGE, 9), -EFAULT);

	/* munmap rounds its length up too. */
	CHECK_EQ(mml_munmap(t, BASE, 1), 0);
	CHECK(all_unmapped(t, BASE, H_PAGE));
	H_END(m);
}

TEST(mmap_huge_len_is_enomem)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);

	/* PAGE_ALIGN(len) overflows to 0 -> -ENOMEM (do_mmap). */
	CHECK_EQ(mml_mmap(t, 0, UINT64_MAX, H_RW, H_ANON, -1, 0), -ENOMEM);
	CHECK_EQ(mml_mmap(t, 0, UINT64_MAX - H_PAGE + 2, H_RW, H_ANON, -1, 0), -ENOMEM);
	/* len > TASK_SIZE -> -ENOMEM (arch_get_unmapped_area*). */
	CHECK_EQ(mml_mmap(t, 0, 1ULL << 47, H_RW, H_ANON, -1, 0), -ENOMEM);
	CHECK_EQ(mml_mmap(t, 0, 1ULL << 60, PROT_NONE, H_ANON | MAP_NORESERVE, -1, 0), -ENOMEM);
	CHECK_EQ(mml_mmap(t, BASE, 1ULL << 47, H_RW, H_ANON | MAP_FIXED, -1, 0), -ENOMEM);
	CHECK_EQ(count_vmas_in(t, 0, H_TASK_SIZE), 0);
	H_END(m);
}

TEST(mmap_fixed_beyond_task_size_is_enomem)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);

	CHECK_EQ(mml_mmap(t, H_TASK_SIZE, H_PAGE, H_RW, H_ANON | MAP_FIXED, -1, 0), -ENOMEM);
	CHECK_EQ(mml_mmap(t, H_TASK_SIZE - H_PAGE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED, -1, 0),
		 -ENOMEM);
	CHECK_EQ(mml_mmap(t, 1ULL << 47, H_PAGE, H_RW, H_ANON | MAP_FIXED, -1, 0), -ENOMEM);
	CHECK_EQ(mml_mmap(t, 0xffff800000000000ULL, H_PAGE, H_RW, H_ANON | MAP_FIXED, -1, 0),
		 -ENOMEM);
	CHECK_EQ(mml_mmap(t, H_TASK_SIZE, H_PAGE, H_RW, H_ANON | MAP_FIXED_NOREPLACE, -1, 0),
		 -ENOMEM);
	/* The last page below TASK_SIZE is a user page like any other. */
	CHECK_EQ(mml_mmap(t, H_TASK_SIZE - H_PAGE, H_PAGE, H_RW, H_ANON | MAP_FIXED, -1, 0),
		 (long)(H_TASK_SIZE - H_PAGE));
	h_fill(t, H_TASK_SIZE - H_PAGE, H_PAGE, 0x3c);
	h_expect(t, H_TASK_SIZE - H_PAGE, H_PAGE, 0x3c);
	/* An access running past TASK_SIZE faults, and writes nothing. */
	uint8_t buf[16];

	memset(buf, 0xee, sizeof(buf));
	CHECK_EQ(mml_write(t, H_TASK_SIZE - 8, buf, sizeof(buf)), -EFAULT);
	h_expect(t, H_TASK_SIZE - H_PAGE, H_PAGE, 0x3c);
	H_END(m);
}

TEST(mmap_fixed_below_mmap_min_addr_is_eperm)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);

	CHECK_EQ(mml_mmap(t, 0, H_PAGE, H_RW, H_ANON | MAP_FIXED, -1, 0), -EPERM);
	CHECK_EQ(mml_mmap(t, 0x1000, H_PAGE, H_RW, H_ANON | MAP_FIXED, -1, 0), -EPERM);
	CHECK_EQ(mml_mmap(t, H_MMAP_MIN_ADDR - H_PAGE, H_PAGE, H_RW, H_ANON | MAP_FIXED, -1, 0),
		 -EPERM);
	CHECK_EQ(mml_mmap(t, 0x1000, H_PAGE, H_RW, H_ANON | MAP_FIXED_NOREPLACE, -1, 0), -EPERM);
	/* Starting below and reaching above: the start is what is checked. */
	CHECK_EQ(mml_mmap(t, H_MMAP_MIN_ADDR - H_PAGE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED, -1, 0),
		 -EPERM);
	CHECK(all_unmapped(t, 0, H_MMAP_MIN_ADDR + H_PAGE));
	/* mmap_min_addr itself is allowed. */
	CHECK_EQ(mml_mmap(t, H_MMAP_MIN_ADDR, H_PAGE, H_RW, H_ANON | MAP_FIXED, -1, 0),
		 (long)H_MMAP_MIN_ADDR);
	CHECK_EQ(h_poke(t, H_MMAP_MIN_ADDR, 1), 0);
	/* The knob moves the limit, as root's write to vm.mmap_min_addr does; a hint below is moved up. */
	CHECK_EQ(mml_sys_write(m, "/proc/sys/vm/mmap_min_addr", "4096"), 0);
	CHECK_EQ(mml_mmap(t, 0x1000, H_PAGE, H_RW, H_ANON | MAP_FIXED, -1, 0), 0x1000);
	CHECK_EQ(mml_mmap(t, 0, H_PAGE, H_RW, H_ANON | MAP_FIXED, -1, 0), -EPERM);
	CHECK_EQ(mml_sys_write(m, "/proc/sys/vm/mmap_min_addr", "0x20000"), -EINVAL);
	CHECK_EQ(mml_sys_write(m, "/proc/sys/vm/mmap_min_addr", "131072"), 0);
	CHECK_EQ(mml_mmap(t, 0x2000, H_PAGE, H_RW, H_ANON, -1, 0), 0x20000);
	H_END(m);
}

TEST(mmap_file_with_bad_fd_is_ebadf)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);

	CHECK_EQ(mml_mmap(t, 0, H_PAGE, H_RW, MAP_PRIVATE, -1, 0), -EBADF);
	CHECK_EQ(mml_mmap(t, 0, H_PAGE, H_RW, MAP_SHARED, -1, 0), -EBADF);
	CHECK_EQ(mml_mmap(t, BASE, H_PAGE, H_RW, MAP_PRIVATE | MAP_FIXED, -1, 0), -EBADF);
	/* fget() comes before do_mmap(): EBADF wins over len == 0 ... */
	CHECK_EQ(mml_mmap(t, 0, 0, H_RW, MAP_PRIVATE, -1, 0), -EBADF);
	/* ... but the x86 syscall checks the offset first: EINVAL wins over EBADF. */
	CHECK_EQ(mml_mmap(t, 0, H_PAGE, H_RW, MAP_PRIVATE, -1, 1), -EINVAL);
	CHECK_EQ(count_vmas_in(t, 0, H_TASK_SIZE), 0);
	H_END(m);
}

TEST(mmap_anonymous_offset_rules)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);

	/* An unaligned offset is EINVAL even for MAP_ANONYMOUS (sys_x86_64.c). */
	CHECK_EQ(mml_mmap(t, 0, H_PAGE, H_RW, H_ANON, -1, 1), -EINVAL);
	CHECK_EQ(mml_mmap(t, 0, H_PAGE, H_RW, H_ANON, -1, (int64_t)H_PAGE - 1), -EINVAL);
	CHECK_EQ(mml_mmap(t, BASE, H_PAGE, H_RW, H_ANON | MAP_FIXED, -1, 0x800), -EINVAL);
	CHECK(all_unmapped(t, BASE, H_PAGE));
	/* An aligned one is ignored for private anonymous memory (pgoff = addr >> PAGE_SHIFT). */
	long a = mml_mmap(t, 0, H_PAGE, H_RW, H_ANON, -1, (int64_t)(16 * H_PAGE));
	CHECK(a > 0);
	if (a > 0) {
		h_expect(t, a, H_PAGE, 0);
		h_fill(t, a, H_PAGE, 0x21);
		h_expect(t, a, H_PAGE, 0x21);
	}
	/* The fd is ignored with MAP_ANONYMOUS. */
	long b = mml_mmap(t, 0, H_PAGE, H_RW, H_ANON, 1234, 0);
	CHECK(b > 0);
	H_END(m);
}

TEST(mmap_prot_is_enforced)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	uint8_t v = 0xff;

	uint64_t r = h_map(t, BASE, H_PAGE, PROT_READ, H_ANON | MAP_FIXED);
	uint64_t n = h_map(t, BASE + 2 * H_PAGE, H_PAGE, PROT_NONE, H_ANON | MAP_FIXED);
	REQUIRE(r && n);
	CHECK_EQ(h_peek(t, r, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(h_poke(t, r, 1), -EFAULT);
	CHECK_EQ(h_peek(t, n, &v), -EFAULT);
	CHECK_EQ(h_poke(t, n, 1), -EFAULT);
	H_END(m);
}

TEST(munmap_errors_and_no_op)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);

	uint64_t a = h_map(t, BASE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(t, a, 2 * H_PAGE, 0x66);

	CHECK_EQ(mml_munmap(t, a + 1, H_PAGE), -EINVAL);		/* unaligned */
	CHECK_EQ(mml_munmap(t, a + H_PAGE / 2, H_PAGE), -EINVAL);
	CHECK_EQ(mml_munmap(t, a, 0), -EINVAL);			/* len 0 */
	CHECK_EQ(mml_munmap(t, 0x7ffffffff000ULL, H_PAGE), -EINVAL);	/* len > TASK_SIZE - start */
	CHECK_EQ(mml_munmap(t, 1ULL << 47, H_PAGE), -EINVAL);		/* start > TASK_SIZE */
	CHECK_EQ(mml_munmap(t, a, UINT64_MAX), -EINVAL);
	h_expect(t, a, 2 * H_PAGE, 0x66);				/* nothing happened */

	/* Nothing mapped there: success. */
	CHECK_EQ(mml_munmap(t, BASE + 100 * H_PAGE, 10 * H_PAGE), 0);
	CHECK_EQ(mml_munmap(t, H_MMAP_MIN_ADDR, H_PAGE), 0);
	CHECK_EQ(mml_munmap(t, 0, H_PAGE), 0);		/* below mmap_min_addr is fine too */
	h_expect(t, a, 2 * H_PAGE, 0x66);
	H_END(m);
}

TEST(munmap_splits_a_vma)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);

	uint64_t a = h_map(t, BASE, 5 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	for (int i = 0; i < 5; i++)
		h_fill(t, a + i * H_PAGE, H_PAGE, 0x10 + i);
	long anon = mml_meminfo(m, "AnonPages");

	CHECK_EQ(mml_munmap(t, a + 2 * H_PAGE, H_PAGE), 0);
	CHECK_EQ(count_vmas_in(t, a, a + 5 * H_PAGE), 2);
	h_expect(t, a, H_PAGE, 0x10);
	h_expect(t, a + H_PAGE, H_PAGE, 0x11);
	CHECK(all_unmapped(t, a + 2 * H_PAGE, H_PAGE));
	h_expect(t, a + 3 * H_PAGE, H_PAGE, 0x13);
	h_expect(t, a + 4 * H_PAGE, H_PAGE, 0x14);
	CHECK_EQ(mml_meminfo(m, "AnonPages"), anon - 4);

	/* The hole is free for MAP_FIXED_NOREPLACE, and fresh. */
	CHECK_EQ(mml_mmap(t, a + 2 * H_PAGE, H_PAGE, H_RW, H_ANON | MAP_FIXED_NOREPLACE, -1, 0),
		 (long)(a + 2 * H_PAGE));
	h_expect(t, a + 2 * H_PAGE, H_PAGE, 0);

	/* Unmap the head and tail of the two outer pieces. */
	CHECK_EQ(mml_munmap(t, a, H_PAGE), 0);
	CHECK_EQ(mml_munmap(t, a + 4 * H_PAGE, H_PAGE), 0);
	CHECK(all_unmapped(t, a, H_PAGE));
	CHECK(all_unmapped(t, a + 4 * H_PAGE, H_PAGE));
	h_expect(t, a + H_PAGE, H_PAGE, 0x11);
	h_expect(t, a + 3 * H_PAGE, H_PAGE, 0x13);

	/* One munmap across several VMAs and holes removes all of them. */
	uint64_t b = h_map(t, a + 10 * H_PAGE, H_PAGE, PROT_READ, H_ANON | MAP_FIXED);
	REQUIRE(b);
	CHECK_EQ(mml_munmap(t, a - 4 * H_PAGE, 20 * H_PAGE), 0);
	CHECK(all_unmapped(t, a - 4 * H_PAGE, 20 * H_PAGE));
	CHECK_EQ(count_vmas_in(t, 0, H_TASK_SIZE), 0);
	CHECK_EQ(mml_meminfo(m, "AnonPages"), 0);
	H_END(m);
}

TEST(munmap_then_access_faults)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);

	long free0 = mml_meminfo(m, "MemFree");
	uint64_t a = h_map(t, 0, 8 * H_PAGE, H_RW, H_ANON);
	REQUIRE(a);
	h_fill(t, a, 8 * H_PAGE, 0x99);
	CHECK_EQ(mml_munmap(t, a, 8 * H_PAGE), 0);
	CHECK(all_unmapped(t, a, 8 * H_PAGE));
	uint8_t buf[8];

	CHECK_EQ(mml_read(t, a, buf, sizeof(buf)), -EFAULT);
	CHECK_EQ(mml_write(t, a, buf, sizeof(buf)), -EFAULT);
	/* Data pages and page tables are all given back (free_pgtables). */
	CHECK_EQ(mml_meminfo(m, "MemFree"), free0);
	H_END(m);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}

/*
 * munmap gathers every folio of the range before one TLB flush, as
 * Linux's mmu_gather chains batches up to about 10,000 folios (a gather
 * of 64 flushed 47 times here), and frees them all after it.
 */
TEST(munmap_flushes_once_per_gather)
{
	struct mml_machine *m = h_machine(32 << 20);
	struct mml_task *t = h_spawn(m);
	const uint64_t n = 3000;
	long a, free0, all0, one0;

	REQUIRE(t);
	free0 = mml_vmstat(m, "nr_free_pages");
	a = mml_mmap(t, 0, n * H_PAGE, H_RW, H_ANON, -1, 0);
	REQUIRE(a > 0);
	for (uint64_t i = 0; i < n; i++)
		h_fill(t, a + i * H_PAGE, 1, 0x5a);
	all0 = mml_vmstat(m, "nr_tlb_local_flush_all");
	one0 = mml_vmstat(m, "nr_tlb_local_flush_one");
	CHECK_EQ(mml_munmap(t, a, n * H_PAGE), 0);
	CHECK_EQ(mml_vmstat(m, "nr_tlb_local_flush_all") - all0, 1);
	CHECK_EQ(mml_vmstat(m, "nr_tlb_local_flush_one") - one0, 0);
	CHECK_EQ(mml_vmstat(m, "nr_free_pages"), free0);
	H_END(m);
}
