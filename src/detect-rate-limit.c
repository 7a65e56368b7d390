/*
 * detect-rate-limit.c: answers capped at a ceiling while more is asked.
 *
 * In the field notes' PTR flood, the resolver sent the AWS VPC resolver
 * 257,430 packets in a minute and got back 61,385: about 1,023 a second,
 * every second, the limit of 1,024 packets per second per network
 * interface. A limiter (that one, iptables hashlimit, a server at the end
 * of its capacity) leaves a signature no random loss does: the answered
 * rate is flat, the same count second after second, while the offered rate
 * is above it and the rest goes unanswered.
 *
 * So per (interface, server) and per (client address, server) we count, per
 * second, the queries sent (retransmissions included: a limiter counts
 * packets) and the answers received, and look for plateaus: at least
 * min_seconds consecutive seconds where at least min_loss of the offered
 * queries went unanswered and the answered count stayed flat: within
 * tolerance of itself, and much steadier than random loss of the same share
 * would leave it (see flat()). Answers are counted twice, by the second they arrived (a limiter
 * on the answers' path) and by the second their query left (a limiter on
 * the queries' path, as AWS's is, seen through a varying latency); a
 * plateau in either counts. With --rate-budget N (rate-limit.budget), the
 * seconds where more than N queries were sent are flagged as well.
 *
 * The interface is the capture's (pcapng interface blocks, SLL2 ifindex).
 * Without one, the client address stands in for it and the finding says so;
 * a plateau per client that an interface plateau already explains (same
 * server, same time) is not reported twice.
 *
 * Streaming and bounded: a transaction reaches us when it is answered or
 * given up on (up to the answer window after it was sent), so each key keeps
 * a ring of the last window + RING_SLACK seconds and feeds the seconds that
 * fall off it to its plateau trackers. Keys are a capped kmap; plateaus and
 * budget episodes are kept up to a cap per key (all counted).
 *
 * Transactions to tag are known only at the end, so each one leaves a tag
 * record: its key ids in a bucket for its second, in a slot for its seq
 * (2 bytes, not a 16-byte tagbuf record). Once a second has fallen off the
 * ring of every key busy enough to have counted since, its bucket is
 * judged: a record whose second is final for its keys and inside no plateau
 * or episode that is kept or still open can never be tagged and goes; the
 * others move to the kept stream (varint deltas of seq and second, then
 * the ids), judged again whenever it has doubled. So what is kept is about
 * a ring's worth of traffic plus the seconds of real plateaus, at most
 * TAG_BYTES bytes (later records are dropped and counted). On the 2 M-packet
 * bench trace (1 M transactions, no plateau) this took the detector from
 * 16 MB of tag records to about 1 MB.
 */
#include "config.h"
#include "detect.h"
#include "detkit.h"
#include "input.h"
#include "kmap.h"
#include "names.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const struct detector_param params[] = {
	{ "min_seconds", 5, "seconds the answered rate must stay flat for a plateau" },
	{ "tolerance", 0.03, "how far (share of the ceiling) a plateau second may stray; 2 answers always allowed" },
	{ "noise", 0.05, "a plateau's variance must stay under this share of what random loss would give" },
	{ "min_loss", 0.10, "share of a second's offered queries that must go unanswered" },
	{ "min_ceiling", 50, "ceilings below this many answers per second are not reported" },
	{ "critical_loss", 0.5, "unanswered share over the plateaus (or budget seconds) for critical" },
	{ "budget", 0, "known packet budget in queries per second per interface and server (0: off); --rate-budget" },
	{ NULL, 0, NULL },
};

#define RING_SLACK 3
#define RING_MAX UINT16_MAX /* largest count in the 16-bit ring */
#define MAX_KEYS 8192 /* < 65536: tag buckets hold key ids in 16 bits */
#define KEPT 16
#define EPISODES_KEPT 64
#define SLACK_ANSWERS 2
#define NOISE_FLOOR 1.0

enum { COL_OFF, COL_ANS_R, COL_ANS_Q, NCOLS };
enum { BY_RESPONSE = 0, BY_QUERY = 1 };
enum { KIND_IFACE = 'i', KIND_CLIENT = 'c' };

struct plateau {
	int64_t start, end; /* epoch seconds, inclusive */
	uint32_t amin, amax, omin, omax;
	uint64_t off, ans;
	double ans2; /* sum of squared answered counts, for the variance */
	uint8_t by;
};

struct plist {
	struct plateau *v;
	uint32_t n;
	uint64_t total;
};

/* The run is allocated with the key's first saturated second: most keys
 * never have one (none on the bench trace), and inline the two runs were
 * 112 of a key's 376 bytes. */
struct tracker {
	struct plateau *run; /* NULL until the first */
	struct plist kept;
	uint8_t in_run;
};

struct episode {
	int64_t start, end;
	uint32_t peak;
	uint64_t off, ans;
};

struct budget {
	int in_ep;
	struct episode ep;
	struct episode *v;
	uint32_t n;
	uint64_t total, seconds;
};

/*
 * A key: 184 bytes and its ring inline (84 bytes with the default window),
 * in the key table's slab: 272 bytes, was 448. Was 360 bytes and a
 * separately allocated ring: the budget tracker (80 bytes) is now
 * allocated only with a budget, and the ring costs no pointer chase and no
 * malloc header. The ring counts in 16 bits: a key that counts more than
 * 65,535 in one second and column (none on the bench trace: 2,000 keys,
 * 32,000 transactions a second) moves to a 32-bit copy of its own.
 */
struct rkey {
	uint32_t id; /* 1-based; 0 until set up */
	uint8_t kind;
	uint8_t standin; /* client key: some of its queries had no interface */
	uint8_t ring_on;
	int32_t ifindex;
	struct addr client, server;
	int64_t head, maxsec;
	/* the second of ex->last_ans (INT64_MIN: none yet), here so that an
	 * answer in the same second as the example does not load the
	 * examples: that was 2.3 % of a run with every detector (perf) */
	int64_t ans_sec;
	uint64_t late;
	struct tracker tr[2];
	struct budget *bud; /* with a budget only */
	struct keyex *ex;   /* allocated on the first unanswered query */
	uint32_t *wide;	    /* the ring in 32 bits, once a count needs it */
	uint16_t ring[];    /* nslots rows of NCOLS */
};

/*
 * Examples: the first unanswered queries, the latest one, the latest answer.
 * Kept as what txn_describe() needs (the name by reference), described only
 * for the keys that get a finding: 48 bytes an example, not a 192-byte
 * struct evidence with its text, and no name conversion while counting.
 * Only the answered one has a response frame (kept beside it): 256 bytes
 * a key, was 288 with one in each.
 */
#define EX_FIRST 3
struct ex {
	uint64_t seq;
	ts_t ts, dur; /* first send; to the answer, or to the last send */
	struct name *qname;
	struct frameref q;
	uint16_t qtype, resp_flags, retrans;
	uint8_t status;
};

struct keyex {
	struct ex first[EX_FIRST], last_lost, last_ans; /* unanswered, but last_ans */
	struct frameref last_ans_r;
	uint8_t nfirst, have_lost; /* last_ans: when the key's ans_sec is set */
};

/* Tag records (see the top); TAG_BYTES bounds them all. */
#define TAG_BYTES (8u << 20)
#define TAG_PRUNE_MIN (64u << 10)
/* A second is judged once records of the second JUDGE_LAG + nslots after it
 * come: by then a key with a few transactions a second has counted in one
 * of the seconds in between, so it is past the judged one (with no lag, a
 * fifth of the bench trace's records had to be kept for another look). */
#define JUDGE_LAG 2
struct tagstream {
	uint8_t *b;
	size_t n, alloc;
	uint64_t prev_seq;
	int64_t prev_sec;
};

/*
 * The records of one second, by seq: a second's transactions have the
 * seqs of its queries, nearly a run, so a slot per seq from the lowest
 * holds them with no seq at all: the key ids, 0 where there is none. 2
 * bytes a transaction (4 with interfaces), not 4 to 5 for a coded record.
 */
struct bucket {
	int64_t sec;	     /* the second of its records, when it has any */
	uint64_t base;	     /* seq of slot 0 */
	uint32_t n, alloc;   /* slots in use, allocated */
	uint32_t nrec;
	uint16_t *cid, *iid; /* client key id, interface key id (when any) */
};

/*
 * Per client, the keys its transactions counted in last (its own and its
 * interface's, per server): most transactions find their keys with an
 * array load (dk_client()) and an address compare instead of hashing a
 * key of up to 35 bytes into the key table, which was the detector's
 * largest cost. Only an index: the key table still holds the keys (and
 * their order). Key ids (16 bits: MAX_KEYS), not pointers: 8 bytes a
 * client, not 32, and byid[] is small enough to stay in cache.
 */
#define CIDX 4
struct cidx {
	uint16_t id[CIDX]; /* 0: none */
};

struct params {
	uint32_t min_seconds;
	double tol, noise, min_loss, min_ceiling, budget;
};

struct state {
	struct detect_ctx *dc;
	struct params p;
	uint32_t nslots, nkeys;
	struct kmap keys;
	struct dk_clients cidx; /* client -> struct cidx */
	uint64_t ignored; /* transactions whose keys did not fit the table */
	struct rkey **byid; /* key id - 1 -> key, for judging tag records */
	size_t byid_alloc;
	struct bucket *bk;   /* nbk buckets: seconds done + 1 .. done + nbk */
	uint32_t nbk;
	int64_t done;	     /* seconds up to this one are judged */
	int started;
	struct tagstream kept;
	size_t kept_prune_at, tag_bytes;
	uint64_t tags_dropped;
};

static void *init(struct detect_ctx *dc)
{
	struct state *s = xcalloc(1, sizeof(*s));

	s->dc = dc;
	s->p.min_seconds = (uint32_t)detect_param(dc, "rate-limit", "min_seconds");
	if (s->p.min_seconds < 1)
		s->p.min_seconds = 1;
	s->p.tol = detect_param(dc, "rate-limit", "tolerance");
	s->p.noise = detect_param(dc, "rate-limit", "noise");
	s->p.min_loss = detect_param(dc, "rate-limit", "min_loss");
	s->p.min_ceiling = detect_param(dc, "rate-limit", "min_ceiling");
	s->p.budget = detect_param(dc, "rate-limit", "budget");
	s->nslots = (uint32_t)(detect_window(dc) / NS_PER_SEC) + 1 + RING_SLACK;
	/* the ring inline; slab records are multiples of 8 bytes */
	kmap_init(&s->keys, (sizeof(struct rkey) + (size_t)s->nslots * NCOLS * sizeof(uint16_t) + 7) & ~(size_t)7,
		  MAX_KEYS);
	dk_clients_init(&s->cidx, dc, sizeof(struct cidx), DETECT_MAX_CLIENTS);
	s->nbk = s->nslots + JUDGE_LAG;
	s->bk = xcalloc(s->nbk, sizeof(*s->bk));
	s->kept_prune_at = TAG_PRUNE_MIN;
	return s;
}

/* ---- plateaus: one tracker per way of counting answers ------------------ */

static void plist_add(struct plist *l, const struct plateau *p)
{
	l->total++;
	if (l->n >= KEPT)
		return;
	if (!l->v)
		l->v = xcalloc(KEPT, sizeof(*l->v));
	l->v[l->n++] = *p;
}

static void tracker_close(const struct params *p, struct tracker *t, struct plist *out)
{
	if (t->in_run && t->run->end - t->run->start + 1 >= (int64_t)p->min_seconds)
		plist_add(out, t->run);
	t->in_run = 0;
}

static int within_tol(const struct params *p, uint32_t lo, uint32_t hi)
{
	double allow = p->tol * hi;

	return hi - lo <= (allow > SLACK_ANSWERS ? allow : SLACK_ANSWERS);
}

/*
 * Would the run stay a plateau with one more second (off, ans)? Its answered
 * counts must stay within tolerance of each other, and vary much less than
 * random loss of the same share would make them: with answer probability q,
 * a second with o queries has binomial variance o*q*(1-q). A limiter passes
 * the same count every second (give or take the packets at a second's
 * boundary: a variance of NOISE_FLOOR is always allowed); a constant share
 * of random loss does not.
 */
static int flat(const struct params *p, const struct plateau *r, uint32_t off, uint32_t ans)
{
	uint32_t lo = MIN(r->amin, ans), hi = MAX(r->amax, ans);
	double n = (double)(r->end - r->start + 2), sa = (double)(r->ans + ans);
	double so = (double)(r->off + off), q = sa / so;
	double var = (r->ans2 + (double)ans * ans - sa * sa / n) / (n - 1);
	double allow = p->noise * q * (1 - q) * so / n;

	if (!within_tol(p, lo, hi))
		return 0;
	return var <= (allow > NOISE_FLOOR ? allow : NOISE_FLOOR);
}

static void tracker_feed(const struct params *p, struct tracker *t, int64_t sec, uint32_t off,
			 uint32_t ans, struct plist *out)
{
	struct plateau *r = t->run;
	int sat = off > ans && (double)ans >= p->min_ceiling &&
		  (double)(off - ans) >= p->min_loss * (double)off;

	if (!sat) {
		tracker_close(p, t, out);
		return;
	}
	if (t->in_run && sec == r->end + 1 && flat(p, r, off, ans)) {
		r->end = sec;
		r->amin = MIN(r->amin, ans);
		r->amax = MAX(r->amax, ans);
		r->omin = MIN(r->omin, off);
		r->omax = MAX(r->omax, off);
		r->off += off;
		r->ans += ans;
		r->ans2 += (double)ans * ans;
		return;
	}
	tracker_close(p, t, out);
	if (!r)
		r = t->run = xcalloc(1, sizeof(*r));
	t->in_run = 1;
	r->start = r->end = sec;
	r->amin = r->amax = ans;
	r->omin = r->omax = off;
	r->off = off;
	r->ans = ans;
	r->ans2 = (double)ans * ans;
}

/* ---- the budget ------------------------------------------------------------ */

static void budget_close(struct budget *b, struct episode *out, uint32_t *nout, uint64_t *total)
{
	if (!b->in_ep)
		return;
	(*total)++;
	if (*nout < EPISODES_KEPT)
		out[(*nout)++] = b->ep;
	b->in_ep = 0;
}

static void budget_feed(const struct params *p, struct budget *b, int64_t sec, uint32_t off,
			uint32_t ans, struct episode *out, uint32_t *nout, uint64_t *total)
{
	if (p->budget <= 0)
		return;
	if ((double)off <= p->budget) {
		budget_close(b, out, nout, total);
		return;
	}
	b->seconds++;
	if (b->in_ep && sec == b->ep.end + 1) {
		b->ep.end = sec;
		b->ep.peak = MAX(b->ep.peak, off);
		b->ep.off += off;
		b->ep.ans += ans;
		return;
	}
	budget_close(b, out, nout, total);
	b->in_ep = 1;
	b->ep.start = b->ep.end = sec;
	b->ep.peak = off;
	b->ep.off = off;
	b->ep.ans = ans;
}

/* ---- the per-key ring ------------------------------------------------------ */

static void feed_second(struct state *s, struct rkey *k, int64_t sec, const uint32_t *row)
{
	int i;

	for (i = 0; i < 2; i++)
		tracker_feed(&s->p, &k->tr[i], sec, row[COL_OFF], row[i == BY_RESPONSE ? COL_ANS_R : COL_ANS_Q],
			     &k->tr[i].kept);
	if (s->p.budget <= 0)
		return;
	if (!k->bud)
		k->bud = xcalloc(1, sizeof(*k->bud));
	/* room for episodes only once this key goes over the budget */
	if (!k->bud->v && (double)row[COL_OFF] > s->p.budget)
		k->bud->v = xcalloc(EPISODES_KEPT, sizeof(*k->bud->v));
	budget_feed(&s->p, k->bud, sec, row[COL_OFF], row[COL_ANS_R], k->bud->v, &k->bud->n,
		    &k->bud->total);
}

/* The counts of second sec (in the ring) into row. */
static void row_get(const struct state *s, const struct rkey *k, int64_t sec, uint32_t *row)
{
	size_t at = (size_t)((uint64_t)sec % s->nslots) * NCOLS;
	int c;

	if (k->wide) {
		for (c = 0; c < NCOLS; c++)
			row[c] = k->wide[at + c];
	} else {
		for (c = 0; c < NCOLS; c++)
			row[c] = k->ring[at + c];
	}
}

static void row_clear(const struct state *s, struct rkey *k, int64_t sec)
{
	size_t at = (size_t)((uint64_t)sec % s->nslots) * NCOLS;

	if (k->wide)
		memset(k->wide + at, 0, NCOLS * sizeof(*k->wide));
	else
		memset(k->ring + at, 0, NCOLS * sizeof(*k->ring));
}

/* The ring in 32 bits from now on: a count is past 16. */
static __attribute__((noinline)) void widen(const struct state *s, struct rkey *k)
{
	size_t i;

	k->wide = xmalloc((size_t)s->nslots * NCOLS * sizeof(*k->wide));
	for (i = 0; i < (size_t)s->nslots * NCOLS; i++)
		k->wide[i] = k->ring[i];
}

/* The seconds before stop fall off the ring: they are final, feed them
 * on. Out of line: ring_add() runs four times a transaction, this about
 * once a second a key. */
static __attribute__((noinline)) void ring_flush(struct state *s, struct rkey *k, int64_t stop)
{
	int64_t i, flushed = 0;

	for (i = k->head; i < stop && flushed < s->nslots; i++, flushed++) {
		uint32_t row[NCOLS];

		row_get(s, k, i, row);
		feed_second(s, k, i, row);
		row_clear(s, k, i);
	}
	k->head = stop;
}

static __attribute__((noinline)) void ring_add_slow(struct state *s, struct rkey *k, int64_t sec,
						   int col, uint32_t n)
{
	size_t at;

	if (!k->ring_on) {
		k->ring_on = 1;
		k->head = k->maxsec = sec;
	}
	if (sec < k->head) {
		k->late++;
		return;
	}
	if (sec >= k->head + s->nslots)
		ring_flush(s, k, sec - s->nslots + 1);
	at = (size_t)((uint64_t)sec % s->nslots) * NCOLS + (size_t)col;
	if (!k->wide) {
		uint32_t v = k->ring[at] + n;

		if (v <= RING_MAX && v >= n) {
			k->ring[at] = (uint16_t)v;
			goto out;
		}
		widen(s, k);
	}
	k->wide[at] += n;
out:
	if (sec > k->maxsec)
		k->maxsec = sec;
}

/* Count n in column col of second sec: inline, the common case (a
 * second in the ring, 16-bit counts that do not overflow) calls nothing,
 * so it costs no saving of registers. */
static inline void ring_add(struct state *s, struct rkey *k, int64_t sec, int col, uint32_t n)
{
	if (k->ring_on && !k->wide && sec >= k->head && sec < k->head + s->nslots) {
		size_t at = (size_t)((uint64_t)sec % s->nslots) * NCOLS + (size_t)col;
		uint32_t v = k->ring[at] + n;

		if (v <= RING_MAX && v >= n) {
			k->ring[at] = (uint16_t)v;
			if (sec > k->maxsec)
				k->maxsec = sec;
			return;
		}
	}
	ring_add_slow(s, k, sec, col, n);
}

static struct rkey *get_key(struct state *s, const uint8_t *kb, size_t klen, const struct txn *t,
			    int kind)
{
	int over;
	struct rkey *k = kmap_get(&s->keys, kb, klen, &over);

	if (over) {
		s->ignored++;
		return NULL;
	}
	if (!k->id) {
		k->id = ++s->nkeys;
		if (s->nkeys > s->byid_alloc) {
			s->byid_alloc = s->byid_alloc ? s->byid_alloc * 2 : 64;
			s->byid = xrealloc(s->byid, s->byid_alloc * sizeof(*s->byid));
		}
		s->byid[k->id - 1] = k;
		k->kind = (uint8_t)kind;
		k->ans_sec = INT64_MIN; /* no second is: ts / NS_PER_SEC > INT64_MIN */
		k->ifindex = kind == KIND_IFACE ? t->ifindex : -1;
		k->client = t->client;
		k->server = t->server;
	}
	return k;
}

static void set_ex(struct ex *e, const struct txn *t)
{
	if (e->qname)
		name_unref(e->qname);
	e->qname = name_ref(t->qname);
	e->seq = t->seq;
	e->ts = t->first_ts;
	e->q = t->qframe;
	if (t->status == TXN_ANSWERED)
		e->dur = t->resp_ts - t->first_ts;
	else
		e->dur = t->last_ts - t->first_ts;
	e->qtype = t->qtype;
	e->resp_flags = t->resp_flags;
	e->retrans = t->retrans;
	e->status = t->status;
}

/* txn_describe() of the transaction an example was taken from */
static void ex_describe(const struct ex *e, char *buf, size_t n)
{
	struct txn t;

	memset(&t, 0, sizeof(t));
	t.qname = e->qname;
	t.first_ts = e->ts;
	t.resp_ts = t.last_ts = e->ts + e->dur;
	t.qtype = e->qtype;
	t.resp_flags = e->resp_flags;
	t.retrans = e->retrans;
	t.status = e->status;
	txn_describe(&t, buf, n);
}

/* The latest examples are refreshed once per second of capture, not for
 * every transaction (this was for the name conversion; it also keeps
 * which example is shown as it was). */
static int stale(const struct ex *e, const struct txn *t)
{
	return e->ts / NS_PER_SEC != t->first_ts / NS_PER_SEC;
}

static void keep_example(struct rkey *k, const struct txn *t)
{
	if (t->status == TXN_ANSWERED) {
		/* none yet, or stale(&k->ex->last_ans, t) */
		if (k->ex && k->ans_sec != t->first_ts / NS_PER_SEC) {
			set_ex(&k->ex->last_ans, t);
			k->ex->last_ans_r = t->rframe;
			k->ans_sec = t->first_ts / NS_PER_SEC;
		}
		return;
	}
	if (!k->ex)
		k->ex = xcalloc(1, sizeof(*k->ex));
	if (k->ex->nfirst < EX_FIRST) {
		set_ex(&k->ex->first[k->ex->nfirst++], t);
	} else if (!k->ex->have_lost || stale(&k->ex->last_lost, t)) {
		set_ex(&k->ex->last_lost, t);
		k->ex->have_lost = 1;
	}
}

static void count(struct state *s, struct rkey *k, const struct txn *t)
{
	ring_add(s, k, t->first_ts / NS_PER_SEC, COL_OFF, 1);
	if (t->retrans)
		ring_add(s, k, t->last_ts / NS_PER_SEC, COL_OFF, t->retrans);
	if (t->status == TXN_ANSWERED) {
		ring_add(s, k, t->resp_ts / NS_PER_SEC, COL_ANS_R, 1);
		ring_add(s, k, t->first_ts / NS_PER_SEC, COL_ANS_Q, 1);
	}
	keep_example(k, t);
}

/* ---- tag records ------------------------------------------------------------ */

/*
 * A record of the kept stream: seq and second as zigzag deltas from the
 * record before, then the client key's id shifted left by one, its low bit
 * set if the interface key's id follows. At most 4 * 10 bytes.
 */
#define TAGREC_MAX 40
struct tagrec1 {
	uint64_t seq;
	int64_t sec;
	uint32_t id[2]; /* interface key, client key; 0: none */
};

static size_t tag_put(struct tagstream *ts, const struct tagrec1 *r)
{
	uint8_t *p;
	size_t n0 = ts->n;

	if (ts->n + TAGREC_MAX > ts->alloc) {
		ts->alloc = ts->alloc ? ts->alloc + ts->alloc / 2 : 4096;
		ts->b = xrealloc(ts->b, ts->alloc);
	}
	p = ts->b + ts->n;
	p = dk_put_varint(p, dk_zigzag((int64_t)(r->seq - ts->prev_seq)));
	p = dk_put_varint(p, dk_zigzag(r->sec - ts->prev_sec));
	p = dk_put_varint(p, (uint64_t)r->id[1] << 1 | (r->id[0] != 0));
	if (r->id[0])
		p = dk_put_varint(p, r->id[0]);
	ts->n = (size_t)(p - ts->b);
	ts->prev_seq = r->seq;
	ts->prev_sec = r->sec;
	return ts->n - n0;
}

/* Walking the kept stream: start from a zeroed one. */
struct tagwalk {
	size_t pos;
	uint64_t seq;
	int64_t sec;
};

static int tag_next(const struct tagstream *ts, size_t end, struct tagwalk *w, struct tagrec1 *r)
{
	const uint8_t *p = ts->b + w->pos;
	uint64_t v;

	if (w->pos >= end)
		return 0;
	p = dk_get_varint(p, &v);
	w->seq += (uint64_t)dk_unzigzag(v);
	p = dk_get_varint(p, &v);
	w->sec += dk_unzigzag(v);
	p = dk_get_varint(p, &v);
	r->id[1] = (uint32_t)(v >> 1);
	r->id[0] = 0;
	if (v & 1) {
		p = dk_get_varint(p, &v);
		r->id[0] = (uint32_t)v;
	}
	r->seq = w->seq;
	r->sec = w->sec;
	w->pos = (size_t)(p - ts->b);
	return 1;
}

static int in_plist(const struct plist *l, int64_t sec)
{
	uint32_t i;

	for (i = 0; i < l->n; i++)
		if (sec >= l->v[i].start && sec <= l->v[i].end)
			return 1;
	return 0;
}

/*
 * Can a record of key id at second sec still be tagged? Only if sec is not
 * final yet (still in the ring, or ahead of it) or lies in a plateau or
 * budget episode that is kept or still open: finish tags inside what
 * play_out() finds, and that is the kept plateaus and episodes plus what
 * the open runs and the ring's seconds give.
 */
static int tag_needed(const struct state *s, uint32_t id, int64_t sec)
{
	const struct rkey *k;
	uint32_t i;
	int j;

	if (!id)
		return 0;
	k = s->byid[id - 1];
	if (sec >= k->head)
		return 1;
	for (j = 0; j < 2; j++) {
		if (k->tr[j].in_run && sec >= k->tr[j].run->start)
			return 1;
		if (in_plist(&k->tr[j].kept, sec))
			return 1;
	}
	if (!k->bud)
		return 0;
	if (k->bud->in_ep && sec >= k->bud->ep.start)
		return 1;
	for (i = 0; i < k->bud->n; i++)
		if (sec >= k->bud->v[i].start && sec <= k->bud->v[i].end)
			return 1;
	return 0;
}

static int rec_needed(const struct state *s, const struct tagrec1 *r)
{
	return tag_needed(s, r->id[0], r->sec) || tag_needed(s, r->id[1], r->sec);
}

/*
 * Judge the kept stream again, in place: a kept record's deltas sum those
 * of the records dropped before it, and a varint of a sum is never longer
 * than the varints of its terms, so the writing never overtakes the
 * reading.
 */
static void kept_prune(struct state *s)
{
	struct tagstream *ts = &s->kept;
	struct tagwalk w;
	struct tagrec1 r;
	size_t end = ts->n;

	memset(&w, 0, sizeof(w));
	ts->n = 0;
	ts->prev_seq = 0;
	ts->prev_sec = 0;
	while (tag_next(ts, end, &w, &r))
		if (rec_needed(s, &r))
			tag_put(ts, &r);
	s->tag_bytes -= end - ts->n;
	s->kept_prune_at = MAX(2 * ts->n, (size_t)TAG_PRUNE_MIN);
}

static void kept_add(struct state *s, const struct tagrec1 *r)
{
	if (s->kept.n >= s->kept_prune_at)
		kept_prune(s);
	s->tag_bytes += tag_put(&s->kept, r);
}

static size_t bk_bytes(const struct bucket *b)
{
	return (size_t)b->n * (b->iid ? 4 : 2);
}

/* Slots [from, to) empty; iid may hold what an earlier second left. */
static void bk_zero(struct bucket *b, uint32_t from, uint32_t to)
{
	if (to <= from)
		return;
	memset(b->cid + from, 0, (to - from) * sizeof(*b->cid));
	if (b->iid)
		memset(b->iid + from, 0, (to - from) * sizeof(*b->iid));
}

/* Judge the buckets of the seconds up to upto: every key that has counted
 * at upto + nslots or later has fed those seconds on. */
static void tag_advance(struct state *s, int64_t upto)
{
	uint32_t n = 0, i;

	while (s->done < upto) {
		struct bucket *b;
		struct tagrec1 r;

		if (n++ >= s->nbk) { /* the rest are empty */
			s->done = upto;
			break;
		}
		b = &s->bk[(uint64_t)++s->done % s->nbk];
		if (!b->nrec)
			continue;
		r.sec = b->sec;
		for (i = 0; i < b->n; i++) {
			r.id[0] = b->iid ? b->iid[i] : 0;
			r.id[1] = b->cid[i];
			r.seq = b->base + i;
			if ((r.id[0] || r.id[1]) && rec_needed(s, &r))
				kept_add(s, &r);
		}
		s->tag_bytes -= bk_bytes(b);
		b->n = b->nrec = 0;
	}
}

/* Put r in its second's bucket; 0 if its seq is too far from the others'
 * (timestamps out of order) for slots to pay. */
static int bk_put(struct bucket *b, const struct tagrec1 *r, size_t *bytes)
{
	uint32_t off, need, d = 0;

	if (!b->nrec) {
		b->sec = r->sec;
		b->base = r->seq;
		b->n = 0;
	}
	if (r->seq < b->base) {
		if (b->base - r->seq > 2 * (uint64_t)b->nrec + 4096)
			return 0;
		d = (uint32_t)(b->base - r->seq);
		need = b->n + d;
	} else {
		if (r->seq - b->base >= 2 * (uint64_t)b->nrec + 4096 + b->n)
			return 0;
		need = MAX(b->n, (uint32_t)(r->seq - b->base) + 1);
	}
	*bytes -= bk_bytes(b);
	if (need > b->alloc) {
		/* buckets are reused second after second: grow them by an
		 * eighth, not a half, so they stay close to a second's worth */
		b->alloc = MAX(need, b->alloc + b->alloc / 8);
		b->alloc = (b->alloc + 1023) & ~1023u;
		b->cid = xrealloc(b->cid, b->alloc * sizeof(*b->cid));
		if (b->iid)
			b->iid = xrealloc(b->iid, b->alloc * sizeof(*b->iid));
	}
	if (d) { /* a lower seq: the slots move up */
		memmove(b->cid + d, b->cid, b->n * sizeof(*b->cid));
		if (b->iid)
			memmove(b->iid + d, b->iid, b->n * sizeof(*b->iid));
		bk_zero(b, 0, d);
		b->base = r->seq;
	} else {
		bk_zero(b, b->n, need);
	}
	b->n = need;
	off = (uint32_t)(r->seq - b->base);
	b->cid[off] = (uint16_t)r->id[1];
	if (r->id[0]) {
		if (!b->iid)
			b->iid = xcalloc(b->alloc, sizeof(*b->iid));
		b->iid[off] = (uint16_t)r->id[0];
	}
	b->nrec++;
	*bytes += bk_bytes(b);
	return 1;
}

static void tag_add(struct state *s, uint64_t seq, int64_t sec, uint32_t id_iface,
		    uint32_t id_client)
{
	struct tagrec1 r;
	struct bucket *b;

	/* seconds as a tagbuf had them */
	sec = sec < 0 ? 0 : sec > UINT32_MAX ? UINT32_MAX : sec;
	r.seq = seq;
	r.sec = sec;
	r.id[0] = id_iface;
	r.id[1] = id_client;
	if (!s->started) {
		s->done = sec - 1;
		s->started = 1;
	}
	tag_advance(s, sec - s->nbk);
	if (s->tag_bytes + TAGREC_MAX > TAG_BYTES) {
		s->tags_dropped++;
		return;
	}
	if (sec <= s->done) { /* late: judge it now */
		if (rec_needed(s, &r))
			kept_add(s, &r);
		return;
	}
	b = &s->bk[(uint64_t)sec % s->nbk];
	if (!bk_put(b, &r, &s->tag_bytes))
		kept_add(s, &r); /* judged when the kept stream is */
}

/* Tag the records of key k whose second lies in one of n spans [start, end]. */
static void tag_stream(struct state *s, const struct tagstream *ts, const struct rkey *k,
		       const int64_t (*span)[2], uint32_t n)
{
	struct tagwalk w;
	struct tagrec1 r;
	uint32_t i;

	memset(&w, 0, sizeof(w));
	while (tag_next(ts, ts->n, &w, &r)) {
		if (r.id[0] != k->id && r.id[1] != k->id)
			continue;
		for (i = 0; i < n; i++)
			if (r.sec >= span[i][0] && r.sec <= span[i][1]) {
				detect_tag(s->dc, "rate-limit", r.seq);
				break;
			}
	}
}

static void tag_spans(struct state *s, const struct rkey *k, const int64_t (*span)[2], uint32_t n)
{
	uint32_t i, j, x;

	tag_stream(s, &s->kept, k, span, n);
	for (i = 0; i < s->nbk; i++) {
		const struct bucket *b = &s->bk[i];

		for (x = 0; x < n && b->nrec; x++)
			if (b->sec >= span[x][0] && b->sec <= span[x][1])
				break;
		if (!b->nrec || x == n)
			continue;
		for (j = 0; j < b->n; j++)
			if (b->cid[j] == k->id || (b->iid && b->iid[j] == k->id))
				detect_tag(s->dc, "rate-limit", b->base + j);
	}
}

/* The key of this kind for t: from the client's index, else the table. */
static struct rkey *find_key(struct state *s, struct cidx *ci, const struct txn *t, int kind)
{
	uint8_t kb[1 + DK_ADDR_KEY * 2 + 4];
	struct rkey *k;
	size_t n;
	int i;

	for (i = 0; ci && i < CIDX && ci->id[i]; i++) {
		k = s->byid[ci->id[i] - 1];
		if (k->kind == kind && addr_eq(&k->server, &t->server) &&
		    (kind == KIND_CLIENT || k->ifindex == t->ifindex))
			return k;
	}
	kb[0] = (uint8_t)kind;
	if (kind == KIND_IFACE) {
		memcpy(kb + 1, &t->ifindex, 4);
		n = 5;
	} else {
		n = 1 + dk_addr_key(&t->client, kb + 1);
	}
	n += dk_addr_key(&t->server, kb + n);
	k = get_key(s, kb, n, t, kind);
	if (k && ci) {
		/* newest first; the oldest falls out of a full index */
		memmove(ci->id + 1, ci->id, (CIDX - 1) * sizeof(*ci->id));
		ci->id[0] = (uint16_t)k->id;
	}
	return k;
}

static void txn(void *st, const struct txn *t)
{
	struct state *s = st;
	uint32_t id_iface = 0, id_client = 0;
	struct cidx *ci;
	struct rkey *k;
	int over;

	if (t->status == TXN_EVICTED)
		return;
	ci = dk_client(&s->cidx, s->dc, &t->client, &over);
	if (over)
		ci = NULL;
	if (t->ifindex >= 0) {
		k = find_key(s, ci, t, KIND_IFACE);
		if (k) {
			count(s, k, t);
			id_iface = k->id;
		}
	}
	k = find_key(s, ci, t, KIND_CLIENT);
	if (k) {
		if (t->ifindex < 0)
			k->standin = 1;
		count(s, k, t);
		id_client = k->id;
	}
	if (id_iface || id_client)
		tag_add(s, t->seq, t->first_ts / NS_PER_SEC, id_iface, id_client);
}

/* ---- finish -------------------------------------------------------------- */

/* What one key shows once its ring is played out (on copies: the state is
 * not changed, so finish can run again). */
struct result {
	struct rkey *k;
	struct plateau *pl; /* accepted plateaus, by start */
	uint32_t npl;
	uint64_t pl_total; /* all plateaus found, kept or not */
	struct episode *ep;
	uint32_t nep;
	uint64_t ep_total, over_seconds;
};

static int cmp_len_desc(const void *a, const void *b)
{
	const struct plateau *x = a, *y = b;
	int64_t lx = x->end - x->start, ly = y->end - y->start;

	if (lx != ly)
		return lx > ly ? -1 : 1;
	if (x->by != y->by)
		return x->by - y->by;
	return x->start < y->start ? -1 : x->start > y->start;
}

static int cmp_start(const void *a, const void *b)
{
	const struct plateau *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int overlaps(const struct plateau *a, const struct plateau *b)
{
	return a->start <= b->end && b->start <= a->end;
}

static void play_out(struct state *s, struct rkey *k, struct result *res)
{
	struct tracker tc[2];
	struct plateau runs[2];
	struct plist extra[2];
	struct budget bc;
	struct plateau *all;
	uint32_t n = 0, i, j;
	int64_t sec;

	memset(res, 0, sizeof(*res));
	memset(extra, 0, sizeof(extra));
	if (k->bud)
		bc = *k->bud;
	else
		memset(&bc, 0, sizeof(bc));
	res->k = k;
	/* room for episodes only with a budget (this was 5 KB a key at
	 * finish: 10 MB on the bench trace's 2,000 keys) */
	if (s->p.budget > 0)
		res->ep = xcalloc(EPISODES_KEPT, sizeof(*res->ep));
	if (bc.n)
		memcpy(res->ep, bc.v, bc.n * sizeof(*res->ep));
	res->nep = bc.n;
	res->ep_total = bc.total;
	for (i = 0; i < 2; i++) {
		tc[i] = k->tr[i];
		/* the runs as well: the copies must not change (nor allocate)
		 * the key's */
		if (k->tr[i].run)
			runs[i] = *k->tr[i].run;
		else
			memset(&runs[i], 0, sizeof(runs[i]));
		tc[i].run = &runs[i];
	}
	for (sec = k->head; k->ring_on && sec <= k->maxsec; sec++) {
		uint32_t row[NCOLS];

		row_get(s, k, sec, row);
		tracker_feed(&s->p, &tc[0], sec, row[COL_OFF], row[COL_ANS_R], &extra[0]);
		tracker_feed(&s->p, &tc[1], sec, row[COL_OFF], row[COL_ANS_Q], &extra[1]);
		budget_feed(&s->p, &bc, sec, row[COL_OFF], row[COL_ANS_R], res->ep, &res->nep,
			    &res->ep_total);
	}
	for (i = 0; i < 2; i++)
		tracker_close(&s->p, &tc[i], &extra[i]);
	budget_close(&bc, res->ep, &res->nep, &res->ep_total);
	res->over_seconds = bc.seconds;

	/* both ways of counting: the longer plateau wins where they overlap */
	/* as many as there are (was 4 * KEPT + 1: 8 MB at finish) */
	n = k->tr[0].kept.n + k->tr[1].kept.n + extra[0].n + extra[1].n;
	all = xcalloc(n + 1, sizeof(*all));
	n = 0;
	for (i = 0; i < 2; i++) {
		for (j = 0; j < k->tr[i].kept.n; j++) {
			all[n] = k->tr[i].kept.v[j];
			all[n++].by = (uint8_t)i;
		}
		for (j = 0; j < extra[i].n; j++) {
			all[n] = extra[i].v[j];
			all[n++].by = (uint8_t)i;
		}
		res->pl_total = MAX(res->pl_total, k->tr[i].kept.total + extra[i].total);
		free(extra[i].v);
	}
	qsort(all, n, sizeof(*all), cmp_len_desc);
	for (i = 0; i < n; i++) {
		for (j = 0; j < res->npl; j++)
			if (overlaps(&all[i], &all[j]))
				break;
		if (j == res->npl)
			all[res->npl++] = all[i];
	}
	qsort(all, res->npl, sizeof(*all), cmp_start);
	res->pl = all;
}

/* A client-level plateau that an interface-level one explains. */
static int explained(const struct result *r, size_t nr, const struct result *c,
		     const struct plateau *p)
{
	size_t i;
	uint32_t j;

	for (i = 0; i < nr; i++) {
		if (r[i].k->kind != KIND_IFACE || !addr_eq(&r[i].k->server, &c->k->server))
			continue;
		for (j = 0; j < r[i].npl; j++)
			if (overlaps(&r[i].pl[j], p))
				return 1;
	}
	return 0;
}

static void where(const struct rkey *k, char *buf, size_t n)
{
	char a[64], b[64];

	addr_str(&k->server, b, sizeof(b));
	if (k->kind == KIND_IFACE) {
		const char *ifn = iface_name(k->ifindex);

		snprintf(buf, n, "interface %.40s to %s", ifn ? ifn : "?", b);
	} else {
		snprintf(buf, n, "client %s to %s", addr_str(&k->client, a, sizeof(a)), b);
	}
}

static void affected(struct finding *f, const struct rkey *k)
{
	char a[64];

	finding_affected(f->servers, &f->nservers, addr_str(&k->server, a, sizeof(a)));
	if (k->kind == KIND_IFACE)
		finding_affected(f->ifaces, &f->nifaces,
				 iface_name(k->ifindex) ? iface_name(k->ifindex) : "?");
	else
		finding_affected(f->clients, &f->nclients, addr_str(&k->client, a, sizeof(a)));
}

static void key_json(struct sbuf *sb, const struct rkey *k)
{
	char a[64];

	sbuf_addf(sb, "\"kind\": \"%s\", \"interface\": ", k->kind == KIND_IFACE ? "interface" : "client");
	if (k->kind == KIND_IFACE && iface_name(k->ifindex))
		sbuf_add_json_str(sb, iface_name(k->ifindex));
	else
		sbuf_addstr(sb, "null");
	sbuf_addstr(sb, ", \"client\": ");
	if (k->kind == KIND_CLIENT)
		sbuf_addf(sb, "\"%s\"", addr_str(&k->client, a, sizeof(a)));
	else
		sbuf_addstr(sb, "null");
	sbuf_addf(sb, ", \"server\": \"%s\", \"client_stands_in\": %s", addr_str(&k->server, a, sizeof(a)),
		  k->kind == KIND_CLIENT && k->standin ? "true" : "false");
}

static int within(const struct ex *e, int64_t from, int64_t to)
{
	return e->ts / NS_PER_SEC >= from && e->ts / NS_PER_SEC <= to;
}

/* r: the response's frame; { 0, 0 } for an unanswered example */
static void add_ex(struct finding *f, const struct ex *e, struct frameref r)
{
	char what[sizeof(f->ev[0].what)];

	ex_describe(e, what, sizeof(what));
	finding_evidence_raw(f, e->seq, e->ts, e->q, r, what);
}

/* Examples inside [from, to] (seconds); the first unanswered query if none is. */
static void evidence(struct finding *f, const struct rkey *k, int64_t from, int64_t to)
{
	const struct keyex *x = k->ex;
	const struct frameref none = { 0, 0 };
	int i;

	if (!x)
		return;
	for (i = 0; i < x->nfirst; i++)
		if (within(&x->first[i], from, to))
			add_ex(f, &x->first[i], none);
	if (x->have_lost && within(&x->last_lost, from, to))
		add_ex(f, &x->last_lost, none);
	if (k->ans_sec != INT64_MIN && within(&x->last_ans, from, to))
		add_ex(f, &x->last_ans, x->last_ans_r);
	if (!f->nev && x->nfirst)
		add_ex(f, &x->first[0], none);
}

static void tags_note(const struct state *s, struct finding *f)
{
	if (s->tags_dropped)
		sbuf_addf(&f->details, "    (tags: %" PRIu64 " transactions not tagged: more than %u bytes of tag records)\n",
			  s->tags_dropped, TAG_BYTES);
}

static void report_plateaus(struct state *s, struct findings *out, const struct result *r,
			    const struct plateau *pl, uint32_t npl)
{
	const struct rkey *k = r->k;
	uint64_t off = 0, ans = 0, secs = 0;
	int steady = 1;
	double ceiling, lost;
	struct finding *f;
	char w[160], t1[40];
	int64_t (*span)[2];
	uint32_t i;

	for (i = 0; i < npl; i++) {
		off += pl[i].off;
		ans += pl[i].ans;
		secs += (uint64_t)(pl[i].end - pl[i].start + 1);
		if (!within_tol(&s->p, pl[i].omin, pl[i].omax))
			steady = 0;
	}
	ceiling = (double)ans / (double)secs;
	lost = (double)(off - ans) / (double)off;
	f = finding_new(out, "rate-limit",
			lost >= detect_param(s->dc, "rate-limit", "critical_loss") ? SEV_CRITICAL : SEV_WARNING);
	f->count = secs;
	f->first = pl[0].start * NS_PER_SEC;
	f->last = (pl[npl - 1].end + 1) * NS_PER_SEC - 1;
	where(k, w, sizeof(w));
	affected(f, k);
	finding_set(&f->summary, "answers capped at about %.0f/s from %s for %" PRIu64 " s while %.0f/s were asked: %.0f%% unanswered",
		    ceiling, w, secs, (double)off / (double)secs, 100.0 * lost);
	sbuf_addf(&f->details, "    ceiling   %.1f answers/s over %" PRIu64 " s at the ceiling; %" PRIu64 " of %" PRIu64 " queries unanswered (%.1f%%)\n",
		  ceiling, secs, off - ans, off, 100.0 * lost);
	sbuf_addstr(&f->json, "\"ceiling\": ");
	sbuf_addf(&f->json, "%.3f, \"seconds\": %" PRIu64 ", \"offered\": %" PRIu64 ", \"answered\": %" PRIu64
		  ", \"unanswered_share\": %.6f, \"offered_steady\": %s, ",
		  ceiling, secs, off, ans, lost, steady ? "true" : "false");
	key_json(&f->json, k);
	sbuf_addstr(&f->json, ", \"plateaus\": [");
	for (i = 0; i < npl; i++) {
		const struct plateau *p = &pl[i];
		int64_t n = p->end - p->start + 1;

		fmt_time(t1, sizeof(t1), p->start * NS_PER_SEC);
		if (i < 10)
			sbuf_addf(&f->details, "    plateau   %.19s UTC, %" PRId64 " s: answered %u-%u/s, offered %u-%u/s (answers counted by %s)\n",
				  t1, n, p->amin, p->amax, p->omin, p->omax,
				  p->by == BY_QUERY ? "query second" : "arrival second");
		sbuf_addf(&f->json, "%s{\"start\": %" PRId64 ", \"seconds\": %" PRId64 ", \"ceiling\": %.3f, \"min\": %u, \"max\": %u"
			  ", \"offered\": %" PRIu64 ", \"answered\": %" PRIu64 ", \"counted_by\": \"%s\"}",
			  i ? ", " : "", p->start, n, (double)p->ans / (double)n, p->amin, p->amax, p->off,
			  p->ans, p->by == BY_QUERY ? "query" : "response");
	}
	sbuf_addstr(&f->json, "]");
	if (npl > 10 || r->pl_total > npl)
		sbuf_addf(&f->details, "    ... %" PRIu64 " plateaus in all\n", MAX(r->pl_total, (uint64_t)npl));
	if (k->kind == KIND_CLIENT && k->standin)
		sbuf_addstr(&f->details, "    (the capture does not say which interface: the client address stands in for it)\n");
	if (k->late)
		sbuf_addf(&f->details, "    (%" PRIu64 " counts arrived too late for their second and were left out)\n", k->late);
	if (s->ignored)
		sbuf_addf(&f->details, "    (%" PRIu64 " transactions not counted: more than %d interface/client and server pairs)\n",
			  s->ignored, MAX_KEYS);
	tags_note(s, f);
	finding_set(&f->explanation,
		    "Something let only about %.0f answers a second through: second after second the "
		    "answered count stayed flat (within %.0f%%) while %.0f queries a second were sent, "
		    "and the rest got no answer. Random loss does not look like this; a limit does. "
		    "%s"
		    "Known limits: an AWS VPC resolver accepts 1,024 packets per second per network "
		    "interface (Stripe found 61,385 answers to 257,430 queries in a minute: 1,023 a "
		    "second); iptables hashlimit or limit rules; a server's response rate limiting; "
		    "or a server at the end of its capacity. Every dropped query costs the client a "
		    "timeout and comes back as a retry, so the offered rate grows while the ceiling "
		    "stays: the queue of waiting queries fills and the resolver in front answers "
		    "SERVFAIL.%s",
		    ceiling, 100.0 * s->p.tol, (double)off / (double)secs,
		    steady ? "(Here the offered rate was steady as well, so a constant share of loss "
			     "would give the same picture; the limit is certain when the offered "
			     "rate changes and the answered rate does not.) "
			   : "",
		    k->kind == KIND_IFACE ? " A limit per interface is met by everything that leaves "
					    "through that interface together: one busy process can "
					    "starve every other lookup on the host."
					  : "");
	finding_set(&f->fix,
		    "Confirm the limit where it is enforced: on AWS, `ethtool -S eth0 | grep "
		    "linklocal_allowance_exceeded` counts packets dropped by the per-interface limit; "
		    "an iptables counter rule for udp port 53 (`iptables -I OUTPUT -p udp --dport 53`, "
		    "then `iptables -nvxL`) counts what was sent. Then lower the load or spread it: "
		    "cache more (and longer: serve-expired, prefetch), stop floods at their source "
		    "(see ptr-flood), send queries from several interfaces or hosts (Stripe's fix: "
		    "each host's own Unbound sends in-addr.arpa straight to the VPC resolver), or "
		    "raise the limit if it is yours. Use --rate-budget to flag every second above a "
		    "known budget.");
	evidence(f, k, pl[0].start, pl[npl - 1].end);
	span = xcalloc(npl, sizeof(*span));
	for (i = 0; i < npl; i++) {
		span[i][0] = pl[i].start;
		span[i][1] = pl[i].end;
	}
	tag_spans(s, k, (const int64_t (*)[2])span, npl);
	free(span);
}

static void report_budget(struct state *s, struct findings *out, const struct result *r)
{
	const struct rkey *k = r->k;
	uint64_t off = 0, ans = 0;
	uint32_t peak = 0, i;
	double lost;
	struct finding *f;
	char w[160], t1[40];
	int64_t (*span)[2];

	for (i = 0; i < r->nep; i++) {
		off += r->ep[i].off;
		ans += r->ep[i].ans;
		peak = MAX(peak, r->ep[i].peak);
	}
	lost = off > ans ? (double)(off - ans) / (double)off : 0;
	f = finding_new(out, "rate-limit",
			lost >= detect_param(s->dc, "rate-limit", "critical_loss") ? SEV_CRITICAL : SEV_WARNING);
	f->count = r->over_seconds;
	f->first = r->ep[0].start * NS_PER_SEC;
	f->last = (r->ep[r->nep - 1].end + 1) * NS_PER_SEC - 1;
	where(k, w, sizeof(w));
	affected(f, k);
	finding_set(&f->summary, "%" PRIu64 " s over the budget of %.0f queries/s from %s (peak %u/s)",
		    r->over_seconds, s->p.budget, w, peak);
	sbuf_addf(&f->json, "\"budget\": %.0f, \"seconds_over\": %" PRIu64 ", \"peak\": %u, \"offered\": %" PRIu64
		  ", \"answered\": %" PRIu64 ", ",
		  s->p.budget, r->over_seconds, peak, off, ans);
	key_json(&f->json, k);
	sbuf_addstr(&f->json, ", \"episodes\": [");
	for (i = 0; i < r->nep; i++) {
		const struct episode *e = &r->ep[i];

		fmt_time(t1, sizeof(t1), e->start * NS_PER_SEC);
		if (i < 10)
			sbuf_addf(&f->details, "    over      %.19s UTC, %" PRId64 " s: peak %u/s, %" PRIu64 " sent, %" PRIu64 " answered\n",
				  t1, e->end - e->start + 1, e->peak, e->off, e->ans);
		sbuf_addf(&f->json, "%s{\"start\": %" PRId64 ", \"seconds\": %" PRId64 ", \"peak\": %u, \"offered\": %" PRIu64 ", \"answered\": %" PRIu64 "}",
			  i ? ", " : "", e->start, e->end - e->start + 1, e->peak, e->off, e->ans);
	}
	sbuf_addstr(&f->json, "]");
	if (r->ep_total > r->nep)
		sbuf_addf(&f->details, "    ... %" PRIu64 " episodes in all\n", r->ep_total);
	if (k->kind == KIND_CLIENT)
		sbuf_addstr(&f->details, "    (the capture does not say which interface: the client address stands in for it)\n");
	tags_note(s, f);
	finding_set(&f->explanation,
		    "More queries a second were sent than the budget you gave (--rate-budget, "
		    "rate-limit.budget): %.0f per second per interface and server. Past a packet "
		    "budget such as the AWS VPC resolver's 1,024 packets per second per network "
		    "interface, the excess is dropped without a word: the client sees timeouts, "
		    "retries, and a resolver in front of it answers SERVFAIL. In these seconds "
		    "%.1f%% of the queries went unanswered.",
		    s->p.budget, 100.0 * lost);
	finding_set(&f->fix,
		    "Keep the rate under the budget: cache more, stop floods at their source (see "
		    "ptr-flood), or spread the queries over more interfaces or hosts.");
	evidence(f, k, r->ep[0].start, r->ep[r->nep - 1].end);
	span = xcalloc(r->nep, sizeof(*span));
	for (i = 0; i < r->nep; i++) {
		span[i][0] = r->ep[i].start;
		span[i][1] = r->ep[i].end;
	}
	tag_spans(s, k, (const int64_t (*)[2])span, r->nep);
	free(span);
}

static void finish(void *st, struct findings *out)
{
	struct state *s = st;
	struct kmap_ent **e = kmap_entries(&s->keys);
	struct result *r = NULL, cur;
	struct plateau *keep;
	size_t i, nr = 0, ar = 0;
	uint32_t j, n;

	/* only the keys with something to report are kept (in key order):
	 * a result for every key was 64 bytes and a plateau array each, 0.3 MB
	 * at the end of the bench trace for nothing */
	for (i = 0; i < s->keys.count; i++) {
		play_out(s, kmap_val(e[i]), &cur);
		if (!cur.npl && !cur.nep) {
			free(cur.pl);
			free(cur.ep);
			continue;
		}
		if (nr == ar) {
			ar = ar ? 2 * ar : 16;
			r = xrealloc(r, ar * sizeof(*r));
		}
		r[nr++] = cur;
	}
	for (i = 0; i < nr; i++) {
		struct rkey *k = r[i].k;

		if (r[i].npl) {
			keep = xcalloc(r[i].npl, sizeof(*keep));
			for (j = n = 0; j < r[i].npl; j++)
				if (k->kind == KIND_IFACE || !explained(r, nr, &r[i], &r[i].pl[j]))
					keep[n++] = r[i].pl[j];
			if (n)
				report_plateaus(s, out, &r[i], keep, n);
			free(keep);
		}
		if (r[i].nep && (k->kind == KIND_IFACE || k->standin))
			report_budget(s, out, &r[i]);
	}
	for (i = 0; i < nr; i++) {
		free(r[i].pl);
		free(r[i].ep);
	}
	free(r);
	free(e);
}

static void destroy(void *st)
{
	struct state *s = st;
	struct kmap_ent **e = kmap_entries(&s->keys);
	size_t i;

	for (i = 0; i < s->keys.count; i++) {
		struct rkey *k = kmap_val(e[i]);

		free(k->tr[0].kept.v);
		free(k->tr[1].kept.v);
		free(k->tr[0].run);
		free(k->tr[1].run);
		if (k->bud)
			free(k->bud->v);
		free(k->bud);
		free(k->wide);
		if (k->ex) {
			struct ex *x[EX_FIRST + 2] = { &k->ex->first[0], &k->ex->first[1],
						       &k->ex->first[2], &k->ex->last_lost,
						       &k->ex->last_ans };
			int j;

			for (j = 0; j < EX_FIRST + 2; j++)
				if (x[j]->qname)
					name_unref(x[j]->qname);
		}
		free(k->ex);
	}
	free(e);
	kmap_free(&s->keys);
	dk_clients_free(&s->cidx);
	free(s->byid);
	for (i = 0; i < s->nbk; i++) {
		free(s->bk[i].cid);
		free(s->bk[i].iid);
	}
	free(s->bk);
	free(s->kept.b);
	free(s);
}

/* Look-ahead (detect.h): the keys t will count in, found through the
 * client's index as find_key() does (newest first), and the ring row of
 * t's second in each; find_key() was 4.5 % of a run with every
 * detector, waiting for the key. */
static void prefetch(void *st, const struct txn *t, uint32_t client)
{
	struct state *s = st;
	const struct cidx *ci = dk_byid_peek(&s->cidx.ix, client);
	size_t row = (size_t)((uint64_t)(t->first_ts / NS_PER_SEC) % s->nslots) * NCOLS;
	int i;

	for (i = 0; ci && i < 2 && ci->id[i]; i++) {
		const struct rkey *k = s->byid[ci->id[i] - 1];

		__builtin_prefetch(k);
		__builtin_prefetch(&k->ex);
		__builtin_prefetch(&k->ring[row]);
	}
}

const struct detector detector_rate_limit = {
	.name = "rate-limit",
	.summary = "answers flat at a ceiling while more is asked, per interface (or client) and server; --rate-budget",
	.params = params,
	.init = init,
	.txn = txn,
	.finish = finish,
	.free = destroy,
	.prefetch = prefetch,
};
