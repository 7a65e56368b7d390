#!/bin/sh
# tests/bench-correct.sh: `-j 2` gives exactly what `-j 1` gives, on a
# rotated series of the benchmark trace (200 k packets over 17 s from
# tests/bench/gen-trace, cut in 4 files with editcap), and the series reads
# as the one file it was cut from.
. "$(dirname "$0")/lib.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

(cd "$BUILD" && make -s tests/bench/gen-trace >/dev/null 2>&1) ||
	{ notok "bench-correct: building tests/bench/gen-trace failed"; exit 1; }
"$BUILD/tests/bench/gen-trace" -n 200000 -r 4000 "$T/trace.pcap" 2>"$T/gen" ||
	{ notok "bench-correct: gen-trace failed"; exit 1; }
# "gen-trace: 203773 packets (105054 queries, 98719 responses) over 3.4 s"
set -- $(sed 's/[(),]/ /g' "$T/gen")
packets=$2 queries=$4 responses=$6
editcap -F pcap -c $(( (packets + 3) / 4 )) "$T/trace.pcap" "$T/part.pcap" >/dev/null 2>&1
# shellcheck disable=SC2046
set -- $(ls "$T"/part*.pcap | sort)
check_eq "bench-correct: the trace is cut in 4 files" 4 $#

"$DNSVET" report --json --no-progress -j 1 "$@" > "$T/j1.json"
"$DNSVET" report --json --no-progress -j 2 "$@" > "$T/j2.json"
check_eq "bench-correct: -j 2 exits 0" 0 $?
check_eq "bench-correct: every packet read" "$packets" "$(json_get "$T/j1.json" "d['summary']['packets']")"
check_eq "bench-correct: every query seen" "$queries" "$(json_get "$T/j1.json" "d['summary']['queries']")"
check_eq "bench-correct: every response seen" "$responses" "$(json_get "$T/j1.json" "d['summary']['responses']")"
check "bench-correct: the trace has findings to compare" \
	test "$(json_get "$T/j1.json" "len(d['findings'])")" -gt 0
check_eq "bench-correct: -j 2 summary = -j 1" \
	"$(json_get "$T/j1.json" "d['summary']")" "$(json_get "$T/j2.json" "d['summary']")"
check_eq "bench-correct: -j 2 findings = -j 1" \
	"$(json_get "$T/j1.json" "d['findings']")" "$(json_get "$T/j2.json" "d['findings']")"
check "bench-correct: -j 2 report = -j 1, byte for byte" cmp -s "$T/j1.json" "$T/j2.json"

# transactions stitched across the cuts: the series is the file
"$DNSVET" report --json --no-progress "$T/trace.pcap" > "$T/whole.json"
check_eq "bench-correct: the series pairs as the whole file" \
	"$(json_get "$T/whole.json" "d['summary']")" "$(json_get "$T/j2.json" "d['summary']")"

# tx: same lines, same order, same finding tags
"$DNSVET" tx --json -j 1 "$@" > "$T/tx1"
"$DNSVET" tx --json -j 2 "$@" > "$T/tx2"
check_eq "bench-correct: tx lists every transaction" \
	"$(json_get "$T/j1.json" "d['summary']['transactions'] - d['summary']['evicted']")" \
	"$(wc -l < "$T/tx1" | tr -d ' ')"
check "bench-correct: tx -j 2 = -j 1" cmp -s "$T/tx1" "$T/tx2"
