/*
 * detect-servfail-burst.c: SERVFAIL and REFUSED answers per server over time.
 *
 * A resolver answers SERVFAIL when it could not get an answer itself: its
 * upstream timed out, dropped it (a per-interface packet limit, in the PTR
 * flood of the field notes), or DNSSEC validation failed; REFUSED when policy
 * says no. A few broken names fail all the time; what matters is a surge:
 * seconds where a real share of a server's answers are failures, across
 * many names. So per server we follow a per-second series of answers and
 * failures (bucketed by the time the answer arrived) and flag bursts: runs
 * of seconds where the failing share is high, and say how many distinct
 * names failed in them (one name failing over and over is that name's
 * problem, reported at info; many names at once is the server's or its
 * upstream's).
 *
 * Streaming and bounded: answers reach us in capture order, so each server
 * keeps only its current second and current run; finished bursts are kept
 * (BURSTS_KEPT per server, all of them counted). Servers are a capped kmap;
 * failing names a capped table of compact records (dk_ntab: 0.7 MB,
 * not about 1.2 MB as a kmap, for the bench trace's 13,200 failing server
 * and name pairs).
 *
 * Failing transactions to tag are known only at the end (the bursts): each
 * leaves a record of its seq, second and server id as varint-coded deltas
 * from the record before (3 to 5 bytes, not a 16-byte tagbuf record), in
 * 16 KB chunks filled to the end (a tagbuf doubled: half of it could stand
 * empty), at most TAGBUF_DEFAULT_CAP records, as before. On the 2 M-packet
 * bench trace (19,600 failures) this took the tag records from 512 KB to
 * 96 KB.
 */
#include "config.h"
#include "detect.h"
#include "detkit.h"
#include "kmap.h"
#include "names.h"
#include "tagbuf.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const struct detector_param params[] = {
	{ "burst_share", 0.05, "a second is in a burst when this share of a server's answers are SERVFAIL or REFUSED" },
	{ "burst_min", 5, "a burst needs at least this many failed answers" },
	{ "burst_names", 3, "distinct failing names in a burst for a warning (fewer: info)" },
	{ "burst_gap", 2, "seconds without answers that do not end a burst" },
	{ "critical_share", 0.5, "failing share over a server's bursts for critical" },
	{ "min_count", 5, "failed answers from a server with no burst for an info finding" },
	{ NULL, 0, NULL },
};

#define BURSTS_KEPT 16
#define NAMESET 8 /* distinct names remembered per second and per burst */

struct nameset {
	uint32_t n;	    /* distinct names seen, up to NAMESET + 1 (= "more") */
	uint64_t h[NAMESET];
};

struct burst {
	int64_t start, end; /* epoch seconds, inclusive */
	uint32_t answers, servfail, refused;
	struct nameset names;
	struct evidence ex; /* the first failure in it */
};

struct srv {
	uint32_t id; /* 1-based; 0 until set up */
	uint64_t answers, servfail, refused;
	ts_t first_fail, last_fail;
	struct evidence ex0; /* the first failure */
	/* the current second */
	int64_t cur;
	uint32_t c_answers, c_sf, c_ref;
	struct nameset c_names;
	struct evidence c_ex;
	/* the current run of hot seconds */
	int in_run;
	struct burst run;
	/* finished bursts */
	struct burst *bursts;
	uint32_t nkept;
	uint64_t nbursts, burst_secs, burst_answers, burst_fail;
	uint64_t small_runs; /* runs of hot seconds below burst_min */
};

/* The tag records (see the top), in a dk_bytes stream of 16 KB chunks. */
#define TAGREC_MAX 30 /* three varints */
struct tagstream {
	struct dk_bytes b;
	uint64_t nrec, dropped;
	uint64_t prev_seq;
	int64_t prev_sec;
	uint32_t prev_key;
};

struct tagrec1 {
	uint64_t seq;
	int64_t sec;
	uint32_t key;
};

struct state {
	struct detect_ctx *dc;
	double share;
	uint32_t bmin, gap;
	struct kmap servers;
	struct dk_ntab names; /* server id and name -> failures */
	struct tagstream tags;
	uint32_t nservers;
	uint64_t ignored; /* answers from servers beyond the table cap */
};

static void *init(struct detect_ctx *dc)
{
	struct state *s = xcalloc(1, sizeof(*s));

	s->dc = dc;
	s->share = detect_param(dc, "servfail-burst", "burst_share");
	s->bmin = (uint32_t)detect_param(dc, "servfail-burst", "burst_min");
	s->gap = (uint32_t)detect_param(dc, "servfail-burst", "burst_gap");
	kmap_init(&s->servers, sizeof(struct srv), 4096);
	dk_ntab_init(&s->names, 16384);
	dk_bytes_init(&s->tags.b, 16384);
	return s;
}

static void tag_add(struct tagstream *ts, uint64_t seq, int64_t sec, uint32_t key)
{
	uint8_t *p;

	if (ts->nrec >= TAGBUF_DEFAULT_CAP) {
		ts->dropped++;
		return;
	}
	/* seconds as a tagbuf record had them */
	sec = sec < 0 ? 0 : sec > UINT32_MAX ? UINT32_MAX : sec;
	p = dk_bytes_room(&ts->b, TAGREC_MAX);
	p = dk_put_varint(p, dk_zigzag((int64_t)(seq - ts->prev_seq)));
	p = dk_put_varint(p, dk_zigzag(sec - ts->prev_sec));
	p = dk_put_varint(p, dk_zigzag((int64_t)key - (int64_t)ts->prev_key));
	dk_bytes_done(&ts->b, p);
	ts->nrec++;
	ts->prev_seq = seq;
	ts->prev_sec = sec;
	ts->prev_key = key;
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
	r->sec += dk_unzigzag(v);
	p = dk_get_varint(p, &v);
	r->key = (uint32_t)((int64_t)r->key + dk_unzigzag(v));
	dk_bytes_skip(at, p);
	return 1;
}

static void nameset_add(struct nameset *ns, uint64_t h)
{
	uint32_t i;

	for (i = 0; i < ns->n && i < NAMESET; i++)
		if (ns->h[i] == h)
			return;
	if (ns->n < NAMESET)
		ns->h[ns->n] = h;
	if (ns->n <= NAMESET)
		ns->n++;
}

static void nameset_merge(struct nameset *to, const struct nameset *from)
{
	uint32_t i;

	for (i = 0; i < from->n && i < NAMESET; i++)
		nameset_add(to, from->h[i]);
	if (from->n > NAMESET)
		to->n = NAMESET + 1;
}

/* End the current run: a burst if it has enough failures. The burst goes
 * to *out (1 returned) and the run is reset. */
static int close_run(struct state *s, struct srv *v, struct burst *out)
{
	int ok = 0;

	if (!v->in_run)
		return 0;
	if (v->run.servfail + v->run.refused >= s->bmin) {
		*out = v->run;
		ok = 1;
	} else {
		v->small_runs++;
	}
	v->in_run = 0;
	return ok;
}

static void keep_burst(struct srv *v, const struct burst *b)
{
	v->nbursts++;
	v->burst_secs += (uint64_t)(b->end - b->start + 1);
	v->burst_answers += b->answers;
	v->burst_fail += b->servfail + b->refused;
	if (v->nkept >= BURSTS_KEPT)
		return;
	if (!v->bursts)
		v->bursts = xcalloc(BURSTS_KEPT, sizeof(*v->bursts));
	v->bursts[v->nkept++] = *b;
}

/* The current second is over: hot or not, extend or end the run. Returns
 * 1 with a finished burst in *out. */
static int close_second(struct state *s, struct srv *v, struct burst *out)
{
	uint32_t fail = v->c_sf + v->c_ref;
	int done = 0;

	if (!v->c_answers)
		return 0;
	if (fail && (double)fail >= s->share * v->c_answers) {
		if (!v->in_run) {
			memset(&v->run, 0, sizeof(v->run));
			v->run.start = v->cur;
			v->run.ex = v->c_ex;
			v->in_run = 1;
		}
		v->run.end = v->cur;
		v->run.answers += v->c_answers;
		v->run.servfail += v->c_sf;
		v->run.refused += v->c_ref;
		nameset_merge(&v->run.names, &v->c_names);
	} else {
		done = close_run(s, v, out);
	}
	v->c_answers = v->c_sf = v->c_ref = 0;
	memset(&v->c_names, 0, sizeof(v->c_names));
	return done;
}

/* Move the server's clock to second sec. */
static void advance(struct state *s, struct srv *v, int64_t sec)
{
	struct burst b;

	if (sec <= v->cur)
		return;
	if (close_second(s, v, &b))
		keep_burst(v, &b);
	if (sec - v->cur - 1 > (int64_t)s->gap && close_run(s, v, &b))
		keep_burst(v, &b);
	v->cur = sec;
}

static void txn(void *st, const struct txn *t)
{
	struct state *s = st;
	uint8_t k[DK_ADDR_KEY];
	struct dk_nrec *nr;
	size_t klen;
	struct srv *v;
	uint16_t rc;
	int over;

	if (t->status != TXN_ANSWERED)
		return;
	klen = dk_addr_key(&t->server, k);
	v = kmap_get(&s->servers, k, klen, &over);
	if (over) {
		s->ignored++;
		return;
	}
	if (!v->id) {
		v->id = ++s->nservers;
		v->cur = t->resp_ts / NS_PER_SEC;
	}
	advance(s, v, t->resp_ts / NS_PER_SEC);
	v->answers++;
	v->c_answers++;
	rc = TXN_RCODE(t);
	if (rc != RCODE_SERVFAIL && rc != RCODE_REFUSED)
		return;
	if (rc == RCODE_SERVFAIL) {
		v->servfail++;
		v->c_sf++;
	} else {
		v->refused++;
		v->c_ref++;
	}
	if (!v->first_fail || t->resp_ts < v->first_fail)
		v->first_fail = t->resp_ts;
	if (!v->ex0.txn_seq) {
		v->ex0.txn_seq = t->seq;
		v->ex0.ts = t->first_ts;
		v->ex0.q = t->qframe;
		v->ex0.r = t->rframe;
		txn_describe(t, v->ex0.what, sizeof(v->ex0.what));
	}
	if (t->resp_ts > v->last_fail)
		v->last_fail = t->resp_ts;
	if (!v->c_names.n) {
		/* the first failure of the second: the burst's example if it
		 * starts here */
		v->c_ex.txn_seq = t->seq;
		v->c_ex.ts = t->first_ts;
		v->c_ex.q = t->qframe;
		v->c_ex.r = t->rframe;
		txn_describe(t, v->c_ex.what, sizeof(v->c_ex.what));
	}
	nameset_add(&v->c_names, t->qname->hash);
	nr = dk_ntab_get(&s->names, v->id, t->qname);
	if (nr)
		nr->n++;
	tag_add(&s->tags, t->seq, t->resp_ts / NS_PER_SEC, v->id);
}

static int is_tagged(const struct burst *b, uint32_t n, int64_t sec)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (sec >= b[i].start && sec <= b[i].end)
			return 1;
	return 0;
}

#define TOP_NAMES 5

/* The failing names of one server, most failures first, into the finding:
 * the first TOP_NAMES picked in one pass (sorting all of them took an array
 * of 13,000 pointers at the end of the bench trace). */
static void list_names(struct state *s, struct finding *f, uint32_t sid)
{
	struct dk_nrec *top[TOP_NAMES];
	size_t i, shown, total;

	shown = dk_ntab_top(&s->names, dk_nrec_cmp, 0, sid, top, TOP_NAMES, &total);
	for (i = 0; i < shown; i++) {
		struct sbuf nb = SBUF_INIT;

		name_to_text(top[i]->wire, top[i]->len, &nb);
		finding_affected(f->names, &f->nnames, nb.buf);
		sbuf_addf(&f->details, "%s %s (%" PRIu64 ")", i ? "," : "    names      ", nb.buf,
			  top[i]->n);
		sbuf_release(&nb);
	}
	if (total > shown)
		sbuf_addf(&f->details, ", and %zu more", total - shown);
	if (shown)
		sbuf_addch(&f->details, '\n');
}

static void names_text(char *buf, size_t n, const struct nameset *ns)
{
	if (ns->n > NAMESET)
		snprintf(buf, n, "more than %d names", NAMESET);
	else
		snprintf(buf, n, "%u name%s", ns->n, ns->n == 1 ? "" : "s");
}

static void report_server(struct state *s, struct findings *out, const struct kmap_ent *ent)
{
	struct detect_ctx *dc = s->dc;
	const struct srv *v0 = kmap_val(ent);
	struct srv v = *v0; /* a copy: closing the current second must not change state */
	struct burst extra, *all;
	uint32_t nall, i, maxnames = 0;
	uint64_t fail = v.servfail + v.refused, nb, bsecs, bans, bfail;
	int have_extra, sev;
	struct finding *f;
	char srvname[64], t1[40];
	struct dk_bytes_pos at;
	struct tagrec1 r;

	have_extra = close_second(s, &v, &extra);
	if (!have_extra)
		have_extra = close_run(s, &v, &extra);
	nall = v.nkept + (have_extra ? 1 : 0);
	all = xcalloc(nall + 1, sizeof(*all));
	if (v.nkept)
		memcpy(all, v.bursts, v.nkept * sizeof(*all));
	if (have_extra)
		all[v.nkept] = extra;
	nb = v.nbursts + (have_extra ? 1 : 0);
	bsecs = v.burst_secs + (have_extra ? (uint64_t)(extra.end - extra.start + 1) : 0);
	bans = v.burst_answers + (have_extra ? extra.answers : 0);
	bfail = v.burst_fail + (have_extra ? extra.servfail + extra.refused : 0);
	for (i = 0; i < nall; i++)
		maxnames = MAX(maxnames, all[i].names.n);
	if (!nb && fail < (uint64_t)detect_param(dc, "servfail-burst", "min_count"))
		goto out;

	sev = SEV_INFO;
	if (nb && maxnames >= (uint32_t)detect_param(dc, "servfail-burst", "burst_names"))
		sev = (double)bfail >= detect_param(dc, "servfail-burst", "critical_share") * (double)bans
			      ? SEV_CRITICAL
			      : SEV_WARNING;
	f = finding_new(out, "servfail-burst", sev);
	f->count = fail;
	f->first = v.first_fail;
	f->last = v.last_fail;
	dk_key_str(ent->key, ent->klen, srvname, sizeof(srvname));
	finding_affected(f->servers, &f->nservers, srvname);
	if (nb && sev > SEV_INFO)
		finding_set(&f->summary, "%s answered SERVFAIL/REFUSED %" PRIu64 " times; %" PRIu64 " in %" PRIu64
			    " burst%s over %" PRIu64 " s, when %.0f%% of its answers failed",
			    srvname, fail, bfail, nb, nb == 1 ? "" : "s", bsecs,
			    bans ? 100.0 * (double)bfail / (double)bans : 0.0);
	else if (nb)
		finding_set(&f->summary, "%s answered SERVFAIL/REFUSED %" PRIu64 " times, in bursts for only %u name%s: broken names rather than a failing server",
			    srvname, fail, maxnames, maxnames == 1 ? "" : "s");
	else
		finding_set(&f->summary, "%s answered SERVFAIL/REFUSED %" PRIu64 " times (%.2f%% of its answers), spread out, no burst",
			    srvname, fail, v.answers ? 100.0 * (double)fail / (double)v.answers : 0.0);
	sbuf_addf(&f->details, "    answers     %" PRIu64 ": SERVFAIL %" PRIu64 ", REFUSED %" PRIu64 " (%.2f%%)\n",
		  v.answers, v.servfail, v.refused,
		  v.answers ? 100.0 * (double)fail / (double)v.answers : 0.0);
	sbuf_addf(&f->json, "\"server\": ");
	sbuf_add_json_str(&f->json, srvname);
	sbuf_addf(&f->json, ", \"answers\": %" PRIu64 ", \"servfail\": %" PRIu64 ", \"refused\": %" PRIu64
		  ", \"share\": %.6f, \"bursts_total\": %" PRIu64 ", \"burst_seconds\": %" PRIu64
		  ", \"burst_answers\": %" PRIu64 ", \"burst_failures\": %" PRIu64 ", \"bursts\": [",
		  v.answers, v.servfail, v.refused,
		  v.answers ? (double)fail / (double)v.answers : 0.0, nb, bsecs, bans, bfail);
	for (i = 0; i < nall; i++) {
		const struct burst *b = &all[i];
		char nm[40];

		names_text(nm, sizeof(nm), &b->names);
		if (i < 10) {
			fmt_time(t1, sizeof(t1), b->start * NS_PER_SEC);
			sbuf_addf(&f->details, "    burst      %.19s UTC, %" PRId64 " s: %u of %u answers failed (%.0f%%: SERVFAIL %u, REFUSED %u), %s\n",
				  t1, b->end - b->start + 1, b->servfail + b->refused, b->answers,
				  100.0 * (b->servfail + b->refused) / (b->answers ? b->answers : 1),
				  b->servfail, b->refused, nm);
		}
		sbuf_addf(&f->json, "%s{\"start\": %" PRId64 ", \"seconds\": %" PRId64 ", \"answers\": %u, \"servfail\": %u, \"refused\": %u, \"names\": %u, \"names_more\": %s}",
			  i ? ", " : "", b->start, b->end - b->start + 1, b->answers, b->servfail,
			  b->refused, MIN(b->names.n, NAMESET), b->names.n > NAMESET ? "true" : "false");
		finding_evidence_raw(f, b->ex.txn_seq, b->ex.ts, b->ex.q, b->ex.r, b->ex.what);
	}
	sbuf_addstr(&f->json, "]");
	if (nall > 10 || nb > nall)
		sbuf_addf(&f->details, "    ... %" PRIu64 " bursts in all\n", nb);
	if (!nb)
		finding_evidence_raw(f, v.ex0.txn_seq, v.ex0.ts, v.ex0.q, v.ex0.r, v.ex0.what);
	list_names(s, f, v.id);
	if (nb > nall || s->tags.dropped)
		sbuf_addstr(&f->details, "    (tags: not every failing transaction is tagged; table caps)\n");

	if (sev > SEV_INFO)
		finding_set(&f->explanation,
			    "SERVFAIL means the server could not produce an answer: as a resolver, its "
			    "own queries upstream timed out, were dropped or failed DNSSEC validation; "
			    "REFUSED means policy (an ACL, a rate limit) said no. A few broken names fail "
			    "all the time; here, for whole seconds, a large share of this server's answers "
			    "failed, across many names at once: the server or whatever it depends on was "
			    "failing, not the names. Clients retry on SERVFAIL (glibc tries the next "
			    "server, then the same again), so a burst also multiplies the load at the "
			    "worst moment. In the PTR flood of the field notes, the resolver's queue was "
			    "full of reverse lookups waiting on an upstream that had hit a per-interface "
			    "packet limit: the SERVFAIL answers came from the limit, not from the names.");
	else
		finding_set(&f->explanation,
			    "SERVFAIL means the server could not produce an answer (its upstream timed out "
			    "or failed, DNSSEC validation failed); REFUSED means policy said no. These "
			    "failures are few or concern few names: most likely those names are broken "
			    "(a lame delegation, a DNSSEC error, a zone that does not exist upstream), not "
			    "the server. A client that asks for such a name every second, as the KeyDB "
			    "replication cron in the field notes did, turns one broken name into a steady "
			    "stream of failures and stalls.");
	finding_set(&f->fix,
		    "Look at what the server was waiting on at those times: its upstream's reachability "
		    "and rate limits (the unanswered and rate-limit findings for the upstream side, "
		    "if the capture has it), its logs (unbound: `unbound-control dump_requestlist`, "
		    "`verbosity: 2`; BIND: the query-errors category) and `dig +cd` to tell DNSSEC "
		    "failures from timeouts. For names that always fail, fix the name or stop "
		    "asking for it (a trailing dot avoids a search-list walk into SERVFAIL).");
	memset(&r, 0, sizeof(r));
	dk_bytes_begin(&s->tags.b, &at);
	while (tag_next(&at, &r))
		if (r.key == v.id && (!nb || is_tagged(all, nall, r.sec)))
			detect_tag(dc, "servfail-burst", r.seq);
out:
	free(all);
}

static void finish(void *st, struct findings *out)
{
	struct state *s = st;
	struct kmap_ent **e = kmap_entries(&s->servers);
	size_t i;

	for (i = 0; i < s->servers.count; i++)
		report_server(s, out, e[i]);
	free(e);
}

static void destroy(void *st)
{
	struct state *s = st;
	struct kmap_ent **e = kmap_entries(&s->servers);
	size_t i;

	for (i = 0; i < s->servers.count; i++)
		free(((struct srv *)kmap_val(e[i]))->bursts);
	free(e);
	kmap_free(&s->servers);
	dk_ntab_free(&s->names);
	dk_bytes_free(&s->tags.b);
	free(s);
}

const struct detector detector_servfail_burst = {
	.name = "servfail-burst",
	.summary = "SERVFAIL/REFUSED per server over time: bursts of seconds where many answers fail",
	.params = params,
	.init = init,
	.txn = txn,
	.finish = finish,
	.free = destroy,
};
