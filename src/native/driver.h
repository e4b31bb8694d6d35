/*
 * driver.h - what driver.c shares with driver_pin.c: the host side's pins.
 */
#ifndef MMLAB_NATIVE_DRIVER_H
#define MMLAB_NATIVE_DRIVER_H

#include <stdint.h>
#include <liburing.h>

#include "native/proto.h"

#define MAX_HOST_PIN	512		/* pages (a PMD-size THP): pipe and pagemap buffers */

/* n pagemap entries of this thread's process from addr into out (n <= MAX_HOST_PIN): 0 or -errno */
int cf_pagemap_read(uint64_t addr, uint64_t n, uint64_t *out);
/* Rings set up before the scenario maps anything, and forgotten by a forked child. */
void cf_uring_pool_fill(void);
void cf_uring_pool_forget(void);
/* A pin of q->len pages at q->addr: the pages pinned (pfns filled), or -errno, or -CF_SKIP (why). */
int64_t cf_pin_uring(const struct cf_req *q, char *why, int64_t *fdnum, uint64_t *pfns,
		     struct io_uring_params *par);
int64_t cf_pin_vmsplice(const struct cf_req *q, char *why, int *fd, uint64_t *pfns);
/* driver_uffd.c: a uffd statement in this process (proto.h's CF_REQ_UFFD) */
struct uffd_msg;
int64_t cf_driver_uffd(const struct cf_req *q, const unsigned char *pat, char *why, struct uffd_msg *msg);

#endif
