/*
 * model.h - the reference model: what each process must observe, written
 * to be obviously correct and to share nothing with the implementation.
 *
 * A process is a flat, page-granular map from address to {protection,
 * fork flags, 4 KiB of bytes or "zero"}.  fork copies it whole; munmap and
 * MADV_DONTNEED forget or zero pages; every call returns the result Linux
 * documents.  Where Linux allows several outcomes (the address a non-fixed
 * mmap picks) the model checks the implementation's choice against the
 * rules and adopts it.
 */
#ifndef MML_ORACLE_MODEL_H
#define MML_ORACLE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MODEL_PAGE		4096ULL
#define MODEL_TASK_SIZE		0x7ffffffff000ULL
#define MODEL_MMAP_MIN_ADDR	65536ULL

struct model;

struct model *model_new(void);
void model_free(struct model *md);

/* Tasks are numbered by the caller; a task belongs to one process. */
int  model_spawn(struct model *md, int task);
int  model_thread(struct model *md, int task, int new_task);
int  model_fork(struct model *md, int task, int child_task);
int  model_exit(struct model *md, int task);
bool model_task_alive(const struct model *md, int task);
int  model_nr_processes(const struct model *md);

/*
 * mmap: the expected result.  For a non-fixed mapping that should succeed
 * the exact address is the implementation's choice: pass it as got, and the
 * model returns got if that choice is allowed (or a description in *why).
 */
long model_mmap(struct model *md, int task, uint64_t addr, uint64_t len, int prot, int flags,
		long got, const char **why);
int  model_munmap(struct model *md, int task, uint64_t addr, uint64_t len);
int  model_mprotect(struct model *md, int task, uint64_t addr, uint64_t len, int prot);
int  model_madvise(struct model *md, int task, uint64_t addr, uint64_t len, int advice);
/* Loads and stores: 0 with the bytes, or -EFAULT. */
int  model_read(struct model *md, int task, uint64_t addr, void *buf, uint64_t len);
int  model_write(struct model *md, int task, uint64_t addr, const void *buf, uint64_t len);
/* Is every page of [addr, addr+len) mapped in task's process? */
bool model_mapped(const struct model *md, int task, uint64_t addr, uint64_t len);
/* MADV_FREE'd and not written since: Linux may show the old bytes or zeros. */
bool model_lazyfree(const struct model *md, int task, uint64_t addr);
/* The implementation showed zeros for a lazily freed page: it was discarded. */
void model_discard(struct model *md, int task, uint64_t addr);

/*
 * After an injected failure the kernel may have done part of a call (Linux
 * documents it for mprotect, madvise and MAP_FIXED).  The caller tells the
 * model what the implementation now has for one page: mapped or not, its
 * protection and fork flags; the bytes of a page that stays mapped are kept.
 */
#define MODEL_DONTFORK		0x1u
#define MODEL_WIPEONFORK	0x2u
void model_resync_page(struct model *md, int task, uint64_t addr, bool mapped, int prot, unsigned flags);

#endif /* MML_ORACLE_MODEL_H */
