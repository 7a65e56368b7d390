/*
 * chan.h: a one-way channel of records from one process to another, for
 * the stages of `report -j` (analyze-pipe.c).
 *
 * The records travel through shared memory, in 256 KB chunks; two pipes
 * carry one byte per chunk, "this chunk is full" one way and "this chunk
 * is free again" the other. A process blocks in read() when it has nothing
 * to do, and sees end-of-file if the other side dies, so nothing hangs.
 * Create the channel before fork(); then each side calls chan_producer()
 * or chan_consumer() (or chan_close() if it uses neither end).
 */
#ifndef DNSVET_CHAN_H
#define DNSVET_CHAN_H

#include <stddef.h>
#include <stdint.h>

/* The largest record payload. */
#define CHAN_REC_MAX (60 * 1024)

struct chan;

struct chan *chan_new(void);
void chan_producer(struct chan *c);
void chan_consumer(struct chan *c);
void chan_close(struct chan *c);

/* Producer: room for a record of len bytes (8-byte aligned); the record
 * is sent with the chunk, which goes when it is full or at chan_flush(). */
void *chan_put(struct chan *c, uint32_t type, size_t len);
/* Producer: send what is buffered and close the producer's end. */
void chan_finish(struct chan *c);

/* Consumer: the next record, valid (and the consumer's to change) until
 * the next call; NULL at the end (the producer finished or died). */
void *chan_get(struct chan *c, uint32_t *type, size_t *len);

/* Unmap and close whatever is left (both sides may call it). */
void chan_free(struct chan *c);

#endif
