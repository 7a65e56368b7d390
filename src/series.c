/*
 * series.c: see series.h.
 */
#include "config.h"
#include "series.h"

#include <stdlib.h>
#include <string.h>

void series_init(struct series *s, uint32_t ncols)
{
	memset(s, 0, sizeof(*s));
	s->ncols = ncols;
}

/* Make room for rows [0, rows); rows in [n, alloc) are always zero. */
static void ensure(struct series *s, uint32_t rows)
{
	uint32_t na = s->alloc ? s->alloc : 64;

	if (rows <= s->alloc)
		return;
	while (na < rows)
		na *= 2;
	s->v = xrealloc(s->v, (size_t)na * s->ncols * sizeof(*s->v));
	memset(s->v + (size_t)s->alloc * s->ncols, 0,
	       (size_t)(na - s->alloc) * s->ncols * sizeof(*s->v));
	s->alloc = na;
}

void series_add(struct series *s, ts_t ts, uint32_t col, uint32_t k)
{
	int64_t sec = ts / NS_PER_SEC;
	int64_t row;

	if (!s->n)
		s->t0 = sec;
	if (sec < s->t0) {
		/* slightly out-of-order timestamps: shift the series right */
		int64_t shift = s->t0 - sec;

		if (shift + s->n > SERIES_MAX_SECONDS) {
			s->dropped++;
			return;
		}
		ensure(s, s->n + (uint32_t)shift);
		memmove(s->v + shift * s->ncols, s->v, (size_t)s->n * s->ncols * sizeof(*s->v));
		memset(s->v, 0, (size_t)shift * s->ncols * sizeof(*s->v));
		s->n += (uint32_t)shift;
		s->t0 = sec;
	}
	row = sec - s->t0;
	if (row >= SERIES_MAX_SECONDS) {
		s->dropped++;
		return;
	}
	ensure(s, (uint32_t)row + 1);
	if ((uint32_t)row >= s->n)
		s->n = (uint32_t)row + 1;
	s->v[(size_t)row * s->ncols + col] += k;
}

void series_free(struct series *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}
