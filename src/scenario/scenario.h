/*
 * scenario.h - the scenario language: parser, interpreter, built-in demo.
 *
 * A scenario is parsed completely into a struct scn_script (an array of
 * struct scn_op, plus a symbol table) before anything runs, so bad input
 * anywhere in a file is reported without touching a machine.  The
 * interpreter (run.c) walks the ops against a simulated machine, the
 * conformance walk (native/observe.c) against mmlab or the host kernel,
 * and the printer (print.c) turns them back into text, as the fuzzer's
 * reproducers.  Each statement is one descriptor (command.h) whose
 * functions do its part of each.  docs/scenario.md is the language
 * reference.
 *
 * Result codes of every scn_run_* call, also the exit codes of `mmlab run`:
 */
#ifndef MMLAB_SCENARIO_H
#define MMLAB_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mmlab.h"

struct mml_config;
struct mml_machine;

enum scn_result {
	SCN_PASS = 0,		/* every expectation held, nothing leaked */
	SCN_FAIL = 1,		/* an expectation failed */
	SCN_BAD	 = 2,		/* bad input, or the machine could not be made */
};

/*
 * Bounds for running untrusted text (a fuzz target): each one keeps a
 * hostile file from taking unbounded host memory or time.  0 leaves that
 * bound to the language itself (docs/scenario.md).
 */
struct scn_limits {
	uint64_t ram;		/* a larger machine (ram=, or the default) is cut to this */
	uint64_t io;		/* longest read, write or pagemap range; longer is bad input */
	int statements;		/* run at most this many statements, then stop as if at the end */
	/* io also bounds dma-read/dma-write lengths and pin/get sizes (NPAGES pages) */
	uint64_t swap;		/* largest swapon; 0: 16 x ram when ram is bounded */
	/*
	 * A threads block is bad input: one that deadlocks leaves its host
	 * threads parked for good (mml_sched_run), which a fuzz target running
	 * millions of files would pile up.
	 */
	bool no_threads;
};

struct scn_report;	/* report.c: the HTML page of --report */

struct scn_opts {
	bool verbose;		/* trace each statement before running it */
	bool no_check;		/* clear MML_CHECK_EVERY_OP whatever the file says */
	bool quiet;		/* set MML_QUIET whatever the file says */
	const char *const *bugs; /* bug-zoo entries switched on in every machine */
	int nbugs;
	unsigned fail_rate_ppm;	/* fault injection at every site (MML_FAIL_ALL); 0 = off */
	uint64_t fail_seed;	/* the injection schedule's seed */
	const struct scn_limits *limits; /* NULL = none */
	/*
	 * Unpin and detach what the file still holds when the run ends, so
	 * that a leak reported by mml_machine_free is the library's own (a
	 * fuzz target).  Without it a passing file that leaves a pin held or
	 * a device attached fails with the leak, as a program that forgets
	 * unpin_user_pages() would leak.
	 */
	bool release_held;
	struct scn_stats *stats; /* if set, filled in by scn_exec */
	/*
	 * Threads blocks: the scheduler's seed (mml_config.seed) when
	 * sched_seed_set, else the file's (machine seed=N, default 0); the
	 * strategy of every block when sched_strategy is set ("random", or
	 * "pct" with sched_depth), else each block's own.
	 */
	bool sched_seed_set;
	uint64_t sched_seed;
	const char *sched_strategy;
	unsigned sched_depth;
	FILE *out;		/* echo and show; NULL = stdout */
	FILE *err;		/* diagnostics; NULL = stderr */
	/*
	 * Pictures (show pagetable|rmap|folio|machine): with show_dir, one
	 * file each there, SCENARIO-LINE-KIND.EXT, in show_format; into the
	 * report's page too with report (report.c); otherwise a line that
	 * says what the picture holds.
	 */
	const char *show_dir;
	enum mml_picture_format show_format;
	struct scn_report *report;
	/*
	 * `mmlab show`: the picture of the statement on picture_line, in
	 * show_format, to picture_out; or, for a view (show maps, smaps,
	 * pagemap, vmstat, meminfo), what the statement prints, or with
	 * view_json the view as one JSON document (mml_show_*_json).
	 */
	FILE *picture_out;
	unsigned picture_line;
	bool view_json;
	const char *trace;	/* trace events every machine emits (mml_trace_enable), or NULL */
	FILE *trace_out;	/* where their lines go; NULL = out */
	struct vmstat_trace *vmstat; /* a sample after every statement (--vmstat-trace), or NULL */
};

/*
 * What the library itself saw during a run, apart from the expectations:
 * a fuzz target treats any report as a finding even when the file's
 * expectations failed for some other reason.
 */
struct scn_stats {
	long reports;		/* mml_report_count() before the machine was freed */
	int free_ret;		/* mml_machine_free(): 0, or -EBUSY after leaks */
	long injected;		/* failures injected (mml_fail_injected) */
	int statements;		/* statements run */
	/*
	 * The first failed expectation or bad input found while running (not
	 * parsing): its line (0 at the end of the file) and its message, as
	 * printed on err after "file:line: "; "" if none.  The caller clears
	 * it before a run.
	 */
	unsigned fail_line;
	char failure[1024];
};

/* ---- the AST: what the parser hands the interpreter ---- */

enum scn_op_kind {
	SCN_OP_MACHINE,		/* machine ram=64M cpus=4 seed=1 no-check quiet */
	SCN_OP_SPAWN,		/* spawn A */
	SCN_OP_THREAD,		/* thread A -> A2 */
	SCN_OP_FORK,		/* fork A -> B */
	SCN_OP_EXIT,		/* exit A */
	SCN_OP_MMAP,		/* [p =] mmap A ADDR LEN PROT FLAGS [FD [OFF]] */
	SCN_OP_MUNMAP,		/* munmap A ADDR LEN */
	SCN_OP_MPROTECT,	/* mprotect A ADDR LEN PROT */
	SCN_OP_MADVISE,		/* madvise A ADDR LEN ADVICE */
	SCN_OP_WRITE,		/* write A ADDR [LEN] PATTERN */
	SCN_OP_READ,		/* read A ADDR LEN [expect PATTERN] */
	SCN_OP_FRAME,		/* f = frame A ADDR */
	SCN_OP_EXPECT_PAGEMAP,	/* expect pagemap A ADDR [LEN] BIT... */
	SCN_OP_EXPECT_SAME,	/* expect same-frame A ADDR B ADDR */
	SCN_OP_EXPECT_DIFF,	/* expect different-frame A ADDR B ADDR */
	SCN_OP_EXPECT_FRAME,	/* expect frame A ADDR ==|!= f */
	SCN_OP_EXPECT_STAT,	/* expect vmstat|meminfo[-delta] NAME CMP N */
	SCN_OP_EXPECT_VMAS,	/* expect vma-count A ADDR LEN CMP N */
	SCN_OP_EXPECT_VMA,	/* expect vma A ADDR LEN [FLAG...] */
	SCN_OP_CLEAR_REFS,	/* clear_refs A TYPE */
	SCN_OP_PROCESS_MADVISE,	/* process_madvise A B ADDR LEN ADVICE */
	SCN_OP_MLOCK,		/* mlock A ADDR LEN */
	SCN_OP_MLOCK2,		/* mlock2 A ADDR LEN FLAGS: flags */
	SCN_OP_MUNLOCK,		/* munlock A ADDR LEN */
	SCN_OP_MLOCKALL,	/* mlockall A FLAGS: flags */
	SCN_OP_MUNLOCKALL,	/* munlockall A */
	SCN_OP_SETRLIMIT,	/* setrlimit A memlock BYTES: len (UINT64_MAX: unlimited) */
	SCN_OP_EXPECT_SMAPS,	/* expect smaps A ADDR FIELD CMP N[|N...] */
	SCN_OP_EXPECT_ADDR,	/* expect addr ADDR CMP ADDR */
	SCN_OP_MARK,		/* mark */
	SCN_OP_CHECK,		/* check */
	SCN_OP_SHOW,		/* show maps|smaps A [ADDR] / vmstat / meminfo / pagemap A ADDR [LEN] */
	SCN_OP_ECHO,		/* echo ... */
	SCN_OP_PIN,		/* [x =] pin|get A ADDR NPAGES [FOLL] (arg: 1 for get) */
	SCN_OP_UNPIN,		/* unpin x */
	SCN_OP_DMA_READ,	/* dma-read x OFF LEN [expect PATTERN] */
	SCN_OP_DMA_WRITE,	/* dma-write x OFF [LEN] PATTERN */
	SCN_OP_EXPECT_PIN_FRAME, /* expect pin-frame x INDEX ==|!= A ADDR */
	SCN_OP_SWAPON,		/* [s =] swapon SIZE [prio N] [file] */
	SCN_OP_SWAPOFF,		/* swapoff s */
	SCN_OP_RECLAIM,		/* reclaim NPAGES */
	SCN_OP_EXPECT_RECLAIMED, /* expect reclaimed CMP N */
	SCN_OP_EXPECT_KILLED,	/* expect killed A / expect alive A: value 1 / 0 */
	SCN_OP_TAG,		/* tag A ADDR [LEN] = TAG */
	SCN_OP_EXPECT_TAG,	/* expect tag A ADDR [LEN] ==|!= TAG{|TAG}, or => ERRNO */
	SCN_OP_FAIL,		/* fail SITES [NTH [repeat N]] | fail at SITE NTH... | fail off */
	SCN_OP_DEVICE_ATTACH,	/* device d = attach A [FLAG...] */
	SCN_OP_DEVICE_DETACH,	/* device detach d */
	SCN_OP_DEVICE_READ,	/* device read d ADDR LEN [expect PATTERN] */
	SCN_OP_DEVICE_WRITE,	/* device write d ADDR [LEN] PATTERN */
	SCN_OP_DEVICE_SNAPSHOT,	/* device snapshot d ADDR NPAGES expect STATE... */
	SCN_OP_DEVICE_EXCLUSIVE, /* device exclusive d ADDR NPAGES */
	SCN_OP_EXPECT_DEVICE,	/* expect device d mapped|unmapped ADDR: value 1 / 0 */
	SCN_OP_OPEN,		/* [f =] open A PATH OFLAGS [MODE]: path in name, mode in arg */
	SCN_OP_MEMFD,		/* [f =] memfd A NAME [MFDFLAGS] */
	SCN_OP_DUP,		/* [f =] dup A FD */
	SCN_OP_CLOSE,		/* close A FD */
	SCN_OP_UNLINK,		/* unlink A PATH */
	SCN_OP_FTRUNCATE,	/* ftruncate A FD LEN */
	SCN_OP_FALLOCATE,	/* fallocate A FD FALLOC OFF LEN: mode in arg */
	SCN_OP_FSYNC,		/* fsync A FD */
	SCN_OP_MSYNC,		/* msync A ADDR LEN MSFLAGS: flags in arg */
	SCN_OP_SEAL,		/* seal A FD SEALS: seals in arg */
	SCN_OP_DROP_CACHES,	/* drop-caches N: N in arg */
	SCN_OP_PREAD,		/* pread A FD OFF LEN [expect PATTERNS] */
	SCN_OP_PWRITE,		/* pwrite A FD OFF [LEN] PATTERN */
	SCN_OP_EXPECT_MINCORE,	/* expect mincore A ADDR LEN BITS: the bits in name */
	SCN_OP_EXPECT_FSTAT,	/* expect fstat A FD FIELD CMP N: the field in name */
	SCN_OP_EXPECT_SEALS,	/* expect seals A FD == SEALS: value */
	SCN_OP_FICLONE,		/* ficlone A DST SRC: dst in fd/fdsym, src in src_fd/src_fdsym */
	SCN_OP_EXPECT_STATVFS,	/* expect statvfs A PATH FIELD CMP N: path in name, the field's
				   index in arg; -1: the result form, expect statvfs A PATH => ... */
	SCN_OP_SYS,		/* sys SYSPATH TEXT: the path in name, the text in sys_value */
	SCN_OP_EXPECT_SYS,	/* expect sys SYSPATH ( TEXT | result ) */
	SCN_OP_EXPECT_KPAGEFLAGS, /* expect kpageflags A ADDR FLAG...: KPF bits in pm_set, pm_clear */
	SCN_OP_SPLIT_HUGE_PAGES, /* split_huge_pages A ADDR LEN */
	SCN_OP_KHUGEPAGED,	/* khugepaged scan NPAGES: the pages a pass in len */
	SCN_OP_EXPECT_THP,	/* expect thp A ADDR [pmd|pte|zero|none]: the state in arg */
	SCN_OP_MREMAP,		/* [p =] mremap A ADDR OLDLEN NEWLEN [FLAGS [NEWADDR]]:
				   len, len2, flags, addr2 */
	SCN_OP_SET_MEMPOLICY,	/* set_mempolicy A MODE [NODES]: mode in arg, the mask in pos */
	SCN_OP_MBIND,		/* mbind A ADDR LEN MODE NODES [FLAGS]: mode in arg, mask in pos */
	SCN_OP_MOVE_PAGES,	/* move_pages A ADDR NPAGES NODE [FLAGS]: pages in len, node in value */
	SCN_OP_MIGRATE_PAGES,	/* migrate_pages A FROM TO: the masks in pos and len2 */
	SCN_OP_EXPECT_NODE,	/* expect node A ADDR (N | ERRNO): value, -errno */
	SCN_OP_EXPECT_MEMPOLICY,/* expect mempolicy A MODE [NODES]: get_mempolicy's; mode in arg, mask in pos */
	SCN_OP_MIGRATE_UNMAP,	/* migrate H = unmap A ADDR NODE: node in value */
	SCN_OP_MIGRATE_MOVE,	/* migrate move H: H in def's place, the symbol used in pin */
	SCN_OP_KSM,		/* ksm scan|pass NPAGES: pages in len, arg 1 for one pass */
	SCN_OP_PRCTL,		/* prctl A OPTION [N] [CMP V]: option in arg, N in len, has_len: compare */
	SCN_OP_EXPECT_KSM_STAT,	/* expect ksm_stat A FIELD CMP N: the field in name */
	SCN_OP_UFFD_NEW,	/* uffd U = new A FEATURES: features in flags */
	SCN_OP_UFFD_REGISTER,	/* uffd register U ADDR LEN MODES: modes in flags */
	SCN_OP_UFFD_UNREGISTER,	/* uffd unregister U ADDR LEN */
	SCN_OP_UFFD_WRITEPROTECT,/* uffd writeprotect U ADDR LEN 0|1: wp in value */
	SCN_OP_UFFD_COPY,	/* uffd copy U ADDR LEN PATTERN [MODES]: modes in flags */
	SCN_OP_UFFD_ZEROPAGE,	/* uffd zeropage U ADDR LEN [MODES] */
	SCN_OP_UFFD_CONTINUE,	/* uffd continue U ADDR LEN [MODES] */
	SCN_OP_UFFD_SERVE,	/* uffd serve U N [PATTERN]: a thread answers N messages; N in value */
	SCN_OP_UFFD_JOIN,	/* uffd join U: wait for the server */
	SCN_OP_UFFD_CLOSE,	/* uffd close U */
	SCN_OP_EXPECT_UFFD,	/* expect uffd U MESSAGE: the event in arg, fork's new name in def */
	SCN_OP_THREADS,		/* threads [random | pct [depth=D] [steps=K]]: the strategy in arg
				   (SCN_SCHED_*), D in value, K in len; the index of its end in block_end */
	SCN_OP_END,		/* end (of a threads block) */
	SCN_OP_YIELD,		/* yield N: N in value */
	NR_SCN_OPS
};

enum scn_sym_kind {
	SCN_SYM_NONE,		/* declared once, now gone (an exited task) */
	SCN_SYM_TASK,
	SCN_SYM_ADDR,
	SCN_SYM_FRAME,
	SCN_SYM_PIN,		/* pages held by pin or get */
	SCN_SYM_UNPINNED,	/* a pin after its unpin */
	SCN_SYM_SWAP,		/* a swap device defined by swapon */
	SCN_SYM_SWAPPED_OFF,	/* a swap device after a swapoff that must succeed */
	SCN_SYM_DEVICE,		/* a device attached by "device d = attach" */
	SCN_SYM_DETACHED,	/* a device after its detach */
	SCN_SYM_FD,		/* a descriptor number, defined by open, memfd or dup */
	SCN_SYM_MIGRATION,	/* a migration held half way: "migrate h = unmap" */
	SCN_SYM_UFFD,		/* a userfaultfd: "uffd u = new A", or a fork message's */
	SCN_SYM_UFFD_CLOSED,	/* a userfaultfd after its close */
};

struct scn_sym {
	char *name;
	enum scn_sym_kind kind;
	uint64_t npages;	/* SCN_SYM_PIN, at parse time: pages of the latest pin */
	/*
	 * At parse time, in the open threads block: the thread (its task's
	 * symbol) whose statement changed the name, the first thread that
	 * used it and another one that did; -1 for none (cmd_threads.c).
	 */
	int blk_def, blk_use, blk_other;
};

/* An address: a symbol's value plus an offset, or a literal (sym < 0). */
struct scn_addr {
	int sym;
	uint64_t off;		/* added modulo 2^64: p-4k is p + (2^64 - 4096) */
};

/* A byte pattern: a byte repeated, or a string repeated to the length. */
struct scn_pattern {
	bool present;
	bool zero;		/* written "zero": printed so */
	unsigned char *bytes;	/* malloc'd; one byte for a byte pattern */
	size_t n;		/* >= 1 */
};

/*
 * "read A p 4k expect 0x11|zero": the outcomes Linux allows where the
 * result is not determined (MADV_FREE before any reclaim).  The first
 * is scn_op.pat, the others scn_op.alt[].
 */
#define SCN_MAX_ALTS 3

#define SCN_MAX_ERRS 4
#define SCN_MAX_IOV 8	/* process_madvise: ranges in one call */
/*
 * What a statement may return.  Default (nerr == 0, ncount == 0, !any):
 * success.  "=> ok|ENOMEM" lists up to SCN_MAX_ERRS outcomes, 0 meaning
 * ok; pread and pwrite may also list byte counts ("=> 4096|0"), which
 * count towards that bound.
 */
struct scn_expect {
	bool any;
	int nerr;
	int err[SCN_MAX_ERRS];	/* positive errno values, 0 = ok */
	int ncount;
	uint64_t count[SCN_MAX_ERRS];	/* pread, pwrite: byte counts allowed */
};

enum scn_cmp { SCN_EQ, SCN_NE, SCN_LT, SCN_LE, SCN_GT, SCN_GE };

enum scn_stat_src { SCN_VMSTAT, SCN_MEMINFO };

enum scn_show_what { SCN_SHOW_MAPS, SCN_SHOW_SMAPS, SCN_SHOW_VMSTAT,
		     SCN_SHOW_MEMINFO, SCN_SHOW_PAGEMAP, SCN_SHOW_SCHED,
		     /* pictures (cmd_show.c) */
		     SCN_SHOW_PAGETABLE, SCN_SHOW_RMAP, SCN_SHOW_FOLIO, SCN_SHOW_MACHINE };

/* A threads block's strategy: the default (random), or as written. */
enum scn_sched_strategy { SCN_SCHED_DEFAULT, SCN_SCHED_RANDOM, SCN_SCHED_PCT, SCN_SCHED_PCT_PTE };

/* Tracked at parse time, read at every "mark": the counters deltas need. */
struct scn_statref {
	enum scn_stat_src src;
	char *name;
};

struct scn_op {
	enum scn_op_kind kind;
	unsigned line;
	char *text;		/* the source line, for traces */
	int thread;		/* in a threads block: the task whose thread runs it ("A: ..."), else -1 */
	int block_end;		/* threads: the index of its end */
	int def;		/* symbol this statement defines, or -1 */
	int task, task2;	/* task symbols, or -1 */
	struct scn_addr addr, addr2;
	bool has_addr;		/* show maps/smaps A ADDR */
	uint64_t len;
	bool has_len;
	uint64_t len2;		/* mremap: the new length */
	/* process_madvise: its ranges after the first (addr, len), "and ADDR LEN" each */
	struct scn_addr iov_addr[SCN_MAX_IOV - 1];
	uint64_t iov_len[SCN_MAX_IOV - 1];
	int niov;
	long arg;		/* prot, advice, show what */
	long flags;		/* mmap flags; MML_FOLL_* of pin and get */
	long fd;		/* a descriptor number, when fdsym < 0 */
	int fdsym;		/* a descriptor's name (SCN_SYM_FD), or -1: fd itself */
	long src_fd;		/* ficlone's source, as fd */
	int src_fdsym;		/* ... and fdsym */
	int64_t off;
	struct scn_pattern pat;
	struct scn_pattern alt[SCN_MAX_ALTS];	/* read/dma-read: more allowed patterns */
	int64_t alt_value[SCN_MAX_ALTS];	/* expect smaps: more allowed values */
	int nalt;		/* patterns in alt[], or values in alt_value[] */
	struct scn_expect expect;
	/* expect pagemap (MML_PM_*), expect kpageflags (1 << MML_KPF_*): bits that must be set / clear */
	uint64_t pm_set, pm_clear;
	/* expect stat / frame / vma-count / smaps (name: the field) */
	enum scn_stat_src src;
	bool delta;
	int statref;		/* index into scn_script.statrefs for deltas */
	char *name;
	unsigned name_col;	/* for "unknown counter", found only at run time */
	enum scn_cmp cmp;
	int64_t value;
	/* machine */
	uint64_t ram;
	unsigned ncpus;
	unsigned nr_nodes;	/* machine nodes=N */
	uint64_t pmem;		/* machine pmem=SIZE: mml_config.pmem_bytes */
	uint64_t seed;
	int check;		/* -1 unchanged, 0 no-check, 1 check */
	bool quiet;
	bool kswapd;		/* machine kswapd: run the reclaim daemon */
	bool khugepaged;	/* machine khugepaged: run the collapse daemon */
	const char *tmpfs_huge;	/* machine tmpfs-huge=WORD: a static string, or NULL */
	char *echo;		/* echo text */
	char *sys_value;	/* sys, expect sys: the text written or expected */
	/* pins */
	int pin;		/* pin symbol used (unpin, dma-*, expect pin-frame), or -1 */
	uint64_t pos;		/* dma offset; pin-frame page index */
	/* swap: len is the size (swapon) or the pages to reclaim (reclaim) */
	int swap;		/* swap device symbol used (swapoff), or -1 */
	int prio;		/* swapon: -1 = the default, as mml_swapon takes it */
	bool swap_file;		/* swapon ... file: a host file, not memory */
	/* devices: the symbol used (-1); attach: MML_DEV_* in flags; snapshot: states in pat */
	int dev;
	int uffd;		/* the userfaultfd symbol used (uffd ..., expect uffd), or -1 */
	/* tag: the tag stored (tags[0]); expect tag: the allowed tags, none with "=>" */
	unsigned tags[SCN_MAX_ALTS + 1];
	int ntags;
	/* fail: MML_FAIL_* sites (0: off), the countdown and repeat of struct mml_fail, or its list */
	unsigned fail_sites;
	long fail_nth, fail_repeat;
	struct mml_fail_at fail_at[MML_FAIL_AT_MAX];
	unsigned fail_nr_at;
};

struct scn_script {
	char *name;		/* file name, for messages */
	struct scn_op *ops;
	int nops;
	struct scn_sym *syms;
	int nsyms;
	struct scn_statref *statrefs;
	int nstatrefs;
};

/* parse.c */
int scn_parse(const char *name, const char *text, size_t len,
	      struct scn_script **out, FILE *err);
void scn_script_free(struct scn_script *s);
/* An op of this kind with nothing in it: no names, no "=>", defaults. */
void scn_op_init(struct scn_op *op, enum scn_op_kind kind);

/*
 * print.c: an op back to the line that parses to it, "=> ..." and all.
 * Names are s's, or with name set whatever it writes into buf for a
 * symbol number (the fuzzer has its own: T3, r5, p2, swap1).
 */
struct scn_printer {
	FILE *f;
	const struct scn_script *s;
	void (*name)(const struct scn_printer *pr, int sym, char *buf, size_t n);
};
void scn_print_op(const struct scn_printer *pr, const struct scn_op *op);

/*
 * A size as the language writes it (decimal or 0x hex, k/M/G/T binary
 * suffix, no wrap): NULL, or what is wrong with it.  For command lines.
 */
const char *scn_size_parse(const char *s, uint64_t *out);

/*
 * names.c: constants by name, and back.  Reading: 0, or -1 for a word
 * that names none.  Writing: the word the parser reads (into buf where
 * one is passed), a number where there is no name.
 */
int scn_prot_parse(const char *s, size_t n, long *out);
int scn_mmap_flag(const char *s, size_t n, long *out);
int scn_advice(const char *s, size_t n, long *out);
int scn_errno(const char *s, size_t n, int *out);
int scn_foll(const char *s, size_t n, long *bit);		/* one gup flag */
int scn_pm_bit(const char *s, size_t n, uint64_t *bit);	/* one pagemap bit */
int scn_fail_site(const char *s, size_t n, unsigned *site);	/* one site */
const char *scn_errno_name(int e);				/* "ok" for 0 */
/* The flags of the file calls, each set a table of its own. */
enum scn_flag_set {
	SCN_OFLAGS,		/* open: rdonly wronly rdwr creat excl trunc cloexec */
	SCN_MFD_FLAGS,		/* memfd: cloexec allow-sealing */
	SCN_FALLOC_FLAGS,	/* fallocate: keep-size punch-hole ... */
	SCN_MS_FLAGS,		/* msync: async sync invalidate */
	SCN_SEALS,		/* seal, expect seals: seal shrink grow write future-write */
	SCN_MREMAP_FLAGS,	/* mremap: maymove fixed dontunmap */
	SCN_MPOL_MF_FLAGS,	/* mbind, move_pages: strict move move_all */
	SCN_MPOL_MODE_FLAGS,	/* a policy mode's: static relative balancing */
	SCN_MLOCK_FLAGS,	/* mlock2: onfault */
	SCN_MCL_FLAGS,		/* mlockall: current future onfault */
	SCN_UFFD_FEATURES,	/* uffd new: sigbus event-fork ... (UFFD_FEATURE_*) */
	SCN_UFFD_MODES,		/* uffd register: missing wp minor */
	SCN_UFFD_IOMODES,	/* uffd copy/zeropage/continue: dontwake wp */
};
int scn_flag(enum scn_flag_set set, const char *s, size_t n, long *bit);	/* one flag */
const char *scn_flags_name(enum scn_flag_set set, long v, char *buf, size_t n); /* "rdwr,creat" */
const char *scn_prot_name(long prot, char *buf, size_t n);	/* "rw,mte" */
const char *scn_mmap_flags_name(long flags, char *buf, size_t n); /* "private,anonymous" */
const char *scn_advice_name(long advice, char *buf, size_t n);	/* "dontneed" */
const char *scn_foll_name(long foll, char *buf, size_t n);	/* "write,longterm", "ro" */
/* "present !exclusive": set bits by name, clear ones after '!' */
void scn_pm_bits_str(uint64_t set, uint64_t clear, char *buf, size_t n);
const char *scn_fail_sites_name(unsigned sites, char *buf, size_t n); /* "frame,meta", "off" */
const char *scn_cmp_name(enum scn_cmp c);
/* a CMP b, for expect vmstat/meminfo/vma-count/reclaimed */
bool scn_cmp_holds(int64_t a, enum scn_cmp c, int64_t b);
/* Is errno got (0: success) one of the outcomes "=> ..." allows? */
bool scn_result_ok(const struct scn_expect *e, int got);
/* Is got (a byte count, or -errno) what a pread or pwrite of len may return? */
bool scn_count_ok(const struct scn_expect *e, uint64_t len, int64_t got);
/* The machine statement's options (op may be NULL: none) onto cfg. */
void scn_machine_config(const struct scn_op *op, struct mml_config *cfg);
/* tag, expect tag: the next 16-byte granule after the one holding a. */
static inline uint64_t scn_next_granule(uint64_t a)
{
	return (a & ~15ULL) + 16;
}

/* cmd_swap.c: a fresh swap file name in $TMPDIR or /tmp for "swapon ... file"; 0 or -errno */
int scn_swap_file_new(char *buf, size_t n);

/*
 * cmd_thp.c: /proc/kpageflags of n frames from pfn (mml_kpageflags); and
 * khugepaged in passes of `pages` ptes until two full scans have passed,
 * as Linux's selftest waits for it: the collapses made, or -errno
 * (-ETIMEDOUT: never two full scans; -ENOSYS: no THP core in the library).
 */
int scn_kpageflags(struct mml_machine *m, uint64_t pfn, uint64_t n, uint64_t *flags);
long scn_khugepaged_full_scans(struct mml_machine *m, uint64_t pages);
/*
 * KSM in passes of `pages` pages until two full scans have passed, or at
 * once with nothing registered (cmd_ksm.c): 0, -errno, -ETIMEDOUT.
 */
long scn_ksm_full_scans(struct mml_machine *m, uint64_t pages);

/* smaps.c: /proc/PID/maps and smaps text, mmlab's or the host's */
/* "start-end ..." at the head of a maps or smaps VMA line */
bool scn_vma_line(const char *line, uint64_t *start, uint64_t *end);
/* a kB field of a VMA in smaps, as Linux spells it: Rss, LazyFree, ... */
bool scn_smaps_field_known(const char *s, size_t n);
/* " kB" for a size field of smaps, "" for THPeligible (a bare number) */
const char *scn_smaps_unit(const char *field);
/*
 * The field of the VMA that holds addr, in kB; that VMA's range in
 * *start, *end (either may be NULL).  0, -ENOENT (no VMA holds addr) or
 * -ENODATA (that VMA shows no such field).
 */
int scn_smaps_field(const char *text, uint64_t addr, const char *field,
		    int64_t *kb, uint64_t *start, uint64_t *end);
/*
 * VmFlags, as a field: scn_smaps_field(text, addr, "VmFlags", ...) gives
 * the VMA's two-letter flags as a mask, bit scn_vm_flag(name) each.
 */
#define SCN_VMFLAGS	"VmFlags"
int scn_vm_flag(const char *s, size_t n);	/* the bit of "rd", "ac" ..., or -1 */
const char *scn_vm_flag_name(int bit);
/* v CMP value, or (==) v is one of the alternatives: expect smaps */
bool scn_value_holds(const struct scn_op *op, int64_t v);
/* "== 0|8", for messages */
void scn_values_str(const struct scn_op *op, char *buf, size_t n);

/* run.c */
/* Whether len bytes equal op->pat repeated, or one of op->alt[]. */
bool scn_pattern_matches(const struct scn_op *op, const unsigned char *buf,
			 uint64_t len);
int scn_exec(const struct scn_script *s, const struct scn_opts *o);
int scn_run_string(const char *name, const char *text, size_t len,
		   const struct scn_opts *o);
int scn_run_file(const char *path, const struct scn_opts *o);
/* A scenario file's text, refused at the first NUL byte, too long a line or too large a file. */
#define SCN_MAX_LINE	65536
#define SCN_MAX_FILE	(16UL << 20)
char *scn_read_file(const char *path, size_t *len, FILE *err);

/* demo.c */
int scn_run_demo(const struct scn_opts *o);
/* The i-th demo's text and name (NULL past the last): scn_run_demo runs them all. */
const char *scn_demo_text(unsigned i, const char **name);

#endif /* MMLAB_SCENARIO_H */
