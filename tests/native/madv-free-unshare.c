/*
 * madv-free-unshare.c - does the host kernel drop a page under a process
 * that never MADV_FREE'd it?  (The bug zoo's `lazyfree-shared`.)
 *
 * A writes a page and forks B, so the page is shared.  A read-only pin
 * (process_vm_readv pins with FOLL_PIN) unshares it: A gets a copy, clean
 * under a clean pte.  A forks C, which shares that copy, then MADV_FREEs
 * it and unmaps it.  C never freed the page; after MADV_PAGEOUT it must
 * still read what A wrote.  Linux 6.18 marks the copy lazyfree although C
 * maps it (madvise_free_pte_range checks the mapcount only before cleaning
 * a dirty or swap-cache page), and reclaim drops it: C reads zeros.
 * mmlab keeps the page (docs/deviations.md).
 *
 * MADV_FREE marks the page through a per-CPU batch, which MADV_PAGEOUT
 * drains only on its own CPU: every process runs on one CPU, so that the
 * mark has landed before C reclaims.
 *
 * Prints what the host did; exits 0 either way (this shows the host, it
 * does not judge mmlab), 2 if the experiment could not be set up.
 */
#define _GNU_SOURCE
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

#define PAGE 4096
#define BYTE 0x21

static int wait_byte(int fd)
{
	char c;

	return read(fd, &c, 1) == 1 ? 0 : -1;
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
	int hold[2], go[2], status;
	uint8_t *p, buf[64];
	struct iovec local = { buf, sizeof(buf) }, remote;
	struct utsname u;
	cpu_set_t one;
	pid_t b, c;

	CPU_ZERO(&one);
	CPU_SET((unsigned)sched_getcpu(), &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		return 2;
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || pipe(hold) || pipe(go))
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
	c = fork();
	if (c < 0)
		return 2;
	if (c == 0)
		_exit(child_c(p, go[0]));
	if (madvise(p, PAGE, MADV_FREE) || munmap(p, PAGE) || write(go[1], "x", 1) != 1)
		return 2;
	if (waitpid(c, &status, 0) != c || !WIFEXITED(status))
		return 2;
	if (write(hold[1], "x", 1) != 1 || waitpid(b, NULL, 0) != b)
		return 2;
	uname(&u);
	switch (WEXITSTATUS(status)) {
	case 0:
		printf("host kernel %s keeps the data of a process that did not MADV_FREE the page\n", u.release);
		return 0;
	case 1:
		printf("host kernel %s drops the page under a process that never MADV_FREE'd it "
		       "(the bug zoo's lazyfree-shared; mmlab deviates, docs/deviations.md)\n", u.release);
		return 0;
	default:
		return 2;
	}
}
