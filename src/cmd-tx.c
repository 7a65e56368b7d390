/*
 * cmd-tx.c: dnsvet tx: one line per transaction, in query order.
 *
 * Tagging a transaction with the findings it belongs to needs the findings,
 * and those exist only once the whole capture has been read. So tx reads
 * the input twice: the first pass runs the detectors (they tag transactions
 * by sequence number, which is deterministic), the second prints. Standard
 * input and pipes (<(zcat trace.pcap.gz)) are spooled to temporary files
 * first. --no-tags reads once.
 *
 * Transactions finish out of order (an unanswered one only after the answer
 * window), so lines wait in a reorder buffer until every earlier query has
 * finished; its size is bounded by the matcher's open-query cap.
 */
#include "config.h"
#include "cmd.h"
#include "analyze.h"
#include "names.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char cmd_tx_usage[] =
	"usage: dnsvet tx [OPTIONS] FILE...\n"
	"\n"
	"List DNS transactions (a query and its response, retransmissions folded\n"
	"in), one line each, in query order, tagged with the findings they belong to.\n"
	"\n"
	"  --json                NDJSON, one object per transaction\n"
	"  --client ADDR         only transactions of this client\n"
	"  --server ADDR         only those sent to this server\n"
	"  --qname GLOB          only names matching GLOB (case-insensitive)\n"
	"  --qtype TYPE          only this query type (A, AAAA, PTR, 65...)\n"
	"  --status S            answered, unanswered, open, retried, error\n"
	"                        (error: an rcode other than NOERROR/NXDOMAIN)\n"
	"  --finding DET         only transactions tagged by detector DET\n"
	"  --no-tags             one pass, no finding tags (faster)\n"
	ANALYSIS_HELP
	"  -h, --help            this help (line format: dnsvet-tx(1))\n";

enum { OPT_JSON = OPT_ANALYSIS_LAST + 1, OPT_CLIENT, OPT_SERVER, OPT_QNAME, OPT_QTYPE,
       OPT_STATUS, OPT_FINDING, OPT_NO_TAGS };

struct txopts {
	int json, have_client, have_server, qtype, finding, tags;
	struct addr client, server;
	const char *qname, *status;
};

struct pending_line {
	char *s; /* NULL: filtered out */
	int done;
};

struct txprint {
	struct txopts *to;
	struct detect_ctx *tags; /* from the first pass, or NULL */
	FILE *out;
	/* reorder buffer: ring indexed by seq - base */
	struct pending_line *ring;
	uint64_t base, cap; /* seqs [base, base+cap) */
	struct sbuf sb;
};

static int status_match(const struct txn *t, const char *st)
{
	if (!st)
		return 1;
	if (!strcmp(st, "answered"))
		return t->status == TXN_ANSWERED;
	if (!strcmp(st, "unanswered"))
		return t->status == TXN_UNANSWERED;
	if (!strcmp(st, "open"))
		return t->status == TXN_OPEN_AT_END;
	if (!strcmp(st, "retried"))
		return t->retrans > 0 || (t->lookup && t->lookup->txns > 1);
	if (!strcmp(st, "error"))
		return t->status == TXN_ANSWERED && TXN_RCODE(t) != RCODE_NOERROR &&
		       TXN_RCODE(t) != RCODE_NXDOMAIN;
	return 0;
}

static int want(const struct txprint *tp, const struct txn *t, uint32_t tags)
{
	const struct txopts *to = tp->to;

	if (t->status == TXN_EVICTED)
		return 0;
	if (to->have_client && !addr_eq(&to->client, &t->client))
		return 0;
	if (to->have_server && !addr_eq(&to->server, &t->server))
		return 0;
	if (to->qtype >= 0 && t->qtype != to->qtype)
		return 0;
	if (to->finding >= 0 && !(tags & (1u << to->finding)))
		return 0;
	if (!status_match(t, to->status))
		return 0;
	if (to->qname) {
		char name[1100];

		name_str(t->qname, name, sizeof(name));
		if (fnmatch(to->qname, name, FNM_CASEFOLD) != 0) {
			/* let "example.com" match "example.com." */
			size_t n = strlen(name);

			if (n > 1 && name[n - 1] == '.')
				name[n - 1] = '\0';
			if (fnmatch(to->qname, name, FNM_CASEFOLD) != 0)
				return 0;
		}
	}
	return 1;
}

static void format_line(struct txprint *tp, const struct txn *t, uint32_t tags)
{
	struct sbuf *sb = &tp->sb;
	char ts[40], c[64], s[64], name[1100], lat[32];
	const char *ifn = iface_name(t->ifindex);
	size_t i;
	int first = 1;

	sbuf_reset(sb);
	fmt_time(ts, sizeof(ts), t->first_ts);
	addr_str(&t->client, c, sizeof(c));
	addr_str(&t->server, s, sizeof(s));
	name_str(t->qname, name, sizeof(name));
	if (tp->to->json) {
		char secs[40];

		fmt_secs(secs, sizeof(secs), t->first_ts);
		sbuf_addf(sb, "{\"seq\": %" PRIu64 ", \"time\": %s"
			  ", \"client\": \"%s\", \"client_port\": %u, \"server\": \"%s\", "
			  "\"server_port\": %u, \"proto\": \"%s\", \"id\": %u, \"qtype\": \"%s\", "
			  "\"qname\": ", t->seq, secs, c, t->cport, s, t->sport,
			  t->proto == 6 ? "tcp" : "udp", t->id, qtype_str(t->qtype));
		sbuf_add_json_str(sb, name);
		sbuf_addf(sb, ", \"status\": \"%s\", \"rcode\": ",
			  t->status == TXN_ANSWERED ? "answered"
			  : t->status == TXN_UNANSWERED ? "unanswered" : "open_at_end");
		if (t->status == TXN_ANSWERED)
			sbuf_addf(sb, "\"%s\", \"tc\": %s, \"latency_ms\": %.3f, "
				  "\"latency_last_send_ms\": %.3f", rcode_str(TXN_RCODE(t)),
				  DNS_TC(t->resp_flags) ? "true" : "false",
				  (double)TXN_LATENCY_FIRST(t) / 1e6, (double)TXN_LATENCY_LAST(t) / 1e6);
		else
			sbuf_addstr(sb, "null, \"latency_ms\": null");
		sbuf_addf(sb, ", \"retransmissions\": %u, \"lookup\": %" PRIu64 ", \"interface\": ",
			  t->retrans, t->lookup ? t->lookup->seq : 0);
		sbuf_add_json_str(sb, ifn);
		sbuf_addf(sb, ", \"query_frame\": {\"file\": ");
		sbuf_add_json_str(sb, input_file_name(t->qframe.file));
		sbuf_addf(sb, ", \"frame\": %u}, \"response_frame\": ", t->qframe.frame);
		if (t->status == TXN_ANSWERED) {
			sbuf_addstr(sb, "{\"file\": ");
			sbuf_add_json_str(sb, input_file_name(t->rframe.file));
			sbuf_addf(sb, ", \"frame\": %u}", t->rframe.frame);
		} else {
			sbuf_addstr(sb, "null");
		}
		sbuf_addstr(sb, ", \"findings\": [");
		for (i = 0; i < ndetectors; i++)
			if (tags & (1u << i)) {
				sbuf_addf(sb, "%s\"%s\"", first ? "" : ", ", detectors[i]->name);
				first = 0;
			}
		sbuf_addstr(sb, "]}\n");
		return;
	}
	if (t->status == TXN_ANSWERED)
		fmt_dur(lat, sizeof(lat), TXN_LATENCY_FIRST(t));
	sbuf_addf(sb, "%s  %s#%u -> %s#%u %s id %u %s? %s ", ts, c, t->cport, s, t->sport,
		  t->proto == 6 ? "tcp" : "udp", t->id, qtype_str(t->qtype), name);
	if (t->status == TXN_ANSWERED)
		sbuf_addf(sb, "%s%s %s", rcode_str(TXN_RCODE(t)),
			  DNS_TC(t->resp_flags) ? " TC" : "", lat);
	else
		sbuf_addstr(sb, t->status == TXN_UNANSWERED ? "UNANSWERED" : "OPEN-AT-END");
	if (t->retrans)
		sbuf_addf(sb, " +%u retransmit%s", t->retrans, t->retrans == 1 ? "" : "s");
	if (ifn)
		sbuf_addf(sb, " if=%s", ifn);
	for (i = 0; i < ndetectors; i++)
		if (tags & (1u << i)) {
			sbuf_addf(sb, "%s%s", first ? " [" : ",", detectors[i]->name);
			first = 0;
		}
	if (!first)
		sbuf_addch(sb, ']');
	sbuf_addch(sb, '\n');
}

static void flush_ready(struct txprint *tp)
{
	while (tp->cap) {
		struct pending_line *pl = &tp->ring[tp->base % tp->cap];

		if (!pl->done)
			break;
		if (pl->s) {
			fputs(pl->s, tp->out);
			free(pl->s);
		}
		pl->s = NULL;
		pl->done = 0;
		tp->base++;
	}
}

static void ring_grow(struct txprint *tp, uint64_t need)
{
	uint64_t ncap = tp->cap ? tp->cap : 1024, i;
	struct pending_line *nr;

	while (ncap <= need)
		ncap *= 2;
	nr = xcalloc(ncap, sizeof(*nr));
	for (i = 0; i < tp->cap; i++)
		nr[(tp->base + i) % ncap] = tp->ring[(tp->base + i) % tp->cap];
	free(tp->ring);
	tp->ring = nr;
	tp->cap = ncap;
}

static void on_txn(void *ctx, const struct txn *t)
{
	struct txprint *tp = ctx;
	uint32_t tags = tp->tags ? detect_tags(tp->tags, t->seq) : 0;
	struct pending_line *pl;

	if (!tp->base)
		tp->base = 1;
	if (t->seq - tp->base >= tp->cap)
		ring_grow(tp, t->seq - tp->base);
	pl = &tp->ring[t->seq % tp->cap];
	pl->done = 1;
	if (want(tp, t, tags)) {
		format_line(tp, t, tags);
		pl->s = xstrdup(tp->sb.buf);
	}
	flush_ready(tp);
}

/*
 * Copy standard input or a pipe (input_is_pipe()) to a temporary file so
 * it can be read twice. The file is unlinked at once and read as
 * /dev/fd/N (on Linux each open of it starts at the beginning), so
 * nothing is left behind however tx ends (`dnsvet tx - | head` dies of
 * SIGPIPE). Returns that path and sets *fdp (the caller closes it), or
 * NULL after an error naming the input.
 */
static char *spool(const char *path, int *fdp)
{
	char tmpl[] = "/tmp/dnsvet-stdin-XXXXXX", name[32];
	int in = strcmp(path, "-") ? open(path, O_RDONLY) : STDIN_FILENO, fd;
	char buf[65536];
	ssize_t n;

	if (in < 0) {
		error("unable to open '%s': %s", path, strerror(errno));
		return NULL;
	}
	fd = mkstemp(tmpl);
	if (fd < 0)
		die("unable to create a temporary file: %s", strerror(errno));
	unlink(tmpl);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n)
			die("unable to spool '%s': %s", path, strerror(errno));
	if (n < 0)
		die("unable to read '%s': %s", path, strerror(errno));
	if (in != STDIN_FILENO)
		close(in);
	*fdp = fd;
	snprintf(name, sizeof(name), "/dev/fd/%d", fd);
	return xstrdup(name);
}

/* Close and free what spool() gave for each of n inputs. */
static void unspool(char **spooled, const int *fds, int n)
{
	int i;

	for (i = 0; spooled && i < n; i++)
		if (spooled[i]) {
			close(fds[i]);
			free(spooled[i]);
		}
}

int cmd_tx(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "client", required_argument, NULL, OPT_CLIENT },
		{ "server", required_argument, NULL, OPT_SERVER },
		{ "qname", required_argument, NULL, OPT_QNAME },
		{ "qtype", required_argument, NULL, OPT_QTYPE },
		{ "status", required_argument, NULL, OPT_STATUS },
		{ "finding", required_argument, NULL, OPT_FINDING },
		{ "no-tags", no_argument, NULL, OPT_NO_TAGS },
		{ "help", no_argument, NULL, 'h' },
		ANALYSIS_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	static const char *const statuses[] = { "answered", "unanswered", "open", "retried",
						"error", NULL };
	struct txopts to = { .qtype = -1, .finding = -1, .tags = 1 };
	struct analysis_opts o;
	struct analysis first, a;
	struct txprint tp;
	char **paths = NULL, **shown = NULL, **spooled = NULL;
	int *spool_fd = NULL;
	int npaths = 0, c, rc, i;
	size_t k;

	analysis_opts_init(&o);
	o.no_progress = 1;
	while ((c = getopt_long(argc, argv, "hr:j:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(cmd_tx_usage, stdout);
			return EXIT_OK;
		case 'r':
			paths = analysis_add_path(paths, &npaths, optarg);
			break;
		case OPT_JSON: to.json = 1; break;
		case OPT_CLIENT:
			if (addr_parse(optarg, &to.client))
				die("--client: '%s' is not an IPv4 or IPv6 address", optarg);
			to.have_client = 1;
			break;
		case OPT_SERVER:
			if (addr_parse(optarg, &to.server))
				die("--server: '%s' is not an IPv4 or IPv6 address", optarg);
			to.have_server = 1;
			break;
		case OPT_QNAME: to.qname = optarg; break;
		case OPT_QTYPE:
			to.qtype = qtype_parse(optarg);
			if (to.qtype < 0)
				die("--qtype: '%s' is not a DNS type", optarg);
			break;
		case OPT_STATUS:
			for (i = 0; statuses[i] && strcmp(statuses[i], optarg); i++)
				;
			if (!statuses[i])
				die("--status: '%s' is not one of answered, unanswered, open, retried, error",
				    optarg);
			to.status = optarg;
			break;
		case OPT_FINDING:
			for (k = 0; k < ndetectors && strcmp(detectors[k]->name, optarg); k++)
				;
			if (k == ndetectors)
				die("--finding: '%s' is not a detector (see dnsvet-detectors(7))", optarg);
			to.finding = (int)k;
			break;
		case OPT_NO_TAGS: to.tags = 0; break;
		case 'j':
			c = OPT_JOBS;
			/* fall through */
		default:
			rc = analysis_option(&o, c, optarg);
			if (rc == 0)
				break;
			if (rc > 0)
				fputs(cmd_tx_usage, stderr);
			return EXIT_USAGE;
		}
	}
	for (i = optind; i < argc; i++) {
		paths = analysis_add_path(paths, &npaths, argv[i]);
	}
	if (!npaths) {
		error("no capture file given");
		fputs(cmd_tx_usage, stderr);
		return EXIT_USAGE;
	}
	if (to.finding >= 0)
		to.tags = 1;
	if (to.tags) {
		/* read twice: standard input and pipes from a copy, shown
		 * under the names given */
		shown = xmalloc((size_t)npaths * sizeof(*shown));
		spooled = xcalloc((size_t)npaths, sizeof(*spooled));
		spool_fd = xcalloc((size_t)npaths, sizeof(*spool_fd));
		rc = input_stdin_once(paths, npaths); /* input_check() would not see it */
		for (i = 0; i < npaths && !rc; i++) {
			shown[i] = paths[i];
			if (input_is_pipe(paths[i]) &&
			    !(paths[i] = spooled[i] = spool(paths[i], &spool_fd[i])))
				rc = -1;
		}
		if (!rc) {
			analysis_init(&first, &o, paths, npaths);
			first.in.names = shown;
			rc = analysis_run(&first);
			if (rc < 0)
				analysis_release(&first);
		}
		if (rc < 0) {
			unspool(spooled, spool_fd, npaths);
			free(spooled);
			free(spool_fd);
			free(shown);
			analysis_opts_free(&o);
			free(paths);
			return EXIT_USAGE;
		}
	}
	memset(&tp, 0, sizeof(tp));
	tp.to = &to;
	tp.tags = to.tags ? first.dc : NULL;
	tp.out = stdout;
	analysis_init(&a, &o, paths, npaths);
	a.in.names = shown;
	a.in.quiet = to.tags; /* the first pass already warned */
	a.txn_sink = on_txn;
	a.sink_ctx = &tp;
	rc = analysis_run(&a) < 0 ? EXIT_USAGE : EXIT_OK;
	flush_ready(&tp);
	if (fflush(stdout) || ferror(stdout))
		rc = EXIT_USAGE;
	analysis_release(&a);
	if (to.tags)
		analysis_release(&first);
	for (k = 0; k < tp.cap; k++)
		free(tp.ring[k].s);
	free(tp.ring);
	sbuf_release(&tp.sb);
	unspool(spooled, spool_fd, npaths);
	free(spooled);
	free(spool_fd);
	free(shown);
	analysis_opts_free(&o);
	free(paths);
	return rc;
}
