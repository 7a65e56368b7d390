/*
 * detkit.c: see detkit.h.
 */
#include "config.h"
#include "detkit.h"
#include "detect.h"

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
