/*
 * detkit.h: small helpers the detectors share: addresses as kmap keys, the
 * entries of a kmap sorted by one of their counters (for "top clients",
 * "worst servers" lists), per-client records found by the client's number
 * (dk_clients), counters per name (dk_ntab), and the varint coding of
 * compact per-transaction records and the chunked stream they go to
 * (dk_bytes).
 */
#ifndef DNSVET_DETKIT_H
#define DNSVET_DETKIT_H

#include "dnsvet.h"
#include "kmap.h"

#include <string.h>

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

/*
 * Compact records of transactions to tag later (amplification, ptr-flood,
 * rate-limit): differences from the previous record, zigzag-coded so
 * small negative ones stay small, as LEB128 varints (1 to 10 bytes, the
 * low 7 bits first). p must have room for 10 bytes.
 */
static inline uint8_t *dk_put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static inline const uint8_t *dk_get_varint(const uint8_t *p, uint64_t *v)
{
	uint64_t x = 0;
	int sh = 0;

	while (*p & 0x80) {
		x |= (uint64_t)(*p++ & 0x7f) << sh;
		sh += 7;
	}
	*v = x | (uint64_t)*p++ << sh;
	return p;
}

static inline uint64_t dk_zigzag(int64_t d)
{
	return ((uint64_t)d << 1) ^ (uint64_t)(d >> 63);
}

static inline int64_t dk_unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/*
 * Counters per name, or per (32-bit key, name), for "top names" lists
 * (amplification, retry-timeout, servfail-burst): at most cap records
 * (the first seen), each the count, the key, the length and the wire
 * form (48 bytes for a 30-byte name, where a kmap entry took 104 to 112
 * with its bucket and order slots), in 64 KB chunks, found through an
 * open-addressed index of 4-byte record references (load at most 1/2).
 * The interned name's hash comes with it: nothing is hashed on the way.
 */
struct dk_nrec {
	uint64_t n;
	uint32_t key;
	uint8_t len;
	uint8_t wire[];
};

struct dk_ntab {
	uint8_t **chunk;       /* nchunk chunks */
	uint32_t nchunk, used; /* bytes used in the last chunk */
	uint32_t *ix;	       /* 0: empty; else 1 + chunk << 16 | offset / 8 */
	uint32_t mask, count, cap;
};

static inline void dk_ntab_init(struct dk_ntab *t, uint32_t cap)
{
	memset(t, 0, sizeof(*t));
	t->cap = cap;
}

/* The record of (key, nm), a new one (n = 0) if there is room; NULL past
 * the cap. */
struct dk_nrec *dk_ntab_get(struct dk_ntab *t, uint32_t key, const struct name *nm);
/*
 * The best n records by cmp (as for qsort() of struct dk_nrec *), of
 * those with this key, or of all if any_key, into top (n of room); returns
 * how many, and sets *matched (if not NULL) to how many records took part.
 * One pass, not a sort of them all.
 */
size_t dk_ntab_top(const struct dk_ntab *t, int (*cmp)(const void *, const void *), int any_key,
		   uint32_t key, struct dk_nrec **top, size_t n, size_t *matched);
/* For dk_ntab_top(): the largest count first, ties by name as kmap
 * entries sorted by dk_sorted() had them (wire bytes, then length). */
int dk_nrec_cmp(const void *a, const void *b);
void dk_ntab_free(struct dk_ntab *t);

/*
 * An append-only byte stream in chunks, for the varint-coded tag records
 * (amplification, ptr-flood, servfail-burst): a chunk is filled with
 * whole records up to the longest one from its end, so a record never
 * straddles two, and memory grows by a chunk, not by half an array
 * (which, grown by half, stood at up to half again what it held).
 *
 *	p = dk_bytes_room(&s, REC_MAX); p = put(p, ...); dk_bytes_done(&s, p);
 *
 *	dk_bytes_begin(&s, &w);
 *	while ((p = dk_bytes_next(&w))) { p = get(p, ...); dk_bytes_skip(&w, p); }
 */
struct dk_bchunk {
	struct dk_bchunk *next;
	uint32_t n, size; /* bytes used, bytes of b */
	uint8_t b[];
};

struct dk_bytes {
	struct dk_bchunk *head, *tail;
	size_t len;	/* bytes in all */
	uint32_t chunk; /* payload bytes of a chunk */
};

struct dk_bytes_pos {
	const struct dk_bchunk *c;
	uint32_t pos;
};

/* chunk: bytes a chunk takes with its header and malloc's (16 KB, 64 KB) */
void dk_bytes_init(struct dk_bytes *s, uint32_t chunk);
/* Where to write a record of at most max bytes (max <= the chunk). */
uint8_t *dk_bytes_room(struct dk_bytes *s, size_t max);
/* The record written up to end. */
static inline void dk_bytes_done(struct dk_bytes *s, const uint8_t *end)
{
	uint32_t n = (uint32_t)(end - s->tail->b);

	s->len += n - s->tail->n;
	s->tail->n = n;
}

static inline void dk_bytes_begin(const struct dk_bytes *s, struct dk_bytes_pos *w)
{
	w->c = s->head;
	w->pos = 0;
}

/* The start of the next record, NULL at the end. */
static inline const uint8_t *dk_bytes_next(struct dk_bytes_pos *w)
{
	if (w->c && w->pos >= w->c->n) {
		w->c = w->c->next;
		w->pos = 0;
	}
	return w->c ? w->c->b + w->pos : NULL;
}

/* The record read up to end. */
static inline void dk_bytes_skip(struct dk_bytes_pos *w, const uint8_t *end)
{
	w->pos = (uint32_t)(end - w->c->b);
}

void dk_bytes_free(struct dk_bytes *s);

struct detect_ctx;

/*
 * An index by client number (detect_client_number()) in front of a kmap
 * keyed by address (dk_addr_key): finding the record of a client seen
 * before is an array load, not a hash lookup. The statistics use it for
 * their per-client table, the detectors through dk_clients below.
 */
struct dk_byid {
	void **v;
	uint32_t n;
};

/* The record of address a in m, whose number is id (DETECT_NO_CLIENT: not
 * numbered): as kmap_get(), zeroed when new, the map's overflow record
 * (*overflow set) past its cap. The overflow record is not indexed: each
 * use of it goes through the map, which counts it. */
void *dk_byid_get(struct dk_byid *b, struct kmap *m, uint32_t id, const struct addr *a,
		  int *overflow);
/* The record of number id if it is indexed, else NULL (for prefetching). */
static inline void *dk_byid_peek(const struct dk_byid *b, uint32_t id)
{
	return id < b->n ? b->v[id] : NULL;
}
void dk_byid_free(struct dk_byid *b);

/*
 * Per-client records of a detector: a kmap (capped, listed in the order
 * clients were first seen) with an index by detect_client(), registered
 * with the detect context so that it can prefetch them.
 */
struct dk_clients {
	struct kmap map; /* address key (dk_addr_key) -> record */
	struct dk_byid ix;
	struct detect_ctx *dc; /* registered with it (detect_add_clients) */
};

void dk_clients_init(struct dk_clients *c, struct detect_ctx *dc, size_t vsize, size_t cap);
/* The record of a, which must be the address detect_client() numbers now
 * (the client of the txn or lookup being handed over): dk_byid_get(). */
void *dk_client(struct dk_clients *c, struct detect_ctx *dc, const struct addr *a,
		int *overflow);
void dk_clients_free(struct dk_clients *c);

#endif
