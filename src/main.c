/*
 * main.c: dnsvet CMD [ARGS]: dispatch to the subcommand table in cmd.c.
 */
#include "config.h"
#include "cmd.h"
#include "util.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *fp)
{
	const struct cmd *c;

	fprintf(fp, "usage: dnsvet COMMAND [OPTIONS] [FILE...]\n\n"
		    "DNS capture analyzer: pairs queries with answers and explains what is wrong.\n\n"
		    "Commands:\n");
	for (c = cmd_table; c->name; c++)
		fprintf(fp, "  %-10s %s\n", c->name, c->summary);
	fprintf(fp, "\n  dnsvet help COMMAND    options of a command (also: dnsvet COMMAND --help)\n"
		    "  dnsvet --version\n\n"
		    "Exit status: 0 ok, 1 check failed, 2 usage error or unreadable input.\n"
		    "See dnsvet(1) and dnsvet-detectors(7).\n");
}

int main(int argc, char **argv)
{
	const struct cmd *c;

	setlocale(LC_CTYPE, "");
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("dnsvet %s\n", PACKAGE_VERSION);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "help")) {
		if (argc < 3) {
			usage(stdout);
			return EXIT_OK;
		}
		c = cmd_find(argv[2]);
		if (!c) {
			error("'%s' is not a dnsvet command; see 'dnsvet --help'", argv[2]);
			return EXIT_USAGE;
		}
		cmd_usage(c, 0);
		return EXIT_OK;
	}
	c = cmd_find(argv[1]);
	if (!c) {
		error("'%s' is not a dnsvet command; see 'dnsvet --help'", argv[1]);
		return EXIT_USAGE;
	}
	return c->fn(argc - 1, argv + 1);
}
