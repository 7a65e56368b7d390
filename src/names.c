/*
 * names.c: the interned-name table and the ldns presentation helpers.
 *
 * Every open transaction and lookup holds a reference to its qname; a busy
 * resolver asks for the same few thousand names over and over, so one copy
 * per distinct name keeps the per-query state small (match.h).
 */
#include "config.h"
#include "names.h"
#include "ptrmap.h"

#include <ctype.h>
#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* by hash; see ptrmap.h for why the hash sits in the table */
static struct ptrmap tab;

size_t names_live(void)
{
	return tab.count;
}

struct name *name_intern(const uint8_t *wire, uint8_t len)
{
	return name_intern_hashed(wire, len, hash_bytes(wire, len, 0));
}

struct name *name_intern_hashed(const uint8_t *wire, uint8_t len, uint64_t h)
{
	uint32_t i;
	struct name *n;

	if (!tab.s)
		ptrmap_init(&tab, 1U << 30); /* bounded by the references held */
	i = ptrmap_first(&tab, h);
	while ((n = ptrmap_next(&tab, h, &i)))
		if (n->len == len && !memcmp(n->wire, wire, len))
			return name_ref(n);
	/* not sizeof(*n) + len: the 7 bytes of padding after len would be
	 * allocated again */
	n = xmalloc(MAX(sizeof(*n), offsetof(struct name, wire) + len));
	n->hash = h;
	n->refs = 1;
	n->aux_owner = 0;
	n->aux = NULL;
	n->len = len;
	memcpy(n->wire, wire, len);
	ptrmap_put(&tab, h, n);
	return n;
}

uint32_t name_aux_owner(void)
{
	static uint32_t owners;

	return ++owners; /* 0 is no owner */
}

static void (*free_hook)(struct name *n, void *ctx);
static void *free_hook_ctx;

void name_on_free(void (*fn)(struct name *n, void *ctx), void *ctx)
{
	free_hook = fn;
	free_hook_ctx = ctx;
}

void name_unref(struct name *n)
{
	if (!n || --n->refs)
		return;
	if (free_hook)
		free_hook(n, free_hook_ctx);
	ptrmap_del(&tab, n->hash, n);
	free(n);
}

/*
 * The common case without ldns: every label of letters, digits, '-' and
 * '_', which ldns_rdf2buffer_str_dname() copies as they are, each label
 * followed by a dot. ldns prints a name one character at a time through
 * ldns_buffer_printf(): 9,200 instructions for a name (callgrind, bench
 * trace: 13 % of a run with every detector, for the names in evidence
 * lines). Anything else (escapes, a malformed name) goes to ldns; the
 * unit tests compare both on every byte value. Returns 0 if it did not
 * apply, having added nothing.
 */
static int plain_name_to_text(const uint8_t *wire, uint8_t len, struct sbuf *sb)
{
	char out[DNS_MAXNAME + 2];
	unsigned p = 0, o = 0, i;

	while (p < len && wire[p]) {
		unsigned l = wire[p];

		if (l > 63 || p + 1 + l >= len)
			return 0;
		for (i = 1; i <= l; i++) {
			uint8_t c = wire[p + i];

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '-' || c == '_'))
				return 0;
			out[o++] = (char)c;
		}
		out[o++] = '.';
		p += 1 + l;
	}
	if (p + 1 != len || o == 0)
		return 0;
	sbuf_add(sb, out, o);
	return 1;
}

void name_to_text(const uint8_t *wire, uint8_t len, struct sbuf *sb)
{
	ldns_rdf *rdf;
	ldns_buffer *buf;

	if (len <= 1) {
		sbuf_addch(sb, '.');
		return;
	}
	if (plain_name_to_text(wire, len, sb))
		return;
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
