#!/usr/bin/env python3
"""tests/tshark-crosscheck.py: compare dnsvet with tshark on capture files.

tshark (two-pass, -2, with dns.retransmission_timer set to dnsvet's answer
window) is the oracle. For each file we compare:

  queries      query messages (retransmissions included)
  responses    response messages
  matched      responses tshark pairs with a query == dnsvet's answered
               transactions
  unpaired     responses tshark pairs with nothing == dnsvet's duplicates,
               orphans, responses to queries before the capture, mismatched
               and malformed responses
  unanswered   queries tshark never pairs == dnsvet's unanswered + open at
               end transactions, plus their retransmissions (tshark
               counts each send)
  latency      for every pair, tshark's dns.time equals dnsvet's latency
               from the first send, to the microsecond. One documented
               difference: tshark calls a re-sent query a retransmission
               only within its timer of the FIRST send, so glibc's third
               attempt (10 s after the first with attempts:3) starts a new
               transaction there and tshark measures from that last send;
               dnsvet keeps one transaction (the user waited since the
               first send) and reports that number as latency_last_send_ms.

Where dnsvet is right and tshark is not, KNOWN_DIFFERENCES says why and the
test compares against the corrected number. Prints "ok"/"not ok" lines.
"""
import json
import os
import subprocess
import sys

WINDOW = 10

# Where tshark is wrong, the pairs it misses, with why. The test adds them
# to tshark's result before comparing, so any other difference still fails.
KNOWN_MISSED_PAIRS = {
    # The response (frame 2, id 0x5934, A? www.tcpdump.org) was cut by the
    # capture's snaplen (98 of 266 bytes). tshark throws "Packet size limited
    # during capture" inside the answer section before it records the
    # response in its transaction table, so it never pairs it. The header and
    # question are intact, so it is the answer to frame 1, 130.360 ms later.
    "dns_udp_2.pcap": [((1, 2), 0.130360)],
}


def tshark_pairs(path, ports):
    decode = []
    for p in ports:
        if p != 53:
            decode += ["-d", "udp.port==%d,dns" % p, "-d", "tcp.port==%d,dns" % p]
    cmd = ["tshark", "-n", "-2", "-o", "dns.retransmission_timer:%d" % WINDOW,
           "-o", "tcp.desegment_tcp_streams:TRUE", "-r", path] + decode + [
           "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,",
           "-e", "frame.number", "-e", "dns.flags.response", "-e", "dns.id",
           "-e", "dns.response_to", "-e", "dns.time", "-e", "dns.retransmission",
           "-e", "dns.response_in",
           # DNS quoted inside ICMP errors (port unreachable: the client had
           # closed its socket) is not a message anyone received
           "-Y", "dns && !icmp && !icmpv6"]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    queries = responses = 0
    pairs = {}
    answered_q = 0  # query messages tshark paired with a response
    for line in out.splitlines():
        f = (line.split("\t") + [""] * 7)[:7]
        frame = int(f[0])
        flags = [x for x in f[1].split(",") if x != ""]
        rto = [x for x in f[3].split(",") if x != ""]
        times = [x for x in f[4].split(",") if x != ""]
        nq = sum(1 for x in flags if x in ("0", "False"))
        nr = len(flags) - nq
        queries += nq
        responses += nr
        answered_q += len([x for x in f[6].split(",") if x != ""])
        for i, q in enumerate(rto):
            if len(rto) == len(times):
                pairs[(int(q), frame)] = float(times[i])
    return queries, responses, pairs, answered_q


def dnsvet(path, ports):
    exe = os.environ.get("DNSVET", "src/dnsvet")
    args = ["--answer-window", "%ds" % WINDOW, "--port", ",".join(map(str, ports))]
    rep = json.loads(subprocess.run([exe, "report", "--json", "--no-progress"] + args + [path],
                                    capture_output=True, text=True).stdout)
    txs = [json.loads(l) for l in subprocess.run(
        [exe, "tx", "--json", "--no-tags"] + args + [path],
        capture_output=True, text=True).stdout.splitlines()]
    return rep, txs


def main():
    files = sys.argv[1:]
    failed = 0
    for path in files:
        base = os.path.basename(path)
        ports = [53, 8053] if "8053" in base else [53]
        tq, tr, tpairs, answered_q = tshark_pairs(path, ports)
        rep, txs = dnsvet(path, ports)
        s = rep["summary"]
        for key, t in KNOWN_MISSED_PAIRS.get(base, []):
            tpairs[key] = t
        # tshark counts messages it cannot fully decode (compression loops,
        # bad labels) as queries/responses too; dnsvet counts them apart
        ours = {
            "queries": s["queries"] + s["malformed_queries"],
            "responses": s["responses"] + s["malformed_responses"],
            "matched": s["matched"],
            "unpaired": s["duplicates"] + s["orphans"] + s["before_capture"] + s["mismatched"]
            + s["malformed_responses"],
        }
        theirs = {"queries": tq, "responses": tr, "matched": len(tpairs),
                  "unpaired": tr - len(tpairs)}
        # unanswered, per send: tshark counts every send of a query it never paired
        open_sends = sum(1 + t["retransmissions"] for t in txs if t["status"] != "answered")
        ours["unanswered_sends"] = open_sends
        theirs["unanswered_sends"] = tq - answered_q - sum(
            t["retransmissions"] for t in txs if t["status"] == "answered")
        for k in ("queries", "responses", "matched", "unpaired", "unanswered_sends"):
            name = "tshark %s %s" % (base, k)
            if ours[k] == theirs[k]:
                print("ok", name, "=", ours[k])
            else:
                print("not ok %s: dnsvet %d, tshark %d" % (name, ours[k], theirs[k]))
                failed += 1
        # latency of each pair, to the microsecond
        by_resp = {r: (q, t) for (q, r), t in tpairs.items()}
        bad = []
        for t in txs:
            if t["status"] != "answered":
                continue
            q, r = t["query_frame"]["frame"], t["response_frame"]["frame"]
            if r not in by_resp:
                bad.append(((q, r), None, t["latency_ms"]))
                continue
            tq_, tt = by_resp[r]
            if tq_ == q:
                want = t["latency_ms"]
            elif t["retransmissions"]:
                want = t["latency_last_send_ms"]
            else:
                bad.append(((q, r), (tq_, tt), t["latency_ms"]))
                continue
            if abs(tt * 1000.0 - want) > 0.0015:
                bad.append(((q, r), tt * 1000.0, want))
        name = "tshark %s latency of %d pairs" % (base, len(tpairs))
        if bad:
            print("not ok %s: %d differ, e.g. %s" % (name, len(bad), bad[:3]))
            failed += 1
        else:
            print("ok", name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
