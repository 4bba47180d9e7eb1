/*  overrides.h - the operators' temporary overrides, each with an expiry:
 *  a route's chain replaced, a route failed fast with a chosen answer, a
 *  function pinned to some replicas, replicas weighted. Route overrides are
 *  applied where the gateway matches a route; pins and weights set the
 *  replicas' weight (edge/topology picks by it). All on the gateway's loop.  */
#ifndef BATON_ADMIN_OVERRIDES_H
#define BATON_ADMIN_OVERRIDES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "admin/form.h"
#include "config/config.h"
#include "edge/topology.h"
#include "http/text.h"

#define BATON_OVERRIDES_MAX            64             //  at once
#define BATON_OVERRIDES_TTL_DEFAULT_MS (10u * 60000u) //  10 min
#define BATON_OVERRIDES_MAX_BODY       4096           //  a fail override's body
#define BATON_OVERRIDES_ID_MAX         16             //  "o<n>" and its NUL
#define BATON_OVERRIDES_DESCRIBE_MAX   512            //  baton_overrides_describe ()

typedef struct baton_overrides baton_overrides_t;

//  The answer of a fail override: status, body (body_len bytes, NUL-terminated)
//  and its content type. Valid until the override ends; copy what outlives
//  the loop turn.
typedef struct {
    unsigned status;
    const char *body;
    size_t body_len;
    const char *content_type;
} baton_override_fail_t;

//  The first member of the store: what the inline baton_overrides_active ()
//  reads, so the request path costs one branch while no route override is set.
typedef struct {
    size_t routed; //  chain and fail overrides in force
} baton__overrides_head_t;

//  Creates an empty store over topo, whose replicas' weights it sets, and
//  its config in force (baton_topology_config ()). topo must outlive it.
//  Never NULL (aborts when out of memory).
baton_overrides_t *baton_overrides_new (baton_topology_t *topo);

//  Frees every override and every route copy, in force or retired: call it
//  once no request is in flight. Safe on NULL; sets *self_p to NULL.
void baton_overrides_destroy (baton_overrides_t **self_p);

//  True if a chain or fail override is in force: only then is
//  baton_overrides_route () worth calling.
static inline bool
baton_overrides_active (const baton_overrides_t *self)
{
    return ((const baton__overrides_head_t *) (const void *) self)->routed > 0;
}

//  The route a request that matched matched, with method (method_len bytes),
//  takes at now_ms (monotonic): matched itself, or the copy of it with an
//  override's chain (owned by the store, valid for as long as any request
//  can use it). A fail override sets *fail (else *fail is NULL); it wins over
//  a chain override of the same route. Expires what is due first.
const baton_config_route_t *baton_overrides_route (baton_overrides_t *self,
                                                   const baton_config_route_t *matched,
                                                   const char *method, size_t method_len,
                                                   uint64_t now_ms,
                                                   const baton_override_fail_t **fail);

//  Outcomes of baton_overrides_add ().
enum {
    BATON_OVERRIDES_INVALID = -1, //  the form is wrong: 400
    BATON_OVERRIDES_FULL = -2,    //  BATON_OVERRIDES_MAX in force already: 409
};

//  Adds the override the form describes (docs/gateway.md, "Overrides":
//  kind, ttl, and the fields of the kind; any other field is refused),
//  created by peer, at now_ms. One of the same kind and target is replaced:
//  its description goes into replaced (replaced_cap bytes; "-" if none).
//  Returns 0 and writes the new one's id into id; or an outcome above with
//  the reason in why (whylen bytes), nothing changed.
int baton_overrides_add (baton_overrides_t *self, const baton_form_t *form, const char *peer,
                         uint64_t now_ms, char id[BATON_OVERRIDES_ID_MAX], char *replaced,
                         size_t replaced_cap, char *why, size_t whylen);

//  Removes the override called id; its description goes into removed
//  (removed_cap bytes). Returns 0, or -1 if there is none.
int baton_overrides_remove (baton_overrides_t *self, const char *id, char *removed,
                            size_t removed_cap);

//  Writes a one-line description of override id for the audit log
//  ("o3 chain route=/a chain=x,y ttl=10m") into buf (cap bytes,
//  NUL-terminated). Returns false if there is no such override.
bool baton_overrides_describe (const baton_overrides_t *self, const char *id, char *buf,
                               size_t cap);

//  Appends {"overrides":[...]} (every override in force, oldest first) / the
//  override id alone, as docs/gateway.md shows them, at now_ms. The latter
//  returns false, appending nothing, if there is no such override.
void baton_overrides_json (const baton_overrides_t *self, uint64_t now_ms, baton_text_t *t);
bool baton_overrides_json_one (const baton_overrides_t *self, const char *id, uint64_t now_ms,
                               baton_text_t *t);

//  Ends the overrides whose time is up (logged) and frees the retired route
//  copies no request can use any more. Call it at least once a second.
void baton_overrides_tick (baton_overrides_t *self, uint64_t now_ms);

//  A reload: every override ends (route copies retired, not freed: requests
//  may still use them) and every replica gets the default weight. Call it
//  once the topology holds the new config. Drains (replica->held) are not
//  overrides: they stay.
void baton_overrides_clear (baton_overrides_t *self);

//  r joined the topology: its weight follows the pins and weights in force
//  for its function.
void baton_overrides_replica_added (baton_overrides_t *self, baton_replica_t *r);

//  The replica that id names: an instance id, or an endpoint (as /-/topology
//  shows them), of any function. NULL if none.
baton_replica_t *baton_overrides_find_replica (const baton_overrides_t *self, const char *id);

#endif
