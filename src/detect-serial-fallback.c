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
 * just after a fast reply and look serial (pcaps/healthy-busy.pcap has long
 * runs of them). A switch is what glibc's rule produces: a pair with exactly
 * one lost reply while the client was parallel, then only serial pairs to
 * the end (a serial thread cannot send a parallel-looking pair), and a run
 * of them long enough that this client's own timing noise, measured on its
 * earlier pairs, would produce it by chance less than noise_chance of the
 * time. Scattered serial-looking pairs, or serial-looking runs after a lost
 * reply that are broken by a parallel pair (pcaps/unanswered.pcap: many
 * processes on one host), are not a switch.
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
	{ "switch_run", 3, "serial pairs after a lost reply (and none parallel) that make a switch, at least" },
	{ "noise_chance", 0.01, "... and so many that timing noise alone makes such a run less likely than this" },
	{ "stall_min_s", 0.5, "silence after an error answer before the same A query again that counts as a stall" },
	{ "stall_max_s", 31, "... and at most this (glibc caps its timeout at 30 s)" },
	{ "min_serial_pairs", 5, "pairs, all serial, for the info finding about a client serial throughout" },
	{ NULL, 0, NULL },
};

/* one A or AAAA query of a client, waiting in the client's buffer */
struct rec {
	uint64_t seq, lseq; /* transaction, lookup (0: none) */
	struct name *qname; /* a reference we hold */
	struct addr server;
	ts_t first, last, resp; /* resp < 0: no answer */
	struct frameref q, r;
	uint16_t qtype, cport, id, retrans;
	uint8_t status, rcode, used;
};

enum { M_PARALLEL, M_CANDIDATE };

#define PEND_MAX 4096
/* all clients together: 4096 clients in candidate mode under a flood of
 * lost replies would otherwise keep 4096 x 4096 seqs (128 MiB); past
 * this, later transactions of a run stay untagged (the finding stands) */
#define PEND_ALL_MAX (1u << 18)
#define FA_MAX 4

/* an A query answered with an error and no AAAA query after it (yet) */
struct failed_a {
	uint64_t namehash, seq;
	struct addr server;
	char name[256];
	ts_t first, resp;
	uint16_t id;
	uint8_t rcode, serial;
	struct evidence ev;
};

/*
 * Per-client analysis state. Copied for snapshots (finish), so apart from
 * pend it is plain data; pend is copied deep.
 *
 * A switch stays a candidate until the end: glibc's serial mode lasts for
 * the life of the thread and a serial thread cannot send a parallel-looking
 * pair, so any parallel pair after the lost reply refutes it (another
 * process, or noise around a lost reply that changed nothing).
 */
struct mode {
	uint64_t pairs, par, ser, reopen, lost_pairs;
	uint64_t pm_pairs, pm_serial; /* while parallel, reply not lost: noise */
	int state;
	/* the candidate switch */
	uint64_t run, run_reopen, refuted, need;
	double noise;
	ts_t trig_ts, trig_gap, last_serial_ts;
	struct addr trig_server;
	char trig_name[256]; /* names shown, truncated if long */
	uint64_t par_before; /* parallel pairs before the lost reply */
	struct evidence trig_ev[2], first_ser_ev[2];
	int ntrig_ev, nfirst_ser_ev;
	uint64_t *pend; /* transactions sent since the lost reply, to tag */
	uint32_t npend, apend;
	/* error answers to A queries */
	uint64_t stalls, moved_on;
	ts_t stall_sum, stall_min, stall_max, stall_first, stall_last;
	struct evidence stall_ev[4];
	int nstall_ev;
	struct addr stall_server;
	char stall_name[256];
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
	size_t pend_alloc; /* pend capacity of all clients, <= PEND_ALL_MAX */
	uint64_t forced, late, ignored_clients;
	ts_t now, horizon;
	double pair_gap, stall_min, stall_max, noise_chance;
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
	s->noise_chance = detect_param(dc, "serial-fallback", "noise_chance");
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

static void pend_add(struct state *s, struct mode *m, uint64_t seq)
{
	if (m->npend == m->apend) {
		uint32_t na = m->apend ? 2 * m->apend : 64;

		if (na > PEND_MAX || s->pend_alloc + na - m->apend > PEND_ALL_MAX)
			return;
		s->pend_alloc += na - m->apend;
		m->apend = na;
		m->pend = xrealloc(m->pend, m->apend * sizeof(*m->pend));
	}
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
			if (!m->stall_first) {
				m->stall_first = fa->first;
				m->stall_server = fa->server;
				memcpy(m->stall_name, fa->name, sizeof(m->stall_name));
			}
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
	fa->server = r->server;
	name_str(r->qname, fa->name, sizeof(fa->name));
	fa->first = r->first;
	fa->resp = r->resp;
	fa->id = r->id;
	fa->rcode = r->rcode;
	fa->serial = m->state != M_PARALLEL;
	make_ev(&fa->ev, r, m->state != M_PARALLEL ? " (serial mode)" : "");
}

/* One classified pair: advance the client's mode. */
static void on_pair(struct state *s, struct mode *m, const struct rec *a, const struct rec *b,
		    int kind)
{
	int onelost = lost(a) != lost(b);

	m->pairs++;
	if (kind == 'P')
		m->par++;
	else if (kind == 'S')
		m->ser++;
	else
		m->reopen++;
	if (lost(a) || lost(b))
		m->lost_pairs++;
	else if (m->state == M_PARALLEL) {
		m->pm_pairs++;
		m->pm_serial += (uint64_t)(kind != 'P');
	}

	if (m->state == M_CANDIDATE) {
		if (kind != 'P') {
			if (!m->run++) {
				make_ev(&m->first_ser_ev[0], a, ": then serial");
				make_ev(&m->first_ser_ev[1], b, kind == 'S' ? ", sent after that answer, same port"
									: ", sent after that answer, new port");
				m->nfirst_ser_ev = 2;
			}
			m->run_reopen += (uint64_t)(kind == 'R');
			m->last_serial_ts = b->first;
			pend_add(s, m, a->seq);
			pend_add(s, m, b->seq);
			return;
		}
		/* a parallel pair: no lasting change */
		m->refuted++;
		m->state = M_PARALLEL;
		m->npend = 0;
	}
	/* a lost reply while the client was parallel: the switch, if the
	 * pairs after it are all serial (the pair itself may look either
	 * way: glibc sent it in parallel, the wire may show the reply first) */
	if (onelost && m->par - (uint64_t)(kind == 'P') >= 1) {
		const struct rec *got = lost(a) ? b : a, *gone = lost(a) ? a : b;
		char extra[96], g[32];

		m->state = M_CANDIDATE;
		m->run = m->run_reopen = 0;
		/* how long a run of serial-looking pairs this client's own
		 * timing noise could produce: the share of its parallel-mode
		 * pairs that looked serial (rule of succession), to the power
		 * of the run, must be below noise_chance */
		m->noise = (double)(m->pm_serial + 1) / (double)(m->pm_pairs + 2);
		{
			double q = 1;

			m->need = 0;
			while (q > s->noise_chance && m->need < 1000) {
				q *= m->noise;
				m->need++;
			}
			if (m->need < (uint64_t)s->switch_run)
				m->need = (uint64_t)s->switch_run;
		}
		m->npend = 0;
		m->nfirst_ser_ev = 0;
		m->par_before = m->par - (uint64_t)(kind == 'P');
		m->trig_ts = a->first;
		m->trig_server = a->server;
		name_str(a->qname, m->trig_name, sizeof(m->trig_name));
		m->trig_gap = gone->last - gone->first;
		make_ev(&m->trig_ev[0], got, ": one reply came");
		fmt_dur(g, sizeof(g), gone->last - gone->first);
		if (gone->retrans)
			snprintf(extra, sizeof(extra), ": the other did not; re-sent after %s", g);
		else
			snprintf(extra, sizeof(extra), ": the other did not");
		make_ev(&m->trig_ev[1], gone, extra);
		m->ntrig_ev = 2;
		pend_add(s, m, a->seq);
		pend_add(s, m, b->seq);
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
		/* a lone query after the lost reply: glibc's serial re-send in
		 * that lookup, or an A query after SERVFAIL (no AAAA follows) */
		if (m->state == M_CANDIDATE)
			pend_add(s, m, r->seq);
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
	/* give back what a burst grew: otherwise each client keeps the most
	 * it ever held, and under a long flood the sum creeps up */
	if (c->alloc > 64 && c->n < c->alloc / 4) {
		c->alloc /= 2;
		c->v = xrealloc(c->v, c->alloc * sizeof(*c->v));
	}
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
	r->server = t->server;
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
	char secs[40];

	fmt_secs(secs, sizeof(secs), t); /* right before 1970 too (damaged files) */
	sbuf_addf(sb, ", \"%s\": %s", key, secs);
}

static void emit(struct state *s, const struct client *c, const struct mode *m,
		 struct findings *out)
{
	int switched = m->state == M_CANDIDATE && m->run >= m->need;
	char cli[64], d1[32], d2[32], d3[32];
	struct finding *f;
	uint32_t k;
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
			    "%s stalled %" PRIu64 " time%s for %s%s%s after an error answer to A? %s, "
			    "then asked the same A query again and never the AAAA",
			    cli, m->stalls, m->stalls == 1 ? "" : "s", d1,
			    strcmp(d1, d2) ? " to " : "", strcmp(d1, d2) ? d2 : "", m->stall_name);
		sbuf_addf(&f->details, "    stalls    %" PRIu64 ", %s of silence in all (%s to %s each)\n",
			  m->stalls, d3, d1, d2);
		sbuf_addf(&f->details, "    mode      %s\n",
			  switched ? "serial since a lost reply (see the switch finding)" :
			  m->ser + m->reopen && !m->par ? "serial in every A/AAAA pair seen" :
							  "the switch to serial mode is not in this capture (it "
							  "happened before, or other processes on the host hide it)");
		finding_affected(f->clients, &f->nclients, cli);
		finding_affected(f->names, &f->nnames, m->stall_name);
		finding_affected(f->servers, &f->nservers, addr_str(&m->stall_server, d1, sizeof(d1)));
		sbuf_addf(&f->json, "\"kind\": \"stall\", \"client\": ");
		sbuf_add_json_str(&f->json, cli);
		sbuf_addf(&f->json, ", \"stalls\": %" PRIu64 ", \"stall_min_ms\": %.3f, \"stall_max_ms\": %.3f"
			  ", \"stall_total_ms\": %.3f, \"switched\": %s",
			  m->stalls, (double)m->stall_min / NS_PER_MS, (double)m->stall_max / NS_PER_MS,
			  (double)m->stall_sum / NS_PER_MS, switched ? "true" : "false");
		finding_set(&f->explanation,
			    "This is glibc's serial-mode stall. In serial mode (RES_SNGLKUP, see the "
			    "switch finding) glibc sends the AAAA query only after the A reply. When "
			    "that reply is SERVFAIL, NOTIMP or REFUSED, glibc releases without the fix for "
			    "glibc bug 30081 go back to waiting on the socket for a reply that will never "
			    "come: the thread sits in poll() for the whole timeout (5 s by default), then "
			    "sends the same A query again (same id), and the AAAA query is never sent. "
			    "Every such lookup costs attempts x timeout (10 s with the defaults) before "
			    "getaddrinfo fails; if the caller holds a lock meanwhile (KeyDB's replication "
			    "cron resolving a dead peer), every thread that needs the lock stalls too. "
			    "Releases with the fix (Debian 12's 2.36 has it) move on at once; older ones, "
			    "like Ubuntu 18.04's 2.27 and container images built on it, stall. Search "
			    "lists make it worse: the SERVFAIL usually comes for the bare name at the end "
			    "of a walk.");
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
	if (switched) {
		f = finding_new(out, "serial-fallback", SEV_WARNING);
		f->count = m->run;
		f->first = m->trig_ts;
		f->last = m->last_serial_ts;
		fmt_dur(d1, sizeof(d1), m->trig_gap);
		finding_set(&f->summary,
			    "%s switched from parallel to serial A/AAAA queries after a lost reply "
			    "and stayed serial: %" PRIu64 " serial pairs after it, none parallel",
			    cli, m->run);
		sbuf_addf(&f->details, "    pairs     %" PRIu64 " A/AAAA pairs: %" PRIu64 " parallel, %" PRIu64
			  " serial on the same port, %" PRIu64 " serial on a new port\n",
			  m->pairs, m->par, m->ser, m->reopen);
		sbuf_addf(&f->details, "    before    %" PRIu64 " parallel pairs; then a pair lost one reply: "
			  "the resolver waited %s and asked again\n", m->par_before, d1);
		sbuf_addf(&f->details, "    after     %" PRIu64 " serial (%" PRIu64 " on a new port), 0 parallel; "
			  "%.0f%% of its earlier pairs looked serial by timing alone, so %" PRIu64
			  " in a row were needed\n",
			  m->run, m->run_reopen, 100.0 * (double)m->pm_serial / (double)(m->pm_pairs ? m->pm_pairs : 1),
			  m->need);
		if (m->moved_on)
			sbuf_addf(&f->details, "    SERVFAIL  %" PRIu64 " A queries in serial mode got an error answer; "
				  "the client asked again at once and sent no AAAA (no stall: a glibc "
				  "with the bug 30081 fix)\n", m->moved_on);
		if (m->refuted)
			sbuf_addf(&f->details, "    earlier   %" PRIu64 " lost replies were followed by parallel "
				  "pairs again (no lasting switch)\n", m->refuted);
		finding_affected(f->clients, &f->nclients, cli);
		finding_affected(f->names, &f->nnames, m->trig_name);
		finding_affected(f->servers, &f->nservers, addr_str(&m->trig_server, d2, sizeof(d2)));
		sbuf_addf(&f->json, "\"kind\": \"switch\", \"client\": ");
		sbuf_add_json_str(&f->json, cli);
		sbuf_addf(&f->json, ", \"pairs\": %" PRIu64 ", \"parallel\": %" PRIu64 ", \"serial\": %" PRIu64
			  ", \"serial_reopen\": %" PRIu64 ", \"parallel_before\": %" PRIu64
			  ", \"serial_after\": %" PRIu64 ", \"serial_reopen_after\": %" PRIu64
			  ", \"lost_retry_ms\": %.3f, \"servfail_moved_on\": %" PRIu64 ", \"stalls\": %" PRIu64
			  ", \"refuted\": %" PRIu64 ", \"noise\": %.4f, \"needed_run\": %" PRIu64,
			  m->pairs, m->par, m->ser, m->reopen, m->par_before, m->run, m->run_reopen,
			  (double)m->trig_gap / NS_PER_MS, m->moved_on, m->stalls, m->refuted, m->noise,
			  m->need);
		json_ev_time(&f->json, "switch_time", m->trig_ts);
		finding_set(&f->explanation,
			    "glibc's getaddrinfo sends the A and AAAA queries of a lookup together on one "
			    "socket. If one reply arrives and the other times out (one lost UDP packet is "
			    "enough), send_dg() sets RES_SNGLKUP in the thread's resolver state and from "
			    "then on sends the AAAA query only after the A reply, for the life of that "
			    "thread (a second such timeout adds RES_SNGLKUPREOP: a new socket for the "
			    "second query). The lookup that lost the reply took the whole timeout; every "
			    "lookup after it takes two round trips instead of one. Worse, in serial mode "
			    "glibc releases without the fix for bug 30081 stall for the whole timeout when "
			    "the A query gets SERVFAIL, NOTIMP or REFUSED (see the stall finding if there "
			    "is one); Debian 12's 2.36 moves on at once. A single serial-looking pair means "
			    "nothing (on a busy host the second datagram can leave just after a fast "
			    "reply); this client changed for good, starting at the lookup that lost a "
			    "reply, and never sent a parallel pair again.");
		finding_set(&f->fix,
			    "Find why the reply was lost (the unanswered and retry-timeout findings). "
			    "Serial mode ends only when the process (or thread) restarts. Make sure the "
			    "names it resolves do not get SERVFAIL (or the stall follows on older glibc): "
			    "use fully qualified names with a trailing dot, fix the failing zone, and do "
			    "not set `options single-request` unless a broken firewall needs it.");
		for (i = 0; i < m->ntrig_ev; i++)
			finding_evidence_raw(f, m->trig_ev[i].txn_seq, m->trig_ev[i].ts, m->trig_ev[i].q,
					     m->trig_ev[i].r, m->trig_ev[i].what);
		for (i = 0; i < m->nfirst_ser_ev; i++)
			finding_evidence_raw(f, m->first_ser_ev[i].txn_seq, m->first_ser_ev[i].ts,
					     m->first_ser_ev[i].q, m->first_ser_ev[i].r,
					     m->first_ser_ev[i].what);
		for (k = 0; k < m->npend; k++)
			detect_tag(s->dc, "serial-fallback", m->pend[k]);
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
	size_t i, k, pend_alloc = s->pend_alloc;

	for (i = 0; i < s->clients.count; i++) {
		const struct client *c = e[i]->val;
		struct mode m = c->m;
		struct rec *v = NULL;

		/* analyse what is still buffered on copies: finish must not
		 * change the state (live snapshots call it repeatedly) */
		m.pend = NULL;
		if (c->m.apend) {
			m.pend = xmalloc(c->m.apend * sizeof(*m.pend));
			memcpy(m.pend, c->m.pend, c->m.npend * sizeof(*m.pend));
		}
		if (c->n) {
			v = xmalloc(c->n * sizeof(*v));
			memcpy(v, c->v, c->n * sizeof(*v));
			for (k = 0; k < c->n; k++)
				process(s, &m, v, c->n, k);
			free(v);
		}
		emit(s, c, &m, out);
		free(m.pend);
		s->pend_alloc = pend_alloc; /* the copies' growth is gone again */
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
		free(c->m.pend);
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
