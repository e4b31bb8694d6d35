/*
 * madvise.c - advice on a range (Linux's mm/madvise.c).
 *
 * mmlab models a kernel with CONFIG_SWAP, KSM and THP, without hwpoison
 * injection for now: the advice of that absent feature is EINVAL, as on
 * such a kernel.
 */
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include <linux/falloc.h>

#include "fs/vfs.h"
#include "mm/internal.h"
#include "mm/ksm.h"
#include "mm/userfaultfd_k.h"
#include "mm/mmu_notifier.h"
#include "mm/pagewalk.h"

/* Linux 6.1's; older C libraries lack the name. */
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

/* Does this advice change VMA flags (mmap_lock for write)? */
static bool madvise_need_mmap_write(int behavior)
{
	switch (behavior) {
	case MADV_DONTNEED:
#ifdef MADV_DONTNEED_LOCKED
	case MADV_DONTNEED_LOCKED:
#endif
	case MADV_FREE:
	case MADV_COLD:
	case MADV_PAGEOUT:
	case MADV_WILLNEED:
	case MADV_COLLAPSE:
	case MADV_GUARD_INSTALL:
	case MADV_GUARD_REMOVE:
		return false;
	default:
		return true;
	}
}

/*
 * Models madvise_remove(): punch a hole in the file behind a shared
 * writable mapping, as fallocate(PUNCH_HOLE) would; mmap_lock (read) is
 * dropped around it, as Linux does, since the punch takes i_rwsem.
 */
static int madvise_remove(struct vm_area_struct *vma, uint64_t start, uint64_t end)
{
	struct mm_struct *mm = vma->vm_mm;
	struct file *file = vma->vm_file;
	int64_t offset;
	int err;

	if (vma->vm_flags & VM_LOCKED)
		return -EINVAL;
	if (!file)
		return -EINVAL;
	if ((vma->vm_flags & (VM_SHARED | VM_MAYWRITE)) != (VM_SHARED | VM_MAYWRITE))
		return -EACCES;
	offset = (int64_t)(start - vma->vm_start) + ((int64_t)vma->vm_pgoff << PAGE_SHIFT);
	userfaultfd_remove(vma, start, end);
	get_file(file);
	up_read(&mm->mmap_lock);
	err = vfs_fallocate(file, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, (int64_t)(end - start));
	fput(file);
	down_read(&mm->mmap_lock);
	return err;
}

/* Models madvise_behavior_valid() for the features mmlab has. */
static bool madvise_behavior_valid(int behavior)
{
	switch (behavior) {
	case MADV_DOFORK:
	case MADV_DONTFORK:
	case MADV_NORMAL:
	case MADV_SEQUENTIAL:
	case MADV_RANDOM:
	case MADV_REMOVE:
	case MADV_WILLNEED:
	case MADV_DONTNEED:
#ifdef MADV_DONTNEED_LOCKED
	case MADV_DONTNEED_LOCKED:
#endif
	case MADV_FREE:
	case MADV_COLD:
	case MADV_PAGEOUT:
	case MADV_POPULATE_READ:
	case MADV_POPULATE_WRITE:
	case MADV_DONTDUMP:
	case MADV_DODUMP:
	case MADV_WIPEONFORK:
	case MADV_KEEPONFORK:
	case MADV_HUGEPAGE:
	case MADV_NOHUGEPAGE:
	case MADV_COLLAPSE:
	case MADV_GUARD_INSTALL:
	case MADV_GUARD_REMOVE:
	case MADV_MERGEABLE:
	case MADV_UNMERGEABLE:
		return true;
	default:
		return false;
	}
}

/* Models madvise_dontneed_free() for MADV_DONTNEED. */
static int madvise_dontneed(struct vm_area_struct *vma, uint64_t start, uint64_t end, int behavior)
{
	vm_flags_t forbidden = VM_PFNMAP | VM_HUGETLB;

	/* can_madv_lru_vma(); MADV_DONTNEED_LOCKED may zap mlocked memory. */
#ifdef MADV_DONTNEED_LOCKED
	if (behavior != MADV_DONTNEED_LOCKED)
#endif
		forbidden |= VM_LOCKED;
	if (vma->vm_flags & forbidden)
		return -EINVAL;
	userfaultfd_remove(vma, start, end);
	zap_page_range_single(vma, start, end - start, NULL);
	return 0;
}

/*
 * Models folio_mark_lazyfree(): the folio no longer needs swap to be
 * reclaimed; reclaim may drop it if nobody writes it first.
 */
void folio_mark_lazyfree(struct mml_machine *m, struct folio *folio)
{
	if (folio_test_anon(folio) && folio_test_swapbacked(folio) &&
	    !folio_test_swapcache(folio) && !folio_test_unevictable(folio)) {
		folio_move_lazyfree(m, folio);
		count_vm_events(m, PGLAZYFREE, folio_nr_pages(folio));
	}
}

/* clear_young_dirty_ptes() for MADV_FREE: clean and age nr ptes; the TLB must forget them. */
static void clear_young_dirty_ptes(struct mmu_gather *tlb, pte_t *pte, uint64_t addr, int nr)
{
	for (int i = 0; i < nr; i++, pte++, addr += PAGE_SIZE) {
		pte_t ptent = ptep_get(pte);

		if (!pte_young(ptent) && !pte_dirty(ptent))
			continue;
		/* The walker may set A or D meanwhile: clear them atomically. */
		while (!ptep_cmpxchg(pte, &ptent, pte_mkold(pte_mkclean(ptent))))
			;
		tlb_flush_pte_range(tlb, addr, PAGE_SIZE);
	}
}

/*
 * madvise_folio_pte_batch(): the ptes from pte that map folio alike, up to
 * end; 1 for a small folio.  A large folio the batch does not cover whole
 * (only partly inside [addr, end), or mapped in pieces) is one Linux
 * splits, unless others map it, to look at its pages again; *whole tells
 * the caller whether it may treat the folio as one, *split whether it
 * should split it (madvise_split_folio) before looking again.
 */
static int madvise_folio_pte_batch(struct vm_area_struct *vma, struct folio *folio, pte_t *pte, pte_t ptent,
				   uint64_t addr, uint64_t end, bool *whole, bool *split)
{
	struct mml_machine *m = vma->vm_mm->machine;
	int nr;

	*whole = true;
	*split = false;
	if (!folio_test_large(folio))
		return 1;
	nr = folio_pte_batch(m, folio, pte, ptent, (int)((end - addr) >> PAGE_SHIFT), NULL, NULL, NULL);
	if (nr == folio_nr_pages(folio))
		return nr;
	*whole = false;
	*split = folio_mapcount(folio) <= folio_nr_pages(folio);
	return nr;
}

/*
 * madvise_split_folio(): split folio with the pte lock dropped (a split
 * takes the anon_vma lock and every pte lock mapping the folio), then
 * map and lock the table at addr again.  *nr becomes 0 on success, so
 * that the caller looks at the same ptes again, now small folios'.
 * NULL: the table went away meanwhile.
 */
static pte_t *madvise_split_folio(struct mm_struct *mm, pmd_t *pmd, uint64_t addr, pte_t *start_pte,
				  spinlock_t **ptl, struct folio *folio, int *nr)
{
	int err = -EAGAIN;

	folio_get(folio);
	pte_unmap_unlock(start_pte, *ptl);
	if (folio_trylock(folio)) {
		err = split_folio(mm->machine, folio);
		folio_unlock(folio);
	}
	folio_put(mm->machine, folio);
	if (!err)
		*nr = 0;
	return pte_offset_map_lock(mm, pmd, addr, ptl);
}

/*
 * madvise_free_pte_range(): clean and age every pte of a folio only this
 * mm maps, and mark the folio lazily freeable.  The TLB flush at the end
 * matters: a CPU still holding a dirty translation would write without
 * setting the pte's dirty bit again, and reclaim would throw the write away.
 * A large folio is handled whole when the range covers it, else split.
 */
static int madvise_free_pte_range(pmd_t *pmd, uint64_t addr, uint64_t end, struct mm_walk *walk)
{
	struct mmu_gather *tlb = walk->private;
	struct vm_area_struct *vma = walk->vma;
	struct mm_struct *mm = vma->vm_mm;
	spinlock_t *ptl;
	pte_t *start_pte, *pte;
	int nr;

	if (pmd_trans_huge(pmdp_get(pmd)) && madvise_free_huge_pmd(tlb, vma, pmd, addr, end))
		return 0;
	/* No table: none, or a leaf a fault put in meanwhile (mmap_lock is shared): skipped, as Linux. */
	start_pte = pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!pte)
		return 0;
	for (; addr < end; pte += nr, addr += (uint64_t)nr << PAGE_SHIFT) {
		pte_t ptent = ptep_get(pte);
		struct folio *folio;
		bool whole, split;

		nr = 1;
		if (!pte_present(ptent)) {
			/* Swapped out: the old bytes need not come back at all. */
			if (is_swap_entry_pte(ptent)) {
				pte_clear(pte);
				add_mm_counter(mm, MM_SWAPENTS, -1);
				free_swap_and_cache(mm->machine, pte_to_swp_entry(ptent));
			}
			continue;
		}
		folio = vm_normal_folio(vma, addr, ptent);
		if (!folio)
			continue;
		nr = madvise_folio_pte_batch(vma, folio, pte, ptent, addr, end, &whole, &split);
		if (split) {
			start_pte = pte = madvise_split_folio(mm, pmd, addr, start_pte, &ptl, folio, &nr);
			if (!pte)
				return 0;
		}
		if (!whole)
			continue;
		/*
		 * A folio other processes map holds their data too, whatever its
		 * dirty bits say: an unshare copy is clean under a clean pte, and
		 * a child forked from it inherits that pte.  Linux checks the
		 * mapcount only before cleaning a folio (below), so there reclaim
		 * drops such a page under the child (docs/deviations.md).
		 */
		if (folio_mapcount(folio) != nr && !bug_enabled(mm->machine, BUG_LAZYFREE_SHARED))
			continue;
		if (folio_test_swapcache(folio) || folio_test_dirty(folio)) {
			/* Not ours alone to clean or take out of swap: leave it. */
			if (folio_mapcount(folio) != nr)
				continue;
			if (!folio_trylock(folio))
				continue;
			/* A copy in swap would come back on a fault: drop it first. */
			if (folio_test_swapcache(folio) && !folio_free_swap(mm->machine, folio)) {
				folio_unlock(folio);
				continue;
			}
			folio_clear_dirty(folio);
			folio_unlock(folio);
		}
		clear_young_dirty_ptes(tlb, pte, addr, nr);
		folio_mark_lazyfree(mm->machine, folio);
	}
	pte_unmap_unlock(start_pte, ptl);
	return 0;
}

static const struct mm_walk_ops madvise_free_walk_ops = {
	.pmd_entry = madvise_free_pte_range,
};

/* madvise_free_single_vma(). */
static int madvise_free(struct vm_area_struct *vma, uint64_t start, uint64_t end)
{
	struct mmu_notifier_range range;
	struct mmu_gather tlb;

	if (!vma_is_anonymous(vma) || (vma->vm_flags & (VM_LOCKED | VM_PFNMAP | VM_HUGETLB)))
		return -EINVAL;
	/* Clean ptes: a secondary MMU's dirty translation would write unseen. */
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, vma->vm_mm, start, end);
	lru_add_drain(vma->vm_mm->machine);
	tlb_gather_mmu(&tlb, vma->vm_mm);
	mmu_notifier_invalidate_range_start(&range);
	walk_page_range_vma(vma, start, end, &madvise_free_walk_ops, &tlb);
	mmu_notifier_invalidate_range_end(&range);
	tlb_finish_mmu(&tlb);
	return 0;
}

/* What MADV_COLD and MADV_PAGEOUT collect while walking. */
struct madvise_cold_private {
	bool pageout;
	struct folio **list;	/* pageout: the folios isolated for reclaim */
	unsigned long n;
};

/* A folio only this process maps, aged: MADV_PAGEOUT isolates it for reclaim, MADV_COLD deactivates it. */
static void madvise_cold_or_pageout_folio(struct madvise_cold_private *priv, struct mml_machine *m,
					  struct folio *folio)
{
	folio_clear_referenced(folio);
	if (priv->pageout) {
		if (folio_isolate_lru(m, folio))
			priv->list[priv->n++] = folio;
	} else {
		folio_deactivate(m, folio);
	}
}

/*
 * madvise_cold_or_pageout_huge_pmd(): a leaf: a THP only this process
 * maps is aged (MADV_COLD only clears its accessed bit) and deactivated
 * or isolated for reclaim whole; one only partly in the range is split
 * first and its pages handled by the ptes (returns false).  True: done.
 */
static bool madvise_cold_or_pageout_huge_pmd(struct madvise_cold_private *priv, struct vm_area_struct *vma,
					     pmd_t *pmd, uint64_t addr, uint64_t next)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	spinlock_t *ptl = pmd_trans_huge_lock(pmd, vma);
	struct folio *folio;
	pmd_t orig;

	if (!ptl)
		return false;
	orig = pmdp_get(pmd);
	if (is_huge_zero_pmd(m, orig))
		goto unlock;
	folio = page_folio(pmd_page(m, orig));
	/* Do not interfere with other mappings of this folio. */
	if (folio_mapcount(folio) != 1)
		goto unlock;
	if (next - addr != HPAGE_PMD_SIZE) {
		int err = -EAGAIN;

		folio_get(folio);
		spin_unlock(ptl);
		if (folio_trylock(folio)) {
			err = split_folio(m, folio);
			folio_unlock(folio);
		}
		folio_put(m, folio);
		return !!err;
	}
	if (!priv->pageout && pmdp_test_and_clear_young(pmd))
		flush_tlb_range(vma, addr, addr + HPAGE_PMD_SIZE);
	madvise_cold_or_pageout_folio(priv, m, folio);
unlock:
	spin_unlock(ptl);
	return true;
}

/*
 * madvise_cold_or_pageout_pte_range(): age every folio only this process
 * maps; MADV_COLD moves it to the inactive list, MADV_PAGEOUT isolates it
 * for reclaim now.
 */
static int madvise_cold_or_pageout_pte_range(pmd_t *pmd, uint64_t addr, uint64_t end, struct mm_walk *walk)
{
	struct madvise_cold_private *priv = walk->private;
	struct vm_area_struct *vma = walk->vma;
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	spinlock_t *ptl;
	pte_t *start_pte, *pte;
	int nr;

	if (pmd_trans_huge(pmdp_get(pmd)) && madvise_cold_or_pageout_huge_pmd(priv, vma, pmd, addr, end))
		return 0;
	/* No table: skipped, as madvise_free_pte_range's. */
	start_pte = pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!pte)
		return 0;
	for (; addr < end; pte += nr, addr += (uint64_t)nr << PAGE_SHIFT) {
		pte_t ptent = ptep_get(pte);
		struct folio *folio;
		bool whole, split;

		nr = 1;
		folio = pte_present(ptent) ? vm_normal_folio(vma, addr, ptent) : NULL;
		if (!folio)
			continue;
		nr = madvise_folio_pte_batch(vma, folio, pte, ptent, addr, end, &whole, &split);
		if (split) {
			start_pte = pte = madvise_split_folio(mm, pmd, addr, start_pte, &ptl, folio, &nr);
			if (!pte)
				return 0;
		}
		if (!whole)
			continue;
		/* Do not interfere with other mappings of a shared folio. */
		if (folio_mapcount(folio) != nr)
			continue;
		/* MADV_COLD ages the ptes; MADV_PAGEOUT leaves them, as Linux (reclaim ignores them anyway). */
		for (int i = 0; !priv->pageout && i < nr; i++)
			if (ptep_test_and_clear_young(pte + i))
				flush_tlb_page(vma, addr + ((uint64_t)i << PAGE_SHIFT));
		madvise_cold_or_pageout_folio(priv, m, folio);
	}
	pte_unmap_unlock(start_pte, ptl);
	return 0;
}

static const struct mm_walk_ops cold_walk_ops = {
	.pmd_entry = madvise_cold_or_pageout_pte_range,
};

static int madvise_cold_or_pageout(struct vm_area_struct *vma, uint64_t start, uint64_t end, bool pageout)
{
	struct mml_machine *m = vma->vm_mm->machine;
	struct madvise_cold_private priv = { .pageout = pageout };
	unsigned long cap = (end - start) >> PAGE_SHIFT;

	if (vma->vm_flags & (VM_LOCKED | VM_PFNMAP | VM_HUGETLB))
		return -EINVAL;	/* can_madv_lru_vma() */
	if (pageout) {
		priv.list = calloc(cap ? cap : 1, sizeof(*priv.list));
		if (!priv.list)
			return -ENOMEM;
	}
	/* As madvise_cold() and madvise_pageout(): this CPU's new folios are on the lists to be found. */
	lru_add_drain(m);
	walk_page_range_vma(vma, start, end, &cold_walk_ops, &priv);
	if (priv.n)
		reclaim_pages(m, priv.list, priv.n);
	free(priv.list);
	return 0;
}

/*
 * swapin_walk_pmd_entry(): MADV_WILLNEED reads swapped pages into the swap
 * cache, those of one table with one plug (runs of contiguous slots read
 * at once).
 */
static int swapin_walk_pmd_entry(pmd_t *pmd, uint64_t addr, uint64_t end, struct mm_walk *walk)
{
	struct vm_area_struct *vma = walk->vma;
	struct mm_struct *mm = vma->vm_mm;
	struct swap_iocb plug = { .nr = 0 };

	/* None, or a leaf (which has no swap entries): pte_offset_map finds no table. */
	for (; addr < end; addr += PAGE_SIZE) {
		pte_t *ptep = pte_offset_map(mm, pmd, addr, NULL);
		struct folio *folio;
		pte_t pte;

		if (!ptep)
			break;	/* the table went away */
		pte = ptep_get(ptep);
		pte_unmap(ptep);
		/* Reading may sleep: no table is held meanwhile. */
		if (!is_swap_entry_pte(pte))
			continue;
		folio = read_swap_cache_async(mm->machine, pte_to_swp_entry(pte), &plug);
		if (folio)
			folio_put(mm->machine, folio);
	}
	swap_read_unplug(mm->machine, &plug);
	return 0;
}

static const struct mm_walk_ops swapin_walk_ops = {
	.pmd_entry = swapin_walk_pmd_entry,
};

/* madvise_willneed() for anonymous memory. */
static int madvise_willneed(struct vm_area_struct *vma, uint64_t start, uint64_t end)
{
	walk_page_range_vma(vma, start, end, &swapin_walk_ops, NULL);
	return 0;
}

/* Models madvise_update_vma() fed by madvise_vma_behavior(). */
static int madvise_vma_flags(struct vm_area_struct *vma, uint64_t start, uint64_t end, int behavior)
{
	vm_flags_t new_flags = vma->vm_flags;
	int err;

	switch (behavior) {
	case MADV_NORMAL:
		new_flags &= ~(VM_RAND_READ | VM_SEQ_READ);
		break;
	case MADV_SEQUENTIAL:
		new_flags = (new_flags & ~VM_RAND_READ) | VM_SEQ_READ;
		break;
	case MADV_RANDOM:
		new_flags = (new_flags & ~VM_SEQ_READ) | VM_RAND_READ;
		break;
	case MADV_DONTFORK:
		if (vma->vm_flags & VM_IO)
			return -EINVAL;
		new_flags |= VM_DONTCOPY;
		break;
	case MADV_DOFORK:
		if (vma->vm_flags & VM_IO)
			return -EINVAL;
		new_flags &= ~VM_DONTCOPY;
		break;
	case MADV_WIPEONFORK:
		/* Only private anonymous memory can be wiped. */
		if (vma->vm_file || (vma->vm_flags & VM_SHARED))
			return -EINVAL;
		new_flags |= VM_WIPEONFORK;
		break;
	case MADV_KEEPONFORK:
		new_flags &= ~VM_WIPEONFORK;
		break;
	case MADV_DONTDUMP:
		new_flags |= VM_DONTDUMP;
		break;
	case MADV_DODUMP:
		if (new_flags & (VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP))
			return -EINVAL;
		new_flags &= ~VM_DONTDUMP;
		break;
	case MADV_HUGEPAGE:
		/* hugepage_madvise(): khugepaged learns of the mm with the new flags. */
		new_flags = (new_flags & ~VM_NOHUGEPAGE) | VM_HUGEPAGE;
		khugepaged_enter_vma(vma, new_flags);
		break;
	case MADV_NOHUGEPAGE:
		new_flags = (new_flags & ~VM_HUGEPAGE) | VM_NOHUGEPAGE;
		break;
	case MADV_MERGEABLE:
	case MADV_UNMERGEABLE:
		if ((err = ksm_madvise(vma, start, end, behavior, &new_flags)))
			return err;
		break;
	default:
		return -EINVAL;
	}
	if (new_flags == vma->vm_flags)
		return 0;
	/* madvise_update_vma(): running out of VMAs is "try again", not ENOMEM (a hole). */
	if (!vma_modify_flags(vma, start, end, new_flags, &err))
		return err == -ENOMEM ? -EAGAIN : err;
	return 0;
}

/* ---- guard regions: MADV_GUARD_INSTALL, MADV_GUARD_REMOVE ------------------------------- */

/* Installs raced by faults this many times give the syscall back to be restarted. */
#define MAX_MADVISE_GUARD_RETRIES	3
/* The kernel's "restart the syscall" (restart_syscall()); never seen by a caller. */
#define ERESTARTNOINTR			513

/*
 * is_valid_guard_vma(), as Linux 6.15-6.18: anything whose page tables
 * are the core's, file-backed and shared included; VM_LOCKED only for a
 * removal (an install's zap must not take locked pages away).
 */
static bool is_valid_guard_vma(struct vm_area_struct *vma, bool allow_locked)
{
	vm_flags_t disallowed = VM_SPECIAL | VM_HUGETLB;

	if (!allow_locked)
		disallowed |= VM_LOCKED;
	return !(vma->vm_flags & disallowed);
}

/* A THP leaf: stop the walk (> 0), the range is zapped (and split) first. */
static int guard_install_pmd_entry(pmd_t *pmd, uint64_t addr, uint64_t next, struct mm_walk *walk)
{
	return pmd_trans_huge(pmdp_get(pmd)) ? 1 : 0;
}

/* A pte that is not none: already a guard (count it), or a page to zap first (> 0). */
static int guard_install_pte_entry(pte_t *pte, uint64_t addr, uint64_t next, struct mm_walk *walk)
{
	unsigned long *nr_pages = walk->private;

	if (!is_guard_pte_marker(ptep_get(pte)))
		return 1;
	(*nr_pages)++;
	return 0;
}

/* A none pte (the walker allocated its table if need be): the marker. */
static int guard_install_set_pte(uint64_t addr, uint64_t next, pte_t *ptep, struct mm_walk *walk)
{
	unsigned long *nr_pages = walk->private;

	*ptep = make_pte_marker(PTE_MARKER_GUARD);
	(*nr_pages)++;
	return 0;
}

static const struct mm_walk_ops guard_install_walk_ops = {
	.pmd_entry = guard_install_pmd_entry,
	.pte_entry = guard_install_pte_entry,
	.install_pte = guard_install_set_pte,
};

/*
 * madvise_guard_install(): markers in every pte of [start, end).  Try the
 * walk first; whatever is mapped stops it and is zapped (a THP split or
 * zapped whole), markers already there stay, and the walk runs again.  A
 * fault may map a page between zap and walk (mmap_lock is only read):
 * after a few rounds the syscall is restarted, locks dropped, as Linux.
 * The anon_vma makes fork copy the tables (vma_needs_copy), file VMAs too.
 */
static int madvise_guard_install(struct vm_area_struct *vma, uint64_t start, uint64_t end)
{
	if (!is_valid_guard_vma(vma, false))
		return -EINVAL;
	if (anon_vma_prepare(vma))
		return -ENOMEM;
	for (int i = 0; i < MAX_MADVISE_GUARD_RETRIES; i++) {
		unsigned long nr_pages = 0;
		int err = walk_page_range_vma(vma, start, end, &guard_install_walk_ops, &nr_pages);

		if (err < 0)
			return err;
		if (!err) {
			if (nr_pages != (end - start) >> PAGE_SHIFT)
				mml_report(vma->vm_mm->machine, "guard install: %lu markers for %llu pages at %#llx",
					   nr_pages, (unsigned long long)((end - start) >> PAGE_SHIFT),
					   (unsigned long long)start);
			return 0;
		}
		zap_page_range_single(vma, start, end - start, NULL);
	}
	return -ERESTARTNOINTR;
}

static int guard_remove_pmd_entry(pmd_t *pmd, uint64_t addr, uint64_t next, struct mm_walk *walk)
{
	/* A THP leaf has no markers under it: nothing to do, and nothing to split. */
	if (pmd_trans_huge(pmdp_get(pmd)))
		walk->action = ACTION_CONTINUE;
	return 0;
}

static int guard_remove_pte_entry(pte_t *pte, uint64_t addr, uint64_t next, struct mm_walk *walk)
{
	if (is_guard_pte_marker(ptep_get(pte)))
		pte_clear(pte);	/* nothing was mapped: no TLB to flush */
	return 0;
}

static const struct mm_walk_ops guard_remove_walk_ops = {
	.pmd_entry = guard_remove_pmd_entry,
	.pte_entry = guard_remove_pte_entry,
};

/* madvise_guard_remove(): the markers go, pages mapped among them stay; allowed on mlocked VMAs. */
static int madvise_guard_remove(struct vm_area_struct *vma, uint64_t start, uint64_t end)
{
	if (!is_valid_guard_vma(vma, true))
		return -EINVAL;
	return walk_page_range_vma(vma, start, end, &guard_remove_walk_ops, NULL);
}

/*
 * madvise_vma_behavior(): the advice that works on pages; the rest change
 * flags.  *lock_dropped: MADV_COLLAPSE let go of mmap_lock meanwhile.
 */
static int madvise_vma_behavior(struct vm_area_struct *vma, uint64_t start, uint64_t end, int behavior,
				bool *lock_dropped)
{
	switch (behavior) {
	case MADV_COLLAPSE:
		return madvise_collapse(vma, start, end, lock_dropped);
	case MADV_REMOVE:
		return madvise_remove(vma, start, end);
	case MADV_WILLNEED:
		return madvise_willneed(vma, start, end);
	case MADV_COLD:
	case MADV_PAGEOUT:
		return madvise_cold_or_pageout(vma, start, end, behavior == MADV_PAGEOUT);
	case MADV_DONTNEED:
#ifdef MADV_DONTNEED_LOCKED
	case MADV_DONTNEED_LOCKED:
#endif
		return madvise_dontneed(vma, start, end, behavior);
	case MADV_FREE:
		return madvise_free(vma, start, end);
	case MADV_GUARD_INSTALL:
		return madvise_guard_install(vma, start, end);
	case MADV_GUARD_REMOVE:
		return madvise_guard_remove(vma, start, end);
	default:
		return madvise_vma_flags(vma, start, end, behavior);
	}
}

/* Models madvise_populate(): stops with -ENOMEM at the first hole. */
static int madvise_populate(struct mm_struct *mm, uint64_t start, uint64_t end, int behavior)
{
	int err;

	down_read(&mm->mmap_lock);
	err = faultin_page_range(mm, start, end, behavior == MADV_POPULATE_WRITE);
	up_read(&mm->mmap_lock);
	return err;
}

/*
 * Models madvise_walk_vmas(): apply to each VMA piece in [start, end); a
 * hole makes the result -ENOMEM after the mapped parts were advised.
 */
static int madvise_walk_vmas(struct mm_struct *mm, uint64_t start, uint64_t end, int behavior)
{
	struct vm_area_struct *vma = find_vma(mm, start);
	bool lock_dropped = false;
	int unmapped_error = 0;

	for (;;) {
		uint64_t tmp;
		int err;

		if (!vma)
			return -ENOMEM;
		if (start < vma->vm_start) {
			unmapped_error = -ENOMEM;
			start = vma->vm_start;
			if (start >= end)
				break;
		}
		tmp = min(vma->vm_end, end);
		err = madvise_vma_behavior(vma, start, tmp, behavior, &lock_dropped);
		if (err)
			return err;
		/* A merge may have grown the VMA past tmp: go on after it. */
		vma = vma_lookup(mm, tmp - 1);
		start = vma ? max(tmp, vma->vm_end) : tmp;
		if (start >= end)
			break;
		vma = find_vma(mm, start);
	}
	return unmapped_error;
}

/* do_madvise(): argument checks in Linux's order, then the walk under mmap_lock. */
int do_madvise(struct mm_struct *mm, uint64_t start, uint64_t len_in, int behavior)
{
	uint64_t len, end;
	int err;

	if (!madvise_behavior_valid(behavior))
		return -EINVAL;
	if (!PAGE_ALIGNED(start))
		return -EINVAL;
	len = PAGE_ALIGN(len_in);
	if (len_in && !len)
		return -EINVAL;
	end = start + len;
	if (end < start)
		return -EINVAL;
	if (end == start)
		return 0;

	if (behavior == MADV_POPULATE_READ || behavior == MADV_POPULATE_WRITE)
		return madvise_populate(mm, start, end, behavior);

	do {
		if (madvise_need_mmap_write(behavior)) {
			mmap_write_lock(mm);
			err = madvise_walk_vmas(mm, start, end, behavior);
			mmap_write_unlock(mm);
		} else {
			down_read(&mm->mmap_lock);
			err = madvise_walk_vmas(mm, start, end, behavior);
			up_read(&mm->mmap_lock);
		}
		/* A guard install raced by faults: the syscall starts again, as after a signal. */
	} while (err == -ERESTARTNOINTR);
	return err;
}

/* ---- process_madvise ---------------------------------------------------------------------- */

/* process_madvise_remote_valid(): what one process may advise of another's memory. */
static bool process_madvise_remote_valid(int advice)
{
	return advice == MADV_COLD || advice == MADV_PAGEOUT || advice == MADV_WILLNEED || advice == MADV_COLLAPSE;
}

/*
 * Models process_madvise(): target's memory advised by t, range by range
 * (vector_madvise).  Linux 6.13+ lets a process give itself any advice;
 * another process's memory takes only the non-destructive hints (and
 * CAP_SYS_NICE, which mmlab's processes have: deviation 4).  The bytes
 * advised before the first failure, else the failure.
 */
long mml_process_madvise(struct mml_task *t, struct mml_task *target, const struct iovec *iov, unsigned long vlen,
			 int advice, unsigned int flags)
{
	uint64_t done = 0;
	long ret = op_enter_task(t);

	if (ret)
		return ret;
	if (flags || vlen > UIO_MAXIOV)
		return op_exit_task(t, -EINVAL);
	if (!target || target->machine != t->machine)
		return op_exit_task(t, -ESRCH);
	if (target->mm != t->mm && !process_madvise_remote_valid(advice))
		return op_exit_task(t, -EINVAL);
	ret = 0;
	for (unsigned long i = 0; i < vlen && ret >= 0; i++) {
		ret = do_madvise(target->mm, (uint64_t)(uintptr_t)iov[i].iov_base, iov[i].iov_len, advice);
		if (!ret)
			done += iov[i].iov_len;
	}
	return op_exit_task(t, done ? (long)done : ret);
}
