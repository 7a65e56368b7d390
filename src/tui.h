/*
 * tui.h: dnsvet monitor's screen: layout, keys, colours, escaping, and the
 * registry of views (one file each: tui-view-*.c).
 *
 * The screen is ncursesw, drawn only when the command asks (at most a few
 * times a second, and not at all when nothing changed): a two-line header,
 * a row of tabs, the current view, and a footer for filters, prompts and
 * hints. Everything drawn goes through tui_put(), which shows any byte that
 * is not printable ASCII as \xHH: names are already in ldns presentation
 * form (\DDD), so nothing from the wire reaches the terminal as a control
 * sequence.
 *
 * How to add a view (the whole checklist):
 *  1. Write src/tui-view-foo.c exporting one `const struct tui_view
 *     tui_view_foo`: a table view fills a struct tui_table in .build (rows
 *     of cells, each row with a style and a key that identifies it), and
 *     may act on Enter in .enter; a free-form view draws itself in .draw
 *     and takes its own keys in .key.
 *  2. Declare it below and add it to tui_views[] in tui.c (its place there
 *     is its number key).
 *  3. Add the file to Makefile.am (src_dnsvet_SOURCES).
 *  4. Add a screen for it to tests/monitor.sh and regenerate with
 *     tests/update-screens.sh; describe it in man/dnsvet-monitor.1.
 */
#ifndef DNSVET_TUI_H
#define DNSVET_TUI_H

#include "analyze.h"
#include "tui-data.h"

/* What the monitor shows: filled in by cmd-monitor.c, read by the views. */
struct tui_src {
	struct analysis *a;
	struct mon_data *d;
	struct findings *findings; /* the latest snapshot */
	uint64_t snapshots;	   /* bumped with each snapshot (tags may move) */
	const char *source;	   /* "replay x.pcap", "live eth0" */
	ts_t now;		   /* the view clock: capture time in a replay */
	ts_t start;		   /* when the data starts (first packet) */
	int live, ended, paused, fast;
	double speed;
	int have_drops;
	uint64_t kernel_drops;
};

enum tui_style {
	TS_NORMAL, TS_CRIT, TS_WARN, TS_INFO, TS_BAD, TS_RETRY, TS_ERR, TS_DIM, TS_GOOD,
	TS_HEAD, TS_TITLE, TS_SEL, TS_NSTYLES
};

/* ---- tables ---------------------------------------------------------------- */

#define TUI_MAXCOLS 12

struct tui_col {
	const char *title;
	int width; /* 0: takes the width left over (one column per table) */
	int right; /* right-aligned */
};

struct tui_row {
	size_t cell[TUI_MAXCOLS]; /* offsets into the table's text */
	size_t key;		  /* the row's identity: the cursor follows it */
	int style;
	long ref; /* the view's own: an index, a ring number */
};

struct tui_table {
	const struct tui_col *cols;
	int ncols;
	struct tui_row *rows;
	size_t n, alloc;
	struct sbuf text;
	char note[200]; /* shown when there are no rows */
	char remark[120]; /* footer remark (e.g. "4 findings hidden by the filter") */
};

/* Start a row; cells are empty until set. The pointer is valid until the
 * next tui_row_add. */
struct tui_row *tui_row_add(struct tui_table *tb, int style, long ref, const char *key);
void tui_cell(struct tui_table *tb, struct tui_row *r, int col, const char *fmt, ...)
	PRINTF(4, 5);
const char *tui_text(const struct tui_table *tb, size_t off);

/* ---- views ----------------------------------------------------------------- */

struct tui;

struct tui_view {
	const char *title;	  /* the tab */
	const char *const *sorts; /* names of the sort orders (NULL-terminated) */
	const char *hint;	  /* footer hint for this view */
	void (*build)(struct tui *t, struct tui_table *tb);
	void (*enter)(struct tui *t, const struct tui_table *tb, const struct tui_row *r);
	void (*draw)(struct tui *t, int y0, int h);
	int (*key)(struct tui *t, int ch); /* 1 if the key was taken */
};

extern const struct tui_view tui_view_findings, tui_view_servers, tui_view_clients,
	tui_view_names, tui_view_tx, tui_view_timeline;

enum { TV_FINDINGS, TV_SERVERS, TV_CLIENTS, TV_NAMES, TV_TX, TV_TIMELINE, TUI_NVIEWS };

struct tui_viewstate {
	int cursor, top;
	int sort;
	char selkey[300]; /* key of the selected row */
	int follow;	  /* stay on the newest row (transactions) */
	int aux;	  /* the view's own (timeline: seconds back) */
};

/* A page of text over the view: a finding's detail, a transaction, help. */
enum { PG_NONE, PG_FINDING, PG_TXN, PG_HELP };

struct tui {
	struct tui_src *src;
	int view;
	struct tui_viewstate vs[TUI_NVIEWS];
	struct mon_filter filter;
	int color, utf8;
	int rows, cols;
	/* the page */
	int pager, pager_top, pager_lines;
	const char *pager_det; /* PG_FINDING: detector, and which of its findings */
	long pager_ref;	       /* PG_FINDING: occurrence; PG_TXN: ring number */
	/* the "/" prompt */
	int prompting;
	char prompt[256];
	char msg[200];
	struct tui_table tb;
	/* filtered tables, recomputed from the ring when the data moved */
	struct kmap ftab[MON_NKINDS];
	int ftab_ok[MON_NKINDS];
	uint64_t ftab_gen[MON_NKINDS], ftab_fgen[MON_NKINDS], ftab_snap[MON_NKINDS];
	uint64_t filter_gen;
	void *scr;  /* SCREEN * */
	FILE *tty;  /* keyboard */
};

/* Actions tui_keys() asks of the command, as a bit mask. */
enum {
	TUI_ACT_QUIT = 1, TUI_ACT_PAUSE = 2, TUI_ACT_FASTER = 4, TUI_ACT_SLOWER = 8,
	TUI_ACT_DRAW = 16, /* the screen changed: draw now */
};

/* Set up the terminal (stdout; keys from stdin or /dev/tty). NULL, with a
 * message in err, when there is no usable terminal. */
struct tui *tui_open(struct tui_src *src, int color, char *err, size_t errlen);
int tui_fd(const struct tui *t); /* poll() this for keys */
int tui_keys(struct tui *t);	 /* read pending keys; TUI_ACT_* mask */
void tui_draw(struct tui *t);
void tui_close(struct tui *t);

/* ---- for views --------------------------------------------------------------- */

/* Draw s at (y, x), clipped to w cells, unprintable bytes as \xHH. */
void tui_put(struct tui *t, int y, int x, int w, int style, const char *s);
/* Draw a glyph the program chose itself (a timeline block; UTF-8 allowed). */
void tui_glyph(struct tui *t, int y, int x, int style, int reverse, const char *g);
/* The table behind kind: the live one, or recomputed from the ring when a
 * filter is set (then *partial says the ring has wrapped). */
const struct kmap *tui_table_for(struct tui *t, enum mon_kind kind, int *partial);
/* Set a filter on a server or a client (from Enter on a row). */
void tui_filter_addr(struct tui *t, int client, const struct addr *a);
void tui_open_pager(struct tui *t, int kind, const char *det, long ref);
/* Footer message until the next key. */
void tui_message(struct tui *t, const char *fmt, ...) PRINTF(2, 3);

/* Shared by the views. */
void tui_fmt_lat(char *buf, size_t n, uint64_t us); /* "-" when 0 */
void tui_fmt_clock(char *buf, size_t n, ts_t t, int ms); /* "03:25:41[.123]" UTC */
/* entity tables, shared by servers and clients */
void tui_entity_build(struct tui *t, struct tui_table *tb, enum mon_kind kind);
void tui_entity_enter(struct tui *t, const struct tui_table *tb, const struct tui_row *r);
/* the pages */
void tui_finding_page(struct tui *t, struct sbuf *sb, int width);
void tui_txn_page(struct tui *t, struct sbuf *sb, int width);
/* Does finding f pass the filter? */
int tui_finding_passes(const struct tui *t, const struct finding *f);

#endif
