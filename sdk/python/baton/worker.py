"""worker.py - the worker: takes one envelope at a time from its inbox (a
ZeroMQ PULL socket), applies the rules that keep every request answered (504
expired, 508 out of budget, 502 handler failed, 503 successor unreachable) and
those that keep the mesh safe (peers, keys, endpoints, budget, loops), calls
the handler (not for a probe), and forwards or replies; on a stop it drains.
The same contract as sdk/worker.c."""

import collections
import os
import re
import signal
import sys
import threading
import time
import traceback

import zmq

from . import problem, seal, security, wire
from .context import FAIL, REPLY, Context
from .control import Announcer, watch
from .log import DEBUG, ERROR, INFO, WARN, RateLimit, enabled, log

TICK_MS = 100  # longest wait between two looks at the stop flag while idle
CONNECT_GRACE_MS = 1000  # send timeout of the first message through a new socket
PEER_DOWN_MS = 1000  # a peer that took nothing in time is not waited for this long
UP, FRESH, DOWN = 0, 1, 2  # what a socket cache knows of a peer (sdk/sockcache.h)
MAX_NAME = 255
MAX_ENDPOINT = 1024
HEARTBEAT_MS = 250  # default heartbeat interval (BATON_HEARTBEAT_MS_DEFAULT)
DRAIN_MS = 5000  # default drain limit (BATON_DRAIN_MS_DEFAULT)
BUDGET_MARGIN = 8  # budget allowed beyond the hops a route has left (BATON_BUDGET_MARGIN)


class ConfigError(ValueError):
    """A worker that cannot be built: a missing name or endpoint, an option
    out of range, security settings refused, or a bind that failed. fields
    are logged with the message, as the C SDK logs them."""

    def __init__(self, msg, **fields):
        super().__init__(msg)
        self.fields = fields


Stats = collections.namedtuple(
    "Stats", "received forwarded replied errors dropped undeliverable sockets loops over_budget "
             "refused_peer refused_key refused_endpoint handshakes_refused probes seal_broken")


def _env(key):
    return os.environ.get(key) or None


def _atoi(text):
    m = re.match(r"\s*([+-]?\d+)", text)
    return int(m.group(1)) if m else 0


def _duration_ms(value, env, default, lo, hi, key, msg):
    """A duration in ms: value if not None, else $env, else default. Raises
    ConfigError(msg) if it is outside lo .. hi."""
    if value is None:
        text = _env(env)
        value = _atoi(text) if text else default
    if not lo <= value <= hi:
        raise ConfigError(msg, **{key: value})
    return value


def _hold_signals(on_signal):
    """Makes SIGINT and SIGTERM call on_signal() (on the main thread only;
    elsewhere nothing changes). Returns what _release_signals needs."""
    old = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            old[sig] = signal.signal(sig, lambda signum, frame: on_signal())
    return old


def _release_signals(old):
    for sig, handler in old.items():
        signal.signal(sig, handler)


class _SocketCache:
    """Connected PUSH sockets by endpoint, least recently used dropped first.
    With a certificate, each is a CURVE client of the server key it was asked
    for, and cached by (endpoint, key). A peer that took nothing within the
    send timeout is DOWN for PEER_DOWN_MS (unless it takes a message sooner):
    tried, not waited for."""

    def __init__(self, zctx, cap, timeout_ms, hwm, linger_ms, immediate, cert):
        self.zctx, self.cap, self.cert = zctx, cap, cert
        self.opts = ((zmq.SNDTIMEO, timeout_ms), (zmq.SNDHWM, hwm), (zmq.LINGER, linger_ms),
                     (zmq.IMMEDIATE, 1 if immediate else 0))
        self.socks = collections.OrderedDict()  # entry -> [socket, down until (monotonic)]
        self._last = None

    def get(self, endpoint, key):
        """(socket, UP|FRESH|DOWN) for endpoint (and with a certificate, the
        server key key, checked by the caller), or (None, UP) if it is
        unusable."""
        entry = (endpoint, key) if self.cert else endpoint
        hit = self.socks.get(entry)
        if hit is not None:
            self.socks.move_to_end(entry, last=False)
            self._last = hit
            return hit[0], DOWN if hit[1] and time.monotonic() < hit[1] else UP
        if not endpoint or len(endpoint) > MAX_ENDPOINT or b"\0" in endpoint:
            return None, UP
        sock = self.zctx.socket(zmq.PUSH)
        try:
            for opt, value in self.opts:
                sock.setsockopt(opt, value)
            watch(sock)
            if self.cert:
                security.curve_client(sock, self.cert, key)
            sock.connect(endpoint.decode("utf-8", "surrogateescape"))
        except (zmq.ZMQError, UnicodeError):
            sock.close(0)
            return None, UP
        if len(self.socks) >= self.cap:
            self.socks.popitem(last=True)[1][0].close()
        self._last = self.socks[entry] = [sock, 0]
        self.socks.move_to_end(entry, last=False)
        return sock, FRESH

    def mark(self, down):
        """How the last send through the socket get() returned last went:
        taken (down False) or not within the send timeout (down True)."""
        self._last[1] = time.monotonic() + PEER_DOWN_MS / 1000.0 if down else 0

    def close(self):
        for sock, _ in self.socks.values():
            sock.close()
        self.socks.clear()
        self._last = None


class Worker:
    """One function: an inbox bound to bind, a handler called once per
    envelope. Arguments left None come from the environment (BATON_NAME,
    BATON_BIND, BATON_GATEWAY, BATON_HEARTBEAT_MS, BATON_ADVERTISE,
    BATON_VERSION, BATON_ZONE, BATON_CERT, BATON_TRUST, BATON_DRAIN_MS; insecure False:
    BATON_SECURITY).
    Raises ConfigError if it cannot start."""

    def __init__(self, handler, name=None, bind=None, gateway=None, *, send_timeout_ms=100,
                 send_hwm=1000, recv_hwm=1000, max_message_size=8 * 1024 * 1024,
                 linger_ms=1000, socket_cache=64, heartbeat_ms=None, advertise=None,
                 version=None, handle_signals=True, cert=None, trust=None, insecure=False,
                 drain_ms=None, zone=None):
        name = name or _env("BATON_NAME")
        bind = bind or _env("BATON_BIND")
        gateway = gateway if gateway is not None else _env("BATON_GATEWAY")
        if not name:
            raise ConfigError("no function name: pass one to Worker or set BATON_NAME")
        if len(name.encode()) > MAX_NAME:
            raise ConfigError("function name longer than 255 bytes")
        if not bind:
            raise ConfigError("no inbox endpoint: pass one to Worker or set BATON_BIND "
                              "(e.g. ipc:///run/baton/fn.sock or tcp://*:5601)")
        heartbeat_ms = _duration_ms(heartbeat_ms, "BATON_HEARTBEAT_MS", HEARTBEAT_MS, 10, 3600000,
                                    "heartbeat_ms",
                                    "heartbeat interval out of range (10 ms .. 1 h)")
        self.drain_ms = _duration_ms(drain_ms, "BATON_DRAIN_MS", DRAIN_MS, 1, 3600000, "drain_ms",
                                     "drain limit out of range (1 ms .. 1 h)")
        self.heartbeat_ms = heartbeat_ms
        advertise = advertise or _env("BATON_ADVERTISE")
        version = version if version is not None else _env("BATON_VERSION")
        zone = zone if zone is not None else _env("BATON_ZONE")
        try:
            cert, trust, self.insecure = security.resolve(cert, trust, insecure)
        except security.SecurityError as e:
            raise ConfigError("security settings refused: %s" % e) from None
        self._cert, self._trust = self._secure(cert, trust, name, bind)
        mesh_key = _env("BATON_MESH_KEY")
        try:
            # With it, every route is checked against its seal (docs/security.md).
            self._mesh_key = seal.load_mesh_key(mesh_key) if mesh_key else None
        except security.SecurityError as e:
            raise ConfigError("mesh key (BATON_MESH_KEY) refused: %s" % e) from None
        self.handler = handler
        self.name = name
        self._name_raw = name.encode("utf-8", "surrogateescape")
        self.send_timeout_ms = send_timeout_ms
        self.limits = wire.Limits(max_size=max_message_size,
                                  max_bin=min(wire.DEFAULT_LIMITS.max_bin, max_message_size))
        self.handle_signals = handle_signals
        self._stops = []  # one item per stop asked since run() began (append is atomic)
        self._draining = False  # goodbye said: no heartbeat until run() returns
        self._recv_timeout = None
        self._counts = dict.fromkeys(Stats._fields, 0)
        self._hops = self._replies = self._announce = self._zap = None
        self._rl_drop, self._rl_send, self._rl_raise = RateLimit(), RateLimit(), RateLimit()
        self._zctx = zmq.Context()
        self.inbox = self._zctx.socket(zmq.PULL)
        try:
            self.inbox.setsockopt(zmq.RCVHWM, recv_hwm)
            self.inbox.setsockopt(zmq.MAXMSGSIZE, max_message_size)
            self.inbox.setsockopt(zmq.LINGER, 0)
            if self._cert:
                security.curve_server(self.inbox, self._cert)
                # Before the bind: no handshake without a handler to ask.
                self._zap = security.ZapHandler(self._zctx, self._trust, self.inbox)
            self.inbox.bind(bind)
        except (zmq.ZMQError, security.SecurityError) as e:
            self.close()
            raise ConfigError("cannot bind the inbox %s: %s" % (
                bind, e.strerror if isinstance(e, zmq.ZMQError) else e)) from None
        self.endpoint = self.inbox.getsockopt_string(zmq.LAST_ENDPOINT) or bind
        self.advertise = advertise or self.endpoint.replace("0.0.0.0", "127.0.0.1", 1)
        self._inboxes = {self.endpoint.encode(), self.advertise.encode()}
        self._hops = _SocketCache(self._zctx, socket_cache, send_timeout_ms, send_hwm,
                                  linger_ms, True, self._cert)
        self._replies = _SocketCache(self._zctx, socket_cache, send_timeout_ms, send_hwm,
                                     linger_ms, False, self._cert)
        try:
            self._announce = Announcer(self._zctx, gateway, name, self.advertise, version,
                                       heartbeat_ms, self._cert, self._trust, self.insecure,
                                       zone)
        except security.SecurityError as e:
            self.close()
            raise ConfigError(str(e)) from None
        except zmq.ZMQError as e:
            self.close()
            raise ConfigError("cannot connect to the gateway control endpoint: %s"
                              % e.strerror) from None
        self._log_mode()

    def _secure(self, cert, trust, name, bind):
        """(certificate, trust store) for the mode asked, or (None, None) for
        plaintext, after checking the inbox endpoint against the mode."""
        if not cert:
            if self.insecure or security.endpoint_local(bind):
                return None, None
            raise ConfigError("plaintext inbox not on loopback, ipc or inproc: set BATON_CERT "
                              "and BATON_TRUST for CURVE, or BATON_SECURITY=insecure")
        if bind.startswith("inproc://"):
            raise ConfigError("inproc inbox with CURVE: inproc carries no CURVE handshake, so no "
                              "peer could be checked: bind ipc:// or tcp://")
        try:
            cert = security.load_function_cert(cert, name)
        except security.SecurityError as e:
            raise ConfigError("cannot use the certificate: %s" % e) from None
        try:
            return cert, security.TrustStore(trust)
        except security.SecurityError as e:
            raise ConfigError("cannot start CURVE: %s" % e) from None

    def _log_mode(self):
        """The one line every worker logs about its security at start."""
        if self._cert:
            log(DEBUG, "CURVE on", fn=self.name, key=self._cert.public_z85)
        elif self.insecure:
            log(WARN, "plaintext on any address (BATON_SECURITY=insecure): whoever reaches the "
                "inbox can run this function", fn=self.name)
        else:
            log(WARN, "plaintext: CURVE is off (set BATON_CERT and BATON_TRUST), so only "
                "loopback, ipc and inproc endpoints are allowed", fn=self.name)

    @property
    def security(self):
        """"curve", "insecure" (plaintext anywhere) or "plaintext" (this host only)."""
        return "curve" if self._cert else "insecure" if self.insecure else "plaintext"

    @property
    def gateways(self):
        """The control endpoints this worker announces itself to."""
        return list(self._announce.gateways)

    def stats(self):
        """What the worker has done so far (counters that only grow, and the
        outgoing sockets open now)."""
        c = dict(self._counts)
        c["sockets"] = len(self._hops.socks) + len(self._replies.socks)
        c["handshakes_refused"] = self._zap.refused if self._zap else 0
        return Stats(**c)

    def _count(self, key):
        self._counts[key] += 1

    # --- sending ----------------------------------------------------------------

    def _send(self, cache, endpoint, key, env):
        """Pushes env to endpoint (with CURVE, to the server holding key);
        False if no peer took it within the send timeout (a socket connected
        just now gets CONNECT_GRACE_MS for its handshake; a peer DOWN is not
        waited for) or the endpoint is unusable."""
        sock, peer = cache.get(endpoint, key)
        if sock is None:
            return False
        data = wire.encode(env)
        grace = peer == FRESH and self.send_timeout_ms < CONNECT_GRACE_MS
        if grace:
            sock.setsockopt(zmq.SNDTIMEO, CONNECT_GRACE_MS)
        try:
            sock.send(data, zmq.NOBLOCK if peer == DOWN else 0, copy=len(data) < 65536)
            if peer == DOWN:
                cache.mark(False)
            return True
        except zmq.Again:
            if peer != DOWN:
                cache.mark(True)
            return False
        except zmq.ZMQError:
            return False
        finally:
            if grace:
                sock.setsockopt(zmq.SNDTIMEO, self.send_timeout_ms)

    def _reply(self, env):
        if self._send(self._replies, env.reply_to, env.reply_key, env):
            self._count("replied")
            if env.error is not None:
                self._count("errors")
            return
        self._count("undeliverable")
        if self._rl_send.allow():
            log(WARN, "reply-to did not take the response", fn=self.name, id=env.id,
                reply_to=env.reply_to, err="BATON_EUNREACHABLE",
                suppressed=self._rl_send.suppressed)

    def _reply_error(self, env, status, text, hop, t_in_us):
        """Ends the hop with an error the SDK found: the problem response,
        this hop's record entry, then reply-to."""
        problem.apply(env, status, text, hop)
        self._record(env, hop, t_in_us, time.time_ns() // 1000)
        self._reply(env)

    def _record(self, env, name, t_in_us, t_out_us):
        """Appends a record entry; False if the record is full."""
        if len(env.record) >= self.limits.max_hops:
            return False
        env.record.append([name, t_in_us, t_out_us])
        return True

    def _next_allowed(self, env, i, ctx):
        """Whether env may go to hop i (the next one) from here: never to this
        worker's own inbox (dropped: a loop), with CURVE only to a key the
        trust store holds for that function, in plaintext only on this host
        unless insecure (else 502 to reply-to naming this hop)."""
        name, endpoint = env.route[i]
        if endpoint in self._inboxes:
            self._refuse_drop("loops", "next hop is this function's own inbox", env)
            return False
        why = None
        if self._trust and not self._trust.is_function(_route_key(env, i), name):
            why = "next hop key not trusted"
            self._refused("refused_key", why, env)
        elif not self._trust and not self.insecure and not security.endpoint_local(endpoint):
            why = "plaintext next hop off this host"
            self._refused("refused_endpoint", why, env)
        if why is None:
            return True
        self._reply_error(env, 502, b"%s: '%s'" % (why.encode(), name[:64]), ctx.hop_name_raw,
                          ctx.t_in_us)
        return False

    def _forward(self, env, ctx):
        """Advances env past this hop and pushes it to the next one, or to
        reply-to after the last. A successor that takes nothing within the
        send timeout turns the envelope into a 503 naming that function."""
        if env.index + 1 < len(env.route) and not self._next_allowed(env, env.index + 1, ctx):
            return
        hop = env.route[env.index][0]
        if not self._record(env, hop, ctx.t_in_us, time.time_ns() // 1000):
            self._reply_error(env, 502, b"trace record is full", ctx.hop_name_raw, ctx.t_in_us)
            return
        env.index += 1
        env.budget -= 1
        if env.route_done():
            self._reply(env)
            return
        name, endpoint = env.route[env.index]
        if self._send(self._hops, endpoint, _route_key(env, env.index), env):
            self._count("forwarded")
            return
        text = ("function unreachable from hop '%s': no peer took the envelope within %d ms"
                % (ctx.hop_name_raw[:64].decode("utf-8", "surrogateescape"),
                   self.send_timeout_ms)).encode("utf-8", "surrogateescape")
        if enabled(DEBUG):
            log(DEBUG, "successor unreachable", fn=self.name, next=name)
        problem.apply(env, 503, text, name)
        self._reply(env)

    # --- one envelope -------------------------------------------------------------

    def _drop(self, why, err, size):
        self._count("dropped")
        if self._rl_drop.allow():
            log(WARN, "dropped a message", fn=self.name, reason=why, err=err or "none",
                size=size, suppressed=self._rl_drop.suppressed)

    def _refused(self, counter, why, env):
        """Counts a refusal of the security and loop rules in counter and
        logs it (rate-limited). env, if not None, is the envelope refused."""
        self._count(counter)
        if self._rl_drop.allow():
            log(WARN, "refused an envelope", fn=self.name, reason=why,
                id=env.id if env else b"", reply_to=env.reply_to if env else b"",
                suppressed=self._rl_drop.suppressed)

    def _refuse_drop(self, counter, why, env):
        """Refuses and drops: nothing is sent anywhere."""
        self._count("dropped")
        self._refused(counter, why, env)

    def _reply_allowed(self, env):
        """Whether anything may go to env's reply-to: not this worker's own
        inbox (a loop), with CURVE only a gateway the trust store holds the
        reply_key of, in plaintext only on this host unless insecure. Drops
        env otherwise."""
        to = env.reply_to
        if to in self._inboxes:
            self._refuse_drop("loops", "reply-to is this function's own inbox", env)
        elif self._trust and not self._trust.is_gateway(env.reply_key):
            self._refuse_drop("refused_key", "reply_key is not a trusted gateway key", env)
        elif not self._trust and not self.insecure and not security.endpoint_local(to):
            self._refuse_drop("refused_endpoint", "plaintext reply-to off this host", env)
        else:
            return True
        return False

    def _seal_broken(self, env, ctx, why, t_in_us):
        """Answers env 502: its seal does not hold (why). The hop named is the
        one that broke it, the previous one (the last in the record; the
        gateway if none); this hop's record entry says where it was found."""
        self._refused("seal_broken", why, env)
        prev = env.record[-1][0] if env.record else b"gateway"
        text = b"route seal broken before hop %s: %s" % (ctx.hop_name_raw[:64], why.encode())
        problem.apply(env, 502, text, prev)
        self._record(env, ctx.hop_name_raw, t_in_us, time.time_ns() // 1000)
        self._reply(env)

    def _handle(self, env, t_in_us):
        if not env.reply_to:
            self._drop("envelope without reply-to", None, 0)
            return
        if not self._reply_allowed(env):
            return
        if env.route_done():
            # Answering it would let one envelope circle for ever between a
            # hop and a reply-to that is an inbox.
            self._refuse_drop("loops", "envelope arrived with its route already done", env)
            return
        hop = env.route[env.index][0]
        ctx = Context(env, hop or self._name_raw, t_in_us)
        broken = seal.check(env, self._mesh_key) if self._mesh_key else None
        if broken:
            self._seal_broken(env, ctx, broken, t_in_us)
            return
        if env.deadline and t_in_us // 1000 >= env.deadline:
            self._reply_error(env, 504, b"deadline passed before the hop ran",
                              ctx.hop_name_raw, t_in_us)
            return
        if env.budget == 0:
            self._reply_error(env, 508, b"hop budget exhausted before the hop ran",
                              ctx.hop_name_raw, t_in_us)
            return
        # A branch not yet taken may add its hops.
        longest = 0 if env.taken else max((len(h) for _, h in env.branches), default=0)
        if env.budget > len(env.route) - env.index + longest + BUDGET_MARGIN:
            # The sender sets the budget: more than the route can spend would
            # let it run handlers more often than its route says.
            self._refused("over_budget", "hop budget larger than the route can spend", env)
            self._reply_error(env, 508, b"hop budget larger than the route can spend",
                              ctx.hop_name_raw, t_in_us)
            return
        if env.oam & wire.OAM_PROBE:
            # A probe asks whether this hop takes envelopes: every rule above
            # and the next step, but no user code (docs/wire-format.md, "oam").
            self._count("probes")
            self._forward(env, ctx)
            return
        try:
            self.handler(ctx)
        except Exception as e:
            if self._rl_raise.allow():
                log(WARN, "handler raised", fn=self.name, id=env.id, exc=repr(e)[:200],
                    suppressed=self._rl_raise.suppressed)
                if enabled(DEBUG):
                    traceback.print_exc()
            if ctx.ending != REPLY and ctx.ending != FAIL:
                problem.apply(env, 502, b"handler raised " + type(e).__name__.encode(),
                              ctx.hop_name_raw)
                ctx.ending = FAIL
        if ctx.ending == REPLY or ctx.ending == FAIL:
            self._record(env, ctx.hop_name_raw, t_in_us, time.time_ns() // 1000)
            self._reply(env)
            return
        self._forward(env, ctx)

    def _take(self, timeout_ms):
        """One message from the inbox, waiting at most timeout_ms (0: not at
        all); None if none came. With CURVE a zmq.Frame, to read its sender."""
        copy = self._cert is None
        try:
            if timeout_ms == 0:
                return self.inbox.recv(zmq.NOBLOCK, copy=copy)
            if timeout_ms != self._recv_timeout:
                self.inbox.setsockopt(zmq.RCVTIMEO, timeout_ms)
                self._recv_timeout = timeout_ms
            return self.inbox.recv(copy=copy)
        except zmq.Again:
            return None

    def process_one(self, timeout_ms=-1):
        """Waits at most timeout_ms (0: not at all, -1: as long as it takes)
        for one message and handles it completely. Returns True if it took
        one (answered or dropped), False if none came. The first call
        announces the worker; its heartbeats then come from a thread, every
        interval whatever the handler does, until the goodbye (none while
        run() drains)."""
        if not self._draining:
            self._announce.start()
        data = self._take(timeout_ms)
        t_in_us = time.time_ns() // 1000
        if data is None:
            return False
        self._count("received")
        if self._cert:
            # With CURVE, the ZAP handler named the peer that sent it.
            frame, data = data, data.bytes
        if self.inbox.getsockopt(zmq.RCVMORE):
            # An envelope is exactly one frame; the rest of this one is here.
            size = len(data)
            while self.inbox.getsockopt(zmq.RCVMORE):
                try:
                    size += len(self.inbox.recv(zmq.NOBLOCK))
                except zmq.Again:
                    break
            self._drop("multipart message", None, size)
            return True
        if self._cert and security.peer_identity(frame) is None:
            self._refuse_drop("refused_peer", "sender is neither a gateway nor a function", None)
            return True
        try:
            env = wire.decode(data, self.limits)
        except wire.EnvelopeError as e:
            self._drop("envelope does not decode", e.code, len(data))
            return True
        self._handle(env, t_in_us)
        return True

    # --- loops -----------------------------------------------------------------------

    def stop(self):
        """Asks run() to drain after the envelope in hand; a second stop ends
        the drain after the envelope in hand. Safe from any thread and from a
        signal handler."""
        self._stops.append(True)

    def run(self):
        """Serves envelopes until stop() or (with handle_signals, on the main
        thread) SIGINT or SIGTERM, then drains (docs/sdk-python.md, "Shutdown")
        and returns. Run again, the worker announces itself again."""
        old = _hold_signals(self.stop) if self.handle_signals else {}
        try:
            while not self._stops:
                self.process_one(TICK_MS)
            self._drain()
        finally:
            _release_signals(old)
            self._stops.clear()
        log(DEBUG, "worker stopped", fn=self.name)

    def _drain(self):
        """Goodbye first, so that the gateways stop sending within a
        heartbeat, then every envelope that still comes (an upstream hop may
        hold one whose route names this inbox) until the inbox has been idle
        for two heartbeats or drain_ms passed. A second stop ends it."""
        idle_ms = 2 * self.heartbeat_ms
        self._announce.goodbye()
        self._draining = True
        log(INFO, "draining", fn=self.name, idle_ms=idle_ms, limit_ms=self.drain_ms)
        start = quiet = time.monotonic()
        end = start + self.drain_ms / 1000.0
        taken = 0
        try:
            while True:
                cut = len(self._stops) >= 2
                now = time.monotonic()
                over = min(quiet + idle_ms / 1000.0, end)
                if cut or now >= over:
                    break
                wait_ms = min(TICK_MS, max(1, int((over - now) * 1000 + 0.999)))
                if self.process_one(wait_ms):
                    taken += 1
                    quiet = time.monotonic()
        finally:
            self._draining = False
        log(INFO, "drained", fn=self.name, taken=taken, ms=int((now - start) * 1000),
            ended_by="second stop" if cut else "limit" if now >= end else "idle inbox")

    def close(self):
        """Says goodbye (if not yet said), closes every socket and waits at
        most linger_ms for messages not yet sent. Safe to call twice."""
        if self._zctx is None:
            return
        for part in (self._announce, self._hops, self._replies):
            if part is not None:
                part.close()
        self.inbox.close(0)
        # The ZAP handler stops after the inbox it watches closed, before
        # the context ends.
        if self._zap is not None:
            self._zap.close()
        self._zctx.term()
        self._zctx = None


def _route_key(env, i):
    """The CURVE key the gateway wrote for route entry i, or b"" if none."""
    return env.route_keys[i] if env.route_keys is not None else b""


def main(handler, exit=True):
    """Runs a whole function: a worker from the environment (BATON_NAME,
    BATON_BIND, BATON_GATEWAY, ...), serving handler until SIGINT or SIGTERM.
    Exits the process (or, with exit=False, returns) with 0 after a clean
    stop, 1 if the worker could not start (the reason is logged on stderr).
    A SIGINT or SIGTERM while the worker starts makes it drain at once (nothing
    came yet) and exit 0."""
    early = []
    old = _hold_signals(lambda: early.append(True))
    try:
        worker = Worker(handler)
    except ConfigError as e:
        log(ERROR, str(e), **e.fields)
        code = 1
    else:
        # From here on a signal counts as the worker's own stop.
        early.extend(worker._stops)
        worker._stops = early
        log(INFO, "worker ready", fn=worker.name, inbox=worker.endpoint,
            security=worker.security)
        try:
            worker.run()
        finally:
            worker.close()
        code = 0
    finally:
        _release_signals(old)
    if exit:
        sys.exit(code)
    return code
