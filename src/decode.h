/*
 * decode.h: struct pkt -> struct dnsmsg.
 *
 * decode.c walks link, IP and transport headers with bounds-checked reads;
 * decode-frag.c reassembles IPv4/IPv6 fragments; decode-tcp.c reassembles
 * DNS-over-TCP streams (RFC 1035 4.2.2 length prefix); decode-dns.c parses
 * the DNS message. Nothing is fatal: every packet that cannot be decoded is
 * counted under one reason, listed in the report.
 */
#ifndef DNSVET_DECODE_H
#define DNSVET_DECODE_H

#include "dnsvet.h"

/* Why a packet or message was not (fully) decoded. Keep dp_names[] in step. */
enum decode_problem {
	DP_NONE = 0,
	DP_TRUNCATED,	      /* snaplen cut the packet before the DNS message ended */
	DP_UNSUPPORTED_LINK,  /* link type we do not decode */
	DP_BAD_LINK,	      /* link header too short or inconsistent */
	DP_BAD_IP,	      /* IPv4 header invalid (version, IHL, total length) */
	DP_BAD_IP6,	      /* IPv6 header or extension header chain invalid */
	DP_BAD_UDP_LEN,	      /* UDP length field disagrees with the IP payload */
	DP_BAD_TCP,	      /* TCP header invalid (data offset) */
	DP_FRAG_INCOMPLETE,   /* fragments whose datagram never completed */
	DP_FRAG_EVICTED,      /* reassembly table full or datagram too big */
	DP_TCP_HOLE,	      /* a gap in a TCP stream (one count per gap) */
	DP_TCP_NOSYN,	      /* stream picked up without its SYN */
	DP_TCP_DESYNC,	      /* stream data that is not length-prefixed DNS */
	DP_TCP_EVICTED,	      /* stream state dropped (cap or idle) with data pending */
	DP_DNS_SHORT,	      /* shorter than a DNS header */
	DP_DNS_BAD_LABEL,     /* label type 0x40/0x80, or a pointer out of bounds */
	DP_DNS_LOOP,	      /* compression pointer loop or forward pointer */
	DP_DNS_NAME_TOO_LONG, /* name over 255 bytes */
	DP_DNS_BAD_QUESTION,  /* question section cut short */
	DP_DNS_RR_OVERRUN,    /* an RR runs past the end (message still used) */
	DP_DNS_NO_QUESTION,   /* query without a question: cannot be matched */
	DP_MAX
};

extern const char *const dp_names[DP_MAX];
extern const char *const dp_descr[DP_MAX];

typedef void (*msg_fn)(void *ctx, const struct dnsmsg *m);
/* Called for a UDP datagram on a DNS port before its DNS message is
 * parsed, with the addresses, ports and protocol of m set and the DNS id
 * and QR bit from the header: a chance to start loading what the message
 * will need (matcher_prefetch()) while the parse runs. */
typedef void (*hint_fn)(void *ctx, const struct dnsmsg *m, uint16_t id, int qr);

struct frag_table;
struct tcp_table;

struct decode_config {
	uint8_t ports[65536 / 8]; /* DNS ports bitmap */
	uint32_t frag_max;	  /* datagrams being reassembled at once */
	uint32_t tcp_max;	  /* TCP streams tracked at once */
	uint64_t tcp_max_bytes;	  /* bytes all TCP streams may hold together */
	ts_t frag_timeout;
	ts_t tcp_timeout;
};

struct decode_stats {
	uint64_t problems[DP_MAX];
	uint64_t not_dns;	  /* IP traffic not on a DNS port, non-IP frames */
	uint64_t dns_udp, dns_tcp; /* DNS messages decoded */
	uint64_t frag_reassembled; /* datagrams rebuilt from fragments */
	uint64_t tcp_streams;	   /* streams seen */
	uint64_t frag_evictions, tcp_evictions;
	/* messages whose header parsed but which could not be used, by QR */
	uint64_t malformed_queries, malformed_responses;
};

struct decoder {
	struct decode_config cfg;
	struct decode_stats st;
	struct frag_table *frags;
	struct tcp_table *tcp;
	msg_fn fn;
	hint_fn hint; /* may be NULL */
	void *ctx;
	ts_t now;
	int32_t sll2_cache[256]; /* kernel ifindex -> interface id + 1 */
};

void decode_config_default(struct decode_config *cfg);
/* "53,8053": 0 or -1 on a bad list */
int decode_set_ports(struct decode_config *cfg, const char *list);
static inline int decode_is_port(const struct decode_config *c, uint16_t p)
{
	return (c->ports[p >> 3] >> (p & 7)) & 1;
}

void decoder_init(struct decoder *d, const struct decode_config *cfg, msg_fn fn, void *ctx);
/* may set p->ifindex from the link header (SLL2) */
void decode_pkt(struct decoder *d, struct pkt *p);
/* end of input: flush TCP streams, count what never completed */
void decoder_finish(struct decoder *d);
void decoder_release(struct decoder *d);

/* Internal between the decode-*.c files: hand an L4 payload on. */
struct l4info {
	const struct pkt *pkt;
	struct addr src, dst;
	uint8_t proto;
	int truncated; /* the IP datagram was cut by the snaplen */
};
void decode_l4(struct decoder *d, struct l4info *li, const uint8_t *p, uint32_t n);
/* Parse a DNS message and hand it on (m has addresses etc. filled in). */
void decode_dns(struct decoder *d, struct dnsmsg *m, const uint8_t *p, uint32_t n,
		int truncated);

/* decode-frag.c */
struct frag_table *frag_new(uint32_t max);
void frag_free(struct frag_table *ft);
/*
 * Add a fragment. off/len in bytes of the fragmentable part, more = MF.
 * When it completes a datagram, returns a pointer to the reassembled
 * payload (valid until the next call) and sets *out_len.
 */
const uint8_t *frag_add(struct decoder *d, const struct addr *src, const struct addr *dst,
			uint32_t id, uint8_t proto, uint32_t off, int more,
			const uint8_t *data, uint32_t len, ts_t now, uint32_t *out_len);
void frag_expire(struct decoder *d, ts_t now, int all);

/* decode-tcp.c */
struct tcp_table *tcp_new(uint32_t max);
void tcp_free(struct tcp_table *tt);
void tcp_segment(struct decoder *d, struct l4info *li, const uint8_t *tcp, uint32_t n);
void tcp_expire(struct decoder *d, ts_t now, int all);

/* decode-dns.c: parse wire into m (header, question, EDNS, RR walk) */
enum decode_problem dns_parse(const uint8_t *p, uint32_t n, struct dnsmsg *m);
/* Skip (and validate) a possibly compressed name at *off. */
enum decode_problem dns_skip_name(const uint8_t *p, uint32_t n, uint32_t *off);

#endif
