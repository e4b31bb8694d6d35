/*
 * test_json.c - the JSON writer of src/lib/json.c: commas and brackets
 * as calls nest, every escape, UTF-8 passed through when valid and each
 * bad byte (overlong, surrogate, past U+10FFFF, cut short) replaced by
 * U+FFFD, numbers, and nesting too deep refused rather than written
 * wrong.  tests/json.sh checks the commands' documents with a real JSON
 * parser; this pins the writer's exact bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "lib/json.h"

static char *buf;
static size_t len;
static FILE *f;

static struct json *open_writer(struct json *j)
{
	f = open_memstream(&buf, &len);
	json_init(j, f);
	return j;
}

/* What the writer wrote, compared with want; the buffer freed. */
static bool written(const char *want, int line)
{
	bool ok;

	fclose(f);
	ok = harness_checkf(__FILE__, line, !strcmp(buf, want), "wrote '%s', expected '%s'", buf, want);
	free(buf);
	buf = NULL;
	return ok;
}

#define WRITTEN(want) written(want, __LINE__)

TEST(json_nesting)
{
	struct json j;

	open_writer(&j);
	json_object(&j, NULL);
	json_str(&j, "a", "x");
	json_array(&j, "b");
	json_int(&j, NULL, -1);
	json_uint(&j, NULL, UINT64_MAX);
	json_object(&j, NULL);
	json_end(&j);
	json_array(&j, NULL);
	json_end(&j);
	json_end(&j);
	json_bool(&j, "c", true);
	json_bool(&j, "d", false);
	json_null(&j, "e");
	json_str(&j, "f", NULL);
	json_double(&j, "g", 0.5);
	json_double(&j, "h", 1.0 / 0.0);
	json_end(&j);
	WRITTEN("{\"a\":\"x\",\"b\":[-1,18446744073709551615,{},[]],\"c\":true,\"d\":false,"
		"\"e\":null,\"f\":null,\"g\":0.5,\"h\":null}\n");
}

TEST(json_escapes)
{
	struct json j;

	open_writer(&j);
	json_array(&j, NULL);
	json_str(&j, NULL, "q\"b\\n\nt\tc\x01\x1f\x7f/");
	json_strn(&j, NULL, "a\0b", 3);
	json_end(&j);
	WRITTEN("[\"q\\\"b\\\\n\\nt\\tc\\u0001\\u001f\\u007f/\",\"a\\u0000b\"]\n");
	/* a key is escaped as a value is */
	open_writer(&j);
	json_object(&j, NULL);
	json_int(&j, "k\"", 1);
	json_end(&j);
	WRITTEN("{\"k\\\"\":1}\n");
}

TEST(json_utf8)
{
	struct json j;

	open_writer(&j);
	json_array(&j, NULL);
	/* valid: 2, 3 and 4 bytes, the last code point */
	json_str(&j, NULL, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf");
	/* overlong 2 and 3 bytes, a surrogate, past U+10FFFF, a stray continuation, cut short */
	json_str(&j, NULL, "\xc0\xaf|\xe0\x80\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\x80|\xe2\x82");
	json_end(&j);
	WRITTEN("[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\","
		"\"\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd\\ufffd|"
		"\\ufffd|\\ufffd\\ufffd\"]\n");
}

TEST(json_too_deep)
{
	struct json j;
	int i;

	open_writer(&j);
	for (i = 0; i < JSON_MAX_DEPTH + 1; i++)
		json_array(&j, NULL);
	CHECK(j.broken);
	json_int(&j, NULL, 1);
	for (i = 0; i < JSON_MAX_DEPTH + 1; i++)
		json_end(&j);
	fclose(f);
	/* it stopped where it found out, rather than close what it had not opened */
	CHECK_EQ((long long)len, JSON_MAX_DEPTH);
	free(buf);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
