/*
 * wire2pkt.c: what a full DNS decode of every message would cost, for
 * `make bench` and the comment at the top of src/decode-dns.c, and what
 * the least a matcher can do costs, for the benchmark's speed targets.
 *
 *   wire2pkt FILE.pcap
 *
 * Takes the DNS payloads of the UDP packets on port 53 (Ethernet, IPv4 or
 * IPv6, no fragments: the bench trace) in batches of 65,536, and times
 * over each batch (CPU time of this process, so reading the file is not
 * counted):
 *
 *   ldns_wire2pkt()   a full decode;
 *   dns_parse()       dnsvet's own scanner (header, question, EDNS);
 *   bare match        dns_parse(), then queries paired with answers by
 *                     5-tuple, id and question in one open-addressing
 *                     table (24 bytes an open query, 3 MB, each message's
 *                     slot loaded 16 messages ahead), re-sent queries
 *                     counted, unanswered ones expired after 10 s; nothing
 *                     else: no names kept, no lookups, no statistics, no
 *                     detectors, no report.
 *
 * The bare matcher is the floor of matching in practice: what dnsvet
 * does on top of it (a 144-byte record per query with its lookup and
 * name, the statistics, ten detectors) can only cost more, so reading the
 * file plus this is the most the benchmark's "fraction of the floor" can
 * be for any design that pairs queries with answers.
 *
 * Prints messages per second for each, then the bare matcher's counts (to
 * compare with `dnsvet report`: close, not equal, as its window is counted
 * in milliseconds).
 */
#include "config.h"
#include "decode.h"

#include <ldns/ldns.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 65536

struct payload {
	const uint8_t *p;
	uint32_t n;
	uint16_t sport, dport;
	uint32_t ms; /* time since the first packet */
	struct addr src, dst;
};

/* ---- the bare matcher --------------------------------------------------- */

#define BM_BITS 17 /* 131,072 slots of 24 bytes: 3 MB; the trace has up to
		    * 34,000 open queries */
#define BM_MASK ((1u << BM_BITS) - 1)
#define BM_WINDOW_MS 10000
#define BM_FIFO (1u << 21)

struct bm_slot {
	uint64_t key; /* 0: empty */
	uint64_t qhash;
	uint32_t pos; /* in the fifo */
};

struct bm {
	struct bm_slot *s;
	uint64_t *fifo_key; /* queries in the order sent, to expire them; 0: answered */
	uint32_t *fifo_ms;
	uint32_t head, tail;
	uint64_t open, matched, unanswered, orphans, retrans;
};

/* the matcher's key (src/match.c, txn_key()), never 0 */
static uint64_t bm_key(const struct addr *cli, uint16_t cport, const struct addr *srv,
		       uint16_t sport, uint16_t id)
{
	uint64_t ports = (uint64_t)cport << 40 | (uint64_t)sport << 24 | (uint64_t)id << 8 | 17;

	return hash_mix(addr_hash(cli, ports) ^ addr_hash(srv, 17) * 31) | 1;
}

static struct bm_slot *bm_find(struct bm *t, uint64_t key, uint64_t qhash)
{
	uint32_t i = (uint32_t)key & BM_MASK;

	for (; t->s[i].key; i = (i + 1) & BM_MASK)
		if (t->s[i].key == key && t->s[i].qhash == qhash)
			return &t->s[i];
	return NULL;
}

static void bm_del(struct bm *t, struct bm_slot *x)
{
	uint32_t i = (uint32_t)(x - t->s), j, home;

	for (j = (i + 1) & BM_MASK; t->s[j].key; j = (j + 1) & BM_MASK) {
		home = (uint32_t)t->s[j].key & BM_MASK;
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		t->s[i] = t->s[j];
		i = j;
	}
	t->s[i].key = 0;
}

/* what the matcher needs of a message, found by dns_parse() */
struct bm_in {
	uint64_t key, qhash;
	uint32_t ms;
	uint8_t qr, ok;
};

static void bm_scan(const struct payload *pl, struct bm_in *in)
{
	struct dnsmsg m;

	in->ok = dns_parse(pl->p, pl->n, &m) == DP_NONE && m.has_question;
	if (!in->ok)
		return;
	in->qr = (uint8_t)DNS_QR(m.flags);
	in->qhash = m.qname_hash;
	in->ms = pl->ms;
	in->key = in->qr ? bm_key(&pl->dst, pl->dport, &pl->src, pl->sport, m.id)
			 : bm_key(&pl->src, pl->sport, &pl->dst, pl->dport, m.id);
}

static void bm_msg(struct bm *t, const struct bm_in *in)
{
	struct bm_slot *x;

	while (t->tail != t->head && in->ms - t->fifo_ms[t->tail & (BM_FIFO - 1)] > BM_WINDOW_MS) {
		uint32_t k = t->tail++ & (BM_FIFO - 1);
		uint32_t i = (uint32_t)t->fifo_key[k] & BM_MASK;

		if (!t->fifo_key[k])
			continue; /* answered */
		/* still open: unanswered */
		for (; t->s[i].key; i = (i + 1) & BM_MASK)
			if (t->s[i].pos == k) {
				bm_del(t, &t->s[i]);
				t->open--;
				t->unanswered++;
				break;
			}
	}
	if (!in->ok)
		return;
	if (in->qr) {
		if ((x = bm_find(t, in->key, in->qhash))) {
			t->fifo_key[x->pos] = 0;
			bm_del(t, x);
			t->open--;
			t->matched++;
		} else {
			t->orphans++;
		}
		return;
	}
	if ((x = bm_find(t, in->key, in->qhash))) {
		t->retrans++;
		return;
	}
	if (t->head - t->tail == BM_FIFO || t->open > BM_MASK / 2)
		return; /* not on the bench trace */
	t->open++;
	x = &t->s[(uint32_t)in->key & BM_MASK];
	while (x->key)
		x = &t->s[(uint32_t)(x - t->s + 1) & BM_MASK];
	x->key = in->key;
	x->qhash = in->qhash;
	x->pos = t->head & (BM_FIFO - 1);
	t->fifo_key[t->head & (BM_FIFO - 1)] = in->key;
	t->fifo_ms[t->head++ & (BM_FIFO - 1)] = in->ms;
}

/* A batch: scanned first, then matched with each message's slot loaded
 * AHEAD messages before it is needed, so the table's misses overlap. */
#define BM_AHEAD 16

static void bm_batch(struct bm *t, const struct payload *pl, struct bm_in *in, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		bm_scan(&pl[i], &in[i]);
	for (i = 0; i < n; i++) {
		if (i + BM_AHEAD < n && in[i + BM_AHEAD].ok)
			__builtin_prefetch(&t->s[(uint32_t)in[i + BM_AHEAD].key & BM_MASK]);
		bm_msg(t, &in[i]);
	}
}

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The UDP payload of an Ethernet frame to or from port 53, or NULL; its
 * addresses and ports in *pl. */
static const uint8_t *dns_payload(const uint8_t *f, uint32_t caplen, uint32_t *n,
				  struct payload *pl)
{
	uint32_t off = 14, hl;
	uint16_t type;

	if (caplen < 14)
		return NULL;
	memset(&pl->src, 0, sizeof(pl->src));
	memset(&pl->dst, 0, sizeof(pl->dst));
	type = (uint16_t)(f[12] << 8 | f[13]);
	if (type == 0x0800 && caplen >= off + 20 && f[off + 9] == 17) {
		pl->src.family = pl->dst.family = 4;
		memcpy(pl->src.a, f + off + 12, 4);
		memcpy(pl->dst.a, f + off + 16, 4);
		hl = (uint32_t)(f[off] & 0xf) * 4;
		off += hl;
	} else if (type == 0x86dd && caplen >= off + 40 && f[off + 6] == 17) {
		pl->src.family = pl->dst.family = 6;
		memcpy(pl->src.a, f + off + 8, 16);
		memcpy(pl->dst.a, f + off + 24, 16);
		off += 40;
	} else {
		return NULL;
	}
	if (caplen < off + 8 || ((f[off] << 8 | f[off + 1]) != 53 && (f[off + 2] << 8 | f[off + 3]) != 53))
		return NULL;
	pl->sport = (uint16_t)(f[off] << 8 | f[off + 1]);
	pl->dport = (uint16_t)(f[off + 2] << 8 | f[off + 3]);
	*n = caplen - off - 8;
	return f + off + 8;
}

int main(int argc, char **argv)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	struct payload *batch = malloc(BATCH * sizeof(*batch));
	uint8_t *store = malloc((size_t)BATCH * 1600);
	size_t nb = 0, used = 0, i;
	double t_ldns = 0, t_scan = 0, t_bm = 0, t0;
	uint64_t msgs = 0, ldns_fail = 0;
	struct bm bm = { 0 };
	struct timeval first = { 0, 0 };
	pcap_t *pc;
	int rc, done = 0;

	struct bm_in *bm_in = malloc(BATCH * sizeof(*bm_in));

	bm.s = calloc(BM_MASK + 1, sizeof(*bm.s));
	bm.fifo_key = malloc(BM_FIFO * sizeof(*bm.fifo_key));
	bm.fifo_ms = malloc(BM_FIFO * sizeof(*bm.fifo_ms));
	if (argc != 2 || !batch || !store || !bm.s || !bm.fifo_key || !bm.fifo_ms || !bm_in) {
		fputs("usage: wire2pkt FILE.pcap\n", stderr);
		return 2;
	}
	pc = pcap_open_offline(argv[1], errbuf);
	if (!pc) {
		fprintf(stderr, "wire2pkt: '%s': %s\n", argv[1], errbuf);
		return 2;
	}
	while (!done) {
		uint32_t n;
		const uint8_t *p;

		rc = pcap_next_ex(pc, &h, &data);
		done = rc != 1;
		if (!done && (p = dns_payload(data, h->caplen, &n, &batch[nb])) && n <= 1500) {
			if (!first.tv_sec && !first.tv_usec)
				first = h->ts;
			memcpy(store + used, p, n);
			batch[nb].p = store + used;
			batch[nb].ms = (uint32_t)((h->ts.tv_sec - first.tv_sec) * 1000 +
						  (h->ts.tv_usec - first.tv_usec) / 1000);
			batch[nb++].n = n;
			used += n;
		}
		if (nb == BATCH || (done && nb)) {
			struct dnsmsg m;

			t0 = cpu_now();
			for (i = 0; i < nb; i++) {
				ldns_pkt *pkt = NULL;

				if (ldns_wire2pkt(&pkt, batch[i].p, batch[i].n) != LDNS_STATUS_OK)
					ldns_fail++;
				ldns_pkt_free(pkt);
			}
			t_ldns += cpu_now() - t0;
			t0 = cpu_now();
			for (i = 0; i < nb; i++)
				dns_parse(batch[i].p, batch[i].n, &m);
			t_scan += cpu_now() - t0;
			t0 = cpu_now();
			bm_batch(&bm, batch, bm_in, nb);
			t_bm += cpu_now() - t0;
			msgs += nb;
			nb = 0;
			used = 0;
		}
	}
	pcap_close(pc);
	printf("%llu messages: ldns_wire2pkt %.2f M/s (%.0f ns each, %llu failed), "
	       "dns_parse %.2f M/s (%.0f ns each)\n", (unsigned long long)msgs,
	       (double)msgs / t_ldns / 1e6, t_ldns * 1e9 / (double)msgs,
	       (unsigned long long)ldns_fail, (double)msgs / t_scan / 1e6,
	       t_scan * 1e9 / (double)msgs);
	printf("bare match %.3f s (%.2f M/s, %.0f ns each): %llu answered, %llu unanswered, "
	       "%llu retransmissions, %llu orphans, %llu open at end\n", t_bm,
	       (double)msgs / t_bm / 1e6, t_bm * 1e9 / (double)msgs,
	       (unsigned long long)bm.matched, (unsigned long long)bm.unanswered,
	       (unsigned long long)bm.retrans, (unsigned long long)bm.orphans,
	       (unsigned long long)bm.open);
	free(bm_in);
	free(bm.s);
	free(bm.fifo_key);
	free(bm.fifo_ms);
	free(batch);
	free(store);
	return 0;
}
