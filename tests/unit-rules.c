/*
 * tests/unit-rules.c: the rule language of dnsvet check: what parses to
 * what, which errors point at which column, and how rules evaluate against
 * facts and findings built by hand.
 */
#include "unit.h"
#include "check-rules.h"
#include "names.h"

#include <math.h>

static struct rules rs;
static struct sbuf err;

/* parse text as file "r.txt"; returns the number of errors */
static int parse(const char *text)
{
	rules_free(&rs);
	sbuf_reset(&err);
	return rules_parse(&rs, text, strlen(text), "r.txt", &err);
}

/* the diagnostic of a single bad line, first line only */
static const char *first_line(void)
{
	static char buf[512];
	const char *nl = err.buf ? strchr(err.buf, '\n') : NULL;

	snprintf(buf, sizeof(buf), "%.*s", nl ? (int)(nl - err.buf) : 0, err.buf ? err.buf : "");
	return buf;
}

/* the column of the caret in the third line of the diagnostic, 1-based,
 * relative to the echoed line (both are indented by 4) */
static int caret_col(void)
{
	const char *s = err.buf, *l3;
	int i;

	for (i = 0, l3 = s; l3 && i < 2; i++) {
		l3 = strchr(l3, '\n');
		if (l3)
			l3++;
	}
	if (!l3)
		return -1;
	for (i = 0; l3[i] == ' '; i++)
		;
	return l3[i] == '^' ? i - 4 + 1 : -1;
}

/* expect exactly one error, at COL, whose message contains WHAT */
static void bad(const char *name, const char *text, int col, const char *what)
{
	char want[64], msg[600];
	int n = parse(text);

	snprintf(want, sizeof(want), "r.txt:1:%d: ", col);
	snprintf(msg, sizeof(msg), "%s (got: %s)", name, first_line());
	if (n == 1 && !strncmp(first_line(), want, strlen(want)) && strstr(first_line(), what) &&
	    caret_col() == col)
		printf("ok %s\n", name);
	else {
		printf("not ok %s: want %s...%s with the caret at %d, got %d error(s): '%s', caret %d\n",
		       name, want, what, col, n, first_line(), caret_col());
		unit_failed = 1;
	}
	(void)msg;
}

static void test_parse_ok(void)
{
	const char *text =
		"# a CI gate\n"
		"\n"
		"queries > 0\n"
		"unanswered.ratio <= 1%   # a comment after a rule\n"
		"  answered_ratio>=0.99\n"
		"latency.p99 <= 200ms\n"
		"latency.max < 1.5 s\n"
		"latency.p50 <= 800us\n"
		"retry-timeout.count == 0\n"
		"search-walk.findings <= 1\n"
		"ptr-flood severity < warning\n"
		"serial-fallback off\n"
		"any severity != critical\n"
		"unanswered severity <= info\n"
		"unanswered <= 3\n"
		"server 10.0.0.1 latency.p99 <= 50ms\n"
		"server 2001:db8::53 unanswered.ratio < 0.5\n"
		"rcode.servfail == 0\n"
		"\tlookups.failed == 0";
	const struct rule *r;

	CHECK_EQ("parse: no errors", 0, parse(text));
	CHECK_EQ("parse: 17 rules from 19 lines", 17, rs.n);
	if (rs.n != 17)
		return;
	r = rs.v;
	CHECK("parse: metric rule", r[0].kind == RULE_METRIC && r[0].metric == M_QUERIES &&
					r[0].op == OP_GT && r[0].limit == 0);
	CHECK("parse: where is file:line", !strcmp(r[0].where, "r.txt:3"));
	CHECK("parse: percent is a ratio", r[1].metric == M_UNANSWERED_RATIO && r[1].op == OP_LE &&
						   fabs(r[1].limit - 0.01) < 1e-12);
	CHECK("parse: text without the comment", !strcmp(r[1].text, "unanswered.ratio <= 1%"));
	CHECK("parse: no blanks needed around the operator",
	      r[2].metric == M_ANSWERED_RATIO && r[2].op == OP_GE && r[2].limit == 0.99);
	CHECK("parse: ms in us", r[3].metric == M_LAT_P99 && r[3].limit == 200000);
	CHECK("parse: s with a blank before the unit", r[4].metric == M_LAT_MAX &&
							     r[4].op == OP_LT && r[4].limit == 1.5e6);
	CHECK("parse: us", r[5].limit == 800 && !strcmp(r[5].limit_text, "800us"));
	CHECK("parse: DET.count", r[6].kind == RULE_COUNT && r[6].op == OP_EQ &&
					  !strcmp(detectors[r[6].detector]->name, "retry-timeout"));
	CHECK("parse: DET.findings", r[7].kind == RULE_FINDINGS && r[7].limit == 1);
	CHECK("parse: severity", r[8].kind == RULE_SEVERITY && r[8].op == OP_LT &&
					 r[8].limit == SEV_WARNING &&
					 !strcmp(detectors[r[8].detector]->name, "ptr-flood"));
	CHECK("parse: off", r[9].kind == RULE_OFF &&
				    !strcmp(detectors[r[9].detector]->name, "serial-fallback"));
	CHECK("parse: any", r[10].kind == RULE_SEVERITY && r[10].detector == -1 &&
				    r[10].op == OP_NE && r[10].limit == SEV_CRITICAL);
	CHECK("parse: unanswered as a detector", r[11].kind == RULE_SEVERITY &&
							 r[11].limit == SEV_INFO);
	CHECK("parse: unanswered as a metric", r[12].kind == RULE_METRIC &&
						       r[12].metric == M_UNANSWERED);
	CHECK("parse: server IPv4", r[13].has_server && r[13].server.family == 4 &&
					    r[13].server.a[0] == 10 && r[13].server.a[3] == 1 &&
					    r[13].limit == 50000);
	CHECK("parse: server IPv6", r[14].has_server && r[14].server.family == 6 &&
					    r[14].server.a[0] == 0x20 && r[14].server.a[15] == 0x53);
	CHECK("parse: rcode, any case", r[15].metric == M_RCODE && r[15].rcode == 2);
	CHECK("parse: leading tab, dotted metric", r[16].metric == M_LOOKUPS_FAILED &&
							   !strcmp(r[16].where, "r.txt:19"));
	CHECK_EQ("parse: CRLF line ends", 0, parse("queries > 0\r\nunanswered == 0\r\n"));
	CHECK_EQ("parse: CRLF: two rules", 2, rs.n);
	CHECK_EQ("parse: comments only", 0, parse("# nothing\n   # here\n\n"));
	CHECK_EQ("parse: comments only: no rules", 0, rs.n);
}

static void test_parse_errors(void)
{
	bad("error: time without unit", "latency.p99 <= 200", 19, "give the unit (us, ms or s)");
	bad("error: unknown time unit", "latency.p99 <= 5min", 17, "unknown time unit");
	bad("error: typo gets a suggestion", "unanswerd <= 3", 1, "did you mean 'unanswered'?");
	bad("error: detector typo gets a suggestion", "retry-timout severity < warning", 1,
	    "did you mean 'retry-timeout'?");
	bad("error: detector typo in DET.count", "retry-timout.count == 0", 1,
	    "unknown detector 'retry-timout'; did you mean 'retry-timeout.count'?");
	bad("error: unknown name", "frobnication > 1", 1, "unknown metric or detector 'frobnication'");
	bad("error: single =", "queries = 0", 9, "write '==' for equality");
	bad("error: =<", "queries =< 0", 9, "write '<='");
	bad("error: no operator", "queries", 8, "expected a comparison");
	bad("error: ratio above 1", "unanswered.ratio <= 5", 21, "for percent write 5%");
	bad("error: ratio with a time unit", "unanswered.ratio <= 5ms", 22, "is a ratio");
	bad("error: count with a unit", "retransmissions <= 5ms", 21, "is a count");
	bad("error: percentage above 100", "answered_ratio >= 101%", 19, "at most 100%");
	bad("error: unknown severity", "ptr-flood severity < bad", 22, "unknown severity 'bad'");
	bad("error: detector compared directly", "retry-timeout <= 0", 1,
	    "compare 'retry-timeout.count'");
	bad("error: detector without a verb", "serial-fallback", 16, "expected 'severity', 'off'");
	bad("error: detector with an unknown verb", "serial-fallback on", 17,
	    "expected 'severity' or 'off'");
	bad("error: detector with an unknown field", "ptr-flood.ratio < 1", 11,
	    "'.count' and '.findings'");
	bad("error: trailing words", "queries > 0 extra", 13, "unexpected 'extra' after the rule");
	bad("error: two limits", "queries > 0 1", 13, "unexpected '1'");
	bad("error: bad server address", "server 10.0.0.300 latency.p99 <= 1ms", 8,
	    "'10.0.0.300' is not an IPv4 or IPv6 address");
	bad("error: server without address", "server latency.p99 <= 1ms", 8, "expected an IP address");
	bad("error: metric not kept per server", "server 10.0.0.1 orphans == 0", 17,
	    "'orphans' is not kept per server");
	bad("error: detector after server", "server 10.0.0.1 unanswered off", 17,
	    "'unanswered' is not a metric kept per server");
	bad("error: unknown rcode", "rcode.SERVFALE == 0", 7, "unknown rcode 'SERVFALE'");
	bad("error: negative", "queries > -1", 11, "never negative");
	bad("error: not a number", "queries > many", 11, "expected a number, found 'many'");
	bad("error: missing number", "queries >", 10, "expected a number here");
	bad("error: number ending in a dot", "queries > 1.", 11, "is not a number");
	bad("error: starts with a digit", "99 > queries", 1, "expected a metric or a detector");
	/* the caret under a tab-indented line: the tab shows as one blank */
	bad("error: caret after a tab", "\tqueries = 0", 10, "'=' is not a comparison");
	/* unprintable bytes are escaped in the echo and the caret still lines up */
	bad("error: control bytes", "queries > 0 \x01\x02", 13, "unexpected '\\x01\\x02'");
	CHECK("error: control bytes escaped in the echo", strstr(err.buf, "    queries > 0 \\x01\\x02\n"));
	bad("error: caret after escaped bytes", "\xff queries > 0", 1, "found '\\xff'");
	bad("error: unit after a blank", "latency.p99 <= 1.5 s extra", 22, "unexpected 'extra'");
	{
		char longline[400];

		memset(longline, 'x', sizeof(longline) - 1);
		memcpy(longline, "queries > 0 ", 12);
		longline[sizeof(longline) - 1] = '\0';
		CHECK_EQ("error: a long line", 1, parse(longline));
		CHECK("error: a long line is not echoed",
		      !strncmp(err.buf, "r.txt:1:13: unexpected 'xxxx", 28) &&
		      strchr(err.buf, '\n') == err.buf + strlen(err.buf) - 1);
	}
	CHECK_EQ("error: a NUL byte", 1, rules_parse(&rs, "queries\0 > 0", 12, "r.txt", &err));
	/* several bad lines: one diagnostic each, with its line number; good
	 * lines around them still parse */
	CHECK_EQ("errors: one per bad line", 2, parse("queries > 0\nfoo > 1\n# ok\nlatency.p99 < 1\n"));
	CHECK("errors: line 2", err.buf && strstr(err.buf, "r.txt:2:1: "));
	CHECK("errors: line 4", err.buf && strstr(err.buf, "r.txt:4:16: "));
	{
		struct sbuf many = SBUF_INIT;
		int i;

		for (i = 0; i < RULES_MAX_ERRORS + 5; i++)
			sbuf_addstr(&many, "bogus\n");
		CHECK_EQ("errors: all counted", RULES_MAX_ERRORS + 5, parse(many.buf));
		CHECK("errors: the rest summed up", strstr(err.buf, "r.txt: 5 more errors not shown") != NULL);
		sbuf_release(&many);
	}
}

static void test_defaults(void)
{
	rules_free(&rs);
	rules_add_defaults(&rs, SEV_WARNING, NULL, "default");
	CHECK_EQ("defaults: one rule per detector", ndetectors, rs.n);
	CHECK("defaults: text", rs.n && !strcmp(rs.v[0].text, "unanswered severity < warning"));
	CHECK("defaults: where", rs.n && !strcmp(rs.v[0].where, "default"));
	rules_free(&rs);
	rules_add_defaults(&rs, SEV_CRITICAL, "ptr-flood,unanswered", "--fail-on critical");
	CHECK_EQ("defaults: only the detectors that run", 2, rs.n);
	CHECK("defaults: level", rs.n == 2 && rs.v[1].limit == SEV_CRITICAL &&
					 !strcmp(rs.v[1].text, "ptr-flood severity < critical"));
	rules_free(&rs);
	rules_add_builtin(&rs, "truncated == 0", "--fail-on-truncated");
	CHECK("builtin: truncated", rs.n == 1 && rs.v[0].metric == M_TRUNCATED &&
					    !strcmp(rs.v[0].where, "--fail-on-truncated"));
}

static struct rule_result res;

static int eval1(const char *text, const struct check_facts *cf)
{
	if (parse(text) != 0 || rs.n != 1) {
		printf("not ok eval: '%s' does not parse: %s\n", text, err.buf);
		unit_failed = 1;
		return -1;
	}
	return rule_eval(&rs.v[0], cf, &res);
}

static void test_eval(void)
{
	struct check_facts cf;
	struct findings fs = { NULL, 0, 0 };
	struct finding *f;
	int i;

	memset(&cf, 0, sizeof(cf));
	for (i = 0; i < M_MAX; i++)
		cf.m[i] = 0;
	cf.m[M_QUERIES] = 368;
	cf.m[M_MATCHED] = 239;
	cf.m[M_UNANSWERED] = 35;
	cf.m[M_UNANSWERED_RATIO] = 35.0 / 274;
	cf.m[M_ANSWERED_RATIO] = 239.0 / 274;
	cf.m[M_LAT_P99] = 2001724;
	cf.m[M_LAT_P50] = NAN;
	cf.rcodes[2] = 4;
	cf.findings = &fs;

	CHECK_EQ("eval: count holds", 1, eval1("queries > 0", &cf));
	CHECK("eval: count actual", !strcmp(res.actual_text, "368") && res.actual == 368);
	CHECK_EQ("eval: count fails", 0, eval1("unanswered == 0", &cf));
	CHECK("eval: count message", !strcmp(res.message, "unanswered is 35 (queries with no answer within the answer window), expected == 0"));
	CHECK_EQ("eval: ratio fails", 0, eval1("unanswered.ratio <= 1%", &cf));
	CHECK("eval: ratio actual", !strcmp(res.actual_text, "12.77% (35 of 274)"));
	CHECK("eval: ratio message says of what",
	      strstr(res.message, "12.77% (35 of 274 transactions that ran their answer window), expected <= 1%") != NULL);
	CHECK_EQ("eval: answered ratio", 0, eval1("answered_ratio >= 0.99", &cf));
	CHECK("eval: answered ratio actual", !strcmp(res.actual_text, "87.23% (239 of 274)"));
	CHECK_EQ("eval: latency fails", 0, eval1("latency.p99 <= 200ms", &cf));
	CHECK("eval: latency message", !strcmp(res.message,
					       "latency.p99 is 2.002s over 239 answered queries, expected <= 200ms"));
	CHECK_EQ("eval: latency within", 1, eval1("latency.p99 < 2.1s", &cf));
	CHECK_EQ("eval: latency without answers holds", 1, eval1("latency.p50 <= 1us", &cf));
	CHECK("eval: latency without answers says so", !res.has_actual && !strcmp(res.actual_text, "no answers"));
	CHECK_EQ("eval: rcode", 0, eval1("rcode.SERVFAIL < 4", &cf));
	CHECK("eval: rcode message", !strcmp(res.message, "rcode.SERVFAIL is 4, expected < 4"));
	CHECK_EQ("eval: server not seen fails", 0, eval1("server 10.0.0.9 unanswered == 0", &cf));
	CHECK("eval: server not seen says so", strstr(res.message, "no DNS transaction with server 10.0.0.9") != NULL);

	/* findings */
	CHECK_EQ("eval: off with no findings", 1, eval1("retry-timeout off", &cf));
	CHECK_EQ("eval: severity with no findings", 1, eval1("any severity < info", &cf));
	CHECK("eval: severity none", !strcmp(res.actual_text, "none (0 findings)"));
	f = finding_new(&fs, "unanswered", SEV_CRITICAL);
	f->count = 35;
	finding_set(&f->summary, "35 of 274 queries (12.77%%) got no answer within 2.0 s");
	f = finding_new(&fs, "retry-timeout", SEV_INFO);
	f->count = 2;
	finding_set(&f->summary, "2 lookups retried");
	f = finding_new(&fs, "retry-timeout", SEV_WARNING);
	f->count = 3;
	finding_set(&f->summary, "3 lookups waited 5 s");
	CHECK_EQ("eval: severity fails", 0, eval1("unanswered severity < warning", &cf));
	CHECK("eval: severity message names the finding",
	      !strcmp(res.message, "unanswered severity is critical (1 finding), expected < warning: "
				   "[critical] unanswered: 35 of 274 queries (12.77%) got no answer within 2.0 s"));
	CHECK_EQ("eval: severity of another detector", 1, eval1("ptr-flood severity < info", &cf));
	CHECK_EQ("eval: highest severity of a detector", 0, eval1("retry-timeout severity < warning", &cf));
	CHECK("eval: only the findings that break it", strstr(res.message, "[warning] retry-timeout: 3 lookups waited 5 s") &&
							  !strstr(res.message, "more finding"));
	CHECK_EQ("eval: count sums the findings", 0, eval1("retry-timeout.count == 0", &cf));
	CHECK("eval: count actual", res.actual == 5 && !strcmp(res.actual_text, "5 (2 findings)"));
	CHECK("eval: count: the worst first, the rest counted",
	      strstr(res.message, ": [warning] retry-timeout: 3 lookups waited 5 s (and 1 more finding)") != NULL);
	CHECK_EQ("eval: findings", 1, eval1("retry-timeout.findings <= 2", &cf));
	CHECK_EQ("eval: off fails", 0, eval1("retry-timeout off", &cf));
	CHECK("eval: off actual", !strcmp(res.actual_text, "2 findings (warning)"));
	CHECK_EQ("eval: any", 0, eval1("any severity < critical", &cf));
	CHECK_EQ("eval: any.count", 1, eval1("any.count == 40", &cf));
	eval1("any severity < warning", &cf);
	CHECK("eval: relevant findings", rule_finding_relevant(&rs.v[0], &fs.v[0]) &&
						 !rule_finding_relevant(&rs.v[0], &fs.v[1]) &&
						 rule_finding_relevant(&rs.v[0], &fs.v[2]));
	findings_free(&fs);
}

static void mk_txn(struct txn *t, uint64_t seq, int status, ts_t lat_us, int retrans)
{
	memset(t, 0, sizeof(*t));
	t->seq = seq;
	t->qname = name_intern((const uint8_t *)"\x07" "example" "\x00", 9);
	t->qtype = QTYPE_A;
	t->qclass = 1;
	t->status = (uint8_t)status;
	t->first_ts = (ts_t)seq * NS_PER_SEC;
	t->resp_ts = t->first_ts + lat_us * NS_PER_US;
	t->retrans = (uint16_t)retrans;
	t->client.family = t->server.family = 4;
	t->client.a[0] = 10;
	t->client.a[3] = 2;
	t->server.a[0] = 10;
	t->server.a[3] = 1;
	t->qframe.frame = (uint32_t)(2 * seq);
	t->rframe.frame = status == TXN_ANSWERED ? (uint32_t)(2 * seq + 1) : 0;
}

static void test_observe(void)
{
	struct rule_evidence e;
	struct txn t;
	uint64_t i;

	parse("latency.p99 <= 10ms");
	memset(&e, 0, sizeof(e));
	for (i = 1; i <= 20; i++) {
		mk_txn(&t, i, TXN_ANSWERED, (ts_t)(i * 1000), 0); /* i ms */
		rule_observe(&rs.v[0], &e, &t);
		name_unref(t.qname);
	}
	CHECK_EQ("observe: latency: all over the limit counted", 10, e.total);
	CHECK_EQ("observe: latency: at most 8 kept", RULE_MAX_EVIDENCE, e.n);
	CHECK("observe: latency: the slowest first", e.ev[0].txn_seq == 20 && e.ev[7].txn_seq == 13);
	CHECK("observe: latency: frames", e.ev[0].q.frame == 40 && e.ev[0].r.frame == 41);
	CHECK("observe: what", !strcmp(e.ev[0].what, "10.0.0.2 -> 10.0.0.1 A? example. NOERROR after 20.0ms"));

	parse("unanswered.ratio <= 0.01");
	memset(&e, 0, sizeof(e));
	for (i = 1; i <= 20; i++) {
		mk_txn(&t, i, i % 2 ? TXN_UNANSWERED : TXN_ANSWERED, 1000, 0);
		rule_observe(&rs.v[0], &e, &t);
		name_unref(t.qname);
	}
	CHECK_EQ("observe: unanswered counted", 10, e.total);
	CHECK("observe: unanswered: the first 8 in order", e.n == 8 && e.ev[0].txn_seq == 1 &&
								   e.ev[7].txn_seq == 15 &&
								   e.ev[0].r.frame == 0);

	parse("server 10.0.0.7 retransmissions == 0");
	memset(&e, 0, sizeof(e));
	mk_txn(&t, 1, TXN_ANSWERED, 1000, 2);
	rule_observe(&rs.v[0], &e, &t);
	CHECK_EQ("observe: another server is no evidence", 0, e.total);
	parse("retransmissions == 0");
	rule_observe(&rs.v[0], &e, &t);
	CHECK_EQ("observe: retransmitted", 1, e.total);
	parse("retransmissions >= 1");
	rule_observe(&rs.v[0], &e, &t);
	CHECK_EQ("observe: lower limits collect nothing", 1, e.total);
	name_unref(t.qname);
}

int main(void)
{
	test_parse_ok();
	test_parse_errors();
	test_defaults();
	test_eval();
	test_observe();
	rules_free(&rs);
	sbuf_release(&err);
	return unit_failed;
}
