/*
 * huge_memory.c - where transparent huge pages will live (Linux's
 * mm/huge_memory.c).  For now it holds the tripwires the rest of the
 * core goes through when it meets what only THP (and DAX) can make: a
 * huge pmd or pud leaf, and a large folio that needs splitting.  Each is
 * reported as a bug, loudly, so that no range is skipped in silence; the
 * THP issue replaces them with zap_huge_pmd, copy_huge_pmd,
 * change_huge_pmd, split_huge_pmd and a real split_folio.
 */
#include "mm/internal.h"
#include "mm/pagewalk.h"

void huge_entry_unsupported(struct mm_struct *mm, uint64_t addr, uint64_t val, const char *level,
			    const char *who)
{
	mml_report(mm->machine, "%s: %s %#llx at %#llx is neither none nor a table: huge %ss are not built yet",
		   who, level, (unsigned long long)val, (unsigned long long)addr, level);
}

/*
 * split_folio(): a large folio only partly covered by an operation that
 * must treat each page on its own (MADV_FREE or MADV_COLD of part of it,
 * reclaim without THP swap).  Linux splits it into small folios, which
 * needs every mapping turned into a migration entry and back; until that
 * exists, a report and -EBUSY, which callers treat as a failed split.
 */
int split_folio(struct mml_machine *m, struct folio *folio, const char *who)
{
	mml_report(m, "%s: order-%u folio at pfn %lu needs split_folio(), which is not built yet",
		   who, folio_order(folio), folio_pfn(m, folio));
	return -EBUSY;
}
