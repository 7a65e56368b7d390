/*
 * recidx.c: see recidx.h.
 */
#include "config.h"
#include "recidx.h"
#include "util.h"

#include <stdlib.h>

void recidx_init(struct recidx *x)
{
	x->mask = 63;
	x->count = 0;
	x->ix = xcalloc(64, sizeof(*x->ix));
}

void recidx_free(struct recidx *x)
{
	free(x->ix);
	x->ix = NULL;
}

void recidx_put(struct recidx *x, uint32_t i, uint32_t tag, uint32_t r)
{
	x->ix[i] = (uint64_t)tag << 32 | (r + 1u);
	x->count++;
	if (4 * (uint64_t)x->count > 3 * ((uint64_t)x->mask + 1)) {
		uint64_t *old = x->ix;
		uint32_t n = x->mask + 1, j, k;

		x->ix = xcalloc(2 * (size_t)n, sizeof(*x->ix));
		x->mask = 2 * n - 1;
		for (j = 0; j < n; j++) {
			if (!old[j])
				continue;
			for (k = (uint32_t)(old[j] >> 32) & x->mask; x->ix[k]; k = (k + 1) & x->mask)
				;
			x->ix[k] = old[j];
		}
		free(old);
	}
}

void recidx_del(struct recidx *x, uint32_t i)
{
	uint32_t j = i, k;

	x->ix[i] = 0;
	x->count--;
	for (;;) {
		j = (j + 1) & x->mask;
		if (!x->ix[j])
			return;
		k = (uint32_t)(x->ix[j] >> 32) & x->mask;
		/* may it move back to i? only if its home is not in (i, j] */
		if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
			x->ix[i] = x->ix[j];
			x->ix[j] = 0;
			i = j;
		}
	}
}
