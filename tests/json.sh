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

echo "$passed passed, $failed failed"
[ -n "${MMLAB_SUMMARY:-}" ] && echo "$passed $failed" >>"$MMLAB_SUMMARY"
[ $failed -eq 0 ]
