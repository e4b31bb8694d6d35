/*
 * host.h - what the host back end's parent side shares between its
 * files: runner.c (processes, pins), hostswap.c (swap files) and files.c
 * (the scenario's file systems on the host).
 *
 * Whatever the host is left with must go when the runner ends, however it
 * ends: runner.c owns the signal handlers and atexit hook that undo it
 * (cf_emerg_arm), and calls the other files' parts from them.
 */
#ifndef MMLAB_NATIVE_HOST_H
#define MMLAB_NATIVE_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "native/conform.h"

/* runner.c: undo the host's changes on SIGINT, SIGTERM, SIGHUP and exit() */
void cf_emerg_arm(void);
/* runner.c: *arr of *cap elements grown (doubling, zeroed) to hold need: 0 or -ENOMEM */
int cf_grow(void **arr, int *cap, int need, size_t size);

/*
 * files.c.  The scenario's paths are the machine's: "/tmp/NAME" and
 * "/dev/shm/NAME" (tmpfs), "/disk/NAME" (a disk file system).  On the
 * host they are files in private directories made for the run, on
 * tmpfs (/dev/shm) and on the disk (/var/tmp), removed at the end.
 * 0 and the host path in out, or -CF_SKIP with the reason in b->why.
 */
int cf_host_path(struct cf_backend *b, const char *path, char *out, size_t n);
/* The machine's tmpfs huge= (NULL or "never": none), which the host's tmpfs must match. */
void cf_host_set_tmpfs_huge(const char *word);
/*
 * drop-caches N on the host: POSIX_FADV_DONTNEED on every regular file
 * the live processes hold open or mapped, and on every file of the
 * private directories (docs/conformance.md says what differs).
 */
int cf_host_drop_caches(struct cf_backend *b, int mode, const pid_t *pids, int npids);
/* At the end of a file, after the processes are gone: the directories go. */
const char *cf_host_files_cleanup(void);
/* The same from a signal handler: async-signal-safe. */
void cf_host_files_emerg(void);

/*
 * hostsys.c.  The host's THP knobs by their paths: written only under
 * /sys/kernel/mm/transparent_hugepage/, each saved first and written
 * back by cf_host_sys_restore (at the end of a file) or cf_host_sys_emerg
 * (a signal, exit(): async-signal-safe).  Reads under that directory,
 * /proc/sys/vm/ and /sys/kernel/debug/.  -CF_SKIP with the reason in
 * b->why for a path or a feature the host does not have.
 */
int cf_host_sys_write(struct cf_backend *b, const char *path, const char *value);
long cf_host_sys_read(struct cf_backend *b, const char *path, char *out, size_t n);
const char *cf_host_sys_restore(void);
long cf_host_read_file(const char *path, char *out, size_t n);	/* whole file, NUL-terminated: length or -errno */
int cf_host_sys_restore_path(const char *path);	/* one file back now: 0 or -errno */
void cf_host_sys_emerg(void);
/* /proc/kpageflags at pfn (root). */
int cf_host_kpageflags(struct cf_backend *b, uint64_t pfn, uint64_t *flags);
/* "<pid>,0x<start>,0x<end>" to /sys/kernel/debug/split_huge_pages, if debugfs is there. */
int cf_host_split_huge_pages(struct cf_backend *b, pid_t pid, uint64_t start, uint64_t end);

/*
 * hostswap.c: the scenario's swap devices, files on the host (the back
 * end's swapon and swapoff); all off and removed at the end, or from a
 * signal handler (async-signal-safe).
 */
int cf_host_swapon(struct cf_backend *b, uint64_t bytes, int prio, bool file, bool keep, int *swap);
int cf_host_swapoff(struct cf_backend *b, int swap);
const char *cf_host_swap_cleanup(void);
void cf_host_swap_emerg(void);

/*
 * thp.c.  Are the host's THP settings mmlab's defaults (read once, at the
 * runner's start)?  Only then do the drivers run with THP; else *why
 * says which setting differs.
 */
void cf_host_thp_probe(void);
bool cf_host_thp_usable(const char **why);
/* Does the host kernel collapse read-only files (CONFIG_READ_ONLY_THP_FOR_FS)?  why: if not. */
bool cf_host_ro_file_thp(const char **why);
/*
 * hostkernel.c: does the host kernel track soft-dirty (CONFIG_MEM_SOFT_DIRTY)?
 * Does a read fault of anonymous memory map the zero page (why: if not)?
 * On a host that maps none, a call that may read-fault anonymous memory is
 * watched: cf_host_zero_watch before it (NULL: not watched), then
 * cf_host_zero_check with its result, which becomes -CF_SKIP (b->why says
 * why) if a page that held nothing got an anonymous page of its own.
 */
bool cf_host_soft_dirty(void);
bool cf_host_zero_page(const char **why);
bool cf_host_meets_readonly_private(pid_t pid, uint64_t addr, uint64_t len);
uint64_t *cf_host_zero_watch(struct cf_backend *b, int task, uint64_t addr, uint64_t len);
int64_t cf_host_zero_check(struct cf_backend *b, int task, uint64_t addr, uint64_t len, uint64_t *before,
			   int64_t r);
/*
 * hostksm.c: "ksm scan N" on the host: its ksmd run with pages_to_scan N
 * until full_scans grew by two, every knob written back after; a field
 * of /proc/PID/ksm_stat (root reads it).
 */
int cf_host_ksm(struct cf_backend *b, uint64_t pages);
int cf_host_ksm_stat(struct cf_backend *b, pid_t pid, const char *field, long *v);
/* "khugepaged scan N": the host's khugepaged run promptly until two full scans passed */
int cf_host_khugepaged(struct cf_backend *b, uint64_t pages);

#endif /* MMLAB_NATIVE_HOST_H */
