/*
 * thr_device.c - a device with its own MMU racing the process it mirrors
 * (seed 002): device threads read and write while CPU threads of the same
 * process write the same pages (COW after fork), fork, mprotect, swap out
 * and unmap.  Whatever the interleaving, no device access may go through
 * a translation the process has changed (the oracle reports it), no write
 * of either side is lost, and unmapping under the device's reads leaves
 * nothing behind (hmm-tests' anon_teardown).
 *
 * The device writes the upper half of the pages, the CPU the lower half,
 * each its own counter, read back at once; the device also reads every
 * page, the CPU's ones through whatever translation it has, and now and
 * then makes one exclusive (make_device_exclusive).  Bounded iterations, no
 * timing assertions.  THR_DEVICE_BUG=<zoo entry> switches a bug on; the
 * test then expects it to show, by a report or a lost write (by hand:
 * the fuzzer and the scenarios catch every entry without a race, and a
 * race only sometimes).
 */
#include "../harness.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BASE	0x100000000ULL
#define NPAGES	8
#define ITERS	4000		/* the changer's steps / 20; the others run while it does */
#define MAX_OPS	2000000		/* a bound on the device's and the CPU's loops */

struct shared {
	pthread_barrier_t go;		/* every thread starts at once */
	struct mml_machine *m;
	struct mml_task *cpu, *other;
	struct mml_device *dev;
	int stop;			/* the changer is done: READ_ONCE / WRITE_ONCE */
	long symptoms;			/* THR_DEVICE_BUG: lost writes seen (atomic) */
};

static const char *bug(void)
{
	return getenv("THR_DEVICE_BUG");
}

/*
 * A write must read back.  With a bug switched on, a lost one is one more
 * sign that it showed (the oracle drops a write through a stale
 * translation after reporting it); otherwise a failed check.
 */
#define WRITE_KEPT(s, ok, ...)								\
	do {										\
		if (bug())								\
			__atomic_add_fetch(&(s)->symptoms, !(ok), __ATOMIC_RELAXED);	\
		else									\
			CHECKF(ok, __VA_ARGS__);					\
	} while (0)

static bool stopped(struct shared *s)
{
	return __atomic_load_n(&s->stop, __ATOMIC_RELAXED);
}

static uint64_t page_addr(unsigned i)
{
	return BASE + (uint64_t)(i % NPAGES) * H_PAGE;
}

static void *device_thread(void *arg)
{
	struct shared *s = arg;

	pthread_barrier_wait(&s->go);
	for (uint64_t c = 1; !stopped(s) && c <= MAX_OPS; c++) {
		/* The device writes the upper half of the pages, the CPU the lower half. */
		uint64_t a = page_addr(NPAGES / 2 + (unsigned)c % (NPAGES / 2)), got = 0, any;
		int err = mml_device_write(s->dev, a, &c, sizeof(c));

		/* mprotect may make the range read-only meanwhile. */
		if (err != -EPERM) {
			CHECK_EQ(err, 0);
			CHECK_EQ(mml_device_read(s->dev, a, &got, sizeof(got)), 0);
			WRITE_KEPT(s, got == c, "device lost its write to %#llx: wrote %llu, reads %llu",
				   (unsigned long long)a, (unsigned long long)c, (unsigned long long)got);
		}
		/* Through whatever translation it has of another page: the oracle checks it. */
		CHECK_EQ(mml_device_read(s->dev, page_addr((unsigned)(c * 5 + 1)), &any, sizeof(any)), 0);
		/* Now and then a page for atomics: fork, the CPU or the device's own fault take it back. */
		if (c % 64 == 0) {
			err = mml_device_make_exclusive(s->dev, page_addr((unsigned)(c / 64)), 1);
			CHECK(err == 0 || err == -EFAULT);	/* EFAULT: read-only for a while */
		}
	}
	return NULL;
}

static void *cpu_thread(void *arg)
{
	struct shared *s = arg;

	pthread_barrier_wait(&s->go);
	for (uint64_t c = 1; !stopped(s) && c <= MAX_OPS; c++) {
		uint64_t a = page_addr((unsigned)(c * 3) % (NPAGES / 2)) + 8, got = 0;
		int err = mml_write(s->cpu, a, &c, sizeof(c));

		if (err == -EFAULT)
			continue;	/* read-only for a while */
		CHECK_EQ(err, 0);
		CHECK_EQ(mml_read(s->cpu, a, &got, sizeof(got)), 0);
		WRITE_KEPT(s, got == c, "the process lost its write to %#llx", (unsigned long long)a);
	}
	return NULL;
}

/*
 * Fork (write-protect, then COW while the child lives), mprotect back and
 * forth, reclaim, swap out.  One child lives at a time, until the next
 * fork, so that the pages are shared most of the time.
 */
static void *changer_thread(void *arg)
{
	struct shared *s = arg;
	struct mml_task *child = NULL;

	pthread_barrier_wait(&s->go);
	for (int i = 0; i < ITERS / 20; i++) {
		struct timespec pause = { 0, 300 * 1000 };

		switch (i % 8) {
		default:
			if (child)
				CHECK_EQ(mml_exit(child), 0);
			child = NULL;
			if (CHECK_EQ(mml_fork(s->other, &child), 0)) {
				uint64_t v = 0xdead;

				CHECK_EQ(mml_write(child, page_addr((unsigned)i) + 16, &v, sizeof(v)), 0);
			}
			break;
		case 3:
			CHECK_EQ(mml_mprotect(s->other, BASE, NPAGES * H_PAGE, PROT_READ), 0);
			CHECK_EQ(mml_mprotect(s->other, BASE, NPAGES * H_PAGE, H_RW), 0);
			break;
		case 5:
			/* Reclaim asks the device whether it used the pages (clear_flush_young). */
			CHECK(mml_reclaim(s->m, NPAGES) >= 0);
			break;
		case 7:
			CHECK_EQ(mml_madvise(s->other, BASE, NPAGES * H_PAGE, MADV_PAGEOUT), 0);
			break;
		}
		/* Room for the others to use what this step left. */
		nanosleep(&pause, NULL);
	}
	if (child)
		CHECK_EQ(mml_exit(child), 0);
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELAXED);
	return NULL;
}

TEST(thr_device_races_cow_fork_mprotect_and_swap)
{
	struct mml_machine *m = mml_machine_new(&(struct mml_config){ .ram_bytes = 32ULL << 20,
								      .flags = getenv("THR_DEVICE_VERBOSE") ? 0 : bug() ? MML_QUIET : 0 });
	struct shared s = { .m = m };
	pthread_t a, b, c;

	REQUIRE(m);
	if (bug())
		REQUIRE_EQ(mml_bug_inject(m, bug()), 0);
	REQUIRE(mml_swapon(m, NULL, 4 << 20, -1) >= 0);
	REQUIRE_EQ(mml_spawn(m, &s.cpu), 0);
	REQUIRE_EQ(mml_thread_new(s.cpu, &s.other), 0);
	REQUIRE_EQ(mml_mmap(s.cpu, BASE, NPAGES * H_PAGE, H_RW, H_ANON | MAP_FIXED, -1, 0), (long)BASE);
	REQUIRE_EQ(mml_device_new(s.cpu, MML_DEV_SLOW | MML_DEV_REFAULT, &s.dev), 0);
	pthread_barrier_init(&s.go, NULL, 3);
	pthread_create(&a, NULL, device_thread, &s);
	pthread_create(&b, NULL, cpu_thread, &s);
	pthread_create(&c, NULL, changer_thread, &s);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	pthread_join(c, NULL);
	pthread_barrier_destroy(&s.go);
	CHECK_EQ(mml_device_free(s.dev), 0);
	if (bug()) {
		/* The bug must have shown: a report from the device's oracle or the checker. */
		CHECK(mml_report_count(m) > 0 || mml_check(m) != 0 || s.symptoms > 0);
		mml_machine_free(m);
		return;
	}
	CHECK_EQ(mml_report_count(m), 0);
	CHECK_EQ(mml_check(m), 0);
	CHECK_EQ(mml_machine_free(m), 0);
}

static void *teardown_reader(void *arg)
{
	struct shared *s = arg;
	uint64_t got;

	while (!stopped(s)) {
		int err = mml_device_read(s->dev, page_addr((unsigned)rand()), &got, sizeof(got));

		CHECK(err == 0 || err == -EFAULT);
	}
	return NULL;
}

/* hmm-tests' anon_teardown: the device reads while the range is mapped and unmapped again. */
TEST(thr_device_reads_racing_munmap)
{
	struct mml_machine *m = mml_machine_new(&(struct mml_config){ .ram_bytes = 32ULL << 20 });
	struct shared s = { .m = m };
	pthread_t r;

	REQUIRE(m);
	REQUIRE_EQ(mml_spawn(m, &s.cpu), 0);
	REQUIRE_EQ(mml_device_new(s.cpu, 0, &s.dev), 0);
	pthread_create(&r, NULL, teardown_reader, &s);
	for (int i = 0; i < ITERS / 4; i++) {
		uint64_t v = (uint64_t)i;

		CHECK_EQ(mml_mmap(s.cpu, BASE, NPAGES * H_PAGE, H_RW, H_ANON | MAP_FIXED, -1, 0), (long)BASE);
		for (unsigned p = 0; p < NPAGES; p++)
			CHECK_EQ(mml_write(s.cpu, page_addr(p), &v, sizeof(v)), 0);
		CHECK_EQ(mml_munmap(s.cpu, BASE, NPAGES * H_PAGE), 0);
	}
	__atomic_store_n(&s.stop, 1, __ATOMIC_RELAXED);
	pthread_join(r, NULL);
	CHECK_EQ(mml_device_free(s.dev), 0);
	CHECK_EQ(mml_report_count(m), 0);
	CHECK_EQ(mml_machine_free(m), 0);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
