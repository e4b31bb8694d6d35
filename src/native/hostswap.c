/*
 * hostswap.c - the host back end's swap devices: files made in a private
 * directory, with a swap header written here, enabled with swapon(2)
 * (root only).  There is no memory-backed swap on the host: `swapon
 * SIZE` is a file too (docs/conformance.md).
 *
 * No swap file may ever be left enabled on the host.  stop() swaps them
 * off and removes them once the processes are gone
 * (cf_host_swap_cleanup); a signal or exit() that ends the runner does
 * the same first (cf_host_swap_emerg, from runner.c's handlers), from
 * plain arrays that a signal handler may read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <unistd.h>

#include "native/host.h"

#define PAGE		4096ULL

struct host_swap {
	char path[256];
	bool on;
};

static struct host_swap *swaps;	/* the scenario's devices, by handle */
static int nswap, capswap;
static int ndefault;		/* of them, enabled with no priority while the host had swap of its own */
static bool nprio;		/* one was enabled with a priority */
static char swapdir[200];	/* private directory of the swap files, "" = none */

/*
 * What a signal that ends the runner must still undo: the swap files
 * enabled on the host.  Plain arrays, read by the handler
 * (async-signal-safe: swapoff, unlink, rmdir, raise).
 */
#define MAX_HOST_SWAP	32
static char emerg_path[MAX_HOST_SWAP][256];
static volatile sig_atomic_t emerg_on[MAX_HOST_SWAP];
static char emerg_dir[200];

void cf_host_swap_emerg(void)
{
	for (int i = 0; i < MAX_HOST_SWAP; i++) {
		if (emerg_on[i] == 2)
			swapoff(emerg_path[i]);
		if (emerg_on[i]) {
			unlink(emerg_path[i]);
			emerg_on[i] = 0;
		}
	}
	if (emerg_dir[0])
		rmdir(emerg_dir);
}

/*
 * mkswap's work, done here: the Linux swap header (include/linux/swap.h,
 * union swap_header) in the first page - version 1, last_page, no bad
 * pages, "SWAPSPACE2" in the page's last 10 bytes - then zeros written
 * to the end, so that the file has no holes (swapon refuses holes).
 */
static int swap_file_write(const char *path, uint64_t pages)
{
	static unsigned char buf[1 << 20];
	uint64_t total = pages * PAGE, done, n;
	uint32_t version = 1, last_page = (uint32_t)(pages - 1), nr_bad = 0;
	int fd, r = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0600) < 0)
		r = -errno;
	for (done = 0; !r && done < total; done += n) {
		n = total - done < sizeof(buf) ? total - done : sizeof(buf);
		memset(buf, 0, n);
		if (done == 0) {
			/* bootbits[1024], then version, last_page, nr_badpages */
			memcpy(buf + 1024, &version, 4);
			memcpy(buf + 1028, &last_page, 4);
			memcpy(buf + 1032, &nr_bad, 4);
			memcpy(buf + PAGE - 10, "SWAPSPACE2", 10);
		}
		if (write(fd, buf, n) != (ssize_t)n)
			r = errno ? -errno : -EIO;
	}
	if (!r && fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int swap_dir(struct cf_backend *b)
{
	const char *tmp = getenv("TMPDIR");

	if (swapdir[0])
		return 0;
	snprintf(swapdir, sizeof(swapdir), "%s/mmlab-conform-swap.XXXXXX",
		 tmp && *tmp && strlen(tmp) < 120 ? tmp : "/tmp");
	if (!mkdtemp(swapdir)) {
		snprintf(b->why, sizeof(b->why), "cannot make a directory for swap files: %s",
			 strerror(errno));
		swapdir[0] = '\0';
		return -CF_SKIP;
	}
	memcpy(emerg_dir, swapdir, sizeof(emerg_dir));
	return 0;
}

/*
 * The host's own swap devices (not the scenario's, which live in
 * swapdir), from /proc/swaps: how many, and the highest priority of
 * them in *max.
 */
static int foreign_swaps(int *max)
{
	char line[512], name[300];
	int n = 0, prio;
	FILE *f = fopen("/proc/swaps", "re");

	*max = -32768;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%299s %*s %*s %*s %d", name, &prio) != 2 || name[0] != '/')
			continue;	/* the header */
		if (swapdir[0] && !strncmp(name, swapdir, strlen(swapdir)))
			continue;
		n++;
		if (prio > *max)
			*max = prio;
	}
	fclose(f);
	return n;
}

/*
 * A swap device the host already has must not take the scenario's pages.
 * With none, the scenario's priorities are used as they are (none: the
 * kernel's decreasing negative ones, as mmlab's).  With some, a device
 * without a priority gets 32767, 32766, ... (the same order, above every
 * host device); one with a priority must be above them, and the two
 * kinds may not be mixed (their order would change): else a skip with
 * the reason.  0 and the swapon(2) flags, or -CF_SKIP.
 */
static int host_swap_flags(struct cf_backend *b, int prio, int *flags)
{
	int max, n = foreign_swaps(&max);

	*flags = prio >= 0 ? SWAP_FLAG_PREFER | (prio & SWAP_FLAG_PRIO_MASK) : 0;
	if (!n)
		return 0;
	if (prio < 0 && !nprio) {
		*flags = SWAP_FLAG_PREFER | ((SWAP_FLAG_PRIO_MASK - ndefault) & SWAP_FLAG_PRIO_MASK);
		ndefault++;
		return 0;
	}
	if (prio >= 0 && prio > max && !ndefault) {
		nprio = true;
		return 0;
	}
	snprintf(b->why, sizeof(b->why), "the host has swap of its own (%d device%s, priority up to %d) that "
		 "would take the scenario's pages", n, n == 1 ? "" : "s", max);
	return -CF_SKIP;
}

/*
 * There is no memory-backed swap on the host: `swapon SIZE` is a file
 * too (docs/conformance.md).  Errors that say "not here" (EPERM: not
 * root; EINVAL: the file system takes no swap files; ENOSYS: no
 * CONFIG_SWAP) are skips, except EINVAL for a size with no page after
 * the header, which the kernel refuses whoever asks (mmlab too).
 */
int cf_host_swapon(struct cf_backend *b, uint64_t bytes, int prio, bool file, bool keep, int *swap)
{
	uint64_t pages = bytes / PAGE;
	struct host_swap *sw;
	int r, slot, flags = 0;

	if (prio < -1 || prio > SWAP_FLAG_PRIO_MASK) {
		snprintf(b->why, sizeof(b->why), "swapon(2) takes a priority of 0..%d "
			 "or none, not %d", SWAP_FLAG_PRIO_MASK, prio);
		return -CF_SKIP;
	}
	if (bytes > (1ULL << 30)) {
		snprintf(b->why, sizeof(b->why), "swap files over 1 GiB are not made "
			 "on the host");
		return -CF_SKIP;
	}
	if (pages < 2)
		return -EINVAL;		/* "Empty swap-file": nothing past the header */
	for (slot = 0; slot < MAX_HOST_SWAP && emerg_on[slot]; slot++)
		;
	if (slot == MAX_HOST_SWAP ||
	    cf_grow((void **)&swaps, &capswap, nswap + 1, sizeof(*swaps))) {
		snprintf(b->why, sizeof(b->why), "more than %d swap files", MAX_HOST_SWAP);
		return -CF_SKIP;
	}
	r = swap_dir(b);
	if (r < 0)
		return r;
	r = host_swap_flags(b, prio, &flags);
	if (r < 0)
		return r;
	cf_emerg_arm();
	sw = &swaps[nswap];
	snprintf(sw->path, sizeof(sw->path), "%s/swap%d", swapdir, nswap);
	memcpy(emerg_path[slot], sw->path, sizeof(sw->path));
	emerg_on[slot] = 1;		/* the file exists */
	r = swap_file_write(sw->path, pages);
	if (r < 0) {
		unlink(sw->path);
		emerg_on[slot] = 0;
		snprintf(b->why, sizeof(b->why), "cannot write a swap file: %s", strerror(-r));
		return -CF_SKIP;
	}
	emerg_on[slot] = 2;		/* perhaps enabled */
	if (swapon(sw->path, flags) < 0) {
		r = errno;
		unlink(sw->path);
		emerg_on[slot] = 0;
		if (r == EPERM || r == EINVAL || r == ENOSYS) {
			snprintf(b->why, sizeof(b->why), "swapon(2) of a swap file on this host: %s",
				 strerror(r));
			return -CF_SKIP;
		}
		return -r;
	}
	if (!keep) {
		/* the unnamed form: what it made goes at once */
		swapoff(sw->path);
		unlink(sw->path);
		emerg_on[slot] = 0;
		return 0;
	}
	sw->on = true;
	*swap = nswap++;
	return 0;
}

/* swapoff(2); the file stays until stop(), so a second swapoff is EINVAL */
int cf_host_swapoff(struct cf_backend *b, int swap)
{
	struct host_swap *sw = &swaps[swap];

	if (swapoff(sw->path) < 0)
		return -errno;
	sw->on = false;
	return 0;
}

/* After the processes are gone: every swap file off and removed. */
const char *cf_host_swap_cleanup(void)
{
	const char *msg = NULL;
	int i;

	for (i = 0; i < nswap; i++) {
		if (swaps[i].on && swapoff(swaps[i].path) < 0)
			msg = "host runner: swapoff at the end failed";
		swaps[i].on = false;
		unlink(swaps[i].path);
	}
	for (i = 0; i < MAX_HOST_SWAP; i++) {
		/* whatever the table above missed (a failed swapoff: try again) */
		if (emerg_on[i] == 2 && swapoff(emerg_path[i]) < 0 && errno != EINVAL &&
		    errno != ENOENT)
			msg = "host runner: swapoff at the end failed";
		if (emerg_on[i])
			unlink(emerg_path[i]);
		emerg_on[i] = 0;
	}
	if (swapdir[0])
		rmdir(swapdir);
	swapdir[0] = '\0';
	emerg_dir[0] = '\0';
	free(swaps);
	swaps = NULL;
	nswap = capswap = ndefault = 0;
	nprio = false;
	return msg;
}
