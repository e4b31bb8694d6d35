/*
 * test_pictures.c - the Graphviz pictures (mml_show_pagetable, _rmap,
 * _folio, _machine) of small known states: the nodes and edges each must
 * have, the same bytes for the same state, the bounds and errors, and the
 * rendering through Graphviz's library to SVG and PNG.
 *
 * What they show is Linux's: fork write-protects a private page in both
 * processes and both ptes name one frame, its anon_vma chains reach both
 * VMAs (anon_vma_fork); MADV_PAGEOUT leaves a swap entry in the pte;
 * a MADV_HUGEPAGE'd aligned 2 MiB write fault maps a PMD-sized folio by
 * a pmd leaf (do_huge_pmd_anonymous_page); a read fault of untouched
 * private memory maps the shared zero page (do_anonymous_page).
 */
#define _GNU_SOURCE
#include "../harness.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define RAM	(32ULL << 20)
#define BASE	0x40000000ULL	/* 2 MiB aligned */
#define HUGE	(2ULL << 20)

/* What a picture function wrote, as a string (free it); NULL after checking its error. */
static char *picture(int (*fn)(struct mml_task *, uint64_t, enum mml_picture_format, FILE *),
		     struct mml_task *t, uint64_t addr, enum mml_picture_format fmt, size_t *lenp)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int ret;

	if (!f)
		return NULL;
	ret = fn(t, addr, fmt, f);
	fclose(f);
	if (lenp)
		*lenp = len;
	if (!CHECK_EQ(ret, 0)) {
		free(buf);
		return NULL;
	}
	return buf;
}

static char *pagetable(struct mml_task *t, uint64_t addr, uint64_t len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	if (!f)
		return NULL;
	if (!CHECK_EQ(mml_show_pagetable(t, addr, len, MML_PICTURE_DOT, f), 0)) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	return buf;
}

static bool has(const char *dot, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool has(const char *dot, const char *fmt, ...)
{
	char want[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	return CHECKF(strstr(dot, want) != NULL, "expected the picture to hold '%s'", want);
}

static int count(const char *s, const char *what)
{
	int n = 0;

	for (; (s = strstr(s, what)); s += strlen(what))
		n++;
	return n;
}

TEST(pagetable_cow_after_fork)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *p = h_spawn(m), *c;
	REQUIRE(p);
	REQUIRE(h_map(p, BASE, H_PAGE, H_RW, H_ANON | MAP_FIXED));
	REQUIRE(h_fill(p, BASE, H_PAGE, 0x5a));
	c = h_fork(p);
	REQUIRE(c);
	unsigned long pfn = H_PFN(h_pagemap(p, BASE));
	REQUIRE(pfn == H_PFN(h_pagemap(c, BASE)));

	char *pt = pagetable(p, BASE, H_PAGE);
	REQUIRE(pt);
	/* every level, the pte without write (fork write-protected it), pointing to the frame */
	has(pt, "pgd (p4d folded) table");
	has(pt, "<B>pud table</B>");
	has(pt, "<B>pmd table</B>");
	has(pt, "<B>pte table</B>");
	has(pt, "[0] 0x40000000 present dirty young soft-dirty</TD>");
	CHECK(!strstr(pt, "present write"));
	has(pt, "-> p%lu;", pfn);
	has(pt, "refcount 2 mapcount 2");
	free(pt);

	char *rm = picture(mml_show_rmap, c, BASE, MML_PICTURE_DOT, NULL);
	REQUIRE(rm);
	/* one anon_vma (the parent's, the root) with chains to both VMAs, a pte in each to the folio */
	has(rm, "anon_vma (root)");
	has(rm, "mm of pid %d", 1);
	has(rm, "mm of pid %d", 2);
	CHECK_EQ(count(rm, "[label=\"avc\"]"), 2);
	CHECK_EQ(count(rm, " -> folio;"), 2);
	has(rm, "av3 -> v1 [label=\"avc\"]");
	has(rm, "av4 -> av3 [label=\"parent\"");
	has(rm, "<B>folio pfn %lu</B>", pfn);
	free(rm);

	char *fo = picture(mml_show_folio, p, BASE, MML_PICTURE_DOT, NULL);
	REQUIRE(fo);
	has(fo, "refcount 2, mapcount 2");
	has(fo, "inactive_anon");
	CHECK(!strstr(fo, "AnonExclusive"));	/* shared: neither mm owns it */
	free(fo);

	/* the child writes: its own copy, exclusive; the parent's page is its alone again */
	REQUIRE(h_fill(c, BASE, H_PAGE, 0x11));
	fo = picture(mml_show_folio, c, BASE, MML_PICTURE_DOT, NULL);
	REQUIRE(fo);
	has(fo, "refcount 1, mapcount 1");
	has(fo, "AnonExclusive");
	free(fo);
	H_END(m);
}

/* The picture shows a defect: fork leaving the parent's pte writable (the zoo's fork-no-wrprotect). */
TEST(pagetable_shows_fork_no_wrprotect)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *p = h_spawn(m);
	REQUIRE(p);
	REQUIRE_EQ(mml_bug_inject(m, "fork-no-wrprotect"), 0);
	REQUIRE(h_map(p, BASE, H_PAGE, H_RW, H_ANON | MAP_FIXED));
	REQUIRE(h_fill(p, BASE, H_PAGE, 0x5a));
	REQUIRE(h_fork(p));
	char *pt = pagetable(p, BASE, H_PAGE);
	REQUIRE(pt);
	has(pt, "[0] 0x40000000 present write dirty");
	free(pt);
	mml_machine_free(m);	/* the bug broke invariants: the checker would say so */
	h_forget_machine(m);
}

TEST(pagetable_swapped_out_page)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	REQUIRE(mml_swapon(m, NULL, 1 << 20, -1) >= 0);
	REQUIRE(h_map(t, BASE, 2 * H_PAGE, H_RW, H_ANON | MAP_FIXED));
	REQUIRE(h_fill(t, BASE, 2 * H_PAGE, 0x33));
	REQUIRE_EQ(mml_madvise(t, BASE, H_PAGE, MADV_PAGEOUT), 0);
	uint64_t e = h_pagemap(t, BASE);
	REQUIRE(e & MML_PM_SWAP);

	char *pt = pagetable(t, BASE, 2 * H_PAGE);
	REQUIRE(pt);
	/* the swapped-out pte: its own node kind, its slot's count; the other still a frame */
	has(pt, "[0] 0x40000000 exclusive");
	has(pt, "shape=cylinder");
	has(pt, "swap slot 0:%llu", (unsigned long long)((e & MML_PM_PFRAME_MASK) >> 5));
	has(pt, "swap count 1");
	has(pt, "[1] 0x40001000 present write dirty");
	free(pt);

	/* the folio view of a slot no folio caches: the entry and the slot alone */
	char *fo = picture(mml_show_folio, t, BASE, MML_PICTURE_DOT, NULL);
	REQUIRE(fo);
	has(fo, "entry -> s0_");
	CHECK(!strstr(fo, "folio ["));
	free(fo);
	/* no folio, no reverse map */
	FILE *f = fopen("/dev/null", "w");
	REQUIRE(f);
	CHECK_EQ(mml_show_rmap(t, BASE, MML_PICTURE_DOT, f), -ENOENT);
	fclose(f);
	H_END(m);
}

TEST(pagetable_thp_pmd_leaf)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	REQUIRE(t);
	REQUIRE(h_map(t, BASE, HUGE, H_RW, H_ANON | MAP_FIXED));
	REQUIRE_EQ(mml_madvise(t, BASE, HUGE, MADV_HUGEPAGE), 0);
	REQUIRE(h_poke(t, BASE + 5 * H_PAGE, 1) == 0);
	unsigned long pfn = H_PFN(h_pagemap(t, BASE));

	char *pt = pagetable(t, BASE, HUGE);
	REQUIRE(pt);
	/* a pmd leaf, no pte table: the folio whole */
	has(pt, "[0] 0x40000000 present huge write dirty young soft-dirty</TD>");
	CHECK(!strstr(pt, "<B>pte table</B>"));
	has(pt, "-> p%lu;", pfn);
	has(pt, "folio of 512 pages (order 9)");
	free(pt);

	char *fo = picture(mml_show_folio, t, BASE + 5 * H_PAGE, MML_PICTURE_DOT, NULL);
	REQUIRE(fo);
	has(fo, "order 9 (512 pages)");
	has(fo, "(entire 1, pages mapped 0)");
	/* a pmd-mapped THP: the head page alone carries PageAnonExclusive, as Linux's __folio_add_new_anon_rmap */
	has(fo, "480 more pages not drawn; 1 of 512 AnonExclusive");
	has(fo, "BGCOLOR=\"#fff3c4\">5</TD>");	/* the page at the address, marked */
	has(fo, ": pmd [0] of table pfn");
	free(fo);
	char *rm = picture(mml_show_rmap, t, BASE, MML_PICTURE_DOT, NULL);
	REQUIRE(rm);
	has(rm, "0x40000000: pmd [0]");
	free(rm);
	H_END(m);
}

TEST(pagetable_zero_page_read)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	uint8_t b;
	REQUIRE(t);
	REQUIRE(h_map(t, BASE, H_PAGE, H_RW, H_ANON | MAP_FIXED));
	REQUIRE_EQ(h_peek(t, BASE, &b), 0);

	char *pt = pagetable(t, BASE, H_PAGE);
	REQUIRE(pt);
	has(pt, "[0] 0x40000000 present young special");
	has(pt, "zero [shape=box");
	has(pt, "shared zero page");
	has(pt, ":e0 -> zero;");
	free(pt);
	char *rm = picture(mml_show_rmap, t, BASE, MML_PICTURE_DOT, NULL);
	REQUIRE(rm);
	has(rm, "the shared zero page");
	has(rm, "no reverse map");
	free(rm);
	H_END(m);
}

TEST(pictures_are_deterministic_and_bounded)
{
	char *a[2] = { NULL, NULL };

	for (int i = 0; i < 2; i++) {
		struct mml_machine *m = h_machine(RAM);
		struct mml_task *t = h_spawn(m);
		REQUIRE(t);
		REQUIRE(h_map(t, BASE, 300 * H_PAGE, H_RW, H_ANON | MAP_FIXED));
		REQUIRE(h_fill(t, BASE, 300 * H_PAGE, 7));
		REQUIRE(h_fork(t));
		a[i] = pagetable(t, 0, 0);
		REQUIRE(a[i]);
		H_END(m);
	}
	CHECK(!strcmp(a[0], a[1]));
	/* 300 ptes: 256 drawn, the rest told */
	has(a[0], "44 more entries not drawn");
	CHECK_EQ(count(a[0], "present dirty young soft-dirty</TD>"), 256);
	free(a[0]);
	free(a[1]);
}

TEST(pictures_errors)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	FILE *f = fopen("/dev/null", "w");
	REQUIRE(t && f);
	REQUIRE(h_map(t, BASE, H_PAGE, H_RW, H_ANON | MAP_FIXED));
	CHECK_EQ(mml_show_pagetable(t, BASE, H_PAGE, (enum mml_picture_format)7, f), -EINVAL);
	CHECK_EQ(mml_show_pagetable(t, BASE, UINT64_MAX, MML_PICTURE_DOT, f), -EINVAL);
	CHECK_EQ(mml_show_pagetable(t, H_TASK_SIZE + H_PAGE, H_PAGE, MML_PICTURE_DOT, f), -EINVAL);
	CHECK_EQ(mml_show_rmap(t, BASE + HUGE, MML_PICTURE_DOT, f), -EFAULT);
	CHECK_EQ(mml_show_folio(t, BASE + HUGE, MML_PICTURE_DOT, f), -EFAULT);
	CHECK_EQ(mml_show_folio(t, BASE, MML_PICTURE_DOT, f), -ENOENT);	/* nothing faulted in */
	CHECK_EQ(mml_show_machine(m, (enum mml_picture_format)-1, f), -EINVAL);
	fclose(f);
	H_END(m);
}

/* Graphviz lays the graph out: SVG with the labels, PNG with its signature. */
TEST(pictures_render_svg_and_png)
{
	struct mml_machine *m = h_machine(RAM);
	struct mml_task *t = h_spawn(m);
	char *buf = NULL;
	size_t len = 0;
	REQUIRE(t);
	REQUIRE(h_map(t, BASE, H_PAGE, H_RW, H_ANON | MAP_FIXED));
	REQUIRE(h_fill(t, BASE, H_PAGE, 1));
	REQUIRE(mml_swapon(m, NULL, 1 << 20, -1) >= 0);

	FILE *f = open_memstream(&buf, &len);
	REQUIRE(f);
	CHECK_EQ(mml_show_machine(m, MML_PICTURE_SVG, f), 0);
	fclose(f);
	REQUIRE(buf);
	CHECK(!strncmp(buf, "<?xml", 5));
	CHECK(strstr(buf, "</svg>") != NULL);
	has(buf, "process 1");
	has(buf, "swap device 0");
	has(buf, "0x40000000&#45;0x40001000 rw&#45;p");
	free(buf);

	buf = picture(mml_show_folio, t, BASE, MML_PICTURE_PNG, &len);
	REQUIRE(buf);
	CHECK(len > 8 && !memcmp(buf, "\x89PNG\r\n\x1a\n", 8));
	free(buf);
	H_END(m);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
