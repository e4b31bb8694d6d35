/*
 * test_overcommit.c - commit accounting and the overcommit policy
 * (mm/util.c's __vm_enough_memory), through the public API: which calls
 * charge Committed_AS and which give it back, VM_ACCOUNT in smaps, the
 * three policies of /proc/sys/vm/overcommit_memory and their knobs.
 *
 * What Linux 6.18 does, and these tests check:
 *  - mmap charges private writable memory (accountable_mapping), not
 *    read-only, shared file or MAP_NORESERVE mappings; MAP_SHARED |
 *    MAP_ANONYMOUS charges its shmem file (shmem_acct_size) until the
 *    file goes; munmap and exit give the charge back; a MAP_FIXED mapping
 *    takes over the charge of the accounted mapping it replaces.
 *  - mprotect making a private mapping writable charges it; made
 *    read-only it keeps the charge unless never written (no anon_vma).
 *  - mremap charges what an accounted mapping grows by, the whole new
 *    range for MREMAP_DONTUNMAP; fork charges the child's copies.
 *  - mode 2 refuses once Committed_AS would reach CommitLimit (swap +
 *    ratio% of RAM, or overcommit_kbytes) less the reserves; MAP_NORESERVE
 *    counts there; mode 0 refuses one request larger than RAM + swap;
 *    mode 1 refuses nothing.  overcommit_ratio and overcommit_kbytes each
 *    zero the other.  A call that adds nothing asks nothing: a MAP_FIXED
 *    mapping over as much accounted memory passes even over the limit.
 *  - tmpfs files, memfd and MAP_SHARED|MAP_ANONYMOUS|MAP_NORESERVE
 *    (SHMEM_F_NORESERVE) charge a page as it enters the file (write,
 *    fault, fallocate; not a read of a hole) and give it back when it
 *    leaves (truncate, hole punch, the file's end); a swapped-out page
 *    stays charged.  Refused, write() fails with ENOSPC and a fault is
 *    SIGBUS (shmem_acct_blocks' failure is reported as -ENOSPC).
 */
#define _GNU_SOURCE
#include <string.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>

#include "../harness.h"

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

#define BASE	0x10000000ULL
#define KB(p)	((long)(p) * 4)

static long committed(struct mml_machine *m)
{
	return mml_meminfo(m, "Committed_AS");
}

static bool sys_is(struct mml_machine *m, const char *path, const char *want)
{
	char buf[64];
	long n = mml_sys_read(m, path, buf, sizeof(buf) - 1);

	if (n < 0)
		return CHECKF(false, "%s: %ld", path, n);
	buf[n] = '\0';
	return CHECKF(!strcmp(buf, want), "%s reads \"%s\", not \"%s\"", path, buf, want);
}

TEST(every_mapping_call_charges_or_gives_back_as_linux)
{
	struct mml_machine *m = h_machine(16 << 20);
	struct mml_task *t = h_spawn(m), *c;
	long base;

	REQUIRE(t);
	base = committed(m);
	REQUIRE(h_map(t, BASE, 64 << 10, H_RW, H_ANON | MAP_FIXED));
	CHECK_EQ(committed(m), base + 64);
	REQUIRE(h_map(t, BASE + (1 << 20), 64 << 10, PROT_READ, H_ANON | MAP_FIXED));
	CHECK_EQ(committed(m), base + 64);		/* read-only: no charge */
	CHECK_EQ(mml_mprotect(t, BASE + (1 << 20), 32 << 10, PROT_READ | PROT_WRITE), 0);
	CHECK_EQ(committed(m), base + 96);		/* made writable: charged */
	CHECK_EQ(mml_mprotect(t, BASE + (1 << 20), 32 << 10, PROT_READ), 0);
	CHECK_EQ(committed(m), base + 64);		/* never written: given back */
	CHECK_EQ(mml_mprotect(t, BASE, 64 << 10, PROT_READ), 0);
	CHECK_EQ(committed(m), base);			/* never written either: given back */
	CHECK_EQ(mml_mprotect(t, BASE, 64 << 10, PROT_READ | PROT_WRITE), 0);
	CHECK_EQ(committed(m), base + 64);
	CHECK(h_fill(t, BASE, 4096, 1));
	CHECK_EQ(mml_mprotect(t, BASE, 64 << 10, PROT_READ), 0);
	CHECK_EQ(committed(m), base + 64);		/* written: it keeps its charge */

	REQUIRE(h_map(t, BASE + (2 << 20), 64 << 10, H_RW, H_ANON | MAP_FIXED | MAP_NORESERVE));
	CHECK_EQ(committed(m), base + 64);		/* MAP_NORESERVE in mode 0 */
	REQUIRE(h_map(t, BASE + (3 << 20), 64 << 10, H_RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED));
	CHECK_EQ(committed(m), base + 128);		/* the shmem file's */
	/* MAP_FIXED over the accounted mapping: its charge passes on, nothing more */
	REQUIRE(h_map(t, BASE, 64 << 10, H_RW, H_ANON | MAP_FIXED));
	CHECK_EQ(committed(m), base + 128);

	c = h_fork(t);
	REQUIRE(c);
	CHECK_EQ(committed(m), base + 192);		/* the child's copy of the private one */
	CHECK_EQ(mml_exit(c), 0);
	CHECK_EQ(committed(m), base + 128);

	CHECK_EQ(mml_mremap(t, BASE, 64 << 10, 128 << 10, MREMAP_MAYMOVE, 0), (long)BASE);
	CHECK_EQ(committed(m), base + 192);		/* grown in place by 64k */
	CHECK_EQ(mml_mremap(t, BASE, 128 << 10, 128 << 10, MREMAP_MAYMOVE | MREMAP_FIXED, BASE + (5 << 20)),
		 (long)(BASE + (5 << 20)));
	CHECK_EQ(committed(m), base + 192);		/* moved: its charge moves with it */
	CHECK_EQ(mml_mremap(t, BASE + (5 << 20), 128 << 10, 128 << 10,
			    MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, BASE + (6 << 20)),
		 (long)(BASE + (6 << 20)));
	CHECK_EQ(committed(m), base + 320);		/* DONTUNMAP: both ranges */
	CHECK_EQ(mml_mremap(t, BASE + (6 << 20), 128 << 10, 64 << 10, 0, 0), (long)(BASE + (6 << 20)));
	CHECK_EQ(committed(m), base + 256);		/* shrunk */

	CHECK_EQ(mml_munmap(t, BASE, 8 << 20), 0);
	CHECK_EQ(committed(m), base);			/* the shmem file went with its only mapping */
	H_END(m);
}

TEST(strict_overcommit_refuses_past_the_commit_limit)
{
	struct mml_machine *m = h_machine(16 << 20);
	struct mml_task *t = h_spawn(m), *c = NULL;
	long limit, room, base;

	REQUIRE(t);
	sys_is(m, "/proc/sys/vm/overcommit_memory", "0\n");
	sys_is(m, "/proc/sys/vm/overcommit_ratio", "50\n");
	sys_is(m, "/proc/sys/vm/overcommit_kbytes", "0\n");
	CHECK_EQ(mml_meminfo(m, "CommitLimit"), 8192);	/* half of 16 MiB, no swap */
	REQUIRE_EQ(mml_sys_write(m, "/proc/sys/vm/overcommit_memory", "2"), 0);
	limit = mml_meminfo(m, "CommitLimit");
	base = committed(m);
	/* the admin reserve (a 32nd of free memory, at most 8 MiB) is kept from unprivileged processes */
	room = limit - base - 512;
	REQUIRE(room > 1024);
	CHECK_EQ(mml_mmap(t, BASE, (uint64_t)(room + 64) << 10, H_RW, H_ANON | MAP_FIXED, -1, 0), -ENOMEM);
	CHECK_EQ(mml_mmap(t, BASE, (uint64_t)(room + 64) << 10, H_RW, H_ANON | MAP_FIXED | MAP_NORESERVE, -1, 0),
		 -ENOMEM);			/* mode 2 counts MAP_NORESERVE too */
	CHECK_EQ(mml_mmap(t, BASE, (uint64_t)(room + 64) << 10, PROT_READ, H_ANON | MAP_FIXED, -1, 0), (long)BASE);
	CHECK_EQ(mml_mprotect(t, BASE, (uint64_t)(room + 64) << 10, PROT_READ | PROT_WRITE), -ENOMEM);
	CHECK_EQ(mml_munmap(t, BASE, (uint64_t)(room + 64) << 10), 0);
	CHECK_EQ(mml_mmap(t, BASE, (uint64_t)(room / 2) << 10, H_RW, H_ANON | MAP_FIXED, -1, 0), (long)BASE);
	CHECK_EQ(committed(m), base + room / 2 / 4 * 4);
	CHECK_EQ(mml_mremap(t, BASE, (uint64_t)(room / 2) << 10, (uint64_t)room << 10, MREMAP_MAYMOVE, 0), -ENOMEM);
	CHECK_EQ(mml_fork(t, &c), -ENOMEM);		/* the child's copy would not fit */
	CHECK(!c);
	CHECK_EQ(committed(m), base + room / 2 / 4 * 4);	/* nothing left charged by the refusals */
	/* over the limit, a MAP_FIXED mapping that replaces as much accounted memory asks for nothing */
	CHECK_EQ(mml_sys_write(m, "/proc/sys/vm/overcommit_kbytes", "1024"), 0);
	CHECK_EQ(mml_mmap(t, BASE + (1ULL << 30), 4096, H_RW, H_ANON | MAP_FIXED, -1, 0), -ENOMEM);
	CHECK_EQ(mml_mmap(t, BASE, (uint64_t)(room / 2) << 10, H_RW, H_ANON | MAP_FIXED, -1, 0), (long)BASE);
	CHECK_EQ(committed(m), base + room / 2 / 4 * 4);
	CHECK_EQ(mml_sys_write(m, "/proc/sys/vm/overcommit_ratio", "50"), 0);

	/* kbytes and ratio zero each other; CommitLimit follows */
	CHECK_EQ(mml_sys_write(m, "/proc/sys/vm/overcommit_kbytes", "4096"), 0);
	sys_is(m, "/proc/sys/vm/overcommit_ratio", "0\n");
	CHECK_EQ(mml_meminfo(m, "CommitLimit"), 4096);
	CHECK_EQ(mml_sys_write(m, "/proc/sys/vm/overcommit_ratio", "100"), 0);
	sys_is(m, "/proc/sys/vm/overcommit_kbytes", "0\n");
	CHECK_EQ(mml_meminfo(m, "CommitLimit"), 16384);
	CHECK_EQ(mml_sys_write(m, "/proc/sys/vm/overcommit_memory", "3"), -EINVAL);
	CHECK_EQ(mml_sys_write(m, "/proc/sys/vm/overcommit_memory", "x"), -EINVAL);
	CHECK_EQ(mml_munmap(t, BASE, (uint64_t)room << 10), 0);
	H_END(m);
}

TEST(guess_refuses_one_request_larger_than_ram_and_swap_always_refuses_none)
{
	struct mml_machine *m = h_machine(16 << 20);
	struct mml_task *t = h_spawn(m);

	REQUIRE(t);
	CHECK_EQ(mml_mmap(t, BASE, 16 << 20, H_RW, H_ANON | MAP_FIXED, -1, 0), (long)BASE);	/* all of RAM: fine */
	CHECK_EQ(mml_mmap(t, BASE + (1ULL << 30), (16 << 20) + 4096, H_RW, H_ANON | MAP_FIXED, -1, 0), -ENOMEM);
	CHECK_EQ(mml_mmap(t, BASE + (1ULL << 30), 1ULL << 40, H_RW, H_ANON | MAP_FIXED | MAP_NORESERVE, -1, 0),
		 (long)(BASE + (1ULL << 30)));	/* not accounted */
	CHECK_EQ(mml_sys_write(m, "/proc/sys/vm/overcommit_memory", "1"), 0);
	CHECK_EQ(mml_mmap(t, BASE + (1ULL << 42), 1ULL << 40, H_RW, H_ANON | MAP_FIXED, -1, 0),
		 (long)(BASE + (1ULL << 42)));
	CHECK_EQ(mml_munmap(t, BASE + (1ULL << 42), 1ULL << 40), 0);
	H_END(m);
}

TEST(tmpfs_and_memfd_charge_page_by_page)
{
	struct mml_machine *m = h_machine(16 << 20);
	struct mml_task *t = h_spawn(m);
	char buf[4096] = { 7 };
	long base, room;
	int fd, tf;

	REQUIRE(t);
	base = committed(m);
	fd = mml_memfd_create(t, "acct", 0);
	REQUIRE(fd >= 0);
	CHECK_EQ(mml_ftruncate(t, fd, 64 << 10), 0);
	CHECK_EQ(committed(m), base);			/* a size is no page */
	CHECK_EQ(mml_pread(t, fd, buf, sizeof(buf), 0), (long)sizeof(buf));
	CHECK_EQ(committed(m), base);			/* a hole read allocates nothing */
	CHECK_EQ(mml_pwrite(t, fd, buf, sizeof(buf), 8192), (long)sizeof(buf));
	CHECK_EQ(committed(m), base + 4);
	CHECK_EQ(mml_mmap(t, BASE, 64 << 10, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0), (long)BASE);
	CHECK_EQ(mml_read(t, BASE + 4096, buf, 1), 0);
	CHECK_EQ(committed(m), base + 8);		/* a read fault fills the hole */
	CHECK_EQ(mml_fallocate(t, fd, 0, 16 << 10, 16 << 10), 0);
	CHECK_EQ(committed(m), base + 24);
	CHECK_EQ(mml_fallocate(t, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 16 << 10, 8 << 10), 0);
	CHECK_EQ(committed(m), base + 16);
	CHECK_EQ(mml_ftruncate(t, fd, 4096), 0);
	CHECK_EQ(committed(m), base);			/* only page 0 was ever read: a hole */
	CHECK_EQ(mml_munmap(t, BASE, 64 << 10), 0);
	CHECK_EQ(mml_pwrite(t, fd, buf, sizeof(buf), 0), (long)sizeof(buf));
	CHECK_EQ(committed(m), base + 4);
	CHECK_EQ(mml_close(t, fd), 0);
	CHECK_EQ(committed(m), base);			/* the file's end gives it back */

	/* MAP_SHARED|MAP_ANONYMOUS|MAP_NORESERVE: charged as touched */
	CHECK_EQ(mml_mmap(t, BASE, 64 << 10, H_RW, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0),
		 (long)BASE);
	CHECK_EQ(committed(m), base);
	CHECK(h_fill(t, BASE, 8192, 3));
	CHECK_EQ(committed(m), base + 8);
	CHECK_EQ(mml_munmap(t, BASE, 64 << 10), 0);
	CHECK_EQ(committed(m), base);

	/* strict mode: write() past the limit is ENOSPC, a fault SIGBUS, nothing charged by either */
	REQUIRE_EQ(mml_sys_write(m, "/proc/sys/vm/overcommit_memory", "2"), 0);
	room = mml_meminfo(m, "CommitLimit") - committed(m) - 512;
	REQUIRE(room > 64);
	tf = mml_open(t, "/dev/shm/acct", O_RDWR | O_CREAT, 0600);
	REQUIRE(tf >= 0);
	CHECK_EQ(mml_ftruncate(t, tf, (room + 64) << 10), 0);
	CHECK_EQ(mml_fallocate(t, tf, 0, 0, (room - 4) << 10), 0);
	CHECK_EQ(committed(m), base + (room - 4) / 4 * 4);
	CHECK_EQ(mml_pwrite(t, tf, buf, 4096, (room + 32) << 10), -ENOSPC);
	CHECK_EQ(mml_mmap(t, BASE, (uint64_t)(room + 64) << 10, H_RW, MAP_SHARED | MAP_FIXED, tf, 0), (long)BASE);
	CHECK_EQ(mml_write(t, BASE + ((uint64_t)(room + 32) << 10), buf, 1), -EIO);	/* SIGBUS */
	CHECK_EQ(committed(m), base + (room - 4) / 4 * 4);
	CHECK_EQ(mml_munmap(t, BASE, (uint64_t)(room + 64) << 10), 0);
	CHECK_EQ(mml_close(t, tf), 0);
	CHECK_EQ(committed(m), base + (room - 4) / 4 * 4);	/* still named: the pages stay */
	CHECK_EQ(mml_unlink(t, "/dev/shm/acct"), 0);
	CHECK_EQ(committed(m), base);
	H_END(m);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
