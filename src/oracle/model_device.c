/*
 * model_device.c - the reference model (model.h) of what reaches a
 * process's memory from beside it: pins and references and the DMA of
 * the device holding them, and devices with their own MMU that follow
 * the process.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "oracle/model_internal.h"

/* ---- pins and references ------------------------------------------------------ */

/* Are a page's bytes (NULL: never written, zeros) all zero? */
static bool page_all_zero(const uint8_t *bytes)
{
	static const uint8_t zeros[MODEL_PAGE];

	return !bytes || !memcmp(bytes, zeros, MODEL_PAGE);
}

/*
 * GUP goes page by page, faulting each in before it looks at the next, so
 * a call that stops at a page has faulted the pages before it: a write,
 * or a read-only long-term pin (gup_must_unshare), has copied each
 * private file page among them, which then no longer reads its file.
 */
static long gup_stopped(struct model *md, struct mproc *p, uint64_t start, uint64_t n, int kind, bool write,
			bool longterm)
{
	for (uint64_t i = 0; i < n; i++) {
		struct mpage *pg = find_page(p, start + i * MODEL_PAGE);

		page_touch(md, pg);
		uffd_populated(pg);
		if (pg->file && !(pg->flags & MP_SHARED) && (write || (kind == MODEL_PIN && longterm)) &&
		    page_cow(md, pg))
			return -ENOMEM;
	}
	return -EFAULT;
}

long model_gup(struct model *md, int task, int id, uint64_t addr, uint64_t npages, int kind,
	       bool write, bool longterm, bool force, bool fast, bool *either)
{
	struct mproc *p = task_proc(md, task);
	struct mpin *pn;
	uint64_t start = addr & ~(MODEL_PAGE - 1);
	bool x86_readable = true, past_eof = false;

	*either = false;
	if (!p)
		return -ESRCH;
	if (longterm && kind != MODEL_PIN)
		return -EINVAL;
	if (!npages)
		return 0;
	if (npages > MODEL_TASK_SIZE / MODEL_PAGE || start + npages * MODEL_PAGE > MODEL_TASK_SIZE)
		return -EFAULT;
	/* A file page past the end of its file is SIGBUS to the fault GUP takes, and GUP-fast finds no pte. */
	for (uint64_t i = 0; i < npages; i++) {
		struct mpage *pg = find_page(p, start + i * MODEL_PAGE);

		past_eof |= pg && (file_view_check(md, pg) || (pg->flags & MP_GUARD));
	}
	/* check_vma_flags(): GUP reads need PROT_READ, writes PROT_WRITE; FOLL_FORCE may do either. */
	for (uint64_t i = 0; i < npages; i++) {
		struct mpage *pg = find_page(p, start + i * MODEL_PAGE);

		if (!pg)
			return gup_stopped(md, p, start, i, kind, write, longterm);
		/* check_vma_flags(): fs-DAX refuses long-term pins, private mappings too (vma_is_fsdax). */
		if (longterm && kind == MODEL_PIN && pg->file && page_file(md, pg)->fs == MFS_PMEM) {
			long e = gup_stopped(md, p, start, i, kind, write, longterm);

			return e == -ENOMEM ? e : -EOPNOTSUPP;
		}
		/* Dirty tracking cannot follow a long-term writer (writable_file_mapping_allowed). */
		if (write && kind == MODEL_PIN && longterm && page_needs_dirty_tracking(md, pg))
			return gup_stopped(md, p, start, i, kind, write, longterm);
		if (!write && !(pg->prot & (PROT_READ | PROT_WRITE | PROT_EXEC)))
			x86_readable = false;
		if (!force && !(pg->prot & (write ? PROT_WRITE : PROT_READ))) {
			for (uint64_t k = i + 1; k < npages && x86_readable; k++) {
				struct mpage *q = find_page(p, start + k * MODEL_PAGE);

				x86_readable = q && (q->prot & (PROT_READ | PROT_WRITE | PROT_EXEC));
			}
			*either = fast && !write && x86_readable && !past_eof;
			return gup_stopped(md, p, start, i, kind, write, longterm);
		}
		/* A forced write to a shared mapping without PROT_WRITE would not be a COW: refused. */
		if (write && (pg->flags & MP_SHARED) && !(pg->prot & PROT_WRITE))
			return gup_stopped(md, p, start, i, kind, write, longterm);
		if (file_view_check(md, pg) || (pg->flags & MP_GUARD))
			return gup_stopped(md, p, start, i, kind, write, longterm);
		/* GUP's fault to a userfaultfd never waits: SIGBUS, EFAULT (docs/deviations.md). */
		if (uffd_would_fault(pg, write)) {
			uffd_fault_taken(pg);
			return gup_stopped(md, p, start, i, kind, write, longterm);
		}
	}
	if (id >= md->npins) {
		struct mpin *n = realloc(md->pins, (size_t)(id + 1) * sizeof(*n));

		if (!n)
			return -ENOMEM;
		memset(n + md->npins, 0, (size_t)(id + 1 - md->npins) * sizeof(*n));
		md->pins = n;
		md->npins = id + 1;
	}
	if (!idset_add(&md->live_pins, id))
		return -ENOMEM;
	pn = &md->pins[id];
	*pn = (struct mpin){ .alive = true, .kind = kind, .proc = md->task_proc[task], .addr = start,
			     .npages = npages, .write = write };
	pn->state = calloc(npages, 1);
	pn->pfile = calloc(npages, sizeof(*pn->pfile));
	pn->ppgoff = calloc(npages, sizeof(*pn->ppgoff));
	if (kind == MODEL_GET)
		pn->snap = malloc(npages * MODEL_PAGE);
	if (!pn->state || !pn->pfile || !pn->ppgoff || (kind == MODEL_GET && !pn->snap))
		return -ENOMEM;
	for (uint64_t i = 0; i < npages; i++) {
		struct mpage *pg = find_page(p, start + i * MODEL_PAGE);
		const uint8_t *unk, *bytes;

		if (pg->file) {
			/* The file's page in its cache, or (a private mapping's write, or unshare) a copy. */
			pn->state[i] = pin_file_state(md, pg, kind, write, longterm, &pn->pfile[i], &pn->ppgoff[i]);
		} else {
			/* A write (or FOLL_FORCE write) pin breaks COW: the page is the process's own now. */
			if (write && !pg->data)
				pg->data = calloc(1, MODEL_PAGE);
			if (kind == MODEL_PIN && !write && !longterm && !pg->data)
				pn->state[i] = PIN_UNCHECKED;
			/* Lazily freed: reclaim may have dropped it before GUP took it. */
			if ((pg->flags & MP_LAZYFREE) || pg->alt)
				pn->state[i] = PIN_UNCHECKED;
		}
		uffd_populated(pg);
		bytes = page_bytes(md, pg, &unk);
		if (unk)
			pn->state[i] = pn->state[i] == PIN_FILE ? PIN_FILE : PIN_UNCHECKED;
		/*
		 * KSM may have replaced a zero-filled anonymous page with the
		 * shared zero page (use_zero_pages), which a short-term R/O pin
		 * takes without unsharing (model_ksm.c): no promise either.
		 */
		if (kind == MODEL_PIN && !write && !longterm && md->ksm_zero_pages &&
		    pn->state[i] == PIN_ATTACHED && page_all_zero(bytes))
			pn->state[i] = PIN_UNCHECKED;
		if (pn->snap) {
			if (bytes)
				memcpy(pn->snap + i * MODEL_PAGE, bytes, MODEL_PAGE);
			else
				memset(pn->snap + i * MODEL_PAGE, 0, MODEL_PAGE);
		}
	}
	return (long)npages;
}

bool model_pin_alive(const struct model *md, int id)
{
	return id >= 0 && id < md->npins && md->pins[id].alive;
}

int model_unpin(struct model *md, int id)
{
	struct mpin *pn;

	if (!model_pin_alive(md, id))
		return -ESRCH;
	pn = &md->pins[id];
	free(pn->state);
	free(pn->shift);
	pn->shift = NULL;
	free(pn->pfile);
	free(pn->ppgoff);
	free(pn->snap);
	free(pn->hist);
	memset(pn, 0, sizeof(*pn));
	idset_del(&md->live_pins, id);
	return 0;
}

int model_dma_read_result(const struct model *md, int id, uint64_t off, uint64_t len)
{
	const struct mpin *pn = &md->pins[id];

	if (!model_pin_alive(md, id))
		return -ESRCH;
	if (off + len < off || off + len > pn->npages * MODEL_PAGE)
		return -EINVAL;
	return 0;
}

/*
 * What the process has under page k of a pin, looked up once for all the
 * bytes of the page a DMA reads (a search of the process's pages per byte
 * was most of a DMA's cost): known false if the model cannot say any.
 */
struct pin_view {
	uint64_t k;			/* the page looked up; UINT64_MAX: none yet */
	bool known;
	const uint8_t *bytes, *unk;	/* bytes NULL: all zero */
};

#define PIN_VIEW_INIT { .k = UINT64_MAX }

/* The process's byte under a pin, or -1 if the model cannot say. */
static int pinned_byte(const struct model *md, const struct mpin *pn, uint64_t off, struct pin_view *v)
{
	uint64_t k = off / MODEL_PAGE;

	if (pn->state[k] == PIN_FILE)
		return file_byte(md, pn->pfile[k], pn->ppgoff[k], off & (MODEL_PAGE - 1));
	if (v->k != k) {
		const struct mpage *pg = pn->state[k] == PIN_ATTACHED ?
					 find_page(&md->procs[pn->proc], pin_page_addr(pn, k)) : NULL;

		v->k = k;
		v->known = pg;
		if (pg)
			v->bytes = page_bytes(md, pg, &v->unk);
	}
	if (!v->known || bit_test(v->unk, off & (MODEL_PAGE - 1)))
		return -1;
	return v->bytes ? v->bytes[off & (MODEL_PAGE - 1)] : 0;
}

bool model_dma_read_ok(const struct model *md, int id, uint64_t off, const uint8_t *got, uint64_t len,
		       uint64_t *bad, int *want)
{
	const struct mpin *pn = &md->pins[id];
	struct pin_view v = PIN_VIEW_INIT;

	for (uint64_t k = 0; k < len; k++) {
		uint64_t o = off + k;
		bool ok;

		if (pn->state[o / MODEL_PAGE] == PIN_FILE) {
			/* A file's page: whatever the file holds now, pin or reference alike. */
			ok = file_byte_ok(md, pn->pfile[o / MODEL_PAGE], pn->ppgoff[o / MODEL_PAGE],
					  o & (MODEL_PAGE - 1), got[k]);
			*want = pinned_byte(md, pn, o, &v);
		} else if (pn->kind == MODEL_PIN) {
			uint64_t n = MODEL_PAGE - (o & (MODEL_PAGE - 1));
			int b = pinned_byte(md, pn, o, &v);

			/* The rest of the page at once when the model knows each of its bytes; else byte by byte. */
			n = n < len - k ? n : len - k;
			if (v.known && !v.unk && (v.bytes ? !memcmp(got + k, v.bytes + (o & (MODEL_PAGE - 1)), n) :
						  !got[k] && !memcmp(got + k, got + k + 1, n - 1))) {
				k += n - 1;
				continue;
			}
			ok = b < 0 || got[k] == b;
			*want = b;
		} else {
			ok = got[k] == pn->snap[o] || pn->hist_lost || pn->state[o / MODEL_PAGE] == PIN_UNCHECKED;
			for (size_t h = 0; !ok && h < pn->nhist; h++)
				ok = o >= pn->hist[h].off && o < pn->hist[h].off + pn->hist[h].len &&
				     got[k] == pn->hist[h].byte;
			*want = pn->snap[o];
		}
		if (!ok) {
			*bad = o;
			return false;
		}
	}
	return true;
}

int model_dma_write(struct model *md, int id, uint64_t off, const void *buf, uint64_t len)
{
	struct mpage *pg = NULL;
	struct mpin *pn;
	int r = model_dma_read_result(md, id, off, len);
	const uint8_t *in = buf;

	if (r)
		return r;
	pn = &md->pins[id];
	if (!pn->write)
		return -EPERM;
	if (pn->kind != MODEL_PIN)
		return 0;	/* the generator writes only through pins */
	/* page by page: mremap may have moved the pin's pages apart */
	for (uint64_t k = 0, n; k < len; k += n) {
		n = MODEL_PAGE - ((off + k) & (MODEL_PAGE - 1));
		n = n < len - k ? n : len - k;
		note_owner_write(md, &md->procs[pn->proc],
				 pin_page_addr(pn, (off + k) / MODEL_PAGE) + ((off + k) & (MODEL_PAGE - 1)), in + k, n,
				 true);
	}
	for (uint64_t k = 0, i = UINT64_MAX; k < len; k++) {
		/* the page looked up once for all its bytes: the stores below add no page */
		if (i != (off + k) / MODEL_PAGE) {
			i = (off + k) / MODEL_PAGE;
			pg = find_page(&md->procs[pn->proc], pin_page_addr(pn, i));
		}

		/* A file's page takes it whoever maps it (or nobody); a write pin never holds a file view. */
		if (pn->state[i] == PIN_FILE) {
			if (file_store_page(md, pn->pfile[i], pn->ppgoff[i], (off + k) & (MODEL_PAGE - 1), &in[k], 1))
				return -ENOMEM;
			continue;
		}
		/* Only the process's own page, still under the pin, sees it. */
		if (!pg || pn->state[i] != PIN_ATTACHED)
			continue;
		if (pg->file) {
			/* a private copy (the pin made it): the process's own page */
			if (page_store(md, pg, (off + k) & (MODEL_PAGE - 1), &in[k], 1))
				return -ENOMEM;
			continue;
		}
		if (!pg->data && !(pg->data = calloc(1, MODEL_PAGE)))
			return -ENOMEM;
		pg->data[(off + k) & (MODEL_PAGE - 1)] = in[k];
		if (pg->alt)
			pg->alt[(off + k) & (MODEL_PAGE - 1)] = in[k];
		pg->flags &= ~MP_LAZYFREE;	/* dirtied at unpin: never discarded */
	}
	return 0;
}

bool model_dma_expected(const struct model *md, int id, uint64_t off, uint64_t len, uint8_t *out)
{
	const struct mpin *pn = &md->pins[id];
	struct pin_view v = PIN_VIEW_INIT;

	for (uint64_t k = 0; k < len; k++) {
		uint64_t i = (off + k) / MODEL_PAGE;
		int b;

		/* A reference keeps its snapshot, a file's page shows the file now; a pin, its page. */
		if (pn->kind == MODEL_GET && pn->state[i] != PIN_FILE)
			b = pn->nhist || pn->hist_lost || pn->state[i] == PIN_UNCHECKED ? -1 : pn->snap[off + k];
		else
			b = pinned_byte(md, pn, off + k, &v);
		if (b < 0)
			return false;
		out[k] = (uint8_t)b;
	}
	return true;
}

/* ---- devices with their own MMU ---------------------------------------------------- */

int model_device_attach(struct model *md, int dev, int task)
{
	if (!task_proc(md, task) || dev < 0)
		return -ESRCH;
	if (dev >= md->ndevs) {
		int *n = realloc(md->dev_proc, (size_t)(dev + 1) * sizeof(*n));

		if (!n)
			return -ENOMEM;
		for (int i = md->ndevs; i <= dev; i++)
			n[i] = -1;
		md->dev_proc = n;
		md->ndevs = dev + 1;
	}
	md->dev_proc[dev] = md->task_proc[task];
	return 0;
}

void model_device_detach(struct model *md, int dev)
{
	if (dev >= 0 && dev < md->ndevs)
		md->dev_proc[dev] = -1;
}

static struct mproc *device_proc(const struct model *md, int dev)
{
	struct mproc *p;

	if (dev < 0 || dev >= md->ndevs || md->dev_proc[dev] < 0)
		return NULL;
	p = &md->procs[md->dev_proc[dev]];
	return p->alive ? p : NULL;
}

int model_device_task(const struct model *md, int dev)
{
	const struct mproc *p = device_proc(md, dev);

	for (int t = 0; p && t < md->ntasks; t++)
		if (md->task_proc[t] == md->dev_proc[dev])
			return t;
	return -1;
}

int model_device_access(const struct model *md, int dev, uint64_t addr, bool write)
{
	const struct mproc *p = device_proc(md, dev);
	const struct mpage *pg;

	if (!p)
		return -EINVAL;
	pg = addr < MODEL_TASK_SIZE ? find_page(p, addr & ~(MODEL_PAGE - 1)) : NULL;
	if (!pg || !(pg->prot & PROT_READ))
		return -EFAULT;
	if (write && !(pg->prot & PROT_WRITE))
		return -EPERM;
	/* hmm_vma_fault: VM_FAULT_SIGBUS, or SIGSEGV on a guard */
	return file_view_check(md, pg) || (pg->flags & MP_GUARD) ? -EFAULT : 0;
}

int model_device_exclusive(struct model *md, int dev, uint64_t addr)
{
	struct mproc *p = device_proc(md, dev);
	struct mpage *pg;

	if (!p)
		return -EINVAL;
	pg = addr < MODEL_TASK_SIZE ? find_page(p, addr & ~(MODEL_PAGE - 1)) : NULL;
	if (!pg || !(pg->prot & PROT_WRITE) || file_view_check(md, pg) || (pg->flags & MP_GUARD))
		return -EFAULT;
	if (pg->file) {
		/* The write GUP copies a private file page; a shared one is no anonymous folio. */
		if (pg->flags & MP_SHARED)
			return -EOPNOTSUPP;
		if (page_cow(md, pg))
			return -ENOMEM;
	}
	pg->flags |= MP_DEVICE_HELD;
	return page_written(pg);
}

bool model_device_may_hold(const struct model *md, int dev, uint64_t addr)
{
	const struct mproc *p = device_proc(md, dev);
	const struct mpage *pg = p && addr < MODEL_TASK_SIZE ? find_page(p, addr & ~(MODEL_PAGE - 1)) : NULL;

	return pg && (pg->flags & MP_DEVICE_HELD);
}
