/*
 * detect-slow-aaaa.c: servers that answer AAAA much slower than A for the
 * same names, or fail AAAA while A works.
 *
 * getaddrinfo(AF_UNSPEC) asks A and AAAA for every name and returns only
 * when both are settled, so the user waits for the slower of the two. An
 * upstream that is broken for AAAA (the CentOS 6 / ISP story in the field
 * notes: seconds, then SERVFAIL) makes every lookup as slow as its AAAA
 * answer even on a host with no IPv6 at all.
 *
 * We pair the A and the AAAA lookup a client made for one name (the second
 * started within pair_gap_s of the first, or of its answer: how
 * getaddrinfo sends them), compare what the user waited for each, first send
 * to final answer, retries included, and count per server the pairs where
 * AAAA was slow or failed while A was fine, and the mirror image: random
 * loss delays A as often as AAAA and is not an AAAA problem, so a server is
 * reported only when AAAA is hit clearly more often. Lookups come finished, so
 * the first of a pair waits in a table keyed by client and name (bounded,
 * swept by age) until the other one arrives.
 *
 * Memory: the waiting lookups dominate (65,536 at the peak on the bench
 * trace, where many names are asked for one type only): each is a 40-byte
 * record (struct pend: client and server as numbers, times as differences
 * and 48-bit offsets, narrow fields packed, a reference to its interned
 * name) in a pool of 1,024-record chunks, found through an open-addressed
 * index of 8-byte slots (load at most 3/4). They were dynamic kmap
 * entries, a malloc of about 190 bytes each with the key bytes (address
 * and name) copied in: 13 MB of the 13 MB this detector added; then 56
 * bytes (5 MB), now 40. How long they wait is not cut shorter: a lookup
 * can pair with one handed over 20 s or more later (a retry chain, then
 * the answer window; 90 pairs on the bench trace were older than two
 * windows), and the sweep's timing decides which of those survive, so it
 * stays as it is. The transactions of an open lookup (the sequence
 * numbers and the answer frame) wait in an open-addressed table of
 * 32-byte records by lookup seq (64 bytes before: 1 MB at the peak, now
 * 0.5 MB); a lookup with one transaction
 * that ends with it, nearly all of them, skips the table: its transaction
 * is staged and the lookup, which the matcher hands over right after it,
 * takes it from there (a malloc and a free per lookup before). The
 * transactions of a lookup already handed over (evicted at the --max-open
 * cap) are not kept: they used to stay in the table for good (4.6 MB of
 * 42.7 with --max-open 20000 on the bench trace).
 */
#include "config.h"
#include "detect.h"
#include "detkit.h"
#include "kmap.h"
#include "names.h"
#include "recidx.h"
#include "stats.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const struct detector_param params[] = {
	{ "pair_gap_s", 0.1, "the A and AAAA lookups of one name are a pair when the second starts this soon after the first, or after its answer" },
	{ "slow_extra_s", 0.5, "AAAA counts as slow when it took at least this much longer than A ..." },
	{ "slow_ratio", 10, "... and at least this many times as long" },
	{ "min_count", 3, "fewer affected pairs than this at a server raise nothing" },
	{ "asymmetry", 3, "AAAA must be hit this many times as often as A (loss that hits both is not an AAAA problem)" },
	{ "warning_share", 0.05, "affected share of a server's pairs for a warning (below: info)" },
	{ "critical_share", 0.25, "... and for critical" },
	{ NULL, 0, NULL },
};

#define LK_TXNS 4

/* sequence numbers of up to LK_TXNS transactions of a lookup */
struct seqs {
	uint64_t v[LK_TXNS];
	uint32_t n;
};

/* what we keep of a finished A or AAAA lookup, to pair and compare */
struct lk {
	struct name *qname;
	struct seqs seqs;
	ts_t first, final, last_send; /* final -1: never answered */
	struct frameref qf, rf;
	uint32_t sends;
	uint16_t qtype, rcode; /* rcode 0xffff: never answered */
	uint32_t cid;	       /* stored whole (PEND_BIG): the client's number */
	struct addr client, server;
};

/*
 * A lookup waiting for its partner, as stored: 40 bytes, not the 120 of a
 * struct lk. The client is its detect_client() number (under 65,536), the
 * server a number in our table of servers, the first send 48 bits after
 * s->t0 with the capture file and the sends (each under 256) above it,
 * the other times differences from the first send, the response frame a
 * 24-bit difference from the query frame in the same file, the rcode,
 * type and kind in a byte, and there is one transaction at most, with a
 * 32-bit number. A lookup that does not fit (a wait of 2^31 ns or more,
 * more transactions, anything past those widths) points to a whole
 * struct lk instead. The records were 56 bytes (64-bit times and
 * sequence number, 16-bit fields apart): 65,536 of them were 3.7 MB at
 * the peak of the bench trace, now 2.6 MB.
 */
#define PK_NOSEQ 0 /* no transaction (all handed over before, --max-open) */
#define PK_ONE 1   /* one transaction, in seq */
#define PK_BIG 2   /* u.big holds all of it */
#define RC_NONE 16 /* rcode of a lookup never answered */
struct pend {
	struct name *qname; /* with cid the key; a reference we hold;
			     * NULL: a free record */
	union {
		uint64_t tf;	/* first - t0 (48 bits), qfile (8), sends (8) */
		struct lk *big; /* kind PK_BIG: all of it */
	} u;
	uint32_t seq;	       /* the transaction; a free record: the next one */
	uint32_t qframe;
	int32_t dfinal, dlast; /* final (if answered), last send: minus first */
	uint32_t rk;	       /* rframe - qframe (24 bits, 0: none), kind (2),
				* aaaa (1), rcode (5, RC_NONE) */
	uint16_t cid, sid;     /* client, server */
};

_Static_assert(sizeof(struct pend) == 40, "struct pend: 40 bytes");

#define TF_FIRST ((UINT64_C(1) << 48) - 1)
/* t0 lies this far before the first first send stored (unordered files) */
#define T0_BACK (INT64_C(1) << 44)

static unsigned pk_kind(const struct pend *p)
{
	return (p->rk >> 6) & 3;
}

/*
 * Transactions of an open lookup: 32 bytes. The sequence numbers of a
 * lookup with more than one transaction (a retry on a new id or port)
 * are in an array of their own: most have one, and the four inline made
 * the record 64 bytes (the table was 1 MB at its peak on the bench trace,
 * now 0.5 MB).
 */
struct open_lk {
	uint64_t lseq; /* the lookup's seq (from 1); 0: empty slot */
	ts_t final;
	union {
		uint64_t seq;	/* n == 1 */
		uint64_t *more; /* n > 1: LK_TXNS of them */
	} u;
	uint32_t rframe;
	uint16_t rfile;
	uint8_t n;
};

_Static_assert(sizeof(struct open_lk) == 32, "struct open_lk: 32 bytes");

#define OPEN_CAP (1u << 18)
#define PEND_CAP (1u << 18)
#define CHUNK 1024
#define NO_REC UINT32_MAX

/* open lookups by seq: linear probing, load at most 3/4 */
struct open_tab {
	struct open_lk *v;
	uint32_t mask, count;
};

/* waiting lookups by client and name: records in chunks, and an index */
struct pend_tab {
	struct recidx ix;
	struct pend **chunk;
	uint32_t nchunk, nrec, free;
};

#define SRV_IDS 65536 /* servers numbered (uint16_t); lookups to later ones are stored whole */

#define SRV_EV 2 /* examples per kind: slow, failed */

#define SRV_TAGS 8192

struct srv {
	uint64_t pairs, slow, failed;
	uint64_t a_pairs, a_hit; /* the other way round: A slow or failed, AAAA fine */
	uint64_t *tags;		 /* transactions of affected pairs, tagged if reported */
	uint32_t ntags, atags;
	ts_t extra_sum, first, last;
	struct hist a_lat, aaaa_lat; /* all pairs; affected pairs */
	struct evidence ev[2][SRV_EV];
	int nev[2];
};

struct cnt {
	uint64_t n;
};

struct state {
	struct detect_ctx *dc;
	struct open_tab open;	 /* lookup seq -> struct open_lk */
	struct open_lk stage;	 /* the one transaction of the lookup ending now */
	struct pend_tab pending; /* client + qname -> struct pend */
	ts_t t0;		 /* times in struct pend are after it */
	int have_t0;
	struct kmap srv_ids;	 /* server -> its number + 1 */
	struct addr *srv;	 /* server by number */
	uint32_t nsrv;
	/* servers seen lately, by a byte of the address: most lookups go to
	 * a few, and the map lookup was half the cost of storing one */
	struct {
		struct addr a;
		uint32_t id; /* number + 1; 0: none */
	} srv_cache[8];
	/* the client of the last transaction and its detect_client(), for
	 * the lookup that comes after it (in txn(), other detectors have
	 * usually looked the number up already) */
	struct addr tx_client;
	uint32_t tx_cid;
	/* the same for the records in servers (kmap values do not move) */
	struct {
		struct addr a;
		struct srv *sv;
	} sv_cache[8];
	struct kmap servers; /* server -> struct srv */
	struct kmap names;   /* qname -> affected pairs */
	size_t sweep_at;
	ts_t now;
	ts_t pair_gap, slow_extra;
	double slow_ratio;
};

static void *init(struct detect_ctx *dc)
{
	struct state *s = xcalloc(1, sizeof(*s));

	s->dc = dc;
	s->open.mask = 63;
	s->open.v = xcalloc(64, sizeof(*s->open.v));
	recidx_init(&s->pending.ix);
	s->pending.free = NO_REC;
	kmap_init(&s->srv_ids, sizeof(uint32_t), SRV_IDS);
	kmap_init(&s->servers, sizeof(struct srv), 1024);
	kmap_init(&s->names, sizeof(struct cnt), 4096);
	s->sweep_at = 4096;
	s->pair_gap = (ts_t)(detect_param(dc, "slow-aaaa", "pair_gap_s") * NS_PER_SEC);
	s->slow_extra = (ts_t)(detect_param(dc, "slow-aaaa", "slow_extra_s") * NS_PER_SEC);
	s->slow_ratio = detect_param(dc, "slow-aaaa", "slow_ratio");
	return s;
}

static size_t akey(const struct addr *a, uint8_t *k)
{
	k[0] = a->family;
	memcpy(k + 1, a->a, 16);
	return a->family == 4 ? 5 : 17;
}

static int wanted(uint16_t qtype, uint16_t qclass)
{
	return (qtype == QTYPE_A || qtype == QTYPE_AAAA) && qclass == 1;
}

/* ---- open lookups ---------------------------------------------------------- */

static uint32_t open_home(const struct open_tab *o, uint64_t lseq)
{
	return (uint32_t)hash_mix(lseq) & o->mask;
}

static struct open_lk *open_find(struct open_tab *o, uint64_t lseq)
{
	uint32_t i;

	for (i = open_home(o, lseq); o->v[i].lseq; i = (i + 1) & o->mask)
		if (o->v[i].lseq == lseq)
			return &o->v[i];
	return NULL;
}

/* The record of lseq, a new zeroed one if it has none; NULL past the cap. */
static struct open_lk *open_get(struct open_tab *o, uint64_t lseq)
{
	struct open_lk *x = open_find(o, lseq);
	uint32_t i, n;

	if (x)
		return x;
	if (o->count >= OPEN_CAP)
		return NULL;
	if (4 * (uint64_t)(o->count + 1) > 3 * ((uint64_t)o->mask + 1)) {
		struct open_lk *old = o->v;

		n = o->mask + 1;
		o->v = xcalloc(2 * (size_t)n, sizeof(*o->v));
		o->mask = 2 * n - 1;
		for (i = 0; i < n; i++) {
			uint32_t j;

			if (!old[i].lseq)
				continue;
			for (j = open_home(o, old[i].lseq); o->v[j].lseq; j = (j + 1) & o->mask)
				;
			o->v[j] = old[i];
		}
		free(old);
	}
	for (i = open_home(o, lseq); o->v[i].lseq; i = (i + 1) & o->mask)
		;
	o->count++;
	o->v[i].lseq = lseq;
	return &o->v[i];
}

/* Remove x (from open_find()): later records of its run move back. */
static void open_del(struct open_tab *o, struct open_lk *x)
{
	uint32_t i = (uint32_t)(x - o->v), j = i, k;

	memset(x, 0, sizeof(*x));
	o->count--;
	for (;;) {
		j = (j + 1) & o->mask;
		if (!o->v[j].lseq)
			return;
		k = open_home(o, o->v[j].lseq);
		/* may it move back to i? only if its home is not in (i, j] */
		if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
			o->v[i] = o->v[j];
			memset(&o->v[j], 0, sizeof(o->v[j]));
			i = j;
		}
	}
}

/* a second to fourth transaction: the numbers go to an array */
static __attribute__((noinline)) void open_more(struct open_lk *o, uint64_t seq)
{
	if (o->n >= LK_TXNS)
		return;
	if (o->n == 1) {
		uint64_t first = o->u.seq;

		o->u.more = xmalloc(LK_TXNS * sizeof(*o->u.more));
		o->u.more[0] = first;
	}
	o->u.more[o->n++] = seq;
}

static inline void open_add(struct open_lk *o, const struct txn *t)
{
	if (!o->n) {
		o->u.seq = t->seq;
		o->n = 1;
	} else {
		open_more(o, t->seq);
	}
	if (t->status == TXN_ANSWERED && t->resp_ts >= o->final) {
		o->final = t->resp_ts;
		o->rframe = t->rframe.frame;
		o->rfile = t->rframe.file;
	}
}

/* What o holds, into x; o gives up its array (o is dropped next). */
static void open_take(struct open_lk *o, struct lk *x)
{
	x->seqs.n = o->n;
	if (o->n == 1)
		x->seqs.v[0] = o->u.seq;
	else if (o->n > 1) {
		memcpy(x->seqs.v, o->u.more, o->n * sizeof(*o->u.more));
		free(o->u.more);
	}
	o->n = 0;
	x->rf.frame = o->rframe;
	x->rf.file = o->rfile;
}

static void prefetch_rec(const struct state *s, const struct name *qname, uint32_t cid);

/* Is t for txn(), with its lookup (l)? Not handed over already
 * (--max-open): nobody would take it. (prefetch() asks too.) */
static int taken(const struct txn *t)
{
	return t->lookup && wanted(t->qtype, t->qclass) && !t->lookup->evicted;
}

/* The only transaction of a lookup that ends with it: the matcher hands
 * the lookup over next, so it need not go into the table. */
static int only_txn(const struct lookup *l)
{
	return l->txns == 1 && !l->open_txns && l->definitive;
}

static void txn(void *st, const struct txn *t)
{
	struct state *s = st;
	const struct lookup *l = t->lookup;
	struct open_lk *o;

	if (!taken(t))
		return;
	s->tx_client = t->client;
	s->tx_cid = detect_client(s->dc);
	if (only_txn(l)) {
		if (s->stage.lseq && (o = open_get(&s->open, s->stage.lseq)))
			*o = s->stage; /* not taken (cannot happen): keep it */
		memset(&s->stage, 0, sizeof(s->stage));
		s->stage.lseq = l->seq;
		open_add(&s->stage, t);
		/* the lookup comes right after the other detectors have seen
		 * this transaction: start loading the record it will find
		 * (its index slot: prefetch() below) */
		if (s->tx_cid != DETECT_NO_CLIENT)
			prefetch_rec(s, l->qname, s->tx_cid);
		return;
	}
	o = open_get(&s->open, l->seq);
	if (o)
		open_add(o, t);
}

/* ---- waiting lookups ------------------------------------------------------- */

static struct pend *pend_rec(const struct pend_tab *p, uint32_t r)
{
	return &p->chunk[r / CHUNK][r % CHUNK];
}

/* The key is the name and the client's number; a client without one is
 * known by its address (in the whole struct lk). */
static uint64_t pend_hash(const struct name *qname, uint32_t cid, const struct addr *client)
{
	uint8_t k[DK_ADDR_KEY];

	if (cid != DETECT_NO_CLIENT)
		return hash_mix(qname->hash + cid * UINT64_C(0x9e3779b97f4a7c15));
	return hash_bytes(k, dk_addr_key(client, k), qname->hash);
}

/* The index slot of (client, qname), or of the empty slot where it would go. */
static uint32_t pend_slot(const struct pend_tab *p, const struct name *qname, uint32_t cid,
			  const struct addr *client, uint64_t h)
{
	uint32_t tag = (uint32_t)(h >> 32), i;

	for (i = recidx_home(&p->ix, tag); recidx_used(&p->ix, i); i = recidx_next(&p->ix, i)) {
		const struct pend *x;

		if (recidx_tag(&p->ix, i) != tag)
			continue;
		x = pend_rec(p, recidx_rec(&p->ix, i));
		if (x->qname != qname)
			continue;
		if (pk_kind(x) != PK_BIG ? x->cid == cid
					 : x->u.big->cid == cid &&
						   (cid != DETECT_NO_CLIENT ||
						    addr_eq(&x->u.big->client, client)))
			return i;
	}
	return i;
}

/* The first record in (client, qname)'s place in the index, if that
 * slot has arrived (a hint: the lookup looks it up properly). */
static void prefetch_rec(const struct state *s, const struct name *qname, uint32_t cid)
{
	const struct pend_tab *p = &s->pending;
	uint32_t tag = (uint32_t)(pend_hash(qname, cid, NULL) >> 32), i = recidx_home(&p->ix, tag);

	if (recidx_used(&p->ix, i) && recidx_tag(&p->ix, i) == tag)
		__builtin_prefetch(pend_rec(p, recidx_rec(&p->ix, i)));
}

/* A new, empty record at the empty index slot i. */
static struct pend *pend_add(struct pend_tab *p, uint32_t i, uint64_t h)
{
	uint32_t r;
	struct pend *x;

	if (p->free != NO_REC) {
		r = p->free;
		p->free = pend_rec(p, r)->seq;
	} else {
		if (p->nrec == p->nchunk * CHUNK) {
			p->chunk = xrealloc(p->chunk, (p->nchunk + 1) * sizeof(*p->chunk));
			p->chunk[p->nchunk++] = xmalloc(CHUNK * sizeof(struct pend));
		}
		r = p->nrec++;
	}
	x = pend_rec(p, r);
	memset(x, 0, sizeof(*x));
	recidx_put(&p->ix, i, (uint32_t)(h >> 32), r);
	return x;
}

/* Remove the record at index slot i (from pend_slot()). */
static void pend_del(struct pend_tab *p, uint32_t i)
{
	uint32_t r = recidx_rec(&p->ix, i);
	struct pend *x = pend_rec(p, r);

	name_unref(x->qname);
	if (pk_kind(x) == PK_BIG)
		free(x->u.big);
	x->qname = NULL;
	x->rk = 0;
	x->seq = p->free;
	p->free = r;
	recidx_del(&p->ix, i);
}

/* The number of server a, NO_REC past SRV_IDS servers. */
static uint32_t server_id(struct state *s, const struct addr *a)
{
	uint8_t k[DK_ADDR_KEY];
	uint32_t *id;
	int over;

	unsigned c = (a->a[3] ^ a->a[15]) & 7;

	if (s->srv_cache[c].id && addr_eq(&s->srv_cache[c].a, a))
		return s->srv_cache[c].id - 1;
	id = kmap_get(&s->srv_ids, k, dk_addr_key(a, k), &over);
	if (over)
		return NO_REC;
	if (!*id) {
		if (!(s->nsrv & (s->nsrv - 1)))
			s->srv = xrealloc(s->srv, (s->nsrv ? 2 * s->nsrv : 1) * sizeof(*s->srv));
		s->srv[s->nsrv] = *a;
		*id = ++s->nsrv;
	}
	s->srv_cache[c].a = *a;
	s->srv_cache[c].id = *id;
	return *id - 1;
}

/* Store lookup x (with client number cid) in record p, over what it held. */
static void pend_set(struct state *s, struct pend *p, const struct lk *x, uint32_t cid)
{
	ts_t df = x->rcode == 0xffff ? (x->final == -1 ? 0 : INT64_MAX) : x->final - x->first;
	ts_t dl = x->last_send - x->first;
	uint64_t off = (uint64_t)x->first - (uint64_t)s->t0; /* wraps if before t0 */
	uint32_t rd = x->rf.frame - x->qf.frame, rc = x->rcode == 0xffff ? RC_NONE : x->rcode;
	uint32_t sid = NO_REC;
	uint64_t wide;

	if (pk_kind(p) == PK_BIG)
		free(p->u.big);
	/* rd 0 stands for no response: a response frame is stored as the
	 * difference, modulo 2^32, in the query's file */
	if (!x->rf.frame && !x->rf.file)
		rd = 0;
	else if (x->rf.file != x->qf.file || rd - 1u >= (1u << 24) - 1u)
		rd = UINT32_MAX;
	/* anything past its field's width (one test for them all) */
	wide = (cid >> 16) | ((x->sends | x->qf.file) >> 8) | (x->seqs.n > 1) |
	       (x->seqs.v[0] >> 32) | (off >> 48) | (rd >> 24) |
	       (x->rcode >= RC_NONE && x->rcode != 0xffff) |
	       (((uint64_t)df + (UINT64_C(1) << 31)) >> 32) | (((uint64_t)dl + (UINT64_C(1) << 31)) >> 32);
	if (wide || (sid = server_id(s, &x->server)) == NO_REC) {
		p->rk = PK_BIG << 6;
		p->u.big = xmalloc(sizeof(*x));
		*p->u.big = *x;
		p->u.big->cid = cid;
		return;
	}
	p->u.tf = off | (uint64_t)x->qf.file << 48 | (uint64_t)x->sends << 56;
	p->seq = (uint32_t)x->seqs.v[0];
	p->cid = (uint16_t)cid;
	p->dfinal = (int32_t)df;
	p->dlast = (int32_t)dl;
	p->sid = (uint16_t)sid;
	p->qframe = x->qf.frame;
	p->rk = rd << 8 | (uint32_t)x->seqs.n << 6 | (uint32_t)(x->qtype == QTYPE_AAAA) << 5 | rc;
}

/* The first send of compact record p */
static ts_t pend_first(const struct state *s, const struct pend *p)
{
	return s->t0 + (ts_t)(p->u.tf & TF_FIRST);
}

/* The lookup stored in p (without its client) */
static void pend_get(const struct state *s, const struct pend *p, struct lk *x)
{
	uint32_t rd = p->rk >> 8, rc = p->rk & 31;

	if (pk_kind(p) == PK_BIG) {
		*x = *p->u.big;
		return;
	}
	memset(x, 0, sizeof(*x));
	x->qname = p->qname;
	x->seqs.v[0] = p->seq;
	x->seqs.n = pk_kind(p) == PK_ONE;
	x->first = pend_first(s, p);
	x->rcode = rc == RC_NONE ? 0xffff : (uint16_t)rc;
	x->final = x->rcode == 0xffff ? -1 : x->first + p->dfinal;
	x->last_send = x->first + p->dlast;
	x->qf.frame = p->qframe;
	x->qf.file = (uint16_t)(p->u.tf >> 48 & 0xff);
	if (rd) {
		x->rf.frame = p->qframe + rd;
		x->rf.file = x->qf.file;
	}
	x->sends = (uint32_t)(p->u.tf >> 56);
	x->qtype = p->rk & 32 ? QTYPE_AAAA : QTYPE_A;
	x->server = s->srv[p->sid];
}

/* drop pending lookups that can no longer find their partner */
static void sweep(struct state *s)
{
	struct pend_tab *p = &s->pending;
	ts_t old = s->now - 2 * detect_window(s->dc);
	uint32_t r;

	for (r = 0; r < p->nrec; r++) {
		const struct pend *x = pend_rec(p, r);
		int big = pk_kind(x) == PK_BIG;
		const struct addr *client = big ? &x->u.big->client : NULL;
		uint32_t cid = big ? x->u.big->cid : x->cid;
		ts_t last_send;

		if (!x->qname)
			continue;
		last_send = big ? x->u.big->last_send : pend_first(s, x) + x->dlast;
		if (last_send < old)
			pend_del(p, pend_slot(p, x->qname, cid, client, pend_hash(x->qname, cid, client)));
	}
	s->sweep_at = MAX((size_t)4096, 2 * (size_t)p->ix.count);
}

/* The record of server a in servers: kmap_get() through sv_cache */
static struct srv *server_rec(struct state *s, const struct addr *a)
{
	unsigned c = (a->a[3] ^ a->a[15]) & 7;
	uint8_t k[17];

	if (s->sv_cache[c].sv && addr_eq(&s->sv_cache[c].a, a))
		return s->sv_cache[c].sv;
	s->sv_cache[c].a = *a;
	return s->sv_cache[c].sv = kmap_get(&s->servers, k, akey(a, k), NULL);
}

static ts_t waited(const struct lk *x)
{
	return x->rcode != 0xffff ? x->final - x->first : x->last_send - x->first;
}

static int failing(uint16_t rc)
{
	return rc == 0xffff || rc == RCODE_SERVFAIL || rc == RCODE_NOTIMP || rc == RCODE_REFUSED ||
	       rc == RCODE_FORMERR || rc == RCODE_NXDOMAIN;
}

static void on_pair(struct state *s, const struct lk *a, const struct lk *q, const struct name *qn)
{
	struct srv *sv;
	ts_t wa = waited(a), wq = waited(q);
	int fail = 0, slow = 0;
	char name[300], da[32], dq[32];
	struct sbuf what = SBUF_INIT;
	struct evidence *e;
	uint32_t i;

	if (a->rcode != RCODE_NOERROR && q->rcode != RCODE_NOERROR)
		return; /* neither worked: not an AAAA problem */
	sv = server_rec(s, &q->server);
	if (q->rcode == RCODE_NOERROR) {
		/* the mirror image, to tell an AAAA problem from loss that
		 * hits both */
		sv->a_pairs++;
		if (failing(a->rcode) ||
		    (wa - wq >= s->slow_extra && (double)wa >= s->slow_ratio * (double)wq))
			sv->a_hit++;
	}
	if (a->rcode != RCODE_NOERROR)
		return;
	sv->pairs++;
	hist_add(&sv->a_lat, (uint64_t)(wa / NS_PER_US));
	if (failing(q->rcode))
		fail = 1;
	else if (wq - wa >= s->slow_extra && (double)wq >= s->slow_ratio * (double)wa)
		slow = 1;
	if (!fail && !slow)
		return;
	sv->slow += (uint64_t)slow;
	sv->failed += (uint64_t)fail;
	sv->extra_sum += wq > wa ? wq - wa : 0;
	hist_add(&sv->aaaa_lat, (uint64_t)(wq / NS_PER_US));
	if (!sv->first || q->first < sv->first)
		sv->first = q->first;
	if (q->first > sv->last)
		sv->last = q->first;
	((struct cnt *)kmap_get(&s->names, qn->wire, qn->len, NULL))->n++;
	for (i = 0; i < q->seqs.n + a->seqs.n; i++) {
		if (sv->ntags == sv->atags) {
			if (sv->atags >= SRV_TAGS)
				break;
			sv->atags = sv->atags ? 2 * sv->atags : 16;
			sv->tags = xrealloc(sv->tags, sv->atags * sizeof(*sv->tags));
		}
		sv->tags[sv->ntags++] = i < q->seqs.n ? q->seqs.v[i] : a->seqs.v[i - q->seqs.n];
	}
	if (sv->nev[fail] >= SRV_EV)
		return;
	name_str(qn, name, sizeof(name));
	fmt_dur(da, sizeof(da), wa);
	fmt_dur(dq, sizeof(dq), wq);
	if (q->rcode == 0xffff)
		sbuf_addf(&what, "AAAA? %s never answered (%u sends over %s); A answered NOERROR in %s",
			  name, q->sends, dq, da);
	else
		sbuf_addf(&what, "AAAA? %s %s after %s%s; A answered NOERROR in %s", name,
			  rcode_str(q->rcode), dq, q->sends > 1 ? " (re-sent)" : "", da);
	e = &sv->ev[fail][sv->nev[fail]++];
	memset(e, 0, sizeof(*e));
	e->txn_seq = q->seqs.n ? q->seqs.v[0] : 0;
	e->ts = q->first;
	e->q = q->qf;
	if (q->rcode != 0xffff)
		e->r = q->rf;
	snprintf(e->what, sizeof(e->what), "%s", what.buf);
	sbuf_release(&what);
}

static void lookup(void *st, const struct lookup *l)
{
	struct state *s = st;
	struct pend_tab *pt = &s->pending;
	struct open_lk *o;
	struct lk cur, pv, *p = NULL;
	uint64_t h;
	uint32_t i, cid;

	if (!wanted(l->qtype, l->qclass))
		return;
	if (l->last_send_ts > s->now)
		s->now = l->last_send_ts;
	if (!s->have_t0) {
		s->t0 = l->first_ts - T0_BACK;
		s->have_t0 = 1;
	}
	memset(&cur, 0, sizeof(cur));
	cur.qname = l->qname;
	cur.client = l->client;
	cur.qtype = l->qtype;
	cur.rcode = l->answered ? l->final_rcode : 0xffff;
	cur.first = l->first_ts;
	cur.final = l->final_ts;
	cur.last_send = l->last_send_ts;
	cur.server = l->first_server;
	cur.qf = l->first_frame;
	cur.sends = l->sends;
	if (s->stage.lseq == l->seq) {
		open_take(&s->stage, &cur);
		s->stage.lseq = 0;
	} else if (s->open.count && (o = open_find(&s->open, l->seq))) {
		open_take(o, &cur);
		open_del(&s->open, o);
	}

	cid = addr_eq(&l->client, &s->tx_client) ? s->tx_cid : detect_client(s->dc);
	h = pend_hash(l->qname, cid, &l->client);
	i = pend_slot(pt, l->qname, cid, &l->client, h);
	if (recidx_used(&pt->ix, i)) {
		pend_get(s, pend_rec(pt, recidx_rec(&pt->ix, i)), &pv);
		p = &pv;
	}
	if (p && p->qtype != cur.qtype) {
		const struct lk *e1 = p->first <= cur.first ? p : &cur;
		const struct lk *e2 = e1 == p ? &cur : p;
		ts_t ref = e1->rcode != 0xffff ? MAX(e1->first, e1->final) : e1->first;

		if (e2->first - e1->first <= s->pair_gap || e2->first - ref <= s->pair_gap) {
			on_pair(s, cur.qtype == QTYPE_A ? &cur : p, cur.qtype == QTYPE_A ? p : &cur,
				l->qname);
			pend_del(pt, i);
			return;
		}
	}
	if (pt->ix.count >= s->sweep_at) {
		sweep(s);
		i = pend_slot(pt, l->qname, cid, &l->client, h);
	}
	if (recidx_used(&pt->ix, i)) {
		/* the same name: the record keeps its reference */
		pend_set(s, pend_rec(pt, recidx_rec(&pt->ix, i)), &cur, cid);
	} else if (pt->ix.count < PEND_CAP) {
		struct pend *x = pend_add(pt, i, h);

		x->qname = name_ref(l->qname);
		pend_set(s, x, &cur, cid);
	}
}

static int cmp_srv(const void *x, const void *y)
{
	const struct srv *a = kmap_val(*(const struct kmap_ent *const *)x);
	const struct srv *b = kmap_val(*(const struct kmap_ent *const *)y);
	uint64_t na = a->slow + a->failed, nb = b->slow + b->failed;

	if (na != nb)
		return na > nb ? -1 : 1;
	return a->first < b->first ? -1 : a->first > b->first;
}

static int cmp_cnt(const void *x, const void *y)
{
	const struct kmap_ent *a = *(const struct kmap_ent *const *)x;
	const struct kmap_ent *b = *(const struct kmap_ent *const *)y;
	const struct cnt *ca = kmap_val(a), *cb = kmap_val(b);

	if (ca->n != cb->n)
		return ca->n > cb->n ? -1 : 1;
	if (a->klen != b->klen)
		return a->klen < b->klen ? -1 : 1;
	return memcmp(a->key, b->key, a->klen);
}

static void finish(void *st, struct findings *out)
{
	struct state *s = st;
	struct detect_ctx *dc = s->dc;
	uint64_t min_count = (uint64_t)detect_param(dc, "slow-aaaa", "min_count");
	double warn = detect_param(dc, "slow-aaaa", "warning_share");
	double crit = detect_param(dc, "slow-aaaa", "critical_share");
	double asym = detect_param(dc, "slow-aaaa", "asymmetry");
	struct kmap_ent **e = kmap_entries(&s->servers), **ne = NULL;
	size_t i, k;

	qsort(e, s->servers.count, sizeof(*e), cmp_srv);
	for (i = 0; i < s->servers.count; i++) {
		const struct srv *sv = kmap_val(e[i]);
		uint64_t bad = sv->slow + sv->failed;
		double share = sv->pairs ? (double)bad / (double)sv->pairs : 0;
		char srvname[64], a50[32], q50[32], qmax[32], extra[32];
		struct addr addr;
		struct finding *f;
		int sev, j;

		if (bad < min_count || (double)bad < asym * (double)sv->a_hit)
			continue;
		memset(&addr, 0, sizeof(addr));
		addr.family = e[i]->key[0];
		memcpy(addr.a, e[i]->key + 1, e[i]->klen - 1u);
		addr_str(&addr, srvname, sizeof(srvname));
		sev = share >= crit ? SEV_CRITICAL : share >= warn ? SEV_WARNING : SEV_INFO;
		f = finding_new(out, "slow-aaaa", sev);
		f->count = bad;
		f->first = sv->first;
		f->last = sv->last;
		fmt_dur(a50, sizeof(a50), (ts_t)hist_pct(&sv->a_lat, 50) * NS_PER_US);
		fmt_dur(q50, sizeof(q50), (ts_t)hist_pct(&sv->aaaa_lat, 50) * NS_PER_US);
		fmt_dur(qmax, sizeof(qmax), (ts_t)sv->aaaa_lat.max_us * NS_PER_US);
		fmt_dur(extra, sizeof(extra), sv->extra_sum);
		finding_set(&f->summary,
			    "%s: AAAA slow or failing while A works in %" PRIu64 " of %" PRIu64
			    " A/AAAA lookups (%.0f%%); those AAAA took %s (median), A %s",
			    srvname, bad, sv->pairs, 100.0 * share, q50, a50);
		sbuf_addf(&f->details, "    pairs     %" PRIu64 " A/AAAA lookup pairs with A NOERROR: %" PRIu64
			  " AAAA slow, %" PRIu64 " AAAA failed (error or no answer)\n",
			  sv->pairs, sv->slow, sv->failed);
		sbuf_addf(&f->details, "    waited    A median %s; affected AAAA median %s, max %s; %s added in all\n",
			  a50, q50, qmax, extra);
		sbuf_addf(&f->details, "    A side    %" PRIu64 " pairs where A was slow or failed and AAAA worked\n",
			  sv->a_hit);
		finding_affected(f->servers, &f->nservers, srvname);
		sbuf_addf(&f->json, "\"server\": ");
		sbuf_add_json_str(&f->json, srvname);
		sbuf_addf(&f->json, ", \"pairs\": %" PRIu64 ", \"slow\": %" PRIu64 ", \"failed\": %" PRIu64
			  ", \"share\": %.6f, \"a_median_ms\": %.3f, \"aaaa_median_ms\": %.3f"
			  ", \"aaaa_max_ms\": %.3f, \"added_ms\": %.3f, \"a_hit\": %" PRIu64,
			  sv->pairs, sv->slow, sv->failed, share,
			  (double)hist_pct(&sv->a_lat, 50) / 1000.0,
			  (double)hist_pct(&sv->aaaa_lat, 50) / 1000.0,
			  (double)sv->aaaa_lat.max_us / 1000.0, (double)sv->extra_sum / NS_PER_MS, sv->a_hit);
		for (k = 0; k < sv->ntags; k++)
			detect_tag(dc, "slow-aaaa", sv->tags[k]);
		if (!ne) {
			ne = kmap_entries(&s->names);
			qsort(ne, s->names.count, sizeof(*ne), cmp_cnt);
		}
		/* names: the most affected overall (the table is not per server) */
		for (k = 0; k < s->names.count && k < FINDING_MAX_AFFECTED; k++) {
			struct sbuf nb = SBUF_INIT;

			name_to_text(ne[k]->key, (uint8_t)ne[k]->klen, &nb);
			finding_affected(f->names, &f->nnames, nb.buf);
			sbuf_release(&nb);
		}
		finding_set(&f->explanation,
			    "getaddrinfo() asks A and AAAA for every name and returns only when both are "
			    "settled, so the user waits for the slower one. This server answers A at once "
			    "but takes far longer for AAAA, or fails it (SERVFAIL, no answer, NXDOMAIN "
			    "for a name that has an A record), so every lookup of these names costs the "
			    "AAAA time, retries and timeouts included, even on a host without IPv6 that "
			    "will never use the answer. Usually the resolver's upstream is broken for AAAA "
			    "(a middlebox or old server that drops or mishandles AAAA questions), or the "
			    "names' authoritative servers are.");
		finding_set(&f->fix,
			    "Report it to whoever runs the server: its upstream is broken for AAAA; test "
			    "with `dig AAAA NAME @SERVER`. On the clients: glibc 2.36 and later has "
			    "`options no-aaaa` in resolv.conf (no AAAA queries at all); applications can "
			    "ask for AF_INET only. Editing gai.conf does not stop the AAAA queries.");
		for (j = 0; j < 2 * SRV_EV; j++) {
			const struct evidence *ev = &sv->ev[j % 2][j / 2];

			if (j / 2 < sv->nev[j % 2])
				finding_evidence_raw(f, ev->txn_seq, ev->ts, ev->q, ev->r, ev->what);
		}
	}
	free(ne);
	free(e);
}

static void destroy(void *st)
{
	struct state *s = st;
	struct kmap_ent **e = kmap_entries(&s->servers);
	size_t i;

	for (i = 0; i < s->servers.count; i++) {
		struct srv *sv = kmap_val(e[i]);

		hist_free(&sv->a_lat);
		hist_free(&sv->aaaa_lat);
		free(sv->tags);
	}
	free(e);
	if (s->servers.other) {
		struct srv *o = s->servers.other;

		hist_free(&o->a_lat);
		hist_free(&o->aaaa_lat);
		free(o->tags);
	}
	for (i = 0; i <= s->open.mask; i++)
		if (s->open.v[i].lseq && s->open.v[i].n > 1)
			free(s->open.v[i].u.more);
	free(s->open.v);
	for (i = 0; i < s->pending.nrec; i++) {
		struct pend *x = pend_rec(&s->pending, (uint32_t)i);

		name_unref(x->qname);
		if (pk_kind(x) == PK_BIG)
			free(x->u.big);
	}
	kmap_free(&s->srv_ids);
	free(s->srv);
	for (i = 0; i < s->pending.nchunk; i++)
		free(s->pending.chunk[i]);
	free(s->pending.chunk);
	recidx_free(&s->pending.ix);
	kmap_free(&s->servers);
	kmap_free(&s->names);
	free(s);
}

/* Look-ahead (detect.h): the index slot where t's lookup will look for
 * its partner, when it is t's only transaction (txn() then prefetches
 * the record in that slot). pend_slot() waiting for the slot was 4 % of
 * a run with every detector. */
static void prefetch(void *st, const struct txn *t, uint32_t client)
{
	struct state *s = st;

	if (client == DETECT_NO_CLIENT || !taken(t) || !only_txn(t->lookup))
		return;
	recidx_prefetch(&s->pending.ix, (uint32_t)(pend_hash(t->lookup->qname, client, NULL) >> 32));
}

const struct detector detector_slow_aaaa = {
	.name = "slow-aaaa",
	.summary = "servers answering AAAA far slower than A, or failing AAAA while A works",
	.params = params,
	.init = init,
	.txn = txn,
	.lookup = lookup,
	.finish = finish,
	.free = destroy,
	.prefetch = prefetch,
};
