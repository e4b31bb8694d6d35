/*
 * seq_file.c - a view's fields as Linux's text or as one JSON document
 * (seq_file.h).  Linux's seq_file buffers pages for read(); mmlab's views
 * write straight to a FILE, so this is only the formatting half of it.
 */
#include <errno.h>

#include "fs/seq_file.h"

void seq_open(struct seq_file *m, FILE *f, bool json)
{
	m->f = f;
	m->json = json;
	json_init(&m->j, f);
	if (json)
		json_object(&m->j, NULL);
}

int seq_close(struct seq_file *m)
{
	if (m->json)
		while (m->j.depth)
			json_end(&m->j);
	return ferror(m->f) || m->j.broken ? -EIO : 0;
}

void seq_list_begin(struct seq_file *m, const char *name)
{
	if (m->json)
		json_array(&m->j, name);
}

void seq_list_end(struct seq_file *m)
{
	if (m->json)
		json_end(&m->j);
}

void seq_record_begin(struct seq_file *m)
{
	if (m->json)
		json_object(&m->j, NULL);
}

void seq_record_end(struct seq_file *m)
{
	if (m->json)
		json_end(&m->j);
}

/* Linux pads the name with its colon to 16 columns and the number to 8. */
static void put_padded(struct seq_file *m, const char *name, long long v, const char *unit)
{
	char label[48];

	snprintf(label, sizeof(label), "%s:", name);
	fprintf(m->f, "%-16s%8lld%s\n", label, v, unit);
}

void seq_put_kb(struct seq_file *m, const char *name, uint64_t bytes)
{
	if (m->json)
		json_uint(&m->j, name, bytes >> 10);
	else
		put_padded(m, name, (long long)(bytes >> 10), " kB");
}

void seq_put_num(struct seq_file *m, const char *name, int64_t v)
{
	if (m->json)
		json_int(&m->j, name, v);
	else
		put_padded(m, name, v, "");
}

void seq_put_decimal(struct seq_file *m, const char *name, int64_t v)
{
	if (m->json)
		json_int(&m->j, name, v);
	else
		fprintf(m->f, "%s %lld\n", name, (long long)v);
}

void seq_json_uint(struct seq_file *m, const char *name, uint64_t v)
{
	if (m->json)
		json_uint(&m->j, name, v);
}

void seq_json_str(struct seq_file *m, const char *name, const char *s)
{
	if (!m->json)
		return;
	if (s)
		json_str(&m->j, name, s);
	else
		json_null(&m->j, name);
}

void seq_json_bool(struct seq_file *m, const char *name, bool v)
{
	if (m->json)
		json_bool(&m->j, name, v);
}

void seq_words_begin(struct seq_file *m, const char *name)
{
	if (m->json)
		json_array(&m->j, name);
	else
		fprintf(m->f, "%s:", name);
}

void seq_word(struct seq_file *m, const char *word)
{
	if (m->json)
		json_str(&m->j, NULL, word);
	else
		fprintf(m->f, " %s", word);
}

void seq_words_end(struct seq_file *m)
{
	if (m->json)
		json_end(&m->j);
	else
		fputc('\n', m->f);
}
