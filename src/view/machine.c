/*
 * machine.c - mml_show_machine: the machine at a glance.  Its NUMA nodes
 * with their zone (free pages, watermarks, free blocks per order, as
 * /proc/buddyinfo and zoneinfo tell), each process with its threads,
 * counters and VMAs (as maps), and the swap devices (as /proc/swaps).
 */
#include <errno.h>

#include "fs/fs.h"
#include "view/view.h"

#define VIEW_MAX_VMAS	32	/* VMAs listed per process */

static void zone_node(struct view *v, int nid)
{
	struct zone *zone = &NODE_DATA(v->m, nid)->node_zones[0];
	unsigned long nr_free[NR_PAGE_ORDERS];

	spin_lock(&zone->lock);
	for (int o = 0; o < NR_PAGE_ORDERS; o++)
		nr_free[o] = zone->free_area[o].nr_free;
	spin_unlock(&zone->lock);
	fprintf(v->f, "\tnode%d [label=<<TABLE BORDER=\"0\" CELLBORDER=\"1\" CELLSPACING=\"0\" BGCOLOR=\"#c9d8f0\">"
		"<TR><TD><B>node %d</B>, zone Normal</TD></TR><TR><TD>pfn %lu-%lu, managed %lu</TD></TR>"
		"<TR><TD>free %ld (min %lu, low %lu, high %lu)</TD></TR><TR><TD>free blocks by order:", nid, nid,
		zone->zone_start_pfn, zone->zone_start_pfn + zone->spanned_pages - 1, zone->managed_pages,
		atomic_long_read(&zone->free_pages), zone->_watermark[WMARK_MIN], zone->_watermark[WMARK_LOW],
		zone->_watermark[WMARK_HIGH]);
	for (int o = 0; o < NR_PAGE_ORDERS; o++)
		fprintf(v->f, " %lu", nr_free[o]);
	fprintf(v->f, "</TD></TR></TABLE>>];\n\tmachine -> node%d;\n", nid);
}

/* A process: its threads and counters, then its VMAs as maps lists them. */
static void mm_node(struct view *v, struct mm_struct *mm)
{
	struct vm_area_struct *vma;
	struct mml_task *t;
	unsigned n = 0;

	fprintf(v->f, "\tmm%d [label=<<TABLE BORDER=\"0\" CELLBORDER=\"1\" CELLSPACING=\"0\" BGCOLOR=\"#f5f0d7\">"
		"<TR><TD><B>process %d</B>, threads", mm->tgid, mm->tgid);
	spin_lock(&mm->tasks_lock);
	list_for_each_entry(t, &mm->tasks, mm_node)
		fprintf(v->f, " %d", t->tid);
	spin_unlock(&mm->tasks_lock);
	fprintf(v->f, "</TD></TR><TR><TD>rss anon %ld, file %ld, shmem %ld; swap %ld; page tables %ld kB</TD></TR>",
		get_mm_counter(mm, MM_ANONPAGES), get_mm_counter(mm, MM_FILEPAGES),
		get_mm_counter(mm, MM_SHMEMPAGES), get_mm_counter(mm, MM_SWAPENTS),
		atomic_long_read(&mm->pgtables_bytes) >> 10);
	down_read(&mm->mmap_lock);
	for_each_vma(mm, vma) {
		if (n++ == VIEW_MAX_VMAS)
			continue;
		fprintf(v->f, "<TR><TD ALIGN=\"LEFT\">");
		view_vma_label(v, vma);
		fprintf(v->f, "</TD></TR>");
	}
	up_read(&mm->mmap_lock);
	if (n > VIEW_MAX_VMAS)
		fprintf(v->f, "<TR><TD>%u more VMAs not drawn</TD></TR>", n - VIEW_MAX_VMAS);
	fprintf(v->f, "</TABLE>>];\n\tmachine -> mm%d;\n", mm->tgid);
}

static void swap_nodes(struct view *v)
{
	struct mml_machine *m = v->m;

	for (int type = 0; type < MAX_SWAPFILES; type++) {
		struct swap_info_struct *si = READ_ONCE(m->swap_info[type]);

		if (!si || !(READ_ONCE(si->flags) & SWP_USED))
			continue;
		spin_lock(&si->lock);
		fprintf(v->f, "\tswap%d [shape=cylinder, style=filled, fillcolor=\"#fde2c4\", label=<swap device %d "
			"(%s)<BR/>priority %d, %lu slots, %lu in use%s>];\n\tmachine -> swap%d;\n", type, type,
			si->fd >= 0 ? "a file" : "memory", si->prio, si->max - 1, si->inuse_pages,
			si->flags & SWP_WRITEOK ? "" : ", being swapped off", type);
		spin_unlock(&si->lock);
	}
}

int mml_show_machine(struct mml_machine *m, enum mml_picture_format fmt, FILE *out)
{
	struct mm_struct *mms[VIEW_MAX_ENTRIES], *mm;
	unsigned long more = 0;
	unsigned n = 0;
	struct view v;
	char title[128];
	int err;

	snprintf(title, sizeof(title), "the machine: %lu MiB of RAM in %d node%s",
		 (m->nr_frames * PAGE_SIZE) >> 20, m->nr_nodes, m->nr_nodes > 1 ? "s" : "");
	err = view_begin(&v, m, fmt, title);
	if (err)
		return err;
	op_enter(m, NULL);
	fprintf(v.f, "\tmachine [shape=box3d, label=<free %ld of %lu pages<BR/>swap free %ld of %ld pages>];\n",
		global_vm_stat(m, NR_FREE_PAGES), totalram_pages(m), atomic_long_read(&m->nr_swap_pages),
		READ_ONCE(m->total_swap_pages));
	for (int nid = 0; nid < m->nr_nodes; nid++)
		zone_node(&v, nid);
	/* the processes, each kept alive (mm_users) while drawn outside the list's lock */
	spin_lock(&m->tasks_lock);
	list_for_each_entry(mm, &m->mms, mm_node) {
		if (n == VIEW_MAX_ENTRIES)
			more++;
		else if (atomic_add_unless(&mm->mm_users, 1, 0))
			mms[n++] = mm;
	}
	spin_unlock(&m->tasks_lock);
	for (unsigned i = 0; i < n; i++) {
		mm_node(&v, mms[i]);
		mmput(mms[i]);
	}
	if (more)
		view_note(&v, "elided", "%lu more processes not drawn", more);
	swap_nodes(&v);
	op_exit(m, 0);
	return view_end(&v, 0, fmt, out);
}
