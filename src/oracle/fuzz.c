/*
 * fuzz.c - the differential fuzzer (see fuzz.h): a whole run.
 *
 * One generator (fuzz_gen.c) serves both front ends, `mmlab fuzz` and
 * fuzz_run_bytes.  Each operation runs on the library and on the
 * reference model (fuzz_exec.c); any disagreement, a failed invariant
 * check or a bug the machine reported is a divergence, and what led
 * there is shrunk to a scenario file that `mmlab run` replays
 * (fuzz_shrink.c).  fuzz_internal.h says which part does what.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#include "lib/json.h"
#include "lib/progress.h"
#include "oracle/fuzz_internal.h"
#include "oracle/vmstat_trace.h"
#include "scenario/scenario.h"

#ifndef SHRINK_SECONDS
#define SHRINK_SECONDS	60.0
#endif

void fuzz_diverge(struct run *r, const char *fmt, ...)
{
	va_list ap;

	if (r->why[0])
		return;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	if (r->cur_task >= 0 && r->cur_task < r->ntasks && r->tasks[r->cur_task]) {
		size_t n;
		FILE *f = open_memstream(&r->why_maps, &n);

		if (f) {
			mml_show_maps(r->tasks[r->cur_task], f);
			fclose(f);
		}
		f = open_memstream(&r->why_model, &n);
		if (f) {
			model_dump(r->md, r->cur_task, f);
			fclose(f);
		}
		r->why_task = r->cur_task;
	}
}

/* ---- a whole run -------------------------------------------------------------------------- */

/*
 * Task i is t now (NULL: it exited), and r->live says so: the generator
 * picks among the live tasks every operation, and a long run has numbered
 * thousands of tasks.  Without memory for the set the task is still set:
 * the run goes on, the generator cannot pick it.
 */
void fuzz_set_task(struct run *r, int i, struct mml_task *t)
{
	r->tasks[i] = t;
	if (t)
		idset_add(&r->live, i);
	else
		idset_del(&r->live, i);
}

/* Pin i is pin now (NULL: released), and r->live_pins says so, as for tasks. */
void fuzz_set_pin(struct run *r, int i, struct mml_pin *pin)
{
	r->pins[i] = pin;
	if (pin)
		idset_add(&r->live_pins, i);
	else
		idset_del(&r->live_pins, i);
}

/* The live pins numbered below r->next_pin, the newest first, at most max: their count. */
int fuzz_recent_pins(const struct run *r, int *live, int max)
{
	int n = 0;

	for (int k = r->live_pins.n - 1; k >= 0 && n < max; k--)
		if (r->live_pins.ids[k] < r->next_pin)
			live[n++] = r->live_pins.ids[k];
	return n;
}

/*
 * The run's own heap in host huge pages, once a process: the model's
 * bytes, the checker's tables and the machine's objects grow to a few
 * MiB, faulted in 4 KiB at a time on first touch, 10-20 us a fault on a
 * VM (1,400 of them, a tenth of a 100,000-operation run); as glibc's
 * glibc.malloc.hugetlb=1 tunable does.  The heap grows by 32 MiB at once
 * and keeps what it frees, and that room is advised MADV_HUGEPAGE.  Where
 * THP is "never" the advice does nothing.
 */
#define HOST_HUGE_PAGE	(2UL << 20)

static void fuzz_heap_huge(void)
{
	static bool done;
	uintptr_t start, end;
	void *p;

	if (done)
		return;
	done = true;
	mallopt(M_MMAP_THRESHOLD, 32 << 20);	/* fixed: blocks below it come from the heap */
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	mallopt(M_TOP_PAD, 32 << 20);
	start = (uintptr_t)sbrk(0);
	p = malloc(1 << 20);			/* past the heap's free room: it grows by the pad */
	end = (uintptr_t)sbrk(0) & ~(uintptr_t)(HOST_HUGE_PAGE - 1);
	start = (start + HOST_HUGE_PAGE - 1) & ~(uintptr_t)(HOST_HUGE_PAGE - 1);
	if (p && end > start)
		madvise((void *)start, end - start, MADV_HUGEPAGE);
	free(p);
}

bool fuzz_run_init(struct run *r, const struct fuzz_opts *o, bool check_frees)
{
	struct mml_config cfg = {
		.ram_bytes = o->ram, .seed = o->seed, .nr_nodes = o->nodes > 1 ? (unsigned)o->nodes : 0,
		.flags = MML_QUIET | (check_frees ? MML_CHECK_FREES : 0) | (o->kswapd ? MML_KSWAPD : 0),
	};

	fuzz_heap_huge();
	if (o->dax)
		cfg.pmem_bytes = FUZZ_PMEM_BYTES;
	memset(r, 0, sizeof(*r));
	r->o = o;
	r->focus_task = r->focus_region = r->focus_pin = r->focus_fd = r->focus_path = -1;
	r->why_task = r->cur_task = -1;
	r->thp_advise = -1;
	r->md = model_new();
	/* --thp writes shmem_enabled too: shmem huge pages, whose tails may reach past a file's end */
	if (r->md)
		model_set_shmem_huge(r->md, o->thp);
	if (o->files && (!r->md || !fuzz_files_init(r, &cfg)))
		return false;
	r->m = mml_machine_new(&cfg);
	r->ibuf = malloc(4 * PG);
	r->mbuf = malloc(4 * PG);
	r->abuf = malloc(5 * PG);
	r->ubuf = malloc(4 * PG);
	if (!r->m || !r->md || !r->ibuf || !r->mbuf || !r->abuf || !r->ubuf)
		return false;
	if (o->bug && mml_bug_inject(r->m, o->bug))
		return false;
	/* Nothing refused at first (overcommit 1); --commit changes the policy as it goes. */
	if (mml_sys_write(r->m, FUZZ_OVERCOMMIT, "1") < 0)
		return false;
	model_set_overcommit(r->md, 1);
	for (int i = 0; i < MAX_SWAPONS; i++)
		r->swap_id[i] = -1;
	if (o->swap) {
		r->swap_id[0] = mml_swapon(r->m, NULL, o->swap, -1);
		if (r->swap_id[0] < 0)
			return false;
	}
	r->next_swap = 1;
	if (o->fail_rate_ppm || o->fail_at) {
		struct mml_fail f = { .sites = MML_FAIL_ALL, .rate_ppm = o->fail_rate_ppm, .seed = o->seed,
				      .countdown = o->fail_at, .repeat = o->fail_repeat };

		if (mml_fail_set(r->m, &f))
			return false;
		r->injecting = true;
	}
	return true;
}

/* Tears the run down; a leak or broken invariant at the end is a divergence. */
void fuzz_run_finish(struct run *r)
{
	if (r->m) {
		for (int i = 0; i < r->npins; i++)
			mml_unpin(r->pins[i]);	/* the device lets go before power-off */
		for (int i = 0; i < r->ndevs; i++)
			mml_device_free(r->devs[i]);
		fuzz_uffd_finish(r);	/* closed before power-off, as the processes' descriptors */
		if (r->injecting)
			mml_fail_set(r->m, NULL);
		/* after a divergence too: its report says whether the full check fails */
		if (mml_check(r->m)) {
			if (!r->why[0])
				fuzz_diverge(r, "the invariant checker failed at the end");
			else
				r->full_fails = true;
		}
		r->cur_task = -1;	/* the tasks die with the machine: no views of them */
		if (mml_machine_free(r->m) && !r->why[0])
			fuzz_diverge(r, "leaks or broken invariants when every process exited");
	}
	fuzz_uffd_finish(r);	/* its handles (freed at power-off already if the machine is gone) */
	fuzz_files_finish(r);	/* what the disk holds after power-off */
	model_free(r->md);
	free(r->tasks);
	free(r->rbase);
	free(r->rlen);
	free(r->rok);
	free(r->pins);
	free(r->pin_writable);
	free(r->devs);
	free(r->fdnum);
	free(r->fdok);
	free(r->rfile);
	idset_free(&r->live);
	idset_free(&r->live_pins);
	free(r->layout[0]);
	free(r->layout[1]);
	free(r->ibuf);
	free(r->mbuf);
	free(r->abuf);
	free(r->ubuf);
}

/*
 * What the layout check found wrong, as the reproducer's last statement, so
 * that `mmlab run` sees it too: the model's VmFlags of the VMA at addr
 * (its protection and every flag the check compares), or that nothing is
 * mapped there (model NULL).
 */
static void print_layout_expect(struct run *r, int task, uint64_t addr, const char *model)
{
	static const char *const flags[] = { "dc", "wf", "mt", "hg", "nh", "lo", "lf" };
	struct scn_op s;

	if (!r->scn)
		return;
	if (!model) {
		scn_op_init(&s, SCN_OP_EXPECT_VMAS);
		s.len = PG;
		s.cmp = SCN_EQ;
		s.value = 0;
	} else {
		scn_op_init(&s, SCN_OP_EXPECT_VMA);
		for (int i = 0; i < 3; i++) {
			int bit = scn_vm_flag(i == 0 ? "rd" : i == 1 ? "wr" : "ex", 2);

			*(model[i] != '-' ? &s.pm_set : &s.pm_clear) |= 1ULL << bit;
		}
		for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
			char word[4] = { ' ', flags[i][0], flags[i][1], 0 };
			int bit = scn_vm_flag(flags[i], 2);

			*(strstr(model, word) ? &s.pm_set : &s.pm_clear) |= 1ULL << bit;
		}
	}
	s.task = FZ_SYM(FZ_TASK, task);
	s.addr.sym = -1;
	s.addr.off = addr;
	fuzz_print(r->scn, &s);
}

/* A layout run's attributes as model_dump() prints them: "rw- dc wf mt hg nh lo lf" */
static void layout_text(unsigned attr, char *buf, size_t n)
{
	snprintf(buf, n, "%c%c%c%s%s%s%s%s%s%s", attr & LAYOUT_R ? 'r' : '-', attr & LAYOUT_W ? 'w' : '-',
		 attr & LAYOUT_X ? 'x' : '-', attr & LAYOUT_DC ? " dc" : "", attr & LAYOUT_WF ? " wf" : "",
		 attr & LAYOUT_MT ? " mt" : "", attr & LAYOUT_HG ? " hg" : "", attr & LAYOUT_NH ? " nh" : "",
		 attr & LAYOUT_LO ? " lo" : "", attr & LAYOUT_LF ? " lf" : "");
}

/* Both sides' layouts of task into r->layout[0] (the library's) and [1] (the model's); false without memory. */
static bool get_layouts(struct run *r, int task, size_t *n)
{
	for (int side = 0; side < 2; side++) {
		for (;;) {
			size_t cap = r->layout_cap[side];

			n[side] = side ? model_layout(r->md, task, r->layout[1], cap) :
					 mml_task_layout(r->tasks[task], r->layout[0], cap);
			if (n[side] <= cap)
				break;
			struct layout_range *l = realloc(r->layout[side], n[side] * 2 * sizeof(*l));

			if (!l)
				return false;
			r->layout[side] = l;
			r->layout_cap[side] = n[side] * 2;
		}
	}
	return true;
}

/*
 * The layout check: the library's VMAs (what /proc/PID/smaps shows of
 * them) and the model's pages must agree on which pages are mapped and
 * how.  (The library merges VMAs the model knows nothing of, so compare
 * page by page.)
 */
static void compare_layout(struct run *r, int task)
{
	const struct layout_range *lib, *mod;
	uint64_t la = 0, lb = 0, ma = 0, mb = 0;
	unsigned lattr = 0, mattr = 0;
	size_t n[2], i = 0, j = 0;

	if (!get_layouts(r, task, n))
		return;
	lib = r->layout[0];
	mod = r->layout[1];
	/* Walk both lists of ranges, page by page where they overlap. */
	for (;;) {
		if (la == lb && i < n[0]) {
			la = lib[i].start;
			lb = lib[i].end;
			lattr = lib[i++].attr;
		}
		if (ma == mb && j < n[1]) {
			ma = mod[j].start;
			mb = mod[j].end;
			mattr = mod[j++].attr;
		}
		if (la == lb && ma == mb)
			break;
		if (la != ma || (la < lb && ma < mb && lattr != mattr)) {
			uint64_t at = la == lb ? ma : ma == mb ? la : min_u64(la, ma);
			char lp[40], mp[40];

			layout_text(lattr, lp, sizeof(lp));
			layout_text(mattr, mp, sizeof(mp));
			fuzz_diverge(r, "T%d: the library and the model disagree about the mapping at %#" PRIx64
				" (library %s, model %s)", task, at, la == at && la < lb ? lp : "unmapped",
				ma == at && ma < mb ? mp : "unmapped");
			print_layout_expect(r, task, at, ma == at && ma < mb ? mp : NULL);
			break;
		}
		/* Same start, same protection: consume the shorter. */
		if (lb < mb) {
			ma = lb;
			la = lb;
		} else {
			la = mb;
			ma = mb;
		}
	}
}

/*
 * Every thread of a process the OOM killer chose can only exit: do that on
 * both sides, and say so in the scenario.  Which process goes is the
 * library's policy (the largest), not the model's business.  First the
 * invariants: what the reaper did to a victim (and to the devices that
 * mirror it) shows only until the victim's exit tears everything down.
 */
static void sweep_killed(struct run *r)
{
	int i;

	/*
	 * Asked of the tasks, not of /proc/vmstat's oom_kill: a view settles
	 * the frees waiting for a grace period, and a check after every
	 * operation that the printed scenario does not make would lay out
	 * frames differently from `mmlab run` (compaction would move others).
	 * Only when the kill count moved (read as it stands, settling nothing):
	 * a look at every task after every operation costs.
	 */
	long kills = mml_oom_kills(r->m);

	if (kills == r->oom_kills)
		return;
	r->oom_kills = kills;
	for (i = 0; i < r->ntasks && !(r->tasks[i] && mml_task_killed(r->tasks[i])); i++)
		;
	if (i == r->ntasks)
		return;
	if (!r->why[0] && mml_check(r->m))
		fuzz_diverge(r, "the invariant checker failed after an OOM kill");
	if (r->scn) {
		struct scn_op s;

		scn_op_init(&s, SCN_OP_CHECK);
		fuzz_print(r->scn, &s);
	}
	for (i = 0; i < r->ntasks; i++) {
		if (!r->tasks[i] || !mml_task_killed(r->tasks[i]))
			continue;
		mml_exit(r->tasks[i]);
		model_exit(r->md, i);
		fuzz_set_task(r, i, NULL);
		if (r->scn) {
			struct scn_op s;

			scn_op_init(&s, SCN_OP_EXPECT_KILLED);
			s.task = FZ_SYM(FZ_TASK, i);
			s.value = 1;
			fuzz_print(r->scn, &s);
			s.kind = SCN_OP_EXIT;
			fuzz_print(r->scn, &s);
		}
	}
}

/*
 * The incremental check after op (see mml_check_range): what it named in
 * its task's mm, a page either side for the VMAs it split or merged; the
 * whole mm of a fork's both sides and of a new process; every mm after an
 * operation that reaches beyond its own (reclaim, swapoff, migration,
 * KSM, files, devices ...; MADV_COLD and MADV_PAGEOUT unless their range
 * was private, r->op_private) or during which reclaim, migration, a split
 * or the OOM killer ran (the epoch moved).  0 or -EUCLEAN.
 */
static int check_touched(struct run *r, const struct fop *op)
{
	struct mml_task *t = op->task >= 0 && op->task < r->ntasks ? r->tasks[op->task] : NULL;
	uint64_t start = r->op_addr >= PG ? (r->op_addr & ~(PG - 1)) - PG : 0, len = op->len;
	long epoch = mml_check_epoch(r->m);
	int ret = 0;

	if (epoch != r->epoch) {
		r->epoch = epoch;
		return mml_check_range(r->m, NULL, 0, 0);
	}
	switch (op->kind) {
	case F_PIN:
		len *= PG;
		/* fall through */
	case F_MMAP:
	case F_MUNMAP:
	case F_MPROTECT:
	case F_READ:
	case F_WRITE:
	case F_TAG_SET:
	case F_TAG_GET:
		break;
	case F_MADVISE:
		/* Reclaim unmaps from every mm, a split from every mm that maps the folio. */
		if ((op->advice != MADV_PAGEOUT && op->advice != MADV_COLD) || r->op_private)
			break;
		return mml_check_range(r->m, NULL, 0, 0);
	case F_FORK:
	case F_SPAWN:
		t = op->new_task < r->ntasks ? r->tasks[op->new_task] : NULL;
		if (t)
			ret = mml_check_range(r->m, t, 0, UINT64_MAX);
		if (!ret && op->kind == F_FORK && op->task < r->ntasks && r->tasks[op->task])
			ret = mml_check_range(r->m, r->tasks[op->task], 0, UINT64_MAX);
		return ret;
	case F_THREAD:		/* a new CPU of an mm whose tables it does not change, its TLB empty */
	case F_CHECK:		/* a check statement: the full check every --check-every operations stands for it */
	case F_EXIT:		/* its tables are gone; what they mapped is the full check's */
	case F_UNPIN:		/* a pin's use and release change no table */
	case F_DMA_READ:
	case F_DMA_WRITE:
		return 0;
	default:
		return mml_check_range(r->m, NULL, 0, 0);
	}
	if (!t)
		return 0;
	ret = mml_check_range(r->m, t, start, r->op_addr + len + PG);
	/* An mmap the kernel placed: where it went too. */
	if (!ret && op->kind == F_MMAP && op->defines < r->nregions && r->rok[op->defines] &&
	    r->rbase[op->defines] != r->op_addr)
		ret = mml_check_range(r->m, t, r->rbase[op->defines] - PG,
				      r->rbase[op->defines] + r->rlen[op->defines] + PG);
	return ret;
}

/*
 * After each op: the incremental check of what it touched, or every
 * check_every operations the full check and the layout, and any bug the
 * machine reported.
 */
void fuzz_after_op(struct run *r, const struct fop *op, int check_every)
{
	sweep_killed(r);
	r->done++;
	if (r->why[0])
		return;
	if (r->injecting && r->o->files)
		fuzz_files_after_failures(r);
	if (check_every && r->done % check_every == 0) {
		r->epoch = mml_check_epoch(r->m);
		if (mml_check(r->m)) {
			fuzz_diverge(r, "the invariant checker failed after operation %ld", r->done);
			return;
		}
		if (r->cur_task >= 0 && r->cur_task < r->ntasks && r->tasks[r->cur_task])
			compare_layout(r, r->cur_task);
	} else if (check_touched(r, op)) {
		fuzz_diverge(r, "the invariant checker failed after operation %ld (incremental check)", r->done);
		return;
	}
	if (!r->why[0] && mml_report_count(r->m))
		fuzz_diverge(r, "the machine reported a bug during operation %ld", r->done);
	fuzz_commit_check(r);
}

double fuzz_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * The first n operations of o's run, generated again for the shrinker: a
 * run is the same from its seed, so they are not kept while it goes (a
 * record of every operation cost a host page fault every 19 of them and
 * grew without bound under --time).  NULL if memory is short, or if this
 * run did not diverge after n operations as the first one did.
 */
static struct fop *fuzz_regenerate(const struct fuzz_opts *o, size_t n)
{
	struct chooser c = { .s = o->seed };
	struct fop *ops = calloc(n ? n : 1, sizeof(*ops));
	struct run r;
	bool same;

	if (!ops)
		return NULL;
	if (!fuzz_run_init(&r, o, true)) {
		fuzz_run_finish(&r);
		free(ops);
		return NULL;
	}
	while ((size_t)r.done < n && !r.why[0]) {
		struct fuzz_fail_mark mk;

		fuzz_gen_op(&r, &c, &ops[r.done]);
		fuzz_fails_mark(&r, &mk);
		fuzz_exec_op(&r, &ops[r.done]);
		fuzz_fails_record(&r, &mk, &ops[r.done]);
		fuzz_after_op(&r, &ops[r.done], o->check_every);
	}
	fuzz_run_finish(&r);
	free(r.why_maps);	/* the views of a divergence only a first run prints */
	free(r.why_model);
	same = (size_t)r.done == n && r.why[0];
	if (!same) {
		free(ops);
		return NULL;
	}
	return ops;
}

/*
 * One seed's run; *done: the operations it ran.  j: under --json, the
 * seed's entry of "seeds" goes there, with the text it would have
 * printed as its "output".
 */
static int fuzz_one(const struct fuzz_opts *in, long *done, struct json *j)
{
	struct fuzz_opts o = *in;
	struct chooser c = { .s = in->seed };
	struct fop op, *ops = NULL;
	size_t n;
	struct run r;
	double t0 = fuzz_now(), dt;
	FILE *out = in->out ? in->out : stdout;
	struct progress prog;
	char label[48];
	char *text = NULL, *scn = NULL;
	size_t textlen = 0, scnlen = 0, m = 0;
	FILE *scnf = NULL;
	int ret = 0;

	if (!o.ops)
		o.ops = o.time_s ? LONG_MAX : 10000;
	if (!o.procs)
		o.procs = 4;
	/* THPs take 2 MiB at a fault: --thp's processes need more room. */
	if (!o.ram)
		o.ram = (o.thp ? 64ULL : 16ULL) << 20;
	if (!o.check_every)
		o.check_every = FUZZ_CHECK_EVERY;
	if (o.ops < 0 || o.procs < 1 || o.check_every < 0 || o.time_s < 0 || o.fail_rate_ppm > 1000000 ||
	    o.fail_at < 0 || o.fail_repeat < -1)
		return 2;
	if (j && !(out = open_memstream(&text, &textlen))) {
		fprintf(stderr, "mmlab fuzz: %s\n", strerror(errno));
		return 2;
	}
	if (!fuzz_run_init(&r, &o, true)) {
		fprintf(stderr, "mmlab fuzz: cannot set up the machine%s%s\n", o.bug ? " or unknown bug " : "",
			o.bug ? o.bug : "");
		fuzz_run_finish(&r);
		if (j)
			fclose(out);
		free(text);
		return 2;
	}
	/* MMLAB_FUZZ_TRACE=1: every operation as a scenario line on stderr. */
	if (getenv("MMLAB_FUZZ_TRACE"))
		r.scn = stderr;
	snprintf(label, sizeof(label), "fuzz seed %" PRIu64, o.seed);
	progress_start(&prog, o.progress ? stderr : NULL, label, "ops", o.ops == LONG_MAX ? 0 : (uint64_t)o.ops,
		       o.time_s);
	while (r.done < o.ops && !r.why[0]) {
		fuzz_gen_op(&r, &c, &op);
		fuzz_exec_op(&r, &op);
		fuzz_after_op(&r, &op, o.check_every);
		vmstat_trace_step(o.vmstat, r.m, o.seed);
		if (r.done % 256 == 0)
			progress_update(&prog, (uint64_t)r.done, 0);
		if (o.time_s && r.done % 256 == 0 && fuzz_now() - t0 >= o.time_s)
			break;
	}
	n = (size_t)r.done;
	*done = r.done;
	fuzz_run_finish(&r);		/* the end-of-run check may still find something */
	dt = fuzz_now() - t0;
	progress_end(&prog, n, r.why[0] != 0);
	if (!o.quiet)
		fprintf(out, "seed %" PRIu64 ": %zu operations, %.0f checked operations/s%s\n", o.seed, n,
			dt > 0 ? n / dt : 0.0, r.why[0] ? "" : ", no divergence");
	if (r.why[0]) {
		char why[1024];

		fprintf(out, "divergence at operation %zu: %s\n", n, r.why);
		/*
		 * The full check ran then too (fuzz_run_finish), whatever found
		 * it: what it says is in the report as in a run that checked in
		 * full after every operation.
		 */
		if (r.full_fails && strncmp(r.why, "the invariant checker failed", 28) &&
		    strncmp(r.why, "the machine reported", 20))
			fprintf(out, "the full invariant check fails there too\n");
		if (r.why_task >= 0 && r.why_maps)
			fprintf(out, "the library's maps of T%d then:\n%sthe model's:\n%s", r.why_task, r.why_maps,
				r.why_model);
		free(r.why_maps);
		free(r.why_model);
		/* Shrink what led there, checking every operation from now on. */
		double deadline = fuzz_now() + (o.shrink_s > 0 ? o.shrink_s : SHRINK_SECONDS);

		ops = fuzz_regenerate(&o, n);
		if (!ops) {
			fprintf(out, "(the run went otherwise when generated again: no scenario)\n");
			ret = 1;
			goto report;
		}
		m = fuzz_shrink(&o, ops, n, r.why, deadline);
		m = fuzz_shrink_tasks(&o, ops, m, r.why, deadline);
		m = fuzz_shrink(&o, ops, m, r.why, deadline);
		if (!fuzz_replay(&o, ops, m, NULL, NULL, why, sizeof(why))) {
			fprintf(out, "(the divergence did not reproduce on replay: shrinking skipped)\n");
			m = n;
		} else if (strcmp(why, r.why)) {
			fprintf(out, "(the shrunk run diverges differently: %s)\n", why);
		}
		fprintf(out, "shrunk to %zu operations; scenario:\n", m);
		fuzz_print_scenario(&o, ops, m, out, (long)n);
		if (j && (scnf = open_memstream(&scn, &scnlen))) {
			fuzz_print_scenario(&o, ops, m, scnf, (long)n);
			fclose(scnf);
		}
		if (o.scenario_out) {
			FILE *f = fopen(o.scenario_out, "w");

			if (f) {
				fuzz_print_scenario(&o, ops, m, f, (long)n);
				fclose(f);
			} else {
				fprintf(stderr, "mmlab fuzz: cannot write %s\n", o.scenario_out);
			}
		}
		ret = 1;
	}
report:
	free(ops);
	if (j) {
		fclose(out);
		json_object(j, NULL);
		json_uint(j, "seed", o.seed);
		json_uint(j, "operations", n);
		json_double(j, "ops_per_s", dt > 0 ? n / dt : 0.0);
		if (ret) {
			json_object(j, "divergence");
			json_uint(j, "operation", n);
			json_str(j, "why", r.why);
			json_uint(j, "shrunk_operations", m);
			json_strn(j, "scenario", scn ? scn : "", scnlen);
			json_end(j);
		} else {
			json_null(j, "divergence");
		}
		json_strn(j, "output", text, textlen);
		json_end(j);
		free(text);
		free(scn);
	}
	return ret;
}

/*
 * --json's document around the seeds' entries: its "total" is what the
 * merge of split runs' documents (docs/json.md) computes from "seeds".
 * It is kept in memory (doc) and printed whole at the end, so that a run
 * that stops with status 2 prints nothing on out rather than half of it.
 */
struct json_doc {
	struct json j;
	char *text;
	size_t len;
};

static bool json_open(struct json_doc *d, const struct fuzz_opts *o)
{
	struct json *j = &d->j;
	FILE *f = open_memstream(&d->text, &d->len);

	if (!f) {
		fprintf(stderr, "mmlab fuzz: %s\n", strerror(errno));
		return false;
	}
	json_init(j, f);
	json_object(j, NULL);
	json_str(j, "options", o->json_args ? o->json_args : "");
	json_array(j, "seeds");
	return true;
}

static void json_close(struct json_doc *d, const struct fuzz_opts *o, int status, uint64_t runs, uint64_t ops,
		       const uint64_t *bad, size_t nbad)
{
	struct json *j = &d->j;

	json_end(j);
	json_object(j, "total");
	json_uint(j, "seeds", runs);
	json_uint(j, "operations", ops);
	json_array(j, "diverged");
	for (size_t i = 0; i < nbad; i++)
		json_uint(j, NULL, bad[i]);
	json_end(j);
	json_end(j);
	json_end(j);
	fclose(j->f);
	if (status != 2)
		fwrite(d->text, 1, d->len, o->out ? o->out : stdout);
	free(d->text);
}

int fuzz_run(const struct fuzz_opts *o)
{
	struct json_doc d;
	long done = 0;
	int r;

	if (!o->json)
		return fuzz_one(o, &done, NULL);
	if (!json_open(&d, o))
		return 2;
	r = fuzz_one(o, &done, &d.j);
	json_close(&d, o, r, 1, (uint64_t)done, &o->seed, r == 1);
	return r;
}

/*
 * The final line has what the seeds' own lines have, in the form the
 * merge of docs/testing.md ("Splitting a campaign") prints for the lines
 * of many runs, so that a campaign split any way sums up the same.
 */
int fuzz_run_seeds(const struct fuzz_opts *in, uint64_t first, uint64_t last)
{
	struct fuzz_opts o = *in;
	FILE *out = in->out ? in->out : stdout;
	uint64_t runs = 0, ops = 0, *bad = NULL;
	size_t nbad = 0, cap = 0;
	struct progress prog;
	char label[64];
	struct json_doc d;
	int ret = 0;

	if (o.json && !json_open(&d, &o))
		return 2;
	/* One line for the range; a seed's own would be redrawn from 0 each time. */
	snprintf(label, sizeof(label), "fuzz seeds %" PRIu64 "-%" PRIu64, first, last);
	progress_start(&prog, o.progress ? stderr : NULL, label, "seeds", last - first + 1, 0);
	o.progress = false;
	for (o.seed = first;; o.seed++) {
		long done = 0;
		int r;

		progress_clear(&prog);
		r = fuzz_one(&o, &done, o.json ? &d.j : NULL);

		if (r == 2) {
			ret = 2;
			goto out;
		}
		runs++;
		ops += (uint64_t)done;
		if (r == 1) {
			if (nbad == cap) {
				uint64_t *nb = realloc(bad, (cap = cap * 2 + 16) * sizeof(*bad));

				if (!nb) {
					fprintf(stderr, "mmlab fuzz: out of memory\n");
					ret = 2;
					goto out;
				}
				bad = nb;
			}
			bad[nbad++] = o.seed;
			ret = 1;
		}
		progress_update(&prog, runs, nbad);
		if (o.seed == last)
			break;
	}
	progress_end(&prog, runs, nbad);
	if (!o.json && !o.quiet) {
		fprintf(out, "%" PRIu64 " seeds, %" PRIu64 " operations, %zu diverged", runs, ops, nbad);
		for (size_t i = 0; i < nbad; i++)
			fprintf(out, "%s%" PRIu64, i ? " " : ": ", bad[i]);
		fputc('\n', out);
	}
out:
	if (o.json)
		json_close(&d, &o, ret, runs, ops, bad, nbad);
	free(bad);
	return ret;
}

int fuzz_run_bytes(const uint8_t *data, size_t size)
{
	struct fuzz_opts o = { .seed = 1, .procs = 3, .ram = 4ULL << 20, .check_every = 16, .quiet = true,
			       .devices = true };
	struct chooser c = { .data = data, .len = size };
	struct run r;
	struct fop op;
	int ret = 0;

	if (!fuzz_run_init(&r, &o, true)) {
		fuzz_run_finish(&r);
		return 0;
	}
	while (!chooser_exhausted(&c) && r.done < 2000 && !r.why[0]) {
		fuzz_gen_op(&r, &c, &op);
		fuzz_exec_op(&r, &op);
		fuzz_after_op(&r, &op, o.check_every);
	}
	fuzz_run_finish(&r);
	if (r.why[0]) {
		fprintf(stderr, "mmlab fuzz: divergence: %s\n", r.why);
		ret = 1;
	}
	return ret;
}
