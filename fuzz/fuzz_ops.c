/*
 * fuzz_ops.c - libFuzzer target: bytes decoded into an operation sequence
 * by the differential fuzzer (src/oracle/fuzz.c) and run against both the
 * library and the reference model.  Every byte string is a valid program,
 * so the fuzzer spends its time on behaviour, not on syntax.
 *
 * A divergence (a wrong observation, a broken invariant, a leak) has been
 * printed by fuzz_run_bytes(); abort() turns it into a libFuzzer crash
 * with the input saved.
 *
 * Built by `make fuzz-targets` (build/fuzz/fuzz_ops), seed corpus in
 * fuzz/corpus/ops/.  docs/testing.md, "Fuzzing at scale".
 */
#include <stdlib.h>

#include "oracle/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fuzz_run_bytes(data, size) == 1)
		abort();
	return 0;
}
