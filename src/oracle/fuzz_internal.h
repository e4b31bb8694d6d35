/*
 * fuzz_internal.h - what the parts of the differential fuzzer share: the
 * operations, the state of one run, and the entry points of each part.
 *
 *	fuzz_gen.c	choices and the generator: the next operation for
 *			the state a run is in
 *	fuzz_exec.c	one operation on the library and on the model, the
 *			model kept in step after an injected failure, and
 *			the statement each operation prints in a reproducer
 *			(as a struct scn_op, through scn_print_op)
 *	fuzz_file.c	the same for the calls on files and descriptors
 *			(--files), and the disk's host files at the end
 *	fuzz_shrink.c	replay, delta debugging, the shrunk scenario
 *	fuzz.c		a whole run: set-up, the checks after each
 *			operation, teardown, the run loop and its front ends
 */
#ifndef MML_ORACLE_FUZZ_INTERNAL_H
#define MML_ORACLE_FUZZ_INTERNAL_H

#include "lib/idset.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>

#include "mmlab.h"
#include "oracle/check.h"
#include "oracle/fuzz.h"
#include "oracle/model.h"
#include "scenario/scenario.h"

#define PG		4096ULL

/* Linux 6.1's synchronous collapse; C libraries older than that lack the name */
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif

static inline uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static inline int min_int(int a, int b) { return a < b ? a : b; }
static inline int max_int(int a, int b) { return a > b ? a : b; }

/* ---- choices --------------------------------------------------------------------- */

struct chooser {
	uint64_t s;			/* PRNG state */
	const uint8_t *data;		/* or: bytes from libFuzzer */
	size_t len, pos;
};

static inline bool chooser_exhausted(const struct chooser *c)
{
	return c->data && c->pos >= c->len;
}

/* ---- operations -------------------------------------------------------------------- */

enum fop_kind { F_SPAWN, F_THREAD, F_FORK, F_EXIT, F_MMAP, F_MUNMAP, F_MPROTECT, F_MADVISE,
		F_READ, F_WRITE, F_TAG_SET, F_TAG_GET, F_PIN, F_UNPIN, F_DMA_READ, F_DMA_WRITE, F_RECLAIM,
		F_SWAPON, F_SWAPOFF, F_CHECK, F_FAIL_TAG,
		F_DEV_ATTACH, F_DEV_DETACH, F_DEV_READ, F_DEV_WRITE, F_DEV_EXCLUSIVE,
		F_MREMAP,	/* --mremap */
		F_MOVE_PAGES, F_MBIND, F_MIGRATE_PAGES, F_MIGRATE_UNMAP, F_MIGRATE_MOVE, F_COMPACT,	/* --nodes */
		F_MLOCK,	/* --mlock: mode says which call */
		F_OVERCOMMIT,	/* --commit: an overcommit knob, or an mmap whose VMA cannot be had */
		F_CLEAR_REFS, F_PROCESS_MADVISE, F_SOFTDIRTY,	/* --refs */
		F_UFFD,		/* --uffd: mode says which call */
		/* --thp: a knob written, a khugepaged pass, the split_huge_pages file, MADV_COLLAPSE under
		   `fail meta`, MADV_COLLAPSE while another process has the range write-protected by uffd */
		F_SYS, F_KHUGEPAGED, F_SPLIT_HUGE, F_COLLAPSE_FAIL, F_COLLAPSE_UFFD,
		/* --ksm: a pass or full scan, prctl, a look at ksm_stat, a knob written */
		F_KSM_SCAN, F_PRCTL, F_KSM_STAT, F_KSM_KNOB,
		/* --files: F_OPEN .. F_MINCORE; msync and mincore take an address */
		F_OPEN, F_MEMFD, F_DUP, F_CLOSE, F_UNLINK, F_FTRUNCATE, F_FALLOCATE, F_FSYNC, F_SEAL,
		F_SEALS_GET, F_FSTAT, F_PREAD, F_PWRITE, F_DROP_CACHES, F_MSYNC, F_MINCORE,
		F_FICLONE,	/* --dax: ioctl(fd, FICLONE, fd2) */
};

static inline bool fop_is_device(enum fop_kind k) { return k >= F_DEV_ATTACH && k <= F_DEV_EXCLUSIVE; }
static inline bool fop_is_file(enum fop_kind k) { return k >= F_OPEN; }
static inline bool fop_is_thp(enum fop_kind k) { return k >= F_SYS && k <= F_COLLAPSE_UFFD; }

_Static_assert(MML_PROT_MTE == MODEL_PROT_MTE, "the model's PROT_MTE is the API's");

/* Every run's machine starts overcommitting always; --commit changes the policy (fuzz_commit.c). */
#define FUZZ_OVERCOMMIT	"/proc/sys/vm/overcommit_memory"

/* Migrations a run may hold half way (--nodes: migrate unmap), all told. */
#define MAX_HELD	256

/* Swap devices a run may switch on (swap0 is --swap's), and have on at once. */
#define MAX_SWAPONS	64
#define MAX_LIVE_SWAPS	4

#define FZ_MAX_IOV	3	/* process_madvise's ranges */
#define FZ_MAX_FAILS	4	/* injected failures an operation's replay repeats */

struct fop {
	enum fop_kind kind;
	int task;		/* the acting task */
	int new_task;		/* spawn, thread, fork: the task created */
	int region;		/* address = base of this region + off; -1: off is absolute */
	int defines;		/* mmap: the region it creates */
	int64_t off;
	uint64_t len;
	int prot, flags, advice;
	uint8_t byte;		/* write: the byte repeated; tag set: the tag */
	int pin;		/* pin: the pin it creates; unpin, dma: the pin used */
	unsigned foll;		/* pin: MML_FOLL_* */
	bool get;		/* pin: a FOLL_GET reference rather than a pin */
	int dev;		/* swapon: the device it creates (swapN); swapoff: the one it ends */
	int device;		/* F_DEV_*: the device with its own MMU (dN); attach: the one it creates */
	int held;		/* migrate unmap: the held migration it creates (mN); move: the one it finishes */
	unsigned dev_flags;	/* attach: MML_DEV_* */
	int fd;			/* the descriptor used (fN), by name; -1: none (mmap: anonymous) */
	int newfd;		/* open, memfd, dup: the descriptor it defines */
	int fd2;		/* ficlone: the source descriptor (fN) */
	int path;		/* open, unlink: fuzz_path()'s index; sys: the knob (model_thp_knob_path) */
	int64_t pos;		/* pread, pwrite, fallocate, mmap: the offset in the file */
	int region2;		/* mremap: the new address is region2's base + off2 (-1: off2 is absolute) */
	int64_t off2;
	uint64_t len2;		/* mremap: the new length (len: the old) */
	long mode;		/* open: O_* flags; memfd: MFD_*; fallocate: its mode; msync: MS_*;
				   seal: F_SEAL_*; drop_caches: 1..3; sys: the value's index;
				   clear_refs: the type written */
	int target;		/* process_madvise: the task whose process is advised;
				   collapse uffd: the one that write-protects */
	int nvec;		/* process_madvise: its ranges, region (-1: absolute) + off, len */
	int vregion[FZ_MAX_IOV];
	int64_t voff[FZ_MAX_IOV];
	uint64_t vlen[FZ_MAX_IOV];
	/*
	 * Under --fail-rate or --fail-at: the injected failures the operation
	 * met (each site's how-many-th attempt from its start), which a
	 * replay injects again instead of the schedule (fuzz_shrink.c).
	 */
	struct mml_fail_at fails[FZ_MAX_FAILS];
	int nfails;
};

/*
 * The paths the generator uses: three names in each mount, and one where
 * nothing is mounted; with --dax, three in /pmem after them (FZ_PMEM_PATH:
 * the first), so that runs without it pick as before.
 */
#define FZ_NAMES	3
#define FZ_MOUNTS	3
#define FZ_PATHS	(FZ_NAMES * FZ_MOUNTS + 1)
#define FZ_PMEM_PATH	FZ_PATHS
const char *fuzz_path(int path);

/* --dax: the machine's pmem device (room for every file the generator keeps, 2 MiB runs and all). */
#define FUZZ_PMEM_BYTES	(64ULL << 20)

struct run {
	const struct fuzz_opts *o;
	struct mml_machine *m;
	struct model *md;
	struct mml_task **tasks;	/* by task number; NULL: not alive */
	int ntasks;
	uint64_t *rbase, *rlen;		/* by region number */
	bool *rok;			/* defined in this run */
	int nregions;
	struct mml_pin **pins;		/* by pin number; NULL: none */
	bool *pin_writable;		/* a write pin (not a reference): the device may write */
	int npins;
	int next_task, next_region, next_pin;	/* for the generator */
	struct idset live;		/* the live task numbers (fuzz_set_task) */
	struct idset live_pins;		/* the pins held now (fuzz_set_pin) */
	int swap_id[MAX_SWAPONS];	/* swapN's device id in the library; -1: off */
	int next_swap;
	struct mml_device **devs;	/* by device number (--devices); NULL: detached */
	long held[MAX_HELD];		/* --nodes: migration mN's handle; 0: none (failed, or shrunk away) */
	int next_held;
	int ndevs, next_dev;
	int *fdnum;			/* by descriptor name (--files): the number open returned */
	bool *fdok;			/* defined (the call that names it succeeded) */
	bool *rfile;			/* by region: a mapping of a file or of shared memory */
	int nfdsyms, next_fd;
	int focus_fd, focus_path;
	char *disk_dir;			/* --files: the machine's disk, a fresh host directory */
	/*
	 * Locality: the generator often comes back to the task and page it
	 * just used, so that sequences like "write, fork, get, munmap, write,
	 * read through the reference" (the bugs of the COW series) are likely.
	 */
	int focus_task, focus_region, focus_pin;
	int64_t focus_off;
	/*
	 * A "COW story" in progress: write a page, fork, take a pin or a
	 * reference in one process, unmap or drop it there, write in either,
	 * read through the device and the CPU.  The bugs of the COW series
	 * live in such sequences; each step's choices are still random.
	 */
	int story_step, story_a, story_b, story_pin;
	/*
	 * Or a "lazy-free story": write a page, fork, unshare it with a R/O
	 * pin, fork again, MADV_FREE it in the parent and drop it there, then
	 * pressure and a read in the second child, which never freed it.
	 */
	bool story_free;
	/*
	 * Or a "rewrite story": a page (tagged or not) is written, lazily
	 * freed, written again (bytes or tags), perhaps moved to another node
	 * (--nodes), pushed out, and read back: what was written after
	 * MADV_FREE must come back, tags and all.
	 */
	bool story_rewrite;
	/*
	 * Or a "swapoff story": a tagged page of its own gets tags, goes out
	 * to swap, every device is switched off (unuse_pte brings it back),
	 * and a tag load checks the tags came back with it.
	 */
	bool story_swapoff;
	int story_dev;		/* the swapoff story's latest device */
	/*
	 * Or a "device story" (seed 002): a device uses a page of a process
	 * that then forks, and one of them writes it or the device does;
	 * the device reads again, and so does the process.
	 */
	bool story_device;
	int story_devn;		/* the device story's device */
	/*
	 * Or a "file story" (--files): a file made and sized, mapped shared
	 * or private, written, forked; then one process writes it (through
	 * the map or pwrite), truncates it, punches it, drops it from the
	 * cache or pushes it out, and the other reads it (map and pread).
	 */
	bool story_file;
	int story_fd;		/* the file story's descriptor */
	/*
	 * Or a THP story (--thp, fuzz_thp.c): a THP shared by fork (or
	 * pinned first), then split in one process and written in the
	 * other; or small pages pinned, then collapsed under the pin.
	 */
	bool story_thp;
	bool story_collapse;	/* the THP story is the collapse one */
	bool story_file_thp;	/* the THP story of a shmem file (--files): huge pages, collapse, retract */
	int story_splitter;	/* the THP story's task that split the PMD (the other writes) */
	/*
	 * Or an "mremap story" (--mremap with --swap, fuzz_mremap.c): a
	 * PROT_MTE page of its own gets tags, goes out to swap, is perhaps
	 * shared by a fork, and moves by mremap while swapped out; a tag
	 * load at its new address (and the child's at the old) checks that
	 * the tags saved with its slot moved with it (seed 000's move_pte).
	 */
	bool story_mremap;
	int story_src;		/* the mremap story's page before the move: the child's still */
	/*
	 * Or a "refs story" (--refs, fuzz_refs.c): a page of its own written,
	 * clear_refs 4, written again by the same CPU, perhaps pushed out,
	 * then its pagemap entry must read soft-dirty.
	 */
	bool story_refs;
	/*
	 * Or a "KSM story" (--ksm, fuzz_ksm.c): two pages of one content in a
	 * parent and its child, perhaps pinned or mirrored by a device, merged
	 * by a full scan, then written, unmerged or swapped, and read.
	 */
	bool story_ksm;
	uint8_t story_byte;	/* the KSM story's content */
	bool story_get;		/* the KSM story's pin is a FOLL_GET reference */
	/*
	 * Or a "uffd story" (--uffd, fuzz_uffd.c): two pages of their own,
	 * one written, registered for WP and write-protected (the other then
	 * holds a marker with WP_UNPOPULATED), then swapped out or forked,
	 * then written again (SIGBUS) and checked.
	 */
	bool story_uffd;
	int thp_advise;		/* --thp: the region a THP mmap just made, for MADV_HUGEPAGE next; -1: none */
	struct mml_uffd **uffds;	/* --uffd: by the model's process index, that process's userfaultfd */
	int nuffds;
	long done;
	uint64_t op_addr;		/* the address the last operation named (0: none) */
	bool op_private;		/* MADV_COLD, MADV_PAGEOUT: mml_range_private() of its range, before */
	long epoch;			/* mml_check_epoch() after the last check */
	struct layout_range *layout[2];	/* the layout check's: the library's, the model's */
	size_t layout_cap[2];
	long oom_kills;			/* the machine's oom_kill count when the last kill was swept */
	bool injecting;
	long fails_seen;		/* --files: the injected failures fuzz_files_after_failures looked at */
	bool full_fails;		/* the full check at the end failed after a divergence */
	bool full_checks;		/* a check statement runs the full check (replays: what `mmlab run` does) */
	char why[1024];			/* the first divergence */
	int why_task;			/* the task it happened to, and both views of its memory then */
	int cur_task;
	char *why_maps, *why_model;
	FILE *scn;			/* printing a scenario while replaying */
	uint8_t *ibuf, *mbuf;
	uint8_t *abuf;			/* F_READ: the alternatives of the pages it reads */
	uint8_t *ubuf;			/* F_READ, F_PREAD: the bytes with those that may be zero zeroed */
};

/*
 * The reproducer: each operation as the scenario statement that does the
 * same (scenario/scenario.h), printed by the language's own printer with
 * the fuzzer's names: tasks T0.., regions r0.., pins p0.., swap devices
 * swap0.., devices with their own MMU d0..  FZ_SYM numbers them for
 * struct scn_op, one kind in FZ_NKINDS.
 */
enum { FZ_TASK, FZ_REGION, FZ_PIN, FZ_SWAP, FZ_DEVICE, FZ_FD, FZ_MIGRATION, FZ_UFFD, FZ_NKINDS };
#define FZ_SYM(kind, n)	((n) * FZ_NKINDS + (kind))

struct scn_op;
struct scn_pattern;
struct scn_printer;
void fuzz_name(const struct scn_printer *pr, int sym, char *buf, size_t n);
void fuzz_print(FILE *f, const struct scn_op *s);

/* fuzz_gen.c: fills op with the next operation for the current state of the run */
void fuzz_gen_op(struct run *r, struct chooser *c, struct fop *op);

/* fuzz_exec.c: runs op on both sides; false if it had to be skipped (a name it uses is undefined) */
bool fuzz_exec_op(struct run *r, const struct fop *op);
/* fuzz_exec.c, for fuzz_file.c, fuzz_device.c and the others */
long fuzz_judge(struct run *r, struct mml_task *t, long got, long exp, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
const char *fuzz_errname(long e);
void fuzz_stmt_at(struct scn_op *s, enum scn_op_kind kind, const struct fop *op);
void fuzz_stmt_result(struct scn_op *s, long exp);
void fuzz_stmt_pattern(struct scn_pattern *p, const uint8_t *b, uint64_t n);
/* A read statement's outcomes: own's bytes, alt's (written since MADV_FREE), zeros if lazy */
void fuzz_stmt_outcomes(struct scn_op *s, const uint8_t *own, const uint8_t *alt, bool lazy, uint64_t n);
/* A load by task's process (or a device's: who) against the model's, zeros allowed where lazily freed */
void fuzz_compare_read(struct run *r, int task, uint64_t addr, uint64_t len, const char *who);

/* fuzz_device.c (--devices): attach, access, exclusive, detach */
bool fuzz_exec_device(struct run *r, const struct fop *op, struct mml_task *t, uint64_t addr, long fails_before);

/* After a call that may have stopped half way: the model rereads [start, start + len) from smaps. */
void fuzz_resync_range(struct run *r, int task, uint64_t start, uint64_t len);

/* fuzz_file.c */
bool fuzz_grow_fds(struct run *r, int fd);
/* the descriptor number op names, or -1 when its name is undefined */
int fuzz_fd_of(struct run *r, int fd);
bool fuzz_exec_file(struct run *r, const struct fop *op, struct mml_task *t, uint64_t addr, long fails_before);
/* The model takes file's size and [off, off+len) as a live task holding it reads them (printed too). */
void fuzz_resync_file(struct run *r, int file, uint64_t off, uint64_t len);
/* The OOM killer interrupted a store or madvise of task: the model rereads the shared file pages there. */
void fuzz_oom_resync_range(struct run *r, int task, uint64_t addr, uint64_t len);
/* set-up and teardown: the disk directory; the end compares its files with the model */
bool fuzz_files_init(struct run *r, struct mml_config *cfg);
void fuzz_files_finish(struct run *r);
/* After each operation under injection: a writeback it may have broken (model_disk_writeback_lost). */
void fuzz_files_after_failures(struct run *r);
/* Bytes the model says may read as zero in [addr, addr+len): the read's other outcome into alt. */
bool fuzz_unsure_outcome(struct run *r, int task, uint64_t addr, uint64_t len, const uint8_t *own, uint8_t *alt);

/* fuzz_dax.c (--dax): /pmem files, FICLONE, PMD-sized mappings; and the calls that would wait for a pin */
void fuzz_gen_dax_op(struct run *r, struct chooser *c, struct fop *op);
bool fuzz_dax_would_wait(struct run *r, const struct fop *op, uint64_t addr);
void fuzz_exec_ficlone(struct run *r, const struct fop *op, struct mml_task *t, long fails_before);

/* fuzz_gen.c, for fuzz_thp.c and fuzz_mremap.c: its choices, its pickers and story steps */
uint32_t fuzz_choose(struct chooser *c, uint32_t n);
int fuzz_pick_task(struct run *r, struct chooser *c);
bool fuzz_room_for_fork(struct run *r);
void fuzz_gen_story_fork(struct run *r, struct fop *op);
void fuzz_gen_own_page(struct run *r, struct fop *op, int prot);
void fuzz_pick_addr(struct run *r, struct chooser *c, struct fop *op, bool aligned);
int fuzz_pick_prot(struct chooser *c);

/* fuzz_mremap.c (--mremap): rolls of its own after every other kind's */
#define MREMAP_ROLLS	12
void fuzz_gen_mremap(struct run *r, struct chooser *c, struct fop *op);
bool fuzz_gen_mremap_story_op(struct run *r, struct chooser *c, struct fop *op);
struct commit_probe;
bool fuzz_exec_mremap(struct run *r, const struct fop *op, struct mml_task *t, uint64_t addr,
		      const struct commit_probe *cp);

/* fuzz_numa.c (--nodes N): rolls of their own after mremap's */
#define NUMA_ROLLS	12
void fuzz_gen_numa(struct run *r, struct chooser *c, struct fop *op);
bool fuzz_exec_numa(struct run *r, const struct fop *op, struct mml_task *t, uint64_t addr);

/* fuzz_mlock.c (--mlock): rolls of their own after NUMA's */
#define MLOCK_ROLLS	8
void fuzz_gen_mlock(struct run *r, struct chooser *c, struct fop *op);
bool fuzz_exec_mlock(struct run *r, const struct fop *op, struct mml_task *t, uint64_t addr);

/* fuzz_commit.c (--commit): rolls of their own after the locks' */
#define COMMIT_ROLLS	8
void fuzz_gen_commit(struct run *r, struct chooser *c, struct fop *op);
bool fuzz_exec_commit(struct run *r, const struct fop *op);
/*
 * What a call that may charge the commit asks, judged as
 * __vm_enough_memory would: probed before the call; a refusal the probe
 * allows is taken (fuzz_commit_refused), a call let by that had to be
 * refused diverges (fuzz_commit_passed).
 */
struct commit_probe {
	bool on;		/* the call may charge, and is judged */
	bool pieces;		/* asked VMA by VMA (mprotect, fork, mremap) */
	int mode;		/* overcommit_memory */
	int64_t lo, hi;		/* the charge, in pages (the model's range) */
	long before;		/* Committed_AS before the call */
	long room;		/* mode 2: the limit less the reserves; mode 0: RAM and swap */
};
void fuzz_commit_probe(struct run *r, const struct fop *op, uint64_t addr, struct commit_probe *cp);
bool fuzz_commit_refused(const struct commit_probe *cp, long got);
void fuzz_commit_passed(struct run *r, const struct commit_probe *cp, long got, const char *what);
/* after every operation: Committed_AS within the model's range */
void fuzz_commit_check(struct run *r);

/* fuzz_refs.c (--refs): rolls of their own after the locks' */
#define REFS_ROLLS	8
void fuzz_gen_refs(struct run *r, struct chooser *c, struct fop *op);
bool fuzz_gen_refs_story_op(struct run *r, struct chooser *c, struct fop *op);
bool fuzz_exec_refs(struct run *r, const struct fop *op, struct mml_task *t, uint64_t addr, long fails_before);
/* fuzz_exec.c, for fuzz_refs.c: madvise's look at open pages before MADV_FREE */
void fuzz_settle_before_free(struct run *r, int task, struct mml_task *t, uint64_t addr, uint64_t len);

/* fuzz_ksm.c (--ksm): rolls of their own after refs' */
#define KSM_ROLLS	16
void fuzz_gen_ksm(struct run *r, struct chooser *c, struct fop *op);
bool fuzz_gen_ksm_story_op(struct run *r, struct chooser *c, struct fop *op);
bool fuzz_exec_ksm(struct run *r, const struct fop *op, struct mml_task *t);
/* fuzz_uffd.c (--uffd): rolls of their own after the refs' */
#define UFFD_ROLLS	10
void fuzz_gen_uffd(struct run *r, struct chooser *c, struct fop *op);
bool fuzz_exec_uffd(struct run *r, const struct fop *op, struct mml_task *t, uint64_t addr);
/* Before an access the model judges, and at the end of a run */
void fuzz_uffd_settle(struct run *r, int task, struct mml_task *t, uint64_t addr, uint64_t len);
void fuzz_uffd_settle_op(struct run *r, const struct fop *op, struct mml_task *t, uint64_t addr);
void fuzz_uffd_finish(struct run *r);
bool fuzz_gen_uffd_story_op(struct run *r, struct chooser *c, struct fop *op);

/* fuzz_thp.c (--thp) */
#define THP_ROLLS	48
/* THP regions are mapped at fixed 2 MiB slots from here (absolute addresses stay below) */
#define THP_BASE	0x40000000ULL
#define THP_SIZE	(512 * PG)
#define THP_SLOTS	8
bool fuzz_thp_region(const struct run *r, int region);
/* The next op when a THP mmap left advice pending; false if none is */
bool fuzz_gen_thp_pending(struct run *r, struct chooser *c, struct fop *op);
void fuzz_gen_thp_mmap(struct run *r, struct chooser *c, struct fop *op);
void fuzz_gen_thp_op(struct run *r, struct chooser *c, struct fop *op);
bool fuzz_gen_thp_story_op(struct run *r, struct chooser *c, struct fop *op);
long fuzz_model_gup(struct run *r, int task, int id, uint64_t addr, uint64_t npages, int kind, unsigned foll,
		    long got, bool *either);
long fuzz_model_madvise(struct run *r, int task, uint64_t addr, uint64_t len, int advice, long got);
long fuzz_model_access(struct run *r, int task, uint64_t addr, void *buf, uint64_t len, bool write, long got);
bool fuzz_exec_thp(struct run *r, const struct fop *op, struct mml_task *t, uint64_t addr, long fails_before);

/* fuzz_shrink.c */
/* The injected failures of one operation: where the attempts stood before it, then what it met. */
struct fuzz_fail_mark {
	long injected;
	long attempts[MML_FAIL_NR_SITES];
};
void fuzz_fails_mark(struct run *r, struct fuzz_fail_mark *mk);
void fuzz_fails_record(struct run *r, const struct fuzz_fail_mark *mk, struct fop *op);
bool fuzz_replay(const struct fuzz_opts *o, const struct fop *ops, size_t n, FILE *scn, size_t *at,
		 char *why, size_t whylen);
size_t fuzz_shrink(const struct fuzz_opts *o, struct fop *ops, size_t n, const char *kind, double deadline);
size_t fuzz_shrink_tasks(const struct fuzz_opts *o, struct fop *ops, size_t n, const char *kind,
			 double deadline);
void fuzz_print_scenario(const struct fuzz_opts *o, const struct fop *ops, size_t n, FILE *f, long total);

/* fuzz.c */
bool fuzz_run_init(struct run *r, const struct fuzz_opts *o, bool check_frees);
void fuzz_run_finish(struct run *r);
void fuzz_after_op(struct run *r, const struct fop *op, int check_every);
void fuzz_diverge(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fuzz_set_task(struct run *r, int i, struct mml_task *t);
void fuzz_set_pin(struct run *r, int i, struct mml_pin *pin);
int fuzz_recent_pins(const struct run *r, int *live, int max);
double fuzz_now(void);

#endif /* MML_ORACLE_FUZZ_INTERNAL_H */
