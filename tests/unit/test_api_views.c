/*
 * test_api_views.c - the views in Linux's formats: /proc/PID/pagemap bits,
 * /proc/vmstat and /proc/meminfo counters, /proc/PID/smaps and maps.
 *
 * Linux sources read:
 *  - fs/proc/task_mmu.c pte_to_pagemap_entry(): present PTE -> PM_PRESENT
 *    and the pfn; page = vm_normal_page(), which is NULL for the shared
 *    zero page, so the zero page is neither PM_FILE nor
 *    PM_MMAP_EXCLUSIVE; PM_MMAP_EXCLUSIVE when the page is mapped once
 *    (folio_precise_page_mapcount() == 1 / !folio_maybe_mapped_shared()).
 *    pagemap_pte_hole(): an address without a VMA reads as 0.  (Inside a
 *    VMA a hole may carry PM_SOFT_DIRTY from VM_SOFTDIRTY, so we only test
 *    "not present" there.)
 *  - show_smap()/__show_smap(): the header of show_map_vma()
 *    ("%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu ", offset, dev and inode
 *    0 for anonymous memory), then "Size:", "KernelPageSize:",
 *    "MMUPageSize:", "Rss:", "Pss:", ..., "Anonymous:", ..., "VmFlags:";
 *    each "Name:" padded to 16 columns, the value in kB right-aligned in 8,
 *    then " kB".  smaps_pte_entry() counts only vm_normal_page()s: the zero
 *    page is not in Rss.  Pss divides a page by its mapcount.
 *  - fs/proc/meminfo.c: MemTotal = totalram, MemFree = NR_FREE_PAGES,
 *    AnonPages = NR_ANON_MAPPED, all in kB ("%-16s%8lu kB" style).
 *  - mm/vmstat.c: "pgfault" counts faults (count_vm_event(PGFAULT) in
 *    handle_mm_fault), "nr_free_pages" and "nr_anon_pages" are the same
 *    counters as MemFree and AnonPages, in pages.
 *  - mm/memory.c: mprotect(R) then mprotect(RW) of an exclusive anon page
 *    and a write reuse the page (wp_can_reuse_anon_folio); COW copies.
 */
#define _GNU_SOURCE
#include "../harness.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define RAM	(16ULL << 20)
#define BASE	0x100000000ULL

TEST(pagemap_present_and_exclusive)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	uint64_t a = h_map(t, BASE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);

	uint64_t e = h_pagemap(t, a);
	CHECK(!(e & MML_PM_PRESENT));
	CHECK(!(e & MML_PM_SWAP));
	CHECK_EQ(H_PFN(e), 0);

	h_fill(t, a, H_PAGE, 0x01);
	e = h_pagemap(t, a);
	CHECK(e & MML_PM_PRESENT);
	CHECK(e & MML_PM_MMAP_EXCLUSIVE);
	CHECK(!(e & MML_PM_FILE));
	CHECK(!(e & MML_PM_SWAP));
	CHECK_NE(H_PFN(e), 0);
	/* Any address within the page gives the same entry. */
	CHECK_EQ(h_pagemap(t, a + 1234), e);

	/* No VMA at all: the entry is 0. */
	uint64_t z = 0xdead;
	CHECK_EQ(mml_pagemap(t, BASE + 100 * H_PAGE, &z), 0);
	CHECK_EQ(z, 0);
	H_END(m);
}

TEST(pagemap_zero_page_shared_not_exclusive)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	uint64_t a = h_map(t, BASE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	uint64_t b = h_map(t, BASE + 0x40000000ULL, H_PAGE, PROT_READ, H_ANON | MAP_FIXED);
	REQUIRE(a && b);

	h_expect(t, a, 2 * H_PAGE, 0);
	h_expect(t, b, H_PAGE, 0);
	uint64_t e1 = h_pagemap(t, a), e2 = h_pagemap(t, a + H_PAGE), e3 = h_pagemap(t, b);

	CHECK(e1 & MML_PM_PRESENT);
	CHECK(e2 & MML_PM_PRESENT);
	CHECK(e3 & MML_PM_PRESENT);
	CHECK_EQ(H_PFN(e1), H_PFN(e2));		/* one zero page for all */
	CHECK_EQ(H_PFN(e1), H_PFN(e3));
	CHECK(!(e1 & MML_PM_MMAP_EXCLUSIVE));
	CHECK(!(e3 & MML_PM_MMAP_EXCLUSIVE));
	CHECK(!(e1 & MML_PM_FILE));

	/* Writing replaces the zero page with a private page. */
	h_fill(t, a, 8, 0x42);
	uint64_t w = h_pagemap(t, a);
	CHECK(w & MML_PM_PRESENT);
	CHECK(w & MML_PM_MMAP_EXCLUSIVE);
	CHECK_NE(H_PFN(w), H_PFN(e1));
	CHECK_EQ(H_PFN(h_pagemap(t, a + H_PAGE)), H_PFN(e2));	/* the other is still the zero page */
	H_END(m);
}

TEST(pagemap_mprotect_round_trip_keeps_frame)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	uint64_t a = h_map(t, BASE, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(t, a, H_PAGE, 0x10);
	uint64_t e0 = h_pagemap(t, a);

	CHECK_EQ(mml_mprotect(t, a, H_PAGE, PROT_READ), 0);
	uint64_t e1 = h_pagemap(t, a);
	CHECK(e1 & MML_PM_PRESENT);
	CHECK_EQ(H_PFN(e1), H_PFN(e0));
	CHECK_EQ(mml_mprotect(t, a, H_PAGE, H_RW), 0);
	h_fill(t, a, H_PAGE, 0x11);
	uint64_t e2 = h_pagemap(t, a);
	CHECK_EQ(H_PFN(e2), H_PFN(e0));		/* no copy */
	CHECK(e2 & MML_PM_MMAP_EXCLUSIVE);
	h_expect(t, a, H_PAGE, 0x11);
	H_END(m);
}

TEST(pagemap_cow_gives_different_frames)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *p = h_spawn(m);
	REQUIRE(p);
	uint64_t a = h_map(p, BASE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(p, a, 2 * H_PAGE, 0x20);
	uint64_t pe = h_pagemap(p, a);
	struct mml_task *c = h_fork(p);
	REQUIRE(c);

	/* Shared after fork: same frame, exclusive in neither. */
	uint64_t pe1 = h_pagemap(p, a), ce1 = h_pagemap(c, a);
	CHECK(pe1 & MML_PM_PRESENT);
	CHECK(ce1 & MML_PM_PRESENT);
	CHECK_EQ(H_PFN(pe1), H_PFN(pe));
	CHECK_EQ(H_PFN(ce1), H_PFN(pe));
	CHECK(!(pe1 & MML_PM_MMAP_EXCLUSIVE));
	CHECK(!(ce1 & MML_PM_MMAP_EXCLUSIVE));

	/* The child writes: it gets a new frame; both are exclusive again. */
	h_fill(c, a, H_PAGE, 0x21);
	uint64_t pe2 = h_pagemap(p, a), ce2 = h_pagemap(c, a);
	CHECK_NE(H_PFN(ce2), H_PFN(pe2));
	CHECK_EQ(H_PFN(pe2), H_PFN(pe));
	CHECK(ce2 & MML_PM_MMAP_EXCLUSIVE);
	CHECK(pe2 & MML_PM_MMAP_EXCLUSIVE);
	/* The page nobody wrote is still shared. */
	CHECK_EQ(H_PFN(h_pagemap(p, a + H_PAGE)), H_PFN(h_pagemap(c, a + H_PAGE)));

	/* The child exits: the parent's write to the formerly shared second
	 * page reuses it (it is mapped once now), no copy. */
	uint64_t second = H_PFN(h_pagemap(p, a + H_PAGE));

	CHECK_EQ(mml_exit(c), 0);
	h_fill(p, a + H_PAGE, H_PAGE, 0x22);
	CHECK_EQ(H_PFN(h_pagemap(p, a + H_PAGE)), second);
	CHECK(h_pagemap(p, a + H_PAGE) & MML_PM_MMAP_EXCLUSIVE);
	H_END(m);
}

TEST(vmstat_counters)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);

	CHECK_EQ(mml_vmstat(m, "no_such_counter"), -ENOENT);
	CHECK_EQ(mml_vmstat(m, ""), -ENOENT);
	CHECK_EQ(mml_vmstat(m, "MemFree"), -ENOENT);	/* a meminfo name, not a vmstat one */
	CHECK_EQ(mml_meminfo(m, "no_such_field"), -ENOENT);
	CHECK_EQ(mml_meminfo(m, "pgfault"), -ENOENT);

	long f0 = mml_vmstat(m, "pgfault");
	CHECK(f0 >= 0);
	uint64_t a = h_map(t, 0, 8 * H_PAGE, H_RW, H_ANON);
	REQUIRE(a);
	long f1 = mml_vmstat(m, "pgfault");
	CHECK_EQ(f1, f0);			/* mmap itself faults nothing in */
	h_fill(t, a, 8 * H_PAGE, 0x30);
	long f2 = mml_vmstat(m, "pgfault");
	CHECKF(f2 >= f1 + 8, "pgfault went from %ld to %ld over 8 first-touch writes", f1, f2);
	h_expect(t, a, 8 * H_PAGE, 0x30);	/* no new faults needed (TLB or PTE hit) */
	long f3 = mml_vmstat(m, "pgfault");
	CHECK(f3 >= f2);

	/* The same counters under their vmstat and meminfo names. */
	CHECK_EQ(mml_vmstat(m, "nr_free_pages") * 4, mml_meminfo(m, "MemFree"));
	CHECK_EQ(mml_vmstat(m, "nr_anon_pages") * 4, mml_meminfo(m, "AnonPages"));
	CHECK_EQ(mml_vmstat(m, "nr_anon_pages"), 8);
	H_END(m);
}

TEST(meminfo_memtotal_memfree_anonpages)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);

	CHECK_EQ(mml_meminfo(m, "MemTotal"), (long)(RAM / 1024));
	long free0 = mml_meminfo(m, "MemFree");
	long anon0 = mml_meminfo(m, "AnonPages");
	CHECK(free0 > 0 && free0 <= (long)(RAM / 1024));
	CHECK_EQ(anon0, 0);

	uint64_t a = h_map(t, 0, 32 * H_PAGE, H_RW, H_ANON);
	REQUIRE(a);
	h_expect(t, a, 32 * H_PAGE, 0);			/* zero page only */
	CHECK_EQ(mml_meminfo(m, "AnonPages"), anon0);
	h_fill(t, a, 32 * H_PAGE, 0x40);
	CHECK_EQ(mml_meminfo(m, "AnonPages"), anon0 + 32 * 4);
	long free1 = mml_meminfo(m, "MemFree");
	CHECKF(free1 <= free0 - 32 * 4, "MemFree %ld -> %ld after faulting 32 pages", free0, free1);
	CHECK_EQ(mml_meminfo(m, "MemTotal"), (long)(RAM / 1024));

	/* fork shares pages: AnonPages counts pages, not mappings. */
	struct mml_task *c = h_fork(t);
	REQUIRE(c);
	CHECK_EQ(mml_meminfo(m, "AnonPages"), anon0 + 32 * 4);
	h_fill(c, a, 2 * H_PAGE, 0x41);			/* two COW copies */
	CHECK_EQ(mml_meminfo(m, "AnonPages"), anon0 + 34 * 4);
	CHECK_EQ(mml_exit(c), 0);
	CHECK_EQ(mml_meminfo(m, "AnonPages"), anon0 + 32 * 4);

	CHECK_EQ(mml_munmap(t, a, 32 * H_PAGE), 0);
	CHECK_EQ(mml_meminfo(m, "AnonPages"), anon0);
	CHECK_EQ(mml_meminfo(m, "MemFree"), free0);
	H_END(m);
}

TEST(meminfo_default_ram)
{
	struct mml_machine *m = h_machine(0);
	REQUIRE(m);
	CHECK_EQ(mml_meminfo(m, "MemTotal"), 64L * 1024);
	H_END(m);
}

/* The value of "Name:" in an smaps block, with Linux's exact layout
 * ("%-16s%8lu kB"); -1 if absent or malformed. */
static long smaps_field(const char *block, const char *name)
{
	size_t n = strlen(name);

	for (const char *l = block; l && *l; ) {
		const char *eol = strchr(l, '\n');
		size_t len = eol ? (size_t)(eol - l) : strlen(l);

		if (len > n && strncmp(l, name, n) == 0 && l[n] == ':') {
			char line[256];

			if (len >= sizeof(line))
				return -1;
			memcpy(line, l, len);
			line[len] = 0;
			/* 16 columns for the name and padding, 8 for the value. */
			if (len != 16 + 8 + 3 || strcmp(line + 24, " kB") != 0)
				return -2;
			for (size_t i = n + 1; i < 16; i++)
				if (line[i] != ' ')
					return -2;
			char *end;
			long v = strtol(line + 16, &end, 10);

			if (end != line + 24)
				return -2;
			return v;
		}
		l = eol ? eol + 1 : NULL;
	}
	return -1;
}

/* "start-end perms ..." rather than "Name: value". */
static bool is_header_line(const char *l)
{
	unsigned long long s, e;
	char p[8];
	int n = 0;

	if (!isxdigit((unsigned char)l[0]))
		return false;
	return sscanf(l, "%llx-%llx %7s%n", &s, &e, p, &n) == 3 && n > 0 && strlen(p) == 4;
}

/* The smaps block of the VMA starting at start (header line included), as
 * a malloc'd string, or NULL. */
static char *smaps_block(const char *smaps, uint64_t start)
{
	char hdr[32];
	const char *p = smaps;

	snprintf(hdr, sizeof(hdr), "%08llx-", (unsigned long long)start);
	while (p && *p) {
		if (strncmp(p, hdr, strlen(hdr)) == 0) {
			const char *q = strchr(p, '\n');

			/* The block ends at the next header line. */
			while (q && q[1] && !is_header_line(q + 1))
				q = strchr(q + 1, '\n');
			size_t len = q ? (size_t)(q - p + 1) : strlen(p);

			return strndup(p, len);
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

static void check_header(const char *block, uint64_t start, uint64_t end, const char *perms)
{
	unsigned long long s = 0, e = 0, off = 99, ino = 99;
	unsigned maj = 99, min = 99;
	char p[8] = "";
	int n = sscanf(block, "%llx-%llx %7s %llx %x:%x %llu", &s, &e, p, &off, &maj, &min, &ino);

	CHECK_EQ(n, 7);
	CHECK_EQ(s, start);
	CHECK_EQ(e, end);
	CHECKF(strcmp(p, perms) == 0, "perms: expected %s, got %s", perms, p);
	CHECK_EQ(off, 0);
	CHECK_EQ(maj, 0);
	CHECK_EQ(min, 0);
	CHECK_EQ(ino, 0);
	/* Field widths: lower-case hex, at least 8 digits, offset 8 digits, dev 2:2. */
	char want[96];

	snprintf(want, sizeof(want), "%08llx-%08llx %s 00000000 00:00 0", s, e, perms);
	CHECKF(strncmp(block, want, strlen(want)) == 0, "header: expected \"%s\", got \"%.*s\"",
	       want, (int)strcspn(block, "\n"), block);
}

TEST(smaps_layout_and_values)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	uint64_t a = h_map(t, BASE, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	uint64_t r = h_map(t, BASE + 8 * H_PAGE, 2 * H_PAGE, PROT_READ, H_ANON | MAP_FIXED);
	REQUIRE(a && r);
	h_fill(t, a, 2 * H_PAGE, 0x50);		/* 2 private dirty pages */
	h_expect(t, a + 2 * H_PAGE, H_PAGE, 0);	/* 1 zero page: not in Rss */
	h_expect(t, r, H_PAGE, 0);

	char *s = h_show_smaps(t);
	REQUIRE(s);
	char *blk = smaps_block(s, a);

	CHECKF(blk != NULL, "no smaps block for 0x%llx in:\n%s", (unsigned long long)a, s);
	if (blk) {
		check_header(blk, a, a + 4 * H_PAGE, "rw-p");
		/* Linux's fields, in Linux's order. */
		static const char *const order[] = {
			"Size", "KernelPageSize", "MMUPageSize", "Rss", "Pss",
			"Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty",
			"Referenced", "Anonymous", "LazyFree", "AnonHugePages",
			"ShmemPmdMapped", "Shared_Hugetlb", "Private_Hugetlb",
			"Swap", "SwapPss", "Locked", "VmFlags",
		};
		const char *prev = blk;

		for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
			char key[40];

			snprintf(key, sizeof(key), "\n%s:", order[i]);
			const char *at = strstr(blk, key);

			CHECKF(at != NULL, "smaps has no \"%s:\" line", order[i]);
			if (at) {
				CHECKF(at > prev, "smaps \"%s:\" is out of Linux's order", order[i]);
				prev = at;
			}
		}
		CHECK_EQ(smaps_field(blk, "Size"), 16);
		CHECK_EQ(smaps_field(blk, "KernelPageSize"), 4);
		CHECK_EQ(smaps_field(blk, "MMUPageSize"), 4);
		CHECK_EQ(smaps_field(blk, "Rss"), 8);
		CHECK_EQ(smaps_field(blk, "Pss"), 8);
		CHECK_EQ(smaps_field(blk, "Shared_Clean"), 0);
		CHECK_EQ(smaps_field(blk, "Shared_Dirty"), 0);
		CHECK_EQ(smaps_field(blk, "Private_Clean"), 0);
		CHECK_EQ(smaps_field(blk, "Private_Dirty"), 8);
		CHECK_EQ(smaps_field(blk, "Anonymous"), 8);
		CHECK_EQ(smaps_field(blk, "Swap"), 0);
		CHECK_EQ(smaps_field(blk, "Locked"), 0);
		free(blk);
	}
	blk = smaps_block(s, r);
	CHECKF(blk != NULL, "no smaps block for 0x%llx", (unsigned long long)r);
	if (blk) {
		check_header(blk, r, r + 2 * H_PAGE, "r--p");
		CHECK_EQ(smaps_field(blk, "Size"), 8);
		CHECK_EQ(smaps_field(blk, "Rss"), 0);
		CHECK_EQ(smaps_field(blk, "Anonymous"), 0);
		free(blk);
	}
	free(s);

	/* After fork both pages are shared by two processes. */
	struct mml_task *c = h_fork(t);
	REQUIRE(c);
	s = h_show_smaps(t);
	REQUIRE(s);
	blk = smaps_block(s, a);
	CHECK(blk != NULL);
	if (blk) {
		CHECK_EQ(smaps_field(blk, "Rss"), 8);
		CHECK_EQ(smaps_field(blk, "Pss"), 4);
		CHECK_EQ(smaps_field(blk, "Shared_Dirty"), 8);
		CHECK_EQ(smaps_field(blk, "Private_Dirty"), 0);
		CHECK_EQ(smaps_field(blk, "Anonymous"), 8);
		free(blk);
	}
	free(s);
	h_fill(c, a, H_PAGE, 0x51);
	s = h_show_smaps(c);
	REQUIRE(s);
	blk = smaps_block(s, a);
	CHECK(blk != NULL);
	if (blk) {
		CHECK_EQ(smaps_field(blk, "Rss"), 8);
		CHECK_EQ(smaps_field(blk, "Pss"), 6);
		CHECK_EQ(smaps_field(blk, "Shared_Dirty"), 4);
		CHECK_EQ(smaps_field(blk, "Private_Dirty"), 4);
		free(blk);
	}
	free(s);
	CHECK_EQ(mml_exit(c), 0);
	H_END(m);
}

TEST(maps_layout)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	REQUIRE(h_map(t, BASE, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED));
	REQUIRE(h_map(t, BASE + 8 * H_PAGE, H_PAGE, PROT_NONE, H_ANON | MAP_FIXED));
	REQUIRE(h_map(t, BASE + 16 * H_PAGE, H_PAGE, PROT_READ | PROT_EXEC, H_ANON | MAP_FIXED));
	char *s = h_show_maps(t);
	REQUIRE(s);

	CHECK_EQ(h_count_lines(s), 3);
	/* Sorted by address, one line per VMA. */
	const char *l1 = s, *l2 = strchr(l1, '\n'), *l3 = l2 ? strchr(l2 + 1, '\n') : NULL;

	REQUIRE(l2 && l3);
	check_header(l1, BASE, BASE + 4 * H_PAGE, "rw-p");
	check_header(l2 + 1, BASE + 8 * H_PAGE, BASE + 9 * H_PAGE, "---p");
	check_header(l3 + 1, BASE + 16 * H_PAGE, BASE + 17 * H_PAGE, "r-xp");
	free(s);
	H_END(m);
}

TEST(show_meminfo_and_vmstat_formats)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	uint64_t a = h_map(t, 0, 4 * H_PAGE, H_RW, H_ANON);
	REQUIRE(a);
	h_fill(t, a, 4 * H_PAGE, 0x60);

	char *mi = h_show_meminfo(m);
	REQUIRE(mi);
	/* "MemTotal:       16384 kB": name padded to 16, value in 8 columns. */
	char want[64];

	snprintf(want, sizeof(want), "MemTotal:       %8ld kB\n", mml_meminfo(m, "MemTotal"));
	CHECKF(strncmp(mi, want, strlen(want)) == 0, "meminfo starts with \"%.*s\", expected \"%s\"",
	       (int)strcspn(mi, "\n"), mi, want);
	snprintf(want, sizeof(want), "\nMemFree:        %8ld kB\n", mml_meminfo(m, "MemFree"));
	CHECKF(strstr(mi, want) != NULL, "meminfo lacks \"%s\"", want + 1);
	snprintf(want, sizeof(want), "\nAnonPages:      %8ld kB\n", mml_meminfo(m, "AnonPages"));
	CHECKF(strstr(mi, want) != NULL, "meminfo lacks \"%s\"", want + 1);
	free(mi);

	char *vs = h_show_vmstat(m);
	REQUIRE(vs);
	snprintf(want, sizeof(want), "\npgfault %ld\n", mml_vmstat(m, "pgfault"));
	CHECKF(strstr(vs, want) != NULL, "vmstat lacks \"%s\"", want + 1);
	snprintf(want, sizeof(want), "nr_free_pages %ld\n", mml_vmstat(m, "nr_free_pages"));
	CHECKF(strncmp(vs, want, strlen(want)) == 0, "vmstat should start with \"%s\"", want);
	free(vs);
	H_END(m);
}

/*
 * mml_show_pagemap_json: the range's pages, holes included, one object
 * each; ranges that are empty or leave the address space are EINVAL and
 * write nothing.  (tests/json.sh validates the documents against their
 * schemas; this checks the calls' edges.)
 */
TEST(pagemap_json_range_and_errors)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	uint64_t a = h_map(t, BASE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(t, a, H_PAGE, 0x01);

	char *buf = NULL, want[96];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	REQUIRE(f);
	CHECK_EQ(mml_show_pagemap_json(t, a, 0, f), -EINVAL);
	CHECK_EQ(mml_show_pagemap_json(t, 1ULL << 47, H_PAGE, f), -EINVAL);
	CHECK_EQ(mml_show_pagemap_json(t, a, 1ULL << 47, f), -EINVAL);
	fflush(f);
	CHECK_EQ(len, 0);
	/* an unaligned start and length cover the pages they touch: a, a + 1 page, and the hole after */
	CHECK_EQ(mml_show_pagemap_json(t, a + 100, 2 * H_PAGE, f), 0);
	REQUIRE(fclose(f) == 0);
	snprintf(want, sizeof(want), "{\"entries\":[{\"address\":%llu,\"entry\":\"%016llx\",\"present\":true,",
		 (unsigned long long)a, (unsigned long long)h_pagemap(t, a));
	CHECKF(!strncmp(buf, want, strlen(want)), "got %.120s", buf);
	snprintf(want, sizeof(want), "{\"address\":%llu,\"entry\":\"0000000000000000\",\"present\":false,",
		 (unsigned long long)(a + 2 * H_PAGE));
	CHECKF(strstr(buf, want) != NULL, "no hole entry in %s", buf);
	CHECK_EQ(h_count_lines(buf), 1);
	free(buf);
	H_END(m);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
