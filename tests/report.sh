#!/bin/sh
# report.sh - `mmlab run --report` and the pictures, as a browser and an
# XML parser see them: the page of the demo and of
# tests/scenarios/show-pictures.scn loaded in headless Chromium (Debian's
# chromium, installed by `scripts/deps.sh report` when missing) with no
# console message and every picture in the DOM; the --show-dir SVG files
# well-formed XML with the labels they must have.  A page with a console
# error is loaded too and must be caught, so that a check that sees
# nothing does not pass.
#
# Chromium runs with --no-sandbox: its sandbox cannot start as root,
# which is how tests run here (Chromium refuses to start otherwise).
#
#   sh tests/report.sh [MMLAB]      (default build/mmlab)
set -u
mmlab=${1:-build/mmlab}
dir=$(mktemp -d) || exit 2
trap 'rm -rf "$dir"' EXIT INT TERM
passed=0
failed=0
sh scripts/deps.sh report || exit 2

ok() { echo "PASS $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; sed 's/^/    /' "$dir/err"; failed=$((failed + 1)); }
check() { name=$1; shift; if "$@" >"$dir/err" 2>&1; then ok "$name"; else bad "$name"; fi; }

# browse PAGE: its DOM after loading in PAGE.dom, Chromium's log in PAGE.log
browse() {
	timeout 60 chromium --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$dir/profile" \
		--enable-logging=stderr --v=0 --dump-dom "file://$1" >"$1.dom" 2>"$1.log"
}

# loads PAGE N: loads with no console message, and its N pictures are in the DOM, each an SVG
loads() {
	browse "$1" || { echo "chromium failed"; cat "$1.log"; return 1; }
	if grep "CONSOLE" "$1.log"; then
		return 1
	fi
	figs=$(grep -o '<figure class="picture"' "$1.dom" | wc -l)
	svgs=$(grep -o '<figure class="picture" data-kind="[a-z]*"><svg' "$1.dom" | wc -l)
	echo "pictures: $figs in the DOM, $svgs of them SVG, $2 expected"
	[ "$figs" -eq "$2" ] && [ "$svgs" -eq "$2" ] && grep -q '</html>' "$1"
}

"$mmlab" run --report "$dir/demo.html" >/dev/null 2>&1
check "run --report: the demo's page loads clean, its 3 pictures inline" loads "$dir/demo.html" 3
check "run --report: the demo's page marks its expectations met" \
	grep -q '<td class="verdict">expectation met' "$dir/demo.html"

"$mmlab" run --report "$dir/show.html" tests/scenarios/show-pictures.scn >/dev/null 2>&1
check "run --report: show-pictures.scn's page, its 10 pictures" loads "$dir/show.html" 10

# a failing file: its row says so, and the statements after it did not run
printf 'spawn A\np = mmap A 0 4k rw private,anonymous\nexpect pagemap A p present\nshow machine\n' >"$dir/f.scn"
"$mmlab" run --report "$dir/fail.html" "$dir/f.scn" >/dev/null 2>&1
check "run --report: a failed expectation is marked, the rest not run" \
	sh -c "grep -q '<tr class=\"fail\"><td>3</td>' '$dir/fail.html' && grep -q '1 statement not run' '$dir/fail.html'"

printf '<!DOCTYPE html><html><body><script>console.error("broken")</script></body></html>\n' >"$dir/broken.html"
if loads "$dir/broken.html" 0 >"$dir/err" 2>&1; then
	echo "a console error went unseen" >"$dir/err"
	bad "loads: a page with a console error fails"
else
	ok "loads: a page with a console error fails"
fi

# the files of --show-dir: well-formed SVG, with what each must draw
mkdir "$dir/pics"
"$mmlab" run --show-dir "$dir/pics" tests/scenarios/show-pictures.scn >/dev/null 2>&1
svg_has() {
	python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$1" &&
		for label in "$@"; do [ "$label" = "$1" ] || grep -q -- "$label" "$1" || { echo "no '$label' in $1"; return 1; }; done
}
p=$dir/pics/show-pictures
check "--show-dir: pagetable SVG, its levels, the zero page, a swap slot" \
	svg_has "$p-17-pagetable.svg" "pte table" "pmd table" "shared zero page" "swap slot 0:1" "swap count 2"
check "--show-dir: rmap SVG, anon_vma tree and both processes" \
	svg_has "$p-18-rmap.svg" "anon_vma (root)" "mm of pid 1" "mm of pid 2"
check "--show-dir: THP pagetable SVG, a pmd leaf" svg_has "$p-24-pagetable.svg" "present huge" "folio of 512 pages"
check "--show-dir: file rmap SVG, its address_space" svg_has "$p-30-rmap.svg" "address_space of ino" "pictures"
check "--show-dir: KSM rmap SVG, its stable node" svg_has "$p-36-rmap.svg" "KSM stable node"
check "--show-dir: machine SVG" svg_has "$p-38-machine.svg" "node 0" "process 1" "process 2" "swap device 0"
check "--show-dir: one file per picture statement" sh -c "[ \$(ls '$dir/pics' | wc -l) -eq 10 ]"

echo "$passed passed, $failed failed"
[ -n "${MMLAB_SUMMARY:-}" ] && echo "$passed $failed" >>"$MMLAB_SUMMARY"
[ $failed -eq 0 ]
