/*
 * detect-serial-fallback.c: glibc's switch from parallel to serial A/AAAA
 * queries, and the SERVFAIL stall that serial mode can cause.
 *
 * getaddrinfo(AF_UNSPEC) in glibc sends the A and the AAAA query of a lookup
 * together on one UDP socket (parallel mode). If, once, one reply arrives and
 * the other times out, send_dg() sets RES_SNGLKUP in the thread's resolver
 * state: from then on that thread sends the second query only after the
 * first reply (serial mode, as with "options single-request"; after a second
 * such timeout it also opens a new socket for it, RES_SNGLKUPREOP, as with
 * "single-request-reopen"). In serial mode, glibc before the fix for bug
 * 30081 treats a SERVFAIL/NOTIMP/REFUSED answer to the A query as "wait for
 * more": it polls the socket for the whole timeout, then asks the same A
 * query again, and never sends the AAAA query. That is the KeyDB stall in the
 * field notes.
 *
 * Per client we pair its A and AAAA queries for one name (the second leaves
 * before the first reply: parallel; after it: serial, same port or new
 * port), and follow the client's mode over its run of pairs. One pair proves
 * nothing: on a busy host the second datagram of a parallel pair can leave
 * just after a fast reply and look serial (pcaps/healthy-busy.pcap has runs
 * of them). A switch is a parallel pair with exactly one lost reply followed
 * by a run of serial pairs, which is what glibc's rule produces and what
 * scheduling noise does not.
 *
 * Transactions reach us when they finish, out of order (an unanswered one
 * only after the answer window), so each client's A/AAAA queries wait in a
 * small buffer sorted by send time until nothing earlier can still arrive,
 * then are analysed in order. finish() analyses what is still buffered on a
 * copy, so live snapshots do not disturb the run.
 */
#include "config.h"
#include "detect.h"
#include "kmap.h"
#include "names.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const struct detector_param params[] = {
	{ "pair_gap_s", 0.1, "an A and an AAAA query for one name are a pair when the second leaves at most this long after the first reply" },
	{ "switch_run", 3, "serial pairs in a row after a lost reply that make a switch" },
	{ "stall_min_s", 0.5, "silence after an error answer before the same A query again that counts as a stall" },
	{ "stall_max_s", 31, "... and at most this (glibc caps its timeout at 30 s)" },
	{ "min_serial_pairs", 5, "pairs, all serial, for the info finding about a client serial throughout" },
	{ NULL, 0, NULL },
};

/* one A or AAAA query of a client, waiting in the client's buffer */
struct rec {
	uint64_t seq, lseq; /* transaction, lookup (0: none) */
	struct name *qname; /* a reference we hold */
	ts_t first, last, resp; /* resp < 0: no answer */
	struct frameref q, r;
	uint16_t qtype, cport, id, retrans;
	uint8_t status, rcode, used;
};

enum { M_PARALLEL, M_CANDIDATE, M_SERIAL };

#define PEND_MAX 64
#define FA_MAX 4

/* an A query answered with an error and no AAAA query after it (yet) */
struct failed_a {
	uint64_t namehash, seq;
	ts_t first, resp;
	uint16_t id;
	uint8_t rcode, serial;
	struct evidence ev;
};

/* per-client analysis state: plain data, copied for snapshots */
struct mode {
	uint64_t pairs, par, ser, reopen, lost_pairs;
	int state, run, par_run;
	/* the candidate or confirmed switch */
	uint64_t trig_namehash;
	uint16_t trig_port;
	ts_t trig_ts, trig_gap;
	struct evidence trig_ev[2], first_ser_ev[2];
	int ntrig_ev, nfirst_ser_ev;
	uint64_t pend[PEND_MAX];
	int npend;
	uint64_t par_before; /* parallel pairs before the switch */
	/* confirmed */
	uint64_t switches, ser_after, reopen_after, par_after, reverts;
	ts_t switch_ts, last_serial_ts;
	struct evidence sw_trig_ev[2], sw_first_ev[2];
	int nsw_trig_ev, nsw_first_ev;
	ts_t sw_gap;
	/* error answers in serial mode */
	uint64_t stalls, moved_on;
	ts_t stall_sum, stall_min, stall_max, stall_first, stall_last;
	struct evidence stall_ev[4];
	int nstall_ev;
	struct failed_a fa[FA_MAX];
	int nfa;
	ts_t first_ts, last_ts;
};

struct client {
	struct addr addr;
	struct rec *v;
	size_t n, alloc;
	struct mode m;
};

#define CLIENTS_MAX 4096
#define RECS_MAX (1u << 18) /* all clients together */

struct state {
	struct detect_ctx *dc;
	struct kmap clients;
	size_t nrecs;
	uint64_t forced, late, ignored_clients;
	ts_t now, horizon;
	double pair_gap, stall_min, stall_max;
	int switch_run;
};

static void *init(struct detect_ctx *dc)
{
	struct state *s = xcalloc(1, sizeof(*s));

	s->dc = dc;
	kmap_init(&s->clients, sizeof(struct client), CLIENTS_MAX);
	s->pair_gap = detect_param(dc, "serial-fallback", "pair_gap_s");
	s->switch_run = (int)detect_param(dc, "serial-fallback", "switch_run");
	if (s->switch_run < 1)
		s->switch_run = 1;
	s->stall_min = detect_param(dc, "serial-fallback", "stall_min_s");
	s->stall_max = detect_param(dc, "serial-fallback", "stall_max_s");
	/* a query is settled when nothing sent before it can still finish:
	 * its own answer window, and its partner's after the pair gap */
	s->horizon = 3 * detect_window(dc);
	return s;
}

static size_t akey(const struct addr *a, uint8_t *k)
{
	k[0] = a->family;
	memcpy(k + 1, a->a, 16);
	return a->family == 4 ? 5 : 17;
}

static int lost(const struct rec *r)
{
	return r->retrans > 0 || r->status != TXN_ANSWERED;
}

static void describe(const struct rec *r, char *buf, size_t n, const char *extra)
{
	char name[300], lat[32];

	name_str(r->qname, name, sizeof(name));
	if (r->resp >= 0) {
		fmt_dur(lat, sizeof(lat), r->resp - r->first);
		snprintf(buf, n, "%s? %s port %u %s after %s%s%s", qtype_str(r->qtype), name,
			 r->cport, rcode_str(r->rcode), lat, r->retrans ? " (re-sent)" : "", extra);
	} else {
		snprintf(buf, n, "%s? %s port %u never answered%s", qtype_str(r->qtype), name,
			 r->cport, extra);
	}
}

static void make_ev(struct evidence *e, const struct rec *r, const char *extra)
{
	struct frameref none = { 0, 0 };
	char buf[512];

	memset(e, 0, sizeof(*e));
	e->txn_seq = r->seq;
	e->ts = r->first;
	e->q = r->q;
	e->r = r->resp >= 0 ? r->r : none;
	describe(r, buf, sizeof(buf), extra);
	memcpy(e->what, buf, sizeof(e->what) - 1);
	e->what[sizeof(e->what) - 1] = '\0';
}

static void pend_add(struct mode *m, uint64_t seq)
{
	if (m->npend < PEND_MAX)
		m->pend[m->npend++] = seq;
}

/* An error answer to an A query, then the same query again: stall or not. */
static void check_failed_a(struct state *s, struct mode *m, const struct rec *r)
{
	int k;

	/* forget old ones */
	for (k = 0; k < m->nfa;) {
		if (r->first - m->fa[k].resp > (ts_t)(s->stall_max * NS_PER_SEC))
			m->fa[k] = m->fa[--m->nfa];
		else
			k++;
	}
	for (k = 0; k < m->nfa; k++) {
		struct failed_a *fa = &m->fa[k];
		ts_t gap;

		if (fa->namehash != r->qname->hash || r->first < fa->resp)
			continue;
		if (r->qtype == QTYPE_AAAA) {
			/* the AAAA query was sent after all: not the stall */
			m->fa[k] = m->fa[--m->nfa];
			return;
		}
		if (r->id != fa->id) {
			m->fa[k] = m->fa[--m->nfa]; /* a new lookup */
			return;
		}
		gap = r->first - fa->resp;
		if ((double)gap >= s->stall_min * NS_PER_SEC) {
			char extra[96], g[32];

			fmt_dur(g, sizeof(g), gap);
			m->stalls++;
			m->stall_sum += gap;
			if (!m->stall_min || gap < m->stall_min)
				m->stall_min = gap;
			if (gap > m->stall_max)
				m->stall_max = gap;
			if (!m->stall_first)
				m->stall_first = fa->first;
			m->stall_last = r->first;
			if (m->nstall_ev + 2 <= (int)ARRAY_SIZE(m->stall_ev)) {
				m->stall_ev[m->nstall_ev++] = fa->ev;
				snprintf(extra, sizeof(extra), ": the same query again after %s of silence, no AAAA query", g);
				make_ev(&m->stall_ev[m->nstall_ev++], r, extra);
			}
			detect_tag(s->dc, "serial-fallback", fa->seq);
			detect_tag(s->dc, "serial-fallback", r->seq);
		} else if (fa->serial) {
			m->moved_on++;
		}
		m->fa[k] = m->fa[--m->nfa];
		return;
	}
}

static void note_failed_a(struct mode *m, const struct rec *r)
{
	struct failed_a *fa;

	if (r->qtype != QTYPE_A || r->resp < 0 ||
	    (r->rcode != RCODE_SERVFAIL && r->rcode != RCODE_NOTIMP && r->rcode != RCODE_REFUSED))
		return;
	if (m->nfa == FA_MAX)
		memmove(&m->fa[0], &m->fa[1], (FA_MAX - 1) * sizeof(m->fa[0]));
	else
		m->nfa++;
	fa = &m->fa[m->nfa - 1];
	fa->namehash = r->qname->hash;
	fa->seq = r->seq;
	fa->first = r->first;
	fa->resp = r->resp;
	fa->id = r->id;
	fa->rcode = r->rcode;
	fa->serial = m->state != M_PARALLEL;
	make_ev(&fa->ev, r, m->state != M_PARALLEL ? " (serial mode)" : "");
}

static void tag_pend(struct state *s, struct mode *m)
{
	int k;

	for (k = 0; k < m->npend; k++)
		detect_tag(s->dc, "serial-fallback", m->pend[k]);
	m->npend = 0;
}

/* One classified pair: advance the client's mode. */
static void on_pair(struct state *s, struct mode *m, const struct rec *a, const struct rec *b,
		    int kind)
{
	int trigger = kind == 'P' && lost(a) != lost(b);

	m->pairs++;
	if (kind == 'P')
		m->par++;
	else if (kind == 'S')
		m->ser++;
	else
		m->reopen++;
	if (lost(a) || lost(b))
		m->lost_pairs++;

	if (m->state == M_SERIAL) {
		if (kind == 'P') {
			m->par_after++;
			if (++m->par_run >= s->switch_run) {
				/* parallel again for good: a new process or thread */
				m->reverts++;
				m->state = M_PARALLEL;
			}
		} else {
			m->par_run = 0;
			m->ser_after++;
			m->reopen_after += (uint64_t)(kind == 'R');
			m->last_serial_ts = b->first;
			detect_tag(s->dc, "serial-fallback", a->seq);
			detect_tag(s->dc, "serial-fallback", b->seq);
		}
		if (m->state == M_SERIAL || !trigger)
			return;
	}
	if (m->state == M_CANDIDATE) {
		if (kind != 'P') {
			if (!m->run++) {
				make_ev(&m->first_ser_ev[0], a, ": then serial");
				make_ev(&m->first_ser_ev[1], b, kind == 'S' ? ", sent after that answer, same port"
									: ", sent after that answer, new port");
				m->nfirst_ser_ev = 2;
			}
			pend_add(m, a->seq);
			pend_add(m, b->seq);
			if (m->run >= s->switch_run) {
				m->state = M_SERIAL;
				m->switches++;
				m->ser_after += (uint64_t)m->run;
				m->last_serial_ts = b->first;
				m->par_run = 0;
				if (m->switches == 1) {
					m->switch_ts = m->trig_ts;
					memcpy(m->sw_trig_ev, m->trig_ev, sizeof(m->trig_ev));
					m->nsw_trig_ev = m->ntrig_ev;
					memcpy(m->sw_first_ev, m->first_ser_ev, sizeof(m->first_ser_ev));
					m->nsw_first_ev = m->nfirst_ser_ev;
					m->sw_gap = m->trig_gap;
				}
				tag_pend(s, m);
			}
			return;
		}
		/* a parallel pair: it was no switch (or a new one starts) */
		m->state = M_PARALLEL;
		m->npend = 0;
	}
	if (kind == 'P')
		m->par_before++;
	if (trigger) {
		const struct rec *got = lost(a) ? b : a, *gone = lost(a) ? a : b;
		char extra[96], g[32];

		m->state = M_CANDIDATE;
		m->run = 0;
		m->npend = 0;
		m->trig_ts = a->first;
		m->trig_namehash = a->qname->hash;
		m->trig_port = a->cport;
		m->trig_gap = gone->last - gone->first;
		make_ev(&m->trig_ev[0], got, ": one reply came");
		fmt_dur(g, sizeof(g), gone->last - gone->first);
		if (gone->retrans)
			snprintf(extra, sizeof(extra), ": the other did not; re-sent after %s", g);
		else
			snprintf(extra, sizeof(extra), ": the other did not");
		make_ev(&m->trig_ev[1], gone, extra);
		m->ntrig_ev = 2;
		pend_add(m, a->seq);
		pend_add(m, b->seq);
	}
}

/* Analyse record i of a client's buffer v[0..n) (sorted by send time). */
static void process(struct state *s, struct mode *m, struct rec *v, size_t n, size_t i)
{
	struct rec *r = &v[i], *p = NULL;
	ts_t limit;
	size_t j;

	if (!m->first_ts)
		m->first_ts = r->first;
	m->last_ts = r->first;
	check_failed_a(s, m, r);
	if (r->used)
		return;
	/* a lone query in serial mode belongs to it (retries, A after SERVFAIL) */
	limit = (r->resp >= 0 ? r->resp : r->last) + (ts_t)(s->pair_gap * NS_PER_SEC);
	for (j = i + 1; j < n && v[j].first <= limit; j++) {
		if (v[j].used || v[j].qname != r->qname || v[j].qtype == r->qtype)
			continue;
		p = &v[j];
		break;
	}
	if (!p) {
		if (m->state == M_SERIAL)
			detect_tag(s->dc, "serial-fallback", r->seq);
		else if (m->state == M_CANDIDATE && r->qname->hash == m->trig_namehash &&
			 r->cport == m->trig_port)
			pend_add(m, r->seq); /* glibc's serial re-send in the lost lookup */
		note_failed_a(m, r);
		return;
	}
	p->used = 1;
	/* the same two lookups asked again at once (after SERVFAIL) are part of
	 * this pair, not a new one; a later getaddrinfo call may share the
	 * matcher's lookup, so only right after the answers */
	limit = MAX(r->resp >= 0 ? r->resp : r->last, p->resp >= 0 ? p->resp : p->last) +
		(ts_t)(s->pair_gap * NS_PER_SEC);
	for (j = i + 1; j < n && v[j].first <= limit; j++)
		if (&v[j] != p && v[j].lseq && (v[j].lseq == r->lseq || v[j].lseq == p->lseq))
			v[j].used = 1;
	{
		int kind = r->resp < 0 || p->first < r->resp ? 'P' : p->cport == r->cport ? 'S' : 'R';

		on_pair(s, m, r, p, kind);
	}
}

static void rec_release(struct rec *r)
{
	name_unref(r->qname);
}

/* Analyse and drop the records of c sent before upto, and at least the
 * first min_n of them. */
static void drain(struct state *s, struct client *c, ts_t upto, size_t min_n)
{
	size_t k = 0, i;

	while (k < c->n && (k < min_n || c->v[k].first < upto)) {
		process(s, &c->m, c->v, c->n, k);
		k++;
	}
	if (!k)
		return;
	for (i = 0; i < k; i++)
		rec_release(&c->v[i]);
	memmove(c->v, c->v + k, (c->n - k) * sizeof(*c->v));
	c->n -= k;
	s->nrecs -= k;
}

static void txn(void *st, const struct txn *t)
{
	struct state *s = st;
	struct client *c;
	struct rec *r;
	uint8_t k[17];
	size_t pos;
	int ovf;

	if (t->last_ts > s->now)
		s->now = t->last_ts;
	if (t->status == TXN_ANSWERED && t->resp_ts > s->now)
		s->now = t->resp_ts;
	if ((t->qtype != QTYPE_A && t->qtype != QTYPE_AAAA) || t->qclass != 1 || t->proto != 17)
		return;
	c = kmap_get(&s->clients, k, akey(&t->client, k), &ovf);
	if (ovf) {
		s->ignored_clients++;
		return;
	}
	if (!c->addr.family)
		c->addr = t->client;
	if (c->n == c->alloc) {
		c->alloc = c->alloc ? 2 * c->alloc : 16;
		c->v = xrealloc(c->v, c->alloc * sizeof(*c->v));
	}
	/* insert sorted by send time; late arrivals go near the end */
	pos = c->n;
	while (pos > 0 && c->v[pos - 1].first > t->first_ts)
		pos--;
	memmove(c->v + pos + 1, c->v + pos, (c->n - pos) * sizeof(*c->v));
	r = &c->v[pos];
	memset(r, 0, sizeof(*r));
	r->seq = t->seq;
	r->lseq = t->lookup ? t->lookup->seq : 0;
	r->qname = name_ref(t->qname);
	r->first = t->first_ts;
	r->last = t->last_ts;
	r->resp = t->status == TXN_ANSWERED ? t->resp_ts : -1;
	r->q = t->qframe;
	r->r = t->rframe;
	r->qtype = t->qtype;
	r->cport = t->cport;
	r->id = t->id;
	r->retrans = t->retrans;
	r->status = t->status;
	r->rcode = (uint8_t)TXN_RCODE(t);
	c->n++;
	s->nrecs++;
	if (c->m.last_ts && t->first_ts < c->m.last_ts)
		s->late++; /* an earlier query was already analysed */
	drain(s, c, s->now - s->horizon, 0);
	if (s->nrecs > RECS_MAX) {
		s->forced++;
		drain(s, c, 0, c->n / 2 + 1);
	}
}

/* ---- findings ----------------------------------------------------------- */

static void json_ev_time(struct sbuf *sb, const char *key, ts_t t)
{
	sbuf_addf(sb, ", \"%s\": %" PRId64 ".%06" PRId64, key, t / NS_PER_SEC,
		  (t % NS_PER_SEC) / NS_PER_US);
}

static void emit(struct state *s, const struct client *c, const struct mode *m,
		 struct findings *out)
{
	char cli[64], d1[32], d2[32], d3[32];
	struct finding *f;
	int i;

	addr_str(&c->addr, cli, sizeof(cli));
	if (m->stalls) {
		f = finding_new(out, "serial-fallback", SEV_CRITICAL);
		f->count = m->stalls;
		f->first = m->stall_first;
		f->last = m->stall_last;
		fmt_dur(d1, sizeof(d1), m->stall_min);
		fmt_dur(d2, sizeof(d2), m->stall_max);
		fmt_dur(d3, sizeof(d3), m->stall_sum);
		finding_set(&f->summary,
			    "%s stalled %" PRIu64 " time%s for %s%s%s after an error answer to an A query, "
			    "then asked the same A query again and never the AAAA",
			    cli, m->stalls, m->stalls == 1 ? "" : "s", d1,
			    strcmp(d1, d2) ? " to " : "", strcmp(d1, d2) ? d2 : "");
		sbuf_addf(&f->details, "    stalls    %" PRIu64 ", %s of silence in all (%s to %s each)\n",
			  m->stalls, d3, d1, d2);
		sbuf_addf(&f->details, "    mode      %s\n",
			  m->switches ? "serial since a lost reply (see the switch finding)" :
			  m->ser && !m->par ? "serial in every A/AAAA pair seen" :
					      "no switch seen in this capture (it may have happened before)");
		finding_affected(f->clients, &f->nclients, cli);
		sbuf_addf(&f->json, "\"kind\": \"stall\", \"client\": ");
		sbuf_add_json_str(&f->json, cli);
		sbuf_addf(&f->json, ", \"stalls\": %" PRIu64 ", \"stall_min_ms\": %.3f, \"stall_max_ms\": %.3f"
			  ", \"stall_total_ms\": %.3f, \"switched\": %s",
			  m->stalls, (double)m->stall_min / NS_PER_MS, (double)m->stall_max / NS_PER_MS,
			  (double)m->stall_sum / NS_PER_MS, m->switches ? "true" : "false");
		finding_set(&f->explanation,
			    "This is glibc's serial-mode stall. In serial mode (RES_SNGLKUP, see the "
			    "switch finding) glibc sends the AAAA query only after the A reply. When "
			    "that reply is SERVFAIL, NOTIMP or REFUSED, glibc releases before the fix for "
			    "glibc bug 30081 go back to waiting on the socket for a reply that will never "
			    "come: the thread sits in poll() for the whole timeout (5 s by default), then "
			    "sends the same A query again (same id), and the AAAA query is never sent. "
			    "Every such lookup costs attempts x timeout (10 s with the defaults) before "
			    "getaddrinfo fails; if the caller holds a lock meanwhile (KeyDB's replication "
			    "cron resolving a dead peer), every thread that needs the lock stalls too. "
			    "Newer glibc (the fix is in Debian 12's 2.36) moves on at once; older ones, "
			    "like Ubuntu 18.04's 2.27 and images built on it, stall. Search lists make it "
			    "worse: the SERVFAIL usually comes for the bare name at the end of a walk.");
		finding_set(&f->fix,
			    "Stop the SERVFAIL: find why the server fails this name (a dead peer's "
			    "record, a broken zone, an upstream down). Query the fully qualified name "
			    "with a trailing dot (\"keydb-0.keydb.default.svc.cluster.local.\") so there "
			    "is no search walk ending in SERVFAIL. Upgrade glibc (or the container's "
			    "base image) to a release with the fix for bug 30081. Restarting the process "
			    "clears serial mode until the next lost reply; remove `single-request` from "
			    "resolv.conf if it is set there.");
		for (i = 0; i < m->nstall_ev; i++)
			finding_evidence_raw(f, m->stall_ev[i].txn_seq, m->stall_ev[i].ts,
					     m->stall_ev[i].q, m->stall_ev[i].r, m->stall_ev[i].what);
	}
	if (m->switches) {
		uint64_t after = m->ser_after + m->par_after;

		f = finding_new(out, "serial-fallback", SEV_WARNING);
		f->count = m->ser_after;
		f->first = m->switch_ts;
		f->last = m->last_serial_ts;
		fmt_dur(d1, sizeof(d1), m->sw_gap);
		finding_set(&f->summary,
			    "%s switched from parallel to serial A/AAAA queries after a lost reply, "
			    "and stayed serial for %" PRIu64 " of %" PRIu64 " pairs",
			    cli, m->ser_after, after);
		sbuf_addf(&f->details, "    pairs     %" PRIu64 " A/AAAA pairs: %" PRIu64 " parallel, %" PRIu64
			  " serial on the same port, %" PRIu64 " serial on a new port\n",
			  m->pairs, m->par, m->ser, m->reopen);
		sbuf_addf(&f->details, "    before    %" PRIu64 " parallel pairs; in the last one a reply never "
			  "came: the resolver waited %s and asked again\n", m->par_before, d1);
		sbuf_addf(&f->details, "    after     %" PRIu64 " serial (%" PRIu64 " on a new port), %" PRIu64
			  " parallel\n", m->ser_after, m->reopen_after, m->par_after);
		if (m->moved_on)
			sbuf_addf(&f->details, "    SERVFAIL  %" PRIu64 " A queries in serial mode got an error answer; "
				  "the client asked again at once and sent no AAAA (no stall: glibc "
				  "with the bug 30081 fix)\n", m->moved_on);
		if (m->switches > 1 || m->reverts)
			sbuf_addf(&f->details, "    again     %" PRIu64 " switches, %" PRIu64
				  " returns to parallel (a restarted process or another thread)\n",
				  m->switches, m->reverts);
		finding_affected(f->clients, &f->nclients, cli);
		sbuf_addf(&f->json, "\"kind\": \"switch\", \"client\": ");
		sbuf_add_json_str(&f->json, cli);
		sbuf_addf(&f->json, ", \"pairs\": %" PRIu64 ", \"parallel\": %" PRIu64 ", \"serial\": %" PRIu64
			  ", \"serial_reopen\": %" PRIu64 ", \"parallel_before\": %" PRIu64
			  ", \"serial_after\": %" PRIu64 ", \"serial_reopen_after\": %" PRIu64
			  ", \"parallel_after\": %" PRIu64 ", \"switches\": %" PRIu64 ", \"reverts\": %" PRIu64
			  ", \"lost_retry_ms\": %.3f, \"servfail_moved_on\": %" PRIu64 ", \"stalls\": %" PRIu64,
			  m->pairs, m->par, m->ser, m->reopen, m->par_before, m->ser_after,
			  m->reopen_after, m->par_after, m->switches, m->reverts,
			  (double)m->sw_gap / NS_PER_MS, m->moved_on, m->stalls);
		json_ev_time(&f->json, "switch_time", m->switch_ts);
		finding_set(&f->explanation,
			    "glibc's getaddrinfo sends the A and AAAA queries of a lookup together on one "
			    "socket. If one reply arrives and the other times out (one lost UDP packet is "
			    "enough), send_dg() sets RES_SNGLKUP in the thread's resolver state and from "
			    "then on sends the AAAA query only after the A reply, for the life of that "
			    "thread (a second such timeout adds RES_SNGLKUPREOP: a new socket for the "
			    "second query). The lookup that lost the reply took the whole timeout; every "
			    "lookup after it takes two round trips instead of one. Worse, in serial mode "
			    "glibc releases before the fix for bug 30081 stall for the whole timeout when "
			    "the A query gets SERVFAIL, NOTIMP or REFUSED (see the stall finding if there "
			    "is one); Debian 12's 2.36 moves on at once. A single serial-looking pair means "
			    "nothing (on a busy host the second datagram can leave just after a fast "
			    "reply); this client changed for good, starting at the lookup that lost a "
			    "reply.");
		finding_set(&f->fix,
			    "Find why the reply was lost (the unanswered and retry-timeout findings). "
			    "Serial mode ends only when the process (or thread) restarts. Make sure the "
			    "names it resolves do not get SERVFAIL (or the stall follows on older glibc): "
			    "use fully qualified names with a trailing dot, fix the failing zone, and do "
			    "not set `options single-request` unless a broken firewall needs it.");
		for (i = 0; i < m->nsw_trig_ev; i++)
			finding_evidence_raw(f, m->sw_trig_ev[i].txn_seq, m->sw_trig_ev[i].ts,
					     m->sw_trig_ev[i].q, m->sw_trig_ev[i].r, m->sw_trig_ev[i].what);
		for (i = 0; i < m->nsw_first_ev; i++)
			finding_evidence_raw(f, m->sw_first_ev[i].txn_seq, m->sw_first_ev[i].ts,
					     m->sw_first_ev[i].q, m->sw_first_ev[i].r, m->sw_first_ev[i].what);
	} else if (!m->par && m->ser + m->reopen >=
				      (uint64_t)detect_param(s->dc, "serial-fallback", "min_serial_pairs")) {
		f = finding_new(out, "serial-fallback", SEV_INFO);
		f->count = m->ser + m->reopen;
		f->first = m->first_ts;
		f->last = m->last_ts;
		finding_set(&f->summary, "%s sent all its %" PRIu64 " A/AAAA pairs serially", cli,
			    m->ser + m->reopen);
		sbuf_addf(&f->details, "    pairs     %" PRIu64 " serial on the same port, %" PRIu64
			  " serial on a new port, none parallel\n", m->ser, m->reopen);
		finding_affected(f->clients, &f->nclients, cli);
		sbuf_addf(&f->json, "\"kind\": \"serial\", \"client\": ");
		sbuf_add_json_str(&f->json, cli);
		sbuf_addf(&f->json, ", \"pairs\": %" PRIu64 ", \"serial\": %" PRIu64 ", \"serial_reopen\": %" PRIu64,
			  m->pairs, m->ser, m->reopen);
		finding_set(&f->explanation,
			    "Every A/AAAA pair of this client left one after the other: the AAAA query "
			    "only after the A reply. glibc does this with `options single-request` "
			    "(same port) or `single-request-reopen` (new port) in resolv.conf, or after "
			    "a lost reply switched the thread to serial mode before the capture started "
			    "(RES_SNGLKUP). Each lookup takes two round trips, and glibc releases without "
			    "the fix for bug 30081 stall for the timeout when the A query gets SERVFAIL.");
		finding_set(&f->fix,
			    "Check resolv.conf for single-request options; if none, the process switched "
			    "after a lost reply: a restart returns it to parallel mode.");
	}
}

static void finish(void *st, struct findings *out)
{
	struct state *s = st;
	struct kmap_ent **e = kmap_entries(&s->clients);
	size_t i, k;

	for (i = 0; i < s->clients.count; i++) {
		const struct client *c = e[i]->val;
		struct mode m = c->m;
		struct rec *v = NULL;

		if (c->n) {
			v = xmalloc(c->n * sizeof(*v));
			memcpy(v, c->v, c->n * sizeof(*v));
			for (k = 0; k < c->n; k++)
				process(s, &m, v, c->n, k);
			free(v);
		}
		emit(s, c, &m, out);
	}
	free(e);
}

static void destroy(void *st)
{
	struct state *s = st;
	struct kmap_ent **e = kmap_entries(&s->clients);
	size_t i, k;

	for (i = 0; i < s->clients.count; i++) {
		struct client *c = e[i]->val;

		for (k = 0; k < c->n; k++)
			rec_release(&c->v[k]);
		free(c->v);
	}
	free(e);
	kmap_free(&s->clients);
	free(s);
}

const struct detector detector_serial_fallback = {
	.name = "serial-fallback",
	.summary = "glibc's switch to serial A/AAAA queries after a lost reply, and its SERVFAIL stall",
	.params = params,
	.init = init,
	.txn = txn,
	.finish = finish,
	.free = destroy,
};
