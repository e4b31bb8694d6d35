/*
 * memremap.c - the free path of ZONE_DEVICE folios (Linux's
 * mm/memremap.c).  An fs-DAX folio is free at refcount 0 but stays what
 * it was: the file system's block, still associated with its file
 * (mapping, index) until the file system disassociates it
 * (dax_disassociate_entry).  Freeing it only tells whoever waits for the
 * block to become DMA-idle (dax_wait_page_idle) that it now is.
 */
#include "mm/memremap.h"

struct dev_pagemap *page_pgmap(struct mml_machine *m, const struct page *page)
{
	VM_BUG_ON_PAGE(!is_zone_device_page(m, page), m, (struct page *)page);
	return m->pgmap;
}

/*
 * Models free_zone_device_folio() for MEMORY_DEVICE_FS_DAX: neither the
 * buddy allocator nor the mapping is touched (the file system clears the
 * mapping when the block leaves the file), the waiters are woken.
 */
void free_zone_device_folio(struct mml_machine *m, struct folio *folio)
{
	struct dev_pagemap *pgmap = page_pgmap(m, &folio->page);

	VM_BUG_ON_FOLIO(folio_mapped(folio), m, folio);
	VM_BUG_ON_FOLIO(pgmap->type != MEMORY_DEVICE_FS_DAX, m, folio);
	/* An fs-DAX folio is never anonymous: a COW copy is a RAM page. */
	VM_WARN_ON_PAGE(folio_test_anon(folio), m, &folio->page);
	wake_up_var(&folio->page);
}
