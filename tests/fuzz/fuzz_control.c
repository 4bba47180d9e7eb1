/*  fuzz_control.c - libFuzzer target for the control messages a gateway
 *  takes from anyone who reaches its control endpoint (announce, heartbeat,
 *  goodbye). Whatever the decoder accepts is a message the encoder writes
 *  again, and that reads back to the same fields.  */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "baton/envelope.h"
#include "control.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  True if s, a field of cap bytes, ends within it and holds no control byte.
static bool
s_clean (const char *s, size_t cap)
{
    const char *end = memchr (s, '\0', cap);
    if (!end)
        return false;
    for (const char *p = s; p < end; p++)
        if ((unsigned char) *p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    baton_control_msg_t msg;
    int rc = baton__control_decode (data, size, &msg);
    if (rc) {
        if (rc >= 0)
            abort (); //  errors are BATON_E... codes
        return 0;
    }
    if (msg.type < BATON_CONTROL_ANNOUNCE || msg.type > BATON_CONTROL_GOODBYE || !msg.function[0] ||
        !msg.endpoint[0] || !msg.instance[0] || msg.interval_ms == 0)
        abort (); //  accepted without what is required
    if (!s_clean (msg.function, sizeof msg.function) ||
        !s_clean (msg.endpoint, sizeof msg.endpoint) ||
        !s_clean (msg.instance, sizeof msg.instance) ||
        !s_clean (msg.version, sizeof msg.version) || !s_clean (msg.zone, sizeof msg.zone) ||
        !s_clean (msg.host, sizeof msg.host))
        abort (); //  a field a log line or JSON would take as it is
    uint8_t out[BATON_CONTROL_MAX_SIZE];
    size_t n = baton__control_encode (&msg, out, sizeof out);
    if (n == 0)
        abort (); //  an accepted message we cannot write
    baton_control_msg_t again;
    if (baton__control_decode (out, n, &again) != 0 || memcmp (&again, &msg, sizeof msg) != 0)
        abort (); //  we wrote something that reads back otherwise
    return 0;
}
