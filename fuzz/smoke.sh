#!/bin/sh
# smoke.sh DIR TARGET... - a short, fixed libFuzzer run of each target.
#
# Each target build/fuzz/fuzz_NAME runs on a fresh copy of its seed corpus
# fuzz/corpus/NAME/ (under DIR, so the repository's corpus stays as it is)
# with a fixed seed, a bounded number of runs and a time cap.  A crash,
# sanitizer report, timeout or leak fails it; the input that did it is
# kept under DIR/artifacts/.  One line per target, then "N passed, M
# failed"; each target counts once in $MMLAB_SUMMARY.
#
# SMOKE_RUNS and SMOKE_TIME override the run count and the cap (seconds).

if [ $# -lt 1 ]; then
	echo "usage: $0 DIR TARGET..." >&2
	exit 2
fi
dir=$1
shift
runs=${SMOKE_RUNS:-20000}
time=${SMOKE_TIME:-12}

mkdir -p "$dir/artifacts" || exit 2
echo "== libFuzzer smoke ($runs runs or ${time}s per target) =="
passed=0
failed=0
for bin in "$@"; do
	name=$(basename "$bin")
	corpus_name=${name#fuzz_}
	work="$dir/corpus-$corpus_name"
	log="$dir/$name.log"
	rm -rf "$work"
	mkdir -p "$work"
	if [ -d "fuzz/corpus/$corpus_name" ]; then
		cp fuzz/corpus/"$corpus_name"/* "$work"/ 2>/dev/null
	fi
	dict=""
	[ -f "fuzz/$name.dict" ] && dict="-dict=fuzz/$name.dict"
	if [ ! -x "$bin" ]; then
		rc="not built"
	else
		# -timeout: no input may take 10 s; a hang is a finding
		"$bin" -seed=1 -runs="$runs" -max_total_time="$time" -timeout=10 \
			-rss_limit_mb=2048 -artifact_prefix="$dir/artifacts/$name-" \
			-print_final_stats=1 $dict "$work" >"$log" 2>&1
		rc=$?
	fi
	if [ "$rc" = 0 ]; then
		passed=$((passed + 1))
		[ -n "$MMLAB_SUMMARY" ] && echo "1 0" >>"$MMLAB_SUMMARY"
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		echo "PASS $name (${execs:-?} inputs)"
	else
		failed=$((failed + 1))
		[ -n "$MMLAB_SUMMARY" ] && echo "0 1" >>"$MMLAB_SUMMARY"
		echo "FAIL $name (exit $rc; log $log)"
		[ -f "$log" ] && tail -n 40 "$log" | sed 's/^/    /'
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
