/*
 * trace_events.c - each event's fields, as Linux 6.18's TRACE_EVENT
 * definitions take them (TP_fast_assign) and print them (TP_printk), in
 * the same order and format: include/trace/events/kmem.h, filemap.h,
 * vmscan.h, tlb.h, huge_memory.h, migrate.h, ksm.h.
 *
 * What differs (docs/deviations.md): pointers are not the host's
 * addresses, which change from run to run, but deterministic stand-ins
 * printed as an unhashed %p is: a struct page at x86-64's vmemmap base
 * plus 64 bytes a frame, an mm_struct by its mm_id, a KSM rmap_item by
 * its mm and address.  gfp flags are named from mmlab's few bits;
 * migratetype is MIGRATE_MOVABLE for user pages and MIGRATE_UNMOVABLE for
 * page tables, mmlab's free lists having no migratetypes.
 */
#include "fs/fs.h"
#include "mm/internal.h"
#include "mm/khugepaged.h"
#include "mm/ksm_internal.h"

#define VMEMMAP_BASE	0xffffea0000000000ULL	/* x86-64's, without KASLR */
#define MM_BASE		0xffff888100000000ULL	/* the direct map, where mm_structs are */
#define RMAP_ITEM_BASE	0xffff888200000000ULL

static unsigned long long page_ptr(unsigned long pfn)
{
	return VMEMMAP_BASE + (unsigned long long)pfn * 64;
}

static unsigned long long mm_ptr(const struct mm_struct *mm)
{
	return MM_BASE + ((unsigned long long)mm->mm_id << 12);
}

static unsigned long long rmap_item_ptr(const struct ksm_rmap_item *item)
{
	return RMAP_ITEM_BASE + ((((unsigned long long)item->mm->mm_id << 28) +
				  ((item->address & PAGE_MASK) >> PAGE_SHIFT)) << 6);
}

/* show_gfp_flags(): composite names first, each taking its bits, then the single flags. */
static const char *show_gfp_flags(char *buf, size_t len, gfp_t gfp)
{
	static const struct { gfp_t mask; const char *name; } names[] = {
		{ GFP_TRANSHUGE, "GFP_TRANSHUGE" },
		{ GFP_TRANSHUGE_LIGHT, "GFP_TRANSHUGE_LIGHT" },
		{ GFP_HIGHUSER_MOVABLE, "GFP_HIGHUSER_MOVABLE" },
		{ GFP_KERNEL | __GFP_PGTABLE, "GFP_KERNEL_ACCOUNT" },	/* Linux's page-table gfp */
		{ GFP_KERNEL, "GFP_KERNEL" },
		{ __GFP_NORETRY, "__GFP_NORETRY" },
		{ __GFP_ZERO, "__GFP_ZERO" },
		{ __GFP_THISNODE, "__GFP_THISNODE" },
		{ __GFP_PGTABLE, "__GFP_ACCOUNT" },
		{ __GFP_NOWARN, "__GFP_NOWARN" },
		{ __GFP_DIRECT_RECLAIM, "__GFP_DIRECT_RECLAIM" },
	};
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(names) && gfp; i++) {
		if ((gfp & names[i].mask) != names[i].mask)
			continue;
		n += (size_t)snprintf(buf + n, len - min(n, len), "%s%s", n ? "|" : "", names[i].name);
		gfp &= ~names[i].mask;
	}
	if (gfp)
		n += (size_t)snprintf(buf + n, len - min(n, len), "%s%#x", n ? "|" : "", gfp);
	return n ? buf : "none";
}

/* ---- kmem ---------------------------------------------------------------------------------- */

void __trace_mm_page_free(struct mml_machine *m, const struct page *page, unsigned int order)
{
	unsigned long pfn = page_to_pfn(m, page);

	trace_emit(m, TE_mm_page_free, NULL, NULL, "page=%016llx pfn=0x%lx order=%d", page_ptr(pfn), pfn,
		   (int)order);
}

void __trace_mm_page_alloc(struct mml_machine *m, const struct page *page, unsigned int order, gfp_t gfp,
			   int migratetype)
{
	unsigned long pfn = page ? page_to_pfn(m, page) : 0;
	char flags[160];

	trace_emit(m, TE_mm_page_alloc, NULL, NULL, "page=%016llx pfn=0x%lx order=%d migratetype=%d gfp_flags=%s",
		   page ? page_ptr(pfn) : 0, pfn, (int)order, migratetype, show_gfp_flags(flags, sizeof(flags), gfp));
}

void __trace_rss_stat(struct mml_machine *m, struct mm_struct *mm, int member)
{
	static const char *const types[NR_MM_COUNTERS] = {
		"MM_FILEPAGES", "MM_ANONPAGES", "MM_SWAPENTS", "MM_SHMEMPAGES",
	};
	long size = get_mm_counter(mm, (enum mm_counter)member);

	/* curr: the counter is the running task's own mm (a machine thread has none). */
	trace_emit(m, TE_rss_stat, NULL, NULL, "mm_id=%u curr=%d type=%s size=%ldB", mm->mm_id,
		   !trace_kthread_comm && current && current->mm == mm, types[member],
		   (size > 0 ? size : 0) << PAGE_SHIFT);
}

/* ---- filemap -------------------------------------------------------------------------------- */

static void filemap_op_page_cache(struct mml_machine *m, enum trace_event_id e, struct folio *folio)
{
	struct inode *host = ((struct address_space *)folio->mapping)->host;

	trace_emit(m, e, NULL, NULL, "dev %d:%d ino %lx pfn=0x%lx ofs=%lu order=%u", host->i_sb->s_dev >> 8,
		   host->i_sb->s_dev & 0xff, host->i_ino, folio_pfn(m, folio), folio->index << PAGE_SHIFT,
		   folio_order(folio));
}

void __trace_mm_filemap_delete_from_page_cache(struct mml_machine *m, struct folio *folio)
{
	filemap_op_page_cache(m, TE_mm_filemap_delete_from_page_cache, folio);
}

void __trace_mm_filemap_add_to_page_cache(struct mml_machine *m, struct folio *folio)
{
	filemap_op_page_cache(m, TE_mm_filemap_add_to_page_cache, folio);
}

/* ---- vmscan --------------------------------------------------------------------------------- */

#define RECLAIM_WB_ANON		0x0001u
#define RECLAIM_WB_FILE		0x0002u
#define RECLAIM_WB_ASYNC	0x0008u

/* trace_reclaim_flags(): mmlab's writes are asynchronous to the caller as Linux's are. */
static const char *reclaim_flags(bool file)
{
	return file ? "RECLAIM_WB_FILE|RECLAIM_WB_ASYNC" : "RECLAIM_WB_ANON|RECLAIM_WB_ASYNC";
}

void __trace_mm_vmscan_kswapd_sleep(struct mml_machine *m, int nid)
{
	trace_emit(m, TE_mm_vmscan_kswapd_sleep, NULL, NULL, "nid=%d", nid);
}

void __trace_mm_vmscan_kswapd_wake(struct mml_machine *m, int nid, int zid, int order)
{
	trace_emit(m, TE_mm_vmscan_kswapd_wake, NULL, NULL, "nid=%d order=%d", nid, order);
}

void __trace_mm_vmscan_wakeup_kswapd(struct mml_machine *m, int nid, int zid, int order, gfp_t gfp)
{
	char flags[160];

	trace_emit(m, TE_mm_vmscan_wakeup_kswapd, NULL, NULL, "nid=%d order=%d gfp_flags=%s", nid, order,
		   show_gfp_flags(flags, sizeof(flags), gfp));
}

void __trace_mm_vmscan_direct_reclaim_begin(struct mml_machine *m, int order, gfp_t gfp)
{
	char flags[160];

	trace_emit(m, TE_mm_vmscan_direct_reclaim_begin, NULL, NULL, "order=%d gfp_flags=%s", order,
		   show_gfp_flags(flags, sizeof(flags), gfp));
}

void __trace_mm_vmscan_direct_reclaim_end(struct mml_machine *m, unsigned long nr_reclaimed)
{
	trace_emit(m, TE_mm_vmscan_direct_reclaim_end, NULL, NULL, "nr_reclaimed=%lu", nr_reclaimed);
}

void __trace_mm_vmscan_write_folio(struct mml_machine *m, struct folio *folio)
{
	unsigned long pfn = folio_pfn(m, folio);

	/* folio_is_file_lru(): shmem is swap-backed, on the anon lists. */
	trace_emit(m, TE_mm_vmscan_write_folio, NULL, NULL, "page=%016llx pfn=0x%lx flags=%s", page_ptr(pfn), pfn,
		   reclaim_flags(!folio_test_swapbacked(folio)));
}

void __trace_mm_vmscan_lru_shrink_inactive(struct mml_machine *m, int nid, unsigned long nr_scanned,
					   unsigned long nr_reclaimed, const struct reclaim_stat *stat,
					   int priority, int file)
{
	trace_emit(m, TE_mm_vmscan_lru_shrink_inactive, NULL, NULL,
		   "nid=%d nr_scanned=%ld nr_reclaimed=%ld nr_dirty=%ld nr_writeback=%ld nr_congested=%ld "
		   "nr_immediate=%ld nr_activate_anon=%d nr_activate_file=%d nr_ref_keep=%ld nr_unmap_fail=%ld "
		   "priority=%d flags=%s", nid, (long)nr_scanned, (long)nr_reclaimed, (long)stat->nr_dirty,
		   (long)stat->nr_writeback, (long)stat->nr_congested, (long)stat->nr_immediate,
		   (int)stat->nr_activate[0], (int)stat->nr_activate[1], (long)stat->nr_ref_keep,
		   (long)stat->nr_unmap_fail, priority, reclaim_flags(file));
}

void __trace_mm_vmscan_lru_shrink_active(struct mml_machine *m, int nid, unsigned long nr_taken,
					 unsigned long nr_active, unsigned long nr_deactivated,
					 unsigned long nr_referenced, int priority, int file)
{
	trace_emit(m, TE_mm_vmscan_lru_shrink_active, NULL, NULL,
		   "nid=%d nr_taken=%ld nr_active=%ld nr_deactivated=%ld nr_referenced=%ld priority=%d flags=%s",
		   nid, (long)nr_taken, (long)nr_active, (long)nr_deactivated, (long)nr_referenced, priority,
		   reclaim_flags(file));
}

/* ---- tlb ------------------------------------------------------------------------------------ */

void __trace_tlb_flush(struct mml_machine *m, const struct mml_task *on, int reason, long pages)
{
	static const char *const reasons[] = {
		[TLB_FLUSH_ON_TASK_SWITCH] = "flush on task switch",
		[TLB_REMOTE_SHOOTDOWN] = "remote shootdown",
		[TLB_LOCAL_SHOOTDOWN] = "local shootdown",
		[TLB_LOCAL_MM_SHOOTDOWN] = "local mm shootdown",
		[TLB_REMOTE_SEND_IPI] = "remote ipi send",
	};

	/* A remote shootdown runs in the IPI's handler on the CPU it reaches: irqs off, hardirq. */
	trace_emit(m, TE_tlb_flush, on, reason == TLB_REMOTE_SHOOTDOWN ? "d.h.." : NULL, "pages:%ld reason:%s (%d)",
		   pages, reasons[reason], reason);
}

/* ---- huge_memory ---------------------------------------------------------------------------- */

/* SCAN_STATUS: how the trace names each result (not the enum's name). */
static const char *scan_status(int status)
{
	static const char *const names[NR_SCAN_RESULTS] = {
		[SCAN_FAIL] = "failed",
		[SCAN_SUCCEED] = "succeeded",
		[SCAN_PMD_NULL] = "pmd_null",
		[SCAN_PMD_NONE] = "pmd_none",
		[SCAN_PMD_MAPPED] = "page_pmd_mapped",
		[SCAN_EXCEED_NONE_PTE] = "exceed_none_pte",
		[SCAN_EXCEED_SWAP_PTE] = "exceed_swap_pte",
		[SCAN_EXCEED_SHARED_PTE] = "exceed_shared_pte",
		[SCAN_PTE_NON_PRESENT] = "pte_non_present",
		[SCAN_PTE_UFFD_WP] = "pte_uffd_wp",
		[SCAN_PTE_MAPPED_HUGEPAGE] = "pte_mapped_hugepage",
		[SCAN_PAGE_RO] = "no_writable_page",
		[SCAN_LACK_REFERENCED_PAGE] = "lack_referenced_page",
		[SCAN_PAGE_NULL] = "page_null",
		[SCAN_SCAN_ABORT] = "scan_aborted",
		[SCAN_PAGE_COUNT] = "not_suitable_page_count",
		[SCAN_PAGE_LRU] = "page_not_in_lru",
		[SCAN_PAGE_LOCK] = "page_locked",
		[SCAN_PAGE_ANON] = "page_not_anon",
		[SCAN_PAGE_COMPOUND] = "page_compound",
		[SCAN_ANY_PROCESS] = "no_process_for_page",
		[SCAN_VMA_NULL] = "vma_null",
		[SCAN_VMA_CHECK] = "vma_check_failed",
		[SCAN_ADDRESS_RANGE] = "not_suitable_address_range",
		[SCAN_DEL_PAGE_LRU] = "could_not_delete_page_from_lru",
		[SCAN_ALLOC_HUGE_PAGE_FAIL] = "alloc_huge_page_failed",
		[SCAN_TRUNCATED] = "truncated",
		[SCAN_STORE_FAILED] = "store_failed",
		[SCAN_PAGE_FILLED] = "page_filled",
		[SCAN_PAGE_DIRTY_OR_WRITEBACK] = "page_dirty_or_writeback",
	};

	return status >= 0 && status < NR_SCAN_RESULTS && names[status] ? names[status] : "unknown";
}

void __trace_mm_khugepaged_scan_pmd(struct mml_machine *m, struct mm_struct *mm, struct folio *folio, int writable,
				    int referenced, int none_or_zero, int status, int unmapped)
{
	trace_emit(m, TE_mm_khugepaged_scan_pmd, NULL, NULL,
		   "mm=%016llx, scan_pfn=0x%lx, writable=%d, referenced=%d, none_or_zero=%d, status=%s, unmapped=%d",
		   mm_ptr(mm), folio ? folio_pfn(m, folio) : -1UL, writable, referenced, none_or_zero,
		   scan_status(status), unmapped);
}

void __trace_mm_collapse_huge_page(struct mml_machine *m, struct mm_struct *mm, int isolated, int status)
{
	trace_emit(m, TE_mm_collapse_huge_page, NULL, NULL, "mm=%016llx, isolated=%d, status=%s", mm_ptr(mm), isolated,
		   scan_status(status));
}

void __trace_mm_khugepaged_scan_file(struct mml_machine *m, struct mm_struct *mm, struct folio *folio,
				     struct file *file, int present, int swap, int result)
{
	trace_emit(m, TE_mm_khugepaged_scan_file, NULL, NULL,
		   "mm=%016llx, scan_pfn=0x%lx, filename=%s, present=%d, swap=%d, result=%s", mm_ptr(mm),
		   folio ? folio_pfn(m, folio) : -1UL, file->f_inode->i_name, present, swap, scan_status(result));
}

void __trace_mm_khugepaged_collapse_file(struct mml_machine *m, struct mm_struct *mm, struct folio *new_folio,
					 unsigned long index, uint64_t addr, int is_shmem, struct file *file, int nr,
					 int result)
{
	trace_emit(m, TE_mm_khugepaged_collapse_file, NULL, NULL,
		   "mm=%016llx, hpage_pfn=0x%lx, index=%ld, addr=%lx, is_shmem=%d, filename=%s, nr=%d, result=%s",
		   mm_ptr(mm), new_folio ? folio_pfn(m, new_folio) : -1UL, (long)index, (unsigned long)addr, is_shmem,
		   file->f_inode->i_name, nr, scan_status(result));
}

/* ---- migrate -------------------------------------------------------------------------------- */

/* MIGRATE_MODE and MIGRATE_REASON as the trace prints them. */
static const char *migrate_mode_name(int mode)
{
	static const char *const names[] = { "MIGRATE_ASYNC", "MIGRATE_SYNC_LIGHT", "MIGRATE_SYNC" };

	return mode >= 0 && mode < (int)ARRAY_SIZE(names) ? names[mode] : "unknown";
}

static const char *migrate_reason_name(int reason)
{
	switch (reason) {
	case MR_COMPACTION: return "compaction";
	case MR_SYSCALL: return "syscall_or_cpuset";
	case MR_MEMPOLICY_MBIND: return "mempolicy_mbind";
	}
	return "unknown";
}

void __trace_mm_migrate_pages(struct mml_machine *m, unsigned long succeeded, unsigned long failed,
			      unsigned long thp_succeeded, unsigned long thp_failed, unsigned long thp_split,
			      unsigned long large_folio_split, int mode, int reason)
{
	trace_emit(m, TE_mm_migrate_pages, NULL, NULL,
		   "nr_succeeded=%lu nr_failed=%lu nr_thp_succeeded=%lu nr_thp_failed=%lu nr_thp_split=%lu "
		   "nr_split=%lu mode=%s reason=%s", succeeded, failed, thp_succeeded, thp_failed, thp_split,
		   large_folio_split, migrate_mode_name(mode), migrate_reason_name(reason));
}

void __trace_mm_migrate_pages_start(struct mml_machine *m, int mode, int reason)
{
	trace_emit(m, TE_mm_migrate_pages_start, NULL, NULL, "mode=%s reason=%s", migrate_mode_name(mode),
		   migrate_reason_name(reason));
}

void __trace_set_migration_pte(struct mml_machine *m, uint64_t addr, uint64_t pte, int order)
{
	trace_emit(m, TE_set_migration_pte, NULL, NULL, "addr=%lx, pte=%lx order=%d", (unsigned long)addr,
		   (unsigned long)pte, order);
}

void __trace_remove_migration_pte(struct mml_machine *m, uint64_t addr, uint64_t pte, int order)
{
	trace_emit(m, TE_remove_migration_pte, NULL, NULL, "addr=%lx, pte=%lx order=%d", (unsigned long)addr,
		   (unsigned long)pte, order);
}

/* ---- ksm ------------------------------------------------------------------------------------ */

void __trace_ksm_start_scan(struct mml_machine *m, int seq, uint32_t rmap_entries)
{
	trace_emit(m, TE_ksm_start_scan, NULL, NULL, "seq %d rmap size %d", seq, (int)rmap_entries);
}

void __trace_ksm_stop_scan(struct mml_machine *m, int seq, uint32_t rmap_entries)
{
	trace_emit(m, TE_ksm_stop_scan, NULL, NULL, "seq %d rmap size %d", seq, (int)rmap_entries);
}

void __trace_ksm_enter(struct mml_machine *m, struct mm_struct *mm)
{
	trace_emit(m, TE_ksm_enter, NULL, NULL, "mm %016llx", mm_ptr(mm));
}

void __trace_ksm_exit(struct mml_machine *m, struct mm_struct *mm)
{
	trace_emit(m, TE_ksm_exit, NULL, NULL, "mm %016llx", mm_ptr(mm));
}

void __trace_ksm_merge_one_page(struct mml_machine *m, unsigned long pfn, const struct ksm_rmap_item *rmap_item,
				struct mm_struct *mm, int err)
{
	trace_emit(m, TE_ksm_merge_one_page, NULL, NULL, "ksm pfn %lu rmap_item %016llx mm %016llx error %d", pfn,
		   rmap_item_ptr(rmap_item), mm_ptr(mm), err);
}

void __trace_ksm_merge_with_ksm_page(struct mml_machine *m, struct folio *ksm_folio, unsigned long pfn,
				     const struct ksm_rmap_item *rmap_item, struct mm_struct *mm, int err)
{
	trace_emit(m, TE_ksm_merge_with_ksm_page, NULL, NULL, "%spfn %lu rmap_item %016llx mm %016llx error %d",
		   ksm_folio ? "ksm " : "", pfn, rmap_item_ptr(rmap_item), mm_ptr(mm), err);
}

void __trace_ksm_remove_ksm_page(struct mml_machine *m, unsigned long pfn)
{
	trace_emit(m, TE_ksm_remove_ksm_page, NULL, NULL, "pfn %lu", pfn);
}

void __trace_ksm_remove_rmap_item(struct mml_machine *m, unsigned long pfn, const struct ksm_rmap_item *rmap_item,
				  struct mm_struct *mm)
{
	trace_emit(m, TE_ksm_remove_rmap_item, NULL, NULL, "pfn %lu rmap_item %016llx mm %016llx", pfn,
		   rmap_item_ptr(rmap_item), mm_ptr(mm));
}
