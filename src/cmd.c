/*
 * cmd.c: the subcommand table. See cmd.h for how to add one.
 */
#include "config.h"
#include "cmd.h"

#include <stdio.h>
#include <string.h>

const struct cmd cmd_table[] = {
	{ "report", cmd_report, cmd_report_usage, "analyse captures: counts, latency, findings" },
	{ "capture", cmd_capture, cmd_capture_usage,
	  "capture DNS live into rotating pcap files, analysing as it goes" },
	{ "tx", cmd_tx, cmd_tx_usage, "list transactions, one line each, with their findings" },
	{ "check", cmd_check, cmd_check_usage, "CI gate: test rules on captures, exit 1 if one fails" },
	{ "monitor", cmd_monitor, cmd_monitor_usage, "live view of traffic, findings and evidence (top for DNS)" },
	{ NULL, NULL, NULL, NULL },
};

const struct cmd *cmd_find(const char *name)
{
	const struct cmd *c;

	for (c = cmd_table; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

void cmd_usage(const struct cmd *c, int to_stderr)
{
	fputs(c->usage, to_stderr ? stderr : stdout);
}
