"""enrich.py - the pipeline's middle hop in Python, with the same behaviour and
output as enrich.c: reads the order in the body,
    {"items": [{"sku": "tea", "qty": 2, "price": 3.5}, ...]}
checks it, and passes on the order with what it computed: each line's total,
the item count, the total, the order id (the request id) and the user auth
found. A body that is not such an order is answered 400 at once, with a
problem+json body saying what is wrong. Run by baton-mixed.yaml."""

import json
import math

import baton

MAX_ITEMS = 100
MAX_SKU = 64
MAX_QTY = 1000
MAX_PRICE = 1000000.0


class _NotJSON(ValueError):
    pass


def _object(pairs):
    """A JSON object that names no key twice (jansson's JSON_REJECT_DUPLICATES)."""
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _NotJSON("duplicate object key")
    return out


def _no_constant(name):
    raise _NotJSON("invalid token '%s'" % name)


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
            "\t": "\\t"}


def _jstr(s):
    """s as a JSON string, escaped as jansson writes it (json_dumps)."""
    return '"' + "".join(_ESCAPES.get(c) or ("\\u%04X" % ord(c) if c < " " else c)
                         for c in s) + '"'


def _money(cents):
    """Cents as jansson writes a real with 15 digits: %.15g, with ".0" added
    when that reads as an integer (no total here is large enough for an
    exponent)."""
    text = "%.15g" % (cents / 100.0)
    return text if "." in text else text + ".0"


def _bad(ctx, detail):
    ctx.set_header("Content-Type", "application/problem+json")
    ctx.body = ('{"type":"about:blank","title":"Bad Request","status":400,"detail":%s,'
                '"hop":"enrich"}' % _jstr(detail))
    ctx.reply(400)


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _llround(x):
    """C's llround for x >= 0: halves away from zero (round() would go to even)."""
    whole = math.floor(x)
    return int(whole) + (1 if x - whole >= 0.5 else 0)


def _why(it):
    """What is wrong with one item, or None."""
    if not isinstance(it, dict):
        return "is not an object"
    sku, qty, price = it.get("sku"), it.get("qty"), it.get("price")
    if not isinstance(sku, str) or not 1 <= len(sku.encode("utf-8", "surrogatepass")) <= MAX_SKU:
        return "needs a sku: a string of 1 to 64 bytes"
    if not isinstance(qty, int) or isinstance(qty, bool) or not 1 <= qty <= MAX_QTY:
        return "needs a qty: a whole number from 1 to 1000"
    if not _is_number(price) or not 0 <= price <= MAX_PRICE:
        return "needs a price: a number from 0 to 1000000"
    return None


def enrich(ctx):
    body = ctx.body
    try:
        order = json.loads(body.decode("utf-8"), object_pairs_hook=_object,
                           parse_constant=_no_constant)
    except UnicodeDecodeError as e:
        line = body.count(b"\n", 0, e.start) + 1
        column = e.start - body.rfind(b"\n", 0, e.start) - 1  # bytes before it, as jansson
        return _bad(ctx, "the body is not JSON: unable to decode byte 0x%x (line %d, column %d)"
                    % (body[e.start], line, column))
    except json.JSONDecodeError as e:
        return _bad(ctx, "the body is not JSON: %s (line %d, column %d)"
                    % (e.msg, e.lineno, e.colno))
    except (_NotJSON, RecursionError) as e:
        return _bad(ctx, "the body is not JSON: %s" % e)
    items = order.get("items") if isinstance(order, dict) else None
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_ITEMS:
        return _bad(ctx, 'expected {"items": [{"sku": ..., "qty": ..., "price": ...}]} '
                         "with 1 to 100 items")
    lines, total, count = [], 0, 0
    for i, it in enumerate(items):
        why = _why(it)
        if why:
            return _bad(ctx, "items[%d] %s" % (i, why))
        cents = _llround(float(it["price"]) * 100.0)
        lines.append('{"sku":%s,"qty":%d,"price":%s,"line_total":%s}'
                     % (_jstr(it["sku"]), it["qty"], _money(cents), _money(cents * it["qty"])))
        total += cents * it["qty"]
        count += it["qty"]
    try:
        text = ('{"order":%s,"user":%s,"items":[%s],"item_count":%d,"total":%s}'
                % (_jstr(ctx.envelope.id.decode("utf-8")),
                   _jstr(ctx.meta.get("user", b"").decode("utf-8")), ",".join(lines), count,
                   _money(total))).encode("utf-8")
    except UnicodeError:  # an id or user that is not UTF-8, a lone surrogate in a sku
        return ctx.fail(500, "cannot write the order")
    ctx.set_header("Content-Type", "application/json")
    ctx.body = text
    ctx.next()


if __name__ == "__main__":
    baton.main(enrich)
