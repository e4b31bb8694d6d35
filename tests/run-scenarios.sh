#!/bin/sh
# run-scenarios.sh MMLAB VARIANT FILE... - run scenario files with `mmlab run`.
#
# Each file must end as its name says:
#   bad-*.scn   exit 2 and a "file:line:col: message" diagnostic (bad input)
#   fail-*.scn  exit 1 and a "file:line: ..." diagnostic (failed expectation)
#   *.scn       exit 0
# One line per file (PASS/FAIL name), the output of each failure, then
# "N passed, M failed"; the exit status is non-zero if any failed.
# Graphviz's own leaks (tests/lsan.supp), not the pictures' code
LSAN_OPTIONS="suppressions=$(cd "$(dirname "$0")" && pwd)/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS

if [ $# -lt 2 ]; then
	echo "usage: $0 MMLAB VARIANT FILE..." >&2
	exit 2
fi
mmlab=$1
variant=$2
shift 2

# A sanitizer report must not pass for a failed expectation (both exit 1).
ASAN_OPTIONS="exitcode=86${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
UBSAN_OPTIONS="exitcode=87:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS UBSAN_OPTIONS

log=$(mktemp "${TMPDIR:-/tmp}/mmlab-scn.XXXXXX") || exit 2
trap 'rm -f "$log"' EXIT INT TERM

echo "== scenarios ($variant) =="
passed=0
failed=0
for f in "$@"; do
	name=$(basename "$f" .scn)
	case $name in
	bad-*)	want=2 ;;
	fail-*)	want=1 ;;
	*)	want=0 ;;
	esac
	"$mmlab" run "$f" >"$log" 2>&1
	rc=$?
	ok=yes
	why=""
	if [ "$rc" -ne "$want" ]; then
		ok=no
		why="exit $rc, expected $want"
	elif [ "$want" -eq 2 ] && ! grep -q "^$f:[0-9][0-9]*:[0-9][0-9]*: " "$log"; then
		ok=no
		why="no file:line:col: diagnostic"
	elif [ "$want" -eq 1 ] && ! grep -q "^$f:[0-9][0-9]*: " "$log"; then
		ok=no
		why="no file:line: diagnostic"
	fi
	if [ $ok = yes ]; then
		passed=$((passed + 1))
		echo "PASS $name"
	else
		failed=$((failed + 1))
		echo "FAIL $name ($why)"
		sed 's/^/    /' "$log" | tail -n 40
	fi
done
echo "$passed passed, $failed failed"
[ -n "$MMLAB_SUMMARY" ] && echo "$passed $failed" >>"$MMLAB_SUMMARY"
[ "$failed" -eq 0 ]
