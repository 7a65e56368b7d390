#!/usr/bin/env python3
"""tests/damaged.py DNSVET PUBLIC TMPDIR: damaged savefiles (tests/damaged.sh).

Takes small captures (pcap, and pcapng written by tests/mkpcapng.py), cuts
them at every offset (a sample for the larger ones), flips bytes, corrupts
header fields (magic, version, snaplen, link type), writes huge caplen
fields and wrong pcapng block lengths, and runs `DNSVET report --json` (the
sanitizer build) on each under `timeout 10`. Each run must either fail
cleanly (exit 2, the message names the file) or give results with a
warning that names the file and says where it stopped (exit 0); never
hang, never a sanitizer report. For cuts the exact frame (and pcapng byte
offset) in the warning and the packet count are checked.
Prints one "ok"/"not ok" line per group of cases.
"""
import concurrent.futures
import json
import os
import random
import re
import struct
import subprocess
import sys

DNSVET, PUBLIC, TMP = sys.argv[1:4]
TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAN = re.compile(r"Sanitizer|runtime error|LeakSanitizer")


def run(path, args=("report", "--json"), stdin=None):
    cmd = ["timeout", "10", DNSVET] + list(args) + [path]
    p = subprocess.run(cmd, stdin=stdin, capture_output=True)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def judge(path, rc, out, err, want=None, ndjson=False):
    """None if the run behaved, else why not. want: dict of exact checks."""
    name = os.path.basename(path)
    if rc == 124:
        return "hang (killed by timeout 10)"
    if SAN.search(err):
        return "sanitizer: " + " ".join(l for l in err.splitlines() if SAN.search(l))[:200]
    if rc == 2:
        if name not in err:
            return "exit 2 but the message does not name the file: %r" % err[:200]
        if want and want.get("rc", 2) != 2:
            return "exit 2, expected %d: %r" % (want["rc"], err[:200])
        return None
    if rc != 0:
        return "exit %d: %r" % (rc, err[:200])
    if want and want.get("rc", 0) != 0:
        return "exit 0, expected %d" % want["rc"]
    try:
        if ndjson:
            for line in out.splitlines():
                json.loads(line)
            d = None
        else:
            d = json.loads(out)
    except ValueError:
        return "exit 0 but the output is not JSON"
    for line in err.splitlines():
        if not (line.startswith("dnsvet: warning: '") and name in line and "after frame" in line):
            return "unexpected message: %r" % line[:200]
    if want and d is not None:
        if "packets" in want and d["summary"]["packets"] != want["packets"]:
            return "packets %d, expected %d" % (d["summary"]["packets"], want["packets"])
        if "warn" in want:
            if want["warn"] is None and err:
                return "unexpected warning %r" % err[:200]
            if want["warn"] is not None and want["warn"] not in err:
                return "warning %r does not say %r" % (err[:200], want["warn"])
        for k, v in want.get("problems", {}).items():
            if d["decode_problems"][k] != v:
                return "decode problem %s = %d, expected %d" % (k, d["decode_problems"][k], v)
    return None


def sweep(label, cases, tx_every=0):
    """cases: list of (path, want). Runs them two at a time."""
    bad = []

    def one(i_case):
        i, (path, want) = i_case
        r = judge(path, *run(path), want=want)
        if r is None and tx_every and i % tx_every == 0:
            r = judge(path, *run(path, ("tx", "--json")), ndjson=True)
        return path, r

    with concurrent.futures.ThreadPoolExecutor(2) as ex:
        for path, r in ex.map(one, enumerate(cases)):
            if r:
                bad.append("%s: %s" % (os.path.basename(path), r))
            else:
                os.unlink(path)
    if bad:
        print("not ok damaged %s: %d of %d cases: %s" % (label, len(bad), len(cases), "; ".join(bad[:3])))
    else:
        print("ok damaged %s (%d cases)" % (label, len(cases)))
    return not bad


def write(name, data):
    p = os.path.join(TMP, name)
    with open(p, "wb") as f:
        f.write(data)
    return p


# ---- pcap -------------------------------------------------------------------

def pcap_records(data):
    """[(offset, end)] of each record of a little-endian pcap."""
    off, recs = 24, []
    while off + 16 <= len(data):
        cap = struct.unpack("<I", data[off + 8:off + 12])[0]
        recs.append((off, off + 16 + cap))
        off += 16 + cap
    return recs


def pcap_cut_cases(tag, data, offsets):
    recs = pcap_records(data)
    cases = []
    for x in offsets:
        p = write("%s-cut%05d.pcap" % (tag, x), data[:x])
        k = sum(1 for _, e in recs if e <= x)
        if x < 24:
            cases.append((p, {"rc": 2}))
        elif x == 24 or any(e == x for _, e in recs):
            cases.append((p, {"rc": 0, "packets": k, "warn": None}))
        else:
            cases.append((p, {"rc": 0, "packets": k, "warn": "after frame %d:" % k}))
    return cases


def pcap_header_cases(tag, data):
    n = len(pcap_records(data))
    cases = []

    def mod(name, off, fmt, val, want):
        d = bytearray(data)
        struct.pack_into(fmt, d, off, val)
        cases.append((write("%s-%s.pcap" % (tag, name), bytes(d)), want))

    mod("magic", 0, "<I", 0xDEADBEEF, {"rc": 2})
    mod("magic-pcapng-like", 0, "<I", 0x0A0D0D0A, None)
    mod("version-major", 4, "<H", 3, {"rc": 2})
    mod("version-minor", 6, "<H", 0xFFFF, None)
    mod("snaplen-0", 16, "<I", 0, None)
    mod("snaplen-huge", 16, "<I", 0xFFFFFFFF, None)
    mod("snaplen-small", 16, "<I", 20, None)
    mod("linktype-unknown", 20, "<I", 147, {"rc": 0, "packets": n,
                                             "problems": {"unsupported-link": n}})
    mod("linktype-huge", 20, "<I", 0x0FFFFFFF, None)
    mod("linktype-fcs", 20, "<I", 0x10000001, None)
    recs = pcap_records(data)
    second = recs[1][0]
    mod("caplen-huge", second + 8, "<I", 0xFFFFFFFF, {"rc": 0, "packets": 1,
                                                       "warn": "after frame 1:"})
    mod("caplen-past-end", second + 8, "<I", len(data), {"rc": 0, "packets": 1,
                                                          "warn": "after frame 1:"})
    mod("caplen-zero", second + 8, "<I", 0, None)
    mod("len-smaller", second + 12, "<I", 1, None)
    mod("len-huge", second + 12, "<I", 0xFFFFFFFF, None)
    mod("ts-usec-huge", second + 4, "<I", 0xFFFFFFFF, None)
    # libpcap reads ts_sec as signed: a time before 1970 must still be JSON
    mod("ts-sec-before-1970", 24, "<I", 0xF0000000, {"rc": 0, "packets": n})
    return cases


# ---- pcapng -------------------------------------------------------------------

def ng_blocks(data):
    """[(offset, type, length)] of a little-endian pcapng file."""
    off, out = 0, []
    while off + 12 <= len(data):
        t, n = struct.unpack("<II", data[off:off + 8])
        out.append((off, t, n))
        off += n
    return out


def ng_cut_cases(tag, data, offsets):
    blocks = ng_blocks(data)
    cases = []
    for x in offsets:
        p = write("%s-cut%05d.pcapng" % (tag, x), data[:x])
        done = [b for b in blocks if b[0] + b[2] <= x]
        k = sum(1 for b in done if b[1] in (2, 3, 6))
        if x < 4:
            cases.append((p, {"rc": 2}))
        elif x == 0 or any(b[0] + b[2] == x for b in blocks):
            cases.append((p, {"rc": 0, "packets": k, "warn": None}))
        else:
            at = max([b[0] + b[2] for b in done] + [0])
            cases.append((p, {"rc": 0, "packets": k,
                              "warn": "after frame %d (byte offset %d)" % (k, at)}))
    return cases


def ng_header_cases(tag, data):
    blocks = ng_blocks(data)
    shb = blocks[0]
    idb = next(b for b in blocks if b[1] == 1)
    epbs = [b for b in blocks if b[1] == 6]
    e2 = epbs[1]  # damage the second packet: one packet read before it
    cases = []

    def mod(name, off, fmt, val, want):
        d = bytearray(data)
        struct.pack_into(fmt, d, off, val)
        cases.append((write("%s-%s.pcapng" % (tag, name), bytes(d)), want))

    stop1 = {"rc": 0, "packets": 1, "warn": "after frame 1 (byte offset %d)" % e2[0]}
    stop0 = {"rc": 0, "packets": 0, "warn": "after frame 0 (byte offset 0)"}
    mod("shb-bom", 8, "<I", 0x12345678, stop0)
    mod("shb-len-small", 4, "<I", 16, stop0)
    mod("shb-len-huge", 4, "<I", 0xFFFFFFF0, stop0)
    mod("shb-len-odd", 4, "<I", shb[2] + 1, stop0)
    mod("shb-version", 12, "<H", 2, stop0)
    mod("idb-linktype", idb[0] + 8, "<H", 147, None)
    mod("idb-snaplen", idb[0] + 12, "<I", 0, None)
    mod("idb-len-small", idb[0] + 4, "<I", 8, {"rc": 0, "packets": 0})
    mod("epb-len-small", e2[0] + 4, "<I", 8, stop1)
    mod("epb-len-12", e2[0] + 4, "<I", 12, stop1)
    mod("epb-len-odd", e2[0] + 4, "<I", e2[2] + 2, stop1)
    mod("epb-len-huge", e2[0] + 4, "<I", 0x7FFFFFF0, stop1)
    mod("epb-len-past-end", e2[0] + 4, "<I", len(data) - e2[0] + 64, stop1)
    mod("epb-len-longer", e2[0] + 4, "<I", e2[2] + 4, stop1)
    mod("epb-trailer", e2[0] + e2[2] - 4, "<I", 4, stop1)
    mod("epb-caplen-huge", e2[0] + 20, "<I", 0xFFFFFFFF, stop1)
    mod("epb-caplen-past-block", e2[0] + 20, "<I", e2[2] - 28, stop1)
    mod("epb-ifid", e2[0] + 8, "<I", 77, None)
    mod("epb-ts-huge", e2[0] + 12, "<I", 0xFFFFFFFF, None)
    mod("block-type-unknown", e2[0], "<I", 0x0BADBEEF, None)
    return cases


def flip_cases(tag, data, ext, n, rng):
    cases = []
    for i in range(n):
        d = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(len(d))
            d[pos] ^= rng.randint(1, 255)
        cases.append((write("%s-flip%03d.%s" % (tag, i, ext), bytes(d)), None))
    return cases


def main():
    rng = random.Random(8)
    good = True
    small = open(os.path.join(PUBLIC, "dnscap", "dns.pcap"), "rb").read()
    recs = pcap_records(small)
    tiny = small[:recs[1][1]]  # 2 records: a query and its answer
    tcp = open(os.path.join(PUBLIC, "tcpdump", "dns_tcp.pcap"), "rb").read()
    frags = open(os.path.join(PUBLIC, "dnscap", "frags.pcap"), "rb").read()
    # a two-interface pcapng from two short captures
    write("a.pcap", tiny[:recs[0][1]])
    v6 = open(os.path.join(PUBLIC, "dnscap", "dns6.pcap"), "rb").read()
    write("b.pcap", v6[:pcap_records(v6)[0][1]])
    subprocess.run([sys.executable, os.path.join(TOP, "tests", "mkpcapng.py"),
                    os.path.join(TMP, "two.pcapng"), os.path.join(TMP, "a.pcap") + ":eth0",
                    os.path.join(TMP, "b.pcap") + ":eth1"], check=True)
    ng = open(os.path.join(TMP, "two.pcapng"), "rb").read()
    for f in ("a.pcap", "b.pcap", "two.pcapng"):
        os.unlink(os.path.join(TMP, f))
    bigng_path = os.path.join(TMP, "big.pcapng")
    subprocess.run([sys.executable, os.path.join(TOP, "tests", "mkpcapng.py"), bigng_path,
                    os.path.join(PUBLIC, "dnscap", "frags.pcap") + ":frag0",
                    os.path.join(PUBLIC, "tcpdump", "dns_tcp.pcap") + ":tcp1"], check=True)
    bigng = open(bigng_path, "rb").read()
    os.unlink(bigng_path)

    good &= sweep("pcap cut at every offset", pcap_cut_cases("tiny", tiny, range(len(tiny) + 1)))
    good &= sweep("pcapng cut at every offset", ng_cut_cases("ng", ng, range(len(ng) + 1)))
    good &= sweep("tcp pcap cut at sampled offsets",
                  pcap_cut_cases("tcp", tcp, sorted(rng.sample(range(len(tcp)), 30))), tx_every=5)
    good &= sweep("fragments pcap cut at sampled offsets",
                  pcap_cut_cases("frags", frags, sorted(rng.sample(range(len(frags)), 20))))
    good &= sweep("large pcapng cut at sampled offsets",
                  ng_cut_cases("bigng", bigng, sorted(rng.sample(range(len(bigng)), 30))), tx_every=5)
    good &= sweep("pcap header and record fields", pcap_header_cases("hdr", tiny), tx_every=1)
    good &= sweep("pcapng block lengths and fields", ng_header_cases("nghdr", ng), tx_every=1)
    good &= sweep("pcap bytes flipped", flip_cases("tcp", tcp, "pcap", 40, rng) +
                  flip_cases("frags", frags, "pcap", 20, rng))
    good &= sweep("pcapng bytes flipped", flip_cases("ng", bigng, "pcapng", 60, rng), tx_every=10)
    # standard input: a cut pcapng through a pipe ends the same way
    p = write("stdin-cut.pcapng", ng[:len(ng) - 7])
    with open(p, "rb") as f:
        rc, out, err = run("-", stdin=f)
    if rc == 0 and "'-' is damaged or truncated after frame" in err and not SAN.search(err):
        print("ok damaged cut pcapng on standard input: exit 0, warning names '-'")
    else:
        print("not ok damaged cut pcapng on standard input: exit %d: %r" % (rc, err[:200]))
        good = False
    # tx spools standard input to read it twice: messages still say '-'
    # and no spool file is left behind, even when it is not a capture
    spools = len([f for f in os.listdir("/tmp") if f.startswith("dnsvet-stdin-")])
    p = write("stdin-junk", b"this is not a capture file at all\n" * 4)
    with open(p, "rb") as f:
        rc, out, err = run("-", ("tx",), stdin=f)
    left = len([f for f in os.listdir("/tmp") if f.startswith("dnsvet-stdin-")]) - spools
    if rc == 2 and "'-' is not a capture file" in err and left <= 0 and not SAN.search(err):
        print("ok damaged tx: junk on standard input: exit 2, names '-', spool removed")
    else:
        print("not ok damaged tx: junk on standard input: exit %d, %d spool files left: %r"
              % (rc, left, err[:200]))
        good = False
    return 0 if good else 1


sys.exit(main())
