/*
 * test_model_file.c - the reference model's files (src/oracle/model_file.c,
 * model_filemap.c), on their own: the oracle is only as good as the rules
 * it was written from, so each of Linux's rules it encodes is stated here
 * once, with the call sequence that shows it.
 */
#define _GNU_SOURCE	/* memfd flags, seals, fallocate modes */
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../harness.h"
#include "oracle/model.h"

#define PAGE	4096

static long map(struct model *md, int task, uint64_t len, int prot, int flags, int fd, int64_t off)
{
	const char *why;
	static uint64_t next = 0x10000000;
	long r = model_mmap(md, task, 0, len, prot, flags, fd, off, (long)next, &why);

	if (r >= 0)
		next += (len + 2 * PAGE) & ~(uint64_t)(PAGE - 1);
	return r;
}

static int byte_at(struct model *md, int task, uint64_t addr)
{
	uint8_t b;
	int r = model_read(md, task, addr, &b, 1);

	return r ? r : b;
}

static int store(struct model *md, int task, uint64_t addr, uint8_t b, uint64_t n)
{
	uint8_t buf[2 * PAGE];

	memset(buf, b, n);
	return model_write(md, task, addr, buf, n);
}

TEST(shared_mappings_and_pwrite_see_each_other)
{
	struct model *md = model_new();
	uint8_t buf[4];
	int fd;
	long a, b;

	REQUIRE_EQ(model_spawn(md, 0), 0);
	fd = model_open(md, 0, "/tmp/f", O_RDWR | O_CREAT, 0600);
	CHECK_EQ(fd, 0);
	CHECK_EQ(model_ftruncate(md, 0, fd, 2 * PAGE), 0);
	a = map(md, 0, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	b = map(md, 0, PAGE, PROT_READ, MAP_SHARED, fd, PAGE);
	REQUIRE(a > 0 && b > 0);
	CHECK_EQ(store(md, 0, a + PAGE + 10, 0x5a, 1), 0);
	CHECK_EQ(byte_at(md, 0, b + 10), 0x5a);
	CHECK_EQ(model_pread(md, 0, fd, buf, 1, PAGE + 10), 1);
	CHECK_EQ(buf[0], 0x5a);
	CHECK_EQ(model_pwrite(md, 0, fd, "\x77", 1, 11, 1), 1);
	CHECK_EQ(byte_at(md, 0, a + 11), 0x77);
	/* a read-only descriptor: no writable shared map, no pwrite */
	fd = model_open(md, 0, "/tmp/f", O_RDONLY, 0);
	CHECK_EQ(map(md, 0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), -EACCES);
	CHECK_EQ(model_pwrite(md, 0, fd, "x", 1, 0, -EBADF), -EBADF);
	b = map(md, 0, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	CHECK_EQ(model_mprotect(md, 0, (uint64_t)b, PAGE, PROT_READ | PROT_WRITE), -EACCES);
	model_free(md);
}

TEST(private_mapping_reads_the_file_until_it_writes)
{
	struct model *md = model_new();
	int fd;
	long a;

	REQUIRE_EQ(model_spawn(md, 0), 0);
	fd = model_memfd(md, 0, "m", 0);
	CHECK_EQ(model_ftruncate(md, 0, fd, 2 * PAGE), 0);
	a = map(md, 0, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	REQUIRE(a > 0);
	CHECK_EQ(model_pwrite(md, 0, fd, "\x11\x11", 2, 0, 2), 2);
	CHECK_EQ(byte_at(md, 0, a), 0x11);
	CHECK_EQ(store(md, 0, a + 1, 0x22, 1), 0);	/* the copy */
	CHECK_EQ(model_pwrite(md, 0, fd, "\x33", 1, 0, 1), 1);
	CHECK_EQ(byte_at(md, 0, a), 0x11);		/* the copy keeps the old byte */
	CHECK_EQ(byte_at(md, 0, a + PAGE), 0);
	CHECK_EQ(model_pwrite(md, 0, fd, "\x44", 1, PAGE, 1), 1);
	CHECK_EQ(byte_at(md, 0, a + PAGE), 0x44);	/* the other page still reads the file */
	/* MADV_DONTNEED drops the copy: the file shows again */
	CHECK_EQ(model_madvise(md, 0, (uint64_t)a, PAGE, MADV_DONTNEED), 0);
	CHECK_EQ(byte_at(md, 0, a), 0x33);
	CHECK_EQ(model_madvise(md, 0, (uint64_t)a, PAGE, MADV_FREE), -EINVAL);
	model_free(md);
}

TEST(past_the_end_is_sigbus_and_truncate_drops_private_copies)
{
	struct model *md = model_new();
	int fd;
	long a;

	REQUIRE_EQ(model_spawn(md, 0), 0);
	fd = model_open(md, 0, "/disk/f", O_RDWR | O_CREAT, 0600);
	CHECK_EQ(model_ftruncate(md, 0, fd, PAGE + 100), 0);
	a = map(md, 0, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	REQUIRE(a > 0);
	CHECK_EQ(byte_at(md, 0, a + PAGE + 200), 0);	/* the last page, partly past the end */
	CHECK_EQ(byte_at(md, 0, a + 2 * PAGE), -EIO);
	CHECK_EQ(store(md, 0, a + PAGE, 0x55, 1), 0);
	/* a store that reaches past the end copies the pages before, stores nothing */
	CHECK_EQ(store(md, 0, a + PAGE - 1, 0x66, 2 * PAGE), -EIO);
	CHECK_EQ(byte_at(md, 0, a + PAGE - 1), 0);
	CHECK_EQ(model_pwrite(md, 0, fd, "\x01", 1, 0, 1), 1);
	CHECK_EQ(byte_at(md, 0, a), 0);			/* copied by the failed store */
	/* truncate: the copy of the page past the new end goes (even_cows) */
	CHECK_EQ(model_ftruncate(md, 0, fd, 100), 0);
	CHECK_EQ(byte_at(md, 0, a + PAGE), -EIO);
	CHECK_EQ(model_ftruncate(md, 0, fd, 2 * PAGE), 0);
	CHECK_EQ(byte_at(md, 0, a + PAGE), 0);
	/* punch: the copy stays */
	CHECK_EQ(store(md, 0, a + PAGE, 0x77, 1), 0);
	CHECK_EQ(model_fallocate(md, 0, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 2 * PAGE, 0), 0);
	CHECK_EQ(byte_at(md, 0, a + PAGE), 0x77);
	CHECK_EQ(model_fallocate(md, 0, fd, FALLOC_FL_PUNCH_HOLE, 0, PAGE, 0), -EOPNOTSUPP);
	model_free(md);
}

TEST(shrinking_zeroes_the_tail_tmpfs_keeps_what_a_map_wrote_past_the_end)
{
	struct model *md = model_new();
	uint8_t buf[8];
	int fd;
	long a;

	REQUIRE_EQ(model_spawn(md, 0), 0);
	fd = model_open(md, 0, "/dev/shm/f", O_RDWR | O_CREAT, 0600);
	CHECK_EQ(model_pwrite(md, 0, fd, "abcdefgh", 8, 0, 8), 8);
	CHECK_EQ(model_ftruncate(md, 0, fd, 4), 0);
	CHECK_EQ(model_ftruncate(md, 0, fd, 8), 0);
	CHECK_EQ(model_pread(md, 0, fd, buf, 8, 0), 8);
	CHECK(!memcmp(buf, "abcd\0\0\0\0", 8));
	a = map(md, 0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK_EQ(store(md, 0, a + 10, 0x99, 1), 0);	/* past the end, in the last page */
	CHECK_EQ(model_pread(md, 0, fd, buf, 8, 8), 0);
	CHECK_EQ(model_ftruncate(md, 0, fd, 16), 0);
	CHECK_EQ(model_pread(md, 0, fd, buf, 8, 8), 8);
	CHECK_EQ(buf[2], 0x99);				/* shmem keeps it */
	model_free(md);
}

TEST(a_disk_files_tail_past_the_end_may_read_as_zero)
{
	struct model *md = model_new();
	uint8_t buf[8], zero = 0, *host;
	int fd, want;
	long a;
	uint64_t size;

	REQUIRE_EQ(model_spawn(md, 0), 0);
	fd = model_open(md, 0, "/disk/d", O_RDWR | O_CREAT, 0600);
	CHECK_EQ(model_ftruncate(md, 0, fd, 8), 0);
	a = map(md, 0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK_EQ(store(md, 0, a + 10, 0x99, 1), 0);
	CHECK_EQ(store(md, 0, a + 12, 0x77, 1), 0);
	CHECK_EQ(byte_at(md, 0, a + 10), 0x99);
	CHECK(model_read_alternative(md, 0, (uint64_t)a + 10, &zero, 1));	/* written back: zeroed */
	CHECK_EQ(byte_at(md, 0, a + 10), 0);
	CHECK(!model_read_alternative(md, 0, (uint64_t)a + 11, (const uint8_t *)"\x01", 1));
	/* growing zeroes the old last page's tail (pagecache_isize_extended) */
	CHECK_EQ(model_ftruncate(md, 0, fd, 16), 0);
	CHECK_EQ(model_pread(md, 0, fd, buf, 8, 8), 8);
	CHECK_EQ(buf[4], 0);
	CHECK(model_disk_file(md, 0, &size) && size == 16);
	host = calloc(1, 16);
	CHECK_EQ(model_disk_check(md, 0, host, 16, &want), 0);
	CHECK_EQ(model_disk_check(md, 0, host, 15, &want), 16);
	free(host);
	model_free(md);
}

TEST(descriptors_fork_and_names)
{
	struct model *md = model_new();
	uint64_t size;
	unsigned nlink;
	int fd, fd2;
	long a;

	REQUIRE_EQ(model_spawn(md, 0), 0);
	CHECK_EQ(model_open(md, 0, "/tmp/x", O_RDWR, 0), -ENOENT);
	CHECK_EQ(model_open(md, 0, "/nowhere/x", O_RDWR | O_CREAT, 0600), -ENOENT);
	fd = model_open(md, 0, "/tmp/x", O_RDWR | O_CREAT | O_EXCL, 0600);
	CHECK_EQ(fd, 0);
	CHECK_EQ(model_open(md, 0, "/tmp/x", O_RDWR | O_CREAT | O_EXCL, 0600), -EEXIST);
	CHECK_EQ(model_dup(md, 0, fd), 1);
	CHECK_EQ(model_close(md, 0, 0), 0);
	CHECK_EQ(model_close(md, 0, 0), -EBADF);
	fd2 = model_memfd(md, 0, "y", MFD_ALLOW_SEALING);
	CHECK_EQ(fd2, 0);				/* the lowest free number */
	CHECK_EQ(model_ftruncate(md, 0, fd2, PAGE), 0);
	a = map(md, 0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
	REQUIRE_EQ(model_fork(md, 0, 1), 0);
	CHECK_EQ(store(md, 1, a, 0x42, 1), 0);		/* the child writes the shared page */
	CHECK_EQ(byte_at(md, 0, a), 0x42);
	CHECK_EQ(model_fstat(md, 1, 1, &size, &nlink), 0);
	CHECK_EQ(nlink, 1);
	CHECK_EQ(model_unlink(md, 1, "/tmp/x"), 0);
	CHECK_EQ(model_fstat(md, 0, 1, &size, &nlink), 0);
	CHECK_EQ(nlink, 0);
	/* seals: a writable shared map refuses F_SEAL_WRITE; then writes are EPERM */
	CHECK_EQ(model_fcntl(md, 0, fd2, F_ADD_SEALS, F_SEAL_WRITE), -EBUSY);
	CHECK_EQ(model_munmap(md, 0, (uint64_t)a, PAGE), 0);
	CHECK_EQ(model_munmap(md, 1, (uint64_t)a, PAGE), 0);
	CHECK_EQ(model_fcntl(md, 0, fd2, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW), 0);
	CHECK_EQ(model_pwrite(md, 1, fd2, "z", 1, 0, -EPERM), -EPERM);
	CHECK_EQ(map(md, 0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0), -EPERM);
	CHECK_EQ(model_fcntl(md, 0, fd2, F_GET_SEALS, 0), F_SEAL_WRITE | F_SEAL_GROW);
	CHECK_EQ(model_fcntl(md, 0, 1, F_ADD_SEALS, F_SEAL_WRITE), -EPERM);	/* a tmpfs file: sealed */
	CHECK_EQ(model_exit(md, 1), 0);
	model_free(md);
}

TEST(shared_anonymous_memory_is_shared_with_children)
{
	struct model *md = model_new();
	long a;

	REQUIRE_EQ(model_spawn(md, 0), 0);
	a = map(md, 0, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	REQUIRE(a > 0);
	REQUIRE_EQ(model_fork(md, 0, 1), 0);
	CHECK_EQ(store(md, 0, a + PAGE, 7, 1), 0);
	CHECK_EQ(byte_at(md, 1, a + PAGE), 7);
	CHECK_EQ(model_madvise(md, 1, (uint64_t)a, 2 * PAGE, MADV_REMOVE), 0);
	CHECK_EQ(byte_at(md, 0, a + PAGE), 0);
	CHECK_EQ(model_madvise(md, 1, (uint64_t)a, PAGE, MADV_WIPEONFORK), -EINVAL);
	model_free(md);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
