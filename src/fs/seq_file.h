/*
 * seq_file.h - where a /proc view's fields go (Linux's fs/seq_file.c, for
 * what the views need of it).
 *
 * Linux's seq_file only makes text.  mmlab's views can also be read as
 * JSON (mml_show_smaps_json ...), and both forms must come from the same
 * gathering code, so a view is written once, field by field, against
 * this interface, and the seq_file decides the form:
 *
 *  - text: exactly what Linux's file holds (the helpers print Linux's
 *    formats: "Name:   123 kB" padded as show_val_kb() and SEQ_PUT_DEC
 *    pad, "name 123" as /proc/vmstat);
 *  - JSON: one document (docs/json.md, docs/schema/view-*.json): each
 *    field a member named as the file names it, numbers as numbers (kB
 *    values in kB, as the file), a list of records (VMAs, pagemap
 *    entries) an array of objects.
 *
 * Contract: seq_open(), then the view's fields, then seq_close(), which
 * ends the JSON document (its one line) and returns 0 or -EIO if the
 * FILE failed.  Records and lists nest as the JSON does; in text they
 * print nothing of their own.  A view that fails half-way still closes
 * its seq_file, so that the JSON is one whole document; the error is the
 * call's result.  Nothing here takes a lock or allocates.
 */
#ifndef MML_FS_SEQ_FILE_H
#define MML_FS_SEQ_FILE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/json.h"

struct seq_file {
	FILE *f;
	bool json;	/* the fields as one JSON document, not Linux's text */
	struct json j;
};

void seq_open(struct seq_file *m, FILE *f, bool json);
int  seq_close(struct seq_file *m);

/* A list of records ("vmas", "entries"), and a record in it. */
void seq_list_begin(struct seq_file *m, const char *name);
void seq_list_end(struct seq_file *m);
void seq_record_begin(struct seq_file *m);
void seq_record_end(struct seq_file *m);

/* "Name:        123 kB" (bytes shown in kB), as smaps and meminfo print sizes. */
void seq_put_kb(struct seq_file *m, const char *name, uint64_t bytes);
/* "Name:        123", the same padding without a unit (smaps' THPeligible). */
void seq_put_num(struct seq_file *m, const char *name, int64_t v);
/* "name 123", as /proc/vmstat prints a counter. */
void seq_put_decimal(struct seq_file *m, const char *name, int64_t v);
/*
 * Members of the JSON form alone, for a view whose text is a line of
 * its own format (maps' first line, pagemap's entries): the caller
 * prints that line itself when !m->json.
 */
void seq_json_uint(struct seq_file *m, const char *name, uint64_t v);
void seq_json_str(struct seq_file *m, const char *name, const char *s);	/* NULL: null */
void seq_json_bool(struct seq_file *m, const char *name, bool v);
/* "Name: a b c", a list of words (smaps' VmFlags); an array of strings in JSON. */
void seq_words_begin(struct seq_file *m, const char *name);
void seq_word(struct seq_file *m, const char *word);
void seq_words_end(struct seq_file *m);

#endif /* MML_FS_SEQ_FILE_H */
