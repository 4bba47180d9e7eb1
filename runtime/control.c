/*  control.c - encoding and bounded decoding of control messages.  */
#include <string.h>
#include "baton/errors.h"
#include "control.h"
#include "msgpack_rd.h"

const char *
baton__control_type_name (baton_control_type_t type)
{
    switch (type) {
    case BATON_CONTROL_ANNOUNCE:
        return "announce";
    case BATON_CONTROL_HEARTBEAT:
        return "heartbeat";
    case BATON_CONTROL_GOODBYE:
        return "goodbye";
    }
    return "?";
}

//  A bounded writer: stops (and remembers) at the first byte that does not fit.
typedef struct {
    unsigned char *p;
    size_t len, cap;
    bool full;
} s_w_t;

static void
s_bytes (s_w_t *w, const void *src, size_t n)
{
    if (w->full || n > w->cap - w->len) {
        w->full = true;
        return;
    }
    memcpy (w->p + w->len, src, n);
    w->len += n;
}

static void
s_str (s_w_t *w, const char *s)
{
    size_t n = strlen (s);
    unsigned char head[2];
    //  Every string of a control message is under 256 bytes.
    if (n < 32) {
        head[0] = (unsigned char) (0xa0 | n);
        s_bytes (w, head, 1);
    } else {
        head[0] = 0xd9;
        head[1] = (unsigned char) n;
        s_bytes (w, head, 2);
    }
    s_bytes (w, s, n);
}

static void
s_uint (s_w_t *w, uint64_t v)
{
    unsigned char b[9];
    b[0] = 0xcf;
    for (int i = 8; i > 0; i--, v >>= 8)
        b[i] = (unsigned char) v;
    s_bytes (w, b, 9);
}

size_t
baton__control_encode (const baton_control_msg_t *msg, void *dst, size_t cap)
{
    if (!msg->function[0] || !msg->endpoint[0] || !msg->instance[0] || msg->interval_ms == 0)
        return 0;
    s_w_t w = {(unsigned char *) dst, 0, cap, false};
    //  zone only when set: gateways before it need not see the key.
    unsigned char map = (unsigned char) (0x80 | (msg->zone[0] ? 10 : 9));
    s_bytes (&w, &map, 1);
    s_str (&w, "v");
    s_uint (&w, BATON_CONTROL_VERSION);
    s_str (&w, "type");
    s_str (&w, baton__control_type_name (msg->type));
    s_str (&w, "function");
    s_str (&w, msg->function);
    s_str (&w, "endpoint");
    s_str (&w, msg->endpoint);
    s_str (&w, "instance");
    s_str (&w, msg->instance);
    s_str (&w, "version");
    s_str (&w, msg->version);
    s_str (&w, "host");
    s_str (&w, msg->host);
    if (msg->zone[0]) {
        s_str (&w, "zone");
        s_str (&w, msg->zone);
    }
    s_str (&w, "pid");
    s_uint (&w, msg->pid);
    s_str (&w, "interval");
    s_uint (&w, msg->interval_ms);
    return w.full ? 0 : w.len;
}

//  The keys a control message may hold, in the order of known[] below.
enum {
    S_KEY_V,
    S_KEY_TYPE,
    S_KEY_FUNCTION,
    S_KEY_ENDPOINT,
    S_KEY_INSTANCE,
    S_KEY_VERSION,
    S_KEY_ZONE,
    S_KEY_HOST,
    S_KEY_PID,
    S_KEY_INTERVAL,
    S_KEY_COUNT
};

//  Copies a string value into a fixed field; too long is an error.
static int
s_copy (baton__mp_rd_t *rd, char *dst, size_t cap)
{
    baton_slice_t s;
    int rc = baton__mp_read_str (rd, &s);
    if (rc)
        return rc;
    if (s.len >= cap)
        return BATON_ESTRLEN;
    for (size_t i = 0; i < s.len; i++)
        if ((unsigned char) s.ptr[i] < 0x20 || s.ptr[i] == 0x7f)
            return BATON_EMALFORMED; //  these strings end up in logs and JSON
    memcpy (dst, s.ptr, s.len);
    dst[s.len] = '\0';
    return 0;
}

int
baton__control_decode (const void *data, size_t len, baton_control_msg_t *msg)
{
    memset (msg, 0, sizeof *msg);
    if (len > BATON_CONTROL_MAX_SIZE)
        return BATON_ETOOBIG;
    baton_limits_t lim = baton_limits_default ();
    lim.max_items = 32;
    lim.max_total = 256;
    lim.max_depth = 4;
    lim.max_str = 512;
    lim.max_bin = 512;
    baton__mp_rd_t rd = {(const unsigned char *) data, (const unsigned char *) data + len, &lim, 0};
    uint32_t n;
    int rc = baton__mp_read_map (&rd, 1, &n);
    uint64_t version = 0;
    baton_slice_t type = {"", 0};
    //  The known keys, each at most once (wire-format.md): a second value
    //  would be a second meaning, which another reader may take instead.
    static const char *const known[S_KEY_COUNT] = {"v",        "type",    "function", "endpoint",
                                                   "instance", "version", "zone",     "host",
                                                   "pid",      "interval"};
    unsigned seen = 0;
    for (uint32_t i = 0; i < n && !rc; i++) {
        baton_slice_t k;
        if ((rc = baton__mp_read_str (&rd, &k)))
            break;
        unsigned key = 0;
        while (key < S_KEY_COUNT &&
               !(k.len == strlen (known[key]) && memcmp (k.ptr, known[key], k.len) == 0))
            key++;
        if (key < S_KEY_COUNT && (seen & (1u << key))) {
            rc = BATON_EDUPKEY;
            break;
        }
        seen |= 1u << key;
        switch (key) {
        case S_KEY_V:
            rc = baton__mp_read_uint (&rd, &version);
            break;
        case S_KEY_TYPE:
            rc = baton__mp_read_str (&rd, &type);
            break;
        case S_KEY_FUNCTION:
            rc = s_copy (&rd, msg->function, sizeof msg->function);
            break;
        case S_KEY_ENDPOINT:
            rc = s_copy (&rd, msg->endpoint, sizeof msg->endpoint);
            break;
        case S_KEY_INSTANCE:
            rc = s_copy (&rd, msg->instance, sizeof msg->instance);
            break;
        case S_KEY_VERSION:
            rc = s_copy (&rd, msg->version, sizeof msg->version);
            break;
        case S_KEY_ZONE:
            rc = s_copy (&rd, msg->zone, sizeof msg->zone);
            break;
        case S_KEY_HOST:
            rc = s_copy (&rd, msg->host, sizeof msg->host);
            break;
        case S_KEY_PID:
            rc = baton__mp_read_uint (&rd, &msg->pid);
            break;
        case S_KEY_INTERVAL:
            rc = baton__mp_read_uint (&rd, &msg->interval_ms);
            break;
        default:
            rc = baton__mp_skip (&rd, 1);
            break;
        }
    }
    if (rc)
        return rc;
    if (rd.p != rd.end)
        return BATON_EMALFORMED;
    if (version != BATON_CONTROL_VERSION)
        return version ? BATON_EVERSION : BATON_EMISSING;
    for (int t = BATON_CONTROL_ANNOUNCE; t <= BATON_CONTROL_GOODBYE; t++) {
        const char *name = baton__control_type_name ((baton_control_type_t) t);
        if (type.len == strlen (name) && memcmp (type.ptr, name, type.len) == 0)
            msg->type = (baton_control_type_t) t;
    }
    if (!msg->type)
        return type.len ? BATON_ETYPE : BATON_EMISSING;
    if (!msg->function[0] || !msg->endpoint[0] || !msg->instance[0] || msg->interval_ms == 0)
        return BATON_EMISSING;
    return 0;
}
