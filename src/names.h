/*
 * names.h: interned query names and the ldns-backed presentation helpers.
 *
 * name_intern() returns a struct name with one more reference; name_unref()
 * drops one and frees the name with the last. Names are lower-cased wire
 * form (the matcher compares qnames case-insensitively, as resolvers do).
 */
#ifndef DNSVET_NAMES_H
#define DNSVET_NAMES_H

#include "dnsvet.h"

struct name *name_intern(const uint8_t *wire, uint8_t len);
/* The same with the hash already computed: it must be hash_bytes(wire,
 * len, 0), which the decoder leaves in dnsmsg.qname_hash. */
struct name *name_intern_hashed(const uint8_t *wire, uint8_t len, uint64_t hash);
static inline struct name *name_ref(struct name *n)
{
	n->refs++;
	return n;
}
void name_unref(struct name *n);
size_t names_live(void);
/* Call fn just before a name is freed (one hook per process; NULL: none).
 * `report -j` uses it to tell the next process that a name is gone. */
void name_on_free(void (*fn)(struct name *n, void *ctx), void *ctx);

/*
 * A name can carry one pointer for one owner: the statistics keep their
 * per-name record there, which saved a hash map lookup (a cache miss or
 * two) per transaction. An owner takes a number from name_aux_owner()
 * once; name_aux() is NULL for a name it has not set (or that another
 * owner set since), so a stale pointer is never seen.
 */
uint32_t name_aux_owner(void);
static inline void *name_aux(const struct name *n, uint32_t owner)
{
	return n->aux_owner == owner ? n->aux : NULL;
}
static inline void name_set_aux(struct name *n, uint32_t owner, void *p)
{
	n->aux_owner = owner;
	n->aux = p;
}

/* Presentation form of a wire name ("www.example.com."), via ldns; any
 * byte that is not printable comes out as \DDD, so the text is safe for a
 * terminal. Appends to sb. */
void name_to_text(const uint8_t *wire, uint8_t len, struct sbuf *sb);
/* Same, into a caller buffer. A name that does not fit is cut between
 * escapes and ends in "..." (a 1,100-byte buffer holds every name). */
const char *name_str(const struct name *n, char *buf, size_t size);

/* "A", "AAAA", "TYPE65534"...; static storage */
const char *qtype_str(uint16_t t);
/* "NOERROR", "SERVFAIL", "RCODE12" */
const char *rcode_str(uint16_t r);
/* parse "AAAA" or "TYPE28" or "28"; -1 if unknown */
int qtype_parse(const char *s);

/* Number of labels in a wire name (root = 0). */
int name_labels(const uint8_t *wire, uint8_t len);

/*
 * For a PTR name under in-addr.arpa with four numeric labels, set *ip4 to
 * the address it asks about (host order) and return 1; otherwise 0.
 */
int name_ptr_ipv4(const uint8_t *wire, uint8_t len, uint32_t *ip4);

#endif
