/*
 * lexer.h - splitting one scenario line into tokens.
 *
 * A token is a word (a run of characters other than blanks, '"' and '#')
 * or a double-quoted string with C escapes.  '#' outside a string starts
 * a comment that runs to the end of the line.
 */
#ifndef MMLAB_SCENARIO_LEXER_H
#define MMLAB_SCENARIO_LEXER_H

#include <stddef.h>

enum scn_tok_type { SCN_TOK_WORD, SCN_TOK_STRING };

struct scn_tok {
	enum scn_tok_type type;
	const char *s;		/* WORD: the text in the line (not terminated) */
	size_t n;
	char *str;		/* STRING: decoded bytes, malloc'd, NUL-terminated */
	size_t strn;		/* STRING: decoded length (may hold NULs) */
	unsigned col;		/* 1-based column of the first character */
};

struct scn_lexer {
	struct scn_tok *tok;
	int ntok, cap;
	unsigned end_col;	/* column just past the last token: "missing ..." */
	unsigned err_col;	/* on error: where, and why */
	const char *err;
};

/* 0, or -1 with lx->err and lx->err_col set. */
int scn_lex_line(struct scn_lexer *lx, const char *line, size_t n);
void scn_lex_reset(struct scn_lexer *lx);
void scn_lex_free(struct scn_lexer *lx);

#endif /* MMLAB_SCENARIO_LEXER_H */
