/*
 * mempolicy.c - NUMA memory policies (Linux's mm/mempolicy.c):
 * set_mempolicy, get_mempolicy, mbind and migrate_pages, and the
 * allocation of pages where the task's or the VMA's policy says.
 *
 * Checks and their order are Linux 6.18's.  What mmlab leaves out: the
 * shared policies of shmem files (vm_ops->set_policy), cpusets (every
 * node is allowed), home nodes (set_mempolicy_home_node), the weights of
 * weighted interleave (all 1) and NUMA balancing (MPOL_F_NUMA_BALANCING
 * is accepted and shown, and does nothing): docs/deviations.md.
 */
#include <stdio.h>
#include <string.h>

#include "mm/internal.h"
#include "mm/mempolicy.h"
#include "mm/pagewalk.h"

/* ---- policy objects ------------------------------------------------------------------------ */

char *nodelist_str(char *buf, size_t size, nodemask_t mask)
{
	size_t len = 0;
	int nid;

	buf[0] = '\0';
	for_each_node_mask(nid, mask) {
		int last = nid;

		while (node_isset(last + 1, &mask))
			last++;
		char one[24];
		int n = last > nid ? snprintf(one, sizeof(one), "%s%d-%d", len ? "," : "", nid, last)
				   : snprintf(one, sizeof(one), "%s%d", len ? "," : "", nid);

		if (len + (size_t)n >= size)
			break;
		memcpy(buf + len, one, (size_t)n + 1);
		len += (size_t)n;
		nid = last;
	}
	return buf;
}

void mpol_put(struct mml_machine *m, struct mempolicy *pol)
{
	if (pol && atomic_dec_and_test(&pol->refcnt))
		mml_obj_free(m, OBJ_MEMPOLICY, pol);
}

/* Models __mpol_equal(): the same mode, flags and nodes (the given ones, for static and relative). */
bool mpol_equal(const struct mempolicy *a, const struct mempolicy *b)
{
	if (a == b)
		return true;
	if (!a || !b || a->mode != b->mode || a->flags != b->flags)
		return false;
	if ((a->flags & (MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES)) &&
	    !nodes_equal(a->user_nodemask, b->user_nodemask))
		return false;
	return nodes_equal(a->nodes, b->nodes);
}

/* The task's policy, with a reference (NULL: default).  Any thread may ask. */
static struct mempolicy *get_task_policy(struct mml_task *t)
{
	struct mempolicy *pol;

	if (!t || !READ_ONCE(t->mempolicy))
		return NULL;
	spin_lock(&t->mm->tasks_lock);
	pol = mpol_get(t->mempolicy);
	spin_unlock(&t->mm->tasks_lock);
	return pol;
}

void mpol_inherit(struct mml_task *child, struct mml_task *t)
{
	struct mempolicy *pol = get_task_policy(t);

	spin_lock(&child->mm->tasks_lock);
	child->mempolicy = pol;
	child->il_prev = MAX_NUMNODES - 1;
	spin_unlock(&child->mm->tasks_lock);
}

void mpol_task_exit(struct mml_task *t)
{
	struct mempolicy *pol;

	spin_lock(&t->mm->tasks_lock);
	pol = t->mempolicy;
	t->mempolicy = NULL;
	spin_unlock(&t->mm->tasks_lock);
	mpol_put(t->machine, pol);
}

/* ---- from the caller's arguments to a policy ------------------------------------------------- */

/*
 * Models get_nodes(): maxnode - 1 bits of the user's mask (the historic
 * off-by-one), none if that is zero or nmask is NULL; EINVAL past a
 * page's worth of bits, or for a bit set at or beyond MAX_NUMNODES.
 */
static int get_nodes(nodemask_t *nodes, const unsigned long *nmask, unsigned long maxnode)
{
	const unsigned long bpl = 8 * sizeof(unsigned long);

	nodes->bits = 0;
	--maxnode;
	if (maxnode == 0 || !nmask)
		return 0;
	if (maxnode > PAGE_SIZE * 8)
		return -EINVAL;
	for (unsigned long bit = MAX_NUMNODES; bit < maxnode; bit++)
		if ((nmask[bit / bpl] >> (bit % bpl)) & 1)
			return -EINVAL;
	nodes->bits = nmask[0];
	if (maxnode < bpl)
		nodes->bits &= (1UL << maxnode) - 1;
	nodes->bits &= (1UL << MAX_NUMNODES) - 1;
	return 0;
}

/* Models sanitize_mpol_flags(): split the mode word; EINVAL for an unknown mode or a bad mix. */
static int sanitize_mpol_flags(int *mode, unsigned short *flags)
{
	*flags = (unsigned short)(*mode & MPOL_MODE_FLAGS);
	*mode &= ~MPOL_MODE_FLAGS;
	if ((unsigned int)*mode >= MPOL_MAX)
		return -EINVAL;
	if ((*flags & MPOL_F_STATIC_NODES) && (*flags & MPOL_F_RELATIVE_NODES))
		return -EINVAL;
	if ((*flags & MPOL_F_NUMA_BALANCING) && *mode != MPOL_BIND && *mode != MPOL_PREFERRED_MANY)
		return -EINVAL;
	return 0;
}

/*
 * Models mpol_relative_nodemask(): the given nodes folded onto the
 * allowed ones, the nth allowed node for each bit n (modulo their number).
 */
static nodemask_t mpol_relative_nodemask(nodemask_t given, nodemask_t allowed)
{
	nodemask_t out = { 0 };
	int w = nodes_weight(allowed), n;

	if (!w)
		return out;
	for_each_node_mask(n, given)
		node_set(node_nth(allowed, n % w), &out);
	return out;
}

/*
 * Models mpol_new() + mpol_set_nodemask(): the policy, NULL for
 * MPOL_DEFAULT, or an ERR-style -errno in *err.  Every node of mmlab's
 * has memory and no cpuset narrows them.
 */
static struct mempolicy *mpol_new(struct mml_machine *m, int mode, unsigned short flags, nodemask_t nodes,
				  int *err)
{
	struct mempolicy *pol;
	nodemask_t allowed = node_states_memory(m), eff;

	*err = 0;
	if (mode == MPOL_DEFAULT) {
		if (!nodes_empty(nodes))
			*err = -EINVAL;
		return NULL;
	}
	if (mode == MPOL_PREFERRED && nodes_empty(nodes)) {
		if (flags & (MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES)) {
			*err = -EINVAL;
			return NULL;
		}
		mode = MPOL_LOCAL;
	} else if (mode == MPOL_LOCAL) {
		if (!nodes_empty(nodes) || (flags & (MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES))) {
			*err = -EINVAL;
			return NULL;
		}
	} else if (nodes_empty(nodes)) {
		*err = -EINVAL;
		return NULL;
	}
	eff = flags & MPOL_F_RELATIVE_NODES ? mpol_relative_nodemask(nodes, allowed) : nodes_and(nodes, allowed);
	if (mode != MPOL_LOCAL && nodes_empty(eff)) {
		*err = -EINVAL;		/* mpol_new_nodemask / mpol_new_preferred */
		return NULL;
	}
	pol = mml_obj_alloc(m, OBJ_MEMPOLICY, sizeof(*pol));
	if (!pol) {
		*err = -ENOMEM;
		return NULL;
	}
	atomic_set(&pol->refcnt, 1);
	pol->mode = (unsigned short)mode;
	pol->flags = flags;
	pol->user_nodemask = nodes;
	if (mode == MPOL_PREFERRED)
		pol->nodes = nodemask_of_node(first_node(eff));
	else if (mode != MPOL_LOCAL)
		pol->nodes = eff;
	return pol;
}

/* The mode word and the nodes, checked and made a policy (the shared first steps of the syscalls). */
static struct mempolicy *mpol_from_user(struct mml_machine *m, int mode, const unsigned long *nmask,
					unsigned long maxnode, int *err)
{
	unsigned short flags;
	nodemask_t nodes;

	*err = sanitize_mpol_flags(&mode, &flags);
	if (!*err)
		*err = get_nodes(&nodes, nmask, maxnode);
	if (*err)
		return NULL;
	return mpol_new(m, mode, flags, nodes, err);
}

/* ---- allocation by policy ------------------------------------------------------------------- */

struct mempolicy *get_vma_policy(struct vm_area_struct *vma, uint64_t addr, unsigned int order,
				 unsigned long *ilx)
{
	struct mempolicy *pol = mpol_get(vma->vm_policy);

	if (!pol && current && current->mm == vma->vm_mm)
		pol = get_task_policy(current);
	*ilx = 0;
	if (pol && (pol->mode == MPOL_INTERLEAVE || pol->mode == MPOL_WEIGHTED_INTERLEAVE)) {
		*ilx += vma->vm_pgoff >> order;
		*ilx += (addr - vma->vm_start) >> (PAGE_SHIFT + order);
	}
	return pol;
}

/* Models interleave_nodes(): the task's next interleave node, round the mask. */
static int interleave_nodes(struct mempolicy *pol)
{
	struct mml_task *t = current;
	int nid;

	if (!t)
		return first_node(pol->nodes);
	spin_lock(&t->mm->tasks_lock);
	nid = next_node_in(t->il_prev, pol->nodes);
	t->il_prev = nid;
	spin_unlock(&t->mm->tasks_lock);
	return nid;
}

bool mpol_allows_node(const struct mempolicy *pol, int nid)
{
	if (!pol || pol->mode == MPOL_LOCAL)
		return true;
	return node_isset(nid, &pol->nodes);
}

/*
 * Models alloc_pages_mpol(): PREFERRED from its node with fallback
 * anywhere; BIND within its nodes only; PREFERRED_MANY within them
 * without reclaim first, then anywhere; INTERLEAVE (and WEIGHTED, every
 * weight 1) on the ilx-th node or the task's next, counting
 * numa_interleave when it lands there; LOCAL and default on this CPU's node.
 */
struct folio *folio_alloc_mpol(struct mml_machine *m, gfp_t gfp, unsigned int order, struct mempolicy *pol,
			       unsigned long ilx)
{
	struct folio *folio;
	int nid;

	switch (pol ? pol->mode : MPOL_LOCAL) {
	case MPOL_PREFERRED:
		return __folio_alloc(m, gfp, order, first_node(pol->nodes), NULL);
	case MPOL_BIND:
		return __folio_alloc(m, gfp, order, numa_node_id(), &pol->nodes);
	case MPOL_PREFERRED_MANY:
		folio = __folio_alloc(m, (gfp & ~__GFP_DIRECT_RECLAIM) | __GFP_NOWARN, order, numa_node_id(),
				      &pol->nodes);
		return folio ? folio : __folio_alloc(m, gfp, order, numa_node_id(), NULL);
	case MPOL_INTERLEAVE:
	case MPOL_WEIGHTED_INTERLEAVE:
		nid = ilx == NO_INTERLEAVE_INDEX ? interleave_nodes(pol)
						 : node_nth(pol->nodes, (int)(ilx % (unsigned long)nodes_weight(pol->nodes)));
		folio = __folio_alloc(m, gfp, order, nid, NULL);
		if (folio && folio_nid(m, folio) == nid)
			count_numa_events(m, nid, NUMA_INTERLEAVE_HIT, 1);
		return folio;
	default:
		return __folio_alloc(m, gfp, order, numa_node_id(), NULL);
	}
}

/* Models folio_alloc(): the current task's policy, no VMA (the task's own interleave turn). */
struct folio *folio_alloc(struct mml_machine *m, gfp_t gfp, unsigned int order)
{
	struct mempolicy *pol = current && current->machine == m ? get_task_policy(current) : NULL;
	struct folio *folio;

	if (!pol)
		return __folio_alloc(m, gfp, order, numa_node_id(), NULL);
	folio = folio_alloc_mpol(m, gfp, order, pol, NO_INTERLEAVE_INDEX);
	mpol_put(m, pol);
	return folio;
}

/* Models alloc_pages() of one page (mmlab's only bare pages: page tables, the zero page). */
struct page *alloc_page(struct mml_machine *m, gfp_t gfp)
{
	struct folio *folio = folio_alloc(m, gfp, 0);

	return folio ? &folio->page : NULL;
}

/* Models vma_alloc_folio(): where the policy at addr says; anon folios are swap-backed. */
struct folio *vma_alloc_folio(struct vm_area_struct *vma, gfp_t gfp, unsigned int order, uint64_t addr)
{
	struct mml_machine *m = vma->vm_mm->machine;
	unsigned long ilx;
	struct mempolicy *pol = get_vma_policy(vma, addr, order, &ilx);
	struct folio *folio = folio_alloc_mpol(m, gfp, order, pol, ilx);

	mpol_put(m, pol);
	if (folio && vma_is_anonymous(vma))
		__folio_set_swapbacked(folio);
	return folio;
}

/* ---- set_mempolicy, get_mempolicy --------------------------------------------------------------- */

long mml_set_mempolicy(struct mml_task *t, int mode, const unsigned long *nodemask, unsigned long maxnode)
{
	struct mml_machine *m = t->machine;
	struct mempolicy *pol, *old;
	long ret = op_enter_task(t);
	int err;

	if (ret)
		return ret;
	pol = mpol_from_user(m, mode, nodemask, maxnode, &err);
	if (!err) {
		spin_lock(&t->mm->tasks_lock);
		old = t->mempolicy;
		t->mempolicy = pol;
		if (pol && (pol->mode == MPOL_INTERLEAVE || pol->mode == MPOL_WEIGHTED_INTERLEAVE))
			t->il_prev = MAX_NUMNODES - 1;	/* the next goes to the first node */
		spin_unlock(&t->mm->tasks_lock);
		mpol_put(m, old);
	}
	return op_exit_task(t, err);
}

/* Copy a mask out as copy_nodes_to_user: maxnode - 1 bits, the rest of the words zero. */
static void copy_nodes_out(unsigned long *out, unsigned long maxnode, nodemask_t nodes)
{
	const unsigned long bpl = 8 * sizeof(unsigned long);
	unsigned long words = (maxnode - 1 + bpl - 1) / bpl;

	if (!out || !words)
		return;
	memset(out, 0, words * sizeof(unsigned long));
	out[0] = nodes.bits;
	if (maxnode - 1 < bpl)
		out[0] &= (1UL << (maxnode - 1)) - 1;
}

/* The node of the page at addr, faulted in for read first as get_user_pages_fast(addr, 1, 0) would. */
static int node_of_user_page(struct mml_task *t, uint64_t addr)
{
	struct mm_struct *mm = t->mm;
	struct vm_area_struct *vma;
	struct page *page = NULL;
	int err, nid;

	addr &= PAGE_MASK;
	down_read(&mm->mmap_lock);
	err = faultin_page_range(mm, addr, addr + PAGE_SIZE, false);
	vma = err ? NULL : vma_lookup(mm, addr);
	if (vma)
		page = folio_walk_page(vma, addr, &err);
	if (page) {
		nid = page_to_nid(t->machine, page);
		folio_put(t->machine, page_folio(page));
	} else if (vma && err == -EFAULT) {
		nid = page_to_nid(t->machine, t->machine->zero_page);	/* a page too, on its node */
	} else {
		nid = err ? err : -EFAULT;
	}
	up_read(&mm->mmap_lock);
	return nid;
}

long mml_get_mempolicy(struct mml_task *t, int *mode, unsigned long *nodemask, unsigned long maxnode,
		       uint64_t addr, unsigned long flags)
{
	struct mml_machine *m = t->machine;
	struct mm_struct *mm = t->mm;
	struct mempolicy *pol = NULL;
	long ret = op_enter_task(t);
	int pmode;

	if (ret)
		return ret;
	if ((nodemask && maxnode < (unsigned long)m->nr_nodes) ||
	    (flags & ~(unsigned long)(MPOL_F_NODE | MPOL_F_ADDR | MPOL_F_MEMS_ALLOWED))) {
		ret = -EINVAL;
		goto out;
	}
	if (flags & MPOL_F_MEMS_ALLOWED) {
		if (flags & (MPOL_F_NODE | MPOL_F_ADDR)) {
			ret = -EINVAL;
			goto out;
		}
		if (mode)
			*mode = 0;
		copy_nodes_out(nodemask, maxnode, node_states_memory(m));
		goto out;
	}
	if (flags & MPOL_F_ADDR) {
		struct vm_area_struct *vma;

		down_read(&mm->mmap_lock);
		vma = vma_lookup(mm, addr);
		pol = vma ? mpol_get(vma->vm_policy) : NULL;
		up_read(&mm->mmap_lock);
		if (!vma) {
			ret = -EFAULT;
			goto out;
		}
	} else if (addr) {
		ret = -EINVAL;
		goto out;
	} else {
		pol = get_task_policy(t);
	}
	if (flags & MPOL_F_NODE) {
		if (flags & MPOL_F_ADDR) {
			ret = node_of_user_page(t, addr);
		} else if (pol && (pol->mode == MPOL_INTERLEAVE || pol->mode == MPOL_WEIGHTED_INTERLEAVE)) {
			spin_lock(&mm->tasks_lock);
			ret = next_node_in(t->il_prev, pol->nodes);
			spin_unlock(&mm->tasks_lock);
		} else {
			ret = -EINVAL;
		}
		if (ret >= 0 && mode)
			*mode = (int)ret;
		ret = ret < 0 ? ret : 0;
		goto out;
	}
	pmode = pol ? pol->mode | (pol->flags & MPOL_MODE_FLAGS) : MPOL_DEFAULT;
	if (mode)
		*mode = pmode;
	if (!pol || pol->mode == MPOL_LOCAL)
		copy_nodes_out(nodemask, maxnode, (nodemask_t){ 0 });
	else if (pol->flags & (MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES))
		copy_nodes_out(nodemask, maxnode, pol->user_nodemask);
	else
		copy_nodes_out(nodemask, maxnode, pol->nodes);
out:
	mpol_put(m, pol);
	return op_exit_task(t, ret);
}

/* ---- mbind --------------------------------------------------------------------------------------- */

#define MPOL_MF_DISCONTIG_OK	(1u << 4)	/* internal: holes in the range are fine */

/* What queue_pages_range collects (Linux's struct queue_pages). */
struct queue_pages {
	struct list_head *pagelist;	/* the isolated folios to migrate */
	unsigned int flags;		/* MPOL_MF_* */
	nodemask_t nmask;		/* pages on these nodes are in place */
	bool invert;			/* in place: on a node of nmask (mbind); else off them (migrate_pages) */
	uint64_t start, end;
	struct vm_area_struct *first, *prev;
	long nr_failed;			/* folios misplaced and not queued */
};

/* Models queue_folio_required(): is the folio misplaced? */
static bool queue_folio_required(struct mml_machine *m, struct folio *folio, struct queue_pages *qp)
{
	return node_isset(folio_nid(m, folio), &qp->nmask) != qp->invert;
}

/*
 * Models migrate_folio_add(): isolate a misplaced folio onto the list (a
 * shared one only with MOVE_ALL: skipped, and that is no failure).
 * False if it could not be isolated.
 */
static bool migrate_folio_add(struct mml_machine *m, struct folio *folio, struct queue_pages *qp)
{
	if (!(qp->flags & MPOL_MF_MOVE_ALL) && folio_maybe_mapped_shared(folio))
		return true;
	if (!folio_isolate_lru(m, folio))
		return false;
	list_add_tail(&folio->lru, qp->pagelist);
	return true;
}

/* One misplaced folio met: queue it, or count or refuse it.  -EIO stops a STRICT mbind without MOVE. */
static int queue_folio(struct mml_machine *m, struct folio *folio, struct queue_pages *qp)
{
	if (!queue_folio_required(m, folio, qp))
		return 0;
	if (!(qp->flags & (MPOL_MF_MOVE | MPOL_MF_MOVE_ALL))) {
		if (qp->flags & MPOL_MF_STRICT)
			return -EIO;
		qp->nr_failed++;
		return 0;
	}
	if (!migrate_folio_add(m, folio, qp))
		qp->nr_failed++;
	return 0;
}

static int queue_pages_pmd(pmd_t *pmd, uint64_t addr, uint64_t next, struct mm_walk *walk)
{
	struct queue_pages *qp = walk->private;
	struct mml_machine *m = walk->mm->machine;
	spinlock_t *ptl = pmd_trans_huge_lock(pmd, walk->vma);
	pmd_t pmdval;
	int ret = 0;

	if (!ptl)
		return 0;
	walk->action = ACTION_CONTINUE;
	pmdval = pmdp_get(pmd);
	if (pmd_present(pmdval) && !is_huge_zero_pmd(m, pmdval))
		ret = queue_folio(m, page_folio(pmd_page(m, pmdval)), qp);
	spin_unlock(ptl);
	return ret;
}

static int queue_pages_pte(pte_t *pte, uint64_t addr, uint64_t next, struct mm_walk *walk)
{
	struct queue_pages *qp = walk->private;
	struct mml_machine *m = walk->mm->machine;
	pte_t ptent = ptep_get(pte);
	struct page *page;
	struct folio *folio;

	if (pte_none(ptent))
		return 0;
	if (!pte_present(ptent)) {
		/* A folio under migration now is misplaced and cannot be queued. */
		if (is_migration_pte(ptent))
			qp->nr_failed++;
		return 0;
	}
	page = vm_normal_page(walk->vma, addr, ptent);
	if (!page)
		return 0;
	folio = page_folio(page);
	/* A large folio is met once, at its first mapped page here. */
	if (folio_test_large(folio) && addr != walk->vma->vm_start && page != &folio->page) {
		pte_t prev = ptep_get(pte - 1);

		if (pte_present(prev) && page_folio(pfn_to_page(m, pte_pfn(prev))) == folio &&
		    ((addr - PAGE_SIZE) & PMD_MASK) == (addr & PMD_MASK))
			return 0;
	}
	return queue_folio(m, folio, qp);
}

/*
 * Models queue_pages_test_walk(): holes fail the call with EFAULT unless
 * they are fine (MPOL_MF_DISCONTIG_OK); VMAs whose pages cannot move are
 * not walked.  Pages are looked at only to move or to check them.
 */
static int queue_pages_test_walk(uint64_t start, uint64_t end, struct mm_walk *walk)
{
	struct vm_area_struct *vma = walk->vma, *next;
	struct queue_pages *qp = walk->private;

	if (!(qp->flags & MPOL_MF_DISCONTIG_OK)) {
		if (!qp->first && qp->start < vma->vm_start)
			return -EFAULT;
		next = vma_next(vma);
		if (vma->vm_end < qp->end && (!next || vma->vm_end < next->vm_start))
			return -EFAULT;
	}
	if (!qp->first)
		qp->first = vma;
	qp->prev = vma;
	if (vma->vm_flags & (VM_IO | VM_PFNMAP))
		return 1;
	if (!(qp->flags & (MPOL_MF_STRICT | MPOL_MF_MOVE | MPOL_MF_MOVE_ALL)))
		return 1;
	return 0;
}

static const struct mm_walk_ops queue_pages_walk_ops = {
	.pmd_entry = queue_pages_pmd,
	.pte_entry = queue_pages_pte,
	.test_walk = queue_pages_test_walk,
};

/*
 * Models queue_pages_range(): the misplaced folios of [start, end),
 * isolated onto pagelist; the number that are misplaced but not queued,
 * or -errno (EFAULT for a hole or no VMA at all, EIO as queue_folio says).
 */
static long queue_pages_range(struct mm_struct *mm, uint64_t start, uint64_t end, nodemask_t nmask,
			      bool invert, unsigned int flags, struct list_head *pagelist)
{
	struct queue_pages qp = {
		.pagelist = pagelist, .flags = flags, .nmask = nmask, .invert = invert,
		.start = start, .end = end,
	};
	int err = walk_page_range(mm, start, end, &queue_pages_walk_ops, &qp);

	if (!err && !qp.first)
		err = -EFAULT;
	return err ? err : qp.nr_failed;
}

/* Models vma_modify_policy() + vma_replace_policy(): [start, end) of vma gets pol, split and merged as Linux. */
static int mbind_range(struct vm_area_struct *vma, uint64_t start, uint64_t end, struct mempolicy *pol)
{
	struct mml_machine *m = vma->vm_mm->machine;
	struct mempolicy *old;
	int err;

	start = max(start, vma->vm_start);
	end = min(end, vma->vm_end);
	if (mpol_equal(vma->vm_policy, pol))
		return 0;
	if (start > vma->vm_start) {
		err = split_vma(vma, start, 1);
		if (err)
			return err;
	}
	if (end < vma->vm_end) {
		err = split_vma(vma, end, 0);
		if (err)
			return err;
	}
	/* A fault under the VMA lock may be reading the old policy (Linux: commit 6c21e066f925). */
	vma_start_write(vma);
	old = vma->vm_policy;
	vma->vm_policy = mpol_get(pol);
	mpol_put(m, old);
	vma_try_merge_neighbours(vma);
	return 0;
}

/*
 * The target of a folio moved by mbind: a new folio where the new policy
 * places that address (Linux's alloc_migration_target_by_mpol); private
 * is the policy.
 */
static struct folio *alloc_migration_target_by_mpol(struct mml_machine *m, struct folio *src,
						    unsigned long private)
{
	struct mempolicy *pol = (struct mempolicy *)private;
	unsigned long ilx = 0;

	/* An anon folio's index is its linear page index: vm_pgoff + its page in the VMA. */
	if (pol && (pol->mode == MPOL_INTERLEAVE || pol->mode == MPOL_WEIGHTED_INTERLEAVE))
		ilx = src->index >> folio_order(src);
	return folio_alloc_mpol(m, GFP_HIGHUSER_MOVABLE, folio_order(src), pol, ilx);
}

static long do_mbind(struct mml_task *t, uint64_t start, uint64_t len, int mode, const unsigned long *nmask,
		     unsigned long maxnode, unsigned int flags)
{
	struct mml_machine *m = t->machine;
	struct mm_struct *mm = t->mm;
	struct mempolicy *pol;
	LIST_HEAD(pagelist);
	nodemask_t user_nodes;
	unsigned short mflags;
	uint64_t end;
	long nr_failed;
	int err;

	err = sanitize_mpol_flags(&mode, &mflags);
	if (!err)
		err = get_nodes(&user_nodes, nmask, maxnode);
	if (err)
		return err;
	if (flags & ~(unsigned int)MPOL_MF_VALID)
		return -EINVAL;
	if (start & ~PAGE_MASK)
		return -EINVAL;
	if (mode == MPOL_DEFAULT)
		flags &= ~(unsigned int)MPOL_MF_STRICT;
	len = PAGE_ALIGN(len);
	end = start + len;
	if (end < start)
		return -EINVAL;
	if (end == start)
		return 0;
	pol = mpol_new(m, mode, mflags, user_nodes, &err);
	if (err)
		return err;
	if (!pol)
		flags |= MPOL_MF_DISCONTIG_OK;

	if (flags & (MPOL_MF_MOVE | MPOL_MF_MOVE_ALL))
		lru_cache_disable(m);
	mmap_write_lock(mm);
	/* Misplaced: off the nodes the caller named (LOCAL and default name none: nothing moves). */
	nr_failed = queue_pages_range(mm, start, end, user_nodes, true, flags, &pagelist);
	if (nr_failed < 0) {
		err = (int)nr_failed;
	} else {
		for (uint64_t addr = start; addr < end && !err;) {
			struct vm_area_struct *vma = find_vma(mm, addr);

			if (!vma || vma->vm_start >= end)
				break;
			addr = vma->vm_end;
			err = mbind_range(vma, start, end, pol);
		}
	}
	if (!list_empty(&pagelist)) {
		if (!err) {
			long left = migrate_pages(m, &pagelist, alloc_migration_target_by_mpol,
						  (unsigned long)pol, MR_MEMPOLICY_MBIND);

			nr_failed |= left;
		}
		putback_movable_pages(m, &pagelist);
	}
	if (!err && nr_failed && (flags & MPOL_MF_STRICT))
		err = -EIO;
	mmap_write_unlock(mm);
	if (flags & (MPOL_MF_MOVE | MPOL_MF_MOVE_ALL))
		lru_cache_enable(m);
	mpol_put(m, pol);
	return err;
}

long mml_mbind(struct mml_task *t, uint64_t addr, uint64_t len, int mode, const unsigned long *nodemask,
	       unsigned long maxnode, unsigned flags)
{
	long ret = op_enter_task(t);

	if (ret)
		return ret;
	return op_exit_task(t, do_mbind(t, addr, len, mode, nodemask, maxnode, flags));
}

/* ---- migrate_pages -------------------------------------------------------------------------------- */

/* The target of a folio moved to a node: that node only (alloc_migration_target with __GFP_THISNODE). */
struct folio *alloc_migration_target(struct mml_machine *m, struct folio *src, unsigned long nid)
{
	return __folio_alloc(m, GFP_HIGHUSER_MOVABLE | __GFP_THISNODE, folio_order(src), (int)nid, NULL);
}

/* Models migrate_to_node(): every page of mm on node source to dest; the folios not moved. */
static long migrate_to_node(struct mm_struct *mm, int source, int dest, unsigned int flags)
{
	struct mml_machine *m = mm->machine;
	LIST_HEAD(pagelist);
	long nr_failed;

	nr_failed = queue_pages_range(mm, 0, TASK_SIZE, nodemask_of_node(source), false,
				      flags | MPOL_MF_DISCONTIG_OK, &pagelist);
	if (nr_failed < 0)
		return nr_failed == -EFAULT ? 0 : nr_failed;	/* an mm with no VMA has nothing to move */
	if (!list_empty(&pagelist)) {
		long left = migrate_pages(m, &pagelist, alloc_migration_target, (unsigned long)dest, MR_SYSCALL);

		putback_movable_pages(m, &pagelist);
		if (left < 0)
			return left;
		nr_failed += left;
	}
	return nr_failed;
}

/*
 * Models do_migrate_pages(): move the pages on each node of from to the
 * node of to at the same place in the mask (node_remap), in an order
 * that never moves a page twice: a source that is also a destination
 * goes first, as Linux's loop picks it.
 */
static long do_migrate_pages(struct mm_struct *mm, nodemask_t from, nodemask_t to, unsigned int flags)
{
	long busy = 0;
	nodemask_t tmp = from;

	lru_cache_disable(mm->machine);
	down_read(&mm->mmap_lock);
	while (!nodes_empty(tmp)) {
		int source = NUMA_NO_NODE, dest = 0, s;

		for_each_node_mask(s, tmp) {
			int wf = nodes_weight(from), wt = nodes_weight(to), pos = 0, d;

			/* node_remap(): the same rank in to as s has in from, modulo to's weight. */
			for (int n = first_node(from); n < s; n = next_node(n + 1, from))
				pos++;
			d = node_nth(to, pos % wt);
			if (wf != wt && node_isset(s, &to))
				continue;
			source = s;
			dest = d;
			if (!node_isset(dest, &tmp))
				break;
		}
		if (source == NUMA_NO_NODE)
			break;
		node_clear(source, &tmp);
		if (source != dest) {
			long err = migrate_to_node(mm, source, dest, flags);

			if (err < 0) {
				busy = err;
				break;
			}
			busy += err;
		}
	}
	up_read(&mm->mmap_lock);
	lru_cache_enable(mm->machine);
	return busy;
}

long mml_migrate_pages(struct mml_task *t, unsigned long maxnode, const unsigned long *old_nodes,
		       const unsigned long *new_nodes)
{
	struct mml_machine *m = t->machine;
	nodemask_t old, new;
	long ret = op_enter_task(t);

	if (ret)
		return ret;
	ret = get_nodes(&old, old_nodes, maxnode);
	if (!ret)
		ret = get_nodes(&new, new_nodes, maxnode);
	if (!ret) {
		/* Root (CAP_SYS_NICE): nodes without memory are dropped, and then none is EINVAL. */
		new = nodes_and(new, node_states_memory(m));
		ret = nodes_empty(new) ? -EINVAL : do_migrate_pages(t->mm, old, new, MPOL_MF_MOVE_ALL);
	}
	return op_exit_task(t, ret);
}

/* ---- numa_maps' policy text ----------------------------------------------------------------------- */

void mpol_to_str(char *buf, size_t size, const struct mempolicy *pol)
{
	static const char *const names[MPOL_MAX] = {
		[MPOL_DEFAULT] = "default", [MPOL_PREFERRED] = "prefer", [MPOL_BIND] = "bind",
		[MPOL_INTERLEAVE] = "interleave", [MPOL_LOCAL] = "local",
		[MPOL_PREFERRED_MANY] = "prefer (many)", [MPOL_WEIGHTED_INTERLEAVE] = "weighted interleave",
	};
	char nodes[3 * MAX_NUMNODES];
	size_t len;

	if (!pol) {
		snprintf(buf, size, "default");
		return;
	}
	len = (size_t)snprintf(buf, size, "%s", names[pol->mode]);
	if (pol->flags & MPOL_MODE_FLAGS && len < size) {
		len += (size_t)snprintf(buf + len, size - len, "=");
		if (pol->flags & MPOL_F_STATIC_NODES)
			len += (size_t)snprintf(buf + len, size - len, "static");
		else if (pol->flags & MPOL_F_RELATIVE_NODES)
			len += (size_t)snprintf(buf + len, size - len, "relative");
		if (pol->flags & MPOL_F_NUMA_BALANCING && len < size)
			len += (size_t)snprintf(buf + len, size - len, "%sbalancing",
						buf[len - 1] == '=' ? "" : "|");
	}
	if (!nodes_empty(pol->nodes) && pol->mode != MPOL_LOCAL && len < size)
		snprintf(buf + len, size - len, ":%s", nodelist_str(nodes, sizeof(nodes), pol->nodes));
}
