# readme-lib.sh - README.md's short example for the scripts that build
# it: readme-example.sh against the build tree, install.sh against an
# installed copy.  Sourced, from the top of the tree.

# readme_extract FILE: the C block under "## A short example", as the
# README shows it, into FILE.
readme_extract() {
	awk '/^## A short example/ { want = 1; next }
	     want && /^```c$/ { on = 1; next }
	     on && /^```$/ { exit }
	     on { print }' README.md >"$1"
}

# readme_check COMMAND...: run the example; it must print what its
# comments say (the child reads "old"; munmap of an unaligned address is
# -EINVAL, -22) and exit 0.  Else what it did, indented, and 1.
readme_check() {
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] || ! echo "$out" | grep -q 'the child reads "old"' ||
	   ! echo "$out" | grep -q 'munmap of an unaligned address: -22'; then
		echo "    exit $rc, printed:"
		echo "$out" | sed 's/^/    /'
		return 1
	fi
	return 0
}
