/*
 * stress_anon.c - `mmlab stress` stories of anonymous memory (seed 000):
 * fork racing GUP-fast write and read-only pins of another thread
 * (write_protect_seq, page_needs_cow_for_dma), COW faults of several threads on the pages a
 * fork left shared, and munmap/mprotect racing faults and GUP-fast of
 * the other threads, and MADV_DONTNEED racing the TLB hits of another
 * thread (the remote flush's wait).  Every page starts with a pattern of bytes the
 * stories check afterwards; a pin is checked through the device's view
 * (mml_dma_read/mml_dma_write) against what the processes see.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "oracle/stress_internal.h"
#include "sync/sync.h"

#define PG		STRESS_PG
#define BASE		0x50000000ULL	/* 2 MiB aligned: the region has its pte table to itself */
#define PATTERN_LEN	64		/* bytes of each page the set-up writes */
#define PIN_OFF		64		/* fork-gup: where the checks write, one byte per pin */
#define DMA_OFF		96

/* The byte at offset off of page p when the set-up has written it. */
static uint8_t pattern(uint64_t p, unsigned off)
{
	return (uint8_t)(p * 29 + off * 7 + 1);
}

/* A new process with npages of anonymous memory at BASE, each with its pattern. */
static int anon_process(struct stress_ctx *c, uint64_t npages, struct mml_task **out)
{
	uint8_t buf[PATTERN_LEN];
	int err;

	if ((err = mml_spawn(c->m, out)))
		return err;
	if (mml_mmap(*out, BASE, npages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
		     0) != (long)BASE)
		return -ENOMEM;
	for (uint64_t p = 0; p < npages; p++) {
		for (unsigned o = 0; o < PATTERN_LEN; o++)
			buf[o] = pattern(p, o);
		if ((err = mml_write(*out, BASE + p * PG, buf, sizeof(buf))))
			return err;
	}
	return 0;
}

/* ---- fork-gup: fork racing GUP-fast pins of another thread --------------------------- */

#define FG_PAGES	32

struct fork_gup {
	struct stress_ctx *c;
	struct mml_task *parent, *child;
	int forked;		/* mml_fork's result */
	int done;		/* the fork returned (atomic) */
	long bad;		/* a pin that failed: what it returned */
	unsigned npins;
	struct mml_pin *pins[FG_PAGES];
	uint64_t page[FG_PAGES];
};

static void fg_forker(struct mml_task *t, void *arg)
{
	struct fork_gup *w = arg;

	w->forked = mml_fork(t, &w->child);
	smp_store_release(&w->done, 1);
}

/* Odd pages get read-only pins (a device that only reads), even pages write pins. */
static bool fg_read_only(uint64_t p)
{
	return p & 1;
}

/*
 * Long-term pins of one page each, as io_uring registers buffers, write
 * pins and read-only ones (which must unshare a page fork shared, not pin
 * the page the child maps too: gup_must_unshare), kept, from the last page
 * down: fork copies the pages from the first up,
 * so the two meet on a page fork has looked at and not yet shared.  A
 * page fork shared already is read-only: the pin goes the slow way, which
 * waits for fork and breaks COW.  Once fork is done nothing can race it:
 * the pinner stops, which keeps the run short for PCT.
 */
static void fg_pinner(struct mml_task *t, void *arg)
{
	struct fork_gup *w = arg;

	for (uint64_t p = FG_PAGES; p-- > 0 && !smp_load_acquire(&w->done);) {
		long n = mml_pin_user_pages(t, BASE + p * PG, 1, MML_FOLL_FAST | MML_FOLL_LONGTERM |
					    (fg_read_only(p) ? 0 : MML_FOLL_WRITE), &w->pins[w->npins]);

		if (n != 1) {
			w->bad = n ? n : -1;
			return;
		}
		w->page[w->npins++] = p;
	}
}

/*
 * Every pin must be on the page the parent maps: the parent's write is
 * what the device reads, the device's write (through a write pin) what
 * the parent reads, and the child sees neither -- its pages stay as they
 * were at fork.
 */
static int fg_check(struct fork_gup *w)
{
	struct stress_ctx *c = w->c;

	for (unsigned k = 0; k < w->npins; k++) {
		uint64_t addr = BASE + w->page[k] * PG;
		uint8_t mine = (uint8_t)(0xa0 + k), dev = (uint8_t)(0xc0 + k), v = 0;
		int err;

		if ((err = mml_write(w->parent, addr + PIN_OFF, &mine, 1)))
			return stress_fail(c, "the parent's write to %#llx failed: %d", (unsigned long long)addr, err);
		if ((err = mml_dma_read(w->pins[k], PIN_OFF, &v, 1)) || v != mine)
			return stress_fail(c, "the pin of %#llx reads %#x (error %d), not the parent's %#x: the pin is "
					   "not on the parent's page", (unsigned long long)addr, v, err, mine);
		if (fg_read_only(w->page[k])) {
			if (stress_expect_byte(c, w->child, "the child", addr + PIN_OFF, 0))
				return 1;
			continue;
		}
		if ((err = mml_dma_write(w->pins[k], DMA_OFF, &dev, 1)))
			return stress_fail(c, "a write through the pin of %#llx failed: %d", (unsigned long long)addr,
					   err);
		if (stress_expect_byte(c, w->parent, "the parent", addr + DMA_OFF, dev) ||
		    stress_expect_byte(c, w->child, "the child", addr + DMA_OFF, 0) ||
		    stress_expect_byte(c, w->child, "the child", addr + PIN_OFF, 0))
			return 1;
	}
	for (uint64_t p = 0; p < FG_PAGES; p++)
		for (unsigned o = 0; o < PATTERN_LEN; o++)
			if (stress_expect_byte(c, w->child, "the child", BASE + p * PG + o, pattern(p, o)))
				return 1;
	return 0;
}

static int fork_gup_round(struct stress_ctx *c)
{
	struct fork_gup w = { .c = c };
	struct mml_task *thread, *tasks[2];
	mml_thread_fn fns[2] = { fg_forker, fg_pinner };
	void *args[2] = { &w, &w };
	int err, ret;

	if ((err = anon_process(c, FG_PAGES, &w.parent)) || (err = mml_thread_new(w.parent, &thread)))
		return err;
	tasks[0] = w.parent;
	tasks[1] = thread;
	if (stress_sched_run(c, 2, tasks, fns, args))
		return 1;
	if (w.forked)
		ret = stress_fail(c, "fork returned %d", w.forked);
	else if (w.bad)
		ret = stress_fail(c, "a GUP-fast pin returned %ld", w.bad);
	else
		ret = fg_check(&w);
	for (unsigned k = 0; k < w.npins; k++)
		mml_unpin(w.pins[k]);
	mml_exit(thread);
	mml_exit(w.parent);
	if (w.child)
		mml_exit(w.child);
	return ret;
}

/* ---- cow-threads: write faults of several threads on the pages a fork shares ------------ */

#define CT_PAGES	4	/* the child keeps all but the last */
#define CT_WRITERS	3	/* threads of the parent */
#define CT_OFF		64

struct cow_writer {
	unsigned idx;		/* which byte of each page is this thread's */
	int err;		/* the first write that failed */
};

static uint8_t cow_value(unsigned idx, uint64_t p)
{
	return (uint8_t)(0x80 + idx * 16 + p);
}

/* Its own byte of every page, all writers in the same order: they meet on each page. */
static void cow_writer(struct mml_task *t, void *arg)
{
	struct cow_writer *wr = arg;

	for (uint64_t p = 0; p < CT_PAGES && !wr->err; p++) {
		uint8_t v = cow_value(wr->idx, p);

		wr->err = mml_write(t, BASE + p * PG + CT_OFF + wr->idx, &v, 1);
	}
}

/* The parent has every writer's byte and the pattern; the child, which wrote nothing, the pattern alone. */
static int ct_check(struct stress_ctx *c, struct mml_task *parent, struct mml_task *child)
{
	for (uint64_t p = 0; p < CT_PAGES; p++) {
		uint64_t addr = BASE + p * PG;

		for (unsigned i = 0; i < CT_WRITERS; i++)
			if (stress_expect_byte(c, parent, "the parent", addr + CT_OFF + i, cow_value(i, p)) ||
			    (p < CT_PAGES - 1 && stress_expect_byte(c, child, "the child", addr + CT_OFF + i, 0)))
				return 1;
		for (unsigned o = 0; o < PATTERN_LEN; o++)
			if (stress_expect_byte(c, parent, "the parent", addr + o, pattern(p, o)) ||
			    (p < CT_PAGES - 1 && stress_expect_byte(c, child, "the child", addr + o, pattern(p, o))))
				return 1;
	}
	return 0;
}

/*
 * The pages the child still maps are copied by the first write fault,
 * the one it unmapped is reused (wp_can_reuse_anon_folio: ours is the
 * only reference); the other threads' faults find the pte changed and
 * retry, or write through what the first one installed.
 */
static int cow_threads_round(struct stress_ctx *c)
{
	struct mml_task *parent, *child, *tasks[CT_WRITERS];
	struct cow_writer wr[CT_WRITERS];
	mml_thread_fn fns[CT_WRITERS];
	void *args[CT_WRITERS];
	int err, ret = 0;

	if ((err = anon_process(c, CT_PAGES, &parent)) || (err = mml_fork(parent, &child)) ||
	    (err = mml_munmap(child, BASE + (CT_PAGES - 1) * PG, PG)))
		return err;
	for (unsigned i = 0; i < CT_WRITERS; i++) {
		if (!i)
			tasks[i] = parent;
		else if ((err = mml_thread_new(parent, &tasks[i])))
			return err;
		wr[i] = (struct cow_writer){ .idx = i };
		fns[i] = cow_writer;
		args[i] = &wr[i];
	}
	if (stress_sched_run(c, CT_WRITERS, tasks, fns, args))
		return 1;
	for (unsigned i = 0; i < CT_WRITERS && !ret; i++)
		if (wr[i].err)
			ret = stress_fail(c, "writer %u: a write failed: %d", i, wr[i].err);
	if (!ret)
		ret = ct_check(c, parent, child);
	for (unsigned i = CT_WRITERS; i-- > 0;)
		mml_exit(tasks[i]);
	mml_exit(child);
	return ret;
}

/* ---- munmap-gup: munmap and mprotect racing faults and GUP-fast of other threads -------- */

#define MG_PAGES	8
#define MG_PIN_PAGES	4
#define MG_PINS		8
#define MG_TOUCH_OFF	100

struct munmap_gup {
	struct stress_ctx *c;
	unsigned delay;		/* steps the unmapper lets pass first, from the seed */
	int protected, unmapped;	/* mprotect's and munmap's results */
	long bad;		/* a pin or access that failed otherwise than Linux may */
	int wrong;		/* a load that read a byte never written there: 0x100 | the byte */
	unsigned npins;
	struct mml_pin *pins[MG_PINS];
	uint64_t first[MG_PINS];	/* the first page of each pin */
};

/* Half the range read-only, then all of it gone, as a program dropping a buffer. */
static void mg_unmapper(struct mml_task *t, void *arg)
{
	struct munmap_gup *w = arg;

	for (unsigned i = 0; i < w->delay; i++)
		mml_sched_yield();
	w->protected = mml_mprotect(t, BASE, MG_PAGES / 2 * PG, PROT_READ);
	w->unmapped = mml_munmap(t, BASE, MG_PAGES * PG);
}

/* Write pins of a few pages at a time, kept: each either has all its pages or fails with -EFAULT. */
static void mg_pinner(struct mml_task *t, void *arg)
{
	struct munmap_gup *w = arg;

	for (unsigned i = 0; i < MG_PINS; i++) {
		uint64_t p = (i * 3 + w->c->seed) % (MG_PAGES - MG_PIN_PAGES + 1);
		long n = mml_pin_user_pages(t, BASE + p * PG, MG_PIN_PAGES,
					    MML_FOLL_FAST | MML_FOLL_WRITE | MML_FOLL_LONGTERM, &w->pins[w->npins]);

		if (n == -EFAULT)	/* read-only by now (check_vma_flags), or unmapped */
			continue;
		if (n != MG_PIN_PAGES) {
			w->bad = n ? n : -1;
			return;
		}
		w->first[w->npins++] = p;
	}
}

/* Loads and stores through the TLB and the hardware walker, faulting as they must. */
static void mg_toucher(struct mml_task *t, void *arg)
{
	struct munmap_gup *w = arg;

	for (unsigned i = 0; i < 2 * MG_PAGES && !w->bad && !w->wrong; i++) {
		uint64_t p = (i * 5 + w->c->seed) % MG_PAGES;
		uint8_t v = 0, mine = (uint8_t)(0x40 + p);
		int err = mml_read(t, BASE + p * PG, &v, 1);

		if (!err && v != pattern(p, 0))
			w->wrong = 0x100 | v;
		else if (err && err != -EFAULT)
			w->bad = err;
		err = mml_write(t, BASE + p * PG + MG_TOUCH_OFF, &mine, 1);
		if (err && err != -EFAULT)
			w->bad = err;
	}
}

static int munmap_gup_round(struct stress_ctx *c)
{
	struct munmap_gup w = { .c = c, .delay = (unsigned)(c->seed * 11 % 96) };
	struct mml_task *tasks[3];
	mml_thread_fn fns[3] = { mg_unmapper, mg_pinner, mg_toucher };
	void *args[3] = { &w, &w, &w };
	uint8_t v = 0;
	int err, ret = 0;

	if ((err = anon_process(c, MG_PAGES, &tasks[0])) || (err = mml_thread_new(tasks[0], &tasks[1])) ||
	    (err = mml_thread_new(tasks[0], &tasks[2])))
		return err;
	if (stress_sched_run(c, 3, tasks, fns, args))
		return 1;
	if (w.protected || w.unmapped)
		ret = stress_fail(c, "mprotect returned %d, munmap %d", w.protected, w.unmapped);
	else if (w.bad)
		ret = stress_fail(c, "a pin or an access failed: %ld", w.bad);
	else if (w.wrong)
		ret = stress_fail(c, "a load of the range read %#x, a byte nobody wrote", w.wrong & 0xff);
	else if ((err = mml_read(tasks[0], BASE, &v, 1)) != -EFAULT)
		ret = stress_fail(c, "a read of the unmapped range returned %d", err);
	/* The pins kept their pages: the bytes as written, and still the device's to write. */
	for (unsigned k = 0; k < w.npins && !ret; k++) {
		for (unsigned i = 0; i < MG_PIN_PAGES && !ret; i++) {
			uint64_t off = i * PG;
			uint8_t dev = (uint8_t)(0xd0 + k);

			if ((err = mml_dma_read(w.pins[k], off, &v, 1)) || v != pattern(w.first[k] + i, 0))
				ret = stress_fail(c, "pin %u reads %#x (error %d) from page %llu, not %#x", k, v, err,
						  (unsigned long long)(w.first[k] + i), pattern(w.first[k] + i, 0));
			else if ((err = mml_dma_write(w.pins[k], off + 1, &dev, 1)) ||
				 (err = mml_dma_read(w.pins[k], off + 1, &v, 1)) || v != dev)
				ret = stress_fail(c, "pin %u: the device's write read back %#x (error %d)", k, v, err);
		}
	}
	for (unsigned k = 0; k < w.npins; k++)
		mml_unpin(w.pins[k]);
	for (unsigned i = 3; i-- > 0;)
		mml_exit(tasks[i]);
	return ret;
}

/* ---- tlb-shootdown: MADV_DONTNEED racing another CPU's TLB hits --------------------- */

#define TS_PAGES	4
#define TS_OTHER	(BASE + 0x100000)	/* pages the zapper writes: where a freed frame goes next */
#define TS_MARK		0xee

struct tlb_shootdown {
	struct stress_ctx *c;
	int bad;		/* an access or madvise that failed: its error */
	int wrong;		/* 0x100 | a byte the reader loaded that nobody wrote there */
};

/*
 * Loads of each page's first byte, TLB hits once it is filled: the pattern
 * until the zap, zeros after it (the zero page), never another page's.
 */
static void ts_reader(struct mml_task *t, void *arg)
{
	struct tlb_shootdown *w = arg;

	for (unsigned i = 0; i < 6 * TS_PAGES && !w->bad && !w->wrong; i++) {
		uint64_t p = (i / 3 + w->c->seed) % TS_PAGES;
		uint8_t v = 0;
		int err = mml_read(t, BASE + p * PG, &v, 1);

		if (err)
			w->bad = err;
		else if (v != pattern(p, 0) && v)
			w->wrong = 0x100 | v;
	}
}

/* Zap each page, then write a new one: the zapped frame, freed, is likely the one it gets. */
static void ts_zapper(struct mml_task *t, void *arg)
{
	struct tlb_shootdown *w = arg;
	uint8_t mark = TS_MARK;

	for (uint64_t p = 0; p < TS_PAGES && !w->bad; p++) {
		int err = mml_madvise(t, BASE + p * PG, PG, MADV_DONTNEED);

		if (!err)
			err = mml_write(t, TS_OTHER + p * PG, &mark, 1);
		if (err)
			w->bad = err;
	}
}

static int tlb_shootdown_round(struct stress_ctx *c)
{
	struct tlb_shootdown w = { .c = c };
	struct mml_task *tasks[2];
	/*
	 * The zapper is the thread that wrote the pages: they wait in its
	 * CPU's lru_add batch, which its MADV_DONTNEED drains before the zap,
	 * so the zap frees them (another CPU's batch would keep them).
	 */
	mml_thread_fn fns[2] = { ts_zapper, ts_reader };
	void *args[2] = { &w, &w };
	uint8_t v;
	int err, ret = 0;

	if ((err = anon_process(c, TS_PAGES, &tasks[0])) || (err = mml_thread_new(tasks[0], &tasks[1])))
		return err;
	if (mml_mmap(tasks[0], TS_OTHER, TS_PAGES * PG, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != (long)TS_OTHER)
		return -ENOMEM;
	/* The reader's TLB holds every page before the run. */
	for (uint64_t p = 0; p < TS_PAGES; p++)
		if ((err = mml_read(tasks[1], BASE + p * PG, &v, 1)))
			return err;
	if (stress_sched_run(c, 2, tasks, fns, args))
		return 1;
	if (w.bad)
		ret = stress_fail(c, "an access or madvise failed: %d", w.bad);
	else if (w.wrong)
		ret = stress_fail(c, "a load read %#x, a byte of another page: it used a translation after the "
				  "TLB flush had returned and the frame was freed", w.wrong & 0xff);
	for (unsigned i = 2; i-- > 0;)
		mml_exit(tasks[i]);
	return ret;
}

/*
 * A story is a few rounds of the same race, each on new processes: PCT
 * draws its priority changes again for every run, and a round takes a
 * millisecond.
 */
static int rounds(struct stress_ctx *c, int (*round)(struct stress_ctx *c), unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		int ret = round(c);

		if (ret)
			return ret;
	}
	return 0;
}

static int fork_gup(struct stress_ctx *c)
{
	return rounds(c, fork_gup_round, 6);
}

static int cow_threads(struct stress_ctx *c)
{
	return rounds(c, cow_threads_round, 6);
}

static int munmap_gup(struct stress_ctx *c)
{
	return rounds(c, munmap_gup_round, 6);
}

static int tlb_shootdown(struct stress_ctx *c)
{
	return rounds(c, tlb_shootdown_round, 6);
}

const struct stress_story stress_anon_stories[] = {
	{ "fork-gup", "fork while another thread of the process takes long-term GUP-fast write pins of its "
		      "anonymous pages (write_protect_seq, copy_present_ptes copying what may be pinned)", 0,
	  fork_gup },
	{ "cow-threads", "three threads of a process write the anonymous pages a fork left shared, one of them "
			 "unmapped by the child (do_wp_page: wp_page_copy and wp_page_reuse racing)", 0, cow_threads },
	{ "munmap-gup", "mprotect and munmap of an anonymous range while other threads of the process pin it with "
			"GUP-fast and fault it in (page tables freed under lockless walkers)", 0, munmap_gup },
	{ "tlb-shootdown", "MADV_DONTNEED of pages another thread of the process keeps loading through its TLB, "
			   "the freed frames written again at once (a remote flush waiting out a lockless TLB hit)", 0,
	  tlb_shootdown },
};
const unsigned stress_anon_nstories = sizeof(stress_anon_stories) / sizeof(stress_anon_stories[0]);
