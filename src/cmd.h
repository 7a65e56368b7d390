/*
 * cmd.h: the subcommand table (dnsvet CMD ...).
 *
 * To add a subcommand: write cmd-foo.c exporting `int cmd_foo(int argc,
 * char **argv)` and `const char cmd_foo_usage[]` (one screen, tcpdump-like
 * flags), add both to cmd_table[] in cmd.c, add the file to Makefile.am,
 * and write man/dnsvet-foo.1.
 */
#ifndef DNSVET_CMD_H
#define DNSVET_CMD_H

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
	const char *summary;
};

extern const struct cmd cmd_table[];
const struct cmd *cmd_find(const char *name);
/* print usage of a command to stdout (help) or stderr (error) */
void cmd_usage(const struct cmd *c, int to_stderr);

int cmd_report(int argc, char **argv);
int cmd_tx(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_capture(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
extern const char cmd_report_usage[], cmd_tx_usage[], cmd_check_usage[], cmd_capture_usage[],
	cmd_monitor_usage[];

#endif
