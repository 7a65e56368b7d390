/*
 * capture-queue.c: the capture -> analysis queue; see capture-queue.h.
 *
 * A byte ring with one producer and one consumer: the producer owns head,
 * the consumer owns tail, both only ever grow (offsets modulo the size
 * give the position), and each side reads the other's with acquire
 * semantics, so the packet bytes are visible before the offset that
 * publishes them. No lock on the packet path; the consumer sleeps on a
 * condition variable with a timeout, and the producer wakes it only when
 * it says it is sleeping (a missed wake-up costs at most the timeout).
 *
 * A record is a struct qrec and the packet bytes, padded to 8; a record
 * never wraps: when it does not fit before the end, the producer marks the
 * rest of the ring as skipped (a record with caplen QREC_WRAP, or nothing
 * if not even a header fits) and starts again at offset 0.
 */
#include "config.h"
#include "capture-queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QREC_WRAP UINT32_MAX

struct qrec {
	ts_t ts;
	uint64_t frame;
	uint32_t caplen, len;
	int32_t linktype, ifindex;
	uint16_t file;
	uint16_t pad[3];
};

struct pktq {
	uint8_t *buf;
	size_t size;
	_Atomic size_t head, tail;
	atomic_int sleeping, closed;
	atomic_uint_fast64_t skipped;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

#define PAD8(n) (((n) + 7) & ~(size_t)7)

struct pktq *pktq_new(size_t bytes)
{
	struct pktq *q = xcalloc(1, sizeof(*q));

	q->size = PAD8(MAX(bytes, (size_t)1 << 20));
	q->buf = xmalloc(q->size);
	atomic_init(&q->head, 0);
	atomic_init(&q->tail, 0);
	atomic_init(&q->sleeping, 0);
	atomic_init(&q->closed, 0);
	atomic_init(&q->skipped, 0);
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	return q;
}

static void wake(struct pktq *q)
{
	if (atomic_load_explicit(&q->sleeping, memory_order_acquire)) {
		pthread_mutex_lock(&q->mu);
		pthread_cond_signal(&q->cv);
		pthread_mutex_unlock(&q->mu);
	}
}

int pktq_push(struct pktq *q, const struct pkt *p)
{
	size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
	size_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
	size_t need = sizeof(struct qrec) + PAD8((size_t)p->caplen);
	size_t pos = head % q->size, room = q->size - pos, skip = 0;
	struct qrec r;

	if (room < need)
		skip = room; /* start again at 0 */
	if (need > q->size || (head - tail) + skip + need > q->size) {
		atomic_fetch_add_explicit(&q->skipped, 1, memory_order_relaxed);
		return -1;
	}
	if (skip) {
		if (room >= sizeof(r)) {
			memset(&r, 0, sizeof(r));
			r.caplen = QREC_WRAP;
			memcpy(q->buf + pos, &r, sizeof(r));
		}
		head += skip;
		pos = 0;
	}
	memset(&r, 0, sizeof(r));
	r.ts = p->ts;
	r.frame = p->frame;
	r.caplen = p->caplen;
	r.len = p->len;
	r.linktype = p->linktype;
	r.ifindex = p->ifindex;
	r.file = p->file;
	memcpy(q->buf + pos, &r, sizeof(r));
	memcpy(q->buf + pos + sizeof(r), p->data, p->caplen);
	atomic_store_explicit(&q->head, head + need, memory_order_release);
	wake(q);
	return 0;
}

void pktq_close(struct pktq *q)
{
	atomic_store_explicit(&q->closed, 1, memory_order_release);
	pthread_mutex_lock(&q->mu);
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

static void wait_for_data(struct pktq *q, int timeout_ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&q->mu);
	atomic_store_explicit(&q->sleeping, 1, memory_order_release);
	while (atomic_load_explicit(&q->head, memory_order_acquire) ==
		       atomic_load_explicit(&q->tail, memory_order_relaxed) &&
	       !atomic_load_explicit(&q->closed, memory_order_acquire)) {
		if (pthread_cond_timedwait(&q->cv, &q->mu, &ts) == ETIMEDOUT)
			break;
	}
	atomic_store_explicit(&q->sleeping, 0, memory_order_relaxed);
	pthread_mutex_unlock(&q->mu);
}

int pktq_pop(struct pktq *q, pkt_fn fn, void *ctx, int timeout_ms)
{
	size_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
	size_t head = atomic_load_explicit(&q->head, memory_order_acquire);
	int n = 0;

	if (head == tail) {
		if (atomic_load_explicit(&q->closed, memory_order_acquire)) {
			/* closed: one last look, the producer may have pushed first */
			head = atomic_load_explicit(&q->head, memory_order_acquire);
			if (head == tail)
				return -1;
		} else {
			wait_for_data(q, timeout_ms);
			head = atomic_load_explicit(&q->head, memory_order_acquire);
		}
	}
	while (tail != head) {
		size_t pos = tail % q->size, room = q->size - pos;
		struct qrec r;
		struct pkt p;

		if (room < sizeof(r)) {
			tail += room;
			continue;
		}
		memcpy(&r, q->buf + pos, sizeof(r));
		if (r.caplen == QREC_WRAP) {
			tail += room;
			continue;
		}
		p.data = q->buf + pos + sizeof(r);
		p.caplen = r.caplen;
		p.len = r.len;
		p.ts = r.ts;
		p.linktype = r.linktype;
		p.ifindex = r.ifindex;
		p.file = r.file;
		p.frame = r.frame;
		fn(ctx, &p);
		n++;
		tail += sizeof(r) + PAD8((size_t)r.caplen);
		/* hand space back now and then, not only after the batch */
		if (!(n & 63))
			atomic_store_explicit(&q->tail, tail, memory_order_release);
	}
	atomic_store_explicit(&q->tail, tail, memory_order_release);
	return n;
}

uint64_t pktq_skipped(const struct pktq *q)
{
	return atomic_load_explicit(&((struct pktq *)q)->skipped, memory_order_relaxed);
}

void pktq_free(struct pktq *q)
{
	if (!q)
		return;
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	free(q->buf);
	free(q);
}
