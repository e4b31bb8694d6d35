#!/bin/sh
# progress.sh - the progress line of long runs (src/lib/progress.c):
# drawn on standard error when it is a terminal (a pty here, from
# python3's pty module), redrawn in place with carriage returns, with
# done/total, rate, elapsed, ETA and failures, and ended by a newline;
# and never drawn when standard error is not a terminal, or under --json
# or --quiet: that output has no carriage return at all.
#
#   sh tests/progress.sh [MMLAB]      (default build/mmlab)
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
bad() { echo "FAIL $1"; sed 's/^/    /' "$dir/err" 2>/dev/null; failed=$((failed + 1)); }

# on_pty OUT ARGS...: mmlab ARGS with stderr on a pty (stdout to OUT.stdout),
# what the pty showed in OUT; the status of mmlab
on_pty() {
	out=$1
	shift
	python3 - "$out" "$mmlab" "$@" <<'PY'
import os, pty, subprocess, sys
out = sys.argv[1]
master, slave = pty.openpty()
with open(out + ".stdout", "wb") as so:
    p = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=so, stderr=slave)
os.close(slave)
got = b""
while True:
    try:
        b = os.read(master, 65536)
    except OSError:  # EIO: the other end closed
        break
    if not b:
        break
    got += b
open(out, "wb").write(got)
sys.exit(p.wait())
PY
}

# drawn NAME FILE LABEL: FILE (what a pty showed) has the line for LABEL,
# redrawn with \r, its fields, and ends it with a newline
drawn() {
	if python3 - "$2" "$3" >"$dir/err" 2>&1 <<'PY'
import re, sys
t = open(sys.argv[1], "rb").read().decode().replace("\r\n", "\n")  # the pty's own newline
label = sys.argv[2]
assert "\r" + label in t, "no line for %r in %r" % (label, t[-300:])
last = t[t.rindex("\r" + label):]
m = re.match(r"\r([^\r\n]*)\n", last)
assert m, "the last line does not end with a newline: %r" % last[:300]
assert re.search(r": \d+(/\d+)? \S+( \(\d+%\))?, [\d.]+/s, elapsed \d+:\d\d, ETA (\d+:\d\d|\?), \d+ failed$",
                 m.group(1)), "fields: %r" % m.group(1)
PY
	then ok "$1"; else bad "$1"; fi
}

# quiet NAME FILE: no carriage return in FILE
quiet() {
	if grep -q "$(printf '\r')" "$2"; then
		echo "a carriage return in: $(od -c "$2" | head -5)" >"$dir/err"
		bad "$1"
	else
		ok "$1"
	fi
}

echo "== progress lines =="
on_pty "$dir/fuzz" fuzz --ops 3000
drawn "fuzz on a terminal: the line, ended by a newline" "$dir/fuzz" "fuzz seed 1: "
grep -q '^seed 1: 3000 operations' "$dir/fuzz.stdout" && ok "fuzz on a terminal: its summary on stdout" ||
	{ cat "$dir/fuzz.stdout" >"$dir/err"; bad "fuzz on a terminal: its summary on stdout"; }
on_pty "$dir/fuzzt" fuzz --time 0.5
drawn "fuzz --time on a terminal: ETA from the time limit" "$dir/fuzzt" "fuzz seed 1: "
on_pty "$dir/seeds" fuzz --seeds 1-2 --ops 500
drawn "fuzz --seeds on a terminal: one line over the seeds" "$dir/seeds" "fuzz seeds 1-2: "
on_pty "$dir/stress" stress --story fork-gup --seeds 3
drawn "stress on a terminal" "$dir/stress" "fork-gup: "
on_pty "$dir/stressq" stress --story fork-gup --seeds 2 --quiet
quiet "stress --quiet on a terminal: no line" "$dir/stressq"
on_pty "$dir/stressj" stress --story fork-gup --seeds 2 --json
quiet "stress --json on a terminal: no line" "$dir/stressj"
on_pty "$dir/prog" progress --label zoo --done 2 --total 5 --failed 1 --end
drawn "mmlab progress on a terminal" "$dir/prog" "zoo: "

# not a terminal: no line at all
"$mmlab" fuzz --ops 3000 >"$dir/fuzz.plain" 2>&1
quiet "fuzz, not on a terminal: no carriage return" "$dir/fuzz.plain"
"$mmlab" fuzz --seeds 1-2 --ops 300 >"$dir/seeds.plain" 2>&1
quiet "fuzz --seeds, not on a terminal: no carriage return" "$dir/seeds.plain"
"$mmlab" stress --story fork-gup --seeds 3 >"$dir/stress.plain" 2>&1
quiet "stress, not on a terminal: no carriage return" "$dir/stress.plain"
"$mmlab" progress --label zoo --done 2 --total 5 >"$dir/prog.plain" 2>&1
[ ! -s "$dir/prog.plain" ] && ok "mmlab progress, not on a terminal: nothing" ||
	{ od -c "$dir/prog.plain" >"$dir/err"; bad "mmlab progress, not on a terminal: nothing"; }

echo "$passed passed, $failed failed"
[ -n "${MMLAB_SUMMARY:-}" ] && echo "$passed $failed" >>"$MMLAB_SUMMARY"
[ $failed -eq 0 ]
