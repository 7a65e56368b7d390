/*
 * tui-view-tx.c: the Transactions view, a live tail of finished
 * transactions (newest at the bottom), unanswered ones and retried ones
 * highlighted, and a transaction's page (addresses, ports, id, frames,
 * the findings it belongs to).
 *
 * A transaction appears when it finishes: an answered one when its answer
 * arrives, an unanswered one only when its answer window has passed, so it
 * shows up among later ones with its own (earlier) time. The view keeps to
 * the newest MAX_ROWS transactions of the ring that pass the filter.
 */
#include "config.h"
#include "tui.h"
#include "names.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROWS 1000

static const char *const sorts[] = { "arrival", "time", NULL };

static const struct tui_col cols[] = {
	{ "TIME", 12, 0 }, { "CLIENT", 15, 0 }, { "TYPE", 5, 0 },  { "NAME", 0, 0 },
	{ "RESULT", 10, 0 }, { "LAT", 7, 1 },   { "FL", 3, 0 },
};

static const struct tui_col wide_cols[] = {
	{ "TIME", 12, 0 }, { "CLIENT", 15, 0 }, { "SERVER", 15, 0 }, { "TYPE", 5, 0 },
	{ "NAME", 0, 0 }, { "RESULT", 10, 0 }, { "LAT", 7, 1 },	    { "FL", 3, 0 },
};

static const char *result_str(const struct mon_txn *x)
{
	switch (x->status) {
	case TXN_ANSWERED: return rcode_str(DNS_RCODE(x->resp_flags));
	case TXN_UNANSWERED: return "UNANSWERED";
	case TXN_OPEN_AT_END: return "OPEN-END";
	default: return "?";
	}
}

static int txn_style(const struct mon_txn *x)
{
	if (x->status == TXN_UNANSWERED)
		return TS_BAD;
	if (x->status == TXN_OPEN_AT_END)
		return TS_DIM;
	if (x->retried)
		return TS_RETRY;
	if (DNS_RCODE(x->resp_flags) != RCODE_NOERROR && DNS_RCODE(x->resp_flags) != RCODE_NXDOMAIN)
		return TS_ERR;
	return TS_NORMAL;
}

static int cmp_time(const void *a, const void *b)
{
	const struct mon_txn *x = *(const struct mon_txn *const *)a;
	const struct mon_txn *y = *(const struct mon_txn *const *)b;

	if (x->first_ts != y->first_ts)
		return x->first_ts < y->first_ts ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void build(struct tui *t, struct tui_table *tb)
{
	const struct mon_data *d = t->src->d;
	const struct mon_txn **sel = xmalloc(MAX_ROWS * sizeof(*sel));
	uint32_t count = mon_ring_count(d), i, n = 0;
	int wide = t->cols >= 110, c;

	tb->cols = wide ? wide_cols : cols;
	tb->ncols = wide ? (int)ARRAY_SIZE(wide_cols) : (int)ARRAY_SIZE(cols);
	/* newest first, then put them back in order */
	for (i = count; i-- > 0 && n < MAX_ROWS;) {
		const struct mon_txn *x = mon_ring_get(d, i);

		if (mon_filter_txn(&t->filter, x, t->src->a->dc))
			sel[n++] = x;
	}
	for (i = 0; i < n / 2; i++) {
		const struct mon_txn *tmp = sel[i];

		sel[i] = sel[n - 1 - i];
		sel[n - 1 - i] = tmp;
	}
	if (t->vs[TV_TX].sort == 1)
		qsort(sel, n, sizeof(*sel), cmp_time);
	for (i = 0; i < n; i++) {
		const struct mon_txn *x = sel[i];
		char key[32], tm[40], a[64], name[1100], lat[32], fl[16];
		struct tui_row *r;

		snprintf(key, sizeof(key), "%" PRIu64, x->ring_no);
		r = tui_row_add(tb, txn_style(x), (long)x->ring_no, key);
		c = 0;
		tui_fmt_clock(tm, sizeof(tm), x->first_ts, 1);
		tui_cell(tb, r, c++, "%s", tm);
		tui_cell(tb, r, c++, "%s", addr_str(&x->client, a, sizeof(a)));
		if (wide)
			tui_cell(tb, r, c++, "%s", addr_str(&x->server, a, sizeof(a)));
		tui_cell(tb, r, c++, "%s", qtype_str(x->qtype));
		tui_cell(tb, r, c++, "%s", name_str(x->qname, name, sizeof(name)));
		tui_cell(tb, r, c++, "%s", result_str(x));
		if (x->status == TXN_ANSWERED)
			fmt_dur(lat, sizeof(lat), x->resp_ts - x->first_ts);
		else
			snprintf(lat, sizeof(lat), "-");
		tui_cell(tb, r, c++, "%s", lat);
		fl[0] = '\0';
		if (x->retrans)
			snprintf(fl, sizeof(fl), "+%u", MIN(x->retrans, 9u));
		else if (x->lookup_txns > 1)
			snprintf(fl, sizeof(fl), "r");
		if (detect_tags(t->src->a->dc, x->seq))
			strcat(fl, "!");
		tui_cell(tb, r, c++, "%s", fl);
	}
	snprintf(tb->note, sizeof(tb->note), "No transactions %s.",
		 mon_filter_active(&t->filter) ? "under this filter (x clears it)"
					       : "have finished yet");
	if (n == MAX_ROWS)
		snprintf(tb->remark, sizeof(tb->remark), "newest %d", MAX_ROWS);
	free(sel);
}

static void enter(struct tui *t, const struct tui_table *tb, const struct tui_row *r)
{
	(void)tb;
	tui_open_pager(t, PG_TXN, NULL, r->ref);
}

void tui_txn_page(struct tui *t, struct sbuf *sb, int width)
{
	const struct mon_data *d = t->src->d;
	uint32_t count = mon_ring_count(d);
	uint64_t oldest = d->pushed - count + 1;
	const struct mon_txn *x;
	char t1[40], t2[40], c[64], s[64], name[1100], lat[32];
	uint32_t tags;
	const char *ifn;
	size_t i;
	int first = 1;

	(void)width;
	if ((uint64_t)t->pager_ref < oldest || (uint64_t)t->pager_ref > d->pushed) {
		sbuf_addstr(sb, "This transaction is no longer kept (Esc goes back).\n");
		return;
	}
	x = mon_ring_get(d, (uint32_t)((uint64_t)t->pager_ref - oldest));
	tags = detect_tags(t->src->a->dc, x->seq);
	fmt_time(t1, sizeof(t1), x->first_ts);
	fmt_time(t2, sizeof(t2), x->last_ts);
	sbuf_addf(sb, "\037%cTransaction %" PRIu64 "\n", 'A' + txn_style(x), x->seq);
	sbuf_addf(sb, "  question     %s? %s\n", qtype_str(x->qtype),
		  name_str(x->qname, name, sizeof(name)));
	sbuf_addf(sb, "  client       %s port %u\n", addr_str(&x->client, c, sizeof(c)), x->cport);
	sbuf_addf(sb, "  server       %s port %u, %s, id %u\n", addr_str(&x->server, s, sizeof(s)),
		  x->sport, x->proto == 6 ? "TCP" : "UDP", x->id);
	sbuf_addf(sb, "  first query  %s UTC\n", t1);
	if (x->retrans)
		sbuf_addf(sb, "  last resent  %s UTC (%u retransmission%s)\n", t2, x->retrans,
			  x->retrans == 1 ? "" : "s");
	switch (x->status) {
	case TXN_ANSWERED:
		fmt_dur(lat, sizeof(lat), x->resp_ts - x->first_ts);
		sbuf_addf(sb, "  result       %s%s after %s\n", rcode_str(DNS_RCODE(x->resp_flags)),
			  DNS_TC(x->resp_flags) ? " (truncated, TC)" : "", lat);
		break;
	case TXN_UNANSWERED:
		sbuf_addstr(sb, "  result       no answer within the answer window\n");
		break;
	default:
		sbuf_addstr(sb, "  result       still open when the capture ended\n");
	}
	if (x->lookup_txns > 1)
		sbuf_addf(sb, "  lookup       %u transactions so far (retried with a new id, "
			  "port or server)\n", x->lookup_txns);
	ifn = iface_name(x->ifindex);
	if (ifn)
		sbuf_addf(sb, "  interface    %s\n", ifn);
	sbuf_addf(sb, "  frames       %s #%u (query)", input_file_name(x->qframe.file),
		  x->qframe.frame);
	if (x->status == TXN_ANSWERED && x->rframe.frame) {
		if (x->rframe.file != x->qframe.file)
			sbuf_addf(sb, " -> %s", input_file_name(x->rframe.file));
		sbuf_addf(sb, " -> #%u (response)", x->rframe.frame);
	}
	sbuf_addch(sb, '\n');
	sbuf_addstr(sb, "  findings     ");
	for (i = 0; i < ndetectors; i++)
		if (tags >> i & 1) {
			sbuf_addf(sb, "%s%s", first ? "" : ", ", detectors[i]->name);
			first = 0;
		}
	sbuf_addstr(sb, first ? "none\n" : "\n");
}

const struct tui_view tui_view_tx = {
	.title = "Transactions",
	.sorts = sorts,
	.hint = "Enter details",
	.build = build,
	.enter = enter,
};
