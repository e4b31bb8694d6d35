/*
 * test_sysfs.c - the tunable files (mml_sys_read, mml_sys_write): every
 * path, Linux 6.18's texts and defaults, its checks, the errors of the
 * lookup; and /proc/kpageflags and /proc/kpagecount of the frames a
 * machine has before THP makes any large folio (the zero page, an anon
 * page, a free frame, a page table).
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>

#include "../harness.h"
#include "mm/internal.h"

#define THP	"/sys/kernel/mm/transparent_hugepage/"
#define KHP	THP "khugepaged/"

/* The file's text, which must be exactly want. */
static bool sys_is_at(const char *file, int line, struct mml_machine *m, const char *path,
		      const char *want)
{
	char buf[256];
	long n = mml_sys_read(m, path, buf, sizeof(buf));

	if (!harness_checkf(file, line, n >= 0, "%s: read returned %ld", path, n))
		return false;
	return harness_checkf(file, line, (size_t)n == strlen(want) && !strcmp(buf, want),
			      "%s: got \"%.*s\", expected \"%s\"", path, (int)n, buf, want);
}
#define SYS_IS(m, path, want)	sys_is_at(__FILE__, __LINE__, (m), (path), (want))

TEST(sysfs_defaults)
{
	struct mml_machine *m = h_machine(0);

	REQUIRE(m);
	SYS_IS(m, THP "enabled", "always [madvise] never\n");
	SYS_IS(m, THP "defrag", "always defer defer+madvise [madvise] never\n");
	SYS_IS(m, THP "use_zero_page", "1\n");
	SYS_IS(m, THP "hpage_pmd_size", "2097152\n");
	SYS_IS(m, THP "hugepages-2048kB/enabled", "always [inherit] madvise never\n");
	static const char *const sizes[] = { "16", "32", "64", "128", "256", "512", "1024" };
	for (int i = 0; i < 7; i++) {
		char path[128];

		snprintf(path, sizeof(path), THP "hugepages-%skB/enabled", sizes[i]);
		SYS_IS(m, path, "always inherit madvise [never]\n");
	}
	SYS_IS(m, KHP "defrag", "1\n");
	SYS_IS(m, KHP "pages_to_scan", "4096\n");
	SYS_IS(m, KHP "max_ptes_none", "511\n");
	SYS_IS(m, KHP "max_ptes_swap", "64\n");
	SYS_IS(m, KHP "max_ptes_shared", "256\n");
	SYS_IS(m, KHP "scan_sleep_millisecs", "10000\n");
	SYS_IS(m, KHP "alloc_sleep_millisecs", "60000\n");
	SYS_IS(m, KHP "full_scans", "0\n");
	SYS_IS(m, KHP "pages_collapsed", "0\n");
	SYS_IS(m, "/proc/sys/vm/max_map_count", "65530\n");
	SYS_IS(m, "/proc/sys/vm/mmap_min_addr", "65536\n");
	SYS_IS(m, "/proc/sys/vm/page-cluster", "3\n");
	CHECK_EQ(mml_sys_write(m, "/proc/sys/vm/page-cluster", "32"), -EINVAL);
	CHECK_EQ(mml_sys_write(m, "/proc/sys/vm/page-cluster", "-1"), -EINVAL);
	CHECK_EQ(mml_sys_write(m, "/proc/sys/vm/page-cluster", "0"), 0);
	SYS_IS(m, "/proc/sys/vm/page-cluster", "0\n");
	H_END(m);
}

TEST(sysfs_enabled_and_defrag)
{
	struct mml_machine *m = h_machine(0);

	REQUIRE(m);
	CHECK_EQ(mml_sys_write(m, THP "enabled", "always\n"), 0);
	SYS_IS(m, THP "enabled", "[always] madvise never\n");
	CHECK(test_bit(TRANSPARENT_HUGEPAGE_FLAG, &m->thp.transparent_hugepage_flags));
	CHECK(!test_bit(TRANSPARENT_HUGEPAGE_REQ_MADV_FLAG, &m->thp.transparent_hugepage_flags));
	CHECK_EQ(mml_sys_write(m, THP "enabled", "never"), 0);
	SYS_IS(m, THP "enabled", "always madvise [never]\n");
	CHECK_EQ(mml_sys_write(m, THP "enabled", "madvise"), 0);
	SYS_IS(m, THP "enabled", "always [madvise] never\n");
	/* sysfs_streq: one trailing newline, nothing else */
	CHECK_EQ(mml_sys_write(m, THP "enabled", "always "), -EINVAL);
	CHECK_EQ(mml_sys_write(m, THP "enabled", "alway"), -EINVAL);
	CHECK_EQ(mml_sys_write(m, THP "enabled", "always\n\n"), -EINVAL);
	CHECK_EQ(mml_sys_write(m, THP "enabled", "inherit"), -EINVAL);
	SYS_IS(m, THP "enabled", "always [madvise] never\n");

	static const char *const words[] = { "always", "defer", "defer+madvise", "madvise", "never" };
	static const char *const shown[] = {
		"[always] defer defer+madvise madvise never\n",
		"always [defer] defer+madvise madvise never\n",
		"always defer [defer+madvise] madvise never\n",
		"always defer defer+madvise [madvise] never\n",
		"always defer defer+madvise madvise [never]\n",
	};
	for (int i = 0; i < 5; i++) {
		CHECK_EQ(mml_sys_write(m, THP "defrag", words[i]), 0);
		SYS_IS(m, THP "defrag", shown[i]);
	}
	CHECK_EQ(mml_sys_write(m, THP "defrag", "defer+"), -EINVAL);

	CHECK_EQ(mml_sys_write(m, THP "use_zero_page", "0\n"), 0);
	SYS_IS(m, THP "use_zero_page", "0\n");
	CHECK(!test_bit(TRANSPARENT_HUGEPAGE_USE_ZERO_PAGE_FLAG, &m->thp.transparent_hugepage_flags));
	CHECK_EQ(mml_sys_write(m, THP "use_zero_page", "2"), -EINVAL);
	CHECK_EQ(mml_sys_write(m, THP "use_zero_page", "yes"), -EINVAL);
	CHECK_EQ(mml_sys_write(m, THP "use_zero_page", "1"), 0);
	SYS_IS(m, THP "use_zero_page", "1\n");
	H_END(m);
}

TEST(sysfs_mthp_sizes)
{
	struct mml_machine *m = h_machine(0);

	REQUIRE(m);
	CHECK_EQ(mml_sys_write(m, THP "hugepages-64kB/enabled", "always"), 0);
	SYS_IS(m, THP "hugepages-64kB/enabled", "[always] inherit madvise never\n");
	CHECK_EQ(m->thp.huge_anon_orders_always, 1UL << 4);
	CHECK_EQ(mml_sys_write(m, THP "hugepages-64kB/enabled", "madvise\n"), 0);
	SYS_IS(m, THP "hugepages-64kB/enabled", "always inherit [madvise] never\n");
	CHECK_EQ(m->thp.huge_anon_orders_always, 0);
	CHECK_EQ(m->thp.huge_anon_orders_madvise, 1UL << 4);
	CHECK_EQ(mml_sys_write(m, THP "hugepages-64kB/enabled", "inherit"), 0);
	SYS_IS(m, THP "hugepages-64kB/enabled", "always [inherit] madvise never\n");
	CHECK_EQ(m->thp.huge_anon_orders_madvise, 0);
	CHECK_EQ(m->thp.huge_anon_orders_inherit, (1UL << 4) | (1UL << 9));
	CHECK_EQ(mml_sys_write(m, THP "hugepages-2048kB/enabled", "never"), 0);
	SYS_IS(m, THP "hugepages-2048kB/enabled", "always inherit madvise [never]\n");
	CHECK_EQ(m->thp.huge_anon_orders_inherit, 1UL << 4);
	CHECK_EQ(mml_sys_write(m, THP "hugepages-16kB/enabled", "always"), 0);
	CHECK_EQ(m->thp.huge_anon_orders_always, 1UL << 2);
	CHECK_EQ(mml_sys_write(m, THP "hugepages-16kB/enabled", "sometimes"), -EINVAL);
	SYS_IS(m, THP "hugepages-16kB/enabled", "[always] inherit madvise never\n");
	/* no order 1 for anon memory, no PUD size without file THP */
	CHECK_EQ(mml_sys_write(m, THP "hugepages-8kB/enabled", "always"), -ENOENT);
	CHECK_EQ(mml_sys_write(m, THP "hugepages-4096kB/enabled", "always"), -ENOENT);
	H_END(m);
}

TEST(sysfs_khugepaged_limits)
{
	struct mml_machine *m = h_machine(0);

	REQUIRE(m);
	CHECK_EQ(mml_sys_write(m, KHP "max_ptes_none", "512"), -EINVAL);
	CHECK_EQ(mml_sys_write(m, KHP "max_ptes_none", "0"), 0);
	SYS_IS(m, KHP "max_ptes_none", "0\n");
	CHECK_EQ(m->thp.khugepaged_max_ptes_none, 0);
	CHECK_EQ(mml_sys_write(m, KHP "max_ptes_none", "511\n"), 0);
	CHECK_EQ(mml_sys_write(m, KHP "max_ptes_swap", "-1"), -EINVAL);
	CHECK_EQ(mml_sys_write(m, KHP "max_ptes_swap", "8"), 0);
	SYS_IS(m, KHP "max_ptes_swap", "8\n");
	CHECK_EQ(mml_sys_write(m, KHP "max_ptes_shared", "1000"), -EINVAL);
	CHECK_EQ(mml_sys_write(m, KHP "max_ptes_shared", "+3"), 0);
	SYS_IS(m, KHP "max_ptes_shared", "3\n");
	CHECK_EQ(mml_sys_write(m, KHP "pages_to_scan", "0"), -EINVAL);
	CHECK_EQ(mml_sys_write(m, KHP "pages_to_scan", "4294967296"), -EINVAL);
	CHECK_EQ(mml_sys_write(m, KHP "pages_to_scan", "12x"), -EINVAL);
	CHECK_EQ(mml_sys_write(m, KHP "pages_to_scan", "4294967295"), 0);
	SYS_IS(m, KHP "pages_to_scan", "4294967295\n");
	CHECK_EQ(mml_sys_write(m, KHP "defrag", "0"), 0);
	CHECK(!test_bit(TRANSPARENT_HUGEPAGE_DEFRAG_KHUGEPAGED_FLAG, &m->thp.transparent_hugepage_flags));

	/* a new sleep wakes khugepaged, to sleep again with it */
	clear_bit(KHUGEPAGED_WAKE, &m->khugepaged_flags);
	CHECK_EQ(mml_sys_write(m, KHP "scan_sleep_millisecs", "100"), 0);
	CHECK(test_bit(KHUGEPAGED_WAKE, &m->khugepaged_flags));
	SYS_IS(m, KHP "scan_sleep_millisecs", "100\n");
	clear_bit(KHUGEPAGED_WAKE, &m->khugepaged_flags);
	CHECK_EQ(mml_sys_write(m, KHP "alloc_sleep_millisecs", "0"), 0);
	CHECK(test_bit(KHUGEPAGED_WAKE, &m->khugepaged_flags));
	CHECK_EQ(mml_sys_write(m, KHP "alloc_sleep_millisecs", ""), 0);	/* writing nothing */
	SYS_IS(m, KHP "alloc_sleep_millisecs", "0\n");
	clear_bit(KHUGEPAGED_WAKE, &m->khugepaged_flags);
	H_END(m);
}

TEST(sysfs_lookup_errors)
{
	struct mml_machine *m = h_machine(0);
	char buf[16];

	REQUIRE(m);
	CHECK_EQ(mml_sys_read(m, THP "nope", buf, sizeof(buf)), -ENOENT);
	CHECK_EQ(mml_sys_read(m, THP "", buf, sizeof(buf)), -ENOENT);
	CHECK_EQ(mml_sys_read(m, "/sys/kernel/mm/transparent_hugepage", buf, sizeof(buf)), -ENOENT);
	CHECK_EQ(mml_sys_read(m, THP "/enabled", buf, sizeof(buf)), -ENOENT);
	CHECK_EQ(mml_sys_write(m, "/proc/sys/vm/swappiness", "60"), -ENOENT);
	CHECK_EQ(mml_sys_write(m, THP "hpage_pmd_size", "4096"), -EACCES);
	CHECK_EQ(mml_sys_write(m, KHP "full_scans", "1"), -EACCES);
	CHECK_EQ(mml_sys_write(m, KHP "pages_collapsed", "1"), -EACCES);
	CHECK_EQ(mml_sys_write(m, "/proc/sys/vm/max_map_count", "100"), -EACCES);
	CHECK_EQ(mml_sys_read(m, "/sys/kernel/debug/split_huge_pages", buf, sizeof(buf)), -EACCES);
	CHECK_EQ(mml_sys_read(m, "/proc/sys/vm/drop_caches", buf, sizeof(buf)), -EACCES);

	/* a short buffer gets the first bytes, without a NUL */
	memset(buf, 'x', sizeof(buf));
	CHECK_EQ(mml_sys_read(m, THP "hpage_pmd_size", buf, 3), 3);
	CHECK(!memcmp(buf, "209x", 4));
	H_END(m);
}

TEST(sysfs_drop_caches)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);
	char data[4096];
	int fd;

	REQUIRE(t);
	fd = mml_open(t, "/disk/a", O_RDWR | O_CREAT, 0600);
	REQUIRE(fd >= 0);
	memset(data, 0x5a, sizeof(data));
	CHECK_EQ(mml_pwrite(t, fd, data, sizeof(data), 0), (long)sizeof(data));
	CHECK_EQ(mml_fsync(t, fd), 0);
	CHECK_EQ(mml_close(t, fd), 0);
	CHECK(mml_meminfo(m, "Cached") > 0);
	CHECK_EQ(mml_sys_write(m, "/proc/sys/vm/drop_caches", "0"), -EINVAL);
	CHECK_EQ(mml_sys_write(m, "/proc/sys/vm/drop_caches", "5"), -EINVAL);
	CHECK_EQ(mml_sys_write(m, "/proc/sys/vm/drop_caches", "1x"), -EINVAL);
	CHECK_EQ(mml_sys_write(m, "/proc/sys/vm/drop_caches", "4"), 0);	/* silence only */
	CHECK(mml_meminfo(m, "Cached") > 0);
	CHECK_EQ(mml_sys_write(m, "/proc/sys/vm/drop_caches", " 3\n"), 0);
	CHECK_EQ(mml_meminfo(m, "Cached"), 0);
	CHECK_EQ(mml_unlink(t, "/disk/a"), 0);
	CHECK_EQ(mml_exit(t), 0);
	H_END(m);
}

TEST(sysfs_split_huge_pages_syntax)
{
	struct mml_machine *m = h_machine(0);
	const char *f = "/sys/kernel/debug/split_huge_pages";

	REQUIRE(m);
	CHECK_EQ(mml_sys_write(m, f, "x"), -EINVAL);
	CHECK_EQ(mml_sys_write(m, f, "5"), -EINVAL);
	CHECK_EQ(mml_sys_write(m, f, "5,0x1000"), -EINVAL);
	CHECK_EQ(mml_sys_write(m, f, "5,1000,0x2000"), -EINVAL);
	/* splits to other orders, at an offset, and of files are not modelled */
	CHECK_EQ(mml_sys_write(m, f, "5,0x1000,0x2000,2"), -EINVAL);
	CHECK_EQ(mml_sys_write(m, f, "5,0x1000,0x2000,0,3"), -EINVAL);
	CHECK_EQ(mml_sys_write(m, f, "/tmp/a,0x0,0x10"), -EINVAL);
	/* "1" alone: every THP of the machine, none here */
	CHECK_EQ(mml_sys_write(m, f, "1\n"), 0);
	H_END(m);
}

/* ---- kpageflags, kpagecount ---- */

#define KPF(b)	(1ULL << MML_KPF_##b)

static uint64_t kpf(struct mml_machine *m, uint64_t pfn)
{
	uint64_t f = ~0ULL;

	CHECK_EQ(mml_kpageflags(m, pfn, &f), 0);
	return f;
}

TEST(kpageflags_frames)
{
	struct mml_machine *m = h_machine(8 << 20);
	struct mml_task *t = h_spawn(m);
	uint64_t p, e, zero_pfn, anon_pfn, f, nframes;
	uint8_t b;

	REQUIRE(t);
	nframes = (8 << 20) / H_PAGE;
	p = h_map(t, 0, 2 * H_PAGE, H_RW, H_ANON);
	REQUIRE(p);
	/* a read fault maps the zero page */
	CHECK_EQ(h_peek(t, p, &b), 0);
	e = h_pagemap(t, p);
	REQUIRE(e & MML_PM_PRESENT);
	zero_pfn = H_PFN(e);
	f = kpf(m, zero_pfn);
	/* reserved, and (arm64's MTE) tagged with tag 0 from the start: PG_arch_2 */
	CHECKF(f == (KPF(ZERO_PAGE) | KPF(RESERVED) | KPF(ARCH_2)), "zero page: %#llx",
	       (unsigned long long)f);
	CHECK_EQ(mml_kpagecount(m, zero_pfn), 0);

	/* a write fault: a new exclusive anon page, on the LRU, mapped once */
	CHECK_EQ(h_poke(t, p + H_PAGE, 7), 0);
	e = h_pagemap(t, p + H_PAGE);
	REQUIRE(e & MML_PM_PRESENT);
	anon_pfn = H_PFN(e);
	f = kpf(m, anon_pfn);
	CHECKF((f & (KPF(ANON) | KPF(MMAP) | KPF(SWAPBACKED) | KPF(UPTODATE) | KPF(OWNER_2))) ==
	       (KPF(ANON) | KPF(MMAP) | KPF(SWAPBACKED) | KPF(UPTODATE) | KPF(OWNER_2)),
	       "anon page: %#llx", (unsigned long long)f);
	CHECKF(!(f & (KPF(THP) | KPF(COMPOUND_HEAD) | KPF(COMPOUND_TAIL) | KPF(BUDDY) |
		      KPF(ZERO_PAGE) | KPF(PGTABLE) | KPF(SWAPCACHE))),
	       "anon page: %#llx", (unsigned long long)f);
	CHECK_EQ(mml_kpagecount(m, anon_pfn), 1);
	{
		struct mml_task *c = h_fork(t);

		REQUIRE(c);
		CHECK_EQ(mml_kpagecount(m, anon_pfn), 2);
		CHECK(!(kpf(m, anon_pfn) & KPF(OWNER_2)));	/* shared: no longer exclusive */
		CHECK_EQ(mml_exit(c), 0);
	}
	CHECK_EQ(mml_kpagecount(m, anon_pfn), 1);

	/* a page table: the frame the pte lock lives in */
	{
		struct page *pt = NULL;

		for (uint64_t pfn = 0; pfn < nframes && !pt; pfn++)
			if (PageTable(pfn_to_page(m, pfn)))
				pt = pfn_to_page(m, pfn);
		REQUIRE(pt);
		f = kpf(m, page_to_pfn(m, pt));
		CHECKF(f == KPF(PGTABLE), "page table: %#llx", (unsigned long long)f);
		CHECK_EQ(mml_kpagecount(m, page_to_pfn(m, pt)), 0);
	}

	/* free frames: the head of a free block and a page inside one */
	{
		uint64_t head = ~0ULL;

		for (uint64_t pfn = 0; pfn < nframes && head == ~0ULL; pfn++)
			if (PageBuddy(pfn_to_page(m, pfn)) && pfn_to_page(m, pfn)->order >= 2)
				head = pfn;
		REQUIRE(head != ~0ULL);
		CHECK_EQ(kpf(m, head), KPF(BUDDY));
		CHECK_EQ(kpf(m, head + 3), KPF(BUDDY));
		CHECK_EQ(mml_kpagecount(m, head + 3), 0);
	}

	/* the unmapped anon page goes back to the allocator */
	CHECK_EQ(mml_munmap(t, p, 2 * H_PAGE), 0);
	CHECK(!(kpf(m, anon_pfn) & (KPF(ANON) | KPF(MMAP))));

	CHECK_EQ(mml_kpageflags(m, nframes, &f), -EINVAL);
	CHECK_EQ(mml_kpagecount(m, nframes), -EINVAL);
	CHECK_EQ(mml_exit(t), 0);
	H_END(m);
}

/* An mTHP folio (order 2): head and tails, THP on every page, one count a page. */
TEST(kpageflags_large_folio)
{
	struct mml_machine *m = h_machine(0);
	struct mml_task *t = h_spawn(m);
	uint64_t p = 0x10000000ULL, e, pfn;

	REQUIRE(t);
	REQUIRE_EQ(mml_sys_write(m, THP "hugepages-16kB/enabled", "always"), 0);
	REQUIRE_EQ(mml_sys_write(m, THP "hugepages-2048kB/enabled", "never"), 0);
	REQUIRE(h_map(t, p, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED));
	CHECK_EQ(h_poke(t, p, 1), 0);
	e = h_pagemap(t, p);
	REQUIRE(e & MML_PM_PRESENT);
	pfn = H_PFN(e);
	CHECK(kpf(m, pfn) & KPF(COMPOUND_HEAD));
	CHECK(kpf(m, pfn) & KPF(THP));
	CHECK(kpf(m, pfn) & KPF(ANON));
	for (int i = 1; i < 4; i++) {
		uint64_t f = kpf(m, pfn + i);

		CHECKF((f & (KPF(COMPOUND_TAIL) | KPF(THP) | KPF(ANON) | KPF(MMAP))) ==
		       (KPF(COMPOUND_TAIL) | KPF(THP) | KPF(ANON) | KPF(MMAP)) &&
		       !(f & KPF(COMPOUND_HEAD)), "page %d: %#llx", i, (unsigned long long)f);
		CHECK_EQ(mml_kpagecount(m, pfn + i), 1);
	}
	CHECK_EQ(mml_exit(t), 0);
	H_END(m);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
