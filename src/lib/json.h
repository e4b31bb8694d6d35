/*
 * json.h - a small JSON writer: what `--json` prints, from the command
 * line and from the layers below it (stress, the scenario runner, the
 * fuzzer), all through this one emitter so that escaping is done once.
 *
 * Contract:
 *  - Calls nest as the document does: json_object/json_array open a
 *    container, json_end closes the innermost one.  Inside an object
 *    every value has a key; inside an array (or at the top) key is NULL.
 *    The writer puts the commas; json_end of the outermost container
 *    ends the line, so that each document is one line (several runs'
 *    documents can be concatenated as JSON Lines).
 *  - Strings are byte strings from C: quotes, backslashes and control
 *    bytes are escaped, and a byte that is not part of valid UTF-8
 *    becomes U+FFFD, so that the output is always valid JSON whatever
 *    the bytes (a scenario's text, a divergence's message).
 *  - Nesting deeper than JSON_MAX_DEPTH is a caller's bug: the writer
 *    stops writing (json->broken) rather than emit a wrong document.
 *  - Nothing here allocates; errors of the FILE are the caller's to see
 *    with ferror().
 */
#ifndef MML_LIB_JSON_H
#define MML_LIB_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
	FILE *f;
	int depth;			/* open containers */
	bool broken;			/* nested too deep: nothing more is written */
	bool has_items[JSON_MAX_DEPTH];	/* a comma is due before the next value */
	char closer[JSON_MAX_DEPTH];	/* '}' or ']' */
};

static inline void json_init(struct json *j, FILE *f)
{
	*j = (struct json){ .f = f };
}

void json_object(struct json *j, const char *key);
void json_array(struct json *j, const char *key);
void json_end(struct json *j);

void json_str(struct json *j, const char *key, const char *s);
/* The first len bytes of s (which need not end in a NUL) */
void json_strn(struct json *j, const char *key, const char *s, size_t len);
void json_int(struct json *j, const char *key, int64_t v);
void json_uint(struct json *j, const char *key, uint64_t v);
void json_double(struct json *j, const char *key, double v);
void json_bool(struct json *j, const char *key, bool v);
void json_null(struct json *j, const char *key);

#endif /* MML_LIB_JSON_H */
