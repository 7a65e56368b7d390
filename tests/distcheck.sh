#!/bin/sh
# tests/distcheck.sh: the release tarball builds and passes `make check`
# out of tree (automake's distcheck).
. "$(dirname "$0")/lib.sh"
cd "$BUILD" || exit 1
if make -s distcheck >"$BUILD/distcheck.log" 2>&1; then
	ok "make distcheck"
else
	notok "make distcheck: $(grep -m3 -iE 'error|fail' "$BUILD/distcheck.log")"
	exit 1
fi
rm -f "$BUILD"/dnsvet-*.tar.gz
