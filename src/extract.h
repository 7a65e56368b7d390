/*
 * extract.h: bounds-checked big-endian reads, in the spirit of tcpdump's
 * extract.h. Callers check the length once and then read; a read past the
 * end is a bug, never something a packet can cause.
 */
#ifndef DNSVET_EXTRACT_H
#define DNSVET_EXTRACT_H

#include <stdint.h>

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(((unsigned)p[0] << 8) | p[1]);
}

static inline uint32_t be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint32_t le32(const uint8_t *p)
{
	return ((uint32_t)p[3] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[1] << 8) | p[0];
}

#endif
