/*
 * dnsvet.h: the types that flow through the pipeline, one section per stage.
 *
 *   pcap bytes -> struct pkt (borrowed) -> struct dnsmsg (borrowed)
 *              -> struct txn / struct lookup (owned by the matcher, passed
 *                 to sinks as const) -> detectors -> struct finding
 *
 * A stage never keeps a pointer to what it was handed: packet bytes live
 * only for the duration of the callback (libpcap's buffer), a txn only until
 * the sink returns. Whatever a stage wants to keep, it copies into bounded
 * memory of its own.
 */
#ifndef DNSVET_H
#define DNSVET_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include "util.h"

/* ---- addresses -------------------------------------------------------- */

struct addr {
	uint8_t family; /* 4 or 6; 0 = none */
	uint8_t a[16];	/* IPv4 in a[0..3] */
};

/* Inline: the matcher compares and hashes two addresses per message. */
static inline int addr_eq(const struct addr *x, const struct addr *y)
{
	if (x->family != y->family)
		return 0;
	if (x->family == 4) {
		uint32_t a, b;

		memcpy(&a, x->a, 4);
		memcpy(&b, y->a, 4);
		return a == b;
	}
	return !memcmp(x->a, y->a, 16);
}

static inline uint64_t addr_hash(const struct addr *a, uint64_t seed)
{
	uint64_t w0, w1;

	if (a->family == 4) {
		uint32_t v;

		memcpy(&v, a->a, 4);
		return hash_mix(v ^ (seed * UINT64_C(0x9e3779b97f4a7c15)));
	}
	memcpy(&w0, a->a, 8);
	memcpy(&w1, a->a + 8, 8);
	return hash_mix(w0 ^ hash_mix(w1 ^ (seed * UINT64_C(0x9e3779b97f4a7c15))));
}
/* "192.0.2.1" or "2001:db8::1"; buf >= 48 bytes */
const char *addr_str(const struct addr *a, char *buf, size_t n);
/* parse a numeric IPv4/IPv6 address; 0 on success */
int addr_parse(const char *s, struct addr *a);

/* ---- input.c: capture files -> struct pkt ----------------------------- */

struct pkt {
	const uint8_t *data; /* borrowed: valid during the callback only */
	uint32_t caplen;     /* bytes present */
	uint32_t len;	     /* bytes on the wire */
	ts_t ts;
	int linktype;	/* LINKTYPE_* value (pcap-linktype(7)) */
	int32_t ifindex; /* capture interface (see input.h), -1 if unknown */
	uint16_t file;	 /* index of the file in the run (0-based) */
	uint64_t frame;	 /* 1-based frame number in that file (Wireshark's) */
};

/* ---- decode.c / decode-dns.c: struct pkt -> struct dnsmsg ------------- */

/* EDNS(0) as seen in the OPT record of a message. */
struct edns {
	uint8_t present;
	uint8_t do_bit;
	uint8_t version;
	uint8_t ecs_present;
	uint16_t udp_size;
	uint8_t ecs_family; /* 1 = IPv4, 2 = IPv6 (IANA address family) */
	uint8_t ecs_source, ecs_scope;
	uint8_t ecs_addr[16];
};

#define DNS_MAXNAME 255

struct dnsmsg {
	ts_t ts;
	int32_t ifindex;
	uint16_t file;
	uint64_t frame;
	uint8_t proto; /* 17 UDP or 6 TCP */
	struct addr src, dst;
	uint16_t sport, dport;

	/* header */
	uint16_t id;
	uint16_t flags; /* raw second 16-bit word of the header */
	uint16_t qdcount, ancount, nscount, arcount;

	/* first question */
	uint8_t has_question;
	uint8_t qname_len;
	uint16_t qtype, qclass;
	uint64_t qname_hash; /* hash_bytes(qname, qname_len, 0) */

	struct edns edns;
	uint8_t rr_problem; /* the RR sections did not parse (counted) */

	const uint8_t *wire; /* the whole message, borrowed */
	uint32_t wire_len;

	/* the first question's name, lower-cased, in wire form; last, so a
	 * copy of a message can stop after qname_len bytes of it */
	uint8_t qname[DNS_MAXNAME + 1];
};

#define DNS_QR(f) (((f) >> 15) & 1)
#define DNS_OPCODE(f) (((f) >> 11) & 0xf)
#define DNS_AA(f) (((f) >> 10) & 1)
#define DNS_TC(f) (((f) >> 9) & 1)
#define DNS_RD(f) (((f) >> 8) & 1)
#define DNS_RA(f) (((f) >> 7) & 1)
#define DNS_RCODE(f) ((f)&0xf)

enum { RCODE_NOERROR = 0, RCODE_FORMERR = 1, RCODE_SERVFAIL = 2,
       RCODE_NXDOMAIN = 3, RCODE_NOTIMP = 4, RCODE_REFUSED = 5 };
enum { QTYPE_A = 1, QTYPE_NS = 2, QTYPE_CNAME = 5, QTYPE_SOA = 6,
       QTYPE_PTR = 12, QTYPE_MX = 15, QTYPE_TXT = 16, QTYPE_AAAA = 28,
       QTYPE_SRV = 33, QTYPE_OPT = 41, QTYPE_SVCB = 64, QTYPE_HTTPS = 65 };

/* ---- names.c: interned query names ------------------------------------ */

/*
 * Query names are interned: every open transaction and lookup with the same
 * (lower-cased) name shares one struct name, freed when the last reference
 * goes. This keeps per-query state small (see match.h).
 */
struct name {
	uint64_t hash; /* hash_bytes(wire, len, 0) */
	uint32_t refs;
	/* one per-name record of the statistics, valid while aux_owner is
	 * theirs (names.h, name_aux): found with the name, not in a map */
	uint32_t aux_owner;
	void *aux;
	uint8_t len;
	uint8_t wire[]; /* lower-cased wire form */
};

/* ---- match.c: struct dnsmsg -> struct txn, struct lookup --------------- */

enum txn_status {
	TXN_ANSWERED = 0,
	TXN_UNANSWERED,	 /* no response within the answer window */
	TXN_OPEN_AT_END, /* capture ended before the window ran out */
	TXN_EVICTED,	 /* given up on: the open-query table was full */
};

/*
 * A frame reference a user can open in Wireshark: file + frame number.
 * Packed: 6 bytes, not 8 with two of padding. Every open query keeps two
 * (struct txn: 144 bytes instead of 152; -170 KiB of peak RSS on the bench
 * trace, no time difference in 6 alternating runs); x86 and arm64 read
 * the unaligned frame number at full speed, and nothing takes the
 * address of a field (a pointer to the whole struct is fine).
 */
struct __attribute__((packed)) frameref {
	uint16_t file;
	uint32_t frame;
};

struct lookup;

/*
 * One query and its response (or lack of one). Retransmissions of the same
 * query on the same key are folded in: first_ts is when the user started
 * waiting, last_ts the last (re)send. Owned by the matcher.
 */
struct txn {
	/* matcher bookkeeping (age list, hash for the table) */
	struct txn *older, *newer;
	uint64_t hash;
	/* pointers: report -j sends the fields from seq on to another process */
	struct name *qname;
	struct lookup *lookup;

	uint64_t seq; /* 1-based, in query order: stable across runs */
	ts_t first_ts, last_ts, resp_ts;
	struct addr client, server;
	uint16_t cport, sport;
	uint16_t id, qtype, qclass;
	uint16_t resp_flags; /* raw flags of the (first) response */
	uint16_t retrans;    /* extra sends with the same key before the answer */
	uint8_t proto;
	uint8_t status; /* enum txn_status, set when the txn is finished */
	uint8_t q_edns_do : 1, q_has_edns : 1, q_has_ecs : 1, r_has_ecs : 1,
		resp_ancount_zero : 1;
	uint8_t ecs_scope;
	uint16_t q_udp_size;
	int32_t ifindex;
	struct frameref qframe, rframe; /* first query, first response */
};

#define TXN_LATENCY_FIRST(t) ((t)->resp_ts - (t)->first_ts)
#define TXN_LATENCY_LAST(t) ((t)->resp_ts - (t)->last_ts)
#define TXN_RCODE(t) DNS_RCODE((t)->resp_flags)

/*
 * A lookup: all queries from one client for one (qname, qtype, qclass)
 * until a definitive answer, within the answer window of the first query,
 * across new ids, new source ports and other servers. Retries of a stub
 * resolver show up here as several transactions.
 */
#define LOOKUP_MAX_SENDS 16
#define LOOKUP_INLINE_SENDS 4
struct lookup {
	struct lookup *older, *newer;
	uint64_t hash;
	struct name *qname; /* before seq, as in struct txn */

	uint64_t seq;
	/* grouped by size so that no byte is padding: 176 bytes, where the
	 * fields in the order of their meaning took 184 (8 more a lookup, up
	 * to a million of them under the --max-open cap) */
	struct addr client, first_server;
	uint16_t qtype, qclass;
	uint16_t final_rcode;	/* rcode of the last response, 0xffff none */
	uint16_t first_id, first_port;
	uint8_t definitive;	/* got NOERROR/NXDOMAIN: later queries start a new lookup */
	uint8_t hashed, evicted; /* matcher bookkeeping */
	uint8_t new_id, new_port, new_server, new_proto; /* retry styles seen */
	uint8_t nsend_ts;	/* send times kept: send_off_us, below */
	int32_t ifindex;
	ts_t first_ts, last_send_ts, final_ts; /* final_ts: last response */
	uint32_t sends;		/* datagrams/messages sent, retransmissions included */
	uint32_t txns, answered, open_txns;
	struct frameref first_frame, last_frame;
	/* Send times, us after first_ts, of the first LOOKUP_MAX_SENDS sends
	 * (read them with lookup_send_off()): the first LOOKUP_INLINE_SENDS
	 * here, the rest in send_more, which the matcher allocates at the
	 * first send past them. Nearly every lookup sends once or twice, and
	 * 45,000 are alive at once on the bench trace: 16 inline (64 bytes)
	 * made struct lookup 224 bytes instead of 184, 1.8 MB. Last, so that
	 * -j can copy only the send times in use. */
	uint32_t send_off_us[LOOKUP_INLINE_SENDS];
	uint32_t *send_more; /* LOOKUP_MAX_SENDS - LOOKUP_INLINE_SENDS of them */
};

static inline uint32_t lookup_send_off(const struct lookup *l, unsigned k)
{
	return k < LOOKUP_INLINE_SENDS ? l->send_off_us[k] : l->send_more[k - LOOKUP_INLINE_SENDS];
}

#endif
