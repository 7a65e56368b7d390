#!/usr/bin/python3
"""glibc227_stub.py - a scripted stub resolver that puts on the wire what
glibc 2.27's getaddrinfo(AF_UNSPEC) puts on the wire (Ubuntu 18.04, the
KeyDB story in docs/field-notes.md).  Debian 12 ships glibc 2.36, whose
SERVFAIL handling in serial mode was fixed (bug 30081), so the old stall
cannot be produced with the system library; this script emulates it.

What is emulated (resolv/res_send.c send_dg() and res_query.c of 2.27):
  * search list walk: res_nsearch() tries NAME.DOMAIN for every search
    domain when NAME has fewer dots than ndots, then NAME itself;
  * each step is one res_nsend() with two questions, A and AAAA, on a new
    connected UDP socket (the socket is closed after every res_nsend());
  * parallel mode: A and AAAA sent back to back (sendmmsg), then both
    replies read in whatever order they come;
  * the timeout is RES_TIMEOUT (5 s) per try, attempts:2 tries;
  * if one reply came and the other timed out, RES_SNGLKUP is set for the
    rest of the process ("thread") and both questions are sent again at once,
    serially, same ids, same socket;
  * serial mode: send A, wait for its reply, then send AAAA on the same
    socket;
  * the bug: in serial mode an A reply with SERVFAIL/NOTIMP/REFUSED marks
    the first reply as received and goes back to waiting (poll) instead of
    sending AAAA; the wait ends at the try's 5 s deadline, the try fails,
    and the next try sends the same A query (same id, same socket) again;
  * in parallel mode, SERVFAIL for both questions: the try fails at once
    and the next try resends both (same ids, same socket).

usage: glibc227_stub.py SERVER PLAN_FILE
PLAN_FILE: one "DELAY_SECONDS NAME" per line: sleep, then resolve NAME.
Search list and ndots are fixed to the Kubernetes values of the story.
One line per lookup is printed on stdout.
"""
import os
import random
import select
import socket
import struct
import sys
import time

SEARCH = ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"]
NDOTS = 5
TIMEOUT = 5.0          # RES_TIMEOUT
ATTEMPTS = 2           # RES_DFLRETRY
T_A, T_AAAA = 1, 28
SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 2, 3, 4, 5

single_request = False  # RES_SNGLKUP in the thread's _res


def build_query(qid, name, qtype):
    hdr = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)   # RD, 1 question
    q = b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".") if l)
    return hdr + q + b"\x00" + struct.pack("!HH", qtype, 1)


def parse_header(msg):
    if len(msg) < 12:
        return None
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", msg[:12])
    return qid, flags & 0xF, an


def question_of(msg):
    """wire bytes of the question section (name, type, class)"""
    i = 12
    while i < len(msg) and msg[i] != 0:
        i += msg[i] + 1
    return msg[12:i + 5]


def send_dg(sock, q1, q2, log):
    """one try of send_dg(); returns (status, rcode1, rcode2)
    status: 'ok' (both answered), 'fail' (try failed, next try),
            'servfail' (server rejected), 'timeout'"""
    global single_request
    ids = {struct.unpack("!H", q1[:2])[0]: 1, struct.unpack("!H", q2[:2])[0]: 2}
    qsec = {1: q1[12:], 2: q2[12:]}
    while True:                                    # "retry:" label
        finish = time.monotonic() + TIMEOUT
        got = {}
        rejected = set()
        if single_request:
            sock.send(q1)
            sent = {1}
        else:
            sock.send(q1)                          # sendmmsg: both at once
            sock.send(q2)
            sent = {1, 2}
        while True:                                # "wait:" label
            left = finish - time.monotonic()
            r = select.select([sock], [], [], max(left, 0))[0] if left > 0 else []
            if not r:
                # timeout
                if got and not single_request:
                    single_request = True          # statp->options |= RES_SNGLKUP
                    log("timeout with one reply: switching to serial mode, resending")
                    break                          # goto retry
                # (a timeout with one reply in serial mode would switch to
                # RES_SNGLKUPREOP; the traces never do that, so it is not
                # emulated)
                return "timeout", got.get(1), got.get(2)
            msg = sock.recv(65535)
            h = parse_header(msg)
            if h is None:
                continue
            qid, rcode, _ = h
            which = ids.get(qid)
            if which is None or which not in sent or which in got or which in rejected:
                continue                           # old answer: ignore
            if question_of(msg) != qsec[which]:
                continue                           # wrong question: ignore
            if rcode in (SERVFAIL, NOTIMP, REFUSED):
                if got:                            # the other reply was good
                    return "ok", got.get(1, rcode), got.get(2, rcode)
                if rejected:                       # both rejected: next try
                    return "servfail", rcode, rcode
                # first reply rejected: wait for a possible second reply.
                # glibc 2.27 does this in serial mode too, where no second
                # query has been sent: the stall.
                rejected.add(which)
                continue
            got[which] = rcode
            if len(got) + len(rejected) == 2:
                return "ok", got.get(1), got.get(2)
            if single_request and 2 not in sent:
                sock.send(q2)                      # serial: now the AAAA
                sent.add(2)


def res_send(server, name):
    """__res_context_send() for one name: A+AAAA, ATTEMPTS tries, one socket"""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect((server, 53))
    q1 = build_query(random.getrandbits(16), name, T_A)
    q2 = build_query(random.getrandbits(16), name, T_AAAA)
    logs = []
    try:
        result = ("fail", None, None)
        for _ in range(ATTEMPTS):
            result = send_dg(sock, q1, q2, logs.append)
            if result[0] == "ok":
                break
        return result, logs
    finally:
        sock.close()


def lookup(server, name):
    """res_nsearch() over the search list, as getaddrinfo does"""
    trailing = name.endswith(".")
    dots = name.rstrip(".").count(".")
    cands = []
    if not trailing and dots < NDOTS:
        cands += [name + "." + d for d in SEARCH]
    cands.append(name.rstrip("."))
    if not trailing and dots >= NDOTS:
        cands += [name + "." + d for d in SEARCH]
    notes = []
    for c in cands:
        (status, rc1, rc2), logs = res_send(server, c)
        notes += logs
        if status == "ok" and (rc1 == 0 or rc2 == 0):
            return "ok", c, notes
        if status in ("servfail", "timeout"):
            last = "EAI_AGAIN"
        else:
            last = "EAI_NONAME"
    return last, cands[-1], notes


def main():
    server, plan = sys.argv[1], sys.argv[2]
    random.seed(int.from_bytes(os.urandom(8), "big"))
    with open(plan) as f:
        steps = [l.split() for l in f if l.strip() and not l.startswith("#")]
    if len(steps) > 100:
        sys.exit("plan too long")
    for i, (delay, name) in enumerate(steps):
        time.sleep(float(delay))
        t0 = time.monotonic()
        res, final, notes = lookup(server, name)
        el = time.monotonic() - t0
        print("%.6f lookup=%d name=%s result=%s last=%s elapsed=%.3f mode=%s%s" % (
            time.time(), i, name, res, final, el,
            "serial" if single_request else "parallel",
            (" note=" + ";".join(notes)) if notes else ""), flush=True)


if __name__ == "__main__":
    main()
