/*
 * stress_vma.c - `mmlab stress` stories of the per-VMA locks (issue 17):
 * faults under lock_vma_under_rcu racing the writers that change or
 * remove their VMA, and fork, which must keep them out of every VMA it
 * copies.
 *
 *   vma-detach  one thread loads and stores pages of a region (each TLB
 *               miss a lookup under RCU and a VMA read lock, a fault where
 *               the page is missing or read-only) while another splits it
 *               with mprotect, merges it back, moves it with mremap, makes
 *               it read-only and unmaps it in two halves: every load reads
 *               the bytes the page had wherever the region lies, or faults
 *               (-EFAULT), never a byte from a page that left; nothing is
 *               left mapped or charged (the driver's checker)
 *   vma-fork    a fork of a process whose thread A keeps storing to a page
 *               through its TLB while thread B takes its first write fault
 *               on the page: A must read back what it wrote last, which a
 *               COW copy made under the VMA lock in fork's window (the
 *               pte made read-only and shared, the parent's TLBs not yet
 *               flushed) loses (zoo: fork-no-vma-lock)
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#include "oracle/stress_internal.h"
#include "sync/sync.h"

#define PG		STRESS_PG
#define BASE		0x60000000ULL	/* 2 MiB aligned: the region has its pte table to itself */
#define BASE2		0x70000000ULL	/* where mremap moves it */
#define VD_PAGES	16
#define VD_TOUCH_OFF	16		/* where the toucher stores, away from the checked byte */
#ifndef MREMAP_MAYMOVE
#define MREMAP_MAYMOVE	1		/* Linux's values (the C library defines them only with _GNU_SOURCE) */
#define MREMAP_FIXED	2
#endif

/* The byte at offset 0 of page p: set up on even pages, odd ones are never written there (zero). */
static uint8_t vd_byte(uint64_t p)
{
	return (p & 1) ? 0 : (uint8_t)(p * 37 + 11);
}

/* ---- vma-detach ---------------------------------------------------------------------- */

struct vma_detach {
	struct stress_ctx *c;
	unsigned delay;		/* yields before the changes start, from the seed */
	int step;		/* the change that went wrong, with err */
	long err;
	struct stress_verdict v;
};

static void vd_changer(struct mml_task *t, void *arg)
{
	struct vma_detach *w = arg;
	long r;

	for (unsigned i = 0; i < w->delay; i++)
		mml_sched_yield();
	/* Split in three and merge back, move, protect, and unmap in two halves. */
	if ((r = mml_mprotect(t, BASE + 4 * PG, 8 * PG, PROT_READ)) ||
	    (w->step++, r = mml_mprotect(t, BASE + 4 * PG, 8 * PG, PROT_READ | PROT_WRITE)) ||
	    (w->step++, (r = mml_mremap(t, BASE, VD_PAGES * PG, VD_PAGES * PG, MREMAP_MAYMOVE | MREMAP_FIXED,
					BASE2)) != (long)BASE2) ||
	    (w->step++, r = mml_mprotect(t, BASE2, VD_PAGES * PG, PROT_READ)) ||
	    (w->step++, r = mml_munmap(t, BASE2, 8 * PG)) ||
	    (w->step++, r = mml_munmap(t, BASE2 + 8 * PG, 8 * PG))) {
		w->err = r;
		return;
	}
	w->step = -1;
}

/* Loads and stores at both places the region may be: the bytes it had, or a fault. */
static void vd_toucher(struct mml_task *t, void *arg)
{
	struct vma_detach *w = arg;

	for (unsigned i = 0; i < 3 * VD_PAGES && !w->v.why[0]; i++) {
		uint64_t p = (i * 5 + w->c->seed) % VD_PAGES, at = ((i & 1) ? BASE2 : BASE) + p * PG;
		uint8_t v = 0xee, mine = (uint8_t)(0x80 | p);
		int err = mml_read(t, at, &v, 1);

		if (!err && v != vd_byte(p))
			stress_note(&w->v, "a load of page %llu at %#llx read %#x, not %#x", (unsigned long long)p,
				    (unsigned long long)at, v, vd_byte(p));
		else if (err && err != -EFAULT)
			stress_note(&w->v, "a load of %#llx failed: %d", (unsigned long long)at, err);
		err = mml_write(t, at + VD_TOUCH_OFF, &mine, 1);
		if (err && err != -EFAULT)
			stress_note(&w->v, "a store to %#llx failed: %d", (unsigned long long)at, err);
	}
}

static int vma_detach_round(struct stress_ctx *c, unsigned round)
{
	struct vma_detach w = { .c = c, .delay = (unsigned)((c->seed * 7 + round * 13) % 48) };
	struct mml_task *tasks[2];
	mml_thread_fn fns[2] = { vd_changer, vd_toucher };
	void *args[2] = { &w, &w };
	uint8_t v;
	int err, ret = 0;

	if ((err = mml_spawn(c->m, &tasks[0])))
		return err;
	if (mml_mmap(tasks[0], BASE, VD_PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		     -1, 0) != (long)BASE)
		return -ENOMEM;
	for (uint64_t p = 0; p < VD_PAGES; p += 2) {
		v = vd_byte(p);
		if ((err = mml_write(tasks[0], BASE + p * PG, &v, 1)))
			return err;
	}
	if ((err = mml_thread_new(tasks[0], &tasks[1])))
		return err;
	if (stress_sched_run(c, 2, tasks, fns, args))
		return 1;
	if (w.step >= 0)
		ret = stress_fail(c, "change %d of the region returned %ld", w.step, w.err);
	else if (w.v.why[0])
		ret = stress_fail(c, "%s", w.v.why);
	else if ((err = mml_read(tasks[0], BASE, &v, 1)) != -EFAULT || (err = mml_read(tasks[0], BASE2, &v, 1)) != -EFAULT)
		ret = stress_fail(c, "a load of the unmapped region returned %d", err);
	for (unsigned i = 2; i-- > 0;)
		mml_exit(tasks[i]);
	return ret;
}

static int vma_detach(struct stress_ctx *c)
{
	for (unsigned r = 0; r < 4; r++) {
		int ret = vma_detach_round(c, r);

		if (ret)
			return ret;
	}
	return 0;
}

/* ---- vma-fork ------------------------------------------------------------------------ */

#define VF_PAGES	1
#define VF_STORES	8

struct vma_fork {
	struct stress_ctx *c;
	struct mml_task *child;
	int forked;
	unsigned delay;		/* yields before the faulter's first store */
	uint64_t last;		/* what the storer wrote last */
	struct stress_verdict v;
};

static void vf_forker(struct mml_task *t, void *arg)
{
	struct vma_fork *w = arg;

	w->forked = mml_fork(t, &w->child);
}

/* Thread A: its TLB holds page 0 writable; each store must be what it reads next. */
static void vf_storer(struct mml_task *t, void *arg)
{
	struct vma_fork *w = arg;

	for (unsigned i = 0; i < VF_STORES && !w->v.why[0]; i++) {
		uint64_t v = 0, next = w->last + 1;
		int err = mml_read(t, BASE, &v, sizeof(v));

		if (err || v != w->last) {
			stress_note(&w->v, "the storer read %llu (error %d) back, not %llu: its store went to a "
					   "page the process no longer maps", (unsigned long long)v, err,
				    (unsigned long long)w->last);
			return;
		}
		if ((err = mml_write(t, BASE, &next, sizeof(next)))) {
			stress_note(&w->v, "the storer's store failed: %d", err);
			return;
		}
		w->last = next;
	}
}

/* Thread B: its first touch of each page is a write fault, a COW one once fork shared the page. */
static void vf_faulter(struct mml_task *t, void *arg)
{
	struct vma_fork *w = arg;

	for (unsigned i = 0; i < w->delay; i++)
		mml_sched_yield();
	for (uint64_t p = 0; p < VF_PAGES && !w->v.why[0]; p++) {
		uint8_t mine = (uint8_t)(0x40 + p);
		int err = mml_write(t, BASE + p * PG + 8 + p, &mine, 1);

		if (err)
			stress_note(&w->v, "the faulter's store to page %llu failed: %d", (unsigned long long)p, err);
	}
}

static int vma_fork_round(struct stress_ctx *c, unsigned round)
{
	struct vma_fork w = { .c = c, .delay = (unsigned)((c->seed * 5 + round * 3) % 24), .last = 1 };
	struct mml_task *tasks[3];
	mml_thread_fn fns[3] = { vf_forker, vf_storer, vf_faulter };
	void *args[3] = { &w, &w, &w };
	uint64_t v = 0;
	int err, ret = 0;

	if ((err = mml_spawn(c->m, &tasks[0])))
		return err;
	if (mml_mmap(tasks[0], BASE, VF_PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		     -1, 0) != (long)BASE)
		return -ENOMEM;
	if ((err = mml_thread_new(tasks[0], &tasks[1])) || (err = mml_thread_new(tasks[0], &tasks[2])))
		return err;
	/* The storer's TLB gets page 0 writable and dirty; the faulter has never touched the region. */
	for (uint64_t p = 1; p < VF_PAGES; p++)
		if ((err = mml_write(tasks[0], BASE + p * PG, &p, sizeof(p))))
			return err;
	if ((err = mml_write(tasks[1], BASE, &w.last, sizeof(w.last))))
		return err;
	if (stress_sched_run(c, 3, tasks, fns, args))
		return 1;
	if (w.forked)
		ret = stress_fail(c, "fork returned %d", w.forked);
	else if (w.v.why[0])
		ret = stress_fail(c, "%s", w.v.why);
	else if ((err = mml_read(tasks[0], BASE, &v, sizeof(v))) || v != w.last)
		ret = stress_fail(c, "the parent reads %llu (error %d) where its thread stored %llu last",
				  (unsigned long long)v, err, (unsigned long long)w.last);
	else if ((err = mml_read(w.child, BASE, &v, sizeof(v))) || v > w.last)
		ret = stress_fail(c, "the child reads %llu (error %d), a store the parent never made before the fork "
				  "returned", (unsigned long long)v, err);
	if (w.child)
		mml_exit(w.child);
	for (unsigned i = 3; i-- > 0;)
		mml_exit(tasks[i]);
	return ret;
}

static int vma_fork(struct stress_ctx *c)
{
	for (unsigned r = 0; r < 48; r++) {
		int ret = vma_fork_round(c, r);

		if (ret)
			return ret;
	}
	return 0;
}

const struct stress_story stress_vma_stories[] = {
	{ "vma-detach", "faults and loads under lock_vma_under_rcu while another thread of the process splits, "
			"merges, moves (mremap), protects and unmaps their VMA (the lookup racing vma_start_write "
			"and the detach)", 0, vma_detach },
	{ "vma-fork", "fork while one thread of the parent stores through its TLB and another takes write faults "
		      "under the VMA lock on the pages fork is sharing (dup_mmap's vma_start_write)", 0, vma_fork },
};
const unsigned stress_vma_nstories = sizeof(stress_vma_stories) / sizeof(stress_vma_stories[0]);
