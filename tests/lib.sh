# tests/lib.sh: shared helpers for the test groups (sourced, not run).
#
# A test group is a script that prints one line per test: "ok NAME" or
# "not ok NAME: why". tests/run-all.sh runs every group and tallies them.
# Paths: $TOP is the source tree, $BUILD the build tree (same unless VPATH).

TOP=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
TOP=$(cd "$TOP" && pwd)
BUILD=${top_builddir:-$TOP}
BUILD=$(cd "$BUILD" && pwd)
DNSVET=${DNSVET:-$BUILD/src/dnsvet}
PUBLIC=${PUBLIC:-$TOP/../shared/pcaps/public}
export TZ=UTC LC_ALL=C NO_COLOR=1

ok() { echo "ok $*"; }
notok() { echo "not ok $*"; }

# check NAME CMD...: ok if CMD exits 0
check() {
	_name=$1
	shift
	if "$@" >/dev/null 2>&1; then ok "$_name"; else notok "$_name"; fi
}

# check_eq NAME EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else notok "$1: expected '$2', got '$3'"; fi
}

# json_get FILE EXPR: evaluate a python expression on the JSON document d
json_get() {
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}
