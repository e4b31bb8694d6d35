/*
 * fuzz_mremap.c - mremap in the fuzzer (--mremap): its arguments, the
 * call on both sides, and its statement in a reproducer.
 *
 * The arguments go where mremap's rules branch: an old range inside a
 * region, ending it exactly, running past it (into a hole or the next
 * VMA), of length 0 (a duplicate, refused for private memory); a new
 * length equal, grown, shrunk, 0 or beyond the address space; every
 * flag combination, the invalid ones (FIXED or DONTUNMAP without
 * MAYMOVE, an unknown bit) included; a new address over another region
 * (MREMAP_FIXED replaces it), overlapping the source, in the fixed
 * window, below mmap_min_addr, or unaligned.  A successful mremap names
 * its new range as a region, so that later operations use it.
 *
 * With --swap, one mremap roll in 24 starts an mremap story instead
 * (fuzz_gen_mremap_story_op): a tagged page moved while swapped out,
 * whose tags only the record kept with its swap slot holds.
 *
 * mremap takes rolls of its own after every other kind's (fuzz_gen_op),
 * so a run without --mremap is what it was before mremap existed, and
 * the story asks for its roll only with --swap, so a run with --mremap
 * and no swap is what it was before the story.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "oracle/fuzz_internal.h"
#include "scenario/command.h"

#define MR_MAYMOVE	1
#define MR_FIXED	2
#define MR_DONTUNMAP	4

/* Where absolute targets land (pick_target), the mremap story's among them. */
#define MR_WINDOW	0x30000000ULL

/* A target: another region's range, the source's own neighbourhood, the window, or low. */
static void pick_target(struct run *r, struct chooser *c, struct fop *op)
{
	struct fop tmp = *op;
	uint32_t how = fuzz_choose(c, 16);

	if (how < 10) {
		r->focus_region = -1;	/* not the source's own page (pick_addr's focus): another place */
		fuzz_pick_addr(r, c, &tmp, fuzz_choose(c, 16) != 0);
		op->region2 = tmp.region;
		op->off2 = tmp.off;
	} else if (how < 13) {
		/* near the source: overlapping it, or just after or before */
		op->region2 = op->region;
		op->off2 = op->off + ((int64_t)fuzz_choose(c, 9) - 4) * (int64_t)PG;
	} else if (how < 15) {
		op->region2 = -1;
		op->off2 = (int64_t)(MR_WINDOW + fuzz_choose(c, 64) * PG);
	} else {
		static const int64_t low[] = { 0, 4096, 0x8000, 0xf000 };

		op->region2 = -1;
		op->off2 = low[fuzz_choose(c, 4)];
	}
	/* the focus stays on the source */
	r->focus_region = op->region;
	r->focus_off = op->off & ~(int64_t)(PG - 1);
}

/*
 * The next step of an mremap story; false when it is over.  The page
 * goes out to swap first, so that what moves is a swap pte and its tags
 * are only in the record kept with its slot; each step's choices are
 * still random.
 */
bool fuzz_gen_mremap_story_op(struct run *r, struct chooser *c, struct fop *op)
{
	op->task = r->story_a;
	switch (r->story_step++) {
	case 1:
		fuzz_gen_own_page(r, op, PROT_READ | PROT_WRITE | MML_PROT_MTE);
		return true;
	case 2:
		/* never zero: a page whose record is lost reads zero tags */
		op->kind = F_TAG_SET;
		op->len = 16 * (1 + fuzz_choose(c, 16));
		op->byte = (uint8_t)(1 + fuzz_choose(c, 15));
		return true;
	case 3:
		op->kind = F_MADVISE;
		op->advice = MADV_PAGEOUT;
		op->len = PG;
		return true;
	case 4:
		/* Now and then a child shares the slot, and with it the record, before the move. */
		r->story_src = op->region;
		if (!fuzz_choose(c, 3)) {
			fuzz_gen_story_fork(r, op);
			return true;
		}
		r->story_b = r->story_a;
		r->story_step++;
		/* fall through */
	case 5:
		/*
		 * A move that cannot be done in place: MREMAP_FIXED to the
		 * window, MREMAP_DONTUNMAP (the old page stays mapped, empty),
		 * or a growth, which moves only when the next page is taken.
		 */
		op->kind = F_MREMAP;
		op->defines = r->next_region++;
		op->len = op->len2 = PG;
		switch (fuzz_choose(c, 4)) {
		case 0:
		case 1:
			op->flags = MR_MAYMOVE | MR_FIXED;
			op->off2 = (int64_t)(MR_WINDOW + fuzz_choose(c, 64) * PG);
			break;
		case 2:
			op->flags = MR_MAYMOVE | MR_DONTUNMAP;
			break;
		default:
			op->flags = MR_MAYMOVE;
			op->len2 = PG * (2 + fuzz_choose(c, 3));
			break;
		}
		r->focus_region = op->defines;
		r->focus_off = 0;
		return true;
	case 6:
		/* the first granule, tagged by step 2, wherever the page went */
		op->kind = F_TAG_GET;
		op->len = 16;
		return true;
	case 7:
		if (r->story_b != r->story_a) {
			op->kind = F_TAG_GET;
			op->task = r->story_b;
			op->region = r->story_src;
			op->off = 0;
			op->len = 16;
			return true;
		}
		/* fall through */
	default:
		r->story_step = 0;
		r->story_mremap = false;
		return false;
	}
}

void fuzz_gen_mremap(struct run *r, struct chooser *c, struct fop *op)
{
	static const int flags[] = {
		0, 0, MR_MAYMOVE, MR_MAYMOVE, MR_MAYMOVE, MR_MAYMOVE | MR_FIXED, MR_MAYMOVE | MR_FIXED,
		MR_MAYMOVE | MR_FIXED, MR_MAYMOVE | MR_DONTUNMAP, MR_MAYMOVE | MR_DONTUNMAP,
		MR_MAYMOVE | MR_FIXED | MR_DONTUNMAP, MR_MAYMOVE | MR_FIXED | MR_DONTUNMAP,
	};
	static const int invalid[] = { MR_FIXED, MR_DONTUNMAP, MR_FIXED | MR_DONTUNMAP, 8, MR_MAYMOVE | 16 };
	uint64_t rest = 0;

	op->task = r->focus_task = fuzz_pick_task(r, c);
	if (op->task < 0 || r->injecting) {
		/* Under fault injection a move may stop half way: not generated there. */
		op->kind = F_CHECK;
		return;
	}
	/* With swap, now and then the story of a tagged page that moves while swapped out. */
	if (r->o->swap && !fuzz_choose(c, 24)) {
		r->story_a = op->task;
		r->story_step = 1;
		r->story_free = r->story_rewrite = r->story_swapoff = r->story_device = r->story_file = false;
		r->story_mremap = true;
		fuzz_gen_mremap_story_op(r, c, op);
		return;
	}
	op->kind = F_MREMAP;
	op->defines = r->next_region++;
	/* mostly a mapped source (regions moved or unmapped since are EFAULT) */
	for (int tries = 0; tries < 4; tries++) {
		fuzz_pick_addr(r, c, op, fuzz_choose(c, 16) != 0);
		if (op->region >= 0 &&
		    model_mapped(r->md, op->task, r->rbase[op->region] + ((uint64_t)op->off & ~(PG - 1)), 1))
			break;
	}
	if (op->region >= 0 && op->off >= 0 && (uint64_t)op->off < r->rlen[op->region])
		rest = r->rlen[op->region] - ((uint64_t)op->off & ~(PG - 1));
	switch (fuzz_choose(c, 8)) {
	case 0:
		op->len = fuzz_choose(c, 3) ? 0 : 1 + fuzz_choose(c, 64);	/* a duplicate, or a few bytes */
		break;
	case 1:
	case 2:
		op->len = rest ? rest : PG * (1 + fuzz_choose(c, 4));		/* to the region's end */
		break;
	case 3:
		op->len = rest + PG * (1 + fuzz_choose(c, 4));			/* past it */
		break;
	default:
		op->len = PG * (1 + fuzz_choose(c, 8));
		break;
	}
	op->flags = fuzz_choose(c, 8) ? flags[fuzz_choose(c, sizeof(flags) / sizeof(flags[0]))] :
				       invalid[fuzz_choose(c, sizeof(invalid) / sizeof(invalid[0]))];
	switch (fuzz_choose(c, 16)) {
	case 0:
		op->len2 = fuzz_choose(c, 2) ? 0 : (1ULL << 47);		/* nothing, or beyond the address space */
		break;
	case 1:
	case 2:
	case 3:
		op->len2 = op->len > PG ? PG * (1 + fuzz_choose(c, (uint32_t)(op->len / PG - 1))) : PG;
		break;
	case 4:
	case 5:
	case 6:
	case 7:
		op->len2 = op->len + PG * (1 + fuzz_choose(c, 8));
		break;
	case 8:
		op->len2 = op->len + 1 + fuzz_choose(c, 64);			/* rounds up */
		break;
	default:
		op->len2 = op->len;
		break;
	}
	if ((op->flags & MR_DONTUNMAP) && fuzz_choose(c, 4))
		op->len2 = op->len;
	/* Locked memory is not moved so: Linux unlocks the whole old VMA (fuzz_exec_mremap). */
	if ((op->flags & MR_DONTUNMAP) && op->region >= 0 &&
	    model_locked(r->md, op->task, r->rbase[op->region] + ((uint64_t)op->off & ~(PG - 1)), op->len + PG))
		op->flags &= ~MR_DONTUNMAP;
	if (!op->len2 && fuzz_choose(c, 2))
		op->len2 = PG;
	if ((op->flags & (MR_FIXED | MR_DONTUNMAP)) || fuzz_choose(c, 8) == 0) {
		pick_target(r, c, op);
	} else {
		op->region2 = -1;
		op->off2 = 0;
	}
}

/* "[rN =] mremap T ADDR OLDLEN NEWLEN [FLAGS [NEWADDR]] [=> ERR]"; FLAGS maymove,fixed,dontunmap or 0. */
static void print_stmt(struct run *r, const struct fop *op, bool new_addr, long exp)
{
	struct scn_printer pr = { .f = r->scn, .name = fuzz_name };
	struct scn_addr a = { .sym = op->region >= 0 ? FZ_SYM(FZ_REGION, op->region) : -1, .off = (uint64_t)op->off };
	struct scn_addr na = { .sym = op->region2 >= 0 ? FZ_SYM(FZ_REGION, op->region2) : -1,
			       .off = (uint64_t)op->off2 };
	bool nflags = op->flags || new_addr;

	if (exp >= 0)
		fprintf(r->scn, "r%d = ", op->defines);
	fputs("mremap", r->scn);
	scn_print_sym(&pr, FZ_SYM(FZ_TASK, op->task));
	scn_print_addr(&pr, &a);
	fprintf(r->scn, " %" PRIu64 " %" PRIu64, op->len, op->len2);
	if (nflags) {
		static const char *const names[] = { "maymove", "fixed", "dontunmap" };
		int f = op->flags, n = 0;

		fputc(' ', r->scn);
		if (!f)
			fputc('0', r->scn);
		for (int i = 0; i < 3; i++)
			if (f & (1 << i))
				fprintf(r->scn, "%s%s", n++ ? "," : "", names[i]);
		if (f & ~7)
			fprintf(r->scn, "%s%#x", n++ ? "," : "", f & ~7);
		if (new_addr)
			scn_print_addr(&pr, &na);
	}
	if (exp < 0)
		fprintf(r->scn, " => %s", scn_errno_name((int)-exp));
	fputc('\n', r->scn);
}

bool fuzz_exec_mremap(struct run *r, const struct fop *op, struct mml_task *t, uint64_t addr,
		      const struct commit_probe *cp)
{
	uint64_t new_addr;
	const char *why = NULL;
	long got, exp;

	if (op->region2 >= 0 && !r->rok[op->region2])
		return false;
	/*
	 * Not locked memory with MREMAP_DONTUNMAP: Linux unlocks the whole old
	 * VMA, whose bounds the model does not know (the generator avoids it;
	 * a shrunk run may have lost the munlock that made it safe).
	 */
	if ((op->flags & MR_DONTUNMAP) && model_locked(r->md, op->task, addr & ~(PG - 1), op->len + PG))
		return false;
	/*
	 * Nor a duplicating pure move (MREMAP_FIXED, equal lengths) while
	 * mode 2 may refuse: it charges VMA by VMA, and a refusal leaves the
	 * VMAs before it moved, at bounds the model does not know.
	 */
	if ((op->flags & (MR_FIXED | MR_DONTUNMAP)) == (MR_FIXED | MR_DONTUNMAP) &&
	    ((op->len + PG - 1) & ~(PG - 1)) == ((op->len2 + PG - 1) & ~(PG - 1)) && cp->on && cp->mode == 2)
		return false;
	new_addr = (op->region2 >= 0 ? r->rbase[op->region2] : 0) + (uint64_t)op->off2;
	got = mml_mremap(t, addr, op->len, op->len2, op->flags, new_addr);
	if (got == -EINTR && mml_task_killed(t))
		return true;	/* the OOM killer took the process: its memory no longer matters */
	if (fuzz_commit_refused(cp, got)) {
		/* Refused after the target (and a shrunk tail) went: both ranges as the library has them. */
		fuzz_resync_range(r, op->task, addr, op->len);
		if (op->flags & MR_FIXED)
			fuzz_resync_range(r, op->task, new_addr, op->len2);
		exp = got;
	} else {
		exp = model_mremap(r->md, op->task, addr, op->len, op->len2, op->flags, new_addr, got, &why);
	}
	fuzz_commit_passed(r, cp, got, "mremap");
	if (why) {
		fuzz_diverge(r, "T%d mremap %#" PRIx64 " %" PRIu64 " %" PRIu64 " flags %d to %#" PRIx64 ": %s (got %#lx)",
			     op->task, addr, op->len, op->len2, op->flags, new_addr, why, got);
		if (r->scn)
			print_stmt(r, op, op->region2 >= 0 || op->off2 || (op->flags & (MR_FIXED | MR_DONTUNMAP)), 0);
		return true;
	}
	exp = fuzz_judge(r, t, got, exp, "T%d mremap %#" PRIx64 " %" PRIu64 " %" PRIu64 " flags %d to %#" PRIx64,
			 op->task, addr, op->len, op->len2, op->flags, new_addr);
	if (exp >= 0) {
		r->rbase[op->defines] = (uint64_t)exp;
		r->rlen[op->defines] = (op->len2 + PG - 1) & ~(PG - 1);
		r->rok[op->defines] = true;
		r->rfile[op->defines] = op->region >= 0 && r->rfile[op->region];
	}
	if (r->scn)
		print_stmt(r, op, op->region2 >= 0 || op->off2 || (op->flags & (MR_FIXED | MR_DONTUNMAP)), exp);
	return true;
}
