/*
 * detect-search-walk.c: lookups that walk the resolv.conf search list.
 *
 * A stub resolver given a name with fewer dots than "options ndots:N" (1 by
 * default, 5 in Kubernetes pods) first tries the name with each search
 * domain appended, in order, and asks for the name as it is only when every
 * one of those said NXDOMAIN. With `search default.svc.cluster.local
 * svc.cluster.local cluster.local` and ndots:5, "db.internal" costs eight
 * queries (A and AAAA for three suffixes, then for the bare name) where two
 * would do, and every step adds a round trip. In the KeyDB incident the walk
 * ended in SERVFAIL for the bare name, which set off glibc's serial stall.
 *
 * On the wire a walk is: queries from one client for NAME.SUFFIX answered
 * NXDOMAIN, each step following the previous answer at once, then a query
 * for NAME itself (the suffixed names share NAME as a prefix), or for NAME
 * with a later suffix that exists. We keep each client's recent NXDOMAIN
 * queries in a small ring; a query whose name is a label prefix of some of
 * them ends a walk. Suffixes seen that way are remembered per client, so a
 * walk that ends at a later suffix ("kube-dns.kube-system" found as
 * kube-dns.kube-system.svc.cluster.local) is recognised too, as is one where
 * the later suffix is a parent of the earlier (nested Kubernetes domains).
 *
 * Memory: one record per client (at most 4096; later clients are not
 * looked at) of 40 bytes and, from its first NXDOMAIN answer on, the ring
 * of 32 steps, 24 bytes each (32 before: the answer time is a 32-bit
 * difference from the first send and the seq 32 bits, both kept whole
 * aside for a step where they do not fit), a 16-bit hash of each step's
 * first label and an index of the steps by it, 912 bytes in all (1,152
 * before: 2.3 MB on the bench trace, now 1.8 MB), plus up to 8 learned
 * suffixes (16 bytes each, allocated with the first). Each
 * step holds a reference to its interned name until it is overwritten or
 * used by a walk. The records were 3.9 KB (the unused frame numbers and
 * qtype of each step, and 8 suffixes of 257 bytes inline): 8 MB of the
 * 10.5 MB this detector added on the 2,000 clients of the bench trace, now
 * 2.6 MB, and 2.4 MB for the names the rings hold (26 steps a client).
 *
 * Speed: every query of a client was compared with each of its 32 recent
 * NXDOMAIN names (prefix_of() and later_suffix() on each: 11 % of a run
 * with every detector). Every way a query can end a walk needs its first
 * label to be the step's first label, so a step is looked at only when the
 * hashes of the two first labels agree, and those steps are found with one
 * load from the index.
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
	{ "step_gap_s", 1, "a walk's next step follows the previous NXDOMAIN answer within this" },
	{ "min_walks", 3, "fewer walks than this are only info" },
	{ "warning_share", 0.25, "share of all queries wasted on search-list misses for a warning" },
	{ NULL, 0, NULL },
};

#define RING 32
#define SUFFIXES 8
#define STEP_SEQS 16
#define FL_BUCKETS 16

/*
 * An NXDOMAIN query that may be a step of a walk: 24 bytes. The answer
 * time is a difference from the first send and the sequence number 32
 * bits; a step where either does not fit (an answer 4.3 s or more after
 * the first send) keeps both in the ring's ext array (step_resp(),
 * step_seq()).
 */
struct step {
	struct name *qname; /* a reference we hold; NULL: empty slot */
	ts_t first;
	uint32_t dresp; /* resp - first */
	uint32_t seq;
};

/* a step's answer time and sequence number, when they do not fit */
struct step_ext {
	uint64_t seq;
	ts_t resp;
};

/* a search domain: the tail of a name, from byte off (16 bytes) */
struct suffix {
	struct name *n; /* a reference we hold */
	uint8_t off;
};

/* a client's recent NXDOMAIN queries (912 bytes) */
struct ring {
	/* bit i of by_fl[h % FL_BUCKETS]: live step[i] has flabel() h */
	uint32_t by_fl[FL_BUCKETS];
	uint16_t fl[RING]; /* flabel() of each step's name */
	uint32_t wide;	   /* bit i: step[i]'s answer time and seq are in ext[i] */
	struct step_ext *ext; /* RING of them, allocated with the first wide step */
	struct step step[RING];
};

/* 40 bytes, and the ring once the client has had an NXDOMAIN answer */
struct client {
	uint32_t live; /* bit i: ring step[i] holds a step no walk has used */
	uint32_t wild; /* bit i: step[i]'s first label is not whole (see flabel()) */
	uint8_t next, nsuf;
	struct suffix *suf; /* SUFFIXES of them, allocated with the first */
	/* the walk that ended last, to attach the other query of the pair */
	uint64_t end_hash;
	ts_t end_ts;
	struct ring *r; /* NULL until the first step */
};

struct cnt {
	uint64_t n;
};

enum { END_NOERROR, END_NXDOMAIN, END_FAIL, END_SUFFIX, NEND };

struct state {
	struct detect_ctx *dc;
	struct dk_clients clients; /* addr -> struct client */
	struct kmap names;   /* base name -> wasted queries */
	struct kmap sufs;    /* suffix -> walks that tried it */
	struct kmap servers, cls;
	uint64_t txns, walks, wasted, ends[NEND], end_queries;
	uint32_t max_steps;
	int max_base_labels;
	ts_t first, last, step_gap;
	struct evidence ex[FINDING_MAX_EVIDENCE];
	int nex, nex_fail;
};

static void *init(struct detect_ctx *dc)
{
	struct state *s = xcalloc(1, sizeof(*s));

	s->dc = dc;
	dk_clients_init(&s->clients, dc, sizeof(struct client), 4096);
	kmap_init(&s->names, sizeof(struct cnt), 4096);
	kmap_init(&s->sufs, sizeof(struct cnt), 64);
	kmap_init(&s->servers, sizeof(struct cnt), 1024);
	kmap_init(&s->cls, sizeof(struct cnt), 4096);
	s->step_gap = (ts_t)(detect_param(dc, "search-walk", "step_gap_s") * NS_PER_SEC);
	return s;
}

static size_t akey(const struct addr *a, uint8_t *k)
{
	k[0] = a->family;
	memcpy(k + 1, a->a, 16);
	return a->family == 4 ? 5 : 17;
}

static void count_key(struct kmap *m, const void *k, size_t klen)
{
	((struct cnt *)kmap_get(m, k, klen, NULL))->n++;
}

/* Offset of each label in a wire name; returns the number of labels. */
static int label_offsets(const uint8_t *w, uint8_t len, uint8_t *off)
{
	int n = 0;
	unsigned p = 0;

	while (p < len && w[p] && n < 128) {
		off[n++] = (uint8_t)p;
		p += 1u + w[p];
	}
	return n;
}

/* Is base (a wire name) a label prefix of full, and full longer? Then the
 * suffix starts at *soff in full. */
static int prefix_of(const struct name *base, const struct name *full, uint8_t *soff)
{
	uint8_t off[128];
	int n, i;

	if (full->len <= base->len || memcmp(full->wire, base->wire, base->len - 1u))
		return 0;
	n = label_offsets(full->wire, full->len, off);
	for (i = 0; i < n; i++)
		if (off[i] == base->len - 1u) {
			*soff = off[i];
			return 1;
		}
	return 0;
}

/* Length in bytes of the leading labels q and n have in common. */
static uint8_t common_prefix(const struct name *q, const struct name *n)
{
	unsigned p = 0;

	while (p < q->len && p < n->len && q->wire[p] && p + 1u + q->wire[p] <= q->len &&
	       p + 1u + q->wire[p] <= n->len && !memcmp(q->wire + p, n->wire + p, 1u + q->wire[p]))
		p += 1u + q->wire[p];
	return (uint8_t)p;
}

static int known_suffix(const struct client *c, const uint8_t *w, uint8_t len)
{
	int i;

	for (i = 0; i < c->nsuf; i++) {
		const struct suffix *x = &c->suf[i];

		if (x->n->len - x->off == len && !memcmp(x->n->wire + x->off, w, len))
			return 1;
	}
	return 0;
}

/* the suffix of n from byte off */
static void learn_suffix(struct client *c, struct name *n, uint8_t off)
{
	if (known_suffix(c, n->wire + off, (uint8_t)(n->len - off)) || c->nsuf >= SUFFIXES)
		return;
	if (!c->suf)
		c->suf = xcalloc(SUFFIXES, sizeof(*c->suf));
	c->suf[c->nsuf].n = name_ref(n);
	c->suf[c->nsuf].off = off;
	c->nsuf++;
}

/*
 * A hash of the first label of n, when that is a whole label with more of
 * the name after it; 0 otherwise (the root, a malformed name), and then
 * *h is not set. If query q can end a walk with step n (prefix_of() or
 * later_suffix()), both first labels are whole and equal: the step names
 * extend q's first labels.
 */
static int flabel(const struct name *n, uint16_t *h)
{
	unsigned l = n->wire[0];

	if (n->len < 2 || !l || 1u + l > n->len - 1u)
		return 0;
	*h = (uint16_t)hash_bytes(n->wire, 1u + l, 0);
	return 1;
}

/* step[i] is no longer a step a walk can use */
static void step_dead(struct client *c, unsigned i)
{
	c->live &= ~(1u << i);
	c->r->by_fl[c->r->fl[i] % FL_BUCKETS] &= ~(1u << i);
}

/*
 * Does query name q end a walk of which step name n was a step, with q
 * not itself NXDOMAIN: q = P.S and n = P.M.S (nested domains), or q = P.S1
 * and n = P.S2 with S1, S2 search domains already seen for this client.
 */
static int later_suffix(const struct client *c, const struct name *q, const struct name *n)
{
	uint8_t oq[128], on[128];
	int nq = label_offsets(q->wire, q->len, oq), nn = label_offsets(n->wire, n->len, on);
	int p, sq, sn;

	if (nq < 3 || nn <= nq)
		return 0;
	/* nested: the last k labels equal, the first p labels equal, p + k = nq */
	for (p = 1; p <= nq - 2; p++) {
		uint8_t qs = oq[p], ns = on[nn - (nq - p)];

		if (!memcmp(q->wire, n->wire, oq[p]) && q->len - qs == n->len - ns &&
		    !memcmp(q->wire + qs, n->wire + ns, q->len - qs) && on[p] == oq[p])
			return 1;
	}
	/* two known search domains after one common prefix */
	for (sq = 1; sq < nq; sq++)
		if (known_suffix(c, q->wire + oq[sq], (uint8_t)(q->len - oq[sq])))
			break;
	if (sq >= nq)
		return 0;
	for (sn = 1; sn < nn; sn++)
		if (known_suffix(c, n->wire + on[sn], (uint8_t)(n->len - on[sn])))
			break;
	return sn < nn && oq[sq] == on[sn] && !memcmp(q->wire, n->wire, oq[sq]);
}

static ts_t step_resp(const struct ring *r, const struct step *x)
{
	unsigned i = (unsigned)(x - r->step);

	return r->wide & (1u << i) ? r->ext[i].resp : x->first + (ts_t)x->dresp;
}

static uint64_t step_seq(const struct ring *r, const struct step *x)
{
	unsigned i = (unsigned)(x - r->step);

	return r->wide & (1u << i) ? r->ext[i].seq : x->seq;
}

static void step_release(struct ring *r, struct step *st)
{
	if (st->qname)
		name_unref(st->qname);
	memset(st, 0, sizeof(*st));
	r->wide &= ~(1u << (st - r->step));
}

/* t into the ring, over the oldest step; fl, wild: its flabel() */
static void push_step(struct client *c, const struct txn *t, uint16_t fl, int wild)
{
	unsigned i = c->next;
	struct step *st;

	if (!c->r)
		c->r = xcalloc(1, sizeof(*c->r));
	st = &c->r->step[i];
	c->next = (uint8_t)((i + 1) % RING);
	step_dead(c, i);
	step_release(c->r, st);
	st->qname = name_ref(t->qname);
	st->first = t->first_ts;
	if (t->resp_ts >= t->first_ts && t->resp_ts - t->first_ts <= UINT32_MAX &&
	    t->seq <= UINT32_MAX) {
		st->dresp = (uint32_t)(t->resp_ts - t->first_ts);
		st->seq = (uint32_t)t->seq;
	} else {
		if (!c->r->ext)
			c->r->ext = xcalloc(RING, sizeof(*c->r->ext));
		c->r->ext[i].seq = t->seq;
		c->r->ext[i].resp = t->resp_ts;
		c->r->wide |= 1u << i;
	}
	c->r->fl[i] = fl;
	c->r->by_fl[fl % FL_BUCKETS] |= 1u << i;
	c->live |= 1u << i;
	c->wild = (c->wild & ~(1u << i)) | (uint32_t)!!wild << i;
}

static int cmp_step_desc(const void *a, const void *b)
{
	const struct step *x = *(const struct step *const *)a, *y = *(const struct step *const *)b;

	return x->first > y->first ? -1 : x->first < y->first;
}

static void add_example(struct state *s, const struct txn *t, int bare, uint32_t nwasted,
			int fail)
{
	struct evidence *e;
	char what[160];

	/* keep room for walks that ended in failure: they matter most */
	if (s->nex >= FINDING_MAX_EVIDENCE || (!fail && s->nex >= FINDING_MAX_EVIDENCE / 2))
		return;
	txn_describe(t, what, sizeof(what));
	e = &s->ex[s->nex++];
	memset(e, 0, sizeof(*e));
	e->txn_seq = t->seq;
	e->ts = t->first_ts;
	e->q = t->qframe;
	if (t->status == TXN_ANSWERED)
		e->r = t->rframe;
	{
		struct sbuf sb = SBUF_INIT;

		sbuf_addf(&sb, "%s, %s after %u NXDOMAIN%s", what,
			  bare ? "the name itself" : "found at a later search domain", nwasted,
			  bare ? " with search domains" : "");
		snprintf(e->what, sizeof(e->what), "%s", sb.buf);
		sbuf_release(&sb);
	}
	s->nex_fail += fail;
}

static void txn(void *st, const struct txn *t)
{
	struct state *s = st;
	struct client *c;
	struct step *cand[RING];
	uint8_t k[17], soff = 0;
	int n = 0, ovf, nx, bare = 0, whole;
	uint32_t look;
	uint16_t fl = 0;
	ts_t start;

	if (t->status != TXN_ANSWERED && t->status != TXN_UNANSWERED)
		return;
	s->txns++;
	if (t->qclass != 1)
		return;
	c = dk_client(&s->clients, s->dc, &t->client, &ovf);
	if (ovf)
		return;
	nx = t->status == TXN_ANSWERED && TXN_RCODE(t) == RCODE_NXDOMAIN;

	/* the other query of a walk's last step (AAAA after A, re-sends) */
	if (c->end_hash == t->qname->hash && t->first_ts - c->end_ts <= s->step_gap &&
	    t->first_ts >= c->end_ts - s->step_gap) {
		detect_tag(s->dc, "search-walk", t->seq);
		s->end_queries++;
		return;
	}
	/* the steps this query could end: unused NXDOMAIN queries whose name
	 * extends this one (the bare name), or, for an answer other than
	 * NXDOMAIN, the same prefix with an earlier search domain; only those
	 * with this first label can (a query without a whole first label
	 * looks at them all) */
	whole = flabel(t->qname, &fl);
	look = c->live;
	if (look && whole)
		look &= c->r->by_fl[fl % FL_BUCKETS] | c->wild;
	while (look) {
		unsigned i = (unsigned)__builtin_ctz(look);
		struct step *x = &c->r->step[i];
		uint8_t o;

		look &= look - 1;
		if (whole && c->r->fl[i] != fl && !(c->wild & (1u << i)))
			continue;
		if (step_resp(c->r, x) > t->first_ts || x->qname == t->qname)
			continue;
		if (prefix_of(t->qname, x->qname, &o)) {
			cand[n++] = x;
			bare = 1;
			soff = o;
		} else if (!nx && later_suffix(c, t->qname, x->qname)) {
			cand[n++] = x;
		}
	}
	if (n) {
		uint32_t used = 0, names = 0;
		uint64_t last_hash = 0;
		int j, fail;

		/* follow the chain back from this query: each step must have
		 * started right after the previous step's answer */
		qsort(cand, (size_t)n, sizeof(*cand), cmp_step_desc);
		start = t->first_ts;
		for (j = 0; j < n; j++) {
			struct step *x = cand[j];
			uint8_t o;

			if (start - step_resp(c->r, x) > s->step_gap)
				break;
			if (x->first < start)
				start = x->first;
			step_dead(c, (unsigned)(x - c->r->step));
			used++;
			if (x->qname->hash != last_hash) {
				names++;
				last_hash = x->qname->hash;
			}
			if (bare && prefix_of(t->qname, x->qname, &o)) {
				learn_suffix(c, x->qname, o);
				count_key(&s->sufs, x->qname->wire + o, x->qname->len - o);
			}
			detect_tag(s->dc, "search-walk", step_seq(c->r, x));
			if (!s->first || x->first < s->first)
				s->first = x->first;
		}
		if (used) {
			uint8_t base[DNS_MAXNAME + 1], base_len;
			int labels;

			/* the name the user asked for: this one, or the part in
			 * front of the search domains */
			base_len = bare ? t->qname->len : common_prefix(t->qname, cand[0]->qname);
			memcpy(base, t->qname->wire, base_len);
			if (!bare)
				base[base_len++] = 0;
			labels = name_labels(base, base_len);
			(void)soff;
			s->walks++;
			s->wasted += used;
			if (t->first_ts > s->last)
				s->last = t->first_ts;
			/* a step is A+AAAA: distinct names are the search domains tried */
			if (names > s->max_steps)
				s->max_steps = names;
			if (labels > s->max_base_labels)
				s->max_base_labels = labels;
			((struct cnt *)kmap_get(&s->names, base, base_len, NULL))->n += used;
			fail = t->status != TXN_ANSWERED ||
			       (TXN_RCODE(t) != RCODE_NOERROR && TXN_RCODE(t) != RCODE_NXDOMAIN);
			s->ends[!bare ? END_SUFFIX : fail ? END_FAIL : nx ? END_NXDOMAIN : END_NOERROR]++;
			{
				uint8_t sk[17];

				count_key(&s->servers, sk, akey(&t->server, sk));
				count_key(&s->cls, k, akey(&t->client, k));
			}
			detect_tag(s->dc, "search-walk", t->seq);
			s->end_queries++;
			c->end_hash = t->qname->hash;
			c->end_ts = t->first_ts;
			add_example(s, t, bare, used, fail);
			/* a used step is never looked at again */
			for (j = 0; j < (int)used; j++)
				step_release(c->r, cand[j]);
			return;
		}
	}
	if (nx)
		push_step(c, t, fl, !whole);
}

static int cmp_cnt(const void *x, const void *y)
{
	const struct kmap_ent *a = *(const struct kmap_ent *const *)x;
	const struct kmap_ent *b = *(const struct kmap_ent *const *)y;
	const struct cnt *ca = kmap_val(a), *cb = kmap_val(b);

	if (ca->n != cb->n)
		return ca->n > cb->n ? -1 : 1;
	if (a->klen != b->klen)
		return a->klen > b->klen ? -1 : 1; /* longer suffix first: search order */
	return memcmp(a->key, b->key, a->klen);
}

static void key_text(const struct kmap_ent *e, int is_name, struct sbuf *sb)
{
	if (is_name) {
		name_to_text(e->key, (uint8_t)e->klen, sb);
	} else {
		struct addr a;
		char buf[64];

		memset(&a, 0, sizeof(a));
		a.family = e->key[0];
		memcpy(a.a, e->key + 1, e->klen - 1u);
		sbuf_addstr(sb, addr_str(&a, buf, sizeof(buf)));
	}
}

static void list(struct kmap *m, int is_name, char **arr, int *narr, struct sbuf *line, int nline)
{
	struct kmap_ent **e = kmap_entries(m);
	size_t i, shown = 0;

	qsort(e, m->count, sizeof(*e), cmp_cnt);
	for (i = 0; i < m->count; i++) {
		struct sbuf sb = SBUF_INIT;

		key_text(e[i], is_name, &sb);
		if (arr)
			finding_affected(arr, narr, sb.buf);
		if (line && (int)shown < nline)
			sbuf_addf(line, "%s%s", shown ? " " : "", sb.buf);
		shown++;
		sbuf_release(&sb);
	}
	free(e);
}

static void finish(void *st, struct findings *out)
{
	struct state *s = st;
	struct detect_ctx *dc = s->dc;
	double share = s->txns ? (double)s->wasted / (double)s->txns : 0;
	struct sbuf sufs = SBUF_INIT;
	struct finding *f;
	int i, sev;

	if (!s->walks)
		return;
	sev = s->walks >= (uint64_t)detect_param(dc, "search-walk", "min_walks") &&
			      (share >= detect_param(dc, "search-walk", "warning_share") || s->ends[END_FAIL])
		      ? SEV_WARNING
		      : SEV_INFO;
	f = finding_new(out, "search-walk", sev);
	f->count = s->walks;
	f->first = s->first;
	f->last = s->last;
	finding_set(&f->summary,
		    "%" PRIu64 " lookups walked the search list: %" PRIu64 " of %" PRIu64
		    " queries (%.1f%%) were NXDOMAIN for a name with a search domain appended",
		    s->walks, s->wasted, s->txns, 100.0 * share);
	sbuf_addf(&f->details, "    ended     %" PRIu64 " at the name itself (NOERROR), %" PRIu64
		  " at the name itself with NXDOMAIN, %" PRIu64 " with an error or no answer, %" PRIu64
		  " at a later search domain\n",
		  s->ends[END_NOERROR], s->ends[END_NXDOMAIN], s->ends[END_FAIL], s->ends[END_SUFFIX]);
	list(&s->sufs, 1, NULL, NULL, &sufs, SUFFIXES);
	if (sufs.len)
		sbuf_addf(&f->details, "    search    domains tried: %s\n", sufs.buf);
	sbuf_addf(&f->details, "    steps     up to %u search domains tried before the answer", s->max_steps);
	if (s->max_base_labels)
		sbuf_addf(&f->details, "; names with %d dot%s were walked, so ndots is at least %d",
			  s->max_base_labels - 1, s->max_base_labels == 2 ? "" : "s", s->max_base_labels);
	sbuf_addch(&f->details, '\n');
	list(&s->names, 1, f->names, &f->nnames, NULL, 0);
	list(&s->cls, 0, f->clients, &f->nclients, NULL, 0);
	list(&s->servers, 0, f->servers, &f->nservers, NULL, 0);
	sbuf_addf(&f->json, "\"walks\": %" PRIu64 ", \"wasted\": %" PRIu64 ", \"queries\": %" PRIu64
		  ", \"share\": %.6f, \"ended_noerror\": %" PRIu64 ", \"ended_nxdomain\": %" PRIu64
		  ", \"ended_failed\": %" PRIu64 ", \"ended_at_suffix\": %" PRIu64
		  ", \"max_steps\": %u, \"ndots_at_least\": %d, \"search\": [",
		  s->walks, s->wasted, s->txns, share, s->ends[END_NOERROR], s->ends[END_NXDOMAIN],
		  s->ends[END_FAIL], s->ends[END_SUFFIX], s->max_steps, s->max_base_labels);
	{
		char *p = sufs.buf, *sp;
		int first = 1;

		while (p && *p) {
			sp = strchr(p, ' ');
			if (!first)
				sbuf_addstr(&f->json, ", ");
			sbuf_add_json_strn(&f->json, p, sp ? (size_t)(sp - p) : strlen(p));
			first = 0;
			p = sp ? sp + 1 : NULL;
		}
	}
	sbuf_addch(&f->json, ']');
	sbuf_release(&sufs);
	finding_set(&f->explanation,
		    "A name with fewer dots than resolv.conf's `options ndots:N` (1 by default, 5 in "
		    "Kubernetes pods) is first tried with each `search` domain appended, in order; "
		    "the name itself is asked only after every one of those answered NXDOMAIN. "
		    "Each try is a full A+AAAA exchange, so with three search domains and ndots:5 a "
		    "lookup of \"db.internal\" costs 8 queries instead of 2 and waits for 4 round "
		    "trips: every NXDOMAIN above was a wasted query and a wasted round trip, and "
		    "the resolver carries that load for every client. When the name itself then "
		    "fails (SERVFAIL, as for a dead Kubernetes peer), the whole walk is repeated on "
		    "every retry, and with glibc's serial mode the SERVFAIL can stall the thread "
		    "(see serial-fallback).");
	finding_set(&f->fix,
		    "Use fully qualified names with a trailing dot (\"db.internal.\", "
		    "\"keydb-0.keydb.default.svc.cluster.local.\"): no search list is tried. Or lower "
		    "ndots for the workload (Kubernetes: dnsConfig options ndots: \"1\" or \"2\") so "
		    "names with dots are asked as they are first, and keep the search list short. A "
		    "node-local cache makes each miss cheaper but does not remove it.");
	for (i = 0; i < s->nex; i++)
		finding_evidence_raw(f, s->ex[i].txn_seq, s->ex[i].ts, s->ex[i].q, s->ex[i].r,
				     s->ex[i].what);
}

static void destroy(void *st)
{
	struct state *s = st;
	struct kmap_ent **e = kmap_entries(&s->clients.map);
	size_t i;
	int k;

	for (i = 0; i < s->clients.map.count; i++) {
		struct client *c = kmap_val(e[i]);

		for (k = 0; c->r && k < RING; k++)
			step_release(c->r, &c->r->step[k]);
		if (c->r)
			free(c->r->ext);
		free(c->r);
		for (k = 0; k < c->nsuf; k++)
			name_unref(c->suf[k].n);
		free(c->suf);
	}
	free(e);
	dk_clients_free(&s->clients);
	kmap_free(&s->names);
	kmap_free(&s->sufs);
	kmap_free(&s->servers);
	kmap_free(&s->cls);
	free(s);
}

/* Look-ahead (detect.h): the client's ring, whose index of first labels
 * txn() reads for every query (8 % of a run with every detector was
 * txn() waiting for it). */
static void prefetch(void *st, const struct txn *t, uint32_t client)
{
	struct state *s = st;
	const struct client *c = dk_byid_peek(&s->clients.ix, client);

	(void)t;
	if (c && c->r) {
		__builtin_prefetch(c->r->by_fl);
		__builtin_prefetch(c->r->fl);
	}
}

const struct detector detector_search_walk = {
	.name = "search-walk",
	.summary = "lookups walking the resolv.conf search list: wasted NXDOMAIN queries and their share",
	.params = params,
	.init = init,
	.txn = txn,
	.finish = finish,
	.free = destroy,
	.prefetch = prefetch,
};
