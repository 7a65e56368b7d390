/*
 * tui-view-timeline.c: the Timeline view: for each server, one column per
 * second, three rows: queries sent (q), answers (a) and queries that went
 * unanswered (u), newest second on the right. Each server is scaled to its
 * own busiest second, so the shape is what matters: a rate plateau (answers
 * flat at a ceiling while queries are above it) is a flat row, a 5-second
 * stall is a 5-column hole in the answers.
 *
 * Unanswered queries are only known once their answer window has passed,
 * so the u row fills in that long after the fact, at the second the query
 * was sent. Left/Right move a cursor through the seconds and the numbers
 * on the right are that second's.
 */
#include "config.h"
#include "tui.h"

#include <curses.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define LABEL_W 16
#define VAL_W 7
#define MAX_ENTS 512

static const char *const sorts[] = { "queries", "unanswered", "address", NULL };

static const char *const ascii_levels[9] = { " ", ".", ":", "-", "=", "+", "*", "#", "@" };
static const char *const utf8_levels[9] = { " ", "\u2581", "\u2582", "\u2583", "\u2584",
					    "\u2585", "\u2586", "\u2587", "\u2588" };

struct tl_ent {
	char label[64];
	const uint8_t *key; /* NULL: "all" or "other" */
	size_t klen;
	const struct mon_tl *tl;
	uint64_t sumq, sumu;
	int order; /* all first, other last */
};

static int sort_by;

static int cmp_ent(const void *a, const void *b)
{
	const struct tl_ent *x = a, *y = b;

	if (x->order != y->order)
		return x->order - y->order;
	if (sort_by == 0 && x->sumq != y->sumq)
		return x->sumq < y->sumq ? 1 : -1;
	if (sort_by == 1 && x->sumu != y->sumu)
		return x->sumu < y->sumu ? 1 : -1;
	if (x->klen != y->klen)
		return x->klen < y->klen ? -1 : 1;
	return x->key && y->key ? memcmp(x->key, y->key, x->klen) : 0;
}

static int width_cells(const struct tui *t)
{
	return MAX(t->cols - LABEL_W - 2 - VAL_W - 1, 10);
}

static void window_sums(struct tl_ent *e, int64_t now_sec, int w)
{
	int i;

	e->sumq = e->sumu = 0;
	for (i = 0; i < w; i++) {
		e->sumq += mon_tl_get(e->tl, now_sec - i, TL_Q);
		e->sumu += mon_tl_get(e->tl, now_sec - i, TL_U);
	}
}

/* The rows to show: the filtered client or server, or every server. */
static size_t collect(struct tui *t, struct tl_ent *ents, int64_t now_sec, int w)
{
	const struct mon_data *d = t->src->d;
	const struct mon_filter *f = &t->filter;
	uint8_t k[17];
	size_t n = 0, i;
	char a[64];

	memset(ents, 0, MAX_ENTS * sizeof(*ents));
	if (f->has_client || f->has_server) {
		const struct addr *ad = f->has_client ? &f->client : &f->server;
		const struct mon_tl *tl = kmap_find(f->has_client ? &d->tl_clients : &d->tl_servers, k,
						    mon_addr_key(ad, k));

		if (tl) {
			snprintf(ents[0].label, sizeof(ents[0].label), "%s", addr_str(ad, a, sizeof(a)));
			ents[0].tl = tl;
			n = 1;
		}
	} else {
		struct kmap_ent **e = kmap_entries(&d->tl_servers);

		for (i = 0; i < d->tl_servers.count && n < MAX_ENTS - 2; i++) {
			struct addr ad;

			mon_key_addr(e[i]->key, e[i]->klen, &ad);
			snprintf(ents[n].label, sizeof(ents[n].label), "%s", addr_str(&ad, a, sizeof(a)));
			ents[n].key = e[i]->key;
			ents[n].klen = e[i]->klen;
			ents[n].tl = kmap_val(e[i]);
			ents[n++].order = 1;
		}
		free(e);
		if (d->tl_servers.other) {
			snprintf(ents[n].label, sizeof(ents[n].label), "(others)");
			ents[n].tl = d->tl_servers.other;
			ents[n++].order = 2;
		}
		if (n > 1) {
			snprintf(ents[n].label, sizeof(ents[n].label), "all servers");
			ents[n].tl = &d->tl_all;
			ents[n++].order = 0;
		}
	}
	for (i = 0; i < n; i++)
		window_sums(&ents[i], now_sec, w);
	sort_by = t->vs[TV_TIMELINE].sort;
	qsort(ents, n, sizeof(*ents), cmp_ent);
	return n;
}

static void draw(struct tui *t, int y0, int h)
{
	struct tui_viewstate *vs = &t->vs[TV_TIMELINE];
	const char *const *lv = t->utf8 ? utf8_levels : ascii_levels;
	static const char *const rowname[TL_NCOLS] = { "q", "a", "u" };
	static const int rowstyle[TL_NCOLS] = { TS_NORMAL, TS_GOOD, TS_BAD };
	int w = width_cells(t), per = MAX((h - 1) / 3, 1), i, c, r;
	int64_t now_sec = t->src->now / NS_PER_SEC;
	struct tl_ent *ents;
	char buf[200], tm[40];
	size_t n;

	if (!t->src->now) {
		tui_put(t, y0 + 1, 2, t->cols - 4, TS_DIM, "No traffic yet.");
		return;
	}
	if (vs->aux >= w)
		vs->aux = w - 1;
	if (vs->aux < 0)
		vs->aux = 0;
	ents = xmalloc(MAX_ENTS * sizeof(*ents));
	n = collect(t, ents, now_sec, w);
	if (vs->cursor >= (int)n)
		vs->cursor = MAX((int)n - 1, 0);
	if (vs->cursor < vs->top)
		vs->top = vs->cursor;
	if (vs->cursor >= vs->top + per)
		vs->top = vs->cursor - per + 1;

	/* the axis: seconds back from the newest, and the cursor's time */
	tui_fmt_clock(tm, sizeof(tm), (now_sec - vs->aux) * NS_PER_SEC, 0);
	snprintf(buf, sizeof(buf), "at %s", tm);
	tui_put(t, y0, 0, LABEL_W, TS_TITLE, buf);
	for (c = 0; c < w; c++) {
		int back = w - 1 - c;
		char lab[16];
		int len;

		if (back % 10)
			continue;
		snprintf(lab, sizeof(lab), back ? "-%ds" : "now", back);
		len = (int)strlen(lab);
		if (c - len + 1 >= 0)
			tui_put(t, y0, LABEL_W + 2 + c - len + 1, len, TS_TITLE, lab);
	}
	snprintf(buf, sizeof(buf), "%*s", VAL_W, "per s");
	tui_put(t, y0, LABEL_W + 2 + w + 1, VAL_W, TS_TITLE, buf);
	if (!n)
		tui_put(t, y0 + 2, 2, t->cols - 4, TS_DIM, "No traffic for this filter (x clears it).");

	for (i = vs->top; i < (int)n && i < vs->top + per; i++) {
		const struct tl_ent *e = &ents[i];
		int y = y0 + 1 + (i - vs->top) * 3;
		uint32_t max = 1;

		for (c = 0; c < w; c++)
			for (r = 0; r < TL_NCOLS; r++)
				max = MAX(max, mon_tl_get(e->tl, now_sec - (w - 1 - c), r));
		tui_put(t, y, 0, LABEL_W, i == vs->cursor ? TS_SEL : TS_TITLE, e->label);
		snprintf(buf, sizeof(buf), "  top %u/s", max);
		tui_put(t, y + 1, 0, LABEL_W, TS_DIM, buf);
		if (e->sumu) {
			snprintf(buf, sizeof(buf), "  %" PRIu64 " unans", e->sumu);
			tui_put(t, y + 2, 0, LABEL_W, TS_BAD, buf);
		}
		for (r = 0; r < TL_NCOLS; r++) {
			tui_put(t, y + r, LABEL_W, 2, rowstyle[r], rowname[r]);
			for (c = 0; c < w; c++) {
				uint32_t v = mon_tl_get(e->tl, now_sec - (w - 1 - c), r);
				int level = v ? (int)(((uint64_t)v * 8 + max - 1) / max) : 0;

				tui_glyph(t, y + r, LABEL_W + 2 + c, rowstyle[r],
					  vs->aux && c == w - 1 - vs->aux, lv[MIN(level, 8)]);
			}
			snprintf(buf, sizeof(buf), "%*u", VAL_W,
				 mon_tl_get(e->tl, now_sec - vs->aux, r));
			tui_put(t, y + r, LABEL_W + 2 + w + 1, VAL_W, rowstyle[r], buf);
		}
	}
	free(ents);
}

static int key(struct tui *t, int ch)
{
	struct tui_viewstate *vs = &t->vs[TV_TIMELINE];
	int w = width_cells(t);

	switch (ch) {
	case KEY_LEFT: case 'h': vs->aux = MIN(vs->aux + 1, w - 1); return 1;
	case KEY_RIGHT: case 'l': vs->aux = MAX(vs->aux - 1, 0); return 1;
	case KEY_HOME: case 'g': vs->aux = w - 1; return 1;
	case KEY_END: case 'G': vs->aux = 0; return 1;
	case KEY_UP: case 'k': vs->cursor = MAX(vs->cursor - 1, 0); return 1;
	case KEY_DOWN: case 'j': vs->cursor++; return 1;
	case '\n': case '\r': case KEY_ENTER: {
		struct tl_ent *ents;
		size_t n;

		if (t->filter.has_client || t->filter.has_server)
			return 1;
		ents = xmalloc(MAX_ENTS * sizeof(*ents));
		n = collect(t, ents, t->src->now / NS_PER_SEC, w);
		if (vs->cursor < (int)n && ents[vs->cursor].key) {
			struct addr a;

			mon_key_addr(ents[vs->cursor].key, ents[vs->cursor].klen, &a);
			tui_filter_addr(t, 0, &a);
		}
		free(ents);
		return 1;
	}
	}
	return 0;
}

const struct tui_view tui_view_timeline = {
	.title = "Timeline",
	.sorts = sorts,
	.hint = "Left/Right seconds  Enter filter",
	.draw = draw,
	.key = key,
};
