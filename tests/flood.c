/*
 * tests/flood.c: hostile traffic for the bounded-memory tests, written as a
 * pcap stream to stdout (pipe it into dnsvet: nothing of this size is ever
 * stored). Raw IPv4 link type, microsecond timestamps, deterministic.
 *
 *   flood queries N [PPS]   N queries for random names from 4096 clients,
 *                           never answered (default 200000 per second)
 *   flood mixed N [PPS]     the same, every other query answered at once
 *                           (for a distinct name: lookups outlive their
 *                           transactions)
 *   flood tcp N [SEGS]      N TCP connections to port 53 that never close:
 *                           SYN, then SEGS segments (default 1) of one DNS
 *                           message announced as 65535 bytes, never finished
 *   flood frags N           N IPv4 datagrams to port 53 of which only the
 *                           first fragment and one near 64 KiB arrive
 *
 * Used by tests/bounded.sh; fast enough for 10 M packets in seconds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static uint64_t now_us = 1700000000ULL * 1000000;

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

static void out(const uint8_t *p, uint32_t n)
{
	uint32_t h[4] = { (uint32_t)(now_us / 1000000), (uint32_t)(now_us % 1000000), n, n };

	fwrite(h, 4, 4, stdout); /* host order, as the file header's magic says */
	fwrite(p, 1, n, stdout);
}

/* IPv4 header for a payload of n bytes; frag is the raw flags/offset word. */
static void ip4(uint8_t *p, uint32_t src, uint32_t dst, uint8_t proto, uint32_t n,
		uint16_t id, uint16_t frag)
{
	memset(p, 0, 20);
	p[0] = 0x45;
	put16(p + 2, 20 + n);
	put16(p + 4, id);
	put16(p + 6, frag);
	p[8] = 64;
	p[9] = proto;
	put32(p + 12, src);
	put32(p + 16, dst);
}

/* A query for "<8 random letters>.flood.example." */
static uint32_t query(uint8_t *p, uint16_t id, int response, uint32_t seed)
{
	static const uint8_t tail[] = "\005flood\007example";
	uint32_t o = 12, i;

	memset(p, 0, 12);
	put16(p, id);
	put16(p + 2, response ? 0x8180 : 0x0100);
	put16(p + 4, 1);
	p[o++] = 8;
	for (i = 0; i < 8; i++, seed /= 26)
		p[o++] = (uint8_t)('a' + (i < 6 ? seed % 26 : rnd() % 26));
	memcpy(p + o, tail, sizeof(tail));
	o += sizeof(tail);
	put16(p + o, 1);
	put16(p + o + 2, 1);
	return o + 4;
}

static void udp(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, const uint8_t *d,
		uint32_t n)
{
	uint8_t pk[1600];

	ip4(pk, src, dst, 17, 8 + n, 0, 0);
	put16(pk + 20, sport);
	put16(pk + 22, dport);
	put16(pk + 24, 8 + n);
	put16(pk + 26, 0);
	memcpy(pk + 28, d, n);
	out(pk, 28 + n);
}

static void tcp(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint32_t seq,
		uint8_t flags, const uint8_t *d, uint32_t n)
{
	uint8_t pk[1600];

	ip4(pk, src, dst, 6, 20 + n, 0, 0);
	memset(pk + 20, 0, 20);
	put16(pk + 20, sport);
	put16(pk + 22, dport);
	put32(pk + 24, seq);
	pk[32] = 5 << 4;
	pk[33] = flags;
	memcpy(pk + 40, d, n);
	out(pk, 40 + n);
}

int main(int argc, char **argv)
{
	static uint8_t buf[1600];
	uint32_t hdr[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 65535, 101 };
	const uint32_t server = 0x0a000035; /* 10.0.0.53 */
	uint64_t n, i, step;
	const char *mode;

	if (argc < 3) {
		fprintf(stderr, "usage: flood queries|mixed|tcp|frags N [PPS|SEGS]\n");
		return 2;
	}
	mode = argv[1];
	n = strtoull(argv[2], NULL, 10);
	fwrite(hdr, 4, 6, stdout);
	if (!strcmp(mode, "queries") || !strcmp(mode, "mixed")) {
		uint64_t pps = argc > 3 ? strtoull(argv[3], NULL, 10) : 200000;
		int mixed = !strcmp(mode, "mixed");

		step = pps ? 1000000 / pps : 1;
		for (i = 0; i < n; i++) {
			uint32_t cli = 0x0a010000 | (rnd() & 0xfff), len;
			uint16_t port = (uint16_t)(1024 + rnd() % 60000), id = (uint16_t)rnd();
			uint32_t seed = rnd();

			len = query(buf, id, 0, seed);
			udp(cli, server, port, 53, buf, len);
			now_us += step ? step : (i & 1);
			if (mixed && (i & 1)) {
				buf[2] = 0x81;
				buf[3] = 0x80;
				udp(server, cli, 53, port, buf, len);
			}
		}
	} else if (!strcmp(mode, "tcp")) {
		uint64_t segs = argc > 3 ? strtoull(argv[3], NULL, 10) : 1;

		for (i = 0; i < n; i++) {
			uint32_t cli = 0x0a020000 | (uint32_t)(i >> 14 & 0xffff);
			uint16_t port = (uint16_t)(1024 + (i & 0x3fff));
			uint32_t seq = rnd(), k;

			tcp(cli, server, port, 53, seq, 0x02, NULL, 0);
			seq++;
			for (k = 0; k < segs; k++) {
				uint32_t len = 1400;

				memset(buf, 'x', len);
				if (!k) { /* a message announced as 65535 bytes */
					put16(buf, 65535);
					query(buf + 2, (uint16_t)i, 0, (uint32_t)i);
				}
				tcp(cli, server, port, 53, seq, 0x18, buf, len);
				seq += len;
			}
			now_us += 10;
		}
	} else if (!strcmp(mode, "frags")) {
		for (i = 0; i < n; i++) {
			uint32_t src = 0x0a030000 | (uint32_t)(i >> 16 & 0xffff);
			uint16_t id = (uint16_t)i;
			uint8_t pk[1600];

			/* first fragment: UDP header + query start, MF set */
			ip4(pk, src, server, 17, 1480, id, 0x2000);
			put16(pk + 20, 40000);
			put16(pk + 22, 53);
			put16(pk + 24, 8 + 65000);
			memset(pk + 28, 'y', 1472);
			query(pk + 28, id, 0, (uint32_t)i);
			out(pk, 1500);
			/* and one near the end, so the buffer grows to 64 KiB */
			ip4(pk, src, server, 17, 1000, id, 0x2000 | (64000 / 8));
			memset(pk + 20, 'z', 1000);
			out(pk, 1020);
			now_us += 10;
		}
	} else {
		fprintf(stderr, "flood: unknown mode '%s'\n", mode);
		return 2;
	}
	return fflush(stdout) ? 1 : 0;
}
