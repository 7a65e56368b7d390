#!/bin/sh
# tests/unit.sh: the C unit tests (built by `make check`), as a test group.
. "$(dirname "$0")/lib.sh"
cd "$BUILD" && make -s check TESTS= >/dev/null 2>&1 || { notok "unit: building the unit tests failed"; exit 1; }
rc=0
for t in tests/unit-*; do
	# the -san builds are public-pcaps.sh's, and may be from older sources
	case "$t" in *.c|*.o|*.log|*.trs|*-san) continue ;; esac
	[ -x "$t" ] || continue
	"$t" || rc=1
done
exit $rc
