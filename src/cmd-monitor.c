/*
 * cmd-monitor.c: dnsvet monitor: a live view of DNS traffic, findings and
 * their evidence, top for DNS. Replays captures in their own time (or
 * faster), or captures live; draws with curses (tui.c) or, when standard
 * output is not a terminal, prints a summary line every interval.
 *
 * The pipeline is the normal one (analyze.h). Its sinks feed the views'
 * bounded state (tui-data.c); findings are detect_finish() snapshots taken
 * at most once a second (detectors must allow that, see detect.h).
 *
 * One clock drives what is shown: in a replay it is the capture's own time
 * (the replay position, moving smoothly between packets when paced), live
 * it is the wall clock. So a replay shows the same screen whatever the
 * speed of the machine, and the tests can compare screens exactly.
 * DNSVET_FIXED_CLOCK=SECONDS pins the live clock for the same purpose.
 *
 * Cost: the screen is redrawn at most DRAW_HZ times a second and only when
 * something changed (a packet, a key, the clock's second); keys are polled
 * at most every 20 ms while packets flow, and the process sleeps in poll()
 * when there is nothing to do. The CPU time this costs is measured in the
 * man page's NOTES.
 */
#include "config.h"
#include "cmd.h"
#include "analyze.h"
#include "capture.h"
#include "tui.h"
#include "tui-data.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Live capture (capture.c, capture-rotate.c) is part of every build. */
#ifndef HAVE_LIVE_CAPTURE
#define HAVE_LIVE_CAPTURE 1
#endif
#if HAVE_LIVE_CAPTURE
#include "capture-rotate.h"
#endif

#define DRAW_HZ 4
#define SNAP_EVERY NS_PER_SEC /* findings snapshots, wall time */
#define KEY_POLL (20 * NS_PER_MS)
#define PACE_SLACK (5 * NS_PER_MS)

const char cmd_monitor_usage[] =
	"usage: dnsvet monitor -r FILE... [--speed N | --fast] [OPTIONS]\n"
	"       dnsvet monitor -i IFACE... [-s LEN] [-B KB] [-w PATTERN [-G S] [-C MB] [-W N]]\n"
	"                      [OPTIONS] [EXPRESSION]\n"
	"Live view of DNS traffic, findings and their evidence (keys: ? inside).\n"
	"  -r FILE               replay FILE (repeat for a rotated series; - stdin)\n"
	"  --speed N / --fast    replay N times faster / as fast as possible\n"
	"  -i IFACE              capture live on IFACE (repeat; any); with -s, -B,\n"
	"                        -w, -G, -C, -W, EXPRESSION as in dnsvet capture\n"
	"  -b, --batch           print a summary every interval, no screen (the\n"
	"                        default when standard output is not a terminal)\n"
	"  --interval DUR        batch interval (default 1s)\n"
	"  --no-color            no colour (also when NO_COLOR is set)\n"
	ANALYSIS_HELP
	"  -h, --help            this help (keys and views: dnsvet-monitor(1))\n";

enum { OPT_SPEED = OPT_ANALYSIS_LAST + 1, OPT_FAST, OPT_BATCH, OPT_INTERVAL, OPT_COLOR,
       OPT_NO_COLOR };

struct monitor {
	struct analysis a;
	struct mon_data d;
	struct findings snap;
	struct tui_src src;
	struct tui *tui;
	char source[300];
	/* replay pacing: capture time cap0 was shown at wall (monotonic) wall0 */
	int fast, started;
	ts_t wall0, cap0;
	/* live recording (-w -G -C -W) */
	const char *rot_pattern;
	int64_t rot_seconds, rot_size;
	int rot_count, rot_pcapng, rot_registered;
	uint64_t rot_index;
	char rot_summary[200];
#if HAVE_LIVE_CAPTURE
	struct rotator *rot;
#endif
	/* batch */
	int batch;
	ts_t interval, next_batch;
	struct { const char *det; long occ; int sev; } *printed;
	size_t nprinted;
	/* drawing */
	ts_t last_draw, last_snap, last_keys;
	int final_snap;
	int dirty;
	uint64_t pkts;
};

static volatile int stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static ts_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

/* ---- sinks ----------------------------------------------------------------- */

static void sink_msg(void *ctx, const struct dnsmsg *m)
{
	struct monitor *mo = ctx;

	mon_data_msg(&mo->d, m);
}

static void sink_txn(void *ctx, const struct txn *t)
{
	struct monitor *mo = ctx;

	mon_data_txn(&mo->d, t);
}

static void snapshot(struct monitor *mo)
{
	findings_free(&mo->snap);
	detect_finish(mo->a.dc, &mo->snap);
	mo->src.snapshots++;
	mo->last_snap = mono_now();
}

/* ---- batch output -------------------------------------------------------------- */

/* A line of our text, ASCII already; anything else is shown as \xHH. */
static void put_line(FILE *fp, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p; p++) {
		if (*p == '\n' && !p[1])
			fputc('\n', fp);
		else if (*p >= 0x20 && *p < 0x7f)
			fputc(*p, fp);
		else
			fprintf(fp, "\\x%02x", *p);
	}
}

static void batch_line(struct monitor *mo)
{
	const struct match_stats *ms = matcher_stats(mo->a.mt);
	const struct stats *st = &mo->a.st;
	int64_t sec = mo->src.now / NS_PER_SEC;
	ts_t el = mo->src.now > mo->src.start ? mo->src.now - mo->src.start : 0;
	uint64_t done = ms->matched + ms->unanswered;
	char clock[40], p50[32], p99[32], ans[32], drops[32], line[400];
	size_t i, k;

	snapshot(mo);
	tui_fmt_clock(clock, sizeof(clock), mo->src.now, 0);
	tui_fmt_lat(p50, sizeof(p50), hist_pct(&st->lat_first, 50));
	tui_fmt_lat(p99, sizeof(p99), hist_pct(&st->lat_first, 99));
	if (done)
		snprintf(ans, sizeof(ans), "%.1f%%", 100.0 * (double)ms->matched / (double)done);
	else
		snprintf(ans, sizeof(ans), "-");
	if (mo->src.have_drops)
		snprintf(drops, sizeof(drops), "%" PRIu64, mo->src.kernel_drops);
	else
		snprintf(drops, sizeof(drops), "-");
	snprintf(line, sizeof(line),
		 "%s +%" PRId64 "s  q/s %u  a/s %u  answered %s  p50 %s  p99 %s  open %zu  "
		 "drops %s  findings %zu%s\n",
		 clock, el / NS_PER_SEC, mon_tl_get(&mo->d.tl_all, sec - 1, TL_Q),
		 mon_tl_get(&mo->d.tl_all, sec - 1, TL_A), ans, p50, p99,
		 matcher_open_txns(mo->a.mt), drops, mo->snap.n, mo->src.ended ? "  (end)" : "");
	put_line(stdout, line);
	/* a line per finding when it first shows, or its severity changes;
	 * every finding at the end */
	for (i = 0; i < mo->snap.n; i++) {
		const struct finding *f = &mo->snap.v[i];
		long occ = 0;
		size_t j;

		for (j = 0; j < i; j++)
			if (!strcmp(mo->snap.v[j].detector, f->detector))
				occ++;
		for (k = 0; k < mo->nprinted; k++)
			if (!strcmp(mo->printed[k].det, f->detector) && mo->printed[k].occ == occ)
				break;
		if (k < mo->nprinted && mo->printed[k].sev == f->severity && !mo->src.ended)
			continue;
		if (k == mo->nprinted) {
			mo->printed = xrealloc(mo->printed, (k + 1) * sizeof(*mo->printed));
			mo->printed[k].det = f->detector;
			mo->printed[k].occ = occ;
			mo->nprinted++;
		}
		mo->printed[k].sev = f->severity;
		snprintf(line, sizeof(line), "  %s %s count %" PRIu64 ": %s\n",
			 severity_str(f->severity), f->detector, f->count,
			 f->summary ? f->summary : "");
		put_line(stdout, line);
	}
	if (fflush(stdout) || ferror(stdout))
		stop_flag = 1; /* the reader went away (| head) */
}

/* The view clock moves to ts: print the batch lines due before it. */
static void advance_to(struct monitor *mo, ts_t ts)
{
	if (mo->batch && mo->next_batch) {
		if (ts - mo->next_batch > 60 * mo->interval) {
			/* a long silence: one line, not thousands */
			matcher_advance(mo->a.mt, mo->next_batch);
			mo->src.now = mo->next_batch;
			batch_line(mo);
			mo->next_batch = ts - (ts - mo->next_batch) % mo->interval;
		}
		while (ts >= mo->next_batch) {
			matcher_advance(mo->a.mt, mo->next_batch);
			if (mo->next_batch > mo->src.now)
				mo->src.now = mo->next_batch;
			batch_line(mo);
			mo->next_batch += mo->interval;
		}
	}
	if (ts / NS_PER_SEC != mo->src.now / NS_PER_SEC)
		mo->dirty = 1; /* the header's clock moved */
	if (ts > mo->src.now)
		mo->src.now = ts;
}

/* ---- the screen ---------------------------------------------------------------- */

static void draw(struct monitor *mo)
{
	ts_t now = mono_now();

	if (!mo->tui)
		return;
	/* once a second; once more when the replay has ended, then never */
	if (mo->src.ended ? !mo->final_snap++
			  : now - mo->last_snap >= SNAP_EVERY && (!mo->src.paused || !mo->snap.v))
		snapshot(mo);
	tui_draw(mo->tui);
	mo->last_draw = now;
	mo->dirty = 0;
}

static void set_pause(struct monitor *mo, int paused)
{
	if (mo->src.ended)
		paused = 0; /* nothing left to hold */
	mo->src.paused = paused;
	if (!paused) {
		/* carry on from where the replay stopped */
		mo->cap0 = mo->src.now;
		mo->wall0 = mono_now();
	}
}

/* Keys, and a redraw when one is due. force: look at the keys now. */
static void service(struct monitor *mo, int force)
{
	ts_t now = mono_now();
	int act;

	if (!mo->tui)
		return;
	if (!force && now - mo->last_keys < KEY_POLL)
		return;
	mo->last_keys = now;
	act = tui_keys(mo->tui);
	if (act & TUI_ACT_QUIT)
		stop_flag = 1;
	if (act & TUI_ACT_PAUSE)
		set_pause(mo, !mo->src.paused);
	if (act & (TUI_ACT_FASTER | TUI_ACT_SLOWER)) {
		if (mo->src.live || mo->fast || mo->src.ended) {
			tui_message(mo->tui, "the speed applies to a paced replay (--speed)");
		} else {
			mo->src.speed *= act & TUI_ACT_FASTER ? 2 : 0.5;
			mo->src.speed = MIN(MAX(mo->src.speed, 1.0 / 64), 4096);
			set_pause(mo, mo->src.paused);
		}
	}
	if (stop_flag)
		return;
	if (act & TUI_ACT_DRAW)
		draw(mo);
	else if (mo->dirty && !mo->src.paused && now - mo->last_draw >= NS_PER_SEC / DRAW_HZ)
		draw(mo);
}

/*
 * Sleep until a key, a signal, or timeout_ns (< 0: none). Even then wake
 * twice a second: a SIGWINCH that lands outside poll() is only seen by
 * curses at the next getch(), and a resize must not wait for a key.
 */
static void wait_input(struct monitor *mo, ts_t timeout_ns)
{
	struct pollfd pfd;
	int ms = timeout_ns < 0 ? 500 : (int)MIN((timeout_ns + NS_PER_MS - 1) / NS_PER_MS, 500);

	if (!mo->tui) {
		if (ms > 0) {
			struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

			nanosleep(&ts, NULL);
		}
		return;
	}
	pfd.fd = tui_fd(mo->tui);
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (poll(&pfd, 1, ms) < 0 && errno != EINTR)
		die("poll failed: %s", strerror(errno));
	if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) {
		/* the terminal went away: nobody is watching */
		stop_flag = 1;
		return;
	}
	service(mo, 1);
}

/* ---- replay ----------------------------------------------------------------------- */

/* Hold the packet at capture time target until its moment has come. */
static void pace(struct monitor *mo, ts_t target)
{
	for (;;) {
		ts_t w, vt, wait;

		if (stop_flag)
			return;
		if (mo->src.paused) {
			wait_input(mo, -1);
			continue;
		}
		if (mo->fast)
			return;
		w = mono_now();
		vt = mo->cap0 + (ts_t)((double)(w - mo->wall0) * mo->src.speed);
		/* a packet due within PACE_SLACK goes now: sleeping for every
		 * packet of a busy trace would cost a poll() each */
		if ((double)(target - vt) / mo->src.speed < (double)PACE_SLACK)
			return;
		if (vt > mo->src.now) {
			advance_to(mo, vt);
			matcher_advance(mo->a.mt, vt);
		}
		wait = (ts_t)((double)(target - vt) / mo->src.speed);
		wait = MIN(wait, NS_PER_SEC / DRAW_HZ);
		if (mo->batch && mo->next_batch > vt)
			wait = MIN(wait, (ts_t)((double)(mo->next_batch - vt) / mo->src.speed) + 1);
		service(mo, 0);
		wait_input(mo, wait);
	}
}

static void replay_pkt(void *ctx, struct pkt *p)
{
	struct monitor *mo = ctx;

	if (!mo->started) {
		mo->started = 1;
		mo->src.start = mo->src.now = mo->cap0 = p->ts;
		mo->wall0 = mono_now();
		if (mo->batch)
			mo->next_batch = (p->ts / NS_PER_SEC) * NS_PER_SEC + mo->interval;
		mo->dirty = 1;
	}
	if (!mo->fast || mo->src.paused)
		pace(mo, p->ts);
	else if (!(++mo->pkts & 63))
		service(mo, 0);
	if (stop_flag)
		return;
	advance_to(mo, p->ts);
	analysis_pkt(&mo->a, p);
	mo->dirty = 1;
}

static int run_replay(struct monitor *mo)
{
	struct input *in = &mo->a.in;
	int rc;

	if (input_check(in) < 0)
		return EXIT_USAGE;
	in->stop = &stop_flag;
	if (mo->tui)
		draw(mo);
	rc = input_run(in, replay_pkt, mo);
	if (rc < 0)
		return EXIT_USAGE;
	if (stop_flag && mo->tui)
		return EXIT_OK; /* q during the replay */
	analysis_end(&mo->a);
	mo->src.ended = 1;
	mo->src.paused = 0;
	if (mo->batch) {
		batch_line(mo);
		return EXIT_OK;
	}
	/* keep the screen until q */
	draw(mo);
	while (!stop_flag)
		wait_input(mo, -1);
	return EXIT_OK;
}

/* ---- live ----------------------------------------------------------------------- */

/* The live view clock: the wall clock, or DNSVET_FIXED_CLOCK (tests). */
static ts_t wall_now(void)
{
	const char *fixed = getenv("DNSVET_FIXED_CLOCK");
	struct timespec ts;

	if (fixed && *fixed)
		return (ts_t)(strtod(fixed, NULL) * (double)NS_PER_SEC);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (ts_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

#if HAVE_LIVE_CAPTURE
static ts_t real_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (ts_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

/* One captured packet: record it (-w), then analyse it with frame
 * references into the file it went to, so evidence opens in Wireshark. */
static void live_pkt(void *ctx, struct pkt *p)
{
	struct monitor *mo = ctx;
	struct input_stats *is = &mo->a.in.st;

	if (mo->rot) {
		uint64_t idx;

		rotate_write(mo->rot, mo->rot_pcapng ? p->file : 0, p);
		idx = rotate_file_index(mo->rot);
		if (!mo->rot_registered || idx != mo->rot_index) {
			input_register_file((int)(idx & 0xffff), rotate_file_name(mo->rot));
			mo->rot_index = idx;
			mo->rot_registered = 1;
		}
		p->file = (uint16_t)(idx & 0xffff);
		p->frame = rotate_file_packets(mo->rot);
	}
	is->packets++;
	is->bytes += p->caplen;
	if (!is->first_ts || p->ts < is->first_ts)
		is->first_ts = p->ts;
	if (p->ts > is->last_ts)
		is->last_ts = p->ts;
	analysis_pkt(&mo->a, p);
	mo->dirty = 1;
}

/* -w: the rotating savefiles of dnsvet capture, one per interface set. */
static int live_record(struct monitor *mo, struct capture *c)
{
	struct rotate_opts ro = { .mode = 0600 };
	struct rotate_iface *rifs;
	ts_t now = real_now();
	int i;

	ro.pattern = mo->rot_pattern;
	ro.seconds = mo->rot_seconds;
	ro.size = mo->rot_size;
	ro.count = mo->rot_count;
	mo->rot_pcapng = capture_count(c) > 1;
	ro.format = mo->rot_pcapng ? SAVEFILE_PCAPNG : SAVEFILE_PCAP;
	ro.nifaces = mo->rot_pcapng ? capture_count(c) : 1;
	rifs = xcalloc((size_t)ro.nifaces, sizeof(*rifs));
	for (i = 0; i < ro.nifaces; i++) {
		rifs[i].name = capture_iface_name(c, i);
		rifs[i].linktype = capture_linktype(c, i);
		rifs[i].snaplen = (uint32_t)capture_snaplen(c, i);
	}
	ro.ifaces = rifs;
	mo->rot = rotate_new(&ro, now); /* copies what it keeps */
	free(rifs);
	if (!mo->rot)
		return -1;
	return rotate_start(mo->rot, now);
}

static int run_live(struct monitor *mo, const struct capture_opts *co)
{
	char err[512];
	struct capture *c = capture_open(co, err, sizeof(err));
	struct capture_stats cs;
	struct rotate_stats rs;
	int n, i, rc = EXIT_OK;

	if (!c) {
		error("%s", err);
		return EXIT_USAGE;
	}
	if (mo->rot_pattern) {
		if (live_record(mo, c) < 0) {
			capture_close(c);
			return EXIT_USAGE;
		}
	} else {
		/* no file to open: evidence names the interface and its packet */
		for (i = 0; i < capture_count(c); i++) {
			char name[200];

			snprintf(name, sizeof(name), "live %s", capture_iface_name(c, i));
			input_register_file(i, name);
		}
	}
	mo->src.live = 1;
	mo->src.have_drops = 1;
	mo->src.start = mo->src.now = wall_now();
	if (mo->batch)
		mo->next_batch = (mo->src.now / NS_PER_SEC) * NS_PER_SEC + mo->interval;
	draw(mo);
	while (!stop_flag) {
		n = capture_dispatch(c, live_pkt, mo, mo->tui ? 50 : 200, err, sizeof(err));
		if (n < 0) {
			error("%s", err);
			rc = EXIT_FAIL;
			break;
		}
		if (mo->rot) {
			rotate_tick(mo->rot, real_now());
			if (rotate_failed(mo->rot)) {
				rc = EXIT_FAIL;
				break;
			}
		}
		capture_get_stats(c, &cs);
		if (cs.kernel_drops != mo->src.kernel_drops)
			mo->dirty = 1;
		mo->src.kernel_drops = cs.kernel_drops;
		advance_to(mo, wall_now());
		matcher_advance(mo->a.mt, mo->src.now);
		service(mo, 1);
	}
	/* what the kernel accepted before the stop still goes to the files */
	if (mo->rot && capture_drain(c, live_pkt, mo, err, sizeof(err)) < 0)
		error("%s", err);
	capture_close(c);
	if (mo->rot) {
		if (rotate_close(mo->rot, &rs) < 0)
			rc = EXIT_FAIL;
		else
			snprintf(mo->rot_summary, sizeof(mo->rot_summary),
				 "recorded %" PRIu64 " packet%s in %" PRIu64 " file%s",
				 rs.written, rs.written == 1 ? "" : "s", rs.files,
				 rs.files == 1 ? "" : "s");
		mo->rot = NULL;
	}
	if (mo->batch) {
		mo->src.ended = 1;
		analysis_end(&mo->a);
		batch_line(mo);
	}
	return rc;
}
#endif

/* ---- options ------------------------------------------------------------------------ */

/* A command-line error: say what is wrong, then how to use the command. */
static int PRINTF(1, 2) bad_usage(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	error("%s", msg);
	fputs(cmd_monitor_usage, stderr);
	return EXIT_USAGE;
}

int cmd_monitor(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "speed", required_argument, NULL, OPT_SPEED },
		{ "fast", no_argument, NULL, OPT_FAST },
		{ "batch", no_argument, NULL, 'b' },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "color", no_argument, NULL, OPT_COLOR },
		{ "no-color", no_argument, NULL, OPT_NO_COLOR },
		{ "help", no_argument, NULL, 'h' },
		ANALYSIS_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct analysis_opts o;
	struct capture_opts co;
	struct monitor *mo;
	char **paths = NULL, *end, err[300];
	const char *wpattern = NULL, *ports = NULL;
	struct sbuf expr = SBUF_INIT;
	int npaths = 0, c, rc = EXIT_OK, i, color = -1, have_speed = 0, running = 0;
	double speed = 1;

	analysis_opts_init(&o);
	o.no_progress = 1;
	memset(&co, 0, sizeof(co));
	co.snaplen = 65535;
	mo = xcalloc(1, sizeof(*mo));
	mo->interval = NS_PER_SEC;
	/* "+": stop at the first non-option, the start of a BPF expression */
	while ((c = getopt_long(argc, argv, "+hbr:i:s:B:w:G:C:W:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(cmd_monitor_usage, stdout);
			goto done;
		case 'r':
			paths = analysis_add_path(paths, &npaths, optarg);
			break;
		case 'i':
			co.ifaces = xrealloc(co.ifaces, (size_t)(co.nifaces + 1) * sizeof(*co.ifaces));
			co.ifaces[co.nifaces++] = optarg;
			break;
		case 's':
			co.snaplen = (int)strtol(optarg, &end, 10);
			if (*end || co.snaplen < 64 || co.snaplen > 262144) {
				rc = bad_usage("-s: '%s' must be a number from 64 to 262144", optarg);
				goto done;
			}
			break;
		case 'B':
			co.buffer_kb = (int)strtol(optarg, &end, 10);
			if (*end || co.buffer_kb < 1) {
				rc = bad_usage("-B: '%s' is not a size in KiB", optarg);
				goto done;
			}
			break;
		case 'w':
			wpattern = optarg;
			break;
		case 'G': {
			ts_t d = parse_duration(optarg);

			if (d < NS_PER_SEC || d % NS_PER_SEC) {
				rc = bad_usage("-G: '%s' must be a whole number of seconds, at least 1",
					       optarg);
				goto done;
			}
			mo->rot_seconds = d / NS_PER_SEC;
			break;
		}
		case 'C':
			mo->rot_size = parse_size(optarg, 1000 * 1000);
			if (mo->rot_size < 4096) {
				rc = bad_usage("-C: '%s' is not a size of at least 4k (MB, or 500k, 20M, 1G)",
					       optarg);
				goto done;
			}
			break;
		case 'W':
			mo->rot_count = (int)strtol(optarg, &end, 10);
			if (*end || mo->rot_count < 1 || mo->rot_count > 1000000) {
				rc = bad_usage("-W: '%s' must be a number from 1 to 1000000", optarg);
				goto done;
			}
			break;
		case 'b':
			mo->batch = 1;
			break;
		case OPT_SPEED:
			speed = strtod(optarg, &end);
			if (*end || !(speed > 0) || speed > 1e6) {
				rc = bad_usage("--speed: '%s' must be a number above 0", optarg);
				goto done;
			}
			have_speed = 1;
			break;
		case OPT_FAST:
			mo->fast = 1;
			break;
		case OPT_INTERVAL:
			mo->interval = parse_duration(optarg);
			if (mo->interval < NS_PER_SEC / 10) {
				rc = bad_usage("--interval: '%s' must be a duration of 0.1s or more",
					       optarg);
				goto done;
			}
			break;
		case OPT_COLOR: color = 1; break;
		case OPT_NO_COLOR: color = 0; break;
		default:
			if (c == OPT_PORT)
				ports = optarg;
			i = analysis_option(&o, c, optarg);
			if (i == 0)
				break;
			if (i > 0)
				fputs(cmd_monitor_usage, stderr);
			rc = EXIT_USAGE;
			goto done;
		}
	}
	for (i = optind; i < argc; i++) {
		if (expr.len)
			sbuf_addch(&expr, ' ');
		sbuf_addstr(&expr, argv[i]);
	}
	if (npaths && co.nifaces)
		rc = bad_usage("-r and -i cannot be used together");
	else if (!npaths && !co.nifaces)
		rc = bad_usage("give a capture to replay (-r FILE) or an interface (-i IFACE)");
	else if (npaths && expr.len)
		rc = bad_usage("'%s': a filter expression applies to live capture (-i) only",
			       expr.buf);
	else if (npaths && wpattern)
		rc = bad_usage("-w records a live capture (-i); '%s' would copy the replay",
			       wpattern);
	else if (!wpattern && (mo->rot_seconds || mo->rot_size || mo->rot_count))
		rc = bad_usage("-G, -C and -W rotate the files of -w PATTERN");
	else if (wpattern && !strcmp(wpattern, "-"))
		rc = bad_usage("-w -: the monitor records to files only (they are renamed "
			       "when complete)");
	else if (co.nifaces && (have_speed || mo->fast))
		rc = bad_usage("--speed and --fast apply to a replay (-r)");
	else if (have_speed && mo->fast)
		rc = bad_usage("--speed and --fast cannot be used together");
	else if (co.nifaces && !HAVE_LIVE_CAPTURE) {
		error("live capture (-i) is not available in this build of dnsvet monitor "
		      "(it needs the capture engine, capture.c); replay a file with -r");
		rc = EXIT_USAGE;
	}
	if (rc)
		goto done;
	if (color < 0) {
		const char *nc = getenv("NO_COLOR");

		color = !(nc && *nc);
	}
	mo->rot_pattern = wpattern;
	co.expr = expr.len ? expr.buf : NULL;
	co.ports = ports ? ports : "53";

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);
	stop_flag = 0;

	mon_data_init(&mo->d);
	analysis_init(&mo->a, &o, paths, npaths);
	running = 1;
	mo->a.msg_sink = sink_msg;
	mo->a.txn_sink = sink_txn;
	mo->a.sink_ctx = mo;
	mo->a.stop = &stop_flag;
	mo->src.a = &mo->a;
	mo->src.d = &mo->d;
	mo->src.findings = &mo->snap;
	mo->src.speed = speed;
	mo->src.fast = mo->fast;
	if (npaths)
		snprintf(mo->source, sizeof(mo->source), "%s%s",
			 strcmp(paths[0], "-") ? paths[0] : "standard input",
			 npaths > 1 ? " +more" : "");
	else
		snprintf(mo->source, sizeof(mo->source), "live %s%s", co.ifaces[0],
			 co.nifaces > 1 ? " +more" : "");
	mo->src.source = mo->source;

	if (!mo->batch && !isatty(STDOUT_FILENO))
		mo->batch = 1;
	if (!mo->batch) {
		mo->tui = tui_open(&mo->src, color, err, sizeof(err));
		if (!mo->tui) {
			warning("%s: printing a summary every interval instead", err);
			mo->batch = 1;
		}
	}
	if (npaths)
		rc = run_replay(mo);
#if HAVE_LIVE_CAPTURE
	else
		rc = run_live(mo, &co);
#else
	(void)wall_now;
#endif
	tui_close(mo->tui);
	if (mo->rot_summary[0])
		fprintf(stderr, "dnsvet monitor: %s\n", mo->rot_summary);
done:
	if (running) {
		/* the sinks still run while the matcher lets go of open queries */
		analysis_release(&mo->a);
		findings_free(&mo->snap);
		mon_data_free(&mo->d);
	}
	analysis_opts_free(&o);
	sbuf_release(&expr);
	free(mo->printed);
	free(mo);
	free(paths);
	free(co.ifaces);
	return rc;
}
