"""control.py - a worker's control channel (docs/wire-format.md, "Control
messages"): announce, heartbeat every interval, goodbye, to every gateway
control endpoint it was given. Encoded like runtime/control.c; sends never
block (a gateway that is away gets a small queue, then the next beats)."""

import os
import socket

import zmq

from .wire import _str

ANNOUNCE, HEARTBEAT, GOODBYE = b"announce", b"heartbeat", b"goodbye"


def _field(value, cap):
    """value as bytes, cut to cap bytes like the C SDK's fixed fields."""
    return value.encode("utf-8", "surrogateescape")[:cap]


def _u64(v):
    return b"\xcf" + v.to_bytes(8, "big")


class Announcer:
    """The control sockets of one worker and who it says it is."""

    def __init__(self, zctx, gateways, name, endpoint, version, interval_ms):
        self.gateways = [g.strip(" \t") for g in (gateways or "").split(",")]
        self.gateways = [g for g in self.gateways if g]
        self.interval_ms = interval_ms
        self.next_beat_ms = 0
        self.announced = False
        host = socket.gethostname()
        self._who = [_field(name, 64), _field(endpoint, 256), os.urandom(8).hex().encode(),
                     _field(version or "", 64), _field(host, 255)]
        self.socks = []
        for g in self.gateways:
            s = zctx.socket(zmq.PUSH)
            self.socks.append(s)
            # Not IMMEDIATE: the announce waits in a small queue for the
            # connection instead of being lost to it.
            s.setsockopt(zmq.SNDHWM, 16)
            s.setsockopt(zmq.LINGER, 200)
            s.connect(g)

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

    def close(self):
        """Says goodbye (if it announced) and closes the sockets."""
        if self.announced:
            self._send(GOODBYE)
        for s in self.socks:
            s.close()
        self.socks = []
