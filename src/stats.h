/*
 * stats.h: the counters behind the report: latency histograms, rcodes,
 * per server, client, qtype, qname and interface, and EDNS statistics.
 *
 * A sink of the matcher: stats_txn() for each finished transaction,
 * stats_lookup() for each finished lookup. Bounded: each per-key table
 * has a cap, beyond which keys are counted under "other".
 */
#ifndef DNSVET_STATS_H
#define DNSVET_STATS_H

#include "dnsvet.h"
#include "detkit.h"
#include "kmap.h"

/*
 * Latency histogram in microseconds: exact below 128 us, then 64
 * sub-buckets per power of two (relative error under 1.6 %). Percentiles
 * are reported as the bucket's midpoint; max is exact.
 */
#define HIST_SUB 64
#define HIST_BUCKETS (2 * HIST_SUB + 34 * HIST_SUB)
struct hist {
	uint64_t n;
	uint64_t max_us;
	uint64_t sum_us;
	uint32_t *b; /* HIST_BUCKETS counters, allocated on first add */
};
void hist_add(struct hist *h, uint64_t us);
uint64_t hist_pct(const struct hist *h, double pct);
void hist_free(struct hist *h);

/*
 * Per server, client, qtype, name and interface, as kept: 64 bytes, with
 * 32-bit counters (txns, the sort key, has 64) and 16-bit ones per rcode.
 * The per-name map holds up to 50,000 of these; with 64-bit counters and
 * the histogram inline they were 200 bytes, 13 MB of a 52 MB run on the
 * bench trace, and 96 with 32-bit rcode counters (1.6 MB more). A counter
 * that wraps adds a carry to a small side map (stats.carries), so the
 * counts stay exact; read them with stats_ent(). A busy server's NOERROR
 * counter wraps every 65,536 answers: a map update that often costs
 * nothing measurable.
 */
/* what both kinds of record count, first in each (cmp_ent() sorts by txns) */
struct ent_counts {
	uint64_t txns;
	uint32_t answered, unanswered, open_at_end, retrans;
};

struct ent_rec {
	struct ent_counts c;
	uint16_t rcodes[16];
	struct hist *lat; /* servers and qtypes: allocated with the first */
};

/*
 * Per name, as kept: 40 bytes. The per-name map holds 50,000 of these on
 * the bench trace, so a name keeps no latency histogram (the reports show
 * none per name) and 16-bit counters for the six rcodes names get
 * (NOERROR to REFUSED); the rare others are counted in stats.name_rcodes,
 * keyed by record and rcode. As the full record, it was 64 bytes: 1.2 MB
 * of the peak.
 */
#define NAME_RCODES 6
struct name_rec {
	struct ent_counts c;
	uint16_t rcodes[NAME_RCODES];
};

/* The same, as read. Messages sent = txns + retrans. */
struct ent_stats {
	uint64_t txns, answered;
	uint64_t rcodes[16];
	uint64_t unanswered, open_at_end, retrans;
	struct hist lat; /* empty if not kept */
};

struct edns_qt;

struct stats {
	struct hist lat_first; /* from the first send: what the user waited */
	struct hist lat_last;  /* from the last send */
	uint64_t rcodes[16];
	uint64_t tc_udp; /* UDP answers with TC=1 */
	uint64_t txn_udp, txn_tcp;
	uint64_t evicted;
	struct kmap servers, clients, qtypes, qnames, ifaces;
	/* EDNS, per qtype: queries with EDNS, with DO, with ECS; answers with ECS */
	struct kmap edns_qtype;
	struct kmap carries; /* address of a wrapped ent_rec or name_rec counter ->
			     * wraps (units of 2^32, 2^16 for the rcode counters) */
	struct kmap name_rcodes; /* (name_rec address, rcode >= NAME_RCODES) -> count */
	uint64_t q_edns, q_do, q_ecs, r_ecs;
	/* lookups */
	uint64_t lookups, lookups_answered, lookups_retried, lookups_failed;
	/* the qtypes and edns_qtype records of qtypes below 256, found
	 * without a map lookup (two of the six per transaction) */
	struct {
		struct ent_rec *ent;
		struct edns_qt *edns;
	} qt_cache[256];
	uint32_t name_owner; /* the qnames record of a name is its name_aux() */
	struct dk_byid client_ix; /* clients records by client number */
};

struct edns_qt {
	uint64_t txns, edns, do_bit, ecs, resp_ecs;
};

void stats_init(struct stats *s);
/* client: a small number for t->client, the same for the same address
 * all run long (detect_client_number()), or UINT32_MAX */
void stats_txn(struct stats *s, const struct txn *t, uint32_t client);
/* Start loading the records stats_txn() will update (a hint). */
void stats_prefetch(const struct stats *s, const struct txn *t, uint32_t client);
/* The look-ahead's second stage, some events later (analyze.c). */
void stats_prefetch_deep(const struct stats *s, const struct txn *t);
void stats_lookup(struct stats *s, const struct lookup *l);
void stats_free(struct stats *s);
/* The counts of rec, a value of m, one of the per-key maps of s. */
void stats_ent(const struct stats *s, const struct kmap *m, const void *rec,
	       struct ent_stats *out);

/* Sorted views for the report: the first top entries by txns, descending,
 * then key (*n of them: min(top, count)). Caller frees the array. */
struct kmap_ent **stats_sorted(const struct kmap *m, size_t top, size_t *n);

#endif
