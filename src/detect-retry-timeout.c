/*
 * detect-retry-timeout.c: lookups whose queries were sent again because no
 * answer came in time.
 *
 * A stub resolver that hears nothing waits for its timeout and asks again,
 * each in its own way: glibc re-sends the same datagram (same id, same
 * socket) after RES_TIMEOUT, 5 s unless resolv.conf says "options
 * timeout:N"; dig re-sends the same id from a new port after +timeout;
 * recursive resolvers (unbound, BIND) ask again with a new id and port,
 * often another server, after a timer derived from the server's round-trip
 * time. The matcher keeps all of these together in
 * one struct lookup, with the offset of every send; here we look at the gaps
 * between sends. A gap with no answer in it is a timeout; a gap after an
 * answer (SERVFAIL, REFUSED, a truncated answer followed by TCP) is a retry
 * on error and is not counted here.
 *
 * The user pays the whole timeout each time: a lookup retried once after the
 * glibc default waited 5 s for an answer that usually takes a millisecond.
 * So the finding reports the intervals (and where they cluster: 5 s is
 * glibc's default, 1, 2 and 3 s other common timers, doubling intervals
 * exponential back-off), the delay the user saw (first send to final
 * answer), and the lookups that ran out of attempts with no answer at all.
 *
 * To classify a gap we need the answers of the lookup's transactions, which
 * arrive (as finished transactions) before the lookup itself is finished.
 * They are kept per open lookup, but only for lookups that can have a retry:
 * a lookup with one send answered NOERROR/NXDOMAIN is done and costs
 * nothing here.
 *
 * Memory and time: what we keep of a transaction is 32 bytes (56 with the
 * query frame, first send time and rcode nobody read), and an open lookup's
 * record holds one of them inline (see struct rec): 56 bytes, not 344. The
 * transaction of a lookup that ends with it (the matcher hands the lookup
 * over right after) is staged rather than put in the table, a calloc and a
 * free saved; if that lookup was sent once it is not kept at all.
 * Transactions of a lookup already handed over (evicted at the --max-open
 * cap) are not kept either: nothing would read them. The parameters are
 * read once, not per lookup and gap.
 */
#include "config.h"
#include "detect.h"
#include "kmap.h"
#include "names.h"
#include "recidx.h"
#include "stats.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const struct detector_param params[] = {
	{ "timeout_s", 5, "the resolver timeout to look for first (glibc RES_TIMEOUT, 5 s)" },
	{ "tolerance", 0.1, "an interval within this share of a standard timeout counts as that timeout" },
	{ "min_interval_s", 0.2, "re-sends closer together than this are parallel queries, not timeouts" },
	{ "min_count", 3, "fewer retried lookups than this are only info" },
	{ "warning_share", 0.01, "... and so is a smaller retried share of all lookups than this" },
	{ "critical_share", 0.05, "retried share of all lookups for critical" },
	{ NULL, 0, NULL },
};

/* what we keep of one transaction of an open lookup (32 bytes) */
struct rtx {
	uint64_t seq;
	ts_t last, resp; /* resp < 0: no answer */
	uint32_t rframe; /* the response's frame: struct frameref */
	uint16_t rfile;
	uint8_t retrans;    /* re-sent with the same key */
	uint8_t unanswered; /* status TXN_UNANSWERED */
};

#define REC_TXNS 6
#define REC_INLINE 1
#define REC_HINTS 65536

/*
 * An open lookup that may turn out to be retried: 56 bytes. Most have one
 * transaction (at the bench trace's peak of 18,300 open, 98 % did: answers
 * that were no final word, waiting for the client's next try); the others
 * keep the rest of up to REC_TXNS in an array grown one at a time (a
 * second transaction costs 48 bytes with malloc's header). Two inline and
 * room for four more with the third cost 88 bytes a record: 1.6 MB at the
 * peak, now 1.0 MB.
 */
struct rec {
	uint64_t lseq;	  /* the lookup's seq (from 1); 0: a free record */
	uint32_t n, more; /* stored, and seen beyond REC_TXNS; a free record:
			   * more is the next free one */
	struct rtx in[REC_INLINE];
	struct rtx *ext; /* n - REC_INLINE of them, or NULL */
};

#define REC_CAP 65536
#define CHUNK 1024
#define NO_REC UINT32_MAX

/*
 * The records by lookup seq: in chunks of 1,024, found through an
 * open-addressed index of 8-byte slots (hash bits above, record + 1 below;
 * 0 empty; linear probing, load at most 3/4). As dynamic kmap entries
 * they were a calloc each (128 bytes with the entry) and a free, and a
 * look-up hashed the key bytes: 2.5 MB at the peak on the bench trace,
 * now 1.8 MB.
 */
struct rec_tab {
	struct recidx ix;
	struct rec **chunk;
	uint32_t nchunk, nrec, free;
};

static struct rtx *rec_tx(const struct rec *r, uint32_t i)
{
	return i < REC_INLINE ? (struct rtx *)&r->in[i] : &r->ext[i - REC_INLINE];
}

/* Intervals: the standard timeouts we name, then the rest. */
static const double std_timeouts[] = { 1, 2, 3, 5 };
enum { IV_1, IV_2, IV_3, IV_5, IV_PARAM, IV_OTHER, NIV };

enum { EX_GONE, EX_SAMEKEY, EX_NEWPORT, EX_NEWID, NEX };
#define EX_PER 2

struct example {
	struct evidence ev;
};

struct cnt {
	uint64_t n;
};

struct state {
	struct detect_ctx *dc;
	struct rec_tab recs; /* lookup seq -> struct rec */
	/* records per lookup seq modulo REC_HINTS (255: that many or more,
	 * never decremented): most lookups have none, and a 0 here saves the
	 * map lookup (7 % of this detector's instructions) */
	uint8_t rec_hint[REC_HINTS];
	struct rec stage; /* the transaction of the lookup ending now */
	uint64_t stage_seq; /* its lookup's seq; 0: none */
	uint64_t rec_overflow;
	ts_t min_iv;
	double tol, want;
	ts_t now; /* latest time seen in any transaction */

	uint64_t lookups, retried, resends, answered_after, gone, still_trying;
	uint64_t err_retries; /* re-sends after an error answer (not counted) */
	uint64_t style_samekey, style_newport, style_newid, style_newserver;
	uint64_t backoff;
	uint64_t iv[NIV];
	ts_t iv_other_min, iv_other_max;
	struct hist intervals, delay, gone_wait;
	ts_t first, last;
	struct dk_ntab names; /* retried lookups per name (4,096: 0.2 MB, not 0.4 MB
			       * as a kmap) */
	struct kmap servers, clients;
	struct example ex[NEX][EX_PER];
	int nex[NEX];
};

static void *init(struct detect_ctx *dc)
{
	struct state *s = xcalloc(1, sizeof(*s));

	s->dc = dc;
	recidx_init(&s->recs.ix);
	s->recs.free = NO_REC;
	dk_ntab_init(&s->names, 4096);
	kmap_init(&s->servers, sizeof(struct cnt), 4096);
	kmap_init(&s->clients, sizeof(struct cnt), 4096);
	s->min_iv = (ts_t)(detect_param(dc, "retry-timeout", "min_interval_s") * NS_PER_SEC);
	s->tol = detect_param(dc, "retry-timeout", "tolerance");
	s->want = detect_param(dc, "retry-timeout", "timeout_s");
	return s;
}

static size_t akey(const struct addr *a, uint8_t *k)
{
	k[0] = a->family;
	memcpy(k + 1, a->a, 16);
	return a->family == 4 ? 5 : 17;
}

static void count_addr(struct kmap *m, const struct addr *a)
{
	uint8_t k[17];
	struct cnt *c = kmap_get(m, k, akey(a, k), NULL);

	c->n++;
}

/* NOERROR or NXDOMAIN without TC: nothing more will be asked */
static int definitive(const struct txn *t)
{
	uint16_t rc = TXN_RCODE(t);

	return t->status == TXN_ANSWERED && (rc == RCODE_NOERROR || rc == RCODE_NXDOMAIN) &&
	       !(t->proto == 17 && DNS_TC(t->resp_flags));
}

static void rec_add(struct rec *r, const struct txn *t)
{
	struct rtx *x;

	if (r->n >= REC_TXNS) {
		r->more++;
		return;
	}
	if (r->n >= REC_INLINE)
		r->ext = xrealloc(r->ext, (r->n - REC_INLINE + 1) * sizeof(*r->ext));
	x = rec_tx(r, r->n++);
	x->seq = t->seq;
	x->last = t->last_ts;
	x->resp = t->status == TXN_ANSWERED ? t->resp_ts : -1;
	x->rframe = t->rframe.frame;
	x->rfile = t->rframe.file;
	x->retrans = !!t->retrans;
	x->unanswered = t->status == TXN_UNANSWERED;
}

static struct rec *rec_at(const struct rec_tab *rt, uint32_t r)
{
	return &rt->chunk[r / CHUNK][r % CHUNK];
}

/* The index slot of lseq's record, or the empty slot where it would go. */
static uint32_t rec_slot(const struct rec_tab *rt, uint64_t lseq)
{
	uint32_t tag = (uint32_t)(hash_mix(lseq) >> 32), i;

	for (i = recidx_home(&rt->ix, tag); recidx_used(&rt->ix, i); i = recidx_next(&rt->ix, i))
		if (recidx_tag(&rt->ix, i) == tag && rec_at(rt, recidx_rec(&rt->ix, i))->lseq == lseq)
			break;
	return i;
}

/* The record of lseq, a new one if it has none; NULL past REC_CAP. */
static struct rec *rec_get(struct state *s, uint64_t lseq)
{
	struct rec_tab *rt = &s->recs;
	uint32_t i = rec_slot(rt, lseq), r;
	struct rec *x;

	if (recidx_used(&rt->ix, i))
		return rec_at(rt, recidx_rec(&rt->ix, i));
	if (rt->ix.count >= REC_CAP) {
		s->rec_overflow++;
		return NULL;
	}
	if (rt->free != NO_REC) {
		r = rt->free;
		rt->free = rec_at(rt, r)->more;
	} else {
		if (rt->nrec == rt->nchunk * CHUNK) {
			rt->chunk = xrealloc(rt->chunk, (rt->nchunk + 1) * sizeof(*rt->chunk));
			rt->chunk[rt->nchunk++] = xmalloc(CHUNK * sizeof(struct rec));
		}
		r = rt->nrec++;
	}
	x = rec_at(rt, r);
	memset(x, 0, sizeof(*x));
	x->lseq = lseq;
	recidx_put(&rt->ix, i, (uint32_t)(hash_mix(lseq) >> 32), r);
	if (s->rec_hint[lseq % REC_HINTS] < 255)
		s->rec_hint[lseq % REC_HINTS]++;
	return x;
}

/* Remove the record at index slot i (from rec_slot()). */
static void rec_del(struct state *s, uint32_t i)
{
	struct rec_tab *rt = &s->recs;
	uint32_t r = recidx_rec(&rt->ix, i);
	struct rec *x = rec_at(rt, r);

	if (s->rec_hint[x->lseq % REC_HINTS] < 255)
		s->rec_hint[x->lseq % REC_HINTS]--;
	free(x->ext);
	x->ext = NULL;
	x->lseq = 0;
	x->more = rt->free;
	rt->free = r;
	recidx_del(&rt->ix, i);
}

/* What txn() does with t (prefetch() asks too) */
enum { T_SKIP, T_STAGE, T_TABLE };

static int route(const struct txn *t)
{
	const struct lookup *l = t->lookup;

	if (!l)
		return T_SKIP;
	if (!t->retrans && definitive(t) && l->sends == 1 && l->txns == 1)
		return T_SKIP; /* asked once, answered for good: cannot be retried */
	if (l->evicted)
		return T_SKIP; /* handed over already: nobody will read it */
	if (!l->open_txns && l->definitive) {
		/* the lookup ends right after this, its last transaction */
		if (l->nsend_ts < 2)
			return T_SKIP; /* sent once: lookup() looks at nothing */
		if (l->txns == 1)
			return T_STAGE; /* its only one: no table entry */
	}
	return T_TABLE;
}

static void txn(void *st, const struct txn *t)
{
	struct state *s = st;
	const struct lookup *l = t->lookup;
	struct rec *r;

	if (t->last_ts > s->now)
		s->now = t->last_ts;
	if (t->status == TXN_ANSWERED && t->resp_ts > s->now)
		s->now = t->resp_ts;
	switch (route(t)) {
	case T_SKIP:
		return;
	case T_STAGE:
		if (s->stage_seq && (r = rec_get(s, s->stage_seq))) {
			/* not taken (cannot happen): keep it */
			*r = s->stage;
			r->lseq = s->stage_seq;
		}
		memset(&s->stage, 0, sizeof(s->stage));
		s->stage_seq = l->seq;
		rec_add(&s->stage, t);
		return;
	}
	r = rec_get(s, l->seq);
	if (r)
		rec_add(r, t);
}

static int near(double x, double v, double tol)
{
	double d = x - v;

	return (d < 0 ? -d : d) <= tol * v;
}

static int classify(struct state *s, ts_t gap)
{
	double tol = s->tol, want = s->want;
	double g = (double)gap / NS_PER_SEC;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(std_timeouts); i++)
		if (near(g, std_timeouts[i], tol))
			return (int)i;
	if (want > 0 && near(g, want, tol))
		return IV_PARAM;
	return IV_OTHER;
}

static void add_example(struct state *s, int cat, const struct lookup *l, const struct rec *r,
			ts_t waited, int gone)
{
	struct evidence *e;
	struct frameref none = { 0, 0 };
	char name[1100], w[32];
	struct sbuf sb = SBUF_INIT;
	const char *how;

	if (s->nex[cat] >= EX_PER)
		return;
	e = &s->ex[cat][s->nex[cat]++].ev;
	memset(e, 0, sizeof(*e));
	name_str(l->qname, name, sizeof(name));
	fmt_dur(w, sizeof(w), waited);
	how = l->new_server ? "to another server" :
	      l->new_id && l->new_port ? "new id and port" :
	      l->new_port ? "same id, new port" :
	      l->new_id ? "new id" : "same id and port";
	e->txn_seq = r && r->n ? rec_tx(r, 0)->seq : 0;
	e->ts = l->first_ts;
	e->q = l->first_frame;
	e->r = none;
	if (gone)
		sbuf_addf(&sb, "%s? %s sent %u times (%s), never answered: gave up after about %s",
			  qtype_str(l->qtype), name, l->sends, how, w);
	else
		sbuf_addf(&sb, "%s? %s sent %u times (%s), %s after %s", qtype_str(l->qtype), name,
			  l->sends, how, rcode_str(l->final_rcode), w);
	snprintf(e->what, sizeof(e->what), "%s", sb.buf);
	sbuf_release(&sb);
	/* the response frame: the answer that ended the lookup */
	if (!gone && r) {
		uint32_t i;

		for (i = 0; i < r->n; i++) {
			const struct rtx *x = rec_tx(r, i);

			if (x->resp == l->final_ts) {
				e->r.file = x->rfile;
				e->r.frame = x->rframe;
			}
		}
	}
}

/*
 * A lookup never answered: did the client give up, or was it still trying
 * when the capture ended? The matcher finishes a query as unanswered only
 * after a whole answer window of silence; one still open at the end we
 * judge by the time left after its last send: more than the last interval
 * (and a tenth) means the client would have asked again by then.
 */
static int gave_up(const struct state *s, const struct rec *r, ts_t last_retry, ts_t last_gap)
{
	const struct rtx *last = NULL;
	uint32_t i;

	if (r)
		for (i = 0; i < r->n; i++)
			if (!last || rec_tx(r, i)->last > last->last)
				last = rec_tx(r, i);
	if (last && last->unanswered)
		return 1;
	return s->now >= last_retry + last_gap + last_gap / 10;
}

static void lookup(void *st, const struct lookup *l)
{
	struct state *s = st;
	struct detect_ctx *dc = s->dc;
	struct rec *r = NULL;
	ts_t min_iv = s->min_iv;
	ts_t last_gap = 0, prev_gap = 0, last_retry = 0;
	int staged = 0;
	int nto = 0, doubling = 1, cls;
	uint32_t k, i, slot = 0;

	if (s->stage_seq == l->seq) {
		r = &s->stage;
		s->stage_seq = 0;
		staged = 1;
	} else if (s->rec_hint[l->seq % REC_HINTS]) {
		slot = rec_slot(&s->recs, l->seq);
		if (recidx_used(&s->recs.ix, slot))
			r = rec_at(&s->recs, recidx_rec(&s->recs.ix, slot));
	}
	s->lookups++;
	if (l->nsend_ts < 2)
		goto out;
	for (k = 1; k < l->nsend_ts; k++) {
		ts_t a = l->first_ts + (ts_t)lookup_send_off(l, k - 1) * NS_PER_US;
		ts_t b = l->first_ts + (ts_t)lookup_send_off(l, k) * NS_PER_US;
		int answered = 0;

		if (r) {
			for (i = 0; i < r->n; i++) {
				ts_t resp = rec_tx(r, i)->resp;

				if (resp >= 0 && resp > a && resp <= b)
					answered = 1;
			}
		} else if (l->final_ts >= 0 && l->final_ts > a && l->final_ts <= b) {
			answered = 1;
		}
		if (answered) {
			s->err_retries++;
			continue;
		}
		if (b - a < min_iv)
			continue;
		/* b was sent because nothing came back for b - a */
		prev_gap = nto ? last_gap : 0;
		last_gap = b - a;
		if (prev_gap) {
			double ratio = (double)last_gap / (double)prev_gap;

			if (ratio < 1.8 || ratio > 2.2)
				doubling = 0;
		}
		last_retry = b;
		nto++;
		s->resends++;
		cls = classify(s, last_gap);
		s->iv[cls]++;
		if (cls == IV_OTHER) {
			if (!s->iv_other_min || last_gap < s->iv_other_min)
				s->iv_other_min = last_gap;
			if (last_gap > s->iv_other_max)
				s->iv_other_max = last_gap;
		}
		hist_add(&s->intervals, (uint64_t)(last_gap / NS_PER_US));
	}
	if (!nto)
		goto out;

	s->retried++;
	if (nto >= 2 && doubling)
		s->backoff++;
	if (!s->first || l->first_ts < s->first)
		s->first = l->first_ts;
	if (l->last_send_ts > s->last)
		s->last = l->last_send_ts;
	{
		struct dk_nrec *c = dk_ntab_get(&s->names, 0, l->qname);

		if (c)
			c->n++;
	}
	count_addr(&s->servers, &l->first_server);
	count_addr(&s->clients, &l->client);

	{
		int samekey = 0;

		if (r)
			for (i = 0; i < r->n; i++)
				if (rec_tx(r, i)->retrans)
					samekey = 1;
		s->style_samekey += (uint64_t)samekey;
		s->style_newport += (uint64_t)(l->new_port && !l->new_id);
		s->style_newid += (uint64_t)l->new_id;
		s->style_newserver += (uint64_t)l->new_server;

		if (l->answered) {
			ts_t waited = l->final_ts - l->first_ts;

			s->answered_after++;
			hist_add(&s->delay, (uint64_t)(waited / NS_PER_US));
			add_example(s, samekey ? EX_SAMEKEY : l->new_id || l->new_server ? EX_NEWID
											  : EX_NEWPORT,
				    l, r, waited, 0);
		} else if (gave_up(s, r, last_retry, last_gap)) {
			ts_t waited = last_retry + last_gap - l->first_ts;

			s->gone++;
			hist_add(&s->gone_wait, (uint64_t)(waited / NS_PER_US));
			add_example(s, EX_GONE, l, r, waited, 1);
		} else {
			s->still_trying++;
		}
	}
	if (r)
		for (i = 0; i < r->n; i++)
			detect_tag(dc, "retry-timeout", rec_tx(r, i)->seq);
out:
	if (staged)
		free(r->ext);
	else if (r)
		rec_del(s, slot);
}

static int cmp_cnt(const void *a, const void *b)
{
	const struct kmap_ent *x = *(const struct kmap_ent *const *)a;
	const struct kmap_ent *y = *(const struct kmap_ent *const *)b;
	const struct cnt *cx = kmap_val(x), *cy = kmap_val(y);

	if (cx->n != cy->n)
		return cx->n > cy->n ? -1 : 1;
	if (x->klen != y->klen)
		return x->klen < y->klen ? -1 : 1;
	return memcmp(x->key, y->key, x->klen);
}

static int cmp_nrec(const void *a, const void *b)
{
	const struct dk_nrec *x = *(const struct dk_nrec *const *)a;
	const struct dk_nrec *y = *(const struct dk_nrec *const *)b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->wire, y->wire, x->len);
}

/* The names, most retried lookups first (as list_top() has them): the
 * first FINDING_MAX_AFFECTED picked in one pass, not all of them sorted. */
static void list_names(struct state *s, struct finding *f, struct sbuf *line)
{
	struct dk_nrec *top[FINDING_MAX_AFFECTED];
	size_t i, n, ntop;

	ntop = dk_ntab_top(&s->names, cmp_nrec, 1, 0, top, FINDING_MAX_AFFECTED, &n);
	for (i = 0; i < ntop; i++) {
		struct sbuf nb = SBUF_INIT;

		name_to_text(top[i]->wire, top[i]->len, &nb);
		finding_affected(f->names, &f->nnames, nb.buf);
		if (i < 5)
			sbuf_addf(line, "%s%s (%" PRIu64 ")", i ? ", " : "", nb.buf, top[i]->n);
		sbuf_release(&nb);
	}
	if (n > 5)
		sbuf_addf(line, ", ... %zu in all", n);
}

/* affected addresses, most retried lookups first */
static void list_top(struct finding *f, struct kmap *m, char **arr, int *narr, struct sbuf *line)
{
	struct kmap_ent **e = kmap_entries(m);
	size_t i;

	qsort(e, m->count, sizeof(*e), cmp_cnt);
	for (i = 0; i < m->count && i < FINDING_MAX_AFFECTED; i++) {
		const struct cnt *c = kmap_val(e[i]);
		char buf[64];
		const char *txt;
		struct addr a;

		memset(&a, 0, sizeof(a));
		a.family = e[i]->key[0];
		memcpy(a.a, e[i]->key + 1, e[i]->klen - 1u);
		txt = addr_str(&a, buf, sizeof(buf));
		finding_affected(arr, narr, txt);
		if (line && i < 5)
			sbuf_addf(line, "%s%s (%" PRIu64 ")", i ? ", " : "", txt, c->n);
	}
	if (line && m->count > 5)
		sbuf_addf(line, ", ... %zu in all", m->count);
	(void)f;
	free(e);
}

static void finish(void *st, struct findings *out)
{
	struct state *s = st;
	struct detect_ctx *dc = s->dc;
	double share = s->lookups ? (double)s->retried / (double)s->lookups : 0;
	double want = detect_param(dc, "retry-timeout", "timeout_s");
	uint64_t min_count = (uint64_t)detect_param(dc, "retry-timeout", "min_count");
	struct finding *f;
	struct sbuf names = SBUF_INIT;
	char d1[32], d2[32], d3[32];
	uint64_t at_want, best = 0;
	double best_s = 0;
	int i, k, sev;

	if (!s->retried)
		return;
	sev = s->retried < min_count || share < detect_param(dc, "retry-timeout", "warning_share")
		      ? SEV_INFO
	      : share >= detect_param(dc, "retry-timeout", "critical_share") ? SEV_CRITICAL
									     : SEV_WARNING;
	f = finding_new(out, "retry-timeout", sev);
	f->count = s->retried;
	f->first = s->first;
	f->last = s->last;

	/* the cluster: the standard timeout most re-sends waited for */
	for (k = 0; k < (int)ARRAY_SIZE(std_timeouts); k++)
		if (s->iv[k] > best) {
			best = s->iv[k];
			best_s = std_timeouts[k];
		}
	if (s->iv[IV_PARAM] > best) {
		best = s->iv[IV_PARAM];
		best_s = want;
	}
	/* how many waited the timeout we were told to look for */
	at_want = s->iv[IV_PARAM];
	for (k = 0; k < (int)ARRAY_SIZE(std_timeouts); k++)
		if (std_timeouts[k] == want)
			at_want += s->iv[k];

	if (best)
		finding_set(&f->summary,
			    "%" PRIu64 " of %" PRIu64 " lookups (%.1f%%) were re-sent after a timeout: "
			    "%" PRIu64 " of %" PRIu64 " re-sends waited ~%g s (%s)%s",
			    s->retried, s->lookups, 100.0 * share, best, s->resends, best_s,
			    best_s == 5 ? "glibc's default timeout" : "a short resolver timeout, e.g. "
								    "options timeout:N or dig +timeout",
			    s->gone ? "; some never got an answer" : "");
	else
		finding_set(&f->summary,
			    "%" PRIu64 " of %" PRIu64 " lookups (%.1f%%) were re-sent after a timeout, "
			    "at irregular intervals (a recursive resolver's timers)%s",
			    s->retried, s->lookups, 100.0 * share,
			    s->gone ? "; some never got an answer" : "");

	sbuf_addf(&f->details, "    re-sends  %" PRIu64 " after no answer:", s->resends);
	for (k = 0; k < (int)ARRAY_SIZE(std_timeouts); k++)
		if (s->iv[k])
			sbuf_addf(&f->details, " %" PRIu64 " at ~%g s,", s->iv[k], std_timeouts[k]);
	if (s->iv[IV_PARAM])
		sbuf_addf(&f->details, " %" PRIu64 " at ~%g s,", s->iv[IV_PARAM], want);
	if (s->iv[IV_OTHER]) {
		fmt_dur(d1, sizeof(d1), s->iv_other_min);
		fmt_dur(d2, sizeof(d2), s->iv_other_max);
		sbuf_addf(&f->details, " %" PRIu64 " at other intervals (%s to %s),", s->iv[IV_OTHER], d1, d2);
	}
	f->details.len--; /* the last comma */
	f->details.buf[f->details.len] = '\0';
	fmt_dur(d1, sizeof(d1), (ts_t)hist_pct(&s->intervals, 50) * NS_PER_US);
	sbuf_addf(&f->details, "; median %s\n", d1);
	if (s->backoff)
		sbuf_addf(&f->details, "    back-off  %" PRIu64 " lookups doubled their interval at each try (exponential back-off)\n",
			  s->backoff);
	sbuf_addf(&f->details, "    how       %" PRIu64 " same id and port (glibc re-sends), %" PRIu64
		  " same id from a new port (as dig does), %" PRIu64 " with a new id (a resolver, or "
		  "another process asking again), %" PRIu64 " to another server\n",
		  s->style_samekey, s->style_newport, s->style_newid, s->style_newserver);
	if (s->answered_after) {
		fmt_dur(d1, sizeof(d1), (ts_t)hist_pct(&s->delay, 50) * NS_PER_US);
		fmt_dur(d2, sizeof(d2), (ts_t)s->delay.max_us * NS_PER_US);
		sbuf_addf(&f->details, "    waited    %" PRIu64 " answered in the end: first send to answer median %s, max %s\n",
			  s->answered_after, d1, d2);
	}
	if (s->gone) {
		fmt_dur(d3, sizeof(d3), (ts_t)s->gone_wait.max_us * NS_PER_US);
		sbuf_addf(&f->details, "    gave up   %" PRIu64 " never answered: the client stopped asking after up to %s\n",
			  s->gone, d3);
	}
	if (s->still_trying)
		sbuf_addf(&f->details, "    open      %" PRIu64 " still unanswered when the capture ended\n",
			  s->still_trying);
	list_names(s, f, &names);
	if (s->names.count > FINDING_MAX_AFFECTED)
		sbuf_addf(&f->details, "    names     %zu in all, most retried: %s\n",
			  (size_t)s->names.count, names.buf);
	list_top(f, &s->servers, f->servers, &f->nservers, NULL);
	list_top(f, &s->clients, f->clients, &f->nclients, NULL);
	if (s->rec_overflow)
		sbuf_addf(&f->details, "    (%" PRIu64 " transactions not examined: too many open lookups)\n",
			  s->rec_overflow);
	sbuf_release(&names);

	sbuf_addf(&f->json,
		  "\"lookups\": %" PRIu64 ", \"retried\": %" PRIu64 ", \"share\": %.6f, \"resends\": %" PRIu64
		  ", \"intervals\": {\"1s\": %" PRIu64 ", \"2s\": %" PRIu64 ", \"3s\": %" PRIu64
		  ", \"5s\": %" PRIu64 ", \"custom\": %" PRIu64 ", \"other\": %" PRIu64 "}"
		  ", \"cluster_s\": %g, \"cluster_resends\": %" PRIu64 ", \"at_timeout_s\": %" PRIu64
		  ", \"interval_median_ms\": %.3f, \"backoff\": %" PRIu64
		  ", \"same_id_port\": %" PRIu64 ", \"new_port\": %" PRIu64 ", \"new_id\": %" PRIu64
		  ", \"new_server\": %" PRIu64 ", \"answered\": %" PRIu64 ", \"delay_median_ms\": %.3f"
		  ", \"delay_max_ms\": %.3f, \"exhausted\": %" PRIu64 ", \"exhausted_wait_max_ms\": %.3f"
		  ", \"open_at_end\": %" PRIu64 ", \"error_retries\": %" PRIu64,
		  s->lookups, s->retried, share, s->resends, s->iv[IV_1], s->iv[IV_2], s->iv[IV_3],
		  s->iv[IV_5], s->iv[IV_PARAM], s->iv[IV_OTHER], best_s, best, at_want,
		  (double)hist_pct(&s->intervals, 50) / 1000.0, s->backoff, s->style_samekey,
		  s->style_newport, s->style_newid, s->style_newserver, s->answered_after,
		  (double)hist_pct(&s->delay, 50) / 1000.0, (double)s->delay.max_us / 1000.0,
		  s->gone, (double)s->gone_wait.max_us / 1000.0, s->still_trying, s->err_retries);

	finding_set(&f->explanation,
		    "When a stub resolver hears nothing back it waits for its timeout and asks "
		    "again, and the application waits with it: glibc re-sends the same query "
		    "(same id, same port) after 5 s by default (resolv.conf `options timeout:N "
		    "attempts:N`; with several nameservers it moves to the next one), dig after "
		    "its +timeout from a new port, recursive resolvers with a new id after a timer "
		    "based on the server's round-trip time. Each re-send here followed a silence: "
		    "the query or its answer was lost on the way, or the server dropped it. A "
		    "lookup that normally takes a millisecond took the whole timeout, and a "
		    "lookup that ran out of attempts failed (getaddrinfo returns EAI_AGAIN) after "
		    "waiting for all of them. The interval tells who was waiting: ~5 s is glibc's "
		    "default, 2 s a common dig setting, short irregular ones a recursive resolver's; "
		    "intervals that double at each try are an exponential back-off.");
	finding_set(&f->fix,
		    "Find where the datagrams are lost: look at the unanswered finding (which server, "
		    "which client, bursts), the server's own drop counters, and the path (firewalls, "
		    "conntrack, rate limits). If one of several nameservers is dead, remove it or use "
		    "`options rotate` so not every lookup starts with it. A shorter `options timeout:1` "
		    "or a local caching resolver shortens the wait, but does not stop the loss.");

	/* evidence: lookups that gave up first, then one of each retry style */
	for (k = 0; k < EX_PER; k++)
		for (i = 0; i < NEX; i++)
			if (k < s->nex[i]) {
				const struct evidence *e = &s->ex[i][k].ev;

				finding_evidence_raw(f, e->txn_seq, e->ts, e->q, e->r, e->what);
			}
}

static void destroy(void *st)
{
	struct state *s = st;
	uint32_t i;

	for (i = 0; i < s->recs.nrec; i++)
		free(rec_at(&s->recs, i)->ext);
	for (i = 0; i < s->recs.nchunk; i++)
		free(s->recs.chunk[i]);
	free(s->recs.chunk);
	recidx_free(&s->recs.ix);
	dk_ntab_free(&s->names);
	kmap_free(&s->servers);
	kmap_free(&s->clients);
	hist_free(&s->intervals);
	hist_free(&s->delay);
	hist_free(&s->gone_wait);
	free(s);
}

/* Look-ahead (detect.h): the index slot txn() will look in for t's
 * lookup, when it will; rec_slot() was 1.3 to 1.7 % of a run with every
 * detector, waiting for it. */
static void prefetch(void *st, const struct txn *t, uint32_t client)
{
	struct state *s = st;

	(void)client;
	if (route(t) == T_TABLE)
		recidx_prefetch(&s->recs.ix, (uint32_t)(hash_mix(t->lookup->seq) >> 32));
}

const struct detector detector_retry_timeout = {
	.name = "retry-timeout",
	.summary = "lookups re-sent after a timeout: intervals, the standard timeout, delay, give-ups",
	.params = params,
	.init = init,
	.txn = txn,
	.lookup = lookup,
	.finish = finish,
	.free = destroy,
	.prefetch = prefetch,
};
