/*
 * detect-amplification.c: queries sent per lookup, and how that grows.
 *
 * A lookup is one client wanting one (name, type); the matcher groups every
 * query it sends for it (retransmissions, retries with new ids, ports,
 * servers, TCP) into one struct lookup. A healthy client sends one query per
 * lookup. Each failure multiplies that: glibc retries after its timeout
 * (attempts:2 by default, times the nameservers), a resolver retries its
 * upstream (unbound's outbound-msg-retry is 5), and the two stack. In the
 * field notes' PTR flood, client retries (5 per failed lookup) times server
 * retries amplified the load about 7x, at exactly the moment the upstream
 * could take no more.
 *
 * We count lookups and the queries they sent, overall, per client and per
 * time bucket (by the lookup's first query), and flag buckets where the
 * ratio is high, with the growth over the capture's usual (median) ratio.
 * Per client matters: on a resolver's host, its upstream side (many sends
 * per lookup) and its clients' side (one) are different clients.
 *
 * Bounded: one series of buckets; a capped kmap per client (dk_clients:
 * an array load per lookup, not a hash lookup); a capped table of compact
 * records per name (dk_ntab: 16,384 names in 0.8 MB, not 1.3 MB as a
 * kmap, on the bench trace); the retried lookups go through a capped list
 * of their seqs.
 *
 * Transactions to tag: only those of retried lookups can be, so a
 * transaction whose lookup sent it alone and ends with it (a final answer)
 * leaves no tag record; the others do (a lookup still open after its only
 * query may yet be retried). Records are varint-coded deltas of seq and
 * lookup seq, and of the bucket where it changes (5 bytes, was 5.6, not a
 * 16-byte tagbuf record for every transaction), at most TAG_BYTES of them,
 * in 64 KB chunks filled to the end (an array grown by half stood up to a
 * third empty). On the 2 M-packet bench trace (1 M transactions, 62,000
 * retried lookups) this took the detector from 16 MB of tag records to
 * about 0.6 MB.
 */
#include "config.h"
#include "detect.h"
#include "detkit.h"
#include "kmap.h"
#include "names.h"
#include "series.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const struct detector_param params[] = {
	{ "bucket", 10, "seconds per time bucket" },
	{ "min_lookups", 20, "lookups a bucket (or client) needs before its ratio is judged" },
	{ "warning_ratio", 2.0, "queries per lookup for a warning" },
	{ "critical_ratio", 4.0, "queries per lookup for critical" },
	{ "growth", 2.0, "a bucket this many times the capture's median ratio is flagged as growth" },
	{ NULL, 0, NULL },
};

enum { COL_LOOKUPS, COL_SENDS, NCOLS };

#define RETRIED_MAX (1u << 20)
#define EXAMPLES 8

struct lcnt {
	uint64_t sends, lookups; /* sends first: dk_sorted sorts by it */
};

/* The tag record stream (see the top). */
#define TAG_BYTES (16u << 20)
struct tagrec1 {
	uint64_t seq;	/* the transaction's */
	int64_t bucket; /* its lookup's first query's bucket */
	uint32_t lseq;	/* low 32 bits of its lookup's seq */
};

/* in a dk_bytes stream of 64 KB chunks */
struct tagstream {
	struct dk_bytes b;
	uint64_t prev_seq;
	int64_t prev_bucket;
	uint32_t prev_lseq;
	uint64_t dropped;
};

struct example {
	uint32_t sends;
	uint32_t lseq; /* low 32 bits of the lookup's seq, as in the tag records */
	char what[160];
	ts_t ts;
	struct frameref first, last;
};

struct state {
	struct detect_ctx *dc;
	uint32_t bucket;
	struct series b;
	uint64_t lookups, sends;
	struct dk_clients clients;
	struct dk_ntab names; /* per retried name: queries sent */
	struct tagstream tags;
	uint32_t *retried; /* low 32 bits of retried lookups' seqs (finish() sorts them) */
	size_t nretried, aretried;
	uint64_t retried_dropped;
	struct example ex[EXAMPLES]; /* the lookups with the most sends */
	int nex;
};

static void *init(struct detect_ctx *dc)
{
	struct state *s = xcalloc(1, sizeof(*s));
	double b = detect_param(dc, "amplification", "bucket");

	s->dc = dc;
	s->bucket = b < 1 ? 1 : b > 86400 ? 86400 : (uint32_t)b;
	series_init(&s->b, NCOLS);
	dk_clients_init(&s->clients, dc, sizeof(struct lcnt), 65536);
	dk_ntab_init(&s->names, 16384);
	dk_bytes_init(&s->tags.b, 65536);
	return s;
}

/* The series counts buckets, not seconds: bucket k is stored as second k. */
static ts_t bucket_ts(const struct state *s, ts_t ts)
{
	return ts / NS_PER_SEC / s->bucket * NS_PER_SEC;
}

/* ---- tag records ------------------------------------------------------------ */

#define TAGREC_MAX 30 /* three varints */

static void tag_put(struct tagstream *ts, uint64_t seq, int64_t bucket, uint32_t lseq)
{
	uint8_t *p;

	if (ts->b.len + TAGREC_MAX > TAG_BYTES) {
		ts->dropped++;
		return;
	}
	p = dk_bytes_room(&ts->b, TAGREC_MAX);
	p = dk_put_varint(p, dk_zigzag((int64_t)(seq - ts->prev_seq)));
	/* the bucket only when it changes (a flag below the lookup seq):
	 * most records share their predecessor's, and its 0 was a byte */
	p = dk_put_varint(p, dk_zigzag((int32_t)(lseq - ts->prev_lseq)) << 1 |
				     (bucket != ts->prev_bucket));
	if (bucket != ts->prev_bucket)
		p = dk_put_varint(p, dk_zigzag(bucket - ts->prev_bucket));
	dk_bytes_done(&ts->b, p);
	ts->prev_seq = seq;
	ts->prev_bucket = bucket;
	ts->prev_lseq = lseq;
}

/* The next record after r (start from a zeroed r), 0 at the end. */
static int tag_next(struct dk_bytes_pos *at, struct tagrec1 *r)
{
	const uint8_t *p = dk_bytes_next(at);
	uint64_t v;

	if (!p)
		return 0;
	p = dk_get_varint(p, &v);
	r->seq += (uint64_t)dk_unzigzag(v);
	p = dk_get_varint(p, &v);
	r->lseq += (uint32_t)dk_unzigzag(v >> 1);
	if (v & 1) {
		p = dk_get_varint(p, &v);
		r->bucket += dk_unzigzag(v);
	}
	dk_bytes_skip(at, p);
	return 1;
}

/*
 * Only transactions of lookups that sent two queries or more are ever
 * tagged (finish checks the retried list). A lookup that has sent one
 * query, this one, and got a final answer to it ends right after this
 * call (the matcher ends a lookup with its last open query): its record
 * would never be used. Any other record is kept; finish checks.
 */
static void txn(void *st, const struct txn *t)
{
	struct state *s = st;
	const struct lookup *l = t->lookup;
	int64_t bucket;

	if (t->status == TXN_EVICTED || !l)
		return;
	if (l->sends < 2 && !l->open_txns && l->definitive && !l->evicted)
		return;
	bucket = bucket_ts(s, l->first_ts) / NS_PER_SEC;
	/* as a tagbuf record had it */
	bucket = bucket < 0 ? 0 : bucket > UINT32_MAX ? UINT32_MAX : bucket;
	tag_put(&s->tags, t->seq, bucket, (uint32_t)l->seq);
}

static void keep_example(struct state *s, const struct lookup *l)
{
	struct example *e;
	char name[1100], dur[16];
	int i;

	if (s->nex == EXAMPLES && l->sends <= s->ex[EXAMPLES - 1].sends)
		return;
	i = s->nex < EXAMPLES ? s->nex++ : EXAMPLES - 1;
	for (; i > 0 && s->ex[i - 1].sends < l->sends; i--)
		s->ex[i] = s->ex[i - 1];
	e = &s->ex[i];
	e->sends = l->sends;
	e->lseq = (uint32_t)l->seq;
	e->ts = l->first_ts;
	e->first = l->first_frame;
	e->last = l->last_frame;
	name_str(l->qname, name, sizeof(name));
	fmt_dur(dur, sizeof(dur), l->last_send_ts - l->first_ts);
	snprintf(e->what, sizeof(e->what), "%s? %.80s: %u queries in %s (last #%u)%s", qtype_str(l->qtype),
		 name, l->sends, dur, l->last_frame.frame,
		 l->final_rcode == 0xffff ? ", never answered" : l->final_rcode == RCODE_SERVFAIL ? ", last answer SERVFAIL" : "");
}

static void lookup(void *st, const struct lookup *l)
{
	struct state *s = st;
	struct dk_nrec *nr;
	struct lcnt *c;

	s->lookups++;
	s->sends += l->sends;
	series_add(&s->b, bucket_ts(s, l->first_ts), COL_LOOKUPS, 1);
	series_add(&s->b, bucket_ts(s, l->first_ts), COL_SENDS, l->sends);
	c = dk_client(&s->clients, s->dc, &l->client, NULL);
	c->lookups++;
	c->sends += l->sends;
	if (l->sends < 2)
		return;
	nr = dk_ntab_get(&s->names, 0, l->qname);
	if (nr)
		nr->n += l->sends;
	if (s->nretried < RETRIED_MAX) {
		if (s->nretried == s->aretried) {
			s->aretried = s->aretried ? 2 * s->aretried : 1024;
			s->retried = xrealloc(s->retried, s->aretried * sizeof(*s->retried));
		}
		s->retried[s->nretried++] = (uint32_t)l->seq;
	} else {
		s->retried_dropped++;
	}
	keep_example(s, l);
}

/* ---- finish ------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double ratio_of(uint64_t sends, uint64_t lookups)
{
	return lookups ? (double)sends / (double)lookups : 0;
}

/* Tag the transactions of retried lookups (sorted: their seqs' low 32
 * bits), in the hot buckets if there are any. */
static void tag_retried(struct state *s, const uint32_t *hot, uint32_t nhot,
			const uint32_t *sorted)
{
	struct tagrec1 t;
	struct dk_bytes_pos at;

	memset(&t, 0, sizeof(t));
	dk_bytes_begin(&s->tags.b, &at);
	while (tag_next(&at, &t)) {
		int64_t row = t.bucket - s->b.t0;

		if (nhot) {
			uint32_t h;

			for (h = 0; h < nhot && hot[h] != row; h++)
				;
			if (h == nhot)
				continue;
		}
		if (bsearch(&t.lseq, sorted, s->nretried, sizeof(*sorted), cmp_u32))
			detect_tag(s->dc, "amplification", t.seq);
	}
}

#define TOP_NAMES 5

/* The TOP_NAMES names with the most queries (*n of them; caller frees). */
static struct dk_nrec **top_names(const struct state *s, size_t *n)
{
	struct dk_nrec **top = xcalloc(TOP_NAMES + 1, sizeof(*top));

	*n = dk_ntab_top(&s->names, dk_nrec_cmp, 1, 0, top, TOP_NAMES, NULL);
	return top;
}

#define SHOW_BUCKETS 60
#define MAX_HOT 256

static void finish(void *st, struct findings *out)
{
	struct state *s = st;
	struct detect_ctx *dc = s->dc;
	double minl = detect_param(dc, "amplification", "min_lookups");
	double warn = detect_param(dc, "amplification", "warning_ratio");
	double crit = detect_param(dc, "amplification", "critical_ratio");
	double growth = detect_param(dc, "amplification", "growth");
	double *judged = xcalloc(s->b.n + 1, sizeof(*judged)), base = 0, peak = 0, worst;
	uint32_t *hot = xcalloc(MIN(s->b.n, MAX_HOT) + 1, sizeof(*hot));
	uint32_t nj = 0, nhot = 0, nhot_all = 0, r;
	struct kmap_ent **ce = NULL;
	struct dk_nrec **ne = NULL;
	uint64_t extra = 0, cextra = 0;
	size_t i, nflag = 0, nne;
	struct finding *f;
	char t1[40], buf[64];
	int sev;

	for (r = 0; r < s->b.n; r++) {
		uint32_t l = series_get(&s->b, r, COL_LOOKUPS);

		if ((double)l >= minl && l)
			judged[nj++] = ratio_of(series_get(&s->b, r, COL_SENDS), l);
	}
	if (nj) {
		qsort(judged, nj, sizeof(*judged), cmp_double);
		base = nj % 2 ? judged[nj / 2] : (judged[nj / 2 - 1] + judged[nj / 2]) / 2;
	}
	for (r = 0; r < s->b.n; r++) {
		uint32_t l = series_get(&s->b, r, COL_LOOKUPS), q = series_get(&s->b, r, COL_SENDS);
		double ra = ratio_of(q, l);

		if (!l || (double)l < minl)
			continue;
		if (ra >= warn || (nj >= 3 && ra >= growth * base && ra > 1)) {
			if (nhot < MAX_HOT)
				hot[nhot++] = r;
			nhot_all++;
			extra += q - l;
			peak = MAX(peak, ra);
		}
	}
	ce = dk_sorted(&s->clients.map, 0);
	worst = peak;
	for (i = 0; i < s->clients.map.count; i++) {
		const struct lcnt *c = kmap_val(ce[i]);
		double ra = ratio_of(c->sends, c->lookups);

		if ((double)c->lookups >= minl && ra >= warn) {
			nflag++;
			cextra += c->sends - c->lookups;
			worst = MAX(worst, ra);
		}
	}
	if (!nhot_all && !nflag)
		goto out;
	sev = worst >= crit ? SEV_CRITICAL : worst >= warn ? SEV_WARNING : SEV_INFO;
	f = finding_new(out, "amplification", sev);
	f->count = nhot_all ? extra : cextra;
	if (nhot) {
		f->first = series_time(&s->b, hot[0]) * s->bucket;
		f->last = (series_time(&s->b, hot[nhot - 1]) + NS_PER_SEC) * s->bucket - 1;
	} else {
		f->first = series_time(&s->b, 0) * s->bucket;
		f->last = (series_time(&s->b, s->b.n ? s->b.n - 1 : 0) + NS_PER_SEC) * s->bucket - 1;
	}
	finding_set(&f->summary, "%.1f queries per lookup at worst (%s), %.2f over the capture%s",
		    worst, worst > peak ? "one client" : "one time bucket", ratio_of(s->sends, s->lookups),
		    nj >= 3 && base > 0 && peak >= growth * base ? ": retries multiplied the load" : "");
	sbuf_addf(&f->details, "    overall   %" PRIu64 " queries for %" PRIu64 " lookups: %.2f per lookup; median of %u s buckets %.2f\n",
		  s->sends, s->lookups, ratio_of(s->sends, s->lookups), s->bucket, base);
	sbuf_addf(&f->json, "\"lookups\": %" PRIu64 ", \"queries\": %" PRIu64 ", \"ratio\": %.4f, \"bucket_seconds\": %u, \"baseline\": %.4f, \"peak\": %.4f, \"worst\": %.4f",
		  s->lookups, s->sends, ratio_of(s->sends, s->lookups), s->bucket, base, peak, worst);
	/* the ratio over time, compactly: '.' where a bucket has too few lookups */
	if (s->b.n > 1) {
		fmt_time(t1, sizeof(t1), series_time(&s->b, 0) * s->bucket);
		sbuf_addf(&f->details, "    per %us  from %.19s:", s->bucket, t1);
		for (r = 0; r < s->b.n && r < SHOW_BUCKETS; r++) {
			uint32_t l = series_get(&s->b, r, COL_LOOKUPS);

			if (!l || (double)l < minl)
				sbuf_addstr(&f->details, " .");
			else
				sbuf_addf(&f->details, " %.1f", ratio_of(series_get(&s->b, r, COL_SENDS), l));
		}
		sbuf_addf(&f->details, "%s\n", s->b.n > SHOW_BUCKETS ? " ..." : "");
	}
	sbuf_addstr(&f->json, ", \"hot\": [");
	for (r = 0; r < nhot; r++) {
		uint32_t l = series_get(&s->b, hot[r], COL_LOOKUPS), q = series_get(&s->b, hot[r], COL_SENDS);
		ts_t start = series_time(&s->b, hot[r]) * s->bucket;

		fmt_time(t1, sizeof(t1), start);
		if (r < 10)
			sbuf_addf(&f->details, "    bucket    %.19s UTC: %.2f queries per lookup (%u lookups, %u queries)%s\n",
				  t1, ratio_of(q, l), l, q,
				  base > 0 && ratio_of(q, l) >= growth * base && nj >= 3 ? ", growth over the median" : "");
		sbuf_addf(&f->json, "%s{\"start\": %" PRId64 ", \"lookups\": %u, \"queries\": %u, \"ratio\": %.4f}",
			  r ? ", " : "", start / NS_PER_SEC, l, q, ratio_of(q, l));
	}
	sbuf_addstr(&f->json, "]");
	if (nhot_all > 10)
		sbuf_addf(&f->details, "    ... %u buckets in all\n", nhot_all);
	sbuf_addstr(&f->json, ", \"clients\": [");
	for (i = 0; i < s->clients.map.count && i < 5; i++) {
		const struct lcnt *c = kmap_val(ce[i]);
		double ra = ratio_of(c->sends, c->lookups);

		dk_key_str(ce[i]->key, ce[i]->klen, buf, sizeof(buf));
		if ((double)c->lookups >= minl && ra >= warn)
			finding_affected(f->clients, &f->nclients, buf);
		sbuf_addf(&f->details, "    %-9s %-28s %8" PRIu64 " queries for %8" PRIu64 " lookups: %.2f per lookup\n",
			  i ? "" : "client", buf, c->sends, c->lookups, ra);
		sbuf_addf(&f->json, "%s{\"addr\": \"%s\", \"lookups\": %" PRIu64 ", \"queries\": %" PRIu64 ", \"ratio\": %.4f}",
			  i ? ", " : "", buf, c->lookups, c->sends, ra);
	}
	sbuf_addstr(&f->json, "]");
	ne = top_names(s, &nne);
	for (i = 0; i < nne; i++) {
		struct sbuf nb = SBUF_INIT;

		name_to_text(ne[i]->wire, ne[i]->len, &nb);
		finding_affected(f->names, &f->nnames, nb.buf);
		sbuf_release(&nb);
	}
	finding_set(&f->explanation,
		    "Each lookup (one client wanting one name and type) should cost one query. "
		    "Here up to %.1f were sent per lookup. Every timeout or SERVFAIL makes the client "
		    "ask again (glibc: after `timeout`, up to `attempts` times per nameserver), and a "
		    "resolver in between retries its upstream as well (unbound: outbound-msg-retry, "
		    "5 by default), so the two multiply: in the field notes' PTR flood, client "
		    "retries times server retries amplified the load about 7x. The amplification "
		    "grows exactly when the upstream is failing, so it feeds the failure: a rate "
		    "limit that is just exceeded gets several times the load it can take, and "
		    "everything else on the same path waits behind it.",
		    worst);
	finding_set(&f->fix,
		    "Fix the failure the retries answer (see the unanswered, rate-limit, "
		    "servfail-burst and ptr-flood findings) and cap the multipliers: fewer client "
		    "attempts for batch jobs (resolv.conf `options attempts:1 timeout:1` for them), "
		    "fewer resolver retries toward a limited upstream, caching of failures (negative "
		    "caching; unbound serve-expired), and back-off in the application instead of "
		    "immediate retries.");
	for (i = 0; i < (size_t)s->nex; i++) {
		struct frameref none = { 0, 0 };
		struct tagrec1 t;
		struct dk_bytes_pos at;
		uint64_t seq = 0;

		/* the lookup's first transaction, for `dnsvet tx` */
		memset(&t, 0, sizeof(t));
		dk_bytes_begin(&s->tags.b, &at);
		while (tag_next(&at, &t))
			if (t.lseq == s->ex[i].lseq && (!seq || t.seq < seq))
				seq = t.seq;
		finding_evidence_raw(f, seq, s->ex[i].ts, s->ex[i].first, none, s->ex[i].what);
	}
	if (s->tags.dropped || s->retried_dropped)
		sbuf_addstr(&f->details, "    (tags: not every retried transaction is tagged; table caps)\n");
	/* tags: the transactions of retried lookups, in the flagged buckets */
	/* sorted in place: the list is a set to everything (lookups only
	 * append to it), and a sorted copy was 0.25 MB more at the end of the
	 * bench trace */
	if (s->nretried)
		qsort(s->retried, s->nretried, sizeof(*s->retried), cmp_u32);
	tag_retried(s, hot, nhot, s->retried);
out:
	free(ce);
	free(ne);
	free(hot);
	free(judged);
}

static void destroy(void *st)
{
	struct state *s = st;

	series_free(&s->b);
	dk_clients_free(&s->clients);
	dk_ntab_free(&s->names);
	dk_bytes_free(&s->tags.b);
	free(s->retried);
	free(s);
}

const struct detector detector_amplification = {
	.name = "amplification",
	.summary = "queries sent per lookup (client, name, type), overall, per client and over time",
	.params = params,
	.init = init,
	.txn = txn,
	.lookup = lookup,
	.finish = finish,
	.free = destroy,
};
