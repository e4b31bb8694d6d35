/*
 * trace.c - the trace events' registry, selection and output: what
 * Linux's kernel/trace/ does for a tracepoint that fires (set_event, the
 * ring buffer's reader printing the trace file), without the ring buffer:
 * an event goes straight to the output file and the subscriber.
 *
 * See trace.h for the contract; the events' fields are trace_events.c's.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>

#include "mm/internal.h"

__thread const char *trace_kthread_comm;

#define TRACE_EVENT_NAME(sys, name) { #sys, #name },
static const struct {
	const char *system, *name;
} trace_events[NR_TRACE_EVENTS] = { TRACE_EVENTS(TRACE_EVENT_NAME) };

void trace_state_init(struct trace_state *ts)
{
	spin_lock_init(&ts->lock);
}

void trace_state_destroy(struct trace_state *ts)
{
	spin_lock_destroy(&ts->lock);
}

const char *mml_trace_event_name(unsigned i, const char **system)
{
	if (i >= NR_TRACE_EVENTS)
		return NULL;
	if (system)
		*system = trace_events[i].system;
	return trace_events[i].name;
}

/* The events one set_event item names: a glob over NAME, or over SYSTEM:NAME. */
static uint64_t trace_match(const char *item)
{
	const char *colon = strchr(item, ':');
	uint64_t set = 0;

	for (int i = 0; i < NR_TRACE_EVENTS; i++) {
		bool hit;

		if (colon) {
			char sys[64];
			size_t n = (size_t)(colon - item);

			if (n >= sizeof(sys))
				return 0;
			memcpy(sys, item, n);
			sys[n] = '\0';
			hit = !fnmatch(sys, trace_events[i].system, 0) && !fnmatch(colon + 1, trace_events[i].name, 0);
		} else {
			hit = !fnmatch(item, trace_events[i].name, 0);
		}
		if (hit)
			set |= 1ULL << i;
	}
	return set;
}

int mml_trace_enable(struct mml_machine *m, const char *events)
{
	uint64_t mask;
	char *list, *save = NULL;
	int err = 0;

	if (!events)
		return -EINVAL;
	list = strdup(events);
	if (!list)
		return -ENOMEM;
	spin_lock(&m->trace.lock);
	mask = m->trace.mask;
	for (char *item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		bool off = *item == '!';
		uint64_t set = trace_match(item + off);

		if (!set) {
			err = -EINVAL;
			break;
		}
		mask = off ? mask & ~set : mask | set;
	}
	if (!err)
		WRITE_ONCE(m->trace.mask, mask);
	spin_unlock(&m->trace.lock);
	free(list);
	return err;
}

/* The trace file's column header (kernel/trace/trace.c prints it above the events). */
static void trace_print_header(FILE *out)
{
	fprintf(out,
		"# tracer: nop\n"
		"#\n"
		"#                                _-----=> irqs-off/BH-disabled\n"
		"#                               / _----=> need-resched\n"
		"#                              | / _---=> hardirq/softirq\n"
		"#                              || / _--=> preempt-depth\n"
		"#                              ||| / _-=> migrate-disable\n"
		"#                              |||| /     delay\n"
		"#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n"
		"#              | |         |   |||||     |         |\n");
}

int mml_trace_set_output(struct mml_machine *m, FILE *out)
{
	spin_lock(&m->trace.lock);
	m->trace.out = out;
	if (out)
		trace_print_header(out);
	spin_unlock(&m->trace.lock);
	return 0;
}

int mml_trace_subscribe(struct mml_machine *m, void (*fn)(void *arg, const struct mml_trace_event *ev), void *arg)
{
	spin_lock(&m->trace.lock);
	m->trace.fn = fn;
	m->trace.arg = arg;
	spin_unlock(&m->trace.lock);
	return 0;
}

/*
 * Models trace_print_context() and trace_print_lat_fmt() printing one
 * event of the trace file: "%16s-%-7d [%03d] FLAGS %5lu.%06lu: NAME:
 * FIELDS".  The flags column has no interrupts or preemption counts to
 * show but a shootdown's IPI (docs/deviations.md).
 */
void trace_emit(struct mml_machine *m, enum trace_event_id e, const struct mml_task *on, const char *flags,
		const char *fmt, ...)
{
	const struct mml_task *t = on ? on : trace_kthread_comm ? NULL : current;
	struct mml_trace_event ev = {
		.name = trace_events[e].name,
		.system = trace_events[e].system,
		.comm = t || !trace_kthread_comm ? "mmlab" : trace_kthread_comm,
		.pid = t ? t->tid : 0,
		.cpu = t ? t->tid : 0,
	};
	char fields[512], line[768];
	uint64_t now;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(fields, sizeof(fields), fmt, ap);
	va_end(ap);
	ev.fields = fields;
	ev.line = line;
	spin_lock(&m->trace.lock);
	/* Strictly increasing: the scheduler's clock stands still within a step. */
	if (sched_virtual_now(&now))
		m->trace.clock = max(now, m->trace.clock + 1);
	else
		m->trace.clock += 1000;
	ev.ts_ns = m->trace.clock;
	snprintf(line, sizeof(line), "%16s-%-7d [%03d] %s %5llu.%06llu: %s: %s", ev.comm, ev.pid, ev.cpu,
		 flags ? flags : ".....", (unsigned long long)(ev.ts_ns / 1000000000),
		 (unsigned long long)(ev.ts_ns / 1000 % 1000000), ev.name, fields);
	if (m->trace.out)
		fprintf(m->trace.out, "%s\n", line);
	if (m->trace.fn)
		m->trace.fn(m->trace.arg, &ev);
	spin_unlock(&m->trace.lock);
}
