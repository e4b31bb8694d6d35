#!/bin/sh
# plot.sh - vmstat traces and their plots: `mmlab run --vmstat-trace`
# on tests/scenarios/reclaim-steps.scn writes a CSV with the expected
# columns and a row per statement in which the counters move as the
# scenario says (free memory falls, swap fills, pages go out during the
# writes and come back during the reads, pgfault never goes back); the
# same on fuzz and stress; bad options refused; `mmlab plot` turns the
# CSV into an SVG that python3's XML parser reads (with a line per
# field) and a PNG, and refuses a missing or malformed CSV with exit 2.
# gnuplot comes from scripts/deps.sh plot (Debian's gnuplot-nox).
#
#   sh tests/plot.sh [MMLAB]      (default build/mmlab)
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
# check NAME CMD...: CMD (its output in $dir/err) must succeed
check() {
	name=$1
	shift
	if "$@" >"$dir/err" 2>&1; then ok "$name"; else bad "$name"; fi
}
# refused NAME WANT ARGS...: mmlab ARGS exits 2 with a message naming WANT
refused() {
	name=$1 want=$2
	shift 2
	"$mmlab" "$@" >"$dir/out" 2>"$dir/err"
	rc=$?
	if [ $rc -eq 2 ] && grep -q -- "$want" "$dir/err"; then ok "$name"; else
		echo "(exit $rc, expected 2 and '$want')" >>"$dir/err"; bad "$name"; fi
}

echo "== vmstat traces and plots =="
sh scripts/deps.sh plot >"$dir/err" 2>&1 || bad "scripts/deps.sh plot installs gnuplot"

# --- the trace of a reclaim scenario ---
scn=tests/scenarios/reclaim-steps.scn
check "run --vmstat-trace: the scenario passes and writes its trace" \
	"$mmlab" run --vmstat-trace "$dir/r.csv" "$scn"
check "run --vmstat-trace: columns, a row a statement, counters as the scenario says" \
	python3 - "$dir/r.csv" "$scn" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
head, rows = rows[0], [[int(v) for v in r] for r in rows[1:]]
want = ["step", "line", "MemFree", "SwapFree", "pgscan_kswapd", "pgscan_direct", "pgsteal_kswapd",
        "pgsteal_direct", "pgfault", "pswpout", "pswpin", "pageoutrun"]
assert head == want, head
stmts = [i + 1 for i, l in enumerate(open(sys.argv[2])) if l.strip() and not l.startswith("#")]
assert [r[0] for r in rows] == list(range(1, len(stmts) + 1)), "a row a statement, steps 1.."
assert [r[1] for r in rows] == stmts, "the statements' lines"
c = {n: [r[i] for r in rows] for i, n in enumerate(head)}
text = open(sys.argv[2]).read().splitlines()
at = lambda kind: [i for i, r in enumerate(rows) if text[r[1] - 1].startswith(kind)]
w, rd = at("write "), at("read ")
assert len(w) == 24 and len(rd) == 24
for n in ["pgfault", "pswpout", "pswpin", "pgscan_kswapd", "pgscan_direct", "pgsteal_kswapd", "pgsteal_direct"]:
    assert c[n] == sorted(c[n]), n + " goes back"
assert c["MemFree"][w[0] - 1] > 3500 and c["MemFree"][w[-1]] < 1000, "free memory falls while writing"
assert c["SwapFree"][w[0]] == 8188 and c["SwapFree"][w[-1]] < 8188 - 1024, "swap fills"
assert c["pswpout"][w[-1]] > c["pswpout"][w[0]] and c["pswpin"][w[-1]] < c["pswpin"][rd[-1]], \
    "out while writing, in while reading back"
assert c["pgscan_kswapd"][-1] + c["pgscan_direct"][-1] > 0 and c["pgsteal_kswapd"][-1] + c["pgsteal_direct"][-1] > 0
assert c["pgfault"][w[-1]] >= 1536, "a fault a page written"
PY
check "run --vmstat-fields --vmstat-every 10: those columns, every tenth statement" \
	sh -c "'$mmlab' run --vmstat-trace '$dir/e.csv' --vmstat-fields pswpout,MemAvailable --vmstat-every 10 $scn &&
	       head -1 '$dir/e.csv' | grep -qx 'step,line,pswpout,MemAvailable' &&
	       [ \"\$(cut -d, -f1 '$dir/e.csv' | tail -n +2 | tr '\n' ' ')\" = '10 20 30 40 50 ' ]"
check "fuzz --vmstat-trace: a row an operation, with its seed" \
	sh -c "'$mmlab' fuzz --seed 3 --ops 500 --ram 2M --swap 1M --vmstat-trace '$dir/f.csv' >/dev/null &&
	       [ \$(wc -l <'$dir/f.csv') -eq 501 ] && tail -1 '$dir/f.csv' | grep -q '^500,3,'"
check "stress --vmstat-trace: a row a run, with its seed" \
	sh -c "'$mmlab' stress --story reclaim-fault --seed 5 --seeds 3 --quiet --vmstat-trace '$dir/s.csv' >/dev/null &&
	       [ \"\$(cut -d, -f1,2 '$dir/s.csv' | tr '\n' ' ')\" = 'step,seed 1,5 2,6 3,7 ' ]"
refused "run --vmstat-fields: an unknown name refused" "nr_bogus" run --vmstat-trace "$dir/x.csv" \
	--vmstat-fields MemFree,nr_bogus "$scn"
refused "fuzz --vmstat-every without --vmstat-trace refused" "give --vmstat-trace" fuzz --vmstat-every 3
refused "stress --vmstat-trace into a missing directory refused" "cannot write" stress \
	--vmstat-trace "$dir/no/such/dir/s.csv"

# --- mmlab plot ---
check "plot: an SVG that python3's XML parser reads, a line per field" \
	sh -c "'$mmlab' plot '$dir/r.csv' -o '$dir/r.svg' && python3 - '$dir/r.svg'" <<'PY'
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
text = " ".join(t for e in root.iter() for t in [e.text or ""])
for n in ["MemFree", "SwapFree", "pgscan_kswapd", "pswpout", "pswpin", "pageoutrun", "kB"]:
    assert n in text, n + " not in the picture"
paths = [e for e in root.iter("{http://www.w3.org/2000/svg}path") if len(e.get("d", "")) > 200]
assert len(paths) >= 10, "%d long paths, not a line per field" % len(paths)
PY
check "plot --fields: a PNG of two fields" \
	sh -c "'$mmlab' plot --fields MemFree,pswpout -o '$dir/r.png' '$dir/r.csv' &&
	       [ \"\$(head -c 8 '$dir/r.png' | od -An -tx1 | tr -d ' \n')\" = 89504e470d0a1a0a ]"
refused "plot: a missing CSV, exit 2" "No such file" plot "$dir/none.csv" -o "$dir/x.svg"
printf 'step,MemFree\n1,2\n2,x\n' >"$dir/bad1.csv"
refused "plot: a value that is no number, with its line" "bad1.csv:3: a value that is not an integer" \
	plot "$dir/bad1.csv" -o "$dir/x.svg"
printf 'step,MemFree\n1,2,3\n' >"$dir/bad2.csv"
refused "plot: a row wider than the header" "bad2.csv:2: more values" plot "$dir/bad2.csv" -o "$dir/x.svg"
printf 'a,b\n1,2\n' >"$dir/bad3.csv"
refused "plot: not a trace's header" "not a vmstat trace" plot "$dir/bad3.csv" -o "$dir/x.svg"
printf 'step,MemFree\n' >"$dir/bad4.csv"
refused "plot: a header and no sample" "no sample" plot "$dir/bad4.csv" -o "$dir/x.svg"
refused "plot: -o of another kind" "ends in .svg or .png" plot "$dir/r.csv" -o "$dir/x.pdf"
refused "plot --fields: a column the file has not" "not a field" plot "$dir/r.csv" --fields Mlocked -o "$dir/x.svg"
# no gnuplot on PATH: a message that says what to install
mkdir "$dir/bin"
PATH=$dir/bin "$mmlab" plot "$dir/r.csv" -o "$dir/y.svg" >"$dir/out" 2>"$dir/err"
rc=$?
if [ $rc -eq 2 ] && grep -q "gnuplot is not installed: Debian's gnuplot-nox" "$dir/err" && [ ! -e "$dir/y.svg" ]; then
	ok "plot without gnuplot: exit 2, says to install gnuplot-nox"
else
	echo "(exit $rc)" >>"$dir/err"
	bad "plot without gnuplot: exit 2, says to install gnuplot-nox"
fi

echo "$passed passed, $failed failed"
[ -n "${MMLAB_SUMMARY:-}" ] && echo "$passed $failed" >>"$MMLAB_SUMMARY"
[ $failed -eq 0 ]
