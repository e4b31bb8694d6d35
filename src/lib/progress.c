/*
 * progress.c - the progress line of progress.h.  Not from Linux.
 */
#include <time.h>
#include <unistd.h>

#include "lib/progress.h"

double progress_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void progress_start(struct progress *p, FILE *f, const char *label, const char *unit, uint64_t total,
		    double limit_s)
{
	*p = (struct progress){
		.f = f && isatty(fileno(f)) ? f : NULL, .label = label, .unit = unit, .total = total,
		.limit_s = limit_s, .t0 = progress_now(),
	};
}

/* h:mm:ss, or m:ss under an hour */
static void hms(char *buf, size_t len, double s)
{
	unsigned long t = s > 0 ? (unsigned long)(s + 0.5) : 0;

	if (t >= 3600)
		snprintf(buf, len, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, len, "%lu:%02lu", t / 60, t % 60);
}

int progress_format(const struct progress *p, char *buf, size_t len, uint64_t done, uint64_t failed, double now)
{
	double el = now - p->t0, rate = el > 0 ? (double)done / el : 0, frac = -1, eta = -1;
	char elapsed[32], left[32] = "?", of[32] = "";

	if (p->total) {
		frac = (double)done / (double)p->total;
		snprintf(of, sizeof(of), "/%llu", (unsigned long long)p->total);
		if (rate > 0)
			eta = (double)(p->total > done ? p->total - done : 0) / rate;
	}
	/* A time limit ends the run first when it is nearer than the count's end. */
	if (p->limit_s > 0 && (frac < 0 || el / p->limit_s > frac)) {
		frac = el / p->limit_s;
		eta = p->limit_s > el ? p->limit_s - el : 0;
	}
	if (frac > 1)
		frac = 1;
	hms(elapsed, sizeof(elapsed), el);
	if (eta >= 0)
		hms(left, sizeof(left), eta);
	return snprintf(buf, len, "%s: %llu%s %s%s%.0f%s, %.*f/s, elapsed %s, ETA %s, %llu failed",
			p->label, (unsigned long long)done, of, p->unit, frac >= 0 ? " (" : "",
			frac >= 0 ? frac * 100 : 0, frac >= 0 ? "%)" : "", rate < 1 ? 2 : rate < 10 ? 1 : 0, rate, elapsed, left,
			(unsigned long long)failed);
}

static void draw(struct progress *p, uint64_t done, uint64_t failed, double now)
{
	char line[256];
	int n = progress_format(p, line, sizeof(line), done, failed, now);

	if (n >= (int)sizeof(line))
		n = sizeof(line) - 1;
	/* blank what a longer line before left */
	fprintf(p->f, "\r%s%*s", line, p->len > n ? p->len - n : 0, "");
	if (p->len > n)
		fprintf(p->f, "\r%s", line);
	fflush(p->f);
	p->len = n;
	p->drawn = now;
}

void progress_update(struct progress *p, uint64_t done, uint64_t failed)
{
	double now;

	if (!p->f)
		return;
	now = progress_now();
	if (p->drawn && now - p->drawn < 1.0 / PROGRESS_HZ)
		return;
	draw(p, done, failed, now);
}

void progress_clear(struct progress *p)
{
	if (!p->f || !p->len)
		return;
	fprintf(p->f, "\r%*s\r", p->len, "");
	fflush(p->f);
	p->len = 0;
	p->drawn = 0;
}

void progress_end(struct progress *p, uint64_t done, uint64_t failed)
{
	if (!p->f)
		return;
	draw(p, done, failed, progress_now());
	fputc('\n', p->f);
	fflush(p->f);
	p->len = 0;
	p->f = NULL;	/* ended: later calls do nothing */
}
