"""problem.py - the application/problem+json bodies of the errors a hop sends,
byte for byte as the C SDK writes them (sdk/ctx.c), and HTTP reason phrases
(runtime/status.c)."""

_REASONS = {
    100: "Continue", 200: "OK", 201: "Created", 202: "Accepted", 204: "No Content",
    301: "Moved Permanently", 302: "Found", 304: "Not Modified", 307: "Temporary Redirect",
    308: "Permanent Redirect", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict",
    410: "Gone", 413: "Content Too Large", 414: "URI Too Long", 415: "Unsupported Media Type",
    417: "Expectation Failed", 422: "Unprocessable Content", 429: "Too Many Requests",
    431: "Request Header Fields Too Large", 500: "Internal Server Error",
    501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Gateway Timeout", 505: "HTTP Version Not Supported", 508: "Loop Detected",
}


def reason(status):
    """The reason phrase of status, or its class's name."""
    r = _REASONS.get(status)
    if r:
        return r
    if status < 200:
        return "Informational"
    if status < 300:
        return "Success"
    if status < 400:
        return "Redirection"
    return "Client Error" if status < 500 else "Server Error"


_ESCAPES = {ord('"'): '\\"', ord("\\"): "\\\\", ord("\n"): "\\n", ord("\r"): "\\r",
            ord("\t"): "\\t", 0x7F: "\\u007f"}
_ESCAPES.update({c: "\\u%04x" % c for c in range(0x20) if c not in _ESCAPES})
# Bytes that are not UTF-8 come out of surrogateescape as U+DC80..U+DCFF.
_ESCAPES.update({c: "\\ufffd" for c in range(0xDC80, 0xDD00)})


def _json_str(raw):
    """raw (bytes) as the inside of a JSON string: quotes, backslashes and
    control bytes escaped, each byte that is not valid UTF-8 as U+FFFD."""
    return raw.decode("utf-8", "surrogateescape").translate(_ESCAPES).encode()


def body(status, detail, hop):
    """The problem+json body for status, detail and hop (both bytes)."""
    return b"".join((b'{"type":"about:blank","title":"', reason(status).encode(),
                     b'","status":', str(status).encode(), b',"detail":"', _json_str(detail),
                     b'","hop":"', _json_str(hop), b'"}'))


def apply(env, status, detail, hop):
    """Turns env into an error response: its error (status, detail, hop),
    the message status, only Content-Type: application/problem+json, and
    the problem body. The error's unknown keys, if any, stay."""
    env.status = status
    env.error = [status, detail, hop]
    env.headers = [[b"Content-Type", b"application/problem+json"]]
    env.body = body(status, detail, hop)
