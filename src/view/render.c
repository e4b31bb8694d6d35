/*
 * render.c - what every picture shares: the DOT text in a memory stream,
 * the objects drawn once, escaping, and the way out, as DOT or laid out
 * and rendered by Graphviz's own library (libgvc, libcgraph).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

#include "view/view.h"

int view_begin(struct view *v, struct mml_machine *m, enum mml_picture_format fmt, const char *title)
{
	if (fmt != MML_PICTURE_DOT && fmt != MML_PICTURE_SVG && fmt != MML_PICTURE_PNG)
		return -EINVAL;
	memset(v, 0, sizeof(*v));
	v->m = m;
	vm_settle(m);
	v->f = open_memstream(&v->buf, &v->len);
	if (!v->f)
		return -ENOMEM;
	fprintf(v->f, "digraph mmlab {\n"
		"\tgraph [rankdir=LR, fontname=\"Helvetica\", fontsize=12, labelloc=t, label=<");
	view_esc(v->f, title);
	fprintf(v->f, ">];\n"
		"\tnode [shape=plaintext, fontname=\"Helvetica\", fontsize=10];\n"
		"\tedge [fontname=\"Helvetica\", fontsize=9];\n");
	return 0;
}

unsigned view_key(struct view *v, enum view_kind kind, uint64_t key, bool *fresh)
{
	for (unsigned i = 0; i < v->nseen; i++)
		if (v->seen[i].kind == kind && v->seen[i].key == key) {
			*fresh = false;
			return i + 1;
		}
	if (v->nseen == v->seen_cap) {
		unsigned cap = v->seen_cap ? 2 * v->seen_cap : 64;
		struct view_seen *n = realloc(v->seen, cap * sizeof(*n));

		if (!n) {
			v->nomem = true;
			*fresh = false;
			return 0;
		}
		v->seen = n;
		v->seen_cap = cap;
	}
	v->seen[v->nseen].kind = kind;
	v->seen[v->nseen++].key = key;
	*fresh = true;
	return v->nseen;
}

void view_esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '&')
			fputs("&amp;", f);
		else if (c == '<')
			fputs("&lt;", f);
		else if (c == '>')
			fputs("&gt;", f);
		else if (c == '"')
			fputs("&quot;", f);
		else if (c < 0x20 || c >= 0x7f)	/* a name's bytes, whatever they are, never break the XML */
			fprintf(f, "&#x%x;", c >= 0x7f ? 0xfffd : 0x2420 + c);
		else
			fputc(c, f);
	}
}

void view_note(struct view *v, const char *name, const char *fmt, ...)
{
	char text[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	fprintf(v->f, "\t%s [shape=note, style=filled, fillcolor=\"#fff3c4\", label=<", name);
	view_esc(v->f, text);
	fprintf(v->f, ">];\n");
}

/*
 * Graphviz's context, made at the first picture and kept: its pango
 * plugin (2.42) remembers the last font by a pointer into the context's
 * font table, so a second context reads what the first one freed.  One
 * context for the process, as the dot command has; Graphviz is not
 * thread-safe, so neither is rendering (mmlab.h says so).
 */
static GVC_t *gv_context(void)
{
	static GVC_t *gvc;

	if (!gvc)
		gvc = gvContext();
	return gvc;
}

/* Lay the graph out with dot and render it. */
static int render(const char *dot, enum mml_picture_format fmt, FILE *out)
{
	GVC_t *gvc = gv_context();
	char *data = NULL;
	unsigned int len = 0;
	Agraph_t *g;
	int ret = -EIO;

	if (!gvc)
		return -ENOMEM;
	g = agmemread(dot);
	if (!g)
		return -EIO;
	if (gvLayout(gvc, g, "dot") == 0) {
		if (gvRenderData(gvc, g, fmt == MML_PICTURE_SVG ? "svg" : "png", &data, &len) == 0) {
			ret = fwrite(data, 1, len, out) == len ? 0 : -EIO;
			gvFreeRenderData(data);
		}
		gvFreeLayout(gvc, g);
	}
	agclose(g);
	return ret;
}

int view_end(struct view *v, int err, enum mml_picture_format fmt, FILE *out)
{
	fprintf(v->f, "}\n");
	if (fclose(v->f) || !v->buf)
		err = err ? err : -ENOMEM;
	if (v->nomem && !err)
		err = -ENOMEM;
	if (!err) {
		if (fmt == MML_PICTURE_DOT)
			err = fwrite(v->buf, 1, v->len, out) == v->len ? 0 : -EIO;
		else
			err = render(v->buf, fmt, out);
	}
	free(v->buf);
	free(v->seen);
	return err;
}
