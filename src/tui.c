/*
 * tui.c: the monitor's screen: terminal set-up, layout (header, tabs, view,
 * footer), keys, colours, the pager and the escaping of everything drawn.
 * See tui.h, which also has the checklist for adding a view.
 *
 * Drawing is cheap and stateless: tui_draw() erases and redraws the whole
 * screen from the data (curses sends only what changed), so a resize, a
 * new filter or new data all take the same path. The command decides when
 * to draw (at most a few times a second).
 */
#include "config.h"
#include "tui.h"
#include "names.h"

#include <curses.h>
#include <errno.h>
#include <inttypes.h>
#include <langinfo.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const struct tui_view *const tui_views[TUI_NVIEWS] = {
	&tui_view_findings, &tui_view_servers, &tui_view_clients,
	&tui_view_names,    &tui_view_tx,      &tui_view_timeline,
};

/* ---- tables ---------------------------------------------------------------- */

static size_t text_add(struct tui_table *tb, const char *s)
{
	size_t off = tb->text.len;

	sbuf_add(&tb->text, s, strlen(s) + 1);
	return off;
}

struct tui_row *tui_row_add(struct tui_table *tb, int style, long ref, const char *key)
{
	struct tui_row *r;
	int i;

	if (tb->n == tb->alloc) {
		tb->alloc = tb->alloc ? tb->alloc * 2 : 64;
		tb->rows = xrealloc(tb->rows, tb->alloc * sizeof(*tb->rows));
	}
	r = &tb->rows[tb->n++];
	if (!tb->text.len)
		sbuf_addch(&tb->text, '\0'); /* offset 0: the empty string */
	for (i = 0; i < TUI_MAXCOLS; i++)
		r->cell[i] = 0;
	r->style = style;
	r->ref = ref;
	r->key = text_add(tb, key ? key : "");
	return r;
}

void tui_cell(struct tui_table *tb, struct tui_row *r, int col, const char *fmt, ...)
{
	char buf[1200];
	va_list ap;

	if (col < 0 || col >= TUI_MAXCOLS)
		BUG("column %d out of range", col);
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	r->cell[col] = text_add(tb, buf);
}

const char *tui_text(const struct tui_table *tb, size_t off)
{
	return tb->text.buf ? tb->text.buf + off : "";
}

static void table_reset(struct tui_table *tb)
{
	tb->n = 0;
	tb->cols = NULL;
	tb->ncols = 0;
	sbuf_reset(&tb->text);
	tb->note[0] = '\0';
	tb->remark[0] = '\0';
}

/* ---- styles and drawing ------------------------------------------------------ */

enum { P_RED = 1, P_YELLOW, P_CYAN, P_MAGENTA, P_GREEN, P_HEAD };

static attr_t style_attr(const struct tui *t, int style)
{
	static const attr_t mono[TS_NSTYLES] = {
		[TS_CRIT] = A_BOLD, [TS_BAD] = A_BOLD, [TS_DIM] = A_DIM,
		[TS_HEAD] = A_REVERSE, [TS_TITLE] = A_BOLD, [TS_SEL] = A_REVERSE,
	};

	if (!t->color)
		return mono[style];
	switch (style) {
	case TS_CRIT: return COLOR_PAIR(P_RED) | A_BOLD;
	case TS_WARN: return COLOR_PAIR(P_YELLOW);
	case TS_INFO: return COLOR_PAIR(P_CYAN);
	case TS_BAD: return COLOR_PAIR(P_RED);
	case TS_RETRY: return COLOR_PAIR(P_YELLOW);
	case TS_ERR: return COLOR_PAIR(P_MAGENTA);
	case TS_DIM: return A_DIM;
	case TS_GOOD: return COLOR_PAIR(P_GREEN);
	case TS_HEAD: return COLOR_PAIR(P_HEAD) | A_BOLD;
	case TS_TITLE: return A_BOLD;
	case TS_SEL: return A_REVERSE;
	}
	return A_NORMAL;
}

/* Printable ASCII stays; every other byte becomes \xHH. */
static void escape_to(struct sbuf *sb, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p; p++) {
		if (*p >= 0x20 && *p < 0x7f)
			sbuf_addch(sb, *p);
		else
			sbuf_addf(sb, "\\x%02x", *p);
	}
}

static void put_attr(struct tui *t, int y, int x, int w, attr_t attr, const char *s)
{
	struct sbuf sb = SBUF_INIT;

	if (w <= 0 || y < 0 || y >= t->rows || x >= t->cols)
		return;
	if (x + w > t->cols)
		w = t->cols - x;
	escape_to(&sb, s);
	if (sb.len) {
		attron(attr);
		mvaddnstr(y, x, sb.buf, (int)MIN(sb.len, (size_t)w));
		attroff(attr);
	}
	sbuf_release(&sb);
}

void tui_put(struct tui *t, int y, int x, int w, int style, const char *s)
{
	put_attr(t, y, x, w, style_attr(t, style), s);
}

void tui_glyph(struct tui *t, int y, int x, int style, int reverse, const char *g)
{
	attr_t a = style_attr(t, style) | (reverse ? A_REVERSE : 0);

	if (y < 0 || y >= t->rows || x < 0 || x >= t->cols)
		return;
	attron(a);
	mvaddstr(y, x, g);
	attroff(a);
}

/* Fill a line with the style (a bar) */
static void bar(struct tui *t, int y, int style)
{
	attr_t a = style_attr(t, style);
	int x;

	attron(a);
	for (x = 0; x < t->cols; x++)
		mvaddch(y, x, ' ');
	attroff(a);
}

void tui_message(struct tui *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->msg, sizeof(t->msg), fmt, ap);
	va_end(ap);
}

/* ---- shared formatting --------------------------------------------------------- */

void tui_fmt_lat(char *buf, size_t n, uint64_t us)
{
	if (!us)
		snprintf(buf, n, "-");
	else
		fmt_dur(buf, n, (ts_t)us * NS_PER_US);
}

void tui_fmt_clock(char *buf, size_t n, ts_t t, int ms)
{
	char full[40];

	fmt_time(full, sizeof(full), t);
	if (t < 0 || strlen(full) < 26) {
		snprintf(buf, n, "-");
		return;
	}
	/* "2026-11-22 03:25:41.123456" -> "03:25:41" or "03:25:41.123" */
	snprintf(buf, n, "%.*s", ms ? 12 : 8, full + 11);
}

/* ---- filters --------------------------------------------------------------------- */

static void filter_changed(struct tui *t)
{
	int i;

	t->filter_gen++;
	for (i = 0; i < TUI_NVIEWS; i++)
		t->vs[i].top = 0;
}

void tui_filter_addr(struct tui *t, int client, const struct addr *a)
{
	char s[64];

	if (client) {
		t->filter.has_client = 1;
		t->filter.client = *a;
	} else {
		t->filter.has_server = 1;
		t->filter.server = *a;
	}
	filter_changed(t);
	addr_str(a, s, sizeof(s));
	tui_message(t, "every view now shows %s %s only (x clears)", client ? "client" : "server", s);
}

const struct kmap *tui_table_for(struct tui *t, enum mon_kind kind, int *partial)
{
	struct tui_src *src = t->src;

	if (partial)
		*partial = 0;
	if (!mon_filter_active(&t->filter))
		return &src->d->ent[kind];
	if (partial)
		*partial = src->d->pushed > MON_RING;
	if (t->ftab_ok[kind] && t->ftab_gen[kind] == src->d->gen &&
	    t->ftab_fgen[kind] == t->filter_gen && t->ftab_snap[kind] == src->snapshots)
		return &t->ftab[kind];
	if (t->ftab_ok[kind])
		mon_table_free(&t->ftab[kind]);
	mon_aggregate(src->d, &t->filter, src->a->dc, kind, &t->ftab[kind]);
	t->ftab_ok[kind] = 1;
	t->ftab_gen[kind] = src->d->gen;
	t->ftab_fgen[kind] = t->filter_gen;
	t->ftab_snap[kind] = src->snapshots;
	return &t->ftab[kind];
}

static int in_list(char *const *arr, int n, const char *s)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(arr[i], s))
			return 1;
	return 0;
}

int tui_finding_passes(const struct tui *t, const struct finding *f)
{
	const struct mon_filter *fl = &t->filter;
	char a[64];
	int i;

	if (fl->has_server && !in_list(f->servers, f->nservers, addr_str(&fl->server, a, sizeof(a))))
		return 0;
	if (fl->has_client && !in_list(f->clients, f->nclients, addr_str(&fl->client, a, sizeof(a))))
		return 0;
	if (fl->detector >= 0 && strcmp(f->detector, detectors[fl->detector]->name))
		return 0;
	if (fl->name[0]) {
		for (i = 0; i < f->nnames; i++)
			if (mon_filter_name(fl, f->names[i]))
				break;
		if (i == f->nnames)
			return 0;
	}
	return 1;
}

/* ---- set-up ---------------------------------------------------------------------- */

struct tui *tui_open(struct tui_src *src, int color, char *err, size_t errlen)
{
	struct tui *t;
	FILE *in = stdin;
	SCREEN *scr;
	const char *cs;

	if (!isatty(STDOUT_FILENO)) {
		snprintf(err, errlen, "standard output is not a terminal");
		return NULL;
	}
	if (!isatty(STDIN_FILENO)) {
		/* a capture on standard input: keys come from the terminal */
		in = fopen("/dev/tty", "r");
		if (!in) {
			snprintf(err, errlen, "no terminal to read keys from: %s", strerror(errno));
			return NULL;
		}
	}
	scr = newterm(NULL, stdout, in);
	if (!scr) {
		snprintf(err, errlen, "unable to set up the terminal (TERM='%s')",
			 getenv("TERM") ? getenv("TERM") : "");
		if (in != stdin)
			fclose(in);
		return NULL;
	}
	t = xcalloc(1, sizeof(*t));
	t->src = src;
	t->scr = scr;
	t->tty = in;
	t->filter.detector = -1;
	t->vs[TV_TX].follow = 1;
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	t->color = color && has_colors();
	if (t->color) {
		start_color();
		use_default_colors();
		init_pair(P_RED, COLOR_RED, -1);
		init_pair(P_YELLOW, COLOR_YELLOW, -1);
		init_pair(P_CYAN, COLOR_CYAN, -1);
		init_pair(P_MAGENTA, COLOR_MAGENTA, -1);
		init_pair(P_GREEN, COLOR_GREEN, -1);
		init_pair(P_HEAD, COLOR_WHITE, COLOR_BLUE);
	}
	cs = nl_langinfo(CODESET);
	t->utf8 = cs && !strcmp(cs, "UTF-8");
	getmaxyx(stdscr, t->rows, t->cols);
	return t;
}

int tui_fd(const struct tui *t)
{
	return fileno(t->tty);
}

void tui_close(struct tui *t)
{
	int i;

	if (!t)
		return;
	endwin();
	delscreen(t->scr);
	if (t->tty != stdin)
		fclose(t->tty);
	for (i = 0; i < MON_NKINDS; i++)
		if (t->ftab_ok[i])
			mon_table_free(&t->ftab[i]);
	free(t->tb.rows);
	sbuf_release(&t->tb.text);
	free(t);
}

/* ---- the layout ------------------------------------------------------------------ */

#define HEAD_ROWS 3 /* header, stats, tabs */

static int body_rows(const struct tui *t)
{
	return t->rows - HEAD_ROWS - 1;
}

static void draw_header(struct tui *t)
{
	struct tui_src *src = t->src;
	const struct match_stats *ms = matcher_stats(src->a->mt);
	int64_t now_sec = src->now / NS_PER_SEC;
	const struct stats *st = &src->a->st;
	char left[300], right[100], clock[40], p50[32], p99[32], ans[32], drops[32], line[300];
	const char *state;
	ts_t el = src->start && src->now > src->start ? src->now - src->start : 0;
	int64_t es = el / NS_PER_SEC;
	uint64_t done = ms->matched + ms->unanswered;

	if (src->paused)
		state = "PAUSED";
	else if (src->ended)
		state = "end of capture";
	else if (src->live)
		state = "live";
	else
		state = "";
	snprintf(left, sizeof(left), " dnsvet monitor  %s  %s", src->source, state);
	if (!src->live && !src->ended && !src->paused) {
		size_t n = strlen(left);

		if (src->fast)
			snprintf(left + n, sizeof(left) - n, "replaying, fast");
		else
			snprintf(left + n, sizeof(left) - n, "replaying x%g", src->speed);
	}
	tui_fmt_clock(clock, sizeof(clock), src->now, 0);
	if (es >= 3600)
		snprintf(right, sizeof(right), "%s UTC  +%" PRId64 ":%02d:%02d ", clock, es / 3600,
			 (int)(es / 60 % 60), (int)(es % 60));
	else
		snprintf(right, sizeof(right), "%s UTC  +%d:%02d ", src->now ? clock : "--:--:--",
			 (int)(es / 60), (int)(es % 60));
	bar(t, 0, TS_HEAD);
	tui_put(t, 0, 0, t->cols, TS_HEAD, left);
	if ((int)(strlen(left) + strlen(right)) < t->cols)
		tui_put(t, 0, t->cols - (int)strlen(right), (int)strlen(right), TS_HEAD, right);

	tui_fmt_lat(p50, sizeof(p50), hist_pct(&st->lat_first, 50));
	tui_fmt_lat(p99, sizeof(p99), hist_pct(&st->lat_first, 99));
	if (done)
		snprintf(ans, sizeof(ans), "%.1f%%", 100.0 * (double)ms->matched / (double)done);
	else
		snprintf(ans, sizeof(ans), "-");
	if (src->have_drops)
		snprintf(drops, sizeof(drops), "%" PRIu64, src->kernel_drops);
	else
		snprintf(drops, sizeof(drops), "-");
	snprintf(line, sizeof(line),
		 " q/s %u  a/s %u  answered %s  p50 %s  p99 %s  open %zu  drops %s",
		 mon_tl_get(&src->d->tl_all, now_sec - 1, TL_Q),
		 mon_tl_get(&src->d->tl_all, now_sec - 1, TL_A), ans, p50, p99,
		 matcher_open_txns(src->a->mt), drops);
	tui_put(t, 1, 0, t->cols, TS_NORMAL, line);
}

static int worst_severity(const struct tui *t)
{
	const struct findings *fs = t->src->findings;
	int sev = SEV_NONE;
	size_t i;

	for (i = 0; fs && i < fs->n; i++)
		if (fs->v[i].severity > sev)
			sev = fs->v[i].severity;
	return sev;
}

static void draw_tabs(struct tui *t)
{
	int i, x = 0;

	for (i = 0; i < TUI_NVIEWS; i++) {
		char label[64];
		int style = TS_NORMAL, w;

		if (i == TV_FINDINGS) {
			size_t n = t->src->findings ? t->src->findings->n : 0;
			int sev = worst_severity(t);

			snprintf(label, sizeof(label), " %d %s(%zu) ", i + 1, tui_views[i]->title, n);
			style = sev == SEV_CRITICAL ? TS_CRIT : sev == SEV_WARNING ? TS_WARN : TS_NORMAL;
		} else {
			snprintf(label, sizeof(label), " %d %s ", i + 1, tui_views[i]->title);
		}
		if (i == t->view)
			style = TS_SEL;
		w = (int)strlen(label);
		tui_put(t, 2, x, w, style, label);
		x += w;
	}
}

static void footer(struct tui *t, const struct tui_table *tb)
{
	const struct tui_view *v = tui_views[t->view];
	const struct mon_filter *fl = &t->filter;
	struct sbuf sb = SBUF_INIT;
	int y = t->rows - 1;
	char a[64];

	if (t->prompting) {
		sbuf_addf(&sb, "filter by name: %s_   (Enter: apply, Esc: cancel)", t->prompt);
		tui_put(t, y, 0, t->cols, TS_NORMAL, sb.buf);
		sbuf_release(&sb);
		return;
	}
	if (t->msg[0]) {
		tui_put(t, y, 0, t->cols, TS_TITLE, t->msg);
		return;
	}
	if (mon_filter_active(fl)) {
		sbuf_addstr(&sb, "filter:");
		if (fl->has_server)
			sbuf_addf(&sb, " server %s", addr_str(&fl->server, a, sizeof(a)));
		if (fl->has_client)
			sbuf_addf(&sb, " client %s", addr_str(&fl->client, a, sizeof(a)));
		if (fl->name[0])
			sbuf_addf(&sb, " name %s%s", fl->name_exact ? "" : "~", fl->name);
		if (fl->detector >= 0)
			sbuf_addf(&sb, " finding %s", detectors[fl->detector]->name);
		sbuf_addstr(&sb, " (x clears)  ");
	}
	if (t->pager) {
		int h = body_rows(t);

		if (t->pager_lines > h)
			sbuf_addf(&sb, "lines %d-%d of %d  ", t->pager_top + 1,
				  MIN(t->pager_top + h, t->pager_lines), t->pager_lines);
		sbuf_addf(&sb, "Esc back  %sUp/Down scroll  q quit",
			  t->pager == PG_FINDING ? "t its transactions  " : "");
	}
	else {
		if (tb && tb->remark[0])
			sbuf_addf(&sb, "%s  ", tb->remark);
		if (v->sorts)
			sbuf_addf(&sb, "sort: %s  ", v->sorts[t->vs[t->view].sort]);
		if (v->hint)
			sbuf_addf(&sb, "%s  ", v->hint);
		sbuf_addstr(&sb, "? help  q quit");
	}
	tui_put(t, y, 0, t->cols, TS_NORMAL, sb.buf);
	sbuf_release(&sb);
}

/* Keep the cursor on the row it was on (by key), within the table. */
static void place_cursor(struct tui *t, const struct tui_table *tb, int vis)
{
	struct tui_viewstate *vs = &t->vs[t->view];
	size_t i;

	if (!tb->n) {
		vs->cursor = vs->top = 0;
		return;
	}
	if (vs->follow) {
		vs->cursor = (int)tb->n - 1;
	} else if (vs->selkey[0]) {
		for (i = 0; i < tb->n; i++)
			if (!strcmp(tui_text(tb, tb->rows[i].key), vs->selkey)) {
				vs->cursor = (int)i;
				break;
			}
	}
	if (vs->cursor >= (int)tb->n)
		vs->cursor = (int)tb->n - 1;
	if (vs->cursor < 0)
		vs->cursor = 0;
	snprintf(vs->selkey, sizeof(vs->selkey), "%s", tui_text(tb, tb->rows[vs->cursor].key));
	if (vis < 1)
		vis = 1;
	if (vs->cursor < vs->top)
		vs->top = vs->cursor;
	if (vs->cursor >= vs->top + vis)
		vs->top = vs->cursor - vis + 1;
	if (vs->top > (int)tb->n - vis)
		vs->top = MAX((int)tb->n - vis, 0);
}

static void draw_table(struct tui *t, struct tui_table *tb, int y0, int h)
{
	struct tui_viewstate *vs = &t->vs[t->view];
	int x[TUI_MAXCOLS], w[TUI_MAXCOLS], fixed, i, r, ncols = tb->ncols;
	const struct tui_view *v = tui_views[t->view];

	/* a narrow terminal loses columns from the right, not the names */
	for (;;) {
		int flex = 0;

		fixed = 0;
		for (i = 0; i < ncols; i++) {
			if (tb->cols[i].width)
				fixed += tb->cols[i].width;
			else
				flex = 1;
			fixed += i ? 1 : 0;
		}
		if (ncols <= 2 || !flex || !tb->cols[ncols - 1].width || fixed + 16 <= t->cols)
			break;
		ncols--;
	}
	for (i = 0; i < ncols; i++) {
		w[i] = tb->cols[i].width ? tb->cols[i].width : MAX(t->cols - fixed, 8);
		x[i] = i ? x[i - 1] + w[i - 1] + 1 : 0;
	}
	for (i = 0; i < ncols; i++) {
		char cell[200];
		/* the sort order is named after its column ("unanswered": UNANS) */
		int sorted = v->sorts && !strncasecmp(v->sorts[vs->sort], tb->cols[i].title,
							strlen(tb->cols[i].title));
		attr_t a = style_attr(t, TS_TITLE) | (sorted ? A_UNDERLINE : 0);

		if (tb->cols[i].right)
			snprintf(cell, sizeof(cell), "%*s", w[i], tb->cols[i].title);
		else
			snprintf(cell, sizeof(cell), "%s", tb->cols[i].title);
		put_attr(t, y0, x[i], w[i], a, cell);
	}
	place_cursor(t, tb, h - 1);
	if (!tb->n) {
		tui_put(t, y0 + 2, 2, t->cols - 4, TS_DIM, tb->note);
		return;
	}
	for (r = 0; r < h - 1 && vs->top + r < (int)tb->n; r++) {
		const struct tui_row *row = &tb->rows[vs->top + r];
		int y = y0 + 1 + r, sel = vs->top + r == vs->cursor;
		attr_t a = style_attr(t, row->style) | (sel ? A_REVERSE : 0);

		if (sel)
			mvhline(y, 0, ' ' | a, t->cols);
		for (i = 0; i < ncols; i++) {
			const char *s = tui_text(tb, row->cell[i]);
			struct sbuf esc = SBUF_INIT;
			int len;

			escape_to(&esc, s);
			len = (int)esc.len;
			if (len > w[i] && w[i] > 1) {
				/* cut, and say so */
				esc.buf[w[i] - 1] = '~';
				esc.buf[w[i]] = '\0';
				len = w[i];
			}
			if (tb->cols[i].right && len < w[i])
				put_attr(t, y, x[i] + w[i] - len, len, a, esc.buf ? esc.buf : "");
			else
				put_attr(t, y, x[i], w[i], a, esc.buf ? esc.buf : "");
			sbuf_release(&esc);
		}
	}
}

/* ---- the pager --------------------------------------------------------------------- */

static const char help_text[] =
	"\037Kdnsvet monitor: keys (see dnsvet-monitor(1))\n"
	"  1-6, Tab, Shift-Tab  views: Findings, Servers, Clients, Names,\n"
	"                       Transactions, Timeline\n"
	"  Up/Down, PgUp/PgDn   move (also k/j, Home/End, g/G)\n"
	"  Enter                Findings: explanation, fix and evidence (file #frame)\n"
	"                       Servers, Clients: show only that one in every view\n"
	"                       Names: that name only; Transactions: the details\n"
	"  /                    filter by name (substring, or glob with * ?)\n"
	"  x                    clear the filters\n"
	"  s                    next sort order\n"
	"  p                    pause (a replay stops; a live capture goes on)\n"
	"  + -                  replay faster, slower\n"
	"  Left/Right           Timeline: move through the seconds\n"
	"  t                    in a finding: its transactions\n"
	"  Esc, Backspace       close this page      ? help      q quit\n"
	"\n"
	"Transactions: FL +N resent N times, r a retry of the lookup, ! in a finding.\n"
	"Timeline: q queries, a answers, u unanswered (known only when the answer\n"
	"window has passed), at the second the query was sent.\n";

static void draw_pager(struct tui *t, int y0, int h)
{
	struct sbuf sb = SBUF_INIT;
	const char *s, *e;
	int line = 0, nlines = 0, y = y0;

	switch (t->pager) {
	case PG_FINDING: tui_finding_page(t, &sb, t->cols); break;
	case PG_TXN: tui_txn_page(t, &sb, t->cols); break;
	default: sbuf_addstr(&sb, help_text); break;
	}
	for (s = sb.buf; s && *s; s = *e ? e + 1 : e, nlines++)
		for (e = s; *e && *e != '\n'; e++)
			;
	if (t->pager_top > nlines - h)
		t->pager_top = MAX(nlines - h, 0);
	if (t->pager_top < 0)
		t->pager_top = 0;
	for (s = sb.buf; s && *s && y < y0 + h; s = *e ? e + 1 : e, line++) {
		char buf[1200];
		int style = TS_NORMAL;

		for (e = s; *e && *e != '\n'; e++)
			;
		if (line < t->pager_top)
			continue;
		if (*s == '\037' && s + 1 < e) {
			/* a style marker at the start of the line (ours, never from data) */
			style = s[1] - 'A';
			if (style < 0 || style >= TS_NSTYLES)
				style = TS_NORMAL;
			s += 2;
		}
		snprintf(buf, sizeof(buf), "%.*s", (int)(e - s), s);
		tui_put(t, y++, 0, t->cols, style, buf);
	}
	t->pager_lines = nlines;
	sbuf_release(&sb);
}

void tui_open_pager(struct tui *t, int kind, const char *det, long ref)
{
	t->pager = kind;
	t->pager_det = det;
	t->pager_ref = ref;
	t->pager_top = 0;
}

/* ---- draw ---------------------------------------------------------------------------- */

void tui_draw(struct tui *t)
{
	const struct tui_view *v = tui_views[t->view];
	int h;

	getmaxyx(stdscr, t->rows, t->cols);
	erase();
	if (t->rows < 6 || t->cols < 20) {
		put_attr(t, 0, 0, t->cols, A_NORMAL, "terminal too small");
		refresh();
		return;
	}
	h = body_rows(t);
	draw_header(t);
	draw_tabs(t);
	table_reset(&t->tb);
	if (t->pager) {
		draw_pager(t, HEAD_ROWS, h);
		footer(t, NULL);
	} else if (v->build) {
		v->build(t, &t->tb);
		draw_table(t, &t->tb, HEAD_ROWS, h);
		footer(t, &t->tb);
	} else {
		v->draw(t, HEAD_ROWS, h);
		footer(t, NULL);
	}
	refresh();
}

/* ---- keys ------------------------------------------------------------------------------ */

static void move_cursor(struct tui *t, int delta, int absolute)
{
	struct tui_viewstate *vs = &t->vs[t->view];
	const struct tui_table *tb = &t->tb;
	int n = (int)tb->n;

	if (!n)
		return;
	vs->cursor = absolute ? delta : vs->cursor + delta;
	if (vs->cursor >= n)
		vs->cursor = n - 1;
	if (vs->cursor < 0)
		vs->cursor = 0;
	snprintf(vs->selkey, sizeof(vs->selkey), "%s", tui_text(tb, tb->rows[vs->cursor].key));
	if (t->view == TV_TX)
		vs->follow = vs->cursor == n - 1;
}

static void switch_view(struct tui *t, int v)
{
	t->view = (v + TUI_NVIEWS) % TUI_NVIEWS;
	t->pager = PG_NONE;
}

static void clear_filters(struct tui *t)
{
	memset(&t->filter, 0, sizeof(t->filter));
	t->filter.detector = -1;
	filter_changed(t);
}

static int prompt_key(struct tui *t, int ch)
{
	size_t n = strlen(t->prompt);

	switch (ch) {
	case 27:
		t->prompting = 0;
		break;
	case '\n': case '\r': case KEY_ENTER:
		t->prompting = 0;
		snprintf(t->filter.name, sizeof(t->filter.name), "%s", t->prompt);
		t->filter.name_exact = 0;
		filter_changed(t);
		break;
	case KEY_BACKSPACE: case 127: case 8:
		if (n)
			t->prompt[n - 1] = '\0';
		break;
	case 21: /* ^U */
		t->prompt[0] = '\0';
		break;
	default:
		if (ch >= 0x20 && ch < 0x7f && n + 1 < sizeof(t->prompt)) {
			t->prompt[n] = (char)ch;
			t->prompt[n + 1] = '\0';
		}
	}
	return TUI_ACT_DRAW;
}

static int pager_key(struct tui *t, int ch)
{
	int h = body_rows(t);

	switch (ch) {
	case 27: case KEY_BACKSPACE: case 127: case 8: case KEY_LEFT:
		t->pager = PG_NONE;
		return TUI_ACT_DRAW;
	case KEY_UP: case 'k': t->pager_top--; return TUI_ACT_DRAW;
	case KEY_DOWN: case 'j': t->pager_top++; return TUI_ACT_DRAW;
	case KEY_PPAGE: t->pager_top -= h - 1; return TUI_ACT_DRAW;
	case KEY_NPAGE: case ' ': t->pager_top += h - 1; return TUI_ACT_DRAW;
	case KEY_HOME: case 'g': t->pager_top = 0; return TUI_ACT_DRAW;
	case KEY_END: case 'G': t->pager_top = 1 << 20; return TUI_ACT_DRAW;
	case 't':
		if (t->pager == PG_FINDING && t->pager_det) {
			size_t i;

			for (i = 0; i < ndetectors; i++)
				if (!strcmp(detectors[i]->name, t->pager_det))
					t->filter.detector = (int)i;
			filter_changed(t);
			t->pager = PG_NONE;
			t->view = TV_TX;
			t->vs[TV_TX].follow = 1;
			return TUI_ACT_DRAW;
		}
		return 0;
	}
	return -1; /* not a pager key */
}

static int one_key(struct tui *t, int ch)
{
	const struct tui_view *v = tui_views[t->view];
	struct tui_viewstate *vs = &t->vs[t->view];
	int h = body_rows(t) - 1, r;

	if (ch == KEY_RESIZE) {
		getmaxyx(stdscr, t->rows, t->cols);
		return TUI_ACT_DRAW;
	}
	if (t->prompting)
		return prompt_key(t, ch);
	t->msg[0] = '\0';
	switch (ch) {
	case 'q': case 'Q': return TUI_ACT_QUIT;
	case 'p': case 'P': return TUI_ACT_PAUSE | TUI_ACT_DRAW;
	case '+': case '=': return TUI_ACT_FASTER | TUI_ACT_DRAW;
	case '-': case '_': return TUI_ACT_SLOWER | TUI_ACT_DRAW;
	case '?': case KEY_F(1):
		tui_open_pager(t, PG_HELP, NULL, 0);
		return TUI_ACT_DRAW;
	case 12: /* ^L */
		clearok(curscr, TRUE);
		return TUI_ACT_DRAW;
	case '\t': switch_view(t, t->view + 1); return TUI_ACT_DRAW;
	case KEY_BTAB: switch_view(t, t->view - 1); return TUI_ACT_DRAW;
	case '/':
		t->prompting = 1;
		snprintf(t->prompt, sizeof(t->prompt), "%s", t->filter.name_exact ? "" : t->filter.name);
		return TUI_ACT_DRAW;
	case 'x': case 'X':
		clear_filters(t);
		tui_message(t, "filters cleared");
		return TUI_ACT_DRAW;
	}
	if (ch >= '1' && ch < '1' + TUI_NVIEWS) {
		switch_view(t, ch - '1');
		return TUI_ACT_DRAW;
	}
	if (t->pager) {
		r = pager_key(t, ch);
		return r < 0 ? 0 : r;
	}
	if (v->key && v->key(t, ch))
		return TUI_ACT_DRAW;
	if (v->build) {
		/* act on the rows as they are now, not as last drawn (an
		 * earlier key in the same batch may have switched views) */
		table_reset(&t->tb);
		v->build(t, &t->tb);
		place_cursor(t, &t->tb, h);
	}
	switch (ch) {
	case 27:
		if (mon_filter_active(&t->filter)) {
			clear_filters(t);
			tui_message(t, "filters cleared");
		}
		return TUI_ACT_DRAW;
	case 's': case 'S':
		if (v->sorts) {
			vs->sort++;
			if (!v->sorts[vs->sort])
				vs->sort = 0;
		}
		return TUI_ACT_DRAW;
	case KEY_UP: case 'k': move_cursor(t, -1, 0); return TUI_ACT_DRAW;
	case KEY_DOWN: case 'j': move_cursor(t, 1, 0); return TUI_ACT_DRAW;
	case KEY_PPAGE: move_cursor(t, -h, 0); return TUI_ACT_DRAW;
	case KEY_NPAGE: case ' ': move_cursor(t, h, 0); return TUI_ACT_DRAW;
	case KEY_HOME: case 'g': move_cursor(t, 0, 1); return TUI_ACT_DRAW;
	case KEY_END: case 'G': move_cursor(t, (int)t->tb.n - 1, 1); return TUI_ACT_DRAW;
	case '\n': case '\r': case KEY_ENTER:
		if (v->enter && vs->cursor < (int)t->tb.n)
			v->enter(t, &t->tb, &t->tb.rows[vs->cursor]);
		return TUI_ACT_DRAW;
	}
	return 0;
}

int tui_keys(struct tui *t)
{
	int ch, act = 0, n = 0;

	while (n++ < 64 && (ch = getch()) != ERR) {
		act |= one_key(t, ch);
		if (act & TUI_ACT_QUIT)
			break;
	}
	return act;
}
