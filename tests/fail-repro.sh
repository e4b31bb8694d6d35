#!/bin/sh
# fail-repro.sh [MMLAB] - a divergence found under injected failures
# (--fail-rate) is printed with a reproducer that injects them again: a
# `fail at SITE NTH` before each kept operation that met one, so that
# `mmlab run` of the shrunk scenario fails as the fuzzer's run did.
#
# The case: seed 3 of `--dax --fail-rate 20000` with the zoo's
# dax-insert-fail-free, a bug only an allocation failure in a DAX fault
# reaches.  The scenario must name the failures, fail under
# `mmlab run --inject-bug` at a FILE:LINE, and pass without the bug.
#
# One PASS/FAIL line per check, then "N passed, M failed"; the counts go
# to $MMLAB_SUMMARY like every suite.
set -u
mmlab=${1:-build/mmlab}
bug=dax-insert-fail-free
dir=$(mktemp -d) || exit 2
trap 'rm -rf "$dir"' EXIT INT TERM
passed=0
failed=0

ok() { echo "PASS $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; tail -n 30 "$dir/log" 2>/dev/null | sed 's/^/    /'; failed=$((failed + 1)); }

scn=$dir/shrunk.scn
"$mmlab" fuzz --seed 3 --ops 1100 --dax --fail-rate 20000 --inject-bug $bug --shrink-time 8 \
	--out "$scn" >"$dir/log" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q '^fail at [a-z-]* [0-9]' "$scn" && grep -q '^fail off' "$scn"; then
	ok "fuzz --fail-rate: the shrunk scenario injects the failures it met"
else
	{ echo "(exit $rc; the scenario:)"; cat "$scn"; } >>"$dir/log" 2>&1
	bad "fuzz --fail-rate: the shrunk scenario injects the failures it met"
fi

"$mmlab" run --inject-bug $bug "$scn" >"$dir/log" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q "^$scn:[0-9][0-9]*: " "$dir/log"; then
	ok "the shrunk scenario fails under mmlab run with the bug"
else
	{ echo "(exit $rc, expected 1; the scenario:)"; cat "$scn"; } >>"$dir/log"
	bad "the shrunk scenario fails under mmlab run with the bug"
fi

"$mmlab" run "$scn" >"$dir/log" 2>&1
rc=$?
if [ $rc -eq 0 ]; then
	ok "the shrunk scenario passes without it"
else
	bad "the shrunk scenario passes without it"
fi

echo "$passed passed, $failed failed"
[ -n "${MMLAB_SUMMARY:-}" ] && echo "$passed $failed" >>"$MMLAB_SUMMARY"
[ $failed -eq 0 ]
