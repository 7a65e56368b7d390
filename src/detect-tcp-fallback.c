/*
 * detect-tcp-fallback.c: UDP answers truncated (TC=1) and the same question
 * asked again over TCP.
 *
 * A UDP answer that does not fit the client's buffer (512 bytes without
 * EDNS, the EDNS size with it) comes back with TC=1 and no usable records;
 * the client must ask again over TCP: a TCP handshake and a second query,
 * at least two more round trips, and TCP state on the server. The matcher
 * keeps the lookup open after a TC answer (it is not definitive), so the
 * UDP query, its TC answer and the TCP retry share one struct lookup; we
 * join them on the lookup's seq.
 *
 * Counted per lookup: a fallback is a lookup with a TC answer over UDP and
 * then an answer over TCP. Its cost is measured from the first UDP send (what
 * the user waited in all) and from the TC answer (what the fallback added).
 * A TC answer whose lookup ends without an answer over TCP is a failed
 * fallback: the client never re-asked over TCP, or asked and got nothing
 * (TCP port 53 blocked somewhere, a server that does not serve TCP).
 *
 * Bounded: at most PENDING_MAX lookups with a TC answer are followed at
 * once (more are counted in "untracked"); per-name/client/server tables are
 * capped kmaps; the transactions to tag go through a tagbuf.
 */
#include "config.h"
#include "detect.h"
#include "detkit.h"
#include "kmap.h"
#include "names.h"
#include "stats.h"
#include "tagbuf.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const struct detector_param params[] = {
	{ "min_count", 1, "fallbacks (or failed fallbacks) needed for a finding (info)" },
	{ "warning_share", 0.05, "share of UDP lookups that fell back to TCP for a warning" },
	{ "warning_latency", 1.0, "p90 of first UDP send to TCP answer, seconds, for a warning" },
	{ "warning_failed", 1, "failed fallbacks (TC, then no answer over TCP) for a warning" },
	{ NULL, 0, NULL },
};

#define PENDING_MAX 65536
#define PENDING_BUCKETS 16384
#define EXAMPLES 4

/* A lookup that got a TC answer over UDP, waiting for its TCP retry. */
struct pending {
	struct pending *next;
	uint64_t lookup_seq;
	uint64_t tc_seq;
	ts_t udp_first, tc_ts;
	struct frameref tc_q, tc_r; /* the first TC transaction's frames */
	uint32_t ntc;		    /* TC answers in the lookup */
	uint8_t done, tcp_tried;
};

struct cnt {
	uint64_t n;
};

struct state {
	struct detect_ctx *dc;
	struct pending *free_list;
	struct pending *b[PENDING_BUCKETS];
	uint32_t nlive; /* pending entries allocated (in the table or free) */
	uint64_t untracked;
	uint64_t lookups, tc_answers, fallbacks, failed, failed_tried, failed_tc;
	ts_t first, last;
	struct hist total, added; /* microseconds */
	struct kmap names, clients, servers;
	struct tagbuf tags;
	struct evidence ex[FINDING_MAX_EVIDENCE];
	int nex;
	struct evidence fex[EXAMPLES]; /* failed ones */
	int nfex;
};

static void *init(struct detect_ctx *dc)
{
	struct state *s = xcalloc(1, sizeof(*s));

	s->dc = dc;
	kmap_init(&s->names, sizeof(struct cnt), 4096);
	kmap_init(&s->clients, sizeof(struct cnt), 4096);
	kmap_init(&s->servers, sizeof(struct cnt), 1024);
	tagbuf_init(&s->tags, TAGBUF_DEFAULT_CAP);
	return s;
}

static struct pending **pending_slot(struct state *s, uint64_t lseq)
{
	struct pending **pp = &s->b[hash_mix(lseq) & (PENDING_BUCKETS - 1)];

	while (*pp && (*pp)->lookup_seq != lseq)
		pp = &(*pp)->next;
	return pp;
}

static void on_tc(struct state *s, const struct txn *t)
{
	struct pending **pp, *p;

	s->tc_answers++;
	/* every truncated answer is part of the story, joined or not */
	tagbuf_add(&s->tags, t->seq, 0, 0);
	if (!t->lookup)
		return; /* its lookup was given up on: nothing to join */
	pp = pending_slot(s, t->lookup->seq);
	if (*pp) {
		(*pp)->ntc++; /* asked again over UDP, truncated again */
		return;
	}
	if (s->free_list) {
		p = s->free_list;
		s->free_list = p->next;
	} else if (s->nlive < PENDING_MAX) {
		p = xmalloc(sizeof(*p));
		s->nlive++;
	} else {
		s->untracked++;
		return;
	}
	memset(p, 0, sizeof(*p));
	p->lookup_seq = t->lookup->seq;
	p->tc_seq = t->seq;
	p->udp_first = t->lookup->first_ts;
	p->tc_ts = t->resp_ts;
	p->tc_q = t->qframe;
	p->tc_r = t->rframe;
	p->ntc = 1;
	p->next = NULL;
	*pp = p;
}

static void count_key(struct kmap *m, const void *k, size_t klen)
{
	struct cnt *c = kmap_get(m, k, klen, NULL);

	c->n++;
}

static void on_tcp(struct state *s, const struct txn *t)
{
	struct pending *p;
	uint8_t k[DK_ADDR_KEY];
	ts_t total, added;

	if (!t->lookup)
		return;
	p = *pending_slot(s, t->lookup->seq);
	if (!p || p->done)
		return;
	if (t->status != TXN_ANSWERED) {
		p->tcp_tried = 1;
		tagbuf_add(&s->tags, t->seq, 0, 0);
		return;
	}
	p->done = 1;
	s->fallbacks++;
	total = t->resp_ts - p->udp_first;
	added = t->resp_ts - p->tc_ts;
	hist_add(&s->total, (uint64_t)(total > 0 ? total / NS_PER_US : 0));
	hist_add(&s->added, (uint64_t)(added > 0 ? added / NS_PER_US : 0));
	if (!s->first || p->udp_first < s->first)
		s->first = p->udp_first;
	if (t->resp_ts > s->last)
		s->last = t->resp_ts;
	count_key(&s->names, t->qname->wire, t->qname->len);
	count_key(&s->clients, k, dk_addr_key(&t->client, k));
	count_key(&s->servers, k, dk_addr_key(&t->server, k));
	tagbuf_add(&s->tags, t->seq, 0, 0);
	if (s->nex + 1 < FINDING_MAX_EVIDENCE) {
		/* the TC answer is gone: describe it from what we kept */
		struct evidence *e = &s->ex[s->nex++];
		char name[1100], dur[16];

		name_str(t->qname, name, sizeof(name));
		fmt_dur(dur, sizeof(dur), added);
		e->txn_seq = p->tc_seq;
		e->ts = p->udp_first;
		e->q = p->tc_q;
		e->r = p->tc_r;
		snprintf(e->what, sizeof(e->what), "%s? %.80s over UDP: TC=1, answered over TCP %s later",
			 qtype_str(t->qtype), name, dur);
		e = &s->ex[s->nex++];
		fmt_dur(dur, sizeof(dur), TXN_LATENCY_FIRST(t));
		e->txn_seq = t->seq;
		e->ts = t->first_ts;
		e->q = t->qframe;
		e->r = t->rframe;
		snprintf(e->what, sizeof(e->what), "%s? %.80s over TCP: %s after %s", qtype_str(t->qtype),
			 name, rcode_str(TXN_RCODE(t)), dur);
	}
}

static void txn(void *st, const struct txn *t)
{
	struct state *s = st;

	if (t->status == TXN_EVICTED)
		return;
	if (t->proto == 17 && t->status == TXN_ANSWERED && DNS_TC(t->resp_flags)) {
		on_tc(s, t);
		return;
	}
	if (t->proto == 6)
		on_tcp(s, t);
}

static void lookup(void *st, const struct lookup *l)
{
	struct state *s = st;
	struct pending **pp, *p;

	s->lookups++;
	pp = pending_slot(s, l->seq);
	p = *pp;
	if (!p)
		return;
	/* no TCP answer, and no untruncated one over UDP either (a client may
	 * retry with a larger EDNS buffer instead): the fallback failed */
	if (!p->done && !l->definitive) {
		s->failed++;
		s->failed_tried += p->tcp_tried;
		s->failed_tc += p->ntc;
		if (s->nfex < EXAMPLES) {
			struct evidence *e = &s->fex[s->nfex++];
			char name[1100];

			name_str(l->qname, name, sizeof(name));
			e->txn_seq = p->tc_seq;
			e->ts = p->udp_first;
			e->q = p->tc_q;
			e->r = p->tc_r;
			snprintf(e->what, sizeof(e->what), "%s? %.80s over UDP: TC=1, %s",
				 qtype_str(l->qtype), name,
				 p->tcp_tried ? "asked again over TCP, no answer" : "never asked over TCP");
		}
		if (!s->first || p->udp_first < s->first)
			s->first = p->udp_first;
		if (p->tc_ts > s->last)
			s->last = p->tc_ts;
	}
	*pp = p->next;
	p->next = s->free_list;
	s->free_list = p;
}

/* "p50 1.2ms, p90 3.4ms, max 5.6ms" and the JSON object of the same */
static void lat_text(struct sbuf *sb, const struct hist *h)
{
	char a[32], b[32], c[32];

	fmt_dur(a, sizeof(a), (ts_t)hist_pct(h, 50) * NS_PER_US);
	fmt_dur(b, sizeof(b), (ts_t)hist_pct(h, 90) * NS_PER_US);
	fmt_dur(c, sizeof(c), (ts_t)h->max_us * NS_PER_US);
	sbuf_addf(sb, "p50 %s, p90 %s, max %s", a, b, c);
}

static void lat_json(struct sbuf *sb, const char *key, const struct hist *h)
{
	sbuf_addf(sb, ", \"%s\": {\"p50\": %.3f, \"p90\": %.3f, \"max\": %.3f}", key,
		  (double)hist_pct(h, 50) / 1e3, (double)hist_pct(h, 90) / 1e3,
		  (double)h->max_us / 1e3);
}

static void list_top(struct finding *f, const char *label, const struct kmap *m, int kind,
		     char **arr, int *narr)
{
	struct kmap_ent **e = dk_sorted(m, 0);
	size_t i;

	sbuf_addf(&f->details, "    %-11s", label);
	for (i = 0; i < m->count && i < 5; i++) {
		const struct cnt *c = kmap_val(e[i]);
		char buf[1100];

		if (kind == 'n') {
			struct sbuf nb = SBUF_INIT;

			name_to_text(e[i]->key, (uint8_t)e[i]->klen, &nb);
			snprintf(buf, sizeof(buf), "%s", nb.buf ? nb.buf : "");
			sbuf_release(&nb);
		} else {
			dk_key_str(e[i]->key, e[i]->klen, buf, sizeof(buf));
		}
		finding_affected(arr, narr, buf);
		sbuf_addf(&f->details, "%s %s (%" PRIu64 ")", i ? "," : "", buf, c->n);
	}
	if (m->count > 5)
		sbuf_addf(&f->details, ", and %zu more", m->count - 5);
	sbuf_addch(&f->details, '\n');
	free(e);
}

static void finish(void *st, struct findings *out)
{
	struct state *s = st;
	struct detect_ctx *dc = s->dc;
	uint64_t n = s->fallbacks + s->failed;
	double share = s->lookups ? (double)n / (double)s->lookups : 0;
	double p90 = (double)hist_pct(&s->total, 90) / 1e6;
	double wfail = detect_param(dc, "tcp-fallback", "warning_failed");
	struct finding *f;
	int sev = SEV_INFO, i;
	size_t k;
	char p50[32];

	if (!n || n < (uint64_t)detect_param(dc, "tcp-fallback", "min_count"))
		return;
	if (share >= detect_param(dc, "tcp-fallback", "warning_share") ||
	    (s->fallbacks && p90 >= detect_param(dc, "tcp-fallback", "warning_latency")) ||
	    (wfail > 0 && (double)s->failed >= wfail))
		sev = SEV_WARNING;
	f = finding_new(out, "tcp-fallback", sev);
	f->count = s->fallbacks;
	f->first = s->first;
	f->last = s->last;
	fmt_dur(p50, sizeof(p50), (ts_t)hist_pct(&s->added, 50) * NS_PER_US);
	if (s->fallbacks)
		finding_set(&f->summary, "%" PRIu64 " lookups got a truncated UDP answer and asked again over TCP (%.1f%% of lookups), adding %s (p50)%s",
			    s->fallbacks, 100.0 * share, p50,
			    s->failed ? "; some never got a TCP answer" : "");
	else
		finding_set(&f->summary, "%" PRIu64 " lookups got a truncated UDP answer and never an answer over TCP",
			    s->failed);
	sbuf_addf(&f->details, "    truncated   %" PRIu64 " of %" PRIu64 " lookups (%.2f%%) got a TC answer over UDP (%" PRIu64 " TC answers); %" PRIu64 " were answered over TCP\n",
		  n, s->lookups, 100.0 * share, s->tc_answers, s->fallbacks);
	if (s->fallbacks) {
		sbuf_addstr(&f->details, "    waited      ");
		lat_text(&f->details, &s->total);
		sbuf_addstr(&f->details, " (first UDP send to TCP answer)\n    added       ");
		lat_text(&f->details, &s->added);
		sbuf_addstr(&f->details, " (TC answer to TCP answer)\n");
	}
	if (s->failed)
		sbuf_addf(&f->details, "    failed      %" PRIu64 " lookups (%" PRIu64 " truncated answers) got no answer over TCP: %" PRIu64 " asked over TCP, %" PRIu64 " never did\n",
			  s->failed, s->failed_tc, s->failed_tried, s->failed - s->failed_tried);
	if (s->fallbacks) {
		list_top(f, "names", &s->names, 'n', f->names, &f->nnames);
		list_top(f, "clients", &s->clients, 'a', f->clients, &f->nclients);
		list_top(f, "servers", &s->servers, 'a', f->servers, &f->nservers);
	}
	if (s->untracked)
		sbuf_addf(&f->details, "    (%" PRIu64 " TC answers not followed: more than %d lookups open at once)\n",
			  s->untracked, PENDING_MAX);
	if (s->tags.dropped)
		sbuf_addf(&f->details, "    (tags: only the first %zu transactions are tagged)\n", s->tags.cap);
	sbuf_addf(&f->json, "\"fallbacks\": %" PRIu64 ", \"lookups\": %" PRIu64 ", \"share\": %.6f, \"tc_answers\": %" PRIu64
		  ", \"failed\": %" PRIu64 ", \"failed_tc_answers\": %" PRIu64 ", \"failed_tcp_tried\": %" PRIu64
		  ", \"untracked\": %" PRIu64,
		  s->fallbacks, s->lookups, share, s->tc_answers, s->failed, s->failed_tc, s->failed_tried,
		  s->untracked);
	lat_json(&f->json, "waited_ms", &s->total);
	lat_json(&f->json, "added_ms", &s->added);
	finding_set(&f->explanation,
		    "A UDP answer carries TC=1 (truncated) when it does not fit the size the client "
		    "offered: 512 bytes without EDNS, the EDNS buffer size with it (1232 bytes is "
		    "the usual value since DNS Flag Day 2020). A truncated answer is not an answer: "
		    "the client must open a TCP connection and ask again, which costs a TCP "
		    "handshake and a second query (at least two more round trips) and TCP state on "
		    "the server; glibc re-asks both A and AAAA over the one TCP connection. %s"
		    "Answers grow past the limit with many records per name, long TXT records "
		    "(SPF, verification tokens) and DNSSEC signatures.",
		    s->failed ? "Where no TCP answer followed, the application got nothing usable: "
				"TCP port 53 blocked by a firewall or security group while UDP is "
				"allowed is the classic cause (small names work, big ones fail). "
			      : "");
	finding_set(&f->fix,
		    "Allow TCP port 53 on every path between clients and servers (RFC 7766 requires "
		    "DNS over TCP; answers that do not fit UDP need it). Make the big answers "
		    "smaller: fewer records per name, shorter TXT records, no ANY queries. Clients "
		    "can offer a larger UDP buffer with EDNS (glibc: `options edns0` in "
		    "resolv.conf), but keep it at or below 1232 bytes to avoid IP fragmentation; "
		    "names that always truncate are cheaper asked over TCP directly (glibc: "
		    "`options use-vc`).");
	/* successes first, leaving room for the failed examples */
	for (i = 0; i < s->nex && f->nev < FINDING_MAX_EVIDENCE - s->nfex; i++)
		finding_evidence_raw(f, s->ex[i].txn_seq, s->ex[i].ts, s->ex[i].q, s->ex[i].r,
				     s->ex[i].what);
	for (i = 0; i < s->nfex; i++)
		finding_evidence_raw(f, s->fex[i].txn_seq, s->fex[i].ts, s->fex[i].q, s->fex[i].r,
				     s->fex[i].what);
	for (k = 0; k < s->tags.n; k++)
		detect_tag(dc, "tcp-fallback", s->tags.v[k].seq);
}

static void destroy(void *st)
{
	struct state *s = st;
	struct pending *p, *next;
	size_t i;

	for (i = 0; i < PENDING_BUCKETS; i++)
		for (p = s->b[i]; p; p = next) {
			next = p->next;
			free(p);
		}
	for (p = s->free_list; p; p = next) {
		next = p->next;
		free(p);
	}
	hist_free(&s->total);
	hist_free(&s->added);
	kmap_free(&s->names);
	kmap_free(&s->clients);
	kmap_free(&s->servers);
	tagbuf_free(&s->tags);
	free(s);
}

const struct detector detector_tcp_fallback = {
	.name = "tcp-fallback",
	.summary = "truncated (TC) UDP answers asked again over TCP: count, added latency, failures",
	.params = params,
	.init = init,
	.txn = txn,
	.lookup = lookup,
	.finish = finish,
	.free = destroy,
};
