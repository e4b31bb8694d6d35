/*
 * model.h - the reference model: what each process must observe, written
 * to be obviously correct and to share nothing with the implementation.
 *
 * A process is a flat, page-granular map from address to {protection,
 * fork flags, 4 KiB of bytes or "zero", 256 tags or "zero"}.  fork copies it whole; munmap and
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
#include <stdio.h>

#define MODEL_PAGE		4096ULL
#define MODEL_HPAGE_PAGES	512ULL	/* pages of a PMD-sized huge page */
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
		int fd, int64_t off, long got, const char **why);
/*
 * A MAP_POPULATE of a private writable file mapping that an injected
 * failure cut short did not copy the page at addr (the library maps the
 * file's page, or nothing): the model's copy goes, the file shows again.
 */
void model_populate_missed(struct model *md, int task, uint64_t addr);
int  model_munmap(struct model *md, int task, uint64_t addr, uint64_t len);
/*
 * mremap (model_mremap.c): flags MREMAP_MAYMOVE 1, MREMAP_FIXED 2,
 * MREMAP_DONTUNMAP 4.  The expected result; where Linux leaves a choice
 * the implementation's result got is taken if it is allowed: the address
 * of a move without MREMAP_FIXED (free, in range, the hint if its range is
 * free), and EFAULT for a range that may cross a VMA boundary the model
 * cannot see.  A choice that is not allowed is described in *why.
 */
long model_mremap(struct model *md, int task, uint64_t addr, uint64_t old_len, uint64_t new_len, int flags,
		  uint64_t new_addr, long got, const char **why);
int  model_mprotect(struct model *md, int task, uint64_t addr, uint64_t len, int prot);
int  model_madvise(struct model *md, int task, uint64_t addr, uint64_t len, int advice);
/*
 * Memory locks (model_mlock.c): mlock2 when mlock2 (flags MLOCK_ONFAULT
 * 1), mlockall flags MCL_CURRENT 1, MCL_FUTURE 2, MCL_ONFAULT 4; the
 * limit is RLIMIT_MEMLOCK's soft and hard value, UINT64_MAX unlimited.
 */
#define MODEL_MEMLOCK	(8ULL << 20)	/* Linux's default RLIMIT_MEMLOCK */
int  model_mlock(struct model *md, int task, uint64_t addr, uint64_t len, int flags, bool mlock2);
int  model_munlock(struct model *md, int task, uint64_t addr, uint64_t len);
int  model_mlockall(struct model *md, int task, int flags);
int  model_munlockall(struct model *md, int task);
int  model_setrlimit_memlock(struct model *md, int task, uint64_t limit);
/* Is any page of [addr, addr + len) locked? */
bool model_locked(const struct model *md, int task, uint64_t addr, uint64_t len);
/*
 * userfaultfd (model_uffd.c), as the fuzzer drives it: one userfaultfd a
 * process at most, always with UFFD_FEATURE_SIGBUS (a fault that would
 * report is -EIO for loads and stores, -EFAULT for GUP and populate), on
 * private anonymous memory only.  mode: MISSING 1, WP 2 (the uapi's).
 * A page whose populated/protected state the model cannot know (see
 * model_internal.h) must be learnt first: model_uffd_unknown tells,
 * model_uffd_learn takes what pagemap shows.
 */
int  model_uffd_new(struct model *md, int task, bool wp_unpopulated);
int  model_uffd_close(struct model *md, int task);
bool model_uffd_open(const struct model *md, int task);
/* The process of task, as an index that lives as long as the process (-1: none). */
int  model_proc_index(const struct model *md, int task);
bool model_uffd_can_register(const struct model *md, int task, uint64_t addr, uint64_t len);
int  model_uffd_register(struct model *md, int task, uint64_t addr, uint64_t len, uint64_t mode);
int  model_uffd_unregister(struct model *md, int task, uint64_t addr, uint64_t len);
int  model_uffd_writeprotect(struct model *md, int task, uint64_t addr, uint64_t len, bool wp);
/*
 * UFFDIO_COPY of pages of byte (zeropage: 0, with zero): the bytes done,
 * or -errno; got is the implementation's, taken when it says ENOENT for
 * a range the model cannot tell is one VMA.
 */
long model_uffd_fill(struct model *md, int task, uint64_t addr, uint64_t len, uint8_t byte, bool zero, bool wp,
		     long got);
bool model_uffd_unknown(const struct model *md, int task, uint64_t addr);
void model_uffd_learn(struct model *md, int task, uint64_t addr, bool populated, bool wp);
/* Does the model say the page is write-protected (pagemap bit 57)?  -1: unknown. */
int  model_uffd_wp_bit(const struct model *md, int task, uint64_t addr);
/* After mremap moved [addr, addr + len) there: no registration, no bit, populated unknown. */
void model_uffd_moved(struct model *md, int task, uint64_t addr, uint64_t len);

/*
 * Loads and stores: 0 with the bytes, -EFAULT (SIGSEGV: some page of the
 * range unmapped or forbidden, checked first) or -EIO (SIGBUS: a file page
 * wholly beyond end of file, the first such in address order; the faults
 * of the pages before it are taken, so a store has copied the private
 * file pages before it, as the library faults each page in turn).
 */
int  model_read(struct model *md, int task, uint64_t addr, void *buf, uint64_t len);
int  model_write(struct model *md, int task, uint64_t addr, const void *buf, uint64_t len);
/* Is every page of [addr, addr+len) mapped in task's process? */
bool model_mapped(const struct model *md, int task, uint64_t addr, uint64_t len);
/* The model's view of task's process, as /proc/PID/maps-like lines (debugging). */
void model_dump(const struct model *md, int task, FILE *f);
/*
 * The layout the fuzzer's layout check compares: runs of pages with the
 * same protection and the VmFlags smaps shows for them (dc wf mt hg nh lo
 * lf).  The library's side is mml_task_layout (oracle/check.h).
 */
enum { LAYOUT_R = 1, LAYOUT_W = 2, LAYOUT_X = 4, LAYOUT_DC = 8, LAYOUT_WF = 16, LAYOUT_MT = 32, LAYOUT_HG = 64,
       LAYOUT_NH = 128, LAYOUT_LO = 256, LAYOUT_LF = 512 };
struct layout_range {
	uint64_t start, end;
	unsigned attr;		/* LAYOUT_* */
};
/* task's runs into out[0..max); their number, which may exceed max (then call again with room) */
size_t model_layout(const struct model *md, int task, struct layout_range *out, size_t max);
/* MADV_FREE'd and not written since: Linux may show the old bytes or zeros. */
bool model_lazyfree(const struct model *md, int task, uint64_t addr);
/* The implementation showed zeros for a lazily freed page: it was discarded. */
void model_discard(struct model *md, int task, uint64_t addr);
/*
 * A read of len bytes at addr (within one page) disagreed with the model's
 * primary view: are these bytes one of Linux's other allowed outcomes (a
 * lazily freed page dropped by reclaim, before or after a later write)?
 * If so the model adopts them.
 */
bool model_read_alternative(struct model *md, int task, uint64_t addr, const uint8_t *got, uint64_t len);

/*
 * After an injected failure the kernel may have done part of a call (Linux
 * documents it for mprotect, madvise and MAP_FIXED).  The caller tells the
 * model what the implementation now has for one page: mapped or not, its
 * protection and fork flags; the bytes of a page that stays mapped are kept.
 */
/*
 * Pins (FOLL_PIN) and references (FOLL_GET).  While the mapping under a pin
 * is unchanged (no munmap, MAP_FIXED, MADV_DONTNEED over it), the device
 * sees exactly the bytes the process sees, and the process sees what the
 * device writes.  A short-term read-only pin of a page never written may
 * hold the shared zero page, which Linux does not unshare: those pages are
 * not checked.  A reference keeps the bytes it took, or whatever its own
 * process wrote there since; never another process's bytes.
 *
 * *either: the call may also succeed.  On x86 a write-only or exec-only
 * page is readable, and GUP-fast, which never sees the VMA, pins what the
 * pte allows: a read pin of such a page fails on the slow path but may
 * succeed on the fast one.  Call again with force to take the pin.
 */
#define MODEL_PIN	1
#define MODEL_GET	2
long model_gup(struct model *md, int task, int id, uint64_t addr, uint64_t npages, int kind,
	       bool write, bool longterm, bool force, bool fast, bool *either);
int  model_unpin(struct model *md, int id);
/*
 * A write pin of a lazily freed page dirtied it, so from then on the pin
 * and the process share one page; only its bytes are open (old, or zeros
 * if reclaim dropped it first), and its tags when the bytes cannot tell
 * (old bytes of zeros under tags that are not).  got: page idx of the pin
 * as the device reads it just after the pin.  False if it is neither
 * allowed outcome.
 */
bool model_pin_settle(struct model *md, int id, uint64_t idx, const uint8_t *got);
/*
 * A page written since it was lazily freed has two outcomes (alt); freed
 * again, it would have a third.  The fuzzer reads such a page whole first
 * (model_undecided) and tells the model which one it is (model_read_settle).
 */
bool model_undecided(const struct model *md, int task, uint64_t addr);
/* The undecided page's other outcome (zeros plus the writes since), or NULL. */
const uint8_t *model_alternative(const struct model *md, int task, uint64_t addr);
/* got_tags: the page's 256 tags, one per byte, or NULL if they cannot be read. */
bool model_read_settle(struct model *md, int task, uint64_t addr, const uint8_t *got, const uint8_t *got_tags);

/*
 * Memory tags (PROT_MTE, arm64's 0x20): a 4-bit tag per 16 bytes of a
 * page, zero in a page first mapped, kept by every path (fork, COW, swap).
 * A tag store is a write: it breaks COW and makes a lazily freed page
 * wanted again.  The results are mml_set_tag's and mml_get_tag's.
 * model_tag_alternative: a load disagreed with the model's primary view;
 * is the tag one of Linux's other outcomes (a lazily freed page dropped)?
 * If so the model adopts that outcome.
 */
#define MODEL_PROT_MTE	0x20
int  model_set_tag(struct model *md, int task, uint64_t addr, unsigned tag);
int  model_get_tag(struct model *md, int task, uint64_t addr, unsigned *tag);
bool model_tag_alternative(struct model *md, int task, uint64_t addr, unsigned got);
/* The tags of the page's outcomes, 256 each: its own, and the alternative's (or its own again). */
bool model_tag_outcomes(const struct model *md, int task, uint64_t addr, uint8_t *tags, uint8_t *alt_tags);
/* Does the page at addr have PROT_MTE (its tags can be read)? */
bool model_tagged(const struct model *md, int task, uint64_t addr);
/* The exact bytes the device must read, if the model knows them all. */
bool model_dma_expected(const struct model *md, int id, uint64_t off, uint64_t len, uint8_t *out);
bool model_pin_alive(const struct model *md, int id);
/* The expected result of a DMA call (0, -EINVAL, -EPERM); a write is applied. */
int  model_dma_write(struct model *md, int id, uint64_t off, const void *buf, uint64_t len);
int  model_dma_read_result(const struct model *md, int id, uint64_t off, uint64_t len);
/* Are these bytes, read by the device at off, allowed?  *bad: first offending offset. */
bool model_dma_read_ok(const struct model *md, int id, uint64_t off, const uint8_t *got, uint64_t len,
		       uint64_t *bad, int *want);

/*
 * Devices with their own MMU (mml_device_*), numbered by the caller.  A
 * device mirrors the process of the task it was attached to and follows
 * it: a device load or store is the process's own, at that address now,
 * so model_read and model_write of model_device_task() say its bytes.
 * Which loads and stores HMM allows is model_device_access's business.
 */
int  model_device_attach(struct model *md, int dev, int task);
void model_device_detach(struct model *md, int dev);
/* A live task of the device's process; -1 once the process is gone. */
int  model_device_task(const struct model *md, int dev);
/*
 * HMM's rules for the page at addr (hmm_range_fault): 0; -EFAULT where
 * nothing is mapped or the mapping has no PROT_READ (even a write needs
 * VM_READ); -EPERM for a write without PROT_WRITE; -EINVAL once the
 * process is gone.
 */
int  model_device_access(const struct model *md, int dev, uint64_t addr, bool write);
/*
 * make_device_exclusive of the page at addr: a write GUP (-EFAULT without
 * PROT_WRITE, -EINVAL once the process is gone); the bytes stay, but a
 * lazily freed page is the process's own again, as after a write.
 */
int  model_device_exclusive(struct model *md, int dev, uint64_t addr);
/*
 * Was the page at addr made exclusive by a device (any device: which one
 * holds it the model does not follow) since its protection last changed?
 * Then a device may reach it through that translation where its own
 * fault would be refused (a write-only page: HMM needs VM_READ, a write
 * GUP does not): success with the process's bytes is allowed too.
 */
bool model_device_may_hold(const struct model *md, int dev, uint64_t addr);

/*
 * Files (model_file.c).  A file is bytes and a size: a page past the end
 * (wholly) is SIGBUS to a mapping, growing reads zeros, shrinking zeroes
 * what it cuts off in the last page.  tmpfs (/tmp/NAME, /dev/shm/NAME),
 * memfd and MAP_SHARED|MAP_ANONYMOUS are shmem: what a mapping writes past
 * the end in the last page stays there (and shows when the file grows);
 * a disk file (/disk/NAME) may lose it at writeback, so there those bytes
 * read as written or as zero, until one read shows zero.  A process has
 * a descriptor table (lowest free number; threads share it, fork copies
 * it).  Each call returns what Linux's does.  Writeback, reclaim, swap
 * and drop_caches change nothing here.
 */
#define MODEL_FD_MAX	1024	/* RLIMIT_NOFILE: EMFILE beyond */
int  model_open(struct model *md, int task, const char *path, int flags, unsigned mode);
int  model_memfd(struct model *md, int task, const char *name, unsigned flags);
int  model_close(struct model *md, int task, int fd);
int  model_dup(struct model *md, int task, int fd);
int  model_unlink(struct model *md, int task, const char *path);
int  model_ftruncate(struct model *md, int task, int fd, int64_t len);
/*
 * fallocate and pwrite on a tmpfs mount that may be full: the model
 * cannot say how full (a read fault of a hole may or may not allocate),
 * so -ENOSPC (or, for pwrite, the bytes written before the page that
 * failed) is allowed too.  got: the implementation's result; the model
 * returns it and follows it when it is allowed, else its own.
 */
int  model_fallocate(struct model *md, int task, int fd, int mode, int64_t off, int64_t len, long got);
long model_pread(struct model *md, int task, int fd, void *buf, uint64_t len, int64_t off);
long model_pwrite(struct model *md, int task, int fd, const void *buf, uint64_t len, int64_t off, long got);
/* pread returned other bytes at off: are they allowed (bytes that may read as zero)?  Adopted if so. */
bool model_pread_alternative(struct model *md, int task, int fd, int64_t off, const uint8_t *got, uint64_t len);
/*
 * Bytes that may read as zero instead (a disk file's tail past its end):
 * alt gets own with those zeroed; false if there are none.  For a load
 * at addr, or a pread at off.
 */
bool model_unsure(const struct model *md, int task, uint64_t addr, uint64_t len, const uint8_t *own, uint8_t *alt);
bool model_pread_unsure(const struct model *md, int task, int fd, int64_t off, uint64_t len, const uint8_t *own,
			uint8_t *alt);
int  model_fsync(struct model *md, int task, int fd);
int  model_msync(struct model *md, int task, uint64_t addr, uint64_t len, int flags);
/* mincore's result only: which pages are resident is the implementation's business. */
int  model_mincore(struct model *md, int task, uint64_t addr, uint64_t len);
int  model_drop_caches(struct model *md, int mode);
/* fstat: st_size and st_nlink, the parts that do not depend on the cache. */
int  model_fstat(struct model *md, int task, int fd, uint64_t *size, unsigned *nlink);
/* F_GETFD, F_SETFD, F_GET_SEALS, F_ADD_SEALS: the result (>= 0) or -errno. */
long model_fcntl(struct model *md, int task, int fd, int cmd, long arg);
/* Each tmpfs mount's limit in pages (0: none), as the machine's tmpfs_bytes. */
void model_set_tmpfs_limit(struct model *md, uint64_t pages);
/*
 * A load or store of [addr, addr+len) reaches a tmpfs page that may not
 * be allocated yet while the mount may be full: SIGBUS (-EIO) is allowed.
 */
bool model_access_may_nospc(const struct model *md, int task, uint64_t addr, uint64_t len, bool write);
/* Is descriptor fd open in task's process (for the generator)? */
bool model_fd_open(const struct model *md, int task, int fd);
/* The size of the file fd names in task's process, or -1 (for the generator). */
int64_t model_fd_size(const struct model *md, int task, int fd);
/* Is the file fd names on a size-limited tmpfs mount, /tmp or /dev/shm (for the generator)? */
bool model_fd_tmpfs(const struct model *md, int task, int fd);
/*
 * After the OOM killer interrupted a call on a file (EINTR, whatever the
 * call did by then), the fuzzer reads the file back from the library and
 * the model takes it.  model_fd_file: the file fd names in task's process
 * (0: none); model_path_file: the file a path names (0: none);
 * model_file_fd: a descriptor of task's process on file, readable (-1:
 * none); model_file_patch: the file's size is size and [off, off+n) holds
 * bytes; model_path_set: the name exists (a new empty file if the model
 * had none) or not.
 */
int  model_fd_file(const struct model *md, int task, int fd);
int  model_path_file(const struct model *md, const char *path);
int  model_file_fd(const struct model *md, int task, int file);
void model_file_patch(struct model *md, int file, uint64_t size, uint64_t off, const uint8_t *bytes, uint64_t n);
int  model_path_set(struct model *md, const char *path, bool exists);
/* The file a shared page at addr of task's process maps, and the page's index in it (0: none). */
int  model_shared_file_at(const struct model *md, int task, uint64_t addr, uint64_t *pgoff);
/*
 * fs-DAX (/pmem, model_dax.c).  model_ficlone: ioctl(FICLONE) of src_fd
 * onto dst_fd.  Would the call wait for a pin (the fuzzer has one thread,
 * so it must not make it): a truncate, punch, FICLONE or write of the
 * file fd names, the unlink or O_TRUNC open of path, MADV_REMOVE of
 * [addr, addr + len); or (pin) would a pin there hold a block of a file
 * with no name, whose eviction would wait for it?
 */
int  model_ficlone(struct model *md, int task, int dst_fd, int src_fd);
/* A FICLONE that failed part way: both files may share blocks now (what dst holds, the fuzzer reads). */
void model_ficlone_failed(struct model *md, int task, int dst_fd, int src_fd);
bool model_fd_dax_busy(const struct model *md, int task, int fd);
bool model_path_dax_busy(const struct model *md, const char *path);
bool model_range_dax_busy(const struct model *md, int task, uint64_t addr, uint64_t len, bool pin);
/* Is the file fd names in task's process in /pmem (for the generator)? */
bool model_fd_pmem(const struct model *md, int task, int fd);
/* Live inodes of the file systems (for the generator, which keeps memory bounded). */
int  model_nr_files(const struct model *md);
/*
 * The disk's files at the end of a run: the i-th file named in /disk
 * (NULL after the last).  model_disk_check compares the host file's bytes
 * with the model's: 0, or the first bad offset + 1 (*want: the byte the
 * model has there, -1 for a wrong size).
 */
const char *model_disk_file(const struct model *md, int i, uint64_t *size);
/* The index for model_disk_file of the /disk file fd names in task's process, or -1. */
int  model_fd_disk_index(const struct model *md, int task, int fd);
uint64_t model_disk_check(const struct model *md, int i, const uint8_t *host, uint64_t n, int *want);
/*
 * A writeback of a disk file may have failed: Linux leaves the folio clean
 * (mapping_set_error), so once the cache drops it the file reads as the
 * disk holds.  Each byte of the i-th disk file that its host file (n
 * bytes) does not hold may read as the host's from now on, until written.
 * 0 or -ENOMEM.
 */
int  model_disk_writeback_lost(struct model *md, int i, const uint8_t *host, uint64_t n);
/*
 * The same for the disk files no name leads to, whose host files are gone
 * too: the model takes what a file never written back holds, zeros.
 */
int  model_unlinked_writeback_lost(struct model *md);

/*
 * /proc/PID/clear_refs and process_madvise(2) (model_refs.c).
 * model_clear_refs: 1..4 as Linux takes them (EINVAL otherwise); 4 starts
 * soft-dirty tracking over.  unsure: a migration was held half way, whose
 * writable entry may come back writable and clean (Linux 6.18's
 * remove_migration_pte): the process's stores may go unseen until the
 * next clear_refs 4.  model_process_madvise: task advises target's ranges
 * (addr[i], len[i]) as vector_madvise does (not MADV_COLLAPSE: the
 * fuzzer judges it as madvise's); the bytes advised before the first
 * failure, else the failure.  model_soft_dirty: must pagemap show the
 * page at addr soft-dirty (a store since the last clear_refs 4)?  Never
 * the other way round (VM_SOFTDIRTY of VMAs the model does not know).
 */
int  model_clear_refs(struct model *md, int task, int type, bool unsure);
/*
 * KSM (model_ksm.c): prctl's PR_SET_MEMORY_MERGE and PR_GET_MEMORY_MERGE
 * (-EINVAL for another option); a ksm_stat field the model knows
 * (ksm_merge_any), -ENOENT for the others.
 */
long model_prctl(struct model *md, int task, int option, unsigned long arg);
long model_ksm_stat(const struct model *md, int task, const char *field);
/*
 * /sys/kernel/mm/ksm/use_zero_pages was set to 1: from now on KSM may have
 * put the shared zero page where a zero-filled anonymous page was (and it
 * stays there when the knob goes back to 0), which a short-term read-only
 * pin takes as it is (model_gup).
 */
void model_set_ksm_zero_pages(struct model *md);
long model_process_madvise(struct model *md, int task, int target, const uint64_t *addr, const uint64_t *len,
			   int n, int advice, unsigned flags);
bool model_soft_dirty(const struct model *md, int task, uint64_t addr);

#define MODEL_DONTFORK		0x1u
#define MODEL_WIPEONFORK	0x2u
#define MODEL_HUGEPAGE		0x80u
#define MODEL_NOHUGEPAGE	0x100u
#define MODEL_LOCKED		0x400u
#define MODEL_LOCKONFAULT	0x800u
#define MODEL_ACCOUNT		0x10000u	/* VM_ACCOUNT */
#define MODEL_NORESERVE		0x40000u	/* VM_NORESERVE */
#define MODEL_UFFD_MISSING	0x100000u	/* VM_UFFD_MISSING (model_uffd.c) */
#define MODEL_UFFD_WP		0x200000u	/* VM_UFFD_WP */
void model_resync_page(struct model *md, int task, uint64_t addr, bool mapped, int prot, unsigned flags);

/*
 * Transparent huge pages (model_thp.c).  A THP changes no byte: faults,
 * splits, collapses, khugepaged and the deferred split queue are the
 * implementation's business, and the model sees only the calls' rules.
 * MADV_HUGEPAGE and MADV_NOHUGEPAGE set a flag of each page of the range
 * (model_madvise; the layout check compares them with VmFlags hg, nh).
 *
 * MADV_COLLAPSE: whether a range can be collapsed depends on what the
 * model does not follow (which VMAs have an anon_vma, where they begin,
 * pins, locks, free memory), so the implementation's result got is
 * judged: -EINVAL at once when the first mapped page is in a VMA that
 * may have no THP (VM_NOHUGEPAGE, a file or shared memory: mmlab builds
 * no file THP); success only if no page of the range is unmapped or
 * such; otherwise any of MADV_COLLAPSE's errors (EINVAL, ENOMEM, EAGAIN;
 * EBUSY needs a memcg or uffd, which mmlab has not).  Returns the result
 * the model allows (got if it is allowed).
 */
/* *nout: how many results are allowed, in out (0 for success, else a positive errno; 4 at most). */
/*
 * Shmem files may have huge pages (a --thp --files run): a page past the
 * end of one, within its last huge page, may be accessible (Linux maps
 * the huge page whole).  Set before any file is made.
 */
void model_set_shmem_huge(struct model *md, bool on);
/* Does [addr, addr+len) fail only on such pages? */
bool model_past_eof_maybe(const struct model *md, int task, uint64_t addr, uint64_t len);
/* Let model_read/model_write through such pages (the library did), or not. */
void model_allow_past_eof(struct model *md, bool on);
int  model_madvise_collapse(struct model *md, int task, uint64_t addr, uint64_t len, long got, int *out, int *nout);
/*
 * The tunable files the fuzzer writes: /sys/kernel/mm/transparent_hugepage/
 * enabled, defrag, use_zero_page, khugepaged/{defrag, max_ptes_none,
 * max_ptes_swap, max_ptes_shared, pages_to_scan}, hugepages-<size>kB/
 * enabled, and one path that does not exist.  model_sys_write: the result
 * of writing value (0, -EINVAL as each store parses it, -ERANGE where
 * kstrtoul overflows, -ENOENT); the model keeps what it stored.
 * model_sys_text: what reading the file shows (false: no such file).
 */
#define MODEL_THP_KNOBS	16
int  model_thp_knobs(void);
const char *model_thp_knob_path(int knob);
#define MODEL_SHMEM_ENABLED_KNOB	12	/* the index of transparent_hugepage/shmem_enabled */
int  model_sys_write(struct model *md, int knob, const char *value);
bool model_sys_text(const struct model *md, int knob, char *buf, size_t n);

/*
 * The commit (model_commit.c): what Committed_AS must read, and what
 * each call asks __vm_enough_memory for.  The model follows VM_ACCOUNT
 * page by page: mmap of private writable memory (not MAP_NORESERVE
 * outside mode 2) sets it, mprotect making a private range writable
 * sets it, mprotect taking write away clears it where the VMA has no
 * anon_vma -- which the model knows only where a page of its own shows
 * one (it holds its own bytes), so elsewhere the charge is perhaps
 * there; fork copies it, munmap and exit end it.  shmem: a shared
 * anonymous mapping charges its size, unless MAP_NORESERVE; tmpfs and
 * memfd files (and those) a page as it is allocated, which the model
 * knows between the pages holding bytes and the pages anything touched.
 * Counts are in pages; lo <= hi.
 */
void model_set_overcommit(struct model *md, int mode);
void model_committed(const struct model *md, int64_t *lo, int64_t *hi);
/* The pages task's process maps (mm->total_vm). */
uint64_t model_total_vm(const struct model *md, int task);
/*
 * The charge a call would ask for before it changes anything, if it
 * succeeds as far as its other checks go: mmap (less what a MAP_FIXED
 * mapping's accounted pages pass to it), mprotect (the pages up to the
 * first hole that it makes writable and that have no charge yet), fork
 * (the copies of the accounted pages), mremap growing or duplicating an
 * accounted range.  mprotect and fork ask VMA by VMA, in parts the
 * model cannot see; the sum is what the last part is judged with.
 */
void model_charge_mmap(const struct model *md, int task, uint64_t addr, uint64_t len, int prot, int flags,
		       int64_t *lo, int64_t *hi);
void model_charge_mprotect(const struct model *md, int task, uint64_t addr, uint64_t len, int prot,
			   int64_t *lo, int64_t *hi);
void model_charge_fork(const struct model *md, int task, int64_t *lo, int64_t *hi);
void model_charge_mremap(const struct model *md, int task, uint64_t addr, uint64_t old_len, uint64_t new_len,
			 int flags, uint64_t new_addr, int64_t *lo, int64_t *hi);

#endif /* MML_ORACLE_MODEL_H */
