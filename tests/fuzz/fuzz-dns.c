/*
 * tests/fuzz/fuzz-dns.c: the DNS message scanner on arbitrary bytes.
 *
 * dns_parse() must never read outside the message, and a name it accepts
 * must come out of name_to_text() as printable text (\DDD escapes) that
 * ldns reads back as the same name. decode-dns.c promises to accept the
 * structure ldns_wire2pkt() accepts; the one deliberate difference is a
 * compression pointer that points forward (or at itself), which we refuse
 * as a loop. Where both accept, the question must be the same.
 */
#include "config.h"
#include "fuzz.h"
#include "decode.h"
#include "names.h"

#include <ctype.h>
#include <ldns/ldns.h>

/* name_str() into small buffers: cut between escapes, marked "...". */
static void check_cut(const uint8_t *wire, uint8_t len, const char *full, size_t flen)
{
	static const size_t sizes[] = { 1, 2, 3, 4, 5, 6, 7, 8, 13, 21, 34, 55, 96 };
	struct name *nm = name_intern(wire, len);
	char buf[128];
	size_t i, k, n;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		name_str(nm, buf, sizes[i]);
		n = strlen(buf);
		if (n >= sizes[i])
			abort();
		if (n == flen && !memcmp(buf, full, n))
			continue; /* it fitted */
		if (sizes[i] >= 4 && (n < 3 || memcmp(buf + n - 3, "...", 3) ||
				      memcmp(buf, full, n - 3)))
			abort();
		for (k = 0; k + 3 < n; k++) { /* no escape cut short */
			if (buf[k] != '\\')
				continue;
			if (isdigit((unsigned char)buf[k + 1])) {
				if (k + 4 > n - 3 || !isdigit((unsigned char)buf[k + 2]) ||
				    !isdigit((unsigned char)buf[k + 3]))
					abort();
				k += 3;
			} else {
				if (k + 2 > n - 3)
					abort();
				k++;
			}
		}
	}
	name_unref(nm);
}

static void check_name(const uint8_t *wire, uint8_t len)
{
	struct sbuf sb = SBUF_INIT;
	ldns_rdf *back = NULL;
	uint32_t off = 0;

	if (len < 1 || len > DNS_MAXNAME || wire[len - 1] != 0)
		abort();
	while (wire[off]) { /* labels end exactly at the root */
		off += 1u + wire[off];
		if (off >= len)
			abort();
	}
	if (off != len - 1u)
		abort();
	name_to_text(wire, len, &sb);
	fuzz_check_printable("name", sb.buf, sb.len);
	for (off = 0; off < sb.len; off++)
		if ((unsigned char)sb.buf[off] >= 0x7f || sb.buf[off] == ' ')
			abort();
	/* the presentation form reads back as the same name */
	if (ldns_str2rdf_dname(&back, sb.buf) != LDNS_STATUS_OK)
		abort();
	if (ldns_rdf_size(back) != len || memcmp(ldns_rdf_data(back), wire, len)) {
		/* ldns keeps case; our wire form is lower-cased already */
		ldns_dname2canonical(back);
		if (ldns_rdf_size(back) != len || memcmp(ldns_rdf_data(back), wire, len))
			abort();
	}
	ldns_rdf_deep_free(back);
	check_cut(wire, len, sb.buf, sb.len);
	sbuf_release(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dnsmsg m;
	enum decode_problem why;
	ldns_pkt *pkt = NULL;
	ldns_status ls;

	memset(&m, 0, sizeof(m));
	why = dns_parse(data, (uint32_t)size, &m);
	if (why == DP_NONE && m.has_question)
		check_name(m.qname, m.qname_len);
	if (why == DP_NONE && m.qdcount && !m.has_question)
		abort();

	ls = ldns_wire2pkt(&pkt, data, size);
	if (ls == LDNS_STATUS_OK) {
		if (why != DP_NONE && why != DP_DNS_LOOP) {
			fprintf(stderr, "ldns accepts, dns_parse says %s\n", dp_names[why]);
			abort();
		}
		if (why == DP_NONE && m.has_question) {
			ldns_rr *q = ldns_rr_list_rr(ldns_pkt_question(pkt), 0);
			ldns_rdf *owner = q ? ldns_rdf_clone(ldns_rr_owner(q)) : NULL;

			if (!owner)
				abort();
			ldns_dname2canonical(owner);
			if (ldns_rdf_size(owner) != m.qname_len ||
			    memcmp(ldns_rdf_data(owner), m.qname, m.qname_len) ||
			    ldns_rr_get_type(q) != m.qtype || ldns_rr_get_class(q) != m.qclass) {
				fprintf(stderr, "question differs from ldns's\n");
				abort();
			}
			ldns_rdf_deep_free(owner);
		}
	}
	ldns_pkt_free(pkt);
	return 0;
}
