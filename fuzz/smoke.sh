#!/bin/sh
# smoke.sh DIR - build the libFuzzer targets as OSS-Fuzz does and run
# each briefly.
#
# scripts/oss-fuzz-build.sh, with the caller's $CC, $CFLAGS,
# $LIB_FUZZING_ENGINE (and $WORK, to reuse objects), writes into a fresh
# temporary $OUT; then each $OUT/fuzz_NAME runs on its seed corpus,
# unzipped from $OUT/fuzz_NAME_seed_corpus.zip into DIR/corpus-NAME/
# (every seed input runs first), with $OUT/fuzz_NAME.dict if there is
# one, a fixed seed, a bounded number of runs and a time cap.  A failed
# build, a missing corpus zip, a crash, sanitizer report, timeout or leak
# fails; the input that did it is kept under DIR/artifacts/.  One line
# per check, then "N passed, M failed"; each counts once in
# $MMLAB_SUMMARY.
#
# SMOKE_RUNS and SMOKE_TIME override the run count and the cap (seconds).

if [ $# -ne 1 ]; then
	echo "usage: $0 DIR" >&2
	exit 2
fi
dir=$1
runs=${SMOKE_RUNS:-20000}
time=${SMOKE_TIME:-12}

mkdir -p "$dir/artifacts" || exit 2
OUT=$(mktemp -d "${TMPDIR:-/tmp}/mmlab-fuzz-out.XXXXXX") || exit 2
export OUT
trap 'rm -rf "$OUT"' EXIT INT TERM

passed=0
failed=0
pass() {
	passed=$((passed + 1))
	[ -n "$MMLAB_SUMMARY" ] && echo "1 0" >>"$MMLAB_SUMMARY"
	echo "PASS $1"
}
# fail WHAT LOG
fail() {
	failed=$((failed + 1))
	[ -n "$MMLAB_SUMMARY" ] && echo "0 1" >>"$MMLAB_SUMMARY"
	echo "FAIL $1"
	[ -f "$2" ] && tail -n 40 "$2" | sed 's/^/    /'
}

echo "== libFuzzer smoke (OSS-Fuzz build; $runs runs or ${time}s per target) =="
if sh scripts/oss-fuzz-build.sh >"$dir/build.log" 2>&1; then
	pass "scripts/oss-fuzz-build.sh into \$OUT"
else
	fail "scripts/oss-fuzz-build.sh into \$OUT (log $dir/build.log)" "$dir/build.log"
fi
for src in fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	bin=$OUT/$name
	zip=$OUT/${name}_seed_corpus.zip
	work=$dir/corpus-${name#fuzz_}
	log=$dir/$name.log
	rm -rf "$work"
	mkdir -p "$work"
	if [ ! -x "$bin" ]; then
		fail "$name (not built)" /dev/null
		continue
	fi
	if [ -d "fuzz/corpus/${name#fuzz_}" ] && [ ! -f "$zip" ]; then
		fail "$name (no $(basename "$zip"))" /dev/null
		continue
	fi
	if [ -f "$zip" ]; then
		python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
			"$zip" "$work" || { fail "$name (cannot unzip its corpus)" /dev/null; continue; }
	fi
	seeds=$(ls "$work" | wc -l)
	dict=""
	[ -f "$OUT/$name.dict" ] && dict="-dict=$OUT/$name.dict"
	# -timeout: no input may take 10 s; a hang is a finding
	"$bin" -seed=1 -runs="$runs" -max_total_time="$time" -timeout=10 \
		-rss_limit_mb=2048 -artifact_prefix="$dir/artifacts/$name-" \
		-print_final_stats=1 $dict "$work" >"$log" 2>&1
	rc=$?
	if [ "$rc" = 0 ]; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		pass "$name (${execs:-?} inputs from $seeds seeds${dict:+, with its dictionary})"
	else
		fail "$name (exit $rc; log $log)" "$log"
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
