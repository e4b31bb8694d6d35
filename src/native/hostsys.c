/*
 * hostsys.c - the host back end's tunable files: a scenario's `sys`
 * writes the host's own /sys/kernel/mm/transparent_hugepage files,
 * `expect sys` reads them, `expect kpageflags` reads /proc/kpageflags,
 * `split_huge_pages` writes debugfs's split_huge_pages.
 *
 * The THP knobs are the whole host's, so every file written is first
 * read and remembered, and written back when the scenario ends, however
 * it ends: host_stop() calls cf_host_sys_restore(), and the runner's
 * signal handlers and exit() hook call cf_host_sys_emerg(), which uses
 * only what a signal handler may (open, write, close on saved buffers).
 * A SIGKILL of the runner is the one end nothing can undo.
 *
 * Written: the files under /sys/kernel/mm/transparent_hugepage/ and
 * /sys/kernel/mm/ksm/ (saved and restored alike), and
 * /proc/sys/vm/compact_memory, an action with no setting behind it
 * (drop_caches is runner.c's, on the scenario's own files).  Read: those,
 * /proc/sys/vm/ and /sys/kernel/debug/.  Anything else is skipped:
 * mmlab has no such file, and the host's is not the scenario's to touch.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "native/host.h"

#define THP_DIR		"/sys/kernel/mm/transparent_hugepage/"
#define KSM_DIR		"/sys/kernel/mm/ksm/"
#define SPLIT_FILE	"/sys/kernel/debug/split_huge_pages"
/* An action, not a setting: compacting the host's memory leaves nothing to restore. */
#define COMPACT_FILE	"/proc/sys/vm/compact_memory"
#define MAX_SAVED	64

/*
 * What to write back: plain arrays, so the signal handler can read them.
 * state: 0 free, 1 being filled, 2 saved (restore it).
 */
static char saved_path[MAX_SAVED][160];
static char saved_value[MAX_SAVED][96];
static volatile sig_atomic_t saved_state[MAX_SAVED];
static int nsaved;

static bool has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* A path that climbs out of its directory is none of ours. */
static bool plain_path(const char *path)
{
	return !strstr(path, "/../") && !strstr(path, "/./") && !strstr(path, "//");
}

/* read(2) of the whole file into out (n bytes at most, NUL-terminated): the length, or -errno */
long cf_host_read_file(const char *path, char *out, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return -errno;
	r = read(fd, out, n - 1);
	if (r < 0)
		r = -errno;
	close(fd);
	if (r >= 0)
		out[r] = '\0';
	return r;
}

/* One write(2) of the value, as `echo -n VALUE > PATH`: 0 or -errno. */
static int write_file(const char *path, const char *value, size_t n)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return -errno;
	r = write(fd, value, n);
	close(fd);
	return r < 0 ? -errno : 0;
}

/*
 * What to write to put a file back: the word in brackets of a choice
 * ("always [madvise] never" -> "madvise"), else the text itself.
 */
static int restore_value(const char *text, char *out, size_t n)
{
	const char *a = strchr(text, '['), *b = a ? strchr(a, ']') : NULL;
	size_t len;

	if (a && b) {
		text = a + 1;
		len = (size_t)(b - a - 1);
	} else {
		len = strcspn(text, "\n");
	}
	if (!len || len >= n)
		return -1;
	memcpy(out, text, len);
	out[len] = '\0';
	return 0;
}

/* Remember path's text before its first write this scenario: 0, or -CF_SKIP with why. */
static int save(struct cf_backend *b, const char *path)
{
	char text[512];
	long r;
	int i;

	for (i = 0; i < nsaved; i++)
		if (saved_state[i] == 2 && !strcmp(saved_path[i], path))
			return 0;
	if (nsaved == MAX_SAVED || strlen(path) >= sizeof(saved_path[0])) {
		snprintf(b->why, sizeof(b->why), "host runner: cannot remember more host files to restore");
		return -CF_SKIP;
	}
	r = cf_host_read_file(path, text, sizeof(text));
	if (r == -ENOENT) {
		snprintf(b->why, sizeof(b->why), "the host kernel has no %.100s", path);
		return -CF_SKIP;
	}
	i = nsaved;
	saved_state[i] = 1;
	if (r < 0 || restore_value(text, saved_value[i], sizeof(saved_value[0])) < 0) {
		saved_state[i] = 0;
		snprintf(b->why, sizeof(b->why), "cannot read %.100s to restore it later: %s", path,
			 r < 0 ? strerror((int)-r) : "no value");
		return -CF_SKIP;
	}
	snprintf(saved_path[i], sizeof(saved_path[0]), "%s", path);
	saved_state[i] = 2;
	nsaved++;
	return 0;
}

int cf_host_sys_write(struct cf_backend *b, const char *path, const char *value)
{
	int r;

	cf_emerg_arm();
	if (!strcmp(path, COMPACT_FILE))
		return write_file(path, value, strlen(value));
	if (has_prefix(path, KSM_DIR) && plain_path(path)) {
		if (access(KSM_DIR, F_OK) < 0) {
			snprintf(b->why, sizeof(b->why), "the host kernel has no KSM (no " KSM_DIR ")");
			return -CF_SKIP;
		}
		r = save(b, path);
		return r ? r : write_file(path, value, strlen(value));
	}
	if (!has_prefix(path, THP_DIR) || !plain_path(path)) {
		snprintf(b->why, sizeof(b->why), "the host's %.60s is the whole machine's: "
			 "only THP and KSM knobs are written", path);
		return -CF_SKIP;
	}
	if (access(THP_DIR, F_OK) < 0) {
		snprintf(b->why, sizeof(b->why), "the host kernel has no THP (no " THP_DIR ")");
		return -CF_SKIP;
	}
	r = save(b, path);
	if (r)
		return r;
	return write_file(path, value, strlen(value));
}

long cf_host_sys_read(struct cf_backend *b, const char *path, char *out, size_t n)
{
	long r;

	if (!plain_path(path) || !(has_prefix(path, THP_DIR) || has_prefix(path, KSM_DIR) ||
				   has_prefix(path, "/proc/sys/vm/") || has_prefix(path, "/sys/kernel/debug/"))) {
		snprintf(b->why, sizeof(b->why), "%.100s is no tunable file mmlab has", path);
		return -CF_SKIP;
	}
	r = cf_host_read_file(path, out, n);
	if (r == -ENOENT && has_prefix(path, KSM_DIR) && access(KSM_DIR, F_OK) < 0) {
		snprintf(b->why, sizeof(b->why), "the host kernel has no KSM (no " KSM_DIR ")");
		return -CF_SKIP;
	}
	if (r == -ENOENT && has_prefix(path, THP_DIR) && access(THP_DIR, F_OK) < 0) {
		snprintf(b->why, sizeof(b->why), "the host kernel has no THP (no " THP_DIR ")");
		return -CF_SKIP;
	}
	return r;
}

int cf_host_kpageflags(struct cf_backend *b, uint64_t pfn, uint64_t *flags)
{
	int fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0) {
		snprintf(b->why, sizeof(b->why), "cannot read /proc/kpageflags: %s (root and "
			 "CONFIG_PROC_PAGE_MONITOR needed)", strerror(errno));
		return -CF_SKIP;
	}
	r = pread(fd, flags, sizeof(*flags), (off_t)(pfn * sizeof(*flags)));
	close(fd);
	if (r == (ssize_t)sizeof(*flags))
		return 0;
	return r < 0 ? -errno : -EINVAL;
}

/* The file is debugfs's, which is not always mounted: then skipped, never mounted here. */
int cf_host_split_huge_pages(struct cf_backend *b, pid_t pid, uint64_t start, uint64_t end)
{
	char buf[96];
	int n;

	if (access(SPLIT_FILE, W_OK) < 0) {
		snprintf(b->why, sizeof(b->why), "no " SPLIT_FILE " on the host (debugfs not mounted "
			 "at /sys/kernel/debug, or a kernel without CONFIG_DEBUG_FS)");
		return -CF_SKIP;
	}
	n = snprintf(buf, sizeof(buf), "%d,0x%llx,0x%llx", (int)pid, (unsigned long long)start,
		     (unsigned long long)end);
	return write_file(SPLIT_FILE, buf, (size_t)n);
}

/*
 * One file back to what it held before this scenario wrote it, now (the
 * khugepaged wait's knobs, which must not keep khugepaged busy while the
 * scenario goes on): 0, or -errno.
 */
int cf_host_sys_restore_path(const char *path)
{
	for (int i = nsaved - 1; i >= 0; i--) {
		if (saved_state[i] != 2 || strcmp(saved_path[i], path))
			continue;
		saved_state[i] = 0;
		return write_file(saved_path[i], saved_value[i], strlen(saved_value[i]));
	}
	return 0;
}

/* Last written first, so a file written twice ends as it began. */
const char *cf_host_sys_restore(void)
{
	const char *msg = NULL;

	for (int i = nsaved - 1; i >= 0; i--) {
		if (saved_state[i] != 2)
			continue;
		if (write_file(saved_path[i], saved_value[i], strlen(saved_value[i])) < 0)
			msg = "host runner: could not restore a THP knob it changed";
		saved_state[i] = 0;
	}
	nsaved = 0;
	return msg;
}

void cf_host_sys_emerg(void)
{
	for (int i = MAX_SAVED - 1; i >= 0; i--) {
		if (saved_state[i] != 2)
			continue;
		int fd = open(saved_path[i], O_WRONLY | O_CLOEXEC);

		if (fd >= 0) {
			ssize_t r = write(fd, saved_value[i], strlen(saved_value[i]));

			(void)r;
			close(fd);
		}
		saved_state[i] = 0;
	}
}
