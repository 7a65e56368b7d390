/*
 * detect-ptr-flood.c: reverse (PTR) lookups dominating the query rate.
 *
 * Stripe's incident in the field notes: an hourly batch job reverse-resolved
 * the addresses in its logs, and for a few minutes PTR queries for one
 * network (104.16.0.0/12) were most of what their resolvers sent; the
 * upstream hit a per-interface packet limit and the resolvers answered
 * SERVFAIL. What the operators had to piece together by hand we count
 * directly: a per-second series of all queries and PTR queries, windows of
 * seconds where PTR queries come fast and are most of the traffic, who sent
 * them, which networks the reversed addresses fall in (/24, /16 and the
 * smallest prefix that covers most of them), and how many failed (SERVFAIL,
 * or no answer at all) per server.
 *
 * Every transaction counts once (retransmissions folded in); a query still
 * open when the capture ended counts as "no answer" here, and the details
 * say how many of those there were: a flood against a limit leaves many.
 *
 * Bounded: one per-second series; capped kmaps for clients and servers; a
 * capped open-addressed table of /24 networks (16 bytes a slot, at most
 * half full: 128 KB for the bench trace's /24s, 262 KB as a kmap); the /16
 * counts come from the /24 table, and only once that is full from a fixed
 * 65,536-entry table of their own, filled from it then (it cost 256 KB
 * from the first IPv4 PTR query on); a few examples. PTR
 * transactions to tag are known only at the end (the windows); each leaves
 * a record of its seq and second as varint-coded deltas from the record
 * before (2 to 4 bytes, not a 16-byte tagbuf record: 0.3 MB, not 2 MB, for
 * the 106,000 PTR transactions of the 2 M-packet bench trace), at most
 * TAGBUF_DEFAULT_CAP records, as before, in 64 KB chunks filled to the end
 * (grown by half, the array stood up to a third empty: 420 KB then).
 */
#include "config.h"
#include "detect.h"
#include "detkit.h"
#include "kmap.h"
#include "names.h"
#include "series.h"
#include "tagbuf.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const struct detector_param params[] = {
	{ "min_rate", 50, "PTR queries per second for a second to count as a flood" },
	{ "min_share", 0.5, "... and their share of all queries in that second" },
	{ "min_seconds", 3, "a flood lasts at least this many seconds" },
	{ "gap", 2, "quieter seconds that do not end a flood" },
	{ "cover_share", 0.8, "share of the reversed addresses the reported smallest prefix must cover" },
	{ "warning_fail", 0.01, "share of flood PTR queries failed (SERVFAIL or no answer) for a warning" },
	{ "critical_fail", 0.10, "... and for critical" },
	{ NULL, 0, NULL },
};

enum { COL_ALL, COL_PTR, COL_SF, COL_NOANS, COL_OPEN, NCOLS };

#define EXAMPLES 32

struct ecnt {
	uint64_t ptr, sf, noans;
};

/* A /24 network: k = its address >> 8, plus 1 (0: an empty slot). */
struct n24 {
	uint32_t k;
	uint64_t n;
};

struct nets {
	struct n24 *v;
	uint32_t mask, count, cap;
	uint64_t overflowed; /* addresses in /24s past the cap */
};

struct window {
	uint32_t r0, r1; /* series rows, inclusive */
};

/* The tag records (see the top), in a dk_bytes stream of 64 KB chunks. */
struct tagstream {
	struct dk_bytes b;
	uint64_t nrec, dropped;
	uint64_t prev_seq;
	int64_t prev_sec;
};

struct state {
	struct detect_ctx *dc;
	struct series sec;
	struct kmap servers;
	struct nets nets24;
	struct dk_clients clients;
	uint32_t *net16; /* 65,536 counters, once the /24 table is full */
	uint64_t ptr, ptr_v4, ptr_v6;
	struct tagstream tags;
	struct evidence ex[EXAMPLES]; /* failures first seen */
	int nex;
	struct evidence okex[4];
	int nokex;
};

static void *init(struct detect_ctx *dc)
{
	struct state *s = xcalloc(1, sizeof(*s));

	s->dc = dc;
	series_init(&s->sec, NCOLS);
	dk_clients_init(&s->clients, dc, sizeof(struct ecnt), 65536);
	kmap_init(&s->servers, sizeof(struct ecnt), 4096);
	s->nets24.cap = 65536;
	dk_bytes_init(&s->tags.b, 65536);
	return s;
}

static uint32_t n24_slot(const struct nets *t, uint32_t k)
{
	uint32_t i;

	for (i = (uint32_t)hash_mix(k) & t->mask; t->v[i].k && t->v[i].k != k; i = (i + 1) & t->mask)
		;
	return i;
}

static void n24_grow(struct nets *t)
{
	struct n24 *old = t->v;
	uint32_t omask = t->mask, i;

	t->mask = old ? 2 * omask + 1 : 1023;
	t->v = xcalloc((size_t)t->mask + 1, sizeof(*t->v));
	for (i = 0; old && i <= omask; i++)
		if (old[i].k)
			t->v[n24_slot(t, old[i].k)] = old[i];
	free(old);
}

/* Count an IPv4 PTR query for ip in its /24 and its /16. */
static void count_net(struct state *s, uint32_t ip)
{
	struct nets *t = &s->nets24;
	uint32_t k = (ip >> 8) + 1, i;

	if (!t->v)
		n24_grow(t);
	i = n24_slot(t, k);
	if (!t->v[i].k) {
		if (t->count >= t->cap) {
			t->overflowed++;
			if (!s->net16) {
				/* from here on the /24s do not add up to the
				 * /16s: count those on their own */
				s->net16 = xcalloc(65536, sizeof(*s->net16));
				for (i = 0; i <= t->mask; i++)
					if (t->v[i].k)
						s->net16[(t->v[i].k - 1) >> 8] += (uint32_t)t->v[i].n;
			}
			s->net16[ip >> 16]++;
			return;
		}
		if (2 * (t->count + 1) > t->mask + 1) {
			n24_grow(t);
			i = n24_slot(t, k);
		}
		t->v[i].k = k;
		t->count++;
	}
	t->v[i].n++;
	if (s->net16)
		s->net16[ip >> 16]++;
}

static int is_ip6_arpa(const struct name *n)
{
	static const uint8_t suffix[] = "\003ip6\004arpa";

	return n->len >= sizeof(suffix) &&
	       !memcmp(n->wire + n->len - sizeof(suffix), suffix, sizeof(suffix));
}

static void keep(struct evidence *arr, int *n, int max, const struct txn *t)
{
	struct evidence *e;

	if (*n >= max)
		return;
	e = &arr[(*n)++];
	e->txn_seq = t->seq;
	e->ts = t->first_ts;
	e->q = t->qframe;
	if (t->status == TXN_ANSWERED) {
		e->r = t->rframe;
	} else {
		e->r.file = 0;
		e->r.frame = 0;
	}
	txn_describe(t, e->what, sizeof(e->what));
}

#define TAGREC_MAX 20 /* two varints */

static void tag_add(struct tagstream *ts, uint64_t seq, int64_t sec)
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
	dk_bytes_done(&ts->b, p);
	ts->nrec++;
	ts->prev_seq = seq;
	ts->prev_sec = sec;
}

static void txn(void *st, const struct txn *t)
{
	struct state *s = st;
	uint8_t k[DK_ADDR_KEY];
	struct ecnt *c;
	uint32_t ip;
	int sf, noans;

	if (t->status == TXN_EVICTED)
		return;
	series_add(&s->sec, t->first_ts, COL_ALL, 1);
	if (t->qtype != QTYPE_PTR)
		return;
	s->ptr++;
	sf = t->status == TXN_ANSWERED && TXN_RCODE(t) == RCODE_SERVFAIL;
	noans = t->status != TXN_ANSWERED;
	series_add(&s->sec, t->first_ts, COL_PTR, 1);
	if (sf)
		series_add(&s->sec, t->first_ts, COL_SF, 1);
	if (noans)
		series_add(&s->sec, t->first_ts, COL_NOANS, 1);
	if (t->status == TXN_OPEN_AT_END)
		series_add(&s->sec, t->first_ts, COL_OPEN, 1);
	c = dk_client(&s->clients, s->dc, &t->client, NULL);
	c->ptr++;
	c->sf += (uint64_t)sf;
	c->noans += (uint64_t)noans;
	c = kmap_get(&s->servers, k, dk_addr_key(&t->server, k), NULL);
	c->ptr++;
	c->sf += (uint64_t)sf;
	c->noans += (uint64_t)noans;
	if (name_ptr_ipv4(t->qname->wire, t->qname->len, &ip)) {
		s->ptr_v4++;
		count_net(s, ip);
	} else if (is_ip6_arpa(t->qname)) {
		s->ptr_v6++;
	}
	tag_add(&s->tags, t->seq, t->first_ts / NS_PER_SEC);
	if (sf || noans)
		keep(s->ex, &s->nex, EXAMPLES, t);
	else
		keep(s->okex, &s->nokex, 4, t);
}

/* ---- finish ------------------------------------------------------------- */

static int hot(const struct state *s, uint32_t r, double rate, double share)
{
	uint32_t all = series_get(&s->sec, r, COL_ALL), ptr = series_get(&s->sec, r, COL_PTR);

	return ptr && (double)ptr >= rate && (double)ptr >= share * (double)all;
}

/* Windows of flood seconds; returns how many (at most max are stored). */
static uint32_t find_windows(const struct state *s, struct window *w, uint32_t max)
{
	struct detect_ctx *dc = s->dc;
	double rate = detect_param(dc, "ptr-flood", "min_rate");
	double share = detect_param(dc, "ptr-flood", "min_share");
	uint32_t minsec = (uint32_t)detect_param(dc, "ptr-flood", "min_seconds");
	uint32_t gap = (uint32_t)detect_param(dc, "ptr-flood", "gap");
	uint32_t r = 0, n = 0;

	while (r < s->sec.n) {
		uint32_t start, end, hotsecs = 0;

		if (!hot(s, r, rate, share)) {
			r++;
			continue;
		}
		start = end = r;
		for (; r < s->sec.n; r++) {
			if (hot(s, r, rate, share)) {
				end = r;
				hotsecs++;
			} else if (r - end > gap) {
				break;
			}
		}
		if (hotsecs >= minsec) {
			if (n < max) {
				w[n].r0 = start;
				w[n].r1 = end;
			}
			n++;
		}
		r = end + 1;
	}
	return n;
}

struct prefix {
	uint32_t net;
	int len;
	uint64_t n;
};

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The /24s as (address, count) pairs by address; *n of them. Counts are
 * cut to 32 bits, as the /16 counters have them. */
static uint32_t *sorted24(const struct state *s, size_t *n)
{
	const struct nets *t = &s->nets24;
	uint32_t *keys = xmalloc(((size_t)t->count + 1) * 2 * sizeof(*keys)), i;

	*n = 0;
	for (i = 0; t->v && i <= t->mask; i++)
		if (t->v[i].k) {
			keys[2 * *n] = (t->v[i].k - 1) << 8;
			keys[2 * *n + 1] = (uint32_t)t->v[i].n;
			(*n)++;
		}
	qsort(keys, *n, 2 * sizeof(*keys), cmp_u32);
	return keys;
}

/* The /16s with queries as (number, count) pairs by number; *n of them:
 * from their own table once there is one, else the /24s added up. */
static uint32_t *list16(const struct state *s, size_t *n)
{
	uint32_t *v, *k24;
	size_t i, n24;

	*n = 0;
	if (s->net16) {
		v = xmalloc(65536 * 2 * sizeof(*v));
		for (i = 0; i < 65536; i++)
			if (s->net16[i]) {
				v[2 * *n] = (uint32_t)i;
				v[2 * *n + 1] = s->net16[i];
				(*n)++;
			}
		return v;
	}
	k24 = sorted24(s, &n24);
	v = xmalloc((n24 + 1) * 2 * sizeof(*v));
	for (i = 0; i < n24; i++) {
		if (!*n || v[2 * (*n - 1)] != k24[2 * i] >> 16) {
			v[2 * *n] = k24[2 * i] >> 16;
			v[2 * *n + 1] = 0;
			(*n)++;
		}
		v[2 * (*n - 1) + 1] += k24[2 * i + 1];
	}
	free(k24);
	return v;
}

/* The longest prefix whose best network holds at least want addresses. */
static struct prefix smallest_cover(const struct state *s, uint64_t want)
{
	struct prefix best = { 0, 0, s->ptr_v4 };
	size_t i, n, n16;
	uint32_t *keys = sorted24(s, &n), *l16 = list16(s, &n16);
	int len;

	/* /24 .. /17 from the /24 table: sorted, adjacent ones merge; /16
	 * and shorter from the /16s (zero counts change no sum) */
	for (len = 24; len >= 1; len--) {
		uint32_t mask = ~((1u << (32 - len)) - 1);
		struct prefix top = { 0, len, 0 };
		uint64_t run = 0;
		uint32_t cur = 0;

		if (len > 16) {
			for (i = 0; i < n; i++) {
				if (!i || (keys[2 * i] & mask) != cur) {
					cur = keys[2 * i] & mask;
					run = 0;
				}
				run += keys[2 * i + 1];
				if (run > top.n) {
					top.n = run;
					top.net = cur;
				}
			}
		} else {
			for (i = 0; i < n16; i++) {
				uint32_t net = (l16[2 * i] << 16) & mask;

				if (!i || net != cur) {
					cur = net;
					run = 0;
				}
				run += l16[2 * i + 1];
				if (run > top.n) {
					top.n = run;
					top.net = cur;
				}
			}
		}
		if (top.n >= want) {
			best = top;
			break;
		}
	}
	free(keys);
	free(l16);
	return best;
}

static const char *net_str(char *buf, size_t n, uint32_t net, int len)
{
	snprintf(buf, n, "%u.%u.%u.%u/%d", net >> 24, (net >> 16) & 255, (net >> 8) & 255,
		 net & 255, len);
	return buf;
}

/* Top /16s and /24s: text and JSON. */
static void top_nets(const struct state *s, struct finding *f)
{
	const struct nets *t = &s->nets24;
	uint32_t top16[3] = { 0, 0, 0 }, tc[3] = { 0, 0, 0 }, *l16;
	const struct n24 *top24[3] = { NULL, NULL, NULL };
	size_t i, j, ntop = 0, n16, n24 = 0;
	char buf[32];

	/* the three largest /16s, kept sorted by insertion */
	l16 = list16(s, &n16);
	for (i = 0; i < n16; i++) {
		uint32_t c = l16[2 * i + 1];

		if (ntop < 3)
			ntop++;
		else if (c <= tc[2])
			continue;
		for (j = ntop - 1; j > 0 && c > tc[j - 1]; j--) {
			top16[j] = top16[j - 1];
			tc[j] = tc[j - 1];
		}
		top16[j] = l16[2 * i];
		tc[j] = c;
	}
	free(l16);
	sbuf_addstr(&f->details, "    top /16s  ");
	sbuf_addstr(&f->json, ", \"top16\": [");
	for (j = 0; j < ntop; j++) {
		net_str(buf, sizeof(buf), top16[j] << 16, 16);
		sbuf_addf(&f->details, "%s %s (%.1f%%)", j ? "," : "", buf, 100.0 * tc[j] / (double)s->ptr_v4);
		sbuf_addf(&f->json, "%s{\"net\": \"%s\", \"count\": %u}", j ? ", " : "", buf, tc[j]);
	}
	/* the three largest /24s, most first, ties by address (as dk_sorted) */
	for (i = 0; t->v && i <= t->mask; i++) {
		const struct n24 *e = &t->v[i];

		if (!e->k)
			continue;
		if (n24 < 3)
			n24++;
		else if (e->n < top24[2]->n || (e->n == top24[2]->n && e->k > top24[2]->k))
			continue;
		for (j = n24 - 1; j > 0 && (e->n > top24[j - 1]->n ||
					    (e->n == top24[j - 1]->n && e->k < top24[j - 1]->k));
		     j--)
			top24[j] = top24[j - 1];
		top24[j] = e;
	}
	sbuf_addstr(&f->details, "\n    top /24s  ");
	sbuf_addstr(&f->json, "], \"top24\": [");
	for (i = 0; i < n24; i++) {
		uint64_t n = top24[i]->n;

		net_str(buf, sizeof(buf), (top24[i]->k - 1) << 8, 24);
		sbuf_addf(&f->details, "%s %s (%.1f%%)", i ? "," : "", buf,
			  100.0 * (double)n / (double)s->ptr_v4);
		sbuf_addf(&f->json, "%s{\"net\": \"%s\", \"count\": %" PRIu64 "}", i ? ", " : "", buf, n);
	}
	sbuf_addstr(&f->json, "]");
	sbuf_addf(&f->details, "%s\n", t->count > 3 ? ", ..." : "");
	if (t->overflowed)
		sbuf_addf(&f->details, "    (/24 table full: %" PRIu64 " addresses in further /24s not split out)\n",
			  t->overflowed);
}

static void list_ents(const struct state *s, struct finding *f, const struct kmap *m, int servers)
{
	struct kmap_ent **e = dk_sorted(m, 0);
	size_t i;
	char buf[64];

	sbuf_addf(&f->json, ", \"%s\": [", servers ? "servers" : "clients");
	for (i = 0; i < m->count && i < 5; i++) {
		const struct ecnt *c = kmap_val(e[i]);

		dk_key_str(e[i]->key, e[i]->klen, buf, sizeof(buf));
		if (servers)
			finding_affected(f->servers, &f->nservers, buf);
		else
			finding_affected(f->clients, &f->nclients, buf);
		sbuf_addf(&f->details, "    %-9s %-28s %8" PRIu64 " PTR (%5.1f%%)  SERVFAIL %5.1f%%  no answer %5.1f%%\n",
			  i ? "" : servers ? "server" : "client", buf, c->ptr,
			  100.0 * (double)c->ptr / (double)s->ptr, 100.0 * (double)c->sf / (double)c->ptr,
			  100.0 * (double)c->noans / (double)c->ptr);
		sbuf_addf(&f->json, "%s{\"addr\": \"%s\", \"ptr\": %" PRIu64 ", \"servfail\": %" PRIu64 ", \"no_answer\": %" PRIu64 "}",
			  i ? ", " : "", buf, c->ptr, c->sf, c->noans);
	}
	sbuf_addstr(&f->json, "]");
	if (m->count > 5)
		sbuf_addf(&f->details, "    %-9s ... %zu more\n", "", m->count - 5);
	free(e);
}

static int in_windows(const struct state *s, const struct window *w, uint32_t n, int64_t sec)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (sec >= s->sec.t0 + w[i].r0 && sec <= s->sec.t0 + w[i].r1)
			return 1;
	return 0;
}

/* Tag the PTR transactions inside the windows. */
static void tag_windows(const struct state *s, const struct window *w, uint32_t n)
{
	struct dk_bytes_pos at;
	const uint8_t *p;
	uint64_t seq = 0, v;
	int64_t sec = 0;

	dk_bytes_begin(&s->tags.b, &at);
	while ((p = dk_bytes_next(&at))) {
		p = dk_get_varint(p, &v);
		seq += (uint64_t)dk_unzigzag(v);
		p = dk_get_varint(p, &v);
		sec += dk_unzigzag(v);
		dk_bytes_skip(&at, p);
		if (in_windows(s, w, n, sec))
			detect_tag(s->dc, "ptr-flood", seq);
	}
}

#define MAX_WINDOWS 64

static void finish(void *st, struct findings *out)
{
	struct state *s = st;
	struct detect_ctx *dc = s->dc;
	struct window w[MAX_WINDOWS];
	uint32_t nw = find_windows(s, w, MAX_WINDOWS), kept = MIN(nw, MAX_WINDOWS), i, r;
	uint64_t all = 0, ptr = 0, sf = 0, noans = 0, open = 0, peak = 0, secs = 0;
	double fail;
	struct finding *f;
	struct prefix cover;
	char buf[32], t1[40];
	int sev, k;

	if (!kept)
		return;
	f = finding_new(out, "ptr-flood", SEV_INFO);
	sbuf_addstr(&f->json, "\"windows\": [");
	for (i = 0; i < kept; i++) {
		uint64_t wall = 0, wptr = 0, wsf = 0, wno = 0, wpeak = 0;

		for (r = w[i].r0; r <= w[i].r1; r++) {
			uint32_t p = series_get(&s->sec, r, COL_PTR);

			wall += series_get(&s->sec, r, COL_ALL);
			wptr += p;
			wsf += series_get(&s->sec, r, COL_SF);
			wno += series_get(&s->sec, r, COL_NOANS);
			open += series_get(&s->sec, r, COL_OPEN);
			wpeak = MAX(wpeak, p);
		}
		all += wall;
		ptr += wptr;
		sf += wsf;
		noans += wno;
		peak = MAX(peak, wpeak);
		secs += w[i].r1 - w[i].r0 + 1;
		fmt_time(t1, sizeof(t1), series_time(&s->sec, w[i].r0));
		if (i < 10)
			sbuf_addf(&f->details, "    window    %.19s UTC, %u s: %" PRIu64 " PTR of %" PRIu64 " queries (%.0f%%), peak %" PRIu64 "/s; SERVFAIL %" PRIu64 ", no answer %" PRIu64 "\n",
				  t1, w[i].r1 - w[i].r0 + 1, wptr, wall, 100.0 * (double)wptr / (double)wall,
				  wpeak, wsf, wno);
		sbuf_addf(&f->json, "%s{\"start\": %" PRId64 ", \"seconds\": %u, \"queries\": %" PRIu64 ", \"ptr\": %" PRIu64
			  ", \"peak_ptr_per_s\": %" PRIu64 ", \"servfail\": %" PRIu64 ", \"no_answer\": %" PRIu64 "}",
			  i ? ", " : "", series_time(&s->sec, w[i].r0) / NS_PER_SEC, w[i].r1 - w[i].r0 + 1,
			  wall, wptr, wpeak, wsf, wno);
	}
	if (nw > kept)
		sbuf_addf(&f->details, "    ... %u windows in all (the first %u are counted)\n", nw, kept);
	fail = ptr ? (double)(sf + noans) / (double)ptr : 0;
	sev = fail >= detect_param(dc, "ptr-flood", "critical_fail")  ? SEV_CRITICAL
	      : fail >= detect_param(dc, "ptr-flood", "warning_fail") ? SEV_WARNING
								       : SEV_INFO;
	f->severity = sev;
	f->count = ptr;
	f->first = series_time(&s->sec, w[0].r0);
	f->last = series_time(&s->sec, w[kept - 1].r1) + NS_PER_SEC - 1;
	sbuf_addf(&f->json, "], \"seconds\": %" PRIu64 ", \"queries\": %" PRIu64 ", \"ptr\": %" PRIu64
		  ", \"ptr_share\": %.6f, \"ptr_per_s\": %.1f, \"peak_ptr_per_s\": %" PRIu64
		  ", \"servfail\": %" PRIu64 ", \"no_answer\": %" PRIu64 ", \"open_at_end\": %" PRIu64
		  ", \"fail_share\": %.6f",
		  secs, all, ptr, (double)ptr / (double)all, (double)ptr / (double)secs, peak, sf, noans,
		  open, fail);
	sbuf_addf(&f->details, "    rate      %.0f PTR/s on average, peak %" PRIu64 "/s, %.0f%% of all queries in %" PRIu64 " s\n",
		  (double)ptr / (double)secs, peak, 100.0 * (double)ptr / (double)all, secs);
	sbuf_addf(&f->details, "    failed    %.1f%%: SERVFAIL %" PRIu64 ", no answer %" PRIu64 " (%" PRIu64 " of them still open when the capture ended)\n",
		  100.0 * fail, sf, noans, open);

	/* networks, clients, servers: over every PTR query in the capture */
	sbuf_addf(&f->details, "    whole capture: %" PRIu64 " PTR queries, %" PRIu64 " for IPv4 addresses, %" PRIu64 " for IPv6\n",
		  s->ptr, s->ptr_v4, s->ptr_v6);
	sbuf_addf(&f->json, ", \"capture_ptr\": %" PRIu64 ", \"capture_ptr_ipv4\": %" PRIu64 ", \"capture_ptr_ipv6\": %" PRIu64,
		  s->ptr, s->ptr_v4, s->ptr_v6);
	if (s->ptr_v4) {
		double want = detect_param(dc, "ptr-flood", "cover_share") * (double)s->ptr_v4;

		cover = smallest_cover(s, (uint64_t)(want + 0.999999));
		net_str(buf, sizeof(buf), cover.net, cover.len);
		sbuf_addf(&f->details, "    network   %s holds %.1f%% of the reversed IPv4 addresses\n", buf,
			  100.0 * (double)cover.n / (double)s->ptr_v4);
		sbuf_addf(&f->json, ", \"cover\": {\"net\": \"%s\", \"count\": %" PRIu64 ", \"share\": %.6f}", buf,
			  cover.n, (double)cover.n / (double)s->ptr_v4);
		top_nets(s, f);
		finding_affected(f->names, &f->nnames, buf);
	}
	list_ents(s, f, &s->clients.map, 0);
	list_ents(s, f, &s->servers, 1);
	if (s->tags.dropped)
		sbuf_addf(&f->details, "    (tags: only the first %zu PTR transactions are tagged)\n",
			  (size_t)TAGBUF_DEFAULT_CAP);

	finding_set(&f->summary, "PTR flood: %.0f reverse lookups per second (%.0f%% of all queries) for %" PRIu64 " s%s%s; %.1f%% failed",
		    (double)ptr / (double)secs, 100.0 * (double)ptr / (double)all, secs,
		    s->ptr_v4 ? ", mostly for " : "", s->ptr_v4 ? buf : "", 100.0 * fail);
	finding_set(&f->explanation,
		    "Reverse lookups (PTR queries under in-addr.arpa) were most of the DNS traffic "
		    "for %" PRIu64 " s. Such floods come from batch jobs that turn the addresses in logs "
		    "or flow records into names, one lookup per address, with nothing cached because "
		    "each address is new. They hurt twice: a resolver answers them by asking an "
		    "upstream that is often slow or limited (reverse zones for cloud and CDN ranges "
		    "are served far away, and an AWS VPC resolver takes at most 1,024 packets per "
		    "second per network interface), so its queue of waiting queries fills and "
		    "unrelated lookups wait or fail with SERVFAIL; and every failure is retried by "
		    "the client and by the resolver, multiplying the load (about 7x in the field "
		    "notes). Stripe's hourly Hadoop job did exactly this: Unbound's request list full "
		    "of PTR queries for 104.16.0.0/12, SERVFAIL for a small share of everything else "
		    "for a few minutes every hour.",
		    secs);
	finding_set(&f->fix,
		    "Find the job behind the top clients and make it stop resolving addresses it does "
		    "not need (most log tools have a numeric mode: `-n`), cache the results, or rate "
		    "limit it. Keep reverse lookups off the shared path: forward in-addr.arpa from "
		    "each host's own local resolver straight to the upstream (Stripe's fix), so the "
		    "load spreads over many interfaces, or serve the reverse zones you need locally "
		    "(unbound: local-zone for the networks that matter). Check the rate-limit and "
		    "amplification findings for the upstream side.");
	/* evidence: failures inside the windows first, then plain examples */
	for (k = 0; k < s->nex && f->nev < FINDING_MAX_EVIDENCE; k++)
		if (in_windows(s, w, kept, s->ex[k].ts / NS_PER_SEC))
			finding_evidence_raw(f, s->ex[k].txn_seq, s->ex[k].ts, s->ex[k].q, s->ex[k].r,
					     s->ex[k].what);
	for (k = 0; k < s->nokex && f->nev < 2; k++)
		finding_evidence_raw(f, s->okex[k].txn_seq, s->okex[k].ts, s->okex[k].q, s->okex[k].r,
				     s->okex[k].what);
	tag_windows(s, w, kept);
}

static void destroy(void *st)
{
	struct state *s = st;

	series_free(&s->sec);
	dk_clients_free(&s->clients);
	kmap_free(&s->servers);
	free(s->nets24.v);
	free(s->net16);
	dk_bytes_free(&s->tags.b);
	free(s);
}

const struct detector detector_ptr_flood = {
	.name = "ptr-flood",
	.summary = "PTR queries dominating the rate: rate, share, clients, networks, failures",
	.params = params,
	.init = init,
	.txn = txn,
	.finish = finish,
	.free = destroy,
};
