#!/bin/sh
# tests/monitor.sh: dnsvet monitor, driven in tmux like a user would.
#
# Each scenario starts the monitor in a detached tmux session of its own
# (80x24, on a private tmux server socket), replaying a trace with --fast,
# sends keys, and compares the screen (tmux capture-pane) with a stored
# one under tests/screens/. Replays show the capture's own clock, so the
# screens do not depend on the machine's speed or the time of day.
#
# The screens pin --detectors unanswered, so detectors landing later do
# not change them; when a trace, a detector's text or the layout changes,
# tests/update-screens.sh rewrites them (review the diff). The serial-stall
# scenario runs every detector and checks the path from the Findings view
# to a finding's explanation and evidence against what `dnsvet report`
# finds, whatever that is.
. "$(dirname "$0")/lib.sh"

SCREENS=$TOP/tests/screens
UPDATE=${UPDATE_SCREENS:-0}
SOCK=dnsvet-monitor-test-$$
tmp=$(mktemp -d)
sessions=""
fail=0

tm() { tmux -L "$SOCK" -f /dev/null "$@"; }

cleanup() {
	for s in $sessions; do
		tm kill-session -t "$s" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

if ! command -v tmux >/dev/null 2>&1; then
	notok "monitor: tmux is not installed (sh autogen.sh --deps)"
	exit 1
fi

# start NAME [color] -- ARGS...: run the monitor in a new 80x24 session, with
# NO_COLOR=1 unless "color"; its exit status lands in $tmp/NAME.rc
start() {
	_s=$1
	_env="LC_ALL=C TERM=screen NO_COLOR=1"
	[ "$2" = color ] && _env="-u NO_COLOR LC_ALL=C TERM=screen"
	while [ "$1" != "--" ]; do shift; done
	shift
	sessions="$sessions $_s"
	tm new-session -d -s "$_s" -x 80 -y 24 \
		"cd '${START_DIR:-$TOP}' && env $_env '$DNSVET' monitor $*; echo \$? >'$tmp/$_s.rc'"
}

# wait_for NAME TEXT: until the screen shows TEXT (5 s at most)
wait_for() {
	_i=0
	while [ $_i -lt 50 ]; do
		tm capture-pane -p -t "$1" 2>/dev/null | grep -qF -- "$2" && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	notok "monitor $1: the screen never showed '$2'"
	tm capture-pane -p -t "$1" 2>/dev/null | sed 's/^/#   /'
	fail=1
	return 1
}

keys() {
	_s=$1
	shift
	tm send-keys -t "$_s" "$@"
}

# screen NAME TEST [-e]: compare the screen with tests/screens/TEST.txt,
# waiting up to 5 s for it to settle on it
screen() {
	_s=$1 _t=$2 _e=${3:-}
	_want=$SCREENS/$_t.txt
	_got=$tmp/$_t.txt
	if [ "$UPDATE" = 1 ]; then
		# wait until the screen stops changing
		_prev=""
		_i=0
		while [ $_i -lt 30 ]; do
			sleep 0.2
			tm capture-pane -p $_e -t "$_s" >"$_got"
			_cur=$(cksum <"$_got")
			[ "$_cur" = "$_prev" ] && break
			_prev=$_cur
			_i=$((_i + 1))
		done
		mkdir -p "$SCREENS"
		cp "$_got" "$_want"
		ok "monitor screen $_t (updated)"
		return 0
	fi
	_i=0
	while [ $_i -lt 50 ]; do
		tm capture-pane -p $_e -t "$_s" >"$_got"
		cmp -s "$_got" "$_want" && break
		sleep 0.1
		_i=$((_i + 1))
	done
	if cmp -s "$_got" "$_want"; then
		ok "monitor screen $_t"
	else
		notok "monitor screen $_t: differs from tests/screens/$_t.txt (tests/update-screens.sh)"
		diff "$_want" "$_got" | head -30 | sed 's/^/#   /'
		fail=1
	fi
}

# has NAME TEST TEXT: the screen shows TEXT (within 5 s)
has() {
	_i=0
	while [ $_i -lt 50 ]; do
		if tm capture-pane -p -t "$1" | grep -qF -- "$3"; then
			ok "monitor $2"
			return 0
		fi
		sleep 0.1
		_i=$((_i + 1))
	done
	notok "monitor $2: the screen does not show '$3'"
	tm capture-pane -p -t "$1" | sed 's/^/#   /'
	fail=1
}

# quit NAME TEST: q ends the monitor with status 0
quit() {
	keys "$1" q
	_i=0
	while [ $_i -lt 50 ] && [ ! -s "$tmp/$1.rc" ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	check_eq "monitor $2: q quits with status 0" 0 "$(cat "$tmp/$1.rc" 2>/dev/null)"
}

DET="--detectors unanswered"

# A session that outlives the scenarios: without it the tmux server exits
# with the last monitor, and the next new-session can race its exit.
sessions="anchor"
tm new-session -d -s anchor -x 80 -y 24 "sleep 300"

# ---- every view, a finding's page, help: retry-timeout.pcap -------------------
S=views
start $S -- --fast $DET -r pcaps/retry-timeout.pcap
if wait_for $S "end of capture"; then
	screen $S findings
	keys $S Enter
	screen $S finding-detail
	keys $S End
	screen $S finding-evidence
	keys $S t
	screen $S finding-transactions
	keys $S x Escape 2
	screen $S servers
	keys $S 3
	screen $S clients
	keys $S 4
	screen $S names
	keys $S s
	screen $S names-by-unanswered
	keys $S 5
	screen $S transactions
	keys $S 6
	screen $S timeline
	keys $S '?'
	screen $S help
	keys $S Escape Tab
	has $S "Tab wraps around to Findings" "SEV  DETECTOR"
	quit $S views
fi

# ---- a burst in the timeline; a transaction's page: unanswered.pcap -----------
S=burst
start $S -- --fast $DET --answer-window 2s -r pcaps/unanswered.pcap
if wait_for $S "end of capture"; then
	keys $S 6
	screen $S timeline-burst
	keys $S Left Left Left Left Left Left Left Left
	screen $S timeline-cursor
	keys $S 5 Up Enter
	screen $S transaction-page
	quit $S burst
fi

# ---- filters: Enter on a server, "/" name: healthy.pcap (two servers) ------------
S=filter
start $S -- --fast $DET -r pcaps/healthy.pcap
if wait_for $S "end of capture"; then
	keys $S 2
	screen $S filter-servers
	keys $S Down Enter
	screen $S filter-server-set
	keys $S 4
	screen $S filter-server-names
	keys $S 5
	screen $S filter-server-tx
	keys $S x 4 /
	keys $S -l mail
	screen $S filter-name-prompt
	keys $S Enter
	screen $S filter-name-names
	keys $S 5
	screen $S filter-name-tx
	keys $S x
	has $S "x clears every filter" "filters cleared"
	quit $S filter
fi

# ---- resize ----------------------------------------------------------------------------
S=resize
start $S -- --fast $DET -r pcaps/retry-timeout.pcap
if wait_for $S "end of capture"; then
	keys $S 5
	tm resize-window -t $S -x 120 -y 30
	screen $S resize-120x30-tx
	keys $S 1 Enter
	screen $S resize-120x30-finding
	tm resize-window -t $S -x 60 -y 16
	screen $S resize-60x16-finding
	keys $S Escape 2
	screen $S resize-60x16-servers
	quit $S resize
fi

# ---- colour, and NO_COLOR --------------------------------------------------------------
esc=$(printf '\033')
S=color
start $S color -- --fast $DET -r pcaps/retry-timeout.pcap
if wait_for $S "end of capture"; then
	keys $S 5
	screen $S color-tx -e
	tm capture-pane -p -e -t $S >"$tmp/color.ansi"
	check "monitor colour: unanswered rows in red (SGR 31)" grep -q "${esc}\[31m" "$tmp/color.ansi"
	quit $S color
fi
S=nocolor
start $S -- --fast $DET -r pcaps/retry-timeout.pcap
if wait_for $S "end of capture"; then
	keys $S 5
	screen $S nocolor-tx -e
	tm capture-pane -p -e -t $S >"$tmp/nocolor.ansi"
	if grep -q "${esc}\[[0-9;]*[34][0-7]m\|${esc}\[[0-9;]*[34]8;" "$tmp/nocolor.ansi"; then
		notok "monitor NO_COLOR: a colour escape reached the terminal"
		fail=1
	else
		ok "monitor NO_COLOR: no colour escapes (bold/reverse only)"
	fi
	check "monitor NO_COLOR: the selected row is still shown (reverse)" \
		grep -q "${esc}\[7m" "$tmp/nocolor.ansi"
	quit $S nocolor
fi
S=nocolor-opt
start $S color -- --no-color --fast $DET -r pcaps/retry-timeout.pcap
if wait_for $S "end of capture"; then
	keys $S 5
	screen $S nocolor-tx -e
	quit $S nocolor-opt
fi

# ---- hostile names from the wire --------------------------------------------------------
python3 "$TOP/tests/mkhostile.py" "$tmp/hostile.pcap"
S=hostile
START_DIR=$tmp
start $S -- --fast $DET -r hostile.pcap
START_DIR=
if wait_for $S "end of capture"; then
	keys $S 4
	screen $S hostile-names
	keys $S 5
	screen $S hostile-tx
	keys $S 1 Enter End
	screen $S hostile-evidence
	# with NO_COLOR the monitor itself sends no colour: a colour in the
	# pane can only come from the wire (ESC [ 31 m in a name)
	tm capture-pane -p -e -t $S >"$tmp/hostile.ansi"
	if grep -q "${esc}\[[0-9;]*[34][0-7]m" "$tmp/hostile.ansi"; then
		notok "monitor hostile: a control sequence from the wire reached the terminal"
		fail=1
	else
		ok "monitor hostile: no control sequence from the wire reached the terminal"
	fi
	title=$(tm display-message -p -t $S '#{pane_title}')
	case "$title" in
	*pwned*) notok "monitor hostile: the OSC title sequence went through ('$title')"; fail=1 ;;
	*) ok "monitor hostile: the pane title is untouched" ;;
	esac
	quit $S hostile
fi

# ---- pause, during a paced replay -----------------------------------------------------------
S=pause
start $S -- --speed 1 $DET -r pcaps/retry-timeout.pcap
if wait_for $S "replaying x1"; then
	keys $S p
	if wait_for $S "PAUSED"; then
		sleep 0.3
		a=$(tm capture-pane -p -t $S | head -2)
		sleep 1.2
		b=$(tm capture-pane -p -t $S | head -2)
		check_eq "monitor pause: the replay clock stands still" "$a" "$b"
		keys $S p
		has $S "p again resumes" "replaying x1"
	fi
	quit $S pause
fi

# ---- closing the terminal ends the monitor (it must not spin on a dead tty) ---
S=hangup
start $S -- --speed 1 $DET -r pcaps/retry-timeout.pcap
if wait_for $S "replaying x1"; then
	shell=$(tm display-message -p -t $S '#{pane_pid}')
	mon=$(pgrep -P "$shell" | head -1)
	tm kill-session -t $S
	_i=0
	while [ $_i -lt 30 ] && [ -n "$mon" ] && kill -0 "$mon" 2>/dev/null; do
		sleep 0.1
		_i=$((_i + 1))
	done
	if [ -n "$mon" ] && ! kill -0 "$mon" 2>/dev/null; then
		ok "monitor hangup: closing the terminal ends it"
	else
		notok "monitor hangup: pid '$mon' still running after its terminal closed"
		[ -n "$mon" ] && kill "$mon"
		fail=1
	fi
fi

# ---- the path from a finding to its evidence, with every detector: serial-stall --------------
# The monitor must list what `dnsvet report` finds; for the first finding,
# Enter shows its explanation and the frames of its evidence.
if [ -f "$TOP/pcaps/serial-stall.pcap" ]; then
	"$DNSVET" report --json "$TOP/pcaps/serial-stall.pcap" >"$tmp/stall.json" 2>/dev/null
	n=$(json_get "$tmp/stall.json" 'len(d["findings"])')
	det=$(json_get "$tmp/stall.json" 'd["findings"][0]["detector"] if d["findings"] else ""')
	S=stall
	start $S -- --fast -r pcaps/serial-stall.pcap
	if wait_for $S "end of capture"; then
		has $S "serial-stall: Findings($n) as in dnsvet report" "Findings($n)"
		if [ "$n" -gt 0 ]; then
			keys $S Home Enter
			has $S "serial-stall: Enter opens the $det finding" "] $det "
			has $S "serial-stall: the finding explains why" "Why:"
			keys $S End
			has $S "serial-stall: the evidence names frames" "Evidence"
			if tm capture-pane -p -t $S | grep -q "#[0-9]"; then
				ok "monitor serial-stall: evidence frame numbers shown"
			else
				notok "monitor serial-stall: no '#FRAME' in the evidence"
				fail=1
			fi
		else
			has $S "serial-stall: no findings, said so" "No findings: nothing above"
		fi
		quit $S stall
	fi
else
	notok "monitor serial-stall: pcaps/serial-stall.pcap is missing"
	fail=1
fi

# ---- batch mode (standard output not a terminal) ----------------------------------------------
out=$tmp/batch.out
"$DNSVET" monitor --fast $DET -r "$TOP/pcaps/unanswered.pcap" --answer-window 2s >"$out" 2>"$tmp/batch.err"
check_eq "monitor batch: exit status" 0 $?
check_eq "monitor batch: nothing on stderr" "" "$(cat "$tmp/batch.err")"
# one line per second of capture time: q/s and a/s of the second before,
# the same counts tshark gives per calendar second
if command -v tshark >/dev/null 2>&1; then
	got=$(grep -v '^ ' "$out" | grep -v '(end)' | awk '{print $4 "/" $6}' | tr '\n' ' ')
	want=$(tshark -n -r "$TOP/pcaps/unanswered.pcap" -Y dns -T fields -e frame.time_epoch \
		-e dns.flags.response 2>/dev/null | python3 -c '
import sys
q, a = {}, {}
secs = []
for line in sys.stdin:
    t, r = line.split()
    s = int(float(t))
    secs.append(s)
    d = a if r in ("1", "True") else q
    d[s] = d.get(s, 0) + 1
print(" ".join("%d/%d" % (q.get(s, 0), a.get(s, 0)) for s in range(min(secs), max(secs))) + " ")')
	check_eq "monitor batch: queries/answers per second agree with tshark" "$want" "$got"
else
	notok "monitor batch: tshark is not installed"
	fail=1
fi
# the batch summary agrees with `dnsvet report` on the same trace and options
"$DNSVET" report --json $DET --answer-window 2s "$TOP/pcaps/unanswered.pcap" >"$tmp/rep.json"
pct=$(json_get "$tmp/rep.json" "'%.1f' % (100 * d['summary']['answered_ratio'])")
nf=$(json_get "$tmp/rep.json" "len(d['findings'])")
last=$(grep '(end)' "$out")
case "$last" in
*"answered $pct%"*"findings $nf  (end)") ok "monitor batch: the last line sums up ($pct% answered, $nf finding)" ;;
*) notok "monitor batch: last line '$last' (report: $pct% answered, $nf findings)"; fail=1 ;;
esac
check_eq "monitor batch: the finding is printed as report has it" \
	"$(json_get "$tmp/rep.json" "'  %s %s count %d: %s' % (d['findings'][0]['severity'], d['findings'][0]['detector'], d['findings'][0]['count'], d['findings'][0]['summary'])")" \
	"$(grep '^  ' "$out" | tail -1)"
# one line per started 5 s of capture time, plus the end line
secs=$(json_get "$tmp/rep.json" "int(d['summary']['last'] - d['summary']['first'])")
n=$("$DNSVET" monitor --fast --interval 5s $DET -r "$TOP/pcaps/unanswered.pcap" | grep -vc '^ ')
check_eq "monitor batch: --interval 5s gives a line per 5 s over ${secs} s" $((secs / 5 + 1)) "$n"

# ---- usage --------------------------------------------------------------------------------------
"$DNSVET" monitor --fast --speed 2 -r "$TOP/pcaps/healthy.pcap" >/dev/null 2>&1
check_eq "monitor: --fast with --speed is a usage error" 2 $?
"$DNSVET" monitor -b >/dev/null 2>&1
check_eq "monitor: no -r or -i is a usage error" 2 $?
"$DNSVET" monitor -r "$TOP/pcaps/healthy.pcap" port 53 >/dev/null 2>&1
check_eq "monitor: a filter expression with -r is a usage error" 2 $?
"$DNSVET" monitor -b -r "$TOP/README.md" >/dev/null 2>&1
check_eq "monitor: a file that is not a capture: status 2" 2 $?
"$DNSVET" monitor -b -i dnsvet-no-such-if0 >/dev/null 2>"$tmp/live.err"
rc=$?
if [ $rc -eq 2 ] && grep -q "not available in this build\|dnsvet-no-such-if0" "$tmp/live.err"; then
	ok "monitor -i: a clear error (no live capture here, or no such interface)"
else
	notok "monitor -i: status $rc, '$(cat "$tmp/live.err")'"
	fail=1
fi
check "monitor --help fits one screen (<= 24 lines)" test "$("$DNSVET" monitor --help | wc -l)" -le 24
MANWIDTH=80 man -l "$TOP/man/dnsvet-monitor.1" >"$tmp/man.txt" 2>/dev/null
missing=""
for w in VIEWS KEYS OPTIONS "BATCH OUTPUT" ENVIRONMENT Findings Servers Clients Names \
	Transactions Timeline NO_COLOR --speed --fast --interval; do
	grep -q -- "$w" "$tmp/man.txt" || missing="$missing $w"
done
check_eq "man page dnsvet-monitor(1) covers views, keys, options" "" "$missing"

exit $fail
