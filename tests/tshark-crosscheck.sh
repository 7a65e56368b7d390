#!/bin/sh
# tests/tshark-crosscheck.sh: dnsvet against tshark on every public capture
# and every trace in pcaps/ (see tshark-crosscheck.py for what is compared).
. "$(dirname "$0")/lib.sh"
command -v tshark >/dev/null || { notok "tshark-crosscheck: tshark is not installed (sh autogen.sh --deps)"; exit 1; }
cd "$TOP" || exit 1
DNSVET=$DNSVET python3 "$TOP/tests/tshark-crosscheck.py" "$PUBLIC"/*/*.pcap $(ls "$TOP"/pcaps/*.pcap "$TOP"/pcaps/*.pcapng 2>/dev/null)
