/*
 * tests/fuzz/fuzz-record.c: capture records through the whole pipeline.
 *
 * Input: byte 0 picks the link type, byte 1 holds flags (bit 0: the record
 * was cut by the snaplen, caplen < len; bit 1: interface ids; bit 2: the
 * look-ahead of batch runs, analyze.c, as report uses it), then one or
 * more records, each "len(2, big endian) dt(1) frame bytes": len beyond
 * the end means "the rest". dt advances the clock (low 6 bits times 1 us,
 * 1 ms, 1 s or 30 s by the top two bits) so answer windows, fragment and
 * TCP timeouts expire. A single record is the plain case; a query and its
 * response make the matcher and the detectors do real work. Every record
 * is copied into its own exactly sized allocation so AddressSanitizer sees
 * a read past caplen. At the end both reports are rendered and checked for
 * raw control bytes.
 */
#include "config.h"
#include "fuzz.h"

static const int linktypes[] = {
	LT_ETHERNET, LT_RAW, LT_LINUX_SLL, LT_LINUX_SLL2, LT_NULL, LT_LOOP,
	LT_PPP, LT_PPP_HDLC, LT_IPV4, LT_IPV6, 1000 + 147,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const ts_t unit[4] = { NS_PER_US, NS_PER_MS, NS_PER_SEC, 30 * NS_PER_SEC };
	struct analysis_opts o;
	struct analysis a;
	size_t off = 2;
	uint64_t frame = 0;
	ts_t now = 1700000000 * NS_PER_SEC;
	int lt, flags;

	if (size < 2)
		return 0;
	if (iface_count() < 2) { /* for bit 1 of the flags */
		iface_intern("eth0");
		iface_intern("eth1");
	}
	lt = linktypes[data[0] % ARRAY_SIZE(linktypes)];
	flags = data[1];
	fuzz_opts(&o);
	analysis_init(&a, &o, NULL, 0);
	if (flags & 4)
		analysis_look_ahead(&a);
	while (off < size && frame < 64) {
		size_t n = size - off;
		struct pkt p;
		uint8_t *copy;

		if (n >= 3) {
			size_t want = ((size_t)data[off] << 8) | data[off + 1];
			uint8_t dt = data[off + 2];

			now += (ts_t)(dt & 63) * unit[dt >> 6];
			off += 3;
			n = MIN(want, size - off);
		}
		copy = malloc(n ? n : 1);
		memcpy(copy, data + off, n);
		off += n;
		memset(&p, 0, sizeof(p));
		p.data = copy;
		p.caplen = (uint32_t)n;
		p.len = (flags & 1) ? (uint32_t)n + 100 : (uint32_t)n;
		p.ts = now;
		p.linktype = lt;
		p.ifindex = (flags & 2) ? (int32_t)(frame & 1) : -1;
		p.frame = ++frame;
		a.in.st.packets++;
		if (!a.in.st.first_ts)
			a.in.st.first_ts = now;
		a.in.st.last_ts = now;
		analysis_pkt(&a, &p);
		free(copy);
	}
	analysis_end(&a);
	fuzz_reports(&a);
	analysis_release(&a);
	analysis_opts_free(&o);
	return 0;
}
