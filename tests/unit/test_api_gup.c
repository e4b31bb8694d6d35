/*
 * test_api_gup.c - pins and references through the public API: errors as
 * Linux's GUP gives them, pin accounting, DMA, and the coherence rules of
 * the COW fixes series (mm/gup.c, mm/memory.c; docs/research-gup.md).
 */
#include <stdlib.h>
#include <string.h>

#include "../harness.h"

#define BASE	0x100000000ULL

static struct mml_task *setup(struct mml_machine **mp, int prot)
{
	struct mml_machine *m = h_machine(16 << 20);
	struct mml_task *t = m ? h_spawn(m) : NULL;

	*mp = m;
	if (t && !h_map(t, BASE, 4 * H_PAGE, prot, H_ANON | MAP_FIXED))
		return NULL;
	return t;
}

TEST(gup_errors_are_linux_errors)
{
	struct mml_machine *m;
	struct mml_task *t = setup(&m, PROT_READ);
	struct mml_pin *p = NULL;

	REQUIRE(t);
	/* Unmapped: -EFAULT, and nothing is held afterwards. */
	CHECK_EQ(mml_pin_user_pages(t, BASE + 4 * H_PAGE, 1, 0, &p), -EFAULT);
	CHECK(p == NULL);
	CHECK_EQ(mml_pin_user_pages(t, BASE + 3 * H_PAGE, 2, 0, &p), -EFAULT);	/* runs off the end */
	/* Write to read-only memory: -EFAULT without FOLL_FORCE, a COW with it. */
	CHECK_EQ(mml_pin_user_pages(t, BASE, 1, MML_FOLL_WRITE, &p), -EFAULT);
	CHECK_EQ(mml_pin_user_pages(t, BASE, 1, MML_FOLL_WRITE | MML_FOLL_FORCE, &p), 1);
	mml_unpin(p);
	/* PROT_NONE: -EFAULT for reads too. */
	CHECK_EQ(mml_mprotect(t, BASE, H_PAGE, PROT_NONE), 0);
	CHECK_EQ(mml_get_user_pages(t, BASE, 1, 0, &p), -EFAULT);
	/* A long-term reference is not a thing: long-term needs a pin. */
	CHECK_EQ(mml_get_user_pages(t, BASE + H_PAGE, 1, MML_FOLL_LONGTERM, &p), -EINVAL);
	CHECK_EQ(mml_pin_user_pages(t, BASE + H_PAGE, 1, 0x100, &p), -EINVAL);
	CHECK_EQ(mml_pin_user_pages(t, BASE + H_PAGE, 0, 0, &p), 0);
	H_END(m);
}

TEST(pin_accounting_and_dma_bounds)
{
	struct mml_machine *m;
	struct mml_task *t = setup(&m, H_RW);
	struct mml_pin *rw, *ro;
	char buf[16];

	REQUIRE(t);
	REQUIRE_EQ(mml_pin_user_pages(t, BASE, 2, MML_FOLL_WRITE | MML_FOLL_LONGTERM, &rw), 2);
	REQUIRE_EQ(mml_pin_user_pages(t, BASE + 2 * H_PAGE, 1, 0, &ro), 1);
	/* Two real pages pinned; the third is the zero page, pinned uncounted. */
	CHECK_EQ(mml_vmstat(m, "nr_foll_pin_acquired") - mml_vmstat(m, "nr_foll_pin_released"), 2);
	CHECK_EQ(mml_dma_write(rw, 2 * H_PAGE - 4, "abcd", 4), 0);
	CHECK_EQ(mml_dma_write(rw, 2 * H_PAGE - 3, "abcd", 4), -EINVAL);
	CHECK_EQ(mml_dma_write(ro, 0, "x", 1), -EPERM);
	CHECK_EQ(mml_dma_read(ro, H_PAGE, buf, 1), -EINVAL);
	CHECK(h_expect(t, BASE + 2 * H_PAGE - 4, 1, 'a'));
	mml_unpin(rw);
	mml_unpin(ro);
	CHECK_EQ(mml_vmstat(m, "nr_foll_pin_acquired") - mml_vmstat(m, "nr_foll_pin_released"), 0);
	H_END(m);
}

TEST(write_pin_survives_fork_and_cow)
{
	struct mml_machine *m;
	struct mml_task *t = setup(&m, H_RW), *c;
	struct mml_pin *p;
	uint8_t v;

	REQUIRE(t);
	CHECK(h_fill(t, BASE, H_PAGE, 1));
	REQUIRE_EQ(mml_pin_user_pages(t, BASE, 1, MML_FOLL_WRITE | MML_FOLL_LONGTERM, &p), 1);
	c = h_fork(t);
	REQUIRE(c);
	/* fork copied the pinned page for the child: the parent keeps it writable. */
	CHECK_NE(H_PFN(h_pagemap(t, BASE)), H_PFN(h_pagemap(c, BASE)));
	CHECK_EQ(mml_pin_pfn(p, 0), H_PFN(h_pagemap(t, BASE)));
	CHECK(h_fill(t, BASE, 1, 2));
	CHECK_EQ(mml_dma_read(p, 0, &v, 1), 0);
	CHECK_EQ(v, 2);
	CHECK_EQ(mml_dma_write(p, 1, "\x03", 1), 0);
	CHECK(h_expect(t, BASE + 1, 1, 3));
	CHECK(h_expect(c, BASE + 1, 1, 1));	/* the child never sees the device */
	mml_unpin(p);
	CHECK_EQ(mml_exit(c), 0);
	H_END(m);
}

TEST(ro_pin_of_shared_page_unshares)
{
	struct mml_machine *m;
	struct mml_task *t = setup(&m, H_RW), *c;
	struct mml_pin *p;
	uint8_t v;
	int fast;

	REQUIRE(t);
	for (fast = 0; fast < 2; fast++) {
		CHECK(h_fill(t, BASE, H_PAGE, 5));
		c = h_fork(t);
		REQUIRE(c);
		CHECK_EQ(H_PFN(h_pagemap(t, BASE)), H_PFN(h_pagemap(c, BASE)));
		REQUIRE_EQ(mml_pin_user_pages(t, BASE, 1, MML_FOLL_LONGTERM | (fast ? MML_FOLL_FAST : 0), &p), 1);
		/* The pin got the parent a page of its own, still read-only. */
		CHECK_EQ(mml_pin_pfn(p, 0), H_PFN(h_pagemap(t, BASE)));
		CHECK(h_pagemap(t, BASE) & MML_PM_MMAP_EXCLUSIVE);
		CHECK(h_fill(t, BASE, 1, 6));
		CHECK_EQ(mml_dma_read(p, 0, &v, 1), 0);
		CHECK_EQ(v, 6);
		CHECK(h_expect(c, BASE, 1, 5));
		mml_unpin(p);
		CHECK_EQ(mml_exit(c), 0);
	}
	H_END(m);
}

TEST(reference_does_not_see_another_process)
{
	struct mml_machine *m;
	struct mml_task *t = setup(&m, H_RW), *c;
	struct mml_pin *g;
	uint8_t v;

	REQUIRE(t);
	CHECK(h_fill(t, BASE, H_PAGE, 7));
	c = h_fork(t);
	REQUIRE(c);
	REQUIRE_EQ(mml_get_user_pages(c, BASE, 1, 0, &g), 1);
	CHECK_EQ(mml_munmap(c, BASE, H_PAGE), 0);
	CHECK(h_fill(t, BASE, 1, 8));	/* must copy: the reference still holds the page */
	CHECK_EQ(mml_dma_read(g, 0, &v, 1), 0);
	CHECK_EQ(v, 7);
	mml_unpin(g);
	CHECK_EQ(mml_exit(c), 0);
	H_END(m);
}

TEST(pin_held_at_power_off_is_a_leak)
{
	struct mml_machine *m = h_machine_flags(0, MML_QUIET);
	struct mml_task *t = m ? h_spawn(m) : NULL;
	struct mml_pin *p;

	REQUIRE(t);
	REQUIRE(h_map(t, BASE, H_PAGE, H_RW, H_ANON | MAP_FIXED));
	REQUIRE_EQ(mml_pin_user_pages(t, BASE, 1, MML_FOLL_WRITE, &p), 1);
	h_forget_machine(m);
	CHECK_EQ(mml_machine_free(m), -EBUSY);
}

TEST(huge_request_fails_cleanly)
{
	struct mml_machine *m;
	struct mml_task *t = setup(&m, H_RW);
	struct mml_pin *p = NULL;

	REQUIRE(t);
	CHECK_EQ(mml_pin_user_pages(t, BASE, 1ULL << 40, 0, &p), -EFAULT);
	CHECK_EQ(mml_pin_user_pages(t, BASE, 1ULL << 30, 0, &p), -EFAULT);
	CHECK(p == NULL);
	H_END(m);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
