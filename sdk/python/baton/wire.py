"""wire.py - the Baton envelope (docs/wire-format.md): a bounded, validating
reader of hostile bytes and a writer of Baton's canonical form. Same rules and
error codes as runtime/msgpack_rd.c and runtime/envelope_*.c; unknown keys are
kept as their raw bytes and written back unchanged."""

from dataclasses import dataclass

VERSION = 1
KEY_LEN = 32  # bytes of a CURVE public key (reply_key, route_keys)
OAM_PROBE = 1  # oam bit 0: the envelope is a probe (docs/wire-format.md, "Probes")


class EnvelopeError(ValueError):
    """Bytes that are not a valid envelope. `code` is the name of the C
    SDK's error code for the same rule, e.g. "BATON_ECOUNT"."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


TOOBIG = "BATON_ETOOBIG"
TRUNCATED = "BATON_ETRUNCATED"
MALFORMED = "BATON_EMALFORMED"
DEPTH = "BATON_EDEPTH"
COUNT = "BATON_ECOUNT"
STRLEN = "BATON_ESTRLEN"
BINLEN = "BATON_EBINLEN"
TYPE = "BATON_ETYPE"
MISSING = "BATON_EMISSING"
DUPKEY = "BATON_EDUPKEY"
BADVERSION = "BATON_EVERSION"
ROUTE = "BATON_EROUTE"
TOTAL = "BATON_ETOTAL"

MAX_DEPTH_CEILING = 64


@dataclass(frozen=True)
class Limits:
    """What the reader accepts; checked before anything is built."""

    max_size: int = 8 * 1024 * 1024  # whole document, bytes
    max_depth: int = 16  # nesting of maps and arrays; the document is level 1
    max_items: int = 1024  # elements of one array, pairs of one map
    max_total: int = 16384  # elements and pairs in the whole document
    max_str: int = 64 * 1024  # one str, bytes
    max_bin: int = 8 * 1024 * 1024  # one bin, bytes
    max_hops: int = 64  # entries of route and of record


DEFAULT_LIMITS = Limits()

# What a tag declares.
_SCALAR, _STR, _BIN, _ARRAY, _MAP = range(5)

# Tags past the fix* ranges: kind, bytes of a scalar (or 1), bytes of the length.
_TAGS = {
    0xCC: (_SCALAR, 2, 0), 0xD0: (_SCALAR, 2, 0),
    0xCD: (_SCALAR, 3, 0), 0xD1: (_SCALAR, 3, 0),
    0xCA: (_SCALAR, 5, 0), 0xCE: (_SCALAR, 5, 0), 0xD2: (_SCALAR, 5, 0),
    0xCB: (_SCALAR, 9, 0), 0xCF: (_SCALAR, 9, 0), 0xD3: (_SCALAR, 9, 0),
    0xD9: (_STR, 1, 1), 0xDA: (_STR, 1, 2), 0xDB: (_STR, 1, 4),
    0xC4: (_BIN, 1, 1), 0xC5: (_BIN, 1, 2), 0xC6: (_BIN, 1, 4),
    0xDC: (_ARRAY, 1, 2), 0xDD: (_ARRAY, 1, 4),
    0xDE: (_MAP, 1, 2), 0xDF: (_MAP, 1, 4),
}

_UINT_BYTES = {0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8}


class _Reader:
    """One bounded pass over data. Every count and length is checked against
    the limits and against the bytes that remain before it is used."""

    __slots__ = ("data", "p", "end", "lim", "total")

    def __init__(self, data, lim):
        self.data = data
        self.p = 0
        self.end = len(data)
        self.lim = lim
        self.total = 0

    def _tag(self):
        """(kind, head, length) of the value at p; head is the tag's bytes
        (a scalar's whole size), length a payload size or element count."""
        p, data = self.p, self.data
        if p >= self.end:
            raise EnvelopeError(TRUNCATED)
        b = data[p]
        if b <= 0x7F or b >= 0xE0 or b == 0xC0 or b == 0xC2 or b == 0xC3:
            return _SCALAR, 1, 0
        if b <= 0x8F:
            return _MAP, 1, b & 0x0F
        if b <= 0x9F:
            return _ARRAY, 1, b & 0x0F
        if b <= 0xBF:
            return _STR, 1, b & 0x1F
        t = _TAGS.get(b)
        if t is None:  # ext types (0xc7-0xc9, 0xd4-0xd8) and 0xc1
            raise EnvelopeError(MALFORMED)
        kind, head, lenbytes = t
        if self.end - p < head + lenbytes:
            raise EnvelopeError(TRUNCATED)
        if lenbytes:
            return kind, 1 + lenbytes, int.from_bytes(data[p + 1:p + 1 + lenbytes], "big")
        return kind, head, 0

    def _container(self, kind, head, length, depth):
        lim = self.lim
        if length > lim.max_items:
            raise EnvelopeError(COUNT)
        # Every value takes at least one byte: more than remain is a lie.
        if (length * 2 if kind == _MAP else length) > self.end - self.p - head:
            raise EnvelopeError(TRUNCATED)
        self.total += length
        if self.total > lim.max_total:
            raise EnvelopeError(TOTAL)
        if depth > lim.max_depth:
            raise EnvelopeError(DEPTH)

    def _blob(self, kind, head, length):
        if kind == _STR and length > self.lim.max_str:
            raise EnvelopeError(STRLEN)
        if kind == _BIN and length > self.lim.max_bin:
            raise EnvelopeError(BINLEN)
        if length > self.end - self.p - head:
            raise EnvelopeError(TRUNCATED)

    def read_container(self, want, depth):
        kind, head, length = self._tag()
        if kind == _ARRAY or kind == _MAP:
            self._container(kind, head, length, depth)
        if kind != want:
            raise EnvelopeError(TYPE)
        self.p += head
        return length

    def read_str(self):
        p = self.p
        if p < self.end and self.data[p] & 0xE0 == 0xA0:  # fixstr
            n = self.data[p] & 0x1F
            if n > self.end - p - 1:
                raise EnvelopeError(TRUNCATED)
            if n > self.lim.max_str:
                raise EnvelopeError(STRLEN)
            self.p = p + 1 + n
            return self.data[p + 1:p + 1 + n]
        return self._read_blob(False)

    def read_bytes(self):
        """A bin, or a str where bin is listed."""
        return self._read_blob(True)

    def _read_blob(self, allow_bin):
        kind, head, length = self._tag()
        if kind != _STR and not (allow_bin and kind == _BIN):
            raise EnvelopeError(TYPE)
        self._blob(kind, head, length)
        start = self.p + head
        self.p = start + length
        return self.data[start:start + length]

    def read_uint(self):
        p = self.p
        if p >= self.end:
            raise EnvelopeError(TRUNCATED)
        b = self.data[p]
        if b <= 0x7F:
            self.p = p + 1
            return b
        n = _UINT_BYTES.get(b)
        if n is None:
            raise EnvelopeError(TYPE)
        if self.end - p < 1 + n:
            raise EnvelopeError(TRUNCATED)
        self.p = p + 1 + n
        return int.from_bytes(self.data[p + 1:p + 1 + n], "big")

    def skip(self, depth):
        """Skips one value whose container is at level depth, without
        recursion: left[i] counts the values still to read at level i."""
        left = [1]
        while True:
            while len(left) > 1 and left[-1] == 0:
                left.pop()
            if left[-1] == 0:
                return
            left[-1] -= 1
            kind, head, length = self._tag()
            if kind == _STR or kind == _BIN:
                self._blob(kind, head, length)
                self.p += head + length
            elif kind == _ARRAY or kind == _MAP:
                self._container(kind, head, length, depth + len(left))
                self.p += head
                left.append(length * 2 if kind == _MAP else length)
            else:
                self.p += head


def validate(data, limits=DEFAULT_LIMITS):
    """Raises EnvelopeError unless data is one well-formed msgpack document
    within limits."""
    if len(data) > limits.max_size:
        raise EnvelopeError(TOOBIG)
    rd = _Reader(data, limits)
    rd.skip(0)
    if rd.p != rd.end:
        raise EnvelopeError(MALFORMED)


class Envelope:
    """One decoded envelope. Strings are bytes as they came (a str may hold
    any bytes); headers and route entries are [name, value] lists; meta is a
    dict of bytes to bytes; error is None or [code, text, hop]; unknown keeps
    the raw key+value bytes of each section ("top", "request", "message",
    "error") in the order read."""

    __slots__ = ("version", "id", "reply_to", "reply_key", "route", "route_keys", "branches",
                 "taken", "seal", "index", "budget", "deadline", "oam",
                 "traceparent", "pin", "record", "meta", "method", "target", "request_headers",
                 "request_body", "status", "headers", "body", "error", "unknown")

    def __init__(self):
        self.version = VERSION
        self.id = b""
        self.reply_to = b""
        self.reply_key = b""  # CURVE key of the gateway at reply_to (32 bytes), or b""
        self.route = []
        self.route_keys = None  # CURVE key of each replica, parallel to route, or None
        # [name, hops] per branch, hops as route entries with the CURVE key third
        # when route_keys is set; the branch taken (b"" if none); the seal (32 bytes, or b"")
        self.branches = []
        self.taken = b""
        self.seal = b""
        self.index = 0
        self.budget = 0
        self.deadline = 0
        self.oam = 0  # OAM flags (OAM_PROBE); other bits passed on unchanged
        self.traceparent = b""
        self.pin = b""  # key "version": the version every hop runs, or b""
        self.record = []  # [name, t_in_us, t_out_us]
        self.meta = {}
        self.method = b""
        self.target = b""
        self.request_headers = []
        self.request_body = b""
        self.status = 200
        self.headers = []
        self.body = b""
        self.error = None
        self.unknown = {"top": [], "request": [], "message": [], "error": []}

    def route_done(self):
        return self.index >= len(self.route)


def _read_pairs(rd, max_pairs, depth):
    n = rd.read_container(_ARRAY, depth)
    if n > max_pairs:
        raise EnvelopeError(ROUTE)
    pairs = []
    for _ in range(n):
        if rd.read_container(_ARRAY, depth + 1) != 2:
            raise EnvelopeError(TYPE)
        pairs.append([rd.read_str(), rd.read_str()])
    return pairs


def _open_hops(rd, depth):
    """Opens an array of entries that may be as many as a route's hops: at
    most max_hops, else ROUTE. Returns its length."""
    n = rd.read_container(_ARRAY, depth)
    if n > rd.lim.max_hops:
        raise EnvelopeError(ROUTE)
    return n


def _read_record(rd):
    n = _open_hops(rd, 2)
    record = []
    for _ in range(n):
        if rd.read_container(_ARRAY, 3) != 3:
            raise EnvelopeError(TYPE)
        record.append([rd.read_str(), rd.read_uint(), rd.read_uint()])
    return record


def _read_exact(rd, n):
    """bin (or str) of exactly n bytes: a key, a seal."""
    value = rd.read_bytes()
    if len(value) != n:
        raise EnvelopeError(TYPE)
    return value


def _read_key(rd):
    return _read_exact(rd, KEY_LEN)


def _read_route_keys(rd):
    n = _open_hops(rd, 2)
    return [_read_key(rd) for _ in range(n)]


MAX_BRANCHES = 8  # branches an envelope may carry (BATON_ENVELOPE_MAX_BRANCHES)
SEAL_LEN = 32  # bytes of a route's seal (BATON_SEAL_LEN)


def _read_branch_hops(rd):
    n = _open_hops(rd, 3)
    hops = []
    for _ in range(n):
        items = rd.read_container(_ARRAY, 4)
        if items not in (2, 3):
            raise EnvelopeError(TYPE)
        hop = [rd.read_str(), rd.read_str()]
        if items == 3:
            hop.append(_read_key(rd))
        hops.append(hop)
    if len({len(hop) for hop in hops}) > 1:
        raise EnvelopeError(TYPE)  # keys in every entry or in none
    return hops


def _read_branches(rd):
    n = rd.read_container(_MAP, 2)
    if n > MAX_BRANCHES:
        raise EnvelopeError(ROUTE)
    branches = []
    for _ in range(n):
        name = rd.read_str()
        if not name:
            raise EnvelopeError(TYPE)
        if any(name == other for other, _ in branches):
            raise EnvelopeError(DUPKEY)
        branches.append([name, _read_branch_hops(rd)])
    return branches


def _read_meta(rd):
    meta = {}
    for _ in range(rd.read_container(_MAP, 2)):
        k = rd.read_str()
        v = rd.read_bytes()
        if k in meta:
            raise EnvelopeError(DUPKEY)
        meta[k] = v
    return meta


def _read_map(rd, env, section, depth, readers):
    """Reads one map of the envelope: each known key at most once, through
    its reader; unknown keys kept raw. Returns the known keys seen."""
    seen = set()
    for _ in range(rd.read_container(_MAP, depth)):
        start = rd.p
        k = rd.read_str()
        read = readers.get(k)
        if read is None:
            rd.skip(depth)
            env.unknown[section].append(rd.data[start:rd.p])
            continue
        if k in seen:
            raise EnvelopeError(DUPKEY)
        seen.add(k)
        read(rd, env)
    return seen


MAX_VERSION_PIN = 64  # bytes in the version a request pins (BATON_ENVELOPE_MAX_VERSION)


def _read_pin(rd):
    """The version a request pins: bounded, no control byte (as the C SDK)."""
    pin = rd.read_str()
    if len(pin) > MAX_VERSION_PIN:
        raise EnvelopeError(STRLEN)
    if any(b < 0x20 or b == 0x7F for b in pin):
        raise EnvelopeError(MALFORMED)
    return pin


def _set(attr, read):
    return lambda rd, env: setattr(env, attr, read(rd))


def _set_error(i, read):
    def set_field(rd, env):
        env.error[i] = read(rd)
    return set_field


def _read_version(rd, env):
    env.version = rd.read_uint()
    if env.version != VERSION:
        raise EnvelopeError(BADVERSION)


def _read_status(rd, env):
    env.status = rd.read_uint()
    if not 100 <= env.status <= 999:
        raise EnvelopeError(TYPE)


_REQUEST = {
    b"method": _set("method", _Reader.read_str),
    b"target": _set("target", _Reader.read_str),
    b"headers": _set("request_headers", lambda rd: _read_pairs(rd, 1 << 32, 3)),
    b"body": _set("request_body", _Reader.read_bytes),
}
_MESSAGE = {
    b"status": _read_status,
    b"headers": _set("headers", lambda rd: _read_pairs(rd, 1 << 32, 3)),
    b"body": _set("body", _Reader.read_bytes),
}
_ERROR = {
    b"code": _set_error(0, _Reader.read_uint),
    b"text": _set_error(1, _Reader.read_str),
    b"hop": _set_error(2, _Reader.read_str),
}


def _read_error(rd, env):
    env.error = [0, b"", b""]
    if b"code" not in _read_map(rd, env, "error", 2, _ERROR):
        raise EnvelopeError(MISSING)


_TOP = {
    b"v": _read_version,
    b"id": _set("id", _Reader.read_str),
    b"reply_to": _set("reply_to", _Reader.read_str),
    b"reply_key": _set("reply_key", _read_key),
    b"route": _set("route", lambda rd: _read_pairs(rd, rd.lim.max_hops, 2)),
    b"route_keys": _set("route_keys", _read_route_keys),
    b"branches": _set("branches", _read_branches),
    b"taken": _set("taken", _Reader.read_str),
    b"seal": _set("seal", lambda rd: _read_exact(rd, SEAL_LEN)),
    b"index": _set("index", _Reader.read_uint),
    b"budget": _set("budget", _Reader.read_uint),
    b"deadline": _set("deadline", _Reader.read_uint),
    b"oam": _set("oam", _Reader.read_uint),
    b"traceparent": _set("traceparent", _Reader.read_str),
    b"version": _set("pin", _read_pin),
    b"record": _set("record", _read_record),
    b"meta": _set("meta", _read_meta),
    b"request": lambda rd, env: _read_map(rd, env, "request", 2, _REQUEST),
    b"message": lambda rd, env: _read_map(rd, env, "message", 2, _MESSAGE),
    b"error": _read_error,
}
_REQUIRED = {b"v", b"id", b"reply_to", b"route", b"index", b"budget", b"deadline"}


def decode(data, limits=DEFAULT_LIMITS):
    """Decodes one envelope from data (bytes). Raises EnvelopeError with the
    rule it breaks. Nothing is built for a value before its size has been
    checked against limits and against the bytes that remain."""
    if limits.max_depth > MAX_DEPTH_CEILING:
        limits = Limits(**{**limits.__dict__, "max_depth": MAX_DEPTH_CEILING})
    data = bytes(data)
    if len(data) > limits.max_size:
        raise EnvelopeError(TOOBIG)
    first = data[0] if data else 0
    if not (first & 0xF0 == 0x80 or first == 0xDE or first == 0xDF):
        # Not a map: say what is wrong with it, else that it is not a map.
        validate(data, limits)
        raise EnvelopeError(TYPE)
    env = Envelope()
    rd = _Reader(data, limits)
    if not _REQUIRED <= _read_map(rd, env, "top", 1, _TOP):
        raise EnvelopeError(MISSING)
    if env.index > len(env.route):
        raise EnvelopeError(ROUTE)
    if env.route_keys is not None and len(env.route_keys) != len(env.route):
        raise EnvelopeError(ROUTE)
    # Branch entries carry keys exactly when route_keys is there; taken names a branch.
    keyed = 3 if env.route_keys is not None else 2
    if any(len(hop) != keyed for _, hops in env.branches for hop in hops):
        raise EnvelopeError(ROUTE)
    if env.taken and all(name != env.taken for name, _ in env.branches):
        raise EnvelopeError(ROUTE)
    if rd.p != rd.end:
        raise EnvelopeError(MALFORMED)  # bytes after the document
    return env


# --- the writer: smallest forms, Baton's key order -----------------------------


def _uint(v):
    if v < 0x80:
        return bytes((v,))
    if v <= 0xFF:
        return b"\xcc" + bytes((v,))
    if v <= 0xFFFF:
        return b"\xcd" + v.to_bytes(2, "big")
    if v <= 0xFFFFFFFF:
        return b"\xce" + v.to_bytes(4, "big")
    return b"\xcf" + v.to_bytes(8, "big")


def _str(s):
    n = len(s)
    if n < 32:
        return bytes((0xA0 | n,)) + s
    if n <= 0xFF:
        return b"\xd9" + bytes((n,)) + s
    if n <= 0xFFFF:
        return b"\xda" + n.to_bytes(2, "big") + s
    return b"\xdb" + n.to_bytes(4, "big") + s


def _bin(s):
    n = len(s)
    if n <= 0xFF:
        return b"\xc4" + bytes((n,)) + s
    if n <= 0xFFFF:
        return b"\xc5" + n.to_bytes(2, "big") + s
    return b"\xc6" + n.to_bytes(4, "big") + s


def _container(is_map, n):
    if n < 16:
        return bytes(((0x80 if is_map else 0x90) | n,))
    if n <= 0xFFFF:
        return (b"\xde" if is_map else b"\xdc") + n.to_bytes(2, "big")
    return (b"\xdf" if is_map else b"\xdd") + n.to_bytes(4, "big")


def _key(k):
    return _str(k.encode())


_K = {k: _key(k) for k in ("v", "id", "reply_to", "reply_key", "route", "route_keys",
                           "branches", "taken", "seal", "index",
                           "budget", "deadline", "oam",
                           "traceparent", "version", "record", "meta", "request", "method", "target",
                           "headers", "body", "message", "status", "error", "code", "text",
                           "hop")}


def _pairs(out, pairs):
    out.append(_container(False, len(pairs)))
    for name, value in pairs:
        out.append(b"\x92")
        out.append(_str(name))
        out.append(_str(value))


def encode(env):
    """Encodes env as Baton writes it: smallest forms, the known keys of each
    map in the order of docs/wire-format.md, then its unknown keys as read.
    Decoding and encoding an envelope Baton wrote gives the same bytes."""
    k, unknown = _K, env.unknown
    # route_keys are written only when every hop has its key.
    keys = (env.route_keys is not None and len(env.route_keys) == len(env.route)
            and all(len(key) == KEY_LEN for key in env.route_keys))
    top = (9 + bool(env.reply_key) + keys + bool(env.branches) + bool(env.taken) + bool(env.seal)
           + bool(env.oam) + bool(env.traceparent) + bool(env.pin)
           + bool(env.record) + bool(env.meta) + (env.error is not None) + len(unknown["top"]))
    out = [_container(True, top),
           k["v"], _uint(env.version), k["id"], _str(env.id), k["reply_to"], _str(env.reply_to)]
    if env.reply_key:
        out += (k["reply_key"], _bin(env.reply_key))
    out.append(k["route"])
    _pairs(out, env.route)
    if keys:
        out += (k["route_keys"], _container(False, len(env.route_keys)))
        out += (_bin(key) for key in env.route_keys)
    if env.branches:
        out += (k["branches"], _container(True, len(env.branches)))
        for name, hops in env.branches:
            # A branch's keys go with route_keys, as in the C writer.
            keyed = keys and all(len(hop) == 3 and len(hop[2]) == KEY_LEN for hop in hops)
            out += (_str(name), _container(False, len(hops)))
            for hop in hops:
                out += (b"\x93" if keyed else b"\x92", _str(hop[0]), _str(hop[1]))
                if keyed:
                    out.append(_bin(hop[2]))
    if env.taken:
        out += (k["taken"], _str(env.taken))
    if env.seal:
        out += (k["seal"], _bin(env.seal))
    out += (k["index"], _uint(env.index), k["budget"], _uint(env.budget),
            k["deadline"], _uint(env.deadline))
    if env.oam:
        out += (k["oam"], _uint(env.oam))
    if env.traceparent:
        out += (k["traceparent"], _str(env.traceparent))
    if env.pin:
        out += (k["version"], _str(env.pin))
    if env.record:
        out += (k["record"], _container(False, len(env.record)))
        for name, t_in, t_out in env.record:
            out += (b"\x93", _str(name), _uint(t_in), _uint(t_out))
    if env.meta:
        out += (k["meta"], _container(True, len(env.meta)))
        for mk, mv in env.meta.items():
            out += (_str(mk), _bin(mv))
    out += (k["request"],
            _container(True, 3 + bool(env.request_body) + len(unknown["request"])),
            k["method"], _str(env.method), k["target"], _str(env.target), k["headers"])
    _pairs(out, env.request_headers)
    if env.request_body:
        out += (k["body"], _bin(env.request_body))
    out += unknown["request"]
    out += (k["message"], _container(True, 3 + len(unknown["message"])),
            k["status"], _uint(env.status), k["headers"])
    _pairs(out, env.headers)
    out += (k["body"], _bin(env.body))
    out += unknown["message"]
    if env.error is not None:
        code, text, hop = env.error
        out += (k["error"], _container(True, 3 + len(unknown["error"])),
                k["code"], _uint(code), k["text"], _str(text), k["hop"], _str(hop))
        out += unknown["error"]
    out += unknown["top"]
    return b"".join(out)
