/*
 * kmap.h: a capped map from short byte keys to fixed-size value records.
 *
 * Used for per-server, per-client, per-name statistics. Once cap keys are
 * present, new keys land in one shared "other" record (kmap_get returns it
 * and sets *overflow), so memory stays bounded whatever the traffic.
 * Values are zero-initialised; the map owns them; kmap_free frees them.
 *
 * Entries are listed in the order their keys were first seen, so every
 * output built from a kmap is the same from run to run whatever the hash.
 */
#ifndef DNSVET_KMAP_H
#define DNSVET_KMAP_H

#include <stddef.h>
#include <stdint.h>

/*
 * An entry: this header, the key right after it, the value at the next
 * 8-byte boundary (kmap_val()). The header is 14 bytes: the low 32 bits
 * of the key's hash (the bucket is taken from them, and they spare most
 * key compares) and no pointer to the value. With a 64-bit hash and a
 * value pointer it was 32, which for the statistics' 50,000 names and
 * the detectors' per-name and per-client maps came to about 2 MB of the
 * bench trace's peak.
 */
struct kmap_ent {
	struct kmap_ent *next;
	uint32_t hash;
	uint16_t klen;
	uint8_t key[];
};

#define KMAP_VAL_OFF(klen) ((offsetof(struct kmap_ent, key) + (size_t)(klen) + 7) & ~(size_t)7)

static inline void *kmap_val(const struct kmap_ent *e)
{
	return (char *)e + KMAP_VAL_OFF(e->klen);
}

struct kmap_slab;

struct kmap {
	struct kmap_ent **b;
	size_t nb, count, cap, vsize;
	struct kmap_slab *slabs; /* entries and values live here, back to
				  * back in insertion order: one allocation
				  * per 64 KB, not two per key (newest first) */
	void *other;	     /* the overflow record */
	uint64_t overflowed; /* lookups that landed in it */
	int dynamic;	     /* entries malloc'd one by one, deletable */
};

void kmap_init(struct kmap *m, size_t vsize, size_t cap);
/* A map whose keys come and go (open lookups, pending pairs): each entry
 * is its own allocation so kmap_del() returns the memory; entries are
 * listed in hash order, not insertion order. */
void kmap_init_dynamic(struct kmap *m, size_t vsize, size_t cap);
/* Remove key and free its entry (dynamic maps only); 1 if it was there. */
int kmap_del(struct kmap *m, const void *key, size_t klen);
void *kmap_get(struct kmap *m, const void *key, size_t klen, int *overflow);
/* The same with the key's hash given: it must be hash_bytes(key, klen, 0)
 * (a struct name's hash is, so its wire form can key a map for free). */
void *kmap_get_hashed(struct kmap *m, const void *key, size_t klen, uint64_t hash,
		      int *overflow);
void *kmap_find(const struct kmap *m, const void *key, size_t klen);
/*
 * For a look-ahead (analyze.c): a lookup of a key with hash h reads its
 * bucket, then the entry the bucket points to, two misses in a row.
 * kmap_prefetch() starts the first; kmap_prefetch_entry(), called once the
 * bucket has arrived, the second (the entry, and the line after it, where
 * most of its value lies). Either may be called for a key that is not
 * there; neither changes anything.
 */
static inline void kmap_prefetch(const struct kmap *m, uint64_t h)
{
	__builtin_prefetch(&m->b[h & (m->nb - 1)]);
}

static inline void kmap_prefetch_entry(const struct kmap *m, uint64_t h)
{
	const struct kmap_ent *e = m->b[h & (m->nb - 1)];

	if (e) {
		__builtin_prefetch(e);
		__builtin_prefetch((const char *)e + 64);
	}
}
/* An array of the entries (count of them) in insertion order, for
 * sorting; caller frees. */
struct kmap_ent **kmap_entries(const struct kmap *m);
void kmap_free(struct kmap *m);

#endif
