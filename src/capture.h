/*
 * capture.h: live capture from one or more interfaces (libpcap), the
 * contract between the capture engine (capture.c) and its users
 * (cmd-capture.c, cmd-monitor.c).
 *
 * Every packet handed out carries its interface in pkt.ifindex (the
 * run-wide interface table of input.h, named after the device), and, with
 * "-i any", the SLL2 header's kernel ifindex as decode.c reads it.
 */
#ifndef DNSVET_CAPTURE_H
#define DNSVET_CAPTURE_H

#include "dnsvet.h"
#include "input.h"

struct capture_opts {
	char **ifaces;	  /* device names, "any" allowed */
	int nifaces;
	int snaplen;	  /* default 65535: large answers must not be cut */
	int buffer_kb;	  /* kernel buffer (-B), 0 = libpcap default */
	int promisc;	  /* 0: DNS of this host only, like tcpdump -p */
	const char *expr; /* extra BPF expression, ANDed with the DNS filter */
	const char *ports; /* "53,8053": the DNS ports of the default filter */
};

struct capture_stats {
	uint64_t received;  /* packets handed to us */
	uint64_t kernel_drops; /* pcap_stats ps_drop, summed over interfaces */
	uint64_t if_drops;  /* pcap_stats ps_ifdrop */
};

struct capture;

/* Build the default filter for ports: DNS over UDP and TCP on those ports,
 * plus IP fragments (non-first fragments carry no port). */
char *capture_default_filter(const char *ports, const char *expr);

/* Open every interface; on failure returns NULL with a message in err
 * naming the interface and, for permissions, the capability needed. */
struct capture *capture_open(const struct capture_opts *o, char *err, size_t errlen);
/* Link type and snaplen of interface i (for writing savefiles). */
int capture_linktype(const struct capture *c, int i);
int capture_snaplen(const struct capture *c, int i);
const char *capture_iface_name(const struct capture *c, int i);
int capture_count(const struct capture *c);
/* Wait up to timeout_ms for packets on any interface and hand each to fn
 * (pkt.data is valid during the call only; pkt.file is the interface
 * number i, pkt.frame counts per interface). Returns packets delivered,
 * 0 on timeout, -1 on a capture error (message in err). */
int capture_dispatch(struct capture *c, pkt_fn fn, void *ctx, int timeout_ms, char *err,
		     size_t errlen);
/* After a stop request: keep reading for one kernel block timeout (about
 * a quarter of a second) so that every packet the kernel accepted before
 * the stop is delivered. Returns packets delivered or -1 (message in err). */
int capture_drain(struct capture *c, pkt_fn fn, void *ctx, char *err, size_t errlen);
/* Totals so far (pcap_stats summed over interfaces, kept in 64 bits). */
void capture_get_stats(struct capture *c, struct capture_stats *st);
void capture_close(struct capture *c);

#endif
