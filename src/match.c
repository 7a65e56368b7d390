/*
 * match.c: the query/response matcher and the lookup grouper.
 *
 * Three tables, each a chained hash plus a list in age order so expiry is
 * O(1) per item:
 *   txns    open queries, ordered by last send; expire after the window
 *   tombs   answered keys, for duplicate detection; expire after the window
 *   lookups (client, qname, qtype, qclass), ordered by last send
 *
 * Time is the capture's: "now" is the largest timestamp seen so far, so
 * files merged from several interfaces with slightly unordered timestamps
 * do not move the clock backwards.
 */
#include "config.h"
#include "match.h"
#include "names.h"

#include <stdlib.h>
#include <string.h>

struct tomb {
	struct tomb *hnext, *newer;
	uint64_t key;
	ts_t ts;
	int32_t ifindex;
};

/*
 * The same datagram captured on two interfaces (with -i any: a veth and
 * its bridge, a VLAN and its parent) shows up twice within microseconds.
 * A resolver's own retransmission comes hundreds of milliseconds later at
 * the earliest, so a copy on another interface within this gap is the same
 * packet seen twice, not a retransmission or a duplicate answer.
 */
#define SAME_PACKET_GAP (5 * NS_PER_MS)

static int other_iface_copy(int32_t a, int32_t b, ts_t gap)
{
	return a >= 0 && b >= 0 && a != b && gap >= 0 && gap < SAME_PACKET_GAP;
}

struct matcher {
	struct match_config cfg;
	struct match_stats st;
	txn_fn txn_cb;
	lookup_fn lookup_cb;
	void *ctx;

	struct txn **tb;
	uint32_t tb_n, ntxns;
	struct txn *t_oldest, *t_newest;
	struct txn *t_free; /* recycled structs */

	struct tomb **mb;
	uint32_t mb_n, ntombs;
	struct tomb *m_oldest, *m_newest, *m_free;

	struct lookup **lb;
	uint32_t lb_n, nlookups;
	struct lookup *l_oldest, *l_newest;

	uint64_t txn_seq, lookup_seq;
	ts_t start, now;
	int started;
};

void match_config_default(struct match_config *cfg)
{
	cfg->window = 10 * NS_PER_SEC;
	cfg->max_txns = 1U << 20;
	cfg->max_lookups = 1U << 20;
}

static uint32_t table_size(uint32_t max)
{
	uint32_t n = 1024;

	while (n < max / 2 && n < (1U << 22))
		n <<= 1;
	return n;
}

struct matcher *matcher_new(const struct match_config *cfg, txn_fn tf, lookup_fn lf, void *ctx)
{
	struct matcher *mt = xcalloc(1, sizeof(*mt));

	mt->cfg = *cfg;
	mt->txn_cb = tf;
	mt->lookup_cb = lf;
	mt->ctx = ctx;
	mt->tb_n = table_size(cfg->max_txns);
	mt->tb = xcalloc(mt->tb_n, sizeof(*mt->tb));
	mt->mb_n = mt->tb_n;
	mt->mb = xcalloc(mt->mb_n, sizeof(*mt->mb));
	mt->lb_n = table_size(cfg->max_lookups);
	mt->lb = xcalloc(mt->lb_n, sizeof(*mt->lb));
	return mt;
}

const struct match_stats *matcher_stats(const struct matcher *mt)
{
	return &mt->st;
}

size_t matcher_open_txns(const struct matcher *mt)
{
	return mt->ntxns;
}

/* ---- keys ------------------------------------------------------------------ */

static uint64_t txn_key(uint8_t proto, const struct addr *cli, uint16_t cport,
			const struct addr *srv, uint16_t sport, uint16_t id)
{
	uint64_t h = addr_hash(cli, ((uint64_t)cport << 16) | id);

	return hash_mix(h ^ addr_hash(srv, ((uint64_t)sport << 8) | proto));
}

static int txn_same_key(const struct txn *t, uint8_t proto, const struct addr *cli,
			uint16_t cport, const struct addr *srv, uint16_t sport, uint16_t id)
{
	return t->id == id && t->cport == cport && t->sport == sport && t->proto == proto &&
	       addr_eq(&t->client, cli) && addr_eq(&t->server, srv);
}

static int txn_same_question(const struct txn *t, const struct dnsmsg *m)
{
	return t->qtype == m->qtype && t->qclass == m->qclass && t->qname->len == m->qname_len &&
	       !memcmp(t->qname->wire, m->qname, m->qname_len);
}

static uint64_t tomb_key(uint64_t keyhash, const struct dnsmsg *m)
{
	return hash_mix(keyhash ^ hash_bytes(m->qname, m->qname_len,
					     ((uint64_t)m->qtype << 16) | m->qclass));
}

/* ---- age lists ---------------------------------------------------------- */

#define LIST_UNLINK(mt, x, oldest, newest)            \
	do {                                          \
		if ((x)->older)                       \
			(x)->older->newer = (x)->newer; \
		else                                  \
			(mt)->oldest = (x)->newer;    \
		if ((x)->newer)                       \
			(x)->newer->older = (x)->older; \
		else                                  \
			(mt)->newest = (x)->older;    \
		(x)->older = (x)->newer = NULL;       \
	} while (0)

#define LIST_APPEND(mt, x, oldest, newest)     \
	do {                                   \
		(x)->older = (mt)->newest;     \
		(x)->newer = NULL;             \
		if ((mt)->newest)              \
			(mt)->newest->newer = (x); \
		else                           \
			(mt)->oldest = (x);    \
		(mt)->newest = (x);            \
	} while (0)

/* ---- lookups ------------------------------------------------------------ */

static uint64_t lookup_key(const struct addr *cli, const struct name *qn, uint16_t qtype,
			   uint16_t qclass)
{
	return hash_mix(addr_hash(cli, ((uint64_t)qtype << 16) | qclass) ^ qn->hash);
}

static void lookup_unhash(struct matcher *mt, struct lookup *l)
{
	struct lookup **pp = &mt->lb[l->hash & (mt->lb_n - 1)];

	while (*pp && *pp != l)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = l->hnext;
	l->hnext = NULL;
}

static void lookup_free(struct lookup *l)
{
	name_unref(l->qname);
	free(l);
}

static void lookup_finish(struct matcher *mt, struct lookup *l)
{
	lookup_unhash(mt, l);
	LIST_UNLINK(mt, l, l_oldest, l_newest);
	mt->nlookups--;
	if (mt->lookup_cb)
		mt->lookup_cb(mt->ctx, l);
	if (l->open_txns) {
		/* evicted at the cap with queries still open: they point at
		 * it, so it lives on outside every table until the last of
		 * them finishes (txn_finish frees it). At most one such
		 * lookup per open query: memory stays bounded. */
		l->evicted = 1;
		return;
	}
	lookup_free(l);
}

static void lookup_note_send(struct lookup *l, ts_t ts, const struct frameref *fr)
{
	l->sends++;
	if (l->nsend_ts < LOOKUP_MAX_SENDS) {
		ts_t off = (ts - l->first_ts) / NS_PER_US;

		l->send_off_us[l->nsend_ts++] = off < 0 ? 0 : off > UINT32_MAX ? UINT32_MAX
									   : (uint32_t)off;
	}
	if (ts > l->last_send_ts)
		l->last_send_ts = ts;
	l->last_frame = *fr;
}

static struct lookup *lookup_attach(struct matcher *mt, struct txn *t, const struct dnsmsg *m,
				    const struct frameref *fr)
{
	uint64_t h = lookup_key(&t->client, t->qname, t->qtype, t->qclass);
	struct lookup *l;

	for (l = mt->lb[h & (mt->lb_n - 1)]; l; l = l->hnext) {
		if (l->hash != h || l->qname != t->qname || l->qtype != t->qtype ||
		    l->qclass != t->qclass || !addr_eq(&l->client, &t->client))
			continue;
		if (l->definitive || m->ts - l->first_ts > mt->cfg.window) {
			/* a new lookup starts: this one takes no more queries */
			lookup_unhash(mt, l);
			break;
		}
		/* a retry of the same lookup: new id, port, server or transport */
		if (t->id != l->first_id)
			l->new_id = 1;
		if (t->cport != l->first_port)
			l->new_port = 1;
		if (!addr_eq(&t->server, &l->first_server))
			l->new_server = 1;
		if (t->proto != 17)
			l->new_proto = 1;
		l->txns++;
		l->open_txns++;
		lookup_note_send(l, m->ts, fr);
		LIST_UNLINK(mt, l, l_oldest, l_newest);
		LIST_APPEND(mt, l, l_oldest, l_newest);
		return l;
	}
	if (mt->nlookups >= mt->cfg.max_lookups) {
		mt->st.evicted_lookups++;
		lookup_finish(mt, mt->l_oldest);
	}
	l = xcalloc(1, sizeof(*l));
	l->hash = h;
	l->seq = ++mt->lookup_seq;
	l->qname = name_ref(t->qname);
	l->client = t->client;
	l->qtype = t->qtype;
	l->qclass = t->qclass;
	l->first_ts = l->last_send_ts = m->ts;
	l->final_ts = -1;
	l->final_rcode = 0xffff;
	l->first_id = t->id;
	l->first_port = t->cport;
	l->first_server = t->server;
	l->ifindex = t->ifindex;
	l->first_frame = *fr;
	l->txns = 1;
	l->open_txns = 1;
	l->new_proto = t->proto != 17;
	lookup_note_send(l, m->ts, fr);
	l->hnext = mt->lb[h & (mt->lb_n - 1)];
	mt->lb[h & (mt->lb_n - 1)] = l;
	LIST_APPEND(mt, l, l_oldest, l_newest);
	mt->nlookups++;
	mt->st.lookups++;
	if (mt->nlookups > mt->st.max_open_lookups)
		mt->st.max_open_lookups = mt->nlookups;
	return l;
}

/* ---- transactions ------------------------------------------------------- */

static void txn_unhash(struct matcher *mt, struct txn *t)
{
	struct txn **pp = &mt->tb[t->hash & (mt->tb_n - 1)];

	while (*pp && *pp != t)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = t->hnext;
}

/* Hand a finished transaction to the sink and recycle it. */
static void txn_finish(struct matcher *mt, struct txn *t, enum txn_status st)
{
	struct lookup *l = t->lookup;

	txn_unhash(mt, t);
	LIST_UNLINK(mt, t, t_oldest, t_newest);
	mt->ntxns--;
	t->status = (uint8_t)st;
	switch (st) {
	case TXN_ANSWERED: mt->st.matched++; break;
	case TXN_UNANSWERED: mt->st.unanswered++; break;
	case TXN_OPEN_AT_END: mt->st.open_at_end++; break;
	case TXN_EVICTED: mt->st.evicted_txns++; break;
	}
	if (l) {
		l->open_txns--;
		if (st == TXN_ANSWERED) {
			uint16_t rc = TXN_RCODE(t);

			l->answered++;
			l->final_ts = t->resp_ts;
			l->final_rcode = rc;
			/* NOERROR and NXDOMAIN end a lookup; SERVFAIL, REFUSED,
			 * NOTIMP and a truncated (TC) UDP answer make resolvers
			 * try again, so the lookup stays open for the retry */
			if ((rc == RCODE_NOERROR || rc == RCODE_NXDOMAIN) &&
			    !(t->proto == 17 && DNS_TC(t->resp_flags)))
				l->definitive = 1;
		}
	}
	if (mt->txn_cb)
		mt->txn_cb(mt->ctx, t);
	if (l && l->evicted && !l->open_txns)
		lookup_free(l);
	name_unref(t->qname);
	t->hnext = mt->t_free;
	mt->t_free = t;
}

static void tomb_pop(struct matcher *mt)
{
	struct tomb *b = mt->m_oldest, **pp = &mt->mb[b->key & (mt->mb_n - 1)];

	while (*pp && *pp != b)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = b->hnext;
	mt->m_oldest = b->newer;
	if (!mt->m_oldest)
		mt->m_newest = NULL;
	mt->ntombs--;
	b->hnext = mt->m_free;
	mt->m_free = b;
}

static void tomb_add(struct matcher *mt, uint64_t key, ts_t ts, int32_t ifindex)
{
	struct tomb *b;

	/* capped like the open queries (the table is sized for that many):
	 * a million answers a second would otherwise keep ten million */
	if (mt->ntombs >= mt->cfg.max_txns) {
		tomb_pop(mt);
		mt->st.tombs_dropped++;
	}
	b = mt->m_free;

	if (b)
		mt->m_free = b->hnext;
	else
		b = xmalloc(sizeof(*b));
	b->key = key;
	b->ts = ts;
	b->ifindex = ifindex;
	b->newer = NULL;
	b->hnext = mt->mb[key & (mt->mb_n - 1)];
	mt->mb[key & (mt->mb_n - 1)] = b;
	if (mt->m_newest)
		mt->m_newest->newer = b;
	else
		mt->m_oldest = b;
	mt->m_newest = b;
	mt->ntombs++;
}

static void tomb_expire(struct matcher *mt, ts_t now, int all)
{
	while (mt->m_oldest && (all || now - mt->m_oldest->ts > mt->cfg.window))
		tomb_pop(mt);
}

static struct tomb *tomb_find(struct matcher *mt, uint64_t key)
{
	struct tomb *b;

	for (b = mt->mb[key & (mt->mb_n - 1)]; b; b = b->hnext)
		if (b->key == key)
			return b;
	return NULL;
}

static void expire(struct matcher *mt, ts_t now)
{
	while (mt->t_oldest && now - mt->t_oldest->last_ts > mt->cfg.window)
		txn_finish(mt, mt->t_oldest, TXN_UNANSWERED);
	while (mt->l_oldest && now - mt->l_oldest->last_send_ts > mt->cfg.window &&
	       !mt->l_oldest->open_txns)
		lookup_finish(mt, mt->l_oldest);
	tomb_expire(mt, now, 0);
}

void matcher_advance(struct matcher *mt, ts_t now)
{
	if (now > mt->now) {
		mt->now = now;
		expire(mt, now);
	}
}

static void on_query(struct matcher *mt, const struct dnsmsg *m, const struct frameref *fr)
{
	uint64_t h = txn_key(m->proto, &m->src, m->sport, &m->dst, m->dport, m->id);
	struct txn *t;

	mt->st.queries++;
	for (t = mt->tb[h & (mt->tb_n - 1)]; t; t = t->hnext) {
		if (t->hash == h &&
		    txn_same_key(t, m->proto, &m->src, m->sport, &m->dst, m->dport, m->id) &&
		    txn_same_question(t, m)) {
			if (other_iface_copy(m->ifindex, t->ifindex, m->ts - t->last_ts)) {
				mt->st.iface_copies++;
				return;
			}
			/* the same query again before any answer: a retransmission */
			t->retrans++;
			if (m->ts > t->last_ts)
				t->last_ts = m->ts;
			mt->st.retransmissions++;
			LIST_UNLINK(mt, t, t_oldest, t_newest);
			LIST_APPEND(mt, t, t_oldest, t_newest);
			if (t->lookup)
				lookup_note_send(t->lookup, m->ts, fr);
			return;
		}
	}
	if (mt->ntxns >= mt->cfg.max_txns) {
		txn_finish(mt, mt->t_oldest, TXN_EVICTED);
	}
	t = mt->t_free;
	if (t)
		mt->t_free = t->hnext;
	else
		t = xmalloc(sizeof(*t));
	memset(t, 0, sizeof(*t));
	t->hash = h;
	t->seq = ++mt->txn_seq;
	t->qname = name_intern(m->qname, m->qname_len);
	t->first_ts = t->last_ts = m->ts;
	t->resp_ts = -1;
	t->client = m->src;
	t->server = m->dst;
	t->cport = m->sport;
	t->sport = m->dport;
	t->id = m->id;
	t->qtype = m->qtype;
	t->qclass = m->qclass;
	t->proto = m->proto;
	t->ifindex = m->ifindex;
	t->qframe = *fr;
	t->q_has_edns = m->edns.present;
	t->q_edns_do = m->edns.do_bit;
	t->q_udp_size = m->edns.udp_size;
	t->q_has_ecs = m->edns.ecs_present;
	t->hnext = mt->tb[h & (mt->tb_n - 1)];
	mt->tb[h & (mt->tb_n - 1)] = t;
	LIST_APPEND(mt, t, t_oldest, t_newest);
	mt->ntxns++;
	mt->st.txns++;
	if (mt->ntxns > mt->st.max_open_txns)
		mt->st.max_open_txns = mt->ntxns;
	t->lookup = lookup_attach(mt, t, m, fr);
}

static void add_example(struct match_example *ex, uint32_t *n, const struct frameref *fr,
			uint64_t seq)
{
	if (*n < MATCH_EXAMPLES) {
		ex[*n].frame = *fr;
		ex[*n].txn_seq = seq;
		(*n)++;
	}
}

static void on_response(struct matcher *mt, const struct dnsmsg *m, const struct frameref *fr)
{
	/* the client is the destination of a response */
	uint64_t h = txn_key(m->proto, &m->dst, m->dport, &m->src, m->sport, m->id);
	struct txn *t, *same_key = NULL, *hit = NULL;

	mt->st.responses++;
	for (t = mt->tb[h & (mt->tb_n - 1)]; t; t = t->hnext) {
		if (t->hash != h ||
		    !txn_same_key(t, m->proto, &m->dst, m->dport, &m->src, m->sport, m->id))
			continue;
		if (!m->has_question) {
			/* FORMERR and friends may carry no question: take the
			 * oldest query on the key, as glibc accepts them */
			if (!hit || t->seq < hit->seq)
				hit = t;
			continue;
		}
		if (txn_same_question(t, m)) {
			hit = t;
			break;
		}
		same_key = t;
	}
	if (hit) {
		hit->resp_ts = m->ts;
		hit->resp_flags = m->flags;
		hit->rframe = *fr;
		hit->resp_ancount_zero = m->ancount == 0;
		hit->r_has_ecs = m->edns.ecs_present;
		hit->ecs_scope = m->edns.ecs_scope;
		if (m->has_question)
			tomb_add(mt, tomb_key(h, m), m->ts, m->ifindex);
		txn_finish(mt, hit, TXN_ANSWERED);
		return;
	}
	if (same_key) {
		mt->st.mismatched++;
		add_example(mt->st.mismatch_ex, &mt->st.nmismatch_ex, fr, same_key->seq);
		return;
	}
	if (m->has_question) {
		struct tomb *b = tomb_find(mt, tomb_key(h, m));

		if (b) {
			if (other_iface_copy(m->ifindex, b->ifindex, m->ts - b->ts))
				mt->st.iface_copies++;
			else
				mt->st.duplicates++;
			return;
		}
	}
	if (m->ts - mt->start <= mt->cfg.window) {
		mt->st.before_capture++;
		return;
	}
	mt->st.orphans++;
	add_example(mt->st.orphan_ex, &mt->st.norphan_ex, fr, 0);
}

void matcher_msg(struct matcher *mt, const struct dnsmsg *m)
{
	struct frameref fr = { m->file, (uint32_t)m->frame };

	if (!mt->started) {
		mt->started = 1;
		mt->start = m->ts;
		mt->now = m->ts;
	}
	matcher_advance(mt, m->ts);
	if (DNS_QR(m->flags))
		on_response(mt, m, &fr);
	else if (m->has_question)
		on_query(mt, m, &fr);
}

void matcher_finish(struct matcher *mt)
{
	while (mt->t_oldest) {
		struct txn *t = mt->t_oldest;

		txn_finish(mt, t, mt->now - t->last_ts > mt->cfg.window ? TXN_UNANSWERED
									 : TXN_OPEN_AT_END);
	}
	while (mt->l_oldest)
		lookup_finish(mt, mt->l_oldest);
	tomb_expire(mt, 0, 1);
}

void matcher_free(struct matcher *mt)
{
	if (!mt)
		return;
	matcher_finish(mt);
	while (mt->t_free) {
		struct txn *t = mt->t_free;

		mt->t_free = t->hnext;
		free(t);
	}
	while (mt->m_free) {
		struct tomb *b = mt->m_free;

		mt->m_free = b->hnext;
		free(b);
	}
	free(mt->tb);
	free(mt->mb);
	free(mt->lb);
	free(mt);
}
