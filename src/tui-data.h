/*
 * tui-data.h: the bounded state behind dnsvet monitor's views.
 *
 * The monitor runs the normal pipeline (analyze.h) and hangs three sinks on
 * it: every decoded message (live rates and the per-second timeline, which
 * must not wait for a transaction to finish), every finished transaction
 * (counters, latency, rcodes per server, client and name, and a ring of
 * recent transactions), and nothing else. Everything here is capped: the
 * per-entity tables fall back to kmap's "other" record, the timelines keep
 * MON_TL_SECS seconds, the ring MON_RING transactions.
 *
 * Views read this state; when a filter is set (a server, a client, a name,
 * a finding), the tables are recomputed from the ring, so a filtered view
 * covers the last MON_RING transactions (the view says so when the ring has
 * wrapped).
 */
#ifndef DNSVET_TUI_DATA_H
#define DNSVET_TUI_DATA_H

#include "dnsvet.h"
#include "kmap.h"

struct detect_ctx;

#define MON_RING 65536	      /* recent transactions kept */
#define MON_TL_SECS 300	      /* seconds of timeline kept */
#define MON_MAX_SERVERS 4096  /* table caps: beyond them, "other" */
#define MON_MAX_CLIENTS 16384
#define MON_MAX_NAMES 16384
#define MON_TL_SERVERS 256    /* timeline rows kept */
#define MON_TL_CLIENTS 1024

/*
 * Latency histogram, compact (1.2 KB): exact below 16 us, then 8
 * sub-buckets per power of two (error under 7 %), up to 2^40 us.
 */
#define LHIST_N (16 + 37 * 8)
struct lhist {
	uint64_t n, max_us;
	uint32_t b[LHIST_N];
};
void lhist_add(struct lhist *h, uint64_t us);
uint64_t lhist_pct(const struct lhist *h, double pct);

/* Counters of one server, client, or (name, type). */
struct mon_ent {
	uint64_t txns, answered, unanswered, open_end, retrans;
	uint64_t rcodes[16];
	uint64_t lat_sum_us;
	struct lhist *lat; /* allocated with the first answer */
	char *text;	   /* names: presentation form (\DDD escapes) */
	/* query messages in second rsec and the one before (the rate) */
	int64_t rsec;
	uint32_t rcur, rprev;
	ts_t last;
};

enum { TL_Q, TL_A, TL_U, TL_NCOLS };

/* Per-second queries, answers, unanswered, for the last MON_TL_SECS s. */
struct mon_tl {
	int64_t head; /* newest second written, 0 = none */
	uint64_t total_q;
	uint32_t v[MON_TL_SECS][TL_NCOLS];
};
uint32_t mon_tl_get(const struct mon_tl *tl, int64_t sec, int col);

/* A finished transaction as the ring keeps it. */
struct mon_txn {
	uint64_t seq, ring_no; /* ring_no: 1-based push count */
	struct name *qname;    /* a reference of our own */
	ts_t first_ts, last_ts, resp_ts;
	struct addr client, server;
	uint16_t cport, sport, id, qtype, resp_flags, retrans;
	uint8_t proto, status, retried;
	uint32_t lookup_txns;
	int32_t ifindex;
	struct frameref qframe, rframe;
};

enum mon_kind { MON_SERVERS, MON_CLIENTS, MON_NAMES, MON_NKINDS };

struct mon_filter {
	int has_server, has_client;
	struct addr server, client;
	char name[256];	 /* presentation text; "" = none */
	int name_exact;	 /* 1: the whole name; 0: substring or glob */
	int detector;	 /* index in detectors[], -1 = none */
};

struct mon_data {
	struct kmap ent[MON_NKINDS];	/* of struct mon_ent */
	struct kmap tl_servers, tl_clients; /* of struct mon_tl */
	struct mon_tl tl_all;
	struct mon_txn *ring;
	uint64_t pushed; /* transactions ever pushed */
	uint64_t gen;	 /* bumped on every change */
};

void mon_data_init(struct mon_data *d);
void mon_data_msg(struct mon_data *d, const struct dnsmsg *m);
void mon_data_txn(struct mon_data *d, const struct txn *t);
void mon_data_free(struct mon_data *d);

/* Transactions in the ring, and the i-th oldest of them. */
uint32_t mon_ring_count(const struct mon_data *d);
const struct mon_txn *mon_ring_get(const struct mon_data *d, uint32_t i);

/* Query messages in the last full second before now_sec. */
uint32_t mon_ent_rate(const struct mon_ent *e, int64_t now_sec);

/* Table keys: an address (family byte + 4 or 16 bytes), or for names the
 * qtype (2 bytes, host order) then the wire name. */
size_t mon_addr_key(const struct addr *a, uint8_t *k);
void mon_key_addr(const uint8_t *k, size_t klen, struct addr *a);

int mon_filter_active(const struct mon_filter *f);
/* Does the ring transaction pass the filter? dc gives finding tags. */
int mon_filter_txn(const struct mon_filter *f, const struct mon_txn *x,
		   const struct detect_ctx *dc);
/* Does a presentation name pass the name part of the filter? */
int mon_filter_name(const struct mon_filter *f, const char *name);

/*
 * Recompute one table from the ring under a filter into out (initialised
 * here; free with mon_table_free). Rates count the transactions whose
 * first query fell in the last full second (the ring is in finishing
 * order, so this is approximate for transactions that finished late).
 */
void mon_aggregate(const struct mon_data *d, const struct mon_filter *f,
		   const struct detect_ctx *dc, enum mon_kind kind, struct kmap *out);
void mon_table_free(struct kmap *m);

#endif
