/*
 * series.h: per-second counters over capture time, bounded.
 *
 * Detectors that look at time (bursts, plateaus, rates) keep one of these
 * per thing they watch. Seconds are counted from the first sample; samples
 * more than SERIES_MAX_SECONDS after it are dropped (and counted), so a
 * week-long capture cannot make a detector's memory grow without bound.
 */
#ifndef DNSVET_SERIES_H
#define DNSVET_SERIES_H

#include "dnsvet.h"

#define SERIES_MAX_SECONDS (7 * 24 * 3600)

struct series {
	int64_t t0; /* first second (epoch seconds) */
	uint32_t n, alloc;
	uint32_t ncols;
	uint32_t *v; /* n rows of ncols counters */
	uint64_t dropped;
};

void series_init(struct series *s, uint32_t ncols);
/* add k to column col at time ts */
void series_add(struct series *s, ts_t ts, uint32_t col, uint32_t k);
static inline uint32_t series_get(const struct series *s, uint32_t row, uint32_t col)
{
	return row < s->n ? s->v[(size_t)row * s->ncols + col] : 0;
}
static inline ts_t series_time(const struct series *s, uint32_t row)
{
	return (s->t0 + (int64_t)row) * NS_PER_SEC;
}
void series_free(struct series *s);

#endif
