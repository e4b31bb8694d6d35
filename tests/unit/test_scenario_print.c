/*
 * test_scenario_print.c - the statement table of the scenario language
 * (scenario/command.h) and the printer that turns an op back into text,
 * the fuzzer's reproducers.
 *
 * Every statement is printed from what the parser made of it, the text
 * parsed again and printed again: the two prints must be the same, and
 * the first the canonical form written here.  Every scenario file of
 * tests/ must parse back from its print to the same ops.  The table must be whole
 * (every entry parses, runs, prints; every kind has an entry) and every
 * keyword must be in docs/scenario.md's grammar with its arguments, so
 * that a statement is not added without its documentation.
 */
#define _GNU_SOURCE	/* open_memstream, memmem */
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../harness.h"
#include "scenario/command.h"

/* A statement, and how it prints; NULL: as written. */
struct print_case {
	const char *in, *out;
};

static const struct print_case lines[] = {
	{ "machine ram=8M cpus=2 seed=3 no-check quiet kswapd",
	  "machine ram=8388608 cpus=2 seed=3 no-check quiet kswapd" },
	{ "machine ram=8M pmem=4M seed=1", "machine ram=8388608 pmem=4194304 seed=1" },
	{ "spawn A", NULL },
	{ "thread A -> A2", NULL },
	{ "fork A -> B", NULL },
	{ "p = mmap A 0 8k rw,mte MAP_PRIVATE|anon", "p = mmap A 0 8192 rw,mte private,anonymous" },
	{ "q = mmap A 0x10000000 4096 r-x private,anonymous,fixed 5 4096",
	  "q = mmap A 0x10000000 4096 rx private,anonymous,fixed 5 4096" },
	{ "mmap A p+4k 4k none private,anonymous,0x40000000 => EINVAL|ENOMEM",
	  "mmap A p+4096 4096 none private,anonymous,0x40000000 => EINVAL|ENOMEM" },
	{ "munmap A p-4k 4k", "munmap A p-4096 4096" },
	{ "mremap A p 4k 8k", "mremap A p 4096 8192" },
	{ "mremap A p 4k 8k 0 0 => ENOMEM", "mremap A p 4096 8192 => ENOMEM" },
	{ "q = mremap A p 8k 8k MREMAP_MAYMOVE|fixed p+1M",
	  "q = mremap A p 8192 8192 maymove,fixed p+1048576" },
	{ "q = mremap A p 8k 8k maymove,dontunmap", "q = mremap A p 8192 8192 maymove,dontunmap" },
	{ "mlock A p 4k", "mlock A p 4096" },
	{ "expect vma A p 4k rd !lo", "expect vma A p 4096 rd !lo" },
	{ "expect vma A p+8k lo lf !wr", "expect vma A p+8192 !wr lo lf" },
	{ "mlock2 A p+4k 8k MLOCK_ONFAULT => EINVAL", "mlock2 A p+4096 8192 onfault => EINVAL" },
	{ "mlock2 A p 4k 2", "mlock2 A p 4096 0x2" },
	{ "munlock A p 1", "munlock A p 1" },
	{ "mlockall A MCL_CURRENT|future,onfault", "mlockall A current,future,onfault" },
	{ "mlockall A 0 => EINVAL", "mlockall A 0 => EINVAL" },
	{ "munlockall A", "munlockall A" },
	{ "setrlimit A memlock 64k", "setrlimit A memlock 65536" },
	{ "setrlimit A memlock unlimited", "setrlimit A memlock unlimited" },
	{ "uffd u = new A sigbus,event-fork", "uffd u = new A event-fork,sigbus" },
	{ "uffd w = new A 0", "uffd w = new A 0" },
	{ "uffd register u p 8k missing,wp", "uffd register u p 8192 missing,wp" },
	{ "uffd unregister u p 4k => EINVAL", "uffd unregister u p 4096 => EINVAL" },
	{ "uffd writeprotect u p 4k 1", "uffd writeprotect u p 4096 1" },
	{ "uffd copy u p 4k 0x5a wp", "uffd copy u p 4096 0x5a wp" },
	{ "uffd copy u p 4k 0x5a => EEXIST", "uffd copy u p 4096 0x5a => EEXIST" },
	{ "uffd zeropage u p 4k dontwake", "uffd zeropage u p 4096 dontwake" },
	{ "uffd continue u p 4k", "uffd continue u p 4096" },
	{ "uffd serve u 2 0x33", "uffd serve u 2 0x33" },
	{ "uffd join u", "uffd join u" },
	{ "expect uffd u pagefault p+4k write wp", "expect uffd u pagefault p+4096 write wp" },
	{ "expect uffd u fork -> v", "expect uffd u fork -> v" },
	{ "expect uffd u unmap p 8k", "expect uffd u unmap p 8192" },
	{ "expect uffd u none", "expect uffd u none" },
	{ "uffd close u", "uffd close u" },
	{ "mremap A p 4k 8k 0x10 => EINVAL", "mremap A p 4096 8192 0x10 => EINVAL" },
	{ "mprotect A p 8k 7 => any", "mprotect A p 8192 rwx => any" },
	{ "madvise A p 8k MADV_FREE", "madvise A p 8192 free" },
	{ "madvise A p 8k 999 => EINVAL", "madvise A p 8192 999 => EINVAL" },
	{ "process_madvise A B p 4k cold", "process_madvise A B p 4096 cold" },
	{ "process_madvise A B p 4k and p+8k 0 and p+4k 1 MADV_PAGEOUT => 4096",
	  "process_madvise A B p 4096 and p+8192 0 and p+4096 1 pageout => 4096" },
	{ "process_madvise A A p 4k dontneed flags 1 => EINVAL", "process_madvise A A p 4096 dontneed flags 1 => EINVAL" },
	{ "write A p \"hi\"", "write A p 2 \"\\x68\\x69\"" },
	{ "write A p 4k 0x11", "write A p 4096 0x11" },
	{ "read A p 4k expect 0x11|zero", "read A p 4096 expect 0x11 |zero" },
	{ "read A p 2 expect \"hi\" | 7 => ok|EFAULT",
	  "read A p 2 expect \"\\x68\\x69\" | 0x07 => ok|EFAULT" },
	{ "read B p 1", NULL },
	{ "f = frame A p", NULL },
	{ "expect pagemap A p 8k !exclusive present swap", "expect pagemap A p 8192 present swapped !exclusive" },
	{ "expect same-frame A p B p", NULL },
	{ "expect different-frame A p B p+4096", NULL },
	{ "expect frame A p != f", NULL },
	{ "expect addr q >= p+8k", "expect addr q >= p+8192" },
	{ "mark", NULL },
	{ "expect vmstat pgfault >= 3", NULL },
	{ "expect meminfo-delta AnonPages == -8", NULL },
	{ "expect vma-count A p 8k < 2", "expect vma-count A p 8192 < 2" },
	{ "expect smaps A p LazyFree == 0|8", NULL },
	{ "expect smaps A p THPeligible == 1", NULL },
	{ "show maps A p", NULL },
	{ "show pagemap A p 8k", "show pagemap A p 8192" },
	{ "show vmstat pgfault pgreuse", NULL },
	{ "echo the \"child's\" #1", "echo \"the child's\"" },
	{ "echo", NULL },
	{ "check => EUCLEAN", NULL },
	{ "x = pin A p 2 write,longterm", NULL },
	{ "get A p 1 => EFAULT", "get A p 1 ro => EFAULT" },
	{ "dma-read x 0 4k expect 0x11", "dma-read x 0 4096 expect 0x11" },
	{ "dma-write x 16 \"dev\"", "dma-write x 16 3 \"\\x64\\x65\\x76\"" },
	{ "expect pin-frame x 1 == A p", NULL },
	{ "unpin x", NULL },
	{ "s = swapon 1M prio 5 file", "s = swapon 1048576 prio 5 file" },
	{ "swapon 4k => EINVAL", "swapon 4096 => EINVAL" },
	{ "reclaim 8", NULL },
	{ "expect reclaimed >= 1", NULL },
	{ "swapoff s => ENOMEM", NULL },
	{ "tag A p 4k = 5", "tag A p 4096 = 5" },
	{ "tag A p+32 = 16 => EINVAL", NULL },
	{ "expect tag A p 4k == 5|0", "expect tag A p 4096 == 5|0" },
	{ "expect tag A q => EINVAL", NULL },
	{ "fail tag", NULL },
	{ "fail frame,meta 3 repeat -1", NULL },
	{ "fail frame,pgtable,meta,swap-slot,swap-io,tag", "fail all" },
	{ "fail off", NULL },
	{ "fail at meta 2 frame 5 meta 7", NULL },
	{ "f = open A \"/tmp/a\" rdwr,creat", NULL },
	{ "open A \"/disk/x y\" O_RDONLY|O_EXCL 0644 => ENOENT",
	  "open A \"/disk/x y\" rdonly,excl 0644 => ENOENT" },
	{ "m = memfd A \"test\" allow-sealing,cloexec", "m = memfd A \"test\" cloexec,allow-sealing" },
	{ "memfd A \"\\x01\"", "memfd A \"\\x01\"" },
	{ "g = dup B f", NULL },
	{ "fm = mmap A 0 4k rw shared f 4k", "fm = mmap A 0 4096 rw shared f 4096" },
	{ "ftruncate A f 8k", "ftruncate A f 8192" },
	{ "fallocate A f punch-hole,keep-size 4k 4k", "fallocate A f keep-size,punch-hole 4096 4096" },
	{ "fallocate A m 0 -1 4k => EINVAL", "fallocate A m 0 -1 4096 => EINVAL" },
	{ "pwrite A f 0 \"hi\"", "pwrite A f 0 2 \"\\x68\\x69\"" },
	{ "pwrite A g 4k 4k 0x11 => 4096|ENOSPC", "pwrite A g 4096 4096 0x11 => ENOSPC|4096" },
	{ "pread A f 4k 8k expect 0x11|zero => 4k", "pread A f 4096 8192 expect 0x11 |zero => 4096" },
	{ "pread A 99 0 1 => EBADF", NULL },
	{ "read A fm 4k => SIGBUS", "read A fm 4096 => EIO" },
	{ "write A fm 1 2 => SIGSEGV|ok", "write A fm 1 0x02 => EFAULT|ok" },
	{ "fsync A f", NULL },
	{ "msync A fm 4k sync,invalidate", "msync A fm 4096 sync,invalidate" },
	{ "seal A m shrink,grow", NULL },
	{ "expect seals A m == shrink,grow", NULL },
	{ "expect seals A m != none", NULL },
	{ "expect seals A f => EINVAL", NULL },
	{ "expect mincore A fm 8k 1?", "expect mincore A fm 8192 1?" },
	{ "expect mincore A 0x1000 4k => ENOMEM", "expect mincore A 0x1000 4096 => ENOMEM" },
	{ "expect fstat A f size == 8k", "expect fstat A f size == 8192" },
	{ "expect fstat A g blocks >= 0", NULL },
	{ "ficlone A g f", NULL },
	{ "ficlone A 7 f => EXDEV", NULL },
	{ "expect statvfs A \"/pmem/\" bfree == 2M", "expect statvfs A \"/pmem/\" bfree == 2097152" },
	{ "expect statvfs A \"/pmem/a\" namemax >= 255", NULL },
	{ "expect statvfs A \"/nope\" => ENOENT", NULL },
	{ "drop-caches 3", NULL },
	{ "sys /sys/kernel/mm/transparent_hugepage/enabled always", NULL },
	{ "sys \"/proc/sys/vm/drop_caches\" \"3\" => EINVAL",
	  "sys /proc/sys/vm/drop_caches 3 => EINVAL" },
	{ "sys /sys/kernel/mm/transparent_hugepage/enabled \"always madvise\"", NULL },
	{ "expect sys /sys/kernel/mm/transparent_hugepage/hugepages-64kB/enabled "
	  "\"always inherit madvise [never]\"", NULL },
	{ "expect sys /sys/kernel/debug/split_huge_pages => EACCES", NULL },
	{ "expect kpageflags A p !zero_page thp compound_head",
	  "expect kpageflags A p compound_head thp !zero_page" },
	{ "split_huge_pages A p 2M", "split_huge_pages A p 2097152" },
	{ "split_huge_pages A p 4k => ESRCH", "split_huge_pages A p 4096 => ESRCH" },
	{ "close A 99 => EBADF", NULL },
	{ "close B g", NULL },
	{ "unlink A \"/tmp/a\"", NULL },
	{ "madvise A p 2M collapse", "madvise A p 2097152 collapse" },
	{ "khugepaged scan 4096", NULL },
	{ "khugepaged pass 512 => ENOMEM", NULL },
	{ "ksm scan 100", NULL },
	{ "ksm pass 1 => EINVAL", NULL },
	{ "prctl A PR_SET_MEMORY_MERGE 1", NULL },
	{ "prctl A PR_SET_MEMORY_MERGE 0 => EINVAL", NULL },
	{ "prctl A PR_GET_MEMORY_MERGE == 1", NULL },
	{ "prctl A 1234 0 => EINVAL", NULL },
	{ "expect ksm_stat A ksm_merging_pages == 3", NULL },
	{ "expect ksm_stat A ksm_merge_any != 0", NULL },
	{ "expect thp A p", "expect thp A p pmd" },
	{ "expect thp A p+2M none", "expect thp A p+2097152 none" },
	{ "expect thp A p pte", NULL },
	{ "expect killed A", NULL },
	{ "expect alive B", NULL },
	{ "exit B", NULL },
};

/* Threads blocks, on a machine the scheduler can run (no kswapd). */
static const struct print_case block_lines[] = {
	{ "machine seed=5", NULL },
	{ "spawn A", NULL },
	{ "fork A -> B", NULL },
	{ "p = mmap A 0 8k rw private,anonymous", "p = mmap A 0 8192 rw private,anonymous" },
	{ "threads pct steps=500", "threads pct depth=3 steps=500" },
	{ "A: write A p 4k 0x11", "  A: write A p 4096 0x11" },
	{ "  B: yield 10", NULL },
	{ "B: f = frame B p", "  B: f = frame B p" },
	{ "end", NULL },
	{ "threads random", NULL },
	{ "A: read A p 1", "  A: read A p 1" },
	{ "end", NULL },
	{ "threads", NULL },
	{ "B: exit B", "  B: exit B" },
	{ "end", NULL },
	{ "show sched", NULL },
};

/* Line by line, so that a failure names the statement. */
static void check_same(const char *got, const char *want, const char *what)
{
	const char *g = got, *w = want;
	int line = 1;

	while (*g && *w) {
		size_t gn = strcspn(g, "\n"), wn = strcspn(w, "\n");

		if (gn != wn || memcmp(g, w, gn)) {
			FAIL("%s, line %d: got '%.*s', want '%.*s'", what, line, (int)gn, g, (int)wn, w);
			return;
		}
		g += gn + (g[gn] != 0);
		w += wn + (w[wn] != 0);
		line++;
	}
	CHECKF(!*g && !*w, "%s: %s", what, *g ? "more lines than wanted" : "fewer lines than wanted");
}

static char *print_script(const struct scn_script *s)
{
	char *text = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&text, &n);
	struct scn_printer pr = { .f = f, .s = s };

	if (!f)
		return NULL;
	for (int i = 0; i < s->nops; i++)
		scn_print_op(&pr, &s->ops[i]);
	fclose(f);
	return text;
}

static void prints_as_it_parses(const struct print_case *v, size_t n)
{
	char *in = NULL, *want = NULL, *once, *twice;
	size_t nin = 0, nwant = 0;
	FILE *fin = open_memstream(&in, &nin), *fwant = open_memstream(&want, &nwant);
	struct scn_script *s1, *s2;
	unsigned i;

	REQUIRE(fin && fwant);
	for (i = 0; i < n; i++) {
		fprintf(fin, "%s\n", v[i].in);
		fprintf(fwant, "%s\n", v[i].out ? v[i].out : v[i].in);
	}
	fclose(fin);
	fclose(fwant);
	REQUIRE_EQ(scn_parse("in.scn", in, nin, &s1, stderr), 0);
	once = print_script(s1);
	REQUIRE(once);
	check_same(once, want, "printed");
	REQUIRE_EQ(scn_parse("printed.scn", once, strlen(once), &s2, stderr), 0);
	twice = print_script(s2);
	REQUIRE(twice);
	check_same(twice, once, "printed again");
	scn_script_free(s1);
	scn_script_free(s2);
	free(in);
	free(want);
	free(once);
	free(twice);
}

TEST(every_statement_prints_as_it_parses)
{
	prints_as_it_parses(lines, sizeof(lines) / sizeof(lines[0]));
}

TEST(threads_blocks_print_as_they_parse)
{
	prints_as_it_parses(block_lines, sizeof(block_lines) / sizeof(block_lines[0]));
}

static bool same_pattern(const struct scn_pattern *a, const struct scn_pattern *b)
{
	return a->present == b->present && (!a->present ||
	       (a->n == b->n && !memcmp(a->bytes, b->bytes, a->n)));
}

/* What the parser made of two lines is the same, but for the text itself. */
static bool same_op(const struct scn_op *a, const struct scn_op *b)
{
	int i;

	if (a->kind != b->kind || a->def != b->def || a->task != b->task || a->task2 != b->task2 ||
	    a->thread != b->thread || a->block_end != b->block_end ||
	    a->addr.sym != b->addr.sym || a->addr.off != b->addr.off ||
	    a->addr2.sym != b->addr2.sym || a->addr2.off != b->addr2.off ||
	    a->len != b->len || a->arg != b->arg || a->flags != b->flags || a->fd != b->fd ||
	    a->fdsym != b->fdsym || a->expect.ncount != b->expect.ncount ||
	    a->off != b->off || a->nalt != b->nalt || !same_pattern(&a->pat, &b->pat) ||
	    a->expect.any != b->expect.any || a->expect.nerr != b->expect.nerr ||
	    a->pm_set != b->pm_set || a->pm_clear != b->pm_clear || a->src != b->src ||
	    a->delta != b->delta || a->statref != b->statref || a->cmp != b->cmp ||
	    a->value != b->value || a->ram != b->ram || a->ncpus != b->ncpus ||
	    a->seed != b->seed || a->check != b->check || a->quiet != b->quiet ||
	    a->kswapd != b->kswapd || a->pin != b->pin || a->pos != b->pos || a->swap != b->swap ||
	    a->prio != b->prio || a->swap_file != b->swap_file || a->ntags != b->ntags ||
	    a->fail_sites != b->fail_sites || a->fail_nth != b->fail_nth ||
	    a->fail_repeat != b->fail_repeat || a->fail_nr_at != b->fail_nr_at ||
	    memcmp(a->fail_at, b->fail_at, sizeof(a->fail_at)) || !a->name != !b->name ||
	    (a->name && strcmp(a->name, b->name)) || !a->echo != !b->echo ||
	    (a->echo && memcmp(a->echo, b->echo, a->len + 1)))
		return false;
	for (i = 0; i < a->nalt; i++)
		if (!same_pattern(&a->alt[i], &b->alt[i]) || a->alt_value[i] != b->alt_value[i])
			return false;
	for (i = 0; i < a->expect.nerr; i++)
		if (a->expect.err[i] != b->expect.err[i])
			return false;
	for (i = 0; i < a->expect.ncount; i++)
		if (a->expect.count[i] != b->expect.count[i])
			return false;
	for (i = 0; i < a->ntags; i++)
		if (a->tags[i] != b->tags[i])
			return false;
	return true;
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(1 << 20);

	*n = f && buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
	if (f)
		fclose(f);
	if (buf)
		buf[*n] = '\0';
	return buf;
}

/* The repository's root, from this file's path as the build names it (tests/unit/...). */
static int root_len(void)
{
	const char *cut = strstr(__FILE__, "tests/unit/");

	return cut ? (int)(cut - __FILE__) : 0;
}

TEST(every_scenario_file_parses_back_from_its_print)
{
	char pattern[512], *text, *printed;
	struct scn_script *s1, *s2;
	glob_t g;
	size_t k, n;
	int i, files = 0;

	snprintf(pattern, sizeof(pattern), "%.*stests/*/*.scn", root_len(), __FILE__);
	REQUIRE_EQ(glob(pattern, 0, NULL, &g), 0);
	for (k = 0; k < g.gl_pathc; k++) {
		const char *base = strrchr(g.gl_pathv[k], '/') + 1;

		if (!strncmp(base, "bad-", 4))
			continue;	/* bad input has nothing to print */
		text = slurp(g.gl_pathv[k], &n);
		if (!CHECKF(text && scn_parse(g.gl_pathv[k], text, n, &s1, stderr) == 0, "%s", base)) {
			free(text);
			continue;
		}
		printed = print_script(s1);
		if (CHECKF(printed && scn_parse("printed", printed, strlen(printed), &s2, stderr) == 0,
			   "%s: its print does not parse:\n%s", base, printed)) {
			CHECKF(s1->nops == s2->nops, "%s: %d ops, %d printed", base, s1->nops, s2->nops);
			for (i = 0; i < s1->nops && i < s2->nops; i++)
				CHECKF(same_op(&s1->ops[i], &s2->ops[i]), "%s:%u: '%s' printed as another op",
				       base, s1->ops[i].line, s1->ops[i].text);
			scn_script_free(s2);
		}
		scn_script_free(s1);
		free(printed);
		free(text);
		files++;
	}
	globfree(&g);
	CHECK(files > 100);
}

/* The fuzzer's names: the printer asks, the statement does not care. */
static void numbered(const struct scn_printer *pr, int sym, char *buf, size_t n)
{
	snprintf(buf, n, "T%d", sym);
}

TEST(a_printer_may_name_symbols_itself)
{
	struct scn_op op;
	char *text = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&text, &n);
	struct scn_printer pr = { .f = f, .name = numbered };

	REQUIRE(f);
	scn_op_init(&op, SCN_OP_FORK);
	op.task = 3;
	op.def = 7;
	op.expect.nerr = 1;
	op.expect.err[0] = EINTR;
	scn_print_op(&pr, &op);
	scn_op_init(&op, SCN_OP_MMAP);
	op.task = 3;
	op.def = 1;
	op.len = 4096;
	op.arg = PROT_READ | PROT_WRITE;
	op.flags = MAP_PRIVATE | MAP_ANONYMOUS;
	scn_print_op(&pr, &op);
	fclose(f);
	CHECKF(!strcmp(text, "fork T3 -> T7 => EINTR\nT1 = mmap T3 0 4096 rw private,anonymous\n"),
	       "printed:\n%s", text);
	free(text);
}

TEST(the_table_is_whole)
{
	const struct scn_cmd *c;
	int kind, n = 0;

	for (c = scn_cmd_next(NULL); c; c = scn_cmd_next(c)) {
		CHECKF(c->parse && c->run && c->print && c->args, "%s: a function is missing", c->name);
		CHECKF(scn_cmd_of(c->kind) && scn_cmd_of(c->kind)->kind == c->kind, "%s: kind %d",
		       c->name, c->kind);
		n++;
	}
	CHECK(n > 40);
	for (kind = SCN_OP_MACHINE; kind < NR_SCN_OPS; kind++)
		CHECKF(scn_cmd_of(kind) != NULL, "kind %d has no statement", kind);
}

/*
 * docs/scenario.md: `"KEYWORD" ARGS` in the grammar for each statement,
 * `"WORD" ARGS` for "expect WORD" and "device WORD".  The file is found
 * from this one's path, as the build names it (tests/unit/...).
 */
TEST(every_statement_is_in_the_grammar)
{
	char path[512], want[256], *doc;
	const struct scn_cmd *c;
	size_t n, got;

	snprintf(path, sizeof(path), "%.*sdocs/scenario.md", root_len(), __FILE__);
	doc = slurp(path, &got);
	REQUIRE(doc && got);
	for (c = scn_cmd_next(NULL); c; c = scn_cmd_next(c)) {
		/* "expect vmstat", "device read": the grammar has the word after the prefix */
		const char *kw = strchr(c->name, ' ') ? strchr(c->name, ' ') + 1 : c->name;

		n = snprintf(want, sizeof(want), "\"%s\"%s%s", kw, c->args[0] ? " " : "", c->args);
		CHECKF(memmem(doc, got, want, n) != NULL, "docs/scenario.md has no %s", want);
	}
	free(doc);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
