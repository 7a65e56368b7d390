/*
 * tests/fuzz/fuzz-tcp.c: DNS-over-TCP reassembly over a sequence of segments.
 *
 * Input: byte 0 holds options (bit 0: IPv6; bit 1: port 8053 instead of
 * 53), then segments, each a 5-byte header and payload:
 *   b0  bits 0-2: stream (connection 0-3, direction by bit 0)
 *       bits 3-7: SYN, FIN, RST, ACK, and "cut by the snaplen"
 *   b1  signed sequence delta (beyond +-100: times 1000; -128: 2^31)
 *   b2  signed acknowledgement delta
 *   b3  payload length (0-255), taken from the input
 *   b4  time step (low 6 bits times 1 ms, 1 s, 10 s or 60 s)
 * The harness keeps the next sequence number of each stream as a sender
 * would, so delta 0 is an in-order segment; other deltas make
 * retransmissions, overlaps, out-of-order segments and holes. The ack is
 * relative to the reverse stream's next sequence number, which is how
 * holes are detected from acks. Packets are raw IP, built exactly sized so
 * AddressSanitizer sees any read past them. Messages that come out are
 * read end to end.
 */
#include "config.h"
#include "fuzz.h"
#include "decode.h"

static uint64_t sink;

static void on_msg(void *ctx, const struct dnsmsg *m)
{
	uint32_t i;

	(void)ctx;
	if (m->wire_len > 65535 || m->proto != 6)
		abort();
	for (i = 0; i < m->wire_len; i++)
		sink += m->wire[i];
}

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const ts_t unit[4] = { NS_PER_MS, NS_PER_SEC, 10 * NS_PER_SEC, 60 * NS_PER_SEC };
	struct decode_config cfg;
	struct decoder d;
	uint32_t next[8];
	size_t off = 1;
	int v6, n = 0;
	uint16_t dnsport;
	ts_t now = 1700000000 * NS_PER_SEC;

	if (size < 1)
		return 0;
	v6 = data[0] & 1;
	dnsport = (data[0] & 2) ? 8053 : 53;
	decode_config_default(&cfg);
	decode_set_ports(&cfg, "53,8053");
	cfg.tcp_max = 3; /* four connections, eight streams: evictions happen */
	cfg.tcp_max_bytes = 2048; /* and the byte budget is reached */
	cfg.tcp_timeout = 30 * NS_PER_SEC;
	decoder_init(&d, &cfg, on_msg, NULL);
	for (n = 0; n < 8; n++)
		next[n] = 1000u * (uint32_t)n * 7919u;
	n = 0;
	while (off + 5 <= size && n++ < 256) {
		uint8_t b0 = data[off], b3 = data[off + 3], b4 = data[off + 4];
		int8_t dseq = (int8_t)data[off + 1], dack = (int8_t)data[off + 2];
		int st = b0 & 7, conn = st >> 1, dir = st & 1, cut = (b0 >> 7) & 1;
		uint8_t flags = (uint8_t)(((b0 >> 3) & 1 ? 0x02 : 0) | ((b0 >> 4) & 1 ? 0x01 : 0) |
					  ((b0 >> 5) & 1 ? 0x04 : 0) | ((b0 >> 6) & 1 ? 0x10 : 0));
		uint32_t plen = MIN((uint32_t)b3, (uint32_t)(size - off - 5));
		uint32_t iphl = v6 ? 40 : 20, tot = iphl + 20 + plen, seq, ack, caplen;
		uint16_t cport = (uint16_t)(40000 + conn);
		uint8_t *pk;
		struct pkt p;

		/* big deltas scale so a fuzzer can jump over a 64 KiB window;
		 * -128 is half the sequence space away (delta INT32_MIN) */
		seq = next[st] + (dseq == -128 ? 0x80000000u :
				  (uint32_t)((int32_t)dseq * (abs(dseq) > 100 ? 1000 : 1)));
		ack = next[st ^ 1] + (uint32_t)(int32_t)dack;
		now += (ts_t)(b4 & 63) * unit[b4 >> 6];
		caplen = cut && plen ? tot - plen / 2 - 1 : tot;
		pk = calloc(1, tot);
		if (v6) {
			pk[0] = 0x60;
			put16(pk + 4, 20 + plen);
			pk[6] = 6;
			pk[7] = 64;
			pk[23] = (uint8_t)(dir ? 1 : 2); /* fd00::2 client, fd00::1 server */
			pk[39] = (uint8_t)(dir ? 2 : 1);
			pk[8] = pk[24] = 0xfd;
		} else {
			pk[0] = 0x45;
			put16(pk + 2, tot);
			pk[8] = 64;
			pk[9] = 6;
			put32(pk + 12, dir ? 0x0a000001 : 0x0a000002);
			put32(pk + 16, dir ? 0x0a000002 : 0x0a000001);
		}
		put16(pk + iphl, dir ? dnsport : cport);
		put16(pk + iphl + 2, dir ? cport : dnsport);
		put32(pk + iphl + 4, seq);
		put32(pk + iphl + 8, ack);
		pk[iphl + 12] = 5 << 4;
		pk[iphl + 13] = flags;
		memcpy(pk + iphl + 20, data + off + 5, plen);
		off += 5 + plen;
		/* what a sender's next segment would carry */
		if ((int32_t)(seq + plen + ((flags & 0x02) ? 1 : 0) - next[st]) > 0)
			next[st] = seq + plen + ((flags & 0x02) ? 1 : 0);
		memset(&p, 0, sizeof(p));
		if (caplen < tot) { /* exactly sized: a read past caplen is caught */
			uint8_t *c = malloc(caplen);

			memcpy(c, pk, caplen);
			free(pk);
			pk = c;
		}
		p.data = pk;
		p.caplen = caplen;
		p.len = tot;
		p.ts = now;
		p.linktype = LT_RAW;
		p.ifindex = -1;
		p.frame = (uint64_t)n;
		decode_pkt(&d, &p);
		if (!(n & 7))
			tcp_expire(&d, now, 0);
		free(pk);
	}
	decoder_finish(&d);
	decoder_release(&d);
	return 0;
}
