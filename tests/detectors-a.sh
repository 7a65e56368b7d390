#!/bin/sh
# tests/detectors-a.sh: the retry-timeout, serial-fallback, slow-aaaa and
# search-walk detectors on the traces that must trigger them, and on the
# healthy ones that must not.
#
# Expected numbers come from pcaps/expected/TRACE.txt (written by
# pcaps/make-traces.sh from tshark and iptables counters) wherever a line
# there says it; the others are derived from the plan in make-traces.sh and
# the comment next to each check says how.
. "$(dirname "$0")/lib.sh"

cd "$TOP" || exit 2
P=pcaps
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
DETS=retry-timeout,serial-fallback,slow-aaaa,search-walk

# gt TRACE KEY: a ground-truth value
gt() { sed -n "s/^$2=//p" "$P/expected/$1.txt" | head -n 1; }

# run NAME TRACE [ARGS...]: dnsvet report --json (our detectors) into $T/NAME.json
run() {
	_n=$1 _f=$2
	shift 2
	"$DNSVET" report --json --detectors "$DETS" "$@" "$P/$_f.pcap" >"$T/$_n.json" 2>"$T/$_n.err" ||
		echo "dnsvet report failed on $_f" >&2
}

# q NAME EXPR: evaluate a Python expression over the findings of run NAME;
# f(det, kind) is the single finding (or a string saying how many there
# were), d(det, key, kind) one of its details, n(det, kind) how many.
q() {
	python3 - "$T/$1.json" "$2" <<'EOF'
import json, sys
try:
    F = json.load(open(sys.argv[1]))["findings"]
except Exception as e:
    print("no report: %s" % e); sys.exit(0)
def sel(det, kind=None):
    return [x for x in F if x["detector"] == det and (kind is None or x["details"].get("kind") == kind)]
def n(det, kind=None): return len(sel(det, kind))
def f(det, kind=None):
    r = sel(det, kind)
    return r[0] if len(r) == 1 else "%d %s findings" % (len(r), det)
def d(det, key, kind=None):
    x = f(det, kind)
    return x["details"].get(key) if isinstance(x, dict) else x
def sev(det, kind=None):
    x = f(det, kind)
    return x["severity"] if isinstance(x, dict) else x
def cnt(det, kind=None):
    x = f(det, kind)
    return x["count"] if isinstance(x, dict) else x
def above_info(): return len([x for x in F if x["severity"] != "info"])
def near(v, want, tol): return "ok" if isinstance(v, (int, float)) and abs(v - want) <= tol else "%s not within %s of %s" % (v, tol, want)
print(eval(sys.argv[2]))
EOF
}

# ntx DET TRACE [ARGS...]: transactions tagged with DET's findings
ntx() {
	_d=$1 _f=$2
	shift 2
	"$DNSVET" tx --json --finding "$_d" "$@" "$P/$_f.pcap" 2>/dev/null | wc -l | tr -d ' '
}

for f in healthy healthy-busy retry-timeout serial-fallback serial-stall serial-nostall slow-aaaa search-walk unanswered; do
	if [ ! -f "$P/$f.pcap" ] || [ ! -f "$P/expected/$f.txt" ]; then
		notok "detectors-a-traces: $P/$f.pcap or its ground truth is missing"
		exit 0
	fi
done

# ---- healthy traffic: nothing above info from these detectors ------------
for f in healthy healthy-busy; do
	run "$f" "$f"
	check_eq "detectors-a-$f-nothing-above-info" 0 "$(q "$f" 'above_info()')"
done
# healthy-busy has runs of serial-looking pairs but lost no reply
check_eq "detectors-a-healthy-busy-serial-looking-pairs-present" yes \
	"$([ "$(gt healthy-busy serial_looking_pairs)" -ge 2 ] && echo yes || echo no)"
check_eq "detectors-a-healthy-busy-no-serial-finding" 0 "$(q healthy-busy 'n("serial-fallback")')"

# ---- retry-timeout ---------------------------------------------------------
# The plan (make-traces.sh trace_retry_timeout): glibc loses the first reply
# of drop1/drop2 (A and AAAA), the first two of drop3, all three tries of
# gone: 8 lookups, 1+1+1+1+2+2+2+2 = 12 re-sends after glibc's 5 s timeout,
# same id and port. dig1/dig2: 3 tries each 2 s apart, same id, new port
# (2 lookups, 4 re-sends). unbound asks ub1 three times with a new id and
# port ~0.28 s apart (1 lookup, 2 re-sends at no standard interval).
run rt retry-timeout
check_eq detectors-a-rt-severity critical "$(q rt 'sev("retry-timeout")')"
check_eq detectors-a-rt-retried-lookups 11 "$(q rt 'cnt("retry-timeout")')"
check_eq detectors-a-rt-resends 18 "$(q rt 'd("retry-timeout", "resends")')"
check_eq detectors-a-rt-at-5s 12 "$(q rt 'd("retry-timeout", "intervals")["5s"]')"
check_eq detectors-a-rt-at-2s 4 "$(q rt 'd("retry-timeout", "intervals")["2s"]')"
check_eq detectors-a-rt-other-intervals 2 "$(q rt 'd("retry-timeout", "intervals")["other"]')"
check_eq detectors-a-rt-cluster "$(gt retry-timeout glibc_retry_interval_s)" "$(q rt 'd("retry-timeout", "cluster_s")')"
check_eq detectors-a-rt-same-id-port 8 "$(q rt 'd("retry-timeout", "same_id_port")')"
check_eq detectors-a-rt-new-port-same-id 2 "$(q rt 'd("retry-timeout", "new_port")')"
check_eq detectors-a-rt-new-id 1 "$(q rt 'd("retry-timeout", "new_id")')"
# gave up: gone A and AAAA (glibc_failed_lookups=1, an A and an AAAA lookup),
# and dig2 (every try lost)
check_eq detectors-a-rt-gave-up 3 "$(q rt 'd("retry-timeout", "exhausted")')"
check_eq detectors-a-rt-gave-up-after-15s ok "$(q rt 'near(d("retry-timeout", "exhausted_wait_max_ms"), 15000, 100)')"
check_eq detectors-a-rt-answered-after-retry 8 "$(q rt 'd("retry-timeout", "answered")')"
# tagged: one transaction per glibc lookup (re-sends fold in), 3 each for
# dig1, dig2, ub1 (new port or id: new transactions)
check_eq detectors-a-rt-tx-tagged 17 "$(ntx retry-timeout retry-timeout)"
# thresholds take effect
run rt-minint retry-timeout --set retry-timeout.min_interval_s=0.5
check_eq detectors-a-rt-set-min-interval "10 16" \
	"$(q rt-minint 'str(cnt("retry-timeout")) + " " + str(d("retry-timeout", "resends"))')"
run rt-crit retry-timeout --set retry-timeout.critical_share=0.9
check_eq detectors-a-rt-set-critical-share warning "$(q rt-crit 'sev("retry-timeout")')"
run rt-warn retry-timeout --set retry-timeout.warning_share=0.6
check_eq detectors-a-rt-set-warning-share info "$(q rt-warn 'sev("retry-timeout")')"
echo "retry-timeout.min_count = 20" >"$T/conf"
run rt-conf retry-timeout --config "$T/conf"
check_eq detectors-a-rt-config-min-count info "$(q rt-conf 'sev("retry-timeout")')"

# ---- serial-fallback: glibc 2.36, switch, no stall -------------------------
run sf serial-fallback
check_eq detectors-a-sf-one-switch 1 "$(q sf 'n("serial-fallback", "switch")')"
check_eq detectors-a-sf-switch-warning warning "$(q sf 'sev("serial-fallback", "switch")')"
check_eq detectors-a-sf-pairs "$(gt serial-fallback a_aaaa_pairs)" "$(q sf 'd("serial-fallback", "pairs", "switch")')"
# the lost-reply pair (lose.example.test) is the last parallel one
check_eq detectors-a-sf-parallel-before $(($(gt serial-fallback parallel_pairs) - 1)) \
	"$(q sf 'd("serial-fallback", "parallel_before", "switch")')"
check_eq detectors-a-sf-serial-after "$(gt serial-fallback serial_pairs)" "$(q sf 'cnt("serial-fallback", "switch")')"
check_eq detectors-a-sf-lost-reply-retry ok \
	"$(q sf "near(d('serial-fallback', 'lost_retry_ms', 'switch'), 1000 * $(gt serial-fallback switch_retry_interval_s), 50)")"
check_eq detectors-a-sf-no-stall 0 "$(q sf 'n("serial-fallback", "stall")')"
# servfail_lookups=3: one in parallel mode, two in serial mode (A re-asked
# at once, no AAAA): glibc 2.36 moves on
check_eq detectors-a-sf-servfail-moved-on 2 "$(q sf 'd("serial-fallback", "servfail_moved_on", "switch")')"
# tagged: the lost-reply pair (2), glibc's serial re-send of its A (1), the
# serial pairs (2 each), the two serial-mode SERVFAIL lookups (A, A again)
check_eq detectors-a-sf-tx-tagged $((2 + 1 + 2 * $(gt serial-fallback serial_pairs) + 4)) \
	"$(ntx serial-fallback serial-fallback)"
# the AAAA lost once: one lookup re-sent after 5 s, info only
check_eq detectors-a-sf-retry-info "info 1" "$(q sf 'sev("retry-timeout") + " " + str(cnt("retry-timeout"))')"
run sf-run serial-fallback --set serial-fallback.switch_run=20
check_eq detectors-a-sf-set-switch-run 0 "$(q sf-run 'n("serial-fallback")')"

# ---- serial-stall: scripted glibc 2.27, switch then SERVFAIL stall ---------
run ss serial-stall
check_eq detectors-a-ss-stall-critical critical "$(q ss 'sev("serial-fallback", "stall")')"
check_eq detectors-a-ss-stalls "$(gt serial-stall stalled_lookups | cut -d' ' -f1)" "$(q ss 'cnt("serial-fallback", "stall")')"
_gap=$(gt serial-stall stall_gap_s)
check_eq detectors-a-ss-stall-gap "ok ok" \
	"$(q ss "near(d('serial-fallback', 'stall_min_ms', 'stall'), 1000 * $_gap, 500) + ' ' + near(d('serial-fallback', 'stall_max_ms', 'stall'), 1000 * $_gap, 500)")"
check_eq detectors-a-ss-switch "$(gt serial-stall serial_fallback)" \
	"$(q ss '"yes" if n("serial-fallback", "switch") == 1 else "no"')"
# the plan: 7 lookups; keydb-0.keydb (4 of them) walks 3 search domains
# and fails, keydb-1/keydb-2 resolve at the first search domain
check_eq detectors-a-ss-walks 4 "$(q ss 'cnt("search-walk")')"
check_eq detectors-a-ss-walk-wasted "$(gt serial-stall nxdomain_responses)" "$(q ss 'd("search-walk", "wasted")')"
check_eq detectors-a-ss-walk-failed 4 "$(q ss 'd("search-walk", "ended_failed")')"
run ss-min serial-stall --set serial-fallback.stall_min_s=6
check_eq detectors-a-ss-set-stall-min 0 "$(q ss-min 'n("serial-fallback", "stall")')"

# ---- serial-nostall: the same plan with real glibc 2.36 ------------------
run sn serial-nostall
check_eq detectors-a-sn-switch 1 "$(q sn 'n("serial-fallback", "switch")')"
check_eq detectors-a-sn-no-stall "$(gt serial-nostall stall)" \
	"$(q sn '"yes" if n("serial-fallback", "stall") else "no"')"
# keydb-0.keydb in serial mode twice (lookups 4 and 6): A SERVFAIL, A again at once
check_eq detectors-a-sn-moved-on 2 "$(q sn 'd("serial-fallback", "servfail_moved_on", "switch")')"

# ---- many processes on one host, 20% loss: lost replies, but no lasting switch
run un unanswered
check_eq detectors-a-unanswered-no-switch 0 "$(q un 'n("serial-fallback", "switch")')"
# the loss hits A and AAAA replies alike (drop_probability on every reply):
# slow AAAA answers, but as many slow A answers, so not an AAAA problem
check_eq detectors-a-unanswered-no-slow-aaaa 0 "$(q un 'n("slow-aaaa")')"
check_eq detectors-a-unanswered-no-slow-aaaa-tags 0 "$(ntx slow-aaaa unanswered)"
run un-asym unanswered --set slow-aaaa.asymmetry=0
check_eq detectors-a-unanswered-set-asymmetry 1 "$(q un-asym 'n("slow-aaaa")')"

# ---- slow-aaaa ------------------------------------------------------------------
run sa slow-aaaa
check_eq detectors-a-sa-one-finding 1 "$(q sa 'n("slow-aaaa")')"
check_eq detectors-a-sa-critical critical "$(q sa 'sev("slow-aaaa")')"
check_eq detectors-a-sa-pairs "$(gt slow-aaaa lookups)" "$(q sa 'd("slow-aaaa", "pairs")')"
check_eq detectors-a-sa-slow "$(gt slow-aaaa slow_aaaa_names)" "$(q sa 'd("slow-aaaa", "slow")')"
check_eq detectors-a-sa-failed "$(gt slow-aaaa never_aaaa_names)" "$(q sa 'd("slow-aaaa", "failed")')"
check_eq detectors-a-sa-count $(($(gt slow-aaaa slow_aaaa_names) + $(gt slow-aaaa never_aaaa_names))) \
	"$(q sa 'cnt("slow-aaaa")')"
check_eq detectors-a-sa-server 10.53.0.1 "$(q sa 'd("slow-aaaa", "server")')"
# tagged: the A and the AAAA transaction of each affected name (the AAAA
# re-sends are retransmissions of the same transaction)
check_eq detectors-a-sa-tx-tagged $((2 * ($(gt slow-aaaa slow_aaaa_names) + $(gt slow-aaaa never_aaaa_names)))) \
	"$(ntx slow-aaaa slow-aaaa)"
# slow1-3 took ~1 s, slow4-5 ~2 s: at 1.5 s only those answered NOERROR
# after 1.5 s or more are slow (from the latency.NAME lines)
_slow15=$(sed -n 's/^latency\..*AAAA=\([0-9.]*\)s\/NOERROR.*/\1/p' "$P/expected/slow-aaaa.txt" |
	awk '$1 >= 1.5 { n++ } END { print n + 0 }')
run sa-extra slow-aaaa --set slow-aaaa.slow_extra_s=1.5
check_eq detectors-a-sa-set-slow-extra "$_slow15 $(gt slow-aaaa never_aaaa_names)" \
	"$(q sa-extra 'str(d("slow-aaaa", "slow")) + " " + str(d("slow-aaaa", "failed"))')"

# ---- search-walk ----------------------------------------------------------------
run sw search-walk
# lookups_without_trailing_dot=7, but keydb-1.keydb resolves at the first
# search domain (queries_per_lookup keydb-1.keydb:2): 6 walks
_nodot=$(gt search-walk lookups_without_trailing_dot)
[ -n "$_nodot" ] || _nodot=$(gt search-walk search_walk_lookups) # older ground truth
check_eq detectors-a-sw-walks $((_nodot - 1)) "$(q sw 'cnt("search-walk")')"
check_eq detectors-a-sw-wasted "$(gt search-walk nxdomain_responses)" "$(q sw 'd("search-walk", "wasted")')"
check_eq detectors-a-sw-queries "$(gt search-walk queries)" "$(q sw 'd("search-walk", "queries")')"
check_eq detectors-a-sw-warning warning "$(q sw 'sev("search-walk")')"
# keydb-0.keydb ends in SERVFAIL; kube-dns.kube-system is found at the second domain
check_eq detectors-a-sw-ends "4 1 1" \
	"$(q sw '" ".join(str(d("search-walk", k)) for k in ("ended_noerror", "ended_failed", "ended_at_suffix"))')"
check_eq detectors-a-sw-search-list \
	"$(gt search-walk resolv_conf | sed 's/^search //; s/;.*//; s/\([^ ]*\)/\1./g')" \
	"$(q sw '" ".join(d("search-walk", "search"))')"
# tagged: the 32 NXDOMAIN queries and the queries that ended the walks:
# A+AAAA for 6 names, plus keydb-0.keydb's A+AAAA asked again after SERVFAIL
check_eq detectors-a-sw-tx-tagged $(($(gt search-walk nxdomain_responses) + 2 * 6 + 2)) "$(ntx search-walk search-walk)"
run sw-min search-walk --set search-walk.min_walks=7
check_eq detectors-a-sw-set-min-walks info "$(q sw-min 'sev("search-walk")')"

# ---- serial-fallback: send times too far apart for its compact records -----
# A buffered query keeps its send time in 48 bits after a base 2^47 ns
# (39 h) before the first one; later ones go to a wide side entry. Put one
# A query from another client 45 h before serial-stall.pcap: every query of
# the trace is then past the compact range, and the findings must be those
# of the trace alone (evidence one frame and one transaction later).
python3 - "$P/serial-stall.pcap" "$T/far.pcap" <<'PYEOF'
import struct, sys
src, dst = sys.argv[1:3]
data = open(src, "rb").read()
hdr, off = data[:24], 24
assert struct.unpack("<I", hdr[:4])[0] == 0xA1B2C3D4 and struct.unpack("<I", hdr[20:24])[0] == 1
while True:  # the first IPv4 UDP packet to port 53: the template
    sec, usec, incl, orig = struct.unpack("<IIII", data[off:off + 16])
    pkt = data[off + 16:off + 16 + incl]
    if pkt[12:14] == b"\x08\x00" and pkt[23] == 17 and pkt[36:38] == b"\x00\x35":
        break
    off += 16 + incl
ip = bytearray(pkt[14:34])
ip[12:16] = bytes([10, 53, 0, 99])  # another client
ip[10:12] = b"\x00\x00"
s = sum(struct.unpack("!10H", bytes(ip)))
s = (s & 0xFFFF) + (s >> 16)
ip[10:12] = struct.pack("!H", ~((s & 0xFFFF) + (s >> 16)) & 0xFFFF)
udp = bytearray(pkt[34:42])
udp[6:8] = b"\x00\x00"  # no checksum (allowed in IPv4)
new = pkt[:14] + bytes(ip) + bytes(udp) + pkt[42:]
rec = struct.pack("<IIII", sec - 45 * 3600, usec, len(new), len(new)) + new
open(dst, "wb").write(hdr + rec + data[24:])
PYEOF
"$DNSVET" report --json --detectors=serial-fallback "$P/serial-stall.pcap" >"$T/near.json" 2>/dev/null
"$DNSVET" report --json --detectors=serial-fallback "$T/far.pcap" >"$T/far.json" 2>/dev/null
check_eq detectors-a-sf-far-times-same-findings same "$(python3 - "$T/near.json" "$T/far.json" <<'PYEOF'
import json, sys
def findings(path, shift):
    fs = [f for f in json.load(open(path))["findings"] if f["detector"] == "serial-fallback"]
    for f in fs:
        for e in f["evidence"]:
            e["txn"] -= shift
            for k in ("query", "response"):
                if e.get(k):
                    e[k]["frame"] -= shift
                    e[k]["file"] = "-"
    return fs
near, far = findings(sys.argv[1], 0), findings(sys.argv[2], 1)
print("same" if near and near == far else "different: %d findings, then %d" % (len(near), len(far)))
PYEOF
)"
