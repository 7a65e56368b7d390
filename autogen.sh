#!/bin/sh
# autogen.sh: set up and build dnsvet from a fresh clone.
#
#   sh autogen.sh             generate configure, configure and build
#   sh autogen.sh --deps      first install what is missing (Debian 12, as root)
#
# --deps installs the build dependencies and the tools the test suite uses
# (tshark as the oracle, real DNS servers and clients for the traces,
# tmux for the TUI tests). It only calls apt-get when something is missing.
set -eu
cd "$(dirname "$0")"

BUILD_PKGS="autoconf automake make gcc pkg-config libpcap-dev libldns-dev libncurses-dev"
TEST_PKGS="tshark tcpdump dnsutils dnsmasq-base unbound iptables iproute2 tmux libxml2-utils python3 clang dnsperf dnstop libclang-rt-14-dev time"

if [ "${1:-}" = "--deps" ]; then
	shift
	missing=""
	for p in $BUILD_PKGS $TEST_PKGS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
			missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		echo "autogen.sh: installing:$missing"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q >/dev/null
		apt-get install -y -q --no-install-recommends $missing >/dev/null
	fi
fi

if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
	autoreconf -fi
fi
if [ ! -f Makefile ] || [ configure -nt Makefile ]; then
	./configure -q "$@"
fi
make -s -j"$(nproc 2>/dev/null || echo 2)"
