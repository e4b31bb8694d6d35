/*
 * page-writeback.c - writing dirty file pages back (Linux's
 * mm/page-writeback.c): cleaning a folio for I/O, which first
 * write-protects every pte that maps it (folio_mkclean), and writing a
 * range of a file's dirty folios (fsync, msync, power-off).
 *
 * Writeback is synchronous here: PG_writeback and nr_writeback are set
 * only while the file system's writepage runs (docs/deviations.md).
 */
#include "mm/internal.h"
#include "mm/pagemap.h"

/*
 * folio_clear_dirty_for_io(): the locked folio is about to be written.
 * Every pte mapping it becomes clean and read-only first, its dirty bit
 * moved to the folio: a write from now on faults (page_mkwrite) and
 * dirties the folio again, so that no write is lost when the clean folio
 * is later dropped.  True if it was dirty (then it is clean now).
 */
bool folio_clear_dirty_for_io(struct folio *folio)
{
	struct address_space *mapping = folio->mapping;
	struct mml_machine *m = mapping->host->i_sb->machine;

	VM_BUG_ON_FOLIO(!folio_test_locked(folio), m, folio);
	if (!mapping_can_writeback(mapping))
		return folio_test_clear_dirty(folio);
	if (!bug_enabled(m, BUG_WRITEBACK_NO_MKCLEAN) && folio_mkclean(folio))
		folio_mark_dirty(folio);
	if (folio_test_clear_dirty(folio)) {
		mod_vm_stat(m, NR_FILE_DIRTY, -folio_nr_pages(folio));
		return true;
	}
	return false;
}

/* Write a locked, just-cleaned folio back, as writeback marks it for the while. */
static int writeback_folio(struct address_space *mapping, struct folio *folio, struct writeback_control *wbc)
{
	struct mml_machine *m = mapping->host->i_sb->machine;
	long nr = folio_nr_pages(folio);
	int err;

	folio_set_writeback(folio);
	mod_vm_stat(m, NR_WRITEBACK, nr);
	err = mapping->a_ops->writepage(folio, wbc);
	mod_vm_stat(m, NR_WRITEBACK, -nr);
	folio_clear_writeback(folio);
	if (err) {
		/* Linux keeps the page clean and remembers the error for fsync. */
		set_bit(AS_EIO, &mapping->flags);
	}
	return err;
}

/*
 * pageout() for a file folio: reclaim writes a dirty, locked, unmapped
 * folio back; 0 if it is clean now.
 */
int pageout_file_folio(struct folio *folio)
{
	struct writeback_control wbc = { .for_reclaim = true };
	struct address_space *mapping = folio->mapping;

	int err;

	if (!folio_clear_dirty_for_io(folio))
		return 0;
	err = writeback_folio(mapping, folio, &wbc);
	if (!err)
		trace_mm_vmscan_write_folio(mapping->host->i_sb->machine, folio);
	return err;
}

int filemap_write_and_wait_range(struct address_space *mapping, int64_t start, int64_t end)
{
	struct mml_machine *m = mapping->host->i_sb->machine;
	unsigned long index = (unsigned long)(start >> PAGE_SHIFT);
	unsigned long last = end < 0 ? ~0UL : (unsigned long)(end >> PAGE_SHIFT);
	struct writeback_control wbc = { 0 };
	int ret = 0, err;

	if (!mapping_can_writeback(mapping) || !mapping->a_ops->writepage)
		return 0;
	for (;;) {
		void *entry = xa_find(&mapping->i_pages, &index, last);
		struct folio *folio;

		if (!entry)
			break;
		/* Only folios marked dirty (Linux: tagged PAGECACHE_TAG_DIRTY) are looked at. */
		folio = xa_is_value(entry) || !folio_test_dirty((struct folio *)entry) ? NULL :
			filemap_get_folio(mapping, index);
		if (folio) {
			folio_lock(folio);
			if (folio->mapping == mapping && folio_clear_dirty_for_io(folio)) {
				err = writeback_folio(mapping, folio, &wbc);
				if (err && !ret)
					ret = err;
			}
			folio_unlock(folio);
			folio_put(m, folio);
		}
		if (index == last)
			break;
		index++;
	}
	/* An error this call met is reported once, as an earlier one: AS_EIO goes either way. */
	err = filemap_check_errors(mapping);
	return ret ? ret : err;
}

int filemap_check_errors(struct address_space *mapping)
{
	return test_and_clear_bit(AS_EIO, &mapping->flags) ? -EIO : 0;
}
