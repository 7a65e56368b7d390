/*
 * kmap.h: a capped map from short byte keys to fixed-size value records.
 *
 * Used for per-server, per-client, per-name statistics. Once cap keys are
 * present, new keys land in one shared "other" record (kmap_get returns it
 * and sets *overflow), so memory stays bounded whatever the traffic.
 * Values are zero-initialised; the map owns them; kmap_free frees them.
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

struct kmap {
	struct kmap_ent **b;
	size_t nb, count, cap, vsize;
	void *other;	     /* the overflow record */
	uint64_t overflowed; /* lookups that landed in it */
};

void kmap_init(struct kmap *m, size_t vsize, size_t cap);
void *kmap_get(struct kmap *m, const void *key, size_t klen, int *overflow);
void *kmap_find(const struct kmap *m, const void *key, size_t klen);
/* Remove key and free its value; 1 if it was there. For tables whose keys
 * come and go (open lookups, pending pairs), so count stays a live size. */
int kmap_del(struct kmap *m, const void *key, size_t klen);
/* An array of the entries (count of them), for sorting; caller frees. */
struct kmap_ent **kmap_entries(const struct kmap *m);
void kmap_free(struct kmap *m);

#endif
