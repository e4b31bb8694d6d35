/*
 * khugepaged.h - what khugepaged.c (anon collapse, the scanner,
 * MADV_COLLAPSE) and khugepaged_file.c (collapse_file, retract_page_tables)
 * share: Linux keeps both halves in mm/khugepaged.c.
 */
#ifndef MML_MM_KHUGEPAGED_H
#define MML_MM_KHUGEPAGED_H

#include "mm/internal.h"

/* Linux's enum scan_result names, counted per result (khugepaged_scan_result_count). */
#define SCAN_RESULTS(X) \
	X(SCAN_FAIL) X(SCAN_SUCCEED) X(SCAN_PMD_NULL) X(SCAN_PMD_NONE) X(SCAN_PMD_MAPPED) \
	X(SCAN_EXCEED_NONE_PTE) X(SCAN_EXCEED_SWAP_PTE) X(SCAN_EXCEED_SHARED_PTE) \
	X(SCAN_PTE_NON_PRESENT) X(SCAN_PTE_UFFD_WP) X(SCAN_PTE_MAPPED_HUGEPAGE) X(SCAN_PAGE_RO) \
	X(SCAN_LACK_REFERENCED_PAGE) X(SCAN_PAGE_NULL) X(SCAN_SCAN_ABORT) X(SCAN_PAGE_COUNT) \
	X(SCAN_PAGE_LRU) X(SCAN_PAGE_LOCK) X(SCAN_PAGE_ANON) X(SCAN_PAGE_COMPOUND) X(SCAN_ANY_PROCESS) \
	X(SCAN_VMA_NULL) X(SCAN_VMA_CHECK) X(SCAN_ADDRESS_RANGE) X(SCAN_DEL_PAGE_LRU) \
	X(SCAN_ALLOC_HUGE_PAGE_FAIL) X(SCAN_TRUNCATED) X(SCAN_STORE_FAILED) X(SCAN_PAGE_FILLED) \
	X(SCAN_PAGE_DIRTY_OR_WRITEBACK)

#define SCAN_ENUM(name) name,
enum scan_result { SCAN_RESULTS(SCAN_ENUM) NR_SCAN_RESULTS };

/* Who asks: khugepaged obeys the sysfs limits, MADV_COLLAPSE does not (Linux's collapse_control). */
struct collapse_control {
	bool is_khugepaged;
};

void count_scan_result(struct mml_machine *m, enum scan_result r);
enum scan_result find_pmd_or_thp_or_none(struct mm_struct *mm, uint64_t address, pmd_t **pmdp);
enum scan_result hugepage_vma_revalidate(struct mm_struct *mm, uint64_t address, bool expect_anon,
					 struct vm_area_struct **vmap, struct collapse_control *cc);
pmd_t pmdp_collapse_flush(struct vm_area_struct *vma, uint64_t address, pmd_t *pmd);
gfp_t collapse_gfp(struct mml_machine *m, const struct collapse_control *cc);
bool hpage_collapse_test_exit(struct mm_struct *mm);

/* khugepaged_file.c */
enum scan_result hpage_collapse_scan_file(struct mm_struct *mm, uint64_t addr, struct file *file,
					  unsigned long start, struct collapse_control *cc);
enum scan_result collapse_pte_mapped_thp(struct mm_struct *mm, uint64_t addr, bool install_pmd);

#endif
