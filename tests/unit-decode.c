/*
 * tests/unit-decode.c: decoder edge cases: link layers, fragments, TCP
 * reassembly, DNS names (compression loops, bad labels, case).
 */
#include "unit.h"
#include "names.h"

#include <ldns/ldns.h>

#define C2 0x0a000002u /* 10.0.0.2 client */
#define S1 0x0a000001u /* 10.0.0.1 server */

static struct dnsmsg got[64];
static int ngot;

static void collect(void *ctx, const struct dnsmsg *m)
{
	(void)ctx;
	if (ngot < 64)
		got[ngot++] = *m;
}

static struct decoder d;

static void reset(void)
{
	struct decode_config cfg;

	decode_config_default(&cfg);
	decoder_release(&d);
	decoder_init(&d, &cfg, collect, NULL);
	ngot = 0;
}

static void feed(const uint8_t *f, size_t n, uint64_t frame)
{
	struct pkt p = mk_pkt(f, n, (ts_t)frame * NS_PER_MS, frame);

	decode_pkt(&d, &p);
}

static void test_udp_and_vlan(void)
{
	uint8_t dns[512], f[1024], v[1100];
	size_t n, fl;

	reset();
	n = mk_dns(dns, 0x1234, 0x0100, "WWW.Example.COM", 28, 0);
	fl = mk_udp4(f, C2, S1, 40000, 53, dns, n);
	feed(f, fl, 1);
	CHECK_EQ("udp: one message", 1, ngot);
	CHECK_EQ("udp: id", 0x1234, got[0].id);
	CHECK_EQ("udp: qtype", 28, got[0].qtype);
	CHECK("udp: qname lower-cased", got[0].qname_len == 17 &&
	      !memcmp(got[0].qname, "\3www\7example\3com", 17));
	/* the same frame behind two VLAN tags (802.1ad + 802.1Q) */
	memcpy(v, f, 12);
	v[12] = 0x88; v[13] = 0xa8; v[14] = 0; v[15] = 10;
	v[16] = 0x81; v[17] = 0x00; v[18] = 0; v[19] = 20;
	memcpy(v + 20, f + 12, fl - 12);
	feed(v, fl + 8, 2);
	CHECK_EQ("qinq: decoded", 2, ngot);
	/* Ethernet padding after a short IP datagram is ignored */
	memset(f + fl, 0xee, 20);
	feed(f, fl + 20, 3);
	CHECK_EQ("padding: decoded", 3, ngot);
	CHECK_EQ("padding: message length from UDP", (long long)n, got[2].wire_len);
	/* not a DNS port */
	fl = mk_udp4(f, C2, S1, 40000, 5353, dns, n);
	feed(f, fl, 4);
	CHECK_EQ("other port: ignored", 3, ngot);
	CHECK_EQ("other port: counted as not DNS", 1, d.st.not_dns);
}

static void test_truncated_and_bad(void)
{
	uint8_t dns[512], f[1024];
	size_t n, fl;
	struct pkt p;

	reset();
	n = mk_dns(dns, 1, 0x8180, "example.com", 1, 1);
	fl = mk_udp4(f, S1, C2, 53, 40000, dns, n);
	p = mk_pkt(f, fl, 1, 1);
	p.caplen = (uint32_t)fl - 10; /* snaplen cut inside the answer */
	decode_pkt(&d, &p);
	CHECK_EQ("snaplen cut: message still used", 1, ngot);
	CHECK_EQ("snaplen cut: counted as truncated", 1, d.st.problems[DP_TRUNCATED]);
	/* UDP length larger than the datagram, not cut by the snaplen */
	f[14 + 20 + 5] = 0xff;
	feed(f, fl, 2);
	CHECK_EQ("bad udp length: counted", 1, d.st.problems[DP_BAD_UDP_LEN]);
	/* IPv4 header length below 20 */
	fl = mk_udp4(f, S1, C2, 53, 40000, dns, n);
	f[14] = 0x44;
	feed(f, fl, 3);
	CHECK_EQ("bad ihl: counted", 1, d.st.problems[DP_BAD_IP]);
	/* a frame shorter than an Ethernet header */
	feed(f, 10, 4);
	CHECK_EQ("short frame: counted", 1, d.st.problems[DP_BAD_LINK]);
}

static void test_names(void)
{
	uint8_t m[64];
	struct dnsmsg dm;

	/* a pointer to itself: loop */
	memset(m, 0, sizeof(m));
	m[5] = 1;
	m[12] = 0xc0;
	m[13] = 12;
	CHECK_EQ("pointer to itself: loop", DP_DNS_LOOP, dns_parse(m, 18, &dm));
	/* a forward pointer */
	m[13] = 20;
	CHECK_EQ("forward pointer: loop", DP_DNS_LOOP, dns_parse(m, 30, &dm));
	/* two pointers pointing at each other */
	m[12] = 1; m[13] = 'a'; m[14] = 0xc0; m[15] = 12;
	CHECK_EQ("pointer back into own name: loop", DP_DNS_LOOP, dns_parse(m, 30, &dm));
	/* extended label type 0x40 */
	m[12] = 0x41;
	CHECK_EQ("label type 0x40: bad label", DP_DNS_BAD_LABEL, dns_parse(m, 30, &dm));
	/* a label running past the end */
	m[12] = 30;
	CHECK_EQ("label past end: bad question", DP_DNS_BAD_QUESTION, dns_parse(m, 30, &dm));
	/* shorter than a header */
	CHECK_EQ("short message", DP_DNS_SHORT, dns_parse(m, 11, &dm));
	{
		uint8_t big[600];
		uint32_t o = 12;
		int i;

		memset(big, 0, sizeof(big));
		big[5] = 1;
		for (i = 0; i < 5; i++) {
			big[o] = 63;
			memset(big + o + 1, 'x', 63);
			o += 64;
		}
		big[o++] = 0;
		o += 4;
		CHECK_EQ("320-byte name: too long", DP_DNS_NAME_TOO_LONG, dns_parse(big, o, &dm));
	}
}

static void test_edns(void)
{
	uint8_t m[128];
	size_t n = mk_dns(m, 7, 0x0100, "example.com", 1, 0);
	static const uint8_t opt[] = {
		0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 11, /* OPT, 1232, DO */
		0, 8, 0, 7, 0, 1, 24, 0, 198, 51, 100 /* ECS 198.51.100.0/24 */
	};
	struct dnsmsg dm;

	m[11] = 1; /* arcount */
	memcpy(m + n, opt, sizeof(opt));
	CHECK_EQ("edns: parsed", DP_NONE, dns_parse(m, (uint32_t)(n + sizeof(opt)), &dm));
	CHECK_EQ("edns: present", 1, dm.edns.present);
	CHECK_EQ("edns: udp size", 1232, dm.edns.udp_size);
	CHECK_EQ("edns: DO", 1, dm.edns.do_bit);
	CHECK_EQ("edns: ECS", 1, dm.edns.ecs_present);
	CHECK_EQ("edns: ECS source prefix", 24, dm.edns.ecs_source);
	CHECK_EQ("edns: ECS address", 100, dm.edns.ecs_addr[2]);
	/* the OPT record cut short: the message is used, the problem noted */
	CHECK_EQ("rr overrun: still parsed", DP_NONE, dns_parse(m, (uint32_t)(n + 5), &dm));
	CHECK_EQ("rr overrun: flagged", 1, dm.rr_problem);
}

static void test_fragments(void)
{
	uint8_t dns[1400], dgram[1500], f[3][1600];
	size_t n = mk_dns(dns, 9, 0x8180, "frag.example", 1, 40), fl[3];
	uint32_t udplen = (uint32_t)(8 + n), off;
	int i;

	reset();
	/* build the UDP datagram, then cut it in three fragments of 216 bytes */
	mk_udp4(dgram, S1, C2, 53, 40000, dns, n);
	for (i = 0; i < 3; i++) {
		uint32_t len = i < 2 ? 216 : udplen - 432;
		uint8_t *ip = f[i] + 14;

		off = (uint32_t)i * 216;
		memcpy(f[i], dgram, 34);
		put16(ip + 2, (uint16_t)(20 + len));
		put16(ip + 4, 0x4242);
		put16(ip + 6, (uint16_t)((i < 2 ? 0x2000 : 0) | (off / 8)));
		memcpy(ip + 20, dgram + 34 + off, len);
		fl[i] = 34 + len;
	}
	/* out of order, with a duplicate */
	feed(f[2], fl[2], 1);
	feed(f[0], fl[0], 2);
	CHECK_EQ("frags: incomplete, nothing yet", 0, ngot);
	feed(f[0], fl[0], 3);
	feed(f[1], fl[1], 4);
	CHECK_EQ("frags: reassembled", 1, ngot);
	CHECK_EQ("frags: counted", 1, d.st.frag_reassembled);
	CHECK_EQ("frags: whole message", (long long)n, got[0].wire_len);
	CHECK_EQ("frags: frame of the last fragment", 4, got[0].frame);
	/* a first fragment alone never completes */
	feed(f[0], fl[0], 5);
	decoder_finish(&d);
	CHECK_EQ("frags: incomplete at end counted", 1, d.st.problems[DP_FRAG_INCOMPLETE]);
}

static void test_tcp(void)
{
	uint8_t q1[256], q2[256], stream[1024], f[2048];
	size_t n1 = mk_dns(q1, 1, 0x0100, "one.example", 1, 0);
	size_t n2 = mk_dns(q2, 2, 0x0100, "two.example", 1, 0);
	size_t sl = 0, fl;
	uint32_t isn = 1000;

	/* stream: [len q1][len q2] */
	put16(stream, (uint16_t)n1);
	memcpy(stream + 2, q1, n1);
	sl = 2 + n1;
	put16(stream + sl, (uint16_t)n2);
	memcpy(stream + sl + 2, q2, n2);
	sl += 2 + n2;

	reset();
	fl = mk_tcp4(f, C2, S1, 40001, 53, isn, 0x02, NULL, 0);
	feed(f, fl, 1);
	fl = mk_tcp4(f, C2, S1, 40001, 53, isn + 1, 0x18, stream, sl);
	feed(f, fl, 2);
	CHECK_EQ("tcp: two messages in one segment", 2, ngot);
	CHECK_EQ("tcp: second id", 2, got[1].id);

	/* one message over three segments, the middle one arriving last */
	reset();
	fl = mk_tcp4(f, C2, S1, 40002, 53, isn, 0x02, NULL, 0);
	feed(f, fl, 1);
	fl = mk_tcp4(f, C2, S1, 40002, 53, isn + 1, 0x18, stream, 5);
	feed(f, fl, 2);
	fl = mk_tcp4(f, C2, S1, 40002, 53, isn + 1 + 10, 0x18, stream + 10, sl - 10);
	feed(f, fl, 3);
	CHECK_EQ("tcp: waits for the missing segment", 0, ngot);
	fl = mk_tcp4(f, C2, S1, 40002, 53, isn + 1 + 5, 0x18, stream + 5, 5);
	feed(f, fl, 4);
	CHECK_EQ("tcp: out of order reassembled", 2, ngot);
	CHECK_EQ("tcp: emitted at the completing frame", 4, got[0].frame);
	/* a retransmitted segment delivers nothing twice */
	fl = mk_tcp4(f, C2, S1, 40002, 53, isn + 1, 0x18, stream, sl);
	feed(f, fl, 5);
	CHECK_EQ("tcp: retransmission ignored", 2, ngot);

	/* a hole: the first message's middle never arrives; FIN ends it */
	reset();
	fl = mk_tcp4(f, C2, S1, 40003, 53, isn, 0x02, NULL, 0);
	feed(f, fl, 1);
	fl = mk_tcp4(f, C2, S1, 40003, 53, isn + 1, 0x18, stream, 5);
	feed(f, fl, 2);
	fl = mk_tcp4(f, C2, S1, 40003, 53, isn + 1 + 2 + (uint32_t)n1, 0x19, stream + 2 + n1,
		     sl - 2 - n1);
	feed(f, fl, 3);
	CHECK_EQ("tcp hole: message after the hole recovered", 1, ngot);
	CHECK_EQ("tcp hole: id of the recovered message", 2, got[0].id);
	CHECK("tcp hole: counted", d.st.problems[DP_TCP_HOLE] >= 1);

	/* no SYN, first segment starts mid-message: skipped, not decoded as junk */
	reset();
	fl = mk_tcp4(f, C2, S1, 40004, 53, 5000, 0x18, stream + 7, n1 - 5);
	feed(f, fl, 1);
	fl = mk_tcp4(f, C2, S1, 40004, 53, 5000 + (uint32_t)n1 - 5, 0x18, stream + 2 + n1,
		     sl - 2 - n1);
	feed(f, fl, 2);
	CHECK_EQ("tcp nosyn: counted", 1, d.st.problems[DP_TCP_NOSYN]);
	CHECK_EQ("tcp nosyn: resynchronised on the next message", 1, ngot);
	CHECK_EQ("tcp nosyn: right message", 2, ngot ? got[0].id : 0);
}

/* The byte budget over all streams: connections that announce a big
 * message and never finish it are dropped, oldest first, and counted. */
static void test_tcp_budget(void)
{
	struct decode_config cfg;
	uint8_t big[1200], f[1400];
	size_t fl;
	uint16_t i;

	decode_config_default(&cfg);
	cfg.tcp_max_bytes = 5000; /* room for two 2 KiB buffers, not three */
	decoder_release(&d);
	decoder_init(&d, &cfg, collect, NULL);
	ngot = 0;
	memset(big, 'x', sizeof(big));
	put16(big, 60000); /* a message of 60000 bytes, of which 1200 come */
	for (i = 0; i < 4; i++) {
		fl = mk_tcp4(f, C2, S1, (uint16_t)(41000 + i), 53, 100, 0x02, NULL, 0);
		feed(f, fl, 2u * i + 1);
		fl = mk_tcp4(f, C2, S1, (uint16_t)(41000 + i), 53, 101, 0x18, big, sizeof(big));
		feed(f, fl, 2u * i + 2);
	}
	CHECK_EQ("tcp budget: oldest streams dropped", 2, d.st.tcp_evictions);
	CHECK_EQ("tcp budget: counted as tcp-evicted", 2, d.st.problems[DP_TCP_EVICTED]);
	decoder_finish(&d);
	CHECK_EQ("tcp budget: the rest end incomplete", 4, d.st.problems[DP_TCP_EVICTED]);
}

/* ldns's text for a wire name, the reference name_to_text() must match */
static void ldns_text(const uint8_t *w, uint8_t len, struct sbuf *sb)
{
	ldns_rdf *rdf = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, len, w);
	ldns_buffer *buf = ldns_buffer_new(1024);

	if (len <= 1)
		sbuf_addch(sb, '.');
	else if (rdf && ldns_rdf2buffer_str_dname(buf, rdf) == LDNS_STATUS_OK)
		sbuf_add(sb, ldns_buffer_begin(buf), ldns_buffer_position(buf));
	ldns_rdf_deep_free(rdf);
	ldns_buffer_free(buf);
}

/* name_to_text() prints common names itself: the same text as ldns for
 * every byte value in a label, and for random names */
static void test_name_text(void)
{
	uint8_t w[256];
	int b, i, bad = 0, n = 0;
	unsigned seed = 7;

	for (b = 0; b < 256; b++) {
		struct sbuf x = SBUF_INIT, y = SBUF_INIT;
		static const uint8_t tail[] = { 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0 };

		w[0] = 3, w[1] = 'a', w[2] = (uint8_t)b, w[3] = 'Z';
		memcpy(w + 4, tail, sizeof(tail));
		name_to_text(w, (uint8_t)(4 + sizeof(tail)), &x);
		ldns_text(w, (uint8_t)(4 + sizeof(tail)), &y);
		bad += x.len != y.len || memcmp(x.buf, y.buf, x.len);
		n++;
		sbuf_release(&x);
		sbuf_release(&y);
	}
	for (i = 0; i < 20000; i++) {
		struct sbuf x = SBUF_INIT, y = SBUF_INIT;
		unsigned p = 0, labels = 1 + (unsigned)rand_r(&seed) % 5, l, j;
		static const char alpha[] = "abcXYZ019-_.\\ ;()\x80";

		while (labels-- && p < 200) {
			l = 1 + (unsigned)rand_r(&seed) % 20;
			w[p++] = (uint8_t)l;
			for (j = 0; j < l; j++)
				w[p++] = rand_r(&seed) % 8 ? (uint8_t)alpha[rand_r(&seed) % 9]
							   : (uint8_t)alpha[rand_r(&seed) % (sizeof(alpha) - 1)];
		}
		w[p++] = 0;
		name_to_text(w, (uint8_t)p, &x);
		ldns_text(w, (uint8_t)p, &y);
		bad += x.len != y.len || memcmp(x.buf, y.buf, x.len);
		n++;
		sbuf_release(&x);
		sbuf_release(&y);
	}
	CHECK_EQ("name text: same as ldns for every byte value and 20,000 random names", 0, bad);
	CHECK_EQ("name text: cases compared", 256 + 20000, n);
}

int main(void)
{
	test_name_text();
	test_udp_and_vlan();
	test_truncated_and_bad();
	test_names();
	test_edns();
	test_fragments();
	test_tcp();
	test_tcp_budget();
	decoder_release(&d);
	return unit_failed;
}
