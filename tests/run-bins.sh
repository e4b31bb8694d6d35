#!/bin/sh
# Run test binaries:   sh tests/run-bins.sh "LABEL" bin1 bin2 ...
#
# Runs each binary, prints PASS or FAIL for it (with its output when it
# failed), then the totals, and last the line "N passed, M failed" where N
# and M count binaries.  Exits non-zero if any binary failed.
# Graphviz's own leaks (tests/lsan.supp), not the pictures' code
LSAN_OPTIONS="suppressions=$(cd "$(dirname "$0")" && pwd)/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS
label="$1"
[ $# -gt 0 ] && shift
passed=0
failed=0
failed_names=""
tmp="${TMPDIR:-/tmp}/run-bins.$$"
trap 'rm -f "$tmp"' EXIT INT TERM

for bin in "$@"; do
	name=$(basename "$bin")
	if [ ! -x "$bin" ]; then
		echo "FAIL $label: $name (not built: $bin)"
		failed=$((failed + 1))
		failed_names="$failed_names $name"
		continue
	fi
	"$bin" >"$tmp" 2>&1
	rc=$?
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$tmp" | tail -n 1)
	# Individual tests, for the total that `make test` prints last.
	if [ -n "$MMLAB_SUMMARY" ] && [ -n "$summary" ]; then
		echo "$summary" | awk '{ print $1, $3 }' >>"$MMLAB_SUMMARY"
	fi
	if [ "$rc" -eq 0 ] && [ -n "$summary" ]; then
		echo "PASS $label: $name ($summary)"
		passed=$((passed + 1))
	else
		echo "---- $label: $name: output ----"
		cat "$tmp"
		echo "---- end of $name ----"
		if [ -z "$summary" ]; then
			summary="no summary line"
		fi
		echo "FAIL $label: $name (exit status $rc; $summary)"
		failed=$((failed + 1))
		failed_names="$failed_names $name"
	fi
done

total=$((passed + failed))
echo "$label: $total binaries, $passed passed, $failed failed${failed_names:+ (failed:$failed_names)}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
