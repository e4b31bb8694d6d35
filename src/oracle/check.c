/*
 * check.c - the invariant checker, in the spirit of CONFIG_DEBUG_VM and
 * page_table_check: it stops the machine (machine->quiesce for write),
 * walks every page table, TLB, frame, swap slot and anon_vma, and verifies
 * the invariants of docs/ARCHITECTURE.md, numbered as there (enum
 * invariant in check_internal.h); each failure names its number.
 * Invariant 7 is the objects' own *_is_valid() (mm/debug.c), invariant
 * 10 the leak check of mml_machine_free() (mm/machine.c); the page caches
 * are check_files.c's.  The core runs it through the hook of mm/hooks.h.
 * mml_check_range, the fuzzer's incremental check, walks one range by
 * the same rules.
 */
#include <stdlib.h>
#include <string.h>

#include "drivers/dmirror.h"
#include "fs/fs.h"
#include "mm/internal.h"
#include "mm/ksm.h"
#include "mm/userfaultfd_k.h"
#include "oracle/check.h"
#include "oracle/check_internal.h"

/*
 * The VMAs of mm in order, from the sorted array itself: vma_next() would
 * search the array again at every step, and the check walks them all often.
 */
#define check_for_each_vma(mm, i, vma) \
	for ((i) = 0; (i) < (mm)->map_count && ((vma) = (mm)->vmas[(i)]); (i)++)

/*
 * The VMAs of mm that meet the check's range, in order: all of them in
 * the full check; the incremental one starts where one binary search of
 * check_mm_tables found, rather than touch every VMA of the mm.
 */
#define check_for_each_vma_in_range(st, mm, i, vma) \
	for ((i) = (st)->first_vma; \
	     (i) < (mm)->map_count && ((vma) = (mm)->vmas[(i)]) && (!(st)->ranged || (vma)->vm_start < (st)->hi); \
	     (i)++)

/*
 * vma_lookup(mm, addr), trying first the VMA the last lookup found (at
 * first the first of the range) and the one after it: the walks go in
 * address order, and the VMA array does not change while the machine is
 * stopped for the check.
 */
static struct vm_area_struct *check_vma(struct check_state *st, struct mm_struct *mm, uint64_t addr)
{
	struct vm_area_struct *vma = st->vma;
	unsigned long i = st->vma_idx;

	if (vma && vma->vm_mm == mm && i < mm->map_count && mm->vmas[i] == vma) {
		if (vma->vm_start <= addr && addr < vma->vm_end)
			return vma;
		if (addr < vma->vm_start && (!i || addr >= mm->vmas[i - 1]->vm_end))
			return NULL;	/* in the gap before it */
		if (addr >= vma->vm_end && (i + 1 == mm->map_count || addr < mm->vmas[i + 1]->vm_start))
			return NULL;	/* in the gap after it */
		if (addr >= vma->vm_end && addr < mm->vmas[i + 1]->vm_end) {
			st->vma = mm->vmas[++st->vma_idx];
			return st->vma;
		}
	}
	i = vma_index_after(mm, addr);
	if (i == mm->map_count || mm->vmas[i]->vm_start > addr)
		return NULL;
	st->vma_idx = i;
	st->vma = mm->vmas[i];
	return st->vma;
}

static bool frame_is_free(struct page *p)
{
	return page_is_free(p);
}

static void note_table(struct check_state *st, struct mm_struct *mm, unsigned long pfn, const char *level)
{
	struct page *p;

	if (!pfn_valid(st->m, pfn)) {
		FAIL(st, INV_TABLES, "mm %d: %s entry points outside RAM (pfn %lu)", mm->tgid, level, pfn);
		return;
	}
	p = pfn_to_page(st->m, pfn);
	if (!PageTable(p) || p->pt_mm != mm)
		FAIL(st, INV_TABLES, "mm %d: %s table pfn %lu is not a page table of this mm", mm->tgid, level, pfn);
	if (st->table && st->table[pfn]++)
		FAIL(st, INV_TABLES, "mm %d: %s table pfn %lu reached twice", mm->tgid, level, pfn);
	st->tables++;
}

/* What a folio in use must be by itself: valid (invariant 7), and on the unevictable LRU iff mlocked. */
static void check_folio(struct check_state *st, unsigned long pfn, struct folio *folio)
{
	if (!folio_is_valid(st->m, folio, st->out))
		st->errors++;
	/* No check runs while a folio is moving between lists: these agree. */
	if (folio_test_lru(folio) && folio_test_unevictable(folio) != folio_test_mlocked(folio))
		FAIL(st, INV_MLOCK, "pfn %lu: %s", pfn, folio_test_mlocked(folio) ?
		     "mlocked but on an evictable LRU list" : "on the unevictable list but not mlocked");
}

/*
 * A pte or pmd maps pfn: counted for check_frames, or, in the incremental
 * check, the page must say it is mapped (at least this once) and its
 * folio hold a reference for that.
 */
static void note_map(struct check_state *st, struct mm_struct *mm, uint64_t addr, unsigned long pfn)
{
	struct page *page;
	struct folio *folio;

	if (st->maps) {
		st->maps[pfn]++;
		return;
	}
	page = pfn_to_page(st->m, pfn);
	folio = page_folio(page);
	if (folio_precise_page_mapcount(folio, page) < 1 || folio_ref_count(folio) < folio_mapcount(folio))
		FAIL(st, INV_MAPCOUNT, "mm %d: pfn %lu mapped at %#llx has mapcount %d, refcount %d", mm->tgid, pfn,
		     (unsigned long long)addr, folio_precise_page_mapcount(folio, page), folio_ref_count(folio));
	/* what check_frames asks of each folio, once a folio: at its head, or for a small one */
	if (!folio_test_large(folio) || page == &folio->page)
		check_folio(st, pfn, folio);
}

static bool pgoff_in_anon_vma_chain(struct vm_area_struct *vma, struct anon_vma *av)
{
	struct anon_vma_chain *avc;

	list_for_each_entry(avc, &vma->anon_vma_chain, same_vma)
		if (avc->anon_vma == av)
			return true;
	return false;
}

/*
 * A pte mapping a file's page: the folio is in the VMA's file at the
 * VMA's index, the VMA is on the file's i_mmap (rmap finds it), and a
 * writable pte of a file with writeback maps a dirty folio (otherwise a
 * write through it could be lost to writeback: vma_wants_writenotify).
 */
static void check_file_pte(struct check_state *st, struct mm_struct *mm, struct vm_area_struct *vma, uint64_t addr,
			   pte_t pte, struct folio *folio)
{
	struct address_space *mapping = vma->vm_file ? vma->vm_file->f_mapping : NULL;
	unsigned long pfn = pte_pfn(pte);
	struct vm_area_struct *v;
	bool in_i_mmap = false;

	if (folio_test_swapbacked(folio))
		st->shmem_rss++;
	else
		st->file_rss++;
	/* A reflinked fs-DAX folio names no one file (PAGE_MAPPING_DAX_SHARED): check_dax counts its files. */
	if (!mapping || (!folio_test_dax_shared(folio) && (folio->mapping != mapping ||
	    folio->index + (pfn - folio_pfn(st->m, folio)) != linear_page_index(vma, addr)))) {
		FAIL(st, INV_RMAP, "mm %d: pfn %lu at %#llx is not the file's page %#lx of this VMA "
		     "(truncated, or mapped at the wrong index)", mm->tgid, pfn, (unsigned long long)addr,
		     linear_page_index(vma, addr));
		return;
	}
	list_for_each_entry(v, &mapping->i_mmap, shared)
		in_i_mmap |= v == vma;
	if (!in_i_mmap)
		FAIL(st, INV_RMAP, "mm %d: file pfn %lu at %#llx: the VMA is not on the file's i_mmap", mm->tgid, pfn,
		     (unsigned long long)addr);
	if (pte_write(pte) && !(vma->vm_flags & VM_SHARED))
		FAIL(st, INV_RIGHTS, "mm %d: writable pte at %#llx maps the file's page in a private mapping",
		     mm->tgid, (unsigned long long)addr);
	if (pte_write(pte) && mapping_can_writeback(mapping) && !folio_test_dirty(folio))
		FAIL(st, INV_RIGHTS, "mm %d: writable pte at %#llx maps a clean page of a file with writeback: "
		     "a write through it would not be written back", mm->tgid, (unsigned long long)addr);
}

static void check_pte(struct check_state *st, struct mm_struct *mm, uint64_t addr, pte_t pte, long *rss,
		      long *swap)
{
	struct mml_machine *m = st->m;
	struct vm_area_struct *vma = check_vma(st, mm, addr);
	unsigned long pfn;
	struct page *page;
	struct folio *folio;

	if (!vma) {
		FAIL(st, INV_RMAP, "mm %d: pte %#llx at %#llx outside any VMA", mm->tgid,
		     (unsigned long long)pte_val(pte), (unsigned long long)addr);
		return;
	}
	if (!pte_present(pte)) {
		swp_entry_t entry = pte_to_swp_entry(pte);

		if (is_device_exclusive_entry(entry)) {
			/* It keeps the mapping of the anon page it stands for. */
			pfn = swp_offset_pfn(entry);
			if (!pfn_valid(m, pfn) || frame_is_free(pfn_to_page(m, pfn)) ||
			    !folio_test_anon(page_folio(pfn_to_page(m, pfn)))) {
				FAIL(st, INV_NO_STALE, "mm %d: device-exclusive entry at %#llx names pfn %lu, "
				     "not a mapped anon page", mm->tgid, (unsigned long long)addr, pfn);
				return;
			}
			note_map(st, mm, addr, pfn);
			(*rss)++;
			return;
		}

		/*
		 * A pte marker names no page and no slot: no rss, no swap count.
		 * A uffd-wp marker lies only where write-protecting a none pte
		 * leaves one (userfaultfd_wp_use_markers): a uffd-wp VMA of a
		 * file, or of anon memory with WP_UNPOPULATED.
		 */
		if (is_pte_marker_entry(entry) && swp_offset(entry) == PTE_MARKER_UFFD_WP) {
			if (!userfaultfd_wp_use_markers(vma))
				FAIL(st, INV_UFFD, "mm %d: uffd-wp marker at %#llx in a VMA that holds none (flags %#lx)",
				     mm->tgid, (unsigned long long)addr, (unsigned long)vma->vm_flags);
			return;
		}
		/* Guard markers, in VMAs that may hold them, with an anon_vma (what makes fork copy them). */
		if (is_pte_marker_entry(entry)) {
			if (swp_offset(entry) != PTE_MARKER_GUARD || (vma->vm_flags & (VM_SPECIAL | VM_HUGETLB)) ||
			    !vma->anon_vma)
				FAIL(st, INV_SWAP, "mm %d: pte marker %#llx at %#llx: not a guard marker, or in a VMA "
				     "that cannot hold one (flags %#lx, %sanon_vma)", mm->tgid,
				     (unsigned long long)pte_val(pte), (unsigned long long)addr,
				     (unsigned long)vma->vm_flags, vma->anon_vma ? "" : "no ");
			return;
		}

		/*
		 * Migration entries live only while their folio is locked under
		 * migration or a split, inside one operation, or while a
		 * migration is held half way (mml_migrate_unmap): then they
		 * count in the rss as the page did.  Any other outlived its
		 * migration (remove_migration_ptes missed it).
		 */
		if (is_migration_entry(entry)) {
			pfn = swp_offset_pfn(entry);
			if (pfn_valid(m, pfn) && folio_test_locked(page_folio(pfn_to_page(m, pfn))) &&
			    folio_migration_held(m, page_folio(pfn_to_page(m, pfn)))) {
				(*rss)++;
				return;
			}
			FAIL(st, INV_SWAP, "mm %d: migration entry at %#llx for pfn %lu outlived its migration "
			     "(folio %slocked)", mm->tgid, (unsigned long long)addr, pfn,
			     pfn_valid(m, pfn) && folio_test_locked(page_folio(pfn_to_page(m, pfn))) ? "" : "un");
			return;
		}
		if (pte_swp_uffd_wp(pte) && !userfaultfd_wp(vma))
			FAIL(st, INV_UFFD, "mm %d: swap pte %#llx at %#llx is uffd-wp in a VMA not registered for WP",
			     mm->tgid, (unsigned long long)pte_val(pte), (unsigned long long)addr);
		if (!is_swap_entry_pte(pte) || !swap_info_get(m, entry) ||
		    (st->ranged ? !(swap_info_get(m, entry)->swap_map[swp_offset(entry)] & ~SWAP_HAS_CACHE) :
				  !st->swaps[swp_type(entry)])) {
			FAIL(st, INV_SWAP, "mm %d: non-present pte %#llx at %#llx names no swap slot%s", mm->tgid,
			     (unsigned long long)pte_val(pte), (unsigned long long)addr,
			     st->ranged ? " in use" : "");
			return;
		}
		if (st->swaps[swp_type(entry)])
			st->swaps[swp_type(entry)][swp_offset(entry)]++;
		(*swap)++;
		return;
	}
	pfn = pte_pfn(pte);
	if (!pfn_valid(m, pfn)) {
		FAIL(st, INV_NO_STALE, "mm %d: pte at %#llx maps pfn %lu outside RAM", mm->tgid, (unsigned long long)addr, pfn);
		return;
	}
	if (pte_write(pte) && !(vma->vm_flags & VM_WRITE))
		FAIL(st, INV_RIGHTS, "mm %d: writable pte at %#llx in a VMA without VM_WRITE", mm->tgid,
		     (unsigned long long)addr);
	/* A write to a uffd-wp page must fault to report: never writable, only in a WP registration. */
	if (pte_uffd_wp(pte) && (pte_write(pte) || !userfaultfd_wp(vma)))
		FAIL(st, INV_UFFD, "mm %d: uffd-wp pte at %#llx is %s", mm->tgid, (unsigned long long)addr,
		     pte_write(pte) ? "writable" : "in a VMA not registered for WP");
	if (pte_hw_valid(pte) && !(vma->vm_flags & VM_ACCESS_FLAGS))
		FAIL(st, INV_RIGHTS, "mm %d: accessible pte at %#llx in a PROT_NONE VMA", mm->tgid, (unsigned long long)addr);
	if (pte_tagged(pte) != !!(vma->vm_flags & VM_MTE))
		FAIL(st, INV_TAGS, "mm %d: pte at %#llx is %s in a VMA %s VM_MTE", mm->tgid, (unsigned long long)addr,
		     pte_tagged(pte) ? "tagged" : "untagged", (vma->vm_flags & VM_MTE) ? "with" : "without");
	else if (pte_tagged(pte) && !page_mte_tagged(pfn_to_page(m, pfn)))
		FAIL(st, INV_TAGS, "mm %d: tagged pte at %#llx maps pfn %lu whose tags were never set (no mte_sync_tags)",
		     mm->tgid, (unsigned long long)addr, pfn);
	if (is_zero_pfn(m, pfn)) {
		if (pte_write(pte) || !pte_special(pte))
			FAIL(st, INV_RIGHTS, "mm %d: zero page mapped writable or not special at %#llx", mm->tgid,
			     (unsigned long long)addr);
		return;
	}
	page = pfn_to_page(m, pfn);
	folio = page_folio(page);
	if (frame_is_free(page)) {
		FAIL(st, INV_NO_STALE, "mm %d: pte at %#llx maps free frame %lu", mm->tgid, (unsigned long long)addr, pfn);
		return;
	}
	if (PageTable(page) || PageReserved(page)) {
		FAIL(st, INV_NO_STALE, "mm %d: pte at %#llx maps a page table or reserved frame %lu", mm->tgid,
		     (unsigned long long)addr, pfn);
		return;
	}
	note_map(st, mm, addr, pfn);
	/*
	 * A KSM folio is shared by content: every pte read-only, never
	 * PG_anon_exclusive, never pinned (a pin unshares first); its rmap
	 * is the stable node's, checked by ksm_check.
	 */
	if (folio_test_ksm(folio)) {
		(*rss)++;
		if (pte_write(pte) || PageAnonExclusive(page) || folio_maybe_dma_pinned(folio))
			FAIL(st, INV_KSM, "mm %d: KSM pfn %lu at %#llx is %s%s%s", mm->tgid, pfn,
			     (unsigned long long)addr, pte_write(pte) ? "mapped writable " : "",
			     PageAnonExclusive(page) ? "PG_anon_exclusive " : "",
			     folio_maybe_dma_pinned(folio) ? "maybe pinned" : "");
		if (!vma->anon_vma || (vma->vm_flags & VM_SHARED))
			FAIL(st, INV_KSM, "mm %d: KSM pfn %lu at %#llx in a shared VMA or one without an anon_vma "
			     "(rmap_walk_ksm cannot reach it)", mm->tgid, pfn, (unsigned long long)addr);
		return;
	}
	if (folio_test_anon(folio)) {
		struct anon_vma *av = folio_anon_vma(folio);
		int maps = folio_precise_page_mapcount(folio, page);
		const char *excl = PageAnonExclusive(page) ? "exclusive" : "not exclusive";

		(*rss)++;
		if (pte_write(pte) && (!PageAnonExclusive(page) || maps != 1))
			FAIL(st, INV_RIGHTS, "mm %d: writable pte at %#llx maps anon pfn %lu that is %s (mapcount %d)",
			     mm->tgid, (unsigned long long)addr, pfn, excl, maps);
		/*
		 * sanity_check_pinned_pages(): a pinned anon page is never shared.
		 * Of a large folio only the pages a pin holds: the others may have
		 * been shared by a fork before the pin (Linux checks the pinned
		 * pages alone too).
		 */
		if (folio_maybe_dma_pinned(folio) && (!folio_test_large(folio) || (st->pinned && st->pinned[pfn])) &&
		    (!PageAnonExclusive(page) || maps != 1))
			FAIL(st, INV_PINS, "mm %d: anon pfn %lu at %#llx may be pinned but is %s (mapcount %d): "
			     "the pin and the process can drift apart", mm->tgid, pfn, (unsigned long long)addr,
			     excl, maps);
		/* A large folio's page i sits at the folio's index + i. */
		if (folio->index + (pfn - folio_pfn(m, folio)) != linear_page_index(vma, addr))
			FAIL(st, INV_RMAP, "mm %d: anon pfn %lu at %#llx has index %#lx, VMA says %#lx", mm->tgid, pfn,
			     (unsigned long long)addr, folio->index + (pfn - folio_pfn(m, folio)),
			     linear_page_index(vma, addr));
		if (!av || !pgoff_in_anon_vma_chain(vma, av))
			FAIL(st, INV_RMAP, "mm %d: anon pfn %lu at %#llx: its anon_vma is not chained to the VMA "
			     "(rmap cannot find this mapping)", mm->tgid, pfn, (unsigned long long)addr);
		if (vma->vm_flags & VM_SHARED)
			FAIL(st, INV_RMAP, "mm %d: anon pfn %lu at %#llx in a shared mapping", mm->tgid, pfn,
			     (unsigned long long)addr);
		return;
	}
	check_file_pte(st, mm, vma, addr, pte, folio);
}

/*
 * A pmd leaf of a file VMA: the file's PMD-sized page-cache folio at the
 * VMA's index, its pages counted in the file or shmem rss; writable only
 * in a shared mapping.  No table is deposited for it (x86).
 */
static void check_file_pmd_leaf(struct check_state *st, struct mm_struct *mm, struct vm_area_struct *vma,
				uint64_t addr, pmd_t pmd, struct folio *folio)
{
	struct address_space *mapping = vma->vm_file->f_mapping;
	unsigned long pfn = pmd_pfn(pmd);

	if (frame_is_free(&folio->page) || &folio->page != pfn_to_page(st->m, pfn) ||
	    folio_order(folio) != HPAGE_PMD_ORDER || folio->mapping != mapping ||
	    folio->index != linear_page_index(vma, addr)) {
		FAIL(st, INV_RMAP, "mm %d: pmd leaf at %#llx maps pfn %lu, not the file's PMD-sized folio at %#lx",
		     mm->tgid, (unsigned long long)addr, pfn, linear_page_index(vma, addr));
		return;
	}
	for (unsigned i = 0; i < HPAGE_PMD_NR; i++)
		note_map(st, mm, addr, pfn + i);
	if (folio_test_swapbacked(folio))
		st->shmem_rss += HPAGE_PMD_NR;
	else
		st->file_rss += HPAGE_PMD_NR;
	if (pmd_write(pmd) && !(vma->vm_flags & VM_SHARED))
		FAIL(st, INV_RIGHTS, "mm %d: writable pmd at %#llx maps the file's THP in a private mapping",
		     mm->tgid, (unsigned long long)addr);
}

/*
 * A pmd leaf: an aligned PMD-sized anon folio (or the huge zero folio,
 * read-only) in a VMA that covers all of it, each of its pages counting
 * the pmd once; writable only if PG_anon_exclusive on the head and
 * mapped by nothing else.  A file VMA's leaf: check_file_pmd_leaf.
 * Returns whether the leaf needs a deposited table (anon, zero).
 */
static bool check_pmd_leaf(struct check_state *st, struct mm_struct *mm, uint64_t addr, pmd_t pmd, long *rss)
{
	struct mml_machine *m = st->m;
	struct vm_area_struct *vma = check_vma(st, mm, addr);
	unsigned long pfn = pmd_pfn(pmd);
	struct folio *folio;
	struct anon_vma *av;

	if (!vma || vma->vm_start > addr || vma->vm_end < addr + HPAGE_PMD_SIZE) {
		FAIL(st, INV_RMAP, "mm %d: pmd leaf at %#llx not inside one VMA", mm->tgid, (unsigned long long)addr);
		return true;
	}
	if (!pfn_valid(m, pfn) || pfn % HPAGE_PMD_NR) {
		FAIL(st, INV_NO_STALE, "mm %d: pmd leaf at %#llx maps pfn %lu, not an aligned 2 MiB frame", mm->tgid,
		     (unsigned long long)addr, pfn);
		return true;
	}
	if (pmd_write(pmd) && !(vma->vm_flags & VM_WRITE))
		FAIL(st, INV_RIGHTS, "mm %d: writable pmd at %#llx in a VMA without VM_WRITE", mm->tgid,
		     (unsigned long long)addr);
	if (pmd_tagged(pmd) != !!(vma->vm_flags & VM_MTE))
		FAIL(st, INV_TAGS, "mm %d: pmd at %#llx is %s in a VMA %s VM_MTE", mm->tgid, (unsigned long long)addr,
		     pmd_tagged(pmd) ? "tagged" : "untagged", (vma->vm_flags & VM_MTE) ? "with" : "without");
	folio = page_folio(pfn_to_page(m, pfn));
	/* A DAX file's hole is the huge zero folio too (dax_pmd_load_hole), with its table deposited. */
	if (is_huge_zero_folio(m, folio)) {
		if (pmd_write(pmd) || !pmd_special(pmd))
			FAIL(st, INV_RIGHTS, "mm %d: huge zero folio mapped writable or not special at %#llx", mm->tgid,
			     (unsigned long long)addr);
		if (!vma_is_anonymous(vma) && !vma_is_dax(vma))
			FAIL(st, INV_RMAP, "mm %d: huge zero folio at %#llx in a file mapping without DAX", mm->tgid,
			     (unsigned long long)addr);
		return true;
	}
	if (!vma_is_anonymous(vma)) {
		check_file_pmd_leaf(st, mm, vma, addr, pmd, folio);
		return false;
	}
	if (frame_is_free(&folio->page) || &folio->page != pfn_to_page(m, pfn) ||
	    folio_order(folio) != HPAGE_PMD_ORDER || !folio_test_anon(folio)) {
		FAIL(st, INV_NO_STALE, "mm %d: pmd leaf at %#llx maps pfn %lu, not the head of a PMD-sized anon folio",
		     mm->tgid, (unsigned long long)addr, pfn);
		return true;
	}
	for (unsigned i = 0; i < HPAGE_PMD_NR; i++)
		note_map(st, mm, addr, pfn + i);
	*rss += HPAGE_PMD_NR;
	if (pmd_write(pmd) && (!PageAnonExclusive(&folio->page) || folio_mapcount(folio) != 1))
		FAIL(st, INV_RIGHTS, "mm %d: writable pmd at %#llx maps a THP that is %s (mapcount %d)", mm->tgid,
		     (unsigned long long)addr, PageAnonExclusive(&folio->page) ? "exclusive" : "not exclusive",
		     folio_mapcount(folio));
	if (folio_maybe_dma_pinned(folio) && (!PageAnonExclusive(&folio->page) || folio_mapcount(folio) != 1))
		FAIL(st, INV_PINS, "mm %d: THP at %#llx may be pinned but is shared (mapcount %d)", mm->tgid,
		     (unsigned long long)addr, folio_mapcount(folio));
	if (folio->index != linear_page_index(vma, addr))
		FAIL(st, INV_RMAP, "mm %d: THP at %#llx has index %#lx, VMA says %#lx", mm->tgid,
		     (unsigned long long)addr, folio->index, linear_page_index(vma, addr));
	av = folio_anon_vma(folio);
	if (!av || !pgoff_in_anon_vma_chain(vma, av))
		FAIL(st, INV_RMAP, "mm %d: THP at %#llx: its anon_vma is not chained to the VMA", mm->tgid,
		     (unsigned long long)addr);
	return true;
}

/* Each pmd leaf of a pmd table has one pte table deposited beside it, for its split. */
static void check_deposited_tables(struct check_state *st, struct mm_struct *mm, pmd_t *pmd, int leaves)
{
	struct ptdesc *pt = virt_to_ptdesc(st->m, pmd)->pmd_huge_pte;
	int n = 0;

	for (; pt && n <= leaves; pt = pt->pmd_huge_pte, n++)
		note_table(st, mm, page_to_pfn(st->m, pt), "deposited pte");
	if (n != leaves)
		FAIL(st, INV_TABLES, "mm %d: a pmd table with %d leaves has %s%d deposited pte tables", mm->tgid, leaves,
		     n > leaves ? "more than " : "", n);
}

/*
 * The entries [*first, *last) of the table whose entry i maps base + (i <<
 * shift) that meet the range: all of them in the full check.
 */
static void table_span(const struct check_state *st, uint64_t base, int shift, int *first, int *last)
{
	uint64_t size = (uint64_t)PTRS_PER_TABLE << shift;

	*first = 0;
	*last = PTRS_PER_TABLE;
	if (!st->ranged)
		return;
	if (st->hi <= base || st->lo >= base + size) {
		*last = 0;
		return;
	}
	if (st->lo > base)
		*first = (int)((st->lo - base) >> shift);
	if (st->hi - base < size)
		*last = (int)((st->hi - 1 - base) >> shift) + 1;
}

/*
 * The first entry of a table in [i, last) that is not none (0 at every
 * level), or last.  Most entries of a whole mm's tables are none, and
 * loading each with its scheduling point (ptep_get, pmdp_get, ...) cost
 * the walk more than checking the others: the machine is stopped, so runs
 * of them are read eight at a time.  Under a deterministic run every
 * entry is loaded at its scheduling point as before, and the run's trace
 * does not change.
 */
static int skip_none(const uint64_t *table, int i, int last)
{
	if (READ_ONCE(mml_sched_on))
		return i;
	for (; i + 8 <= last; i += 8) {
		const uint64_t *e = &table[i];

		if (READ_ONCE(e[0]) | READ_ONCE(e[1]) | READ_ONCE(e[2]) | READ_ONCE(e[3]) | READ_ONCE(e[4]) |
		    READ_ONCE(e[5]) | READ_ONCE(e[6]) | READ_ONCE(e[7]))
			break;
	}
	while (i < last && !READ_ONCE(table[i]))
		i++;
	return i;
}

static void check_pte_table(struct check_state *st, struct mm_struct *mm, pmd_t pmd, uint64_t base, long *rss,
			    long *swap)
{
	pte_t *pte = pte_table_of(st->m, pmd);
	int first, last;

	note_table(st, mm, pmd_pfn(pmd), "pte");
	table_span(st, base, PAGE_SHIFT, &first, &last);
	for (int i = first; (i = skip_none(&pte->pte, i, last)) < last; i++) {
		pte_t e = ptep_get(&pte[i]);

		if (!pte_none(e))
			check_pte(st, mm, base + ((uint64_t)i << PAGE_SHIFT), e, rss, swap);
	}
}

/*
 * Every table of mm, by hand rather than with walk_page_range(): the
 * checker must not trust the walker it checks, and it looks at entries no
 * walk visits (outside VMAs, beyond TASK_SIZE, leaves the walker reports).
 */
/*
 * locked_vm counts the pages of the locked VMAs -- at least: an
 * MREMAP_DONTUNMAP of locked memory unlocks the old VMA and leaves its
 * pages counted, as Linux 6.18 does.
 */
/*
 * A VMA is registered (VM_UFFD_* set) exactly when it points to a
 * userfaultfd, which is one of its own mm and not released (release
 * unregisters under mmap_lock for write; exit_mmap takes the VMAs).
 */
static void check_uffd_vmas(struct check_state *st, struct mm_struct *mm)
{
	struct vm_area_struct *vma;
	unsigned long i;

	if (!atomic_read(&mm->mm_users))
		return;
	check_for_each_vma_in_range(st, mm, i, vma) {
		struct userfaultfd_ctx *ctx = vma->vm_userfaultfd_ctx;

		if (!!ctx != !!(vma->vm_flags & __VM_UFFD_FLAGS) ||
		    (ctx && (READ_ONCE(ctx->released) || READ_ONCE(ctx->mm) != mm)))
			FAIL(st, INV_UFFD, "mm %d: VMA %#lx-%#lx: flags %#lx with userfaultfd %s", mm->tgid,
			     (unsigned long)vma->vm_start, (unsigned long)vma->vm_end, (unsigned long)vma->vm_flags,
			     !ctx ? "none" : READ_ONCE(ctx->released) ? "released" : "of another mm");
	}
}

static void check_locked_vm(struct check_state *st, struct mm_struct *mm)
{
	unsigned long locked = 0;
	struct vm_area_struct *vma;
	unsigned long i;

	/* The incremental check: the locked VMAs of the range alone must fit (the sum of all is the full check's). */
	check_for_each_vma_in_range(st, mm, i, vma) {
		if (vma->vm_flags & VM_LOCKED)
			locked += vma_pages(vma);
	}
	if (mm->locked_vm < locked)
		FAIL(st, INV_MLOCK, "mm %d: locked_vm is %lu, its locked VMAs have %lu pages%s", mm->tgid,
		     mm->locked_vm, locked, st->ranged ? " in the range checked" : "");
}

/*
 * What mm stands for in the commit: its VM_ACCOUNT VMAs, whole.  Linux
 * gives VM_ACCOUNT only to private memory that MAP_NORESERVE did not
 * exempt (accountable_mapping, mprotect_fixup).
 */
static void note_mm_commit(struct check_state *st, struct mm_struct *mm)
{
	struct vm_area_struct *vma;
	unsigned long i;

	check_for_each_vma(mm, i, vma) {
		if (!(vma->vm_flags & VM_ACCOUNT))
			continue;
		st->committed += (long)vma_pages(vma);
		if (vma->vm_flags & (VM_SHARED | VM_NORESERVE))
			FAIL(st, INV_COMMIT, "mm %d: VMA %#lx-%#lx is VM_ACCOUNT and %s", mm->tgid,
			     (unsigned long)vma->vm_start, (unsigned long)vma->vm_end,
			     (vma->vm_flags & VM_SHARED) ? "shared" : "VM_NORESERVE");
	}
}

static void check_mm_tables(struct check_state *st, struct mm_struct *mm)
{
	struct mml_machine *m = st->m;
	long rss = 0, swap = 0;

	st->file_rss = st->shmem_rss = 0;
	st->first_vma = st->ranged ? vma_index_after(mm, st->lo) : 0;
	if (st->first_vma < mm->map_count) {
		st->vma = mm->vmas[st->first_vma];
		st->vma_idx = st->first_vma;
	}
	note_table(st, mm, page_to_pfn(m, virt_to_ptdesc(m, mm->pgd)), "pgd");
	int g0, g1, u0, u1, d0, d1;

	table_span(st, 0, PGDIR_SHIFT, &g0, &g1);
	for (int g = g0; (g = skip_none(&mm->pgd->pgd, g, g1)) < g1; g++) {
		pgd_t pgd = pgdp_get(&mm->pgd[g]);
		pud_t *pud;

		if (pgd_none(pgd))
			continue;
		if ((uint64_t)g << PGDIR_SHIFT >= TASK_SIZE || !pgd_table(pgd)) {
			FAIL(st, INV_TABLES, "mm %d: bad pgd entry %d: %#llx", mm->tgid, g, (unsigned long long)pgd_val(pgd));
			continue;
		}
		note_table(st, mm, pgd_pfn(pgd), "pud");
		pud = pud_table_of(m, pgd);
		table_span(st, (uint64_t)g << PGDIR_SHIFT, PUD_SHIFT, &u0, &u1);
		for (int u = u0; (u = skip_none(&pud->pud, u, u1)) < u1; u++) {
			pud_t pu = pudp_get(&pud[u]);
			pmd_t *pmd;
			int leaves;

			if (pud_none(pu))
				continue;
			if (!pud_table(pu)) {
				FAIL(st, INV_TABLES, "mm %d: bad pud entry: %#llx", mm->tgid, (unsigned long long)pud_val(pu));
				continue;
			}
			note_table(st, mm, pud_pfn(pu), "pmd");
			pmd = pmd_table_of(m, pu);
			leaves = 0;
			table_span(st, ((uint64_t)g << PGDIR_SHIFT) | ((uint64_t)u << PUD_SHIFT), PMD_SHIFT, &d0, &d1);
			for (int d = d0; (d = skip_none(&pmd->pmd, d, d1)) < d1; d++) {
				pmd_t pm = pmdp_get(&pmd[d]);
				uint64_t base = ((uint64_t)g << PGDIR_SHIFT) | ((uint64_t)u << PUD_SHIFT) |
						((uint64_t)d << PMD_SHIFT);

				if (pmd_none(pm))
					continue;
				if (pmd_trans_huge(pm)) {
					leaves += check_pmd_leaf(st, mm, base, pm, &rss);
					continue;
				}
				if (!pmd_table(pm)) {
					FAIL(st, INV_TABLES, "mm %d: bad pmd entry at %#llx: %#llx", mm->tgid,
					     (unsigned long long)base, (unsigned long long)pmd_val(pm));
					continue;
				}
				check_pte_table(st, mm, pm, base, &rss, &swap);
			}
			/* A part of the table counts only part of its leaves. */
			if (!st->ranged)
				check_deposited_tables(st, mm, pmd, leaves);
		}
	}
	check_locked_vm(st, mm);
	check_uffd_vmas(st, mm);
	if (st->ranged)
		return;		/* the counters sum over every table */
	if (rss != get_mm_counter(mm, MM_ANONPAGES))
		FAIL(st, INV_COUNTERS, "mm %d: MM_ANONPAGES is %ld, the page tables map %ld anon pages", mm->tgid,
		     get_mm_counter(mm, MM_ANONPAGES), rss);
	if (st->file_rss != get_mm_counter(mm, MM_FILEPAGES) || st->shmem_rss != get_mm_counter(mm, MM_SHMEMPAGES))
		FAIL(st, INV_COUNTERS, "mm %d: MM_FILEPAGES/MM_SHMEMPAGES are %ld/%ld, the page tables map %ld/%ld",
		     mm->tgid, get_mm_counter(mm, MM_FILEPAGES), get_mm_counter(mm, MM_SHMEMPAGES), st->file_rss,
		     st->shmem_rss);
	if (swap != get_mm_counter(mm, MM_SWAPENTS))
		FAIL(st, INV_SWAP, "mm %d: MM_SWAPENTS is %ld, the page tables hold %ld swap entries", mm->tgid,
		     get_mm_counter(mm, MM_SWAPENTS), swap);
}

/* One TLB entry of t against mm's page table (invariant 4). */
static void check_tlb_entry(struct check_state *st, struct mm_struct *mm, struct mml_task *t, struct tlb_entry *e)
{
	uint64_t addr = e->vpn << PAGE_SHIFT;
	pte_t pte;

	if (e->vpn == TLB_INVALID_VPN)
		return;
	pte = mm_pte_lockless(mm, addr);
	if (!pte_hw_valid(pte) || pte_pfn(pte) != pte_pfn(__pte(e->pte)))
		FAIL(st, INV_NO_STALE, "task %d: TLB maps %#llx to pfn %lu, the page table %s", t->tid,
		     (unsigned long long)addr, pte_pfn(__pte(e->pte)),
		     pte_hw_valid(pte) ? "maps another frame" : "maps nothing");
	else if (pte_write(__pte(e->pte)) && !pte_write(pte))
		FAIL(st, INV_NO_STALE, "task %d: TLB may write %#llx, the pte is read-only (missing flush)",
		     t->tid, (unsigned long long)addr);
	else if (pte_dirty(__pte(e->pte)) && !pte_dirty(pte))
		FAIL(st, INV_NO_STALE, "task %d: TLB holds %#llx dirty, the pte is clean: a write would not "
		     "dirty it again (missing flush)", t->tid, (unsigned long long)addr);
	else if (e->gen != READ_ONCE(pfn_to_page(st->m, pte_pfn(pte))->alloc_gen))
		FAIL(st, INV_NO_STALE, "task %d: TLB entry for %#llx predates the frame's reuse", t->tid,
		     (unsigned long long)addr);
}

/*
 * The TLBs of mm's tasks.  Only an operation's own range can have left a
 * stale entry: the incremental check looks at the slots its pages map to
 * (the TLB is direct-mapped by page number), the entries of other pages
 * there skipped.
 */
static void check_tlbs(struct check_state *st, struct mm_struct *mm)
{
	uint64_t first = st->lo >> PAGE_SHIFT, last = (st->hi - 1) >> PAGE_SHIFT;
	bool few = st->ranged && last - first < TLB_ENTRIES;
	struct mml_task *t;

	list_for_each_entry(t, &mm->tasks, mm_node) {
		if (!few) {
			for (int i = 0; i < TLB_ENTRIES; i++)
				if (!st->ranged || (t->tlb.e[i].vpn >= first && t->tlb.e[i].vpn <= last))
					check_tlb_entry(st, mm, t, &t->tlb.e[i]);
			continue;
		}
		for (uint64_t vpn = first; vpn <= last; vpn++) {
			struct tlb_entry *e = &t->tlb.e[vpn & (TLB_ENTRIES - 1)];

			if (e->vpn == vpn)
				check_tlb_entry(st, mm, t, e);
		}
	}
}

/* A device's translation at rest (invariant 4), by the rule its accesses follow. */
static void check_device_translation(void *arg, const struct device_translation *t)
{
	struct check_state *st = arg;
	const char *why;
	pte_t pte;

	if (st->ranged && ((st->mm && t->mm != st->mm) || t->addr < st->lo || t->addr >= st->hi))
		return;

	why = device_translation_stale(st->m, t, &pte);
	if (why)
		FAIL(st, INV_NO_STALE, "device %d maps %#llx to frame %lu, %s (pte %#llx): a missed invalidation",
		     t->id, (unsigned long long)t->addr, t->pfn, why, (unsigned long long)pte_val(pte));
}

/*
 * The deferred split queue (Y) holds large anon folios of order >= 2 in
 * use, once each, as many as its length says; every one partly unmapped
 * (some pages mapped, others not, no pmd) is on it, marked.  The huge zero
 * folio stays zero.
 */
static void check_split_queue(struct check_state *st)
{
	static const char zeros[PAGE_SIZE];
	struct mml_machine *m = st->m;
	struct folio *folio, *zero = m->huge_zero_folio;
	unsigned long n = 0;

	list_for_each_entry(folio, &m->split_queue.split_queue, _deferred_list) {
		if (++n > m->split_queue.split_queue_len)
			break;
		if (folio_order(folio) < 2 || !folio_test_anon(folio) || frame_is_free(&folio->page))
			FAIL(st, INV_OBJECTS, "pfn %lu on the deferred split queue is not a large anon folio in use",
			     folio_pfn(m, folio));
	}
	if (n != m->split_queue.split_queue_len)
		FAIL(st, INV_OBJECTS, "the deferred split queue holds %lu folios, its length says %lu", n,
		     m->split_queue.split_queue_len);
	if (zero)
		for (long i = 0; i < HPAGE_PMD_NR; i++)
			if (memcmp(page_address(m, folio_page(zero, i)), zeros, PAGE_SIZE)) {
				FAIL(st, INV_NO_STALE, "the huge zero folio's page %ld was written", i);
				break;
			}
}

/* A large anon folio partly unmapped waits on the deferred split queue, marked so. */
static void check_large_anon_folio(struct check_state *st, struct folio *folio)
{
	long mapped;

	if (folio_order(folio) < 2 || !folio_test_anon(folio) || folio_entire_mapcount(folio) || !folio_mapped(folio))
		return;
	mapped = atomic_read(&folio->_nr_pages_mapped) & FOLIO_PAGES_MAPPED;
	if (mapped < folio_nr_pages(folio) &&
	    (list_empty(&folio->_deferred_list) || !test_bit(PG_partially_mapped, &folio->_flags_1)))
		FAIL(st, INV_OBJECTS, "pfn %lu: large folio with %ld of %ld pages mapped is not queued for its split",
		     folio_pfn(st->m, folio), mapped, folio_nr_pages(folio));
}

/*
 * A CPU's list of free pages: as many as it counts, each a free order-0
 * page of the zone (no reference, not in the buddy lists); its high within
 * its bounds (the count may exceed a high just lowered).  The pages.
 */
static long check_pcp(struct check_state *st, struct zone *z, int cpu)
{
	struct per_cpu_pages *pcp = &z->pcp[cpu];
	unsigned long end = z->zone_start_pfn + z->spanned_pages;
	struct page *p;
	long n = 0;

	list_for_each_entry(p, &pcp->list, lru) {
		unsigned long pfn = page_to_pfn(st->m, p);

		if (pfn < z->zone_start_pfn || pfn >= end || PageBuddy(p) || atomic_read(&p->_refcount))
			FAIL(st, INV_COUNTERS, "node %d, cpu %d: pfn %lu on the CPU's page list is %s", z->node, cpu,
			     pfn, pfn < z->zone_start_pfn || pfn >= end ? "outside the zone" :
			     PageBuddy(p) ? "in the buddy lists too" : "in use");
		if (++n > pcp->count)
			break;
	}
	if (n != pcp->count)
		FAIL(st, INV_COUNTERS, "node %d, cpu %d: the CPU's page list counts %d pages, it holds %s%ld", z->node,
		     cpu, pcp->count, n > pcp->count ? "more than " : "", n);
	if (pcp->high < pcp->high_min || pcp->high > pcp->high_max)
		FAIL(st, INV_COUNTERS, "node %d, cpu %d: the CPU's page list has high %d outside [%d, %d]", z->node,
		     cpu, pcp->high, pcp->high_min, pcp->high_max);
	return n;
}

/*
 * The CPUs' lru_add batches: a folio waiting in one is a small folio in
 * use (the batch holds a reference) and off the LRU; a full batch would
 * have gone to the lists.
 */
static void check_lru_batches(struct check_state *st)
{
	for (int cpu = 0; cpu < NR_CPU_SLOTS; cpu++) {
		struct cpu_fbatches *fbs = &st->m->cpu_fbatches[cpu];

		spin_lock(&fbs->lock);
		if (fbs->lru_add.nr >= FOLIO_BATCH_SIZE)
			FAIL(st, INV_OBJECTS, "cpu %d: the lru_add batch holds %u folios: a full one goes to the lists",
			     cpu, fbs->lru_add.nr);
		for (unsigned int i = 0; i < fbs->lru_add.nr && i < FOLIO_BATCH_SIZE; i++) {
			struct folio *folio = fbs->lru_add.folios[i];
			const char *what = folio_ref_count(folio) < 1 ? "free" : folio_test_lru(folio) ? "on the LRU" :
					   folio_test_large(folio) ? "large" : NULL;

			if (what)
				FAIL(st, INV_OBJECTS, "cpu %d: pfn %lu in the lru_add batch is %s", cpu,
				     folio_pfn(st->m, folio), what);
		}
		spin_unlock(&fbs->lock);
	}
}

/*
 * The nodes: each zone's free count is what its buddy lists hold, and no
 * free block strays outside its zone; the CPUs' page lists are sound.
 * The pages on those lists go to st->pcp_pages.
 */
static void check_nodes(struct check_state *st)
{
	struct mml_machine *m = st->m;

	for (int nid = 0; nid < m->nr_nodes; nid++) {
		struct zone *z = &NODE_DATA(m, nid)->node_zones[0];
		unsigned long listed = 0, end = z->zone_start_pfn + z->spanned_pages;

		for (unsigned o = 0; o < NR_PAGE_ORDERS; o++) {
			struct page *p;

			list_for_each_entry(p, &z->free_area[o].free_list, lru) {
				unsigned long pfn = page_to_pfn(m, p);

				listed += 1UL << o;
				if (pfn < z->zone_start_pfn || pfn + (1UL << o) > end)
					FAIL(st, INV_COUNTERS, "node %d: a free block of order %u at pfn %lu lies outside "
					     "its zone [%lu, %lu)", nid, o, pfn, z->zone_start_pfn, end);
			}
		}
		if ((long)listed != atomic_long_read(&z->free_pages))
			FAIL(st, INV_COUNTERS, "node %d: the zone counts %ld free pages, its buddy lists hold %lu", nid,
			     atomic_long_read(&z->free_pages), listed);
		for (int cpu = 0; cpu < NR_CPU_SLOTS; cpu++)
			st->pcp_pages += check_pcp(st, z, cpu);
	}
}

static void check_frames(struct check_state *st)
{
	struct mml_machine *m = st->m;
	unsigned long free_pages = 0, unreached_tables = 0;
	long anon_mapped = 0, anon_thps = 0, mlocked = 0, unevictable = 0, file_pmdmapped[2] = { 0, 0 };

	for (unsigned long pfn = 0; pfn < m->nr_frames + m->nr_pmem_frames;) {
		struct page *p = pfn_to_page(m, pfn);
		struct folio *folio;

		/*
		 * fs-DAX folios (ZONE_DEVICE): free at refcount 0, yet still the
		 * file's until the file system lets the block go; never anon.
		 */
		if (is_zone_device_page(m, p) && !(p->compound_head & 1) &&
		    (PageBuddy(p) || PageTable(p) || folio_test_anon((struct folio *)p) ||
		     (p->mapping && !folio_test_dax_shared((struct folio *)p) &&
		      !((struct address_space *)p->mapping)->host->i_sb->s_dax)))
			FAIL(st, INV_OBJECTS, "pfn %lu: an fs-DAX page that is %s", pfn, PageBuddy(p) ? "in the buddy lists" :
			     PageTable(p) ? "a page table" : folio_test_anon((struct folio *)p) ? "anonymous" :
			     "owned by a file without DAX");
		if (PageBuddy(p)) {
			free_pages += 1UL << p->order;
			pfn += 1UL << p->order;
			continue;
		}
		if (p->compound_head & 1) {	/* tails are checked with their head */
			pfn++;
			continue;
		}
		folio = (struct folio *)p;
		/*
		 * An fs-DAX folio has no cache, LRU or in-flight I/O reference
		 * outside a fault: its refcount is its mappings (a pte or a pmd
		 * each) and what pins and GUP references hold, 0 when free.
		 */
		if (is_zone_device_page(m, p) && !PageReserved(p) &&
		    folio_ref_count(folio) != folio_mapcount(folio) + st->pin_refs[pfn])
			FAIL(st, INV_MAPCOUNT, "pfn %lu: fs-DAX folio with refcount %d, but %d mappings and %d pin "
			     "references", pfn, folio_ref_count(folio), folio_mapcount(folio), st->pin_refs[pfn]);
		if (folio_ref_count(folio) == 0) {
			if (st->maps[pfn])
				FAIL(st, INV_MAPCOUNT, "pfn %lu: free but mapped %d times", pfn, st->maps[pfn]);
			pfn++;
			continue;
		}
		if (PageTable(p)) {
			if (!st->table[pfn])
				unreached_tables++;
		} else if (!PageReserved(p)) {
			/* Each page's count against the ptes found; a large folio's sum in folio_is_valid. */
			for (long i = 0; i < folio_nr_pages(folio); i++) {
				int maps = folio_precise_page_mapcount(folio, folio_page(folio, i));

				if (maps != st->maps[pfn + i])
					FAIL(st, INV_MAPCOUNT, "pfn %lu: mapcount %d but %d ptes map it", pfn + i, maps,
					     st->maps[pfn + i]);
				/* nr_anon_pages counts pages mapped at all. */
				if (folio_test_anon(folio) && maps > 0)
					anon_mapped++;
			}
			/*
			 * sanity_check_pinned_pages() for pages no pte maps (check_pte
			 * has the mapped ones): unmapped by munmap or exit, a pinned
			 * page stays exclusive; unmapped by reclaim, it was not.
			 */
			if (folio_test_anon(folio) && !folio_test_large(folio) && !folio_mapped(folio) &&
			    folio_maybe_dma_pinned(folio) && !PageAnonExclusive(&folio->page))
				FAIL(st, INV_PINS, "pfn %lu: unmapped anon page may be pinned but is not exclusive%s: "
				     "the pin and the process can drift apart", pfn,
				     folio_test_swapcache(folio) ? " (in the swap cache)" : "");
			check_folio(st, pfn, folio);
			if (folio_test_anon(folio) && folio_entire_mapcount(folio))
				anon_thps++;
			else if (folio_entire_mapcount(folio))
				file_pmdmapped[folio_test_swapbacked(folio)]++;
			if (folio_test_mlocked(folio))
				mlocked += folio_nr_pages(folio);
			if (folio_test_lru(folio) && folio_test_unevictable(folio))
				unevictable += folio_nr_pages(folio);
			check_large_anon_folio(st, folio);
		}
		pfn += 1UL << folio->order;
	}
	check_nodes(st);
	check_lru_batches(st);
	if ((long)free_pages + st->pcp_pages != global_vm_stat(m, NR_FREE_PAGES))
		FAIL(st, INV_COUNTERS, "nr_free_pages is %ld, the buddy lists hold %lu and the CPUs' lists %ld",
		     global_vm_stat(m, NR_FREE_PAGES), free_pages, st->pcp_pages);
	if (anon_thps != global_vm_stat(m, NR_ANON_THPS))
		FAIL(st, INV_COUNTERS, "nr_anon_transparent_hugepages is %ld, %ld anon THPs are PMD-mapped",
		     global_vm_stat(m, NR_ANON_THPS), anon_thps);
	if (file_pmdmapped[0] != global_vm_stat(m, NR_FILE_PMDMAPPED) ||
	    file_pmdmapped[1] != global_vm_stat(m, NR_SHMEM_PMDMAPPED))
		FAIL(st, INV_COUNTERS, "nr_file_pmdmapped/nr_shmem_pmdmapped are %ld/%ld, %ld/%ld such THPs are "
		     "PMD-mapped", global_vm_stat(m, NR_FILE_PMDMAPPED), global_vm_stat(m, NR_SHMEM_PMDMAPPED),
		     file_pmdmapped[0], file_pmdmapped[1]);
	if (mlocked != global_vm_stat(m, NR_MLOCK) || unevictable != global_vm_stat(m, NR_UNEVICTABLE))
		FAIL(st, INV_COUNTERS, "nr_mlock/nr_unevictable are %ld/%ld, %ld pages are mlocked, %ld unevictable",
		     global_vm_stat(m, NR_MLOCK), global_vm_stat(m, NR_UNEVICTABLE), mlocked, unevictable);
	if (anon_mapped != global_vm_stat(m, NR_ANON_MAPPED))
		FAIL(st, INV_COUNTERS, "nr_anon_pages is %ld, %ld anon pages are mapped", global_vm_stat(m, NR_ANON_MAPPED),
		     anon_mapped);
	if ((long)unreached_tables > atomic_long_read(&m->pgtables_pending_free))
		FAIL(st, INV_TABLES, "%lu page tables are unreachable but only %ld wait for a grace period",
		     unreached_tables, atomic_long_read(&m->pgtables_pending_free));
	if (global_vm_stat(m, NR_FOLL_PIN_ACQUIRED) - global_vm_stat(m, NR_FOLL_PIN_RELEASED) != nr_pinned_pages(m))
		FAIL(st, INV_PINS, "nr_foll_pin_acquired - nr_foll_pin_released is %ld, %ld pages are pinned",
		     global_vm_stat(m, NR_FOLL_PIN_ACQUIRED) - global_vm_stat(m, NR_FOLL_PIN_RELEASED),
		     nr_pinned_pages(m));
	if (st->tables + (long)unreached_tables != global_vm_stat(m, NR_PAGETABLE))
		FAIL(st, INV_COUNTERS, "nr_page_table_pages is %ld, found %ld reachable and %lu pending",
		     global_vm_stat(m, NR_PAGETABLE), st->tables, unreached_tables);
}

/*
 * The anon_vmas the check meets, in an open-addressing table (size a
 * power of two, at least twice the chains counted): its slot of av, or
 * the empty slot where av would go.  A sort of every chain's anon_vma and
 * a binary search for each look-up cost more than the rest of the full
 * check's anon_vma part.
 */
static unsigned long av_slot(struct anon_vma **tab, unsigned long mask, const struct anon_vma *av)
{
	unsigned long i = (unsigned long)(((uintptr_t)av >> 4) * 0x9e3779b97f4a7c15ULL >> 32) & mask;

	while (tab[i] && tab[i] != av)
		i = (i + 1) & mask;
	return i;
}

/* Invariant 11: recount what anon_vma_fork and unlink_anon_vmas keep. Under tasks_lock. */
static void check_anon_vmas(struct check_state *st)
{
	struct anon_vma **tab = NULL;
	unsigned long *active = NULL, *children = NULL, size = 64, chains = 0, mask, k;
	struct anon_vma_chain *avc;
	struct mm_struct *mm;

	list_for_each_entry(mm, &st->m->mms, mm_node)
		for (unsigned long i = 0; i < mm->map_count; i++)
			list_for_each_entry(avc, &mm->vmas[i]->anon_vma_chain, same_vma)
				chains++;
	if (!chains)
		return;
	while (size < 2 * chains)
		size *= 2;
	mask = size - 1;
	tab = calloc(size, sizeof(*tab));
	active = calloc(size, sizeof(*active));
	children = calloc(size, sizeof(*children));
	if (!tab || !active || !children)
		goto out;
	list_for_each_entry(mm, &st->m->mms, mm_node)
		for (unsigned long i = 0; i < mm->map_count; i++)
			list_for_each_entry(avc, &mm->vmas[i]->anon_vma_chain, same_vma)
				tab[av_slot(tab, mask, avc->anon_vma)] = avc->anon_vma;
	list_for_each_entry(mm, &st->m->mms, mm_node)
		for (unsigned long i = 0; i < mm->map_count; i++) {
			struct anon_vma *av = mm->vmas[i]->anon_vma;

			if (!av)
				continue;
			k = av_slot(tab, mask, av);
			if (!tab[k])
				FAIL(st, INV_ANON_VMA, "mm %d: VMA %#llx: its anon_vma %p is not on its chain", mm->tgid,
				     (unsigned long long)mm->vmas[i]->vm_start, (void *)av);
			else
				active[k]++;
		}
	for (unsigned long i = 0; i < size; i++) {
		if (!tab[i])
			continue;
		k = av_slot(tab, mask, tab[i]->parent);
		if (!tab[k])
			FAIL(st, INV_ANON_VMA, "anon_vma %p: its parent %p is chained to no VMA", (void *)tab[i],
			     (void *)tab[i]->parent);
		else
			children[k]++;
	}
	for (unsigned long i = 0; i < size; i++) {
		if (!tab[i])
			continue;
		if (tab[i]->num_active_vmas != active[i])
			FAIL(st, INV_ANON_VMA, "anon_vma %p: num_active_vmas is %lu, %lu VMAs name it", (void *)tab[i],
			     tab[i]->num_active_vmas, active[i]);
		if (tab[i]->num_children != children[i])
			FAIL(st, INV_ANON_VMA, "anon_vma %p: num_children is %lu, %lu chained anon_vmas have it as parent",
			     (void *)tab[i], tab[i]->num_children, children[i]);
	}
out:
	free(tab);
	free(active);
	free(children);
}

static void ksm_report(void *ctx, const char *msg, unsigned long pfn)
{
	struct check_state *st = ctx;

	if (st->out)
		fprintf(st->out, "mmlab: check: invariant %d: %s (pfn %lu)\n", INV_KSM, msg, pfn);
}

int mml_check_locked(struct mml_machine *m)
{
	struct check_state st = { .m = m, .out = m->quiet ? NULL : stderr };
	struct mm_struct *mm;

	/* The pmem device's frames too: ptes and pins reach them (fs-DAX). */
	st.maps = calloc(m->nr_frames + m->nr_pmem_frames, sizeof(*st.maps));
	st.table = calloc(m->nr_frames + m->nr_pmem_frames, 1);
	st.pinned = calloc(m->nr_frames + m->nr_pmem_frames, 1);
	st.pin_refs = calloc(m->nr_frames + m->nr_pmem_frames, sizeof(*st.pin_refs));
	for (int t = 0; t < MAX_SWAPFILES; t++)
		if (m->swap_info[t])
			st.swaps[t] = calloc(m->swap_info[t]->max, sizeof(int));
	if (!st.maps || !st.table || !st.pinned || !st.pin_refs) {
		free(st.pin_refs);
		free(st.maps);
		free(st.table);
		free(st.pinned);
		for (int t = 0; t < MAX_SWAPFILES; t++)
			free(st.swaps[t]);
		return -ENOMEM;
	}
	note_pinned_frames(m, st.pinned, st.pin_refs);
	spin_lock(&m->tasks_lock);
	list_for_each_entry(mm, &m->mms, mm_node) {
		if (!mm_is_valid(mm, st.out))
			st.errors++;
		check_mm_tables(&st, mm);
		check_tlbs(&st, mm);
		note_mm_commit(&st, mm);
	}
	check_anon_vmas(&st);
	spin_unlock(&m->tasks_lock);
	device_for_each_translation(m, check_device_translation, &st);
	check_frames(&st);
	check_split_queue(&st);
	check_files(&st);
	st.errors += ksm_check(m, ksm_report, &st);
	if (st.committed != atomic_long_read(&m->vm_committed_as))
		FAIL(&st, INV_COMMIT, "Committed_AS is %ld pages, the VM_ACCOUNT VMAs and shmem's charges %ld",
		     atomic_long_read(&m->vm_committed_as), st.committed);
	check_swap(&st);
	free(st.maps);
	free(st.table);
	free(st.pinned);
	free(st.pin_refs);
	for (int t = 0; t < MAX_SWAPFILES; t++)
		free(st.swaps[t]);
	if (st.errors)
		atomic_inc(&m->reports);
	return st.errors ? -EUCLEAN : 0;
}

/*
 * The incremental check: what one operation touched, without stopping for
 * the whole machine.  t's mm over [start, end) (t NULL: every mm, whole),
 * each pte and pmd by the rules check_pte and check_pmd_leaf apply, its
 * page's or slot's own counts and folio_is_valid(), the VMAs of the range
 * (invariant 7, uffd), the mm's locked_vm, the TLB entries of its tasks
 * and the devices' translations there.  The totals (frames, slots, tables,
 * anon_vmas, rss and vmstat counters, Committed_AS, KSM, files) are the
 * full check's.  Linux has no such thing: page_table_check checks each
 * entry as it is set, which is what this comes closest to.
 */
int mml_check_range(struct mml_machine *m, struct mml_task *t, uint64_t start, uint64_t end)
{
	struct check_state st = { .m = m, .out = m->quiet ? NULL : stderr, .ranged = true,
				  .lo = t ? start : 0, .hi = t ? end : UINT64_MAX, .mm = t ? t->mm : NULL };
	struct mm_struct *mm;
	int ret;

	percpu_down_write(&m->quiesce);
	spin_lock(&m->tasks_lock);
	list_for_each_entry(mm, &m->mms, mm_node) {
		if (t && mm != t->mm)
			continue;
		if (!mm_range_is_valid(mm, st.lo, st.hi, st.out))
			st.errors++;
		check_mm_tables(&st, mm);
		check_tlbs(&st, mm);
	}
	spin_unlock(&m->tasks_lock);
	device_for_each_translation(m, check_device_translation, &st);
	if (st.errors)
		atomic_inc(&m->reports);
	ret = st.errors || atomic_read(&m->reports) ? -EUCLEAN : 0;
	percpu_up_write(&m->quiesce);
	return ret;
}

int mml_check(struct mml_machine *m)
{
	int ret;

	percpu_down_write(&m->quiesce);
	ret = mml_check_locked(m);
	if (!ret && atomic_read(&m->reports))
		ret = -EUCLEAN;	/* an earlier report (stale TLB use, ...) still stands */
	percpu_up_write(&m->quiesce);
	return ret;
}
