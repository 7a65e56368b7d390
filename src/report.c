/*
 * report.c: the text and JSON reports of one analysis run.
 */
#include "config.h"
#include "report.h"
#include "names.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define PCT(a, b) ((b) ? 100.0 * (double)(a) / (double)(b) : 0.0)

static void key_str(const struct kmap *m, const struct kmap_ent *e, char *buf, size_t n,
		    int kind)
{
	struct addr a;
	uint16_t qt;
	int32_t ifi;

	(void)m;
	switch (kind) {
	case 'a':
		memset(&a, 0, sizeof(a));
		a.family = e->key[0];
		memcpy(a.a, e->key + 1, e->klen - 1u);
		addr_str(&a, buf, n);
		break;
	case 't':
		memcpy(&qt, e->key, 2);
		snprintf(buf, n, "%s", qtype_str(qt));
		break;
	case 'n': {
		struct sbuf sb = SBUF_INIT;

		name_to_text(e->key, (uint8_t)e->klen, &sb);
		snprintf(buf, n, "%s", sb.buf);
		sbuf_release(&sb);
		break;
	}
	case 'i':
		memcpy(&ifi, e->key, 4);
		snprintf(buf, n, "%s", iface_name(ifi) ? iface_name(ifi) : "?");
		break;
	}
}

static void ms(char *buf, size_t n, uint64_t us)
{
	if (us < 10000)
		snprintf(buf, n, "%.3f", (double)us / 1000.0);
	else
		snprintf(buf, n, "%.1f", (double)us / 1000.0);
}

static void lat_row(FILE *out, const char *label, const struct hist *h)
{
	char p50[32], p90[32], p99[32], mx[32];

	if (!h->n) {
		fprintf(out, "  %-40s %9s %9s %9s %9s %9s\n", label, "0", "-", "-", "-", "-");
		return;
	}
	ms(p50, sizeof(p50), hist_pct(h, 50));
	ms(p90, sizeof(p90), hist_pct(h, 90));
	ms(p99, sizeof(p99), hist_pct(h, 99));
	ms(mx, sizeof(mx), h->max_us);
	fprintf(out, "  %-40s %9" PRIu64 " %9s %9s %9s %9s\n", label, h->n, p50, p90, p99, mx);
}

static void ent_table(FILE *out, const struct stats *s, const char *title, const struct kmap *m,
		      int kind, int top, int with_lat)
{
	struct ent_stats e;
	size_t n, i;
	struct kmap_ent **arr = stats_sorted(m, (size_t)top, &n);
	char key[1100];

	if (!n) {
		free(arr);
		return;
	}
	fprintf(out, "\n%s (%zu)\n", title, m->count);
	if (with_lat) {
		fprintf(out, "  %-40s %9s %9s %9s %9s %9s\n", "", "answered", "p50 ms", "p90 ms",
			"p99 ms", "max ms");
		for (i = 0; i < n && (int)i < top; i++) {
			key_str(m, arr[i], key, sizeof(key), kind);
			stats_ent(s, m, kmap_val(arr[i]), &e);
			lat_row(out, key, &e.lat);
		}
		fprintf(out, "  %-40s %9s %9s %9s %9s %9s %9s\n", "", "txns", "answered",
			"unanswrd", "retrans", "SERVFAIL", "NXDOMAIN");
	} else {
		fprintf(out, "  %-40s %9s %9s %9s %9s %9s %9s\n", "", "txns", "answered",
			"unanswrd", "retrans", "SERVFAIL", "NXDOMAIN");
	}
	for (i = 0; i < n && (int)i < top; i++) {
		key_str(m, arr[i], key, sizeof(key), kind);
		stats_ent(s, m, kmap_val(arr[i]), &e);
		fprintf(out, "  %-40s %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9" PRIu64
			" %9" PRIu64 " %9" PRIu64 "\n", key, e.txns, e.answered,
			e.unanswered, e.retrans, e.rcodes[RCODE_SERVFAIL],
			e.rcodes[RCODE_NXDOMAIN]);
	}
	if (m->count > (size_t)top)
		fprintf(out, "  ... %zu more\n", m->count - (size_t)top);
	if (m->overflowed)
		fprintf(out, "  (%" PRIu64 " transactions for further keys counted as other: table cap %zu)\n",
			m->overflowed, m->cap);
	free(arr);
}

void report_finding_text(struct sbuf *sb, const struct finding *f, int color)
{
	static const char *const sevcol[] = { "\033[36m", "\033[33m", "\033[1;31m" };
	char t1[40], t2[40];
	int i;

	fmt_time(t1, sizeof(t1), f->first);
	fmt_time(t2, sizeof(t2), f->last);
	sbuf_addf(sb, "%s[%s]%s %s: %s\n", color ? sevcol[f->severity] : "",
		  severity_str(f->severity), color ? "\033[0m" : "", f->detector,
		  f->summary ? f->summary : "");
	sbuf_addf(sb, "    count %" PRIu64 ", from %s to %s UTC\n", f->count, t1, t2);
	if (f->details.len) {
		sbuf_add(sb, f->details.buf, f->details.len);
		if (f->details.buf[f->details.len - 1] != '\n')
			sbuf_addch(sb, '\n');
	}
#define AFFECTED(label, arr, n)                                  \
	if (n) {                                                 \
		sbuf_addstr(sb, "    " label ":");                  \
		for (i = 0; i < n; i++)                          \
			sbuf_addf(sb, " %s", arr[i]);           \
		sbuf_addch(sb, '\n');                            \
	}
	AFFECTED("servers", f->servers, f->nservers);
	AFFECTED("clients", f->clients, f->nclients);
	AFFECTED("names", f->names, f->nnames);
	AFFECTED("interfaces", f->ifaces, f->nifaces);
#undef AFFECTED
	if (f->explanation) {
		sbuf_addstr(sb, "  Why:\n");
		sbuf_add_wrapped(sb, "    ", f->explanation, 78);
	}
	if (f->fix) {
		sbuf_addstr(sb, "  Fix:\n");
		sbuf_add_wrapped(sb, "    ", f->fix, 78);
	}
	if (f->nev) {
		sbuf_addstr(sb, "  Evidence (file #query-frame -> #response-frame):\n");
		for (i = 0; i < f->nev; i++) {
			const struct evidence *e = &f->ev[i];

			fmt_time(t1, sizeof(t1), e->ts);
			sbuf_addf(sb, "    %s #%u", input_file_name(e->q.file), e->q.frame);
			if (e->r.frame)
				sbuf_addf(sb, " -> #%u", e->r.frame);
			sbuf_addf(sb, "  %s  %s\n", t1 + 11, e->what);
		}
	}
}

void report_frame_json(struct sbuf *sb, const char *key, struct frameref fr)
{
	if (!fr.frame) {
		sbuf_addf(sb, "\"%s\": null", key);
		return;
	}
	sbuf_addf(sb, "\"%s\": {\"file\": ", key);
	sbuf_add_json_str(sb, input_file_name(fr.file));
	sbuf_addf(sb, ", \"frame\": %u}", fr.frame);
}

static void json_time(struct sbuf *sb, ts_t t)
{
	char buf[40];

	fmt_secs(buf, sizeof(buf), t);
	sbuf_addstr(sb, buf);
}

static void json_strs(struct sbuf *sb, const char *key, char *const *arr, int n)
{
	int i;

	sbuf_addf(sb, ", \"%s\": [", key);
	for (i = 0; i < n; i++) {
		if (i)
			sbuf_addstr(sb, ", ");
		sbuf_add_json_str(sb, arr[i]);
	}
	sbuf_addch(sb, ']');
}

void report_finding_json(struct sbuf *sb, const struct finding *f)
{
	int i;

	sbuf_addstr(sb, "{\"detector\": ");
	sbuf_add_json_str(sb, f->detector);
	sbuf_addf(sb, ", \"severity\": \"%s\", \"count\": %" PRIu64 ", \"first\": ",
		  severity_str(f->severity), f->count);
	json_time(sb, f->first);
	sbuf_addstr(sb, ", \"last\": ");
	json_time(sb, f->last);
	sbuf_addstr(sb, ", \"summary\": ");
	sbuf_add_json_str(sb, f->summary ? f->summary : "");
	sbuf_addstr(sb, ", \"explanation\": ");
	sbuf_add_json_str(sb, f->explanation ? f->explanation : "");
	sbuf_addstr(sb, ", \"fix\": ");
	sbuf_add_json_str(sb, f->fix ? f->fix : "");
	json_strs(sb, "servers", f->servers, f->nservers);
	json_strs(sb, "clients", f->clients, f->nclients);
	json_strs(sb, "names", f->names, f->nnames);
	json_strs(sb, "interfaces", f->ifaces, f->nifaces);
	sbuf_addstr(sb, ", \"details\": {");
	if (f->json.len)
		sbuf_add(sb, f->json.buf, f->json.len);
	sbuf_addstr(sb, "}, \"evidence\": [");
	for (i = 0; i < f->nev; i++) {
		const struct evidence *e = &f->ev[i];

		sbuf_addstr(sb, i ? ", {" : "{");
		sbuf_addf(sb, "\"txn\": %" PRIu64 ", \"time\": ", e->txn_seq);
		json_time(sb, e->ts);
		sbuf_addstr(sb, ", ");
		report_frame_json(sb, "query", e->q);
		sbuf_addstr(sb, ", ");
		report_frame_json(sb, "response", e->r);
		sbuf_addstr(sb, ", \"what\": ");
		sbuf_add_json_str(sb, e->what);
		sbuf_addch(sb, '}');
	}
	sbuf_addstr(sb, "]}");
}

static void lat_json(struct sbuf *sb, const struct hist *h)
{
	sbuf_addf(sb, "{\"count\": %" PRIu64 ", \"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, "
		  "\"max\": %.3f}", h->n, (double)hist_pct(h, 50) / 1000.0,
		  (double)hist_pct(h, 90) / 1000.0, (double)hist_pct(h, 99) / 1000.0,
		  (double)h->max_us / 1000.0);
}

void report_summary_json(struct sbuf *sb, struct analysis *a)
{
	const struct match_stats *ms_ = matcher_stats(a->mt);
	const struct decode_stats *ds = &a->dec.st;
	uint64_t dns = ds->dns_udp + ds->dns_tcp;

	sbuf_addf(sb, "{\"packets\": %" PRIu64 ", \"dns_messages\": %" PRIu64
		  ", \"queries\": %" PRIu64 ", \"responses\": %" PRIu64
		  ", \"transactions\": %" PRIu64 ", \"matched\": %" PRIu64
		  ", \"unanswered\": %" PRIu64 ", \"open_at_end\": %" PRIu64
		  ", \"orphans\": %" PRIu64 ", \"before_capture\": %" PRIu64
		  ", \"mismatched\": %" PRIu64 ", \"retransmissions\": %" PRIu64
		  ", \"duplicates\": %" PRIu64 ", \"interface_copies\": %" PRIu64
		  ", \"lookups\": %" PRIu64
		  ", \"evicted\": %" PRIu64 ", \"malformed_queries\": %" PRIu64
		  ", \"malformed_responses\": %" PRIu64 ", \"answered_ratio\": %.6f, ",
		  a->in.st.packets, dns, ms_->queries, ms_->responses, ms_->txns, ms_->matched,
		  ms_->unanswered, ms_->open_at_end, ms_->orphans, ms_->before_capture,
		  ms_->mismatched, ms_->retransmissions, ms_->duplicates, ms_->iface_copies,
		  ms_->lookups,
		  ms_->evicted_txns + ms_->evicted_lookups, ds->malformed_queries,
		  ds->malformed_responses, ms_->matched + ms_->unanswered
			  ? (double)ms_->matched / (double)(ms_->matched + ms_->unanswered)
			  : 1.0);
	sbuf_addf(sb, "\"evictions\": {\"open_queries\": %" PRIu64 ", \"lookups\": %" PRIu64
		  ", \"answered_keys\": %" PRIu64 ", \"tcp_streams\": %" PRIu64
		  ", \"fragments\": %" PRIu64 "}, \"first\": ", ms_->evicted_txns,
		  ms_->evicted_lookups, ms_->evicted_tombs, ds->tcp_evictions, ds->frag_evictions);
	json_time(sb, a->in.st.first_ts);
	sbuf_addstr(sb, ", \"last\": ");
	json_time(sb, a->in.st.last_ts);
	sbuf_addstr(sb, ", \"latency_ms\": ");
	lat_json(sb, &a->st.lat_first);
	sbuf_addstr(sb, ", \"latency_last_send_ms\": ");
	lat_json(sb, &a->st.lat_last);
	sbuf_addch(sb, '}');
}

static void ent_json(struct sbuf *sb, const struct stats *s, const char *key, const struct kmap *m,
		     int kind, int top, int with_lat)
{
	struct ent_stats es, *e = &es;
	size_t n, i;
	struct kmap_ent **arr = stats_sorted(m, (size_t)top, &n);
	char k[1100];
	int r;

	sbuf_addf(sb, ",\n  \"%s\": [", key);
	for (i = 0; i < n && (int)i < top; i++) {
		stats_ent(s, m, kmap_val(arr[i]), e);
		key_str(m, arr[i], k, sizeof(k), kind);
		sbuf_addstr(sb, i ? ",\n    {\"key\": " : "\n    {\"key\": ");
		sbuf_add_json_str(sb, k);
		sbuf_addf(sb, ", \"transactions\": %" PRIu64 ", \"answered\": %" PRIu64
			  ", \"unanswered\": %" PRIu64 ", \"open_at_end\": %" PRIu64
			  ", \"retransmissions\": %" PRIu64 ", \"rcodes\": {",
			  e->txns, e->answered, e->unanswered, e->open_at_end, e->retrans);
		for (r = 0, k[0] = 0; r < 16; r++) {
			if (!e->rcodes[r])
				continue;
			sbuf_addf(sb, "%s\"%s\": %" PRIu64, k[0] ? ", " : "", rcode_str((uint16_t)r),
				  e->rcodes[r]);
			k[0] = 1;
		}
		sbuf_addch(sb, '}');
		if (with_lat) {
			sbuf_addstr(sb, ", \"latency_ms\": ");
			lat_json(sb, &e->lat);
		}
		sbuf_addch(sb, '}');
	}
	sbuf_addstr(sb, n ? "\n  ]" : "]");
	free(arr);
}

void report_json(FILE *out, struct analysis *a, const struct report_opts *ro)
{
	struct sbuf sb = SBUF_INIT;
	const struct decode_stats *ds = &a->dec.st;
	int i, first;
	size_t k;

	sbuf_addstr(&sb, "{\n  \"schema\": 1,\n  \"generator\": \"dnsvet " PACKAGE_VERSION "\",\n");
	sbuf_addstr(&sb, "  \"files\": [");
	for (i = 0; i < a->in.npaths; i++) {
		if (i)
			sbuf_addstr(&sb, ", ");
		sbuf_add_json_str(&sb, a->in.paths[i]);
	}
	sbuf_addf(&sb, "],\n  \"truncated_files\": %u,\n  \"summary\": ", a->in.st.truncated_files);
	report_summary_json(&sb, a);
	sbuf_addstr(&sb, ",\n  \"rcodes\": {");
	for (i = 0, first = 1; i < 16; i++) {
		if (!a->st.rcodes[i])
			continue;
		sbuf_addf(&sb, "%s\"%s\": %" PRIu64, first ? "" : ", ", rcode_str((uint16_t)i),
			  a->st.rcodes[i]);
		first = 0;
	}
	sbuf_addstr(&sb, "}");
	ent_json(&sb, &a->st, "servers", &a->st.servers, 'a', ro->top, 1);
	ent_json(&sb, &a->st, "clients", &a->st.clients, 'a', ro->top, 0);
	ent_json(&sb, &a->st, "qtypes", &a->st.qtypes, 't', ro->top, 1);
	ent_json(&sb, &a->st, "qnames", &a->st.qnames, 'n', ro->top, 0);
	ent_json(&sb, &a->st, "interfaces", &a->st.ifaces, 'i', ro->top, 0);
	sbuf_addf(&sb, ",\n  \"edns\": {\"queries_with_edns\": %" PRIu64 ", \"queries_with_do\": %"
		  PRIu64 ", \"queries_with_ecs\": %" PRIu64 ", \"responses_with_ecs\": %" PRIu64
		  ", \"per_qtype\": {", a->st.q_edns, a->st.q_do, a->st.q_ecs, a->st.r_ecs);
	{
		struct kmap_ent **arr = kmap_entries(&a->st.edns_qtype);

		for (k = 0; k < a->st.edns_qtype.count; k++) {
			const struct edns_qt *e = kmap_val(arr[k]);
			uint16_t qt;

			memcpy(&qt, arr[k]->key, 2);
			sbuf_addf(&sb, "%s\"%s\": {\"transactions\": %" PRIu64 ", \"edns\": %" PRIu64
				  ", \"do\": %" PRIu64 ", \"ecs\": %" PRIu64 ", \"responses_ecs\": %"
				  PRIu64 "}", k ? ", " : "", qtype_str(qt), e->txns, e->edns,
				  e->do_bit, e->ecs, e->resp_ecs);
		}
		free(arr);
	}
	sbuf_addstr(&sb, "}},\n  \"decode_problems\": {");
	for (i = 1, first = 1; i < DP_MAX; i++) {
		sbuf_addf(&sb, "%s\"%s\": %" PRIu64, first ? "" : ", ", dp_names[i], ds->problems[i]);
		first = 0;
	}
	sbuf_addf(&sb, "},\n  \"not_dns\": %" PRIu64 ",\n  \"findings\": [", ds->not_dns);
	for (k = 0; k < a->findings.n; k++) {
		sbuf_addstr(&sb, k ? ",\n    " : "\n    ");
		report_finding_json(&sb, &a->findings.v[k]);
	}
	sbuf_addstr(&sb, a->findings.n ? "\n  ]\n}\n" : "]\n}\n");
	fwrite(sb.buf, 1, sb.len, out);
	sbuf_release(&sb);
}

void report_text(FILE *out, struct analysis *a, const struct report_opts *ro)
{
	const struct match_stats *m = matcher_stats(a->mt);
	const struct decode_stats *ds = &a->dec.st;
	const struct stats *s = &a->st;
	char t1[40], t2[40], dur[32];
	uint64_t problems = 0, done = m->matched + m->unanswered;
	size_t k;
	int i;

	fmt_time(t1, sizeof(t1), a->in.st.first_ts);
	fmt_time(t2, sizeof(t2), a->in.st.last_ts);
	fmt_dur(dur, sizeof(dur), a->in.st.last_ts - a->in.st.first_ts);
	fprintf(out, "dnsvet report: %d file%s, %s to %s UTC (%s)\n", a->in.npaths,
		a->in.npaths == 1 ? "" : "s", a->in.st.packets ? t1 : "-",
		a->in.st.packets ? t2 : "-", a->in.st.packets ? dur : "no packets");
	if (a->in.st.truncated_files)
		fprintf(out, "  warning: %u file%s ended early (see the warnings above)\n",
			a->in.st.truncated_files, a->in.st.truncated_files == 1 ? "" : "s");

	fprintf(out, "\nTraffic\n");
	fprintf(out, "  packets            %10" PRIu64 "   (not DNS: %" PRIu64 ")\n",
		a->in.st.packets, ds->not_dns);
	fprintf(out, "  DNS messages       %10" PRIu64 "   (UDP %" PRIu64 ", TCP %" PRIu64
		", %" PRIu64 " rebuilt from IP fragments)\n", ds->dns_udp + ds->dns_tcp,
		ds->dns_udp, ds->dns_tcp, ds->frag_reassembled);
	fprintf(out, "  queries            %10" PRIu64 "   (%" PRIu64 " transactions + %" PRIu64
		" retransmissions)\n", m->queries, m->txns, m->retransmissions);
	/* all of one direction: say what that usually means, or the zeros
	 * below read like a dead server (or a dead client) */
	fprintf(out, "  responses          %10" PRIu64 "%s\n", m->responses,
		m->queries && !m->responses
			? "   none: one direction captured (a filter like 'dst port 53'?),"
			  " or no server answered"
		: m->responses && !m->queries
			? "   but no queries: one direction captured, or the capture began"
			  " after them"
			: "");
	if (done)
		fprintf(out, "  answered           %10" PRIu64
			"   %.2f%% of transactions that ran their window\n",
			m->matched, PCT(m->matched, done));
	else /* a percentage of nothing would read as a verdict */
		fprintf(out, "  answered           %10" PRIu64 "   %s\n", m->matched,
			m->open_at_end ? "no transaction ran its window: all still open at the end"
				       : "no complete transactions");
	fprintf(out, "  unanswered         %10" PRIu64 "   no response within %s\n", m->unanswered,
		(fmt_dur(dur, sizeof(dur), a->opts->mcfg.window), dur));
	fprintf(out, "  open at end        %10" PRIu64 "   capture ended inside their window\n",
		m->open_at_end);
	fprintf(out, "  orphan responses   %10" PRIu64 "   (+%" PRIu64
		" early: their query was sent before the capture or not captured)\n", m->orphans,
		m->before_capture);
	fprintf(out, "  mismatched         %10" PRIu64 "   right id and ports, other question (ignored, as glibc does)\n",
		m->mismatched);
	fprintf(out, "  duplicate answers  %10" PRIu64 "\n", m->duplicates);
	if (m->iface_copies)
		fprintf(out, "  seen twice         %10" PRIu64 "   same datagram captured on two interfaces (not retransmissions)\n",
			m->iface_copies);
	fprintf(out, "  lookups            %10" PRIu64 "   (%" PRIu64 " retried, %" PRIu64
		" never answered)\n", s->lookups, s->lookups_retried, s->lookups_failed);
	if (m->evicted_txns || m->evicted_lookups)
		fprintf(out, "  evicted            %10" PRIu64 "   open queries/lookups dropped at the --max-open cap\n",
			m->evicted_txns + m->evicted_lookups);
	if (m->evicted_tombs || ds->tcp_evictions || ds->frag_evictions)
		fprintf(out, "  state dropped      answered keys %" PRIu64 " (--max-open), TCP streams %"
			PRIu64 ", IP fragments %" PRIu64 " (table caps, dnsvet-report(1))\n",
			m->evicted_tombs, ds->tcp_evictions, ds->frag_evictions);
	for (i = 0; i < (int)m->nmismatch_ex; i++)
		fprintf(out, "    mismatched response: %s #%u\n",
			input_file_name(m->mismatch_ex[i].frame.file), m->mismatch_ex[i].frame.frame);
	for (i = 0; i < (int)m->norphan_ex && i < 4; i++)
		fprintf(out, "    orphan response: %s #%u\n",
			input_file_name(m->orphan_ex[i].frame.file), m->orphan_ex[i].frame.frame);

	fprintf(out, "\nLatency, ms (first send to response: what the user waited)\n");
	fprintf(out, "  %-40s %9s %9s %9s %9s %9s\n", "", "answered", "p50", "p90", "p99", "max");
	lat_row(out, "all", &s->lat_first);
	lat_row(out, "all, from the last send", &s->lat_last);

	fprintf(out, "\nResponse codes\n ");
	if (!m->matched)
		fprintf(out, " none (no query was answered)");
	for (i = 0; i < 16; i++)
		if (s->rcodes[i])
			fprintf(out, " %s %" PRIu64 " (%.1f%%)", rcode_str((uint16_t)i), s->rcodes[i],
				PCT(s->rcodes[i], m->matched));
	if (s->tc_udp)
		fprintf(out, "; truncated (TC) over UDP %" PRIu64, s->tc_udp);
	fprintf(out, "\n");

	ent_table(out, s, "Servers", &s->servers, 'a', ro->top, 1);
	ent_table(out, s, "Query types", &s->qtypes, 't', ro->top, 1);
	ent_table(out, s, "Clients", &s->clients, 'a', ro->top, 0);
	ent_table(out, s, "Query names", &s->qnames, 'n', ro->top, 0);
	if (s->ifaces.count)
		ent_table(out, s, "Interfaces", &s->ifaces, 'i', ro->top, 0);

	fprintf(out, "\nEDNS (queries): %" PRIu64 " with EDNS, %" PRIu64 " with DO, %" PRIu64
		" with Client Subnet; %" PRIu64 " responses with Client Subnet\n", s->q_edns,
		s->q_do, s->q_ecs, s->r_ecs);
	{
		struct kmap_ent **arr = kmap_entries(&s->edns_qtype);
		uint64_t all = 0, https = 0;

		for (k = 0; k < s->edns_qtype.count; k++) {
			const struct edns_qt *e = kmap_val(arr[k]);
			uint16_t qt;

			memcpy(&qt, arr[k]->key, 2);
			all += e->txns;
			if (qt == QTYPE_HTTPS || qt == QTYPE_SVCB)
				https += e->txns;
			if (e->ecs || e->resp_ecs)
				fprintf(out, "  %-8s %" PRIu64 " queries, %.1f%% with ECS\n",
					qtype_str(qt), e->txns, PCT(e->ecs, e->txns));
		}
		fprintf(out, "  HTTPS/SVCB queries: %" PRIu64 " (%.1f%% of all)\n", https, PCT(https, all));
		free(arr);
	}

	for (i = 1; i < DP_MAX; i++)
		problems += ds->problems[i];
	fprintf(out, "\nDecode problems: %" PRIu64 "%s\n", problems, problems ? "" : " (none)");
	for (i = 1; i < DP_MAX; i++)
		if (ds->problems[i])
			fprintf(out, "  %-22s %8" PRIu64 "  %s\n", dp_names[i], ds->problems[i],
				dp_descr[i]);

	fprintf(out, "\nFindings: %zu\n", a->findings.n);
	for (k = 0; k < a->findings.n; k++) {
		struct sbuf sb = SBUF_INIT;

		fputc('\n', out);
		report_finding_text(&sb, &a->findings.v[k], ro->color);
		fwrite(sb.buf, 1, sb.len, out);
		sbuf_release(&sb);
	}
	if (!a->findings.n)
		fprintf(out, "  nothing above the detectors' thresholds\n");
}
