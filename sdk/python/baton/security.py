"""security.py - a worker's part in securing the mesh (docs/sdk.md, "Security"):
the mode its arguments and environment ask for, certificates in czmq's zcert
text format read by a strict bounded parser (the rules of
runtime/security/cert.c, with its error texts), the trust store, the ZAP
handler of the worker's ZeroMQ context, and which endpoints stay on this host."""

import os
import stat
import struct
import threading

import zmq
from zmq.utils import z85

from .log import DEBUG, WARN, RateLimit, log, quote

CERT_MAX_SIZE = 65536  # largest certificate file accepted
CERT_MAX_LINE = 1024  # longest line
CERT_NAME_MAX = 64  # longest name
KEY_SIZE = 32
KEY_Z85_LEN = 40
TRUST_MAX_ENTRIES = 4096
ZAP_ENDPOINT = "inproc://zeromq.zap.01"
ZAP_DOMAIN = b"baton"
KEY_PROPERTY = b"Baton-Key"  # ZAP metadata: the peer's key, in Z85
GATEWAY, FUNCTION = b"gateway", b"function"
# Handshake failures before ZAP is asked (HANDSHAKE_FAILED_AUTH repeats a
# refusal the handler made, counted already).
_WATCH_EVENTS = (zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
                 | zmq.EVENT_MONITOR_STOPPED)


class SecurityError(ValueError):
    """Settings, a certificate or a trust store refused; the text says why and
    how to fix it."""


# --- the mode ---------------------------------------------------------------------------


def _env(key):
    return os.environ.get(key) or None


def resolve(cert=None, trust=None, insecure=False):
    """(cert, trust, insecure) from the arguments, else BATON_CERT,
    BATON_TRUST and BATON_SECURITY. CURVE when cert and trust are both set.
    Raises SecurityError when one is set without the other, when CURVE and
    insecure are both asked for, or when BATON_SECURITY is neither "curve"
    (which requires CURVE) nor "insecure"."""
    cert = cert or _env("BATON_CERT")
    trust = trust or _env("BATON_TRUST")
    mode = _env("BATON_SECURITY")
    if mode is not None and mode not in ("insecure", "curve"):
        raise SecurityError("BATON_SECURITY must be curve or insecure")
    insecure = bool(insecure) or mode == "insecure"
    if (cert is None) != (trust is None):
        have, lack = (("the certificate (BATON_CERT)", "the trust store (BATON_TRUST)") if cert
                      else ("the trust store (BATON_TRUST)", "the certificate (BATON_CERT)"))
        raise SecurityError(
            "%s is set but %s is not: CURVE needs both, the function's secret certificate "
            "(BATON_CERT=DIR/NAME.key_secret) and the trust-store directory (BATON_TRUST=DIR)"
            % (have, lack))
    if cert and insecure:
        raise SecurityError("CURVE (BATON_CERT, BATON_TRUST) and insecure plaintext "
                            "(BATON_SECURITY=insecure) are both asked for: choose one")
    if not cert and mode == "curve":
        raise SecurityError("BATON_SECURITY=curve needs BATON_CERT and BATON_TRUST")
    return cert, trust, insecure


def endpoint_local(endpoint):
    """True if endpoint (bytes or str) stays on this host: ipc://, inproc://,
    or a tcp:// address of 127.0.0.0/8, ::1 or localhost. tcp://*: and
    0.0.0.0 are not (they bind every interface)."""
    ep = endpoint.encode("utf-8", "surrogateescape") if isinstance(endpoint, str) else endpoint
    if ep.startswith(b"ipc://") or ep.startswith(b"inproc://"):
        return True
    if not ep.startswith(b"tcp://"):
        return False
    p = ep[6:]
    # "tcp://source;peer:port": the peer is what the connection reaches.
    p = p[p.find(b";") + 1:]
    colon = p.rfind(b":")
    if colon < 0:
        return False
    host = p[:colon]
    if len(host) >= 2 and host[:1] == b"[" and host[-1:] == b"]":
        host = host[1:-1]
    if host in (b"localhost", b"::1"):
        return True
    # 127.0.0.0/8, written as a dotted quad.
    if not host.startswith(b"127.") or len(host) > 15:
        return False
    if any(c not in b"0123456789." for c in host):
        return False
    return host.count(b".") == 3 and not host.endswith(b".")


# --- certificates -----------------------------------------------------------------------

_Z85 = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
_Z85_VALUE = {c: i for i, c in enumerate(_Z85)}
_NAME_CHARS = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
# zconfig's name characters: what a key or section name may be made of.
_ZCONFIG_NAME = frozenset(_NAME_CHARS | set(b"$@&+/"))


def key_from_z85(text):
    """The 32 bytes that text (40 Z85 characters, bytes) says, or None."""
    if len(text) != KEY_Z85_LEN:
        return None
    out = bytearray()
    for g in range(0, KEY_Z85_LEN, 5):
        value = 0
        for c in text[g:g + 5]:
            d = _Z85_VALUE.get(c)
            if d is None:
                return None
            value = value * 85 + d
        # Five characters can say more than 32 bits ("%%%%%"): not a key.
        if value > 0xFFFFFFFF:
            return None
        out += value.to_bytes(4, "big")
    return bytes(out)


def name_valid(name):
    """True if name (bytes) is a certificate name: 1..64 bytes of
    [A-Za-z0-9._-], not starting with '.' or '-'."""
    return (0 < len(name) <= CERT_NAME_MAX and name[:1] not in (b".", b"-")
            and all(c in _NAME_CHARS for c in name))


class Cert:
    """A keypair with its role (b"gateway" or b"function") and name (bytes).
    secret_key is None for a public certificate."""

    __slots__ = ("role", "name", "public_key", "public_z85", "secret_key")

    def __init__(self, role, name, public_z85, secret_z85):
        self.role, self.name, self.public_z85 = role, name, public_z85
        self.public_key = key_from_z85(public_z85)
        self.secret_key = key_from_z85(secret_z85) if secret_z85 else None

    def __repr__(self):  # never the secret key
        return "Cert(%s %s %s)" % (self.role.decode(), self.name.decode(), self.public_z85.decode())


class _Parser:
    """Where the parser is, to write "origin:line: what"."""

    def __init__(self, origin):
        self.origin, self.line, self.secret_line = origin, 0, 0

    def fail(self, what):
        if self.line:
            raise SecurityError("%s:%d: %s" % (self.origin, self.line, what))
        raise SecurityError("%s: %s" % (self.origin, what))


def _rest_is_comment(s):
    """True if s is blank, or blank then a '#' comment."""
    s = s.lstrip(b" ")
    return not s or s[:1] == b"#"


def _value(p, s):
    """The value of ` = value` (the rest of a key line), as zconfig reads it:
    a value in "double" or 'single' quotes may be followed by a comment; an
    unquoted one ends at '#' and loses its trailing blanks."""
    s = s.lstrip(b" ")
    if s[:1] != b"=":
        p.fail("expected '=' after the key")
    s = s[1:].lstrip(b" ")
    if s[:1] in (b'"', b"'"):
        end = s.find(s[:1], 1)
        if end < 0:
            p.fail("missing closing %s" % s[:1].decode())
        if not _rest_is_comment(s[end + 1:]):
            p.fail("unexpected text after the closing quote")
        return s[1:end]
    hash_at = s.find(b"#")
    return (s if hash_at < 0 else s[:hash_at]).rstrip(b" ")


def _key(p, section, seen, key, value, fields):
    """Stores key = value of the current section into fields."""
    if section == b"metadata" and key == b"role":
        if value not in (GATEWAY, FUNCTION):
            p.fail('role is %s: expected "gateway" or "function"' % quote(value, 80))
    elif section == b"metadata" and key == b"name":
        if not name_valid(value):
            p.fail("name %s is not valid: 1 to %d bytes of letters, digits, '.', '_' and '-', "
                   "not starting with '.' or '-'" % (quote(value, 80), CERT_NAME_MAX))
    elif section == b"curve" and key in (b"public-key", b"secret-key"):
        if key_from_z85(value) is None:
            # Never echo what may be a secret key into a log or a terminal.
            p.fail("%s is not a CURVE key: expected 40 characters of Z85 (found %d bytes)"
                   % (key.decode(), len(value)))
        if key == b"secret-key":
            p.secret_line = p.line
    else:
        p.fail('unknown key %s in section "%s"' % (quote(key, 80), section.decode()))
    if key in seen:
        p.fail("%s appears twice" % quote(key, 80))
    seen.add(key)
    fields[key] = value


def _line(p, s, section, seen, fields):
    """Parses one line (no newline, trailing blanks removed, not empty).
    Returns the section it leaves the parser in."""
    for c in s:
        if c < 0x20 or c == 0x7F:
            p.fail("tab: indent with 4 spaces" if c == 9 else "control byte 0x%02x" % c)
    if s[:1] == b"#":
        return section
    indent = len(s) - len(s.lstrip(b" "))
    if indent not in (0, 4):
        p.fail("indented by %d spaces: a key is indented by 4, a section by none" % indent)
    body = s[indent:]
    nlen = 0
    while nlen < len(body) and body[nlen] in _ZCONFIG_NAME:
        nlen += 1
    if nlen == 0:
        p.fail("expected a %s name, found %s" % ("key" if indent else "section", quote(body, 80)))
    name, rest = body[:nlen], body[nlen:]
    if indent == 0:
        # A mesh key file is one such line: never echo a secret.
        if (name not in (b"metadata", b"curve") and len(s) == KEY_Z85_LEN
                and all(c in _Z85_VALUE for c in s)):
            p.fail("a line of %d Z85 characters where a section belongs: this looks like a "
                   "mesh key (baton keys mesh), not a certificate; keep it out of the trust "
                   "store" % KEY_Z85_LEN)
        if name not in (b"metadata", b"curve"):
            p.fail('unknown section %s: expected "metadata" or "curve"' % quote(name, 80))
        if not _rest_is_comment(rest):
            p.fail("unexpected text after the section name")
        if name in seen:
            p.fail('section "%s" appears twice' % name.decode())
        seen.add(name)
        return name
    if section is None:
        p.fail("key outside a section")
    _key(p, section, seen, name, _value(p, rest), fields)
    return section


def parse_cert(data, origin="(certificate)"):
    """The certificate in data (bytes: the text of a zcert file, public or
    secret). Raises SecurityError ("origin:line: what") when it is not a
    valid Baton certificate."""
    p = _Parser(origin)
    if len(data) > CERT_MAX_SIZE:
        p.fail("larger than %d bytes" % CERT_MAX_SIZE)
    section, seen, fields = None, set(), {}
    start = 0
    while start < len(data):
        p.line += 1
        nl = data.find(b"\n", start)
        end = len(data) if nl < 0 else nl
        if end - start > CERT_MAX_LINE:
            p.fail("line longer than %d bytes" % CERT_MAX_LINE)
        # zconfig drops trailing blanks; a CR LF file reads as LF.
        line = data[start:end].rstrip(b" \r")
        if line:
            section = _line(p, line, section, seen, fields)
        start = end + 1
    p.line = 0
    for key, missing in ((b"name", "metadata/name"), (b"role", "metadata/role"),
                         (b"public-key", "curve/public-key")):
        if key not in fields:
            p.fail("no %s: not a Baton certificate" % missing)
    secret = fields.get(b"secret-key")
    if secret is not None and zmq.curve_public(secret) != fields[b"public-key"]:
        p.line = p.secret_line
        p.fail("secret-key does not belong to public-key")
    return Cert(fields[b"role"], fields[b"name"], fields[b"public-key"], secret)


def read_private(p, path, limit):
    """The bytes of the file at path (at most limit) and its stat, failing
    through p (a _Parser) when it cannot be read, is not a regular file or
    is larger."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError as e:
        p.fail("cannot open: %s" % e.strerror)
    try:
        try:
            st = os.fstat(fd)
        except OSError as e:
            p.fail("cannot stat: %s" % e.strerror)
        if not stat.S_ISREG(st.st_mode):
            p.fail("not a regular file")
        if st.st_size > limit:
            p.fail("larger than %d bytes" % limit)
        # One byte more than the limit, to notice a file that grew since fstat.
        chunks, used = [], 0
        while used < limit + 1:
            try:
                chunk = os.read(fd, limit + 1 - used)
            except InterruptedError:
                continue
            except OSError as e:
                p.fail("cannot read: %s" % e.strerror)
            if not chunk:
                break
            chunks.append(chunk)
            used += len(chunk)
        if used > limit:
            p.fail("larger than %d bytes" % limit)
        return b"".join(chunks), st
    finally:
        os.close(fd)


def check_secret_owner(p, path, st):
    """Fails through p unless the file of st, which holds a secret, is owned
    by this user with no group or other permission (like ssh)."""
    if st.st_uid != os.geteuid():
        p.fail("holds a secret key but is owned by uid %d, not by this user (uid %d)"
               % (st.st_uid, os.geteuid()))
    if st.st_mode & 0o077:
        p.fail("holds a secret key but its mode is %04o: group and others must have no "
               "access; run: chmod 600 %s" % (st.st_mode & 0o7777, path))


def load_cert(path):
    """The certificate in the file at path. A file holding a secret key must
    be a regular file owned by this user with no group or other permission
    (like ssh). Raises SecurityError with the reason and the fix."""
    p = _Parser(path)
    data, st = read_private(p, path, CERT_MAX_SIZE)
    cert = parse_cert(data, path)
    if cert.secret_key is not None:
        check_secret_owner(p, path, st)
    return cert


def load_function_cert(path, name):
    """The secret certificate at path of the function name (str): it must
    hold a secret key, have the role function and the name name."""
    cert = load_cert(path)
    if cert.secret_key is None:
        raise SecurityError("%s: a public certificate: BATON_CERT must be the function's secret "
                            "certificate (NAME.key_secret)" % path)
    if cert.role != FUNCTION:
        raise SecurityError("%s: the certificate's role is %s, a function needs one of role "
                            "function (baton keys new %s --role function)"
                            % (path, cert.role.decode(), name))
    if cert.name != name.encode("utf-8", "surrogateescape"):
        raise SecurityError("%s: the certificate is named '%s', this function '%s': every "
                            "replica of a function uses a certificate of the function's name"
                            % (path, cert.name.decode(), name))
    return cert


# --- the trust store --------------------------------------------------------------------


class TrustStore:
    """The public certificates (*.key) of a directory: each key maps to one
    identity (role, name); an identity may have several keys. Raises
    SecurityError listing every file that does not load, a .key holding a
    secret key, and every key under two identities."""

    def __init__(self, directory):
        self.dir = directory
        try:
            names = os.listdir(directory)
        except OSError as e:
            raise SecurityError("%s: cannot open the trust store: %s"
                                % (directory, e.strerror)) from None
        files = sorted((n for n in names if len(n) > 4 and n.endswith(".key")), key=os.fsencode)
        if len(files) > TRUST_MAX_ENTRIES:
            raise SecurityError("%s: more than %d certificates" % (directory, TRUST_MAX_ENTRIES))
        errors, self.entries = [], []  # entries: (role, name, key, file), by file name
        for f in files:
            path = "%s/%s" % (directory, f)
            try:
                cert = load_cert(path)
            except SecurityError as e:
                errors.append(str(e))
                continue
            if cert.secret_key is not None:
                errors.append("%s: holds a secret key: a trust store takes public certificates "
                              "only (NAME.key, never NAME.key_secret)" % path)
            self.entries.append((cert.role, cert.name, cert.public_key, path))
        self._by_key = {}
        for role, name, key, path in ([] if errors else self.entries):
            first = self._by_key.setdefault(key, (role, name, path))
            if first[:2] != (role, name):
                errors.append('%s: key %s is also in %s as %s "%s": one key, one identity'
                              % (path, z85.encode(key).decode(), first[2], first[0].decode(),
                                 first[1].decode()))
        if errors:
            raise SecurityError("\n".join(errors))

    def find(self, key):
        """(role, name) of key (bytes of any length), or None."""
        found = self._by_key.get(key)
        return found[:2] if found else None

    def is_gateway(self, key):
        found = self._by_key.get(key)
        return found is not None and found[0] == GATEWAY

    def is_function(self, key, name):
        """True if key is a trusted key of the identity function name (bytes)."""
        found = self._by_key.get(key)
        return found is not None and found[0] == FUNCTION and found[1] == name

    def gateway_key(self, name=None):
        """The key of the gateway name (bytes), or with None of the store's
        only gateway. Raises SecurityError when there is not exactly one."""
        keys = [e[2] for e in self.entries if e[0] == GATEWAY and (name is None or e[1] == name)]
        if len(keys) == 1:
            return keys[0]
        if name is not None:
            raise SecurityError("the trust store %s holds %d keys of gateway '%s', not one%s"
                                % (self.dir, len(keys), name.decode(),
                                   ": keep only the key that gateway serves with" if keys else ""))
        raise SecurityError("the trust store %s holds %d gateway keys, not one: name the gateway "
                            "of each control endpoint in BATON_GATEWAY as NAME@tcp://host:port"
                            % (self.dir, len(keys)))


# --- sockets ----------------------------------------------------------------------------


def curve_server(sock, cert):
    """Makes sock a CURVE server with cert's keys, asking ZAP of domain baton."""
    sock.setsockopt(zmq.CURVE_SERVER, 1)
    sock.setsockopt(zmq.CURVE_PUBLICKEY, cert.public_key)
    sock.setsockopt(zmq.CURVE_SECRETKEY, cert.secret_key)
    sock.setsockopt(zmq.ZAP_DOMAIN, ZAP_DOMAIN)
    sock.setsockopt(zmq.ZAP_ENFORCE_DOMAIN, 1)


def curve_client(sock, cert, server_key):
    """Makes sock a CURVE client of the server holding server_key (32 bytes)."""
    sock.setsockopt(zmq.CURVE_SERVERKEY, server_key)
    sock.setsockopt(zmq.CURVE_PUBLICKEY, cert.public_key)
    sock.setsockopt(zmq.CURVE_SECRETKEY, cert.secret_key)


def peer_identity(frame):
    """(role, name) as bytes that the ZAP handler gave the sender of frame
    (a zmq.Frame received with copy=False), or None."""
    try:
        user = frame.get("User-Id")
    except zmq.ZMQError:
        return None
    role, colon, name = user.encode("utf-8", "surrogateescape").partition(b":")
    if not colon or role not in (GATEWAY, FUNCTION) or not name_valid(name):
        return None
    return role, name


# --- the ZAP handler ----------------------------------------------------------------------


class ZapHandler:
    """The ZAP handler (RFC 27) of a ZeroMQ context, on a thread of its own:
    200 with User-Id "role:name" for a trusted CURVE key, 400 for anything
    else, 500 for a malformed request. It also watches socket (a CURVE server)
    for handshakes that fail before ZAP is asked, such as a plaintext client.
    Every refusal is logged (rate-limited) and counted in `refused`. Build it
    before the socket binds; close it after the socket closes and before the
    context ends. Raises SecurityError if the context has a handler already."""

    def __init__(self, zctx, trust, socket):
        self.trust = trust
        self.refused = 0
        self._limit = RateLimit(20, 1000)
        self._handler = zctx.socket(zmq.REP)
        self._handler.setsockopt(zmq.LINGER, 0)
        self._pipe = zctx.socket(zmq.PAIR)
        self._thread_pipe = zctx.socket(zmq.PAIR)
        self._watch = zctx.socket(zmq.PAIR)
        for s in (self._pipe, self._thread_pipe, self._watch):
            s.setsockopt(zmq.LINGER, 0)
        tag = "%x" % id(self)
        try:
            self._handler.bind(ZAP_ENDPOINT)
            self._pipe.bind("inproc://baton-zap-pipe-" + tag)
            self._thread_pipe.connect("inproc://baton-zap-pipe-" + tag)
            socket.monitor("inproc://baton-zap-watch-" + tag, _WATCH_EVENTS)
            self._watch.connect("inproc://baton-zap-watch-" + tag)
        except zmq.ZMQError as e:
            for s in (self._handler, self._pipe, self._thread_pipe, self._watch):
                s.close(0)
            raise SecurityError("ZAP handler: cannot bind %s: %s%s" % (
                ZAP_ENDPOINT, e.strerror, " (this context has a ZAP handler already)"
                if e.errno == zmq.EADDRINUSE else "")) from None
        # The thread owns handler, thread_pipe and watch from here (starting
        # it is the full barrier ZeroMQ asks for when a socket changes threads).
        self._thread = threading.Thread(target=self._run, name="baton-zap", daemon=True)
        self._thread.start()

    def close(self):
        """Stops the thread and closes its sockets. Safe to call twice."""
        if self._thread is None:
            return
        try:
            self._pipe.send(b"S")
        except zmq.ZMQError:
            pass  # the context ends: the thread stops anyway
        self._thread.join()
        self._thread = None
        self._pipe.close(0)

    def _refuse(self, log_msg, **fields):
        self.refused += 1
        if self._limit.allow():
            log(WARN, log_msg, comp="zap", **fields)

    def _answer(self, f):
        """The reply frames to request f (its first frames)."""
        if len(f) < 6 or f[0] != b"1.0":
            return [b"1.0", f[1] if len(f) > 1 else b"", b"500", b"malformed ZAP request", b"",
                    b""]
        rid, domain, address, mechanism = f[1], f[2], f[3], f[5]
        if mechanism == b"CURVE" and (len(f) != 7 or len(f[6]) != KEY_SIZE):
            return [b"1.0", rid, b"500", b"malformed CURVE credentials", b"", b""]
        if mechanism != b"CURVE":
            self._refuse("refused: only CURVE is allowed", mechanism=mechanism, address=address,
                         domain=domain)
            return [b"1.0", rid, b"400", b"only CURVE is allowed", b"", b""]
        key = z85.encode(f[6])
        who = self.trust.find(f[6])
        if who is None:
            self._refuse("refused: key not in the trust store", key=key, address=address,
                         domain=domain)
            return [b"1.0", rid, b"400", b"key not trusted", b"", b""]
        user = who[0] + b":" + who[1]
        log(DEBUG, "accepted", comp="zap", user=user, key=key, address=address, domain=domain)
        # Metadata in ZMTP's encoding: name length, name, value length, value.
        meta = (bytes((len(KEY_PROPERTY),)) + KEY_PROPERTY + struct.pack(">I", len(key)) + key)
        return [b"1.0", rid, b"200", b"OK", user, meta]

    def _event(self):
        """Reads one monitor event; False when the monitor stopped."""
        frames = self._watch.recv_multipart()
        if len(frames) < 2 or len(frames[0]) != 6:
            return True
        event, value = struct.unpack("=HI", frames[0])
        if event == zmq.EVENT_MONITOR_STOPPED:
            return False
        detail = {}
        if value == zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
            detail["detail"] = "mechanism mismatch: a client without CURVE?"
        self._refuse("refused: handshake failed", endpoint=frames[1],
                     reason="no-detail" if event == zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
                     else "protocol", **detail)
        return True

    def _run(self):
        poller = zmq.Poller()
        for s in (self._thread_pipe, self._handler, self._watch):
            poller.register(s, zmq.POLLIN)
        try:
            while True:
                ready = dict(poller.poll())
                if self._handler in ready:
                    frames = self._handler.recv_multipart()
                    self._handler.send_multipart(self._answer(frames[:8]))
                if self._watch in ready and not self._event():
                    poller.unregister(self._watch)
                if self._thread_pipe in ready:
                    break
        except zmq.ZMQError:
            pass  # ETERM: the context ends under us
        for s in (self._handler, self._watch, self._thread_pipe):
            s.close(0)
