/*
 * detect.c: the detector registry, thresholds, tags and finding helpers.
 *
 * How to add a detector (the whole checklist):
 *
 *  1. Write src/detect-foo.c with everything static except one
 *     `const struct detector detector_foo = { .name = "foo", .summary, .params,
 *     .init, .txn, .lookup, .finish, .free };`. It gets each finished
 *     transaction and lookup as const, keeps what it needs in bounded memory,
 *     and in .finish appends findings with finding_new() and friends, tags
 *     the transactions that belong to them (detect_tag) and names evidence.
 *     Keep per-client state in a struct dk_clients (detkit.h): found by the
 *     client's number with an array load, and prefetched with the other
 *     detectors' records before any detector runs (a hash map of its own
 *     costs a cache miss per transaction). If .txn then follows a
 *     pointer from that record to more per-client state (a ring, a
 *     table slot), a .prefetch hook (detect.h) can start loading it a few
 *     transactions ahead (see detect-search-walk.c). Pack per-transaction
 *     records (tags for later) small: a busy capture has millions.
 *  2. Declare it in the list below (extern) and add &detector_foo to
 *     detectors[].
 *  3. Add detect-foo.c to Makefile.am.
 *  4. Add the smallest trace that triggers it and one that must not, under
 *     pcaps/ (made by pcaps/make-traces.sh from real parts where possible),
 *     with expected output: a line in tests/TESTLIST and, for counts,
 *     tests/detectors-a.sh or tests/detectors-b.sh.
 *  5. Document its id, what it counts, every parameter with its default and
 *     the reasoning behind it, in man/dnsvet-detectors.7.
 *  6. Check its cost: make bench (README.md, "Benchmark"), and alternating
 *     runs with --detectors foo against --detectors none as
 *     tests/bench/NOTES.md describes; if it is heavy, consider it for -j 2's
 *     matching process (stage12_detectors in analyze-pipe.c, balanced with
 *     DNSVET_JOBS_TIMES=1).
 */
#include "config.h"
#include "detect.h"
#include "detkit.h"
#include "names.h"
#include "recidx.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

extern const struct detector detector_unanswered, detector_retry_timeout,
	detector_serial_fallback, detector_slow_aaaa, detector_ptr_flood,
	detector_rate_limit, detector_search_walk, detector_tcp_fallback,
	detector_servfail_burst, detector_amplification;

const struct detector *const detectors[] = {
	&detector_unanswered,
	&detector_retry_timeout,
	&detector_serial_fallback,
	&detector_slow_aaaa,
	&detector_ptr_flood,
	&detector_rate_limit,
	&detector_search_walk,
	&detector_tcp_fallback,
	&detector_servfail_burst,
	&detector_amplification,
};
const size_t ndetectors = ARRAY_SIZE(detectors);

const char *severity_str(int sev)
{
	switch (sev) {
	case SEV_INFO: return "info";
	case SEV_WARNING: return "warning";
	case SEV_CRITICAL: return "critical";
	default: return "none";
	}
}

int severity_parse(const char *s)
{
	if (!strcasecmp(s, "info"))
		return SEV_INFO;
	if (!strcasecmp(s, "warning"))
		return SEV_WARNING;
	if (!strcasecmp(s, "critical"))
		return SEV_CRITICAL;
	if (!strcasecmp(s, "none"))
		return SEV_NONE;
	return -2;
}

/* ---- configuration ------------------------------------------------------ */

static const struct detector *find_detector(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < ndetectors; i++)
		if (strlen(detectors[i]->name) == len && !strncmp(detectors[i]->name, name, len))
			return detectors[i];
	return NULL;
}

static int param_exists(const struct detector *d, const char *param)
{
	const struct detector_param *p;

	for (p = d->params; p && p->name; p++)
		if (!strcmp(p->name, param))
			return 1;
	return 0;
}

int detect_config_set(struct detect_config *cfg, const char *assignment)
{
	const char *dot = strchr(assignment, '.'), *eq = strchr(assignment, '=');
	const struct detector *d;
	char key[128], *end;
	double v;
	size_t klen;

	if (!dot || !eq || dot > eq)
		return error("'%s': expected DETECTOR.PARAM=VALUE", assignment);
	d = find_detector(assignment, (size_t)(dot - assignment));
	if (!d)
		return error("'%s': no detector '%.*s' (see dnsvet-detectors(7))", assignment,
			     (int)(dot - assignment), assignment);
	klen = (size_t)(eq - assignment);
	while (klen && (assignment[klen - 1] == ' ' || assignment[klen - 1] == '\t'))
		klen--;
	if (klen >= sizeof(key))
		return error("'%s': name too long", assignment);
	memcpy(key, assignment, klen);
	key[klen] = '\0';
	if (!param_exists(d, key + (dot - assignment) + 1))
		return error("'%s': detector '%s' has no parameter '%s'", assignment, d->name,
			     key + (dot - assignment) + 1);
	errno = 0;
	v = strtod(eq + 1, &end);
	while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
		end++;
	if (errno || end == eq + 1 || *end)
		return error("'%s': the value must be a number", assignment);
	cfg->over = xrealloc(cfg->over, (cfg->nover + 1) * sizeof(*cfg->over));
	cfg->over[cfg->nover].key = xstrdup(key);
	cfg->over[cfg->nover].value = v;
	cfg->nover++;
	return 0;
}

int detect_config_file(struct detect_config *cfg, const char *path)
{
	FILE *fp = fopen(path, "r");
	char line[1024];
	int lineno = 0, rc = 0;

	if (!fp)
		return error("unable to open config file '%s': %s", path, strerror(errno));
	while (fgets(line, sizeof(line), fp)) {
		char *s = line, *e;

		lineno++;
		while (*s == ' ' || *s == '\t')
			s++;
		e = s + strlen(s);
		while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' '))
			*--e = '\0';
		if (!*s || *s == '#')
			continue;
		if (detect_config_set(cfg, s) < 0) {
			error("%s:%d: in this line", path, lineno);
			rc = -1;
		}
	}
	fclose(fp);
	return rc;
}

void detect_config_free(struct detect_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->nover; i++)
		free(cfg->over[i].key);
	free(cfg->over);
	cfg->over = NULL;
	cfg->nover = 0;
}

/* ---- the run ----------------------------------------------------------- */

struct tagmap {
	uint8_t *bits;
	uint64_t nbits;
};

/*
 * Client numbers (detect_client_number()): the addresses in number
 * order, and an index of them by hash (recidx.h). Every transaction and
 * lookup asks once. In a kmap (a bucket, then the entry it points to)
 * that was two misses in a row, and detect_client_number() 5.8 % of a
 * run with every detector (perf, bench trace). Here it is one slot, which
 * the decoder's hint starts loading when it reads an answer
 * (detect_client_prefetch()), and an address in a dense array (2,000
 * clients on the bench trace: 34 KB), compared as struct addr (no key
 * bytes to build and hash): 2.2 % of the run instead of 5.8 (perf).
 */
struct client_numbers {
	struct recidx ix;
	struct addr *keys; /* by number */
	uint32_t n, alloc;
};

struct detect_ctx {
	const struct detect_config *cfg;
	void *state[32];
	int enabled[32];
	/* -j: run in another process; their findings and tags come from
	 * detect_import() */
	int remote[32];
	struct findings imported[32];
	struct tagmap tags[32];
	/* the enabled detectors that take transactions and lookups, so the
	 * per-transaction fan-out is one indirect call per interested
	 * detector, not a test of every entry in detectors[] */
	struct {
		void (*fn)(void *state, const struct txn *t);
		void *state;
	} on_txn[32];
	struct {
		void (*fn)(void *state, const struct lookup *l);
		void *state;
	} on_lookup[32];
	struct {
		void (*fn)(void *state, const struct txn *t, uint32_t client);
		void *state;
	} on_prefetch[32];
	int non_txn, non_lookup, non_prefetch;
	/* detect_client(): numbers by address, and the current one */
	struct client_numbers cn;
	struct dk_clients *clients[16]; /* detect_add_clients() */
	int nclients;
	uint32_t cur_id; /* the number of the event being handed on */
	/* an enabled detector takes lookups (detect_event_client()): set
	 * before detect_set_local(), the same in both processes of -j 2 */
	int lookups_numbered;
	/* detect_param() answers, by the addresses of the two strings */
	struct {
		const char *det, *param;
		double v;
	} pcache[64];
};

static int detector_index(const char *name)
{
	size_t i;

	for (i = 0; i < ndetectors; i++)
		if (!strcmp(detectors[i]->name, name))
			return (int)i;
	return -1;
}

int detect_enabled(const char *only, const char *name)
{
	const char *s = only;
	size_t n = strlen(name);

	if (!only)
		return 1;
	while (*s) {
		const char *c = strchr(s, ',');
		size_t len = c ? (size_t)(c - s) : strlen(s);

		if (len == n && !strncmp(s, name, n))
			return 1;
		s += len + (c ? 1 : 0);
	}
	return 0;
}

static double param_lookup(struct detect_ctx *dc, const char *detector, const char *param);

/*
 * Detectors ask for their parameters where they use them, some once per
 * lookup; the snprintf and string compares behind an answer were 3 % of a
 * run with every detector (perf, bench trace). The callers pass string
 * literals, so the answer is cached by the strings' addresses.
 */
double detect_param(struct detect_ctx *dc, const char *detector, const char *param)
{
	uint64_t h = ((uint64_t)(uintptr_t)detector * 31 + (uintptr_t)param) * 0x9e3779b97f4a7c15ULL;
	size_t slot = (size_t)(h >> 58) & (ARRAY_SIZE(dc->pcache) - 1);

	if (dc->pcache[slot].det != detector || dc->pcache[slot].param != param) {
		dc->pcache[slot].v = param_lookup(dc, detector, param);
		dc->pcache[slot].det = detector;
		dc->pcache[slot].param = param;
	}
	return dc->pcache[slot].v;
}

static double param_lookup(struct detect_ctx *dc, const char *detector, const char *param)
{
	const struct detector_param *p;
	int i = detector_index(detector);
	size_t k;
	char key[128];

	if (i < 0)
		BUG("no detector '%s'", detector);
	snprintf(key, sizeof(key), "%s.%s", detector, param);
	for (k = dc->cfg->nover; k-- > 0;)
		if (!strcmp(dc->cfg->over[k].key, key))
			return dc->cfg->over[k].value;
	for (p = detectors[i]->params; p && p->name; p++)
		if (!strcmp(p->name, param))
			return p->def;
	BUG("detector '%s' has no parameter '%s'", detector, param);
}

ts_t detect_window(struct detect_ctx *dc)
{
	return dc->cfg->window;
}

void detect_tag(struct detect_ctx *dc, const char *det, uint64_t seq)
{
	int i = detector_index(det);
	struct tagmap *tm;

	if (i < 0)
		BUG("no detector '%s'", det);
	tm = &dc->tags[i];
	if (seq >= tm->nbits) {
		uint64_t nb = tm->nbits ? tm->nbits : 4096;

		while (nb <= seq)
			nb *= 2;
		tm->bits = xrealloc(tm->bits, nb / 8);
		memset(tm->bits + tm->nbits / 8, 0, (nb - tm->nbits) / 8);
		tm->nbits = nb;
	}
	tm->bits[seq / 8] |= (uint8_t)(1u << (seq % 8));
}

static void findings_copy(struct findings *out, const struct findings *in);

/* the lists of detectors that take transactions and lookups here */
static void fan_out(struct detect_ctx *dc)
{
	size_t i;

	dc->non_txn = dc->non_lookup = dc->non_prefetch = 0;
	for (i = 0; i < ndetectors; i++) {
		if (!dc->enabled[i] || dc->remote[i])
			continue;
		if (detectors[i]->txn) {
			dc->on_txn[dc->non_txn].fn = detectors[i]->txn;
			dc->on_txn[dc->non_txn++].state = dc->state[i];
		}
		if (detectors[i]->lookup) {
			dc->on_lookup[dc->non_lookup].fn = detectors[i]->lookup;
			dc->on_lookup[dc->non_lookup++].state = dc->state[i];
		}
		if (detectors[i]->prefetch) {
			dc->on_prefetch[dc->non_prefetch].fn = detectors[i]->prefetch;
			dc->on_prefetch[dc->non_prefetch++].state = dc->state[i];
		}
	}
}

uint32_t detect_tags(const struct detect_ctx *dc, uint64_t seq)
{
	uint32_t mask = 0;
	size_t i;

	for (i = 0; i < ndetectors; i++)
		if (seq < dc->tags[i].nbits && (dc->tags[i].bits[seq / 8] >> (seq % 8) & 1))
			mask |= 1u << i;
	return mask;
}

struct detect_ctx *detect_new(const struct detect_config *cfg)
{
	struct detect_ctx *dc = xcalloc(1, sizeof(*dc));
	size_t i;

	if (ndetectors > 32)
		BUG("too many detectors for the tag mask");
	recidx_init(&dc->cn.ix);
	dc->cfg = cfg;
	for (i = 0; i < ndetectors; i++) {
		dc->enabled[i] = detect_enabled(cfg->only, detectors[i]->name);
		if (dc->enabled[i] && detectors[i]->init)
			dc->state[i] = detectors[i]->init(dc);
		if (dc->enabled[i] && detectors[i]->lookup)
			dc->lookups_numbered = 1;
	}
	dc->cur_id = DETECT_UNNUMBERED;
	fan_out(dc);
	return dc;
}

static uint32_t client_tag(const struct addr *a)
{
	return (uint32_t)(addr_hash(a, a->family) >> 32);
}

uint32_t detect_client_number(struct detect_ctx *dc, const struct addr *a)
{
	struct client_numbers *cn = &dc->cn;
	uint32_t tag = client_tag(a), i;

	for (i = recidx_home(&cn->ix, tag); recidx_used(&cn->ix, i); i = recidx_next(&cn->ix, i))
		if (recidx_tag(&cn->ix, i) == tag && addr_eq(&cn->keys[recidx_rec(&cn->ix, i)], a))
			return recidx_rec(&cn->ix, i);
	if (cn->n >= DETECT_MAX_CLIENTS)
		return DETECT_NO_CLIENT;
	if (cn->n == cn->alloc) {
		cn->alloc = cn->alloc ? 2 * cn->alloc : 256;
		cn->keys = xrealloc(cn->keys, cn->alloc * sizeof(*cn->keys));
	}
	cn->keys[cn->n] = *a;
	recidx_put(&cn->ix, i, tag, cn->n);
	return cn->n++;
}

void detect_client_prefetch(const struct detect_ctx *dc, const struct addr *a)
{
	recidx_prefetch(&dc->cn.ix, client_tag(a));
}

uint32_t detect_event_client(struct detect_ctx *dc, const struct addr *a, int is_lookup)
{
	if (is_lookup && !dc->lookups_numbered)
		return DETECT_UNNUMBERED;
	return detect_client_number(dc, a);
}

uint32_t detect_client(struct detect_ctx *dc)
{
	/* every event a detector is handed is numbered (detect_event_client()) */
	if (dc->cur_id == DETECT_UNNUMBERED)
		BUG("detect_client() outside a detector's txn or lookup call");
	return dc->cur_id;
}

void detect_add_clients(struct detect_ctx *dc, struct dk_clients *c)
{
	if (dc->nclients < (int)ARRAY_SIZE(dc->clients))
		dc->clients[dc->nclients++] = c;
}

/* dk_clients_free(): a detector's state may go before the context does
 * (detect_set_local) */
void detect_remove_clients(struct detect_ctx *dc, struct dk_clients *c)
{
	int i;

	for (i = 0; i < dc->nclients; i++)
		if (dc->clients[i] == c) {
			dc->clients[i] = dc->clients[--dc->nclients];
			return;
		}
}

/*
 * Each detector's record of a client is a cache miss of its own (2,000
 * clients on the bench trace, in six detectors); asked for one after
 * another they are taken one after another. Asked for together, before
 * any is used, they are loaded in parallel.
 */
void detect_prefetch(struct detect_ctx *dc, uint32_t client)
{
	const void *p;
	int i;

	for (i = 0; i < dc->nclients; i++)
		if ((p = dk_byid_peek(&dc->clients[i]->ix, client)))
			__builtin_prefetch(p);
}

void detect_prefetch_deep(struct detect_ctx *dc, const struct txn *t, uint32_t client)
{
	int i;

	for (i = 0; i < dc->non_prefetch; i++)
		dc->on_prefetch[i].fn(dc->on_prefetch[i].state, t, client);
}

void detect_txn_numbered(struct detect_ctx *dc, const struct txn *t, uint32_t client)
{
	int i;

	dc->cur_id = client;
	for (i = 0; i < dc->non_txn; i++)
		dc->on_txn[i].fn(dc->on_txn[i].state, t);
	dc->cur_id = DETECT_UNNUMBERED;
}

void detect_lookup_numbered(struct detect_ctx *dc, const struct lookup *l, uint32_t client)
{
	int i;

	dc->cur_id = client;
	for (i = 0; i < dc->non_lookup; i++)
		dc->on_lookup[i].fn(dc->on_lookup[i].state, l);
	dc->cur_id = DETECT_UNNUMBERED;
}

static int cmp_finding(const void *a, const void *b)
{
	const struct finding *x = a, *y = b;
	int c;

	if (x->severity != y->severity)
		return y->severity - x->severity;
	c = detector_index(x->detector) - detector_index(y->detector);
	if (c)
		return c;
	return x->first < y->first ? -1 : x->first > y->first;
}

void detect_finish(struct detect_ctx *dc, struct findings *out)
{
	size_t i;

	for (i = 0; i < ndetectors; i++) {
		if (dc->remote[i])
			findings_copy(out, &dc->imported[i]);
		else if (dc->enabled[i] && detectors[i]->finish)
			detectors[i]->finish(dc->state[i], out);
	}
	/* the same list in the same order as in one process, so that qsort
	 * (not stable) orders equal findings the same way */
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), cmp_finding);
}

void detect_free(struct detect_ctx *dc)
{
	size_t i;

	if (!dc)
		return;
	for (i = 0; i < ndetectors; i++) {
		if (dc->enabled[i] && dc->state[i] && detectors[i]->free)
			detectors[i]->free(dc->state[i]);
		free(dc->tags[i].bits);
		findings_free(&dc->imported[i]);
	}
	recidx_free(&dc->cn.ix);
	free(dc->cn.keys);
	free(dc);
}

/* ---- findings -------------------------------------------------------------- */

struct finding *finding_new(struct findings *out, const char *detector, int severity)
{
	struct finding *f;

	if (out->n == out->alloc) {
		out->alloc = out->alloc ? out->alloc * 2 : 8;
		out->v = xrealloc(out->v, out->alloc * sizeof(*out->v));
	}
	f = &out->v[out->n++];
	memset(f, 0, sizeof(*f));
	f->detector = detector;
	f->severity = severity;
	return f;
}

void finding_set(char **field, const char *fmt, ...)
{
	va_list ap;
	struct sbuf sb = SBUF_INIT;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	sbuf_grow(&sb, (size_t)(n > 0 ? n : 0));
	va_start(ap, fmt);
	vsnprintf(sb.buf, (size_t)n + 1, fmt, ap);
	va_end(ap);
	free(*field);
	*field = sb.buf;
}

void finding_affected(char **arr, int *n, const char *s)
{
	int i;

	for (i = 0; i < *n; i++)
		if (!strcmp(arr[i], s))
			return;
	if (*n < FINDING_MAX_AFFECTED)
		arr[(*n)++] = xstrdup(s);
}

void txn_describe(const struct txn *t, char *buf, size_t n)
{
	char name[1100], lat[32], first[32];

	/* evidence lines are short (struct evidence): a long name is cut
	 * (with "...") so the status and latency still fit after it */
	name_str(t->qname, name, MIN(sizeof(name), n > 64 ? n - 64 : n));
	if (t->status == TXN_ANSWERED) {
		fmt_dur(lat, sizeof(lat), TXN_LATENCY_FIRST(t));
		snprintf(buf, n, "%s? %s %s%s after %s%s", qtype_str(t->qtype), name,
			 rcode_str(TXN_RCODE(t)), DNS_TC(t->resp_flags) ? " (TC)" : "", lat,
			 t->retrans ? " (retransmitted)" : "");
	} else {
		fmt_dur(first, sizeof(first), t->last_ts - t->first_ts);
		snprintf(buf, n, "%s? %s %s%s%s", qtype_str(t->qtype), name,
			 t->status == TXN_OPEN_AT_END ? "open at end" : "unanswered",
			 t->retrans ? ", re-sent over " : "", t->retrans ? first : "");
	}
}

void finding_evidence_raw(struct finding *f, uint64_t seq, ts_t ts, struct frameref q,
			  struct frameref r, const char *what)
{
	struct evidence *e;

	if (f->nev >= FINDING_MAX_EVIDENCE)
		return;
	e = &f->ev[f->nev++];
	e->txn_seq = seq;
	e->ts = ts;
	e->q = q;
	e->r = r;
	snprintf(e->what, sizeof(e->what), "%s", what);
}

void finding_evidence(struct finding *f, const struct txn *t, const char *fmt, ...)
{
	char what[160];
	struct frameref none = { 0, 0 };

	if (fmt) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(what, sizeof(what), fmt, ap);
		va_end(ap);
	} else {
		txn_describe(t, what, sizeof(what));
	}
	finding_evidence_raw(f, t->seq, t->first_ts, t->qframe,
			     t->status == TXN_ANSWERED ? t->rframe : none, what);
}

void findings_free(struct findings *fs)
{
	size_t i;
	int k;

	for (i = 0; i < fs->n; i++) {
		struct finding *f = &fs->v[i];

		free(f->summary);
		free(f->explanation);
		free(f->fix);
		for (k = 0; k < f->nservers; k++)
			free(f->servers[k]);
		for (k = 0; k < f->nclients; k++)
			free(f->clients[k]);
		for (k = 0; k < f->nnames; k++)
			free(f->names[k]);
		for (k = 0; k < f->nifaces; k++)
			free(f->ifaces[k]);
		sbuf_release(&f->details);
		sbuf_release(&f->json);
	}
	free(fs->v);
	memset(fs, 0, sizeof(*fs));
}

/* ---- -j: detectors in two processes (analyze-pipe.c) ---------------------- */

/*
 * With -j 2 the second process runs some detectors next to the matcher and
 * this one the others; at the end the second sends the findings and
 * transaction tags of its detectors (detect_export()), and this one puts
 * them where its own detectors' would be (detect_import(),
 * detect_finish()). The bytes never leave the machine or the run: a
 * simple dump of the fields, read back with bounds checks.
 */

void detect_set_local(struct detect_ctx *dc, uint32_t mask)
{
	size_t i;

	for (i = 0; i < ndetectors; i++) {
		if (!dc->enabled[i] || (mask >> i & 1))
			continue;
		if (dc->state[i] && detectors[i]->free)
			detectors[i]->free(dc->state[i]);
		dc->state[i] = NULL;
		dc->remote[i] = 1;
	}
	fan_out(dc);
}

static char *xstrdup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void finding_copy(struct finding *d, const struct finding *s)
{
	int k;

	*d = *s;
	d->summary = xstrdup_or_null(s->summary);
	d->explanation = xstrdup_or_null(s->explanation);
	d->fix = xstrdup_or_null(s->fix);
	for (k = 0; k < s->nservers; k++)
		d->servers[k] = xstrdup(s->servers[k]);
	for (k = 0; k < s->nclients; k++)
		d->clients[k] = xstrdup(s->clients[k]);
	for (k = 0; k < s->nnames; k++)
		d->names[k] = xstrdup(s->names[k]);
	for (k = 0; k < s->nifaces; k++)
		d->ifaces[k] = xstrdup(s->ifaces[k]);
	memset(&d->details, 0, sizeof(d->details));
	memset(&d->json, 0, sizeof(d->json));
	if (s->details.len)
		sbuf_add(&d->details, s->details.buf, s->details.len);
	if (s->json.len)
		sbuf_add(&d->json, s->json.buf, s->json.len);
}

static void findings_copy(struct findings *out, const struct findings *in)
{
	size_t i;

	for (i = 0; i < in->n; i++)
		finding_copy(finding_new(out, in->v[i].detector, in->v[i].severity), &in->v[i]);
}

static void put_u64(struct sbuf *sb, uint64_t v)
{
	sbuf_add(sb, &v, sizeof(v));
}

static void put_str(struct sbuf *sb, const char *s, size_t n, int present)
{
	put_u64(sb, present ? n : UINT64_MAX);
	if (present && n)
		sbuf_add(sb, s, n);
}

static void put_cstr(struct sbuf *sb, const char *s)
{
	put_str(sb, s, s ? strlen(s) : 0, s != NULL);
}

static void put_list(struct sbuf *sb, char *const *v, int n)
{
	int k;

	put_u64(sb, (uint64_t)n);
	for (k = 0; k < n; k++)
		put_cstr(sb, v[k]);
}

void detect_export(struct detect_ctx *dc, struct sbuf *sb)
{
	size_t i, j;

	for (i = 0; i < ndetectors; i++) {
		struct findings fs = { 0 };

		if (!dc->enabled[i] || dc->remote[i])
			continue;
		if (detectors[i]->finish)
			detectors[i]->finish(dc->state[i], &fs);
		put_u64(sb, i);
		put_u64(sb, fs.n);
		for (j = 0; j < fs.n; j++) {
			const struct finding *f = &fs.v[j];

			/* everything but the pointers, as it is */
			put_u64(sb, (uint64_t)f->severity);
			put_u64(sb, (uint64_t)f->first);
			put_u64(sb, (uint64_t)f->last);
			put_u64(sb, f->count);
			put_cstr(sb, f->summary);
			put_cstr(sb, f->explanation);
			put_cstr(sb, f->fix);
			put_list(sb, f->servers, f->nservers);
			put_list(sb, f->clients, f->nclients);
			put_list(sb, f->names, f->nnames);
			put_list(sb, f->ifaces, f->nifaces);
			put_str(sb, f->details.buf, f->details.len, 1);
			put_str(sb, f->json.buf, f->json.len, 1);
			put_u64(sb, (uint64_t)f->nev);
			sbuf_add(sb, f->ev, (size_t)f->nev * sizeof(f->ev[0]));
		}
		findings_free(&fs);
		put_str(sb, (const char *)dc->tags[i].bits, dc->tags[i].nbits / 8, 1);
	}
}

struct rd {
	const uint8_t *p, *end;
	int bad;
};

static uint64_t get_u64(struct rd *r)
{
	uint64_t v = 0;

	if (r->end - r->p < 8) {
		r->bad = 1;
		return 0;
	}
	memcpy(&v, r->p, 8);
	r->p += 8;
	return v;
}

/* a copy of the next string; *n its length; NULL if absent or bad */
static char *get_str(struct rd *r, size_t *n)
{
	uint64_t len = get_u64(r);
	char *s;

	if (r->bad || len == UINT64_MAX)
		return NULL;
	if (len > (uint64_t)(r->end - r->p)) {
		r->bad = 1;
		return NULL;
	}
	s = xmalloc(len + 1);
	memcpy(s, r->p, len);
	s[len] = '\0';
	r->p += len;
	if (n)
		*n = len;
	return s;
}

static void get_list(struct rd *r, char **v, int *n)
{
	uint64_t k, cnt = get_u64(r);

	if (cnt > FINDING_MAX_AFFECTED) {
		r->bad = 1;
		return;
	}
	for (k = 0; k < cnt && !r->bad; k++) {
		v[k] = get_str(r, NULL);
		if (!v[k])
			r->bad = 1;
		else
			*n = (int)k + 1;
	}
}

static void get_sbuf(struct rd *r, struct sbuf *sb)
{
	size_t n = 0;
	char *s = get_str(r, &n);

	if (!s) {
		r->bad = 1;
		return;
	}
	if (n)
		sbuf_add(sb, s, n);
	free(s);
}

int detect_import(struct detect_ctx *dc, const uint8_t *p, size_t n)
{
	struct rd r = { p, p + n, 0 };

	while (r.p < r.end && !r.bad) {
		uint64_t i = get_u64(&r), nf = get_u64(&r), j;
		size_t nb = 0;
		char *bits;

		if (r.bad || i >= ndetectors || !dc->remote[i])
			return -1;
		for (j = 0; j < nf && !r.bad; j++) {
			struct finding *f = finding_new(&dc->imported[i], detectors[i]->name, 0);
			uint64_t nev;

			f->severity = (int)get_u64(&r);
			f->first = (ts_t)get_u64(&r);
			f->last = (ts_t)get_u64(&r);
			f->count = get_u64(&r);
			f->summary = get_str(&r, NULL);
			f->explanation = get_str(&r, NULL);
			f->fix = get_str(&r, NULL);
			get_list(&r, f->servers, &f->nservers);
			get_list(&r, f->clients, &f->nclients);
			get_list(&r, f->names, &f->nnames);
			get_list(&r, f->ifaces, &f->nifaces);
			get_sbuf(&r, &f->details);
			get_sbuf(&r, &f->json);
			nev = get_u64(&r);
			if (nev > FINDING_MAX_EVIDENCE ||
			    nev * sizeof(f->ev[0]) > (uint64_t)(r.end - r.p)) {
				r.bad = 1;
				break;
			}
			memcpy(f->ev, r.p, nev * sizeof(f->ev[0]));
			f->nev = (int)nev;
			r.p += nev * sizeof(f->ev[0]);
		}
		bits = get_str(&r, &nb);
		if (r.bad || !bits)
			return -1;
		free(dc->tags[i].bits);
		dc->tags[i].bits = (uint8_t *)bits;
		dc->tags[i].nbits = (uint64_t)nb * 8;
	}
	return r.bad ? -1 : 0;
}
