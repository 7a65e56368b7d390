#!/usr/bin/env python3
"""tests/hostile-names.py DNSVET TMPDIR: names that try to play tricks.

Writes a small capture of queries whose names hold control characters (ESC
sequences, BEL, NUL, CR/LF, DEL), invalid UTF-8, quotes, backslashes,
dots and semicolons inside labels, spaces, and the longest names DNS
allows (255 bytes, every byte needing an escape); half are answered. A
pcapng copy names its interface with an ESC sequence. Then checks:
  - no byte outside printable ASCII (and newline) in any stdout, in
    report, report --json, tx and tx --json;
  - every name appears in report and tx text exactly in the expected
    presentation form (ldns: \\DDD for bytes outside printable ASCII,
    \\c for . ; ( ) \\; upper case folded) and never cut inside an escape;
  - --json outputs parse, and their qname strings decode to exactly that
    presentation form.
Prints one "ok"/"not ok" line per check.
"""
import json
import os
import re
import struct
import subprocess
import sys

DNSVET, TMP = sys.argv[1:3]
TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
failed = False


def ok(name, cond, why=""):
    global failed
    if cond:
        print("ok hostile names: %s" % name)
    else:
        print("not ok hostile names: %s%s" % (name, ": " + why if why else ""))
        failed = True


NAMES = [
    [b"\x1b[31mred\x1b[0m", b"example", b"com"],
    [b"\x1b]0;pwned\x07", b"title"],
    [b"bell\x07", b"nul\x00byte", b"del\x7f"],
    [b"line\nbreak", b"carriage\rreturn", b"tab\there"],
    [b"\xff\xfe\xfd", b"\xc3", b"\xc0\xaf", b"\xe2\x80\xae", b"invalid-utf8"],
    [b"caf\xc3\xa9", b"valid-utf8"],
    [b'quote"d', b"single'quote", b"back\\slash"],
    [b"dot.inside", b"semi;colon", b"(paren)", b"sp ace"],
    [b'\\"', b'"\\', b"x"],
    [b"MiXeD\x1bCaSe", b"EXAMPLE"],
    # the longest names: 255 bytes on the wire, every byte escaped
    [bytes([1 + (i % 31)]) * 63 for i in range(3)] + [b"\x1b" * 61],
    [bytes(range(0x80 + i * 60, 0x80 + i * 60 + 60)) for i in range(2)] + [b"\xff" * 63, b"\x00" * 63],
    [b"a"] * 127,
]


def wire(labels):
    return b"".join(bytes([len(l)]) + l for l in labels) + b"\0"


def present(labels):
    """ldns's presentation form of a name (lower-cased by the decoder)."""
    out = ""
    for l in labels:
        for c in l:
            if 0x41 <= c <= 0x5A:
                c += 32
            ch = chr(c)
            if ch in ".;()\\":
                out += "\\" + ch
            elif 0x21 <= c <= 0x7E:
                out += ch
            else:
                out += "\\%03d" % c
        out += "."
    return out or "."


def dns(qid, flags, labels, qtype=1):
    return struct.pack(">HHHHHH", qid, flags, 1, 0, 0, 0) + wire(labels) + struct.pack(">HH", qtype, 1)


def udp4(src, dst, sport, dport, payload):
    u = struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(u), 0, 0, 64, 17, 0, bytes(src), bytes(dst))
    return ip + u


def main():
    for labels in NAMES:
        assert len(wire(labels)) <= 255, len(wire(labels))
    pkts, t = [], 1700000000 * 10**6
    cli, srv = [10, 0, 0, 2], [10, 0, 0, 1]
    for i, labels in enumerate(NAMES):
        q = dns(0x1000 + i, 0x0100, labels)
        pkts.append((t, udp4(cli, srv, 40000 + i, 53, q)))
        if i % 2 == 0:  # answered, a millisecond later
            pkts.append((t + 1000, udp4(srv, cli, 53, 40000 + i, dns(0x1000 + i, 0x8180, labels))))
        t += 10000
    # the unanswered ones must run out their window
    pkts.append((t + 30 * 10**6, udp4(cli, srv, 39999, 53, dns(1, 0x0100, [b"end"]))))
    pcap = os.path.join(TMP, "hostile.pcap")
    with open(pcap, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
        for ts, p in pkts:
            f.write(struct.pack("<IIII", ts // 10**6, ts % 10**6, len(p), len(p)) + p)
    ng = os.path.join(TMP, "hostile.pcapng")
    subprocess.run([sys.executable, os.path.join(TOP, "tests", "mkpcapng.py"), ng,
                    pcap + ":eth0\x1b[2J\x1b]0;x\x07\"\\\xc3"], check=True)
    want = [present(l) for l in NAMES]

    outs = {}
    for label, args, path in (("report", ["report", "--top", "100"], pcap),
                              ("report --json", ["report", "--json", "--top", "100"], pcap),
                              ("tx", ["tx"], pcap), ("tx --json", ["tx", "--json"], pcap),
                              ("pcapng report", ["report", "--top", "100"], ng),
                              ("pcapng report --json", ["report", "--json", "--top", "100"], ng),
                              ("pcapng tx --json", ["tx", "--json"], ng)):
        p = subprocess.run([DNSVET] + args + [path], capture_output=True)
        outs[label] = p.stdout
        bad = sorted(set(c for c in p.stdout if not (0x20 <= c <= 0x7E or c == 0x0A)))
        ok("%s: exit 0" % label, p.returncode == 0, p.stderr.decode("ascii", "replace")[:200])
        ok("%s: printable ASCII only on stdout" % label, not bad,
           "bytes %s" % ", ".join("0x%02x" % c for c in bad))
        ok("%s: no ESC byte" % label, b"\x1b" not in p.stdout)

    text = outs["report"].decode("ascii", "replace")
    missing = [w for w in want if w not in text]
    ok("report text shows every name escaped, in full", not missing, "missing %r" % missing[:2])
    txt = outs["tx"].decode("ascii", "replace")
    missing = [w for w in want if (" %s " % w) not in txt]
    ok("tx text shows every name escaped, in full", not missing, "missing %r" % missing[:2])

    # an escape is never cut: every backslash starts \DDD or \c
    for label in ("report", "tx", "report --json", "tx --json"):
        s = outs[label].decode("ascii", "replace")
        if "json" in label:  # look at the decoded strings
            s = json.dumps(json.loads(s) if label == "report --json" else
                           [json.loads(l) for l in s.splitlines()], ensure_ascii=True)
            s = s.encode().decode("unicode_escape")
        cut = re.findall(r"\\(?![0-9]{3}|[^0-9])..?.?", s)
        ok("%s: no escape cut short" % label, not cut, "%r" % cut[:3])

    try:
        d = json.loads(outs["report --json"])
        names = [q["key"] for q in d["qnames"]]
        missing = [w for w in want if w not in names]
        ok("report --json: qnames decode to the presentation form", not missing,
           "missing %r; got %r" % (missing[:1], names[:3]))
        ev = [e["what"] for f in d["findings"] for e in f.get("evidence", [])]
        ok("report --json: evidence is printable", all(0x20 <= ord(c) < 0x7F for e in ev for c in e))
        # evidence lines are short: a long name is cut between escapes, with "..."
        bad = [e for e in ev if e.split(" ")[1] not in want and not (
            e.split(" ")[1].endswith("...") and e.endswith(" unanswered") and
            any(w.startswith(e.split(" ")[1][:-3]) for w in want))]
        ok("report --json: evidence names whole, or cut with ...", ev and not bad, repr(bad[:1]))
    except ValueError as e:
        ok("report --json parses", False, str(e))
    try:
        lines = [json.loads(l) for l in outs["tx --json"].decode("ascii").splitlines()]
        got = [l["qname"] for l in lines]
        ok("tx --json: every qname decodes to its presentation form", got[:len(want)] == want,
           "got %r, want %r" % ([g for g in got if g not in want][:1], [w for w in want if w not in got][:1]))
    except ValueError as e:
        ok("tx --json parses", False, str(e))
    try:
        d = json.loads(outs["pcapng report --json"])
        iface = d["interfaces"][0]["key"]
        ok("pcapng: interface name escaped", iface == 'eth0\\x1b[2J\\x1b]0;x\\x07"\\\\\\xc3\\x83',
           repr(iface))
        lines = [json.loads(l) for l in outs["pcapng tx --json"].decode("ascii").splitlines()]
        ok("pcapng tx --json: interface name escaped", lines[0]["interface"] == iface,
           repr(lines[0]["interface"]))
    except (ValueError, IndexError, KeyError) as e:
        ok("pcapng report --json parses", False, str(e))
    return 1 if failed else 0


sys.exit(main())
