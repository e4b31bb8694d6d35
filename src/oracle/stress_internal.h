/*
 * stress_internal.h - what a file of `mmlab stress` stories (stress_*.c)
 * shares with the driver (stress.c).
 *
 * A story is a function that, on a fresh deterministic machine, sets its
 * processes up (unscheduled), runs a handful of thread functions under
 * stress_sched_run, checks its own outcome (bytes, pins, counts) and
 * undoes what the machine's teardown does not (mmu notifiers, uffds).  The
 * driver then checks the machine's reports and invariants and frees it.
 * A file of stories lists them in an array the driver's table names.
 */
#ifndef MML_ORACLE_STRESS_INTERNAL_H
#define MML_ORACLE_STRESS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmlab.h"

#define STRESS_PG	4096ULL
#define STRESS_HP	(2ULL << 20)

struct stress_ctx {
	struct mml_machine *m;
	uint64_t seed;		/* a story may derive its own knobs from it (delays, which page) */
	bool parked;		/* a run deadlocked: its threads are parked for good, the machine is left */
	char *why;		/* the verdict of a failed story */
	size_t whylen;
};

struct stress_story {
	const char *name;
	const char *what;
	uint64_t ram_bytes;	/* the machine's; 0: 16 MiB */
	/* 0 passed; 1 failed (stress_fail said why); -errno: the set-up failed */
	int (*run)(struct stress_ctx *c);
	unsigned nr_nodes;	/* the machine's NUMA nodes; 0: one */
	uint64_t pmem_bytes;	/* the machine's pmem device, a DAX file system at /pmem/; 0: none */
};

/*
 * What a story's threads saw go wrong first: a thread function cannot fail
 * the story from inside the run, it notes why (the first note stays) and
 * the story fails with it afterwards.  Empty while all is well.
 */
struct stress_verdict {
	char why[200];
};
void stress_note(struct stress_verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The byte t reads at addr is want; else the story fails (1), saying who read what. */
int stress_expect_byte(struct stress_ctx *c, struct mml_task *t, const char *who, uint64_t addr, uint8_t want);

/* t still maps the frame pin holds at addr (a maybe-pinned page is neither reclaimed nor migrated away). */
bool stress_pin_still_mapped(struct mml_task *t, uint64_t addr, const struct mml_pin *pin);

/* Say why the story failed; returns 1, the story's result. */
int stress_fail(struct stress_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* mml_sched_run; an error fails the story (1), a deadlock parks the machine for good. */
int stress_sched_run(struct stress_ctx *c, unsigned n, struct mml_task **tasks, mml_thread_fn *fns, void **args);

extern const struct stress_story stress_retract_stories[];
extern const unsigned stress_retract_nstories;
extern const struct stress_story stress_swap_stories[];
extern const unsigned stress_swap_nstories;
extern const struct stress_story stress_device_stories[];
extern const unsigned stress_device_nstories;
extern const struct stress_story stress_anon_stories[];
extern const unsigned stress_anon_nstories;
extern const struct stress_story stress_dax_stories[];
extern const unsigned stress_dax_nstories;
extern const struct stress_story stress_vma_stories[];
extern const unsigned stress_vma_nstories;

#endif /* MML_ORACLE_STRESS_INTERNAL_H */
