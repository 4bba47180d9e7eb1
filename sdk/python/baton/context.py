"""context.py - what a handler sees of its envelope: the request as the edge
received it, the message that flows and becomes the response, meta, its place
in the route, and the three ways to end a hop (next, reply, fail)."""

import time
from collections.abc import MutableMapping

from . import problem


class StateError(RuntimeError):
    """A second ending of the same hop; the first one stands."""


# How a handler ended its hop.
NONE, NEXT, REPLY, FAIL = range(4)


def _b(value):
    """str (UTF-8) or bytes-like as bytes."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    return bytes(value)


def _s(raw):
    """Bytes from the wire as str; bytes that are not UTF-8 survive a round
    trip (surrogateescape)."""
    return raw.decode("utf-8", "surrogateescape")


def _find(pairs, name):
    want = _b(name).lower()
    for n, v in pairs:
        if n.lower() == want:
            return _s(v)
    return None


class Meta(MutableMapping):
    """The envelope's meta: str keys to bytes values, shared by every hop of
    one request. Setting a str value stores its UTF-8 bytes."""

    __slots__ = ("_d",)

    def __init__(self, d):
        self._d = d

    def __getitem__(self, key):
        return self._d[_b(key)]

    def __setitem__(self, key, value):
        k = _b(key)
        if not k:
            raise ValueError("meta keys are not empty")
        self._d[k] = _b(value)

    def __delitem__(self, key):
        del self._d[_b(key)]

    def __iter__(self):
        return (_s(k) for k in self._d)

    def __len__(self):
        return len(self._d)


class Context:
    """One hop of one request, handed to the handler. Strings are str, bodies
    and meta values bytes. Leave the route, index, budget and record alone:
    the SDK owns them."""

    __slots__ = ("envelope", "hop_name_raw", "t_in_us", "ending")

    def __init__(self, env, hop_name, t_in_us):
        self.envelope = env
        self.hop_name_raw = hop_name
        self.t_in_us = t_in_us
        self.ending = NONE

    # --- the request, as received at the edge ---------------------------------

    @property
    def method(self):
        return _s(self.envelope.method)

    @property
    def target(self):
        """The request target as sent: "/users/7?full=1"."""
        return _s(self.envelope.target)

    def _split(self):
        t = self.target
        if t and t[0] != "/":  # absolute-form: skip scheme and authority
            at = t.find("://")
            if at >= 0:
                rest = t[at + 3:]
                cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0),
                          default=len(rest))
                t = rest[cut:]
        path, sep, query = t.partition("?")
        return path, query

    @property
    def path(self):
        """The target's path: "/users/7"."""
        return self._split()[0]

    @property
    def query(self):
        """The target's query without the "?" ("full=1"), or ""."""
        return self._split()[1]

    def request_header(self, name):
        """The first request header of that name (ASCII case-insensitive),
        or None."""
        return _find(self.envelope.request_headers, name)

    @property
    def request_headers(self):
        """Every request header as (name, value), in order, duplicates kept."""
        return [(_s(n), _s(v)) for n, v in self.envelope.request_headers]

    # --- the message that flows and becomes the response ----------------------

    @property
    def status(self):
        return self.envelope.status

    @status.setter
    def status(self, status):
        if not 100 <= status <= 999:
            raise ValueError("status outside 100..999")
        self.envelope.status = status

    @property
    def body(self):
        """The message body (bytes). At the first hop it is the request body.
        Set it to bytes or a str (sent as UTF-8)."""
        return self.envelope.body

    @body.setter
    def body(self, value):
        self.envelope.body = _b(value)

    @property
    def headers(self):
        """The message headers as (name, value), in order."""
        return [(_s(n), _s(v)) for n, v in self.envelope.headers]

    def header(self, name):
        """The first message header of that name (case-insensitive), or None."""
        return _find(self.envelope.headers, name)

    def set_header(self, name, value):
        """Replaces every header of that name (case-insensitive) with one."""
        self.remove_header(name)
        self.add_header(name, value)

    def add_header(self, name, value):
        """Appends a header: duplicates allowed, order kept."""
        n = _b(name)
        if not n:
            raise ValueError("header names are not empty")
        self.envelope.headers.append([n, _b(value)])

    def remove_header(self, name):
        """Removes every header of that name; returns how many."""
        want = _b(name).lower()
        before = self.envelope.headers
        self.envelope.headers = [h for h in before if h[0].lower() != want]
        return len(before) - len(self.envelope.headers)

    # --- meta, and where this hop stands --------------------------------------

    @property
    def meta(self):
        return Meta(self.envelope.meta)

    @property
    def id(self):
        """The request id (the gateway echoes it as X-Request-Id)."""
        return _s(self.envelope.id)

    @property
    def traceparent(self):
        return _s(self.envelope.traceparent)

    @property
    def version(self):
        """The version every hop of this request runs, as the gateway chose
        it (a route's version: or split:); "" if none."""
        return _s(self.envelope.pin)

    @property
    def record(self):
        """The hops so far as (name, t_in_us, t_out_us)."""
        return [(_s(n), t_in, t_out) for n, t_in, t_out in self.envelope.record]

    def deadline_left_ms(self):
        """Milliseconds left before the deadline (<= 0 once passed), or None
        if the request has none."""
        deadline = self.envelope.deadline
        return None if deadline == 0 else deadline - time.time_ns() // 1000000

    @property
    def hop_name(self):
        return _s(self.hop_name_raw)

    @property
    def hop_index(self):
        return self.envelope.index

    @property
    def hop_count(self):
        return len(self.envelope.route)

    def branch(self, name):
        """Sends the request on through the branch called name after this hop
        (a route's {branch: {...}}): its hops are added to the route, and the
        hops after this one check that it is one the gateway sealed. Only the
        last hop before the branches may, once, before the hop ends. Raises
        KeyError if the route has no such branch, StateError otherwise."""
        env, raw = self.envelope, _b(name)
        hops = next((h for n, h in env.branches if n == raw), None)
        if hops is None:
            raise KeyError(name)
        if self.ending != NONE or env.taken or env.index + 1 != len(env.route):
            raise StateError("only the hop before the branches takes one, once")
        env.route += [hop[:2] for hop in hops]
        if env.route_keys is not None:
            env.route_keys += [hop[2] for hop in hops if len(hop) == 3]
        env.taken = raw

    # --- endings: one per hop, applied when the handler returns ---------------

    def _end(self, ending):
        if self.ending != NONE:
            raise StateError("this hop was already ended")
        self.ending = ending

    def next(self):
        """Forwards the message to the next hop (or, after the last one, to
        reply-to as the response). Returning without an ending means next."""
        self._end(NEXT)

    def reply(self, status=0):
        """Replies now with the message as it is, skipping the rest of the
        route. status 0 keeps the message status; otherwise 100..999."""
        if status and not 100 <= status <= 999:
            raise ValueError("status outside 100..999")
        self._end(REPLY)
        if status:
            self.envelope.status = status

    def fail(self, status=0, reason=""):
        """Fails the request: status (400..599; 0 means 502), a problem+json
        body naming this hop and reason, the envelope's error set; the
        envelope goes to reply-to."""
        status = status or 502
        if not 400 <= status <= 599:
            raise ValueError("status outside 400..599")
        self._end(FAIL)
        problem.apply(self.envelope, status, _b(reason), self.hop_name_raw)
