/*
 * cmd_proc.c - what /proc shows, and narration: mark, expect vmstat,
 * meminfo and their -delta forms, expect vma-count, expect smaps, show,
 * echo.
 *
 * Counters are noise between two kernels: a conformance run compares
 * only whether the file's comparison holds.  maps and smaps are per
 * process, and compared as they are.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "native/observe.h"
#include "scenario/command.h"

/* ---- mark ---- */

static int st_mark(struct scn_parser *p, struct scn_op *op)
{
	p->seen_mark = true;
	return scn_end_of_line(p);
}

static int run_mark(struct scn_runner *r, const struct scn_op *op)
{
	int i;

	for (i = 0; i < r->s->nstatrefs; i++)
		r->marks[i] = scn_stat_read(r, r->s->statrefs[i].src, r->s->statrefs[i].name);
	return SCN_PASS;
}

static void obs_mark(struct cf_walk *w)
{
	int i, r;

	for (i = 0; i < w->s->nstatrefs; i++) {
		const struct scn_statref *sr = &w->s->statrefs[i];

		free(w->mark_skip[i]);
		w->mark_skip[i] = NULL;
		r = w->b->stat(w->b, sr->src, sr->name, true, &w->marks[i]);
		if (r == -CF_SKIP || r == -CF_BROKEN || r < 0)
			w->mark_skip[i] = strdup(r < 0 && r > -4096 ? cf_errname(r) : w->b->why);
	}
}

static void pr_mark(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "mark");
}

/* ---- expect vmstat, meminfo, vmstat-delta, meminfo-delta ---- */

static int statref(struct scn_parser *p, enum scn_stat_src src, const char *name)
{
	struct scn_script *s = p->s;
	struct scn_statref *ns;
	int i;

	for (i = 0; i < s->nstatrefs; i++)
		if (s->statrefs[i].src == src && !strcmp(s->statrefs[i].name, name))
			return i;
	ns = realloc(s->statrefs, (s->nstatrefs + 1) * sizeof(*ns));
	if (!ns)
		return -1;
	s->statrefs = ns;
	ns[s->nstatrefs].src = src;
	ns[s->nstatrefs].name = strdup(name);
	if (!ns[s->nstatrefs].name)
		return -1;
	return s->nstatrefs++;
}

/* expect vmstat|meminfo[-delta] NAME CMP N */
static int ex_stat(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t = scn_need_word(p, "counter name");

	if (!t)
		return -1;
	op->src = !memcmp(p->kw->s, "vmstat", 6) ? SCN_VMSTAT : SCN_MEMINFO;
	op->delta = p->kw->n > 6 && !memcmp(p->kw->s + p->kw->n - 6, "-delta", 6);
	if (op->delta && !p->seen_mark)
		return scn_perr(p, p->kw->col, "a delta needs a 'mark' before it");
	op->name = strndup(t->s, t->n);
	if (!op->name)
		return scn_perr(p, t->col, "out of memory");
	op->name_col = t->col;
	if (op->delta) {
		op->statref = statref(p, op->src, op->name);
		if (op->statref < 0)
			return scn_perr(p, t->col, "out of memory");
	}
	return scn_parse_comparison(p, op);
}

static int run_expect_stat(struct scn_runner *r, const struct scn_op *op)
{
	const char *src = op->src == SCN_VMSTAT ? "vmstat" : "meminfo";
	long v = scn_stat_read(r, op->src, op->name);
	int64_t got;

	if (v == -ENOENT)
		return scn_bad(r, op->name_col, "unknown %s counter '%s'", src, op->name);
	got = v;
	if (op->delta)
		got -= r->marks[op->statref];
	if (scn_cmp_holds(got, op->cmp, op->value))
		return SCN_PASS;
	return scn_fail(r, "expected %s%s %s %s %lld, got %lld", src,
			op->delta ? "-delta" : "", op->name, scn_cmp_name(op->cmp),
			(long long)op->value, (long long)got);
}

/* Counters: only whether the comparison holds is compared (noise). */
static void obs_expect_stat(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	long v;
	int r;

	if (op->delta && w->mark_skip[op->statref])
		return cf_note(w, CF_SKIPPED, false, NULL, "mark: %s", w->mark_skip[op->statref]);
	r = w->b->stat(w->b, op->src, op->name, op->delta, &v);
	if (cf_refused(w, r, false))
		return;
	if (r < 0)
		return cf_note_result(w, r);
	if (op->delta)
		v -= w->marks[op->statref];
	cf_note(w, CF_SEEN, scn_cmp_holds(v, op->cmp, op->value),
		scn_cmp_holds(v, op->cmp, op->value) ? "holds" : "fails",
		"%s%s %s = %ld", op->src == SCN_VMSTAT ? "vmstat" : "meminfo",
		op->delta ? "-delta" : "", op->name, v);
}

static void pr_expect_stat(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "expect %s%s %s %s %lld", op->src == SCN_VMSTAT ? "vmstat" : "meminfo",
		op->delta ? "-delta" : "", op->name, scn_cmp_name(op->cmp), (long long)op->value);
}

/* ---- expect vma-count ---- */

/* expect vma-count A ADDR LEN CMP N */
static int ex_vmas(struct scn_parser *p, struct scn_op *op)
{
	if (scn_parse_task(p, &op->task) < 0 || scn_parse_addr(p, &op->addr) < 0 ||
	    scn_parse_len(p, "length", &op->len) < 0)
		return -1;
	return scn_parse_comparison(p, op);
}

static int run_expect_vmas(struct scn_runner *r, const struct scn_op *op)
{
	uint64_t lo = scn_addr_of(r, &op->addr), hi = lo + op->len, s, e;
	int ret, count = 0;
	char *text = scn_capture(r, op, &ret), *line;

	if (ret < 0) {
		free(text);
		return scn_fail(r, "maps of %s: got %s", r->s->syms[op->task].name,
				scn_errno_name(-ret));
	}
	for (line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL)
		if (scn_vma_line(line, &s, &e) && s < hi && e > lo)
			count++;
	free(text);
	if (scn_cmp_holds(count, op->cmp, op->value))
		return SCN_PASS;
	return scn_fail(r, "expected vma-count %s %s %lld, got %d", r->s->syms[op->task].name,
			scn_cmp_name(op->cmp), (long long)op->value, count);
}

static void obs_expect_vmas(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	uint64_t lo = cf_addr_of(w, &op->addr);
	int r = w->b->vmas(w->b, cf_task_of(w, op->task), lo, lo + op->len);

	if (cf_refused(w, r, false))
		return;
	if (r < 0)
		return cf_note_result(w, r);
	cf_note(w, CF_SEEN, scn_cmp_holds(r, op->cmp, op->value), NULL, "%d VMA%s", r,
		r == 1 ? "" : "s");
}

static void pr_expect_vmas(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "expect vma-count");
	scn_print_sym(pr, op->task);
	scn_print_addr(pr, &op->addr);
	fprintf(pr->f, " %llu %s %lld", (unsigned long long)op->len, scn_cmp_name(op->cmp),
		(long long)op->value);
}

/* ---- clear_refs ---- */

/* clear_refs A TYPE [result]: TYPE written to /proc/PID/clear_refs (1 all, 2 anon, 3 file, 4 soft-dirty) */
static int st_clear_refs(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;
	uint64_t v;

	if (scn_parse_task(p, &op->task) < 0)
		return -1;
	t = scn_need_word(p, "what to clear (1 accessed, 2 anon, 3 file, 4 soft-dirty)");
	if (!t || scn_parse_u64(p, t, false, &v) < 0)
		return -1;
	if (v > 1000)
		return scn_perr(p, t->col, "clear_refs takes a small number (1 to 5)");
	op->value = (long long)v;
	return scn_parse_result(p, op, true);
}

static int run_clear_refs(struct scn_runner *r, const struct scn_op *op)
{
	return scn_check_result(r, mml_clear_refs(scn_task_of(r, op->task), (int)op->value));
}

static void obs_clear_refs(struct cf_walk *w)
{
	int r = w->b->clear_refs(w->b, cf_task_of(w, w->op->task), (int)w->op->value);

	if (!cf_refused(w, r, true))
		cf_note_result(w, r);
}

static void pr_clear_refs(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "clear_refs");
	scn_print_sym(pr, op->task);
	fprintf(pr->f, " %lld", (long long)op->value);
}

/* ---- expect vma ---- */

/*
 * expect vma A ADDR [LEN] [FLAG...]: a VMA spans exactly [ADDR, ADDR+LEN)
 * (without LEN: the VMA that holds ADDR, whatever its bounds), and has
 * each FLAG of its VmFlags (two letters as smaps spells them: rd, wr,
 * mr, ac ...; !ac: must not have it).  Flags not named are not looked
 * at: kernels differ in those they show (sd needs soft-dirty).
 */
static int ex_vma(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	if (scn_parse_task(p, &op->task) < 0 || scn_parse_addr(p, &op->addr) < 0)
		return -1;
	/* A length starts with a digit; a flag never does. */
	t = scn_peek(p);
	op->has_len = t && t->n && t->s[0] >= '0' && t->s[0] <= '9';
	if (op->has_len && scn_parse_len(p, "length", &op->len) < 0)
		return -1;
	while ((t = scn_peek(p))) {
		bool not = t->n > 0 && t->s[0] == '!';
		int bit = scn_vm_flag(t->s + not, t->n - not);

		if (bit < 0)
			return scn_perr(p, t->col, "unknown VmFlags flag " TOKF "; expected two letters "
					"of /proc/PID/smaps (rd wr ex sh mr mw me ac nr ...), or !XX", TOKA(t));
		if (not)
			op->pm_clear |= 1ULL << bit;
		else
			op->pm_set |= 1ULL << bit;
		p->i++;
	}
	return scn_end_of_line(p);
}

/* What a VMA's look says, relative to ADDR so that two machines compare: "" when it holds. */
static bool vma_holds(const struct scn_op *op, uint64_t addr, uint64_t lo, uint64_t hi, uint64_t mask,
		      char *why, size_t n)
{
	size_t o = 0;

	if (op->has_len && (lo != addr || hi != addr + op->len))
		o += snprintf(why + o, n - o, " spans ADDR%+lld to ADDR%+lld", (long long)(lo - addr),
			      (long long)(hi - addr));
	for (int b = 0; b < 63 && o < n; b++) {
		if ((op->pm_set >> b) & 1 && !((mask >> b) & 1))
			o += snprintf(why + o, n - o, " no %s", scn_vm_flag_name(b));
		if ((op->pm_clear >> b) & 1 && (mask >> b) & 1)
			o += snprintf(why + o, n - o, " has %s", scn_vm_flag_name(b));
	}
	if (o < n)
		why[o] = '\0';
	return o == 0;
}

static int run_expect_vma(struct scn_runner *r, const struct scn_op *op)
{
	uint64_t a = scn_addr_of(r, &op->addr), lo = 0, hi = 0;
	int64_t mask = 0;
	char w[160], why[256] = "";
	int ret;
	char *text = scn_capture(r, op, &ret);

	if (ret >= 0)
		ret = scn_smaps_field(text, a, SCN_VMFLAGS, &mask, &lo, &hi);
	free(text);
	scn_where(r, op->task, &op->addr, 0, w, sizeof(w));
	if (ret == -ENOENT)
		return scn_fail(r, "expected a VMA at %s, got none", w);
	if (ret < 0)
		return scn_fail(r, "smaps of %s: got %s", w, scn_errno_name(-ret));
	if (vma_holds(op, a, lo, hi, (uint64_t)mask, why, sizeof(why)))
		return SCN_PASS;
	if (!op->has_len)
		return scn_fail(r, "expected the VMA at %s to have its flags, got one that%s", w, why);
	return scn_fail(r, "expected a VMA of %llu bytes at %s with its flags, got one that%s",
			(unsigned long long)op->len, w, why);
}

static void obs_expect_vma(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	uint64_t a = cf_addr_of(w, &op->addr), lo = 0, hi = 0;
	int64_t mask = 0;
	char why[256] = "";
	int r = w->b->smaps(w->b, cf_task_of(w, op->task), a, SCN_VMFLAGS, &mask, &lo, &hi);
	bool holds;

	if (cf_refused(w, r, false))
		return;
	if (r == -ENOENT)
		return cf_note(w, CF_SEEN, false, NULL, "no VMA at the address");
	if (r < 0)
		return cf_note_result(w, r);
	holds = vma_holds(op, a, lo, hi, (uint64_t)mask, why, sizeof(why));
	cf_note(w, CF_SEEN, holds, NULL, "%s", holds ? "as expected" : why + 1);
}

static void pr_expect_vma(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "expect vma");
	scn_print_sym(pr, op->task);
	scn_print_addr(pr, &op->addr);
	if (op->has_len)
		fprintf(pr->f, " %llu", (unsigned long long)op->len);
	for (int b = 0; b < 63; b++) {
		if ((op->pm_set >> b) & 1)
			fprintf(pr->f, " %s", scn_vm_flag_name(b));
		if ((op->pm_clear >> b) & 1)
			fprintf(pr->f, " !%s", scn_vm_flag_name(b));
	}
}

/* ---- expect smaps ---- */

/*
 * VALUE { "|" VALUE } in one word: the values a nondeterministic field
 * may take ("LazyFree == 0|8"), for == only.
 */
static int parse_values(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t = scn_need(p, "value"), piece;
	const char *s, *end, *bar;
	int64_t *slot;

	if (!t)
		return -1;
	if (t->type != SCN_TOK_WORD)
		return scn_parse_s64(p, t, &op->value);	/* "not a string" */
	for (s = t->s, end = t->s + t->n; s <= end; s = bar + 1) {
		bar = memchr(s, '|', end - s);
		if (!bar)
			bar = end;
		piece = *t;
		piece.s = s;
		piece.n = bar - s;
		piece.col = t->col + (unsigned)(s - t->s);
		if (piece.n == 0)
			return scn_perr(p, piece.col, "empty value around '|'");
		if (s == t->s) {
			slot = &op->value;
		} else if (op->cmp != SCN_EQ) {
			return scn_perr(p, piece.col - 1, "several allowed values need '=='");
		} else if (op->nalt == SCN_MAX_ALTS) {
			return scn_perr(p, piece.col, "at most %d allowed values", SCN_MAX_ALTS + 1);
		} else {
			slot = &op->alt_value[op->nalt++];
		}
		if (scn_parse_s64(p, &piece, slot) < 0)
			return -1;
	}
	return 0;
}

/* expect smaps A ADDR FIELD CMP VALUE[|VALUE...] */
static int ex_smaps(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	if (scn_parse_task(p, &op->task) < 0 || scn_parse_addr(p, &op->addr) < 0)
		return -1;
	t = scn_need_word(p, "smaps field (Rss, Anonymous, LazyFree, Swap, ...)");
	if (!t)
		return -1;
	if (!scn_smaps_field_known(t->s, t->n))
		return scn_perr(p, t->col, "unknown smaps field " TOKF "; expected a kB field "
				"of /proc/PID/smaps as Linux spells it (Size, Rss, Pss, "
				"Pss_Dirty, Shared_Clean, Shared_Dirty, Private_Clean, "
				"Private_Dirty, Referenced, Anonymous, LazyFree, Swap, "
				"SwapPss, Locked, ...) or THPeligible", TOKA(t));
	op->name = strndup(t->s, t->n);
	if (!op->name)
		return scn_perr(p, t->col, "out of memory");
	op->name_col = t->col;
	if (scn_parse_cmp(p, &op->cmp) < 0 || parse_values(p, op) < 0)
		return -1;
	return scn_end_of_line(p);
}

static int run_expect_smaps(struct scn_runner *r, const struct scn_op *op)
{
	uint64_t a = scn_addr_of(r, &op->addr);
	char w[160], want[96];
	int64_t kb = 0;
	int ret;
	char *text = scn_capture(r, op, &ret);

	if (ret >= 0)
		ret = scn_smaps_field(text, a, op->name, &kb, NULL, NULL);
	free(text);
	scn_where(r, op->task, &op->addr, 0, w, sizeof(w));
	scn_values_str(op, want, sizeof(want));
	if (ret == -ENOENT)
		return scn_fail(r, "expected smaps %s %s %s%s, got no VMA at the address",
				w, op->name, want, scn_smaps_unit(op->name));
	if (ret < 0)
		return scn_fail(r, "smaps of %s: got %s", w, scn_errno_name(-ret));
	if (scn_value_holds(op, kb))
		return SCN_PASS;
	return scn_fail(r, "expected smaps %s %s %s%s, got %lld%s", w, op->name, want,
			scn_smaps_unit(op->name), (long long)kb, scn_smaps_unit(op->name));
}

/*
 * smaps is per process, so unlike the counters the value itself is
 * compared; a file that allows several values ("LazyFree == 0|8") makes
 * the observation lenient.
 */
static void obs_expect_smaps(struct cf_walk *w)
{
	const struct scn_op *op = w->op;
	int64_t kb = 0;
	int r = w->b->smaps(w->b, cf_task_of(w, op->task), cf_addr_of(w, &op->addr), op->name, &kb,
			    NULL, NULL);

	if (cf_refused(w, r, false))
		return;
	if (r == -ENOENT)
		return cf_note(w, CF_SEEN, false, NULL, "smaps: no VMA at the address");
	if (r < 0)
		return cf_note_result(w, r);
	cf_note(w, CF_SEEN, scn_value_holds(op, kb), NULL, "smaps %s = %lld%s", op->name,
		(long long)kb, scn_smaps_unit(op->name));
}

static void pr_expect_smaps(const struct scn_printer *pr, const struct scn_op *op)
{
	char values[96];

	fprintf(pr->f, "expect smaps");
	scn_print_sym(pr, op->task);
	scn_print_addr(pr, &op->addr);
	scn_values_str(op, values, sizeof(values));
	fprintf(pr->f, " %s %s", op->name, values);
}

/* ---- show ---- */

/* Join the remaining tokens with a space: echo and show's counter list. */
static char *join_rest(struct scn_parser *p, size_t *len)
{
	size_t n = 0, o = 0;
	char *buf;
	int i;

	for (i = p->i; i < p->lx.ntok; i++)
		n += (p->lx.tok[i].type == SCN_TOK_STRING ? p->lx.tok[i].strn
							   : p->lx.tok[i].n) + 1;
	buf = malloc(n + 1);
	if (!buf)
		return NULL;
	for (i = p->i; i < p->lx.ntok; i++) {
		const struct scn_tok *t = &p->lx.tok[i];

		if (o)
			buf[o++] = ' ';
		if (t->type == SCN_TOK_STRING) {
			memcpy(buf + o, t->str, t->strn);
			o += t->strn;
		} else {
			memcpy(buf + o, t->s, t->n);
			o += t->n;
		}
	}
	buf[o] = '\0';
	p->i = p->lx.ntok;
	*len = o;
	return buf;
}

/*
 * show maps|smaps A [ADDR] | show pagemap A ADDR [LEN]
 * show vmstat|meminfo [NAME...] | show sched
 * show pagetable A [ADDR LEN] | show rmap|folio A ADDR | show machine (cmd_show.c)
 */
#define SHOW_VIEWS "maps, smaps, pagemap, vmstat, meminfo, sched, pagetable, rmap, folio, machine"
static int st_show(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t = scn_need_word(p, "view (" SHOW_VIEWS ")");
	size_t n;
	int ret;

	if (!t)
		return -1;
	ret = scn_st_picture(p, op, t);
	if (ret <= 0)
		return ret;
	if (scn_tok_is(t, "maps") || scn_tok_is(t, "smaps")) {
		op->arg = scn_tok_is(t, "maps") ? SCN_SHOW_MAPS : SCN_SHOW_SMAPS;
		if (scn_parse_task(p, &op->task) < 0)
			return -1;
		if (scn_peek(p)) {
			if (scn_parse_addr(p, &op->addr) < 0)
				return -1;
			op->has_addr = true;
		}
		return scn_end_of_line(p);
	}
	if (scn_tok_is(t, "pagemap")) {
		op->arg = SCN_SHOW_PAGEMAP;
		op->len = 0;	/* one page, the size the machine says */
		if (scn_parse_task(p, &op->task) < 0 || scn_parse_addr(p, &op->addr) < 0)
			return -1;
		if (scn_peek(p)) {
			if (scn_parse_len(p, "length", &op->len) < 0)
				return -1;
			if (op->len > (1ULL << 30))
				return scn_perr(p, p->lx.tok[p->i - 1].col,
						"show pagemap is limited to 1G at a time");
			op->has_len = true;
		}
		return scn_end_of_line(p);
	}
	if (scn_tok_is(t, "vmstat") || scn_tok_is(t, "meminfo")) {
		op->arg = scn_tok_is(t, "vmstat") ? SCN_SHOW_VMSTAT : SCN_SHOW_MEMINFO;
		if (scn_peek(p)) {
			t = scn_peek(p);
			if (t->type != SCN_TOK_WORD)
				return scn_perr(p, t->col, "expected counter names");
			op->name_col = t->col;
			op->name = join_rest(p, &n);
			if (!op->name)
				return scn_perr(p, t->col, "out of memory");
		}
		return 0;
	}
	if (scn_tok_is(t, "sched")) {
		op->arg = SCN_SHOW_SCHED;
		return scn_end_of_line(p);
	}
	return scn_perr(p, t->col, "unknown view " TOKF " (" SHOW_VIEWS ")", TOKA(t));
}

/* maps or smaps, whole or only the VMA that holds an address. */
static int show_maps(struct scn_runner *r, const struct scn_op *op)
{
	bool smaps = op->arg == SCN_SHOW_SMAPS, in = false;
	uint64_t a = op->has_addr ? scn_addr_of(r, &op->addr) : 0, s, e;
	struct mml_task *t = scn_task_of(r, op->task);
	char *text, *line, *nl;
	int ret;

	text = scn_capture(r, op, &ret);
	if (ret < 0) {
		free(text);
		return scn_fail(r, "show %s %s: got %s", smaps ? "smaps" : "maps",
				r->s->syms[op->task].name, scn_errno_name(-ret));
	}
	fprintf(r->out, "--- /proc/%d/%s of %s%s ---\n", mml_task_pid(t),
		smaps ? "smaps" : "maps", r->s->syms[op->task].name,
		op->has_addr ? ", the VMA at the address" : "");
	for (line = text; line && *line; line = nl) {
		nl = strchr(line, '\n');
		nl = nl ? nl + 1 : line + strlen(line);
		if (op->has_addr && scn_vma_line(line, &s, &e))
			in = s <= a && a < e;
		if (!op->has_addr || in)
			fwrite(line, 1, nl - line, r->out);
	}
	free(text);
	return SCN_PASS;
}

static int show_pagemap(struct scn_runner *r, const struct scn_op *op)
{
	uint64_t ps = mml_page_size(), i, e;
	char w[160], d[160];

	for (i = 0; i < scn_pages_in(op->len); i++) {
		if (scn_pagemap_at(r, op->task, &op->addr, i * ps, &e))
			return SCN_FAIL;
		scn_pm_describe(e, d, sizeof(d));
		fprintf(r->out, "pagemap %s: %s\n",
			scn_where(r, op->task, &op->addr, i * ps, w, sizeof(w)), d);
	}
	return SCN_PASS;
}

/* show vmstat|meminfo NAME...: just those, as "name value". */
static int show_counters(struct scn_runner *r, const struct scn_op *op)
{
	enum scn_stat_src src = op->arg == SCN_SHOW_VMSTAT ? SCN_VMSTAT : SCN_MEMINFO;
	char *names = strdup(op->name), *save = NULL, *n;
	int ret = SCN_PASS;

	if (!names)
		return scn_fail(r, "show: out of host memory");
	for (n = strtok_r(names, " ", &save); n; n = strtok_r(NULL, " ", &save)) {
		long v = scn_stat_read(r, src, n);

		if (v == -ENOENT) {
			ret = scn_bad(r, op->name_col, "unknown %s counter '%s'",
				      src == SCN_VMSTAT ? "vmstat" : "meminfo", n);
			break;
		}
		if (src == SCN_VMSTAT)
			fprintf(r->out, "%s %ld\n", n, v);
		else	/* as /proc/meminfo: HugePages_* count pages, the rest kB */
			fprintf(r->out, "%s: %ld%s\n", n, v,
				strncmp(n, "HugePages_", 10) ? " kB" : "");
	}
	free(names);
	return ret;
}

static const char *const views[] = {
	[SCN_SHOW_MAPS] = "maps", [SCN_SHOW_SMAPS] = "smaps", [SCN_SHOW_VMSTAT] = "vmstat",
	[SCN_SHOW_MEMINFO] = "meminfo", [SCN_SHOW_PAGEMAP] = "pagemap", [SCN_SHOW_SCHED] = "sched",
};

static int run_show_text(struct scn_runner *r, const struct scn_op *op)
{
	int ret;

	switch (op->arg) {
	case SCN_SHOW_MAPS:
	case SCN_SHOW_SMAPS:
		return show_maps(r, op);
	case SCN_SHOW_PAGEMAP:
		return show_pagemap(r, op);
	case SCN_SHOW_SCHED:
		return scn_show_sched(r);
	default:
		if (op->name)
			return show_counters(r, op);
		fprintf(r->out, "--- /proc/%s ---\n",
			op->arg == SCN_SHOW_VMSTAT ? "vmstat" : "meminfo");
		ret = op->arg == SCN_SHOW_VMSTAT ? mml_show_vmstat(r->m, r->out) :
						   mml_show_meminfo(r->m, r->out);
		if (ret < 0)
			return scn_fail(r, "show: got %s", scn_errno_name(-ret));
		return SCN_PASS;
	}
}

/*
 * `mmlab show --json VIEW`: the statement's view as one JSON document, to
 * where the picture would go.  The whole view: the JSON has no form for
 * the text's one VMA or chosen counters.
 */
static int show_json(struct scn_runner *r, const struct scn_op *op)
{
	FILE *f = r->o->picture_out;
	struct mml_task *t = NULL;
	int ret;

	if (op->arg == SCN_SHOW_SCHED || ((op->arg == SCN_SHOW_MAPS || op->arg == SCN_SHOW_SMAPS) && op->has_addr) ||
	    op->name)
		return scn_bad(r, 1, "show: --json shows a whole maps, smaps, pagemap, vmstat or meminfo");
	if (op->arg == SCN_SHOW_MAPS || op->arg == SCN_SHOW_SMAPS || op->arg == SCN_SHOW_PAGEMAP)
		t = scn_task_of(r, op->task);
	switch (op->arg) {
	case SCN_SHOW_MAPS:
		ret = mml_show_maps_json(t, f);
		break;
	case SCN_SHOW_SMAPS:
		ret = mml_show_smaps_json(t, f);
		break;
	case SCN_SHOW_PAGEMAP:
		ret = mml_show_pagemap_json(t, scn_addr_of(r, &op->addr),
					    op->has_len ? op->len : mml_page_size(), f);
		break;
	case SCN_SHOW_VMSTAT:
		ret = mml_show_vmstat_json(r->m, f);
		break;
	default:
		ret = mml_show_meminfo_json(r->m, f);
		break;
	}
	if (ret < 0)
		return scn_fail(r, "show %s: got %s", views[op->arg], scn_errno_name(-ret));
	return SCN_PASS;
}

static int run_show(struct scn_runner *r, const struct scn_op *op)
{
	bool wanted = r->o && r->o->picture_out && op->line == r->o->picture_line;
	int ret = op->arg == SCN_SHOW_PAGEMAP ?
		  scn_within(r, "show pagemap", op->len, r->limits->io) : SCN_PASS;
	FILE *out = r->out;

	if (ret)
		return ret;
	if (scn_show_is_picture(op->arg))
		return scn_run_picture(r, op);
	if (wanted && r->o->view_json)
		return show_json(r, op);
	if (wanted) {
		/* `mmlab show VIEW`: the statement's text, where the picture would go */
		r->out = r->o->picture_out;
		ret = run_show_text(r, op);
		r->out = out;
		return ret;
	}
	return run_show_text(r, op);
}

static void pr_show(const struct scn_printer *pr, const struct scn_op *op)
{
	if (scn_show_is_picture(op->arg)) {
		scn_pr_picture(pr, op);
		return;
	}
	fprintf(pr->f, "show %s", views[op->arg]);
	if (op->arg == SCN_SHOW_SCHED)
		return;
	if (op->arg == SCN_SHOW_VMSTAT || op->arg == SCN_SHOW_MEMINFO) {
		if (op->name)
			fprintf(pr->f, " %s", op->name);
		return;
	}
	scn_print_sym(pr, op->task);
	if (op->has_addr || op->arg == SCN_SHOW_PAGEMAP)
		scn_print_addr(pr, &op->addr);
	if (op->has_len)
		fprintf(pr->f, " %llu", (unsigned long long)op->len);
}

/* ---- echo ---- */

static int st_echo(struct scn_parser *p, struct scn_op *op)
{
	size_t n;

	op->echo = join_rest(p, &n);
	if (!op->echo)
		return scn_perr(p, 1, "out of memory");
	op->len = n;
	return 0;
}

static int run_echo(struct scn_runner *r, const struct scn_op *op)
{
	fwrite(op->echo, 1, op->len, r->out);
	fputc('\n', r->out);
	return SCN_PASS;
}

/* The words as one string: what the line held, whatever its bytes. */
static void pr_echo(const struct scn_printer *pr, const struct scn_op *op)
{
	fprintf(pr->f, "echo");
	if (!op->len)
		return;
	fprintf(pr->f, " \"");
	for (uint64_t i = 0; i < op->len; i++) {
		unsigned char c = (unsigned char)op->echo[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			fputc(c, pr->f);
		else
			fprintf(pr->f, "\\x%02x", c);
	}
	fputc('"', pr->f);
}

const struct scn_cmd scn_proc_cmds[] = {
	{ "mark", "", SCN_OP_MARK, SCN_CMD_SILENT,
	  st_mark, run_mark, obs_mark, pr_mark },
	{ "expect vmstat", "COUNTER CMP VALUE", SCN_OP_EXPECT_STAT, 0,
	  ex_stat, run_expect_stat, obs_expect_stat, pr_expect_stat },
	{ "expect meminfo", "COUNTER CMP VALUE", SCN_OP_EXPECT_STAT, 0,
	  ex_stat, run_expect_stat, obs_expect_stat, pr_expect_stat },
	{ "expect vmstat-delta", "COUNTER CMP VALUE", SCN_OP_EXPECT_STAT, 0,
	  ex_stat, run_expect_stat, obs_expect_stat, pr_expect_stat },
	{ "expect meminfo-delta", "COUNTER CMP VALUE", SCN_OP_EXPECT_STAT, 0,
	  ex_stat, run_expect_stat, obs_expect_stat, pr_expect_stat },
	{ "clear_refs", "TASK TYPE [ result ]", SCN_OP_CLEAR_REFS, 0,
	  st_clear_refs, run_clear_refs, obs_clear_refs, pr_clear_refs },
	{ "expect vma", "TASK ADDR [LEN] [FLAG...]", SCN_OP_EXPECT_VMA, 0,
	  ex_vma, run_expect_vma, obs_expect_vma, pr_expect_vma },
	{ "expect vma-count", "TASK ADDR LEN CMP VALUE", SCN_OP_EXPECT_VMAS, 0,
	  ex_vmas, run_expect_vmas, obs_expect_vmas, pr_expect_vmas },
	{ "expect smaps", "TASK ADDR FIELD CMP VALUES", SCN_OP_EXPECT_SMAPS, 0,
	  ex_smaps, run_expect_smaps, obs_expect_smaps, pr_expect_smaps },
	{ "show", "view", SCN_OP_SHOW, SCN_CMD_SILENT,
	  st_show, run_show, NULL, pr_show },
	{ "echo", "{ WORD | STRING }", SCN_OP_ECHO, SCN_CMD_SILENT,
	  st_echo, run_echo, NULL, pr_echo },
	{ NULL }
};
