/*
 * detect.h: detectors turn finished transactions and lookups into findings.
 *
 * A detector is "threshold + record + trim to a bound" (redis slowlog): it
 * sees every finished struct txn and struct lookup as const, keeps what it
 * needs in bounded memory of its own, and at the end writes findings. The
 * registry and the checklist for adding one are at the top of detect.c.
 */
#ifndef DNSVET_DETECT_H
#define DNSVET_DETECT_H

#include "dnsvet.h"

enum severity { SEV_NONE = -1, SEV_INFO = 0, SEV_WARNING = 1, SEV_CRITICAL = 2 };
const char *severity_str(int sev);
int severity_parse(const char *s); /* -2 if unknown */

#define FINDING_MAX_EVIDENCE 8
#define FINDING_MAX_AFFECTED 8

/* One example transaction a user can open in Wireshark. */
struct evidence {
	uint64_t txn_seq;
	ts_t ts;
	struct frameref q, r; /* r.frame == 0: no response */
	char what[160];	      /* one line: "A? keydb-0.keydb. SERVFAIL after 0.4ms" */
};

struct finding {
	const char *detector;
	int severity;
	ts_t first, last;
	uint64_t count; /* what the detector counts (see its man page entry) */
	char *summary;	/* one line */
	char *explanation;
	char *fix;
	/* affected entities, most affected first */
	char *servers[FINDING_MAX_AFFECTED], *clients[FINDING_MAX_AFFECTED];
	char *names[FINDING_MAX_AFFECTED], *ifaces[FINDING_MAX_AFFECTED];
	int nservers, nclients, nnames, nifaces;
	/* detector-specific measurements: text lines for the report, and the
	 * body of a JSON object ("\"ratio\": 0.25, ...") for --json */
	struct sbuf details;
	struct sbuf json;
	struct evidence ev[FINDING_MAX_EVIDENCE];
	int nev;
};

struct findings {
	struct finding *v;
	size_t n, alloc;
};

/* Thresholds: every detector parameter has a documented default and can be
 * set with --set DETECTOR.PARAM=VALUE or a config file line of that form. */
struct detector_param {
	const char *name;
	double def;
	const char *doc;
};

struct detect_config {
	ts_t window; /* the matcher's answer window */
	struct {
		char *key; /* "detector.param" */
		double value;
	} *over;
	size_t nover;
	const char *only; /* comma list of detectors to run, NULL = all */
};

struct detect_ctx; /* per run: the detector states and tags */

struct detector {
	const char *name;
	const char *summary;
	const struct detector_param *params; /* NULL-terminated, may be NULL */
	void *(*init)(struct detect_ctx *dc);
	void (*txn)(void *state, const struct txn *t);
	void (*lookup)(void *state, const struct lookup *l);
	/* Append findings for everything seen so far. Called once at the end
	 * of a run AND for snapshots during live runs (monitor, capture
	 * --summary-every): it must not consume or change the state. */
	void (*finish)(void *state, struct findings *out);
	void (*free)(void *state);
	/* Optional, a hint: t will come to .txn in a few calls (analyze.c,
	 * look-ahead), and detect_prefetch() started loading this
	 * detector's record of the client a few calls ago (client: its
	 * number, or DETECT_NO_CLIENT). Start loading what .txn will need
	 * behind that record (__builtin_prefetch), one step: reading what
	 * this starts would wait for memory here. Change nothing. */
	void (*prefetch)(void *state, const struct txn *t, uint32_t client);
};

extern const struct detector *const detectors[];
extern const size_t ndetectors;

/* ---- for detectors ------------------------------------------------------- */

/* The value of this detector's parameter (default or override). */
double detect_param(struct detect_ctx *dc, const char *detector, const char *param);
ts_t detect_window(struct detect_ctx *dc);
/*
 * A small number for the client of the transaction or lookup being handed
 * to the detectors right now, the same for the same address all run long
 * (dense, from 0), or DETECT_NO_CLIENT once DETECT_MAX_CLIENTS addresses
 * have been numbered. Several detectors keep per-client state; with one
 * hash map each, every transaction paid one address hash lookup per
 * detector (a cache miss or two each). dk_client() (detkit.h) turns the
 * number into a record with an array index.
 */
#define DETECT_NO_CLIENT UINT32_MAX
#define DETECT_MAX_CLIENTS 65536
uint32_t detect_client(struct detect_ctx *dc);
/* dk_clients_init() (detkit.h) registers each detector's per-client
 * records, so that detect_prefetch() can start loading those of the
 * transaction's client all at once, before the detectors run. */
struct dk_clients;
void detect_add_clients(struct detect_ctx *dc, struct dk_clients *c);
void detect_remove_clients(struct detect_ctx *dc, struct dk_clients *c);
/* Mark transaction seq as belonging to a finding of detector det. */
void detect_tag(struct detect_ctx *dc, const char *det, uint64_t seq);

struct finding *finding_new(struct findings *out, const char *detector, int severity);
void finding_set(char **field, const char *fmt, ...) PRINTF(2, 3);
void finding_affected(char **arr, int *n, const char *s);
void finding_evidence(struct finding *f, const struct txn *t, const char *fmt, ...)
	PRINTF(3, 4);
/* evidence from a stored copy rather than a live txn */
void finding_evidence_raw(struct finding *f, uint64_t seq, ts_t ts, struct frameref q,
			  struct frameref r, const char *what);
/* "A? example.com. NOERROR 1.2ms" style description of a transaction */
void txn_describe(const struct txn *t, char *buf, size_t n);

/* ---- for the pipeline --------------------------------------------------- */

int detect_config_set(struct detect_config *cfg, const char *assignment); /* "a.b=1" */
int detect_config_file(struct detect_config *cfg, const char *path);
void detect_config_free(struct detect_config *cfg);

/* Is detector name in the comma list only (--detectors)? NULL = all. */
int detect_enabled(const char *only, const char *name);
struct detect_ctx *detect_new(const struct detect_config *cfg);
/*
 * Every transaction and lookup is handed to the detectors with its
 * client's number (detect_client()), and numbers are given in the order
 * events are handed on, so the same trace numbers the same way however it
 * is run: at once (live), after the look-ahead (analyze.c), or in the other
 * process of -j, which numbers them for the reporting one.
 * detect_event_client() is that number: for a transaction always, for a
 * lookup if an enabled detector (here or in the other process) takes
 * lookups, else DETECT_UNNUMBERED (nobody asks; no hash lookup).
 */
#define DETECT_UNNUMBERED (DETECT_NO_CLIENT - 1)
uint32_t detect_event_client(struct detect_ctx *dc, const struct addr *a, int is_lookup);
/* The number detect_client() gives address a (a new one if it is new). */
uint32_t detect_client_number(struct detect_ctx *dc, const struct addr *a);
/* Start loading what detect_client_number(a) reads (a hint). */
void detect_client_prefetch(const struct detect_ctx *dc, const struct addr *a);
/* Hand t to the detectors; client is detect_event_client()'s number. */
void detect_txn_numbered(struct detect_ctx *dc, const struct txn *t, uint32_t client);
/* The same for a lookup. */
void detect_lookup_numbered(struct detect_ctx *dc, const struct lookup *l, uint32_t client);
/* Start loading the detectors' records of this client (a hint). */
void detect_prefetch(struct detect_ctx *dc, uint32_t client);
/* The detectors' .prefetch hooks for t (a hint). */
void detect_prefetch_deep(struct detect_ctx *dc, const struct txn *t, uint32_t client);
/* Run every detector's finish, sort findings (severity, then detector).
 * May be called repeatedly (live snapshots); out should be empty. */
void detect_finish(struct detect_ctx *dc, struct findings *out);
/* Bitmask of detectors (index in detectors[]) that tagged seq. */
uint32_t detect_tags(const struct detect_ctx *dc, uint64_t seq);
void detect_free(struct detect_ctx *dc);

/* -j: run only the detectors whose bit (index in detectors[]) is set in
 * mask; the findings and tags of the others come from a process that ran
 * them, via detect_import() of what its detect_export() wrote. */
void detect_set_local(struct detect_ctx *dc, uint32_t mask);
void detect_export(struct detect_ctx *dc, struct sbuf *sb);
int detect_import(struct detect_ctx *dc, const uint8_t *p, size_t n);
void findings_free(struct findings *f);

#endif
