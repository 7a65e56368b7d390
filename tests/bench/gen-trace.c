/*
 * gen-trace.c: write the benchmark trace, a large deterministic DNS capture.
 *
 *   gen-trace [-n PACKETS] [-r QUERIES_PER_SEC] [-s SEED] OUT.pcap
 *
 * The trace is what a busy resolver's uplink looks like (`make bench` and
 * tests/bench-correct.sh use it): 2,000 stub clients (one in ten on IPv6)
 * asking five servers, at about 30,000 queries per second by default,
 * classic pcap with Ethernet, microsecond timestamps. The mix:
 *
 *   - glibc getaddrinfo() lookups: A and AAAA sent in parallel from one
 *     source port with two ids, the AAAA a few microseconds after the A;
 *     plain A, PTR, HTTPS (TYPE65, as iOS sends) and TXT queries;
 *   - answers after 0.2 ms (cache hit) to 200 ms (cache miss), NOERROR with
 *     records (name compression, as servers do), NODATA, NXDOMAIN with an
 *     SOA, SERVFAIL;
 *   - about 5 % unanswered: some retransmitted 5 s later with the same id
 *     and port (glibc on the same socket), some retried with a new id and
 *     port, some given up on;
 *   - EDNS(0) on most queries, a few with Client Subnet (echoed with a scope
 *     in the answer);
 *   - a PTR burst: one client reverse-resolving 104.16.0.0/12 at 10,000/s
 *     for three seconds against a server that answers only some of it.
 *
 * Everything comes from one 64-bit PRNG seeded with -s (default 1), so the
 * same arguments always give the same bytes. Future packets (responses,
 * retries) wait in a min-heap ordered by (time, sequence), so the file is
 * written in time order in one pass, in memory proportional to what is in
 * flight (not to the file). Frames are built into a 1 MB buffer that is
 * written with fwrite(): about 2 s for the default 2 M packets.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NCLIENTS 2000
#define NCLIENTS6 200 /* the last 200 clients use IPv6 */
#define NSERVERS 5    /* server 4 is IPv6 */
#define NNAMES 20000
#define T0_SEC 1709294400U /* 2024-03-01 12:00:00 UTC */

/* ---- PRNG: splitmix64 (fixed seed, portable, fast) -------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* uniform in [0, n) */
static uint32_t rnd_n(uint32_t n)
{
	return (uint32_t)(((rnd() >> 32) * (uint64_t)n) >> 32);
}

/* a probability test: true with probability per-mille/1000 */
static int chance(uint32_t permille)
{
	return rnd_n(1000) < permille;
}

/* ---- names ------------------------------------------------------------ */

struct wname {
	uint8_t len;
	uint8_t w[64];
};

static struct wname names[NNAMES];

static void add_label(struct wname *n, const char *s)
{
	size_t l = strlen(s);

	n->w[n->len++] = (uint8_t)l;
	memcpy(n->w + n->len, s, l);
	n->len += (uint8_t)l;
}

static void make_names(void)
{
	static const char *const host[] = { "www", "api", "cdn", "mail", "img", "static",
					    "login", "app", "m", "edge", "auth", "ws" };
	static const char *const sld[] = { "example", "shop", "news", "video", "cloud",
					   "bank", "social", "search", "maps", "games",
					   "music", "travel", "sport", "market", "photo" };
	static const char *const tld[] = { "com", "net", "org", "de", "io", "fr", "co", "uk" };
	char buf[32];
	uint32_t i;

	for (i = 0; i < NNAMES; i++) {
		struct wname *n = &names[i];

		n->len = 0;
		add_label(n, host[rnd_n(12)]);
		snprintf(buf, sizeof(buf), "%s%u", sld[rnd_n(15)], i);
		add_label(n, buf);
		add_label(n, tld[rnd_n(8)]);
		n->w[n->len++] = 0;
	}
}

/* Zipf-like popularity: a log-uniform rank, so a few names dominate. */
static uint32_t pick_name(void)
{
	double u = (double)(rnd() >> 11) / 9007199254740992.0;
	uint32_t r = (uint32_t)pow(NNAMES, u);

	return r >= 1 && r <= NNAMES ? r - 1 : 0;
}

/* "d.c.b.a.in-addr.arpa." for the IPv4 address a.b.c.d */
static void ptr_name(struct wname *n, uint32_t ip)
{
	char buf[8];
	int i;

	n->len = 0;
	for (i = 0; i < 4; i++) {
		snprintf(buf, sizeof(buf), "%u", (ip >> (8 * i)) & 0xff);
		add_label(n, buf);
	}
	add_label(n, "in-addr");
	add_label(n, "arpa");
	n->w[n->len++] = 0;
}

/* ---- the queries in flight -------------------------------------------- */

enum { QT_A = 1, QT_PTR = 12, QT_TXT = 16, QT_AAAA = 28, QT_HTTPS = 65 };
enum { RC_NOERROR = 0, RC_SERVFAIL = 2, RC_NXDOMAIN = 3 };
enum { FATE_ANSWER, FATE_DROP };

/* One packet to send at ts, with everything needed to build it. */
struct ev {
	uint64_t ts_us;
	uint64_t seq; /* tie-break: events at the same time keep their order */
	uint16_t client, server;
	uint16_t cport, id, qtype;
	uint8_t response, rcode, edns, ecs, nodata;
	uint8_t retries_left;	/* same-id retransmissions still to come if dropped */
	uint8_t new_id_retries; /* retries with a new id still to come if dropped */
	uint8_t burst;		/* part of the PTR burst */
	uint32_t ptr_ip;	/* PTR: the address asked about */
	uint32_t name;		/* index in names[] (not PTR) */
};

static struct ev *heap;
static size_t nheap, aheap;
static uint64_t ev_seq;

static int ev_before(const struct ev *a, const struct ev *b)
{
	return a->ts_us < b->ts_us || (a->ts_us == b->ts_us && a->seq < b->seq);
}

static void heap_push(struct ev e)
{
	size_t i;

	e.seq = ev_seq++;
	if (nheap == aheap) {
		aheap = aheap ? 2 * aheap : 4096;
		heap = realloc(heap, aheap * sizeof(*heap));
		if (!heap) {
			perror("gen-trace");
			exit(2);
		}
	}
	i = nheap++;
	while (i && ev_before(&e, &heap[(i - 1) / 2])) {
		heap[i] = heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	heap[i] = e;
}

static struct ev heap_pop(void)
{
	struct ev top = heap[0], last = heap[--nheap];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= nheap)
			break;
		if (c + 1 < nheap && ev_before(&heap[c + 1], &heap[c]))
			c++;
		if (!ev_before(&heap[c], &last))
			break;
		heap[i] = heap[c];
		i = c;
	}
	if (nheap)
		heap[i] = last;
	return top;
}

/* ---- frames ------------------------------------------------------------- */

static uint8_t *obuf;
static size_t olen;
#define OBUF_SIZE (1U << 20)
static FILE *out;
static uint64_t npackets, nqueries, nresponses;

static void flush_out(void)
{
	if (olen && fwrite(obuf, 1, olen, out) != olen) {
		perror("gen-trace: write");
		exit(2);
	}
	olen = 0;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void client_addr(uint16_t c, uint8_t *a, int *v6)
{
	*v6 = c >= NCLIENTS - NCLIENTS6;
	if (*v6) {
		static const uint8_t pfx[8] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0 };

		memcpy(a, pfx, 8);
		memset(a + 8, 0, 6);
		put16(a + 14, (uint16_t)(c + 0x100));
	} else {
		a[0] = 10;
		a[1] = 1;
		a[2] = (uint8_t)(c >> 8);
		a[3] = (uint8_t)(c & 0xff) + 1;
	}
}

static void server_addr(uint16_t s, uint8_t *a)
{
	if (s == NSERVERS - 1) {
		static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0x53, 0, 0,
						0, 0, 0, 0, 0, 0, 0, 0x53 };

		memcpy(a, v6, 16);
	} else {
		a[0] = 10;
		a[1] = 0;
		a[2] = 0;
		a[3] = (uint8_t)(2 + s);
	}
}

/* Offset of the label that starts the last two labels of a wire name. */
static unsigned zone_off(const uint8_t *w, unsigned len)
{
	unsigned off = 0, prev = 0, prev2 = 0;

	while (off < len && w[off]) {
		prev2 = prev;
		prev = off;
		off += 1u + w[off];
	}
	return prev2;
}

/* Write the DNS message of e at p; returns its length. */
static size_t build_dns(const struct ev *e, uint8_t *p)
{
	struct wname pn;
	const struct wname *n;
	uint16_t an = 0, ns = 0;
	size_t off;
	uint8_t *hdr = p;

	if (e->qtype == QT_PTR) {
		ptr_name(&pn, e->ptr_ip);
		n = &pn;
	} else {
		n = &names[e->name];
	}
	put16(p, e->id);
	put16(p + 2, e->response ? (uint16_t)(0x8180 | e->rcode) : 0x0100);
	put16(p + 4, 1);
	memset(p + 6, 0, 6);
	off = 12;
	memcpy(p + off, n->w, n->len);
	off += n->len;
	put16(p + off, e->qtype);
	put16(p + off + 2, 1);
	off += 4;
	if (e->response && e->rcode == RC_NOERROR && !e->nodata) {
		int i, k = e->qtype == QT_A ? 1 + (int)(e->id & 1) : 1;

		for (i = 0; i < k; i++) {
			put16(p + off, 0xc00c);
			put16(p + off + 2, e->qtype);
			put16(p + off + 4, 1);
			put32(p + off + 6, 300);
			off += 12; /* rdlength at off - 2 */
			switch (e->qtype) {
			case QT_A:
				put16(p + off - 2, 4);
				put32(p + off, 0xc6336400U + (e->name & 0xff) + (uint32_t)i);
				off += 4;
				break;
			case QT_AAAA:
				put16(p + off - 2, 16);
				put32(p + off, 0x20010db8);
				put32(p + off + 4, 0x00640000);
				put32(p + off + 8, 0);
				put32(p + off + 12, e->name);
				off += 16;
				break;
			case QT_PTR: {
				static const uint8_t host[] = "\004host\007example\003net";

				put16(p + off - 2, sizeof(host));
				memcpy(p + off, host, sizeof(host));
				off += sizeof(host);
				break;
			}
			case QT_HTTPS:
				/* priority 1, target ".", alpn="h2" */
				put16(p + off - 2, 10);
				memcpy(p + off, "\000\001\000\000\001\000\003\002h2", 10);
				off += 10;
				break;
			case QT_TXT: {
				static const char txt[] = "v=spf1 include:_spf.example.com ~all";

				put16(p + off - 2, (uint16_t)(sizeof(txt)));
				p[off] = (uint8_t)(sizeof(txt) - 1);
				memcpy(p + off + 1, txt, sizeof(txt) - 1);
				off += sizeof(txt);
				break;
			}
			}
			an++;
		}
	} else if (e->response && (e->rcode == RC_NXDOMAIN || e->nodata)) {
		/* the zone's SOA in the authority section, owner by pointer */
		uint16_t zp = (uint16_t)(0xc000 | (12 + zone_off(n->w, n->len)));
		size_t rdl;

		put16(p + off, zp);
		put16(p + off + 2, 6);
		put16(p + off + 4, 1);
		put32(p + off + 6, 900);
		off += 12;
		rdl = off;
		memcpy(p + off, "\003ns1", 4);
		put16(p + off + 4, zp);
		memcpy(p + off + 6, "\012hostmaster", 11);
		put16(p + off + 17, zp);
		off += 19;
		put32(p + off, 2024030101);
		put32(p + off + 4, 7200);
		put32(p + off + 8, 3600);
		put32(p + off + 12, 1209600);
		put32(p + off + 16, 900);
		off += 20;
		put16(p + rdl - 2, (uint16_t)(off - rdl));
		ns = 1;
	}
	if (e->edns) {
		size_t rdl;

		p[off] = 0;
		put16(p + off + 1, 41);
		put16(p + off + 3, 1232);
		put32(p + off + 5, 0);
		off += 11;
		rdl = off;
		if (e->ecs) {
			/* Client Subnet: IPv4, source /24, scope /0 (query) or /24 */
			put16(p + off, 8);
			put16(p + off + 2, 7);
			put16(p + off + 4, 1);
			p[off + 6] = 24;
			p[off + 7] = e->response ? 24 : 0;
			p[off + 8] = 192;
			p[off + 9] = 0;
			p[off + 10] = (uint8_t)(e->client & 0xff);
			off += 11;
		}
		put16(p + rdl - 2, (uint16_t)(off - rdl));
	}
	put16(hdr + 6, an);
	put16(hdr + 8, ns);
	put16(hdr + 10, e->edns ? 1 : 0);
	return off;
}

static void emit(const struct ev *e)
{
	uint8_t caddr[16], saddr[16], *rec, *eth, *ip, *udp, *dns;
	const uint8_t *src, *dst;
	int v6;
	size_t dlen, iplen, caplen;
	uint16_t sp, dp;
	uint32_t s;

	if (olen + 2048 > OBUF_SIZE)
		flush_out();
	rec = obuf + olen;
	client_addr(e->client, caddr, &v6);
	server_addr(v6 ? NSERVERS - 1 : e->server, saddr);
	src = e->response ? saddr : caddr;
	dst = e->response ? caddr : saddr;
	sp = e->response ? 53 : e->cport;
	dp = e->response ? e->cport : 53;
	eth = rec + 16;
	ip = eth + 14;
	udp = ip + (v6 ? 40 : 20);
	dns = udp + 8;
	dlen = build_dns(e, dns);
	iplen = (v6 ? 40 : 20) + 8 + dlen;
	/* Ethernet: the resolver side is 02:00:00:00:00:53 */
	memcpy(eth, e->response ? "\002\000\000\000\000\001" : "\002\000\000\000\000\123", 6);
	memcpy(eth + 6, e->response ? "\002\000\000\000\000\123" : "\002\000\000\000\000\001", 6);
	put16(eth + 12, v6 ? 0x86dd : 0x0800);
	if (v6) {
		put32(ip, 0x60000000);
		put16(ip + 4, (uint16_t)(8 + dlen));
		ip[6] = 17;
		ip[7] = 64;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst, 16);
	} else {
		ip[0] = 0x45;
		ip[1] = 0;
		put16(ip + 2, (uint16_t)iplen);
		put16(ip + 4, (uint16_t)npackets);
		put16(ip + 6, 0x4000); /* DF */
		ip[8] = 64;
		ip[9] = 17;
		put16(ip + 10, 0);
		memcpy(ip + 12, src, 4);
		memcpy(ip + 16, dst, 4);
		put16(ip + 10, fold(sum16(ip, 20, 0)));
	}
	put16(udp, sp);
	put16(udp + 2, dp);
	put16(udp + 4, (uint16_t)(8 + dlen));
	put16(udp + 6, 0);
	/* UDP checksum over the pseudo-header (mandatory on IPv6) */
	s = sum16(src, v6 ? 16 : 4, 0);
	s = sum16(dst, v6 ? 16 : 4, s);
	s += 17 + (uint32_t)(8 + dlen);
	s = sum16(udp, 8 + dlen, s);
	put16(udp + 6, fold(s) ? fold(s) : 0xffff);
	caplen = 14 + iplen;
	/* pcap record header, little-endian (the file header says so) */
	{
		uint32_t h[4] = { (uint32_t)(T0_SEC + e->ts_us / 1000000),
				  (uint32_t)(e->ts_us % 1000000), (uint32_t)caplen,
				  (uint32_t)caplen };

		memcpy(rec, h, 16);
	}
	olen += 16 + caplen;
	npackets++;
	if (e->response)
		nresponses++;
	else
		nqueries++;
}

/* ---- behaviour ---------------------------------------------------------- */

/* Latency of an answer in microseconds: mostly cache hits, some misses. */
static uint64_t latency_us(void)
{
	uint32_t r = rnd_n(100);

	if (r < 70)
		return 150 + rnd_n(600);
	if (r < 92)
		return 1000 + rnd_n(9000);
	return 20000 + rnd_n(180000);
}

/* Decide what happens to a query just sent (e), scheduling the future. */
static void schedule(const struct ev *q)
{
	struct ev e = *q;
	uint32_t drop = q->burst ? 600 : 60; /* per mille */

	if (!chance(drop)) {
		e.response = 1;
		e.ts_us = q->ts_us + (q->burst ? 2000 + rnd_n(3000) : latency_us());
		if (q->burst)
			e.rcode = chance(300) ? RC_SERVFAIL : RC_NOERROR;
		else if (q->qtype == QT_PTR)
			e.rcode = chance(250) ? RC_NXDOMAIN : chance(30) ? RC_SERVFAIL : RC_NOERROR;
		else
			e.rcode = chance(40) ? RC_NXDOMAIN : chance(15) ? RC_SERVFAIL : RC_NOERROR;
		e.nodata = e.rcode == RC_NOERROR && q->qtype == QT_AAAA && (q->name % 10) == 0;
		heap_push(e);
		return;
	}
	/* no answer: glibc waits 5 s, then resends */
	if (q->retries_left) {
		e.retries_left--;
		e.ts_us = q->ts_us + 5000000 + rnd_n(2000);
		heap_push(e);
	} else if (q->new_id_retries) {
		e.new_id_retries--;
		e.ts_us = q->ts_us + 5000000 + rnd_n(2000);
		e.id = (uint16_t)rnd();
		e.cport = (uint16_t)(32768 + rnd_n(28232));
		heap_push(e);
	}
}

static void new_lookup(uint64_t ts)
{
	struct ev q;
	uint32_t kind = rnd_n(100);

	memset(&q, 0, sizeof(q));
	q.ts_us = ts;
	q.client = (uint16_t)rnd_n(NCLIENTS);
	q.server = (uint16_t)(q.client % (NSERVERS - 1));
	q.cport = (uint16_t)(32768 + rnd_n(28232));
	q.id = (uint16_t)rnd();
	q.edns = chance(700);
	q.ecs = q.edns && chance(50);
	q.name = pick_name();
	/* how this client retries a lost answer */
	switch (rnd_n(3)) {
	case 0: q.retries_left = 1; break;   /* same id, same port */
	case 1: q.new_id_retries = 1; break; /* new id, new port */
	default: break;			     /* gives up */
	}
	if (kind < 55) {
		/* getaddrinfo(AF_UNSPEC): A then AAAA, same port, before any answer */
		q.qtype = QT_A;
		heap_push(q);
		q.qtype = QT_AAAA;
		q.id = (uint16_t)(q.id + 1 + rnd_n(1000));
		q.ts_us = ts + 5 + rnd_n(40);
		heap_push(q);
		return;
	}
	if (kind < 67)
		q.qtype = QT_A;
	else if (kind < 79) {
		q.qtype = QT_PTR;
		q.ptr_ip = (uint32_t)(10U << 24 | rnd_n(1U << 16));
	} else if (kind < 93)
		q.qtype = QT_HTTPS;
	else
		q.qtype = QT_TXT;
	heap_push(q);
}

static void usage(void)
{
	fputs("usage: gen-trace [-n PACKETS] [-r QUERIES_PER_SEC] [-s SEED] OUT.pcap\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t want = 2000000, rate = 30000, seed = 1, t = 0, step;
	uint64_t burst_start = 10000000, burst_end = 13000000, burst_step = 100;
	uint64_t next_burst = burst_start;
	uint32_t hdr[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1 };
	int c;

	while ((c = getopt(argc, argv, "n:r:s:")) != -1) {
		switch (c) {
		case 'n': want = strtoull(optarg, NULL, 10); break;
		case 'r': rate = strtoull(optarg, NULL, 10); break;
		case 's': seed = strtoull(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (optind + 1 != argc || !rate || !want)
		usage();
	out = fopen(argv[optind], "wb");
	if (!out) {
		fprintf(stderr, "gen-trace: unable to open '%s': %s\n", argv[optind],
			strerror(errno));
		return 2;
	}
	obuf = malloc(OBUF_SIZE);
	if (!obuf) {
		perror("gen-trace");
		return 2;
	}
	rng_state = seed;
	make_names();
	memcpy(obuf, hdr, sizeof(hdr)); /* little-endian host assumed (x86, arm) */
	olen = sizeof(hdr);

	/* a lookup starts every step us on average: 1.55 queries per lookup */
	step = 1000000 * 155 / (rate * 100);
	for (;;) {
		uint64_t next = t + 1 + rnd_n((uint32_t)(2 * step));

		/* the PTR burst: a log-processing job reverse-resolving a /12 */
		while (next_burst < next && next_burst < burst_end) {
			struct ev q;

			memset(&q, 0, sizeof(q));
			q.ts_us = next_burst;
			q.client = 7;
			q.server = 0;
			q.cport = (uint16_t)(32768 + rnd_n(28232));
			q.id = (uint16_t)rnd();
			q.qtype = QT_PTR;
			q.burst = 1;
			q.retries_left = 1;
			q.ptr_ip = 104U << 24 | 16U << 16 | rnd_n(1U << 20);
			heap_push(q);
			next_burst += burst_step;
		}
		while (nheap && heap[0].ts_us <= next) {
			struct ev e = heap_pop();

			emit(&e);
			if (!e.response)
				schedule(&e);
		}
		if (npackets + nheap >= want)
			break;
		t = next;
		new_lookup(t);
	}
	while (nheap) {
		struct ev e = heap_pop();

		emit(&e);
		/* past the target: answers still come, nothing new is lost */
		if (!e.response) {
			e.retries_left = e.new_id_retries = 0;
			schedule(&e);
		}
	}
	flush_out();
	if (fclose(out)) {
		perror("gen-trace: close");
		return 2;
	}
	fprintf(stderr, "gen-trace: %" PRIu64 " packets (%" PRIu64 " queries, %" PRIu64
		" responses) over %.1f s\n", npackets, nqueries, nresponses,
		(double)t / 1e6);
	free(obuf);
	free(heap);
	return 0;
}
