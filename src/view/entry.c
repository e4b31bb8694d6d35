/*
 * entry.c - entries and what they point to, as every picture draws them:
 * the bits of a pte or pmd by the names the dumps use, and one node per
 * frame, zero page, swap slot, migration or device-exclusive entry and
 * marker.  Decoded through arch/pgtable.h and mm/swapops.h alone.
 */
#include <string.h>

#include "fs/fs.h"
#include "mm/swapops.h"
#include "view/view.h"

/* Append name to buf if on: a list of the set bits. */
static void bit(char *buf, size_t n, bool on, const char *name)
{
	size_t l = strlen(buf);

	if (on && l + strlen(name) + 2 < n)
		snprintf(buf + l, n - l, "%s%s", l ? " " : "", name);
}

/* The names pagemap, kpageflags and Linux's pte dumps use, where they have one. */
void view_pte_bits(pte_t pte, char *buf, size_t n)
{
	buf[0] = '\0';
	if (pte_present(pte)) {
		bit(buf, n, pte_hw_valid(pte), "present");
		bit(buf, n, pte_protnone(pte), "protnone");
		bit(buf, n, pte_write(pte), "write");
		bit(buf, n, pte_dirty(pte), "dirty");
		bit(buf, n, pte_young(pte), "young");
		bit(buf, n, pte_soft_dirty(pte), "soft-dirty");
		bit(buf, n, pte_uffd_wp(pte), "uffd-wp");
		bit(buf, n, pte_special(pte), "special");
		bit(buf, n, pte_exec(pte), "exec");
		bit(buf, n, pte_tagged(pte), "tagged");
		return;
	}
	/* the flags a non-present entry keeps beside its swap entry */
	bit(buf, n, pte_swp_exclusive(pte), "exclusive");
	bit(buf, n, pte_swp_soft_dirty(pte), "soft-dirty");
	bit(buf, n, pte_swp_uffd_wp(pte), "uffd-wp");
}

void view_pmd_bits(pmd_t pmd, char *buf, size_t n)
{
	buf[0] = '\0';
	bit(buf, n, pmd_present(pmd) && !pmd_protnone(pmd), "present");
	bit(buf, n, pmd_protnone(pmd), "protnone");
	bit(buf, n, pmd_leaf(pmd), "huge");
	bit(buf, n, pmd_write(pmd), "write");
	bit(buf, n, pmd_dirty(pmd), "dirty");
	bit(buf, n, pmd_young(pmd), "young");
	bit(buf, n, pmd_soft_dirty(pmd), "soft-dirty");
	bit(buf, n, pmd_special(pmd), "special");
	bit(buf, n, pmd_tagged(pmd), "tagged");
}

/* "file 12 index 3", "anon", "KSM": what a folio's mapping says it is. */
static void folio_kind(struct view *v, struct folio *folio)
{
	struct address_space *mapping;

	if (folio_test_ksm(folio)) {
		fprintf(v->f, "KSM");
	} else if (folio_test_anon(folio)) {
		fprintf(v->f, "anon");
	} else if (folio_test_dax_shared(folio)) {
		fprintf(v->f, "fs-DAX shared by %lu files", folio->share);
	} else if ((mapping = READ_ONCE(folio->mapping))) {
		fprintf(v->f, "file ino %lu index %lu", mapping->host->i_ino, folio->index);
	} else {
		fprintf(v->f, "no mapping");
	}
	if (folio_test_swapcache(folio))
		fprintf(v->f, ", swap cache %u:%llu", swp_type(folio->swap),
			(unsigned long long)swp_offset(folio->swap));
}

/*
 * A frame's node: "p<pfn>", or the whole folio's when a pmd maps it
 * (whole), drawn once.  Its counts are the folio's, read as they are.
 */
static void page_node(struct view *v, struct page *page, bool whole, char *name, size_t n)
{
	struct mml_machine *m = v->m;
	struct folio *folio = page_folio(page);
	unsigned long pfn = page_to_pfn(m, page);
	bool fresh;

	snprintf(name, n, "p%lu", pfn);
	view_key(v, VK_PAGE, pfn, &fresh);
	if (!fresh)
		return;
	fprintf(v->f, "\t%s [label=<<TABLE BORDER=\"0\" CELLBORDER=\"1\" CELLSPACING=\"0\" BGCOLOR=\"%s\">"
		"<TR><TD><B>pfn %lu</B></TD></TR><TR><TD>", name,
		folio_test_ksm(folio) ? "#e6d7f5" : folio_test_anon(folio) ? "#d9f2d9" : "#d7e6f5", pfn);
	if (whole)
		fprintf(v->f, "folio of %ld pages (order %u)", folio_nr_pages(folio), folio_order(folio));
	else if (folio_test_large(folio))
		fprintf(v->f, "page %ld of folio pfn %lu (order %u)", (long)(page - &folio->page),
			folio_pfn(m, folio), folio_order(folio));
	else
		fprintf(v->f, "folio (order 0)");
	fprintf(v->f, "</TD></TR><TR><TD>");
	folio_kind(v, folio);
	fprintf(v->f, "</TD></TR><TR><TD>refcount %d mapcount %d%s</TD></TR></TABLE>>];\n",
		folio_ref_count(folio), whole ? folio_mapcount(folio) : folio_precise_page_mapcount(folio, page),
		PageAnonExclusive(page) ? " AnonExclusive" : "");
}

/* A node of a fixed kind, drawn once: the zero pages, markers. */
static void fixed_node(struct view *v, const char *name, const char *label, const char *color)
{
	uint64_t h = 14695981039346656037ULL;	/* FNV-1a of the name */
	bool fresh;

	for (const char *c = name; *c; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ULL;
	view_key(v, VK_FIXED, h, &fresh);
	if (fresh)
		fprintf(v->f, "\t%s [shape=box, style=\"rounded,filled\", fillcolor=\"%s\", label=<%s>];\n",
			name, color, label);
}

/* A swap slot: its count and the folio the swap cache holds for it. */
static void slot_node(struct view *v, swp_entry_t entry, char *name, size_t n)
{
	struct folio *folio;
	bool fresh;

	snprintf(name, n, "s%u_%llu", swp_type(entry), (unsigned long long)swp_offset(entry));
	view_key(v, VK_SLOT, entry.val, &fresh);
	if (!fresh)
		return;
	fprintf(v->f, "\t%s [shape=cylinder, style=filled, fillcolor=\"#fde2c4\", label=<swap slot %u:%llu"
		"<BR/>swap count %d<BR/>", name, swp_type(entry), (unsigned long long)swp_offset(entry),
		swap_count(v->m, entry));
	folio = swap_cache_get_folio(v->m, entry);
	if (folio) {
		fprintf(v->f, "in swap cache: pfn %lu", folio_pfn(v->m, folio));
		folio_put(v->m, folio);
	} else {
		fprintf(v->f, "not in swap cache");
	}
	fprintf(v->f, ">];\n");
}

/* A migration or device-exclusive entry: its own node, pointing to the frame it names. */
static void pfn_entry_node(struct view *v, swp_entry_t entry, char *name, size_t n)
{
	unsigned long pfn = swp_offset_pfn(entry);
	const char *what = is_device_exclusive_entry(entry) ? "device-exclusive" :
			   is_writable_migration_entry(entry) ? "migration (write)" :
			   is_readable_exclusive_migration_entry(entry) ? "migration (read, exclusive)" :
			   "migration (read)";
	char frame[32];
	bool fresh;

	snprintf(name, n, "%s%lu", is_device_exclusive_entry(entry) ? "devx" : "mig", pfn);
	view_key(v, VK_PFN_ENTRY, entry.val, &fresh);
	if (!fresh)
		return;
	fprintf(v->f, "\t%s [shape=box, style=\"rounded,filled\", fillcolor=\"#f8c9c9\", label=<%s<BR/>pfn %lu%s%s>];\n",
		name, what, pfn, is_migration_entry(entry) && is_migration_entry_young(entry) ? " young" : "",
		is_migration_entry(entry) && is_migration_entry_dirty(entry) ? " dirty" : "");
	page_node(v, pfn_to_page(v->m, pfn), false, frame, sizeof(frame));
	fprintf(v->f, "\t%s -> %s [style=dashed];\n", name, frame);
}

/*
 * mmlab has no device-private memory (swapops.h): of the non-present
 * kinds Linux has, swap, migration, device-exclusive and marker entries
 * are all there is to draw.
 */
void view_pte_target(struct view *v, struct vm_area_struct *vma, uint64_t addr, pte_t pte,
		     char *name, size_t n)
{
	struct mml_machine *m = v->m;
	swp_entry_t entry;

	if (pte_present(pte)) {
		struct page *page = vm_normal_page(vma, addr, pte);

		if (page) {
			page_node(v, page, false, name, n);
		} else if (is_zero_pfn(m, pte_pfn(pte))) {
			snprintf(name, n, "zero");
			fixed_node(v, name, "shared zero page", "#e0e0e0");
		} else {	/* a special mapping with no folio behind it (VM_PFNMAP) */
			snprintf(name, n, "raw%lu", pte_pfn(pte));
			fixed_node(v, name, "pfn (no folio)", "#e0e0e0");
		}
		return;
	}
	entry = pte_to_swp_entry(pte);
	if (is_pte_marker_entry(entry)) {
		pte_marker mk = pte_marker_get(entry);

		snprintf(name, n, "marker%lu", mk);
		fixed_node(v, name, mk & PTE_MARKER_GUARD ? "PTE marker: guard" :
				    mk & PTE_MARKER_UFFD_WP ? "PTE marker: uffd-wp" : "PTE marker: poisoned",
			   "#fff3c4");
	} else if (is_pfn_swap_entry(entry)) {
		pfn_entry_node(v, entry, name, n);
	} else {
		slot_node(v, entry, name, n);
	}
}

void view_pmd_target(struct view *v, pmd_t pmd, char *name, size_t n)
{
	if (is_huge_zero_pmd(v->m, pmd)) {
		snprintf(name, n, "hzero");
		fixed_node(v, name, "huge zero folio", "#e0e0e0");
		return;
	}
	page_node(v, pmd_page(v->m, pmd), true, name, n);
}

void view_vma_label(struct view *v, struct vm_area_struct *vma)
{
	vm_flags_t f = vma->vm_flags;

	fprintf(v->f, "0x%llx-0x%llx %c%c%c%c", (unsigned long long)vma->vm_start,
		(unsigned long long)vma->vm_end, f & VM_READ ? 'r' : '-', f & VM_WRITE ? 'w' : '-',
		f & VM_EXEC ? 'x' : '-', f & VM_MAYSHARE ? 's' : 'p');
	if (vma->vm_file) {
		struct inode *inode = file_inode(vma->vm_file);
		const char *root = inode->i_sb->s_root;

		fputc(' ', v->f);
		view_esc(v->f, *root ? root : "/");
		view_esc(v->f, inode->i_name);
	}
}
