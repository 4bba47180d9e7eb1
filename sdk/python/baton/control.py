"""control.py - a worker's control channel (docs/wire-format.md, "Control
messages"): announce, heartbeat every interval, goodbye (at a drain or
close), to every gateway
control endpoint it was given, as a CURVE client of the gateway's key when the
worker has a certificate. Encoded like runtime/control.c. Heartbeats come from
a thread of the announcer's, so a handler that blocks does not get its replica
declared dead; the sockets are used under one lock. Sends never block (a
gateway that is away gets a small queue, then the next beats)."""

import os
import socket
import threading
import time

import zmq

from . import security
from .wire import _str

ANNOUNCE, HEARTBEAT, GOODBYE = b"announce", b"heartbeat", b"goodbye"


def _field(value, cap):
    """value as bytes, cut to cap bytes like the C SDK's fixed fields."""
    return value.encode("utf-8", "surrogateescape")[:cap]


def _u64(v):
    return b"\xcf" + v.to_bytes(8, "big")


def watch(sock):
    """Makes a PUSH socket notice a peer whose host went away (a cut link
    resets nothing), as the C SDK does (sdk/sockcache.h): ZMTP heartbeats
    drop a connection silent for a second, and a connect that does not
    complete in 500 ms is tried afresh. Before connect."""
    sock.setsockopt(zmq.HEARTBEAT_IVL, 250)
    sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, 1000)
    sock.setsockopt(zmq.CONNECT_TIMEOUT, 500)


def parse_gateways(text):
    """[(name or None, endpoint)] of "a, NAME@b,,c": trimmed, non-empty
    entries; a name is what comes before an '@' that precedes "://"."""
    out = []
    for g in (text or "").split(","):
        g = g.strip(" \t")
        if not g:
            continue
        at, scheme = g.find("@"), g.find("://")
        if at >= 0 and (scheme < 0 or at < scheme):
            out.append((g[:at], g[at + 1:]))
        else:
            out.append((None, g))
    return out


class Announcer:
    """The control sockets of one worker and who it says it is. cert and
    trust (both or neither) make each socket a CURVE client of its gateway's
    key; in plaintext an endpoint off this host needs insecure. Raises
    security.SecurityError when an entry is refused, zmq.ZMQError when a
    connect fails (having closed the sockets it made)."""

    def __init__(self, zctx, gateways, name, endpoint, version, interval_ms, cert=None,
                 trust=None, insecure=False, zone=None):
        entries = parse_gateways(gateways)
        self.gateways = [ep for _, ep in entries]
        self.interval_ms = interval_ms
        self.announced = False
        self._lock = threading.Condition()
        self._quit = False
        self._thread = None
        host = socket.gethostname()
        self._who = [_field(name, 64), _field(endpoint, 256), os.urandom(8).hex().encode(),
                     _field(version or "", 64), _field(host, 255), _field(zone or "", 64)]
        self.socks = []
        try:
            for gw, ep in entries:
                s = zctx.socket(zmq.PUSH)
                self.socks.append(s)
                # Not IMMEDIATE: the announce waits in a small queue for the
                # connection instead of being lost to it.
                s.setsockopt(zmq.SNDHWM, 16)
                s.setsockopt(zmq.LINGER, 200)
                watch(s)
                _secure(s, gw, ep, cert, trust, insecure)
                s.connect(ep)
        except (security.SecurityError, zmq.ZMQError):
            self.close()
            raise

    def encode(self, kind):
        function, endpoint, instance, version, host, zone = self._who
        # zone only when set, as runtime/control.c writes it.
        return b"".join((b"\x8a" if zone else b"\x89", _str(b"v"), _u64(1), _str(b"type"),
                         _str(kind), _str(b"function"), _str(function), _str(b"endpoint"),
                         _str(endpoint), _str(b"instance"), _str(instance), _str(b"version"),
                         _str(version), _str(b"host"), _str(host),
                         _str(b"zone") + _str(zone) if zone else b"", _str(b"pid"),
                         _u64(os.getpid()), _str(b"interval"), _u64(self.interval_ms)))

    def _send(self, kind):
        """Called with the lock held."""
        msg = self.encode(kind)
        for s in self.socks:
            try:
                s.send(msg, zmq.NOBLOCK)
            except zmq.Again:
                pass

    def _beat(self):
        """The heartbeat thread: while announced, a heartbeat every interval;
        it sleeps otherwise, and ends at close()."""
        interval = self.interval_ms / 1000.0
        with self._lock:
            due = time.monotonic() + interval
            while not self._quit:
                if not self.announced:
                    self._lock.wait()
                    due = time.monotonic() + interval
                    continue
                now = time.monotonic()
                if now >= due:
                    self._send(HEARTBEAT)
                    # On cadence; a thread that woke late makes up in no burst.
                    due += interval
                    if due <= now:
                        due = now + interval
                self._lock.wait(due - time.monotonic())

    def start(self):
        """Announces and starts the heartbeats (from the thread, every
        interval until goodbye()), unless they run already. Cheap then."""
        if self.announced or not self.socks:
            return
        with self._lock:
            if self.announced:
                return
            self._send(ANNOUNCE)
            self.announced = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._beat, name="baton-heartbeat",
                                                daemon=True)
                self._thread.start()
            self._lock.notify()

    def goodbye(self):
        """Says goodbye if it announced and has not said it since; no
        heartbeat follows it. The next start() announces again."""
        with self._lock:
            if self.announced:
                self._send(GOODBYE)
                self.announced = False

    def close(self):
        """Says goodbye (if not yet said), stops the heartbeat thread and
        closes the sockets."""
        self.goodbye()
        with self._lock:
            self._quit = True
            self._lock.notify()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        for s in self.socks:
            s.close()
        self.socks = []


def _secure(sock, name, endpoint, cert, trust, insecure):
    """Makes sock a CURVE client of the gateway name's key (None: the store's
    only gateway key), or checks that plaintext may reach endpoint."""
    if name is not None and not security.name_valid(name.encode("utf-8", "surrogateescape")):
        raise security.SecurityError("gateway name before '@' in BATON_GATEWAY is not a "
                                     "certificate name: %s" % endpoint)
    if cert is None:
        if insecure or security.endpoint_local(endpoint):
            return
        raise security.SecurityError(
            "plaintext control endpoint not on loopback, ipc or inproc: set BATON_CERT and "
            "BATON_TRUST for CURVE, or BATON_SECURITY=insecure (gateway %s)" % endpoint)
    try:
        key = trust.gateway_key(None if name is None else name.encode())
    except security.SecurityError as e:
        raise security.SecurityError("no server key for the gateway control endpoint %s: %s"
                                     % (endpoint, e)) from None
    security.curve_client(sock, cert, key)
