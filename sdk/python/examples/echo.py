"""echo.py - a hop that passes the message on unchanged, like bench/fn_echo.c:
what it costs is the SDK's own work (receive, decode, checks, record, encode, push)."""
import baton

baton.main(lambda ctx: None)
