/*
 * detkit.c: see detkit.h.
 */
#include "config.h"
#include "detkit.h"
#include "detect.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

size_t dk_addr_key(const struct addr *a, uint8_t *k)
{
	k[0] = a->family;
	memcpy(k + 1, a->a, a->family == 4 ? 4 : 16);
	return a->family == 4 ? 5 : 17;
}

void dk_key_addr(const uint8_t *k, size_t klen, struct addr *a)
{
	memset(a, 0, sizeof(*a));
	if (klen < 1)
		return;
	a->family = k[0];
	memcpy(a->a, k + 1, MIN(klen - 1, sizeof(a->a)));
}

const char *dk_key_str(const uint8_t *k, size_t klen, char *buf, size_t n)
{
	struct addr a;

	dk_key_addr(k, klen, &a);
	return addr_str(&a, buf, n);
}

struct sortent {
	uint64_t v;
	struct kmap_ent *e;
};

static int cmp_sortent(const void *a, const void *b)
{
	const struct sortent *x = a, *y = b;
	size_t n;
	int c;

	if (x->v != y->v)
		return x->v > y->v ? -1 : 1;
	n = MIN(x->e->klen, y->e->klen);
	c = memcmp(x->e->key, y->e->key, n);
	if (c)
		return c;
	return (int)x->e->klen - (int)y->e->klen;
}

struct kmap_ent **dk_sorted(const struct kmap *m, size_t off)
{
	struct kmap_ent **arr = kmap_entries(m);
	struct sortent *s = xmalloc((m->count + 1) * sizeof(*s));
	size_t i;

	for (i = 0; i < m->count; i++) {
		memcpy(&s[i].v, (const uint8_t *)kmap_val(arr[i]) + off, sizeof(uint64_t));
		s[i].e = arr[i];
	}
	qsort(s, m->count, sizeof(*s), cmp_sortent);
	for (i = 0; i < m->count; i++)
		arr[i] = s[i].e;
	free(s);
	return arr;
}

void dk_clients_init(struct dk_clients *c, struct detect_ctx *dc, size_t vsize, size_t cap)
{
	memset(c, 0, sizeof(*c));
	kmap_init(&c->map, vsize, cap);
	c->dc = dc;
	detect_add_clients(dc, c);
}

void *dk_byid_get(struct dk_byid *b, struct kmap *m, uint32_t id, const struct addr *a,
		  int *overflow)
{
	uint8_t k[DK_ADDR_KEY];
	int over;
	void *v;

	if (id < b->n && b->v[id]) {
		if (overflow)
			*overflow = 0;
		return b->v[id];
	}
	v = kmap_get(m, k, dk_addr_key(a, k), &over);
	if (overflow)
		*overflow = over;
	if (!over && id != DETECT_NO_CLIENT) {
		if (id >= b->n) {
			uint32_t n = b->n ? b->n : 256;

			while (n <= id)
				n *= 2;
			b->v = xrealloc(b->v, n * sizeof(*b->v));
			memset(b->v + b->n, 0, (n - b->n) * sizeof(*b->v));
			b->n = n;
		}
		b->v[id] = v;
	}
	return v;
}

void dk_byid_free(struct dk_byid *b)
{
	free(b->v);
	b->v = NULL;
	b->n = 0;
}

void *dk_client(struct dk_clients *c, struct detect_ctx *dc, const struct addr *a,
		int *overflow)
{
	return dk_byid_get(&c->ix, &c->map, detect_client(dc), a, overflow);
}

void dk_clients_free(struct dk_clients *c)
{
	if (c->dc)
		detect_remove_clients(c->dc, c);
	kmap_free(&c->map);
	dk_byid_free(&c->ix);
	memset(c, 0, sizeof(*c));
}

/* ---- dk_ntab --------------------------------------------------------------- */

#define NTAB_CHUNK (65536 - 64) /* with malloc's header: 64 KB */
#define NREC_SIZE(len) ((offsetof(struct dk_nrec, wire) + (len) + 7) & ~(size_t)7)

static struct dk_nrec *ntab_rec(const struct dk_ntab *t, uint32_t ref)
{
	ref--;
	return (struct dk_nrec *)(t->chunk[ref >> 16] + (size_t)(ref & 0xffff) * 8);
}

static uint32_t ntab_hash(uint64_t name_hash, uint32_t key)
{
	return (uint32_t)(hash_mix(name_hash ^ key) >> 32);
}

static void ntab_grow(struct dk_ntab *t)
{
	uint32_t nmask = t->mask ? 2 * t->mask + 1 : 1023, i, j, *nix;

	nix = xcalloc((size_t)nmask + 1, sizeof(*nix));
	for (i = 0; t->ix && i <= t->mask; i++) {
		const struct dk_nrec *r;

		if (!t->ix[i])
			continue;
		r = ntab_rec(t, t->ix[i]);
		for (j = ntab_hash(hash_bytes(r->wire, r->len, 0), r->key) & nmask; nix[j];
		     j = (j + 1) & nmask)
			;
		nix[j] = t->ix[i];
	}
	free(t->ix);
	t->ix = nix;
	t->mask = nmask;
}

struct dk_nrec *dk_ntab_get(struct dk_ntab *t, uint32_t key, const struct name *nm)
{
	uint32_t h, i, size = (uint32_t)NREC_SIZE(nm->len);
	struct dk_nrec *r;

	if (!t->ix)
		ntab_grow(t);
	h = ntab_hash(nm->hash, key);
	for (i = h & t->mask; t->ix[i]; i = (i + 1) & t->mask) {
		r = ntab_rec(t, t->ix[i]);
		if (r->key == key && r->len == nm->len && !memcmp(r->wire, nm->wire, nm->len))
			return r;
	}
	if (t->count >= t->cap)
		return NULL;
	if (2 * (t->count + 1) > t->mask + 1) {
		/* grown only to insert: a full table stays at its size */
		ntab_grow(t);
		for (i = h & t->mask; t->ix[i]; i = (i + 1) & t->mask)
			;
	}
	if (!t->nchunk || t->used + size > NTAB_CHUNK) {
		t->chunk = xrealloc(t->chunk, (t->nchunk + 1) * sizeof(*t->chunk));
		t->chunk[t->nchunk++] = xmalloc(NTAB_CHUNK);
		t->used = 0;
	}
	r = (struct dk_nrec *)(t->chunk[t->nchunk - 1] + t->used);
	r->n = 0;
	r->key = key;
	r->len = nm->len;
	memcpy(r->wire, nm->wire, nm->len);
	t->ix[i] = 1 + ((t->nchunk - 1) << 16 | t->used / 8);
	t->used += size;
	t->count++;
	return r;
}

size_t dk_ntab_top(const struct dk_ntab *t, int (*cmp)(const void *, const void *), int any_key,
		   uint32_t key, struct dk_nrec **top, size_t n, size_t *matched)
{
	size_t i, k, ntop = 0, m = 0;

	for (i = 0; n && t->ix && i <= t->mask; i++) {
		struct dk_nrec *r;

		if (!t->ix[i])
			continue;
		r = ntab_rec(t, t->ix[i]);
		if (!any_key && r->key != key)
			continue;
		m++;
		if (ntop == n && cmp(&r, &top[n - 1]) >= 0)
			continue;
		/* insert in order; the last falls out of a full list */
		k = ntop < n ? ntop++ : n - 1;
		for (; k > 0 && cmp(&r, &top[k - 1]) < 0; k--)
			top[k] = top[k - 1];
		top[k] = r;
	}
	if (matched)
		*matched = m;
	return ntop;
}

int dk_nrec_cmp(const void *a, const void *b)
{
	const struct dk_nrec *x = *(const struct dk_nrec *const *)a;
	const struct dk_nrec *y = *(const struct dk_nrec *const *)b;
	int c;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	c = memcmp(x->wire, y->wire, MIN(x->len, y->len));
	if (c)
		return c;
	return (int)x->len - (int)y->len;
}

void dk_ntab_free(struct dk_ntab *t)
{
	uint32_t i;

	for (i = 0; i < t->nchunk; i++)
		free(t->chunk[i]);
	free(t->chunk);
	free(t->ix);
	memset(t, 0, sizeof(*t));
}

/* ---- dk_bytes -------------------------------------------------------------- */

void dk_bytes_init(struct dk_bytes *s, uint32_t chunk)
{
	memset(s, 0, sizeof(*s));
	/* malloc's header (16) and ours: the chunk stays within its size */
	s->chunk = chunk - 64;
}

uint8_t *dk_bytes_room(struct dk_bytes *s, size_t max)
{
	struct dk_bchunk *c = s->tail;

	if (!c || c->n + max > c->size) {
		c = xmalloc(offsetof(struct dk_bchunk, b) + s->chunk);
		c->next = NULL;
		c->n = 0;
		c->size = s->chunk;
		if (s->tail)
			s->tail->next = c;
		else
			s->head = c;
		s->tail = c;
	}
	return c->b + c->n;
}

void dk_bytes_free(struct dk_bytes *s)
{
	while (s->head) {
		struct dk_bchunk *c = s->head;

		s->head = c->next;
		free(c);
	}
	s->tail = NULL;
	s->len = 0;
}
