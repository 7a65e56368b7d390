/*
 * tui-view-servers.c: the Servers view: per server, the query rate, the
 * transactions, the answered share, the unanswered, latency percentiles
 * and the rcodes that matter. Enter shows only that server in every view.
 *
 * The table code is shared with the Clients view (tui_entity_build), which
 * differs only in its key and in showing retransmissions instead of other
 * error rcodes.
 */
#include "config.h"
#include "tui.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROWS 2000

static const char *const sorts[] = { "txns", "q/s", "unanswered", "p99", "servfail",
				     "server", NULL };

static const struct tui_col srv_cols[] = {
	{ "SERVER", 0, 0 }, { "Q/S", 5, 1 },   { "TXNS", 7, 1 },  { "ANS%", 6, 1 },
	{ "UNANS", 6, 1 },  { "P50", 7, 1 },   { "P99", 7, 1 },   { "SERVF", 5, 1 },
	{ "NXDOM", 6, 1 },  { "ERR", 4, 1 },
};

static const struct tui_col cli_cols[] = {
	{ "CLIENT", 0, 0 }, { "Q/S", 5, 1 },   { "TXNS", 7, 1 },  { "ANS%", 6, 1 },
	{ "UNANS", 6, 1 },  { "P50", 7, 1 },   { "P99", 7, 1 },   { "SERVF", 5, 1 },
	{ "NXDOM", 6, 1 },  { "RETR", 4, 1 },
};

struct erow {
	const uint8_t *key;
	size_t klen;
	const struct mon_ent *e;
	uint32_t rate;
	uint64_t p99;
};

static int sort_by;

static int cmp_addr(const struct erow *x, const struct erow *y)
{
	if (!x->key || !y->key)
		return x->key ? -1 : y->key ? 1 : 0; /* "other" last */
	if (x->klen != y->klen)
		return x->klen < y->klen ? -1 : 1; /* IPv4 before IPv6 */
	return memcmp(x->key, y->key, x->klen);
}

#define DESC(a, b) ((a) < (b) ? 1 : (a) > (b) ? -1 : 0)

static int cmp_erow(const void *a, const void *b)
{
	const struct erow *x = a, *y = b;
	int c = 0;

	switch (sort_by) {
	case 0: c = DESC(x->e->txns, y->e->txns); break;
	case 1: c = DESC(x->rate, y->rate); break;
	case 2: c = DESC(x->e->unanswered, y->e->unanswered); break;
	case 3: c = DESC(x->p99, y->p99); break;
	case 4: c = DESC(x->e->rcodes[2], y->e->rcodes[2]); break;
	}
	return c ? c : cmp_addr(x, y);
}

void tui_entity_build(struct tui *t, struct tui_table *tb, enum mon_kind kind)
{
	int partial, client = kind == MON_CLIENTS;
	const struct kmap *m = tui_table_for(t, kind, &partial);
	struct kmap_ent **ents = kmap_entries(m);
	int64_t now_sec = t->src->now / NS_PER_SEC;
	size_t n = 0, i;
	struct erow *rows = xmalloc((m->count + 1) * sizeof(*rows));

	tb->cols = client ? cli_cols : srv_cols;
	tb->ncols = (int)ARRAY_SIZE(srv_cols);
	for (i = 0; i < m->count; i++) {
		rows[n].key = ents[i]->key;
		rows[n].klen = ents[i]->klen;
		rows[n++].e = kmap_val(ents[i]);
	}
	if (m->other) {
		rows[n].key = NULL;
		rows[n].klen = 0;
		rows[n++].e = m->other;
	}
	for (i = 0; i < n; i++) {
		rows[i].rate = mon_ent_rate(rows[i].e, now_sec);
		rows[i].p99 = lhist_pct(rows[i].e->lat, 99);
	}
	sort_by = t->vs[t->view].sort;
	qsort(rows, n, sizeof(*rows), cmp_erow);
	for (i = 0; i < n && i < MAX_ROWS; i++) {
		const struct mon_ent *e = rows[i].e;
		uint64_t done = e->answered + e->unanswered, other = 0;
		char name[64], ans[16], p50[32], p99[32];
		struct tui_row *r;
		int k;

		if (rows[i].key) {
			struct addr a;

			mon_key_addr(rows[i].key, rows[i].klen, &a);
			addr_str(&a, name, sizeof(name));
		} else {
			snprintf(name, sizeof(name), "(others)");
		}
		for (k = 0; k < 16; k++)
			if (k != 0 && k != 2 && k != 3)
				other += e->rcodes[k];
		if (done)
			snprintf(ans, sizeof(ans), "%.1f", 100.0 * (double)e->answered / (double)done);
		else
			snprintf(ans, sizeof(ans), "-");
		tui_fmt_lat(p50, sizeof(p50), lhist_pct(e->lat, 50));
		tui_fmt_lat(p99, sizeof(p99), rows[i].p99);
		r = tui_row_add(tb, e->unanswered ? TS_BAD : e->rcodes[2] || other ? TS_ERR : TS_NORMAL,
				0, name);
		tui_cell(tb, r, 0, "%s", name);
		tui_cell(tb, r, 1, "%u", rows[i].rate);
		tui_cell(tb, r, 2, "%" PRIu64, e->txns);
		tui_cell(tb, r, 3, "%s", ans);
		tui_cell(tb, r, 4, "%" PRIu64, e->unanswered);
		tui_cell(tb, r, 5, "%s", p50);
		tui_cell(tb, r, 6, "%s", p99);
		tui_cell(tb, r, 7, "%" PRIu64, e->rcodes[2]);
		tui_cell(tb, r, 8, "%" PRIu64, e->rcodes[3]);
		tui_cell(tb, r, 9, "%" PRIu64, client ? e->retrans : other);
	}
	if (n > MAX_ROWS)
		snprintf(tb->remark, sizeof(tb->remark), "top %d of %zu", MAX_ROWS, n);
	else if (partial)
		snprintf(tb->remark, sizeof(tb->remark), "last %d txns", MON_RING);
	snprintf(tb->note, sizeof(tb->note), "No %s yet%s.", client ? "clients" : "servers",
		 mon_filter_active(&t->filter) ? " under this filter (x clears it)" : "");
	free(rows);
	free(ents);
}

void tui_entity_enter(struct tui *t, const struct tui_table *tb, const struct tui_row *r)
{
	struct addr a;

	if (addr_parse(tui_text(tb, r->key), &a))
		return; /* "(others)" */
	tui_filter_addr(t, t->view == TV_CLIENTS, &a);
}

static void build(struct tui *t, struct tui_table *tb)
{
	tui_entity_build(t, tb, MON_SERVERS);
}

const struct tui_view tui_view_servers = {
	.title = "Servers",
	.sorts = sorts,
	.hint = "Enter filter",
	.build = build,
	.enter = tui_entity_enter,
};
