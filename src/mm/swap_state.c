/*
 * swap_state.c - the swap cache and swap I/O (Linux's mm/swap_state.c and
 * mm/page_io.c).
 *
 * The swap cache maps a slot to the folio that holds its data in memory:
 * while a folio is in it, PG_swapcache is set, folio->swap holds the
 * entry, the cache holds one reference and the slot has SWAP_HAS_CACHE.
 * Reads and writes go to the device's host file (preadv/pwritev, a run of
 * contiguous slots at a time) or memory.
 */
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "mm/internal.h"

/* Models add_to_swap_cache(); the slot's SWAP_HAS_CACHE is already ours. */
void add_to_swap_cache(struct mml_machine *m, struct folio *folio, swp_entry_t entry)
{
	struct swap_info_struct *si = swap_info_get(m, entry);

	VM_BUG_ON_FOLIO(folio_test_swapcache(folio), m, folio);
	folio_get(folio);
	spin_lock(&si->lock);
	VM_BUG_ON(si->cache[swp_offset(entry)]);
	si->cache[swp_offset(entry)] = folio;
	folio->swap = entry;
	folio_set_swapcache(folio);
	spin_unlock(&si->lock);
	mod_vm_stat(m, NR_SWAPCACHE, 1);
	mod_vm_stat(m, NR_FILE_PAGES, 1);	/* Linux counts the swap cache in nr_file_pages */
}

/* Models delete_from_swap_cache(): the folio locked, the cache's reference dropped. */
void delete_from_swap_cache(struct mml_machine *m, struct folio *folio)
{
	swp_entry_t entry = folio->swap;
	struct swap_info_struct *si = swap_info_get(m, entry);

	VM_BUG_ON_FOLIO(!folio_test_locked(folio) || !folio_test_swapcache(folio), m, folio);
	spin_lock(&si->lock);
	si->cache[swp_offset(entry)] = NULL;
	folio_clear_swapcache(folio);
	folio->swap.val = 0;
	spin_unlock(&si->lock);
	mod_vm_stat(m, NR_SWAPCACHE, -1);
	mod_vm_stat(m, NR_FILE_PAGES, -1);
	put_swap_folio(m, entry);
	folio_put(m, folio);
}

/* Models swap_cache_get_folio(): the cached folio of a slot, with a reference. */
struct folio *swap_cache_get_folio(struct mml_machine *m, swp_entry_t entry)
{
	struct swap_info_struct *si = swap_info_get(m, entry);
	struct folio *folio;

	if (!si)
		return NULL;
	spin_lock(&si->lock);
	folio = si->cache[swp_offset(entry)];
	if (folio && !folio_try_get(folio))
		folio = NULL;
	spin_unlock(&si->lock);
	return folio;
}

/*
 * Models folio_free_swap(): the folio locked, drop it from the swap cache
 * if no swap pte needs the slot any more.  Its only copy is then in
 * memory: it is dirty (the "dirty handling Linux has today").
 */
bool folio_free_swap(struct mml_machine *m, struct folio *folio)
{
	if (!folio_test_swapcache(folio) || folio_test_writeback(folio))
		return false;
	if (swap_count(m, folio->swap))
		return false;
	delete_from_swap_cache(m, folio);
	folio_set_dirty(folio);
	return true;
}

/* Models add_to_swap(): give an anon folio a slot and put it in the swap cache. */
bool add_to_swap(struct mml_machine *m, struct folio *folio)
{
	swp_entry_t entry = folio_alloc_swap(m);

	if (!entry.val)
		return false;
	add_to_swap_cache(m, folio, entry);
	/* Whatever it held, the slot has no copy yet: it must be written. */
	folio_set_dirty(folio);
	return true;
}

/* A swap read or write in a deterministic run: the device's time on the virtual clock. */
#define SWAP_IO_MS	1

/*
 * A run of pages at contiguous slots of one device from entry on, to or
 * from the folios' frames (each locked): Linux's bio that the plug merged
 * from adjacent folios, here one pwritev or preadv.  The transfer itself
 * is synchronous; in a deterministic run the thread first waits as one
 * sleeping on the device would (io_wait, once for the run), so that
 * others run while the folios are locked for I/O -- the moment another
 * fault finds one in the swap cache and waits for its lock.
 */
static int swap_io(struct mml_machine *m, swp_entry_t entry, struct folio **folios, int n, bool write)
{
	struct swap_info_struct *si = swap_info_get(m, entry);
	off_t pos = (off_t)swp_offset(entry) << PAGE_SHIFT;
	struct iovec iov[SWAP_CLUSTER_MAX];
	ssize_t done;

	VM_BUG_ON(n > SWAP_CLUSTER_MAX);
	if (should_fail(m, MML_FAIL_SWAP_IO))
		return -EIO;
	io_wait(SWAP_IO_MS);
	for (int i = 0; i < n; i++) {
		void *buf = folio_address(m, folios[i]);

		if (si->mem) {
			/* A frame's bytes: the copy may race a device writing through a pin. */
			if (write)
				page_data_copy(si->mem + pos + ((off_t)i << PAGE_SHIFT), buf, PAGE_SIZE);
			else
				page_data_copy(buf, si->mem + pos + ((off_t)i << PAGE_SHIFT), PAGE_SIZE);
		}
		iov[i] = (struct iovec){ .iov_base = buf, .iov_len = PAGE_SIZE };
	}
	if (si->mem)
		return 0;
	done = write ? pwritev(si->fd, iov, n, pos) : preadv(si->fd, iov, n, pos);
	return done == (ssize_t)n * PAGE_SIZE ? 0 : -EIO;
}

/* Does folio b's slot follow folio a's on the same device? */
static bool swap_slots_adjacent(struct folio *a, struct folio *b)
{
	return swp_type(a->swap) == swp_type(b->swap) && swp_offset(b->swap) == swp_offset(a->swap) + 1;
}

/*
 * Models swap_writepage() for a batch and swap_write_unplug(): the dirty
 * swap-cache folios that one reclaim pass gathered (each locked), every
 * run of contiguous slots written at once.  err[i] is folios[i]'s
 * outcome; a written folio is clean.  Linux starts the writes and the
 * folios stay in writeback until the bio completes; mmlab's complete
 * before this returns, the folios still locked (deviation 75).
 */
void swap_write_folios(struct mml_machine *m, struct folio **folios, int n, int *err)
{
	for (int i = 0, run; i < n; i += run) {
		int ret;

		for (run = 1; i + run < n && swap_slots_adjacent(folios[i + run - 1], folios[i + run]); run++)
			;
		ret = swap_io(m, folios[i]->swap, folios + i, run, true);
		for (int j = i; j < i + run; j++) {
			err[j] = ret;
			if (ret)
				continue;
			folio_clear_dirty(folios[j]);
			count_vm_event(m, PSWPOUT);
		}
	}
}

/*
 * Models swapin_folio() / read_swap_cache_async(): the folio of a slot,
 * from the swap cache or read from the device into a new one that joins
 * the cache.  With a reference; NULL if memory or the read failed, or the
 * entry went away meanwhile (the caller rechecks its pte).
 */
struct folio *swapin_folio(struct mml_machine *m, swp_entry_t entry, struct vm_area_struct *vma, uint64_t addr)
{
	/* The entry was read locklessly: keep swapoff away meanwhile (__read_swap_cache_async). */
	struct swap_info_struct *si = get_swap_device(m, entry);
	struct folio *folio = NULL, *new;
	int err;

	if (!si)
		return NULL;
	for (;;) {
		folio = swap_cache_get_folio(m, entry);
		if (folio)
			break;
		/* Swap holds anon pages and shmem's (vma NULL): swap-backed either way. */
		new = folio_alloc(m, GFP_HIGHUSER_MOVABLE, 0);
		if (!new)
			break;
		__folio_set_swapbacked(new);
		err = swapcache_prepare(m, entry);
		if (err) {
			folio_put(m, new);
			if (err != -EEXIST)
				break;
			/*
			 * Someone else holds the slot for the cache (adding its
			 * folio, or deleting one) without the folio being there:
			 * give it a jiffy, as Linux does, then look again.
			 */
			msleep(1);
			continue;
		}
		/* Nobody can see new yet: lock it before the cache publishes it. */
		__folio_set_locked(new);
		add_to_swap_cache(m, new, entry);
		folio_add_lru(m, new);
		err = swap_io(m, entry, &new, 1, false);
		if (err) {
			/* The slot keeps its data; drop this attempt. */
			delete_from_swap_cache(m, new);
			folio_unlock(new);
			folio_put(m, new);
			break;
		}
		folio_set_uptodate(new);
		count_vm_event(m, PSWPIN);
		folio_unlock(new);
		folio = new;
		break;
	}
	put_swap_device(si);
	return folio;
}

/* Models free_swap_cache(): drop an unmapped folio from the swap cache if we can. */
void free_swap_cache(struct mml_machine *m, struct folio *folio)
{
	if (folio_test_swapcache(folio) && !folio_mapped(folio) && folio_trylock(folio)) {
		folio_free_swap(m, folio);
		folio_unlock(folio);
	}
}
