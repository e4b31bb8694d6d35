/*
 * debug.c - reports, dumps and per-object validity checks (Linux's
 * mm/debug.c and CONFIG_DEBUG_VM).
 *
 * mml_report() records a bug the machine saw (a stale translation, a broken
 * invariant) and carries on: the machine then fails mml_check() and
 * mml_machine_free().  mml_bug() is for corrupted internal state, where going
 * on would only make things worse.
 */
#include <stdarg.h>
#include <stdlib.h>

#include "mm/internal.h"

void mml_report(struct mml_machine *m, const char *fmt, ...)
{
	va_list ap;

	atomic_inc(&m->reports);
	if (m->quiet)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "mmlab: BUG: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

long mml_report_count(struct mml_machine *m)
{
	return atomic_read(&m->reports);
}

_Noreturn void mml_bug(const char *file, int line, const char *cond)
{
	fprintf(stderr, "mmlab: kernel BUG at %s:%d: %s\n", file, line, cond);
	abort();
}

void dump_page(struct mml_machine *m, const struct page *page, const char *reason)
{
	struct folio *folio = page_folio(page);

	fprintf(stderr, "page: pfn:%lu refcount:%d mapcount:%d mapping:%p index:%#lx order:%u gen:%u\n",
		page_to_pfn(m, page), folio_ref_count(folio), folio_precise_page_mapcount(folio, page), folio->mapping,
		folio->index, folio->order, page->alloc_gen);
	fprintf(stderr, "flags: %#lx(%s%s%s%s%s%s%s%s)\n", page->flags,
		test_bit(PG_locked, (unsigned long *)&page->flags) ? "locked|" : "",
		PageAnonExclusive(page) ? "anon_exclusive|" : "",
		PageBuddy(page) ? "buddy|" : "", PageTable(page) ? "table|" : "",
		PageReserved(page) ? "reserved|" : "", PageHead(page) ? "head|" : "",
		test_bit(PG_swapbacked, (unsigned long *)&folio->flags) ? "swapbacked|" : "",
		test_bit(PG_dirty, (unsigned long *)&folio->flags) ? "dirty|" : "");
	if (reason)
		fprintf(stderr, "page dumped because: %s\n", reason);
}

void dump_vma(const struct vm_area_struct *vma)
{
	fprintf(stderr, "vma %p start %#llx end %#llx mm %p pgoff %#lx flags %#lx anon_vma %p\n",
		(const void *)vma, (unsigned long long)vma->vm_start, (unsigned long long)vma->vm_end,
		(void *)vma->vm_mm, vma->vm_pgoff, vma->vm_flags, (void *)vma->anon_vma);
}

void dump_mm(const struct mm_struct *mm)
{
	fprintf(stderr, "mm %p tgid %d map_count %lu users %d count %d pgd %p\n", (const void *)mm,
		mm->tgid, mm->map_count, atomic_read(&mm->mm_users), atomic_read(&mm->mm_count),
		(void *)mm->pgd);
}

#define INVALID(why, ...) do { if (why) { fprintf(why, __VA_ARGS__); fputc('\n', why); } return false; } while (0)

/*
 * A large folio's own identities: its tails point to it, and its counts
 * agree with its pages' (rmap.c describes them).
 */
static bool large_folio_is_valid(struct mml_machine *m, struct folio *folio, FILE *why)
{
	unsigned long pfn = folio_pfn(m, folio);
	long nr = folio_nr_pages(folio), ptes = 0, pages_mapped = 0;
	int entire = folio_entire_mapcount(folio), mapped = atomic_read(&folio->_nr_pages_mapped);

	if (!PageHead(&folio->page) || folio_order(folio) > MAX_PAGE_ORDER)
		INVALID(why, "pfn %lu: order-%u folio without PG_head or beyond the buddy orders", pfn,
			folio_order(folio));
	for (long i = 0; i < nr; i++) {
		struct page *page = folio_page(folio, i);
		int maps = atomic_read(&page->_mapcount) + 1;

		if (i && READ_ONCE(page->compound_head) != ((unsigned long)folio | 1))
			INVALID(why, "pfn %lu: tail %ld does not point to its head", pfn, i);
		if (maps < 0)
			INVALID(why, "pfn %lu: page %ld has a negative mapcount %d", pfn, i, maps);
		if (PageAnonExclusive(page) && maps + entire > 1)
			INVALID(why, "pfn %lu: page %ld is PG_anon_exclusive but mapped %d times", pfn, i,
				maps + entire);
		ptes += maps;
		pages_mapped += maps > 0;
	}
	if (entire < 0)
		INVALID(why, "pfn %lu: negative entire mapcount %d", pfn, entire);
	if (folio_mapcount(folio) != ptes + entire)
		INVALID(why, "pfn %lu: large mapcount %d, but its pages have %ld ptes and %d pmds", pfn,
			folio_mapcount(folio), ptes, entire);
	if ((mapped & FOLIO_PAGES_MAPPED) != pages_mapped || (mapped >= ENTIRELY_MAPPED) != (entire > 0))
		INVALID(why, "pfn %lu: nr_pages_mapped %#x, but %ld pages have ptes and %d pmds map it", pfn,
			mapped, pages_mapped, entire);
	/* The mm-id slots (rmap.c): free ones count nothing; unless shared, one holds every mapping. */
	for (int i = 0; i < 2; i++)
		if (folio->_mm_id_mapcount[i] < -1 ||
		    (folio_mm_id(folio, i) == MM_ID_DUMMY) != (folio->_mm_id_mapcount[i] == -1))
			INVALID(why, "pfn %lu: mm-id slot %d holds id %u with mapcount %d", pfn, i,
				folio_mm_id(folio, i), folio->_mm_id_mapcount[i] + 1);
	if (folio->_mm_id_mapcount[0] + folio->_mm_id_mapcount[1] + 2 > folio_mapcount(folio) ||
	    (folio_mapped(folio) && !folio_mm_ids_shared(folio) &&
	     folio->_mm_id_mapcount[0] + 1 != folio_mapcount(folio) &&
	     folio->_mm_id_mapcount[1] + 1 != folio_mapcount(folio)))
		INVALID(why, "pfn %lu: mm-id slots count %d and %d of %d mappings, %sshared", pfn,
			folio->_mm_id_mapcount[0] + 1, folio->_mm_id_mapcount[1] + 1, folio_mapcount(folio),
			folio_mm_ids_shared(folio) ? "" : "not ");
	if (atomic_read(&folio->_pincount) < 0 || atomic_read(&folio->_pincount) > folio_ref_count(folio))
		INVALID(why, "pfn %lu: pincount %d with refcount %d", pfn, atomic_read(&folio->_pincount),
			folio_ref_count(folio));
	return true;
}

/* The identities in struct folio's comment, for one allocated folio. */
bool folio_is_valid(struct mml_machine *m, struct folio *folio, FILE *why)
{
	int refs = folio_ref_count(folio), maps = folio_mapcount(folio);

	if (refs < 0)
		INVALID(why, "pfn %lu: negative refcount %d", folio_pfn(m, folio), refs);
	if (maps < 0)
		INVALID(why, "pfn %lu: negative mapcount %d", folio_pfn(m, folio), maps);
	/* Every mapping holds a reference, as does the swap cache. */
	if (refs < maps + (folio_test_swapcache(folio) ? 1 : 0))
		INVALID(why, "pfn %lu: refcount %d below mapcount %d", folio_pfn(m, folio), refs, maps);
	if (PageBuddy(&folio->page))
		INVALID(why, "pfn %lu: in use but marked free (PG_buddy)", folio_pfn(m, folio));
	if (PageAnonExclusive(&folio->page) && folio_test_ksm(folio))
		INVALID(why, "pfn %lu: a KSM folio is PG_anon_exclusive", folio_pfn(m, folio));
	if (PageAnonExclusive(&folio->page) && !folio_test_anon(folio))
		INVALID(why, "pfn %lu: PG_anon_exclusive on a non-anon folio", folio_pfn(m, folio));
	if (!folio_test_large(folio) && PageAnonExclusive(&folio->page) && maps > 1)
		INVALID(why, "pfn %lu: PG_anon_exclusive but mapped %d times", folio_pfn(m, folio), maps);
	if (maps && folio_test_anon(folio) && !folio_test_ksm(folio) && !folio_anon_vma(folio))
		INVALID(why, "pfn %lu: mapped anon folio without an anon_vma", folio_pfn(m, folio));
	return !folio_test_large(folio) || large_folio_is_valid(m, folio, why);
}

bool vma_is_valid(struct vm_area_struct *vma, FILE *why)
{
	if (vma->vm_start >= vma->vm_end || !PAGE_ALIGNED(vma->vm_start) || !PAGE_ALIGNED(vma->vm_end))
		INVALID(why, "vma %#llx-%#llx: bad bounds", (unsigned long long)vma->vm_start,
			(unsigned long long)vma->vm_end);
	if (vma->vm_end > TASK_SIZE)
		INVALID(why, "vma %#llx-%#llx: beyond TASK_SIZE", (unsigned long long)vma->vm_start,
			(unsigned long long)vma->vm_end);
	if ((vma->vm_flags & VM_ACCESS_FLAGS) & ~(vma->vm_flags >> 4))
		INVALID(why, "vma %#llx: access beyond VM_MAY*", (unsigned long long)vma->vm_start);
	if ((vma->vm_flags & VM_LOCKED_MASK) == VM_LOCKONFAULT || (vma->vm_flags & VM_LOCKED_MASK && vma->vm_flags & VM_SPECIAL))
		INVALID(why, "vma %#llx: VM_LOCKONFAULT without VM_LOCKED, or a special VMA locked",
			(unsigned long long)vma->vm_start);
	if (pgprot_val(vma->vm_page_prot) !=
	    pgprot_val(vm_get_page_prot(vma->vm_flags & ~(vma_wants_writenotify(vma) ? VM_SHARED : 0))))
		INVALID(why, "vma %#llx: vm_page_prot does not match vm_flags", (unsigned long long)vma->vm_start);
	if (vma->anon_vma) {
		struct anon_vma_chain *avc;
		bool found = false;

		list_for_each_entry(avc, &vma->anon_vma_chain, same_vma) {
			if (avc->vma != vma)
				INVALID(why, "vma %#llx: chain entry of another vma", (unsigned long long)vma->vm_start);
			if (avc->anon_vma == vma->anon_vma)
				found = true;
		}
		if (!found)
			INVALID(why, "vma %#llx: not on its own anon_vma", (unsigned long long)vma->vm_start);
	} else if (!list_empty(&vma->anon_vma_chain)) {
		/* A chain without anon_vma only exists transiently. */
		INVALID(why, "vma %#llx: anon_vma chain but no anon_vma", (unsigned long long)vma->vm_start);
	}
	return true;
}

bool anon_vma_is_valid(struct anon_vma *av, FILE *why)
{
	struct anon_vma_chain *avc;

	if (av->root->root != av->root)
		INVALID(why, "anon_vma %p: root is not a root", (void *)av);
	if (atomic_read(&av->refcount) <= 0)
		INVALID(why, "anon_vma %p: refcount %d", (void *)av, atomic_read(&av->refcount));
	list_for_each_entry(avc, &av->chains, same_anon_vma)
		if (avc->anon_vma != av)
			INVALID(why, "anon_vma %p: foreign chain entry", (void *)av);
	return true;
}

bool mm_is_valid(struct mm_struct *mm, FILE *why)
{
	return mm_range_is_valid(mm, 0, UINT64_MAX, why);
}

/* mm_is_valid() of the VMAs that meet [start, end) only (the fuzzer's incremental check): no Linux twin */
bool mm_range_is_valid(struct mm_struct *mm, uint64_t start, uint64_t end, FILE *why)
{
	for (unsigned long i = vma_index_after(mm, start); i < mm->map_count && mm->vmas[i]->vm_start < end; i++) {
		struct vm_area_struct *vma = mm->vmas[i];

		if (vma->vm_mm != mm)
			INVALID(why, "mm %d: vma of another mm", mm->tgid);
		if (mm->vma_ends[i] != vma->vm_end)
			INVALID(why, "mm %d: the tree has the VMA at %#llx ending at %#llx, not %#llx", mm->tgid,
				(unsigned long long)vma->vm_start, (unsigned long long)mm->vma_ends[i],
				(unsigned long long)vma->vm_end);
		if (i && mm->vmas[i - 1]->vm_end > vma->vm_start)
			INVALID(why, "mm %d: vmas overlap or are out of order at %#llx", mm->tgid,
				(unsigned long long)vma->vm_start);
		if (!vma_is_valid(vma, why))
			return false;
		if (vma->anon_vma && !anon_vma_is_valid(vma->anon_vma, why))
			return false;
	}
	if (atomic_read(&mm->mm_users) < 0 || atomic_read(&mm->mm_count) <= 0)
		INVALID(why, "mm %d: bad reference counts", mm->tgid);
	return true;
}
