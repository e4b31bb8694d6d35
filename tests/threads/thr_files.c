/*
 * thr_files.c - files under concurrency: processes on their own host
 * threads fault a shared file in and write it while another thread
 * truncates and grows it, punches holes in it, writes it back and drops
 * its cache, and reclaim pushes tmpfs pages to swap and back.
 *
 * What must hold whatever the interleaving (no timing assertions):
 * every access returns 0 or SIGBUS (-EIO, only while the file is short),
 * a byte read is one some writer stored or a hole's zero, the invariant
 * checker passes after every thread is joined, and nothing leaks.
 */
#define _GNU_SOURCE
#include "../harness.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <string.h>

#define FILE_PAGES	32
#define NWRITERS	2
#define ROUNDS		300

struct writer {
	struct mml_task *t;
	uint64_t base;
	uint8_t byte;
	int bad;
};

/* Store a byte in every page, read it back: ours, another writer's, or zero (a punched hole). */
static void *writer(void *arg)
{
	struct writer *w = arg;

	for (int r = 0; r < ROUNDS; r++) {
		for (uint64_t p = 0; p < FILE_PAGES; p++) {
			uint64_t a = w->base + p * 4096 + (uint64_t)(r % 64);
			uint8_t v = 0;
			int ret = mml_write(w->t, a, &w->byte, 1);

			if (ret && ret != -EIO)
				w->bad++;
			ret = mml_read(w->t, a, &v, 1);
			if (ret && ret != -EIO)
				w->bad++;
			if (!ret && v != 0 && (v < 0x40 || v >= 0x40 + NWRITERS))
				w->bad++;
		}
	}
	return NULL;
}

struct disturber {
	struct mml_task *t;
	int fd;
	int bad;
};

/* Shrink, grow, punch, write back, drop the cache, reclaim. */
static void *disturber(void *arg)
{
	struct disturber *d = arg;
	struct mml_machine *m = mml_task_machine(d->t);

	for (int r = 0; r < ROUNDS / 4; r++) {
		int64_t size = (int64_t)((r * 7) % FILE_PAGES + 1) * 4096 - 100;

		d->bad += mml_ftruncate(d->t, d->fd, size) != 0;
		d->bad += mml_ftruncate(d->t, d->fd, FILE_PAGES * 4096) != 0;
		d->bad += mml_fallocate(d->t, d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					(r % FILE_PAGES) * 4096 + 10, 3 * 4096) != 0;
		d->bad += mml_fsync(d->t, d->fd) != 0;
		d->bad += mml_drop_caches(m, 1) != 0;
		mml_reclaim(m, 8);
	}
	return NULL;
}

static void run(const char *path, bool swap)
{
	struct mml_machine *m = mml_machine_new(&(struct mml_config){ .ram_bytes = 8ULL << 20, .flags = MML_QUIET });
	struct writer w[NWRITERS];
	struct disturber d;
	pthread_t th[NWRITERS + 1];
	struct mml_task *owner;
	long base;

	REQUIRE(m);
	if (swap)
		REQUIRE(mml_swapon(m, NULL, 4ULL << 20, -1) >= 0);
	REQUIRE_EQ(mml_spawn(m, &owner), 0);
	d.t = owner;
	d.bad = 0;
	d.fd = mml_open(owner, path, O_RDWR | O_CREAT, 0600);
	REQUIRE(d.fd >= 0);
	REQUIRE_EQ(mml_ftruncate(owner, d.fd, FILE_PAGES * 4096), 0);
	base = mml_mmap(owner, 0, FILE_PAGES * 4096, H_RW, MAP_SHARED, d.fd, 0);
	REQUIRE(base > 0);
	for (int i = 0; i < NWRITERS; i++) {
		/* One writer is a thread of the owner, the other a forked child: both share the file. */
		if (i == 0)
			REQUIRE_EQ(mml_thread_new(owner, &w[i].t), 0);
		else
			REQUIRE_EQ(mml_fork(owner, &w[i].t), 0);
		w[i].base = (uint64_t)base;
		w[i].byte = (uint8_t)(0x40 + i);
		w[i].bad = 0;
	}
	for (int i = 0; i < NWRITERS; i++)
		pthread_create(&th[i], NULL, writer, &w[i]);
	pthread_create(&th[NWRITERS], NULL, disturber, &d);
	for (int i = 0; i <= NWRITERS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < NWRITERS; i++)
		CHECK_EQ(w[i].bad, 0);
	CHECK_EQ(d.bad, 0);
	CHECK_EQ(mml_check(m), 0);
	CHECK_EQ(mml_machine_free(m), 0);
}

TEST(thr_files_tmpfs_with_swap)
{
	run("/tmp/f", true);
}

TEST(thr_files_disk)
{
	run("/disk/f", false);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
