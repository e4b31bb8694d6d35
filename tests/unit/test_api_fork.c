/*
 * test_api_fork.c - mml_fork, mml_thread_new, mml_exit: copy-on-write in
 * both directions and over generations, threads sharing an address space,
 * and TLBs that must never let a stale translation through.
 *
 * Linux sources read: kernel/fork.c dup_mmap() (every VMA copied unless
 * VM_DONTCOPY), mm/memory.c copy_present_pte() (private writable PTEs are
 * write-protected in parent and child; the anon folio is shared, its
 * PG_anon_exclusive cleared), do_wp_page() / wp_can_reuse_anon_folio() (a
 * write to a shared anon page copies it; to a page no longer shared, reuses
 * it).  Threads (CLONE_VM) share the mm: munmap/mprotect by one thread are
 * seen by the others, which requires the TLB shootdown (flush_tlb_mm_range).
 */
#define _GNU_SOURCE
#include "../harness.h"

#include <stdlib.h>
#include <string.h>

#define RAM	(16ULL << 20)
#define BASE	0x100000000ULL

TEST(fork_pids_and_tids)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *p = h_spawn(m);
	REQUIRE(p);
	struct mml_task *th = NULL, *c = NULL;

	CHECK(mml_task_pid(p) > 0);
	CHECK_EQ(mml_task_tid(p), mml_task_pid(p));	/* the first thread is the leader */
	CHECK(mml_task_machine(p) == m);
	REQUIRE_EQ(mml_thread_new(p, &th), 0);
	REQUIRE(th);
	CHECK_EQ(mml_task_pid(th), mml_task_pid(p));
	CHECK_NE(mml_task_tid(th), mml_task_tid(p));
	REQUIRE_EQ(mml_fork(p, &c), 0);
	REQUIRE(c);
	CHECK_NE(mml_task_pid(c), mml_task_pid(p));
	CHECK_EQ(mml_task_tid(c), mml_task_pid(c));
	struct mml_task *q = h_spawn(m);
	REQUIRE(q);
	CHECK_NE(mml_task_pid(q), mml_task_pid(p));
	CHECK_NE(mml_task_pid(q), mml_task_pid(c));
	CHECK_EQ(mml_exit(th), 0);
	CHECK_EQ(mml_exit(c), 0);
	H_END(m);	/* p and q are still alive: mml_machine_free exits them */
}

TEST(fork_cow_parent_writes)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *p = h_spawn(m);
	REQUIRE(p);
	uint64_t a = h_map(p, BASE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(p, a, 2 * H_PAGE, 0xa0);
	struct mml_task *c = h_fork(p);
	REQUIRE(c);

	h_expect(c, a, 2 * H_PAGE, 0xa0);	/* child sees the parent's data */
	h_fill(p, a, H_PAGE, 0xa1);		/* parent writes after fork */
	h_expect(c, a, H_PAGE, 0xa0);		/* child keeps the snapshot */
	h_expect(p, a, H_PAGE, 0xa1);
	h_expect(p, a + H_PAGE, H_PAGE, 0xa0);
	h_expect(c, a + H_PAGE, H_PAGE, 0xa0);
	CHECK_EQ(mml_exit(c), 0);
	h_expect(p, a, H_PAGE, 0xa1);
	h_expect(p, a + H_PAGE, H_PAGE, 0xa0);
	H_END(m);
}

TEST(fork_cow_child_writes)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *p = h_spawn(m);
	REQUIRE(p);
	uint64_t a = h_map(p, BASE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(p, a, 2 * H_PAGE, 0xb0);
	struct mml_task *c = h_fork(p);
	REQUIRE(c);

	h_fill(c, a + H_PAGE, H_PAGE, 0xb1);
	h_expect(p, a + H_PAGE, H_PAGE, 0xb0);
	h_expect(c, a + H_PAGE, H_PAGE, 0xb1);
	/* Both write the same page: each keeps its own. */
	h_fill(c, a, 100, 0xc1);
	h_fill(p, a + 50, 100, 0xd1);
	h_expect(c, a, 100, 0xc1);
	h_expect(c, a + 100, H_PAGE - 100, 0xb0);
	h_expect(p, a, 50, 0xb0);
	h_expect(p, a + 50, 100, 0xd1);
	h_expect(p, a + 150, H_PAGE - 150, 0xb0);
	/* The parent exits first: the child's memory is unaffected. */
	CHECK_EQ(mml_exit(p), 0);
	h_expect(c, a, 100, 0xc1);
	h_expect(c, a + H_PAGE, H_PAGE, 0xb1);
	H_END(m);
}

TEST(fork_three_generations)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *p = h_spawn(m);
	REQUIRE(p);
	/* page 0: written by each generation; page 1: nobody after fork;
	 * page 2: only by the grandparent after both forks; page 3: never faulted. */
	uint64_t a = h_map(p, BASE, 4 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(p, a, 3 * H_PAGE, 0x01);
	struct mml_task *c = h_fork(p);
	REQUIRE(c);
	h_fill(c, a, H_PAGE, 0x02);
	struct mml_task *g = h_fork(c);
	REQUIRE(g);
	h_fill(g, a, H_PAGE, 0x03);
	h_fill(p, a + 2 * H_PAGE, H_PAGE, 0x04);

	h_expect(p, a, H_PAGE, 0x01);
	h_expect(c, a, H_PAGE, 0x02);
	h_expect(g, a, H_PAGE, 0x03);
	h_expect(p, a + H_PAGE, H_PAGE, 0x01);
	h_expect(c, a + H_PAGE, H_PAGE, 0x01);
	h_expect(g, a + H_PAGE, H_PAGE, 0x01);
	h_expect(p, a + 2 * H_PAGE, H_PAGE, 0x04);
	h_expect(c, a + 2 * H_PAGE, H_PAGE, 0x01);
	h_expect(g, a + 2 * H_PAGE, H_PAGE, 0x01);
	h_expect(p, a + 3 * H_PAGE, H_PAGE, 0);
	h_expect(c, a + 3 * H_PAGE, H_PAGE, 0);
	h_expect(g, a + 3 * H_PAGE, H_PAGE, 0);
	/* The never-faulted page is private to each after a write. */
	h_fill(g, a + 3 * H_PAGE, H_PAGE, 0x05);
	h_expect(c, a + 3 * H_PAGE, H_PAGE, 0);
	h_expect(p, a + 3 * H_PAGE, H_PAGE, 0);

	/* The middle generation goes away: the others keep their views. */
	CHECK_EQ(mml_exit(c), 0);
	h_expect(p, a, H_PAGE, 0x01);
	h_expect(g, a, H_PAGE, 0x03);
	h_expect(g, a + H_PAGE, H_PAGE, 0x01);
	h_fill(g, a + H_PAGE, H_PAGE, 0x06);
	h_expect(p, a + H_PAGE, H_PAGE, 0x01);
	CHECK_EQ(mml_exit(g), 0);
	H_END(m);
}

TEST(fork_copies_the_layout)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *p = h_spawn(m);
	REQUIRE(p);
	REQUIRE(h_map(p, BASE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED));
	REQUIRE(h_map(p, BASE + 4 * H_PAGE, H_PAGE, PROT_READ, H_ANON | MAP_FIXED));
	REQUIRE(h_map(p, BASE + 6 * H_PAGE, 3 * H_PAGE, PROT_NONE, H_ANON | MAP_FIXED));
	h_fill(p, BASE, H_PAGE, 0x10);
	struct mml_task *c = h_fork(p);
	REQUIRE(c);
	char *pm = h_show_maps(p), *cm = h_show_maps(c);

	CHECK(pm && cm);
	if (pm && cm)
		CHECKF(strcmp(pm, cm) == 0, "parent maps:\n%s\nchild maps:\n%s", pm, cm);
	CHECK_EQ(h_count_lines(cm), 3);
	free(pm);
	free(cm);
	CHECK_EQ(h_poke(c, BASE + 4 * H_PAGE, 1), -EFAULT);
	CHECK_EQ(h_peek(c, BASE + 6 * H_PAGE, NULL), -EFAULT);
	/* The child's address space is its own. */
	CHECK_EQ(mml_munmap(c, BASE, 2 * H_PAGE), 0);
	h_expect(p, BASE, H_PAGE, 0x10);
	CHECK_EQ(mml_mprotect(p, BASE + 4 * H_PAGE, H_PAGE, H_RW), 0);
	CHECK_EQ(h_poke(c, BASE + 4 * H_PAGE, 1), -EFAULT);
	CHECK_EQ(mml_exit(c), 0);
	H_END(m);
}

TEST(fork_of_unfaulted_and_read_faulted_memory)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *p = h_spawn(m);
	REQUIRE(p);
	uint64_t a = h_map(p, BASE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_expect(p, a + H_PAGE, H_PAGE, 0);	/* zero page mapped */
	struct mml_task *c = h_fork(p);
	REQUIRE(c);
	h_expect(c, a, 2 * H_PAGE, 0);
	h_fill(c, a, 2 * H_PAGE, 0x5c);
	h_expect(p, a, 2 * H_PAGE, 0);
	h_fill(p, a + H_PAGE, 10, 0x5d);
	h_expect(c, a, 2 * H_PAGE, 0x5c);
	CHECK_EQ(mml_exit(c), 0);
	H_END(m);
}

TEST(threads_share_the_address_space)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t1 = h_spawn(m);
	REQUIRE(t1);
	struct mml_task *t2 = NULL;

	REQUIRE_EQ(mml_thread_new(t1, &t2), 0);
	uint64_t a = h_map(t1, BASE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(t1, a, H_PAGE, 0x71);
	h_expect(t2, a, H_PAGE, 0x71);
	h_fill(t2, a + H_PAGE, H_PAGE, 0x72);
	h_expect(t1, a + H_PAGE, H_PAGE, 0x72);
	/* A mapping made by one thread is there for the other. */
	uint64_t b = h_map(t2, 0, H_PAGE, H_RW, H_ANON);
	REQUIRE(b);
	h_fill(t1, b, H_PAGE, 0x73);
	h_expect(t2, b, H_PAGE, 0x73);
	/* The leader exits; the other thread still has the process. */
	CHECK_EQ(mml_exit(t1), 0);
	h_expect(t2, a, H_PAGE, 0x71);
	H_END(m);
}

TEST(tlb_munmap_by_another_thread)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t1 = h_spawn(m);
	REQUIRE(t1);
	struct mml_task *t2 = NULL;

	REQUIRE_EQ(mml_thread_new(t1, &t2), 0);
	uint64_t a = h_map(t1, BASE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(t1, a, 2 * H_PAGE, 0x81);
	h_expect(t2, a, 2 * H_PAGE, 0x81);	/* t2's TLB now holds both pages */
	CHECK_EQ(h_poke(t2, a, 0x82), 0);

	CHECK_EQ(mml_munmap(t1, a, H_PAGE), 0);
	CHECK_EQ(h_peek(t2, a, NULL), -EFAULT);
	CHECK_EQ(h_poke(t2, a, 0x83), -EFAULT);
	h_expect(t2, a + H_PAGE, H_PAGE, 0x81);
	/* Something new at the same address: t2 must see it, not the old frame. */
	REQUIRE(h_map(t1, a, H_PAGE, H_RW, H_ANON | MAP_FIXED));
	h_expect(t2, a, H_PAGE, 0);
	h_fill(t2, a, H_PAGE, 0x84);
	h_expect(t1, a, H_PAGE, 0x84);
	H_END(m);
}

TEST(tlb_mprotect_by_another_thread)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t1 = h_spawn(m);
	REQUIRE(t1);
	struct mml_task *t2 = NULL;

	REQUIRE_EQ(mml_thread_new(t1, &t2), 0);
	uint64_t a = h_map(t1, BASE, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(t2, a, H_PAGE, 0x91);		/* t2 holds a writable translation */

	CHECK_EQ(mml_mprotect(t1, a, H_PAGE, PROT_READ), 0);
	CHECK_EQ(h_poke(t2, a, 0x92), -EFAULT);
	h_expect(t2, a, H_PAGE, 0x91);
	CHECK_EQ(mml_mprotect(t1, a, H_PAGE, PROT_NONE), 0);
	CHECK_EQ(h_peek(t2, a, NULL), -EFAULT);
	CHECK_EQ(mml_mprotect(t1, a, H_PAGE, H_RW), 0);
	h_fill(t2, a, H_PAGE, 0x93);
	h_expect(t1, a, H_PAGE, 0x93);
	H_END(m);
}

TEST(tlb_madvise_dontneed_by_another_thread)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t1 = h_spawn(m);
	REQUIRE(t1);
	struct mml_task *t2 = NULL;

	REQUIRE_EQ(mml_thread_new(t1, &t2), 0);
	uint64_t a = h_map(t1, BASE, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(t2, a, H_PAGE, 0xa1);
	CHECK_EQ(mml_madvise(t1, a, H_PAGE, MADV_DONTNEED), 0);
	h_expect(t2, a, H_PAGE, 0);		/* not the freed frame */
	h_fill(t2, a, H_PAGE, 0xa2);
	h_expect(t1, a, H_PAGE, 0xa2);
	H_END(m);
}

TEST(tlb_fork_write_protects_other_threads)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t1 = h_spawn(m);
	REQUIRE(t1);
	struct mml_task *t2 = NULL;

	REQUIRE_EQ(mml_thread_new(t1, &t2), 0);
	uint64_t a = h_map(t1, BASE, H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(t2, a, H_PAGE, 0xc1);		/* t2 caches a writable translation */

	struct mml_task *c = h_fork(t1);
	REQUIRE(c);
	/* fork write-protected the PTE: t2's write must break COW, not land in
	 * the page the child shares. */
	h_fill(t2, a, H_PAGE, 0xc2);
	h_expect(c, a, H_PAGE, 0xc1);
	h_expect(t1, a, H_PAGE, 0xc2);
	/* And the other way round. */
	h_fill(c, a, H_PAGE, 0xc3);
	h_expect(t1, a, H_PAGE, 0xc2);
	h_expect(t2, a, H_PAGE, 0xc2);
	CHECK_EQ(mml_exit(c), 0);
	H_END(m);
}

TEST(exit_gives_memory_back)
{
	struct mml_machine *m = h_machine(RAM);
	long free0 = mml_meminfo(m, "MemFree");
	struct mml_task *p = h_spawn(m);
	REQUIRE(p);
	uint64_t a = h_map(p, BASE, 16 * H_PAGE, H_RW, H_ANON | MAP_FIXED);
	REQUIRE(a);
	h_fill(p, a, 16 * H_PAGE, 0xe1);
	struct mml_task *c = h_fork(p);
	REQUIRE(c);
	h_fill(c, a, 8 * H_PAGE, 0xe2);
	struct mml_task *th = NULL;

	REQUIRE_EQ(mml_thread_new(c, &th), 0);
	CHECK(mml_meminfo(m, "MemFree") <= free0 - 24 * 4);
	CHECK_EQ(mml_exit(c), 0);		/* the process lives on in th */
	h_expect(th, a, 8 * H_PAGE, 0xe2);
	CHECK_EQ(mml_exit(th), 0);
	CHECK_EQ(mml_exit(p), 0);
	CHECK_EQ(mml_meminfo(m, "AnonPages"), 0);
	CHECK_EQ(mml_meminfo(m, "MemFree"), free0);
	H_END(m);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
