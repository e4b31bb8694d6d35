#!/bin/sh
# cli.sh - the command line refuses bad options before anything runs: exit
# 2, a message on stderr naming what is wrong, nothing on stdout.
#
#   sh tests/cli.sh [MMLAB]      (default build/mmlab)
#
# One PASS/FAIL line per check, then "N passed, M failed"; the counts go
# to $MMLAB_SUMMARY like every suite.
set -u
mmlab=${1:-build/mmlab}
dir=$(mktemp -d) || exit 2
trap 'rm -rf "$dir"' EXIT INT TERM
passed=0
failed=0

ok() { echo "PASS $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; sed 's/^/    /' "$dir/err" 2>/dev/null | head -20; failed=$((failed + 1)); }
# refused NAME WANT ARGS...: mmlab ARGS exits 2 with a message naming WANT and prints nothing on stdout
refused() {
	name=$1 want=$2
	shift 2
	"$mmlab" "$@" >"$dir/out" 2>"$dir/err"
	rc=$?
	if [ $rc -eq 2 ] && grep -q -- "$want" "$dir/err" && [ ! -s "$dir/out" ]; then ok "$name"; else
		echo "(exit $rc, expected 2, '$want' on stderr and nothing on stdout)" >>"$dir/err"; bad "$name"; fi
}

echo "== command line =="
refused "run --trace: an item that names no event, before anything runs" "mmlab run: --trace: .* names no trace event" run --trace 'kmem:*,nosuch'
refused "run --trace-file without --trace" "give --trace too" run --trace-file "$dir/t"
refused "run --strategy: an unknown strategy" "expected random, pct or pct-pte" run --strategy pcp
refused "run --depth without a PCT strategy" "give --strategy pct" run --depth 2
refused "stress --strategy: an unknown strategy" "expected random, pct or pct-pte" stress --strategy x
refused "stress --depth: out of range" "expected a number from 1 to 16" stress --depth 17
refused "stress --story: an unknown story" "no-such-story" stress --story no-such-story
refused "fuzz --inject-bug: an unknown entry" "unknown bug" fuzz --inject-bug no-such-bug

echo "$passed passed, $failed failed"
[ -n "${MMLAB_SUMMARY:-}" ] && echo "$passed $failed" >>"$MMLAB_SUMMARY"
[ $failed -eq 0 ]
