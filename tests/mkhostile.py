#!/usr/bin/env python3
"""tests/mkhostile.py OUT.pcap: a tiny capture whose query names carry
terminal control sequences (ESC [ 31 m, OSC title, BEL, CR/LF, 8-bit CSI,
a dot and a backslash inside a label, UTF-8 bytes).

dnsvet must show every one of them escaped (ldns presentation, \\DDD):
tests/monitor.sh replays it in tmux and compares the screen, and checks
that no ESC byte reached the terminal from the data.

Traffic: client 192.0.2.10 asks 192.0.2.53; the first three queries are
never answered (so the unanswered finding names them in its evidence),
the others are answered NOERROR; a last benign query at t=12 s makes the
answer window of the first ones pass.
"""
import struct
import sys

HOSTILE = [
    [b"\x1b[31mred\x1b[0m", b"evil", b"test"],
    [b"\x1b]0;pwned\x07", b"evil", b"test"],
    [b"bell\x07\r\nfake", b"evil", b"test"],
    [b"\x9b2J", b"evil", b"test"],
    [b"a.b\\c", b"evil", b"test"],
    [b"caf\xc3\xa9", b"evil", b"test"],
]


def wire(labels):
    return b"".join(bytes([len(x)]) + x for x in labels) + b"\x00"


def dns(qid, flags, labels, qtype=1):
    return struct.pack("!HHHHHH", qid, flags, 1, 0, 0, 0) + wire(labels) + struct.pack("!HH", qtype, 1)


def csum(b):
    if len(b) % 2:
        b += b"\x00"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(src, dst, sport, dport, payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, bytes(src), bytes(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    return eth + ip + udp


def main():
    cli, srv = [192, 0, 2, 10], [192, 0, 2, 53]
    t0 = 1_700_000_000
    pkts = []
    for i, labels in enumerate(HOSTILE):
        t = t0 + 0.1 * i
        qid, port = 0x1000 + i, 40000 + i
        pkts.append((t, frame(cli, srv, port, 53, dns(qid, 0x0100, labels))))
        if i >= 3:
            pkts.append((t + 0.0005, frame(srv, cli, 53, port, dns(qid, 0x8180, labels))))
    pkts.append((t0 + 12, frame(cli, srv, 40100, 53, dns(0x2000, 0x0100, [b"ok", b"test"]))))
    pkts.append((t0 + 12.0004, frame(srv, cli, 53, 40100, dns(0x2000, 0x8180, [b"ok", b"test"]))))
    with open(sys.argv[1], "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for t, p in pkts:
            sec = int(t)
            usec = int(round((t - sec) * 1e6))
            f.write(struct.pack("<IIII", sec, usec, len(p), len(p)) + p)


if __name__ == "__main__":
    main()
