/*
 * decode-tcp.c: DNS over TCP, stream reassembly (RFC 1035 4.2.2, RFC 7766).
 *
 * Each direction of a connection is a stream. Bytes are delivered in
 * sequence order; out-of-order segments wait in a small per-stream queue.
 * Every message is a 2-byte length and that many bytes: several may share a
 * segment, one may span several. Things a capture really contains are
 * counted, never fatal:
 *   - a stream picked up without its SYN (capture started mid-connection):
 *     the first segment must look like the start of a message, otherwise
 *     it is skipped until one does (DP_TCP_NOSYN, DP_TCP_DESYNC);
 *   - a hole (bytes never captured): the partial message is dropped and we
 *     resynchronise on the next segment that starts a plausible message
 *     (DP_TCP_HOLE);
 *   - the stream table is full or a stream idles past cfg.tcp_timeout with
 *     data pending (DP_TCP_EVICTED).
 * Memory: at most cfg.tcp_max streams, each holding at most one message
 * (65537 bytes) in order plus TCP_MAX_OOO_BYTES out of order, and all of
 * them together at most cfg.tcp_max_bytes: beyond that the least recently
 * active streams are dropped (DP_TCP_EVICTED). Without that budget, 8192
 * connections that each announce a 64 KiB message and never finish it
 * held 530 MB. A stream's buffer is freed when it empties.
 */
#include "config.h"
#include "decode.h"
#include "extract.h"

#include <stdlib.h>
#include <string.h>

#define TCP_MAX_OOO_SEGS 16
#define TCP_MAX_OOO_BYTES (64 * 1024)
#define TCP_MAX_MSG (65535 + 2)

/* Where bytes came from: a message carries the frame that completed it. */
struct origin {
	ts_t ts;
	uint64_t frame;
	uint16_t file;
	int32_t ifindex;
};

struct seg {
	struct seg *next; /* sorted by seq */
	uint32_t seq, len;
	struct origin from;
	uint8_t data[];
};

struct stream {
	struct stream *hnext, *older, *newer;
	uint64_t hash;
	struct addr src, dst;
	uint16_t sport, dport;
	uint8_t have_seq, resync;
	uint32_t next_seq;
	uint8_t *buf; /* in-order bytes not yet a whole message */
	uint32_t len, alloc;
	struct seg *ooo;
	uint32_t nooo, ooo_bytes;
	ts_t last_ts;
};

struct tcp_table {
	struct stream **buckets;
	uint32_t nbuckets, count, max;
	uint64_t bytes; /* buffered by all streams (buffers, queued segments) */
	struct stream *oldest, *newest; /* by last activity */
};

struct tcp_table *tcp_new(uint32_t max)
{
	struct tcp_table *tt = xcalloc(1, sizeof(*tt));

	tt->max = max ? max : 1;
	tt->nbuckets = 256;
	while (tt->nbuckets < tt->max && tt->nbuckets < (1U << 22))
		tt->nbuckets <<= 1;
	tt->buckets = xcalloc(tt->nbuckets, sizeof(*tt->buckets));
	return tt;
}

static void list_unlink(struct tcp_table *tt, struct stream *s)
{
	if (s->older)
		s->older->newer = s->newer;
	else
		tt->oldest = s->newer;
	if (s->newer)
		s->newer->older = s->older;
	else
		tt->newest = s->older;
	s->older = s->newer = NULL;
}

static void list_append(struct tcp_table *tt, struct stream *s)
{
	s->older = tt->newest;
	s->newer = NULL;
	if (tt->newest)
		tt->newest->newer = s;
	else
		tt->oldest = s;
	tt->newest = s;
}

#define SEG_BYTES(n) (sizeof(struct seg) + (n))

static void ooo_clear(struct tcp_table *tt, struct stream *s)
{
	while (s->ooo) {
		struct seg *g = s->ooo;

		s->ooo = g->next;
		tt->bytes -= SEG_BYTES(g->len);
		free(g);
	}
	s->nooo = s->ooo_bytes = 0;
}

static void buf_free(struct tcp_table *tt, struct stream *s)
{
	tt->bytes -= s->alloc;
	free(s->buf);
	s->buf = NULL;
	s->alloc = 0;
}

static void stream_free(struct tcp_table *tt, struct stream *s)
{
	struct stream **pp = &tt->buckets[s->hash & (tt->nbuckets - 1)];

	while (*pp && *pp != s)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = s->hnext;
	list_unlink(tt, s);
	ooo_clear(tt, s);
	buf_free(tt, s);
	free(s);
	tt->count--;
}

void tcp_free(struct tcp_table *tt)
{
	if (!tt)
		return;
	while (tt->oldest)
		stream_free(tt, tt->oldest);
	if (tt->bytes)
		BUG("TCP buffer accounting is off by %llu bytes", (unsigned long long)tt->bytes);
	free(tt->buckets);
	free(tt);
}

/* A stream going away with bytes that never made a message. */
/* Declare the gap before the first queued segment a hole and move on. */
static void skip_hole(struct decoder *d, struct stream *s)
{
	d->st.problems[DP_TCP_HOLE]++;
	s->len = 0;
	s->resync = 1;
	s->next_seq = s->ooo->seq;
}

static void drain_ooo(struct decoder *d, struct stream *s, const struct origin *trigger);

/* A stream going away: what waits behind a hole is still delivered, then
 * bytes that never made a whole message are counted under why. */
static void stream_drop(struct decoder *d, struct stream *s, enum decode_problem why)
{
	while (s->ooo) {
		skip_hole(d, s);
		drain_ooo(d, s, NULL);
	}
	if (s->len)
		d->st.problems[why]++;
	stream_free(d->tcp, s);
}

void tcp_expire(struct decoder *d, ts_t now, int all)
{
	struct tcp_table *tt = d->tcp;

	while (tt->oldest && (all || tt->oldest->last_ts + d->cfg.tcp_timeout < now)) {
		struct stream *s = tt->oldest;

		stream_drop(d, s, DP_TCP_EVICTED);
	}
}

/* Could p (n bytes) be the start of a length-prefixed DNS message? */
static int plausible_start(const uint8_t *p, uint32_t n)
{
	uint16_t mlen;

	if (n < 2)
		return 0;
	mlen = be16(p);
	if (mlen < 12)
		return 0;
	if (n >= 2 + 12) {
		uint16_t qd = be16(p + 2 + 4);
		uint16_t opcode = (p[2 + 2] >> 3) & 0xf;

		/* one question, a standard/notify/update opcode */
		if (qd > 1 || (opcode != 0 && opcode != 4 && opcode != 5 && opcode != 2))
			return 0;
	}
	return 1;
}

static void emit(struct decoder *d, struct stream *s, const uint8_t *p, uint32_t n,
		 const struct origin *li)
{
	struct dnsmsg m;

	m.ts = li->ts;
	m.ifindex = li->ifindex;
	m.file = li->file;
	m.frame = li->frame;
	m.proto = 6;
	m.src = s->src;
	m.dst = s->dst;
	m.sport = s->sport;
	m.dport = s->dport;
	d->st.dns_tcp++;
	decode_dns(d, &m, p, n, 0);
}

/* Append in-order bytes and emit every complete message. */
static void deliver(struct decoder *d, struct stream *s, const uint8_t *p, uint32_t n,
		    const struct origin *li)
{
	uint32_t used = 0;

	/* fast path: whole messages straight from the segment, no copy */
	if (!s->len) {
		while (n - used >= 2) {
			uint32_t mlen = be16(p + used);

			if (s->resync) {
				if (!plausible_start(p + used, n - used)) {
					d->st.problems[DP_TCP_DESYNC]++;
					return; /* skip this segment entirely */
				}
				s->resync = 0;
			}
			if (mlen == 0) {
				d->st.problems[DP_TCP_DESYNC]++;
				s->resync = 1;
				return;
			}
			if (n - used < 2 + mlen)
				break;
			emit(d, s, p + used + 2, mlen, li);
			used += 2 + mlen;
		}
		p += used;
		n -= used;
		if (!n)
			return;
	}
	if (s->len + n > TCP_MAX_MSG) /* cannot happen with a valid prefix */
		n = TCP_MAX_MSG - s->len;
	if (s->len + n > s->alloc) {
		uint32_t na = s->alloc ? s->alloc : 512;

		while (na < s->len + n)
			na *= 2;
		na = MIN(na, TCP_MAX_MSG);
		s->buf = xrealloc(s->buf, na);
		d->tcp->bytes += na - s->alloc;
		s->alloc = na;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	used = 0;
	while (s->len - used >= 2) {
		uint32_t mlen = be16(s->buf + used);

		if (s->resync) {
			if (!plausible_start(s->buf + used, s->len - used)) {
				d->st.problems[DP_TCP_DESYNC]++;
				used = s->len;
				break;
			}
			s->resync = 0;
		}
		if (mlen == 0) {
			d->st.problems[DP_TCP_DESYNC]++;
			s->resync = 1;
			used = s->len;
			break;
		}
		if (s->len - used < 2 + mlen)
			break;
		emit(d, s, s->buf + used + 2, mlen, li);
		used += 2 + mlen;
	}
	memmove(s->buf, s->buf + used, s->len - used);
	s->len -= used;
	if (!s->len && s->alloc > 4096) /* a big message went by: do not keep its buffer */
		buf_free(d->tcp, s);
}

/*
 * Deliver queued segments that are now in order. A message completed here
 * is dated by the later of its segment and the packet that filled the gap
 * (trigger); after a hole is skipped there is no trigger: the data was all
 * there when its own segment arrived.
 */
static void drain_ooo(struct decoder *d, struct stream *s, const struct origin *trigger)
{
	while (s->ooo) {
		struct seg *g = s->ooo;
		int32_t delta = (int32_t)(g->seq - s->next_seq);

		if (delta > 0)
			return;
		s->ooo = g->next;
		s->nooo--;
		s->ooo_bytes -= g->len;
		d->tcp->bytes -= SEG_BYTES(g->len);
		if (-(uint32_t)delta < g->len) {
			uint32_t skip = -(uint32_t)delta;

			const struct origin *o = &g->from;

			if (trigger && (trigger->ts > o->ts ||
					(trigger->ts == o->ts && trigger->frame > o->frame)))
				o = trigger;
			s->next_seq += g->len - skip;
			deliver(d, s, g->data + skip, g->len - skip, o);
		}
		free(g);
	}
}

static void queue_ooo(struct decoder *d, struct stream *s, uint32_t seq, const uint8_t *p,
		      uint32_t n, const struct origin *li)
{
	struct seg **pp = &s->ooo, *g;

	while (*pp && (int32_t)((*pp)->seq - seq) < 0)
		pp = &(*pp)->next;
	if (*pp && (*pp)->seq == seq && (*pp)->len >= n)
		return; /* retransmission of a queued segment */
	g = xmalloc(sizeof(*g) + n);
	g->seq = seq;
	g->len = n;
	g->from = *li;
	memcpy(g->data, p, n);
	g->next = *pp;
	*pp = g;
	s->nooo++;
	s->ooo_bytes += n;
	d->tcp->bytes += SEG_BYTES(n);
	/* too much waiting for a segment that never came: it is a hole */
	while (s->ooo && (s->nooo > TCP_MAX_OOO_SEGS || s->ooo_bytes > TCP_MAX_OOO_BYTES)) {
		skip_hole(d, s);
		drain_ooo(d, s, NULL);
	}
}

static struct stream *stream_get(struct decoder *d, const struct l4info *li, uint16_t sport,
				 uint16_t dport, int create)
{
	struct tcp_table *tt = d->tcp;
	uint64_t h = hash_mix(addr_hash(&li->src, sport) ^ (addr_hash(&li->dst, dport) * 31));
	struct stream *s;

	for (s = tt->buckets[h & (tt->nbuckets - 1)]; s; s = s->hnext)
		if (s->hash == h && s->sport == sport && s->dport == dport &&
		    addr_eq(&s->src, &li->src) && addr_eq(&s->dst, &li->dst))
			return s;
	if (!create)
		return NULL;
	if (tt->count >= tt->max) {
		d->st.tcp_evictions++;
		stream_drop(d, tt->oldest, DP_TCP_EVICTED);
	}
	s = xcalloc(1, sizeof(*s));
	s->hash = h;
	s->src = li->src;
	s->dst = li->dst;
	s->sport = sport;
	s->dport = dport;
	s->hnext = tt->buckets[h & (tt->nbuckets - 1)];
	tt->buckets[h & (tt->nbuckets - 1)] = s;
	list_append(tt, s);
	tt->count++;
	d->st.tcp_streams++;
	return s;
}

/*
 * The peer acknowledged bytes of the reverse stream that we never saw: they
 * arrived but were not captured, and will never be retransmitted. Skip the
 * hole now rather than at the end of the stream (as tshark does).
 */
static void acked_unseen(struct decoder *d, const struct l4info *li, uint16_t sport,
			 uint16_t dport, uint32_t ack)
{
	struct l4info rev = *li;
	struct stream *r;

	rev.src = li->dst;
	rev.dst = li->src;
	r = stream_get(d, &rev, dport, sport, 0);
	if (!r || !r->have_seq || !r->ooo || (int32_t)(ack - r->next_seq) <= 0)
		return;
	while (r->ooo && (int32_t)(ack - r->next_seq) > 0 && (int32_t)(r->ooo->seq - r->next_seq) > 0) {
		skip_hole(d, r);
		drain_ooo(d, r, NULL);
	}
}

void tcp_segment(struct decoder *d, struct l4info *li, const uint8_t *p, uint32_t n)
{
	uint16_t sport, dport;
	uint32_t seq, doff;
	uint8_t flags;
	struct stream *s;
	const uint8_t *data;
	uint32_t dlen;
	struct origin from;

	if (n < 20) {
		d->st.problems[li->truncated ? DP_TRUNCATED : DP_BAD_TCP]++;
		return;
	}
	sport = be16(p);
	dport = be16(p + 2);
	if (!decode_is_port(&d->cfg, sport) && !decode_is_port(&d->cfg, dport)) {
		d->st.not_dns++;
		return;
	}
	seq = be32(p + 4);
	doff = (uint32_t)(p[12] >> 4) * 4;
	flags = p[13];
	if (doff < 20 || doff > n) {
		d->st.problems[doff > n && li->truncated ? DP_TRUNCATED : DP_BAD_TCP]++;
		return;
	}
	from.ts = li->pkt->ts;
	from.frame = li->pkt->frame;
	from.file = li->pkt->file;
	from.ifindex = li->pkt->ifindex;
	if (flags & 0x10)
		acked_unseen(d, li, sport, dport, be32(p + 8));
	data = p + doff;
	dlen = n - doff;
	if (li->truncated && dlen) {
		/* bytes missing from the middle of a stream: a hole we can see */
		d->st.problems[DP_TRUNCATED]++;
		s = stream_get(d, li, sport, dport, 0);
		if (s) {
			s->len = 0;
			s->resync = 1;
			s->have_seq = 0;
		}
		return;
	}
	s = stream_get(d, li, sport, dport, (flags & 0x02) || dlen > 0);
	if (!s)
		return; /* bare ACK/FIN of a stream we do not know */
	s->last_ts = li->pkt->ts;
	list_unlink(d->tcp, s);
	list_append(d->tcp, s);
	if (flags & 0x02) { /* SYN */
		if (s->len || s->nooo)
			d->st.problems[DP_TCP_EVICTED]++;
		ooo_clear(d->tcp, s);
		s->len = 0;
		s->have_seq = 1;
		s->resync = 0;
		s->next_seq = seq + 1;
		seq++;
	} else if (!s->have_seq && dlen) {
		d->st.problems[DP_TCP_NOSYN]++;
		s->have_seq = 1;
		s->resync = 1; /* the first segment may start mid-message */
		s->next_seq = seq;
	}
	if (dlen) {
		int32_t delta = (int32_t)(seq - s->next_seq);

		if (delta == 0) {
			s->next_seq += dlen;
			deliver(d, s, data, dlen, &from);
			drain_ooo(d, s, &from);
		} else if (delta < 0) {
			uint32_t skip = -(uint32_t)delta;

			if (skip < dlen) { /* partly new */
				s->next_seq += dlen - skip;
				deliver(d, s, data + skip, dlen - skip, &from);
				drain_ooo(d, s, &from);
			}
			/* else a retransmission: already delivered */
		} else {
			queue_ooo(d, s, seq, data, dlen, &from);
		}
	}
	/* over the byte budget: drop the least recently active others */
	while (d->tcp->bytes > d->cfg.tcp_max_bytes && d->tcp->oldest && d->tcp->oldest != s) {
		d->st.tcp_evictions++;
		stream_drop(d, d->tcp->oldest, DP_TCP_EVICTED);
	}
	if (flags & 0x05) /* FIN or RST; a message still incomplete was cut short */
		stream_drop(d, s, DP_TCP_HOLE);
}
