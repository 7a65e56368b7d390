/*
 * names.c: the interned-name table and the ldns presentation helpers.
 *
 * Every open transaction and lookup holds a reference to its qname; a busy
 * resolver asks for the same few thousand names over and over, so one copy
 * per distinct name keeps the per-query state small (match.h).
 */
#include "config.h"
#include "names.h"

#include <ctype.h>
#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static struct name **tab;
static size_t nbuckets, count;

size_t names_live(void)
{
	return count;
}

static void grow(void)
{
	size_t nb = nbuckets ? nbuckets * 2 : 1024, i;
	struct name **nt = xcalloc(nb, sizeof(*nt));

	for (i = 0; i < nbuckets; i++) {
		struct name *n = tab[i], *next;

		for (; n; n = next) {
			next = n->next;
			n->next = nt[n->hash & (nb - 1)];
			nt[n->hash & (nb - 1)] = n;
		}
	}
	free(tab);
	tab = nt;
	nbuckets = nb;
}

struct name *name_intern(const uint8_t *wire, uint8_t len)
{
	uint64_t h = hash_bytes(wire, len, 0);
	struct name *n;

	if (count >= nbuckets)
		grow();
	for (n = tab[h & (nbuckets - 1)]; n; n = n->next)
		if (n->hash == h && n->len == len && !memcmp(n->wire, wire, len))
			return name_ref(n);
	n = xmalloc(sizeof(*n) + len);
	n->hash = h;
	n->refs = 1;
	n->len = len;
	memcpy(n->wire, wire, len);
	n->next = tab[h & (nbuckets - 1)];
	tab[h & (nbuckets - 1)] = n;
	count++;
	return n;
}

void name_unref(struct name *n)
{
	struct name **pp;

	if (!n || --n->refs)
		return;
	for (pp = &tab[n->hash & (nbuckets - 1)]; *pp != n; pp = &(*pp)->next)
		;
	*pp = n->next;
	count--;
	free(n);
}

void name_to_text(const uint8_t *wire, uint8_t len, struct sbuf *sb)
{
	ldns_rdf *rdf;
	ldns_buffer *buf;

	if (len <= 1) {
		sbuf_addch(sb, '.');
		return;
	}
	rdf = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, len, wire);
	buf = ldns_buffer_new(len * 4 + 8);
	if (!rdf || !buf || ldns_rdf2buffer_str_dname(buf, rdf) != LDNS_STATUS_OK) {
		/* cannot happen for names the scanner accepted; stay safe anyway */
		sbuf_add_escaped(sb, wire, len);
	} else {
		sbuf_add(sb, ldns_buffer_begin(buf), ldns_buffer_position(buf));
	}
	ldns_rdf_deep_free(rdf);
	ldns_buffer_free(buf);
}

const char *name_str(const struct name *n, char *buf, size_t size)
{
	struct sbuf sb = SBUF_INIT;
	size_t i = 0, tok;

	if (!size)
		return buf;
	name_to_text(n->wire, n->len, &sb);
	if (sb.len < size) {
		memcpy(buf, sb.buf, sb.len + 1);
		sbuf_release(&sb);
		return buf;
	}
	/* too long: cut between escapes ("\DDD", "\c"), never inside one,
	 * and say so, so a reader cannot take "\02" for a whole escape */
	while (i < sb.len) {
		tok = sb.buf[i] != '\\' ? 1 : isdigit((unsigned char)sb.buf[i + 1]) ? 4 : 2;
		if (i + tok + 4 > size)
			break;
		i += tok;
	}
	if (size >= 4) {
		memcpy(buf, sb.buf, i);
		memcpy(buf + i, "...", 4);
	} else {
		buf[0] = '\0';
	}
	sbuf_release(&sb);
	return buf;
}

const char *qtype_str(uint16_t t)
{
	static char *cache[65536];

	if (!cache[t]) {
		char *s = ldns_rr_type2str((ldns_rr_type)t);

		cache[t] = s ? s : xstrdup("?");
	}
	return cache[t];
}

const char *rcode_str(uint16_t r)
{
	static char buf[16][16];
	ldns_lookup_table *lt;

	if (r == 0xffff)
		return "-";
	lt = ldns_lookup_by_id(ldns_rcodes, r);
	if (lt)
		return lt->name;
	snprintf(buf[r & 15], sizeof(buf[0]), "RCODE%u", r);
	return buf[r & 15];
}

int qtype_parse(const char *s)
{
	ldns_rr_type t = ldns_get_rr_type_by_name(s);
	char *end;
	long v;

	if (t != 0)
		return (int)t;
	v = strtol(s, &end, 10);
	if (*s && !*end && v > 0 && v < 65536)
		return (int)v;
	return -1;
}

int name_labels(const uint8_t *wire, uint8_t len)
{
	int n = 0;
	uint32_t off = 0;

	while (off < len && wire[off]) {
		off += 1u + wire[off];
		n++;
	}
	return n;
}

int name_ptr_ipv4(const uint8_t *wire, uint8_t len, uint32_t *ip4)
{
	static const uint8_t suffix[] = "\007in-addr\004arpa";
	uint32_t off = 0, octet[4];
	int i;

	for (i = 0; i < 4; i++) {
		uint8_t l = off < len ? wire[off] : 0;
		uint32_t v = 0, j;

		if (l < 1 || l > 3 || off + 1 + l > len)
			return 0;
		for (j = 0; j < l; j++) {
			uint8_t c = wire[off + 1 + j];

			if (c < '0' || c > '9')
				return 0;
			v = v * 10 + (uint32_t)(c - '0');
		}
		if (v > 255)
			return 0;
		octet[i] = v;
		off += 1u + l;
	}
	if (len - off != sizeof(suffix) || memcmp(wire + off, suffix, sizeof(suffix)))
		return 0;
	*ip4 = (octet[3] << 24) | (octet[2] << 16) | (octet[1] << 8) | octet[0];
	return 1;
}
