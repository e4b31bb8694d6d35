/*
 * names.c - the words of the scenario language that stand for constants:
 * prot bits, mmap flags, madvise advice, errno values (the host's), gup
 * flags, pagemap bits and fault-injection sites (the library's).
 *
 * One table for each, read both ways: by the parser (name to value) and
 * by everything that prints a statement or a message (value to name),
 * the fuzzer's reproducers included, so that what is printed always
 * parses back.  Host values come from <sys/mman.h> and <errno.h>, as the
 * public API takes them; a name the host does not define is simply not
 * in the table (the parser then says "unknown ...").
 */
#define _GNU_SOURCE	/* F_SEAL_*, MFD_*, FALLOC_FL_* */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>

#include "mmlab.h"
#include "scenario/scenario.h"

/* Linux 6.1's synchronous collapse; C libraries older than that lack the name */
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif
/* Linux 5.7's; C libraries older than that lack the name */
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP	4
#endif

struct scn_name {
	const char *name;
	long value;
};

#define N(pfx, x) { #x, pfx##x }

static const struct scn_name mmap_flags[] = {
	N(MAP_, PRIVATE), N(MAP_, SHARED), N(MAP_, ANONYMOUS), N(MAP_, FIXED),
	{ "anon", MAP_ANONYMOUS },
#ifdef MAP_SHARED_VALIDATE
	N(MAP_, SHARED_VALIDATE),
#endif
#ifdef MAP_FIXED_NOREPLACE
	N(MAP_, FIXED_NOREPLACE),
#endif
#ifdef MAP_NORESERVE
	N(MAP_, NORESERVE),
#endif
#ifdef MAP_POPULATE
	N(MAP_, POPULATE),
#endif
#ifdef MAP_LOCKED
	N(MAP_, LOCKED),
#endif
#ifdef MAP_GROWSDOWN
	N(MAP_, GROWSDOWN),
#endif
#ifdef MAP_STACK
	N(MAP_, STACK),
#endif
#ifdef MAP_HUGETLB
	N(MAP_, HUGETLB),
#endif
#ifdef MAP_NONBLOCK
	N(MAP_, NONBLOCK),
#endif
#ifdef MAP_SYNC
	N(MAP_, SYNC),
#endif
#ifdef MAP_32BIT
	N(MAP_, 32BIT),
#endif
#ifdef MAP_UNINITIALIZED
	N(MAP_, UNINITIALIZED),
#endif
#ifdef MAP_DROPPABLE
	N(MAP_, DROPPABLE),
#endif
	{ NULL, 0 }
};

static const struct scn_name advices[] = {
	N(MADV_, NORMAL), N(MADV_, RANDOM), N(MADV_, SEQUENTIAL),
	N(MADV_, WILLNEED), N(MADV_, DONTNEED),
#ifdef MADV_FREE
	N(MADV_, FREE),
#endif
#ifdef MADV_REMOVE
	N(MADV_, REMOVE),
#endif
#ifdef MADV_DONTFORK
	N(MADV_, DONTFORK),
#endif
#ifdef MADV_DOFORK
	N(MADV_, DOFORK),
#endif
#ifdef MADV_MERGEABLE
	N(MADV_, MERGEABLE),
#endif
#ifdef MADV_UNMERGEABLE
	N(MADV_, UNMERGEABLE),
#endif
#ifdef MADV_HUGEPAGE
	N(MADV_, HUGEPAGE),
#endif
#ifdef MADV_NOHUGEPAGE
	N(MADV_, NOHUGEPAGE),
#endif
#ifdef MADV_DONTDUMP
	N(MADV_, DONTDUMP),
#endif
#ifdef MADV_DODUMP
	N(MADV_, DODUMP),
#endif
#ifdef MADV_WIPEONFORK
	N(MADV_, WIPEONFORK),
#endif
#ifdef MADV_KEEPONFORK
	N(MADV_, KEEPONFORK),
#endif
#ifdef MADV_COLD
	N(MADV_, COLD),
#endif
#ifdef MADV_PAGEOUT
	N(MADV_, PAGEOUT),
#endif
#ifdef MADV_POPULATE_READ
	N(MADV_, POPULATE_READ),
#endif
#ifdef MADV_POPULATE_WRITE
	N(MADV_, POPULATE_WRITE),
#endif
#ifdef MADV_DONTNEED_LOCKED
	N(MADV_, DONTNEED_LOCKED),
#endif
#ifdef MADV_COLLAPSE
	N(MADV_, COLLAPSE),
#endif
#ifdef MADV_HWPOISON
	N(MADV_, HWPOISON),
#endif
#ifdef MADV_SOFT_OFFLINE
	N(MADV_, SOFT_OFFLINE),
#endif
#ifdef MADV_GUARD_INSTALL
	N(MADV_, GUARD_INSTALL),
#endif
#ifdef MADV_GUARD_REMOVE
	N(MADV_, GUARD_REMOVE),
#endif
	{ NULL, 0 }
};

#define E(x) { #x, x }

/* Linux's errno names; the ones mm calls can return come first. */
static const struct scn_name errnos[] = {
	E(EINVAL), E(ENOMEM), E(EFAULT), E(EEXIST), E(EPERM), E(EACCES),
	E(EBADF), E(EOPNOTSUPP), E(EAGAIN), E(EBUSY), E(ENODEV), E(ENOENT),
	E(EOVERFLOW), E(ENOSPC), E(EIO), E(EINTR), E(ESRCH), E(ENXIO),
	E(E2BIG), E(ECHILD), E(ENOTBLK), E(EXDEV), E(ENOTDIR), E(EISDIR),
	E(ENFILE), E(EMFILE), E(ENOTTY), E(ETXTBSY), E(EFBIG), E(ESPIPE),
	E(EROFS), E(EMLINK), E(EPIPE), E(EDOM), E(ERANGE), E(EDEADLK),
	E(ENAMETOOLONG), E(ENOLCK), E(ENOSYS), E(ENOTEMPTY), E(ELOOP),
	E(ENODATA), E(ETIME), E(ENOTSUP), E(ETIMEDOUT), E(ECANCELED),
	E(EOWNERDEAD), E(ENOTRECOVERABLE), E(ERESTART),
#ifdef EUCLEAN
	E(EUCLEAN),
#endif
#ifdef EHWPOISON
	E(EHWPOISON),
#endif
#ifdef ENOKEY
	E(ENOKEY),
#endif
	{ NULL, 0 }
};

/*
 * The library's own words, spelled as the language writes them.  The
 * first name of a value is the one printed; later ones are also read.
 */
static const struct scn_name folls[] = {
	{ "write", MML_FOLL_WRITE }, { "longterm", MML_FOLL_LONGTERM },
	{ "force", MML_FOLL_FORCE }, { "fast", MML_FOLL_FAST },
	{ NULL, 0 }
};

/* pagemap bits are 64-bit: a table of their own */
static const struct { const char *name; uint64_t bit; } pm_bits[] = {
	{ "present", MML_PM_PRESENT }, { "swapped", MML_PM_SWAP },
	{ "exclusive", MML_PM_MMAP_EXCLUSIVE }, { "soft-dirty", MML_PM_SOFT_DIRTY },
	{ "uffd-wp", MML_PM_UFFD_WP }, { "guard", MML_PM_GUARD_REGION }, { "file", MML_PM_FILE },
	{ "swap", MML_PM_SWAP },
	{ NULL, 0 }
};

/* "all" first: a schedule of every site prints as that */
static const struct scn_name fail_sites[] = {
	{ "all", MML_FAIL_ALL }, { "frame", MML_FAIL_FRAME },
	{ "pgtable", MML_FAIL_PGTABLE }, { "meta", MML_FAIL_META },
	{ "swap-slot", MML_FAIL_SWAP_SLOT }, { "swap-io", MML_FAIL_SWAP_IO },
	{ "tag", MML_FAIL_TAG },
	{ NULL, 0 }
};

/*
 * The file calls' flags, named as the language writes them ("-" where C
 * has "_"); read case-insensitively, with or without the C prefix.  The
 * first name of a value is the one printed.
 */
static const struct scn_name oflags[] = {
	{ "rdonly", O_RDONLY }, { "wronly", O_WRONLY }, { "rdwr", O_RDWR },
	{ "creat", O_CREAT }, { "excl", O_EXCL }, { "trunc", O_TRUNC },
	{ "cloexec", O_CLOEXEC },
	{ NULL, 0 }
};

static const struct scn_name mfd_flags[] = {
	{ "cloexec", MFD_CLOEXEC }, { "allow-sealing", MFD_ALLOW_SEALING },
	{ NULL, 0 }
};

static const struct scn_name falloc_flags[] = {
	{ "keep-size", FALLOC_FL_KEEP_SIZE }, { "punch-hole", FALLOC_FL_PUNCH_HOLE },
#ifdef FALLOC_FL_ZERO_RANGE
	{ "zero-range", FALLOC_FL_ZERO_RANGE },
#endif
#ifdef FALLOC_FL_COLLAPSE_RANGE
	{ "collapse-range", FALLOC_FL_COLLAPSE_RANGE },
#endif
#ifdef FALLOC_FL_INSERT_RANGE
	{ "insert-range", FALLOC_FL_INSERT_RANGE },
#endif
	{ NULL, 0 }
};

static const struct scn_name ms_flags[] = {
	{ "async", MS_ASYNC }, { "sync", MS_SYNC }, { "invalidate", MS_INVALIDATE },
	{ NULL, 0 }
};

/* mremap(2)'s flags */
static const struct scn_name mremap_flags[] = {
	{ "maymove", MREMAP_MAYMOVE }, { "fixed", MREMAP_FIXED },
	{ "dontunmap", MREMAP_DONTUNMAP },
	{ NULL, 0 }
};

/* mbind(2) and move_pages(2)'s flags, and a policy mode's (<numaif.h>) */
static const struct scn_name mpol_mf_flags[] = {
	{ "strict", MPOL_MF_STRICT }, { "move", MPOL_MF_MOVE }, { "move_all", MPOL_MF_MOVE_ALL },
	{ NULL, 0 }
};

static const struct scn_name mpol_mode_flags[] = {
	{ "static", MPOL_F_STATIC_NODES }, { "relative", MPOL_F_RELATIVE_NODES },
	{ "balancing", MPOL_F_NUMA_BALANCING },
	{ NULL, 0 }
};

static const struct scn_name mlock_flags[] = {
	{ "onfault", 1 },	/* MLOCK_ONFAULT */
	{ NULL, 0 }
};

static const struct scn_name mcl_flags[] = {
	{ "current", MCL_CURRENT }, { "future", MCL_FUTURE }, { "onfault", 4 },	/* MCL_ONFAULT */
	{ NULL, 0 }
};

static const struct scn_name uffd_features[] = {
	{ "pagefault-flag-wp", UFFD_FEATURE_PAGEFAULT_FLAG_WP }, { "event-fork", UFFD_FEATURE_EVENT_FORK },
	{ "event-remap", UFFD_FEATURE_EVENT_REMAP }, { "event-remove", UFFD_FEATURE_EVENT_REMOVE },
	{ "missing-hugetlbfs", UFFD_FEATURE_MISSING_HUGETLBFS }, { "missing-shmem", UFFD_FEATURE_MISSING_SHMEM },
	{ "event-unmap", UFFD_FEATURE_EVENT_UNMAP }, { "sigbus", UFFD_FEATURE_SIGBUS },
	{ "thread-id", UFFD_FEATURE_THREAD_ID }, { "minor-hugetlbfs", UFFD_FEATURE_MINOR_HUGETLBFS },
	{ "minor-shmem", UFFD_FEATURE_MINOR_SHMEM }, { "exact-address", UFFD_FEATURE_EXACT_ADDRESS },
	{ "wp-hugetlbfs-shmem", UFFD_FEATURE_WP_HUGETLBFS_SHMEM }, { "wp-unpopulated", UFFD_FEATURE_WP_UNPOPULATED },
	{ NULL, 0 }
};

static const struct scn_name uffd_modes[] = {
	{ "missing", UFFDIO_REGISTER_MODE_MISSING }, { "wp", UFFDIO_REGISTER_MODE_WP },
	{ "minor", UFFDIO_REGISTER_MODE_MINOR },
	{ NULL, 0 }
};

/* COPY, ZEROPAGE and CONTINUE share the bits: DONTWAKE 1, WP 2 (ZEROPAGE's WP is EINVAL). */
static const struct scn_name uffd_iomodes[] = {
	{ "dontwake", UFFDIO_COPY_MODE_DONTWAKE }, { "wp", UFFDIO_COPY_MODE_WP },
	{ NULL, 0 }
};

static const struct scn_name seals[] = {
	{ "seal", F_SEAL_SEAL }, { "shrink", F_SEAL_SHRINK }, { "grow", F_SEAL_GROW },
	{ "write", F_SEAL_WRITE },
#ifdef F_SEAL_FUTURE_WRITE
	{ "future-write", F_SEAL_FUTURE_WRITE },
#endif
#ifdef F_SEAL_EXEC
	{ "exec", F_SEAL_EXEC },
#endif
	{ NULL, 0 }
};

static const struct {
	const struct scn_name *tab;
	const char *pfx;
	const char *none;	/* how 0 prints */
} flag_sets[] = {
	[SCN_OFLAGS] = { oflags, "O_", "rdonly" },
	[SCN_MFD_FLAGS] = { mfd_flags, "MFD_", "0" },
	[SCN_FALLOC_FLAGS] = { falloc_flags, "FALLOC_FL_", "0" },
	[SCN_MS_FLAGS] = { ms_flags, "MS_", "0" },
	[SCN_SEALS] = { seals, "F_SEAL_", "none" },
	[SCN_MREMAP_FLAGS] = { mremap_flags, "MREMAP_", "0" },
	[SCN_MPOL_MF_FLAGS] = { mpol_mf_flags, "MPOL_MF_", "0" },
	[SCN_MPOL_MODE_FLAGS] = { mpol_mode_flags, "MPOL_F_", "" },
	[SCN_MLOCK_FLAGS] = { mlock_flags, "MLOCK_", "0" },
	[SCN_MCL_FLAGS] = { mcl_flags, "MCL_", "0" },
	[SCN_UFFD_FEATURES] = { uffd_features, "UFFD_FEATURE_", "0" },
	[SCN_UFFD_MODES] = { uffd_modes, "UFFDIO_REGISTER_MODE_", "0" },
	[SCN_UFFD_IOMODES] = { uffd_iomodes, "UFFDIO_COPY_MODE_", "0" },
};

/* The entry with exactly this name (n bytes), case and all, or NULL. */
static const struct scn_name *exact(const struct scn_name *tab, const char *s, size_t n)
{
	for (; tab->name; tab++)
		if (strlen(tab->name) == n && !memcmp(tab->name, s, n))
			return tab;
	return NULL;
}

/*
 * The names of the bits of v, joined by sep, each at most once, in the
 * table's order; with lower, as the language prints the host's (MAP_ and
 * MADV_ names are capitals in the tables).  The bits left over stay in
 * *rest.  The length written.
 */
static size_t bit_names(const struct scn_name *tab, unsigned long v, unsigned long *rest,
			const char *sep, bool lower, char *buf, size_t n)
{
	size_t o = 0;

	buf[0] = '\0';
	for (; tab->name && o < n; tab++) {
		unsigned long bits = (unsigned long)tab->value;

		if (!bits || (v & bits) != bits)
			continue;
		o += snprintf(buf + o, n - o, "%s", o ? sep : "");
		for (const char *c = tab->name; *c && o + 1 < n; c++)
			buf[o++] = lower ? (char)tolower((unsigned char)*c) : *c;
		buf[o < n ? o : n - 1] = '\0';
		v &= ~bits;
	}
	*rest = v;
	return o;
}

/*
 * Look s up in a table, case-insensitively, with or without the prefix
 * ("dontneed", "MADV_DONTNEED"); '-' is taken as '_' so that
 * "fixed-noreplace" works too.
 */
static int lookup(const struct scn_name *tab, const char *pfx,
		  const char *s, size_t n, long *out)
{
	size_t pl = strlen(pfx);
	char buf[64];
	size_t i;

	if (n >= pl && strncasecmp(s, pfx, pl) == 0) {
		s += pl;
		n -= pl;
	}
	if (n == 0 || n >= sizeof(buf))
		return -1;
	for (i = 0; i < n; i++)
		buf[i] = s[i] == '-' ? '_' : s[i];
	buf[n] = '\0';
	for (; tab->name; tab++) {
		if (strcasecmp(tab->name, buf) == 0) {
			*out = tab->value;
			return 0;
		}
	}
	return -1;
}

/*
 * "none", or letters from r, w, x (each at most once), with '-' as a
 * placeholder so that "r-x" as printed by /proc/PID/maps also reads;
 * then optionally ",mte" for MML_PROT_MTE ("rw,mte", "none,mte").
 */
int scn_prot_parse(const char *s, size_t n, long *out)
{
	long prot = 0, mte = 0;
	size_t i;

	if (n > 4 && strncasecmp(s + n - 4, ",mte", 4) == 0) {
		mte = MML_PROT_MTE;
		n -= 4;
	}
	if (n == 4 && strncasecmp(s, "none", 4) == 0) {
		*out = PROT_NONE | mte;
		return 0;
	}
	if (n == 0 || n > 3)
		return -1;
	for (i = 0; i < n; i++) {
		long bit;

		switch (s[i]) {
		case 'r': bit = PROT_READ; break;
		case 'w': bit = PROT_WRITE; break;
		case 'x': bit = PROT_EXEC; break;
		case '-': continue;
		default: return -1;
		}
		if (prot & bit)
			return -1;
		prot |= bit;
	}
	*out = prot | mte;
	return 0;
}

int scn_mmap_flag(const char *s, size_t n, long *out)
{
	return lookup(mmap_flags, "MAP_", s, n, out);
}

int scn_advice(const char *s, size_t n, long *out)
{
	return lookup(advices, "MADV_", s, n, out);
}

/* "allow-sealing", "ALLOW_SEALING", "MFD_ALLOW_SEALING": one flag of a set */
int scn_flag(enum scn_flag_set set, const char *s, size_t n, long *bit)
{
	const char *pfx = flag_sets[set].pfx;
	const struct scn_name *t;
	size_t pl = strlen(pfx), i;

	if (n > pl && strncasecmp(s, pfx, pl) == 0) {
		s += pl;
		n -= pl;
	}
	for (t = flag_sets[set].tab; t->name; t++) {
		if (strlen(t->name) != n)
			continue;
		for (i = 0; i < n; i++)
			if (tolower((unsigned char)s[i]) != t->name[i] &&
			    !(s[i] == '_' && t->name[i] == '-'))
				break;
		if (i == n) {
			*bit = t->value;
			return 0;
		}
	}
	return -1;
}

/*
 * "rdwr,creat", "punch-hole,keep-size", "none": the names of a set's
 * bits, the rest as a number.  Open's access mode is a value, not a bit
 * (O_RDONLY is 0): it comes first, always.
 */
const char *scn_flags_name(enum scn_flag_set set, long v, char *buf, size_t n)
{
	const struct scn_name *tab = flag_sets[set].tab;
	const char *mode = "";
	unsigned long rest;
	char bits[160];

	if (set == SCN_OFLAGS && (v & O_ACCMODE) != O_ACCMODE) {
		mode = (v & O_ACCMODE) == O_WRONLY ? "wronly" :
		       (v & O_ACCMODE) == O_RDWR ? "rdwr" : "rdonly";
		v &= ~(long)O_ACCMODE;
		tab += 3;	/* past the access modes */
	}
	bit_names(tab, (unsigned long)v, &rest, ",", false, bits, sizeof(bits));
	if (rest)
		snprintf(bits + strlen(bits), sizeof(bits) - strlen(bits), "%s%#lx",
			 bits[0] ? "," : "", rest);
	if (!mode[0] && !bits[0])
		mode = flag_sets[set].none;
	snprintf(buf, n, "%s%s%s", mode, mode[0] && bits[0] ? "," : "", bits);
	return buf;
}

int scn_foll(const char *s, size_t n, long *bit)
{
	const struct scn_name *t = exact(folls, s, n);

	if (!t)
		return -1;
	*bit = t->value;
	return 0;
}

int scn_pm_bit(const char *s, size_t n, uint64_t *bit)
{
	for (int i = 0; pm_bits[i].name; i++) {
		if (strlen(pm_bits[i].name) == n && !memcmp(pm_bits[i].name, s, n)) {
			*bit = pm_bits[i].bit;
			return 0;
		}
	}
	return -1;
}

int scn_fail_site(const char *s, size_t n, unsigned *site)
{
	const struct scn_name *t = exact(fail_sites, s, n);

	if (!t)
		return -1;
	*site = (unsigned)t->value;
	return 0;
}

/* r, w, x in that order (or none), then ",mte"; other bits as a number */
const char *scn_prot_name(long prot, char *buf, size_t n)
{
	long rwx = prot & (PROT_READ | PROT_WRITE | PROT_EXEC);

	if (prot & ~(rwx | MML_PROT_MTE))
		snprintf(buf, n, "%ld", prot);
	else
		snprintf(buf, n, "%s%s%s%s%s", rwx ? "" : "none", prot & PROT_READ ? "r" : "",
			 prot & PROT_WRITE ? "w" : "", prot & PROT_EXEC ? "x" : "",
			 prot & MML_PROT_MTE ? ",mte" : "");
	return buf;
}

/* "private,anonymous,fixed": names first, bits without one as a number */
const char *scn_mmap_flags_name(long flags, char *buf, size_t n)
{
	unsigned long rest;
	size_t o = bit_names(mmap_flags, (unsigned long)flags, &rest, ",", true, buf, n);

	if ((rest || !o) && o < n)
		snprintf(buf + o, n - o, "%s%#lx", o ? "," : "", rest);
	return buf;
}

const char *scn_advice_name(long advice, char *buf, size_t n)
{
	const struct scn_name *t;

	for (t = advices; t->name; t++) {
		if (t->value == advice) {
			size_t i;

			for (i = 0; t->name[i] && i + 1 < n; i++)
				buf[i] = (char)tolower((unsigned char)t->name[i]);
			buf[i] = '\0';
			return buf;
		}
	}
	snprintf(buf, n, "%ld", advice);
	return buf;
}

/* "write,longterm", or "ro" for none */
const char *scn_foll_name(long foll, char *buf, size_t n)
{
	unsigned long rest;

	if (!bit_names(folls, (unsigned long)foll, &rest, ",", false, buf, n))
		snprintf(buf, n, "ro");
	return buf;
}

/* "present !exclusive": set bits by name, clear ones after '!' */
void scn_pm_bits_str(uint64_t set, uint64_t clear, char *buf, size_t n)
{
	uint64_t done = 0;
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; pm_bits[i].name && o < n; i++) {
		uint64_t bit = pm_bits[i].bit;

		if (done & bit)
			continue;	/* "swap" is read, "swapped" printed */
		done |= bit;
		if (set & bit)
			o += snprintf(buf + o, n - o, "%s%s", o ? " " : "", pm_bits[i].name);
		if (clear & bit)
			o += snprintf(buf + o, n - o, "%s!%s", o ? " " : "", pm_bits[i].name);
	}
}

/* "frame,meta", "all" for every site, "off" for none */
const char *scn_fail_sites_name(unsigned sites, char *buf, size_t n)
{
	unsigned long rest;

	if (!bit_names(fail_sites, sites, &rest, ",", false, buf, n))
		snprintf(buf, n, "off");
	return buf;
}

int scn_errno(const char *s, size_t n, int *out)
{
	long v;

	/* errno names are all capitals in Linux; insist, so "ok" is not one */
	if (n == 0 || s[0] != 'E')
		return -1;
	if (lookup(errnos, "", s, n, &v) < 0)
		return -1;
	*out = (int)v;
	return 0;
}

const char *scn_errno_name(int e)
{
	const struct scn_name *t;

	if (e == 0)
		return "ok";
	for (t = errnos; t->name; t++)
		if (t->value == e)
			return t->name;
	return "E?";
}

bool scn_cmp_holds(int64_t a, enum scn_cmp c, int64_t b)
{
	switch (c) {
	case SCN_EQ: return a == b;
	case SCN_NE: return a != b;
	case SCN_LT: return a < b;
	case SCN_LE: return a <= b;
	case SCN_GT: return a > b;
	default: return a >= b;
	}
}

bool scn_result_ok(const struct scn_expect *e, int got)
{
	if (e->any)
		return true;
	if (e->nerr == 0)
		return got == 0;
	for (int i = 0; i < e->nerr; i++)
		if (e->err[i] == got)
			return true;
	return false;
}

/*
 * pread and pwrite: a byte count or an error.  Any listed count passes;
 * "ok", or no "=>" at all, is the whole length asked for.
 */
bool scn_count_ok(const struct scn_expect *e, uint64_t len, int64_t got)
{
	int i;

	if (e->any)
		return true;
	if (got < 0)
		return e->nerr && scn_result_ok(e, (int)-got);
	for (i = 0; i < e->ncount; i++)
		if (e->count[i] == (uint64_t)got)
			return true;
	if (!e->nerr && !e->ncount)
		return (uint64_t)got == len;
	for (i = 0; i < e->nerr; i++)
		if (e->err[i] == 0)
			return (uint64_t)got == len;
	return false;
}

void scn_machine_config(const struct scn_op *op, struct mml_config *cfg)
{
	if (!op)
		return;
	cfg->ram_bytes = op->ram;
	cfg->ncpus = op->ncpus;
	cfg->nr_nodes = op->nr_nodes;
	cfg->pmem_bytes = op->pmem;
	cfg->seed = op->seed;
	if (op->check == 0)
		cfg->flags &= ~MML_CHECK_EVERY_OP;
	if (op->quiet)
		cfg->flags |= MML_QUIET;
	if (op->kswapd)
		cfg->flags |= MML_KSWAPD;
	if (op->khugepaged)
		cfg->flags |= MML_KHUGEPAGED;
	cfg->tmpfs_huge = op->tmpfs_huge;
}

const char *scn_cmp_name(enum scn_cmp c)
{
	static const char *const names[] = {
		[SCN_EQ] = "==", [SCN_NE] = "!=", [SCN_LT] = "<",
		[SCN_LE] = "<=", [SCN_GT] = ">", [SCN_GE] = ">=",
	};

	return names[c];
}
