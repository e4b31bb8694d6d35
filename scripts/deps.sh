#!/bin/sh
# Install the Debian packages the build needs, only when they are missing.
# Called by the Makefile; safe to run again.  Needs root (or sudo) only when
# something is missing.
#
#   sh scripts/deps.sh          what the build and make test need
#   sh scripts/deps.sh report   chromium too, for tests/report.sh alone (it is large)
#   sh scripts/deps.sh plot     gnuplot too, for mmlab plot (tests/plot.sh
#                               asks for it; a build without plots does not)
set -e
need=""
if [ "${1:-}" = report ]; then
	command -v chromium >/dev/null 2>&1 || need="$need chromium"
fi
if [ "${1:-}" = plot ]; then
	command -v gnuplot >/dev/null 2>&1 || need="$need gnuplot-nox"
fi
[ -f /usr/include/x86_64-linux-gnu/urcu-bp.h ] || [ -f /usr/include/urcu-bp.h ] || need="$need liburcu-dev"
[ -f /usr/include/liburing.h ] || need="$need liburing-dev"
# Graphviz's library: the pictures (src/view/render.c)
[ -f /usr/include/graphviz/gvc.h ] || need="$need libgraphviz-dev"
command -v cc >/dev/null 2>&1 || need="$need gcc"
command -v make >/dev/null 2>&1 || need="$need make"
command -v clang >/dev/null 2>&1 || need="$need clang"
# make install's pkg-config file and man pages, as tests/install.sh uses them
command -v pkg-config >/dev/null 2>&1 || need="$need pkg-config"
command -v groff >/dev/null 2>&1 || need="$need groff-base"
command -v man >/dev/null 2>&1 || need="$need man-db"
# tests/json.sh validates --json output against docs/schema/ with it
python3 -c 'import jsonschema' >/dev/null 2>&1 || need="$need python3-jsonschema"
# ThreadSanitizer / libFuzzer runtimes for clang
ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.tsan-x86_64.a >/dev/null 2>&1 || need="$need libclang-rt-dev"
[ -z "$need" ] && exit 0
echo "deps: installing$need" >&2
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq $need >/dev/null
