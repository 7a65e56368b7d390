#!/bin/sh
# tests/golden.sh: golden-output tests, in the style of tcpdump's TESTLIST.
#
# Each line of tests/TESTLIST is: NAME PCAP ARGS...
# The test runs `dnsvet ARGS PCAP` and compares stdout with
# tests/expected/NAME.out. PCAP is relative to the source tree, or
# "public/..." for ../shared/pcaps/public. To accept new output after a
# reviewed change: tests/update-golden.sh NAME.
. "$(dirname "$0")/lib.sh"

fail=0
while read -r name pcap args; do
	case "$name" in ''|'#'*) continue ;; esac
	case "$pcap" in public/*) file=$PUBLIC/${pcap#public/} ;; *) file=$TOP/$pcap ;; esac
	if [ ! -f "$file" ]; then
		notok "golden $name: missing $pcap"
		fail=1
		continue
	fi
	out=$(mktemp)
	# shellcheck disable=SC2086
	(cd "$(dirname "$file")" && "$DNSVET" $args "$(basename "$file")") >"$out" 2>&1
	if cmp -s "$out" "$TOP/tests/expected/$name.out"; then
		ok "golden $name"
	else
		notok "golden $name: output differs (diff -u tests/expected/$name.out <(...))"
		diff -u "$TOP/tests/expected/$name.out" "$out" | head -20 | sed 's/^/#   /'
		fail=1
	fi
	rm -f "$out"
done < "$TOP/tests/TESTLIST"
exit $fail
