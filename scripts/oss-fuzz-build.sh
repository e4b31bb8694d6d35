#!/bin/sh
# oss-fuzz-build.sh - build the libFuzzer targets as OSS-Fuzz and
# ClusterFuzzLite build a project: with their compiler ($CC), their flags
# ($CFLAGS: sanitizers and -fsanitize=fuzzer-no-link), their engine
# ($LIB_FUZZING_ENGINE, a flag or an archive) and into their output
# directory ($OUT):
#
#   $OUT/fuzz_NAME               every fuzz/fuzz_NAME.c
#   $OUT/fuzz_NAME_seed_corpus.zip   fuzz/corpus/NAME/, flat
#   $OUT/fuzz_NAME.dict          fuzz/fuzz_NAME.dict, if there is one
#
# The library's sources are compiled with the same flags (coverage needs
# them instrumented) into $WORK, an archive there, and each target linked
# against it.  Nothing but these variables and the repository is used, so
# `make fuzz-targets` runs this script too (docs/testing.md, "Fuzzing at
# scale").  A $WORK kept between runs is reused: a source newer than its
# object is compiled again, and everything when a header changed or the
# compiler or flags did (OSS-Fuzz's $WORK is fresh, so it compiles all).
set -eu

: "${CC:?the compiler}" "${CFLAGS?the fuzzing flags}" "${LIB_FUZZING_ENGINE:?the engine}" "${OUT:?the output directory}"
export CC CFLAGS

# both as given from where we were called, then to the repository
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
if [ -n "${WORK:-}" ]; then
	mkdir -p "$WORK"
	work=$(cd "$WORK" && pwd)
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/mmlab-fuzz-build.XXXXXX")
	trap 'rm -rf "$work"' EXIT INT TERM
fi
cd "$(dirname "$0")/.."

stamp=$work/mmlab-fuzz.flags
if [ "$(cat "$stamp" 2>/dev/null)" != "$CC $CFLAGS" ] ||
   [ -n "$(find include src fuzz -name '*.h' -newer "$stamp" 2>/dev/null | head -n 1)" ]; then
	rm -rf "$work/obj"
fi

# Sources whose objects are missing or older, compiled on every CPU.
for c in src/*/*.c fuzz/*.c; do
	o=$work/obj/${c%.c}.o
	[ -f "$o" ] && [ ! "$c" -nt "$o" ] && continue
	echo "$c"
done >"$work/todo"
echo "oss-fuzz-build: compiling $(wc -l <"$work/todo") sources with $CC"
# shellcheck disable=SC2016
xargs -r -P "$(nproc 2>/dev/null || echo 1)" -n 1 sh -c \
	'o=$0/obj/${1%.c}.o; mkdir -p "${o%/*}" && $CC $CFLAGS -std=gnu11 -Iinclude -Isrc -pthread -c "$1" -o "$o"' \
	"$work" <"$work/todo"
echo "$CC $CFLAGS" >"$stamp"

lib=$work/libmmlab-fuzz.a
rm -f "$lib"
ar rcs "$lib" "$work"/obj/src/*/*.o

# The default RCU, liburcu-bp, as the plain and ASan builds link it;
# Graphviz's libraries for the pictures a scenario's show statement draws.
for c in fuzz/fuzz_*.c; do
	name=$(basename "$c" .c)
	corpus=fuzz/corpus/${name#fuzz_}
	echo "oss-fuzz-build: $OUT/$name"
	# shellcheck disable=SC2086
	$CC $CFLAGS "$work/obj/fuzz/$name.o" -o "$OUT/$name" $LIB_FUZZING_ENGINE "$lib" -lurcu-bp -lgvc -lcgraph -lcdt -pthread
	rm -f "$OUT/${name}_seed_corpus.zip" "$OUT/$name.dict"
	if [ -d "$corpus" ]; then
		if command -v zip >/dev/null 2>&1; then
			zip -q -j -X "$OUT/${name}_seed_corpus.zip" "$corpus"/*
		else
			python3 -c 'import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
	for f in sys.argv[2:]:
		z.write(f, os.path.basename(f))' "$OUT/${name}_seed_corpus.zip" "$corpus"/*
		fi
	fi
	if [ -f "fuzz/$name.dict" ]; then
		cp "fuzz/$name.dict" "$OUT/$name.dict"
	fi
done
