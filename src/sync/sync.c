/*
 * sync.c - locks, bit locks, RCU and threads on pthreads and liburcu.
 *
 * This is the only file that talks to pthreads and liburcu; see sync.h.
 * A thread of a deterministic run (sched.c) takes the paths marked
 * "deterministic": it tries, and parks with sched_block() where a real
 * thread would sleep in pthreads, and whoever releases wakes it with
 * sched_wake().
 */

#include "sync/sync.h"
#include "sync/sched.h"

#include <errno.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CALLER	__builtin_return_address(0)

/* Deterministic: a scheduling point, then try until trylock succeeds, parked on obj between tries. */
#define SCHED_ACQUIRE(obj, trylock) do {				\
		sched_point_at(SP_LOCK, (obj), CALLER);			\
		while (!(trylock))					\
			sched_block(SP_LOCK, (obj), CALLER, 0);		\
	} while (0)

/* Deterministic: after a release, the parked may run; then a scheduling point. */
static void sched_released(const void *obj, const void *where)
{
	sched_wake(obj);
	sched_point_at(SP_UNLOCK, obj, where);
}

__thread char mml_self_token __tls_fast;

unsigned long mml_self(void)
{
	return (unsigned long)&mml_self_token;
}

static void die_on(int err, const char *what)
{
	if (err) {
		fprintf(stderr, "mmlab: %s: %s\n", what, strerror(err));
		abort();
	}
}

void mml_lock_assert_fail(const char *what, const char *file, int line)
{
	fprintf(stderr, "mmlab: lock assertion failed at %s:%d: %s\n", file, line, what);
	abort();
}

/* ---- spinlock_t and struct mutex ---------------------------------------- */

void spin_lock_init(spinlock_t *l)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
	die_on(pthread_mutex_init(&l->m, &a), "spin_lock_init");
	pthread_mutexattr_destroy(&a);
	l->owner = 0;
}

void spin_lock_destroy(spinlock_t *l)
{
	die_on(pthread_mutex_destroy(&l->m), "spin_lock_destroy");
}

void spin_lock(spinlock_t *l)
{
	if (READ_ONCE(l->owner) == mml_self())
		mml_lock_assert_fail("spinlock recursion", __FILE__, __LINE__);
	if (sched_current())
		SCHED_ACQUIRE(l, !pthread_mutex_trylock(&l->m));
	else
		die_on(pthread_mutex_lock(&l->m), "spin_lock");
	WRITE_ONCE(l->owner, mml_self());
}

bool spin_trylock(spinlock_t *l)
{
	if (sched_current())
		sched_point_at(SP_TRYLOCK, l, CALLER);
	if (pthread_mutex_trylock(&l->m))
		return false;
	WRITE_ONCE(l->owner, mml_self());
	return true;
}

bool spin_is_busy(spinlock_t *l)
{
	if (sched_current() && sched_has_waiter(l))
		return true;
	if (pthread_mutex_trylock(&l->m))
		return true;
	die_on(pthread_mutex_unlock(&l->m), "spin_is_busy");
	return false;
}

void spin_unlock(spinlock_t *l)
{
	if (READ_ONCE(l->owner) != mml_self())
		mml_lock_assert_fail("spin_unlock by non-owner", __FILE__, __LINE__);
	WRITE_ONCE(l->owner, 0);
	die_on(pthread_mutex_unlock(&l->m), "spin_unlock");
	if (sched_current())
		sched_released(l, CALLER);
}

void mutex_init(struct mutex *l)
{
	die_on(pthread_mutex_init(&l->m, NULL), "mutex_init");
	l->owner = 0;
}

void mutex_destroy(struct mutex *l)
{
	die_on(pthread_mutex_destroy(&l->m), "mutex_destroy");
}

void mutex_lock(struct mutex *l)
{
	if (sched_current())
		SCHED_ACQUIRE(l, !pthread_mutex_trylock(&l->m));
	else
		die_on(pthread_mutex_lock(&l->m), "mutex_lock");
	WRITE_ONCE(l->owner, mml_self());
}

bool mutex_trylock(struct mutex *l)
{
	if (sched_current())
		sched_point_at(SP_TRYLOCK, l, CALLER);
	if (pthread_mutex_trylock(&l->m))
		return false;
	WRITE_ONCE(l->owner, mml_self());
	return true;
}

void mutex_unlock(struct mutex *l)
{
	WRITE_ONCE(l->owner, 0);
	die_on(pthread_mutex_unlock(&l->m), "mutex_unlock");
	if (sched_current())
		sched_released(l, CALLER);
}

/* ---- rw_semaphore -------------------------------------------------------- */

void init_rwsem(struct rw_semaphore *s)
{
	pthread_rwlockattr_t a;

	/* Writers must not starve behind a stream of faulting readers. */
	pthread_rwlockattr_init(&a);
	pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	die_on(pthread_rwlock_init(&s->rw, &a), "init_rwsem");
	pthread_rwlockattr_destroy(&a);
	s->writer = 0;
	atomic_set(&s->readers, 0);
	s->sched_writers_waiting = 0;
}

void destroy_rwsem(struct rw_semaphore *s)
{
	die_on(pthread_rwlock_destroy(&s->rw), "destroy_rwsem");
}

void down_read(struct rw_semaphore *s)
{
	/* Deterministic: a parked writer holds new readers back, as the writer-preferring rwlock does. */
	if (sched_current())
		SCHED_ACQUIRE(s, !s->sched_writers_waiting && !pthread_rwlock_tryrdlock(&s->rw));
	else
		die_on(pthread_rwlock_rdlock(&s->rw), "down_read");
	atomic_inc(&s->readers);
}

bool down_read_trylock(struct rw_semaphore *s)
{
	if (sched_current()) {
		sched_point_at(SP_TRYLOCK, s, CALLER);
		if (s->sched_writers_waiting)
			return false;
	}
	if (pthread_rwlock_tryrdlock(&s->rw))
		return false;
	atomic_inc(&s->readers);
	return true;
}

void up_read(struct rw_semaphore *s)
{
	atomic_dec(&s->readers);
	die_on(pthread_rwlock_unlock(&s->rw), "up_read");
	if (sched_current())
		sched_released(s, CALLER);
}

void down_write(struct rw_semaphore *s)
{
	if (READ_ONCE(s->writer) == mml_self())
		mml_lock_assert_fail("rwsem write recursion", __FILE__, __LINE__);
	if (sched_current()) {
		sched_point_at(SP_LOCK, s, CALLER);
		while (pthread_rwlock_trywrlock(&s->rw)) {
			s->sched_writers_waiting++;
			sched_block(SP_LOCK, s, CALLER, 0);
			s->sched_writers_waiting--;
		}
	} else {
		die_on(pthread_rwlock_wrlock(&s->rw), "down_write");
	}
	WRITE_ONCE(s->writer, mml_self());
}

bool down_write_trylock(struct rw_semaphore *s)
{
	if (sched_current())
		sched_point_at(SP_TRYLOCK, s, CALLER);
	if (pthread_rwlock_trywrlock(&s->rw))
		return false;
	WRITE_ONCE(s->writer, mml_self());
	return true;
}

void up_write(struct rw_semaphore *s)
{
	WRITE_ONCE(s->writer, 0);
	die_on(pthread_rwlock_unlock(&s->rw), "up_write");
	if (sched_current())
		sched_released(s, CALLER);
}

/*
 * pthreads cannot downgrade atomically; releasing and re-taking for read is
 * correct for every caller here because none relies on the state staying
 * unchanged across the downgrade (documented in docs/deviations.md).
 */
void downgrade_write(struct rw_semaphore *s)
{
	up_write(s);
	down_read(s);
}

/* ---- per-CPU counters ---------------------------------------------------------- */

static unsigned long counter_slots_taken;	/* a bit per slot a live thread holds alone */
static pthread_key_t counter_slot_key;		/* its destructor gives the slot back */
static pthread_once_t counter_slot_once = PTHREAD_ONCE_INIT;
__thread unsigned counter_slot_plus1 __tls_fast;

/* At thread exit: the slot is free for the next thread, its counts staying in it. */
static void counter_slot_release(void *plus1)
{
	unsigned slot = (unsigned)(uintptr_t)plus1 - 1;

	__atomic_fetch_and(&counter_slots_taken, ~(1UL << slot), __ATOMIC_RELEASE);
}

static void counter_slot_key_create(void)
{
	die_on(pthread_key_create(&counter_slot_key, counter_slot_release), "pthread_key_create");
}

/*
 * A thread's first count: a free slot of its own, taken with acquire
 * ordering, so that it adds to what the slot's last owner left; the shared
 * one when all are held.
 */
unsigned counter_slot_claim(void)
{
	unsigned long taken = __atomic_load_n(&counter_slots_taken, __ATOMIC_RELAXED);
	unsigned slot = NR_COUNTER_SLOTS;

	pthread_once(&counter_slot_once, counter_slot_key_create);
	while (~taken & ((1UL << NR_COUNTER_SLOTS) - 1)) {
		unsigned s = (unsigned)__builtin_ctzl(~taken);

		if (__atomic_compare_exchange_n(&counter_slots_taken, &taken, taken | (1UL << s), false,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
			slot = s;
			die_on(pthread_setspecific(counter_slot_key, (void *)(uintptr_t)(s + 1)), "pthread_setspecific");
			break;
		}
	}
	counter_slot_plus1 = slot + 1;
	return slot;
}

/* ---- percpu_rw_semaphore ----------------------------------------------------- */

/* This thread's slot: threads take slots round-robin the first time they read-lock. */
static unsigned percpu_rwsem_slot(void)
{
	static unsigned next;
	static __thread unsigned slot __tls_fast;

	if (!slot)
		slot = __atomic_add_fetch(&next, 1, __ATOMIC_RELAXED) % PERCPU_RWSEM_SLOTS + 1;
	return slot - 1;
}

void percpu_init_rwsem(struct percpu_rw_semaphore *s)
{
	init_rwsem(&s->rw);
	s->block = 0;
	die_on(pthread_mutex_init(&s->wait_lock, NULL), "percpu_init_rwsem");
	die_on(pthread_cond_init(&s->wait, NULL), "percpu_init_rwsem");
	for (unsigned i = 0; i < PERCPU_RWSEM_SLOTS; i++)
		s->read_count[i].count = 0;
}

void percpu_free_rwsem(struct percpu_rw_semaphore *s)
{
	destroy_rwsem(&s->rw);
	die_on(pthread_mutex_destroy(&s->wait_lock), "percpu_free_rwsem");
	die_on(pthread_cond_destroy(&s->wait), "percpu_free_rwsem");
}

static long percpu_readers(struct percpu_rw_semaphore *s)
{
	long sum = 0;

	for (unsigned i = 0; i < PERCPU_RWSEM_SLOTS; i++)
		sum += __atomic_load_n(&s->read_count[i].count, __ATOMIC_SEQ_CST);
	return sum;
}

/* A reader left while a writer waits: the writer counts again (rcuwait_wake_up). */
static void percpu_wake_writer(struct percpu_rw_semaphore *s)
{
	pthread_mutex_lock(&s->wait_lock);
	pthread_cond_broadcast(&s->wait);
	pthread_mutex_unlock(&s->wait_lock);
}

void percpu_down_read(struct percpu_rw_semaphore *s)
{
	long *count = &s->read_count[percpu_rwsem_slot()].count;

	if (sched_current()) {
		/* Deterministic: one thread runs at a time; park while a writer is in. */
		SCHED_ACQUIRE(s, !__atomic_load_n(&s->block, __ATOMIC_RELAXED));
		__atomic_add_fetch(count, 1, __ATOMIC_SEQ_CST);
		return;
	}
	__atomic_add_fetch(count, 1, __ATOMIC_SEQ_CST);
	if (__builtin_expect(!__atomic_load_n(&s->block, __ATOMIC_SEQ_CST), 1))
		return;
	/* A writer: step back, and come in again behind it (__percpu_down_read's slow path). */
	__atomic_sub_fetch(count, 1, __ATOMIC_SEQ_CST);
	percpu_wake_writer(s);
	down_read(&s->rw);
	__atomic_add_fetch(count, 1, __ATOMIC_SEQ_CST);
	up_read(&s->rw);
}

void percpu_up_read(struct percpu_rw_semaphore *s)
{
	__atomic_sub_fetch(&s->read_count[percpu_rwsem_slot()].count, 1, __ATOMIC_SEQ_CST);
	if (sched_current())
		sched_released(s, CALLER);
	else if (__builtin_expect(__atomic_load_n(&s->block, __ATOMIC_SEQ_CST), 0))
		percpu_wake_writer(s);
}

void percpu_down_write(struct percpu_rw_semaphore *s)
{
	down_write(&s->rw);
	__atomic_store_n(&s->block, 1, __ATOMIC_SEQ_CST);
	if (sched_current()) {
		while (percpu_readers(s))
			sched_block(SP_LOCK, s, CALLER, 0);
		return;
	}
	pthread_mutex_lock(&s->wait_lock);
	while (percpu_readers(s))
		pthread_cond_wait(&s->wait, &s->wait_lock);
	pthread_mutex_unlock(&s->wait_lock);
}

void percpu_up_write(struct percpu_rw_semaphore *s)
{
	__atomic_store_n(&s->block, 0, __ATOMIC_RELEASE);
	if (sched_current())
		sched_wake(s);
	up_write(&s->rw);
}

/* ---- bit locks ------------------------------------------------------------ */

#define BIT_WAIT_TABLE_BITS 8
#define BIT_WAIT_TABLE_SIZE (1 << BIT_WAIT_TABLE_BITS)

static struct bit_waitq {
	pthread_mutex_t m;
	pthread_cond_t c;
} bit_wait_table[BIT_WAIT_TABLE_SIZE];

static pthread_once_t bit_wait_once = PTHREAD_ONCE_INIT;

static void bit_wait_table_init(void)
{
	for (int i = 0; i < BIT_WAIT_TABLE_SIZE; i++) {
		pthread_mutex_init(&bit_wait_table[i].m, NULL);
		pthread_cond_init(&bit_wait_table[i].c, NULL);
	}
}

static struct bit_waitq *bit_waitqueue(void *word)
{
	uintptr_t h = (uintptr_t)word;

	pthread_once(&bit_wait_once, bit_wait_table_init);
	h ^= h >> 17;
	h *= 0x9e3779b97f4a7c15ULL;
	return &bit_wait_table[h >> (64 - BIT_WAIT_TABLE_BITS)];
}

bool bit_trylock(int nr, unsigned long *word)
{
	return !test_and_set_bit_lock(nr, word);
}

void bit_lock(int nr, unsigned long *word)
{
	struct bit_waitq *q;

	if (sched_current()) {
		SCHED_ACQUIRE(word, bit_trylock(nr, word));
		return;
	}
	if (bit_trylock(nr, word))
		return;
	q = bit_waitqueue(word);
	pthread_mutex_lock(&q->m);
	while (!bit_trylock(nr, word))
		pthread_cond_wait(&q->c, &q->m);
	pthread_mutex_unlock(&q->m);
}

void bit_unlock(int nr, unsigned long *word)
{
	struct bit_waitq *q;

	if (sched_current()) {
		clear_bit_unlock(nr, word);
		sched_released(word, CALLER);
		return;
	}
	q = bit_waitqueue(word);
	/* Pairs with the waiter re-testing the bit under q->m. */
	pthread_mutex_lock(&q->m);
	clear_bit_unlock(nr, word);
	pthread_cond_broadcast(&q->c);
	pthread_mutex_unlock(&q->m);
}

void bit_wait(int nr, unsigned long *word)
{
	struct bit_waitq *q;

	if (sched_current()) {
		while (test_bit(nr, word))
			sched_block(SP_WAIT, word, CALLER, 0);
		return;
	}
	if (!test_bit(nr, word))
		return;
	q = bit_waitqueue(word);
	pthread_mutex_lock(&q->m);
	while (test_bit(nr, word))
		pthread_cond_wait(&q->c, &q->m);
	pthread_mutex_unlock(&q->m);
}

/*
 * Sleep until the bit is want (clear or set) or ms have passed: whether it
 * is want.  Deterministic: ms of the virtual clock, counted again after
 * each wake-up that finds the bit still wrong (at least ms, as a sleep).
 */
static bool bit_wait_for_timeout(int nr, unsigned long *word, bool want, unsigned ms, const void *where)
{
	struct bit_waitq *q;
	struct timespec until;

	if (sched_current()) {
		while (test_bit(nr, word) != want)
			if (sched_block(SP_WAIT, word, where, ms ? ms : 1))
				break;
		return test_bit(nr, word) == want;
	}
	if (test_bit(nr, word) == want)
		return true;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	q = bit_waitqueue(word);
	pthread_mutex_lock(&q->m);
	while (test_bit(nr, word) != want && pthread_cond_timedwait(&q->c, &q->m, &until) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&q->m);
	return test_bit(nr, word) == want;
}

bool bit_wait_timeout(int nr, unsigned long *word, unsigned ms)
{
	return bit_wait_for_timeout(nr, word, false, ms, CALLER);
}

bool bit_wait_set_timeout(int nr, unsigned long *word, unsigned ms)
{
	return bit_wait_for_timeout(nr, word, true, ms, CALLER);
}

void bit_wait_set(int nr, unsigned long *word)
{
	struct bit_waitq *q;

	if (sched_current()) {
		while (!test_bit(nr, word))
			sched_block(SP_WAIT, word, CALLER, 0);
		return;
	}
	if (test_bit(nr, word))
		return;
	q = bit_waitqueue(word);
	pthread_mutex_lock(&q->m);
	while (!test_bit(nr, word))
		pthread_cond_wait(&q->c, &q->m);
	pthread_mutex_unlock(&q->m);
}

void clear_bit_wake(int nr, unsigned long *word)
{
	bit_unlock(nr, word);	/* the same: clear, then wake under the queue's mutex */
}

bool set_bit_wake(int nr, unsigned long *word)
{
	struct bit_waitq *q;
	bool old;

	if (sched_current()) {
		old = test_and_set_bit(nr, word);
		sched_wake(word);
		sched_point_at(SP_WAKE, word, CALLER);
		return old;
	}
	q = bit_waitqueue(word);
	/* Under q->m, so that a waiter testing the bit under it cannot miss the wake-up. */
	pthread_mutex_lock(&q->m);
	old = test_and_set_bit(nr, word);
	pthread_cond_broadcast(&q->c);
	pthread_mutex_unlock(&q->m);
	return old;
}

void wait_var_event(void *var, bool (*cond)(void *arg), void *arg)
{
	struct bit_waitq *q;

	if (sched_current()) {
		while (!cond(arg))
			sched_block(SP_WAIT, var, CALLER, 0);
		return;
	}
	if (cond(arg))
		return;
	q = bit_waitqueue(var);
	pthread_mutex_lock(&q->m);
	while (!cond(arg))
		pthread_cond_wait(&q->c, &q->m);
	pthread_mutex_unlock(&q->m);
}

void wake_up_var(void *var)
{
	struct bit_waitq *q;

	if (sched_current()) {
		sched_wake(var);
		sched_point_at(SP_WAKE, var, CALLER);
		return;
	}
	q = bit_waitqueue(var);
	/* Under q->m, so that a waiter testing cond under it cannot miss the wake-up. */
	pthread_mutex_lock(&q->m);
	pthread_cond_broadcast(&q->c);
	pthread_mutex_unlock(&q->m);
}

/* ---- threads -------------------------------------------------------------- */

struct mml_thread {
	pthread_t tid;
};

int mml_thread_start(struct mml_thread **out, void *(*fn)(void *), void *arg)
{
	struct mml_thread *t = malloc(sizeof(*t));
	int err;

	if (!t)
		return -ENOMEM;
	err = pthread_create(&t->tid, NULL, fn, arg);
	if (err) {
		free(t);
		return -err;
	}
	*out = t;
	return 0;
}

void mml_preempt_point(void)
{
	struct timespec ts = { 0, 100 * 1000 };

	if (sched_current()) {
		sched_point_at(SP_YIELD, NULL, CALLER);	/* another thread runs, if one can */
		return;
	}
	nanosleep(&ts, NULL);
}

static char sleep_obj;	/* what a deterministic sleep parks on: only its time-out ends it */

/* Deterministic: park for ms of the virtual clock. */
static void sched_sleep(unsigned int ms, const void *where)
{
	sched_block(SP_WAIT, &sleep_obj, where, ms ? ms : 1);
}

void msleep(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	if (sched_current()) {
		sched_sleep(ms, CALLER);
		return;
	}
	nanosleep(&ts, NULL);
}

void io_wait(unsigned int ms)
{
	if (sched_current())
		sched_sleep(ms, CALLER);
}

void mml_thread_join(struct mml_thread *t)
{
	pthread_join(t->tid, NULL);
	free(t);
}

/* ---- page contents ------------------------------------------------------ */

#ifdef MML_TSAN
/* The ThreadSanitizer runtime's annotations (dynamic_annotations). */
void AnnotateIgnoreReadsBegin(const char *file, int line);
void AnnotateIgnoreReadsEnd(const char *file, int line);
void AnnotateIgnoreWritesBegin(const char *file, int line);
void AnnotateIgnoreWritesEnd(const char *file, int line);
#endif

int page_data_cmp(const void *a, const void *b, size_t n)
{
	int r;

#ifdef MML_TSAN
	AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
#endif
	r = memcmp(a, b, n);
#ifdef MML_TSAN
	AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
#endif
	return r;
}

#ifdef MML_TSAN
void page_data_copy(void *dst, const void *src, size_t n)
{
	AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
	AnnotateIgnoreWritesBegin(__FILE__, __LINE__);
	memcpy(dst, src, n);
	AnnotateIgnoreWritesEnd(__FILE__, __LINE__);
	AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
}
#endif

/* ---- CPU sections (sync.h) ------------------------------------------------ */

int mml_membarrier_ok;

/*
 * Before main(), while the process has one thread: a section entered
 * before this would have paid its fence anyway.  The ThreadSanitizer
 * build keeps the fences, which it understands.
 */
__attribute__((constructor)) static void membarrier_register(void)
{
#if !defined(MML_TSAN) && defined(__NR_membarrier)
	if (syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0)
		mml_membarrier_ok = 1;
#endif
}

void membarrier_heavy(void)
{
	/* A deterministic run has one thread running, handed over through the scheduler's lock. */
	if (!mml_membarrier_ok || sched_current()) {
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		return;
	}
	if (syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0)
		return;
	/* A child of fork(2) may have to register again; the sections rely on it. */
	die_on(syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) ? errno : 0,
	       "membarrier register");
	die_on(syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) ? errno : 0, "membarrier");
}

/* Deterministic: a point of the section, named by its caller's line. */
void cpu_section_sched_point(struct cpu_section *s)
{
	sched_point_at(SP_LOCK, s, CALLER);
}

/*
 * Deterministic: a point with the access done but the section still open
 * (a flush that comes then waits), then the owner leaves and, as an
 * unlock, wakes a waiting flush, which may run at once.
 */
void cpu_section_sched_exit(struct cpu_section *s)
{
	sched_point_at(SP_UNLOCK, s, CALLER);
	__cpu_section_exit(s);
	if (sched_current())
		sched_released(s, CALLER);
}

void cpu_section_wait(struct cpu_section *s)
{
	unsigned long seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);

	if (!(seq & 1))
		return;
	/* The owner is inside, holding nothing: it leaves within its access. */
	while (__atomic_load_n(&s->seq, __ATOMIC_ACQUIRE) == seq) {
		if (sched_current())
			sched_block(SP_WAIT, s, CALLER, 0);
		else
			sched_yield();
	}
}
