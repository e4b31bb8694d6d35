/*
 * commands.c - every statement of the scenario language, found by its
 * keyword (the parser) or by its kind (the interpreter, the conformance
 * walk, the printer).
 *
 * The statements live in families, one cmd_*.c each; this list puts the
 * families in order, and that order is the one in which messages list
 * statements ("only 'mmap', 'frame', 'pin', 'get' and 'swapon' give a
 * value to a name", the expectations after "expect").  A new statement
 * goes into its family's table; a new family, here too.
 */
#include <string.h>

#include "scenario/command.h"

static const struct scn_cmd *const families[] = {
	scn_mem_cmds,		/* mmap munmap mprotect madvise write read */
	scn_frame_cmds,		/* frame, expect pagemap, frames, addr */
	scn_proc_cmds,		/* mark, expect counters, vma-count, smaps; show, echo */
	scn_pin_cmds,		/* pin get unpin dma-read dma-write, expect pin-frame */
	scn_swap_cmds,		/* swapon swapoff reclaim, expect reclaimed */
	scn_task_cmds,		/* machine check spawn thread fork exit, expect killed/alive */
	scn_tag_cmds,		/* tag, expect tag, fail */
	scn_device_cmds,	/* device attach detach read write snapshot exclusive, expect device */
	scn_file_cmds,		/* open memfd dup close unlink ftruncate ... pread pwrite, expect mincore ... */
	scn_sys_cmds,		/* sys split_huge_pages, expect sys kpageflags */
	scn_thp_cmds,		/* khugepaged scan, expect thp */
	scn_ksm_cmds,		/* ksm scan, prctl, expect ksm_stat */
	scn_numa_cmds,		/* set_mempolicy mbind move_pages migrate_pages, expect node */
	scn_lock_cmds,		/* mlock mlock2 munlock mlockall munlockall setrlimit */
	scn_uffd_cmds,		/* uffd new register unregister writeprotect copy zeropage continue serve join close, expect uffd */
	scn_threads_cmds,	/* threads end yield */
	NULL
};

/*
 * A family's table ends with an entry without a name; past it, the next
 * family's first.
 */
const struct scn_cmd *scn_cmd_next(const struct scn_cmd *c)
{
	int k;

	if (!c)
		return families[0];
	if ((++c)->name)
		return c;
	for (k = 0; families[k]; k++) {
		const struct scn_cmd *end = families[k];

		while (end->name)
			end++;
		if (end == c)
			return families[k + 1];
	}
	return NULL;
}

const struct scn_cmd *scn_cmd_of(enum scn_op_kind kind)
{
	const struct scn_cmd *c;

	for (c = scn_cmd_next(NULL); c; c = scn_cmd_next(c))
		if (c->kind == kind)
			return c;
	return NULL;
}

const struct scn_cmd *scn_cmd_find(const struct scn_tok *kw)
{
	const struct scn_cmd *c;

	for (c = scn_cmd_next(NULL); c; c = scn_cmd_next(c))
		if (!strchr(c->name, ' ') && scn_tok_is(kw, c->name))
			return c;
	return NULL;
}

const struct scn_cmd *scn_cmd_find_prefixed(const char *prefix, const struct scn_tok *word)
{
	size_t n = strlen(prefix);
	const struct scn_cmd *c;

	for (c = scn_cmd_next(NULL); c; c = scn_cmd_next(c))
		if (!strncmp(c->name, prefix, n) && c->name[n] == ' ' && scn_tok_is(word, c->name + n + 1))
			return c;
	return NULL;
}

const char *scn_cmd_name(const struct scn_op *op)
{
	const struct scn_cmd *c = scn_cmd_of(op->kind);

	/* pin and get are one statement, told apart by what they take */
	if (op->kind == SCN_OP_PIN && op->arg)
		return "get";
	return c ? c->name : "?";
}
