/*
 * msgbuf.h: compact copies of struct dnsmsg, back to back in a byte buffer.
 *
 * The decoder's struct dnsmsg lives on its stack and borrows the packet. To
 * hand messages on later (a batch for the matcher, the pipe between the
 * two processes of `report -j 2`) they are copied without the unused tail
 * of qname[] (the field is last for this) and without the borrowed wire
 * pointer: offsetof(qname) + qname_len bytes, rounded up to 8 so that the
 * next record is aligned. About 170 bytes instead of 400.
 */
#ifndef DNSVET_MSGBUF_H
#define DNSVET_MSGBUF_H

#include "dnsvet.h"

/* The largest record. */
#define MSG_REC_MAX ((offsetof(struct dnsmsg, qname) + DNS_MAXNAME + 1 + 7) & ~(size_t)7)

static inline size_t msg_rec_size(const struct dnsmsg *m)
{
	return (offsetof(struct dnsmsg, qname) + m->qname_len + 7) & ~(size_t)7;
}

/* Copy m to dst (8-byte aligned, msg_rec_size(m) bytes); returns the size.
 * The copy reads as a struct dnsmsg whose wire is NULL. */
static inline size_t msg_rec_put(void *dst, const struct dnsmsg *m)
{
	struct dnsmsg *d = dst;

	memcpy(d, m, offsetof(struct dnsmsg, qname) + m->qname_len);
	d->wire = NULL;
	return msg_rec_size(m);
}

#endif
