/*
 * tui-view-names.c: the Names view: per query name and type, the
 * transactions, unanswered, NXDOMAIN, SERVFAIL and latency. A slow AAAA
 * next to a fast A, or a search-list walk of NXDOMAINs before a SERVFAIL,
 * shows up here. Names are in presentation form (\DDD for any byte that is
 * not printable). Enter shows only that name in every view.
 */
#include "config.h"
#include "tui.h"
#include "names.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROWS 2000

static const char *const sorts[] = { "txns", "unanswered", "nxdomain", "servfail",
				     "max latency", "name", NULL };

static const struct tui_col cols[] = {
	{ "NAME", 0, 0 },  { "TYPE", 6, 0 },  { "TXNS", 7, 1 }, { "UNANS", 6, 1 },
	{ "NXDOM", 6, 1 }, { "SERVF", 5, 1 }, { "P50", 7, 1 },  { "MAX", 7, 1 },
};

struct nrow {
	const char *name; /* presentation form (the entry's) */
	uint16_t qtype;
	const struct mon_ent *e;
};

static int sort_by;

#define DESC(a, b) ((a) < (b) ? 1 : (a) > (b) ? -1 : 0)

static int cmp_nrow(const void *a, const void *b)
{
	const struct nrow *x = a, *y = b;
	uint64_t mx = x->e->lat ? x->e->lat->max_us : 0, my = y->e->lat ? y->e->lat->max_us : 0;
	int c = 0;

	switch (sort_by) {
	case 0: c = DESC(x->e->txns, y->e->txns); break;
	case 1: c = DESC(x->e->unanswered, y->e->unanswered); break;
	case 2: c = DESC(x->e->rcodes[3], y->e->rcodes[3]); break;
	case 3: c = DESC(x->e->rcodes[2], y->e->rcodes[2]); break;
	case 4: c = DESC(mx, my); break;
	}
	if (c)
		return c;
	c = strcmp(x->name, y->name);
	return c ? c : (x->qtype > y->qtype) - (x->qtype < y->qtype);
}

static void build(struct tui *t, struct tui_table *tb)
{
	int partial;
	const struct kmap *m = tui_table_for(t, MON_NAMES, &partial);
	struct kmap_ent **ents = kmap_entries(m);
	struct nrow *rows = xmalloc((m->count + 1) * sizeof(*rows));
	size_t n = 0, i;

	tb->cols = cols;
	tb->ncols = (int)ARRAY_SIZE(cols);
	for (i = 0; i < m->count; i++) {
		const struct mon_ent *e = kmap_val(ents[i]);

		if (ents[i]->klen < 3 || !e->text)
			continue;
		/* the live table is not filtered: do it here */
		if (!mon_filter_name(&t->filter, e->text))
			continue;
		rows[n].name = e->text;
		memcpy(&rows[n].qtype, ents[i]->key, 2);
		rows[n++].e = e;
	}
	if (m->other && !t->filter.name[0]) {
		rows[n].name = "(others)";
		rows[n].qtype = 0;
		rows[n++].e = m->other;
	}
	sort_by = t->vs[TV_NAMES].sort;
	qsort(rows, n, sizeof(*rows), cmp_nrow);
	for (i = 0; i < n && i < MAX_ROWS; i++) {
		const struct mon_ent *e = rows[i].e;
		char key[1200], p50[32], mx[32];
		struct tui_row *r;

		snprintf(key, sizeof(key), "%u %s", rows[i].qtype, rows[i].name);
		tui_fmt_lat(p50, sizeof(p50), lhist_pct(e->lat, 50));
		tui_fmt_lat(mx, sizeof(mx), e->lat ? e->lat->max_us : 0);
		r = tui_row_add(tb, e->unanswered ? TS_BAD : e->rcodes[2] ? TS_ERR : TS_NORMAL,
				rows[i].qtype, key);
		tui_cell(tb, r, 0, "%s", rows[i].name);
		tui_cell(tb, r, 1, "%s", rows[i].qtype ? qtype_str(rows[i].qtype) : "");
		tui_cell(tb, r, 2, "%" PRIu64, e->txns);
		tui_cell(tb, r, 3, "%" PRIu64, e->unanswered);
		tui_cell(tb, r, 4, "%" PRIu64, e->rcodes[3]);
		tui_cell(tb, r, 5, "%" PRIu64, e->rcodes[2]);
		tui_cell(tb, r, 6, "%s", p50);
		tui_cell(tb, r, 7, "%s", mx);
	}
	if (n > MAX_ROWS)
		snprintf(tb->remark, sizeof(tb->remark), "top %d of %zu", MAX_ROWS, n);
	else if (partial)
		snprintf(tb->remark, sizeof(tb->remark), "last %d txns", MON_RING);
	snprintf(tb->note, sizeof(tb->note), "No names yet%s.",
		 mon_filter_active(&t->filter) ? " under this filter (x clears it)" : "");
	free(rows);
	free(ents);
}

static void enter(struct tui *t, const struct tui_table *tb, const struct tui_row *r)
{
	const char *name = tui_text(tb, r->cell[0]);

	if (!r->ref)
		return; /* "(others)" */
	snprintf(t->filter.name, sizeof(t->filter.name), "%s", name);
	t->filter.name_exact = 1;
	t->filter_gen++;
	tui_message(t, "every view now shows %s only (x clears)", name);
}

const struct tui_view tui_view_names = {
	.title = "Names",
	.sorts = sorts,
	.hint = "Enter filter",
	.build = build,
	.enter = enter,
};
