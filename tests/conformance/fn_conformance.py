"""fn_conformance.py - the Python SDK's conformance function: the behaviours
tests/conformance/conformance.py drives every SDK through, chosen per request
by the x-conformance header; the same as fn_conformance.c (list in README.md).
Run with sdk/python on PYTHONPATH."""

import os
import time

import baton

_calls = 0


def _int(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return 0


def _info(ctx):
    ctx.set_header("x-method", ctx.method)
    ctx.set_header("x-target", ctx.target)
    ctx.set_header("x-path", ctx.path)
    ctx.set_header("x-query", ctx.query)
    ctx.set_header("x-hop", ctx.hop_name)
    ctx.set_header("x-index", str(ctx.hop_index))
    ctx.set_header("x-count", str(ctx.hop_count))
    ctx.set_header("x-request-headers", str(len(ctx.request_headers)))
    ctx.set_header("x-id", ctx.id)
    tag = ctx.request_header("X-TAG")
    if tag is not None:
        ctx.set_header("x-first-tag", tag)
    if "user" in ctx.meta:
        ctx.set_header("x-meta-user", ctx.meta["user"])
    left = ctx.deadline_left_ms()
    ctx.set_header("x-deadline", "none" if left is None else "future" if left > 0 else "past")
    ctx.next()


def _mutate(ctx):
    ctx.status = 201
    ctx.set_header("X-Mutated", "yes")
    ctx.add_header("X-Multi", "a")
    ctx.add_header("X-Multi", "b")
    ctx.remove_header("x-remove-me")
    ctx.body = "mutated"
    ctx.meta["from-fn"] = b"conf"
    ctx.meta.pop("drop-me", None)
    ctx.next()


def _endings(ctx):
    """An invalid status leaves the hop open; a second ending leaves the
    first standing."""
    try:
        ctx.reply(99)
        invalid = "accepted"
    except ValueError:
        invalid = "refused"
    ctx.next()
    try:
        ctx.reply(201)
        second = "accepted"
    except baton.StateError:
        second = "refused"
    ctx.set_header("x-invalid", invalid)
    ctx.set_header("x-second", second)


def conformance(ctx):
    global _calls
    what = ctx.request_header("x-conformance") or os.environ.get("BATON_CONFORMANCE") or "echo"
    status = _int(ctx.request_header("x-status"))
    _calls += 1
    if what == "count":
        ctx.set_header("x-calls", str(_calls))
    elif what == "info":
        _info(ctx)
    elif what == "mutate":
        _mutate(ctx)
    elif what == "endings":
        _endings(ctx)
    elif what == "reply":
        ctx.body = "replied"
        ctx.reply(status)
    elif what == "fail":
        ctx.fail(status, ctx.request_header("x-reason") or "")
    elif what == "branch":
        try:
            ctx.branch(ctx.request_header("x-branch") or "")
        except (KeyError, baton.StateError):
            ctx.fail(400, "branch refused")
    elif what == "error":
        raise RuntimeError("the handler's own failure")
    elif what == "sleep":
        time.sleep(min(max(_int(ctx.request_header("x-sleep-ms")), 0), 5000) / 1000.0)


if __name__ == "__main__":
    baton.main(conformance)
