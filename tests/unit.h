/*
 * tests/unit.h: a tiny unit-test kit: CHECK() prints "ok"/"not ok" lines
 * (the format tests/run-all.sh counts) and builders for packets in memory.
 */
#ifndef DNSVET_UNIT_H
#define DNSVET_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsvet.h"
#include "decode.h"
#include "input.h"

static int unit_failed;

#define CHECK(name, cond)                                                   \
	do {                                                                \
		if (cond)                                                   \
			printf("ok %s\n", name);                            \
		else {                                                      \
			printf("not ok %s: %s (%s:%d)\n", name, #cond, __FILE__, __LINE__); \
			unit_failed = 1;                                    \
		}                                                           \
	} while (0)

#define CHECK_EQ(name, want, got)                                            \
	do {                                                                 \
		long long w_ = (long long)(want), g_ = (long long)(got);     \
		if (w_ == g_)                                                \
			printf("ok %s\n", name);                             \
		else {                                                       \
			printf("not ok %s: expected %lld, got %lld (%s:%d)\n", name, w_, g_, \
			       __FILE__, __LINE__);                          \
			unit_failed = 1;                                     \
		}                                                            \
	} while (0)

/* ---- builders ------------------------------------------------------------ */

/* DNS message: header + one question (name in dotted text) [+ OPT]. */
static inline size_t mk_dns(uint8_t *p, uint16_t id, uint16_t flags, const char *name,
			    uint16_t qtype, int ancount)
{
	size_t o = 12;
	const char *s = name;

	memset(p, 0, 12);
	p[0] = (uint8_t)(id >> 8);
	p[1] = (uint8_t)id;
	p[2] = (uint8_t)(flags >> 8);
	p[3] = (uint8_t)flags;
	p[5] = 1;
	p[7] = (uint8_t)ancount;
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t n = dot ? (size_t)(dot - s) : strlen(s);

		p[o++] = (uint8_t)n;
		memcpy(p + o, s, n);
		o += n;
		s += n + (dot ? 1 : 0);
	}
	p[o++] = 0;
	p[o++] = (uint8_t)(qtype >> 8);
	p[o++] = (uint8_t)qtype;
	p[o++] = 0;
	p[o++] = 1;
	while (ancount-- > 0) { /* A record pointing at the qname */
		static const uint8_t rr[] = { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1 };

		memcpy(p + o, rr, sizeof(rr));
		o += sizeof(rr);
	}
	return o;
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Ethernet + IPv4 + UDP around payload; returns frame length. */
static inline size_t mk_udp4(uint8_t *f, uint32_t src, uint32_t dst, uint16_t sport,
			     uint16_t dport, const uint8_t *pl, size_t n)
{
	uint8_t *ip = f + 14, *udp = ip + 20;

	memset(f, 0, 14 + 28);
	f[12] = 0x08;
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + 8 + n));
	ip[8] = 64;
	ip[9] = 17;
	ip[12] = (uint8_t)(src >> 24); ip[13] = (uint8_t)(src >> 16);
	ip[14] = (uint8_t)(src >> 8); ip[15] = (uint8_t)src;
	ip[16] = (uint8_t)(dst >> 24); ip[17] = (uint8_t)(dst >> 16);
	ip[18] = (uint8_t)(dst >> 8); ip[19] = (uint8_t)dst;
	put16(udp, sport);
	put16(udp + 2, dport);
	put16(udp + 4, (uint16_t)(8 + n));
	memcpy(udp + 8, pl, n);
	return 14 + 28 + n;
}

/* Ethernet + IPv4 + TCP segment; flags: 0x02 SYN, 0x10 ACK, 0x01 FIN. */
static inline size_t mk_tcp4(uint8_t *f, uint32_t src, uint32_t dst, uint16_t sport,
			     uint16_t dport, uint32_t seq, uint8_t flags, const uint8_t *pl,
			     size_t n)
{
	uint8_t *ip = f + 14, *tcp = ip + 20;

	memset(f, 0, 14 + 40);
	f[12] = 0x08;
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + 20 + n));
	ip[8] = 64;
	ip[9] = 6;
	ip[12] = (uint8_t)(src >> 24); ip[13] = (uint8_t)(src >> 16);
	ip[14] = (uint8_t)(src >> 8); ip[15] = (uint8_t)src;
	ip[16] = (uint8_t)(dst >> 24); ip[17] = (uint8_t)(dst >> 16);
	ip[18] = (uint8_t)(dst >> 8); ip[19] = (uint8_t)dst;
	put16(tcp, sport);
	put16(tcp + 2, dport);
	tcp[4] = (uint8_t)(seq >> 24); tcp[5] = (uint8_t)(seq >> 16);
	tcp[6] = (uint8_t)(seq >> 8); tcp[7] = (uint8_t)seq;
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	if (n)
		memcpy(tcp + 20, pl, n);
	return 14 + 40 + n;
}

static inline struct pkt mk_pkt(const uint8_t *f, size_t n, ts_t ts, uint64_t frame)
{
	struct pkt p;

	memset(&p, 0, sizeof(p));
	p.data = f;
	p.caplen = p.len = (uint32_t)n;
	p.ts = ts;
	p.linktype = LT_ETHERNET;
	p.ifindex = -1;
	p.frame = frame;
	return p;
}

#endif
