/*
 * userfaultfd.c - the ioctls that fill and write-protect memory for a
 * userfaultfd (Linux's mm/userfaultfd.c): mfill_atomic for UFFDIO_COPY,
 * UFFDIO_ZEROPAGE and UFFDIO_CONTINUE, page by page under mmap_lock for
 * read, each page installed under its pte lock only if the pte is still
 * none (or a uffd-wp marker); mwriteprotect_range for UFFDIO_WRITEPROTECT
 * through change_protection.  The context is fs/userfaultfd.c's.
 *
 * Differences from Linux: the source of UFFDIO_COPY is a buffer of the
 * caller (a host pointer), not the monitor's address space, so there is
 * no -ENOENT retry after a failed copy_from_user with the lock held; a
 * huge pmd in the way is split rather than answered -EEXIST by
 * UFFDIO_WRITEPROTECT; no hugetlbfs, no UFFDIO_MOVE/POISON.
 */
#include <string.h>

#include "fs/vfs.h"
#include "mm/internal.h"
#include "mm/pagemap.h"
#include "mm/userfaultfd_k.h"

enum mfill_atomic_mode { MFILL_ATOMIC_COPY, MFILL_ATOMIC_ZEROPAGE, MFILL_ATOMIC_CONTINUE };

/* Models userfaultfd_wp_use_markers(): file and shmem always; anon only with UFFD_FEATURE_WP_UNPOPULATED. */
bool userfaultfd_wp_use_markers(struct vm_area_struct *vma)
{
	if (!userfaultfd_wp(vma))
		return false;
	if (!vma_is_anonymous(vma))
		return true;
	return vma->vm_userfaultfd_ctx && (vma->vm_userfaultfd_ctx->features & UFFD_FEATURE_WP_UNPOPULATED);
}

bool pte_install_uffd_wp_if_needed(struct vm_area_struct *vma, uint64_t addr, pte_t *pte, pte_t pteval)
{
	if (vma_is_anonymous(vma) || !userfaultfd_wp(vma))
		return false;
	if (!(pte_present(pteval) && pte_uffd_wp(pteval)) && !pte_swp_uffd_wp_any(pteval))
		return false;
	set_pte_at(vma->vm_mm, addr, pte, make_pte_marker(PTE_MARKER_UFFD_WP));
	return true;
}

/* Models find_dst_vma(): one registered VMA must hold all of [dst, dst + len). */
static struct vm_area_struct *find_dst_vma(struct mm_struct *mm, uint64_t dst, uint64_t len)
{
	struct vm_area_struct *vma = find_vma(mm, dst);

	if (!vma || dst < vma->vm_start || dst + len > vma->vm_end)
		return NULL;
	/* Registration checked VM_MAYWRITE and the memory type: the VMA must still be registered. */
	if (!vma->vm_userfaultfd_ctx)
		return NULL;
	return vma;
}

/* The pmd of addr with a pte table under it (mm_alloc_pmd + __pte_alloc); NULL: -ENOMEM, ERR: a leaf. */
static pmd_t *mfill_pmd(struct mm_struct *mm, uint64_t addr, int *err)
{
	pud_t *pud = pud_alloc(mm, pgd_offset(mm, addr), addr);
	pmd_t *pmd;
	pmd_t val;

	*err = -ENOMEM;
	if (!pud)
		return NULL;
	pmd = pmd_alloc(mm, pud, addr);
	if (!pmd)
		return NULL;
	val = pmdp_get(pmd);
	if (pmd_none(val) && __pte_alloc(mm, pmd))
		return NULL;
	/* A huge leaf (a THP, or the huge zero page) is there: the page exists. */
	if (pmd_trans_huge(pmdp_get(pmd))) {
		*err = -EEXIST;
		return NULL;
	}
	*err = 0;
	return pmd;
}

/*
 * Models mfill_atomic_install_pte(): map page at addr if the pte is none
 * or a uffd-wp marker; a page of the cache as the file's (read-only in a
 * private mapping), else as a new exclusive anon page; with wp the pte
 * carries uffd-wp and is read-only.  -EEXIST if something is mapped,
 * -EAGAIN if the table went away.  The caller's reference becomes the
 * mapping's on success.
 */
static int mfill_atomic_install_pte(struct vm_area_struct *vma, pmd_t *pmd, uint64_t addr, struct page *page,
				    bool wp)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mml_machine *m = mm->machine;
	struct folio *folio = page_folio(page);
	bool in_cache = folio->mapping && !folio_test_anon(folio);
	bool writable = vma->vm_flags & VM_WRITE;
	spinlock_t *ptl;
	pte_t *ptep, entry, cur;

	entry = pte_mkdirty(mk_pte(m, page, vma->vm_page_prot));
	if (in_cache && !(vma->vm_flags & VM_SHARED))
		writable = false;
	if (writable)
		entry = pte_mkwrite_novma(entry);
	if (wp)
		entry = pte_mkuffd_wp(entry);
	ptep = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!ptep)
		return -EAGAIN;
	cur = ptep_get(ptep);
	/* Both MISSING and WP registered: a marker of a never-populated page may be filled. */
	if (!pte_none(cur) && !pte_marker_uffd_wp(cur)) {
		pte_unmap_unlock(ptep, ptl);
		return -EEXIST;
	}
	if (in_cache) {
		folio_add_file_rmap_ptes(folio, page, 1, vma);
		add_mm_counter(mm, mm_counter_file(folio), 1);
	} else {
		folio_add_new_anon_rmap(folio, vma, addr, RMAP_EXCLUSIVE);
		folio_add_lru_vma(folio, vma);
		add_mm_counter(mm, MM_ANONPAGES, 1);
	}
	set_pte_at(mm, addr, ptep, entry);
	pte_unmap_unlock(ptep, ptl);
	return 0;
}

/* Models mfill_atomic_pte_zeropage(): the shared zero page, read-only, special, over a none pte only. */
static int mfill_atomic_pte_zeropage(struct vm_area_struct *vma, pmd_t *pmd, uint64_t addr)
{
	struct mm_struct *mm = vma->vm_mm;
	pte_t entry = pte_mkspecial(pfn_pte(mm->machine->zero_pfn, vma->vm_page_prot));
	spinlock_t *ptl;
	pte_t *ptep, cur;
	int ret = -EEXIST;

	ptep = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!ptep)
		return -EAGAIN;
	cur = ptep_get(ptep);
	/* Only a none pte: unlike a copy, the zero page does not replace a uffd-wp marker (Linux's rule). */
	if (pte_none(cur)) {
		set_pte_at(mm, addr, ptep, entry);
		ret = 0;
	}
	pte_unmap_unlock(ptep, ptl);
	return ret;
}

/* Models mfill_atomic_pte_copy(): a new anon page with src's bytes (private shmem too, as Linux). */
static int mfill_atomic_pte_copy(struct vm_area_struct *vma, pmd_t *pmd, uint64_t addr, const void *src, bool wp)
{
	struct mml_machine *m = vma->vm_mm->machine;
	struct folio *folio;
	int ret;

	folio = vma_alloc_folio(vma, GFP_HIGHUSER_MOVABLE, 0, addr);
	if (!folio)
		return -ENOMEM;
	page_data_copy(folio_address(m, folio), src, PAGE_SIZE);
	folio_mark_uptodate(folio);
	ret = mfill_atomic_install_pte(vma, pmd, addr, &folio->page, wp);
	if (ret)
		folio_put(m, folio);
	return ret;
}

/* Models shmem_mfill_atomic_pte(): COPY and ZEROPAGE of shmem put a new page in the cache and map it. */
static int shmem_mfill_atomic_pte(struct vm_area_struct *vma, pmd_t *pmd, uint64_t addr, const void *src, bool wp)
{
	struct inode *inode = file_inode(vma->vm_file);
	struct folio *folio;
	int ret;

	ret = shmem_mfill_folio(inode, linear_page_index(vma, addr), src, &folio);
	if (ret)
		return ret;
	ret = mfill_atomic_install_pte(vma, pmd, addr, &folio->page, wp);
	if (ret) {
		shmem_mfill_folio_undo(inode, folio);
		return ret;
	}
	folio_unlock(folio);
	return 0;
}

/* Models mfill_atomic_pte_continue(): map the page the cache already holds (a MINOR fault's answer). */
static int mfill_atomic_pte_continue(struct vm_area_struct *vma, pmd_t *pmd, uint64_t addr, bool wp)
{
	struct mml_machine *m = vma->vm_mm->machine;
	struct folio *folio;
	int err, ret;

	folio = shmem_continue_folio(file_inode(vma->vm_file), linear_page_index(vma, addr), &err);
	if (!folio)
		return err;
	ret = mfill_atomic_install_pte(vma, pmd, addr, folio_page(folio, linear_page_index(vma, addr) - folio->index),
				       wp);
	folio_unlock(folio);
	if (ret)
		folio_put(m, folio);
	return ret;
}

/*
 * Models mfill_atomic(): fill [dst, dst + len) page by page.  Returns the
 * bytes done if any, else -errno (the ioctl's copy/zeropage/mapped field).
 */
static long mfill_atomic(struct userfaultfd_ctx *ctx, struct mm_struct *mm, uint64_t dst, const char *src,
			 uint64_t len, enum mfill_atomic_mode mode, bool wp)
{
	struct vm_area_struct *vma;
	uint64_t done = 0;
	long err;

	down_read(&mm->mmap_lock);
	/* An event not yet read (fork, remove, unmap): the monitor's view of the mm is stale. */
	err = -EAGAIN;
	if (atomic_read(&ctx->mmap_changing))
		goto out_unlock;
	err = -ENOENT;
	vma = find_dst_vma(mm, dst, len);
	if (!vma || vma->vm_userfaultfd_ctx != ctx)
		goto out_unlock;
	err = -EINVAL;
	if (wp && !userfaultfd_wp(vma))
		goto out_unlock;
	if (mode == MFILL_ATOMIC_CONTINUE && !vma_is_shmem(vma))
		goto out_unlock;
	if (!(vma->vm_flags & VM_SHARED)) {
		err = -ENOMEM;
		if (anon_vma_prepare(vma))
			goto out_unlock;
	}
	err = 0;
	while (done < len) {
		uint64_t addr = dst + done;
		int e;
		pmd_t *pmd = mfill_pmd(mm, addr, &e);

		if (!pmd) {
			err = e;
			break;
		}
		if (mode == MFILL_ATOMIC_CONTINUE)
			e = mfill_atomic_pte_continue(vma, pmd, addr, wp);
		else if (vma->vm_flags & VM_SHARED)
			e = shmem_mfill_atomic_pte(vma, pmd, addr, mode == MFILL_ATOMIC_COPY ? src + done : NULL, wp);
		else if (mode == MFILL_ATOMIC_COPY)
			e = mfill_atomic_pte_copy(vma, pmd, addr, src + done, wp);
		else
			e = mfill_atomic_pte_zeropage(vma, pmd, addr);
		if (e) {
			err = e;
			break;
		}
		done += PAGE_SIZE;
	}
out_unlock:
	up_read(&mm->mmap_lock);
	return done ? (long)done : err;
}

/*
 * Models uffd_wp_range(): set or clear uffd-wp on [start, start + len) of
 * vma; clearing may make ptes writable where mprotect would.  Where
 * markers are used, the upper tables are made first so that none ptes can
 * hold one (Linux's change_prepare); change_pmd_range makes the pte
 * tables, again if retract_page_tables takes one meanwhile.  0, or
 * -ENOMEM.  mmap_lock held.
 */
long uffd_wp_range(struct vm_area_struct *vma, uint64_t start, uint64_t len, bool enable_wp)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned long cp_flags = enable_wp ? MM_CP_UFFD_WP : MM_CP_UFFD_WP_RESOLVE;
	struct mmu_gather tlb;
	bool manual_upgrade;
	long ret;

	mmap_assert_locked(mm);
	if (enable_wp && userfaultfd_wp_use_markers(vma)) {
		for (uint64_t a = start; a < start + len; a = pmd_addr_end(a, start + len)) {
			int e;

			/* a huge leaf there (-EEXIST) is split by change_pmd_range */
			if (!mfill_pmd(mm, a, &e) && e == -ENOMEM)
				return e;
		}
	}
	/* vma_wants_manual_pte_write_upgrade() */
	manual_upgrade = (vma->vm_flags & VM_SHARED) ? vma_wants_writenotify(vma) : (vma->vm_flags & VM_WRITE);
	if (!enable_wp && manual_upgrade)
		cp_flags |= MM_CP_TRY_CHANGE_WRITABLE;
	tlb_gather_mmu(&tlb, mm);
	ret = change_protection(&tlb, vma, start, start + len, cp_flags);
	tlb_finish_mmu(&tlb);
	return ret < 0 ? ret : 0;
}

/* Models mwriteprotect_range(): every VMA in the range must be registered for WP (else -ENOENT). */
static int mwriteprotect_range(struct userfaultfd_ctx *ctx, struct mm_struct *mm, uint64_t start, uint64_t len,
			       bool enable_wp)
{
	uint64_t end = start + len;
	struct vm_area_struct *vma;
	int err;

	down_read(&mm->mmap_lock);
	err = -EAGAIN;
	if (atomic_read(&ctx->mmap_changing))
		goto out_unlock;
	err = -ENOENT;
	for (vma = find_vma_intersection(mm, start, end); vma && vma->vm_start < end; vma = vma_next(vma)) {
		if (!userfaultfd_wp(vma)) {
			err = -ENOENT;
			break;
		}
		err = (int)uffd_wp_range(vma, max(start, vma->vm_start),
					 min(end, vma->vm_end) - max(start, vma->vm_start), enable_wp);
		if (err < 0)
			break;
	}
out_unlock:
	up_read(&mm->mmap_lock);
	return err;
}

/*
 * Give [start, end) of vma new uffd flags and ctx, splitting and merging
 * as vma_modify_flags_uffd() does.  Returns the VMA covering the range,
 * or NULL with *err.  mmap_lock held for write.
 */
struct vm_area_struct *userfaultfd_set_vma(struct vm_area_struct *vma, uint64_t start, uint64_t end,
					   vm_flags_t new_flags, struct userfaultfd_ctx *ctx, int *err)
{
	*err = 0;
	if (start > vma->vm_start) {
		*err = split_vma(vma, start, 1);
		if (*err)
			return NULL;
	}
	if (end < vma->vm_end) {
		*err = split_vma(vma, end, 0);
		if (*err)
			return NULL;
	}
	vma_start_write(vma);
	WRITE_ONCE(vma->vm_flags, new_flags);	/* userfaultfd_wp() may read it without mmap_lock */
	vma->vm_userfaultfd_ctx = ctx;
	/* VM_UFFD_WP makes a shared mapping write-notify (vma_wants_writenotify). */
	vma_set_page_prot(vma);
	return vma_try_merge_neighbours(vma);
}

/* Models userfaultfd_clear_vma(): unregister vma's [start, end); uffd-wp bits and markers go.  mmap_lock write. */
struct vm_area_struct *userfaultfd_clear_vma(struct vm_area_struct *vma, uint64_t start, uint64_t end,
						    int *err)
{
	if (userfaultfd_wp(vma))
		(void)uffd_wp_range(vma, start, end - start, false);
	return userfaultfd_set_vma(vma, start, end, vma->vm_flags & ~__VM_UFFD_FLAGS, NULL, err);
}

/* Models userfaultfd_release_all(): every VMA of mm registered with ctx is unregistered.  mmap_lock write. */
void userfaultfd_release_all(struct mm_struct *mm, struct userfaultfd_ctx *ctx)
{
	struct vm_area_struct *vma;
	int err;

	mmap_assert_write_locked(mm);
	for (vma = find_vma(mm, 0); vma; vma = vma_next(vma))
		if (vma->vm_userfaultfd_ctx == ctx)
			vma = userfaultfd_clear_vma(vma, vma->vm_start, vma->vm_end, &err) ?: vma;
}

/*
 * Models mremap_userfaultfd_prep() without UFFD_FEATURE_EVENT_REMAP (which
 * mmlab does not offer): the VMA moved to is not registered, as its
 * monitor cannot know where the range went; move_ptes cleared its bits.
 */
void mremap_userfaultfd_prep(struct vm_area_struct *new_vma)
{
	userfaultfd_reset_vma(new_vma);
}

/*
 * The VMA is no longer registered, its ptes hold no bit (a fork's child
 * without EVENT_FORK, a VMA moved by mremap): Linux's
 * userfaultfd_set_vm_flags, which also recomputes the page protection
 * (VM_UFFD_WP makes a shared mapping write-notify).
 */
void userfaultfd_reset_vma(struct vm_area_struct *vma)
{
	if (!vma->vm_userfaultfd_ctx && !(vma->vm_flags & __VM_UFFD_FLAGS))
		return;
	vma_start_write(vma);
	vma->vm_userfaultfd_ctx = NULL;
	WRITE_ONCE(vma->vm_flags, vma->vm_flags & ~__VM_UFFD_FLAGS);
	vma_set_page_prot(vma);
}

/* ---- the public calls (the ioctl side of fs/userfaultfd.c) ---------------------------- */

/* Enter as an operation on the handle's process; NULL (-EBADF) when it is released or gone. */
static struct mm_struct *uffd_enter(struct userfaultfd_ctx *ctx)
{
	struct mm_struct *mm;

	op_enter(ctx->machine, NULL);
	mm = READ_ONCE(ctx->released) ? NULL : READ_ONCE(ctx->mm);
	if (mm && !atomic_add_unless(&mm->mm_users, 1, 0))
		mm = NULL;
	return mm;
}

static long uffd_exit(struct userfaultfd_ctx *ctx, struct mm_struct *mm, long ret)
{
	if (mm)
		mmput(mm);
	return op_exit(ctx->machine, ret);
}

/* The fill ioctls' common part: checks, the fill, then the wake of the range done (unless DONTWAKE). */
static long uffd_fill(struct mml_uffd *u, uint64_t dst, const void *src, uint64_t len, uint64_t mode,
		      uint64_t allowed, uint64_t dontwake, uint64_t wpflag, enum mfill_atomic_mode how)
{
	struct userfaultfd_ctx *ctx = (struct userfaultfd_ctx *)u;
	struct mm_struct *mm;
	long ret;

	if (!ctx)
		return -EBADF;
	mm = uffd_enter(ctx);
	if (!mm)
		return uffd_exit(ctx, mm, -EBADF);
	if (atomic_read(&ctx->mmap_changing))
		return uffd_exit(ctx, mm, -EAGAIN);
	ret = uffd_validate_range(ctx->machine, dst, len);
	if (ret)
		return uffd_exit(ctx, mm, ret);
	if (mode & ~allowed)
		return uffd_exit(ctx, mm, -EINVAL);
	if (how == MFILL_ATOMIC_COPY && !src)
		return uffd_exit(ctx, mm, -EFAULT);
	ret = mfill_atomic(ctx, mm, dst, src, len, how, wpflag && (mode & wpflag));
	if (ret > 0 && !(mode & dontwake))
		wake_userfault(ctx, dst, (uint64_t)ret);
	return uffd_exit(ctx, mm, ret);
}

long mml_uffd_copy(struct mml_uffd *u, uint64_t dst, const void *src, uint64_t len, uint64_t mode)
{
	return uffd_fill(u, dst, src, len, mode, UFFDIO_COPY_MODE_DONTWAKE | UFFDIO_COPY_MODE_WP,
			 UFFDIO_COPY_MODE_DONTWAKE, UFFDIO_COPY_MODE_WP, MFILL_ATOMIC_COPY);
}

long mml_uffd_zeropage(struct mml_uffd *u, uint64_t dst, uint64_t len, uint64_t mode)
{
	return uffd_fill(u, dst, NULL, len, mode, UFFDIO_ZEROPAGE_MODE_DONTWAKE, UFFDIO_ZEROPAGE_MODE_DONTWAKE, 0,
			 MFILL_ATOMIC_ZEROPAGE);
}

long mml_uffd_continue(struct mml_uffd *u, uint64_t dst, uint64_t len, uint64_t mode)
{
	return uffd_fill(u, dst, NULL, len, mode, UFFDIO_CONTINUE_MODE_DONTWAKE | UFFDIO_CONTINUE_MODE_WP,
			 UFFDIO_CONTINUE_MODE_DONTWAKE, UFFDIO_CONTINUE_MODE_WP, MFILL_ATOMIC_CONTINUE);
}

/* UFFDIO_WRITEPROTECT without DONTWAKE: clearing wakes the faults of the range. */
int mml_uffd_writeprotect(struct mml_uffd *u, uint64_t addr, uint64_t len, int wp)
{
	struct userfaultfd_ctx *ctx = (struct userfaultfd_ctx *)u;
	struct mm_struct *mm;
	long ret;

	if (!ctx)
		return -EBADF;
	mm = uffd_enter(ctx);
	if (!mm)
		return (int)uffd_exit(ctx, mm, -EBADF);
	if (atomic_read(&ctx->mmap_changing))
		return (int)uffd_exit(ctx, mm, -EAGAIN);
	ret = uffd_validate_range(ctx->machine, addr, len);
	if (!ret)
		ret = mwriteprotect_range(ctx, mm, addr, len, wp != 0);
	if (!ret && !wp)
		wake_userfault(ctx, addr, len);
	return (int)uffd_exit(ctx, mm, ret);
}
