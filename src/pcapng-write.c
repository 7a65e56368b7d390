/*
 * pcapng-write.c: capture files written into memory; see pcapng-write.h.
 *
 * The layout follows draft-ietf-opsawg-pcapng: every block is
 * type, total length, body, total length again, with the body padded to a
 * multiple of 4; options are code, length, value padded to 4, ended by
 * opt_endofopt. Nothing here can fail except allocation (which dies).
 */
#include "config.h"
#include "pcapng-write.h"

#include <string.h>

enum {
	BT_SHB = 0x0A0D0D0A, BT_IDB = 1, BT_ISB = 5, BT_EPB = 6,
	OPT_END = 0, SHB_USERAPPL = 4, IF_NAME = 2, IF_TSRESOL = 9,
	ISB_STARTTIME = 2, ISB_ENDTIME = 3, ISB_IFRECV = 4, ISB_IFDROP = 5,
};

static void put32(struct sbuf *sb, uint32_t v)
{
	sbuf_add(sb, &v, 4);
}

static void put16(struct sbuf *sb, uint16_t v)
{
	sbuf_add(sb, &v, 2);
}

static void pad4(struct sbuf *sb, size_t n)
{
	static const uint8_t zero[4];

	if (n & 3)
		sbuf_add(sb, zero, 4 - (n & 3));
}

static void put_opt(struct sbuf *sb, uint16_t code, const void *v, size_t n)
{
	put16(sb, code);
	put16(sb, (uint16_t)n);
	if (n)
		sbuf_add(sb, v, n);
	pad4(sb, n);
}

/* Start a block; returns its offset, to be closed by end_block(). */
static size_t begin_block(struct sbuf *sb, uint32_t type)
{
	size_t off = sb->len;

	put32(sb, type);
	put32(sb, 0); /* total length, filled in by end_block() */
	return off;
}

static size_t end_block(struct sbuf *sb, size_t off)
{
	uint32_t total = (uint32_t)(sb->len - off + 4);

	put32(sb, total);
	memcpy(sb->buf + off + 4, &total, 4);
	return total;
}

size_t pcapng_put_shb(struct sbuf *sb, const char *app)
{
	size_t off = begin_block(sb, BT_SHB);

	put32(sb, 0x1A2B3C4D); /* byte-order magic */
	put16(sb, 1);	       /* version 1.0 */
	put16(sb, 0);
	put32(sb, 0xffffffff); /* section length unknown */
	put32(sb, 0xffffffff);
	if (app) {
		put_opt(sb, SHB_USERAPPL, app, strlen(app));
		put_opt(sb, OPT_END, NULL, 0);
	}
	return end_block(sb, off);
}

size_t pcapng_put_idb(struct sbuf *sb, int linktype, uint32_t snaplen, const char *name)
{
	size_t off = begin_block(sb, BT_IDB);
	uint8_t tsresol = 9;

	put16(sb, (uint16_t)linktype);
	put16(sb, 0);
	put32(sb, snaplen);
	if (name && *name)
		put_opt(sb, IF_NAME, name, MIN(strlen(name), 0xfff0));
	put_opt(sb, IF_TSRESOL, &tsresol, 1);
	put_opt(sb, OPT_END, NULL, 0);
	return end_block(sb, off);
}

static void put_ts(struct sbuf *sb, ts_t ts)
{
	uint64_t t = (uint64_t)ts;

	put32(sb, (uint32_t)(t >> 32));
	put32(sb, (uint32_t)t);
}

size_t pcapng_put_epb(struct sbuf *sb, uint32_t ifid, ts_t ts, const uint8_t *data,
		      uint32_t caplen, uint32_t len)
{
	size_t off;

	sbuf_grow(sb, 32 + (size_t)caplen + 3);
	off = begin_block(sb, BT_EPB);
	put32(sb, ifid);
	put_ts(sb, ts);
	put32(sb, caplen);
	put32(sb, len);
	sbuf_add(sb, data, caplen);
	pad4(sb, caplen);
	return end_block(sb, off);
}

size_t pcapng_put_isb(struct sbuf *sb, uint32_t ifid, ts_t ts, uint64_t recv, uint64_t drop)
{
	size_t off = begin_block(sb, BT_ISB);

	put32(sb, ifid);
	put_ts(sb, ts);
	put_opt(sb, ISB_IFRECV, &recv, 8);
	put_opt(sb, ISB_IFDROP, &drop, 8);
	put_opt(sb, OPT_END, NULL, 0);
	return end_block(sb, off);
}

size_t pcapfile_put_header(struct sbuf *sb, int linktype, uint32_t snaplen)
{
	put32(sb, 0xa1b23c4d); /* nanosecond timestamps */
	put16(sb, 2);
	put16(sb, 4);
	put32(sb, 0); /* thiszone */
	put32(sb, 0); /* sigfigs */
	put32(sb, snaplen);
	put32(sb, (uint32_t)linktype);
	return PCAPFILE_HDR_LEN;
}

size_t pcapfile_put_record(struct sbuf *sb, ts_t ts, const uint8_t *data, uint32_t caplen,
			   uint32_t len)
{
	sbuf_grow(sb, PCAPFILE_REC_HDR_LEN + (size_t)caplen);
	put32(sb, (uint32_t)(ts / NS_PER_SEC));
	put32(sb, (uint32_t)(ts % NS_PER_SEC));
	put32(sb, caplen);
	put32(sb, len);
	sbuf_add(sb, data, caplen);
	return PCAPFILE_REC_HDR_LEN + caplen;
}
