/*
 * mempolicy.h - NUMA memory policies (Linux's include/linux/mempolicy.h):
 * which nodes a task's or a VMA's memory comes from.
 *
 * A policy object is immutable once made and shared by reference: a VMA
 * split or duplicated takes another reference (mpol_get), the last
 * mpol_put frees it.  A task's policy (task->mempolicy) is changed only
 * by set_mempolicy, under mm->tasks_lock, which its readers take too.
 */
#ifndef MML_MEMPOLICY_H
#define MML_MEMPOLICY_H

#include "mm/mm.h"

/* The modes (MPOL_DEFAULT ...) are include/mmlab.h's; one past the last: */
#define MPOL_MAX		(MPOL_WEIGHTED_INTERLEAVE + 1)
#define MPOL_MODE_FLAGS		(MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES | MPOL_F_NUMA_BALANCING)
#define MPOL_MF_VALID		(MPOL_MF_STRICT | MPOL_MF_MOVE | MPOL_MF_MOVE_ALL)

struct mempolicy {
	atomic_t refcnt;		/* (A) */
	unsigned short mode;		/* (C) MPOL_* */
	unsigned short flags;		/* (C) MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES | MPOL_F_NUMA_BALANCING */
	nodemask_t nodes;		/* (C) the nodes it allows (PREFERRED: one) */
	nodemask_t user_nodemask;	/* (C) the nodes as given, for the static and relative flavours */
};

/* No interleave index: alloc_pages takes the task's next interleave node. */
#define NO_INTERLEAVE_INDEX	(~0UL)

static inline struct mempolicy *mpol_get(struct mempolicy *pol)
{
	if (pol)
		atomic_inc(&pol->refcnt);
	return pol;
}
void mpol_put(struct mml_machine *m, struct mempolicy *pol);
bool mpol_equal(const struct mempolicy *a, const struct mempolicy *b);

/* A task born of t (fork, a new thread) starts with t's policy. */
void mpol_inherit(struct mml_task *child, struct mml_task *t);
/* The task goes: its policy with it. */
void mpol_task_exit(struct mml_task *t);

/*
 * The policy in force at addr of vma (the VMA's, else the current task's,
 * else NULL = default) with a reference, and the interleave index of a
 * folio of that order there.  mmap_lock held.
 */
struct mempolicy *get_vma_policy(struct vm_area_struct *vma, uint64_t addr, unsigned int order,
				 unsigned long *ilx);
/* Allocate as pol says (NULL: local), at interleave index ilx. */
struct folio *folio_alloc_mpol(struct mml_machine *m, gfp_t gfp, unsigned int order, struct mempolicy *pol,
			       unsigned long ilx);
/* Would pol place a page at this node (for mbind's STRICT and MOVE)? */
bool mpol_allows_node(const struct mempolicy *pol, int nid);

/* "bind=static:0-1": Linux's mpol_to_str, for numa_maps. */
void mpol_to_str(char *buf, size_t size, const struct mempolicy *pol);

#endif /* MML_MEMPOLICY_H */
