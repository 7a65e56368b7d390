/*
 * tui-view-clients.c: the Clients view: per client, the query rate, the
 * transactions, the unanswered, latency percentiles, SERVFAIL/NXDOMAIN and
 * retransmissions (a client that retransmits a lot is waiting on timeouts).
 * Enter shows only that client in every view. The table is the Servers
 * view's (tui_entity_build).
 */
#include "config.h"
#include "tui.h"

static const char *const sorts[] = { "txns", "q/s", "unanswered", "p99", "servfail",
				     "client", NULL };

static void build(struct tui *t, struct tui_table *tb)
{
	tui_entity_build(t, tb, MON_CLIENTS);
}

const struct tui_view tui_view_clients = {
	.title = "Clients",
	.sorts = sorts,
	.hint = "Enter filter",
	.build = build,
	.enter = tui_entity_enter,
};
