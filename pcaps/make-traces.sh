#!/usr/bin/env bash
# make-traces.sh - build dnsvet's test captures from real parts.
#
# Real DNS servers (dnsmasq, unbound, BIND named) and real clients (glibc's
# getaddrinfo via tools/resolve.c, dig, dnsperf) run in throw-away network
# namespaces joined by veth pairs; faults are injected with iptables; tcpdump
# records what crosses the wire.  Only serial-stall.pcap uses a scripted
# client (tools/glibc227_stub.py: it emulates glibc 2.27, which Debian 12
# cannot run); its server and its fault are real.
#
# usage: sudo pcaps/make-traces.sh [TRACE...]     (default: all traces)
#   TRACE is a file name without .pcap: healthy healthy-busy serial-fallback
#   serial-stall serial-nostall retry-timeout unanswered search-walk
#   tcp-fallback slow-aaaa servfail-burst rate-limit ptr-flood
#   Environment: DV_KEEP=1 keeps the work directory (/tmp/dv-traces-TAG)
#   with server logs and client output; DV_TAG=N sets the name tag.
# Writes pcaps/*.pcap and pcaps/expected/*.txt (ground truth checked with
# tshark; the script stops with "check failed" if a trace does not show
# what it should).  A full run takes about 5 minutes (longer on a busy host).
#
# Traffic stays on loopback and inside the namespaces this script creates
# (10.53.0.0/24, 10.53.1.0/24, fd53::/64).  Namespaces carry a per-run tag so
# concurrent runs do not clash; everything started is removed on exit.
#
# See pcaps/README.md for what each trace shows and its ground truth.
set -eu
set -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=$HERE
EXP=$HERE/expected
TAG=${DV_TAG:-$(( $$ % 100000 ))}
NS_C=dv-cli-$TAG          # client
NS_S=dv-srv-$TAG          # server / resolver
NS_U=dv-up-$TAG           # upstream of the resolver (some traces)
IF_C=dv${TAG}c            # client end of client<->server veth (in NS_C)
IF_S=dv${TAG}s            # server end (in NS_S)
IF_SU=dv${TAG}t           # server end of server<->upstream veth (in NS_S)
IF_U=dv${TAG}u            # upstream end (in NS_U)
WORK=/tmp/dv-traces-$TAG
PY=/usr/bin/python3
RESOLVE=$WORK/resolve
PIDS=()
NAMESPACES=()

log() { printf '[make-traces %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (network namespaces, iptables)"

# ---------------------------------------------------------------- cleanup ---
cleanup() {
    local rc=$? pid ns
    set +e
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${PIDS[@]}"; do
        # bounded wait, then SIGKILL that same PID
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    PIDS=()
    for ns in "${NAMESPACES[@]}"; do
        ip netns del "$ns" 2>/dev/null
        rm -rf "/etc/netns/$ns"
    done
    NAMESPACES=()
    if [ "${DV_KEEP:-0}" != 1 ]; then rm -rf "$WORK"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ------------------------------------------------------------------ tools ---
need_tools() {
    local missing=()
    command -v dnsmasq  >/dev/null || missing+=(dnsmasq-base)
    command -v unbound  >/dev/null || missing+=(unbound)
    command -v named    >/dev/null || missing+=(bind9)
    command -v dig      >/dev/null || missing+=(dnsutils)
    command -v iptables >/dev/null || missing+=(iptables)
    command -v ip       >/dev/null || missing+=(iproute2)
    command -v tcpdump  >/dev/null || missing+=(tcpdump)
    command -v tshark   >/dev/null || missing+=(tshark)
    command -v dnsperf  >/dev/null || missing+=(dnsperf)
    command -v gcc      >/dev/null || missing+=(gcc)
    command -v taskset  >/dev/null || missing+=(util-linux)
    command -v ethtool  >/dev/null || missing+=(ethtool)
    [ -x "$PY" ]                   || missing+=(python3)
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing: ${missing[*]}"
        for _ in $(seq 1 30); do    # apt may be locked by another process
            if DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"; then
                return 0
            fi
            log "apt-get failed (locked?), retrying in 10 s"
            sleep 10
        done
        die "could not install ${missing[*]}"
    fi
}

# ---------------------------------------------------------------- network ---
# topo [up]: client ns <-> server ns; with "up" also server ns <-> upstream ns.
topo() {
    teardown
    ip netns add "$NS_C"; NAMESPACES+=("$NS_C")
    ip netns add "$NS_S"; NAMESPACES+=("$NS_S")
    ip link add "$IF_C" netns "$NS_C" type veth peer name "$IF_S" netns "$NS_S"
    local ns
    for ns in "$NS_C" "$NS_S"; do
        ip -n "$ns" link set lo up
        ip netns exec "$ns" ethtool -K lo tx off >/dev/null
    done
    ip -n "$NS_C" addr add 10.53.0.2/24 dev "$IF_C"
    ip -n "$NS_C" addr add fd53::2/64 dev "$IF_C" nodad
    ip -n "$NS_S" addr add 10.53.0.1/24 dev "$IF_S"
    ip -n "$NS_S" addr add fd53::1/64 dev "$IF_S" nodad
    # no offloads: tcpdump then sees the packets as sent (valid checksums)
    ip netns exec "$NS_C" ethtool -K "$IF_C" tx off >/dev/null
    ip netns exec "$NS_S" ethtool -K "$IF_S" tx off >/dev/null
    ip -n "$NS_C" link set "$IF_C" up
    ip -n "$NS_S" link set "$IF_S" up
    if [ "${1:-}" = up ]; then
        ip netns add "$NS_U"; NAMESPACES+=("$NS_U")
        ip link add "$IF_SU" netns "$NS_S" type veth peer name "$IF_U" netns "$NS_U"
        ip -n "$NS_U" link set lo up
        ip netns exec "$NS_U" ethtool -K lo tx off >/dev/null
        ip -n "$NS_S" addr add 10.53.1.1/24 dev "$IF_SU"
        ip -n "$NS_U" addr add 10.53.1.2/24 dev "$IF_U"
        ip netns exec "$NS_S" ethtool -K "$IF_SU" tx off >/dev/null
        ip netns exec "$NS_U" ethtool -K "$IF_U" tx off >/dev/null
        ip -n "$NS_S" link set "$IF_SU" up
        ip -n "$NS_U" link set "$IF_U" up
    fi
    mkdir -p "/etc/netns/$NS_C"
    resolv "options timeout:5 attempts:2"
}

# resolv LINE...: write the client namespace's resolv.conf
resolv() {
    {
        echo "# written by make-traces.sh"
        echo "nameserver 10.53.0.1"
        local l
        for l in "$@"; do echo "$l"; done
    } > "/etc/netns/$NS_C/resolv.conf"
}

# stop all processes of the current trace and delete its namespaces
teardown() {
    local pid ns
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 1 25); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    PIDS=()
    for ns in "${NAMESPACES[@]}"; do
        ip netns del "$ns" 2>/dev/null || true
        rm -rf "/etc/netns/$ns"
    done
    NAMESPACES=()
}

# bg NS LOGFILE CMD...: start CMD in namespace NS in the background
bg() {
    local ns=$1 logf=$2; shift 2
    ip netns exec "$ns" "$@" >"$logf" 2>&1 &
    PIDS+=($!)
    LASTPID=$!
}

# stop PID: stop one process we started (SIGTERM, bounded wait, SIGKILL)
stop() {
    local pid=$1 sig=${2:-TERM}
    kill -"$sig" "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    forget "$pid"
}

# forget PID: drop a reaped PID from PIDS (so a recycled PID is never killed)
forget() {
    local p keep=()
    for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

in_c() { ip netns exec "$NS_C" "$@"; }
in_s() { ip netns exec "$NS_S" "$@"; }
in_u() { ip netns exec "$NS_U" "$@"; }

# wait_dns NS SERVER NAME [TYPE]: bounded wait until SERVER answers
wait_dns() {
    local ns=$1 srv=$2 name=$3 type=${4:-A}
    for _ in $(seq 1 50); do
        if ip netns exec "$ns" dig +time=1 +tries=1 +short "@$srv" "$name" "$type" \
               >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.2
    done
    die "server $srv in $ns does not answer $name $type"
}

# ---------------------------------------------------------------- capture ---
# cap_start NS IFACE FILE [extra tcpdump args]: start tcpdump, wait until ready
cap_start() {
    local ns=$1 ifc=$2 file=$3; shift 3
    rm -f "$file"
    bg "$ns" "$WORK/tcpdump.log" tcpdump -n -Z root -i "$ifc" --immediate-mode -B 16384 -U -w "$file" "$@" \
        'port 53 or icmp or icmp6'
    CAPPID=$LASTPID
    for _ in $(seq 1 150); do
        grep -q 'listening on' "$WORK/tcpdump.log" 2>/dev/null && break
        kill -0 "$CAPPID" 2>/dev/null || break
        sleep 0.1
    done
    grep -q 'listening on' "$WORK/tcpdump.log" ||
        die "tcpdump did not start: $(cat "$WORK/tcpdump.log")"
    sleep 0.3
}

cap_stop() {
    sleep 0.5            # let the last replies in
    stop "$CAPPID" INT
    log "$(grep -E 'packets (captured|received|dropped)' "$WORK/tcpdump.log" | tr '\n' ' ')"
    local lost
    lost=$(awk '/packets dropped by kernel/{print $1}' "$WORK/tcpdump.log")
    [ "${lost:-0}" = 0 ] || die "tcpdump lost $lost packets: ground truth would be wrong"
}

# udp_rcvbuf_errors NS: UDP datagrams dropped because a socket buffer was full
udp_rcvbuf_errors() {
    ip netns exec "$1" cat /proc/net/snmp | awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) n[$i] = i; h = 1 } else print $n["RcvbufErrors"] }'
}

# -------------------------------------------------------------- iptables ---
# hex digits of a DNS name in wire format (labels, length-prefixed, then 00)
wirehex() {
    local name=$1 out="" label i
    local IFS=.
    for label in $name; do
        out+=$(printf '%02x' "${#label}")
        for ((i = 0; i < ${#label}; i++)); do
            out+=$(printf '%02x' "'${label:i:1}")
        done
    done
    printf '%s00' "$out"
}
# --hex-string for a name anywhere in a packet
wire() { printf '|%s|' "$(wirehex "$1")"; }
# --hex-string for a question (name followed by qtype and class IN): this
# matches the question section only, never a compressed answer
wireq() {
    local t
    case $2 in A) t=0001 ;; AAAA) t=001c ;; PTR) t=000c ;; TXT) t=0010 ;;
               MX) t=000f ;; *) die "wireq: unknown type $2" ;; esac
    printf '|%s%s0001|' "$(wirehex "$1")" "$t"
}

# ----------------------------------------------------------------- servers ---
COMMON_HOSTS="www api db cache mail web1 web2 auth cdn img"

start_dnsmasq() {   # start_dnsmasq NS [extra args]  (listens on all of NS's addresses)
    local ns=$1; shift
    local args=(-k --conf-file=/dev/null --no-resolv --no-hosts --no-poll
                --bind-interfaces --user=root --group=root --cache-size=0
                --pid-file="$WORK/dnsmasq-$ns.pid" --log-queries=extra
                --log-facility="$WORK/dnsmasq-$ns.log"
                --local=/test/ --local=/53.10.in-addr.arpa/
                --local=/cluster.local/)
    local i=1 h
    for h in $COMMON_HOSTS; do
        args+=(--host-record="$h.example.test,10.53.10.$i,fd53:10::$i")
        args+=(--ptr-record="$i.10.53.10.in-addr.arpa,$h.example.test")
        i=$((i + 1))
    done
    # shellcheck disable=SC2054  # commas are dnsmasq syntax
    args+=(--mx-host=example.test,mail.example.test,10
           --txt-record=example.test,"v=spf1 ip4:10.53.10.0/24 -all"
           --txt-record=_dmarc.example.test,"v=DMARC1; p=reject")
    bg "$ns" "$WORK/dnsmasq-$ns.out" dnsmasq "${args[@]}" "$@"
    DNSMASQ_PID=$LASTPID
}

# unbound with local data; $1 = ns, $2 = listen addresses (space separated),
# $3 = extra server: clauses (file content), $4 = extra top-level clauses
start_unbound() {
    local ns=$1 addrs=$2 extra=${3:-} top=${4:-} conf=$WORK/unbound-$1.conf a i=1 h
    {
        echo "server:"
        for a in $addrs; do echo "  interface: $a"; done
        cat <<EOF
  port: 53
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "$WORK"
  pidfile: "$WORK/unbound-$ns.pid"
  use-syslog: no
  logfile: "$WORK/unbound-$ns.log"
  verbosity: 1
  num-threads: 1
  so-reuseport: no
  module-config: "iterator"
  access-control: 0.0.0.0/0 allow
  access-control: ::/0 allow
  do-not-query-localhost: no
  qname-minimisation: no
  harden-referral-path: no
  msg-cache-size: 1m
  rrset-cache-size: 1m
EOF
        [ "${UB_LOCAL:-1}" = 1 ] && cat <<EOF
  local-zone: "example.test." static
  local-data: "example.test. 300 IN MX 10 mail.example.test."
  local-data: 'example.test. 300 IN TXT "v=spf1 ip4:10.53.10.0/24 -all"'
  local-zone: "10.53.10.in-addr.arpa." static
EOF
        [ "${UB_LOCAL:-1}" = 1 ] && for h in $COMMON_HOSTS; do
            echo "  local-data: \"$h.example.test. 300 IN A 10.53.10.$i\""
            echo "  local-data: \"$h.example.test. 300 IN AAAA fd53:10::$i\""
            echo "  local-data-ptr: \"10.53.10.$i $h.example.test.\""
            i=$((i + 1))
        done
        printf '%s\n' "$extra"
        echo "remote-control:"
        echo "  control-enable: no"
        printf '%s\n' "$top"
    } > "$conf"
    unbound-checkconf "$conf" >/dev/null || die "bad unbound config $conf"
    bg "$ns" "$WORK/unbound-$ns.out" unbound -d -c "$conf"
    UNBOUND_PID=$LASTPID    # for callers that pin or stop it
    export UNBOUND_PID
}

# named: $1 = ns, $2 = listen addr, $3 = zone statements (file content)
start_named() {
    local ns=$1 addr=$2 zones=$3 dir=$WORK/named-$1
    mkdir -p "$dir"
    cat > "$dir/named.conf" <<EOF
options {
    directory "$dir";
    pid-file "$dir/named.pid";
    listen-on port 53 { $addr; };
    listen-on-v6 { none; };
    recursion no;
    dnssec-validation no;
    notify no;
    minimal-responses yes;
    rate-limit { responses-per-second 0; };
};
controls { };
logging { channel c { file "$dir/named.log"; severity info; print-time yes; };
          category default { c; }; category queries { c; }; };
$zones
EOF
    named-checkconf "$dir/named.conf" || die "bad named config"
    bg "$ns" "$WORK/named-$ns.out" named -g -u root -n 1 -c "$dir/named.conf"
    NAMED_PID=$LASTPID
}

# zone FILE ORIGIN RECORD...: write a zone file with SOA and NS
zone() {
    local f=$1 origin=$2; shift 2
    {
        echo "\$TTL 300"
        echo "@ IN SOA ns.$origin. hostmaster.$origin. 1 3600 600 86400 30"
        echo "@ IN NS ns.$origin."
        echo "ns IN A 10.53.0.1"
        local r
        for r in "$@"; do echo "$r"; done
    } > "$f"
}

# start_named_std NS: named with the zones used by several traces
#   example.test   the 10 common hosts (A+AAAA), lose*/drop*/slow* hosts,
#                  many.example.test (40 A records: 680-byte answer),
#                  big.example.test (TXT, about 1.3 KB)
#   broken.test    zone file that fails to load: every query gets SERVFAIL
#   cluster.local  kube-dns.kube-system.svc.cluster.local etc.; all other
#                  names under cluster.local get NXDOMAIN
#   internal       db.internal, api.internal, queue.internal (bare names)
#   keydb          fails to load: keydb-0.keydb gets SERVFAIL (as CoreDNS did)
start_named_std() {
    local ns=$1 d=$WORK/named-$1 recs=() i=1 h
    mkdir -p "$d"
    for h in $COMMON_HOSTS lose lose2 drop1 drop2 drop3 gone dig1 dig2 ub1 ub2 \
             slow1 slow2 slow3 slow4 slow5 never1 never2 never3 never4 never5; do
        recs+=("$h IN A 10.53.10.$i" "$h IN AAAA fd53:10::$i")
        i=$((i + 1))
    done
    for i in $(seq 1 40); do recs+=("many IN A 10.53.20.$i"); done
    for i in 1 2 3 4 5 6; do
        recs+=("big IN TXT \"part-$i $(printf 'x%.0s' $(seq 1 200))\"")
    done
    recs+=("@ IN MX 10 mail" "@ IN TXT \"v=spf1 ip4:10.53.10.0/24 -all\"")
    recs+=("*.burst IN A 10.53.40.1")
    zone "$d/example.test.zone" example.test "${recs[@]}"
    zone "$d/cluster.local.zone" cluster.local \
        "kube-dns.kube-system.svc IN A 10.96.0.10" \
        "keydb-1.keydb.default.svc IN A 10.244.1.7" \
        "keydb-2.keydb.default.svc IN A 10.244.2.9" \
        "keydb.default.svc IN A 10.244.1.7" "keydb.default.svc IN A 10.244.2.9"
    zone "$d/internal.zone" internal \
        "db IN A 10.53.30.1" "db IN AAAA fd53:30::1" \
        "api IN A 10.53.30.2" "api IN AAAA fd53:30::2" \
        "queue IN A 10.53.30.3"
    zone "$d/104.in-addr.arpa.zone" 104.in-addr.arpa \
        "229.132.16 IN PTR www.cloudflare.example." "14.24.17 IN PTR cdn.cloudflare.example."
    printf 'this is not a zone file\n' > "$d/broken.zone"
    start_named "$ns" "${2:-10.53.0.1}" "
zone \"example.test\" { type primary; file \"$d/example.test.zone\"; };
zone \"cluster.local\" { type primary; file \"$d/cluster.local.zone\"; };
zone \"internal\" { type primary; file \"$d/internal.zone\"; };
zone \"104.in-addr.arpa\" { type primary; file \"$d/104.in-addr.arpa.zone\"; };
zone \"broken.test\" { type primary; file \"$d/broken.zone\"; };
zone \"keydb\" { type primary; file \"$d/broken.zone\"; };"
}

# ------------------------------------------------------------ tshark helpers ---
# count FILE FILTER: number of packets matching a display filter
# DNS inside ICMP errors (a reply quoted by "port unreachable") is not DNS
# traffic for these counts: every DNS filter below excludes ICMP
NI='!icmp && !icmpv6'
count() {
    local flt="$NI && ($2)"
    case $2 in *icmp*) flt=$2 ;; esac
    tshark -n -r "$1" -Y "$flt" 2>/dev/null | wc -l | tr -d ' '
}
# unanswered FILE: queries with no response (two-pass analysis)
unanswered() { tshark -n -2 -r "$1" -Y "$NI && dns.flags.response==0 && !dns.response_in" 2>/dev/null | wc -l | tr -d ' '; }

# expect TRACE key=value...: write pcaps/expected/TRACE.txt
expect() {
    local t=$1; shift
    {
        echo "# ground truth for $t.pcap, written by make-traces.sh $(date -u +%FT%TZ)"
        printf '%s\n' "$@"
    } > "$EXP/$t.txt"
}

summary() {   # summary FILE: one line with basic counts, for the log
    local f=$1
    log "$(basename "$f"): $(stat -c %s "$f") bytes, $(count "$f" dns) dns packets," \
        "$(count "$f" 'dns.flags.response==0') queries, $(count "$f" 'dns.flags.response==1') responses," \
        "$(unanswered "$f") unanswered"
}

# check DESCRIPTION ACTUAL EXPECTED: verify a ground-truth number
check() {
    if [ "$2" != "$3" ]; then
        die "check failed: $1: got $2, expected $3"
    fi
    log "ok: $1 = $2"
}

# ================================================================= traces ===
# names used by the glibc workloads (all exist in every server's data)
NAMES10=""
for h in $COMMON_HOSTS; do NAMES10+=" $h.example.test"; done

# the healthy workload: 40 AF_UNSPEC lookups of 10 names (each name 4 times,
# 100 ms apart) plus 4 dig queries (MX, TXT, PTR over IPv4, AAAA over IPv6).
# $1 = trace name, $2... = command prefix for the resolver (e.g. taskset)
healthy_workload() {
    local t=$1; shift
    # shellcheck disable=SC2086
    in_c "$@" "$RESOLVE" -n 40 -d 100 $NAMES10 > "$WORK/$t.resolve.log"
    in_c dig +tries=1 +time=2 @10.53.0.1 example.test MX   > "$WORK/$t.dig.log"
    in_c dig +tries=1 +time=2 @10.53.0.1 example.test TXT  >> "$WORK/$t.dig.log"
    in_c dig +tries=1 +time=2 @10.53.0.1 -x 10.53.10.3     >> "$WORK/$t.dig.log"
    in_c dig +tries=1 +time=2 @fd53::1 www.example.test AAAA >> "$WORK/$t.dig.log"
}

# pair_modes FILE: print "parallel serial" counts of glibc A+AAAA pairs
# (same client port and name): serial when the AAAA query leaves after the
# A response arrived, parallel when it leaves before.
pair_modes() {
    tshark -n -r "$1" -T fields -E separator=' ' \
        -e frame.time_epoch -e udp.srcport -e udp.dstport -e dns.id \
        -e dns.flags.response -e dns.qry.type -e dns.qry.name \
        -Y "$NI && udp && dns" 2>/dev/null | "$PY" -c '
import sys
st = {}
par = ser = 0
for line in sys.stdin:
    f = line.split()
    if len(f) < 7: continue
    t, sp, dp, resp, qt, qn = float(f[0]), f[1], f[2], f[4], f[5], f[6]
    isresp = resp in ("1", "True")
    s = st.setdefault((dp if isresp else sp, qn), {})
    if not isresp:
        if qt == "1" and "aq" not in s: s["aq"] = t
        if qt == "28" and "q6" not in s:
            s["q6"] = t
            if "ar" in s: ser += 1
            elif "aq" in s: par += 1
    elif qt == "1" and "ar" not in s:
        s["ar"] = t
print(par, ser)'
}

# the A/AAAA pairs in order, one letter per pair: P parallel, S serial
pair_pattern() {
    tshark -n -r "$1" -T fields -E separator=' ' \
        -e frame.time_epoch -e udp.srcport -e udp.dstport \
        -e dns.flags.response -e dns.qry.type -e dns.qry.name \
        -Y "$NI && udp && dns" 2>/dev/null | "$PY" -c '
import sys
st = {}; out = []
for line in sys.stdin:
    f = line.split()
    if len(f) < 6: continue
    isresp = f[3] in ("1", "True")
    s = st.setdefault((f[2] if isresp else f[1], f[5]), {})
    if not isresp and f[4] == "28" and "q6" not in s and "aq" in s:
        s["q6"] = 1
        out.append("S" if "ar" in s else "P")
    elif isresp and f[4] == "1":
        s["ar"] = 1
    elif not isresp and f[4] == "1":
        s["aq"] = 1
print("".join(out))'
}

NCPU=$(nproc)

trace_healthy() {
    local t=healthy f=$OUT/healthy.pcap pre=() try pat
    for try in 1 2 3; do
        topo
        start_dnsmasq "$NS_S"
        # client and server on different CPUs: on one CPU the woken server
        # can preempt the client between its two datagrams (healthy-busy)
        if [ "$NCPU" -ge 2 ]; then taskset -p -c 0 "$DNSMASQ_PID" >/dev/null; pre=(taskset -c 1); fi
        wait_dns "$NS_C" 10.53.0.1 www.example.test
        cap_start "$NS_C" "$IF_C" "$f"
        healthy_workload $t "${pre[@]}"
        cap_stop
        # even so, on a loaded host a fast reply can overtake the second
        # datagram (often in the process's first, cold lookup): try again
        pat=$(pair_pattern "$f")
        case $pat in *S*) log "$t try $try: serial-looking pair(s): $pat" ;; *) break ;; esac
        teardown
    done
    summary "$f"
    local q r u par ser
    q=$(count "$f" 'dns.flags.response==0'); r=$(count "$f" 'dns.flags.response==1')
    u=$(unanswered "$f")
    check "$t queries" "$q" 84
    check "$t responses" "$r" 84
    check "$t unanswered" "$u" 0
    check "$t failed lookups" "$(grep -vc 'rc=0' "$WORK/$t.resolve.log" || true)" 0
    read -r par ser < <(pair_modes "$f")
    check "$t A/AAAA pairs" "$((par + ser))" 40
    log "$t pair pattern: $(pair_pattern "$f")"
    expect $t "server=dnsmasq" "lookups=40" "names=10" "queries=$q" "responses=$r" \
        "unanswered=$u" "dropped_replies=0" "a_aaaa_pairs=40" "parallel_pairs=$par" \
        "serial_looking_pairs=$ser" "pair_pattern=$(pair_pattern "$f")" "serial_fallback=no" "dig_queries=4" \
        "ipv6_transport_queries=1" "rcode_noerror=$(count "$f" 'dns.flags.rcode==0 && dns.flags.response==1')"
}

# healthy-busy: the same workload while both CPUs run a busy loop (bounded by
# timeout).  Nothing is lost; some parallel pairs look serial because the
# server's A reply overtakes the client's second datagram.
trace_healthy_busy() {
    local t=healthy-busy f=$OUT/healthy-busy.pcap try par ser busy_pids=() c i
    for try in 1 2 3; do
        topo
        start_dnsmasq "$NS_S"
        wait_dns "$NS_C" 10.53.0.1 www.example.test
        busy_pids=()
        for c in $(seq 0 $((NCPU > 2 ? 1 : NCPU - 1))); do
            bg "$NS_C" /dev/null taskset -c "$c" timeout 30 sh -c 'while :; do :; done'
            busy_pids+=("$LASTPID")
        done
        sleep 0.5
        cap_start "$NS_C" "$IF_C" "$f"
        healthy_workload $t
        cap_stop
        for i in "${busy_pids[@]}"; do stop "$i"; done
        read -r par ser < <(pair_modes "$f")
        log "$t try $try: $par parallel, $ser serial-looking pairs: $(pair_pattern "$f")"
        [ "$ser" -ge 2 ] && break
        teardown
    done
    summary "$f"
    local q r u
    q=$(count "$f" 'dns.flags.response==0'); r=$(count "$f" 'dns.flags.response==1')
    u=$(unanswered "$f")
    check "$t queries" "$q" 84
    check "$t responses" "$r" 84
    check "$t unanswered" "$u" 0
    check "$t failed lookups" "$(grep -vc 'rc=0' "$WORK/$t.resolve.log" || true)" 0
    check "$t A/AAAA pairs" "$((par + ser))" 40
    [ "$ser" -ge 1 ] || log "WARNING: $t shows no serial-looking pair this time"
    expect $t "server=dnsmasq" "lookups=40" "names=10" "queries=$q" "responses=$r" \
        "unanswered=$u" "dropped_replies=0" "a_aaaa_pairs=40" "parallel_pairs=$par" \
        "serial_looking_pairs=$ser" "pair_pattern=$(pair_pattern "$f")" "serial_fallback=no" "dig_queries=4" \
        "ipv6_transport_queries=1" "busy_loops=$NCPU"
}

# msgs FILE FILTER VALUE: number of DNS messages (not frames: one TCP
# segment can carry several) whose dns.flags.response equals VALUE
msgs() {
    tshark -n -r "$1" -Y "$NI && ($2)" -T fields -e dns.flags.response 2>/dev/null |
        tr ',' '\n' | grep -c "^$3\$" || true
}

# dnsfields FILE [FILTER]: one line per DNS packet:
# time proto sport dport id qr rcode qtype qname (tab separated)
dnsfields() {
    tshark -n -r "$1" -Y "$NI && (${2:-dns})" -T fields -E separator=/t \
        -e frame.time_epoch -e ip.proto -e ipv6.nxt -e udp.srcport -e udp.dstport \
        -e tcp.srcport -e tcp.dstport -e dns.id -e dns.flags.response \
        -e dns.flags.rcode -e dns.qry.type -e dns.qry.name 2>/dev/null
}

# retries FILE: queries sent more than once with the same id, name and type
# (glibc resends keep the id), with the ports used and the intervals
retries() {
    dnsfields "$1" 'dns.flags.response==0' | "$PY" -c '
import sys, collections
g = collections.OrderedDict()
for line in sys.stdin:
    f = line.rstrip("\n").split("\t")
    t = float(f[0]); sport = f[3] or f[5]
    qid, qtype, qname = f[7], f[10], f[11]
    g.setdefault((qid, qname, qtype), []).append((t, sport))
for (qid, qname, qtype), v in g.items():
    if len(v) < 2: continue
    iv = ",".join("%.3f" % (b[0] - a[0]) for a, b in zip(v, v[1:]))
    ports = ",".join(p for _, p in v)
    print("%s %s id=%s sends=%d ports=%s intervals=%s" % (qname, {"1":"A","28":"AAAA","12":"PTR","16":"TXT"}.get(qtype, qtype), qid, len(v), ports, iv))
'
}

# serial-fallback: one glibc 2.36 process (one thread) resolving a name
# every 0.8 s.  Lookup 9 (lose.example.test) loses its AAAA reply once; glibc
# waits 5 s, sets RES_SNGLKUP, resends A then AAAA serially, and stays
# serial.  www.broken.test gets SERVFAIL: at lookup 6 (parallel mode) and at
# lookups 17 and 22 (serial mode).
SF_NAMES="www api db cache mail web1 broken web2 auth lose cdn img www api db cache mail broken web1 web2 auth img broken www api"
trace_serial_fallback() {
    local t=serial-fallback f=$OUT/serial-fallback.pcap try names="" n pre=() pat
    for n in $SF_NAMES; do
        if [ "$n" = broken ]; then names+=" www.broken.test"; else names+=" $n.example.test"; fi
    done
    for try in 1 2 3 4; do
        topo
        resolv "options timeout:5 attempts:2"
        start_named_std "$NS_S"
        if [ "$NCPU" -ge 2 ]; then taskset -p -c 0 "$NAMED_PID" >/dev/null; pre=(taskset -c 1); fi
        wait_dns "$NS_C" 10.53.0.1 www.example.test
        # drop the first AAAA reply for lose.example.test, and only that one
        in_s iptables -A OUTPUT -p udp --sport 53 -m string --algo bm \
            --hex-string "$(wireq lose.example.test AAAA)" \
            -m statistic --mode nth --every 1000000 --packet 0 -j DROP
        cap_start "$NS_C" "$IF_C" "$f"
        # shellcheck disable=SC2086
        in_c "${pre[@]}" "$RESOLVE" -d 800 $names > "$WORK/$t.resolve.log" || true
        cap_stop
        DROPPED=$(in_s iptables -nvxL OUTPUT | awk '$3=="DROP"{s+=$1} END{print s+0}')
        pat=$(pair_pattern "$f")
        log "$t try $try: pair pattern $pat"
        [ "$pat" = PPPPPPPPPPSSSSSSSSSSSSS ] && break
        # on a loaded host a fast reply can overtake the AAAA datagram and
        # make a parallel pair look serial; after 4 tries accept that, as
        # long as everything after the switch is serial
        if [ "$try" = 4 ] && [ "${pat:10}" = SSSSSSSSSSSSS ] && [ "${#pat}" = 23 ]; then
            log "WARNING: $t: serial-looking pair(s) before the switch: $pat"
            break
        fi
        teardown
    done
    summary "$f"
    cat "$WORK/$t.resolve.log" >&2
    retries "$f" | tee "$WORK/$t.retries" >&2
    local q r u par ser
    q=$(count "$f" 'dns.flags.response==0'); r=$(count "$f" 'dns.flags.response==1')
    u=$(unanswered "$f")
    read -r par ser < <(pair_modes "$f")
    check "$t pairs after the switch" "${pat:10}" SSSSSSSSSSSSS
    check "$t A/AAAA pairs" "${#pat}" 23
    check "$t dropped replies (iptables counter)" "$DROPPED" 1
    check "$t unanswered queries" "$u" 1
    check "$t queries" "$q" 54
    check "$t responses" "$r" 53
    check "$t SERVFAIL responses" "$(count "$f" 'dns.flags.rcode==2')" 8
    check "$t AAAA queries for www.broken.test" \
        "$(count "$f" 'dns.flags.response==0 && dns.qry.type==28 && dns.qry.name=="www.broken.test"')" 2
    local lose_iv
    lose_iv=$(awk '/^lose.example.test A /{sub(/.*intervals=/,""); print}' "$WORK/$t.retries")
    expect $t "server=named" "glibc=$(ldd --version | head -1 | awk '{print $NF}')" \
        "lookups=25" "queries=$q" "responses=$r" "unanswered=$u" "dropped_replies=$DROPPED" \
        "dropped_reply=AAAA lose.example.test (lookup 9)" \
        "a_aaaa_pairs=$((par + ser))" "parallel_pairs=$par" "serial_pairs=$ser" \
        "pair_pattern=$pat" "serial_fallback=yes" "switch_lookup=lose.example.test" \
        "switch_retry_interval_s=$lose_iv" "switch_retry_same_port=yes" "switch_retry_same_id=yes" \
        "servfail_lookups=3" "servfail_responses=8" \
        "servfail_parallel_mode=A+AAAA both SERVFAIL, both resent at once on the same port" \
        "servfail_serial_mode=A SERVFAIL, A resent at once on a new port, SERVFAIL, no AAAA query" \
        "stall_after_servfail=no"
}

# drop_first NS NAME TYPE N: in NS, drop the first N replies to the question
# NAME/TYPE (each rule drops the first packet that reaches it)
drop_first() {
    local ns=$1 name=$2 type=$3 n=$4 i
    for i in $(seq 1 "$n"); do
        ip netns exec "$ns" iptables -A OUTPUT -p udp --sport 53 -m string --algo bm \
            --hex-string "$(wireq "$name" "$type")" \
            -m statistic --mode nth --every 1000000 --packet 0 -j DROP
    done
}
# drop_all NS NAME TYPE: drop every reply to the question NAME/TYPE
drop_all() {
    ip netns exec "$1" iptables -A OUTPUT -p udp --sport 53 -m string --algo bm \
        --hex-string "$(wireq "$2" "$3")" -j DROP
}
# dropped NS: sum of the DROP counters in NS's OUTPUT chain
dropped() {
    ip netns exec "$1" iptables -nvxL OUTPUT | awk '$3=="DROP"{s+=$1} END{print s+0}'
}

# retry-timeout: glibc (default 5 s timeout, attempts:3) and dig (+tries=3
# +timeout=2) against named; iptables drops the first reply/replies of some
# questions and every reply of one.
trace_retry_timeout() {
    local t=retry-timeout f=$OUT/retry-timeout.pcap pre=()
    topo
    resolv "options attempts:3"
    start_named_std "$NS_S"
    if [ "$NCPU" -ge 2 ]; then taskset -p -c 0 "$NAMED_PID" >/dev/null; pre=(taskset -c 1); fi
    wait_dns "$NS_C" 10.53.0.1 www.example.test
    local ty
    for ty in A AAAA; do
        drop_first "$NS_S" drop1.example.test $ty 1    # first try lost
        drop_first "$NS_S" drop2.example.test $ty 1    # first try lost
        drop_first "$NS_S" drop3.example.test $ty 2    # first two tries lost
        drop_all   "$NS_S" gone.example.test $ty       # all three tries lost
    done
    drop_first "$NS_S" dig1.example.test A 2              # dig: 2 of 3 tries lost
    drop_all   "$NS_S" dig2.example.test A                # dig: all lost
    drop_first "$NS_S" ub1.example.test A 2               # unbound: 2 lost
    # a caching forwarder in the client namespace (like a node-local cache)
    UB_LOCAL=0 start_unbound "$NS_C" 127.0.0.1 '  local-zone: "test." nodefault
forward-zone:
  name: "."
  forward-addr: 10.53.0.1'
    wait_dns "$NS_C" 127.0.0.1 www.example.test
    cap_start "$NS_C" "$IF_C" "$f"
    # dig and the unbound forwarder run alongside the glibc client (2 s in)
    ( sleep 2
      in_c dig +tries=3 +timeout=2 @10.53.0.1 dig1.example.test A || true
      in_c dig +tries=3 +timeout=2 @10.53.0.1 dig2.example.test A || true
      in_c dig +tries=1 +timeout=15 @127.0.0.1 ub1.example.test A || true
    ) > "$WORK/$t.dig.log" 2>&1 &
    local digs=$!
    in_c "${pre[@]}" "$RESOLVE" -d 500 www.example.test drop1.example.test \
        api.example.test drop2.example.test db.example.test drop3.example.test \
        cache.example.test gone.example.test mail.example.test \
        > "$WORK/$t.resolve.log" || true
    wait "$digs" || true
    cap_stop
    DROPPED=$(dropped "$NS_S")
    in_s iptables -nvxL OUTPUT > "$WORK/$t.iptables"
    summary "$f"
    cat "$WORK/$t.resolve.log" >&2
    retries "$f" | tee "$WORK/$t.retries" >&2
    local q r u pat ubt
    q=$(count "$f" 'dns.flags.response==0'); r=$(count "$f" 'dns.flags.response==1')
    u=$(unanswered "$f"); pat=$(pair_pattern "$f")
    check "$t dropped replies (iptables counters)" "$DROPPED" 21
    check "$t unanswered queries" "$u" 21
    check "$t queries" "$q" 39
    check "$t responses" "$r" 18
    # no reply of a pair is ever lost alone, so glibc never switches to serial
    # mode here; a single serial-looking pair (fast reply overtaking the
    # second datagram) can still occur and is only logged
    check "$t glibc A/AAAA pairs" "${#pat}" 9
    log "$t pair pattern: $pat"
    check "$t failed glibc lookups" "$(grep -c 'rc=-3' "$WORK/$t.resolve.log")" 1
    check "$t ub1 queries from unbound (new id+port each)" \
        "$(dnsfields "$f" 'dns.flags.response==0 && dns.qry.name=="ub1.example.test"' | awk -F'\t' '{print $8, $4}' | sort -u | wc -l)" 3
    ubt=$(dnsfields "$f" 'dns.flags.response==0 && dns.qry.name=="ub1.example.test"' |
          awk -F'\t' 'NR>1{printf "%s%.3f", (NR>2?",":""), $1-p} {p=$1}')
    iv() { awk -v n="$1" -v ty="$2" '$1==n && $2==ty {sub(/.*intervals=/,""); print}' "$WORK/$t.retries"; }
    expect $t "server=named" "glibc=$(ldd --version | head -1 | awk '{print $NF}')" \
        "resolv_conf=options attempts:3 (timeout default 5)" \
        "glibc_lookups=9" "glibc_failed_lookups=1" "queries=$q" "responses=$r" \
        "unanswered=$u" "dropped_replies=$DROPPED" "a_aaaa_pairs=9" "pair_pattern=$pat" "serial_fallback=no" \
        "glibc_retry_interval_s=5" "glibc_retry_same_id=yes" "glibc_retry_same_port=yes" \
        "retry.drop1.example.test.A=$(iv drop1.example.test A)" \
        "retry.drop1.example.test.AAAA=$(iv drop1.example.test AAAA)" \
        "retry.drop2.example.test.A=$(iv drop2.example.test A)" \
        "retry.drop3.example.test.A=$(iv drop3.example.test A)" \
        "retry.gone.example.test.A=$(iv gone.example.test A)" \
        "gone.example.test=3 tries of A+AAAA, all unanswered, EAI_AGAIN after 15 s" \
        "dig_retry_interval_s=2" "dig_retry_same_id=yes" "dig_retry_same_port=no" \
        "retry.dig1.example.test.A=$(iv dig1.example.test A)" \
        "retry.dig2.example.test.A=$(iv dig2.example.test A)" \
        "unbound_retry_same_id=no" "unbound_retry_same_port=no" \
        "retry.ub1.example.test.A=$ubt"
}

# per_second FILE FILTER...: "second:count ..." for each filter (one line each)
per_second() {
    local f=$1 flt; shift
    local t0
    t0=$(tshark -n -r "$f" -Y "$NI && dns" -T fields -e frame.time_epoch 2>/dev/null | head -1)
    for flt in "$@"; do
        tshark -n -r "$f" -Y "$NI && ($flt)" -T fields -e frame.time_epoch 2>/dev/null |
            awk -v t0="$t0" '{c[int($1-t0)]++; if (int($1-t0)>m) m=int($1-t0)}
                 END{for(i=0;i<=m;i++) printf "%s%d", (i?" ":""), c[i]+0; print ""}'
    done
}

# unanswered: 120 AF_UNSPEC lookups (one getent process each, 10 per second)
# against unbound while iptables in the server namespace drops 20% of the
# replies at random, plus every reply during a 2-second burst.
trace_unanswered() {
    local t=unanswered f=$OUT/unanswered.pcap
    topo
    resolv "options timeout:1 attempts:2"
    start_unbound "$NS_S" "10.53.0.1 fd53::1"
    wait_dns "$NS_C" 10.53.0.1 www.example.test
    in_s iptables -N DVRAND
    in_s iptables -N DVBURST
    in_s iptables -A OUTPUT -p udp --sport 53 -j DVBURST
    in_s iptables -A OUTPUT -p udp --sport 53 -j DVRAND
    in_s iptables -A DVRAND -m statistic --mode random --probability 0.2 -j DROP
    cap_start "$NS_C" "$IF_C" "$f"
    local t0 i n=0 burst_on=0 burst_off=0 dburst
    t0=$(date +%s.%N)
    # shellcheck disable=SC2086
    set -- $NAMES10
    for i in $(seq 0 119); do
        in_c getent ahosts "${@:$((i % 10 + 1)):1}" >/dev/null &
        if [ "$i" = 50 ]; then
            in_s iptables -A DVBURST -j DROP; burst_on=$(date +%s.%N)
        fi
        if [ "$i" = 70 ]; then
            # end the burst; a RETURN in front keeps the DROP counter intact
            in_s iptables -I DVBURST 1 -j RETURN; burst_off=$(date +%s.%N)
        fi
        n=$((n + 1))
        sleep 0.1
    done
    wait_children
    cap_stop
    in_s iptables -nvxL > "$WORK/$t.iptables"
    local drand
    drand=$(awk '/^Chain DVRAND/{c=1;next} /^Chain/{c=0} c && $3=="DROP"{print $1}' "$WORK/$t.iptables")
    dburst=$(awk '/^Chain DVBURST/{c=1;next} /^Chain/{c=0} c && $3=="DROP"{print $1}' "$WORK/$t.iptables")
    summary "$f"
    local q r u
    q=$(count "$f" 'dns.flags.response==0'); r=$(count "$f" 'dns.flags.response==1')
    u=$(unanswered "$f")
    log "$t: random drops $drand, burst drops $dburst (unanswered $u)"
    log "$t queries/s:   $(per_second "$f" 'dns.flags.response==0')"
    log "$t responses/s: $(per_second "$f" 'dns.flags.response==1')"
    log "$t unanswered/s: $(tshark -n -2 -r "$f" -Y "$NI && dns.flags.response==0 && !dns.response_in" -T fields -e frame.time_relative 2>/dev/null | awk '{c[int($1)]++; if(int($1)>m)m=int($1)} END{for(i=0;i<=m;i++) printf "%d ", c[i]+0; print ""}')"
    awk -v a="$t0" -v b="$burst_on" -v c="$burst_off" \
        'BEGIN{printf "%.1f-%.1f\n", b-a, c-a}' > "$WORK/$t.burst"
    log "$t: burst window $(cat "$WORK/$t.burst") s after the first lookup"
    check "$t unanswered = dropped replies" "$u" "$((drand + dburst))"
    check "$t queries = responses + unanswered" "$q" "$((r + u))"
    expect $t "server=unbound" "client=getent ahosts (one process per lookup), glibc $(ldd --version | head -1 | awk '{print $NF}')" \
        "resolv_conf=options timeout:1 attempts:2" "lookups=120" "lookup_rate_per_s=10" \
        "queries=$q" "responses=$r" "unanswered=$u" "dropped_replies=$((drand + dburst))" \
        "dropped_random=$drand" "drop_probability=0.2" "dropped_burst=$dburst" \
        "burst_window_s=$(cat "$WORK/$t.burst")" \
        "queries_per_s=$(per_second "$f" 'dns.flags.response==0' | tr ' ' ,)" \
        "responses_per_s=$(per_second "$f" 'dns.flags.response==1' | tr ' ' ,)" \
        "glibc_retry_interval_s=1"
}

# wait for background jobs of this shell that are not long-lived servers
wait_children() {
    local j
    for j in $(jobs -p); do
        case " ${PIDS[*]} " in *" $j "*) continue ;; esac
        wait "$j" 2>/dev/null || true
    done
}

# search-walk: glibc with a Kubernetes-style resolv.conf (3 search domains,
# ndots:5) resolving short names; named answers NXDOMAIN for the suffixed
# names, so every lookup walks the list before the bare name.
SW_NAMES="db.internal api.internal kube-dns.kube-system queue.internal keydb-0.keydb db.internal. api.internal. keydb-1.keydb www.example.test keydb-0.keydb."
trace_search_walk() {
    local t=search-walk f=$OUT/search-walk.pcap pre=()
    topo
    resolv "search default.svc.cluster.local svc.cluster.local cluster.local" "options ndots:5"
    start_named_std "$NS_S"
    if [ "$NCPU" -ge 2 ]; then taskset -p -c 0 "$NAMED_PID" >/dev/null; pre=(taskset -c 1); fi
    wait_dns "$NS_C" 10.53.0.1 db.internal
    cap_start "$NS_C" "$IF_C" "$f"
    # shellcheck disable=SC2086
    in_c "${pre[@]}" "$RESOLVE" -d 500 $SW_NAMES > "$WORK/$t.resolve.log" || true
    cap_stop
    summary "$f"
    cat "$WORK/$t.resolve.log" >&2
    local q r u nx sf
    q=$(count "$f" 'dns.flags.response==0'); r=$(count "$f" 'dns.flags.response==1')
    u=$(unanswered "$f")
    nx=$(count "$f" 'dns.flags.response==1 && dns.flags.rcode==3')
    sf=$(count "$f" 'dns.flags.response==1 && dns.flags.rcode==2')
    check "$t queries" "$q" 56
    check "$t responses" "$r" 56
    check "$t unanswered" "$u" 0
    check "$t NXDOMAIN responses" "$nx" 32
    check "$t SERVFAIL responses" "$sf" 8
    check "$t failed lookups (keydb-0.keydb twice)" "$(grep -c 'rc=-3' "$WORK/$t.resolve.log")" 2
    local perlookup
    perlookup=$(dnsfields "$f" 'dns.flags.response==0' | "$PY" -c '
import sys
names = sys.argv[1].split()
out, cur, n, last = [], None, 0, 0.0
rows = [l.rstrip("\n").split("\t") for l in sys.stdin]
# lookups are 500 ms apart: split on gaps > 0.3 s
for f in rows:
    t = float(f[0])
    if cur is not None and t - last > 0.3:
        out.append(n); n = 0
    cur = 1; n += 1; last = t
out.append(n)
print(",".join("%s:%d" % (a, b) for a, b in zip(names, out)))' "$SW_NAMES")
    log "$t queries per lookup: $perlookup"
    expect $t "server=named" "glibc=$(ldd --version | head -1 | awk '{print $NF}')" \
        "resolv_conf=search default.svc.cluster.local svc.cluster.local cluster.local; options ndots:5" \
        "lookups=10" "queries=$q" "responses=$r" "unanswered=$u" "dropped_replies=0" \
        "nxdomain_responses=$nx" "servfail_responses=$sf" \
        "queries_per_lookup=$perlookup" \
        "lookups_without_trailing_dot=7" "lookups_with_trailing_dot=3" "failed_lookups=2" \
        "serial_fallback=no" "a_aaaa_pairs=$((q / 2))"
}

# tcp-fallback: answers larger than 512 bytes (no EDNS) or 1232 bytes (EDNS)
# come back truncated (TC=1) over UDP; glibc and dig repeat the question
# over TCP.  Plus normal lookups.
trace_tcp_fallback() {
    local t=tcp-fallback f=$OUT/tcp-fallback.pcap pre=()
    topo
    resolv "options timeout:5 attempts:2"
    start_named_std "$NS_S"
    if [ "$NCPU" -ge 2 ]; then taskset -p -c 0 "$NAMED_PID" >/dev/null; pre=(taskset -c 1); fi
    wait_dns "$NS_C" 10.53.0.1 www.example.test
    cap_start "$NS_C" "$IF_C" "$f"
    in_c "${pre[@]}" "$RESOLVE" -q -d 300 www.example.test many.example.test api.example.test \
        many.example.test db.example.test > "$WORK/$t.resolve.log"
    in_c dig +noedns +tries=1 +time=2 @10.53.0.1 many.example.test A > "$WORK/$t.dig.log"
    in_c dig +noedns +tries=1 +time=2 @10.53.0.1 big.example.test TXT >> "$WORK/$t.dig.log"
    in_c dig +tries=1 +time=2 @10.53.0.1 big.example.test TXT >> "$WORK/$t.dig.log"
    in_c dig +tries=1 +time=2 @10.53.0.1 example.test MX >> "$WORK/$t.dig.log"
    cap_stop
    summary "$f"
    cat "$WORK/$t.resolve.log" >&2
    local uq ur tq tr tc ic
    uq=$(count "$f" '!icmp && udp && dns.flags.response==0')
    ur=$(count "$f" '!icmp && udp && dns.flags.response==1')
    tq=$(msgs "$f" 'tcp && dns.flags.response==0' 0)
    tr=$(msgs "$f" 'tcp && dns.flags.response==1' 1)
    tc=$(count "$f" '!icmp && udp && dns.flags.response==1 && dns.flags.truncated==1')
    ic=$(count "$f" 'icmp.type==3 && icmp.code==3')
    log "$t: udp q/r $uq/$ur, tcp q/r $tq/$tr (messages), tc=1 $tc, icmp port unreachable $ic"
    check "$t truncated UDP answers" "$tc" 7
    check "$t UDP queries" "$uq" 18
    check "$t UDP responses" "$ur" 18
    check "$t TCP query messages" "$tq" 11
    check "$t TCP response messages" "$tr" 11
    log "$t: ICMP port unreachable for late AAAA replies: $ic (timing-dependent, 4 expected)"
    check "$t unanswered" "$(unanswered "$f")" 0
    check "$t TCP connections" "$(count "$f" 'tcp.flags.syn==1 && tcp.flags.ack==0')" 7
    # glibc re-asks over TCP with the ids it used over UDP (2 lookups x
    # 2 rounds x A+AAAA = 8 ids), dig picks a new id for TCP (3 queries)
    local same
    same=$(comm -12 <(dnsfields "$f" 'udp && dns.flags.response==0' | cut -f8 | sort -u) \
                    <(tshark -n -r "$f" -Y 'tcp && dns.flags.response==0' -T fields -e dns.id 2>/dev/null | tr ',' '\n' | sort -u) | wc -l)
    check "$t TCP query ids also used over UDP (glibc's 8; dig's 3 are new)" "$same" 8
    expect $t "server=named" "glibc=$(ldd --version | head -1 | awk '{print $NF}')" \
        "glibc_lookups=5" "glibc_lookups_many=2" "dig_queries=4" \
        "udp_queries=$uq" "udp_responses=$ur" "truncated_udp_responses=$tc" \
        "tcp_query_messages=$tq" "tcp_response_messages=$tr" "tcp_connections=7" \
        "icmp_port_unreachable=$ic" "unanswered=0" \
        "many.example.test_A_answer_records=40" "many.example.test_A_answer_bytes_tcp=677" \
        "glibc_rounds_per_many_lookup=2 (UDP A+AAAA, TC on A, TCP A+AAAA; then all again)" \
        "glibc_tcp_retry=A and AAAA both re-asked (same ids) over one TCP connection" \
        "late_aaaa_udp_reply=arrives after glibc closed the UDP socket: ICMP port unreachable" \
        "dig_tcp_retry=same question with a NEW id over a new TCP connection" \
        "edns_tc=dig with EDNS (bufsize 1232) also gets TC=1 for the 1.3 KB TXT"
}

# latency_table FILE: per name: A latency, AAAA latency (first query to first
# response, any id/port), AAAA rcode, number of A and AAAA queries
latency_table() {
    dnsfields "$1" '!icmp && dns' | "$PY" -c '
import sys, collections
d = collections.OrderedDict()
rc = {"0": "NOERROR", "2": "SERVFAIL", "3": "NXDOMAIN", "5": "REFUSED"}
for line in sys.stdin:
    f = line.rstrip("\n").split("\t")
    t, qr, rcode, qt, qn = float(f[0]), f[8], f[9], f[10], f[11]
    e = d.setdefault(qn, {"1": {"q": [], "r": []}, "28": {"q": [], "r": []}})
    if qt not in e: continue
    if qr in ("0", "False"): e[qt]["q"].append(t)
    else: e[qt]["r"].append((t, rc.get(rcode, rcode)))
for qn, e in d.items():
    out = [qn]
    for qt, lab in (("1", "A"), ("28", "AAAA")):
        q, r = e[qt]["q"], e[qt]["r"]
        if not q: continue
        if r: out.append("%s=%.3fs/%s/%dq" % (lab, r[0][0] - q[0], r[0][1], len(q)))
        else: out.append("%s=none/%dq" % (lab, len(q)))
    print(" ".join(out))'
}

# slow-aaaa: unbound (server ns) forwards example.test to named in a third
# namespace; there iptables drops AAAA replies: the first 2 for slowN names
# (unbound retries, so its AAAA answer comes late) and all of them for
# neverN names (unbound gives up: SERVFAIL, or glibc times out first).
# A replies are never touched.  One getaddrinfo process per lookup.
trace_slow_aaaa() {
    local t=slow-aaaa f=$OUT/slow-aaaa.pcap fu=$OUT/slow-aaaa-upstream.pcap n
    topo up
    resolv "options timeout:5 attempts:2"
    start_named_std "$NS_U" 10.53.1.2
    wait_dns "$NS_S" 10.53.1.2 www.example.test
    UB_LOCAL=0 start_unbound "$NS_S" "10.53.0.1 fd53::1" '  local-zone: "test." nodefault
  domain-insecure: "example.test."
  infra-cache-min-rtt: 1000
  infra-cache-max-rtt: 1000
  outbound-msg-retry: 3
  discard-timeout: 0' '
forward-zone:
  name: "example.test."
  forward-addr: 10.53.1.2'
    wait_dns "$NS_C" 10.53.0.1 api.example.test
    for n in 1 2 3; do drop_first "$NS_U" "slow$n.example.test" AAAA 1; done
    for n in 4 5; do drop_first "$NS_U" "slow$n.example.test" AAAA 2; done
    for n in 1 2; do drop_all "$NS_U" "never$n.example.test" AAAA; done
    # the resolver's upstream side, as a second capture
    bg "$NS_S" "$WORK/tcpdump-up.log" tcpdump -n -Z root -i "$IF_SU" --immediate-mode -U -w "$fu" 'port 53 or icmp'
    local uppid=$LASTPID
    cap_start "$NS_C" "$IF_C" "$f"
    : > "$WORK/$t.resolve.log"
    for n in www slow1 slow2 slow3 api slow4 slow5 never1 db never2 cache; do
        in_c "$RESOLVE" -q "$n.example.test" >> "$WORK/$t.resolve.log" || true
        sleep 0.3
    done
    cap_stop
    stop "$uppid" INT
    DROPPED=$(dropped "$NS_U")
    cat "$WORK/$t.resolve.log" >&2
    summary "$f"
    latency_table "$f" | tee "$WORK/$t.latency" >&2
    local q r u ok
    q=$(count "$f" 'dns.flags.response==0'); r=$(count "$f" 'dns.flags.response==1')
    u=$(unanswered "$f")
    # every A answered at once, no AAAA answered within 0.1 s for slow/never names
    ok=$(awk '$1 ~ /^(slow|never)/ { split($2, a, "[=s/]"); if (a[2]+0 > 0.05) bad++;
              if ($3 !~ /^AAAA=none/) { split($3, b, "[=s/]"); if (b[2]+0 < 0.1) bad++ } }
              $1 !~ /^(slow|never)/ { split($2, a, "[=s/]"); split($3, b, "[=s/]");
              if (a[2]+0 > 0.05 || b[2]+0 > 0.05) bad++ } END{print bad+0}' "$WORK/$t.latency")
    check "$t latency shape violations" "$ok" 0
    ok=$(awk '$1 ~ /^slow[123]/ && $3 !~ /^AAAA=(0\.9|1\.[0-4])[0-9]*s\/NOERROR/ {bad++}
              $1 ~ /^slow[45]/ && $3 !~ /^AAAA=(1\.9|2\.[0-4])[0-9]*s\/NOERROR/ {bad++}
              $1 ~ /^never/ && $3 !~ /^AAAA=([5-9]\.[0-9]*s\/SERVFAIL|none)/ {bad++}
              END{print bad+0}' "$WORK/$t.latency")
    check "$t AAAA latencies (slow1-3 ~1 s, slow4-5 ~2 s, never >5 s)" "$ok" 0
    check "$t failed lookups" "$(grep -vc 'rc=0' "$WORK/$t.resolve.log" || true)" 0
    check "$t A responses not NOERROR" "$(count "$f" 'dns.flags.response==1 && dns.qry.type==1 && dns.flags.rcode!=0')" 0
    local sf
    sf=$(count "$f" 'dns.flags.response==1 && dns.qry.type==28 && dns.flags.rcode==2')
    expect $t "server=unbound (forwarding example.test to named behind it)" \
        "client=one resolve (getaddrinfo AF_UNSPEC) process per lookup, glibc $(ldd --version | head -1 | awk '{print $NF}')" \
        "lookups=11" "slow_aaaa_names=5" "never_aaaa_names=2" "normal_names=4" \
        "queries=$q" "responses=$r" "unanswered=$u" \
        "aaaa_servfail_responses=$sf" "upstream_dropped_aaaa_replies=$DROPPED" \
        "upstream_capture=slow-aaaa-upstream.pcap (unbound <-> named)" \
        "upstream_queries=$(count "$fu" 'dns.flags.response==0')" \
        "upstream_responses=$(count "$fu" 'dns.flags.response==1')" \
        "upstream_unanswered=$(unanswered "$fu")" \
        "a_latency_max_s=0.05" \
        "$(awk '{printf "latency.%s=%s %s\n", $1, $2, $3}' "$WORK/$t.latency")"
}

# servfail-burst: dnsperf sends 20 queries/s (unique names, so no cache
# hits) to unbound, which forwards example.test to named in a third
# namespace.  From 5 s to 10 s that upstream is dead (iptables drops the
# queries arriving there); unbound answers SERVFAIL, then recovers.
trace_servfail_burst() {
    local t=servfail-burst f=$OUT/servfail-burst.pcap i
    topo up
    start_named_std "$NS_U" 10.53.1.2
    wait_dns "$NS_S" 10.53.1.2 www.example.test
    UB_LOCAL=0 start_unbound "$NS_S" "10.53.0.1 fd53::1" '  local-zone: "test." nodefault
  domain-insecure: "example.test."
  discard-timeout: 0
  infra-cache-max-rtt: 1000
  outbound-msg-retry: 2
  infra-keep-probing: yes
  infra-host-ttl: 2' '
forward-zone:
  name: "example.test."
  forward-addr: 10.53.1.2'
    wait_dns "$NS_C" 10.53.0.1 api.example.test
    for i in $(seq 1 400); do printf 'q%04d.burst.example.test A\n' "$i"; done > "$WORK/$t.queries"
    cap_start "$NS_C" "$IF_C" "$f"
    bg "$NS_C" "$WORK/$t.dnsperf" dnsperf -s 10.53.0.1 -d "$WORK/$t.queries" -n 1 \
        -Q 20 -l 15 -c 4 -t 3 -S 1
    local perf=$LASTPID t0
    t0=$(date +%s.%N)
    sleep 5
    in_u iptables -A INPUT -p udp --dport 53 -j DROP
    local dead_on dead_off
    dead_on=$(date +%s.%N)
    sleep 5
    in_u iptables -D INPUT -p udp --dport 53 -j DROP
    dead_off=$(date +%s.%N)
    for i in $(seq 1 100); do kill -0 "$perf" 2>/dev/null || break; sleep 0.2; done
    stop "$perf"
    cap_stop
    grep -A12 '^Statistics' "$WORK/$t.dnsperf" >&2 || true
    summary "$f"
    log "$t queries/s:   $(per_second "$f" 'dns.flags.response==0')"
    log "$t NOERROR/s:   $(per_second "$f" 'dns.flags.response==1 && dns.flags.rcode==0')"
    log "$t SERVFAIL/s:  $(per_second "$f" 'dns.flags.response==1 && dns.flags.rcode==2')"
    local win q r u nsf nok sf_first sf_last tq0 ok_after
    win=$(awk -v a="$t0" -v b="$dead_on" -v c="$dead_off" 'BEGIN{printf "%.1f-%.1f", b-a, c-a}')
    log "$t dead window $win s after dnsperf start"
    q=$(count "$f" 'dns.flags.response==0'); r=$(count "$f" 'dns.flags.response==1')
    u=$(unanswered "$f")
    nsf=$(count "$f" 'dns.flags.response==1 && dns.flags.rcode==2')
    nok=$(count "$f" 'dns.flags.response==1 && dns.flags.rcode==0')
    tq0=$(tshark -n -r "$f" -Y "$NI && dns.flags.response==0" -T fields -e frame.time_epoch 2>/dev/null | head -1)
    sf_first=$(tshark -n -r "$f" -Y "$NI && dns.flags.rcode==2" -T fields -e frame.time_epoch 2>/dev/null | head -1)
    sf_last=$(tshark -n -r "$f" -Y "$NI && dns.flags.rcode==2" -T fields -e frame.time_epoch 2>/dev/null | tail -1)
    ok_after=$(tshark -n -r "$f" -Y "$NI && dns.flags.response==1 && dns.flags.rcode==0" -T fields -e frame.time_epoch 2>/dev/null |
               awk -v l="$sf_last" '$1 > l' | wc -l)
    check "$t queries" "$q" 300
    check "$t responses" "$r" 300
    check "$t NOERROR + SERVFAIL" "$((nok + nsf))" 300
    [ "$nsf" -ge 50 ] || die "$t: only $nsf SERVFAIL"
    [ "$ok_after" -ge 40 ] || die "$t: no recovery ($ok_after NOERROR after the last SERVFAIL)"
    log "ok: $t SERVFAIL $nsf, NOERROR $nok, $ok_after NOERROR after recovery"
    expect $t "server=unbound $(unbound -V | head -1 | awk '{print $2}') (forwarding example.test to named behind it)" \
        "client=dnsperf -Q 20 -c 4 -t 3 (unique names, no cache hits)" \
        "offered_rate_qps=20" "duration_s=15" "queries=$q" "responses=$r" "unanswered=$u" \
        "noerror=$nok" "servfail=$nsf" "upstream_dead_window_s=$win (after dnsperf started, about the first query)" \
        "first_servfail_s=$(awk -v a="$tq0" -v b="$sf_first" 'BEGIN{printf "%.2f", b-a}')" \
        "last_servfail_s=$(awk -v a="$tq0" -v b="$sf_last" 'BEGIN{printf "%.2f", b-a}')" \
        "noerror_after_recovery=$ok_after" \
        "queries_per_s=$(per_second "$f" 'dns.flags.response==0' | tr ' ' ,)" \
        "noerror_per_s=$(per_second "$f" 'dns.flags.response==1 && dns.flags.rcode==0' | tr ' ' ,)" \
        "servfail_per_s=$(per_second "$f" 'dns.flags.response==1 && dns.flags.rcode==2' | tr ' ' ,)"
}

# ptr_queries FILE N SEED: dnsperf input: N queries, 9 of 10 PTR for random
# addresses in 104.16.0.0/12, 1 of 10 A for a unique name (no cache hits)
ptr_queries() {
    "$PY" - "$1" "$2" "$3" <<'PY'
import random, sys
path, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(seed)
with open(path, "w") as f:
    for i in range(n):
        if i % 10 == 9:
            f.write("a%05d.burst.example.test A\n" % i)
        else:
            f.write("%d.%d.%d.104.in-addr.arpa PTR\n" % (
                rnd.randrange(1, 255), rnd.randrange(0, 256), rnd.randrange(16, 32)))
PY
}

# iostat FILE FILTER...: tshark io,stat with 1-second bins; prints one line
# per filter with the frame counts per second (filters must not contain ",")
iostat() {
    local f=$1; shift
    local spec="io,stat,1" flt
    for flt in "$@"; do spec+=",$NI && ($flt)"; done
    tshark -n -r "$f" -q -z "$spec" 2>/dev/null | awk -F'|' -v n=$# '
        /<>/ { rows++; for (k = 1; k <= n; k++) { v = $(1 + 2 * k); gsub(/ /, "", v); c[k, rows] = v } }
        END { for (k = 1; k <= n; k++) { line = ""; for (r = 1; r <= rows; r++) line = line (r > 1 ? " " : "") c[k, r]; print line } }'
}

# unbound data for the PTR traces: 104.in-addr.arpa with two PTR records
# (NXDOMAIN for everything else), any name under burst.example.test -> A
UB_PTR_ZONE='  local-zone: "104.in-addr.arpa." static
  local-data-ptr: "104.16.132.229 www.cloudflare.example."
  local-data-ptr: "104.17.24.14 cdn.cloudflare.example."
  local-zone: "burst.example.test." redirect
  local-data: "burst.example.test. 300 IN A 10.53.40.1"'

# rate-limit: dnsperf offers 600 queries/s (mostly PTR for 104.16.0.0/12)
# for 8 s straight to unbound; iptables in the server namespace lets at most
# 200 replies/s out (hashlimit, burst 200) and drops the rest.  Captured with
# -i any -y LINUX_SLL2 in the client namespace (interface index kept).
trace_rate_limit() {
    local t=rate-limit f=$OUT/rate-limit.pcap
    topo
    start_unbound "$NS_S" "10.53.0.1 fd53::1" "$UB_PTR_ZONE"
    wait_dns "$NS_C" 10.53.0.1 www.example.test
    ptr_queries "$WORK/$t.queries" 4800 1
    in_s iptables -A OUTPUT -p udp --sport 53 -m hashlimit --hashlimit-upto 200/sec \
        --hashlimit-burst 200 --hashlimit-mode srcip --hashlimit-name dv -j ACCEPT
    in_s iptables -A OUTPUT -p udp --sport 53 -j DROP
    cap_start "$NS_C" any "$f" -y LINUX_SLL2
    in_c dnsperf -s 10.53.0.1 -d "$WORK/$t.queries" -n 1 -Q 600 -l 8 -c 8 -q 5000 -t 2 \
        > "$WORK/$t.dnsperf" 2>&1 || true
    cap_stop
    in_s iptables -nvxL OUTPUT > "$WORK/$t.iptables"
    grep -A10 '^Statistics' "$WORK/$t.dnsperf" >&2 || true
    summary "$f"
    local off ans
    { read -r off; read -r ans; } < <(iostat "$f" 'dns.flags.response==0' 'dns.flags.response==1')
    log "$t offered/s:  $off"
    log "$t answered/s: $ans"
    local acc drp q r u ptrq
    acc=$(awk '$3=="ACCEPT"{print $1}' "$WORK/$t.iptables")
    drp=$(awk '$3=="DROP"{print $1}' "$WORK/$t.iptables")
    q=$(count "$f" 'dns.flags.response==0'); r=$(count "$f" 'dns.flags.response==1')
    u=$(unanswered "$f")
    ptrq=$(count "$f" 'dns.flags.response==0 && dns.qry.type==12')
    check "$t responses = replies let through" "$r" "$acc"
    check "$t unanswered = replies dropped" "$u" "$drp"
    check "$t queries = responses + unanswered" "$q" "$((r + u))"
    expect $t "server=unbound $(unbound -V | head -1 | awk '{print $2}')" \
        "client=dnsperf -Q 600 -l 8 -c 8 (one client address)" \
        "capture=tcpdump -i any -y LINUX_SLL2 in the client namespace" \
        "ifindex_client_veth=$(ip -n "$NS_C" -o link show "$IF_C" | cut -d: -f1)" \
        "packets_on_other_interfaces=$(tshark -n -r "$f" -T fields -e sll.ifindex 2>/dev/null | grep -vcx "$(ip -n "$NS_C" -o link show "$IF_C" | cut -d: -f1)" || true)" \
        "limit=iptables hashlimit 200/s burst 200 on the server's replies, rest dropped" \
        "offered_rate_qps=600" "answered_rate_qps=200" \
        "queries=$q" "ptr_queries=$ptrq" "a_queries=$((q - ptrq))" "responses=$r" \
        "unanswered=$u" "dropped_replies=$drp" "replies_let_through=$acc" \
        "ptr_network=104.16.0.0/12" \
        "offered_per_s=$(echo "$off" | tr ' ' ,)" "answered_per_s=$(echo "$ans" | tr ' ' ,)"
}

# ptr-flood: Stripe's incident in small.  dnsperf (client namespace) sends
# 125 queries/s for 8 s, 9 in 10 of them PTR for 104.16.0.0/12, to unbound
# (server namespace), which forwards in-addr.arpa and example.test to an
# upstream resolver (named, third namespace, the "VPC resolver").  iptables
# there lets at most 60 replies/s out.  Captured on the unbound host with
# -i any -y LINUX_SLL2: client side and upstream side in one file.
trace_ptr_flood() {
    local t=ptr-flood f=$OUT/ptr-flood.pcap
    topo up
    # the upstream is unbound too: named 9.18 stops answering part of the
    # queries once its sendmsg() calls fail with EPERM (iptables DROP in
    # OUTPUT), which would blur the ground truth
    start_unbound "$NS_U" 10.53.1.2 "$UB_PTR_ZONE"
    wait_dns "$NS_S" 10.53.1.2 www.example.test
    UB_LOCAL=0 start_unbound "$NS_S" "10.53.0.1 fd53::1" "${PF_UNBOUND_EXTRA:-}"'
  local-zone: "test." nodefault
  domain-insecure: "example.test."
  domain-insecure: "in-addr.arpa."' '
forward-zone:
  name: "example.test."
  forward-addr: 10.53.1.2
forward-zone:
  name: "in-addr.arpa."
  forward-addr: 10.53.1.2'
    wait_dns "$NS_C" 10.53.0.1 www.example.test
    wait_dns "$NS_C" 10.53.0.1 229.132.16.104.in-addr.arpa PTR
    ptr_queries "$WORK/$t.queries" 1000 2
    in_u iptables -A OUTPUT -p udp --sport 53 -m hashlimit --hashlimit-upto 60/sec \
        --hashlimit-burst 60 --hashlimit-mode srcip --hashlimit-name dv -j ACCEPT
    in_u iptables -A OUTPUT -p udp --sport 53 -j DROP
    local rb_u0 rb_s0 rb_u rb_s
    rb_u0=$(udp_rcvbuf_errors "$NS_U"); rb_s0=$(udp_rcvbuf_errors "$NS_S")
    cap_start "$NS_S" any "$f" -y LINUX_SLL2
    in_c dnsperf -s 10.53.0.1 -d "$WORK/$t.queries" -n 1 -Q 125 -l 8 -c 8 -q 5000 -t 5 \
        > "$WORK/$t.dnsperf" 2>&1 || true
    cap_stop
    in_u iptables -nvxL OUTPUT > "$WORK/$t.iptables"
    rb_u=$(( $(udp_rcvbuf_errors "$NS_U") - rb_u0 )); rb_s=$(( $(udp_rcvbuf_errors "$NS_S") - rb_s0 ))
    log "$t: UDP receive-buffer drops: upstream ns $rb_u, resolver ns $rb_s"
    grep -A10 '^Statistics' "$WORK/$t.dnsperf" >&2 || true
    summary "$f"
    local cq cr uq ur csf
    { read -r cq; read -r cr; read -r csf; read -r uq; read -r ur; } < <(iostat "$f" \
        'ip.dst==10.53.0.1 && dns.flags.response==0' 'ip.src==10.53.0.1 && dns.flags.response==1' \
        'ip.src==10.53.0.1 && dns.flags.rcode==2' \
        'ip.dst==10.53.1.2 && dns.flags.response==0' 'ip.src==10.53.1.2 && dns.flags.response==1')
    log "$t client queries/s:    $cq"
    log "$t client responses/s:  $cr"
    log "$t client SERVFAIL/s:   $csf"
    log "$t upstream queries/s:  $uq"
    log "$t upstream answers/s:  $ur"
    local acc drp nq nr nptr nsf nnx nok nun upq upr upun if_c if_u
    acc=$(awk '$3=="ACCEPT"{print $1}' "$WORK/$t.iptables")
    drp=$(awk '$3=="DROP"{print $1}' "$WORK/$t.iptables")
    nq=$(count "$f" 'ip.dst==10.53.0.1 && dns.flags.response==0')
    nptr=$(count "$f" 'ip.dst==10.53.0.1 && dns.flags.response==0 && dns.qry.type==12')
    nr=$(count "$f" 'ip.src==10.53.0.1 && dns.flags.response==1')
    nsf=$(count "$f" 'ip.src==10.53.0.1 && dns.flags.response==1 && dns.flags.rcode==2')
    nnx=$(count "$f" 'ip.src==10.53.0.1 && dns.flags.response==1 && dns.flags.rcode==3')
    nok=$(count "$f" 'ip.src==10.53.0.1 && dns.flags.response==1 && dns.flags.rcode==0')
    nun=$(tshark -n -2 -r "$f" -Y "$NI && ip.dst==10.53.0.1 && dns.flags.response==0 && !dns.response_in" 2>/dev/null | wc -l)
    upq=$(count "$f" 'ip.dst==10.53.1.2 && dns.flags.response==0')
    upr=$(count "$f" 'ip.src==10.53.1.2 && dns.flags.response==1')
    upun=$(tshark -n -2 -r "$f" -Y "$NI && ip.dst==10.53.1.2 && dns.flags.response==0 && !dns.response_in" 2>/dev/null | wc -l)
    if_c=$(ip -n "$NS_S" -o link show "$IF_S" 2>/dev/null | cut -d: -f1)
    if_u=$(ip -n "$NS_S" -o link show "$IF_SU" 2>/dev/null | cut -d: -f1)
    check "$t upstream answers = replies let through" "$upr" "$acc"
    check "$t upstream unanswered = replies dropped" "$upun" "$drp"
    check "$t client queries" "$nq" 1000
    expect $t "resolver=unbound $(unbound -V | head -1 | awk '{print $2}') (Debian defaults: discard-timeout 1900, wait-limit 1000, outbound-msg-retry 5)" \
        "upstream=unbound with local data (the \"VPC resolver\"), 10.53.1.2, replies limited by iptables hashlimit 60/s burst 60" \
        "client=dnsperf -Q 125 -l 8 -c 8 -t 5 from 10.53.0.2 (no client retries)" \
        "capture=tcpdump -i any -y LINUX_SLL2 in the resolver namespace" \
        "ifindex_client_side=$if_c" "ifindex_upstream_side=$if_u" \
        "client_queries=$nq" "client_ptr_queries=$nptr" "client_a_queries=$((nq - nptr))" \
        "client_responses=$nr" "client_noerror=$nok" "client_nxdomain=$nnx" "client_servfail=$nsf" \
        "client_unanswered=$nun" "ptr_network=104.16.0.0/12" \
        "upstream_queries=$upq" "upstream_responses=$upr" "upstream_unanswered=$upun" \
        "upstream_replies_dropped=$drp" "upstream_rate_limit_pps=60" \
        "amplification_upstream_per_client_query=$(awk -v a="$upq" -v b="$nq" 'BEGIN{printf "%.1f", a/b}')" \
        "client_queries_per_s=$(echo "$cq" | tr ' ' ,)" "client_responses_per_s=$(echo "$cr" | tr ' ' ,)" \
        "client_servfail_per_s=$(echo "$csf" | tr ' ' ,)" \
        "upstream_queries_per_s=$(echo "$uq" | tr ' ' ,)" "upstream_answers_per_s=$(echo "$ur" | tr ' ' ,)"
}

# The KeyDB plan: keydb-0.keydb is the dead peer (bare name: SERVFAIL),
# keydb-1/keydb-2 are alive.  The AAAA reply for keydb-2's first lookup step
# is dropped once, which switches the client to serial mode.
KEYDB_PLAN="keydb-0.keydb keydb-1.keydb keydb-0.keydb keydb-2.keydb keydb-0.keydb keydb-1.keydb keydb-0.keydb"

keydb_setup() {
    topo
    resolv "search default.svc.cluster.local svc.cluster.local cluster.local" "options ndots:5"
    start_named_std "$NS_S"
    if [ "$NCPU" -ge 2 ]; then taskset -p -c 0 "$NAMED_PID" >/dev/null; fi
    wait_dns "$NS_C" 10.53.0.1 keydb-1.keydb.default.svc.cluster.local
    drop_first "$NS_S" keydb-2.keydb.default.svc.cluster.local AAAA 1
}

# keydb_check TRACE FILE: counts common to serial-stall and serial-nostall
keydb_counts() {
    local f=$1
    KQ=$(count "$f" 'dns.flags.response==0'); KR=$(count "$f" 'dns.flags.response==1')
    KU=$(unanswered "$f")
    KSF=$(count "$f" 'dns.flags.response==1 && dns.flags.rcode==2')
    KNX=$(count "$f" 'dns.flags.response==1 && dns.flags.rcode==3')
    KAAAA0=$(count "$f" 'dns.flags.response==0 && dns.qry.type==28 && dns.qry.name=="keydb-0.keydb"')
    KA0=$(count "$f" 'dns.flags.response==0 && dns.qry.type==1 && dns.qry.name=="keydb-0.keydb"')
}

# serial-stall: SCRIPTED client (tools/glibc227_stub.py) emulating glibc
# 2.27, against real named; the AAAA drop is a real iptables drop.
trace_serial_stall() {
    local t=serial-stall f=$OUT/serial-stall.pcap n first=1
    keydb_setup
    : > "$WORK/$t.plan"
    for n in $KEYDB_PLAN; do
        if [ $first = 1 ]; then echo "0 $n"; first=0; else echo "1 $n"; fi
    done >> "$WORK/$t.plan"
    cap_start "$NS_C" "$IF_C" "$f"
    in_c "$PY" "$HERE/tools/glibc227_stub.py" 10.53.0.1 "$WORK/$t.plan" > "$WORK/$t.log"
    cap_stop
    DROPPED=$(dropped "$NS_S")
    cat "$WORK/$t.log" >&2
    summary "$f"
    retries "$f" | tee "$WORK/$t.retries" >&2
    keydb_counts "$f"
    log "$t pairs: $(pair_pattern "$f")"
    check "$t dropped replies" "$DROPPED" 1
    check "$t unanswered" "$KU" 1
    check "$t AAAA queries for bare keydb-0.keydb" "$KAAAA0" 4
    check "$t A queries for bare keydb-0.keydb" "$KA0" 8
    check "$t stalled lookups" "$(grep -c 'name=keydb-0.keydb result=EAI_AGAIN.*elapsed=1[0-9]\.' "$WORK/$t.log")" 2
    local stall_iv
    stall_iv=$(awk '/^keydb-0.keydb A / && $5 != prev {sub(/.*intervals=/, ""); printf "%s%s", (n++ ? ";" : ""), $0}' "$WORK/$t.retries")
    expect $t "client=SCRIPTED glibc 2.27 emulation (tools/glibc227_stub.py), NOT a real libc" \
        "server=named $(named -v | awk '{print $2}')" \
        "resolv_conf=search default.svc.cluster.local svc.cluster.local cluster.local; options ndots:5 (timeout 5, attempts 2)" \
        "lookups=7" "plan=$(echo $KEYDB_PLAN | tr ' ' ,)" \
        "queries=$KQ" "responses=$KR" "unanswered=$KU" "dropped_replies=$DROPPED" \
        "dropped_reply=AAAA keydb-2.keydb.default.svc.cluster.local (lookup 3)" \
        "nxdomain_responses=$KNX" "servfail_responses=$KSF" \
        "serial_fallback=yes" "switch_lookup=3" \
        "stall=yes" "stalled_lookups=2 (lookups 4 and 6)" "stall_gap_s=5" \
        "stall_retry_same_id=yes" "stall_retry_same_port=yes" \
        "keydb-0.keydb_A_resend_intervals_s=$stall_iv (lookups 0,2: parallel, both resent at once; lookups 4,6: the stall)" \
        "aaaa_queries_bare_keydb0=$KAAAA0 (all in parallel mode; none after the switch)" \
        "stalled_lookup_elapsed_s=$(grep 'name=keydb-0.keydb result=EAI_AGAIN' "$WORK/$t.log" | sed -n 's/.*elapsed=\([0-9.]*\).*mode=serial.*/\1/p' | tr '\n' ',' | sed 's/,$//')"
}

# serial-nostall: the same plan with the real glibc 2.36 (tools/resolve.c):
# the switch to serial mode happens, the stall does not.
trace_serial_nostall() {
    local t=serial-nostall f=$OUT/serial-nostall.pcap pre=()
    keydb_setup
    if [ "$NCPU" -ge 2 ]; then pre=(taskset -c 1); fi
    cap_start "$NS_C" "$IF_C" "$f"
    # shellcheck disable=SC2086
    in_c "${pre[@]}" "$RESOLVE" -q -d 1000 $KEYDB_PLAN > "$WORK/$t.log" || true
    cap_stop
    DROPPED=$(dropped "$NS_S")
    cat "$WORK/$t.log" >&2
    summary "$f"
    retries "$f" | tee "$WORK/$t.retries" >&2
    keydb_counts "$f"
    log "$t pairs: $(pair_pattern "$f")"
    check "$t dropped replies" "$DROPPED" 1
    check "$t unanswered" "$KU" 1
    check "$t AAAA queries for bare keydb-0.keydb" "$KAAAA0" 4
    check "$t A queries for bare keydb-0.keydb" "$KA0" 8
    check "$t lookups slower than 1 s" "$(awk '{split($6, e, "="); if (e[2] + 0 > 1) n++} END{print n+0}' "$WORK/$t.log")" 1
    expect $t "client=real glibc $(ldd --version | head -1 | awk '{print $NF}') (tools/resolve.c, one process, one thread)" \
        "server=named $(named -v | awk '{print $2}')" \
        "resolv_conf=search default.svc.cluster.local svc.cluster.local cluster.local; options ndots:5 (timeout 5, attempts 2)" \
        "lookups=7" "plan=$(echo $KEYDB_PLAN | tr ' ' ,)" \
        "queries=$KQ" "responses=$KR" "unanswered=$KU" "dropped_replies=$DROPPED" \
        "dropped_reply=AAAA keydb-2.keydb.default.svc.cluster.local (lookup 3)" \
        "nxdomain_responses=$KNX" "servfail_responses=$KSF" \
        "serial_fallback=yes" "switch_lookup=3" "stall=no" \
        "serial_servfail=A SERVFAIL, A resent at once on a new port, SERVFAIL, no AAAA" \
        "aaaa_queries_bare_keydb0=$KAAAA0 (all in parallel mode)" \
        "failed_lookups=4 (every keydb-0.keydb lookup: EAI_AGAIN in about 1 ms)"
}

# ------------------------------------------------------------------- main ---
ALL_TRACES="healthy healthy-busy serial-fallback serial-stall serial-nostall retry-timeout unanswered search-walk tcp-fallback slow-aaaa servfail-burst rate-limit ptr-flood"
main() {
    need_tools
    mkdir -p "$WORK" "$EXP"
    gcc -O2 -Wall -o "$RESOLVE" "$HERE/tools/resolve.c"
    local t traces=${*:-$ALL_TRACES}
    for t in $traces; do
        declare -F "trace_${t//-/_}" >/dev/null || die "unknown trace $t"
    done
    # captures are written to a staging directory and moved into pcaps/
    # only when the trace and all its checks succeeded
    OUT=$WORK/out
    mkdir -p "$OUT"
    for t in $traces; do
        log "=== $t"
        "trace_${t//-/_}"
        teardown
        mv -f "$OUT"/*.pcap "$HERE"/
    done
    log "done: $(cd "$HERE" && ls -l ./*.pcap | awk '{print $5, $9}' | tr '\n' ' ')"
}
[ "${DV_SOURCE:-0}" = 1 ] || main "$@"
