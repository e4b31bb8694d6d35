/*
 * parse.c - scenario text to a struct scn_script.
 *
 * One statement per line.  The whole file is parsed before anything runs,
 * and names are resolved here: a task or address used before it is
 * defined, a task used after its exit, a delta before any mark are all
 * bad input (exit 2), reported as file:line:col with the column of the
 * offending token.  The grammar is in docs/scenario.md.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "mmlab.h"
#include "scenario/lexer.h"
#include "scenario/scenario.h"

/* read/write lengths are buffered in host memory; keep them sane */
#define SCN_MAX_IO	(256ULL << 20)

struct parser {
	const char *file;
	unsigned line;
	FILE *err;
	struct scn_lexer lx;
	int i;			/* next token */
	struct scn_script *s;
	bool seen_stmt;		/* "machine" must come first */
	bool seen_mark;
	bool seen_reclaim;	/* "expect reclaimed" needs a reclaim before it */
};

static int perr(struct parser *p, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int perr(struct parser *p, unsigned col, const char *fmt, ...)
{
	va_list ap;

	fprintf(p->err, "%s:%u:%u: ", p->file, p->line, col);
	va_start(ap, fmt);
	vfprintf(p->err, fmt, ap);
	va_end(ap);
	fputc('\n', p->err);
	return -1;
}

/* ---- tokens ---- */

static struct scn_tok *peek(struct parser *p)
{
	return p->i < p->lx.ntok ? &p->lx.tok[p->i] : NULL;
}

static bool tok_is(const struct scn_tok *t, const char *w)
{
	size_t n = strlen(w);

	return t && t->type == SCN_TOK_WORD && t->n == n && memcmp(t->s, w, n) == 0;
}

/* Print at most 40 bytes of a token in messages: lines may be huge. */
#define TOKF "'%.*s%s'"
#define TOKA(t) (int)((t)->n > 40 ? 40 : (t)->n), (t)->s, (t)->n > 40 ? "..." : ""

static struct scn_tok *need(struct parser *p, const char *what)
{
	struct scn_tok *t = peek(p);

	if (!t) {
		perr(p, p->lx.end_col, "missing %s", what);
		return NULL;
	}
	p->i++;
	return t;
}

static struct scn_tok *need_word(struct parser *p, const char *what)
{
	struct scn_tok *t = need(p, what);

	if (t && t->type != SCN_TOK_WORD) {
		perr(p, t->col, "expected %s, not a string", what);
		return NULL;
	}
	return t;
}

static int end_of_line(struct parser *p)
{
	struct scn_tok *t = peek(p);

	if (!t)
		return 0;
	if (t->type == SCN_TOK_STRING)
		return perr(p, t->col, "unexpected string");
	return perr(p, t->col, "unexpected " TOKF, TOKA(t));
}

/* ---- numbers ---- */

/*
 * Decimal or 0x hex, with k/M/G/T (binary) suffixes when allowed.
 * NULL, or what is wrong with it; overflow is an error, never a wrap.
 */
static const char *num_parse(const char *s, size_t n, bool suffix, uint64_t *out)
{
	uint64_t v = 0, base = 10, mul = 1;
	size_t i = 0, digits = 0;

	if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (suffix && n > i) {
		switch (s[n - 1]) {
		case 'k': case 'K': mul = 1ULL << 10; n--; break;
		case 'm': case 'M': mul = 1ULL << 20; n--; break;
		case 'g': case 'G': mul = 1ULL << 30; n--; break;
		case 't': case 'T': mul = 1ULL << 40; n--; break;
		}
	}
	for (; i < n; i++, digits++) {
		unsigned c = (unsigned char)s[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return "not a number";
		if (v > (UINT64_MAX - d) / base)
			return "number too large";
		v = v * base + d;
	}
	if (!digits)
		return "not a number";
	if (v > UINT64_MAX / mul)
		return "number too large";
	*out = v * mul;
	return NULL;
}

const char *scn_size_parse(const char *s, uint64_t *out)
{
	return num_parse(s, strlen(s), true, out);
}

static int parse_u64(struct parser *p, const struct scn_tok *t, bool suffix,
		     uint64_t *out)
{
	const char *why;

	if (t->type != SCN_TOK_WORD)
		return perr(p, t->col, "expected a number, not a string");
	why = num_parse(t->s, t->n, suffix, out);
	if (why)
		return perr(p, t->col, "%s: " TOKF, why, TOKA(t));
	return 0;
}

static int parse_len(struct parser *p, const char *what, uint64_t *out)
{
	struct scn_tok *t = need(p, what);

	return t ? parse_u64(p, t, true, out) : -1;
}

/* An optional '-' and a number without suffix: stat values, fds. */
static int parse_s64(struct parser *p, const struct scn_tok *t, int64_t *out)
{
	struct scn_tok u;
	uint64_t v;
	bool neg;

	if (t->type != SCN_TOK_WORD)
		return perr(p, t->col, "expected a number, not a string");
	neg = t->n > 0 && t->s[0] == '-';
	u = *t;
	if (neg) {
		u.s++;
		u.n--;
		u.col++;
	}
	if (parse_u64(p, &u, false, &v) < 0)
		return -1;
	if (v > (uint64_t)INT64_MAX + neg)
		return perr(p, t->col, "number too large: " TOKF, TOKA(t));
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

/* ---- names ---- */

static bool is_ident(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || !((s[0] >= 'a' && s[0] <= 'z') ||
			(s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
		return false;
	for (i = 1; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

static int sym_find(const struct scn_script *s, const char *name, size_t n)
{
	int i;

	for (i = 0; i < s->nsyms; i++)
		if (strlen(s->syms[i].name) == n && memcmp(s->syms[i].name, name, n) == 0)
			return i;
	return -1;
}

static const char *kind_name(enum scn_sym_kind k)
{
	switch (k) {
	case SCN_SYM_TASK: return "a task";
	case SCN_SYM_ADDR: return "an address";
	case SCN_SYM_FRAME: return "a frame";
	case SCN_SYM_PIN: return "a pin";
	case SCN_SYM_UNPINNED: return "an unpinned pin";
	case SCN_SYM_SWAP: return "a swap device";
	case SCN_SYM_SWAPPED_OFF: return "a swapped-off device";
	default: return "gone";
	}
}

/* Use of a defined name of the given kind. */
static int sym_use(struct parser *p, const struct scn_tok *t, size_t n,
		   enum scn_sym_kind kind, int *slot)
{
	int i;

	if (t->type != SCN_TOK_WORD || !is_ident(t->s, n))
		return perr(p, t->col, "expected a name, got " TOKF, TOKA(t));
	i = sym_find(p->s, t->s, n);
	if (i < 0)
		return perr(p, t->col, "undefined name '%.*s'", (int)n, t->s);
	if (p->s->syms[i].kind != kind) {
		if (p->s->syms[i].kind == SCN_SYM_NONE)
			return perr(p, t->col, "'%.*s' has exited", (int)n, t->s);
		if (p->s->syms[i].kind == SCN_SYM_UNPINNED)
			return perr(p, t->col, "'%.*s' was unpinned", (int)n, t->s);
		if (p->s->syms[i].kind == SCN_SYM_SWAPPED_OFF && kind == SCN_SYM_SWAP)
			return perr(p, t->col, "'%.*s' was swapped off", (int)n, t->s);
		return perr(p, t->col, "'%.*s' is %s, not %s", (int)n, t->s,
			    kind_name(p->s->syms[i].kind), kind_name(kind));
	}
	*slot = i;
	return 0;
}

/*
 * Definition of a name.  A live task, a held pin or a swap device still on
 * cannot be redefined (it would leak from the scenario's view), and none
 * of them can take the name of a value; values may be redefined, also over
 * the name of an exited task, an unpinned pin or a swapped-off device.
 */
static int sym_def(struct parser *p, const struct scn_tok *t,
		   enum scn_sym_kind kind, int *slot)
{
	struct scn_sym *ns;
	int i;

	if (t->type != SCN_TOK_WORD || !is_ident(t->s, t->n))
		return perr(p, t->col, "expected a name, got " TOKF, TOKA(t));
	i = sym_find(p->s, t->s, t->n);
	if (i >= 0) {
		enum scn_sym_kind was = p->s->syms[i].kind;

		if (was == SCN_SYM_TASK)
			return perr(p, t->col, "task " TOKF " already exists", TOKA(t));
		if (was == SCN_SYM_PIN)
			return perr(p, t->col, "pin " TOKF " is still held (unpin it first)",
				    TOKA(t));
		if (was == SCN_SYM_SWAP)
			return perr(p, t->col, "swap device " TOKF " is still on "
				    "(swapoff it first)", TOKA(t));
		if ((kind == SCN_SYM_TASK || kind == SCN_SYM_PIN || kind == SCN_SYM_SWAP) &&
		    was != SCN_SYM_NONE && was != SCN_SYM_UNPINNED &&
		    was != SCN_SYM_SWAPPED_OFF)
			return perr(p, t->col, TOKF " is %s", TOKA(t), kind_name(was));
		p->s->syms[i].kind = kind;
		*slot = i;
		return 0;
	}
	ns = realloc(p->s->syms, (p->s->nsyms + 1) * sizeof(*ns));
	if (!ns)
		return perr(p, t->col, "out of memory");
	p->s->syms = ns;
	ns[p->s->nsyms].name = strndup(t->s, t->n);
	if (!ns[p->s->nsyms].name)
		return perr(p, t->col, "out of memory");
	ns[p->s->nsyms].kind = kind;
	ns[p->s->nsyms].npages = 0;
	*slot = p->s->nsyms++;
	return 0;
}

static int parse_task(struct parser *p, int *slot)
{
	struct scn_tok *t = need(p, "task name");

	return t ? sym_use(p, t, t->n, SCN_SYM_TASK, slot) : -1;
}

/*
 * An address: a name or a number, then any number of +N or -N terms
 * (p, p+4k, p+4k-8, 0x7f0000000000, 0x10000+4k).  Arithmetic wraps
 * modulo 2^64 like the CPU's; the syscalls judge the result.
 */
static int parse_addr(struct parser *p, struct scn_addr *a)
{
	struct scn_tok *t = need(p, "address");
	const char *why;
	size_t k, j;
	uint64_t v;

	if (!t)
		return -1;
	if (t->type != SCN_TOK_WORD)
		return perr(p, t->col, "expected an address, not a string");
	a->sym = -1;
	a->off = 0;
	for (k = 0; k < t->n && t->s[k] != '+' && t->s[k] != '-'; k++)
		;
	if (t->s[0] >= '0' && t->s[0] <= '9') {
		why = num_parse(t->s, k, true, &a->off);
		if (why)
			return perr(p, t->col, "%s in address", why);
	} else if (sym_use(p, t, k, SCN_SYM_ADDR, &a->sym) < 0) {
		return -1;
	}
	while (k < t->n) {
		for (j = k + 1; j < t->n && t->s[j] != '+' && t->s[j] != '-'; j++)
			;
		why = num_parse(t->s + k + 1, j - k - 1, true, &v);
		if (why)
			return perr(p, t->col + k + 1, "%s in address offset", why);
		a->off += t->s[k] == '+' ? v : 0 - v;
		k = j;
	}
	return 0;
}

/* ---- constants ---- */

static int parse_prot(struct parser *p, long *out)
{
	struct scn_tok *t = need_word(p, "protection (none, r, rw, rwx, ...)");
	uint64_t v;

	if (!t)
		return -1;
	if (t->s[0] >= '0' && t->s[0] <= '9') {
		if (parse_u64(p, t, false, &v) < 0)
			return -1;
		if (v > 0xffffffff)
			return perr(p, t->col, "protection out of range");
		*out = (long)v;
		return 0;
	}
	if (scn_prot_parse(t->s, t->n, out) < 0)
		return perr(p, t->col, "unknown protection " TOKF
			    " (none, or letters r w x; then ,mte for tagged memory)", TOKA(t));
	return 0;
}

/* private,anonymous or MAP_PRIVATE|MAP_ANONYMOUS, or a number. */
static int parse_mflags(struct parser *p, long *out)
{
	struct scn_tok *t = need_word(p, "mmap flags (private,anonymous,...)");
	size_t a = 0, b;
	long flags = 0;

	if (!t)
		return -1;
	while (a <= t->n) {
		long f;
		uint64_t v;

		for (b = a; b < t->n && t->s[b] != ',' && t->s[b] != '|'; b++)
			;
		/* a number among names: bits without a name, for EINVAL tests */
		if (b > a && t->s[a] >= '0' && t->s[a] <= '9') {
			if (num_parse(t->s + a, b - a, false, &v) || v > 0xffffffff)
				return perr(p, t->col + a, "bad mmap flag number");
			f = (long)v;
		} else if (scn_mmap_flag(t->s + a, b - a, &f) < 0)
			return perr(p, t->col + a, "unknown mmap flag '%.*s'",
				    (int)(b - a > 40 ? 40 : b - a), t->s + a);
		flags |= f;
		a = b + 1;
	}
	*out = flags;
	return 0;
}

static int parse_advice(struct parser *p, long *out)
{
	struct scn_tok *t = need_word(p, "advice (dontneed, dontfork, ...)");

	if (!t)
		return -1;
	if (t->s[0] >= '0' && t->s[0] <= '9') {
		uint64_t v;

		if (parse_u64(p, t, false, &v) < 0)
			return -1;
		if (v > 0xffffffff)
			return perr(p, t->col, "advice out of range");
		*out = (long)v;
		return 0;
	}
	if (scn_advice(t->s, t->n, out) < 0)
		return perr(p, t->col, "unknown madvise advice " TOKF, TOKA(t));
	return 0;
}

/* A byte (0..255) or zero/zeros from a word, or a non-empty string. */
static int pattern_of(struct parser *p, const struct scn_tok *t,
		      struct scn_pattern *pat)
{
	uint64_t v;

	if (t->type == SCN_TOK_STRING) {
		if (t->strn == 0)
			return perr(p, t->col, "empty string pattern");
		pat->bytes = malloc(t->strn);
		if (!pat->bytes)
			return perr(p, t->col, "out of memory");
		memcpy(pat->bytes, t->str, t->strn);
		pat->n = t->strn;
		pat->present = true;
		return 0;
	}
	if (tok_is(t, "zero") || tok_is(t, "zeros") || tok_is(t, "zeroes")) {
		v = 0;
	} else {
		if (parse_u64(p, t, false, &v) < 0)
			return -1;
		if (v > 255)
			return perr(p, t->col, "a byte pattern is 0..255, got " TOKF,
				    TOKA(t));
	}
	pat->bytes = malloc(1);
	if (!pat->bytes)
		return perr(p, t->col, "out of memory");
	pat->bytes[0] = (unsigned char)v;
	pat->n = 1;
	pat->present = true;
	return 0;
}

/* A byte (0..255), zero/zeros, or a non-empty string. */
static int parse_pattern(struct parser *p, struct scn_pattern *pat)
{
	struct scn_tok *t = need(p, "pattern (a byte, zero, or a \"string\")");

	if (!t)
		return -1;
	return pattern_of(p, t, pat);
}

/* The next free slot for one more allowed pattern, or NULL after perr. */
static struct scn_pattern *alt_slot(struct parser *p, struct scn_op *op,
				    unsigned col)
{
	if (!op->pat.present)
		return &op->pat;
	if (op->nalt == SCN_MAX_ALTS) {
		perr(p, col, "at most %d allowed patterns", SCN_MAX_ALTS + 1);
		return NULL;
	}
	return &op->alt[op->nalt++];
}

/*
 * The patterns after "expect": PATTERN { "|" PATTERN }.  A word may hold
 * several ("0x11|zero"); a string stands alone, so "|" may also start or
 * end a word next to one: "new"|"old" is a string, a word "|", a string.
 */
static int parse_expect_patterns(struct parser *p, struct scn_op *op)
{
	bool want = true;	/* a pattern must come next */
	struct scn_pattern *pat;
	struct scn_tok *t, piece;
	const char *s, *end, *bar;

	for (;;) {
		t = peek(p);
		if (!t || (!want && (t->type == SCN_TOK_STRING || t->s[0] != '|')))
			break;
		p->i++;
		if (t->type == SCN_TOK_STRING) {
			pat = alt_slot(p, op, t->col);
			if (!pat || pattern_of(p, t, pat) < 0)
				return -1;
			want = false;
			continue;
		}
		s = t->s;
		end = t->s + t->n;
		if (!want)
			s++;	/* the "|" after the previous pattern */
		want = true;
		while (s < end) {
			bar = memchr(s, '|', end - s);
			piece = *t;
			piece.s = s;
			piece.n = (bar ? bar : end) - s;
			piece.col = t->col + (unsigned)(s - t->s);
			if (piece.n == 0)
				return perr(p, piece.col, "empty pattern between '|'");
			pat = alt_slot(p, op, piece.col);
			if (!pat || pattern_of(p, &piece, pat) < 0)
				return -1;
			want = bar != NULL;
			s = bar ? bar + 1 : end;
		}
	}
	if (want)
		return perr(p, t ? t->col : p->lx.end_col,
			    "missing pattern (a byte, zero, or a \"string\")");
	return 0;
}

static int check_io_len(struct parser *p, const struct scn_tok *t, uint64_t len)
{
	if (len > SCN_MAX_IO)
		return perr(p, t->col, "length too large for read, write or DMA (max %llu)",
			    (unsigned long long)SCN_MAX_IO);
	return 0;
}

/* "=> ok", "=> EINVAL", "=> ok|ENOMEM", "=> any", then the end. */
static int parse_result(struct parser *p, struct scn_op *op, bool allowed)
{
	struct scn_tok *t = peek(p);
	size_t a = 0, b;

	if (!tok_is(t, "=>"))
		return end_of_line(p);
	if (!allowed)
		return perr(p, t->col, "this statement cannot take '=>'");
	p->i++;
	t = need_word(p, "result (ok, any, or an errno name such as EINVAL)");
	if (!t)
		return -1;
	if (tok_is(t, "any")) {
		op->expect.any = true;
		return end_of_line(p);
	}
	while (a <= t->n) {
		int e;

		for (b = a; b < t->n && t->s[b] != '|'; b++)
			;
		if (b - a == 2 && memcmp(t->s + a, "ok", 2) == 0)
			e = 0;
		else if (scn_errno(t->s + a, b - a, &e) < 0)
			return perr(p, t->col + a, "unknown result '%.*s' (ok, any, EINVAL, ...)",
				    (int)(b - a > 40 ? 40 : b - a), t->s + a);
		if (op->expect.nerr == SCN_MAX_ERRS)
			return perr(p, t->col + a, "at most %d results", SCN_MAX_ERRS);
		op->expect.err[op->expect.nerr++] = e;
		a = b + 1;
	}
	return end_of_line(p);
}

/* A statement that defines a name must succeed: the name needs a value. */
static int parse_result_defining(struct parser *p, struct scn_op *op)
{
	struct scn_tok *t = peek(p);

	if (parse_result(p, op, true) < 0)
		return -1;
	if (op->expect.any || (op->expect.nerr && (op->expect.nerr > 1 || op->expect.err[0])))
		return perr(p, t->col, "a statement that defines a name must succeed");
	return 0;
}

static int parse_cmp(struct parser *p, enum scn_cmp *c)
{
	static const char *const ops[] = {
		[SCN_EQ] = "==", [SCN_NE] = "!=", [SCN_LT] = "<",
		[SCN_LE] = "<=", [SCN_GT] = ">", [SCN_GE] = ">=",
	};
	struct scn_tok *t = need(p, "comparison (== != < <= > >=)");
	unsigned i;

	if (!t)
		return -1;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (tok_is(t, ops[i])) {
			*c = i;
			return 0;
		}
	}
	return perr(p, t->col, "expected a comparison (== != < <= > >=)");
}

/* ---- tags ---- */

/* The optional LEN of a tag statement; one granule without it. */
static int parse_tag_len(struct parser *p, struct scn_op *op)
{
	struct scn_tok *t = peek(p);

	op->len = 16;
	if (!t || t->type != SCN_TOK_WORD || t->s[0] < '0' || t->s[0] > '9')
		return 0;
	if (parse_len(p, "length", &op->len) < 0 || check_io_len(p, t, op->len) < 0)
		return -1;
	if (op->len == 0)
		return perr(p, t->col, "a tag range needs at least one byte");
	op->has_len = true;
	return 0;
}

/* A tag value: a number; the library judges it (a tag over 15 is EINVAL). */
static int tag_of(struct parser *p, const struct scn_tok *t, unsigned *out)
{
	uint64_t v;

	if (parse_u64(p, t, false, &v) < 0)
		return -1;
	if (v > 0xffffffff)
		return perr(p, t->col, "tag out of range: " TOKF, TOKA(t));
	*out = (unsigned)v;
	return 0;
}

/* tag A ADDR [LEN] = TAG [=> ...] */
static int st_tag(struct parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	if (parse_task(p, &op->task) < 0 || parse_addr(p, &op->addr) < 0 ||
	    parse_tag_len(p, op) < 0)
		return -1;
	t = need(p, "'=' and a tag");
	if (!t)
		return -1;
	if (!tok_is(t, "="))
		return perr(p, t->col, "expected '=' and a tag");
	t = need(p, "tag (0..15)");
	if (!t || tag_of(p, t, &op->tags[0]) < 0)
		return -1;
	op->ntags = 1;
	return parse_result(p, op, true);
}

/* expect tag A ADDR [LEN] ==|!= TAG{|TAG}  |  expect tag A ADDR [LEN] => RESULT */
static int ex_tag(struct parser *p, struct scn_op *op)
{
	struct scn_tok *t, piece;
	size_t a = 0, b;

	if (parse_task(p, &op->task) < 0 || parse_addr(p, &op->addr) < 0 ||
	    parse_tag_len(p, op) < 0)
		return -1;
	if (tok_is(peek(p), "=>"))
		return parse_result(p, op, true);
	if (parse_cmp(p, &op->cmp) < 0)
		return -1;
	if (op->cmp != SCN_EQ && op->cmp != SCN_NE)
		return perr(p, p->lx.tok[p->i - 1].col, "tags compare with == or != only");
	t = need_word(p, "tag (0..15, or several joined by '|')");
	if (!t)
		return -1;
	while (a <= t->n) {
		for (b = a; b < t->n && t->s[b] != '|'; b++)
			;
		piece = *t;
		piece.s = t->s + a;
		piece.n = b - a;
		piece.col = t->col + (unsigned)a;
		if (op->ntags == (op->cmp == SCN_EQ ? SCN_MAX_ALTS + 1 : 1))
			return perr(p, piece.col, op->cmp == SCN_EQ ? "at most %d allowed tags" :
				    "'!=' takes one tag", SCN_MAX_ALTS + 1);
		if (tag_of(p, &piece, &op->tags[op->ntags]) < 0)
			return -1;
		op->ntags++;
		a = b + 1;
	}
	return end_of_line(p);
}

/* ---- fault injection ---- */

/* fail SITE{,SITE} [NTH [repeat N]] | fail off */
static int st_fail(struct parser *p, struct scn_op *op)
{
	static const struct { const char *name; unsigned site; } sites[] = {
		{ "frame", MML_FAIL_FRAME }, { "pgtable", MML_FAIL_PGTABLE },
		{ "meta", MML_FAIL_META }, { "swap-slot", MML_FAIL_SWAP_SLOT },
		{ "swap-io", MML_FAIL_SWAP_IO }, { "tag", MML_FAIL_TAG },
		{ "all", MML_FAIL_ALL },
	};
	struct scn_tok *t = need_word(p, "fault-injection sites (frame, pgtable, meta, "
				      "swap-slot, swap-io, tag, all) or off");
	size_t a = 0, b;
	uint64_t v;
	int64_t r;

	if (!t)
		return -1;
	if (tok_is(t, "off"))
		return end_of_line(p);
	while (a <= t->n) {
		unsigned site = 0;

		for (b = a; b < t->n && t->s[b] != ','; b++)
			;
		for (size_t i = 0; i < sizeof(sites) / sizeof(sites[0]); i++)
			if (b - a == strlen(sites[i].name) && !memcmp(t->s + a, sites[i].name, b - a))
				site = sites[i].site;
		if (!site)
			return perr(p, t->col + a, "unknown fault-injection site '%.*s' (frame, pgtable, "
				    "meta, swap-slot, swap-io, tag, all)",
				    (int)(b - a > 40 ? 40 : b - a), t->s + a);
		op->fail_sites |= site;
		a = b + 1;
	}
	op->fail_nth = 1;
	t = peek(p);
	if (!t)
		return 0;
	if (parse_u64(p, t, false, &v) < 0)
		return -1;
	if (v == 0 || v > 1000000000)
		return perr(p, t->col, "the attempt that fails is 1..1000000000 from now");
	p->i++;
	op->fail_nth = (long)v;
	t = peek(p);
	if (!t)
		return 0;
	if (!tok_is(t, "repeat"))
		return perr(p, t->col, "expected 'repeat' and how many later attempts fail too");
	p->i++;
	t = need(p, "how many later attempts fail (-1: all)");
	if (!t || parse_s64(p, t, &r) < 0)
		return -1;
	if (r < -1 || r > 1000000000)
		return perr(p, t->col, "repeat is -1 (every later attempt) or 0..1000000000");
	op->fail_repeat = (long)r;
	return end_of_line(p);
}

/* ---- pins ---- */

/* pin and get sizes cost host memory too (the library's page array) */
#define SCN_MAX_PIN_PAGES	(SCN_MAX_IO / 4096)

static int parse_pin_name(struct parser *p, int *slot)
{
	struct scn_tok *t = need(p, "pin name");

	return t ? sym_use(p, t, t->n, SCN_SYM_PIN, slot) : -1;
}

/* write,longterm,force,fast (each at most once), or ro: no flag. */
static int parse_foll(struct parser *p, long *out)
{
	static const struct { const char *name; long bit; } names[] = {
		{ "write", MML_FOLL_WRITE }, { "longterm", MML_FOLL_LONGTERM },
		{ "force", MML_FOLL_FORCE }, { "fast", MML_FOLL_FAST },
	};
	struct scn_tok *t = need_word(p, "gup flags (ro, or write,longterm,force,fast)");
	size_t a = 0, b;
	long foll = 0;

	if (!t)
		return -1;
	if (tok_is(t, "ro")) {
		*out = 0;
		return 0;
	}
	if (t->n > 2 && (!memcmp(t->s, "ro,", 3) || !memcmp(t->s + t->n - 3, ",ro", 3)))
		return perr(p, t->col, "'ro' stands alone: it means no gup flag");
	while (a <= t->n) {
		long bit = 0;
		unsigned i;

		for (b = a; b < t->n && t->s[b] != ','; b++)
			;
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (b - a == strlen(names[i].name) &&
			    !memcmp(t->s + a, names[i].name, b - a))
				bit = names[i].bit;
		if (!bit)
			return perr(p, t->col + a, "unknown gup flag '%.*s' (ro, or a "
				    "comma list of write, longterm, force, fast)",
				    (int)(b - a > 40 ? 40 : b - a), t->s + a);
		if (foll & bit)
			return perr(p, t->col + a, "gup flag '%.*s' given twice",
				    (int)(b - a), t->s + a);
		foll |= bit;
		a = b + 1;
	}
	*out = foll;
	return 0;
}

/* [x =] pin|get A ADDR NPAGES [FOLL] [=> ...] */
static int st_pin(struct parser *p, struct scn_op *op, struct scn_tok *kw,
		  struct scn_tok *name)
{
	struct scn_tok *t;

	op->arg = tok_is(kw, "get");
	if (parse_task(p, &op->task) < 0 || parse_addr(p, &op->addr) < 0)
		return -1;
	t = need(p, "number of pages");
	if (!t || parse_u64(p, t, false, &op->len) < 0)
		return -1;
	if (op->len > SCN_MAX_PIN_PAGES)
		return perr(p, t->col, "at most %llu pages at a time",
			    (unsigned long long)SCN_MAX_PIN_PAGES);
	if (name && op->len == 0)
		return perr(p, t->col, "a named pin needs at least one page");
	t = peek(p);
	if (t && !tok_is(t, "=>") && parse_foll(p, &op->flags) < 0)
		return -1;
	if (!name)
		return parse_result(p, op, true);
	if (parse_result_defining(p, op) < 0 ||
	    sym_def(p, name, SCN_SYM_PIN, &op->def) < 0)
		return -1;
	p->s->syms[op->def].npages = op->len;
	return 0;
}

static int st_pin_anon(struct parser *p, struct scn_op *op)
{
	return st_pin(p, op, &p->lx.tok[0], NULL);
}

static int st_unpin(struct parser *p, struct scn_op *op)
{
	if (parse_pin_name(p, &op->pin) < 0 || parse_result(p, op, false) < 0)
		return -1;
	p->s->syms[op->pin].kind = SCN_SYM_UNPINNED;
	return 0;
}

/* dma-read x OFF LEN [expect PATTERN] | dma-write x OFF LEN PATTERN | dma-write x OFF "s" */
static int st_dma(struct parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	if (parse_pin_name(p, &op->pin) < 0 || parse_len(p, "offset", &op->pos) < 0)
		return -1;
	t = peek(p);
	if (op->kind == SCN_OP_DMA_WRITE && t && t->type == SCN_TOK_STRING) {
		if (parse_pattern(p, &op->pat) < 0)
			return -1;
		op->len = op->pat.n;
		return parse_result(p, op, true);
	}
	if (parse_len(p, "length", &op->len) < 0 || check_io_len(p, t, op->len) < 0)
		return -1;
	if (op->kind == SCN_OP_DMA_WRITE) {
		if (parse_pattern(p, &op->pat) < 0)
			return -1;
	} else if (tok_is(peek(p), "expect")) {
		p->i++;
		if (parse_expect_patterns(p, op) < 0)
			return -1;
	}
	return parse_result(p, op, true);
}

/* expect pin-frame x INDEX ==|!= A ADDR */
static int ex_pin_frame(struct parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	if (parse_pin_name(p, &op->pin) < 0)
		return -1;
	t = need(p, "page index");
	if (!t || parse_u64(p, t, false, &op->pos) < 0)
		return -1;
	if (op->pos >= p->s->syms[op->pin].npages)
		return perr(p, t->col, "page index %llu is past the %llu page(s) of '%s'",
			    (unsigned long long)op->pos,
			    (unsigned long long)p->s->syms[op->pin].npages,
			    p->s->syms[op->pin].name);
	if (parse_cmp(p, &op->cmp) < 0)
		return -1;
	if (op->cmp != SCN_EQ && op->cmp != SCN_NE)
		return perr(p, p->lx.tok[p->i - 1].col, "frames compare with == or != only");
	if (parse_task(p, &op->task) < 0 || parse_addr(p, &op->addr) < 0)
		return -1;
	return end_of_line(p);
}

/* ---- swap and reclaim ---- */

/* [s =] swapon SIZE [prio N] [file] [=> ...] */
static int st_swapon(struct parser *p, struct scn_op *op, struct scn_tok *name)
{
	bool seen_prio = false;
	struct scn_tok *t;

	op->prio = -1;
	if (parse_len(p, "swap size (64k, 16M, ...)", &op->len) < 0)
		return -1;
	while ((t = peek(p)) && !tok_is(t, "=>")) {
		p->i++;
		if (tok_is(t, "prio")) {
			int64_t v;

			if (seen_prio)
				return perr(p, t->col, "'prio' given twice");
			seen_prio = true;
			t = need(p, "priority (a number)");
			if (!t || parse_s64(p, t, &v) < 0)
				return -1;
			if (v < -0x80000000LL || v > 0x7fffffff)
				return perr(p, t->col, "priority out of range");
			op->prio = (int)v;
		} else if (tok_is(t, "file")) {
			if (op->swap_file)
				return perr(p, t->col, "'file' given twice");
			op->swap_file = true;
		} else {
			if (t->type == SCN_TOK_STRING)
				return perr(p, t->col, "unexpected string; expected "
					    "'prio N', 'file' or '=>'");
			return perr(p, t->col, "unexpected " TOKF "; expected 'prio N', "
				    "'file' or '=>'", TOKA(t));
		}
	}
	if (!name)
		return parse_result(p, op, true);
	if (parse_result_defining(p, op) < 0)
		return -1;
	return sym_def(p, name, SCN_SYM_SWAP, &op->def);
}

static int st_swapon_anon(struct parser *p, struct scn_op *op)
{
	return st_swapon(p, op, NULL);
}

/* swapoff s [=> ...]: s is gone after a swapoff that must succeed */
static int st_swapoff(struct parser *p, struct scn_op *op)
{
	struct scn_tok *t = need(p, "swap device name");

	if (!t || sym_use(p, t, t->n, SCN_SYM_SWAP, &op->swap) < 0 ||
	    parse_result(p, op, true) < 0)
		return -1;
	if (!op->expect.any && (op->expect.nerr == 0 ||
				(op->expect.nerr == 1 && op->expect.err[0] == 0)))
		p->s->syms[op->swap].kind = SCN_SYM_SWAPPED_OFF;
	return 0;
}

/* reclaim NPAGES [=> ...] */
static int st_reclaim(struct parser *p, struct scn_op *op)
{
	struct scn_tok *t = need(p, "number of pages to reclaim");

	if (!t || parse_u64(p, t, false, &op->len) < 0)
		return -1;
	p->seen_reclaim = true;
	return parse_result(p, op, true);
}

/* expect reclaimed CMP N: what the latest reclaim returned */
static int ex_reclaimed(struct parser *p, struct scn_op *op, const struct scn_tok *kw)
{
	struct scn_tok *t;

	if (!p->seen_reclaim)
		return perr(p, kw->col, "'expect reclaimed' needs a 'reclaim' before it");
	if (parse_cmp(p, &op->cmp) < 0)
		return -1;
	t = need(p, "value");
	if (!t || parse_s64(p, t, &op->value) < 0)
		return -1;
	return end_of_line(p);
}

/* ---- statements ---- */

static int st_machine(struct parser *p, struct scn_op *op, struct scn_tok *kw)
{
	struct scn_tok *t;

	if (p->seen_stmt)
		return perr(p, kw->col, "'machine' must be the first statement");
	while ((t = peek(p))) {
		uint64_t v;

		p->i++;
		if (tok_is(t, "check") || tok_is(t, "check-every-op")) {
			op->check = 1;
		} else if (tok_is(t, "no-check")) {
			op->check = 0;
		} else if (tok_is(t, "quiet")) {
			op->quiet = true;
		} else if (tok_is(t, "kswapd")) {
			op->kswapd = true;
		} else if (t->type == SCN_TOK_WORD && t->n > 4 && !memcmp(t->s, "ram=", 4)) {
			struct scn_tok u = *t;

			u.s += 4, u.n -= 4, u.col += 4;
			if (parse_u64(p, &u, true, &v) < 0)
				return -1;
			op->ram = v;
		} else if (t->type == SCN_TOK_WORD && t->n > 5 && !memcmp(t->s, "cpus=", 5)) {
			struct scn_tok u = *t;

			u.s += 5, u.n -= 5, u.col += 5;
			if (parse_u64(p, &u, false, &v) < 0)
				return -1;
			if (v == 0 || v > 4096)
				return perr(p, u.col, "cpus must be 1..4096");
			op->ncpus = (unsigned)v;
		} else if (t->type == SCN_TOK_WORD && t->n > 5 && !memcmp(t->s, "seed=", 5)) {
			struct scn_tok u = *t;

			u.s += 5, u.n -= 5, u.col += 5;
			if (parse_u64(p, &u, false, &op->seed) < 0)
				return -1;
		} else {
			return perr(p, t->col, "unknown machine option; expected ram=SIZE, "
				    "cpus=N, seed=N, check, no-check, quiet or kswapd");
		}
	}
	return 0;
}

/* spawn A | thread A -> A2 | fork A -> B */
static int st_task(struct parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	if (op->kind != SCN_OP_SPAWN) {
		if (parse_task(p, &op->task) < 0)
			return -1;
		t = need(p, "'->'");
		if (!t)
			return -1;
		if (!tok_is(t, "->"))
			return perr(p, t->col, "expected '->' and the new task's name");
	}
	t = need(p, "new task name");
	if (!t || sym_def(p, t, SCN_SYM_TASK, &op->def) < 0)
		return -1;
	t = peek(p);
	if (parse_result(p, op, true) < 0)
		return -1;
	if (op->expect.any || op->expect.nerr > 1)
		return perr(p, t->col, "a statement that defines a task must succeed or fail, not either");
	/* Failing (a parent the OOM killer chose: EINTR), it defines no task. */
	if (op->expect.nerr == 1 && op->expect.err[0])
		p->s->syms[op->def].kind = SCN_SYM_NONE;
	return 0;
}

static int st_exit(struct parser *p, struct scn_op *op)
{
	if (parse_task(p, &op->task) < 0 || parse_result(p, op, true) < 0)
		return -1;
	/* only after the whole line parsed: "exit A => EINVAL" would not */
	p->s->syms[op->task].kind = SCN_SYM_NONE;
	return 0;
}

/* [p =] mmap A ADDR LEN PROT FLAGS [FD [OFF]] [=> ...] */
static int st_mmap(struct parser *p, struct scn_op *op, struct scn_tok *name)
{
	struct scn_tok *t;

	op->fd = -1;
	if (parse_task(p, &op->task) < 0 || parse_addr(p, &op->addr) < 0 ||
	    parse_len(p, "length", &op->len) < 0 || parse_prot(p, &op->arg) < 0 ||
	    parse_mflags(p, &op->flags) < 0)
		return -1;
	t = peek(p);
	if (t && !tok_is(t, "=>")) {
		int64_t v;

		p->i++;
		if (parse_s64(p, t, &v) < 0)
			return -1;
		if (v < -0x80000000LL || v > 0x7fffffff)
			return perr(p, t->col, "file descriptor out of range");
		op->fd = (long)v;
		t = peek(p);
		if (t && !tok_is(t, "=>")) {
			p->i++;
			if (parse_s64(p, t, &op->off) < 0)
				return -1;
		}
	}
	if (!name)
		return parse_result(p, op, true);
	if (parse_result_defining(p, op) < 0)
		return -1;
	return sym_def(p, name, SCN_SYM_ADDR, &op->def);
}

/* munmap A ADDR LEN | mprotect A ADDR LEN PROT | madvise A ADDR LEN ADVICE */
static int st_range(struct parser *p, struct scn_op *op)
{
	if (parse_task(p, &op->task) < 0 || parse_addr(p, &op->addr) < 0 ||
	    parse_len(p, "length", &op->len) < 0)
		return -1;
	if (op->kind == SCN_OP_MPROTECT && parse_prot(p, &op->arg) < 0)
		return -1;
	if (op->kind == SCN_OP_MADVISE && parse_advice(p, &op->arg) < 0)
		return -1;
	return parse_result(p, op, true);
}

/* write A ADDR "string" | write A ADDR LEN PATTERN */
static int st_write(struct parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	if (parse_task(p, &op->task) < 0 || parse_addr(p, &op->addr) < 0)
		return -1;
	t = peek(p);
	if (t && t->type == SCN_TOK_STRING) {
		if (parse_pattern(p, &op->pat) < 0)
			return -1;
		op->len = op->pat.n;
	} else {
		if (parse_len(p, "length", &op->len) < 0 ||
		    check_io_len(p, t, op->len) < 0 ||
		    parse_pattern(p, &op->pat) < 0)
			return -1;
	}
	return parse_result(p, op, true);
}

/* read A ADDR LEN [expect PATTERN] */
static int st_read(struct parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	if (parse_task(p, &op->task) < 0 || parse_addr(p, &op->addr) < 0)
		return -1;
	t = peek(p);
	if (parse_len(p, "length", &op->len) < 0 || check_io_len(p, t, op->len) < 0)
		return -1;
	if (tok_is(peek(p), "expect")) {
		p->i++;
		if (parse_expect_patterns(p, op) < 0)
			return -1;
	}
	return parse_result(p, op, true);
}

/* f = frame A ADDR */
static int st_frame(struct parser *p, struct scn_op *op, struct scn_tok *name)
{
	if (parse_task(p, &op->task) < 0 || parse_addr(p, &op->addr) < 0 ||
	    parse_result(p, op, false) < 0)
		return -1;
	return sym_def(p, name, SCN_SYM_FRAME, &op->def);
}

static int pm_bit(const struct scn_tok *t, size_t skip, uint64_t *bit)
{
	static const struct { const char *name; uint64_t bit; } bits[] = {
		{ "present", MML_PM_PRESENT }, { "swapped", MML_PM_SWAP },
		{ "swap", MML_PM_SWAP }, { "exclusive", MML_PM_MMAP_EXCLUSIVE },
		{ "soft-dirty", MML_PM_SOFT_DIRTY }, { "uffd-wp", MML_PM_UFFD_WP },
		{ "file", MML_PM_FILE },
	};
	unsigned i;

	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		size_t n = strlen(bits[i].name);

		if (t->n - skip == n && !memcmp(t->s + skip, bits[i].name, n)) {
			*bit = bits[i].bit;
			return 0;
		}
	}
	return -1;
}

/* expect pagemap A ADDR [LEN] BIT... */
static int ex_pagemap(struct parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	if (parse_task(p, &op->task) < 0 || parse_addr(p, &op->addr) < 0)
		return -1;
	t = peek(p);
	op->len = 0;	/* one page, the size the machine says */
	if (t && t->type == SCN_TOK_WORD && t->s[0] >= '0' && t->s[0] <= '9') {
		if (parse_len(p, "length", &op->len) < 0)
			return -1;
		if (op->len > (1ULL << 30))
			return perr(p, t->col, "pagemap expectations are limited to 1G at a time");
		op->has_len = true;
	}
	if (!peek(p))
		return perr(p, p->lx.end_col, "missing pagemap bits (present, !present, "
			    "swapped, exclusive, soft-dirty, uffd-wp, file)");
	while ((t = peek(p))) {
		size_t neg = t->type == SCN_TOK_WORD && t->n && t->s[0] == '!';
		uint64_t bit;

		if (t->type != SCN_TOK_WORD || pm_bit(t, neg, &bit) < 0)
			return perr(p, t->col, "unknown pagemap bit; expected present, "
				    "swapped, exclusive, soft-dirty, uffd-wp or file, "
				    "or one of them after '!'");
		if ((neg ? op->pm_set : op->pm_clear) & bit)
			return perr(p, t->col, "contradictory pagemap bits");
		if (neg)
			op->pm_clear |= bit;
		else
			op->pm_set |= bit;
		p->i++;
	}
	return 0;
}

/* expect same-frame|different-frame A ADDR B ADDR */
static int ex_frames(struct parser *p, struct scn_op *op)
{
	if (parse_task(p, &op->task) < 0 || parse_addr(p, &op->addr) < 0 ||
	    parse_task(p, &op->task2) < 0 || parse_addr(p, &op->addr2) < 0)
		return -1;
	return end_of_line(p);
}

/* expect frame A ADDR ==|!= f */
static int ex_frame(struct parser *p, struct scn_op *op)
{
	struct scn_tok *t;
	int f;

	if (parse_task(p, &op->task) < 0 || parse_addr(p, &op->addr) < 0 ||
	    parse_cmp(p, &op->cmp) < 0)
		return -1;
	if (op->cmp != SCN_EQ && op->cmp != SCN_NE)
		return perr(p, p->lx.tok[p->i - 1].col, "frames compare with == or != only");
	t = need(p, "frame name");
	if (!t || sym_use(p, t, t->n, SCN_SYM_FRAME, &f) < 0)
		return -1;
	op->task2 = f;	/* the frame symbol */
	return end_of_line(p);
}

static int statref(struct parser *p, enum scn_stat_src src, const char *name)
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
static int ex_stat(struct parser *p, struct scn_op *op, const struct scn_tok *kw)
{
	struct scn_tok *t = need_word(p, "counter name");

	if (!t)
		return -1;
	if (op->delta && !p->seen_mark)
		return perr(p, kw->col, "a delta needs a 'mark' before it");
	op->name = strndup(t->s, t->n);
	if (!op->name)
		return perr(p, t->col, "out of memory");
	op->name_col = t->col;
	if (op->delta) {
		op->statref = statref(p, op->src, op->name);
		if (op->statref < 0)
			return perr(p, t->col, "out of memory");
	}
	if (parse_cmp(p, &op->cmp) < 0)
		return -1;
	t = need(p, "value");
	if (!t || parse_s64(p, t, &op->value) < 0)
		return -1;
	return end_of_line(p);
}

/* expect vma-count A ADDR LEN CMP N */
static int ex_vmas(struct parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	if (parse_task(p, &op->task) < 0 || parse_addr(p, &op->addr) < 0 ||
	    parse_len(p, "length", &op->len) < 0 || parse_cmp(p, &op->cmp) < 0)
		return -1;
	t = need(p, "value");
	if (!t || parse_s64(p, t, &op->value) < 0)
		return -1;
	return end_of_line(p);
}

/*
 * VALUE { "|" VALUE } in one word: the values a nondeterministic field
 * may take ("LazyFree == 0|8"), for == only.
 */
static int parse_values(struct parser *p, struct scn_op *op)
{
	struct scn_tok *t = need(p, "value"), piece;
	const char *s, *end, *bar;
	int64_t *slot;

	if (!t)
		return -1;
	if (t->type != SCN_TOK_WORD)
		return parse_s64(p, t, &op->value);	/* "not a string" */
	for (s = t->s, end = t->s + t->n; s <= end; s = bar + 1) {
		bar = memchr(s, '|', end - s);
		if (!bar)
			bar = end;
		piece = *t;
		piece.s = s;
		piece.n = bar - s;
		piece.col = t->col + (unsigned)(s - t->s);
		if (piece.n == 0)
			return perr(p, piece.col, "empty value around '|'");
		if (s == t->s) {
			slot = &op->value;
		} else if (op->cmp != SCN_EQ) {
			return perr(p, piece.col - 1, "several allowed values need '=='");
		} else if (op->nalt == SCN_MAX_ALTS) {
			return perr(p, piece.col, "at most %d allowed values", SCN_MAX_ALTS + 1);
		} else {
			slot = &op->alt_value[op->nalt++];
		}
		if (parse_s64(p, &piece, slot) < 0)
			return -1;
	}
	return 0;
}

/* expect smaps A ADDR FIELD CMP VALUE[|VALUE...] */
static int ex_smaps(struct parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	if (parse_task(p, &op->task) < 0 || parse_addr(p, &op->addr) < 0)
		return -1;
	t = need_word(p, "smaps field (Rss, Anonymous, LazyFree, Swap, ...)");
	if (!t)
		return -1;
	if (!scn_smaps_field_known(t->s, t->n))
		return perr(p, t->col, "unknown smaps field " TOKF "; expected a kB field "
			    "of /proc/PID/smaps as Linux spells it (Size, Rss, Pss, "
			    "Pss_Dirty, Shared_Clean, Shared_Dirty, Private_Clean, "
			    "Private_Dirty, Referenced, Anonymous, LazyFree, Swap, "
			    "SwapPss, Locked, ...)", TOKA(t));
	op->name = strndup(t->s, t->n);
	if (!op->name)
		return perr(p, t->col, "out of memory");
	op->name_col = t->col;
	if (parse_cmp(p, &op->cmp) < 0 || parse_values(p, op) < 0)
		return -1;
	return end_of_line(p);
}

static int st_expect(struct parser *p, struct scn_op *op)
{
	struct scn_tok *t = need_word(p, "what to expect (pagemap, same-frame, "
				      "different-frame, frame, addr, vmstat, meminfo, "
				      "vmstat-delta, meminfo-delta, vma-count, smaps, pin-frame, "
				      "reclaimed, killed, alive, tag)");

	if (!t)
		return -1;
	if (tok_is(t, "pagemap")) {
		op->kind = SCN_OP_EXPECT_PAGEMAP;
		return ex_pagemap(p, op);
	}
	if (tok_is(t, "same-frame") || tok_is(t, "different-frame")) {
		op->kind = tok_is(t, "same-frame") ? SCN_OP_EXPECT_SAME : SCN_OP_EXPECT_DIFF;
		return ex_frames(p, op);
	}
	if (tok_is(t, "frame")) {
		op->kind = SCN_OP_EXPECT_FRAME;
		return ex_frame(p, op);
	}
	if (tok_is(t, "addr")) {
		op->kind = SCN_OP_EXPECT_ADDR;
		if (parse_addr(p, &op->addr) < 0 || parse_cmp(p, &op->cmp) < 0 ||
		    parse_addr(p, &op->addr2) < 0)
			return -1;
		return end_of_line(p);
	}
	if (tok_is(t, "vma-count")) {
		op->kind = SCN_OP_EXPECT_VMAS;
		return ex_vmas(p, op);
	}
	if (tok_is(t, "smaps")) {
		op->kind = SCN_OP_EXPECT_SMAPS;
		return ex_smaps(p, op);
	}
	if (tok_is(t, "pin-frame")) {
		op->kind = SCN_OP_EXPECT_PIN_FRAME;
		return ex_pin_frame(p, op);
	}
	if (tok_is(t, "reclaimed")) {
		op->kind = SCN_OP_EXPECT_RECLAIMED;
		return ex_reclaimed(p, op, t);
	}
	if (tok_is(t, "killed") || tok_is(t, "alive")) {
		op->kind = SCN_OP_EXPECT_KILLED;
		op->value = tok_is(t, "killed");
		if (parse_task(p, &op->task) < 0)
			return -1;
		return end_of_line(p);
	}
	if (tok_is(t, "tag")) {
		op->kind = SCN_OP_EXPECT_TAG;
		return ex_tag(p, op);
	}
	op->kind = SCN_OP_EXPECT_STAT;
	if (tok_is(t, "vmstat") || tok_is(t, "vmstat-delta"))
		op->src = SCN_VMSTAT;
	else if (tok_is(t, "meminfo") || tok_is(t, "meminfo-delta"))
		op->src = SCN_MEMINFO;
	else
		return perr(p, t->col, "unknown expectation " TOKF, TOKA(t));
	op->delta = t->n > 6 && !memcmp(t->s + t->n - 6, "-delta", 6);
	return ex_stat(p, op, t);
}

/* Join the remaining tokens with a space: echo and show's counter list. */
static char *join_rest(struct parser *p, size_t *len)
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
 * show vmstat|meminfo [NAME...]
 */
static int st_show(struct parser *p, struct scn_op *op)
{
	struct scn_tok *t = need_word(p, "view (maps, smaps, pagemap, vmstat, meminfo)");
	size_t n;

	if (!t)
		return -1;
	if (tok_is(t, "maps") || tok_is(t, "smaps")) {
		op->arg = tok_is(t, "maps") ? SCN_SHOW_MAPS : SCN_SHOW_SMAPS;
		if (parse_task(p, &op->task) < 0)
			return -1;
		if (peek(p)) {
			if (parse_addr(p, &op->addr) < 0)
				return -1;
			op->has_addr = true;
		}
		return end_of_line(p);
	}
	if (tok_is(t, "pagemap")) {
		op->arg = SCN_SHOW_PAGEMAP;
		op->len = 0;	/* one page, the size the machine says */
		if (parse_task(p, &op->task) < 0 || parse_addr(p, &op->addr) < 0)
			return -1;
		if (peek(p)) {
			if (parse_len(p, "length", &op->len) < 0)
				return -1;
			if (op->len > (1ULL << 30))
				return perr(p, p->lx.tok[p->i - 1].col,
					    "show pagemap is limited to 1G at a time");
			op->has_len = true;
		}
		return end_of_line(p);
	}
	if (tok_is(t, "vmstat") || tok_is(t, "meminfo")) {
		op->arg = tok_is(t, "vmstat") ? SCN_SHOW_VMSTAT : SCN_SHOW_MEMINFO;
		if (peek(p)) {
			t = peek(p);
			if (t->type != SCN_TOK_WORD)
				return perr(p, t->col, "expected counter names");
			op->name_col = t->col;
			op->name = join_rest(p, &n);
			if (!op->name)
				return perr(p, t->col, "out of memory");
		}
		return 0;
	}
	return perr(p, t->col, "unknown view " TOKF
		    " (maps, smaps, pagemap, vmstat, meminfo)", TOKA(t));
}

static int st_echo(struct parser *p, struct scn_op *op)
{
	size_t n;

	op->echo = join_rest(p, &n);
	if (!op->echo)
		return perr(p, 1, "out of memory");
	op->len = n;
	return 0;
}

struct command {
	const char *name;
	enum scn_op_kind kind;
	int (*parse)(struct parser *p, struct scn_op *op);
};

static int st_nothing(struct parser *p, struct scn_op *op)
{
	return end_of_line(p);
}

static int st_check(struct parser *p, struct scn_op *op)
{
	return parse_result(p, op, true);
}

static int st_mark(struct parser *p, struct scn_op *op)
{
	p->seen_mark = true;
	return st_nothing(p, op);
}

static int st_mmap_anon(struct parser *p, struct scn_op *op)
{
	return st_mmap(p, op, NULL);
}

static const struct command commands[] = {
	{ "spawn",	SCN_OP_SPAWN,	 st_task },
	{ "thread",	SCN_OP_THREAD,	 st_task },
	{ "fork",	SCN_OP_FORK,	 st_task },
	{ "exit",	SCN_OP_EXIT,	 st_exit },
	{ "mmap",	SCN_OP_MMAP,	 st_mmap_anon },
	{ "munmap",	SCN_OP_MUNMAP,	 st_range },
	{ "mprotect",	SCN_OP_MPROTECT, st_range },
	{ "madvise",	SCN_OP_MADVISE,	 st_range },
	{ "write",	SCN_OP_WRITE,	 st_write },
	{ "read",	SCN_OP_READ,	 st_read },
	{ "expect",	SCN_OP_EXPECT_STAT, st_expect },	/* kind refined */
	{ "mark",	SCN_OP_MARK,	 st_mark },
	{ "check",	SCN_OP_CHECK,	 st_check },
	{ "show",	SCN_OP_SHOW,	 st_show },
	{ "echo",	SCN_OP_ECHO,	 st_echo },
	{ "pin",	SCN_OP_PIN,	 st_pin_anon },
	{ "get",	SCN_OP_PIN,	 st_pin_anon },
	{ "unpin",	SCN_OP_UNPIN,	 st_unpin },
	{ "dma-read",	SCN_OP_DMA_READ, st_dma },
	{ "dma-write",	SCN_OP_DMA_WRITE, st_dma },
	{ "swapon",	SCN_OP_SWAPON,	 st_swapon_anon },
	{ "swapoff",	SCN_OP_SWAPOFF,	 st_swapoff },
	{ "reclaim",	SCN_OP_RECLAIM,	 st_reclaim },
	{ "tag",	SCN_OP_TAG,	 st_tag },
	{ "fail",	SCN_OP_FAIL,	 st_fail },
	{ NULL,		0,		 NULL }
};

static struct scn_op *op_new(struct parser *p, const char *line, size_t n)
{
	struct scn_script *s = p->s;
	struct scn_op *ops, *op;

	ops = realloc(s->ops, (s->nops + 1) * sizeof(*ops));
	if (!ops)
		return NULL;
	s->ops = ops;
	op = &ops[s->nops];
	memset(op, 0, sizeof(*op));
	op->line = p->line;
	op->def = op->task = op->task2 = op->statref = op->pin = op->swap = -1;
	op->prio = -1;
	op->addr.sym = op->addr2.sym = -1;
	op->check = -1;
	/* trailing blanks and comments are not worth tracing */
	while (n && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
		n--;
	op->text = strndup(line, n);
	if (!op->text)
		return NULL;
	s->nops++;
	return op;
}

static int parse_statement(struct parser *p, const char *line, size_t n)
{
	struct scn_tok *kw = &p->lx.tok[0], *name = NULL;
	const struct command *c;
	struct scn_op *op;

	op = op_new(p, line, n);
	if (!op)
		return perr(p, 1, "out of memory");
	if (p->lx.ntok >= 2 && tok_is(&p->lx.tok[1], "=")) {
		name = kw;
		if (p->lx.ntok < 3)
			return perr(p, p->lx.end_col, "missing 'mmap', 'frame', 'pin', 'get' "
				    "or 'swapon' after '='");
		kw = &p->lx.tok[2];
		p->i = 3;
		if (tok_is(kw, "mmap")) {
			op->kind = SCN_OP_MMAP;
			p->seen_stmt = true;
			return st_mmap(p, op, name);
		}
		if (tok_is(kw, "frame")) {
			op->kind = SCN_OP_FRAME;
			p->seen_stmt = true;
			return st_frame(p, op, name);
		}
		if (tok_is(kw, "pin") || tok_is(kw, "get")) {
			op->kind = SCN_OP_PIN;
			p->seen_stmt = true;
			return st_pin(p, op, kw, name);
		}
		if (tok_is(kw, "swapon")) {
			op->kind = SCN_OP_SWAPON;
			p->seen_stmt = true;
			return st_swapon(p, op, name);
		}
		return perr(p, kw->col, "only 'mmap', 'frame', 'pin', 'get' and 'swapon' "
			    "give a value to a name");
	}
	p->i = 1;
	if (tok_is(kw, "machine")) {
		op->kind = SCN_OP_MACHINE;
		return st_machine(p, op, kw);
	}
	p->seen_stmt = true;
	for (c = commands; c->name; c++) {
		if (tok_is(kw, c->name)) {
			op->kind = c->kind;
			return c->parse(p, op);
		}
	}
	if (kw->type == SCN_TOK_STRING)
		return perr(p, kw->col, "a statement starts with a command, not a string");
	return perr(p, kw->col, "unknown command " TOKF, TOKA(kw));
}

void scn_script_free(struct scn_script *s)
{
	int i, j;

	if (!s)
		return;
	for (i = 0; i < s->nops; i++) {
		free(s->ops[i].text);
		free(s->ops[i].pat.bytes);
		for (j = 0; j < s->ops[i].nalt; j++)
			free(s->ops[i].alt[j].bytes);
		free(s->ops[i].name);
		free(s->ops[i].echo);
	}
	for (i = 0; i < s->nsyms; i++)
		free(s->syms[i].name);
	for (i = 0; i < s->nstatrefs; i++)
		free(s->statrefs[i].name);
	free(s->ops);
	free(s->syms);
	free(s->statrefs);
	free(s->name);
	free(s);
}

int scn_parse(const char *name, const char *text, size_t len,
	      struct scn_script **out, FILE *err)
{
	struct parser p = { .file = name, .err = err ? err : stderr };
	size_t pos = 0;
	int ret = 0;

	p.s = calloc(1, sizeof(*p.s));
	if (!p.s || !(p.s->name = strdup(name))) {
		fprintf(p.err, "%s: out of memory\n", name);
		scn_script_free(p.s);
		return -1;
	}
	while (pos < len && ret == 0) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;

		pos += n + 1;
		p.line++;
		if (scn_lex_line(&p.lx, line, n) < 0)
			ret = perr(&p, p.lx.err_col, "%s", p.lx.err);
		else if (p.lx.ntok)
			ret = parse_statement(&p, line, n);
	}
	scn_lex_free(&p.lx);
	if (ret < 0) {
		scn_script_free(p.s);
		return -1;
	}
	*out = p.s;
	return 0;
}
