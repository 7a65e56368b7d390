/*
 * addr.c: IPv4/IPv6 addresses as the pipeline stores them.
 */
#include "config.h"
#include "dnsvet.h"

#include <arpa/inet.h>
#include <string.h>

int addr_eq(const struct addr *x, const struct addr *y)
{
	if (x->family != y->family)
		return 0;
	return !memcmp(x->a, y->a, x->family == 4 ? 4 : 16);
}

uint64_t addr_hash(const struct addr *a, uint64_t seed)
{
	uint64_t w0, w1 = 0;

	if (a->family == 4) {
		uint32_t v;

		memcpy(&v, a->a, 4);
		return hash_mix(v ^ (seed * UINT64_C(0x9e3779b97f4a7c15)));
	}
	memcpy(&w0, a->a, 8);
	memcpy(&w1, a->a + 8, 8);
	return hash_mix(w0 ^ hash_mix(w1 ^ (seed * UINT64_C(0x9e3779b97f4a7c15))));
}

const char *addr_str(const struct addr *a, char *buf, size_t n)
{
	if (a->family == 4)
		inet_ntop(AF_INET, a->a, buf, (socklen_t)n);
	else if (a->family == 6)
		inet_ntop(AF_INET6, a->a, buf, (socklen_t)n);
	else
		snprintf(buf, n, "-");
	return buf;
}

int addr_parse(const char *s, struct addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->a) == 1) {
		a->family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->a) == 1) {
		a->family = 6;
		return 0;
	}
	return -1;
}
