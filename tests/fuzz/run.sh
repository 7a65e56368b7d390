#!/bin/sh
# tests/fuzz/run.sh: build and run the libFuzzer targets (tests/fuzz/*.c).
#
#   run.sh build               build the targets
#   run.sh run [TARGET...]     fuzz each target for $FUZZ_SECONDS (default 60)
#   run.sh replay [TARGET...]  run every seed and regression input once
#
# Built with clang (-fsanitize=fuzzer,address,undefined) straight from the
# pipeline's source list in Makefile.am, independent of the CC the main
# build uses. Objects, the growing corpora and crash artifacts live in
# $FUZZ_OUT (default tests/fuzz/out in the build tree). Prints one
# "ok"/"not ok" line per target, like every test group; a crash leaves its
# input in $FUZZ_OUT/crashes/TARGET/ and the report's first lines here.
# To keep a crash as a regression: copy it to tests/fuzz/regress/TARGET/.
TOP=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
TOP=$(cd "$TOP" && pwd)
BUILD=$(cd "${top_builddir:-$TOP}" && pwd)
OUT=${FUZZ_OUT:-$BUILD/tests/fuzz/out}
SECONDS_EACH=${FUZZ_SECONDS:-60}
CLANG=${CLANG:-clang}
TARGETS="record dns tcp pcapng"
mode=${1:-run}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] && TARGETS=$*

die() { echo "not ok fuzz: $*"; exit 1; }

# The pipeline's .c files, from Makefile.am unless the Makefile passed them.
if [ -z "${FUZZ_SRCS:-}" ]; then
	FUZZ_SRCS=$(sed -n '/^src_libdnsvet_a_SOURCES/,/[^\\]$/p' "$TOP/Makefile.am" |
		tr ' \t\\' '\n\n\n' | grep '\.c$')
fi
[ -n "$FUZZ_SRCS" ] || die "no sources found in Makefile.am"
[ -f "$BUILD/config.h" ] || die "no config.h in $BUILD: run configure first"
command -v "$CLANG" >/dev/null || die "$CLANG not found (Debian packages clang, libclang-rt-14-dev)"

CFLAGS="-std=gnu11 -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined
	-fno-sanitize-recover=all -I$BUILD -I$TOP/src -I$TOP/tests/fuzz
	$(pkg-config --cflags libpcap ldns 2>/dev/null)"
LIBS="$(pkg-config --libs libpcap ldns 2>/dev/null || echo -lpcap -lldns) -lm"

build() {
	mkdir -p "$OUT/obj" "$OUT/bin" || die "cannot create $OUT"
	newest_h=$(ls -t "$TOP"/src/*.h "$TOP"/tests/fuzz/*.h "$BUILD/config.h" | head -1)
	objs=""
	for s in $FUZZ_SRCS; do
		o=$OUT/obj/$(basename "$s" .c).o
		objs="$objs $o"
		if [ ! -f "$o" ] || [ "$TOP/$s" -nt "$o" ] || [ "$newest_h" -nt "$o" ]; then
			# shellcheck disable=SC2086
			$CLANG $CFLAGS -fsanitize=fuzzer-no-link -c "$TOP/$s" -o "$o" 2>"$OUT/build.log" ||
				die "compiling $s: $(head -5 "$OUT/build.log")"
		fi
	done
	for t in record dns tcp pcapng; do
		b=$OUT/bin/fuzz-$t
		stale=0
		[ -x "$b" ] || stale=1
		for o in $objs "$TOP/tests/fuzz/fuzz-$t.c" "$newest_h"; do
			[ "$o" -nt "$b" ] && stale=1
		done
		[ $stale = 1 ] || continue
		# shellcheck disable=SC2086
		$CLANG $CFLAGS -fsanitize=fuzzer "$TOP/tests/fuzz/fuzz-$t.c" $objs $LIBS -o "$b" \
			2>"$OUT/build.log" || die "linking fuzz-$t: $(head -5 "$OUT/build.log")"
	done
}

# First lines of a sanitizer or libFuzzer report, on one line.
why() {
	grep -m3 -E 'ERROR|runtime error|SUMMARY|deadly signal|timeout|out-of-memory|abort' "$1" |
		tr '\n' ' ' | cut -c1-300
}

OPTS="-timeout=10 -rss_limit_mb=1024 -close_fd_mask=3"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

build
[ "$mode" = build ] && { echo "ok fuzz: built $(echo $TARGETS | wc -w) targets"; exit 0; }
rc=0
for t in $TARGETS; do
	b=$OUT/bin/fuzz-$t
	log=$OUT/$t.log
	case "$mode" in
	replay)
		# every committed seed and regression input, once
		files=$(find "$TOP/tests/fuzz/corpus-$t" "$TOP/tests/fuzz/regress/$t" -type f 2>/dev/null)
		n=$(echo "$files" | grep -c .)
		if [ "$n" -eq 0 ]; then
			echo "not ok fuzz replay $t: no inputs"
			rc=1
			continue
		fi
		# shellcheck disable=SC2086
		if echo "$files" | xargs "$b" $OPTS >"$log" 2>&1; then
			echo "ok fuzz replay $t: $n inputs"
		else
			echo "not ok fuzz replay $t: $(why "$log")"
			rc=1
		fi
		;;
	run)
		mkdir -p "$OUT/corpus/$t" "$OUT/crashes/$t"
		# new inputs go to the first (build tree) directory; seeds stay put
		# shellcheck disable=SC2086
		"$b" $OPTS -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
			-artifact_prefix="$OUT/crashes/$t/" "$OUT/corpus/$t" "$TOP/tests/fuzz/corpus-$t" \
			>"$log" 2>&1
		st=$?
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
		cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
		if [ $st -eq 0 ]; then
			echo "ok fuzz $t: ${runs:-?} executions in ${SECONDS_EACH}s, coverage ${cov:-?}"
		else
			echo "not ok fuzz $t: after ${runs:-?} executions: $(why "$log")" \
				"input: $(ls -t "$OUT/crashes/$t" | head -1)"
			rc=1
		fi
		;;
	*) die "unknown mode '$mode' (build, run or replay)" ;;
	esac
done
exit $rc
