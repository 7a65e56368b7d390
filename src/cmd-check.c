/*
 * cmd-check.c: dnsvet check: a CI gate on recorded traces.
 *
 * Reads captures like report, tests each rule of the rule language
 * (check-rules.c) against the result, and says PASS or FAIL per rule with
 * the evidence: the transactions (file and frame) that broke it. The same
 * verdicts go, on request, to JUnit XML (one test case per rule, for the CI
 * system's test view), to markdown (a pull-request comment) and to JSON.
 *
 * Exit status: 0 every rule holds, 1 a rule failed, 2 a usage error, a bad
 * rule or an input that is not a capture. A truncated capture is analysed
 * as far as it goes and reported; --fail-on-truncated adds the rule
 * `truncated == 0`, so it fails like any other rule, with a test case.
 */
#include "config.h"
#include "check-rules.h"
#include "cmd.h"
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char cmd_check_usage[] =
	"usage: dnsvet check [OPTIONS] FILE...\n"
	"\n"
	"Gate a build on recorded DNS traffic: analyse the captures, test each rule\n"
	"(language in dnsvet-check(1)), print PASS or FAIL with the evidence.\n"
	"\n"
	"  --rules FILE          the rules (default: no warning or critical finding)\n"
	"  --fail-on LEVEL       fail on any finding of LEVEL (warning, critical) or worse\n"
	"  --fail-on-truncated   a capture that ends mid-record fails the check\n"
	"  --junit OUT.xml       JUnit XML, one test case per rule\n"
	"  --markdown OUT.md     a summary for a pull-request comment\n"
	"  --json                JSON on stdout instead of the text summary\n"
	ANALYSIS_HELP
	"  -h, --help            this help\n"
	"\n"
	"Exit status: 0 every rule holds, 1 a rule failed, 2 usage error, a bad\n"
	"rule, or a file that is not a capture.\n";

/* Failed rules whose details go into the markdown comment: a pull-request
 * comment has a size limit (65,536 characters on GitHub). */
#define MD_MAX_FAILURES 30
/* Findings shown per failed rule. */
#define SHOW_FINDINGS 4

struct check {
	struct rules rules;
	struct rule_result *res;
	struct rule_evidence *ev;
	struct check_facts facts;
	struct analysis *a;
	size_t failed;
	double seconds; /* analysis wall time, for JUnit */
};

static void on_txn(void *ctx, const struct txn *t)
{
	struct check *c = ctx;
	size_t i;

	for (i = 0; i < c->rules.n; i++)
		rule_observe(&c->rules.v[i], &c->ev[i], t);
}

/* Orphan and mismatched responses are not transactions: the matcher keeps
 * a few frames of each as examples. */
static void match_examples(struct check *c, const struct rule *r, struct rule_evidence *e)
{
	const struct match_stats *ms = c->facts.ms;
	const struct match_example *ex;
	uint32_t n, i;

	if (!ms || r->kind != RULE_METRIC || r->has_server ||
	    (r->op != OP_LT && r->op != OP_LE && r->op != OP_EQ))
		return;
	if (r->metric == M_ORPHANS) {
		ex = ms->orphan_ex;
		n = ms->norphan_ex;
		e->total = ms->orphans;
	} else if (r->metric == M_MISMATCHED) {
		ex = ms->mismatch_ex;
		n = ms->nmismatch_ex;
		e->total = ms->mismatched;
	} else {
		return;
	}
	for (i = 0; i < n && e->n < RULE_MAX_EVIDENCE; i++) {
		struct evidence *ev = &e->ev[e->n++];

		memset(ev, 0, sizeof(*ev));
		ev->r = ex[i].frame;
		snprintf(ev->what, sizeof(ev->what), "%s",
			 r->metric == M_ORPHANS ? "response to no query in the capture"
						: "right id and ports, another question");
	}
}

/* ---- text ------------------------------------------------------------------ */

static void evidence_line(struct sbuf *sb, const char *indent, const struct evidence *e)
{
	char t[40];

	sbuf_addstr(sb, indent);
	if (e->q.frame) {
		sbuf_add_escaped(sb, input_file_name(e->q.file), strlen(input_file_name(e->q.file)));
		sbuf_addf(sb, " #%u", e->q.frame);
		if (e->r.frame)
			sbuf_addf(sb, " -> #%u", e->r.frame);
	} else if (e->r.frame) {
		sbuf_add_escaped(sb, input_file_name(e->r.file), strlen(input_file_name(e->r.file)));
		sbuf_addf(sb, " response #%u", e->r.frame);
	}
	if (e->ts) {
		fmt_time(t, sizeof(t), e->ts);
		sbuf_addf(sb, "  %s", t + 11);
	}
	sbuf_addstr(sb, "  ");
	sbuf_addstr(sb, e->what);
	sbuf_addch(sb, '\n');
}

/* What the evidence of a metric rule consists of, plural or not. */
static const char *evidence_noun(const struct rule *r, uint64_t n)
{
	switch (r->metric) {
	case M_OPEN_AT_END: return n == 1 ? "query still open when the capture ended"
					  : "queries still open when the capture ended";
	case M_RETRANS: return n == 1 ? "transaction retransmitted" : "transactions retransmitted";
	case M_RCODE: return n == 1 ? "answer with this rcode" : "answers with this rcode";
	case M_ORPHANS: return n == 1 ? "orphan response" : "orphan responses";
	case M_MISMATCHED: return n == 1 ? "mismatched response" : "mismatched responses";
	default: return n == 1 ? "unanswered query" : "unanswered queries";
	}
}

/*
 * The evidence of a failed rule as text lines, each starting with indent:
 * the transactions that broke a metric rule, or the findings (with their
 * evidence) that broke a detector rule.
 */
static void evidence_text(struct sbuf *sb, struct check *c, size_t i, const char *indent)
{
	const struct rule *r = &c->rules.v[i];
	const struct rule_evidence *e = &c->ev[i];
	char ind2[32];
	size_t k, shown = 0, relevant = 0;
	int j;

	snprintf(ind2, sizeof(ind2), "%s  ", indent);
	if (r->kind == RULE_METRIC) {
		if (!e->n)
			return;
		if (r->metric >= M_LAT_P50 && r->metric <= M_LAT_MAX)
			sbuf_addf(sb, "%s%" PRIu64 " answered quer%s over the limit; %s %d "
				  "(file #query -> #response):\n", indent, e->total,
				  e->total == 1 ? "y" : "ies", (uint64_t)e->n < e->total ? "the slowest" : "all",
				  e->n);
		else
			sbuf_addf(sb, "%s%" PRIu64 " %s; %s %d (file #query -> #response):\n", indent,
				  e->total, evidence_noun(r, e->total), (uint64_t)e->n < e->total ? "the first" : "all",
				  e->n);
		for (j = 0; j < e->n; j++)
			evidence_line(sb, ind2, &e->ev[j]);
		return;
	}
	for (k = 0; k < c->a->findings.n; k++) {
		const struct finding *f = &c->a->findings.v[k];

		if (!rule_finding_relevant(r, f))
			continue;
		if (relevant++ >= SHOW_FINDINGS)
			continue;
		sbuf_addf(sb, "%s[%s] %s: %s\n", indent, severity_str(f->severity), f->detector,
			  f->summary ? f->summary : "");
		for (j = 0; j < f->nev; j++)
			evidence_line(sb, ind2, &f->ev[j]);
		shown++;
	}
	if (relevant > shown)
		sbuf_addf(sb, "%s... %zu more findings (dnsvet report shows them all)\n", indent,
			  relevant - shown);
}

static void capture_line(struct sbuf *sb, struct analysis *a)
{
	char t1[40], t2[40], dur[32];

	fmt_time(t1, sizeof(t1), a->in.st.first_ts);
	fmt_time(t2, sizeof(t2), a->in.st.last_ts);
	fmt_dur(dur, sizeof(dur), a->in.st.last_ts - a->in.st.first_ts);
	sbuf_addf(sb, "%d file%s, ", a->in.npaths, a->in.npaths == 1 ? "" : "s");
	if (a->in.st.packets)
		sbuf_addf(sb, "%s to %s UTC (%s)", t1, t2 + 11, dur);
	else
		sbuf_addstr(sb, "no packets");
	sbuf_addf(sb, ": %" PRIu64 " queries, %" PRIu64 " transactions, %zu finding%s",
		  matcher_stats(a->mt)->queries, matcher_stats(a->mt)->txns, a->findings.n,
		  a->findings.n == 1 ? "" : "s");
}

static void truncated_line(struct sbuf *sb, struct analysis *a, const char *prefix)
{
	uint32_t n = a->in.st.truncated_files;

	if (n)
		sbuf_addf(sb, "%s%u file%s ended early (truncated or damaged): the results cover "
			  "what was read\n", prefix, n, n == 1 ? "" : "s");
}

static void write_text(FILE *out, struct check *c)
{
	struct sbuf sb = SBUF_INIT;
	size_t i, w = 8;

	sbuf_addstr(&sb, "dnsvet check: ");
	capture_line(&sb, c->a);
	sbuf_addch(&sb, '\n');
	truncated_line(&sb, c->a, "warning: ");
	sbuf_addch(&sb, '\n');
	for (i = 0; i < c->rules.n; i++)
		w = MAX(w, strlen(c->rules.v[i].text));
	w = MIN(w, 44);
	for (i = 0; i < c->rules.n; i++)
		sbuf_addf(&sb, "  %s  %-*s  %s\n", c->res[i].passed ? "PASS" : "FAIL", (int)w,
			  c->rules.v[i].text, c->res[i].actual_text);
	for (i = 0; i < c->rules.n; i++) {
		if (c->res[i].passed)
			continue;
		sbuf_addf(&sb, "\nFAIL %s  (%s)\n  %.*s\n", c->rules.v[i].text, c->rules.v[i].where,
			  (int)c->res[i].message_core, c->res[i].message);
		evidence_text(&sb, c, i, "  ");
	}
	if (c->failed)
		sbuf_addf(&sb, "\ndnsvet check: FAILED: %zu of %zu rules failed\n", c->failed,
			  c->rules.n);
	else
		sbuf_addf(&sb, "\ndnsvet check: passed: %zu rule%s hold%s\n", c->rules.n,
			  c->rules.n == 1 ? "" : "s", c->rules.n == 1 ? "s" : "");
	fwrite(sb.buf, 1, sb.len, out);
	sbuf_release(&sb);
}

/* ---- JUnit XML -------------------------------------------------------------- */

/*
 * Text for XML: markup characters as entities, and any byte XML 1.0 cannot
 * carry (control characters) or that may not be UTF-8 as "\xHH". Evidence
 * is escaped already (names in \DDD form); file names come from the
 * command line and may be anything.
 */
static void xml_add(struct sbuf *sb, const char *s, int attr)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p; p++) {
		switch (*p) {
		case '&': sbuf_addstr(sb, "&amp;"); break;
		case '<': sbuf_addstr(sb, "&lt;"); break;
		case '>': sbuf_addstr(sb, "&gt;"); break;
		case '"': sbuf_addstr(sb, attr ? "&quot;" : "\""); break;
		case '\n': sbuf_addstr(sb, attr ? "&#10;" : "\n"); break;
		default:
			if (*p < 0x20 || *p >= 0x7f)
				sbuf_addf(sb, "\\x%02x", *p);
			else
				sbuf_addch(sb, *p);
		}
	}
}

static void junit_time(char *buf, size_t n, ts_t t)
{
	time_t sec = t > 0 ? (time_t)(t / NS_PER_SEC) : time(NULL);
	struct tm tm;

	gmtime_r(&sec, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
}

/*
 * The Ant/Jenkins JUnit format (tests/junit.xsd): a testsuites element
 * with one testsuite, one testcase per rule; a failed rule has a failure
 * element whose message says what failed and why and whose body is the
 * evidence. The timestamp is when the capture started.
 */
static void write_junit(FILE *out, struct check *c)
{
	struct sbuf sb = SBUF_INIT, body = SBUF_INIT;
	struct analysis *a = c->a;
	char ts[40], host[256];
	size_t i;
	int k;

	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	junit_time(ts, sizeof(ts), a->in.st.packets ? a->in.st.first_ts : 0);
	sbuf_addf(&sb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		  "<testsuites name=\"dnsvet check\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
		  "time=\"%.3f\">\n", c->rules.n, c->failed, c->seconds);
	sbuf_addf(&sb, "  <testsuite name=\"dnsvet check\" package=\"dnsvet\" id=\"0\" "
		  "tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"0\" time=\"%.3f\" "
		  "timestamp=\"%s\" hostname=\"", c->rules.n, c->failed, c->seconds, ts);
	xml_add(&sb, host, 1);
	sbuf_addstr(&sb, "\">\n    <properties>\n");
	for (k = 0; k < a->in.npaths; k++) {
		sbuf_addstr(&sb, "      <property name=\"file\" value=\"");
		xml_add(&sb, a->in.paths[k], 1);
		sbuf_addstr(&sb, "\"/>\n");
	}
	sbuf_addf(&sb, "      <property name=\"truncated_files\" value=\"%u\"/>\n"
		  "    </properties>\n", a->in.st.truncated_files);
	for (i = 0; i < c->rules.n; i++) {
		const struct rule *r = &c->rules.v[i];

		sbuf_addstr(&sb, "    <testcase name=\"");
		xml_add(&sb, r->text, 1);
		sbuf_addstr(&sb, "\" classname=\"dnsvet.check\" time=\"0\"");
		if (c->res[i].passed) {
			sbuf_addstr(&sb, "/>\n");
			continue;
		}
		sbuf_addstr(&sb, ">\n      <failure type=\"rule\" message=\"");
		xml_add(&sb, c->res[i].message, 1);
		sbuf_addstr(&sb, "\">");
		sbuf_reset(&body);
		sbuf_addf(&body, "%s (%s)\n%.*s\n", r->text, r->where, (int)c->res[i].message_core,
			  c->res[i].message);
		evidence_text(&body, c, i, "");
		xml_add(&sb, body.buf, 0);
		sbuf_addstr(&sb, "</failure>\n    </testcase>\n");
	}
	sbuf_reset(&body);
	sbuf_addstr(&body, "dnsvet check: ");
	capture_line(&body, a);
	sbuf_addch(&body, '\n');
	truncated_line(&body, a, "warning: ");
	sbuf_addstr(&sb, "    <system-out>");
	xml_add(&sb, body.buf, 0);
	sbuf_addstr(&sb, "</system-out>\n    <system-err></system-err>\n  </testsuite>\n"
		    "</testsuites>\n");
	fwrite(sb.buf, 1, sb.len, out);
	sbuf_release(&sb);
	sbuf_release(&body);
}

/* ---- markdown --------------------------------------------------------------- */

/* Prose for markdown: characters that would start markup are escaped
 * (CommonMark allows a backslash before any ASCII punctuation). */
static void md_add(struct sbuf *sb, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p; p++) {
		if (*p < 0x20 || *p >= 0x7f)
			sbuf_addf(sb, "\\\\x%02x", *p);
		else if (strchr("\\`*_[]<>|#~!&{}", *p))
			sbuf_addf(sb, "\\%c", *p);
		else
			sbuf_addch(sb, *p);
	}
}

/* Inline code: the rules contain no backtick (the parser allows none). */
static void md_code(struct sbuf *sb, const char *s)
{
	sbuf_addch(sb, '`');
	for (; *s; s++)
		sbuf_addch(sb, *s == '`' ? '\'' : *s == '|' ? '/' : *s);
	sbuf_addch(sb, '`');
}

static void write_markdown(FILE *out, struct check *c)
{
	struct sbuf sb = SBUF_INIT, ev = SBUF_INIT;
	size_t i, shown = 0;
	int k;

	if (c->failed)
		sbuf_addf(&sb, "### dnsvet check: FAILED (%zu of %zu rules)\n\n", c->failed,
			  c->rules.n);
	else
		sbuf_addf(&sb, "### dnsvet check: passed (%zu rules)\n\n", c->rules.n);
	sbuf_reset(&ev);
	capture_line(&ev, c->a);
	md_add(&sb, ev.buf);
	sbuf_addstr(&sb, ". Files:");
	for (k = 0; k < c->a->in.npaths; k++) {
		sbuf_addch(&sb, ' ');
		sbuf_reset(&ev);
		sbuf_add_escaped(&ev, c->a->in.paths[k], strlen(c->a->in.paths[k]));
		md_code(&sb, ev.buf);
	}
	sbuf_addstr(&sb, "\n\n");
	sbuf_reset(&ev);
	truncated_line(&ev, c->a, "**Warning:** ");
	sbuf_add(&sb, ev.buf ? ev.buf : "", ev.len);
	if (ev.len)
		sbuf_addch(&sb, '\n');
	sbuf_addstr(&sb, "| Result | Rule | Actual | Source |\n|---|---|---|---|\n");
	for (i = 0; i < c->rules.n; i++) {
		sbuf_addstr(&sb, c->res[i].passed ? "| pass | " : "| **FAIL** | ");
		md_code(&sb, c->rules.v[i].text);
		sbuf_addstr(&sb, " | ");
		md_add(&sb, c->res[i].actual_text);
		sbuf_addstr(&sb, " | ");
		sbuf_reset(&ev);
		sbuf_add_escaped(&ev, c->rules.v[i].where, strlen(c->rules.v[i].where));
		md_code(&sb, ev.buf);
		sbuf_addstr(&sb, " |\n");
	}
	for (i = 0; i < c->rules.n; i++) {
		const char *s;

		if (c->res[i].passed)
			continue;
		if (shown++ == MD_MAX_FAILURES) {
			sbuf_addf(&sb, "\n%zu more failed rules: see the JUnit report or run "
				  "`dnsvet check` locally.\n", c->failed - MD_MAX_FAILURES);
			break;
		}
		sbuf_addstr(&sb, "\n#### FAIL ");
		md_code(&sb, c->rules.v[i].text);
		sbuf_addstr(&sb, "\n\n");
		sbuf_reset(&ev);
		sbuf_add(&ev, c->res[i].message, c->res[i].message_core);
		md_add(&sb, ev.buf);
		sbuf_addstr(&sb, "\n");
		sbuf_reset(&ev);
		evidence_text(&ev, c, i, "");
		if (!ev.len)
			continue;
		/* every line indented by 4: nothing in it can close the fence */
		sbuf_addstr(&sb, "\n```\n");
		for (s = ev.buf; *s;) {
			const char *e = strchr(s, '\n');
			size_t l = e ? (size_t)(e - s) : strlen(s);

			sbuf_addstr(&sb, "    ");
			sbuf_add(&sb, s, l);
			sbuf_addch(&sb, '\n');
			s += l + (e ? 1 : 0);
		}
		sbuf_addstr(&sb, "```\n");
	}
	fwrite(sb.buf, 1, sb.len, out);
	sbuf_release(&sb);
	sbuf_release(&ev);
}

/* ---- JSON ------------------------------------------------------------------- */

/* actual and limit in the unit of the JSON report: latency in ms */
static const char *json_unit(const struct rule *r, double *scale)
{
	*scale = 1;
	switch (r->kind) {
	case RULE_SEVERITY: return "severity";
	case RULE_OFF:
	case RULE_FINDINGS: return "findings";
	case RULE_COUNT: return "count";
	}
	if (r->metric >= M_LAT_P50 && r->metric <= M_LAT_MAX) {
		*scale = 1e-3;
		return "ms";
	}
	return r->metric == M_ANSWERED_RATIO || r->metric == M_UNANSWERED_RATIO ? "ratio"
										: "count";
}

/* counts as integers (%g would write 1e+06), ratios and ms with decimals */
static void json_num(struct sbuf *sb, double v, const char *unit)
{
	if (!strcmp(unit, "ratio"))
		sbuf_addf(sb, "%.6f", v);
	else if (!strcmp(unit, "ms"))
		sbuf_addf(sb, "%.3f", v);
	else
		sbuf_addf(sb, "%.0f", v);
}

static void json_rule(struct sbuf *sb, struct check *c, size_t i)
{
	const struct rule *r = &c->rules.v[i];
	const struct rule_result *res = &c->res[i];
	const struct rule_evidence *e = &c->ev[i];
	double scale;
	const char *unit = json_unit(r, &scale);
	size_t k;
	int j, first = 1;

	sbuf_addstr(sb, "{\"name\": ");
	sbuf_add_json_str(sb, r->text);
	sbuf_addstr(sb, ", \"where\": ");
	sbuf_add_json_str(sb, r->where);
	sbuf_addf(sb, ", \"passed\": %s, \"unit\": \"%s\", \"actual\": ",
		  res->passed ? "true" : "false", unit);
	if (!res->has_actual)
		sbuf_addstr(sb, "null");
	else if (r->kind == RULE_SEVERITY)
		sbuf_add_json_str(sb, severity_str((int)res->actual));
	else
		json_num(sb, res->actual * scale, unit);
	sbuf_addstr(sb, ", \"actual_text\": ");
	sbuf_add_json_str(sb, res->actual_text);
	sbuf_addf(sb, ", \"op\": \"%s\", \"limit\": ", rule_op_str(r->op));
	if (r->kind == RULE_OFF)
		sbuf_addstr(sb, "0");
	else if (r->kind == RULE_SEVERITY)
		sbuf_add_json_str(sb, severity_str((int)r->limit));
	else
		json_num(sb, r->limit * scale, unit);
	sbuf_addstr(sb, ", \"expected\": ");
	if (r->kind == RULE_OFF) {
		sbuf_add_json_str(sb, "no findings");
	} else {
		char exp[64];

		snprintf(exp, sizeof(exp), "%s %s", rule_op_str(r->op), r->limit_text);
		sbuf_add_json_str(sb, exp);
	}
	sbuf_addstr(sb, ", \"message\": ");
	sbuf_add_json_str(sb, res->message);
	sbuf_addf(sb, ", \"evidence_total\": %" PRIu64 ", \"evidence\": [", e->total);
	for (j = 0; j < e->n; j++) {
		char secs[40];

		fmt_secs(secs, sizeof(secs), e->ev[j].ts); /* right before 1970 too */
		sbuf_addf(sb, "%s{\"txn\": %" PRIu64 ", \"time\": %s, ",
			  j ? ", " : "", e->ev[j].txn_seq, secs);
		report_frame_json(sb, "query", e->ev[j].q);
		sbuf_addstr(sb, ", ");
		report_frame_json(sb, "response", e->ev[j].r);
		sbuf_addstr(sb, ", \"what\": ");
		sbuf_add_json_str(sb, e->ev[j].what);
		sbuf_addch(sb, '}');
	}
	sbuf_addstr(sb, "], \"findings\": [");
	for (k = 0; k < c->a->findings.n; k++) {
		if (!rule_finding_relevant(r, &c->a->findings.v[k]))
			continue;
		sbuf_addf(sb, "%s%zu", first ? "" : ", ", k);
		first = 0;
	}
	sbuf_addstr(sb, "]}");
}

static void write_json(FILE *out, struct check *c)
{
	struct sbuf sb = SBUF_INIT;
	struct analysis *a = c->a;
	size_t i;
	int k;

	sbuf_addstr(&sb, "{\n  \"schema\": 1,\n  \"generator\": \"dnsvet " PACKAGE_VERSION "\",\n");
	sbuf_addstr(&sb, "  \"files\": [");
	for (k = 0; k < a->in.npaths; k++) {
		if (k)
			sbuf_addstr(&sb, ", ");
		sbuf_add_json_str(&sb, a->in.paths[k]);
	}
	sbuf_addf(&sb, "],\n  \"truncated_files\": %u,\n  \"passed\": %s,\n  \"rules_total\": %zu,"
		  "\n  \"rules_failed\": %zu,\n  \"rules\": [", a->in.st.truncated_files,
		  c->failed ? "false" : "true", c->rules.n, c->failed);
	for (i = 0; i < c->rules.n; i++) {
		sbuf_addstr(&sb, i ? ",\n    " : "\n    ");
		json_rule(&sb, c, i);
	}
	sbuf_addstr(&sb, "\n  ],\n  \"summary\": ");
	report_summary_json(&sb, a);
	sbuf_addstr(&sb, ",\n  \"findings\": [");
	for (i = 0; i < a->findings.n; i++) {
		sbuf_addstr(&sb, i ? ",\n    " : "\n    ");
		report_finding_json(&sb, &a->findings.v[i]);
	}
	sbuf_addstr(&sb, a->findings.n ? "\n  ]\n}\n" : "]\n}\n");
	fwrite(sb.buf, 1, sb.len, out);
	sbuf_release(&sb);
}

/* ---- the command ------------------------------------------------------------ */

static int write_file(const char *path, void (*fn)(FILE *, struct check *), struct check *c)
{
	FILE *fp = fopen(path, "w");

	if (!fp)
		return error("unable to write '%s': %s", path, strerror(errno));
	fn(fp, c);
	if (ferror(fp) | fclose(fp))
		return error("writing '%s' failed: %s", path, strerror(errno));
	return 0;
}

/* A rule about a detector that --detectors leaves out would hold without
 * looking at anything. */
static int check_enabled(const struct rules *rs, const char *only)
{
	size_t i, n;
	int rc = 0;

	if (!only)
		return 0;
	for (i = 0; i < rs->n; i++) {
		const struct rule *r = &rs->v[i];
		const char *name, *s;

		if (r->kind == RULE_METRIC || r->detector < 0)
			continue;
		name = detectors[r->detector]->name;
		n = strlen(name);
		for (s = strstr(only, name); s; s = strstr(s + 1, name))
			if ((s == only || s[-1] == ',') && (s[n] == ',' || !s[n]))
				break;
		if (!s)
			rc = error("%s: rule '%s' needs detector '%s', which --detectors leaves out",
				   r->where, r->text, name);
	}
	return rc;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum { OPT_RULES = OPT_ANALYSIS_LAST + 1, OPT_FAIL_ON, OPT_FAIL_ON_TRUNC, OPT_JUNIT,
       OPT_MARKDOWN, OPT_JSON };

int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "rules", required_argument, NULL, OPT_RULES },
		{ "fail-on", required_argument, NULL, OPT_FAIL_ON },
		{ "fail-on-truncated", no_argument, NULL, OPT_FAIL_ON_TRUNC },
		{ "junit", required_argument, NULL, OPT_JUNIT },
		{ "markdown", required_argument, NULL, OPT_MARKDOWN },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		ANALYSIS_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct analysis_opts o;
	struct analysis a;
	struct check c;
	const char *rules_path = NULL, *junit = NULL, *markdown = NULL;
	char **paths = NULL, why[64];
	int npaths = 0, json = 0, fail_trunc = 0, level = -2, opt, rc, i;
	double t0;
	size_t k;

	memset(&c, 0, sizeof(c));
	analysis_opts_init(&o);
	while ((opt = getopt_long(argc, argv, "hj:", longopts, NULL)) != -1) {
		if (opt == 'j')
			opt = OPT_JOBS;
		switch (opt) {
		case 'h':
			fputs(cmd_check_usage, stdout);
			return EXIT_OK;
		case OPT_RULES:
			rules_path = optarg;
			break;
		case OPT_FAIL_ON:
			level = severity_parse(optarg);
			if (level < SEV_INFO) {
				error("--fail-on: '%s' is not a severity (info, warning, critical)", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_FAIL_ON_TRUNC:
			fail_trunc = 1;
			break;
		case OPT_JUNIT:
			junit = optarg;
			break;
		case OPT_MARKDOWN:
			markdown = optarg;
			break;
		case OPT_JSON:
			json = 1;
			break;
		default:
			rc = analysis_option(&o, opt, optarg);
			if (rc == 0)
				break;
			if (rc > 0)
				fputs(cmd_check_usage, stderr);
			analysis_opts_free(&o);
			return EXIT_USAGE;
		}
	}
	for (i = optind; i < argc; i++) {
		paths = analysis_add_path(paths, &npaths, argv[i]);
	}
	if (!npaths) {
		error("no capture file given");
		fputs(cmd_check_usage, stderr);
		analysis_opts_free(&o);
		return EXIT_USAGE;
	}

	/* the rules first: a broken gate must not cost a long read */
	rc = EXIT_USAGE;
	if (rules_path && rules_parse_file(&c.rules, rules_path) < 0)
		goto out;
	if (rules_path && !c.rules.n) {
		error("rules file '%s' has no rules: an empty gate would pass anything", rules_path);
		goto out;
	}
	if (!rules_path || level >= SEV_INFO) {
		snprintf(why, sizeof(why), level < SEV_INFO ? "default, --fail-on %s" : "--fail-on %s",
			 severity_str(level < SEV_INFO ? SEV_WARNING : level));
		rules_add_defaults(&c.rules, level < SEV_INFO ? SEV_WARNING : level, o.detcfg.only,
				   why);
	}
	if (fail_trunc)
		rules_add_builtin(&c.rules, "truncated == 0", "--fail-on-truncated");
	if (check_enabled(&c.rules, o.detcfg.only) < 0)
		goto out;
	if (!c.rules.n) {
		error("no rules: --detectors '%s' runs no detector", o.detcfg.only);
		goto out;
	}
	c.res = xcalloc(c.rules.n, sizeof(*c.res));
	c.ev = xcalloc(c.rules.n, sizeof(*c.ev));

	analysis_init(&a, &o, paths, npaths);
	a.txn_sink = on_txn;
	a.sink_ctx = &c;
	c.a = &a;
	t0 = now_s();
	if (analysis_run(&a) < 0) {
		analysis_release(&a);
		goto out;
	}
	c.seconds = now_s() - t0;
	check_facts_from(&c.facts, &a);
	for (k = 0; k < c.rules.n; k++) {
		if (!rule_eval(&c.rules.v[k], &c.facts, &c.res[k]))
			c.failed++;
		match_examples(&c, &c.rules.v[k], &c.ev[k]);
	}
	rc = c.failed ? EXIT_FAIL : EXIT_OK;
	if (junit && write_file(junit, write_junit, &c) < 0)
		rc = EXIT_USAGE;
	if (markdown && write_file(markdown, write_markdown, &c) < 0)
		rc = EXIT_USAGE;
	if (json)
		write_json(stdout, &c);
	else
		write_text(stdout, &c);
	if (fflush(stdout) || ferror(stdout)) {
		error("writing the summary failed: %s", strerror(errno));
		rc = EXIT_USAGE;
	}
	analysis_release(&a);
out:
	rules_free(&c.rules);
	free(c.res);
	free(c.ev);
	free(paths);
	analysis_opts_free(&o);
	return rc;
}
