/*
 * floor.c: the floor of `make bench`: read a capture with a bare
 * pcap_next_ex() loop, exactly as src/input.c opens it (nanosecond
 * timestamps), doing nothing with the packets but counting them.
 *
 *   floor FILE.pcap     prints the number of packets read
 *
 * No analysis can read a pcap faster than this; dnsvet's speed is quoted
 * as a fraction of it.
 */
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t n = 0, bytes = 0;
	pcap_t *pc;

	if (argc != 2) {
		fputs("usage: floor FILE.pcap\n", stderr);
		return 2;
	}
	pc = pcap_open_offline_with_tstamp_precision(argv[1], PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!pc) {
		fprintf(stderr, "floor: '%s': %s\n", argv[1], errbuf);
		return 2;
	}
	while (pcap_next_ex(pc, &h, &data) == 1) {
		n++;
		bytes += h->caplen;
	}
	pcap_close(pc);
	printf("%" PRIu64 " packets, %" PRIu64 " bytes\n", n, bytes);
	return 0;
}
