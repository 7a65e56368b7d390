/*
 * report.h: the offline report, as text for people and JSON for tools.
 *
 * The JSON schema (version 1) is documented in dnsvet-report(1); it is
 * stable: fields are only ever added.
 */
#ifndef DNSVET_REPORT_H
#define DNSVET_REPORT_H

#include <stdio.h>
#include "analyze.h"

struct report_opts {
	int top; /* rows in the top-N tables */
	int color;
};

void report_text(FILE *out, struct analysis *a, const struct report_opts *ro);
void report_json(FILE *out, struct analysis *a, const struct report_opts *ro);

/* Shared with check and monitor. */
void report_finding_text(struct sbuf *sb, const struct finding *f, int color);
void report_finding_json(struct sbuf *sb, const struct finding *f);
void report_summary_json(struct sbuf *sb, struct analysis *a);
/* "KEY": {"file": ..., "frame": N}, or "KEY": null without a frame */
void report_frame_json(struct sbuf *sb, const char *key, struct frameref fr);

#endif
