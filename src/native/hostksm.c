/*
 * hostksm.c - KSM on the host: "ksm scan N" runs the host's ksmd
 * promptly (pages_to_scan N, sleep_millisecs 10, run 1) until
 * /sys/kernel/mm/ksm/full_scans has grown by three, then writes every
 * knob back (run first, so ksmd stops before the next statement), through
 * hostsys.c, which also restores them if the runner is interrupted.
 * ksmd merges every mergeable process of the host while it runs; the
 * scenario's processes are the only ones the comparison looks at.
 * "expect ksm_stat" reads /proc/PID/ksm_stat (root, the runner).
 *
 * Three, where Linux's selftests (ksm_tests.c, ksm_functional_tests.c) and
 * mmlab's "ksm scan" count two: ksmd keeps its cursor while stopped, and
 * ksm_enter puts a new mm just behind it, so the first full_scans step may
 * end a pass the scenario's processes had no part in; the two passes a
 * merge takes (a checksum, then the trees) follow it.  A pass more over
 * what merged changes nothing the scenarios look at.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "native/host.h"

#define KSM_DIR		"/sys/kernel/mm/ksm/"
#define KSM_POLL_MS	10
/* how long the full scans may take before ksmd counts as not running */
#define KSM_WAIT_MS	60000
#define KSM_PASSES	3

/* Written in this order, run last (it starts ksmd); put back in the reverse one. */
static const char *const knob_path[] = {
	KSM_DIR "pages_to_scan", KSM_DIR "sleep_millisecs", KSM_DIR "run",
};
#define NKNOBS	(sizeof(knob_path) / sizeof(knob_path[0]))

static long knob_num(const char *path)
{
	char buf[64];
	long r = cf_host_read_file(path, buf, sizeof(buf));

	return r < 0 ? r : strtol(buf, NULL, 10);
}

static int knobs_restore(void)
{
	int r = 0, e;

	for (size_t i = NKNOBS; i-- > 0;) {
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

int cf_host_ksm(struct cf_backend *b, uint64_t pages)
{
	struct timespec tick = { 0, KSM_POLL_MS * 1000000L };
	char want[NKNOBS][32];
	long start, now = 0, deadline;
	int r;

	if (access(KSM_DIR, F_OK) < 0) {
		snprintf(b->why, sizeof(b->why), "the host kernel has no KSM (no " KSM_DIR ")");
		return -CF_SKIP;
	}
	snprintf(want[0], sizeof(want[0]), "%llu", (unsigned long long)pages);
	snprintf(want[1], sizeof(want[1]), "%d", KSM_POLL_MS);
	snprintf(want[2], sizeof(want[2]), "1");
	start = knob_num(KSM_DIR "full_scans");
	if (start < 0) {
		snprintf(b->why, sizeof(b->why), "ksm: reading full_scans: %s", strerror((int)-start));
		return -CF_SKIP;
	}
	for (size_t i = 0; i < NKNOBS; i++) {
		r = cf_host_sys_write(b, knob_path[i], want[i]);
		if (r < 0) {
			knobs_restore();
			if (r != -CF_SKIP)
				snprintf(b->why, sizeof(b->why), "ksm: writing %s: %s", knob_path[i], strerror(-r));
			return -CF_SKIP;
		}
	}
	deadline = now_ms() + KSM_WAIT_MS;
	while ((now = knob_num(KSM_DIR "full_scans")) >= 0 && now < start + KSM_PASSES && now_ms() < deadline)
		nanosleep(&tick, NULL);
	r = knobs_restore();
	if (r < 0) {
		snprintf(b->why, sizeof(b->why), "ksm: its knobs could not be put back: %s", strerror(-r));
		return -CF_BROKEN;
	}
	if (now < start + KSM_PASSES) {
		snprintf(b->why, sizeof(b->why), "ksm: ksmd made no %d full scans in %d s", KSM_PASSES,
			 KSM_WAIT_MS / 1000);
		return -CF_SKIP;
	}
	return 0;
}

int cf_host_ksm_stat(struct cf_backend *b, pid_t pid, const char *field, long *v)
{
	char path[64], text[512], *line;
	size_t n = strlen(field);
	long r;

	snprintf(path, sizeof(path), "/proc/%d/ksm_stat", (int)pid);
	r = cf_host_read_file(path, text, sizeof(text));
	if (r == -ENOENT) {
		snprintf(b->why, sizeof(b->why), "the host kernel has no /proc/PID/ksm_stat (no KSM)");
		return -CF_SKIP;
	}
	if (r < 0)
		return (int)r;
	for (line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		const char *val;

		if (strncmp(line, field, n) || (line[n] != ' ' && line[n] != ':'))
			continue;
		val = line + n + (line[n] == ':');
		while (*val == ' ')
			val++;
		if (!strncmp(val, "yes", 3))
			*v = 1;
		else if (!strncmp(val, "no", 2))
			*v = 0;
		else
			*v = strtol(val, NULL, 10);
		return 0;
	}
	snprintf(b->why, sizeof(b->why), "the host's ksm_stat has no %.60s", field);
	return -CF_SKIP;
}
