"""control.py - a worker's control channel (docs/wire-format.md, "Control
messages"): announce, heartbeat every interval, goodbye (at a drain or
close), to every gateway
control endpoint it was given, as a CURVE client of the gateway's key when the
worker has a certificate. Encoded like runtime/control.c; sends never block (a
gateway that is away gets a small queue, then the next beats)."""

import os
import socket

import zmq

from . import security
from .wire import _str

ANNOUNCE, HEARTBEAT, GOODBYE = b"announce", b"heartbeat", b"goodbye"


def _field(value, cap):
    """value as bytes, cut to cap bytes like the C SDK's fixed fields."""
    return value.encode("utf-8", "surrogateescape")[:cap]


def _u64(v):
    return b"\xcf" + v.to_bytes(8, "big")


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
                 trust=None, insecure=False):
        entries = parse_gateways(gateways)
        self.gateways = [ep for _, ep in entries]
        self.interval_ms = interval_ms
        self.next_beat_ms = 0
        self.announced = False
        host = socket.gethostname()
        self._who = [_field(name, 64), _field(endpoint, 256), os.urandom(8).hex().encode(),
                     _field(version or "", 64), _field(host, 255)]
        self.socks = []
        try:
            for gw, ep in entries:
                s = zctx.socket(zmq.PUSH)
                self.socks.append(s)
                # Not IMMEDIATE: the announce waits in a small queue for the
                # connection instead of being lost to it.
                s.setsockopt(zmq.SNDHWM, 16)
                s.setsockopt(zmq.LINGER, 200)
                _secure(s, gw, ep, cert, trust, insecure)
                s.connect(ep)
        except (security.SecurityError, zmq.ZMQError):
            self.close()
            raise

    def encode(self, kind):
        function, endpoint, instance, version, host = self._who
        return b"".join((b"\x89", _str(b"v"), _u64(1), _str(b"type"), _str(kind),
                         _str(b"function"), _str(function), _str(b"endpoint"), _str(endpoint),
                         _str(b"instance"), _str(instance), _str(b"version"), _str(version),
                         _str(b"host"), _str(host), _str(b"pid"), _u64(os.getpid()),
                         _str(b"interval"), _u64(self.interval_ms)))

    def _send(self, kind):
        msg = self.encode(kind)
        for s in self.socks:
            try:
                s.send(msg, zmq.NOBLOCK)
            except zmq.Again:
                pass

    def beat(self, now_ms):
        """Announces, or heartbeats if an interval has passed since the last
        message (a clock stepped back by more than an interval beats now)."""
        if not self.socks:
            return
        if (self.announced and now_ms < self.next_beat_ms
                and self.next_beat_ms - now_ms <= self.interval_ms):
            return
        self._send(HEARTBEAT if self.announced else ANNOUNCE)
        self.announced = True
        self.next_beat_ms = now_ms + self.interval_ms

    def goodbye(self):
        """Says goodbye if it announced and has not said it since: the next
        beat() announces again."""
        if self.announced:
            self._send(GOODBYE)
            self.announced = False

    def close(self):
        """Says goodbye (if not yet said) and closes the sockets."""
        self.goodbye()
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
