/*
 * tests/fuzz/fuzz.h: what the libFuzzer targets share: an analysis run with
 * small caps (so one input can reach every eviction path, and a run costs
 * microseconds rather than the megabytes the default tables take), and a
 * check that text meant for a terminal holds no raw control bytes.
 */
#ifndef DNSVET_FUZZ_H
#define DNSVET_FUZZ_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "input.h"
#include "report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Caps low enough that a few packets fill every table. */
static inline void fuzz_opts(struct analysis_opts *o)
{
	analysis_opts_init(o);
	decode_set_ports(&o->dcfg, "53,8053");
	o->dcfg.frag_max = 4;
	o->dcfg.tcp_max = 4;
	o->dcfg.frag_timeout = 2 * NS_PER_SEC;
	o->dcfg.tcp_timeout = 5 * NS_PER_SEC;
	o->mcfg.max_txns = 8;
	o->mcfg.max_lookups = 8;
	o->mcfg.window = 1 * NS_PER_SEC;
	o->no_progress = 1;
}

/* Abort (a finding for the fuzzer) if text for people holds a byte a
 * terminal could take as a control sequence. */
static inline void fuzz_check_printable(const char *what, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
			fprintf(stderr, "raw byte 0x%02x at %zu in %s\n", c, i, what);
			abort();
		}
	}
}

/* Render both reports into memory and check them. */
static inline void fuzz_reports(struct analysis *a)
{
	struct report_opts ro = { .top = 10, .color = 0 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	f = open_memstream(&buf, &len);
	if (!f)
		abort();
	report_text(f, a, &ro);
	report_json(f, a, &ro);
	fclose(f);
	fuzz_check_printable("report", buf, len);
	free(buf);
}

#endif
