/*
 * match.h: pair queries with responses, fold retransmissions, group lookups.
 *
 * A response answers a query when transport, client address and port,
 * server address and port, DNS id AND question (qname case-insensitive,
 * qtype, qclass) agree; glibc ignores a reply whose question differs, and so
 * do we ("mismatched"). A query sent again on the same key before it is
 * answered is a retransmission of the same transaction (glibc retries on
 * the same socket with the same id).
 *
 * Finished transactions and lookups are handed to the callbacks as const;
 * the matcher frees them when the callback returns. A transaction's
 * lookup pointer is valid during its callback only. A lookup is handed on
 * as soon as it can take no more queries and has none open: at once after
 * a NOERROR or NXDOMAIN answer to its last open query, otherwise when the
 * answer window after its last send has passed (or at a cap, or the end).
 *
 * Memory: one struct txn per open query (144 bytes, at most 160 asserted
 * in match.c, plus a share of an interned name and 21 to 43 bytes of hash
 * slot), at most cfg.max_txns of them; when the table is full the oldest
 * open query is given up on (stats.evicted_txns). Lookups (176 bytes, 48
 * more past their fourth send) are capped the same way
 * (evicted_lookups). Answered queries leave a 12-byte tombstone
 * for the answer window so a second response is recognised as a duplicate
 * and not as an orphan, at most cfg.max_txns of them (evicted_tombs).
 */
#ifndef DNSVET_MATCH_H
#define DNSVET_MATCH_H

#include "dnsvet.h"

struct match_config {
	ts_t window;	      /* --answer-window, default 10 s */
	uint32_t max_txns;    /* open queries kept at once */
	uint32_t max_lookups; /* lookups kept at once */
};

#define MATCH_EXAMPLES 16

struct match_example {
	struct frameref frame;
	uint64_t txn_seq; /* for mismatched: the open query it hit */
};

struct match_stats {
	uint64_t queries;	  /* query messages, retransmissions included */
	uint64_t responses;	  /* response messages */
	uint64_t txns;		  /* distinct transactions */
	uint64_t matched;	  /* transactions answered */
	uint64_t unanswered;
	uint64_t open_at_end;
	uint64_t orphans;	  /* responses to no query we saw, not early */
	uint64_t before_capture;  /* orphans within the window after the start */
	uint64_t mismatched;	  /* right key, wrong question */
	uint64_t retransmissions;
	uint64_t duplicates;	  /* second and later responses */
	uint64_t iface_copies;	  /* one datagram captured on two interfaces */
	uint64_t evicted_txns, evicted_lookups;
	uint64_t evicted_tombs;	  /* answered keys forgotten early (cap) */
	uint64_t lookups;
	uint64_t max_open_txns, max_open_lookups;
	uint32_t nmismatch_ex, norphan_ex;
	struct match_example mismatch_ex[MATCH_EXAMPLES];
	struct match_example orphan_ex[MATCH_EXAMPLES];
};

typedef void (*txn_fn)(void *ctx, const struct txn *t);
typedef void (*lookup_fn)(void *ctx, const struct lookup *l);

struct matcher;

void match_config_default(struct match_config *cfg);
struct matcher *matcher_new(const struct match_config *cfg, txn_fn tf, lookup_fn lf, void *ctx);
void matcher_msg(struct matcher *mt, const struct dnsmsg *m);
/* A message with these addresses, ports and id is coming: start loading
 * the slot of the open-query table it will look at (a hint, no effect). */
void matcher_prefetch(struct matcher *mt, uint8_t proto, const struct addr *src,
		      uint16_t sport, const struct addr *dst, uint16_t dport, uint16_t id,
		      int response);
/* Let time pass without traffic (live capture idle ticks). */
void matcher_advance(struct matcher *mt, ts_t now);
/* End of input: finish every open transaction and lookup. */
void matcher_finish(struct matcher *mt);
const struct match_stats *matcher_stats(const struct matcher *mt);
/* -j: take the stats of the matcher that ran in another process. */
void matcher_set_stats(struct matcher *mt, const struct match_stats *st);
size_t matcher_open_txns(const struct matcher *mt);
void matcher_free(struct matcher *mt);

#endif
