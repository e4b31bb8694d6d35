/*
 * fuzz.h - the differential fuzzer: seeded random operation sequences over
 * several processes and threads, every observation compared with the
 * reference model (model.h), the invariant checker run often; a divergence
 * is shrunk (delta debugging) to a minimal scenario file for `mmlab run`.
 */
#ifndef MML_ORACLE_FUZZ_H
#define MML_ORACLE_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct fuzz_opts {
	uint64_t seed;		/* same seed and version, same run */
	long ops;		/* operations to run (0: default 10000) */
	double time_s;		/* stop after this many seconds (0: no limit) */
	double shrink_s;	/* shrink a divergence for at most this long (0: SHRINK_SECONDS) */
	int procs;		/* most live processes at once (0: default 4) */
	uint64_t ram;		/* simulated RAM in bytes (0: default 16 MiB) */
	uint64_t swap;		/* a memory-backed swap device of this size (0: none) */
	bool oom;		/* now and then a large populated mapping: the OOM killer runs */
	bool kswapd;		/* run kswapd (MML_KSWAPD): no longer deterministic */
	bool devices;		/* attach devices with their own MMU and access through them */
	bool files;		/* files, descriptors and shared memory too; the disk checked at the end */
	bool thp;
	bool dax;		/* --dax: a pmem device, /pmem files (with --files), FICLONE, PMD-sized DAX mappings */
	bool mremap;		/* mremap with every flag, after every other roll (old seeds run as before) */
	int nodes;		/* > 1: a NUMA machine, and move_pages, mbind, migrate_pages after mremap's rolls */
	bool guard;		/* MADV_GUARD_INSTALL / MADV_GUARD_REMOVE, after NUMA's rolls */
	bool mlock;		/* mlock and its family, and RLIMIT_MEMLOCK, after guard regions' rolls */
	bool commit;		/* overcommit policies and limits, the commit judged, after the locks' rolls */
	bool refs;		/* clear_refs, process_madvise and the soft-dirty check, after the locks' rolls */
	bool ksm;		/* MADV_MERGEABLE, KSM scans, prctl, the knobs and ksm_stat, after refs' rolls */
	bool uffd;		/* userfaultfd registrations, fills and write-protection, after refs' rolls */
	const char *bug;	/* a bug-zoo entry to switch on, or NULL */
	unsigned fail_rate_ppm;	/* fault injection at every boundary, per million, or */
	long fail_at;		/* > 0: the fail_at-th allocation fails, ... */
	long fail_repeat;	/* ... and this many after it (-1: all later ones) */
	int check_every;	/* the full invariant check every N ops (0: FUZZ_CHECK_EVERY; 1: every op) */
	bool progress;		/* a progress line on stderr, if it is a terminal (lib/progress.h) */
	bool quiet;		/* no summary line */
	const char *scenario_out; /* also write the shrunk scenario here */
	FILE *out;		/* summary, divergence and the shrunk scenario (default stdout) */
	struct vmstat_trace *vmstat; /* a sample after every operation of the main run, or NULL */
	/*
	 * --json: the run's document (docs/schema/fuzz.json) on out instead
	 * of the text, which each seed's "output" holds; json_args, the
	 * options that rerun a seed besides --seed (the document's "options").
	 */
	bool json;
	const char *json_args;
};

/*
 * The full check's default cadence.  After every operation the
 * incremental check looks at what it touched; the full check (370,000
 * instructions on seed 7's machine, some sixteen operations' worth) adds
 * the totals.  Every 64 it took a fifth of a run, every 256 a twentieth,
 * and no zoo entry was caught later than 256 operations (docs/testing.md,
 * "Speed of the fuzzer").
 */
#define FUZZ_CHECK_EVERY	256

/* 0: no divergence; 1: divergence found (reported and shrunk); 2: bad options. */
int fuzz_run(const struct fuzz_opts *o);

/*
 * Seeds first to last (o->seed ignored), each run as fuzz_run's with the
 * same options, its summary line and any divergence printed as fuzz_run
 * does; then one line: "N seeds, T operations, D diverged[: S...]".
 * 0: none diverged; 1: some did; 2: bad options.
 */
int fuzz_run_seeds(const struct fuzz_opts *o, uint64_t first, uint64_t last);

/*
 * The operation interpreter for coverage-guided fuzzers: bytes decoded into
 * an operation sequence and run against the model.  Returns 0, or 1 on a
 * divergence (printed to stderr).
 */
int fuzz_run_bytes(const uint8_t *data, size_t size);

#endif /* MML_ORACLE_FUZZ_H */
