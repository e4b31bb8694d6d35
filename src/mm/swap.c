/*
 * swap.c - the LRU lists (Linux's mm/swap.c): adding a folio, activating
 * and deactivating it, isolating it for reclaim and putting it back.
 *
 * A folio is on a list iff PG_lru is set; both change under lru_lock.
 * Isolation takes a reference first (a folio whose refcount already fell
 * to zero is on its way to the allocator and is left alone), so a folio
 * off the list is always owned by whoever isolated it.
 */
#include "mm/internal.h"
#include "mm/memremap.h"

static enum lru_list folio_lru_list(const struct folio *folio)
{
	/* A lazily freed anon folio ages with the file pages, as in Linux. */
	bool file = !folio_test_swapbacked(folio);

	if (folio_test_unevictable(folio))
		return LRU_UNEVICTABLE;
	return (file ? LRU_INACTIVE_FILE : LRU_INACTIVE_ANON) + (folio_test_active(folio) ? 1 : 0);
}

static const enum vm_stat_item lru_stat[NR_LRU_LISTS] = {
	[LRU_INACTIVE_ANON] = NR_INACTIVE_ANON, [LRU_ACTIVE_ANON] = NR_ACTIVE_ANON,
	[LRU_INACTIVE_FILE] = NR_INACTIVE_FILE, [LRU_ACTIVE_FILE] = NR_ACTIVE_FILE,
	[LRU_UNEVICTABLE] = NR_UNEVICTABLE,
};

/* Caller holds lru_lock.  An unevictable folio is counted, not listed (its lru is mlock_count). */
void lruvec_add_folio(struct mml_machine *m, struct folio *folio)
{
	enum lru_list lru = folio_lru_list(folio);

	if (lru != LRU_UNEVICTABLE)
		list_add(&folio->lru, &m->lruvec.lists[lru]);
	mod_vm_stat(m, lru_stat[lru], folio_nr_pages(folio));
	folio_set_lru(folio);
}

void lruvec_del_folio(struct mml_machine *m, struct folio *folio)
{
	enum lru_list lru = folio_lru_list(folio);

	if (lru != LRU_UNEVICTABLE)
		list_del_init(&folio->lru);
	mod_vm_stat(m, lru_stat[lru], -folio_nr_pages(folio));
	folio_clear_lru(folio);
}

/*
 * Models lru_add(), what folio_add_lru() and putback do: an mlocked folio
 * goes to the unevictable list (its mlock_count unknown: 0, which munlock
 * takes as the last), an evictable one leaves it.  lru_lock held.
 */
static void lru_add(struct mml_machine *m, struct folio *folio)
{
	bool was_unevictable = folio_test_clear_unevictable(folio);

	if (folio_evictable(folio)) {
		if (was_unevictable)
			count_vm_events(m, UNEVICTABLE_PGRESCUED, folio_nr_pages(folio));
	} else {
		folio_clear_active(folio);
		folio_set_unevictable(folio);
		folio->mlock_count = 0;
		if (!was_unevictable)
			count_vm_events(m, UNEVICTABLE_PGCULLED, folio_nr_pages(folio));
	}
	lruvec_add_folio(m, folio);
}

/*
 * Models folio_batch_move_lru() for the lru_add batch: the batch's folios
 * join their lists under one lru_lock round, and the references the batch
 * held are dropped (a folio unmapped meanwhile is freed here).  Called
 * with the batch's lock held, which it drops: held while the folios move,
 * so that a drain of every CPU finds them on the lists when it returns,
 * dropped before the put, so that freeing (the CPU's page list, the zone)
 * nests under nothing new.
 */
static void lru_add_batch_move_unlock(struct mml_machine *m, struct cpu_fbatches *fbs)
{
	struct folio *folios[FOLIO_BATCH_SIZE];
	unsigned int n = fbs->lru_add.nr;

	lockdep_assert_held_spin(&fbs->lock);
	if (!n) {
		spin_unlock(&fbs->lock);
		return;
	}
	spin_lock(&m->lruvec.lru_lock);
	for (unsigned int i = 0; i < n; i++) {
		folios[i] = fbs->lru_add.folios[i];
		lru_add(m, folios[i]);
	}
	spin_unlock(&m->lruvec.lru_lock);
	fbs->lru_add.nr = 0;
	spin_unlock(&fbs->lock);
	folios_put_refs(m, folios, NULL, n);
}

/*
 * Models folio_add_lru(): a new folio waits with a reference in this
 * CPU's lru_add batch and joins the inactive list (or the unevictable
 * one) with the rest of the batch when it is full, as Linux's does: one
 * lru_lock round for FOLIO_BATCH_SIZE folios.  A large folio takes the
 * batch along at once, and so does every folio while lru_cache_disable()
 * holds (migration).
 */
void folio_add_lru(struct mml_machine *m, struct folio *folio)
{
	struct cpu_fbatches *fbs = &m->cpu_fbatches[smp_processor_id()];

	VM_BUG_ON_FOLIO(folio_test_lru(folio), m, folio);
	folio_get(folio);
	spin_lock(&fbs->lock);
	fbs->lru_add.folios[fbs->lru_add.nr++] = folio;
	if (fbs->lru_add.nr < FOLIO_BATCH_SIZE && !folio_test_large(folio) &&
	    !atomic_read(&m->lru_disable_count)) {
		spin_unlock(&fbs->lock);
		return;
	}
	lru_add_batch_move_unlock(m, fbs);
}

/* Models lru_add_drain(): this CPU's batch onto the lists. */
void lru_add_drain(struct mml_machine *m)
{
	struct cpu_fbatches *fbs = &m->cpu_fbatches[smp_processor_id()];

	spin_lock(&fbs->lock);
	lru_add_batch_move_unlock(m, fbs);
}

/*
 * Models lru_add_drain_all(): every CPU's batch onto the lists.  Linux
 * queues the drain on each CPU that has something and waits; here the
 * caller drains them itself, under each batch's lock.
 */
void lru_add_drain_all(struct mml_machine *m)
{
	for (unsigned int cpu = 0; cpu < NR_CPU_SLOTS; cpu++) {
		struct cpu_fbatches *fbs = &m->cpu_fbatches[cpu];

		spin_lock(&fbs->lock);
		lru_add_batch_move_unlock(m, fbs);
	}
}

/*
 * Models lru_cache_disable(): from now until lru_cache_enable(), every
 * folio_add_lru() puts the folio on its list at once, and whatever the
 * batches held is drained: what migration isolates stays isolatable.
 */
void lru_cache_disable(struct mml_machine *m)
{
	atomic_inc(&m->lru_disable_count);
	lru_add_drain_all(m);
}

void lru_cache_enable(struct mml_machine *m)
{
	atomic_dec(&m->lru_disable_count);
}

/*
 * Models __lru_cache_activate_folio(): a folio still in this CPU's batch
 * is marked active there, and joins the active list when the batch
 * drains.  Searched from the newest, as Linux does.
 */
static void lru_cache_activate_folio(struct mml_machine *m, struct folio *folio)
{
	struct cpu_fbatches *fbs = &m->cpu_fbatches[smp_processor_id()];

	spin_lock(&fbs->lock);
	for (int i = (int)fbs->lru_add.nr - 1; i >= 0; i--) {
		if (fbs->lru_add.folios[i] == folio) {
			folio_set_active(folio);
			break;
		}
	}
	spin_unlock(&fbs->lock);
}

/* Models folio_add_lru_vma(): a new folio mapped into a VM_LOCKED VMA is mlocked at once. */
void folio_add_lru_vma(struct folio *folio, struct vm_area_struct *vma)
{
	struct mml_machine *m = vma->vm_mm->machine;

	if ((vma->vm_flags & (VM_LOCKED | VM_SPECIAL)) == VM_LOCKED)
		mlock_new_folio(m, folio);
	else
		folio_add_lru(m, folio);
}

/*
 * lru_add_split_folio(): a page split off folio joins the LRU beside it,
 * counted as it already was (folio counted all its pages); beside nothing
 * if folio is isolated, then counted anew.  A split-off page of an
 * unevictable folio is unevictable too (its flags were copied), with no
 * mlock_count of its own yet.  lru_lock held.
 */
void lru_add_split_folio(struct mml_machine *m, struct folio *folio, struct folio *new_folio)
{
	lockdep_assert_held_spin(&m->lruvec.lru_lock);
	if (folio_test_lru(folio)) {
		if (folio_test_unevictable(folio))
			new_folio->mlock_count = 0;
		else
			list_add(&new_folio->lru, &folio->lru);
		folio_set_lru(new_folio);
	} else {
		lru_add(m, new_folio);
	}
}

/*
 * Models __page_cache_release(): the last reference is gone: off the
 * list, if it is on one, and no longer counted as mlocked if something
 * forgot to munlock it.  *locked says whether the caller holds lru_lock,
 * which is taken when needed and kept for the next folio of a batch.
 */
static void __page_cache_release(struct mml_machine *m, struct folio *folio, bool *locked)
{
	if (folio_test_lru(folio)) {
		if (!*locked)
			spin_lock(&m->lruvec.lru_lock);
		*locked = true;
		if (folio_test_lru(folio))
			lruvec_del_folio(m, folio);
	}
	if (folio_test_clear_mlocked(folio)) {
		long nr = folio_nr_pages(folio);

		mod_vm_stat(m, NR_MLOCK, -nr);
		count_vm_events(m, UNEVICTABLE_PGCLEARED, nr);
	}
}

void lru_del_freed_folio(struct mml_machine *m, struct folio *folio)
{
	bool locked = false;

	__page_cache_release(m, folio, &locked);
	if (locked)
		spin_unlock(&m->lruvec.lru_lock);
}

/*
 * Models folios_put_refs(): drop refs[i] references of each of n folios
 * (n <= FOLIO_BATCH_SIZE); those whose last went leave the LRU in one
 * lru_lock round and are freed together (free_unref_folios).  A large
 * folio leaves the deferred split queue first, with lru_lock dropped: the
 * split queue's lock is not taken under it anywhere else in mmlab.
 */
void folios_put_refs(struct mml_machine *m, struct folio **folios, const int *refs, unsigned int n)
{
	bool locked = false;
	unsigned int j = 0;

	VM_BUG_ON(n > FOLIO_BATCH_SIZE);
	for (unsigned int i = 0; i < n; i++) {
		struct folio *folio = folios[i];

		if (atomic_sub_return(refs ? refs[i] : 1, &folio->_refcount))
			continue;
		if (folio_is_fsdax(m, folio)) {
			free_zone_device_folio(m, folio);	/* never on the LRU nor the buddy lists */
			continue;
		}
		if (folio_test_large(folio)) {
			if (locked)
				spin_unlock(&m->lruvec.lru_lock);
			locked = false;
			folio_unqueue_deferred_split(m, folio);
		}
		__page_cache_release(m, folio, &locked);
		folios[j++] = folio;
	}
	if (locked)
		spin_unlock(&m->lruvec.lru_lock);
	free_unref_folios(m, folios, j);
}

/* Move a folio between the active and inactive halves (folio_activate, deactivate). */
static void folio_set_active_state(struct mml_machine *m, struct folio *folio, bool active)
{
	spin_lock(&m->lruvec.lru_lock);
	if (folio_test_lru(folio) && folio_test_active(folio) != active) {
		lruvec_del_folio(m, folio);
		if (active)
			folio_set_active(folio);
		else
			folio_clear_active(folio);
		lruvec_add_folio(m, folio);
		count_vm_event(m, active ? PGACTIVATE : PGDEACTIVATE);
	}
	spin_unlock(&m->lruvec.lru_lock);
}

void folio_activate(struct mml_machine *m, struct folio *folio)
{
	folio_set_active_state(m, folio, true);
}

void folio_deactivate(struct mml_machine *m, struct folio *folio)
{
	folio_set_active_state(m, folio, false);
}

/*
 * Models folio_mark_accessed(): read() or write() used a cached folio.
 * The first use marks it referenced, a second one activates it.
 */
void folio_mark_accessed(struct mml_machine *m, struct folio *folio)
{
	if (!folio_test_referenced(folio)) {
		folio_set_referenced(folio);
	} else if (!folio_test_active(folio) && !folio_test_unevictable(folio)) {
		if (folio_test_lru(folio))
			folio_activate(m, folio);
		else
			lru_cache_activate_folio(m, folio);
		folio_clear_referenced(folio);
	}
}

/* A lazily freed folio moves to the file lists, as lru_lazyfree does. */
void folio_move_lazyfree(struct mml_machine *m, struct folio *folio)
{
	spin_lock(&m->lruvec.lru_lock);
	if (folio_test_lru(folio)) {
		lruvec_del_folio(m, folio);
		folio_clear_active(folio);
		folio_clear_referenced(folio);
		folio_clear_swapbacked(folio);
		lruvec_add_folio(m, folio);
	} else {
		folio_clear_swapbacked(folio);
	}
	spin_unlock(&m->lruvec.lru_lock);
}

/*
 * Models folio_isolate_lru(): take folio off its list for reclaim, with a
 * reference.  False if it is not on a list or is being freed.
 */
bool folio_isolate_lru(struct mml_machine *m, struct folio *folio)
{
	bool ok = false;

	if (!folio_try_get(folio))
		return false;
	spin_lock(&m->lruvec.lru_lock);
	if (folio_test_lru(folio)) {
		lruvec_del_folio(m, folio);
		ok = true;
	}
	spin_unlock(&m->lruvec.lru_lock);
	if (!ok)
		folio_put(m, folio);
	return ok;
}

/* Models folio_putback_lru(): back on its list, and the isolation reference dropped. */
void folio_putback_lru(struct mml_machine *m, struct folio *folio)
{
	spin_lock(&m->lruvec.lru_lock);
	lru_add(m, folio);
	spin_unlock(&m->lruvec.lru_lock);
	folio_put(m, folio);
}

/*
 * Take up to nr folios from the tail (the oldest) of list lru, isolated
 * into out[].  Models isolate_lru_folios() without the scan budget detail.
 */
unsigned long isolate_lru_folios(struct mml_machine *m, enum lru_list lru, unsigned long nr, struct folio **out)
{
	struct list_head *head = &m->lruvec.lists[lru];
	unsigned long n = 0, scanned = 0, len = 0;
	struct folio *f;

	spin_lock(&m->lruvec.lru_lock);
	list_for_each_entry(f, head, lru)
		len++;
	while (n < nr && scanned < len && !list_empty(head)) {
		struct folio *folio = list_entry(head->prev, struct folio, lru);

		scanned++;
		/* Freed under us (refcount zero): rotate it away, its put will unlink it. */
		if (!folio_try_get(folio)) {
			list_move(&folio->lru, head);
			continue;
		}
		lruvec_del_folio(m, folio);
		out[n++] = folio;
	}
	spin_unlock(&m->lruvec.lru_lock);
	return n;
}
