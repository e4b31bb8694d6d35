/*
 * command.h - the statements of the scenario language: one descriptor
 * each, and what their functions may use of the parser, the interpreter
 * and the printer (the conformance walk's share is in native/observe.h).
 *
 * A statement is an entry in the table of its family and four functions,
 * kept together in the family's cmd_*.c (commands.c lists the families):
 *
 *	parse	its text to a struct scn_op, names defined and used
 *		included; bad input is file:line:col (scn_perr)
 *	run	the op on a simulated machine, as `mmlab run` does
 *	observe	the op against a conformance back end, mmlab's or the
 *		host kernel's, as one observation (`mmlab conform`)
 *	print	the op back to its text: the fuzzer's reproducers
 *
 * The parser, the interpreter, the conformance walk and the printer find
 * a statement here and nowhere else.  docs/scenario.md, "Adding a
 * statement", lists what else a new one needs.
 */
#ifndef MMLAB_SCENARIO_COMMAND_H
#define MMLAB_SCENARIO_COMMAND_H

#include "mmlab.h"
#include "scenario/lexer.h"
#include "scenario/scenario.h"

struct scn_parser;
struct scn_runner;
struct cf_walk;

struct scn_cmd {
	const char *name;	/* the keyword; "expect X" for an expectation, "device X" */
	const char *args;	/* what follows it, as docs/scenario.md's grammar has it */
	enum scn_op_kind kind;	/* several keywords may share one (pin, get) */
	unsigned flags;		/* SCN_CMD_* */
	int (*parse)(struct scn_parser *p, struct scn_op *op);
	int (*run)(struct scn_runner *r, const struct scn_op *op);
	void (*observe)(struct cf_walk *w);	/* NULL: not an observation */
	void (*print)(const struct scn_printer *pr, const struct scn_op *op);
};

/* "NAME = keyword ...": the statement may give a value to a name */
#define SCN_CMD_NAMES		0x01u
/* ... and must ("f = frame A p"): the keyword alone is no command */
#define SCN_CMD_NAMED		0x02u
/* "machine": only first, and not a statement that makes it too late */
#define SCN_CMD_FIRST		0x04u
/* sees and changes nothing a process could observe: always walked */
#define SCN_CMD_SILENT		0x08u
/* gives back what a back end holds for a pin: walked after a skip too */
#define SCN_CMD_RELEASE		0x10u

/* Each family's statements, ended by an entry without a name. */
extern const struct scn_cmd scn_mem_cmds[], scn_frame_cmds[], scn_proc_cmds[],
	scn_pin_cmds[], scn_swap_cmds[], scn_task_cmds[], scn_tag_cmds[], scn_device_cmds[],
	scn_file_cmds[], scn_sys_cmds[], scn_thp_cmds[], scn_numa_cmds[], scn_lock_cmds[], scn_ksm_cmds[],
	scn_uffd_cmds[], scn_threads_cmds[];

/* commands.c */
/* Every statement, in order: for (c = scn_cmd_next(NULL); c; c = scn_cmd_next(c)) */
const struct scn_cmd *scn_cmd_next(const struct scn_cmd *c);
/* The descriptor of a kind (the first of those sharing it), or NULL. */
const struct scn_cmd *scn_cmd_of(enum scn_op_kind kind);
/* The statement a keyword starts ("expect" itself is none), or NULL. */
const struct scn_cmd *scn_cmd_find(const struct scn_tok *kw);
/* The statement "PREFIX WORD" names ("expect vmstat", "device read"), or NULL. */
const struct scn_cmd *scn_cmd_find_prefixed(const char *prefix, const struct scn_tok *word);
/* "mmap", "get", "expect tag": a statement in messages */
const char *scn_cmd_name(const struct scn_op *op);

/* ---- parse.c: for the parse functions ---- */

/* read/write lengths are buffered in host memory; keep them sane */
#define SCN_MAX_IO	(256ULL << 20)
/* page counts (pin, get, device snapshot and exclusive) cost host memory too */
#define SCN_MAX_PAGES	(SCN_MAX_IO / 4096)

struct scn_parser {
	const char *file;
	unsigned line;
	FILE *err;
	struct scn_lexer lx;
	int i;			/* next token */
	struct scn_script *s;
	const struct scn_tok *kw;	/* the keyword ("vmstat" after "expect") */
	const struct scn_tok *name;	/* NAME of "NAME = keyword ...", or NULL */
	bool seen_stmt;		/* "machine" must come first */
	bool seen_mark;
	bool seen_reclaim;	/* "expect reclaimed" needs a reclaim before it */
	int block;		/* the open threads block's op index, or -1 */
	unsigned block_col;	/* where its "threads" is */
	int nthreads;		/* the threads its statements named so far */
	int thread;		/* the statement's thread ("A: ..."), or -1 */
	unsigned thread_col;	/* where its label is */
};

/* Print at most 40 bytes of a token in messages: lines may be huge. */
#define TOKF "'%.*s%s'"
#define TOKA(t) (int)((t)->n > 40 ? 40 : (t)->n), (t)->s, (t)->n > 40 ? "..." : ""

/* "file:line:col: message"; returns -1 */
int scn_perr(struct scn_parser *p, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
struct scn_tok *scn_peek(struct scn_parser *p);
bool scn_tok_is(const struct scn_tok *t, const char *w);
/* The next token, or NULL after "missing WHAT" */
struct scn_tok *scn_need(struct scn_parser *p, const char *what);
struct scn_tok *scn_need_word(struct scn_parser *p, const char *what);
/* 0 at the end of the line, else "unexpected ..." */
int scn_end_of_line(struct scn_parser *p);
/* decimal or 0x hex, k/M/G/T with suffix: NULL, or what is wrong */
const char *scn_num_parse(const char *s, size_t n, bool suffix, uint64_t *out);
int scn_parse_u64(struct scn_parser *p, const struct scn_tok *t, bool suffix, uint64_t *out);
int scn_parse_len(struct scn_parser *p, const char *what, uint64_t *out);
int scn_parse_s64(struct scn_parser *p, const struct scn_tok *t, int64_t *out);
/* an optional '-' and a size (4k): file offsets */
int scn_parse_off(struct scn_parser *p, int64_t *out);
/* a defined name of this kind; or a new definition of one */
int scn_sym_use(struct scn_parser *p, const struct scn_tok *t, size_t n,
		enum scn_sym_kind kind, int *slot);
int scn_sym_def(struct scn_parser *p, const struct scn_tok *t,
		enum scn_sym_kind kind, int *slot);
int scn_parse_task(struct scn_parser *p, int *slot);
int scn_parse_addr(struct scn_parser *p, struct scn_addr *a);
/* FD: a descriptor's name into op->fdsym, or a number into op->fd */
int scn_parse_fd(struct scn_parser *p, struct scn_op *op);
int scn_parse_pattern(struct scn_parser *p, struct scn_pattern *pat);
/* after "expect": PATTERN { "|" PATTERN } into op->pat and op->alt[] */
int scn_parse_patterns(struct scn_parser *p, struct scn_op *op);
int scn_check_io_len(struct scn_parser *p, const struct scn_tok *t, uint64_t len);
/* NPAGES: a number without suffix, at most SCN_MAX_PAGES */
int scn_parse_npages(struct scn_parser *p, uint64_t *out);
/* after a load's or store's place: LEN [expect PATTERNS] | LEN PATTERN | STRING, and the result */
int scn_parse_access(struct scn_parser *p, struct scn_op *op, bool store);
/* [ "=>" outcome{|outcome} | "=>" any ], then the end of the line */
int scn_parse_result(struct scn_parser *p, struct scn_op *op, bool allowed);
int scn_parse_result_defining(struct scn_parser *p, struct scn_op *op);
int scn_parse_cmp(struct scn_parser *p, enum scn_cmp *c);
/*
 * A word of flags: names (lookup's) or numbers, joined by ',' or '|'
 * (need: what is missing; what: the call, in errors; hint: after an
 * unknown name).
 */
int scn_parse_flag_word(struct scn_parser *p, const char *need, const char *what, const char *hint,
			int (*lookup)(const char *s, size_t n, long *out), long *out);
/* CMP VALUE and the end of the line, into op->cmp and op->value */
int scn_parse_comparison(struct scn_parser *p, struct scn_op *op);

/*
 * cmd_threads.c: what the parser asks of threads blocks.  scn_thread_label
 * takes a statement's "A:" off the line (a label outside a block, or none
 * inside one, is bad input) into p->thread; scn_block_claim records that
 * the statement uses (or, def, changes) a name, refusing one that another
 * thread of the block changes, and a task that another thread runs;
 * scn_block_changed claims whatever the statement changed (old_kinds: the
 * names' kinds before it, of old_nsyms names); scn_block_unclosed reports
 * a block the file does not end.  0, or -1 after scn_perr.
 */
int scn_thread_label(struct scn_parser *p);
int scn_block_claim(struct scn_parser *p, int sym, unsigned col, bool def);
int scn_block_changed(struct scn_parser *p, const enum scn_sym_kind *old_kinds, int old_nsyms);
int scn_block_unclosed(struct scn_parser *p);

/* ---- run.c: for the run functions ---- */

struct scn_val {
	struct mml_task *task;	/* SCN_SYM_TASK */
	uint64_t v;		/* SCN_SYM_ADDR: address; SCN_SYM_FRAME: pfn */
	struct mml_pin *pin;	/* SCN_SYM_PIN, while held */
	int swap;		/* SCN_SYM_SWAP: the device id; -1 once swapped off */
	struct mml_device *dev;	/* SCN_SYM_DEVICE, while attached */
	struct mml_uffd *uffd;	/* SCN_SYM_UFFD, until closed */
	struct scn_uffd_server *srv;	/* its server thread and the messages it read (cmd_uffd.c) */
};

/* cmd_uffd.c: the end of a run joins the servers still running and frees what they read. */
void scn_uffd_release(struct scn_runner *r);
/*
 * Around every statement once a userfaultfd exists: a statement that
 * waits for a monitor nobody started is served by a watchdog after a
 * while, and then fails (SCN_FAIL from the call with begin false).
 */
int scn_uffd_step(struct scn_runner *r, bool begin);
/* A server of u outside a run (the conformance walk's mmlab side): started, joined, its messages. */
struct scn_uffd_server *scn_uffd_serve(struct mml_uffd *u, int n, const unsigned char *page);
int  scn_uffd_join(struct scn_uffd_server *s, bool stop);	/* the messages answered */
bool scn_uffd_next_msg(struct scn_uffd_server *s, struct uffd_msg *msg);
void scn_uffd_server_free(struct scn_uffd_server *s);

/*
 * The interpreter's state.  A thread of a threads block runs its
 * statements on a copy of its file's runner, with an op of its own;
 * what statements change beyond their names' values (the live tasks,
 * the reclaim count, the userfaultfd watchdog) they change in main, the
 * file's runner, which is the runner itself outside a block.  Only one
 * thread of a block runs at a time, and none is switched between a look
 * at main and the change.
 */
struct scn_runner {
	struct scn_runner *main;
	const struct scn_script *s;
	FILE *out, *err;
	bool verbose;
	bool no_check;
	const struct scn_opts *o;	/* bugs, fault injection, limits */
	const struct scn_limits *limits;	/* never NULL: zeros if none */
	struct mml_machine *m;
	struct scn_val *vals;		/* one per symbol */
	long *marks;			/* one per statref, read at "mark" */
	struct mml_task **live;		/* in creation order */
	int nlive;
	const struct scn_op *op;	/* the statement running */
	long reclaimed;			/* what the latest reclaim returned */
	struct scn_uffd_watch *uffd_watch;	/* cmd_uffd.c: made by the first "uffd new" */
	uint64_t seed;			/* the machine's, which seeds the scheduler */
	bool quiet;			/* the machine's MML_QUIET: the scheduler prints no report */
	int blocks;			/* threads blocks run so far */
	/* a threads block deadlocked: its threads wait for good, the machine is left as it is */
	bool parked;
};

/* cmd_show.c: the picture views of "show"; scn_st_picture returns 1 when t names none */
bool scn_show_is_picture(long what);
int scn_st_picture(struct scn_parser *p, struct scn_op *op, const struct scn_tok *t);
int scn_run_picture(struct scn_runner *r, const struct scn_op *op);
void scn_pr_picture(const struct scn_printer *pr, const struct scn_op *op);

/* cmd_threads.c: "show sched", the scheduler's seed and trace hash so far */
int scn_show_sched(struct scn_runner *r);
/* cmd_threads.c: after a threads block, its seed, strategy and trace hash, and the command that replays it */
void scn_threads_replay(struct scn_runner *r, const struct scn_op *op, const char *why);
/* cmd_uffd.c: the userfaultfd whose "uffd serve" server still runs, or -1 */
int scn_uffd_serving(struct scn_runner *r);

/* "file:line: message": a failed expectation, SCN_FAIL */
int scn_fail(struct scn_runner *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "file:line:col: message": bad input found only now, SCN_BAD */
int scn_bad(struct scn_runner *r, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* ret: >= 0 success, -errno failure, against the statement's "=>" */
int scn_check_result(struct scn_runner *r, long ret);
/* A length that costs host memory or time in proportion, within max (0: any)? */
int scn_within(struct scn_runner *r, const char *what, uint64_t len, uint64_t max);
uint64_t scn_addr_of(struct scn_runner *r, const struct scn_addr *a);
/* the descriptor number an op names (op->fdsym or op->fd) */
int scn_fd_of(struct scn_runner *r, const struct scn_op *op);
struct mml_task *scn_task_of(struct scn_runner *r, int sym);
/* "A p+0x1000 (0x7f0000001000)": how failures name a place */
const char *scn_where(struct scn_runner *r, int task, const struct scn_addr *a,
		      uint64_t extra, char *buf, size_t n);
void scn_live_add(struct scn_runner *r, struct mml_task *t);
void scn_live_del(struct scn_runner *r, struct mml_task *t);
/*
 * The host buffer of a load or store of op->len bytes, within the run's
 * limit, filled with op->pat for a store; NULL and *status after the
 * message if there is none.
 */
unsigned char *scn_io_buffer(struct scn_runner *r, const struct scn_op *op, bool store, int *status);
/* len bytes of pat (a store's bytes), for those that build them without a runner */
void scn_fill_pattern(unsigned char *buf, uint64_t len, const struct scn_pattern *pat);
/* Where byte off of a load is, for people: byte says a single byte is meant. */
typedef const char *scn_place_fn(struct scn_runner *r, const struct scn_op *op, uint64_t off,
				 bool byte, char *buf, size_t n);
/*
 * A load that returned ret into buf, against the statement's "=>" and
 * patterns: SCN_PASS, or a failed expectation that names the first byte
 * that differs, at the place place() writes.
 */
int scn_check_load(struct scn_runner *r, const struct scn_op *op, int ret,
		   const unsigned char *buf, scn_place_fn *place);
/* The patterns alone, over the first len bytes (pread: what it returned). */
int scn_check_bytes(struct scn_runner *r, const struct scn_op *op, const unsigned char *buf,
		    uint64_t len, scn_place_fn *place);
/* the pagemap entry of a place, or a failed expectation */
int scn_pagemap_at(struct scn_runner *r, int task, const struct scn_addr *a,
		   uint64_t extra, uint64_t *e);
/* the frame mapped at a place; a frame expectation needs a present page */
int scn_frame_at(struct scn_runner *r, int task, const struct scn_addr *a, uint64_t *pfn);
void scn_pm_describe(uint64_t e, char *buf, size_t n);
/* pages a pagemap length covers: one for 0 */
uint64_t scn_pages_in(uint64_t len);
/* the maps (or, for smaps statements, smaps) of op->task, malloc'd */
char *scn_capture(struct scn_runner *r, const struct scn_op *op, int *ret);
long scn_stat_read(struct scn_runner *r, enum scn_stat_src src, const char *name);

/* ---- print.c: for the print functions ---- */

/* " NAME" of a symbol */
void scn_print_sym(const struct scn_printer *pr, int sym);
/* " f" or " 99": the descriptor an op names */
void scn_print_fd(const struct scn_printer *pr, const struct scn_op *op);
/* " \"/tmp/a\"": a string, printable bytes as they are, others escaped */
void scn_print_string(const struct scn_printer *pr, const char *s, size_t n);
/* " p+4096", " 0x10000000" */
void scn_print_addr(const struct scn_printer *pr, const struct scn_addr *a);
/* " 0x11", " zero" or " \"\x61\x62\"" */
void scn_print_pattern(const struct scn_printer *pr, const struct scn_pattern *pat);
/* " expect PATTERN | PATTERN |zero" when the op has patterns */
void scn_print_patterns(const struct scn_printer *pr, const struct scn_op *op);

#endif /* MMLAB_SCENARIO_COMMAND_H */
