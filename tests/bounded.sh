#!/bin/sh
# tests/bounded.sh: bounded memory under hostile load. tests/flood.c writes
# the traffic into a pipe (nothing of this size is stored); dnsvet report
# --max-open 100000 reads it. Peak RSS (GNU time) must not grow with the
# flood (a flood four times longer may cost at most a quarter more, for
# allocator slack) and must stay under a ceiling; evictions must be
# counted and shown; every run must finish in time (an eviction that was
# O(open queries) once turned a flood into hours). FLOOD_QUERIES sets the
# size of the query flood (default 2 M; 10 M was run by hand, see the
# commit message).
. "$(dirname "$0")/lib.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
N=${FLOOD_QUERIES:-2000000}
Q=$((N / 4))
${CC:-cc} -O2 -o "$T/flood" "$TOP/tests/flood.c" 2>"$T/cc.log" ||
	{ notok "bounded: building tests/flood.c: $(head -3 "$T/cc.log")"; exit 1; }
[ -x /usr/bin/time ] || { notok "bounded: /usr/bin/time missing (Debian package time)"; exit 1; }

# run NAME SECONDS "DNSVET-ARGS" FLOOD-ARGS...: output in $T/NAME.out, peak
# RSS in MB in $T/NAME.rss; 1 (and a failed test) if it fails or hangs
run() {
	name=$1 secs=$2 args=$3
	shift 3
	# shellcheck disable=SC2086
	"$T/flood" "$@" | timeout "$secs" /usr/bin/time -f %M -o "$T/$name.kb" \
		"$DNSVET" report --no-progress --max-open 100000 $args - >"$T/$name.out" 2>"$T/$name.err"
	st=$?
	if [ $st -ne 0 ]; then
		notok "bounded $name: exit $st (124: not finished in ${secs}s): $(head -2 "$T/$name.err")"
		return 1
	fi
	echo $(( $(tail -1 "$T/$name.kb") / 1024 )) >"$T/$name.rss"
}
rss() { cat "$T/$1.rss"; }
# under NAME MB: peak RSS of run NAME at most MB
under() {
	if [ "$(rss "$1")" -le "$2" ]; then ok "bounded $1: peak RSS $(rss "$1") MB <= $2 MB"
	else notok "bounded $1: peak RSS $(rss "$1") MB > $2 MB"; fi
}
# flat SMALL BIG: the 4x longer flood costs at most 25% more
flat() {
	lim=$(( $(rss "$1") * 5 / 4 ))
	if [ "$(rss "$2")" -le "$lim" ]; then
		ok "bounded $2: memory does not grow with the flood ($(rss "$1") -> $(rss "$2") MB)"
	else
		notok "bounded $2: memory grows with the flood ($(rss "$1") -> $(rss "$2") MB, limit $lim)"
	fi
}
sum() { json_get "$T/$1.out" "d['summary']['$2']"; }
dp() { json_get "$T/$1.out" "d['decode_problems']['$2']"; }

# (a) an unanswered flood of random names, 200,000 queries a second: the
# answer window (10 s) would hold them all; the cap holds 100,000
if run queries-short 60 "" queries "$Q" 200000 && run queries 120 --json queries "$N" 200000; then
	flat queries-short queries
	under queries 500
	check_eq "bounded queries: all counted" "$N" "$(sum queries transactions)"
	check_eq "bounded queries: the cap's worth still open at the end" 100000 "$(sum queries open_at_end)"
	check_eq "bounded queries: evictions counted (queries + lookups)" $(( 2 * (N - 100000) )) \
		"$(sum queries evicted)"
	check "bounded queries: evictions shown in the text report" \
		grep -qE "^  evicted +$(( 2 * (Q - 100000) )) " "$T/queries-short.out"
fi
# the matcher's share, which --max-open caps (540 MB at the default)
run queries-matcher 120 "--json --detectors unanswered" queries "$N" 200000 &&
	under queries-matcher 100
# half answered, a million a second, for distinct names: lookups outlive
# their queries (evicting one used to scan every open query) and answered
# keys pile up for the window (they used to be uncapped)
if run mixed-short 60 --json mixed "$Q" 1000000 && run mixed 60 --json mixed "$N" 1000000; then
	flat mixed-short mixed
	under mixed 500
	check_eq "bounded mixed: all answered ones matched" $((N / 2)) "$(sum mixed matched)"
	check "bounded mixed: lookups evicted" test "$(sum mixed evicted)" -gt 0
fi
# the matcher's share: answered keys capped too (133 MB before)
run mixed-matcher 60 "--json --detectors unanswered" mixed "$N" 1000000 &&
	under mixed-matcher 110
# (b) TCP connections that never close, each in the middle of a 64 KiB
# message: 12,000 of them, 63 KB each, would be 750 MB (it was 530 MB
# before the 64 MiB budget over all streams)
if run tcp 60 --json tcp 12000 45 && run tcp-text 60 "" tcp 12000 45; then
	under tcp 150
	check_eq "bounded tcp: every stream counted as evicted" 12000 "$(dp tcp tcp-evicted)"
	check "bounded tcp: shown in the text report" grep -qE "^  tcp-evicted +12000 " "$T/tcp-text.out"
fi
# (c) fragments that never complete, each growing its buffer to 64 KiB
# (1024 datagrams at most: 64 MiB at worst)
if run frags 60 --json frags 200000 && run frags-text 60 "" frags 200000; then
	under frags 150
	check_eq "bounded frags: table full, oldest dropped" 198976 "$(dp frags fragments-evicted)"
	check_eq "bounded frags: the rest incomplete at the end" 1024 "$(dp frags fragments-incomplete)"
	check "bounded frags: shown in the text report" \
		grep -qE "^  fragments-evicted +198976 " "$T/frags-text.out"
fi
