/*  metrics.h - the gateway's counters and histograms, rendered in the
 *  Prometheus text format for /-/metrics. Fixed-size and allocation-free after
 *  creation: every series is known when the route table is.  */
#ifndef BATON_METRICS_H
#define BATON_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "config/config.h"

typedef struct baton_metrics baton_metrics_t;

//  Why a request was turned away before it reached a chain.
typedef enum {
    BATON_REJECT_BAD_REQUEST = 0, //  400 and other parser errors
    BATON_REJECT_URI_TOO_LONG,    //  414
    BATON_REJECT_HEADERS_TOO_BIG, //  431
    BATON_REJECT_BODY_TOO_BIG,    //  413
    BATON_REJECT_NOT_IMPLEMENTED, //  501
    BATON_REJECT_VERSION,         //  505
    BATON_REJECT_EXPECTATION,     //  417
    BATON_REJECT_OVERLOAD,        //  503, in-flight cap
    BATON_REJECT_HEADER_TIMEOUT,  //  headers not complete in time
    BATON_REJECT_BODY_TIMEOUT,    //  408
    BATON_REJECT_NO_ROUTE,        //  404
    BATON_REJECT_METHOD,          //  405
    BATON_REJECT_UNREACHABLE,     //  503, first hop did not take the envelope
    BATON_REJECT__COUNT
} baton_reject_t;

//  Why a reply that reached the reply socket was not delivered.
typedef enum {
    BATON_REPLY_REFUSED_ID = 0, //  names a pending request with the wrong nonce: a guess
    BATON_REPLY_REFUSED_ROUTE,  //  from a function that is not on the request's route
    BATON_REPLY_REFUSED__COUNT
} baton_reply_refusal_t;

//  Why a control message was not applied.
typedef enum {
    BATON_CONTROL_REFUSED_MALFORMED = 0, //  does not decode
    BATON_CONTROL_REFUSED_IDENTITY,      //  not from a key of function NAME for NAME
    BATON_CONTROL_REFUSED_KEY,           //  for an instance another key announced
    BATON_CONTROL_REFUSED_ENDPOINT,      //  plaintext mesh, an endpoint off this machine
    BATON_CONTROL_REFUSED__COUNT
} baton_control_refusal_t;

//  How a reload of the config ended (baton_config_reloads_total{result}).
typedef enum {
    BATON_RELOAD_OK = 0,           //  the new file is in force
    BATON_RELOAD_INVALID,          //  the file did not pass `baton check`: nothing changed
    BATON_RELOAD_RESTART_REQUIRED, //  it changes what only a restart can: nothing changed
    BATON_RELOAD__COUNT
} baton_reload_result_t;

//  Creates the series for config's routes and functions. Never NULL (aborts
//  when out of memory). config must outlive the metrics.
baton_metrics_t *baton_metrics_new (const baton_config_t *config);
void baton_metrics_destroy (baton_metrics_t **self_p);

//  A response was sent for a request that matched route (index in the
//  config's routes), after duration_us.
void baton_metrics_request (baton_metrics_t *self, size_t route, unsigned status,
                            uint64_t duration_us);
//  One hop of a record: function (index in config's functions) took dur_us.
void baton_metrics_hop (baton_metrics_t *self, size_t function, uint64_t dur_us);
//  The reason to count for a request the HTTP parser refused with status.
baton_reject_t baton_metrics_reject_reason (int status);
void baton_metrics_reject (baton_metrics_t *self, baton_reject_t why);
void baton_metrics_timeout (baton_metrics_t *self);     //  504: no reply in time
void baton_metrics_late_reply (baton_metrics_t *self);  //  reply for a forgotten request
void baton_metrics_bad_reply (baton_metrics_t *self);   //  reply that did not decode
void baton_metrics_client_gone (baton_metrics_t *self); //  client left while pending
//  Liveness (issue 17): a request of route (index in the config's routes)
//  sent again; one answered 502 at once because a replica of its route
//  died or was ejected; a probe's outcome; a reply to an attempt since
//  retried, dropped.
void baton_metrics_retry (baton_metrics_t *self, size_t route);
void baton_metrics_fail_fast (baton_metrics_t *self);
void baton_metrics_probe (baton_metrics_t *self, bool ok);
void baton_metrics_late_retried (baton_metrics_t *self);
void baton_metrics_reply_refused (baton_metrics_t *self, baton_reply_refusal_t why);
void baton_metrics_control_refused (baton_metrics_t *self, baton_control_refusal_t why);

//  Counts a reload's outcome (baton_config_reloads_total{result}).
void baton_metrics_config_reload (baton_metrics_t *self, baton_reload_result_t result);
//  Reloads by outcome, as counted.
uint64_t baton_metrics_reloads (const baton_metrics_t *self, baton_reload_result_t result);
//  A reload took effect: config (which must outlive the metrics or the next
//  reconfigure) is in force, generation is the gauge baton_config_generation.
//  The series of a route with the same path and methods, and of a function
//  with the same name, keep their counts; the others start at 0 or go.
//  Aborts when out of memory.
void baton_metrics_reconfigure (baton_metrics_t *self, const baton_config_t *config,
                                uint64_t generation);

//  What the ZAP handler did (all 0 without CURVE): handshakes it accepted
//  (one per connection, never per message) and those it refused, by reason.
typedef struct {
    uint64_t accepted;
    uint64_t key, mechanism, handshake;
} baton_metrics_zap_t;

//  Renders everything, with the gauges and ZAP counts given, into a new
//  string of *len_p bytes. Caller frees it with free ().
char *baton_metrics_render (const baton_metrics_t *self, uint64_t inflight, uint64_t connections,
                            const baton_metrics_zap_t *zap, size_t *len_p);

#endif
