/*
 * test_dax.c - fs-DAX (issue 15): the pmem device, the DAX file system at
 * /pmem/, DAX faults and the folio refcounts of Linux 6.15's "fs/dax:
 * properly refcount fs dax pages", layout breaking before blocks are freed.
 *
 * Linux semantics checked (read in fs/dax.c, mm/memremap.c, mm/gup.c's
 * check_vma_flags, fs/xfs/xfs_file.c and selftests/mm/gup_longterm.c):
 * DAX pages are device frames (pagemap shows PFNs past RAM), PMD-mapped
 * where file and VMA are 2 MiB aligned; a read of a hole maps the zero
 * page and a write replaces it; a private write copies; each mapping and
 * each GUP reference holds one folio reference, free at 0; FOLL_LONGTERM
 * is EOPNOTSUPP; truncate waits for a pinned block to become idle.
 */
#define _GNU_SOURCE
#include "../harness.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#define RAM	(32ULL << 20)
#define PMEM	(16ULL << 20)
#define MB2	(2ULL << 20)

static struct mml_machine *dax_machine(unsigned flags)
{
	struct mml_config cfg = { .ram_bytes = RAM, .pmem_bytes = PMEM, .seed = 1,
				  .flags = MML_CHECK_EVERY_OP | flags };
	struct mml_machine *m = mml_machine_new(&cfg);

	if (!m)
		FAIL("mml_machine_new with pmem failed");
	return m;
}

/* /proc/kpagecount of the page mapped at addr: its mappings (each holding a folio reference). */
static long page_count_at(struct mml_task *t, uint64_t addr)
{
	uint64_t e = h_pagemap(t, addr);

	if (!(e & MML_PM_PRESENT))
		return -1;
	return mml_kpagecount(mml_task_machine(t), H_PFN(e));
}

TEST(dax_bad_config)
{
	struct mml_config cfg = { .ram_bytes = RAM, .pmem_bytes = MB2 + 4096 };

	CHECK(!mml_machine_new(&cfg));
	CHECK_EQ(errno, EINVAL);
}

/* "Node 0 Mapped:" of node0/meminfo, in kB; -1 if missing. */
static long node0_mapped_kb(struct mml_machine *m)
{
	char buf[4096];
	const char *at;
	long kb;

	if (mml_sys_read(m, "/sys/devices/system/node/node0/meminfo", buf, sizeof(buf)) <= 0)
		return -1;
	at = strstr(buf, "Node 0 Mapped:");
	return at && sscanf(at, "Node 0 Mapped: %ld kB", &kb) == 1 ? kb : -1;
}

TEST(dax_pte_and_pmd_faults_map_device_pfns)
{
	struct mml_machine *m = dax_machine(0);
	struct mml_task *t;
	uint64_t e, ram_frames = RAM / H_PAGE;
	char buf[8];
	long p;
	int fd;

	REQUIRE(m);
	t = h_spawn(m);
	fd = mml_open(t, "/pmem/f", O_RDWR | O_CREAT, 0600);
	REQUIRE(fd >= 0);
	CHECK_EQ(mml_ftruncate(t, fd, 2 * MB2), 0);
	/* thp_get_unmapped_area: 2 MiB-aligned, as the file offset, without MAP_FIXED */
	p = mml_mmap(t, 0, 2 * MB2, H_RW, MAP_SHARED, fd, 0);
	REQUIRE(p > 0);
	CHECK_EQ((uint64_t)p % MB2, 0);
	/* A write fault on a hole: a PMD of zeroed device blocks. */
	CHECK_EQ(mml_write(t, (uint64_t)p + 8, "pmem", 4), 0);
	e = h_pagemap(t, (uint64_t)p);
	CHECK(e & MML_PM_PRESENT);
	CHECK(H_PFN(e) >= ram_frames && H_PFN(e) < ram_frames + PMEM / H_PAGE);
	CHECK_EQ(H_PFN(e) % 512, 0);
	CHECK_EQ(mml_vmstat(m, "nr_file_pmdmapped"), 1);
	CHECK_EQ(mml_vmstat(m, "nr_file_pages"), 0);	/* not page cache */
	/* but Mapped, machine-wide and on the device's node, as __folio_add_file_rmap counts it */
	CHECK_EQ(mml_meminfo(m, "Mapped"), 2048);
	CHECK_EQ(node0_mapped_kb(m), 2048);
	CHECK_EQ(page_count_at(t, (uint64_t)p), 1);	/* one reference: the pmd */
	CHECK_EQ(mml_pread(t, fd, buf, 4, 8), 4);
	CHECK(!memcmp(buf, "pmem", 4));
	CHECK_EQ(mml_pwrite(t, fd, "dax!", 4, MB2 + 16), 4);
	CHECK_EQ(mml_read(t, (uint64_t)p + MB2 + 16, buf, 4), 0);
	CHECK(!memcmp(buf, "dax!", 4));
	CHECK_EQ(mml_munmap(t, (uint64_t)p, 2 * MB2), 0);
	CHECK_EQ(mml_vmstat(m, "nr_file_pmdmapped"), 0);
	/* Unaligned offset: ptes, a reference each. */
	p = mml_mmap(t, 0, 2 * H_PAGE, H_RW, MAP_SHARED, fd, 0);
	REQUIRE(p > 0);
	CHECK_EQ(mml_read(t, (uint64_t)p + 8, buf, 4), 0);
	CHECK(!memcmp(buf, "pmem", 4));
	e = h_pagemap(t, (uint64_t)p);
	CHECK(H_PFN(e) >= ram_frames);
	CHECK_EQ(page_count_at(t, (uint64_t)p), 1);
	CHECK_EQ(mml_close(t, fd), 0);
	CHECK_EQ(mml_munmap(t, (uint64_t)p, 2 * H_PAGE), 0);
	CHECK_EQ(mml_machine_free(m), 0);
}

TEST(dax_hole_zero_page_then_write_and_private_cow)
{
	struct mml_machine *m = dax_machine(0);
	struct mml_task *t;
	uint64_t zero, e;
	char buf[4];
	long p, q;
	int fd;

	REQUIRE(m);
	t = h_spawn(m);
	fd = mml_open(t, "/pmem/h", O_RDWR | O_CREAT, 0600);
	REQUIRE(fd >= 0);
	CHECK_EQ(mml_ftruncate(t, fd, 4 * H_PAGE), 0);
	p = mml_mmap(t, 0, 4 * H_PAGE, H_RW, MAP_SHARED, fd, 0);
	q = mml_mmap(t, 0, 4 * H_PAGE, H_RW, MAP_PRIVATE, fd, 0);
	REQUIRE(p > 0 && q > 0);
	CHECK(h_expect(t, (uint64_t)p, 1, 0));
	zero = H_PFN(h_pagemap(t, (uint64_t)p));
	CHECK(zero < RAM / H_PAGE);	/* the zero page */
	CHECK_EQ(page_count_at(t, (uint64_t)p), 0);	/* special: not counted */
	CHECK_EQ(mml_write(t, (uint64_t)p, "w", 1), 0);
	e = h_pagemap(t, (uint64_t)p);
	CHECK(H_PFN(e) >= RAM / H_PAGE);
	/* MAP_PRIVATE: a read sees the file, a write gets an anon copy. */
	CHECK_EQ(mml_read(t, (uint64_t)q, buf, 1), 0);
	CHECK_EQ(buf[0], 'w');
	CHECK_EQ(page_count_at(t, (uint64_t)p), 2);	/* two ptes */
	CHECK_EQ(mml_write(t, (uint64_t)q, "c", 1), 0);
	CHECK(H_PFN(h_pagemap(t, (uint64_t)q)) < RAM / H_PAGE);
	CHECK_EQ(page_count_at(t, (uint64_t)p), 1);
	CHECK_EQ(mml_pread(t, fd, buf, 1, 0), 1);
	CHECK_EQ(buf[0], 'w');
	/* A write() into a hole a fault mapped to the zero page shows through the mapping. */
	CHECK(h_expect(t, (uint64_t)p + H_PAGE, 1, 0));
	CHECK_EQ(mml_pwrite(t, fd, "x", 1, H_PAGE), 1);
	CHECK_EQ(mml_read(t, (uint64_t)p + H_PAGE, buf, 1), 0);
	CHECK_EQ(buf[0], 'x');
	CHECK_EQ(mml_munmap(t, (uint64_t)p, 4 * H_PAGE), 0);
	CHECK_EQ(mml_munmap(t, (uint64_t)q, 4 * H_PAGE), 0);
	CHECK_EQ(mml_close(t, fd), 0);
	CHECK_EQ(mml_machine_free(m), 0);
}

TEST(dax_gup_longterm_refused_short_term_ok)
{
	struct mml_machine *m = dax_machine(0);
	struct mml_task *t;
	struct mml_pin *pin;
	long p;
	int fd;

	REQUIRE(m);
	t = h_spawn(m);
	fd = mml_open(t, "/pmem/g", O_RDWR | O_CREAT, 0600);
	REQUIRE(fd >= 0);
	CHECK_EQ(mml_ftruncate(t, fd, H_PAGE), 0);
	p = mml_mmap(t, 0, H_PAGE, H_RW, MAP_SHARED, fd, 0);
	REQUIRE(p > 0);
	CHECK_EQ(mml_pin_user_pages(t, (uint64_t)p, 1, MML_FOLL_WRITE | MML_FOLL_LONGTERM, &pin), -EOPNOTSUPP);
	CHECK_EQ(mml_pin_user_pages(t, (uint64_t)p, 1, MML_FOLL_LONGTERM, &pin), -EOPNOTSUPP);
	CHECK_EQ(mml_pin_user_pages(t, (uint64_t)p, 1, MML_FOLL_LONGTERM | MML_FOLL_FAST, &pin), -EOPNOTSUPP);
	REQUIRE_EQ(mml_pin_user_pages(t, (uint64_t)p, 1, MML_FOLL_WRITE, &pin), 1);
	CHECK_EQ(page_count_at(t, (uint64_t)p), 1);	/* a pin is no mapping */
	CHECK_EQ(mml_dma_write(pin, 0, "dma", 3), 0);
	mml_unpin(pin);
	CHECK(h_expect(t, (uint64_t)p, 1, 'd'));
	CHECK_EQ(page_count_at(t, (uint64_t)p), 1);
	REQUIRE_EQ(mml_get_user_pages(t, (uint64_t)p, 1, 0, &pin), 1);
	mml_unpin(pin);
	CHECK_EQ(mml_munmap(t, (uint64_t)p, H_PAGE), 0);
	CHECK_EQ(mml_close(t, fd), 0);
	CHECK_EQ(mml_machine_free(m), 0);
}

TEST(dax_statvfs_and_bad_paths)
{
	struct mml_machine *m = dax_machine(0);
	struct mml_task *t;
	struct statvfs sv;
	unsigned long before;
	int fd;

	REQUIRE(m);
	t = h_spawn(m);
	REQUIRE_EQ(mml_statvfs(t, "/pmem/", &sv), 0);
	CHECK_EQ(sv.f_bsize, 4096);
	CHECK_EQ(sv.f_blocks, PMEM / H_PAGE);
	CHECK_EQ(sv.f_bfree, PMEM / H_PAGE);
	before = sv.f_bfree;
	fd = mml_open(t, "/pmem/s", O_RDWR | O_CREAT, 0600);
	REQUIRE(fd >= 0);
	CHECK_EQ(mml_pwrite(t, fd, "abc", 3, 3 * H_PAGE), 3);
	CHECK_EQ(mml_fallocate(t, fd, 0, 0, 2 * H_PAGE), 0);
	REQUIRE_EQ(mml_statvfs(t, "/pmem/s", &sv), 0);
	CHECK_EQ(sv.f_bfree, before - 3);
	CHECK_EQ(mml_fallocate(t, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, H_PAGE), 0);
	REQUIRE_EQ(mml_statvfs(t, "/pmem", &sv), 0);
	CHECK_EQ(sv.f_bfree, before - 2);
	CHECK_EQ(mml_ftruncate(t, fd, 0), 0);
	REQUIRE_EQ(mml_statvfs(t, "/pmem/", &sv), 0);
	CHECK_EQ(sv.f_bfree, before);
	CHECK_EQ(mml_statvfs(t, "/pmem/nope", &sv), -ENOENT);
	CHECK_EQ(mml_statvfs(t, "/nowhere/x", &sv), -ENOENT);
	CHECK_EQ(mml_statvfs(t, "/tmp/", &sv), 0);
	CHECK(sv.f_blocks > 0);
	CHECK_EQ(mml_open(t, "/pmem/a/b", O_RDWR | O_CREAT, 0600), -ENOENT);
	CHECK_EQ(mml_close(t, fd), 0);
	CHECK_EQ(mml_unlink(t, "/pmem/s"), 0);
	CHECK_EQ(mml_machine_free(m), 0);
	/* No device: no /pmem/. */
	m = h_machine(RAM);
	t = h_spawn(m);
	CHECK_EQ(mml_open(t, "/pmem/x", O_RDWR | O_CREAT, 0600), -ENOENT);
	CHECK_EQ(mml_statvfs(t, "/pmem/", &sv), -ENOENT);
	H_END(m);
}

/* ---- reflink ----------------------------------------------------------------------------- */

TEST(dax_ficlone_shares_then_copies_on_write)
{
	struct mml_machine *m = dax_machine(0);
	struct mml_task *t;
	struct statvfs sv;
	char buf[8];
	unsigned long before;
	uint64_t pa, pb, pfn;
	int a, b, r, tmp;

	REQUIRE(m);
	t = h_spawn(m);
	a = mml_open(t, "/pmem/a", O_RDWR | O_CREAT, 0600);
	b = mml_open(t, "/pmem/b", O_RDWR | O_CREAT, 0600);
	r = mml_open(t, "/pmem/a", O_RDONLY, 0);
	tmp = mml_open(t, "/tmp/t", O_RDWR | O_CREAT, 0600);
	REQUIRE(a >= 0 && b >= 0 && r >= 0 && tmp >= 0);
	CHECK_EQ(mml_pwrite(t, a, "one", 3, 0), 3);
	CHECK_EQ(mml_pwrite(t, a, "two", 3, H_PAGE), 3);
	CHECK_EQ(mml_pwrite(t, b, "old", 3, 5 * H_PAGE), 3);
	REQUIRE_EQ(mml_statvfs(t, "/pmem/", &sv), 0);
	before = sv.f_bfree;
	/* ioctl_file_clone and vfs_clone_file_range's refusals. */
	CHECK_EQ(mml_ficlone(t, tmp, a), -EXDEV);
	CHECK_EQ(mml_ficlone(t, a, a), -EINVAL);
	CHECK_EQ(mml_ficlone(t, r, b), -EBADF);
	CHECK_EQ(mml_ficlone(t, b, 99), -EBADF);
	CHECK_EQ(mml_ficlone(t, tmp, tmp), -EOPNOTSUPP);
	CHECK_EQ(mml_ficlone(t, b, a), 0);
	/* b's first pages are a's blocks, counted once; b keeps its size and its page 5. */
	REQUIRE_EQ(mml_statvfs(t, "/pmem/", &sv), 0);
	CHECK_EQ(sv.f_bfree, before);
	CHECK_EQ(mml_pread(t, b, buf, 3, H_PAGE), 3);
	CHECK(!memcmp(buf, "two", 3));
	CHECK_EQ(mml_pread(t, b, buf, 3, 5 * H_PAGE), 3);
	CHECK(!memcmp(buf, "old", 3));
	/* Both files mapped: one device frame, shared by two files. */
	pa = (uint64_t)mml_mmap(t, 0, 2 * H_PAGE, H_RW, MAP_SHARED, a, 0);
	pb = (uint64_t)mml_mmap(t, 0, 2 * H_PAGE, H_RW, MAP_SHARED, b, 0);
	REQUIRE((long)pa > 0 && (long)pb > 0);
	CHECK_EQ(mml_read(t, pa, buf, 3), 0);
	CHECK_EQ(mml_read(t, pb, buf, 3), 0);
	CHECK(!memcmp(buf, "one", 3));
	pfn = H_PFN(h_pagemap(t, pa));
	CHECK_EQ(H_PFN(h_pagemap(t, pb)), pfn);
	CHECK_EQ(mml_kpagecount(m, pfn), 2);
	CHECK_EQ(mml_check(m), 0);
	/* A store through b's mapping: b gets a copy; a's page and mapping are untouched. */
	CHECK_EQ(mml_write(t, pb, "BBB", 3), 0);
	CHECK(H_PFN(h_pagemap(t, pb)) != pfn);
	CHECK_EQ(H_PFN(h_pagemap(t, pa)), pfn);
	CHECK_EQ(mml_kpagecount(m, pfn), 1);
	CHECK_EQ(mml_read(t, pa, buf, 3), 0);
	CHECK(!memcmp(buf, "one", 3));
	CHECK_EQ(mml_pread(t, b, buf, 3, 0), 3);
	CHECK(!memcmp(buf, "BBB", 3));
	REQUIRE_EQ(mml_statvfs(t, "/pmem/", &sv), 0);
	CHECK_EQ(sv.f_bfree, before - 1);
	/* A write() to a's page 1: a copies it, b keeps "two". */
	CHECK_EQ(mml_pwrite(t, a, "TWO", 3, H_PAGE), 3);
	CHECK_EQ(mml_pread(t, b, buf, 3, H_PAGE), 3);
	CHECK(!memcmp(buf, "two", 3));
	CHECK_EQ(mml_read(t, pa + H_PAGE, buf, 3), 0);
	CHECK(!memcmp(buf, "TWO", 3));
	REQUIRE_EQ(mml_statvfs(t, "/pmem/", &sv), 0);
	CHECK_EQ(sv.f_bfree, before - 2);
	CHECK_EQ(mml_check(m), 0);
	CHECK_EQ(mml_munmap(t, pa, 2 * H_PAGE), 0);
	CHECK_EQ(mml_munmap(t, pb, 2 * H_PAGE), 0);
	CHECK_EQ(mml_ftruncate(t, a, 0), 0);
	CHECK_EQ(mml_ftruncate(t, b, 0), 0);
	REQUIRE_EQ(mml_statvfs(t, "/pmem/", &sv), 0);
	CHECK_EQ(sv.f_bfree, PMEM / H_PAGE);
	H_END(m);
}

/* ---- truncate waits for a short-term pin ---------------------------------------------- */

struct trunc_run {
	uint64_t addr;
	int fd;
	struct mml_pin *pin;
	int truncated;		/* 1 once ftruncate returned */
	int dma_before_trunc;	/* the pin's DMA happened while truncate had not returned */
	unsigned long pfn;
};

static void pinner(struct mml_task *t, void *arg)
{
	struct trunc_run *r = arg;

	/* Give truncate every chance to run first: it must wait for us. */
	for (int i = 0; i < 50; i++)
		mml_sched_yield();
	r->dma_before_trunc = !__atomic_load_n(&r->truncated, __ATOMIC_SEQ_CST);
	CHECK_EQ(mml_dma_write(r->pin, 0, "late", 4), 0);
	mml_unpin(r->pin);
}

static void truncater(struct mml_task *t, void *arg)
{
	struct trunc_run *r = arg;

	CHECK_EQ(mml_ftruncate(t, r->fd, 0), 0);
	__atomic_store_n(&r->truncated, 1, __ATOMIC_SEQ_CST);
}

TEST(dax_truncate_waits_for_unpin)
{
	struct mml_machine *m = dax_machine(MML_DETERMINISTIC);
	struct mml_task *t, *tasks[2];
	mml_thread_fn fns[2] = { pinner, truncater };
	struct trunc_run r = { 0 };
	void *args[2] = { &r, &r };
	char buf[8];
	long p;
	int fd2;

	REQUIRE(m);
	t = h_spawn(m);
	r.fd = mml_open(t, "/pmem/t", O_RDWR | O_CREAT, 0600);
	REQUIRE(r.fd >= 0);
	CHECK_EQ(mml_ftruncate(t, r.fd, H_PAGE), 0);
	p = mml_mmap(t, 0, H_PAGE, H_RW, MAP_SHARED, r.fd, 0);
	REQUIRE(p > 0);
	CHECK_EQ(mml_write(t, (uint64_t)p, "data", 4), 0);
	r.pfn = H_PFN(h_pagemap(t, (uint64_t)p));
	REQUIRE_EQ(mml_pin_user_pages(t, (uint64_t)p, 1, MML_FOLL_WRITE, &r.pin), 1);
	tasks[0] = t;
	REQUIRE_EQ(mml_thread_new(t, &tasks[1]), 0);
	REQUIRE_EQ(mml_sched_run(m, 2, tasks, fns, args), 0);
	CHECK_EQ(r.truncated, 1);
	CHECK(r.dma_before_trunc);	/* truncate had not returned while the pin was held */
	/* The pinned write landed in the old block, which no new file got meanwhile. */
	CHECK_EQ(mml_read(t, (uint64_t)p, buf, 1), -EIO);	/* past the end now: SIGBUS */
	fd2 = mml_open(t, "/pmem/u", O_RDWR | O_CREAT, 0600);
	REQUIRE(fd2 >= 0);
	CHECK_EQ(mml_pwrite(t, fd2, "new!", 4, 0), 4);
	CHECK_EQ(mml_pread(t, fd2, buf, 4, 0), 4);
	CHECK(!memcmp(buf, "new!", 4));
	CHECK_EQ(mml_munmap(t, (uint64_t)p, H_PAGE), 0);
	CHECK_EQ(mml_close(t, r.fd), 0);
	CHECK_EQ(mml_close(t, fd2), 0);
	mml_exit(tasks[1]);
	CHECK_EQ(mml_machine_free(m), 0);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
