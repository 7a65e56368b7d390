/*
 * addr.c: IPv4/IPv6 addresses as the pipeline stores them.
 */
#include "config.h"
#include "dnsvet.h"

#include <arpa/inet.h>
#include <string.h>

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
