#!/bin/sh
# zoo-rate.sh MMLAB [SECONDS] [SEEDS] - how strong the fuzzer is as an
# oracle: for each zoo entry, of seeds 1..SEEDS (default 10), how many
# catch it within SECONDS (default 60) of `mmlab fuzz --inject-bug NAME`
# on the machine and operations its entry records (mmlab bugs
# --fuzz-options NAME, which --inject-bug alone applies).  Runs go through
# a pool of `nproc` workers.  Prints docs/testing.md's table: entry,
# options, caught of SEEDS, and the median number of operations the
# catching runs took to diverge.  ZOO_RATE_ONLY="NAME ..." measures
# those entries alone.
mmlab=${1:?usage: $0 MMLAB [SECONDS] [SEEDS]}
secs=${2:-60}
seeds=${3:-10}
bugs=${ZOO_RATE_ONLY:-$("$mmlab" bugs --names)}
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM

# the races of a stress story are measured by `mmlab stress` (docs/testing.md)
for bug in $bugs; do
	case $("$mmlab" bugs --fuzz-options "$bug") in stress\ *) continue ;; esac
	s=1
	while [ "$s" -le "$seeds" ]; do
		echo "$bug $s"
		s=$((s + 1))
	done
done >"$tmp/jobs"

# one run: its exit status and the operation it diverged at, in $tmp/BUG-SEED
export mmlab secs tmp
xargs -P "$(nproc 2>/dev/null || echo 2)" -L 1 sh -c '
	timeout $((secs + 600)) "$mmlab" fuzz --inject-bug "$1" --seed "$2" --ops 4000000000 \
		--time "$secs" --quiet >"$tmp/$1-$2.log" 2>&1
	rc=$?
	op=$(sed -n "s/^divergence at operation \([0-9]*\).*/\1/p" "$tmp/$1-$2.log" | head -n 1)
	echo "$rc ${op:--}" >"$tmp/$1-$2"' sh <"$tmp/jobs"

echo "| entry | \`mmlab fuzz\` options | caught (of $seeds seeds, ${secs} s each) | median operations to the divergence |"
echo "|---|---|---|---|"
for bug in $bugs; do
	case $("$mmlab" bugs --fuzz-options "$bug") in stress\ *) continue ;; esac
	caught=0
	: >"$tmp/times"
	s=1
	while [ "$s" -le "$seeds" ]; do
		read -r rc t <"$tmp/$bug-$s"
		if [ "$rc" = 1 ]; then
			caught=$((caught + 1))
			echo "$t" >>"$tmp/times"
		fi
		s=$((s + 1))
	done
	med=$(sort -n "$tmp/times" | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }')
	opts=$("$mmlab" bugs --fuzz-options "$bug")
	echo "| \`$bug\` | \`${opts:-(default)}\` | $caught | $med |"
done
