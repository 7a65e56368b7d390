/*
 * kmap.c: see kmap.h.
 */
#include "config.h"
#include "kmap.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

void kmap_init(struct kmap *m, size_t vsize, size_t cap)
{
	memset(m, 0, sizeof(*m));
	m->vsize = vsize;
	m->cap = cap;
	m->nb = 64;
	m->b = xcalloc(m->nb, sizeof(*m->b));
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

void *kmap_find(const struct kmap *m, const void *key, size_t klen)
{
	uint64_t h = hash_bytes(key, klen, 7);
	struct kmap_ent *e;

	for (e = m->b[h & (m->nb - 1)]; e; e = e->next)
		if (e->hash == h && e->klen == klen && !memcmp(e->key, key, klen))
			return e->val;
	return NULL;
}

void *kmap_get(struct kmap *m, const void *key, size_t klen, int *overflow)
{
	uint64_t h = hash_bytes(key, klen, 7);
	struct kmap_ent *e;

	if (overflow)
		*overflow = 0;
	for (e = m->b[h & (m->nb - 1)]; e; e = e->next)
		if (e->hash == h && e->klen == klen && !memcmp(e->key, key, klen))
			return e->val;
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
	e = xmalloc(sizeof(*e) + klen);
	e->hash = h;
	e->klen = (uint16_t)klen;
	memcpy(e->key, key, klen);
	e->val = xcalloc(1, m->vsize);
	e->next = m->b[h & (m->nb - 1)];
	m->b[h & (m->nb - 1)] = e;
	m->count++;
	return e->val;
}

int kmap_del(struct kmap *m, const void *key, size_t klen)
{
	uint64_t h = hash_bytes(key, klen, 7);
	struct kmap_ent **pp = &m->b[h & (m->nb - 1)], *e;

	for (; (e = *pp); pp = &e->next) {
		if (e->hash == h && e->klen == klen && !memcmp(e->key, key, klen)) {
			*pp = e->next;
			free(e->val);
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
	size_t i, n = 0;

	for (i = 0; i < m->nb; i++) {
		struct kmap_ent *e;

		for (e = m->b[i]; e; e = e->next)
			arr[n++] = e;
	}
	return arr;
}

void kmap_free(struct kmap *m)
{
	size_t i;

	for (i = 0; i < m->nb; i++) {
		struct kmap_ent *e = m->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e->val);
			free(e);
		}
	}
	free(m->b);
	free(m->other);
	memset(m, 0, sizeof(*m));
}
