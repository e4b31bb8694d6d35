/*
 * vmstat.c - /proc/vmstat and /proc/meminfo views, by Linux's names
 * (Linux's mm/vmstat.c and fs/proc/meminfo.c).
 */
#include <string.h>

#include "fs/seq_file.h"
#include "mm/internal.h"

static const char *const vmstat_text[NR_VM_STAT_ITEMS] = {
	[NR_FREE_PAGES] = "nr_free_pages",
	[NR_INACTIVE_ANON] = "nr_inactive_anon",
	[NR_ACTIVE_ANON] = "nr_active_anon",
	[NR_INACTIVE_FILE] = "nr_inactive_file",
	[NR_ACTIVE_FILE] = "nr_active_file",
	[NR_UNEVICTABLE] = "nr_unevictable",
	[NR_MLOCK] = "nr_mlock",
	[NR_SWAPCACHE] = "nr_swapcached",
	[NR_ANON_MAPPED] = "nr_anon_pages",
	[NR_FILE_MAPPED] = "nr_mapped",
	[NR_PAGETABLE] = "nr_page_table_pages",
	[NR_FILE_PAGES] = "nr_file_pages",
	[NR_SHMEM] = "nr_shmem",
	[NR_FILE_DIRTY] = "nr_dirty",
	[NR_WRITEBACK] = "nr_writeback",
	[NUMA_HIT_TOTAL] = "numa_hit",
	[NUMA_MISS_TOTAL] = "numa_miss",
	[NUMA_FOREIGN_TOTAL] = "numa_foreign",
	[NUMA_INTERLEAVE_TOTAL] = "numa_interleave",
	[NUMA_LOCAL_TOTAL] = "numa_local",
	[NUMA_OTHER_TOTAL] = "numa_other",
	[PGALLOC_NORMAL] = "pgalloc_normal",
	[PGFREE] = "pgfree",
	[PGFAULT] = "pgfault",
	[PGMAJFAULT] = "pgmajfault",
	[PGPGIN] = "pgpgin",
	[PGPGOUT] = "pgpgout",
	[PGREUSE] = "pgreuse",
	[PGLAZYFREE] = "pglazyfree",
	[PGLAZYFREED] = "pglazyfreed",
	[PSWPIN] = "pswpin",
	[PSWPOUT] = "pswpout",
	[PGACTIVATE] = "pgactivate",
	[PGDEACTIVATE] = "pgdeactivate",
	[PGSCAN_KSWAPD] = "pgscan_kswapd",
	[PGSCAN_DIRECT] = "pgscan_direct",
	[PGSTEAL_KSWAPD] = "pgsteal_kswapd",
	[PAGEOUTRUN] = "pageoutrun",
	[PGSTEAL_DIRECT] = "pgsteal_direct",
	[PGSCAN_ANON] = "pgscan_anon",
	[PGSTEAL_ANON] = "pgsteal_anon",
	[OOM_KILL] = "oom_kill",
	[NR_FOLL_PIN_ACQUIRED] = "nr_foll_pin_acquired",
	[NR_FOLL_PIN_RELEASED] = "nr_foll_pin_released",
	[NR_TLB_REMOTE_FLUSH] = "nr_tlb_remote_flush",
	[NR_TLB_REMOTE_FLUSH_RECEIVED] = "nr_tlb_remote_flush_received",
	[NR_TLB_LOCAL_FLUSH_ALL] = "nr_tlb_local_flush_all",
	[NR_TLB_LOCAL_FLUSH_ONE] = "nr_tlb_local_flush_one",
	[NR_ANON_THPS] = "nr_anon_transparent_hugepages",
	[NR_SHMEM_THPS] = "nr_shmem_hugepages",
	[NR_SHMEM_PMDMAPPED] = "nr_shmem_pmdmapped",
	[NR_FILE_THPS] = "nr_file_hugepages",
	[NR_FILE_PMDMAPPED] = "nr_file_pmdmapped",
	[THP_FAULT_ALLOC] = "thp_fault_alloc",
	[THP_FAULT_FALLBACK] = "thp_fault_fallback",
	[THP_COLLAPSE_ALLOC] = "thp_collapse_alloc",
	[THP_COLLAPSE_ALLOC_FAILED] = "thp_collapse_alloc_failed",
	[THP_SPLIT_PAGE] = "thp_split_page",
	[THP_SPLIT_PAGE_FAILED] = "thp_split_page_failed",
	[THP_DEFERRED_SPLIT_PAGE] = "thp_deferred_split_page",
	[THP_SPLIT_PMD] = "thp_split_pmd",
	[THP_ZERO_PAGE_ALLOC] = "thp_zero_page_alloc",
	[THP_ZERO_PAGE_ALLOC_FAILED] = "thp_zero_page_alloc_failed",
	[THP_SWPOUT] = "thp_swpout",
	[THP_FILE_ALLOC] = "thp_file_alloc",
	[THP_FILE_FALLBACK] = "thp_file_fallback",
	[THP_FILE_MAPPED] = "thp_file_mapped",
	[PGMIGRATE_SUCCESS] = "pgmigrate_success",
	[PGMIGRATE_FAIL] = "pgmigrate_fail",
	[THP_MIGRATION_SUCCESS] = "thp_migration_success",
	[THP_MIGRATION_FAIL] = "thp_migration_fail",
	[THP_MIGRATION_SPLIT] = "thp_migration_split",
	[COMPACTMIGRATE_SCANNED] = "compact_migrate_scanned",
	[COMPACTFREE_SCANNED] = "compact_free_scanned",
	[COMPACTISOLATED] = "compact_isolated",
	[COMPACTSTALL] = "compact_stall",
	[COMPACTFAIL] = "compact_fail",
	[COMPACTSUCCESS] = "compact_success",
	[SWAP_RA] = "swap_ra",
	[SWAP_RA_HIT] = "swap_ra_hit",
	[KSM_SWPIN_COPY] = "ksm_swpin_copy",
	[COW_KSM] = "cow_ksm",
	[VMA_LOCK_SUCCESS] = "vma_lock_success",
	[VMA_LOCK_ABORT] = "vma_lock_abort",
	[VMA_LOCK_RETRY] = "vma_lock_retry",
	[VMA_LOCK_MISS] = "vma_lock_miss",
	[THP_SWPOUT_FALLBACK] = "thp_swpout_fallback",
	[UNEVICTABLE_PGCULLED] = "unevictable_pgs_culled",
	[UNEVICTABLE_PGSCANNED] = "unevictable_pgs_scanned",
	[UNEVICTABLE_PGRESCUED] = "unevictable_pgs_rescued",
	[UNEVICTABLE_PGMLOCKED] = "unevictable_pgs_mlocked",
	[UNEVICTABLE_PGMUNLOCKED] = "unevictable_pgs_munlocked",
	[UNEVICTABLE_PGCLEARED] = "unevictable_pgs_cleared",
	[UNEVICTABLE_PGSTRANDED] = "unevictable_pgs_stranded",
};

/*
 * Page tables reach the free lists only after an RCU grace period, and new
 * folios the LRU only when their CPU's batch drains.  A view first drains
 * every batch and waits for the frees already queued, so that what it
 * shows depends neither on how fast the grace period went nor on which
 * task added a folio (deviation 11).
 */
void vm_settle(struct mml_machine *m)
{
	lru_add_drain_all(m);
	if (atomic_long_read(&m->pgtables_pending_free))
		rcu_batch_flush(&m->rcu);
}

/*
 * A counter as /proc/vmstat shows it: the numa_* ones are the sums of the
 * nodes' (sum_zone_numa_event_state), the rest the machine's own.
 */
_Static_assert(NUMA_OTHER_TOTAL - NUMA_HIT_TOTAL == NUMA_OTHER - NUMA_HIT, "numa_* follow numastat's order");

/* The CPUs' counts summed (Linux's sum_vm_event / global_node_page_state_pages, exact). */
long global_vm_stat(struct mml_machine *m, enum vm_stat_item i)
{
	long sum = 0;

	for (int cpu = 0; cpu < NR_COUNTER_COPIES; cpu++)
		sum += atomic_long_read(&m->vm_stat_cpu[cpu].vm_stat[i]);
	return sum;
}

long node_numa_event(struct mml_machine *m, int nid, enum numa_stat_item i)
{
	long sum = 0;

	for (int cpu = 0; cpu < NR_COUNTER_COPIES; cpu++)
		sum += atomic_long_read(&m->vm_stat_cpu[cpu].numa_event[nid][i]);
	return sum;
}

static long vmstat_read(struct mml_machine *m, enum vm_stat_item i)
{
	long sum = 0;

	if (i < NUMA_HIT_TOTAL || i > NUMA_OTHER_TOTAL)
		return global_vm_stat(m, i);
	for (int nid = 0; nid < m->nr_nodes; nid++)
		sum += node_numa_event(m, nid, NUMA_HIT + (i - NUMA_HIT_TOTAL));
	return sum;
}

long mml_vmstat(struct mml_machine *m, const char *name)
{
	vm_settle(m);
	for (int i = 0; i < NR_VM_STAT_ITEMS; i++)
		if (!strcmp(vmstat_text[i], name))
			return vmstat_read(m, i);
	return -ENOENT;
}

const char *mml_vmstat_name(unsigned i)
{
	return i < NR_VM_STAT_ITEMS ? vmstat_text[i] : NULL;
}

/* Models vmstat_show(): a counter a line, "name value"; as JSON, one member each. */
static int show_vmstat(struct mml_machine *m, FILE *out, bool json)
{
	struct seq_file s;

	vm_settle(m);
	seq_open(&s, out, json);
	for (int i = 0; i < NR_VM_STAT_ITEMS; i++)
		seq_put_decimal(&s, vmstat_text[i], vmstat_read(m, i));
	return seq_close(&s);
}

int mml_show_vmstat(struct mml_machine *m, FILE *out)
{
	return show_vmstat(m, out, false);
}

int mml_show_vmstat_json(struct mml_machine *m, FILE *out)
{
	return show_vmstat(m, out, true);
}

/* /proc/meminfo fields, in Linux's order; values in pages before scaling. */
struct meminfo_field {
	const char *name;
	long (*pages)(struct mml_machine *m);
};

static long mi_total(struct mml_machine *m) { return (long)totalram_pages(m); }
static long mi_free(struct mml_machine *m) { return global_vm_stat(m, NR_FREE_PAGES); }
/* si_mem_available() without page cache or reclaimable slab: free less the reserve. */
static long mi_available(struct mml_machine *m)
{
	long a = global_vm_stat(m, NR_FREE_PAGES) - (long)total_watermark(m, WMARK_HIGH);

	return a < 0 ? 0 : a;
}
static long mi_zero(struct mml_machine *m) { return 0; }
static long mi_swaptotal(struct mml_machine *m) { return READ_ONCE(m->total_swap_pages); }
static long mi_swapfree(struct mml_machine *m) { return atomic_long_read(&m->nr_swap_pages); }
static long mi_swapcached(struct mml_machine *m) { return global_vm_stat(m, NR_SWAPCACHE); }
static long mi_active(struct mml_machine *m) { return global_vm_stat(m, NR_ACTIVE_ANON) + global_vm_stat(m, NR_ACTIVE_FILE); }
static long mi_inactive(struct mml_machine *m) { return global_vm_stat(m, NR_INACTIVE_ANON) + global_vm_stat(m, NR_INACTIVE_FILE); }
static long mi_active_anon(struct mml_machine *m) { return global_vm_stat(m, NR_ACTIVE_ANON); }
static long mi_inactive_anon(struct mml_machine *m) { return global_vm_stat(m, NR_INACTIVE_ANON); }
static long mi_active_file(struct mml_machine *m) { return global_vm_stat(m, NR_ACTIVE_FILE); }
static long mi_inactive_file(struct mml_machine *m) { return global_vm_stat(m, NR_INACTIVE_FILE); }
static long mi_unevictable(struct mml_machine *m) { return global_vm_stat(m, NR_UNEVICTABLE); }
static long mi_mlocked(struct mml_machine *m) { return global_vm_stat(m, NR_MLOCK); }
static long mi_anon(struct mml_machine *m) { return global_vm_stat(m, NR_ANON_MAPPED); }
static long mi_mapped(struct mml_machine *m) { return global_vm_stat(m, NR_FILE_MAPPED); }
static long mi_pagetables(struct mml_machine *m) { return global_vm_stat(m, NR_PAGETABLE); }
/* Cached: the page cache, shmem included, without the swap cache (no buffers here). */
static long mi_cached(struct mml_machine *m)
{
	long c = global_vm_stat(m, NR_FILE_PAGES) - global_vm_stat(m, NR_SWAPCACHE);

	return c < 0 ? 0 : c;
}
static long mi_shmem(struct mml_machine *m) { return global_vm_stat(m, NR_SHMEM); }
static long mi_dirty(struct mml_machine *m) { return global_vm_stat(m, NR_FILE_DIRTY); }
static long mi_writeback(struct mml_machine *m) { return global_vm_stat(m, NR_WRITEBACK); }
static long mi_commit_limit(struct mml_machine *m) { return (long)vm_commit_limit(m); }
static long mi_committed_as(struct mml_machine *m)
{
	long c = atomic_long_read(&m->vm_committed_as);

	return c < 0 ? 0 : c;	/* percpu_counter_read_positive() */
}
/* PMD-mapped anon THPs, counted by folio (NR_ANON_THPS), shown in pages. */
static long mi_anon_huge(struct mml_machine *m) { return global_vm_stat(m, NR_ANON_THPS) * HPAGE_PMD_NR; }
/* The page cache's PMD-sized folios and those a pmd maps, counted by folio too. */
static long mi_shmem_huge(struct mml_machine *m) { return global_vm_stat(m, NR_SHMEM_THPS) * HPAGE_PMD_NR; }
static long mi_shmem_pmdmapped(struct mml_machine *m) { return global_vm_stat(m, NR_SHMEM_PMDMAPPED) * HPAGE_PMD_NR; }
static long mi_file_huge(struct mml_machine *m) { return global_vm_stat(m, NR_FILE_THPS) * HPAGE_PMD_NR; }
static long mi_file_pmdmapped(struct mml_machine *m) { return global_vm_stat(m, NR_FILE_PMDMAPPED) * HPAGE_PMD_NR; }

static const struct meminfo_field meminfo_fields[] = {
	{ "MemTotal", mi_total },
	{ "MemFree", mi_free },
	{ "MemAvailable", mi_available },
	{ "Buffers", mi_zero },
	{ "Cached", mi_cached },
	{ "SwapCached", mi_swapcached },
	{ "Active", mi_active },
	{ "Inactive", mi_inactive },
	{ "Active(anon)", mi_active_anon },
	{ "Inactive(anon)", mi_inactive_anon },
	{ "Active(file)", mi_active_file },
	{ "Inactive(file)", mi_inactive_file },
	{ "Unevictable", mi_unevictable },
	{ "Mlocked", mi_mlocked },
	{ "SwapTotal", mi_swaptotal },
	{ "SwapFree", mi_swapfree },
	{ "Dirty", mi_dirty },
	{ "Writeback", mi_writeback },
	{ "AnonPages", mi_anon },
	{ "Mapped", mi_mapped },
	{ "Shmem", mi_shmem },
	{ "PageTables", mi_pagetables },
	{ "CommitLimit", mi_commit_limit },
	{ "Committed_AS", mi_committed_as },
	{ "AnonHugePages", mi_anon_huge },
	{ "ShmemHugePages", mi_shmem_huge },
	{ "ShmemPmdMapped", mi_shmem_pmdmapped },
	{ "FileHugePages", mi_file_huge },
	{ "FilePmdMapped", mi_file_pmdmapped },
};

const char *mml_meminfo_name(unsigned i)
{
	return i < ARRAY_SIZE(meminfo_fields) ? meminfo_fields[i].name : NULL;
}

long mml_meminfo(struct mml_machine *m, const char *name)
{
	vm_settle(m);
	for (size_t i = 0; i < ARRAY_SIZE(meminfo_fields); i++)
		if (!strcmp(meminfo_fields[i].name, name))
			return meminfo_fields[i].pages(m) * (long)(PAGE_SIZE / 1024);
	return -ENOENT;
}

/*
 * Not /proc's reader but a tracer's (mmlab run --vmstat-trace): the value
 * as it stands, without vm_settle(), so that sampling after
 * every operation changes nothing in the run; page tables queued for a
 * grace period are not free yet.  Linux's own /proc/vmstat does not fold
 * pending work either (that is vm.stat_refresh's job).
 */
long mml_stat_peek(struct mml_machine *m, const char *name)
{
	for (int i = 0; i < NR_VM_STAT_ITEMS; i++)
		if (!strcmp(vmstat_text[i], name))
			return vmstat_read(m, i);
	for (size_t i = 0; i < ARRAY_SIZE(meminfo_fields); i++)
		if (!strcmp(meminfo_fields[i].name, name))
			return meminfo_fields[i].pages(m) * (long)(PAGE_SIZE / 1024);
	return -ENOENT;
}

/* Models meminfo_proc_show(): every field in kB (show_val_kb). */
static int show_meminfo(struct mml_machine *m, FILE *out, bool json)
{
	struct seq_file s;

	vm_settle(m);
	seq_open(&s, out, json);
	for (size_t i = 0; i < ARRAY_SIZE(meminfo_fields); i++)
		seq_put_kb(&s, meminfo_fields[i].name, (uint64_t)meminfo_fields[i].pages(m) * PAGE_SIZE);
	return seq_close(&s);
}

int mml_show_meminfo(struct mml_machine *m, FILE *out)
{
	return show_meminfo(m, out, false);
}

int mml_show_meminfo_json(struct mml_machine *m, FILE *out)
{
	return show_meminfo(m, out, true);
}
