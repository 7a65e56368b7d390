/*
 * tui-view-findings.c: the Findings view (severity, detector, count, last
 * seen, summary) and a finding's page (explanation, fix and the example
 * transactions with their file and frame numbers, to open in Wireshark).
 *
 * Findings come from detect_finish() snapshots the command takes now and
 * then, so any detector shows up here without this file knowing it. A
 * finding is identified across snapshots by its detector and its place
 * among that detector's findings.
 */
#include "config.h"
#include "tui.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *const sorts[] = { "severity", "count", "last", "detector", NULL };

static const struct tui_col cols[] = {
	{ "SEV", 4, 0 },
	{ "DETECTOR", 16, 0 },
	{ "COUNT", 7, 1 },
	{ "LAST", 8, 0 },
	{ "SUMMARY", 0, 0 },
};

static const char *sev_short(int sev)
{
	switch (sev) {
	case SEV_CRITICAL: return "CRIT";
	case SEV_WARNING: return "WARN";
	case SEV_INFO: return "INFO";
	default: return "-";
	}
}

static int sev_style(int sev)
{
	return sev == SEV_CRITICAL ? TS_CRIT : sev == SEV_WARNING ? TS_WARN : TS_INFO;
}

/* The occurrence of f among its detector's findings in the snapshot. */
static long occurrence(const struct findings *fs, size_t idx)
{
	long n = 0;
	size_t i;

	for (i = 0; i < idx; i++)
		if (!strcmp(fs->v[i].detector, fs->v[idx].detector))
			n++;
	return n;
}

static const struct findings *sort_fs;
static int sort_by;

static int cmp_idx(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	const struct finding *f = &sort_fs->v[x], *g = &sort_fs->v[y];
	int c = 0;

	switch (sort_by) {
	case 1: c = f->count < g->count ? 1 : f->count > g->count ? -1 : 0; break;
	case 2: c = f->last < g->last ? 1 : f->last > g->last ? -1 : 0; break;
	case 3: c = strcmp(f->detector, g->detector); break;
	}
	return c ? c : (x < y ? -1 : x > y);
}

static void build(struct tui *t, struct tui_table *tb)
{
	const struct findings *fs = t->src->findings;
	size_t *idx, i, n = 0, hidden = 0;

	tb->cols = cols;
	tb->ncols = (int)ARRAY_SIZE(cols);
	if (!fs || !fs->n) {
		snprintf(tb->note, sizeof(tb->note), "%s",
			 t->src->ended ? "No findings: nothing above the detectors' thresholds."
				       : "No findings yet.");
		return;
	}
	idx = xmalloc(fs->n * sizeof(*idx));
	for (i = 0; i < fs->n; i++) {
		if (tui_finding_passes(t, &fs->v[i]))
			idx[n++] = i;
		else
			hidden++;
	}
	sort_fs = fs;
	sort_by = t->vs[TV_FINDINGS].sort;
	qsort(idx, n, sizeof(*idx), cmp_idx);
	for (i = 0; i < n; i++) {
		const struct finding *f = &fs->v[idx[i]];
		long occ = occurrence(fs, idx[i]);
		char key[200], last[40];
		struct tui_row *r;

		snprintf(key, sizeof(key), "%s#%ld", f->detector, occ);
		r = tui_row_add(tb, sev_style(f->severity), occ, key);
		tui_cell(tb, r, 0, "%s", sev_short(f->severity));
		tui_cell(tb, r, 1, "%s", f->detector);
		tui_cell(tb, r, 2, "%" PRIu64, f->count);
		tui_fmt_clock(last, sizeof(last), f->last, 0);
		tui_cell(tb, r, 3, "%s", last);
		tui_cell(tb, r, 4, "%s", f->summary ? f->summary : "");
	}
	if (hidden)
		snprintf(tb->remark, sizeof(tb->remark), "%zu hidden by the filter", hidden);
	if (!n)
		snprintf(tb->note, sizeof(tb->note), "No findings match the filter (x clears it).");
	free(idx);
}

static void enter(struct tui *t, const struct tui_table *tb, const struct tui_row *r)
{
	const struct findings *fs = t->src->findings;
	size_t i;
	long occ = 0;

	/* the detector name must outlive the snapshot: take the registry's */
	for (i = 0; fs && i < fs->n; i++) {
		const struct finding *f = &fs->v[i];

		if (strcmp(f->detector, tui_text(tb, r->cell[1])))
			continue;
		if (occ++ == r->ref) {
			size_t k;

			for (k = 0; k < ndetectors; k++)
				if (!strcmp(detectors[k]->name, f->detector))
					tui_open_pager(t, PG_FINDING, detectors[k]->name, r->ref);
			return;
		}
	}
}

static void affected(struct sbuf *sb, const char *label, char *const *arr, int n, int width)
{
	struct sbuf line = SBUF_INIT;
	int i;

	if (!n)
		return;
	sbuf_addf(&line, "%s:", label);
	for (i = 0; i < n; i++)
		sbuf_addf(&line, " %s", arr[i]);
	sbuf_add_wrapped(sb, "  ", line.buf, width);
	sbuf_release(&line);
}

void tui_finding_page(struct tui *t, struct sbuf *sb, int width)
{
	const struct findings *fs = t->src->findings;
	const struct finding *f = NULL;
	char t1[40], t2[40];
	long occ = 0;
	size_t i;
	int k, onefile = 1;

	for (i = 0; fs && i < fs->n && !f; i++)
		if (!strcmp(fs->v[i].detector, t->pager_det) && occ++ == t->pager_ref)
			f = &fs->v[i];
	if (!f) {
		sbuf_addstr(sb, "This finding is no longer reported (Esc goes back).\n");
		return;
	}
	sbuf_addf(sb, "\037%c[%s] %s   count %" PRIu64 "\n", 'A' + sev_style(f->severity),
		  severity_str(f->severity), f->detector, f->count);
	if (f->summary)
		sbuf_add_wrapped(sb, "", f->summary, width);
	tui_fmt_clock(t1, sizeof(t1), f->first, 1);
	tui_fmt_clock(t2, sizeof(t2), f->last, 1);
	sbuf_addf(sb, "first %s  last %s UTC\n", t1, t2);
	if (f->details.len) {
		sbuf_add(sb, f->details.buf, f->details.len);
		if (f->details.buf[f->details.len - 1] != '\n')
			sbuf_addch(sb, '\n');
	}
	affected(sb, "servers", f->servers, f->nservers, width);
	affected(sb, "clients", f->clients, f->nclients, width);
	affected(sb, "names", f->names, f->nnames, width);
	affected(sb, "interfaces", f->ifaces, f->nifaces, width);
	if (f->explanation) {
		sbuf_addf(sb, "\037%cWhy:\n", 'A' + TS_TITLE);
		sbuf_add_wrapped(sb, "  ", f->explanation, width);
	}
	if (f->fix) {
		sbuf_addf(sb, "\037%cFix:\n", 'A' + TS_TITLE);
		sbuf_add_wrapped(sb, "  ", f->fix, width);
	}
	if (!f->nev)
		return;
	for (k = 1; k < f->nev; k++)
		if (f->ev[k].q.file != f->ev[0].q.file)
			onefile = 0;
	if (onefile)
		sbuf_addf(sb, "\037%cEvidence in %s (#query-frame -> #response-frame):\n", 'A' + TS_TITLE,
			  input_file_name(f->ev[0].q.file));
	else
		sbuf_addf(sb, "\037%cEvidence (file #query-frame -> #response-frame):\n", 'A' + TS_TITLE);
	for (k = 0; k < f->nev; k++) {
		const struct evidence *e = &f->ev[k];
		struct sbuf line = SBUF_INIT;

		tui_fmt_clock(t1, sizeof(t1), e->ts, 1);
		if (!onefile)
			sbuf_addf(&line, "%s ", input_file_name(e->q.file));
		sbuf_addf(&line, "#%u", e->q.frame);
		if (e->r.frame)
			sbuf_addf(&line, " -> #%u", e->r.frame);
		sbuf_addf(&line, "  %s  %s", t1, e->what);
		if ((int)line.len + 2 <= width)
			sbuf_addf(sb, "  %s\n", line.buf);
		else
			sbuf_add_wrapped(sb, "  ", line.buf, width);
		sbuf_release(&line);
	}
	sbuf_addstr(sb, "  (t: every transaction of this finding in the Tx view)\n");
}

const struct tui_view tui_view_findings = {
	.title = "Findings",
	.sorts = sorts,
	.hint = "Enter details",
	.build = build,
	.enter = enter,
};
