/*
 * bugs.c - the bug zoo table and its switches.
 */
#include <string.h>

#include "mm/internal.h"
#include "oracle/bugs.h"

const struct mml_bug_info mml_bug_table[NR_MML_BUGS] = {
	[BUG_COW_REUSE_SHARED] = {
		"cow-reuse-shared",
		"a write fault on a shared anon page reuses it instead of copying: the write leaks into the other process",
		"the reuse rule of do_wp_page: reuse only a PageAnonExclusive page or the sole reference (COW fixes, 5.8-5.19)",
	},
	[BUG_FREE_BEFORE_FLUSH] = {
		"free-before-flush",
		"munmap/zap frees frames before the TLB shootdown: another CPU can still reach the freed frame",
		"the mmu_gather rule: free pages only after tlb_flush_mmu (CVE-2018-18281, mremap/ftruncate flush race)",
	},
	[BUG_FORK_NO_WRPROTECT] = {
		"fork-no-wrprotect",
		"fork shares a private page without write-protecting the parent's PTE: parent writes reach the child",
		"copy_present_pte must ptep_set_wrprotect the source for COW mappings",
	},
	[BUG_FORK_KEEP_EXCLUSIVE] = {
		"fork-keep-exclusive",
		"fork shares a page but leaves PG_anon_exclusive set: a later write fault reuses it in place",
		"folio_try_dup_anon_rmap clears PageAnonExclusive when sharing (COW fixes part 2, 5.19)",
	},
	[BUG_FORK_SHARE_PINNED] = {
		"fork-share-pinned",
		"fork shares a pinned page: the parent's next write copies away from the pin, DMA goes to the child",
		"fork before 5.9 (Peter Xu's early copy of maybe-pinned pages, page_needs_cow_for_dma)",
	},
	[BUG_COW_REUSE_MAPCOUNT] = {
		"cow-reuse-mapcount",
		"do_wp_page reuses a page mapped once though a reference (vmsplice) still holds it: the write leaks",
		"CVE-2020-29374: mapcount-based reuse_swap_page() in do_wp_page before 5.8",
		"--ram 2M --swap 1M",
	},
	[BUG_PIN_NO_UNSHARE] = {
		"pin-no-unshare",
		"a R/O pin takes a shared anon page as mapped: the process's next write copies away from the pin",
		"gup_must_unshare() and FAULT_FLAG_UNSHARE (COW fixes part 2, 5.19)",
	},
	[BUG_GUP_FAST_NO_UNSHARE] = {
		"gup-fast-no-unshare",
		"GUP-fast pins a R/O-mapped shared anon page it should have left to the slow path",
		"the gup_must_unshare() check in gup_fast_pte_range (COW fixes part 2, 5.19)",
		"--ram 2M --swap 1M",
	},
	[BUG_FORK_SWAP_KEEP_EXCLUSIVE] = {
		"fork-swap-keep-exclusive",
		"fork shares a swapped-out page but leaves the exclusive bit on the parent's swap pte: after swap-in the parent writes the page the child still names",
		"copy_nonpresent_pte clears pte_swp_exclusive on the source (swap PTE exclusive marker, 5.19)",
		"--ram 2M --swap 1M",
	},
	[BUG_LAZYFREE_DISCARD_DIRTY] = {
		"lazyfree-discard-dirty",
		"reclaim drops a MADV_FREE page that was written after the madvise: the write is lost",
		"try_to_unmap_one must keep a lazyfree folio whose pte or PG_dirty says it was written (seed 003: \"This is users' data\")",
		"--ram 2M --swap 1M",
	},
	[BUG_RECLAIM_UNMAPS_PINNED] = {
		"reclaim-unmaps-pinned",
		"reclaim unmaps a pinned exclusive anon page into a swap pte that does not say exclusive: swap-in sees the pin's reference as another user, maps the page shared, and the process's next write copies away from the pin",
		"try_to_unmap_one refuses a maybe-pinned page through folio_try_share_anon_rmap_pte (COW fixes part 2, 5.19; seed 000: \"We made sure that there are no GUP pins on the page that would rely on it\"); before, reclaim unmapped pinned pages and swap-in re-determined exclusivity from the references",
		"--ram 2M --swap 1M",
	},
	[BUG_FORK_NO_SWAP_DUP] = {
		"fork-no-swap-dup",
		"fork copies a swap pte into the child without a swap_map reference: the first swap_free releases a slot the other process still names",
		"copy_nonpresent_pte (copy_one_pte before 5.10) takes one swap_map count per copied entry with swap_duplicate, retried through add_swap_count_continuation since 2.6.32",
		"--ram 2M --swap 1M",
	},
	[BUG_LAZYFREE_SHARED] = {
		"lazyfree-shared",
		"MADV_FREE marks lazyfree a clean page that another process maps too: reclaim drops it under that process, which never freed it",
		"Linux as of 6.18: madvise_free_pte_range checks the mapcount only before cleaning a dirty or swap-cache folio (tests/native/madv-free-unshare.c shows the mark on the host); the loss needs clean ptes everywhere, as mmlab's unshare copy has them (docs/deviations.md rows 23, 55; on 6.18.44 the copy is mapped dirty and the data survives)",
		"--ram 2M --swap 1M",
	},
	[BUG_SWAPOFF_NO_TAG_RESTORE] = {
		"swapoff-no-tag-restore",
		"swapoff maps a page read back from swap without the tags saved with its slot: the process sees zero tags",
		"unuse_pte() never called arch_swap_restore() / arch_do_swap_page(); David Hildenbrand found the gap in seed 000 (\"We don't do anything similar for mm/swapfile.c:unuse_pte()\")",
		"--ram 2M --swap 1M",
	},
	[BUG_NO_SWAP_FREE_ON_ARCH_UNMAP_FAILURE] = {
		"no-swap-free-on-arch-unmap-failure",
		"when arch_unmap_one() cannot save a page's tags, try_to_unmap_one keeps the pte but not the swap_duplicate() it took: the slot leaks",
		"ca827d55ebaa (\"mm, swap: Add infrastructure for saving page metadata on swap\") until the seed 000 patch added swap_free(entry) on that path",
		"--ram 2M --swap 1M",
	},
	[BUG_WP_COPY_NO_NOTIFY] = {
		"wp-copy-no-notify",
		"a COW fault maps the copy without invalidating secondary MMUs: a device keeps reading and writing the old page, which the process no longer maps",
		"seed 002: Andrea Arcangeli on do_wp_page, \"the secondary MMU must stop reading and writing the old page before the notifier returns\"; wp_page_copy's MMU_NOTIFY_CLEAR range",
		"--devices",
	},
	[BUG_NOTIFY_ASYNC] = {
		"notify-async",
		"the device acknowledges an invalidation and drops its translations only later: it still uses the old page after the pte changed",
		"seed 002: the asynchronous invalidation scheme (XPMEM, GRU) that the thread rejects; HMM drivers zap under their own lock inside the callback",
		"--devices",
	},
	[BUG_FORK_NO_NOTIFY] = {
		"fork-no-notify",
		"fork write-protects the parent's ptes without telling its secondary MMUs: a device keeps writing a page now shared with the child",
		"seed 002: \"your code is already generating mm corruption in fork\"; copy_page_range's MMU_NOTIFY_PROTECTION_PAGE range around the COW write-protect",
		"--devices",
	},
	[BUG_NOTIFY_END_BEFORE_FLUSH] = {
		"notify-end-before-flush",
		"wp_page_copy ends the invalidation before the pte moves to the copy and the TLB flush: a device that faults in between maps the old page for good",
		"invalidate_range_end runs after the pte change and the TLB flush (ptep_clear_flush + set_pte_at in wp_page_copy); a device that retries at once (MML_DEV_REFAULT, as a vCPU spinning on mmu_invalidate_retry) hits it without a second thread",
		"--devices",
	},
	[BUG_OOM_REAPER_IGNORES_EAGAIN] = {
		"oom-reaper-ignores-eagain",
		"the OOM reaper unmaps a range a secondary MMU refused to invalidate without sleeping: the device keeps translations to freed frames",
		"__oom_reap_task_mm skips a VMA when mmu_notifier_invalidate_range_start_nonblock fails (93065ac753e4, \"mm, oom: distinguish blockable mode for mmu notifiers\")",
		"--devices --ram 2M --oom",
	},
	[BUG_WRITEBACK_NO_MKCLEAN] = {
		"writeback-no-mkclean",
		"writeback cleans a dirty file folio without write-protecting and cleaning the ptes that map it: a write through a pte that stayed writable marks nothing dirty, so fsync and msync(MS_SYNC) leave it off the disk",
		"folio_clear_dirty_for_io() calls folio_mkclean() for mappings with writeback; page_mkclean was added for this in 2.6.19 (d08b3851da41, \"mm: tracking shared dirty pages\")",
		"--files",
	},
	[BUG_TRUNCATE_KEEPS_COWS] = {
		"truncate-keeps-cows",
		"truncate unmaps only the file's own pages beyond the new end, not the private copies MAP_PRIVATE writes made of them: they stay readable where Linux raises SIGBUS",
		"truncate_pagecache() unmaps with even_cows = 1 (unmap_mapping_range(mapping, holebegin, 0, 1)); a hole punch passes 0 and keeps them",
		"--files",
	},
	[BUG_SHMEM_SWAPIN_DROPS_ENTRY] = {
		"shmem-swapin-drops-entry",
		"shmem swap-in drops the swap entry from the page cache (and frees the slot) before the folio read from it is in the cache: the page reads as a hole, its data lost",
		"shmem_swapin_folio() replaces the swap entry by the folio under the xa_lock only if it is still there (shmem_add_to_page_cache with expected), then frees the slot (swap_free_nr)",
		"--files --ram 2M --swap 1M",
	},
	[BUG_FORK_COWS_SHARED] = {
		"fork-cows-shared",
		"fork gives the child a copy-on-write view of a MAP_SHARED mapping: the child's writes are no longer seen by the parent, nor the parent's by the child once it wrote",
		"dup_mmap() copies vm_flags unchanged; MAP_SHARED|MAP_ANONYMOUS is shared across fork since it became shmem (2.4)",
		"--files",
	},
	[BUG_THP_SPLIT_LOSES_EXCLUSIVE] = {
		"thp-split-loses-exclusive",
		"splitting the pmd of an exclusive THP maps its pages by ptes without PG_anon_exclusive: a pin taken on the THP is on pages no longer marked exclusive, so a later R/O pin or write fault of the process copies away from it",
		"__split_huge_pmd_locked carries the head's PG_anon_exclusive to every subpage since 6c287605fd56 (\"mm: remember exclusively mapped anonymous pages with PG_anon_exclusive\", David Hildenbrand's COW fixes part 2 for reliable R/O pins, 5.19; seed 000)",
		"--thp",
	},
	[BUG_THP_WP_REUSE_ENTIRE] = {
		"thp-wp-reuse-entire",
		"do_huge_pmd_wp_page reuses a THP its pmd alone maps once, though another process maps its pages by ptes (after a fork and a split there): the write shows in the other process",
		"the reuse test of do_huge_pmd_wp_page: a mapcount blind to the pte mappings of a split pmd corrupted memory until c444eb564fb1 (\"mm: thp: make the THP mapcount atomic against __split_huge_pmd_locked()\", Andrea Arcangeli, 5.8, reported by Jann Horn); 3917c80280c9 (\"thp: change CoW semantics for anon-THP\", Kirill Shutemov, 5.8) made a shared THP split and copy one page; 3bff7e3f1f16 (\"mm/huge_memory: streamline COW logic in do_huge_pmd_wp_page()\", David Hildenbrand, 5.18) reuses only on PageAnonExclusive or a sole reference",
		"--thp --procs 8 --ram 256M",
	},
	[BUG_THP_COLLAPSE_IGNORES_PIN] = {
		"thp-collapse-ignores-pin",
		"khugepaged and MADV_COLLAPSE copy a pinned page into the new THP: the process maps the copy, the pin keeps the old page, and DMA and the process no longer see each other's writes",
		"__collapse_huge_page_isolate refuses a page with references beyond its mappings and the swap cache (\"cannot use mapcount: can't collapse if there's a gup pin\", since the first khugepaged, 2.6.38); is_refcount_suitable() (Kirill Shutemov, 5.8, when pages shared across fork and PTE-mapped THPs became collapsible) keeps the rule, SCAN_PAGE_COUNT",
		"--thp",
	},
	[BUG_THP_FORK_SHARE_PINNED] = {
		"thp-fork-share-pinned",
		"fork shares a pinned PMD-mapped THP with the child instead of splitting the pmd and copying the pinned pages: the parent's next write copies away from the pin",
		"d042035eaf5f (\"mm/thp: Split huge pmds/puds if they're pinned when fork()\", Peter Xu, 5.9, with 70e806e4e645 for ptes); since 5.19 copy_huge_pmd splits when page_try_dup_anon_rmap (now folio_try_dup_anon_rmap_pmd) refuses a maybe-pinned exclusive folio",
		"--thp --procs 8",
	},
	[BUG_MIGRATE_DROPS_EXCLUSIVE] = {
		"migrate-drops-exclusive",
		"remove_migration_ptes maps the new folio without PG_anon_exclusive, though the migration entry said exclusive: the process's page is taken for shared, and a write copies it away from a pin taken since, or a R/O pin unshares it",
		"6c287605fd56 (\"mm: remember exclusively mapped anonymous pages with PG_anon_exclusive\", David Hildenbrand, 5.19) added readable-exclusive migration entries so that migration keeps the bit (seed 000: \"PG_anon_exclusive must be carried in migration entries\")",
		"--nodes 2",
	},
	[BUG_MIGRATE_NO_TAG_COPY] = {
		"migrate-no-tag-copy",
		"migration copies a tagged page's bytes but not its tags: the new page is mapped with zero tags and every tagged access to it faults or reads the wrong tag",
		"seed 000 (David Hildenbrand to Khalid Aziz, 2022): arch_unmap_one saves sparc ADI tags in try_to_migrate_one, but \"who will do the restore+free after migration\": remove_migration_ptes never restored them; arm64 carries MTE tags in copy_highpage instead",
		"--nodes 2",
	},
	[BUG_MIGRATE_LAZYFREE_CLEAN] = {
		"migrate-lazyfree-clean",
		"migration leaves a MADV_FREE folio that was written since clean in its new place: reclaim then discards the new folio and the write is lost",
		"seed 003 (\"This is users' data\"): a lazily freed folio written since must stay dirty on every path; folio_migrate_flags copies PG_dirty and remove_migration_pte keeps the pte's dirty bit",
		"--nodes 2 --ram 2M --swap 1M",
	},
	[BUG_FORK_MIGRATION_WRITABLE] = {
		"fork-migration-writable",
		"fork copies a writable migration entry as it is into the child: when the migration ends both processes map the page writable, and the child's writes reach the parent",
		"copy_nonpresent_pte has turned a writable migration entry readable in both parent and child since page migration came (2.6.16); seed 000 asks that fork copy migration entries correctly. Seen here with a migration held half way (migrate unmap)",
		"--nodes 2 --ram 2M --swap 1M",
	},
	[BUG_MREMAP_DROPS_SWAP_TAGS] = {
		"mremap-drops-swap-tags",
		"mremap moves a swapped-out tagged page's swap pte but frees the tags saved with its slot, as a zap would: the page swaps in at its new address with zero tags, and so does every other pte naming the slot (a child's, after fork)",
		"seed 000 (David Hildenbrand to Khalid Aziz, 2022): \"I do wonder if mremap() -- e.g., move_pte() -- and fork() -- e.g., copy_pte_range() -- are handled properly, where we can end up moving/copying swap+migration PTEs around\"; sparc ADI keeps a swapped-out page's tags by virtual address (adi_save_tags), so a moved swap pte leaves them behind, where arm64 keys MTE's by swap entry and move_ptes need do nothing",
		"--mremap --ram 2M --swap 1M",
	},
	[BUG_FORK_DROPS_GUARD] = {
		"fork-drops-guard",
		"fork copies no guard marker: the child's guard pages read as zeros and take writes where the parent's fault",
		"copy_pte_marker before Linux 6.13 copied only uffd-wp markers, and only into a uffd-wp VMA; the guard-region series made it copy PTE_MARKER_GUARD always, and made MADV_GUARD_INSTALL prepare an anon_vma so that vma_needs_copy() copies the page tables at all",
		"--guard",
	},
	[BUG_DONTNEED_DROPS_GUARD] = {
		"dontneed-drops-guard",
		"a zap that is not an unmap (MADV_DONTNEED, truncate, the install's own zap) clears guard markers: the guard is gone after MADV_DONTNEED",
		"zap_nonpresent_ptes keeps pte markers unless the caller passes ZAP_FLAG_DROP_MARKER (unmap_vmas, at munmap and exit); the guard-region series (6.13) relies on it, as uffd-wp markers did since 5.19, and selftests/mm/guard-regions.c checks that MADV_DONTNEED leaves the guards",
		"--guard",
	},
	[BUG_SWAP_DROPS_UFFD_WP] = {
		"swap-drops-uffd-wp",
		"reclaim turns a write-protected pte into a swap entry without the uffd-wp bit: swapped back in, the page takes a write the monitor never hears of",
		"the swap pte's uffd-wp bit came with \"userfaultfd: wp: support swap and page migration\" (Linux 5.7); before, a uffd-wp page that went to swap lost its protection; selftests/mm/uffd-unit-tests.c checks that \"uffd-wp should persist even swapped out\"",
		"--uffd --ram 2M --swap 1M",
	},
	[BUG_FORK_KEEPS_UFFD_WP_MARKER] = {
		"fork-keeps-uffd-wp-marker",
		"fork without UFFD_FEATURE_EVENT_FORK copies uffd-wp pte markers into the child, whose VMA is not registered: markers where none may be",
		"copy_pte_marker copied PTE_MARKER_UFFD_WP whatever the child's VMA until \"mm/uffd: fix pte marker when fork() without fork event\" (Linux 6.2)",
		"--uffd",
	},
	[BUG_MUNLOCK_STRANDS] = {
		"munlock-strands-unevictable",
		"munlock clears PG_mlocked of a folio's last lock but leaves the folio on the unevictable list: reclaim never sees it again, though nothing locks it",
		"__munlock_folio must move a folio whose last mlock went back to the evictable lists (unevictable_pgs_rescued) after clearing PG_mlocked, and folio_evictable() is to be asked only then, as the comment there says; Hugh Dickins's mlock rework (5.18) made mlock_count this approximate, and such a folio is lost to reclaim",
		"--mlock",
	},
	[BUG_FORK_KEEPS_MLOCK] = {
		"fork-keeps-mlock",
		"fork copies VM_LOCKED into the child's VMAs: the child's memory is locked (VmFlags lo, smaps Locked) and counts against a limit its mlock never asked for",
		"POSIX and mlock(2): memory locks are not inherited by a child created via fork; dup_mmap clears VM_LOCKED_MASK in each copy (vm_flags_clear(tmp, VM_LOCKED_MASK)), and mm_init() starts the child without mlockall's def_flags",
		"--mlock",
	},
	[BUG_MLOCK_COUNTS_LOCKED_TWICE] = {
		"mlock-counts-locked-twice",
		"mlock counts every page of its range against RLIMIT_MEMLOCK, those locked already too: relocking a locked range near the limit fails with ENOMEM",
		"\"mm: mlock: check against vma for actual mlock() size\" (Simon Guo, 2017) made do_mlock subtract count_mm_mlocked_page_nr(), the pages of the range locked already, before it compares with the limit; before it, relocking near the limit failed",
		"--mlock",
	},
	[BUG_MMAP_ERROR_KEEPS_CHARGE] = {
		"mmap-error-keeps-charge",
		"mmap of private writable memory fails after charging the commit and does not give the charge back: Committed_AS grows with every failure until strict overcommit refuses everything",
		"every error path of mmap_region after its accountable_mapping charge must vm_unacct_memory it; Miaohe Lin's \"mm/mmap.c: fix missing call to vm_unacct_memory in mmap_region\" (Linux 5.19, 2022) added one that was missing",
		"--commit",
	},
	[BUG_CLEAR_REFS_NO_FLUSH] = {
		"clear-refs-no-flush",
		"clear_refs 4 write-protects every pte and clears soft-dirty but flushes no TLB: a CPU still holding a writable entry stores without a fault, and the page never reads soft-dirty again",
		"Will Deacon, \"mm: proc: Invalidate TLB after clearing soft-dirty page state\" (Nov 2020, merged for 5.11): since \"asm-generic/tlb: avoid potential double flush\" tlb_finish_mmu() flushed nothing when nothing was batched, so clear_refs_write() left writable TLB entries behind read-only ptes; the fix flushes the range under the soft-dirty notifier",
		"--refs",
	},
	[BUG_SWAP_DROPS_SOFT_DIRTY] = {
		"swap-drops-soft-dirty",
		"reclaim turns a soft-dirty pte into a swap pte without _PAGE_SWP_SOFT_DIRTY: a page written since clear_refs 4 reads clean once swapped out, and after swap-in",
		"Cyrill Gorcunov, \"mm: Save soft-dirty bits on swapped pages\" (linux-mm, July 2013, reported by Andy Lutomirski): the bit was lost when a page went to swap; the fix keeps it in the swap pte (x86's _PAGE_SWP_SOFT_DIRTY, bit 7) and do_swap_page, unuse_pte and fork carry it back",
		"--refs --ram 2M --swap 1M",
	},
	[BUG_COLLAPSE_ROLLBACK_CLEAN] = {
		"collapse-rollback-clean",
		"a failed collapse_file gives the shmem range's small folios back to the page cache without PG_dirty: memory is their only store, and a clean shmem folio is one reclaim or drop_caches may simply drop, so the file's data reads back as zeros",
		"collapse_file's rollback must leave the file as it was (Kirill Shutemov's collapse_shmem, 4.8; Hugh Dickins's fixes to it in 4.20, \"mm/khugepaged: collapse_shmem() without freezing new_page\" and others; David Stevens's 6.4 rework keeps the old folios in the cache, untouched, until the collapse succeeds): a design the zoo breaks on purpose, shmem's dirty bit being its only record that the data exists",
		"--thp --files",
	},
	[BUG_RETRACT_IGNORES_UFFD_WP] = {
		"retract-ignores-uffd-wp",
		"retract_page_tables neither skips a VMA registered for uffd-wp nor checks it again under the table's locks: the table it frees holds that process's PTE_MARKER_UFFD_WP markers, and the next write to a write-protected shmem page goes through unreported",
		"Peter Xu, \"mm/khugepaged: don't recycle vma pgtable if uffd-wp registered\" (deb4c93a9871, Linux 5.19, with uffd-wp for shmem); Hugh Dickins's lockless retract_page_tables (Linux 6.6, seed 004) keeps the skip and adds the recheck under the pmd and pte locks, a UFFDIO_WRITEPROTECT being able to put a marker in meanwhile",
		"--thp --files",
	},
	[BUG_RETRACT_NO_ANON_VMA_RECHECK] = {
		"retract-no-anon-vma-recheck",
		"retract_page_tables checks vma->anon_vma only before it takes the pmd and pte locks: a UFFDIO_COPY into a private mapping of the file prepares the anon_vma and maps an anonymous page in the table meanwhile, and the table is freed with it -- the page's data lost, its mapping leaked",
		"Hugh Dickins's 6.6 retract_page_tables (seed 004) repeats the anon_vma check under the pmd and pte locks because, without mmap_lock, \"a racing userfaultfd_ioctl() may have inserted ptes\"; the unlocked check alone dates from when retract held mmap_lock for write",
		"stress retract-uffd-copy",
	},
	[BUG_RETRACT_PTL_NOT_NESTED] = {
		"retract-ptl-not-nested",
		"retract_page_tables takes the pmd lock but not the table's own pte lock: a UFFDIO_COPY that passed the rechecks' moment maps its anonymous page under the pte lock alone, in the table retract is taking away, and the page is lost with the table",
		"seed 004: retract_page_tables takes the pmd lock with the pte lock nested inside (Linux 6.6), so that pte_offset_map_lock users, which take only the pte lock after re-reading the pmd, either finish before the table goes or find the pmd changed and retry",
		"stress retract-uffd-copy",
	},
	[BUG_SWAPIN_NO_SWAPCACHE_RECHECK] = {
		"swapin-no-swapcache-recheck",
		"do_swap_page maps the folio it found in the swap cache without checking, once it holds the folio lock, that the folio still is the cache's folio of its entry: a zap of the swap pte (MADV_DONTNEED, munmap, exit) dropped it from the cache meanwhile, minding no reference, the slot went to the page written there next, and pte_same cannot tell the slot named again from a pte that never changed; the fault maps the old bytes over the new ones, which are lost",
		"Andrea Arcangeli, \"mm: fix swapin race condition\" (commit 4969c1192d15, 2010): pte_same holds only while the swap entry is pinned by the locked swap-cache page, and try_to_free_swap does not care about the page pin, so recheck PageSwapCache under the lock; Hugh Dickins, \"mm: further fix swapin race condition\" (commit 31c4a3d3a0f8, September 2010, stable): also check that the page's swap is still the entry, the slot having gone to another page (\"or on swapoff+swapon\"); Linux 6.18's folio_matches_swap_entry()",
		"stress reclaim-fault",
	},
	[BUG_FORK_NO_WRITE_PROTECT_SEQ] = {
		"fork-no-write-protect-seq",
		"copy_page_range runs without the write side of mm->write_protect_seq: a GUP-fast write pin of another thread reads a writable pte after copy_present_ptes found the page unpinned and before it write-protected it, and keeps a page the child now shares -- the parent's next write copies away from the pin, and the device writes into the child's memory",
		"Jason Gunthorpe, \"mm/gup: prevent gup_fast from racing with COW during fork\" (57efa1fe5957, Linux 5.11; seed 000's series relies on it): since the early copy of maybe-pinned pages (Peter Xu, 70e806e4e645, 5.9) fork decides under the pte lock that GUP-fast never takes, so fork wraps the copy in a seqcount and GUP-fast gives back what it pinned while the count moved",
		"stress fork-gup",
	},
	[BUG_WP_COPY_NO_PTE_SAME] = {
		"wp-copy-no-pte-same",
		"wp_page_copy takes the pte lock again after allocating and copying and installs its copy without checking that the pte is still the one it copied from: another thread of the process that faulted the same shared page meanwhile has its own copy, and the byte it wrote there, replaced by a copy of the old page (the switch unmaps the replaced copy, so that the machine lives to show the lost write; Linux would drop the old page's mapping a second time instead)",
		"do_wp_page has dropped the page-table lock to allocate and copy, and checked pte_same again under it (\"Re-check the pte - we dropped the lock\"), since Linux 2.4; the split pte locks (Hugh Dickins, 2.6.15) and wp_page_copy (Shachar Raindel, \"mm: refactor do_wp_page, extract the page copy flow\", 2f38ab2c3c7f, Linux 4.1) keep it: the read, allocate, lock, recheck pattern of every fault handler",
		"stress cow-threads",
	},
	[BUG_TABLE_FREE_NO_RCU] = {
		"table-free-no-rcu",
		"tlb_remove_table gives page tables back to the allocator as soon as the TLB flush is done, not after an RCU grace period: GUP-fast and a CPU's page-table walker, which hold no lock and are not held off by the flush, are still reading a pte table munmap freed",
		"Peter Zijlstra, \"mm, powerpc: move the RCU page-table freeing into generic code\" (267239116987, Linux 3.0: for architectures whose TLB flush does not interrupt an IRQ-disabled gup_fast); Vitaly Kuznetsov, \"x86/mm: Enable RCU based page table freeing\" (9e52fc2b50de, 4.14: paravirt flushes by hypercall, with no IPI); Rik van Riel, \"x86/mm: Make MMU_GATHER_RCU_TABLE_FREE unconditional\" (a37259732a7d, 6.15)",
		"stress munmap-gup",
	},
	[BUG_RETRACT_NO_PTE_FREE_DEFER] = {
		"retract-no-pte-free-defer",
		"retract_page_tables gives the pte table it took back to the allocator at once, not through pte_free_defer: holding neither mmap_lock nor a VMA lock, it cannot know that no GUP-fast walk, no fault's first look at the pte and no pte_offset_map_lock caller is still inside that table under RCU alone, and such a walker reads (or locks) freed memory",
		"Hugh Dickins, \"mm/pgtable: add pte_free_defer() for pgtable as page\" and \"mm/khugepaged: retract_page_tables() without mmap or vma lock\" (Linux 6.6, seed 004): the users of pte_offset_map() \"expect the page table to remain a good page table, until they unlock and rcu_read_unlock()\", so a table retracted without mmap_lock must be freed after an RCU grace period",
		"stress retract-gup-probe --strategy pct-pte",
	},
	[BUG_KSM_MERGE_PINNED] = {
		"ksm-merge-pinned",
		"write_protect_page makes a pte read-only without comparing the refcount with the mappings, and shares a PG_anon_exclusive page without asking whether it may be pinned (as before Linux 5.19, which had no such bit): a page pinned for DMA is merged, and the DMA then writes a page the process no longer maps, or the KSM page every merged process maps",
		"Andrea Arcangeli's write_protect_page (mm/ksm.c, 2009) has checked page_mapcount + 1 + swapped against page_count since KSM went in, against O_DIRECT in flight; David Hildenbrand's COW fixes (Linux 5.19, \"mm: reliable GUP pins of anonymous pages\") rely on it to keep pinned anonymous pages exclusive",
		"--ksm",
	},
	[BUG_KSM_MERGE_NO_NOTIFY] = {
		"ksm-merge-no-notify",
		"write_protect_page and replace_page change the pte without an mmu notifier range: a secondary MMU keeps a writable translation, and its writes land in the KSM page every merged process maps, or in the old page after it was freed",
		"Andrea Arcangeli, \"make mmu_notifier_invalidate_range_start able to sleep\" (seed 002): \"your code is already generating mm corruption in fork and in ksm\"; replace_page has called mmu_notifier_invalidate_range_start/end around the pte change since Linux 2.6.32",
		"--ksm --devices",
	},
	[BUG_KSM_COW_REUSE] = {
		"ksm-cow-reuse",
		"do_wp_page reuses a KSM page in place when it is mapped once: the write lands in the stable tree's page, which the next merge hands to another process with the wrong bytes",
		"Hugh Dickins, \"ksm: fix oom deadlock\" era and the COW fixes (Linux 5.8, 09854ba94c6a \"mm: do_wp_page() simplification\"): reuse of a KSM page in place was forbidden (\"KSM pages are never reused\", wp_can_reuse_anon_folio's folio_test_ksm check)",
		"--ksm",
	},
	[BUG_KSM_UNMERGE_LOSES_DATA] = {
		"ksm-unmerge-loses-data",
		"the unshare fault that breaks a KSM page (break_ksm for MADV_UNMERGEABLE, run = 2 and PR_SET_MEMORY_MERGE 0, or a read-only pin's unshare) gives the process a new page without copying the KSM page into it: the unmerged page reads zeros",
		"unmerging must keep every byte (Hugh Dickins's MADV_UNMERGEABLE, Linux 2.6.32, breaks each KSM page with a write fault that do_wp_page answers with a copy; since Linux 6.x break_ksm faults with FAULT_FLAG_UNSHARE, answered by the same copy): a design the zoo breaks on purpose",
		"--ksm",
	},
	[BUG_DAX_LONGTERM_PIN] = {
		"dax-longterm-pin",
		"check_vma_flags lets FOLL_LONGTERM pin a /pmem (fs-DAX) page: a truncate of the file would wait for the pin for ever",
		"the fs-DAX refusal of long-term pins (FOLL_LONGTERM, 5.2, for RDMA on fs-DAX; check_vma_flags' vma_is_fsdax), "
		"which the 6.15 \"properly refcount fs dax pages\" series relies on: the file system waits for DMA to end",
		"--dax",
	},
	[BUG_DAX_SHARED_ANON] = {
		"dax-shared-anon",
		"the flag that marks a reflinked fs-DAX folio as shared by several files (PAGE_MAPPING_DAX_SHARED) is "
		"PAGE_MAPPING_ANON's bit: folio_test_anon is true for it, so rmap and unmap take their anonymous paths "
		"for a file's device page and its last put frees an \"anonymous\" zone-device folio",
		"Dan Williams' review of \"fs/dax: properly refcount fs dax pages\" (seed 001, Sep 2024): the first "
		"version defined PAGE_MAPPING_DAX_SHARED as ((void *)0x1), \"aka PAGE_MAPPING_ANON which causes "
		"folio_test_anon(), PageAnon(), to start returning true\"; the series as merged (Linux 6.15) gave it a "
		"bit of its own",
		"stress dax-reflink-fault",
	},
	[BUG_DAX_INSERT_FAIL_FREE] = {
		"dax-insert-fail-free",
		"a DAX pte fault whose vmf_insert_page_mkwrite fails (no memory for the pte table) runs the block's free "
		"semantics: the folio it associated with the file's entry is reset (mapping and index cleared, its "
		"generation retired) while the entry still names it, though the block never became a mapped folio",
		"Dan Williams' review of \"fs/dax: properly refcount fs dax pages\" (seed 001, Oct 2024): the proposed "
		"dax_fault_iter took a page reference before vmf_insert_XXX() and put it after, so \"put_page() "
		"triggers page-free semantics on vmf_insert_XXX() failures\"; the merged series (Linux 6.15) lets the "
		"insert take the mapping's own reference, nothing to undo on failure",
		"stress dax-reflink-fault",
	},
	[BUG_DAX_BUSY_REFCOUNT_ONE] = {
		"dax-busy-refcount-one",
		"dax_layout_busy_page_range takes a folio with refcount 1 for DMA-idle, as a page-cache folio with its "
		"cache reference: after unmapping, a lone short-term pin is that 1, so truncate and hole punch free a "
		"block a device is still writing",
		"Dan Williams and Alistair Popple on \"fs/dax: properly refcount fs dax pages\" (seed 001): \"page is "
		"DMA idle at refcount == 1\" while mapped, against free at 0; the 6.15 series unmaps first and waits "
		"for refcount 0 (dax_wait_page_idle), the 1-based fs-DAX refcounts before it were the old scheme",
		"stress dax-truncate-dma",
	},
	[BUG_DAX_TRUNCATE_NO_WAIT] = {
		"dax-truncate-no-wait",
		"dax_break_layout unmaps the file but does not wait for its busy folios: truncate and hole punch free "
		"blocks a short-term pin still holds, the next allocation hands one to another file, and the pinned "
		"DMA writes into that file's bytes",
		"Dan Williams, \"mm, fs: add a dax_layout_busy_page() helper\" and \"xfs: prepare xfs_break_layouts() "
		"for another layout type\" (Linux 4.19): before them truncate freed fs-DAX blocks under get_user_pages "
		"DMA; the 6.15 series keeps the wait (dax_break_layout, dax_wait_page_idle)",
		"stress dax-truncate-dma",
	},
	[BUG_TLB_FLUSH_NO_WAIT] = {
		"tlb-flush-no-wait",
		"flush_tlb_mm_range drops the remote CPUs' entries but returns without waiting for them: a CPU that translated an address just before goes on to load from the frame after the flush returned, when munmap or MADV_DONTNEED has freed it and another page may hold it",
		"x86's flush_tlb_multi() sends its IPIs with wait set (on_each_cpu_cond_mask) and returns only when every CPU has run flush_tlb_func; arm64 ends its TLBI broadcast with DSB ISH for the same reason: the invalidation must be complete everywhere before the caller frees what it mapped",
		"stress tlb-shootdown",
	},
	[BUG_FORK_NO_VMA_LOCK] = {
		"fork-no-vma-lock",
		"dup_mmap holds the parent's mmap_lock for write but does not write-lock its VMAs: a thread of the parent "
		"takes a write fault under the VMA lock while fork has made the pte read-only and shared the page, and "
		"copies the page for the parent, while another thread of the parent, its TLB not yet flushed, goes on "
		"writing the old page, now the child's: the parent's writes are lost, the child sees them",
		"Suren Baghdasaryan, \"fork: lock VMAs of the parent process when forking\" (commit fb49c455323f, "
		"Linux 6.4.1, stable), the memory corruption of Go programs in bugzilla 217624 that had per-VMA locks "
		"disabled in 6.4 until it was fixed; Linux 6.18's dup_mmap still vma_start_write's every parent VMA",
		"stress vma-fork --depth 5",
	},
};

bool bug_enabled(struct mml_machine *m, enum mml_bug bug)
{
	return (READ_ONCE(m->bugs[bug / 64]) >> (bug % 64)) & 1;
}

int mml_bug_inject(struct mml_machine *m, const char *name)
{
	for (int i = 0; i < NR_MML_BUGS; i++) {
		if (!strcmp(mml_bug_table[i].name, name)) {
			__atomic_fetch_or(&m->bugs[i / 64], 1UL << (i % 64), __ATOMIC_SEQ_CST);
			return 0;
		}
	}
	return -ENOENT;
}

int mml_bug_count(void)
{
	return NR_MML_BUGS;
}

const char *mml_bug_fuzz_options(int i)
{
	if (i < 0 || i >= NR_MML_BUGS)
		return NULL;
	return mml_bug_table[i].expose ? mml_bug_table[i].expose : "";
}

int mml_bug_describe(int i, const char **name, const char **breaks, const char **history)
{
	if (i < 0 || i >= NR_MML_BUGS)
		return -ENOENT;
	*name = mml_bug_table[i].name;
	*breaks = mml_bug_table[i].breaks;
	*history = mml_bug_table[i].history;
	return 0;
}
