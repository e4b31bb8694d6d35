/*
 * rmap.c - mml_show_rmap: the reverse map of the folio at an address, as
 * rmap_walk() follows it: folio -> its anon_vma (and the fork tree around
 * it: parents up to the root, the anon_vma_chains to every VMA that may
 * map the folio and those VMAs' own anon_vmas), its address_space, or its
 * KSM stable node -> the VMAs, in whichever process -> the pte or pmd in
 * each that maps a page of it (page_vma_mapped_walk).
 */
#include <errno.h>

#include "fs/fs.h"
#include "mm/ksm_internal.h"
#include "view/view.h"

struct rm_walk {
	struct view *v;
	const char *from;	/* the node the VMAs hang from: the address_space or stable node */
	unsigned entries;
	unsigned long elided;
};

/* A VMA's node "v<n>", drawn once; 0 when the picture has enough of them. */
static unsigned vma_node(struct view *v, struct vm_area_struct *vma)
{
	bool fresh;
	unsigned id = view_key(v, VK_VMA, (uintptr_t)vma, &fresh);

	if (!fresh || id > VIEW_MAX_ENTRIES)
		return id > VIEW_MAX_ENTRIES ? 0 : id;
	fprintf(v->f, "\tv%u [shape=box, style=\"rounded,filled\", fillcolor=\"#f5f0d7\", label=<VMA ", id);
	view_vma_label(v, vma);
	fprintf(v->f, "<BR/>mm of pid %d>];\n", vma->vm_mm->tgid);
	return id;
}

/* rmap_one: the VMA, and each entry of it that maps a page of the folio. */
static bool rm_one(struct folio *folio, struct vm_area_struct *vma, uint64_t addr, void *arg)
{
	struct rm_walk *w = arg;
	struct view *v = w->v;
	struct mml_machine *m = v->m;
	DEFINE_FOLIO_VMA_WALK(pvmw, folio, vma, addr);
	unsigned id = vma_node(v, vma);

	if (!id)
		return true;
	if (w->from)
		fprintf(v->f, "\t%s -> v%u [label=\"%s\"];\n", w->from, id,
			folio_test_ksm(folio) ? "rmap_item" : "i_mmap");
	while (page_vma_mapped_walk(&pvmw)) {
		const void *where = pvmw.pte ? (const void *)pvmw.pte : (const void *)pvmw.pmd;
		char bits[112];

		if (w->entries == VIEW_MAX_ENTRIES) {
			w->elided++;
			continue;
		}
		if (pvmw.pte)
			view_pte_bits(ptep_get(pvmw.pte), bits, sizeof(bits));
		else
			view_pmd_bits(pmdp_get(pvmw.pmd), bits, sizeof(bits));
		w->entries++;
		fprintf(v->f, "\te%u [shape=box, label=<0x%llx: %s [%u] of table pfn %lu<BR/>%s>];\n", w->entries,
			(unsigned long long)pvmw.address, pvmw.pte ? "pte" : "pmd",
			pvmw.pte ? pte_index(pvmw.address) : pmd_index(pvmw.address),
			page_to_pfn(m, virt_to_ptdesc(m, where)), bits);
		fprintf(v->f, "\tv%u -> e%u;\n\te%u -> folio;\n", id, w->entries, w->entries);
	}
	return true;
}

/* An anon_vma's node "av<n>" and its parents up to the root (or one drawn already). */
static unsigned anon_vma_node(struct view *v, struct anon_vma *av)
{
	unsigned id = 0, child = 0;
	bool fresh;

	/* the root is its own parent, as in Linux */
	for (; av; av = av->parent == av ? NULL : av->parent) {
		unsigned n = view_key(v, VK_ANON_VMA, (uintptr_t)av, &fresh);

		if (!id)
			id = n;
		if (fresh && n <= VIEW_MAX_ENTRIES)
			fprintf(v->f, "\tav%u [shape=box, style=filled, fillcolor=\"#d9f2d9\", label=<anon_vma%s"
				"<BR/>refcount %d, children %lu, active VMAs %lu>];\n", n,
				av == av->root ? " (root)" : "", atomic_read(&av->refcount), av->num_children,
				av->num_active_vmas);
		if (child && child <= VIEW_MAX_ENTRIES && n <= VIEW_MAX_ENTRIES)
			fprintf(v->f, "\tav%u -> av%u [label=\"parent\", style=dashed];\n", child, n);
		if (!fresh)
			break;
		child = n;
	}
	return id;
}

/*
 * The fork tree as the folio's anon_vma sees it: its chains name every
 * VMA that may map the folio, each with its own anon_vma, a descendant.
 */
static void anon_tree(struct view *v, struct anon_vma *av)
{
	struct anon_vma_chain *avc;
	unsigned top;

	anon_vma_lock_read(av);
	top = anon_vma_node(v, av);
	fprintf(v->f, "\tfolio -> av%u [label=\"mapping\"];\n", top);
	list_for_each_entry(avc, &av->chains, same_anon_vma) {
		unsigned vid = vma_node(v, avc->vma), own;

		if (!vid)
			continue;
		fprintf(v->f, "\tav%u -> v%u [label=\"avc\"];\n", top, vid);
		own = avc->vma->anon_vma && avc->vma->anon_vma != av ? anon_vma_node(v, avc->vma->anon_vma) : 0;
		if (own && own <= VIEW_MAX_ENTRIES)
			fprintf(v->f, "\tv%u -> av%u [label=\"anon_vma\", style=dotted];\n", vid, own);
	}
	anon_vma_unlock_read(av);
}

static void stable_node(struct view *v, struct folio *folio, struct rm_walk *w)
{
	struct ksm_stable_node *node = (void *)((unsigned long)folio->mapping & ~PAGE_MAPPING_FLAGS);

	fprintf(v->f, "\tstable [shape=box, style=filled, fillcolor=\"#e6d7f5\", label=<KSM stable node%s"
		"<BR/>kpfn %lu, rmap_items %d>];\n\tfolio -> stable [label=\"mapping\"];\n",
		node->chain ? " (a dup of a chain)" : "", node->kpfn, node->rmap_hlist_len);
	w->from = "stable";
}

static void mapping_node(struct view *v, struct folio *folio, struct rm_walk *w)
{
	struct address_space *mapping = folio->mapping;

	fprintf(v->f, "\tmapping [shape=box, style=filled, fillcolor=\"#d7e6f5\", label=<address_space of ino %lu ",
		mapping->host->i_ino);
	view_esc(v->f, mapping->host->i_name);
	fprintf(v->f, "<BR/>%lu pages cached>];\n\tfolio -> mapping [label=\"mapping\"];\n", mapping->nrpages);
	w->from = "mapping";
}

int mml_show_rmap(struct mml_task *t, uint64_t addr, enum mml_picture_format fmt, FILE *out)
{
	struct mml_machine *m = t->machine;
	struct mm_struct *mm = t->mm;
	struct rm_walk w = { 0 };
	struct view_at at;
	struct view v;
	char title[128];
	int err;

	snprintf(title, sizeof(title), "the reverse map of the folio at 0x%llx of pid %d",
		 (unsigned long long)addr, mm->tgid);
	err = view_begin(&v, m, fmt, title);
	if (err)
		return err;
	w.v = &v;
	op_enter(m, t);
	down_read(&mm->mmap_lock);
	err = view_at(mm, addr, &at);
	if (!err && !at.folio)
		err = -ENOENT;
	if (!err) {
		struct folio *folio = at.folio;

		view_folio_node(&v, &at, false);
		if (!folio->mapping) {
			view_note(&v, "none", "no reverse map: %s",
				  &folio->page == m->zero_page || is_huge_zero_folio(m, folio) ?
				  "the zero pages are mapped by every process, and counted by none" :
				  "the folio has no mapping");
		} else if (!folio_trylock(folio)) {
			view_note(&v, "none", "the folio is locked by another (a held migration?): rmap not walked");
		} else {
			struct rmap_walk_control rwc = { .arg = &w, .rmap_one = rm_one };

			if (folio_test_ksm(folio))
				stable_node(&v, folio, &w);
			else if (!folio_test_anon(folio))
				mapping_node(&v, folio, &w);
			rmap_walk(folio, &rwc);
			if (folio_test_anon(folio) && !folio_test_ksm(folio))
				anon_tree(&v, folio_anon_vma(folio));
			folio_unlock(folio);
		}
		if (w.elided)
			view_note(&v, "elided", "%lu more entries not drawn (a picture shows %d)", w.elided,
				  VIEW_MAX_ENTRIES);
	}
	view_at_done(m, &at);
	up_read(&mm->mmap_lock);
	op_exit(m, 0);
	return view_end(&v, err, fmt, out);
}
