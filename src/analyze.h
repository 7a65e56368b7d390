/*
 * analyze.h: one analysis run, the pipeline wired together:
 *
 *   input -> decoder -> matcher -> stats + detectors (+ an optional sink)
 *
 * Shared by report, tx, check and monitor, together with the options they
 * all accept (--port, --answer-window, --set, --config, ...).
 */
#ifndef DNSVET_ANALYZE_H
#define DNSVET_ANALYZE_H

#include <getopt.h>

#include "decode.h"
#include "detect.h"
#include "input.h"
#include "match.h"
#include "stats.h"

struct analysis_opts {
	struct decode_config dcfg;
	struct match_config mcfg;
	struct detect_config detcfg;
	int no_progress;
	int jobs; /* -j: processes in the pipeline (analyze-pipe.c), at most 3 used */
};

struct analysis {
	struct analysis_opts *opts;
	struct input in;
	struct decoder dec;
	struct matcher *mt;
	struct stats st;
	struct detect_ctx *dc;
	struct findings findings;
	/* optional extra sinks (dnsvet tx, monitor); msg_sink sees every
	 * decoded message before the matcher (monitor's live rates) */
	msg_fn msg_sink;
	txn_fn txn_sink;
	lookup_fn lookup_sink;
	void *sink_ctx;
	volatile int *stop;
	ts_t last_progress;
	int ran;
	/* look-ahead (analyze.c): transactions and lookups wait here a few
	 * places before the statistics and the detectors get them; NULL:
	 * handed on at once (live use) */
	struct ahead *ahead;
};

/* Options every analysing command takes. Append to a command's long
 * options with ANALYSIS_LONGOPTS and pass unknown codes to
 * analysis_option(). */
enum {
	OPT_PORT = 1000, OPT_WINDOW, OPT_SET, OPT_CONFIG, OPT_DETECTORS,
	OPT_MAX_OPEN, OPT_RATE_BUDGET, OPT_NO_PROGRESS, OPT_JOBS, OPT_ANALYSIS_LAST
};
/* --answer-window at most this many seconds (dnsvet-report(1)) */
#define ANSWER_WINDOW_MAX_S 600
#define ANALYSIS_LONGOPTS                                              \
	{ "port", required_argument, NULL, OPT_PORT },                  \
	{ "answer-window", required_argument, NULL, OPT_WINDOW },       \
	{ "set", required_argument, NULL, OPT_SET },                    \
	{ "config", required_argument, NULL, OPT_CONFIG },              \
	{ "detectors", required_argument, NULL, OPT_DETECTORS },        \
	{ "max-open", required_argument, NULL, OPT_MAX_OPEN },          \
	{ "rate-budget", required_argument, NULL, OPT_RATE_BUDGET },    \
	{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },          \
	{ "jobs", required_argument, NULL, OPT_JOBS }

#define ANALYSIS_HELP \
	"  --port LIST           DNS ports (default 53), e.g. 53,8053\n" \
	"  --answer-window DUR   unanswered after this long (default 10s)\n" \
	"  --set DET.PARAM=VAL   set a detector threshold (dnsvet-detectors(7))\n" \
	"  --config FILE         read DET.PARAM=VAL lines from FILE\n" \
	"  --detectors LIST      run only these detectors (comma list)\n" \
	"  --rate-budget PPS     flag seconds over a known packet budget\n" \
	"  --max-open N          cap on open queries and lookups (default 1048576)\n" \
	"  -j, --jobs N          2: decode and match in a second process; 3: decode,\n" \
	"                        match, report in three (same output; dnsvet-report(1))\n"

/* Append path to a command's list of inputs (-r FILE or an argument). */
char **analysis_add_path(char **paths, int *npaths, char *path);

void analysis_opts_init(struct analysis_opts *o);
/* 0 if handled, -1 on a bad value (error printed), 1 if not ours */
int analysis_option(struct analysis_opts *o, int opt, const char *arg);
void analysis_opts_free(struct analysis_opts *o);

void analysis_init(struct analysis *a, struct analysis_opts *o, char **paths, int npaths);
/* Read everything, finish matcher and detectors. 0, or -1 if an input
 * could not be opened (error printed; exit status 2). */
int analysis_run(struct analysis *a);
/* For live use: feed packets one at a time, then analysis_end(). */
void analysis_pkt(struct analysis *a, struct pkt *p);
void analysis_end(struct analysis *a);
void analysis_release(struct analysis *a);

/* Between analyze.c and analyze-pipe.c: run as a pipeline (-j), and hand
 * a finished transaction or lookup to stats, detectors and sinks. */
int analysis_run_pipe(struct analysis *a);
void analysis_txn(struct analysis *a, const struct txn *t);
void analysis_lookup(struct analysis *a, const struct lookup *l);
/* The same with the client numbered already (detect_event_client(), by
 * the matching process of -j, in the same order). */
void analysis_txn_numbered(struct analysis *a, const struct txn *t, uint32_t client);
void analysis_lookup_numbered(struct analysis *a, const struct lookup *l, uint32_t client);
/* Batch runs: let transactions and lookups wait AHEAD places (analyze.c)
 * from now on, unless an input is a pipe (input_is_pipe()); analysis_end() hands
 * on what waits. */
void analysis_look_ahead(struct analysis *a);
/* Hand on everything that waits (before detect_finish()). */
void analysis_flush(struct analysis *a);

#endif
