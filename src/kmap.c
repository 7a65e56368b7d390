/*
 * kmap.c: see kmap.h.
 *
 * A chained hash table whose entries (header, key and value together) are
 * carved out of 64 KB slabs: stats_txn() looks up five or six maps per
 * transaction, and with a malloc'd entry plus a malloc'd value per key the
 * per-name map alone cost two allocations and two cache lines per new name.
 */
#include "config.h"
#include "kmap.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define SLAB_SIZE (64 * 1024)

struct kmap_slab {
	struct kmap_slab *next;
	size_t used, size;
	uint64_t mem[]; /* 8-byte aligned */
};

#define ALIGN8(n) (((n) + 7) & ~(size_t)7)

void kmap_init(struct kmap *m, size_t vsize, size_t cap)
{
	memset(m, 0, sizeof(*m));
	m->vsize = vsize;
	m->cap = cap;
	m->nb = 64;
	m->b = xcalloc(m->nb, sizeof(*m->b));
}

void kmap_init_dynamic(struct kmap *m, size_t vsize, size_t cap)
{
	kmap_init(m, vsize, cap);
	m->dynamic = 1;
}

static void rehash(struct kmap *m)
{
	size_t nb = m->nb * 2, i;
	struct kmap_ent **nbk = xcalloc(nb, sizeof(*nbk));

	for (i = 0; i < m->nb; i++) {
		struct kmap_ent *e = m->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = nbk[e->hash & (nb - 1)];
			nbk[e->hash & (nb - 1)] = e;
		}
	}
	free(m->b);
	m->b = nbk;
	m->nb = nb;
}

/*
 * Key comparison without a call: the keys are mostly 5- or 17-byte
 * addresses and 20- to 40-byte names, compared once per hit, and the
 * library memcmp was 4.7 % of a run with every detector (perf).
 */
static inline int key_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint64_t x, y;
	uint32_t u, v;
	size_t i;

	if (n < 4)
		return !memcmp(a, b, n);
	if (n < 8) {
		memcpy(&u, a, 4), memcpy(&v, b, 4);
		if (u != v)
			return 0;
		memcpy(&u, a + n - 4, 4), memcpy(&v, b + n - 4, 4);
		return u == v;
	}
	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&x, a + i, 8), memcpy(&y, b + i, 8);
		if (x != y)
			return 0;
	}
	if (i == n)
		return 1;
	memcpy(&x, a + n - 8, 8), memcpy(&y, b + n - 8, 8);
	return x == y;
}

static struct kmap_ent *lookup(const struct kmap *m, const void *key, size_t klen, uint64_t h)
{
	struct kmap_ent *e;

	for (e = m->b[h & (m->nb - 1)]; e; e = e->next)
		if (e->hash == (uint32_t)h && e->klen == klen && key_eq(e->key, key, klen))
			return e;
	return NULL;
}

void *kmap_find(const struct kmap *m, const void *key, size_t klen)
{
	struct kmap_ent *e = lookup(m, key, klen, hash_bytes(key, klen, 0));

	return e ? kmap_val(e) : NULL;
}

/* n bytes (a multiple of 8), zeroed */
static void *slab_alloc(struct kmap *m, size_t n)
{
	struct kmap_slab *s = m->slabs;

	if (!s || s->used + n > s->size) {
		size_t size = MAX((size_t)SLAB_SIZE, n + sizeof(*s));

		s = xcalloc(1, size);
		s->size = size - sizeof(*s);
		s->next = m->slabs;
		m->slabs = s;
	}
	s->used += n;
	return (char *)s->mem + s->used - n;
}

void *kmap_get_hashed(struct kmap *m, const void *key, size_t klen, uint64_t h, int *overflow)
{
	struct kmap_ent *e = lookup(m, key, klen, h);
	size_t koff;

	if (overflow)
		*overflow = 0;
	if (e)
		return kmap_val(e);
	if (m->count >= m->cap) {
		if (!m->other)
			m->other = xcalloc(1, m->vsize);
		m->overflowed++;
		if (overflow)
			*overflow = 1;
		return m->other;
	}
	if (m->count >= m->nb)
		rehash(m);
	if (m->dynamic) {
		koff = KMAP_VAL_OFF(klen);
		e = xcalloc(1, koff + ALIGN8(m->vsize));
		e->hash = (uint32_t)h;
		e->klen = (uint16_t)klen;
		memcpy(e->key, key, klen);
		e->next = m->b[h & (m->nb - 1)];
		m->b[h & (m->nb - 1)] = e;
		m->count++;
		return (char *)e + koff;
	}
	/* header, key and value together: a hit touches one or two lines */
	koff = KMAP_VAL_OFF(klen);
	e = slab_alloc(m, koff + ALIGN8(m->vsize)); /* zeroed: slabs are calloc'd */
	e->hash = (uint32_t)h;
	e->klen = (uint16_t)klen;
	memcpy(e->key, key, klen);
	e->next = m->b[h & (m->nb - 1)];
	m->b[h & (m->nb - 1)] = e;
	m->count++;
	return (char *)e + koff;
}

void *kmap_get(struct kmap *m, const void *key, size_t klen, int *overflow)
{
	return kmap_get_hashed(m, key, klen, hash_bytes(key, klen, 0), overflow);
}

int kmap_del(struct kmap *m, const void *key, size_t klen)
{
	uint64_t h = hash_bytes(key, klen, 0);
	struct kmap_ent **pp = &m->b[h & (m->nb - 1)], *e;

	if (!m->dynamic)
		BUG("kmap_del on a slab map");
	for (; (e = *pp); pp = &e->next) {
		if (e->hash == (uint32_t)h && e->klen == klen && !memcmp(e->key, key, klen)) {
			*pp = e->next;
			free(e);
			m->count--;
			return 1;
		}
	}
	return 0;
}

struct kmap_ent **kmap_entries(const struct kmap *m)
{
	struct kmap_ent **arr = xmalloc((m->count + 1) * sizeof(*arr));

	if (m->dynamic) {
		size_t i, n = 0;
		struct kmap_ent *e;

		for (i = 0; i < m->nb; i++)
			for (e = m->b[i]; e; e = e->next)
				arr[n++] = e;
		return arr;
	}
	/* The slabs hold the entries in the order they were made, so
	 * walking them oldest first lists the keys in the order they were
	 * first seen, without an array of pointers kept for it (8 bytes an
	 * entry, 0.7 MB of the bench trace's peak with every detector). */
	{
		struct kmap_slab *s, **sl;
		size_t n = 0, ns = 0, i;

		for (s = m->slabs; s; s = s->next)
			ns++;
		sl = xmalloc((ns + 1) * sizeof(*sl));
		for (s = m->slabs, i = ns; s; s = s->next)
			sl[--i] = s;
		for (i = 0; i < ns; i++) {
			size_t off = 0;

			while (off < sl[i]->used) {
				struct kmap_ent *e = (struct kmap_ent *)((char *)sl[i]->mem + off);

				arr[n++] = e;
				off += KMAP_VAL_OFF(e->klen) + ALIGN8(m->vsize);
			}
		}
		free(sl);
		if (n != m->count)
			BUG("kmap: %zu entries in the slabs, %zu counted", n, m->count);
	}
	return arr;
}

void kmap_free(struct kmap *m)
{
	size_t i;

	for (i = 0; m->dynamic && i < m->nb; i++) {
		struct kmap_ent *e = m->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	while (m->slabs) {
		struct kmap_slab *s = m->slabs;

		m->slabs = s->next;
		free(s);
	}
	free(m->b);
	free(m->other);
	memset(m, 0, sizeof(*m));
}
