/*
 * sync.h - the one synchronisation layer of mmlab.
 *
 * Every lock, atomic and RCU use in mmlab goes through this header, so that
 * a deterministic scheduler can later stand in for pthreads and liburcu and
 * replay an interleaving from a seed.  Nothing outside src/sync/ includes
 * <pthread.h>, <urcu*.h> or uses __atomic builtins directly.
 *
 * Kinds of lock, as Linux has them:
 *   spinlock_t        short critical sections, never sleeps inside
 *                     (page-table locks, zone->lock, TLB locks)
 *   struct mutex      may be held across allocation
 *   struct rw_semaphore  mmap_lock, anon_vma->rwsem
 *   bit locks         folio_lock (PG_locked) through a hashed wait table
 *
 * Every lock records its owner so that code can assert, as Linux's
 * lockdep_assert_held(), that the caller holds what it must.
 *
 * RCU: rcu_read_lock/unlock, synchronize_rcu, and batches of deferred
 * callbacks (struct rcu_batch) that their owner flushes.
 * Default flavour: liburcu-bp (no explicit thread registration).  With
 * MML_RCU_RWLOCK (the ThreadSanitizer build, which cannot see liburcu's
 * barriers) a reader-writer lock implementation with the same contract is
 * used instead.
 */
#ifndef MML_SYNC_H
#define MML_SYNC_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The ThreadSanitizer build: page copies are hidden from it, membarrier(2) is not used. */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MML_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define MML_TSAN 1
#endif

/*
 * Thread-locals read on every operation (current, the lock owner token,
 * the RCU nesting): one %fs-relative load, not a __tls_get_addr call,
 * which the library's -fPIC code would otherwise make for each.  Kept to
 * a few words, which the static TLS surplus holds when the library is
 * dlopen()ed.
 */
#define __tls_fast	__attribute__((tls_model("initial-exec")))

/* A cache line (Linux's SMP_CACHE_BYTES): what per-CPU data is padded to, so that CPUs share none. */
#define SMP_CACHE_BYTES		64
#define ____cacheline_aligned	__attribute__((aligned(SMP_CACHE_BYTES)))

/* ---- scheduling points ------------------------------------------------- */

/*
 * The deterministic scheduler (sched.c) runs the threads of a machine one
 * at a time and may switch between them at every scheduling point: each
 * lock operation, atomic read-modify-write, acquire load of a page-table
 * entry, RCU read-side boundary and wait below.  While no deterministic
 * run is active a point costs one relaxed load and a branch never taken.
 */
enum sched_point_kind {
	SP_LOCK, SP_TRYLOCK, SP_UNLOCK, SP_ATOMIC, SP_PTE_LOAD, SP_DIR_LOAD, SP_RCU_LOCK, SP_RCU_UNLOCK,
	SP_RCU_SYNC, SP_WAIT, SP_WAKE, SP_YIELD, SP_START, SP_EXIT, SP_NR_KINDS
};
/* Nonzero while a deterministic run is active; hidden: one load, not a GOT look-up first. */
extern int mml_sched_on __attribute__((visibility("hidden")));
void mml_sched_point_slow(enum sched_point_kind kind, const void *obj, const void *where);
static inline void sched_point(enum sched_point_kind kind, const void *obj)
{
	if (__builtin_expect(__atomic_load_n(&mml_sched_on, __ATOMIC_RELAXED), 0))
		mml_sched_point_slow(kind, obj, NULL);
}

/* ---- atomics ------------------------------------------------------------ */

typedef struct { int counter; } atomic_t;
typedef struct { long counter; } atomic_long_t;

#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define smp_load_acquire(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define smp_store_release(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define smp_mb()		__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define smp_rmb()		__atomic_thread_fence(__ATOMIC_ACQUIRE)
#define smp_wmb()		__atomic_thread_fence(__ATOMIC_RELEASE)

/* Full-barrier compare-and-exchange; returns the old value, like cmpxchg(). */
#define cmpxchg(p, old, new) ({						\
	__typeof__(*(p)) __old = (old);					\
	sched_point(SP_ATOMIC, (p));					\
	__atomic_compare_exchange_n((p), &__old, (new), false,		\
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);\
	__old; })
#define xchg(p, v)	({ sched_point(SP_ATOMIC, (p)); __atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST); })

static inline int atomic_read(const atomic_t *v) { return __atomic_load_n(&v->counter, __ATOMIC_RELAXED); }
static inline void atomic_set(atomic_t *v, int i) { __atomic_store_n(&v->counter, i, __ATOMIC_RELAXED); }
/* Everything written before is seen by whoever reads the value with acquire (or a full RMW) after. */
static inline void atomic_set_release(atomic_t *v, int i) { __atomic_store_n(&v->counter, i, __ATOMIC_RELEASE); }
static inline int atomic_add_return(int i, atomic_t *v)
{
	sched_point(SP_ATOMIC, v);
	return __atomic_add_fetch(&v->counter, i, __ATOMIC_SEQ_CST);
}
static inline int atomic_sub_return(int i, atomic_t *v)
{
	sched_point(SP_ATOMIC, v);
	return __atomic_sub_fetch(&v->counter, i, __ATOMIC_SEQ_CST);
}
static inline void atomic_add(int i, atomic_t *v) { (void)atomic_add_return(i, v); }
static inline void atomic_sub(int i, atomic_t *v) { (void)atomic_sub_return(i, v); }
static inline void atomic_inc(atomic_t *v) { atomic_add(1, v); }
static inline void atomic_dec(atomic_t *v) { atomic_sub(1, v); }
static inline int atomic_inc_return(atomic_t *v) { return atomic_add_return(1, v); }
static inline int atomic_dec_return(atomic_t *v) { return atomic_sub_return(1, v); }
static inline bool atomic_dec_and_test(atomic_t *v) { return atomic_sub_return(1, v) == 0; }
static inline bool atomic_inc_and_test(atomic_t *v) { return atomic_add_return(1, v) == 0; }
static inline bool atomic_add_negative(int i, atomic_t *v) { return atomic_add_return(i, v) < 0; }
static inline int atomic_cmpxchg(atomic_t *v, int old, int new) { return cmpxchg(&v->counter, old, new); }
static inline int atomic_xchg(atomic_t *v, int new) { return xchg(&v->counter, new); }
/* Add a to v unless v == u; returns true if added (atomic_add_unless). */
static inline bool atomic_add_unless(atomic_t *v, int a, int u)
{
	int c;

	sched_point(SP_ATOMIC, v);
	c = atomic_read(v);
	do {
		if (c == u)
			return false;
	} while (!__atomic_compare_exchange_n(&v->counter, &c, c + a, false,
					      __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
	return true;
}

static inline long atomic_long_read(const atomic_long_t *v) { return __atomic_load_n(&v->counter, __ATOMIC_RELAXED); }
static inline void atomic_long_set(atomic_long_t *v, long i) { __atomic_store_n(&v->counter, i, __ATOMIC_RELAXED); }
static inline void atomic_long_add(long i, atomic_long_t *v) { __atomic_add_fetch(&v->counter, i, __ATOMIC_RELAXED); }
static inline long atomic_long_add_return(long i, atomic_long_t *v)
{
	sched_point(SP_ATOMIC, v);
	return __atomic_add_fetch(&v->counter, i, __ATOMIC_SEQ_CST);
}

/* Atomic bit operations on an unsigned long word (page flags). */
static inline bool test_bit(int nr, const unsigned long *addr) { return (__atomic_load_n(addr, __ATOMIC_RELAXED) >> nr) & 1; }
static inline void set_bit(int nr, unsigned long *addr)
{
	sched_point(SP_ATOMIC, addr);
	__atomic_fetch_or(addr, 1UL << nr, __ATOMIC_RELAXED);
}
static inline void clear_bit(int nr, unsigned long *addr)
{
	sched_point(SP_ATOMIC, addr);
	__atomic_fetch_and(addr, ~(1UL << nr), __ATOMIC_RELAXED);
}
static inline bool test_and_set_bit(int nr, unsigned long *addr)
{
	sched_point(SP_ATOMIC, addr);
	return (__atomic_fetch_or(addr, 1UL << nr, __ATOMIC_SEQ_CST) >> nr) & 1;
}
static inline bool test_and_clear_bit(int nr, unsigned long *addr)
{
	sched_point(SP_ATOMIC, addr);
	return (__atomic_fetch_and(addr, ~(1UL << nr), __ATOMIC_SEQ_CST) >> nr) & 1;
}
static inline bool test_and_set_bit_lock(int nr, unsigned long *addr)
{
	sched_point(SP_ATOMIC, addr);
	return (__atomic_fetch_or(addr, 1UL << nr, __ATOMIC_ACQUIRE) >> nr) & 1;
}
static inline void clear_bit_unlock(int nr, unsigned long *addr)
{
	sched_point(SP_ATOMIC, addr);
	__atomic_fetch_and(addr, ~(1UL << nr), __ATOMIC_RELEASE);
}
/*
 * Non-atomic variants, for words only their owner writes (a folio nobody
 * else can reach yet).  Others may still read the word (the buddy allocator
 * looks at its neighbours' flags), so the store itself is atomic.
 */
static inline void __set_bit(int nr, unsigned long *addr) { WRITE_ONCE(*addr, READ_ONCE(*addr) | (1UL << nr)); }
static inline void __clear_bit(int nr, unsigned long *addr) { WRITE_ONCE(*addr, READ_ONCE(*addr) & ~(1UL << nr)); }

/* 64-bit entries of page tables: the hardware walker and lockless walkers
 * read them concurrently with updaters, so every access is atomic.  A load
 * is consume-ordered (acquire, free on x86): a walker that follows an entry
 * to a table sees the table's zeroing, which the populating store released. */
static inline uint64_t mml_load64_at(const uint64_t *p, enum sched_point_kind kind)
{
	sched_point(kind, p);
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
/* A pte's load; the levels above load theirs as SP_DIR_LOAD (arch/pgtable.h). */
static inline uint64_t mml_load64(const uint64_t *p) { return mml_load64_at(p, SP_PTE_LOAD); }
static inline void mml_store64(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline uint64_t mml_xchg64(uint64_t *p, uint64_t v)
{
	sched_point(SP_ATOMIC, p);
	return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
}
static inline bool mml_cmpxchg64(uint64_t *p, uint64_t *old, uint64_t new)
{
	sched_point(SP_ATOMIC, p);
	return __atomic_compare_exchange_n(p, old, new, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
}
static inline uint64_t mml_fetch_and64(uint64_t *p, uint64_t mask)
{
	sched_point(SP_ATOMIC, p);
	return __atomic_fetch_and(p, mask, __ATOMIC_SEQ_CST);
}
static inline uint64_t mml_fetch_or64(uint64_t *p, uint64_t bits)
{
	sched_point(SP_ATOMIC, p);
	return __atomic_fetch_or(p, bits, __ATOMIC_SEQ_CST);
}

/* Bytes of tag storage: two 4-bit tags each, stored by CPUs that race as hardware's do. */
static inline uint8_t mml_load8(const uint8_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline bool mml_cmpxchg8(uint8_t *p, uint8_t *old, uint8_t new)
{
	return __atomic_compare_exchange_n(p, old, new, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/*
 * Sequence counts (Linux's seqcount_t): a writer makes the count odd while it
 * changes something, a lockless reader retries or gives up if the count was
 * odd or moved.  Writers serialise among themselves by other means.
 */
typedef struct { unsigned sequence; } seqcount_t;

static inline void raw_write_seqcount_begin(seqcount_t *s)
{
	__atomic_store_n(&s->sequence, s->sequence + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);	/* pairs with read_seqcount_retry() */
}
static inline void raw_write_seqcount_end(seqcount_t *s)
{
	__atomic_store_n(&s->sequence, s->sequence + 1, __ATOMIC_RELEASE);
}
/* False if a writer is inside; else *start is the count to recheck. */
static inline bool raw_seqcount_try_begin(const seqcount_t *s, unsigned *start)
{
	*start = __atomic_load_n(&s->sequence, __ATOMIC_ACQUIRE);
	return !(*start & 1);
}
static inline bool read_seqcount_retry(const seqcount_t *s, unsigned start)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);	/* our reads happen before the recheck */
	return __atomic_load_n(&s->sequence, __ATOMIC_RELAXED) != start;
}

/* ---- locks -------------------------------------------------------------- */

/* Identifies the current host thread for owner tracking: its token's address. */
extern __thread char mml_self_token __tls_fast __attribute__((visibility("hidden")));
unsigned long mml_self(void);

typedef struct spinlock {
	pthread_mutex_t m;
	unsigned long owner;		/* mml_self() of the holder, 0 if free */
} spinlock_t;

void spin_lock_init(spinlock_t *l);
void spin_lock_destroy(spinlock_t *l);
void spin_lock(spinlock_t *l);
bool spin_trylock(spinlock_t *l);
void spin_unlock(spinlock_t *l);
static inline bool spin_is_locked_by_me(spinlock_t *l) { return READ_ONCE(l->owner) == mml_self(); }
/* Held by someone, or (in a deterministic run) waited for: a lock that must not be destroyed now. */
bool spin_is_busy(spinlock_t *l);

struct mutex {
	pthread_mutex_t m;
	unsigned long owner;
};
void mutex_init(struct mutex *l);
void mutex_destroy(struct mutex *l);
void mutex_lock(struct mutex *l);
bool mutex_trylock(struct mutex *l);
void mutex_unlock(struct mutex *l);
static inline bool mutex_is_locked_by_me(struct mutex *l) { return READ_ONCE(l->owner) == mml_self(); }

struct rw_semaphore {
	pthread_rwlock_t rw;
	unsigned long writer;		/* owner when write-held */
	atomic_t readers;		/* read holders, for assertions */
	int sched_writers_waiting;	/* deterministic runs: writers parked here, which new readers queue behind */
};
void init_rwsem(struct rw_semaphore *s);
void destroy_rwsem(struct rw_semaphore *s);
void down_read(struct rw_semaphore *s);
bool down_read_trylock(struct rw_semaphore *s);
void up_read(struct rw_semaphore *s);
void down_write(struct rw_semaphore *s);
bool down_write_trylock(struct rw_semaphore *s);
void up_write(struct rw_semaphore *s);
void downgrade_write(struct rw_semaphore *s);
static inline bool rwsem_is_write_locked_by_me(struct rw_semaphore *s) { return READ_ONCE(s->writer) == mml_self(); }
/* Read-held by someone, or write-held by me: enough for a lockdep-style check. */
static inline bool rwsem_is_locked(struct rw_semaphore *s)
{
	return atomic_read(&s->readers) > 0 || rwsem_is_write_locked_by_me(s);
}

/*
 * Per-CPU counters (Linux's this_cpu_add): each counter has a copy per
 * slot and readers sum the copies.  A host thread's slot is its own: the
 * first NR_COUNTER_SLOTS threads alive hold one alone each and add to it
 * with a plain load and store, no locked instruction, as this_cpu_add
 * needs none on a CPU; any more share the last copy and add atomically.
 * Which copy a count lands in changes nothing a reader sees.
 */
#define NR_COUNTER_SLOTS	16
#define NR_COUNTER_COPIES	(NR_COUNTER_SLOTS + 1)
extern __thread unsigned counter_slot_plus1 __tls_fast;
unsigned counter_slot_claim(void);

/* This thread's copy of per-CPU counters: 0..NR_COUNTER_SLOTS. */
static inline unsigned this_cpu_slot(void)
{
	unsigned s = counter_slot_plus1;

	return __builtin_expect(s != 0, 1) ? s - 1 : counter_slot_claim();
}

/* Add i to the copy of slot this_cpu_slot() gave, v being that copy. */
static inline void this_cpu_add(atomic_long_t *v, unsigned slot, long i)
{
	if (__builtin_expect(slot < NR_COUNTER_SLOTS, 1))
		__atomic_store_n(&v->counter, __atomic_load_n(&v->counter, __ATOMIC_RELAXED) + i, __ATOMIC_RELAXED);
	else
		__atomic_add_fetch(&v->counter, i, __ATOMIC_RELAXED);
}

/*
 * Linux's percpu_rw_semaphore: readers that almost never meet a writer.
 * A reader counts itself in its CPU's slot (its host thread's, given round-robin among
 * PERCPU_RWSEM_SLOTS cache lines) and looks at ->block; a writer sets
 * ->block, then waits until the slots sum to zero.  Either the reader sees
 * ->block and backs off to the inner rwsem, or the writer sees its count:
 * both sides are sequentially consistent, as Linux's rcu_sync would make
 * them.  Nested read locks deadlock against a waiting writer, as Linux's.
 */
#define PERCPU_RWSEM_SLOTS	16
struct percpu_rw_semaphore {
	struct rw_semaphore rw;		/* writers; readers that found ->block set */
	int block;			/* a writer is in or on its way */
	pthread_mutex_t wait_lock;	/* the writer's wait for the last reader */
	pthread_cond_t wait;
	struct { long count; } ____cacheline_aligned read_count[PERCPU_RWSEM_SLOTS];
};
void percpu_init_rwsem(struct percpu_rw_semaphore *s);
void percpu_free_rwsem(struct percpu_rw_semaphore *s);
void percpu_down_read(struct percpu_rw_semaphore *s);
void percpu_up_read(struct percpu_rw_semaphore *s);
void percpu_down_write(struct percpu_rw_semaphore *s);
void percpu_up_write(struct percpu_rw_semaphore *s);

/*
 * Bit locks with sleeping waiters (folio_lock): a hashed table of waitqueues
 * like Linux's folio_wait_table.  Acquire/release ordering on the bit.
 */
void bit_lock(int nr, unsigned long *word);
bool bit_trylock(int nr, unsigned long *word);
void bit_unlock(int nr, unsigned long *word);
/* Sleep until the bit is clear (folio_wait_bit). */
void bit_wait(int nr, unsigned long *word);

/*
 * Waiting on a flag bit (wait_on_bit and wake_up_bit): a waiter sleeps on
 * the word's hashed queue until the bit is clear, or set; whoever changes
 * the bit for waiters does it with clear_bit_wake / set_bit_wake.
 */
bool bit_wait_timeout(int nr, unsigned long *word, unsigned ms);	/* false: still set */
void bit_wait_set(int nr, unsigned long *word);
bool bit_wait_set_timeout(int nr, unsigned long *word, unsigned ms);	/* false: still clear */
void clear_bit_wake(int nr, unsigned long *word);
bool set_bit_wake(int nr, unsigned long *word);	/* the bit's old value */

/*
 * Waiting on any variable (Linux's wait_var_event / wake_up_var): sleep
 * until cond(arg) holds, tested under the variable's hashed queue; whoever
 * changes what cond reads calls wake_up_var(var) after the change.
 */
void wait_var_event(void *var, bool (*cond)(void *arg), void *arg);
void wake_up_var(void *var);

/* ---- lock assertions ---------------------------------------------------- */

void mml_lock_assert_fail(const char *what, const char *file, int line);
#define lockdep_assert_held_spin(l) \
	do { if (!spin_is_locked_by_me(l)) mml_lock_assert_fail(#l " not held", __FILE__, __LINE__); } while (0)
#define lockdep_assert_held_write(s) \
	do { if (!rwsem_is_write_locked_by_me(s)) mml_lock_assert_fail(#s " not write-held", __FILE__, __LINE__); } while (0)
#define lockdep_assert_held_rwsem(s) \
	do { if (!rwsem_is_locked(s)) mml_lock_assert_fail(#s " not held", __FILE__, __LINE__); } while (0)

/* ---- RCU ---------------------------------------------------------------- */

/* Linux's name; "rcu_head" is an alias of it, as in Linux's types.h. */
struct callback_head {
	struct callback_head *next;
	void (*func)(struct callback_head *head);
};
#define rcu_head callback_head

void rcu_read_lock(void);
void rcu_read_unlock(void);
void synchronize_rcu(void);
bool rcu_read_lock_held(void);

/*
 * A batch of callbacks that run after a grace period, flushed by its owner
 * at a point of its choosing (call_rcu without the callback thread): one
 * synchronize_rcu() for the whole batch, callbacks run by the flusher.
 * The flusher must not be inside an RCU read section.
 */
struct rcu_batch {
	spinlock_t lock;
	struct callback_head *list;
	long pending;
};
void rcu_batch_init(struct rcu_batch *b);
void rcu_batch_destroy(struct rcu_batch *b);
void rcu_batch_add(struct rcu_batch *b, struct callback_head *head, void (*func)(struct callback_head *head));
void rcu_batch_flush(struct rcu_batch *b);
static inline long rcu_batch_pending(struct rcu_batch *b) { return READ_ONCE(b->pending); }

#define rcu_dereference(p)	__atomic_load_n(&(p), __ATOMIC_CONSUME)
#define rcu_assign_pointer(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELEASE)

/* ---- CPU sections and the asymmetric barrier ---------------------------- */

/*
 * A section one thread (a simulated CPU) enters and leaves with two plain
 * stores, and that others can wait out: what a remote TLB flush needs of a
 * CPU that may be using a translation, as Linux's flush waits for its IPI.
 * The owner bumps seq around the section (odd: inside).  A waiter stores
 * what the owner must see (an invalidated entry), calls membarrier_heavy(),
 * then cpu_section_wait(): either the owner entered after the barrier and
 * sees the store, or the waiter sees it inside and waits until it leaves.
 * membarrier_heavy() is membarrier(2), which makes every running thread of
 * the process execute a full barrier, so the owner pays none (liburcu's
 * smp_mb_slave/smp_mb_master).  Without it (a kernel that refuses it, the
 * ThreadSanitizer build, which cannot see it) both sides pay a fence.  In
 * a deterministic run a thread runs only when the others are parked, so
 * a fence is the heavy barrier there; enter, cpu_section_point() and
 * exit (before and after leaving: a lock's and an unlock's points) are
 * scheduling points.
 */
struct cpu_section {
	unsigned long seq;		/* written by its owner only; odd inside */
	unsigned long thread;		/* mml_self() of the host thread that entered last; taken with a full barrier */
};
/* Set once before main(): 1 if membarrier(2) registered, and the owner's fence may go. */
extern int mml_membarrier_ok __attribute__((visibility("hidden")));

static inline __attribute__((always_inline)) void __cpu_section_enter(struct cpu_section *s)
{
	unsigned long seq = __atomic_load_n(&s->seq, __ATOMIC_RELAXED) + 1;

	/* Another host thread's CPU before: take it with a full barrier (cpu_section_foreign). */
	if (__builtin_expect(__atomic_load_n(&s->thread, __ATOMIC_RELAXED) != (unsigned long)&mml_self_token, 0)) {
		__atomic_exchange_n(&s->thread, (unsigned long)&mml_self_token, __ATOMIC_SEQ_CST);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	}

	if (__builtin_expect(__atomic_load_n(&mml_membarrier_ok, __ATOMIC_RELAXED), 1)) {
		__atomic_store_n(&s->seq, seq, __ATOMIC_RELAXED);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
	} else {
		__atomic_store_n(&s->seq, seq, __ATOMIC_SEQ_CST);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	}
}

static inline __attribute__((always_inline)) void __cpu_section_exit(struct cpu_section *s)
{
	/* Release: what the section did happens before a waiter's return. */
	__atomic_store_n(&s->seq, __atomic_load_n(&s->seq, __ATOMIC_RELAXED) + 1, __ATOMIC_RELEASE);
}

/* Deterministic runs (sync.c): a point of the section; its exit, which wakes a waiter. */
void cpu_section_sched_point(struct cpu_section *s);
void cpu_section_sched_exit(struct cpu_section *s);
#define cpu_section_sched_on()	__builtin_expect(__atomic_load_n(&mml_sched_on, __ATOMIC_RELAXED), 0)

/*
 * Macros, so that a scheduling point's location (a trace's file:line) is
 * the caller's line even where the debug information has no inline frames.
 * cpu_section_point() is the point inside: between a translation and its
 * use, the window in which a remote flush meets it.
 */
#define cpu_section_enter(s) do {					\
		__cpu_section_enter(s);					\
		if (cpu_section_sched_on())				\
			cpu_section_sched_point(s);			\
	} while (0)
#define cpu_section_point(s) do {					\
		if (cpu_section_sched_on())				\
			cpu_section_sched_point(s);			\
	} while (0)
#define cpu_section_exit(s) do {					\
		if (cpu_section_sched_on())				\
			cpu_section_sched_exit(s);			\
		else							\
			__cpu_section_exit(s);				\
	} while (0)

/*
 * After the stores s's owner must see and a full barrier: may a host
 * thread other than this one be inside s, or enter it and miss them?  Not
 * if this thread entered it last, as none is inside (a task's calls
 * come from one host thread at a time) and another must take it first,
 * with a full barrier of its own: the waiter needs neither
 * membarrier_heavy() nor cpu_section_wait().  Nor if no thread ever
 * entered it (thread 0).
 */
static inline bool cpu_section_foreign(const struct cpu_section *s)
{
	unsigned long thread = __atomic_load_n(&s->thread, __ATOMIC_RELAXED);

	return thread && thread != (unsigned long)&mml_self_token;
}

/* Every thread of the process has run a full barrier when this returns. */
void membarrier_heavy(void);
/* After membarrier_heavy(): return once s's owner is outside the section it may have been in. */
void cpu_section_wait(struct cpu_section *s);

/* ---- page contents ------------------------------------------------------ */

/*
 * Copies to or from a frame's bytes, which may race by design: a device
 * writes through a pin while fork or a COW fault copies the page, two
 * threads store to one page.  Hardware lets the bytes tear and so does
 * Linux; no metadata lives in them.  Under ThreadSanitizer such copies are
 * not recorded, so the races it reports are the ones that matter.
 */
#ifdef MML_TSAN
void page_data_copy(void *dst, const void *src, size_t n);
#else
/* Inline: a CPU's 1, 2, 4 or 8-byte load or store (the TLB hit path) is one move, not a call. */
static inline void page_data_copy(void *dst, const void *src, size_t n)
{
	switch (n) {
	case 8: __builtin_memcpy(dst, src, 8); break;
	case 4: __builtin_memcpy(dst, src, 4); break;
	case 2: __builtin_memcpy(dst, src, 2); break;
	case 1: __builtin_memcpy(dst, src, 1); break;
	default: memcpy(dst, src, n);
	}
}
#endif
/* memcmp of two frames' bytes that may be changing (KSM compares pages their processes may write). */
int page_data_cmp(const void *a, const void *b, size_t n);

/* ---- threads ------------------------------------------------------------ */

struct mml_thread;
int mml_thread_start(struct mml_thread **out, void *(*fn)(void *), void *arg);
/* Let other threads run a while, as a preemption would (bug-zoo race windows only). */
void mml_preempt_point(void);
/*
 * Sleep ms milliseconds, woken by nothing else (Linux's msleep and
 * schedule_timeout_uninterruptible): a retry that must let the thread it
 * waits for get on.  In a deterministic run the thread parks on the
 * virtual clock: the others run until it reaches the time.
 */
void msleep(unsigned int ms);
/*
 * A device's latency (I/O in flight, Linux's io_schedule): in a
 * deterministic run the thread waits ms of the virtual clock, as one
 * sleeping on the device lets others run; a real thread goes on, its I/O
 * having taken its own time.
 */
void io_wait(unsigned int ms);
void mml_thread_join(struct mml_thread *t);

/* ---- the deterministic scheduler (sched.c) ------------------------------ */

enum sched_strategy { SCHED_RANDOM, SCHED_PCT };

/* What a machine keeps between its deterministic runs. */
struct sched;
struct sched_state {
	struct sched *s;		/* the threads, machine threads among them; NULL before the first */
	enum sched_strategy strategy;
	unsigned depth;			/* PCT: d, the bug depth aimed at (d - 1 priority changes) */
	bool pct_pte;			/* PCT whose steps are pte loads only (pct-pte) */
	uint64_t rng;			/* the strategy's random stream, seeded from the machine's seed */
	uint64_t hash;			/* digest of every interleaving so far */
	uint64_t last_steps;		/* scheduling points of the last run: PCT's estimate of k */
	uint64_t last_pte_loads;	/* those of them that loaded a pte (not a pmd, pud, pgd): pct-pte's k */
	uint64_t pct_k;			/* PCT's k if set; 0: last_steps */
	uint64_t max_steps;		/* a run longer than this is reported as a livelock */
	unsigned trace_keep;		/* steps of a run kept for mml_sched_trace, at least 32 */
	bool quiet;			/* no report on stderr */
	char report[8192];		/* the last failure: each thread's wait and the last steps */
};

void sched_state_init(struct sched_state *st, uint64_t seed);
/*
 * Run fns[i](args[i]) for i < n, each on a host thread of its own, one at
 * a time under st's strategy.  0 once all have returned; -EDEADLK (with
 * st->report) if every thread that has not returned waits and no time-out
 * can end a wait, or the run passed max_steps: those threads stay parked
 * for good, holding what they hold (later runs of other machines work).
 * -EBUSY if another run is active in this process, -EINVAL for n over
 * SCHED_MAX_THREADS, -ENOMEM.
 */
#define SCHED_MAX_THREADS 64
#define SCHED_MAX_DAEMONS 4
/* In a deterministic run, hand the CPU to another thread if one can run; elsewhere nothing. */
void sched_yield_point(void);
/* Linux's cond_resched(): a long loop lets others run (the host's threads are preempted anyway). */
static inline void cond_resched(void) { sched_yield_point(); }
int sched_run(struct sched_state *st, unsigned n, void (**fns)(void *), void **args);
/*
 * A machine thread (kswapd, khugepaged, ksmd) of a deterministic machine:
 * a host thread that runs only inside the machine's runs, as one more
 * thread of each, scheduled like the others.  idle_on is what it waits on
 * when it has nothing to do: a run ends once its functions have returned
 * and every machine thread waits there (or has returned); the next run
 * wakes it.  Before the machine's first run; 0, -EINVAL, -ENOMEM.
 */
int sched_daemon_start(struct sched_state *st, struct mml_thread **out, const char *name, void *(*fn)(void *), void *arg,
		       const void *idle_on);
/*
 * After the caller told the machine thread to stop (and woke it): a run of
 * no functions, in which it returns, then its host thread is joined.  0;
 * -EDEADLK if it did not return (or a run deadlocked), -EBUSY while
 * another run is active: the host thread is then left.
 */
int sched_daemon_stop(struct sched_state *st, struct mml_thread *host);
/* In a deterministic run, the virtual clock's ns (true); elsewhere false.  Trace timestamps. */
bool sched_virtual_now(uint64_t *ns);
/* The kept steps of the latest run, with source locations, on f; how many. */
int sched_trace_print(struct sched_state *st, FILE *f);
/* At the machine's end: its scheduler, unless a run deadlocked (the machine is then left). */
void sched_state_destroy(struct sched_state *st);

#endif /* MML_SYNC_H */
