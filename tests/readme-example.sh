#!/bin/sh
# readme-example.sh - README.md's short example, exactly as the README
# shows it: the C block under "## A short example" is compiled with the
# command its first line gives and run; it must print what the comments
# say (the child reads "old"; munmap of an unaligned address is -EINVAL,
# -22) and exit 0.
set -u
. tests/readme-lib.sh
dir=$(mktemp -d) || exit 2
trap 'rm -rf "$dir"' EXIT INT TERM
summary() { [ -n "${MMLAB_SUMMARY:-}" ] && echo "$1 $2" >>"$MMLAB_SUMMARY"; return 0; }

echo "== README example =="
readme_extract "$dir/example.c"
cmd=$(sed -n '1s|^/\* example.c: \(.*\) \*/$|\1|p' "$dir/example.c")
if [ -z "$cmd" ]; then
	echo "FAIL README example: its first line does not say how to compile it"
	summary 0 1
	exit 1
fi
# the command as written, from the top of the tree, the file and the program in $dir
cmd=$(echo "$cmd" | sed "s| example.c | $dir/example.c |; s|-o example\$|-o $dir/example|")
if ! sh -c "$cmd" 2>"$dir/cc.log"; then
	echo "FAIL README example: '$cmd' does not compile it"
	sed 's/^/    /' "$dir/cc.log"
	summary 0 1
	exit 1
fi
if ! readme_check "$dir/example"; then
	echo "FAIL README example"
	summary 0 1
	exit 1
fi
echo "PASS README example"
summary 1 0
