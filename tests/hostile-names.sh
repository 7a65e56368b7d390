#!/bin/sh
# tests/hostile-names.sh: query names (and an interface name) with control
# characters, invalid UTF-8, quotes, backslashes and the largest lengths
# are escaped in report and tx text and are valid JSON strings that decode
# to the presentation form; no ESC byte ever reaches stdout.
# Made and checked by tests/hostile-names.py.
. "$(dirname "$0")/lib.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
python3 "$TOP/tests/hostile-names.py" "$DNSVET" "$T"
