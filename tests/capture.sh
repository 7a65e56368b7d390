#!/bin/sh
# tests/capture.sh: dnsvet capture, live, against a reference tcpdump.
#
# Two network namespaces made here (a client and a server, joined by two
# veth pairs: 10.77.0.0/24 and 10.77.1.0/24), dnsmasq serving example.test
# in the server namespace (and a 2 KB TXT record whose answer is sent as
# IP fragments), dig clients in the client namespace with bounded query
# lists. dnsvet capture and a reference tcpdump (no filter) capture the
# client's interfaces side by side; every DNS packet tcpdump saw must be in
# dnsvet's files, compared by a hash of the bytes from the IP header on
# (tests/capture-check.py, which also reads every file strictly).
#
# Covers: rotation by time, size and count and their combination; SIGHUP,
# SIGUSR1 and SIGTERM during busy traffic; pcapng with two interfaces (names
# read back by tshark), SLL2 with -i any; -Z; file modes; no permission;
# a full disk (1 MB tmpfs) with and without a ring; --summary-every.
# Everything started is killed by PID and the namespaces removed on exit.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
	notok "capture: needs root for network namespaces"
	exit 1
fi
for tool in ip dnsmasq dig tcpdump tshark capinfos setpriv; do
	command -v $tool >/dev/null 2>&1 || { notok "capture: '$tool' is missing (sh autogen.sh --deps)"; exit 1; }
done

TAG=$(($$ % 100000))
NS_S=dvcap-s-$TAG
NS_C=dvcap-c-$TAG
IFA=dvk${TAG}a		# client side, 10.77.0.2 <-> server 10.77.0.1
IFB=dvk${TAG}b		# client side, 10.77.1.2 <-> server 10.77.1.1
T=$(mktemp -d /tmp/dvcap.XXXXXX)
CHECK="python3 $TOP/tests/capture-check.py"
PIDS=""
MOUNTS=""

alive() {
	[ -d "/proc/$1" ] && ! grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null
}

# stop PID [SIG]: signal, wait up to 5 s, then SIGKILL that PID; sets RC
stop() {
	kill "-${2:-TERM}" "$1" 2>/dev/null
	_i=0
	while alive "$1" && [ $_i -lt 50 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	alive "$1" && kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	RC=$?
}

cleanup() {
	for p in $PIDS; do
		alive "$p" && stop "$p"
	done
	for m in $MOUNTS; do
		umount "$m" 2>/dev/null
	done
	ip netns del "$NS_C" 2>/dev/null
	ip netns del "$NS_S" 2>/dev/null
	[ -n "${DV_KEEP:-}" ] && echo "# kept $T" || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

# wait_for FILE TEXT: until FILE contains TEXT (at most 5 s)
wait_for() {
	_i=0
	until grep -q "$2" "$1" 2>/dev/null; do
		_i=$((_i + 1))
		[ $_i -gt 50 ] && return 1
		sleep 0.1
	done
}

ip netns add "$NS_S" && ip netns add "$NS_C" || { notok "capture: cannot create namespaces"; exit 1; }
ip link add "$IFA" netns "$NS_C" type veth peer name "${IFA}s" netns "$NS_S"
ip link add "$IFB" netns "$NS_C" type veth peer name "${IFB}s" netns "$NS_S"
for ns in "$NS_S" "$NS_C"; do ip -n "$ns" link set lo up; done
ip -n "$NS_C" addr add 10.77.0.2/24 dev "$IFA"
ip -n "$NS_S" addr add 10.77.0.1/24 dev "${IFA}s"
ip -n "$NS_C" addr add 10.77.1.2/24 dev "$IFB"
ip -n "$NS_S" addr add 10.77.1.1/24 dev "${IFB}s"
for i in "$IFA" "$IFB"; do ip -n "$NS_C" link set "$i" up; done
for i in "${IFA}s" "${IFB}s"; do ip -n "$NS_S" link set "$i" up; done

# a TXT answer of about 2 KB: over UDP it leaves as two IP fragments
BIG=$(python3 -c "print(','.join('\"' + c * 250 + '\"' for c in 'abcdefgh'))")
ip netns exec "$NS_S" dnsmasq --no-resolv --no-hosts --conf-file=/dev/null -k \
	--address=/example.test/10.9.9.9 --txt-record=big.example.test,"$BIG" \
	--edns-packet-max=4096 --listen-address=10.77.0.1,10.77.1.1 --bind-interfaces \
	--pid-file= --log-facility=/dev/null 2>"$T/dnsmasq.err" &
PIDS="$PIDS $!"
_i=0
until ip netns exec "$NS_C" dig @10.77.0.1 +tries=1 +time=1 +short ready.example.test 2>/dev/null | grep -q 10.9.9.9; do
	_i=$((_i + 1))
	[ $_i -gt 20 ] && { notok "capture: dnsmasq did not start: $(cat "$T/dnsmasq.err")"; exit 1; }
	sleep 0.2
done

# queries FILE N [BIG]: N A queries for distinct names (+ BIG TXT queries)
queries() {
	awk -v n="$2" -v b="${3:-0}" -v s="$TAG-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')" 'BEGIN {
		for (i = 1; i <= n; i++) printf "q%s-%d.example.test A\n", s, i
		for (i = 1; i <= b; i++) print "big.example.test TXT +bufsize=4096 +ignore"
	}' > "$1"
}
# dig_batch FILE [SERVER]: run the queries (one try each, sequentially)
dig_batch() {
	ip netns exec "$NS_C" dig @"${2:-10.77.0.1}" +tries=1 +time=1 -f "$1" >/dev/null 2>&1
}

# dv NAME ARGS...: start dnsvet capture in the client namespace
dv() {
	_n=$1
	shift
	ip netns exec "$NS_C" "$DNSVET" capture "$@" >"$T/$_n.out" 2>"$T/$_n.err" &
	DV=$!
	PIDS="$PIDS $DV"
	wait_for "$T/$_n.err" "listening on" || { cat "$T/$_n.err"; return 1; }
}
# ref NAME IFACE: start the reference tcpdump (everything on the interface).
# --immediate-mode: without it tcpdump loses, at SIGTERM, what the kernel
# holds in the block it has not handed over yet (up to 1 s of packets).
ref() {
	ip netns exec "$NS_C" tcpdump -i "$2" -n -s 0 -B 32768 --immediate-mode -w "$T/$1.ref.pcap" 2>"$T/$1.ref.err" &
	REF=$!
	PIDS="$PIDS $REF"
	wait_for "$T/$1.ref.err" "listening on"
}
now() { date +%s.%N; }
# rnd_sleep MIN SPAN: sleep a random time from MIN to MIN+SPAN seconds
rnd_sleep() {
	sleep "$(od -An -N2 -tu2 /dev/urandom | awk -v lo="$1" -v span="$2" '{ printf "%.3f", lo + span * $1 / 65535 }')"
}
# total NAME FIELD: a number from dnsvet's final totals line
total() {
	grep "^dnsvet capture: [0-9]" "$T/$1.err" | tail -1 |
		sed -e "s/.* \([0-9][0-9]*\) $2.*/\1/" -e 's/^dnsvet capture: \([0-9]*\) captured.*/\1/'
}
modes() { for f in "$@"; do stat -c %a "$f"; done | sort -u | tr '\n' ' '; }
# in_order FILE...: "ok" if the files, in this order, are in time order
in_order() {
	$CHECK spans "$@" | awk '$2 > 0 { if ($3 < last) bad = 1; last = $4 }
		END { print bad ? "out of order" : "ok" }'
}

# ---- 1. time rotation with a ring: -G 1 -W 3 ---------------------------------
mkdir "$T/s1"
ref s1 "$IFA"
dv s1 -i "$IFA" -G 1 -W 3 -w "$T/s1/dns-%H%M%S.pcap"
queries "$T/q1" 60
for r in 1 2 3 4 5; do dig_batch "$T/q1"; sleep 0.8; done
t1=$(now)
stop "$DV"
check_eq "time ring: exit 0 on SIGTERM" 0 "$RC"
stop "$REF"
set -- "$T"/s1/*.pcap
check_eq "time ring: -W 3 keeps 3 files" 3 $#
check_eq "time ring: no partial file left" 0 "$(ls -A "$T/s1" | grep -c partial)"
check_eq "time ring: files are 0600" "600 " "$(modes "$@")"
check_eq "time ring: packets lie in their file's second" ok "$($CHECK within 1 "$@")"
secs=$(for f in "$@"; do basename "$f" .pcap | sed 's/dns-//'; done | python3 -c "
import sys; s=[int(l[:2])*3600+int(l[2:4])*60+int(l[4:6]) for l in sys.stdin]
print(' '.join(str(b-a) for a,b in zip(s,s[1:])))")
check_eq "time ring: the 3 files are consecutive seconds" "1 1" "$secs"
first=$(python3 -c "import sys,time,calendar; n=sys.argv[1].rsplit('dns-',1)[1][:6]
t=time.gmtime(float(sys.argv[2])); print(calendar.timegm(t[:3]+(int(n[:2]),int(n[2:4]),int(n[4:6]),0,0,0)))" "$1" "$t1")
check_eq "time ring: every DNS packet tcpdump saw since the oldest file is there" \
	"missing 0" "$($CHECK missing --from "$first" --to "$t1" "$T/s1.ref.pcap" "$@" | sed 's/.*\(missing\)/\1/')"
check_eq "time ring: captured = written" "$(total s1 captured)" "$(total s1 written)"
check_eq "time ring: files - removed = 3" 3 $(( $(total s1 files) - $(total s1 removed) ))

# ---- 2. size rotation, IP fragments, report across the files: -C 20k -----------
mkdir "$T/s2"
ref s2 "$IFA"
dv s2 -i "$IFA" -C 20k -w "$T/s2/dns.pcap"
queries "$T/q2" 1000 10
dig_batch "$T/q2"
sleep 0.2
stop "$DV"
stop "$REF"
files=$(ls "$T"/s2/*.pcap | sort)
# shellcheck disable=SC2086
set -- $files
check "size: at least 5 files" test $# -ge 5
check_eq "size: no file over 20000 bytes" "" "$(for f in "$@"; do [ "$(stat -c %s "$f")" -le 20000 ] || echo "$f"; done)"
check_eq "size: names sort in time order" ok "$(in_order "$@")"
check_eq "size: names dns.pcap, dns_000001.pcap, ..." "dns.pcap dns_000001.pcap dns_000002.pcap" \
	"$(for f in "$@"; do basename "$f"; done | head -3 | tr '\n' ' ' | sed 's/ $//')"
check_eq "size: every DNS packet and fragment tcpdump saw is there" \
	"reference 2030 missing 0" "$($CHECK missing "$T/s2.ref.pcap" "$@")"
check_eq "size: 1000 A + 10 fragmented TXT lookups are 2030 packets" 2030 "$(total s2 captured)"
# shellcheck disable=SC2086
"$DNSVET" report --json $files > "$T/s2.json" 2>/dev/null
check_eq "size: report over the files matches every query" "1010 0" \
	"$(json_get "$T/s2.json" "'%d %d' % (d['summary']['matched'], d['summary']['unanswered'] + d['summary']['open_at_end'])")"

# ---- 3. time, size and count together: -G 1 -C 8k -W 4 -------------------------
mkdir "$T/s3"
ref s3 "$IFA"
dv s3 -i "$IFA" -G 1 -C 8k -W 4 -w "$T/s3/%H%M%S.pcap"
queries "$T/q3" 150
for r in 1 2 3; do dig_batch "$T/q3"; sleep 0.7; done
t3=$(now)
stop "$DV"
stop "$REF"
set -- $(ls "$T"/s3/*.pcap | sort)
check_eq "G+C+W: 4 files kept" 4 $#
check_eq "G+C+W: no file over 8000 bytes" "" "$(for f in "$@"; do [ "$(stat -c %s "$f")" -le 8000 ] || echo "$f"; done)"
check "G+C+W: the ring turned (more files written than kept)" test "$(total s3 files)" -gt 4
check_eq "G+C+W: files - removed = 4" 4 $(( $(total s3 files) - $(total s3 removed) ))
check_eq "G+C+W: packets lie in their file's second" ok "$($CHECK within 1 "$@")"
from=$($CHECK spans "$1" | awk '{ printf "%.9f", $3 / 1e9 }')
check_eq "G+C+W: nothing missing since the oldest kept packet" "missing 0" \
	"$($CHECK missing --from "$from" --to "$t3" "$T/s3.ref.pcap" "$@" | sed 's/.*\(missing\)/\1/')"

# ---- 4. signals at random moments during a busy capture -------------------------
mkdir "$T/s4"
ref s4 "$IFA"
dv s4 -i "$IFA" -w "$T/s4/dns.pcap"
queries "$T/q4" 30000
ip netns exec "$NS_C" dig @10.77.0.1 +tries=1 +time=1 -f "$T/q4" >/dev/null 2>&1 &
DIG=$!
PIDS="$PIDS $DIG"
for sig in HUP HUP USR1 HUP; do
	rnd_sleep 0.1 0.3
	kill -"$sig" "$DV"
done
sleep 0.2
t4=$(now)
busy=$(alive "$DIG" && echo yes || echo no)
stop "$DV"
check_eq "signals: exit 0" 0 "$RC"
stop "$DIG" 2>/dev/null
sleep 0.1
stop "$REF"
set -- $(ls "$T"/s4/*.pcap | sort)
check_eq "signals: the capture was busy when stopped" yes "$busy"
check_eq "signals: three SIGHUPs give four files" 4 $#
check "signals: every file readable" $CHECK verify "$@"
check_eq "signals: every packet delivered before SIGTERM is in the files" "missing 0" \
	"$($CHECK missing --to "$t4" "$T/s4.ref.pcap" "$@" | sed 's/.*\(missing\)/\1/')"
check "signals: SIGUSR1 printed totals so far" grep -q "^dnsvet capture: so far: " "$T/s4.err"
check_eq "signals: captured = written, none lost" "$(total s4 captured) 0" "$(total s4 written) $(total s4 'not written')"
check_eq "signals: files in time order" ok "$(in_order "$@")"

# SIGINT during a busy capture that also rotates by size
mkdir "$T/s4b"
ref s4b "$IFA"
dv s4b -i "$IFA" -C 50k -w "$T/s4b/dns.pcap"
ip netns exec "$NS_C" dig @10.77.0.1 +tries=1 +time=1 -f "$T/q4" >/dev/null 2>&1 &
DIG=$!
PIDS="$PIDS $DIG"
for sig in HUP HUP; do
	rnd_sleep 0.1 0.4
	kill -"$sig" "$DV"
done
sleep 0.3
t4=$(now)
stop "$DV" INT
check_eq "SIGINT: exit 0" 0 "$RC"
stop "$DIG"
sleep 0.1
stop "$REF"
set -- $(ls "$T"/s4b/*.pcap | sort)
check "SIGINT: every file readable" $CHECK verify "$@"
check_eq "SIGINT: no partial file left" 0 "$(ls -A "$T/s4b" | grep -c partial)"
check_eq "SIGINT: every packet delivered before SIGINT is in the files" "missing 0" \
	"$($CHECK missing --to "$t4" "$T/s4b.ref.pcap" "$@" | sed 's/.*\(missing\)/\1/')"
check_eq "SIGINT: names sort in time order" ok "$(in_order "$@")"

# ---- 5. two interfaces: pcapng; -i any: SLL2; --mode -----------------------------
mkdir "$T/s5"
oldmask=$(umask)
umask 077
dv s5 -i "$IFA" -i "$IFB" --mode 0644 -w "$T/s5/two.pcapng"
umask "$oldmask"
queries "$T/q5a" 50
queries "$T/q5b" 30
dig_batch "$T/q5a" 10.77.0.1
dig_batch "$T/q5b" 10.77.1.1
sleep 0.1
stop "$DV"
check_eq "pcapng: tshark reads both interface names" "$IFA 100 $IFB 60" \
	"$(tshark -r "$T/s5/two.pcapng" -T fields -e frame.interface_name 2>/dev/null | sort | uniq -c | awk '{ printf "%s%s %s", (NR > 1 ? " " : ""), $2, $1 }')"
check_eq "pcapng: capinfos says pcapng" "pcapng" "$(capinfos -t "$T/s5/two.pcapng" 2>/dev/null | awk '/File type/ { print $NF }')"
"$DNSVET" report --json "$T/s5/two.pcapng" > "$T/s5.json" 2>/dev/null
check_eq "pcapng: dnsvet report keeps each packet's interface" "$IFA 50 $IFB 30" \
	"$(json_get "$T/s5.json" "' '.join('%s %d' % (i['key'], i['transactions']) for i in sorted(d['interfaces'], key=lambda i: i['key']))")"
check_eq "--mode 0644 (umask 077 ignored)" "644 " "$(modes "$T/s5/two.pcapng")"

dv s5any -i any -w "$T/s5/any.pcap"
dig_batch "$T/q5a" 10.77.0.1
dig_batch "$T/q5b" 10.77.1.1
sleep 0.1
stop "$DV"
check_eq "-i any: SLL2 link type" 276 "$($CHECK linktype "$T/s5/any.pcap")"
"$DNSVET" report --json "$T/s5/any.pcap" > "$T/s5any.json" 2>/dev/null
check_eq "-i any: two interfaces from the SLL2 headers" "2 50 30" \
	"$(json_get "$T/s5any.json" "'%d %s' % (len(d['interfaces']), ' '.join(str(i['transactions']) for i in sorted(d['interfaces'], key=lambda i: -i['transactions'])))")"

# ---- 6. privileges ------------------------------------------------------------------
mkdir "$T/s6"
chmod 0711 "$T"
chown nobody "$T/s6"
dv s6 -i "$IFA" -Z nobody -w "$T/s6/dns.pcap"
check_eq "-Z nobody: the process runs as nobody" "65534 65534 65534 65534" \
	"$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$DV/status")"
check_eq "-Z nobody: and with nobody's group only" "$(id -g nobody)" \
	"$(awk '/^Gid:/ { print $2 }' "/proc/$DV/status")"
check_eq "-Z nobody: no capabilities left" "0000000000000000" \
	"$(awk '/^CapEff:/ { print $2 }' "/proc/$DV/status")"
queries "$T/q6" 10
dig_batch "$T/q6"
sleep 0.1
stop "$DV"
check_eq "-Z nobody: still captures and writes" "$T/s6/dns.pcap 20" "$($CHECK verify "$T/s6/dns.pcap")"
check_eq "-Z nobody: the file belongs to nobody, mode 0600" "nobody 600" "$(stat -c '%U %a' "$T/s6/dns.pcap")"

ip netns exec "$NS_C" setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
	"$DNSVET" capture -i "$IFA" -w "$T/s6/np.pcap" >/dev/null 2>"$T/s6np.err"
check_eq "no permission: exit 2" 2 $?
check "no permission: the error names CAP_NET_RAW" grep -q "no permission to capture on '$IFA'.*CAP_NET_RAW" "$T/s6np.err"

# ---- 7. a full disk without a ring: stop cleanly -------------------------------------
mkdir "$T/full1" "$T/full2"
mount -t tmpfs -o size=1m tmpfs "$T/full1" && MOUNTS="$MOUNTS $T/full1"
mount -t tmpfs -o size=1m tmpfs "$T/full2" && MOUNTS="$MOUNTS $T/full2"
dv s7 -i "$IFA" -w "$T/full1/dns.pcap"
queries "$T/q7" 0 700
dig_batch "$T/q7"
_i=0
while alive "$DV" && [ $_i -lt 30 ]; do sleep 0.1; _i=$((_i + 1)); done
stopped=$(alive "$DV" && echo running || echo stopped)
stop "$DV"
check_eq "full disk: the capture stops by itself, exit 1" "stopped 1" "$stopped $RC"
check "full disk: the error says no space, naming the file" \
	grep -q "unable to write '$T/full1/.dns.pcap.partial': No space left on device" "$T/s7.err"
check_eq "full disk: no partial file left" 0 "$(ls -A "$T/full1" | grep -c partial)"
check "full disk: the file is readable" $CHECK verify "$T"/full1/*.pcap
check "full disk: tshark reads it to the end" tshark -r "$T/full1/dns.pcap" -c 1000000 -T fields -e frame.number
check "full disk: some packets could not be written" test "$(total s7 'not written')" -gt 0
check_eq "full disk: captured = written + not written" "$(total s7 captured)" \
	$(( $(total s7 written) + $(total s7 'not written') ))
check_eq "full disk: written = packets in the file" "$(total s7 written)" \
	"$($CHECK verify "$T"/full1/*.pcap | awk '{ n += $2 } END { print n }')"

# ---- 8. a full disk with a ring: remove the oldest file, keep going --------------------
ref s8 "$IFA"
dv s8 -i "$IFA" -C 200k -W 10 -w "$T/full2/dns.pcap"
queries "$T/q8" 0 1200
dig_batch "$T/q8"
sleep 0.1
t8=$(now)
stopped=$(alive "$DV" && echo running || echo stopped)
stop "$DV"
stop "$REF"
check_eq "full ring: still running after 2.6 MB on a 1 MB disk, exit 0" "running 0" "$stopped $RC"
check "full ring: a warning says the oldest file was removed" grep -q "removing the oldest file of the ring" "$T/s8.err"
set -- $(ls "$T"/full2/*.pcap | sort)
check "full ring: every file readable" $CHECK verify "$@"
check_eq "full ring: names sort in time order" ok "$(in_order "$@")"
check_eq "full ring: nothing lost" "$(total s8 captured) 0" "$(total s8 written) $(total s8 'not written')"
from=$($CHECK spans "$1" | awk '{ printf "%.9f", $3 / 1e9 }')
check_eq "full ring: nothing missing since the oldest kept packet" "missing 0" \
	"$($CHECK missing --from "$from" --to "$t8" "$T/s8.ref.pcap" "$@" | sed 's/.*\(missing\)/\1/')"

# ---- 9. the live analysis: --summary-every --------------------------------------------
dv s9 -i "$IFA" -w "$T/s9.pcap" --summary-every 1 --answer-window 1s --port 53,5353
queries "$T/q9" 20
dig_batch "$T/q9"
queries "$T/q9u" 5
ip netns exec "$NS_C" dig @10.77.0.1 -p 5353 +tries=1 +time=1 -f "$T/q9u" >/dev/null 2>&1
sleep 2.2
stop "$DV"
check_eq "summary: a live line counts answered and unanswered" \
	"queries 25 responses 20 answered 20 unanswered 5" \
	"$(grep '^summary' "$T/s9.out" | tail -2 | head -1 | sed 's/.*\(queries.*\) open.*/\1/')"
check "summary: the unanswered finding is shown live" grep -q "^finding .* unanswered count 5" "$T/s9.out"
check "summary: printed every second" test "$(grep -c '^summary' "$T/s9.out")" -ge 3
