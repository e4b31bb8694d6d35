/*
 * swapfile.c - swap devices and their slot counts (Linux's mm/swapfile.c):
 * swapon, swapoff (try_to_unuse / unuse_pte), slot allocation, and the
 * swap_map arithmetic of swap_duplicate, swap_free and the swap cache bit.
 *
 * Lock order: pte lock -> si->lock (swap_duplicate under the pte lock);
 * si->lock -> ci->lock (a cluster's count and list: a leaf);
 * machine->swap_lock -> si->lock.  machine->nr_swap_pages is atomic and
 * changes only under the si->lock of the device whose slots come or go
 * (with SWP_WRITEOK, which that lock also guards), so a slot freed under
 * si->lock never needs swap_lock.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mm/internal.h"
#include "mm/ksm.h"
#include "mm/pagewalk.h"

struct swap_info_struct *swap_info_get(struct mml_machine *m, swp_entry_t entry)
{
	struct swap_info_struct *si;
	unsigned type = swp_type(entry);

	if (type >= MAX_SWAPFILES)
		return NULL;
	si = READ_ONCE(m->swap_info[type]);
	if (!si || !(READ_ONCE(si->flags) & SWP_USED) || !swp_offset(entry) || swp_offset(entry) >= si->max)
		return NULL;
	return si;
}

/*
 * si->users as Linux's percpu_ref: SWAP_USERS_LIVE stands for the initial
 * reference, which swapoff drops (percpu_ref_kill) once every page is
 * back; from then on no new user gets in, and swapoff waits for the count
 * to reach zero before the device goes.
 */
#define SWAP_USERS_LIVE	(1 << 30)

/*
 * Models get_swap_device(): keep the device of an entry that was read
 * without anything else holding swapoff off (no pte lock over a swap pte
 * naming it, no swap-cache folio locked on it) until put_swap_device().
 * NULL if the device is gone or going: the entry was stale, as the
 * caller's recheck of its pte will show.  The pointer is read under RCU:
 * swapoff frees the struct only after a grace period (Linux never frees
 * it, reusing it for the next swapon).
 */
struct swap_info_struct *get_swap_device(struct mml_machine *m, swp_entry_t entry)
{
	struct swap_info_struct *si;
	int users;

	if (swp_type(entry) >= MAX_SWAPFILES)
		return NULL;
	rcu_read_lock();
	si = READ_ONCE(m->swap_info[swp_type(entry)]);
	/* percpu_ref_tryget_live() */
	users = si ? atomic_read(&si->users) : 0;
	while (users & SWAP_USERS_LIVE) {
		int old = atomic_cmpxchg(&si->users, users, users + 1);

		if (old == users)
			break;
		users = old;
	}
	rcu_read_unlock();
	if (!(users & SWAP_USERS_LIVE))
		return NULL;
	if (!swp_offset(entry) || swp_offset(entry) >= si->max) {
		put_swap_device(si);
		return NULL;
	}
	return si;
}

void put_swap_device(struct swap_info_struct *si)
{
	/* The last user after swapoff's kill lets swapoff go on (the percpu_ref's release). */
	if (!atomic_dec_return(&si->users))
		wake_up_var(&si->users);
}

static bool swap_users_gone(void *arg)
{
	struct swap_info_struct *si = arg;

	return !atomic_read(&si->users);
}

/* ---- clusters ------------------------------------------------------------------ */

static struct swap_cluster_info *offset_to_cluster(struct swap_info_struct *si, unsigned long off)
{
	return &si->cluster_info[off / SWAPFILE_CLUSTER];
}

/*
 * Models move_cluster(), relocate_cluster() after an allocation and
 * free_cluster() / partial_free_cluster() after a free: the cluster goes
 * to the free list when empty, the full list when full, else to the frag
 * list after an allocation and the nonfull list after a free.  si->lock
 * and ci->lock held.
 */
static void relocate_cluster(struct swap_info_struct *si, struct swap_cluster_info *ci, bool freed)
{
	unsigned int flags = !ci->count ? CLUSTER_FLAG_FREE :
			     ci->count == SWAPFILE_CLUSTER ? CLUSTER_FLAG_FULL :
			     freed ? CLUSTER_FLAG_NONFULL : CLUSTER_FLAG_FRAG;
	struct list_head *head[] = {
		[CLUSTER_FLAG_FREE] = &si->free_clusters,
		[CLUSTER_FLAG_NONFULL] = &si->nonfull_clusters,
		[CLUSTER_FLAG_FRAG] = &si->frag_clusters,
		[CLUSTER_FLAG_FULL] = &si->full_clusters,
	};

	lockdep_assert_held_spin(&si->lock);
	if (ci->flags == flags)
		return;
	list_del(&ci->list);
	list_add_tail(&ci->list, head[flags]);
	ci->flags = flags;
}

/* Models swap_range_alloc's and swap_range_free's count of the cluster: one slot taken (+1) or freed (-1). */
static void cluster_count_slot(struct swap_info_struct *si, unsigned long off, int delta)
{
	struct swap_cluster_info *ci = offset_to_cluster(si, off);

	spin_lock(&ci->lock);
	ci->count += delta;
	relocate_cluster(si, ci, delta < 0);
	spin_unlock(&ci->lock);
}

/*
 * Models alloc_swap_scan_cluster() for one slot: the first free one from
 * off to the cluster's end.  0 if none.
 */
static unsigned long alloc_swap_scan_cluster(struct swap_info_struct *si, unsigned long off)
{
	unsigned long end = (off / SWAPFILE_CLUSTER + 1) * SWAPFILE_CLUSTER;

	if (end > si->max)
		end = si->max;
	for (; off < end; off++)
		if (!si->swap_map[off])
			return off;
	return 0;
}

/*
 * Models cluster_alloc_swap_entry() for order 0, under si->lock: first
 * the cluster where this CPU left off (*next), then a nonfull cluster,
 * a free one, a frag one (another CPU's, most likely).  *next becomes the
 * slot after the one taken, or 0 at the cluster's end.  Linux takes only
 * ci->lock on the first path and has no higher orders to steal from
 * here: deviation 78.
 */
static unsigned long cluster_alloc_swap_entry(struct swap_info_struct *si, unsigned long *next)
{
	struct list_head *lists[] = { &si->nonfull_clusters, &si->free_clusters, &si->frag_clusters };
	unsigned long off = 0;

	lockdep_assert_held_spin(&si->lock);
	if (*next && *next < si->max)
		off = alloc_swap_scan_cluster(si, *next);
	for (int i = 0; i < 3 && !off; i++) {
		struct swap_cluster_info *ci;

		/* Only the full list's clusters have no free slot: the counts are exact. */
		if (list_empty(lists[i]))
			continue;
		ci = list_first_entry(lists[i], struct swap_cluster_info, list);
		off = alloc_swap_scan_cluster(si, (unsigned long)(ci - si->cluster_info) * SWAPFILE_CLUSTER);
		VM_BUG_ON(!off);
	}
	if (!off)
		return 0;
	si->swap_map[off] = SWAP_HAS_CACHE;
	cluster_count_slot(si, off, 1);
	*next = (off + 1) % SWAPFILE_CLUSTER ? off + 1 : 0;
	return off;
}

/*
 * Models folio_alloc_swap(): a slot on the highest-priority device with
 * room, owned by the swap cache (SWAP_HAS_CACHE) until a pte names it.
 * The calling task's cluster first (swap_alloc_fast); kswapd, which has
 * no task here, uses the device's global cluster, as Linux does for a
 * rotating disk.
 */
swp_entry_t folio_alloc_swap(struct mml_machine *m)
{
	struct percpu_swap_cluster *pcp = current ? &current->swap_cluster : NULL;
	struct swap_info_struct *best = NULL;
	unsigned long off = 0;

	if (should_fail(m, MML_FAIL_SWAP_SLOT))
		return (swp_entry_t){ 0 };
	spin_lock(&m->swap_lock);
	for (int i = 0; i < MAX_SWAPFILES; i++) {
		struct swap_info_struct *si = m->swap_info[i];

		/* A full device is skipped on a hint; the cluster lists decide under si->lock. */
		if (si && (si->flags & SWP_WRITEOK) && READ_ONCE(si->inuse_pages) < si->max - 1 &&
		    (!best || si->prio > best->prio))
			best = si;
	}
	if (best) {
		spin_lock(&best->lock);
		if (!pcp) {
			off = cluster_alloc_swap_entry(best, &best->global_cluster);
		} else {
			/* Another device's offset (or a device gone since) is no hint here. */
			if (pcp->si != best)
				pcp->offset = 0;
			off = cluster_alloc_swap_entry(best, &pcp->offset);
			pcp->si = best;
		}
		if (off) {
			WRITE_ONCE(best->inuse_pages, best->inuse_pages + 1);
			atomic_long_add(-1, &m->nr_swap_pages);
		}
		spin_unlock(&best->lock);
	}
	spin_unlock(&m->swap_lock);
	return off ? swp_entry(best->type, off) : (swp_entry_t){ 0 };
}

/* Models swap_entry_put_locked(): drop one use (a pte's, or the cache's). */
static unsigned char __swap_entry_free(struct mml_machine *m, struct swap_info_struct *si, uint64_t off,
				       unsigned char usage)
{
	unsigned char count = si->swap_map[off], has_cache = count & SWAP_HAS_CACHE;

	count &= ~SWAP_HAS_CACHE;
	if (usage == SWAP_HAS_CACHE) {
		VM_BUG_ON(!has_cache);
		has_cache = 0;
	} else if (!count) {
		/*
		 * More swap ptes gone than swap_duplicate() counted: Linux's
		 * swap_info_get() says "Unused swap offset entry" and leaves
		 * the slot alone; here the report fails the run.
		 */
		mml_report(m, "swap_free: unused swap offset entry %d:%#llx (no swap pte counted on it)",
			   si->type, (unsigned long long)off);
		return si->swap_map[off];
	} else {
		count--;
	}
	si->swap_map[off] = count | has_cache;
	if (!si->swap_map[off]) {
		arch_swap_invalidate_page(m, si->type, off);
		cluster_count_slot(si, off, -1);
		WRITE_ONCE(si->inuse_pages, si->inuse_pages - 1);
		/* si->lock keeps SWP_WRITEOK still; swap_lock would invert the lock order. */
		if (si->flags & SWP_WRITEOK)
			atomic_long_add(1, &m->nr_swap_pages);
	}
	return si->swap_map[off];
}

/* Models swap_free(): a swap pte is gone. */
void swap_free(struct mml_machine *m, swp_entry_t entry)
{
	struct swap_info_struct *si = swap_info_get(m, entry);

	if (!si) {
		mml_report(m, "swap_free of a bad entry %#llx", (unsigned long long)entry.val);
		return;
	}
	spin_lock(&si->lock);
	__swap_entry_free(m, si, swp_offset(entry), 1);
	spin_unlock(&si->lock);
}

/* Models put_swap_folio(): the swap cache lets go of the slot. */
void put_swap_folio(struct mml_machine *m, swp_entry_t entry)
{
	struct swap_info_struct *si = swap_info_get(m, entry);

	spin_lock(&si->lock);
	__swap_entry_free(m, si, swp_offset(entry), SWAP_HAS_CACHE);
	spin_unlock(&si->lock);
}

/*
 * Models __swap_duplicate(): one more pte (usage 1) or the swap cache
 * (SWAP_HAS_CACHE) takes the slot.  -ENOENT: nobody uses it (a stale
 * entry); -EEXIST: the cache already has it; -ENOMEM: the count is full.
 */
static int __swap_duplicate(struct mml_machine *m, swp_entry_t entry, unsigned char usage)
{
	struct swap_info_struct *si = swap_info_get(m, entry);
	unsigned char count, has_cache;
	int err = 0;

	if (!si)
		return -ENOENT;
	spin_lock(&si->lock);
	count = si->swap_map[swp_offset(entry)];
	has_cache = count & SWAP_HAS_CACHE;
	count &= ~SWAP_HAS_CACHE;
	if (count == SWAP_MAP_BAD) {
		err = -ENOENT;
	} else if (usage == SWAP_HAS_CACHE) {
		if (!count && !has_cache)
			err = -ENOENT;
		else if (has_cache)
			err = -EEXIST;
		else
			has_cache = SWAP_HAS_CACHE;
	} else if (!count && !has_cache) {
		err = -ENOENT;
	} else if (count < SWAP_MAP_MAX) {
		count++;
	} else {
		err = -ENOMEM;	/* no swap count continuation in mmlab */
	}
	if (!err)
		si->swap_map[swp_offset(entry)] = count | has_cache;
	spin_unlock(&si->lock);
	return err;
}

int swap_duplicate(struct mml_machine *m, swp_entry_t entry)
{
	return __swap_duplicate(m, entry, 1);
}

int swapcache_prepare(struct mml_machine *m, swp_entry_t entry)
{
	return __swap_duplicate(m, entry, SWAP_HAS_CACHE);
}

/* The number of swap ptes naming the slot (swp_swapcount without continuations). */
int swap_count(struct mml_machine *m, swp_entry_t entry)
{
	struct swap_info_struct *si = swap_info_get(m, entry);
	int n;

	if (!si)
		return 0;
	spin_lock(&si->lock);
	n = si->swap_map[swp_offset(entry)] & ~SWAP_HAS_CACHE;
	spin_unlock(&si->lock);
	return n;
}

/*
 * Models free_swap_and_cache(): a swap pte is zapped.  If only the swap
 * cache still holds the slot and nobody maps the folio, drop the folio
 * from the cache too (__try_to_reclaim_swap).
 */
void free_swap_and_cache(struct mml_machine *m, swp_entry_t entry)
{
	struct swap_info_struct *si = swap_info_get(m, entry);
	struct folio *folio = NULL;
	unsigned char left;

	if (!si) {
		mml_report(m, "zap of a bad swap entry %#llx", (unsigned long long)entry.val);
		return;
	}
	spin_lock(&si->lock);
	left = __swap_entry_free(m, si, swp_offset(entry), 1);
	if (left == SWAP_HAS_CACHE) {
		folio = si->cache[swp_offset(entry)];
		if (folio && !folio_try_get(folio))
			folio = NULL;
	}
	spin_unlock(&si->lock);
	if (!folio)
		return;
	if (folio_trylock(folio)) {
		if (!folio_mapped(folio))
			folio_free_swap(m, folio);
		folio_unlock(folio);
	}
	folio_put(m, folio);
}

/* ---- swapon ------------------------------------------------------------------ */

/*
 * Models setup_clusters(): every cluster on the free list but for what is
 * not a slot: the header, and the tail of a short last cluster, which
 * count as used for good.  The device is not published yet.
 */
static void setup_clusters(struct swap_info_struct *si)
{
	INIT_LIST_HEAD(&si->free_clusters);
	INIT_LIST_HEAD(&si->nonfull_clusters);
	INIT_LIST_HEAD(&si->frag_clusters);
	INIT_LIST_HEAD(&si->full_clusters);
	for (unsigned long i = 0; i < si->nr_clusters; i++) {
		struct swap_cluster_info *ci = &si->cluster_info[i];

		spin_lock_init(&ci->lock);
		ci->flags = CLUSTER_FLAG_FREE;
		list_add_tail(&ci->list, &si->free_clusters);
	}
	spin_lock(&si->lock);
	cluster_count_slot(si, 0, 1);
	for (unsigned long off = si->max; off < si->nr_clusters * SWAPFILE_CLUSTER; off++)
		cluster_count_slot(si, off, 1);
	spin_unlock(&si->lock);
}

int mml_swapon(struct mml_machine *m, const char *path, uint64_t bytes, int prio)
{
	struct swap_info_struct *si;
	unsigned long max = bytes >> PAGE_SHIFT;
	int type = -1, err;

	if (max < 2 || max > (1UL << 32) || prio > 32767)
		return -EINVAL;
	op_enter(m, NULL);
	si = mml_obj_alloc(m, OBJ_SWAP, sizeof(*si));
	if (!si)
		return op_exit(m, -ENOMEM);
	si->swap_map = calloc(max, 1);
	si->cache = calloc(max, sizeof(*si->cache));
	si->nr_clusters = (max + SWAPFILE_CLUSTER - 1) / SWAPFILE_CLUSTER;
	si->cluster_info = calloc(si->nr_clusters, sizeof(*si->cluster_info));
	si->fd = -1;
	if (!si->swap_map || !si->cache || !si->cluster_info) {
		err = -ENOMEM;
		goto fail;
	}
	if (path) {
		si->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (si->fd < 0 || ftruncate(si->fd, (off_t)(max << PAGE_SHIFT))) {
			err = -errno;
			goto fail;
		}
	} else {
		si->mem = mmap(NULL, max << PAGE_SHIFT, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (si->mem == MAP_FAILED) {
			si->mem = NULL;
			err = -ENOMEM;
			goto fail;
		}
	}
	spin_lock_init(&si->lock);
	si->max = max;
	si->swap_map[0] = SWAP_MAP_BAD;		/* the header page */
	setup_clusters(si);

	spin_lock(&m->swap_lock);
	for (int i = 0; i < MAX_SWAPFILES && type < 0; i++)
		if (!m->swap_info[i])
			type = i;
	if (type < 0 || arch_swap_init_area(m, (unsigned)type, max)) {
		spin_unlock(&m->swap_lock);
		spin_lock_destroy(&si->lock);
		for (unsigned long i = 0; i < si->nr_clusters; i++)
			spin_lock_destroy(&si->cluster_info[i].lock);
		err = type < 0 ? -EPERM : -ENOMEM;	/* MAX_SWAPFILES reached: sys_swapon's EPERM */
		goto fail;
	}
	si->type = type;
	/* Like Linux, no priority given means below every other device. */
	si->prio = prio;
	if (prio < 0) {
		si->prio = -1;
		for (int i = 0; i < MAX_SWAPFILES; i++)
			if (m->swap_info[i] && m->swap_info[i]->prio <= si->prio)
				si->prio = m->swap_info[i]->prio - 1;
	}
	si->flags = SWP_USED | SWP_WRITEOK;
	atomic_set(&si->users, SWAP_USERS_LIVE);
	atomic_long_add((long)max - 1, &m->nr_swap_pages);
	WRITE_ONCE(m->total_swap_pages, m->total_swap_pages + (long)max - 1);
	WRITE_ONCE(m->swap_info[type], si);
	spin_unlock(&m->swap_lock);
	return op_exit(m, type);

fail:
	if (si->fd >= 0) {
		close(si->fd);
		if (path)
			unlink(path);
	}
	free(si->swap_map);
	free(si->cache);
	free(si->cluster_info);
	mml_obj_free(m, OBJ_SWAP, si);
	return op_exit(m, err);
}

/* ---- swapoff: try_to_unuse ------------------------------------------------------ */

/*
 * unuse_pte(): map the swapped-in folio where the swap pte was, read-only
 * and old, exclusive if the entry said so; the page is the folio's one
 * that holds the slot.  folio is the swap cache's, or (folio != swapcache)
 * the private copy ksm_might_need_to_copy made of it: new, ours alone.
 */
static void unuse_pte(struct vm_area_struct *vma, pte_t *ptep, pte_t orig, uint64_t addr, swp_entry_t entry,
		      struct folio *folio, struct folio *swapcache)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	struct page *page = folio != swapcache ? &folio->page :
			    folio_page(folio, swp_offset(entry) - swp_offset(folio->swap));
	bool exclusive = pte_swp_exclusive(orig);
	pte_t pte;

	folio_get(folio);
	add_mm_counter(mm, MM_SWAPENTS, -1);
	add_mm_counter(mm, MM_ANONPAGES, 1);
	if (folio == swapcache) {
		folio_add_anon_rmap_pte(folio, page, vma, addr, exclusive ? RMAP_EXCLUSIVE : RMAP_NONE);
	} else {
		folio_add_new_anon_rmap(folio, vma, addr, RMAP_EXCLUSIVE);
		folio_add_lru_vma(folio, vma);
	}
	pte = pte_mkold(pfn_pte(page_to_pfn(m, page), vma->vm_page_prot));
	if (pte_swp_soft_dirty(orig))
		pte = pte_mksoft_dirty(pte);
	if (pte_swp_uffd_wp(orig))
		pte = pte_mkuffd_wp(pte);
	/* As do_swap_page: the saved tags go back before the slot may be freed (seed 000). */
	if (!bug_enabled(m, BUG_SWAPOFF_NO_TAG_RESTORE))
		arch_swap_restore(m, entry, folio);
	set_pte_at(mm, addr, ptep, pte);
	swap_free(m, entry);
}

/*
 * unuse_pte_range(): the swap ptes of device type under one pmd.  Each is
 * read without the lock, its folio read in (which may sleep), then mapped
 * under the lock if the pte is still the same.  walk->private: the type;
 * a failure to read one in stops the walk with -ENOMEM.
 */
static int unuse_pte_range(pmd_t *pmd, uint64_t addr, uint64_t end, struct mm_walk *walk)
{
	struct vm_area_struct *vma = walk->vma;
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	unsigned type = *(unsigned *)walk->private;

	if (pmd_trans_huge(pmdp_get(pmd)))
		return 0;	/* a leaf has no swap entries */
	if (pmd_no_table(mm, pmdp_get(pmd), addr, "swapoff"))
		return 0;
	for (; addr < end; addr += PAGE_SIZE) {
		pte_t *ptep = pte_offset_map(mm, pmd, addr, NULL);
		struct folio *folio, *copy;
		swp_entry_t entry;
		spinlock_t *ptl;
		pte_t pte;

		if (!ptep)
			return 0;	/* the table went away */
		pte = ptep_get(ptep);
		pte_unmap(ptep);
		if (!is_swap_entry_pte(pte) || swp_type(pte_to_swp_entry(pte)) != type)
			continue;
		entry = pte_to_swp_entry(pte);
		/* As Linux's: the folio from the swap cache, else read ahead from the pte on. */
		folio = swap_cache_get_folio(m, entry);
		if (!folio) {
			struct vm_fault vmf = { .vma = vma, .address = addr, .pmd = pmd };

			folio = swapin_readahead(m, entry, &vmf);
		}
		if (!folio) {
			bool gone;

			/* Zapped meanwhile (an OOM victim reaped, say): nothing to bring back. */
			ptep = pte_offset_map_lock(mm, pmd, addr, &ptl);
			gone = !ptep || !pte_same(ptep_get(ptep), pte);
			if (ptep)
				pte_unmap_unlock(ptep, ptl);
			if (gone)
				continue;
			return -ENOMEM;
		}
		folio_lock(folio);
		/* A KSM page's slot is shared by its mappings: the other addresses get copies. */
		copy = ksm_might_need_to_copy(folio, vma, addr);
		if (!copy) {
			folio_unlock(folio);
			folio_put(m, folio);
			return -ENOMEM;
		}
		ptep = pte_offset_map_lock(mm, pmd, addr, &ptl);
		if (ptep && pte_same(ptep_get(ptep), pte))
			unuse_pte(vma, ptep, pte, addr, entry, copy, folio);
		if (ptep)
			pte_unmap_unlock(ptep, ptl);
		if (copy != folio) {
			folio_unlock(copy);
			folio_put(m, copy);
		}
		folio_unlock(folio);
		folio_put(m, folio);
	}
	return 0;
}

static const struct mm_walk_ops unuse_walk_ops = {
	.pmd_entry = unuse_pte_range,
};

/* unuse_mm() for every live address space, each held by a user reference while we walk it. */
static int unuse_mms(struct mml_machine *m, struct swap_info_struct *si)
{
	struct mm_struct *mm, **mms;
	long n = 0, cap = 0;
	int err = 0;

	spin_lock(&m->tasks_lock);
	list_for_each_entry(mm, &m->mms, mm_node)
		cap++;
	mms = calloc((size_t)cap + 1, sizeof(*mms));
	if (!mms) {
		spin_unlock(&m->tasks_lock);
		return -ENOMEM;
	}
	list_for_each_entry(mm, &m->mms, mm_node)
		if (atomic_add_unless(&mm->mm_users, 1, 0))
			mms[n++] = mm;
	spin_unlock(&m->tasks_lock);
	for (long i = 0; i < n; i++) {
		unsigned type = (unsigned)si->type;
		struct vm_area_struct *vma;

		down_read(&mms[i]->mmap_lock);
		for_each_vma(mms[i], vma)
			if (vma->anon_vma && !err)
				err = walk_page_vma(vma, &unuse_walk_ops, &type);
		up_read(&mms[i]->mmap_lock);
		mmput(mms[i]);
	}
	free(mms);
	return err;
}

/* Passes in a row that may bring nothing back before swapoff gives up (Linux: until a signal). */
#define UNUSE_FRUITLESS_PASSES	1024

/*
 * Models try_to_unuse(): every swap pte of the device, then its swap
 * cache, and again while a slot is still in use.  A pass can leave some:
 * a fork copies swap ptes into an mm the pass did not hold, an exiting mm
 * (which it could not hold) frees its own at its own pace, and reclaim
 * unmaps a swap-cache folio back to its slot behind the walk.  Linux
 * retries until a signal stops it; mml_swapoff has no task to signal, so
 * it gives up (-ENOMEM, the device staying on) after
 * UNUSE_FRUITLESS_PASSES passes in a row that freed no slot.  Others run
 * between passes (cond_resched).  -ENOMEM too if a page cannot come back.
 */
static int try_to_unuse(struct mml_machine *m, struct swap_info_struct *si)
{
	unsigned long left = READ_ONCE(si->inuse_pages);
	int fruitless = 0, err;

	while (left) {
		err = shmem_unuse(m, (unsigned)si->type);
		if (!err)
			err = unuse_mms(m, si);
		if (err)
			return err;
		/* What is left is only in the swap cache (or named by nobody). */
		for (unsigned long off = 1; off < si->max && READ_ONCE(si->inuse_pages); off++) {
			struct folio *folio;

			spin_lock(&si->lock);
			folio = si->cache[off];
			if (folio && !folio_try_get(folio))
				folio = NULL;
			spin_unlock(&si->lock);
			if (!folio)
				continue;
			/* It may have left the cache, even for another slot, before we locked it. */
			folio_lock(folio);
			if (folio_test_swapcache(folio))
				folio_free_swap(m, folio);
			folio_unlock(folio);
			folio_put(m, folio);
		}
		if (READ_ONCE(si->inuse_pages) < left)
			fruitless = 0;
		else if (++fruitless == UNUSE_FRUITLESS_PASSES)
			return -ENOMEM;
		left = READ_ONCE(si->inuse_pages);
		cond_resched();
	}
	return 0;
}

static void swap_info_free(struct mml_machine *m, struct swap_info_struct *si)
{
	/* Whoever freed the last slot under si->lock may still be inside it. */
	spin_lock(&si->lock);
	spin_unlock(&si->lock);
	arch_swap_invalidate_area(m, (unsigned)si->type);
	if (si->fd >= 0)
		close(si->fd);
	if (si->mem)
		munmap(si->mem, si->max << PAGE_SHIFT);
	spin_lock_destroy(&si->lock);
	for (unsigned long i = 0; i < si->nr_clusters; i++)
		spin_lock_destroy(&si->cluster_info[i].lock);
	free(si->swap_map);
	free(si->cache);
	free(si->cluster_info);
	mml_obj_free(m, OBJ_SWAP, si);
}

/*
 * sys_swapoff(): by device number rather than by path.  A device whose
 * pages cannot all be brought back stays on, taking writes again.
 */
int mml_swapoff(struct mml_machine *m, int type)
{
	struct swap_info_struct *si;
	int err;

	if (type < 0 || type >= MAX_SWAPFILES)
		return -EINVAL;
	op_enter(m, NULL);
	spin_lock(&m->swap_lock);
	si = m->swap_info[type];
	if (!si || !(si->flags & SWP_WRITEOK)) {
		spin_unlock(&m->swap_lock);
		return op_exit(m, -EINVAL);
	}
	/* No new slots from here on; the free ones leave the total. */
	spin_lock(&si->lock);
	si->flags &= ~SWP_WRITEOK;
	atomic_long_add(-(long)(si->max - 1 - si->inuse_pages), &m->nr_swap_pages);
	WRITE_ONCE(m->total_swap_pages, m->total_swap_pages - ((long)si->max - 1));
	spin_unlock(&si->lock);
	spin_unlock(&m->swap_lock);

	err = try_to_unuse(m, si);
	spin_lock(&m->swap_lock);
	if (err) {
		/* Could not bring everything back: the device stays, taking writes again (reinsert_swap_info). */
		spin_lock(&si->lock);
		si->flags |= SWP_WRITEOK;
		atomic_long_add((long)(si->max - 1 - si->inuse_pages), &m->nr_swap_pages);
		WRITE_ONCE(m->total_swap_pages, m->total_swap_pages + (long)si->max - 1);
		spin_unlock(&si->lock);
		spin_unlock(&m->swap_lock);
		return op_exit(m, err);
	}
	spin_unlock(&m->swap_lock);
	/*
	 * Every page is back: no new user of the device from here on, and
	 * those who got in before (a fault that read a swap pte just before
	 * try_to_unuse mapped it) finish first, as Linux's percpu_ref_kill
	 * and wait_for_completion (the count is exact: no grace period needed
	 * for it).
	 */
	atomic_sub(SWAP_USERS_LIVE, &si->users);
	wait_var_event(&si->users, swap_users_gone, si);
	spin_lock(&m->swap_lock);
	WRITE_ONCE(m->swap_info[type], NULL);
	spin_unlock(&m->swap_lock);
	/* A get_swap_device that read the pointer before is out of its RCU section after this. */
	synchronize_rcu();
	swap_info_free(m, si);
	return op_exit(m, 0);
}

/*
 * Power-off: every device goes.  A folio left only in the swap cache (its
 * slot named by no pte, as after a GUP reference outlived the mapping) is
 * reclaimable cache, not a leak: drop it first.  A slot still in use then
 * is a leak.
 */
long swap_teardown(struct mml_machine *m)
{
	long leaked = 0;

	for (int i = 0; i < MAX_SWAPFILES; i++) {
		struct swap_info_struct *si = m->swap_info[i];

		if (!si)
			continue;
		for (unsigned long off = 1; off < si->max; off++) {
			struct folio *folio = si->cache[off];

			if (folio && folio_ref_count(folio) == 1 && !folio_mapped(folio) &&
			    !(si->swap_map[off] & ~SWAP_HAS_CACHE) && folio_trylock(folio)) {
				folio_get(folio);
				delete_from_swap_cache(m, folio);
				folio_unlock(folio);
				folio_put(m, folio);	/* the last reference: freed */
			}
		}
		leaked += (long)si->inuse_pages;
		m->swap_info[i] = NULL;
		swap_info_free(m, si);
	}
	atomic_long_set(&m->nr_swap_pages, 0);
	WRITE_ONCE(m->total_swap_pages, 0);
	return leaked;
}
