/*
 * stats.c: see stats.h.
 */
#include "config.h"
#include "stats.h"
#include "names.h"

#include <stdlib.h>
#include <string.h>

static int hist_index(uint64_t v)
{
	int msb, shift;

	if (v < 2 * HIST_SUB)
		return (int)v;
	msb = 63 - __builtin_clzll(v);
	shift = msb - 6; /* keep 7 significant bits: 64..127 after the shift */
	if (shift > 34)
		return HIST_BUCKETS - 1;
	return 2 * HIST_SUB + (shift - 1) * HIST_SUB + (int)((v >> shift) - HIST_SUB);
}

static uint64_t hist_value(int i)
{
	int shift;
	uint64_t lo;

	if (i < 2 * HIST_SUB)
		return (uint64_t)i;
	shift = (i - 2 * HIST_SUB) / HIST_SUB + 1;
	lo = ((uint64_t)((i - 2 * HIST_SUB) % HIST_SUB) + HIST_SUB) << shift;
	return lo + ((uint64_t)1 << shift) / 2; /* midpoint */
}

void hist_add(struct hist *h, uint64_t us)
{
	if (!h->b)
		h->b = xcalloc(HIST_BUCKETS, sizeof(*h->b));
	h->b[hist_index(us)]++;
	h->n++;
	h->sum_us += us;
	if (us > h->max_us)
		h->max_us = us;
}

uint64_t hist_pct(const struct hist *h, double pct)
{
	uint64_t want, seen = 0;
	int i;

	if (!h->n)
		return 0;
	want = (uint64_t)(pct / 100.0 * (double)h->n + 0.999999);
	if (want < 1)
		want = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want) {
			uint64_t v = hist_value(i);

			return v > h->max_us ? h->max_us : v;
		}
	}
	return h->max_us;
}

void hist_free(struct hist *h)
{
	free(h->b);
	h->b = NULL;
}

void stats_init(struct stats *s)
{
	memset(s, 0, sizeof(*s));
	kmap_init(&s->servers, sizeof(struct ent_rec), 4096);
	kmap_init(&s->clients, sizeof(struct ent_rec), 65536);
	kmap_init(&s->qtypes, sizeof(struct ent_rec), 1024);
	kmap_init(&s->qnames, sizeof(struct name_rec), 50000);
	kmap_init(&s->ifaces, sizeof(struct ent_rec), 1024);
	kmap_init(&s->edns_qtype, sizeof(struct edns_qt), 1024);
	/* one entry per 2^32 counts: never near its cap */
	kmap_init(&s->carries, sizeof(uint64_t), SIZE_MAX);
	kmap_init(&s->name_rcodes, sizeof(uint64_t), SIZE_MAX); /* one per name and rare rcode */
	s->name_owner = name_aux_owner();
}

static void carry(struct stats *s, const void *c)
{
	uintptr_t k = (uintptr_t)c;

	(*(uint64_t *)kmap_get(&s->carries, &k, sizeof(k), NULL))++;
}

static inline void cnt_add(struct stats *s, uint32_t *c, uint32_t v)
{
	uint32_t old = *c;

	*c = old + v;
	if (UNLIKELY(*c < old))
		carry(s, c);
}

/* the rcode counters, by one */
static inline void cnt16_inc(struct stats *s, uint16_t *c)
{
	if (UNLIKELY(!++*c))
		carry(s, c);
}

static uint64_t wraps_of(const struct stats *s, const void *c)
{
	uintptr_t k = (uintptr_t)c;
	const uint64_t *wraps = s->carries.count ? kmap_find(&s->carries, &k, sizeof(k)) : NULL;

	return wraps ? *wraps : 0;
}

static uint64_t cnt_get(const struct stats *s, const uint32_t *c)
{
	return *c + (wraps_of(s, c) << 32);
}

static uint64_t cnt16_get(const struct stats *s, const uint16_t *c)
{
	return *c + (wraps_of(s, c) << 16);
}

/* the key of a rare rcode count of a name record */
struct rare_key {
	uintptr_t rec;
	uint16_t rcode;
};

static size_t rare_key(struct rare_key *k, const struct name_rec *e, int rcode)
{
	memset(k, 0, sizeof(*k));
	k->rec = (uintptr_t)e;
	k->rcode = (uint16_t)rcode;
	return sizeof(*k);
}

/* Zero out and fill in the counts both kinds of record keep. */
static void counts_get(const struct stats *s, const struct ent_counts *c, struct ent_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->txns = c->txns;
	out->answered = cnt_get(s, &c->answered);
	out->unanswered = cnt_get(s, &c->unanswered);
	out->open_at_end = cnt_get(s, &c->open_at_end);
	out->retrans = cnt_get(s, &c->retrans);
}

static void name_ent(const struct stats *s, const struct name_rec *e, struct ent_stats *out)
{
	struct rare_key k;
	const uint64_t *c;
	int i;

	counts_get(s, &e->c, out);
	for (i = 0; i < NAME_RCODES; i++)
		out->rcodes[i] = cnt16_get(s, &e->rcodes[i]);
	for (i = NAME_RCODES; i < 16 && s->name_rcodes.count; i++)
		if ((c = kmap_find(&s->name_rcodes, &k, rare_key(&k, e, i))))
			out->rcodes[i] = *c;
}

void stats_ent(const struct stats *s, const struct kmap *m, const void *rec,
	       struct ent_stats *out)
{
	const struct ent_rec *e = rec;
	int i;

	if (m == &s->qnames) {
		name_ent(s, rec, out);
		return;
	}
	counts_get(s, &e->c, out);
	for (i = 0; i < 16; i++)
		out->rcodes[i] = cnt16_get(s, &e->rcodes[i]);
	if (e->lat)
		out->lat = *e->lat;
}

/* Count t in what both kinds of record keep; 1 if it was answered. */
static int counts_add(struct stats *s, struct ent_counts *c, const struct txn *t)
{
	c->txns++;
	if (t->retrans)
		cnt_add(s, &c->retrans, t->retrans);
	switch (t->status) {
	case TXN_ANSWERED: cnt_add(s, &c->answered, 1); return 1;
	case TXN_UNANSWERED: cnt_add(s, &c->unanswered, 1); break;
	case TXN_OPEN_AT_END: cnt_add(s, &c->open_at_end, 1); break;
	}
	return 0;
}

static void ent_add(struct stats *s, struct ent_rec *e, const struct txn *t, int with_lat)
{
	if (!counts_add(s, &e->c, t))
		return;
	cnt16_inc(s, &e->rcodes[TXN_RCODE(t)]);
	if (with_lat) {
		if (!e->lat)
			e->lat = xcalloc(1, sizeof(*e->lat));
		hist_add(e->lat, (uint64_t)(TXN_LATENCY_FIRST(t) / NS_PER_US));
	}
}

static void name_add(struct stats *s, struct name_rec *e, const struct txn *t)
{
	struct rare_key k;
	int rc;

	if (!counts_add(s, &e->c, t))
		return;
	rc = TXN_RCODE(t);
	if (rc < NAME_RCODES)
		cnt16_inc(s, &e->rcodes[rc]);
	else
		(*(uint64_t *)kmap_get(&s->name_rcodes, &k, rare_key(&k, e, rc), NULL))++;
}

/* The records of a qtype in both per-qtype maps. */
static void qtype_recs(struct stats *s, uint16_t qt, struct ent_rec **ent, struct edns_qt **eq)
{
	int o1, o2;

	if (qt < ARRAY_SIZE(s->qt_cache) && s->qt_cache[qt].ent) {
		*ent = s->qt_cache[qt].ent;
		*eq = s->qt_cache[qt].edns;
		return;
	}
	*ent = kmap_get(&s->qtypes, &qt, sizeof(qt), &o1);
	*eq = kmap_get(&s->edns_qtype, &qt, sizeof(qt), &o2);
	/* an overflow record is not cached: each use must be counted */
	if (qt < ARRAY_SIZE(s->qt_cache) && !o1 && !o2) {
		s->qt_cache[qt].ent = *ent;
		s->qt_cache[qt].edns = *eq;
	}
}

/* The qnames record of a name: kept on the name (names.h) once found,
 * except the overflow record (each use of it must be counted). */
static struct name_rec *qname_rec(struct stats *s, struct name *n)
{
	struct name_rec *e = name_aux(n, s->name_owner);
	int over;

	if (e)
		return e;
	e = kmap_get_hashed(&s->qnames, n->wire, n->len, n->hash, &over);
	if (!over)
		name_set_aux(n, s->name_owner, e);
	return e;
}

/* A latency histogram's counter is a miss of its own (36 x 64 of them,
 * spread by the latency): hist_add() was 2.5 % of a run with every
 * detector (perf), 2.1 % with the global and per-qtype counters
 * prefetched: 3 to 4 % less CPU in all (10 alternating rounds, with and
 * without detectors). The per-server one too, found with kmap_find():
 * as much slower without detectors (6 %) as faster with them. */
static void hist_prefetch(const struct hist *h, uint64_t us)
{
	if (h && h->b)
		__builtin_prefetch(&h->b[hist_index(us)], 1);
}

void stats_prefetch(const struct stats *s, const struct txn *t, uint32_t client)
{
	const void *e = name_aux(t->qname, s->name_owner);

	if (t->status == TXN_ANSWERED) {
		uint64_t first = (uint64_t)(TXN_LATENCY_FIRST(t) / NS_PER_US);

		hist_prefetch(&s->lat_first, first);
		hist_prefetch(&s->lat_last, (uint64_t)(TXN_LATENCY_LAST(t) / NS_PER_US));
		if (t->qtype < ARRAY_SIZE(s->qt_cache) && s->qt_cache[t->qtype].ent)
			hist_prefetch(s->qt_cache[t->qtype].ent->lat, first);
	}

	if (e)
		__builtin_prefetch(e);
	else
		kmap_prefetch(&s->qnames, t->qname->hash);
	if ((e = dk_byid_peek(&s->client_ix, client)))
		__builtin_prefetch(e);
}

/*
 * A name that was freed (no transaction, lookup or detector held it) and
 * asked again is a new struct name without the record qname_rec() left on
 * the old one, so its record is found in the map: a bucket, then an entry,
 * both cold. That was 4 to 6 % of the samples (perf), more without
 * detectors, where names live only as long as their queries. Keeping every
 * counted name alive instead spared the lookups but cost 2.8 MB of peak
 * RSS (names the statistics would otherwise not keep), past the target.
 * So stats_prefetch() starts the bucket, and this, half way along the
 * look-ahead, the entry.
 */
void stats_prefetch_deep(const struct stats *s, const struct txn *t)
{
	if (!name_aux(t->qname, s->name_owner))
		kmap_prefetch_entry(&s->qnames, t->qname->hash);
}

void stats_txn(struct stats *s, const struct txn *t, uint32_t client)
{
	uint8_t k[DK_ADDR_KEY];
	struct ent_rec *qe;
	struct edns_qt *eq;

	if (t->status == TXN_EVICTED) {
		s->evicted++;
		return;
	}
	if (t->proto == 17)
		s->txn_udp++;
	else
		s->txn_tcp++;
	if (t->status == TXN_ANSWERED) {
		hist_add(&s->lat_first, (uint64_t)(TXN_LATENCY_FIRST(t) / NS_PER_US));
		hist_add(&s->lat_last, (uint64_t)(TXN_LATENCY_LAST(t) / NS_PER_US));
		s->rcodes[TXN_RCODE(t)]++;
		if (t->proto == 17 && DNS_TC(t->resp_flags))
			s->tc_udp++;
	}
	ent_add(s, kmap_get(&s->servers, k, dk_addr_key(&t->server, k), NULL), t, 1);
	ent_add(s, dk_byid_get(&s->client_ix, &s->clients, client, &t->client, NULL), t, 0);
	qtype_recs(s, t->qtype, &qe, &eq);
	ent_add(s, qe, t, 1);
	name_add(s, qname_rec(s, t->qname), t);
	if (t->ifindex >= 0)
		ent_add(s, kmap_get(&s->ifaces, &t->ifindex, sizeof(t->ifindex), NULL), t, 0);
	eq->txns++;
	if (t->q_has_edns) {
		eq->edns++;
		s->q_edns++;
	}
	if (t->q_edns_do) {
		eq->do_bit++;
		s->q_do++;
	}
	if (t->q_has_ecs) {
		eq->ecs++;
		s->q_ecs++;
	}
	if (t->r_has_ecs) {
		eq->resp_ecs++;
		s->r_ecs++;
	}
}

void stats_lookup(struct stats *s, const struct lookup *l)
{
	s->lookups++;
	if (l->answered)
		s->lookups_answered++;
	else
		s->lookups_failed++;
	if (l->sends > 1)
		s->lookups_retried++;
}

static void ent_free_lat(struct ent_rec *e)
{
	if (e->lat) {
		hist_free(e->lat);
		free(e->lat);
		e->lat = NULL;
	}
}

static void free_ent_hists(struct kmap *m)
{
	struct kmap_ent **arr = kmap_entries(m);
	size_t i;

	for (i = 0; i < m->count; i++)
		ent_free_lat(kmap_val(arr[i]));
	if (m->other)
		ent_free_lat(m->other);
	free(arr);
}

void stats_free(struct stats *s)
{
	hist_free(&s->lat_first);
	hist_free(&s->lat_last);
	free_ent_hists(&s->servers);
	free_ent_hists(&s->qtypes);
	kmap_free(&s->servers);
	kmap_free(&s->clients);
	dk_byid_free(&s->client_ix);
	kmap_free(&s->qtypes);
	kmap_free(&s->qnames);
	kmap_free(&s->ifaces);
	kmap_free(&s->edns_qtype);
	kmap_free(&s->carries);
	kmap_free(&s->name_rcodes);
}

static int cmp_ent(const void *a, const void *b)
{
	const struct kmap_ent *x = *(const struct kmap_ent *const *)a;
	const struct kmap_ent *y = *(const struct kmap_ent *const *)b;
	const struct ent_counts *ex = kmap_val(x), *ey = kmap_val(y); /* both kinds */
	size_t n;
	int c;

	if (ex->txns != ey->txns)
		return ex->txns > ey->txns ? -1 : 1;
	n = MIN(x->klen, y->klen);
	c = memcmp(x->key, y->key, n);
	if (c)
		return c;
	return (int)x->klen - (int)y->klen;
}

/*
 * The report shows the top 10 of maps that hold up to 50,000 names:
 * sorting them all was 7 M instructions and 160,000 cache misses on the
 * bench trace. Keep the best top in a sorted array instead (insertion,
 * O(count * top) compares in the worst case, far fewer in practice since
 * most entries lose to the current last).
 */
struct kmap_ent **stats_sorted(const struct kmap *m, size_t top, size_t *n)
{
	struct kmap_ent **all = kmap_entries(m), **best;
	size_t i, nb = 0;

	if (top >= m->count) {
		qsort(all, m->count, sizeof(*all), cmp_ent);
		*n = m->count;
		return all;
	}
	best = xmalloc((top + 1) * sizeof(*best));
	for (i = 0; i < m->count; i++) {
		size_t j = nb;

		if (nb == top && cmp_ent(&all[i], &best[top - 1]) >= 0)
			continue;
		if (nb < top)
			nb++;
		else
			j = top - 1;
		while (j > 0 && cmp_ent(&all[i], &best[j - 1]) < 0) {
			best[j] = best[j - 1];
			j--;
		}
		best[j] = all[i];
	}
	free(all);
	*n = nb;
	return best;
}
