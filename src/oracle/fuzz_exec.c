/*
 * fuzz_exec.c - one operation of the fuzzer, on the library and on the
 * reference model; any disagreement is a divergence.  While a run is
 * replayed for its reproducer, each operation also prints the scenario
 * statement that does the same under `mmlab run`, with the model's
 * outcomes as its expectations.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "oracle/fuzz_internal.h"
#include "scenario/scenario.h"

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
		bool *ok, *file;

		if (b)
			r->rbase = b;
		if (l)
			r->rlen = l;
		ok = (b && l) ? realloc(r->rok, (size_t)n * sizeof(*ok)) : NULL;
		if (ok)
			r->rok = ok;
		file = ok ? realloc(r->rfile, (size_t)n * sizeof(*file)) : NULL;
		if (!file)
			return false;
		memset(ok + r->nregions, 0, (size_t)(n - r->nregions) * sizeof(*ok));
		memset(file + r->nregions, 0, (size_t)(n - r->nregions) * sizeof(*file));
		r->rfile = file;
		r->nregions = n;
	}
	return true;
}

static bool grow_devices(struct run *r, int n)
{
	struct mml_device **d;

	if (n <= r->ndevs)
		return true;
	n = n * 2 + 8;
	d = realloc(r->devs, (size_t)n * sizeof(*d));
	if (!d)
		return false;
	memset(d + r->ndevs, 0, (size_t)(n - r->ndevs) * sizeof(*d));
	r->devs = d;
	r->ndevs = n;
	return true;
}

/* A failed call's errno by name, as the scenario language spells it. */
const char *fuzz_errname(long e)
{
	return scn_errno_name((int)-e);
}

/* v in base 10 or 16 at p; returns the end. */
static char *put_num(char *p, uint64_t v, unsigned base)
{
	char d[24];
	int n = 0;

	do {
		d[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n)
		*p++ = d[--n];
	return p;
}

/*
 * How divergences name an address: "r3+4096", "0x10002000".  Made for
 * every operation (the messages take it), so without printf.
 */
static void addr_text(const struct fop *op, char *buf, size_t n)
{
	char tmp[64], *p = tmp;

	if (op->region < 0) {
		*p++ = '0';
		*p++ = 'x';
		p = put_num(p, (uint64_t)op->off, 16);
	} else {
		*p++ = 'r';
		p = put_num(p, (uint64_t)op->region, 10);
		if (op->off) {
			*p++ = op->off > 0 ? '+' : '-';
			p = put_num(p, op->off > 0 ? (uint64_t)op->off : -(uint64_t)op->off, 10);
		}
	}
	if ((size_t)(p - tmp) >= n)
		p = tmp + n - 1;
	memcpy(buf, tmp, (size_t)(p - tmp));
	buf[p - tmp] = 0;
}

/* ---- keeping the model in step after an injected failure ------------------------------ */

/*
 * Under fault injection mprotect, madvise and MAP_FIXED may stop half way,
 * as in Linux.  Read what the implementation now has from smaps and tell
 * the model, page by page, for the range the call touched.
 */
void fuzz_resync_range(struct run *r, int task, uint64_t start, uint64_t len)
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
			if (strstr(line, " hg"))
				v[nv - 1].flags |= MODEL_HUGEPAGE;
			if (strstr(line, " nh"))
				v[nv - 1].flags |= MODEL_NOHUGEPAGE;
			if (strstr(line, " lo"))
				v[nv - 1].flags |= MODEL_LOCKED;
			if (strstr(line, " lf"))
				v[nv - 1].flags |= MODEL_LOCKONFAULT;
			if (strstr(line, " ac"))
				v[nv - 1].flags |= MODEL_ACCOUNT;
			if (strstr(line, " nr"))
				v[nv - 1].flags |= MODEL_NORESERVE;
			if (strstr(line, " um"))
				v[nv - 1].flags |= MODEL_UFFD_MISSING;
			if (strstr(line, " uw"))
				v[nv - 1].flags |= MODEL_UFFD_WP;
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

/* ---- the reproducer ------------------------------------------------------------------------ */

/*
 * While a run is replayed for its reproducer (r->scn), each operation
 * prints the statement that does the same under `mmlab run`, with the
 * model's outcomes as its expectations.  The statement is built as the
 * parser would build it and printed by the scenario language's own
 * printer, so that the words are the ones the parser reads.
 */

void fuzz_name(const struct scn_printer *pr, int sym, char *buf, size_t n)
{
	static const char *const prefix[] = {
		[FZ_TASK] = "T", [FZ_REGION] = "r", [FZ_PIN] = "p", [FZ_SWAP] = "swap", [FZ_DEVICE] = "d",
		[FZ_FD] = "f", [FZ_MIGRATION] = "m", [FZ_UFFD] = "u",
	};

	snprintf(buf, n, "%s%d", prefix[sym % FZ_NKINDS], sym / FZ_NKINDS);
}

void fuzz_print(FILE *f, const struct scn_op *s)
{
	struct scn_printer pr = { .f = f, .name = fuzz_name };

	scn_print_op(&pr, s);
}

/* A statement of op's task on op's address and length. */
void fuzz_stmt_at(struct scn_op *s, enum scn_op_kind kind, const struct fop *op)
{
	scn_op_init(s, kind);
	s->task = FZ_SYM(FZ_TASK, op->task);
	s->addr.sym = op->region >= 0 ? FZ_SYM(FZ_REGION, op->region) : -1;
	s->addr.off = (uint64_t)op->off;
	s->len = op->len;
}

/* The model's result: "=> ERRNO" unless it says success. */
void fuzz_stmt_result(struct scn_op *s, long exp)
{
	if (exp < 0) {
		s->expect.nerr = 1;
		s->expect.err[0] = (int)-exp;
	}
}

/* n bytes as a pattern: one byte if they are all that byte.  The printer only reads them. */
void fuzz_stmt_pattern(struct scn_pattern *p, const uint8_t *b, uint64_t n)
{
	uint64_t i;

	for (i = 1; i < n && b[i] == b[0]; i++)
		;
	p->present = true;
	p->bytes = (unsigned char *)b;
	p->n = i == n ? 1 : n;
}

/*
 * What a read of n bytes may return: the model's bytes, the other
 * outcome of a page written since MADV_FREE (alt), zeros where the page
 * may have been dropped (lazy).
 */
void fuzz_stmt_outcomes(struct scn_op *s, const uint8_t *own, const uint8_t *alt, bool lazy, uint64_t n)
{
	static unsigned char zero;

	fuzz_stmt_pattern(&s->pat, own, n);
	if (alt)
		fuzz_stmt_pattern(&s->alt[s->nalt++], alt, n);
	if (lazy) {
		s->alt[s->nalt] = (struct scn_pattern){ .present = true, .zero = true, .bytes = &zero, .n = 1 };
		s->nalt++;
	}
}

/* ---- running one operation ---------------------------------------------------------------- */

/*
 * Compare a load of len bytes at addr by task's process (the CPU's, or a
 * device's: who; NULL: "task N", named only for a divergence) with the
 * model, allowing zeros for lazily freed pages.
 */
void fuzz_compare_read(struct run *r, int task, uint64_t addr, uint64_t len, const char *who)
{
	uint64_t i = 0;

	while (i < len) {
		uint64_t a = addr + i, n = min_u64(PG - (a & (PG - 1)), len - i);

		if (memcmp(r->ibuf + i, r->mbuf + i, n)) {
			uint64_t k;

			if (!model_read_alternative(r->md, task, a, r->ibuf + i, n)) {
				char name[32];

				for (k = 0; r->ibuf[i + k] == r->mbuf[i + k]; k++)
					;
				if (!who) {
					snprintf(name, sizeof(name), "task %d", task);
					who = name;
				}
				fuzz_diverge(r, "%s read %#" PRIx64 ": byte at %#" PRIx64 " is 0x%02x, "
					"the model says 0x%02x", who, addr, a + k, r->ibuf[i + k], r->mbuf[i + k]);
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
void fuzz_settle_before_free(struct run *r, int task, struct mml_task *t, uint64_t addr, uint64_t len)
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
			struct scn_op s;

			scn_op_init(&s, SCN_OP_READ);
			s.task = FZ_SYM(FZ_TASK, task);
			s.addr.off = a;
			s.len = PG;
			fuzz_stmt_outcomes(&s, r->mbuf, alt, lazy, PG);
			fuzz_print(r->scn, &s);
		}
		if (r->scn && got_tags) {
			model_tag_outcomes(r->md, task, a, want, want_alt);
			for (unsigned g = 0, e; g < PG / 16; g = e) {
				struct scn_op s;

				for (e = g + 1; e < PG / 16 && want[e] == want[g] && want_alt[e] == want_alt[g]; e++)
					;
				scn_op_init(&s, SCN_OP_EXPECT_TAG);
				s.task = FZ_SYM(FZ_TASK, task);
				s.addr.off = a + g * 16;
				s.len = (e - g) * 16;
				s.has_len = true;
				s.cmp = SCN_EQ;
				s.tags[s.ntags++] = want[g];
				if (want_alt[g] != want[g])
					s.tags[s.ntags++] = want_alt[g];
				if (lazy && want[g] && want_alt[g])
					s.tags[s.ntags++] = 0;
				fuzz_print(r->scn, &s);
			}
		}
		if (!model_read_settle(r->md, task, a, r->ibuf, got_tags))
			fuzz_diverge(r, "task %d read %#" PRIx64 ": the page is neither its old bytes and tags, nor zeros "
				"and the writes since MADV_FREE", task, a);
	}
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

/*
 * A call's result against the model's: the OOM killer's EINTR stands for
 * the model's too (t may be NULL: no task); any other difference is a
 * divergence, the call named by fmt.  The result the model now expects.
 */
long fuzz_judge(struct run *r, struct mml_task *t, long got, long exp, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	if (oom_took(t, got))
		exp = got;
	if (got == exp)
		return exp;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	fuzz_diverge(r, "%s: got %ld (%s), the model says %ld (%s)", what, got, got < 0 ? fuzz_errname(got) : "ok",
		     exp, exp < 0 ? fuzz_errname(exp) : "ok");
	return exp;
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
	exp = fuzz_model_gup(r, op->task, op->pin, addr, op->len, op->get ? MODEL_GET : MODEL_PIN,
			     op->foll, got, &either);
	if (got > 0 && either) {	/* GUP-fast saw a readable x86 pte: take it as the model's too */
		exp = model_gup(r->md, op->task, op->pin, addr, op->len, op->get ? MODEL_GET : MODEL_PIN,
				false, op->foll & MML_FOLL_LONGTERM, true, true, &either);
		forced = true;
	}
	/* the flags' names only for a message: a snprintf a pin costs */
	exp = fuzz_judge(r, t, got, exp, "T%d %s %s %" PRIu64 " %s", op->task, op->get ? "get" : "pin", at, op->len,
			 got != exp ? scn_foll_name(op->foll, fb, sizeof(fb)) : "");
	if (got > 0) {
		fuzz_set_pin(r, op->pin, pin);
		/*
		 * A device writing through a reference (FOLL_GET) after fork may
		 * land in pages another process maps: Linux allows it, the model
		 * cannot follow it, so the generator only writes through pins.
		 */
		r->pin_writable[op->pin] = !op->get && (op->foll & MML_FOLL_WRITE);
	}
	/* (only where the model has the pin too: otherwise the call above diverged) */
	for (long i = 0; r->pins[op->pin] && r->pin_writable[op->pin] && model_pin_alive(r->md, op->pin) &&
	     i < got; i++) {
		if (mml_dma_read(pin, (uint64_t)i * PG, r->ibuf, PG) ||
		    !model_pin_settle(r->md, op->pin, (uint64_t)i, r->ibuf))
			fuzz_diverge(r, "T%d pin %s: page %ld holds neither its old bytes nor zeros", op->task, at, i);
	}
	if (got > 0 && exp <= 0) {
		mml_unpin(pin);		/* the model has no such pin: do not let it leak */
		fuzz_set_pin(r, op->pin, NULL);
	} else if (exp > 0 && got <= 0) {
		model_unpin(r->md, op->pin);
	}
	if (r->scn) {
		struct scn_op s;

		fuzz_stmt_at(&s, SCN_OP_PIN, op);
		s.arg = op->get;
		if (exp > 0)
			s.def = FZ_SYM(FZ_PIN, op->pin);
		/*
		 * The model took that pin as a forced one, and so does the
		 * scenario: the fast walk ignores FOLL_FORCE, but without it the
		 * slow path a healthy library falls back to (a page to unshare)
		 * would refuse what a buggy fast walk took.
		 */
		s.flags = op->foll | (forced ? MML_FOLL_FORCE : 0);
		fuzz_stmt_result(&s, exp > 0 ? 0 : exp);
		fuzz_print(r->scn, &s);
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
	exp = fuzz_judge(r, NULL, got, exp, "%s p%d %" PRId64 " %" PRIu64,
		    op->kind == F_DMA_WRITE ? "dma-write" : "dma-read", op->pin, op->off, op->len);
	if (got == exp && !got && op->kind == F_DMA_READ) {
		uint64_t bad;
		int want;

		if (!model_dma_read_ok(r->md, op->pin, (uint64_t)op->off, r->ibuf, op->len, &bad, &want))
			fuzz_diverge(r, "dma-read p%d: byte %" PRIu64 " is 0x%02x, the model says 0x%02x "
				"(the device and the process disagree)", op->pin, bad,
				r->ibuf[bad - (uint64_t)op->off], want);
	}
	if (r->scn) {
		struct scn_op s;

		scn_op_init(&s, op->kind == F_DMA_WRITE ? SCN_OP_DMA_WRITE : SCN_OP_DMA_READ);
		s.pin = FZ_SYM(FZ_PIN, op->pin);
		s.pos = (uint64_t)op->off;
		s.len = op->len;
		if (op->kind == F_DMA_WRITE)
			fuzz_stmt_pattern(&s.pat, &op->byte, 1);
		else if (!exp && model_dma_expected(r->md, op->pin, (uint64_t)op->off, op->len, r->mbuf))
			fuzz_stmt_pattern(&s.pat, r->mbuf, op->len);
		fuzz_stmt_result(&s, exp);
		fuzz_print(r->scn, &s);
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
		exp = fuzz_judge(r, t, got, exp, "T%d tag %s %" PRIu64 " = %u", op->task, at, op->len, op->byte);
		if (r->scn) {
			struct scn_op s;

			fuzz_stmt_at(&s, SCN_OP_TAG, op);
			s.has_len = true;
			s.tags[s.ntags++] = op->byte;
			fuzz_stmt_result(&s, exp);
			fuzz_print(r->scn, &s);
		}
		return true;
	}
	got = mml_get_tag(t, addr, &tag);
	if (got == -ENOMEM && r->injecting && mml_fail_injected(r->m) != fails_before)
		return true;
	lazy = model_lazyfree(r->md, op->task, addr);
	exp = model_get_tag(r->md, op->task, addr, &want);
	exp = fuzz_judge(r, t, got, exp, "T%d tag load %s", op->task, at);
	if (got == exp && !got && tag != want && !(adopted = model_tag_alternative(r->md, op->task, addr, tag)))
		fuzz_diverge(r, "T%d tag load %s: the tag is %u, the model says %u", op->task, at, tag, want);
	if (r->scn) {
		struct scn_op s;

		/*
		 * One granule, the one holding addr: no LEN when addr is
		 * aligned, else the rest of the granule (the statement's
		 * default of 16 bytes would reach into the next one).
		 */
		fuzz_stmt_at(&s, SCN_OP_EXPECT_TAG, op);
		s.has_len = (addr & 15) != 0;
		s.len = 16 - (addr & 15);
		fuzz_stmt_result(&s, exp);
		if (!exp) {
			s.cmp = SCN_EQ;
			s.tags[s.ntags++] = want;
			if (adopted)
				s.tags[s.ntags++] = tag;	/* the outcome the model adopted */
			else if (lazy && want)
				s.tags[s.ntags++] = 0;
		}
		fuzz_print(r->scn, &s);
	}
	return true;
}

/* ---- devices with their own MMU ------------------------------------------------------ */

/*
 * --thp: a fault takes 2 MiB, and THPs that are pinned, or partly mapped
 * and not split yet, hold memory reclaim cannot take, so a small machine
 * runs out where the model never does (Linux's fork then fails with
 * ENOMEM too).  A task that could not be made while free memory is that
 * low is the library's call, as the OOM killer's victims are.  "That
 * low": out_of_memory() gives up (no process left to kill: pins of
 * exited ones hold the memory) only below the high watermark, which on
 * the fuzzer's small machines is 3/32 of memory (min 1/16, low and high
 * a quarter of min above each other); 1/8 leaves room for the frees a
 * grace period settled since.
 */
static bool thp_out_of_memory(struct run *r)
{
	long free_kb = mml_meminfo(r->m, "MemFree");

	/*
	 * Reading meminfo settles frees waiting for a grace period: the
	 * scenario reads it too, or `mmlab run` would lay out frames otherwise.
	 */
	if (r->scn) {
		struct scn_op s;

		scn_op_init(&s, SCN_OP_EXPECT_STAT);
		s.src = SCN_MEMINFO;
		s.name = (char *)"MemFree";
		s.cmp = SCN_GE;
		s.value = 0;
		fuzz_print(r->scn, &s);
	}
	return free_kb >= 0 && (uint64_t)free_kb < (r->o->ram >> 10) / 8;
}

/* Runs op on both sides; false if it had to be skipped (a name it uses is undefined). */
/*
 * MADV_POPULATE_* that met a tmpfs page not allocated yet on a mount that
 * may be full: SIGBUS (EFAULT) is allowed, as a write's is.  The pages
 * before it may have been allocated: the model counts them as touched.
 */
static bool populate_found_tmpfs_full(struct run *r, const struct fop *op, uint64_t addr, long got)
{
	bool write = op->advice == MADV_POPULATE_WRITE;

	if (got != -EFAULT || (!write && op->advice != MADV_POPULATE_READ) ||
	    !model_access_may_nospc(r->md, op->task, addr, op->len, write))
		return false;
	(void)fuzz_model_madvise(r, op->task, addr, op->len, op->advice, got);
	return true;
}

/*
 * The statements of spawn, thread, fork, mmap, write and read.  One that
 * an injected failure failed cleanly is printed too: a reproducer injects
 * the same failure (`fail at`), and the error path may be what it is about.
 */
static void print_task_stmt(struct run *r, const struct fop *op, long exp)
{
	struct scn_op s;

	if (!r->scn)
		return;
	scn_op_init(&s, op->kind == F_SPAWN ? SCN_OP_SPAWN : op->kind == F_THREAD ? SCN_OP_THREAD : SCN_OP_FORK);
	s.task = FZ_SYM(FZ_TASK, op->task);
	s.def = FZ_SYM(FZ_TASK, op->new_task);
	fuzz_stmt_result(&s, exp);
	fuzz_print(r->scn, &s);
}

static void print_mmap(struct run *r, const struct fop *op, long exp)
{
	struct scn_op s;

	if (!r->scn)
		return;
	fuzz_stmt_at(&s, SCN_OP_MMAP, op);
	if (exp >= 0)
		s.def = FZ_SYM(FZ_REGION, op->defines);
	s.arg = op->prot;
	s.flags = op->flags & (MAP_TYPE | MAP_ANONYMOUS | MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_POPULATE);
	if (op->fd >= 0)
		s.fdsym = FZ_SYM(FZ_FD, op->fd);
	s.off = op->pos;
	fuzz_stmt_result(&s, exp);
	fuzz_print(r->scn, &s);
}

static void print_access(struct run *r, const struct fop *op, long exp)
{
	struct scn_op s;

	if (!r->scn)
		return;
	fuzz_stmt_at(&s, op->kind == F_WRITE ? SCN_OP_WRITE : SCN_OP_READ, op);
	if (op->kind == F_WRITE)
		fuzz_stmt_pattern(&s.pat, &op->byte, 1);
	fuzz_stmt_result(&s, exp);
	fuzz_print(r->scn, &s);
}

bool fuzz_exec_op(struct run *r, const struct fop *op)
{
	struct mml_task *t = NULL, *nt = NULL;
	uint64_t addr = 0;
	long got = 0, exp = 0, fails_before;
	const char *why = NULL;
	char at[64], pbuf[32];
	struct commit_probe cp;
	bool injected;

	r->op_addr = 0;
	if (!grow_arrays(r, max_int(op->task, op->new_task) + 1, max_int(op->region, op->defines) + 1,
			 op->pin + 1) || !grow_devices(r, op->device + 1) ||
	    !fuzz_grow_fds(r, max_int(op->fd, op->newfd) + 1))
		return false;
	if (op->kind == F_UNPIN || op->kind == F_DMA_READ || op->kind == F_DMA_WRITE) {
		if (!r->pins[op->pin])
			return false;
	} else if (fop_is_device(op->kind) && op->kind >= F_DEV_DETACH) {
		if (!r->devs[op->device])
			return false;
	} else if (op->kind != F_SPAWN && op->kind != F_CHECK && op->kind != F_RECLAIM &&
		   op->kind != F_SWAPON && op->kind != F_SWAPOFF && op->kind != F_FAIL_TAG &&
		   op->kind != F_DROP_CACHES && op->kind != F_SYS && op->kind != F_KHUGEPAGED &&
		   op->kind != F_MIGRATE_MOVE && op->kind != F_COMPACT && op->kind != F_OVERCOMMIT &&
		   op->kind != F_KSM_SCAN && op->kind != F_KSM_KNOB) {
		t = r->tasks[op->task];
		if (!t)
			return false;
	}
	if (op->fd >= 0 && fuzz_fd_of(r, op->fd) < 0)
		return false;	/* named by a call that failed, or dropped by the shrinker */
	if ((op->kind >= F_MMAP && op->kind <= F_TAG_GET) || op->kind == F_PIN ||
	    (op->kind >= F_DEV_READ && op->kind <= F_DEV_EXCLUSIVE) || op->kind == F_MSYNC || op->kind == F_MINCORE ||
	    op->kind == F_SPLIT_HUGE || op->kind == F_COLLAPSE_FAIL || op->kind == F_COLLAPSE_UFFD ||
	    op->kind == F_MREMAP || op->kind == F_MOVE_PAGES || op->kind == F_MBIND ||
	    op->kind == F_MIGRATE_UNMAP || op->kind == F_MLOCK || op->kind == F_SOFTDIRTY || op->kind == F_UFFD) {
		if (op->region >= 0 && !r->rok[op->region])
			return false;
		addr = (op->region >= 0 ? r->rbase[op->region] : 0) + (uint64_t)op->off;
	}
	/* --dax: a pin or punch the single thread would wait on for ever (fuzz_dax.c) */
	if (r->o->dax && (op->kind == F_PIN || op->kind == F_MADVISE) && fuzz_dax_would_wait(r, op, addr))
		return false;
	r->op_addr = addr;	/* for the incremental check after it */
	addr_text(op, at, sizeof(at));
	r->cur_task = op->task;
	fails_before = r->injecting ? mml_fail_injected(r->m) : 0;
	fuzz_commit_probe(r, op, addr, &cp);
	if (r->o->uffd && t)
		fuzz_uffd_settle_op(r, op, t, addr);

	switch (op->kind) {
	case F_SPAWN:
	case F_THREAD:
	case F_FORK:
		got = op->kind == F_SPAWN ? mml_spawn(r->m, &nt) :
		      op->kind == F_THREAD ? mml_thread_new(t, &nt) : mml_fork(t, &nt);
		injected = r->injecting && mml_fail_injected(r->m) != fails_before;
		if (got == -ENOMEM && injected) {
			print_task_stmt(r, op, got);	/* failed cleanly: nothing was created */
			return true;
		}
		if (got == -ENOMEM && r->o->thp && thp_out_of_memory(r)) {
			if (r->scn) {
				struct scn_op s;

				scn_op_init(&s, op->kind == F_SPAWN ? SCN_OP_SPAWN :
					    op->kind == F_THREAD ? SCN_OP_THREAD : SCN_OP_FORK);
				s.task = FZ_SYM(FZ_TASK, op->task);
				s.def = FZ_SYM(FZ_TASK, op->new_task);
				s.expect.nerr = 2;	/* a replay may find the memory */
				s.expect.err[0] = ENOMEM;
				s.expect.err[1] = 0;
				fuzz_print(r->scn, &s);
			}
			return true;
		}
		if (fuzz_commit_refused(&cp, got))
			exp = got;	/* the copies' charge did not fit: nothing was made */
		else
			exp = op->kind == F_SPAWN ? model_spawn(r->md, op->new_task) :
			      op->kind == F_THREAD ? model_thread(r->md, op->task, op->new_task) :
			      model_fork(r->md, op->task, op->new_task);
		fuzz_commit_passed(r, &cp, got, "fork");
		if (oom_took(t, got)) {
			if (!exp)
				model_exit(r->md, op->new_task);
			exp = got;
		}
		if (got != exp) {
			fuzz_diverge(r, "%s: got %ld, the model says %ld",
				op->kind == F_SPAWN ? "spawn" : op->kind == F_THREAD ? "thread" : "fork", got, exp);
			return true;
		}
		if (!exp)
			fuzz_set_task(r, op->new_task, nt);
		print_task_stmt(r, op, exp);
		return true;
	case F_EXIT:
		got = mml_exit(t);
		exp = model_exit(r->md, op->task);
		fuzz_set_task(r, op->task, NULL);
		if (got != exp)
			fuzz_diverge(r, "exit T%d: got %ld, the model says %ld", op->task, got, exp);
		if (r->scn) {
			struct scn_op s;

			fuzz_stmt_at(&s, SCN_OP_EXIT, op);
			fuzz_print(r->scn, &s);
		}
		return true;
	case F_MMAP: {
		int fd = op->fd >= 0 ? fuzz_fd_of(r, op->fd) : -1;

		got = mml_mmap(t, addr, op->len, op->prot, op->flags, fd, op->pos);
		injected = r->injecting && mml_fail_injected(r->m) != fails_before;
		if (got == -ENOMEM && injected) {
			print_mmap(r, op, got);
			if (op->flags & MAP_FIXED)
				fuzz_resync_range(r, op->task, addr, op->len);
			return true;
		}
		if (fuzz_commit_refused(&cp, got))
			exp = got;	/* refused before anything changed */
		else
			exp = model_mmap(r->md, op->task, addr, op->len, op->prot, op->flags, fd, op->pos, got, &why);
		fuzz_commit_passed(r, &cp, got, "mmap");
		if (oom_took(t, got))
			why = NULL;
		if (why || got != exp)	/* the name only for a message: a snprintf an mmap costs */
			scn_prot_name(op->prot, pbuf, sizeof(pbuf));
		if (why)
			fuzz_diverge(r, "T%d mmap %s %" PRIu64 " %s: %s (got %#lx)", op->task, at, op->len, pbuf,
				why, got);
		else
			exp = fuzz_judge(r, t, got, exp, "T%d mmap %s %" PRIu64 " %s", op->task, at, op->len, pbuf);
		/* populate_vma_page_range stops at an injected failure, the mmap succeeds: what was copied? */
		if (exp >= 0 && !why && injected && fd >= 0 && (op->flags & MAP_POPULATE) &&
		    (op->flags & MAP_TYPE) == MAP_PRIVATE && (op->prot & PROT_WRITE)) {
			for (uint64_t a = (uint64_t)exp; a < (uint64_t)exp + op->len; a += PG) {
				uint64_t e = 0;

				if (mml_pagemap(t, a, &e) || !(e & MML_PM_PRESENT) || (e & MML_PM_FILE))
					model_populate_missed(r->md, op->task, a);
			}
		}
		if (exp >= 0 && !why) {
			r->rbase[op->defines] = (uint64_t)exp;
			r->rlen[op->defines] = (op->len + PG - 1) & ~(PG - 1);
			r->rok[op->defines] = true;
			r->rfile[op->defines] = fd >= 0 || (op->flags & MAP_TYPE) == MAP_SHARED;
		}
		print_mmap(r, op, exp);
		return true;
	}
	case F_MUNMAP:
	case F_MPROTECT:
	case F_MADVISE: {
		int outcomes[SCN_MAX_ERRS], noutcomes = 0;

		if (op->kind == F_MADVISE && op->advice == MADV_FREE) {
			fuzz_settle_before_free(r, op->task, t, addr, op->len);
			/* a failure its reads met is not the call's: ENOMEM for a hole then is the call's own */
			fails_before = r->injecting ? mml_fail_injected(r->m) : 0;
		}
		/* what check_touched needs to know before: may it reach other mms? */
		r->op_private = op->kind == F_MADVISE && (op->advice == MADV_PAGEOUT || op->advice == MADV_COLD) &&
				mml_range_private(t, addr >= PG ? addr - PG : 0, addr + op->len + PG);
		got = op->kind == F_MUNMAP ? mml_munmap(t, addr, op->len) :
		      op->kind == F_MPROTECT ? mml_mprotect(t, addr, op->len, op->prot) :
		      mml_madvise(t, addr, op->len, op->advice);
		injected = r->injecting && mml_fail_injected(r->m) != fails_before;
		/* madvise says EAGAIN when a split could not get memory, as Linux. */
		if ((got == -ENOMEM || (got == -EAGAIN && op->kind == F_MADVISE)) && injected) {
			if (op->kind != F_MUNMAP)
				fuzz_resync_range(r, op->task, addr, op->len);
			/* a reproducer injects the same failure (`fail at`): the call and what it did before it */
			if (r->scn) {
				struct scn_op s;

				fprintf(r->scn, "# an injected failure: the model follows what is mapped now\n");
				fuzz_stmt_at(&s, op->kind == F_MUNMAP ? SCN_OP_MUNMAP :
					op->kind == F_MPROTECT ? SCN_OP_MPROTECT : SCN_OP_MADVISE, op);
				s.arg = op->kind == F_MPROTECT ? op->prot : op->advice;
				fuzz_stmt_result(&s, got);
				fuzz_print(r->scn, &s);
			}
			return true;
		}
		if (op->kind == F_MADVISE && oom_took(t, got) && r->o->files)
			fuzz_oom_resync_range(r, op->task, addr, op->len);	/* a hole punched, or not */
		else if (op->kind == F_MADVISE && populate_found_tmpfs_full(r, op, addr, got))
			exp = got;
		else if (op->kind == F_MADVISE && op->advice == MADV_UNMERGEABLE && got == -ENOMEM)
			exp = got;	/* an unshare copy found no memory: the bytes stay (--ksm) */
		else if (op->kind == F_MADVISE && op->advice == MADV_COLLAPSE)
			exp = model_madvise_collapse(r->md, op->task, addr, op->len, got, outcomes, &noutcomes);
		else if (op->kind == F_MPROTECT && fuzz_commit_refused(&cp, got))
			fuzz_resync_range(r, op->task, addr, op->len);	/* refused at some VMA, after the ones before */
		else
			exp = op->kind == F_MUNMAP ? model_munmap(r->md, op->task, addr, op->len) :
			      op->kind == F_MPROTECT ? model_mprotect(r->md, op->task, addr, op->len, op->prot) :
			      fuzz_model_madvise(r, op->task, addr, op->len, op->advice, got);
		if (op->kind == F_MPROTECT) {
			if (fuzz_commit_refused(&cp, got))
				exp = got;
			fuzz_commit_passed(r, &cp, got, "mprotect");
		}
		exp = fuzz_judge(r, t, got, exp, "T%d %s %s %" PRIu64, op->task,
			    op->kind == F_MUNMAP ? "munmap" : op->kind == F_MPROTECT ? "mprotect" : "madvise",
			    at, op->len);
		if (r->scn) {
			struct scn_op s;

			fuzz_stmt_at(&s, op->kind == F_MUNMAP ? SCN_OP_MUNMAP :
				op->kind == F_MPROTECT ? SCN_OP_MPROTECT : SCN_OP_MADVISE, op);
			s.arg = op->kind == F_MPROTECT ? op->prot : op->advice;
			fuzz_stmt_result(&s, exp);
			/*
			 * MADV_COLLAPSE's result hangs on free memory and on what
			 * the model does not follow: the scenario allows each the
			 * model allowed, as a replay may meet another.
			 */
			if (noutcomes > 1) {
				s.expect.nerr = noutcomes;
				memcpy(s.expect.err, outcomes, (size_t)noutcomes * sizeof(*outcomes));
			}
			fuzz_print(r->scn, &s);
		}
		return true;
	}
	case F_WRITE:
		memset(r->ibuf, op->byte, op->len);
		got = mml_write(t, addr, r->ibuf, op->len);
		injected = r->injecting && mml_fail_injected(r->m) != fails_before;
		if (got == -ENOMEM && injected) {
			print_access(r, op, got);
			return true;
		}
		/* A tmpfs page not allocated yet on a mount that may be full: SIGBUS is allowed. */
		if (got == -EIO && model_access_may_nospc(r->md, op->task, addr, op->len, true))
			exp = got;
		else if (oom_took(t, got) && r->o->files)
			fuzz_oom_resync_range(r, op->task, addr, op->len);	/* shared files stay */
		else
			exp = fuzz_model_access(r, op->task, addr, r->ibuf, op->len, true, got);
		exp = fuzz_judge(r, t, got, exp, "T%d write %s %" PRIu64, op->task, at, op->len);
		print_access(r, op, exp);
		return true;
	case F_READ: {
		bool lazy = false, undecided = false, one_page = (addr & (PG - 1)) + op->len <= PG, unsure = false;
		bool page_lazy[5] = { false }, page_alt[5] = { false };
		int np = 0;

		got = mml_read(t, addr, r->ibuf, op->len);
		injected = r->injecting && mml_fail_injected(r->m) != fails_before;
		if (got == -ENOMEM && injected) {
			print_access(r, op, got);
			return true;
		}
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
		if (got == -EIO && model_access_may_nospc(r->md, op->task, addr, op->len, false))
			exp = got;
		else
			exp = fuzz_model_access(r, op->task, addr, r->mbuf, op->len, false, got);
		/* A disk file's bytes past its end that writeback may have zeroed: the other outcome. */
		unsure = !exp && fuzz_unsure_outcome(r, op->task, addr, op->len, r->mbuf, r->ubuf);
		exp = fuzz_judge(r, t, got, exp, "T%d read %s %" PRIu64, op->task, at, op->len);
		if (got == exp && !got)
			fuzz_compare_read(r, op->task, addr, op->len, NULL);
		if (r->scn && (exp || one_page || (!lazy && !undecided))) {
			struct scn_op s;

			fuzz_stmt_at(&s, SCN_OP_READ, op);
			if (!exp)
				fuzz_stmt_outcomes(&s, r->mbuf, page_alt[0] ? r->abuf + (addr & (PG - 1)) :
					      unsure ? r->ubuf : NULL, lazy, op->len);
			fuzz_stmt_result(&s, exp);
			fuzz_print(r->scn, &s);
		} else if (r->scn) {
			/*
			 * A lazily freed page may read its old bytes or zeros, and one
			 * written since either with the writes on top: the outcomes of
			 * several pages combine, so the scenario reads them one page
			 * at a time, each with its own.
			 */
			for (uint64_t a = addr, i = 0; a < addr + op->len; i++) {
				uint64_t next = min_u64((a & ~(PG - 1)) + PG, addr + op->len), n = next - a;
				struct scn_op s;

				scn_op_init(&s, SCN_OP_READ);
				s.task = FZ_SYM(FZ_TASK, op->task);
				s.addr.off = a;
				s.len = n;
				fuzz_stmt_outcomes(&s, r->mbuf + (a - addr),
					      page_alt[i] ? r->abuf + i * PG + (a & (PG - 1)) :
					      unsure ? r->ubuf + (a - addr) : NULL, page_lazy[i], n);
				fuzz_print(r->scn, &s);
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
		fuzz_set_pin(r, op->pin, NULL);
		model_unpin(r->md, op->pin);
		if (r->scn) {
			struct scn_op s;

			scn_op_init(&s, SCN_OP_UNPIN);
			s.pin = FZ_SYM(FZ_PIN, op->pin);
			fuzz_print(r->scn, &s);
		}
		return true;
	case F_DMA_READ:
	case F_DMA_WRITE:
		return exec_dma(r, op);
	case F_RECLAIM:
		/* Invisible to the model: every byte must read the same afterwards. */
		got = mml_reclaim(r->m, op->len);
		if (got < 0)
			fuzz_diverge(r, "reclaim %" PRIu64 ": got %ld", op->len, got);
		if (r->scn) {
			struct scn_op s;

			scn_op_init(&s, SCN_OP_RECLAIM);
			s.len = op->len;
			fuzz_print(r->scn, &s);
		}
		return true;
	case F_SWAPON:
		/* Invisible to the model too, as is a swapoff: every byte stays. */
		got = mml_swapon(r->m, NULL, op->len, op->prot);
		if (got == -ENOMEM && r->injecting && mml_fail_injected(r->m) != fails_before)
			return true;	/* failed cleanly: no device */
		if (got < 0)
			fuzz_diverge(r, "swapon %" PRIu64 " prio %d: got %ld (%s)", op->len, op->prot, got, fuzz_errname(got));
		r->swap_id[op->dev] = (int)got;
		if (r->scn) {
			struct scn_op s;

			scn_op_init(&s, SCN_OP_SWAPON);
			s.def = FZ_SYM(FZ_SWAP, op->dev);
			s.len = op->len;
			s.prio = op->prot;
			fuzz_print(r->scn, &s);
		}
		return true;
	case F_SWAPOFF:
		if (r->swap_id[op->dev] < 0)
			return false;
		/* ENOMEM when RAM cannot take every page back: the device stays on. */
		got = mml_swapoff(r->m, r->swap_id[op->dev]);
		if (got && got != -ENOMEM)
			fuzz_diverge(r, "swapoff swap%d: got %ld (%s)", op->dev, got, fuzz_errname(got));
		if (!got)
			r->swap_id[op->dev] = -1;
		if (r->scn) {
			struct scn_op s;

			scn_op_init(&s, SCN_OP_SWAPOFF);
			s.swap = FZ_SYM(FZ_SWAP, op->dev);
			fuzz_stmt_result(&s, got);
			fuzz_print(r->scn, &s);
		}
		return true;
	case F_CHECK:
		/*
		 * In a run, the full check every --check-every operations stands
		 * for it: a check statement is a generator's filler, ~8% of the
		 * operations, and the full check costs some sixteen operations.
		 */
		if (r->full_checks && mml_check(r->m))
			fuzz_diverge(r, "the invariant checker failed at a check statement");
		if (r->scn) {
			struct scn_op s;

			scn_op_init(&s, SCN_OP_CHECK);
			fuzz_print(r->scn, &s);
		}
		return true;
	case F_DEV_ATTACH:
	case F_DEV_DETACH:
	case F_DEV_READ:
	case F_DEV_WRITE:
	case F_DEV_EXCLUSIVE:
		return fuzz_exec_device(r, op, t, addr, fails_before);
	case F_MREMAP:
		return fuzz_exec_mremap(r, op, t, addr, &cp);
	case F_MOVE_PAGES:
	case F_MBIND:
	case F_MIGRATE_PAGES:
	case F_MIGRATE_UNMAP:
	case F_MIGRATE_MOVE:
	case F_COMPACT:
		return fuzz_exec_numa(r, op, t, addr);
	case F_MLOCK:
		return fuzz_exec_mlock(r, op, t, addr);
	case F_OVERCOMMIT:
		return fuzz_exec_commit(r, op);
	case F_CLEAR_REFS:
	case F_PROCESS_MADVISE:
	case F_SOFTDIRTY:
		return fuzz_exec_refs(r, op, t, addr, fails_before);
	case F_UFFD:
		return fuzz_exec_uffd(r, op, t, addr);
	case F_SYS:
	case F_KHUGEPAGED:
	case F_SPLIT_HUGE:
	case F_COLLAPSE_FAIL:
	case F_COLLAPSE_UFFD:
		return fuzz_exec_thp(r, op, t, addr, fails_before);
	case F_KSM_SCAN:
	case F_PRCTL:
	case F_KSM_STAT:
	case F_KSM_KNOB:
		return fuzz_exec_ksm(r, op, t);
	case F_OPEN: case F_MEMFD: case F_DUP: case F_CLOSE: case F_UNLINK: case F_FTRUNCATE:
	case F_FALLOCATE: case F_FSYNC: case F_SEAL: case F_SEALS_GET: case F_FSTAT: case F_PREAD:
	case F_PWRITE: case F_DROP_CACHES: case F_MSYNC: case F_MINCORE: case F_FICLONE:
		return fuzz_exec_file(r, op, t, addr, fails_before);
	case F_FAIL_TAG: {
		/* The next tag record cannot be had: arch_unmap_one fails, invisibly to the model. */
		struct mml_fail f = { .sites = MML_FAIL_TAG, .countdown = 1 };

		if (mml_fail_set(r->m, &f))
			fuzz_diverge(r, "fail tag: mml_fail_set refused");
		if (r->scn) {
			struct scn_op s;

			scn_op_init(&s, SCN_OP_FAIL);
			s.fail_sites = MML_FAIL_TAG;
			s.fail_nth = 1;
			fuzz_print(r->scn, &s);
		}
		return true;
	}
	}
	return false;
}
