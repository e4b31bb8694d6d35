/*
 * pagetable.c - mml_show_pagetable: the page-table tree of a range of a
 * process, as the walker (walk_page_range) meets it.  A table is a node
 * named after the frame it lives in, with a row per entry that is not
 * none; rows point to the next table, or to what a leaf maps (entry.c).
 * Linux's p4d level is folded, as pgtable.h says: the pgd's entries point
 * to pud tables.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mm/pagewalk.h"
#include "view/view.h"

enum { LVL_PGD, LVL_PUD, LVL_PMD, LVL_PTE };

static const char *const level_name[] = { "pgd (p4d folded)", "pud", "pmd", "pte" };
static const char *const level_color[] = { "#c9d8f0", "#cfe8e0", "#e8e0cf", "#f0d9c9" };

struct pt_row {
	unsigned long table;	/* the frame of the table holding the entry */
	unsigned idx;
	uint64_t addr;		/* the first address the entry maps */
	char bits[112];
	char target[32];	/* the node it points to */
};

struct pt_table {
	unsigned long pfn;
	int level;
};

struct pt_walk {
	struct view *v;
	struct pt_row *rows;
	unsigned nrows, rows_cap, leaves;
	struct pt_table tables[VIEW_MAX_ENTRIES];
	unsigned ntables;
	unsigned long elided;	/* leaf entries past VIEW_MAX_ENTRIES */
};

static unsigned long table_pfn(struct mml_machine *m, const void *entry)
{
	return page_to_pfn(m, virt_to_ptdesc(m, entry));
}

/*
 * A row of the table holding entry, once: upper entries are met again
 * for each VMA under them.  NULL when it is there already, or when the
 * picture is full (then counted as elided).
 */
static struct pt_row *add_row(struct pt_walk *w, const void *entry, int level, unsigned idx, uint64_t addr)
{
	struct mml_machine *m = w->v->m;
	unsigned long pfn = table_pfn(m, entry);
	struct pt_row *r;
	bool fresh;

	for (unsigned i = w->nrows; i-- > 0;)
		if (w->rows[i].table == pfn && w->rows[i].idx == idx)
			return NULL;
	if (w->leaves >= VIEW_MAX_ENTRIES) {
		w->elided++;
		return NULL;
	}
	view_key(w->v, VK_TABLE, pfn, &fresh);
	if (fresh) {
		if (w->ntables == VIEW_MAX_ENTRIES) {
			w->elided++;
			return NULL;
		}
		w->tables[w->ntables++] = (struct pt_table){ pfn, level };
	}
	if (w->nrows == w->rows_cap) {
		unsigned cap = w->rows_cap ? 2 * w->rows_cap : 64;
		struct pt_row *n = realloc(w->rows, cap * sizeof(*n));

		if (!n) {
			w->v->nomem = true;
			return NULL;
		}
		w->rows = n;
		w->rows_cap = cap;
	}
	r = &w->rows[w->nrows++];
	memset(r, 0, sizeof(*r));
	r->table = pfn;
	r->idx = idx;
	r->addr = addr;
	return r;
}

static int pt_pgd_entry(pgd_t *pgd, uint64_t addr, uint64_t next, struct mm_walk *walk)
{
	struct pt_walk *w = walk->private;
	struct pt_row *r = add_row(w, pgd, LVL_PGD, pgd_index(addr), addr & PGDIR_MASK);

	if (r)
		snprintf(r->target, sizeof(r->target), "t%lu", pgd_pfn(pgdp_get(pgd)));
	return 0;
}

static int pt_pud_entry(pud_t *pud, uint64_t addr, uint64_t next, struct mm_walk *walk)
{
	struct pt_walk *w = walk->private;
	struct pt_row *r = add_row(w, pud, LVL_PUD, pud_index(addr), addr & PUD_MASK);

	if (r)
		snprintf(r->target, sizeof(r->target), "t%lu", pud_pfn(pudp_get(pud)));
	return 0;
}

/* A table, or a leaf: a THP or the huge zero folio, read under the pmd lock. */
static int pt_pmd_entry(pmd_t *pmd, uint64_t addr, uint64_t next, struct mm_walk *walk)
{
	struct pt_walk *w = walk->private;
	pmd_t pmdval = pmdp_get(pmd);
	struct pt_row *r;
	spinlock_t *ptl;

	if (pmd_table(pmdval)) {
		r = add_row(w, pmd, LVL_PMD, pmd_index(addr), addr & PMD_MASK);
		if (r)
			snprintf(r->target, sizeof(r->target), "t%lu", pmd_pfn(pmdval));
		return 0;
	}
	walk->action = ACTION_CONTINUE;
	ptl = pmd_trans_huge_lock(pmd, walk->vma);
	if (!ptl)
		return 0;
	pmdval = pmdp_get(pmd);
	r = add_row(w, pmd, LVL_PMD, pmd_index(addr), addr & PMD_MASK);
	if (r) {
		view_pmd_bits(pmdval, r->bits, sizeof(r->bits));
		view_pmd_target(w->v, pmdval, r->target, sizeof(r->target));
		w->leaves++;
	}
	spin_unlock(ptl);
	return 0;
}

static int pt_pte_entry(pte_t *ptep, uint64_t addr, uint64_t next, struct mm_walk *walk)
{
	struct pt_walk *w = walk->private;
	pte_t pte = ptep_get(ptep);
	struct pt_row *r;

	if (pte_none(pte))
		return 0;
	r = add_row(w, ptep, LVL_PTE, pte_index(addr), addr);
	if (!r)
		return 0;
	view_pte_bits(pte, r->bits, sizeof(r->bits));
	view_pte_target(w->v, walk->vma, addr, pte, r->target, sizeof(r->target));
	w->leaves++;
	return 0;
}

static const struct mm_walk_ops pt_walk_ops = {
	.pgd_entry = pt_pgd_entry,
	.pud_entry = pt_pud_entry,
	.pmd_entry = pt_pmd_entry,
	.pte_entry = pt_pte_entry,
};

/* Each table's rows in index order (the walk met them in address order), then the edges. */
static void pt_emit(struct pt_walk *w, struct mm_struct *mm)
{
	FILE *f = w->v->f;

	fprintf(f, "\tmm [shape=box, style=filled, fillcolor=\"#eeeeee\", label=<mm of pid %d>];\n", mm->tgid);
	fprintf(f, "\tmm -> t%lu [label=\"pgd\"];\n", table_pfn(w->v->m, mm->pgd));
	for (unsigned t = 0; t < w->ntables; t++) {
		const struct pt_table *tb = &w->tables[t];

		fprintf(f, "\tt%lu [label=<<TABLE BORDER=\"0\" CELLBORDER=\"1\" CELLSPACING=\"0\">"
			"<TR><TD BGCOLOR=\"%s\"><B>%s table</B>, pfn %lu</TD></TR>",
			tb->pfn, level_color[tb->level], level_name[tb->level], tb->pfn);
		for (unsigned i = 0; i < w->nrows; i++) {
			const struct pt_row *r = &w->rows[i];

			if (r->table != tb->pfn)
				continue;
			fprintf(f, "<TR><TD PORT=\"e%u\" ALIGN=\"LEFT\">[%u] 0x%llx %s</TD></TR>", r->idx, r->idx,
				(unsigned long long)r->addr, r->bits[0] ? r->bits : "table");
		}
		fprintf(f, "</TABLE>>];\n");
	}
	for (unsigned i = 0; i < w->nrows; i++)
		if (w->rows[i].target[0])
			fprintf(f, "\tt%lu:e%u -> %s;\n", w->rows[i].table, w->rows[i].idx, w->rows[i].target);
	if (w->elided)
		view_note(w->v, "elided", "%lu more entries not drawn (a picture shows %d): ask for a smaller range",
			  w->elided, VIEW_MAX_ENTRIES);
}

int mml_show_pagetable(struct mml_task *t, uint64_t addr, uint64_t len, enum mml_picture_format fmt, FILE *out)
{
	struct mml_machine *m = t->machine;
	struct mm_struct *mm = t->mm;
	uint64_t start = addr & PAGE_MASK, end = len ? PAGE_ALIGN(addr + len) : TASK_SIZE;
	struct pt_walk w = { 0 };
	struct view v;
	char title[160];
	int err;

	if (len ? addr >= TASK_SIZE || len > TASK_SIZE - addr : addr)
		return -EINVAL;
	if (end > TASK_SIZE)
		end = TASK_SIZE;
	snprintf(title, sizeof(title), "page tables of pid %d, 0x%llx-0x%llx", mm->tgid,
		 (unsigned long long)start, (unsigned long long)end);
	err = view_begin(&v, m, fmt, title);
	if (err)
		return err;
	w.v = &v;
	/* the pgd first, drawn even when nothing is mapped below it */
	w.tables[w.ntables++] = (struct pt_table){ table_pfn(m, mm->pgd), LVL_PGD };
	view_key(&v, VK_TABLE, w.tables[0].pfn, &(bool){ false });
	op_enter(m, t);
	down_read(&mm->mmap_lock);
	walk_page_range(mm, start, end, &pt_walk_ops, &w);
	pt_emit(&w, mm);
	up_read(&mm->mmap_lock);
	op_exit(m, 0);
	free(w.rows);
	return view_end(&v, 0, fmt, out);
}
