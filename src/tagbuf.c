/*
 * tagbuf.c: see tagbuf.h.
 */
#include "config.h"
#include "tagbuf.h"

#include <stdlib.h>
#include <string.h>

void tagbuf_init(struct tagbuf *tb, size_t cap)
{
	memset(tb, 0, sizeof(*tb));
	tb->cap = cap;
}

void tagbuf_add(struct tagbuf *tb, uint64_t seq, int64_t sec, uint32_t key)
{
	struct tagrec *r;

	if (tb->n >= tb->cap) {
		tb->dropped++;
		return;
	}
	if (tb->n == tb->alloc) {
		tb->alloc = tb->alloc ? tb->alloc * 2 : 1024;
		if (tb->alloc > tb->cap)
			tb->alloc = tb->cap;
		tb->v = xrealloc(tb->v, tb->alloc * sizeof(*tb->v));
	}
	r = &tb->v[tb->n++];
	r->seq = seq;
	r->sec = sec < 0 ? 0 : sec > UINT32_MAX ? UINT32_MAX : (uint32_t)sec;
	r->key = key;
}

void tagbuf_free(struct tagbuf *tb)
{
	free(tb->v);
	memset(tb, 0, sizeof(*tb));
}
