/*
 * detkit.h: small helpers the detectors share: addresses as kmap keys and
 * the entries of a kmap sorted by one of their counters (for "top clients",
 * "worst servers" lists).
 */
#ifndef DNSVET_DETKIT_H
#define DNSVET_DETKIT_H

#include "dnsvet.h"
#include "kmap.h"

#define DK_ADDR_KEY 17 /* longest address key */

/* Key bytes for an address (family, then 4 or 16 bytes); returns its length. */
size_t dk_addr_key(const struct addr *a, uint8_t *k);
/* The address back from such a key. */
void dk_key_addr(const uint8_t *k, size_t klen, struct addr *a);
/* "192.0.2.1" from such a key; buf >= 48 bytes */
const char *dk_key_str(const uint8_t *k, size_t klen, char *buf, size_t n);

/*
 * The entries of m sorted by the uint64_t counter at byte offset off of
 * their value, largest first (ties by key, so output is stable). Returns an
 * array of m->count entries; the caller frees it (not the entries).
 */
struct kmap_ent **dk_sorted(const struct kmap *m, size_t off);

struct detect_ctx;

/*
 * Per-client records of a detector: a kmap (capped, listed in the order
 * clients were first seen) with an index by detect_client(), so finding
 * the current client's record is an array load, not a hash lookup.
 */
struct dk_clients {
	struct kmap map; /* address key (dk_addr_key) -> record */
	void **by_id;
	uint32_t nid;
	struct detect_ctx *dc; /* registered with it (detect_add_clients) */
};

void dk_clients_init(struct dk_clients *c, struct detect_ctx *dc, size_t vsize, size_t cap);
/* The record of a, which must be the address detect_client() numbers now
 * (the client of the txn or lookup being handed over): as kmap_get(),
 * zeroed when new, the map's overflow record (*overflow set) past its cap. */
void *dk_client(struct dk_clients *c, struct detect_ctx *dc, const struct addr *a,
		int *overflow);
void dk_clients_free(struct dk_clients *c);

#endif
