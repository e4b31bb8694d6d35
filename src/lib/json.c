/*
 * json.c - the JSON writer of json.h.  Not from Linux: the kernel has no
 * JSON; this is what mmlab's --json output is written with.
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "lib/json.h"

/* The comma before a value and its key, if it is an object's member. */
static void write_string(struct json *j, const unsigned char *s, size_t n);

static void json_key(struct json *j, const char *key)
{
	if (j->depth) {
		if (j->has_items[j->depth - 1])
			fputc(',', j->f);
		j->has_items[j->depth - 1] = true;
	}
	if (key) {
		write_string(j, (const unsigned char *)key, strlen(key));
		fputc(':', j->f);
	}
}

/*
 * The length of the valid UTF-8 sequence at s (of at most n bytes), or
 * 0: overlong forms, surrogates and code points past U+10FFFF are not
 * valid (RFC 3629), and a JSON reader would refuse them.
 */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (n < len)
		return 0;
	cp = s[0] & (0x7f >> len);
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static void write_string(struct json *j, const unsigned char *s, size_t n)
{
	size_t i = 0, len;

	fputc('"', j->f);
	while (i < n) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\') {
			fputc('\\', j->f);
			fputc(c, j->f);
		} else if (c == '\n') {
			fputs("\\n", j->f);
		} else if (c == '\t') {
			fputs("\\t", j->f);
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(j->f, "\\u%04x", c);
		} else if (c >= 0x80) {
			len = utf8_len(s + i, n - i);
			if (!len) {
				fputs("\\ufffd", j->f);
				i++;
				continue;
			}
			fwrite(s + i, 1, len, j->f);
			i += len;
			continue;
		} else {
			fputc(c, j->f);
		}
		i++;
	}
	fputc('"', j->f);
}

void json_strn(struct json *j, const char *key, const char *s, size_t n)
{
	if (j->broken)
		return;
	json_key(j, key);
	write_string(j, (const unsigned char *)s, n);
}

void json_str(struct json *j, const char *key, const char *s)
{
	if (!s) {
		json_null(j, key);
		return;
	}
	json_strn(j, key, s, strlen(s));
}

static void json_open(struct json *j, const char *key, char c)
{
	if (j->broken)
		return;
	if (j->depth == JSON_MAX_DEPTH) {
		j->broken = true;
		return;
	}
	json_key(j, key);
	fputc(c, j->f);
	j->closer[j->depth] = c == '{' ? '}' : ']';
	j->has_items[j->depth++] = false;
}

void json_object(struct json *j, const char *key)
{
	json_open(j, key, '{');
}

void json_array(struct json *j, const char *key)
{
	json_open(j, key, '[');
}

void json_end(struct json *j)
{
	if (j->broken || !j->depth)
		return;
	fputc(j->closer[--j->depth], j->f);
	if (!j->depth)
		fputc('\n', j->f);
}

void json_int(struct json *j, const char *key, int64_t v)
{
	if (j->broken)
		return;
	json_key(j, key);
	fprintf(j->f, "%" PRId64, v);
}

void json_uint(struct json *j, const char *key, uint64_t v)
{
	if (j->broken)
		return;
	json_key(j, key);
	fprintf(j->f, "%" PRIu64, v);
}

/* JSON has no NaN or infinity: null stands for them. */
void json_double(struct json *j, const char *key, double v)
{
	if (j->broken)
		return;
	json_key(j, key);
	if (isfinite(v))
		fprintf(j->f, "%.15g", v);
	else
		fputs("null", j->f);
}

void json_bool(struct json *j, const char *key, bool v)
{
	if (j->broken)
		return;
	json_key(j, key);
	fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j, const char *key)
{
	if (j->broken)
		return;
	json_key(j, key);
	fputs("null", j->f);
}
