/*
 * compare.c - two observation logs of one scenario, statement by
 * statement, and a side-by-side report of where they part.
 *
 * Two observations agree when they say the same thing (their keys, or
 * their texts), or when the file allows several outcomes and both are
 * among them.  A skip on either side is a skip, never an agreement; a
 * back end's own failure is a disagreement.  Agreeing on something the
 * file did not expect is reported too: the scenario, or both kernels'
 * model of it, is wrong.
 */
#include <string.h>

#include "lib/json.h"
#include "native/conform.h"

enum verdict { V_NONE, V_AGREE, V_SKIP, V_DISAGREE };

static const char *key_of(const struct cf_obs *o)
{
	return o->key ? o->key : o->text ? o->text : "";
}

static enum verdict judge(const struct cf_obs *a, const struct cf_obs *b, const char **why)
{
	*why = NULL;
	if (a->state == CF_NONE && b->state == CF_NONE)
		return V_NONE;
	if (a->state == CF_ERROR || b->state == CF_ERROR) {
		*why = "the run failed";
		return V_DISAGREE;
	}
	if (a->state == CF_SKIPPED || b->state == CF_SKIPPED)
		return V_SKIP;
	if (a->state != b->state) {
		*why = "only one side observed something";
		return V_DISAGREE;
	}
	if (!strcmp(key_of(a), key_of(b))) {
		if (a->holds || b->holds)
			return V_AGREE;
		*why = "both differ from the scenario's expectation";
		return V_DISAGREE;
	}
	if (a->lenient && a->holds && b->holds)
		return V_AGREE;
	return V_DISAGREE;
}

static const char *shown(const struct cf_obs *o)
{
	switch (o->state) {
	case CF_NONE:
		return "-";
	case CF_SKIPPED:
	case CF_ERROR:
	case CF_SEEN:
		return o->text ? o->text : "?";
	}
	return "?";
}

/*
 * "!" after what a side saw that the file did not expect: with -v it
 * tells which side is wrong while the other cannot run the statement
 * (a skip), or a scenario written for a kernel that is not there yet.
 */
static const char *unexpected(const struct cf_obs *o)
{
	return o->state == CF_SEEN && !o->holds ? " !" : "";
}

static void side_by_side(FILE *out, const char *tag, const struct cf_obs *a,
			 const struct cf_obs *b, const char *why)
{
	char sim[256];

	snprintf(sim, sizeof(sim), "%s%s", shown(a), unexpected(a));
	fprintf(out, "    %-9s mmlab: %-40s | linux: %s%s%s%s%s\n", tag, sim,
		shown(b), unexpected(b), why ? "  (" : "", why ? why : "", why ? ")" : "");
}

static const char *skip_reason(const struct cf_obs *a, const struct cf_obs *b,
			       const char **side)
{
	const struct cf_obs *o = b->state == CF_SKIPPED ? b : a;

	*side = o == b ? "linux" : "mmlab";
	return o->text ? o->text : "?";
}

/* The first statement the sides disagree on, for --json. */
static void difference_json(struct json *j, const struct scn_op *op, const struct cf_obs *a, const struct cf_obs *b,
			    const char *why)
{
	json_object(j, "first_difference");
	json_uint(j, "line", op->line);
	json_str(j, "statement", op->text);
	json_str(j, "mmlab", shown(a));
	json_str(j, "linux", shown(b));
	json_str(j, "why", why);
	json_end(j);
}

int cf_compare(const struct cf_log *sim, const struct cf_log *host, FILE *out,
	       bool verbose, struct cf_totals *t, struct json *j)
{
	const struct scn_script *s = sim->s;
	int i, agreed = 0, skipped = 0, disagreed = 0, reasons = 0;
	const char *why, *side;

	if (j) {
		/* every skip with its reason; the first difference after them */
		json_array(j, "skips");
		for (i = 0; i < s->nops; i++) {
			const struct cf_obs *a = &sim->obs[i], *b = &host->obs[i];

			if (judge(a, b, &why) != V_SKIP)
				continue;
			json_object(j, NULL);
			json_uint(j, "line", s->ops[i].line);
			json_str(j, "side", (skip_reason(a, b, &side), side));
			json_str(j, "reason", skip_reason(a, b, &side));
			json_end(j);
		}
		json_end(j);
		for (i = 0; i < s->nops && judge(&sim->obs[i], &host->obs[i], &why) != V_DISAGREE; i++)
			;
		if (i < s->nops)
			difference_json(j, &s->ops[i], &sim->obs[i], &host->obs[i], why);
		else
			json_null(j, "first_difference");
		json_str(j, "end", sim->end || host->end ? (sim->end ? sim->end : host->end) : NULL);
	}
	for (i = 0; i < s->nops; i++) {
		const struct cf_obs *a = &sim->obs[i], *b = &host->obs[i];
		enum verdict v = judge(a, b, &why);

		if (v == V_NONE)
			continue;
		agreed += v == V_AGREE;
		skipped += v == V_SKIP;
		disagreed += v == V_DISAGREE;
		if (v == V_DISAGREE || verbose) {
			fprintf(out, "  %s:%u: %s\n", s->name, s->ops[i].line, s->ops[i].text);
			side_by_side(out, v == V_AGREE ? "agree" : v == V_SKIP ?
				     "skipped" : "DIFFER", a, b, why);
		} else if (v == V_SKIP && reasons < 3) {
			/* the first few reasons; -v lists every skip */
			const char *r = skip_reason(a, b, &side);

			if (strncmp(r, "after line", 10) || reasons == 0)
				fprintf(out, "  %s:%u: skipped on %s: %s\n", s->name,
					s->ops[i].line, side, r);
			reasons++;
		}
	}
	if (sim->end || host->end) {
		disagreed++;
		fprintf(out, "  %s: at the end: %s%s%s\n", s->name, sim->end ? sim->end : "",
			sim->end && host->end ? "; " : "", host->end ? host->end : "");
	}
	t->agreed += agreed;
	t->skipped += skipped;
	t->disagreed += disagreed;
	if (disagreed)
		t->files_disagreed++;
	else if (agreed)
		t->files_agreed++;
	else
		t->files_skipped++;
	fprintf(out, "%s %s: %d agreed, %d skipped, %d disagreed\n",
		disagreed ? "DISAGREE" : agreed ? "AGREE" : "SKIP", s->name,
		agreed, skipped, disagreed);
	if (j) {
		json_str(j, "verdict", disagreed ? "disagree" : agreed ? "agree" : "skip");
		json_object(j, "observations");
		json_int(j, "agreed", agreed);
		json_int(j, "skipped", skipped);
		json_int(j, "disagreed", disagreed);
		json_end(j);
	}
	return disagreed ? 1 : 0;
}
