/*
 * lexer.c - tokens of one scenario line.
 *
 * Lines may be of any length and contain any byte; a NUL or another
 * control character outside a string is reported, never trusted.
 */
#include <stdlib.h>
#include <string.h>

#include "scenario/lexer.h"

static int is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int lex_error(struct scn_lexer *lx, size_t at, const char *msg)
{
	lx->err_col = (unsigned)at + 1;
	lx->err = msg;
	return -1;
}

static struct scn_tok *tok_push(struct scn_lexer *lx)
{
	struct scn_tok *t;

	if (lx->ntok == lx->cap) {
		int cap = lx->cap ? lx->cap * 2 : 16;
		struct scn_tok *nt = realloc(lx->tok, cap * sizeof(*nt));

		if (!nt)
			return NULL;
		lx->tok = nt;
		lx->cap = cap;
	}
	t = &lx->tok[lx->ntok++];
	memset(t, 0, sizeof(*t));
	return t;
}

/* Decode "..." starting at line[*pos] (the opening quote) into t. */
static int lex_string(struct scn_lexer *lx, struct scn_tok *t,
		      const char *line, size_t n, size_t *pos)
{
	size_t i = *pos + 1, o = 0;
	char *buf = malloc(n - *pos);	/* decoding never grows the text */

	if (!buf)
		return lex_error(lx, *pos, "out of memory");
	t->str = buf;
	while (i < n && line[i] != '"') {
		unsigned char c = line[i];

		/* a raw control byte is a mistake; \n, \0, \xHH say it */
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return lex_error(lx, i, c ? "control character in string"
						  : "NUL byte in string");
		if (c != '\\') {
			buf[o++] = c;
			i++;
			continue;
		}
		if (i + 1 >= n)
			return lex_error(lx, i, "unterminated string");
		switch (line[i + 1]) {
		case 'n': buf[o++] = '\n'; i += 2; break;
		case 't': buf[o++] = '\t'; i += 2; break;
		case 'r': buf[o++] = '\r'; i += 2; break;
		case '0': buf[o++] = '\0'; i += 2; break;
		case '\\': buf[o++] = '\\'; i += 2; break;
		case '"': buf[o++] = '"'; i += 2; break;
		case 'x': {
			int hi = i + 2 < n ? hexval(line[i + 2]) : -1;
			int lo = i + 3 < n ? hexval(line[i + 3]) : -1;

			if (hi < 0 || lo < 0)
				return lex_error(lx, i, "\\x needs two hex digits");
			buf[o++] = (char)(hi << 4 | lo);
			i += 4;
			break;
		}
		default:
			return lex_error(lx, i, "unknown escape in string");
		}
	}
	if (i >= n)
		return lex_error(lx, *pos, "unterminated string");
	buf[o] = '\0';
	t->strn = o;
	*pos = i + 1;
	return 0;
}

void scn_lex_reset(struct scn_lexer *lx)
{
	int i;

	for (i = 0; i < lx->ntok; i++)
		free(lx->tok[i].str);
	lx->ntok = 0;
	lx->err = NULL;
	lx->err_col = 0;
	lx->end_col = 1;
}

int scn_lex_line(struct scn_lexer *lx, const char *line, size_t n)
{
	size_t i = 0;

	scn_lex_reset(lx);
	while (i < n) {
		unsigned char c = line[i];
		struct scn_tok *t;

		if (is_blank(c)) {
			i++;
			continue;
		}
		if (c == '#')
			break;
		if (c < 0x20 || c == 0x7f)
			return lex_error(lx, i, c ? "control character in input"
						  : "NUL byte in input");
		t = tok_push(lx);
		if (!t)
			return lex_error(lx, i, "out of memory");
		t->col = (unsigned)i + 1;
		if (c == '"') {
			t->type = SCN_TOK_STRING;
			t->s = line + i;
			if (lex_string(lx, t, line, n, &i) < 0)
				return -1;
			/* "abc"def is a typo, not two tokens */
			if (i < n && !is_blank(line[i]) && line[i] != '#')
				return lex_error(lx, i, "expected a blank after a string");
		} else {
			t->type = SCN_TOK_WORD;
			t->s = line + i;
			while (i < n && !is_blank(line[i]) && line[i] != '"' &&
			       line[i] != '#') {
				unsigned char d = line[i];

				if (d < 0x20 || d == 0x7f)
					return lex_error(lx, i, d ? "control character in input"
								  : "NUL byte in input");
				i++;
			}
			t->n = (size_t)(line + i - t->s);
		}
		lx->end_col = (unsigned)i + 1;
	}
	return 0;
}

void scn_lex_free(struct scn_lexer *lx)
{
	scn_lex_reset(lx);
	free(lx->tok);
	lx->tok = NULL;
	lx->cap = 0;
}
