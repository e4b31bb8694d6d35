/*
 * mte.c - memory tags (see mte.h): the tag storage beside each frame, the
 * first tagging of a page, tag copies, and the records that keep a
 * swapped-out page's tags with its swap slot (arm64's mteswap.c).
 */
#include <stdlib.h>
#include <sys/mman.h>

#include "mm/mm.h"
#include "mm/swapops.h"

static uint8_t *page_tags(struct mml_machine *m, const struct page *page)
{
	return m->mte.tags + page_to_pfn(m, page) * MTE_PAGE_TAG_STORAGE;
}

int mte_init(struct mml_machine *m, struct page *zero_page)
{
	/* Untouched storage costs the host nothing: only tagged frames use it. */
	m->mte.tags = mmap(NULL, m->nr_frames * MTE_PAGE_TAG_STORAGE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m->mte.tags == MAP_FAILED) {
		m->mte.tags = NULL;
		return -ENOMEM;
	}
	spin_lock_init(&m->mte.swap_lock);
	set_bit(PG_mte_tagged, &zero_page->flags);	/* fresh storage: all zero */
	return 0;
}

void mte_exit(struct mml_machine *m)
{
	if (!m->mte.tags)
		return;
	munmap(m->mte.tags, m->nr_frames * MTE_PAGE_TAG_STORAGE);
	m->mte.tags = NULL;
	spin_lock_destroy(&m->mte.swap_lock);
}

/* Models page_mte_tagged(): the flag, then (acquire) the tags it vouches for. */
bool page_mte_tagged(const struct page *page)
{
	bool ret = test_bit(PG_mte_tagged, (unsigned long *)&page->flags);

	if (ret)
		smp_rmb();
	return ret;
}

/*
 * Models try_page_mte_tagging(): true if the caller is to give the page
 * its first tags (then set_page_mte_tagged()); false if it has them.
 */
static bool try_page_mte_tagging(struct page *page)
{
	if (page_mte_tagged(page))
		return false;
	bit_lock(PG_mte_lock, &page->flags);
	if (page_mte_tagged(page)) {
		bit_unlock(PG_mte_lock, &page->flags);
		return false;
	}
	return true;
}

/* Models set_page_mte_tagged(): the tags are written; publish them. */
static void set_page_mte_tagged(struct page *page)
{
	smp_wmb();
	set_bit(PG_mte_tagged, &page->flags);
	bit_unlock(PG_mte_lock, &page->flags);
}

unsigned mte_get_tag(struct mml_machine *m, unsigned long pfn, unsigned off)
{
	unsigned granule = off / MTE_GRANULE_SIZE;
	uint8_t b = mml_load8(&m->mte.tags[pfn * MTE_PAGE_TAG_STORAGE + granule / 2]);

	return (granule & 1) ? b >> 4 : b & 0xf;
}

/* A store of one granule's tag leaves the other granule of its byte alone, as STG does. */
void mte_set_tag(struct mml_machine *m, unsigned long pfn, unsigned off, unsigned tag)
{
	unsigned granule = off / MTE_GRANULE_SIZE, shift = (granule & 1) * 4;
	uint8_t *p = &m->mte.tags[pfn * MTE_PAGE_TAG_STORAGE + granule / 2];
	uint8_t old = mml_load8(p);

	while (!mml_cmpxchg8(p, &old, (uint8_t)((old & ~(0xfu << shift)) | (tag << shift))))
		;
}

void mte_sync_tags(struct mml_machine *m, pte_t pte)
{
	static const uint8_t zeros[MTE_PAGE_TAG_STORAGE];
	struct page *page;

	if (!pte_tagged(pte) || pte_special(pte))
		return;
	page = pfn_to_page(m, pte_pfn(pte));
	if (try_page_mte_tagging(page)) {
		page_data_copy(page_tags(m, page), zeros, MTE_PAGE_TAG_STORAGE);
		set_page_mte_tagged(page);
	}
}

void mte_copy_page_tags(struct mml_machine *m, struct page *to, struct page *from)
{
	if (!page_mte_tagged(from))
		return;
	/* A new page: nobody tagged it before us. */
	VM_BUG_ON_PAGE(!try_page_mte_tagging(to), m, to);
	page_data_copy(page_tags(m, to), page_tags(m, from), MTE_PAGE_TAG_STORAGE);
	set_page_mte_tagged(to);
}

/* ---- tags kept with swap slots ------------------------------------------------- */

int arch_swap_init_area(struct mml_machine *m, unsigned type, unsigned long nr)
{
	struct mte_swap_area *area = calloc(1, sizeof(*area) + nr * sizeof(area->rec[0]));

	if (!area)
		return -ENOMEM;
	area->nr = nr;
	spin_lock(&m->mte.swap_lock);
	VM_BUG_ON(m->mte.swap[type]);
	m->mte.swap[type] = area;
	spin_unlock(&m->mte.swap_lock);
	return 0;
}

/* The record slot of a swap entry; mte.swap_lock held. */
static uint8_t **swap_record(struct mml_machine *m, swp_entry_t entry)
{
	struct mte_swap_area *area = m->mte.swap[swp_type(entry)];

	VM_BUG_ON(!area || swp_offset(entry) >= area->nr);
	return &area->rec[swp_offset(entry)];
}

/*
 * As arm64's mte_save_tags(), called from arch_unmap_one() where SPARC
 * saves its ADI tags: the caller holds the folio lock and the pte lock,
 * and the folio is in the swap cache, so the slot is ours.  Each pte of a
 * shared folio comes here; the page's tags cannot change while it is
 * shared (a tag store is a write), so the first record serves them all
 * and is refreshed in place.  Only a new record is allocated, and may fail.
 */
int arch_unmap_one(struct mm_struct *mm, struct vm_area_struct *vma, uint64_t addr, pte_t orig)
{
	struct mml_machine *m = mm->machine;
	/* try_to_unmap_one takes device-exclusive entries too: they name their page the swap way. */
	unsigned long pfn = pte_present(orig) ? pte_pfn(orig) : swp_offset_pfn(pte_to_swp_entry(orig));
	struct page *page = pfn_to_page(m, pfn);
	swp_entry_t entry = page_swap_entry(page);
	uint8_t **slot, *rec;

	if (!page_mte_tagged(page))
		return 0;
	VM_BUG_ON_FOLIO(!folio_test_swapcache(page_folio(page)) || !folio_test_locked(page_folio(page)),
			m, page_folio(page));
	spin_lock(&m->mte.swap_lock);
	rec = *swap_record(m, entry);
	if (rec)
		page_data_copy(rec, page_tags(m, page), MTE_PAGE_TAG_STORAGE);
	spin_unlock(&m->mte.swap_lock);
	if (rec)
		return 0;
	/* Under the pte lock: an atomic allocation, which may fail. */
	rec = mml_obj_alloc(m, OBJ_MTE_TAGS, MTE_PAGE_TAG_STORAGE);
	if (!rec)
		return -ENOMEM;
	page_data_copy(rec, page_tags(m, page), MTE_PAGE_TAG_STORAGE);
	spin_lock(&m->mte.swap_lock);
	slot = swap_record(m, entry);
	VM_BUG_ON(*slot);	/* the folio lock keeps other savers out */
	*slot = rec;
	spin_unlock(&m->mte.swap_lock);
	return 0;
}

/*
 * As arm64's arch_swap_restore() -> mte_restore_tags(): a page without
 * tags takes the saved ones.  A page still tagged is the very page the
 * record was taken from (the swap cache kept it), and keeps its own.
 */
void arch_swap_restore(struct mml_machine *m, swp_entry_t entry, struct folio *folio)
{
	for (long i = 0; i < folio_nr_pages(folio); i++) {
		struct page *page = folio_page(folio, i);
		uint8_t *rec;

		spin_lock(&m->mte.swap_lock);
		rec = *swap_record(m, swp_entry(swp_type(entry), swp_offset(entry) + (uint64_t)i));
		if (rec && try_page_mte_tagging(page)) {
			page_data_copy(page_tags(m, page), rec, MTE_PAGE_TAG_STORAGE);
			set_page_mte_tagged(page);
		}
		spin_unlock(&m->mte.swap_lock);
	}
}

void arch_swap_invalidate_page(struct mml_machine *m, unsigned type, unsigned long off)
{
	uint8_t **slot;

	spin_lock(&m->mte.swap_lock);
	slot = swap_record(m, swp_entry(type, off));
	mml_obj_free(m, OBJ_MTE_TAGS, *slot);
	*slot = NULL;
	spin_unlock(&m->mte.swap_lock);
}

void arch_swap_invalidate_area(struct mml_machine *m, unsigned type)
{
	struct mte_swap_area *area;

	spin_lock(&m->mte.swap_lock);
	area = m->mte.swap[type];
	m->mte.swap[type] = NULL;
	spin_unlock(&m->mte.swap_lock);
	if (!area)
		return;
	for (unsigned long off = 0; off < area->nr; off++)
		mml_obj_free(m, OBJ_MTE_TAGS, area->rec[off]);
	free(area);
}

bool mte_swap_has_record(struct mml_machine *m, unsigned type, unsigned long off)
{
	bool ret;

	spin_lock(&m->mte.swap_lock);
	ret = m->mte.swap[type] && off < m->mte.swap[type]->nr && m->mte.swap[type]->rec[off];
	spin_unlock(&m->mte.swap_lock);
	return ret;
}
