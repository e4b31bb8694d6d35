/*
 * thp.c - transparent huge pages on the host back end: whether the host's
 * THP settings are mmlab's defaults (only then do the drivers run with
 * THP), khugepaged made to run promptly and waited for, /proc/kpageflags.
 *
 * mmlab's machine starts with Linux's CONFIG_TRANSPARENT_HUGEPAGE_MADVISE
 * defaults (mm/huge_memory.c, hugepage_init).  A host set the same way
 * gives THPs only where a scenario asks for them (MADV_HUGEPAGE,
 * MADV_COLLAPSE), so every other scenario sees what it saw without THP.
 * A host set otherwise ("always", a small size enabled, other khugepaged
 * limits) would make THPs behind the scenario's back: its drivers run
 * with PR_SET_THP_DISABLE instead, and what asks for THP is skipped,
 * naming the setting.  The settings are read once, when the runner
 * starts, before any scenario could change them.
 *
 * "khugepaged scan N" on the host is what Linux's selftest does to wait
 * for khugepaged (tools/testing/selftests/mm/khugepaged.c): a pass of N
 * ptes (pages_to_scan) every 10 ms (scan_sleep_millisecs; a failed
 * allocation retried after 10 ms too), until khugepaged/full_scans has
 * grown by two - one whole pass over every mm began after the call -
 * then the knobs go back.  They are written through hostsys.c, which
 * saves each first, so that no way the runner ends leaves them changed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "native/host.h"

#define THP_DIR		"/sys/kernel/mm/transparent_hugepage/"
#define KH_DIR		THP_DIR "khugepaged/"
/* how long two full scans may take before khugepaged counts as not running */
#define KHUGEPAGED_WAIT_MS	10000
#define KHUGEPAGED_POLL_MS	10

static bool thp_probed, thp_usable;
static char thp_why[160];

/* ---- reading a knob ---- */

/* The file's first line, without its newline; -errno. */
static int knob_read(const char *path, char *buf, size_t n)
{
	long r = cf_host_read_file(path, buf, n);

	if (r < 0)
		return (int)r;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static long knob_num(const char *path)
{
	char buf[32];
	int r = knob_read(path, buf, sizeof(buf));

	return r < 0 ? r : strtol(buf, NULL, 10);
}

/* "always [madvise] never" -> "madvise" */
static void bracketed(const char *line, char *out, size_t n)
{
	const char *l = strchr(line, '['), *r = l ? strchr(l, ']') : NULL;

	snprintf(out, n, "%.*s", l && r ? (int)(r - l - 1) : 0, l ? l + 1 : "");
}

/* ---- are the host's settings mmlab's? ---- */

static bool differs(const char *what, const char *got, const char *want)
{
	if (!strcmp(got, want))
		return false;
	snprintf(thp_why, sizeof(thp_why), "the host's THP %.40s is %.24s, not mmlab's default %s",
		 what, got, want);
	return true;
}

static bool num_differs(const char *file, long want)
{
	char path[128], got[32], w[32];
	long v;

	snprintf(path, sizeof(path), KH_DIR "%s", file);
	v = knob_num(path);
	snprintf(got, sizeof(got), "%ld", v);
	snprintf(w, sizeof(w), "%ld", want);
	return differs(file, v < 0 ? "unreadable" : got, w);
}

/*
 * Each per-size knob (hugepages-<size>kB/enabled): the PMD size inherits
 * `enabled`, every smaller size is off, as mmlab's machine starts.
 */
static bool sizes_differ(void)
{
	DIR *d = opendir(THP_DIR);
	struct dirent *e;
	char path[320], line[128], got[32];
	bool bad = false;

	if (!d)
		return false;
	while (!bad && (e = readdir(d))) {
		if (strncmp(e->d_name, "hugepages-", 10))
			continue;
		snprintf(path, sizeof(path), THP_DIR "%s/enabled", e->d_name);
		if (knob_read(path, line, sizeof(line)) < 0)
			continue;
		bracketed(line, got, sizeof(got));
		bad = differs(e->d_name, got, !strcmp(e->d_name, "hugepages-2048kB") ?
			      "inherit" : "never");
	}
	closedir(d);
	return bad;
}

static void probe(void)
{
	char line[128], got[32];

	thp_probed = true;
	thp_usable = false;
	if (knob_read(THP_DIR "enabled", line, sizeof(line)) < 0) {
		snprintf(thp_why, sizeof(thp_why), "the host kernel has no transparent huge "
			 "pages (no " THP_DIR "enabled)");
		return;
	}
	bracketed(line, got, sizeof(got));
	if (differs("enabled", got, "madvise"))
		return;
	if (knob_read(THP_DIR "hpage_pmd_size", line, sizeof(line)) < 0 ||
	    differs("hpage_pmd_size", line, "2097152"))
		return;
	if (knob_read(THP_DIR "use_zero_page", line, sizeof(line)) < 0 ||
	    differs("use_zero_page", line, "1"))
		return;
	if (sizes_differ() || num_differs("max_ptes_none", 511) ||
	    num_differs("max_ptes_swap", 64) || num_differs("max_ptes_shared", 256))
		return;
	thp_usable = true;
	thp_why[0] = '\0';
}

void cf_host_thp_probe(void)
{
	if (!thp_probed)
		probe();
}

bool cf_host_thp_usable(const char **why)
{
	cf_host_thp_probe();
	if (why)
		*why = thp_why;
	return thp_usable;
}

/*
 * CONFIG_READ_ONLY_THP_FOR_FS, which lets khugepaged and MADV_COLLAPSE
 * make huge pages of a read-only regular file (mmlab's machine has it):
 * no file tells but the kernel's own configuration, when it offers it.
 */
static int ro_file_thp = -1;
static char ro_file_why[160];

bool cf_host_ro_file_thp(const char **why)
{
	if (ro_file_thp < 0) {
		FILE *f = popen("gzip -dc /proc/config.gz 2>/dev/null", "r");
		char line[256];
		bool seen = false;

		ro_file_thp = 0;
		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, "# CONFIG_READ_ONLY_THP_FOR_FS is not set", 40) ||
			    !strncmp(line, "CONFIG_READ_ONLY_THP_FOR_FS=", 28)) {
				seen = true;
				ro_file_thp = !strncmp(line, "CONFIG_READ_ONLY_THP_FOR_FS=y", 29);
			}
		if (f)
			pclose(f);
		snprintf(ro_file_why, sizeof(ro_file_why), "%s",
			 !seen ? "cannot tell whether the host kernel has CONFIG_READ_ONLY_THP_FOR_FS "
				 "(no /proc/config.gz)" :
			 "the host kernel lacks CONFIG_READ_ONLY_THP_FOR_FS (huge pages of read-only files)");
	}
	if (why)
		*why = ro_file_why;
	return ro_file_thp > 0;
}

/* ---- khugepaged ---- */

/* Written in this order: scan_sleep_millisecs last, as it wakes khugepaged. */
static const char *const knob_path[] = {
	KH_DIR "pages_to_scan", KH_DIR "alloc_sleep_millisecs", KH_DIR "scan_sleep_millisecs",
};
#define NKNOBS	(sizeof(knob_path) / sizeof(knob_path[0]))

/* Every knob back as it was (hostsys.c saved it); 0, or the first error. */
static int knobs_restore(void)
{
	int r = 0, e;

	for (size_t i = 0; i < NKNOBS; i++) {
		e = cf_host_sys_restore_path(knob_path[i]);
		if (!r)
			r = e;
	}
	return r;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int khugepaged_skip(struct cf_backend *b, const char *what, int err)
{
	snprintf(b->why, sizeof(b->why), "khugepaged: %s: %s", what, strerror(-err));
	return -CF_SKIP;
}

int cf_host_khugepaged(struct cf_backend *b, uint64_t pages)
{
	struct timespec tick = { 0, KHUGEPAGED_POLL_MS * 1000000L };
	char want[NKNOBS][32];
	long start, now = 0, deadline;
	const char *why;
	size_t i;
	int r;

	if (!cf_host_thp_usable(&why)) {
		snprintf(b->why, sizeof(b->why), "%s", why);
		return -CF_SKIP;
	}
	snprintf(want[0], sizeof(want[0]), "%llu", (unsigned long long)pages);
	snprintf(want[1], sizeof(want[1]), "%d", KHUGEPAGED_POLL_MS);
	snprintf(want[2], sizeof(want[2]), "%d", KHUGEPAGED_POLL_MS);
	start = knob_num(KH_DIR "full_scans");
	if (start < 0)
		return khugepaged_skip(b, "reading full_scans", (int)start);
	for (i = 0; i < NKNOBS; i++) {
		r = cf_host_sys_write(b, knob_path[i], want[i]);
		if (r < 0) {
			knobs_restore();
			return r == -CF_SKIP ? r : khugepaged_skip(b, knob_path[i], r);
		}
	}
	deadline = now_ms() + KHUGEPAGED_WAIT_MS;
	while ((now = knob_num(KH_DIR "full_scans")) >= 0 && now < start + 2 &&
	       now_ms() < deadline)
		nanosleep(&tick, NULL);
	r = knobs_restore();
	if (r < 0) {
		snprintf(b->why, sizeof(b->why), "khugepaged: its knobs could not be put back: %s",
			 strerror(-r));
		return -CF_BROKEN;
	}
	if (now < 0)
		return khugepaged_skip(b, "reading full_scans", (int)now);
	if (now < start + 2) {
		snprintf(b->why, sizeof(b->why), "khugepaged made no two full scans in %d s (no "
			 "process registered with it: nothing faulted before MADV_HUGEPAGE?)",
			 KHUGEPAGED_WAIT_MS / 1000);
		return -CF_SKIP;
	}
	return 0;
}
