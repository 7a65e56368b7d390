/*
 * wire2pkt.c: what a full DNS decode of every message would cost, for
 * `make bench` and the comment at the top of src/decode-dns.c.
 *
 *   wire2pkt FILE.pcap
 *
 * Takes the DNS payloads of the UDP packets on port 53 (Ethernet, IPv4 or
 * IPv6, no fragments: the bench trace) in batches of 65,536, and times
 * ldns_wire2pkt() and dnsvet's own scanner, dns_parse(), over each batch
 * (CPU time of this process, so reading the file is not counted). Prints
 * messages per second for each.
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
};

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The UDP payload of an Ethernet frame to or from port 53, or NULL. */
static const uint8_t *dns_payload(const uint8_t *f, uint32_t caplen, uint32_t *n)
{
	uint32_t off = 14, hl;
	uint16_t type;

	if (caplen < 14)
		return NULL;
	type = (uint16_t)(f[12] << 8 | f[13]);
	if (type == 0x0800 && caplen >= off + 20 && f[off + 9] == 17) {
		hl = (uint32_t)(f[off] & 0xf) * 4;
		off += hl;
	} else if (type == 0x86dd && caplen >= off + 40 && f[off + 6] == 17) {
		off += 40;
	} else {
		return NULL;
	}
	if (caplen < off + 8 || ((f[off] << 8 | f[off + 1]) != 53 && (f[off + 2] << 8 | f[off + 3]) != 53))
		return NULL;
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
	double t_ldns = 0, t_scan = 0, t0;
	uint64_t msgs = 0, ldns_fail = 0;
	pcap_t *pc;
	int rc, done = 0;

	if (argc != 2 || !batch || !store) {
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
		if (!done && (p = dns_payload(data, h->caplen, &n)) && n <= 1500) {
			memcpy(store + used, p, n);
			batch[nb].p = store + used;
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
	free(batch);
	free(store);
	return 0;
}
