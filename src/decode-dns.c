/*
 * decode-dns.c: a DNS message in wire form -> struct dnsmsg.
 *
 * Why not ldns_wire2pkt() here: it builds a full ldns_pkt (one allocation
 * per RR and rdata field) and decodes about 1.6 M messages/s on one core of
 * the reference machine, while libpcap alone reads about 15 M packets/s; on
 * every packet it would be the bottleneck by a factor of ten (issue 7 sets
 * dnsvet's floor at a third of libpcap's rate). The matcher needs only the
 * header, the first question and the OPT record, so this file scans those
 * directly, walking every RR to validate the structure (names, compression
 * pointers, RDLENGTH) and to find the OPT record. ldns remains the decoder
 * for everything shown to people: names in presentation form, type and
 * rcode mnemonics (names.c), and the full decode of a message where one is
 * printed. tests/unit-decode.c checks that this scanner accepts exactly the
 * header/question/RR structure that ldns_wire2pkt accepts on the corpus.
 */
#include "config.h"
#include "decode.h"
#include "extract.h"

#include <string.h>

/*
 * Follow a (possibly compressed) name starting at *off. A pointer must point
 * strictly before the label that holds it: that rules out every loop, and
 * the jump limit guards the rest. Sets *off past the name in the original
 * position. If out is not NULL, writes the lower-cased wire name there.
 */
static enum decode_problem read_name(const uint8_t *p, uint32_t n, uint32_t *off,
				     uint8_t *out, uint8_t *outlen)
{
	uint32_t pos = *off, end_pos = 0, total = 0, guard = pos;
	int jumped = 0, jumps = 0;

	for (;;) {
		uint8_t c;

		if (pos >= n)
			return DP_DNS_BAD_QUESTION;
		c = p[pos];
		if (c == 0) {
			if (out) {
				out[total] = 0;
				*outlen = (uint8_t)(total + 1);
			}
			if (!jumped)
				end_pos = pos + 1;
			*off = end_pos;
			return DP_NONE;
		}
		if ((c & 0xc0) == 0xc0) {
			uint32_t target;

			if (pos + 1 >= n)
				return DP_DNS_BAD_QUESTION;
			target = ((uint32_t)(c & 0x3f) << 8) | p[pos + 1];
			if (target >= guard || ++jumps > 126)
				return DP_DNS_LOOP;
			if (!jumped)
				end_pos = pos + 2;
			jumped = 1;
			guard = target;
			pos = target;
			continue;
		}
		if (c & 0xc0)
			return DP_DNS_BAD_LABEL; /* 0x40 extended, 0x80 reserved */
		if (pos + 1 + c > n)
			return DP_DNS_BAD_QUESTION;
		if (total + 1 + c + 1 > DNS_MAXNAME)
			return DP_DNS_NAME_TOO_LONG;
		if (out) {
			uint32_t i;

			out[total] = c;
			for (i = 1; i <= c; i++) {
				uint8_t ch = p[pos + i];

				out[total + i] = (ch >= 'A' && ch <= 'Z') ? (uint8_t)(ch + 32) : ch;
			}
		}
		total += 1 + c;
		pos += 1 + c;
	}
}

enum decode_problem dns_skip_name(const uint8_t *p, uint32_t n, uint32_t *off)
{
	return read_name(p, n, off, NULL, NULL);
}

/* Parse the EDNS options of an OPT record's RDATA. */
static void parse_opt(struct edns *e, const uint8_t *rd, uint32_t rdlen)
{
	uint32_t o = 0;

	while (o + 4 <= rdlen) {
		uint16_t code = be16(rd + o), olen = be16(rd + o + 2);
		const uint8_t *v = rd + o + 4;

		if (o + 4 + olen > rdlen)
			return;
		if (code == 8 && olen >= 4) { /* Client Subnet, RFC 7871 */
			uint32_t alen = olen - 4u;

			e->ecs_present = 1;
			e->ecs_family = (uint8_t)be16(v);
			e->ecs_source = v[2];
			e->ecs_scope = v[3];
			memset(e->ecs_addr, 0, sizeof(e->ecs_addr));
			memcpy(e->ecs_addr, v + 4, MIN(alen, sizeof(e->ecs_addr)));
		}
		o += 4u + olen;
	}
}

enum decode_problem dns_parse(const uint8_t *p, uint32_t n, struct dnsmsg *m)
{
	uint32_t off = 12, i, nrr;
	enum decode_problem why;

	m->wire = p;
	m->wire_len = n;
	m->has_question = 0;
	m->rr_problem = 0;
	memset(&m->edns, 0, sizeof(m->edns));
	if (n < 12)
		return DP_DNS_SHORT;
	m->id = be16(p);
	m->flags = be16(p + 2);
	m->qdcount = be16(p + 4);
	m->ancount = be16(p + 6);
	m->nscount = be16(p + 8);
	m->arcount = be16(p + 10);
	if (m->qdcount == 0)
		return DP_NONE;
	why = read_name(p, n, &off, m->qname, &m->qname_len);
	if (why)
		return why;
	if (off + 4 > n)
		return DP_DNS_BAD_QUESTION;
	m->qtype = be16(p + off);
	m->qclass = be16(p + off + 2);
	off += 4;
	m->has_question = 1;

	/* further questions (rare): skip them */
	for (i = 1; i < m->qdcount; i++) {
		if (dns_skip_name(p, n, &off) || off + 4 > n) {
			m->rr_problem = 1;
			return DP_NONE;
		}
		off += 4;
	}
	/* walk answer, authority and additional records; find OPT */
	nrr = (uint32_t)m->ancount + m->nscount + m->arcount;
	for (i = 0; i < nrr; i++) {
		uint16_t type, rdlen;

		if (dns_skip_name(p, n, &off) || off + 10 > n) {
			m->rr_problem = 1;
			return DP_NONE;
		}
		type = be16(p + off);
		rdlen = be16(p + off + 8);
		if (off + 10 + rdlen > n) {
			m->rr_problem = 1;
			return DP_NONE;
		}
		if (type == QTYPE_OPT && i >= (uint32_t)m->ancount + m->nscount &&
		    !m->edns.present) {
			uint32_t ttl = be32(p + off + 4);

			m->edns.present = 1;
			m->edns.udp_size = be16(p + off + 2);
			m->edns.version = (uint8_t)(ttl >> 16);
			m->edns.do_bit = (ttl >> 15) & 1;
			parse_opt(&m->edns, p + off + 10, rdlen);
		}
		off += 10u + rdlen;
	}
	return DP_NONE;
}

void decode_dns(struct decoder *d, struct dnsmsg *m, const uint8_t *p, uint32_t n, int truncated)
{
	enum decode_problem why = dns_parse(p, n, m);

	if (why != DP_NONE) {
		if (n >= 12) {
			if (p[2] & 0x80)
				d->st.malformed_responses++;
			else
				d->st.malformed_queries++;
		}
		/* a cut capture explains a short message better than malformation */
		d->st.problems[truncated && why != DP_DNS_LOOP && why != DP_DNS_BAD_LABEL
				       ? DP_TRUNCATED : why]++;
		return;
	}
	if (m->rr_problem)
		d->st.problems[truncated ? DP_TRUNCATED : DP_DNS_RR_OVERRUN]++;
	if (!m->has_question && !DNS_QR(m->flags)) {
		d->st.problems[DP_DNS_NO_QUESTION]++;
		d->st.malformed_queries++;
		return;
	}
	d->fn(d->ctx, m);
}
