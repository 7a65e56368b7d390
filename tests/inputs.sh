#!/bin/sh
# tests/inputs.sh: how dnsvet treats its input files: several files as one
# stream, stdin, pcapng, files that are not captures, truncated files.
. "$(dirname "$0")/lib.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
P=$PUBLIC/dnscap/dns.pcap

# not a capture: clear error, exit 2
echo "hello, I am not a pcap" > "$T/text.pcap"
"$DNSVET" report "$T/text.pcap" >/dev/null 2>"$T/err"
check_eq "not a capture: exit 2" 2 $?
check "not a capture: error names the file" grep -q "text.pcap' is not a capture file" "$T/err"
: > "$T/empty.pcap"
"$DNSVET" report "$T/empty.pcap" >/dev/null 2>"$T/err"
check_eq "empty file: exit 2" 2 $?
gzip -c "$P" > "$T/trace.pcap.gz"
"$DNSVET" report "$T/trace.pcap.gz" >/dev/null 2>"$T/err"
check_eq "gzip-compressed: exit 2" 2 $?
check "gzip-compressed: says so, and how to read it" \
	grep -q "trace.pcap.gz' is not a capture file: it is gzip-compressed; read it through a pipe: <(zcat" "$T/err"
"$DNSVET" report - < "$T/trace.pcap.gz" >/dev/null 2>"$T/err"
check "gzip-compressed on stdin: says so" grep -q "'-' is not a capture file: it is gzip-compressed; decompress it on the way in (zcat FILE" "$T/err"
"$DNSVET" report "$T/missing.pcap" >/dev/null 2>"$T/err"
check_eq "missing file: exit 2" 2 $?
check "missing file: says why" grep -q "unable to open" "$T/err"

# truncated: results for what was read, a warning saying where it stopped
size=$(stat -c %s "$P")
head -c $((size - 100)) "$P" > "$T/cut.pcap"
"$DNSVET" report --json "$T/cut.pcap" >"$T/out" 2>"$T/err"
check_eq "truncated: exit 0" 0 $?
check "truncated: warning says where" grep -q "truncated or damaged after frame 132" "$T/err"
check_eq "truncated: results for what was read" 132 "$(json_get "$T/out" "d['summary']['packets']")"
check_eq "truncated: counted in the JSON" 1 "$(json_get "$T/out" "d['truncated_files']")"

# a rotated series: split a trace in two; a query in one file answered in
# the next must still match
editcap -c 67 "$P" "$T/part.pcap" >/dev/null 2>&1
parts=$(ls "$T"/part*.pcap | sort)
check_eq "split: two files" 2 "$(echo "$parts" | wc -l)"
# shellcheck disable=SC2086
"$DNSVET" report --json $parts > "$T/split.json"
"$DNSVET" report --json "$P" > "$T/whole.json"
check_eq "rotated series: same matches as one file" \
	"$(json_get "$T/whole.json" "d['summary']['matched']")" "$(json_get "$T/split.json" "d['summary']['matched']")"
check_eq "rotated series: nothing unanswered at the cut" 0 "$(json_get "$T/split.json" "d['summary']['unanswered'] + d['summary']['open_at_end']")"

# stdin
"$DNSVET" report --json - < "$P" > "$T/stdin.json"
check_eq "stdin: same result" "$(json_get "$T/whole.json" "d['summary']")" "$(json_get "$T/stdin.json" "d['summary']")"
"$DNSVET" tx - < "$P" > "$T/tx-stdin"
"$DNSVET" tx "$P" > "$T/tx-file"
check "tx from stdin (spooled for two passes)" cmp -s "$T/tx-stdin" "$T/tx-file"
# a named pipe, as <(zcat trace.pcap.gz) gives: its first bytes must not be
# used up by the check before the reading (they were: "not a capture file",
# or a wait for a second writer that never comes, hence the timeouts)
mkfifo "$T/fifo"
timeout 30 sh -c 'cat "$1" > "$2"' - "$P" "$T/fifo" &
timeout 30 "$DNSVET" report --json "$T/fifo" > "$T/fifo.json" 2>"$T/fifo.err"
check_eq "named pipe: report reads it (exit 0)" 0 $?
wait
check_eq "named pipe: same result" "$(json_get "$T/whole.json" "d['summary']")" "$(json_get "$T/fifo.json" "d['summary']" 2>&1)"
timeout 30 sh -c 'cat "$1" > "$2"' - "$P" "$T/fifo" &
timeout 30 "$DNSVET" report --json -j 2 "$T/fifo" > "$T/fifo2.json" 2>"$T/fifo.err"
wait
check_eq "named pipe: -j 2 too" "$(json_get "$T/whole.json" "d['summary']")" "$(json_get "$T/fifo2.json" "d['summary']" 2>&1)"
timeout 30 sh -c 'cat "$1" > "$2"' - "$P" "$T/fifo" &
timeout 30 "$DNSVET" tx "$T/fifo" > "$T/tx-fifo" 2>"$T/fifo.err"
wait
check "named pipe: tx with tags (spooled for two passes)" cmp -s "$T/tx-fifo" "$T/tx-file"
# the spool leaves nothing behind, even when tx dies of SIGPIPE
before=$(ls /tmp | grep -c '^dnsvet-stdin-')
"$DNSVET" tx - < "$P" | true
check_eq "tx - | true (SIGPIPE): no temporary file left" "$before" "$(ls /tmp | grep -c '^dnsvet-stdin-')"
"$DNSVET" tx - - < "$P" > /dev/null 2>"$T/err"
check_eq "tx - -: exit 2" 2 $?
check "tx - -: says why" grep -q "given more than once" "$T/err"

# pcapng with two interfaces: interfaces kept per packet
python3 "$TOP/tests/mkpcapng.py" "$T/two.pcapng" "$PUBLIC/dnscap/dns.pcap:eth0" "$PUBLIC/tcpdump/edns-opts.pcap:eth1"
"$DNSVET" report --json "$T/two.pcapng" > "$T/ng.json"
check_eq "pcapng: both interfaces' queries" 62 "$(json_get "$T/ng.json" "d['summary']['matched']")"
check_eq "pcapng: two interfaces reported" "eth0 41 eth1 21" \
	"$(json_get "$T/ng.json" "' '.join('%s %d' % (i['key'], i['transactions']) for i in sorted(d['interfaces'], key=lambda i: i['key']))")"
"$DNSVET" tx --json "$T/two.pcapng" > "$T/ng.tx"
"$DNSVET" tx --json "$PUBLIC/dnscap/dns.pcap" > "$T/pcap.tx"
check_eq "pcapng: nanosecond interface keeps the latencies" \
	"$(python3 -c "import json; print(sorted(json.loads(l)['latency_ms'] for l in open('$T/pcap.tx')))")" \
	"$(python3 -c "import json; print(sorted(json.loads(l)['latency_ms'] for l in open('$T/ng.tx') if json.loads(l)['interface']=='eth0'))")"
# the same datagrams captured on two interfaces (-i any over a bridge):
# copies, not retransmissions or duplicate answers
python3 "$TOP/tests/mkpcapng.py" "$T/copies.pcapng" "$PUBLIC/dnscap/dns.pcap:veth0" "$PUBLIC/dnscap/vlan11.pcap:br0"
"$DNSVET" report --json "$T/copies.pcapng" > "$T/copies.json"
check_eq "copies on two interfaces: not retransmissions, not duplicates" "41 0 0 82" \
	"$(json_get "$T/copies.json" "'%d %d %d %d' % (d['summary']['matched'], d['summary']['retransmissions'], d['summary']['duplicates'], d['summary']['interface_copies'])")"
# SLL2 keeps the interface index
check_eq "sll2: interface index kept" "ifindex 10" \
	"$("$DNSVET" report --json "$PUBLIC/dnscap/sll2.pcap" | json_get /dev/stdin "d['interfaces'][0]['key']")"

# one direction only: the zeros are explained, with the likely cause
"$DNSVET" report "$PUBLIC/dnsjit/pellets.pcap" > "$T/oneway.txt"
check "queries only: the responses line says one direction may be missing" \
	grep -q "responses  *0   none: one direction captured (a filter like 'dst port 53'?), or no server answered" "$T/oneway.txt"
"$DNSVET" report "$PUBLIC/dnscap/dns.pcap" > "$T/twoway.txt"
check "queries and responses: no such note" sh -c "! grep -q 'one direction' '$T/twoway.txt'"

# usage errors
"$DNSVET" report >/dev/null 2>&1
check_eq "no file: exit 2" 2 $?
"$DNSVET" report --bogus "$P" >/dev/null 2>&1
check_eq "unknown option: exit 2" 2 $?
"$DNSVET" frobnicate >/dev/null 2>&1
check_eq "unknown command: exit 2" 2 $?
for c in report tx; do check "$c --help fits one screen (<= 24 lines)" test "$("$DNSVET" $c --help | wc -l)" -le 24; done
check "dnsvet help tx" sh -c "'$DNSVET' help tx | grep -q 'usage: dnsvet tx'"
check "--version" sh -c "'$DNSVET' --version | grep -q '^dnsvet '"
