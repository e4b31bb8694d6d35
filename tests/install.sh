#!/bin/sh
# install.sh - `make install` into a temporary DESTDIR with PREFIX=/usr,
# then used as its users would use it: README.md's example built with
# pkg-config against the installed copy, linked to the shared library
# (its soname checked) and with libmmlab.a; the man pages found by man,
# rendered without a warning, their examples built and run; then
# `make uninstall` with the same DESTDIR must leave no file behind.
#
# One line per check (PASS/FAIL, with the log of a failure), then
# "N passed, M failed"; the counts go to $MMLAB_SUMMARY like every suite.
# Run from the top of the tree; $MAKE is the make to call.
set -u
. tests/readme-lib.sh
make=${MAKE:-make}
cc=cc

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mmlab-install-test.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
dest=$tmp/root
lib=$dest/usr/lib
log=$tmp/log

echo "== install =="
passed=0
failed=0

pass() {
	echo "PASS install: $1"
	passed=$((passed + 1))
}

# fail WHAT: the log of the command that failed follows
fail() {
	echo "FAIL install: $1"
	failed=$((failed + 1))
	sed 's/^/    /' "$log" | tail -n 40
}

finish() {
	echo "$passed passed, $failed failed"
	[ -n "${MMLAB_SUMMARY:-}" ] && echo "$passed $failed" >>"$MMLAB_SUMMARY"
	[ "$failed" -eq 0 ]
	exit
}

# check WHAT COMMAND...: COMMAND, its output into $log, must succeed
check() {
	what=$1
	shift
	if "$@" >"$log" 2>&1; then
		pass "$what"
	else
		fail "$what"
	fi
}

# Built first, so that install has nothing to build: it must not
# compile, link or generate anything (V=0: make's short lines).
if ! $make --no-print-directory all >"$log" 2>&1; then
	fail "the build"
	finish
fi
if ! $make --no-print-directory install PREFIX=/usr DESTDIR="$dest" V=0 >"$log" 2>&1; then
	fail "make install PREFIX=/usr DESTDIR=..."
	finish
fi
if grep -Eq '^  (CC|LD|AR|GEN)	' "$log"; then
	fail "make install built something after make"
else
	pass "make install PREFIX=/usr DESTDIR=..., nothing rebuilt"
fi

version=$(sed -n 's/^#define MMLAB_VERSION "\(.*\)"$/\1/p' include/mmlab.h)
soname=libmmlab.so.${version%%.*}
so=$lib/libmmlab.so.$version

installed_files() {
	for f in usr/bin/mmlab usr/include/mmlab.h usr/lib/libmmlab.a usr/lib/libmmlab.so.$version \
		 usr/lib/pkgconfig/mmlab.pc usr/share/man/man1/mmlab.1 usr/share/man/man3/mmlab.3 \
		 usr/share/man/man5/mmlab-scenario.5; do
		[ -f "$dest/$f" ] && [ ! -L "$dest/$f" ] || { echo "no file $f"; return 1; }
	done
	ls -lR "$dest"
	[ -x "$dest/usr/bin/mmlab" ] && cmp include/mmlab.h "$dest/usr/include/mmlab.h" &&
		[ "$(readlink "$lib/$soname")" = "libmmlab.so.$version" ] &&
		[ "$(readlink "$lib/libmmlab.so")" = "$soname" ] &&
		[ "$("$dest/usr/bin/mmlab" --version)" = "mmlab $version" ]
}
check "the files; libmmlab.so -> $soname -> libmmlab.so.$version; mmlab $version" installed_files

# The loader finds the library by its soname, which the link records.
soname_is() {
	readelf -d "$so" | grep SONAME
	readelf -d "$so" | grep -q "(SONAME).*\[$soname\]"
}
check "libmmlab.so.$version has the soname $soname" soname_is

# The calls of mmlab.h and nothing else: a program's own functions named
# as the core's (current, mutex_lock ...) must not take their place.
exports_api() {
	others=$(nm -D --defined-only "$so" | awk '$3 !~ /^mml_/ { print $3 }')
	echo "exported besides mml_*:" $others
	[ -z "$others" ] && nm -D --defined-only "$so" | grep -q ' mml_machine_new$'
}
check "libmmlab.so exports the mml_ calls alone" exports_api

# pkg-config as a user of the staged tree: the sysroot before its paths.
PKG_CONFIG_PATH=$lib/pkgconfig
PKG_CONFIG_SYSROOT_DIR=$dest
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
pc_flags() {
	pkg-config --modversion mmlab && pkg-config --cflags --libs mmlab && pkg-config --static --libs mmlab
	[ "$(pkg-config --modversion mmlab)" = "$version" ] &&
		pkg-config --cflags mmlab | grep -q -- "-I$dest/usr/include" &&
		pkg-config --libs mmlab | grep -q -- "-L$lib -lmmlab" &&
		pkg-config --static --libs mmlab | grep -q -- "-lurcu-bp -luring -pthread"
}
check "pkg-config --modversion, --cflags, --libs, --static --libs mmlab" pc_flags

# needs_installed PROGRAM: it asks for the soname, and the loader finds
# the installed copy.
needs_installed() {
	readelf -d "$1" | grep NEEDED
	readelf -d "$1" | grep -q "(NEEDED).*\[$soname\]" &&
		LD_LIBRARY_PATH=$lib ldd "$1" | grep "$soname => $lib/$soname"
}

readme_extract "$tmp/example.c"
# shellcheck disable=SC2046 # pkg-config's flags are words
if $cc "$tmp/example.c" $(pkg-config --cflags --libs mmlab) -o "$tmp/example" >"$log" 2>&1; then
	pass "README example: cc example.c \$(pkg-config --cflags --libs mmlab)"
	check "README example: needs $soname, found in DESTDIR" needs_installed "$tmp/example"
	check "README example: runs on the shared library" readme_check env LD_LIBRARY_PATH="$lib" "$tmp/example"
else
	fail "README example: cc example.c \$(pkg-config --cflags --libs mmlab)"
fi
# libmmlab.a with its private libraries, the system's shared: Debian
# ships no static Graphviz (libgvc), so a wholly -static program cannot
# have the pictures' libraries.
# shellcheck disable=SC2046
if $cc "$tmp/example.c" $(pkg-config --static --cflags mmlab) -L"$lib" -Wl,-Bstatic -lmmlab -Wl,-Bdynamic \
	$(pkg-config --static --libs-only-other --libs-only-l mmlab | sed 's/-lmmlab//') -o "$tmp/example-static" \
	>"$log" 2>&1; then
	pass "README example: libmmlab.a linked with pkg-config --static's libraries"
	check "README example: static libmmlab, needs no $soname" sh -c \
		"readelf -d '$tmp/example-static' | grep NEEDED; ! readelf -d '$tmp/example-static' | grep -q '$soname'"
	check "README example: runs with libmmlab linked statically" readme_check "$tmp/example-static"
else
	fail "README example: libmmlab.a linked with pkg-config --static's libraries"
fi

# man_page SECTION NAME: where man looks for it, rendered with every
# warning on, its NAME line one that mandb can index.
man_page() {
	file=$dest/usr/share/man/man$1/$2.$1
	[ "$(man -M "$dest/usr/share/man" -w "$1" "$2")" = "$file" ] || { echo "man -w does not find $file"; return 1; }
	groff -man -ww -z -Tutf8 "$file" 2>&1 | grep . && return 1
	LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$file" 2>&1 >/dev/null | grep . && return 1
	lexgrog "$file"
}
check "mmlab(1): found by man, renders without a warning" man_page 1 mmlab
check "mmlab(3): found by man, renders without a warning" man_page 3 mmlab
check "mmlab-scenario(5): found by man, renders without a warning" man_page 5 mmlab-scenario

# The pages keep up with the code: mmlab(1) has every command, bench and
# long option of tools/*.c, mmlab(3) every call the library exports.
man_has_cli() {
	page=$(sed 's/\\-/-/g' "$dest/usr/share/man/man1/mmlab.1")
	missing=
	for o in $(sed -n 's/.*{ *"\([a-z-]*\)", *\(no\|required\|optional\)_argument.*/\1/p' tools/*.c); do
		echo "$page" | grep -q -- "--$o\>" || missing="$missing --$o"
	done
	for c in $(sed -n 's/^\t{ "\([a-z]*\)", \(cmd\|bench\)_[a-z]*,.*/\1/p' tools/*.c); do
		echo "$page" | grep -Eq "^\.(SS \"mmlab|B) $c( |\$)" || missing="$missing $c"
	done
	echo "not in mmlab(1):$missing"
	[ -z "$missing" ]
}
check "mmlab(1) has every command, bench and option of tools/*.c" man_has_cli
man_has_api() {
	missing=
	for f in $(nm -D --defined-only "$so" | awk '{ print $3 }'); do
		grep -q "\<$f ()" "$dest/usr/share/man/man3/mmlab.3" || missing="$missing $f"
	done
	echo "not in mmlab(3):$missing"
	[ -z "$missing" ]
}
check "mmlab(3) names every call of libmmlab.so" man_has_api

# man_examples PAGE PREFIX: each .EX/.EE block of PAGE, unescaped, into
# PREFIX1, PREFIX2 ...
man_examples() {
	awk -v out="$2" '/^\.EX$/ { n++; f = out n; next }
		/^\.EE$/ { f = ""; next }
		f { gsub(/\\-/, "-"); gsub(/\\e/, "\\"); print > f }' "$1"
}
man_examples "$dest/usr/share/man/man3/mmlab.3" "$tmp/man3-"
# shellcheck disable=SC2046
check "mmlab(3)'s example builds and runs against the installed copy" sh -c \
	"$cc -x c '$tmp/man3-1' $(pkg-config --cflags --libs mmlab) -o '$tmp/man3' &&
	 LD_LIBRARY_PATH='$lib' '$tmp/man3' | grep -qx 'the child reads old'"
man_examples "$dest/usr/share/man/man5/mmlab-scenario.5" "$tmp/man5-"
for scn in "$tmp"/man5-*; do
	check "mmlab-scenario(5)'s example ${scn##*-} runs" "$dest/usr/bin/mmlab" run "$scn"
done

if ! $make --no-print-directory uninstall PREFIX=/usr DESTDIR="$dest" >"$log" 2>&1; then
	fail "make uninstall PREFIX=/usr DESTDIR=..."
else
	check "make uninstall leaves no file behind" sh -c "! find '$dest' ! -type d | grep ."
fi
finish
