/*
 * tests/fuzz/fuzz-pcapng.c: capture files, written and read.
 *
 * Two kinds of input, told apart by the first byte:
 *
 *  - a capture file (starts with a pcap or pcapng magic): handed over as
 *    a memfd so input.c opens it by path exactly as a file on disk, then
 *    through the pipeline and both reports. pcapng exercises our own block
 *    reader, classic pcap libpcap and read_pcap(). Damaged files must end
 *    in an error or a warning, never a crash or a hang.
 *
 *  - 'W': the writer round trip. The input describes interfaces and
 *    packets; pcapng-write.c writes them (pcapng, or classic pcap when
 *    bit 0 of byte 1 is set), input.c reads the file back, and every
 *    packet must come back as written: bytes, lengths, time, link type,
 *    interface name (escaped, as the reader shows it).
 *      byte 1: bit 0 classic pcap; bits 1-2 number of interfaces - 1
 *      per interface: link type selector, name length (0-63), name bytes
 *      per packet: interface, time (8 bytes), caplen (2), extra len (1), data
 */
#define _GNU_SOURCE
#include "config.h"
#include "fuzz.h"
#include "pcapng-write.h"

#include <sys/mman.h>
#include <unistd.h>

#define MAXPKT 64

static const int linktypes[] = { LT_ETHERNET, LT_RAW, LT_LINUX_SLL, LT_LINUX_SLL2, LT_NULL,
				 LT_PPP, LT_IPV4, LT_IPV6 };

static int memfd(const uint8_t *data, size_t size, char *path, size_t n)
{
	int fd = memfd_create("fuzz-capture", 0);

	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, n, "/proc/self/fd/%d", fd);
	return fd;
}

static void read_file(const uint8_t *data, size_t size)
{
	struct analysis_opts o;
	struct analysis a;
	char path[64];
	char *paths[1] = { path };
	int fd = memfd(data, size, path, sizeof(path));

	fuzz_opts(&o);
	analysis_init(&a, &o, paths, 1);
	if (analysis_run(&a) == 0)
		fuzz_reports(&a);
	analysis_release(&a);
	analysis_opts_free(&o);
	close(fd);
}

/* ---- the writer round trip ----------------------------------------------- */

struct wpkt {
	const uint8_t *data;
	uint32_t caplen, len;
	ts_t ts;
	int ifid;
};

struct rt {
	struct wpkt want[MAXPKT];
	int nwant, ngot, classic;
	int lt[4];
	char name[4][300]; /* as the reader shows it */
};

static void got_pkt(void *ctx, struct pkt *p)
{
	struct rt *rt = ctx;
	const struct wpkt *w;
	const char *in;

	if (rt->ngot >= rt->nwant)
		abort(); /* more packets than were written */
	w = &rt->want[rt->ngot++];
	if (p->caplen != w->caplen || p->len != w->len || p->ts != w->ts ||
	    memcmp(p->data, w->data, w->caplen) || p->linktype != rt->lt[w->ifid]) {
		fprintf(stderr, "packet %d differs after the round trip\n", rt->ngot);
		abort();
	}
	/* (the run-wide interface table stops growing at 4096 names) */
	if (!rt->classic && (p->ifindex >= 0 || iface_count() < 4096)) {
		in = iface_name(p->ifindex);
		if (!in || strcmp(in, rt->name[w->ifid])) {
			fprintf(stderr, "interface name '%s', expected '%s'\n", in ? in : "(null)",
				rt->name[w->ifid]);
			abort();
		}
	}
}

/* The reader's name for an interface: if_name escaped, cut between
 * escapes to fit 127 characters (input.c, ng_add_iface). */
static void shown_name(char *out, size_t outsize, const char *raw)
{
	struct sbuf esc = SBUF_INIT;
	size_t i, kept = 0;

	for (i = 0; raw[i]; i++) {
		sbuf_add_escaped(&esc, raw + i, 1);
		if (esc.len > 127)
			break;
		kept = esc.len;
	}
	snprintf(out, outsize, "%.*s", (int)kept, kept ? esc.buf : "");
	sbuf_release(&esc);
}

static void round_trip(const uint8_t *data, size_t size)
{
	static struct rt rt;
	struct sbuf sb = SBUF_INIT;
	struct input in;
	char path[64];
	char *paths[1] = { path };
	size_t off = 2;
	int nif, i, fd;

	if (size < 2)
		return;
	memset(&rt, 0, sizeof(rt));
	fd = memfd(NULL, 0, path, sizeof(path)); /* its path names interfaces */
	rt.classic = data[1] & 1;
	nif = rt.classic ? 1 : ((data[1] >> 1) & 3) + 1;
	if (!rt.classic)
		pcapng_put_shb(&sb, "dnsvet fuzz");
	for (i = 0; i < nif; i++) {
		char raw[64] = "";
		size_t n = 0;

		rt.lt[i] = LT_ETHERNET;
		if (off + 2 <= size) {
			rt.lt[i] = linktypes[data[off] % ARRAY_SIZE(linktypes)];
			n = MIN((size_t)(data[off + 1] & 63), size - off - 2);
			memcpy(raw, data + off + 2, n);
			raw[n] = '\0'; /* a NUL inside ends the name, as in the file */
			off += 2 + n;
		}
		if (rt.classic) {
			pcapfile_put_header(&sb, rt.lt[0], 65535);
			continue;
		}
		pcapng_put_idb(&sb, rt.lt[i], 65535, raw);
		if (raw[0])
			shown_name(rt.name[i], sizeof(rt.name[i]), raw);
		else
			snprintf(rt.name[i], sizeof(rt.name[i]), "%s#%d", path, i);
	}
	while (off + 12 <= size && rt.nwant < MAXPKT) {
		struct wpkt *w = &rt.want[rt.nwant++];
		uint64_t t;

		w->ifid = data[off] % nif;
		memcpy(&t, data + off + 1, 8);
		w->caplen = ((uint32_t)data[off + 9] << 8) | data[off + 10];
		w->caplen = MIN(w->caplen, (uint32_t)(size - off - 12));
		w->len = w->caplen + data[off + 11];
		w->data = data + off + 12;
		off += 12 + w->caplen;
		/* times each format can hold: pcap a signed 32-bit second,
		 * pcapng what the reader accepts (up to 2^62 ns) */
		w->ts = rt.classic ? (ts_t)(t % ((uint64_t)INT32_MAX * NS_PER_SEC))
				   : (ts_t)(t % ((uint64_t)1 << 62));
		if (rt.classic)
			pcapfile_put_record(&sb, w->ts, w->data, w->caplen, w->len);
		else
			pcapng_put_epb(&sb, (uint32_t)w->ifid, w->ts, w->data, w->caplen, w->len);
	}
	if (!rt.classic && rt.nwant)
		pcapng_put_isb(&sb, 0, rt.want[rt.nwant - 1].ts, (uint64_t)rt.nwant, 0);
	if (sb.len && write(fd, sb.buf, sb.len) != (ssize_t)sb.len)
		abort();
	memset(&in, 0, sizeof(in));
	in.paths = paths;
	in.npaths = 1;
	in.quiet = 1;
	if (input_run(&in, got_pkt, &rt) != 0 || rt.ngot != rt.nwant || in.st.truncated_files) {
		fprintf(stderr, "read back %d of %d packets\n", rt.ngot, rt.nwant);
		abort();
	}
	close(fd);
	sbuf_release(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size && data[0] == 'W')
		round_trip(data, size);
	else
		read_file(data, size);
	return 0;
}
