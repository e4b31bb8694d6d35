/*
 * demo.c - the built-in demo, `mmlab run` with no file (and `make run`).
 *
 * Ordinary scenarios, kept here as text so the binary is enough to see
 * mmlab work.  They are also tests: a failed expectation fails the demo.
 */
#include <string.h>

#include "scenario/scenario.h"

static const char cow_story[] =
"# Copy-on-write, step by step.\n"
"echo \"=== 1. mmap: a process asks for 4 pages of private anonymous memory\"\n"
"spawn A\n"
"p = mmap A 0 16k rw private,anonymous\n"
"show maps A\n"
"show pagemap A p 16k\n"
"expect pagemap A p 16k !present !swapped\n"
"echo \"mmap made a VMA and nothing else: no page is mapped until it is touched.\"\n"
"echo\n"
"echo \"=== 2. A read fault maps the shared zero page\"\n"
"read A p 16k expect zero\n"
"show pagemap A p 16k\n"
"expect pagemap A p 16k present !exclusive\n"
"expect same-frame A p A p+4k\n"
"expect same-frame A p A p+12k\n"
"zero = frame A p\n"
"echo \"Four pages, one frame: reading never allocates. The zero page is\"\n"
"echo \"nobody's, so pagemap does not call it exclusive.\"\n"
"echo\n"
"echo \"=== 3. A write fault allocates a private page\"\n"
"mark\n"
"write A p 4k \"parent's data \"\n"
"show pagemap A p 8k\n"
"expect frame A p != zero\n"
"expect pagemap A p present exclusive\n"
"expect frame A p+4k == zero\n"
"expect vmstat-delta pgfault >= 1\n"
"expect meminfo-delta AnonPages == 4\n"
"show smaps A p\n"
"old = frame A p\n"
"echo \"The written page left the zero page for a frame of its own, mapped\"\n"
"echo \"once: exclusive. Its neighbour still maps the zero page.\"\n"
"echo\n"
"echo \"=== 4. fork: parent and child share the page, read-only\"\n"
"fork A -> B\n"
"show pagemap A p\n"
"show pagemap B p\n"
"expect same-frame A p B p\n"
"expect pagemap A p present !exclusive\n"
"expect pagemap B p present !exclusive\n"
"read B p 14 expect \"parent's data \"\n"
"show pagetable A p 16k\n"
"show rmap A p\n"
"echo \"fork copied no data: both map one frame, now mapped twice, so no\"\n"
"echo \"longer exclusive. Both page-table entries lost their write bit.\"\n"
"echo \"(The pictures: mmlab run --report demo.html, or --show-dir DIR.)\"\n"
"echo\n"
"echo \"=== 5. The parent writes: a write-protect fault copies the page\"\n"
"write A p 4k \"parent, later \"\n"
"show pagemap A p\n"
"show pagemap B p\n"
"expect different-frame A p B p\n"
"expect frame B p == old\n"
"expect pagemap A p present exclusive\n"
"read B p 14 expect \"parent's data \"\n"
"read A p 14 expect \"parent, later \"\n"
"echo \"The parent got a fresh copy; the child still maps the old frame and\"\n"
"echo \"still reads the old bytes. Mapped once again, that frame is exclusive.\"\n"
"expect pagemap B p present exclusive\n"
"echo\n"
"echo \"=== 6. The child writes: its page is reused, not copied\"\n"
"mark\n"
"write B p 4k \"child's data \"\n"
"show pagemap B p\n"
"expect frame B p == old\n"
"expect pagemap B p present exclusive\n"
"expect vmstat-delta pgreuse == 1\n"
"expect meminfo-delta AnonPages == 0\n"
"show folio B p\n"
"show vmstat pgfault pgreuse\n"
"read A p 14 expect \"parent, later \"\n"
"echo \"Only the child maps the old frame now, so do_wp_page reuses it in\"\n"
"echo \"place: same frame, pgreuse + 1, no new anonymous memory.\"\n"
"echo\n"
"echo \"=== 7. exit: everything goes back\"\n"
"exit B\n"
"exit A\n"
"check\n"
"expect meminfo AnonPages == 0\n"
"echo \"No process left and no anonymous page either; freeing the machine\"\n"
"echo \"checks that no frame or page table leaked.\"\n";

static const struct {
	const char *name;
	const char *text;
} demos[] = {
	{ "demo:cow", cow_story },
};

const char *scn_demo_text(unsigned i, const char **name)
{
	if (i >= sizeof(demos) / sizeof(demos[0]))
		return NULL;
	*name = demos[i].name;
	return demos[i].text;
}

int scn_run_demo(const struct scn_opts *o)
{
	const char *name, *text;
	int worst = SCN_PASS;

	for (unsigned i = 0; (text = scn_demo_text(i, &name)); i++) {
		int status = scn_run_string(name, text, strlen(text), o);

		if (status > worst)
			worst = status;
	}
	return worst;
}
