#!/bin/sh
# check-layers.sh - the arrows of docs/ARCHITECTURE.md's layer diagram,
# checked on the source text.  Run by `make check-layers` (and so by
# `make test`) from the top of the tree.
#
#   src/sync    includes nothing of the other layers
#   src/lib     data structures below the core (xarray, rbtree): may include
#               src/sync alone
#   src/arch    may include src/sync and the core's public headers
#               (mm/mm.h, mm/mm_types.h, mm/swapops.h, mm/list.h), never
#               mm/internal.h or mm/hooks.h, nor a layer above the core
#   src/drivers may include the core's public headers and mm/hooks.h (a
#               device's bug-zoo switches), never mm/internal.h, nor a
#               layer above the core
#   src/fs      may include the core's public headers (mm/mm.h,
#               mm/pagemap.h) and mm/hooks.h, never mm/internal.h, nor a
#               layer above the core
#   src/mm      never includes src/oracle, src/scenario, src/native or
#               src/drivers (it
#               asks its oracles through mm/hooks.h, and releases devices
#               through struct mml_device_head), and never names a
#               bit of an entry (_PAGE_*, _PFN_*, _SWP_*) or an x86
#               protection (PAGE_NONE, PAGE_SHARED*, PAGE_COPY*,
#               PAGE_READONLY*): those are arch's
#   src/view    the pictures: read the core (mm/internal.h), never a layer
#               above it, and never name a bit of an entry, as src/mm
#   elsewhere   arch/pgtable_types.h is included by src/arch alone
#   docs        the lock-order tree of docs/ARCHITECTURE.md is the one atop
#               src/mm/rmap.c, line for line
#
# Prints FILE:LINE: what is wrong, for each violation; exits 1 if any.

out=$(mktemp "${TMPDIR:-/tmp}/check-layers.XXXXXX") || exit 2
trap 'rm -f "$out"' EXIT INT TERM

# rule MESSAGE PATTERN FILE...: every line of FILE... that matches PATTERN
rule() {
	message=$1
	pattern=$2
	shift 2
	[ $# -gt 0 ] || return 0
	grep -nHE "$pattern" "$@" | sed "s|^\([^:]*:[0-9]*\):.*|\1: $message|" >>"$out"
}

files() {
	find "$@" -name '*.[ch]' | sort
}

inc='^[[:space:]]*#[[:space:]]*include[[:space:]]*"'
bits='\b_(PAGE|PFN|SWP)_[A-Z]|\bPAGE_(NONE|SHARED|COPY|READONLY)'

rule "src/sync includes another layer" \
	"$inc(mm|arch|lib|drivers|oracle|scenario|native)/" $(files src/sync)
rule "src/lib includes a layer other than src/sync" \
	"$inc(mm|arch|drivers|oracle|scenario|native)/" $(files src/lib)
rule "src/arch includes the core's private header or a layer above the core" \
	"$inc(mm/internal\.h|mm/hooks\.h|oracle/|scenario/|native/)" $(files src/arch)
rule "src/drivers includes the core's private header or a layer above the core" \
	"$inc(mm/internal\.h|oracle/|scenario/|native/)" $(files src/drivers)
rule "src/fs includes the core's private header or a layer above the core" \
	"$inc(mm/internal\.h|oracle/|scenario/|native/|drivers/)" $(files src/fs)
rule "src/mm includes a layer above it (ask through mm/hooks.h)" \
	"$inc(oracle|scenario|native|drivers)/" $(files src/mm)
rule "src/mm names a bit of an entry (use the accessors of arch/pgtable.h)" \
	"$bits" $(files src/mm)
rule "src/view includes a layer above the core" \
	"$inc(oracle|scenario|native|drivers)/" $(files src/view)
rule "src/view names a bit of an entry (use the accessors of arch/pgtable.h)" \
	"$bits" $(files src/view)
rule "src/mm includes src/view (the pictures are drawn from outside the core)" \
	"${inc}view/" $(files src/mm)
rule "arch/pgtable_types.h is private to src/arch" \
	"${inc}arch/pgtable_types\.h" $(files src include tools tests fuzz | grep -v '^src/arch/')

# The tree: the indented lines after "Lock order" in rmap.c's opening
# comment, and the first fenced block after "## Lock order" in the docs.
tree_src=$(awk '/Lock order, the whole/ { on = 1; next }
	on && /^ \*$/ { if (seen) exit; next }
	on && /^ \*   / { seen = 1; print substr($0, 6) }' src/mm/rmap.c)
tree_doc=$(awk '/^## Lock order/ { on = 1; next }
	on && /^```/ { if (in_block) exit; in_block = 1; next }
	in_block { print }' docs/ARCHITECTURE.md)
if [ -z "$tree_src" ] || [ "$tree_src" != "$tree_doc" ]; then
	echo "docs/ARCHITECTURE.md:1: the lock-order tree differs from the one atop src/mm/rmap.c" >>"$out"
fi

if [ -s "$out" ]; then
	cat "$out"
	echo "check-layers: $(wc -l <"$out") problem(s): see docs/ARCHITECTURE.md, Layers and Lock order"
	exit 1
fi
echo "check-layers: every include and every entry bit stays in its layer"
