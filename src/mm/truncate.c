/*
 * truncate.c - taking pages out of the page cache (Linux's mm/truncate.c):
 * truncate and hole punch, which must first unmap them from every process
 * (unmap_mapping_range, memory.c), and drop_caches' invalidation, which
 * leaves alone whatever is mapped, dirty or in use.
 *
 * A pinned folio removed from the cache lives on with its pin, no longer
 * the file's (folio->mapping NULL), as in Linux.
 */
#include <string.h>

#include "mm/internal.h"
#include "mm/pagemap.h"

void folio_zero_range(struct mml_machine *m, struct folio *folio, uint64_t from, uint64_t to)
{
	if (from < to)
		memset((char *)folio_address(m, folio) + from, 0, to - from);
}

/*
 * The next folio of mapping holding an index in [*index, last]:
 * referenced and locked, still the file's (a large one may begin before
 * *index); NULL when none is left.  Swap entries (shmem) are skipped:
 * shmem frees those itself.
 */
static struct folio *next_locked_folio(struct address_space *mapping, unsigned long *index, unsigned long last)
{
	struct mml_machine *m = mapping->host->i_sb->machine;

	while (*index <= last) {
		void *entry = xa_find(&mapping->i_pages, index, last);
		struct folio *folio;

		if (!entry)
			return NULL;
		folio = xa_is_value(entry) ? NULL : filemap_get_folio(mapping, *index);
		if (folio) {
			folio_lock(folio);
			if (folio->mapping == mapping && *index - folio->index < (unsigned long)folio_nr_pages(folio))
				return folio;
			folio_unlock(folio);
			folio_put(m, folio);
			continue;	/* truncated meanwhile: look again */
		}
		if (*index == last)
			break;
		(*index)++;
	}
	return NULL;
}

/*
 * truncate_cleanup_folio() + filemap_remove_folio(): a locked folio leaves
 * the cache.  A fault may have mapped it after our unmap_mapping_range:
 * unmap it again, under its lock no one maps it after.
 */
static void truncate_inode_folio(struct address_space *mapping, struct folio *folio)
{
	if (folio_mapped(folio))
		unmap_mapping_range(mapping, (int64_t)folio->index << PAGE_SHIFT,
				    folio_nr_pages(folio) << PAGE_SHIFT, false);
	folio_cancel_dirty(folio);
	filemap_remove_folio(folio);
}

/*
 * Zero the bytes [from, to) of the file (from < to) that the folio at
 * from holds, if the cache has one; a large folio may hold them
 * anywhere in itself.
 */
static void truncate_zero_edge(struct address_space *mapping, int64_t from, int64_t to)
{
	struct mml_machine *m = mapping->host->i_sb->machine;
	struct folio *folio = filemap_get_folio(mapping, (unsigned long)(from >> PAGE_SHIFT));

	if (!folio)
		return;
	folio_lock(folio);
	if (folio->mapping == mapping)
		folio_zero_range(m, folio, offset_in_folio(folio, from), offset_in_folio(folio, from) + (uint64_t)(to - from));
	folio_unlock(folio);
	folio_put(m, folio);
}

/*
 * truncate_inode_partial_folio(): a large folio that reaches outside the
 * pages [start, end) being removed: the pages inside are zeroed, then
 * the folio is split if it can be, so that they can go (true); else they
 * stay, zeroed, as Linux leaves them.
 */
static bool truncate_inode_partial_folio(struct mml_machine *m, struct folio *folio, unsigned long start,
					 unsigned long end)
{
	unsigned long from = max(start, folio->index), to = min(end, folio_next_index(folio));

	folio_zero_range(m, folio, (uint64_t)(from - folio->index) << PAGE_SHIFT,
			 (uint64_t)(to - folio->index) << PAGE_SHIFT);
	return split_folio(m, folio) == 0;
}

/*
 * truncate_inode_pages_range(): bytes [lstart, lend] leave the cache:
 * whole pages are removed, the partial pages at either edge zeroed in
 * place (they keep the bytes outside the range).  i_rwsem held.
 */
void truncate_inode_pages_range(struct address_space *mapping, int64_t lstart, int64_t lend)
{
	struct mml_machine *m = mapping->host->i_sb->machine;
	unsigned long start = (unsigned long)((lstart + (int64_t)PAGE_SIZE - 1) >> PAGE_SHIFT);
	unsigned long end = lend < 0 ? ~0UL : (unsigned long)((lend + 1) >> PAGE_SHIFT);	/* exclusive */
	unsigned long partial_start = (unsigned long)(lstart >> PAGE_SHIFT);
	unsigned long index = start;
	struct folio *folio;

	/* The partial page at the start, and at the end of a punch. */
	if (lstart & (PAGE_SIZE - 1)) {
		bool same_page = lend >= 0 && (unsigned long)(lend >> PAGE_SHIFT) == partial_start;

		truncate_zero_edge(mapping, lstart, same_page ? lend + 1 : (int64_t)(partial_start + 1) << PAGE_SHIFT);
		if (same_page)
			return;
	}
	if (lend >= 0 && ((lend + 1) & (PAGE_SIZE - 1)))
		truncate_zero_edge(mapping, (int64_t)end << PAGE_SHIFT, lend + 1);
	if (start >= end)
		return;
	while ((folio = next_locked_folio(mapping, &index, end - 1))) {
		unsigned long next = folio_next_index(folio);

		if (folio->index >= start && next <= end)
			truncate_inode_folio(mapping, folio);
		else if (truncate_inode_partial_folio(m, folio, start, end))
			next = index;	/* split: its pages in the range come next, small */
		folio_unlock(folio);
		folio_put(m, folio);
		if (next == 0 || next > end - 1)
			break;
		index = next;
	}
}

/*
 * truncate_pagecache(): after the size fell to newsize.  Unmapped twice,
 * as Linux does: first so that most pages go without a pte in the way,
 * again after the cache is emptied, for private copies a fault made
 * meanwhile from a page about to go.
 */
void truncate_pagecache(struct inode *inode, int64_t newsize)
{
	struct address_space *mapping = inode->i_mapping;
	int64_t holebegin = (newsize + (int64_t)PAGE_SIZE - 1) & ~(int64_t)(PAGE_SIZE - 1);

	unmap_mapping_range(mapping, holebegin, 0, true);
	truncate_inode_pages_range(mapping, newsize, -1);
	unmap_mapping_range(mapping, holebegin, 0, true);
}

/*
 * Models mapping_evict_folio(): drop a clean folio nobody uses: not
 * dirty, not under writeback, not mapped, no reference but the cache's
 * and ours.  Folio locked.
 */
static bool mapping_evict_folio(struct address_space *mapping, struct folio *folio)
{
	if (folio_test_dirty(folio) || folio_test_writeback(folio) || folio_mapped(folio))
		return false;
	if (folio_ref_count(folio) > folio_nr_pages(folio) + 1)
		return false;
	filemap_remove_folio(folio);
	return true;
}

unsigned long invalidate_mapping_pages(struct address_space *mapping, unsigned long start, unsigned long end)
{
	struct mml_machine *m = mapping->host->i_sb->machine;
	unsigned long index = start, count = 0;
	struct folio *folio;

	while ((folio = next_locked_folio(mapping, &index, end))) {
		unsigned long next = folio_next_index(folio);

		count += mapping_evict_folio(mapping, folio);
		folio_unlock(folio);
		folio_put(m, folio);
		if (next == 0 || next > end)
			break;
		index = next;
	}
	return count;
}
