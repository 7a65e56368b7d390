#!/bin/sh
# tests/bench/capture-bench.sh: kernel drops of `dnsvet capture` and of
# `tcpdump -w`, capturing the same interface in the same run, at the
# highest DNS query rate this machine can generate. A benchmark, not a
# test: it prints a table and never fails on the numbers.
#
#   sudo sh tests/bench/capture-bench.sh [SECONDS]     (default 10 per round)
#   ROUNDS="2048 256" sudo sh tests/bench/capture-bench.sh 5  (some rounds)
#
# dnsperf (Debian package dnsperf) sends queries as fast as dnsmasq answers
# them, from a client namespace to a server namespace over a veth pair that
# this script creates (10.78.0.0/24; nothing leaves the namespaces). Both
# capture programs run in the client namespace, on its veth, with the same
# DNS filter and size-rotated files (-C 100 -W 3, on /tmp), in three rounds
# (ROUNDS="defaults 2048 256"; a number is the -B given to both):
#   defaults   each program's default kernel buffer (dnsvet 32 MiB,
#              tcpdump 2 MiB)
#   -B 2048    both with a 2 MiB buffer: the programs compared, not buffers
#   -B 256     both with a small buffer, where stalls turn into drops
# On a shared machine the numbers move with the neighbours' load: run it
# more than once before concluding anything.
set -u
cd "$(dirname "$0")/../.." || exit 2
TOP=$(pwd)
DNSVET=${DNSVET:-$TOP/src/dnsvet}
SECS=${1:-10}
case "$SECS" in ''|*[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;; esac
[ "$SECS" -ge 1 ] && [ "$SECS" -le 120 ] || { echo "SECONDS: 1 to 120" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "capture-bench: needs root (network namespaces)" >&2; exit 2; }
for t in ip dnsmasq dnsperf tcpdump; do
	command -v $t >/dev/null || { echo "capture-bench: '$t' is missing (apt-get install dnsperf tcpdump dnsmasq-base iproute2)" >&2; exit 2; }
done
[ -x "$DNSVET" ] || { echo "capture-bench: build dnsvet first ($DNSVET)" >&2; exit 2; }

TAG=$(($$ % 100000))
NS_S=dvbench-s-$TAG
NS_C=dvbench-c-$TAG
IF=dvb${TAG}c
W=$(mktemp -d /tmp/dvbench.XXXXXX)
PIDS=""

alive() { [ -d "/proc/$1" ] && ! grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null; }
stop() {
	kill -TERM "$1" 2>/dev/null
	_i=0
	while alive "$1" && [ $_i -lt 100 ]; do sleep 0.1; _i=$((_i + 1)); done
	alive "$1" && kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
cleanup() {
	for p in $PIDS; do alive "$p" && stop "$p"; done
	ip netns del "$NS_C" 2>/dev/null
	ip netns del "$NS_S" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

# cpu PID [TID]: user+system CPU seconds so far of a process (or a thread)
cpu() {
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' \
		"/proc/$1/${2:+task/$2/}stat"
}
wait_for() {
	_i=0
	until grep -q "$2" "$1" 2>/dev/null; do
		_i=$((_i + 1)); [ $_i -gt 50 ] && return 1; sleep 0.1
	done
}

ip netns add "$NS_S" && ip netns add "$NS_C" || exit 2
ip link add "$IF" netns "$NS_C" type veth peer name "${IF}s" netns "$NS_S"
ip -n "$NS_S" link set lo up
ip -n "$NS_C" link set lo up
ip -n "$NS_C" addr add 10.78.0.2/24 dev "$IF"
ip -n "$NS_S" addr add 10.78.0.1/24 dev "${IF}s"
ip -n "$NS_C" link set "$IF" up
ip -n "$NS_S" link set "${IF}s" up

ip netns exec "$NS_S" dnsmasq --no-resolv --no-hosts --conf-file=/dev/null -k \
	--address=/example.test/10.9.9.9 --listen-address=10.78.0.1 --bind-interfaces \
	--pid-file= --cache-size=10000 --dns-forward-max=10000 2>"$W/dnsmasq.err" &
PIDS="$PIDS $!"
sleep 0.5
awk 'BEGIN { for (i = 1; i <= 1000; i++) printf "n%d.example.test A\n", i }' > "$W/queries"

FILTER="((udp or tcp) and (port 53)) or (ip[6:2] & 0x1fff != 0) or (ip6 and ip6[6] == 44)"
printf '%-9s %-8s %8s %10s %12s %7s %10s %11s %s\n' round program qps captured "kernel-drop" "drop%" "file-kB" "unanalysed" "cpu-s (capture thread)"
for round in ${ROUNDS:-defaults 2048 256}; do
	rm -rf "$W/td" "$W/dv"
	mkdir "$W/td" "$W/dv"
	if [ "$round" = defaults ]; then BT=""; BD=""; else BT="-B $round"; BD="-B $round"; fi
	# shellcheck disable=SC2086
	ip netns exec "$NS_C" tcpdump -i "$IF" -n -Z root $BT -C 100 -W 3 -w "$W/td/t.pcap" "$FILTER" \
		2>"$W/td.err" &
	TD=$!
	# shellcheck disable=SC2086
	ip netns exec "$NS_C" "$DNSVET" capture -i "$IF" $BD -C 100 -W 3 -w "$W/dv/d.pcap" \
		>/dev/null 2>"$W/dv.err" &
	DV=$!
	PIDS="$PIDS $TD $DV"
	wait_for "$W/td.err" "listening on" && wait_for "$W/dv.err" "listening on" || {
		cat "$W/td.err" "$W/dv.err"; exit 1; }
	ip netns exec "$NS_C" dnsperf -s 10.78.0.1 -d "$W/queries" -l "$SECS" -T 2 -c 16 -q 2000 \
		>"$W/perf.out" 2>&1
	sleep 0.5
	ctd=$(cpu "$TD")
	cdv=$(cpu "$DV")
	cdvc=$(cpu "$DV" "$DV") # the capture thread (main); the rest is the analysis
	stop "$DV"
	stop "$TD"
	qps=$(awk '/Queries per second/ { printf "%d", $4 }' "$W/perf.out")
	# tcpdump: "N packets captured", "N packets received by filter", "N packets dropped by kernel"
	tcap=$(awk '/packets captured/ { print $1 }' "$W/td.err")
	tdrop=$(awk '/dropped by kernel/ { print $1 }' "$W/td.err")
	twr=$(cat "$W"/td/* 2>/dev/null | wc -c)
	dwr=$(cat "$W"/dv/* 2>/dev/null | wc -c)
	# dnsvet: "N captured, N written, N not written, N dropped by kernel, ...
	# [; N not analysed ...]"
	line=$(grep '^dnsvet capture: [0-9]' "$W/dv.err" | tail -1)
	dcap=$(echo "$line" | sed 's/^dnsvet capture: \([0-9]*\) captured.*/\1/')
	ddrop=$(echo "$line" | sed 's/.* \([0-9]*\) dropped by kernel.*/\1/')
	dskip=$(echo "$line" | sed -n 's/.* \([0-9]*\) not analysed.*/\1/p')
	label=$([ "$round" = defaults ] && echo defaults || echo "-B $round")
	pct() { awk -v c="$1" -v d="$2" 'BEGIN { printf "%.2f", c + d ? 100 * d / (c + d) : 0 }'; }
	printf '%-9s %-8s %8s %10s %12s %6s%% %10s %11s %s\n' "$label" tcpdump "$qps" "$tcap" "$tdrop" \
		"$(pct "$tcap" "$tdrop")" "$((twr / 1000))" - "$ctd"
	printf '%-9s %-8s %8s %10s %12s %6s%% %10s %11s %s\n' "$label" dnsvet "$qps" "$dcap" "$ddrop" \
		"$(pct "$dcap" "$ddrop")" "$((dwr / 1000))" "${dskip:-0}" "$cdv ($cdvc)"
done
echo "(qps: dnsperf's answered queries per second, each query 2 packets; file-kB:"
echo " in the files at the end (ring of 3 x 100 MB); unanalysed: packets written but"
echo " skipped by dnsvet's live analysis, which yields the CPU to the capture;"
echo " cpu-s: CPU seconds of the capture program. $(nproc) CPUs, load average at"
echo " the end: $(cut -d' ' -f1-3 /proc/loadavg))"
