#!/bin/sh
# tests/fuzz.sh: a short fuzz pass. Every committed seed and every
# regression input (tests/fuzz/regress/TARGET/, crashes found earlier) is
# replayed once, then each libFuzzer target runs for FUZZ_SECONDS (10 s
# here; `make fuzz` runs 60 s each). Built with clang, ASan and UBSan.
. "$(dirname "$0")/lib.sh"
export top_srcdir="$TOP" top_builddir="$BUILD"
FUZZ_SECONDS=${FUZZ_SECONDS:-10} sh "$TOP/tests/fuzz/run.sh" replay || rc=1
FUZZ_SECONDS=${FUZZ_SECONDS:-10} sh "$TOP/tests/fuzz/run.sh" run || rc=1
exit ${rc:-0}
