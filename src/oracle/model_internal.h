/*
 * model_internal.h - what the parts of the reference model share: its
 * pages and processes (model.c), and what reaches them from beside the
 * process -- pins and DMA, devices with their own MMU (model_device.c).
 * Nothing here includes the implementation's headers.
 */
#ifndef MML_ORACLE_MODEL_INTERNAL_H
#define MML_ORACLE_MODEL_INTERNAL_H

#include "lib/idset.h"
#include <sys/mman.h>

#include "oracle/model.h"

/* Linux 6.13's guard regions (uapi numbers); C libraries before 2.41 lack the names. */
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL	102
#endif
#ifndef MADV_GUARD_REMOVE
#define MADV_GUARD_REMOVE	103
#endif

#define MP_DONTFORK	MODEL_DONTFORK
#define MP_WIPEONFORK	MODEL_WIPEONFORK
#define MP_LAZYFREE	0x4u	/* MADV_FREE'd, not written since: old bytes or zeros */
/*
 * A device made this page exclusive (a write GUP, allowed without
 * PROT_READ) while it had its present protection: the device may still
 * hold that translation, and reach the page through it where its faults
 * would be refused.
 */
#define MP_DEVICE_HELD	0x8u
/*
 * A page of a file mapping (file != 0): MAP_SHARED reads and writes the
 * file's page itself; MAP_PRIVATE reads it until the process writes the
 * page, which then has its own copy (MP_COW, in data and tags) that the
 * file no longer reaches -- except a truncate below it (even_cows).
 */
#define MP_SHARED	0x10u
#define MP_MAYWRITE	0x20u	/* VM_MAYWRITE of a shared mapping: PROT_WRITE may be added */
#define MP_COW		0x40u
#define MP_HUGEPAGE	MODEL_HUGEPAGE		/* MADV_HUGEPAGE: VM_HUGEPAGE */
#define MP_NOHUGEPAGE	MODEL_NOHUGEPAGE	/* MADV_NOHUGEPAGE: VM_NOHUGEPAGE, no THP ever */
/*
 * MADV_GUARD_INSTALL: any access faults (EFAULT), GUP and populate too;
 * the page holds nothing (installing zapped it, as MADV_DONTNEED).  Kept
 * by mprotect, MADV_DONTNEED and MADV_FREE, moved by mremap, copied by
 * fork but into a MADV_WIPEONFORK range; MADV_GUARD_REMOVE clears it.
 */
#define MP_GUARD	0x200u
#define MP_LOCKED	MODEL_LOCKED		/* VM_LOCKED (model_mlock.c) */
#define MP_LOCKONFAULT	MODEL_LOCKONFAULT	/* VM_LOCKONFAULT */
/*
 * The commit (model_commit.c): the page's VMA is VM_ACCOUNT (surely, or
 * perhaps: an mprotect that drops the charge of a VMA with no anon_vma,
 * which the model cannot see), or VM_NORESERVE (MAP_NORESERVE outside
 * overcommit mode 2).
 */
#define MP_ACCT		MODEL_ACCOUNT
#define MP_ACCT_MAYBE	0x20000u
#define MP_NORESERVE	MODEL_NORESERVE
#define MP_COMMIT_FLAGS	(MP_ACCT | MP_ACCT_MAYBE | MP_NORESERVE)
/*
 * Soft-dirty (model_refs.c): a CPU store reached the page since the
 * process's last clear_refs 4, so pagemap must show bit 55; UNSURE: Linux
 * may let stores go unseen until the next clear_refs 4 (a pinned page it
 * skipped, a writable migration entry it cleared).
 */
#define MP_SOFTDIRTY	0x1000u
#define MP_SD_UNSURE	0x2000u
/*
 * userfaultfd (model_uffd.c): the page's VMA is registered for MISSING
 * or WP faults; the page is write-protected (a uffd-wp bit or marker); its
 * pte is populated (a page, the zero page or a swap entry: a MISSING
 * fault does not come).  The last two are known only with MP_UF_KNOWN:
 * reclaim may drop a lazily freed page, a fault may have populated a
 * large folio's neighbours, a fork's child may or may not have its
 * parent's ptes; such a page is learnt from pagemap before it matters.
 */
#define MP_UF_MISSING	MODEL_UFFD_MISSING
#define MP_UF_WPREG	MODEL_UFFD_WP
#define MP_UF_PROT	0x400000u
#define MP_UF_POP	0x800000u
#define MP_UF_KNOWN	0x1000000u
/* MADV_FREE'd and not written since, data or none: reclaim may drop it any time (unknown until written) */
#define MP_UF_FREED	0x2000000u
#define MP_UF_REG	(MP_UF_MISSING | MP_UF_WPREG)
#define MP_UF_ALL	(MP_UF_MISSING | MP_UF_WPREG | MP_UF_PROT | MP_UF_POP | MP_UF_KNOWN | MP_UF_FREED)

#define MODEL_GRANULES	(MODEL_PAGE / 16)

struct mpage {
	uint64_t addr;
	int prot;		/* PROT_READ, PROT_WRITE, PROT_EXEC, MODEL_PROT_MTE */
	unsigned flags;
	uint8_t *data;		/* NULL: all zero */
	uint8_t *tags;		/* a tag per 16-byte granule; NULL: all zero (so is data then) */
	/*
	 * A lazily freed page written before anyone looked: reclaim may have
	 * dropped it before the write (then it holds zeros plus the write,
	 * alt, with zero tags plus the tag stores, alt_tags) or not (data,
	 * tags).  The first read that tells them apart decides.
	 */
	uint8_t *alt, *alt_tags;
	uint8_t *unk;		/* MP_COW: bytes copied from a disk file's page that may read otherwise */
	uint8_t *was;		/* ... as these (the disk's, file_lost_writeback); NULL: as zero */
	int file;		/* 1 + index in model.files; 0: anonymous memory */
	uint64_t pgoff;		/* file: the page's index in the file */
};

/* A descriptor: the file it names and how it was opened (the description's f_mode). */
struct mfd {
	int file;		/* 1 + index in model.files; 0: a free slot */
	bool readable, writable;
	bool cloexec;		/* FD_CLOEXEC: the descriptor's own, not shared by dup */
};

struct mproc {
	bool alive;
	int threads;
	struct mpage *pages;	/* sorted by addr */
	size_t n, cap;
	struct mfd *fds;	/* the descriptor table, shared by the threads, copied by fork */
	int nfds;
	uint64_t memlock, memlock_max;	/* RLIMIT_MEMLOCK, bytes (UINT64_MAX: unlimited) */
	unsigned def_flags;	/* MP_LOCKED, MP_LOCKONFAULT for new mappings: mlockall(MCL_FUTURE) */
	bool merge_any;		/* prctl(PR_SET_MEMORY_MERGE): inherited by fork (model_ksm.c) */
	bool uffd;		/* model_uffd.c: the process has a userfaultfd (SIGBUS always) */
	bool uffd_wp_unpop;	/* ... with UFFD_FEATURE_WP_UNPOPULATED */
};

/*
 * A file's page: its bytes, including those past the end of the file in
 * the last page (a shared mapping may write there; tmpfs keeps them, a
 * disk file system may zero them at writeback: such bytes are "unk").
 */
struct mfpage {
	uint64_t idx;
	uint8_t *data;		/* NULL: zeros */
	uint8_t *tags;		/* a tag per granule (shmem mapped PROT_MTE); NULL: zeros */
	uint8_t *unk;		/* bitmap: bytes that may read as zero instead of data; NULL: none */
	uint8_t *was;		/* or, where not NULL, as these: the disk's (file_lost_writeback) */
	bool touched;		/* the file system may have allocated it: tmpfs accounting's upper bound */
};

/* /tmp, /dev/shm, /disk, memfd & shared anonymous, /pmem (fs-DAX: the machine has a pmem device) */
enum { MFS_TMP, MFS_SHM, MFS_DISK, MFS_INTERNAL, MFS_PMEM, MFS_N };

struct mfile {
	int fs;			/* MFS_* */
	char *name;		/* the name in its mount (or the memfd's), owned */
	bool linked;		/* the name is in its directory */
	bool evicted;		/* the last reference went: gone */
	uint64_t size;
	struct mfpage *pages;	/* sorted by idx */
	size_t n, cap;
	unsigned seals;		/* F_SEAL_*; F_SEAL_SEAL unless a memfd allowed sealing */
	int nfd;		/* descriptors naming it, in every process */
	long nmapped;		/* process pages mapping it */
	uint64_t acct_pages;	/* shmem charged for its size at setup (MAP_SHARED|MAP_ANONYMOUS) */
	bool noreserve;		/* shmem charged page by page instead (tmpfs, memfd, MAP_NORESERVE) */
	bool huge_tail;		/* shmem in a run with huge pages: one may reach past the end (model_filemap.c) */
	/*
	 * /pmem: FICLONE made it share blocks with another file (never
	 * cleared): a pin may hold a block the file later trades for a
	 * private copy, which the fuzzer does not pin (model_dax.c).
	 */
	bool reflinked;
};

struct mhist {
	uint64_t off, len;
	uint8_t byte;
};

enum {
	PIN_ATTACHED,		/* the process maps this very page: both see the same bytes */
	PIN_UNCHECKED,		/* may be the zero page (short-term R/O pin): no promise */
	PIN_DETACHED,		/* the mapping changed under it: no longer the process's page */
	PIN_FILE,		/* a file's page in its page cache (pfile, ppgoff): the file's bytes */
};

struct mpin {
	bool alive;
	int kind;		/* MODEL_PIN or MODEL_GET */
	int proc;
	uint64_t addr, npages;
	bool write;
	unsigned char *state;	/* per page: PIN_ATTACHED, PIN_UNCHECKED, PIN_DETACHED or PIN_FILE */
	int *pfile;		/* PIN_FILE pages: the file (1 + index), per page; NULL if none */
	uint64_t *ppgoff;	/* and the page's index in it */
	int64_t *shift;		/* per page: how far mremap moved it from addr + k pages; NULL: nowhere */
	uint8_t *snap;		/* GET: the bytes when taken */
	struct mhist *hist;	/* GET: what its own process wrote there since */
	size_t nhist, histcap;
	bool hist_lost;		/* too much history or a mixed write: stop checking */
};

struct model {
	struct mproc *procs;
	int nprocs;
	int *task_proc;		/* -1: no such task (or exited) */
	int ntasks;
	struct mpin *pins;	/* by id */
	int npins;
	struct idset live_pins;	/* the ids of the live ones (for_each_live_pin) */
	int *dev_proc;		/* by device id: the process it mirrors; -1: detached */
	int ndevs;
	struct mfile *files;	/* every inode ever made, by index (model_file.c) */
	int nfiles;
	uint64_t tmpfs_pages;	/* each tmpfs mount's size limit (0: none) */
	/* The THP tunables (model_thp.c), by knob: the value a store set, once set. */
	unsigned thp_knob[MODEL_THP_KNOBS];
	bool thp_knob_set[MODEL_THP_KNOBS];
	int overcommit;		/* /proc/sys/vm/overcommit_memory (model_commit.c) */
	bool shmem_huge;	/* shmem files may have huge pages (a --thp --files run): their tails are maybe */
	bool past_eof_ok;	/* replaying an access the library let through a huge tail past the end */
	bool ksm_zero_pages;	/* KSM's use_zero_pages was on: a zero-filled anon page may be the zero page */
};

/* Each live pin, in id order: a run takes thousands, a few dozen live at once. */
#define for_each_live_pin(md, k, pn) \
	for (int k = 0; k < (md)->live_pins.n && ((pn) = &(md)->pins[(md)->live_pins.ids[k]]); k++)

/* Where the process maps page k of a pin now (mremap moves pinned pages with their range). */
static inline uint64_t pin_page_addr(const struct mpin *pn, uint64_t k)
{
	return pn->addr + k * MODEL_PAGE + (pn->shift ? (uint64_t)pn->shift[k] : 0);
}

static inline struct mproc *task_proc(const struct model *md, int task)
{
	if (task < 0 || task >= md->ntasks || md->task_proc[task] < 0)
		return NULL;
	return &md->procs[md->task_proc[task]];
}

/* Index of the first page with addr >= a. */
static inline size_t lower_bound(const struct mproc *p, uint64_t a)
{
	size_t lo = 0, hi = p->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (p->pages[mid].addr < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static inline struct mpage *find_page(const struct mproc *p, uint64_t a)
{
	size_t i = lower_bound(p, a);

	return i < p->n && p->pages[i].addr == a ? &p->pages[i] : NULL;
}

/*
 * The page is about to be written (or made writable for a device): a
 * lazily freed one is kept from now on, and may have been dropped before
 * (zeros plus the write).  -ENOMEM if the host is out of memory.
 */
int page_written(struct mpage *pg);
/*
 * A reference may show what its own process writes under it: remember it.
 * by_device: written through a pin of the same process, which may share the
 * referenced page even after the mapping changed.
 */
void note_owner_write(struct model *md, const struct mproc *p, uint64_t addr, const uint8_t *buf,
		      uint64_t len, bool by_device);

/* The mapping under [start, end) of process p changes: pins there let go. */
void detach_pins(struct model *md, const struct mproc *p, uint64_t start, uint64_t end);
/* The page is all zero again (MADV_DONTNEED, a discard); a private file page reads its file again. */
void page_forget(struct mpage *pg);

/* ---- files, for the rest of the model (model_file.c) ---------------------------- */

static inline struct mfile *page_file(const struct model *md, const struct mpage *pg)
{
	return pg->file ? &md->files[pg->file - 1] : NULL;
}

/* Does the page read its file's page (shared, or private and not written since)? */
static inline bool page_file_view(const struct mpage *pg)
{
	return pg->file && !(pg->flags & MP_COW);
}

static inline bool bit_test(const uint8_t *map, uint64_t i)
{
	return map && (map[i / 8] >> (i % 8)) & 1;
}

static inline void bit_set(uint8_t *map, uint64_t i, bool v)
{
	if (v)
		map[i / 8] |= (uint8_t)(1u << (i % 8));
	else
		map[i / 8] &= (uint8_t)~(1u << (i % 8));
}

static inline uint64_t size_pages(uint64_t size)
{
	return size / MODEL_PAGE + (size % MODEL_PAGE != 0);
}

static inline bool fs_is_shmem(int fs)
{
	return fs != MFS_DISK && fs != MFS_PMEM;
}

static inline struct mfd *fd_lookup(const struct mproc *p, int fd)
{
	return p && fd >= 0 && fd < p->nfds && p->fds[fd].file ? &p->fds[fd] : NULL;
}

/* A file's pages (model_file.c): found, or made as a hole; NULL when it has none / out of memory. */
struct mfpage *fpage_find(const struct mfile *f, uint64_t idx);
struct mfpage *fpage_get(struct mfile *f, uint64_t idx);
/* The pages [from, to) leave the file (truncate, punch, FICLONE's holes): pins there detach. */
void fpage_remove(struct model *md, int file, uint64_t from, uint64_t to);
/* n bytes at byte pos of the file (pwrite, a shared mapping, a pin): 0 or -ENOMEM. */
int file_store(struct mfile *f, uint64_t pos, const uint8_t *buf, uint64_t n);
/* What a byte marked unsure (unk) may read as instead: zero, or what was says. */
static inline uint8_t unk_alt(const uint8_t *was, uint64_t b)
{
	return was ? was[b] : 0;
}
/* Is got allowed for the byte at pos (its byte, or its unk_alt where it is unsure)? */
bool file_byte_allowed(const struct mfile *f, uint64_t pos, uint8_t got);
/* The implementation showed the other byte where it could: that byte from now on. */
void file_byte_adopt(struct mfile *f, uint64_t pos, uint8_t got);
/* A new inode on fs (MFS_*): 1 + its index, or -ENOMEM. */
int file_new(struct model *md, int fs, const char *name, bool linked);
/* FALLOC_FL_PUNCH_HOLE of [off, off+len) (MADV_REMOVE too). */
void file_punch(struct model *md, int file, uint64_t off, uint64_t len);
/* tmpfs: might allocating need more pages on fs fail (the mount full)?  Pages not touched yet. */
bool tmpfs_may_be_full(const struct model *md, int fs, uint64_t need);
uint64_t untouched_pages(const struct mfile *f, uint64_t idx, uint64_t n);
void touch_pages(struct mfile *f, uint64_t idx, uint64_t n);

/* ---- what a mapping of a file sees (model_filemap.c) ---- */

/* -EIO if the page reads its file's page and that is wholly past the end (SIGBUS); else 0. */
int file_view_check(const struct model *md, const struct mpage *pg);
/*
 * The bytes a load of the page sees, its tags, and which bytes may read
 * as zero instead (a disk file's tail past the end): NULL for zeros,
 * no tags, none.
 */
const uint8_t *page_bytes(const struct model *md, const struct mpage *pg, const uint8_t **unk);
/* What the unsure bytes of page_bytes may read as instead: NULL for zero. */
const uint8_t *page_was(const struct model *md, const struct mpage *pg);
const uint8_t *page_tags(const struct model *md, const struct mpage *pg);
/* A private file page becomes the process's own: a copy of the file's page now. -ENOMEM. */
int page_cow(struct model *md, struct mpage *pg);
/* model_commit.c: a new mapping's commit state; one page's before mprotect changes its protection */
void commit_mmap_pages(struct model *md, struct mproc *p, uint64_t start, uint64_t len, int prot, int flags);
void commit_mprotect_page(struct mpage *pg, int prot);
/* model_mlock.c: locked pages of a process, the limit, and faulting a range in as mlock does */
uint64_t model_locked_pages(const struct mproc *p);
bool model_mlock_ok(const struct mproc *p, uint64_t pages);
int model_populate_page(struct model *md, struct mpage *pg);
int model_populate(struct model *md, struct mproc *p, uint64_t start, uint64_t end, bool ignore);
/* A store of n bytes at off in the page (a file page's, shared; else its own): 0 or -ENOMEM. */
int page_store(struct model *md, struct mpage *pg, uint64_t off, const uint8_t *buf, uint64_t n);
/* A tag store in the page (a shared shmem page's tags are the file's): 0 or -ENOMEM. */
int page_store_tag(struct model *md, struct mpage *pg, unsigned granule, unsigned tag);
/* A load through a mapping touched the page: tmpfs may have allocated it. */
void page_touch(struct model *md, const struct mpage *pg);
/*
 * model_uffd.c, for the access paths: would touching pg fault to the
 * userfaultfd (SIGBUS with UFFD_FEATURE_SIGBUS)?  And: pg was faulted in.
 */
bool uffd_would_fault(const struct mpage *pg, bool write);
void uffd_populated(struct mpage *pg);
/* The pages of a failed access before the one that faulted were populated; that one too if a marker. */
void uffd_fault_taken(struct mpage *pg);
/* One more, or one fewer, page mapping pg's file; the last reference frees the file. */
void page_ref_file(struct model *md, const struct mpage *pg);
void page_unref_file(struct model *md, const struct mpage *pg);
/* A load got the other byte where one is unsure (unk): adopt it there; false if that does not explain got. */
bool page_adopt_unsure(struct model *md, struct mpage *pg, uint64_t off, const uint8_t *got, uint64_t n);
void model_files_free(struct model *md);
/* fork: the child's copy of the descriptor table.  exit: every descriptor closed. */
int fds_copy(struct model *md, struct mproc *child, const struct mproc *parent);
void fds_close_all(struct model *md, struct mproc *p);
/*
 * mmap of a descriptor or of shared anonymous memory, after the checks
 * both have in common: the errors only a file has, then the pages.
 */
long mmap_file_check(struct model *md, struct mproc *p, int prot, int flags, int fd, int64_t off,
		     unsigned *pflags, int *file);
int mmap_file_pages(struct model *md, struct mproc *p, uint64_t start, uint64_t len, int prot, int flags,
		    int64_t off, unsigned pflags, int file);
/* mprotect of a file page: -EACCES (no VM_MAYWRITE), -EINVAL (tags where they cannot be), or 0. */
int mprotect_file_check(const struct model *md, const struct mpage *pg, int prot);
/* madvise of a file page: the advice's effect (1: nothing special, do what anonymous memory does). */
int madvise_file_page(struct model *md, struct mproc *p, struct mpage *pg, int advice);
/* May this mapping carry PROT_MTE (anonymous memory and shmem: VM_MTE_ALLOWED)? */
bool mte_allowed(const struct model *md, int file);
/* A pin (kind) of the page: PIN_FILE (its file's page, *file and *pgoff) or anything else. */
int pin_file_state(struct model *md, struct mpage *pg, int kind, bool write, bool longterm, int *file,
		   uint64_t *pgoff);
/* The file's byte under a PIN_FILE page, or -1 if unknown (gone, or may read as zero). */
int file_byte(const struct model *md, int file, uint64_t pgoff, uint64_t off);
bool file_byte_ok(const struct model *md, int file, uint64_t pgoff, uint64_t off, uint8_t got);
int file_store_page(struct model *md, int file, uint64_t pgoff, uint64_t off, const uint8_t *buf, uint64_t n);
/* A writable long-term pin of a shared disk file page is refused (it needs dirty tracking). */
bool page_needs_dirty_tracking(const struct model *md, const struct mpage *pg);

#endif /* MML_ORACLE_MODEL_INTERNAL_H */
