/*
 * analyze-pipe.c: `-j N`, the analysis as a pipeline of processes.
 *
 *   decode (child)    capture files -> struct dnsmsg             --chan-->
 *   match  (child)    messages -> finished transactions, lookups --chan-->
 *   report (parent)   statistics, detectors, sinks (tx prints here)
 *
 * -j 3 (or more) runs these three; -j 2 runs two: decode and match in
 * one, report in the other. Most of the work is in the detectors, so -j 2
 * also runs some of them (stage12_detectors) in the decoding and matching
 * process, which sends their findings and tags back at the end
 * (detect_export); the reporting process runs the others. -j 3 keeps them
 * all in the reporting process, which makes it the slowest stage: with two
 * cores, -j 2 is the one to use.
 *
 * Each stage does what it does in a single process, on the same data in
 * the same order: the matcher gets the same messages, and the statistics,
 * the detectors and the sinks get the same transactions and lookups (with
 * their sequence numbers, and each transaction with the state of its
 * lookup at the time). So every output is identical to -j 1 by
 * construction, for any input (one file, a rotated series, stdin), and
 * there is nothing to stitch at file boundaries.
 *
 * Why not N workers each matching a part of a rotated series: a query
 * near the end of one part can be answered, retransmitted or retried in the
 * next, so a worker's results near its start depend on the state the
 * previous part left, which is only known once that part is done. Getting
 * that exactly right (sequence numbers, lookups spanning parts, duplicate
 * answers, the order in which transactions finish) needs a replay of every
 * affected message and a fallback for the cases the replay cannot repair.
 * A pipeline is exact without any of it; it gains less (below).
 *
 * What it gains (the 2 M-packet trace of make bench cut in 4 files, every
 * detector on, wall time, 8 alternating rounds on the shared 2-core
 * machine, 2026-12-03): -j 2 takes 1.69 times less time than -j 1
 * (median of the rounds' ratios; 1.53 in the same rounds before names
 * crossed by number, below; seven make bench runs that day gave medians
 * from 1.64 to 1.88, and three after the look-ahead of analyze.c, which
 * made both -j 1 and this pipeline faster, 1.45 to 1.76; six in the
 * evening, once the clients were numbered here and the channel had
 * grown to 8 MB (chan.c), 1.75 to 1.95); -j 3 is slower than -j 2. The
 * two processes use more CPU between them than one does: every
 * transaction crosses from one core to the other as a 230-byte record
 * (with its lookup's state) and every finished lookup as a 130-byte
 * one, and the two share the caches and the memory bus. (Not the bytes
 * themselves: sending the 97 % of lookups that repeat their last
 * transaction's as a reference, 104 MB less, changed nothing;
 * tests/bench/NOTES.md.) Without detectors the pipeline barely pays
 * (1.1 times): matching and statistics are then most of the time, and
 * they stay in one process each.
 *
 * Matching in parallel, by client address (a transaction and a lookup
 * belong to one client; the clock, the sequence numbers and the order of
 * finished transactions restored when the partitions are merged), would
 * not help two processes while the detectors are two thirds of the work:
 * both would read and decode every packet, and since the detectors need
 * every transaction in order, the two halves of the stream would cross
 * both ways. Estimated from the CPU of each part (2026-12-03: read and
 * decode 0.3 s, matching 0.6, statistics 0.35, detectors 1.9), each
 * process would take about 1.9 s, against 1.6 to 1.8 now: about 1.6
 * times -j 1 instead of 1.7 to 1.8. It is the way to more than two
 * cores, not to a better -j 2; for that, the crossing (2 to 11 % more
 * CPU in all, make bench) and the balance of the two halves are what is
 * left.
 */
#include "config.h"
#include "analyze.h"
#include "chan.h"
#include "detect.h"
#include "msgbuf.h"
#include "names.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum {
	R_MSG = 1,  /* a struct dnsmsg record (msgbuf.h) */
	R_IFACE,    /* an interface the decoder named: struct iface_rec */
	R_END1,     /* decoder done: struct end_rec */
	R_TXN,	    /* a finished transaction (and its lookup): struct obj_rec */
	R_LOOKUP,   /* a finished lookup: struct obj_rec */
	R_END2,	    /* matcher done: struct end_rec */
	R_DETECT,   /* -j 2: a piece of detect_export()'s bytes */
	R_NAME,	    /* a name the records after it refer to by id: struct name_def */
	R_NAME_GONE, /* the matching process freed the name with this id: uint32_t */
};

struct iface_rec {
	int32_t id;
	char name[]; /* NUL-terminated */
};

struct end_rec {
	struct input_stats in;
	struct decode_stats dec;
	struct match_stats mst; /* R_END2 only */
	int32_t rc;
};

/*
 * DNSVET_JOBS_TIMES=1 in the environment: each process of -j says on
 * stderr how much CPU it used, so make bench (and whoever moves a detector
 * between the processes above) can see the balance, not just the sum, and
 * when it was done (seconds since the start), so the time the reporting
 * process needs after the other has finished shows too.
 */
static struct timespec pipe_t0; /* when analysis_run_pipe() started */

static void stage_times(const char *stage)
{
	struct rusage ru;
	struct timespec now;

	if (!getenv("DNSVET_JOBS_TIMES") || getrusage(RUSAGE_SELF, &ru) < 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	fprintf(stderr, "dnsvet: -j: %s: %.3f s CPU, done at %.3f s\n", stage,
		(double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
			(double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
		(double)(now.tv_sec - pipe_t0.tv_sec) + (now.tv_nsec - pipe_t0.tv_nsec) / 1e9);
}

/*
 * A transaction or lookup travels without the head of its struct (the
 * matcher's hash chain and age list, and the name and lookup pointers:
 * meaningless in another process; the name goes by number, below) and a
 * lookup without the send times it does not use (they are last in struct
 * lookup): about 230 bytes for a transaction with its lookup instead of
 * 430, and 130 for a lookup. Writing and reading them is much of what
 * -j costs (see the top).
 */
#define TXN_OFF offsetof(struct txn, seq)
#define TXN_BYTES (sizeof(struct txn) - TXN_OFF)
#define LOOKUP_OFF offsetof(struct lookup, seq)

/* the fields up to the send times, then nsend_ts send times in a row */
#define LOOKUP_FIXED (offsetof(struct lookup, send_off_us) - LOOKUP_OFF)

static size_t lookup_bytes(const struct lookup *l)
{
	return LOOKUP_FIXED + l->nsend_ts * sizeof(uint32_t);
}

static void lookup_put(uint8_t *p, const struct lookup *l)
{
	unsigned k;

	memcpy(p, (const char *)l + LOOKUP_OFF, LOOKUP_FIXED);
	p += LOOKUP_FIXED;
	for (k = 0; k < l->nsend_ts; k++, p += sizeof(uint32_t)) {
		uint32_t us = lookup_send_off(l, k);

		memcpy(p, &us, sizeof(us));
	}
}

/* The reverse, into l (zeroed); send times past the inline ones go to
 * more (LOOKUP_MAX_SENDS - LOOKUP_INLINE_SENDS of them). */
static void lookup_get(struct lookup *l, uint32_t *more, const uint8_t *p, size_t len)
{
	unsigned k;

	memcpy((char *)l + LOOKUP_OFF, p, LOOKUP_FIXED);
	p += LOOKUP_FIXED;
	if (l->nsend_ts > LOOKUP_MAX_SENDS || len != lookup_bytes(l))
		BUG("-j: a lookup record of %zu bytes", len);
	for (k = 0; k < l->nsend_ts; k++, p += sizeof(uint32_t))
		memcpy(k < LOOKUP_INLINE_SENDS ? &l->send_off_us[k] : &more[k - LOOKUP_INLINE_SENDS],
		       p, sizeof(uint32_t));
	l->send_more = l->nsend_ts > LOOKUP_INLINE_SENDS ? more : NULL;
}

/* TXN_BYTES of the txn (R_TXN only), then lbytes of the lookup (if any) */
struct obj_rec {
	uint32_t qname;	 /* the id of an R_NAME sent before */
	uint32_t client; /* detect_event_client(), given here (below) */
	uint16_t lbytes; /* 0: no lookup */
	uint16_t pad[3];
	uint8_t data[];
};

/*
 * Names cross by number. The matching process sends a name's bytes once,
 * with a number of its own choosing (R_NAME), when a record first refers
 * to it, and the number's end when it frees the name (R_NAME_GONE, from
 * the names.c free hook), after which the number may be given to another
 * name. The reporting process interns the name at R_NAME and keeps it
 * under its number until R_NAME_GONE, so a record's name is an array
 * read. With the name's bytes in every record and a cache of names on the
 * reporting side, finding the name was 3.6 % of both processes' time and
 * interning 1.3 % (perf, bench trace cut in 4, -j 2).
 *
 * The number lives in the name's aux slot (names.h) under an owner of its
 * own; nothing else in the matching process uses that slot (the
 * statistics, which do, run in the reporting process). If something did,
 * the name would get a new number and the old one would stay taken: more
 * memory, the same results.
 */
struct name_def {
	uint64_t hash;
	uint32_t id;
	uint8_t len;
	uint8_t wire[];
};

struct name_tx {
	struct chan *out;
	uint32_t owner; /* name_aux owner: the aux slot holds the number */
	uint32_t next;	/* numbers given so far (0 is none) */
	uint32_t *free; /* numbers given back, to reuse first */
	size_t nfree, afree;
};

static uint32_t name_send(struct name_tx *nt, struct name *n)
{
	uintptr_t id = (uintptr_t)name_aux(n, nt->owner);
	struct name_def *d;

	if (LIKELY(id))
		return (uint32_t)id;
	if (nt->nfree)
		id = nt->free[--nt->nfree];
	else if (nt->next < UINT32_MAX)
		id = ++nt->next;
	else
		BUG("-j: out of name numbers");
	name_set_aux(n, nt->owner, (void *)id);
	d = chan_put(nt->out, R_NAME, sizeof(*d) + n->len);
	d->hash = n->hash;
	d->id = (uint32_t)id;
	d->len = n->len;
	memcpy(d->wire, n->wire, n->len);
	return (uint32_t)id;
}

/* names.c calls this just before it frees a name */
static void name_gone(struct name *n, void *ctx)
{
	struct name_tx *nt = ctx;
	uintptr_t id = (uintptr_t)name_aux(n, nt->owner);

	if (!id)
		return; /* never sent */
	memcpy(chan_put(nt->out, R_NAME_GONE, sizeof(uint32_t)), &(uint32_t){ (uint32_t)id },
	       sizeof(uint32_t));
	if (nt->nfree == nt->afree) {
		nt->afree = nt->afree ? 2 * nt->afree : 1024;
		nt->free = xrealloc(nt->free, nt->afree * sizeof(*nt->free));
	}
	nt->free[nt->nfree++] = (uint32_t)id;
}

static void name_tx_start(struct name_tx *nt, struct chan *out)
{
	memset(nt, 0, sizeof(*nt));
	nt->out = out;
	nt->owner = name_aux_owner();
	name_on_free(name_gone, nt);
}

/* before the channel closes: names freed later are nobody's business */
static void name_tx_stop(struct name_tx *nt)
{
	name_on_free(NULL, NULL);
	free(nt->free);
	nt->free = NULL;
}

/* ---- stage 1: decode ---------------------------------------------------- */

struct decode_stage {
	struct analysis *a;
	struct chan *out;
	struct matcher *mt; /* -j 2: the matcher runs in this process too */
	struct name_tx nt;  /* -j 2 */
	int ifaces_sent;
	ts_t last_progress;
};

/* Tell the next stages about interfaces named since the last message, in
 * order, so that their tables give every name the same number. */
static void send_ifaces(struct decode_stage *ds)
{
	while (ds->ifaces_sent < iface_count()) {
		const char *name = iface_name(ds->ifaces_sent);
		size_t n = strlen(name) + 1;
		struct iface_rec *r = chan_put(ds->out, R_IFACE, sizeof(*r) + n);

		r->id = ds->ifaces_sent++;
		memcpy(r->name, name, n);
	}
}

static void stage1_msg(void *ctx, const struct dnsmsg *m)
{
	struct decode_stage *ds = ctx;

	if (UNLIKELY(ds->ifaces_sent < iface_count()))
		send_ifaces(ds);
	msg_rec_put(chan_put(ds->out, R_MSG, msg_rec_size(m)), m);
}

static void stage1_progress(struct decode_stage *ds, int final)
{
	struct timespec now;
	ts_t t;

	clock_gettime(CLOCK_MONOTONIC, &now);
	t = (ts_t)now.tv_sec * NS_PER_SEC + now.tv_nsec;
	if (!final && t - ds->last_progress < NS_PER_SEC / 4)
		return;
	ds->last_progress = t;
	fprintf(stderr, "\rdnsvet: %.1f M packets%s", (double)ds->a->in.st.packets / 1e6,
		final ? "\n" : "   ");
}

static void stage1_pkt(void *ctx, struct pkt *p)
{
	struct decode_stage *ds = ctx;
	struct analysis *a = ds->a;

	decode_pkt(&a->dec, p);
	if (a->in.progress && !(a->in.st.packets & 0xffff))
		stage1_progress(ds, 0);
	/* as analysis_pkt(): expire fragments and idle TCP streams */
	if (!(a->in.st.packets & 0x3ff)) {
		frag_expire(&a->dec, a->dec.now, 0);
		tcp_expire(&a->dec, a->dec.now, 0);
	}
}

static void NORETURN run_decode(struct analysis *a, struct chan *out)
{
	struct decode_stage ds = { .a = a, .out = out };
	struct end_rec *end;
	int rc;

	a->dec.fn = stage1_msg;
	a->dec.hint = NULL; /* the matcher is in another process */
	a->dec.ctx = &ds;
	a->in.stop = a->stop;
	rc = input_run(&a->in, stage1_pkt, &ds);
	if (a->in.progress)
		stage1_progress(&ds, 1);
	decoder_finish(&a->dec);
	send_ifaces(&ds);
	end = chan_put(out, R_END1, sizeof(*end));
	memset(end, 0, sizeof(*end));
	end->in = a->in.st;
	end->dec = a->dec.st;
	end->rc = rc;
	chan_finish(out);
	stage_times("decode");
	_exit(0);
}

/* ---- stage 2: match ------------------------------------------------------ */

static void *obj_put(struct name_tx *nt, uint32_t type, struct name *qname, uint32_t client,
		     const struct txn *t, const struct lookup *l)
{
	size_t lb = l ? lookup_bytes(l) : 0, tb = t ? TXN_BYTES : 0;
	uint32_t id = name_send(nt, qname); /* its R_NAME goes first */
	struct obj_rec *r = chan_put(nt->out, type, sizeof(*r) + tb + lb);
	uint8_t *p = r->data;

	r->qname = id;
	r->client = client;
	r->lbytes = (uint16_t)lb;
	memset(r->pad, 0, sizeof(r->pad));
	if (t)
		memcpy(p, (const char *)t + TXN_OFF, tb);
	if (l)
		lookup_put(p + tb, l);
	return r;
}

/*
 * The matching process numbers the clients (detect_event_client(), in the
 * order the transactions and lookups leave the matcher, as the reporting
 * process would hand them on) and sends the numbers: the reporting
 * process, then the busier one, is spared a hash lookup per event, two
 * with the look-ahead's peek of the time. Its table of numbers stays
 * empty. Bench trace cut in 4, 8 alternating rounds (2026-12-03): the
 * reporting process 1.47 s of CPU instead of 1.62, the matching one
 * 1.57 instead of 1.60 (it numbered most of them already, for
 * serial-fallback).
 */
struct match_stage {
	struct name_tx nt;
	struct detect_ctx *dc; /* its table of client numbers */
};

static void stage2_txn(void *ctx, const struct txn *t)
{
	struct match_stage *ms = ctx;

	obj_put(&ms->nt, R_TXN, t->qname, detect_event_client(ms->dc, &t->client, 0), t,
		t->lookup);
}

static void stage2_lookup(void *ctx, const struct lookup *l)
{
	struct match_stage *ms = ctx;

	obj_put(&ms->nt, R_LOOKUP, l->qname, detect_event_client(ms->dc, &l->client, 1), NULL, l);
}

/* ---- stages 1 and 2 in one process (-j 2) ------------------------------ */

static void stage12_msg(void *ctx, const struct dnsmsg *m)
{
	struct decode_stage *ds = ctx;

	/* interfaces before the transactions that name them, as stage 2
	 * forwards them */
	if (UNLIKELY(ds->ifaces_sent < iface_count()))
		send_ifaces(ds);
	matcher_msg(ds->mt, m);
}

/*
 * -j 2 runs these detectors in the decoding and matching process, the
 * others in the reporting one, to give the two cores about the same work.
 * Chosen by DNSVET_JOBS_TIMES=1 on the bench trace (make bench prints it).
 * Once the other detectors were made smaller (2026-12-03), search-walk
 * and serial-fallback here left this process 0.27 s the busier (1.76
 * against 1.49 s, mean of 3); with search-walk moved to the reporting
 * process and unanswered and tcp-fallback here, 1.55 against 1.60, and
 * the best of 5 interleaved runs 1.72 s wall against 1.83 (-j 1: 2.79).
 * With the look-ahead in the reporting process (analyze.c, 2026-12-03),
 * that process became the lighter one (about 1.6 against 1.7 s, 3
 * runs); with unanswered moved there, the two are within noise of each
 * other (1.38 to 1.69 s against 1.34 to 1.76, 6 runs). Once the
 * matching process numbered the clients for the reporting one (above),
 * this one was the busier by about 0.1 s (1.51 against 1.41, 8 rounds),
 * and tcp-fallback (0.04 s alone) moved there too. Other sets, tried on
 * the way (slow-aaaa with retry-timeout, with search-walk, rate-limit
 * with search-walk...), were no better: a detector with a .prefetch hook
 * costs more here, where there is no look-ahead.
 * Move one when a detector's cost changes.
 */
static const char *const stage12_detectors[] = { "serial-fallback", NULL };

static uint32_t stage12_mask(void)
{
	uint32_t mask = 0;
	size_t i, j;

	for (i = 0; i < ndetectors; i++)
		for (j = 0; stage12_detectors[j]; j++)
			if (!strcmp(detectors[i]->name, stage12_detectors[j]))
				mask |= 1u << i;
	return mask;
}

static void stage12_txn(void *ctx, const struct txn *t)
{
	struct decode_stage *ds = ctx;
	uint32_t client = detect_event_client(ds->a->dc, &t->client, 0);

	detect_prefetch(ds->a->dc, client); /* as analysis_txn() */
	obj_put(&ds->nt, R_TXN, t->qname, client, t, t->lookup);
	detect_txn_numbered(ds->a->dc, t, client);
}

static void stage12_lookup(void *ctx, const struct lookup *l)
{
	struct decode_stage *ds = ctx;
	uint32_t client = detect_event_client(ds->a->dc, &l->client, 1);

	obj_put(&ds->nt, R_LOOKUP, l->qname, client, NULL, l);
	detect_lookup_numbered(ds->a->dc, l, client);
}

static void stage12_hint(void *ctx, const struct dnsmsg *m, uint16_t id, int qr)
{
	struct decode_stage *ds = ctx;

	matcher_prefetch(ds->mt, m->proto, &m->src, m->sport, &m->dst, m->dport, id, qr);
	if (qr) /* as on_hint() */
		detect_client_prefetch(ds->a->dc, &m->dst);
}

static void NORETURN run_decode_match(struct analysis *a, struct chan *out)
{
	struct decode_stage ds = { .a = a, .out = out };
	struct end_rec *end;
	int rc;

	name_tx_start(&ds.nt, out);
	ds.mt = matcher_new(&a->opts->mcfg, stage12_txn, stage12_lookup, &ds);
	detect_set_local(a->dc, stage12_mask());
	a->dec.fn = stage12_msg;
	a->dec.hint = stage12_hint;
	a->dec.ctx = &ds;
	a->in.stop = a->stop;
	rc = input_run(&a->in, stage1_pkt, &ds);
	if (a->in.progress)
		stage1_progress(&ds, 1);
	decoder_finish(&a->dec);
	matcher_finish(ds.mt);
	send_ifaces(&ds);
	{
		struct sbuf sb = SBUF_INIT;
		size_t off, n;

		detect_export(a->dc, &sb);
		for (off = 0; off < sb.len; off += n) {
			n = MIN(sb.len - off, (size_t)32768);
			memcpy(chan_put(out, R_DETECT, n), sb.buf + off, n);
		}
		sbuf_release(&sb);
	}
	end = chan_put(out, R_END2, sizeof(*end));
	memset(end, 0, sizeof(*end));
	end->in = a->in.st;
	end->dec = a->dec.st;
	end->mst = *matcher_stats(ds.mt);
	end->rc = rc;
	name_tx_stop(&ds.nt);
	chan_finish(out);
	stage_times("decode+match");
	_exit(0);
}

/* Keep this process's interface table the same as the decoder's. */
static void mirror_iface(const struct iface_rec *r)
{
	if (iface_intern(r->name) != r->id)
		BUG("-j: interface '%s' got another number", r->name);
}

static void NORETURN run_match(struct analysis *a, struct chan *in, struct chan *out)
{
	struct match_stage ms = { .dc = a->dc };
	struct matcher *mt;
	void *p;
	uint32_t type;
	size_t len;

	name_tx_start(&ms.nt, out);
	mt = matcher_new(&a->opts->mcfg, stage2_txn, stage2_lookup, &ms);
	while ((p = chan_get(in, &type, &len))) {
		if (type == R_MSG) {
			matcher_msg(mt, p);
		} else if (type == R_IFACE) {
			mirror_iface(p);
			memcpy(chan_put(out, R_IFACE, len), p, len);
		} else if (type == R_END1) {
			struct end_rec *end;

			matcher_finish(mt);
			end = chan_put(out, R_END2, sizeof(*end));
			memcpy(end, p, sizeof(*end));
			end->mst = *matcher_stats(mt);
			name_tx_stop(&ms.nt);
			chan_finish(out);
			stage_times("match");
			_exit(0);
		}
	}
	_exit(1); /* the decoder died; it said why */
}

/* ---- stage 3 (this process): statistics, detectors, sinks --------------- */

/*
 * Names arrive once each (R_NAME) and are interned here under the number
 * the matching process gave them, holding a reference until R_NAME_GONE:
 * a detector may keep one longer.
 */
struct report_stage {
	struct analysis *a;
	struct name **names; /* by number */
	size_t nnames;
};

static void stage3_name_def(struct report_stage *rs, const struct name_def *d, size_t len)
{
	if (len < sizeof(*d) || len != sizeof(*d) + d->len || !d->id)
		BUG("-j: a name record of %zu bytes", len);
	if (d->id >= rs->nnames) {
		size_t n = MAX(2 * rs->nnames, (size_t)d->id + 1);

		n = MAX(n, (size_t)4096);
		rs->names = xrealloc(rs->names, n * sizeof(*rs->names));
		memset(rs->names + rs->nnames, 0, (n - rs->nnames) * sizeof(*rs->names));
		rs->nnames = n;
	}
	if (rs->names[d->id])
		BUG("-j: name number %u given twice", d->id);
	rs->names[d->id] = name_intern_hashed(d->wire, d->len, d->hash);
}

static struct name *stage3_name(struct report_stage *rs, uint32_t id)
{
	if (UNLIKELY(id >= rs->nnames || !rs->names[id]))
		BUG("-j: no name number %u", id);
	return rs->names[id];
}

static void stage3_name_gone(struct report_stage *rs, const uint32_t *id, size_t len)
{
	if (len != sizeof(*id))
		BUG("-j: a name record of %zu bytes", len);
	name_unref(stage3_name(rs, *id));
	rs->names[*id] = NULL;
}

/* Rebuild the structs of a record (the head and unused send times zero). */
static void stage3_txn(struct report_stage *rs, const struct obj_rec *r)
{
	const uint8_t *p = r->data;
	struct txn t;
	struct lookup l;
	uint32_t more[LOOKUP_MAX_SENDS - LOOKUP_INLINE_SENDS];

	memset(&t, 0, TXN_OFF);
	memcpy((char *)&t + TXN_OFF, p, TXN_BYTES);
	t.qname = stage3_name(rs, r->qname);
	t.lookup = NULL;
	if (r->lbytes) {
		memset(&l, 0, sizeof(l));
		lookup_get(&l, more, p + TXN_BYTES, r->lbytes);
		l.qname = t.qname;
		t.lookup = &l;
	}
	analysis_txn_numbered(rs->a, &t, r->client);
}

static void stage3_lookup(struct report_stage *rs, const struct obj_rec *r)
{
	struct lookup l;
	uint32_t more[LOOKUP_MAX_SENDS - LOOKUP_INLINE_SENDS];

	memset(&l, 0, sizeof(l));
	lookup_get(&l, more, r->data, r->lbytes);
	l.qname = stage3_name(rs, r->qname);
	analysis_lookup_numbered(rs->a, &l, r->client);
}

static int wait_stage(pid_t pid, const char *what)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return error("-j: waiting for the %s process: %s", what, strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFSIGNALED(status))
		return error("-j: the %s process was killed by signal %d", what, WTERMSIG(status));
	return error("-j: the %s process failed (exit status %d)", what, WEXITSTATUS(status));
}

/* This process reports what the matcher sends. */
static int run_report(struct analysis *a, struct chan *in)
{
	struct report_stage *rs = xcalloc(1, sizeof(*rs));
	struct sbuf det = SBUF_INIT;
	void *p;
	uint32_t type;
	size_t len, n;
	int rc = -2;

	rs->a = a;
	analysis_look_ahead(a);
	while (rc == -2 && (p = chan_get(in, &type, &len))) {
		switch (type) {
		case R_TXN:
			stage3_txn(rs, p);
			break;
		case R_LOOKUP:
			stage3_lookup(rs, p);
			break;
		case R_NAME:
			stage3_name_def(rs, p, len);
			break;
		case R_NAME_GONE:
			stage3_name_gone(rs, p, len);
			break;
		case R_IFACE:
			mirror_iface(p);
			break;
		case R_DETECT:
			sbuf_add(&det, p, len);
			break;
		case R_END2: {
			const struct end_rec *end = p;

			a->in.st = end->in;
			a->dec.st = end->dec;
			matcher_set_stats(a->mt, &end->mst);
			rc = end->rc;
			break;
		}
		}
	}
	analysis_flush(a); /* before the names go */
	if (rc != -2 && det.len && detect_import(a->dc, (const uint8_t *)det.buf, det.len) < 0)
		BUG("-j: the detectors' results do not read back");
	sbuf_release(&det);
	for (n = 0; n < rs->nnames; n++)
		name_unref(rs->names[n]); /* NULL is fine */
	free(rs->names);
	free(rs);
	return rc;
}

int analysis_run_pipe(struct analysis *a)
{
	struct chan *c1, *c2 = NULL;
	pid_t dec, mat = 0;
	int i, rc;

	clock_gettime(CLOCK_MONOTONIC, &pipe_t0);
	/* the report names files by index: register them as input_run would */
	for (i = 0; i < a->in.npaths; i++)
		input_register_file(i, a->in.paths[i]);
	fflush(NULL); /* nothing buffered may be written twice */
	c1 = chan_new();
	if (a->opts->jobs > 2)
		c2 = chan_new();
	dec = fork();
	if (dec < 0)
		die("-j: fork failed: %s", strerror(errno));
	if (dec == 0) {
		chan_producer(c1);
		if (!c2)
			run_decode_match(a, c1);
		chan_close(c2);
		run_decode(a, c1);
	}
	if (c2) {
		mat = fork();
		if (mat < 0)
			die("-j: fork failed: %s", strerror(errno));
		if (mat == 0) {
			chan_consumer(c1);
			chan_producer(c2);
			run_match(a, c1, c2);
		}
		chan_close(c1);
		chan_consumer(c2);
		rc = run_report(a, c2);
	} else {
		chan_consumer(c1);
		detect_set_local(a->dc, ~stage12_mask());
		rc = run_report(a, c1);
	}
	if (wait_stage(dec, "decoding") < 0 || (mat && wait_stage(mat, "matching") < 0) ||
	    rc == -2)
		die("-j: the analysis did not complete");
	chan_free(c1);
	chan_free(c2);
	detect_finish(a->dc, &a->findings);
	stage_times("report");
	return rc;
}
