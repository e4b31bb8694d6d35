/*
 * model_internal.h - what the parts of the reference model share: its
 * pages and processes (model.c), and what reaches them from beside the
 * process -- pins and DMA, devices with their own MMU (model_device.c).
 * Nothing here includes the implementation's headers.
 */
#ifndef MML_ORACLE_MODEL_INTERNAL_H
#define MML_ORACLE_MODEL_INTERNAL_H

#include <sys/mman.h>

#include "oracle/model.h"

#define MP_DONTFORK	MODEL_DONTFORK
#define MP_WIPEONFORK	MODEL_WIPEONFORK
#define MP_LAZYFREE	0x4u	/* MADV_FREE'd, not written since: old bytes or zeros */
/*
 * A device made this page exclusive (a write GUP, allowed without
 * PROT_READ) while it had its present protection: the device may still
 * hold that translation, and reach the page through it where its faults
 * would be refused.
 */
#define MP_DEVICE_HELD	0x8u

#define MODEL_GRANULES	(MODEL_PAGE / 16)

struct mpage {
	uint64_t addr;
	int prot;		/* PROT_READ, PROT_WRITE, PROT_EXEC, MODEL_PROT_MTE */
	unsigned flags;
	uint8_t *data;		/* NULL: all zero */
	uint8_t *tags;		/* a tag per 16-byte granule; NULL: all zero (so is data then) */
	/*
	 * A lazily freed page written before anyone looked: reclaim may have
	 * dropped it before the write (then it holds zeros plus the write,
	 * alt, with zero tags plus the tag stores, alt_tags) or not (data,
	 * tags).  The first read that tells them apart decides.
	 */
	uint8_t *alt, *alt_tags;
};

struct mproc {
	bool alive;
	int threads;
	struct mpage *pages;	/* sorted by addr */
	size_t n, cap;
};

struct mhist {
	uint64_t off, len;
	uint8_t byte;
};

enum {
	PIN_ATTACHED,		/* the process maps this very page: both see the same bytes */
	PIN_UNCHECKED,		/* may be the zero page (short-term R/O pin): no promise */
	PIN_DETACHED,		/* the mapping changed under it: no longer the process's page */
};

struct mpin {
	bool alive;
	int kind;		/* MODEL_PIN or MODEL_GET */
	int proc;
	uint64_t addr, npages;
	bool write;
	unsigned char *state;	/* per page: PIN_ATTACHED, PIN_UNCHECKED or PIN_DETACHED */
	uint8_t *snap;		/* GET: the bytes when taken */
	struct mhist *hist;	/* GET: what its own process wrote there since */
	size_t nhist, histcap;
	bool hist_lost;		/* too much history or a mixed write: stop checking */
};

struct model {
	struct mproc *procs;
	int nprocs;
	int *task_proc;		/* -1: no such task (or exited) */
	int ntasks;
	struct mpin *pins;	/* by id */
	int npins;
	int *dev_proc;		/* by device id: the process it mirrors; -1: detached */
	int ndevs;
};

static inline struct mproc *task_proc(const struct model *md, int task)
{
	if (task < 0 || task >= md->ntasks || md->task_proc[task] < 0)
		return NULL;
	return &md->procs[md->task_proc[task]];
}

/* Index of the first page with addr >= a. */
static inline size_t lower_bound(const struct mproc *p, uint64_t a)
{
	size_t lo = 0, hi = p->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (p->pages[mid].addr < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static inline struct mpage *find_page(const struct mproc *p, uint64_t a)
{
	size_t i = lower_bound(p, a);

	return i < p->n && p->pages[i].addr == a ? &p->pages[i] : NULL;
}

/*
 * The page is about to be written (or made writable for a device): a
 * lazily freed one is kept from now on, and may have been dropped before
 * (zeros plus the write).  -ENOMEM if the host is out of memory.
 */
int page_written(struct mpage *pg);
/*
 * A reference may show what its own process writes under it: remember it.
 * by_device: written through a pin of the same process, which may share the
 * referenced page even after the mapping changed.
 */
void note_owner_write(struct model *md, const struct mproc *p, uint64_t addr, const uint8_t *buf,
		      uint64_t len, bool by_device);

#endif /* MML_ORACLE_MODEL_INTERNAL_H */
