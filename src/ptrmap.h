/*
 * ptrmap.h: a hash table of pointers that keeps each entry's 64-bit hash
 * beside it (open addressing, linear probing), for the matcher's tables.
 *
 * With chained buckets, a lookup that lands on a bucket holding some other
 * entry has to load that entry to compare hashes: a cache miss for nothing,
 * and on the bench trace about half of all queries did, twice (open
 * queries, then lookups: 40 % of the matcher's time by perf). Here the
 * hash is compared in the slot, four to a cache line, and an entry is only
 * touched when its hash matches. Several entries may share a hash (the
 * same query key with another question): a search walks all of them.
 * The table doubles when it would be more than 3/4 full, up to a fixed
 * size (room for the most entries at half load). Doubling at half load
 * kept the open-query and lookup tables at 2 MB each on the bench trace
 * (34,000 and 45,000 entries) instead of 1 MB: 2.5 MB more peak RSS. The
 * longer runs cost instructions (callgrind, 200 k packets, no detectors:
 * 15 M more of 400 M, in ptrmap_del() and the probes) but no measurable
 * time (8 alternating runs on the 2 M trace: 0.675 s mean CPU against
 * 0.673): four slots share a cache line, and the misses are the cost.
 */
#ifndef DNSVET_PTRMAP_H
#define DNSVET_PTRMAP_H

#include <stddef.h>
#include <stdint.h>

struct ptrmap_slot {
	uint64_t hash;
	void *p; /* NULL: empty */
};

struct ptrmap {
	struct ptrmap_slot *s;
	uint32_t mask, count, max_size;
};

/* max_items: the most entries there will be at once */
void ptrmap_init(struct ptrmap *m, uint32_t max_items);
void ptrmap_put(struct ptrmap *m, uint64_t hash, void *p);
/* Remove the entry (hash, p); it must be there. */
void ptrmap_del(struct ptrmap *m, uint64_t hash, const void *p);
void ptrmap_free(struct ptrmap *m);

/* Visit every entry with this hash: `for (i = ptrmap_first(m, h); (x =
 * ptrmap_next(m, h, &i));)`, newest first is not guaranteed. */
static inline uint32_t ptrmap_first(const struct ptrmap *m, uint64_t hash)
{
	return (uint32_t)hash & m->mask;
}

static inline void *ptrmap_next(const struct ptrmap *m, uint64_t hash, uint32_t *i)
{
	for (;;) {
		const struct ptrmap_slot *s = &m->s[*i];

		if (!s->p)
			return NULL;
		*i = (*i + 1) & m->mask;
		if (s->hash == hash)
			return s->p;
	}
}

#endif
