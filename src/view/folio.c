/*
 * folio.c - mml_show_folio: one folio's state as dump_page() and
 * /proc/kpageflags would tell it, whole: flags, reference and map counts
 * (a large folio's entire, large and per-page ones, its pins and mm-id
 * slots), each page's PageAnonExclusive, its swap slot and the LRU list
 * it is on; and view_at(), which finds what maps an address, for this
 * picture and the rmap's.  mmlab has no memory cgroups: there is no
 * memcg to show.
 */
#include <errno.h>
#include <string.h>

#include "mm/pagewalk.h"
#include "mm/swapops.h"
#include "view/view.h"

#define VIEW_MAX_PAGES	32	/* pages of a large folio given a row each */

/* Linux's names for the flags (include/trace/events/mmflags.h), where it has them. */
static const char *const pageflag_names[__NR_PAGEFLAGS] = {
	[PG_locked] = "locked", [PG_referenced] = "referenced", [PG_uptodate] = "uptodate",
	[PG_dirty] = "dirty", [PG_lru] = "lru", [PG_head] = "head", [PG_active] = "active",
	[PG_workingset] = "workingset", [PG_swapcache] = "swapcache", [PG_swapbacked] = "swapbacked",
	[PG_writeback] = "writeback", [PG_reclaim] = "reclaim", [PG_unevictable] = "unevictable",
	[PG_mlocked] = "mlocked", [PG_large_rmappable] = "large_rmappable", [PG_hwpoison] = "hwpoison",
	[PG_mte_tagged] = "arch_2", [PG_mte_lock] = "arch_3", [PG_buddy] = "buddy", [PG_table] = "table",
	[PG_reserved] = "reserved",
};

static int at_pmd_entry(pmd_t *pmd, uint64_t addr, uint64_t next, struct mm_walk *walk)
{
	struct view_at *at = walk->private;
	struct mml_machine *m = walk->mm->machine;
	spinlock_t *ptl;

	if (pmd_table(pmdp_get(pmd)))
		return 0;
	walk->action = ACTION_CONTINUE;
	ptl = pmd_trans_huge_lock(pmd, walk->vma);
	if (!ptl)
		return 0;
	at->found = at->pmd_leaf = true;
	at->pmd = pmdp_get(pmd);
	at->table = page_to_pfn(m, virt_to_ptdesc(m, pmd));
	at->idx = pmd_index(addr);
	at->page = pmd_page(m, at->pmd) + pte_index(addr);
	at->folio = page_folio(at->page);
	folio_get(at->folio);
	spin_unlock(ptl);
	return 0;
}

static int at_pte_entry(pte_t *ptep, uint64_t addr, uint64_t next, struct mm_walk *walk)
{
	struct view_at *at = walk->private;
	struct mml_machine *m = walk->mm->machine;
	pte_t pte = ptep_get(ptep);
	swp_entry_t entry;

	if (pte_none(pte))
		return 0;
	at->found = true;
	at->pte = pte;
	at->table = page_to_pfn(m, virt_to_ptdesc(m, ptep));
	at->idx = pte_index(addr);
	if (pte_present(pte)) {
		at->page = vm_normal_page(walk->vma, addr, pte);
		if (!at->page && is_zero_pfn(m, pte_pfn(pte)))
			at->page = m->zero_page;
		if (at->page) {
			at->folio = page_folio(at->page);
			folio_get(at->folio);
		}
		return 0;
	}
	entry = pte_to_swp_entry(pte);
	if (is_pfn_swap_entry(entry)) {
		/* the entry holds the folio's mapping, not a reference: one may be freed only once it is gone */
		at->page = pfn_to_page(m, swp_offset_pfn(entry));
		at->folio = page_folio(at->page);
		folio_get(at->folio);
	} else if (!non_swap_entry(entry)) {
		at->folio = swap_cache_get_folio(m, entry);
		if (at->folio)
			at->page = folio_file_page(at->folio, swp_offset(entry) - swp_offset(at->folio->swap));
	}
	return 0;
}

static const struct mm_walk_ops at_walk_ops = {
	.pmd_entry = at_pmd_entry,
	.pte_entry = at_pte_entry,
};

int view_at(struct mm_struct *mm, uint64_t addr, struct view_at *at)
{
	memset(at, 0, sizeof(*at));
	at->addr = addr & PAGE_MASK;
	at->vma = addr < TASK_SIZE ? vma_lookup(mm, addr) : NULL;
	if (!at->vma)
		return -EFAULT;
	walk_page_range(mm, at->addr, at->addr + PAGE_SIZE, &at_walk_ops, at);
	return 0;
}

void view_at_done(struct mml_machine *m, struct view_at *at)
{
	if (at->folio)
		folio_put(m, at->folio);
}

void view_at_entry(struct view *v, struct view_at *at, const char *folio_node)
{
	char bits[112], target[32];
	bool present = at->pmd_leaf || pte_present(at->pte);

	if (at->pmd_leaf)
		view_pmd_bits(at->pmd, bits, sizeof(bits));
	else
		view_pte_bits(at->pte, bits, sizeof(bits));
	fprintf(v->f, "\tentry [shape=box, label=<0x%llx: %s [%u] of table pfn %lu<BR/>%s>];\n",
		(unsigned long long)at->addr, at->pmd_leaf ? "pmd" : "pte", at->idx, at->table, bits);
	if (folio_node && at->folio && present) {
		fprintf(v->f, "\tentry -> %s;\n", folio_node);
		return;
	}
	/* a swap slot, a migration or device-exclusive entry, a marker: then the folio behind it, if any */
	if (at->pmd_leaf)
		view_pmd_target(v, at->pmd, target, sizeof(target));
	else
		view_pte_target(v, at->vma, at->addr, at->pte, target, sizeof(target));
	fprintf(v->f, "\tentry -> %s;\n", target);
	if (folio_node && at->folio)
		fprintf(v->f, "\t%s -> %s [style=dashed];\n", target, folio_node);
}

/* Linux's folio_lru_list(): which list a folio on the LRU is on. */
static const char *lru_name(const struct folio *folio)
{
	if (!folio_test_lru(folio))
		return "on no LRU list";
	if (folio_test_unevictable(folio))
		return "unevictable";
	if (folio_test_swapbacked(folio))
		return folio_test_active(folio) ? "active_anon" : "inactive_anon";
	return folio_test_active(folio) ? "active_file" : "inactive_file";
}

static void folio_rows(struct view *v, struct view_at *at, bool locked)
{
	struct mml_machine *m = v->m;
	struct folio *folio = at->folio;
	FILE *f = v->f;
	long nr = folio_nr_pages(folio), excl = 0;

	fprintf(f, "<TR><TD COLSPAN=\"3\">flags:");
	for (int b = 0; b < __NR_PAGEFLAGS; b++)
		if (pageflag_names[b] && test_bit(b, &folio->flags) && !(b == PG_locked && locked))
			fprintf(f, " %s", pageflag_names[b]);
	if (folio_test_large(folio) && test_bit(PG_partially_mapped, &folio->_flags_1))
		fprintf(f, " partially_mapped");
	fprintf(f, "</TD></TR><TR><TD COLSPAN=\"3\">refcount %d, mapcount %d", folio_ref_count(folio) - 1,
		folio_mapcount(folio));
	if (folio_test_large(folio)) {
		fprintf(f, " (entire %d, pages mapped %d), pincount %d</TD></TR>"
			"<TR><TD COLSPAN=\"3\">mm ids %u (%d) and %u (%d)%s",
			folio_entire_mapcount(folio), atomic_read(&folio->_nr_pages_mapped) & FOLIO_PAGES_MAPPED,
			atomic_read(&folio->_pincount), folio_mm_id(folio, 0), folio->_mm_id_mapcount[0] + 1,
			folio_mm_id(folio, 1), folio->_mm_id_mapcount[1] + 1,
			folio_mm_ids_shared(folio) ? ", maybe shared" : "");
	} else {
		fprintf(f, ", %s", folio_maybe_dma_pinned(folio) ? "maybe pinned (refcount holds the pins)" :
			"not pinned");
	}
	fprintf(f, "</TD></TR><TR><TD COLSPAN=\"3\">%s", lru_name(folio));
	if (folio_test_lru(folio) && folio_test_unevictable(folio))
		fprintf(f, ", mlock_count %u", folio->mlock_count);
	if (folio_test_swapcache(folio))
		fprintf(f, "; swap cache: slot %u:%llu, swap count %d", swp_type(folio->swap),
			(unsigned long long)swp_offset(folio->swap), swap_count(m, folio->swap));
	fprintf(f, "</TD></TR><TR><TD><I>page</I></TD><TD><I>pfn</I></TD><TD><I>mapcount, flags</I></TD></TR>");
	for (long i = 0; i < nr; i++) {
		struct page *page = folio_page(folio, i);

		excl += PageAnonExclusive(page);
		if (i >= VIEW_MAX_PAGES && page != at->page)
			continue;
		fprintf(f, "<TR><TD%s>%ld</TD><TD>%lu</TD><TD>%d%s%s</TD></TR>",
			page == at->page ? " BGCOLOR=\"#fff3c4\"" : "", i, page_to_pfn(m, page),
			atomic_read(&page->_mapcount) + 1, PageAnonExclusive(page) ? " AnonExclusive" : "",
			test_bit(PG_mte_tagged, &page->flags) ? " arch_2" : "");
	}
	if (nr > VIEW_MAX_PAGES)
		fprintf(f, "<TR><TD COLSPAN=\"3\">%ld more pages not drawn; %ld of %ld AnonExclusive</TD></TR>",
			nr - VIEW_MAX_PAGES - (at->page - &folio->page >= VIEW_MAX_PAGES), excl, nr);
}

/*
 * The folio's node "folio": its full state (full) or a summary (the
 * rmap's).  Read under the folio lock, so that flags and counts are one
 * moment's, when it can be had: a migration held between its unmap and
 * its move keeps its folio locked across statements.  The counts shown
 * leave out the view's own reference (view_at's).
 */
void view_folio_node(struct view *v, struct view_at *at, bool full)
{
	struct mml_machine *m = v->m;
	struct folio *folio = at->folio;
	bool locked = folio_trylock(folio);
	FILE *f = v->f;

	fprintf(f, "\tfolio [label=<<TABLE BORDER=\"0\" CELLBORDER=\"1\" CELLSPACING=\"0\" BGCOLOR=\"%s\">"
		"<TR><TD COLSPAN=\"3\"><B>folio pfn %lu</B>, order %u (%ld page%s), node %d</TD></TR>"
		"<TR><TD COLSPAN=\"3\">",
		folio_test_ksm(folio) ? "#e6d7f5" : folio_test_anon(folio) ? "#d9f2d9" : "#d7e6f5",
		folio_pfn(m, folio), folio_order(folio), folio_nr_pages(folio), folio_test_large(folio) ? "s" : "",
		folio_nid(m, folio));
	if (&folio->page == m->zero_page)
		fprintf(f, "the shared zero page");
	else if (is_huge_zero_folio(m, folio))
		fprintf(f, "the huge zero folio");
	else if (folio_test_ksm(folio))
		fprintf(f, "KSM");
	else if (folio_test_anon(folio))
		fprintf(f, "anon, index %#lx", folio->index);
	else if (folio_test_dax_shared(folio))
		fprintf(f, "fs-DAX shared by %lu files", folio->share);
	else if (folio->mapping)
		fprintf(f, "file ino %lu, index %lu", ((struct address_space *)folio->mapping)->host->i_ino,
			folio->index);
	else
		fprintf(f, "no mapping");
	fprintf(f, "</TD></TR>");
	if (full)
		folio_rows(v, at, locked);
	else
		fprintf(f, "<TR><TD COLSPAN=\"3\">refcount %d, mapcount %d</TD></TR>", folio_ref_count(folio) - 1,
			folio_mapcount(folio));
	if (!locked)
		fprintf(f, "<TR><TD COLSPAN=\"3\">locked by another (a held migration?): read unlocked</TD></TR>");
	fprintf(f, "</TABLE>>];\n");
	if (locked)
		folio_unlock(folio);
}

int mml_show_folio(struct mml_task *t, uint64_t addr, enum mml_picture_format fmt, FILE *out)
{
	struct mml_machine *m = t->machine;
	struct mm_struct *mm = t->mm;
	struct view_at at;
	struct view v;
	char title[128];
	int err;

	snprintf(title, sizeof(title), "the folio at 0x%llx of pid %d", (unsigned long long)addr, mm->tgid);
	err = view_begin(&v, m, fmt, title);
	if (err)
		return err;
	op_enter(m, t);
	down_read(&mm->mmap_lock);
	err = view_at(mm, addr, &at);
	if (!err && !at.folio && !(at.found && is_swap_pte(at.pte) && !non_swap_entry(pte_to_swp_entry(at.pte))))
		err = -ENOENT;	/* nothing there, or a marker */
	if (!err && at.folio)
		view_folio_node(&v, &at, true);
	if (!err)
		view_at_entry(&v, &at, at.folio ? "folio" : NULL);
	view_at_done(m, &at);
	up_read(&mm->mmap_lock);
	op_exit(m, 0);
	return view_end(&v, err, fmt, out);
}
