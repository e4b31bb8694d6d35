/*
 * check_files.c - the invariant checker's look at files (check.c runs
 * it): page caches, shmem's swap entries and charges, the counters.
 */
#include "fs/fs.h"
#include "oracle/check_internal.h"

/* A file system's own check (super_operations.check) reports through this. */
static void objects_report(void *ctx, const char *msg, unsigned long pfn)
{
	struct check_state *st = ctx;

	if (st->out)
		fprintf(st->out, "mmlab: check: invariant %d: %s (pfn %lu)\n", INV_OBJECTS, msg, pfn);
}

/*
 * Files: every folio of a page cache is the file's at its index, neither
 * anon nor in the swap cache, swap-backed exactly if shmem; every shmem
 * swap entry names a slot (counted like a swap pte); the caches' sizes,
 * shmem's charges and the vmstat counters add up.
 */
void check_files(struct check_state *st)
{
	struct mml_machine *m = st->m;
	long file_pages = 0, shmem_pages = 0, dirty = 0, thps[2] = { 0, 0 };

	for (int i = 0; i < NR_MOUNTS; i++) {
		struct super_block *sb = m->mounts[i];
		struct inode *inode;

		if (sb && sb->s_op->check)	/* the file system's own (DAX: entries, not folios) */
			st->errors += sb->s_op->check(sb, objects_report, st);
		if (!sb || sb->s_dax)
			continue;
		list_for_each_entry(inode, &sb->s_inodes, i_sb_list) {
			struct address_space *mapping = inode->i_mapping;
			unsigned long index = 0, pages = 0, swapped = 0;
			void *entry;

			xa_for_each(&mapping->i_pages, index, entry) {
				struct folio *folio = entry;

				if (xa_is_value(entry)) {
					swp_entry_t e = { .val = xa_to_value(entry) };

					swapped++;
					if (!sb->s_swapbacked || !swap_info_get(m, e) || !st->swaps[swp_type(e)])
						FAIL(st, INV_SWAP, "%s%s: page %#lx: a swap entry %#lx that names no slot",
						     sb->s_root, inode->i_name, index, (unsigned long)e.val);
					else
						st->swaps[swp_type(e)][swp_offset(e)]++;
					continue;
				}
				/* A large folio fills each of its slots (pagemap.h): met again at every one. */
				if (folio_test_large(folio) && index != folio->index) {
					if (folio->mapping != mapping || index - folio->index >= (unsigned long)folio_nr_pages(folio))
						FAIL(st, INV_OBJECTS, "%s%s: page %#lx: pfn %lu is not a page-cache folio of "
						     "this file at this index", sb->s_root, inode->i_name, index,
						     folio_pfn(m, folio));
					continue;
				}
				pages += (unsigned long)folio_nr_pages(folio);
				if (folio_test_large(folio) &&
				    (folio->index % (unsigned long)folio_nr_pages(folio) ||
				     xa_load(&mapping->i_pages, folio_next_index(folio) - 1) != folio))
					FAIL(st, INV_OBJECTS, "%s%s: page %#lx: large folio pfn %lu is not aligned in the "
					     "cache or does not fill its slots", sb->s_root, inode->i_name, index,
					     folio_pfn(m, folio));
				if (folio_order(folio) == HPAGE_PMD_ORDER)
					thps[sb->s_swapbacked]++;
				if (folio->mapping != mapping || folio->index != index || folio_test_anon(folio) ||
				    folio_test_swapcache(folio) || folio_ref_count(folio) < folio_nr_pages(folio) ||
				    folio_test_swapbacked(folio) != sb->s_swapbacked)
					FAIL(st, INV_OBJECTS, "%s%s: page %#lx: pfn %lu is not a page-cache folio of this "
					     "file at this index", sb->s_root, inode->i_name, index, folio_pfn(m, folio));
				if (folio_test_dirty(folio) && mapping_can_writeback(mapping))
					dirty += folio_nr_pages(folio);
			}
			if (pages != mapping->nrpages || swapped != mapping->nrswapped)
				FAIL(st, INV_COUNTERS, "%s%s: nrpages %lu, nrswapped %lu; the cache holds %lu and %lu",
				     sb->s_root, inode->i_name, mapping->nrpages, mapping->nrswapped, pages, swapped);
			if (sb->s_swapbacked && inode->i_blocks != (int64_t)((pages + swapped) * (PAGE_SIZE / 512)))
				FAIL(st, INV_COUNTERS, "%s%s: i_blocks %lld, but %lu pages are charged", sb->s_root,
				     inode->i_name, (long long)inode->i_blocks, pages + swapped);
			file_pages += (long)pages;
			if (sb->s_swapbacked) {
				shmem_pages += (long)pages;
				/* shmem_acct_size's charge, or shmem_acct_blocks' for each page held */
				st->committed += inode->i_acct_pages + (inode->i_noreserve ? (long)(pages + swapped) : 0);
				if (inode->i_acct_pages && inode->i_noreserve)
					FAIL(st, INV_COMMIT, "%s%s: charged both for its size and page by page",
					     sb->s_root, inode->i_name);
			}
		}
	}
	if (file_pages + global_vm_stat(m, NR_SWAPCACHE) != global_vm_stat(m, NR_FILE_PAGES))
		FAIL(st, INV_COUNTERS, "nr_file_pages is %ld: the page caches hold %ld, the swap cache %ld",
		     global_vm_stat(m, NR_FILE_PAGES), file_pages, global_vm_stat(m, NR_SWAPCACHE));
	if (shmem_pages != global_vm_stat(m, NR_SHMEM))
		FAIL(st, INV_COUNTERS, "nr_shmem is %ld, shmem caches hold %ld", global_vm_stat(m, NR_SHMEM), shmem_pages);
	if (dirty != global_vm_stat(m, NR_FILE_DIRTY))
		FAIL(st, INV_COUNTERS, "nr_dirty is %ld, %ld dirty pages are in caches with writeback",
		     global_vm_stat(m, NR_FILE_DIRTY), dirty);
	if (thps[0] != global_vm_stat(m, NR_FILE_THPS) || thps[1] != global_vm_stat(m, NR_SHMEM_THPS))
		FAIL(st, INV_COUNTERS, "nr_file_hugepages/nr_shmem_hugepages are %ld/%ld, the caches hold %ld/%ld",
		     global_vm_stat(m, NR_FILE_THPS), global_vm_stat(m, NR_SHMEM_THPS), thps[0], thps[1]);
}
