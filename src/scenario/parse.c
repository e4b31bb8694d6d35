/*
 * parse.c - scenario text to a struct scn_script.
 *
 * One statement per line.  The whole file is parsed before anything runs,
 * and names are resolved here: a task or address used before it is
 * defined, a task used after its exit, a delta before any mark are all
 * bad input (exit 2), reported as file:line:col with the column of the
 * offending token.  The grammar is in docs/scenario.md.
 *
 * This file holds what every statement's text is made of (tokens,
 * numbers, names, addresses, patterns, results) and finds the statement
 * a line starts; each statement's own parse function is in its cmd_*.c
 * (command.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/command.h"

/*
 * The message names the bytes it quotes from the file: any that would
 * not show (control bytes, and every byte past ASCII: a UTF-8 byte-order
 * mark is three of them) is written as \xNN, so a reader sees what is there.
 */
int scn_perr(struct scn_parser *p, unsigned col, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(p->err, "%s:%u:%u: ", p->file, p->line, col);
	for (const unsigned char *c = (const unsigned char *)msg; *c; c++) {
		if (*c < 0x20 || *c >= 0x7f)
			fprintf(p->err, "\\x%02x", *c);
		else
			fputc(*c, p->err);
	}
	fputc('\n', p->err);
	return -1;
}

/* ---- tokens ---- */

struct scn_tok *scn_peek(struct scn_parser *p)
{
	return p->i < p->lx.ntok ? &p->lx.tok[p->i] : NULL;
}

bool scn_tok_is(const struct scn_tok *t, const char *w)
{
	size_t n = strlen(w);

	return t && t->type == SCN_TOK_WORD && t->n == n && memcmp(t->s, w, n) == 0;
}

struct scn_tok *scn_need(struct scn_parser *p, const char *what)
{
	struct scn_tok *t = scn_peek(p);

	if (!t) {
		scn_perr(p, p->lx.end_col, "missing %s", what);
		return NULL;
	}
	p->i++;
	return t;
}

struct scn_tok *scn_need_word(struct scn_parser *p, const char *what)
{
	struct scn_tok *t = scn_need(p, what);

	if (t && t->type != SCN_TOK_WORD) {
		scn_perr(p, t->col, "expected %s, not a string", what);
		return NULL;
	}
	return t;
}

int scn_end_of_line(struct scn_parser *p)
{
	struct scn_tok *t = scn_peek(p);

	if (!t)
		return 0;
	if (t->type == SCN_TOK_STRING)
		return scn_perr(p, t->col, "unexpected string");
	return scn_perr(p, t->col, "unexpected " TOKF, TOKA(t));
}

/* ---- numbers ---- */

/*
 * Decimal or 0x hex, with k/M/G/T (binary) suffixes when allowed.
 * NULL, or what is wrong with it; overflow is an error, never a wrap.
 */
const char *scn_num_parse(const char *s, size_t n, bool suffix, uint64_t *out)
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
	return scn_num_parse(s, strlen(s), true, out);
}

int scn_parse_u64(struct scn_parser *p, const struct scn_tok *t, bool suffix,
		  uint64_t *out)
{
	const char *why;

	if (t->type != SCN_TOK_WORD)
		return scn_perr(p, t->col, "expected a number, not a string");
	why = scn_num_parse(t->s, t->n, suffix, out);
	if (why)
		return scn_perr(p, t->col, "%s: " TOKF, why, TOKA(t));
	return 0;
}

int scn_parse_len(struct scn_parser *p, const char *what, uint64_t *out)
{
	struct scn_tok *t = scn_need(p, what);

	return t ? scn_parse_u64(p, t, true, out) : -1;
}

/* An optional '-' and a number without suffix: stat values, fds. */
int scn_parse_s64(struct scn_parser *p, const struct scn_tok *t, int64_t *out)
{
	struct scn_tok u;
	uint64_t v;
	bool neg;

	if (t->type != SCN_TOK_WORD)
		return scn_perr(p, t->col, "expected a number, not a string");
	neg = t->n > 0 && t->s[0] == '-';
	u = *t;
	if (neg) {
		u.s++;
		u.n--;
		u.col++;
	}
	if (scn_parse_u64(p, &u, false, &v) < 0)
		return -1;
	if (v > (uint64_t)INT64_MAX + neg)
		return scn_perr(p, t->col, "number too large: " TOKF, TOKA(t));
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
	case SCN_SYM_DEVICE: return "a device";
	case SCN_SYM_DETACHED: return "a detached device";
	case SCN_SYM_FD: return "a descriptor";
	case SCN_SYM_MIGRATION: return "a migration held half way";
	case SCN_SYM_UFFD: return "a userfaultfd";
	case SCN_SYM_UFFD_CLOSED: return "a closed userfaultfd";
	default: return "gone";
	}
}

/* Use of a defined name of the given kind. */
int scn_sym_use(struct scn_parser *p, const struct scn_tok *t, size_t n,
		enum scn_sym_kind kind, int *slot)
{
	int i;

	if (t->type != SCN_TOK_WORD || !is_ident(t->s, n))
		return scn_perr(p, t->col, "expected a name, got " TOKF, TOKA(t));
	i = sym_find(p->s, t->s, n);
	if (i < 0)
		return scn_perr(p, t->col, "undefined name '%.*s'", (int)n, t->s);
	if (p->s->syms[i].kind != kind) {
		if (p->s->syms[i].kind == SCN_SYM_NONE)
			return scn_perr(p, t->col, "'%.*s' has exited", (int)n, t->s);
		if (p->s->syms[i].kind == SCN_SYM_UNPINNED)
			return scn_perr(p, t->col, "'%.*s' was unpinned", (int)n, t->s);
		if (p->s->syms[i].kind == SCN_SYM_SWAPPED_OFF && kind == SCN_SYM_SWAP)
			return scn_perr(p, t->col, "'%.*s' was swapped off", (int)n, t->s);
		if (p->s->syms[i].kind == SCN_SYM_DETACHED && kind == SCN_SYM_DEVICE)
			return scn_perr(p, t->col, "'%.*s' was detached", (int)n, t->s);
		if (p->s->syms[i].kind == SCN_SYM_UFFD_CLOSED && kind == SCN_SYM_UFFD)
			return scn_perr(p, t->col, "'%.*s' was closed", (int)n, t->s);
		return scn_perr(p, t->col, "'%.*s' is %s, not %s", (int)n, t->s,
				kind_name(p->s->syms[i].kind), kind_name(kind));
	}
	*slot = i;
	return scn_block_claim(p, i, t->col, false);
}

/*
 * Definition of a name.  A live task, a held pin, a swap device still on
 * or an attached device cannot be redefined (it would leak from the
 * scenario's view), and none of them can take the name of a value; values
 * may be redefined, also over the name of an exited task, an unpinned
 * pin, a swapped-off or a detached device.
 */
int scn_sym_def(struct scn_parser *p, const struct scn_tok *t,
		enum scn_sym_kind kind, int *slot)
{
	struct scn_sym *ns;
	int i;

	if (t->type != SCN_TOK_WORD || !is_ident(t->s, t->n))
		return scn_perr(p, t->col, "expected a name, got " TOKF, TOKA(t));
	i = sym_find(p->s, t->s, t->n);
	if (i >= 0) {
		enum scn_sym_kind was = p->s->syms[i].kind;

		if (was == SCN_SYM_TASK)
			return scn_perr(p, t->col, "task " TOKF " already exists", TOKA(t));
		if (was == SCN_SYM_PIN)
			return scn_perr(p, t->col, "pin " TOKF " is still held (unpin it first)",
					TOKA(t));
		if (was == SCN_SYM_SWAP)
			return scn_perr(p, t->col, "swap device " TOKF " is still on "
					"(swapoff it first)", TOKA(t));
		if (was == SCN_SYM_DEVICE)
			return scn_perr(p, t->col, "device " TOKF " is still attached "
					"(detach it first)", TOKA(t));
		if (was == SCN_SYM_UFFD)
			return scn_perr(p, t->col, "userfaultfd " TOKF " is still open "
					"(close it first)", TOKA(t));
		if ((kind == SCN_SYM_TASK || kind == SCN_SYM_PIN || kind == SCN_SYM_SWAP ||
		     kind == SCN_SYM_DEVICE || kind == SCN_SYM_UFFD) &&
		    was != SCN_SYM_NONE && was != SCN_SYM_UNPINNED &&
		    was != SCN_SYM_SWAPPED_OFF && was != SCN_SYM_DETACHED && was != SCN_SYM_UFFD_CLOSED)
			return scn_perr(p, t->col, TOKF " is %s", TOKA(t), kind_name(was));
		p->s->syms[i].kind = kind;
		*slot = i;
		return scn_block_claim(p, i, t->col, true);
	}
	ns = realloc(p->s->syms, (p->s->nsyms + 1) * sizeof(*ns));
	if (!ns)
		return scn_perr(p, t->col, "out of memory");
	p->s->syms = ns;
	ns[p->s->nsyms].name = strndup(t->s, t->n);
	if (!ns[p->s->nsyms].name)
		return scn_perr(p, t->col, "out of memory");
	ns[p->s->nsyms].kind = kind;
	ns[p->s->nsyms].npages = 0;
	ns[p->s->nsyms].blk_def = ns[p->s->nsyms].blk_use = ns[p->s->nsyms].blk_other = -1;
	*slot = p->s->nsyms++;
	return scn_block_claim(p, *slot, t->col, true);
}

int scn_parse_task(struct scn_parser *p, int *slot)
{
	struct scn_tok *t = scn_need(p, "task name");

	return t ? scn_sym_use(p, t, t->n, SCN_SYM_TASK, slot) : -1;
}

/*
 * An address: a name or a number, then any number of +N or -N terms
 * (p, p+4k, p+4k-8, 0x7f0000000000, 0x10000+4k).  Arithmetic wraps
 * modulo 2^64 like the CPU's; the syscalls judge the result.
 */
int scn_parse_addr(struct scn_parser *p, struct scn_addr *a)
{
	struct scn_tok *t = scn_need(p, "address");
	const char *why;
	size_t k, j;
	uint64_t v;

	if (!t)
		return -1;
	if (t->type != SCN_TOK_WORD)
		return scn_perr(p, t->col, "expected an address, not a string");
	a->sym = -1;
	a->off = 0;
	for (k = 0; k < t->n && t->s[k] != '+' && t->s[k] != '-'; k++)
		;
	if (t->s[0] >= '0' && t->s[0] <= '9') {
		why = scn_num_parse(t->s, k, true, &a->off);
		if (why)
			return scn_perr(p, t->col, "%s in address", why);
	} else if (scn_sym_use(p, t, k, SCN_SYM_ADDR, &a->sym) < 0) {
		return -1;
	}
	while (k < t->n) {
		for (j = k + 1; j < t->n && t->s[j] != '+' && t->s[j] != '-'; j++)
			;
		why = scn_num_parse(t->s + k + 1, j - k - 1, true, &v);
		if (why)
			return scn_perr(p, t->col + k + 1, "%s in address offset", why);
		a->off += t->s[k] == '+' ? v : 0 - v;
		k = j;
	}
	return 0;
}

/*
 * A descriptor: a name that open, memfd or dup defined, or a number
 * (-1, 99: descriptors nobody opened, for EBADF).  A name stands for the
 * number it got in its process; a forked child has the same numbers, so
 * any task may use it.
 */
int scn_parse_fd(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t = scn_need(p, "descriptor (a name from open, memfd or dup, or a number)");
	int64_t v;

	if (!t)
		return -1;
	if (t->type == SCN_TOK_WORD && t->n && (t->s[0] == '-' || (t->s[0] >= '0' && t->s[0] <= '9'))) {
		if (scn_parse_s64(p, t, &v) < 0)
			return -1;
		if (v < -0x80000000LL || v > 0x7fffffff)
			return scn_perr(p, t->col, "file descriptor out of range");
		op->fd = (long)v;
		op->fdsym = -1;
		return 0;
	}
	return scn_sym_use(p, t, t->n, SCN_SYM_FD, &op->fdsym);
}

/*
 * OFF: an optional '-' and a size (4k, 0x1000): file offsets, and fstat's
 * values.  A negative offset is the syscall's EINVAL to say.
 */
int scn_parse_off(struct scn_parser *p, int64_t *out)
{
	struct scn_tok *t = scn_need(p, "offset"), u;
	uint64_t v;

	if (!t)
		return -1;
	u = *t;
	if (t->type == SCN_TOK_WORD && t->n > 1 && t->s[0] == '-') {
		u.s++;
		u.n--;
		u.col++;
	}
	if (scn_parse_u64(p, &u, true, &v) < 0)
		return -1;
	if (v > (uint64_t)INT64_MAX)
		return scn_perr(p, t->col, "offset too large");
	*out = u.s != t->s ? -(int64_t)v : (int64_t)v;
	return 0;
}

/* ---- patterns ---- */

/* A byte (0..255) or zero/zeros from a word, or a non-empty string. */
static int pattern_of(struct scn_parser *p, const struct scn_tok *t,
		      struct scn_pattern *pat)
{
	uint64_t v;

	if (t->type == SCN_TOK_STRING) {
		if (t->strn == 0)
			return scn_perr(p, t->col, "empty string pattern");
		pat->bytes = malloc(t->strn);
		if (!pat->bytes)
			return scn_perr(p, t->col, "out of memory");
		memcpy(pat->bytes, t->str, t->strn);
		pat->n = t->strn;
		pat->present = true;
		return 0;
	}
	if (scn_tok_is(t, "zero") || scn_tok_is(t, "zeros") || scn_tok_is(t, "zeroes")) {
		v = 0;
		pat->zero = true;
	} else {
		if (scn_parse_u64(p, t, false, &v) < 0)
			return -1;
		if (v > 255)
			return scn_perr(p, t->col, "a byte pattern is 0..255, got " TOKF,
					TOKA(t));
	}
	pat->bytes = malloc(1);
	if (!pat->bytes)
		return scn_perr(p, t->col, "out of memory");
	pat->bytes[0] = (unsigned char)v;
	pat->n = 1;
	pat->present = true;
	return 0;
}

/* A byte (0..255), zero/zeros, or a non-empty string. */
int scn_parse_pattern(struct scn_parser *p, struct scn_pattern *pat)
{
	struct scn_tok *t = scn_need(p, "pattern (a byte, zero, or a \"string\")");

	if (!t)
		return -1;
	return pattern_of(p, t, pat);
}

/* The next free slot for one more allowed pattern, or NULL after perr. */
static struct scn_pattern *alt_slot(struct scn_parser *p, struct scn_op *op,
				    unsigned col)
{
	if (!op->pat.present)
		return &op->pat;
	if (op->nalt == SCN_MAX_ALTS) {
		scn_perr(p, col, "at most %d allowed patterns", SCN_MAX_ALTS + 1);
		return NULL;
	}
	return &op->alt[op->nalt++];
}

/*
 * The patterns after "expect": PATTERN { "|" PATTERN }.  A word may hold
 * several ("0x11|zero"); a string stands alone, so "|" may also start or
 * end a word next to one: "new"|"old" is a string, a word "|", a string.
 */
int scn_parse_patterns(struct scn_parser *p, struct scn_op *op)
{
	bool want = true;	/* a pattern must come next */
	struct scn_pattern *pat;
	struct scn_tok *t, piece;
	const char *s, *end, *bar;

	for (;;) {
		t = scn_peek(p);
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
				return scn_perr(p, piece.col, "empty pattern between '|'");
			pat = alt_slot(p, op, piece.col);
			if (!pat || pattern_of(p, &piece, pat) < 0)
				return -1;
			want = bar != NULL;
			s = bar ? bar + 1 : end;
		}
	}
	if (want)
		return scn_perr(p, t ? t->col : p->lx.end_col,
				"missing pattern (a byte, zero, or a \"string\")");
	return 0;
}

int scn_check_io_len(struct scn_parser *p, const struct scn_tok *t, uint64_t len)
{
	if (len > SCN_MAX_IO)
		return scn_perr(p, t->col, "length too large for read, write or DMA (max %llu)",
				(unsigned long long)SCN_MAX_IO);
	return 0;
}

int scn_parse_npages(struct scn_parser *p, uint64_t *out)
{
	struct scn_tok *t = scn_need(p, "number of pages");

	if (!t || scn_parse_u64(p, t, false, out) < 0)
		return -1;
	if (*out > SCN_MAX_PAGES)
		return scn_perr(p, t->col, "at most %llu pages at a time", (unsigned long long)SCN_MAX_PAGES);
	return 0;
}

/*
 * What follows the place of a load or store: a store's "LEN PATTERN" or
 * "STRING" (its length), a load's "LEN [expect PATTERNS]"; then the
 * result.  Into op->len, op->pat (and op->alt[]).
 */
int scn_parse_access(struct scn_parser *p, struct scn_op *op, bool store)
{
	struct scn_tok *t = scn_peek(p);

	if (store && t && t->type == SCN_TOK_STRING) {
		if (scn_parse_pattern(p, &op->pat) < 0)
			return -1;
		op->len = op->pat.n;
		return scn_parse_result(p, op, true);
	}
	if (scn_parse_len(p, "length", &op->len) < 0 || scn_check_io_len(p, t, op->len) < 0)
		return -1;
	if (store) {
		if (scn_parse_pattern(p, &op->pat) < 0)
			return -1;
	} else if (scn_tok_is(scn_peek(p), "expect")) {
		p->i++;
		if (scn_parse_patterns(p, op) < 0)
			return -1;
	}
	return scn_parse_result(p, op, true);
}

/* ---- results and comparisons ---- */

/*
 * One outcome of "=> ...": ok, an errno name; for a load or a store
 * (read, write) the signal the CPU would take, SIGBUS (EIO, as the API
 * returns it) or SIGSEGV (EFAULT); for pread and pwrite a byte count.
 * 0, or -1 after the message.
 */
static int parse_outcome(struct scn_parser *p, struct scn_op *op, const char *s, size_t n,
			 unsigned col)
{
	bool access = op->kind == SCN_OP_READ || op->kind == SCN_OP_WRITE;
	bool counts = op->kind == SCN_OP_PREAD || op->kind == SCN_OP_PWRITE || op->kind == SCN_OP_MOVE_PAGES ||
		      op->kind == SCN_OP_MIGRATE_PAGES || op->kind == SCN_OP_PROCESS_MADVISE;
	uint64_t v;
	int e;

	if (op->expect.nerr + op->expect.ncount == SCN_MAX_ERRS)
		return scn_perr(p, col, "at most %d results", SCN_MAX_ERRS);
	if (n && s[0] >= '0' && s[0] <= '9') {
		const char *why;

		if (!counts)
			return scn_perr(p, col, "a count is the result of pread, pwrite, move_pages, migrate_pages and "
					"process_madvise only");
		why = scn_num_parse(s, n, true, &v);
		if (why)
			return scn_perr(p, col, "%s in a byte count", why);
		op->expect.count[op->expect.ncount++] = v;
		return 0;
	}
	if (n == 2 && memcmp(s, "ok", 2) == 0) {
		e = 0;
	} else if ((n == 6 && !memcmp(s, "SIGBUS", 6)) || (n == 7 && !memcmp(s, "SIGSEGV", 7))) {
		if (!access)
			return scn_perr(p, col, "%.*s is the outcome of a load or store (read, write)",
					(int)n, s);
		e = n == 6 ? EIO : EFAULT;
	} else if (scn_errno(s, n, &e) < 0) {
		return scn_perr(p, col, "unknown result '%.*s' (ok, any, EINVAL, ...%s)",
				(int)(n > 40 ? 40 : n), s, access ? ", SIGBUS" :
				counts ? ", a byte count" : "");
	}
	op->expect.err[op->expect.nerr++] = e;
	return 0;
}

/* "=> ok", "=> EINVAL", "=> ok|ENOMEM", "=> any", then the end. */
int scn_parse_result(struct scn_parser *p, struct scn_op *op, bool allowed)
{
	struct scn_tok *t = scn_peek(p);
	size_t a = 0, b;

	if (!scn_tok_is(t, "=>"))
		return scn_end_of_line(p);
	if (!allowed)
		return scn_perr(p, t->col, "this statement cannot take '=>'");
	p->i++;
	t = scn_need_word(p, "result (ok, any, or an errno name such as EINVAL)");
	if (!t)
		return -1;
	if (scn_tok_is(t, "any")) {
		op->expect.any = true;
		return scn_end_of_line(p);
	}
	while (a <= t->n) {
		for (b = a; b < t->n && t->s[b] != '|'; b++)
			;
		if (parse_outcome(p, op, t->s + a, b - a, t->col + a) < 0)
			return -1;
		a = b + 1;
	}
	return scn_end_of_line(p);
}

/* A statement that defines a name must succeed: the name needs a value. */
int scn_parse_result_defining(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t = scn_peek(p);

	if (scn_parse_result(p, op, true) < 0)
		return -1;
	if (op->expect.any || op->expect.ncount ||
	    (op->expect.nerr && (op->expect.nerr > 1 || op->expect.err[0])))
		return scn_perr(p, t->col, "a statement that defines a name must succeed");
	return 0;
}

int scn_parse_cmp(struct scn_parser *p, enum scn_cmp *c)
{
	struct scn_tok *t = scn_need(p, "comparison (== != < <= > >=)");
	enum scn_cmp i;

	if (!t)
		return -1;
	for (i = SCN_EQ; i <= SCN_GE; i++) {
		if (scn_tok_is(t, scn_cmp_name(i))) {
			*c = i;
			return 0;
		}
	}
	return scn_perr(p, t->col, "expected a comparison (== != < <= > >=)");
}

/* CMP VALUE, then the end of the line: how most expectations end */
int scn_parse_comparison(struct scn_parser *p, struct scn_op *op)
{
	struct scn_tok *t;

	if (scn_parse_cmp(p, &op->cmp) < 0)
		return -1;
	t = scn_need(p, "value");
	if (!t || scn_parse_s64(p, t, &op->value) < 0)
		return -1;
	return scn_end_of_line(p);
}

/*
 * A word of flags: names (lookup's) or numbers, joined by ',' or '|'; a
 * number among names gives bits without a name, for EINVAL tests.  what
 * names the call in errors ("mmap", "mremap"), hint follows an unknown name.
 */
int scn_parse_flag_word(struct scn_parser *p, const char *need, const char *what, const char *hint,
			   int (*lookup)(const char *s, size_t n, long *out), long *out)
{
	struct scn_tok *t = scn_need_word(p, need);
	size_t a = 0, b;
	long flags = 0;

	if (!t)
		return -1;
	while (a <= t->n) {
		long f;
		uint64_t v;

		for (b = a; b < t->n && t->s[b] != ',' && t->s[b] != '|'; b++)
			;
		/* A name first, then a number: some names start with a digit (mmap's 32bit). */
		if (lookup(t->s + a, b - a, &f) < 0) {
			if (b == a || t->s[a] < '0' || t->s[a] > '9')
				return scn_perr(p, t->col + a, "unknown %s flag '%.*s'%s", what,
						(int)(b - a > 40 ? 40 : b - a), t->s + a, hint);
			if (scn_num_parse(t->s + a, b - a, false, &v) || v > 0xffffffff)
				return scn_perr(p, t->col + a, "bad %s flag number", what);
			f = (long)v;
		}
		flags |= f;
		a = b + 1;
	}
	*out = flags;
	return 0;
}

/* ---- statements ---- */

void scn_op_init(struct scn_op *op, enum scn_op_kind kind)
{
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->def = op->task = op->task2 = op->statref = op->pin = op->swap = op->dev = op->uffd = -1;
	op->thread = -1;
	op->fdsym = op->src_fdsym = -1;
	op->prio = -1;
	op->fd = op->src_fd = -1;
	op->addr.sym = op->addr2.sym = -1;
	op->check = -1;
}

static struct scn_op *op_new(struct scn_parser *p, const char *line, size_t n)
{
	struct scn_script *s = p->s;
	struct scn_op *ops, *op;

	ops = realloc(s->ops, (s->nops + 1) * sizeof(*ops));
	if (!ops)
		return NULL;
	s->ops = ops;
	op = &ops[s->nops];
	scn_op_init(op, SCN_OP_MACHINE);	/* its keyword says which */
	op->line = p->line;
	/* trailing blanks and comments are not worth tracing */
	while (n && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
		n--;
	op->text = strndup(line, n);
	if (!op->text)
		return NULL;
	s->nops++;
	return op;
}

/*
 * The statements that give a value to a name, quoted, "and" or "or"
 * before the last: what "NAME =" may be followed by, for messages.
 */
static void naming_list(char *buf, size_t n, const char *last)
{
	const struct scn_cmd *c, *prev = NULL;
	size_t o = 0;

	buf[0] = '\0';
	for (c = scn_cmd_next(NULL); c; c = scn_cmd_next(c)) {
		/* "device D = attach": the name comes after the prefix */
		if (!(c->flags & SCN_CMD_NAMES) || strchr(c->name, ' '))
			continue;
		if (prev && o < n)
			o += snprintf(buf + o, n - o, "%s'%s'", o ? ", " : "", prev->name);
		prev = c;
	}
	if (prev && o < n)
		snprintf(buf + o, n - o, "%s'%s'", o ? last : "", prev->name);
}

/*
 * expect WHAT ..., device WHAT ...: each expectation and each device
 * statement is a statement of its own ("expect vmstat", "device read");
 * "device D = attach A" names its device before the word.
 */
static int parse_prefixed(struct scn_parser *p, struct scn_op *op, const char *prefix)
{
	size_t plen = strlen(prefix);
	const struct scn_cmd *c;
	struct scn_tok *t;
	char what[1024];
	size_t o;

	o = snprintf(what, sizeof(what), "what %s (", !strcmp(prefix, "expect") ? "to expect" : "it does");
	for (c = scn_cmd_next(NULL); c; c = scn_cmd_next(c))
		if (!strncmp(c->name, prefix, plen) && c->name[plen] == ' ' && o < sizeof(what))
			o += snprintf(what + o, sizeof(what) - o, "%s%s",
				      what[o - 1] == '(' ? "" : ", ", c->name + plen + 1);
	if (o < sizeof(what))
		snprintf(what + o, sizeof(what) - o, ")");
	p->name = NULL;
	if (p->i + 1 < p->lx.ntok && scn_tok_is(&p->lx.tok[p->i + 1], "=")) {
		p->name = &p->lx.tok[p->i];
		p->i += 2;
	}
	t = scn_need_word(p, what);
	if (!t)
		return -1;
	c = scn_cmd_find_prefixed(prefix, t);
	if (!c)
		return scn_perr(p, t->col, "unknown %s " TOKF, !strcmp(prefix, "expect") ? "expectation" :
				"statement", TOKA(t));
	if (p->name && !(c->flags & SCN_CMD_NAMES))
		return scn_perr(p, p->name->col, "'%s' gives no value to a name", c->name);
	if (!p->name && (c->flags & SCN_CMD_NAMED))
		return scn_perr(p, t->col, "'%s' needs a name: %s NAME = %s ...", c->name, prefix, c->name + plen + 1);
	p->kw = t;
	op->kind = c->kind;
	return c->parse(p, op);
}

static int parse_statement(struct scn_parser *p, const char *line, size_t n)
{
	struct scn_tok *kw = &p->lx.tok[0], *name = NULL;
	const struct scn_cmd *c;
	struct scn_op *op;
	char names[256];

	op = op_new(p, line, n);
	if (!op)
		return scn_perr(p, 1, "out of memory");
	if (p->lx.ntok >= 2 && scn_tok_is(&p->lx.tok[1], "=")) {
		name = kw;
		if (p->lx.ntok < 3) {
			naming_list(names, sizeof(names), " or ");
			return scn_perr(p, p->lx.end_col, "missing %s after '='", names);
		}
		kw = &p->lx.tok[2];
		p->i = 3;
		c = scn_cmd_find(kw);
		if (!c || !(c->flags & SCN_CMD_NAMES)) {
			naming_list(names, sizeof(names), " and ");
			return scn_perr(p, kw->col, "only %s give a value to a name", names);
		}
		p->seen_stmt = true;
	} else {
		p->i = 1;
		if (scn_tok_is(kw, "expect") || scn_tok_is(kw, "device") || scn_tok_is(kw, "migrate") ||
		    scn_tok_is(kw, "uffd")) {
			p->seen_stmt = true;
			return parse_prefixed(p, op, scn_tok_is(kw, "expect") ? "expect" :
						     scn_tok_is(kw, "device") ? "device" :
						     scn_tok_is(kw, "uffd") ? "uffd" : "migrate");
		}
		c = scn_cmd_find(kw);
		if (!c || (c->flags & SCN_CMD_NAMED)) {
			if (kw->type == SCN_TOK_STRING)
				return scn_perr(p, kw->col, "a statement starts with a command, "
						"not a string");
			return scn_perr(p, kw->col, "unknown command " TOKF, TOKA(kw));
		}
		if (!(c->flags & SCN_CMD_FIRST))
			p->seen_stmt = true;
	}
	p->kw = kw;
	p->name = name;
	op->kind = c->kind;
	return c->parse(p, op);
}

/*
 * A line: its thread's label, if it has one, then the statement; in a
 * threads block, whatever names the statement changed are its thread's
 * for the rest of the block.
 */
static int parse_line(struct scn_parser *p, const char *line, size_t n)
{
	enum scn_sym_kind *kinds = NULL;
	int nsyms = p->s->nsyms, ret;

	if (scn_thread_label(p) < 0)
		return -1;
	if (p->thread >= 0) {
		kinds = malloc((nsyms + 1) * sizeof(*kinds));
		if (!kinds)
			return scn_perr(p, 1, "out of memory");
		for (int i = 0; i < nsyms; i++)
			kinds[i] = p->s->syms[i].kind;
	}
	ret = parse_statement(p, line, n);
	if (!ret && p->thread >= 0) {
		p->s->ops[p->s->nops - 1].thread = p->thread;
		ret = scn_block_changed(p, kinds, nsyms);
	}
	free(kinds);
	return ret;
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
		free(s->ops[i].sys_value);
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
	struct scn_parser p = { .file = name, .err = err ? err : stderr, .block = -1, .thread = -1 };
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
			ret = scn_perr(&p, p.lx.err_col, "%s", p.lx.err);
		else if (p.lx.ntok)
			ret = parse_line(&p, line, n);
	}
	if (ret == 0)
		ret = scn_block_unclosed(&p);
	scn_lex_free(&p.lx);
	if (ret < 0) {
		scn_script_free(p.s);
		return -1;
	}
	*out = p.s;
	return 0;
}
