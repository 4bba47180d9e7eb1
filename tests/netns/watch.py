#!/usr/bin/env python3
"""watch.py - reads a gateway's /-/topology for the fault tests (tests/netns,
bench/faults), with the standard library only.

  watch.py poll URL OUT     every 25 ms until SIGTERM, one line per replica
                            and poll: "t_us function endpoint state routed"
                            (t_us: CLOCK_REALTIME microseconds); a poll that
                            gets no answer writes "t_us - - unreachable 0"
  watch.py wait URL N SECS  exits 0 once N replicas are alive, 1 after SECS
"""
import json
import signal
import sys
import time
import urllib.request

MAX_BODY = 1 << 20


def replicas(url):
    """The (function, endpoint, state, routed) of every replica, or None."""
    try:
        with urllib.request.urlopen(url, timeout=0.5) as r:
            doc = json.loads(r.read(MAX_BODY))
    except (OSError, ValueError):
        return None
    out = []
    for f in doc.get("functions", []):
        for r in f.get("replicas", []):
            out.append((str(f.get("name")), str(r.get("endpoint")), str(r.get("state")),
                        int(r.get("routed", 0))))
    return out


def poll(url, path):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    with open(path, "w", encoding="utf-8") as out:
        while not stop:
            now = time.time_ns() // 1000
            reps = replicas(url)
            if reps is None:
                out.write(f"{now} - - unreachable 0\n")
            for fn, ep, state, routed in reps or []:
                out.write(f"{now} {fn} {ep} {state} {routed}\n")
            out.flush()
            time.sleep(0.025)


def wait(url, n, secs):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        reps = replicas(url) or []
        if sum(1 for r in reps if r[2] == "alive") >= n:
            return 0
        time.sleep(0.05)
    return 1


def main(argv):
    if len(argv) == 4 and argv[1] == "poll":
        poll(argv[2], argv[3])
        return 0
    if len(argv) == 5 and argv[1] == "wait":
        return wait(argv[2], int(argv[3]), float(argv[4]))
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
