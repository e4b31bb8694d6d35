/*
 * task_mmu.c - per-process views in Linux's formats: /proc/PID/maps,
 * /proc/PID/smaps, /proc/PID/numa_maps and /proc/PID/pagemap (Linux's
 * fs/proc/task_mmu.c).
 */
#include <string.h>

#include "fs/fs.h"
#include "fs/seq_file.h"
#include "mm/internal.h"
#include "mm/mempolicy.h"
#include "mm/mmu_notifier.h"
#include "mm/pagewalk.h"

/*
 * A mapped file's path as seq_path() prints it, " (deleted)" once
 * unlinked (maps, smaps and numa_maps); a path longer than Linux's
 * PATH_MAX is cut there.
 */
static void vma_path(char *buf, size_t n, struct inode *inode)
{
	const char *root = inode->i_sb->s_root;

	snprintf(buf, n, "%s%s%s", *root ? root : "/", inode->i_name, inode->i_nlink ? "" : " (deleted)");
}

#define VMA_PATH_MAX	(4096 + sizeof(" (deleted)"))

/*
 * Models show_map_vma(): the VMA's line of maps and smaps, for a file its
 * device, inode and path from column 74 (seq_pad); shmem's internal files
 * show as Linux's do ("/dev/zero (deleted)", "/memfd:x (deleted)").  As
 * JSON, the fields proc_pid_maps(5) names: address as start and end,
 * perms, offset, dev, inode, pathname (null for an anonymous mapping).
 */
static void show_map_vma(struct seq_file *m, struct vm_area_struct *vma)
{
	vm_flags_t f = vma->vm_flags;
	struct inode *inode = vma->vm_file ? file_inode(vma->vm_file) : NULL;
	uint64_t pgoff = inode ? (uint64_t)vma->vm_pgoff << PAGE_SHIFT : 0;
	unsigned major = inode ? inode->i_sb->s_dev >> 8 : 0, minor = inode ? inode->i_sb->s_dev & 0xff : 0;
	unsigned long ino = inode ? inode->i_ino : 0UL;
	char perms[5] = { f & VM_READ ? 'r' : '-', f & VM_WRITE ? 'w' : '-', f & VM_EXEC ? 'x' : '-',
			  f & VM_MAYSHARE ? 's' : 'p' };
	char path[VMA_PATH_MAX], dev[16];
	int n;

	if (inode)
		vma_path(path, sizeof(path), inode);
	if (m->json) {
		snprintf(dev, sizeof(dev), "%02x:%02x", major, minor);
		seq_json_uint(m, "start", vma->vm_start);
		seq_json_uint(m, "end", vma->vm_end);
		seq_json_str(m, "perms", perms);
		seq_json_uint(m, "offset", pgoff);
		seq_json_str(m, "dev", dev);
		seq_json_uint(m, "inode", ino);
		seq_json_str(m, "pathname", inode ? path : NULL);
		return;
	}
	n = fprintf(m->f, "%08llx-%08llx %s %08llx %02x:%02x %lu ", (unsigned long long)vma->vm_start,
		    (unsigned long long)vma->vm_end, perms, (unsigned long long)pgoff, major, minor, ino);
	if (inode)
		fprintf(m->f, "%*s%s", n < 73 ? 73 - n : 0, "", path);
	fprintf(m->f, "\n");
}

/* maps and smaps: each VMA in order, a record of the JSON's "vmas" each, under mmap_lock. */
static int show_vmas(struct mml_task *t, FILE *out, bool json,
		     void (*show)(struct seq_file *m, struct vm_area_struct *vma))
{
	struct mm_struct *mm = t->mm;
	struct vm_area_struct *vma;
	struct seq_file m;

	op_enter(t->machine, t);
	seq_open(&m, out, json);
	seq_list_begin(&m, "vmas");
	down_read(&mm->mmap_lock);
	for_each_vma(mm, vma) {
		seq_record_begin(&m);
		show(&m, vma);
		seq_record_end(&m);
	}
	up_read(&mm->mmap_lock);
	seq_list_end(&m);
	return op_exit(t->machine, seq_close(&m));
}

int mml_show_maps(struct mml_task *t, FILE *out)
{
	return show_vmas(t, out, false, show_map_vma);
}

int mml_show_maps_json(struct mml_task *t, FILE *out)
{
	return show_vmas(t, out, true, show_map_vma);
}

struct mem_size_stats {
	uint64_t resident, shared_clean, shared_dirty, private_clean, private_dirty;
	uint64_t referenced, anonymous, lazyfree, swap, anonymous_thp, shmem_thp, file_thp, ksm;
	uint64_t pss, pss_dirty, swap_pss;	/* << PSS_SHIFT */
};

#define PSS_SHIFT 12

/* Models smaps_account() for one small page. */
static void smaps_account(struct mem_size_stats *mss, struct folio *folio, struct page *page,
			  bool young, bool dirty)
{
	int mapcount = folio_precise_page_mapcount(folio, page);
	uint64_t size = PAGE_SIZE;

	dirty = dirty || folio_test_dirty(folio);
	if (folio_test_anon(folio)) {
		mss->anonymous += size;
		if (folio_test_ksm(folio))
			mss->ksm += size;
		/* MADV_FREE'd and not written since: reclaim may discard it. */
		if (!folio_test_swapbacked(folio) && !dirty)
			mss->lazyfree += size;
	}
	mss->resident += size;
	if (young || folio_test_referenced(folio))
		mss->referenced += size;
	if (mapcount >= 2) {
		uint64_t pss = (size << PSS_SHIFT) / mapcount;

		if (dirty) {
			mss->shared_dirty += size;
			mss->pss_dirty += pss;
		} else {
			mss->shared_clean += size;
		}
		mss->pss += pss;
	} else {
		if (dirty) {
			mss->private_dirty += size;
			mss->pss_dirty += size << PSS_SHIFT;
		} else {
			mss->private_clean += size;
		}
		mss->pss += size << PSS_SHIFT;
	}
}

/*
 * Models the swap-entry case of smaps_pte_entry(): a slot named by n swap
 * ptes (swp_swapcount) adds a page to Swap and 1/n of one to SwapPss.
 */
static void smaps_account_swap(struct mem_size_stats *mss, struct vm_area_struct *vma,
			       swp_entry_t entry)
{
	int mapcount = swap_count(vma->vm_mm->machine, entry);

	mss->swap += PAGE_SIZE;
	if (mapcount >= 2)
		mss->swap_pss += ((uint64_t)PAGE_SIZE << PSS_SHIFT) / mapcount;
	else
		mss->swap_pss += (uint64_t)PAGE_SIZE << PSS_SHIFT;
}

/*
 * A shmem page with no pte here may be the file's, swapped out: its swap
 * entry sits in the page cache (shmem_partial_swap_usage).  Counted in
 * Swap, not SwapPss, as Linux does.
 */
static void smaps_shmem_swap(struct mem_size_stats *mss, struct vm_area_struct *vma, uint64_t addr, uint64_t end)
{
	struct address_space *mapping = vma->vm_file ? vma->vm_file->f_mapping : NULL;

	if (!shmem_mapping(mapping))
		return;
	for (; addr < end; addr += PAGE_SIZE)
		if (xa_is_value(xa_load(&mapping->i_pages, linear_page_index(vma, addr))))
			mss->swap += PAGE_SIZE;
}

static int smaps_pte_hole(uint64_t addr, uint64_t end, int depth, struct mm_walk *walk)
{
	if (walk->vma)
		smaps_shmem_swap(walk->private, walk->vma, addr, end);
	return 0;
}

/* smaps_pte_entry(): one pte's share of the VMA's figures. */
static int smaps_pte_entry(pte_t *pte, uint64_t addr, uint64_t next, struct mm_walk *walk)
{
	struct mem_size_stats *mss = walk->private;
	pte_t ptent = ptep_get(pte);
	struct page *page;

	if (pte_none(ptent)) {
		smaps_shmem_swap(mss, walk->vma, addr, next);
		return 0;
	}
	if (!pte_present(ptent)) {
		if (is_swap_entry_pte(ptent))
			smaps_account_swap(mss, walk->vma, pte_to_swp_entry(ptent));
		return 0;
	}
	page = vm_normal_page(walk->vma, addr, ptent);
	if (page)	/* the zero page is not resident memory */
		smaps_account(mss, page_folio(page), page, pte_young(ptent), pte_dirty(ptent));
	return 0;
}

/*
 * smaps_pmd_entry(): a leaf counts each of its pages, with the page's own
 * map count (its ptes elsewhere and the folio's pmds), and in
 * AnonHugePages, ShmemPmdMapped or FilePmdMapped, except a ZONE_DEVICE
 * folio (fs-DAX), which Linux counts in none; the huge zero folio is not
 * resident memory.
 */
static int smaps_pmd_entry(pmd_t *pmd, uint64_t addr, uint64_t next, struct mm_walk *walk)
{
	struct mem_size_stats *mss = walk->private;
	struct mml_machine *m = walk->mm->machine;
	spinlock_t *ptl = pmd_trans_huge_lock(pmd, walk->vma);
	struct folio *folio;
	pmd_t pmdval;

	if (!ptl)
		return 0;
	walk->action = ACTION_CONTINUE;
	pmdval = pmdp_get(pmd);
	if (!is_huge_zero_pmd(m, pmdval)) {
		folio = page_folio(pmd_page(m, pmdval));
		for (long i = 0; i < HPAGE_PMD_NR; i++)
			smaps_account(mss, folio, folio_page(folio, i), pmd_young(pmdval), pmd_dirty(pmdval));
		if (folio_test_anon(folio))
			mss->anonymous_thp += HPAGE_PMD_SIZE;
		else if (folio_test_swapbacked(folio))
			mss->shmem_thp += HPAGE_PMD_SIZE;
		else if (!is_zone_device_page(m, &folio->page))	/* an fs-DAX pmd: in Rss, in no *PmdMapped */
			mss->file_thp += HPAGE_PMD_SIZE;
	}
	spin_unlock(ptl);
	return 0;
}

static const struct mm_walk_ops smaps_walk_ops = {
	.pmd_entry = smaps_pmd_entry,
	.pte_entry = smaps_pte_entry,
	.pte_hole = smaps_pte_hole,
};

/* Models show_smap_vma_flags(): the two-letter mnemonics. */
static void show_smap_vma_flags(struct seq_file *m, struct vm_area_struct *vma)
{
	static const struct { vm_flags_t flag; const char *name; } mnemonics[] = {
		{ VM_READ, "rd" }, { VM_WRITE, "wr" }, { VM_EXEC, "ex" }, { VM_SHARED, "sh" },
		{ VM_MAYREAD, "mr" }, { VM_MAYWRITE, "mw" }, { VM_MAYEXEC, "me" }, { VM_MAYSHARE, "ms" },
		{ VM_GROWSDOWN, "gd" }, { VM_PFNMAP, "pf" }, { VM_LOCKED, "lo" }, { VM_IO, "io" },
		{ VM_SEQ_READ, "sr" }, { VM_RAND_READ, "rr" }, { VM_DONTCOPY, "dc" }, { VM_DONTEXPAND, "de" },
		{ VM_LOCKONFAULT, "lf" }, { VM_ACCOUNT, "ac" }, { VM_NORESERVE, "nr" }, { VM_HUGETLB, "ht" },
		{ VM_SYNC, "sf" }, { VM_WIPEONFORK, "wf" }, { VM_DONTDUMP, "dd" }, { VM_MTE, "mt" },
		{ VM_MTE_ALLOWED, "" }, { VM_SOFTDIRTY, "sd" }, { VM_MIXEDMAP, "mm" }, { VM_HUGEPAGE, "hg" },
		{ VM_NOHUGEPAGE, "nh" }, { VM_MERGEABLE, "mg" }, { VM_UFFD_MISSING, "um" }, { VM_UFFD_WP, "uw" }, { VM_UFFD_MINOR, "ui" },
	};

	seq_words_begin(m, "VmFlags");
	for (size_t i = 0; i < ARRAY_SIZE(mnemonics); i++)
		if ((vma->vm_flags & mnemonics[i].flag) && mnemonics[i].name[0])
			seq_word(m, mnemonics[i].name);
	seq_words_end(m);
}

/* Models show_smap(): one VMA's line and figures, gathered by one walk. */
static void show_smap(struct seq_file *m, struct vm_area_struct *vma)
{
	struct mem_size_stats mss = { 0 };

	walk_page_vma(vma, &smaps_walk_ops, &mss);
	show_map_vma(m, vma);
	seq_put_kb(m, "Size", vma->vm_end - vma->vm_start);
	seq_put_kb(m, "KernelPageSize", PAGE_SIZE);
	seq_put_kb(m, "MMUPageSize", PAGE_SIZE);
	seq_put_kb(m, "Rss", mss.resident);
	seq_put_kb(m, "Pss", mss.pss >> PSS_SHIFT);
	seq_put_kb(m, "Pss_Dirty", mss.pss_dirty >> PSS_SHIFT);
	seq_put_kb(m, "Shared_Clean", mss.shared_clean);
	seq_put_kb(m, "Shared_Dirty", mss.shared_dirty);
	seq_put_kb(m, "Private_Clean", mss.private_clean);
	seq_put_kb(m, "Private_Dirty", mss.private_dirty);
	seq_put_kb(m, "Referenced", mss.referenced);
	seq_put_kb(m, "Anonymous", mss.anonymous);
	seq_put_kb(m, "KSM", mss.ksm);
	seq_put_kb(m, "LazyFree", mss.lazyfree);
	seq_put_kb(m, "AnonHugePages", mss.anonymous_thp);
	seq_put_kb(m, "ShmemPmdMapped", mss.shmem_thp);
	seq_put_kb(m, "FilePmdMapped", mss.file_thp);
	seq_put_kb(m, "Shared_Hugetlb", 0);
	seq_put_kb(m, "Private_Hugetlb", 0);
	seq_put_kb(m, "Swap", mss.swap);
	seq_put_kb(m, "SwapPss", mss.swap_pss >> PSS_SHIFT);
	seq_put_kb(m, "Locked", (vma->vm_flags & VM_LOCKED) ? mss.pss >> PSS_SHIFT : 0);
	/* Any order will do, an mTHP size as much as the PMD's. */
	seq_put_num(m, "THPeligible",
		    thp_vma_allowable_orders(vma, vma->vm_flags, TVA_SMAPS | TVA_ENFORCE_SYSFS,
					     THP_ORDERS_ALL_ANON) != 0);
	show_smap_vma_flags(m, vma);
}

int mml_show_smaps(struct mml_task *t, FILE *out)
{
	return show_vmas(t, out, false, show_smap);
}

int mml_show_smaps_json(struct mml_task *t, FILE *out)
{
	return show_vmas(t, out, true, show_smap);
}

/* Linux's struct numa_maps: one VMA's pages, in pages. */
struct numa_maps {
	unsigned long pages, anon, active, writeback, mapcount_max, dirty, swapcache;
	unsigned long node[MAX_NUMNODES];
};

/*
 * Models gather_stats(): nr_pages pages of page's folio (a pmd leaf
 * counts once for all its pages, as Linux does); the map count is the
 * page's own, as smaps reads it.
 */
static void gather_stats(struct mml_machine *m, struct numa_maps *md, struct page *page, bool dirty,
			 unsigned long nr_pages)
{
	struct folio *folio = page_folio(page);
	unsigned long count = (unsigned long)folio_precise_page_mapcount(folio, page);

	md->pages += nr_pages;
	if (dirty || folio_test_dirty(folio))
		md->dirty += nr_pages;
	if (folio_test_swapcache(folio))
		md->swapcache += nr_pages;
	if (folio_test_active(folio) || folio_test_unevictable(folio))
		md->active += nr_pages;
	if (folio_test_writeback(folio))
		md->writeback += nr_pages;
	if (folio_test_anon(folio))
		md->anon += nr_pages;
	if (count > md->mapcount_max)
		md->mapcount_max = count;
	md->node[page_to_nid(m, page)] += nr_pages;
}

/* Models can_gather_numa_stats(): a present, normal page (not the zero page, nothing reserved). */
static struct page *can_gather_numa_stats(pte_t pte, struct vm_area_struct *vma, uint64_t addr)
{
	struct page *page;

	if (!pte_present(pte))
		return NULL;
	page = vm_normal_page(vma, addr, pte);
	return page && !PageReserved(page) ? page : NULL;
}

/* The pte half of gather_pte_stats(). */
static int numa_pte_entry(pte_t *pte, uint64_t addr, uint64_t next, struct mm_walk *walk)
{
	pte_t ptent = ptep_get(pte);
	struct page *page = can_gather_numa_stats(ptent, walk->vma, addr);

	if (page)
		gather_stats(walk->mm->machine, walk->private, page, pte_dirty(ptent), 1);
	return 0;
}

/* The pmd half of gather_pte_stats(): a leaf is one folio, all its pages; not the huge zero folio. */
static int numa_pmd_entry(pmd_t *pmd, uint64_t addr, uint64_t next, struct mm_walk *walk)
{
	struct mml_machine *m = walk->mm->machine;
	spinlock_t *ptl = pmd_trans_huge_lock(pmd, walk->vma);
	pmd_t pmdval;

	if (!ptl)
		return 0;
	walk->action = ACTION_CONTINUE;
	pmdval = pmdp_get(pmd);
	if (!is_huge_zero_pmd(m, pmdval) && !PageReserved(pmd_page(m, pmdval)))
		gather_stats(m, walk->private, pmd_page(m, pmdval), pmd_dirty(pmdval), HPAGE_PMD_NR);
	spin_unlock(ptl);
	return 0;
}

static const struct mm_walk_ops show_numa_ops = {
	.pmd_entry = numa_pmd_entry,
	.pte_entry = numa_pte_entry,
};

/*
 * Models show_numa_map(): the policy in force at vm_start (the VMA's, else
 * the task's as held when the file was opened), the file, then the
 * counts.  mmlab has no start_brk or start_stack, so no " heap" or
 * " stack", and no hugetlb, so no " huge".
 */
static void show_numa_map(FILE *out, struct vm_area_struct *vma, const struct mempolicy *task_pol)
{
	struct mml_machine *m = vma->vm_mm->machine;
	struct numa_maps md = { 0 };
	char buffer[64];

	mpol_to_str(buffer, sizeof(buffer), vma->vm_policy ? vma->vm_policy : task_pol);
	fprintf(out, "%08lx %s", (unsigned long)vma->vm_start, buffer);
	if (vma->vm_file) {
		char path[VMA_PATH_MAX];

		vma_path(path, sizeof(path), file_inode(vma->vm_file));
		fprintf(out, " file=%s", path);
	}
	walk_page_vma(vma, &show_numa_ops, &md);
	if (md.pages) {
		if (md.anon)
			fprintf(out, " anon=%lu", md.anon);
		if (md.dirty)
			fprintf(out, " dirty=%lu", md.dirty);
		if (md.pages != md.anon && md.pages != md.dirty)
			fprintf(out, " mapped=%lu", md.pages);
		if (md.mapcount_max > 1)
			fprintf(out, " mapmax=%lu", md.mapcount_max);
		if (md.swapcache)
			fprintf(out, " swapcache=%lu", md.swapcache);
		if (md.active < md.pages)
			fprintf(out, " active=%lu", md.active);
		if (md.writeback)
			fprintf(out, " writeback=%lu", md.writeback);
		for (int nid = 0; nid < m->nr_nodes; nid++)	/* N_MEMORY: every node of mmlab's */
			if (md.node[nid])
				fprintf(out, " N%d=%lu", nid, md.node[nid]);
		fprintf(out, " kernelpagesize_kB=%lu", (unsigned long)(PAGE_SIZE >> 10));
	}
	fprintf(out, "\n");
}

int mml_show_numa_maps(struct mml_task *t, FILE *out)
{
	struct mm_struct *mm = t->mm;
	struct vm_area_struct *vma;
	struct mempolicy *task_pol;

	op_enter(t->machine, t);
	/* hold_task_mempolicy(): the task's policy, with a reference, for the VMAs without one */
	spin_lock(&mm->tasks_lock);
	task_pol = mpol_get(t->mempolicy);
	spin_unlock(&mm->tasks_lock);
	down_read(&mm->mmap_lock);
	for_each_vma(mm, vma)
		show_numa_map(out, vma, task_pol);
	up_read(&mm->mmap_lock);
	mpol_put(t->machine, task_pol);
	return op_exit(t->machine, 0);
}

/* Models pte_to_pagemap_entry() for present and absent ptes. */
static uint64_t pagemap_pte(struct vm_area_struct *vma, uint64_t addr, pte_t pte)
{
	uint64_t flags = 0, frame = 0;

	if (pte_present(pte)) {
		struct page *page = vm_normal_page(vma, addr, pte);

		frame = pte_pfn(pte);
		flags |= MML_PM_PRESENT;
		if (pte_soft_dirty(pte))
			flags |= MML_PM_SOFT_DIRTY;
		if (pte_uffd_wp(pte))
			flags |= MML_PM_UFFD_WP;
		if (page && !folio_test_anon(page_folio(page)))
			flags |= MML_PM_FILE;
		if (page && folio_precise_page_mapcount(page_folio(page), page) == 1)
			flags |= MML_PM_MMAP_EXCLUSIVE;
	} else if (!pte_none(pte)) {
		swp_entry_t entry = pte_to_swp_entry(pte);
		/*
		 * Swap entries arrive with swap: type and offset, as Linux
		 * encodes them; a migration or device-exclusive entry's offset
		 * is its frame, and its page says file or not.
		 */
		uint64_t offset = is_pfn_swap_entry(entry) ? swp_offset_pfn(entry) : __pte_swp_offset(pte);

		frame = ((uint64_t)__pte_swp_type(pte) & MML_PM_SWAP_TYPE_MASK) | (offset << MML_PM_SWAP_OFFSET_SHIFT);
		flags |= MML_PM_SWAP;
		if (is_pfn_swap_entry(entry) &&
		    !folio_test_anon(page_folio(pfn_to_page(vma->vm_mm->machine, swp_offset_pfn(entry)))))
			flags |= MML_PM_FILE;
		if (pte_swp_soft_dirty(pte))
			flags |= MML_PM_SOFT_DIRTY;
		if (pte_swp_uffd_wp(pte))
			flags |= MML_PM_UFFD_WP;
		if (is_guard_swp_entry(entry))
			flags |= MML_PM_GUARD_REGION;
		if (is_pte_marker_entry(entry) && (pte_marker_get(entry) & PTE_MARKER_UFFD_WP))
			flags |= MML_PM_UFFD_WP;
	}
	if (vma->vm_flags & VM_SOFTDIRTY)
		flags |= MML_PM_SOFT_DIRTY;
	return (frame & MML_PM_PFRAME_MASK) | flags;
}

/* pagemap_pte_entry(): one entry of the buffer (walk->private) per pte. */
static int pagemap_pte_entry(pte_t *pte, uint64_t addr, uint64_t next, struct mm_walk *walk)
{
	uint64_t **out = walk->private;

	*(*out)++ = pagemap_pte(walk->vma, addr, ptep_get(pte));
	return 0;
}

/*
 * pagemap_pte_hole(): nothing mapped; only a VMA's soft-dirty flag shows
 * (outside any VMA, walk->vma is NULL and the entry is 0).
 */
static int pagemap_pte_hole(uint64_t addr, uint64_t end, int depth, struct mm_walk *walk)
{
	uint64_t **out = walk->private;

	for (; addr < end; addr += PAGE_SIZE)
		*(*out)++ = walk->vma ? pagemap_pte(walk->vma, addr, __pte(0)) : 0;
	return 0;
}

/*
 * pagemap_pmd_entry(): a leaf gives each page its frame, consecutive,
 * and PM_MMAP_EXCLUSIVE where the page is mapped once (Linux's
 * pagemap_pmd_range_thp).
 */
static int pagemap_pmd_entry(pmd_t *pmd, uint64_t addr, uint64_t next, struct mm_walk *walk)
{
	struct mml_machine *m = walk->mm->machine;
	spinlock_t *ptl = pmd_trans_huge_lock(pmd, walk->vma);
	uint64_t **out = walk->private;
	struct folio *folio = NULL;
	uint64_t flags = 0;
	pmd_t pmdval;

	if (!ptl)
		return 0;
	walk->action = ACTION_CONTINUE;
	pmdval = pmdp_get(pmd);
	if (!is_huge_zero_pmd(m, pmdval))
		folio = page_folio(pmd_page(m, pmdval));
	/* as pagemap_pmd_range_thp: whatever is not anon, the huge zero folio too, is "file" */
	if (!folio || !folio_test_anon(folio))
		flags |= MML_PM_FILE;
	for (; addr < next; addr += PAGE_SIZE) {
		unsigned idx = pte_index(addr);
		uint64_t e = ((uint64_t)(pmd_pfn(pmdval) + idx) & MML_PM_PFRAME_MASK) | MML_PM_PRESENT | flags;

		if (pmd_soft_dirty(pmdval) || (walk->vma->vm_flags & VM_SOFTDIRTY))
			e |= MML_PM_SOFT_DIRTY;
		if (folio && folio_precise_page_mapcount(folio, folio_page(folio, idx)) == 1)
			e |= MML_PM_MMAP_EXCLUSIVE;
		*(*out)++ = e;
	}
	spin_unlock(ptl);
	return 0;
}

static const struct mm_walk_ops pagemap_walk_ops = {
	.pmd_entry = pagemap_pmd_entry,
	.pte_entry = pagemap_pte_entry,
	.pte_hole = pagemap_pte_hole,
};

int mml_pagemap(struct mml_task *t, uint64_t addr, uint64_t *entry)
{
	struct mm_struct *mm = t->mm;
	uint64_t *out = entry;

	if (addr >= TASK_SIZE)
		return -EINVAL;
	addr &= PAGE_MASK;
	op_enter(t->machine, t);
	down_read(&mm->mmap_lock);
	walk_page_range(mm, addr, addr + PAGE_SIZE, &pagemap_walk_ops, &out);
	up_read(&mm->mmap_lock);
	return op_exit(t->machine, 0);
}

/*
 * One pagemap entry as JSON, by the names of Linux's PM_* bits
 * (Documentation/admin-guide/mm/pagemap.rst): the frame of a present
 * page, the type and offset of a swap entry (a migration entry's offset
 * is its frame, as the file gives it), each flag a boolean, and the
 * entry itself as 16 hex digits, which a JSON number cannot hold exactly.
 */
static void pagemap_entry_json(struct seq_file *m, uint64_t addr, uint64_t e)
{
	bool present = e & MML_PM_PRESENT, swap = e & MML_PM_SWAP;
	char raw[24];

	snprintf(raw, sizeof(raw), "%016llx", (unsigned long long)e);
	seq_json_uint(m, "address", addr);
	seq_json_str(m, "entry", raw);
	seq_json_bool(m, "present", present);
	seq_json_bool(m, "swap", swap);
	seq_json_bool(m, "file", e & MML_PM_FILE);
	seq_json_bool(m, "mmap_exclusive", e & MML_PM_MMAP_EXCLUSIVE);
	seq_json_bool(m, "soft_dirty", e & MML_PM_SOFT_DIRTY);
	seq_json_bool(m, "uffd_wp", e & MML_PM_UFFD_WP);
	seq_json_bool(m, "guard_region", e & MML_PM_GUARD_REGION);
	if (present)
		seq_json_uint(m, "pfn", e & MML_PM_PFRAME_MASK);
	else
		seq_json_str(m, "pfn", NULL);
	if (swap) {
		seq_json_uint(m, "swap_type", e & MML_PM_SWAP_TYPE_MASK);
		seq_json_uint(m, "swap_offset", (e & MML_PM_PFRAME_MASK) >> MML_PM_SWAP_OFFSET_SHIFT);
	} else {
		seq_json_str(m, "swap_type", NULL);
		seq_json_str(m, "swap_offset", NULL);
	}
}

/* As pagemap_read(): up to a pmd's worth of entries a walk, mmap_lock dropped between walks. */
#define PAGEMAP_WALK_PAGES	512

int mml_show_pagemap_json(struct mml_task *t, uint64_t addr, uint64_t len, FILE *out)
{
	struct mm_struct *mm = t->mm;
	uint64_t buf[PAGEMAP_WALK_PAGES], end;
	struct seq_file m;
	int ret = 0;

	if (addr >= TASK_SIZE || !len || len > TASK_SIZE - addr)
		return -EINVAL;
	end = PAGE_ALIGN(addr + len);
	addr &= PAGE_MASK;
	op_enter(t->machine, t);
	seq_open(&m, out, true);
	seq_list_begin(&m, "entries");
	while (addr < end && !ret) {
		uint64_t next = min(end, addr + PAGEMAP_WALK_PAGES * PAGE_SIZE), *p = buf;

		down_read(&mm->mmap_lock);
		ret = walk_page_range(mm, addr, next, &pagemap_walk_ops, &p);
		up_read(&mm->mmap_lock);
		/* every page of the range has its entry, holes included */
		if (!ret && p - buf != (long)((next - addr) >> PAGE_SHIFT))
			ret = -EIO;
		for (uint64_t *e = buf; !ret && e < p; e++, addr += PAGE_SIZE) {
			seq_record_begin(&m);
			pagemap_entry_json(&m, addr, *e);
			seq_record_end(&m);
		}
	}
	seq_list_end(&m);
	if (seq_close(&m) && !ret)
		ret = -EIO;
	return op_exit(t->machine, ret);
}

/* ---- /proc/PID/clear_refs ---------------------------------------------------------------- */

enum clear_refs_types {
	CLEAR_REFS_ALL = 1, CLEAR_REFS_ANON, CLEAR_REFS_MAPPED, CLEAR_REFS_SOFT_DIRTY, CLEAR_REFS_MM_HIWATER_RSS,
	CLEAR_REFS_LAST,
};

/* clear_refs_test_walk(): ANON skips file mappings, MAPPED anonymous ones; never a pfn mapping. */
static int clear_refs_test_walk(uint64_t addr, uint64_t next, struct mm_walk *walk)
{
	enum clear_refs_types type = *(enum clear_refs_types *)walk->private;
	struct vm_area_struct *vma = walk->vma;

	if (vma->vm_flags & VM_PFNMAP)
		return 1;
	if ((type == CLEAR_REFS_ANON && vma->vm_file) || (type == CLEAR_REFS_MAPPED && !vma->vm_file))
		return 1;
	return 0;
}

/*
 * pte_is_pinned(): a page of a COW mapping that may be pinned keeps its
 * pte as it is, writable and soft-dirty: write-protecting it would only
 * invite a write fault, which is where a pinned page used to be copied
 * away from its pin.  Only mms that ever pinned pay for the look.
 */
static bool pte_is_pinned(struct vm_area_struct *vma, uint64_t addr, pte_t pte)
{
	struct folio *folio;

	if (!pte_write(pte) || !is_cow_mapping(vma->vm_flags) || !test_bit(MMF_HAS_PINNED, &vma->vm_mm->flags))
		return false;
	folio = vm_normal_folio(vma, addr, pte);
	return folio && folio_maybe_dma_pinned(folio);
}

/*
 * clear_refs_pte_range(): soft-dirty (4) write-protects every present
 * entry and clears its soft-dirty bit, swap entries' too, so that the
 * next write faults and marks it again; the others (1-3) make every
 * mapped page old, the pte's accessed bit and the folio's PG_referenced.
 * A pmd leaf is handled whole, as Linux's.  For soft-dirty the caller
 * flushes the TLBs once; aging flushes none.
 */
static int clear_refs_pte_range(pmd_t *pmd, uint64_t addr, uint64_t end, struct mm_walk *walk)
{
	enum clear_refs_types type = *(enum clear_refs_types *)walk->private;
	struct vm_area_struct *vma = walk->vma;
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	spinlock_t *ptl = pmd_trans_huge_lock(pmd, vma);
	pte_t *start_pte, *pte;

	if (ptl) {
		pmd_t pmdval = pmdp_get(pmd);

		if (type == CLEAR_REFS_SOFT_DIRTY) {
			pmdp_clear_soft_dirty(pmd);
		} else if (pmd_present(pmdval) && !is_huge_zero_pmd(m, pmdval)) {
			pmdp_test_and_clear_young(pmd);
			folio_clear_referenced(page_folio(pmd_page(m, pmdval)));
		}
		spin_unlock(ptl);
		return 0;
	}
	if (pmd_no_table(mm, pmdp_get(pmd), addr, "clear_refs"))
		return 0;
	start_pte = pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!pte)
		return 0;
	for (; addr < end; pte++, addr += PAGE_SIZE) {
		pte_t ptent = ptep_get(pte);
		struct folio *folio;

		if (type == CLEAR_REFS_SOFT_DIRTY) {
			if (pte_present(ptent) && !pte_is_pinned(vma, addr, ptent))
				ptep_clear_soft_dirty(pte);
			else if (is_swap_pte(ptent))
				set_pte_at(mm, addr, pte, pte_swp_clear_soft_dirty(ptent));
			continue;
		}
		if (!pte_present(ptent))
			continue;
		folio = vm_normal_folio(vma, addr, ptent);
		if (!folio)
			continue;
		ptep_test_and_clear_young(pte);
		folio_clear_referenced(folio);
	}
	pte_unmap_unlock(start_pte, ptl);
	return 0;
}

static const struct mm_walk_ops clear_refs_walk_ops = {
	.pmd_entry = clear_refs_pte_range,
	.test_walk = clear_refs_test_walk,
};

/*
 * Models clear_refs_write(): 1 (all), 2 (anonymous), 3 (file-mapped)
 * clear the accessed state; 4 clears soft-dirty, VMA flags
 * (VM_SOFTDIRTY, with the page protection that then write-protects
 * shared writable mappings) and entries, under mmap_lock for write and
 * an MMU_NOTIFY_SOFT_DIRTY range.  5 (reset the peak RSS) is EINVAL:
 * mmlab keeps no peak RSS (docs/deviations.md).
 */
int mml_clear_refs(struct mml_task *t, int type)
{
	struct mm_struct *mm = t->mm;
	struct mmu_notifier_range range;
	struct vm_area_struct *vma;
	enum clear_refs_types kind = (enum clear_refs_types)type;
	long ret = op_enter_task(t);

	if (ret)
		return (int)ret;
	if (type < CLEAR_REFS_ALL || type >= CLEAR_REFS_LAST || type == CLEAR_REFS_MM_HIWATER_RSS)
		return (int)op_exit_task(t, -EINVAL);
	if (kind == CLEAR_REFS_SOFT_DIRTY) {
		mmap_write_lock(mm);
		for_each_vma(mm, vma) {
			if (!(vma->vm_flags & VM_SOFTDIRTY))
				continue;
			vma_start_write(vma);
			WRITE_ONCE(vma->vm_flags, vma->vm_flags & ~VM_SOFTDIRTY);
			vma_set_page_prot(vma);
		}
		mmu_notifier_range_init(&range, MMU_NOTIFY_SOFT_DIRTY, 0, mm, 0, TASK_SIZE);
		mmu_notifier_invalidate_range_start(&range);
	} else {
		down_read(&mm->mmap_lock);
	}
	walk_page_range(mm, 0, TASK_SIZE, &clear_refs_walk_ops, &kind);
	if (kind == CLEAR_REFS_SOFT_DIRTY) {
		/*
		 * Write-protection must reach every CPU.  Aging needs no flush
		 * (x86's ptep_test_and_clear_young leaves the TLB): a page still
		 * in a TLB is used without marking its pte young again.
		 */
		if (!bug_enabled(mm->machine, BUG_CLEAR_REFS_NO_FLUSH))
			flush_tlb_mm(mm);
		mmu_notifier_invalidate_range_end(&range);
		mmap_write_unlock(mm);
	} else {
		up_read(&mm->mmap_lock);
	}
	return (int)op_exit_task(t, 0);
}
