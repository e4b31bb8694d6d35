/*
 * mm_sysfs.c - the core's tunable files (fs/sysfs.h has the contract):
 * /sys/kernel/mm/transparent_hugepage with its khugepaged and
 * hugepages-<size>kB directories (Linux keeps these in mm/huge_memory.c
 * and mm/khugepaged.c), the debugfs file split_huge_pages
 * (mm/huge_memory.c), and the /proc/sys/vm entries whose values the core
 * uses (mm/mmap.c's max_map_count, security/min_addr.c's mmap_min_addr),
 * and the NUMA nodes' /sys/devices/system/node (drivers/base/node.c).
 *
 * Texts and checks are Linux 6.18's.  Every knob is a field of
 * machine->thp, changed with the sync layer's atomics and read by the
 * core with READ_ONCE or test_bit, as Linux reads its globals.  What is
 * not here (shrink_underused, the per-size stats and shmem_enabled, the PUD
 * size's directory, the other vm sysctls) is listed in docs/deviations.md.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs/sysfs.h"
#include "mm/internal.h"
#include "mm/pagemap.h"

/* ---- transparent_hugepage/ ------------------------------------------------------------------ */

static bool thp_test(struct mml_machine *m, enum transparent_hugepage_flag f)
{
	return test_bit(f, &m->thp.transparent_hugepage_flags);
}

/*
 * A store of one of a knob's words: the flags of the others cleared,
 * its own set (none for "never").  As in Linux, a reader between the two
 * steps may see none set for a moment, which reads as "never".
 */
static void thp_flags_choose(struct mml_machine *m, const enum transparent_hugepage_flag *all,
			     int n, int chosen)
{
	for (int i = 0; i < n; i++)
		if (i != chosen)
			clear_bit(all[i], &m->thp.transparent_hugepage_flags);
	if (chosen >= 0)
		set_bit(all[chosen], &m->thp.transparent_hugepage_flags);
}

/*
 * start_stop_khugepaged(): Linux starts or stops its thread here and
 * wakes it if it has mms to scan.  mmlab's khugepaged runs only with
 * MML_KHUGEPAGED, for the machine's life; a change of `enabled` wakes it
 * so that it rereads the knobs at once.
 */
static void khugepaged_kick(struct mml_machine *m)
{
	if (!test_bit(KHUGEPAGED_WAKE, &m->khugepaged_flags))
		set_bit_wake(KHUGEPAGED_WAKE, &m->khugepaged_flags);
}

static ssize_t enabled_show(struct mml_machine *m, const struct kobj_attribute *attr, char *buf)
{
	const char *out = "always madvise [never]";

	if (thp_test(m, TRANSPARENT_HUGEPAGE_FLAG))
		out = "[always] madvise never";
	else if (thp_test(m, TRANSPARENT_HUGEPAGE_REQ_MADV_FLAG))
		out = "always [madvise] never";
	return sysfs_emit(buf, "%s\n", out);
}

static ssize_t enabled_store(struct mml_machine *m, const struct kobj_attribute *attr,
			     const char *buf, size_t count)
{
	static const enum transparent_hugepage_flag f[] = {
		TRANSPARENT_HUGEPAGE_FLAG, TRANSPARENT_HUGEPAGE_REQ_MADV_FLAG,
	};

	if (sysfs_streq(buf, "always"))
		thp_flags_choose(m, f, 2, 0);
	else if (sysfs_streq(buf, "madvise"))
		thp_flags_choose(m, f, 2, 1);
	else if (sysfs_streq(buf, "never"))
		thp_flags_choose(m, f, 2, -1);
	else
		return -EINVAL;
	khugepaged_kick(m);
	return (ssize_t)count;
}

static ssize_t defrag_show(struct mml_machine *m, const struct kobj_attribute *attr, char *buf)
{
	const char *out = "always defer defer+madvise madvise [never]";

	if (thp_test(m, TRANSPARENT_HUGEPAGE_DEFRAG_DIRECT_FLAG))
		out = "[always] defer defer+madvise madvise never";
	else if (thp_test(m, TRANSPARENT_HUGEPAGE_DEFRAG_KSWAPD_FLAG))
		out = "always [defer] defer+madvise madvise never";
	else if (thp_test(m, TRANSPARENT_HUGEPAGE_DEFRAG_KSWAPD_OR_MADV_FLAG))
		out = "always defer [defer+madvise] madvise never";
	else if (thp_test(m, TRANSPARENT_HUGEPAGE_DEFRAG_REQ_MADV_FLAG))
		out = "always defer defer+madvise [madvise] never";
	return sysfs_emit(buf, "%s\n", out);
}

static ssize_t defrag_store(struct mml_machine *m, const struct kobj_attribute *attr,
			    const char *buf, size_t count)
{
	static const enum transparent_hugepage_flag f[] = {
		TRANSPARENT_HUGEPAGE_DEFRAG_DIRECT_FLAG, TRANSPARENT_HUGEPAGE_DEFRAG_KSWAPD_FLAG,
		TRANSPARENT_HUGEPAGE_DEFRAG_KSWAPD_OR_MADV_FLAG,
		TRANSPARENT_HUGEPAGE_DEFRAG_REQ_MADV_FLAG,
	};
	static const char *const words[] = { "always", "defer", "defer+madvise", "madvise" };

	for (int i = 0; i < 4; i++) {
		if (sysfs_streq(buf, words[i])) {
			thp_flags_choose(m, f, 4, i);
			return (ssize_t)count;
		}
	}
	if (!sysfs_streq(buf, "never"))
		return -EINVAL;
	thp_flags_choose(m, f, 4, -1);
	return (ssize_t)count;
}

/* single_hugepage_flag_show/_store: one flag as 0 or 1 (attr->arg names it). */
static ssize_t single_flag_show(struct mml_machine *m, const struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", thp_test(m, (enum transparent_hugepage_flag)attr->arg));
}

static ssize_t single_flag_store(struct mml_machine *m, const struct kobj_attribute *attr,
				 const char *buf, size_t count)
{
	unsigned long v;
	int ret = kstrtoul(buf, 10, &v);

	if (ret < 0)
		return ret;
	if (v > 1)
		return -EINVAL;
	if (v)
		set_bit((int)attr->arg, &m->thp.transparent_hugepage_flags);
	else
		clear_bit((int)attr->arg, &m->thp.transparent_hugepage_flags);
	return (ssize_t)count;
}

static ssize_t hpage_pmd_size_show(struct mml_machine *m, const struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lu\n", (unsigned long)HPAGE_PMD_SIZE);
}

/*
 * shmem_enabled: the words in Linux's order, the current one bracketed.
 * A value other than deny and force becomes the internal mount's huge=
 * (memfd and shared anonymous memory), as Linux's store does.
 */
static const int shmem_enabled_order[] = {
	SHMEM_HUGE_ALWAYS, SHMEM_HUGE_WITHIN_SIZE, SHMEM_HUGE_ADVISE, SHMEM_HUGE_NEVER,
	SHMEM_HUGE_DENY, SHMEM_HUGE_FORCE,
};

static ssize_t shmem_enabled_show(struct mml_machine *m, const struct kobj_attribute *attr, char *buf)
{
	int cur = READ_ONCE(m->thp.shmem_huge), len = 0;

	for (size_t i = 0; i < ARRAY_SIZE(shmem_enabled_order); i++) {
		const char *w = shmem_format_huge(shmem_enabled_order[i]);

		len += snprintf(buf + len, SYSFS_BUF_SIZE - len, i ? (cur == shmem_enabled_order[i] ? " [%s]" : " %s")
								    : (cur == shmem_enabled_order[i] ? "[%s]" : "%s"), w);
	}
	return sysfs_emit(buf + len, "\n") + len;
}

static ssize_t shmem_enabled_store(struct mml_machine *m, const struct kobj_attribute *attr,
				   const char *buf, size_t count)
{
	for (size_t i = 0; i < ARRAY_SIZE(shmem_enabled_order); i++) {
		int huge = shmem_enabled_order[i];

		if (!sysfs_streq(buf, shmem_format_huge(huge)))
			continue;
		WRITE_ONCE(m->thp.shmem_huge, huge);
		if (huge != SHMEM_HUGE_DENY && huge != SHMEM_HUGE_FORCE)
			WRITE_ONCE(m->mounts[MNT_SHM_INTERNAL]->s_huge, huge);
		khugepaged_kick(m);
		return (ssize_t)count;
	}
	return -EINVAL;
}

static const struct kobj_attribute hugepage_attrs[] = {
	{ "enabled", 0644, enabled_show, enabled_store, 0 },
	{ "defrag", 0644, defrag_show, defrag_store, 0 },
	{ "use_zero_page", 0644, single_flag_show, single_flag_store,
	  TRANSPARENT_HUGEPAGE_USE_ZERO_PAGE_FLAG },
	{ "hpage_pmd_size", 0444, hpage_pmd_size_show, NULL, 0 },
	{ "shmem_enabled", 0644, shmem_enabled_show, shmem_enabled_store, 0 },
	{ NULL },
};

const struct attribute_group hugepage_attr_group = {
	.dir = "/sys/kernel/mm/transparent_hugepage",
	.attrs = hugepage_attrs,
};

/* ---- transparent_hugepage/hugepages-<size>kB/enabled: the anon orders 2..9 ----------------- */

static ssize_t anon_enabled_show(struct mml_machine *m, const struct kobj_attribute *attr, char *buf)
{
	int order = (int)attr->arg;
	const char *out = "always inherit madvise [never]";

	if (test_bit(order, &m->thp.huge_anon_orders_always))
		out = "[always] inherit madvise never";
	else if (test_bit(order, &m->thp.huge_anon_orders_inherit))
		out = "always [inherit] madvise never";
	else if (test_bit(order, &m->thp.huge_anon_orders_madvise))
		out = "always inherit [madvise] never";
	return sysfs_emit(buf, "%s\n", out);
}

/*
 * Linux's huge_anon_orders_lock: two stores to the same size must not
 * leave its bit in two masks.  One lock for every machine of the
 * process, as one kernel has one; a bit lock needs no initialisation.
 */
static unsigned long huge_anon_orders_lock;

static ssize_t anon_enabled_store(struct mml_machine *m, const struct kobj_attribute *attr,
				  const char *buf, size_t count)
{
	int order = (int)attr->arg;
	unsigned long *masks[] = {
		&m->thp.huge_anon_orders_always, &m->thp.huge_anon_orders_inherit,
		&m->thp.huge_anon_orders_madvise,
	};
	static const char *const words[] = { "always", "inherit", "madvise" };
	int chosen = -2;

	for (int i = 0; i < 3; i++)
		if (sysfs_streq(buf, words[i]))
			chosen = i;
	if (chosen == -2 && sysfs_streq(buf, "never"))
		chosen = -1;
	if (chosen == -2)
		return -EINVAL;
	bit_lock(0, &huge_anon_orders_lock);
	for (int i = 0; i < 3; i++)
		if (i != chosen)
			clear_bit(order, masks[i]);
	if (chosen >= 0)
		set_bit(order, masks[chosen]);
	bit_unlock(0, &huge_anon_orders_lock);
	khugepaged_kick(m);
	return (ssize_t)count;
}

/* THP_ORDERS_ALL_ANON on x86-64: orders 2 (16 kB) to PMD_ORDER (2 MB). */
#define THPSIZE(kb, order) { "hugepages-" #kb "kB/enabled", 0644, anon_enabled_show, anon_enabled_store, order }

static const struct kobj_attribute thpsize_attrs[] = {
	THPSIZE(16, 2), THPSIZE(32, 3), THPSIZE(64, 4), THPSIZE(128, 5),
	THPSIZE(256, 6), THPSIZE(512, 7), THPSIZE(1024, 8), THPSIZE(2048, 9),
	{ NULL },
};

_Static_assert(HPAGE_PMD_ORDER == 9, "hugepages-<size>kB names assume 4 kB pages and 2 MB PMDs");

const struct attribute_group thpsize_attr_group = {
	.dir = "/sys/kernel/mm/transparent_hugepage",
	.attrs = thpsize_attrs,
};

/* ---- transparent_hugepage/khugepaged/ ------------------------------------------------------- */

/* Which field of machine->thp an attribute shows, by attr->arg. */
enum khugepaged_knob {
	KNOB_PAGES_TO_SCAN, KNOB_MAX_PTES_NONE, KNOB_MAX_PTES_SWAP, KNOB_MAX_PTES_SHARED,
	KNOB_SCAN_SLEEP, KNOB_ALLOC_SLEEP,
};

static unsigned int *khugepaged_knob(struct mml_machine *m, long knob)
{
	switch (knob) {
	case KNOB_PAGES_TO_SCAN:	return &m->thp.khugepaged_pages_to_scan;
	case KNOB_MAX_PTES_NONE:	return &m->thp.khugepaged_max_ptes_none;
	case KNOB_MAX_PTES_SWAP:	return &m->thp.khugepaged_max_ptes_swap;
	case KNOB_MAX_PTES_SHARED:	return &m->thp.khugepaged_max_ptes_shared;
	case KNOB_SCAN_SLEEP:		return &m->thp.khugepaged_scan_sleep_millisecs;
	default:			return &m->thp.khugepaged_alloc_sleep_millisecs;
	}
}

static ssize_t khugepaged_uint_show(struct mml_machine *m, const struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(*khugepaged_knob(m, attr->arg)));
}

/* max_ptes_none, _swap, _shared: at most HPAGE_PMD_NR - 1 (COLLAPSE_MAX_PTES_LIMIT). */
static ssize_t max_ptes_store(struct mml_machine *m, const struct kobj_attribute *attr,
			      const char *buf, size_t count)
{
	unsigned long v;

	if (kstrtoul(buf, 10, &v) || v > HPAGE_PMD_NR - 1)
		return -EINVAL;
	WRITE_ONCE(*khugepaged_knob(m, attr->arg), (unsigned int)v);
	return (ssize_t)count;
}

/* pages_to_scan: any unsigned int but 0; khugepaged reads it at its next pass. */
static ssize_t pages_to_scan_store(struct mml_machine *m, const struct kobj_attribute *attr,
				   const char *buf, size_t count)
{
	unsigned int v;

	if (kstrtouint(buf, 10, &v) || !v)
		return -EINVAL;
	WRITE_ONCE(m->thp.khugepaged_pages_to_scan, v);
	return (ssize_t)count;
}

/*
 * __sleep_millisecs_store(): a new sleep takes effect now, not after
 * the old one runs out, so khugepaged is woken to sleep again with it.
 */
static ssize_t sleep_millisecs_store(struct mml_machine *m, const struct kobj_attribute *attr,
				     const char *buf, size_t count)
{
	unsigned int v;

	if (kstrtouint(buf, 10, &v))
		return -EINVAL;
	WRITE_ONCE(*khugepaged_knob(m, attr->arg), v);
	khugepaged_kick(m);
	return (ssize_t)count;
}

static ssize_t full_scans_show(struct mml_machine *m, const struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", (unsigned int)READ_ONCE(m->thp.khugepaged_full_scans));
}

static ssize_t pages_collapsed_show(struct mml_machine *m, const struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", (unsigned int)READ_ONCE(m->thp.khugepaged_pages_collapsed));
}

static const struct kobj_attribute khugepaged_attrs[] = {
	{ "defrag", 0644, single_flag_show, single_flag_store,
	  TRANSPARENT_HUGEPAGE_DEFRAG_KHUGEPAGED_FLAG },
	{ "max_ptes_none", 0644, khugepaged_uint_show, max_ptes_store, KNOB_MAX_PTES_NONE },
	{ "max_ptes_swap", 0644, khugepaged_uint_show, max_ptes_store, KNOB_MAX_PTES_SWAP },
	{ "max_ptes_shared", 0644, khugepaged_uint_show, max_ptes_store, KNOB_MAX_PTES_SHARED },
	{ "pages_to_scan", 0644, khugepaged_uint_show, pages_to_scan_store, KNOB_PAGES_TO_SCAN },
	{ "pages_collapsed", 0444, pages_collapsed_show, NULL, 0 },
	{ "full_scans", 0444, full_scans_show, NULL, 0 },
	{ "scan_sleep_millisecs", 0644, khugepaged_uint_show, sleep_millisecs_store, KNOB_SCAN_SLEEP },
	{ "alloc_sleep_millisecs", 0644, khugepaged_uint_show, sleep_millisecs_store, KNOB_ALLOC_SLEEP },
	{ NULL },
};

const struct attribute_group khugepaged_attr_group = {
	.dir = "/sys/kernel/mm/transparent_hugepage/khugepaged",
	.attrs = khugepaged_attrs,
};

/* ---- /sys/kernel/debug/split_huge_pages ------------------------------------------------------ */

/*
 * split_huge_pages_all(): every large folio on the LRU, frame by frame,
 * locked and split to order 0 (what "1" alone asks).  The huge zero folio
 * is on no LRU, so it stays.
 */
static void split_huge_pages_all(struct mml_machine *m)
{
	for (unsigned long pfn = 0; pfn < m->nr_frames; pfn++) {
		struct page *page = pfn_to_page(m, pfn);
		struct folio *folio;
		long nr;

		if (READ_ONCE(page->compound_head) & 1)
			continue;
		folio = page_folio(page);
		if (!folio_try_get(folio))
			continue;
		if (page_folio(page) != folio || !folio_test_large(folio) || !folio_test_lru(folio))
			goto next;
		nr = folio_nr_pages(folio);
		folio_lock(folio);
		split_folio(m, folio);
		folio_unlock(folio);
		pfn += (unsigned long)nr - 1;
next:
		folio_put(m, folio);
	}
}

/* Linux's MAX_INPUT_BUF_SZ: what split_huge_pages_write looks at. */
#define SPLIT_INPUT_MAX	255

/*
 * split_huge_pages_write(): "<pid>,0x<start>,0x<end>[,<new_order>
 * [,<in_folio_offset>]]" splits the THPs process pid maps in the range;
 * "1" alone splits every THP; a leading '/' names a file instead.  mmlab
 * splits anon folios to order 0 only and has no file THPs, so a non-zero
 * new_order, an in-folio offset and the file form are refused with
 * -EINVAL (docs/deviations.md).
 */
static ssize_t split_huge_pages_store(struct mml_machine *m, const struct kobj_attribute *attr,
				      const char *buf, size_t count)
{
	char in[SPLIT_INPUT_MAX];
	unsigned long start, end;
	int pid, new_order = 0, ret;
	long in_folio_offset = -1;

	snprintf(in, sizeof(in), "%s", buf);
	if (in[0] == '/')
		return -EINVAL;
	ret = sscanf(in, "%d,0x%lx,0x%lx,%d,%ld", &pid, &start, &end, &new_order, &in_folio_offset);
	if (ret == 1 && pid == 1) {
		split_huge_pages_all(m);
		return (ssize_t)count;
	}
	if (ret != 3 && ret != 4 && ret != 5)
		return -EINVAL;
	if (new_order != 0 || in_folio_offset >= 0)
		return -EINVAL;
	ret = split_huge_pages_pid(m, pid, start & PAGE_MASK, end & PAGE_MASK);
	return ret ? ret : (ssize_t)count;
}

static const struct kobj_attribute thp_debugfs_attrs[] = {
	{ "split_huge_pages", 0200, NULL, split_huge_pages_store, 0 },
	{ NULL },
};

const struct attribute_group thp_debugfs_group = {
	.dir = "/sys/kernel/debug",
	.attrs = thp_debugfs_attrs,
};

/* ---- /proc/sys/vm: the core's limits ------------------------------------------------------- */

/*
 * max_map_count is a constant here (MAX_MAP_COUNT): it reads as Linux's
 * default and refuses writes.  mmap_min_addr is the machine's: root may
 * write it, as mmap_min_addr_handler lets a CAP_SYS_RAWIO writer (a
 * native run sets the host's value so that both sides agree).
 */
static ssize_t max_map_count_show(struct mml_machine *m, const struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", MAX_MAP_COUNT);
}

static ssize_t mmap_min_addr_show(struct mml_machine *m, const struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lu\n", READ_ONCE(m->mmap_min_addr));
}

static ssize_t mmap_min_addr_store(struct mml_machine *m, const struct kobj_attribute *attr,
				   const char *buf, size_t count)
{
	unsigned long v;

	if (proc_doulongvec_value(buf, count, &v) || v > TASK_SIZE)
		return -EINVAL;
	WRITE_ONCE(m->mmap_min_addr, v);
	return (ssize_t)count;
}

/* Linux's page-cluster: proc_dointvec_minmax from 0 to page_cluster_max (31). */
static ssize_t page_cluster_show(struct mml_machine *m, const struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", READ_ONCE(m->page_cluster));
}

static ssize_t page_cluster_store(struct mml_machine *m, const struct kobj_attribute *attr,
				  const char *buf, size_t count)
{
	int v;

	if (proc_dointvec_value(buf, count, &v) || v < 0 || v > 31)
		return -EINVAL;
	WRITE_ONCE(m->page_cluster, v);
	return (ssize_t)count;
}

static const struct kobj_attribute vm_mm_sysctl_attrs[] = {
	{ "max_map_count", 0444, max_map_count_show, NULL, 0 },
	{ "mmap_min_addr", 0644, mmap_min_addr_show, mmap_min_addr_store, 0 },
	{ "page-cluster", 0644, page_cluster_show, page_cluster_store, 0 },
	{ NULL },
};

const struct attribute_group vm_mm_sysctl_group = {
	.dir = "/proc/sys/vm",
	.attrs = vm_mm_sysctl_attrs,
};

/* ---- /sys/devices/system/node (Linux's drivers/base/node.c) -------------------------------- */

/*
 * online, possible, has_memory: every node mmlab has is all three, so each
 * prints node_states_memory() as a node list ("0-1").
 */
static ssize_t node_states_show(struct mml_machine *m, const struct kobj_attribute *attr, char *buf)
{
	char nodes[3 * MAX_NUMNODES];

	return sysfs_emit(buf, "%s\n", nodelist_str(nodes, sizeof(nodes), node_states_memory(m)));
}

/* node_read_numastat(): the node's six event counters. */
static ssize_t node_numastat_show(struct mml_machine *m, const struct kobj_attribute *attr, char *buf)
{
	int nid = (int)attr->arg;

	/* The table names all MAX_NUMNODES nodes; those the machine lacks are absent, as in Linux. */
	if (nid >= m->nr_nodes)
		return -ENOENT;
	return sysfs_emit(buf, "numa_hit %lu\nnuma_miss %lu\nnuma_foreign %lu\ninterleave_hit %lu\n"
			  "local_node %lu\nother_node %lu\n",
			  (unsigned long)node_numa_event(m, nid, NUMA_HIT),
			  (unsigned long)node_numa_event(m, nid, NUMA_MISS),
			  (unsigned long)node_numa_event(m, nid, NUMA_FOREIGN),
			  (unsigned long)node_numa_event(m, nid, NUMA_INTERLEAVE_HIT),
			  (unsigned long)node_numa_event(m, nid, NUMA_LOCAL),
			  (unsigned long)node_numa_event(m, nid, NUMA_OTHER));
}

/* What node meminfo shows beyond the zone's sizes, in pages. */
struct node_meminfo {
	unsigned long swapcached, lru[NR_LRU_LISTS], unevictable, mlocked, dirty, writeback;
	unsigned long file_pages, mapped, anon_pages, shmem, pagetables, anon_thps;
};

/*
 * Linux reads these from the node's vmstat counters (node_page_state);
 * mmlab counts only machine-wide, so this scans the node's frames and
 * classifies each in-use folio by its flags as the counters' updaters
 * would.  Without locks: a folio changing during the scan may be counted
 * as it was or as it is, as a racing reader of Linux's counters may see.
 */
static void node_meminfo_scan(struct mml_machine *m, int nid, struct node_meminfo *nm)
{
	const struct zone *z = &NODE_DATA(m, nid)->node_zones[0];
	unsigned long end = z->zone_start_pfn + z->spanned_pages;

	memset(nm, 0, sizeof(*nm));
	for (unsigned long pfn = z->zone_start_pfn; pfn < end; pfn++) {
		struct page *page = pfn_to_page(m, pfn);
		unsigned long flags = READ_ONCE(page->flags), nr, mapped = 0;
		struct folio *folio = (struct folio *)page;
		bool anon, cached;

		if (test_bit(PG_table, &flags)) {
			nm->pagetables++;
			continue;
		}
		/* Free frames (buddy heads and the rest of their blocks) and tails, counted with their head. */
		if (test_bit(PG_buddy, &flags) || (READ_ONCE(page->compound_head) & 1) || !folio_ref_count(folio))
			continue;
		nr = min((unsigned long)folio_nr_pages(folio), end - pfn);
		anon = folio_test_anon(folio);
		/* In the page cache: a file's folio has its mapping (the swap cache is counted apart). */
		cached = !anon && READ_ONCE(folio->mapping);
		/* The list swap.c's folio_lru_list picks. */
		if (test_bit(PG_lru, &flags) && test_bit(PG_unevictable, &flags))
			nm->unevictable += nr;
		else if (test_bit(PG_lru, &flags))
			nm->lru[(test_bit(PG_swapbacked, &flags) ? LRU_INACTIVE_ANON : LRU_INACTIVE_FILE) +
				test_bit(PG_active, &flags)] += nr;
		if (test_bit(PG_mlocked, &flags))
			nm->mlocked += nr;
		if (test_bit(PG_writeback, &flags))
			nm->writeback += nr;
		if (test_bit(PG_swapcache, &flags)) {
			nm->swapcached += nr;
			nm->file_pages += nr;	/* NR_FILE_PAGES counts the swap cache too */
		}
		if (cached) {
			nm->file_pages += nr;
			if (test_bit(PG_swapbacked, &flags))
				nm->shmem += nr;
			else if (test_bit(PG_dirty, &flags))
				nm->dirty += nr;	/* NR_FILE_DIRTY: files that write back, not shmem */
		}
		/* NR_ANON_MAPPED and NR_FILE_MAPPED count the pages mapped at least once. */
		for (unsigned long i = 0; i < nr; i++)
			mapped += folio_precise_page_mapcount(folio, folio_page(folio, i)) > 0;
		if (anon)
			nm->anon_pages += mapped;
		else
			nm->mapped += mapped;
		/* NR_ANON_THPS: an anon PMD-sized folio mapped by a pmd. */
		if (anon && nr == HPAGE_PMD_NR && folio_entire_mapcount(folio) > 0)
			nm->anon_thps += nr;
		pfn += nr - 1;
	}
	/*
	 * The pmem device's fs-DAX folios belong to the last node (pfn_to_nid):
	 * __folio_add_file_rmap counts their mapped pages in NR_FILE_MAPPED on
	 * the folio's node as for any file folio; no page cache, no LRU.
	 */
	if (nid != m->nr_nodes - 1)
		return;
	for (unsigned long pfn = m->nr_frames; pfn < m->nr_frames + m->nr_pmem_frames; pfn++) {
		struct page *page = pfn_to_page(m, pfn);
		struct folio *folio = (struct folio *)page;

		if ((READ_ONCE(page->compound_head) & 1) || !folio_ref_count(folio))
			continue;
		for (unsigned long i = 0; i < (unsigned long)folio_nr_pages(folio); i++)
			nm->mapped += folio_precise_page_mapcount(folio, folio_page(folio, i)) > 0;
		pfn += (unsigned long)folio_nr_pages(folio) - 1;
	}
}

/* One "Node N Label:   value kB" line at len: the label and its colon padded to 16 columns. */
static int node_meminfo_line(char *buf, int len, int nid, const char *label, unsigned long pages)
{
	char name[32];
	int n;

	snprintf(name, sizeof(name), "%s:", label);
	n = snprintf(buf + len, SYSFS_BUF_SIZE - len, "Node %d %-16s%8lu kB\n", nid, name,
		     pages * (PAGE_SIZE / 1024));
	return n < SYSFS_BUF_SIZE - len ? len + n : SYSFS_BUF_SIZE - 1;
}

/* node_read_meminfo(): the fields of Linux's order that mmlab can fill. */
static ssize_t node_meminfo_show(struct mml_machine *m, const struct kobj_attribute *attr, char *buf)
{
	int nid = (int)attr->arg, len = 0;
	const struct zone *z;
	unsigned long total, free;
	struct node_meminfo nm;

	if (nid >= m->nr_nodes)
		return -ENOENT;
	z = &NODE_DATA(m, nid)->node_zones[0];
	total = z->managed_pages;
	free = zone_free_pages(z);
	node_meminfo_scan(m, nid, &nm);
	const struct { const char *label; unsigned long pages; } f[] = {
		{ "MemTotal", total },
		{ "MemFree", free },
		{ "MemUsed", total - free },
		{ "SwapCached", nm.swapcached },
		{ "Active", nm.lru[LRU_ACTIVE_ANON] + nm.lru[LRU_ACTIVE_FILE] },
		{ "Inactive", nm.lru[LRU_INACTIVE_ANON] + nm.lru[LRU_INACTIVE_FILE] },
		{ "Active(anon)", nm.lru[LRU_ACTIVE_ANON] },
		{ "Inactive(anon)", nm.lru[LRU_INACTIVE_ANON] },
		{ "Active(file)", nm.lru[LRU_ACTIVE_FILE] },
		{ "Inactive(file)", nm.lru[LRU_INACTIVE_FILE] },
		{ "Unevictable", nm.unevictable },
		{ "Mlocked", nm.mlocked },
		{ "Dirty", nm.dirty },
		{ "Writeback", nm.writeback },
		{ "FilePages", nm.file_pages },
		{ "Mapped", nm.mapped },
		{ "AnonPages", nm.anon_pages },
		{ "Shmem", nm.shmem },
		{ "PageTables", nm.pagetables },
		{ "AnonHugePages", nm.anon_thps },
	};

	for (size_t i = 0; i < ARRAY_SIZE(f); i++)
		len = node_meminfo_line(buf, len, nid, f[i].label, f[i].pages);
	return len;
}

/* sysfs_compact_node(): whatever is written, the node's zone is compacted whole. */
static ssize_t node_compact_store(struct mml_machine *m, const struct kobj_attribute *attr, const char *buf,
				  size_t count)
{
	if (attr->arg >= m->nr_nodes)
		return -ENOENT;
	compact_node(m, (int)attr->arg);
	return (ssize_t)count;
}

/* Linux makes nodeN/ for the nodes present; the table has them all, show and store refuse the rest. */
#define NODE_ATTRS(n)	{ "node" #n "/numastat", 0444, node_numastat_show, NULL, n }, \
			{ "node" #n "/meminfo", 0444, node_meminfo_show, NULL, n }, \
			{ "node" #n "/compact", 0200, NULL, node_compact_store, n }

static const struct kobj_attribute node_attrs[] = {
	{ "online", 0444, node_states_show, NULL, 0 },
	{ "possible", 0444, node_states_show, NULL, 0 },
	{ "has_memory", 0444, node_states_show, NULL, 0 },
	NODE_ATTRS(0), NODE_ATTRS(1), NODE_ATTRS(2), NODE_ATTRS(3),
	NODE_ATTRS(4), NODE_ATTRS(5), NODE_ATTRS(6), NODE_ATTRS(7),
	NODE_ATTRS(8), NODE_ATTRS(9), NODE_ATTRS(10), NODE_ATTRS(11),
	NODE_ATTRS(12), NODE_ATTRS(13), NODE_ATTRS(14), NODE_ATTRS(15),
	{ NULL },
};

_Static_assert(MAX_NUMNODES == 16, "node_attrs names nodes 0..15");

const struct attribute_group node_attr_group = {
	.dir = "/sys/devices/system/node",
	.attrs = node_attrs,
};
