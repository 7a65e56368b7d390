/*
 * decode-frag.c: IPv4 and IPv6 fragment reassembly, bounded.
 *
 * Large DNS answers (DNSSEC, big TXT, EDNS buffers over the path MTU) arrive
 * fragmented, and only the first fragment carries the UDP port: a capture
 * filter of "port 53" alone loses the rest. We rebuild datagrams keyed by
 * (src, dst, id, proto) with at most cfg.frag_max in flight, each at most
 * 65535 bytes, and forget them after cfg.frag_timeout (Linux's ipfrag_time
 * is 30 s). Overlapping fragments: the first copy of a byte wins, as in
 * RFC 5722's spirit of not letting later data rewrite earlier data.
 */
#include "config.h"
#include "decode.h"

#include <stdlib.h>
#include <string.h>

#define FRAG_MAX_DGRAM 65535U
#define FRAG_MAX_PIECES 64

struct frag_range {
	uint32_t start, end; /* [start, end) */
};

struct frag {
	struct frag *next; /* hash chain */
	struct frag *older, *newer;
	uint64_t hash;
	struct addr src, dst;
	uint32_t id;
	uint8_t proto;
	ts_t first_ts;
	uint32_t total; /* 0 until the last fragment is seen */
	uint32_t nranges;
	struct frag_range ranges[FRAG_MAX_PIECES];
	uint8_t *buf;
	uint32_t alloc;
};

struct frag_table {
	struct frag **buckets;
	uint32_t nbuckets, count, max;
	struct frag *oldest, *newest;
	uint8_t *out; /* last completed datagram, returned to the caller */
};

struct frag_table *frag_new(uint32_t max)
{
	struct frag_table *ft = xcalloc(1, sizeof(*ft));

	ft->max = max ? max : 1;
	ft->nbuckets = 256;
	while (ft->nbuckets < ft->max && ft->nbuckets < (1U << 20))
		ft->nbuckets <<= 1;
	ft->buckets = xcalloc(ft->nbuckets, sizeof(*ft->buckets));
	return ft;
}

static void frag_unlink(struct frag_table *ft, struct frag *f)
{
	struct frag **pp = &ft->buckets[f->hash & (ft->nbuckets - 1)];

	while (*pp && *pp != f)
		pp = &(*pp)->next;
	if (*pp)
		*pp = f->next;
	if (f->older)
		f->older->newer = f->newer;
	else
		ft->oldest = f->newer;
	if (f->newer)
		f->newer->older = f->older;
	else
		ft->newest = f->older;
	ft->count--;
	free(f->buf);
	free(f);
}

void frag_free(struct frag_table *ft)
{
	if (!ft)
		return;
	while (ft->oldest)
		frag_unlink(ft, ft->oldest);
	free(ft->buckets);
	free(ft->out);
	free(ft);
}

void frag_expire(struct decoder *d, ts_t now, int all)
{
	struct frag_table *ft = d->frags;

	while (ft->oldest && (all || ft->oldest->first_ts + d->cfg.frag_timeout < now)) {
		d->st.problems[DP_FRAG_INCOMPLETE]++;
		frag_unlink(ft, ft->oldest);
	}
}

/* Add [s,e) to the sorted, merged range list. Returns -1 if it is full. */
static int add_range(struct frag *f, uint32_t s, uint32_t e)
{
	uint32_t i, j;

	for (i = 0; i < f->nranges && f->ranges[i].end < s; i++)
		;
	if (i < f->nranges && f->ranges[i].start <= e) {
		/* overlaps or touches range i: merge forward */
		if (s < f->ranges[i].start)
			f->ranges[i].start = s;
		if (e > f->ranges[i].end)
			f->ranges[i].end = e;
		for (j = i + 1; j < f->nranges && f->ranges[j].start <= f->ranges[i].end; j++)
			if (f->ranges[j].end > f->ranges[i].end)
				f->ranges[i].end = f->ranges[j].end;
		memmove(&f->ranges[i + 1], &f->ranges[j],
			(f->nranges - j) * sizeof(f->ranges[0]));
		f->nranges -= j - (i + 1);
		return 0;
	}
	if (f->nranges == FRAG_MAX_PIECES)
		return -1;
	memmove(&f->ranges[i + 1], &f->ranges[i], (f->nranges - i) * sizeof(f->ranges[0]));
	f->ranges[i].start = s;
	f->ranges[i].end = e;
	f->nranges++;
	return 0;
}

const uint8_t *frag_add(struct decoder *d, const struct addr *src, const struct addr *dst,
			uint32_t id, uint8_t proto, uint32_t off, int more,
			const uint8_t *data, uint32_t len, ts_t now, uint32_t *out_len)
{
	struct frag_table *ft = d->frags;
	uint64_t h = hash_mix(addr_hash(src, id) ^ addr_hash(dst, proto));
	struct frag *f;
	uint32_t end = off + len;

	frag_expire(d, now, 0);
	for (f = ft->buckets[h & (ft->nbuckets - 1)]; f; f = f->next)
		if (f->hash == h && f->id == id && f->proto == proto &&
		    addr_eq(&f->src, src) && addr_eq(&f->dst, dst))
			break;
	if (!f) {
		if (ft->count >= ft->max) {
			d->st.problems[DP_FRAG_EVICTED]++;
			d->st.frag_evictions++;
			frag_unlink(ft, ft->oldest);
		}
		f = xcalloc(1, sizeof(*f));
		f->hash = h;
		f->src = *src;
		f->dst = *dst;
		f->id = id;
		f->proto = proto;
		f->first_ts = now;
		f->next = ft->buckets[h & (ft->nbuckets - 1)];
		ft->buckets[h & (ft->nbuckets - 1)] = f;
		f->older = ft->newest;
		if (ft->newest)
			ft->newest->newer = f;
		else
			ft->oldest = f;
		ft->newest = f;
		ft->count++;
	}
	if (end > FRAG_MAX_DGRAM || (f->total && end > f->total) ||
	    (!more && f->total && end != f->total)) {
		d->st.problems[DP_FRAG_EVICTED]++;
		frag_unlink(ft, f);
		return NULL;
	}
	if (!more)
		f->total = end;
	if (end > f->alloc) {
		uint32_t na = f->alloc ? f->alloc : 2048;

		while (na < end)
			na *= 2;
		if (na > FRAG_MAX_DGRAM)
			na = FRAG_MAX_DGRAM;
		f->buf = xrealloc(f->buf, na);
		f->alloc = na;
	}
	/* copy only bytes not yet present: the first copy wins */
	{
		uint32_t pos = off, i;

		for (i = 0; i <= f->nranges && pos < end; i++) {
			uint32_t gap_end = i < f->nranges ? f->ranges[i].start : end;

			if (i < f->nranges && f->ranges[i].end <= pos)
				continue;
			if (gap_end > pos) {
				uint32_t e = MIN(gap_end, end);

				memcpy(f->buf + pos, data + (pos - off), e - pos);
				pos = e;
			}
			if (i < f->nranges && f->ranges[i].end > pos)
				pos = MIN(f->ranges[i].end, end);
		}
	}
	if (len && add_range(f, off, end) < 0) {
		d->st.problems[DP_FRAG_EVICTED]++;
		frag_unlink(ft, f);
		return NULL;
	}
	if (f->total && f->nranges == 1 && f->ranges[0].start == 0 &&
	    f->ranges[0].end == f->total) {
		free(ft->out);
		ft->out = f->buf;
		*out_len = f->total;
		f->buf = NULL;
		d->st.frag_reassembled++;
		frag_unlink(ft, f);
		return ft->out;
	}
	return NULL;
}
