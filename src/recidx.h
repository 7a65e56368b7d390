/*
 * recidx.h: an open-addressed index of record numbers, for detectors that
 * keep their records in pools of their own (retry-timeout: open lookups by
 * seq; slow-aaaa: lookups waiting for their A/AAAA partner).
 *
 * A slot is 8 bytes: the top 32 bits of the key's hash (the tag) above,
 * record number + 1 below, 0 empty. Half a ptrmap slot (ptrmap.h), and
 * the tag compared in the slot spares loading the record for almost every
 * slot that is not the one. Linear probing, at most 3/4 full (the table
 * doubles), deletion by moving later entries of the run back (no
 * tombstones). The caller compares the keys:
 *
 *	for (i = recidx_home(x, tag); recidx_used(x, i); i = recidx_next(x, i))
 *		if (recidx_tag(x, i) == tag && record recidx_rec(x, i) has the key)
 *			break;
 *
 * ends on the key's slot, or on the empty slot where recidx_put() puts it.
 */
#ifndef DNSVET_RECIDX_H
#define DNSVET_RECIDX_H

#include <stdint.h>

struct recidx {
	uint64_t *ix;
	uint32_t mask, count;
};

void recidx_init(struct recidx *x);
void recidx_free(struct recidx *x);

static inline uint32_t recidx_home(const struct recidx *x, uint32_t tag)
{
	return tag & x->mask;
}

static inline uint32_t recidx_next(const struct recidx *x, uint32_t i)
{
	return (i + 1) & x->mask;
}

static inline int recidx_used(const struct recidx *x, uint32_t i)
{
	return x->ix[i] != 0;
}

static inline uint32_t recidx_tag(const struct recidx *x, uint32_t i)
{
	return (uint32_t)(x->ix[i] >> 32);
}

static inline uint32_t recidx_rec(const struct recidx *x, uint32_t i)
{
	return (uint32_t)x->ix[i] - 1;
}

/* Start loading the slot a walk for this tag starts on (a hint, for a
 * look-ahead). */
static inline void recidx_prefetch(const struct recidx *x, uint32_t tag)
{
	__builtin_prefetch(&x->ix[recidx_home(x, tag)]);
}

/* Record r with this tag into the empty slot i a walk ended on. The table
 * may grow: slot numbers found before are stale afterwards. */
void recidx_put(struct recidx *x, uint32_t i, uint32_t tag, uint32_t r);
/* Empty slot i (a used one). */
void recidx_del(struct recidx *x, uint32_t i);

#endif
