/*
 * input.c: capture files -> struct pkt.
 *
 * Classic pcap is read by read_pcap_fast() below (libpcap's per-packet
 * freads cost more than everything else dnsvet does; the numbers are at
 * that function), with libpcap (pcap_fopen_offline_with_tstamp_precision)
 * for any header it does not know. pcapng is read by the block reader below, because
 * libpcap 1.10 (Debian 12) drops the Enhanced Packet Block's interface id
 * (struct pcap_pkthdr has no field for it) and refuses files whose
 * interfaces have different link types; we need both to keep every packet's
 * capture interface. The reader handles SHB (either byte order, several
 * sections), IDB (if_name, if_tsresol, if_tsoffset), EPB, SPB and the
 * obsolete Packet Block, and skips every other block type.
 *
 * The file type is sniffed from the first four bytes; for a pipe those bytes
 * are handed back to libpcap through a fopencookie() stream.
 */

#include "config.h"
#include "input.h"

#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- interfaces ------------------------------------------------------- */

static char **ifaces;
static int nifaces;

int32_t iface_intern(const char *name)
{
	int i;

	for (i = 0; i < nifaces; i++)
		if (!strcmp(ifaces[i], name))
			return i;
	if (nifaces >= 4096)
		return -1; /* absurd; treat as unknown rather than grow forever */
	ifaces = xrealloc(ifaces, (size_t)(nifaces + 1) * sizeof(*ifaces));
	ifaces[nifaces] = xstrdup(name);
	return nifaces++;
}

const char *iface_name(int32_t id)
{
	return id >= 0 && id < nifaces ? ifaces[id] : NULL;
}

int iface_count(void)
{
	return nifaces;
}

static char **file_names;
static int nfile_names;

void input_register_file(int i, const char *path)
{
	if (i >= nfile_names) {
		file_names = xrealloc(file_names, (size_t)(i + 1) * sizeof(*file_names));
		while (nfile_names <= i)
			file_names[nfile_names++] = NULL;
	}
	free(file_names[i]);
	file_names[i] = xstrdup(path);
}

const char *input_file_name(int i)
{
	return i >= 0 && i < nfile_names && file_names[i] ? file_names[i] : "?";
}

int linktype_from_dlt(int dlt)
{
	switch (dlt) {
	case DLT_NULL: return LT_NULL;
	case DLT_EN10MB: return LT_ETHERNET;
	case DLT_PPP: return LT_PPP;
#ifdef DLT_PPP_SERIAL
	case DLT_PPP_SERIAL: return LT_PPP_HDLC;
#endif
	case DLT_RAW: return LT_RAW;
#if defined(DLT_LOOP)
	case DLT_LOOP: return LT_LOOP;
#endif
	case DLT_LINUX_SLL: return LT_LINUX_SLL;
#ifdef DLT_LINUX_SLL2
	case DLT_LINUX_SLL2: return LT_LINUX_SLL2;
#endif
#ifdef DLT_IPV4
	case DLT_IPV4: return LT_IPV4;
#endif
#ifdef DLT_IPV6
	case DLT_IPV6: return LT_IPV6;
#endif
	default:
		/* DLT_RAW is 12 or 14 depending on the OS; LINKTYPE_RAW is 101 */
		if (dlt == 12 || dlt == 14)
			return LT_RAW;
		return 1000 + dlt; /* unknown: decode.c counts it */
	}
}

/* ---- a stream with a pushed-back prefix (for pipes) --------------------- */

struct prefixed {
	FILE *fp;
	unsigned char pre[24];
	size_t npre, off;
};

static ssize_t prefixed_read(void *cookie, char *buf, size_t size)
{
	struct prefixed *pf = cookie;
	size_t n = 0;

	while (pf->off < pf->npre && n < size)
		buf[n++] = (char)pf->pre[pf->off++];
	if (n < size)
		n += fread(buf + n, 1, size - n, pf->fp);
	return (ssize_t)n;
}

static int prefixed_close(void *cookie)
{
	struct prefixed *pf = cookie;
	int r = pf->fp == stdin ? 0 : fclose(pf->fp);

	free(pf);
	return r;
}

/* A stream that reads n (<= 24) bytes already taken from fp, then fp. */
static FILE *push_back(FILE *fp, const unsigned char *bytes, size_t n)
{
	cookie_io_functions_t io = { .read = prefixed_read, .close = prefixed_close };
	struct prefixed *pf = xcalloc(1, sizeof(*pf));
	FILE *wrapped;

	pf->fp = fp;
	memcpy(pf->pre, bytes, n);
	pf->npre = n;
	wrapped = fopencookie(pf, "rb", io);
	if (!wrapped)
		die("fopencookie failed: %s", strerror(errno));
	return wrapped;
}

/* ---- pcapng ------------------------------------------------------------- */

#define PCAPNG_SHB 0x0A0D0D0AU
#define PCAPNG_MAX_BLOCK (16U * 1024 * 1024)

struct ng_iface {
	int linktype;
	int32_t global;	 /* index in the run-wide table */
	uint64_t tsdiv;	 /* ticks per second */
	uint64_t tsmul;	 /* ns per tick if that is whole (1000 for us), else 0 */
	int64_t tsoff;	 /* seconds */
};

/*
 * Blocks are read through a window of our own, 64 KB at a time as
 * read_pcap_fast() does. Straight from stdio, each block was two locked
 * fread() calls and every 4 KB a read(): 68,000 system calls for the
 * bench trace cut in four pcapng files, and the reading about 10 % of a
 * --detectors none run (perf; numbers at ng_fread()). pcapng is what
 * `dnsvet capture` writes for several interfaces.
 */
#define NG_WIN (64 * 1024)

struct ng_reader {
	FILE *fp;
	unsigned char *win; /* NG_WIN bytes; [wpos, wlen) not yet read */
	size_t wpos, wlen;
	int swap;
	struct ng_iface *ifs;
	int nifs;
	unsigned char *buf;
	size_t alloc;
	uint64_t offset; /* of the next block */
	uint64_t at;	 /* of the block being read: where a warning says we stopped */
	int section;	 /* sections seen, to name interfaces uniquely */
	ts_t last_ts;
};

static uint32_t ng32(const struct ng_reader *r, const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return r->swap ? __builtin_bswap32(v) : v;
}

static uint16_t ng16(const struct ng_reader *r, const unsigned char *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return r->swap ? __builtin_bswap16(v) : v;
}

static void ng_add_iface(struct ng_reader *r, const unsigned char *b, uint32_t blen,
			 const char *path)
{
	struct ng_iface *nif;
	char name[128] = "";
	uint32_t off = 16; /* type, len, linktype+reserved, snaplen */

	r->ifs = xrealloc(r->ifs, (size_t)(r->nifs + 1) * sizeof(*r->ifs));
	nif = &r->ifs[r->nifs];
	nif->linktype = blen >= 12 ? ng16(r, b + 8) : -1;
	nif->tsdiv = 1000000;
	nif->tsoff = 0;
	while (off + 4 <= blen - 4) {
		uint16_t code = ng16(r, b + off), olen = ng16(r, b + off + 2);
		const unsigned char *v = b + off + 4;

		if (code == 0 || off + 4 + olen > blen - 4)
			break;
		if (code == 2 && olen > 0) { /* if_name */
			size_t i, n = strnlen((const char *)v, olen), kept = 0;
			struct sbuf sb = SBUF_INIT;

			/* escaped byte by byte, so a long name is cut between
			 * escapes ("\x1" would name another byte) */
			for (i = 0; i < n; i++) {
				sbuf_add_escaped(&sb, v + i, 1);
				if (sb.len > sizeof(name) - 1)
					break;
				kept = sb.len;
			}
			if (kept)
				memcpy(name, sb.buf, kept);
			name[kept] = '\0';
			sbuf_release(&sb);
		} else if (code == 9 && olen >= 1) { /* if_tsresol */
			unsigned e = v[0] & 0x7f;
			uint64_t d = 1;
			unsigned i;

			/* the largest divisors that fit in 64 bits */
			if (e > ((v[0] & 0x80) ? 63U : 19U))
				e = (v[0] & 0x80) ? 63U : 19U;
			for (i = 0; i < e; i++)
				d *= (v[0] & 0x80) ? 2 : 10;
			nif->tsdiv = d ? d : 1000000;
		} else if (code == 14 && olen >= 8) { /* if_tsoffset */
			memcpy(&nif->tsoff, v, 8);
			if (r->swap)
				nif->tsoff = (int64_t)__builtin_bswap64((uint64_t)nif->tsoff);
		}
		off += 4 + ((olen + 3U) & ~3U);
	}
	nif->tsmul = NS_PER_SEC % nif->tsdiv ? 0 : NS_PER_SEC / nif->tsdiv;
	if (!name[0])
		snprintf(name, sizeof(name), "%s#%d", path, r->nifs);
	nif->global = iface_intern(name);
	r->nifs++;
}

/* fread(dst, 1, n, r->fp) through the window. On the bench trace as
 * pcapng (2 M packets, --detectors none, mean CPU of 6 alternating runs,
 * 2026-12-03): 1.31 s before (0.15 of it system time), 1.18 after (0.08);
 * classic pcap took 1.08 to 1.11 in the same runs. */
static size_t ng_fread(struct ng_reader *r, void *dst, size_t n)
{
	size_t got = 0, k;

	if (!r->win) /* not a file: see read_pcapng() */
		return fread(dst, 1, n, r->fp);
	while (got < n) {
		if (r->wpos == r->wlen) {
			if (n - got >= NG_WIN) /* a big block: no need to copy twice */
				return got + fread((char *)dst + got, 1, n - got, r->fp);
			r->wpos = 0;
			r->wlen = fread(r->win, 1, NG_WIN, r->fp);
			if (!r->wlen)
				break;
		}
		k = MIN(n - got, r->wlen - r->wpos);
		memcpy((char *)dst + got, r->win + r->wpos, k);
		r->wpos += k;
		got += k;
	}
	return got;
}

/* Read one block into r->buf. 1 = ok, 0 = clean EOF, -1 = truncated/bad. */
static int ng_read_block(struct ng_reader *r, uint32_t *type, uint32_t *len,
			 const char **why)
{
	unsigned char hdr[8];
	size_t n = ng_fread(r, hdr, 8);

	r->at = r->offset;

	if (n == 0)
		return 0;
	if (n < 8) {
		*why = "file ends inside a block header";
		return -1;
	}
	memcpy(type, hdr, 4);
	if (*type == PCAPNG_SHB) {
		unsigned char bom[4];
		uint32_t magic;

		if (ng_fread(r, bom, 4) != 4) {
			*why = "file ends inside a section header";
			return -1;
		}
		memcpy(&magic, bom, 4);
		if (magic == 0x1A2B3C4D)
			r->swap = 0;
		else if (magic == 0x4D3C2B1A)
			r->swap = 1;
		else {
			*why = "bad byte-order magic in a section header";
			return -1;
		}
		r->nifs = 0; /* interface ids are per section */
		r->section++;
		*len = ng32(r, hdr + 4);
		if (*len < 28 || *len > PCAPNG_MAX_BLOCK || (*len & 3)) {
			*why = "bad section header length";
			return -1;
		}
		if (r->alloc < *len) {
			r->buf = xrealloc(r->buf, *len);
			r->alloc = *len;
		}
		memcpy(r->buf, hdr, 8);
		memcpy(r->buf + 8, bom, 4);
		if (ng_fread(r, r->buf + 12, *len - 12) != *len - 12) {
			*why = "file ends inside a section header";
			return -1;
		}
		/* a new major version may change any block: do not guess */
		if (ng16(r, r->buf + 12) != 1) {
			*why = "section header of a pcapng major version other than 1";
			return -1;
		}
		r->offset += *len;
		return 1;
	}
	*type = ng32(r, hdr);
	*len = ng32(r, hdr + 4);
	if (*len < 12 || *len > PCAPNG_MAX_BLOCK || (*len & 3)) {
		*why = "bad block length";
		return -1;
	}
	if (r->alloc < *len) {
		r->buf = xrealloc(r->buf, *len);
		r->alloc = *len;
	}
	memcpy(r->buf, hdr, 8);
	if (ng_fread(r, r->buf + 8, *len - 8) != *len - 8) {
		*why = "file ends inside a block";
		return -1;
	}
	if (ng32(r, r->buf + *len - 4) != *len) {
		*why = "block trailer does not match its length";
		return -1;
	}
	r->offset += *len;
	return 1;
}

/*
 * Ticks of an interface -> ns since the epoch, in 128-bit arithmetic so no
 * resolution (10^-19 to 2^-63 s) loses the fraction. A damaged block or
 * if_tsoffset can name a time int64 nanoseconds cannot hold, and times
 * near that limit would overflow later sums (time + window): anything
 * beyond +-2^62 ns (146 years from 1970) is refused with -1.
 */
#define TS_LIMIT (INT64_C(1) << 62)
static int ng_ts(const struct ng_iface *nif, uint64_t ticks, ts_t *out)
{
	__int128 t;

	/* the usual case (micro- or nanoseconds, no offset), without the
	 * 128-bit division (__udivti3: 0.5 % of a pipeline-only run); the
	 * same value, as tsdiv * tsmul is 10^9 */
	if (nif->tsmul && !nif->tsoff && ticks <= (uint64_t)TS_LIMIT / nif->tsmul) {
		*out = (ts_t)(ticks * nif->tsmul);
		return 0;
	}
	t = (__int128)(ticks / nif->tsdiv) + nif->tsoff;

	t = t * NS_PER_SEC + (__int128)((unsigned __int128)(ticks % nif->tsdiv) * NS_PER_SEC /
					nif->tsdiv);
	if (t > TS_LIMIT || t < -TS_LIMIT)
		return -1;
	*out = (ts_t)t;
	return 0;
}

/* Returns 0 when done (warning printed if the file was cut short). */
static int read_pcapng(struct input *in, FILE *fp, int fileno_, const char *path,
		       pkt_fn fn, void *ctx)
{
	struct ng_reader r = { .fp = fp, .offset = 0 };
	struct stat st;
	uint64_t frame = 0;
	const char *why = NULL;
	int rc;

	/* the window for a regular file only: a 64 KB read from a pipe
	 * waits for 64 KB, and a live pipe (dumpcap -w - | dnsvet tx
	 * --no-tags -) would show its packets eight times later than through
	 * stdio's 8 KB (standard input always comes as a stream of our own,
	 * push_back(), which has no descriptor) */
	if (fileno(fp) >= 0 && fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode))
		r.win = xmalloc(NG_WIN);
	for (;;) {
		uint32_t type, len;
		struct pkt p;
		const unsigned char *b;

		if (in->stop && *in->stop)
			break;
		rc = ng_read_block(&r, &type, &len, &why);
		if (rc <= 0)
			break;
		b = r.buf;
		if (type == PCAPNG_SHB)
			continue;
		if (type == 1) { /* IDB */
			if (len < 20) {
				why = "interface block too short";
				rc = -1;
				break;
			}
			ng_add_iface(&r, b, len, path);
			continue;
		}
		memset(&p, 0, sizeof(p));
		if (type == 6 || type == 2) { /* EPB, obsolete PB */
			uint32_t ifid, caplen, origlen;
			uint64_t ticks;

			if (len < 32) {
				why = "packet block too short";
				rc = -1;
				break;
			}
			ifid = type == 6 ? ng32(&r, b + 8) : ng16(&r, b + 8);
			ticks = ((uint64_t)ng32(&r, b + 12) << 32) | ng32(&r, b + 16);
			caplen = ng32(&r, b + 20);
			origlen = ng32(&r, b + 24);
			if (caplen > len - 32) {
				why = "packet block captured length exceeds the block";
				rc = -1;
				break;
			}
			frame++;
			if (ifid >= (uint32_t)r.nifs) {
				/* no such interface: count as undecodable, keep going */
				in->st.packets++;
				in->st.unsupported_link++;
				continue;
			}
			p.data = b + 28;
			p.caplen = caplen;
			p.len = origlen;
			if (ng_ts(&r.ifs[ifid], ticks, &p.ts) < 0)
				p.ts = r.last_ts; /* out of range: keep the clock sane */
			p.linktype = r.ifs[ifid].linktype;
			p.ifindex = r.ifs[ifid].global;
		} else if (type == 3) { /* SPB: no timestamp, interface 0 */
			if (len < 16 || r.nifs < 1) {
				frame++;
				continue;
			}
			frame++;
			p.data = b + 12;
			p.len = ng32(&r, b + 8);
			p.caplen = MIN(p.len, len - 16);
			p.ts = r.last_ts;
			p.linktype = r.ifs[0].linktype;
			p.ifindex = r.ifs[0].global;
		} else {
			continue; /* NRB, ISB, DSB, custom...: nothing for us */
		}
		p.file = (uint16_t)fileno_;
		p.frame = frame;
		r.last_ts = p.ts;
		in->st.packets++;
		in->st.bytes += p.caplen;
		if (!in->st.first_ts || p.ts < in->st.first_ts)
			in->st.first_ts = p.ts;
		if (p.ts > in->st.last_ts)
			in->st.last_ts = p.ts;
		fn(ctx, &p);
	}
	if (rc < 0) {
		in->st.truncated_files++;
		if (!in->quiet)
			warning("'%s' is damaged or truncated after frame %" PRIu64
			" (byte offset %" PRIu64 "): %s; results cover what was read",
			path, frame, r.at, why);
	}
	free(r.buf);
	free(r.win);
	free(r.ifs);
	return 0;
}

/* ---- classic pcap through libpcap ------------------------------------- */

static int read_pcap(struct input *in, FILE *fp, int fileno_, const char *path,
		     pkt_fn fn, void *ctx)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	pcap_t *pc;
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t frame = 0;
	int linktype, rc;
	int32_t ifindex = -1;

	pc = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO,
						       errbuf);
	if (!pc) {
		if (fp != stdin)
			fclose(fp);
		return error("'%s' is not a capture file libpcap can read: %s", path, errbuf);
	}
	linktype = linktype_from_dlt(pcap_datalink(pc));
	while (!(in->stop && *in->stop)) {
		struct pkt p;

		rc = pcap_next_ex(pc, &h, &data);
		if (rc != 1)
			break;
		frame++;
		p.data = data;
		p.caplen = h->caplen;
		p.len = h->len;
		p.ts = (ts_t)h->ts.tv_sec * NS_PER_SEC + h->ts.tv_usec;
		p.linktype = linktype;
		p.ifindex = ifindex;
		p.file = (uint16_t)fileno_;
		p.frame = frame;
		in->st.packets++;
		in->st.bytes += p.caplen;
		if (!in->st.first_ts || p.ts < in->st.first_ts)
			in->st.first_ts = p.ts;
		if (p.ts > in->st.last_ts)
			in->st.last_ts = p.ts;
		fn(ctx, &p);
	}
	if (!(in->stop && *in->stop) && rc == PCAP_ERROR) {
		in->st.truncated_files++;
		if (!in->quiet)
			warning("'%s' is truncated or damaged after frame %" PRIu64
			": %s; results cover what was read", path, frame, pcap_geterr(pc));
	}
	pcap_close(pc); /* closes fp too */
	return 0;
}

/*
 * Classic pcap read by hand. libpcap's pcap_next_ex() does two fread()
 * calls per packet (record header, then data) through stdio's 4 KB buffer:
 * about 470 instructions per packet, by itself a quarter of everything
 * dnsvet did per packet on the bench trace. Reading 256 KB at a time and
 * walking the records in place is about 30. The checks are libpcap's
 * (sf-pcap.c): a record longer than MAX_CAPLEN means a damaged file, one
 * longer than the file's snaplen is cut to it; a file that ends inside a
 * record is truncated. Headers this reader does not know (a major version
 * other than 2) go to libpcap, which says why it cannot read them.
 */
#define PCAP_BUF (64 * 1024) /* grows for a record that does not fit */
#define MAX_CAPLEN 262144 /* libpcap's MAXIMUM_SNAPLEN */

static uint32_t get32(const unsigned char *p, int swap)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

/* LINKTYPE_ value of a savefile header; DLT_RAW as written on some OSes too */
static int pcap_linktype(uint32_t field)
{
	uint32_t lt = field & 0x03ffffff; /* the upper bits say FCS length */

	return lt == 12 || lt == 14 ? LT_RAW : (int)lt;
}

/* Returns 0 when done (warning printed if the file was cut short), 1 if
 * the header is one for libpcap (*hdr holds its 24 bytes), -1 on error. */
static int read_pcap_fast(struct input *in, FILE *fp, int fileno_, const char *path,
			  pkt_fn fn, void *ctx, unsigned char *hdr)
{
	unsigned char *buf;
	size_t have, pos = 0, n, size = PCAP_BUF;
	uint32_t magic, snaplen, tsmul;
	uint64_t frame = 0;
	const char *why = NULL;
	char whybuf[128];
	int swap, linktype;

	n = fread(hdr, 1, 24, fp);
	if (n < 24) {
		if (fp != stdin)
			fclose(fp);
		return error("'%s' is not a capture file libpcap can read: %s", path,
			     "truncated dump file; tried to read 24 file header bytes");
	}
	memcpy(&magic, hdr, 4);
	swap = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
	tsmul = magic == 0xa1b23c4d || magic == 0x4d3cb2a1 ? 1 : 1000;
	{
		uint16_t major;

		memcpy(&major, hdr + 4, 2);
		if (swap)
			major = __builtin_bswap16(major);
		if (major != 2)
			return 1;
	}
	snaplen = get32(hdr + 16, swap);
	if (snaplen == 0 || snaplen > MAX_CAPLEN)
		snaplen = MAX_CAPLEN;
	linktype = pcap_linktype(get32(hdr + 20, swap));
	buf = xmalloc(size);
	have = fread(buf, 1, size, fp);
	while (!(in->stop && *in->stop)) {
		uint32_t caplen, len, keep;
		struct pkt p;

		if (have - pos < 16 || have - pos < 16 + (size_t)get32(buf + pos + 8, swap)) {
			/* the next record is not all in the buffer: refill */
			memmove(buf, buf + pos, have - pos);
			have -= pos;
			pos = 0;
			if (have >= 16 && 16 + (size_t)get32(buf + 8, swap) > size &&
			    get32(buf + 8, swap) <= MAX_CAPLEN) {
				size = 16 + (size_t)MAX_CAPLEN;
				buf = xrealloc(buf, size);
			}
			have += fread(buf + have, 1, size - have, fp);
			if (have == 0)
				break; /* clean end of file */
			if (have < 16) {
				snprintf(whybuf, sizeof(whybuf), "truncated dump file; tried to read "
					 "16 header bytes, only got %zu", have);
				why = whybuf;
				break;
			}
		}
		caplen = get32(buf + pos + 8, swap);
		len = get32(buf + pos + 12, swap);
		if (caplen > MAX_CAPLEN) {
			snprintf(whybuf, sizeof(whybuf), "invalid packet capture length %u, "
				 "bigger than maximum of %u", caplen, MAX_CAPLEN);
			why = whybuf;
			break;
		}
		if (have - pos < 16 + (size_t)caplen) {
			snprintf(whybuf, sizeof(whybuf), "truncated dump file; tried to read %u "
				 "captured bytes, only got %zu", caplen, have - pos - 16);
			why = whybuf;
			break;
		}
		keep = MIN(caplen, snaplen);
		frame++;
		p.data = buf + pos + 16;
		p.caplen = keep;
		p.len = len;
		p.ts = (ts_t)get32(buf + pos, swap) * NS_PER_SEC +
		       (ts_t)get32(buf + pos + 4, swap) * tsmul;
		p.linktype = linktype;
		p.ifindex = -1;
		p.file = (uint16_t)fileno_;
		p.frame = frame;
		pos += 16 + (size_t)caplen;
		in->st.packets++;
		in->st.bytes += p.caplen;
		if (!in->st.first_ts || p.ts < in->st.first_ts)
			in->st.first_ts = p.ts;
		if (p.ts > in->st.last_ts)
			in->st.last_ts = p.ts;
		fn(ctx, &p);
	}
	if (why) {
		in->st.truncated_files++;
		warning("'%s' is truncated or damaged after frame %" PRIu64
			": %s; results cover what was read", path, frame, why);
	}
	free(buf);
	if (fp != stdin)
		fclose(fp);
	return 0;
}

/* The compressor whose magic number a file starts with, if any: a
 * rotated capture is often kept compressed, and "no magic number" alone
 * does not say what to do. */
struct compressor {
	const char *magic, *name, *cat;
	size_t len;
};

static const struct compressor *compressed(const unsigned char *m)
{
	static const struct compressor c[] = {
		{ "\x1f\x8b", "gzip", "zcat", 2 },
		{ "\xfd" "7zX", "xz", "xzcat", 4 },
		{ "\x28\xb5\x2f\xfd", "zstd", "zstdcat", 4 },
		{ "BZh", "bzip2", "bzcat", 3 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(c); i++)
		if (!memcmp(m, c[i].magic, c[i].len))
			return &c[i];
	return NULL;
}

/* Open path, sniff the magic and return a stream positioned at byte 0.
 * Messages call the file name (what the user gave). */
static FILE *open_capture(const char *path, const char *name, int *is_ng)
{
	unsigned char magic[4];
	FILE *fp;
	size_t n;
	uint32_t m;
	struct stat st;

	if (!strcmp(path, "-")) {
		fp = stdin;
	} else {
		fp = fopen(path, "rb");
		if (!fp) {
			error("unable to open '%s': %s", name, strerror(errno));
			return NULL;
		}
		if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
			error("'%s' is a directory, not a capture file", name);
			fclose(fp);
			return NULL;
		}
	}
	n = fread(magic, 1, 4, fp);
	if (n < 4) {
		error("'%s' is not a capture file: %s", name,
		      n == 0 ? "it is empty" : "it is shorter than a file header");
		if (fp != stdin)
			fclose(fp);
		return NULL;
	}
	memcpy(&m, magic, 4);
	*is_ng = m == PCAPNG_SHB;
	if (!*is_ng && m != 0xa1b2c3d4 && m != 0xd4c3b2a1 && m != 0xa1b23c4d &&
	    m != 0x4d3cb2a1) {
		const struct compressor *c = compressed(magic);

		if (c && !strcmp(path, "-"))
			error("'-' is not a capture file: it is %s-compressed; "
			      "decompress it on the way in (%s FILE | dnsvet ...)", c->name, c->cat);
		else if (c)
			error("'%s' is not a capture file: it is %s-compressed; read it "
			      "through a pipe: <(%s '%s')", name, c->name, c->cat, name);
		else
			error("'%s' is not a capture file (no pcap or pcapng magic number; "
			      "first bytes %02x %02x %02x %02x)", name, magic[0], magic[1],
			      magic[2], magic[3]);
		if (fp != stdin)
			fclose(fp);
		return NULL;
	}
	if (fp != stdin && fseek(fp, 0, SEEK_SET) == 0)
		return fp;
	/* a pipe: hand the sniffed bytes back in front of the stream */
	return push_back(fp, magic, 4);
}

static const char *input_shown_name(const struct input *in, int i)
{
	return in->names && in->names[i] ? in->names[i] : in->paths[i];
}

int input_is_pipe(const char *path)
{
	struct stat st;

	return !strcmp(path, "-") ||
	       (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode));
}

int input_stdin_once(char *const *paths, int n)
{
	int i, seen = 0;

	for (i = 0; i < n; i++)
		if (!strcmp(paths[i], "-") && seen++)
			return error("'-' (standard input) given more than once");
	return 0;
}

int input_check(struct input *in)
{
	int i, is_ng;

	if (input_stdin_once(in->paths, in->npaths) < 0)
		return -1;
	for (i = 0; i < in->npaths; i++) {
		FILE *fp;

		/* standard input or a named pipe, <(zcat trace.pcap.gz):
		 * the bytes read here would be gone when it is read for real */
		if (input_is_pipe(in->paths[i]))
			continue; /* checked when read */
		fp = open_capture(in->paths[i], input_shown_name(in, i), &is_ng);
		if (!fp)
			return -1;
		fclose(fp);
	}
	return 0;
}

int input_run(struct input *in, pkt_fn fn, void *ctx)
{
	int i, is_ng;

	for (i = 0; i < in->npaths; i++) {
		const char *path = in->paths[i], *name = input_shown_name(in, i);
		FILE *fp;
		int rc;

		if (in->stop && *in->stop)
			break;
		input_register_file(i, name);
		fp = open_capture(path, name, &is_ng);
		if (!fp)
			return -1;
		if (is_ng) {
			rc = read_pcapng(in, fp, i, name, fn, ctx);
			if (fp != stdin)
				fclose(fp);
		} else {
			unsigned char hdr[24];

			rc = read_pcap_fast(in, fp, i, name, fn, ctx, hdr);
			if (rc == 1) {
				/* not a header we read ourselves: libpcap's turn */
				if (fp == stdin || fseek(fp, 0, SEEK_SET) != 0)
					fp = push_back(fp, hdr, 24);
				rc = read_pcap(in, fp, i, name, fn, ctx);
			}
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}
