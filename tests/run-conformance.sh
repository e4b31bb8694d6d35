#!/bin/sh
# run-conformance.sh MMLAB FILE... - each scenario on mmlab and on the host
# kernel (`mmlab conform`), compared observation by observation.
#
# A scenario passes when every observation agrees or is skipped for a
# stated reason; a disagreement, a failed host run or bad input fails it.
# Prints `mmlab conform`'s report and its totals line, then appends
# "passed failed" (scenarios) to $MMLAB_SUMMARY like the other suites.

if [ $# -lt 2 ]; then
	echo "usage: $0 MMLAB FILE..." >&2
	exit 2
fi
mmlab=$1
shift

log=$(mktemp "${TMPDIR:-/tmp}/mmlab-conform.XXXXXX") || exit 2
trap 'rm -f "$log"' EXIT INT TERM

echo "== conformance (mmlab vs. the host kernel $(uname -r)) =="
passed=0
failed=0
for f in "$@"; do
	# a hung host process is bounded by --timeout; this bounds the rest
	timeout 120 "$mmlab" conform "$f" >"$log" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
	grep -v '(scenarios); ' "$log"
	[ "$rc" -eq 0 ] || [ "$rc" -eq 1 ] || echo "FAIL $f (exit $rc)"
done
# the totals of every file, as `mmlab conform FILE...` would print them
"$mmlab" conform "$@" 2>/dev/null | tail -n 1 | sed 's/^/conformance: /'
echo "$passed passed, $failed failed"
[ -n "$MMLAB_SUMMARY" ] && echo "$passed $failed" >>"$MMLAB_SUMMARY"
[ "$failed" -eq 0 ]
