/*
 * check-rules.c: the rule language of dnsvet check (see check-rules.h for
 * the grammar and dnsvet-check(1) for the reference).
 *
 * The language is line based and tiny on purpose: a CI gate is read by
 * people who did not write it, months later, when it fails. So every rule
 * is one comparison a reader can check by hand against `dnsvet report`,
 * every name is checked at parse time (a misspelt rule that silently holds
 * would be worse than no gate), limits carry their unit where one is
 * needed (`latency.p99 <= 200` is refused: ms or s?), and an error shows
 * the line with a caret under the offending column.
 */
#include "config.h"
#include "check-rules.h"
#include "names.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the vocabulary ----------------------------------------------------- */

static const struct metric_def {
	const char *name;
	int unit;
	int per_server; /* may follow "server ADDR" */
	const char *gloss; /* what a count means, for failure messages */
} metrics[M_MAX] = {
	[M_PACKETS] = { "packets", MU_COUNT, 0, "packets in the capture" },
	[M_QUERIES] = { "queries", MU_COUNT, 1, "query messages, retransmissions included" },
	[M_RESPONSES] = { "responses", MU_COUNT, 0, "response messages" },
	[M_TRANSACTIONS] = { "transactions", MU_COUNT, 1, "distinct queries" },
	[M_MATCHED] = { "matched", MU_COUNT, 1, "queries answered" },
	[M_UNANSWERED] = { "unanswered", MU_COUNT, 1,
			   "queries with no answer within the answer window" },
	[M_OPEN_AT_END] = { "open_at_end", MU_COUNT, 1,
			    "queries still waiting for an answer when the capture ended" },
	[M_ORPHANS] = { "orphans", MU_COUNT, 0, "responses to no query in the capture" },
	[M_MISMATCHED] = { "mismatched", MU_COUNT, 0,
			   "responses with the right id and ports but another question" },
	[M_RETRANS] = { "retransmissions", MU_COUNT, 1,
			"queries sent again before an answer came" },
	[M_DUPLICATES] = { "duplicates", MU_COUNT, 0, "second and later answers to a query" },
	[M_LOOKUPS] = { "lookups", MU_COUNT, 0, "lookups (client, name, type)" },
	[M_LOOKUPS_RETRIED] = { "lookups.retried", MU_COUNT, 0, "lookups sent more than once" },
	[M_LOOKUPS_FAILED] = { "lookups.failed", MU_COUNT, 0, "lookups never answered" },
	[M_EVICTED] = { "evicted", MU_COUNT, 0, "open queries dropped at the --max-open cap" },
	[M_MALFORMED] = { "malformed", MU_COUNT, 0, "DNS messages that did not parse" },
	[M_TRUNCATED] = { "truncated", MU_COUNT, 0,
			  "capture files that end mid-record; the warning on stderr says where" },
	[M_ANSWERED_RATIO] = { "answered_ratio", MU_RATIO, 1, NULL },
	[M_UNANSWERED_RATIO] = { "unanswered.ratio", MU_RATIO, 1, NULL },
	[M_LAT_P50] = { "latency.p50", MU_TIME, 1, NULL },
	[M_LAT_P90] = { "latency.p90", MU_TIME, 1, NULL },
	[M_LAT_P99] = { "latency.p99", MU_TIME, 1, NULL },
	[M_LAT_MAX] = { "latency.max", MU_TIME, 1, NULL },
	[M_RCODE] = { "rcode.NAME", MU_COUNT, 1, "answers with this rcode" },
};

/* Other spellings people will reach for first. */
static const struct {
	const char *name;
	int metric;
} aliases[] = {
	{ "answered.ratio", M_ANSWERED_RATIO },
	{ "unanswered_ratio", M_UNANSWERED_RATIO },
	{ "answered", M_MATCHED },
};

static const char *const op_names[] = { "<", "<=", "==", "!=", ">=", ">" };

const char *rule_op_str(int op)
{
	return op >= 0 && op <= OP_GT ? op_names[op] : "?";
}

const char *metric_name(int metric)
{
	return metric >= 0 && metric < M_MAX ? metrics[metric].name : "?";
}

static int detector_by_name(const char *s, size_t n)
{
	size_t i;

	if (n == 3 && !memcmp(s, "any", 3))
		return -1;
	for (i = 0; i < ndetectors; i++)
		if (strlen(detectors[i]->name) == n && !memcmp(detectors[i]->name, s, n))
			return (int)i;
	return -2;
}

static int metric_by_name(const char *s, size_t n, int *rcode)
{
	size_t i;

	for (i = 0; i < M_MAX; i++)
		if (i != M_RCODE && strlen(metrics[i].name) == n && !memcmp(metrics[i].name, s, n))
			return (int)i;
	for (i = 0; i < ARRAY_SIZE(aliases); i++)
		if (strlen(aliases[i].name) == n && !memcmp(aliases[i].name, s, n))
			return aliases[i].metric;
	if (n > 6 && !memcmp(s, "rcode.", 6)) {
		int r;

		for (r = 0; r < 16; r++) {
			const char *rn = rcode_str((uint16_t)r);

			if (strlen(rn) == n - 6 && !strncasecmp(rn, s + 6, n - 6)) {
				*rcode = r;
				return M_RCODE;
			}
		}
	}
	return -1;
}

/* ---- diagnostics ------------------------------------------------------- */

struct perr {
	size_t col; /* 0-based byte offset in the line */
	char msg[256];
};

static int fail(struct perr *pe, size_t col, const char *fmt, ...) PRINTF(3, 4);
static int fail(struct perr *pe, size_t col, const char *fmt, ...)
{
	va_list ap;

	pe->col = col;
	va_start(ap, fmt);
	vsnprintf(pe->msg, sizeof(pe->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* A token as text for a message: quoted by the caller, never raw bytes. */
static const char *tok_str(const char *s, size_t n, char *buf, size_t size)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_add_escaped(&sb, s, n > 40 ? 40 : n);
	if (n > 40)
		sbuf_addstr(&sb, "...");
	snprintf(buf, size, "%s", sb.buf ? sb.buf : "");
	sbuf_release(&sb);
	return buf;
}

#define DIAG_MAX_ECHO 240

/*
 * "FILE:LINE:COL: MSG", then the line (tabs shown as one space, other
 * unprintable bytes escaped) and a caret under the column, measured on the
 * line as shown.
 */
static void diag(struct sbuf *err, const char *file, int lineno, const char *line, size_t len,
		 const struct perr *pe)
{
	size_t i, caret = 0;

	sbuf_addf(err, "%s:%d:%zu: %s\n", file, lineno, pe->col + 1, pe->msg);
	/* a rule is short; a line this long is not worth echoing whole */
	if (len > DIAG_MAX_ECHO)
		return;
	sbuf_addstr(err, "    ");
	for (i = 0; i < len; i++) {
		size_t before = err->len;

		if (line[i] == '\t')
			sbuf_addch(err, ' ');
		else
			sbuf_add_escaped(err, &line[i], 1);
		if (i < pe->col)
			caret += err->len - before;
	}
	sbuf_addstr(err, "\n    ");
	for (i = 0; i < caret; i++)
		sbuf_addch(err, ' ');
	sbuf_addstr(err, "^\n");
}

/* Edit distance, for "did you mean": small strings only. */
static size_t edit_distance(const char *a, size_t na, const char *b)
{
	size_t nb = strlen(b), i, j, prev[48], cur[48];

	if (na >= 47 || nb >= 47)
		return 99;
	for (j = 0; j <= nb; j++)
		prev[j] = j;
	for (i = 1; i <= na; i++) {
		cur[0] = i;
		for (j = 1; j <= nb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);

			cur[j] = MIN(MIN(prev[j] + 1, cur[j - 1] + 1), sub);
		}
		memcpy(prev, cur, (nb + 1) * sizeof(*prev));
	}
	return prev[nb];
}

static void consider(const char *s, size_t n, const char *cand, const char **best,
		     size_t *bestd)
{
	size_t d = edit_distance(s, n, cand);

	if (d < *bestd) {
		*bestd = d;
		*best = cand;
	}
}

/* The closest metric or detector name, or NULL if nothing is close. */
static const char *did_you_mean(const char *s, size_t n)
{
	const char *best = NULL;
	size_t bestd = 3, i;

	for (i = 0; i < M_MAX; i++)
		if (i != M_RCODE)
			consider(s, n, metrics[i].name, &best, &bestd);
	for (i = 0; i < ndetectors; i++)
		consider(s, n, detectors[i]->name, &best, &bestd);
	return bestd <= 2 && bestd < n / 2 + 1 ? best : NULL;
}

/* ---- the lexer ------------------------------------------------------------- */

struct lexer {
	const char *s;
	size_t len, pos;
};

static void skip_blanks(struct lexer *lx)
{
	while (lx->pos < lx->len && (lx->s[lx->pos] == ' ' || lx->s[lx->pos] == '\t' ||
				     lx->s[lx->pos] == '\r'))
		lx->pos++;
}

static int at_end(struct lexer *lx)
{
	skip_blanks(lx);
	return lx->pos >= lx->len || lx->s[lx->pos] == '#';
}

static int is_ident_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_ident(int c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

/* An identifier at the current position (after blanks); its length, 0 if
 * there is none. */
static size_t peek_ident(struct lexer *lx)
{
	size_t n = 0;

	skip_blanks(lx);
	if (lx->pos >= lx->len || !is_ident_start((unsigned char)lx->s[lx->pos]))
		return 0;
	while (lx->pos + n < lx->len && is_ident((unsigned char)lx->s[lx->pos + n]))
		n++;
	return n;
}

static int ident_is(struct lexer *lx, size_t n, const char *word)
{
	return strlen(word) == n && !memcmp(lx->s + lx->pos, word, n);
}

/* The word (or byte) at the current position, for "unexpected 'X'". */
static const char *here_str(struct lexer *lx, char *buf, size_t size)
{
	size_t n = 0;

	while (lx->pos + n < lx->len && lx->s[lx->pos + n] != ' ' && lx->s[lx->pos + n] != '\t' &&
	       lx->s[lx->pos + n] != '\r')
		n++;
	return tok_str(lx->s + lx->pos, n ? n : 1, buf, size);
}

static int lex_op(struct lexer *lx, struct perr *pe, int *op)
{
	const char *p;
	size_t left;
	char buf[64];

	skip_blanks(lx);
	p = lx->s + lx->pos;
	left = lx->len - lx->pos;
	if (!left || *p == '#')
		return fail(pe, lx->pos, "expected a comparison (<, <=, ==, !=, >=, >) here");
	if (left >= 2 && p[1] == '=') {
		switch (p[0]) {
		case '<': *op = OP_LE; break;
		case '>': *op = OP_GE; break;
		case '=': *op = OP_EQ; break;
		case '!': *op = OP_NE; break;
		default: goto bad;
		}
		lx->pos += 2;
		return 0;
	}
	if (left >= 2 && p[0] == '=' && (p[1] == '<' || p[1] == '>'))
		return fail(pe, lx->pos, "'=%c' is not a comparison; write '%c='", p[1], p[1]);
	if (p[0] == '<' || p[0] == '>') {
		*op = p[0] == '<' ? OP_LT : OP_GT;
		lx->pos++;
		return 0;
	}
	if (p[0] == '=')
		return fail(pe, lx->pos, "'=' is not a comparison; write '==' for equality");
bad:
	return fail(pe, lx->pos, "expected a comparison (<, <=, ==, !=, >=, >), found '%s'",
		    here_str(lx, buf, sizeof(buf)));
}

static int is_unit(const char *s, size_t n)
{
	return (n == 1 && *s == 's') || (n == 2 && (!memcmp(s, "ms", 2) || !memcmp(s, "us", 2)));
}

/* An unsigned decimal number; *unit_at/unit_len: letters or '%' right
 * after it, or after blanks (200ms, 200 ms). */
static int lex_number(struct lexer *lx, struct perr *pe, double *v, size_t *num_at,
		      size_t *unit_at, size_t *unit_len)
{
	size_t start, n = 0;
	char buf[64], *end;

	*v = 0;
	*unit_at = *unit_len = 0;
	skip_blanks(lx);
	start = lx->pos;
	*num_at = start;
	if (start < lx->len && lx->s[start] == '-')
		return fail(pe, start, "a limit is never negative");
	while (start + n < lx->len && ((lx->s[start + n] >= '0' && lx->s[start + n] <= '9') ||
				       lx->s[start + n] == '.'))
		n++;
	if (!n || lx->s[start] == '.' || n >= sizeof(buf)) {
		if (start >= lx->len || lx->s[start] == '#')
			return fail(pe, start, "expected a number here");
		return fail(pe, start, "expected a number, found '%s'", here_str(lx, buf, sizeof(buf)));
	}
	memcpy(buf, lx->s + start, n);
	buf[n] = '\0';
	errno = 0;
	*v = strtod(buf, &end);
	if (errno || *end || buf[n - 1] == '.')
		return fail(pe, start, "'%s' is not a number", buf);
	lx->pos += n;
	/* a unit sticks to the number, or follows it after blanks if it is
	 * one ("1.5 s"); any other word after blanks is left for the caller
	 * to call unexpected */
	start = lx->pos;
	skip_blanks(lx);
	*unit_at = lx->pos;
	if (lx->pos < lx->len && lx->s[lx->pos] == '%')
		*unit_len = 1;
	else
		while (lx->pos + *unit_len < lx->len &&
		       is_ident((unsigned char)lx->s[lx->pos + *unit_len]))
			(*unit_len)++;
	if (*unit_at > start && !(*unit_len == 1 && lx->s[*unit_at] == '%') &&
	    !((*unit_len == 1 || *unit_len == 2) && is_unit(lx->s + *unit_at, *unit_len))) {
		lx->pos = start;
		*unit_at = start;
		*unit_len = 0;
	}
	lx->pos += *unit_len;
	return 0;
}

/* ---- the parser -------------------------------------------------------------- */

static int parse_limit(struct lexer *lx, struct perr *pe, struct rule *r, const char *what,
		       int unit)
{
	size_t num_at, unit_at, ulen;
	const char *u;
	double v;

	if (lex_number(lx, pe, &v, &num_at, &unit_at, &ulen) < 0)
		return -1;
	u = lx->s + unit_at;
	switch (unit) {
	case MU_COUNT:
		if (ulen)
			return fail(pe, unit_at, "'%s' is a count: the limit is a plain number", what);
		r->limit = v;
		break;
	case MU_RATIO:
		if (ulen == 1 && *u == '%') {
			if (v > 100)
				return fail(pe, num_at, "a percentage is at most 100%%");
			r->limit = v / 100.0;
		} else if (ulen) {
			return fail(pe, unit_at, "'%s' is a ratio: write 0.01 or 1%%", what);
		} else if (v > 1) {
			return fail(pe, num_at, "'%s' is a ratio from 0 to 1; for percent write %g%%",
				    what, v);
		} else {
			r->limit = v;
		}
		break;
	case MU_TIME:
		if (!ulen)
			return fail(pe, unit_at, "'%s' is a time: give the unit (us, ms or s)", what);
		if (ulen == 2 && !memcmp(u, "us", 2))
			r->limit = v;
		else if (ulen == 2 && !memcmp(u, "ms", 2))
			r->limit = v * 1e3;
		else if (ulen == 1 && *u == 's')
			r->limit = v * 1e6;
		else
			return fail(pe, unit_at, "unknown time unit; use us, ms or s");
		break;
	}
	snprintf(r->limit_text, sizeof(r->limit_text), "%.*s", (int)(lx->pos - num_at),
		 lx->s + num_at);
	return 0;
}

static int parse_detector_rule(struct lexer *lx, struct perr *pe, struct rule *r, int det,
			       const char *dname, size_t dlen, size_t at)
{
	size_t n = peek_ident(lx), kw_at = lx->pos;
	char buf[64];

	r->detector = det;
	if (ident_is(lx, n, "off")) {
		lx->pos += n;
		r->kind = RULE_OFF;
		return 0;
	}
	if (ident_is(lx, n, "severity")) {
		int sev;

		lx->pos += n;
		r->kind = RULE_SEVERITY;
		if (lex_op(lx, pe, &r->op) < 0)
			return -1;
		n = peek_ident(lx);
		kw_at = lx->pos;
		if (!n)
			return fail(pe, lx->pos, "expected a severity (none, info, warning, critical)");
		memcpy(buf, lx->s + lx->pos, MIN(n, sizeof(buf) - 1));
		buf[MIN(n, sizeof(buf) - 1)] = '\0';
		sev = severity_parse(buf);
		if (sev < -1 || n >= sizeof(buf) - 1)
			return fail(pe, kw_at, "unknown severity '%s' (none, info, warning, critical)",
				    tok_str(lx->s + kw_at, n, buf, sizeof(buf)));
		lx->pos += n;
		r->limit = sev;
		snprintf(r->limit_text, sizeof(r->limit_text), "%s", severity_str(sev));
		return 0;
	}
	if (n)
		return fail(pe, kw_at, "expected 'severity' or 'off' after detector '%.*s', found '%s'",
			    (int)dlen, dname, tok_str(lx->s + kw_at, n, buf, sizeof(buf)));
	skip_blanks(lx);
	if (lx->pos < lx->len && strchr("<>=!", lx->s[lx->pos]))
		return fail(pe, at, "'%.*s' is a detector: compare '%.*s.count', '%.*s.findings' or "
			    "its 'severity', or say '%.*s off'", (int)dlen, dname, (int)dlen, dname,
			    (int)dlen, dname, (int)dlen, dname);
	return fail(pe, lx->pos, "expected 'severity', 'off', '.count' or '.findings' after "
		    "detector '%.*s'", (int)dlen, dname);
}

/* "server ADDR" (the word already seen): the address. */
static int parse_server(struct lexer *lx, struct perr *pe, struct rule *r)
{
	size_t n = 0, at;
	char abuf[64], buf[64];

	skip_blanks(lx);
	at = lx->pos;
	while (at + n < lx->len && lx->s[at + n] && strchr("0123456789abcdefABCDEF:.", lx->s[at + n]))
		n++;
	if (!n)
		return fail(pe, at, "expected an IP address after 'server'");
	if (n < sizeof(abuf)) {
		memcpy(abuf, lx->s + at, n);
		abuf[n] = '\0';
	}
	if (n >= sizeof(abuf) || addr_parse(abuf, &r->server) < 0)
		return fail(pe, at, "'%s' is not an IPv4 or IPv6 address",
			    tok_str(lx->s + at, n, buf, sizeof(buf)));
	r->has_server = 1;
	lx->pos += n;
	return 0;
}

/* DET.count or DET.findings, id[0..n) known to be neither a metric nor a
 * detector name. 1 if it is one of them (parsed), 0 if not, -1 on error. */
static int parse_detector_field(struct lexer *lx, struct perr *pe, struct rule *r,
				const char *id, size_t n, size_t at)
{
	const char *field = memchr(id, '.', n);
	size_t dlen, flen;
	char buf[64];
	int det;

	/* detector names have no dot: the field starts after the first */
	if (!field)
		return 0;
	dlen = (size_t)(field - id);
	field++;
	flen = n - dlen - 1;
	det = detector_by_name(id, dlen);
	if (det < -1) {
		if (dlen == 5 && !memcmp(id, "rcode", 5))
			return fail(pe, at + 6, "unknown rcode '%s' (NOERROR, SERVFAIL, NXDOMAIN, "
				    "REFUSED, ...)", tok_str(field, flen, buf, sizeof(buf)));
		return 0;
	}
	if (flen == 5 && !memcmp(field, "count", 5))
		r->kind = RULE_COUNT;
	else if (flen == 8 && !memcmp(field, "findings", 8))
		r->kind = RULE_FINDINGS;
	else
		return fail(pe, at + dlen + 1, "a detector has '.count' and '.findings', not '%s'",
			    tok_str(field, flen, buf, sizeof(buf)));
	r->detector = det;
	if (lex_op(lx, pe, &r->op) < 0)
		return -1;
	return parse_limit(lx, pe, r, r->kind == RULE_COUNT ? "count" : "findings", MU_COUNT) < 0
		       ? -1 : 1;
}

static int unknown_name(struct perr *pe, const char *id, size_t n, size_t at)
{
	const char *dot = memchr(id, '.', n), *hint;
	char tb[64];

	/* retry-timout.count: suggest for the detector part */
	if (dot && (hint = did_you_mean(id, (size_t)(dot - id))))
		return fail(pe, at, "unknown detector '%s'; did you mean '%s%.*s'?",
			    tok_str(id, (size_t)(dot - id), tb, sizeof(tb)), hint,
			    (int)(n - (size_t)(dot - id)), dot);
	hint = did_you_mean(id, n);
	if (hint)
		return fail(pe, at, "unknown metric or detector '%s'; did you mean '%s'?",
			    tok_str(id, n, tb, sizeof(tb)), hint);
	return fail(pe, at, "unknown metric or detector '%s' (see dnsvet-check(1))",
		    tok_str(id, n, tb, sizeof(tb)));
}

static int parse_rule(struct lexer *lx, struct perr *pe, struct rule *r)
{
	size_t n, at;
	const char *id;
	int m, det, rc, rcode = 0;
	char buf[64];

	n = peek_ident(lx);
	if (!n)
		return fail(pe, lx->pos, "expected a metric or a detector, found '%s'",
			    here_str(lx, buf, sizeof(buf)));
	if (ident_is(lx, n, "server")) {
		lx->pos += n;
		if (parse_server(lx, pe, r) < 0)
			return -1;
		n = peek_ident(lx);
		if (!n)
			return fail(pe, lx->pos, "expected a metric after the server address");
	}
	at = lx->pos;
	id = lx->s + at;
	m = metric_by_name(id, n, &rcode);
	det = detector_by_name(id, n);
	lx->pos += n;
	skip_blanks(lx);
	/* "unanswered" is a metric and a detector: what follows decides */
	if (m >= 0 && !(det >= -1 && lx->pos < lx->len &&
			is_ident_start((unsigned char)lx->s[lx->pos]))) {
		if (r->has_server && !metrics[m].per_server)
			return fail(pe, at, "'%.*s' is not kept per server", (int)n, id);
		r->kind = RULE_METRIC;
		r->metric = m;
		r->rcode = rcode;
		r->detector = -1;
		if (lex_op(lx, pe, &r->op) < 0)
			return -1;
		return parse_limit(lx, pe, r, metric_name(m), metrics[m].unit);
	}
	if (r->has_server)
		return fail(pe, at, "'%s' is not a metric kept per server",
			    tok_str(id, n, buf, sizeof(buf)));
	if (det >= -1)
		return parse_detector_rule(lx, pe, r, det, id, n, at);
	rc = parse_detector_field(lx, pe, r, id, n, at);
	if (rc)
		return rc < 0 ? -1 : 0;
	return unknown_name(pe, id, n, at);
}

static struct rule *rules_push(struct rules *rs)
{
	struct rule *r;

	if (rs->n == rs->alloc) {
		rs->alloc = rs->alloc ? rs->alloc * 2 : 16;
		rs->v = xrealloc(rs->v, rs->alloc * sizeof(*rs->v));
	}
	r = &rs->v[rs->n++];
	memset(r, 0, sizeof(*r));
	return r;
}

/* The rule as written, comment and outer blanks removed, tabs as spaces. */
static char *rule_text(const char *s, size_t len)
{
	char *t;
	size_t i;

	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
		len--;
	t = xmalloc(len + 1);
	for (i = 0; i < len; i++)
		t[i] = s[i] == '\t' ? ' ' : s[i];
	t[len] = '\0';
	return t;
}

/* One line: 1 if a rule was added, 0 for a blank or comment line, -1 on
 * an error (pe filled). */
static int parse_line(struct rules *rs, const char *line, size_t len, const char *file,
		      int lineno, struct perr *pe)
{
	struct lexer lx = { line, len, 0 };
	struct rule tmp, *r;
	size_t start;
	char buf[64], where[512];

	if (at_end(&lx))
		return 0;
	start = lx.pos;
	memset(&tmp, 0, sizeof(tmp));
	if (memchr(line, '\0', len))
		return fail(pe, (size_t)((const char *)memchr(line, '\0', len) - line),
			    "a NUL byte in a rules file");
	if (parse_rule(&lx, pe, &tmp) < 0)
		return -1;
	if (!at_end(&lx))
		return fail(pe, lx.pos, "unexpected '%s' after the rule", here_str(&lx, buf, sizeof(buf)));
	if (rs->n >= RULES_MAX)
		return fail(pe, start, "more than %d rules", RULES_MAX);
	r = rules_push(rs);
	*r = tmp;
	r->text = rule_text(line + start, lx.pos - start);
	snprintf(where, sizeof(where), "%s:%d", file, lineno);
	r->where = xstrdup(where);
	return 1;
}

int rules_parse(struct rules *rs, const char *text, size_t len, const char *file,
		struct sbuf *err)
{
	size_t off = 0;
	int lineno = 0, nerr = 0;

	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t ll = nl ? (size_t)(nl - (text + off)) : len - off;
		struct perr pe;

		lineno++;
		if (parse_line(rs, text + off, ll, file, lineno, &pe) < 0) {
			if (++nerr <= RULES_MAX_ERRORS)
				diag(err, file, lineno, text + off, ll, &pe);
		}
		off += ll + (nl ? 1 : 0);
	}
	if (nerr > RULES_MAX_ERRORS)
		sbuf_addf(err, "%s: %d more errors not shown\n", file, nerr - RULES_MAX_ERRORS);
	return nerr;
}

int rules_parse_file(struct rules *rs, const char *path)
{
	FILE *fp = fopen(path, "rb");
	struct sbuf text = SBUF_INIT, err = SBUF_INIT;
	char buf[8192];
	size_t n;
	int nerr;

	if (!fp)
		return error("unable to open rules file '%s': %s", path, strerror(errno));
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0) {
		if (text.len + n > (1u << 20)) {
			fclose(fp);
			sbuf_release(&text);
			return error("rules file '%s' is over 1 MB: not a rules file?", path);
		}
		sbuf_add(&text, buf, n);
	}
	if (ferror(fp)) {
		fclose(fp);
		sbuf_release(&text);
		return error("unable to read rules file '%s': %s", path, strerror(errno));
	}
	fclose(fp);
	nerr = rules_parse(rs, text.buf ? text.buf : "", text.len, path, &err);
	if (nerr) {
		const char *s = err.buf;

		/* "dnsvet: error: " before each message; the echoed line and the
		 * caret are indented and printed as they are */
		fflush(stdout);
		while (*s) {
			const char *e = strchr(s, '\n');
			size_t l = e ? (size_t)(e - s) : strlen(s);

			fprintf(stderr, "%s%.*s\n", *s == ' ' ? "" : "dnsvet: error: ", (int)l, s);
			s += l + (e ? 1 : 0);
		}
	}
	sbuf_release(&text);
	sbuf_release(&err);
	return nerr ? -1 : 0;
}

void rules_add_builtin(struct rules *rs, const char *text, const char *why)
{
	struct perr pe;

	if (parse_line(rs, text, strlen(text), why, 0, &pe) != 1)
		BUG("built-in rule '%s': %s", text, pe.msg);
	free(rs->v[rs->n - 1].where);
	rs->v[rs->n - 1].where = xstrdup(why);
}

void rules_add_defaults(struct rules *rs, int level, const char *only, const char *why)
{
	size_t i;
	char text[128];

	for (i = 0; i < ndetectors; i++) {
		if (!detect_enabled(only, detectors[i]->name))
			continue;
		snprintf(text, sizeof(text), "%s severity < %s", detectors[i]->name,
			 severity_str(level));
		rules_add_builtin(rs, text, why);
	}
}

void rules_free(struct rules *rs)
{
	size_t i;

	for (i = 0; i < rs->n; i++) {
		free(rs->v[i].text);
		free(rs->v[i].where);
	}
	free(rs->v);
	rs->v = NULL;
	rs->n = rs->alloc = 0;
}

/* ---- facts ------------------------------------------------------------------- */

static double lat(const struct hist *h, double pct)
{
	if (!h->n)
		return NAN;
	return pct >= 100 ? (double)h->max_us : (double)hist_pct(h, pct);
}

void check_facts_from(struct check_facts *cf, struct analysis *a)
{
	const struct match_stats *ms = matcher_stats(a->mt);
	const struct decode_stats *ds = &a->dec.st;
	uint64_t done = ms->matched + ms->unanswered;

	memset(cf, 0, sizeof(*cf));
	cf->m[M_PACKETS] = (double)a->in.st.packets;
	cf->m[M_QUERIES] = (double)ms->queries;
	cf->m[M_RESPONSES] = (double)ms->responses;
	cf->m[M_TRANSACTIONS] = (double)ms->txns;
	cf->m[M_MATCHED] = (double)ms->matched;
	cf->m[M_UNANSWERED] = (double)ms->unanswered;
	cf->m[M_OPEN_AT_END] = (double)ms->open_at_end;
	cf->m[M_ORPHANS] = (double)ms->orphans;
	cf->m[M_MISMATCHED] = (double)ms->mismatched;
	cf->m[M_RETRANS] = (double)ms->retransmissions;
	cf->m[M_DUPLICATES] = (double)ms->duplicates;
	cf->m[M_LOOKUPS] = (double)a->st.lookups;
	cf->m[M_LOOKUPS_RETRIED] = (double)a->st.lookups_retried;
	cf->m[M_LOOKUPS_FAILED] = (double)a->st.lookups_failed;
	cf->m[M_EVICTED] = (double)(ms->evicted_txns + ms->evicted_lookups);
	cf->m[M_MALFORMED] = (double)(ds->malformed_queries + ds->malformed_responses);
	cf->m[M_TRUNCATED] = (double)a->in.st.truncated_files;
	/* as in the report: with nothing to judge, all of it was answered */
	cf->m[M_ANSWERED_RATIO] = done ? (double)ms->matched / (double)done : 1.0;
	cf->m[M_UNANSWERED_RATIO] = done ? (double)ms->unanswered / (double)done : 0.0;
	cf->m[M_LAT_P50] = lat(&a->st.lat_first, 50);
	cf->m[M_LAT_P90] = lat(&a->st.lat_first, 90);
	cf->m[M_LAT_P99] = lat(&a->st.lat_first, 99);
	cf->m[M_LAT_MAX] = lat(&a->st.lat_first, 100);
	memcpy(cf->rcodes, a->st.rcodes, sizeof(cf->rcodes));
	cf->findings = &a->findings;
	cf->st = &a->st;
	cf->ms = ms;
}

/* ---- evidence ---------------------------------------------------------------- */

static int op_is_upper(int op)
{
	return op == OP_LT || op == OP_LE || op == OP_EQ;
}

/* Does a latency of us break the limit of rule r? */
static int breaks(const struct rule *r, double v)
{
	switch (r->op) {
	case OP_LT: return v >= r->limit;
	case OP_LE: return v > r->limit;
	case OP_EQ: return v != r->limit;
	case OP_NE: return v == r->limit;
	case OP_GE: return v < r->limit;
	case OP_GT: return v <= r->limit;
	}
	return 0;
}

void rule_observe(const struct rule *r, struct rule_evidence *e, const struct txn *t)
{
	int64_t rank = 0;
	int witness = 0, i;
	struct evidence *ev;
	struct sbuf sb = SBUF_INIT;
	char desc[160], cli[48], srv[48];

	if (r->kind != RULE_METRIC || t->status == TXN_EVICTED)
		return;
	if (r->has_server && !addr_eq(&r->server, &t->server))
		return;
	switch (r->metric) {
	case M_UNANSWERED:
	case M_UNANSWERED_RATIO:
		witness = op_is_upper(r->op) && t->status == TXN_UNANSWERED;
		break;
	case M_ANSWERED_RATIO:
		witness = (r->op == OP_GE || r->op == OP_GT || r->op == OP_EQ) &&
			  t->status == TXN_UNANSWERED;
		break;
	case M_OPEN_AT_END:
		witness = op_is_upper(r->op) && t->status == TXN_OPEN_AT_END;
		break;
	case M_RETRANS:
		witness = op_is_upper(r->op) && t->retrans > 0;
		break;
	case M_RCODE:
		witness = op_is_upper(r->op) && t->status == TXN_ANSWERED &&
			  TXN_RCODE(t) == r->rcode;
		break;
	case M_LAT_P50:
	case M_LAT_P90:
	case M_LAT_P99:
	case M_LAT_MAX:
		if (t->status != TXN_ANSWERED || (r->op != OP_LT && r->op != OP_LE))
			break;
		rank = TXN_LATENCY_FIRST(t) / NS_PER_US;
		witness = breaks(r, (double)rank);
		break;
	}
	if (!witness)
		return;
	e->total++;
	/* the slowest for latency, otherwise the earliest; kept sorted */
	if (!rank)
		rank = -(int64_t)t->seq;
	for (i = e->n; i > 0 && rank > e->rank[i - 1]; i--)
		;
	if (i >= RULE_MAX_EVIDENCE)
		return;
	if (e->n == RULE_MAX_EVIDENCE)
		e->n--;
	memmove(&e->ev[i + 1], &e->ev[i], (size_t)(e->n - i) * sizeof(e->ev[0]));
	memmove(&e->rank[i + 1], &e->rank[i], (size_t)(e->n - i) * sizeof(e->rank[0]));
	e->n++;
	e->rank[i] = rank;
	ev = &e->ev[i];
	memset(ev, 0, sizeof(*ev));
	ev->txn_seq = t->seq;
	ev->ts = t->first_ts;
	ev->q = t->qframe;
	if (t->status == TXN_ANSWERED)
		ev->r = t->rframe;
	txn_describe(t, desc, sizeof(desc));
	sbuf_addf(&sb, "%s -> %s %s", addr_str(&t->client, cli, sizeof(cli)),
		  addr_str(&t->server, srv, sizeof(srv)), desc);
	snprintf(ev->what, sizeof(ev->what), "%s", sb.buf);
	sbuf_release(&sb);
}

/* ---- evaluation -------------------------------------------------------------- */

static int compare(double a, int op, double b)
{
	switch (op) {
	case OP_LT: return a < b;
	case OP_LE: return a <= b;
	case OP_EQ: return a == b;
	case OP_NE: return a != b;
	case OP_GE: return a >= b;
	case OP_GT: return a > b;
	}
	return 0;
}

int rule_finding_relevant(const struct rule *r, const struct finding *f)
{
	if (r->kind == RULE_METRIC)
		return 0;
	if (r->detector >= 0 && strcmp(f->detector, detectors[r->detector]->name))
		return 0;
	if (r->kind == RULE_SEVERITY)
		return !compare(f->severity, r->op, r->limit);
	return 1;
}

static const char *det_name(const struct rule *r)
{
	return r->detector >= 0 ? detectors[r->detector]->name : "any";
}

/* Server-scoped values from the per-server table; 0 if the server was
 * never seen. */
static int server_value(const struct rule *r, const struct check_facts *cf, double *v,
			uint64_t *num, uint64_t *den)
{
	struct ent_stats es, *e = &es;
	const void *rec;
	uint8_t k[17];
	uint64_t done;

	if (!cf->st)
		return 0;
	k[0] = r->server.family;
	memcpy(k + 1, r->server.a, r->server.family == 4 ? 4 : 16);
	rec = kmap_find(&cf->st->servers, k, r->server.family == 4 ? 5 : 17);
	if (!rec)
		return 0;
	stats_ent(cf->st, &cf->st->servers, rec, e);
	done = e->answered + e->unanswered;
	*num = *den = 0;
	switch (r->metric) {
	case M_QUERIES: *v = (double)(e->txns + e->retrans); break;
	case M_TRANSACTIONS: *v = (double)e->txns; break;
	case M_MATCHED: *v = (double)e->answered; break;
	case M_UNANSWERED: *v = (double)e->unanswered; break;
	case M_OPEN_AT_END: *v = (double)e->open_at_end; break;
	case M_RETRANS: *v = (double)e->retrans; break;
	case M_RCODE: *v = (double)e->rcodes[r->rcode]; break;
	case M_ANSWERED_RATIO:
		*v = done ? (double)e->answered / (double)done : 1.0;
		*num = e->answered;
		*den = done;
		break;
	case M_UNANSWERED_RATIO:
		*v = done ? (double)e->unanswered / (double)done : 0.0;
		*num = e->unanswered;
		*den = done;
		break;
	case M_LAT_P50: *v = lat(&e->lat, 50); *num = e->lat.n; break;
	case M_LAT_P90: *v = lat(&e->lat, 90); *num = e->lat.n; break;
	case M_LAT_P99: *v = lat(&e->lat, 99); *num = e->lat.n; break;
	case M_LAT_MAX: *v = lat(&e->lat, 100); *num = e->lat.n; break;
	default: BUG("metric '%s' is not kept per server", metric_name(r->metric));
	}
	return 1;
}

/* "NAME is ACTUAL, expected OP LIMIT" or "..., as required (OP LIMIT)" */
static void rule_verdict(struct rule_result *res, const char *name, const char *actual,
			 const struct rule *r)
{
	if (res->passed)
		snprintf(res->message, sizeof(res->message), "%s is %s, as required (%s %s)", name,
			 actual, rule_op_str(r->op), r->limit_text);
	else
		snprintf(res->message, sizeof(res->message), "%s is %s, expected %s %s", name, actual,
			 rule_op_str(r->op), r->limit_text);
}

static void eval_metric(const struct rule *r, const struct check_facts *cf,
			struct rule_result *res)
{
	char name[128], base[48], srv[48], dur[32], detail[160];
	uint64_t num = 0, den = 0;
	double v;
	int unit = metrics[r->metric].unit;

	if (r->metric == M_RCODE)
		snprintf(base, sizeof(base), "rcode.%s", rcode_str((uint16_t)r->rcode));
	else
		snprintf(base, sizeof(base), "%s", metric_name(r->metric));
	addr_str(&r->server, srv, sizeof(srv));
	snprintf(name, sizeof(name), "%s%s%s%s", r->has_server ? "server " : "",
		 r->has_server ? srv : "", r->has_server ? " " : "", base);
	if (r->has_server) {
		if (!server_value(r, cf, &v, &num, &den)) {
			res->passed = 0;
			snprintf(res->actual_text, sizeof(res->actual_text), "not seen");
			snprintf(res->message, sizeof(res->message),
				 "%s: no DNS transaction with server %s in the capture%s", name, srv,
				 cf->st && cf->st->servers.overflowed
					 ? " (or it fell beyond the server table's cap)" : "");
			return;
		}
	} else {
		v = r->metric == M_RCODE ? (double)cf->rcodes[r->rcode] : cf->m[r->metric];
		if (r->metric == M_ANSWERED_RATIO || r->metric == M_UNANSWERED_RATIO) {
			den = (uint64_t)(cf->m[M_MATCHED] + cf->m[M_UNANSWERED]);
			num = (uint64_t)(r->metric == M_ANSWERED_RATIO ? cf->m[M_MATCHED]
								       : cf->m[M_UNANSWERED]);
		} else if (unit == MU_TIME) {
			num = (uint64_t)cf->m[M_MATCHED];
		}
	}
	if (isnan(v)) {
		/* latency without a single answer: nothing breaks a latency
		 * limit; the unanswered and ratio rules speak for this case */
		res->passed = 1;
		snprintf(res->actual_text, sizeof(res->actual_text), "no answers");
		snprintf(res->message, sizeof(res->message),
			 "%s: no answered query to measure, so no latency breaks the limit", name);
		return;
	}
	res->has_actual = 1;
	res->actual = v;
	res->passed = compare(v, r->op, r->limit);
	detail[0] = '\0';
	switch (unit) {
	case MU_COUNT:
		snprintf(res->actual_text, sizeof(res->actual_text), "%.0f", v);
		/* a failure says what the number counts */
		if (!res->passed && r->metric != M_RCODE)
			snprintf(detail, sizeof(detail), "%.0f (%s)", v, metrics[r->metric].gloss);
		break;
	case MU_RATIO:
		snprintf(res->actual_text, sizeof(res->actual_text), "%.2f%% (%" PRIu64 " of %" PRIu64 ")",
			 100.0 * v, num, den);
		snprintf(detail, sizeof(detail), "%.2f%% (%" PRIu64 " of %" PRIu64
			 " transactions that ran their answer window)", 100.0 * v, num, den);
		break;
	case MU_TIME:
		fmt_dur(dur, sizeof(dur), (ts_t)(v * NS_PER_US));
		snprintf(res->actual_text, sizeof(res->actual_text), "%s", dur);
		snprintf(detail, sizeof(detail), "%s over %" PRIu64 " answered quer%s", dur, num,
			 num == 1 ? "y" : "ies");
		break;
	}
	rule_verdict(res, name, detail[0] ? detail : res->actual_text, r);
}

int rule_eval(const struct rule *r, const struct check_facts *cf, struct rule_result *res)
{
	const struct finding *first = NULL;
	uint64_t count = 0;
	size_t i, nf = 0, nrel = 0;
	int maxsev = SEV_NONE;
	char more[64] = "", name[64];

	memset(res, 0, sizeof(*res));
	if (r->kind == RULE_METRIC) {
		eval_metric(r, cf, res);
		res->message_core = strlen(res->message);
		return res->passed;
	}
	for (i = 0; cf->findings && i < cf->findings->n; i++) {
		const struct finding *f = &cf->findings->v[i];

		if (r->detector >= 0 && strcmp(f->detector, detectors[r->detector]->name))
			continue;
		nf++;
		count += f->count;
		if (f->severity > maxsev)
			maxsev = f->severity;
		if (rule_finding_relevant(r, f)) {
			if (!first || f->severity > first->severity)
				first = f;
			nrel++;
		}
	}
	if (nrel > 1)
		snprintf(more, sizeof(more), " (and %zu more finding%s)", nrel - 1,
			 nrel == 2 ? "" : "s");
	res->has_actual = 1;
	snprintf(name, sizeof(name), "%s%s", det_name(r),
		 r->kind == RULE_COUNT ? ".count" : r->kind == RULE_FINDINGS ? ".findings"
		 : r->kind == RULE_SEVERITY ? " severity" : "");
	switch (r->kind) {
	case RULE_COUNT:
	case RULE_FINDINGS:
		res->actual = r->kind == RULE_COUNT ? (double)count : (double)nf;
		res->passed = compare(res->actual, r->op, r->limit);
		if (r->kind == RULE_COUNT)
			snprintf(res->actual_text, sizeof(res->actual_text), "%" PRIu64 " (%zu finding%s)",
				 count, nf, nf == 1 ? "" : "s");
		else
			snprintf(res->actual_text, sizeof(res->actual_text), "%zu", nf);
		rule_verdict(res, name, res->actual_text, r);
		break;
	case RULE_SEVERITY:
		res->actual = maxsev;
		res->passed = compare(maxsev, r->op, r->limit);
		snprintf(res->actual_text, sizeof(res->actual_text), "%s (%zu finding%s)",
			 severity_str(maxsev), nf, nf == 1 ? "" : "s");
		rule_verdict(res, name, res->actual_text, r);
		break;
	case RULE_OFF:
		res->actual = (double)nf;
		res->passed = nf == 0;
		if (nf)
			snprintf(res->actual_text, sizeof(res->actual_text), "%zu finding%s (%s)", nf,
				 nf == 1 ? "" : "s", severity_str(maxsev));
		else
			snprintf(res->actual_text, sizeof(res->actual_text), "no findings");
		if (res->passed)
			snprintf(res->message, sizeof(res->message), "%s: no findings, as required (off)",
				 det_name(r));
		else
			snprintf(res->message, sizeof(res->message), "%s must find nothing, found %s",
				 det_name(r), res->actual_text);
		break;
	}
	/* say what the worst relevant finding is about */
	res->message_core = strlen(res->message);
	if (!res->passed && first) {
		size_t l = res->message_core;

		snprintf(res->message + l, sizeof(res->message) - l, ": [%s] %s: %s%s",
			 severity_str(first->severity), first->detector,
			 first->summary ? first->summary : "", more);
	}
	return res->passed;
}
