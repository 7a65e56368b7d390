/*
 * capture.c: live capture from one or more interfaces with libpcap.
 *
 * Each interface is opened with pcap_create()/pcap_activate() (so the
 * kernel buffer, the timestamp precision and the SLL2 link type of "any"
 * can be chosen), filtered with the DNS filter of capture_default_filter()
 * and put in non-blocking mode. capture_dispatch() polls every selectable
 * descriptor at once, so one quiet interface never delays another, and
 * hands out each packet as a struct pkt (the bytes are libpcap's buffer,
 * valid during the callback only).
 *
 * On Linux libpcap uses TPACKET_V3: the kernel fills blocks of the ring and
 * hands a block over when it is full or when the timeout given to
 * pcap_set_timeout() runs out. Packets in a block still being filled are
 * invisible to us, which is why capture_drain() waits one timeout before
 * the last read: a packet the kernel accepted before a stop is never left
 * behind.
 */
#include "config.h"
#include "capture.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Block timeout of the kernel ring: how late a packet may be seen on a
 * quiet link, and how long capture_drain() waits. */
#define CAPTURE_TIMEOUT_MS 100

struct cap_if {
	pcap_t *p;
	char *name;
	int fd;
	int linktype; /* LINKTYPE_* (input.h) */
	int snaplen;
	int nano;     /* timestamps in ns (else us) */
	int32_t ifindex;
	uint64_t frame;
	/* pcap_stats counters are 32-bit and wrap: keep 64-bit sums */
	unsigned last_drop, last_ifdrop;
	uint64_t drops, ifdrops;
};

struct capture {
	struct cap_if *ifs;
	int n;
	struct pollfd *pfd;
	uint64_t received;
	/* the current dispatch */
	pkt_fn fn;
	void *ctx;
	struct cap_if *cur;
	int cur_i;
};

/* ---- the filter ----------------------------------------------------------- */

char *capture_default_filter(const char *ports, const char *expr)
{
	struct sbuf sb = SBUF_INIT;
	const char *s = ports && *ports ? ports : "53";
	int n = 0;

	/*
	 * "port N" alone misses the non-first fragments of a large answer
	 * (they carry no UDP header), so every IPv4 fragment with a non-zero
	 * offset and every IPv6 packet whose first extension header is a
	 * fragment header is kept too; the decoder reassembles them and
	 * counts what it cannot use.
	 */
	sbuf_addstr(&sb, "(((udp or tcp) and (");
	while (*s) {
		char *end;
		long v = strtol(s, &end, 10);

		if (end == s || v < 1 || v > 65535 || (*end && *end != ',')) {
			sbuf_release(&sb);
			return NULL;
		}
		sbuf_addf(&sb, "%sport %ld", n++ ? " or " : "", v);
		s = *end ? end + 1 : end;
	}
	sbuf_addstr(&sb, ")) or (ip[6:2] & 0x1fff != 0) or (ip6 and ip6[6] == 44))");
	if (expr && *expr)
		sbuf_addf(&sb, " and (%s)", expr);
	return sb.buf;
}

/* ---- opening -------------------------------------------------------------- */

static void open_error(char *err, size_t errlen, const struct capture_opts *o,
		       const char *dev, int rc, const char *why)
{
	switch (rc) {
	case PCAP_ERROR_PERM_DENIED:
		snprintf(err, errlen,
			 "no permission to capture on '%s': capturing needs CAP_NET_RAW%s "
			 "(run as root, or give the program the capabilities with "
			 "'setcap cap_net_raw,cap_net_admin=eip dnsvet')",
			 dev, o->promisc || o->buffer_kb ?
			 " (and CAP_NET_ADMIN for promiscuous mode or a kernel buffer size)" : "");
		break;
	case PCAP_ERROR_PROMISC_PERM_DENIED:
		snprintf(err, errlen,
			 "no permission to put '%s' in promiscuous mode: that needs "
			 "CAP_NET_ADMIN (or capture without --promisc)", dev);
		break;
	case PCAP_ERROR_NO_SUCH_DEVICE:
		snprintf(err, errlen, "no such interface '%s'%s%s", dev, why && *why ? ": " : "",
			 why ? why : "");
		break;
	case PCAP_ERROR_IFACE_NOT_UP:
		snprintf(err, errlen, "interface '%s' is not up", dev);
		break;
	default:
		snprintf(err, errlen, "unable to capture on '%s': %s", dev,
			 why && *why ? why : pcap_statustostr(rc));
	}
}

static int open_one(struct cap_if *ci, const struct capture_opts *o, const char *filter,
		    char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct bpf_program prog;
	const char *dev = ci->name;
	int rc, dlt;

	ci->p = pcap_create(dev, ebuf);
	if (!ci->p) {
		snprintf(err, errlen, "unable to capture on '%s': %s", dev, ebuf);
		return -1;
	}
	pcap_set_snaplen(ci->p, o->snaplen > 0 ? o->snaplen : 65535);
	pcap_set_promisc(ci->p, o->promisc);
	pcap_set_timeout(ci->p, CAPTURE_TIMEOUT_MS);
	if (o->buffer_kb > 0)
		pcap_set_buffer_size(ci->p, o->buffer_kb * 1024);
	ci->nano = pcap_set_tstamp_precision(ci->p, PCAP_TSTAMP_PRECISION_NANO) == 0;
	rc = pcap_activate(ci->p);
	if (rc < 0) {
		open_error(err, errlen, o, dev, rc, pcap_geterr(ci->p));
		return -1;
	}
	if (rc > 0 && rc != PCAP_WARNING_TSTAMP_TYPE_NOTSUP)
		warning("capturing on '%s': %s", dev,
			rc == PCAP_WARNING ? pcap_geterr(ci->p) : pcap_statustostr(rc));
	ci->nano = pcap_get_tstamp_precision(ci->p) == PCAP_TSTAMP_PRECISION_NANO;
	if (!strcmp(dev, "any")) {
		/* SLL2 keeps the interface of every packet (its kernel index) */
#ifdef DLT_LINUX_SLL2
		if (pcap_set_datalink(ci->p, DLT_LINUX_SLL2) < 0)
			warning("'any': no SLL2 link type (%s); packets lose their interface",
				pcap_geterr(ci->p));
#endif
	}
	dlt = pcap_datalink(ci->p);
	ci->linktype = linktype_from_dlt(dlt);
	if (ci->linktype >= 1000)
		ci->linktype = dlt; /* unknown to us: keep libpcap's number */
	ci->snaplen = pcap_snapshot(ci->p);
	if (pcap_compile(ci->p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		snprintf(err, errlen, "bad filter expression for '%s': %s", dev,
			 pcap_geterr(ci->p));
		return -1;
	}
	rc = pcap_setfilter(ci->p, &prog);
	pcap_freecode(&prog);
	if (rc < 0) {
		snprintf(err, errlen, "unable to set the filter on '%s': %s", dev,
			 pcap_geterr(ci->p));
		return -1;
	}
	if (pcap_setnonblock(ci->p, 1, ebuf) < 0) {
		snprintf(err, errlen, "unable to capture on '%s': %s", dev, ebuf);
		return -1;
	}
	ci->fd = pcap_get_selectable_fd(ci->p);
	if (ci->fd < 0) {
		snprintf(err, errlen, "'%s' has no selectable descriptor; cannot capture it "
			 "together with other interfaces", dev);
		return -1;
	}
	/* "any": decode.c names the packet's interface from its SLL2 header */
	ci->ifindex = strcmp(dev, "any") ? iface_intern(dev) : -1;
	return 0;
}

struct capture *capture_open(const struct capture_opts *o, char *err, size_t errlen)
{
	struct capture *c;
	char *filter;
	int i;

	if (o->nifaces < 1) {
		snprintf(err, errlen, "no interface given");
		return NULL;
	}
	filter = capture_default_filter(o->ports, o->expr);
	if (!filter) {
		snprintf(err, errlen, "'%s' is not a comma list of ports", o->ports);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->ifs = xcalloc((size_t)o->nifaces, sizeof(*c->ifs));
	c->pfd = xcalloc((size_t)o->nifaces, sizeof(*c->pfd));
	for (i = 0; i < o->nifaces; i++) {
		c->ifs[i].name = xstrdup(o->ifaces[i]);
		c->n = i + 1;
		if (open_one(&c->ifs[i], o, filter, err, errlen) < 0) {
			free(filter);
			capture_close(c);
			return NULL;
		}
		c->pfd[i].fd = c->ifs[i].fd;
		c->pfd[i].events = POLLIN;
	}
	free(filter);
	return c;
}

int capture_linktype(const struct capture *c, int i)
{
	return c->ifs[i].linktype;
}

int capture_snaplen(const struct capture *c, int i)
{
	return c->ifs[i].snaplen;
}

const char *capture_iface_name(const struct capture *c, int i)
{
	return c->ifs[i].name;
}

int capture_count(const struct capture *c)
{
	return c->n;
}

/* ---- reading -------------------------------------------------------------- */

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct capture *c = (struct capture *)user;
	struct cap_if *ci = c->cur;
	struct pkt p;

	p.data = bytes;
	p.caplen = h->caplen;
	p.len = h->len;
	p.ts = (ts_t)h->ts.tv_sec * NS_PER_SEC +
	       (ts_t)h->ts.tv_usec * (ci->nano ? 1 : NS_PER_US);
	p.linktype = ci->linktype;
	p.ifindex = ci->ifindex;
	p.file = (uint16_t)c->cur_i;
	p.frame = ++ci->frame;
	c->received++;
	c->fn(c->ctx, &p);
}

/* Read what libpcap has for interface i without waiting. */
static int read_one(struct capture *c, int i, char *err, size_t errlen)
{
	int rc;

	c->cur = &c->ifs[i];
	c->cur_i = i;
	rc = pcap_dispatch(c->ifs[i].p, -1, on_packet, (u_char *)c);
	if (rc == PCAP_ERROR) {
		snprintf(err, errlen, "capture on '%s' failed: %s", c->ifs[i].name,
			 pcap_geterr(c->ifs[i].p));
		return -1;
	}
	return rc < 0 ? 0 : rc; /* PCAP_ERROR_BREAK: nothing more now */
}

int capture_dispatch(struct capture *c, pkt_fn fn, void *ctx, int timeout_ms, char *err,
		     size_t errlen)
{
	int i, r, total = 0;

	c->fn = fn;
	c->ctx = ctx;
	r = poll(c->pfd, (nfds_t)c->n, timeout_ms);
	if (r < 0)
		return errno == EINTR ? 0 : (snprintf(err, errlen, "poll: %s", strerror(errno)), -1);
	if (r == 0)
		return 0;
	for (i = 0; i < c->n; i++) {
		short ev = c->pfd[i].revents;

		if (!ev)
			continue;
		if (ev & (POLLIN | POLLERR | POLLHUP)) {
			r = read_one(c, i, err, errlen);
			if (r < 0)
				return -1;
			total += r;
		}
		if ((ev & POLLNVAL) || ((ev & (POLLERR | POLLHUP)) && r == 0)) {
			snprintf(err, errlen, "capture on '%s' failed: the interface went away",
				 c->ifs[i].name);
			return -1;
		}
	}
	return total;
}

static ts_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (ts_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int capture_drain(struct capture *c, pkt_fn fn, void *ctx, char *err, size_t errlen)
{
	/* a block the kernel is still filling is handed over at most one
	 * timeout later: wait that long (plus scheduling slack), reading */
	ts_t deadline = mono_ms() + 2 * CAPTURE_TIMEOUT_MS + 50;
	int i, r, total = 0;

	c->fn = fn;
	c->ctx = ctx;
	for (;;) {
		ts_t left = deadline - mono_ms();

		if (left <= 0)
			break;
		poll(c->pfd, (nfds_t)c->n, (int)MIN(left, 20));
		for (i = 0; i < c->n; i++) {
			r = read_one(c, i, err, errlen);
			if (r < 0)
				return -1;
			total += r;
		}
	}
	return total;
}

void capture_get_stats(struct capture *c, struct capture_stats *st)
{
	int i;

	memset(st, 0, sizeof(*st));
	st->received = c->received;
	for (i = 0; i < c->n; i++) {
		struct pcap_stat ps;

		struct cap_if *ci = &c->ifs[i];

		if (ci->p && pcap_stats(ci->p, &ps) == 0) {
			ci->drops += (unsigned)(ps.ps_drop - ci->last_drop);
			ci->ifdrops += (unsigned)(ps.ps_ifdrop - ci->last_ifdrop);
			ci->last_drop = ps.ps_drop;
			ci->last_ifdrop = ps.ps_ifdrop;
		}
		st->kernel_drops += ci->drops;
		st->if_drops += ci->ifdrops;
	}
}

void capture_close(struct capture *c)
{
	int i;

	if (!c)
		return;
	for (i = 0; i < c->n; i++) {
		if (c->ifs[i].p)
			pcap_close(c->ifs[i].p);
		free(c->ifs[i].name);
	}
	free(c->ifs);
	free(c->pfd);
	free(c);
}
