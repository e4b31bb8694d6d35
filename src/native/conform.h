/*
 * conform.h - one scenario, two kernels: mmlab and the host's Linux.
 *
 * The same parsed script (scenario/scenario.h) is walked twice by
 * observe.c, once against each back end: sim.c drives a simulated
 * machine through the public API, runner.c drives real processes on the
 * host (driver.c runs inside them).  Every statement yields at most one
 * observation: what a process could see (a result, bytes, pagemap bits,
 * whether two frames are the same).  The two logs are compared statement
 * by statement; docs/conformance.md describes the rules.
 */
#ifndef MMLAB_NATIVE_CONFORM_H
#define MMLAB_NATIVE_CONFORM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "scenario/scenario.h"

/*
 * A back end's answer "this host cannot do that" (no io_uring, a pin
 * with flags no host interface takes, an address the runtime occupies).
 * The reason is in cf_backend.why.  Never an errno: -CF_SKIP is far out
 * of the errno range.
 */
#define CF_SKIP		100000
/* The back end itself failed (a host process died or hung): why says how. */
#define CF_BROKEN	100001

/*
 * One file call (SCN_OP_OPEN ... SCN_OP_EXPECT_SEALS), as the statement
 * gives it; fd is the number this side's open, memfd or dup returned.
 */
struct cf_fcall {
	int kind;
	const char *path;	/* open, unlink: the scenario's path; memfd: the name */
	long fd;
	long src_fd;		/* ficlone: the source */
	long flags;		/* O_*, MFD_*, FALLOC_FL_*, MS_*, F_SEAL_*; drop-caches: N */
	long mode;		/* open */
	int64_t off;		/* pread, pwrite, fallocate */
	uint64_t len;		/* pread, pwrite, fallocate, ftruncate, msync, mincore */
	uint64_t addr;		/* msync, mincore */
	const struct scn_pattern *pat;	/* pwrite */
};

/*
 * One NUMA call (SCN_OP_SET_MEMPOLICY ... SCN_OP_EXPECT_NODE), as the
 * statement gives it: masks a word of nodes each (maxnode 65).
 */
struct cf_numa {
	int kind;
	uint64_t addr, len;	/* mbind: the range; move_pages, expect node: the first page, pages */
	long mode;		/* set_mempolicy, mbind: MPOL_* with its flags */
	uint64_t nodes, nodes2;	/* set_mempolicy, mbind: the mask; migrate_pages: from, to */
	int node;		/* move_pages: the target */
	long flags;		/* mbind, move_pages: MPOL_MF_* */
};

/* What expect fstat compares. */
struct cf_stat {
	int64_t size, blocks, nlink;
};

struct cf_uffd;
struct uffd_msg;

struct cf_backend {
	const char *name;		/* "mmlab", "linux" */
	void *priv;
	char why[160];			/* why the latest call returned -CF_SKIP */
	bool no_soft_dirty;		/* the kernel tracks no soft-dirty bit (no CONFIG_MEM_SOFT_DIRTY) */

	int (*start)(struct cf_backend *b, const struct scn_op *machine);
	/* Tear everything down; a message (leak, invariant report) or NULL. */
	const char *(*stop)(struct cf_backend *b);
	/* Reports of the model's own checker since start (mmlab only). */
	long (*reports)(struct cf_backend *b);

	/* SCN_OP_SPAWN, _THREAD, _FORK: a new task handle in *child */
	int (*task)(struct cf_backend *b, int kind, int parent, int *child);
	int (*exit)(struct cf_backend *b, int task);
	/* the address, or -errno */
	int64_t (*mmap)(struct cf_backend *b, int task, uint64_t addr, uint64_t len,
			long prot, long flags, long fd, int64_t off);
	/* mremap(2): the new address, or -errno */
	int64_t (*mremap)(struct cf_backend *b, int task, uint64_t old_addr, uint64_t old_len,
			  uint64_t new_len, long flags, uint64_t new_addr);
	/* SCN_OP_MUNMAP, _MPROTECT, _MADVISE */
	int (*range)(struct cf_backend *b, int kind, int task, uint64_t addr,
		     uint64_t len, long arg);
	int (*write)(struct cf_backend *b, int task, uint64_t addr, uint64_t len,
		     const struct scn_pattern *pat);
	int (*read)(struct cf_backend *b, int task, uint64_t addr, uint64_t len,
		    unsigned char *buf);
	/* the pagemap entries of n pages from addr, frame numbers included */
	int (*pagemap)(struct cf_backend *b, int task, uint64_t addr, uint64_t n,
		       uint64_t *e);
	/* how many VMAs intersect [lo, hi) */
	int (*vmas)(struct cf_backend *b, int task, uint64_t lo, uint64_t hi);
	/*
	 * A kB field of /proc/PID/smaps (field: a name scn_smaps_field_known
	 * takes) of the VMA that holds addr: 0 and *kb, the VMA's range in
	 * *lo, *hi (either may be NULL), or -ENOENT (no VMA).
	 */
	int (*smaps)(struct cf_backend *b, int task, uint64_t addr, const char *field,
		     int64_t *kb, uint64_t *lo, uint64_t *hi);
	/*
	 * khugepaged, pages ptes a pass (pages_to_scan), until two full scans
	 * have passed since the call, as Linux's selftest waits for it: 0 or
	 * -errno.
	 */
	int (*khugepaged)(struct cf_backend *b, uint64_t pages);
	/* KSM, pages a pass (pages_to_scan), until two full scans have passed since the call: 0 or -errno */
	int (*ksm)(struct cf_backend *b, uint64_t pages);
	/* prctl(option, arg) by task's process: what it returns, or -errno */
	long (*prctl)(struct cf_backend *b, int task, int option, unsigned long arg);
	/* a field of task's /proc/PID/ksm_stat ("yes"/"no" as 1/0): 0 and *v, or -errno */
	int (*ksm_stat)(struct cf_backend *b, int task, const char *field, long *v);
	/* a vmstat counter or meminfo field; delta: only its change matters */
	int (*stat)(struct cf_backend *b, enum scn_stat_src src, const char *name,
		    bool delta, long *v);
	/* pin (get: a plain reference); the page count, or -errno */
	int64_t (*pin)(struct cf_backend *b, int task, uint64_t addr, uint64_t npages,
		       long foll, bool get, bool keep, int *pin);
	void (*unpin)(struct cf_backend *b, int pin);
	int (*dma_read)(struct cf_backend *b, int pin, uint64_t off, uint64_t len,
			unsigned char *buf);
	int (*dma_write)(struct cf_backend *b, int pin, uint64_t off, uint64_t len,
			 const struct scn_pattern *pat);
	int (*pin_pfn)(struct cf_backend *b, int pin, uint64_t i, uint64_t *pfn);
	/*
	 * A swap device of bytes (a file if file, else memory where the side
	 * has that), priority prio (-1: the default).  keep false: the
	 * unnamed form, a device made goes again at once.  0 and a handle in
	 * *swap, or -errno.
	 */
	int (*swapon)(struct cf_backend *b, uint64_t bytes, int prio, bool file,
		      bool keep, int *swap);
	int (*swapoff)(struct cf_backend *b, int swap);
	/* reclaim now, as memory pressure would: pages reclaimed, or -errno */
	int64_t (*reclaim)(struct cf_backend *b, uint64_t npages);
	/* store (write) or load the tag of the granule at addr (MML_PROT_MTE memory) */
	int (*tag)(struct cf_backend *b, int task, uint64_t addr, bool write, unsigned *tag);
	/* fault injection from now on, as struct mml_fail; sites 0: off */
	int (*fail)(struct cf_backend *b, const struct mml_fail *f);	/* NULL: off */
	/*
	 * A file call by task (none for drop-caches): what the syscall
	 * returns (a descriptor, a byte count, the seals), or -errno.  out
	 * receives pread's bytes (len), mincore's vector (a byte a page),
	 * fstat's struct cf_stat, statvfs's struct statvfs (the driver is
	 * on the same host: one ABI).
	 */
	int64_t (*fcall)(struct cf_backend *b, int task, const struct cf_fcall *c, void *out);
	/*
	 * A tunable file by its Linux path (/sys/kernel/mm/..., /proc/sys/vm/...):
	 * write value (0 or -errno), or read it into out, n bytes at most and
	 * NUL-terminated (the length, or -errno).  The host restores every
	 * file it wrote when the scenario ends.
	 */
	int (*sys_write)(struct cf_backend *b, const char *path, const char *value);
	long (*sys_read)(struct cf_backend *b, const char *path, char *out, size_t n);
	/* /proc/kpageflags of a frame (a pfn pagemap showed): 0 and *flags, or -errno */
	int (*kpageflags)(struct cf_backend *b, uint64_t pfn, uint64_t *flags);
	/* the debugfs file split_huge_pages for task's process over [start, end): 0 or -errno */
	int (*split_huge_pages)(struct cf_backend *b, int task, uint64_t start, uint64_t end);
	/* type written to task's process's /proc/PID/clear_refs: 0 or -errno */
	int (*clear_refs)(struct cf_backend *b, int task, int type);
	/*
	 * mlock, mlock2, munlock (addr, len, flags), mlockall (flags),
	 * munlockall, or setrlimit of RLIMIT_MEMLOCK (len, UINT64_MAX:
	 * unlimited) by task, as kind says: 0 or -errno.
	 */
	int (*lock)(struct cf_backend *b, int task, enum scn_op_kind kind, uint64_t addr, uint64_t len, long flags);
	/* process_madvise by task of target's [addr, addr+len): the bytes advised, or -errno */
	long (*process_madvise)(struct cf_backend *b, int task, int target, uint64_t addr, uint64_t len,
				long advice);
	/*
	 * A NUMA call by task: what the syscall returns (move_pages and
	 * migrate_pages: the pages not moved), or -errno; expect node: 0 and
	 * the page's move_pages status in *status.
	 */
	int64_t (*numa)(struct cf_backend *b, int task, const struct cf_numa *c, int *status);
	/*
	 * A userfaultfd statement (kind SCN_OP_UFFD_*, SCN_OP_EXPECT_UFFD):
	 * new by task, with flags the features: a handle >= 0 or -errno;
	 * the others on handle h: what the statement judges (a fill that
	 * did part of the range is -EAGAIN), serve (value messages, page
	 * the bytes a missing fault gets), join (the messages answered),
	 * expect (0 and *msg, or -EAGAIN: none; a fork message's child in
	 * *child, a handle).  -CF_SKIP with b->why when the side cannot.
	 */
	int64_t (*uffd)(struct cf_backend *b, int task, const struct cf_uffd *c, struct uffd_msg *msg, int *child);
};

struct cf_uffd {
	enum scn_op_kind kind;
	int h;			/* the userfaultfd's handle (not for new) */
	uint64_t addr, len;
	long flags;		/* new: features; register: modes; fills: modes */
	int64_t value;		/* writeprotect: 0 or 1; serve: the messages */
	const unsigned char *page;	/* copy: len bytes; serve: one page */
};

/* What one statement showed on one side. */
enum cf_obs_state {
	CF_NONE,	/* not an observation: echo, show, mark, check, machine */
	CF_SEEN,
	CF_SKIPPED,	/* this side could not run it: text says why */
	CF_ERROR,	/* the back end failed here (never agreement): text says how */
};

struct cf_obs {
	enum cf_obs_state state;
	char *text;	/* what was seen, for people; or the skip reason */
	char *key;	/* what must be equal on both sides; NULL = text */
	bool holds;	/* the file's own expectation held */
	bool lenient;	/* the file allows several outcomes: holding on both agrees */
};

struct cf_log {
	const struct scn_script *s;
	struct cf_obs *obs;	/* one per op */
	const char *end;	/* the back end's stop() message, or NULL */
};

/* observe.c */
int cf_observe(const struct scn_script *s, struct cf_backend *b, struct cf_log *log);
void cf_log_free(struct cf_log *log);

struct cf_totals {
	int agreed, skipped, disagreed;		/* observations */
	int files_agreed, files_skipped, files_disagreed;
};

/*
 * compare.c: print the disagreements; 0 all agree, 1 any disagrees.
 * j: also the file's verdict, skip reasons and first difference as
 * members of the JSON object open there (docs/schema/conform.json).
 */
struct json;
int cf_compare(const struct cf_log *sim, const struct cf_log *host, FILE *out,
	       bool verbose, struct cf_totals *t, struct json *j);

/* sim.c and runner.c */
void cf_sim_init(struct cf_backend *b);
void cf_sim_free(struct cf_backend *b);
void cf_host_init(struct cf_backend *b, int timeout_ms);
void cf_host_free(struct cf_backend *b);
/*
 * runner.c: a counter of the host's /proc/vmstat ("name value") or
 * /proc/meminfo ("Name: value kB"), made exact first where root may
 * (vm/stat_refresh).  0 and *v, or -errno (-ENOENT: no such name).
 */
int cf_proc_counter(const char *path, const char *name, long *v);

/* conform.c: `mmlab conform FILE...` */
struct cf_opts {
	bool verbose;		/* every observation, not only disagreements */
	bool json;		/* one JSON document on stdout; the text goes to stderr */
	int timeout_ms;		/* bound on every answer from a host process */
};
int cf_conform_files(char **files, int n, const struct cf_opts *o);

#endif /* MMLAB_NATIVE_CONFORM_H */
