#!/bin/sh
# tests/damaged.sh: damaged savefiles through the sanitizer build: cut at
# every offset, bytes flipped, header fields and block lengths corrupted.
# A clean error (exit 2, naming the file) or results with a warning saying
# where reading stopped (exit 0); never a hang or a sanitizer report.
# The cases are made and judged by tests/damaged.py.
. "$(dirname "$0")/lib.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
(cd "$BUILD" && make -s -j2 sanitize) >"$T/build.log" 2>&1 ||
	{ notok "damaged: sanitizer build failed: $(tail -3 "$T/build.log")"; exit 1; }
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=98
python3 "$TOP/tests/damaged.py" "$BUILD/src/dnsvet-san" "$PUBLIC" "$T"
