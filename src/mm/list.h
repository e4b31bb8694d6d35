/*
 * list.h - intrusive doubly linked lists, with the names and semantics of
 * Linux's include/linux/list.h (written afresh).
 */
#ifndef MML_LIST_H
#define MML_LIST_H

#include <stdbool.h>
#include <stddef.h>

/*
 * ->next shares its word with struct page's compound_head, which lockless
 * readers (page_folio() from a TLB hit) load atomically: store it so too.
 */
#define LIST_WRITE_NEXT(p, v)	__atomic_store_n(&(p)->next, (v), __ATOMIC_RELAXED)

struct list_head {
	struct list_head *next, *prev;
};

#define LIST_HEAD_INIT(name) { &(name), &(name) }
#define LIST_HEAD(name) struct list_head name = LIST_HEAD_INIT(name)
#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

static inline void INIT_LIST_HEAD(struct list_head *l) { LIST_WRITE_NEXT(l, l); l->prev = l; }
static inline bool list_empty(const struct list_head *h) { return h->next == h; }
static inline bool list_is_singular(const struct list_head *h) { return !list_empty(h) && h->next == h->prev; }

static inline void __list_link(struct list_head *n, struct list_head *prev, struct list_head *next)
{
	next->prev = n;
	LIST_WRITE_NEXT(n, next);
	n->prev = prev;
	LIST_WRITE_NEXT(prev, n);
}
static inline void list_add(struct list_head *n, struct list_head *h) { __list_link(n, h, h->next); }
static inline void list_add_tail(struct list_head *n, struct list_head *h) { __list_link(n, h->prev, h); }
static inline void list_del(struct list_head *e)
{
	e->next->prev = e->prev;
	LIST_WRITE_NEXT(e->prev, e->next);
	LIST_WRITE_NEXT(e, (struct list_head *)NULL);
	e->prev = NULL;
}
static inline void list_del_init(struct list_head *e)
{
	e->next->prev = e->prev;
	LIST_WRITE_NEXT(e->prev, e->next);
	INIT_LIST_HEAD(e);
}
static inline void list_move(struct list_head *e, struct list_head *h) { list_del(e); list_add(e, h); }
static inline void list_move_tail(struct list_head *e, struct list_head *h) { list_del(e); list_add_tail(e, h); }

#define list_entry(ptr, type, member) container_of(ptr, type, member)
#define list_first_entry(h, type, member) list_entry((h)->next, type, member)
#define list_last_entry(h, type, member) list_entry((h)->prev, type, member)
#define list_for_each_entry(pos, h, member)					\
	for (pos = list_entry((h)->next, __typeof__(*pos), member);		\
	     &pos->member != (h);						\
	     pos = list_entry(pos->member.next, __typeof__(*pos), member))
#define list_for_each_entry_safe(pos, n, h, member)				\
	for (pos = list_entry((h)->next, __typeof__(*pos), member),		\
	     n = list_entry(pos->member.next, __typeof__(*pos), member);	\
	     &pos->member != (h);						\
	     pos = n, n = list_entry(n->member.next, __typeof__(*n), member))

#endif /* MML_LIST_H */
