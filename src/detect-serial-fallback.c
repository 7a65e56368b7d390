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
#include "detkit.h"
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

/*
 * Memory. The buffers hold up to RECS_MAX queries over all clients, and on a
 * busy trace they are full most of the time (2,000 clients, 30 s horizon:
 * the bench trace would need 714,000; when full, the oldest are analysed
 * early, see drain_oldest()), so
 * a buffered query is the thing to keep small: a 40-byte record in one pool
 * (10.5 MB at the cap, touched only as far as used) plus a 4-byte index in
 * its client's ring, instead of a 104-byte record in per-client arrays that
 * doubled (77 MB on the bench trace, now 15.5 MB). What does not fit the
 * compact record (a re-sent query, an answer later than 4.3 s or far from
 * the query in the file or in another file, seq or lookup numbers past 2^32,
 * a client's fourth server) moves to a side entry, one per such query (at
 * most 5,600 at once on the bench trace, 2 %). A client costs a small
 * record; the state of a candidate switch and of error answers to A
 * queries, with the queries kept as evidence (as records, not text: the
 * text is written only for findings), is allocated for the clients that
 * have them.
 */

/*
 * One A or AAAA query of a client, waiting in the client's buffer: 36
 * bytes. Compact, it was sent once (last send = first), answered within
 * 4.3 s, and the answer is within 65,535 frames of the query in the same
 * file (98.5 % of the bench trace's answers); the rest is wide. The send
 * time and the name pointer take 48 bits each (get48): the time after
 * s->t0, which is 2^47 ns (39 hours) before the first query buffered, and
 * the pointer as user-space addresses are (under 2^47 on Linux unless a
 * program asks for more); a query where either does not fit is wide. With
 * 8-byte fields the record was 40 bytes, and the pool, full on the bench
 * trace, 1 MiB larger.
 */
struct rec {
	uint32_t seq;	/* transaction (free: the next free record) */
	uint32_t dresp; /* answer - first (wide: the side entry's index) */
	uint32_t lseq;	/* lookup, 0: none */
	uint32_t qframe;
	uint16_t rdelta; /* answer frame - qframe */
	uint16_t cport, id;
	uint8_t flags;
	uint8_t srv;	    /* the client's server slot (R_SRV), or R_WIDE; the file */
	uint16_t first[3];  /* send time - s->t0 (rec_first) */
	uint16_t qname[3];  /* struct name *, a reference we hold (rec_qname) */
};

_Static_assert(sizeof(struct rec) == 36, "struct rec: 36 bytes");

#define BITS48 ((uint64_t)1 << 48)

static inline uint64_t get48(const uint16_t v[3])
{
	return v[0] | (uint64_t)v[1] << 16 | (uint64_t)v[2] << 32;
}

static inline void put48(uint16_t v[3], uint64_t x)
{
	v[0] = (uint16_t)x;
	v[1] = (uint16_t)(x >> 16);
	v[2] = (uint16_t)(x >> 32);
}

#define R_RCODE 0x0f
#define R_AAAA 0x10
#define R_USED 0x20
#define R_RETRANS 0x40
#define R_ANSWERED 0x80
#define NSRV 3 /* glibc uses at most three nameservers (MAXNS) */
#define R_SRV 0x03
#define R_WIDE 0x03
#define R_FILE_SHIFT 2
#define R_FILES 64 /* files 0-63 share the byte */
#define IS_WIDE(r) (((r)->srv & R_SRV) == R_WIDE)

/* the fields of a query that did not fit its record: 80 bytes */
struct wide {
	uint64_t seq, lseq;
	ts_t first, resp, last;
	struct name *qname;
	struct addr server;
	uint16_t qfile, rfile;
	uint32_t rframe;
	uint32_t next_free;
};

/* a query kept for evidence (and for the name and times it carries); the
 * text is made only when a finding is written */
enum { EX_NONE, EX_SERIAL_MODE, EX_AGAIN, EX_ONE_CAME, EX_DID_NOT, EX_THEN_SERIAL, EX_SAME_PORT,
       EX_NEW_PORT };

struct evrec {
	uint64_t seq;
	ts_t first, resp; /* resp < 0: no answer */
	ts_t gap;	  /* EX_AGAIN: the silence; else last send - first */
	struct frameref q, r;
	struct name *qname; /* a reference we hold, NULL: none */
	uint16_t cport;
	uint8_t aaaa, rcode, retrans, extra;
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
	struct evrec ev;
	struct addr server;
	uint16_t id;
	uint8_t serial;
};

/*
 * The candidate switch, allocated at a client's first lost reply while
 * parallel. A switch stays a candidate until the end: glibc's serial mode
 * lasts for the life of the thread and a serial thread cannot send a
 * parallel-looking pair, so any parallel pair after the lost reply refutes
 * it (another process, or noise around a lost reply that changed nothing).
 */
struct cand {
	uint64_t run, run_reopen, need;
	double noise;
	ts_t trig_ts, trig_gap, last_serial_ts;
	struct addr trig_server;
	uint64_t par_before; /* parallel pairs before the lost reply */
	struct evrec trig_ev[2], first_ser_ev[2];
	int nfirst_ser_ev;
	/* transactions sent since the lost reply, to tag: 32-bit seqs until
	 * one does not fit (0.5 MB for the bench trace's 127,000, not 1);
	 * freed when the candidate is refuted, as most are within seconds
	 * (else every client that ever lost a reply kept its array: 0.4 MB
	 * of peak RSS on the bench trace) */
	void *pend;
	uint32_t npend, apend;
	int pend_wide;
};

/* error answers to A queries, allocated at a client's first */
struct fails {
	uint64_t stalls, moved_on;
	ts_t stall_sum, stall_min, stall_max, stall_first, stall_last;
	struct evrec stall_ev[4];
	int nstall_ev;
	struct addr stall_server;
	struct name *stall_qname; /* a reference we hold */
	struct failed_a fa[FA_MAX];
	int nfa;
};

/* Per-client analysis state. Copied deep for snapshots (finish). */
struct mode {
	uint64_t pairs, par, ser, reopen;
	uint64_t pm_pairs, pm_serial; /* while parallel, reply not lost: noise */
	uint64_t refuted;
	ts_t first_ts, last_ts;
	int state;
	struct cand *cand;
	struct fails *fails;
};

/*
 * A client's buffer: its records in the pool, by send time, as a ring of
 * pool indices (4 bytes a query). Records are scattered in the pool, so a
 * late query finds its place by a search over the ring, not by a walk
 * through cold records. Rings grow and shrink by RING_STEP, not doubling:
 * most clients hold a steady hundred-odd queries, and a power of two
 * would leave 40 % of the rings empty (1.7 MB of 2.1 on the bench trace).
 */
#define RING_STEP 32

struct ring {
	struct rec *v; /* the pool (or a copy) */
	uint32_t *idx;
	uint32_t head, cap, n;
};

static inline uint32_t ring_slot(uint32_t head, uint32_t cap, uint32_t p)
{
	uint32_t x = head + p; /* head < cap, p <= cap */

	return x >= cap ? x - cap : x;
}

#define AT(b, p) (&(b)->v[(b)->idx[ring_slot((b)->head, (b)->cap, (p))]])
#define SLOT(c, p) ((c)->ring[ring_slot((c)->head, (c)->cap, (p))])

/* 216 bytes; what each query needs first */
struct client {
	uint32_t *ring; /* pool indices, cap of them */
	uint32_t head, cap, n; /* buffered queries */
	/* send times of the first and the last buffered query (n > 0): most
	 * queries come in order, and these spare a cold record each */
	ts_t head_first, tail_first;
	struct addr addr;
	struct addr srv[NSRV];
	uint32_t srefs[NSRV]; /* buffered queries to each */
	struct mode m;
};

#define CLIENTS_MAX 4096
#define RECS_MAX (1u << 18) /* all clients together */

struct state {
	struct detect_ctx *dc;
	struct dk_clients clients;
	/* the pools: allocated for the cap at once, but pages are touched
	 * only as records are first used, and freed ones are reused first;
	 * index 0 is never used */
	struct rec *recs;
	uint32_t rec_hwm, rec_free;
	struct wide *wide;
	uint32_t wide_hwm, wide_free;
	ts_t t0; /* compact send times are after it; set at the first query */
	int have_t0;
	size_t nrecs;
	size_t pend_alloc; /* pend capacity of all clients, <= PEND_ALL_MAX */
	uint64_t forced, late, ignored_clients;
	ts_t now, horizon, pair_gap_ns;
	double pair_gap, stall_min, stall_max, noise_chance;
	int switch_run;
};

static void *init(struct detect_ctx *dc)
{
	struct state *s = xcalloc(1, sizeof(*s));

	s->dc = dc;
	dk_clients_init(&s->clients, dc, sizeof(struct client), CLIENTS_MAX);
	s->pair_gap = detect_param(dc, "serial-fallback", "pair_gap_s");
	s->pair_gap_ns = (ts_t)(s->pair_gap * NS_PER_SEC);
	s->switch_run = (int)detect_param(dc, "serial-fallback", "switch_run");
	if (s->switch_run < 1)
		s->switch_run = 1;
	s->noise_chance = detect_param(dc, "serial-fallback", "noise_chance");
	s->stall_min = detect_param(dc, "serial-fallback", "stall_min_s");
	s->stall_max = detect_param(dc, "serial-fallback", "stall_max_s");
	/* a query is settled when nothing sent before it can still finish:
	 * its own answer window, and its partner's after the pair gap.
	 * Tried and not kept (2026-12-03): analysing a query as soon as the
	 * matcher holds nothing sent before its partner's answer (the first
	 * send of the oldest open query, to the second, less 1 s). On the
	 * bench trace that bound lags the clock by 11.6 s on average, 16 at
	 * most (the oldest open query is an unanswered one waiting out its
	 * window, longer if re-sent), so the pool stayed full: same findings,
	 * 0.3 MB less peak RSS, for a per-second count in the matcher and a
	 * value carried to the detectors through -j. */
	s->horizon = 3 * detect_window(dc);
	return s;
}

/* ---- the compact records ------------------------------------------------ */

static inline const struct wide *rec_wide(const struct state *s, const struct rec *r)
{
	return IS_WIDE(r) ? &s->wide[r->dresp] : NULL;
}

static inline ts_t rec_first(const struct state *s, const struct rec *r)
{
	/* unsigned: t0 wrapped if the first query was near the start of time */
	return IS_WIDE(r) ? s->wide[r->dresp].first : (ts_t)((uint64_t)s->t0 + get48(r->first));
}

static inline struct name *rec_qname(const struct state *s, const struct rec *r)
{
	return IS_WIDE(r) ? s->wide[r->dresp].qname : (struct name *)(uintptr_t)get48(r->qname);
}

static inline ts_t rec_resp(const struct state *s, const struct rec *r)
{
	if (!(r->flags & R_ANSWERED))
		return -1;
	return IS_WIDE(r) ? s->wide[r->dresp].resp : rec_first(s, r) + (ts_t)r->dresp;
}

static inline ts_t rec_last(const struct state *s, const struct rec *r)
{
	return IS_WIDE(r) ? s->wide[r->dresp].last : rec_first(s, r);
}

static inline uint64_t rec_lseq(const struct state *s, const struct rec *r)
{
	return IS_WIDE(r) ? s->wide[r->dresp].lseq : r->lseq;
}

static inline uint64_t rec_seq(const struct state *s, const struct rec *r)
{
	return IS_WIDE(r) ? s->wide[r->dresp].seq : r->seq;
}

static const struct addr *rec_server(const struct state *s, const struct client *c,
				     const struct rec *r)
{
	return IS_WIDE(r) ? &s->wide[r->dresp].server : &c->srv[r->srv & R_SRV];
}

static int lost(const struct rec *r)
{
	return (r->flags & (R_RETRANS | R_ANSWERED)) != R_ANSWERED;
}

static uint32_t rec_alloc(struct state *s)
{
	uint32_t i;

	if (!s->recs)
		s->recs = xmalloc((RECS_MAX + 2) * sizeof(*s->recs));
	if (s->rec_free) {
		i = s->rec_free;
		s->rec_free = s->recs[i].seq;
	} else {
		i = ++s->rec_hwm; /* nrecs <= RECS_MAX + 1 */
	}
	return i;
}

static uint32_t wide_alloc(struct state *s)
{
	uint32_t i;

	if (!s->wide)
		s->wide = xmalloc((RECS_MAX + 2) * sizeof(*s->wide));
	if (s->wide_free) {
		i = s->wide_free;
		s->wide_free = s->wide[i].next_free;
	} else {
		i = ++s->wide_hwm;
	}
	return i;
}

/* Fill record r from t: compact if every field fits, else wide. */
static void rec_fill(struct state *s, struct client *c, struct rec *r, const struct txn *t)
{
	int answered = t->status == TXN_ANSWERED;
	uint64_t lseq = t->lookup ? t->lookup->seq : 0;
	ts_t dresp = answered ? t->resp_ts - t->first_ts : 0;
	uint32_t rdelta = answered ? t->rframe.frame - t->qframe.frame : 0;
	int k, slot = -1;
	uintptr_t qname = (uintptr_t)name_ref(t->qname);
	uint64_t first;

	if (!s->have_t0) {
		s->t0 = (ts_t)((uint64_t)t->first_ts - ((uint64_t)1 << 47));
		s->have_t0 = 1;
	}
	first = (uint64_t)t->first_ts - (uint64_t)s->t0; /* wraps when before t0 */
	r->qframe = t->qframe.frame;
	r->cport = t->cport;
	r->id = t->id;
	r->flags = (uint8_t)(TXN_RCODE(t) & R_RCODE) | (t->qtype == QTYPE_AAAA ? R_AAAA : 0) |
		   (t->retrans ? R_RETRANS : 0) | (answered ? R_ANSWERED : 0);
	for (k = 0; k < NSRV; k++) {
		if (c->srefs[k] && addr_eq(&c->srv[k], &t->server)) {
			slot = k;
			break;
		}
	}
	for (k = 0; slot < 0 && k < NSRV; k++) {
		if (!c->srefs[k]) {
			c->srv[k] = t->server;
			slot = k;
		}
	}
	if (slot >= 0 && first < BITS48 && (uint64_t)qname < BITS48 && t->seq <= UINT32_MAX &&
	    lseq <= UINT32_MAX && dresp >= 0 &&
	    dresp <= UINT32_MAX && t->last_ts == t->first_ts && rdelta <= UINT16_MAX &&
	    t->qframe.file < R_FILES && (!answered || t->rframe.file == t->qframe.file)) {
		c->srefs[slot]++;
		r->srv = (uint8_t)(slot | t->qframe.file << R_FILE_SHIFT);
		r->seq = (uint32_t)t->seq;
		r->lseq = (uint32_t)lseq;
		r->dresp = (uint32_t)dresp;
		r->rdelta = (uint16_t)rdelta;
		put48(r->first, first);
		put48(r->qname, (uint64_t)qname);
	} else {
		uint32_t i = wide_alloc(s);
		struct wide *w = &s->wide[i];

		r->srv = R_WIDE;
		r->dresp = i;
		w->rframe = t->rframe.frame;
		w->first = t->first_ts;
		w->qname = (struct name *)qname;
		w->seq = t->seq;
		w->lseq = lseq;
		w->resp = answered ? t->resp_ts : -1;
		w->last = t->last_ts;
		w->server = t->server;
		w->qfile = t->qframe.file;
		w->rfile = t->rframe.file;
	}
}

static void rec_release(struct state *s, struct client *c, uint32_t i)
{
	struct rec *r = &s->recs[i];

	name_unref(rec_qname(s, r));
	if (IS_WIDE(r)) {
		s->wide[r->dresp].next_free = s->wide_free;
		s->wide_free = r->dresp;
	} else {
		c->srefs[r->srv & R_SRV]--;
	}
	r->seq = s->rec_free;
	s->rec_free = i;
}

/* ---- evidence ----------------------------------------------------------- */

static void ev_clear(struct evrec *e)
{
	if (e->qname)
		name_unref(e->qname);
	e->qname = NULL;
}

static void ev_set(const struct state *s, struct evrec *e, const struct rec *r, int extra)
{
	const struct wide *w = rec_wide(s, r);

	ev_clear(e);
	e->seq = rec_seq(s, r);
	e->first = rec_first(s, r);
	e->resp = rec_resp(s, r);
	e->gap = rec_last(s, r) - e->first;
	e->q.file = w ? w->qfile : r->srv >> R_FILE_SHIFT;
	e->q.frame = r->qframe;
	e->r.file = w ? w->rfile : r->srv >> R_FILE_SHIFT;
	e->r.frame = w ? w->rframe : r->qframe + r->rdelta;
	e->qname = name_ref(rec_qname(s, r));
	e->aaaa = !!(r->flags & R_AAAA);
	e->cport = r->cport;
	e->rcode = r->flags & R_RCODE;
	e->retrans = !!(r->flags & R_RETRANS);
	e->extra = (uint8_t)extra;
}

/* take a reference for each name of a copied evidence record */
static void ev_dup(struct evrec *e)
{
	if (e->qname)
		name_ref(e->qname);
}

static void describe(const struct evrec *r, char *buf, size_t n, const char *extra)
{
	const char *qt = qtype_str(r->aaaa ? QTYPE_AAAA : QTYPE_A);
	char name[300], lat[32];

	name_str(r->qname, name, sizeof(name));
	if (r->resp >= 0) {
		fmt_dur(lat, sizeof(lat), r->resp - r->first);
		snprintf(buf, n, "%s? %s port %u %s after %s%s%s", qt, name, r->cport, rcode_str(r->rcode),
			 lat, r->retrans ? " (re-sent)" : "", extra);
	} else {
		snprintf(buf, n, "%s? %s port %u never answered%s", qt, name, r->cport, extra);
	}
}

/* Add e to f as evidence, its text as it was always written. */
static void ev_emit(struct finding *f, const struct evrec *e)
{
	struct frameref none = { 0, 0 };
	char buf[512], what[160], extra[96], g[32];

	switch (e->extra) {
	case EX_SERIAL_MODE:
		snprintf(extra, sizeof(extra), " (serial mode)");
		break;
	case EX_AGAIN:
		fmt_dur(g, sizeof(g), e->gap);
		snprintf(extra, sizeof(extra), ": the same query again after %s of silence, no AAAA query", g);
		break;
	case EX_ONE_CAME:
		snprintf(extra, sizeof(extra), ": one reply came");
		break;
	case EX_DID_NOT:
		fmt_dur(g, sizeof(g), e->gap);
		if (e->retrans)
			snprintf(extra, sizeof(extra), ": the other did not; re-sent after %s", g);
		else
			snprintf(extra, sizeof(extra), ": the other did not");
		break;
	case EX_THEN_SERIAL:
		snprintf(extra, sizeof(extra), ": then serial");
		break;
	case EX_SAME_PORT:
		snprintf(extra, sizeof(extra), ", sent after that answer, same port");
		break;
	case EX_NEW_PORT:
		snprintf(extra, sizeof(extra), ", sent after that answer, new port");
		break;
	default:
		extra[0] = '\0';
	}
	describe(e, buf, sizeof(buf), extra);
	memcpy(what, buf, sizeof(what) - 1);
	what[sizeof(what) - 1] = '\0';
	finding_evidence_raw(f, e->seq, e->first, e->q, e->resp >= 0 ? e->r : none, what);
}

/* ---- the heavy parts of a client's state -------------------------------- */

static struct cand *cand_dup(const struct cand *c)
{
	struct cand *d;
	int i;

	if (!c)
		return NULL;
	d = xmalloc(sizeof(*d));
	*d = *c;
	for (i = 0; i < 2; i++) {
		ev_dup(&d->trig_ev[i]);
		ev_dup(&d->first_ser_ev[i]);
	}
	d->pend = NULL;
	if (c->apend) {
		size_t w = c->pend_wide ? sizeof(uint64_t) : sizeof(uint32_t);

		d->pend = xmalloc(c->apend * w);
		memcpy(d->pend, c->pend, c->npend * w);
	}
	return d;
}

static void cand_free(struct cand *c)
{
	int i;

	if (!c)
		return;
	for (i = 0; i < 2; i++) {
		ev_clear(&c->trig_ev[i]);
		ev_clear(&c->first_ser_ev[i]);
	}
	free(c->pend);
	free(c);
}

static struct fails *fails_dup(const struct fails *f)
{
	struct fails *d;
	int i;

	if (!f)
		return NULL;
	d = xmalloc(sizeof(*d));
	*d = *f;
	for (i = 0; i < (int)ARRAY_SIZE(d->stall_ev); i++)
		ev_dup(&d->stall_ev[i]);
	for (i = 0; i < FA_MAX; i++)
		ev_dup(&d->fa[i].ev);
	if (d->stall_qname)
		name_ref(d->stall_qname);
	return d;
}

static void fails_free(struct fails *f)
{
	int i;

	if (!f)
		return;
	for (i = 0; i < (int)ARRAY_SIZE(f->stall_ev); i++)
		ev_clear(&f->stall_ev[i]);
	for (i = 0; i < FA_MAX; i++)
		ev_clear(&f->fa[i].ev);
	if (f->stall_qname)
		name_unref(f->stall_qname);
	free(f);
}

static void pend_add(struct state *s, struct cand *m, uint64_t seq)
{
	if (m->npend == m->apend) {
		uint32_t na = m->apend ? 2 * m->apend : 64;

		if (na > PEND_MAX || s->pend_alloc + na - m->apend > PEND_ALL_MAX)
			return;
		s->pend_alloc += na - m->apend;
		m->apend = na;
		m->pend = xrealloc(m->pend, m->apend * (m->pend_wide ? sizeof(uint64_t) : sizeof(uint32_t)));
	}
	if (!m->pend_wide && seq > UINT32_MAX) {
		uint64_t *w = xmalloc(m->apend * sizeof(*w));
		uint32_t k;

		for (k = 0; k < m->npend; k++)
			w[k] = ((uint32_t *)m->pend)[k];
		free(m->pend);
		m->pend = w;
		m->pend_wide = 1;
	}
	if (m->pend_wide)
		((uint64_t *)m->pend)[m->npend++] = seq;
	else
		((uint32_t *)m->pend)[m->npend++] = (uint32_t)seq;
}

static uint64_t pend_at(const struct cand *m, uint32_t k)
{
	return m->pend_wide ? ((const uint64_t *)m->pend)[k] : ((const uint32_t *)m->pend)[k];
}

/* ---- analysis ----------------------------------------------------------- */

/* Drop failed A query k (its slot then holds no reference). */
static void fa_drop(struct fails *fs, int k)
{
	ev_clear(&fs->fa[k].ev);
	fs->fa[k] = fs->fa[--fs->nfa];
	fs->fa[fs->nfa].ev.qname = NULL; /* moved to k */
}

/* An error answer to an A query, then the same query again: stall or not. */
static void check_failed_a(struct state *s, struct mode *m, const struct rec *r)
{
	struct fails *fs = m->fails;
	ts_t first = rec_first(s, r);
	int k;

	if (!fs || !fs->nfa)
		return;
	/* forget old ones */
	for (k = 0; k < fs->nfa;) {
		if (first - fs->fa[k].ev.resp > (ts_t)(s->stall_max * NS_PER_SEC))
			fa_drop(fs, k);
		else
			k++;
	}
	for (k = 0; k < fs->nfa; k++) {
		struct failed_a *fa = &fs->fa[k];
		ts_t gap;

		if (fa->ev.qname->hash != rec_qname(s, r)->hash || first < fa->ev.resp)
			continue;
		if (r->flags & R_AAAA) {
			/* the AAAA query was sent after all: not the stall */
			fa_drop(fs, k);
			return;
		}
		if (r->id != fa->id) {
			fa_drop(fs, k); /* a new lookup */
			return;
		}
		gap = first - fa->ev.resp;
		if ((double)gap >= s->stall_min * NS_PER_SEC) {
			fs->stalls++;
			fs->stall_sum += gap;
			if (!fs->stall_min || gap < fs->stall_min)
				fs->stall_min = gap;
			if (gap > fs->stall_max)
				fs->stall_max = gap;
			if (!fs->stall_first) {
				fs->stall_first = fa->ev.first;
				fs->stall_server = fa->server;
				fs->stall_qname = name_ref(fa->ev.qname);
			}
			fs->stall_last = first;
			if (fs->nstall_ev + 2 <= (int)ARRAY_SIZE(fs->stall_ev)) {
				struct evrec *e = &fs->stall_ev[fs->nstall_ev++];

				ev_clear(e);
				*e = fa->ev;
				ev_dup(e);
				e = &fs->stall_ev[fs->nstall_ev++];
				ev_set(s, e, r, EX_AGAIN);
				e->gap = gap;
			}
			detect_tag(s->dc, "serial-fallback", fa->ev.seq);
			detect_tag(s->dc, "serial-fallback", rec_seq(s, r));
		} else if (fa->serial) {
			fs->moved_on++;
		}
		fa_drop(fs, k);
		return;
	}
}

static void note_failed_a(struct state *s, const struct client *c, struct mode *m,
			  const struct rec *r)
{
	struct failed_a *fa;
	struct fails *fs;
	int rc = r->flags & R_RCODE;

	if ((r->flags & R_AAAA) || rec_resp(s, r) < 0 ||
	    (rc != RCODE_SERVFAIL && rc != RCODE_NOTIMP && rc != RCODE_REFUSED))
		return;
	if (!m->fails)
		m->fails = xcalloc(1, sizeof(*m->fails));
	fs = m->fails;
	if (fs->nfa == FA_MAX) {
		ev_clear(&fs->fa[0].ev);
		memmove(&fs->fa[0], &fs->fa[1], (FA_MAX - 1) * sizeof(fs->fa[0]));
		fs->fa[FA_MAX - 1].ev.qname = NULL; /* moved down */
	} else {
		fs->nfa++;
	}
	fa = &fs->fa[fs->nfa - 1];
	fa->server = *rec_server(s, c, r);
	fa->id = r->id;
	fa->serial = m->state != M_PARALLEL;
	ev_set(s, &fa->ev, r, fa->serial ? EX_SERIAL_MODE : EX_NONE);
}

/* One classified pair: advance the client's mode. */
static void on_pair(struct state *s, const struct client *c, struct mode *m, const struct rec *a,
		    const struct rec *b, int kind)
{
	int onelost = lost(a) != lost(b);

	m->pairs++;
	if (kind == 'P')
		m->par++;
	else if (kind == 'S')
		m->ser++;
	else
		m->reopen++;
	if (!lost(a) && !lost(b) && m->state == M_PARALLEL) {
		m->pm_pairs++;
		m->pm_serial += (uint64_t)(kind != 'P');
	}

	if (m->state == M_CANDIDATE) {
		struct cand *cd = m->cand;

		if (kind != 'P') {
			if (!cd->run++) {
				ev_set(s, &cd->first_ser_ev[0], a, EX_THEN_SERIAL);
				ev_set(s, &cd->first_ser_ev[1], b, kind == 'S' ? EX_SAME_PORT : EX_NEW_PORT);
				cd->nfirst_ser_ev = 2;
			}
			cd->run_reopen += (uint64_t)(kind == 'R');
			cd->last_serial_ts = rec_first(s, b);
			pend_add(s, cd, rec_seq(s, a));
			pend_add(s, cd, rec_seq(s, b));
			return;
		}
		/* a parallel pair: no lasting change */
		m->refuted++;
		m->state = M_PARALLEL;
		cd->npend = 0;
		s->pend_alloc -= cd->apend; /* the cap bounds live arrays */
		free(cd->pend);
		cd->pend = NULL;
		cd->apend = 0;
		cd->pend_wide = 0;
	}
	/* a lost reply while the client was parallel: the switch, if the
	 * pairs after it are all serial (the pair itself may look either
	 * way: glibc sent it in parallel, the wire may show the reply first) */
	if (onelost && m->par - (uint64_t)(kind == 'P') >= 1) {
		const struct rec *got = lost(a) ? b : a, *gone = lost(a) ? a : b;
		struct cand *cd;

		if (!m->cand)
			m->cand = xcalloc(1, sizeof(*m->cand));
		cd = m->cand;
		m->state = M_CANDIDATE;
		cd->run = cd->run_reopen = 0;
		/* how long a run of serial-looking pairs this client's own
		 * timing noise could produce: the share of its parallel-mode
		 * pairs that looked serial (rule of succession), to the power
		 * of the run, must be below noise_chance */
		cd->noise = (double)(m->pm_serial + 1) / (double)(m->pm_pairs + 2);
		{
			double q = 1;

			cd->need = 0;
			while (q > s->noise_chance && cd->need < 1000) {
				q *= cd->noise;
				cd->need++;
			}
			if (cd->need < (uint64_t)s->switch_run)
				cd->need = (uint64_t)s->switch_run;
		}
		cd->npend = 0;
		cd->nfirst_ser_ev = 0;
		cd->par_before = m->par - (uint64_t)(kind == 'P');
		cd->trig_ts = rec_first(s, a);
		cd->trig_server = *rec_server(s, c, a);
		cd->trig_gap = rec_last(s, gone) - rec_first(s, gone);
		/* the name shown is the pair's: trig_ev[0]'s */
		ev_set(s, &cd->trig_ev[0], got, EX_ONE_CAME);
		ev_set(s, &cd->trig_ev[1], gone, EX_DID_NOT);
		pend_add(s, cd, rec_seq(s, a));
		pend_add(s, cd, rec_seq(s, b));
	}
}

/* Analyse record i of a client's buffer b (sorted by send time). */
static void process(struct state *s, const struct client *c, struct mode *m,
		    const struct ring *b, uint32_t i)
{
	struct rec *r = AT(b, i), *p = NULL, *q;
	ts_t first = rec_first(s, r), limit, rresp;
	const struct name *qname = rec_qname(s, r);
	uint64_t rl, pl, jl;
	uint32_t j;

	if (!m->first_ts)
		m->first_ts = first;
	m->last_ts = first;
	check_failed_a(s, m, r);
	if (r->flags & R_USED)
		return;
	/* a lone query in serial mode belongs to it (retries, A after SERVFAIL) */
	rresp = rec_resp(s, r);
	limit = (rresp >= 0 ? rresp : rec_last(s, r)) + s->pair_gap_ns;
	for (j = i + 1; j < b->n && rec_first(s, q = AT(b, j)) <= limit; j++) {
		if ((q->flags & R_USED) || rec_qname(s, q) != qname ||
		    ((q->flags ^ r->flags) & R_AAAA) == 0)
			continue;
		p = q;
		break;
	}
	if (!p) {
		/* a lone query after the lost reply: glibc's serial re-send in
		 * that lookup, or an A query after SERVFAIL (no AAAA follows) */
		if (m->state == M_CANDIDATE)
			pend_add(s, m->cand, rec_seq(s, r));
		note_failed_a(s, c, m, r);
		return;
	}
	p->flags |= R_USED;
	/* the same two lookups asked again at once (after SERVFAIL) are part of
	 * this pair, not a new one; a later getaddrinfo call may share the
	 * matcher's lookup, so only right after the answers */
	{
		ts_t presp = rec_resp(s, p);

		limit = MAX(rresp >= 0 ? rresp : rec_last(s, r), presp >= 0 ? presp : rec_last(s, p)) +
			s->pair_gap_ns;
	}
	rl = rec_lseq(s, r);
	pl = rec_lseq(s, p);
	for (j = i + 1; j < b->n && rec_first(s, q = AT(b, j)) <= limit; j++) {
		if (q == p)
			continue;
		jl = rec_lseq(s, q);
		if (jl && (jl == rl || jl == pl))
			q->flags |= R_USED;
	}
	{
		int kind = rresp < 0 || rec_first(s, p) < rresp ? 'P' : p->cport == r->cport ? 'S' : 'R';

		on_pair(s, c, m, r, p, kind);
	}
}

static struct ring ring_of(struct state *s, const struct client *c)
{
	struct ring b = { s->recs, c->ring, c->head, c->cap, c->n };

	return b;
}

/* Give the ring of c room for n records (n >= c->n). */
static void ring_resize(struct client *c, uint32_t n)
{
	uint32_t *idx = xmalloc(n * sizeof(*idx)), k;

	for (k = 0; k < c->n; k++)
		idx[k] = SLOT(c, k);
	free(c->ring);
	c->ring = idx;
	c->head = 0;
	c->cap = n;
}

/* Analyse and drop the records of c sent before upto, and at least the
 * first min_n of them. */
static void drain(struct state *s, struct client *c, ts_t upto, size_t min_n)
{
	struct ring b = ring_of(s, c);
	uint32_t k = 0, i;

	while (k < c->n && (k < min_n || (k ? rec_first(s, AT(&b, k)) : c->head_first) < upto)) {
		process(s, c, &c->m, &b, k);
		k++;
	}
	if (!k)
		return;
	if (k < c->n)
		c->head_first = rec_first(s, AT(&b, k));
	for (i = 0; i < k; i++)
		rec_release(s, c, SLOT(c, i));
	c->head = ring_slot(c->head, c->cap, k);
	c->n -= k;
	s->nrecs -= k;
	/* give back what a burst grew: otherwise each client keeps the most
	 * it ever held, and under a long flood the sum creeps up */
	if (c->cap - c->n > 2 * RING_STEP)
		ring_resize(c, c->n + RING_STEP);
}

/*
 * Where a query sent at ts goes in c's buffer when the last buffered one
 * was sent after it: after every query sent at ts or before. Each probe is
 * a cold record, so start where ts falls between the first and the last
 * send time (queries come at a fairly even pace), then widen the step
 * until the place is bracketed, then halve.
 */
static uint32_t late_pos(const struct state *s, const struct client *c, const struct ring *b,
			 ts_t ts)
{
	uint32_t lo = 0, hi = c->n - 1, g, step; /* AT(lo) <= ts < AT(hi) */

	if (c->head_first > ts)
		return 0;
	if (hi <= 1)
		return hi;
	g = 1 + (uint32_t)((double)(ts - c->head_first) / (double)(c->tail_first - c->head_first) *
			   (double)(hi - 1));
	if (g >= hi)
		g = hi - 1;
	if (rec_first(s, AT(b, g)) > ts) {
		hi = g;
		for (step = 1; hi - lo > 1; step *= 2) {
			g = step < hi - lo ? hi - step : lo + 1;
			if (rec_first(s, AT(b, g)) > ts) {
				hi = g;
			} else {
				lo = g;
				break;
			}
		}
	} else {
		lo = g;
		for (step = 1; hi - lo > 1; step *= 2) {
			g = lo + step < hi ? lo + step : hi - 1;
			if (rec_first(s, AT(b, g)) > ts) {
				hi = g;
				break;
			}
			lo = g;
		}
	}
	while (hi - lo > 1) {
		g = lo + (hi - lo) / 2;
		if (rec_first(s, AT(b, g)) > ts)
			hi = g;
		else
			lo = g;
	}
	return hi;
}

/*
 * The pool is full: analyse the oldest queries of all clients, as if the
 * horizon were shorter for a while, until a 256th of the pool is free. The
 * horizon then is the pool's span (12 s on the bench trace, 21,000 A/AAAA
 * queries a second). A lost reply's query arrives an answer window after
 * its last send, so pairs with one lost reply are only found while that
 * span stays above the window (plus the re-sends): the cap cannot go lower
 * without losing them (at 3/4 of it, half of the bench trace's candidate
 * switches, each a lost reply while parallel, go unseen). Draining half of
 * the buffer of whichever client sent the next query instead cut that
 * client's span at random: 10,060 of the bench trace's 338,953 pairs and
 * 10,206 of its 37,875 candidates went unseen (counted with no cap); now
 * 458 and 473. The scan reads every client once a pass:
 * steps of 1/8 s, not finer (+0.3 % instructions on the bench trace).
 */
static void drain_oldest(struct state *s)
{
	struct kmap_ent **e = kmap_entries(&s->clients.map);
	size_t i, n = s->clients.map.count, before;
	ts_t upto = INT64_MAX, step = NS_PER_SEC / 8;

	for (i = 0; i < n; i++) {
		const struct client *c = kmap_val(e[i]);

		if (c->n && c->head_first < upto)
			upto = c->head_first;
	}
	while (s->nrecs > RECS_MAX - RECS_MAX / 256) {
		before = s->nrecs;
		upto = upto < INT64_MAX - step ? upto + step : INT64_MAX;
		for (i = 0; i < n; i++) {
			struct client *c = kmap_val(e[i]);

			if (c->n && c->head_first < upto) /* most have nothing */
				drain(s, c, upto, 0);
		}
		if (s->nrecs == before) {
			if (upto == INT64_MAX)
				break; /* cannot happen: no time is that late */
			if (step < INT64_MAX / 2)
				step *= 2; /* a gap in time (damaged files) */
		}
	}
	free(e);
}

/* Is t a query txn() buffers: A or AAAA over UDP (prefetch() asks too) */
static int buffered(const struct txn *t)
{
	return (t->qtype == QTYPE_A || t->qtype == QTYPE_AAAA) && t->qclass == 1 && t->proto == 17;
}

static void txn(void *st, const struct txn *t)
{
	struct state *s = st;
	struct client *c;
	struct ring b;
	uint32_t i, pos, k;
	int ovf;

	if (t->last_ts > s->now)
		s->now = t->last_ts;
	if (t->status == TXN_ANSWERED && t->resp_ts > s->now)
		s->now = t->resp_ts;
	if (!buffered(t))
		return;
	c = dk_client(&s->clients, s->dc, &t->client, &ovf);
	if (ovf) {
		s->ignored_clients++;
		return;
	}
	if (!c->addr.family)
		c->addr = t->client;
	if (c->n == c->cap)
		ring_resize(c, c->cap + RING_STEP);
	i = rec_alloc(s);
	rec_fill(s, c, &s->recs[i], t);
	/* insert sorted by send time, after those sent at the same time;
	 * late arrivals go near the end */
	b = ring_of(s, c);
	pos = c->n;
	if (pos && c->tail_first > t->first_ts)
		pos = late_pos(s, c, &b, t->first_ts);
	for (k = c->n; k > pos; k--)
		SLOT(c, k) = SLOT(c, k - 1);
	SLOT(c, pos) = i;
	if (pos == c->n)
		c->tail_first = t->first_ts;
	if (!pos)
		c->head_first = t->first_ts;
	c->n++;
	s->nrecs++;
	if (c->m.last_ts && t->first_ts < c->m.last_ts)
		s->late++; /* an earlier query was already analysed */
	drain(s, c, s->now - s->horizon, 0);
	if (s->nrecs > RECS_MAX) {
		s->forced++;
		drain_oldest(s);
	}
}

/* ---- findings ----------------------------------------------------------- */

static void json_ev_time(struct sbuf *sb, const char *key, ts_t t)
{
	char secs[40];

	fmt_secs(secs, sizeof(secs), t); /* right before 1970 too (damaged files) */
	sbuf_addf(sb, ", \"%s\": %s", key, secs);
}

static void emit(struct state *s, const struct client *c, const struct mode *mo,
		 struct findings *out)
{
	const struct cand *m = mo->cand;
	const struct fails *fs = mo->fails;
	int switched = mo->state == M_CANDIDATE && m->run >= m->need;
	uint64_t stalls = fs ? fs->stalls : 0, moved_on = fs ? fs->moved_on : 0;
	char cli[64], d1[32], d2[32], d3[32], name[256];
	struct finding *f;
	uint32_t k;
	int i;

	addr_str(&c->addr, cli, sizeof(cli));
	if (stalls) {
		name_str(fs->stall_qname, name, sizeof(name));
		f = finding_new(out, "serial-fallback", SEV_CRITICAL);
		f->count = stalls;
		f->first = fs->stall_first;
		f->last = fs->stall_last;
		fmt_dur(d1, sizeof(d1), fs->stall_min);
		fmt_dur(d2, sizeof(d2), fs->stall_max);
		fmt_dur(d3, sizeof(d3), fs->stall_sum);
		finding_set(&f->summary,
			    "%s stalled %" PRIu64 " time%s for %s%s%s after an error answer to A? %s, "
			    "then asked the same A query again and never the AAAA",
			    cli, stalls, stalls == 1 ? "" : "s", d1,
			    strcmp(d1, d2) ? " to " : "", strcmp(d1, d2) ? d2 : "", name);
		sbuf_addf(&f->details, "    stalls    %" PRIu64 ", %s of silence in all (%s to %s each)\n",
			  stalls, d3, d1, d2);
		sbuf_addf(&f->details, "    mode      %s\n",
			  switched ? "serial since a lost reply (see the switch finding)" :
			  mo->ser + mo->reopen && !mo->par ? "serial in every A/AAAA pair seen" :
							  "the switch to serial mode is not in this capture (it "
							  "happened before, or other processes on the host hide it)");
		finding_affected(f->clients, &f->nclients, cli);
		finding_affected(f->names, &f->nnames, name);
		finding_affected(f->servers, &f->nservers, addr_str(&fs->stall_server, d1, sizeof(d1)));
		sbuf_addf(&f->json, "\"kind\": \"stall\", \"client\": ");
		sbuf_add_json_str(&f->json, cli);
		sbuf_addf(&f->json, ", \"stalls\": %" PRIu64 ", \"stall_min_ms\": %.3f, \"stall_max_ms\": %.3f"
			  ", \"stall_total_ms\": %.3f, \"switched\": %s",
			  stalls, (double)fs->stall_min / NS_PER_MS, (double)fs->stall_max / NS_PER_MS,
			  (double)fs->stall_sum / NS_PER_MS, switched ? "true" : "false");
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
		for (i = 0; i < fs->nstall_ev; i++)
			ev_emit(f, &fs->stall_ev[i]);
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
			  mo->pairs, mo->par, mo->ser, mo->reopen);
		sbuf_addf(&f->details, "    before    %" PRIu64 " parallel pairs; then a pair lost one reply: "
			  "the resolver waited %s and asked again\n", m->par_before, d1);
		sbuf_addf(&f->details, "    after     %" PRIu64 " serial (%" PRIu64 " on a new port), 0 parallel; "
			  "%.0f%% of its earlier pairs looked serial by timing alone, so %" PRIu64
			  " in a row were needed\n",
			  m->run, m->run_reopen, 100.0 * (double)mo->pm_serial / (double)(mo->pm_pairs ? mo->pm_pairs : 1),
			  m->need);
		if (moved_on)
			sbuf_addf(&f->details, "    SERVFAIL  %" PRIu64 " A queries in serial mode got an error answer; "
				  "the client asked again at once and sent no AAAA (no stall: a glibc "
				  "with the bug 30081 fix)\n", moved_on);
		if (mo->refuted)
			sbuf_addf(&f->details, "    earlier   %" PRIu64 " lost replies were followed by parallel "
				  "pairs again (no lasting switch)\n", mo->refuted);
		finding_affected(f->clients, &f->nclients, cli);
		name_str(m->trig_ev[0].qname, name, sizeof(name));
		finding_affected(f->names, &f->nnames, name);
		finding_affected(f->servers, &f->nservers, addr_str(&m->trig_server, d2, sizeof(d2)));
		sbuf_addf(&f->json, "\"kind\": \"switch\", \"client\": ");
		sbuf_add_json_str(&f->json, cli);
		sbuf_addf(&f->json, ", \"pairs\": %" PRIu64 ", \"parallel\": %" PRIu64 ", \"serial\": %" PRIu64
			  ", \"serial_reopen\": %" PRIu64 ", \"parallel_before\": %" PRIu64
			  ", \"serial_after\": %" PRIu64 ", \"serial_reopen_after\": %" PRIu64
			  ", \"lost_retry_ms\": %.3f, \"servfail_moved_on\": %" PRIu64 ", \"stalls\": %" PRIu64
			  ", \"refuted\": %" PRIu64 ", \"noise\": %.4f, \"needed_run\": %" PRIu64,
			  mo->pairs, mo->par, mo->ser, mo->reopen, m->par_before, m->run, m->run_reopen,
			  (double)m->trig_gap / NS_PER_MS, moved_on, stalls, mo->refuted, m->noise,
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
		for (i = 0; i < 2; i++)
			ev_emit(f, &m->trig_ev[i]);
		for (i = 0; i < m->nfirst_ser_ev; i++)
			ev_emit(f, &m->first_ser_ev[i]);
		for (k = 0; k < m->npend; k++)
			detect_tag(s->dc, "serial-fallback", pend_at(m, k));
	} else if (!mo->par && mo->ser + mo->reopen >=
				      (uint64_t)detect_param(s->dc, "serial-fallback", "min_serial_pairs")) {
		f = finding_new(out, "serial-fallback", SEV_INFO);
		f->count = mo->ser + mo->reopen;
		f->first = mo->first_ts;
		f->last = mo->last_ts;
		finding_set(&f->summary, "%s sent all its %" PRIu64 " A/AAAA pairs serially", cli,
			    mo->ser + mo->reopen);
		sbuf_addf(&f->details, "    pairs     %" PRIu64 " serial on the same port, %" PRIu64
			  " serial on a new port, none parallel\n", mo->ser, mo->reopen);
		finding_affected(f->clients, &f->nclients, cli);
		sbuf_addf(&f->json, "\"kind\": \"serial\", \"client\": ");
		sbuf_add_json_str(&f->json, cli);
		sbuf_addf(&f->json, ", \"pairs\": %" PRIu64 ", \"serial\": %" PRIu64 ", \"serial_reopen\": %" PRIu64,
			  mo->pairs, mo->ser, mo->reopen);
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
	struct kmap_ent **e = kmap_entries(&s->clients.map);
	size_t i, pend_alloc = s->pend_alloc;

	for (i = 0; i < s->clients.map.count; i++) {
		const struct client *c = kmap_val(e[i]);
		struct mode m = c->m;
		struct ring b = { NULL, NULL, 0, c->n, c->n };
		uint32_t k;

		/* analyse what is still buffered on copies: finish must not
		 * change the state (live snapshots call it repeatedly) */
		m.cand = cand_dup(c->m.cand);
		if (m.cand) /* real memory, and given back if refuted */
			s->pend_alloc += m.cand->apend;
		m.fails = fails_dup(c->m.fails);
		if (c->n) {
			struct rec *v = xmalloc(c->n * sizeof(*v));
			uint32_t *idx = xmalloc(c->n * sizeof(*idx));

			for (k = 0; k < c->n; k++) {
				v[k] = s->recs[SLOT(c, k)];
				idx[k] = k;
			}
			b.v = v;
			b.idx = idx;
			for (k = 0; k < c->n; k++)
				process(s, c, &m, &b, k);
			free(v);
			free(idx);
		}
		emit(s, c, &m, out);
		cand_free(m.cand);
		fails_free(m.fails);
		s->pend_alloc = pend_alloc; /* the copies' growth is gone again */
	}
	free(e);
}

static void destroy(void *st)
{
	struct state *s = st;
	struct kmap_ent **e = kmap_entries(&s->clients.map);
	size_t i;

	for (i = 0; i < s->clients.map.count; i++) {
		struct client *c = kmap_val(e[i]);
		uint32_t k;

		for (k = 0; k < c->n; k++)
			rec_release(s, c, SLOT(c, k));
		free(c->ring);
		cand_free(c->m.cand);
		fails_free(c->m.fails);
	}
	free(e);
	dk_clients_free(&s->clients);
	free(s->recs);
	free(s->wide);
	free(s);
}

/* Look-ahead (detect.h): where txn() inserts into the client's ring and
 * where drain() takes from it. Not the records there: their numbers are
 * in the ring, and reading them here waited for memory (2 % of a run
 * with every detector; a second stage two calls later, for the records,
 * gained nothing measurable). */
static void prefetch(void *st, const struct txn *t, uint32_t client)
{
	struct state *s = st;
	const struct client *c = dk_byid_peek(&s->clients.ix, client);

	if (!buffered(t) || !c || !c->n)
		return;
	__builtin_prefetch(&SLOT(c, c->n - 1));
	__builtin_prefetch(&SLOT(c, 0));
}

const struct detector detector_serial_fallback = {
	.name = "serial-fallback",
	.summary = "glibc's switch to serial A/AAAA queries after a lost reply, and its SERVFAIL stall",
	.params = params,
	.init = init,
	.txn = txn,
	.finish = finish,
	.free = destroy,
	.prefetch = prefetch,
};
