/*
 * decode.c: link layer, IPv4/IPv6 and UDP headers -> DNS payloads.
 *
 * Every read is preceded by a length check against caplen. A packet cut by
 * the snaplen is normal (DP_TRUNCATED), not an error; a header that lies
 * about its length is counted under its own reason.
 */
#include "config.h"
#include "decode.h"
#include "extract.h"
#include "input.h"

#include <stdlib.h>
#include <string.h>

const char *const dp_names[DP_MAX] = {
	[DP_NONE] = "none",
	[DP_TRUNCATED] = "truncated",
	[DP_UNSUPPORTED_LINK] = "unsupported-link",
	[DP_BAD_LINK] = "bad-link-header",
	[DP_BAD_IP] = "bad-ipv4",
	[DP_BAD_IP6] = "bad-ipv6",
	[DP_BAD_UDP_LEN] = "bad-udp-length",
	[DP_BAD_TCP] = "bad-tcp-header",
	[DP_FRAG_INCOMPLETE] = "fragments-incomplete",
	[DP_FRAG_EVICTED] = "fragments-evicted",
	[DP_TCP_HOLE] = "tcp-hole",
	[DP_TCP_NOSYN] = "tcp-missing-syn",
	[DP_TCP_DESYNC] = "tcp-not-dns",
	[DP_TCP_EVICTED] = "tcp-evicted",
	[DP_DNS_SHORT] = "dns-short",
	[DP_DNS_BAD_LABEL] = "dns-bad-label",
	[DP_DNS_LOOP] = "dns-compression-loop",
	[DP_DNS_NAME_TOO_LONG] = "dns-name-too-long",
	[DP_DNS_BAD_QUESTION] = "dns-bad-question",
	[DP_DNS_RR_OVERRUN] = "dns-rr-overrun",
	[DP_DNS_NO_QUESTION] = "dns-no-question",
};

const char *const dp_descr[DP_MAX] = {
	[DP_NONE] = "",
	[DP_TRUNCATED] = "packet cut by the capture snaplen",
	[DP_UNSUPPORTED_LINK] = "link-layer type not decoded",
	[DP_BAD_LINK] = "link-layer header too short or invalid",
	[DP_BAD_IP] = "invalid IPv4 header",
	[DP_BAD_IP6] = "invalid IPv6 header or extension header chain",
	[DP_BAD_UDP_LEN] = "UDP length disagrees with the IP payload",
	[DP_BAD_TCP] = "invalid TCP header",
	[DP_FRAG_INCOMPLETE] = "IP fragments whose datagram never completed",
	[DP_FRAG_EVICTED] = "IP fragments dropped: reassembly table full or datagram too large",
	[DP_TCP_HOLE] = "gaps in TCP streams (bytes not captured; the message across each lost)",
	[DP_TCP_NOSYN] = "TCP stream picked up without its SYN",
	[DP_TCP_DESYNC] = "TCP data that is not length-prefixed DNS",
	[DP_TCP_EVICTED] = "TCP stream state dropped with data pending",
	[DP_DNS_SHORT] = "DNS message shorter than its 12-byte header",
	[DP_DNS_BAD_LABEL] = "DNS name with a bad label type or pointer",
	[DP_DNS_LOOP] = "DNS name compression loop",
	[DP_DNS_NAME_TOO_LONG] = "DNS name longer than 255 bytes",
	[DP_DNS_BAD_QUESTION] = "DNS question section cut short",
	[DP_DNS_RR_OVERRUN] = "DNS record runs past the message end (header and question still used)",
	[DP_DNS_NO_QUESTION] = "DNS query without a question",
};

void decode_config_default(struct decode_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ports[53 >> 3] |= 1 << (53 & 7);
	cfg->frag_max = 1024;
	cfg->tcp_max = 8192;
	cfg->tcp_max_bytes = 64 << 20; /* 1,000 streams in the middle of a 64 KiB message */
	cfg->frag_timeout = 30 * NS_PER_SEC;  /* Linux ipfrag_time */
	cfg->tcp_timeout = 120 * NS_PER_SEC;
}

int decode_set_ports(struct decode_config *cfg, const char *list)
{
	const char *s = list;

	memset(cfg->ports, 0, sizeof(cfg->ports));
	while (*s) {
		char *end;
		long v = strtol(s, &end, 10);

		if (end == s || v < 1 || v > 65535 || (*end && *end != ','))
			return -1;
		cfg->ports[v >> 3] |= (uint8_t)(1 << (v & 7));
		s = *end ? end + 1 : end;
	}
	return 0;
}

void decoder_init(struct decoder *d, const struct decode_config *cfg, msg_fn fn, void *ctx)
{
	memset(d, 0, sizeof(*d));
	d->cfg = *cfg;
	d->fn = fn;
	d->ctx = ctx;
	d->frags = frag_new(cfg->frag_max);
	d->tcp = tcp_new(cfg->tcp_max);
}

void decoder_release(struct decoder *d)
{
	frag_free(d->frags);
	tcp_free(d->tcp);
	d->frags = NULL;
	d->tcp = NULL;
}

void decoder_finish(struct decoder *d)
{
	tcp_expire(d, d->now, 1);
	frag_expire(d, d->now, 1);
}

static void problem(struct decoder *d, enum decode_problem why)
{
	d->st.problems[why]++;
}

/* ---- UDP / TCP ---------------------------------------------------------- */

void decode_l4(struct decoder *d, struct l4info *li, const uint8_t *p, uint32_t n)
{
	struct dnsmsg m;
	uint16_t sport, dport, ulen;

	if (li->proto == 6) {
		tcp_segment(d, li, p, n);
		return;
	}
	if (li->proto != 17) {
		d->st.not_dns++;
		return;
	}
	if (n < 8) {
		problem(d, li->truncated ? DP_TRUNCATED : DP_BAD_UDP_LEN);
		return;
	}
	sport = be16(p);
	dport = be16(p + 2);
	if (!decode_is_port(&d->cfg, sport) && !decode_is_port(&d->cfg, dport)) {
		d->st.not_dns++;
		return;
	}
	ulen = be16(p + 4);
	if (ulen < 8 || (ulen > n && !li->truncated)) {
		problem(d, DP_BAD_UDP_LEN);
		return;
	}
	m.ts = li->pkt->ts;
	m.ifindex = li->pkt->ifindex;
	m.file = li->pkt->file;
	m.frame = li->pkt->frame;
	m.proto = 17;
	m.src = li->src;
	m.dst = li->dst;
	m.sport = sport;
	m.dport = dport;
	d->st.dns_udp++;
	if (d->hint && n >= 8 + 4)
		d->hint(d->ctx, &m, be16(p + 8), p[10] >> 7);
	if (ulen > n) /* cut by the snaplen: parse what is there */
		decode_dns(d, &m, p + 8, n - 8, 1);
	else
		decode_dns(d, &m, p + 8, ulen - 8u, 0);
}

/* ---- IPv4 / IPv6 ---------------------------------------------------------- */

static void decode_ipv4(struct decoder *d, const struct pkt *pk, const uint8_t *p, uint32_t n,
			int cut)
{
	struct l4info li;
	uint32_t hl, tot;
	uint16_t fragw;

	if (n < 20 || (p[0] >> 4) != 4) {
		problem(d, n < 20 && cut ? DP_TRUNCATED : DP_BAD_IP);
		return;
	}
	hl = (uint32_t)(p[0] & 0xf) * 4;
	tot = be16(p + 2);
	if (hl < 20 || tot < hl) {
		problem(d, DP_BAD_IP);
		return;
	}
	memset(&li, 0, sizeof(li));
	li.pkt = pk;
	if (tot > n) {
		if (!cut) {
			problem(d, DP_BAD_IP);
			return;
		}
		li.truncated = 1;
		tot = n;
		if (tot < hl) {
			problem(d, DP_TRUNCATED);
			return;
		}
	}
	/* tot < n: link-layer padding (Ethernet minimum frame), ignored */
	li.src.family = li.dst.family = 4;
	memcpy(li.src.a, p + 12, 4);
	memcpy(li.dst.a, p + 16, 4);
	li.proto = p[9];
	fragw = be16(p + 6);
	if (fragw & 0x3fff) { /* MF set or offset > 0 */
		uint32_t out_len;
		const uint8_t *full;

		if (li.truncated) {
			problem(d, DP_TRUNCATED);
			return;
		}
		full = frag_add(d, &li.src, &li.dst, be16(p + 4), li.proto,
				(uint32_t)(fragw & 0x1fff) * 8, (fragw & 0x2000) != 0,
				p + hl, tot - hl, pk->ts, &out_len);
		if (full)
			decode_l4(d, &li, full, out_len);
		return;
	}
	decode_l4(d, &li, p + hl, tot - hl);
}

/*
 * Walk an IPv6 extension header chain starting with next header nh at p.
 * Returns the offset of the upper-layer header and sets *proto, or -1.
 * Fragment headers are reported through *frag (offset of the header).
 */
static int ip6_walk(const uint8_t *p, uint32_t n, uint8_t nh, uint8_t *proto, int *frag)
{
	uint32_t off = 0;
	int hops = 0;

	*frag = -1;
	for (;;) {
		if (++hops > 16)
			return -1;
		switch (nh) {
		case 0:	 /* hop-by-hop */
		case 43: /* routing */
		case 60: /* destination options */
		case 135: /* mobility */
			if (off + 8 > n)
				return -1;
			nh = p[off];
			off += ((uint32_t)p[off + 1] + 1) * 8;
			break;
		case 51: /* AH: length in 4-byte units, minus 2 */
			if (off + 8 > n)
				return -1;
			nh = p[off];
			off += ((uint32_t)p[off + 1] + 2) * 4;
			break;
		case 44: /* fragment */
			if (off + 8 > n)
				return -1;
			*frag = (int)off;
			*proto = p[off];
			return (int)off + 8;
		default:
			*proto = nh;
			return off <= n ? (int)off : -1;
		}
		if (off > n)
			return -1;
	}
}

static void decode_ipv6(struct decoder *d, const struct pkt *pk, const uint8_t *p, uint32_t n,
			int cut)
{
	struct l4info li;
	uint32_t plen;
	int off, frag;
	uint8_t proto;

	if (n < 40 || (p[0] >> 4) != 6) {
		problem(d, n < 40 && cut ? DP_TRUNCATED : DP_BAD_IP6);
		return;
	}
	plen = be16(p + 4);
	memset(&li, 0, sizeof(li));
	li.pkt = pk;
	if (plen + 40 > n) {
		if (!cut) {
			problem(d, DP_BAD_IP6);
			return;
		}
		li.truncated = 1;
		plen = n - 40;
	}
	li.src.family = li.dst.family = 6;
	memcpy(li.src.a, p + 8, 16);
	memcpy(li.dst.a, p + 24, 16);
	off = ip6_walk(p + 40, plen, p[6], &proto, &frag);
	if (off < 0) {
		problem(d, li.truncated ? DP_TRUNCATED : DP_BAD_IP6);
		return;
	}
	li.proto = proto;
	if (frag >= 0) {
		const uint8_t *fh = p + 40 + frag, *full;
		uint32_t out_len;
		uint16_t offw = be16(fh + 2);
		int off2, frag2;

		if (li.truncated) {
			problem(d, DP_TRUNCATED);
			return;
		}
		full = frag_add(d, &li.src, &li.dst, be32(fh + 4), proto, (uint32_t)(offw & 0xfff8),
				offw & 1, p + 40 + off, plen - (uint32_t)off, pk->ts, &out_len);
		if (!full)
			return;
		/* the fragmentable part may start with more extension headers */
		off2 = ip6_walk(full, out_len, proto, &li.proto, &frag2);
		if (off2 < 0 || frag2 >= 0) {
			problem(d, DP_BAD_IP6);
			return;
		}
		decode_l4(d, &li, full + off2, out_len - (uint32_t)off2);
		return;
	}
	decode_l4(d, &li, p + 40 + off, plen - (uint32_t)off);
}

static void decode_l3(struct decoder *d, const struct pkt *pk, uint16_t ethertype,
		      const uint8_t *p, uint32_t n)
{
	int cut = pk->caplen < pk->len;

	if (ethertype == 0x0800)
		decode_ipv4(d, pk, p, n, cut);
	else if (ethertype == 0x86dd)
		decode_ipv6(d, pk, p, n, cut);
	else
		d->st.not_dns++;
}

/* Decide IPv4 vs IPv6 from the version nibble (raw IP link types). */
static uint16_t ip_version_type(const uint8_t *p, uint32_t n)
{
	if (n < 1)
		return 0;
	return (p[0] >> 4) == 4 ? 0x0800 : (p[0] >> 4) == 6 ? 0x86dd : 0;
}

/* ---- link layer ----------------------------------------------------------- */

/* Map a kernel ifindex from SLL2 to the run-wide interface table, cached. */
static int32_t sll2_iface(struct decoder *d, uint32_t kidx)
{
	char name[32];
	int32_t id;

	if (kidx < ARRAY_SIZE(d->sll2_cache) && d->sll2_cache[kidx])
		return d->sll2_cache[kidx] - 1;
	snprintf(name, sizeof(name), "ifindex %u", kidx);
	id = iface_intern(name);
	if (kidx < ARRAY_SIZE(d->sll2_cache))
		d->sll2_cache[kidx] = id + 1;
	return id;
}

void decode_pkt(struct decoder *d, struct pkt *pk)
{
	const uint8_t *p = pk->data;
	uint32_t n = pk->caplen, off = 0;
	uint16_t type = 0;

	if (pk->ts > d->now)
		d->now = pk->ts;
	switch (pk->linktype) {
	case LT_ETHERNET:
		if (n < 14) {
			problem(d, DP_BAD_LINK);
			return;
		}
		type = be16(p + 12);
		off = 14;
		/* 802.1Q, 802.1ad (QinQ) and the old 0x9100 tag, stacked */
		while (type == 0x8100 || type == 0x88a8 || type == 0x9100) {
			if (off + 4 > n) {
				problem(d, DP_BAD_LINK);
				return;
			}
			type = be16(p + off + 2);
			off += 4;
		}
		break;
	case LT_LINUX_SLL:
		if (n < 16) {
			problem(d, DP_BAD_LINK);
			return;
		}
		type = be16(p + 14);
		off = 16;
		break;
	case LT_LINUX_SLL2:
		if (n < 20) {
			problem(d, DP_BAD_LINK);
			return;
		}
		type = be16(p);
		off = 20;
		/* SLL2 carries the kernel ifindex: every packet keeps it */
		if (pk->ifindex < 0)
			pk->ifindex = sll2_iface(d, be32(p + 4));
		break;
	case LT_NULL:
	case LT_LOOP: {
		uint32_t af;

		if (n < 4) {
			problem(d, DP_BAD_LINK);
			return;
		}
		af = pk->linktype == LT_LOOP ? be32(p) : le32(p);
		if (af > 0xffff) /* written on a host of the other byte order */
			af = __builtin_bswap32(af);
		off = 4;
		if (af == 2)
			type = 0x0800;
		else if (af == 10 || af == 24 || af == 28 || af == 30)
			type = 0x86dd;
		else {
			d->st.not_dns++;
			return;
		}
		break;
	}
	case LT_PPP:
	case LT_PPP_HDLC: {
		uint16_t proto;

		if (n >= 2 && p[0] == 0xff && p[1] == 0x03)
			off = 2; /* HDLC address/control */
		if (off + 2 > n) {
			problem(d, DP_BAD_LINK);
			return;
		}
		proto = be16(p + off);
		off += 2;
		type = proto == 0x0021 ? 0x0800 : proto == 0x0057 ? 0x86dd : 0;
		if (!type) {
			d->st.not_dns++;
			return;
		}
		break;
	}
	case LT_RAW:
		type = ip_version_type(p, n);
		break;
	case LT_IPV4:
		type = 0x0800;
		break;
	case LT_IPV6:
		type = 0x86dd;
		break;
	default:
		problem(d, DP_UNSUPPORTED_LINK);
		return;
	}
	decode_l3(d, pk, type, p + off, n - off);
}
