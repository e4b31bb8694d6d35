/*
 * madv-free-unshare.c - does the host kernel drop a page under a process
 * that never MADV_FREE'd it?  (The bug zoo's `lazyfree-shared`.)
 *
 * A writes a page and forks B, so the page is shared.  A read-only pin
 * (process_vm_readv pins with FOLL_PIN) unshares it: A gets a copy.  A
 * forks C, which shares that copy, then MADV_FREEs it and unmaps it.  C
 * never freed the page; after MADV_PAGEOUT it must still read what A
 * wrote.
 *
 * Two things must hold for Linux to lose C's data, and this program
 * reports each, so that a reader sees which one their kernel lacks:
 *  1. MADV_FREE marks the copy lazyfree although C maps it too
 *     (madvise_free_pte_range checks the mapcount only on its way to
 *     cleaning a dirty or swap-cache folio): seen in /proc/kpageflags as
 *     KPF_SWAPBACKED cleared on an anonymous page two processes map.
 *  2. Every pte mapping it is clean, so that reclaim may discard it: the
 *     unshare copy must be mapped clean (wp_page_copy's unshare branch
 *     adds no dirty bit), and fork copies that pte into C; seen in
 *     /proc/self/smaps as Private_Clean right after the unshare.
 * MADV_FREE marks the page through a per-CPU batch that MADV_PAGEOUT
 * drains only on its own CPU: every process runs on one CPU.
 *
 * Linux 6.18.44 (this project's host) shows 1 and not 2: the unshare
 * copy is mapped dirty, reclaim refuses to discard it, C keeps its data.
 * Its folio is clean (/proc/kpageflags KPF_DIRTY), so it is the pte that
 * is dirty, where wp_page_copy's source (through 6.18.38) builds the
 * unshare copy's pte without pte_mkdirty: this build of 6.18.44 differs
 * (its code, read from the running kernel, marks the entry dirty before
 * it tests for unshare; on x86 a read-only dirty pte is kept as
 * _PAGE_SAVED_DIRTY).
 * Prints what the host did; exits 0 either way (this shows the host, it
 * does not judge mmlab), 2 if the experiment could not be set up.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

#define PAGE		4096
#define BYTE		0x21
#define KPF_DIRTY	4
#define KPF_SWAPBACKED	14

static int wait_byte(int fd)
{
	char c;

	return read(fd, &c, 1) == 1 ? 0 : -1;
}

/* The /proc/kpageflags word of the page mapped at p, or 0 if unreadable (not root). */
static uint64_t kpageflags_of(const void *p)
{
	uint64_t e = 0, f = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd >= 0) {
		if (pread(fd, &e, 8, (off_t)((uintptr_t)p / PAGE * 8)) != 8)
			e = 0;
		close(fd);
	}
	fd = open("/proc/kpageflags", O_RDONLY);
	if (fd >= 0 && (e >> 63) && (e & ((1ULL << 55) - 1))) {
		if (pread(fd, &f, 8, (off_t)((e & ((1ULL << 55) - 1)) * 8)) != 8)
			f = 0;
	}
	if (fd >= 0)
		close(fd);
	return f;
}

/* Is the page at p, alone in its VMA, counted dirty in smaps? -1 if unknown. */
static int smaps_dirty(const void *p)
{
	char line[256];
	unsigned long lo, hi, kb;
	int in = 0, dirty = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2)
			in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
		else if (in && sscanf(line, "Private_Dirty: %lu kB", &kb) == 1)
			dirty = kb > 0;
	}
	fclose(f);
	return dirty;
}

/* C: after A is gone, reclaim the page and read it back. */
static int child_c(uint8_t *p, int go)
{
	if (wait_byte(go) || madvise(p, PAGE, MADV_PAGEOUT))
		return 2;
	for (int i = 0; i < PAGE; i++)
		if (p[i] != BYTE)
			return 1;
	return 0;
}

int main(void)
{
	int hold[2], go[2], status, copy_dirty, folio_dirty, lazyfree_shared;
	uint8_t *p, *q, buf[64];
	struct iovec local = { buf, sizeof(buf) }, remote;
	struct utsname u;
	cpu_set_t one;
	uint64_t f;
	pid_t b, c;

	CPU_ZERO(&one);
	CPU_SET((unsigned)sched_getcpu(), &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		return 2;
	/* alone in its VMA, so that smaps speaks of this page only */
	p = mmap(NULL, 3 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || mprotect(p + PAGE, PAGE, PROT_READ | PROT_WRITE) || pipe(hold) || pipe(go))
		return 2;
	p += PAGE;
	q = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (q == MAP_FAILED)
		return 2;
	memset(p, BYTE, PAGE);
	b = fork();
	if (b < 0)
		return 2;
	if (b == 0)
		_exit(wait_byte(hold[0]) ? 2 : 0);	/* keeps the page shared */
	remote = (struct iovec){ p, sizeof(buf) };
	if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != (ssize_t)sizeof(buf))
		return 2;	/* the R/O pin that unshares */
	copy_dirty = smaps_dirty(p);
	/* smaps counts a page dirty when its pte or its folio is: which one? */
	f = kpageflags_of(p);
	folio_dirty = f ? (int)((f >> KPF_DIRTY) & 1) : -1;
	c = fork();
	if (c < 0)
		return 2;
	if (c == 0)
		_exit(child_c(p, go[0]));
	if (madvise(p, PAGE, MADV_FREE))
		return 2;
	/* drain this CPU's lazyfree batch (a pageout of a page of our own) and look at the mark */
	q[0] = 1;
	madvise(q, PAGE, MADV_PAGEOUT);
	f = kpageflags_of(p);
	lazyfree_shared = f ? !((f >> KPF_SWAPBACKED) & 1) : -1;
	if (munmap(p, PAGE) || write(go[1], "x", 1) != 1)
		return 2;
	if (waitpid(c, &status, 0) != c || !WIFEXITED(status))
		return 2;
	if (write(hold[1], "x", 1) != 1 || waitpid(b, NULL, 0) != b)
		return 2;
	uname(&u);
	printf("host kernel %s: MADV_FREE marks a page another process maps lazyfree: %s; "
	       "the unshare copy is mapped clean: %s%s; ",
	       u.release, lazyfree_shared < 0 ? "unknown (no /proc/kpageflags)" : lazyfree_shared ? "yes" : "no",
	       copy_dirty < 0 ? "unknown" : copy_dirty ? "no (dirty)" : "yes",
	       copy_dirty > 0 && folio_dirty == 0 ? " (its folio is clean: the pte is dirty)" : "");
	switch (WEXITSTATUS(status)) {
	case 0:
		printf("the process that never freed the page keeps its data\n");
		return 0;
	case 1:
		printf("the page is dropped under the process that never MADV_FREE'd it "
		       "(the bug zoo's lazyfree-shared; mmlab deviates, docs/deviations.md)\n");
		return 0;
	default:
		return 2;
	}
}
