/*
 * test_shmem_thp.c - huge pages in the page cache: shmem_enabled and
 * tmpfs huge= at fault, write() and truncate; collapse_file by
 * MADV_COLLAPSE and khugepaged, with retract_page_tables removing the
 * page tables of other processes (only where it may: no anon_vma, no
 * uffd-wp), pte_free_defer, and read-only file THPs dropped when the file
 * is opened for write.  Internal state is checked where no view reaches.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../harness.h"
#include "mm/internal.h"
#include "mm/userfaultfd_k.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

#define HUGE	(2ULL << 20)
#define BASE	0x40000000ULL	/* 2 MiB aligned */
#define SHMEM_ENABLED "/sys/kernel/mm/transparent_hugepage/shmem_enabled"

static bool pmd_mapped(struct mml_task *t, uint64_t addr)
{
	pmd_t *pmd = mm_find_pmd(t->mm, addr);

	return pmd && pmd_trans_huge(pmdp_get(pmd));
}

/* Does a pte table sit under the pmd of addr? */
static bool pte_table_at(struct mml_task *t, uint64_t addr)
{
	pmd_t *pmd = mm_find_pmd(t->mm, addr);

	return pmd && pmd_table(pmdp_get(pmd));
}

static long smaps_kb(struct mml_task *t, const char *field)
{
	char *s = h_show_smaps(t), *p;
	long kb = 0, sum = 0;

	for (p = s; p && (p = strstr(p, field)); p++)
		if (p[strlen(field)] == ':' && sscanf(p + strlen(field), ": %ld kB", &kb) == 1)
			sum += kb;
	free(s);
	return sum;
}

/* A memfd of size bytes mapped shared at BASE. */
static int memfd_at(struct mml_task *t, uint64_t size)
{
	int fd = mml_memfd_create(t, "thp", 0);

	if (fd < 0 || mml_ftruncate(t, fd, (int64_t)size) ||
	    mml_mmap(t, BASE, size, H_RW, MAP_SHARED | MAP_FIXED, fd, 0) != (int64_t)BASE)
		return -1;
	return fd;
}

TEST(tmpfs_huge_config_and_knob)
{
	struct mml_config bad = { .tmpfs_huge = "sometimes" };
	struct mml_machine *m;
	char buf[128];

	errno = 0;
	CHECK(mml_machine_new(&bad) == NULL);
	CHECK_EQ(errno, EINVAL);
	m = h_machine(64 << 20);
	REQUIRE(m);
	CHECK(mml_sys_read(m, SHMEM_ENABLED, buf, sizeof(buf)) > 0);
	CHECK(!strcmp(buf, "always within_size advise [never] deny force\n"));
	CHECK_EQ(mml_sys_write(m, SHMEM_ENABLED, "sometimes"), -EINVAL);
	CHECK_EQ(mml_sys_write(m, SHMEM_ENABLED, "force\n"), 0);
	CHECK(mml_sys_read(m, SHMEM_ENABLED, buf, sizeof(buf)) > 0);
	CHECK(!strcmp(buf, "always within_size advise never deny [force]\n"));
	H_END(m);
}

/* huge=always on /dev/shm: a fault maps a pmd; write() fills a huge page too; truncate splits. */
TEST(tmpfs_huge_always_fault_and_truncate)
{
	struct mml_config cfg = { .flags = MML_CHECK_EVERY_OP, .tmpfs_huge = "always", .ram_bytes = 64 << 20 };
	struct mml_machine *m = mml_machine_new(&cfg);
	struct mml_task *t;
	int fd;

	REQUIRE(m);
	t = h_spawn(m);
	fd = mml_open(t, "/dev/shm/f", O_RDWR | O_CREAT, 0600);
	REQUIRE(fd >= 0);
	REQUIRE_EQ(mml_ftruncate(t, fd, (int64_t)(2 * HUGE)), 0);
	REQUIRE_EQ(mml_mmap(t, BASE, 2 * HUGE, H_RW, MAP_SHARED | MAP_FIXED, fd, 0), (int64_t)BASE);
	h_fill(t, BASE, H_PAGE, 0x31);
	CHECK(pmd_mapped(t, BASE));
	CHECK_EQ(mml_meminfo(m, "ShmemHugePages"), 2048);
	CHECK_EQ(mml_meminfo(m, "ShmemPmdMapped"), 2048);
	CHECK_EQ(mml_vmstat(m, "thp_file_alloc"), 1);
	CHECK_EQ(mml_vmstat(m, "thp_file_mapped"), 1);
	CHECK_EQ(mml_pwrite(t, fd, "abc", 3, (int64_t)HUGE), 3);
	CHECK_EQ(mml_meminfo(m, "ShmemHugePages"), 4096);
	h_expect(t, BASE + H_PAGE, H_PAGE, 0);
	/* Cut inside the second huge page: split, the pages past the end gone. */
	CHECK_EQ(mml_ftruncate(t, fd, (int64_t)(HUGE + 8 * H_PAGE)), 0);
	CHECK_EQ(mml_meminfo(m, "ShmemHugePages"), 2048);
	CHECK(pmd_mapped(t, BASE));
	CHECK_EQ(mml_check(m), 0);
	CHECK_EQ(mml_munmap(t, BASE, 2 * HUGE), 0);
	CHECK_EQ(mml_close(t, fd), 0);
	CHECK_EQ(mml_unlink(t, "/dev/shm/f"), 0);
	H_END(m);
}

/*
 * MADV_COLLAPSE of a memfd mapped by two processes and privately by a
 * third that wrote it: the caller gets a pmd, the other sharer's table is
 * retracted (freed after a grace period), the private writer keeps its
 * table and its copy.
 */
TEST(collapse_retracts_other_tables)
{
	struct mml_machine *m = h_machine(64 << 20);
	struct mml_task *a, *b, *c;
	long pending;
	int fd;

	REQUIRE(m);
	a = h_spawn(m);
	fd = memfd_at(a, HUGE);
	REQUIRE(fd >= 0);
	h_fill(a, BASE, HUGE, 0x41);
	b = h_fork(a);
	c = h_fork(a);
	REQUIRE(b && c);
	REQUIRE_EQ(mml_munmap(c, BASE, HUGE), 0);
	REQUIRE_EQ(mml_mmap(c, BASE, HUGE, H_RW, MAP_PRIVATE | MAP_FIXED, fd, 0), (int64_t)BASE);
	h_expect(c, BASE, HUGE, 0x41);
	h_fill(c, BASE + 8 * H_PAGE, H_PAGE, 0x42);
	h_expect(b, BASE, H_PAGE, 0x41);	/* fork copied no table of a shared mapping */
	CHECK(pte_table_at(b, BASE));
	pending = atomic_long_read(&m->pgtables_pending_free);
	CHECK_EQ(mml_madvise(a, BASE, HUGE, MADV_COLLAPSE), 0);
	CHECK(pmd_mapped(a, BASE));
	CHECK(!pte_table_at(b, BASE) && !pmd_mapped(b, BASE));
	CHECK(pte_table_at(c, BASE));
	/* a's table and b's, deferred (pte_free_defer); the RCU flush may have freed them already */
	CHECK(atomic_long_read(&m->pgtables_pending_free) >= pending || mml_vmstat(m, "nr_page_table_pages") > 0);
	CHECK_EQ(mml_meminfo(m, "ShmemHugePages"), 2048);
	h_expect(b, BASE, HUGE, 0x41);
	CHECK(pmd_mapped(b, BASE));
	h_expect(c, BASE + 8 * H_PAGE, H_PAGE, 0x42);
	h_expect(c, BASE, 8 * H_PAGE, 0x41);
	CHECK_EQ(smaps_kb(b, "ShmemPmdMapped"), 2048);
	CHECK_EQ(mml_check(m), 0);
	H_END(m);
}

/* A uffd-wp VMA keeps its table through the collapse (its markers live there). */
TEST(collapse_skips_uffd_wp_vma)
{
	struct mml_machine *m = h_machine(64 << 20);
	struct mml_task *a, *b;
	struct vm_area_struct *vma;
	struct mml_uffd *u = NULL;
	int fd;

	REQUIRE(m);
	a = h_spawn(m);
	fd = memfd_at(a, HUGE);
	REQUIRE(fd >= 0);
	h_fill(a, BASE, HUGE, 0x51);
	b = h_fork(a);
	REQUIRE(b);
	h_expect(b, BASE, H_PAGE, 0x51);
	vma = vma_lookup(b->mm, BASE);
	REQUIRE(vma);
	REQUIRE_EQ(mml_uffd_new(b, UFFD_FEATURE_SIGBUS, &u), 0);
	REQUIRE_EQ(mml_uffd_register(u, BASE, HUGE, UFFDIO_REGISTER_MODE_WP), 0);
	CHECK(userfaultfd_wp(vma_lookup(b->mm, BASE)));
	CHECK_EQ(mml_madvise(a, BASE, HUGE, MADV_COLLAPSE), 0);
	CHECK(pmd_mapped(a, BASE));
	CHECK(pte_table_at(b, BASE));
	CHECK_EQ(mml_uffd_free(u), 0);
	h_expect(b, BASE, HUGE, 0x51);
	CHECK_EQ(mml_check(m), 0);
	H_END(m);
}

/* khugepaged collapses shmem under shmem_enabled=advise and leaves the pmd to the next fault. */
TEST(khugepaged_collapses_shmem)
{
	struct mml_machine *m = h_machine(64 << 20);
	struct mml_task *t;
	int fd;

	REQUIRE(m);
	REQUIRE_EQ(mml_sys_write(m, SHMEM_ENABLED, "advise"), 0);
	t = h_spawn(m);
	fd = memfd_at(t, 2 * HUGE);
	REQUIRE(fd >= 0);
	h_fill(t, BASE, 2 * HUGE, 0x61);
	CHECK_EQ(mml_meminfo(m, "ShmemHugePages"), 0);
	CHECK_EQ(mml_madvise(t, BASE, 2 * HUGE, MADV_HUGEPAGE), 0);
	CHECK_EQ(mml_madvise(t, BASE, 2 * HUGE, MADV_HUGEPAGE), 0);	/* registers: see thp-shmem-collapse-full.scn */
	CHECK(mml_khugepaged_scan(m, 4096) >= 2);
	CHECK_EQ(mml_meminfo(m, "ShmemHugePages"), 4096);
	CHECK(!pte_table_at(t, BASE) && !pmd_mapped(t, BASE));
	h_expect(t, BASE, 2 * HUGE, 0x61);
	CHECK(pmd_mapped(t, BASE) && pmd_mapped(t, BASE + HUGE));
	CHECK_EQ(mml_check(m), 0);
	H_END(m);
}

/* A read-only disk file becomes huge; opening it for write drops the huge page first. */
TEST(read_only_file_thp)
{
	struct mml_machine *m = h_machine(64 << 20);
	struct mml_task *t;
	char buf[8];
	int w, r;

	REQUIRE(m);
	t = h_spawn(m);
	w = mml_open(t, "/disk/ro", O_RDWR | O_CREAT | O_EXCL, 0644);
	REQUIRE(w >= 0);
	for (uint64_t off = 0; off < HUGE; off += H_PAGE)
		REQUIRE_EQ(mml_pwrite(t, w, "page", 4, (int64_t)off), 4);
	REQUIRE_EQ(mml_close(t, w), 0);
	r = mml_open(t, "/disk/ro", O_RDONLY, 0);
	REQUIRE(r >= 0);
	REQUIRE_EQ(mml_mmap(t, BASE, HUGE, PROT_READ, MAP_SHARED | MAP_FIXED, r, 0), (int64_t)BASE);
	/*
	 * The pages are dirty: written back first (SCAN_PAGE_DIRTY_OR_WRITEBACK,
	 * then a retry), and the cache collapsed; but never faulted, the
	 * range has no page table to put the pmd in (SCAN_PMD_NULL): EINVAL,
	 * as Linux.
	 */
	CHECK_EQ(mml_madvise(t, BASE, HUGE, MADV_COLLAPSE), -EINVAL);
	CHECK_EQ(mml_meminfo(m, "FileHugePages"), 2048);
	CHECK_EQ(khugepaged_scan_result_count(m, "SCAN_PMD_NULL"), 1);
	CHECK_EQ(mml_read(t, BASE, buf, 4), 0);
	/* Faulted now (a pmd at once: the cache holds the huge page), collapsed already: 0. */
	CHECK_EQ(mml_madvise(t, BASE, HUGE, MADV_COLLAPSE), 0);
	CHECK(pmd_mapped(t, BASE));
	CHECK_EQ(mml_meminfo(m, "FileHugePages"), 2048);
	CHECK_EQ(mml_meminfo(m, "FilePmdMapped"), 2048);
	/* open for write while mapped: the cache's huge page goes, the mapping reads the file again */
	w = mml_open(t, "/disk/ro", O_RDWR, 0);
	REQUIRE(w >= 0);
	CHECK_EQ(mml_meminfo(m, "FileHugePages"), 0);
	CHECK(!pmd_mapped(t, BASE));
	CHECK_EQ(mml_read(t, BASE + 5 * H_PAGE, buf, 4), 0);
	CHECK(!memcmp(buf, "page", 4));
	/* while open for write, no collapse */
	CHECK_EQ(mml_madvise(t, BASE, HUGE, MADV_COLLAPSE), -EINVAL);
	CHECK_EQ(mml_close(t, w), 0);
	CHECK_EQ(mml_check(m), 0);
	H_END(m);
}

/* Reclaim splits a shmem huge page and swaps its pages; they come back intact. */
TEST(shmem_huge_page_swapped)
{
	struct mml_machine *m = h_machine(32 << 20);
	struct mml_task *t;
	int fd, sw;

	REQUIRE(m);
	REQUIRE((sw = mml_swapon(m, NULL, 64 << 20, -1)) >= 0);
	REQUIRE_EQ(mml_sys_write(m, SHMEM_ENABLED, "always"), 0);
	t = h_spawn(m);
	fd = memfd_at(t, 4 * HUGE);
	REQUIRE(fd >= 0);
	h_fill(t, BASE, 4 * HUGE, 0x71);
	CHECK_EQ(mml_meminfo(m, "ShmemHugePages"), 8192);
	CHECK_EQ(mml_madvise(t, BASE, 4 * HUGE, MADV_PAGEOUT), 0);
	CHECK(mml_meminfo(m, "ShmemHugePages") < 8192);
	CHECK(mml_vmstat(m, "thp_split_page") >= 1);
	h_expect(t, BASE, 4 * HUGE, 0x71);
	CHECK_EQ(mml_check(m), 0);
	CHECK_EQ(mml_munmap(t, BASE, 4 * HUGE), 0);
	CHECK_EQ(mml_close(t, fd), 0);
	CHECK_EQ(mml_swapoff(m, sw), 0);
	H_END(m);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
