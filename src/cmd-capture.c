/*
 * cmd-capture.c: dnsvet capture: live DNS capture into rotating savefiles,
 * with the analysis running on the live stream.
 *
 * Two threads. The capture thread (main) polls every interface
 * (capture.c), writes each packet (capture-rotate.c) and copies it into a
 * bounded queue (capture-queue.c); a few times a second it lets time pass
 * for the rotator and acts on the flags the signal handlers set. The
 * handlers only set flags, so a signal never cuts a record in half. The
 * analysis thread takes packets from the queue through the decoder,
 * matcher and detectors (analyze.h) and prints --summary-every lines. The
 * capture never waits for the analysis: when the queue is full a packet is
 * written but not analysed, and counted. The analysis state belongs to the
 * analysis thread until it is joined; the capture thread registers file
 * names (input.c) that only the final summary, after the join, may read.
 *
 * Order at start (tcpdump's): open the interfaces (needs privileges), check
 * the output directory, drop privileges (-Z), then create the first file,
 * so the files belong to the unprivileged user.
 */
#include "config.h"
#include "cmd.h"
#include "analyze.h"
#include "capture.h"
#include "capture-queue.h"
#include "capture-rotate.h"

#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

const char cmd_capture_usage[] =
	"usage: dnsvet capture -i IF [-i IF...] -w PATTERN [OPTIONS] [EXPRESSION]\n"
	"\n"
	"Capture DNS (and IP fragments) into rotating files while analysing it live.\n"
	"A file appears under its name only when complete (flushed and synced).\n"
	"\n"
	"  -i IF             interface; several give pcapng, 'any' gives SLL2 pcap\n"
	"  -w PATTERN        file name, strftime(3) conversions allowed ('%FT%T.pcap')\n"
	"  -G SECONDS        a new file at each multiple of SECONDS of the clock\n"
	"  -C SIZE           a new file before one exceeds SIZE (MB; or 500k, 1G)\n"
	"  -W COUNT          keep only the last COUNT files (with -G, -C or both)\n"
	"  -Z USER           run as USER once the interfaces are open\n"
	"  -s SNAPLEN        bytes kept per packet (default 65535)\n"
	"  -B BUFFER_KB      kernel buffer per interface, KiB (default 32768)\n"
	"  --mode MODE       mode of the files (default 0600)\n"
	"  --promisc         promiscuous mode (default: this host's traffic only)\n"
	"  --pcapng          write pcapng even for one interface\n"
	"  --summary-every S print the counts and findings so far every S seconds\n"
	"  --port LIST       DNS ports (default 53); report's analysis options work\n"
	"  EXPRESSION        pcap-filter(7) expression narrowing the DNS filter\n"
	"\n"
	"Signals: INT/TERM stop (totals on stderr), HUP starts a new file, USR1\n"
	"prints totals. Exit: 0 stopped by a signal, 1 a write or capture error\n"
	"stopped it (files complete, losses counted), 2 usage or permission error.\n";

enum { OPT_MODE = OPT_ANALYSIS_LAST + 1, OPT_PROMISC, OPT_PCAPNG, OPT_SUMMARY };

#define DEFAULT_BUFFER_KB 32768
#define QUEUE_BYTES (32 << 20) /* packets waiting for the analysis */
#define LOOP_MS 100
/* The kernel hands packets over up to a block timeout late (capture.c):
 * an idle matcher is only told that time has passed up to now - this. */
#define IDLE_LAG (NS_PER_SEC / 4)

static volatile sig_atomic_t sig_stop, sig_hup, sig_usr1;

static void on_signal(int sig)
{
	switch (sig) {
	case SIGINT:
	case SIGTERM:
		sig_stop = sig;
		break;
	case SIGHUP:
		sig_hup = 1;
		break;
	case SIGUSR1:
		sig_usr1 = 1;
		break;
	}
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: poll() returns at once with EINTR */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static ts_t wall_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (ts_t)t.tv_sec * NS_PER_SEC + t.tv_nsec;
}

struct run {
	/* capture thread */
	struct capture *cap;
	struct rotator *rot;
	int pcapng;
	uint64_t reg_index; /* file index last registered with input.c */
	int registered;
	struct pktq *q;
	/* analysis thread */
	struct analysis a;
	ts_t summary_every, next_summary;
	/* written by the capture thread, read by the analysis thread */
	atomic_uint_fast64_t drops;
};

/* Capture thread: one captured packet. Write it, then queue it for the
 * analysis with frame references into the file it went to (so evidence
 * can be opened in Wireshark). */
static void on_pkt(void *ctx, struct pkt *p)
{
	struct run *r = ctx;
	uint64_t idx;

	rotate_write(r->rot, r->pcapng ? p->file : 0, p);
	idx = rotate_file_index(r->rot);
	if (!r->registered || idx != r->reg_index) {
		input_register_file((int)(idx & 0xffff), rotate_file_name(r->rot));
		r->reg_index = idx;
		r->registered = 1;
	}
	p->file = (uint16_t)(idx & 0xffff);
	p->frame = rotate_file_packets(r->rot);
	pktq_push(r->q, p);
}

/* Analysis thread: one packet from the queue. */
static void analyse_pkt(void *ctx, struct pkt *p)
{
	struct run *r = ctx;
	struct input_stats *is = &r->a.in.st;

	is->packets++;
	is->bytes += p->caplen;
	if (!is->first_ts || p->ts < is->first_ts)
		is->first_ts = p->ts;
	if (p->ts > is->last_ts)
		is->last_ts = p->ts;
	analysis_pkt(&r->a, p);
}

static void print_totals(struct run *r, const struct rotate_stats *rs, int final)
{
	struct capture_stats cs;
	uint64_t skipped = pktq_skipped(r->q);

	capture_get_stats(r->cap, &cs);
	fprintf(stderr,
		"dnsvet capture: %s%" PRIu64 " captured, %" PRIu64 " written, %" PRIu64
		" not written, %" PRIu64 " dropped by kernel, %" PRIu64
		" dropped by interface; %" PRIu64 " files, %" PRIu64 " removed by the ring",
		final ? "" : "so far: ", cs.received, rs->written, rs->not_written,
		cs.kernel_drops, cs.if_drops, rs->files + (final ? 0 : 1), rs->removed);
	if (skipped)
		fprintf(stderr, "; %" PRIu64 " not analysed (the analysis fell behind)", skipped);
	fputc('\n', stderr);
}

/* The counts and findings so far, as lines on stdout. */
static void print_summary(struct run *r, ts_t now)
{
	const struct match_stats *ms;
	struct findings f = { NULL, 0, 0 };
	char t[40];
	size_t i;

	detect_finish(r->a.dc, &f);
	ms = matcher_stats(r->a.mt);
	fmt_time(t, sizeof(t), now);
	printf("summary %s packets %" PRIu64 " queries %" PRIu64 " responses %" PRIu64
	       " answered %" PRIu64 " unanswered %" PRIu64 " open %zu dropped %" PRIu64
	       " unanalysed %" PRIu64 " findings %zu\n",
	       t, r->a.in.st.packets, ms->queries, ms->responses, ms->matched,
	       ms->unanswered, matcher_open_txns(r->a.mt),
	       (uint64_t)atomic_load(&r->drops), pktq_skipped(r->q), f.n);
	for (i = 0; i < f.n; i++)
		printf("finding %s %s %s count %" PRIu64 ": %s\n", t,
		       severity_str(f.v[i].severity), f.v[i].detector, f.v[i].count,
		       f.v[i].summary ? f.v[i].summary : "");
	fflush(stdout);
	findings_free(&f);
}

static void *analysis_main(void *arg)
{
	struct run *r = arg;
	ts_t now;
	int n;

	/* when CPU is short, the capture thread goes first: a packet the
	 * analysis misses is counted, one the kernel drops is gone */
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), 10) < 0)
		warning("unable to lower the analysis thread's priority: %s", strerror(errno));
	while ((n = pktq_pop(r->q, analyse_pkt, r, LOOP_MS)) >= 0) {
		now = wall_now();
		/* an empty queue: time passes for the matcher (less what the
		 * kernel may still hold); else the packets' own times do */
		if (n == 0)
			matcher_advance(r->a.mt, now - IDLE_LAG);
		if (r->summary_every && now >= r->next_summary) {
			print_summary(r, now);
			r->next_summary += r->summary_every;
			if (r->next_summary <= now)
				r->next_summary = now + r->summary_every;
		}
	}
	return NULL;
}

static int drop_privileges(const char *user)
{
	struct passwd *pw = getpwnam(user);

	if (!pw)
		return error("-Z: no such user '%s'", user);
	if (geteuid() == pw->pw_uid)
		return 0;
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0)
		return error("-Z: unable to become user '%s': %s", user, strerror(errno));
	if (pw->pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
		return error("-Z: could become root again after switching to '%s'", user);
	return 0;
}

static int parse_long(const char *opt, const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return error("%s: '%s' must be a number from %ld to %ld", opt, s, lo, hi);
	*out = v;
	return 0;
}

int cmd_capture(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "promisc", no_argument, NULL, OPT_PROMISC },
		{ "pcapng", no_argument, NULL, OPT_PCAPNG },
		{ "summary-every", required_argument, NULL, OPT_SUMMARY },
		{ "help", no_argument, NULL, 'h' },
		ANALYSIS_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct capture_opts co = { .snaplen = 65535, .buffer_kb = DEFAULT_BUFFER_KB };
	struct rotate_opts ro = { .mode = 0600 };
	struct rotate_iface *rifs = NULL;
	struct rotate_stats rs;
	struct analysis_opts ao;
	struct run run;
	struct sbuf expr = SBUF_INIT;
	const char *user = NULL;
	char err[512] = "";
	long v;
	int c, i, j, rc, status = EXIT_OK, force_ng = 0, any = 0;
	int64_t size;
	ts_t now, summary_every = 0, d;
	pthread_t thread;

	memset(&run, 0, sizeof(run));
	analysis_opts_init(&ao);
	while ((c = getopt_long(argc, argv, "hi:w:G:C:W:Z:s:B:p", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(cmd_capture_usage, stdout);
			goto out;
		case 'i':
			co.ifaces = xrealloc(co.ifaces, (size_t)(co.nifaces + 1) * sizeof(*co.ifaces));
			co.ifaces[co.nifaces++] = optarg;
			break;
		case 'w':
			ro.pattern = optarg;
			break;
		case 'G':
			d = parse_duration(optarg);
			if (d < NS_PER_SEC || d % NS_PER_SEC) {
				error("-G: '%s' must be a whole number of seconds, at least 1",
				      optarg);
				goto fail;
			}
			ro.seconds = d / NS_PER_SEC;
			break;
		case 'C':
			size = parse_size(optarg, 1000 * 1000);
			if (size < 4096) {
				error("-C: '%s' is not a size of at least 4k (MB, or 500k, 20M, 1G)",
				      optarg);
				goto fail;
			}
			ro.size = size;
			break;
		case 'W':
			if (parse_long("-W", optarg, 1, 1000000, &v) < 0)
				goto fail;
			ro.count = (int)v;
			break;
		case 'Z':
			user = optarg;
			break;
		case 's':
			if (parse_long("-s", optarg, 0, 262144, &v) < 0)
				goto fail;
			co.snaplen = v ? (int)v : 262144;
			break;
		case 'B':
			if (parse_long("-B", optarg, 0, 4 * 1024 * 1024, &v) < 0)
				goto fail;
			co.buffer_kb = (int)v;
			break;
		case 'p': /* tcpdump's "not promiscuous": our default */
			co.promisc = 0;
			break;
		case OPT_PROMISC:
			co.promisc = 1;
			break;
		case OPT_PCAPNG:
			force_ng = 1;
			break;
		case OPT_MODE: {
			char *end;

			v = strtol(optarg, &end, 8);
			if (end == optarg || *end || v < 0 || v > 0777) {
				error("--mode: '%s' is not an octal file mode like 0640", optarg);
				goto fail;
			}
			ro.mode = (mode_t)v;
			break;
		}
		case OPT_SUMMARY:
			summary_every = parse_duration(optarg);
			if (summary_every < NS_PER_SEC / 10) {
				error("--summary-every: '%s' is not a duration of at least 0.1s",
				      optarg);
				goto fail;
			}
			break;
		default:
			if (c == OPT_PORT)
				co.ports = optarg;
			rc = analysis_option(&ao, c, optarg);
			if (rc == 0)
				break;
			if (rc > 0)
				fputs(cmd_capture_usage, stderr);
			goto fail;
		}
	}
	for (i = optind; i < argc; i++)
		sbuf_addf(&expr, "%s%s", i > optind ? " " : "", argv[i]);
	co.expr = expr.buf;
	if (!co.nifaces || !ro.pattern) {
		error("%s", !co.nifaces ? "no interface given (-i IF, or -i any)"
					: "no output file given (-w PATTERN)");
		fputs(cmd_capture_usage, stderr);
		goto fail;
	}
	if (!strcmp(ro.pattern, "-")) {
		error("-w -: dnsvet capture writes files only (they are renamed when "
		      "complete); pipe 'tcpdump -w -' into 'dnsvet report -' instead");
		goto fail;
	}
	for (i = 0; i < co.nifaces; i++) {
		if (!strcmp(co.ifaces[i], "any"))
			any = 1;
		for (j = 0; j < i; j++) {
			if (!strcmp(co.ifaces[i], co.ifaces[j])) {
				error("-i: '%s' given twice", co.ifaces[i]);
				goto fail;
			}
		}
	}
	if (any && co.nifaces > 1) {
		error("-i any already captures every interface; give it alone");
		goto fail;
	}

	run.cap = capture_open(&co, err, sizeof(err));
	if (!run.cap) {
		error("%s", err);
		goto fail;
	}
	run.pcapng = force_ng || co.nifaces > 1;
	ro.format = run.pcapng ? SAVEFILE_PCAPNG : SAVEFILE_PCAP;
	ro.nifaces = run.pcapng ? capture_count(run.cap) : 1;
	rifs = xcalloc((size_t)ro.nifaces, sizeof(*rifs));
	for (i = 0; i < ro.nifaces; i++) {
		rifs[i].name = capture_iface_name(run.cap, i);
		rifs[i].linktype = capture_linktype(run.cap, i);
		rifs[i].snaplen = (uint32_t)capture_snaplen(run.cap, i);
	}
	ro.ifaces = rifs;
	now = wall_now();
	run.rot = rotate_new(&ro, now);
	if (!run.rot || (user && drop_privileges(user) < 0))
		goto fail;
	install_signals();
	if (rotate_start(run.rot, now) < 0)
		goto fail;
	fprintf(stderr, "dnsvet capture: listening on");
	for (i = 0; i < co.nifaces; i++)
		fprintf(stderr, "%s %s", i ? "," : "", co.ifaces[i]);
	fprintf(stderr, ", writing %s to '%s'\n", run.pcapng ? "pcapng" : "pcap",
		rotate_file_name(run.rot));

	analysis_init(&run.a, &ao, NULL, 0);
	run.a.in.progress = 0;
	run.summary_every = summary_every;
	run.next_summary = now + summary_every;
	run.q = pktq_new(QUEUE_BYTES);
	{
		/* the analysis thread takes no signals: they interrupt our poll */
		sigset_t all, old;
		int e;

		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		e = pthread_create(&thread, NULL, analysis_main, &run);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (e)
			die("unable to start the analysis thread: %s", strerror(e));
	}

	while (!sig_stop) {
		rc = capture_dispatch(run.cap, on_pkt, &run, LOOP_MS, err, sizeof(err));
		if (rc < 0) {
			error("%s; stopping", err);
			status = EXIT_FAIL;
			break;
		}
		now = wall_now();
		if (sig_hup) {
			sig_hup = 0;
			rotate_now(run.rot, now);
		}
		rotate_tick(run.rot, now);
		if (rotate_failed(run.rot)) {
			status = EXIT_FAIL;
			break;
		}
		if (summary_every) {
			struct capture_stats cs;

			capture_get_stats(run.cap, &cs);
			atomic_store(&run.drops, cs.kernel_drops + cs.if_drops);
		}
		if (sig_usr1) {
			sig_usr1 = 0;
			rotate_get_stats(run.rot, &rs);
			print_totals(&run, &rs, 0);
		}
	}
	if (sig_stop && capture_drain(run.cap, on_pkt, &run, err, sizeof(err)) < 0)
		error("%s", err);
	if (rotate_close(run.rot, &rs) < 0 && status == EXIT_OK)
		status = EXIT_FAIL;
	pktq_close(run.q);
	pthread_join(thread, NULL);
	/* the last word: what the capture showed, the open queries still open
	 * (not unanswered: the capture stopped, not the server) */
	analysis_end(&run.a);
	if (summary_every)
		print_summary(&run, wall_now());
	print_totals(&run, &rs, 1);
	capture_close(run.cap);
	pktq_free(run.q);
	analysis_release(&run.a);
	goto out;
fail:
	status = EXIT_USAGE;
	if (run.rot)
		rotate_close(run.rot, NULL);
	capture_close(run.cap);
out:
	analysis_opts_free(&ao);
	sbuf_release(&expr);
	free(rifs);
	free(co.ifaces);
	return status;
}
