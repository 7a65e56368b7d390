/*
 * match.c: the query/response matcher and the lookup grouper.
 *
 * Three tables:
 *   txns    open queries: a hash table (ptrmap.h) plus a list in age
 *           order (by last send), so expiry is O(1) per item
 *   lookups (client, qname, qtype, qclass): the same
 *   tombs   answered keys, kept for the answer window to tell a duplicate
 *           answer from an orphan: a FIFO ring, indexed only when needed
 *
 * Time is the capture's: "now" is the largest timestamp seen so far, so
 * files merged from several interfaces with slightly unordered timestamps
 * do not move the clock backwards.
 *
 * Why it is built this way (make bench: 2 M packets, 1 M queries, 28,000
 * queries/s; profiles with callgrind and perf in the commit messages):
 *   - the hash tables grow with what is open rather than being sized for
 *     the cap: at the default cap of 1 M they were three 4 MB bucket
 *     arrays touched at random, while the open set is about 35,000
 *     queries. They keep each entry's hash in the slot (ptrmap.h), so a
 *     new query does not load some other query to compare hashes: 6 %
 *     less time on the bench trace (best of 6 runs, 1.21 s against 1.29).
 *   - a lookup ends as soon as it has a definitive answer and no open query
 *     (it can take no more queries); it used to wait out the answer window,
 *     which kept 280,000 lookups (65 MB) alive on the bench trace.
 *   - tombs are appended to a ring and expire by moving its tail: no
 *     allocation, no hash-chain unlinking. Only a response that matches no
 *     open query (rare) needs to find one; the index is then brought up to
 *     date. Its chains run newest first, so a chain ends at the first tomb
 *     that has left the ring and expiry never touches the index.
 *   - one hash per message: the decoder hashes the question name
 *     (dnsmsg.qname_hash), which interns the name, keys the tomb and, via
 *     struct name, the lookup.
 */
#include "config.h"
#include "match.h"
#include "names.h"
#include "ptrmap.h"

#include <stdlib.h>
#include <string.h>

/* The per-query state budget (issue 7): keep struct txn within it. */
_Static_assert(sizeof(struct txn) <= 160, "struct txn must stay within 160 bytes");

/*
 * A tomb is 12 bytes, not 32: about 300,000 are alive on the bench trace
 * (every answer of the last 10 s), and at 32 bytes the ring and its index
 * were 20 of the pipeline's 60 MB. The key keeps 48 bits of tomb_key()
 * (a false duplicate needs two of the live keys to agree in 48 bits), with
 * the interface beside it; the time is kept in units of 2^tshift ns
 * modulo 2^32, which is exact for differences under 2^31 units, and the
 * matcher never compares times further apart than twice the answer window
 * (tomb_expire()). The index's chain links (a distance back, not a
 * sequence) are in an array beside each chunk of tombs, allocated only
 * when the index is first built: no response of the bench trace needs it,
 * and they were 4 of 16 bytes a tomb.
 */
struct tomb {
	uint32_t key_lo; /* TOMB_KEY bits of tomb_key(): the low 32 */
	uint16_t key_hi; /* ... and the high 16 */
	uint16_t ifx;	 /* ifindex + 1, 0 = none */
	uint32_t ts;	 /* (ts >> tshift) mod 2^32 */
};

#define TOMB_KEY ((UINT64_C(1) << 48) - 1)

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

/*
 * Open queries and lookups come from pools of 2 MB blocks and go back to
 * a free list, so the most recently finished one, still in the cache, is
 * the next one used. The blocks are not on huge pages (xcalloc_lazy, not
 * xcalloc_big): a block's pages become resident as the pool reaches them.
 */
#define POOL_BLOCK (2U * 1024 * 1024)

struct pool {
	size_t size;	 /* of one object */
	void *free;	 /* free list, linked through the objects' first word */
	uint8_t *next, *end; /* the rest of the current block */
	void **blocks;
	size_t nblocks;
};

static void *pool_get(struct pool *p)
{
	void *x = p->free;

	if (x) {
		memcpy(&p->free, x, sizeof(void *));
		return x;
	}
	if (!p->next || (size_t)(p->end - p->next) < p->size) {
		p->blocks = xrealloc(p->blocks, (p->nblocks + 1) * sizeof(*p->blocks));
		p->next = p->blocks[p->nblocks++] = xcalloc_lazy(POOL_BLOCK);
		p->end = p->next + POOL_BLOCK;
	}
	x = p->next;
	p->next += p->size;
	return x;
}

static void pool_put(struct pool *p, void *x)
{
	memcpy(x, &p->free, sizeof(void *));
	p->free = x;
}

static void pool_free(struct pool *p)
{
	size_t i;

	for (i = 0; i < p->nblocks; i++)
		free_big(p->blocks[i], POOL_BLOCK);
	free(p->blocks);
}

struct matcher {
	struct match_config cfg;
	struct match_stats st;
	txn_fn txn_cb;
	lookup_fn lookup_cb;
	void *ctx;

	struct ptrmap tb; /* open queries by txn_key() */
	uint32_t ntxns;
	struct txn *t_oldest, *t_newest;
	struct pool txn_pool;

	struct ptrmap lb; /* lookups that take queries, by lookup_key() */
	uint32_t nlookups;
	struct lookup *l_oldest, *l_newest;
	struct pool lookup_pool;

	/* tombs: seqs [m_tail, m_head), at most m_cap of them, live in
	 * chunks of TOMB_CHUNK: seq s in chunk[(s / TOMB_CHUNK) & (nchunk - 1)]
	 * (tomb_at()); chunks m_lo .. m_head / TOMB_CHUNK are allocated */
	struct tomb_chunk **chunk;
	struct tomb_chunk *spare; /* one released chunk, kept for the next */
	uint64_t nchunk, m_lo;
	uint64_t m_cap, m_head, m_tail;
	uint64_t *m_idx;   /* m_cap / 4 buckets: 1 + seq of the newest tomb, 0 = none */
	uint64_t m_indexed; /* tombs below this seq are in m_idx */
	ts_t m_newest;	    /* time of the newest tomb, in full */
	int tshift;	    /* tomb times are in units of 2^tshift ns */

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

struct matcher *matcher_new(const struct match_config *cfg, txn_fn tf, lookup_fn lf, void *ctx)
{
	struct matcher *mt = xcalloc(1, sizeof(*mt));

	mt->cfg = *cfg;
	/* tomb times: microseconds (2^10 ns), coarser for windows so long
	 * that twice the window would not fit in 2^31 units */
	mt->tshift = 10;
	while (mt->tshift < 40 && (cfg->window >> mt->tshift) >= (INT64_C(1) << 29))
		mt->tshift++;
	mt->txn_cb = tf;
	mt->lookup_cb = lf;
	mt->ctx = ctx;
	ptrmap_init(&mt->tb, cfg->max_txns);
	ptrmap_init(&mt->lb, cfg->max_lookups);
	mt->txn_pool.size = sizeof(struct txn);
	mt->lookup_pool.size = sizeof(struct lookup);
	return mt;
}

const struct match_stats *matcher_stats(const struct matcher *mt)
{
	return &mt->st;
}

void matcher_set_stats(struct matcher *mt, const struct match_stats *st)
{
	mt->st = *st;
}

size_t matcher_open_txns(const struct matcher *mt)
{
	return mt->ntxns;
}

/* ---- keys ------------------------------------------------------------------ */

static uint64_t txn_key(uint8_t proto, const struct addr *cli, uint16_t cport,
			const struct addr *srv, uint16_t sport, uint16_t id)
{
	uint64_t ports = (uint64_t)cport << 40 | (uint64_t)sport << 24 | (uint64_t)id << 8 | proto;

	if (cli->family == 4 && srv->family == 4) {
		uint32_t c, s;

		memcpy(&c, cli->a, 4);
		memcpy(&s, srv->a, 4);
		return hash_mix(((uint64_t)c << 32 | s) * UINT64_C(0x9e3779b97f4a7c15) ^ ports);
	}
	return hash_mix(addr_hash(cli, ports) ^ addr_hash(srv, proto) * 31);
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
	return hash_mix(keyhash ^ m->qname_hash ^
			(((uint64_t)m->qtype << 16 | m->qclass) * UINT64_C(0x9e3779b97f4a7c15)));
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
	ptrmap_del(&mt->lb, l->hash, l);
	l->hashed = 0;
}

static void lookup_release(struct matcher *mt, struct lookup *l)
{
	name_unref(l->qname);
	free(l->send_more);
	pool_put(&mt->lookup_pool, l);
}

/* Hand a lookup to the sink and take it off the tables. */
static void lookup_finish(struct matcher *mt, struct lookup *l)
{
	if (l->hashed)
		lookup_unhash(mt, l);
	LIST_UNLINK(mt, l, l_oldest, l_newest);
	mt->nlookups--;
	if (mt->lookup_cb)
		mt->lookup_cb(mt->ctx, l);
	lookup_release(mt, l);
}

static void lookup_note_send(struct lookup *l, ts_t ts, const struct frameref *fr)
{
	l->sends++;
	if (l->nsend_ts < LOOKUP_MAX_SENDS) {
		ts_t off = (ts - l->first_ts) / NS_PER_US;
		uint32_t us = off < 0 ? 0 : off > UINT32_MAX ? UINT32_MAX : (uint32_t)off;

		if (l->nsend_ts < LOOKUP_INLINE_SENDS) {
			l->send_off_us[l->nsend_ts++] = us;
		} else {
			if (!l->send_more)
				l->send_more = xmalloc((LOOKUP_MAX_SENDS - LOOKUP_INLINE_SENDS) *
						       sizeof(*l->send_more));
			l->send_more[l->nsend_ts++ - LOOKUP_INLINE_SENDS] = us;
		}
	}
	if (ts > l->last_send_ts)
		l->last_send_ts = ts;
	l->last_frame = *fr;
}

/*
 * The lookup table is full: give up on the oldest lookup. Its open queries
 * still point at it, so if it has any it stays allocated, off every table,
 * until the last of them finishes (at most one per open query: bounded).
 */
static void lookup_evict(struct matcher *mt)
{
	struct lookup *old = mt->l_oldest;

	mt->st.evicted_lookups++;
	if (old->hashed)
		lookup_unhash(mt, old);
	LIST_UNLINK(mt, old, l_oldest, l_newest);
	mt->nlookups--;
	if (mt->lookup_cb)
		mt->lookup_cb(mt->ctx, old);
	if (old->open_txns)
		old->evicted = 1;
	else
		lookup_release(mt, old);
}

static struct lookup *lookup_attach(struct matcher *mt, struct txn *t, const struct dnsmsg *m,
				    const struct frameref *fr)
{
	uint64_t h = lookup_key(&t->client, t->qname, t->qtype, t->qclass);
	uint32_t i = ptrmap_first(&mt->lb, h);
	struct lookup *l;

	while ((l = ptrmap_next(&mt->lb, h, &i))) {
		if (l->qname != t->qname || l->qtype != t->qtype || l->qclass != t->qclass ||
		    !addr_eq(&l->client, &t->client))
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
	if (mt->nlookups >= mt->cfg.max_lookups)
		lookup_evict(mt);
	l = pool_get(&mt->lookup_pool);
	memset(l, 0, sizeof(*l));
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
	ptrmap_put(&mt->lb, h, l);
	l->hashed = 1;
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
	ptrmap_del(&mt->tb, t->hash, t);
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
	name_unref(t->qname);
	pool_put(&mt->txn_pool, t);
	/* a lookup that can take no more queries ends with its last one */
	if (l && !l->open_txns) {
		if (l->evicted)
			lookup_release(mt, l);
		else if (l->definitive)
			lookup_finish(mt, l);
	}
}

/* ---- tombs ------------------------------------------------------------------ */

/*
 * The ring is a series of chunks of 16,384 tombs (192 KB), not one array
 * that doubles: a
 * chunk is allocated as the head enters it and released as the tail
 * leaves it (one is kept to reuse), so the ring costs what is alive
 * (300,000 tombs, 3.6 MB, on the bench trace) plus at most three partly
 * used or spare chunks, where the doubling array was 8 MB, and 12 MB for
 * the moment of a copy (peak RSS with no detectors: 1 MB chunks 1 MB
 * more than these).
 * Growing past m_cap only re-places chunk pointers. The capacity (m_cap,
 * and so which tombs are forgotten at the cap) is what it was: powers of
 * two from 1,024 up to the first at or above --max-open.
 */
#define TOMB_CHUNK_SHIFT 14
#define TOMB_CHUNK ((uint64_t)1 << TOMB_CHUNK_SHIFT)

struct tomb_chunk {
	/* per tomb, when indexed: seq minus the seq of the next older tomb
	 * in its index bucket, 0 = none (tomb_find()) */
	uint32_t *back;
	struct tomb t[TOMB_CHUNK];
};

static struct tomb_chunk *tomb_chunk(const struct matcher *mt, uint64_t seq)
{
	return mt->chunk[(seq >> TOMB_CHUNK_SHIFT) & (mt->nchunk - 1)];
}

static struct tomb *tomb_at(const struct matcher *mt, uint64_t seq)
{
	return &tomb_chunk(mt, seq)->t[seq & (TOMB_CHUNK - 1)];
}

static uint64_t tomb_keybits(const struct tomb *b)
{
	return (uint64_t)b->key_hi << 32 | b->key_lo;
}

static uint32_t tomb_time(const struct matcher *mt, ts_t ts)
{
	return (uint32_t)((uint64_t)ts >> mt->tshift);
}

/* ts minus the time of b, in ns; exact while under 2^31 units apart */
static ts_t tomb_age(const struct matcher *mt, const struct tomb *b, ts_t ts)
{
	return (ts_t)(int32_t)(tomb_time(mt, ts) - b->ts) * ((ts_t)1 << mt->tshift);
}

static int32_t tomb_ifindex(const struct tomb *b)
{
	return (int32_t)b->ifx - 1;
}

/* Room for m_cap consecutive seqs: they can touch m_cap / TOMB_CHUNK + 2
 * chunks. Chunk pointers move to the slots of the new size. */
static void tomb_grow(struct matcher *mt, uint64_t cap)
{
	uint64_t n = mt->nchunk ? mt->nchunk : 2, c;
	struct tomb_chunk **nc;

	mt->m_cap = cap;
	while (n < cap / TOMB_CHUNK + 2)
		n *= 2;
	if (n == mt->nchunk)
		return;
	nc = xcalloc(n, sizeof(*nc));
	if (mt->chunk)
		for (c = mt->m_lo; c <= mt->m_head >> TOMB_CHUNK_SHIFT; c++)
			nc[c & (n - 1)] = mt->chunk[c & (mt->nchunk - 1)];
	free(mt->chunk);
	mt->chunk = nc;
	mt->nchunk = n;
}

/* release the chunks the tail has left, keeping one to reuse */
static void chunk_free(struct tomb_chunk *c)
{
	if (c)
		free(c->back);
	free(c);
}

static void tomb_release(struct matcher *mt)
{
	while (mt->m_lo < mt->m_tail >> TOMB_CHUNK_SHIFT) {
		struct tomb_chunk **c = &mt->chunk[mt->m_lo++ & (mt->nchunk - 1)];

		if (!mt->spare)
			mt->spare = *c; /* its links are rewritten before use */
		else
			chunk_free(*c);
		*c = NULL;
	}
}

static void tomb_add(struct matcher *mt, uint64_t key, ts_t ts, int32_t ifindex)
{
	struct tomb *b;
	struct tomb_chunk **c;

	if (mt->m_head - mt->m_tail == mt->m_cap) {
		if (mt->m_cap < mt->cfg.max_txns) {
			tomb_grow(mt, mt->m_cap ? 2 * mt->m_cap : 1024);
			/* the index is for the old size: rebuild it when needed */
			free(mt->m_idx);
			mt->m_idx = NULL;
		} else {
			/* full at the cap: the oldest answered key is forgotten */
			mt->m_tail++;
			mt->st.evicted_tombs++;
			tomb_release(mt);
		}
	}
	c = &mt->chunk[(mt->m_head >> TOMB_CHUNK_SHIFT) & (mt->nchunk - 1)];
	if (!*c) {
		/* not calloc: every field is written here, and pages are
		 * touched only as the head reaches them */
		if (mt->spare) {
			*c = mt->spare;
		} else {
			*c = xmalloc(sizeof(**c));
			(*c)->back = NULL;
		}
		mt->spare = NULL;
	}
	b = tomb_at(mt, mt->m_head++);
	b->key_lo = (uint32_t)key;
	b->key_hi = (uint16_t)(key >> 32);
	b->ifx = (uint16_t)(ifindex < 0 ? 0 : ifindex >= 0xfffe ? 0xffff : ifindex + 1);
	b->ts = tomb_time(mt, ts);
	if (ts > mt->m_newest || mt->m_head - mt->m_tail == 1)
		mt->m_newest = ts;
}

/*
 * Every live tomb was added within the window of the newest one (older
 * ones had expired by then), so while the newest is within the window of
 * now, every age is under twice the window and tomb_age() is exact; when
 * it is not, they have all expired.
 */
static void tomb_expire(struct matcher *mt, ts_t now, int all)
{
	if (all || now - mt->m_newest > mt->cfg.window)
		mt->m_tail = mt->m_head;
	else
		while (mt->m_tail < mt->m_head &&
		       tomb_age(mt, tomb_at(mt, mt->m_tail), now) > mt->cfg.window)
			mt->m_tail++;
	tomb_release(mt);
}

static struct tomb *tomb_find(struct matcher *mt, uint64_t key)
{
	uint64_t s, x, nb = mt->m_cap / 4, mask = nb - 1;

	if (mt->m_tail == mt->m_head)
		return NULL;
	key &= TOMB_KEY;
	if (!mt->m_idx) {
		/* a quarter as many buckets as tombs: this is the rare path
		 * (responses that match no open query), chains of a few are
		 * fine, and the index costs 2 bytes per tomb, not 8 */
		mt->m_idx = xcalloc(nb, sizeof(*mt->m_idx));
		mt->m_indexed = mt->m_tail;
	}
	/* index the tombs added since the last search */
	for (s = MAX(mt->m_indexed, mt->m_tail); s < mt->m_head; s++) {
		struct tomb_chunk *c = tomb_chunk(mt, s);
		uint64_t k = tomb_keybits(&c->t[s & (TOMB_CHUNK - 1)]) & mask;
		uint64_t older = mt->m_idx[k];

		if (!c->back)
			c->back = xmalloc(TOMB_CHUNK * sizeof(*c->back));
		c->back[s & (TOMB_CHUNK - 1)] =
			older > mt->m_tail && s + 1 - older < UINT32_MAX ? (uint32_t)(s + 1 - older) : 0;
		mt->m_idx[k] = s + 1;
	}
	mt->m_indexed = mt->m_head;
	x = mt->m_idx[key & mask];
	while (x > mt->m_tail) {
		struct tomb_chunk *c = tomb_chunk(mt, x - 1);
		uint32_t back = c->back[(x - 1) & (TOMB_CHUNK - 1)];

		if (tomb_keybits(&c->t[(x - 1) & (TOMB_CHUNK - 1)]) == key)
			return &c->t[(x - 1) & (TOMB_CHUNK - 1)];
		if (!back)
			break;
		x -= back;
	}
	return NULL;
}

/* ---- time ----------------------------------------------------------------- */

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

/* ---- messages ------------------------------------------------------------- */

static void on_query(struct matcher *mt, const struct dnsmsg *m, const struct frameref *fr,
		     uint64_t h)
{
	uint32_t i = ptrmap_first(&mt->tb, h);
	struct txn *t;

	/* the lookup table's slot, needed after the open-query search */
	__builtin_prefetch(&mt->lb.s[ptrmap_first(&mt->lb,
		hash_mix(addr_hash(&m->src, ((uint64_t)m->qtype << 16) | m->qclass) ^ m->qname_hash))]);
	mt->st.queries++;
	while ((t = ptrmap_next(&mt->tb, h, &i))) {
		if (txn_same_key(t, m->proto, &m->src, m->sport, &m->dst, m->dport, m->id) &&
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
	if (mt->ntxns >= mt->cfg.max_txns)
		txn_finish(mt, mt->t_oldest, TXN_EVICTED);
	t = pool_get(&mt->txn_pool);
	memset(t, 0, sizeof(*t));
	t->hash = h;
	t->seq = ++mt->txn_seq;
	t->qname = name_intern_hashed(m->qname, m->qname_len, m->qname_hash);
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
	ptrmap_put(&mt->tb, h, t);
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

static void on_response(struct matcher *mt, const struct dnsmsg *m, const struct frameref *fr,
			uint64_t h)
{
	uint32_t i = ptrmap_first(&mt->tb, h);
	struct txn *t, *same_key = NULL, *hit = NULL;

	mt->st.responses++;
	while ((t = ptrmap_next(&mt->tb, h, &i))) {
		if (!txn_same_key(t, m->proto, &m->dst, m->dport, &m->src, m->sport, m->id))
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
		/* several open queries on this key: name the newest */
		if (!same_key || t->seq > same_key->seq)
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
			if (other_iface_copy(m->ifindex, tomb_ifindex(b), tomb_age(mt, b, m->ts)))
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

/*
 * The first probe of the open-query table misses the cache for most
 * messages (the table is MBs, touched at random): on the bench trace it
 * was 57 % of matcher_msg()'s time. The decoder calls this before it
 * parses the DNS message, so the load overlaps the parse.
 */
void matcher_prefetch(struct matcher *mt, uint8_t proto, const struct addr *src,
		      uint16_t sport, const struct addr *dst, uint16_t dport, uint16_t id,
		      int response)
{
	uint64_t h = response ? txn_key(proto, dst, dport, src, sport, id)
			      : txn_key(proto, src, sport, dst, dport, id);

	__builtin_prefetch(&mt->tb.s[ptrmap_first(&mt->tb, h)]);
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
		/* the client is the destination of a response */
		on_response(mt, m, &fr,
			    txn_key(m->proto, &m->dst, m->dport, &m->src, m->sport, m->id));
	else if (m->has_question)
		on_query(mt, m, &fr,
			 txn_key(m->proto, &m->src, m->sport, &m->dst, m->dport, m->id));
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
	pool_free(&mt->txn_pool);
	pool_free(&mt->lookup_pool);
	ptrmap_free(&mt->tb);
	ptrmap_free(&mt->lb);
	for (; mt->chunk && mt->m_lo <= mt->m_head >> TOMB_CHUNK_SHIFT; mt->m_lo++)
		chunk_free(mt->chunk[mt->m_lo & (mt->nchunk - 1)]);
	free(mt->chunk);
	chunk_free(mt->spare);
	free(mt->m_idx);
	free(mt);
}
