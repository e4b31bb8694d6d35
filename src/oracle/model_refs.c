/*
 * model_refs.c - /proc/PID/clear_refs, process_madvise(2) and the
 * soft-dirty bit in the reference model (Linux 6.18's rules, x86's
 * CONFIG_MEM_SOFT_DIRTY).
 *
 * Soft-dirty is one page flag, MP_SOFTDIRTY: "a CPU store reached this
 * page of this process since the process's last clear_refs 4".  Stores
 * set it (model_write); DMA and device writes through pins do not (a
 * device that maps the page writes without the CPU's write fault).  Fork
 * copies it with the page; it goes with the page where Linux's pte goes
 * none: munmap, MADV_DONTNEED, a guard install, MAP_FIXED over it, a
 * lazily freed page (MADV_FREE clears it: reclaim may drop the page), a
 * VM_WIPEONFORK child.  mremap moves it with the page (Linux even marks
 * every moved pte soft-dirty, move_soft_dirty_pte).  Only anonymous and
 * private copied pages keep it: a page that reads its file's page may lose
 * its pte to reclaim or truncation at any time, and the file's other
 * mappings tell nothing about this one.
 *
 * What the model checks is one direction: a page with the flag must read
 * soft-dirty in pagemap (bit 55).  Swap and migration entries keep the
 * bit, swap-in and swapoff give it back, a THP split copies it to every
 * pte, a collapse makes a dirty pmd: none of those may lose it.  The
 * other direction is beyond the model: a page reads soft-dirty also when
 * its VMA has VM_SOFTDIRTY, which every new VMA has until the next
 * clear_refs 4, and a merge, split or mremap decides which VMAs those are
 * -- bounds the model does not follow -- and mremap marks what it moves.
 *
 * Two cases where Linux itself lets a store go unseen, which the model
 * therefore does not promise (MP_SD_UNSURE until a later clear_refs 4 that
 * meets neither):
 *  - clear_soft_dirty() skips a possibly pinned page of a COW mapping
 *    (pte_is_pinned): its pte stays as it was, writable; if it was not
 *    soft-dirty (made writable while the VMA still had VM_SOFTDIRTY),
 *    later stores go unseen;
 *  - a writable migration entry has its soft-dirty bit cleared but stays
 *    writable, and remove_migration_pte() maps a writable pte without
 *    soft-dirty: stores after the migration go unseen.  The fuzzer holds
 *    migrations half way (--nodes) and says so (unsure).
 */
#include <errno.h>
#include <stdint.h>

#include "oracle/model_internal.h"

#define CLEAR_REFS_SOFT_DIRTY	4

/* Linux 6.1's synchronous collapse; C libraries older than that lack the name */
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif

/*
 * May the folio under addr be pinned by p (a pin, not a reference:
 * FOLL_PIN sets MMF_HAS_PINNED)?  A large folio counts its pins whole, and
 * the model does not know folios: any pin in the same 2 MiB block counts.
 */
#define PMD_BLOCK	(512 * MODEL_PAGE)
static bool page_maybe_pinned(const struct model *md, const struct mproc *p, uint64_t addr)
{
	const struct mpin *pn;

	for_each_live_pin(md, i, pn) {

		if (!pn->alive || pn->kind != MODEL_PIN || &md->procs[pn->proc] != p)
			continue;
		for (uint64_t k = 0; k < pn->npages; k++)
			if (pin_page_addr(pn, k) / PMD_BLOCK == addr / PMD_BLOCK)
				return true;
	}
	return false;
}

int model_clear_refs(struct model *md, int task, int type, bool unsure)
{
	struct mproc *p = task_proc(md, task);

	if (!p)
		return -ESRCH;
	/* 5 resets the peak RSS, which mmlab does not keep (docs/deviations.md): EINVAL, as the others. */
	if (type < 1 || type > CLEAR_REFS_SOFT_DIRTY)
		return -EINVAL;
	if (type != CLEAR_REFS_SOFT_DIRTY)
		return 0;	/* the accessed state: not the model's */
	for (size_t i = 0; i < p->n; i++) {
		struct mpage *pg = &p->pages[i];

		pg->flags &= ~(MP_SOFTDIRTY | MP_SD_UNSURE);
		if (unsure || page_maybe_pinned(md, p, pg->addr))
			pg->flags |= MP_SD_UNSURE;
	}
	return 0;
}

/* The hints one process may give another (process_madvise_remote_valid). */
static bool remote_valid(int advice)
{
	return advice == MADV_COLD || advice == MADV_PAGEOUT || advice == MADV_WILLNEED || advice == MADV_COLLAPSE;
}

long model_process_madvise(struct model *md, int task, int target, const uint64_t *addr, const uint64_t *len,
			   int n, int advice, unsigned flags)
{
	struct mproc *p = task_proc(md, task), *tp = task_proc(md, target);
	uint64_t done = 0;
	long r = 0;

	if (!p)
		return -ESRCH;
	if (flags)
		return -EINVAL;
	if (!tp)
		return -ESRCH;
	if (tp != p && !remote_valid(advice))
		return -EINVAL;
	/*
	 * vector_madvise(): range by range, each as madvise would take it;
	 * the first failure stops the walk.  The result is the length of the
	 * ranges done before it (ranges of length 0 count, as nothing), or
	 * the failure when none was.
	 */
	for (int i = 0; i < n; i++) {
		r = model_madvise(md, target, addr[i], len[i], advice);
		if (r < 0)
			break;
		done += len[i];
	}
	return done ? (long)done : r;
}

bool model_soft_dirty(const struct model *md, int task, uint64_t addr)
{
	const struct mproc *p = task_proc(md, task);
	const struct mpage *pg = p ? find_page(p, addr & ~(MODEL_PAGE - 1)) : NULL;

	return pg && (pg->flags & (MP_SOFTDIRTY | MP_SD_UNSURE)) == MP_SOFTDIRTY && !page_file_view(pg);
}
