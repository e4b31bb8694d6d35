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

/* How many of the n folios from the first have slots in a row on one device: one bio's worth. */
static int swap_run_len(struct folio **folios, int n)
{
	int run = 1;

	while (run < n && swp_type(folios[run]->swap) == swp_type(folios[0]->swap) &&
	       swp_offset(folios[run]->swap) == swp_offset(folios[0]->swap) + (unsigned long)run)
		run++;
	return run;
}

/*
 * Models swap_writepage() for a batch and swap_write_unplug(): the dirty
 * swap-cache folios that one reclaim pass gathered (each locked), every
 * run of contiguous slots written at once.  err[i] is folios[i]'s
 * outcome; a written folio is clean.  Linux starts the writes and the
 * folios stay in writeback until the bio completes; mmlab's complete
 * before this returns, the folios still locked (deviation 78).
 */
void swap_write_folios(struct mml_machine *m, struct folio **folios, int n, int *err)
{
	for (int i = 0, run; i < n; i += run) {
		int ret;

		run = swap_run_len(folios + i, n - i);
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
 * Models swap_read_unplug(): read every run of contiguous slots the plug
 * gathered at once; a folio whose read failed leaves the cache (the slot
 * keeps its data).  Each folio unlocked and the plug's reference dropped.
 */
void swap_read_unplug(struct mml_machine *m, struct swap_iocb *plug)
{
	for (int i = 0, run; i < plug->nr; i += run) {
		int err;

		run = swap_run_len(plug->folios + i, plug->nr - i);
		err = swap_io(m, plug->folios[i]->swap, plug->folios + i, run, false);
		for (int j = i; j < i + run; j++) {
			struct folio *folio = plug->folios[j];

			if (err) {
				folio_clear_readahead(folio);
				delete_from_swap_cache(m, folio);
			} else {
				folio_set_uptodate(folio);
				count_vm_event(m, PSWPIN);
			}
			folio_unlock(folio);
			folio_put(m, folio);
		}
	}
	plug->nr = 0;
}

/* Models swap_read_folio() with a plug: the new folio (locked, in the cache) is read with its neighbours. */
static void swap_read_folio(struct mml_machine *m, struct folio *folio, struct swap_iocb *plug)
{
	folio_get(folio);
	plug->folios[plug->nr++] = folio;
	if (plug->nr == SWAP_CLUSTER_MAX)
		swap_read_unplug(m, plug);
}

/*
 * Models __read_swap_cache_async(): the folio of a slot from the swap
 * cache (*allocated false), or a new one, locked and added to the cache
 * for the caller to read (*allocated true).  With a reference; NULL if
 * memory ran out or the entry went away meanwhile (the caller rechecks
 * its pte).
 */
static struct folio *__read_swap_cache_async(struct mml_machine *m, swp_entry_t entry, gfp_t gfp, bool *allocated)
{
	/* The entry was read locklessly: keep swapoff away meanwhile. */
	struct swap_info_struct *si = get_swap_device(m, entry);
	struct folio *folio = NULL, *new;
	int err;

	*allocated = false;
	if (!si)
		return NULL;
	for (;;) {
		folio = swap_cache_get_folio(m, entry);
		if (folio)
			break;
		/* Swap holds anon pages and shmem's: swap-backed either way. */
		new = folio_alloc(m, gfp, 0);
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
		*allocated = true;
		folio = new;
		break;
	}
	put_swap_device(si);
	return folio;
}

/*
 * Models free_pages_and_swap_cache(): an mmu_gather's batch, after the
 * TLB flush: each folio leaves the swap cache if nothing maps it any more,
 * and its references go FOLIO_BATCH_SIZE folios at a time.
 */
void free_pages_and_swap_cache(struct mml_machine *m, const struct mmu_gather_page *pages, unsigned int nr)
{
	struct folio *folios[FOLIO_BATCH_SIZE];
	int refs[FOLIO_BATCH_SIZE];
	unsigned int n = 0;

	for (unsigned int i = 0; i < nr; i++) {
		free_swap_cache(m, pages[i].folio);
		folios[n] = pages[i].folio;
		refs[n++] = pages[i].refs;
		if (n == FOLIO_BATCH_SIZE || i + 1 == nr) {
			folios_put_refs(m, folios, refs, n);
			n = 0;
		}
	}
}

/*
 * Models read_swap_cache_async(): the folio of a slot, from the swap
 * cache or, new in it, read with the plug's others (swap_read_unplug) or
 * at once without a plug.  With a reference; NULL if memory or the read
 * failed, or the entry went away meanwhile.
 */
struct folio *read_swap_cache_async(struct mml_machine *m, swp_entry_t entry, struct swap_iocb *plug)
{
	struct swap_iocb one = { .nr = 0 };
	bool allocated;
	struct folio *folio = __read_swap_cache_async(m, entry, GFP_HIGHUSER_MOVABLE, &allocated);

	if (!folio || !allocated)
		return folio;
	swap_read_folio(m, folio, plug ? plug : &one);
	if (plug)
		return folio;
	swap_read_unplug(m, &one);
	if (folio_test_uptodate(folio))
		return folio;
	folio_put(m, folio);
	return NULL;
}

/* ---- swap readahead (vm.page-cluster) ---- */

/*
 * swap_readahead_info packs, as Linux's SWAP_RA_VAL: the page address of
 * the last fault (high bits), the window it used (bits 6-11) and the
 * readahead pages faults have hit since (bits 0-5).
 */
#define SWAP_RA_ORDER_CEILING	5
#define SWAP_RA_WIN_SHIFT	(PAGE_SHIFT / 2)
#define SWAP_RA_HITS_MAX	((1UL << SWAP_RA_WIN_SHIFT) - 1)

static unsigned long swap_ra_val(uint64_t addr, unsigned long win, unsigned long hits)
{
	return (unsigned long)(addr & PAGE_MASK) | ((win << SWAP_RA_WIN_SHIFT) & ~PAGE_MASK & ~SWAP_RA_HITS_MAX) |
	       (hits & SWAP_RA_HITS_MAX);
}

static unsigned long swap_ra_win(unsigned long v)
{
	return (v & ~PAGE_MASK) >> SWAP_RA_WIN_SHIFT;
}

/*
 * Models swap_update_readahead(): a fault found its folio in the swap
 * cache.  If readahead brought it, that is a hit, which widens the next
 * window of the VMA (or of the device-order readahead, no VMA).
 */
void swap_update_readahead(struct mml_machine *m, struct folio *folio, struct vm_area_struct *vma, uint64_t addr)
{
	bool readahead = folio_test_clear_readahead(folio);

	if (vma) {
		unsigned long v = (unsigned long)atomic_long_read(&vma->swap_readahead_info);
		unsigned long hits = v & SWAP_RA_HITS_MAX;

		if (readahead && hits < SWAP_RA_HITS_MAX)
			hits++;
		atomic_long_set(&vma->swap_readahead_info, (long)swap_ra_val(addr, swap_ra_win(v), hits));
	}
	if (readahead) {
		count_vm_event(m, SWAP_RA_HIT);
		if (!vma)
			atomic_inc(&m->swapin_readahead_hits);
	}
}

/*
 * Models __swapin_nr_pages(): the next window, from the hits since the
 * last fault (a window one power of two above them) or, with none to go
 * by, 2 if this fault is next to the last one; never more than max, nor
 * less than half the last window (it shrinks slowly).
 */
static unsigned int swapin_nr_pages_win(unsigned long prev, unsigned long cur, unsigned int hits, unsigned int max,
					unsigned int prev_win)
{
	unsigned int pages = hits + 2;

	if (pages == 2) {
		if (cur != prev + 1 && cur + 1 != prev)
			pages = 1;
	} else {
		unsigned int pow = 4;

		while (pow < pages)
			pow <<= 1;
		pages = pow;
	}
	if (pages > max)
		pages = max;
	if (pages < prev_win / 2)
		pages = prev_win / 2;
	return pages;
}

/*
 * Read a window's new folios: those brought for the fault's neighbours
 * are readahead (PG_readahead, swap_ra), the faulting one is not.
 */
static void swap_ra_one(struct mml_machine *m, swp_entry_t entry, bool target, struct swap_iocb *plug)
{
	bool allocated;
	/* A neighbour is not worth reclaim's hardest effort, let alone the OOM killer (deviation 78). */
	gfp_t gfp = target ? GFP_HIGHUSER_MOVABLE : GFP_HIGHUSER_MOVABLE | __GFP_NORETRY | __GFP_NOWARN;
	struct folio *folio = __read_swap_cache_async(m, entry, gfp, &allocated);

	if (!folio)
		return;
	if (allocated) {
		if (!target) {
			folio_set_readahead(folio);
			count_vm_event(m, SWAP_RA);
		}
		swap_read_folio(m, folio, plug);
	}
	folio_put(m, folio);
}

/*
 * Models swap_vma_ra_win() and swap_vma_readahead(): the swap ptes in a
 * window around the fault, within the VMA and the pmd's table -- after
 * the fault if the last one was just before it, before it if just after,
 * else around it -- read in runs of contiguous slots.
 */
static void swap_vma_readahead(struct mml_machine *m, struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	unsigned int cluster = (unsigned int)READ_ONCE(m->page_cluster);
	unsigned int max_win = 1u << (cluster < SWAP_RA_ORDER_CEILING ? cluster : SWAP_RA_ORDER_CEILING);
	uint64_t faddr = vmf->address, prev_faddr, start, end, lo, hi;
	struct swap_iocb plug = { .nr = 0 };
	unsigned long prev;
	unsigned int win, left;

	if (max_win == 1)
		return;
	prev = (unsigned long)atomic_long_read(&vma->swap_readahead_info);
	prev_faddr = prev & PAGE_MASK;
	win = swapin_nr_pages_win((unsigned long)(prev_faddr >> PAGE_SHIFT), (unsigned long)(faddr >> PAGE_SHIFT),
				  (unsigned int)(prev & SWAP_RA_HITS_MAX), max_win, (unsigned int)swap_ra_win(prev));
	atomic_long_set(&vma->swap_readahead_info, (long)swap_ra_val(faddr, win, 0));
	if (win == 1)
		return;
	if (faddr == prev_faddr + PAGE_SIZE)
		left = 0;
	else if (prev_faddr == faddr + PAGE_SIZE)
		left = win - 1;
	else
		left = (win - 1) / 2;
	lo = faddr >= ((uint64_t)left << PAGE_SHIFT) ? faddr - ((uint64_t)left << PAGE_SHIFT) : 0;
	start = lo > vma->vm_start ? lo : vma->vm_start;
	if (start < (faddr & PMD_MASK))
		start = faddr & PMD_MASK;
	hi = faddr + ((uint64_t)(win - left) << PAGE_SHIFT);
	end = hi < vma->vm_end ? hi : vma->vm_end;
	if (end > ((faddr + PAGE_SIZE + PMD_SIZE - 1) & PMD_MASK))
		end = (faddr + PAGE_SIZE + PMD_SIZE - 1) & PMD_MASK;
	for (uint64_t addr = start; addr < end; addr += PAGE_SIZE) {
		pte_t *ptep = pte_offset_map(mm, vmf->pmd, addr, NULL);
		pte_t pte;

		if (!ptep)
			break;	/* the table went away */
		pte = ptep_get(ptep);
		pte_unmap(ptep);
		/* Reading may sleep: no table is held meanwhile. */
		if (is_swap_entry_pte(pte))
			swap_ra_one(m, pte_to_swp_entry(pte), addr == faddr, &plug);
	}
	swap_read_unplug(m, &plug);
}

/*
 * Models swapin_nr_pages() and swap_cluster_readahead(): without a VMA
 * (shmem), the aligned block of slots around the one wanted, its window
 * adapting to the device-order hits as the VMA's does.
 */
static void swap_cluster_readahead(struct mml_machine *m, swp_entry_t entry)
{
	unsigned int cluster = (unsigned int)READ_ONCE(m->page_cluster);
	unsigned long off = swp_offset(entry), mask, first, last, max;
	struct swap_info_struct *si = get_swap_device(m, entry);
	struct swap_iocb plug = { .nr = 0 };
	unsigned int pages, hits;

	if (!si)
		return;
	max = si->max;
	put_swap_device(si);
	if (cluster == 0)
		return;
	hits = (unsigned int)atomic_xchg(&m->swapin_readahead_hits, 0);
	pages = swapin_nr_pages_win(READ_ONCE(m->swapin_prev_offset), off, hits, 1u << (cluster < 31 ? cluster : 31),
				    (unsigned int)atomic_read(&m->last_readahead_pages));
	atomic_set(&m->last_readahead_pages, (int)pages);
	WRITE_ONCE(m->swapin_prev_offset, off);
	mask = pages - 1;
	if (!mask)
		return;
	first = (off & ~mask) ? off & ~mask : 1;	/* never the header */
	last = (off | mask) < max ? off | mask : max - 1;
	for (unsigned long o = first; o <= last; o++)
		swap_ra_one(m, swp_entry(swp_type(entry), o), o == off, &plug);
	swap_read_unplug(m, &plug);
}

/*
 * Models swapin_readahead(), with the swap-cache lookup before it that
 * do_swap_page and shmem_swapin_folio make (swap_cache_get_folio,
 * swap_update_readahead): the folio of entry, with a reference, its
 * neighbours read into the swap cache with it per vm.page-cluster (around
 * the fault's address in its VMA, or vmf NULL: around the slot).  NULL as
 * read_swap_cache_async.
 */
struct folio *swapin_readahead(struct mml_machine *m, swp_entry_t entry, struct vm_fault *vmf)
{
	struct folio *folio = swap_cache_get_folio(m, entry);

	if (folio) {
		swap_update_readahead(m, folio, vmf ? vmf->vma : NULL, vmf ? vmf->address : 0);
		return folio;
	}
	if (vmf)
		swap_vma_readahead(m, vmf);
	else
		swap_cluster_readahead(m, entry);
	/* Most likely read above with the others; else (a failed read, say) on its own. */
	return read_swap_cache_async(m, entry, NULL);
}

/* Models free_swap_cache(): drop an unmapped folio from the swap cache if we can. */
void free_swap_cache(struct mml_machine *m, struct folio *folio)
{
	if (folio_test_swapcache(folio) && !folio_mapped(folio) && folio_trylock(folio)) {
		folio_free_swap(m, folio);
		folio_unlock(folio);
	}
}
