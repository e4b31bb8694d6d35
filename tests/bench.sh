#!/bin/sh
# bench.sh MMLAB VARIANT - `mmlab bench` runs and prints its tables, at a
# tiny size; its options are checked.  Never a timing: only that each bench
# finishes, checks what it read back (exit 0), prints every row it promises
# with the counts it must have, cleans up after itself, and refuses bad
# usage with exit 2 and a message.
#
# One line per check (PASS/FAIL, with the output of a failure), then
# "N passed, M failed"; the counts go to $MMLAB_SUMMARY like every suite.

if [ $# -ne 2 ]; then
	echo "usage: $0 MMLAB VARIANT" >&2
	exit 2
fi
mmlab=$1
variant=$2

# A sanitizer report must not pass for a failed check (both exit 1).
ASAN_OPTIONS="exitcode=86${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
UBSAN_OPTIONS="exitcode=87:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS UBSAN_OPTIONS

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mmlab-bench-test.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
log=$tmp/log

echo "== bench ($variant) =="
passed=0
failed=0

pass() {
	echo "PASS $1"
	passed=$((passed + 1))
}

# fail WHAT: the log of the command that failed follows
fail() {
	echo "FAIL $1"
	failed=$((failed + 1))
	sed 's/^/    /' "$log" | tail -n 40
}

# run NAME WANT ARGS...: run `mmlab ARGS` into $log, check its exit status
run() {
	name=$1
	want=$2
	shift 2
	"$mmlab" "$@" >"$log" 2>&1
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		fail "$name (exit $rc, expected $want)"
		return 1
	fi
	return 0
}

# has NAME REGEX...: every extended regex matches a line of $log
has() {
	name=$1
	shift
	for re in "$@"; do
		if ! grep -Eq -- "$re" "$log"; then
			fail "$name (no line matches: $re)"
			return 1
		fi
	done
	pass "$name"
}

# refused NAME ARGS...: exit 2 with a message naming the bench
refused() {
	name=$1
	shift
	run "$name" 2 "$@" && has "$name" "^mmlab bench"
}

# What the host's swap list shows of files the benches made.
leftover_swap() {
	grep -c -e mmlab-conform-swap -e "$tmp" /proc/swaps 2>/dev/null
}

run "bench lists the benches" 0 bench &&
	has "bench lists the benches" "^  swap " "^  fault " "^  notifier " "^  file " "^  thp " \
		"^  migrate " "^  lock " "^  commit " "^  refs " "^  ksm " "^  uffd " "^  sched " "^  scale "

# swap: 16 pages, one timed run; the rows and counts it must print
row='[0-9.]+ +(-|[0-9]+%) +[0-9.]+ +[0-9]+ +(-|[0-9.e+]+x [a-z]+ [a-zA-Z]+)'
run "bench swap prints its table" 0 bench swap --size 64K --reps 1 &&
	has "bench swap prints its table" \
		"^side +phase +pages +device +seconds +spread +MiB/s +pages/s +limit +vs" \
		"^mmlab +fill: write faults +16 +- +$row" \
		"^mmlab +swap-out: MADV_PAGEOUT +16 +pswpout 16 +$row +[0-9.]+x host pwrite" \
		"^mmlab +read after swap-out +16 +pswpin 16 " \
		"^mmlab +swap-in: read faults +16 +pswpin 16 +$row +[0-9.]+x host pread" \
		"^mmlab +swap-in: faults, page-cluster 0 +16 +pswpin 16 +$row +[0-9.]+x host pread" \
		"^mmlab +swap-in: MADV_WILLNEED \+ read +16 +pswpin 16 " \
		"^host +pwrite 4K, sparse file +16 " \
		"^host +pread 4K, cached +16 " \
		"^host +pwrite 4K \+ fdatasync +16 " \
		"^host +pread 4K, cold" \
		"^  native: (Linux |skipped \()" \
		"^checks: every byte"
# the host kernel's rows when it could swap, else the reason it could not
if grep -q "^  native: Linux" "$log"; then
	has "bench swap: the host kernel's rows" \
		"^native +fill: write faults +16 " \
		"^native +swap-out: MADV_PAGEOUT \+ writeback +16 +pswpout [0-9]+ " \
		"^native +swap-in: read faults +16 +pswpin [0-9]+ "
else
	has "bench swap: the host kernel skipped, with a reason" "^  native: skipped \(.+\)$"
fi
if [ "$(leftover_swap)" = 0 ]; then
	pass "bench swap leaves no swap file enabled"
else
	fail "bench swap leaves no swap file enabled: $(cat /proc/swaps)"
fi

run "bench swap --no-native" 0 bench swap --size 8K --reps 1 --no-native &&
	has "bench swap --no-native" "^  native: skipped \(--no-native\)" \
		"^mmlab +swap-in: read faults +2 +pswpin 2 "
if grep -q "^native " "$log"; then
	fail "bench swap --no-native prints no native row"
fi

# --file: made here, in the given directory, and gone afterwards
run "bench swap --file" 0 bench swap --size 16K --reps 1 --file "$tmp/swapfile" &&
	has "bench swap --file" "^  file: $tmp/swapfile on "
if [ -e "$tmp/swapfile" ] || [ -n "$(ls "$tmp" | grep -v '^log$')" ]; then
	fail "bench swap --file removes what it made: $(ls "$tmp")"
else
	pass "bench swap --file removes what it made"
fi
echo precious >"$tmp/exists"
refused "bench swap --file refuses an existing file" bench swap --file "$tmp/exists"
if [ "$(cat "$tmp/exists")" = precious ]; then
	pass "bench swap --file leaves an existing file alone"
else
	fail "bench swap --file leaves an existing file alone"
fi
rm -f "$tmp/exists"

run "bench fault prints its table" 0 bench fault --size 64K --reps 1 &&
	has "bench fault prints its table" \
		"^mmlab +read faults: zero page +16 +- +$row" \
		"^mmlab +write faults: new pages +16 " \
		"^mmlab +fork: pages mapped +16 " \
		"^mmlab +write faults after fork: COW +16 " \
		"^mmlab +munmap: pages mapped +16 " \
		"^mmlab +access: 8-byte mml_read, TLB hit +262144 +- +$row +[0-9.e-]+x native access: 8-byte load" \
		"^mmlab +access: 8-byte mml_write, TLB hit +262144 +- +$row +[0-9.e-]+x native access: 8-byte store" \
		"^native +write faults after fork: COW +16 " \
		"^host: [0-9]+ CPUs, load average " \
		"^  memset DRAM +memset of 4 KiB, from DRAM +[0-9.]+ ns" \
		"^checks: every byte"

# notifier: the notifier's calls and the device's translations are counted, not timed
run "bench notifier prints its table" 0 bench notifier --size 64K --reps 1 &&
	has "bench notifier prints its table" \
		"^mmlab +write faults: new pages +16 +- +$row +[0-9.]+x native write faults" \
		"^mmlab +munmap: pages mapped +16 +- " \
		"^mmlab +with notifier: write faults +16 +starts 0 +$row +[0-9.]+x mmlab write faults: new pages" \
		"^mmlab +with notifier: fork +16 +starts 1 +$row +[0-9.]+x mmlab fork: pages mapped" \
		"^mmlab +with notifier: COW faults +16 +starts 16 " \
		"^mmlab +with notifier: munmap +16 +starts 1 " \
		"^mmlab +with device: write faults +16 +- " \
		"^mmlab +with device: fork +16 +zapped 16 " \
		"^mmlab +with device: COW faults +16 +zapped 16 " \
		"^mmlab +with device: munmap +16 +zapped 16 +$row +[0-9.]+x mmlab munmap: pages mapped" \
		"^mmlab +device faults: hmm_range_fault +16 +mapped 16 +$row +[0-9.]+x host memcpy 4K out" \
		"^mmlab +device reads: mapped +16 " \
		"^mmlab +device writes: mapped +16 +- +$row +[0-9.]+x host memcpy 4K in" \
		"^mmlab +CPU reads: mml_read +16 " \
		"^host +memcpy 4K out \+ check +16 " \
		"^host +memcpy 4K in +16 " \
		"^native +write faults after fork: COW +16 " \
		"^  host device: none" \
		"^checks: every byte read, by the CPU and by the device"

run "bench notifier --no-native" 0 bench notifier --size 8K --reps 1 --no-native &&
	has "bench notifier --no-native" "^  native: skipped \(--no-native\)" \
		"^mmlab +with device: COW faults +2 +zapped 2 " \
		"^host +memcpy 4K in +2 "
if grep -q "^native " "$log"; then
	fail "bench notifier --no-native prints no native row"
fi

# file: the disk side in the bench's own temporary directory, which it must leave empty
run "bench file prints its table" 0 bench file --size 64K --reps 1 --file "$tmp" &&
	has "bench file prints its table" \
		"^mmlab +read faults: cached file, shared +16 +- +$row +[0-9.]+x native read faults" \
		"^mmlab +first writes: page_mkwrite +16 " \
		"^mmlab +msync\(MS_SYNC\) writeback +16 " \
		"^native +msync\(MS_SYNC\) writeback +16 +- +$row +[0-9.]+x native pwrite of the pages" \
		"^native +pwrite of the pages \(the limit\) +16 " \
		"^checks: every page read back"
if [ -n "$(ls "$tmp" | grep mmlab-bench-file)" ]; then
	fail "bench file removes what it made: $(ls "$tmp")"
else
	pass "bench file removes what it made"
fi
run "bench file --no-native" 0 bench file --size 8K --reps 1 --no-native --file "$tmp" &&
	has "bench file --no-native" "^mmlab +msync\(MS_SYNC\) writeback +2 "

# dax: mmlab's /pmem/ beside the host's /dev/shm faults; FICLONE runs where $tmp's file system has reflink
run "bench dax prints its table" 0 bench dax --size 4M --reps 1 --file "$tmp" &&
	has "bench dax prints its table" \
		"^mmlab +PMD write faults: holes, zeroed +1024 " \
		"^mmlab +PMD read faults +1024 " \
		"^mmlab +PTE read faults +1024 +- +$row +[0-9.]+x native PTE read faults" \
		"^mmlab +FICLONE of the file \(reflink\) +1024 " \
		"^native +PTE write faults: /dev/shm, no pmem +1024 " \
		"^checks: every page read back"
if [ -n "$(ls "$tmp" /dev/shm | grep mmlab-bench-dax)" ]; then
	fail "bench dax removes what it made"
else
	pass "bench dax removes what it made"
fi
refused "bench dax refuses a size off 2M" bench dax --size 3M

# thp: two THPs a region; the host's THP files are read, never written
# (the tunables only: khugepaged's full_scans and pages_collapsed move on their own)
thp_settings() {
	d=/sys/kernel/mm/transparent_hugepage
	cat $d/enabled $d/defrag $d/use_zero_page $d/khugepaged/defrag $d/khugepaged/max_ptes_none \
		$d/khugepaged/max_ptes_swap $d/khugepaged/max_ptes_shared $d/khugepaged/pages_to_scan \
		$d/khugepaged/scan_sleep_millisecs $d/khugepaged/alloc_sleep_millisecs 2>/dev/null
}
thp_before=$(thp_settings)
run "bench thp prints its table" 0 bench thp --size 4M --reps 1 &&
	has "bench thp prints its table" \
		"^mmlab +THP write faults: a byte per 2 MiB +1024 +thp_fault_alloc 2 +$row" \
		"^mmlab +fork: PMD-mapped THPs +1024 +thp_split_pmd 0 +$row" \
		"^mmlab +COW faults: a byte per 2 MiB +1024 +thp_split_pmd 2 +$row" \
		"^mmlab +small-page write faults +1024 +thp_fault_alloc 0 +$row" \
		"^mmlab +MADV_COLLAPSE of small pages +1024 +thp_collapse_alloc 2 +$row" \
		"^host +memset 2 MiB from DRAM +1024 +- +$row" \
		"^host +memcpy 4 KiB per 2 MiB from DRAM +1024 " \
		"^host +memcpy 2 MiB from DRAM +1024 " \
		"^native +small-page write faults +1024 " \
		"^  native: Linux .*THP enabled \[" \
		"^  THP write faults: a byte per 2 MiB +[0-9.]+ us \([0-9]+ ns\)" \
		"^checks: every byte of both regions"
# the host's THP rows when it gave THPs, else the reason they are left out
if grep -q "^  native THP rows left out" "$log"; then
	has "bench thp: the host's THP rows left out, with a reason" \
		"^  native THP rows left out: the host mapped no THP \(.+\)$"
else
	has "bench thp: the host's THP rows" \
		"^  native: [12] of 2 ranges PMD-mapped after the THP faults" \
		"^native +THP write faults: a byte per 2 MiB +1024 +thp_fault_alloc [0-9]+ " \
		"^native +COW faults: a byte per 2 MiB +1024 "
fi
if [ "$(thp_settings)" = "$thp_before" ]; then
	pass "bench thp leaves the host's THP settings as they were"
else
	fail "bench thp leaves the host's THP settings as they were"
fi
run "bench thp --no-native" 0 bench thp --size 2M --reps 1 --no-native &&
	has "bench thp --no-native" "^  native: skipped \(--no-native\)" \
		"^mmlab +COW faults: a byte per 2 MiB +512 +thp_split_pmd 1 " \
		"^mmlab +MADV_COLLAPSE of small pages +512 +thp_collapse_alloc 1 "
if grep -q "^native " "$log"; then
	fail "bench thp --no-native prints no native row"
fi
refused "bench thp --size not a multiple of 2M" bench thp --size 3M
refused "bench thp takes no --file" bench thp --file "$tmp/x"

# migrate: 1024 pages on a machine of two nodes; the host migrates only with a node 1
run "bench migrate prints its table" 0 bench migrate --size 4M --reps 1 &&
	has "bench migrate prints its table" \
		"^mmlab +move_pages to node 0: lookup only +1024 +pgmigrate_success 0 +$row" \
		"^mmlab +move_pages node 0 -> 1 +1024 +pgmigrate_success 1024 +$row" \
		"^mmlab +move_pages node 1 -> 0 +1024 +pgmigrate_success 1024 +$row" \
		"^mmlab +mremap 2M-aligned -> 2M-aligned +1024 +pgalloc_normal 0 +$row" \
		"^mmlab +mremap 2M-aligned -> \+4 KiB +1024 +pgalloc_normal 3 +$row" \
		"^native +mremap 2M-aligned -> 2M-aligned +1024 " \
		"^native +mremap 2M-aligned -> \+4 KiB +1024 " \
		"^host +memcpy of the region from DRAM +1024 +- +$row" \
		"^  mremap 2M-aligned -> \+4 KiB +[0-9.]+ us" \
		"^checks: every byte of every page"
# the host's migration rows with a second node, else the reason they are left out
if [ -e /sys/devices/system/node/node1 ]; then
	has "bench migrate: the host kernel's migration rows" \
		"^native +move_pages node 0 -> 1 +1024 +pgmigrate_success [0-9]+ " \
		"^native +move_pages node 1 -> 0 +1024 "
else
	has "bench migrate: the host's migration rows left out, with the reason" \
		"^  native move_pages between nodes left out: the host has one NUMA node" \
		"^native +move_pages to node 0: lookup only +1024 "
fi
run "bench migrate --no-native" 0 bench migrate --size 2M --reps 1 --no-native &&
	has "bench migrate --no-native" "^  native: skipped \(--no-native\)" \
		"^mmlab +move_pages node 1 -> 0 +512 +pgmigrate_success 512 "
if grep -q "^native " "$log"; then
	fail "bench migrate --no-native prints no native row"
fi
refused "bench migrate --size over 4G" bench migrate --size 5G
refused "bench migrate takes no --file" bench migrate --file "$tmp/x"

run "bench lock prints its table" 0 bench lock --size 1M --reps 1 &&
	has "bench lock prints its table" \
		"^mmlab +mlock: fault in and lock +256 +- +$row" \
		"^mmlab +munlock +256 +- +$row" \
		"^mmlab +mlock: populated pages +256 +- +$row" \
		"^mmlab +MADV_GUARD_INSTALL: zap, mark +256 +- +$row" \
		"^mmlab +MADV_GUARD_REMOVE +256 +- +$row" \
		"^limit +memset 4 KiB a page +256 +- +$row" \
		"^limit +one 8-byte store a page +256 +- +$row"
if grep -q "^native rows left out\|^native guard rows left out" "$log"; then
	has "bench lock: the host's rows left out, with the reason" "^native (guard )?rows left out: .+"
else
	has "bench lock: the host kernel's rows" "^native +mlock: fault in and lock +256 " \
		"^native +MADV_GUARD_REMOVE +256 "
fi
run "bench lock --no-native" 0 bench lock --size 64K --reps 1 --no-native &&
	has "bench lock --no-native" "^  native: skipped \(--no-native\)" "^mmlab +munlock +16 "
if grep -q "^native " "$log"; then
	fail "bench lock --no-native prints no native row"
fi

run "bench commit prints its table" 0 bench commit --size 1M --reps 1 &&
	has "bench commit prints its table" \
		"^mmlab +mmap \+ munmap, 64 KiB charged +256 +- +$row" \
		"^mmlab +the same, overcommit mode 2 +256 +- +$row" \
		"^mmlab +mprotect rw then r, 64 KiB +256 +- +$row" \
		"^native +mmap \+ munmap, 64 KiB charged +256 +- +$row" \
		"^limit +two atomic adds a chunk +256 +- +$row"
run "bench commit --no-native" 0 bench commit --size 64K --reps 1 --no-native &&
	has "bench commit --no-native" "^  native: skipped \(--no-native\)" "^mmlab +mprotect rw then r, 64 KiB +16 "

run "bench refs prints its table" 0 bench refs --size 1M --reps 1 &&
	has "bench refs prints its table" \
		"^mmlab +clear_refs 4: write-protect +256 +- +$row" \
		"^mmlab +re-dirty: a store a page +256 +- +$row" \
		"^mmlab +process_madvise COLD, other +256 +- +$row" \
		"^native +clear_refs 1 \(no soft-dirty\) +256 +- +$row" \
		"^limit +one 8-byte store a page +256 +- +$row"
if ! grep -q "^native process_madvise row left out: .+" "$log"; then
	has "bench refs: the host's process_madvise row" "^native +process_madvise COLD, other +256 "
fi
run "bench refs --no-native" 0 bench refs --size 64K --reps 1 --no-native &&
	has "bench refs --no-native" "^  native: skipped \(--no-native\)" "^mmlab +re-dirty: a store a page +16 "
if grep -q "^native " "$log"; then
	fail "bench refs --no-native prints no native row"
fi

run "bench ksm prints its table" 0 bench ksm --size 512K --reps 1 &&
	has "bench ksm prints its table" \
		"^mmlab +merge: 2 full scans +128 +- +$row" \
		"^mmlab +rescan: merged +128 +- +$row" \
		"^limit +read every page once +128 +- +$row" \
		"^limit +read once, memcmp pairs +128 +- +$row"
if ! grep -q "^native rows left out: .+" "$log"; then
	has "bench ksm: the host's ksmd rows" "^native +merge: 2 full scans +128 " "^native +rescan: merged +128 "
fi
run "bench ksm --no-native" 0 bench ksm --size 64K --reps 1 --no-native &&
	has "bench ksm --no-native" "^  native: skipped \(--no-native\)" "^mmlab +merge: 2 full scans +16 "
if grep -q "^native " "$log"; then
	fail "bench ksm --no-native prints no native row"
fi
refused "bench ksm --size not a multiple of 8192" bench ksm --size 4K
run "bench uffd prints its table" 0 bench uffd --size 1M --reps 1 &&
	has "bench uffd prints its table" \
		"^mmlab +UFFDIO_COPY, a page a call +256 +- +$row" \
		"^mmlab +fault, served by a thread +256 +- +$row" \
		"^limit +memcpy of 4 KiB a page +256 +- +$row"
if ! grep -q "^native rows left out: .+" "$log"; then
	has "bench uffd: the host's rows" "^native +UFFDIO_COPY, a page a call +256 " \
		"^native +fault, served by a thread +256 "
fi
run "bench uffd --no-native" 0 bench uffd --size 64K --reps 1 --no-native &&
	has "bench uffd --no-native" "^  native: skipped \(--no-native\)" "^mmlab +fault, served by a thread +16 "
if grep -q "^native " "$log"; then
	fail "bench uffd --no-native prints no native row"
fi

run "bench sched prints its table" 0 bench sched --size 256K --reps 1 &&
	has "bench sched prints its table" \
		"^mmlab +write faults: plain machine +64 +- +$row" \
		"^mmlab +deterministic, outside any run +64 +- +$row" \
		"^mmlab +in a run: one thread +64 +- +$row" \
		"^mmlab +in a run: two threads, random +64 +- +$row" \
		"^native +write faults +64 +- +$row" \
		"^limit +host thread handoff, one a page +64 +- +$row" \
		"^scheduling points: [0-9.]+ a page"

run "bench scale prints its table" 0 bench scale --size 64K --reps 1 &&
	has "bench scale prints its table" \
		"^mmlab +1 thread: map, write, unmap +16 +- +$row +[0-9.]+x native 1 thread" \
		"^mmlab +2 threads, 2 VMAs +32 +- +$row +[0-9.]+x mmlab 1 thread" \
		"^mmlab +2 threads, 1 VMA: disjoint halves +32 +- +$row +[0-9.]+x mmlab 1 thread" \
		"^native +1 thread: map, write, unmap +16 +- +$row" \
		"^native +2 threads, 2 VMAs +32 +- +$row +[0-9.]+x native 1 thread" \
		"^native +2 threads, 1 VMA: disjoint halves +32 +- +$row +[0-9.]+x native 1 thread" \
		"^limit +1 thread: memset 4 KiB a page +16 +- +$row" \
		"^limit +2 threads: memset 4 KiB a page +32 +- +$row +[0-9.]+x limit 1 thread" \
		"^checks: every page holds its byte"

run "bench --help" 0 bench --help && has "bench --help" "^usage: mmlab bench"
run "bench swap --help" 0 bench swap --help && has "bench swap --help" "^usage: mmlab bench swap"
refused "bench: an unknown bench" bench nosuch
refused "bench swap --size not a multiple of 4096" bench swap --size 1000
refused "bench swap --size 0" bench swap --size 0
refused "bench swap --size too big" bench swap --size 17G
refused "bench swap --size not a size" bench swap --size 12Q
refused "bench swap --reps 0" bench swap --reps 0
refused "bench swap --reps not a number" bench swap --reps -1
refused "bench swap: an unknown option" bench swap --nosuch
refused "bench swap: an extra argument" bench swap extra
refused "bench swap --file empty" bench swap --file ""
refused "bench fault takes no --file" bench fault --file "$tmp/x"
run "bench notifier --help" 0 bench notifier --help &&
	has "bench notifier --help" "^usage: mmlab bench notifier"
refused "bench notifier takes no --file" bench notifier --file "$tmp/x"
refused "bench notifier --size not a multiple of 4096" bench notifier --size 6000

echo "$passed passed, $failed failed"
[ -n "$MMLAB_SUMMARY" ] && echo "$passed $failed" >>"$MMLAB_SUMMARY"
[ "$failed" -eq 0 ]
