/*
 * harness.c - the tiny unit-test harness of mmlab (see harness.h).
 */
#define _GNU_SOURCE
#include "harness.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_THREAD__)
#define HARNESS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HARNESS_TSAN 1
#endif
#endif
#ifndef HARNESS_TSAN
#define HARNESS_TSAN 0
#endif

#define MAX_TESTS	512
#define MAX_MACHINES	64

struct harness_test {
	const char *name;
	const char *file;
	harness_fn fn;
};

static struct harness_test tests[MAX_TESTS];
static int ntests;
static long cur_failures;		/* atomic */
static long printed_failures;		/* atomic */
static struct mml_machine *machines[MAX_MACHINES];
static int nmachines;
static pthread_mutex_t machines_lock = PTHREAD_MUTEX_INITIALIZER;

void harness_register(const char *name, harness_fn fn, const char *file)
{
	if (ntests >= MAX_TESTS) {
		fprintf(stderr, "harness: too many tests (max %d)\n", MAX_TESTS);
		abort();
	}
	tests[ntests].name = name;
	tests[ntests].fn = fn;
	tests[ntests].file = file;
	ntests++;
}

long harness_failures(void)
{
	return __atomic_load_n(&cur_failures, __ATOMIC_SEQ_CST);
}

static bool record_failure(void)
{
	__atomic_add_fetch(&cur_failures, 1, __ATOMIC_SEQ_CST);
	/* Do not flood the output when a loop fails on every iteration. */
	return __atomic_add_fetch(&printed_failures, 1, __ATOMIC_SEQ_CST) <= 50;
}

static const struct { int e; const char *name; } errnames[] = {
	{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { ESRCH, "ESRCH" },
	{ EINTR, "EINTR" }, { EIO, "EIO" }, { ENXIO, "ENXIO" },
	{ E2BIG, "E2BIG" }, { EBADF, "EBADF" }, { ECHILD, "ECHILD" },
	{ EAGAIN, "EAGAIN" }, { ENOMEM, "ENOMEM" }, { EACCES, "EACCES" },
	{ EFAULT, "EFAULT" }, { EBUSY, "EBUSY" }, { EEXIST, "EEXIST" },
	{ EXDEV, "EXDEV" }, { ENODEV, "ENODEV" }, { EINVAL, "EINVAL" },
	{ ENFILE, "ENFILE" }, { EMFILE, "EMFILE" }, { ETXTBSY, "ETXTBSY" },
	{ EFBIG, "EFBIG" }, { ENOSPC, "ENOSPC" }, { ERANGE, "ERANGE" },
	{ ENOSYS, "ENOSYS" }, { EOVERFLOW, "EOVERFLOW" },
	{ EOPNOTSUPP, "EOPNOTSUPP" }, { EHWPOISON, "EHWPOISON" },
	{ EUCLEAN, "EUCLEAN" },
};

const char *harness_errno_name(long long v)
{
	if (v < 0)
		v = -v;
	for (size_t i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if (errnames[i].e && errnames[i].e == v)
			return errnames[i].name;
	return NULL;
}

static void format_value(char *buf, size_t n, long long v)
{
	const char *en = (v < 0 && v >= -4095) ? harness_errno_name(v) : NULL;

	if (en)
		snprintf(buf, n, "%lld (-%s)", v, en);
	else if (v > 65535 || v < -65535)
		snprintf(buf, n, "%lld (0x%llx)", v, (unsigned long long)v);
	else
		snprintf(buf, n, "%lld", v);
}

bool harness_check(const char *file, int line, bool ok, const char *expr)
{
	if (ok)
		return true;
	if (record_failure())
		printf("%s:%d: expected %s, got false\n", file, line, expr);
	return false;
}

bool harness_check_eq(const char *file, int line, const char *got_expr,
		      const char *exp_expr, long long got, long long exp)
{
	char g[64], e[64];

	if (got == exp)
		return true;
	if (record_failure()) {
		format_value(g, sizeof(g), got);
		format_value(e, sizeof(e), exp);
		printf("%s:%d: expected %s, got %s   [%s == %s]\n",
		       file, line, e, g, got_expr, exp_expr);
	}
	return false;
}

bool harness_check_ne(const char *file, int line, const char *got_expr,
		      const char *exp_expr, long long got, long long exp)
{
	char g[64];

	if (got != exp)
		return true;
	if (record_failure()) {
		format_value(g, sizeof(g), got);
		printf("%s:%d: expected anything but %s, got %s   [%s != %s]\n",
		       file, line, g, g, got_expr, exp_expr);
	}
	return false;
}

bool harness_checkf(const char *file, int line, bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return true;
	if (record_failure()) {
		char msg[1024];

		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		printf("%s:%d: %s\n", file, line, msg);
	}
	return false;
}

void harness_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (record_failure()) {
		char msg[1024];

		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		printf("%s:%d: %s\n", file, line, msg);
	}
}

/* ---- running ----------------------------------------------------------- */

static void free_leftover_machines(void)
{
	pthread_mutex_lock(&machines_lock);
	int n = nmachines;
	struct mml_machine *left[MAX_MACHINES];

	memcpy(left, machines, sizeof(left));
	nmachines = 0;
	pthread_mutex_unlock(&machines_lock);
	for (int i = 0; i < n; i++)
		mml_machine_free(left[i]);	/* the test already failed or forgot H_END */
}

/* Runs one test in this process: 0 if it passed. */
static int run_one(const struct harness_test *tc)
{
	__atomic_store_n(&cur_failures, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&printed_failures, 0, __ATOMIC_SEQ_CST);
	tc->fn();
	if (nmachines) {
		if (harness_failures() == 0)
			harness_fail(tc->file, 0, "test %s did not free its machine (H_END missing?)",
				     tc->name);
		free_leftover_machines();
	}
	fflush(stdout);
	return harness_failures() ? 1 : 0;
}

static unsigned timeout_seconds(void)
{
	const char *s = getenv("HARNESS_TIMEOUT");
	long v = s ? strtol(s, NULL, 10) : 0;

	return v > 0 ? (unsigned)v : 300;
}

static bool use_fork(void)
{
	const char *s = getenv("HARNESS_NOFORK");

	if (s && *s && strcmp(s, "0") != 0)
		return false;
	return !HARNESS_TSAN;
}

/* Runs one test in a forked child: 0 if it passed. */
static int run_forked(const struct harness_test *tc)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();

	if (pid < 0) {
		perror("harness: fork");
		return run_one(tc);
	}
	if (pid == 0) {
		alarm(timeout_seconds());
		int r = run_one(tc);

		fflush(stdout);
		exit(r);	/* exit(), not _exit(): let LeakSanitizer look */
	}
	int status = 0;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("harness: waitpid");
			return 1;
		}
	}
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);

		printf("%s: test %s killed by signal %d (%s)%s\n", tc->file, tc->name, sig,
		       strsignal(sig), sig == SIGALRM ? " - timed out" : "");
		return 1;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		if (WEXITSTATUS(status) != 1)
			printf("%s: test %s exited with status %d\n", tc->file, tc->name,
			       WEXITSTATUS(status));
		return 1;
	}
	return 0;
}

int harness_run(int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : NULL;
	bool fork_each = use_fork();
	int passed = 0, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!fork_each)
		alarm(timeout_seconds() * (unsigned)(ntests ? ntests : 1));
	for (int i = 0; i < ntests; i++) {
		const struct harness_test *tc = &tests[i];

		if (filter && !strstr(tc->name, filter))
			continue;
		int r = fork_each ? run_forked(tc) : run_one(tc);

		printf("%s %s\n", r ? "FAIL" : "PASS", tc->name);
		if (r)
			failed++;
		else
			passed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	fflush(stdout);
	return failed ? 1 : 0;
}

/* ---- mmlab helpers ---------------------------------------------------- */

struct mml_machine *h_machine_flags(uint64_t ram_bytes, unsigned extra_flags)
{
	struct mml_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.ram_bytes = ram_bytes;
	cfg.seed = 1;
	cfg.flags = MML_CHECK_EVERY_OP | extra_flags;
	struct mml_machine *m = mml_machine_new(&cfg);

	if (!m) {
		FAIL("mml_machine_new(ram %llu) returned NULL", (unsigned long long)ram_bytes);
		return NULL;
	}
	pthread_mutex_lock(&machines_lock);
	if (nmachines < MAX_MACHINES)
		machines[nmachines++] = m;
	pthread_mutex_unlock(&machines_lock);
	return m;
}

void h_forget_machine(struct mml_machine *m)
{
	pthread_mutex_lock(&machines_lock);
	for (int i = 0; i < nmachines; i++) {
		if (machines[i] == m) {
			machines[i] = machines[--nmachines];
			break;
		}
	}
	pthread_mutex_unlock(&machines_lock);
}

void h_end_at(const char *file, int line, struct mml_machine *m)
{
	if (!m)
		return;
	harness_check_eq(file, line, "mml_check(m)", "0", mml_check(m), 0);
	h_forget_machine(m);
	harness_check_eq(file, line, "mml_machine_free(m)", "0", mml_machine_free(m), 0);
}

struct mml_task *h_spawn_at(const char *file, int line, struct mml_machine *m)
{
	struct mml_task *t = NULL;

	if (!m)
		return NULL;
	if (!harness_check_eq(file, line, "mml_spawn(m, &t)", "0", mml_spawn(m, &t), 0))
		return NULL;
	harness_check(file, line, t != NULL, "mml_spawn sets *out");
	return t;
}

struct mml_task *h_fork_at(const char *file, int line, struct mml_task *t)
{
	struct mml_task *c = NULL;

	if (!t)
		return NULL;
	if (!harness_check_eq(file, line, "mml_fork(t, &child)", "0", mml_fork(t, &c), 0))
		return NULL;
	harness_check(file, line, c != NULL, "mml_fork sets *child");
	return c;
}

struct mml_device *h_device_at(const char *file, int line, struct mml_task *t, unsigned flags)
{
	struct mml_device *d = NULL;

	if (!t)
		return NULL;
	if (!harness_check_eq(file, line, "mml_device_new(t, flags, &d)", "0", mml_device_new(t, flags, &d), 0))
		return NULL;
	return d;
}

uint64_t h_map_at(const char *file, int line, struct mml_task *t, uint64_t addr,
		  uint64_t len, int prot, int flags)
{
	if (!t)
		return 0;
	long r = mml_mmap(t, addr, len, prot, flags, -1, 0);

	if (r < 0 && r >= -4095) {
		harness_fail(file, line, "mml_mmap(0x%llx, 0x%llx, prot %#x, flags %#x) failed: %ld (-%s)",
			     (unsigned long long)addr, (unsigned long long)len, prot, flags, r,
			     harness_errno_name(r) ? harness_errno_name(r) : "?");
		return 0;
	}
	if ((uint64_t)r % H_PAGE) {
		harness_fail(file, line, "mml_mmap returned unaligned address 0x%lx", r);
		return 0;
	}
	if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) && (uint64_t)r != addr) {
		harness_fail(file, line, "mml_mmap(MAP_FIXED 0x%llx) returned 0x%lx",
			     (unsigned long long)addr, r);
		return 0;
	}
	return (uint64_t)r;
}

bool h_fill_at(const char *file, int line, struct mml_task *t, uint64_t addr,
	       uint64_t len, int c)
{
	uint8_t *buf = malloc(len ? len : 1);

	memset(buf, c, len);
	int r = mml_write(t, addr, buf, len);

	free(buf);
	if (r) {
		harness_fail(file, line, "mml_write(0x%llx, %llu bytes of 0x%02x) = %d (%s), expected 0",
			     (unsigned long long)addr, (unsigned long long)len, c & 0xff, r,
			     harness_errno_name(r) ? harness_errno_name(r) : "?");
		return false;
	}
	return true;
}

bool h_expect_at(const char *file, int line, struct mml_task *t, uint64_t addr,
		 uint64_t len, int c)
{
	uint8_t *buf = malloc(len ? len : 1);

	memset(buf, ~c, len);
	int r = mml_read(t, addr, buf, len);

	if (r) {
		free(buf);
		harness_fail(file, line, "mml_read(0x%llx, %llu) = %d (%s), expected 0",
			     (unsigned long long)addr, (unsigned long long)len, r,
			     harness_errno_name(r) ? harness_errno_name(r) : "?");
		return false;
	}
	for (uint64_t i = 0; i < len; i++) {
		if (buf[i] != (uint8_t)c) {
			harness_fail(file, line, "at 0x%llx: expected byte 0x%02x, got 0x%02x",
				     (unsigned long long)(addr + i), c & 0xff, buf[i]);
			free(buf);
			return false;
		}
	}
	free(buf);
	return true;
}

int h_peek(struct mml_task *t, uint64_t addr, uint8_t *out)
{
	uint8_t v = 0;
	int r = mml_read(t, addr, &v, 1);

	if (out)
		*out = v;
	return r;
}

int h_poke(struct mml_task *t, uint64_t addr, uint8_t v)
{
	return mml_write(t, addr, &v, 1);
}

uint64_t h_pagemap_at(const char *file, int line, struct mml_task *t, uint64_t addr)
{
	uint64_t e = 0;

	harness_check_eq(file, line, "mml_pagemap(t, addr, &e)", "0", mml_pagemap(t, addr, &e), 0);
	return e;
}

typedef int (*task_show_fn)(struct mml_task *, FILE *);
typedef int (*machine_show_fn)(struct mml_machine *, FILE *);

static char *show_task(task_show_fn fn, struct mml_task *t)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	if (!f)
		return NULL;
	int r = fn(t, f);

	fclose(f);
	if (r) {
		FAIL("show function returned %d", r);
		free(buf);
		return NULL;
	}
	return buf;
}

static char *show_machine(machine_show_fn fn, struct mml_machine *m)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	if (!f)
		return NULL;
	int r = fn(m, f);

	fclose(f);
	if (r) {
		FAIL("show function returned %d", r);
		free(buf);
		return NULL;
	}
	return buf;
}

char *h_show_maps(struct mml_task *t)	     { return show_task(mml_show_maps, t); }
char *h_show_smaps(struct mml_task *t)	     { return show_task(mml_show_smaps, t); }
char *h_show_meminfo(struct mml_machine *m) { return show_machine(mml_show_meminfo, m); }
char *h_show_vmstat(struct mml_machine *m)  { return show_machine(mml_show_vmstat, m); }

int h_count_lines(const char *s)
{
	int n = 0;

	if (!s)
		return -1;
	for (; *s; s++)
		if (*s == '\n')
			n++;
	return n;
}
