/*
 * machine.c - the simulated machine: creation, teardown with leak checks,
 * and the accounting of metadata objects.
 */
#include <stdlib.h>
#include <string.h>

#include "fs/vfs.h"
#include "mm/internal.h"
#include "mm/ksm.h"
#include "mm/pagemap.h"
#include "mm/userfaultfd_k.h"

#define DEFAULT_RAM_BYTES	(64ULL << 20)
#define DEFAULT_NCPUS		4

const char *const mml_obj_names[NR_OBJ_KINDS] = {
	[OBJ_MM] = "mm_struct",
	[OBJ_VMA] = "vm_area_struct",
	[OBJ_ANON_VMA] = "anon_vma",
	[OBJ_AVC] = "anon_vma_chain",
	[OBJ_TASK] = "task_struct",
	[OBJ_PTLOCK] = "ptlock",
	[OBJ_VMA_ARRAY] = "vma_tree_node",
	[OBJ_PIN] = "gup_pages",
	[OBJ_SWAP] = "swap_info_struct",
	[OBJ_MTE_TAGS] = "mte_tag_storage",
	[OBJ_MMU_NOTIFIER] = "mmu_notifier_subscriptions",
	[OBJ_MML_NOTIFIER] = "mml_mmu_notifier",
	[OBJ_DEVICE] = "dmirror_device",
	[OBJ_INODE] = "inode_cache",
	[OBJ_DENTRY] = "dentry",
	[OBJ_FILE] = "filp",
	[OBJ_FILES] = "files_cache",
	[OBJ_XA_NODE] = "radix_tree_node",
	[OBJ_KHUGEPAGED_SLOT] = "khugepaged_mm_slot",
	[OBJ_MEMPOLICY] = "numa_policy",
	[OBJ_HELD_MIGRATION] = "held_migration",
	[OBJ_KSM_MM_SLOT] = "ksm_mm_slot",
	[OBJ_KSM_RMAP_ITEM] = "ksm_rmap_item",
	[OBJ_KSM_STABLE_NODE] = "ksm_stable_node",
	[OBJ_UFFD] = "userfaultfd_ctx",
};

/*
 * An object of a cache line or more starts on one, as a slab cache made
 * with SLAB_HWCACHE_ALIGN: two page tables' locks, taken by threads on
 * different CPUs, share no line, and a struct with a cache-line-aligned
 * member has its alignment.  Not by aligned_alloc, which glibc serves
 * from no per-thread cache (700 instructions a call): malloc a line more and
 * keep malloc's pointer in the word below the object, as every object
 * does, small ones on malloc's own 16 bytes.  Under ASan the objects are
 * its own allocations, so that it sees the first byte past each.
 */
#ifdef __SANITIZE_ADDRESS__
static void *obj_host_alloc(size_t size, size_t align)
{
	return align > 16 ? aligned_alloc(align, size) : malloc(size);
}

static void obj_host_free(void *p)
{
	free(p);
}
#else
static void *obj_host_alloc(size_t size, size_t align)
{
	char *raw = malloc(size + align);
	void **p;

	if (!raw)
		return NULL;
	p = (void **)(((uintptr_t)raw + align) & ~(uintptr_t)(align - 1));
	p[-1] = raw;
	return p;
}

static void obj_host_free(void *p)
{
	free(((void **)p)[-1]);
}
#endif

static void *obj_alloc(struct mml_machine *m, enum mml_obj_kind kind, size_t size, bool zero)
{
	size_t align = size >= SMP_CACHE_BYTES ? SMP_CACHE_BYTES : 16;
	void *p;

	/* should_failslab(); a page table's lock fails with its page, tag storage on its own. */
	if (should_fail(m, kind == OBJ_PTLOCK ? MML_FAIL_PGTABLE : kind == OBJ_MTE_TAGS ? MML_FAIL_TAG :
			   MML_FAIL_META))
		return NULL;
	size = (size + align - 1) & ~(align - 1);
	p = obj_host_alloc(size, align);
	if (p && zero)
		memset(p, 0, size);
	if (p)
		atomic_long_add(1, &m->objs[kind]);
	return p;
}

void *mml_obj_alloc(struct mml_machine *m, enum mml_obj_kind kind, size_t size)
{
	return obj_alloc(m, kind, size, true);
}

void *mml_obj_alloc_nozero(struct mml_machine *m, enum mml_obj_kind kind, size_t size)
{
	return obj_alloc(m, kind, size, false);
}

void mml_obj_free(struct mml_machine *m, enum mml_obj_kind kind, void *p)
{
	if (!p)
		return;
	atomic_long_add(-1, &m->objs[kind]);
	obj_host_free(p);
}

uint64_t mml_page_size(void)
{
	return PAGE_SIZE;
}

struct mml_machine *mml_machine_new(const struct mml_config *cfg)
{
	struct mml_config c = cfg ? *cfg : (struct mml_config){ 0 };
	struct mml_machine *m;
	struct page *zp;
	int err;

	if (!c.ram_bytes)
		c.ram_bytes = DEFAULT_RAM_BYTES;
	if (!c.ncpus)
		c.ncpus = DEFAULT_NCPUS;
	if (c.ram_bytes < MML_RAM_MIN || c.ram_bytes > MML_RAM_MAX ||
	    (c.tmpfs_huge && shmem_parse_huge(c.tmpfs_huge, false) < 0) ||
	    c.pmem_bytes % HPAGE_PMD_SIZE || c.pmem_bytes > MML_PMEM_MAX) {
		errno = EINVAL;
		return NULL;
	}
	/* Its per-CPU parts (vmstat, quiesce's counts, the zones' page lists) are cache-line aligned. */
	m = aligned_alloc(SMP_CACHE_BYTES, sizeof(*m));
	if (!m)
		return NULL;
	memset(m, 0, sizeof(*m));
	m->cfg = c;
	m->nr_frames = c.ram_bytes >> PAGE_SHIFT;
	m->nr_pmem_frames = c.pmem_bytes >> PAGE_SHIFT;
	m->check_every_op = c.flags & MML_CHECK_EVERY_OP;
	m->check_frees = c.flags & (MML_CHECK_EVERY_OP | MML_CHECK_FREES);
	m->poison = c.flags & (MML_POISON | MML_CHECK_EVERY_OP | MML_CHECK_FREES);
	if (getenv("MMLAB_POISON"))
		m->poison = strcmp(getenv("MMLAB_POISON"), "0") != 0;
	m->quiet = c.flags & MML_QUIET;
	sched_state_init(&m->sched, c.seed);
	trace_state_init(&m->trace);
	m->sched.quiet = m->quiet;
	err = page_alloc_init(m, c.nr_nodes ? c.nr_nodes : 1);
	if (!err) {
		err = pmem_init(m);
		if (err)
			page_alloc_exit(m);
	}
	if (err) {
		free(m);
		errno = -err;
		return NULL;
	}
	overcommit_init(m);
	spin_lock_init(&m->tasks_lock);
	fail_state_init(&m->fail);
	rcu_batch_init(&m->rcu);
	/*
	 * Frees wait for a grace period in batches (op_exit); a batch may
	 * hold at most a 64th of RAM, so that a small machine does not run
	 * out of memory that is only waiting to be freed.
	 */
	m->rcu_flush_at = min(256UL, max(1UL, m->nr_frames / 64));
	spin_lock_init(&m->lruvec.lru_lock);
	for (int l = 0; l < NR_LRU_LISTS; l++)
		INIT_LIST_HEAD(&m->lruvec.lists[l]);
	for (int cpu = 0; cpu < NR_CPU_SLOTS; cpu++)
		spin_lock_init(&m->cpu_fbatches[cpu].lock);
	spin_lock_init(&m->swap_lock);
	spin_lock_init(&m->pins_lock);
	INIT_LIST_HEAD(&m->pins);
	INIT_LIST_HEAD(&m->devices);
	INIT_LIST_HEAD(&m->mms);
	spin_lock_init(&m->held_lock);
	INIT_LIST_HEAD(&m->held_migrations);
	m->next_held = 1;
	spin_lock_init(&m->uffd_lock);
	INIT_LIST_HEAD(&m->uffds);
	m->next_ufd = 3;	/* as a descriptor number would be: after stdin, stdout, stderr */
	hugepage_init(m);
	percpu_init_rwsem(&m->quiesce);
	m->next_pid = 1;

	/* The shared zero page: never freed, never written. */
	zp = alloc_page(m, __GFP_ZERO);
	if (!zp || mte_init(m, zp)) {
		percpu_free_rwsem(&m->quiesce);
		spin_lock_destroy(&m->tasks_lock);
		spin_lock_destroy(&m->pins_lock);
		spin_lock_destroy(&m->held_lock);
		rcu_batch_destroy(&m->rcu);
		fail_state_destroy(&m->fail);
		spin_lock_destroy(&m->split_queue.split_queue_lock);
		trace_state_destroy(&m->trace);
		pmem_exit(m);
		page_alloc_exit(m);
		free(m);
		errno = ENOMEM;
		return NULL;
	}
	__SetPageReserved(zp);
	m->zero_page = zp;
	m->zero_pfn = page_to_pfn(m, zp);
	if (vfs_init(m) || khugepaged_init(m) || ksm_init(m) || ((c.flags & MML_KSWAPD) && kswapd_run(m))) {
		mml_machine_free(m);
		errno = ENOMEM;
		return NULL;
	}
	return m;
}

/* Power-off: release the devices left attached; how many there were. */
static long release_devices(struct mml_machine *m)
{
	long n = 0;

	for (;;) {
		struct mml_device_head *dev = NULL;

		spin_lock(&m->pins_lock);
		if (!list_empty(&m->devices)) {
			dev = list_first_entry(&m->devices, struct mml_device_head, node);
			list_del(&dev->node);
		}
		spin_unlock(&m->pins_lock);
		if (!dev)
			return n;
		dev->release(dev);
		n++;
	}
}

/* Everything that must be back once every process has gone. */
static int check_leaks(struct mml_machine *m)
{
	unsigned long want_free = m->nr_frames - 1;	/* all but the zero page */
	unsigned long free_now = nr_free_pages(m);
	int bad = 0;

	if (free_now != want_free) {
		mml_report(m, "leak: %lu frames still allocated after every process exited",
			   want_free - free_now);
		for (unsigned long pfn = 0; pfn < m->nr_frames && bad < 8 && !m->quiet; pfn++) {
			struct page *p = pfn_to_page(m, pfn);

			if (p == m->zero_page || PageBuddy(p) || page_is_free(p))
				continue;
			dump_page(m, p, "leaked");
			bad++;
		}
		bad++;
	}
	for (int k = 0; k < NR_OBJ_KINDS; k++) {
		long n = atomic_long_read(&m->objs[k]);

		if (n) {
			mml_report(m, "leak: %ld %s object(s) still allocated", n, mml_obj_names[k]);
			bad++;
		}
	}
	if (global_vm_stat(m, NR_PAGETABLE) || global_vm_stat(m, NR_ANON_MAPPED)) {
		mml_report(m, "leak: nr_page_table_pages=%ld nr_anon_pages=%ld after exit",
			   global_vm_stat(m, NR_PAGETABLE), global_vm_stat(m, NR_ANON_MAPPED));
		bad++;
	}
	return bad;
}

int mml_machine_free(struct mml_machine *m)
{
	int bad = 0;
	long n;

	if (!m)
		return 0;
	kswapd_stop(m);
	khugepaged_stop(m);
	ksm_stop(m);
	/* A migration left half way is finished, as its thread would have. */
	migrate_finish_held(m);
	n = unpin_all_pins(m);
	if (n) {
		mml_report(m, "leak: %ld pin(s) or reference(s) still held at power-off", n);
		bad++;
	}
	n = release_devices(m);
	if (n) {
		mml_report(m, "leak: %ld device(s) still attached at power-off", n);
		bad++;
	}
	/* Power off: every remaining thread exits, then every queued free runs. */
	for (;;) {
		struct mml_task *t = NULL;
		struct mm_struct *mm;

		spin_lock(&m->tasks_lock);
		if (!list_empty(&m->mms)) {
			mm = list_first_entry(&m->mms, struct mm_struct, mm_node);
			spin_lock(&mm->tasks_lock);
			if (!list_empty(&mm->tasks))
				t = list_first_entry(&mm->tasks, struct mml_task, mm_node);
			spin_unlock(&mm->tasks_lock);
		}
		spin_unlock(&m->tasks_lock);
		if (!t)
			break;
		mml_exit(t);
	}
	/* The userfaultfd handles nobody freed: released with their processes, never a leak. */
	userfaultfd_machine_exit(m);
	/* The folios the CPUs' batches still hold: on the lists, or freed if nothing else holds them. */
	lru_add_drain_all(m);
	/* Files: written back, then every inode goes (shmem's swap entries with them). */
	n = vfs_exit(m);
	if (n)
		bad++;
	rcu_batch_flush(&m->rcu);
	khugepaged_destroy(m);
	ksm_destroy(m);
	hugepage_exit(m);
	n = swap_teardown(m);
	if (n) {
		mml_report(m, "leak: %ld swap slot(s) still in use when every process exited", n);
		bad++;
	}

	/* What the CPUs' page lists hold is free: back to the buddy lists, where the leak check counts. */
	drain_all_pages(m);
	percpu_down_write(&m->quiesce);
	if (mml_check_locked(m))
		bad++;
	bad += check_leaks(m);
	if (atomic_read(&m->reports))
		bad++;
	percpu_up_write(&m->quiesce);

	percpu_free_rwsem(&m->quiesce);
	spin_lock_destroy(&m->tasks_lock);
	spin_lock_destroy(&m->pins_lock);
	spin_lock_destroy(&m->held_lock);
	spin_lock_destroy(&m->lruvec.lru_lock);
	for (int cpu = 0; cpu < NR_CPU_SLOTS; cpu++)
		spin_lock_destroy(&m->cpu_fbatches[cpu].lock);
	spin_lock_destroy(&m->swap_lock);
	rcu_batch_destroy(&m->rcu);
	fail_state_destroy(&m->fail);
	spin_lock_destroy(&m->split_queue.split_queue_lock);
	mte_exit(m);
	sched_state_destroy(&m->sched);
	trace_state_destroy(&m->trace);
	pmem_exit(m);
	page_alloc_exit(m);
	free(m);
	return bad ? -EBUSY : 0;
}

/* ---- deterministic runs (src/sync/sched.c does the scheduling) ------------------------ */

int machine_thread_start(struct mml_machine *m, struct mml_thread **out, const char *name, void *(*fn)(void *),
			 const void *idle_on)
{
	if (m->cfg.flags & MML_DETERMINISTIC)
		return sched_daemon_start(&m->sched, out, name, fn, m, idle_on);
	return mml_thread_start(out, fn, m);
}

void machine_thread_join(struct mml_machine *m, struct mml_thread *t)
{
	if (!(m->cfg.flags & MML_DETERMINISTIC)) {
		mml_thread_join(t);
		return;
	}
	/* Not from inside a run: a machine's threads stop when it is freed, from outside. */
	if (sched_daemon_stop(&m->sched, t))
		mml_report(m, "a machine thread did not stop: %s", m->sched.report);
}

struct sched_call {
	mml_thread_fn fn;
	struct mml_task *task;
	void *arg;
};

static void sched_call(void *p)
{
	struct sched_call *c = p;

	c->fn(c->task, c->arg);
}

int mml_sched_run(struct mml_machine *m, unsigned n, struct mml_task **tasks, mml_thread_fn *fns, void **args)
{
	struct sched_call calls[SCHED_MAX_THREADS];
	void (*trampolines[SCHED_MAX_THREADS])(void *);
	void *cargs[SCHED_MAX_THREADS];
	int err;

	if (!(m->cfg.flags & MML_DETERMINISTIC) || n > SCHED_MAX_THREADS)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		if (!fns[i] || !tasks[i] || tasks[i]->machine != m)
			return -EINVAL;
		calls[i] = (struct sched_call){ fns[i], tasks[i], args ? args[i] : NULL };
		trampolines[i] = sched_call;
		cargs[i] = &calls[i];
	}
	m->sched.report[0] = '\0';
	err = sched_run(&m->sched, n, trampolines, cargs);
	/* Frees that waited for a grace period inside the run: the run's, settled now. */
	if (!err)
		rcu_batch_flush(&m->rcu);
	return err;
}

int mml_sched_set(struct mml_machine *m, const char *strategy, unsigned depth)
{
	if (!strategy)
		return -EINVAL;
	if (!strcmp(strategy, "random")) {	/* depth is PCT's */
		m->sched.strategy = SCHED_RANDOM;
		return 0;
	}
	if ((!strcmp(strategy, "pct") || !strcmp(strategy, "pct-pte")) && depth >= 1 && depth <= 16) {
		m->sched.strategy = SCHED_PCT;
		m->sched.pct_pte = strategy[3] != '\0';
		m->sched.depth = depth;
		return 0;
	}
	return -EINVAL;
}

uint64_t mml_sched_trace_hash(struct mml_machine *m)
{
	return m->sched.hash;
}

void mml_sched_yield(void)
{
	sched_yield_point();
}

uint64_t mml_sched_steps(struct mml_machine *m)
{
	return m->sched.last_steps;
}

uint64_t mml_sched_pte_loads(struct mml_machine *m)
{
	return m->sched.last_pte_loads;
}

void mml_sched_pct_steps(struct mml_machine *m, uint64_t k)
{
	m->sched.pct_k = k;
}

int mml_sched_trace_keep(struct mml_machine *m, unsigned steps)
{
	if (steps < 1 || steps > 1000000)
		return -EINVAL;
	m->sched.trace_keep = steps;
	return 0;
}

int mml_sched_trace(struct mml_machine *m, FILE *out)
{
	return sched_trace_print(&m->sched, out);
}

const char *mml_sched_report(struct mml_machine *m)
{
	return m->sched.report;
}
