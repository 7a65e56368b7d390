/*
 * tests/unit-match.c: the matcher's timing rules: retransmissions, question
 * checks, duplicates, orphans, the answer window, lookups and caps.
 */
#include "unit.h"
#include "match.h"
#include "ptrmap.h"
#include "names.h"
#include "stats.h"
#include "detect.h"

#include <stdio.h>

static struct txn tx[64];
static struct lookup lk[64];
static int ntx, nlk;

static void on_txn(void *ctx, const struct txn *t)
{
	(void)ctx;
	if (ntx < 64)
		tx[ntx++] = *t;
}

/* send times, kept here: a lookup's send_more is the matcher's, freed
 * when the callback returns */
static uint32_t lk_send[64][LOOKUP_MAX_SENDS];

static void on_lookup(void *ctx, const struct lookup *l)
{
	unsigned k;

	(void)ctx;
	if (nlk < 64) {
		for (k = 0; k < l->nsend_ts; k++)
			lk_send[nlk][k] = lookup_send_off(l, k);
		lk[nlk] = *l;
		lk[nlk++].send_more = NULL;
	}
}

/* send k of the lookup with this seq, in us after its first */
static long long lk_send_off(uint64_t seq, unsigned k)
{
	int i;

	for (i = 0; i < nlk; i++)
		if (lk[i].seq == seq)
			return k < lk[i].nsend_ts ? (long long)lk_send[i][k] : -1;
	return -1;
}

static struct matcher *mt;

/* Lookups are reported when they end, not in creation order: find one. */
static const struct lookup *lk_seq(uint64_t seq)
{
	static const struct lookup none;
	int i;

	for (i = 0; i < nlk; i++)
		if (lk[i].seq == seq)
			return &lk[i];
	return &none;
}

static void reset_caps(uint32_t txns, uint32_t lookups)
{
	struct match_config cfg;

	match_config_default(&cfg);
	if (txns)
		cfg.max_txns = txns;
	if (lookups)
		cfg.max_lookups = lookups;
	matcher_free(mt);
	mt = matcher_new(&cfg, on_txn, on_lookup, NULL);
	ntx = nlk = 0;
}

static void reset(uint32_t cap)
{
	reset_caps(cap, cap);
}

/* send a message: q = 1 for a query from client port cport */
static void msg(int q, ts_t ms, uint16_t id, uint16_t cport, const char *name, uint16_t qtype,
		uint16_t rcode, uint32_t server)
{
	uint8_t wire[512];
	struct dnsmsg m;
	size_t n = mk_dns(wire, id, (uint16_t)(q ? 0x0100 : 0x8180 | rcode), name, qtype, 0);
	struct addr cli = { 4, { 10, 0, 0, 2 } }, srv = { 4, { 10, 0, 0, 0 } };

	srv.a[3] = (uint8_t)server;
	memset(&m, 0, sizeof(m));
	if (dns_parse(wire, (uint32_t)n, &m) != DP_NONE)
		abort();
	m.ts = ms * NS_PER_MS;
	m.proto = 17;
	m.ifindex = -1;
	m.frame = (uint64_t)ms;
	m.src = q ? cli : srv;
	m.dst = q ? srv : cli;
	m.sport = q ? cport : 53;
	m.dport = q ? 53 : cport;
	matcher_msg(mt, &m);
}

#define Q(ms, id, port, name, qt) msg(1, ms, id, port, name, qt, 0, 1)
#define R(ms, id, port, name, qt, rc) msg(0, ms, id, port, name, qt, rc, 1)

/* ptrmap: random puts and deletes with colliding hashes, checked against
 * a plain array (deletion moves entries back; none may get lost) */
static void test_ptrmap(void)
{
	static int present[4096];
	static int obj[4096];
	struct ptrmap m;
	uint64_t r = 1;
	int i, k, lost = 0, ghosts = 0;

	ptrmap_init(&m, 4096);
	for (i = 0; i < 200000; i++) {
		r = r * 6364136223846793005ULL + 1442695040888963407ULL;
		k = (int)((r >> 33) % 4096);
		/* few distinct hashes, clustered: long runs, wrap-around */
		if (present[k])
			ptrmap_del(&m, (uint64_t)(k % 97) * 1021, &obj[k]);
		else
			ptrmap_put(&m, (uint64_t)(k % 97) * 1021, &obj[k]);
		present[k] = !present[k];
	}
	for (k = 0; k < 4096; k++) {
		uint64_t h = (uint64_t)(k % 97) * 1021;
		uint32_t it = ptrmap_first(&m, h);
		int *x, found = 0;

		while ((x = ptrmap_next(&m, h, &it)))
			found |= x == &obj[k];
		lost += present[k] && !found;
		ghosts += !present[k] && found;
	}
	CHECK_EQ("ptrmap: no entry lost", 0, lost);
	CHECK_EQ("ptrmap: no entry left behind", 0, ghosts);
	ptrmap_free(&m);
}

/* client numbers (detect_client_number()): dense from 0 in the order
 * addresses are first seen, the same when asked again, IPv4 and IPv6 of
 * the same bytes apart, and DETECT_NO_CLIENT past DETECT_MAX_CLIENTS
 * without forgetting the numbered ones */
static void test_client_numbers(void)
{
	struct detect_config cfg = { .only = "none" };
	struct detect_ctx *dc = detect_new(&cfg);
	struct addr a;
	uint32_t i, wrong = 0, again = 0;

	memset(&a, 0, sizeof(a));
	for (i = 0; i < DETECT_MAX_CLIENTS + 1000; i++) {
		uint32_t want = i < DETECT_MAX_CLIENTS ? i : DETECT_NO_CLIENT;

		a.family = i & 1 ? 6 : 4;
		memcpy(a.a, &i, sizeof(i));
		detect_client_prefetch(dc, &a);
		wrong += detect_client_number(dc, &a) != want;
	}
	for (i = 0; i < DETECT_MAX_CLIENTS + 1000; i += 7) {
		uint32_t want = i < DETECT_MAX_CLIENTS ? i : DETECT_NO_CLIENT;

		a.family = i & 1 ? 6 : 4;
		memcpy(a.a, &i, sizeof(i));
		again += detect_client_number(dc, &a) != want;
	}
	CHECK_EQ("client numbers: dense, in order, capped", 0, wrong);
	CHECK_EQ("client numbers: the same when asked again", 0, again);
	i = 2; /* numbered as IPv4 (even): as IPv6 it is another client */
	a.family = 6;
	memcpy(a.a, &i, sizeof(i));
	CHECK_EQ("client numbers: family counts", DETECT_NO_CLIENT, detect_client_number(dc, &a));
	detect_free(dc);
}

/* per-key counters are 32 bits wide (16 per rcode) and carry into a side
 * map: the counts read back exact past 2^32 (2^16) */
static void test_stats_carry(void)
{
	struct stats s;
	struct txn t;
	struct ent_stats e;
	struct kmap_ent **arr;
	uint8_t w[] = { 1, 'a', 0 };
	int i;

	stats_init(&s);
	memset(&t, 0, sizeof(t));
	t.qname = name_intern(w, sizeof(w));
	t.client.family = t.server.family = 4;
	t.qtype = 1;
	t.qclass = 1;
	t.status = TXN_ANSWERED;
	t.resp_flags = 2; /* SERVFAIL */
	t.retrans = 7;
	t.ifindex = -1;
	stats_txn(&s, &t, 0);
	arr = kmap_entries(&s.qnames);
	/* two short of wrapping: the next three transactions carry */
	((struct name_rec *)kmap_val(arr[0]))->c.answered = UINT32_MAX - 1;
	((struct name_rec *)kmap_val(arr[0]))->rcodes[2] = UINT16_MAX - 1;
	((struct name_rec *)kmap_val(arr[0]))->c.retrans = UINT32_MAX - 1;
	for (i = 0; i < 3; i++)
		stats_txn(&s, &t, 0);
	stats_ent(&s, &s.qnames, kmap_val(arr[0]), &e);
	CHECK_EQ("stats carry: answered past 2^32", (long long)UINT32_MAX + 2, e.answered);
	CHECK_EQ("stats carry: SERVFAIL past 2^16", (long long)UINT16_MAX + 2, e.rcodes[2]);
	CHECK_EQ("stats carry: retransmissions past 2^32", (long long)UINT32_MAX - 1 + 21,
		 e.retrans);
	CHECK_EQ("stats carry: transactions", 4, e.txns);
	CHECK_EQ("stats carry: NOERROR untouched", 0, e.rcodes[0]);
	/* a name's rare rcodes (past REFUSED) are counted beside its record */
	t.resp_flags = 9; /* NOTAUTH */
	stats_txn(&s, &t, 0);
	stats_txn(&s, &t, 0);
	stats_ent(&s, &s.qnames, kmap_val(arr[0]), &e);
	CHECK_EQ("stats names: a rare rcode counted", 2, e.rcodes[9]);
	CHECK_EQ("stats names: ... and only that one", 0, e.rcodes[10]);
	CHECK_EQ("stats names: ... answered too", (long long)UINT32_MAX + 4, e.answered);
	free(arr);
	name_unref(t.qname);
	stats_free(&s);
}

int main(void)
{
	const struct match_stats *st;

	test_ptrmap();
	test_stats_carry();
	test_client_numbers();

	/* a plain pair; the qname's case does not matter */
	reset(0);
	Q(1000, 1, 5000, "Example.COM", 1);
	R(1012, 1, 5000, "example.com", 1, 0);
	CHECK_EQ("pair: answered", 1, ntx);
	CHECK_EQ("pair: status", TXN_ANSWERED, tx[0].status);
	CHECK_EQ("pair: latency 12 ms", 12 * NS_PER_MS, TXN_LATENCY_FIRST(&tx[0]));

	/* glibc retransmission: same id and port 5 s later, answered after */
	reset(0);
	Q(1000, 2, 5001, "a.example", 1);
	Q(6000, 2, 5001, "a.example", 1);
	R(6003, 2, 5001, "a.example", 1, 0);
	st = matcher_stats(mt);
	CHECK_EQ("retrans: one transaction", 1, ntx);
	CHECK_EQ("retrans: counted", 1, tx[0].retrans);
	CHECK_EQ("retrans: latency from first send", 5003 * NS_PER_MS, TXN_LATENCY_FIRST(&tx[0]));
	CHECK_EQ("retrans: latency from last send", 3 * NS_PER_MS, TXN_LATENCY_LAST(&tx[0]));
	CHECK_EQ("retrans: queries count both sends", 2, st->queries);

	/* right id, other question: mismatched, the query stays open */
	reset(0);
	Q(1000, 3, 5002, "b.example", 1);
	R(1001, 3, 5002, "evil.example", 1, 0);
	st = matcher_stats(mt);
	CHECK_EQ("mismatch: counted", 1, st->mismatched);
	CHECK_EQ("mismatch: not answered", 0, ntx);
	Q(30000, 99, 6000, "later.example", 1); /* time passes */
	CHECK_EQ("mismatch: unanswered after the window", TXN_UNANSWERED, ntx ? tx[0].status : -1);
	/* qtype differs: mismatched too */
	reset(0);
	Q(1000, 4, 5003, "c.example", 1);
	R(1001, 4, 5003, "c.example", 28, 0);
	CHECK_EQ("mismatch qtype: counted", 1, matcher_stats(mt)->mismatched);

	/* duplicates and orphans */
	reset(0);
	Q(1000, 5, 5004, "d.example", 1);
	R(1002, 5, 5004, "d.example", 1, 0);
	R(1003, 5, 5004, "d.example", 1, 0);
	R(2000, 77, 5005, "x.example", 1, 0);	 /* early: query before capture */
	R(20000, 78, 5005, "y.example", 1, 0); /* later: orphan */
	st = matcher_stats(mt);
	CHECK_EQ("duplicate: counted", 1, st->duplicates);
	CHECK_EQ("early response: before capture", 1, st->before_capture);
	CHECK_EQ("late response: orphan", 1, st->orphans);

	/* unanswered vs open at end */
	reset(0);
	Q(1000, 6, 5006, "e.example", 1);
	Q(12000, 7, 5007, "f.example", 1);
	Q(20000, 8, 5008, "g.example", 1);
	matcher_finish(mt);
	st = matcher_stats(mt);
	CHECK_EQ("window: old query unanswered", 1, st->unanswered);
	CHECK_EQ("window: young queries open at end", 2, st->open_at_end);

	/* lookups: a retry with a new id and port joins; an answer ends it */
	reset(0);
	Q(1000, 10, 5010, "h.example", 1);
	Q(3000, 11, 5011, "h.example", 1);
	R(3001, 11, 5011, "h.example", 1, 0);
	Q(4000, 12, 5012, "h.example", 1); /* after a definitive answer: new lookup */
	R(4001, 12, 5012, "h.example", 1, 0);
	CHECK_EQ("lookups: a definitive answer with nothing open ends one at once", 1, nlk);
	CHECK_EQ("lookups: ... the second", 2, nlk ? lk[0].seq : 0);
	matcher_finish(mt);
	CHECK_EQ("lookups: two", 2, nlk);
	CHECK_EQ("lookups: first has two txns", 2, lk_seq(1)->txns);
	CHECK_EQ("lookups: retry style new id", 1, lk_seq(1)->new_id);
	CHECK_EQ("lookups: retry style new port", 1, lk_seq(1)->new_port);
	CHECK_EQ("lookups: retry sent 2 s later", 2000000, lk_send_off(1, 1));
	/* send times past the inline ones (LOOKUP_INLINE_SENDS), up to
	 * LOOKUP_MAX_SENDS: 20 sends of one query, 0.5 s apart, unanswered */
	reset(0);
	{
		int k;

		for (k = 0; k < 20; k++)
			Q(1000 + 500 * k, (uint16_t)(30 + k), 5030, "many.example", 1);
	}
	matcher_finish(mt);
	CHECK_EQ("send times: one lookup", 1, nlk);
	CHECK_EQ("send times: 20 sends counted", 20, nlk ? lk[0].sends : 0);
	CHECK_EQ("send times: the first LOOKUP_MAX_SENDS kept", LOOKUP_MAX_SENDS,
		 nlk ? lk[0].nsend_ts : 0);
	CHECK_EQ("send times: the fourth (inline)", 1500000, lk_send_off(1, 3));
	CHECK_EQ("send times: the fifth (past inline)", 2000000, lk_send_off(1, 4));
	CHECK_EQ("send times: the last kept", 7500000, lk_send_off(1, LOOKUP_MAX_SENDS - 1));
	/* SERVFAIL does not end a lookup: the same A again joins it */
	reset(0);
	Q(1000, 20, 5020, "keydb-0.keydb", 1);
	R(1001, 20, 5020, "keydb-0.keydb", 1, 2);
	Q(6001, 20, 5020, "keydb-0.keydb", 1);
	R(6002, 20, 5020, "keydb-0.keydb", 1, 2);
	matcher_finish(mt);
	CHECK_EQ("servfail retry: one lookup", 1, nlk);
	CHECK_EQ("servfail retry: two transactions", 2, nlk ? lk[0].txns : 0);
	CHECK_EQ("servfail retry: same id same port is a new txn after an answer", 2, ntx);

	/* the open-query cap evicts the oldest, counted */
	reset(16);
	{
		int i;

		for (i = 0; i < 20; i++)
			Q(1000 + i, (uint16_t)(100 + i), (uint16_t)(7000 + i), "cap.example", 1);
	}
	CHECK_EQ("cap: evictions counted", 4, matcher_stats(mt)->evicted_txns);
	CHECK_EQ("cap: evicted reported as such", TXN_EVICTED, ntx ? tx[0].status : -1);
	/* the lookup cap: the oldest lookups go, still open, each reported once */
	reset_caps(64, 16);
	{
		char name[32];
		int i;

		for (i = 0; i < 20; i++) {
			snprintf(name, sizeof(name), "l%d.example", i);
			Q(1000 + i, (uint16_t)(200 + i), (uint16_t)(8000 + i), name, 1);
		}
		R(1100, 200, 8000, "l0.example", 1, 0); /* its lookup was evicted */
		matcher_finish(mt);
	}
	CHECK_EQ("lookup cap: evictions counted", 4, matcher_stats(mt)->evicted_lookups);
	CHECK_EQ("lookup cap: every lookup reported once", 20, nlk);
	CHECK_EQ("lookup cap: the query of an evicted lookup still matches", 1,
		 matcher_stats(mt)->matched);

	/* duplicates are recognised after thousands of answers (the ring of
	 * answered keys grows and is indexed only when a lookup needs it) */
	reset(0);
	{
		char name[32];
		int i;

		for (i = 0; i < 3000; i++) {
			snprintf(name, sizeof(name), "d%d.example", i);
			Q(1000 + i / 10, (uint16_t)i, (uint16_t)(9000 + i % 100), name, 1);
			R(1001 + i / 10, (uint16_t)i, (uint16_t)(9000 + i % 100), name, 1, 0);
			if (i == 1500) /* a search halfway builds the index early */
				R(1002 + i / 10, 1, 9001, "d1.example", 1, 0);
		}
		R(1400, 7, 9007, "d7.example", 1, 0);
		R(1400, 2999, 9099, "d2999.example", 1, 0);
		R(1400, 2999, 9099, "nothing.example", 1, 0);
	}
	st = matcher_stats(mt);
	CHECK_EQ("tombs: duplicates found across growth", 3, st->duplicates);
	CHECK_EQ("tombs: unknown answer is no duplicate", 1, st->before_capture);

	/* tomb times are kept modulo 2^32 microseconds (71.6 minutes): an
	 * answer repeated that long plus 1 s later is no duplicate, however
	 * the truncated times compare */
	reset(0);
	Q(1000, 3, 9003, "gap.example", 1);
	R(1001, 3, 9003, "gap.example", 1, 0);
	R(1002, 3, 9003, "gap.example", 1, 0);
	Q(1001 + 4294967 + 1000, 4, 9004, "other.example", 1);
	R(1001 + 4294967 + 1000, 3, 9003, "gap.example", 1, 0);
	st = matcher_stats(mt);
	CHECK_EQ("tombs: duplicate within the window", 1, st->duplicates);
	CHECK_EQ("tombs: after 2^32 us + 1 s, an orphan", 1, st->orphans);
	/* and a window of two hours still finds a duplicate 80 minutes on */
	{
		struct match_config cfg;

		match_config_default(&cfg);
		cfg.window = (ts_t)7200 * NS_PER_SEC;
		matcher_free(mt);
		mt = matcher_new(&cfg, on_txn, on_lookup, NULL);
		Q(1000, 5, 9005, "long.example", 1);
		R(1001, 5, 9005, "long.example", 1, 0);
		Q(1000 + 80 * 60000, 6, 9006, "other.example", 1);
		R(1001 + 80 * 60000, 5, 9005, "long.example", 1, 0);
		st = matcher_stats(mt);
		CHECK_EQ("tombs: 2 h window, duplicate 80 min later", 1, st->duplicates);
	}
	matcher_free(mt);
	return unit_failed;
}
