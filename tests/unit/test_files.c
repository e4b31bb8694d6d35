/*
 * test_files.c - files and shared memory through the public API: tmpfs,
 * memfd, /disk with its host files, MAP_SHARED and MAP_PRIVATE file
 * mappings, truncate and hole punch, writeback, shmem swap.
 *
 * Linux semantics checked (read in mm/filemap.c, mm/shmem.c, mm/memory.c,
 * mm/truncate.c, mm/memfd.c, fs/open.c and selftests/mm/cow.c,
 * selftests/memfd/memfd_test.c): a shared mapping and pread/pwrite see
 * each other; a private mapping sees the file until its first write to a
 * page; a page wholly past the end is SIGBUS; truncate drops private
 * copies beyond the end (even_cows), a hole punch keeps them; F_SEAL_WRITE
 * needs no shared writable mapping (EBUSY) and forbids new ones (EPERM).
 */
#define _GNU_SOURCE
#include "../harness.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RAM	(16ULL << 20)

static long map_fd(struct mml_task *t, uint64_t len, int prot, int flags, int fd, int64_t off)
{
	return mml_mmap(t, 0, len, prot, flags, fd, off);
}

TEST(tmpfs_pwrite_pread_and_shared_mapping)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *a = h_spawn(m);
	char buf[16] = { 0 };
	long p;
	int fd;

	fd = mml_open(a, "/tmp/f", O_RDWR | O_CREAT, 0600);
	REQUIRE(fd >= 0);
	CHECK_EQ(mml_pwrite(a, fd, "hello", 5, 4096), 5);
	CHECK_EQ(mml_pread(a, fd, buf, sizeof(buf), 4096), 5);
	CHECK(!memcmp(buf, "hello", 5));
	CHECK_EQ(mml_pread(a, fd, buf, 4, 0), 4);	/* a hole reads zeros */
	CHECK(!memcmp(buf, "\0\0\0\0", 4));
	p = map_fd(a, 8192, H_RW, MAP_SHARED, fd, 0);
	REQUIRE(p > 0);
	CHECK(h_expect(a, (uint64_t)p, 5, 0));
	CHECK_EQ(mml_read(a, (uint64_t)p + 4096, buf, 5), 0);
	CHECK(!memcmp(buf, "hello", 5));
	CHECK_EQ(mml_write(a, (uint64_t)p + 4096, "HE", 2), 0);
	CHECK_EQ(mml_pread(a, fd, buf, 5, 4096), 5);
	CHECK(!memcmp(buf, "HEllo", 5));
	CHECK(h_pagemap(a, (uint64_t)p + 4096) & MML_PM_FILE);
	/* Beyond the end of file: SIGBUS. */
	CHECK_EQ(mml_ftruncate(a, fd, 100), 0);
	CHECK_EQ(mml_read(a, (uint64_t)p + 4096, buf, 1), -EIO);
	CHECK_EQ(mml_read(a, (uint64_t)p, buf, 1), 0);
	CHECK_EQ(mml_close(a, fd), 0);
	CHECK_EQ(mml_close(a, fd), -EBADF);
	CHECK_EQ(mml_munmap(a, (uint64_t)p, 8192), 0);
	CHECK_EQ(mml_unlink(a, "/tmp/f"), 0);
	CHECK_EQ(mml_unlink(a, "/tmp/f"), -ENOENT);
	H_END(m);
}

TEST(private_file_mapping_cows)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *a = h_spawn(m);
	char buf[8];
	long p;
	int fd = mml_memfd_create(a, "x", 0);

	REQUIRE(fd >= 0);
	CHECK_EQ(mml_ftruncate(a, fd, 8192), 0);
	CHECK_EQ(mml_pwrite(a, fd, "AAAA", 4, 0), 4);
	p = map_fd(a, 8192, H_RW, MAP_PRIVATE, fd, 0);
	REQUIRE(p > 0);
	CHECK_EQ(mml_read(a, (uint64_t)p, buf, 4), 0);
	CHECK(!memcmp(buf, "AAAA", 4));
	CHECK_EQ(mml_pwrite(a, fd, "BBBB", 4, 0), 4);	/* seen until the first write */
	CHECK_EQ(mml_read(a, (uint64_t)p, buf, 4), 0);
	CHECK(!memcmp(buf, "BBBB", 4));
	CHECK_EQ(mml_write(a, (uint64_t)p, "C", 1), 0);
	CHECK_EQ(mml_pwrite(a, fd, "DDDD", 4, 0), 4);
	CHECK_EQ(mml_read(a, (uint64_t)p, buf, 4), 0);
	CHECK(!memcmp(buf, "CBBB", 4));
	CHECK(h_pagemap(a, (uint64_t)p) & MML_PM_MMAP_EXCLUSIVE);
	/* A hole punch keeps the private copy; truncate takes it. */
	CHECK_EQ(mml_fallocate(a, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 8192), 0);
	CHECK_EQ(mml_read(a, (uint64_t)p, buf, 4), 0);
	CHECK(!memcmp(buf, "CBBB", 4));
	CHECK_EQ(mml_ftruncate(a, fd, 0), 0);
	CHECK_EQ(mml_read(a, (uint64_t)p, buf, 1), -EIO);
	CHECK_EQ(mml_close(a, fd), 0);
	H_END(m);
}

TEST(shared_anonymous_across_fork)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *a = h_spawn(m), *b;
	long p = mml_mmap(a, 0, 8192, H_RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	REQUIRE(p > 0);
	CHECK(h_fill(a, (uint64_t)p, 8192, 0x11));
	b = h_fork(a);
	REQUIRE(b);
	CHECK(h_fill(b, (uint64_t)p, 4096, 0x22));
	CHECK(h_expect(a, (uint64_t)p, 4096, 0x22));
	CHECK(h_fill(a, (uint64_t)p + 4096, 4096, 0x33));
	CHECK(h_expect(b, (uint64_t)p + 4096, 4096, 0x33));
	H_END(m);
}

TEST(disk_file_written_back_to_host)
{
	char dir[] = "/tmp/mmlab-test-disk.XXXXXX", path[64], buf[8] = { 0 };
	struct mml_config cfg = { .ram_bytes = RAM, .flags = MML_CHECK_EVERY_OP, .disk_dir = dir };
	struct mml_machine *m;
	struct mml_task *a;
	long p;
	int fd, hfd;

	REQUIRE(mkdtemp(dir));
	m = mml_machine_new(&cfg);
	REQUIRE(m);
	a = h_spawn(m);
	fd = mml_open(a, "/disk/data", O_RDWR | O_CREAT, 0644);
	REQUIRE(fd >= 0);
	CHECK_EQ(mml_ftruncate(a, fd, 4096), 0);
	p = map_fd(a, 4096, H_RW, MAP_SHARED, fd, 0);
	REQUIRE(p > 0);
	CHECK_EQ(mml_write(a, (uint64_t)p, "disk", 4), 0);
	CHECK_EQ(mml_vmstat(m, "nr_dirty"), 1);
	CHECK_EQ(mml_msync(a, (uint64_t)p, 4096, MS_SYNC), 0);
	CHECK_EQ(mml_vmstat(m, "nr_dirty"), 0);
	snprintf(path, sizeof(path), "%s/data", dir);
	hfd = open(path, O_RDONLY);
	REQUIRE(hfd >= 0);
	CHECK_EQ(pread(hfd, buf, 4, 0), 4);
	CHECK(!memcmp(buf, "disk", 4));
	/* Written again after writeback: the pte was write-protected, so the folio is dirty again. */
	CHECK_EQ(mml_write(a, (uint64_t)p, "DISK", 4), 0);
	CHECK_EQ(mml_vmstat(m, "nr_dirty"), 1);
	CHECK_EQ(mml_fsync(a, fd), 0);
	CHECK_EQ(pread(hfd, buf, 4, 0), 4);
	CHECK(!memcmp(buf, "DISK", 4));
	CHECK_EQ(mml_write(a, (uint64_t)p, "last", 4), 0);
	CHECK_EQ(mml_machine_free(m), 0);	/* power-off writes back */
	CHECK_EQ(pread(hfd, buf, 4, 0), 4);
	CHECK(!memcmp(buf, "last", 4));
	close(hfd);
	unlink(path);
	rmdir(dir);
}

TEST(memfd_seals)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *a = h_spawn(m);
	int fd = mml_memfd_create(a, "s", MFD_ALLOW_SEALING), nfd;
	long p;

	REQUIRE(fd >= 0);
	CHECK_EQ(mml_ftruncate(a, fd, 4096), 0);
	p = map_fd(a, 4096, H_RW, MAP_SHARED, fd, 0);
	REQUIRE(p > 0);
	CHECK_EQ(mml_fcntl(a, fd, F_ADD_SEALS, F_SEAL_WRITE), -EBUSY);
	CHECK_EQ(mml_munmap(a, (uint64_t)p, 4096), 0);
	CHECK_EQ(mml_fcntl(a, fd, F_ADD_SEALS, F_SEAL_WRITE), 0);
	CHECK_EQ(mml_fcntl(a, fd, F_GET_SEALS, 0), F_SEAL_WRITE);
	CHECK_EQ(map_fd(a, 4096, H_RW, MAP_SHARED, fd, 0), -EPERM);
	CHECK_EQ(mml_pwrite(a, fd, "x", 1, 0), -EPERM);
	nfd = mml_memfd_create(a, "n", 0);
	CHECK_EQ(mml_fcntl(a, nfd, F_ADD_SEALS, F_SEAL_WRITE), -EPERM);
	H_END(m);
}

TEST(shmem_swap_out_and_back)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *a = h_spawn(m);
	long p = mml_mmap(a, 0, 16 * 4096, H_RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int id = mml_swapon(m, NULL, 1 << 20, -1);

	REQUIRE(p > 0 && id >= 0);
	CHECK(h_fill(a, (uint64_t)p, 16 * 4096, 0x5a));
	CHECK_EQ(mml_madvise(a, (uint64_t)p, 16 * 4096, MADV_PAGEOUT), 0);
	CHECK(mml_vmstat(m, "pswpout") >= 1);
	CHECK(h_expect(a, (uint64_t)p, 16 * 4096, 0x5a));
	CHECK_EQ(mml_madvise(a, (uint64_t)p, 16 * 4096, MADV_PAGEOUT), 0);
	CHECK_EQ(mml_swapoff(m, id), 0);
	CHECK(h_expect(a, (uint64_t)p, 16 * 4096, 0x5a));
	H_END(m);
}

TEST(open_errors)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *a = h_spawn(m);
	int fd;

	CHECK_EQ(mml_open(a, "/tmp/none", O_RDONLY, 0), -ENOENT);
	CHECK_EQ(mml_open(a, "/nowhere/x", O_RDWR | O_CREAT, 0600), -ENOENT);
	fd = mml_open(a, "/dev/shm/x", O_RDWR | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(mml_open(a, "/dev/shm/x", O_RDWR | O_CREAT | O_EXCL, 0600), -EEXIST);
	fd = mml_open(a, "/dev/shm/x", O_RDONLY, 0);
	REQUIRE(fd >= 0);
	CHECK_EQ(map_fd(a, 4096, H_RW, MAP_SHARED, fd, 0), -EACCES);
	CHECK(map_fd(a, 4096, H_RW, MAP_PRIVATE, fd, 0) > 0);
	CHECK_EQ(mml_pwrite(a, fd, "x", 1, 0), -EBADF);
	CHECK_EQ(mml_ftruncate(a, fd, 0), -EINVAL);
	CHECK_EQ(map_fd(a, 4096, PROT_READ, MAP_SHARED, 77, 0), -EBADF);
	H_END(m);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
