/*
 * trace.h - trace events with Linux's tracepoint names, fields and print
 * formats (include/trace/events/{kmem,filemap,vmscan,tlb,huge_memory,
 * migrate,ksm}.h), printed as ftrace's trace file prints them.
 *
 * Contract:
 *  - A call site is `trace_<event>(m, args...)` on the line where Linux
 *    calls its trace_<event>(): one relaxed load of m->trace.mask and a
 *    branch never taken while the event is off.  Only when it is on are
 *    the arguments looked at (the macro evaluates them then, as Linux's
 *    static key skips the call): arguments must have no side effects.
 *  - __trace_<event>() (trace_events.c) turns the arguments into the
 *    event's fields as TP_fast_assign and TP_printk do, and hands them to
 *    trace_emit(), which stamps the line (task, CPU, flags, virtual time)
 *    and passes it to the output file and the subscriber.
 *  - Locking: trace_emit() takes m->trace.lock, a leaf spinlock of the
 *    sync layer: events may be emitted holding any other lock, and the
 *    output and the subscriber run under it (they must not call mmlab).
 *    mask is written under the lock, read locklessly (A).
 *  - The clock (docs/deviations.md): per machine, in nanoseconds,
 *    strictly increasing: in a deterministic run the scheduler's virtual
 *    clock (100 ns a step), else 1 µs more per event.  Same seed, same
 *    options: the same bytes.
 */
#ifndef MML_MM_TRACE_H
#define MML_MM_TRACE_H

#include <stdint.h>
#include <stdio.h>

#include "sync/sync.h"
#include "mmlab.h"

/* The events: subsystem (TRACE_SYSTEM) and name, in available_events' order. */
#define TRACE_EVENTS(X)							\
	X(kmem, mm_page_free)						\
	X(kmem, mm_page_alloc)						\
	X(kmem, rss_stat)						\
	X(filemap, mm_filemap_delete_from_page_cache)			\
	X(filemap, mm_filemap_add_to_page_cache)			\
	X(vmscan, mm_vmscan_kswapd_sleep)				\
	X(vmscan, mm_vmscan_kswapd_wake)				\
	X(vmscan, mm_vmscan_wakeup_kswapd)				\
	X(vmscan, mm_vmscan_direct_reclaim_begin)			\
	X(vmscan, mm_vmscan_direct_reclaim_end)				\
	X(vmscan, mm_vmscan_write_folio)				\
	X(vmscan, mm_vmscan_lru_shrink_inactive)			\
	X(vmscan, mm_vmscan_lru_shrink_active)				\
	X(tlb, tlb_flush)						\
	X(huge_memory, mm_khugepaged_scan_pmd)				\
	X(huge_memory, mm_collapse_huge_page)				\
	X(huge_memory, mm_khugepaged_scan_file)				\
	X(huge_memory, mm_khugepaged_collapse_file)			\
	X(migrate, mm_migrate_pages)					\
	X(migrate, mm_migrate_pages_start)				\
	X(migrate, set_migration_pte)					\
	X(migrate, remove_migration_pte)				\
	X(ksm, ksm_start_scan)						\
	X(ksm, ksm_stop_scan)						\
	X(ksm, ksm_enter)						\
	X(ksm, ksm_exit)						\
	X(ksm, ksm_merge_one_page)					\
	X(ksm, ksm_merge_with_ksm_page)					\
	X(ksm, ksm_remove_ksm_page)					\
	X(ksm, ksm_remove_rmap_item)

#define TRACE_EVENT_ID(sys, name) TE_##name,
enum trace_event_id { TRACE_EVENTS(TRACE_EVENT_ID) NR_TRACE_EVENTS };
_Static_assert(NR_TRACE_EVENTS <= 64, "one bit of trace_state.mask per event");

/* Per machine (struct mml_machine's trace). */
struct trace_state {
	uint64_t mask;			/* (A) events on, bit TE_*; written under lock */
	spinlock_t lock;		/* (L) a leaf: serialises the events */
	uint64_t clock;			/* (L) ns of the last event */
	FILE *out;			/* (L) the trace file's lines, or NULL */
	void (*fn)(void *arg, const struct mml_trace_event *ev);	/* (L) the subscriber, or NULL */
	void *arg;			/* (L) */
};

#define trace_enabled(m, name)	__builtin_expect(!!(READ_ONCE((m)->trace.mask) & (1ULL << TE_##name)), 0)
#define TRACE_CALL(m, name, ...) do { if (trace_enabled(m, name)) __trace_##name(m, __VA_ARGS__); } while (0)

/*
 * Who runs now, for the TASK-PID and CPU# columns: a machine thread
 * (kswapd0, khugepaged, ksmd) names itself here when it starts; a task's
 * operation is current's.
 */
extern __thread const char *trace_kthread_comm;

void trace_state_init(struct trace_state *ts);
void trace_state_destroy(struct trace_state *ts);

/*
 * One event whose fields are printed by fmt.  A task other than current
 * may be named (tlb_flush on the CPU a shootdown reaches) with the flags
 * column it shows; NULL and NULL: the caller's context, ".....".
 */
struct mml_machine;
struct mml_task;
void trace_emit(struct mml_machine *m, enum trace_event_id e, const struct mml_task *on, const char *flags,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ---- the events (trace_events.c); arguments as Linux's TP_PROTO, with the machine first ---- */

struct page;
struct folio;
struct mm_struct;
struct file;

void __trace_mm_page_free(struct mml_machine *m, const struct page *page, unsigned int order);
void __trace_mm_page_alloc(struct mml_machine *m, const struct page *page, unsigned int order, unsigned int gfp,
			   int migratetype);
void __trace_rss_stat(struct mml_machine *m, struct mm_struct *mm, int member);
void __trace_mm_filemap_delete_from_page_cache(struct mml_machine *m, struct folio *folio);
void __trace_mm_filemap_add_to_page_cache(struct mml_machine *m, struct folio *folio);
void __trace_mm_vmscan_kswapd_sleep(struct mml_machine *m, int nid);
void __trace_mm_vmscan_kswapd_wake(struct mml_machine *m, int nid, int zid, int order);
void __trace_mm_vmscan_wakeup_kswapd(struct mml_machine *m, int nid, int zid, int order, unsigned int gfp);
void __trace_mm_vmscan_direct_reclaim_begin(struct mml_machine *m, int order, unsigned int gfp);
void __trace_mm_vmscan_direct_reclaim_end(struct mml_machine *m, unsigned long nr_reclaimed);
void __trace_mm_vmscan_write_folio(struct mml_machine *m, struct folio *folio);
struct reclaim_stat;
void __trace_mm_vmscan_lru_shrink_inactive(struct mml_machine *m, int nid, unsigned long nr_scanned,
					   unsigned long nr_reclaimed, const struct reclaim_stat *stat,
					   int priority, int file);
void __trace_mm_vmscan_lru_shrink_active(struct mml_machine *m, int nid, unsigned long nr_taken,
					 unsigned long nr_active, unsigned long nr_deactivated,
					 unsigned long nr_referenced, int priority, int file);
/* Linux's enum tlb_flush_reason; pages: TLB_FLUSH_ALL for everything. */
enum tlb_flush_reason { TLB_FLUSH_ON_TASK_SWITCH, TLB_REMOTE_SHOOTDOWN, TLB_LOCAL_SHOOTDOWN,
			TLB_LOCAL_MM_SHOOTDOWN, TLB_REMOTE_SEND_IPI };
#define TLB_FLUSH_ALL	(-1L)
void __trace_tlb_flush(struct mml_machine *m, const struct mml_task *on, int reason, long pages);
void __trace_mm_khugepaged_scan_pmd(struct mml_machine *m, struct mm_struct *mm, struct folio *folio, int writable,
				    int referenced, int none_or_zero, int status, int unmapped);
void __trace_mm_collapse_huge_page(struct mml_machine *m, struct mm_struct *mm, int isolated, int status);
void __trace_mm_khugepaged_scan_file(struct mml_machine *m, struct mm_struct *mm, struct folio *folio,
				     struct file *file, int present, int swap, int result);
void __trace_mm_khugepaged_collapse_file(struct mml_machine *m, struct mm_struct *mm, struct folio *new_folio,
					 unsigned long index, uint64_t addr, int is_shmem, struct file *file, int nr,
					 int result);
void __trace_mm_migrate_pages(struct mml_machine *m, unsigned long succeeded, unsigned long failed,
			      unsigned long thp_succeeded, unsigned long thp_failed, unsigned long thp_split,
			      unsigned long large_folio_split, int mode, int reason);
void __trace_mm_migrate_pages_start(struct mml_machine *m, int mode, int reason);
void __trace_set_migration_pte(struct mml_machine *m, uint64_t addr, uint64_t pte, int order);
void __trace_remove_migration_pte(struct mml_machine *m, uint64_t addr, uint64_t pte, int order);
void __trace_ksm_start_scan(struct mml_machine *m, int seq, uint32_t rmap_entries);
void __trace_ksm_stop_scan(struct mml_machine *m, int seq, uint32_t rmap_entries);
void __trace_ksm_enter(struct mml_machine *m, struct mm_struct *mm);
void __trace_ksm_exit(struct mml_machine *m, struct mm_struct *mm);
struct ksm_rmap_item;
void __trace_ksm_merge_one_page(struct mml_machine *m, unsigned long pfn, const struct ksm_rmap_item *rmap_item,
				struct mm_struct *mm, int err);
void __trace_ksm_merge_with_ksm_page(struct mml_machine *m, struct folio *ksm_folio, unsigned long pfn,
				     const struct ksm_rmap_item *rmap_item, struct mm_struct *mm, int err);
void __trace_ksm_remove_ksm_page(struct mml_machine *m, unsigned long pfn);
void __trace_ksm_remove_rmap_item(struct mml_machine *m, unsigned long pfn, const struct ksm_rmap_item *rmap_item,
				  struct mm_struct *mm);

#define trace_mm_page_free(m, ...)			TRACE_CALL(m, mm_page_free, __VA_ARGS__)
#define trace_mm_page_alloc(m, ...)			TRACE_CALL(m, mm_page_alloc, __VA_ARGS__)
#define trace_rss_stat(m, ...)				TRACE_CALL(m, rss_stat, __VA_ARGS__)
#define trace_mm_filemap_delete_from_page_cache(m, ...)	TRACE_CALL(m, mm_filemap_delete_from_page_cache, __VA_ARGS__)
#define trace_mm_filemap_add_to_page_cache(m, ...)	TRACE_CALL(m, mm_filemap_add_to_page_cache, __VA_ARGS__)
#define trace_mm_vmscan_kswapd_sleep(m, ...)		TRACE_CALL(m, mm_vmscan_kswapd_sleep, __VA_ARGS__)
#define trace_mm_vmscan_kswapd_wake(m, ...)		TRACE_CALL(m, mm_vmscan_kswapd_wake, __VA_ARGS__)
#define trace_mm_vmscan_wakeup_kswapd(m, ...)		TRACE_CALL(m, mm_vmscan_wakeup_kswapd, __VA_ARGS__)
#define trace_mm_vmscan_direct_reclaim_begin(m, ...)	TRACE_CALL(m, mm_vmscan_direct_reclaim_begin, __VA_ARGS__)
#define trace_mm_vmscan_direct_reclaim_end(m, ...)	TRACE_CALL(m, mm_vmscan_direct_reclaim_end, __VA_ARGS__)
#define trace_mm_vmscan_write_folio(m, ...)		TRACE_CALL(m, mm_vmscan_write_folio, __VA_ARGS__)
#define trace_mm_vmscan_lru_shrink_inactive(m, ...)	TRACE_CALL(m, mm_vmscan_lru_shrink_inactive, __VA_ARGS__)
#define trace_mm_vmscan_lru_shrink_active(m, ...)	TRACE_CALL(m, mm_vmscan_lru_shrink_active, __VA_ARGS__)
#define trace_tlb_flush(m, ...)				TRACE_CALL(m, tlb_flush, __VA_ARGS__)
#define trace_mm_khugepaged_scan_pmd(m, ...)		TRACE_CALL(m, mm_khugepaged_scan_pmd, __VA_ARGS__)
#define trace_mm_collapse_huge_page(m, ...)		TRACE_CALL(m, mm_collapse_huge_page, __VA_ARGS__)
#define trace_mm_khugepaged_scan_file(m, ...)		TRACE_CALL(m, mm_khugepaged_scan_file, __VA_ARGS__)
#define trace_mm_khugepaged_collapse_file(m, ...)	TRACE_CALL(m, mm_khugepaged_collapse_file, __VA_ARGS__)
#define trace_mm_migrate_pages(m, ...)			TRACE_CALL(m, mm_migrate_pages, __VA_ARGS__)
#define trace_mm_migrate_pages_start(m, ...)		TRACE_CALL(m, mm_migrate_pages_start, __VA_ARGS__)
#define trace_set_migration_pte(m, ...)			TRACE_CALL(m, set_migration_pte, __VA_ARGS__)
#define trace_remove_migration_pte(m, ...)		TRACE_CALL(m, remove_migration_pte, __VA_ARGS__)
#define trace_ksm_start_scan(m, ...)			TRACE_CALL(m, ksm_start_scan, __VA_ARGS__)
#define trace_ksm_stop_scan(m, ...)			TRACE_CALL(m, ksm_stop_scan, __VA_ARGS__)
#define trace_ksm_enter(m, ...)				TRACE_CALL(m, ksm_enter, __VA_ARGS__)
#define trace_ksm_exit(m, ...)				TRACE_CALL(m, ksm_exit, __VA_ARGS__)
#define trace_ksm_merge_one_page(m, ...)		TRACE_CALL(m, ksm_merge_one_page, __VA_ARGS__)
#define trace_ksm_merge_with_ksm_page(m, ...)		TRACE_CALL(m, ksm_merge_with_ksm_page, __VA_ARGS__)
#define trace_ksm_remove_ksm_page(m, ...)		TRACE_CALL(m, ksm_remove_ksm_page, __VA_ARGS__)
#define trace_ksm_remove_rmap_item(m, ...)		TRACE_CALL(m, ksm_remove_rmap_item, __VA_ARGS__)

#endif /* MML_MM_TRACE_H */
