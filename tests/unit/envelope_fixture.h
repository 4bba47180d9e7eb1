/*  envelope_fixture.h - the reference envelope shared by the envelope tests,
 *  the benchmark and the fuzz seed: every field set, 4 request headers and a
 *  1 KiB body, about 1.5 KB encoded.  */
#ifndef BATON_ENVELOPE_FIXTURE_H
#define BATON_ENVELOPE_FIXTURE_H

#include <string.h>
#include "baton/envelope.h"

#define FIX_BODY_LEN 1024

static inline void
fixture_body (char *body)
{
    for (int i = 0; i < FIX_BODY_LEN; i++)
        body[i] = (char) ('a' + i % 26);
}

//  Builds the reference envelope. Caller destroys it.
static inline baton_envelope_t *
fixture_envelope (void)
{
    baton_envelope_t *e = baton_envelope_new ();
    char body[FIX_BODY_LEN];
    fixture_body (body);
#define S(x) x, strlen (x)
    baton_envelope_set_id (e, S ("gw1-000000000042"));
    baton_envelope_set_reply_to (e, S ("tcp://127.0.0.1:5600"));
    baton_envelope_route_append (e, S ("auth"), S ("tcp://127.0.0.1:5701"));
    baton_envelope_route_append (e, S ("enrich"), S ("tcp://127.0.0.1:5702"));
    baton_envelope_route_append (e, S ("render"), S ("tcp://127.0.0.1:5703"));
    baton_envelope_set_budget (e, 16);
    baton_envelope_set_deadline_ms (e, 1795000000000ull);
    baton_envelope_set_traceparent (e,
                                    S ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
    baton_envelope_meta_set (e, S ("tenant"), "acme", 4);
    baton_envelope_set_request (e, S ("POST"), S ("/orders?expand=items"));
    baton_envelope_request_add_header (e, S ("Host"), S ("shop.example"));
    baton_envelope_request_add_header (e, S ("Content-Type"), S ("application/json"));
    baton_envelope_request_add_header (e, S ("Authorization"), S ("Bearer s3cr3t"));
    baton_envelope_request_add_header (e, S ("Accept"), S ("text/html"));
    baton_envelope_add_header (e, S ("Content-Type"), S ("application/json"));
    baton_envelope_set_body (e, body, sizeof body);
    baton_envelope_advance (e, 1795000000000100ull, 1795000000000220ull); //  auth is done
#undef S
    return e;
}

#endif
