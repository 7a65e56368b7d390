/*
 * cmd-report.c: dnsvet report: the offline post-mortem of captures.
 */
#include "config.h"
#include "cmd.h"
#include "report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char cmd_report_usage[] =
	"usage: dnsvet report [OPTIONS] FILE...\n"
	"\n"
	"Read pcap/pcapng captures (a rotated series in order, '-' for stdin) and\n"
	"report counts, latency, rcodes, top talkers, decode problems and findings.\n"
	"\n"
	"  -r FILE               read FILE (may repeat; same as a FILE argument)\n"
	"  -w OUT                write the report to OUT instead of stdout\n"
	"  --json                one JSON document (schema in dnsvet-report(1))\n"
	"  --top N               rows in each top-N table (default 10)\n"
	"  --color / --no-color  colour the findings (default: if a terminal)\n"
	ANALYSIS_HELP
	"  -h, --help            this help\n"
	"\n"
	"Exit status: 0 ok (also for a truncated file: a warning says where it\n"
	"stopped), 2 usage error or a file that is not a capture.\n";

enum { OPT_JSON = OPT_ANALYSIS_LAST + 1, OPT_TOP, OPT_COLOR, OPT_NO_COLOR };

int cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "color", no_argument, NULL, OPT_COLOR },
		{ "no-color", no_argument, NULL, OPT_NO_COLOR },
		{ "help", no_argument, NULL, 'h' },
		ANALYSIS_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct analysis_opts o;
	struct analysis a;
	struct report_opts ro = { .top = 10, .color = -1 };
	char **paths = NULL, *out_path = NULL;
	int npaths = 0, json = 0, c, rc, i;
	FILE *out = stdout;

	analysis_opts_init(&o);
	while ((c = getopt_long(argc, argv, "hr:w:j:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(cmd_report_usage, stdout);
			return EXIT_OK;
		case 'r':
			paths = analysis_add_path(paths, &npaths, optarg);
			break;
		case 'w':
			out_path = optarg;
			break;
		case OPT_JSON:
			json = 1;
			break;
		case OPT_TOP:
			ro.top = atoi(optarg);
			if (ro.top < 1)
				die("--top: '%s' is not a positive number", optarg);
			break;
		case OPT_COLOR:
			ro.color = 1;
			break;
		case OPT_NO_COLOR:
			ro.color = 0;
			break;
		case 'j':
			c = OPT_JOBS;
			/* fall through */
		default:
			rc = analysis_option(&o, c, optarg);
			if (rc == 0)
				break;
			if (rc > 0)
				fputs(cmd_report_usage, stderr);
			return EXIT_USAGE;
		}
	}
	for (i = optind; i < argc; i++) {
		paths = analysis_add_path(paths, &npaths, argv[i]);
	}
	if (!npaths) {
		error("no capture file given");
		fputs(cmd_report_usage, stderr);
		return EXIT_USAGE;
	}
	if (out_path) {
		out = fopen(out_path, "w");
		if (!out)
			die("unable to write '%s': %s", out_path, strerror(errno));
	}
	if (ro.color < 0)
		ro.color = !out_path && isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
	analysis_init(&a, &o, paths, npaths);
	if (analysis_run(&a) < 0) {
		analysis_release(&a);
		analysis_opts_free(&o);
		free(paths);
		return EXIT_USAGE;
	}
	if (json)
		report_json(out, &a, &ro);
	else
		report_text(out, &a, &ro);
	rc = EXIT_OK;
	if (fflush(out) || ferror(out)) {
		error("writing the report failed: %s", strerror(errno));
		rc = EXIT_USAGE;
	}
	if (out != stdout)
		fclose(out);
	analysis_release(&a);
	analysis_opts_free(&o);
	free(paths);
	return rc;
}
