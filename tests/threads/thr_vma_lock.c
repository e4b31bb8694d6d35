/*
 * thr_vma_lock.c - per-VMA locks with real threads: two threads of one
 * process fault their own VMAs under lock_vma_under_rcu while a third
 * maps, splits (mprotect), moves (mremap) and unmaps a VMA of its own in
 * a loop, and then two threads fault disjoint halves of one VMA.  Every
 * fault of the faulters is handled under a VMA lock (vma_lock_success
 * counts them; none needs mmap_lock but the first of each VMA, which may
 * find mmap_lock taken while it prepares the anon_vma), every page holds
 * its bytes, and the checker passes.
 *
 * Bounded iterations, fixed data, no timing assertions.
 */
#include "../harness.h"

#include <pthread.h>
#include <sys/mman.h>

#ifndef MREMAP_MAYMOVE
#define MREMAP_MAYMOVE		1
#define MREMAP_FIXED		2
#endif

#define NPAGES	256
#define ROUNDS	40
#define R1	0x100000000ULL
#define R2	0x200000000ULL
#define RC	0x300000000ULL	/* the changer's, and where it moves it */
#define RC2	0x380000000ULL

struct faulter {
	struct mml_task *t;
	uint64_t base, first, n;
	int err;
};

static uint8_t page_byte(uint64_t p)
{
	return (uint8_t)(p * 13 + 5);
}

static void *fault_pages(void *arg)
{
	struct faulter *f = arg;

	for (uint64_t p = f->first; p < f->first + f->n && !f->err; p++) {
		uint8_t v = page_byte(p);

		f->err = mml_write(f->t, f->base + p * H_PAGE, &v, 1);
	}
	return NULL;
}

struct changer {
	struct mml_task *t;
	int bad;
};

static void *change_vmas(void *arg)
{
	struct changer *c = arg;

	for (int i = 0; i < ROUNDS && !c->bad; i++) {
		uint8_t v = 1;

		if (mml_mmap(c->t, RC, 16 * H_PAGE, H_RW, H_ANON | MAP_FIXED, -1, 0) != (long)RC ||
		    mml_write(c->t, RC, &v, 1) || mml_mprotect(c->t, RC + 4 * H_PAGE, 4 * H_PAGE, PROT_READ) ||
		    mml_mremap(c->t, RC, 16 * H_PAGE, 16 * H_PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, RC2) != (long)RC2 ||
		    mml_munmap(c->t, RC2, 16 * H_PAGE))
			c->bad = i + 1;
	}
	return NULL;
}

static void check_pages(struct mml_task *t, uint64_t base, uint64_t n)
{
	for (uint64_t p = 0; p < n; p++) {
		uint8_t v = 0;

		CHECK_EQ(mml_read(t, base + p * H_PAGE, &v, 1), 0);
		CHECK_EQ(v, page_byte(p));
	}
}

TEST(thr_vma_lock_faults_beside_vma_writers)
{
	struct mml_machine *m = mml_machine_new(&(struct mml_config){ .ram_bytes = 16ULL << 20 });
	struct mml_task *t[3];
	struct faulter f[2];
	struct changer c;
	pthread_t th[3];
	long success;

	REQUIRE(m);
	REQUIRE_EQ(mml_spawn(m, &t[0]), 0);
	REQUIRE_EQ(mml_thread_new(t[0], &t[1]), 0);
	REQUIRE_EQ(mml_thread_new(t[0], &t[2]), 0);
	REQUIRE_EQ(mml_mmap(t[0], R1, NPAGES * H_PAGE, H_RW, H_ANON | MAP_FIXED, -1, 0), (long)R1);
	REQUIRE_EQ(mml_mmap(t[0], R2, NPAGES * H_PAGE, H_RW, H_ANON | MAP_FIXED, -1, 0), (long)R2);

	/* Two VMAs, one thread each, beside the changer. */
	f[0] = (struct faulter){ t[0], R1, 0, NPAGES, 0 };
	f[1] = (struct faulter){ t[1], R2, 0, NPAGES, 0 };
	c = (struct changer){ t[2], 0 };
	pthread_create(&th[0], NULL, fault_pages, &f[0]);
	pthread_create(&th[1], NULL, fault_pages, &f[1]);
	pthread_create(&th[2], NULL, change_vmas, &c);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	CHECK_EQ(f[0].err, 0);
	CHECK_EQ(f[1].err, 0);
	CHECK_EQ(c.bad, 0);
	success = mml_vmstat(m, "vma_lock_success");
	/* each faulter's first fault may have had to wait for the anon_vma: a retry, then mmap_lock */
	CHECK(success >= 2 * NPAGES - 2);
	CHECK(mml_vmstat(m, "vma_lock_retry") <= 2);
	check_pages(t[2], R1, NPAGES);
	check_pages(t[2], R2, NPAGES);
	REQUIRE_EQ(mml_munmap(t[0], R2, NPAGES * H_PAGE), 0);

	/* One VMA, disjoint halves: the same VMA's read lock, held by both at once. */
	f[0] = (struct faulter){ t[0], R2, 0, NPAGES / 2, 0 };
	f[1] = (struct faulter){ t[1], R2, NPAGES / 2, NPAGES / 2, 0 };
	REQUIRE_EQ(mml_mmap(t[0], R2, NPAGES * H_PAGE, H_RW, H_ANON | MAP_FIXED, -1, 0), (long)R2);
	pthread_create(&th[0], NULL, fault_pages, &f[0]);
	pthread_create(&th[1], NULL, fault_pages, &f[1]);
	pthread_join(th[0], NULL);
	pthread_join(th[1], NULL);
	CHECK_EQ(f[0].err, 0);
	CHECK_EQ(f[1].err, 0);
	check_pages(t[2], R2, NPAGES);
	CHECK(mml_vmstat(m, "vma_lock_success") >= success + NPAGES - 1);

	for (int i = 3; i-- > 0;)
		mml_exit(t[i]);
	CHECK_EQ(mml_check(m), 0);
	CHECK_EQ(mml_machine_free(m), 0);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
