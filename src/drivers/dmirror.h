/*
 * dmirror.h - the built-in device with a secondary MMU (struct mml_device,
 * include/mmlab.h), after Linux's lib/test_hmm.c "dmirror".
 *
 * Contract with the core: the device's translations of a process's
 * addresses live in its own page table, under its own lock.  A miss faults
 * through hmm_range_fault() with the interval notifier's sequence count;
 * an invalidation takes the device lock, bumps the count and drops the
 * translations of the range before returning, so no device access uses a
 * translation the process has changed (seed 002).  Every access checks
 * that rule (the frame is the one mapped, still allocated, and what the
 * process maps there now); the checker checks every translation at rest.
 *
 * Locks: device->lock (a mutex, taken inside the notifier's callback,
 * so after mmap_lock and the notifier's srcu; never held while taking an
 * mm lock); machine->pins_lock guards the machine's list of devices,
 * where each device is a struct mml_device_head the machine releases at
 * power-off if the user did not.
 */
#ifndef MML_DRIVERS_DMIRROR_H
#define MML_DRIVERS_DMIRROR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mm/mm.h"

struct mml_machine;
struct mml_device;

/* Every translation of every device of m, for the invariant checker (machine quiescent). */
struct device_translation {
	int id;				/* the device's number */
	struct mm_struct *mm;		/* the process it mirrors */
	uint64_t addr;
	unsigned long pfn;
	unsigned gen;			/* the frame's allocation generation when mapped */
	bool write, exclusive;
};
void device_for_each_translation(struct mml_machine *m,
				 void (*fn)(void *arg, const struct device_translation *t), void *arg);
/*
 * Why translation t is stale now, or NULL: its frame was freed or reused
 * since it was mapped, the process no longer maps the frame at t->addr
 * (as an exclusive entry, for an exclusive translation), or t writes
 * where the process's pte does not.  *ptep: the pte looked at.  One rule
 * for the device's every access and for the checker at rest.
 */
const char *device_translation_stale(struct mml_machine *m, const struct device_translation *t, pte_t *ptep);

#endif /* MML_DRIVERS_DMIRROR_H */
