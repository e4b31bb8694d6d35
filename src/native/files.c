/*
 * files.c - the scenario's file systems on the host, for the runner.
 *
 * A scenario names files as mmlab's machine mounts them: "/tmp/NAME" and
 * "/dev/shm/NAME" are tmpfs (two mounts, shmem files), "/disk/NAME" is a
 * disk file system.  The host's own /tmp, /dev/shm and disk are not the
 * scenario's to touch, so each run gets private directories, made when
 * the first path needs them and removed at the end of the file:
 *
 *	/dev/shm/mmlab-conform-XXXXXX/tmp/NAME	"/tmp/NAME"
 *	/dev/shm/mmlab-conform-XXXXXX/shm/NAME	"/dev/shm/NAME"
 *	/var/tmp/mmlab-conform-XXXXXX/NAME	"/disk/NAME"
 *
 * The first must be tmpfs and the second must not be (a host whose
 * /var/tmp is tmpfs has no disk file system to offer): a path on one
 * that is missing is skipped, naming why.  Only NAME directly under a
 * mount point has a counterpart; any other path is skipped, never
 * followed out of the private directories.
 *
 * Removal is async-signal-safe (getdents64 and unlinkat), so that the
 * runner's signal handler can do it too (runner.c, cf_emerg_arm).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "native/host.h"

#define SHM_BASE	"/dev/shm"
#define DISK_BASE	"/var/tmp"

/* Read by the signal handler: plain arrays, set before they count. */
static char shm_root[128], disk_root[128];
static volatile sig_atomic_t shm_made, disk_made;

static const struct {
	const char *prefix;	/* the scenario's mount point */
	bool disk;
	const char *sub;	/* under the tmpfs root */
} mounts[] = {
	{ "/tmp/", false, "tmp" },
	{ "/dev/shm/", false, "shm" },
	{ "/disk/", true, NULL },
};

static int skip(struct cf_backend *b, const char *fmt, const char *arg)
{
	snprintf(b->why, sizeof(b->why), fmt, arg);
	return -CF_SKIP;
}

/* A private directory under base, on a file system of the kind wanted. */
static int make_root(struct cf_backend *b, const char *base, bool disk, char *root, size_t n)
{
	struct statfs fs;
	bool tmpfs;

	if (statfs(base, &fs) < 0)
		return skip(b, "no %s on this host", base);
	tmpfs = fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC;
	if (disk && tmpfs)
		return skip(b, "%s is tmpfs here: the host offers no disk file system for /disk/",
			    base);
	if (!disk && !tmpfs)
		return skip(b, "%s is not tmpfs here: the host offers no tmpfs for /tmp/ and "
			    "/dev/shm/", base);
	snprintf(root, n, "%s/mmlab-conform-XXXXXX", base);
	if (!mkdtemp(root)) {
		root[0] = '\0';
		return skip(b, "cannot make a private directory in %s", base);
	}
	cf_emerg_arm();
	return 0;
}

static int roots(struct cf_backend *b, bool disk)
{
	char sub[256];
	int r;

	if (disk) {
		if (disk_made)
			return 0;
		r = make_root(b, DISK_BASE, true, disk_root, sizeof(disk_root));
		disk_made = r == 0;
		return r;
	}
	if (shm_made)
		return 0;
	r = make_root(b, SHM_BASE, false, shm_root, sizeof(shm_root));
	if (r < 0)
		return r;
	shm_made = 1;
	snprintf(sub, sizeof(sub), "%s/tmp", shm_root);
	r = mkdir(sub, 0700);
	snprintf(sub, sizeof(sub), "%s/shm", shm_root);
	if (r < 0 || mkdir(sub, 0700) < 0)
		return skip(b, "cannot make the tmpfs directories in %.100s", shm_root);
	return 0;
}

/*
 * The machine's tmpfs huge= (machine tmpfs-huge=WORD): the host's tmpfs
 * under SHM_BASE must be mounted so, or its files would not behave alike;
 * the runner does not remount the host's tmpfs.
 */
static const char *tmpfs_huge;

void cf_host_set_tmpfs_huge(const char *word)
{
	tmpfs_huge = word && strcmp(word, "never") ? word : NULL;
}

static int tmpfs_huge_matches(struct cf_backend *b)
{
	FILE *f = fopen("/proc/mounts", "r");
	char line[512], mnt[256], opts[256], want[64];
	bool found = false, ok = false;

	snprintf(want, sizeof(want), "huge=%s", tmpfs_huge);
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %255s %*s %255s", mnt, opts) == 2 && !strcmp(mnt, SHM_BASE)) {
			found = true;
			ok = strstr(opts, want) != NULL;	/* the last mount there wins */
		}
	if (f)
		fclose(f);
	if (ok)
		return 0;
	snprintf(b->why, sizeof(b->why), "the host's tmpfs at %s is %s mounted %s (the runner does not "
		 "remount it)", SHM_BASE, found ? "not" : "not found, nor", want);
	return -CF_SKIP;
}

int cf_host_path(struct cf_backend *b, const char *path, char *out, size_t n)
{
	const char *name;
	unsigned i;
	int r;

	for (i = 0; i < sizeof(mounts) / sizeof(mounts[0]); i++)
		if (!strncmp(path, mounts[i].prefix, strlen(mounts[i].prefix)))
			break;
	if (!strncmp(path, "/pmem/", 6))
		return skip(b, "%.50s: the host has no persistent-memory device (/pmem/ is mmlab's "
			    "fs-DAX)", path);
	if (i == sizeof(mounts) / sizeof(mounts[0]))
		return skip(b, "%.50s: only /tmp/NAME, /dev/shm/NAME and /disk/NAME have a "
			    "private counterpart on the host", path);
	name = path + strlen(mounts[i].prefix);
	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return skip(b, "%.50s: the host runs only a NAME directly under a mount point "
			    "(no directories)", path);
	if (!mounts[i].disk && tmpfs_huge && (r = tmpfs_huge_matches(b)) < 0)
		return r;
	r = roots(b, mounts[i].disk);
	if (r < 0)
		return r;
	if (mounts[i].disk)
		r = snprintf(out, n, "%s/%s", disk_root, name);
	else
		r = snprintf(out, n, "%s/%s/%s", shm_root, mounts[i].sub, name);
	if (r < 0 || (size_t)r >= n)
		return skip(b, "%.50s: too long for the host's private directory", path);
	return 0;
}

/* ---- drop-caches ---- */

/* The clean, unmapped page cache of one file goes, as drop_caches drops it. */
static void fadvise_path(const char *path)
{
	struct stat st;
	int fd;

	/* stat follows /proc's links: only regular files are opened, never a socket */
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return;
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
}

static void fadvise_dir(const char *dir)
{
	char path[512];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		fadvise_path(path);
	}
	closedir(d);
}

/*
 * /proc/sys/vm/drop_caches is the whole host's: writing it would drop
 * every program's cache.  The scenario's own files are what it can see,
 * so those are dropped, with POSIX_FADV_DONTNEED: invalidate_mapping_pages
 * on each, as drop_caches does to every inode.  It differs in one way:
 * fadvise first starts writeback of dirty pages, drop_caches does not.
 * Dentries and inodes (2) have nothing a process could observe.
 */
int cf_host_drop_caches(struct cf_backend *b, int mode, const pid_t *pids, int npids)
{
	char dir[64];
	int i;

	/* the sysctl's range: 1..4 (4: no more messages) */
	if (mode < 1 || mode > 4)
		return -EINVAL;
	if (!(mode & 1))
		return 0;
	for (i = 0; i < npids; i++) {
		snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pids[i]);
		fadvise_dir(dir);
		snprintf(dir, sizeof(dir), "/proc/%d/map_files", (int)pids[i]);
		fadvise_dir(dir);
	}
	if (shm_made) {
		snprintf(dir, sizeof(dir), "%.50s/tmp", shm_root);
		fadvise_dir(dir);
		snprintf(dir, sizeof(dir), "%.50s/shm", shm_root);
		fadvise_dir(dir);
	}
	if (disk_made)
		fadvise_dir(disk_root);
	return 0;
}

/* ---- removal ---- */

struct dirent64_hdr {
	unsigned long long d_ino;
	long long d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/*
 * Everything in the directory at dirfd, subdirectories (depth 0 only:
 * tmp/ and shm/) included.  Passes until one finds nothing, since
 * entries removed while reading may hide others; bounded all the same.
 */
static void rm_entries(int dirfd, int depth)
{
	static char bufs[2][4096];
	char *buf = bufs[depth];
	int pass, sub;
	long n, o;
	bool again = true;

	for (pass = 0; again && pass < 16; pass++) {
		again = false;
		lseek(dirfd, 0, SEEK_SET);
		while ((n = syscall(SYS_getdents64, dirfd, buf, sizeof(bufs[0]))) > 0) {
			for (o = 0; o < n; o += ((struct dirent64_hdr *)(buf + o))->d_reclen) {
				struct dirent64_hdr *e = (struct dirent64_hdr *)(buf + o);

				if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
					continue;
				again = true;
				if (unlinkat(dirfd, e->d_name, 0) == 0 || depth > 0)
					continue;
				sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					     O_CLOEXEC);
				if (sub >= 0) {
					rm_entries(sub, depth + 1);
					close(sub);
				}
				unlinkat(dirfd, e->d_name, AT_REMOVEDIR);
			}
		}
	}
}

/* 0 if the directory is gone (or was never made) */
static int rm_root(const char *root)
{
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0) {
		rm_entries(fd, 0);
		close(fd);
	}
	return rmdir(root) < 0 && errno != ENOENT ? -1 : 0;
}

void cf_host_files_emerg(void)
{
	if (shm_made)
		rm_root(shm_root);
	if (disk_made)
		rm_root(disk_root);
	shm_made = disk_made = 0;
}

const char *cf_host_files_cleanup(void)
{
	int r = 0;

	if (shm_made)
		r |= rm_root(shm_root);
	if (disk_made)
		r |= rm_root(disk_root);
	shm_made = disk_made = 0;
	return r ? "host runner: the private file directories could not be removed" : NULL;
}
