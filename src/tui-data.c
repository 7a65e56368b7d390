/*
 * tui-data.c: the monitor's bounded state, fed by the pipeline's sinks.
 * See tui-data.h.
 */
#include "config.h"
#include "tui-data.h"
#include "detect.h"
#include "names.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- latency histogram ----------------------------------------------------- */

static int lhist_index(uint64_t us)
{
	int o;

	if (us < 16)
		return (int)us;
	o = 63 - __builtin_clzll(us); /* >= 4 */
	if (o > 40)
		return LHIST_N - 1;
	return 16 + (o - 4) * 8 + (int)((us >> (o - 3)) & 7);
}

static uint64_t lhist_value(int i)
{
	int o, sub;
	uint64_t lo, w;

	if (i < 16)
		return (uint64_t)i;
	o = (i - 16) / 8 + 4;
	sub = (i - 16) % 8;
	w = (uint64_t)1 << (o - 3);
	lo = ((uint64_t)1 << o) + (uint64_t)sub * w;
	return lo + w / 2;
}

void lhist_add(struct lhist *h, uint64_t us)
{
	h->b[lhist_index(us)]++;
	h->n++;
	if (us > h->max_us)
		h->max_us = us;
}

uint64_t lhist_pct(const struct lhist *h, double pct)
{
	uint64_t want, seen = 0;
	int i;

	if (!h || !h->n)
		return 0;
	want = (uint64_t)(pct / 100.0 * (double)h->n + 0.999999);
	if (want < 1)
		want = 1;
	for (i = 0; i < LHIST_N; i++) {
		seen += h->b[i];
		if (seen >= want) {
			uint64_t v = lhist_value(i);

			return v > h->max_us ? h->max_us : v;
		}
	}
	return h->max_us;
}

/* ---- timelines ------------------------------------------------------------- */

static void tl_add(struct mon_tl *tl, int64_t sec, int col, uint32_t k)
{
	uint32_t *slot;

	if (tl->head && sec <= tl->head - MON_TL_SECS)
		return; /* older than what we keep */
	if (!tl->head || sec > tl->head) {
		int64_t s = tl->head ? tl->head + 1 : sec;

		if (sec - s >= MON_TL_SECS)
			s = sec - MON_TL_SECS + 1;
		for (; s <= sec; s++)
			memset(tl->v[s % MON_TL_SECS], 0, sizeof(tl->v[0]));
		tl->head = sec;
	}
	slot = &tl->v[sec % MON_TL_SECS][col];
	*slot = *slot > UINT32_MAX - k ? UINT32_MAX : *slot + k;
	if (col == TL_Q)
		tl->total_q += k;
}

uint32_t mon_tl_get(const struct mon_tl *tl, int64_t sec, int col)
{
	if (!tl || !tl->head || sec > tl->head || sec <= tl->head - MON_TL_SECS)
		return 0;
	return tl->v[sec % MON_TL_SECS][col];
}

/* ---- keys ------------------------------------------------------------------ */

size_t mon_addr_key(const struct addr *a, uint8_t *k)
{
	k[0] = a->family;
	memcpy(k + 1, a->a, a->family == 4 ? 4 : 16);
	return a->family == 4 ? 5 : 17;
}

void mon_key_addr(const uint8_t *k, size_t klen, struct addr *a)
{
	memset(a, 0, sizeof(*a));
	if (klen < 5 || klen > 17)
		return;
	a->family = k[0];
	memcpy(a->a, k + 1, klen - 1);
}

static size_t name_key(uint16_t qtype, const uint8_t *wire, uint8_t len, uint8_t *k)
{
	memcpy(k, &qtype, 2);
	memcpy(k + 2, wire, len);
	return (size_t)len + 2;
}

/* ---- counting -------------------------------------------------------------- */

/* A name's presentation form, made once when its entry is made (the Names
 * view would otherwise convert every name on every draw). */
static void name_text(struct mon_ent *e, const uint8_t *wire, uint8_t len)
{
	struct sbuf sb = SBUF_INIT;

	if (e->text)
		return;
	name_to_text(wire, len, &sb);
	e->text = sb.buf ? sb.buf : xstrdup("");
}

static void rate_add(struct mon_ent *e, int64_t sec)
{
	if (sec == e->rsec) {
		e->rcur++;
	} else if (sec == e->rsec + 1) {
		e->rprev = e->rcur;
		e->rcur = 1;
		e->rsec = sec;
	} else if (sec > e->rsec) {
		e->rprev = 0;
		e->rcur = 1;
		e->rsec = sec;
	} else if (sec == e->rsec - 1) {
		e->rprev++; /* slightly out of order */
	}
}

uint32_t mon_ent_rate(const struct mon_ent *e, int64_t now_sec)
{
	if (e->rsec == now_sec)
		return e->rprev;
	if (e->rsec == now_sec - 1)
		return e->rcur;
	return 0;
}

void mon_data_init(struct mon_data *d)
{
	memset(d, 0, sizeof(*d));
	kmap_init(&d->ent[MON_SERVERS], sizeof(struct mon_ent), MON_MAX_SERVERS);
	kmap_init(&d->ent[MON_CLIENTS], sizeof(struct mon_ent), MON_MAX_CLIENTS);
	kmap_init(&d->ent[MON_NAMES], sizeof(struct mon_ent), MON_MAX_NAMES);
	kmap_init(&d->tl_servers, sizeof(struct mon_tl), MON_TL_SERVERS);
	kmap_init(&d->tl_clients, sizeof(struct mon_tl), MON_TL_CLIENTS);
	d->ring = xcalloc(MON_RING, sizeof(*d->ring));
}

void mon_data_msg(struct mon_data *d, const struct dnsmsg *m)
{
	int64_t sec = m->ts / NS_PER_SEC;
	uint8_t k[2 + DNS_MAXNAME + 1];
	int resp = DNS_QR(m->flags), over;
	struct mon_ent *e;
	const struct addr *srv = resp ? &m->src : &m->dst, *cli = resp ? &m->dst : &m->src;
	int col = resp ? TL_A : TL_Q;

	if (!resp && !m->has_question)
		return;
	d->gen++;
	tl_add(&d->tl_all, sec, col, 1);
	tl_add(kmap_get(&d->tl_servers, k, mon_addr_key(srv, k), NULL), sec, col, 1);
	tl_add(kmap_get(&d->tl_clients, k, mon_addr_key(cli, k), NULL), sec, col, 1);
	if (resp)
		return;
	rate_add(kmap_get(&d->ent[MON_SERVERS], k, mon_addr_key(srv, k), NULL), sec);
	rate_add(kmap_get(&d->ent[MON_CLIENTS], k, mon_addr_key(cli, k), NULL), sec);
	e = kmap_get(&d->ent[MON_NAMES], k, name_key(m->qtype, m->qname, m->qname_len, k), &over);
	if (!over)
		name_text(e, m->qname, m->qname_len);
	rate_add(e, sec);
}

static void ent_add(struct mon_ent *e, const struct mon_txn *x)
{
	e->txns++;
	e->retrans += x->retrans;
	if (x->first_ts > e->last)
		e->last = x->first_ts;
	switch (x->status) {
	case TXN_ANSWERED: {
		ts_t lat = x->resp_ts - x->first_ts;
		uint64_t us = lat > 0 ? (uint64_t)(lat / NS_PER_US) : 0;

		e->answered++;
		e->rcodes[DNS_RCODE(x->resp_flags)]++;
		e->lat_sum_us += us;
		if (!e->lat)
			e->lat = xcalloc(1, sizeof(*e->lat));
		lhist_add(e->lat, us);
		break;
	}
	case TXN_UNANSWERED: e->unanswered++; break;
	case TXN_OPEN_AT_END: e->open_end++; break;
	}
}

static void add_all(struct kmap *ent, const struct mon_txn *x, int only, int with_rate)
{
	uint8_t k[2 + DNS_MAXNAME + 1];
	struct mon_ent *e;

	if (only < 0 || only == MON_SERVERS) {
		e = kmap_get(&ent[only < 0 ? MON_SERVERS : 0], k, mon_addr_key(&x->server, k), NULL);
		ent_add(e, x);
		if (with_rate)
			rate_add(e, x->first_ts / NS_PER_SEC);
	}
	if (only < 0 || only == MON_CLIENTS) {
		e = kmap_get(&ent[only < 0 ? MON_CLIENTS : 0], k, mon_addr_key(&x->client, k), NULL);
		ent_add(e, x);
		if (with_rate)
			rate_add(e, x->first_ts / NS_PER_SEC);
	}
	if (only < 0 || only == MON_NAMES) {
		int over;

		e = kmap_get(&ent[only < 0 ? MON_NAMES : 0], k,
			     name_key(x->qtype, x->qname->wire, x->qname->len, k), &over);
		if (!over)
			name_text(e, x->qname->wire, x->qname->len);
		ent_add(e, x);
		if (with_rate)
			rate_add(e, x->first_ts / NS_PER_SEC);
	}
}

void mon_data_txn(struct mon_data *d, const struct txn *t)
{
	struct mon_txn *x;
	uint8_t k[17];

	if (t->status == TXN_EVICTED)
		return;
	d->gen++;
	x = &d->ring[d->pushed % MON_RING];
	if (x->qname)
		name_unref(x->qname);
	memset(x, 0, sizeof(*x));
	x->seq = t->seq;
	x->ring_no = ++d->pushed;
	x->qname = name_ref(t->qname);
	x->first_ts = t->first_ts;
	x->last_ts = t->last_ts;
	x->resp_ts = t->resp_ts;
	x->client = t->client;
	x->server = t->server;
	x->cport = t->cport;
	x->sport = t->sport;
	x->id = t->id;
	x->qtype = t->qtype;
	x->resp_flags = t->resp_flags;
	x->retrans = t->retrans;
	x->proto = t->proto;
	x->status = t->status;
	x->lookup_txns = t->lookup ? t->lookup->txns : 1;
	x->retried = t->retrans > 0 || x->lookup_txns > 1;
	x->ifindex = t->ifindex;
	x->qframe = t->qframe;
	x->rframe = t->rframe;
	add_all(d->ent, x, -1, 0);
	if (t->status == TXN_UNANSWERED) {
		int64_t sec = t->first_ts / NS_PER_SEC;

		tl_add(&d->tl_all, sec, TL_U, 1);
		tl_add(kmap_get(&d->tl_servers, k, mon_addr_key(&t->server, k), NULL), sec, TL_U, 1);
		tl_add(kmap_get(&d->tl_clients, k, mon_addr_key(&t->client, k), NULL), sec, TL_U, 1);
	}
}

void mon_table_free(struct kmap *m)
{
	size_t i;
	struct kmap_ent *e;

	for (i = 0; i < m->nb; i++)
		for (e = m->b[i]; e; e = e->next) {
			free(((struct mon_ent *)kmap_val(e))->lat);
			free(((struct mon_ent *)kmap_val(e))->text);
		}
	if (m->other) {
		free(((struct mon_ent *)m->other)->lat);
		free(((struct mon_ent *)m->other)->text);
	}
	kmap_free(m);
}

void mon_data_free(struct mon_data *d)
{
	uint32_t i;
	int k;

	for (k = 0; k < MON_NKINDS; k++)
		mon_table_free(&d->ent[k]);
	kmap_free(&d->tl_servers);
	kmap_free(&d->tl_clients);
	for (i = 0; i < MON_RING; i++)
		if (d->ring[i].qname)
			name_unref(d->ring[i].qname);
	free(d->ring);
	memset(d, 0, sizeof(*d));
}

/* ---- the ring and filters -------------------------------------------------- */

uint32_t mon_ring_count(const struct mon_data *d)
{
	return d->pushed < MON_RING ? (uint32_t)d->pushed : MON_RING;
}

const struct mon_txn *mon_ring_get(const struct mon_data *d, uint32_t i)
{
	uint64_t first = d->pushed - mon_ring_count(d);

	return &d->ring[(first + i) % MON_RING];
}

int mon_filter_active(const struct mon_filter *f)
{
	return f->has_server || f->has_client || f->name[0] || f->detector >= 0;
}

int mon_filter_name(const struct mon_filter *f, const char *name)
{
	size_t n = strlen(name), fl = strlen(f->name);
	char bare[1100];

	if (!f->name[0])
		return 1;
	/* "example.com" matches "example.com." */
	snprintf(bare, sizeof(bare), "%s", name);
	if (n > 1 && bare[n - 1] == '.')
		bare[n - 1] = '\0';
	if (f->name_exact)
		return !strcasecmp(f->name, name) || !strcasecmp(f->name, bare);
	if (strpbrk(f->name, "*?["))
		return !fnmatch(f->name, name, FNM_CASEFOLD) || !fnmatch(f->name, bare, FNM_CASEFOLD);
	if (fl > n)
		return 0;
	return strcasestr(name, f->name) != NULL;
}

int mon_filter_txn(const struct mon_filter *f, const struct mon_txn *x,
		   const struct detect_ctx *dc)
{
	if (f->has_server && !addr_eq(&f->server, &x->server))
		return 0;
	if (f->has_client && !addr_eq(&f->client, &x->client))
		return 0;
	if (f->detector >= 0 && !(dc && (detect_tags(dc, x->seq) >> f->detector & 1)))
		return 0;
	if (f->name[0]) {
		char name[1100];

		name_str(x->qname, name, sizeof(name));
		if (!mon_filter_name(f, name))
			return 0;
	}
	return 1;
}

void mon_aggregate(const struct mon_data *d, const struct mon_filter *f,
		   const struct detect_ctx *dc, enum mon_kind kind, struct kmap *out)
{
	uint32_t i, n = mon_ring_count(d);
	size_t cap = kind == MON_SERVERS ? MON_MAX_SERVERS
		     : kind == MON_CLIENTS ? MON_MAX_CLIENTS : MON_MAX_NAMES;

	kmap_init(out, sizeof(struct mon_ent), cap);
	for (i = 0; i < n; i++) {
		const struct mon_txn *x = mon_ring_get(d, i);

		if (mon_filter_txn(f, x, dc))
			add_all(out, x, kind, 1);
	}
}
