/*
 * test_numa_views.c - the NUMA views: /proc/PID/numa_maps and
 * /sys/devices/system/node (online, nodeN/numastat, nodeN/meminfo) on a
 * machine of two nodes, before and after mbind moves pages.
 *
 * Linux sources read:
 *  - fs/proc/task_mmu.c show_numa_map(): "%08lx %s" (vm_start, the policy
 *    by mpol_to_str: "default", "bind:1"), then anon=, dirty=, mapped=
 *    (only if pages differs from both), mapmax= (if > 1), swapcache=,
 *    active= (if below pages), writeback=, N<nid>= per node, and
 *    kernelpagesize_kB=; gather_stats() counts present normal pages only.
 *  - drivers/base/node.c: node_read_numastat()'s six "name value" lines,
 *    node_read_meminfo()'s "Node %d MemTotal:       %8lu kB" lines, and
 *    the node state files printed as a node list ("0-1").
 */
#define _GNU_SOURCE
#include "../harness.h"

#include <stdlib.h>
#include <string.h>

#define BASE	0x100000000ULL
#define NPAGES	4
#define NODE	"/sys/devices/system/node/"

/* 8 MiB in two nodes of 4 MiB; the harness does not track it, so each test ends with H_END. */
static struct mml_machine *numa_machine(void)
{
	struct mml_config cfg = { .ram_bytes = 8 << 20, .seed = 1, .flags = MML_CHECK_EVERY_OP, .nr_nodes = 2 };

	return mml_machine_new(&cfg);
}

/* The numa_maps line of the VMA starting at addr, without its newline (free it), or NULL. */
static char *numa_maps_line(struct mml_task *t, uint64_t addr)
{
	char *all = NULL, *line = NULL, key[32];
	size_t size = 0;
	FILE *f = open_memstream(&all, &size);

	if (!f)
		return NULL;
	CHECK_EQ(mml_show_numa_maps(t, f), 0);
	fclose(f);
	snprintf(key, sizeof(key), "%08llx ", (unsigned long long)addr);
	for (char *p = all; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, key, strlen(key))) {
			line = strndup(p, strcspn(p, "\n"));
			break;
		}
	free(all);
	return line;
}

/* s (NULL: a line that was not found) holds sub. */
static bool has_at(const char *file, int line, const char *s, const char *sub)
{
	return harness_checkf(file, line, s && strstr(s, sub), "\"%s\" lacks \"%s\"", s ? s : "(null)", sub);
}
#define CHECK_HAS(s, sub)	has_at(__FILE__, __LINE__, (s), (sub))

/* Four written pages, on node 0, then bound to node 1 and moved there with their bytes. */
TEST(numa_maps_follow_mbind_move)
{
	struct mml_machine *m = numa_machine();
	struct mml_task *t = h_spawn(m);
	unsigned long node1 = 1UL << 1;
	uint64_t addr, pages[NPAGES];
	int status[NPAGES];
	char *line;

	REQUIRE(t);
	addr = h_map(t, BASE, NPAGES * H_PAGE, H_RW, H_ANON);
	REQUIRE(addr);
	for (int i = 0; i < NPAGES; i++)
		h_fill(t, addr + i * H_PAGE, H_PAGE, 0x10 + i);
	line = numa_maps_line(t, addr);
	CHECK_HAS(line, "00 default anon=4 dirty=4");
	CHECK_HAS(line, " N0=4 kernelpagesize_kB=4");
	CHECKF(line && !strstr(line, "mapped=") && !strstr(line, "N1="), "%s", line ? line : "(null)");
	free(line);

	CHECK_EQ(mml_mbind(t, addr, NPAGES * H_PAGE, MPOL_BIND, &node1, 3, MPOL_MF_MOVE), 0);
	line = numa_maps_line(t, addr);
	CHECK_HAS(line, " bind:1 anon=4 dirty=4");
	CHECK_HAS(line, " N1=4 kernelpagesize_kB=4");
	CHECKF(line && !strstr(line, "N0="), "%s", line ? line : "(null)");
	free(line);
	for (int i = 0; i < NPAGES; i++) {
		h_expect(t, addr + i * H_PAGE, H_PAGE, 0x10 + i);
		pages[i] = addr + i * H_PAGE;
		status[i] = -1;
	}
	/* move_pages without nodes: where each page is */
	CHECK_EQ(mml_move_pages(t, NPAGES, pages, NULL, status, 0), 0);
	for (int i = 0; i < NPAGES; i++)
		CHECK_EQ(status[i], 1);
	H_END(m);
}

/* A page mapped by parent and child counts mapmax=2; untouched memory prints no counts. */
TEST(numa_maps_mapmax_and_empty_vma)
{
	struct mml_machine *m = numa_machine();
	struct mml_task *t = h_spawn(m), *child;
	uint64_t addr, empty;
	char *line;

	REQUIRE(t);
	addr = h_map(t, BASE, NPAGES * H_PAGE, H_RW, H_ANON);
	empty = h_map(t, BASE + 64 * H_PAGE, H_PAGE, PROT_READ, H_ANON);
	REQUIRE(addr && empty);
	h_fill(t, addr, NPAGES * H_PAGE, 0x5a);
	child = h_fork(t);
	REQUIRE(child);
	line = numa_maps_line(t, addr);
	CHECK_HAS(line, " anon=4 dirty=4 mapmax=2 ");
	free(line);
	line = numa_maps_line(t, empty);
	CHECKF(line && !strcmp(strchr(line, ' '), " default"), "%s", line ? line : "(null)");
	free(line);
	H_END(m);
}

/* The node files: the node list, numastat's six counters, meminfo's sizes; node2 is absent. */
TEST(sysfs_node_files)
{
	struct mml_machine *m = numa_machine();
	struct mml_task *t = h_spawn(m);
	unsigned long node1 = 1UL << 1, v[6], total, free_kb, used, anon;
	char buf[4096];
	uint64_t addr;

	REQUIRE(t);
	for (const char *const *f = (const char *const[]){ "online", "possible", "has_memory", NULL }; *f; f++) {
		char path[128];

		snprintf(path, sizeof(path), NODE "%s", *f);
		CHECK_EQ(mml_sys_read(m, path, buf, sizeof(buf)), 4);
		CHECKF(!strcmp(buf, "0-1\n"), "%s: \"%s\"", path, buf);
	}
	addr = h_map(t, BASE, NPAGES * H_PAGE, H_RW, H_ANON);
	REQUIRE(addr);
	CHECK_EQ(mml_mbind(t, addr, NPAGES * H_PAGE, MPOL_BIND, &node1, 3, 0), 0);
	h_fill(t, addr, NPAGES * H_PAGE, 0x5a);

	REQUIRE(mml_sys_read(m, NODE "node1/numastat", buf, sizeof(buf)) > 0);
	CHECK_EQ(sscanf(buf, "numa_hit %lu\nnuma_miss %lu\nnuma_foreign %lu\ninterleave_hit %lu\n"
			"local_node %lu\nother_node %lu\n", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]), 6);
	CHECK_EQ(h_count_lines(buf), 6);
	CHECK(v[0] >= NPAGES);		/* bound to node 1 and given node 1: hits there */
	CHECK(v[5] >= NPAGES);		/* the CPU is on node 0: other_node */
	CHECK_EQ(v[4], 0);

	REQUIRE(mml_sys_read(m, NODE "node1/meminfo", buf, sizeof(buf)) > 0);
	CHECK_HAS(buf, "Node 1 MemTotal:           4096 kB\n");
	CHECK(sscanf(strstr(buf, "Node 1 MemFree:"), "Node 1 MemFree: %lu kB", &free_kb) == 1);
	CHECK(sscanf(strstr(buf, "Node 1 MemUsed:"), "Node 1 MemUsed: %lu kB", &used) == 1);
	CHECK(sscanf(strstr(buf, "Node 1 AnonPages:"), "Node 1 AnonPages: %lu kB", &anon) == 1);
	CHECK(sscanf(buf, "Node 1 MemTotal: %lu kB", &total) == 1);
	CHECK_EQ(free_kb + used, total);
	CHECK_EQ(anon, NPAGES * 4);

	CHECK_EQ(mml_sys_read(m, NODE "node2/numastat", buf, sizeof(buf)), -ENOENT);
	CHECK_EQ(mml_sys_read(m, NODE "node2/meminfo", buf, sizeof(buf)), -ENOENT);
	CHECK_EQ(mml_sys_read(m, NODE "node16/meminfo", buf, sizeof(buf)), -ENOENT);
	H_END(m);
}

int main(int argc, char **argv)
{
	return harness_run(argc, argv);
}
