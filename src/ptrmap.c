/*
 * ptrmap.c: see ptrmap.h.
 */
#include "config.h"
#include "ptrmap.h"
#include "util.h"

#include <stdlib.h>

#define MIN_SIZE 1024U

void ptrmap_init(struct ptrmap *m, uint32_t max_items)
{
	uint32_t max = MIN_SIZE;

	/* room for max_items at half load (allocated as they come) */
	while (max / 2 < max_items && max < (1U << 31))
		max <<= 1;
	m->max_size = max;
	m->mask = MIN_SIZE - 1;
	m->count = 0;
	m->s = xcalloc_big(MIN_SIZE * sizeof(*m->s));
}

static void insert(struct ptrmap_slot *s, uint32_t mask, uint64_t hash, void *p)
{
	uint32_t i = (uint32_t)hash & mask;

	while (s[i].p)
		i = (i + 1) & mask;
	s[i].hash = hash;
	s[i].p = p;
}

void ptrmap_put(struct ptrmap *m, uint64_t hash, void *p)
{
	if (4 * (uint64_t)(m->count + 1) > 3 * (uint64_t)(m->mask + 1) && m->mask + 1 < m->max_size) {
		uint32_t size = 2 * (m->mask + 1), i;
		struct ptrmap_slot *ns = xcalloc_big(size * sizeof(*ns));

		for (i = 0; i <= m->mask; i++)
			if (m->s[i].p)
				insert(ns, size - 1, m->s[i].hash, m->s[i].p);
		free_big(m->s, (m->mask + 1) * sizeof(*m->s));
		m->s = ns;
		m->mask = size - 1;
	}
	if (m->count >= m->mask)
		BUG("ptrmap full (%u entries)", m->count); /* callers cap their count */
	insert(m->s, m->mask, hash, p);
	m->count++;
}

/*
 * Deletion without tombstones: empty the slot, then move back each later
 * entry of the run whose home slot is not between the hole and itself, so
 * that every entry stays reachable from its home slot.
 */
void ptrmap_del(struct ptrmap *m, uint64_t hash, const void *p)
{
	uint32_t i = (uint32_t)hash & m->mask, j;

	while (m->s[i].p != p) {
		if (!m->s[i].p)
			BUG("ptrmap: deleting an entry that is not there");
		i = (i + 1) & m->mask;
	}
	for (j = (i + 1) & m->mask; m->s[j].p; j = (j + 1) & m->mask) {
		uint32_t home = (uint32_t)m->s[j].hash & m->mask;

		/* is home cyclically in (i, j]? then it stays */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		m->s[i] = m->s[j];
		i = j;
	}
	m->s[i].p = NULL;
	m->s[i].hash = 0;
	m->count--;
}

void ptrmap_free(struct ptrmap *m)
{
	if (m->s)
		free_big(m->s, (m->mask + 1) * sizeof(*m->s));
	m->s = NULL;
}
