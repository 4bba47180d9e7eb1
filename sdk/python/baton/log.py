"""log.py - logfmt lines on stderr, as the C SDK writes them (runtime/log.c):
ts, level, comp, msg, then the fields. BATON_LOG picks the least level shown:
debug, info (default), warn, error or off."""

import os
import sys
import time

LEVELS = ("debug", "info", "warn", "error", "off")
DEBUG, INFO, WARN, ERROR, OFF = range(5)

_level = None


def enabled(level):
    global _level
    if _level is None:
        name = os.environ.get("BATON_LOG", "").lower()
        _level = LEVELS.index(name) if name in LEVELS else INFO
    return level >= _level and level < OFF


def quote(value, cap=250):
    """value (str or bytes) as a logfmt value: quoted when it is empty or
    holds spaces, quotes, '=', backslashes, control or non-ASCII bytes."""
    raw = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else bytes(value)
    if raw and not any(c <= 0x20 or c in b'"=\\' or c >= 0x7F for c in raw):
        return raw[:cap].decode("ascii") + ("..." if len(raw) > cap else "")
    out = []
    for c in raw[:cap]:
        if c in b'"\\':
            out.append("\\" + chr(c))
        elif c < 0x20 or c == 0x7F:
            out.append("\\x%02x" % c)
        else:
            out.append(chr(c) if c < 0x80 else "\\x%02x" % c)
    return '"' + "".join(out) + ("..." if len(raw) > cap else "") + '"'


def log(level, msg, comp="sdk", **fields):
    """Writes one line (one write, so lines of several processes do not mix);
    comp names the part of the SDK that speaks."""
    if not enabled(level):
        return
    now = time.time()
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + ".%03dZ" % (now % 1 * 1000)
    parts = ["ts=" + ts, "level=" + LEVELS[level], "comp=" + comp, "msg=" + quote(msg, 1024)]
    parts += ["%s=%s" % (k, v if isinstance(v, int) else quote(v)) for k, v in fields.items()]
    try:
        os.write(sys.stderr.fileno(), (" ".join(parts) + "\n").encode())
    except (OSError, ValueError):
        pass


class RateLimit:
    """A token bucket for log lines: burst tokens, one more per interval."""

    def __init__(self, burst=10, interval_ms=1000):
        self.burst = self.tokens = burst
        self.interval = interval_ms / 1000.0
        self.last = time.monotonic()
        self.suppressed = 0

    def allow(self):
        now = time.monotonic()
        refill = int((now - self.last) / self.interval)
        if refill:
            self.tokens = min(self.burst, self.tokens + refill)
            self.last = now
        if self.tokens > 0:
            self.tokens -= 1
            return True
        self.suppressed += 1
        return False
