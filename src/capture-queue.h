/*
 * capture-queue.h: a bounded packet queue from the capture thread to the
 * analysis thread (one producer, one consumer).
 *
 * The capture thread must never wait for the analysis: while it waits,
 * the kernel's ring fills and drops packets that the files should have
 * had. So the packets to analyse are copied into this queue, and when it
 * is full a packet is written to the file but not analysed (counted in
 * pktq_skipped(), reported with the totals). Packets keep their order.
 */
#ifndef DNSVET_CAPTURE_QUEUE_H
#define DNSVET_CAPTURE_QUEUE_H

#include "input.h"

struct pktq;

/* A queue holding up to bytes of packet data and headers. */
struct pktq *pktq_new(size_t bytes);
/* Producer: copy p (its bytes too) into the queue. 0, or -1 if the queue
 * is full (the packet is counted as skipped). */
int pktq_push(struct pktq *q, const struct pkt *p);
/* Producer: no more packets will come. */
void pktq_close(struct pktq *q);
/* Consumer: wait up to timeout_ms for packets, then hand every queued
 * packet to fn (pkt.data is valid during the call only). Returns the
 * packets handed out, 0 on timeout, -1 once closed and empty. */
int pktq_pop(struct pktq *q, pkt_fn fn, void *ctx, int timeout_ms);
uint64_t pktq_skipped(const struct pktq *q);
void pktq_free(struct pktq *q);

#endif
