/*
 * decode-dns.c: a DNS message in wire form -> struct dnsmsg.
 *
 * Why not ldns_wire2pkt() here: it builds a full ldns_pkt (one allocation
 * per RR and rdata field). Measured on the bench trace (make bench,
 * tests/bench/wire2pkt.c, 2 M messages, one core of the 2-core AMD EPYC
 * machine): ldns_wire2pkt 1.9 M messages/s (540 ns each), this scanner
 * 23 M/s (43 ns each), libpcap reading the file 15 M packets/s. On every
 * message, ldns alone would take about as long as everything dnsvet does
 * per packet (about 550 ns): twice the run time for nothing the matcher
 * needs.
 * The matcher needs only the header, the first question and the OPT
 * record, so this file scans those directly, walking every RR to validate
 * the structure (names, compression pointers, RDLENGTH) and to find the
 * OPT record. ldns remains the decoder for everything shown to people:
 * names in presentation form, type and rcode mnemonics (names.c), and the
 * full decode of a message where one is printed. (ldns_wire2pkt accepted
 * every message of the bench trace, as this scanner does.)
 */
#include "config.h"
#include "decode.h"
#include "extract.h"

#include <string.h>

/*
 * Lower-case the ASCII letters of 8 bytes at once (SWAR): for each byte
 * below 0x80, adding 0x3f sets its top bit from 'A' up and adding 0x25 from
 * '['; the two differ exactly for 'A'..'Z', which get 0x20 added. Label
 * length bytes (0..63) are never letters, so a whole wire name can go
 * through this. Per byte, a table or a compare costs 4 to 5 instructions on
 * a name of 20 to 40 bytes; this is 8 instructions per 8 bytes.
 */
static inline uint64_t lower8(uint64_t x)
{
	const uint64_t low7 = UINT64_C(0x7f7f7f7f7f7f7f7f), top = UINT64_C(0x8080808080808080);
	uint64_t h = x & low7;
	uint64_t upper = ((h + UINT64_C(0x3f3f3f3f3f3f3f3f)) ^ (h + UINT64_C(0x2525252525252525))) &
			 ~x & top;

	return x | (upper >> 2);
}

/* Lower-case len bytes of buf in place; buf has room for a multiple of 8. */
static void lower_name(uint8_t *buf, uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len; i += 8) {
		uint64_t w;

		memcpy(&w, buf + i, 8);
		w = lower8(w);
		memcpy(buf + i, &w, 8);
	}
}

/*
 * Follow a (possibly compressed) name starting at *off. A pointer must point
 * strictly before the label that holds it: that rules out every loop, and
 * the jump limit guards the rest. Sets *off past the name in the original
 * position. If out is not NULL, copies the wire name there (the caller
 * lower-cases it) and sets *outlen.
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
		if (out)
			memcpy(out + total, p + pos, 1u + c);
		total += 1 + c;
		pos += 1 + c;
	}
}

/*
 * The question name: nearly always plain labels right after the header.
 * Walk the label lengths only (no pointer, in bounds, not too long) and
 * copy the name in one go; anything else is left to read_name(), which
 * also names the problem. A label-by-label copy cost about 170
 * instructions per message on the bench trace, this about 60.
 */
static enum decode_problem read_qname(const uint8_t *p, uint32_t n, uint32_t *off,
				      uint8_t *out, uint8_t *outlen)
{
	uint32_t start = *off, pos = start;

	while (pos < n && pos - start < DNS_MAXNAME) {
		uint8_t c = p[pos];

		if (c == 0) {
			*outlen = (uint8_t)(pos + 1 - start);
			memcpy(out, p + start, *outlen);
			*off = pos + 1;
			return DP_NONE;
		}
		if (c & 0xc0)
			break;
		pos += 1u + c;
	}
	return read_name(p, n, off, out, outlen);
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

/*
 * Skip an RR's owner name. Nearly every one is the root (the OPT record) or
 * a single pointer to the question name or one of its suffixes (0xc00c in
 * answers, the zone of an SOA in the authority section). Those names were
 * validated with the question, so a pointer to one of its label starts is
 * skipped without following it; anything else takes read_name(). qend is
 * the offset of the question name's final zero byte, or 0 if the question
 * name was itself compressed (then there is no fast path).
 */
static enum decode_problem skip_owner(const uint8_t *p, uint32_t n, uint32_t *off, uint32_t qend)
{
	uint32_t o = *off;

	if (o < n && p[o] == 0) {
		*off = o + 1;
		return DP_NONE;
	}
	if (o + 1 < n && (p[o] & 0xc0) == 0xc0) {
		uint32_t target = ((uint32_t)(p[o] & 0x3f) << 8) | p[o + 1], l = 12;

		while (l < target && l < qend)
			l += 1u + p[l];
		if (l == target && l <= qend) {
			*off = o + 2;
			return DP_NONE;
		}
	}
	return read_name(p, n, off, NULL, NULL);
}

enum decode_problem dns_parse(const uint8_t *p, uint32_t n, struct dnsmsg *m)
{
	uint32_t off = 12, i, nrr, qend;
	enum decode_problem why;

	m->wire = p;
	m->wire_len = n;
	m->has_question = 0;
	m->qname_len = 0;
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
	why = read_qname(p, n, &off, m->qname, &m->qname_len);
	if (why)
		return why;
	if (off + 4 > n)
		return DP_DNS_BAD_QUESTION;
	lower_name(m->qname, m->qname_len);
	m->qname_hash = hash_bytes(m->qname, m->qname_len, 0);
	/* uncompressed question name: it ends right before qtype */
	qend = off == 12u + m->qname_len ? off - 1 : 0;
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

		if (skip_owner(p, n, &off, qend) || off + 10 > n) {
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
