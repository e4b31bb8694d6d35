/*
 * hostkernel.c - what the host kernel does that Linux proper may not, found
 * by asking it, once, at the runner's start: whether it tracks the
 * soft-dirty bit (CONFIG_MEM_SOFT_DIRTY), and whether a read fault of
 * anonymous memory maps the shared zero page.
 *
 * The zero page: Linux's do_anonymous_page maps it for every read fault of
 * private anonymous memory, and so does mmlab.  A guest kernel may be made
 * not to (this machine's hypervisor boots it with pvm_no_zero_page=1): such
 * a read gives the page a frame of its own, exclusive, and from then on the
 * two sides hold different memory (RSS, frames, the exclusive bit, what a
 * later move or lock finds).  So a call that may read-fault anonymous
 * memory is watched on such a host: a page that held nothing before it and
 * is an anonymous page of its own after it ends the comparison for the
 * scenario (-CF_SKIP, state changed), naming the reason.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mmlab.h"
#include "native/host.h"

/* pagemap entries of our own pages [p, p + n pages), 0 where it cannot be read */
static void own_pagemap(const volatile char *p, long psz, int n, uint64_t *e)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	for (int i = 0; i < n; i++)
		if (fd < 0 || pread(fd, &e[i], sizeof(e[i]), (off_t)((uintptr_t)p / (uintptr_t)psz + (uintptr_t)i) *
				    (off_t)sizeof(e[i])) != (ssize_t)sizeof(e[i]))
			e[i] = 0;
	if (fd >= 0)
		close(fd);
}

/* With CONFIG_MEM_SOFT_DIRTY a page just faulted in is soft-dirty in pagemap (bit 55). */
bool cf_host_soft_dirty(void)
{
	long psz = sysconf(_SC_PAGESIZE);
	volatile char *p = mmap(NULL, (size_t)psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t e;

	if (p == MAP_FAILED)
		return true;	/* cannot tell: compare as before */
	p[0] = 1;
	own_pagemap(p, psz, 1, &e);
	munmap((void *)p, (size_t)psz);
	return !e || (e & MML_PM_SOFT_DIRTY);
}

static int zero_page = -1;
static char zero_page_why[160];

/* A read fault of fresh anonymous memory maps the zero page: present, and not exclusive. */
bool cf_host_zero_page(const char **why)
{
	if (zero_page < 0) {
		long psz = sysconf(_SC_PAGESIZE);
		volatile char *p = mmap(NULL, (size_t)psz, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char cmdline[4096] = "";
		FILE *f = fopen("/proc/cmdline", "r");
		uint64_t e = 0;

		if (f) {
			if (!fgets(cmdline, sizeof(cmdline), f))
				cmdline[0] = 0;
			fclose(f);
		}
		zero_page = 1;	/* cannot tell: compare as before */
		if (p != MAP_FAILED) {
			(void)p[0];
			own_pagemap(p, psz, 1, &e);
			munmap((void *)p, (size_t)psz);
			zero_page = !(e & MML_PM_PRESENT) || !(e & MML_PM_MMAP_EXCLUSIVE);
		}
		snprintf(zero_page_why, sizeof(zero_page_why), "the host kernel maps no zero page for a read fault%s",
			 strstr(cmdline, "pvm_no_zero_page=1") ? " (pvm_no_zero_page=1 on its command line)" : "");
	}
	if (why)
		*why = zero_page_why;
	return zero_page > 0;
}

/*
 * Does [addr, addr + len) of process pid meet a private mapping without
 * write permission?  mlock populates such a range by read faults (the zero
 * page), a writable one by write faults (pages of its own on any kernel).
 */
bool cf_host_meets_readonly_private(pid_t pid, uint64_t addr, uint64_t len)
{
	char path[64], line[512];
	bool meets = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	while (f && !meets && fgets(line, sizeof(line), f)) {
		unsigned long long start, end;
		char perms[8];

		if (sscanf(line, "%llx-%llx %7s", &start, &end, perms) == 3 && start < addr + len && addr < end)
			meets = perms[1] != 'w' && perms[3] == 'p';
	}
	if (f)
		fclose(f);
	return meets;
}

/* Pages at most watched a call: a longer range is not watched (no scenario reads so much anonymous memory). */
#define MAX_WATCH	4096

uint64_t *cf_host_zero_watch(struct cf_backend *b, int task, uint64_t addr, uint64_t len)
{
	uint64_t n = (addr + len + 4095) / 4096 - addr / 4096, *e;

	if (cf_host_zero_page(NULL) || !n || n > MAX_WATCH || !(e = calloc(n, sizeof(*e))))
		return NULL;
	if (b->pagemap(b, task, addr & ~4095ULL, n, e)) {
		free(e);
		return NULL;
	}
	return e;
}

int64_t cf_host_zero_check(struct cf_backend *b, int task, uint64_t addr, uint64_t len, uint64_t *before,
			   int64_t r)
{
	uint64_t n = (addr + len + 4095) / 4096 - addr / 4096, *after;
	const char *why;

	if (!before)
		return r;
	after = calloc(n, sizeof(*after));
	if (after && !b->pagemap(b, task, addr & ~4095ULL, n, after)) {
		for (uint64_t i = 0; i < n; i++) {
			bool was_nothing = !(before[i] & (MML_PM_PRESENT | MML_PM_SWAP));
			bool own_anon = (after[i] & MML_PM_PRESENT) && (after[i] & MML_PM_MMAP_EXCLUSIVE) &&
					!(after[i] & MML_PM_FILE);

			if (r >= 0 && was_nothing && own_anon) {
				cf_host_zero_page(&why);
				snprintf(b->why, sizeof(b->why), "%s: %#llx got a page of its own", why,
					 (unsigned long long)((addr & ~4095ULL) + i * 4096));
				r = -CF_SKIP;
				break;
			}
		}
	}
	free(after);
	free(before);
	return r;
}
