#!/bin/sh
# tests/update-golden.sh NAME...: regenerate tests/expected/NAME.out from the
# current build (all names when none given). Review the diff before committing.
. "$(dirname "$0")/lib.sh"

while read -r name pcap args; do
	case "$name" in ''|'#'*) continue ;; esac
	if [ $# -gt 0 ]; then
		want=0
		for n in "$@"; do [ "$n" = "$name" ] && want=1; done
		[ $want = 1 ] || continue
	fi
	case "$pcap" in public/*) file=$PUBLIC/${pcap#public/} ;; *) file=$TOP/$pcap ;; esac
	# shellcheck disable=SC2086
	(cd "$(dirname "$file")" && "$DNSVET" $args "$(basename "$file")") \
		>"$TOP/tests/expected/$name.out" 2>&1
	echo "updated tests/expected/$name.out"
done < "$TOP/tests/TESTLIST"
