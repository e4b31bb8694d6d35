#!/bin/sh
# zoo.sh MMLAB - prove that every bug-zoo entry is caught, and only then.
#
# For every entry `MMLAB bugs --names` lists:
#   caught   `mmlab fuzz --seed S --ops 3000 --inject-bug NAME --out F`
#            (shrinking for at most 30 s: `--shrink-time 30`)
#            plus the entry's own options (`mmlab bugs --fuzz-options NAME`:
#            --devices, --oom, ...) exits 1 for at least one seed of SEEDS,
#            on the default machine or with `--ram 2M --swap 1M`: the fuzzer
#            finds it in a bounded number of operations;
# and for every run that caught it:
#   fails    the shrunk scenario F exits 1 under
#            `mmlab run --inject-bug NAME` with a FILE:LINE: diagnostic:
#            the reproducer reproduces;
#   passes   the same file exits 0 under plain `mmlab run`: it blames the
#            bug, not the scenario.
# Entries whose options are "stress STORY" are races only an interleaving
# shows: instead of the fuzzer and a scenario,
#   caught   `mmlab stress --story STORY --inject-bug NAME --strategy pct
#            --seeds STRESS_SEEDS` exits 1 (a story of the deterministic
#            scheduler finds it within that many seeds);
#   replays  the command it printed for the first failing seed exits 1
#            with the same trace hash (the interleaving is the seed's);
#   passes   every story (`mmlab stress --list`) without a bug exits 0 on
#            the same seeds.
# And for every seed, `mmlab fuzz --seed S --ops 3000` with no bug exits 0,
# and so does the same run in 2M of RAM with 1M of swap, and in 2M with
# large populated mappings (--oom) that run memory out, each also with
# devices (--devices): the oracles do not cry wolf on the seeds that catch
# the bugs, nor under reclaim, nor when the OOM killer takes processes
# away, nor when devices mirror the processes.
#
# Last, `mmlab fuzz --seeds A-B` (a campaign's range): its seeds' lines,
# its final line and the merge of split runs' lines agree, and bad ranges
# are refused.
#
# One line per check (with the output of a failure), then "N passed, M
# failed"; each check counts in $MMLAB_SUMMARY.  Exit non-zero on any
# failure.  ZOO_SEEDS and ZOO_OPS override the seeds and the op count.

if [ $# -ne 1 ]; then
	echo "usage: $0 MMLAB" >&2
	exit 2
fi
mmlab=$1
seeds=${ZOO_SEEDS:-1 2 3 4}
ops=${ZOO_OPS:-5000}
stress_seeds=${ZOO_STRESS_SEEDS:-40}
# Fuzz runs without a bug that once crashed (or diverged), one a line:
# migration of a file folio truncated while isolated (mapping NULL), of an
# unmapped anon folio in the swap cache whose anon_vma had gone, and of a
# shmem folio in the swap cache (no mapping, a swap cache slot to move).
regressions="
--seed 1 --swap 8M --thp --files
--seed 5 --swap 8M --thp --files
--seed 1 --swap 8M --thp --files --ksm
"

# A sanitizer report must not pass for a divergence (both exit 1).
ASAN_OPTIONS="exitcode=86${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
UBSAN_OPTIONS="exitcode=87:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS UBSAN_OPTIONS

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mmlab-zoo.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM

# Each check prints one line, PASS or FAIL, and a failure the end of its
# output; they are counted at the end.
pass() {
	echo "PASS $1"
	passed=$((passed + 1))
}

# fail WHAT LOG
fail() {
	echo "FAIL $1"
	failed=$((failed + 1))
	[ -s "$2" ] && tail -n 30 "$2" | sed 's/^/    /'
}

check_bug() {
	bug=$1
	caught=""
	log="$tmp/$bug.log"
	: >"$log"
	for s in $runs; do
		cat "$tmp/$bug-$s.log" >>"$log"
		rc=$(cat "$tmp/$bug-$s.rc" 2>/dev/null)
		if [ "$rc" = 1 ] && [ -s "$tmp/$bug-$s.scn" ]; then
			caught="$caught $s"
		else
			echo "(run $s: exit $rc, no scenario)" >>"$log"
		fi
	done
	if [ -z "$caught" ]; then
		fail "$bug: caught by fuzz within $ops ops (by none of runs$runs)" "$log"
		return
	fi
	pass "$bug: caught by fuzz within $ops ops (runs$caught)"

	# every seed that caught it must have printed a faithful reproducer
	for s in $caught; do
		out="$tmp/$bug-$s.scn"
		lines=$(grep -cv '^#' "$out")

		"$mmlab" run --inject-bug "$bug" "$out" >"$log" 2>&1
		rc=$?
		# and it names the line: "FILE:LINE: expected ..., got ..."
		if [ "$rc" -eq 1 ] && grep -q "^$out:[0-9][0-9]*: " "$log"; then
			pass "$bug: run $s: shrunk scenario ($lines lines) fails with the bug"
		else
			{ echo "(exit $rc, expected 1; the scenario:)"; cat "$out"; } >>"$log"
			fail "$bug: run $s: shrunk scenario fails with the bug" "$log"
		fi

		"$mmlab" run "$out" >"$log" 2>&1
		rc=$?
		if [ "$rc" -eq 0 ]; then
			pass "$bug: run $s: shrunk scenario passes without it"
		else
			{ echo "(exit $rc, expected 0; the scenario:)"; cat "$out"; } >>"$log"
			fail "$bug: run $s: shrunk scenario passes without it" "$log"
		fi
	done
}

# check_stress BUG STORY: the race entry is found by its story, and its seed replays it
check_stress() {
	bug=$1
	story=$2
	log="$tmp/$bug.log"
	# STORY may carry options of its own (--strategy pct-pte): they come last and win
	# shellcheck disable=SC2086
	"$mmlab" stress --inject-bug "$bug" --strategy pct --seeds "$stress_seeds" --quiet --story $story \
		>"$log" 2>&1
	rc=$?
	if [ "$rc" -ne 1 ] || ! grep -q "failed:" "$log"; then
		echo "(exit $rc, expected 1)" >>"$log"
		fail "$bug: caught by stress --story $story within $stress_seeds seeds" "$log"
		return
	fi
	pass "$bug: caught by stress --story $story ($(grep "seeds from" "$log" | sed 's/.*), //'))"
	replay=$(sed -n 's/^  replay: mmlab //p' "$log" | sed 's/   (trace hash .*//' | head -n 1)
	hash=$(sed -n 's/.*(trace hash \([0-9a-f]*\)).*/\1/p' "$log" | head -n 1)
	# shellcheck disable=SC2086
	"$mmlab" $replay --quiet >"$log.replay" 2>&1
	rc=$?
	if [ "$rc" -eq 1 ] && grep -q "trace hash $hash" "$log.replay"; then
		pass "$bug: its seed replays ($replay)"
	else
		echo "(exit $rc, expected 1 and trace hash $hash)" >>"$log.replay"
		fail "$bug: its seed replays ($replay)" "$log.replay"
	fi
}

# job TAG ARGS...: a fuzz run for the pool below, output and status kept as TAG
job() {
	echo "$*" >>"$tmp/jobs"
}

echo "== bug zoo ($mmlab; seeds $seeds; $ops ops) =="
passed=0
failed=0
bugs=$("$mmlab" bugs --names)
if [ $? -ne 0 ] || [ -z "$bugs" ]; then
	fail "$mmlab bugs --names lists the zoo" /dev/null
	bugs=""
fi

# Each seed runs twice: on the default machine (run "S") and in 2M of RAM
# with 1M of swap (run "S-swap"), where reclaim and swap bugs show.
runs=""
for s in $seeds; do
	runs="$runs $s $s-swap"
done
run_args() {
	case $1 in
	*-swap) echo "--seed ${1%-swap} --ram 2M --swap 1M" ;;
	*-oom) echo "--seed ${1%-oom} --ram 2M --oom" ;;
	*) echo "--seed $1" ;;
	esac
}

# Each entry's own options, as `mmlab bugs --fuzz-options` gives them;
# the races of a stress story apart.
fuzz_bugs=""
stress_bugs=""
for bug in $bugs; do
	"$mmlab" bugs --fuzz-options "$bug" >"$tmp/$bug.opts" || fail "$bug: its fuzz options" /dev/null
	case $(cat "$tmp/$bug.opts") in
	stress\ *)
		stress_bugs="$stress_bugs $bug"
		;;
	*) fuzz_bugs="$fuzz_bugs $bug" ;;
	esac
done

# Every fuzz run first, through a pool of `nproc` workers: they are short.
: >"$tmp/jobs"
for s in $runs; do
	for bug in $fuzz_bugs; do
		job "$bug-$s" $(run_args "$s") $(cat "$tmp/$bug.opts") --ops "$ops" \
			--shrink-time 30 --inject-bug "$bug" --out "$tmp/$bug-$s.scn"
	done
	job "clean-$s" $(run_args "$s") --ops "$ops"
	job "clean-$s-devices" $(run_args "$s") --devices --ops "$ops"
done
for s in $seeds; do
	job "clean-$s-oom" $(run_args "$s-oom") --ops "$ops"
	job "clean-$s-oom-devices" $(run_args "$s-oom") --devices --ops "$ops"
done
# Runs without a bug that once crashed or diverged: each must pass now.
# regress_tag ARGS: the job's name for such a run.
regress_tag() {
	echo "clean-regress-$(echo "$1" | tr -c 'a-z0-9\n' '-')"
}
while IFS= read -r args; do
	[ -n "$args" ] && job "$(regress_tag "$args")" $args
done <<EOF
$regressions
EOF
# On a terminal, `mmlab progress` draws the pool's progress line on
# stderr after every job: the runs done, and the runs without a bug that
# diverged so far (a failure the checks below will report).
total=$(wc -l <"$tmp/jobs")
since=$(date +%s)
: >"$tmp/done"
export mmlab tmp total since
xargs -P "$(nproc 2>/dev/null || echo 2)" -L 1 sh -c \
	'tag=$1; shift; "$mmlab" fuzz "$@" >"$tmp/$tag.log" 2>&1; rc=$?; echo $rc >"$tmp/$tag.rc"
	 echo "$tag $rc" >>"$tmp/done"
	 "$mmlab" progress --label "zoo: fuzz runs" --done "$(wc -l <"$tmp/done")" --total "$total" \
		--failed "$(grep -c "^clean-.* [^0]" "$tmp/done")" --since "$since"' sh <"$tmp/jobs"
"$mmlab" progress --label "zoo: fuzz runs" --done "$(wc -l <"$tmp/done")" --total "$total" \
	--failed "$(grep -c "^clean-.* [^0]" "$tmp/done")" --since "$since" --end

for bug in $fuzz_bugs; do
	check_bug "$bug"
done
for bug in $stress_bugs; do
	check_stress "$bug" "$(sed 's/^stress //' "$tmp/$bug.opts")"
done
# every story, not only those with entries: the scheduler's stories pass on a sound core
for story in $("$mmlab" stress --list | awk '{ print $1 }'); do
	what="no bug: stress --story $story --strategy pct --seeds $stress_seeds finds nothing"
	if "$mmlab" stress --story "$story" --strategy pct --seeds "$stress_seeds" --quiet >"$tmp/$story.log" 2>&1; then
		pass "$what"
	else
		fail "$what" "$tmp/$story.log"
	fi
done
# And every fuzzer entry is caught by at least one hand-written scenario
# too: every (entry, scenario) pair through the pool, each pair that fails
# (exit 1) noted in the entry's list.
scenarios=$(ls "$(dirname "$0")"/scenarios/*.scn | grep -v '/bad-\|/fail-')
for bug in $fuzz_bugs; do
	for f in $scenarios; do
		echo "$bug $f"
	done
done | xargs -P "$(nproc 2>/dev/null || echo 2)" -L 1 sh -c \
	'"$mmlab" run --inject-bug "$1" "$2" >/dev/null 2>&1; [ $? -eq 1 ] && echo "$(basename "$2")" >>"$tmp/$1.by"' sh
for bug in $fuzz_bugs; do
	by=""
	[ -s "$tmp/$bug.by" ] && by=" $(sort "$tmp/$bug.by" | tr '\n' ' ')"
	if [ -n "$by" ]; then
		pass "$bug: caught by scenario(s)$(echo "$by" | cut -c1-120)"
	else
		fail "$bug: caught by at least one scenario in tests/scenarios" /dev/null
	fi
done
while IFS= read -r args; do
	[ -n "$args" ] || continue
	tag=$(regress_tag "$args")
	what="no bug: fuzz $args finds nothing (it once failed)"
	if [ "$(cat "$tmp/$tag.rc" 2>/dev/null)" = 0 ]; then
		pass "$what"
	else
		fail "$what" "$tmp/$tag.log"
	fi
done <<EOF
$regressions
EOF
for s in $runs $(for s in $seeds; do echo "$s-oom"; done); do
	for with in "" "-devices"; do
		tag="clean-$s$with"
		what="no bug: fuzz $(run_args "$s")${with:+ --devices} --ops $ops finds nothing"
		rc=$(cat "$tmp/$tag.rc" 2>/dev/null)
		if [ "$rc" = 0 ]; then
			pass "$what"
		else
			echo "(exit $rc, expected 0)" >>"$tmp/$tag.log"
			fail "$what" "$tmp/$tag.log"
		fi
	done
done

# `mmlab fuzz --seeds A-B`: each seed's line as `--seed S` prints it, the
# seeds that diverge those that diverge alone, a final line equal to the
# merge of the lines of the same seeds split across runs (the one-liner of
# docs/testing.md, "Splitting a campaign"), and bad ranges refused.
merge() {
	grep -h '^seed [0-9]*: ' "$@" | sort -n -k2 | awk '{ n++; ops += $3; if (!/no divergence$/) bad = bad (d++ ? " " : ": ") $2 + 0 } END { printf "%d seeds, %d operations, %d diverged%s\n", n, ops, d, bad }'
}
seeds_log=$tmp/seeds
what="fuzz --seeds 1-3 --ops 300: a line per seed, the split runs' lines merge to its last"
"$mmlab" fuzz --seeds 1-3 --ops 300 >"$seeds_log" 2>&1
rc=$?
"$mmlab" fuzz --seeds 1-1 --ops 300 >"$seeds_log.a" 2>&1 &&
	"$mmlab" fuzz --seeds 2-3 --ops 300 >"$seeds_log.b" 2>&1 &&
	merge "$seeds_log.b" "$seeds_log.a" >"$seeds_log.merged"
if [ "$rc" -eq 0 ] && [ "$(grep -o '^seed [0-9]*:' "$seeds_log" | tr '\n' ' ')" = "seed 1: seed 2: seed 3: " ] &&
   [ "$(tail -n 1 "$seeds_log")" = "3 seeds, 900 operations, 0 diverged" ] &&
   [ "$(cat "$seeds_log.merged")" = "3 seeds, 900 operations, 0 diverged" ]; then
	pass "$what"
else
	cat "$seeds_log.merged" >>"$seeds_log" 2>/dev/null
	fail "$what (exit $rc)" "$seeds_log"
fi
seeds_bug=cow-reuse-mapcount
want=""
for s in 1 2 3 4; do
	"$mmlab" fuzz --inject-bug $seeds_bug --seed $s --ops 3000 --shrink-time 1 >/dev/null 2>&1
	[ $? -eq 1 ] && want="$want${want:+ }$s"
done
what="fuzz --seeds 1-4 --inject-bug $seeds_bug: the seeds that diverge alone ($want)"
"$mmlab" fuzz --inject-bug $seeds_bug --seeds 1-4 --ops 3000 --shrink-time 1 >"$seeds_log" 2>&1
rc=$?
if [ -n "$want" ] && [ "$rc" -eq 1 ] && tail -n 1 "$seeds_log" | grep -q "^4 seeds, [0-9]* operations, [0-9]* diverged: $want\$" &&
   [ "$(tail -n 1 "$seeds_log")" = "$(merge "$seeds_log")" ]; then
	pass "$what"
else
	fail "$what (exit $rc)" "$seeds_log"
fi
for args in "--seeds 3-1" "--seeds x" "--seeds 1-" "--seeds -1-2" "--seeds 1-2-3" "--seeds 0x1-2" \
	    "--seeds 1-99999999999999999999" "--seed 1 --seeds 1-2" "--seeds 1-2 --out $tmp/f.scn"; do
	# shellcheck disable=SC2086
	"$mmlab" fuzz $args --ops 10 >"$seeds_log" 2>&1
	rc=$?
	if [ "$rc" -eq 2 ] && grep -q '^mmlab fuzz: ' "$seeds_log" && ! grep -q '^seed ' "$seeds_log"; then
		pass "fuzz $args: refused (exit 2)"
	else
		fail "fuzz $args: refused (exit $rc, expected 2 and a message)" "$seeds_log"
	fi
done

echo "$passed passed, $failed failed"
[ -n "$MMLAB_SUMMARY" ] && echo "$passed $failed" >>"$MMLAB_SUMMARY"
[ "$failed" -eq 0 ]
