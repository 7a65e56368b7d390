/*
 * check-rules.h: the rule language of dnsvet check: parse rule files,
 * collect evidence while the capture is read, and evaluate each rule
 * against the finished analysis. dnsvet-check(1) is the language reference.
 *
 * One rule per line; '#' starts a comment:
 *
 *   [server ADDR] METRIC OP NUMBER[UNIT]   latency.p99 <= 200ms
 *   DET.count OP NUMBER                    retry-timeout.count == 0
 *   DET.findings OP NUMBER                 search-walk.findings <= 1
 *   DET severity OP LEVEL                  ptr-flood severity < warning
 *   DET off                                serial-fallback off
 *
 * DET is a detector name or "any" (every detector). The parser knows the
 * metrics and the detectors, so a typo is an error at parse time that
 * points at the line and column, never a rule that silently holds.
 */
#ifndef DNSVET_CHECK_RULES_H
#define DNSVET_CHECK_RULES_H

#include "analyze.h"

/* More rules than this in one run is a mistake (a generated file gone
 * wrong), and every rule costs a little per transaction. */
#define RULES_MAX 1000
/* Parse errors reported per file before giving up on it. */
#define RULES_MAX_ERRORS 20
#define RULE_MAX_EVIDENCE 8

enum rule_kind {
	RULE_METRIC,   /* [server ADDR] METRIC OP NUMBER */
	RULE_COUNT,    /* DET.count OP NUMBER: sum of the findings' counts */
	RULE_FINDINGS, /* DET.findings OP NUMBER: number of findings */
	RULE_SEVERITY, /* DET severity OP LEVEL: highest severity, none if none */
	RULE_OFF,      /* DET off: no finding at all, info included */
};

enum rule_op { OP_LT, OP_LE, OP_EQ, OP_NE, OP_GE, OP_GT };

enum metric_unit { MU_COUNT, MU_RATIO, MU_TIME };

/* Metrics, in the order of the table in check-rules.c. */
enum metric {
	M_PACKETS, M_QUERIES, M_RESPONSES, M_TRANSACTIONS, M_MATCHED, M_UNANSWERED,
	M_OPEN_AT_END, M_ORPHANS, M_MISMATCHED, M_RETRANS, M_DUPLICATES, M_LOOKUPS,
	M_LOOKUPS_RETRIED, M_LOOKUPS_FAILED, M_EVICTED, M_MALFORMED, M_TRUNCATED,
	M_ANSWERED_RATIO, M_UNANSWERED_RATIO, M_LAT_P50, M_LAT_P90, M_LAT_P99,
	M_LAT_MAX, M_RCODE, M_MAX
};

struct rule {
	char *text;  /* as written, without comment and outer blanks */
	char *where; /* "FILE:LINE", or what added it ("--fail-on warning") */
	int kind;    /* enum rule_kind */
	int op;	     /* enum rule_op */
	int metric;  /* enum metric (RULE_METRIC) */
	int rcode;   /* for M_RCODE */
	int detector; /* index in detectors[], -1 = any (finding rules) */
	int has_server;
	struct addr server;
	double limit; /* count, ratio 0..1, or microseconds; a severity */
	char limit_text[32]; /* "200ms", "1%", "warning" */
};

struct rules {
	struct rule *v;
	size_t n, alloc;
};

#define RULES_INIT { NULL, 0, 0 }

/*
 * Parse rules from text (a whole file; lines end with '\n'). file names the
 * source in messages and in rule.where. On errors, appends one diagnostic
 * per bad line to err:
 *
 *   FILE:LINE:COL: MESSAGE
 *       the line as written
 *           ^
 *
 * and returns the number of errors (0 = all rules added to rs).
 */
int rules_parse(struct rules *rs, const char *text, size_t len, const char *file,
		struct sbuf *err);
/* Read and parse a file: 0, or -1 after printing the diagnostics. */
int rules_parse_file(struct rules *rs, const char *path);
/* Add one rule "DET severity < LEVEL" per detector enabled by only (a
 * comma list, NULL = all): what check does without a rules file. */
void rules_add_defaults(struct rules *rs, int level, const char *only, const char *why);
/* Add a rule from text that cannot fail to parse (BUG otherwise). */
void rules_add_builtin(struct rules *rs, const char *text, const char *why);
void rules_free(struct rules *rs);

const char *rule_op_str(int op);
/* The name of a metric as the language spells it ("latency.p99"). */
const char *metric_name(int metric);

/* ---- evaluation ---------------------------------------------------------- */

/* What rules are evaluated against. check_facts_from() fills it from an
 * analysis; tests fill it by hand. */
struct check_facts {
	double m[M_MAX];   /* latency in us; NAN when there is no data */
	uint64_t rcodes[16];
	const struct findings *findings;
	const struct stats *st; /* per-server tables; NULL = none */
	const struct match_stats *ms; /* orphan and mismatch examples; may be NULL */
};

void check_facts_from(struct check_facts *cf, struct analysis *a);

/* Examples kept while the capture is read, and their total. */
struct rule_evidence {
	struct evidence ev[RULE_MAX_EVIDENCE];
	int64_t rank[RULE_MAX_EVIDENCE]; /* latency rules keep the slowest */
	int n;
	uint64_t total; /* transactions that speak against the rule */
};

/*
 * Feed a finished transaction: if it is evidence against the rule (an
 * unanswered query for an unanswered limit, a query slower than a latency
 * limit, ...), count it and keep it if it is among the first (or, for
 * latency, the slowest) RULE_MAX_EVIDENCE.
 */
void rule_observe(const struct rule *r, struct rule_evidence *e, const struct txn *t);

struct rule_result {
	int passed;
	int has_actual;	 /* 0: no data (no answered query; server not seen) */
	double actual;	 /* same unit as rule.limit */
	char actual_text[96]; /* "35.05% (129 of 368)", "critical (1 finding)" */
	char message[512];    /* one line saying what was measured against what */
	size_t message_core;  /* its length before ": [severity] detector: summary"
				 of the worst finding that broke it (for outputs that
				 list the findings after it anyway) */
};

/* Evaluate; returns res->passed. */
int rule_eval(const struct rule *r, const struct check_facts *cf, struct rule_result *res);

/* Does finding f bear on rule r (its detector, and for severity rules, a
 * severity that breaks the rule)? For picking the evidence to show. */
int rule_finding_relevant(const struct rule *r, const struct finding *f);

#endif
