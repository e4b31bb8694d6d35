/*
 * bugs.h - the bug zoo: named defects compiled into the library, off unless
 * switched on at run time for one machine.  Each echoes a real Linux bug or
 * a rejected design, and must be caught by at least one oracle.
 */
#ifndef MML_ORACLE_BUGS_H
#define MML_ORACLE_BUGS_H

#include <stdbool.h>

#include "mm/hooks.h"	/* enum mml_bug, bug_enabled() */

struct mml_bug_info {
	const char *name;
	const char *breaks;	/* what goes wrong */
	const char *history;	/* the Linux history it echoes */
	/*
	 * The fuzzer options that expose it, besides --seed and --ops (NULL:
	 * none; tests/zoo.sh tries each seed on the default machine and in
	 * 2M of RAM with 1M of swap, these added to both).
	 */
	const char *expose;
};

extern const struct mml_bug_info mml_bug_table[NR_MML_BUGS];

#endif /* MML_ORACLE_BUGS_H */
