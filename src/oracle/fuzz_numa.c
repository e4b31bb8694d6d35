/*
 * fuzz_numa.c - NUMA policies and migration in the fuzzer (--nodes N):
 * move_pages, mbind and migrate_pages with their arguments, the call,
 * what the model says of it, and its statement in a reproducer.
 *
 * Migration is invisible: no byte, tag, pin or lazily freed state of a
 * page may change when it moves, so the model keeps no nodes at all, and
 * the reads, tag loads, DMA and reclaim after a move are the oracle.
 * What the model does say is each call's outcome where Linux 6.18's
 * rules decide it from the arguments and the layout: EINVAL for bad
 * flags, modes, masks and alignment, ENODEV for a node the machine
 * lacks, EFAULT for a hole in mbind's range; a count of pages not moved
 * (pinned ones) is any count, and ENOMEM when the target node is full.  The arguments go mostly to valid nodes,
 * now and then to a node past the last, an empty mask or an unknown flag.
 *
 * Migrations held half way (migrate unmap, finished by migrate move or by
 * whatever meets their entries first) let fork, mremap, mprotect,
 * munmap, reclaim and the checker meet migration entries.  Compaction
 * (compact_memory, or one node's compact file) moves whatever it can.
 *
 * These take rolls of their own after mremap's (fuzz_gen_op), so a run
 * without --nodes is what it was before.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "oracle/fuzz_internal.h"
#include "scenario/command.h"

#define NF_STRICT	1
#define NF_MOVE		2
#define NF_MOVE_ALL	4

/* A node mask: mostly of the machine's nodes, now and then empty or past them. */
static uint64_t pick_mask(struct run *r, struct chooser *c)
{
	uint32_t n = (uint32_t)r->o->nodes;

	switch (fuzz_choose(c, 16)) {
	case 0:
		return 0;
	case 1:
		return 1ULL << (n + fuzz_choose(c, 4));
	default:
		return (1ULL << fuzz_choose(c, n)) | (fuzz_choose(c, 2) ? 1ULL << fuzz_choose(c, n) : 0);
	}
}

void fuzz_gen_numa(struct run *r, struct chooser *c, struct fop *op)
{
	static const int mbind_flags[] = { NF_MOVE, NF_MOVE, NF_MOVE | NF_STRICT, NF_MOVE_ALL, 0, NF_STRICT, 8 };
	uint32_t n = (uint32_t)r->o->nodes;

	op->task = r->focus_task = fuzz_pick_task(r, c);
	if (op->task < 0) {
		op->kind = F_CHECK;
		return;
	}
	switch (fuzz_choose(c, 12)) {
	case 8:
	case 9:
		/* a migration held half way, a page at a time, finished later by a move or a fault */
		if (r->next_held >= MAX_HELD) {
			op->kind = F_CHECK;
			break;
		}
		op->kind = F_MIGRATE_UNMAP;
		op->held = r->next_held++;
		fuzz_pick_addr(r, c, op, true);
		op->mode = fuzz_choose(c, 16) ? (long)fuzz_choose(c, n) : (long)n;
		break;
	case 10:
		op->kind = F_MIGRATE_MOVE;
		op->held = r->next_held ? (int)fuzz_choose(c, (uint32_t)r->next_held) : -1;
		if (op->held < 0)
			op->kind = F_CHECK;
		break;
	case 11:
		/* the whole machine, or one node */
		op->kind = F_COMPACT;
		op->mode = fuzz_choose(c, 2) ? -1 : (long)fuzz_choose(c, n);
		break;
	case 0:
	case 1:
	case 2:
	case 3:
		op->kind = F_MOVE_PAGES;
		fuzz_pick_addr(r, c, op, true);
		op->len = 1 + fuzz_choose(c, 8);
		op->mode = fuzz_choose(c, 16) ? (long)fuzz_choose(c, n) : (long)(n + fuzz_choose(c, 2));
		op->flags = fuzz_choose(c, 8) ? (fuzz_choose(c, 4) ? NF_MOVE : NF_MOVE_ALL) : 16;
		break;
	case 4:
	case 5:
	case 6:
		op->kind = F_MBIND;
		fuzz_pick_addr(r, c, op, fuzz_choose(c, 16) != 0);
		op->len = PG * fuzz_choose(c, 9);
		/* mostly bind, interleave and preferred; default and local; now and then a bad mode */
		op->advice = (int)(fuzz_choose(c, 16) ? (const int[]){ 2, 2, 3, 1, 0, 4, 5, 6 }[fuzz_choose(c, 8)] : 9);
		op->pos = (int64_t)pick_mask(r, c);
		if (op->advice == 0 || op->advice == 4)
			op->pos = fuzz_choose(c, 8) ? 0 : op->pos;
		op->flags = mbind_flags[fuzz_choose(c, sizeof(mbind_flags) / sizeof(mbind_flags[0]))];
		break;
	default:
		op->kind = F_MIGRATE_PAGES;
		op->pos = (int64_t)pick_mask(r, c);
		op->len2 = pick_mask(r, c);
		break;
	}
}

/* The model's word on an mbind: an errno from the arguments and the layout, or 0 (any of 0, EIO, ENOMEM). */
static long mbind_expect(struct run *r, const struct fop *op, uint64_t addr)
{
	int mode = op->advice;
	uint64_t mask = (uint64_t)op->pos & ((1ULL << r->o->nodes) - 1);

	if (mode >= 7 || (op->flags & ~7))
		return -EINVAL;
	if (addr & (PG - 1))
		return -EINVAL;
	if (!op->len)
		return 0;
	/* mpol_new: default and local take no nodes; the others need one that exists */
	if ((mode == 0 || mode == 4) ? op->pos != 0 : (!mask && !(mode == 1 && !op->pos)))
		return -EINVAL;
	if (mode != 0)
		return model_mapped(r->md, op->task, addr, op->len) ? 0 : -EFAULT;
	/* default may span holes, but needs some VMA in the range */
	for (uint64_t off = 0; off < op->len; off += PG)
		if (model_mapped(r->md, op->task, addr + off, PG))
			return 0;
	return -EFAULT;
}

static void print_stmt(struct run *r, const struct fop *op, long exp)
{
	static const enum scn_op_kind kinds[] = {
		[F_MOVE_PAGES - F_MOVE_PAGES] = SCN_OP_MOVE_PAGES, [F_MBIND - F_MOVE_PAGES] = SCN_OP_MBIND,
		[F_MIGRATE_PAGES - F_MOVE_PAGES] = SCN_OP_MIGRATE_PAGES,
		[F_MIGRATE_UNMAP - F_MOVE_PAGES] = SCN_OP_MIGRATE_UNMAP,
		[F_MIGRATE_MOVE - F_MOVE_PAGES] = SCN_OP_MIGRATE_MOVE,
	};
	struct scn_op s;

	scn_op_init(&s, kinds[op->kind - F_MOVE_PAGES]);
	if (op->kind == F_MIGRATE_UNMAP && exp >= 0)
		s.def = FZ_SYM(FZ_MIGRATION, op->held);
	s.pin = op->held >= 0 ? FZ_SYM(FZ_MIGRATION, op->held) : -1;
	s.task = FZ_SYM(FZ_TASK, op->task);
	s.addr.sym = op->region >= 0 ? FZ_SYM(FZ_REGION, op->region) : -1;
	s.addr.off = (uint64_t)op->off;
	s.len = op->len;
	s.value = op->mode;
	s.arg = op->advice;
	s.pos = (uint64_t)op->pos;
	s.len2 = op->len2;
	s.flags = op->flags;
	if (op->kind == F_MIGRATE_MOVE || (op->kind == F_MIGRATE_UNMAP && exp < 0))
		s.expect.any = true;	/* a fault may have finished it; the page decides unmap's errors */
	else if (exp < 0)
		fuzz_stmt_result(&s, exp);
	else if (op->kind == F_MOVE_PAGES || op->kind == F_MIGRATE_PAGES)
		s.expect.any = true;	/* a count of pages not moved */
	fuzz_print(r->scn, &s);
}

/* Compaction through its file: always 0, and invisible to every byte (the reads after it are the oracle). */
static void exec_compact(struct run *r, const struct fop *op)
{
	char path[64];
	long got;

	if (op->mode < 0)
		snprintf(path, sizeof(path), "/proc/sys/vm/compact_memory");
	else
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%ld/compact", op->mode);
	got = mml_sys_write(r->m, path, "1");
	fuzz_judge(r, NULL, got, 0, "sys %s 1", path);
	if (r->scn) {
		struct scn_op s;

		scn_op_init(&s, SCN_OP_SYS);
		s.name = path;
		s.sys_value = (char *)"1";
		fuzz_print(r->scn, &s);
	}
}

bool fuzz_exec_numa(struct run *r, const struct fop *op, struct mml_task *t, uint64_t addr)
{
	unsigned long from = (unsigned long)op->pos, to = (unsigned long)op->len2;
	long got, exp;

	switch (op->kind) {
	case F_COMPACT:
		exec_compact(r, op);
		return true;
	case F_MOVE_PAGES: {
		uint64_t pages[8];
		int nodes[8], status[8];

		for (uint64_t i = 0; i < op->len; i++) {
			pages[i] = addr + i * PG;
			nodes[i] = (int)op->mode;
		}
		got = mml_move_pages(t, op->len, pages, nodes, status, (int)op->flags);
		exp = (op->flags & ~(NF_MOVE | NF_MOVE_ALL)) ? -EINVAL : op->mode >= r->o->nodes ? -ENODEV : 0;
		/* pages not moved (pinned, busy) are any count; a full target node is ENOMEM */
		if (exp == 0 && (got > 0 || got == -ENOMEM))
			exp = got;
		fuzz_judge(r, t, got, exp, "T%d move_pages %#" PRIx64 " %" PRIu64 " to node %ld flags %d", op->task,
			   addr, op->len, op->mode, op->flags);
		break;
	}
	case F_MBIND: {
		unsigned long mask = (unsigned long)op->pos;

		got = mml_mbind(t, addr, op->len, op->advice, &mask, 65, (unsigned)op->flags);
		exp = mbind_expect(r, op, addr);
		/*
		 * STRICT: pages that could not move (pinned, busy) are EIO; a
		 * split past the VMA limit ENOMEM.  STRICT without MOVE stops
		 * at the first misplaced page, which may come before the hole
		 * (the walk checks each VMA's neighbour as it reaches it).
		 */
		if ((exp == 0 && (got == -EIO || got == -ENOMEM)) ||
		    (exp == -EFAULT && got == -EIO && (op->flags & NF_STRICT) && !(op->flags & (NF_MOVE | NF_MOVE_ALL))))
			exp = got;
		fuzz_judge(r, t, got, exp, "T%d mbind %#" PRIx64 " %" PRIu64 " mode %d nodes %#lx flags %d", op->task,
			   addr, op->len, op->advice, mask, op->flags);
		break;
	}
	case F_MIGRATE_UNMAP:
		got = mml_migrate_unmap(t, addr, (int)op->mode);
		/* what is at addr (not present, the zero page, pinned ...) decides; the model keeps no frames */
		exp = op->mode >= r->o->nodes ? -ENODEV : got;
		fuzz_judge(r, t, got, exp, "T%d migrate unmap %#" PRIx64 " to node %ld", op->task, addr, op->mode);
		if (got > 0)
			r->held[op->held] = got;
		break;
	case F_MIGRATE_MOVE:
		if (!r->held[op->held])
			return false;	/* its unmap failed, or was shrunk away */
		got = mml_migrate_move(r->m, r->held[op->held]);
		r->held[op->held] = 0;
		/* a fault may have finished it (ENOENT); a reference taken meanwhile sends it back (EAGAIN) */
		if (got != 0 && got != -ENOENT && got != -EAGAIN)
			fuzz_diverge(r, "migrate move m%d: got %ld", op->held, got);
		break;
	default:
		got = mml_migrate_pages(t, 65, &from, &to);
		exp = (to & ((1UL << r->o->nodes) - 1)) ? (got > 0 || got == -ENOMEM ? got : 0) : -EINVAL;
		fuzz_judge(r, t, got, exp, "T%d migrate_pages %#lx to %#lx", op->task, from, to);
		break;
	}
	if (r->scn)
		print_stmt(r, op, got < 0 ? got : 0);
	return true;
}
