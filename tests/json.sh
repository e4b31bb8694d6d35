#!/bin/sh
# json.sh - the --json output of each command, validated against its
# JSON Schema in docs/schema/ by python3-jsonschema (tests/json-check.py),
# and some of its values checked against what the command does.  A check
# that must fail is run too: a document against a schema it breaks, so
# that a validator that passes everything does not pass this suite.
#
#   sh tests/json.sh [MMLAB]      (default build/mmlab)
#
# One PASS/FAIL line per check, then "N passed, M failed"; the counts go
# to $MMLAB_SUMMARY like every suite.
set -u
mmlab=${1:-build/mmlab}
check="python3 tests/json-check.py"
dir=$(mktemp -d) || exit 2
trap 'rm -rf "$dir"' EXIT INT TERM
passed=0
failed=0

ok() { echo "PASS $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; sed 's/^/    /' "$dir/err"; failed=$((failed + 1)); }

# json NAME WANT-STATUS SCHEMA EXPR... -- ARGS...: run mmlab ARGS, want
# that exit status and a document valid against docs/schema/SCHEMA.json
# for which every EXPR holds
json() {
	name=$1 want=$2 schema=docs/schema/$3.json
	shift 3
	n=0
	for a; do
		[ "$a" = -- ] && break
		n=$((n + 1))
	done
	exprs=$(mktemp "$dir/exprs.XXXXXX")
	i=0
	while [ $i -lt $n ]; do
		printf '%s\n' "$1" >>"$exprs"
		shift
		i=$((i + 1))
	done
	shift	# --
	"$mmlab" "$@" >"$dir/out" 2>"$dir/stderr"
	status=$?
	if [ $status -ne "$want" ]; then
		{ echo "exit status $status, not $want"; cat "$dir/stderr"; } >"$dir/err"
		bad "$name"
		return
	fi
	# the expressions, one an argument
	if (set --; while IFS= read -r e; do set -- "$@" "$e"; done <"$exprs"
	    $check "$schema" "$@" <"$dir/out" 2>"$dir/err"); then
		ok "$name"
	else
		bad "$name"
	fi
}

# must_fail NAME SCHEMA-EDIT: the last document against its schema with
# the Python edit applied (to `s`), which it must not pass
must_fail() {
	python3 -c "import json,sys; s = json.load(open(sys.argv[1])); $3; json.dump(s, open(sys.argv[2], 'w'))" \
		"docs/schema/$2.json" "$dir/wrong.json"
	if $check "$dir/wrong.json" <"$dir/out" 2>"$dir/err"; then
		echo "the document passed a schema it breaks" >"$dir/err"
		bad "$1"
	else
		ok "$1"
	fi
}

echo "== --json =="
python3 -c 'import jsonschema' 2>"$dir/err" || { bad "python3-jsonschema (scripts/deps.sh installs it)"; exit 1; }

# --- mmlab bugs ---
names=$("$mmlab" bugs --names | tr '\n' ' ')
json "bugs --json: the zoo, in the order of --names" 0 bugs \
	"' '.join(b['name'] for b in d['bugs']) + ' ' == '$names'" \
	"all(b['command'].endswith(' ' + b['fuzz_options']) or b['found_by'] == 'stress' or not b['fuzz_options'] for b in d['bugs'])" \
	"[b['story'] for b in d['bugs'] if b['name'] == 'table-free-no-rcu'] == ['munmap-gup']" \
	-- bugs --json
must_fail "bugs --json: a schema it breaks fails it" bugs \
	"s['properties']['bugs']['items']['properties']['found_by'] = {'enum': ['fuzz']}"
"$mmlab" bugs --json --names >/dev/null 2>&1
[ $? -eq 2 ] && ok "bugs --json --names: bad usage" || { echo "not exit 2" >"$dir/err"; bad "bugs --json --names: bad usage"; }

# --- mmlab stress ---
json "stress --json: a clean story" 0 stress \
	"d['stories'][0]['name'] == 'fork-gup' and d['stories'][0]['failed'] == 0" \
	"d['depth'] is None and d['bug'] is None and d['stories'][0]['last_run']['seed'] == 3" \
	-- stress --story fork-gup --seeds 3 --json
json "stress --json: a zoo race, its first failure and replay" 1 stress \
	"d['stories'][0]['failed'] >= 1 and d['bug'] == 'fork-no-write-protect-seq'" \
	"d['stories'][0]['first_failure']['trace'].count('\\n') == 5" \
	-- stress --story fork-gup --seeds 3 --strategy pct --inject-bug fork-no-write-protect-seq --trace 4 --json
cp "$dir/out" "$dir/stress-fail"
must_fail "stress --json: a schema it breaks fails it" stress \
	"s['properties']['stories']['items']['properties']['first_failure'] = {'type': 'null'}"
# the replay it prints gives the same trace hash
first=$(python3 -c 'import json,sys; f = json.load(sys.stdin)["stories"][0]["first_failure"]; print(f["replay"].replace("mmlab ", "", 1)); print(f["trace_hash"])' <"$dir/stress-fail")
replay=$(echo "$first" | sed -n 1p)
hash=$(echo "$first" | sed -n 2p)
json "stress --json: the replay, the same trace hash" 1 stress \
	"d['stories'][0]['failed'] == 1 and d['stories'][0]['first_failure']['trace_hash'] == '$hash'" \
	"d['stories'][0]['last_run']['trace_hash'] == '$hash'" \
	-- $replay --json
"$mmlab" stress --story no-such-story --json >"$dir/out" 2>/dev/null
[ $? -eq 2 ] && [ ! -s "$dir/out" ] && ok "stress --json: bad input, nothing on stdout" ||
	{ echo "not exit 2 with an empty stdout" >"$dir/err"; bad "stress --json: bad input, nothing on stdout"; }

# --- mmlab run ---
json "run --json: the demo" 0 run \
	"d['files'][0]['file'] == 'demo:cow' and d['files'][0]['statements'] > 10" \
	"'=== 1. mmap' in d['files'][0]['output']" \
	-- run --json
json "run --json: pass, fail and bad in one run" 2 run \
	"[f['result'] for f in d['files']] == ['pass', 'fail', 'bad']" \
	"d['files'][1]['failure']['line'] == 5 and 'present exclusive' in d['files'][1]['failure']['message']" \
	"d['files'][2]['diagnostics'].startswith('tests/scenarios/bad-byte-pattern.scn:3:14: ')" \
	-- run --json tests/scenarios/cow-basic-fork-mprotect.scn tests/scenarios/fail-pagemap.scn tests/scenarios/bad-byte-pattern.scn
must_fail "run --json: a schema it breaks fails it" run \
	"s['properties']['files']['items']['properties']['result'] = {'enum': ['pass', 'fail']}"
# escaping: a file name with a quote, a backslash, a tab, a newline and bytes that are no UTF-8
weird=$(printf '%s/a"b\\c\td\ne\377\303(f\303\251.scn' "$dir")
json "run --json: a file name that needs escaping" 2 run \
	"d['files'][0]['file'] == '$dir/a\"b\\\\c\\td\\ne\\ufffd\\ufffd(f\\u00e9.scn'" \
	"d['files'][0]['result'] == 'bad'" \
	-- run --json "$weird"

# --- mmlab fuzz ---
json "fuzz --json: one seed, no divergence" 0 fuzz \
	"d['total'] == {'seeds': 1, 'operations': 300, 'diverged': []} and d['seeds'][0]['divergence'] is None" \
	"d['options'] == '--ops 300 --ram 2M' and d['seeds'][0]['output'].startswith('seed 1: 300 operations')" \
	-- fuzz --ops 300 --ram 2M --json
json "fuzz --json: a zoo entry's divergence and its reproducer" 1 fuzz \
	"d['total']['diverged'] == [1] and d['seeds'][0]['divergence']['why'] and d['seeds'][0]['divergence']['operation'] > 0" \
	"'machine ram=' in d['seeds'][0]['divergence']['scenario']" \
	-- fuzz --inject-bug cow-reuse-mapcount --seed 1 --ops 3000 --shrink-time 1 --json
python3 -c 'import json,sys; print(json.load(sys.stdin)["seeds"][0]["divergence"]["scenario"], end="")' \
	<"$dir/out" >"$dir/repro.scn"
"$mmlab" run --inject-bug cow-reuse-mapcount "$dir/repro.scn" >/dev/null 2>&1
[ $? -eq 1 ] && ok "fuzz --json: its scenario fails under mmlab run with the bug" ||
	{ echo "not exit 1" >"$dir/err"; bad "fuzz --json: its scenario fails under mmlab run with the bug"; }
must_fail "fuzz --json: a schema it breaks fails it" fuzz \
	"s['properties']['seeds']['items']['properties']['divergence'] = {'type': 'null'}"
# split runs' documents merge into the whole range's (docs/json.md), rates apart
"$mmlab" fuzz --seeds 1-3 --ops 200 --json >"$dir/all.json" 2>/dev/null
"$mmlab" fuzz --seeds 2-3 --ops 200 --json >"$dir/b.json" 2>/dev/null
"$mmlab" fuzz --seeds 1-1 --ops 200 --json >"$dir/a.json" 2>/dev/null
cat "$dir/b.json" "$dir/a.json" | python3 -c 'import json,sys; ds=[json.loads(l) for l in sys.stdin]; s=sorted((x for d in ds for x in d["seeds"]), key=lambda x: x["seed"]); print(json.dumps({"options": ds[0]["options"], "seeds": s, "total": {"seeds": len(s), "operations": sum(x["operations"] for x in s), "diverged": [x["seed"] for x in s if x["divergence"]]}}))' >"$dir/merged.json"
if python3 - "$dir/all.json" "$dir/merged.json" >"$dir/err" 2>&1 <<'PY'
import json, sys
a, m = (json.load(open(f)) for f in sys.argv[1:])
for d in (a, m):
    for x in d["seeds"]:
        x.pop("ops_per_s"); x.pop("output")
assert a == m, (a, m)
PY
then ok "fuzz --json: split --seeds documents merge to the whole range's"; else bad "fuzz --json: split --seeds documents merge to the whole range's"; fi

# --- mmlab bench ---
json "bench --json: the table's rows, the text on stderr" 0 bench \
	"d['bench'] == 'fault' and d['size'] == 1048576 and d['reps'] == 1 and d['native']" \
	"[r['side'] for r in d['rows']].count('mmlab') == 7 and all(r['vs']['side'] == 'native' for r in d['rows'] if r['side'] == 'mmlab')" \
	"all(r['limit']['ratio'] > 0 for r in d['rows'] if r['side'] == 'mmlab') and all(r['spread'] is None for r in d['rows'])" \
	"d['host']['cpus'] >= 1 and d['host']['minor_fault_seconds'] > 0 and all(v > 0 for v in d['host']['limits'].values())" \
	-- bench fault --size 1M --reps 1 --json
grep -q '^mmlab bench fault: two regions' "$dir/stderr" && ok "bench --json: its text went to stderr" ||
	{ cp "$dir/stderr" "$dir/err"; bad "bench --json: its text went to stderr"; }
must_fail "bench --json: a schema it breaks fails it" bench \
	"s['properties']['rows']['items']['properties']['vs'] = {'type': 'null'}"

# --- mmlab conform ---
json "conform --json: a verdict per file, skips with reasons" 0 conform \
	"[f['verdict'] for f in d['files']] == ['agree', 'agree'] and d['exit_status'] == 0" \
	"all(f['first_difference'] is None for f in d['files']) and d['scenarios']['agreed'] == 2" \
	-- conform --json tests/conformance/cow-basic-fork-mprotect-swapped.scn tests/conformance/compact-memory.scn
# a statement the host cannot judge: a skip, with its side and reason
printf 'spawn A\np = mmap A 0 4k rw private,anonymous\nwrite A p 4k 1\nexpect vmstat nr_free_pages == 1\n' >"$dir/skip.scn"
json "conform --json: a skip, its line, side and reason" 0 conform \
	"d['files'][0]['skips'] == [{'line': 4, 'side': 'linux', 'reason': d['files'][0]['skips'][0]['reason']}]" \
	"'system-wide' in d['files'][0]['skips'][0]['reason'] and d['observations']['skipped'] == 1" \
	-- conform --json "$dir/skip.scn"
must_fail "conform --json: a schema it breaks fails it" conform \
	"s['properties']['files']['items']['properties']['verdict'] = {'enum': ['disagree']}"

# --- the views: mmlab show --json VIEW, on a state with anon, swapped,
# THP, file and shmem mappings; each document against its schema and
# against the text view of the same state, field by field ---
views=tests/scenarios/views-json.scn
json "show --json smaps: anon, swap, THP, file and shmem VMAs" 0 view-smaps \
	"[v['pathname'] for v in d['vmas']] == [None, None, '/tmp/views-json', '/dev/zero (deleted)']" \
	"d['vmas'][0]['Swap'] == 4 and d['vmas'][0]['Rss'] == 4 and d['vmas'][0]['SwapPss'] == 4" \
	"d['vmas'][1]['AnonHugePages'] == 2048 and d['vmas'][1]['THPeligible'] == 1 and 'hg' in d['vmas'][1]['VmFlags']" \
	"d['vmas'][2]['perms'] == 'rw-s' and d['vmas'][2]['Rss'] == 4 and d['vmas'][2]['Anonymous'] == 0" \
	"d['vmas'][0]['VmFlags'][:2] == ['rd', 'wr'] and d['vmas'][0]['start'] == 0x40000000" \
	-- show --json "$views" smaps A
must_fail "show --json smaps: a schema it breaks fails it" view-smaps \
	"s['properties']['vmas']['items']['properties']['VmFlags']['items']['pattern'] = '^[A-Z]{2}\$'"
cp "$dir/out" "$dir/smaps.json"
# view_agrees VIEW ARGS...: the JSON and the text of the view hold the same fields
view_agrees() {
	v=$1
	shift
	"$mmlab" show --json "$views" "$v" "$@" >"$dir/view.json" 2>"$dir/err" &&
		"$mmlab" show "$views" "$v" "$@" >"$dir/view.txt" 2>>"$dir/err" &&
		python3 tests/json-views.py "$v" "$dir/view.txt" "$dir/view.json" 2>>"$dir/err" &&
		ok "show --json $v: the same fields as the text" || bad "show --json $v: the same fields as the text"
}
view_agrees smaps A
# the comparison can fail: a JSON with one field changed is not the text
python3 -c 'import json,sys; d = json.load(open(sys.argv[1])); d["vmas"][1]["AnonHugePages"] = 0; json.dump(d, open(sys.argv[1], "w"))' "$dir/view.json"
python3 tests/json-views.py smaps "$dir/view.txt" "$dir/view.json" 2>/dev/null &&
	{ echo "a changed field passed" >"$dir/err"; bad "show --json: a JSON that is not the text fails the comparison"; } ||
	ok "show --json: a JSON that is not the text fails the comparison"
view_agrees maps A
view_agrees vmstat
view_agrees meminfo
json "show --json maps: the VMAs of smaps" 0 view-maps \
	"[(v['start'], v['end'], v['perms']) for v in d['vmas']] == [(v['start'], v['end'], v['perms']) for v in __import__('json').load(open('$dir/smaps.json'))['vmas']]" \
	-- show --json "$views" maps A
json "show --json pagemap: present, swapped and absent pages decoded" 0 view-pagemap \
	"[(e['present'], e['swap']) for e in d['entries']] == [(True, False), (False, True), (False, False), (False, False)]" \
	"d['entries'][0]['mmap_exclusive'] and d['entries'][0]['pfn'] == int(d['entries'][0]['entry'], 16) & (2**55 - 1)" \
	"d['entries'][1]['swap_type'] == 0 and d['entries'][1]['swap_offset'] is not None and d['entries'][1]['pfn'] is None" \
	"[e['address'] for e in d['entries']] == [0x40000000 + i * 4096 for i in range(4)]" \
	-- show --json "$views" pagemap A p 16k
must_fail "show --json pagemap: a schema it breaks fails it" view-pagemap \
	"s['properties']['entries']['items']['properties']['swap_type'] = {'type': 'null'}"
json "show --json pagemap: a THP's frames in a row, a hole, a file page's PM_FILE" 0 view-pagemap \
	"[e['pfn'] - d['entries'][0]['pfn'] for e in d['entries'][:512]] == list(range(512))" \
	"not any(e['present'] or e['swap'] or e['soft_dirty'] for e in d['entries'][512:1024])" \
	"d['entries'][1024]['file'] and d['entries'][1024]['present'] and not d['entries'][0]['file']" \
	-- show --json "$views" pagemap A h 0x401000
json "show --json vmstat: the counters by their Linux names" 0 view-vmstat \
	"d['thp_fault_alloc'] == 1 and d['pswpout'] >= 1 and d['nr_anon_transparent_hugepages'] == 1" \
	-- show --json "$views" vmstat
json "show --json meminfo: the fields in kB" 0 view-meminfo \
	"d['MemTotal'] == 65536 and d['SwapTotal'] - d['SwapFree'] == 4 and d['AnonHugePages'] == 2048" \
	-- show --json "$views" meminfo
for args in "machine" "smaps A p" "vmstat pgfault"; do
	# shellcheck disable=SC2086
	"$mmlab" show --json "$views" $args >"$dir/out" 2>/dev/null
	[ $? -eq 2 ] && [ ! -s "$dir/out" ] && ok "show --json $args: bad usage, nothing on stdout" ||
		{ echo "not exit 2 with an empty stdout" >"$dir/err"; bad "show --json $args: bad usage, nothing on stdout"; }
done

echo "$passed passed, $failed failed"
[ -n "${MMLAB_SUMMARY:-}" ] && echo "$passed $failed" >>"$MMLAB_SUMMARY"
[ $failed -eq 0 ]
