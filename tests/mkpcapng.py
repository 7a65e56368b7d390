#!/usr/bin/env python3
"""tests/mkpcapng.py OUT IN1:NAME1 IN2:NAME2 ...: write a pcapng file with
one interface per input pcap (named NAMEi, with if_tsresol 10^-9 for the
odd ones to exercise resolution handling), packets interleaved by time.
An independent writer for the tests: dnsvet's own writer is checked
against tshark separately."""
import struct
import sys


def read_pcap(path):
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    end = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    nano = magic in (0xA1B23C4D, 0x4D3CB2A1)
    linktype = struct.unpack(end + "I", data[20:24])[0]
    off, pkts = 24, []
    while off + 16 <= len(data):
        sec, frac, cap, orig = struct.unpack(end + "IIII", data[off:off + 16])
        pkts.append((sec * 10**9 + (frac if nano else frac * 1000), orig, data[off + 16:off + 16 + cap]))
        off += 16 + cap
    return linktype, pkts


def opt(code, val):
    pad = (4 - len(val) % 4) % 4
    return struct.pack("<HH", code, len(val)) + val + b"\0" * pad


def block(btype, body):
    n = 12 + len(body)
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def main():
    out = open(sys.argv[1], "wb")
    out.write(block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)))
    allp = []
    for i, spec in enumerate(sys.argv[2:]):
        path, name = spec.rsplit(":", 1)
        lt, pkts = read_pcap(path)
        res = 9 if i % 2 else 6
        opts = opt(2, name.encode()) + opt(9, bytes([res])) + opt(0, b"")
        out.write(block(1, struct.pack("<HHI", lt, 0, 65535) + opts))
        for ts, orig, d in pkts:
            allp.append((ts, i, res, orig, d))
    allp.sort(key=lambda p: (p[0], p[1]))
    for ts, i, res, orig, d in allp:
        t = ts if res == 9 else ts // 1000
        pad = (4 - len(d) % 4) % 4
        out.write(block(6, struct.pack("<IIIII", i, t >> 32, t & 0xFFFFFFFF, len(d), orig) + d + b"\0" * pad))


main()
