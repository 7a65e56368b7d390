#!/bin/sh
# tests/bounded.sh: bounded memory under hostile load. tests/flood.c writes
# the traffic into a pipe (nothing of this size is stored); dnsvet report
# --max-open N reads it. Peak RSS (GNU time) must stay under a bound that
# does not grow with the flood, evictions must be counted and shown, and
# the run must finish in time (an eviction that is O(open queries) turned
# a flood into hours). FLOOD_QUERIES sets the size of the query flood
# (default 2 M; 10 M was run by hand, see the commit message).
. "$(dirname "$0")/lib.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
N=${FLOOD_QUERIES:-2000000}
${CC:-cc} -O2 -o "$T/flood" "$TOP/tests/flood.c" 2>"$T/cc.log" ||
	{ notok "bounded: building tests/flood.c: $(head -3 "$T/cc.log")"; exit 1; }
[ -x /usr/bin/time ] || { notok "bounded: /usr/bin/time missing (Debian package time)"; exit 1; }

# run NAME RSS_MB_MAX SECONDS FLOOD-ARGS...: report --json and text of the flood
run() {
	name=$1 max=$2 secs=$3
	shift 3
	"$T/flood" "$@" | timeout "$secs" /usr/bin/time -f %M -o "$T/$name.rss" \
		"$DNSVET" report --no-progress --max-open 100000 --json - >"$T/$name.json" 2>"$T/$name.err"
	st=$?
	if [ $st -ne 0 ]; then
		notok "bounded $name: exit $st (124: did not finish in ${secs}s): $(head -2 "$T/$name.err")"
		return 1
	fi
	rss=$(( $(tail -1 "$T/$name.rss") / 1024 ))
	if [ "$rss" -le "$max" ]; then ok "bounded $name: peak RSS ${rss} MB <= $max MB"
	else notok "bounded $name: peak RSS ${rss} MB > $max MB"; fi
	"$T/flood" "$@" | "$DNSVET" report --no-progress --max-open 100000 - >"$T/$name.txt" 2>&1
}
sum() { json_get "$T/$1.json" "d['summary']['$2']"; }
dp() { json_get "$T/$1.json" "d['decode_problems']['$2']"; }

# (a) an unanswered flood of random names, 200,000 queries a second: the
# answer window (10 s) would hold them all; the cap holds 100,000
if run queries 100 120 queries "$N" 200000; then
	check_eq "bounded queries: all counted" "$N" "$(sum queries transactions)"
	check_eq "bounded queries: the cap's worth still open at the end" 100000 "$(sum queries open_at_end)"
	check_eq "bounded queries: evictions counted (queries + lookups)" $(( 2 * (N - 100000) )) \
		"$(sum queries evicted)"
	check "bounded queries: evictions shown in the text report" \
		grep -qE "^  evicted +$(( 2 * (N - 100000) )) " "$T/queries.txt"
fi
# half answered, a million a second, for distinct names: lookups outlive
# their queries (evicting one used to scan every open query) and answered
# keys pile up for the window (they used to be uncapped: 133 MB here)
if run mixed 110 60 mixed 2000000 1000000; then
	check_eq "bounded mixed: all answered ones matched" 1000000 "$(sum mixed matched)"
	check "bounded mixed: lookups evicted" test "$(sum mixed evicted)" -gt 0
fi
# (b) TCP connections that never close, each in the middle of a 64 KiB
# message: 12,000 of them, 63 KB each, would be 750 MB (it was 530 MB
# before the 64 MiB budget over all streams)
if run tcp 100 60 tcp 12000 45; then
	check_eq "bounded tcp: every stream counted as evicted" 12000 "$(dp tcp tcp-evicted)"
	check "bounded tcp: shown in the text report" grep -qE "^  tcp-evicted +12000 " "$T/tcp.txt"
fi
# (c) fragments that never complete, each growing its buffer to 64 KiB
# (1024 datagrams at most: 64 MiB at worst)
if run frags 80 60 frags 200000; then
	check_eq "bounded frags: table full, oldest dropped" 198976 "$(dp frags fragments-evicted)"
	check_eq "bounded frags: the rest incomplete at the end" 1024 "$(dp frags fragments-incomplete)"
	check "bounded frags: shown in the text report" \
		grep -qE "^  fragments-evicted +198976 " "$T/frags.txt"
fi
