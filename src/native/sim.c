/*
 * sim.c - the mmlab back end of a conformance run: the same calls as the
 * scenario interpreter (scenario/run.c) makes, through the public API,
 * on a machine configured by the file's "machine" statement.
 *
 * Where mmlab knowingly lacks what Linux has (deviations.md), the call
 * is skipped with the deviation as the reason rather than answered with
 * a placeholder, so that a conformance run never counts a missing
 * feature as agreement or as a disagreement (a counter mmlab does not
 * keep, for now).
 */
#define _GNU_SOURCE	/* F_ADD_SEALS, F_GET_SEALS */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include "mmlab.h"
#include "native/conform.h"
#include "native/host.h"
#include "scenario/command.h"

struct sim {
	struct mml_machine *m;
	struct mml_task **task;		/* NULL once exited */
	int ntask, captask;
	struct mml_pin **pin;
	int npin, cappin;
	int *swap;			/* device ids; -1 once swapped off */
	int nswap, capswap;
	/* userfaultfds by handle, and the server of each (NULL: none) */
	struct mml_uffd *uffd[64];
	struct scn_uffd_server *srv[64];
	int nuffd;
};

static struct sim *S(struct cf_backend *b)
{
	return b->priv;
}

static int push(void ***arr, int *n, int *cap, void *v)
{
	if (*n == *cap) {
		int c = *cap ? *cap * 2 : 16;
		void **a = realloc(*arr, c * sizeof(void *));

		if (!a)
			return -ENOMEM;
		*arr = a;
		*cap = c;
	}
	(*arr)[*n] = v;
	return (*n)++;
}

static int sim_start(struct cf_backend *b, const struct scn_op *op)
{
	struct mml_config cfg = { .flags = MML_CHECK_EVERY_OP | MML_QUIET };

	char min_addr[32];

	scn_machine_config(op, &cfg);
	S(b)->m = mml_machine_new(&cfg);
	if (!S(b)->m)
		return -ENOMEM;
	/* Host configuration is read, not assumed: the simulated machine takes the host's mmap_min_addr. */
	if (cf_host_read_file("/proc/sys/vm/mmap_min_addr", min_addr, sizeof(min_addr)) > 0 &&
	    mml_sys_write(S(b)->m, "/proc/sys/vm/mmap_min_addr", min_addr) < 0)
		return -EINVAL;
	return 0;
}

static const char *sim_stop(struct cf_backend *b)
{
	struct sim *s = S(b);
	int i, ret;

	/* Servers stop first (their userfaultfds go with the processes, or at power-off). */
	for (i = 0; i < s->nuffd; i++)
		scn_uffd_server_free(s->srv[i]);
	for (i = s->ntask - 1; i >= 0; i--)
		if (s->task[i])
			mml_exit(s->task[i]);
	for (i = 0; i < s->npin; i++)
		mml_unpin(s->pin[i]);
	ret = s->m ? mml_machine_free(s->m) : 0;
	free(s->task);
	free(s->pin);
	free(s->swap);
	memset(s, 0, sizeof(*s));
	return ret ? "mmlab: leak or broken invariant found at teardown" : NULL;
}

static long sim_reports(struct cf_backend *b)
{
	return S(b)->m ? mml_report_count(S(b)->m) : 0;
}

static int sim_task(struct cf_backend *b, int kind, int parent, int *child)
{
	struct sim *s = S(b);
	struct mml_task *t = NULL;
	int r;

	if (kind == SCN_OP_SPAWN)
		r = mml_spawn(s->m, &t);
	else if (kind == SCN_OP_THREAD)
		r = mml_thread_new(s->task[parent], &t);
	else
		r = mml_fork(s->task[parent], &t);
	if (r < 0)
		return r;
	*child = push((void ***)&s->task, &s->ntask, &s->captask, t);
	return *child < 0 ? *child : 0;
}

static int sim_exit(struct cf_backend *b, int task)
{
	int r = mml_exit(S(b)->task[task]);

	if (r == 0)
		S(b)->task[task] = NULL;
	return r;
}

static int64_t sim_mmap(struct cf_backend *b, int task, uint64_t addr, uint64_t len,
			long prot, long flags, long fd, int64_t off)
{
	long r = mml_mmap(S(b)->task[task], addr, len, (int)prot, (int)flags,
			  (int)fd, off);

	return r < 0 && r >= -4095 ? r : (int64_t)(uint64_t)r;
}

static int64_t sim_mremap(struct cf_backend *b, int task, uint64_t old_addr, uint64_t old_len,
			  uint64_t new_len, long flags, uint64_t new_addr)
{
	long r = mml_mremap(S(b)->task[task], old_addr, old_len, new_len, (int)flags, new_addr);

	return r < 0 && r >= -4095 ? r : (int64_t)(uint64_t)r;
}

static int64_t sim_numa(struct cf_backend *b, int task, const struct cf_numa *c, int *status)
{
	struct mml_task *t = S(b)->task[task];
	unsigned long m1 = (unsigned long)c->nodes, m2 = (unsigned long)c->nodes2;
	uint64_t page = c->addr & ~(uint64_t)(mml_page_size() - 1);
	int node = c->node;

	switch (c->kind) {
	case SCN_OP_SET_MEMPOLICY:
		return mml_set_mempolicy(t, (int)c->mode, &m1, 65);
	case SCN_OP_MBIND:
		return mml_mbind(t, c->addr, c->len, (int)c->mode, &m1, 65, (unsigned)c->flags);
	case SCN_OP_MIGRATE_PAGES:
		return mml_migrate_pages(t, 65, &m1, &m2);
	case SCN_OP_EXPECT_NODE:
		return mml_move_pages(t, 1, &page, NULL, status, 0);
	case SCN_OP_EXPECT_MEMPOLICY: {
		int mode = 0;
		long r = mml_get_mempolicy(t, &mode, &m1, 65, 0, 0);

		*status = (int)m1;
		return r < 0 ? r : mode;
	}
	default: {
		uint64_t *pages = calloc(c->len ? c->len : 1, sizeof(*pages));
		int *nodes = calloc(c->len ? c->len : 1, sizeof(*nodes));
		int *st = calloc(c->len ? c->len : 1, sizeof(*st));
		int64_t r = -ENOMEM;

		if (pages && nodes && st) {
			for (uint64_t i = 0; i < c->len; i++) {
				pages[i] = page + i * mml_page_size();
				nodes[i] = node;
			}
			r = mml_move_pages(t, c->len, pages, nodes, st, (int)c->flags);
		}
		free(pages);
		free(nodes);
		free(st);
		return r;
	}
	}
}

static int sim_range(struct cf_backend *b, int kind, int task, uint64_t addr,
		     uint64_t len, long arg)
{
	struct mml_task *t = S(b)->task[task];

	if (kind == SCN_OP_MUNMAP)
		return mml_munmap(t, addr, len);
	if (kind == SCN_OP_MPROTECT)
		return mml_mprotect(t, addr, len, (int)arg);
	return mml_madvise(t, addr, len, (int)arg);
}

static unsigned char *filled(uint64_t len, const struct scn_pattern *pat)
{
	unsigned char *buf = malloc(len ? len : 1);
	uint64_t i;

	for (i = 0; buf && i < len; i++)
		buf[i] = pat->bytes[i % pat->n];
	return buf;
}

static int sim_write(struct cf_backend *b, int task, uint64_t addr, uint64_t len,
		     const struct scn_pattern *pat)
{
	unsigned char *buf = filled(len, pat);
	int r;

	if (!buf)
		return -ENOMEM;
	r = mml_write(S(b)->task[task], addr, buf, len);
	free(buf);
	return r;
}

static int sim_read(struct cf_backend *b, int task, uint64_t addr, uint64_t len,
		    unsigned char *buf)
{
	return mml_read(S(b)->task[task], addr, buf, len);
}

static int sim_pagemap(struct cf_backend *b, int task, uint64_t addr, uint64_t n,
		       uint64_t *e)
{
	uint64_t i;
	int r;

	for (i = 0; i < n; i++) {
		r = mml_pagemap(S(b)->task[task], addr + i * mml_page_size(), &e[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

static int sim_vmas(struct cf_backend *b, int task, uint64_t lo, uint64_t hi)
{
	char *text = NULL, *line;
	size_t n = 0;
	FILE *f = open_memstream(&text, &n);
	unsigned long long s, e;
	int count = 0, r;

	if (!f)
		return -ENOMEM;
	r = mml_show_maps(S(b)->task[task], f);
	fclose(f);
	for (line = text; r >= 0 && line && *line; line = strchr(line, '\n'),
	     line = line ? line + 1 : NULL)
		if (sscanf(line, "%llx-%llx", &s, &e) == 2 && s < hi && e > lo)
			count++;
	free(text);
	return r < 0 ? r : count;
}

static int sim_smaps(struct cf_backend *b, int task, uint64_t addr, const char *field,
		     int64_t *kb, uint64_t *lo, uint64_t *hi)
{
	char *text = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&text, &n);
	int r;

	if (!f)
		return -ENOMEM;
	r = mml_show_smaps(S(b)->task[task], f);
	fclose(f);
	if (r >= 0)
		r = scn_smaps_field(text, addr, field, kb, lo, hi);
	free(text);
	return r;
}

/* As the interpreter runs "khugepaged scan" (scenario/cmd_thp.c). */
static int sim_khugepaged(struct cf_backend *b, uint64_t pages)
{
	long r = scn_khugepaged_full_scans(S(b)->m, pages);

	if (r == -ETIMEDOUT) {
		snprintf(b->why, sizeof(b->why), "mmlab: khugepaged made no two full scans "
			 "(no mm registered with it?)");
		return -CF_SKIP;
	}
	return r < 0 ? (int)r : 0;
}

/* As the interpreter runs "ksm scan" (scenario/cmd_ksm.c). */
static int sim_ksm(struct cf_backend *b, uint64_t pages)
{
	long r = scn_ksm_full_scans(S(b)->m, pages);

	if (r == -ETIMEDOUT) {
		snprintf(b->why, sizeof(b->why), "mmlab: ksm made no two full scans");
		return -CF_SKIP;
	}
	return r < 0 ? (int)r : 0;
}

static long sim_prctl(struct cf_backend *b, int task, int option, unsigned long arg)
{
	return mml_prctl(S(b)->task[task], option, arg);
}

static int sim_ksm_stat(struct cf_backend *b, int task, const char *field, long *v)
{
	long r = mml_ksm_stat(S(b)->task[task], field);

	if (r < 0)
		return (int)r;
	*v = r;
	return 0;
}

static int sim_stat(struct cf_backend *b, enum scn_stat_src src, const char *name,
		    bool delta, long *v)
{
	long r = src == SCN_VMSTAT ? mml_vmstat(S(b)->m, name) : mml_meminfo(S(b)->m, name);

	if (r == -ENOENT) {
		snprintf(b->why, sizeof(b->why), "mmlab does not count %s "
			 "(deviations.md #10)", name);
		return -CF_SKIP;
	}
	*v = r;
	return 0;
}

static int64_t sim_pin(struct cf_backend *b, int task, uint64_t addr, uint64_t npages,
		       long foll, bool get, bool keep, int *pin)
{
	struct sim *s = S(b);
	struct mml_pin *p = NULL;
	long r;

	if (get)
		r = mml_get_user_pages(s->task[task], addr, npages, (unsigned)foll, &p);
	else
		r = mml_pin_user_pages(s->task[task], addr, npages, (unsigned)foll, &p);
	if (r <= 0 || !keep) {
		mml_unpin(p);
		return r;
	}
	*pin = push((void ***)&s->pin, &s->npin, &s->cappin, p);
	if (*pin < 0) {
		mml_unpin(p);
		return -ENOMEM;
	}
	return r;
}

static void sim_unpin(struct cf_backend *b, int pin)
{
	mml_unpin(S(b)->pin[pin]);
	S(b)->pin[pin] = NULL;
}

static int sim_dma_read(struct cf_backend *b, int pin, uint64_t off, uint64_t len,
			unsigned char *buf)
{
	return mml_dma_read(S(b)->pin[pin], off, buf, len);
}

static int sim_dma_write(struct cf_backend *b, int pin, uint64_t off, uint64_t len,
			 const struct scn_pattern *pat)
{
	unsigned char *buf = filled(len, pat);
	int r;

	if (!buf)
		return -ENOMEM;
	r = mml_dma_write(S(b)->pin[pin], off, buf, len);
	free(buf);
	return r;
}

static int sim_pin_pfn(struct cf_backend *b, int pin, uint64_t i, uint64_t *pfn)
{
	*pfn = mml_pin_pfn(S(b)->pin[pin], i);
	return 0;
}

/*
 * As the interpreter does (scenario/run.c): a file device is a fresh
 * mkstemp name in $TMPDIR or /tmp, unlinked once mml_swapon has opened it.
 */
static int sim_swapon(struct cf_backend *b, uint64_t bytes, int prio, bool file,
		      bool keep, int *swap)
{
	struct sim *s = S(b);
	char path[4096];
	int r;

	if (file && (r = scn_swap_file_new(path, sizeof(path))) < 0) {
		snprintf(b->why, sizeof(b->why), "mmlab: cannot create a swap file: %s", strerror(-r));
		return -CF_SKIP;
	}
	r = mml_swapon(s->m, file ? path : NULL, bytes, prio);
	if (file)
		unlink(path);
	if (r < 0)
		return r;
	if (!keep) {
		mml_swapoff(s->m, r);
		return 0;
	}
	if (s->nswap == s->capswap) {
		int c = s->capswap ? s->capswap * 2 : 8;
		int *n = realloc(s->swap, c * sizeof(*n));

		if (!n) {
			mml_swapoff(s->m, r);
			return -ENOMEM;
		}
		s->swap = n;
		s->capswap = c;
	}
	s->swap[s->nswap] = r;
	*swap = s->nswap++;
	return 0;
}

static int sim_swapoff(struct cf_backend *b, int swap)
{
	struct sim *s = S(b);
	int r = mml_swapoff(s->m, s->swap[swap]);	/* -1 once off: EINVAL */

	if (r == 0)
		s->swap[swap] = -1;
	return r;
}

static int64_t sim_reclaim(struct cf_backend *b, uint64_t npages)
{
	return mml_reclaim(S(b)->m, npages);
}

static int sim_tag(struct cf_backend *b, int task, uint64_t addr, bool write, unsigned *tag)
{
	return write ? mml_set_tag(S(b)->task[task], addr, *tag) : mml_get_tag(S(b)->task[task], addr, tag);
}

static int sim_sys_write(struct cf_backend *b, const char *path, const char *value)
{
	return mml_sys_write(S(b)->m, path, value);
}

static long sim_sys_read(struct cf_backend *b, const char *path, char *out, size_t n)
{
	long r = mml_sys_read(S(b)->m, path, out, n - 1);

	if (r >= 0)
		out[r] = '\0';
	return r;
}

static int sim_kpageflags(struct cf_backend *b, uint64_t pfn, uint64_t *flags)
{
	return mml_kpageflags(S(b)->m, pfn, flags);
}

static long sim_process_madvise(struct cf_backend *b, int task, int target, uint64_t addr, uint64_t len,
				long advice)
{
	struct iovec iov = { (void *)(uintptr_t)addr, len };

	return mml_process_madvise(S(b)->task[task], S(b)->task[target], &iov, 1, (int)advice, 0);
}

static int sim_clear_refs(struct cf_backend *b, int task, int type)
{
	return mml_clear_refs(S(b)->task[task], type);
}

/* A fill's result as the statement judges it: part of the range is the ioctl's EAGAIN. */
static int64_t fill_result(long r, uint64_t len)
{
	return r >= 0 && (uint64_t)r < len ? -EAGAIN : r >= 0 ? 0 : r;
}

/* The handle of u, made if new (a fork message's child); -1 if the table is full. */
static int sim_uffd_handle(struct sim *s, struct mml_uffd *u)
{
	for (int i = 0; i < s->nuffd; i++)
		if (s->uffd[i] == u)
			return i;
	if (s->nuffd == 64)
		return -1;
	s->uffd[s->nuffd] = u;
	return s->nuffd++;
}

static int64_t sim_uffd(struct cf_backend *b, int task, const struct cf_uffd *c, struct uffd_msg *msg, int *child)
{
	struct sim *s = S(b);
	struct mml_uffd *u = c->kind == SCN_OP_UFFD_NEW || c->h < 0 || c->h >= s->nuffd ? NULL : s->uffd[c->h];
	long r;

	switch (c->kind) {
	case SCN_OP_UFFD_NEW:
		if (s->nuffd == 64)
			return -ENOMEM;
		r = mml_uffd_new(s->task[task], (uint64_t)c->flags, &u);
		return r < 0 ? r : sim_uffd_handle(s, u);
	case SCN_OP_UFFD_REGISTER:
		return mml_uffd_register(u, c->addr, c->len, (uint64_t)c->flags);
	case SCN_OP_UFFD_UNREGISTER:
		return mml_uffd_unregister(u, c->addr, c->len);
	case SCN_OP_UFFD_WRITEPROTECT:
		return mml_uffd_writeprotect(u, c->addr, c->len, (int)c->value);
	case SCN_OP_UFFD_COPY:
		return fill_result(mml_uffd_copy(u, c->addr, c->page, c->len, (uint64_t)c->flags), c->len);
	case SCN_OP_UFFD_ZEROPAGE:
		return fill_result(mml_uffd_zeropage(u, c->addr, c->len, (uint64_t)c->flags), c->len);
	case SCN_OP_UFFD_CONTINUE:
		return fill_result(mml_uffd_continue(u, c->addr, c->len, (uint64_t)c->flags), c->len);
	case SCN_OP_UFFD_SERVE:
		scn_uffd_server_free(s->srv[c->h]);
		s->srv[c->h] = scn_uffd_serve(u, (int)c->value, c->page);
		return s->srv[c->h] ? 0 : -ENOMEM;
	case SCN_OP_UFFD_JOIN:
		return s->srv[c->h] ? scn_uffd_join(s->srv[c->h], false) : -EINVAL;
	case SCN_OP_UFFD_CLOSE:
		r = mml_uffd_free(u);
		scn_uffd_server_free(s->srv[c->h]);
		s->srv[c->h] = NULL;
		s->uffd[c->h] = NULL;
		return r;
	default:
		if (!scn_uffd_next_msg(s->srv[c->h], msg) && (r = mml_uffd_read_event(u, msg)) < 0)
			return r;
		if (msg->event == UFFD_EVENT_FORK) {
			struct mml_uffd *cu = mml_uffd_get(s->m, msg->arg.fork.ufd);

			*child = cu ? sim_uffd_handle(s, cu) : -1;
		}
		return 0;
	}
}

static int sim_lock(struct cf_backend *b, int task, enum scn_op_kind kind, uint64_t addr, uint64_t len, long flags)
{
	struct mml_task *t = S(b)->task[task];
	struct rlimit rl;

	switch (kind) {
	case SCN_OP_MLOCK:
		return mml_mlock(t, addr, len);
	case SCN_OP_MLOCK2:
		return mml_mlock2(t, addr, len, (unsigned)flags);
	case SCN_OP_MUNLOCK:
		return mml_munlock(t, addr, len);
	case SCN_OP_MLOCKALL:
		return mml_mlockall(t, (int)flags);
	case SCN_OP_MUNLOCKALL:
		return mml_munlockall(t);
	default:
		rl.rlim_cur = rl.rlim_max = len == UINT64_MAX ? RLIM_INFINITY : (rlim_t)len;
		return mml_setrlimit(t, RLIMIT_MEMLOCK, &rl);
	}
}

/* The debugfs file, as split_huge_pages writes it in `mmlab run`. */
static int sim_split_huge_pages(struct cf_backend *b, int task, uint64_t start, uint64_t end)
{
	char buf[96];

	snprintf(buf, sizeof(buf), "%d,0x%llx,0x%llx", mml_task_pid(S(b)->task[task]),
		 (unsigned long long)start, (unsigned long long)end);
	return mml_sys_write(S(b)->m, "/sys/kernel/debug/split_huge_pages", buf);
}

static int sim_fail(struct cf_backend *b, const struct mml_fail *f)
{
	return mml_fail_set(S(b)->m, f);
}

/* As the interpreter calls them (scenario/cmd_file.c), paths as they are. */
static int64_t sim_fcall(struct cf_backend *b, int task, const struct cf_fcall *c, void *out)
{
	struct mml_task *t = task >= 0 ? S(b)->task[task] : NULL;
	int fd = (int)c->fd;
	unsigned char *buf;
	struct stat st;
	int64_t r;

	switch (c->kind) {
	case SCN_OP_OPEN:
		return mml_open(t, c->path, (int)c->flags, (unsigned)c->mode);
	case SCN_OP_MEMFD:
		return mml_memfd_create(t, c->path, (unsigned)c->flags);
	case SCN_OP_DUP:
		return mml_dup(t, fd);
	case SCN_OP_CLOSE:
		return mml_close(t, fd);
	case SCN_OP_UNLINK:
		return mml_unlink(t, c->path);
	case SCN_OP_FTRUNCATE:
		return mml_ftruncate(t, fd, (int64_t)c->len);
	case SCN_OP_FALLOCATE:
		return mml_fallocate(t, fd, (int)c->flags, c->off, (int64_t)c->len);
	case SCN_OP_FSYNC:
		return mml_fsync(t, fd);
	case SCN_OP_MSYNC:
		return mml_msync(t, c->addr, c->len, (int)c->flags);
	case SCN_OP_SEAL:
		return mml_fcntl(t, fd, F_ADD_SEALS, c->flags);
	case SCN_OP_EXPECT_SEALS:
		return mml_fcntl(t, fd, F_GET_SEALS, 0);
	case SCN_OP_DROP_CACHES:
		return mml_drop_caches(S(b)->m, (int)c->flags);
	case SCN_OP_PREAD:
		return mml_pread(t, fd, out, c->len, c->off);
	case SCN_OP_PWRITE:
		buf = filled(c->len, c->pat);
		if (!buf)
			return -ENOMEM;
		r = mml_pwrite(t, fd, buf, c->len, c->off);
		free(buf);
		return r;
	case SCN_OP_EXPECT_MINCORE:
		return mml_mincore(t, c->addr, c->len, out);
	case SCN_OP_EXPECT_FSTAT:
		r = mml_fstat(t, fd, &st);
		if (r == 0)
			*(struct cf_stat *)out = (struct cf_stat){ st.st_size, st.st_blocks,
								   (int64_t)st.st_nlink };
		return r;
	case SCN_OP_FICLONE:
		return mml_ficlone(t, fd, (int)c->src_fd);
	case SCN_OP_EXPECT_STATVFS:
		return mml_statvfs(t, c->path, out);
	}
	snprintf(b->why, sizeof(b->why), "mmlab: no file call for statement kind %d", c->kind);
	return -CF_SKIP;
}

void cf_sim_init(struct cf_backend *b)
{
	memset(b, 0, sizeof(*b));
	b->name = "mmlab";
	b->priv = calloc(1, sizeof(struct sim));
	b->start = sim_start;
	b->stop = sim_stop;
	b->reports = sim_reports;
	b->task = sim_task;
	b->exit = sim_exit;
	b->mmap = sim_mmap;
	b->mremap = sim_mremap;
	b->numa = sim_numa;
	b->range = sim_range;
	b->write = sim_write;
	b->read = sim_read;
	b->pagemap = sim_pagemap;
	b->vmas = sim_vmas;
	b->smaps = sim_smaps;
	b->khugepaged = sim_khugepaged;
	b->ksm = sim_ksm;
	b->prctl = sim_prctl;
	b->ksm_stat = sim_ksm_stat;
	b->stat = sim_stat;
	b->pin = sim_pin;
	b->unpin = sim_unpin;
	b->dma_read = sim_dma_read;
	b->dma_write = sim_dma_write;
	b->pin_pfn = sim_pin_pfn;
	b->swapon = sim_swapon;
	b->swapoff = sim_swapoff;
	b->reclaim = sim_reclaim;
	b->tag = sim_tag;
	b->fail = sim_fail;
	b->fcall = sim_fcall;
	b->sys_write = sim_sys_write;
	b->sys_read = sim_sys_read;
	b->kpageflags = sim_kpageflags;
	b->split_huge_pages = sim_split_huge_pages;
	b->clear_refs = sim_clear_refs;
	b->lock = sim_lock;
	b->process_madvise = sim_process_madvise;
	b->uffd = sim_uffd;
}

void cf_sim_free(struct cf_backend *b)
{
	free(b->priv);
	b->priv = NULL;
}
