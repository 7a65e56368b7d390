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

struct kmap_ent {
	struct kmap_ent *next;
	uint64_t hash;
	uint16_t klen;
	void *val;
	uint8_t key[];
};

struct kmap_slab;

struct kmap {
	struct kmap_ent **b;
	size_t nb, count, cap, vsize;
	struct kmap_ent **order; /* entries in insertion order */
	size_t order_alloc;
	struct kmap_slab *slabs; /* entries and values live here: one
				  * allocation per 64 KB, not two per key */
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
/* An array of the entries (count of them) in insertion order, for
 * sorting; caller frees. */
struct kmap_ent **kmap_entries(const struct kmap *m);
void kmap_free(struct kmap *m);

#endif
