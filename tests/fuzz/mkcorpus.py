#!/usr/bin/env python3
"""tests/fuzz/mkcorpus.py OUTDIR PCAP...: seed corpora for the fuzz targets.

Writes OUTDIR/corpus-{record,dns,tcp,pcapng}/ from classic pcap files:
  record  query/response pairs of capture records in fuzz-record's format
          (link type byte, flags byte, then len(2) dt(1) frame per record)
  dns     every distinct DNS message (UDP payloads, TCP length-stripped)
  tcp     the TCP conversations in fuzz-tcp's segment format
  pcapng  short pcapng files (via tests/mkpcapng.py) and short pcaps
Entries are named by their SHA-1, as libFuzzer names them, and capped per
file so the committed seeds stay small (a few hundred KB in all).
"""
import hashlib
import os
import struct
import subprocess
import sys

LINKTYPES = [1, 101, 113, 276, 0, 108, 9, 50, 228, 229]  # fuzz-record.c's table
DNS_PORTS = (53, 8053)


def read_pcap(path):
    data = open(path, "rb").read()
    if len(data) < 24:
        return None, []
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        end = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        end = ">"
    else:
        return None, []
    nano = magic in (0xA1B23C4D, 0x4D3CB2A1)
    linktype = struct.unpack(end + "I", data[20:24])[0] & 0xFFFF
    off, pkts = 24, []
    while off + 16 <= len(data):
        sec, frac, cap, _orig = struct.unpack(end + "IIII", data[off:off + 16])
        ts = sec * 10**9 + (frac if nano else frac * 1000)
        pkts.append((ts, data[off + 16:off + 16 + cap]))
        off += 16 + cap
    return linktype, pkts


def ip_payload(lt, f):
    """(ip bytes) of a frame, or None."""
    if lt == 1:
        if len(f) < 14:
            return None
        et, off = struct.unpack(">H", f[12:14])[0], 14
        while et in (0x8100, 0x88A8, 0x9100) and off + 4 <= len(f):
            et, off = struct.unpack(">H", f[off + 2:off + 4])[0], off + 4
        return f[off:] if et in (0x0800, 0x86DD) else None
    if lt == 113:
        return f[16:]
    if lt == 276:
        return f[20:]
    if lt in (0, 108):
        return f[4:]
    if lt in (9, 50):
        off = 2 if f[:2] == b"\xff\x03" else 0
        return f[off + 2:]
    if lt in (101, 228, 229, 12, 14):
        return f
    return None


def l4(ip):
    """(proto, src, dst, l4 bytes) or None; no fragments, no ext headers."""
    if len(ip) < 20:
        return None
    v = ip[0] >> 4
    if v == 4:
        hl = (ip[0] & 15) * 4
        tot = struct.unpack(">H", ip[2:4])[0]
        if struct.unpack(">H", ip[6:8])[0] & 0x3FFF:
            return None
        return ip[9], ip[12:16], ip[16:20], ip[hl:tot]
    if v == 6 and len(ip) >= 40:
        plen = struct.unpack(">H", ip[4:6])[0]
        return ip[6], ip[8:24], ip[24:40], ip[40:40 + plen]
    return None


def save(d, blob, seen):
    h = hashlib.sha1(blob).hexdigest()
    if h in seen:
        return
    seen.add(h)
    with open(os.path.join(d, h), "wb") as f:
        f.write(blob)


def rec(frame, dt=1):
    return struct.pack(">HB", len(frame), dt) + frame


def main():
    out = sys.argv[1]
    dirs = {t: os.path.join(out, "corpus-" + t) for t in ("record", "dns", "tcp", "pcapng")}
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)
    seen = set()
    here = os.path.dirname(os.path.abspath(__file__))
    for path in sys.argv[2:]:
        lt, pkts = read_pcap(path)
        if lt is None or not pkts:
            continue
        # record: the first packets in pairs, a few singles
        if lt in LINKTYPES:
            sel = bytes([LINKTYPES.index(lt), 0])
            for i in range(0, min(len(pkts), 16), 2):
                pair = pkts[i:i + 2]
                save(dirs["record"], sel + b"".join(rec(f[:1400]) for _, f in pair), seen)
            for _, f in pkts[:3]:
                save(dirs["record"], sel + f[:1400], seen)
        # dns and tcp
        convs, ndns = {}, 0
        for _, f in pkts:
            ip = ip_payload(lt, f)
            x = l4(ip) if ip else None
            if not x:
                continue
            proto, src, dst, seg = x
            if proto == 17 and len(seg) >= 8:
                sp, dp = struct.unpack(">HH", seg[:4])
                if (sp in DNS_PORTS or dp in DNS_PORTS) and ndns < 40:
                    save(dirs["dns"], seg[8:], seen)
                    ndns += 1
            elif proto == 6 and len(seg) >= 20:
                sp, dp = struct.unpack(">HH", seg[:4])
                if sp not in DNS_PORTS and dp not in DNS_PORTS:
                    continue
                key = (src, sp, dst, dp) if dp in DNS_PORTS else (dst, dp, src, sp)
                convs.setdefault(key, []).append((sp in DNS_PORTS, seg))
        for n, (key, segs) in enumerate(list(convs.items())[:4]):
            blob = bytearray([(1 if len(key[0]) == 16 else 0) | (2 if 8053 in (key[1], key[3]) else 0)])
            nxt = {}
            for is_srv, seg in segs[:60]:
                st = (n % 4) * 2 + (1 if is_srv else 0)
                seq, ack = struct.unpack(">II", seg[4:12])
                doff = (seg[12] >> 4) * 4
                flags = seg[13]
                data = seg[doff:doff + 255]
                exp = nxt.get(st, seq)
                d = (seq - exp + 2**31) % 2**32 - 2**31
                dseq = d if -100 <= d <= 100 else max(-128, min(127, d // 1000))
                b0 = st | (8 if flags & 2 else 0) | (16 if flags & 1 else 0) | \
                    (32 if flags & 4 else 0) | (64 if flags & 16 else 0)
                blob += struct.pack(">BbbBB", b0, dseq, 0, len(data), 1) + data
                nxt[st] = max(exp, seq + len(data) + (1 if flags & 2 else 0)) if st in nxt \
                    else seq + len(data) + (1 if flags & 2 else 0)
                # DNS messages carried over TCP, for the dns corpus
                if len(data) > 14 and struct.unpack(">H", data[:2])[0] == len(data) - 2:
                    save(dirs["dns"], data[2:], seen)
            save(dirs["tcp"], bytes(blob), seen)
    # pcapng: a few short files, through the independent writer
    tmp = os.path.join(out, "tmp.pcap")
    pcaps = [p for p in sys.argv[2:] if read_pcap(p)[0] is not None]
    for i in range(0, min(len(pcaps), 12), 2):
        specs = []
        for j, p in enumerate(pcaps[i:i + 2]):
            lt, pkts = read_pcap(p)
            short = os.path.join(out, "short%d.pcap" % j)
            data = open(p, "rb").read()
            end = 24 + sum(16 + len(f) for _, f in pkts[:6])
            with open(short, "wb") as f:
                f.write(data[:end])
            specs.append("%s:if%d" % (short, j))
            save(dirs["pcapng"], data[:end], seen)
        subprocess.run([sys.executable, os.path.join(here, "..", "mkpcapng.py"), tmp] + specs,
                       check=True)
        save(dirs["pcapng"], open(tmp, "rb").read(), seen)
    for f in os.listdir(out):
        if f.endswith(".pcap"):
            os.unlink(os.path.join(out, f))


if __name__ == "__main__":
    main()
