/*
 * ksm_rmap.c - the reverse map of KSM folios (Linux's mm/ksm.c:
 * rmap_walk_ksm, through the stable node's rmap_items and their
 * anon_vmas) and what swap-in asks of them (ksm_might_need_to_copy);
 * kept apart from ksm.c for size.
 */
#include "mm/internal.h"
#include "mm/ksm_internal.h"

/*
 * rmap_walk_ksm(): the mappings of a KSM folio, through its node's items:
 * first each item's own mm, then (a second pass) the other mms chained to
 * the item's anon_vma, which fork gave the page.  The folio is locked, so
 * the items cannot change.
 */
void rmap_walk_ksm(struct folio *folio, struct rmap_walk_control *rwc)
{
	struct ksm_stable_node *n = folio_stable_node(folio);
	struct ksm_rmap_item *item;

	if (!n)
		return;
	for (int search_new_forks = 0; search_new_forks < 2; search_new_forks++) {
		list_for_each_entry(item, &n->hlist, hlist) {
			struct anon_vma *av = item->anon_vma;
			uint64_t addr = item->address & PAGE_MASK;
			struct anon_vma_chain *avc;

			anon_vma_lock_read(av);
			list_for_each_entry(avc, &av->chains, same_anon_vma) {
				struct vm_area_struct *vma = avc->vma;

				if (addr < vma->vm_start || addr >= vma->vm_end)
					continue;
				if ((item->mm == vma->vm_mm) == (bool)search_new_forks)
					continue;
				if (!rwc->rmap_one(folio, vma, addr, rwc->arg)) {
					anon_vma_unlock_read(av);
					return;
				}
			}
			anon_vma_unlock_read(av);
		}
	}
}

/*
 * ksm_might_need_to_copy(): a swap-cache folio about to be mapped at addr.
 * It is mapped as it is if it is a KSM folio still on its node, fresh from
 * swap (not anon yet), or anon at addr's own index in this VMA's anon_vma
 * tree.  Otherwise it is the swapped-out KSM page coming back at another
 * address (KSM pages share one slot), or a KSM folio whose node went:
 * a private copy is made, counted in ksm_swpin_copy.  The folio itself, a
 * new one (locked, referenced; folio keeps its own lock and reference),
 * or NULL without memory.
 */
struct folio *ksm_might_need_to_copy(struct folio *folio, struct vm_area_struct *vma, uint64_t addr)
{
	struct mml_machine *m = vma->vm_mm->machine;
	struct anon_vma *av = folio_anon_vma(folio);
	struct folio *copy;

	if (folio_test_large(folio))
		return folio;
	if (folio_test_ksm(folio)) {
		if (folio_stable_node(folio) && !(READ_ONCE(m->ksm_knobs.run) & KSM_RUN_UNMERGE))
			return folio;
	} else if (!av) {
		return folio;
	} else if (folio->index == linear_page_index(vma, addr) && av->root == vma->anon_vma->root) {
		return folio;
	}
	copy = vma_alloc_folio(vma, GFP_HIGHUSER_MOVABLE, 0, addr);
	if (!copy)
		return NULL;
	copy_user_highpage(m, &copy->page, &folio->page);
	folio_set_uptodate(copy);
	folio_lock(copy);
	count_vm_event(m, KSM_SWPIN_COPY);
	return copy;
}
