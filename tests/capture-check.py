#!/usr/bin/env python3
"""capture-check.py: the independent reader behind tests/capture.sh.

Reads classic pcap (micro- or nanosecond, either byte order) and pcapng
(SHB, IDB with if_name/if_tsresol, EPB) strictly: a file that ends inside
a header or a record is an error (exit 1), which is what "readable" means
in the tests. Packets are compared by a hash of their bytes from the IP
header on, so a tcpdump on one interface (Ethernet) and dnsvet on "any"
(SLL2) agree.

  capture-check.py verify FILE...        packets per file; exit 1 if unreadable
  capture-check.py spans FILE...         "name count first_ts last_ts" per file
  capture-check.py missing [--from T] [--to T] [--ports 53] REF FILE...
      reference DNS packets (UDP/TCP on a DNS port, or an IP fragment after
      the first) with from <= ts <= to that are not in FILE...; prints
      "reference N missing M" and exits 0
  capture-check.py ifaces FILE           "name count" per interface
  capture-check.py within SECONDS FILE...
      every packet of FILE lies in the interval its name starts: the name's
      first HHMMSS (UTC), e.g. 034501.pcap or dns-034501_000002.pcap;
      prints "ok" or the first offender
  capture-check.py linktype FILE         link type of a classic pcap file
"""
import collections
import hashlib
import struct
import sys


class Unreadable(Exception):
    pass


def read_pcap(f, path):
    hdr = f.read(24)
    if len(hdr) < 24:
        raise Unreadable("%s: short file header" % path)
    magic = hdr[:4]
    table = {b"\xd4\xc3\xb2\xa1": ("<", 1000), b"\xa1\xb2\xc3\xd4": (">", 1000),
             b"\x4d\x3c\xb2\xa1": ("<", 1), b"\xa1\xb2\x3c\x4d": (">", 1)}
    if magic not in table:
        raise Unreadable("%s: bad magic" % path)
    e, mult = table[magic]
    linktype = struct.unpack(e + "I", hdr[20:24])[0] & 0xffff
    while True:
        rh = f.read(16)
        if not rh:
            return
        if len(rh) < 16:
            raise Unreadable("%s: ends inside a record header" % path)
        sec, frac, caplen, _ = struct.unpack(e + "IIII", rh)
        data = f.read(caplen)
        if len(data) < caplen:
            raise Unreadable("%s: ends inside a record" % path)
        yield sec * 10**9 + frac * mult, linktype, None, data


def read_pcapng(f, path):
    ifs = []
    e = "<"
    while True:
        bh = f.read(8)
        if not bh:
            return
        if len(bh) < 8:
            raise Unreadable("%s: ends inside a block header" % path)
        if bh[:4] == b"\x0a\x0d\x0d\x0a":
            bom = f.read(4)
            e = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
            blen = struct.unpack(e + "I", bh[4:8])[0]
            body = bom + f.read(blen - 12)
            ifs = []
        else:
            blen = struct.unpack(e + "I", bh[4:8])[0]
            body = f.read(blen - 8)
        if blen < 12 or len(body) < blen - 8 or body[-4:] != bh[4:8]:
            raise Unreadable("%s: ends inside a block, or a bad block length" % path)
        btype = struct.unpack(e + "I", bh[:4])[0]
        if btype == 1:
            lt = struct.unpack(e + "H", body[:2])[0]
            name, div = None, 10**6
            off = 8
            while off + 4 <= len(body) - 4:
                code, olen = struct.unpack(e + "HH", body[off:off + 4])
                val = body[off + 4:off + 4 + olen]
                if code == 0:
                    break
                if code == 2:
                    name = val.rstrip(b"\0").decode("utf-8", "replace")
                if code == 9:
                    div = (2 if val[0] & 0x80 else 10) ** (val[0] & 0x7f)
                off += 4 + ((olen + 3) & ~3)
            ifs.append((lt, name, div))
        elif btype == 6:
            ifid, hi, lo, caplen, _ = struct.unpack(e + "IIIII", body[:20])
            lt, name, div = ifs[ifid]
            ticks = (hi << 32) | lo
            yield ticks * 10**9 // div, lt, name, body[20:20 + caplen]


def packets(path):
    with open(path, "rb") as f:
        magic = f.read(4)
        f.seek(0)
        if magic == b"\x0a\x0d\x0d\x0a":
            yield from read_pcapng(f, path)
        else:
            yield from read_pcap(f, path)


def ip_part(linktype, data):
    """The bytes from the IP header on, or None."""
    if linktype == 1:
        off, et = 14, data[12:14]
        while et in (b"\x81\x00", b"\x88\xa8"):
            et, off = data[off + 2:off + 4], off + 4
        return data[off:] if et in (b"\x08\x00", b"\x86\xdd") else None
    if linktype == 276:
        return data[20:] if data[0:2] in (b"\x08\x00", b"\x86\xdd") else None
    if linktype == 113:
        return data[16:] if data[14:16] in (b"\x08\x00", b"\x86\xdd") else None
    if linktype in (101, 228, 229, 12, 14):
        return data
    if linktype == 0:
        return data[4:]
    return None


def is_dns(ip, ports):
    if not ip:
        return False
    v = ip[0] >> 4
    if v == 4 and len(ip) >= 20:
        ihl = (ip[0] & 15) * 4
        frag = struct.unpack(">H", ip[6:8])[0] & 0x1fff
        if frag:
            return True
        proto, l4 = ip[9], ip[ihl:]
    elif v == 6 and len(ip) >= 40:
        proto, l4 = ip[6], ip[40:]
        if proto == 44:
            return True
    else:
        return False
    if proto in (6, 17) and len(l4) >= 4:
        sp, dp = struct.unpack(">HH", l4[:4])
        return sp in ports or dp in ports
    return False


def key(ip):
    return hashlib.sha1(ip).hexdigest()


def main(argv):
    cmd, args = argv[1], argv[2:]
    try:
        if cmd == "verify":
            for p in args:
                print(p, sum(1 for _ in packets(p)))
        elif cmd == "spans":
            for p in args:
                ts = [t for t, _, _, _ in packets(p)]
                print(p, len(ts), min(ts) if ts else 0, max(ts) if ts else 0)
        elif cmd == "ifaces":
            c = collections.Counter(n for _, _, n, _ in packets(args[0]))
            for n in sorted(c, key=str):
                print(n, c[n])
        elif cmd == "within":
            import re
            g = int(args[0])
            for p in args[1:]:
                m = re.findall(r"(?<!_)(\d\d)(\d\d)(\d\d)", p.rsplit("/", 1)[-1])
                if not m:
                    print("no HHMMSS in", p)
                    return 1
                h, mi, se = (int(x) for x in m[0])
                start = h * 3600 + mi * 60 + se
                for t, _, _, _ in packets(p):
                    off = (t // 10**9 - start) % 86400
                    if off >= g:
                        print("%s: packet at %.6f is %ds after the file's start" %
                              (p, t / 1e9, off))
                        return 1
            print("ok")
        elif cmd == "linktype":
            with open(args[0], "rb") as f:
                hdr = f.read(24)
            e = "<" if hdr[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
            print(struct.unpack(e + "I", hdr[20:24])[0] & 0xffff)
        elif cmd == "missing":
            lo, hi, ports = 0, 1 << 62, {53}
            while args[0].startswith("--"):
                opt, val, args = args[0], args[1], args[2:]
                if opt == "--from":
                    lo = int(float(val) * 1e9)
                elif opt == "--to":
                    hi = int(float(val) * 1e9)
                elif opt == "--ports":
                    ports = {int(x) for x in val.split(",")}
            have = collections.Counter()
            for p in args[1:]:
                for _, lt, _, d in packets(p):
                    ip = ip_part(lt, d)
                    if ip is not None:
                        have[key(ip)] += 1
            ref = missing = 0
            for t, lt, _, d in packets(args[0]):
                ip = ip_part(lt, d)
                if not (lo <= t <= hi and is_dns(ip, ports)):
                    continue
                ref += 1
                k = key(ip)
                if have[k] > 0:
                    have[k] -= 1
                else:
                    missing += 1
            print("reference", ref, "missing", missing)
        else:
            print("unknown command", cmd, file=sys.stderr)
            return 2
    except Unreadable as ex:
        print("unreadable:", ex)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
