/*
 * harness.h - the tiny unit-test harness of mmlab.
 *
 * A test file registers tests with TEST(name) { ... } and has its own
 *
 *	int main(int argc, char **argv) { return harness_run(argc, argv); }
 *
 * harness_run() runs every registered test (or those whose name contains
 * argv[1]), prints "PASS name" / "FAIL name" for each, and ends with the
 * line "N passed, M failed" (tests); it returns non-zero if any failed.
 *
 * Each test runs in a forked child process (so that a crash or a hang in
 * one test is reported and the others still run), except under
 * ThreadSanitizer or with HARNESS_NOFORK=1 in the environment.
 * HARNESS_TIMEOUT=<seconds> bounds each test (default 300).
 *
 * Checks never stop a test; each prints "file:line: expected X, got Y" and
 * counts a failure.  Every check macro is an expression that is true when
 * the check passed, so a test can stop early:
 *
 *	if (!CHECK_EQ(mml_spawn(m, &t), 0)) return;
 *	REQUIRE(a > 0);		// the same, returns from the test
 *
 * Checks may be made from several host threads at once.
 *
 * mmlab helpers: h_machine() makes a machine (MML_CHECK_EVERY_OP) that the
 * harness frees after the test if the test returned early; H_END(m) runs
 * the invariant checker and asserts mml_machine_free(m) == 0 (no leak).
 */
#ifndef MMLAB_TESTS_HARNESS_H
#define MMLAB_TESTS_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <errno.h>

#include "mmlab.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*harness_fn)(void);

void harness_register(const char *name, harness_fn fn, const char *file);
int  harness_run(int argc, char **argv);

/* Check primitives; each returns true when the check passed. */
bool harness_check(const char *file, int line, bool ok, const char *expr);
bool harness_check_eq(const char *file, int line, const char *got_expr,
		      const char *exp_expr, long long got, long long exp);
bool harness_check_ne(const char *file, int line, const char *got_expr,
		      const char *exp_expr, long long got, long long exp);
bool harness_checkf(const char *file, int line, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void harness_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
long harness_failures(void);	/* checks failed so far in the current test */
const char *harness_errno_name(long long v);	/* "EINVAL" for -22 or 22, else NULL */

#define TEST(name)							\
	static void name(void);						\
	__attribute__((constructor)) static void name##__register(void)	\
	{ harness_register(#name, name, __FILE__); }			\
	static void name(void)

#define CHECK(cond)	 harness_check(__FILE__, __LINE__, !!(cond), #cond)
#define CHECK_EQ(got, exp) \
	harness_check_eq(__FILE__, __LINE__, #got, #exp, (long long)(got), (long long)(exp))
#define CHECK_NE(got, exp) \
	harness_check_ne(__FILE__, __LINE__, #got, #exp, (long long)(got), (long long)(exp))
#define CHECKF(cond, ...) harness_checkf(__FILE__, __LINE__, !!(cond), __VA_ARGS__)
#define FAIL(...)	 harness_fail(__FILE__, __LINE__, __VA_ARGS__)
#define REQUIRE(cond)	 do { if (!CHECK(cond)) return; } while (0)
#define REQUIRE_EQ(got, exp) do { if (!CHECK_EQ(got, exp)) return; } while (0)

/* ---- mmlab helpers ---------------------------------------------------- */

#define H_PAGE		4096ULL
#define H_TASK_SIZE	0x7ffffffff000ULL	/* x86-64, 4-level paging */
#define H_MMAP_MIN_ADDR	65536ULL		/* vm.mmap_min_addr */

/* A machine with cfg.flags = MML_CHECK_EVERY_OP | extra_flags; ram 0 = default. */
struct mml_machine *h_machine_flags(uint64_t ram_bytes, unsigned extra_flags);
#define h_machine(ram)	h_machine_flags((ram), 0)
/* The machine is being freed by the test itself: the harness forgets it. */
void h_forget_machine(struct mml_machine *m);

struct mml_task *h_spawn_at(const char *file, int line, struct mml_machine *m);
struct mml_task *h_fork_at(const char *file, int line, struct mml_task *t);
#define h_spawn(m)	h_spawn_at(__FILE__, __LINE__, (m))
#define h_fork(t)	h_fork_at(__FILE__, __LINE__, (t))
/* A device with its own MMU mirroring t's process (mml_device_new must succeed), or NULL. */
struct mml_device *h_device_at(const char *file, int line, struct mml_task *t, unsigned flags);
#define h_device(t, flags)	h_device_at(__FILE__, __LINE__, (t), (flags))

/* mml_mmap of anonymous memory that must succeed: the address, or 0 (a
 * failed check).  With MAP_FIXED or MAP_FIXED_NOREPLACE the result must be
 * addr. */
uint64_t h_map_at(const char *file, int line, struct mml_task *t, uint64_t addr,
		  uint64_t len, int prot, int flags);
#define h_map(t, addr, len, prot, flags) \
	h_map_at(__FILE__, __LINE__, (t), (addr), (len), (prot), (flags))
#define H_RW		(PROT_READ | PROT_WRITE)
#define H_ANON		(MAP_PRIVATE | MAP_ANONYMOUS)

/* Fill [addr, addr+len) with byte c (mml_write must succeed). */
bool h_fill_at(const char *file, int line, struct mml_task *t, uint64_t addr,
	       uint64_t len, int c);
/* Read [addr, addr+len) and check every byte equals c. */
bool h_expect_at(const char *file, int line, struct mml_task *t, uint64_t addr,
		 uint64_t len, int c);
#define h_fill(t, addr, len, c)	  h_fill_at(__FILE__, __LINE__, (t), (addr), (len), (c))
#define h_expect(t, addr, len, c) h_expect_at(__FILE__, __LINE__, (t), (addr), (len), (c))

/* One byte, for quick probes: the mml_read / mml_write result. */
int h_peek(struct mml_task *t, uint64_t addr, uint8_t *out);
int h_poke(struct mml_task *t, uint64_t addr, uint8_t v);

/* pagemap entry (checks mml_pagemap returned 0). */
uint64_t h_pagemap_at(const char *file, int line, struct mml_task *t, uint64_t addr);
#define h_pagemap(t, addr)	h_pagemap_at(__FILE__, __LINE__, (t), (addr))
#define H_PFN(e)		((e) & MML_PM_PFRAME_MASK)

/* The output of a show function as a malloc'd string (free it); NULL on error. */
char *h_show_maps(struct mml_task *t);
char *h_show_smaps(struct mml_task *t);
char *h_show_meminfo(struct mml_machine *m);
char *h_show_vmstat(struct mml_machine *m);
/* Number of lines of s. */
int h_count_lines(const char *s);

/* The invariant checker, then mml_machine_free() == 0: every test ends so. */
void h_end_at(const char *file, int line, struct mml_machine *m);
#define H_END(m)	h_end_at(__FILE__, __LINE__, (m))

#ifdef __cplusplus
}
#endif
#endif /* MMLAB_TESTS_HARNESS_H */
