"""conformance.py - the language-neutral conformance suite of Baton SDKs. It
starts the function under test (an SDK's conformance function, see README.md)
as a process, feeds envelopes into its inbox over ZeroMQ, and checks what it
forwards (a PULL bound as the next hop), what it replies (a PULL bound as
reply_to) and what it says on the control channel, against docs/wire-format.md
and docs/sdk.md. Independent of every SDK: it builds and reads envelopes with
msgpack-python. Usage: tests/conformance/run --fn 'exec ./fn_conformance'."""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

import msgpack
import zmq

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(HERE, "..", "vectors")
NAME = "conf"  # BATON_NAME of the function under test
HEARTBEAT_MS = 100
VERSION = "conformance-1"
WAIT_S = 3.0  # how long an answer may take
QUIET_S = 0.15  # how long "nothing else arrives" is watched


class Failed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failed(what)


def equal(got, want, what):
    if got != want:
        raise Failed("%s: got %r, want %r" % (what, got, want))


def now_ms():
    return time.time_ns() // 1000000


def now_us():
    return time.time_ns() // 1000


def pack(obj):
    """Baton's canonical form for the suite's own envelopes: msgpack-python
    writes the smallest forms, keys in insertion order, bytes as bin."""
    return msgpack.packb(obj, use_bin_type=True)


def unpack(data):
    return msgpack.unpackb(data, raw=False, strict_map_key=False, use_list=True,
                           unicode_errors="surrogateescape")


def container(tag_base, n):
    """The msgpack head of an array (0x90) or map (0x80) of n, smallest form."""
    if n < 16:
        return bytes((tag_base | n,))
    if n <= 0xFFFF:
        return bytes((0xDC if tag_base == 0x90 else 0xDE,)) + n.to_bytes(2, "big")
    return bytes((0xDD if tag_base == 0x90 else 0xDF,)) + n.to_bytes(4, "big")


def with_unknown(env, top=(), request=(), message=(), error=()):
    """Packs env (a dict in Baton's key order) and appends raw key+value bytes
    to the top map and to its request, message and error maps."""
    out = [container(0x80, len(env) + len(top))]
    raws = {"request": request, "message": message, "error": error}
    for k, v in env.items():
        out.append(pack(k))
        if k in raws and raws[k]:
            out.append(container(0x80, len(v) + len(raws[k])))
            for kk, vv in v.items():
                out.append(pack(kk) + pack(vv))
            out.extend(raws[k])
        else:
            out.append(pack(v))
    out.extend(top)
    return b"".join(out)


class Suite:
    def __init__(self, fn_cmd, keep):
        self.fn_cmd = fn_cmd
        self.keep = keep
        self.tmp = tempfile.mkdtemp(prefix="baton-conformance-")
        self.inbox = "ipc://%s/inbox" % self.tmp
        self.next_ep = "ipc://%s/next" % self.tmp
        self.reply_ep = "ipc://%s/reply" % self.tmp
        self.control_ep = "ipc://%s/control" % self.tmp
        self.z = zmq.Context()
        self.next_sock = self._pull(self.next_ep)
        self.reply_sock = self._pull(self.reply_ep)
        self.control = self._pull(self.control_ep)
        self.push = self.z.socket(zmq.PUSH)
        self.push.setsockopt(zmq.LINGER, 0)
        self.push.setsockopt(zmq.SNDHWM, 100000)
        self.push.connect(self.inbox)
        self.proc = None
        self.log = None
        self.announce = None
        self.seq = 0
        self.passed = 0
        self.failed = 0

    def _pull(self, ep):
        s = self.z.socket(zmq.PULL)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.MAXMSGSIZE, 32 * 1024 * 1024)
        s.bind(ep)
        return s

    # --- the function under test ---------------------------------------------------

    def start(self):
        env = dict(os.environ, BATON_NAME=NAME, BATON_BIND=self.inbox,
                   BATON_GATEWAY=self.control_ep, BATON_HEARTBEAT_MS=str(HEARTBEAT_MS),
                   BATON_VERSION=VERSION)
        env.setdefault("BATON_LOG", "error")
        env.pop("BATON_ADVERTISE", None)
        env.pop("BATON_CONFORMANCE", None)
        self.log = open(os.path.join(self.tmp, "fn.log"), "ab")
        self.proc = subprocess.Popen(["/bin/sh", "-c", self.fn_cmd], env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.announce = self.control_msg(5.0)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None
        if self.log:
            self.log.close()
            self.log = None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def control_msg(self, timeout):
        data = self.recv(self.control, timeout)
        return None if data is None else unpack(data)

    # --- sending and receiving -----------------------------------------------------

    def recv(self, sock, timeout):
        if sock.poll(int(timeout * 1000)):
            return sock.recv()
        return None

    def send(self, data):
        if isinstance(data, list):
            self.push.send_multipart(data)
        else:
            self.push.send(data)

    def new_id(self, what):
        self.seq += 1
        return "%s-%d" % (what, self.seq)

    def envelope(self, what="t", route=None, index=0, budget=8, deadline=None, reply_to=None,
                 traceparent=None, record=None, meta=None, request=None, message=None,
                 error=None):
        """An envelope in Baton's key order. Default route: this function,
        then the suite's next hop."""
        env = {"v": 1, "id": self.new_id(what),
               "reply_to": self.reply_ep if reply_to is None else reply_to,
               "route": [[NAME, self.inbox], ["next", self.next_ep]] if route is None else route,
               "index": index, "budget": budget,
               "deadline": now_ms() + 10000 if deadline is None else deadline}
        if traceparent is not None:
            env["traceparent"] = traceparent
        if record:
            env["record"] = record
        if meta:
            env["meta"] = meta
        env["request"] = request or {"method": "GET", "target": "/", "headers": []}
        env["message"] = message or {"status": 200, "headers": [], "body": b""}
        if error is not None:
            env["error"] = error
        return env

    def exchange(self, data, where, timeout=WAIT_S):
        """Sends data, then waits for one message at where ("next" or
        "reply") and nothing at the other. Returns (bytes, decoded, t_sent_us,
        t_received_us)."""
        t0 = now_us()
        self.send(data)
        want, other = ((self.next_sock, self.reply_sock) if where == "next"
                       else (self.reply_sock, self.next_sock))
        poller = zmq.Poller()
        poller.register(want, zmq.POLLIN)
        poller.register(other, zmq.POLLIN)
        ready = dict(poller.poll(int(timeout * 1000)))
        t1 = now_us()
        if other in ready:
            got = unpack(other.recv())
            raise Failed("expected a message at %s, got one at the other socket (status %s, "
                         "error %s)" % (where, got.get("message", {}).get("status"),
                                        got.get("error")))
        if want not in ready:
            raise Failed("nothing arrived at %s within %.1f s" % (where, timeout))
        raw = want.recv()
        check(not want.getsockopt(zmq.RCVMORE), "the envelope came in more than one frame")
        self.quiet()
        return raw, unpack(raw), t0, t1

    def quiet(self):
        """Checks that nothing else arrives at the next hop or reply-to."""
        for sock, where in ((self.next_sock, "next"), (self.reply_sock, "reply_to")):
            data = self.recv(sock, QUIET_S)
            if data is not None:
                raise Failed("an extra message arrived at %s: %r" % (where, data[:80]))

    def probe(self):
        """The function still serves: an echo envelope goes through."""
        env = self.envelope("probe")
        raw, got, _, _ = self.exchange(pack(env), "next")
        equal(got["id"], env["id"], "the first message after it (the probe's id)")

    def dropped(self, data):
        """data must be dropped: no answer anywhere, and the function goes on."""
        self.send(data)
        self.probe()

    def calls(self):
        """How many times the handler ran so far (the count behaviour)."""
        env = self.envelope("count", request={"method": "GET", "target": "/",
                                              "headers": [["x-conformance", "count"]]})
        _, got, _, _ = self.exchange(pack(env), "next")
        for n, v in got["message"]["headers"]:
            if n.lower() == "x-calls":
                return int(v)
        raise Failed("the count behaviour did not set x-calls")

    # --- running cases -------------------------------------------------------------

    def run_case(self, name, fn):
        if not self.alive():
            self.stop()
            try:
                self.start()
            except Exception as e:  # noqa: BLE001 - reported as the case's failure
                self.report(name, "cannot start the function: %s" % e)
                return
        # Whatever an earlier case left behind must not count here.
        for sock in (self.next_sock, self.reply_sock):
            while sock.poll(0):
                sock.recv()
        try:
            fn()
            self.report(name, None)
        except Failed as e:
            self.report(name, str(e))
        except Exception:  # noqa: BLE001 - a suite error is a failed case, not a crash
            self.report(name, "suite error: " + traceback.format_exc().strip().splitlines()[-1])
        if not self.alive() and name != "sigterm":
            self.report(name + " (process alive)", "the function exited (%s)"
                        % self.proc.returncode)

    def report(self, name, error):
        if error is None:
            self.passed += 1
            print("ok    %s" % name, flush=True)
        else:
            self.failed += 1
            print("FAIL  %s: %s" % (name, error), flush=True)

    def close(self):
        self.stop()
        self.z.destroy(0)
        if self.keep or self.failed:
            print("(logs kept in %s)" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


# --- shared checks ------------------------------------------------------------------------


def check_record_entry(entry, name, t0, t1):
    check(isinstance(entry, list) and len(entry) == 3, "record entry is [name, t_in, t_out]")
    equal(entry[0], name, "record entry name")
    slack = 2000  # µs, for clocks slewed in between
    check(t0 - slack <= entry[1] <= entry[2] <= t1 + slack,
          "record times t_in=%d t_out=%d not within the send (%d) and receive (%d) times, "
          "in microseconds" % (entry[1], entry[2], t0, t1))


def check_problem(got, status, hop, detail=None):
    """An error answer: status, error {code, hop}, only a problem+json header,
    and the problem body."""
    msg = got["message"]
    equal(msg["status"], status, "message.status")
    check("error" in got, "error is set")
    equal(got["error"]["code"], status, "error.code")
    equal(got["error"]["hop"], hop, "error.hop")
    equal([h[0].lower() for h in msg["headers"]], ["content-type"], "message header names")
    equal(msg["headers"][0][1], "application/problem+json", "Content-Type")
    check(isinstance(msg["body"], bytes), "message.body is bin")
    body = json.loads(msg["body"])
    equal(body.get("type"), "about:blank", "problem type")
    equal(body.get("status"), status, "problem status")
    equal(body.get("hop"), hop, "problem hop")
    check(isinstance(body.get("title"), str) and body["title"], "problem title")
    if detail is not None:
        equal(body.get("detail"), detail, "problem detail")
        equal(got["error"].get("text"), detail, "error.text")


# The top-level keys in the order Baton writes them.
TOP_ORDER = ("v", "id", "reply_to", "reply_key", "route", "route_keys", "index", "budget",
             "deadline", "traceparent", "record", "meta", "request", "message", "error")


def expected_forward(env, entry):
    """env after a hop that forwards: index + 1, budget - 1, entry appended,
    keys in Baton's order (unknown ones last)."""
    out = dict(env, index=env["index"] + 1, budget=env["budget"] - 1,
               record=list(env.get("record", [])) + [entry])
    ordered = {k: out[k] for k in TOP_ORDER if k in out}
    ordered.update((k, v) for k, v in out.items() if k not in TOP_ORDER)
    return ordered


def check_forwarded(s, env, got, t0, t1, name=NAME):
    equal(got["index"], env["index"] + 1, "index")
    equal(got["budget"], env["budget"] - 1, "budget")
    equal(got["route"], env["route"], "route (never shortened)")
    equal(len(got.get("record", [])), len(env.get("record", [])) + 1, "record entries")
    equal(got.get("record", [])[:-1], env.get("record", []), "earlier record entries")
    check_record_entry(got["record"][-1], name, t0, t1)
    check("error" not in got, "no error")


# --- the cases ------------------------------------------------------------------------------


def cases(s):
    """(name, function) for every case, in order."""
    out = []

    def case(name):
        def add(fn):
            out.append((name, fn))
            return fn
        return add

    def req(behaviour, extra=()):
        return {"method": "GET", "target": "/",
                "headers": [["x-conformance", behaviour]] + [list(h) for h in extra]}

    # --- control channel ---------------------------------------------------------------

    @case("control: announce with every field")
    def _():
        a = s.announce
        check(a is not None, "no announce within 5 s")
        equal(a.get("v"), 1, "v")
        equal(a.get("type"), "announce", "type")
        equal(a.get("function"), NAME, "function")
        equal(a.get("endpoint"), s.inbox, "endpoint (the bound inbox)")
        check(isinstance(a.get("instance"), str) and 0 < len(a["instance"]) <= 64,
              "instance is a str of 1..64 bytes")
        equal(a.get("version"), VERSION, "version (BATON_VERSION)")
        equal(a.get("interval"), HEARTBEAT_MS, "interval (BATON_HEARTBEAT_MS)")
        equal(a.get("pid"), s.proc.pid, "pid (the command must exec the function)")
        equal(a.get("host"), socket.gethostname()[:255], "host")

    @case("control: heartbeats every interval, same instance")
    def _():
        while s.control.poll(0):  # what queued up since the announce
            s.control.recv()
        beats = []
        until = time.monotonic() + 1.0
        while time.monotonic() < until and len(beats) < 3:
            m = s.control_msg(until - time.monotonic())
            if m is not None:
                beats.append((time.monotonic(), m))
        check(len(beats) >= 3, "fewer than 3 heartbeats in 1 s at %d ms" % HEARTBEAT_MS)
        for _, m in beats:
            equal(m.get("type"), "heartbeat", "type")
            equal(m.get("instance"), s.announce["instance"], "instance")
        gaps = [b[0] - a[0] for a, b in zip(beats, beats[1:])]
        check(min(gaps) >= HEARTBEAT_MS / 1000.0 * 0.5, "heartbeats closer than an interval")

    # --- forwarding ----------------------------------------------------------------------

    @case("forward: index + 1, budget - 1, record entry, to route[index + 1]")
    def _():
        tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        env = s.envelope("fwd", traceparent=tp,
                         meta={"user": b"alice"},
                         request={"method": "POST", "target": "/o?x=1",
                                  "headers": [["Host", "a"], ["X-Tag", "1"], ["X-Tag", "2"]]},
                         message={"status": 200, "headers": [["Content-Type", "text/plain"]],
                                  "body": b"payload"})
        raw, got, t0, t1 = s.exchange(pack(env), "next")
        check_forwarded(s, env, got, t0, t1)
        for k in ("v", "id", "reply_to", "deadline", "traceparent", "meta", "request", "message"):
            equal(got.get(k), env[k], k)

    @case("forward: canonical bytes (smallest forms, Baton's key order)")
    def _():
        env = s.envelope("canon", record=[["gw", 1795000000000100, 1795000000000220]],
                         meta={"k": b"v"},
                         request={"method": "PUT", "target": "/c", "headers": [["A", "b"]]},
                         message={"status": 200, "headers": [], "body": b"x" * 300})
        raw, got, t0, t1 = s.exchange(pack(env), "next")
        want = pack(expected_forward(env, got["record"][-1]))
        if raw != want:
            raise Failed("bytes differ from the canonical encoding at offset %d" %
                         next(i for i in range(min(len(raw), len(want)) + 1)
                              if i >= min(len(raw), len(want)) or raw[i] != want[i]))

    @case("forward: after the last hop, to reply_to with index == len(route)")
    def _():
        env = s.envelope("last", route=[[NAME, s.inbox]])
        raw, got, t0, t1 = s.exchange(pack(env), "reply")
        check_forwarded(s, env, got, t0, t1)
        equal(got["message"]["status"], 200, "status")

    @case("forward: middle of a 3-hop route, earlier record kept")
    def _():
        env = s.envelope("mid", route=[["a", "ipc:///nonexistent/a"], [NAME, s.inbox],
                                       ["next", s.next_ep]], index=1, budget=5,
                         record=[["a", 1795000000000100, 1795000000000220]])
        raw, got, t0, t1 = s.exchange(pack(env), "next")
        check_forwarded(s, env, got, t0, t1)

    @case("forward: the record names route[index], not BATON_NAME")
    def _():
        env = s.envelope("alias", route=[["alias", s.inbox], ["next", s.next_ep]])
        raw, got, t0, t1 = s.exchange(pack(env), "next")
        check_forwarded(s, env, got, t0, t1, name="alias")

    @case("unknown keys: kept byte for byte, after the known keys of their map")
    def _():
        top1 = pack("x-big") + b"\xcf" + (5).to_bytes(8, "big")  # not the smallest form
        top2 = (pack("x-odd") + b"\x85" + b"\x01\xa1a" + b"\xc0\xc2" + b"\xff\xcb" +
                b"\x3f\xf8\x00\x00\x00\x00\x00\x00" + b"\xa1k\x92\xd0\x80\xc4\x01z" +
                b"\xa1m\xde\x00\x01\xa1q\x90")
        req_raw = pack("x-req") + b"\x93\x01\xe0\xca\x3f\xc0\x00\x00"
        msg_raw = pack("x-msg") + b"\xda\x00\x03abc"
        err_raw = pack("x-err") + b"\xd9\x01e"
        env = s.envelope("unknown", error={"code": 502, "text": "earlier", "hop": "z"})
        data = with_unknown(env, top=[top1, top2], request=[req_raw], message=[msg_raw],
                            error=[err_raw])
        raw, got, t0, t1 = s.exchange(data, "next")
        for part in (top1, top2, req_raw, msg_raw, err_raw):
            check(part in raw, "unknown key %r not written back unchanged" % part[:8])
        check(raw.index(top1) < raw.index(top2), "unknown keys kept in the order read")
        check(raw.index(pack("error")) < raw.index(top1), "top-level unknown keys after the known")
        check(raw.index(pack("headers")) < raw.index(req_raw), "request unknown key after known")
        check(raw.index(pack("body")) < raw.index(msg_raw), "message unknown key after known")
        check(raw.index(pack("hop")) < raw.index(err_raw), "error unknown key after known")
        equal(got["error"], {"code": 502, "text": "earlier", "hop": "z", "x-err": "e"},
              "error kept through a forward")
        equal(got["index"], 1, "index")

    @case("input: any key order and integer forms, str for bin; output writes bin")
    def _():
        env = s.envelope("forms")
        d = {"message": {"body": "as str", "headers": [], "status": 200},
             "index": 0, "request": {"headers": [], "target": "/", "method": "GET"},
             "meta": {"s": "str value"}}
        for k in ("budget", "deadline", "route", "reply_to", "id", "v"):
            d[k] = env[k]
        data = pack(d).replace(pack("index") + b"\x00", pack("index") + b"\xcd\x00\x00")
        raw, got, t0, t1 = s.exchange(data, "next")
        equal(got["message"]["body"], b"as str", "message.body (written as bin)")
        equal(got["meta"], {"s": b"str value"}, "meta (written as bin)")
        equal(got["index"], 1, "index")

    @case("forward: a 1 MiB body intact")
    def _():
        body = bytes(range(256)) * 4096
        env = s.envelope("big", message={"status": 200, "headers": [], "body": body})
        raw, got, t0, t1 = s.exchange(pack(env), "next")
        check(got["message"]["body"] == body, "body changed")

    @case("forward: an error already set is kept")
    def _():
        env = s.envelope("haserr", error={"code": 502, "text": "bad order", "hop": "enrich"})
        raw, got, t0, t1 = s.exchange(pack(env), "next")
        equal(got.get("error"), env["error"], "error")

    # --- the handler's view and its changes -----------------------------------------

    @case("handler: request, place in the route, meta, deadline")
    def _():
        env = s.envelope("info", meta={"user": b"alice"},
                         request={"method": "POST", "target": "/orders/7?x=1&y=2",
                                  "headers": [["x-conformance", "info"], ["X-Tag", "a"],
                                              ["X-TAG", "b"], ["Host", "h"]]})
        raw, got, t0, t1 = s.exchange(pack(env), "next")
        h = dict((n.lower(), v) for n, v in got["message"]["headers"])
        want = {"x-method": "POST", "x-target": "/orders/7?x=1&y=2", "x-path": "/orders/7",
                "x-query": "x=1&y=2", "x-hop": NAME, "x-index": "0", "x-count": "2",
                "x-request-headers": "4", "x-first-tag": "a", "x-meta-user": "alice",
                "x-deadline": "future", "x-id": env["id"]}
        for k, v in want.items():
            equal(h.get(k), v, k)

    @case("handler: absolute-form target, no deadline")
    def _():
        env = s.envelope("info2", deadline=0,
                         request={"method": "GET", "target": "http://h:80/p/q?z",
                                  "headers": [["x-conformance", "info"]]})
        raw, got, t0, t1 = s.exchange(pack(env), "next")
        h = dict((n.lower(), v) for n, v in got["message"]["headers"])
        equal((h.get("x-path"), h.get("x-query"), h.get("x-deadline")), ("/p/q", "z", "none"),
              "path, query, deadline")

    @case("handler: status, headers, body and meta changed")
    def _():
        env = s.envelope("mutate", meta={"keep": b"1", "drop-me": b"2"},
                         request=req("mutate"),
                         message={"status": 200, "headers": [["X-Remove-Me", "1"],
                                                             ["Keep", "k"]], "body": b"in"})
        raw, got, t0, t1 = s.exchange(pack(env), "next")
        m = got["message"]
        equal(m["status"], 201, "status")
        equal(m["headers"], [["Keep", "k"], ["X-Mutated", "yes"], ["X-Multi", "a"],
                             ["X-Multi", "b"]], "headers")
        equal(m["body"], b"mutated", "body")
        equal(got["meta"], {"keep": b"1", "from-fn": b"conf"}, "meta")

    # --- endings --------------------------------------------------------------------------

    @case("reply early: to reply_to, index and budget unchanged, record entry")
    def _():
        env = s.envelope("reply", request=req("reply", [["x-status", "202"]]))
        raw, got, t0, t1 = s.exchange(pack(env), "reply")
        equal(got["index"], 0, "index (not advanced)")
        equal(got["budget"], 8, "budget (not spent)")
        equal(got["route"], env["route"], "route")
        equal(got["message"]["status"], 202, "status")
        equal(got["message"]["body"], b"replied", "body")
        check("error" not in got, "no error")
        equal(len(got["record"]), 1, "record entries")
        check_record_entry(got["record"][0], NAME, t0, t1)

    @case("reply early with status 0 keeps the status")
    def _():
        env = s.envelope("reply0", request=req("reply"),
                         message={"status": 299, "headers": [], "body": b""})
        raw, got, t0, t1 = s.exchange(pack(env), "reply")
        equal(got["message"]["status"], 299, "status")

    @case("fail: status, reason escaped in problem+json, error set, index kept")
    def _():
        reason = 'db "down" \\ caf\u00e9 \t'
        env = s.envelope("fail", request=req("fail", [["x-status", "422"], ["x-reason", reason]]))
        raw, got, t0, t1 = s.exchange(pack(env), "reply")
        check_problem(got, 422, NAME, reason)
        equal(json.loads(got["message"]["body"])["title"], "Unprocessable Content", "title")
        equal(got["index"], 0, "index")
        equal(got["budget"], 8, "budget")
        check_record_entry(got["record"][-1], NAME, t0, t1)

    @case("fail with status 0 means 502")
    def _():
        env = s.envelope("fail0", request=req("fail", [["x-reason", "why"]]))
        raw, got, t0, t1 = s.exchange(pack(env), "reply")
        check_problem(got, 502, NAME, "why")
        equal(json.loads(got["message"]["body"])["title"], "Bad Gateway", "title")

    @case("502: the handler fails (raises / returns an error)")
    def _():
        env = s.envelope("error", request=req("error"))
        raw, got, t0, t1 = s.exchange(pack(env), "reply")
        check_problem(got, 502, NAME)
        equal(got["index"], 0, "index")
        equal(got["budget"], 8, "budget")
        check_record_entry(got["record"][-1], NAME, t0, t1)

    @case("endings: an invalid status ends nothing, the first ending stands")
    def _():
        env = s.envelope("endings", request=req("endings"))
        raw, got, t0, t1 = s.exchange(pack(env), "next")
        h = dict((n.lower(), v) for n, v in got["message"]["headers"])
        equal(h.get("x-invalid"), "refused", "reply(99)")
        equal(h.get("x-second"), "refused", "reply after next")
        check_forwarded(s, env, got, t0, t1)

    # --- what the SDK answers by itself ---------------------------------------------

    def sdk_error(what, status, hop=NAME, **kw):
        before = s.calls()
        env = s.envelope(what, request=req("count"), **kw)
        raw, got, t0, t1 = s.exchange(pack(env), "reply")
        check_problem(got, status, hop)
        equal(got["index"], env["index"], "index (not advanced)")
        equal(got["budget"], env["budget"], "budget (not spent)")
        equal(got["route"], env["route"], "route")
        equal(len(got.get("record", [])), len(env.get("record", [])) + 1, "record entries")
        check_record_entry(got["record"][-1], hop, t0, t1)
        equal(s.calls(), before + 1, "handler calls (the handler must not run)")

    @case("504: deadline passed, handler not called")
    def _():
        sdk_error("late", 504, deadline=now_ms() - 1000)

    @case("504: a deadline of 1 ms after the epoch")
    def _():
        sdk_error("late1", 504, deadline=1)

    @case("508: budget 0, handler not called")
    def _():
        sdk_error("loop", 508, budget=0)

    @case("504 wins over 508")
    def _():
        sdk_error("late-loop", 504, budget=0, deadline=now_ms() - 1000)

    @case("508: budget beyond the hops left + 8, handler not called")
    def _():
        sdk_error("greedy", 508, budget=2**32 - 1)

    @case("508: budget 73 on a 64-hop route")
    def _():
        route = [[NAME, s.inbox]] + [["h%d" % i, s.next_ep] for i in range(63)]
        sdk_error("greedy64", 508, route=route, budget=64 + 8 + 1)

    @case("budget of the hops left + 8 is taken")
    def _():
        env = s.envelope("edge", budget=2 + 8)
        raw, got, t0, t1 = s.exchange(pack(env), "next")
        check_forwarded(s, env, got, t0, t1)

    def loop_case(name, **kw):
        """A case whose envelope would circle: dropped, the handler not run."""
        @case("drop: %s, handler not called" % name)
        def _():
            before = s.calls()
            s.dropped(pack(s.envelope("loop", request=req("count"), **kw)))
            equal(s.calls(), before + 2, "handler calls (the probe and the count only)")

    loop_case("route done, nothing sent", route=[["a", "ipc:///nonexistent/a"]], index=1)
    loop_case("route done and reply_to its own inbox", route=[[NAME, s.inbox]], index=1,
              reply_to=s.inbox)
    loop_case("reply_to its own inbox", reply_to=s.inbox)

    @case("drop: next hop its own inbox, nothing sent to it")
    def _():
        s.dropped(pack(s.envelope("self-next", route=[[NAME, s.inbox], ["again", s.inbox]])))

    @case("503: next hop unreachable, names it, index advanced")
    def _():
        env = s.envelope("ghost", route=[[NAME, s.inbox],
                                         ["ghost", "ipc://%s/nobody" % s.tmp]])
        raw, got, t0, t1 = s.exchange(pack(env), "reply", timeout=6.0)
        check_problem(got, 503, "ghost")
        equal(got["index"], 1, "index")
        equal(got["budget"], 7, "budget")
        check_record_entry(got["record"][-1], NAME, t0, t1)

    @case("502: the trace record is full (64 entries)")
    def _():
        record = [["h%d" % i, 1795000000000000 + i, 1795000000000000 + i] for i in range(64)]
        env = s.envelope("full", record=record)
        raw, got, t0, t1 = s.exchange(pack(env), "reply")
        check_problem(got, 502, NAME)
        equal(got["record"], record, "record (full, unchanged)")

    # --- what must be dropped -----------------------------------------------------------

    def drop_case(name, why, make):
        """A case whose message must be dropped; why is the rule it breaks
        (the C SDK's error code for it)."""
        @case("drop: %s (%s)" % (name, why))
        def _():
            s.dropped(make())

    def mutate(**fields):
        def make():
            env = s.envelope("bad")
            env.update(fields)
            return pack(env)
        return make

    def without(key):
        def make():
            env = s.envelope("bad")
            del env[key]
            return pack(env)
        return make

    def unknown_value(raw):
        return lambda: with_unknown(s.envelope("bad"), top=[pack("x") + raw])

    drop_case("empty message", "ETRUNCATED", lambda: b"")
    drop_case("multipart message (two envelopes as two frames)", "multipart",
              lambda: [pack(s.envelope("mp1")), pack(s.envelope("mp2"))])
    drop_case("not a map (an array)", "ETYPE", lambda: pack([1, 2, 3]))
    drop_case("not a map (an int)", "ETYPE", lambda: b"\x07")
    drop_case("envelope without reply_to", "no reply-to", mutate(reply_to=""))
    drop_case("truncated", "ETRUNCATED", lambda: pack(s.envelope("bad"))[:-7])
    drop_case("trailing byte", "EMALFORMED", lambda: pack(s.envelope("bad")) + b"\xc0")
    drop_case("0xc1", "EMALFORMED", unknown_value(b"\xc1"))
    drop_case("ext type (fixext 1)", "EMALFORMED", unknown_value(b"\xd4\x01\x00"))
    drop_case("ext type (ext 8, empty)", "EMALFORMED", unknown_value(b"\xc7\x00\x05"))
    drop_case("hostile count: array32 of 3.7e9 in 7 bytes", "ECOUNT",
              lambda: b"\xdd\xdd\x01\x00\x00\x00\x02")
    drop_case("hostile count inside an envelope (array32)", "ECOUNT",
              unknown_value(b"\xdd\x7f\xff\xff\xff\x01\x02"))
    drop_case("hostile count inside an envelope (map32)", "ECOUNT",
              unknown_value(b"\xdf\x7f\xff\xff\xff\x01\x02"))
    drop_case("hostile length: str32 of 2 GiB", "ESTRLEN",
              unknown_value(b"\xdb\x7f\xff\xff\xff" + b"a"))
    drop_case("hostile length: bin32 body of 4 GiB", "EBINLEN",
              lambda: pack(s.envelope("bad")).replace(b"\xa4body\xc4\x00",
                                                      b"\xa4body\xc6\xff\xff\xff\xff"))
    drop_case("count beyond the bytes left (array16 of 100, 3 bytes)", "ETRUNCATED",
              unknown_value(b"\xdc\x00\x64\x01\x02\x03"))
    drop_case("nesting 17 deep", "EDEPTH", unknown_value(b"\x91" * 15 + b"\x90"))
    drop_case("1025 elements in one array", "ECOUNT",
              unknown_value(b"\xdc\x04\x01" + b"\x00" * 1025))
    drop_case("more than 16384 elements in the document", "ETOTAL",
              unknown_value(b"\xdc\x00\x11" + (b"\xdc\x03\xe8" + b"\x00" * 1000) * 17))
    drop_case("str over 64 KiB (request target)", "ESTRLEN",
              mutate(request={"method": "GET", "target": "/" + "a" * 65536, "headers": []}))
    drop_case("65 route entries", "EROUTE",
              mutate(route=[[NAME, "ipc:///x"]] * 65))
    drop_case("65 record entries", "EROUTE", mutate(record=[["h", 1, 2]] * 65))
    drop_case("index > len(route)", "EROUTE", mutate(index=3))
    drop_case("index is a str", "ETYPE", mutate(index="0"))
    drop_case("index is negative", "ETYPE", lambda: pack(s.envelope("bad")).replace(
        pack("index") + b"\x00", pack("index") + b"\xff"))
    drop_case("status 99", "ETYPE", mutate(message={"status": 99, "headers": [], "body": b""}))
    drop_case("status 1000", "ETYPE", mutate(message={"status": 1000, "headers": [], "body": b""}))
    drop_case("route entry of 3", "ETYPE",
              mutate(route=[[NAME, s.inbox, "x"], ["next", s.next_ep]]))
    drop_case("header value as bin", "ETYPE", mutate(request={"method": "GET", "target": "/",
                                                      "headers": [["a", b"b"]]}))
    drop_case("meta value an int", "ETYPE", mutate(meta={"k": 1}))
    drop_case("a key that is not a str", "ETYPE", lambda: with_unknown(s.envelope("bad"),
                                                              top=[b"\x01\x02"]))
    drop_case("request is an array", "ETYPE", mutate(request=["GET", "/"]))
    drop_case("duplicate key at the top (id)", "EDUPKEY",
              lambda: with_unknown(s.envelope("bad"), top=[pack("id") + pack("again")]))
    drop_case("duplicate key in message (status)", "EDUPKEY",
              lambda: with_unknown(s.envelope("bad"), message=[pack("status") + pack(200)]))
    drop_case("duplicate meta key", "EDUPKEY",
              lambda: pack(s.envelope("bad", meta={"k": b"1"})).replace(
                  pack("meta") + b"\x81", pack("meta") + b"\x82" + pack("k") + pack(b"1")))
    drop_case("missing budget", "EMISSING", without("budget"))
    drop_case("missing v", "EMISSING", without("v"))
    drop_case("v = 2", "EVERSION", mutate(v=2))
    drop_case("v = 0", "EVERSION", mutate(v=0))
    drop_case("error without code", "EMISSING", mutate(error={"text": "x", "hop": "y"}))

    @case("drop: 8 MiB + 1 byte message (ZMQ_MAXMSGSIZE), then serve again")
    def _():
        env = s.envelope("huge", message={"status": 200, "headers": [],
                                          "body": b"\0" * (8 * 1024 * 1024)})
        s.send(pack(env))
        time.sleep(0.3)  # the inbox closes that connection; our PUSH reconnects
        s.probe()

    @case("limits: nesting 16 deep and 1024 elements are accepted, kept byte for byte")
    def _():
        deep = pack("x-deep") + b"\x91" * 14 + b"\x90"
        wide = pack("x-wide") + b"\xdc\x04\x00" + b"\x00" * 1024
        raw, got, t0, t1 = s.exchange(with_unknown(s.envelope("limits"), top=[deep, wide]),
                                      "next")
        check(deep in raw and wide in raw, "unknown values not written back unchanged")

    # --- the golden vectors ---------------------------------------------------------------

    def vector(name):
        with open(os.path.join(VECTORS, name + ".hex")) as f:
            data = bytes.fromhex(f.read())
        with open(os.path.join(VECTORS, name + ".json")) as f:
            return data, json.load(f)

    for name in ("hostile_count", "version_2", "duplicate_key", "route_keys_mismatch"):
        def make(name=name):
            data, meaning = vector(name)
            check("error" in meaning, "the vector names an error")
            return data
        drop_case("golden vector %s" % name, vector(name)[1]["error"][len("BATON_"):], make)

    @case("golden vectors: minimal and unknown_keys as they are, then serve again")
    def _():
        for name in ("minimal", "unknown_keys"):
            data, meaning = vector(name)
            s.send(data)  # reply_to inproc://gw: the answer goes nowhere
        s.probe()

    def rewrite(name, **fields):
        data, meaning = vector(name)
        env = unpack(data)
        check(pack(env) == data, "the suite's encoder gives the vector's bytes back")
        env.update(fields)
        return env

    # secure_chain: its reply_key and route_keys are kept in their places.
    for name in ("chain_in_flight", "secure_chain"):
        @case("golden vector %s: hop 1 forwards to hop 2, canonical bytes" % name)
        def _(name=name):
            env = rewrite(name, reply_to=s.reply_ep, deadline=now_ms() + 10000)
            env["route"][1][1] = s.inbox
            env["route"][2][1] = s.next_ep
            raw, got, t0, t1 = s.exchange(pack(env), "next")
            check_forwarded(s, env, got, t0, t1, name="enrich")
            equal(raw, pack(expected_forward(env, got["record"][-1])), "bytes")

    @case("golden vector failed_hop: the error is kept through the last hop")
    def _():
        env = rewrite("failed_hop", reply_to=s.reply_ep, deadline=now_ms() + 10000)
        env["route"][0][1] = s.inbox
        raw, got, t0, t1 = s.exchange(pack(env), "reply")
        equal(raw, pack(expected_forward(env, got["record"][-1])), "bytes")

    @case("golden vector unknown_keys: through its one hop, unknown keys kept")
    def _():
        env = rewrite("unknown_keys", reply_to=s.reply_ep, route=[[NAME, s.inbox]])
        raw, got, t0, t1 = s.exchange(pack(env), "reply")
        check_forwarded(s, env, got, t0, t1)
        equal(got["message"].get("x-cache"), True, "message.x-cache")
        equal(got.get("x-prio"), 5, "x-prio")
        check(raw.endswith(pack("x-prio") + b"\x05"), "x-prio last")

    # --- shutdown ---------------------------------------------------------------------------

    @case("sigterm")
    def _():
        instance = s.announce["instance"]
        slow = s.envelope("slow", request=req("sleep", [["x-sleep-ms", "600"]]))
        queued = [s.envelope("queued") for _ in range(3)]
        s.send(pack(slow))
        for env in queued:
            s.send(pack(env))
        time.sleep(0.2)  # the slow one is in the handler now
        os.kill(s.proc.pid, signal.SIGTERM)
        try:
            code = s.proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            raise Failed("still running 5 s after SIGTERM") from None
        ids = []
        while True:
            data = s.recv(s.next_sock, 0.3)
            if data is None:
                break
            ids.append(unpack(data)["id"])
        check(slow["id"] in ids, "the envelope in hand was not finished and forwarded")
        equal(code, 0, "exit status")
        goodbye = None
        while True:
            m = s.control_msg(0.5)
            if m is None:
                break
            if m.get("type") == "goodbye":
                goodbye = m
        check(goodbye is not None, "no goodbye")
        equal(goodbye.get("instance"), instance, "goodbye instance")
        drained = sum(1 for e in queued if e["id"] in ids)
        print("      (%d of %d envelopes queued behind it were answered before exit)"
              % (drained, len(queued)), flush=True)

    return out


def main():
    ap = argparse.ArgumentParser(description="Baton SDK conformance suite")
    ap.add_argument("--fn", required=True,
                    help="/bin/sh command that runs the conformance function; write exec "
                         "before the program so that the suite's signals reach it")
    ap.add_argument("--only", default="", help="run only the cases whose name contains this")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    s = Suite(args.fn, args.keep)
    try:
        s.start()
        for name, fn in cases(s):
            if args.only in name:
                s.run_case(name, fn)
    finally:
        s.close()
    print("%d passed, %d failed" % (s.passed, s.failed))
    return 1 if s.failed else 0


if __name__ == "__main__":
    sys.exit(main())
