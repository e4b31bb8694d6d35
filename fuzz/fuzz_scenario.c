/*
 * fuzz_scenario.c - libFuzzer target: bytes as a scenario file, through the
 * parser and then the interpreter against a small simulated machine.
 *
 * What counts as a finding: a crash or sanitizer report (the parser and
 * interpreter must answer any input with a status), a hang or runaway
 * allocation, and any report by the library itself - a broken invariant,
 * a stale translation, a leak at teardown.  Failed expectations are not
 * findings: random text expects wrong things all the time.
 *
 * Built by `make fuzz-targets` (build/fuzz/fuzz_scenario), seed corpus in
 * fuzz/corpus/scenario/.  docs/testing.md, "Fuzzing at scale".
 */
#include <stdio.h>
#include <stdlib.h>

#include "mmlab.h"
#include "scenario/scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Small enough that one input costs well under a millisecond, large
 * enough that fork trees and COW still have room: 512 frames.  Reads,
 * writes and pagemap ranges up to 64 pages cover page-crossing cases;
 * what is longer only repeats them at host-memory cost.
 */
static const struct scn_limits limits = {
	.ram = 2ULL << 20,
	.io = 256ULL << 10,
	.statements = 512,
	.no_threads = true,
};

static FILE *sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scn_stats stats = { 0 };
	struct scn_opts o = {
		.quiet = true,
		.limits = &limits,
		.stats = &stats,
		.release_held = true,	/* a pin the file forgot is not a finding */
	};
	struct scn_script *s;

	/* "show" and diagnostics: run them, keep nothing */
	if (!sink) {
		sink = fopen("/dev/null", "w");
		if (!sink)
			abort();
	}
	o.out = sink;
	o.err = sink;
	if (scn_parse("fuzz.scn", (const char *)data, size, &s, sink) < 0)
		return 0;
	scn_exec(s, &o);
	scn_script_free(s);
	if (stats.reports || stats.free_ret) {
		fprintf(stderr, "fuzz_scenario: the library reported %ld problem(s), "
			"mml_machine_free returned %d\n", stats.reports, stats.free_ret);
		abort();
	}
	return 0;
}
