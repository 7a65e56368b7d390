/*
 * detect-unanswered.c: queries that never got an answer.
 *
 * Totals hide incidents: the conntrack story in the field notes dropped
 * answers in bursts while the server was busy. So besides the ratio per
 * server, client and interface we keep a per-second series and flag bursts:
 * runs of seconds where most of the queries sent went unanswered.
 *
 * A transaction counts once however often it was retransmitted; "open at
 * end" (the capture stopped inside the answer window) is not unanswered.
 */
#include "config.h"
#include "detect.h"
#include "detkit.h"
#include "input.h"
#include "kmap.h"
#include "names.h"
#include "series.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const struct detector_param params[] = {
	{ "min_count", 3, "fewer unanswered queries than this raise nothing" },
	{ "warning_ratio", 0.01, "unanswered share of answered+unanswered for a warning" },
	{ "critical_ratio", 0.10, "... and for critical" },
	{ "burst_ratio", 0.5, "a second is part of a burst when this share of its queries went unanswered" },
	{ "burst_min", 5, "... and at least this many" },
	{ NULL, 0, NULL },
};

enum { COL_SENT, COL_LOST, NCOLS };

struct cnt {
	uint64_t txns, lost;
};

struct state {
	struct detect_ctx *dc;
	uint64_t txns, lost;
	ts_t first, last;
	struct series sec;
	struct kmap servers, ifaces;
	struct dk_clients clients;
	/* evidence: the first few unanswered, and the first of each burst
	 * is picked at finish from these */
	struct evidence ex[FINDING_MAX_EVIDENCE];
	int nex;
};

static void *init(struct detect_ctx *dc)
{
	struct state *s = xcalloc(1, sizeof(*s));

	s->dc = dc;
	series_init(&s->sec, NCOLS);
	kmap_init(&s->servers, sizeof(struct cnt), 4096);
	dk_clients_init(&s->clients, dc, sizeof(struct cnt), 65536);
	kmap_init(&s->ifaces, sizeof(struct cnt), 1024);
	return s;
}

static size_t akey(const struct addr *a, uint8_t *k)
{
	k[0] = a->family;
	memcpy(k + 1, a->a, 16);
	return a->family == 4 ? 5 : 17;
}

static void txn(void *st, const struct txn *t)
{
	struct state *s = st;
	int lost = t->status == TXN_UNANSWERED;
	uint8_t k[17];
	struct cnt *c;

	if (t->status != TXN_ANSWERED && !lost)
		return;
	s->txns++;
	series_add(&s->sec, t->first_ts, COL_SENT, 1);
	c = kmap_get(&s->servers, k, akey(&t->server, k), NULL);
	c->txns++;
	c->lost += (uint64_t)lost;
	c = dk_client(&s->clients, s->dc, &t->client, NULL);
	c->txns++;
	c->lost += (uint64_t)lost;
	if (t->ifindex >= 0) {
		c = kmap_get(&s->ifaces, &t->ifindex, sizeof(t->ifindex), NULL);
		c->txns++;
		c->lost += (uint64_t)lost;
	}
	if (!lost)
		return;
	s->lost++;
	series_add(&s->sec, t->first_ts, COL_LOST, 1);
	if (!s->first || t->first_ts < s->first)
		s->first = t->first_ts;
	if (t->first_ts > s->last)
		s->last = t->first_ts;
	detect_tag(s->dc, "unanswered", t->seq);
	if (s->nex < FINDING_MAX_EVIDENCE) {
		struct evidence *e = &s->ex[s->nex++];

		e->txn_seq = t->seq;
		e->ts = t->first_ts;
		e->q = t->qframe;
		e->r.file = 0;
		e->r.frame = 0;
		txn_describe(t, e->what, sizeof(e->what));
	}
}

/* Most lost first; ties by key, so the order never depends on the map's. */
static int cmp_lost(const void *a, const void *b)
{
	const struct kmap_ent *ea = *(const struct kmap_ent *const *)a;
	const struct kmap_ent *eb = *(const struct kmap_ent *const *)b;
	const struct cnt *x = kmap_val(ea), *y = kmap_val(eb);
	int c;

	if (x->lost != y->lost)
		return x->lost > y->lost ? -1 : 1;
	c = memcmp(ea->key, eb->key, MIN(ea->klen, eb->klen));
	return c ? c : (int)ea->klen - (int)eb->klen;
}

/* List the entities with unanswered queries, worst first. */
static void list_worst(struct finding *f, const char *label, struct kmap *m, int kind,
		       char **arr, int *narr)
{
	struct kmap_ent **e = kmap_entries(m);
	size_t i, shown = 0;

	qsort(e, m->count, sizeof(*e), cmp_lost);
	for (i = 0; i < m->count && shown < 5; i++) {
		const struct cnt *c = kmap_val(e[i]);
		char name[64];

		if (!c->lost)
			break;
		if (kind == 'a') {
			struct addr a;

			memset(&a, 0, sizeof(a));
			a.family = e[i]->key[0];
			memcpy(a.a, e[i]->key + 1, e[i]->klen - 1u);
			addr_str(&a, name, sizeof(name));
		} else {
			int32_t ifi;

			memcpy(&ifi, e[i]->key, 4);
			snprintf(name, sizeof(name), "%s", iface_name(ifi) ? iface_name(ifi) : "?");
		}
		finding_affected(arr, narr, name);
		sbuf_addf(&f->details, "    %-9s %-30s %6" PRIu64 " of %6" PRIu64 " unanswered (%.1f%%)\n",
			  shown ? "" : label, name, c->lost, c->txns,
			  100.0 * (double)c->lost / (double)c->txns);
		shown++;
	}
	free(e);
}

static void finish(void *st, struct findings *out)
{
	struct state *s = st;
	struct detect_ctx *dc = s->dc;
	double ratio = s->txns ? (double)s->lost / (double)s->txns : 0;
	double warn = detect_param(dc, "unanswered", "warning_ratio");
	double crit = detect_param(dc, "unanswered", "critical_ratio");
	double bratio = detect_param(dc, "unanswered", "burst_ratio");
	uint32_t bmin = (uint32_t)detect_param(dc, "unanswered", "burst_min");
	struct finding *f;
	uint32_t r, nbursts = 0, burst_secs = 0, in_burst = 0, worst_lost = 0;
	int i, sev;

	if (s->lost < (uint64_t)detect_param(dc, "unanswered", "min_count"))
		return;
	sev = ratio >= crit ? SEV_CRITICAL : ratio >= warn ? SEV_WARNING : SEV_INFO;
	f = finding_new(out, "unanswered", sev);
	f->count = s->lost;
	f->first = s->first;
	f->last = s->last;
	finding_set(&f->summary, "%" PRIu64 " of %" PRIu64 " queries (%.2f%%) got no answer within %.1f s",
		    s->lost, s->txns, 100.0 * ratio, (double)detect_window(dc) / NS_PER_SEC);
	list_worst(f, "server", &s->servers, 'a', f->servers, &f->nservers);
	list_worst(f, "client", &s->clients.map, 'a', f->clients, &f->nclients);
	list_worst(f, "interface", &s->ifaces, 'i', f->ifaces, &f->nifaces);

	/* bursts: consecutive seconds where most queries were lost */
	sbuf_addstr(&f->json, "\"ratio\": ");
	sbuf_addf(&f->json, "%.6f, \"transactions\": %" PRIu64 ", \"bursts\": [", ratio, s->txns);
	for (r = 0; r <= s->sec.n; r++) {
		uint32_t sent = series_get(&s->sec, r, COL_SENT), lost = series_get(&s->sec, r, COL_LOST);
		int hot = r < s->sec.n && lost >= bmin && (double)lost >= bratio * sent;

		if (hot) {
			if (!in_burst++) {
				worst_lost = 0;
				nbursts++;
			}
			burst_secs++;
			worst_lost += lost;
			continue;
		}
		if (in_burst) {
			uint32_t start = r - in_burst, k;
			uint32_t bsent = 0;
			char t1[40];

			for (k = start; k < r; k++)
				bsent += series_get(&s->sec, k, COL_SENT);
			fmt_time(t1, sizeof(t1), series_time(&s->sec, start));
			if (nbursts <= 10)
				sbuf_addf(&f->details, "    burst     %s UTC, %u s: %u of %u queries unanswered\n",
					  t1, in_burst, worst_lost, bsent);
			sbuf_addf(&f->json, "%s{\"start\": %" PRId64 ", \"seconds\": %u, \"sent\": %u, \"unanswered\": %u}",
				  nbursts > 1 ? ", " : "", series_time(&s->sec, start) / NS_PER_SEC,
				  in_burst, bsent, worst_lost);
			in_burst = 0;
		}
	}
	sbuf_addf(&f->json, "], \"burst_seconds\": %u, \"seconds\": %u", burst_secs, s->sec.n);
	if (nbursts > 10)
		sbuf_addf(&f->details, "    ... %u bursts in all\n", nbursts);
	finding_set(&f->explanation,
		    "A query that gets no response leaves the application waiting for its "
		    "resolver's timeout (5 s by default in glibc) before it retries or fails. "
		    "%s"
		    "Look at where the loss is: one server (that server or the path to it is "
		    "dropping), one client or interface (a local limit: conntrack table full, "
		    "a per-interface packet limit, a firewall), or all of them at busy moments "
		    "(a server shedding load).",
		    nbursts ? "Here the losses come in bursts: whole seconds where most queries "
			      "went unanswered, the pattern of a table or queue filling up under "
			      "load (in one incident the conntrack table: sendto() failed with "
			      "EPERM and the answers were never sent). "
			    : "");
	finding_set(&f->fix,
		    "Check the server's own counters for drops, and the host's: conntrack "
		    "(`conntrack -S`, `nf_conntrack_max`; exempt DNS with `iptables -t raw -j "
		    "NOTRACK` for udp port 53), interface drops (`ip -s link`), and any "
		    "per-interface packet limit (1,024 pps per interface toward the AWS VPC "
		    "resolver). Compare with the rate-limit finding if there is one.");
	for (i = 0; i < s->nex; i++)
		finding_evidence_raw(f, s->ex[i].txn_seq, s->ex[i].ts, s->ex[i].q, s->ex[i].r,
				     s->ex[i].what);
}

static void destroy(void *st)
{
	struct state *s = st;

	series_free(&s->sec);
	kmap_free(&s->servers);
	dk_clients_free(&s->clients);
	kmap_free(&s->ifaces);
	free(s);
}

const struct detector detector_unanswered = {
	.name = "unanswered",
	.summary = "queries with no answer: ratio per server, client, interface; bursts over time",
	.params = params,
	.init = init,
	.txn = txn,
	.finish = finish,
	.free = destroy,
};
