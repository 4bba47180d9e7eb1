"""The seal of an envelope's route (docs/security.md, "Sealed routes"), as
the C SDK checks it: keyed BLAKE2b-256 with the mesh key (BATON_MESH_KEY)
over canonical bytes of the base route, its branches and what must not
change along it."""

import hashlib
import hmac
import struct

from .security import _Parser, check_secret_owner, key_from_z85, read_private

MESH_KEY_MAX_FILE = 4096  # bytes in a mesh key file (BATON_MESH_KEY_MAX_FILE)
MAGIC = b"baton-seal-1"


def load_mesh_key(path):
    """The 32-byte key in the mesh key file at path: a regular file owned by
    this user with no group or other permission, holding '#' comment lines,
    blank lines and one line of 40 Z85 characters. Raises SecurityError
    (never with key material in it)."""
    p = _Parser(path)
    data, st = read_private(p, path, MESH_KEY_MAX_FILE)
    check_secret_owner(p, path, st)
    key = None
    for p.line, line in enumerate(data.split(b"\n"), 1):
        line = line.rstrip(b"\r").strip(b" \t")
        if not line or line.startswith(b"#"):
            continue
        if key is not None:
            p.fail("a second key line: a mesh key file holds one")
        key = key_from_z85(line)
        if key is None:
            p.fail("not a key: 40 Z85 characters expected")
    p.line = 0
    if key is None:
        p.fail("no key in it")
    return key


def _str(b):
    return struct.pack(">I", len(b)) + b


def _base_len(env):
    """The route's length before the branch taken, or None if the route
    cannot end with it (or it names none)."""
    if not env.taken:
        return len(env.route)
    hops = _taken_hops(env)
    if hops is None or len(hops) > len(env.route):
        return None
    return len(env.route) - len(hops)


def _taken_hops(env):
    for name, hops in env.branches:
        if name == env.taken:
            return hops
    return None


def route_seal(env, key):
    """env's seal with key, or None if its route does not end with the
    branch it says it took."""
    base = _base_len(env)
    if base is None:
        return None
    m = [MAGIC, _str(env.id), _str(env.reply_to),
         struct.pack(">QQI", env.deadline, env.budget + env.index, base)]
    for name, endpoint in env.route[:base]:
        m += (_str(name), _str(endpoint))
    m.append(struct.pack(">I", len(env.branches)))
    for name, hops in env.branches:
        m += (_str(name), struct.pack(">I", len(hops)))
        for hop in hops:
            m += (_str(hop[0]), _str(hop[1]))
    return hashlib.blake2b(b"".join(m), key=key, digest_size=32).digest()


def check(env, key):
    """None if env's route is one the edge sealed with key (or one of its
    branches, taken by the hop before it), else why not."""
    if len(env.seal) != 32:
        return "envelope not sealed"
    if env.taken:
        hops = _taken_hops(env)
        if hops is None:
            return "the branch taken is not one of the envelope's"
        base = _base_len(env)
        keys = env.route_keys or []
        tail_keys = keys[base:] if base is not None and keys else []
        if (base is None or [h[:2] for h in hops] != env.route[base:]
                or [h[2] for h in hops if len(h) == 3] != tail_keys):
            return "the route does not end with the branch taken"
        if env.index < base:
            return "the index is before the branch taken"
    want = route_seal(env, key)
    if want is None or not hmac.compare_digest(want, env.seal):
        return "seal does not match: route, branches, budget, deadline, id or reply_to changed"
    return None
