/*
 * smaps.c - reading /proc/PID/maps and smaps text: the VMA lines, and one
 * field of the VMA that holds an address.
 *
 * "expect smaps A p Rss == 8" reads the same text format on every side:
 * mmlab's (mml_show_smaps) in the interpreter and in `mmlab conform`, and
 * the host kernel's /proc/thread-self/smaps in the native runner, so the
 * two kernels are compared through one reader.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "scenario/scenario.h"

/*
 * The per-VMA fields Linux's show_smap() prints in kB, in its order, then
 * the one it prints as a bare number: THPeligible, 0 or 1 (VmFlags is not
 * a number, ProtectionKey is x86-pkeys only).
 */
static const char *const kb_fields[] = {
	"Size", "KernelPageSize", "MMUPageSize", "Rss", "Pss", "Pss_Dirty",
	"Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty",
	"Referenced", "Anonymous", "KSM", "LazyFree", "AnonHugePages",
	"ShmemPmdMapped", "FilePmdMapped", "Shared_Hugetlb", "Private_Hugetlb",
	"Swap", "SwapPss", "Locked",
	"THPeligible",
};
#define NR_KB_FIELDS	(sizeof(kb_fields) / sizeof(kb_fields[0]) - 1)

/* show_smap_vma_flags()'s mnemonics, in its order; each a bit of the VmFlags mask. */
static const char *const vm_flag_names[] = {
	"rd", "wr", "ex", "sh", "mr", "mw", "me", "ms", "gd", "pf", "lo", "io", "sr", "rr", "dc",
	"de", "ac", "nr", "ht", "sf", "ar", "wf", "dd", "sd", "mm", "hg", "nh", "mg", "um", "uw",
	"ss", "sl", "bt", "mt", "gu", "lf", "dw", "nl", "ui",
};
#define NR_VM_FLAGS	(int)(sizeof(vm_flag_names) / sizeof(vm_flag_names[0]))
_Static_assert(sizeof(vm_flag_names) / sizeof(vm_flag_names[0]) < 63, "the mask is a positive int64_t");

int scn_vm_flag(const char *s, size_t n)
{
	for (int i = 0; i < NR_VM_FLAGS; i++)
		if (n == 2 && !memcmp(vm_flag_names[i], s, 2))
			return i;
	return -1;
}

const char *scn_vm_flag_name(int bit)
{
	return bit >= 0 && bit < NR_VM_FLAGS ? vm_flag_names[bit] : "?";
}

/* "VmFlags: rd wr mr ..." as a mask (flags this table lacks are left out), else -1. */
static long long vmflags_line(const char *line)
{
	const char *p = line + strlen(SCN_VMFLAGS);
	long long mask = 0;

	if (strncmp(line, SCN_VMFLAGS ":", strlen(SCN_VMFLAGS) + 1))
		return -1;
	for (p++; *p && *p != '\n';) {
		int bit;

		while (*p == ' ')
			p++;
		if (!*p || *p == '\n')
			break;
		bit = scn_vm_flag(p, strcspn(p, " \n"));
		if (bit >= 0)
			mask |= 1LL << bit;
		p += strcspn(p, " \n");
	}
	return mask;
}

bool scn_smaps_field_known(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(kb_fields) / sizeof(kb_fields[0]); i++)
		if (strlen(kb_fields[i]) == n && !memcmp(kb_fields[i], s, n))
			return true;
	return false;
}

const char *scn_smaps_unit(const char *field)
{
	size_t i;

	for (i = 0; i < NR_KB_FIELDS; i++)
		if (!strcmp(kb_fields[i], field))
			return " kB";
	return "";
}

bool scn_vma_line(const char *line, uint64_t *start, uint64_t *end)
{
	unsigned long long s, e;
	int n = 0;

	if (sscanf(line, "%llx-%llx %n", &s, &e, &n) != 2 || n == 0)
		return false;
	*start = s;
	*end = e;
	return true;
}

/* "Name:   123 kB" with this name (or "Name:   1" for a bare number): the number, else -1. */
static long long kb_line(const char *line, const char *field, size_t n)
{
	bool kb = *scn_smaps_unit(field) != '\0';
	const char *end = strchr(line, '\n');
	size_t len = end ? (size_t)(end - line) : strlen(line);
	unsigned long long v;
	char buf[64], unit[3];
	int got;

	if (strncmp(line, field, n) || line[n] != ':' || len >= sizeof(buf))
		return -1;
	/* this line only: a bare number must not take the next line's name for a unit */
	memcpy(buf, line, len);
	buf[len] = '\0';
	got = sscanf(buf + n + 1, " %llu %2s", &v, unit);
	if (kb ? got != 2 || strcmp(unit, "kB") : got != 1)
		return -1;
	return (long long)v;
}

int scn_smaps_field(const char *text, uint64_t addr, const char *field,
		    int64_t *kb, uint64_t *start, uint64_t *end)
{
	size_t n = strlen(field);
	const char *line;
	uint64_t s, e;
	bool in = false, found = false;
	long long v;

	for (line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (scn_vma_line(line, &s, &e)) {
			if (in)
				break;	/* past the VMA that holds addr */
			in = s <= addr && addr < e;
			if (in) {
				found = true;
				if (start)
					*start = s;
				if (end)
					*end = e;
			}
		} else if (in && (v = strcmp(field, SCN_VMFLAGS) ? kb_line(line, field, n) : vmflags_line(line)) >= 0) {
			*kb = v;
			return 0;
		}
	}
	return found ? -ENODATA : -ENOENT;
}

bool scn_value_holds(const struct scn_op *op, int64_t v)
{
	int i;

	if (scn_cmp_holds(v, op->cmp, op->value))
		return true;
	for (i = 0; i < op->nalt; i++)
		if (v == op->alt_value[i])
			return true;
	return false;
}

void scn_values_str(const struct scn_op *op, char *buf, size_t n)
{
	size_t o;
	int i;

	o = snprintf(buf, n, "%s %lld", scn_cmp_name(op->cmp), (long long)op->value);
	for (i = 0; i < op->nalt && o < n; i++)
		o += snprintf(buf + o, n - o, "|%lld", (long long)op->alt_value[i]);
}
