/*  pending.h - the requests the gateway has sent down a chain and not yet
 *  answered, by id ("<tag>-<seq><nonce>"): the table replies are matched in,
 *  the replicas each request holds, and its deadline. One baton_exchange_t
 *  per connection, reused request after request; the table never allocates.  */
#ifndef BATON_EDGE_PENDING_H
#define BATON_EDGE_PENDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>
#include "admin/metrics.h"
#include "baton/envelope.h"
#include "config/config.h"
#include "edge/topology.h"
#include "http/conn.h"
#include "http/turn.h"

typedef struct baton_pending baton_pending_t;

//  Random decimal digits that end every id: 29 of them hold 96 bits, so no
//  one who has not seen an id can answer its request.
#define BATON_PENDING_NONCE_LEN 29
//  The longest id: the tag, "-", a sequence number, the nonce.
#define BATON_PENDING_ID_MAX (8 + 1 + 20 + BATON_PENDING_NONCE_LEN)

typedef enum {
    BATON_EXCHANGE_IDLE = 0, //  not in the table
    BATON_EXCHANGE_SENDING,  //  in the table; the first hop has not taken the envelope yet
    BATON_EXCHANGE_WAITING,  //  in the table; sent, waiting for the reply
} baton_exchange_state_t;

//  One request's trip through its chain, from the edge to the hop that
//  replies. A plain struct: the edge's modules share it, each writing only
//  its own part. Starts zeroed; lives in its connection's user bytes.
typedef struct baton_exchange {
    //  pending.c
    struct baton_exchange *next;                //  chain in its slot of the table
    struct baton_exchange *all_prev, *all_next; //  every request in the table
    baton_exchange_state_t state;
    uint64_t seq;                      //  its id is "<tag>-<seq><nonce>"
    char id[BATON_PENDING_ID_MAX + 1]; //  that id, NUL-terminated
    size_t id_len;
    baton_conn_t *conn; //  who waits for the answer
    const baton_config_route_t *route;
    uint64_t deadline_ms;                          //  monotonic: no 504 before it
    baton_replica_t *hops[BATON_CONFIG_MAX_CHAIN]; //  the replicas picked, held until the answer
    size_t hop_count;
    //  dispatch.c
    //  Kept until the first hop takes it, or while the request may be sent
    //  again (retries_left > 0); baton_pending_done () destroys it.
    baton_envelope_t *env;
    uint32_t retries_left; //  attempts it may still make (edge/dispatch's retry)
    zmq_msg_t out;         //  env, encoded
    bool out_live;
    struct baton_peer *peer;   //  the first hop's socket
    uint64_t give_up_ms;       //  monotonic: when a first hop that takes nothing means 503
    baton_replica_t *tried[8]; //  first-hop replicas that did not take the envelope
    size_t tried_count;
    baton_turn_link_t send_link; //  in turn->sends: its envelope is due to the first hop
} baton_exchange_t;

//  Creates a table sized for max_inflight requests, whose ids start with
//  tag in 8 hex digits and end with BATON_PENDING_NONCE_LEN digits from
//  getrandom (). metrics counts timeouts and clients gone; it must outlive
//  the table. Never NULL (aborts when out of memory).
baton_pending_t *baton_pending_new (uint32_t max_inflight, uint32_t tag, baton_metrics_t *metrics);

//  Safe on NULL; sets *self_p to NULL.
void baton_pending_destroy (baton_pending_t **self_p);

//  The instance tag: 8 hex digits, NUL-terminated.
const char *baton_pending_tag (const baton_pending_t *self);

//  Requests in the table (in flight).
uint64_t baton_pending_count (const baton_pending_t *self);

//  Gives x the next sequence number and a fresh id (x->id, x->id_len).
void baton_pending_assign (baton_pending_t *self, baton_exchange_t *x);

//  The longest id of a message that is not a request: "<tag>-p<seq><nonce>".
#define BATON_PENDING_OTHER_ID_MAX (BATON_PENDING_ID_MAX + 1)

//  Writes a fresh id "<tag>-p<seq><nonce>" into id (NUL-terminated) for a
//  message that is not a request (a probe), from a sequence of its own:
//  never one the table holds, and no request's sequence number is used up.
//  Returns its length.
size_t baton_pending_other_id (baton_pending_t *self, char id[BATON_PENDING_OTHER_ID_MAX + 1]);

//  Puts x (IDLE, with its seq) in the table, SENDING.
void baton_pending_add (baton_pending_t *self, baton_exchange_t *x);

//  Why baton_pending_find () found nothing.
typedef enum {
    BATON_PENDING_UNKNOWN = 0, //  no request in the table has that id (late, or not ours)
    BATON_PENDING_FORGED,      //  a request's sequence number with the wrong nonce: a guess
    BATON_PENDING_RETRIED,     //  an attempt of a request that was sent again since
} baton_pending_miss_t;

//  The request whose id is id, if it is in the table; NULL otherwise, with
//  why in *why (may be NULL). id comes from a peer: anything not of our form
//  is NULL. O(1), but for a miss, which looks among the last attempts retried.
baton_exchange_t *baton_pending_find (baton_pending_t *self, baton_slice_t id,
                                      baton_pending_miss_t *why);

//  x has its answer, or will never have one: takes it out of the table (if
//  there), gives back the replicas it holds and frees the envelope it
//  kept. x is IDLE after.
void baton_pending_done (baton_pending_t *self, baton_exchange_t *x);

//  x is about to be sent again under a new id: its attempt is taken out of
//  the table and gives back its replicas, and its id is remembered, so that
//  a late reply to it is known as one (BATON_PENDING_RETRIED). Keeps the
//  envelope. x is IDLE after.
void baton_pending_supersede (baton_pending_t *self, baton_exchange_t *x);

//  The requests in the table whose route holds replica r, at most cap of
//  them, into out. Returns how many.
size_t baton_pending_through (const baton_pending_t *self, const baton_replica_t *r,
                              baton_exchange_t **out, size_t cap);

//  x was sent (WAITING from now): its deadline timer starts.
void baton_pending_wait (baton_pending_t *self, baton_exchange_t *x);

//  The timer of a WAITING x fired: answers 504 if its deadline has passed
//  (and asks for a probe of every replica of its route: which hop stalled is
//  unknown), waits on otherwise.
void baton_pending_expire (baton_pending_t *self, baton_exchange_t *x);

//  The client of x went away: a request in the table is forgotten (a reply
//  that still comes is late). Nothing happens to an IDLE x.
void baton_pending_forget (baton_pending_t *self, baton_exchange_t *x);

#endif
