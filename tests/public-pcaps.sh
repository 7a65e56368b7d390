#!/bin/sh
# tests/public-pcaps.sh: every public capture (several deliberately broken)
# and every trace in pcaps/ through an AddressSanitizer + UBSan build of
# dnsvet: exit status 0, valid JSON, no sanitizer report. The unit tests run
# under the sanitizers too.
. "$(dirname "$0")/lib.sh"

SAN=$(mktemp -d)
trap 'rm -rf "$SAN"' EXIT
(cd "$BUILD" && make -s -j2 sanitize) >"$SAN/build.log" 2>&1 ||
	{ notok "sanitizer build failed: $(tail -5 "$SAN/build.log")"; exit 1; }
SANBIN=$BUILD/src/dnsvet-san
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=98
rc=0
for t in "$BUILD"/tests/unit-*-san; do
	[ -x "$t" ] || continue
	if "$t" >/dev/null 2>"$SAN/unit.err"; then ok "sanitized $(basename "$t")"
	else notok "sanitized $(basename "$t"): $(head -3 "$SAN/unit.err")"; rc=1; fi
done
for f in "$PUBLIC"/*/*.pcap "$TOP"/pcaps/*.pcap "$TOP"/pcaps/*.pcapng; do
	[ -f "$f" ] || continue
	name=$(echo "$f" | sed "s|$PUBLIC/||; s|$TOP/||")
	out=$("$SANBIN" report --json --port 53,8053 "$f" 2>"$SAN/err")
	st=$?
	if [ $st -ne 0 ] || grep -qE "Sanitizer|runtime error" "$SAN/err"; then
		notok "sanitized report $name: exit $st: $(grep -m2 -E 'ERROR|runtime error' "$SAN/err")"
		rc=1
		continue
	fi
	if ! printf '%s\n' "$out" | python3 -c "import json,sys; d=json.load(sys.stdin); assert isinstance(d['decode_problems'], dict)"; then
		notok "sanitized report $name: output is not valid JSON with decode_problems"
		rc=1
		continue
	fi
	"$SANBIN" tx "$f" >/dev/null 2>"$SAN/err"
	st=$?
	if [ $st -ne 0 ] || grep -qE "Sanitizer|runtime error" "$SAN/err"; then
		notok "sanitized tx $name: exit $st"
		rc=1
		continue
	fi
	ok "sanitized report+tx $name"
done
# -j 2 (detectors in two processes, their findings and tags sent across)
# under the sanitizers, and byte for byte what one process gives
for f in "$TOP"/pcaps/*.pcap; do
	name=$(basename "$f")
	"$SANBIN" report --json -j 2 "$f" >"$SAN/j2" 2>"$SAN/err"
	st=$?
	"$DNSVET" report --json "$f" >"$SAN/j1" 2>/dev/null
	"$SANBIN" tx --json -j 2 "$f" >"$SAN/t2" 2>>"$SAN/err"
	st=$((st + $?))
	"$DNSVET" tx --json "$f" >"$SAN/t1" 2>/dev/null
	if [ $st -ne 0 ] || grep -qE "Sanitizer|runtime error" "$SAN/err"; then
		notok "sanitized -j 2 $name: exit $st: $(grep -m2 -E 'ERROR|runtime error' "$SAN/err")"
	elif ! cmp -s "$SAN/j1" "$SAN/j2" || ! cmp -s "$SAN/t1" "$SAN/t2"; then
		notok "sanitized -j 2 $name: report or tx differs from -j 1"
	else
		ok "sanitized -j 2 report+tx $name"
	fi
done
# the broken files report their problems by reason
check_eq "compression loop counted (dns_fwdptr)" 1 \
	"$("$DNSVET" report --json "$PUBLIC/tcpdump/dns_fwdptr.pcap" | json_get /dev/stdin "d['decode_problems']['dns-compression-loop']")"
check_eq "name too long counted (dns-badlabel)" 1 \
	"$("$DNSVET" report --json "$PUBLIC/tcpdump/dns-badlabel.pcap" | json_get /dev/stdin "d['decode_problems']['dns-name-too-long']")"
check_eq "tcp hole counted (dnso1tcp-midmiss)" 2 \
	"$("$DNSVET" report --json "$PUBLIC/dnscap/dnso1tcp-midmiss.pcap" | json_get /dev/stdin "d['decode_problems']['tcp-hole']")"
check_eq "missing syn counted (1qtcpnosyn)" 2 \
	"$("$DNSVET" report --json "$PUBLIC/dnscap/1qtcpnosyn.pcap" | json_get /dev/stdin "d['decode_problems']['tcp-missing-syn']")"
check_eq "fragments reassembled (frags.pcap)" 41 \
	"$("$DNSVET" report --json "$PUBLIC/dnscap/frags.pcap" | json_get /dev/stdin "d['summary']['matched']")"
exit $rc
