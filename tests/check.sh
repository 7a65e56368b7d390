#!/bin/sh
# tests/check.sh: dnsvet check, the CI gate: passing and failing traces,
# every exit status, rule errors with line and column, and the JUnit (schema
# validated), markdown and JSON outputs.
. "$(dirname "$0")/lib.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$TOP" || exit 1
RULES=tests/ci-rules.txt
H=pcaps/healthy.pcap
U=pcaps/unanswered.pcap
R=pcaps/retry-timeout.pcap
XSD=tests/junit.xsd
# ground truth written by pcaps/make-traces.sh
truth() { sed -n "s/^$2=//p" "pcaps/expected/$1.txt"; }

# count lines of FILE matching a basic regex (0 when none)
count() { grep -c "$1" "$2"; }

# ---- passing traces ---------------------------------------------------------
"$DNSVET" check "$H" >"$T/out" 2>"$T/err"
check_eq "healthy, default rules: exit 0" 0 $?
check_eq "healthy, default rules: one rule per detector, all pass" "10 0" \
	"$(count '^  PASS  ' "$T/out") $(count '^  FAIL  ' "$T/out")"
check "healthy, default rules: says passed" grep -q '^dnsvet check: passed: 10 rules hold$' "$T/out"
check_eq "healthy, default rules: nothing on stderr" "" "$(cat "$T/err")"
"$DNSVET" check --rules "$RULES" "$H" >"$T/out" 2>&1
check_eq "healthy, sample CI rules: exit 0" 0 $?
check_eq "healthy, sample CI rules: 6 pass" 6 "$(count '^  PASS  ' "$T/out")"
# the metrics are those of the ground truth
printf 'queries == %s\nresponses == %s\nunanswered == %s\nanswered_ratio >= 100%%\n' \
	"$(truth healthy queries)" "$(truth healthy responses)" "$(truth healthy unanswered)" >"$T/truth.rules"
"$DNSVET" check --rules "$T/truth.rules" "$H" >"$T/out" 2>&1
check_eq "healthy: counts match the ground truth" 0 $?
"$DNSVET" check - <"$H" >/dev/null 2>&1
check_eq "standard input: exit 0" 0 $?
# -j, as --help says (it was only --jobs until 2026-12-03)
for j in '-j 2' '--jobs 3'; do
	"$DNSVET" check --json $j --rules "$RULES" "$U" >"$T/j.json" 2>"$T/err"
	check_eq "check $j: exit 1, as with one process" 1 $?
	"$DNSVET" check --json --rules "$RULES" "$U" >"$T/j1.json" 2>/dev/null
	check "check $j: the same JSON as one process" cmp -s "$T/j1.json" "$T/j.json"
done

# ---- failing traces ---------------------------------------------------------
# What check says about retry-timeout.pcap must be what report says about it,
# and report's counts must account for the ground truth: every query
# datagram without a reply (truth: unanswered) is an unanswered transaction,
# one still open at the end, or a re-send.
"$DNSVET" report --json "$R" >"$T/r.json" 2>/dev/null
rsum() { json_get "$T/r.json" "d['summary']$1"; }
check_eq "retry-timeout: report accounts for the ground truth" \
	"$(truth retry-timeout queries) $(truth retry-timeout responses) $(truth retry-timeout unanswered)" \
	"$(rsum "['queries']") $(rsum "['responses']") \
$(json_get "$T/r.json" "sum(d['summary'][k] for k in ('unanswered', 'open_at_end', 'retransmissions'))")"
# by hand from pcaps/README.md: dig1 loses 2 tries, dig2 3, ub1 2 (each try
# a transaction of its own: dig changes port, unbound the id); gone's A and
# AAAA are still in their answer window when the capture stops; glibc
# re-sends drop1 and drop2 once, drop3 and gone twice, each for A and AAAA
check_eq "retry-timeout: unanswered, open at end, retransmissions" "7 2 12" \
	"$(rsum "['unanswered']") $(rsum "['open_at_end']") $(rsum "['retransmissions']")"
UN=$(rsum "['unanswered']")
# the slowest answer, as check prints a time (drop3: 3 tries)
SLOWEST=$(json_get "$T/r.json" "'%.3fs' % (d['summary']['latency_ms']['max'] / 1000)")
# gone's re-sends span the intervals of the ground truth
GONE=$(truth retry-timeout retry.gone.example.test.A | awk -F, '{ printf "%.3fs", $1 + $2 }')
"$DNSVET" check --rules "$RULES" "$R" >"$T/out" 2>"$T/err"
check_eq "retry-timeout, CI rules: exit 1" 1 $?
check_eq "retry-timeout: 5 rules fail" 5 "$(count '^  FAIL  ' "$T/out")"
for rule in 'unanswered == 0' 'open_at_end == 0' 'retransmissions == 0' 'latency.p99 <= 200ms' \
	'any severity < warning'; do
	check "retry-timeout: fails '$rule'" grep -q "^  FAIL  $rule  " "$T/out"
done
check "retry-timeout: says exactly why" grep -qx \
	"  unanswered is $UN (queries with no answer within the answer window), expected == 0" "$T/out"
check "retry-timeout: where the rule is" grep -qx 'FAIL unanswered == 0  (tests/ci-rules.txt:12)' "$T/out"
check "retry-timeout: evidence by file and frame" grep -qx \
	'    pcaps/retry-timeout.pcap #9  04:00:45.572542  10.53.0.2 -> 10.53.0.1 A? dig1.example.test. unanswered' "$T/out"
check "retry-timeout: open at end, re-sent over the ground truth's intervals" grep -qx \
	"    pcaps/retry-timeout.pcap #54  04:01:07.107853  10.53.0.2 -> 10.53.0.1 A? gone.example.test. open at end, re-sent over $GONE" "$T/out"
check "retry-timeout: latency evidence, slowest first" sh -c \
	"grep -A2 'answered queries over the limit' '$T/out' | sed -n 2p | grep -q 'drop3.example.test. NOERROR after $SLOWEST (retransmitted)\$'"
# every finding of the report, each under the severity rule
json_get "$T/r.json" "'\\n'.join('  [%s] %s: %s' % (f['severity'], f['detector'], f['summary']) for f in d['findings'])" >"$T/findings"
check_eq "retry-timeout: the report's findings are unanswered and retry-timeout" \
	"unanswered retry-timeout" "$(json_get "$T/r.json" "' '.join(f['detector'] for f in d['findings'])")"
check_eq "retry-timeout: the findings behind a severity rule" "" "$(grep -vxFf "$T/out" "$T/findings")"
check "retry-timeout: last line" grep -qx 'dnsvet check: FAILED: 5 of 6 rules failed' "$T/out"
"$DNSVET" check --answer-window 2s "$U" >"$T/out" 2>&1
check_eq "unanswered, default rules, 2 s window: exit 1" 1 $?
check "unanswered: the unanswered detector fails" grep -q \
	'^  unanswered severity is critical (1 finding), expected < warning$' "$T/out"
printf 'queries == %s\nresponses == %s\nunanswered.ratio <= 0.01\n' \
	"$(truth unanswered queries)" "$(truth unanswered responses)" >"$T/u.rules"
# the ratio: unanswered transactions over those that ran their window
# (all but the ones still open at the end), as the report counts them
"$DNSVET" report --json --answer-window 2s "$U" >"$T/ur.json" 2>/dev/null
ratio=$(json_get "$T/ur.json" "'%.2f%% (%d of %d' % (100.0 * d['summary']['unanswered'] / (d['summary']['transactions'] - d['summary']['open_at_end']), d['summary']['unanswered'], d['summary']['transactions'] - d['summary']['open_at_end'])")
"$DNSVET" check --answer-window 2s --rules "$T/u.rules" "$U" >"$T/out" 2>&1
check_eq "unanswered: ratio rule fails" 1 $?
check_eq "unanswered: counts match the ground truth, the ratio does not" "PASS PASS FAIL" \
	"$(sed -n 's/^  \(PASS\|FAIL\)  .*/\1/p' "$T/out" | paste -sd' ')"
check "unanswered: ratio message" grep -qx \
	"  unanswered.ratio is $ratio transactions that ran their answer window), expected <= 0.01" "$T/out"
# per server, and a server that is not there
printf 'server 10.53.0.1 unanswered == %s\nserver 10.53.0.1 latency.p50 < 1ms\n' \
	"$(json_get "$T/r.json" "[s['unanswered'] for s in d['servers'] if s['key'] == '10.53.0.1'][0]")" >"$T/s.rules"
"$DNSVET" check --rules "$T/s.rules" "$R" >/dev/null 2>&1
check_eq "per server: holds" 0 $?
printf 'server 10.9.9.9 unanswered == 0\n' >"$T/s.rules"
"$DNSVET" check --rules "$T/s.rules" "$R" >"$T/out" 2>&1
check_eq "per server: a server not in the capture fails" 1 $?
check "per server: says so" grep -q 'no DNS transaction with server 10.9.9.9 in the capture' "$T/out"
# --fail-on adds a rule per detector to the file's
"$DNSVET" check --rules "$T/s.rules" --fail-on critical "$H" >"$T/out" 2>&1
check_eq "--fail-on with --rules: 1 + 10 rules" 11 "$(count '^  \(PASS\|FAIL\)  ' "$T/out")"
"$DNSVET" check --fail-on critical "$R" >"$T/out" 2>&1
check_eq "--fail-on critical: a critical finding fails" 1 $?

# ---- exit status 2 ----------------------------------------------------------
"$DNSVET" check >/dev/null 2>&1
check_eq "no file: exit 2" 2 $?
"$DNSVET" check --bogus "$H" >/dev/null 2>&1
check_eq "unknown option: exit 2" 2 $?
"$DNSVET" check --fail-on severe "$H" >/dev/null 2>"$T/err"
check_eq "bad --fail-on: exit 2" 2 $?
check "bad --fail-on: says why" grep -q "'severe' is not a severity" "$T/err"
"$DNSVET" check --rules "$T/none.rules" "$H" >/dev/null 2>"$T/err"
check_eq "missing rules file: exit 2" 2 $?
printf '# only a comment\n\n' >"$T/empty.rules"
"$DNSVET" check --rules "$T/empty.rules" "$H" >/dev/null 2>"$T/err"
check_eq "rules file without rules: exit 2" 2 $?
echo "hello, I am not a pcap" >"$T/text.pcap"
"$DNSVET" check "$T/text.pcap" >"$T/out" 2>"$T/err"
check_eq "not a capture: exit 2" 2 $?
check "not a capture: names the file" grep -q "text.pcap' is not a capture file" "$T/err"
check_eq "not a capture: no verdict printed" "" "$(cat "$T/out")"
"$DNSVET" check "$T/missing.pcap" >/dev/null 2>&1
check_eq "missing capture: exit 2" 2 $?
"$DNSVET" check --junit "$T/no/such/dir/j.xml" "$H" >/dev/null 2>"$T/err"
check_eq "unwritable JUnit file: exit 2" 2 $?
printf 'ptr-flood off\n' >"$T/p.rules"
"$DNSVET" check --detectors unanswered --rules "$T/p.rules" "$H" >/dev/null 2>"$T/err"
check_eq "rule on a detector --detectors leaves out: exit 2" 2 $?
"$DNSVET" check --answer-window 601s "$H" >/dev/null 2>"$T/err"
check_eq "--answer-window over 600s: exit 2" 2 $?
check "--answer-window over 600s: says why" grep -q "'601s' is too long (at most 600s)" "$T/err"
check "--help fits one screen (<= 24 lines)" test "$("$DNSVET" check --help | wc -l)" -le 24
check "dnsvet help check" sh -c "'$DNSVET' help check | grep -q 'usage: dnsvet check'"

# ---- rule errors: file:line:column and a caret ------------------------------
printf 'queries > 0\nlatency.p99 <= 200\n\t unanswerd == 0  # typo\nptr-flood severity < bad\nqueries = 0\n' >"$T/bad.rules"
"$DNSVET" check --rules "$T/bad.rules" "$H" >"$T/out" 2>"$T/err"
check_eq "bad rules: exit 2" 2 $?
check_eq "bad rules: no capture read, nothing on stdout" "" "$(cat "$T/out")"
check_eq "bad rules: one error per bad line" 4 "$(count '^dnsvet: error: ' "$T/err")"
check "bad rules: time without unit at 2:19" grep -q \
	"bad.rules:2:19: 'latency.p99' is a time: give the unit (us, ms or s)$" "$T/err"
check "bad rules: caret under column 19" sh -c \
	"grep -A2 'bad.rules:2:19' '$T/err' | sed -n 3p | grep -qx '                      ^'"
check "bad rules: typo at 3:3 with a suggestion" grep -q \
	"bad.rules:3:3: unknown metric or detector 'unanswerd'; did you mean 'unanswered'?" "$T/err"
check "bad rules: caret after a tab" sh -c \
	"grep -A2 'bad.rules:3:3' '$T/err' | sed -n 3p | grep -qx '      ^'"
check "bad rules: unknown severity at 4:22" grep -q "bad.rules:4:22: unknown severity 'bad'" "$T/err"
check "bad rules: = at 5:9" grep -q "bad.rules:5:9: '=' is not a comparison; write '==' for equality" "$T/err"

# ---- truncated captures -----------------------------------------------------
size=$(stat -c %s "$H")
head -c $((size - 50)) "$H" >"$T/cut.pcap"
"$DNSVET" check "$T/cut.pcap" >"$T/out" 2>"$T/err"
check_eq "truncated: exit 0 without --fail-on-truncated" 0 $?
check "truncated: warning in the summary" grep -q '^warning: 1 file ended early' "$T/out"
check "truncated: warning on stderr says where" grep -q 'truncated or damaged after frame 173' "$T/err"
"$DNSVET" check --fail-on-truncated --junit "$T/trunc.xml" "$T/cut.pcap" >"$T/out" 2>/dev/null
check_eq "truncated, --fail-on-truncated: exit 1" 1 $?
check "truncated, --fail-on-truncated: the rule that failed" grep -q '^  FAIL  truncated == 0 ' "$T/out"
check "truncated: JUnit valid" xmllint --noout --schema "$XSD" "$T/trunc.xml"
check "truncated: JUnit test case fails" grep -q '<testcase name="truncated == 0" classname="dnsvet.check" time="0">' "$T/trunc.xml"
"$DNSVET" check --fail-on-truncated "$H" >/dev/null 2>&1
check_eq "complete capture, --fail-on-truncated: exit 0" 0 $?

# ---- JUnit ------------------------------------------------------------------
"$DNSVET" check --rules "$RULES" --junit "$T/fail.xml" "$R" >/dev/null 2>&1
"$DNSVET" check --junit "$T/pass.xml" "$H" >/dev/null 2>&1
check "JUnit of a failing check validates against tests/junit.xsd" xmllint --noout --schema "$XSD" "$T/fail.xml"
check "JUnit of a passing check validates" xmllint --noout --schema "$XSD" "$T/pass.xml"
check_eq "JUnit: one test case per rule" 6 "$(count '<testcase ' "$T/fail.xml")"
check_eq "JUnit: one failure per failed rule" 5 "$(count '<failure ' "$T/fail.xml")"
check "JUnit: suite counts" grep -q '<testsuite name="dnsvet check" package="dnsvet" id="0" tests="6" failures="5" errors="0" skipped="0"' "$T/fail.xml"
check "JUnit: failure message says why" grep -q \
	'<failure type="rule" message="unanswered is '"$UN"' (queries with no answer within the answer window), expected == 0">' "$T/fail.xml"
check "JUnit: evidence in the failure body" grep -q '^  pcaps/retry-timeout.pcap #9 ' "$T/fail.xml"
check "JUnit: the timestamp is the capture's start" grep -q \
	"timestamp=\"$(json_get "$T/r.json" "__import__('time').strftime('%Y-%m-%dT%H:%M:%S', __import__('time').gmtime(int(d['summary']['first'])))")\"" "$T/fail.xml"
check_eq "JUnit: a passing check has no failure" 0 "$(count '<failure' "$T/pass.xml")"
# the schema is strict enough to reject a broken report
sed 's/ name="unanswered == 0"//' "$T/fail.xml" >"$T/broken.xml"
if xmllint --noout --schema "$XSD" "$T/broken.xml" >/dev/null 2>&1; then
	notok "the schema rejects a test case without a name"
else
	ok "the schema rejects a test case without a name"
fi
sed 's/tests="6"/tests="six"/' "$T/fail.xml" >"$T/broken.xml"
if xmllint --noout --schema "$XSD" "$T/broken.xml" >/dev/null 2>&1; then
	notok "the schema rejects a count that is not a number"
else
	ok "the schema rejects a count that is not a number"
fi
# hostile file names (markup, control bytes) still make well-formed XML
evil=$(printf '%s/a<&"\001b.pcap' "$T")
cp "$R" "$evil"
"$DNSVET" check --rules "$RULES" --junit "$T/evil.xml" --markdown "$T/evil.md" "$evil" >/dev/null 2>&1
check_eq "hostile file name: still exit 1" 1 $?
check "hostile file name: JUnit still valid" xmllint --noout --schema "$XSD" "$T/evil.xml"
check "hostile file name: escaped in JUnit" grep -q 'a&lt;&amp;&quot;\\x01b.pcap' "$T/evil.xml"

# ---- markdown ---------------------------------------------------------------
"$DNSVET" check --rules "$RULES" --markdown "$T/fail.md" "$R" >/dev/null 2>&1
check "markdown: heading" grep -qx '### dnsvet check: FAILED (5 of 6 rules)' "$T/fail.md"
check_eq "markdown: a table row per rule" 6 "$(count '^| \(pass\|\*\*FAIL\*\*\) | `' "$T/fail.md")"
check "markdown: a failed row" grep -qF '| **FAIL** | `unanswered == 0` | '"$UN"' | `tests/ci-rules.txt:12` |' "$T/fail.md"
check_eq "markdown: a section per failure" 5 "$(count '^#### FAIL `' "$T/fail.md")"
check "markdown: why, with markup escaped" grep -qx \
	"unanswered is $UN (queries with no answer within the answer window), expected == 0" "$T/fail.md"
check "markdown: evidence in a code block" sh -c \
	"grep -A8 '^#### FAIL .unanswered == 0.' '$T/fail.md' | grep -q '^      pcaps/retry-timeout.pcap #9 '"
check_eq "markdown: code fences balanced" 0 $(( $(count '^```$' "$T/fail.md") % 2 ))
"$DNSVET" check --markdown "$T/pass.md" "$H" >/dev/null 2>&1
check "markdown: passing heading" grep -qx '### dnsvet check: passed (10 rules)' "$T/pass.md"
check "markdown: hostile file name in code" grep -qF 'a<&"\x01b.pcap`' "$T/evil.md"

# ---- JSON -------------------------------------------------------------------
"$DNSVET" check --json --rules "$RULES" "$R" >"$T/c.json" 2>/dev/null
check_eq "JSON: exit 1" 1 $?
check_eq "JSON: verdict" "False 6 5" "$(json_get "$T/c.json" "d['passed'], d['rules_total'], d['rules_failed']")"
check_eq "JSON: a rule" "unanswered == 0|tests/ci-rules.txt:12|False|count|$UN|==|0|== 0" \
	"$(json_get "$T/c.json" "'|'.join(str(d['rules'][1][k]) for k in ('name','where','passed','unit','actual','op','limit','expected'))")"
check_eq "JSON: evidence" "$UN 9 None" \
	"$(json_get "$T/c.json" "d['rules'][1]['evidence_total'], d['rules'][1]['evidence'][0]['query']['frame'], d['rules'][1]['evidence'][0]['response']")"
check_eq "JSON: latency in ms" "ms $(json_get "$T/r.json" "'%.3f' % d['summary']['latency_ms']['p99']") 200.000" \
	"$(json_get "$T/c.json" "d['rules'][4]['unit'], '%.3f' % d['rules'][4]['actual'], '%.3f' % d['rules'][4]['limit']")"
check_eq "JSON: severity rule points at its findings (the report's of warning or worse)" \
	"critical warning $(json_get "$T/r.json" "[i for i, f in enumerate(d['findings']) if f['severity'] in ('warning', 'critical')]")" \
	"$(json_get "$T/c.json" "d['rules'][5]['actual'], d['rules'][5]['limit'], d['rules'][5]['findings']")"
check_eq "JSON: the report's summary" "$(json_get "$T/r.json" "d['summary']")" "$(json_get "$T/c.json" "d['summary']")"
check_eq "JSON: the report's findings" "$(json_get "$T/r.json" "d['findings']")" "$(json_get "$T/c.json" "d['findings']")"
"$DNSVET" check --json "$H" >"$T/p.json" 2>/dev/null
check_eq "JSON: passing, and no finding at all" "True 0 []" "$(json_get "$T/p.json" "d['passed'], d['rules_failed'], d['findings']")"

# ---- the README's example ---------------------------------------------------
# its rules block is tests/ci-rules.txt, and the command it shows fails
# with the lines it quotes
strip_rules() { sed 's/#.*//; s/[[:space:]]*$//; /^$/d' "$@"; }
awk '/^## dnsvet check in CI/ { s = 1 } s && /^```/ { if (b) exit; b = 1; next } b' README.md >"$T/readme.rules"
check_eq "README: the rules shown are tests/ci-rules.txt" "$(strip_rules "$RULES")" "$(strip_rules "$T/readme.rules")"
cmd=$(sed -n 's/^src\/dnsvet check \(--rules tests\/ci-rules.txt .*\)$/\1/p' README.md)
check_eq "README: the example command" "--rules tests/ci-rules.txt --junit dns-junit.xml pcaps/retry-timeout.pcap" "$cmd"
# shellcheck disable=SC2086
(cd "$T" && cp -r "$TOP/tests" "$TOP/pcaps" . && "$DNSVET" check $cmd >out 2>&1; echo $? >rc)
check_eq "README: the example fails" 1 "$(cat "$T/rc")"
awk '/^## dnsvet check in CI/ { s = 1 } s && /^```/ { n++; next } s && n == 7' README.md |
	grep -v '^ *\.\.\.$' >"$T/readme.out"
check_eq "README: it quotes 13 output lines" 13 "$(wc -l <"$T/readme.out")"
missing=$(grep -vxFf "$T/out" "$T/readme.out")
check_eq "README: every output line it quotes is in the output" "" "$missing"
