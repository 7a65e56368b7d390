/*
 * analyze.c: see analyze.h.
 */
#include "config.h"
#include "analyze.h"
#include "names.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

char **analysis_add_path(char **paths, int *npaths, char *path)
{
	paths = xrealloc(paths, (size_t)(*npaths + 1) * sizeof(*paths));
	paths[(*npaths)++] = path;
	return paths;
}

void analysis_opts_init(struct analysis_opts *o)
{
	memset(o, 0, sizeof(*o));
	decode_config_default(&o->dcfg);
	match_config_default(&o->mcfg);
	o->detcfg.window = o->mcfg.window;
	o->jobs = 1;
}

void analysis_opts_free(struct analysis_opts *o)
{
	detect_config_free(&o->detcfg);
}

int analysis_option(struct analysis_opts *o, int opt, const char *arg)
{
	char buf[64];
	ts_t w;
	long n;
	char *end;

	switch (opt) {
	case OPT_PORT:
		if (decode_set_ports(&o->dcfg, arg) < 0)
			return error("--port: '%s' is not a comma list of ports", arg);
		return 0;
	case OPT_WINDOW:
		w = parse_duration(arg);
		if (w <= 0)
			return error("--answer-window: '%s' is not a duration (e.g. 10s, 2500ms)", arg);
		/* tables sized by the window (rate-limit keeps a row per second
		 * of it) must stay small: a day would ask for gigabytes */
		if (w > ANSWER_WINDOW_MAX_S * NS_PER_SEC)
			return error("--answer-window: '%s' is too long (at most %ds)", arg,
				     ANSWER_WINDOW_MAX_S);
		o->mcfg.window = o->detcfg.window = w;
		return 0;
	case OPT_SET:
		return detect_config_set(&o->detcfg, arg);
	case OPT_CONFIG:
		return detect_config_file(&o->detcfg, arg);
	case OPT_DETECTORS:
		o->detcfg.only = arg;
		return 0;
	case OPT_MAX_OPEN:
		n = strtol(arg, &end, 10);
		if (*end || n < 16 || n > (1L << 28))
			return error("--max-open: '%s' must be a number from 16 to %ld", arg, 1L << 28);
		o->mcfg.max_txns = o->mcfg.max_lookups = (uint32_t)n;
		return 0;
	case OPT_RATE_BUDGET:
		snprintf(buf, sizeof(buf), "rate-limit.budget=%s", arg);
		return detect_config_set(&o->detcfg, buf);
	case OPT_NO_PROGRESS:
		o->no_progress = 1;
		return 0;
	case OPT_JOBS:
		n = strtol(arg, &end, 10);
		if (*end || n < 1 || n > 64)
			return error("-j: '%s' must be a number from 1 to 64", arg);
		o->jobs = (int)n;
		return 0;
	}
	return 1;
}

/*
 * Look-ahead. The statistics and the detectors are memory-bound: each
 * transaction touches per-client and per-name records spread over tens
 * of megabytes, and the loads wait for memory one after another. So in a
 * batch run a transaction or lookup first waits AHEAD places in a small
 * ring, as a copy (with its lookup's state at that moment, like the
 * records -j sends), and the loads of its records start when it enters:
 * by the time the detectors get it, they have arrived. Same events, same
 * order, same numbers: every output is as without it. The client gets
 * its number (detect_event_client()) when it enters: every event is
 * numbered, in order, so these are the numbers it would get when handed
 * on. (Until 2026-12-03 a lookup's client was numbered only if a detector
 * asked, so an entering transaction could only peek at the number, and
 * was numbered again when handed on: 2.74 s instead of 2.92, 8 rounds.)
 * Half way along, detectors with a .prefetch hook (detect.h) start
 * loading what lies behind their per-client record.
 *
 * Measured on the bench trace, every detector, mean CPU time of 8
 * alternating rounds on the shared machine (2026-12-03): 2.41 s against
 * 2.51 without it, 4 %, with the hooks of rate-limit, search-walk and
 * serial-fallback, which took rate-limit's find_key() from 4.5 % of the
 * samples to under 1 % and search-walk's txn() from 8 to 3.5 % (perf).
 * Without the hooks it gained nothing measurable: the first-level
 * records were already loaded together, just before use.
 *
 * Live runs (monitor, capture) and pipes (standard input, a named pipe:
 * input_is_pipe()), which may be live (dumpcap -w - | dnsvet tx
 * --no-tags -), hand events on at once:
 * nothing may wait for a packet that does not come. -j 2's matching
 * process does not use it either: for its two detectors, the copies cost
 * more than the prefetches gained (0.1 s more CPU there).
 */
#define AHEAD 8

struct ahead_ev {
	struct txn t; /* t.lookup is &l or NULL */
	struct lookup l;
	uint32_t more[LOOKUP_MAX_SENDS - LOOKUP_INLINE_SENDS];
	uint32_t client; /* detect_event_client() */
	int is_lookup;	 /* a lookup event: l only */
};

struct ahead {
	unsigned head, n;
	struct ahead_ev ev[AHEAD];
};

static void dispatch_txn(struct analysis *a, const struct txn *t, uint32_t client,
			 int prefetched)
{
	/* the per-client and per-name records are cache misses: start them
	 * all before the first is needed (the look-ahead started them when
	 * the event entered) */
	if (!prefetched) {
		stats_prefetch(&a->st, t, client);
		detect_prefetch(a->dc, client);
	}
	stats_txn(&a->st, t, client);
	detect_txn_numbered(a->dc, t, client);
	if (a->txn_sink)
		a->txn_sink(a->sink_ctx, t);
}

static void dispatch_lookup(struct analysis *a, const struct lookup *l, uint32_t client)
{
	stats_lookup(&a->st, l);
	detect_lookup_numbered(a->dc, l, client);
	if (a->lookup_sink)
		a->lookup_sink(a->sink_ctx, l);
}

/* a copy of l in e, without the matcher's pointers, holding its name */
static void ahead_copy_lookup(struct ahead_ev *e, const struct lookup *l)
{
	e->l = *l;
	e->l.older = e->l.newer = NULL;
	e->l.hash = 0;
	name_ref(e->l.qname);
	if (l->send_more) { /* allocated at the first send past the inline ones */
		memcpy(e->more, l->send_more,
		       (l->nsend_ts - LOOKUP_INLINE_SENDS) * sizeof(*e->more));
		e->l.send_more = e->more;
	}
}

/* Hand on the oldest waiting event. */
static void ahead_pop(struct analysis *a)
{
	struct ahead *q = a->ahead;
	struct ahead_ev *e = &q->ev[q->head];

	q->head = (q->head + 1) % AHEAD;
	q->n--;
	if (e->is_lookup) {
		dispatch_lookup(a, &e->l, e->client);
		name_unref(e->l.qname);
		return;
	}
	dispatch_txn(a, &e->t, e->client, 1);
	name_unref(e->t.qname);
	if (e->t.lookup)
		name_unref(e->l.qname);
}

/* A free place at the end of the ring (handing on the oldest if full).
 * The event half way along gets the detectors' deeper prefetches
 * (detect.h), now that the records they start from have arrived. */
static struct ahead_ev *ahead_push(struct analysis *a)
{
	struct ahead *q = a->ahead;
	struct ahead_ev *mid;

	if (q->n == AHEAD)
		ahead_pop(a);
	if (q->n >= AHEAD / 2) {
		mid = &q->ev[(q->head + q->n - AHEAD / 2) % AHEAD];
		if (!mid->is_lookup) {
			stats_prefetch_deep(&a->st, &mid->t);
			detect_prefetch_deep(a->dc, &mid->t, mid->client);
		}
	}
	return &q->ev[(q->head + q->n++) % AHEAD];
}

void analysis_look_ahead(struct analysis *a)
{
	int i;

	for (i = 0; i < a->in.npaths; i++)
		if (input_is_pipe(a->in.paths[i]))
			return; /* it may be live: see above */
	if (!a->ahead)
		a->ahead = xcalloc(1, sizeof(*a->ahead));
}

void analysis_flush(struct analysis *a)
{
	while (a->ahead && a->ahead->n)
		ahead_pop(a);
}

void analysis_txn_numbered(struct analysis *a, const struct txn *t, uint32_t client)
{
	struct ahead_ev *e;

	if (!a->ahead) {
		dispatch_txn(a, t, client, 0);
		return;
	}
	e = ahead_push(a);
	e->is_lookup = 0;
	e->t = *t;
	e->t.older = e->t.newer = NULL;
	e->t.hash = 0;
	name_ref(e->t.qname);
	if (t->lookup) {
		ahead_copy_lookup(e, t->lookup);
		e->t.lookup = &e->l;
	}
	e->client = client;
	stats_prefetch(&a->st, &e->t, client);
	detect_prefetch(a->dc, client);
}

void analysis_lookup_numbered(struct analysis *a, const struct lookup *l, uint32_t client)
{
	struct ahead_ev *e;

	if (!a->ahead) {
		dispatch_lookup(a, l, client);
		return;
	}
	e = ahead_push(a);
	e->is_lookup = 1;
	e->client = client;
	ahead_copy_lookup(e, l);
}

void analysis_txn(struct analysis *a, const struct txn *t)
{
	analysis_txn_numbered(a, t, detect_event_client(a->dc, &t->client, 0));
}

void analysis_lookup(struct analysis *a, const struct lookup *l)
{
	analysis_lookup_numbered(a, l, detect_event_client(a->dc, &l->client, 1));
}

static void on_txn(void *ctx, const struct txn *t)
{
	analysis_txn(ctx, t);
}

static void on_lookup(void *ctx, const struct lookup *l)
{
	analysis_lookup(ctx, l);
}

static void on_msg(void *ctx, const struct dnsmsg *m)
{
	struct analysis *a = ctx;

	if (a->msg_sink)
		a->msg_sink(a->sink_ctx, m);
	matcher_msg(a->mt, m);
}

static void on_hint(void *ctx, const struct dnsmsg *m, uint16_t id, int qr)
{
	struct analysis *a = ctx;

	matcher_prefetch(a->mt, m->proto, &m->src, m->sport, &m->dst, m->dport, id, qr);
	if (qr) /* an answer finishes a transaction: its client is numbered */
		detect_client_prefetch(a->dc, &m->dst);
}

static void progress(struct analysis *a, int final)
{
	struct timespec now;
	ts_t t;

	clock_gettime(CLOCK_MONOTONIC, &now);
	t = (ts_t)now.tv_sec * NS_PER_SEC + now.tv_nsec;
	if (!final && t - a->last_progress < NS_PER_SEC / 4)
		return;
	a->last_progress = t;
	fprintf(stderr, "\rdnsvet: %.1f M packets, %.1f M queries, %zu open%s",
		(double)a->in.st.packets / 1e6, (double)matcher_stats(a->mt)->queries / 1e6,
		matcher_open_txns(a->mt), final ? "\n" : "   ");
}

void analysis_pkt(struct analysis *a, struct pkt *p)
{
	decode_pkt(&a->dec, p);
	if (a->in.progress && !(a->in.st.packets & 0xffff))
		progress(a, 0);
	/* expire fragments and idle TCP streams now and then */
	if (!(a->in.st.packets & 0x3ff)) {
		frag_expire(&a->dec, a->dec.now, 0);
		tcp_expire(&a->dec, a->dec.now, 0);
	}
}

static void input_cb(void *ctx, struct pkt *p)
{
	analysis_pkt(ctx, p);
}

void analysis_init(struct analysis *a, struct analysis_opts *o, char **paths, int npaths)
{
	memset(a, 0, sizeof(*a));
	a->opts = o;
	a->in.paths = paths;
	a->in.npaths = npaths;
	a->in.progress = !o->no_progress && progress_wanted();
	decoder_init(&a->dec, &o->dcfg, on_msg, a);
	a->dec.hint = on_hint;
	a->mt = matcher_new(&o->mcfg, on_txn, on_lookup, a);
	stats_init(&a->st);
	o->detcfg.window = o->mcfg.window;
	a->dc = detect_new(&o->detcfg);
}

void analysis_end(struct analysis *a)
{
	decoder_finish(&a->dec);
	matcher_finish(a->mt);
	analysis_flush(a);
	detect_finish(a->dc, &a->findings);
}

int analysis_run(struct analysis *a)
{
	int rc;

	if (input_check(&a->in) < 0)
		return -1;
	if (a->opts->jobs > 1) {
		rc = analysis_run_pipe(a);
		a->ran = 1;
		return rc;
	}
	a->in.stop = a->stop;
	analysis_look_ahead(a);
	rc = input_run(&a->in, input_cb, a);
	if (a->in.progress)
		progress(a, 1);
	analysis_end(a);
	a->ran = 1;
	return rc;
}

void analysis_release(struct analysis *a)
{
	/* the matcher first: freeing it finishes what is still open, and
	 * those transactions still go to the detectors and the sinks */
	matcher_free(a->mt);
	analysis_flush(a);
	free(a->ahead);
	a->ahead = NULL;
	findings_free(&a->findings);
	detect_free(a->dc);
	decoder_release(&a->dec);
	stats_free(&a->st);
}
