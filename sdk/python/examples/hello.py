"""hello.py - the smallest Baton function (run it: docs/sdk-python.md)."""
import baton


def hello(ctx):
    ctx.set_header("Content-Type", "text/plain")
    ctx.body = "hello, world\n"


baton.main(hello)
