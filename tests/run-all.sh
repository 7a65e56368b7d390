#!/bin/sh
# tests/run-all.sh: the whole test suite (what .ci/run runs).
#
# Runs each test group in tests/groups.list, prints their "ok"/"not ok"
# lines, and ends with "N passed, N failed". Exits non-zero on any failure.
# A group that needs something this machine lacks (root for network
# namespaces) reports that as a failure, not a skip: CI must run it all.
. "$(dirname "$0")/lib.sh"

cd "$TOP" || exit 2
log=$(mktemp)
pass=0
failn=0
start=$(date +%s)
while read -r group; do
	case "$group" in ''|'#'*) continue ;; esac
	echo "# group $group"
	t0=$(date +%s)
	sh "$TOP/tests/$group" >"$log" 2>&1
	rc=$?
	cat "$log"
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok $group: exited $rc without naming a failed test"
		f=1
	fi
	pass=$((pass + p))
	failn=$((failn + f))
	echo "# group $group: $p passed, $f failed, $(( $(date +%s) - t0 ))s"
done < "$TOP/tests/groups.list"
rm -f "$log"
echo "# total time $(( $(date +%s) - start ))s"
echo "$pass passed, $failn failed"
[ "$failn" -eq 0 ]
