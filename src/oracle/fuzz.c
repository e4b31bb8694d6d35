/*
 * fuzz.c - the differential fuzzer (see fuzz.h).
 *
 * One generator serves both front ends: its choices come from a seeded
 * PRNG (`mmlab fuzz`) or from the bytes a coverage-guided fuzzer hands in
 * (fuzz_run_bytes).  Each operation runs on the library and on the
 * reference model; any disagreement, a failed invariant check or a bug the
 * machine reported is a divergence.  Operations name their addresses
 * relative to earlier mappings ("regions") and their tasks by number, so
 * that delta debugging can drop any subset and still replay the rest; the
 * survivor is printed as a scenario file that `mmlab run` replays.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "mmlab.h"
#include "oracle/fuzz.h"
#include "oracle/model.h"

#define PG		4096ULL
#define ABS_BASE	0x10000000ULL	/* where absolute (non-region) addresses land */
#define MAX_LIVE_TASKS	16
#define SHRINK_TRIALS	4000
#ifndef SHRINK_SECONDS
#define SHRINK_SECONDS	60.0
#endif

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static int min_int(int a, int b) { return a < b ? a : b; }
static int max_int(int a, int b) { return a > b ? a : b; }

/* ---- choices --------------------------------------------------------------------- */

struct chooser {
	uint64_t s;			/* PRNG state */
	const uint8_t *data;		/* or: bytes from libFuzzer */
	size_t len, pos;
};

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A value in [0, n). */
static uint32_t choose(struct chooser *c, uint32_t n)
{
	uint32_t v = 0;

	if (n <= 1)
		return 0;
	if (!c->data)
		return (uint32_t)(splitmix64(&c->s) % n);
	for (int i = 0; i < 2; i++)
		v = (v << 8) | (c->pos < c->len ? c->data[c->pos++] : 0);
	return v % n;
}

static bool chooser_exhausted(const struct chooser *c)
{
	return c->data && c->pos >= c->len;
}

/* ---- operations -------------------------------------------------------------------- */

enum fop_kind { F_SPAWN, F_THREAD, F_FORK, F_EXIT, F_MMAP, F_MUNMAP, F_MPROTECT, F_MADVISE,
		F_READ, F_WRITE, F_TAG_SET, F_TAG_GET, F_PIN, F_UNPIN, F_DMA_READ, F_DMA_WRITE, F_RECLAIM,
		F_SWAPON, F_SWAPOFF, F_CHECK, F_FAIL_TAG };

_Static_assert(MML_PROT_MTE == MODEL_PROT_MTE, "the model's PROT_MTE is the API's");

/* Swap devices a run may switch on (swap0 is --swap's), and have on at once. */
#define MAX_SWAPONS	64
#define MAX_LIVE_SWAPS	4

struct fop {
	enum fop_kind kind;
	int task;		/* the acting task */
	int new_task;		/* spawn, thread, fork: the task created */
	int region;		/* address = base of this region + off; -1: off is absolute */
	int defines;		/* mmap: the region it creates */
	int64_t off;
	uint64_t len;
	int prot, flags, advice;
	uint8_t byte;		/* write: the byte repeated; tag set: the tag */
	int pin;		/* pin: the pin it creates; unpin, dma: the pin used */
	unsigned foll;		/* pin: MML_FOLL_* */
	bool get;		/* pin: a FOLL_GET reference rather than a pin */
	int dev;		/* swapon: the device it creates (swapN); swapoff: the one it ends */
};

struct run {
	const struct fuzz_opts *o;
	struct mml_machine *m;
	struct model *md;
	struct mml_task **tasks;	/* by task number; NULL: not alive */
	int ntasks;
	uint64_t *rbase, *rlen;		/* by region number */
	bool *rok;			/* defined in this run */
	int nregions;
	struct mml_pin **pins;		/* by pin number; NULL: none */
	bool *pin_writable;		/* a write pin (not a reference): the device may write */
	int npins;
	int next_task, next_region, next_pin;	/* for the generator */
	int swap_id[MAX_SWAPONS];	/* swapN's device id in the library; -1: off */
	int next_swap;
	/*
	 * Locality: the generator often comes back to the task and page it
	 * just used, so that sequences like "write, fork, get, munmap, write,
	 * read through the reference" (the bugs of the COW series) are likely.
	 */
	int focus_task, focus_region, focus_pin;
	int64_t focus_off;
	/*
	 * A "COW story" in progress: write a page, fork, take a pin or a
	 * reference in one process, unmap or drop it there, write in either,
	 * read through the device and the CPU.  The bugs of the COW series
	 * live in such sequences; each step's choices are still random.
	 */
	int story_step, story_a, story_b, story_pin;
	/*
	 * Or a "lazy-free story": write a page, fork, unshare it with a R/O
	 * pin, fork again, MADV_FREE it in the parent and drop it there, then
	 * pressure and a read in the second child, which never freed it.
	 */
	bool story_free;
	/*
	 * Or a "rewrite story": a page (tagged or not) is written, lazily
	 * freed, written again (bytes or tags), pushed out, and read back:
	 * what was written after MADV_FREE must come back, tags and all.
	 */
	bool story_rewrite;
	/*
	 * Or a "swapoff story": a tagged page of its own gets tags, goes out
	 * to swap, every device is switched off (unuse_pte brings it back),
	 * and a tag load checks the tags came back with it.
	 */
	bool story_swapoff;
	int story_dev;		/* the swapoff story's latest device */
	long done;
	long oom_kills;			/* the machine's oom_kill count, as last swept */
	bool injecting;
	char why[1024];			/* the first divergence */
	int why_task;			/* the task it happened to, and both views of its memory then */
	int cur_task;
	char *why_maps, *why_model;
	FILE *scn;			/* printing a scenario while replaying */
	uint8_t *ibuf, *mbuf;
	uint8_t *abuf;			/* F_READ: the alternatives of the pages it reads */
};

static bool grow_arrays(struct run *r, int task, int region, int pin)
{
	if (pin >= r->npins) {
		int n = pin * 2 + 16;
		struct mml_pin **p = realloc(r->pins, (size_t)n * sizeof(*p));
		bool *w;

		if (p)
			r->pins = p;
		w = p ? realloc(r->pin_writable, (size_t)n * sizeof(*w)) : NULL;
		if (!w)
			return false;
		memset(r->pins + r->npins, 0, (size_t)(n - r->npins) * sizeof(*r->pins));
		memset(w + r->npins, 0, (size_t)(n - r->npins) * sizeof(*w));
		r->pin_writable = w;
		r->npins = n;
	}
	if (task >= r->ntasks) {
		int n = task * 2 + 16;
		struct mml_task **t = realloc(r->tasks, (size_t)n * sizeof(*t));

		if (!t)
			return false;
		memset(t + r->ntasks, 0, (size_t)(n - r->ntasks) * sizeof(*t));
		r->tasks = t;
		r->ntasks = n;
	}
	if (region >= r->nregions) {
		int n = region * 2 + 16;
		uint64_t *b = realloc(r->rbase, (size_t)n * sizeof(*b));
		uint64_t *l = b ? realloc(r->rlen, (size_t)n * sizeof(*l)) : NULL;
		bool *ok;

		if (b)
			r->rbase = b;
		if (l)
			r->rlen = l;
		ok = (b && l) ? realloc(r->rok, (size_t)n * sizeof(*ok)) : NULL;
		if (!ok)
			return false;
		memset(ok + r->nregions, 0, (size_t)(n - r->nregions) * sizeof(*ok));
		r->rok = ok;
		r->nregions = n;
	}
	return true;
}

static const char *errname(long e)
{
	switch (-e) {
	case EINVAL: return "EINVAL";
	case ENOMEM: return "ENOMEM";
	case EFAULT: return "EFAULT";
	case EEXIST: return "EEXIST";
	case EPERM: return "EPERM";
	case EBADF: return "EBADF";
	case EACCES: return "EACCES";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ESRCH: return "ESRCH";
	case EINTR: return "EINTR";
	default: return "E?";
	}
}

static const char *prot_text(int prot)
{
	static const char *const t[16] = { "none", "r", "w", "rw", "x", "rx", "wx", "rwx",
					   "none,mte", "r,mte", "w,mte", "rw,mte", "x,mte", "rx,mte",
					   "wx,mte", "rwx,mte" };

	return t[(prot & 7) | ((prot & MML_PROT_MTE) ? 8 : 0)];
}

static const char *advice_text(int a, char *buf, size_t n)
{
	switch (a) {
	case MADV_DONTNEED: return "dontneed";
	case MADV_FREE: return "free";
	case MADV_DONTFORK: return "dontfork";
	case MADV_DOFORK: return "dofork";
	case MADV_WIPEONFORK: return "wipeonfork";
	case MADV_KEEPONFORK: return "keeponfork";
	case MADV_POPULATE_READ: return "populate_read";
	case MADV_POPULATE_WRITE: return "populate_write";
	case MADV_NORMAL: return "normal";
	case MADV_PAGEOUT: return "pageout";
	case MADV_COLD: return "cold";
	case MADV_RANDOM: return "random";
	default:
		snprintf(buf, n, "%d", a);
		return buf;
	}
}

static void addr_text(const struct fop *op, char *buf, size_t n)
{
	if (op->region < 0)
		snprintf(buf, n, "0x%" PRIx64, (uint64_t)op->off);
	else if (op->off > 0)
		snprintf(buf, n, "r%d+%" PRId64, op->region, op->off);
	else if (op->off < 0)
		snprintf(buf, n, "r%d-%" PRId64, op->region, -op->off);
	else
		snprintf(buf, n, "r%d", op->region);
}

static void diverge(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void diverge(struct run *r, const char *fmt, ...)
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

/* ---- keeping the model in step after an injected failure ------------------------------ */

/*
 * Under fault injection mprotect, madvise and MAP_FIXED may stop half way,
 * as in Linux.  Read what the implementation now has from smaps and tell
 * the model, page by page, for the range the call touched.
 */
static void resync_range(struct run *r, int task, uint64_t start, uint64_t len)
{
	struct mml_task *t = r->tasks[task];
	uint64_t end = start + len, vs = 0, ve = 0;
	char *text = NULL, *line, *save;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	struct vma { uint64_t s, e; int prot; unsigned flags; } v[64];
	int nv = 0;

	if (!f)
		return;
	mml_show_smaps(t, f);
	fclose(f);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char perms[8];
		uint64_t a, b;

		/* Only a header line parses as three fields ("Anonymous:" starts with a hex digit). */
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s", &a, &b, perms) == 3 && nv < 64) {
			vs = a;
			ve = b;
			if (ve <= start || vs >= end)
				continue;
			v[nv].s = vs;
			v[nv].e = ve;
			v[nv].prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
				     (perms[2] == 'x' ? PROT_EXEC : 0);
			v[nv].flags = 0;
			nv++;
		} else if (!strncmp(line, "VmFlags:", 8) && nv && v[nv - 1].s == vs) {
			if (strstr(line, " dc"))
				v[nv - 1].flags |= MODEL_DONTFORK;
			if (strstr(line, " wf"))
				v[nv - 1].flags |= MODEL_WIPEONFORK;
			if (strstr(line, " mt"))
				v[nv - 1].prot |= MODEL_PROT_MTE;
		}
	}
	free(text);
	for (uint64_t a = start & ~(PG - 1); a < end; a += PG) {
		int i;

		for (i = 0; i < nv; i++)
			if (v[i].s <= a && a < v[i].e)
				break;
		if (i < nv)
			model_resync_page(r->md, task, a, true, v[i].prot, v[i].flags);
		else
			model_resync_page(r->md, task, a, false, 0, 0);
	}
}

/* ---- running one operation ---------------------------------------------------------------- */

static void print_pattern(FILE *f, const uint8_t *b, uint64_t n)
{
	uint64_t i;

	for (i = 1; i < n && b[i] == b[0]; i++)
		;
	if (i == n) {
		fprintf(f, "0x%02x", b[0]);
		return;
	}
	fprintf(f, "\"");
	for (i = 0; i < n; i++)
		fprintf(f, "\\x%02x", b[i]);
	fprintf(f, "\"");
}

static void print_bytes_expect(FILE *f, const uint8_t *b, uint64_t n)
{
	fprintf(f, " expect ");
	print_pattern(f, b, n);
}

/* The expected result clause of a scenario line. */
static void print_result(FILE *f, long exp)
{
	if (exp < 0)
		fprintf(f, " => %s", errname(exp));
	fprintf(f, "\n");
}

/* Compare a load with the model, allowing zeros for lazily freed pages. */
static void compare_read(struct run *r, const struct fop *op, uint64_t addr)
{
	uint64_t i = 0;

	while (i < op->len) {
		uint64_t a = addr + i, n = min_u64(PG - (a & (PG - 1)), op->len - i);

		if (memcmp(r->ibuf + i, r->mbuf + i, n)) {
			uint64_t k;

			if (!model_read_alternative(r->md, op->task, a, r->ibuf + i, n)) {
				for (k = 0; r->ibuf[i + k] == r->mbuf[i + k]; k++)
					;
				diverge(r, "task %d read %#" PRIx64 ": byte at %#" PRIx64 " is 0x%02x, "
					"the model says 0x%02x", op->task, addr, a + k, r->ibuf[i + k],
					r->mbuf[i + k]);
				return;
			}
		}
		i += n;
	}
}

/*
 * The model holds two outcomes for a page written since MADV_FREE and
 * cannot hold the third a second MADV_FREE adds: read such pages whole
 * first, as a program might, and let the model keep the one it sees.
 */
static void settle_before_free(struct run *r, int task, struct mml_task *t, uint64_t addr, uint64_t len)
{
	for (uint64_t a = addr & ~(PG - 1); a < addr + len && a >= (addr & ~(PG - 1)) && !r->why[0]; a += PG) {
		uint8_t tags[PG / 16], want[PG / 16], want_alt[PG / 16], *got_tags = tags;
		const uint8_t *alt;
		bool lazy;

		if (!model_undecided(r->md, task, a))
			continue;
		if (mml_read(t, a, r->ibuf, PG) || model_read(r->md, task, a, r->mbuf, PG))
			continue;	/* unreadable (or an injected failure): stays open */
		/* Tag loads through the translation the read just made change nothing. */
		for (unsigned g = 0; g < PG / 16 && got_tags; g++) {
			unsigned tag;

			if (!model_tagged(r->md, task, a) || mml_get_tag(t, a + g * 16, &tag))
				got_tags = NULL;
			else
				tags[g] = (uint8_t)tag;
		}
		/* The outcomes the model allows, for the scenario: its own, the alternative, zeros. */
		alt = model_alternative(r->md, task, a);
		lazy = model_lazyfree(r->md, task, a);
		if (r->scn) {
			fprintf(r->scn, "read T%d %#" PRIx64 " %llu", task, a, (unsigned long long)PG);
			print_bytes_expect(r->scn, r->mbuf, PG);
			if (alt) {
				fprintf(r->scn, " | ");
				print_pattern(r->scn, alt, PG);
			}
			fprintf(r->scn, "%s\n", lazy ? " |zero" : "");
		}
		if (r->scn && got_tags) {
			model_tag_outcomes(r->md, task, a, want, want_alt);
			for (unsigned g = 0, e; g < PG / 16; g = e) {
				for (e = g + 1; e < PG / 16 && want[e] == want[g] && want_alt[e] == want_alt[g]; e++)
					;
				fprintf(r->scn, "expect tag T%d %#" PRIx64 " %u == %u", task, a + g * 16, (e - g) * 16, want[g]);
				if (want_alt[g] != want[g])
					fprintf(r->scn, "|%u", want_alt[g]);
				fprintf(r->scn, "%s\n", lazy && want[g] && want_alt[g] ? "|0" : "");
			}
		}
		if (!model_read_settle(r->md, task, a, r->ibuf, got_tags))
			diverge(r, "task %d read %#" PRIx64 ": the page is neither its old bytes and tags, nor zeros "
				"and the writes since MADV_FREE", task, a);
	}
}

static const char *foll_text(unsigned foll, char *buf, size_t n)
{
	snprintf(buf, n, "%s%s%s%s", foll & MML_FOLL_WRITE ? ",write" : "", foll & MML_FOLL_LONGTERM ? ",longterm" : "",
		 foll & MML_FOLL_FORCE ? ",force" : "", foll & MML_FOLL_FAST ? ",fast" : "");
	return buf[0] ? buf + 1 : "ro";
}

/*
 * The OOM killer chose t's process during its operation: the operation
 * returns -EINTR whatever the model says, and the process is gone at the
 * end of the step (sweep_killed).
 */
static bool oom_took(struct mml_task *t, long got)
{
	return got == -EINTR && t && mml_task_killed(t);
}

static bool exec_pin(struct run *r, const struct fop *op, struct mml_task *t, uint64_t addr, const char *at,
		     long fails_before)
{
	struct mml_pin *pin = NULL;
	bool either, forced = false;
	char fb[48];
	long got, exp;

	got = op->get ? mml_get_user_pages(t, addr, op->len, op->foll, &pin) :
			mml_pin_user_pages(t, addr, op->len, op->foll, &pin);
	if (got == -ENOMEM && r->injecting && mml_fail_injected(r->m) != fails_before)
		return true;
	exp = model_gup(r->md, op->task, op->pin, addr, op->len, op->get ? MODEL_GET : MODEL_PIN,
			op->foll & MML_FOLL_WRITE, op->foll & MML_FOLL_LONGTERM, op->foll & MML_FOLL_FORCE,
			op->foll & MML_FOLL_FAST, &either);
	if (got > 0 && either) {	/* GUP-fast saw a readable x86 pte: take it as the model's too */
		exp = model_gup(r->md, op->task, op->pin, addr, op->len, op->get ? MODEL_GET : MODEL_PIN,
				false, op->foll & MML_FOLL_LONGTERM, true, true, &either);
		forced = true;
	}
	if (oom_took(t, got))
		exp = got;
	if (got != exp)
		diverge(r, "T%d %s %s %" PRIu64 " %s: got %ld (%s), the model says %ld (%s)", op->task,
			op->get ? "get" : "pin", at, op->len, foll_text(op->foll, fb, sizeof(fb)), got,
			got < 0 ? errname(got) : "ok", exp, exp < 0 ? errname(exp) : "ok");
	if (got > 0) {
		r->pins[op->pin] = pin;
		/*
		 * A device writing through a reference (FOLL_GET) after fork may
		 * land in pages another process maps: Linux allows it, the model
		 * cannot follow it, so the generator only writes through pins.
		 */
		r->pin_writable[op->pin] = !op->get && (op->foll & MML_FOLL_WRITE);
	}
	for (long i = 0; r->pins[op->pin] && r->pin_writable[op->pin] && i < got; i++) {
		if (mml_dma_read(pin, (uint64_t)i * PG, r->ibuf, PG) ||
		    !model_pin_settle(r->md, op->pin, (uint64_t)i, r->ibuf))
			diverge(r, "T%d pin %s: page %ld holds neither its old bytes nor zeros", op->task, at, i);
	}
	if (got > 0 && exp <= 0) {
		mml_unpin(pin);		/* the model has no such pin: do not let it leak */
		r->pins[op->pin] = NULL;
	} else if (exp > 0 && got <= 0) {
		model_unpin(r->md, op->pin);
	}
	if (r->scn) {
		if (exp > 0)
			fprintf(r->scn, "p%d = ", op->pin);
		/*
		 * The model took that pin as a forced one, and so does the
		 * scenario: the fast walk ignores FOLL_FORCE, but without it the
		 * slow path a healthy library falls back to (a page to unshare)
		 * would refuse what a buggy fast walk took.
		 */
		fprintf(r->scn, "%s T%d %s %" PRIu64 " %s", op->get ? "get" : "pin", op->task, at, op->len,
			foll_text(op->foll | (forced ? MML_FOLL_FORCE : 0), fb, sizeof(fb)));
		print_result(r->scn, exp > 0 ? 0 : exp);
	}
	return true;
}

static bool exec_dma(struct run *r, const struct fop *op)
{
	struct mml_pin *pin = r->pins[op->pin];
	long got, exp;

	if (op->kind == F_DMA_WRITE) {
		memset(r->ibuf, op->byte, op->len);
		got = mml_dma_write(pin, (uint64_t)op->off, r->ibuf, op->len);
		exp = model_dma_write(r->md, op->pin, (uint64_t)op->off, r->ibuf, op->len);
	} else {
		got = mml_dma_read(pin, (uint64_t)op->off, r->ibuf, op->len);
		exp = model_dma_read_result(r->md, op->pin, (uint64_t)op->off, op->len);
	}
	if (got != exp) {
		diverge(r, "%s p%d %" PRId64 " %" PRIu64 ": got %ld (%s), the model says %ld (%s)",
			op->kind == F_DMA_WRITE ? "dma-write" : "dma-read", op->pin, op->off, op->len, got,
			got ? errname(got) : "ok", exp, exp ? errname(exp) : "ok");
	} else if (!got && op->kind == F_DMA_READ) {
		uint64_t bad;
		int want;

		if (!model_dma_read_ok(r->md, op->pin, (uint64_t)op->off, r->ibuf, op->len, &bad, &want))
			diverge(r, "dma-read p%d: byte %" PRIu64 " is 0x%02x, the model says 0x%02x "
				"(the device and the process disagree)", op->pin, bad,
				r->ibuf[bad - (uint64_t)op->off], want);
	}
	if (r->scn) {
		if (op->kind == F_DMA_WRITE) {
			fprintf(r->scn, "dma-write p%d %" PRId64 " %" PRIu64 " 0x%02x", op->pin, op->off, op->len,
				op->byte);
		} else {
			fprintf(r->scn, "dma-read p%d %" PRId64 " %" PRIu64, op->pin, op->off, op->len);
			if (!exp && model_dma_expected(r->md, op->pin, (uint64_t)op->off, op->len, r->mbuf))
				print_bytes_expect(r->scn, r->mbuf, op->len);
		}
		print_result(r->scn, exp);
	}
	return true;
}

/*
 * Tag stores over op->len bytes (every granule they touch) or one tag
 * load, on both sides.  A store stops at the first error, as the
 * scenario's "tag" statement does.
 */
static bool exec_tag(struct run *r, const struct fop *op, struct mml_task *t, uint64_t addr, const char *at,
		     long fails_before)
{
	unsigned tag = 0, want = 0;
	long got = 0, exp = 0;
	bool lazy, adopted = false;

	if (op->kind == F_TAG_SET) {
		uint64_t a, stop = addr + op->len;

		for (a = addr; a < addr + op->len && !got; a = (a & ~15ULL) + 16)
			if ((got = mml_set_tag(t, a, op->byte)))
				stop = a;
		if (got == -ENOMEM && r->injecting && mml_fail_injected(r->m) != fails_before) {
			/* Failed cleanly where it stopped: the granules before it were stored. */
			for (a = addr; a < stop; a = (a & ~15ULL) + 16)
				model_set_tag(r->md, op->task, a, op->byte);
			return true;
		}
		for (a = addr; a < addr + op->len && !exp; a = (a & ~15ULL) + 16)
			exp = model_set_tag(r->md, op->task, a, op->byte);
		if (oom_took(t, got))
			exp = got;
		if (got != exp)
			diverge(r, "T%d tag %s %" PRIu64 " = %u: got %ld (%s), the model says %ld (%s)", op->task, at,
				op->len, op->byte, got, got ? errname(got) : "ok", exp, exp ? errname(exp) : "ok");
		if (r->scn) {
			fprintf(r->scn, "tag T%d %s %" PRIu64 " = %u", op->task, at, op->len, op->byte);
			print_result(r->scn, exp);
		}
		return true;
	}
	got = mml_get_tag(t, addr, &tag);
	if (got == -ENOMEM && r->injecting && mml_fail_injected(r->m) != fails_before)
		return true;
	lazy = model_lazyfree(r->md, op->task, addr);
	exp = model_get_tag(r->md, op->task, addr, &want);
	if (oom_took(t, got))
		exp = got;
	if (got != exp)
		diverge(r, "T%d tag load %s: got %ld (%s), the model says %ld (%s)", op->task, at, got,
			got ? errname(got) : "ok", exp, exp ? errname(exp) : "ok");
	else if (!got && tag != want && !(adopted = model_tag_alternative(r->md, op->task, addr, tag)))
		diverge(r, "T%d tag load %s: the tag is %u, the model says %u", op->task, at, tag, want);
	if (r->scn) {
		fprintf(r->scn, "expect tag T%d %s", op->task, at);
		if (exp)
			print_result(r->scn, exp);
		else if (adopted)
			fprintf(r->scn, " == %u|%u\n", want, tag);	/* the outcome the model adopted */
		else
			fprintf(r->scn, lazy && want ? " == %u|0\n" : " == %u\n", want);
	}
	return true;
}

/* Runs op on both sides; false if it had to be skipped (a name it uses is undefined). */
static bool exec_op(struct run *r, const struct fop *op)
{
	struct mml_task *t = NULL, *nt = NULL;
	uint64_t addr = 0;
	long got = 0, exp = 0, fails_before;
	const char *why = NULL;
	char at[64], abuf[16];
	bool injected;

	if (!grow_arrays(r, max_int(op->task, op->new_task) + 1, max_int(op->region, op->defines) + 1, op->pin + 1))
		return false;
	if (op->kind == F_UNPIN || op->kind == F_DMA_READ || op->kind == F_DMA_WRITE) {
		if (!r->pins[op->pin])
			return false;
	} else if (op->kind != F_SPAWN && op->kind != F_CHECK && op->kind != F_RECLAIM &&
		   op->kind != F_SWAPON && op->kind != F_SWAPOFF && op->kind != F_FAIL_TAG) {
		t = r->tasks[op->task];
		if (!t)
			return false;
	}
	if ((op->kind >= F_MMAP && op->kind <= F_TAG_GET) || op->kind == F_PIN) {
		if (op->region >= 0 && !r->rok[op->region])
			return false;
		addr = (op->region >= 0 ? r->rbase[op->region] : 0) + (uint64_t)op->off;
	}
	addr_text(op, at, sizeof(at));
	r->cur_task = op->task;
	fails_before = r->injecting ? mml_fail_injected(r->m) : 0;

	switch (op->kind) {
	case F_SPAWN:
	case F_THREAD:
	case F_FORK:
		got = op->kind == F_SPAWN ? mml_spawn(r->m, &nt) :
		      op->kind == F_THREAD ? mml_thread_new(t, &nt) : mml_fork(t, &nt);
		injected = r->injecting && mml_fail_injected(r->m) != fails_before;
		if (got == -ENOMEM && injected)
			return true;	/* failed cleanly: nothing was created */
		exp = op->kind == F_SPAWN ? model_spawn(r->md, op->new_task) :
		      op->kind == F_THREAD ? model_thread(r->md, op->task, op->new_task) :
		      model_fork(r->md, op->task, op->new_task);
		if (oom_took(t, got)) {
			if (!exp)
				model_exit(r->md, op->new_task);
			exp = got;
		}
		if (got != exp) {
			diverge(r, "%s: got %ld, the model says %ld",
				op->kind == F_SPAWN ? "spawn" : op->kind == F_THREAD ? "thread" : "fork", got, exp);
			return true;
		}
		if (!exp)
			r->tasks[op->new_task] = nt;
		if (r->scn) {
			if (op->kind == F_SPAWN)
				fprintf(r->scn, "spawn T%d", op->new_task);
			else
				fprintf(r->scn, "%s T%d -> T%d", op->kind == F_THREAD ? "thread" : "fork",
					op->task, op->new_task);
			print_result(r->scn, exp);
		}
		return true;
	case F_EXIT:
		got = mml_exit(t);
		exp = model_exit(r->md, op->task);
		r->tasks[op->task] = NULL;
		if (got != exp)
			diverge(r, "exit T%d: got %ld, the model says %ld", op->task, got, exp);
		if (r->scn)
			fprintf(r->scn, "exit T%d\n", op->task);
		return true;
	case F_MMAP:
		got = mml_mmap(t, addr, op->len, op->prot, op->flags, -1, 0);
		injected = r->injecting && mml_fail_injected(r->m) != fails_before;
		if (got == -ENOMEM && injected) {
			if (op->flags & MAP_FIXED)
				resync_range(r, op->task, addr, op->len);
			return true;
		}
		exp = model_mmap(r->md, op->task, addr, op->len, op->prot, op->flags, got, &why);
		if (oom_took(t, got)) {
			exp = got;
			why = NULL;
		}
		if (why)
			diverge(r, "T%d mmap %s %" PRIu64 " %s: %s (got %#lx)", op->task, at, op->len,
				prot_text(op->prot), why, got);
		else if (got != exp)
			diverge(r, "T%d mmap %s %" PRIu64 " %s: got %ld (%s), the model says %ld (%s)", op->task,
				at, op->len, prot_text(op->prot), got, got < 0 ? errname(got) : "ok", exp,
				exp < 0 ? errname(exp) : "ok");
		if (exp >= 0 && !why) {
			r->rbase[op->defines] = (uint64_t)exp;
			r->rlen[op->defines] = (op->len + PG - 1) & ~(PG - 1);
			r->rok[op->defines] = true;
		}
		if (r->scn) {
			if (exp >= 0)
				fprintf(r->scn, "r%d = ", op->defines);
			fprintf(r->scn, "mmap T%d %s %" PRIu64 " %s private,anonymous%s%s%s", op->task,
				op->region >= 0 || op->off ? at : "0", op->len,
				prot_text(op->prot), op->flags & MAP_FIXED ? ",fixed" : "",
				op->flags & MAP_FIXED_NOREPLACE ? ",fixed_noreplace" : "",
				op->flags & MAP_POPULATE ? ",populate" : "");
			print_result(r->scn, exp);
		}
		return true;
	case F_MUNMAP:
	case F_MPROTECT:
	case F_MADVISE:
		if (op->kind == F_MADVISE && op->advice == MADV_FREE)
			settle_before_free(r, op->task, t, addr, op->len);
		got = op->kind == F_MUNMAP ? mml_munmap(t, addr, op->len) :
		      op->kind == F_MPROTECT ? mml_mprotect(t, addr, op->len, op->prot) :
		      mml_madvise(t, addr, op->len, op->advice);
		injected = r->injecting && mml_fail_injected(r->m) != fails_before;
		/* madvise says EAGAIN when a split could not get memory, as Linux. */
		if ((got == -ENOMEM || (got == -EAGAIN && op->kind == F_MADVISE)) && injected) {
			if (op->kind != F_MUNMAP)
				resync_range(r, op->task, addr, op->len);
			if (r->scn)
				fprintf(r->scn, "# injected ENOMEM: %s T%d %s %" PRIu64 " prot %d advice %d\n",
					op->kind == F_MUNMAP ? "munmap" : op->kind == F_MPROTECT ? "mprotect" : "madvise",
					op->task, at, op->len, op->prot, op->advice);
			return true;
		}
		exp = op->kind == F_MUNMAP ? model_munmap(r->md, op->task, addr, op->len) :
		      op->kind == F_MPROTECT ? model_mprotect(r->md, op->task, addr, op->len, op->prot) :
		      model_madvise(r->md, op->task, addr, op->len, op->advice);
		if (oom_took(t, got))
			exp = got;
		if (got != exp)
			diverge(r, "T%d %s %s %" PRIu64 ": got %ld (%s), the model says %ld (%s)", op->task,
				op->kind == F_MUNMAP ? "munmap" : op->kind == F_MPROTECT ? "mprotect" : "madvise",
				at, op->len, got, got ? errname(got) : "ok", exp, exp ? errname(exp) : "ok");
		if (r->scn) {
			if (op->kind == F_MUNMAP)
				fprintf(r->scn, "munmap T%d %s %" PRIu64, op->task, at, op->len);
			else if (op->kind == F_MPROTECT)
				fprintf(r->scn, "mprotect T%d %s %" PRIu64 " %s", op->task, at, op->len,
					prot_text(op->prot));
			else
				fprintf(r->scn, "madvise T%d %s %" PRIu64 " %s", op->task, at, op->len,
					advice_text(op->advice, abuf, sizeof(abuf)));
			print_result(r->scn, exp);
		}
		return true;
	case F_WRITE:
		memset(r->ibuf, op->byte, op->len);
		got = mml_write(t, addr, r->ibuf, op->len);
		injected = r->injecting && mml_fail_injected(r->m) != fails_before;
		if (got == -ENOMEM && injected)
			return true;
		exp = model_write(r->md, op->task, addr, r->ibuf, op->len);
		if (oom_took(t, got))
			exp = got;
		if (got != exp)
			diverge(r, "T%d write %s %" PRIu64 ": got %ld (%s), the model says %ld (%s)", op->task, at,
				op->len, got, got ? errname(got) : "ok", exp, exp ? errname(exp) : "ok");
		if (r->scn) {
			fprintf(r->scn, "write T%d %s %" PRIu64 " 0x%02x", op->task, at, op->len, op->byte);
			print_result(r->scn, exp);
		}
		return true;
	case F_READ: {
		bool lazy = false, undecided = false, one_page = (addr & (PG - 1)) + op->len <= PG;
		bool page_lazy[5] = { false }, page_alt[5] = { false };
		int np = 0;

		got = mml_read(t, addr, r->ibuf, op->len);
		injected = r->injecting && mml_fail_injected(r->m) != fails_before;
		if (got == -ENOMEM && injected)
			return true;
		/* Each page's outcomes, before a read that tells them apart settles them. */
		for (uint64_t a = addr & ~(PG - 1); a < addr + op->len && np < 5; a += PG, np++) {
			const uint8_t *alt = model_alternative(r->md, op->task, a);

			page_lazy[np] = model_lazyfree(r->md, op->task, a);
			page_alt[np] = alt != NULL;
			if (alt)
				memcpy(r->abuf + (size_t)np * PG, alt, PG);
			lazy |= page_lazy[np];
			undecided |= page_alt[np];
		}
		exp = model_read(r->md, op->task, addr, r->mbuf, op->len);
		if (oom_took(t, got))
			exp = got;
		if (got != exp)
			diverge(r, "T%d read %s %" PRIu64 ": got %ld (%s), the model says %ld (%s)", op->task, at,
				op->len, got, got ? errname(got) : "ok", exp, exp ? errname(exp) : "ok");
		else if (!got)
			compare_read(r, op, addr);
		if (r->scn && (exp || one_page || (!lazy && !undecided))) {
			fprintf(r->scn, "read T%d %s %" PRIu64, op->task, at, op->len);
			if (!exp) {
				print_bytes_expect(r->scn, r->mbuf, op->len);
				if (page_alt[0]) {
					fprintf(r->scn, " | ");
					print_pattern(r->scn, r->abuf + (addr & (PG - 1)), op->len);
				}
				if (lazy)
					fprintf(r->scn, " |zero");
			}
			print_result(r->scn, exp);
		} else if (r->scn) {
			/*
			 * A lazily freed page may read its old bytes or zeros, and one
			 * written since either with the writes on top: the outcomes of
			 * several pages combine, so the scenario reads them one page
			 * at a time, each with its own.
			 */
			for (uint64_t a = addr, i = 0; a < addr + op->len; i++) {
				uint64_t next = min_u64((a & ~(PG - 1)) + PG, addr + op->len), n = next - a;

				fprintf(r->scn, "read T%d %#" PRIx64 " %" PRIu64, op->task, a, n);
				print_bytes_expect(r->scn, r->mbuf + (a - addr), n);
				if (page_alt[i]) {
					fprintf(r->scn, " | ");
					print_pattern(r->scn, r->abuf + i * PG + (a & (PG - 1)), n);
				}
				fprintf(r->scn, "%s\n", page_lazy[i] ? " |zero" : "");
				a = next;
			}
		}
		return true;
	}
	case F_TAG_SET:
	case F_TAG_GET:
		return exec_tag(r, op, t, addr, at, fails_before);
	case F_PIN:
		return exec_pin(r, op, t, addr, at, fails_before);
	case F_UNPIN:
		mml_unpin(r->pins[op->pin]);
		r->pins[op->pin] = NULL;
		model_unpin(r->md, op->pin);
		if (r->scn)
			fprintf(r->scn, "unpin p%d\n", op->pin);
		return true;
	case F_DMA_READ:
	case F_DMA_WRITE:
		return exec_dma(r, op);
	case F_RECLAIM:
		/* Invisible to the model: every byte must read the same afterwards. */
		got = mml_reclaim(r->m, op->len);
		if (got < 0)
			diverge(r, "reclaim %" PRIu64 ": got %ld", op->len, got);
		if (r->scn)
			fprintf(r->scn, "reclaim %" PRIu64 "\n", op->len);
		return true;
	case F_SWAPON:
		/* Invisible to the model too, as is a swapoff: every byte stays. */
		got = mml_swapon(r->m, NULL, op->len, op->prot);
		if (got < 0)
			diverge(r, "swapon %" PRIu64 " prio %d: got %ld (%s)", op->len, op->prot, got, errname(got));
		r->swap_id[op->dev] = (int)got;
		if (r->scn) {
			fprintf(r->scn, "swap%d = swapon %" PRIu64, op->dev, op->len);
			if (op->prot >= 0)
				fprintf(r->scn, " prio %d", op->prot);
			fprintf(r->scn, "\n");
		}
		return true;
	case F_SWAPOFF:
		if (r->swap_id[op->dev] < 0)
			return false;
		/* ENOMEM when RAM cannot take every page back: the device stays on. */
		got = mml_swapoff(r->m, r->swap_id[op->dev]);
		if (got && got != -ENOMEM)
			diverge(r, "swapoff swap%d: got %ld (%s)", op->dev, got, errname(got));
		if (!got)
			r->swap_id[op->dev] = -1;
		if (r->scn) {
			fprintf(r->scn, "swapoff swap%d", op->dev);
			print_result(r->scn, got);
		}
		return true;
	case F_CHECK:
		if (mml_check(r->m))
			diverge(r, "the invariant checker failed at a check statement");
		if (r->scn)
			fprintf(r->scn, "check\n");
		return true;
	case F_FAIL_TAG: {
		/* The next tag record cannot be had: arch_unmap_one fails, invisibly to the model. */
		struct mml_fail f = { .sites = MML_FAIL_TAG, .countdown = 1 };

		if (mml_fail_set(r->m, &f))
			diverge(r, "fail tag: mml_fail_set refused");
		if (r->scn)
			fprintf(r->scn, "fail tag\n");
		return true;
	}
	}
	return false;
}

/* ---- generating operations ---------------------------------------------------------------- */

static int pick_live_task(struct run *r, struct chooser *c)
{
	int live[MAX_LIVE_TASKS * 4], n = 0;

	if (r->focus_task >= 0 && r->focus_task < r->ntasks && r->tasks[r->focus_task] && choose(c, 10) < 4)
		return r->focus_task;
	for (int i = 0; i < r->next_task && i < r->ntasks && n < (int)(sizeof(live) / sizeof(live[0])); i++)
		if (r->tasks[i])
			live[n++] = i;
	return n ? live[choose(c, (uint32_t)n)] : -1;
}

static int count_live_tasks(struct run *r)
{
	int n = 0;

	for (int i = 0; i < r->next_task && i < r->ntasks; i++)
		n += r->tasks[i] != NULL;
	return n;
}

/* An address near an existing region (edges and holes included), or an absolute one. */
static void pick_addr(struct run *r, struct chooser *c, struct fop *op, bool aligned)
{
	int defined[64], n = 0;

	for (int i = r->next_region - 1; i >= 0 && n < 64; i--)
		if (i < r->nregions && r->rok[i])
			defined[n++] = i;
	if (r->focus_region >= 0 && r->focus_region < r->nregions && r->rok[r->focus_region] &&
	    choose(c, 10) < 4) {
		op->region = r->focus_region;
		op->off = r->focus_off;
	} else if (n && choose(c, 10) < 9) {
		int reg = defined[choose(c, (uint32_t)min_int(n, 16))];
		uint64_t pages = r->rlen[reg] / PG;

		op->region = reg;
		op->off = ((int64_t)choose(c, (uint32_t)pages + 3) - 1) * (int64_t)PG;
	} else {
		op->region = -1;
		op->off = (int64_t)(ABS_BASE + choose(c, 64) * PG);
	}
	if (!aligned && choose(c, 8) == 0)
		op->off += choose(c, (uint32_t)PG);
	r->focus_region = op->region;
	r->focus_off = op->off & ~(int64_t)(PG - 1);
}

static uint64_t pick_len(struct chooser *c, uint32_t max_pages)
{
	switch (choose(c, 10)) {
	case 0:
		return 1 + choose(c, 64);		/* a few bytes: rounds up */
	case 1:
		return choose(c, 2) ? 0 : PG * (1 + choose(c, max_pages)) + 1;
	default:
		return PG * (1 + choose(c, max_pages));
	}
}

static int pick_prot(struct chooser *c)
{
	static const int prots[] = { PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE,
				     PROT_READ | PROT_WRITE, PROT_READ, PROT_READ, PROT_NONE, PROT_WRITE,
				     PROT_READ | PROT_WRITE | PROT_EXEC, PROT_READ | PROT_EXEC };
	int prot = prots[choose(c, sizeof(prots) / sizeof(prots[0]))];

	/* Tagged memory often enough that reclaim, swapoff and fork meet it. */
	return choose(c, 3) ? prot : prot | MML_PROT_MTE;
}

static int pick_advice(struct chooser *c)
{
	static const int advice[] = { MADV_DONTNEED, MADV_DONTNEED, MADV_DONTNEED, MADV_FREE, MADV_FREE,
				      MADV_DONTFORK, MADV_DOFORK, MADV_WIPEONFORK, MADV_KEEPONFORK,
				      MADV_POPULATE_READ, MADV_POPULATE_WRITE, MADV_NORMAL, MADV_RANDOM, 999,
				      MADV_PAGEOUT, MADV_PAGEOUT, MADV_COLD };

	return advice[choose(c, sizeof(advice) / sizeof(advice[0]))];
}

/* Switch a device off, or another on: small, so that swap fills up too. */
static void gen_swap_op(struct run *r, struct chooser *c, struct fop *op)
{
	int live[MAX_SWAPONS], n = 0;

	for (int i = 0; i < r->next_swap; i++)
		if (r->swap_id[i] >= 0)
			live[n++] = i;
	if (n && (n >= MAX_LIVE_SWAPS || r->next_swap >= MAX_SWAPONS || choose(c, 2))) {
		op->kind = F_SWAPOFF;
		op->dev = live[choose(c, (uint32_t)n)];
	} else if (r->next_swap < MAX_SWAPONS) {
		op->kind = F_SWAPON;
		op->dev = r->next_swap++;
		op->len = (2 + choose(c, 255)) * PG;
		op->prot = choose(c, 2) ? -1 : (int)choose(c, 4);	/* the priority */
	} else {
		op->kind = F_CHECK;
	}
}

/* A story's first step: mmap one page of its own, which becomes the focus. */
static void gen_own_page(struct run *r, struct fop *op, int prot)
{
	op->kind = F_MMAP;
	op->region = -1;
	op->off = 0;
	op->defines = r->focus_region = r->next_region++;
	r->focus_off = 0;
	op->len = PG;
	op->prot = prot;
	op->flags = MAP_PRIVATE | MAP_ANONYMOUS;
}

/* The next step of a lazy-free story; false when it is over. */
static bool gen_free_story_op(struct run *r, struct chooser *c, struct fop *op)
{
	op->task = r->story_a;
	switch (r->story_step++) {
	case 1:
		/* A page of its own, so that every later step has one to work on. */
		gen_own_page(r, op, PROT_READ | PROT_WRITE);
		return true;
	case 2:
		op->kind = F_WRITE;
		op->len = 1 + choose(c, 64);
		op->byte = (uint8_t)choose(c, 256);
		return true;
	case 3:
	case 6:
		op->kind = F_FORK;
		op->new_task = r->story_b = r->next_task++;
		return true;
	case 4:
		op->kind = F_PIN;
		op->pin = r->story_pin = r->next_pin++;
		op->len = 1;
		op->foll = (choose(c, 2) ? MML_FOLL_LONGTERM : 0) | (choose(c, 2) ? MML_FOLL_FAST : 0);
		return true;
	case 5:
		op->kind = F_UNPIN;
		op->pin = r->story_pin;
		return true;
	case 7:
		op->kind = F_MADVISE;
		op->advice = MADV_FREE;
		op->len = PG;
		return true;
	case 8:
		op->kind = choose(c, 2) ? F_EXIT : F_MUNMAP;
		op->len = PG;
		return true;
	case 9:
		op->kind = F_MADVISE;
		op->task = r->story_b;
		op->advice = MADV_PAGEOUT;
		op->len = PG;
		return true;
	case 10:
		op->kind = F_READ;
		op->task = r->story_b;
		op->len = 64;
		return true;
	default:
		r->story_step = 0;
		return false;
	}
}

/* The next step of a rewrite story; false when it is over. */
static bool gen_rewrite_story_op(struct run *r, struct chooser *c, struct fop *op)
{
	op->task = r->story_a;
	switch (r->story_step++) {
	case 1:
		/* A page of its own, which no fork shares (MADV_FREE leaves shared pages alone). */
		gen_own_page(r, op, PROT_READ | PROT_WRITE | (choose(c, 2) ? MML_PROT_MTE : 0));
		return true;
	case 2:
	case 4:
		op->kind = choose(c, 2) ? F_WRITE : F_TAG_SET;
		op->len = op->kind == F_WRITE ? 1 + choose(c, 64) : 16 * (1 + choose(c, 16));
		op->byte = (uint8_t)(1 + choose(c, op->kind == F_WRITE ? 255 : 15));
		return true;
	case 3:
	case 5:
		op->kind = F_MADVISE;
		op->advice = r->story_step == 4 ? MADV_FREE : MADV_PAGEOUT;
		op->len = PG;
		return true;
	case 6:
		op->kind = choose(c, 2) ? F_READ : F_TAG_GET;
		op->len = 64;
		return true;
	default:
		r->story_step = 0;
		return false;
	}
}

/* The next step of a swapoff story; false when it is over. */
static bool gen_swapoff_story_op(struct run *r, struct chooser *c, struct fop *op)
{
	op->task = r->story_a;
	switch (r->story_step) {
	case 1:
		gen_own_page(r, op, PROT_READ | PROT_WRITE | MML_PROT_MTE);
		break;
	case 2:
		op->kind = F_TAG_SET;
		op->len = 16 * (1 + choose(c, 16));
		op->byte = (uint8_t)(1 + choose(c, 15));
		break;
	case 3:
		op->kind = F_MADVISE;
		op->advice = MADV_PAGEOUT;
		op->len = PG;
		r->story_dev = -1;
		break;
	case 4:
		/* Every device on goes, one swapoff at a time; then the load. */
		for (int i = r->story_dev + 1; i < r->next_swap; i++) {
			if (r->swap_id[i] >= 0) {
				op->kind = F_SWAPOFF;
				op->dev = r->story_dev = i;
				return true;
			}
		}
		op->kind = F_TAG_GET;
		op->len = 16;
		break;
	case 5:
		if (r->next_swap < MAX_SWAPONS) {
			op->kind = F_SWAPON;
			op->dev = r->next_swap++;
			op->len = (2 + choose(c, 255)) * PG;
			op->prot = -1;
			break;
		}
		/* fall through */
	default:
		r->story_step = 0;
		return false;
	}
	r->story_step++;
	return true;
}

/* The next step of a COW story (or of the others); false when the story is over. */
static bool gen_story_op(struct run *r, struct chooser *c, struct fop *op)
{
	int who = choose(c, 2) ? r->story_a : r->story_b;

	op->region = r->focus_region;
	op->off = r->focus_off;
	if (r->story_free)
		return gen_free_story_op(r, c, op);
	if (r->story_rewrite)
		return gen_rewrite_story_op(r, c, op);
	if (r->story_swapoff)
		return gen_swapoff_story_op(r, c, op);
	switch (r->story_step++) {
	case 1:
		op->kind = F_WRITE;
		op->task = r->story_a;
		op->len = 1 + choose(c, 64);
		op->byte = (uint8_t)choose(c, 256);
		return true;
	case 2:
		op->kind = F_FORK;
		op->task = r->story_a;
		op->new_task = r->story_b = r->next_task++;
		return true;
	case 3:
		op->kind = F_PIN;
		op->task = who;
		op->pin = r->story_pin = r->focus_pin = r->next_pin++;
		op->len = 1;
		op->get = choose(c, 2);
		op->foll = (op->get ? 0 : MML_FOLL_LONGTERM) | (choose(c, 2) ? MML_FOLL_FAST : 0);
		return true;
	case 4:
		op->task = who;
		switch (choose(c, 4)) {
		case 0:
			op->kind = F_MUNMAP;
			op->len = PG;
			return true;
		case 1:
			op->kind = F_MADVISE;
			op->advice = MADV_DONTNEED;
			op->len = PG;
			return true;
		case 2:
			op->kind = F_EXIT;
			return true;
		default:
			op->kind = F_CHECK;
			return true;
		}
	case 5:
		op->kind = F_WRITE;
		op->task = who;
		op->len = 1 + choose(c, 64);
		op->byte = (uint8_t)choose(c, 256);
		return true;
	case 6:
		op->kind = F_DMA_READ;
		op->pin = r->story_pin;
		op->off = 0;
		op->len = 64;
		return true;
	default:
		r->story_step = 0;
		return false;
	}
}

/* Fills op with the next operation for the current state of the run. */
static void gen_op(struct run *r, struct chooser *c, struct fop *op)
{
	int procs = r->o->procs, nlive = count_live_tasks(r);
	uint32_t roll = choose(c, 128);

	memset(op, 0, sizeof(*op));
	op->region = op->defines = op->pin = -1;
	if (r->story_step && gen_story_op(r, c, op))
		return;
	if (roll == 126 && r->o->swap) {
		/* The stories of one process and its own page: no fork, so no process limit. */
		int task = pick_live_task(r, c);

		if (task >= 0) {
			r->story_a = task;
			r->story_step = 1;
			r->story_free = false;
			r->story_rewrite = choose(c, 2);
			r->story_swapoff = !r->story_rewrite;
			gen_story_op(r, c, op);
			return;
		}
	}
	if (roll == 127 && model_nr_processes(r->md) < procs && nlive < MAX_LIVE_TASKS) {
		int task = pick_live_task(r, c);

		if (task >= 0) {
			pick_addr(r, c, op, true);	/* sets the focus page */
			r->story_a = task;
			r->story_step = 1;
			r->story_free = choose(c, 3) == 0;
			r->story_rewrite = r->story_swapoff = false;
			gen_story_op(r, c, op);
			return;
		}
	}
	op->task = r->focus_task = pick_live_task(r, c);
	if (op->task < 0 || (roll < 3 && model_nr_processes(r->md) < procs)) {
		op->kind = F_SPAWN;
		op->new_task = r->next_task++;
		return;
	}
	if (roll < 7 && model_nr_processes(r->md) < procs && nlive < MAX_LIVE_TASKS) {
		op->kind = F_FORK;
		op->new_task = r->next_task++;
		if (choose(c, 2))
			r->focus_task = op->new_task;
	} else if (roll < 9 && nlive < MAX_LIVE_TASKS) {
		op->kind = F_THREAD;
		op->new_task = r->next_task++;
	} else if (roll < 11) {
		op->kind = F_EXIT;
	} else if (roll < 23) {
		uint32_t how = choose(c, 20);

		op->kind = F_MMAP;
		op->defines = r->next_region++;
		op->len = pick_len(c, 8);
		op->prot = pick_prot(c);
		op->flags = MAP_PRIVATE | MAP_ANONYMOUS | (choose(c, 10) == 0 ? MAP_POPULATE : 0);
		/* A hog: 128K to 1M of written memory at once, where RAM is a few M. */
		if (r->o->oom && choose(c, 8) == 0) {
			op->len = (32 + choose(c, 225)) * PG;
			op->prot = PROT_READ | PROT_WRITE;
			op->flags |= MAP_POPULATE;
		}
		if (how < 8) {
			op->off = 0;		/* the kernel chooses */
		} else if (how < 11) {
			pick_addr(r, c, op, false);	/* a hint */
		} else {
			pick_addr(r, c, op, how != 19);
			op->flags |= how == 17 ? MAP_FIXED_NOREPLACE : MAP_FIXED;
		}
	} else if (roll < 30) {
		op->kind = F_MUNMAP;
		pick_addr(r, c, op, choose(c, 10) != 0);
		op->len = pick_len(c, 10);
	} else if (roll < 38) {
		op->kind = F_MPROTECT;
		pick_addr(r, c, op, choose(c, 10) != 0);
		op->len = pick_len(c, 10);
		op->prot = pick_prot(c);
	} else if (roll < 46) {
		op->kind = F_MADVISE;
		pick_addr(r, c, op, choose(c, 10) != 0);
		op->len = pick_len(c, 10);
		op->advice = pick_advice(c);
	} else if (roll < 99) {
		op->kind = roll < 72 ? F_WRITE : F_READ;
		pick_addr(r, c, op, false);
		op->len = choose(c, 4) ? 1 + choose(c, 64) : 1 + choose(c, (uint32_t)(3 * PG));
		op->byte = (uint8_t)choose(c, 256);
	} else if (roll < 104) {
		op->kind = F_PIN;
		op->pin = r->focus_pin = r->next_pin++;
		pick_addr(r, c, op, true);
		op->len = 1 + choose(c, 4);
		op->get = choose(c, 10) < 3;
		op->foll = (choose(c, 10) < 4 ? MML_FOLL_WRITE : 0) |
			   (!op->get && choose(c, 2) ? MML_FOLL_LONGTERM : 0) |
			   (choose(c, 10) < 3 ? MML_FOLL_FAST : 0) | (choose(c, 20) == 0 ? MML_FOLL_FORCE : 0);
	} else if (roll < 115) {
		int live[64], n = 0;

		for (int i = r->next_pin - 1; i >= 0 && n < 64; i--)
			if (i < r->npins && r->pins[i])
				live[n++] = i;
		if (!n) {
			op->kind = F_CHECK;
			return;
		}
		op->pin = live[choose(c, (uint32_t)n)];
		if (r->focus_pin >= 0 && r->focus_pin < r->npins && r->pins[r->focus_pin] && choose(c, 2))
			op->pin = r->focus_pin;
		op->kind = roll < 107 ? F_UNPIN : roll < 112 || !r->pin_writable[op->pin] ? F_DMA_READ : F_DMA_WRITE;
		op->off = choose(c, 8) ? choose(c, (uint32_t)(4 * PG)) : 0;
		op->len = choose(c, 4) ? 1 + choose(c, 64) : 1 + choose(c, (uint32_t)PG);
		op->byte = (uint8_t)choose(c, 256);
	} else if (roll < 123) {
		/* Tag stores and loads, mostly where the model says there are tags. */
		op->kind = roll < 119 ? F_TAG_SET : F_TAG_GET;
		for (int tries = 0; tries < 4; tries++) {
			pick_addr(r, c, op, false);
			if (op->region >= 0 && model_tagged(r->md, op->task, r->rbase[op->region] + (uint64_t)op->off))
				break;
		}
		op->len = choose(c, 3) ? 16 * (1 + choose(c, 64)) : 16;
		op->byte = (uint8_t)(choose(c, 32) ? choose(c, 16) : 16);	/* 16: EINVAL */
	} else if (roll == 123 && r->o->swap && !r->injecting) {
		op->kind = F_FAIL_TAG;
	} else if (roll == 124 && r->o->swap) {
		gen_swap_op(r, c, op);	/* swapoff brings tagged pages back through unuse_pte */
	} else if (r->o->swap && choose(c, 2)) {
		op->kind = F_RECLAIM;
		op->len = 1 + choose(c, 64);
	} else if (r->o->swap && choose(c, 4) == 0) {
		gen_swap_op(r, c, op);
	} else {
		op->kind = F_CHECK;
	}
}

/* ---- a whole run -------------------------------------------------------------------------- */

static bool run_init(struct run *r, const struct fuzz_opts *o, bool check_frees)
{
	struct mml_config cfg = {
		.ram_bytes = o->ram, .seed = o->seed,
		.flags = MML_QUIET | (check_frees ? MML_CHECK_FREES : 0) | (o->kswapd ? MML_KSWAPD : 0),
	};

	memset(r, 0, sizeof(*r));
	r->o = o;
	r->focus_task = r->focus_region = r->focus_pin = -1;
	r->why_task = r->cur_task = -1;
	r->m = mml_machine_new(&cfg);
	r->md = model_new();
	r->ibuf = malloc(4 * PG);
	r->mbuf = malloc(4 * PG);
	r->abuf = malloc(5 * PG);
	if (!r->m || !r->md || !r->ibuf || !r->mbuf || !r->abuf)
		return false;
	if (o->bug && mml_bug_inject(r->m, o->bug))
		return false;
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
static void run_finish(struct run *r)
{
	if (r->m) {
		for (int i = 0; i < r->npins; i++)
			mml_unpin(r->pins[i]);	/* the device lets go before power-off */
		if (r->injecting)
			mml_fail_set(r->m, NULL);
		if (!r->why[0] && mml_check(r->m))
			diverge(r, "the invariant checker failed at the end");
		r->cur_task = -1;	/* the tasks die with the machine: no views of them */
		if (mml_machine_free(r->m) && !r->why[0])
			diverge(r, "leaks or broken invariants when every process exited");
	}
	model_free(r->md);
	free(r->tasks);
	free(r->rbase);
	free(r->rlen);
	free(r->rok);
	free(r->pins);
	free(r->pin_writable);
	free(r->ibuf);
	free(r->mbuf);
	free(r->abuf);
}

/*
 * The layout check: the library's /proc/PID/maps and the model's pages must
 * agree on which pages are mapped and how.  (The library merges VMAs the
 * model knows nothing of, so compare page by page.)
 */
/*
 * The library's layout in model_dump()'s format: "start-end rwx[ dc][ wf][ mt]"
 * per VMA, from smaps (whose VmFlags carry the fork flags and VM_MTE).
 */
static char *library_layout(struct mml_task *t)
{
	char *text = NULL, *out = NULL, *line, *save;
	size_t n1, n2;
	FILE *f = open_memstream(&text, &n1), *o;
	char cur[64] = "";

	if (!f)
		return NULL;
	mml_show_smaps(t, f);
	fclose(f);
	o = open_memstream(&out, &n2);
	if (!o) {
		free(text);
		return NULL;
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		uint64_t a, b;
		char perms[8];

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s", &a, &b, perms) == 3) {
			snprintf(cur, sizeof(cur), "%08" PRIx64 "-%08" PRIx64 " %.3s", a, b, perms);
		} else if (!strncmp(line, "VmFlags:", 8)) {
			fprintf(o, "%s%s%s%s\n", cur, strstr(line, " dc") ? " dc" : "", strstr(line, " wf") ? " wf" : "",
				strstr(line, " mt") ? " mt" : "");
		}
	}
	fclose(o);
	free(text);
	return out;
}

static void compare_layout(struct run *r, int task)
{
	char *lib = library_layout(r->tasks[task]), *mod = NULL, *l, *m, *save1, *save2;
	size_t n2;
	FILE *f2 = open_memstream(&mod, &n2);
	uint64_t la = 0, lb = 0, ma = 0, mb = 0;
	char lp[40] = "", mp[40] = "";

	if (!lib || !f2)
		goto out;
	model_dump(r->md, task, f2);
	fclose(f2);
	f2 = NULL;
	l = strtok_r(lib, "\n", &save1);
	m = strtok_r(mod, "\n", &save2);
	/* Walk both lists of ranges, page by page where they overlap. */
	for (;;) {
		if (la == lb && l) {
			sscanf(l, "%" SCNx64 "-%" SCNx64 " %39[^\n]", &la, &lb, lp);
			l = strtok_r(NULL, "\n", &save1);
		}
		if (ma == mb && m) {
			sscanf(m, "%" SCNx64 "-%" SCNx64 " %39[^\n]", &ma, &mb, mp);
			m = strtok_r(NULL, "\n", &save2);
		}
		/* The model marks lazily freed pages; the library's VMAs do not. */
		if (strstr(mp, " lazyfree"))
			*strstr(mp, " lazyfree") = 0;
		if (la == lb && ma == mb)
			break;
		if (la != ma || (la < lb && ma < mb && strcmp(lp, mp))) {
			uint64_t at = la == lb ? ma : ma == mb ? la : min_u64(la, ma);

			diverge(r, "T%d: the library and the model disagree about the mapping at %#" PRIx64
				" (library %s, model %s)", task, at, la == at && la < lb ? lp : "unmapped",
				ma == at && ma < mb ? mp : "unmapped");
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
out:
	if (f2)
		fclose(f2);
	free(lib);
	free(mod);
}

/* After each op: the periodic checks, and any bug the machine reported. */
/*
 * Every thread of a process the OOM killer chose can only exit: do that on
 * both sides, and say so in the scenario.  Which process goes is the
 * library's policy (the largest), not the model's business.
 */
static void sweep_killed(struct run *r)
{
	long kills = mml_vmstat(r->m, "oom_kill");

	if (kills == r->oom_kills)
		return;
	r->oom_kills = kills;
	for (int i = 0; i < r->ntasks; i++) {
		if (!r->tasks[i] || !mml_task_killed(r->tasks[i]))
			continue;
		mml_exit(r->tasks[i]);
		model_exit(r->md, i);
		r->tasks[i] = NULL;
		if (r->scn)
			fprintf(r->scn, "expect killed T%d\nexit T%d\n", i, i);
	}
}

static void after_op(struct run *r, int check_every)
{
	sweep_killed(r);
	r->done++;
	if (r->why[0])
		return;
	if (check_every && r->done % check_every == 0) {
		if (mml_check(r->m)) {
			diverge(r, "the invariant checker failed after operation %ld", r->done);
			return;
		}
		/* The layout comparison costs a smaps text: every fourth check. */
		if (r->cur_task >= 0 && r->cur_task < r->ntasks && r->tasks[r->cur_task] &&
		    (check_every == 1 || r->done % (4L * check_every) == 0))
			compare_layout(r, r->cur_task);
	}
	if (!r->why[0] && mml_report_count(r->m))
		diverge(r, "the machine reported a bug during operation %ld", r->done);
}

/* Replays ops; true if something diverged.  *at: index of the failing op. */
static bool replay(const struct fuzz_opts *o, const struct fop *ops, size_t n, FILE *scn, size_t *at,
		   char *why, size_t whylen)
{
	struct run r;
	bool failed;
	size_t i;

	if (!run_init(&r, o, true)) {
		run_finish(&r);
		return false;
	}
	r.scn = scn;
	/* Long lists are checked at the run's cadence; short ones after every op. */
	for (i = 0; i < n && !r.why[0]; i++) {
		if (exec_op(&r, &ops[i]))
			after_op(&r, n > 2000 ? o->check_every : 1);
	}
	if (at)
		*at = i;
	/* A scenario must give back what it pinned, or teardown reports a leak. */
	for (int k = 0; scn && k < r.npins; k++)
		if (r.pins[k])
			fprintf(scn, "unpin p%d\n", k);
	run_finish(&r);
	failed = r.why[0] != 0;
	if (why)
		snprintf(why, whylen, "%s", r.why);
	return failed;
}

/*
 * Two divergences are of one kind if their messages differ only in numbers
 * (tasks, addresses, bytes).  Shrinking keeps to the kind it started from:
 * a long run under memory pressure has other ways to fail on the way (a
 * fork refused for want of memory) that would hide the one being chased.
 */
static bool same_kind(const char *a, const char *b)
{
	for (;;) {
		while (*a && !isdigit((unsigned char)*a) && *a == *b)
			a++, b++;
		if (!isdigit((unsigned char)*a) || !isdigit((unsigned char)*b))
			return *a == *b;
		while (isxdigit((unsigned char)*a) || *a == 'x')
			a++;
		while (isxdigit((unsigned char)*b) || *b == 'x')
			b++;
	}
}

/* Replays ops; true if they diverge as kind says.  *at: the failing op. */
static bool fails_alike(const struct fuzz_opts *o, const struct fop *ops, size_t n, size_t *at, const char *kind)
{
	char why[1024];

	return replay(o, ops, n, NULL, at, why, sizeof(why)) && same_kind(why, kind);
}

/* Delta debugging (ddmin): the smallest subsequence that still fails. */
static double now_s(void);

static size_t shrink(const struct fuzz_opts *o, struct fop *ops, size_t n, const char *kind, double deadline)
{
	struct fop *cand = malloc(n * sizeof(*cand));
	size_t gran = 2, trials = 0;

	if (!cand)
		return n;
	while (n >= 2 && trials < SHRINK_TRIALS && now_s() < deadline) {
		size_t chunk = (n + gran - 1) / gran, at;
		bool reduced = false;

		for (size_t s = 0; s < n && !reduced; s += chunk) {
			size_t e = min_u64(s + chunk, n), m = 0;

			memcpy(cand, ops, s * sizeof(*cand));
			memcpy(cand + s, ops + e, (n - e) * sizeof(*cand));
			m = n - (e - s);
			trials++;
			if (fails_alike(o, cand, m, &at, kind)) {
				/* Keep it, cut off whatever came after the failure. */
				n = min_u64(m, at);
				memcpy(ops, cand, n * sizeof(*ops));
				gran = gran > 2 ? gran - 1 : 2;
				reduced = true;
			}
		}
		if (!reduced) {
			if (gran >= n)
				break;
			gran = min_u64(gran * 2, n);
		}
	}
	free(cand);
	return n;
}

/*
 * ddmin cannot drop "thread A -> B" while B's operations matter.  Try doing
 * B's operations as A instead and dropping the creation; keep it if the run
 * still fails.  Repeat until nothing more goes.
 */
static size_t shrink_tasks(const struct fuzz_opts *o, struct fop *ops, size_t n, const char *kind,
			   double deadline)
{
	struct fop *cand = malloc(n * sizeof(*cand));
	bool progress = true;

	if (!cand)
		return n;
	while (progress && now_s() < deadline) {
		progress = false;
		for (size_t i = 0; i < n && now_s() < deadline; i++) {
			int from, to;
			size_t m = 0, at;

			if (ops[i].kind != F_THREAD && ops[i].kind != F_FORK)
				continue;
			from = ops[i].new_task;
			to = ops[i].task;
			for (size_t k = 0; k < n; k++) {
				if (k == i)
					continue;
				cand[m] = ops[k];
				if (cand[m].task == from)
					cand[m].task = to;
				m++;
			}
			if (fails_alike(o, cand, m, &at, kind)) {
				n = min_u64(m, at);
				memcpy(ops, cand, n * sizeof(*ops));
				progress = true;
				break;
			}
		}
	}
	free(cand);
	return n;
}

static void print_scenario(const struct fuzz_opts *o, const struct fop *ops, size_t n, FILE *f, long total)
{
	fprintf(f, "# Shrunk by `mmlab fuzz --seed %" PRIu64 "%s%s` from %ld operations to %zu.\n", o->seed,
		o->bug ? " --inject-bug " : "", o->bug ? o->bug : "", total, n);
	fprintf(f, "# Expectations are the reference model's.\n");
	fprintf(f, "machine ram=%" PRIu64 " seed=%" PRIu64 "\n", o->ram, o->seed);
	if (o->swap)
		fprintf(f, "swap0 = swapon %" PRIu64 "\n", o->swap);
	replay(o, ops, n, f, NULL, NULL, 0);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void progress(const struct fuzz_opts *o, long done, double t0)
{
	double frac = o->time_s ? (now_s() - t0) / o->time_s : (double)done / o->ops;
	int w = 40, fill = (int)(frac * w);

	fill = fill < 0 ? 0 : fill > w ? w : fill;
	printf("\r[%.*s%*s] %3d%% %ld ops", fill, "########################################", w - fill, "",
	       (int)(frac * 100), done);
	fflush(stdout);
}

int fuzz_run(const struct fuzz_opts *in)
{
	struct fuzz_opts o = *in;
	struct chooser c = { .s = in->seed };
	struct fop *ops = NULL;
	size_t cap = 0, n;
	struct run r;
	double t0 = now_s(), dt;
	FILE *out = in->out ? in->out : stdout;
	int ret = 0;

	if (!o.ops)
		o.ops = o.time_s ? LONG_MAX : 10000;
	if (!o.procs)
		o.procs = 4;
	if (!o.ram)
		o.ram = 16ULL << 20;
	if (!o.check_every)
		o.check_every = 64;
	if (o.ops < 0 || o.procs < 1 || o.check_every < 0 || o.time_s < 0 || o.fail_rate_ppm > 1000000 ||
	    o.fail_at < 0 || o.fail_repeat < -1)
		return 2;
	if (!run_init(&r, &o, true)) {
		fprintf(stderr, "mmlab fuzz: cannot set up the machine%s%s\n", o.bug ? " or unknown bug " : "",
			o.bug ? o.bug : "");
		run_finish(&r);
		return 2;
	}
	/* MMLAB_FUZZ_TRACE=1: every operation as a scenario line on stderr. */
	if (getenv("MMLAB_FUZZ_TRACE"))
		r.scn = stderr;
	while (r.done < o.ops && !r.why[0]) {
		if (r.done >= (long)cap) {
			struct fop *nops = realloc(ops, (cap = cap * 2 + 1024) * sizeof(*ops));

			if (!nops)
				break;
			ops = nops;
		}
		gen_op(&r, &c, &ops[r.done]);
		exec_op(&r, &ops[r.done]);
		after_op(&r, o.check_every);
		if (o.progress && r.done % 2048 == 0)
			progress(&o, r.done, t0);
		if (o.time_s && r.done % 256 == 0 && now_s() - t0 >= o.time_s)
			break;
	}
	n = (size_t)r.done;
	run_finish(&r);		/* the end-of-run check may still find something */
	dt = now_s() - t0;
	if (o.progress)
		printf("\r%*s\r", 60, "");
	if (!o.quiet)
		fprintf(out, "seed %" PRIu64 ": %zu operations, %.0f checked operations/s%s\n", o.seed, n,
			dt > 0 ? n / dt : 0.0, r.why[0] ? "" : ", no divergence");
	if (r.why[0]) {
		char why[1024];
		size_t m;

		fprintf(out, "divergence at operation %zu: %s\n", n, r.why);
		if (r.why_task >= 0 && r.why_maps)
			fprintf(out, "the library's maps of T%d then:\n%sthe model's:\n%s", r.why_task, r.why_maps,
				r.why_model);
		free(r.why_maps);
		free(r.why_model);
		/* Shrink what led there, checking every operation from now on. */
		double deadline = now_s() + SHRINK_SECONDS;

		m = shrink(&o, ops, n, r.why, deadline);
		m = shrink_tasks(&o, ops, m, r.why, deadline);
		m = shrink(&o, ops, m, r.why, deadline);
		if (!replay(&o, ops, m, NULL, NULL, why, sizeof(why))) {
			fprintf(out, "(the divergence did not reproduce on replay: shrinking skipped)\n");
			m = n;
		} else if (strcmp(why, r.why)) {
			fprintf(out, "(the shrunk run diverges differently: %s)\n", why);
		}
		fprintf(out, "shrunk to %zu operations; scenario:\n", m);
		print_scenario(&o, ops, m, out, (long)n);
		if (o.scenario_out) {
			FILE *f = fopen(o.scenario_out, "w");

			if (f) {
				print_scenario(&o, ops, m, f, (long)n);
				fclose(f);
			} else {
				fprintf(stderr, "mmlab fuzz: cannot write %s\n", o.scenario_out);
			}
		}
		ret = 1;
	}
	free(ops);
	return ret;
}

int fuzz_run_bytes(const uint8_t *data, size_t size)
{
	struct fuzz_opts o = { .seed = 1, .procs = 3, .ram = 4ULL << 20, .check_every = 16, .quiet = true };
	struct chooser c = { .data = data, .len = size };
	struct run r;
	struct fop op;
	int ret = 0;

	if (!run_init(&r, &o, true)) {
		run_finish(&r);
		return 0;
	}
	while (!chooser_exhausted(&c) && r.done < 2000 && !r.why[0]) {
		gen_op(&r, &c, &op);
		exec_op(&r, &op);
		after_op(&r, o.check_every);
	}
	run_finish(&r);
	if (r.why[0]) {
		fprintf(stderr, "mmlab fuzz: divergence: %s\n", r.why);
		ret = 1;
	}
	return ret;
}
