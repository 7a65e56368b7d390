/*
 * pcapng-write.h: write capture files, pcapng and classic pcap, into a
 * memory buffer (the caller writes the bytes out, so write errors stay in
 * one place: capture-rotate.c).
 *
 * libpcap cannot write pcapng, and classic pcap has one link type and no
 * interface per packet. With several interfaces dnsvet capture writes
 * pcapng: a Section Header Block, one Interface Description Block per
 * interface (if_name, if_tsresol = 9: nanoseconds) and an Enhanced Packet
 * Block per packet naming its interface. Blocks are in host byte order (the
 * SHB's byte-order magic tells readers). Classic pcap is written with the
 * nanosecond magic (0xa1b23c4d), which libpcap, tcpdump and Wireshark read.
 *
 * Each function appends whole blocks or records to sb and returns the
 * number of bytes appended.
 */
#ifndef DNSVET_PCAPNG_WRITE_H
#define DNSVET_PCAPNG_WRITE_H

#include "dnsvet.h"

/* Section header; app names the writer (shb_userappl), may be NULL. */
size_t pcapng_put_shb(struct sbuf *sb, const char *app);
/* Interface description: LINKTYPE_* value, snaplen, if_name (may be NULL),
 * timestamps in nanoseconds. Interfaces are numbered from 0 in the order
 * their blocks are written. */
size_t pcapng_put_idb(struct sbuf *sb, int linktype, uint32_t snaplen, const char *name);
/* Enhanced packet block on interface ifid; caplen bytes of data are stored
 * (padded to 4), len is the length on the wire. */
size_t pcapng_put_epb(struct sbuf *sb, uint32_t ifid, ts_t ts, const uint8_t *data,
		      uint32_t caplen, uint32_t len);
/* Interface statistics at ts: packets received and dropped by the kernel
 * (isb_ifrecv, isb_ifdrop), written when a file is closed. */
size_t pcapng_put_isb(struct sbuf *sb, uint32_t ifid, ts_t ts, uint64_t recv, uint64_t drop);

/* Classic pcap: the 24-byte file header (nanosecond magic) and a record. */
#define PCAPFILE_HDR_LEN 24
#define PCAPFILE_REC_HDR_LEN 16
size_t pcapfile_put_header(struct sbuf *sb, int linktype, uint32_t snaplen);
size_t pcapfile_put_record(struct sbuf *sb, ts_t ts, const uint8_t *data, uint32_t caplen,
			   uint32_t len);

#endif
