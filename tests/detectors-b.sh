#!/bin/sh
# tests/detectors-b.sh: the ptr-flood, rate-limit, tcp-fallback,
# servfail-burst and amplification detectors on the real traces, checked
# against the ground truth make-traces.sh wrote (pcaps/expected/NAME.txt):
# each must fire on its trace with the counts the trace was made with, tag
# the transactions of its finding for `dnsvet tx --finding`, and stay quiet
# (nothing above info) on healthy traffic.
. "$(dirname "$0")/lib.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
P=$TOP/pcaps
MINE="ptr-flood,rate-limit,tcp-fallback,servfail-burst,amplification"

# gt TRACE KEY: a ground-truth value
gt() { sed -n "s/^$2=//p" "$P/expected/$1.txt"; }
# fj FILE DETECTOR EXPR: EXPR on the first finding f of DETECTOR (None if none)
fj() {
	python3 - "$1" "$2" "$3" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
fs = [f for f in d["findings"] if f["detector"] == sys.argv[2]]
f = fs[0] if fs else None
try:
    print(eval(sys.argv[3], {"f": f, "fs": fs, "d": f["details"] if f else None}))
except Exception as e:
    print("error: %s" % e)
EOF
}
# ntx TRACE DETECTOR ARGS...: transactions tagged by DETECTOR
ntx() {
	_p=$1 _d=$2
	shift 2
	"$DNSVET" tx --json --finding "$_d" "$@" "$_p" | wc -l | tr -d ' '
}
report() { "$DNSVET" report --json "$@"; }

for t in rate-limit ptr-flood servfail-burst tcp-fallback healthy; do
	if [ ! -f "$P/$t.pcap" ] || [ ! -f "$P/expected/$t.txt" ]; then
		notok "detectors-b: pcaps/$t.pcap or its ground truth is missing"
		exit 1
	fi
done

# ---- ptr-flood ---------------------------------------------------------------
report "$P/rate-limit.pcap" > "$T/rl.json"
report "$P/ptr-flood.pcap" > "$T/pf.json"
ptrq=$(gt rate-limit ptr_queries)
check_eq "ptr-flood: rate-limit.pcap: every PTR query of the capture counted" \
	"$ptrq" "$(fj "$T/rl.json" ptr-flood "d['capture_ptr']")"
check_eq "ptr-flood: rate-limit.pcap: the flood window holds them (edges within 5%)" True \
	"$(fj "$T/rl.json" ptr-flood "$ptrq * 0.95 <= f['count'] <= $ptrq")"
check_eq "ptr-flood: rate-limit.pcap: PTR share of the window (9 in 10 queries)" True \
	"$(fj "$T/rl.json" ptr-flood "abs(d['ptr_share'] - $ptrq / $(gt rate-limit queries)) < 0.01")"
check_eq "ptr-flood: rate-limit.pcap: smallest covering prefix" "$(gt rate-limit ptr_network)" \
	"$(fj "$T/rl.json" ptr-flood "d['cover']['net']")"
check_eq "ptr-flood: rate-limit.pcap: top client and its PTR count" "10.53.0.2 $ptrq" \
	"$(fj "$T/rl.json" ptr-flood "d['clients'][0]['addr'] + ' ' + str(d['clients'][0]['ptr'])")"
check_eq "ptr-flood: rate-limit.pcap: critical (most replies dropped)" critical \
	"$(fj "$T/rl.json" ptr-flood "f['severity']")"
check_eq "ptr-flood: tx --finding tags exactly the flood's PTR queries" \
	"$(fj "$T/rl.json" ptr-flood "f['count']")" "$(ntx "$P/rate-limit.pcap" ptr-flood)"
check_eq "ptr-flood: ptr-flood.pcap: the stub client's PTR queries" "$(gt ptr-flood client_ptr_queries)" \
	"$(fj "$T/pf.json" ptr-flood "[c['ptr'] for c in d['clients'] if c['addr'] == '10.53.0.2'][0]")"
check_eq "ptr-flood: ptr-flood.pcap: smallest covering prefix" "$(gt ptr-flood ptr_network)" \
	"$(fj "$T/pf.json" ptr-flood "d['cover']['net']")"
check_eq "ptr-flood: ptr-flood.pcap: critical" critical "$(fj "$T/pf.json" ptr-flood "f['severity']")"

# ---- rate-limit --------------------------------------------------------------
rate=$(gt rate-limit answered_rate_qps)
offered=$(gt rate-limit offered_rate_qps)
check_eq "rate-limit: rate-limit.pcap: one finding (no budget given)" 1 \
	"$(fj "$T/rl.json" rate-limit "len(fs)")"
check_eq "rate-limit: rate-limit.pcap: ceiling within 2% of the hashlimit rate ($rate/s)" True \
	"$(fj "$T/rl.json" rate-limit "abs(d['ceiling'] - $rate) <= 0.02 * $rate")"
check_eq "rate-limit: rate-limit.pcap: per interface (SLL2), toward the server" "interface 10.53.0.1" \
	"$(fj "$T/rl.json" rate-limit "d['kind'] + ' ' + d['server']")"
check_eq "rate-limit: rate-limit.pcap: unanswered share 1 - $rate/$offered (within 2%)" True \
	"$(fj "$T/rl.json" rate-limit "abs(d['unanswered_share'] - (1 - $rate / $offered)) < 0.02")"
# seconds the load lasted: those offered at least half the rate (the list
# ends with a partial second)
dur=$(gt rate-limit offered_per_s | tr ',' '\n' | awk -v r="$offered" '$1 >= r / 2' | wc -l)
check_eq "rate-limit: rate-limit.pcap: plateau after the burst second, to the end ($((dur - 2))..$((dur - 1)) s)" True \
	"$(fj "$T/rl.json" rate-limit "$dur - 2 <= f['count'] <= $dur - 1")"
check_eq "rate-limit: tx --finding tags the queries of the plateau seconds" \
	"$(fj "$T/rl.json" rate-limit "d['offered']")" "$(ntx "$P/rate-limit.pcap" rate-limit)"
check_eq "rate-limit: ptr-flood.pcap: the upstream's limit ($(gt ptr-flood upstream_rate_limit_pps)/s) within 5%" True \
	"$(fj "$T/pf.json" rate-limit "len(fs) == 1 and abs(d['ceiling'] - $(gt ptr-flood upstream_rate_limit_pps)) <= 0.05 * $(gt ptr-flood upstream_rate_limit_pps)")"
check_eq "rate-limit: ptr-flood.pcap: on the upstream side's interface" \
	"ifindex $(gt ptr-flood ifindex_upstream_side) 10.53.1.2" \
	"$(fj "$T/pf.json" rate-limit "d['interface'] + ' ' + d['server']")"

report --rate-budget 500 "$P/rate-limit.pcap" > "$T/b500.json"
check_eq "rate-limit: --rate-budget 500: seconds over it ($((dur - 1))..$dur)" True \
	"$(fj "$T/b500.json" rate-limit "[g for g in fs if 'budget' in g['details']][0]['count'] in ($dur - 1, $dur)")"
check_eq "rate-limit: --rate-budget 500: peak is the offered rate" True \
	"$(fj "$T/b500.json" rate-limit "$offered <= [g for g in fs if 'budget' in g['details']][0]['details']['peak'] <= $offered + 2")"
report --rate-budget 1024 "$P/rate-limit.pcap" > "$T/b1024.json"
check_eq "rate-limit: --rate-budget 1024: no second over it" 0 \
	"$(fj "$T/b1024.json" rate-limit "len([g for g in fs if 'budget' in g['details']])")"
echo "rate-limit.min_ceiling = 250" > "$T/conf"
report --config "$T/conf" "$P/rate-limit.pcap" > "$T/conf.json"
check_eq "rate-limit: --config min_ceiling above the ceiling: no plateau" 0 \
	"$(fj "$T/conf.json" rate-limit "len(fs)")"

# without an interface (SLL2 header stripped: raw IP), the client stands in
python3 - "$P/rate-limit.pcap" "$T/raw.pcap" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
e = "<" if struct.unpack("<I", d[:4])[0] in (0xA1B2C3D4, 0xA1B23C4D) else ">"
assert struct.unpack(e + "I", d[20:24])[0] == 276
out, off = [d[:20] + struct.pack(e + "I", 101)], 24
while off + 16 <= len(d):
    s, fr, cap, orig = struct.unpack(e + "IIII", d[off:off + 16])
    out.append(struct.pack(e + "IIII", s, fr, cap - 20, orig - 20) + d[off + 36:off + 16 + cap])
    off += 16 + cap
open(sys.argv[2], "wb").write(b"".join(out))
EOF
report "$T/raw.pcap" > "$T/raw.json"
check_eq "rate-limit: no interface in the capture: the client address stands in" "client 10.53.0.2 True" \
	"$(fj "$T/raw.json" rate-limit "d['kind'] + ' ' + d['client'] + ' ' + str(d['client_stands_in'])")"
check_eq "rate-limit: no interface: same ceiling" True \
	"$(fj "$T/raw.json" rate-limit "abs(d['ceiling'] - $rate) <= 0.02 * $rate")"

# ---- tcp-fallback ------------------------------------------------------------
report "$P/tcp-fallback.pcap" > "$T/tc.json"
tc=$(gt tcp-fallback truncated_udp_responses)
check_eq "tcp-fallback: one fallback per truncated UDP answer" "$tc" "$(fj "$T/tc.json" tcp-fallback "f['count']")"
check_eq "tcp-fallback: none failed (every TC answer was asked again over TCP)" "0 $tc" \
	"$(fj "$T/tc.json" tcp-fallback "'%d %d' % (d['failed'], d['tc_answers'])")"
check_eq "tcp-fallback: tx --finding tags the TC answer and the TCP answer of each" "$((2 * tc))" \
	"$(ntx "$P/tcp-fallback.pcap" tcp-fallback)"
check_eq "tcp-fallback: added latency measured from the first UDP send" True \
	"$(fj "$T/tc.json" tcp-fallback "0 < d['added_ms']['p50'] <= d['waited_ms']['p50'] < 1000")"

# TCP port 53 blocked: the same trace without its TCP packets
if tshark -r "$P/tcp-fallback.pcap" -Y '!tcp' -w "$T/notcp.pcap" >/dev/null 2>&1; then
	report "$T/notcp.pcap" > "$T/notcp.json"
	check_eq "tcp-fallback: no TCP: every truncated answer in a failed lookup, a warning" "0 $tc warning" \
		"$(fj "$T/notcp.json" tcp-fallback "'%d %d %s' % (f['count'], d['failed_tc_answers'], f['severity'])")"
	check_eq "tcp-fallback: no TCP: tx --finding tags every truncated answer" "$tc" \
		"$(ntx "$T/notcp.pcap" tcp-fallback)"
else
	notok "tcp-fallback: tshark could not drop the TCP packets"
fi

# ---- servfail-burst ----------------------------------------------------------
report "$P/servfail-burst.pcap" > "$T/sf.json"
sf=$(gt servfail-burst servfail)
check_eq "servfail-burst: every SERVFAIL of the server counted" "$sf $(gt servfail-burst responses)" \
	"$(fj "$T/sf.json" servfail-burst "'%d %d' % (f['count'], d['answers'])")"
check_eq "servfail-burst: one burst, the dead upstream's 5 s (4..7 s)" True \
	"$(fj "$T/sf.json" servfail-burst "d['bursts_total'] == 1 and 4 <= d['burst_seconds'] <= 7")"
check_eq "servfail-burst: the SERVFAILs fall in the burst (all but at most 2)" True \
	"$(fj "$T/sf.json" servfail-burst "$sf - 2 <= d['burst_failures'] <= $sf")"
check_eq "servfail-burst: critical (many names, most answers failing)" critical \
	"$(fj "$T/sf.json" servfail-burst "f['severity']")"
check_eq "servfail-burst: tx --finding tags the burst's failures" \
	"$(fj "$T/sf.json" servfail-burst "d['burst_failures']")" "$(ntx "$P/servfail-burst.pcap" servfail-burst)"
if [ -f "$P/search-walk.pcap" ]; then
	report "$P/search-walk.pcap" > "$T/sw.json"
	check_eq "servfail-burst: search-walk.pcap: one broken name is info, not a burst" \
		"info $(gt search-walk servfail_responses)" \
		"$(fj "$T/sw.json" servfail-burst "f['severity'] + ' ' + str(f['count'])")"
fi

# ---- amplification -----------------------------------------------------------
check_eq "amplification: ptr-flood.pcap: the resolver's upstream queries" "$(gt ptr-flood upstream_queries)" \
	"$(fj "$T/pf.json" amplification "[c['queries'] for c in d['clients'] if c['addr'] == '10.53.1.1'][0]")"
check_eq "amplification: ptr-flood.pcap: the stub's lookups and queries, one each" \
	"$(gt ptr-flood client_queries) $(gt ptr-flood client_queries)" \
	"$(fj "$T/pf.json" amplification "[('%d %d' % (c['lookups'], c['queries'])) for c in d['clients'] if c['addr'] == '10.53.0.2'][0]")"
check_eq "amplification: ptr-flood.pcap: upstream queries per lookup ($(gt ptr-flood amplification_upstream_per_client_query))" True \
	"$(fj "$T/pf.json" amplification "abs(d['worst'] - $(gt ptr-flood amplification_upstream_per_client_query)) < 0.05")"
check_eq "amplification: ptr-flood.pcap: critical, 10.53.1.1 named" "critical ['10.53.1.1']" \
	"$(fj "$T/pf.json" amplification "f['severity'] + ' ' + str(f['clients'])")"
n=$(ntx "$P/ptr-flood.pcap" amplification --client 10.53.0.2)
check_eq "amplification: tx --finding: the stub's single queries are not tagged" 0 "$n"
check_eq "amplification: tx --finding: the retried upstream queries are" True \
	"$(python3 -c "print($(ntx "$P/ptr-flood.pcap" amplification --client 10.53.1.1) >= 0.9 * $(gt ptr-flood upstream_queries))")"

# ---- healthy traffic: nothing above info -------------------------------------
for h in healthy healthy-busy; do
	[ -f "$P/$h.pcap" ] || continue
	"$DNSVET" report --json --detectors "$MINE" --rate-budget 1024 "$P/$h.pcap" > "$T/h.json"
	check_eq "$h.pcap: nothing above info from $MINE" "[]" \
		"$(json_get "$T/h.json" "[f['detector'] for f in d['findings'] if f['severity'] != 'info']")"
done
